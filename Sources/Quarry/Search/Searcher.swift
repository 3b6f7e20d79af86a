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
    /// The index's own order, unscored: the fastest way to export every match.
    case index
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

    /// The longest a search, count or facet pass may run (nil: no limit): past it, the search throws
    /// `QuarryError.timedOut` (a service answers 503 rather than keeping a core busy). Checked every 4,096
    /// collected documents and between segments, so the overrun is a few milliseconds at most.
    public let timeBudget: Duration?

    public init(reader: IndexReader, timeBudget: Duration? = nil) {
        self.reader = reader
        self.timeBudget = timeBudget
    }

    /// When the current operation must end (from `timeBudget`), or nil.
    func deadline() -> ContinuousClock.Instant? {
        timeBudget.map { ContinuousClock.now + $0 }
    }

    /// Throws if `deadline` has passed.
    func checkDeadline(_ deadline: ContinuousClock.Instant?) throws(QuarryError) {
        guard let deadline, ContinuousClock.now >= deadline, let budget = timeBudget else { return }
        let ms = budget.components.seconds * 1000 + budget.components.attoseconds / 1_000_000_000_000_000
        throw QuarryError(
            .timedOut, "the query ran past its time budget of \(ms) ms; narrow it (more words, a date range)")
    }

    // MARK: Binding

    /// Binds `query` to the index: one `Weight` type per query kind (Weights/). A boost multiplies the scores of
    /// the leaves under it (filters and exclusions score nothing, so it does not reach them).
    func bind(_ query: Query) throws(QuarryError) -> any Weight {
        var budget = BindBudget(deadline: deadline())
        return try bind(query, boost: 1, budget: &budget)
    }

    /// What one query may expand to in all, over all its patterns (Lucene's maxClauseCount is counted over the
    /// whole query the same way): each pattern has its own limit, and without a total a thousand `ab~2` words would
    /// each expand to their limit.
    struct BindBudget {
        /// Scoring terms from fuzzy words and phrase prefixes (each one a scorer of its own).
        static let maxScoringTerms = 4_096
        /// Terms matched by prefixes, wildcards and ranges (unioned into one bitset each).
        static let maxMatchingTerms = 262_144
        var scoringTerms = 0
        var matchingTerms = 0
        /// Expanding patterns checks the time budget too.
        let deadline: ContinuousClock.Instant?

        mutating func spend(scoring n: Int, column: Int) throws(QuarryError) {
            scoringTerms += n
            try check(scoringTerms, BindBudget.maxScoringTerms, "fuzzy words and phrase prefixes expand to", "(a longer prefix, ~1 instead of ~2)", column)
        }

        mutating func spend(matching n: Int, column: Int) throws(QuarryError) {
            matchingTerms += n
            try check(matchingTerms, BindBudget.maxMatchingTerms, "prefixes, wildcards and ranges match", "", column)
        }

        private func check(_ used: Int, _ limit: Int, _ what: String, _ how: String, _ column: Int) throws(QuarryError) {
            if used > limit {
                throw QuarryError(
                    .invalidQuery(column: column),
                    "the query's \(what) more than \(limit) terms in all; use fewer of them, or narrow them" + (how.isEmpty ? "" : " " + how))
            }
        }
    }

    private func bind(_ query: Query, boost: Float, budget: inout BindBudget) throws(QuarryError) -> any Weight {
        switch query {
        case .none:
            return EmptyWeight()
        case .dateRange(let lo, let hi):
            return DateRangeWeight(lower: lo, upper: hi)
        case .exists(let field):
            return ExistsWeight(field: field)
        case .boost(let inner, let b):
            return try bind(inner, boost: boost * b, budget: &budget)
        case .term(let field, let term):
            let (infos, df) = try lookup(field, term)
            let w = FieldWeight(
                idf: BM25.idf(docFreq: df, docCount: reader.statisticsDocumentCount),
                lengthFactors: reader.lengthFactors(field), boost: boost)
            return TermWeight(field: field, term: term, weight: w, infos: infos, docFreq: df)
        case .phrase(let field, let terms, let offsets, let slop):
            var all: [[TermInfo?]] = []
            var idf: Float = 0
            for t in terms {
                let (infos, df) = try lookup(field, t)
                all.append(infos)
                idf += BM25.idf(docFreq: df, docCount: reader.statisticsDocumentCount)
            }
            let w = FieldWeight(idf: idf, lengthFactors: reader.lengthFactors(field), boost: boost)
            return PhraseWeight(field: field, terms: terms, offsets: offsets, slop: slop, weight: w, infos: all)
        case .multiTerm(let field, let pattern, let column):
            try checkDeadline(budget.deadline)
            let expansion = try Expansion(
                reader, field: field, pattern: pattern, limit: pattern.limit, column: column, what: "'\(pattern)'")
            if pattern.constantScore {
                try budget.spend(matching: expansion.terms.count, column: column)
                return ConstantScoreWeight(field: field, pattern: pattern, expansion: expansion, score: boost)
            }
            try budget.spend(scoring: expansion.terms.count, column: column)
            return bindFuzzy(field: field, pattern: pattern, expansion: expansion, boost: boost)
        case .phrasePrefix(let field, let terms, let offsets, let prefix, let column):
            try checkDeadline(budget.deadline)
            let expansion = try Expansion(
                reader, field: field, pattern: .prefix(prefix), limit: TermPattern.maxPhraseTerms, column: column,
                what: "'\(String(decoding: prefix, as: UTF8.self))*' inside a phrase")
            try budget.spend(scoring: expansion.terms.count, column: column)
            var phrases: [any Weight] = []
            let last = offsets.last.map { $0 + 1 } ?? 0
            for t in expansion.terms {
                phrases.append(
                    try bind(
                        .phrase(field: field, terms: terms + [t.bytes], offsets: offsets + [last], slop: 0), boost: boost,
                        budget: &budget))
            }
            return BooleanWeight(must: [], should: phrases, mustNot: [], filter: [])
        case .boolean(let must, let should, let mustNot, let filter):
            var m: [any Weight] = []
            for q in must { m.append(try bind(q, boost: boost, budget: &budget)) }
            var s: [any Weight] = []
            for q in should { s.append(try bind(q, boost: boost, budget: &budget)) }
            var n: [any Weight] = []
            for q in mustNot { n.append(try bind(q, boost: 1, budget: &budget)) }
            var f: [any Weight] = []
            for q in filter { f.append(try bind(q, boost: 1, budget: &budget)) }
            return BooleanWeight(must: m, should: s, mustNot: n, filter: f)
        }
    }

    /// A fuzzy word: an OR of its matching terms, BM25 with the idf of the most frequent one (Lucene's blended
    /// frequencies) and a boost of 1 - distance / (word length + 1) per term.
    private func bindFuzzy(field: Int, pattern: TermPattern, expansion: Expansion, boost: Float) -> any Weight {
        guard case .fuzzy(let word, _) = pattern else { return EmptyWeight() }
        let wordLength = Float(String(decoding: word, as: UTF8.self).unicodeScalars.count)
        let maxDF = expansion.terms.map(\.docFreq).max() ?? 0
        let idf = BM25.idf(docFreq: maxDF, docCount: reader.statisticsDocumentCount)
        let factors = reader.lengthFactors(field)
        var clauses: [any Weight] = []
        for t in expansion.terms {
            let closeness = 1 - Float(t.distance) / (wordLength + 1)
            let w = FieldWeight(idf: idf, lengthFactors: factors, boost: boost * closeness)
            clauses.append(TermWeight(field: field, term: t.bytes, weight: w, infos: t.infos, docFreq: t.docFreq))
        }
        return BooleanWeight(must: [], should: clauses, mustNot: [], filter: [])
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
            reader.segments[s].info.path(.postings, in: reader.segments[s].directory),
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
        if sort == .index { return try searchInIndexOrder(weight, limit: limit, offset: offset) }
        let deadline = deadline()
        let k = min(max(0, limit), Searcher.maxHits) + min(max(0, offset), Searcher.maxHits)
        var collector = TopKCollector(k: k, byDate: sort != .score, descending: sort == .dateDescending)
        for s in reader.segments.indices {
            try checkDeadline(deadline)
            guard let scorer = weight.scorer(self, segment: s, scoring: true) else { continue }
            let deletes = reader.segments[s].deletes
            if sort == .score {
                let seeded =
                    exhaustive || k == 0
                    ? []
                    : try seedThreshold(
                        weight, scorer, segment: s, deletes: deletes, into: &collector, deadline: deadline)
                try collectByScore(
                    scorer, segment: s, deletes: deletes, into: &collector, exhaustive: exhaustive, deadline: deadline,
                    skipping: seeded)
            } else {
                let dates = reader.segments[s].dates
                var d = scorer.doc
                var countdown = 4096
                while d != terminated {
                    if !(deletes?.contains(Int(d)) ?? false) {
                        _ = collector.offer(
                            Hit(segment: s, doc: Int(d), score: scorer.score(), date: dates.date(Int(d))))
                    }
                    countdown -= 1
                    if countdown == 0 {
                        countdown = 4096
                        try checkDeadline(deadline)
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

    /// Matches in index order (segment by segment, document by document), without scores: stops after
    /// `offset + limit`.
    private func searchInIndexOrder(_ weight: any Weight, limit: Int, offset: Int) throws(QuarryError) -> SearchResult {
        var hits: [Hit] = []
        var skipped = 0
        let limit = min(max(0, limit), Searcher.maxHits)
        if limit == 0 { return SearchResult(hits: []) }
        segments: for s in reader.segments.indices {
            guard let scorer = weight.scorer(self, segment: s, scoring: false) else { continue }
            let segment = reader.segments[s]
            var d = scorer.doc
            while d != terminated {
                if !segment.isDeleted(Int(d)) {
                    if skipped < offset {
                        skipped += 1
                    } else {
                        hits.append(Hit(segment: s, doc: Int(d), score: 0, date: segment.dates.date(Int(d))))
                        if hits.count >= limit { break }
                    }
                }
                d = scorer.next()
            }
            if scorer.corrupted { throw damaged(segment: s) }
            if hits.count >= limit { break segments }
        }
        try reader.checkIntact()
        return SearchResult(hits: hits)
    }

    /// The most documents `seedThreshold` scores before the main pass.
    static let seedLimit = 4096

    /// Raises the threshold before the main pass over a union whose bounds are loose (see `SeedableUnion`): the
    /// first documents of its cheapest high-bound child (a phrase in the title) are scored in full, by a second
    /// scorer of the same weight (the first stays whole for the main pass), and offered. Returns them, in order,
    /// for the main pass to skip. Pruning stays exact: the threshold comes from real scores of live documents, and
    /// ties are settled by the collector's order (score, then segment and document), not by which pass found a
    /// document.
    private func seedThreshold(
        _ weight: any Weight, _ scorer: any Scorer, segment s: Int, deletes: DeletedDocuments?,
        into collector: inout TopKCollector, deadline: ContinuousClock.Instant?
    ) throws(QuarryError) -> [UInt32] {
        guard let union = scorer as? any SeedableUnion, let child = union.seedChild(),
            let seeding = weight.scorer(self, segment: s, scoring: true) as? any SeedableUnion
        else { return [] }
        var docs: [UInt32] = []
        try seeding.scoreDocuments(ofChild: child, limit: min(max(64, 4 * collector.k), Searcher.seedLimit)) {
            (d, score) throws(QuarryError) in
            if docs.count & 63 == 63 { try checkDeadline(deadline) }
            docs.append(d)
            if !(deletes?.contains(Int(d)) ?? false) { _ = collector.offer(Hit(segment: s, doc: Int(d), score: score)) }
        }
        if seeding.corrupted { throw damaged(segment: s) }
        return docs
    }

    /// Deleted documents are dropped here, as they come (Lucene's live docs in the collector loop): the scorers'
    /// bounds stay upper bounds, and the threshold only ever comes from live documents, so pruning stays exact.
    /// - Parameter skipping: documents already offered (by `seedThreshold`), in order.
    private func collectByScore(
        _ scorer: any Scorer, segment s: Int, deletes: DeletedDocuments?, into collector: inout TopKCollector,
        exhaustive: Bool, deadline: ContinuousClock.Instant?, skipping seeded: [UInt32] = []
    ) throws(QuarryError) {
        if !exhaustive, seeded.isEmpty, let union = scorer as? TermUnionScorer,
            union.isDense(maxDoc: reader.segments[s].docCount)
        {
            try union.collectDense(segment: s, deletes: deletes, into: &collector) { () throws(QuarryError) in
                try checkDeadline(deadline)
            }
            return
        }
        try scorer.collect(
            segment: s, deletes: deletes, into: &collector, exhaustive: exhaustive, skipping: seeded
        ) { () throws(QuarryError) in try checkDeadline(deadline) }
    }

    /// The exact number of matching live documents (no scoring).
    public func count(_ query: Query) throws(QuarryError) -> Int {
        let weight = try bind(query.normalized())
        return try count(weight)
    }

    func count(_ weight: any Weight) throws(QuarryError) -> Int {
        var total = 0
        let deadline = deadline()
        for s in reader.segments.indices {
            try checkDeadline(deadline)
            total += try weight.count(self, segment: s)
        }
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

    /// The terms to highlight in snippets, with their idf: the query's scoring terms, and the most frequent
    /// expansions (at most 256 per pattern) of its prefixes, wildcards, ranges and fuzzy words.
    public func highlightTerms(_ query: Query) throws(QuarryError) -> [(field: Int, term: [UInt8], idf: Float)] {
        var out: [(field: Int, term: [UInt8], idf: Float)] = []
        func expand(_ field: Int, _ pattern: TermPattern, _ column: Int) throws(QuarryError) {
            let e = try Expansion(
                reader, field: field, pattern: pattern, limit: max(pattern.limit, TermPattern.maxPhraseTerms),
                column: column, what: "'\(pattern)'")
            for t in e.terms.sorted(by: { $0.docFreq > $1.docFreq }).prefix(256) {
                out.append((field, t.bytes, BM25.idf(docFreq: t.docFreq, docCount: reader.statisticsDocumentCount)))
            }
        }
        func walk(_ q: Query) throws(QuarryError) {
            switch q {
            case .term(let f, let t): out.append((f, t, idf(field: f, term: t)))
            case .phrase(let f, let ts, _, _): for t in ts { out.append((f, t, idf(field: f, term: t))) }
            case .multiTerm(let f, let p, let c): try expand(f, p, c)
            case .phrasePrefix(let f, let ts, _, let prefix, let c):
                for t in ts { out.append((f, t, idf(field: f, term: t))) }
                try expand(f, .prefix(prefix), c)
            case .boolean(let must, let should, _, _): for x in must + should { try walk(x) }
            case .boost(let x, _): try walk(x)
            case .dateRange, .exists, .none: break
            }
        }
        try walk(query.normalized())
        return out
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

/// A calendar period to count matches by.
public enum DatePeriod: String, Sendable, CaseIterable {
    case year, month, day
}

/// Matches counted by the value of something (a period of the date, a field's term).
public struct FacetCounts: Sendable, Equatable {
    /// Values in increasing order, with their counts (no zero counts); documents without a value are `missing`.
    public var counts: [(value: String, count: Int)]
    public var missing: Int
    /// All matches (the sum of the counts and `missing`).
    public var total: Int

    public static func == (a: FacetCounts, b: FacetCounts) -> Bool {
        a.missing == b.missing && a.total == b.total && a.counts.map(\.value) == b.counts.map(\.value)
            && a.counts.map(\.count) == b.counts.map(\.count)
    }
}

extension Searcher {
    /// Counts the live matches of `query` per period of their date, in one pass over the matches (the date column
    /// is read where the matches are; days are counted, then named and summed into months or years).
    public func dateFacets(_ query: Query, by period: DatePeriod) throws(QuarryError) -> FacetCounts {
        let weight = try bind(query.normalized())
        var perDay: [Int64: Int] = [:]
        var missing = 0
        var total = 0
        let deadline = deadline()
        for s in reader.segments.indices {
            try checkDeadline(deadline)
            guard let scorer = weight.scorer(self, segment: s, scoring: false) else { continue }
            let segment = reader.segments[s]
            let dates = segment.dates
            var d = scorer.doc
            var countdown = deadline == nil ? Int.max : 65_536
            while d != terminated {
                countdown &-= 1
                if countdown == 0 {
                    countdown = 65_536
                    try checkDeadline(deadline)
                }
                if !segment.isDeleted(Int(d)) {
                    total += 1
                    if let t = dates.date(Int(d)) {
                        let (day, _) = t.dividedReportingOverflow(by: 86_400)
                        perDay[t >= 0 || t % 86_400 == 0 ? day : day - 1, default: 0] += 1
                    } else {
                        missing += 1
                    }
                }
                d = scorer.next()
            }
            if scorer.corrupted { throw damaged(segment: s) }
        }
        try reader.checkIntact()
        // Each period named once, and ordered by its first day (names do not sort before year 1 or after 9999).
        var byValue: [String: (first: Int64, count: Int)] = [:]
        for (day, n) in perDay {
            let (start, overflow) = day.multipliedReportingOverflow(by: 86_400)
            let name = ISODate.formatDay(overflow ? (day < 0 ? Int64.min : Int64.max) : start)
            let value: String
            switch period {
            case .day: value = name
            case .month: value = String(name.prefix(name.count - 3))
            case .year: value = String(name.prefix(name.count - 6))
            }
            let old = byValue[value] ?? (first: day, count: 0)
            byValue[value] = (first: min(old.first, day), count: old.count + n)
        }
        let counts = byValue.sorted { $0.value.first < $1.value.first }.map { (value: $0.key, count: $0.value.count) }
        return FacetCounts(counts: counts, missing: missing, total: total)
    }
}

/// Fetches stored documents for a list of hits, keeping one store reader per segment (and its decompressed
/// block), so that hits in index order decompress each block once.
public final class DocumentFetcher {
    private let reader: IndexReader
    private var stores: [Int: StoreReader] = [:]

    public init(_ reader: IndexReader) { self.reader = reader }

    /// The stored JSON of a document.
    public func document(segment: Int, doc: Int) throws(QuarryError) -> [UInt8] {
        let store: StoreReader
        if let s = stores[segment] {
            store = s
        } else {
            store = try reader.segments[segment].makeStoreReader()
            stores[segment] = store
        }
        let bytes = try store.document(doc)
        try reader.segments[segment].checkIntact()
        return bytes
    }
}

extension Scorer {
    /// Offers every document from the current one on that is neither in `deletes` nor in `seeded` to `collector`,
    /// telling the scorer the threshold as it rises (unless `exhaustive`); `checkpoint` runs every 4,096 documents
    /// (the time budget). The default implementation of `Scorer.collect`, specialized for each scorer.
    func collect(
        segment s: Int, deletes: DeletedDocuments?, into collector: inout TopKCollector, exhaustive: Bool,
        skipping seeded: [UInt32], checkpoint: () throws(QuarryError) -> Void
    ) throws(QuarryError) {
        var threshold = collector.threshold
        if !exhaustive && threshold > -.infinity { setMinCompetitiveScore(threshold) }
        var d = doc
        var nextSeeded = 0
        var countdown = 4096
        while d != terminated {
            countdown &-= 1
            if countdown == 0 {
                countdown = 4096
                try checkpoint()
            }
            if let deletes, deletes.contains(Int(d)) {
                d = next()
                continue
            }
            if nextSeeded < seeded.count {
                while nextSeeded < seeded.count && seeded[nextSeeded] < d { nextSeeded += 1 }
                if nextSeeded < seeded.count && seeded[nextSeeded] == d {
                    d = next()
                    continue
                }
            }
            let hitScore = score()
            // A tie with the threshold may still enter: it wins if it comes earlier than the document to beat
            // (which, after seeding, can come later in the segment).
            if hitScore >= threshold || !collector.isFull {
                if collector.offer(Hit(segment: s, doc: Int(d), score: hitScore)) {
                    let t = collector.threshold
                    if t != threshold {
                        threshold = t
                        if !exhaustive { setMinCompetitiveScore(t) }
                    }
                }
            }
            d = next()
        }
    }
}
