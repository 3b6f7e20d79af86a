// Indexing: documents through the whole pipeline into a committed segment (parse, analyze, build, flush), in
// documents per second, and the allocations it takes.

import Benchmark
import BenchmarkSupport
import Quarry

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 50
    )

    for (docs, threads) in [(5_000, 1), (20_000, 1), (20_000, 2)] {
        Benchmark("index \(docs) documents, \(threads) thread\(threads == 1 ? "" : "s") (segment flush included)") {
            benchmark, input in
            for i in benchmark.scaledIterations {
                let dir = "\(input.directory)/idx-\(i)-\(UInt32.random(in: 0...UInt32.max))"
                var options = IndexOptions()
                options.threads = threads
                benchmark.startMeasurement()
                let writer = try IndexWriter(directory: dir, schema: Schema(), options: options)
                let report = try writer.index([input.path])
                writer.close()
                benchmark.stopMeasurement()
                blackHole(report.documentsAdded)
                removeTree(dir)
            }
        } setup: {
            try SyntheticCorpus.write(documents: docs, seed: 42)
        }
    }
}

