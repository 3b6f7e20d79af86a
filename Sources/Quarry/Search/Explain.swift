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
        return weight.explain(self, segment: hit.segment, doc: UInt32(hit.doc)) ?? Explanation(
            score: 0, description: "does not match", details: [])
    }
}
