// `quarry serve` end to end: a server on a free loopback port, spoken to over real HTTP (URLSession, Foundation's
// own client and JSON parser: nothing of Quarry's on the client side). Every endpoint and error status, the same
// answers as `quarry search`/`--count` for a set of queries, writes and commits, a commit from another writer
// picked up while serving, the write lock naming the server, and (ProcessTests) SIGTERM with requests in flight.

import Foundation
import QuarryTestSupport
import Testing

@testable import Quarry
@testable import QuarryCLI
@testable import QuarryServer

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Logging

/// A server on a free port for the length of a test.
final class TestServer: Sendable {
    let server: QuarryServer
    let port: Int
    let task: Task<Void, any Error>

    init(_ directories: [String], configure: (inout ServerOptions) -> Void = { _ in }) async throws {
        var options = ServerOptions()
        options.port = 0
        options.threads = 1
        options.refreshInterval = .milliseconds(50)
        configure(&options)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let server = try QuarryServer(directories: directories, options: options, logger: logger)
        self.server = server
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        task = Task { try await server.run { port in continuation.yield(port) } }
        var port = 0
        for await p in stream {
            port = p
            break
        }
        self.port = port
    }

    func stop() async throws {
        await server.shutdown.trigger()
        try await task.value
    }

    /// GET (or another method): status and body.
    func request(_ path: String, method: String = "GET", body: String? = nil) async throws -> (Int, String) {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.httpMethod = method
        if let body { r.httpBody = Data(body.utf8) }
        let (data, response) = try await URLSession.shared.data(for: r)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, String(decoding: data, as: UTF8.self))
    }

    func json(_ path: String, method: String = "GET", body: String? = nil) async throws -> (Int, [String: Any]) {
        let (status, text) = try await request(path, method: method, body: body)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        return (status, object ?? [:])
    }
}

/// `q` percent-encoded for a URL.
func encoded(_ s: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-_.~")
    return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
}

/// A small dated corpus: titles and bodies from a few words, so that queries match some and not others.
func makeCorpusIndex(_ dir: String, documents: Int = 300, seed: UInt64 = 7) throws {
    var rng = SeededRandom(seed: seed)
    let words = [
        "bank", "rates", "interest", "cobol", "fortran", "compiler", "river", "market", "inflation", "central",
        "storm", "harbour", "ledger", "mainframe", "y2k", "budget", "loan", "crisis", "report", "année",
    ]
    let writer = try IndexWriter(directory: dir, schema: Schema(), options: IndexOptions())
    for i in 0..<documents {
        func text(_ n: Int) -> String {
            (0..<n).map { _ in words[Int(rng.skewed(below: UInt64(words.count)))] }.joined(separator: " ")
        }
        let year = 1990 + Int(rng.next() % 12)
        let month = 1 + Int(rng.next() % 12)
        let date = rng.chance(0.9) ? String(format: "%04d-%02d-15", year, month) : nil
        var fields = ["title": text(4), "body": text(30 + Int(rng.next() % 40)), "source": "s\(i % 3)"]
        if i % 50 == 0 { fields["body"] = "the interest rates of the central bank " + (fields["body"] ?? "") }
        try writer.add(
            id: String(format: "d-%04d", i), date: date.flatMap { DateParser.parsePeriod($0)?.start }, fields: fields)
    }
    try writer.commit()
    writer.close()
}

/// The CLI's answer (status and standard output) for `arguments`.
func cli(_ arguments: [String]) -> (Int32, String) {
    let (status, output) = capturingOutput { QuarryCommand.runReturningStatus(arguments) }
    return (status, output.standardOutput)
}

/// A JSON value with its volatile parts (timings) removed, as canonical text for comparison.
func canonical(_ object: [String: Any]) throws -> String {
    var o = object
    o["took_ms"] = nil
    o["took_us"] = nil
    let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

@Suite(.serialized) struct ServerTests {
    @Test func searchAnswersAsTheCLIDoes() async throws {
        let dir = TemporaryDirectory()
        let index = dir.file("idx")
        try makeCorpusIndex(index)
        let server = try await TestServer([index])
        let cases: [(query: String, options: [(String, String)])] = [
            ("bank", []),
            ("interest rates", [("limit", "5"), ("offset", "3")]),
            ("\"interest rates\"", [("fields", "id,score,title,snippet,highlights")]),
            ("cobol OR fortran", [("sort", "-date"), ("limit", "20")]),
            ("mainframe -ledger", [("from", "1994"), ("to", "1996-06")]),
            ("y2k*", [("facet", "year")]),
            ("storm", [("any", "true"), ("sort", "date")]),
            ("compiler~1 harbour", [("no_body", "true"), ("explain", "true")]),
            ("title:(river market)^2 budget", [("boost", "title=3")]),
            ("crisis", [("sort", "index"), ("limit", "7"), ("offset", "2")]),
            ("année", []),
            ("nothingmatchesthis", []),
        ]
        for c in cases {
            var path = "/search?q=" + encoded(c.query)
            var arguments = ["search", "-i", index, "--envelope"]
            for (k, v) in c.options {
                path += "&\(k)=\(encoded(v))"
                switch k {
                case "any", "explain": arguments.append("--\(k)")
                case "no_body": arguments.append("--no-body")
                default: arguments += ["--\(k)", v]
                }
            }
            arguments.append(c.query)
            let (status, api) = try await server.json(path)
            #expect(status == 200, "\(c.query): \(api)")
            let (exit, out) = cli(arguments)
            #expect(exit == 0 || exit == 1, "\(c.query): exit \(exit)")
            let expected = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] ?? [:]
            #expect(try canonical(api) == canonical(expected), "\(c.query) \(c.options)")
            #expect((api["hits"] as? [Any]) != nil)
            // /count as --count.
            let (countStatus, count) = try await server.json("/count?q=" + encoded(c.query))
            #expect(countStatus == 200)
            let (_, countOut) = cli(["search", "-i", index, "--count", c.query])
            #expect(count["count"] as? Int == Int(countOut.filter { $0 != "\n" }), "\(c.query)")
        }
        // The corpus's own check: a brute-force count of one word over the stored bodies and titles.
        let all = try await server.json("/search?q=*&limit=10000&fields=id,title,body")
        let hits = all.1["hits"] as? [[String: Any]] ?? []
        #expect(hits.count == 300)
        let ledger = hits.filter { h in
            ["title", "body"].contains { ((h[$0] as? String) ?? "").split(separator: " ").contains("ledger") }
        }.count
        let (_, ledgerCount) = try await server.json("/count?q=ledger")
        #expect(ledgerCount["count"] as? Int == ledger)
        try await server.stop()
    }

    @Test func everyEndpointAndErrorStatus() async throws {
        let dir = TemporaryDirectory()
        let index = dir.file("idx")
        try makeCorpusIndex(index, documents: 40)
        let server = try await TestServer([index]) { $0.maxBody = 1000 }
        // A document by id, and an unknown one.
        let (s1, doc) = try await server.json("/docs/d-0003")
        #expect(s1 == 200 && doc["id"] as? String == "d-0003")
        let (s2, missing) = try await server.json("/docs/nope")
        #expect(s2 == 404)
        #expect((missing["error"] as? [String: Any])?["message"] as? String == "no document with id 'nope'")
        // A syntax error: 400 with the CLI's message and column.
        let (s3, bad) = try await server.json("/search?q=" + encoded("bank AND (rates"))
        #expect(s3 == 400)
        let e = bad["error"] as? [String: Any] ?? [:]
        #expect(e["type"] as? String == "query")
        #expect(e["column"] as? Int != nil)
        let cliError = capturingOutput { QuarryCommand.runReturningStatus(["search", "-i", index, "bank AND (rates"]) }
        #expect(cliError.0 == 2)
        #expect(cliError.1.standardError.contains(e["message"] as? String ?? "<none>"))
        // Bad parameters: 400 naming the parameter.
        for (path, word) in [
            ("/search?q=a&limit=x", "limit"), ("/search?q=a&limit=100001", "limit"), ("/search?q=a&sort=up", "sort"),
            ("/search?q=a&from=yesterday", "from"), ("/search?q=a&facet=week", "facet"), ("/search", "query"),
            ("/search?q=a&any=maybe", "any"), ("/search?q=a&boost=title", "boost"),
        ] {
            let (s, o) = try await server.json(path)
            #expect(s == 400, "\(path)")
            let message = (o["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains(word), "\(path): \(o)")
        }
        // Unknown endpoint; a known one with another method: 405 and the methods it takes.
        let (s4, _) = try await server.json("/nowhere")
        #expect(s4 == 404)
        let (s4b, wrongMethod) = try await server.json("/search?q=a", method: "PUT")
        #expect(s4b == 405 && (wrongMethod["error"] as? [String: Any])?["type"] as? String == "method")
        let (s4c, _) = try await server.json("/commit", method: "GET")
        #expect(s4c == 405)
        // Stats, health, metrics.
        let (s5, stats) = try await server.json("/stats")
        #expect(s5 == 200 && stats["documents"] as? Int == 40)
        #expect((stats["indexes"] as? [[String: Any]])?.first?["generation"] != nil)
        let (s6, health) = try await server.json("/health")
        #expect(s6 == 200 && health["status"] as? String == "ok")
        let (s7, metrics) = try await server.request("/metrics")
        #expect(s7 == 200)
        #expect(metrics.contains("quarry_http_requests_total{endpoint=\"GET /search\",status=\"400\"}"))
        #expect(metrics.contains("quarry_http_request_duration_seconds_bucket{endpoint=\"GET /docs/{id}\""))
        #expect(metrics.contains("quarry_index_documents{index=\"\(index)\"} 40"))
        // Writes on a read-only server: 403.
        let (s8, ro) = try await server.json("/commit", method: "POST")
        #expect(s8 == 403 && (ro["error"] as? [String: Any])?["type"] as? String == "read_only")
        // The page, and a document's page.
        let (s9, html) = try await server.request("/?q=bank&page=2")
        #expect(s9 == 200 && html.contains("<mark>bank</mark>") && html.contains("aria-current=\"page\">2<"))
        let (s10, page) = try await server.request("/doc/d-0003")
        #expect(s10 == 200 && page.contains("d-0003"))
        let (s11, errorPage) = try await server.request("/?q=" + encoded("\"open"))
        #expect(s11 == 200 && errorPage.contains("class=\"error\""))
        try await server.stop()
    }

    @Test func writesCommitsAndTheLock() async throws {
        let dir = TemporaryDirectory()
        let index = dir.file("idx")
        try makeCorpusIndex(index, documents: 10)
        let server = try await TestServer([index]) {
            $0.writable = true
            $0.maxBody = 4096
        }
        // The shell is told who holds the lock.
        let locked = thrownQuarryError { try IndexWriter(directory: index, schema: nil, options: IndexOptions()) }
        #expect(locked?.code == .locked)
        #expect(locked?.message.contains("quarry serve on 127.0.0.1") == true, "\(String(describing: locked))")
        // Add two documents: not visible before the commit.
        let batch = "{\"id\":\"new-1\",\"title\":\"zebra crossing\",\"body\":\"a zebra\"}\n{\"id\":\"new-2\",\"body\":\"zebra two\"}\n"
        let (s1, added) = try await server.json("/docs", method: "POST", body: batch)
        #expect(s1 == 200 && added["added"] as? Int == 2)
        #expect(try await server.json("/count?q=zebra").1["count"] as? Int == 0)
        let (s2, commit) = try await server.json("/commit", method: "POST")
        #expect(s2 == 200 && commit["documents"] as? Int == 12)
        #expect(try await server.json("/count?q=zebra").1["count"] as? Int == 2)
        // A bad line: 400 naming it, and nothing of the batch added.
        let bad = "{\"id\":\"new-3\",\"body\":\"zebra three\"}\n{\"id\":\"new-4\",\"body\":\"zebra\"\n"
        let (s3, error) = try await server.json("/docs", method: "POST", body: bad)
        #expect(s3 == 400 && (error["error"] as? [String: Any])?["line"] as? Int == 2, "\(error)")
        _ = try await server.json("/commit", method: "POST")
        #expect(try await server.json("/count?q=zebra").1["count"] as? Int == 2)
        // skip_bad keeps the good lines; commit=true commits at once.
        let (s4, skipped) = try await server.json("/docs?skip_bad=true&commit=true", method: "POST", body: bad)
        #expect(s4 == 200 && skipped["added"] as? Int == 1 && skipped["skipped"] as? Int == 1)
        #expect(try await server.json("/count?q=zebra").1["count"] as? Int == 3)
        // An empty body: 400.
        let (s4b, empty) = try await server.json("/docs", method: "POST", body: "\n")
        #expect(s4b == 400 && (empty["error"] as? [String: Any])?["type"] as? String == "input")
        // Too large a body: 413.
        let (s5, big) = try await server.json(
            "/docs", method: "POST", body: String(repeating: "{\"id\":\"x\",\"body\":\"y\"}\n", count: 400))
        #expect(s5 == 413, "\(big)")
        // Delete, commit, gone; deleting it again: 404.
        let (s6, _) = try await server.json("/docs/new-1", method: "DELETE")
        #expect(s6 == 200)
        _ = try await server.json("/commit", method: "POST")
        #expect(try await server.json("/docs/new-1").0 == 404)
        #expect(try await server.json("/docs/new-1", method: "DELETE").0 == 404)
        // Added and not committed at shutdown: committed then (as Lucene's IndexWriter.close).
        _ = try await server.json("/docs", method: "POST", body: "{\"id\":\"late\",\"body\":\"zebra late\"}")
        try await server.stop()
        let reader = try IndexReader(directory: index)
        #expect(try reader.locate(id: "late") != nil)
        // The lock is free again.
        let writer = try IndexWriter(directory: index, schema: nil, options: IndexOptions())
        writer.close()
    }

    @Test func aCommitFromAnotherWriterIsPickedUp() async throws {
        let dir = TemporaryDirectory()
        let index = dir.file("idx")
        try makeCorpusIndex(index, documents: 20)
        let server = try await TestServer([index])
        let before = try await server.json("/health").1["generations"] as? [Int] ?? []
        #expect(try await server.json("/count?q=quokka").1["count"] as? Int == 0)
        // A request holding the old snapshot keeps answering from it while the new commit lands.
        let old = server.server.service.snapshot
        let writer = try IndexWriter(directory: index, schema: nil, options: IndexOptions())
        try writer.add(id: "q-1", fields: ["body": "a quokka"])
        try writer.commit()
        // Merge everything: the old segment files are removed from the directory while `old` still maps them.
        _ = try writer.forceMerge(maxSegments: 1)
        writer.close()
        var generations = before
        for _ in 0..<200 where generations == before {
            try await Task.sleep(for: .milliseconds(20))
            generations = try await server.json("/health").1["generations"] as? [Int] ?? []
        }
        #expect(generations != before)
        #expect(try await server.json("/count?q=quokka").1["count"] as? Int == 1)
        #expect(try Searcher(reader: old.reader).count(.term(field: 2, term: Array("quokka".utf8))) == 0)
        #expect(try Searcher(reader: old.reader).count(.term(field: 2, term: Array("bank".utf8))) > 0)
        try await server.stop()
    }

    @Test func severalIndexesAsOne() async throws {
        let dir = TemporaryDirectory()
        let a = dir.file("a")
        let b = dir.file("b")
        try makeCorpusIndex(a, documents: 50, seed: 1)
        try makeCorpusIndex(b, documents: 50, seed: 2)
        // Ids collide across the two (both d-0000...): fine for searching, as in the CLI.
        let server = try await TestServer([a, b])
        let api = try await server.json("/search?q=bank+rates&limit=20")
        let (_, out) = cli(["search", "-i", a, "-i", b, "--envelope", "--limit", "20", "bank rates"])
        let expected = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any] ?? [:]
        #expect(try canonical(api.1) == canonical(expected))
        let stats = try await server.json("/stats").1
        #expect((stats["indexes"] as? [Any])?.count == 2)
        #expect(stats["documents"] as? Int == 100)
        try await server.stop()
    }

    @Test func aQueryPastItsTimeBudgetIs503() async throws {
        let dir = TemporaryDirectory()
        let index = dir.file("idx")
        try makeCorpusIndex(index, documents: 200)
        let server = try await TestServer([index]) { $0.timeBudget = .nanoseconds(1) }
        let (status, o) = try await server.json("/search?q=bank")
        #expect(status == 503)
        #expect((o["error"] as? [String: Any])?["type"] as? String == "timeout")
        try await server.stop()
    }

    @Test func queryStringDecoding() {
        let q = QueryString("q=%22interest+rates%22&limit=5&e=%C3%A9t%C3%A9&bad=%zz&empty=&flag")
        #expect(q["q"] == "\"interest rates\"")
        #expect(q["limit"] == "5")
        #expect(q["e"] == "été")
        #expect(q["bad"] == "%zz")
        #expect(q["empty"] == "")
        #expect(q["flag"] == "")
        #expect(q["missing"] == nil)
        #expect(QueryString.decode(Array(QueryString.encode("a b&c=é/ü+").utf8)[...]) == "a b&c=é/ü+")
    }
}
