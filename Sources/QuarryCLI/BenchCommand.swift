// `quarry bench`: replay a query file in-process and report latency per query kind (mean, p50, p90, p99, max, in
// microseconds) and throughput; or serve the search-benchmark-game protocol on stdin/stdout.
//
// Query files: plain text (one query a line), JSON Lines with `q` or `query`, an optional `kind` or `tags` (the
// first tag is the kind) and optional `date_from`/`date_to`, which is also the search-benchmark-game's
// `queries.txt` format. What is timed is what a search costs: parsing the query, binding it to the index,
// and collecting the top hits (or counting); fetching stored documents is not (as in the search-benchmark-game).

import ArgumentParser
import Quarry
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

struct BenchQuery {
    var text: String
    var kind: String
    var query: Query
}

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Replay a query file and report latency percentiles per query kind.",
        discussion: """
            How it times: each sample is one query parsed, bound and run (top 10, top 100 or a count; stored
            documents are not fetched), on a warm index after --warmup seconds. --order rounds (the default) runs
            every query once per round, --repeat rounds, and takes percentiles over all samples of a kind;
            --order repeat runs each query once unmeasured then --repeat times back to back, takes each query's
            median, and percentiles over those medians (as the search-benchmark-game and most harnesses do).
            qps is threads x 1e6 / mean latency, for each kind and overall.
            Examples:
              quarry bench -i news --queries Benchmarks/queries/usenet.jsonl
              quarry bench -i news --queries q.jsonl --order repeat --repeat 5 --per-query runs/a.jsonl
              quarry bench -i news --queries queries.txt --any --mode count --json
              quarry bench -i news --queries q.jsonl --histogram now.svg --compare before.json
              quarry bench -i news --protocol sbg     (search-benchmark-game engine on stdin/stdout)
            """)

    @OptionGroup var location: IndexLocation

    @Option(name: .long, help: "The query file (plain text, or JSON Lines with q/query, kind/tags, date_from/date_to).")
    var queries: String?

    @Option(name: .long, help: "What to run: top10, top100, count, or all three.")
    var mode: String = "top10"

    @Option(name: .long, help: "Seconds of warm-up before measuring.")
    var warmup: Double = 1

    @Option(name: .customLong("repeat"), help: "Times each query is run while measuring.")
    var repeat_: Int = 3

    @Option(name: .long, help: "Threads searching at once (throughput).")
    var threads: Int = 1

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    @Option(name: .long, help: "Write an SVG latency histogram per kind to this file (log scale; p50/p95/p99 marked).")
    var histogram: String?

    @Option(name: .long, help: "With --histogram: draw the p50/p95/p99 of another run over it (a `quarry bench --json` file, or a peer's result with the same `kinds`).")
    var compare: String?

    @Flag(name: .long, help: "OR between words instead of AND (the search-benchmark-game's default operator).")
    var any = false

    @Option(name: .long, help: "rounds (every query once per round, percentiles over all samples) or repeat (each query back to back, percentiles over per-query medians).")
    var order: String = "rounds"

    @Option(name: .long, help: "Write per-query results as JSON Lines to this file: count, top-10 ids and scores, median and p90 µs.")
    var perQuery: String?

    @Option(name: .long, help: "Serve a protocol on stdin/stdout instead of replaying a file: sbg.")
    var `protocol`: String?

    func validate() throws {
        if let p = `protocol` {
            guard p == "sbg" else { throw ValidationError("unknown protocol '\(p)': use sbg") }
            return
        }
        guard queries != nil else { throw ValidationError("give --queries FILE (or --protocol sbg)") }
        guard ["top10", "top100", "count", "all"].contains(mode) else {
            throw ValidationError("--mode must be top10, top100, count or all")
        }
        if repeat_ < 1 { throw ValidationError("--repeat must be at least 1") }
        if threads < 1 || threads > 256 { throw ValidationError("--threads must be in 1...256") }
        if warmup < 0 { throw ValidationError("--warmup must be 0 or more") }
        guard ["rounds", "repeat"].contains(order) else { throw ValidationError("--order must be rounds or repeat") }
    }

    func run() throws {
        let reader = try IndexReader(directory: try location.resolve())
        let searcher = Searcher(reader: reader)
        if `protocol` == "sbg" {
            try serveSBG(searcher)
            return
        }
        let loaded = try loadQueries(path: queries ?? "", schema: reader.schema)
        if loaded.isEmpty { throw QuarryError(.invalidInput, "the query file has no queries", path: queries) }
        let modes = mode == "all" ? ["top10", "top100", "count"] : [mode]
        var reports: [BenchReport] = []
        for m in modes {
            reports.append(try measure(searcher, loaded, mode: m))
        }
        var out = OutputStream.standardOutput()
        if json {
            var o = JSONObject()
            o.add("index", reader.directory)
            o.add("documents", reader.documentCount)
            o.add("queries", loaded.count)
            o.add("repeat", repeat_)
            o.add("threads", threads)
            o.add("order", order)
            if reports.count == 1 {
                o.add("mode", reports[0].mode)
                o.add("kinds", raw: reports[0].kindsJSON)
                o.add("overall", raw: reports[0].overall.json)
            } else {
                var modesObject = JSONObject()
                for r in reports {
                    var ro = JSONObject()
                    ro.add("kinds", raw: r.kindsJSON)
                    ro.add("overall", raw: r.overall.json)
                    modesObject.add(r.mode, raw: ro.text)
                }
                o.add("modes", raw: modesObject.text)
            }
            out.line(o.text)
        } else {
            out.line("index \(reader.directory): \(Format.grouped(reader.documentCount)) documents, \(reader.segments.count) segments")
            out.line(
                "\(loaded.count) queries x \(repeat_), \(threads) thread\(threads == 1 ? "" : "s"), warm-up \(Format.fixed(warmup, 1)) s, "
                    + (order == "repeat"
                        ? "each query back to back, percentiles of per-query medians"
                        : "rounds, percentiles of all samples"))
            for r in reports {
                out.line("")
                out.line("mode \(r.mode)")
                out.line(BenchStats.header)
                for (kind, s) in r.kinds { out.line(s.row(kind)) }
                out.line(r.overall.row("overall"))
            }
        }
        if !json, let first = reports.first {
            // The slowest queries, by their median.
            let slowest = first.perQuery.enumerated().filter { !$0.element.isEmpty }
                .map { (i: $0.offset, median: BenchStats.median($0.element)) }
                .sorted { $0.median > $1.median }.prefix(10)
            out.line("")
            out.line("slowest queries (\(first.mode), median µs):")
            for s in slowest {
                out.line(Format.padLeft(Format.fixed(s.median, 1), 12) + "  " + loaded[s.i].kind + "  " + loaded[s.i].text)
            }
        }
        out.flush()
        if let histogram {
            var other: BenchHistogram.Other?
            if let compare { other = try BenchHistogram.Other.read(compare) }
            let caption =
                "quarry bench: \(reader.directory), \(Format.grouped(reader.documentCount)) documents in \(reader.segments.count) segment\(reader.segments.count == 1 ? "" : "s"); \(loaded.count) queries x \(repeat_), \(threads) thread\(threads == 1 ? "" : "s"), order \(order); \(ISODate.format(Int64(time(nil))))"
            try writeFile(histogram, Array(BenchHistogram.svg(reports, caption: caption, other: other).utf8))
        } else if compare != nil {
            throw ValidationError("--compare draws over the histogram: give --histogram FILE too")
        }
        if let perQuery, let first = reports.first {
            try writePerQuery(searcher, loaded, first, to: perQuery)
        }
    }

    // MARK: Queries

    func loadQueries(path: String, schema: Schema) throws -> [BenchQuery] {
        let bytes = try readFile(path)
        var out: [BenchQuery] = []
        var parser = QueryParser(schema: schema, defaultOr: any)
        var lineNumber = 0
        for lineSlice in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = String(decoding: lineSlice, as: UTF8.self)
            while line.hasSuffix("\r") { line.removeLast() }
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            // `# comment` lines (after any blanks) are skipped.
            if line.drop(while: { $0 == " " || $0 == "\t" }).first == "#" { continue }
            var text = line
            var kind = "query"
            var from: String?
            var to: String?
            if line.first == "{" {
                let doc = StoredDocument(Array(line.utf8))
                guard let q = doc.text("q") ?? doc.text("query") else {
                    throw QuarryError(.invalidInput, "a JSON query line needs \"q\" or \"query\"", path: path, line: lineNumber)
                }
                text = q
                if let k = doc.text("kind") {
                    kind = k
                } else if let tags = doc.text("tags") {
                    kind = tags.split(separator: "\n").first.map(String.init) ?? kind
                }
                from = doc.text("date_from")
                to = doc.text("date_to")
            }
            var query: Query
            do {
                query = try parser.parse(text)
            } catch {
                throw QuarryError(.invalidInput, "query '\(text)': \(error.message)", path: path, line: lineNumber)
            }
            if from != nil || to != nil {
                let lo = from.flatMap { DateParser.parsePeriod($0)?.start }
                let hi = to.flatMap { DateParser.parsePeriod($0)?.end }
                if (from != nil && lo == nil) || (to != nil && hi == nil) {
                    throw QuarryError(.invalidInput, "cannot read date_from/date_to", path: path, line: lineNumber)
                }
                query = .boolean(must: [query], should: [], mustNot: [], filter: [.dateRange(lower: lo, upper: hi)])
            }
            out.append(BenchQuery(text: text, kind: kind, query: query))
        }
        return out
    }

    // MARK: Measuring

    func measure(_ searcher: Searcher, _ queries: [BenchQuery], mode: String) throws -> BenchReport {
        let schema = searcher.reader.schema
        func runOne(_ q: BenchQuery, _ parser: inout QueryParser) throws -> Int {
            // Parse again, as a user's query would be (date ranges from the file are kept as parsed).
            let query: Query
            if case .boolean(_, _, _, let filter) = q.query, !filter.isEmpty {
                query = q.query
            } else {
                query = try parser.parse(q.text)
            }
            switch mode {
            case "count": return try searcher.count(query)
            case "top100": return try searcher.search(query, limit: 100).hits.count
            default: return try searcher.search(query, limit: 10).hits.count
            }
        }
        // Warm-up.
        var parser = QueryParser(schema: schema, defaultOr: any)
        let warmupEnd = Clock.now() + warmup
        var sink = 0
        repeat {
            for q in queries {
                sink &+= try runOne(q, &parser)
                if Clock.now() > warmupEnd { break }
            }
        } while Clock.now() < warmupEnd
        // Measure: every thread runs every query `repeat` times.
        let threadCount = threads
        let repeats = repeat_
        let backToBack = order == "repeat"
        let results = ThreadResults(threads: threadCount)
        let started = Clock.now()
        var workers: [BenchThread] = []
        for t in 0..<threadCount {
            workers.append(
                BenchThread {
                    var parser = QueryParser(schema: schema, defaultOr: any)
                    var samples: [(Int, Double)] = []
                    samples.reserveCapacity(queries.count * repeats)
                    if backToBack {
                        // Each query: once unmeasured, then `repeats` times in a row.
                        for k in 0..<queries.count {
                            let i = (k + t * 7919) % queries.count
                            do {
                                _ = try runOne(queries[i], &parser)
                                for _ in 0..<repeats {
                                    let t0 = Clock.now()
                                    _ = try runOne(queries[i], &parser)
                                    samples.append((i, (Clock.now() - t0) * 1e6))
                                }
                            } catch {
                                results.fail(error)
                                return
                            }
                        }
                    } else {
                        for r in 0..<repeats {
                            // Each thread starts at a different place, so threads do not run the same query at once.
                            for k in 0..<queries.count {
                                let i = (k + t * 7919 + r * 104729) % queries.count
                                let t0 = Clock.now()
                                do {
                                    _ = try runOne(queries[i], &parser)
                                } catch {
                                    results.fail(error)
                                    return
                                }
                                samples.append((i, (Clock.now() - t0) * 1e6))
                            }
                        }
                    }
                    results.set(t, samples)
                })
        }
        for w in workers { w.join() }
        let wall = Clock.now() - started
        if let e = results.error { throw e }
        // Every query's samples, then what the kinds' percentiles are taken over: all samples (rounds), or each
        // query's median (repeat).
        var perQuery = [[Double]](repeating: [], count: queries.count)
        for samples in results.samples {
            for (i, us) in samples { perQuery[i].append(us) }
        }
        var byKind: [String: [Double]] = [:]
        var all: [Double] = []
        for (i, samples) in perQuery.enumerated() {
            let values = backToBack ? (samples.isEmpty ? [] : [BenchStats.median(samples)]) : samples
            byKind[queries[i].kind, default: []].append(contentsOf: values)
            all.append(contentsOf: values)
        }
        var kindOrder: [String] = []
        for q in queries where !kindOrder.contains(q.kind) { kindOrder.append(q.kind) }
        let kinds = kindOrder.map { k in
            (k, BenchStats(byKind[k] ?? [], queries: queries.filter { $0.kind == k }.count, threads: threadCount))
        }
        _ = sink
        var overall = BenchStats(all, queries: queries.count, threads: threadCount)
        overall.wallQPS = wall > 0 ? Double(results.samples.reduce(0) { $0 + $1.count }) / wall : 0
        return BenchReport(mode: mode, kinds: kinds, overall: overall, samples: byKind, perQuery: perQuery)
    }

    /// `--per-query`: one JSON line per query of the first mode: its count, top-10 ids and scores, and latency.
    func writePerQuery(_ searcher: Searcher, _ queries: [BenchQuery], _ report: BenchReport, to path: String) throws {
        var text = ""
        let fetcher = DocumentFetcher(searcher.reader)
        let idField = searcher.reader.schema.idField
        for (i, q) in queries.enumerated() {
            let count = try searcher.count(q.query)
            let hits = try searcher.search(q.query, limit: 10).hits
            var o = JSONObject()
            o.add("q", q.text)
            o.add("kind", q.kind)
            o.add("count", count)
            var top: [String] = []
            for h in hits {
                var ho = JSONObject()
                ho.add("id", StoredDocument.text(idField, in: try fetcher.document(segment: h.segment, doc: h.doc)))
                ho.add("score", Double(h.score), decimals: 6)
                top.append(ho.text)
            }
            o.add("top10", raw: "[" + top.joined(separator: ",") + "]")
            let samples = report.perQuery[i]
            o.add("mode", report.mode)
            o.add("median_us", samples.isEmpty ? 0 : BenchStats.median(samples), decimals: 2)
            o.add("p90_us", BenchStats(samples, queries: 1, threads: 1).p90, decimals: 2)
            o.add("samples", samples.count)
            text += o.text + "\n"
        }
        try writeFile(path, Array(text.utf8))
    }

    // MARK: search-benchmark-game

    /// Reads `COMMAND<TAB>query` lines and answers each with one line: the count for COUNT and *_COUNT commands,
    /// 1 for TOP_N (after collecting the top N), UNSUPPORTED otherwise.
    func serveSBG(_ searcher: Searcher) throws {
        var parser = QueryParser(schema: searcher.reader.schema, defaultOr: true)
        var out = OutputStream.standardOutput()
        while let line = readLine(strippingNewline: true) {
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                out.line("UNSUPPORTED")
                out.flush()
                continue
            }
            let command = String(parts[0])
            let text = String(parts[1])
            let query: Query
            do {
                query = try parser.parse(text)
            } catch {
                out.line("UNSUPPORTED")
                out.flush()
                continue
            }
            // An engine error (a damaged index, a file truncated under the session) answers an error line and
            // the session goes on: one bad request never ends the process.
            do {
                switch command {
                case "COUNT":
                    out.line(String(try searcher.count(query)))
                case "TOP_10", "TOP_100", "TOP_1000":
                    let n = Int(command.dropFirst(4)) ?? 10
                    _ = try searcher.search(query, limit: n)
                    out.line("1")
                case "TOP_10_COUNT", "TOP_100_COUNT", "TOP_1000_COUNT":
                    let n = Int(command.dropFirst(4).dropLast(6)) ?? 10
                    _ = try searcher.search(query, limit: n)
                    out.line(String(try searcher.count(query)))
                default:
                    out.line("UNSUPPORTED")
                }
            } catch {
                out.line("ERROR " + String(describing: error).split(separator: "\n").joined(separator: " "))
            }
            out.flush()
        }
    }

}

/// log10 without Foundation.
func log10Approx(_ x: Double) -> Double {
    var v = x
    var e = 0.0
    while v >= 10 {
        v /= 10
        e += 1
    }
    while v < 1 {
        v *= 10
        e -= 1
    }
    // log10(v) for v in [1, 10) by a few Newton steps on 10^y = v.
    var y = (v - 1) / 9
    for _ in 0..<8 {
        var p = 1.0
        // 10^y = e^(y ln 10)
        let t = y * 2.302585092994046
        var term = 1.0
        for k in 1..<20 {
            term *= t / Double(k)
            p += term
        }
        y -= (p - v) / (p * 2.302585092994046)
    }
    return e + y
}

struct BenchStats {
    var queries: Int
    var samples: Int
    var mean: Double
    var p50: Double
    var p90: Double
    var p95: Double
    var p99: Double
    var max: Double
    /// threads x 1e6 / mean: the same definition for each kind and overall.
    var qps: Double
    /// Overall only: samples / the measuring phase's wall-clock seconds.
    var wallQPS: Double?

    /// The median (the mean of the two middle values for an even count).
    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        if s.isEmpty { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// - Parameters:
    ///   - threads: threads that searched at once.
    init(_ values: [Double], queries: Int, threads: Int) {
        let sorted = values.sorted()
        func pct(_ p: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let i = Swift.min(sorted.count - 1, Swift.max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
            return sorted[i]
        }
        self.queries = queries
        self.samples = sorted.count
        mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
        p50 = pct(50)
        p90 = pct(90)
        p95 = pct(95)
        p99 = pct(99)
        max = sorted.last ?? 0
        qps = mean > 0 ? Double(threads) * 1e6 / mean : 0
    }

    static let header =
        Format.padRight("kind", 10) + Format.padLeft("queries", 8) + Format.padLeft("mean µs", 11)
        + Format.padLeft("p50", 10) + Format.padLeft("p90", 10) + Format.padLeft("p95", 10) + Format.padLeft("p99", 10)
        + Format.padLeft("max", 10)
        + Format.padLeft("qps", 10)

    func row(_ kind: String) -> String {
        Format.padRight(kind, 10) + Format.padLeft(String(queries), 8) + Format.padLeft(Format.fixed(mean, 1), 11)
            + Format.padLeft(Format.fixed(p50, 1), 10) + Format.padLeft(Format.fixed(p90, 1), 10)
            + Format.padLeft(Format.fixed(p95, 1), 10) + Format.padLeft(Format.fixed(p99, 1), 10) + Format.padLeft(Format.fixed(max, 1), 10)
            + Format.padLeft(Format.fixed(qps, 0), 10)
    }

    var json: String {
        var o = JSONObject()
        o.add("queries", queries)
        o.add("samples", samples)
        o.add("mean_us", mean, decimals: 2)
        o.add("p50_us", p50, decimals: 2)
        o.add("p90_us", p90, decimals: 2)
        o.add("p95_us", p95, decimals: 2)
        o.add("p99_us", p99, decimals: 2)
        o.add("max_us", max, decimals: 2)
        o.add("qps", qps, decimals: 1)
        if let wallQPS { o.add("wall_qps", wallQPS, decimals: 1) }
        return o.text
    }
}

struct BenchReport {
    var mode: String
    var kinds: [(String, BenchStats)]
    var overall: BenchStats
    var samples: [String: [Double]]
    /// Each query's samples, in the file's order.
    var perQuery: [[Double]]

    var kindsJSON: String {
        var o = JSONObject()
        for (k, s) in kinds { o.add(k, raw: s.json) }
        return o.text
    }
}

/// A thread for `bench --threads`.
final class BenchThread: @unchecked Sendable {
    private let thread: Quarry.Thread

    init(_ body: @escaping () -> Void) {
        let box = UncheckedBox(body)
        thread = Quarry.Thread { box.value() }
    }

    func join() { thread.join() }
}

final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Samples and the first error of the benchmark threads.
final class ThreadResults: @unchecked Sendable {
    private let monitor = Monitor()
    private(set) var samples: [[(Int, Double)]]
    private(set) var error: (any Error)?

    init(threads: Int) {
        samples = Array(repeating: [], count: threads)
    }

    func set(_ t: Int, _ s: [(Int, Double)]) { monitor.withLock { samples[t] = s } }
    func fail(_ e: any Error) { monitor.withLock { if error == nil { error = e } } }
}

/// Reads a whole file (or standard input for "-").
func readFile(_ path: String) throws(QuarryError) -> [UInt8] {
    try readWholeFile(path == "-" ? "/dev/stdin" : path)
}

/// Writes a whole file.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = try FileDescriptor.open(
        FilePath(path), .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite, .groupRead, .otherRead])
    defer { try? fd.close() }
    _ = try fd.writeAll(bytes)
}
