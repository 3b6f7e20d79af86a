// `quarry search`: ranked hits with snippets, JSON Lines, ids, or a count. Exit status as grep: 0 when something
// matched, 1 when nothing did, 2 on an error.

import ArgumentParser
import Quarry

struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search an index: ranked hits with highlighted snippets.",
        discussion: """
            Query syntax: words (all required; --any for one or more), "exact phrase", "sloppy phrase"~2,
            OR, AND, NOT, +word, -word, (groups), title:word, body:"a phrase", date:[1995-01 TO 1995-06],
            date:>=1994-11-09, date:<1995. Dates are UTC periods: a bare year or day as an upper bound includes it.
            Examples:
              quarry search -i news '"interest rates" bank'
              quarry search -i news --from 2024-01-01 --json 'climate change'
            Exit status: 0 something matched, 1 nothing matched, 2 error.
            """)

    @OptionGroup var location: IndexLocation

    @Option(name: [.short, .long], help: "Number of hits to show.")
    var limit: Int = 10

    @Option(name: .long, help: "Hits to skip (for paging).")
    var offset: Int = 0

    @Option(name: .long, parsing: .unconditional, help: "Order: score, date (oldest first) or -date (newest first).")
    var sort: String = "score"

    @Option(name: .long, help: "Only documents dated on or after this date (e.g. 2024, 2024-03, 2024-03-15).")
    var from: String?

    @Option(name: .long, help: "Only documents dated on or before this date (the whole day, month or year).")
    var to: String?

    @Flag(name: .long, help: "One JSON object per hit.")
    var json = false

    @Flag(name: .long, help: "Only the ids of the hits.")
    var ids = false

    @Flag(name: .long, help: "Only the number of matching documents.")
    var count = false

    @Flag(name: .long, help: "Show how each hit's score is computed.")
    var explain = false

    @Flag(name: .long, help: "Match documents with any of the words (OR) instead of all (AND).")
    var any = false

    @Option(name: .long, help: "Colour: auto, always or never.")
    var color: String = "auto"

    @Argument(help: "The query (several arguments are joined with spaces).")
    var query: [String]

    /// The parsed options as a plain request.
    var request: SearchRequest {
        SearchRequest(
            index: location.index, limit: limit, offset: offset, sort: sort, from: from, to: to, json: json, ids: ids,
            count: count, explain: explain, any: any, color: color, query: query)
    }

    func validate() throws { try request.validate() }

    func run() throws { try request.run() }
}

/// What `quarry search` is asked to do. Built by ArgumentParser (`SearchCommand`) or, for the common command
/// lines, by `SearchRequest.parseFast`, which skips ArgumentParser's reflection (about 3 ms of a search's start-up).
struct SearchRequest: Equatable {
    var index: String?
    var limit: Int = 10
    var offset: Int = 0
    var sort: String = "score"
    var from: String?
    var to: String?
    var json = false
    var ids = false
    var count = false
    var explain = false
    var any = false
    var color: String = "auto"
    var query: [String] = []

    func validate() throws {
        if limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if offset < 0 { throw ValidationError("--offset must be 0 or more") }
        if limit > Searcher.maxHits || offset > Searcher.maxHits - limit {
            throw ValidationError("--limit plus --offset may be at most \(Searcher.maxHits) (use --count for the number of matches)")
        }
        if SortOrder(rawValue: sort) == nil { throw ValidationError("--sort must be score, date or -date") }
        if !["auto", "always", "never"].contains(color) { throw ValidationError("--color must be auto, always or never") }
        if ids && (json || count) { throw ValidationError("--ids goes alone: not with --json or --count") }
        if query.isEmpty { throw ValidationError("give a query") }
    }

    func run(exiting: Bool = false) throws {
        let start = Clock.now()
        let directory = try IndexLocation(index: index).resolve()
        let reader = try IndexReader(directory: directory)
        if exiting {
            // Left for the kernel to unmap at exit, all at once.
            keepUntilExit(reader)
        }
        let parsed = try SearchRequest.parseQuery(
            query.joined(separator: " "), schema: reader.schema, any: any, from: from, to: to)
        let searcher = Searcher(reader: reader)
        var out = OutputStream.standardOutput()
        if count {
            let n = try searcher.count(parsed)
            out.line(json ? "{\"count\":\(n)}" : String(n))
            out.flush()
            if n == 0 { throw ExitCode(1) }
            return
        }
        let order = SortOrder(rawValue: sort) ?? .score
        let result = try searcher.search(parsed, limit: limit, offset: offset, sort: order)
        if result.hits.isEmpty {
            if offset > 0 {
                // Past the end of the matches: say how many there are, so that the pager knows where it stands.
                let total = try searcher.count(parsed)
                if total > 0 {
                    printError("no hits at --offset \(offset): the query has \(total) match\(total == 1 ? "" : "es")")
                    throw ExitCode(1)
                }
            }
            if !ids && !json && Terminal.stdoutIsTerminal { printError("no match") }
            throw ExitCode(1)
        }
        let schema = reader.schema
        if ids {
            for hit in result.hits {
                let doc = StoredDocument(try reader.storedDocument(segment: hit.segment, doc: hit.doc))
                out.line(doc.text(schema.idField) ?? "")
            }
            out.flush()
            return
        }
        let useColor =
            color == "always" || (color == "auto" && Terminal.stdoutIsTerminal && !json && !Terminal.noColorRequested)
        // Snippet terms: the query's terms in the body (and title) fields, weighted by idf.
        let positive = parsed.normalized().positiveTerms
        func termsFor(_ ord: Int) -> [([UInt8], Float)] {
            positive.filter { $0.field == ord }.map { ($0.term, searcher.idf(field: ord, term: $0.term)) }
        }
        var bodySnippets = SnippetGenerator(analyzer: schema.analyzer, terms: termsFor(2))
        var titleMarks = SnippetGenerator(analyzer: schema.analyzer, terms: termsFor(1))
        for (rank, hit) in result.hits.enumerated() {
            let stored = try reader.storedDocument(segment: hit.segment, doc: hit.doc)
            let doc = StoredDocument(stored)
            let id = doc.text(schema.idField) ?? ""
            let date = reader.segments[hit.segment].date(hit.doc)
            let title = titleMarks.highlightAll(doc.text(schema.titleField) ?? "")
            let snippet = bodySnippets.snippet(doc.text(schema.bodyField) ?? "")
            if json {
                var o = JSONObject()
                o.add("rank", offset + rank + 1)
                o.add("id", id)
                o.add("score", Double(hit.score), decimals: 6)
                o.add("date", date.map { ISODate.format($0) })
                o.add("title", title.text)
                o.add("snippet", (snippet.truncatedStart ? "…" : "") + snippet.text + (snippet.truncatedEnd ? "…" : ""))
                let shift = snippet.truncatedStart ? 1 : 0
                o.add(
                    "highlights",
                    raw: "[" + snippet.highlights.map { "[\($0.lowerBound + shift),\($0.upperBound + shift)]" }.joined(separator: ",") + "]")
                var line = o.text
                // The stored fields, except those already given.
                let reserved: Set<String> = ["rank", "id", "score", "date", "title", "snippet", "highlights", schema.idField]
                var extra = ""
                for m in doc.members where !reserved.contains(m.name) {
                    extra += "," + quote(m.name) + ":" + String(decoding: doc.json[m.value], as: UTF8.self)
                }
                line.removeLast()
                out.line(line + extra + "}")
            } else {
                let score = Format.fixed(Double(hit.score), 3)
                let day = date.map { ISODate.formatDay($0) } ?? "no date   "
                let head = useColor ? "\u{1B}[33m\(id)\u{1B}[0m" : id
                out.line("\(head)  \(day)  \(score)")
                out.line("  " + render(title, color: useColor, bold: true))
                if !snippet.text.isEmpty {
                    let s = render(snippet, color: useColor, bold: false)
                    out.line("  " + (snippet.truncatedStart ? "…" : "") + s + (snippet.truncatedEnd ? "…" : ""))
                }
                if explain {
                    for l in try searcher.explain(parsed, hit: hit).lines(indent: 2) { out.line(l) }
                }
                out.line()
            }
        }
        out.flush()
        if !json && Terminal.stdoutIsTerminal {
            // The page and the exact number of matches (one more pass over the postings, without scoring).
            let elapsed = Format.fixed((Clock.now() - start) * 1000, 1)
            let total = try searcher.count(parsed)
            printError("hits \(offset + 1)–\(offset + result.hits.count) of \(total) in \(elapsed) ms")
        }
    }

    /// Parses a query as `quarry search` does, with `--from`/`--to` as a date filter. A syntax error is printed
    /// with a caret under its column (exit 2).
    static func parseQuery(_ text: String, schema: Schema, any: Bool, from: String?, to: String?) throws -> Query {
        var parser = QueryParser(schema: schema, defaultOr: any)
        var parsed: Query
        do {
            parsed = try parser.parse(text)
        } catch {
            if case .invalidQuery(let column) = error.code {
                printError("quarry: \(error.message) (column \(column))")
                printError("  " + text)
                printError("  " + String(repeating: " ", count: max(0, column - 1)) + "^")
                throw ExitCode(2)
            }
            throw error
        }
        if from != nil || to != nil {
            var lower: Int64?
            var upper: Int64?
            if let from {
                guard let p = DateParser.parsePeriod(from) else { throw ValidationError("cannot read the date '\(from)' given to --from") }
                lower = p.start
            }
            if let to {
                guard let p = DateParser.parsePeriod(to) else { throw ValidationError("cannot read the date '\(to)' given to --to") }
                upper = p.end
            }
            parsed = .boolean(must: [parsed], should: [], mustNot: [], filter: [.dateRange(lower: lower, upper: upper)])
        }
        return parsed
    }

    /// Parses `search` arguments without ArgumentParser; nil for anything it does not handle plainly (help,
    /// unknown options, malformed values), which then goes through ArgumentParser for its messages.
    static func parseFast(_ arguments: ArraySlice<String>) -> SearchRequest? {
        var r = SearchRequest()
        var i = arguments.startIndex
        var onlyWords = false
        func value() -> String? {
            i += 1
            return i < arguments.endIndex ? arguments[i] : nil
        }
        while i < arguments.endIndex {
            let a = arguments[i]
            if onlyWords || !a.hasPrefix("-") || a == "-" {
                r.query.append(a)
                i += 1
                continue
            }
            switch a {
            case "--": onlyWords = true
            case "-i", "--index": guard let v = value() else { return nil }; r.index = v
            case "-l", "--limit": guard let v = value(), let n = Int(v) else { return nil }; r.limit = n
            case "--offset": guard let v = value(), let n = Int(v) else { return nil }; r.offset = n
            case "--sort": guard let v = value() else { return nil }; r.sort = v
            case "--from": guard let v = value() else { return nil }; r.from = v
            case "--to": guard let v = value() else { return nil }; r.to = v
            case "--color": guard let v = value() else { return nil }; r.color = v
            case "--json": r.json = true
            case "--ids": r.ids = true
            case "--count": r.count = true
            case "--explain": r.explain = true
            case "--any": r.any = true
            default: return nil
            }
            i += 1
        }
        return r
    }

    private func render(_ s: Snippet, color: Bool, bold: Bool) -> String {
        let scalars = Array(s.text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        let on = color ? "\u{1B}[1;31m" : ""
        let off = color ? (bold ? "\u{1B}[0m\u{1B}[1m" : "\u{1B}[0m") : ""
        if bold && color { out.append(contentsOf: "\u{1B}[1m".unicodeScalars) }
        for h in s.highlights {
            if h.lowerBound < i || h.upperBound > scalars.count { continue }
            out.append(contentsOf: scalars[i..<h.lowerBound])
            out.append(contentsOf: on.unicodeScalars)
            out.append(contentsOf: scalars[h])
            out.append(contentsOf: off.unicodeScalars)
            i = h.upperBound
        }
        out.append(contentsOf: scalars[i...])
        if bold && color { out.append(contentsOf: "\u{1B}[0m".unicodeScalars) }
        return String(out)
    }
}
