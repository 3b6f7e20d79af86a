// The query stage: what a query means, independent of any index.
//
// `QueryParser` turns the user's text into this tree; terms are already analyzed (so `Bank's` is the phrase
// "bank s", as Tantivy's parser makes it) and unqualified words are expanded to one leaf per default field
// (title and body), combined as SHOULD clauses whose scores add up. `Searcher` binds the tree to an index
// (global statistics) and runs it per segment.

/// A query over an index's fields.
public indirect enum Query: Sendable, Equatable, CustomStringConvertible {
    /// A term in one field (`field` is the field ord; terms are analyzed bytes).
    case term(field: Int, term: [UInt8])
    /// Terms at given relative positions in one field, allowing `slop` position moves.
    case phrase(field: Int, terms: [[UInt8]], offsets: [Int], slop: Int)
    /// Documents whose date is in `[lower, upper)` (nil: unbounded). A filter: it adds nothing to scores.
    case dateRange(lower: Int64?, upper: Int64?)
    /// A boolean combination. Documents match every `must` and `filter` clause and no `mustNot` clause; when
    /// there is no `must`/`filter` clause they match at least one `should` clause. Scores add up over `must` and
    /// matching `should` clauses.
    case boolean(must: [Query], should: [Query], mustNot: [Query], filter: [Query])
    /// The terms of one field that match a pattern (prefix, wildcard, range, fuzzy), looked up in the index's
    /// dictionaries when the query is bound (Query/TermPattern.swift says how each kind scores). `column` is where
    /// the pattern stands in the query text, for errors about its expansion.
    case multiTerm(field: Int, pattern: TermPattern, column: Int)
    /// A phrase whose last word is a prefix (`"central ban*"`): the phrases of every term starting with `prefix`,
    /// at offset `offsets.last`. `terms` are the words before it.
    case phrasePrefix(field: Int, terms: [[UInt8]], offsets: [Int], prefix: [UInt8], column: Int)
    /// Documents where a text field has at least one term (`field` > 0), or every document (`field` = 0, the id).
    /// A filter: it adds nothing to scores.
    case exists(field: Int)
    /// The scores of `query` multiplied by `boost` (>= 0).
    case boost(Query, Float)
    /// Matches no document.
    case none

    /// A readable form (field ords as `#n`), for debugging and tests.
    public var description: String {
        switch self {
        case .term(let f, let t): return "#\(f):\(String(decoding: t, as: UTF8.self))"
        case .phrase(let f, let ts, let offsets, let slop):
            let words = zip(ts, offsets).map { "\(String(decoding: $0.0, as: UTF8.self))@\($0.1)" }
            return "#\(f):\"\(words.joined(separator: " "))\"" + (slop > 0 ? "~\(slop)" : "")
        case .dateRange(let lo, let hi):
            return "date:[\(lo.map(String.init) ?? "*") TO \(hi.map(String.init) ?? "*"))"
        case .boolean(let must, let should, let mustNot, let filter):
            var parts: [String] = []
            parts += must.map { "+" + $0.description }
            parts += should.map { $0.description }
            parts += mustNot.map { "-" + $0.description }
            parts += filter.map { "#" + $0.description }
            return "(" + parts.joined(separator: " ") + ")"
        case .multiTerm(let f, let p, _): return "#\(f):\(p)"
        case .phrasePrefix(let f, let ts, let offsets, let prefix, _):
            let words = zip(ts, offsets).map { "\(String(decoding: $0.0, as: UTF8.self))@\($0.1)" }
            return "#\(f):\"\((words + [String(decoding: prefix, as: UTF8.self) + "*"]).joined(separator: " "))\""
        case .exists(let f): return "_exists_:#\(f)"
        case .boost(let q, let b): return "\(q)^\(b)"
        case .none: return "<none>"
        }
    }

    /// The same query with nested booleans flattened where that keeps the meaning (SHOULD inside a
    /// SHOULD-only group, MUST inside MUST), single-clause booleans unwrapped, and duplicate clauses removed.
    /// The searcher and the tests' reference scorer both run the normalized form, so that scores add up in the
    /// same order.
    public func normalized() -> Query {
        switch self {
        case .boolean(let must, let should, let mustNot, let filter) where Query.isFlat(must, should, mustNot, filter):
            // Already in normal form (the common case: the parser's output, searched again): no copies.
            return self
        case .boolean(let must, let should, let mustNot, let filter):
            var m: [Query] = []
            var s: [Query] = []
            var n: [Query] = []
            var f: [Query] = []
            for q in must.map({ $0.normalized() }) {
                if case .boolean(let im, let ish, let inot, let ifl) = q, ish.isEmpty, !im.isEmpty {
                    m += im
                    n += inot
                    f += ifl
                } else {
                    m.append(q)
                }
            }
            let pureShould = must.isEmpty && filter.isEmpty
            for q in should.map({ $0.normalized() }) {
                if pureShould, case .boolean(let im, let ish, let inot, let ifl) = q, im.isEmpty, inot.isEmpty,
                    ifl.isEmpty
                {
                    s += ish
                } else {
                    s.append(q)
                }
            }
            n += mustNot.map { $0.normalized() }
            f += filter.map { $0.normalized() }
            m = Query.unique(m)
            s = Query.unique(s)
            n = Query.unique(n)
            f = Query.unique(f)
            if m.contains(.none) || f.contains(.none) { return .none }
            s.removeAll { $0 == .none }
            n.removeAll { $0 == .none }
            if m.isEmpty && f.isEmpty && s.isEmpty { return .none }
            if n.isEmpty && f.isEmpty {
                if m.count == 1 && s.isEmpty { return m[0] }
                if m.isEmpty && s.count == 1 { return s[0] }
            }
            return .boolean(must: m, should: s, mustNot: n, filter: f)
        case .boost(let q, let b):
            let inner = q.normalized()
            if inner == .none { return .none }
            if b == 1 { return inner }
            if case .boost(let iq, let ib) = inner { return .boost(iq, ib * b) }
            return .boost(inner, b)
        default:
            return self
        }
    }

    /// Whether a boolean with these clauses is its own normal form: every clause a leaf (no boolean or boost to
    /// flatten or fold, no `.none`), no clause twice in a list, and not a single clause to unwrap.
    private static func isFlat(_ must: [Query], _ should: [Query], _ mustNot: [Query], _ filter: [Query]) -> Bool {
        if must.isEmpty && filter.isEmpty && should.isEmpty { return false }
        if mustNot.isEmpty && filter.isEmpty && must.count + should.count == 1 { return false }
        for list in [must, should, mustNot, filter] {
            for (i, q) in list.enumerated() {
                switch q {
                case .boolean, .boost, .none: return false
                default: break
                }
                for j in 0..<i where list[j] == q { return false }
            }
        }
        return true
    }

    private static func unique(_ qs: [Query]) -> [Query] {
        var out: [Query] = []
        for q in qs where !out.contains(q) { out.append(q) }
        return out
    }

    /// The (field, term) leaves of the query that can contribute to scores (not under `mustNot`).
    public var positiveTerms: [(field: Int, term: [UInt8])] {
        switch self {
        case .term(let f, let t): return [(f, t)]
        case .phrase(let f, let ts, _, _): return ts.map { (f, $0) }
        case .boolean(let must, let should, _, _): return (must + should).flatMap { $0.positiveTerms }
        case .boost(let q, _): return q.positiveTerms
        case .phrasePrefix(let f, let ts, _, _, _): return ts.map { (f, $0) }
        case .dateRange, .none, .multiTerm, .exists: return []
        }
    }
}
