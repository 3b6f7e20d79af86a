// swift-tools-version: 6.1
//
// Quarry's micro-benchmarks (ordo-one/package-benchmark), a package of their own so that `swift test` and CI never
// build them. Run from this folder:
//
//     swift package benchmark                       # every suite
//     swift package benchmark --target CodecBenchmarks
//     swift package benchmark baseline update       # record thresholds (mallocCountTotal etc.)
//
// Wall-clock figures go to BENCHMARKS.md; only deterministic metrics (allocations) are used as thresholds.
import PackageDescription

let benchmarkDependencies: [Target.Dependency] = [
    .product(name: "Benchmark", package: "benchmark"),
    .product(name: "Quarry", package: "Quarry"),
    "BenchmarkSupport",
]

let package = Package(
    name: "QuarryBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Quarry", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(name: "BenchmarkSupport", path: "Sources/BenchmarkSupport"),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: benchmarkDependencies,
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "IndexingBenchmarks",
            dependencies: benchmarkDependencies,
            path: "Benchmarks/IndexingBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "QueryBenchmarks",
            dependencies: benchmarkDependencies,
            path: "Benchmarks/QueryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
