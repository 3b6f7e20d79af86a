// Running a query over an index: bind it to the index's global statistics (the weight), build a scorer per
// segment, and collect the top hits (or count the matches) over all segments.
//
//     Query --(normalized, terms looked up in every segment, idf from global doc counts)--> Weight
//     Weight --(per segment)--> Scorer tree --(TopKCollector, threshold fed back)--> hits
//
// N, n and average lengths are taken over the whole index, so a document's score does not depend on how the
// index is split into segments.

/// How to order results.
public enum SortOrder: String, Sendable {
    /// Best BM25 score first.
    case score
    /// Oldest first.
    case date
    /// Newest first.
    case dateDescending = "-date"
}

/// The result of a search.
public struct SearchResult: Sendable {
    /// The hits after `offset`, best first.
    public var hits: [Hit]
}

/// Searches an open index. Thread-safe: any number of threads may search at once.
public final class Searcher: @unchecked Sendable {
    public let reader: IndexReader

    /// The most hits one search returns (limit plus offset): the collector's memory is bounded by it.
    public static let maxHits = 10_000_000

    public init(reader: IndexReader) {
        self.reader = reader
    }

    // MARK: Binding

    /// Binds `query` to the index: one `Weight` type per query kind (Weights/).
    func bind(_ query: Query) throws(QuarryError) -> any Weight {
        switch query {
        case .none:
            return EmptyWeight()
        case .dateRange(let lo, let hi):
            return DateRangeWeight(lower: lo, upper: hi)
        case .term(let field, let term):
            let (infos, df) = try lookup(field, term)
            let w = FieldWeight(
                idf: BM25.idf(docFreq: df, docCount: reader.statisticsDocumentCount),
                avgLength: reader.averageLength(field))
            return TermWeight(field: field, term: term, weight: w, infos: infos, docFreq: df)
        case .phrase(let field, let terms, let offsets, let slop):
            var all: [[TermInfo?]] = []
            var idf: Float = 0
            for t in terms {
                let (infos, df) = try lookup(field, t)
                all.append(infos)
                idf += BM25.idf(docFreq: df, docCount: reader.statisticsDocumentCount)
            }
            let w = FieldWeight(idf: idf, avgLength: reader.averageLength(field))
            return PhraseWeight(field: field, terms: terms, offsets: offsets, slop: slop, weight: w, infos: all)
        case .boolean(let must, let should, let mustNot, let filter):
            var m: [any Weight] = []
            for q in must { m.append(try bind(q)) }
            var s: [any Weight] = []
            for q in should { s.append(try bind(q)) }
            var n: [any Weight] = []
            for q in mustNot { n.append(try bind(q)) }
            var f: [any Weight] = []
            for q in filter { f.append(try bind(q)) }
            return BooleanWeight(must: m, should: s, mustNot: n, filter: f)
        }
    }

    /// The term's entry in every segment and its document frequency over the index.
    private func lookup(_ field: Int, _ term: [UInt8]) throws(QuarryError) -> ([TermInfo?], Int) {
        var infos: [TermInfo?] = []
        var df = 0
        for s in reader.segments {
            let info = try s.terms.lookup(field, term)
            infos.append(info)
            df += Int(info?.docFreq ?? 0)
        }
        return (infos, df)
    }

    /// The error for damaged postings met in segment `s`.
    func damaged(segment s: Int) -> QuarryError {
        // A file truncated under the open map reads as zeros, which fail the checks: say what really happened.
        do {
            try reader.segments[s].checkIntact()
        } catch {
            return error
        }
        return QuarryError.corrupt(
            reader.segments[s].info.path(.postings, in: reader.directory),
            "postings or positions failed a check during the search")
    }

    // MARK: Searching

    /// The best `limit` hits after the first `offset`.
    /// - Parameter exhaustive: score every match (no pruning); for tests and measurements.
    public func search(
        _ query: Query, limit: Int, offset: Int = 0, sort: SortOrder = .score, exhaustive: Bool = false
    ) throws(QuarryError) -> SearchResult {
        let weight = try bind(query.normalized())
        return try search(weight, limit: limit, offset: offset, sort: sort, exhaustive: exhaustive)
    }

    func search(_ weight: any Weight, limit: Int, offset: Int, sort: SortOrder, exhaustive: Bool) throws(QuarryError)
        -> SearchResult
    {
        let k = min(max(0, limit), Searcher.maxHits) + min(max(0, offset), Searcher.maxHits)
        var collector = TopKCollector(k: k, byDate: sort != .score, descending: sort == .dateDescending)
        for s in reader.segments.indices {
            guard let scorer = weight.scorer(self, segment: s, scoring: true) else { continue }
            let deletes = reader.segments[s].deletes
            if sort == .score {
                collectByScore(scorer, segment: s, deletes: deletes, into: &collector, exhaustive: exhaustive)
            } else {
                let dates = reader.segments[s].dates
                var d = scorer.doc
                while d != terminated {
                    if !(deletes?.contains(Int(d)) ?? false) {
                        _ = collector.offer(
                            Hit(segment: s, doc: Int(d), score: scorer.score(), date: dates.date(Int(d))))
                    }
                    d = scorer.next()
                }
            }
            if scorer.corrupted { throw damaged(segment: s) }
        }
        try reader.checkIntact()
        let hits = Array(collector.sorted().dropFirst(max(0, offset)))
        return SearchResult(hits: hits)
    }

    /// Deleted documents are dropped here, as they come (Lucene's live docs in the collector loop): the scorers'
    /// bounds stay upper bounds, and the threshold only ever comes from live documents, so pruning stays exact.
    private func collectByScore(
        _ scorer: any Scorer, segment s: Int, deletes: DeletedDocuments?, into collector: inout TopKCollector,
        exhaustive: Bool
    ) {
        var threshold = collector.threshold
        if !exhaustive && threshold > -.infinity { scorer.setMinCompetitiveScore(threshold) }
        var d = scorer.doc
        while d != terminated {
            if let deletes, deletes.contains(Int(d)) {
                d = scorer.next()
                continue
            }
            let score = scorer.score()
            if score > threshold || !collector.isFull {
                if collector.offer(Hit(segment: s, doc: Int(d), score: score)) {
                    let t = collector.threshold
                    if t != threshold {
                        threshold = t
                        if !exhaustive { scorer.setMinCompetitiveScore(t) }
                    }
                }
            }
            d = scorer.next()
        }
    }

    /// The exact number of matching live documents (no scoring).
    public func count(_ query: Query) throws(QuarryError) -> Int {
        let weight = try bind(query.normalized())
        return try count(weight)
    }

    func count(_ weight: any Weight) throws(QuarryError) -> Int {
        var total = 0
        for s in reader.segments.indices { total += try weight.count(self, segment: s) }
        try reader.checkIntact()
        return total
    }
}

extension Searcher {
    /// Every live document matching `query`, segment by segment, in document order (no scoring): for deletes by
    /// query.
    public func forEachMatch(_ query: Query, _ body: (_ segment: Int, _ doc: Int) throws(QuarryError) -> Void)
        throws(QuarryError)
    {
        let weight = try bind(query.normalized())
        for s in reader.segments.indices {
            guard let scorer = weight.scorer(self, segment: s, scoring: false) else { continue }
            let segment = reader.segments[s]
            var d = scorer.doc
            while d != terminated {
                if !segment.isDeleted(Int(d)) { try body(s, Int(d)) }
                d = scorer.next()
            }
            if scorer.corrupted { throw damaged(segment: s) }
        }
        try reader.checkIntact()
    }

    /// The idf of a term in a field over the whole index.
    public func idf(field: Int, term: [UInt8]) -> Float {
        var df = 0
        for s in reader.segments {
            if let info = try? s.terms.lookup(field, term) {
                df += Int(info.docFreq)
            }
        }
        return BM25.idf(docFreq: df, docCount: reader.statisticsDocumentCount)
    }
}

extension SegmentReader {
    /// The date of a document, if it has one.
    public func date(_ doc: Int) -> Int64? { dates.date(doc) }
}
