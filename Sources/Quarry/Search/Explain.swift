// `--explain`: how a hit's score is made, term by term and field by field, with every number of the BM25 formula.

/// One node of a score explanation.
public struct Explanation: Sendable {
    public var score: Float
    public var description: String
    public var details: [Explanation]

    /// The explanation as indented lines.
    public func lines(indent: Int = 0) -> [String] {
        [String(repeating: "  ", count: indent) + Explanation.format(score) + "  " + description]
            + details.flatMap { $0.lines(indent: indent + 1) }
    }

    static func format(_ v: Float) -> String {
        let scaled = (Double(v) * 10000).rounded()
        let negative = scaled < 0
        let n = Int64(abs(scaled))
        let frac = String(n % 10000)
        return (negative ? "-" : "") + "\(n / 10000)." + String(repeating: "0", count: 4 - frac.count) + frac
    }
}

extension Searcher {
    /// Explains the score of `hit` for `query`.
    public func explain(_ query: Query, hit: Hit) throws(QuarryError) -> Explanation {
        let weight = try bind(query.normalized())
        return explain(weight, segment: hit.segment, doc: UInt32(hit.doc)) ?? Explanation(
            score: 0, description: "does not match", details: [])
    }

    private func explain(_ weight: Weight, segment s: Int, doc: UInt32) -> Explanation? {
        let seg = reader.segments[s]
        let schema = reader.schema
        let n = reader.statisticsDocumentCount
        switch weight {
        case .none:
            return nil
        case .dateRange(let lo, let hi):
            guard let sc = scorer(weight, segment: s), sc.seek(doc) == doc else { return nil }
            let from = lo.map { ISODate.format($0) } ?? "*"
            let to = hi.map { ISODate.format($0) } ?? "*"
            return Explanation(score: 0, description: "date in [\(from), \(to)) (a filter: no score)", details: [])
        case .term(let field, let term, let w, let infos, let df):
            guard let sc = scorer(weight, segment: s) as? TermScorer, sc.seek(doc) == doc else { return nil }
            let tf = sc.postings.freq
            let norm = sc.norm(doc)
            let dl = FieldNorm.decode(norm)
            let score = sc.score()
            _ = infos
            let name = "\(schema.fieldName(field)):\(String(decoding: term, as: UTF8.self))"
            return Explanation(
                score: score,
                description: "\(name)  BM25 = idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * dl / avgdl))",
                details: [
                    Explanation(
                        score: w.idf, description: "idf = ln(1 + (N - n + 0.5) / (n + 0.5)), N = \(n), n = \(df)",
                        details: []),
                    Explanation(score: Float(tf), description: "tf, occurrences in the field", details: []),
                    Explanation(score: Float(dl), description: "dl, field length (quantized)", details: []),
                    Explanation(score: w.avgLength, description: "avgdl, average field length", details: []),
                ])
        case .phrase(let field, let terms, _, let slop, let w, _):
            guard let sc = scorer(weight, segment: s), sc.seek(doc) == doc else { return nil }
            let words = terms.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            var pf: UInt32 = 1
            var norm: UInt8 = 0
            if let p = sc as? PhraseScorer {
                pf = p.phraseFrequency
            }
            norm = seg.norm(field, Int(doc))
            return Explanation(
                score: sc.score(),
                description: "\(schema.fieldName(field)):\"\(words)\"\(slop > 0 ? "~\(slop)" : "")  BM25 of the phrase",
                details: [
                    Explanation(score: w.idf, description: "idf, the sum of the terms' idf", details: []),
                    Explanation(score: Float(pf), description: "phrase frequency (used as tf)", details: []),
                    Explanation(score: Float(FieldNorm.decode(norm)), description: "dl, field length (quantized)", details: []),
                    Explanation(score: w.avgLength, description: "avgdl, average field length", details: []),
                ])
        case .boolean(let must, let should, let mustNot, let filter):
            var details: [Explanation] = []
            var total: Float = 0
            for w in must {
                guard let e = explain(w, segment: s, doc: doc) else { return nil }
                details.append(e)
                total += e.score
            }
            for w in filter {
                guard let e = explain(w, segment: s, doc: doc) else { return nil }
                details.append(e)
            }
            var anyShould = false
            for w in should {
                if let e = explain(w, segment: s, doc: doc) {
                    details.append(e)
                    total += e.score
                    anyShould = true
                }
            }
            if must.isEmpty && filter.isEmpty && !anyShould { return nil }
            for w in mustNot where explain(w, segment: s, doc: doc) != nil { return nil }
            return Explanation(score: total, description: "sum of:", details: details)
        }
    }
}
