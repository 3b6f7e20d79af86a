// A boolean combination: documents matching every MUST and FILTER clause and no MUST_NOT clause (and, with no
// MUST or FILTER clause, at least one SHOULD clause); the score adds up the MUST clauses and the matching SHOULD
// clauses, in clause order.

/// A boolean query bound to an index.
final class BooleanWeight: Weight {
    let must: [any Weight]
    let should: [any Weight]
    let mustNot: [any Weight]
    let filter: [any Weight]

    init(must: [any Weight], should: [any Weight], mustNot: [any Weight], filter: [any Weight]) {
        self.must = must
        self.should = should
        self.mustNot = mustNot
        self.filter = filter
    }

    func scorer(_ searcher: Searcher, segment s: Int, scoring: Bool) -> (any Scorer)? {
        var required: [any Scorer] = []
        var scoringFlags: [Bool] = []
        for w in must {
            guard let sc = w.scorer(searcher, segment: s, scoring: scoring) else { return nil }
            required.append(sc)
            scoringFlags.append(true)
        }
        for w in filter {
            guard let sc = w.scorer(searcher, segment: s, scoring: scoring) else { return nil }
            required.append(sc)
            scoringFlags.append(false)
        }
        let optional = should.compactMap { $0.scorer(searcher, segment: s, scoring: scoring) }
        var result: any Scorer
        if required.isEmpty {
            if optional.isEmpty { return nil }
            result = makeUnion(optional)
        } else {
            result = makeIntersection(required, scoring: scoringFlags)
            if !optional.isEmpty {
                result = ReqOptScorer(required: result, optional: makeUnion(optional))
            }
        }
        let excluded = mustNot.compactMap { $0.scorer(searcher, segment: s, scoring: false) }
        if !excluded.isEmpty {
            result = ExclusionScorer(required: result, excluded: makeUnion(excluded))
        }
        return result
    }

    func explain(_ searcher: Searcher, segment s: Int, doc: UInt32) -> Explanation? {
        var details: [Explanation] = []
        var total: Float = 0
        for w in must {
            guard let e = w.explain(searcher, segment: s, doc: doc) else { return nil }
            details.append(e)
            total += e.score
        }
        for w in filter {
            guard let e = w.explain(searcher, segment: s, doc: doc) else { return nil }
            details.append(e)
        }
        var anyShould = false
        for w in should {
            if let e = w.explain(searcher, segment: s, doc: doc) {
                details.append(e)
                total += e.score
                anyShould = true
            }
        }
        if must.isEmpty && filter.isEmpty && !anyShould { return nil }
        for w in mustNot where w.explain(searcher, segment: s, doc: doc) != nil { return nil }
        return Explanation(score: total, description: "sum of:", details: details)
    }
}
