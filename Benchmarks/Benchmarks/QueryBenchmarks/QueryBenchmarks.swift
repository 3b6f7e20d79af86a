// Query kernels on an index of 20,000 synthetic documents: posting iteration and advance, term-dictionary lookups,
// intersection, block-max WAND union, phrase matching, date filters, counting, and stored-document reads.

import Benchmark
import BenchmarkSupport

@_spi(Benchmarks) import Quarry

/// The index shared by every query benchmark (built once, on first use).
final class Fixture: @unchecked Sendable {
    let reader: IndexReader
    let searcher: Searcher
    let frequent: String
    let medium: String
    let rare: [String]

    static let shared: Fixture = {
        do {
            return try Fixture()
        } catch {
            fatalError("cannot build the benchmark index: \(error)")
        }
    }()

    private init() throws {
        let corpus = try SyntheticCorpus.write(documents: 20_000, seed: 7)
        let dir = corpus.directory + "/index"
        var options = IndexOptions()
        options.threads = 1
        let writer = try IndexWriter(directory: dir, schema: Schema(), options: options)
        _ = try writer.index([corpus.path])
        writer.close()
        reader = try IndexReader(directory: dir)
        searcher = Searcher(reader: reader)
        // Words by frequency rank in the synthetic vocabulary (Zipfian).
        frequent = SyntheticCorpus.word(rank: 0)
        medium = SyntheticCorpus.word(rank: 40)
        rare = [3000, 5000, 7000, 9000, 11000, 13000].map { SyntheticCorpus.word(rank: $0) }
    }

    func query(_ text: String) -> Query {
        var p = QueryParser(schema: reader.schema)
        return (try? p.parse(text)) ?? .none
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )

    Benchmark("postings: iterate a frequent term (body)") { benchmark in
        let f = Fixture.shared
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try Kernels.iteratePostings(f.reader, field: 2, term: f.frequent)) }
    }
    Benchmark("postings: advance a frequent term by 37") { benchmark in
        let f = Fixture.shared
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try Kernels.advancePostings(f.reader, field: 2, term: f.frequent, step: 37))
        }
    }
    Benchmark("term dictionary: 1,000 lookups") { benchmark in
        let f = Fixture.shared
        let terms = (0..<1000).map { i in Array((i % 3 == 0 ? f.rare[i % f.rare.count] : "zz\(i)").utf8) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try Kernels.lookupTerms(f.reader, field: 2, terms: terms)) }
    }
    let w = (0..<50).map { SyntheticCorpus.word(rank: $0) }
    let queries: [(String, String)] = [
        ("term top-10", w[0]),
        ("AND top-10 (intersection)", "\(w[1]) \(w[7])"),
        ("OR top-10 (block-max WAND union)", "\(w[2]) OR \(w[20]) OR \(w[45])"),
        ("phrase top-10", "\"\(w[0]) \(w[1])\""),
        ("date-filtered term top-10", "\(w[3]) date:[2012 TO 2013]"),
    ]
    for (name, text) in queries {
        Benchmark("search: \(name)") { benchmark in
            let f = Fixture.shared
            let q = f.query(text)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try f.searcher.search(q, limit: 10).hits.count) }
        }
    }
    Benchmark("search: OR top-10, exhaustive (no pruning)") { benchmark in
        let f = Fixture.shared
        let q = f.query("\(w[2]) OR \(w[20]) OR \(w[45])")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try f.searcher.search(q, limit: 10, exhaustive: true).hits.count) }
    }
    Benchmark("count: AND") { benchmark in
        let f = Fixture.shared
        let q = f.query("\(w[1]) \(w[7])")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try f.searcher.count(q)) }
    }
    Benchmark("store: read 100 documents") { benchmark in
        let f = Fixture.shared
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try Kernels.readStoredDocuments(f.reader, count: 100)) }
    }
}

