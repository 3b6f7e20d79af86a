// Multi-term queries: a pattern that stands for every term of a field it matches, found by walking the field's
// term dictionary when the query is bound to an index (Search/Weights/MultiTermWeight.swift).
//
//     prefix    y2k*          terms starting with "y2k"
//     wildcard  cob?l, *ing   '?' is one character (one Unicode scalar), '*' any run of characters
//     range     [a TO c]      terms between the bounds in byte order ('[' ']' inclusive, '{' '}' exclusive, '*' open)
//     fuzzy     fortran~1     terms within N edits (N = 0, 1 or 2; `word~` is 2): insertions, deletions,
//                             substitutions and transpositions of adjacent characters (Damerau-Levenshtein, as
//                             Lucene's default), counted in Unicode scalars
//
// Scoring, as Lucene's defaults: prefix, wildcard and range queries give every matching document the same score
// (1, times any boost), so they rank nothing by themselves but filter, and add a constant beside other clauses;
// fuzzy queries are scored, BM25 of each matching term with the idf of the most frequent of them (Lucene's
// "blended" frequencies, so that a rare misspelling does not outrank the word itself) and a boost of
// 1 - distance / (length of the query word + 1), so that closer terms rank first.
//
// Expansion is bounded (README, Limits): a pattern may match at most `maxTerms` distinct terms of the index, a
// fuzzy word `maxFuzzyTerms`, a prefix inside a phrase `maxPhraseTerms`; past that the query fails with an error
// that names the pattern, as Lucene's TooManyClauses.

/// What a multi-term query matches in a field's dictionary. Patterns are normalized like the index's terms
/// (lowercased, folded), but not stemmed, as Lucene's multi-term analysis.
public enum TermPattern: Sendable, Equatable, CustomStringConvertible {
    /// Terms starting with these bytes.
    case prefix([UInt8])
    /// Terms matching a pattern of literal bytes with `?` (one scalar) and `*` (any run); the literal bytes never
    /// contain the two wildcard bytes (they are analyzed words).
    case wildcard([WildcardPart])
    /// Terms between two bounds in byte order; nil is open.
    case range(lower: [UInt8]?, upper: [UInt8]?, includeLower: Bool, includeUpper: Bool)
    /// Terms within `distance` edits of `term`.
    case fuzzy([UInt8], distance: Int)

    /// Distinct terms a prefix, wildcard or range may match over the index.
    public static let maxTerms = 65_536
    /// Distinct terms a fuzzy word may match (each is scored, as a clause of an OR).
    public static let maxFuzzyTerms = 1_024
    /// Distinct terms a prefix inside a phrase may match (each is a phrase to check).
    public static let maxPhraseTerms = 1_024

    /// A piece of a wildcard pattern.
    public enum WildcardPart: Sendable, Equatable {
        case literal([UInt8])
        case anyOne
        case anyRun
    }

    public var description: String {
        func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }
        switch self {
        case .prefix(let p): return text(p) + "*"
        case .wildcard(let parts):
            return parts.map {
                switch $0 {
                case .literal(let b): return text(b)
                case .anyOne: return "?"
                case .anyRun: return "*"
                }
            }.joined()
        case .range(let lo, let hi, let il, let iu):
            return (il ? "[" : "{") + (lo.map(text) ?? "*") + " TO " + (hi.map(text) ?? "*") + (iu ? "]" : "}")
        case .fuzzy(let t, let d): return text(t) + "~\(d)"
        }
    }

    /// The smallest term that can match: where the dictionary walk starts.
    var start: [UInt8] {
        switch self {
        case .prefix(let p): return p
        case .wildcard(let parts):
            if case .literal(let b) = parts.first { return b }
            return []
        case .range(let lo, _, _, _): return lo ?? []
        case .fuzzy: return []
        }
    }

    /// The number of distinct terms the pattern may expand to before the query fails.
    var limit: Int {
        if case .fuzzy = self { return TermPattern.maxFuzzyTerms }
        return TermPattern.maxTerms
    }

    /// How to ask for fewer terms, for the error past the limit.
    var narrowingHint: String {
        switch self {
        case .prefix: return "make the prefix longer"
        case .wildcard: return "give more letters"
        case .range: return "narrow the range"
        case .fuzzy(_, let d): return d > 1 ? "allow one edit (word~1) or give a longer word" : "give a longer word"
        }
    }

    /// True if the pattern gives every match the same score (all kinds but fuzzy).
    var constantScore: Bool {
        if case .fuzzy = self { return false }
        return true
    }
}

/// Tests dictionary terms against a pattern, in the dictionary's (byte) order, so that the walk can stop as soon
/// as no later term can match. One per walk: it keeps scratch state.
struct TermMatcher {
    enum Verdict {
        case match(distance: Int)
        case noMatch
        /// No term from this one on can match.
        case stop
        /// No term before these bytes can match.
        case skip([UInt8])
    }

    private let pattern: TermPattern
    private var fuzzy: FuzzyMatcher?

    init(_ pattern: TermPattern) {
        self.pattern = pattern
        if case .fuzzy(let t, let d) = pattern { fuzzy = FuzzyMatcher(t, distance: d) }
    }

    mutating func test(_ term: UnsafeBufferPointer<UInt8>) -> Verdict {
        switch pattern {
        case .prefix(let p):
            return TermMatcher.hasPrefix(term, p) ? .match(distance: 0) : .stop
        case .wildcard(let parts):
            if case .literal(let lead) = parts.first, !TermMatcher.hasPrefix(term, lead) { return .stop }
            return TermMatcher.glob(term, parts) ? .match(distance: 0) : .noMatch
        case .range(let lo, let hi, let il, let iu):
            if let lo {
                let c = TermMatcher.compare(term, lo)
                if c < 0 || (c == 0 && !il) { return .noMatch }
            }
            if let hi {
                let c = TermMatcher.compare(term, hi)
                if c > 0 || (c == 0 && !iu) { return .stop }
            }
            return .match(distance: 0)
        case .fuzzy:
            guard var f = fuzzy else { return .noMatch }
            fuzzy = nil  // one owner while it works (no copy of its rows)
            let verdict = f.test(term)
            fuzzy = f
            return verdict
        }
    }

    static func hasPrefix(_ term: UnsafeBufferPointer<UInt8>, _ p: [UInt8]) -> Bool {
        guard term.count >= p.count else { return false }
        for i in 0..<p.count where term[i] != p[i] { return false }
        return true
    }

    /// Byte order: < 0, 0 or > 0.
    static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> Int {
        let n = min(a.count, b.count)
        for i in 0..<n where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
        return a.count - b.count
    }

    /// Glob matching with backtracking to the last `*` only (linear in practice, quadratic at worst on 40-byte
    /// terms). `?` takes one UTF-8 sequence.
    static func glob(_ s: UnsafeBufferPointer<UInt8>, _ parts: [TermPattern.WildcardPart]) -> Bool {
        var i = 0  // in s
        var p = 0  // in parts
        var starPart = -1
        var starText = 0
        var literalOffset = 0  // progress inside a literal part
        func scalarLength(_ at: Int) -> Int {
            let b = s[at]
            let n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4
            return min(n, s.count - at)
        }
        while i < s.count {
            if p < parts.count {
                switch parts[p] {
                case .anyRun:
                    starPart = p
                    starText = i
                    p += 1
                    literalOffset = 0
                    continue
                case .anyOne:
                    i += scalarLength(i)
                    p += 1
                    continue
                case .literal(let b):
                    if s[i] == b[literalOffset] {
                        i += 1
                        literalOffset += 1
                        if literalOffset == b.count {
                            literalOffset = 0
                            p += 1
                        }
                        continue
                    }
                }
            }
            // Mismatch: let the last '*' take one more character, and start again after it.
            guard starPart >= 0 else { return false }
            starText += scalarLength(starText)
            i = starText
            p = starPart + 1
            literalOffset = 0
        }
        while p < parts.count, case .anyRun = parts[p] { p += 1 }
        return p == parts.count && literalOffset == 0
    }
}

/// Damerau-Levenshtein distance (optimal string alignment: adjacent transpositions cost one, as Lucene's default)
/// of dictionary terms to one word, bounded by `distance`. Terms come in byte order, so consecutive terms share
/// prefixes: the rows of the dynamic programme for a shared prefix are kept, and a prefix whose rows exceed the
/// bound rules out every term that starts with it, so the walk seeks past them all (a trie walk without the
/// trie: with one or two edits only a few prefixes of each length stay alive, and most of the dictionary is
/// never decoded).
struct FuzzyMatcher {
    private let word: [UInt32]
    private let k: Int
    /// Row i (i = 0...depth) at i * stride: the distances of the first i scalars of the current term to each
    /// prefix of `word`.
    private var rows: [Int]
    private var rowMins: [Int]
    private let stride: Int
    /// The scalars of the current term, and the byte offset where each ends.
    private var scalars: [UInt32] = []
    private var ends: [Int] = []
    /// The bytes of the current term.
    private var previous: [UInt8] = []
    /// How many rows are valid for `scalars`.
    private var validRows = 1

    init(_ word: [UInt8], distance: Int) {
        var scalars: [UInt32] = []
        word.withUnsafeBufferPointer { buf in
            var i = 0
            while i < buf.count {
                let (v, n) = decodeScalar(buf, i)
                scalars.append(v)
                i += max(n, 1)
            }
        }
        self.word = scalars
        self.k = distance
        stride = scalars.count + 1
        rows = Array(0...scalars.count)
        rowMins = [0]
    }

    /// The distance of `term` to the word, or nil if it is above the bound.
    mutating func distance(_ term: UnsafeBufferPointer<UInt8>) -> Int? {
        if case .match(let d) = test(term) { return d }
        return nil
    }

    mutating func test(_ term: UnsafeBufferPointer<UInt8>) -> TermMatcher.Verdict {
        // Scalars shared with the previous term: those that end within the bytes the two terms share.
        var common = 0
        let n = min(previous.count, term.count)
        while common < n && previous[common] == term[common] { common += 1 }
        var shared = 0
        while shared < ends.count && ends[shared] <= common { shared += 1 }
        let byte = shared == 0 ? 0 : ends[shared - 1]
        previous.removeAll(keepingCapacity: true)
        previous.append(contentsOf: term)
        scalars.removeSubrange(shared...)
        ends.removeSubrange(shared...)
        validRows = min(validRows, shared + 1)
        var i = byte
        while i < term.count {
            let (v, len) = decodeScalar(term, i)
            i += max(len, 1)
            scalars.append(v)
            ends.append(i)
        }
        let m = word.count
        while validRows <= scalars.count {
            let r = validRows
            let needed = (r + 1) * stride
            if rows.count < needed { rows.append(contentsOf: repeatElement(0, count: needed - rows.count)) }
            if rowMins.count <= r { rowMins.append(0) }
            let c = scalars[r - 1]
            let here = r * stride
            let above = here - stride
            var rowMin = r
            rows[here] = r
            if m > 0 {
                for j in 1...m {
                    let cost = word[j - 1] == c ? 0 : 1
                    var v = min(rows[above + j] + 1, rows[here + j - 1] + 1, rows[above + j - 1] + cost)
                    if r > 1 && j > 1 && c == word[j - 2] && scalars[r - 2] == word[j - 1] {
                        v = min(v, rows[above - stride + j - 2] + 1)
                    }
                    rows[here + j] = v
                    if v < rowMin { rowMin = v }
                }
            }
            rowMins[r] = rowMin
            validRows = r + 1
            // Once a whole row is out of reach, so is every later row: deletions, insertions and substitutions
            // only add to it, and a transposition from two rows back costs at least as much as the diagonal
            // step it skips (d[r][j-1] <= d[r-1][j-2] + 1). Then no term starting with these r scalars can
            // match, and the walk seeks to the first term after them (the prefix's bytes with the last one
            // incremented; UTF-8 has no 0xFF byte).
            if rowMin > k {
                return nextCandidate(dead: r)
            }
        }
        let d = rows[scalars.count * stride + m]
        return d <= k ? .match(distance: d) : .noMatch
    }

    /// The first terms that can still match after the prefix of `dead` scalars died: the walk seeks to the
    /// smallest string after it whose prefixes all stay within reach (a Levenshtein automaton's "next valid
    /// string", computed from the rows). At depth d the row's minimum is k or less; if it is below k, any
    /// character keeps the prefix alive and the next candidate is the next character; if it is exactly k, only
    /// characters of the word at the columns where the row is k can (a match on the diagonal), or the one a
    /// transposition needs. Without a candidate at depth d, the search goes up a level; past the top, nothing
    /// after the current term can match.
    private func nextCandidate(dead r: Int) -> TermMatcher.Verdict {
        var depth = r - 1
        var after = scalars[depth]
        let m = word.count
        while true {
            let row = depth * stride
            var next: UInt32?
            if rowMins[depth] < k {
                next = FuzzyMatcher.nextScalar(after)
            } else {
                for j in 1...max(m, 1) where j <= m && rows[row + j - 1] == k && word[j - 1] > after {
                    if next == nil || word[j - 1] < next.unsafelyUnwrapped { next = word[j - 1] }
                }
                // A transposition: the previous character of the term is word[j - 1], this one word[j - 2].
                if depth >= 1 && m >= 2 {
                    let above = row - stride
                    for j in 2...m where scalars[depth - 1] == word[j - 1] && rows[above + j - 2] < k {
                        let c = word[j - 2]
                        if c > after && (next == nil || c < next.unsafelyUnwrapped) { next = c }
                    }
                }
            }
            if let next {
                var target = depth == 0 ? [] : Array(previous[0..<ends[depth - 1]])
                FuzzyMatcher.appendUTF8(next, to: &target)
                return .skip(target)
            }
            if depth == 0 { return .stop }
            depth -= 1
            after = scalars[depth]
        }
    }

    /// The scalar after `v` (surrogates skipped), or nil after the last.
    static func nextScalar(_ v: UInt32) -> UInt32? {
        var n = v + 1
        if n >= 0xD800 && n <= 0xDFFF { n = 0xE000 }
        return n <= 0x10FFFF ? n : nil
    }

    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        guard let s = Unicode.Scalar(v) else { return }
        out.append(contentsOf: String(s).utf8)
    }
}
