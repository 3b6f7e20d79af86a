// swift-tools-version: 6.1
//
// Quarry: a full-text search engine. One core module (`Quarry`), a CLI library (`QuarryCLI`)
// and a thin `quarry` executable. C libraries come from the system (Debian: libzstd-dev, zlib1g-dev, libbz2-dev,
// liblzma-dev; Scripts/install-deps installs them).
//
// Build flags:
// - `QUARRY_INTERNAL_CHECKS` (debug builds) turns on expensive invariant checks inside the engine.
// - `QUARRY_FAULT_INJECTION` (debug builds) lets tests fail any file write, fsync, rename or mmap.
// - Release builds of the engine drop Swift's dynamic exclusivity checks (see the target's settings).
import PackageDescription

let package = Package(
    name: "Quarry",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Quarry", targets: ["Quarry"]),
        .executable(name: "quarry", targets: ["quarry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // `quarry serve` only (the QuarryServer target): the engine and the other commands build without them.
        // No default traits: swift-configuration and full Foundation are not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        .systemLibrary(
            name: "CBzip2",
            providers: [.apt(["libbz2-dev"]), .brew(["bzip2"])]
        ),
        .systemLibrary(
            name: "CLzma",
            pkgConfig: "liblzma",
            providers: [.apt(["liblzma-dev"]), .brew(["xz"])]
        ),
        // The few things Swift cannot do safely itself: relaxed atomics on plain words, the SIGBUS guard.
        .target(name: "CQuarry"),
        .target(
            name: "Quarry",
            dependencies: [
                "CQuarry",
                "CZstd",
                "CZlib",
                "CBzip2",
                "CLzma",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: [
                .define("QUARRY_INTERNAL_CHECKS", .when(configuration: .debug)),
                // Test-only failures of file operations (Storage/FaultInjection.swift); never in release builds.
                .define("QUARRY_FAULT_INJECTION", .when(configuration: .debug)),
                // The engine's hot loops touch mutable state of a few final classes (iterators, scorers, builders)
                // that is never shared: the runtime exclusivity checks on those accesses cost 20-35% of query
                // latency (BENCHMARKS.md). Debug builds (and so the tests) keep them.
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            ]
        ),
        .target(
            name: "QuarryCLI",
            dependencies: [
                "Quarry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // `quarry serve`: the HTTP service (Hummingbird), in its own target so that the engine's tests build
        // without the server's dependencies.
        .target(
            name: "QuarryServer",
            dependencies: [
                "Quarry",
                "QuarryCLI",
                "CQuarry",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "quarry",
            dependencies: ["QuarryCLI", "QuarryServer"],
            linkerSettings: [
                // A shell search is mostly process start: linking the Swift runtime and FoundationEssentials
                // statically saves the dynamic loader's symbol lookups, about 2 ms of every `quarry` run
                // (BENCHMARKS.md, shell latency).
                .unsafeFlags(
                    ["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims"],
                    .when(platforms: [.linux], configuration: .release)
                )
            ]
        ),
        .target(
            name: "QuarryTestSupport",
            dependencies: ["Quarry"],
            path: "Tests/QuarryTestSupport"
        ),
        .testTarget(
            name: "QuarryTests",
            dependencies: ["Quarry", "QuarryTestSupport"],
            exclude: ["Analysis/Fixtures"],
            swiftSettings: [.define("QUARRY_FAULT_INJECTION", .when(configuration: .debug))]
        ),
        .testTarget(
            name: "QuarryCLITests",
            dependencies: ["QuarryCLI", "Quarry", "QuarryTestSupport"]
        ),
        .testTarget(
            name: "QuarryServerTests",
            dependencies: ["QuarryServer", "QuarryCLI", "Quarry", "QuarryTestSupport"]
        ),
    ]
)
