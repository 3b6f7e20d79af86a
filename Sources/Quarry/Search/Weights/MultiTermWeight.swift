// Multi-term queries bound to an index (what each pattern means: Query/TermPattern.swift), field presence, and the
// expansion walk they share.
//
// Binding walks each segment's dictionary of the field from the pattern's first possible term, keeps the terms
// that match, and fails past the pattern's limit of distinct terms over the whole index. Then:
//
//     prefix, wildcard, range   ConstantScoreWeight: per segment, the postings of every matching term marked in a
//                               bitset (one pass, no heap), iterated in order with one score for all
//     fuzzy                     a BooleanWeight of SHOULD TermWeights (BM25, blended idf, a boost per distance):
//                               block-max WAND prunes it as any OR
//     "a b pre*"                a BooleanWeight of SHOULD PhraseWeights, one per expansion of the last word
//     _exists_:field            ExistsWeight: documents whose field length (norm) is not zero

/// The terms of one field matching a pattern, per segment.
struct Expansion {
    struct Term {
        var bytes: [UInt8]
        /// The term's entry in each segment (nil where it is absent).
        var infos: [TermInfo?]
        var docFreq: Int
        var distance: Int
    }
    /// In byte order.
    var terms: [Term]

    /// Walks the dictionaries of `field` in every segment for terms matching `pattern`.
    /// - Parameter limit: the most distinct terms accepted; past it the error names the pattern and its column.
    init(_ reader: IndexReader, field: Int, pattern: TermPattern, limit: Int, column: Int, what: String)
        throws(QuarryError)
    {
        var byTerm: [[UInt8]: Int] = [:]
        var terms: [Term] = []
        let segmentCount = reader.segments.count
        var overflow = false
        for (s, segment) in reader.segments.enumerated() {
            var matcher = TermMatcher(pattern)
            try segment.terms.walkTerms(field, from: pattern.start) { bytes, info in
                switch matcher.test(bytes) {
                case .stop: return .stop
                case .noMatch: return .next
                case .skip(let target): return .seek(target)
                case .match(let distance):
                    let key = Array(bytes)
                    let k: Int
                    if let existing = byTerm[key] {
                        k = existing
                    } else {
                        if terms.count >= limit {
                            overflow = true
                            return .stop
                        }
                        k = terms.count
                        byTerm[key] = k
                        terms.append(
                            Term(bytes: key, infos: [TermInfo?](repeating: nil, count: segmentCount), docFreq: 0,
                                distance: distance))
                    }
                    terms[k].infos[s] = info
                    terms[k].docFreq += Int(info.docFreq)
                    return .next
                }
            }
            if overflow {
                throw QuarryError(
                    .invalidQuery(column: column),
                    "\(what) matches more than \(limit) terms in field '\(reader.schema.fieldName(field))' (the limit); \(pattern.narrowingHint)")
            }
        }
        terms.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        self.terms = terms
    }
}

/// Every document holding one of a set of terms, with one score (prefix, wildcard and range queries).
final class ConstantScoreWeight: Weight {
    let field: Int
    let pattern: TermPattern
    let expansion: Expansion
    let score: Float

    init(field: Int, pattern: TermPattern, expansion: Expansion, score: Float) {
        self.field = field
        self.pattern = pattern
        self.expansion = expansion
        self.score = score
    }

    func scorer(_ searcher: Searcher, segment s: Int, scoring: Bool) -> (any Scorer)? {
        let segment = searcher.reader.segments[s]
        var bits = [UInt64](repeating: 0, count: (segment.docCount + 63) / 64)
        var any = false
        var corrupted = false
        for t in expansion.terms {
            guard let info = t.infos[s] else { continue }
            let it = segment.postingsIterator(field, info, withPositions: false)
            var d = it.doc
            while d != terminated {
                let i = Int(d)
                if i >= segment.docCount {
                    corrupted = true
                    break
                }
                bits[i >> 6] |= 1 << UInt64(i & 63)
                any = true
                d = it.next()
            }
            if it.corrupted { corrupted = true }
        }
        if !any && !corrupted { return nil }
        return BitsetScorer(bits: bits, score: score, corrupted: corrupted)
    }

    func count(_ searcher: Searcher, segment s: Int) throws(QuarryError) -> Int {
        guard let sc = scorer(searcher, segment: s, scoring: false) as? BitsetScorer else { return 0 }
        if sc.corrupted { throw searcher.damaged(segment: s) }
        return sc.count(excluding: searcher.reader.segments[s].deletes)
    }

    func explain(_ searcher: Searcher, segment s: Int, doc: UInt32) -> Explanation? {
        guard let sc = scorer(searcher, segment: s, scoring: true), sc.seek(doc) == doc else { return nil }
        let name = searcher.reader.schema.fieldName(field)
        return Explanation(
            score: score,
            description:
                "\(name):\(pattern)  constant score (\(expansion.terms.count) matching term\(expansion.terms.count == 1 ? "" : "s"))",
            details: [])
    }
}

/// The documents of a bitset in order, all with the same score.
final class BitsetScorer: Scorer {
    private let bits: [UInt64]
    private let constant: Float
    private(set) var doc: UInt32 = terminated
    let cost: Int
    let corrupted: Bool

    init(bits: [UInt64], score: Float, corrupted: Bool) {
        self.bits = bits
        self.constant = score
        self.corrupted = corrupted
        cost = bits.reduce(0) { $0 + $1.nonzeroBitCount }
        doc = find(0)
    }

    /// The first set bit at or after `target`.
    private func find(_ target: Int) -> UInt32 {
        var w = target >> 6
        guard w < bits.count else { return terminated }
        var word = bits[w] & (~0 << UInt64(target & 63))
        while word == 0 {
            w += 1
            if w >= bits.count { return terminated }
            word = bits[w]
        }
        return UInt32(w << 6 + word.trailingZeroBitCount)
    }

    func next() -> UInt32 {
        if doc != terminated { doc = find(Int(doc) + 1) }
        return doc
    }

    func seek(_ target: UInt32) -> UInt32 {
        if doc != terminated && target > doc { doc = target == terminated ? terminated : find(Int(target)) }
        return doc
    }

    func score() -> Float { constant }
    var maxScore: Float { constant }
    func advanceShallow(_ target: UInt32) -> UInt32 { terminated }
    func blockMaxScore() -> Float { constant }

    /// Every document scores the same: once that score cannot beat the threshold (with the slack every bound
    /// has, since a parent computes this threshold in Float), nothing more can enter the top k.
    func setMinCompetitiveScore(_ threshold: Float) {
        if !canBeat(constant, threshold) { doc = terminated }
    }

    func count(excluding deletes: DeletedDocuments?) -> Int {
        guard let deletes else { return cost }
        var n = 0
        let dead = deletes.words
        for i in 0..<bits.count { n += (bits[i] & ~(i < dead.count ? dead[i] : 0)).nonzeroBitCount }
        return n
    }
}

/// Documents in which a text field has at least one term, or (field 0) every document.
final class ExistsWeight: Weight {
    let field: Int

    init(field: Int) { self.field = field }

    func scorer(_ searcher: Searcher, segment s: Int, scoring: Bool) -> (any Scorer)? {
        let segment = searcher.reader.segments[s]
        if segment.docCount == 0 { return nil }
        if field == Schema.idOrd { return ExistsScorer(norms: nil, docCount: segment.docCount) }
        guard let column = segment.norms.column(field) else { return nil }
        return ExistsScorer(norms: column, docCount: segment.docCount)
    }

    func explain(_ searcher: Searcher, segment s: Int, doc: UInt32) -> Explanation? {
        guard let sc = scorer(searcher, segment: s, scoring: true), sc.seek(doc) == doc else { return nil }
        return Explanation(
            score: 0, description: "_exists_:\(searcher.reader.schema.fieldName(field)) (a filter: no score)",
            details: [])
    }
}

/// Documents whose norm byte is not zero (nil norms: every document).
final class ExistsScorer: Scorer {
    private let norms: RawBytes?
    private let docCount: Int
    private(set) var doc: UInt32 = terminated
    let cost: Int

    init(norms: RawBytes?, docCount: Int) {
        // The column was checked whole when the segment was opened; a short one matches only what it covers.
        self.norms = norms
        self.docCount = norms.map { min($0.count, docCount) } ?? docCount
        cost = docCount
        doc = find(0)
    }

    private func find(_ target: Int) -> UInt32 {
        var d = target
        guard let norms else { return d < docCount ? UInt32(d) : terminated }
        while d < docCount {
            if norms.loadU8(d) != 0 { return UInt32(d) }
            d += 1
        }
        return terminated
    }

    func next() -> UInt32 {
        if doc != terminated { doc = find(Int(doc) + 1) }
        return doc
    }

    func seek(_ target: UInt32) -> UInt32 {
        if doc != terminated && target > doc { doc = target == terminated ? terminated : find(Int(target)) }
        return doc
    }

    func score() -> Float { 0 }
    var maxScore: Float { 0 }
    func advanceShallow(_ target: UInt32) -> UInt32 { terminated }
    func blockMaxScore() -> Float { 0 }
    func setMinCompetitiveScore(_ threshold: Float) {}
    var corrupted: Bool { false }
    var canVerify: Bool { true }

    func matches(_ doc: UInt32) -> Bool {
        guard Int(doc) < docCount else { return false }
        guard let norms else { return true }
        return norms.loadU8(Int(doc)) != 0
    }
}
