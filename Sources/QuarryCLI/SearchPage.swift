// One page of search results, computed once and rendered by every front end: `quarry search --json/--envelope`
// and `quarry serve` (JSON and the HTML page) share this code, so that they answer alike.
//
//     SearchParameters --(parse, bind, search, count, facets)--> SearchPage --(hitJSON / envelopeJSON)--> text

import Quarry

/// What a search asks for, independent of where it comes from (command-line options, URL parameters).
public struct SearchParameters: Sendable, Equatable {
    public var query: String
    public var limit = 10
    public var offset = 0
    public var sort: SortOrder = .score
    /// `--from` / `--to`: dates as `quarry search` reads them (2024, 2024-03, 2024-03-15, ...).
    public var from: String?
    public var to: String?
    /// OR instead of AND between words.
    public var any = false
    /// The keys of each JSON hit (nil: all but the explanation, and the body unless `noBody` is false).
    public var fields: Set<String>?
    public var noBody = false
    public var explain = false
    public var snippetLength = 200
    public var facet: DatePeriod?
    /// Boosts of the default fields for unqualified words, by field name (`--boost title=2`).
    public var boosts: [String: Float] = [:]
    /// Compute the exact number of matches (one more pass without scoring).
    public var total = true

    public init(query: String) { self.query = query }

    /// Checks the bounds `quarry search` checks; the message names the parameter.
    public func validate() throws(QuarryError) {
        if limit < 0 { throw QuarryError(.invalidArgument, "limit must be 0 or more") }
        if offset < 0 { throw QuarryError(.invalidArgument, "offset must be 0 or more") }
        if limit > Searcher.maxHits || offset > Searcher.maxHits - limit {
            throw QuarryError(.invalidArgument, "limit plus offset may be at most \(Searcher.maxHits)")
        }
        if snippetLength < 10 || snippetLength > 100_000 {
            throw QuarryError(.invalidArgument, "snippet length must be 10 to 100000")
        }
        if query.isEmpty { throw QuarryError(.invalidArgument, "give a query") }
    }

    /// A `from` or `to` date as the period it names.
    static func period(_ text: String, _ name: String) throws(QuarryError) -> (start: Int64, end: Int64) {
        guard let p = DateParser.parsePeriod(text) else {
            throw QuarryError(
                .invalidArgument, "cannot read the \(name) date '\(text)' (dates look like 2024, 2024-03 or 2024-03-15)")
        }
        return (p.start, p.end)
    }

    /// The query parsed for `schema`, with the date range as a filter. A syntax error is
    /// `QuarryError.invalidQuery(column:)`; a bad date or boost is `.invalidArgument`.
    public func parsed(_ schema: Schema) throws(QuarryError) -> Query {
        var fieldBoosts: [Int: Float] = [:]
        for (name, value) in boosts.sorted(by: { $0.key < $1.key }) {
            guard let ord = schema.textFieldOrd(name), ord == 1 || ord == 2 else {
                throw QuarryError(
                    .invalidArgument,
                    "boost \(name)=\(value): '\(name)' is not a default field (\(schema.titleField) or \(schema.bodyField))"
                )
            }
            fieldBoosts[ord] = value
        }
        var parser = QueryParser(schema: schema, defaultOr: any)
        parser.fieldBoosts = fieldBoosts
        var parsed = try parser.parse(query)
        if from != nil || to != nil {
            let lower = try from.map { text throws(QuarryError) in try SearchParameters.period(text, "from").start }
            let upper = try to.map { text throws(QuarryError) in try SearchParameters.period(text, "to").end }
            parsed = .boolean(must: [parsed], should: [], mustNot: [], filter: [.dateRange(lower: lower, upper: upper)])
        }
        return parsed
    }
}

/// One hit, fetched and rendered: what a front end shows.
public struct PageHit: Sendable {
    public var rank: Int
    public var id: String
    /// nil when sorted in index order (unscored).
    public var score: Float?
    public var date: Int64?
    /// The title with the query's words marked.
    public var title: Snippet
    /// The best passage of the body with the query's words marked (empty when not asked for).
    public var snippet: Snippet
    /// The stored document.
    public var document: StoredDocument
    public var explanation: Explanation?
}

/// A page of results.
public struct SearchPage: Sendable {
    public var parameters: SearchParameters
    /// The exact number of matching documents (nil when not computed).
    public var total: Int?
    public var hits: [PageHit]
    public var facets: FacetCounts?
    public var schema: Schema
    /// The query as parsed (with the date range).
    public var query: Query
    /// Which keys a JSON hit carries (decided once for the page).
    let keys: JSONKeys

    /// Runs `parameters` with `searcher`: parse, search, the total, facets, snippets.
    public init(_ parameters: SearchParameters, searcher: Searcher, wantSnippets: Bool = true) throws(QuarryError) {
        try parameters.validate()
        self.parameters = parameters
        let reader = searcher.reader
        let schema = reader.schema
        self.schema = schema
        self.keys = JSONKeys(parameters, schema)
        let parsed = try parameters.parsed(schema)
        self.query = parsed
        let facets = try parameters.facet.map { p throws(QuarryError) in try searcher.dateFacets(parsed, by: p) }
        self.facets = facets
        let result = try searcher.search(
            parsed, limit: parameters.limit, offset: parameters.offset, sort: parameters.sort)
        if let facets {
            total = facets.total
        } else if parameters.total {
            total = try searcher.count(parsed)
        }
        let fetcher = DocumentFetcher(reader)
        // The words to mark, only if a title or snippet is shown (finding them re-expands patterns).
        let marking =
            wantSnippets
            && (parameters.wanted("title", schema) || parameters.wanted("snippet", schema)
                || parameters.wanted("highlights", schema))
        let highlight = marking ? try searcher.highlightTerms(parsed) : []
        var bodySnippets = SnippetGenerator(
            analyzer: schema.analyzer, terms: highlight.filter { $0.field == 2 }.map { ($0.term, $0.idf) },
            maxLength: parameters.snippetLength)
        var titleMarks = SnippetGenerator(
            analyzer: schema.analyzer, terms: highlight.filter { $0.field == 1 }.map { ($0.term, $0.idf) })
        let needsSnippet =
            wantSnippets && (parameters.wanted("snippet", schema) || parameters.wanted("highlights", schema))
        let needsDocument =
            parameters.fields.map { !$0.isSubset(of: ["rank", "score", "date", "explanation"]) } ?? true
        let noDocument = StoredDocument(Array("{}".utf8))
        var hits: [PageHit] = []
        hits.reserveCapacity(result.hits.count)
        for (k, hit) in result.hits.enumerated() {
            // The stored document (a store block read and decompressed), unless only rank, score, date or the
            // explanation is asked for.
            let doc =
                needsDocument ? StoredDocument(try fetcher.document(segment: hit.segment, doc: hit.doc)) : noDocument
            let title = doc.text(schema.titleField) ?? ""
            hits.append(
                PageHit(
                    rank: parameters.offset + k + 1,
                    id: doc.text(schema.idField) ?? "",
                    score: parameters.sort == .index ? nil : hit.score,
                    date: reader.segments[hit.segment].date(hit.doc),
                    title: marking
                        ? titleMarks.highlightAll(title)
                        : Snippet(text: title, highlights: [], truncatedStart: false, truncatedEnd: false),
                    snippet: needsSnippet ? bodySnippets.snippet(doc.text(schema.bodyField) ?? "") : .empty,
                    document: doc,
                    explanation: parameters.wanted("explanation", schema) && parameters.sort != .index
                        ? try searcher.explain(parsed, hit: hit) : nil))
        }
        self.hits = hits
    }

    /// One hit as a JSON object (the `--json` line): the keys asked for, then the other stored fields.
    public func hitJSON(_ hit: PageHit) -> String {
        var line = ""
        hitJSON(hit, into: &line, keys: keys)
        return line
    }

    /// Which keys a hit carries, decided once per page.
    struct JSONKeys {
        var rank, id, score, date, title, snippet, highlights, explanation: Bool
        /// Stored fields given under their own key (or not at all).
        let reserved: Set<String>

        init(_ p: SearchParameters, _ schema: Schema) {
            rank = p.wanted("rank", schema)
            id = p.wanted("id", schema)
            score = p.wanted("score", schema)
            date = p.wanted("date", schema)
            title = p.wanted("title", schema)
            snippet = p.wanted("snippet", schema)
            highlights = p.wanted("highlights", schema)
            explanation = p.wanted("explanation", schema)
            reserved = ["rank", "id", "score", "date", "title", "snippet", "highlights", "explanation", schema.idField]
        }
    }

    func hitJSON(_ hit: PageHit, into out: inout String, keys k: JSONKeys) {
        let start = out.utf8.count
        out += "{"
        func key(_ name: String) {
            if out.utf8.count > start + 1 { out += "," }
            out += name
        }
        if k.rank {
            key("\"rank\":")
            out += String(hit.rank)
        }
        if k.id {
            key("\"id\":")
            out += quote(hit.id)
        }
        if k.score, let score = hit.score {
            key("\"score\":")
            out += Format.fixed(Double(score), 6)
        }
        if k.date {
            key("\"date\":")
            out += hit.date.map { quote(ISODate.format($0)) } ?? "null"
        }
        if k.title {
            key("\"title\":")
            out += quote(hit.title.text)
        }
        let snippet = hit.snippet
        if k.snippet {
            key("\"snippet\":")
            out += quote((snippet.truncatedStart ? "…" : "") + snippet.text + (snippet.truncatedEnd ? "…" : ""))
        }
        if k.highlights {
            let shift = snippet.truncatedStart ? 1 : 0
            key("\"highlights\":[")
            for (n, h) in snippet.highlights.enumerated() {
                if n > 0 { out += "," }
                out += "[\(h.lowerBound + shift),\(h.upperBound + shift)]"
            }
            out += "]"
        }
        if k.explanation, let e = hit.explanation {
            key("\"explanation\":")
            out += SearchPage.explanationJSON(e)
        }
        // The stored fields, except those already given.
        let doc = hit.document
        for m in doc.members where !k.reserved.contains(m.name) && parameters.wanted(m.name, schema) {
            key(quote(m.name) + ":")
            out += String(decoding: doc.json[m.value], as: UTF8.self)
        }
        out += "}"
    }

    /// The whole page as one JSON object (`--envelope`, the service's `/search`).
    public func envelopeJSON(tookMilliseconds: Double? = nil, tookMicroseconds: Int? = nil) -> String {
        var o = JSONObject()
        o.add("total", total ?? 0)
        o.add("offset", parameters.offset)
        o.add("limit", parameters.limit)
        if let tookMilliseconds { o.add("took_ms", tookMilliseconds, decimals: 3) }
        if let tookMicroseconds { o.add("took_us", tookMicroseconds) }
        var list = "["
        for (n, hit) in hits.enumerated() {
            if n > 0 { list += "," }
            hitJSON(hit, into: &list, keys: keys)
        }
        o.add("hits", raw: list + "]")
        if let facets, let period = parameters.facet { o.add("facets", raw: SearchPage.facetsJSON(facets, period)) }
        return o.text
    }

    /// `{"year":[{"value":"1995","count":3},...],"missing":0}` (missing: matches without a date).
    public static func facetsJSON(_ f: FacetCounts, _ period: DatePeriod) -> String {
        let items = f.counts.map { "{\"value\":\(quote($0.value)),\"count\":\($0.count)}" }
        return "{\(quote(period.rawValue)):[\(items.joined(separator: ","))],\"missing\":\(f.missing)}"
    }

    /// An explanation as JSON: {"score":..,"description":..,"details":[..]}.
    public static func explanationJSON(_ e: Explanation) -> String {
        var o = JSONObject()
        o.add("score", Double(e.score), decimals: 6)
        o.add("description", e.description)
        o.add("details", raw: "[" + e.details.map(explanationJSON).joined(separator: ",") + "]")
        return o.text
    }
}

extension SearchParameters {
    /// Whether a JSON hit carries `key`.
    func wanted(_ key: String, _ schema: Schema) -> Bool {
        if let fields { return fields.contains(key) }
        if key == "explanation" { return explain }
        if noBody && key == schema.bodyField { return false }
        return true
    }
}
