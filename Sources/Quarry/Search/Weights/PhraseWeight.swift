// Terms at given relative positions in one field, with a slop: BM25 of the phrase frequency, with the sum of the
// terms' idf (Tantivy's phrase weight).

/// A phrase bound to an index.
final class PhraseWeight: Weight {
    let field: Int
    let terms: [[UInt8]]
    let offsets: [Int]
    let slop: Int
    let weight: FieldWeight
    /// Per term, its dictionary entry in each segment.
    let infos: [[TermInfo?]]

    init(field: Int, terms: [[UInt8]], offsets: [Int], slop: Int, weight: FieldWeight, infos: [[TermInfo?]]) {
        self.field = field
        self.terms = terms
        self.offsets = offsets
        self.slop = slop
        self.weight = weight
        self.infos = infos
    }

    func scorer(_ searcher: Searcher, segment s: Int, scoring: Bool) -> (any Scorer)? {
        let seg = searcher.reader.segments[s]
        var its: [PostingsIterator] = []
        for termInfos in infos {
            guard let info = termInfos[s] else { return nil }
            its.append(seg.postingsIterator(field, info, withPositions: true))
        }
        if its.count == 1 {
            return TermScorer(postings: its[0], weight: weight, norms: seg.norms.column(field))
        }
        return PhraseScorer(
            terms: its, offsets: offsets, slop: slop, weight: weight, norms: seg.norms.column(field),
            needsFrequency: scoring)
    }

    func explain(_ searcher: Searcher, segment s: Int, doc: UInt32) -> Explanation? {
        guard let sc = scorer(searcher, segment: s, scoring: true), sc.seek(doc) == doc else { return nil }
        let words = terms.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        let pf = (sc as? PhraseScorer)?.phraseFrequency ?? 1
        let norm = searcher.reader.segments[s].norm(field, Int(doc))
        return Explanation(
            score: sc.score(),
            description:
                "\(searcher.reader.schema.fieldName(field)):\"\(words)\"\(slop > 0 ? "~\(slop)" : "")  BM25 of the phrase",
            details: [
                Explanation(score: weight.idf, description: "idf, the sum of the terms' idf", details: []),
                Explanation(score: Float(pf), description: "phrase frequency (used as tf)", details: []),
                Explanation(
                    score: Float(FieldNorm.decode(norm)), description: "dl, field length (quantized)", details: []),
                Explanation(score: weight.avgLength, description: "avgdl, average field length", details: []),
            ] + weight.boostExplanation)
    }
}
