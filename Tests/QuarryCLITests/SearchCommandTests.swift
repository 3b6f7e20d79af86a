// `quarry search` and `quarry bench` end to end: output formats, exit statuses, query errors with their column,
// date options, and the fast argument path agreeing with ArgumentParser.

import QuarryTestSupport
import Testing

@testable import Quarry
@testable import QuarryCLI

@Suite(.serialized) struct SearchCommandTests {
    static let lines = [
        #"{"id":"a1","date":"2024-01-10T10:00:00Z","title":"Central bank holds interest rates","body":"The central bank held interest rates steady on Thursday.","section":"business"}"#,
        #"{"id":"a2","date":"2024-03-05T10:00:00Z","title":"Rates rise again","body":"Interest rates rose as the bank fought inflation.","section":"business"}"#,
        #"{"id":"a3","date":"2023-07-01T10:00:00Z","title":"Beavers return","body":"Beavers are back in British rivers.","section":"science"}"#,
        #"{"id":"a4","title":"No date here","body":"A bank without a date, and interest in rates."}"#,
    ]

    struct Fixture {
        let dir = TemporaryDirectory("search-cli")
        let index: String

        init() throws {
            index = dir.file("index")
            let input = dir.file("corpus.jsonl")
            writeFile(input, SearchCommandTests.lines.joined(separator: "\n") + "\n")
            let run = CLITests.quarry(["index", "-i", index, "-q", input])
            try #require(run.status == 0, "quarry index: \(run.err)")
        }

        func search(_ arguments: [String]) -> CLITests.Run {
            CLITests.quarry(["search", "-i", index] + arguments)
        }
    }

    @Test func idsCountAndExitStatuses() throws {
        let f = try Fixture()
        let ids = f.search(["--ids", "interest rates"])
        #expect(ids.status == 0)
        #expect(Set(ids.out.split(separator: "\n").map(String.init)) == ["a1", "a2", "a4"])
        let count = f.search(["--count", "\"interest rates\""])
        #expect(count.status == 0)
        #expect(count.out == "2\n")
        let none = f.search(["--count", "zebra"])
        #expect(none.status == 1)
        #expect(none.out == "0\n")
        let noIds = f.search(["--ids", "zebra"])
        #expect(noIds.status == 1)
        #expect(noIds.out.isEmpty)
    }

    @Test func jsonLinesCarryTheStoredFields() throws {
        let f = try Fixture()
        let run = f.search(["--json", "--limit", "2", "bank"])
        #expect(run.status == 0)
        let lines = run.out.split(separator: "\n")
        #expect(lines.count == 2)
        for line in lines {
            guard let o = CLITests.jsonObject(String(line)) else { continue }
            for key in ["rank", "id", "score", "date", "title", "snippet", "highlights"] {
                #expect(o.members.contains { $0.name == key }, "missing \(key) in \(line)")
            }
            #expect(o.text("section") != nil || o.text("id") == "a4", "stored fields follow: \(line)")
        }
        #expect(CLITests.jsonObject(String(lines[0]))?.text("rank") == "1")
    }

    @Test func dateOptionsAndSorting() throws {
        let f = try Fixture()
        let from = f.search(["--ids", "--from", "2024-02", "rates"])
        #expect(from.out == "a2\n")
        let to = f.search(["--ids", "--to", "2024-01-10", "rates"])
        #expect(to.out == "a1\n", "--to includes the whole day")
        let inQuery = f.search(["--ids", "rates date:[2024 TO 2024]"])
        #expect(Set(inQuery.out.split(separator: "\n").map(String.init)) == ["a1", "a2"])
        let newest = f.search(["--ids", "--sort", "-date", "rates"])
        #expect(newest.out == "a2\na1\na4\n", "undated documents come last")
        let oldest = f.search(["--ids", "--sort", "date", "rates"])
        #expect(oldest.out == "a1\na2\na4\n")
    }

    @Test func queryErrorsPointAtTheColumn() throws {
        let f = try Fixture()
        let run = f.search(["bank AND"])
        #expect(run.status == 2)
        #expect(run.err.contains("AND needs a term on its right (column 6)"), "\(run.err)")
        #expect(run.err.contains("  bank AND\n       ^"), "\(run.err)")
        let field = f.search(["nosuch:bank"])
        #expect(field.status == 2)
        #expect(field.err.contains("unknown field 'nosuch'"))
        let missing = CLITests.quarry(["search", "-i", f.dir.file("nothing"), "bank"])
        #expect(missing.status == 2)
    }

    @Test func humanOutputShowsTitleAndSnippet() throws {
        let f = try Fixture()
        let run = f.search(["--color", "never", "--limit", "1", "beavers"])
        #expect(run.status == 0)
        #expect(run.out == "a3  2023-07-01  " + run.out.dropFirst(16).prefix { $0 != "\n" } + "\n  Beavers return\n  Beavers are back in British rivers.\n\n")
        let colored = f.search(["--color", "always", "--limit", "1", "beavers"])
        #expect(colored.out.contains("\u{1B}[1;31mBeavers\u{1B}[0m"))
    }

    @Test func explainShowsTheFormula() throws {
        let f = try Fixture()
        let run = f.search(["--explain", "--color", "never", "--limit", "1", "title:beavers"])
        #expect(run.out.contains("title:beavers  BM25"))
        #expect(run.out.contains("idf = ln(1 + (N - n + 0.5) / (n + 0.5)), N = 4, n = 1"))
    }

    @Test(arguments: [
        ["bank"],
        ["-i", "x", "bank", "rates"],
        ["--limit", "3", "--offset", "2", "--json", "bank"],
        ["--ids", "--from", "2024", "--to", "2025-02", "a", "b"],
        ["--count", "--any", "--sort", "-date", "--color", "never", "x"],
        ["--explain", "-l", "5", "--", "-loan", "bank"],
    ])
    func fastArgumentsAgreeWithArgumentParser(_ arguments: [String]) throws {
        let parsed = try SearchCommand.parse(arguments).request
        #expect(SearchRequest.parseFast(arguments[...]) == parsed)
    }

    @Test(arguments: [["--help"], ["--limit=3", "x"], ["-l5", "x"], ["--bogus", "x"], ["--limit"]])
    func unusualArgumentsGoThroughArgumentParser(_ arguments: [String]) {
        #expect(SearchRequest.parseFast(arguments[...]) == nil)
    }

    @Test func benchReportsEveryKind() throws {
        let f = try Fixture()
        let queries = f.dir.file("queries.jsonl")
        writeFile(
            queries,
            """
            # a comment line, skipped
            {"q": "bank", "kind": "term"}
              # an indented comment
            {"q": "\\"interest rates\\"", "kind": "phrase"}
            {"q": "rates", "kind": "date", "date_from": "2024-01-01", "date_to": "2024-12-31"}
            bank OR beavers

            """)
        let run = CLITests.quarry(["bench", "-i", f.index, "--queries", queries, "--warmup", "0", "--repeat", "2", "--json"])
        #expect(run.status == 0, "\(run.err)")
        guard let o = CLITests.jsonObject(run.out.trimmingTrailingNewline) else { return }
        #expect(o.text("queries") == "4")
        guard let kinds = o.rawValue("kinds").map({ StoredDocument($0) }) else {
            Issue.record("no kinds in \(run.out)")
            return
        }
        #expect(kinds.members.map(\.name) == ["term", "phrase", "date", "query"])
        let bad = CLITests.quarry(["bench", "-i", f.index, "--queries", f.dir.file("missing.jsonl")])
        #expect(bad.status == 2)
    }

    /// `--order repeat` and `--per-query`: one line per query, whose count and top-10 ids are `quarry search`'s;
    /// the text table has p95 and the slowest queries.
    @Test func benchPerQueryAgreesWithSearch() throws {
        let f = try Fixture()
        let queries = f.dir.file("queries.txt")
        let texts = ["bank", "\"interest rates\"", "rates OR beavers", "nothingmatches"]
        writeFile(queries, texts.joined(separator: "\n") + "\n")
        let perQuery = f.dir.file("per-query.jsonl")
        let run = CLITests.quarry([
            "bench", "-i", f.index, "--queries", queries, "--warmup", "0", "--repeat", "3", "--order", "repeat",
            "--per-query", perQuery,
        ])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.contains("p95") && run.out.contains("slowest queries") && run.out.contains("per-query medians"))
        let lines = String(decoding: QuarryTestSupport.readFile(perQuery), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == texts.count)
        for (line, text) in zip(lines, texts) {
            let o = try #require(CLITests.jsonObject(String(line)))
            #expect(o.text("q") == text)
            #expect(o.text("samples") == "3")
            let count = CLITests.quarry(["search", "-i", f.index, "--count", text]).out.trimmingTrailingNewline
            #expect(o.text("count") == count, "\(text)")
            let ids = CLITests.quarry(["search", "-i", f.index, "--ids", text]).out.split(separator: "\n").map(String.init)
            let top = jsonArrayElements(Array((o.rawValue("top10") ?? []))).compactMap {
                CLITests.jsonObject($0)?.text("id")
            }
            #expect(top == ids, "\(text)")
        }
        let badOrder = CLITests.quarry(["bench", "-i", f.index, "--queries", queries, "--order", "random"])
        #expect(badOrder.status == 2)
    }
}

extension SearchCommandTests {
    /// The SVG of `bench --histogram`: a white background, a caption naming the index, a row per kind with its
    /// percentiles marked, and `--compare`'s run drawn dashed at the right places on the log scale (between the
    /// decade ticks that bracket it, as far along as the log of its value says).
    @Test func benchHistogramMarksPercentilesAndAnotherRun() throws {
        let f = try Fixture()
        let queries = f.dir.file("queries.jsonl")
        writeFile(queries, ["bank", "rates", "interest"].map { #"{"q": "\#($0)", "kind": "term"}"# }.joined(separator: "\n") + "\n")
        let peer = f.dir.file("peer.json")
        writeFile(peer, #"{"engine": "peer", "mode": "top10", "kinds": {"term": {"p50_us": 1234.5, "p95_us": 2345.6, "p99_us": 3456.7}}}"#)
        let svgPath = f.dir.file("h.svg")
        let run = CLITests.quarry([
            "bench", "-i", f.index, "--queries", queries, "--warmup", "0", "--repeat", "5", "--histogram", svgPath,
            "--compare", peer,
        ])
        #expect(run.status == 0, "\(run.err)")
        let svg = String(decoding: QuarryTestSupport.readFile(svgPath), as: UTF8.self)
        #expect(svg.hasPrefix("<svg ") && svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("fill=\"white\""))
        #expect(svg.contains("quarry bench: \(f.index)"))
        #expect(svg.contains("top10 term: 15 samples, p50 "))
        #expect(svg.contains("peer.json (peer): its p50, p95, p99"))
        // The legend's dash and the peer's three marks.
        let elements = svg.split(separator: "\n")
        #expect(elements.filter { $0.contains("stroke-dasharray") }.count == 4)
        func attribute(_ element: Substring, _ name: String) -> Double? {
            let prefix = name + "=\""
            guard let piece = element.split(separator: " ").first(where: { $0.hasPrefix(prefix) }) else { return nil }
            return Double(piece.dropFirst(prefix.count).prefix { $0 != "\"" })
        }
        func tick(_ label: String) -> Double? {
            elements.first { $0.hasPrefix("<text") && $0.hasSuffix(">\(label)</text>") }.flatMap { attribute($0, "x") }
        }
        let dashed = elements.filter { $0.hasPrefix("<line") && $0.contains("stroke-dasharray") }.compactMap {
            attribute($0, "x1")
        }
        let oneMs = try #require(tick("1 ms"))
        let tenMs = try #require(tick("10 ms"))
        #expect(dashed.count == 4)
        // p50 1.2345 ms: log10(1.2345) = 0.0915 of the decade; p95 2.3456 ms: 0.3702; p99 3.4567 ms: 0.5387.
        for (x, fraction) in zip(dashed.dropFirst(), [0.0915, 0.3702, 0.5387]) {
            #expect(abs((x - oneMs) / (tenMs - oneMs) - fraction) < 0.01, "\(x) between \(oneMs) and \(tenMs)")
        }
        // --compare needs --histogram; a missing file is named.
        let alone = CLITests.quarry(["bench", "-i", f.index, "--queries", queries, "--compare", peer])
        #expect(alone.status == 2)
        let missing = CLITests.quarry([
            "bench", "-i", f.index, "--queries", queries, "--warmup", "0", "--histogram", svgPath, "--compare",
            f.dir.file("nope.json"),
        ])
        #expect(missing.status == 2 && missing.err.contains("nope.json"), "\(missing.err)")
    }
}

extension String {
    fileprivate var trimmingTrailingNewline: String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}

extension SearchCommandTests {
    @Test func totalsAndPaging() throws {
        let f = try Fixture()
        // --count with --json: one object.
        let count = f.search(["--json", "--count", "interest rates"])
        #expect(count.status == 0)
        #expect(count.out == "{\"count\":3}\n", "\(count.out)")
        // An offset past the end says how many matches there are.
        let past = f.search(["--offset", "10", "interest rates"])
        #expect(past.status == 1)
        #expect(past.out.isEmpty)
        #expect(past.err.contains("no hits at --offset 10: the query has 3 matches"), "\(past.err)")
        // Within the matches, a page.
        let page = f.search(["--ids", "--offset", "2", "interest rates"])
        #expect(page.status == 0)
        #expect(page.out.split(separator: "\n").count == 1)
        // --ids goes alone.
        let both = f.search(["--ids", "--json", "bank"])
        #expect(both.status == 2)
        #expect(both.err.contains("--ids goes alone"), "\(both.err)")
    }

    @Test func syntaxThatIsNotSupportedIsAnErrorWithItsColumn() throws {
        let f = try Fixture()
        for (query, column, fragment) in [
            ("rates^x", 6, "needs a boost"), ("rivers~3", 7, "fuzzy"), ("[a TO c]", 1, "needs a field"),
            ("\"central *bank\"", 10, "only the last word"),
        ] {
            let run = f.search(["--count", query])
            #expect(run.status == 2, "\(query)")
            #expect(run.err.contains("column \(column)"), "\(query): \(run.err)")
            #expect(run.err.contains(fragment), "\(query): \(run.err)")
        }
        // The aliases of OR, AND and NOT.
        #expect(f.search(["--count", "beavers || inflation"]).out == "2\n")
        #expect(f.search(["--count", "interest && !inflation"]).out == f.search(["--count", "interest NOT inflation"]).out)
    }
}
