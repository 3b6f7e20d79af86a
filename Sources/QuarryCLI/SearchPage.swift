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

    /// The query parsed for `schema`, with the date range as a filter. A syntax error is
    /// `QuarryError.invalidQuery(column:)`; a bad date or boost is `.invalidArgument`.
    public func parsed(_ schema: Schema) throws(QuarryError) -> Query {
        var fieldBoosts: [Int: Float] = [:]
        for (name, value) in boosts.sorted(by: { $0.key < $1.key }) {
            guard let ord = schema.textFieldOrd(name), ord == 1 || ord == 2 else {
                throw QuarryError(
                    .invalidArgument,
                    "boost \(name)=\(value): '\(name)' is not a default field (\(schema.titleField) or \(schema.bodyField))")
            }
            fieldBoosts[ord] = value
        }
        var parser = QueryParser(schema: schema, defaultOr: any)
        parser.fieldBoosts = fieldBoosts
        var parsed = try parser.parse(query)
        if from != nil || to != nil {
            var lower: Int64?
            var upper: Int64?
            if let from {
                guard let p = DateParser.parsePeriod(from) else {
                    throw QuarryError(.invalidArgument, "cannot read the from date '\(from)' (dates look like 2024, 2024-03 or 2024-03-15)")
                }
                lower = p.start
            }
            if let to {
                guard let p = DateParser.parsePeriod(to) else {
                    throw QuarryError(.invalidArgument, "cannot read the to date '\(to)' (dates look like 2024, 2024-03 or 2024-03-15)")
                }
                upper = p.end
            }
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

    /// Runs `parameters` with `searcher`: parse, search, the total, facets, snippets.
    public init(_ parameters: SearchParameters, searcher: Searcher, wantSnippets: Bool = true) throws(QuarryError) {
        try parameters.validate()
        self.parameters = parameters
        let reader = searcher.reader
        let schema = reader.schema
        self.schema = schema
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
        let highlight = wantSnippets ? try searcher.highlightTerms(parsed) : []
        var bodySnippets = SnippetGenerator(
            analyzer: schema.analyzer, terms: highlight.filter { $0.field == 2 }.map { ($0.term, $0.idf) },
            maxLength: parameters.snippetLength)
        var titleMarks = SnippetGenerator(
            analyzer: schema.analyzer, terms: highlight.filter { $0.field == 1 }.map { ($0.term, $0.idf) })
        let needsSnippet = wantSnippets && (parameters.wanted("snippet", schema) || parameters.wanted("highlights", schema))
        var hits: [PageHit] = []
        hits.reserveCapacity(result.hits.count)
        for (k, hit) in result.hits.enumerated() {
            let doc = StoredDocument(try fetcher.document(segment: hit.segment, doc: hit.doc))
            let title = doc.text(schema.titleField) ?? ""
            hits.append(
                PageHit(
                    rank: parameters.offset + k + 1,
                    id: doc.text(schema.idField) ?? "",
                    score: parameters.sort == .index ? nil : hit.score,
                    date: reader.segments[hit.segment].date(hit.doc),
                    title: wantSnippets
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
        let p = parameters
        var o = JSONObject()
        if p.wanted("rank", schema) { o.add("rank", hit.rank) }
        if p.wanted("id", schema) { o.add("id", hit.id) }
        if p.wanted("score", schema), let score = hit.score { o.add("score", Double(score), decimals: 6) }
        if p.wanted("date", schema) { o.add("date", hit.date.map { ISODate.format($0) }) }
        if p.wanted("title", schema) { o.add("title", hit.title.text) }
        let snippet = hit.snippet
        if p.wanted("snippet", schema) {
            o.add("snippet", (snippet.truncatedStart ? "…" : "") + snippet.text + (snippet.truncatedEnd ? "…" : ""))
        }
        if p.wanted("highlights", schema) {
            let shift = snippet.truncatedStart ? 1 : 0
            o.add(
                "highlights",
                raw: "["
                    + snippet.highlights.map { "[\($0.lowerBound + shift),\($0.upperBound + shift)]" }.joined(
                        separator: ",") + "]")
        }
        if p.wanted("explanation", schema), let e = hit.explanation {
            o.add("explanation", raw: SearchPage.explanationJSON(e))
        }
        var line = o.text
        // The stored fields, except those already given.
        let reserved: Set<String> = [
            "rank", "id", "score", "date", "title", "snippet", "highlights", "explanation", schema.idField,
        ]
        var extra = ""
        let doc = hit.document
        for m in doc.members where !reserved.contains(m.name) && p.wanted(m.name, schema) {
            extra += "," + quote(m.name) + ":" + String(decoding: doc.json[m.value], as: UTF8.self)
        }
        line.removeLast()
        if line.count == 1 && !extra.isEmpty { extra.removeFirst() }
        line += extra + "}"
        return line
    }

    /// The whole page as one JSON object (`--envelope`, the service's `/search`).
    public func envelopeJSON(tookMilliseconds: Double? = nil, tookMicroseconds: Int? = nil) -> String {
        var o = JSONObject()
        o.add("total", total ?? 0)
        o.add("offset", parameters.offset)
        o.add("limit", parameters.limit)
        if let tookMilliseconds { o.add("took_ms", tookMilliseconds, decimals: 3) }
        if let tookMicroseconds { o.add("took_us", tookMicroseconds) }
        o.add("hits", raw: "[" + hits.map(hitJSON).joined(separator: ",") + "]")
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
