// `quarry search`'s output options and several indexes, end to end on the fixture of SearchCommandTests:
// --envelope, --fields, --no-body, --json --explain, --facet (table and JSON), --sort index and --limit all,
// --boost, -i A -i B and $QUARRY_INDEX=a:b, and expansion errors with their caret. Tests that set environment
// variables are CLITests' (serialized with the other tests that do).

import QuarryTestSupport
import Testing

@testable import Quarry
@testable import QuarryCLI

#if canImport(Glibc)
    import Glibc
#endif

/// The elements of a JSON array (raw text), split at the commas of its top level.
func jsonArrayElements(_ raw: [UInt8]) -> [String] {
    var out: [String] = []
    var depth = 0
    var inString = false
    var escaped = false
    var start = 0
    for (i, b) in raw.enumerated() {
        if inString {
            if escaped {
                escaped = false
            } else if b == UInt8(ascii: "\\") {
                escaped = true
            } else if b == UInt8(ascii: "\"") {
                inString = false
            }
            continue
        }
        switch b {
        case UInt8(ascii: "\""): inString = true
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            depth += 1
            if depth == 1 { start = i + 1 }
        case UInt8(ascii: "]"), UInt8(ascii: "}"):
            if depth == 1 {
                let element = String(decoding: raw[start..<i], as: UTF8.self).trimmingSpaces
                if !element.isEmpty { out.append(element) }
            }
            depth -= 1
        case UInt8(ascii: ","):
            if depth == 1 {
                out.append(String(decoding: raw[start..<i], as: UTF8.self).trimmingSpaces)
                start = i + 1
            }
        default: break
        }
    }
    return out
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = self[...]
        while s.first == " " || s.first == "\n" { s = s.dropFirst() }
        while s.last == " " || s.last == "\n" { s = s.dropLast() }
        return String(s)
    }

    fileprivate var lines: [String] { split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

    fileprivate var nonEmptyLines: [String] { split(separator: "\n").map(String.init) }
}

extension SearchCommandTests {
    /// A second index with the fixture's schema and other ids.
    static let otherLines = [
        #"{"id":"b1","date":"2022-05-01T00:00:00Z","title":"Bank rates in 2022","body":"The bank kept rates low."}"#,
        #"{"id":"b2","date":"2024-01-20T00:00:00Z","title":"Otters","body":"Otters and beavers share rivers."}"#,
    ]

    static func buildOther(_ f: Fixture, name: String = "other") throws -> String {
        let path = f.dir.file(name)
        let input = f.dir.file(name + ".jsonl")
        writeFile(input, otherLines.joined(separator: "\n") + "\n")
        let run = CLITests.quarry(["index", "-i", path, "-q", input])
        try #require(run.status == 0, "quarry index: \(run.err)")
        return path
    }

    static func score(_ line: String) -> Double? {
        CLITests.jsonObject(line)?.text("score").flatMap(Double.init)
    }

    @Test func envelopeIsOneObjectWithTheTotalAndThePage() throws {
        let f = try Fixture()
        let count = f.search(["--count", "interest rates"])
        let run = f.search(["--envelope", "interest rates"])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.out.nonEmptyLines.count == 1, "one line: \(run.out)")
        let o = try #require(CLITests.jsonObject(run.out.trimmingSpaces))
        #expect(o.members.map(\.name) == ["total", "offset", "limit", "took_ms", "hits"])
        #expect(o.text("total").map { $0 + "\n" } == count.out)
        #expect(o.text("offset") == "0")
        #expect(o.text("limit") == "10")
        #expect(o.text("took_ms").flatMap(Double.init).map { $0 >= 0 } == true)
        let hits = jsonArrayElements(try #require(o.rawValue("hits")))
        #expect(hits.count == 3)
        for (k, hit) in hits.enumerated() {
            let h = try #require(CLITests.jsonObject(hit))
            #expect(h.text("rank") == String(k + 1))
            // The hits are what --json prints.
        }
        let json = f.search(["--json", "interest rates"])
        #expect(hits == json.out.nonEmptyLines, "the envelope's hits are the --json lines")
        // A page.
        let page = f.search(["--envelope", "--limit", "1", "--offset", "1", "interest rates"])
        let p = try #require(CLITests.jsonObject(page.out.trimmingSpaces))
        #expect(p.text("total") == "3")
        #expect(p.text("offset") == "1")
        #expect(p.text("limit") == "1")
        let pageHits = jsonArrayElements(try #require(p.rawValue("hits")))
        #expect(pageHits.count == 1)
        #expect(CLITests.jsonObject(pageHits[0])?.text("rank") == "2")
        #expect(CLITests.jsonObject(pageHits[0])?.text("id") == CLITests.jsonObject(hits[1])?.text("id"))
    }

    @Test func envelopeOfNoMatchIsEmptyAndExitsOne() throws {
        let f = try Fixture()
        let run = f.search(["--envelope", "zebra"])
        let o = try #require(CLITests.jsonObject(run.out.trimmingSpaces))
        #expect(o.text("total") == "0")
        #expect(jsonArrayElements(try #require(o.rawValue("hits"))).isEmpty)
        // As grep: 1 when nothing matched, whatever the output form (README, "exit status").
        #expect(run.status == 1, "exit status \(run.status) when nothing matched")
    }

    @Test func fieldsChooseTheKeys() throws {
        let f = try Fixture()
        let run = f.search(["--json", "--fields", "id,date", "bank"])
        #expect(run.status == 0)
        let lines = run.out.nonEmptyLines
        #expect(lines.count == 3)
        for line in lines {
            let o = try #require(CLITests.jsonObject(line))
            #expect(o.members.map(\.name) == ["id", "date"], "\(line)")
        }
        let dated = lines.compactMap(CLITests.jsonObject).first { $0.text("id") == "a1" }
        #expect(dated?.text("date") == "2024-01-10T10:00:00Z")
        #expect(lines.compactMap(CLITests.jsonObject).first { $0.text("id") == "a4" }?.text("date") == nil)
        // A stored field by name, and spaces around the commas.
        let stored = f.search(["--json", "--fields", "id, section", "beavers"])
        #expect(stored.out == "{\"id\":\"a3\",\"section\":\"science\"}\n", "\(stored.out)")
        // In the envelope too.
        let env = f.search(["--envelope", "--fields", "id", "beavers"])
        let o = try #require(CLITests.jsonObject(env.out.trimmingSpaces))
        #expect(jsonArrayElements(try #require(o.rawValue("hits"))) == ["{\"id\":\"a3\"}"])
    }

    @Test func noBodyLeavesTheBodyOut() throws {
        let f = try Fixture()
        let with = f.search(["--json", "beavers"])
        let without = f.search(["--json", "--no-body", "beavers"])
        #expect(without.status == 0)
        let a = try #require(CLITests.jsonObject(with.out.trimmingSpaces))
        let b = try #require(CLITests.jsonObject(without.out.trimmingSpaces))
        #expect(a.members.map(\.name).contains("body"))
        #expect(b.members.map(\.name) == a.members.map(\.name).filter { $0 != "body" })
        #expect(b.text("snippet") == a.text("snippet"), "the snippet stays")
        #expect(b.text("section") == "science")
        let env = f.search(["--envelope", "--no-body", "beavers"])
        #expect(!env.out.contains("\"body\""), "\(env.out)")
        // --snippet-length bounds the snippet.
        let short = f.search(["--json", "--snippet-length", "12", "rivers"])
        let s = try #require(CLITests.jsonObject(short.out.nonEmptyLines.first ?? ""))
        let snippet = try #require(s.text("snippet"))
        #expect(snippet.replacingEllipses.utf8.count <= 12 + 8, "\(snippet)")
        #expect(snippet.contains("rivers"))
        #expect(f.search(["--snippet-length", "5", "rivers"]).status == 2)
    }

    @Test func jsonExplainCarriesTheScore() throws {
        let f = try Fixture()
        for query in ["title:beavers", "interest rates", "\"interest rates\" OR bank", "rat*", "raets~1", "bank^2"] {
            let run = f.search(["--json", "--explain", query])
            #expect(run.status == 0, "\(query): \(run.err)")
            for line in run.out.nonEmptyLines {
                let o = try #require(CLITests.jsonObject(line))
                let explanation = try #require(o.rawValue("explanation").map(StoredDocument.init), "\(query): \(line)")
                let score = try #require(o.text("score").flatMap(Double.init))
                let explained = try #require(explanation.text("score").flatMap(Double.init))
                #expect(abs(score - explained) <= 2e-6, "\(query): score \(score), explanation \(explained)")
                #expect(explanation.text("description") != nil)
                #expect(explanation.rawValue("details") != nil)
            }
        }
        // Without --explain there is no explanation; --fields can ask for it.
        #expect(!f.search(["--json", "bank"]).out.contains("explanation"))
        let chosen = f.search(["--json", "--fields", "id,explanation", "title:beavers"])
        let o = try #require(CLITests.jsonObject(chosen.out.trimmingSpaces))
        #expect(o.members.map(\.name) == ["id", "explanation"])
    }

    @Test func facetsWithCount() throws {
        let f = try Fixture()
        // rates: a1 and a2 (2024), a4 (no date).
        let table = f.search(["--count", "--facet", "year", "rates"])
        #expect(table.status == 0)
        let bar = { (n: Int) in String(repeating: "█", count: n) }
        #expect(
            table.out
                == "3\n\nyear     matches\n2024           2  \(bar(40))\nno date        1  \(bar(20))\n",
            "\(table.out)")
        let json = f.search(["--json", "--count", "--facet", "year", "rates"])
        #expect(
            json.out == "{\"count\":3,\"facets\":{\"year\":[{\"value\":\"2024\",\"count\":2}],\"missing\":1}}\n",
            "\(json.out)")
        // The facets add up to the count, for every period and a few queries.
        for query in ["bank", "*", "interest OR beavers", "ra*", "zebra"] {
            let count = Int(f.search(["--count", query]).out.trimmingSpaces) ?? -1
            for period in ["year", "month", "day"] {
                let run = f.search(["--json", "--count", "--facet", period, query])
                let o = try #require(CLITests.jsonObject(run.out.trimmingSpaces))
                #expect(o.text("count") == String(count), "\(query) by \(period)")
                let facets = StoredDocument(try #require(o.rawValue("facets")))
                let values = jsonArrayElements(try #require(facets.rawValue(period))).compactMap(CLITests.jsonObject)
                let sum = values.compactMap { $0.text("count").flatMap(Int.init) }.reduce(0, +)
                let missing = Int(facets.text("missing") ?? "") ?? -1
                #expect(sum + missing == count, "\(query) by \(period): \(run.out)")
                #expect(run.status == (count == 0 ? 1 : 0))
            }
        }
        #expect(f.search(["--count", "--facet", "week", "rates"]).status == 2)
    }

    @Test func facetsAfterTheHits() throws {
        let f = try Fixture()
        // bank: a1 (2024-01), a2 (2024-03), a4 (no date).
        let human = f.search(["--color", "never", "--facet", "month", "bank"])
        #expect(human.status == 0)
        let full = String(repeating: "█", count: 40)
        let expectedTable =
            "\nmonth    matches\n2024-01        1  \(full)\n2024-03        1  \(full)\nno date        1  \(full)\n"
        #expect(human.out.hasSuffix(expectedTable), "\(human.out)")
        #expect(human.out.hasPrefix("a"), "the hits come first")
        let json = f.search(["--json", "--facet", "month", "bank"])
        let lines = json.out.nonEmptyLines
        #expect(lines.count == 4)
        #expect(
            lines.last
                == "{\"facets\":{\"month\":[{\"value\":\"2024-01\",\"count\":1},{\"value\":\"2024-03\",\"count\":1}],\"missing\":1}}"
        )
        let env = f.search(["--envelope", "--facet", "day", "bank"])
        let o = try #require(CLITests.jsonObject(env.out.trimmingSpaces))
        #expect(o.members.map(\.name) == ["total", "offset", "limit", "took_ms", "hits", "facets"])
        #expect(
            o.rawValue("facets").map { String(decoding: $0, as: UTF8.self) }
                == "{\"day\":[{\"value\":\"2024-01-10\",\"count\":1},{\"value\":\"2024-03-05\",\"count\":1}],\"missing\":1}"
        )
        // --limit 0: the table alone.
        let alone = f.search(["--color", "never", "--limit", "0", "--facet", "year", "bank"])
        #expect(alone.status == 0)
        #expect(
            alone.out
                == "\nyear     matches\n2024           2  \(String(repeating: "█", count: 40))\nno date        1  \(String(repeating: "█", count: 20))\n",
            "\(alone.out)")
    }

    @Test func indexOrderAndLimitAll() throws {
        let f = try Fixture()
        let ordered = f.search(["--sort", "index", "--limit", "all", "--ids", "rates OR beavers"])
        #expect(ordered.status == 0)
        let ids = ordered.out.nonEmptyLines
        let byScore = f.search(["--limit", "100", "--ids", "rates OR beavers"]).out.nonEmptyLines
        #expect(Set(ids) == Set(byScore))
        #expect(ids.count == byScore.count)
        // In the index's order: (segment, doc) increasing.
        let reader = try IndexReader(directory: f.index)
        let places = try ids.map { try #require(try reader.locate(id: $0)) }
        #expect(
            zip(places, places.dropFirst()).allSatisfy {
                [$0.0.segment, $0.0.doc].lexicographicallyPrecedes([$0.1.segment, $0.1.doc])
            }, "\(ids)")
        // JSON in index order has no score and no rank gaps.
        let json = f.search(["--sort", "index", "--limit", "all", "--json", "rates OR beavers"])
        let objects = json.out.nonEmptyLines.compactMap(CLITests.jsonObject)
        #expect(objects.map { $0.text("id") ?? "" } == ids)
        #expect(objects.allSatisfy { $0.text("score") == nil })
        #expect(objects.map { $0.text("rank") ?? "" } == (1...ids.count).map(String.init))
        // Paging in index order.
        let second = f.search(["--sort", "index", "--limit", "2", "--offset", "1", "--ids", "rates OR beavers"])
        #expect(second.out.nonEmptyLines == Array(ids.dropFirst().prefix(2)))
        // --limit all with the score order: every match.
        let all = f.search(["--limit", "all", "--ids", "bank"])
        #expect(all.out.nonEmptyLines.count == Int(f.search(["--count", "bank"]).out.trimmingSpaces))
        let allPaged = f.search(["--limit", "all", "--offset", "1", "--ids", "bank"])
        #expect(allPaged.out.nonEmptyLines == Array(all.out.nonEmptyLines.dropFirst()))
        #expect(f.search(["--limit", "many", "bank"]).status == 2)
    }

    @Test func severalIndexesAsOne() throws {
        let f = try Fixture()
        let other = try SearchCommandTests.buildOther(f)
        for query in ["bank", "rivers", "beavers OR rates", "ra*", "*"] {
            let a = Int(f.search(["--count", query]).out.trimmingSpaces) ?? -1
            let b = Int(CLITests.quarry(["search", "-i", other, "--count", query]).out.trimmingSpaces) ?? -1
            let both = CLITests.quarry(["search", "-i", f.index, "-i", other, "--count", query])
            #expect(both.out == "\(a + b)\n", "\(query)")
        }
        let ids = CLITests.quarry(["search", "-i", f.index, "-i", other, "--ids", "--limit", "all", "bank OR beavers"])
        #expect(ids.status == 0)
        #expect(Set(ids.out.nonEmptyLines) == ["a1", "a2", "a3", "a4", "b1", "b2"])
        let env = CLITests.quarry(["search", "-i", other, "-i", f.index, "--envelope", "--facet", "year", "rivers"])
        let o = try #require(CLITests.jsonObject(env.out.trimmingSpaces))
        #expect(o.text("total") == "2")
        #expect(
            o.rawValue("facets").map { String(decoding: $0, as: UTF8.self) }
                == "{\"year\":[{\"value\":\"2023\",\"count\":1},{\"value\":\"2024\",\"count\":1}],\"missing\":0}")
        // Documents and explanations come from the right index.
        let json = CLITests.quarry(["search", "-i", f.index, "-i", other, "--json", "--explain", "otters"])
        let hit = try #require(CLITests.jsonObject(json.out.trimmingSpaces))
        #expect(hit.text("id") == "b2")
        #expect(hit.text("title") == "Otters")
        // `get` takes several indexes too.
        let got = CLITests.quarry(["get", "-i", f.index, "-i", other, "b1", "a3"])
        #expect(got.status == 0)
        #expect(got.out.nonEmptyLines.count == 2, "\(got.out) \(got.err)")
    }

    @Test func theSameIndexTwiceOrAOneIndexCommandIsAnError() throws {
        let f = try Fixture()
        let other = try SearchCommandTests.buildOther(f)
        let twice = CLITests.quarry(["search", "-i", f.index, "-i", f.index, "bank"])
        #expect(twice.status == 2)
        #expect(twice.err.contains("are the same index"), "\(twice.err)")
        // Another path to the same directory.
        let alias = CLITests.quarry(["search", "-i", f.index, "-i", f.dir.path + "/./index", "--count", "bank"])
        #expect(alias.status == 2, "\(alias.out)")
        #expect(alias.err.contains("are the same index"), "\(alias.err)")
        for command in [["stats"], ["check"], ["merge"], ["delete", "--dry-run", "a1"]] {
            let run = CLITests.quarry(command + ["-i", f.index, "-i", other])
            #expect(run.status == 2, "\(command)")
            #expect(run.err.contains("this command works on one index, and 2 are given"), "\(command): \(run.err)")
        }
        // Indexes of different analyzers cannot be searched together.
        let english = f.dir.file("english")
        let input = f.dir.file("english.jsonl")
        writeFile(input, #"{"id":"e1","title":"Running banks","body":"x"}"# + "\n")
        #expect(CLITests.quarry(["index", "-i", english, "--analyzer", "en", "-q", input]).status == 0)
        let mixed = CLITests.quarry(["search", "-i", f.index, "-i", english, "bank"])
        #expect(mixed.status == 2)
        #expect(mixed.err.contains("schemas differ"), "\(mixed.err)")
    }

    @Test func boostMultipliesTheTitle() throws {
        let f = try Fixture()
        // beavers: a3 has it once in the title and once in the body.
        func score(_ arguments: [String]) throws -> Double {
            let run = f.search(["--json", "--fields", "id,score"] + arguments)
            return try #require(SearchCommandTests.score(run.out.trimmingSpaces), "\(arguments): \(run.out) \(run.err)")
        }
        let title = try score(["title:beavers"])
        let body = try score(["body:beavers"])
        let plain = try score(["beavers"])
        #expect(abs(plain - (title + body)) <= 2e-6)
        let boosted = try score(["--boost", "title=3", "beavers"])
        #expect(abs(boosted - (3 * title + body)) <= 1e-5, "boosted \(boosted), by hand \(3 * title + body)")
        let both = try score(["--boost", "title=3", "--boost", "body=0.5", "beavers"])
        #expect(abs(both - (3 * title + 0.5 * body)) <= 1e-5)
        #expect(abs(try score(["--boost", "body=0", "beavers"]) - title) <= 2e-6)
        // A field boost does not reach words given a field.
        #expect(abs(try score(["--boost", "title=3", "title:beavers"]) - title) <= 2e-6)
        // The explanation says so.
        let explained = f.search(["--color", "never", "--explain", "--boost", "title=3", "beavers"])
        #expect(explained.out.contains("boost"), "\(explained.out)")
        // Errors.
        #expect(f.search(["--boost", "title", "beavers"]).status == 2)
        #expect(f.search(["--boost", "title=x", "beavers"]).status == 2)
        let notDefault = f.search(["--boost", "section=2", "beavers"])
        #expect(notDefault.status == 2)
        #expect(notDefault.err.contains("not a default field"), "\(notDefault.err)")
    }

    @Test func anExpansionPastItsLimitPointsAtThePattern() throws {
        let f = try Fixture()
        let path = f.dir.file("many")
        let input = f.dir.file("many.jsonl")
        let words = (0..<1100).map { "pre\($0)" }.joined(separator: " ")
        writeFile(input, "{\"id\":\"m\",\"title\":\"bank\",\"body\":\"some \(words)\"}\n")
        #expect(CLITests.quarry(["index", "-i", path, "-q", input]).status == 0)
        for extra in [[], ["--count"], ["--json"], ["--facet", "year"], ["--envelope"]] {
            let run = CLITests.quarry(["search", "-i", path] + extra + ["bank \"some pre*\""])
            #expect(run.status == 2, "\(extra)")
            #expect(run.out.isEmpty, "\(extra): \(run.out)")
            #expect(run.err.contains("matches more than 1024 terms"), "\(extra): \(run.err)")
            #expect(run.err.contains("(column 6)"), "\(extra): \(run.err)")
            #expect(run.err.contains("  bank \"some pre*\"\n       ^\n"), "\(extra): \(run.err)")
        }
        // A plain prefix has room for them.
        let plain = CLITests.quarry(["search", "-i", path, "--count", "pre*"])
        #expect(plain.out == "1\n", "\(plain.err)")
        let highlighted = CLITests.quarry(["search", "-i", path, "--json", "--fields", "id,highlights", "pre1*"])
        #expect(highlighted.status == 0, "\(highlighted.err)")
    }
}

extension String {
    /// Without the "…" marks of a cut snippet.
    fileprivate var replacingEllipses: String { replacing("…", with: "") }
}

extension CLITests {
    @Test func severalIndexesFromTheEnvironment() throws {
        let f = try SearchCommandTests.Fixture()
        let other = try SearchCommandTests.buildOther(f)
        setenv("QUARRY_INDEX", "\(f.index):\(other)", 1)
        defer { unsetenv("QUARRY_INDEX") }
        let count = Self.quarry(["search", "--count", "bank OR otters"])
        #expect(count.status == 0, "\(count.err)")
        let a = Self.quarry(["search", "-i", f.index, "--count", "bank OR otters"]).out.trimmingSpaces
        let b = Self.quarry(["search", "-i", other, "--count", "bank OR otters"]).out.trimmingSpaces
        #expect(count.out == "\((Int(a) ?? 0) + (Int(b) ?? 0))\n")
        let ids = Self.quarry(["search", "--ids", "otters OR beavers"])
        #expect(Set(ids.out.nonEmptyLines) == ["a3", "b2"])
        // -i wins over the environment.
        #expect(Self.quarry(["search", "-i", other, "--ids", "otters OR beavers"]).out == "b2\n")
        // A one-index command refuses the list.
        let stats = Self.quarry(["stats"])
        #expect(stats.status == 2)
        #expect(stats.err.contains("this command works on one index, and 2 are given"), "\(stats.err)")
        // The same index twice in the list.
        setenv("QUARRY_INDEX", "\(f.index):\(f.index)", 1)
        #expect(Self.quarry(["search", "--count", "bank"]).status == 2)
        // Empty parts are ignored.
        setenv("QUARRY_INDEX", "\(f.index)::", 1)
        #expect(Self.quarry(["search", "--count", "bank"]).out == "3\n")
    }

    /// Highlights are scalar offsets; the terminal output marks exactly the matched words where letters of two,
    /// three and four bytes come before, inside and between them.
    @Test func colouredHighlightsOverMultiByteText() throws {
        let dir = TemporaryDirectory("colour-utf8")
        let input = dir.file("c.jsonl")
        writeFile(
            input,
            #"{"id":"u1","title":"Grüße","body":"Ein Café — in Zürich 🙂 über ZÜRICH, naïve zürich!"}"# + "\n")
        let index = dir.file("index")
        #expect(CLITests.quarry(["index", "-i", index, "-q", input]).status == 0)
        let run = CLITests.quarry(["search", "-i", index, "--color", "always", "zürich"])
        #expect(run.status == 0, "\(run.err)")
        let on = "\u{1B}[1;31m"
        #expect(run.out.contains("Ein Café — in \(on)Zürich\u{1B}[0m 🙂 über \(on)ZÜRICH\u{1B}[0m, naïve \(on)zürich\u{1B}[0m!"), "\(run.out)")
    }

    @Test func outputsDoNotDependOnNoColor() throws {
        let f = try SearchCommandTests.Fixture()
        let commands: [[String]] = [
            ["--json", "bank"], ["--ids", "bank"], ["--count", "--facet", "year", "bank"],
            ["--color", "never", "bank"],
            ["--json", "--explain", "bank"], ["--facet", "month", "bank"], ["--explain", "ra*"],
            ["--envelope", "--fields", "id,score,snippet,highlights", "bank"],
        ]
        func run(_ arguments: [String]) -> CLITests.Run { f.search(arguments) }
        unsetenv("NO_COLOR")
        let plain = commands.map(run)
        let colored = run(["--color", "always", "bank"])
        setenv("NO_COLOR", "1", 1)
        defer { unsetenv("NO_COLOR") }
        let noColor = commands.map(run)
        for (k, command) in commands.enumerated() {
            #expect(plain[k].status == noColor[k].status, "\(command)")
            let a = command.contains("--envelope") ? plain[k].out.withoutTook : plain[k].out
            let b = command.contains("--envelope") ? noColor[k].out.withoutTook : noColor[k].out
            #expect(a == b, "\(command) changes with NO_COLOR")
            #expect(!a.contains("\u{1B}["), "\(command): no colour when stdout is not a terminal")
        }
        // --color always wins over NO_COLOR.
        #expect(colored.out.contains("\u{1B}[1;31m"))
        #expect(run(["--color", "always", "bank"]).out == colored.out)
    }
}

extension String {
    /// An envelope without its time.
    fileprivate var withoutTook: String {
        guard let r = firstRange(of: "\"took_ms\":") else { return self }
        var end = r.upperBound
        while end < endIndex && self[end] != "," && self[end] != "}" { end = index(after: end) }
        return String(self[..<r.lowerBound]) + String(self[end...])
    }
}
