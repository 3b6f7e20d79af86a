// Weights: a query bound to an index (Tantivy's `Weight`). Binding looks the query's terms up in every segment
// and fixes the statistics that scores need over the whole index (N, document frequencies, average lengths), so a
// document's score does not depend on how the index is split into segments. A weight then does three things per
// segment, each in its own type, one type per query kind:
//
//     scorer   the documents that match in the segment, in order, scored (Scorer.swift)
//     explain  how one document's score is made (`--explain`)
//     count    how many live documents match in the segment (`--count`), by the cheapest means the kind has
//
// Deleted documents are the collector's business (Searcher.swift) and `count`'s: scorers iterate every document
// that matches, deleted or not, so their bounds stay upper bounds.
//
// A new query kind is a new `Query` case, a `Weight` type in this folder, and its line in `Searcher.bind`.

/// A query bound to an index.
protocol Weight: AnyObject {
    /// The scorer of segment `s`, or nil if nothing can match there.
    /// - Parameter scoring: false when only matches count (phrases then stop at their first occurrence).
    func scorer(_ searcher: Searcher, segment s: Int, scoring: Bool) -> (any Scorer)?
    /// How the score of `doc` in segment `s` is made, or nil if it does not match.
    func explain(_ searcher: Searcher, segment s: Int, doc: UInt32) -> Explanation?
    /// The number of live documents of segment `s` that match.
    func count(_ searcher: Searcher, segment s: Int) throws(QuarryError) -> Int
}

extension Weight {
    /// Counts by iterating the scorer (a union of terms or of phrases marks a bitset instead), skipping deleted
    /// documents.
    func count(_ searcher: Searcher, segment s: Int) throws(QuarryError) -> Int {
        guard let scorer = scorer(searcher, segment: s, scoring: false) else { return 0 }
        let segment = searcher.reader.segments[s]
        let deletes = segment.deletes
        var total = 0
        if let union = scorer as? TermUnionScorer {
            total = union.countMatches(maxDoc: segment.docCount, deletes: deletes)
        } else if let union = scorer as? PhraseUnionScorer {
            total = union.countMatches(maxDoc: segment.docCount, deletes: deletes)
        } else {
            total = scorer.countLiveDocuments(excluding: deletes)
        }
        if scorer.corrupted { throw searcher.damaged(segment: s) }
        return total
    }
}

/// Matches nothing.
final class EmptyWeight: Weight {
    func scorer(_ searcher: Searcher, segment s: Int, scoring: Bool) -> (any Scorer)? { nil }
    func explain(_ searcher: Searcher, segment s: Int, doc: UInt32) -> Explanation? { nil }
    func count(_ searcher: Searcher, segment s: Int) throws(QuarryError) -> Int { 0 }
}

/// Documents dated in `[lower, upper)`: a filter, scoring nothing.
final class DateRangeWeight: Weight {
    let lower: Int64?
    let upper: Int64?

    init(lower: Int64?, upper: Int64?) {
        self.lower = lower
        self.upper = upper
    }

    func scorer(_ searcher: Searcher, segment s: Int, scoring: Bool) -> (any Scorer)? {
        DateRangeScorer(column: searcher.reader.segments[s].dates, lower: lower, upper: upper)
    }

    func explain(_ searcher: Searcher, segment s: Int, doc: UInt32) -> Explanation? {
        guard let sc = scorer(searcher, segment: s, scoring: true), sc.seek(doc) == doc else { return nil }
        let from = lower.map { ISODate.format($0) } ?? "*"
        let to = upper.map { ISODate.format($0) } ?? "*"
        return Explanation(score: 0, description: "date in [\(from), \(to)) (a filter: no score)", details: [])
    }
}
