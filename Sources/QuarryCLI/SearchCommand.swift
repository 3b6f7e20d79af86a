// `quarry search`: ranked hits with snippets, JSON Lines, ids, or a count. Exit status as grep: 0 when something
// matched, 1 when nothing did, 2 on an error.

import ArgumentParser
import Quarry

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search an index: ranked hits with highlighted snippets.",
        discussion: """
            Query syntax (README, "Query syntax"): words (all required; --any for one or more), "exact phrase",
            "sloppy phrase"~2, OR, AND, NOT (or ||, &&, !), +word, -word, (groups), title:word, body:"a phrase",
            prefix*, wild?ca*rds, fuzzy~1, "phrase pref*", word^2 (boost), title:[a TO c] (term range),
            _exists_:title, date:[1995-01 TO 1995-06], date:>=1994-11-09, date:<1995. Dates are UTC periods: a
            bare year or day as an upper bound includes it.
            Examples:
              quarry search -i news '"interest rates" bank'
              quarry search -i news --from 2024-01-01 --json 'climate change'
              quarry search -i news --count --facet year 'y2k*'
              quarry search -i 2023 -i 2024 --envelope --fields id,title,date 'climate'
            Exit status: 0 something matched, 1 nothing matched, 2 error.
            """)

    @OptionGroup var location: IndexLocation

    @Option(name: [.short, .long], help: "Number of hits to show, or 'all'.")
    var limit: String = "10"

    @Option(name: .long, help: "Hits to skip (for paging).")
    var offset: Int = 0

    @Option(
        name: .long, parsing: .unconditional,
        help: "Order: score, date (oldest first), -date (newest first) or index (unscored, fastest for exports).")
    var sort: String = "score"

    @Option(name: .long, help: "Only documents dated on or after this date (e.g. 2024, 2024-03, 2024-03-15).")
    var from: String?

    @Option(name: .long, help: "Only documents dated on or before this date (the whole day, month or year).")
    var to: String?

    @Flag(name: .long, help: "One JSON object per hit (JSON Lines).")
    var json = false

    @Flag(name: .long, help: "One JSON object: total, page, time, hits and facets.")
    var envelope = false

    @Flag(name: .long, help: "Only the ids of the hits.")
    var ids = false

    @Flag(name: .long, help: "Only the number of matching documents.")
    var count = false

    @Flag(name: .long, help: "Show how each hit's score is computed (in JSON: an \"explanation\" object).")
    var explain = false

    @Flag(name: .long, help: "Match documents with any of the words (OR) instead of all (AND).")
    var any = false

    @Option(
        name: .long,
        help: "The keys of each JSON hit, comma-separated: rank, id, score, date, title, snippet, highlights, explanation, or a stored field.")
    var fields: String?

    @Flag(name: .long, help: "Leave the body out of JSON hits.")
    var noBody = false

    @Option(name: .long, help: "The longest snippet, in bytes.")
    var snippetLength: Int = 200

    @Option(name: .long, help: "Count the matches per year, month or day of their date.")
    var facet: String?

    @Option(name: .long, help: "Boost a default field for unqualified words: --boost title=2 (repeatable).")
    var boost: [String] = []

    @Option(name: .long, help: "Colour: auto, always or never.")
    var color: String = "auto"

    @Argument(help: "The query (several arguments are joined with spaces).")
    var query: [String]

    /// The parsed options as a plain request.
    var request: SearchRequest {
        SearchRequest(
            indexes: location.index, limit: limit, offset: offset, sort: sort, from: from, to: to, json: json,
            envelope: envelope, ids: ids, count: count, explain: explain, any: any, fields: fields, noBody: noBody,
            snippetLength: snippetLength, facet: facet, boosts: boost, color: color, query: query)
    }

    func validate() throws { try request.validate() }

    func run() throws { try request.run() }
}

/// What `quarry search` is asked to do. Built by ArgumentParser (`SearchCommand`) or, for the common command
/// lines, by `SearchRequest.parseFast`, which skips ArgumentParser's reflection (about 3 ms of a search's start-up).
struct SearchRequest: Equatable {
    var indexes: [String] = []
    var limit: String = "10"
    var offset: Int = 0
    var sort: String = "score"
    var from: String?
    var to: String?
    var json = false
    var envelope = false
    var ids = false
    var count = false
    var explain = false
    var any = false
    var fields: String?
    var noBody = false
    var snippetLength = 200
    var facet: String?
    var boosts: [String] = []
    var color: String = "auto"
    var query: [String] = []

    /// The number of hits asked for (`all`: as many as a search may return).
    var hitLimit: Int? {
        if limit == "all" { return Searcher.maxHits - min(max(offset, 0), Searcher.maxHits) }
        return Int(limit)
    }

    func validate() throws {
        guard let hitLimit, hitLimit >= 0 else { throw ValidationError("--limit must be a number, 0 or more, or 'all'") }
        if offset < 0 { throw ValidationError("--offset must be 0 or more") }
        if hitLimit > Searcher.maxHits || offset > Searcher.maxHits - hitLimit {
            throw ValidationError("--limit plus --offset may be at most \(Searcher.maxHits) (use --count for the number of matches)")
        }
        if SortOrder(rawValue: sort) == nil { throw ValidationError("--sort must be score, date, -date or index") }
        if !["auto", "always", "never"].contains(color) { throw ValidationError("--color must be auto, always or never") }
        if ids && (json || count || envelope) { throw ValidationError("--ids goes alone: not with --json, --envelope or --count") }
        if json && envelope { throw ValidationError("--json and --envelope are two output forms: choose one") }
        if snippetLength < 10 || snippetLength > 100_000 { throw ValidationError("--snippet-length must be 10 to 100000") }
        if let facet, DatePeriod(rawValue: facet) == nil {
            throw ValidationError("--facet must be year, month or day")
        }
        for b in boosts where SearchRequest.parseBoost(b) == nil {
            throw ValidationError("--boost takes FIELD=NUMBER, e.g. --boost title=2 (a number from 0 to 1000000)")
        }
        if query.isEmpty { throw ValidationError("give a query") }
    }

    /// `title=2` -> ("title", 2).
    static func parseBoost(_ text: String) -> (field: String, boost: Float)? {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, let b = Float(parts[1]), b.isFinite, b >= 0, b <= 1_000_000 else {
            return nil
        }
        return (parts[0], b)
    }

    /// The options as engine parameters (after `validate`).
    func parameters(showTotal: Bool) -> SearchParameters {
        var p = SearchParameters(query: query.joined(separator: " "))
        p.limit = hitLimit ?? 10
        p.offset = offset
        p.sort = SortOrder(rawValue: sort) ?? .score
        p.from = from
        p.to = to
        p.any = any
        p.fields = fields.map { Set($0.split(separator: ",").map { String($0.filter { $0 != " " }) }) }
        p.noBody = noBody
        p.explain = explain
        p.snippetLength = snippetLength
        p.facet = facet.flatMap(DatePeriod.init(rawValue:))
        for b in boosts {
            if let (name, value) = SearchRequest.parseBoost(b) { p.boosts[name] = value }
        }
        p.total = showTotal
        return p
    }

    func run(exiting: Bool = false) throws {
        let start = Clock.now()
        let reader = try IndexLocation(indexes: indexes).openReader()
        if exiting {
            // Left for the kernel to unmap at exit, all at once.
            keepUntilExit(reader)
        }
        let text = query.joined(separator: " ")
        let searcher = Searcher(reader: reader)
        var out = OutputStream.standardOutput()
        let showFooter = !json && !envelope && !ids && !count && Terminal.stdoutIsTerminal
        var parameters = self.parameters(showTotal: envelope || showFooter)
        let period = parameters.facet
        if count {
            // Only the number (and the facets, whose pass counts every match too).
            let parsed = try SearchRequest.reportingColumn(text) { try parameters.parsed(reader.schema) }
            let facets = try period.map { p in try SearchRequest.reportingColumn(text) { try searcher.dateFacets(parsed, by: p) } }
            let n = try facets?.total ?? SearchRequest.reportingColumn(text) { try searcher.count(parsed) }
            if json || envelope {
                var o = JSONObject()
                o.add("count", n)
                if let facets, let period { o.add("facets", raw: SearchPage.facetsJSON(facets, period)) }
                out.line(o.text)
            } else {
                out.line(String(n))
                if let facets, let period { SearchRequest.printFacets(facets, period, into: &out) }
            }
            out.flush()
            if n == 0 { throw ExitCode(1) }
            return
        }
        if ids { parameters.fields = ["id"] }
        let page = try SearchRequest.reportingColumn(text) {
            try SearchPage(parameters, searcher: searcher, wantSnippets: !ids)
        }
        let offset = parameters.offset
        let hitLimit = parameters.limit
        var total = page.total
        if page.hits.isEmpty && total == nil && (offset > 0 || hitLimit == 0) {
            total = try searcher.count(page.query)
        }
        if page.hits.isEmpty && !envelope {
            if offset > 0, let total, total > 0 {
                // Past the end of the matches: say how many there are, so that the pager knows where it stands.
                printError("no hits at --offset \(offset): the query has \(total) match\(total == 1 ? "" : "es")")
                throw ExitCode(1)
            }
            if let facets = page.facets, let period, facets.total > 0 {
                if json {
                    out.line("{\"facets\":" + SearchPage.facetsJSON(facets, period) + "}")
                } else {
                    SearchRequest.printFacets(facets, period, into: &out)
                }
                out.flush()
                return
            }
            if hitLimit == 0, let total, total > 0 {
                // Nothing asked for, something matched.
                if showFooter { printError("\(total) match\(total == 1 ? "" : "es") (--limit 0)") }
                return
            }
            if !ids && !json && Terminal.stdoutIsTerminal { printError("no match") }
            throw ExitCode(1)
        }
        if ids {
            for hit in page.hits { out.line(hit.id) }
            out.flush()
            return
        }
        let useColor =
            color == "always"
            || (color == "auto" && Terminal.stdoutIsTerminal && !json && !envelope && !Terminal.noColorRequested)
        if envelope {
            out.line(page.envelopeJSON(tookMilliseconds: (Clock.now() - start) * 1000))
            out.flush()
            if (page.total ?? 0) == 0 { throw ExitCode(1) }  // as grep: nothing matched
            return
        }
        for hit in page.hits {
            if json {
                out.line(page.hitJSON(hit))
                continue
            }
            let score = hit.score.map { Format.fixed(Double($0), 3) } ?? ""
            let day = hit.date.map { ISODate.formatDay($0) } ?? "no date   "
            let head = useColor ? "\u{1B}[33m\(hit.id)\u{1B}[0m" : hit.id
            out.line("\(head)  \(day)  \(score)")
            out.line("  " + render(hit.title, color: useColor, bold: true))
            let snippet = hit.snippet
            if !snippet.text.isEmpty {
                let s = render(snippet, color: useColor, bold: false)
                out.line("  " + (snippet.truncatedStart ? "…" : "") + s + (snippet.truncatedEnd ? "…" : ""))
            }
            if let e = hit.explanation {
                for l in e.lines(indent: 2) { out.line(l) }
            }
            out.line()
        }
        let elapsed = (Clock.now() - start) * 1000
        if let facets = page.facets, let period {
            if json {
                out.line("{\"facets\":" + SearchPage.facetsJSON(facets, period) + "}")
            } else {
                SearchRequest.printFacets(facets, period, into: &out)
            }
        }
        out.flush()
        if showFooter, let total {
            // The page and the exact number of matches.
            printError("hits \(offset + 1)–\(offset + page.hits.count) of \(total) in \(Format.fixed(elapsed, 1)) ms")
        }
    }

    /// Runs `body`; an error about the query (an expansion past its limit) is printed with a caret under its
    /// column, as a syntax error is (exit 2).
    static func reportingColumn<T>(_ text: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as QuarryError {
            if case .invalidQuery(let column) = error.code {
                printQueryError(error.message, column: column, text: text)
                throw ExitCode(2)
            }
            throw error
        }
    }

    static func printQueryError(_ message: String, column: Int, text: String) {
        printError("quarry: \(message) (column \(column))")
        printError("  " + text)
        printError("  " + String(repeating: " ", count: max(0, column - 1)) + "^")
    }

    /// A table of counts with a bar per value.
    static func printFacets(_ f: FacetCounts, _ period: DatePeriod, into out: inout OutputStream) {
        var rows = f.counts.map { ($0.value, $0.count) }
        if f.missing > 0 { rows.append(("no date", f.missing)) }
        let widest = max(period.rawValue.count, rows.map { $0.0.count }.max() ?? 0)
        let numbers = rows.map { Format.grouped($0.1) }
        let numberWidth = max(7, numbers.map(\.count).max() ?? 0)
        let peak = max(rows.map { $0.1 }.max() ?? 1, 1)
        out.line()
        out.line(Format.padRight(period.rawValue, widest) + "  " + Format.padLeft("matches", numberWidth))
        for (k, row) in rows.enumerated() {
            let width = Int((Double(row.1) / Double(peak) * 40).rounded(.up))
            out.line(
                Format.padRight(row.0, widest) + "  " + Format.padLeft(numbers[k], numberWidth) + "  "
                    + String(repeating: "█", count: width))
        }
    }

    /// Parses a query as `quarry search` does, with `--from`/`--to` as a date filter. A syntax error is printed
    /// with a caret under its column (exit 2).
    static func parseQuery(_ text: String, schema: Schema, any: Bool, from: String?, to: String?) throws -> Query {
        var p = SearchParameters(query: text)
        p.any = any
        p.from = from
        p.to = to
        return try reportingColumn(text) { try p.parsed(schema) }
    }

    /// Parses `search` arguments without ArgumentParser; nil for anything it does not handle plainly (help,
    /// unknown options, malformed values), which then goes through ArgumentParser for its messages.
    static func parseFast(_ arguments: ArraySlice<String>) -> SearchRequest? {
        var r = SearchRequest()
        let plain = walkPlainArguments(arguments, word: { r.query.append($0) }) { a, value in
            switch a {
            case "-i", "--index": guard let v = value() else { return false }; r.indexes.append(v)
            case "-l", "--limit": guard let v = value() else { return false }; r.limit = v
            case "--offset": guard let v = value(), let n = Int(v) else { return false }; r.offset = n
            case "--sort": guard let v = value() else { return false }; r.sort = v
            case "--from": guard let v = value() else { return false }; r.from = v
            case "--to": guard let v = value() else { return false }; r.to = v
            case "--color": guard let v = value() else { return false }; r.color = v
            case "--fields": guard let v = value() else { return false }; r.fields = v
            case "--facet": guard let v = value() else { return false }; r.facet = v
            case "--boost": guard let v = value() else { return false }; r.boosts.append(v)
            case "--snippet-length": guard let v = value(), let n = Int(v) else { return false }; r.snippetLength = n
            case "--json": r.json = true
            case "--envelope": r.envelope = true
            case "--no-body": r.noBody = true
            case "--ids": r.ids = true
            case "--count": r.count = true
            case "--explain": r.explain = true
            case "--any": r.any = true
            default: return false
            }
            return true
        }
        return plain ? r : nil
    }

    private func render(_ s: Snippet, color: Bool, bold: Bool) -> String {
        // In UTF-8 bytes: highlights are scalar offsets, found by counting the bytes that start a scalar.
        let text = Array(s.text.utf8)
        let scalarCount = text.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        var out: [UInt8] = []
        out.reserveCapacity(text.count + 24 * s.highlights.count + 8)
        let on = color ? Array("\u{1B}[1;31m".utf8) : []
        let off = color ? Array((bold ? "\u{1B}[0m\u{1B}[1m" : "\u{1B}[0m").utf8) : []
        var scalar = 0
        var byte = 0
        /// The byte offset of scalar `k` (>= the last asked for).
        func offset(of k: Int) -> Int {
            while scalar < k && byte < text.count {
                byte += 1
                while byte < text.count && text[byte] & 0xC0 == 0x80 { byte += 1 }
                scalar += 1
            }
            return byte
        }
        if bold && color { out.append(contentsOf: "\u{1B}[1m".utf8) }
        var i = 0
        var from = 0
        for h in s.highlights {
            if h.lowerBound < i || h.upperBound > scalarCount { continue }
            let lower = offset(of: h.lowerBound)
            out.append(contentsOf: text[from..<lower])
            out.append(contentsOf: on)
            let upper = offset(of: h.upperBound)
            out.append(contentsOf: text[lower..<upper])
            out.append(contentsOf: off)
            i = h.upperBound
            from = upper
        }
        out.append(contentsOf: text[from...])
        if bold && color { out.append(contentsOf: "\u{1B}[0m".utf8) }
        return String(decoding: out, as: UTF8.self)
    }
}
