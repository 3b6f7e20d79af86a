// A term in one field: BM25 with the term's idf over the whole index.

/// A term leaf bound to an index.
final class TermWeight: Weight {
    let field: Int
    let term: [UInt8]
    let weight: FieldWeight
    /// The term's dictionary entry in each segment (nil where it is absent).
    let infos: [TermInfo?]
    /// Documents holding the term over the whole index, deleted ones included.
    let docFreq: Int

    init(field: Int, term: [UInt8], weight: FieldWeight, infos: [TermInfo?], docFreq: Int) {
        self.field = field
        self.term = term
        self.weight = weight
        self.infos = infos
        self.docFreq = docFreq
    }

    func scorer(_ searcher: Searcher, segment s: Int, scoring: Bool) -> (any Scorer)? {
        termScorer(searcher, segment: s)
    }

    func termScorer(_ searcher: Searcher, segment s: Int) -> TermScorer? {
        guard let info = infos[s] else { return nil }
        let seg = searcher.reader.segments[s]
        let it = seg.postingsIterator(field, info, withPositions: false)
        if it.doc == terminated && !it.corrupted { return nil }
        return TermScorer(postings: it, weight: weight, norms: seg.norms.column(field))
    }

    /// Without deletes, the segment's document frequency: nothing to iterate.
    func count(_ searcher: Searcher, segment s: Int) throws(QuarryError) -> Int {
        guard let info = infos[s] else { return 0 }
        let segment = searcher.reader.segments[s]
        guard let deletes = segment.deletes else { return Int(info.docFreq) }
        guard let sc = termScorer(searcher, segment: s) else { return 0 }
        var n = 0
        var d = sc.doc
        while d != terminated {
            if !deletes.contains(Int(d)) { n += 1 }
            d = sc.next()
        }
        if sc.corrupted { throw searcher.damaged(segment: s) }
        return n
    }

    func explain(_ searcher: Searcher, segment s: Int, doc: UInt32) -> Explanation? {
        guard let sc = termScorer(searcher, segment: s), sc.seek(doc) == doc else { return nil }
        let tf = sc.postings.freq
        let dl = FieldNorm.decode(sc.norm(doc))
        let name = "\(searcher.reader.schema.fieldName(field)):\(String(decoding: term, as: UTF8.self))"
        return Explanation(
            score: sc.score(),
            description: "\(name)  BM25 = \(weight.boost == 1 ? "" : "boost * ")idf * (k1 + 1) * tf / (tf + k1 * (1 - b + b * dl / avgdl))",
            details: [
                Explanation(
                    score: weight.idf,
                    description:
                        "idf = ln(1 + (N - n + 0.5) / (n + 0.5)), N = \(searcher.reader.statisticsDocumentCount), n = \(docFreq)",
                    details: []),
                Explanation(score: Float(tf), description: "tf, occurrences in the field", details: []),
                Explanation(score: Float(dl), description: "dl, field length (quantized)", details: []),
                Explanation(score: weight.avgLength, description: "avgdl, average field length", details: []),
            ] + weight.boostExplanation)
    }
}
