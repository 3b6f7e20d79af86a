// A brute-force reference for search: it keeps every document's analyzed fields in memory and evaluates a query
// document by document, from the definitions alone (no postings, no skipping, no pruning). Scores follow the same
// BM25 definition and add up in the same clause order as the engine's scorers, so they must agree exactly.

import Testing

@testable import Quarry

#if canImport(Glibc)
    import Glibc
#endif

/// A document as the oracle sees it.
struct OracleDocument {
    var id: String
    var date: Int64?
    /// Per text field (index = ord - 1): the terms with their positions.
    var fields: [[(term: [UInt8], position: Int)]]
    var lengths: [Int]
}

struct Oracle {
    let schema: Schema
    let documents: [OracleDocument]
    /// Per field ord: term -> documents holding it.
    private var docFreq: [Int: [[UInt8]: Int]] = [:]
    private var totalLength: [Int: Int] = [:]
    /// Pattern verdicts already computed (the same for every document): a speed-up only.
    private let memo = OracleMemo()

    /// - Parameter texts: per document: id, date, and the text of each text field (title, body, ...); a field may
    ///   have several values (a position gap of one between them, as the engine does).
    init(schema: Schema, texts: [(id: String, date: Int64?, fields: [[String]])]) {
        self.schema = schema
        var analyzer = Analyzer(schema.analyzer)
        var docs: [OracleDocument] = []
        for t in texts {
            var fields: [[(term: [UInt8], position: Int)]] = []
            var lengths: [Int] = []
            for values in t.fields {
                var terms: [(term: [UInt8], position: Int)] = []
                var base = 0
                var length = 0
                for v in values {
                    for (term, position) in analyzer.terms(v) {
                        terms.append((term, base + position))
                        length += 1
                    }
                    // The next value starts after every token of this one (dropped ones too) and a gap of one.
                    base += Oracle.positionsUsed(v) + 1
                }
                fields.append(terms)
                lengths.append(length)
            }
            docs.append(OracleDocument(id: t.id, date: t.date, fields: fields, lengths: lengths))
        }
        documents = docs
        for ord in schema.textFieldOrds {
            var df: [[UInt8]: Int] = [:]
            var total = 0
            for d in docs {
                var seen = Set<[UInt8]>()
                for (term, _) in d.fields[ord - 1] where seen.insert(term).inserted { df[term, default: 0] += 1 }
                total += d.lengths[ord - 1]
            }
            docFreq[ord] = df
            totalLength[ord] = total
        }
    }

    /// The number of tokens in `text`, kept or dropped (what positions advance by).
    static func positionsUsed(_ text: String) -> Int {
        var tokenizer = Tokenizer(useTables: false)
        var s = text
        return s.withUTF8 { buf in tokenizer.tokenize(buf) { _, _, _, _ in } }
    }

    private func avgLength(_ ord: Int) -> Float {
        let avg = Float(totalLength[ord] ?? 0) / Float(max(documents.count, 1))
        return avg > 0 ? avg : 1
    }

    private func idf(_ ord: Int, _ term: [UInt8]) -> Float {
        BM25.idf(docFreq: docFreq[ord]?[term] ?? 0, docCount: documents.count)
    }

    private func bm25(weight: Float, tf: Int, ord: Int, doc: OracleDocument) -> Float {
        let norm = FieldNorm.encode(UInt32(doc.lengths[ord - 1]))
        let dl = Float(FieldNorm.decode(norm))
        let factor = BM25.k1 * ((1 - BM25.b) + BM25.b * dl / avgLength(ord))
        let f = Float(tf)
        return weight * (f / (f + factor))
    }

    /// Phrase frequency by brute force: the number of occurrences of the last term that end a chain of occurrences
    /// (one per term) whose aligned positions (position - offset) differ step by step by at most `slop` in total.
    func phraseFrequency(_ doc: OracleDocument, ord: Int, terms: [[UInt8]], offsets: [Int], slop: Int) -> Int {
        let field = doc.fields[ord - 1]
        var aligned: [[Int]] = []
        for (t, o) in zip(terms, offsets) {
            aligned.append(field.filter { $0.term == t }.map { $0.position - o })
        }
        if aligned.contains(where: { $0.isEmpty }) { return 0 }
        func reachable(_ i: Int, _ value: Int, _ budget: Int) -> Bool {
            if i == 0 { return true }
            for p in aligned[i - 1] {
                let c = abs(p - value)
                if c <= budget && reachable(i - 1, p, budget - c) { return true }
            }
            return false
        }
        let last = aligned.count - 1
        return aligned[last].filter { reachable(last, $0, slop) }.count
    }

    /// Whether `doc` matches `query`, and its score (times `boost`).
    func evaluate(_ query: Query, _ doc: OracleDocument, boost: Float = 1) -> (Bool, Float) {
        switch query {
        case .none:
            return (false, 0)
        case .boost(let inner, let b):
            return evaluate(inner, doc, boost: boost * b)
        case .exists(let ord):
            if ord == Schema.idOrd { return (true, 0) }
            return (doc.lengths[ord - 1] > 0, 0)
        case .multiTerm(let ord, let pattern, _):
            let mine = ord == Schema.idOrd ? [Array(doc.id.utf8)] : doc.fields[ord - 1].map(\.term)
            let matching = Set(mine.filter { memo.matches($0, pattern) != nil })
            if matching.isEmpty { return (false, 0) }
            guard case .fuzzy(let word, _) = pattern else { return (true, boost) }
            // BM25 of each matching term, with the idf of the most frequent matching term of the index and a boost
            // of 1 - distance / (word length + 1), added up in the terms' byte order.
            let maxDF = memo.maxDocFreq(ord, pattern) {
                (docFreq[ord] ?? [:]).filter { memo.matches($0.key, pattern) != nil }.values.max() ?? 0
            }
            let idf = BM25.idf(docFreq: maxDF, docCount: documents.count)
            let wordLength = Float(String(decoding: word, as: UTF8.self).unicodeScalars.count)
            var sum: Float = 0
            for t in matching.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                let d = memo.matches(t, pattern) ?? 0
                let tf = doc.fields[ord - 1].filter { $0.term == t }.count
                let weight = idf * (1 + BM25.k1) * (boost * (1 - Float(d) / (wordLength + 1)))
                sum += bm25(weight: weight, tf: tf, ord: ord, doc: doc)
            }
            return (true, sum)
        case .phrasePrefix(let ord, let terms, let offsets, let prefix, _):
            // One phrase per term of the index starting with the prefix; their scores add up.
            let expansions = (docFreq[ord] ?? [:]).keys.filter { $0.starts(with: prefix) }
                .sorted(by: { $0.lexicographicallyPrecedes($1) })
            var any = false
            var sum: Float = 0
            let last = (offsets.last ?? -1) + 1
            for e in expansions {
                let (m, sc) = evaluate(
                    .phrase(field: ord, terms: terms + [e], offsets: offsets + [last], slop: 0), doc, boost: boost)
                if m {
                    any = true
                    sum += sc
                }
            }
            return (any, sum)
        case .term(let ord, let term):
            if ord == Schema.idOrd {
                // The id field has no norms (norm 0) and an average length of 1.
                guard Array(doc.id.utf8) == term else { return (false, 0) }
                let weight = BM25.idf(docFreq: 1, docCount: documents.count) * (1 + BM25.k1) * boost
                let factor = BM25.k1 * ((1 - BM25.b) + BM25.b * 0 / 1)
                return (true, weight * (1 / (1 + factor)))
            }
            let tf = doc.fields[ord - 1].filter { $0.term == term }.count
            if tf == 0 { return (false, 0) }
            let weight = idf(ord, term) * (1 + BM25.k1) * boost
            return (true, bm25(weight: weight, tf: tf, ord: ord, doc: doc))
        case .phrase(let ord, let terms, let offsets, let slop):
            let pf = phraseFrequency(doc, ord: ord, terms: terms, offsets: offsets, slop: slop)
            if pf == 0 { return (false, 0) }
            var idfSum: Float = 0
            for t in terms { idfSum += idf(ord, t) }
            return (true, bm25(weight: idfSum * (1 + BM25.k1) * boost, tf: pf, ord: ord, doc: doc))
        case .dateRange(let lo, let hi):
            guard let d = doc.date else { return (false, 0) }
            return ((lo.map { d >= $0 } ?? true) && (hi.map { d < $0 } ?? true), 0)
        case .boolean(let must, let should, let mustNot, let filter):
            var mustSum: Float = 0
            for q in must {
                let (m, s) = evaluate(q, doc, boost: boost)
                if !m { return (false, 0) }
                mustSum += s
            }
            for q in filter where !evaluate(q, doc).0 { return (false, 0) }
            for q in mustNot where evaluate(q, doc).0 { return (false, 0) }
            var shouldSum: Float = 0
            var anyShould = false
            for q in should {
                let (m, s) = evaluate(q, doc, boost: boost)
                if m {
                    shouldSum += s
                    anyShould = true
                }
            }
            let required = !must.isEmpty || !filter.isEmpty
            if !required && !anyShould { return (false, 0) }
            if should.isEmpty { return (true, mustSum) }
            if !required { return (true, shouldSum) }
            return (true, mustSum + shouldSum)
        }
    }

    /// Every matching document (index in `documents`) with its score.
    func matches(_ query: Query) -> [(doc: Int, score: Float)] {
        let q = query.normalized()
        var out: [(Int, Float)] = []
        for (i, d) in documents.enumerated() {
            let (m, s) = evaluate(q, d)
            if m { out.append((i, s)) }
        }
        return out
    }
}

/// `OracleMatch` verdicts and the blended document frequencies of fuzzy words, computed once per (term, pattern):
/// the oracle evaluates a query document by document, and the verdicts do not depend on the document.
final class OracleMemo {
    private struct Key: Hashable {
        var term: [UInt8]
        var pattern: String
    }
    private var verdicts: [Key: Int?] = [:]
    private var maxDF: [String: Int] = [:]

    func matches(_ term: [UInt8], _ pattern: TermPattern) -> Int? {
        let key = Key(term: term, pattern: "\(pattern)")
        if let v = verdicts[key] { return v }
        let v = OracleMatch.matches(term, pattern)
        verdicts[key] = v
        return v
    }

    func maxDocFreq(_ ord: Int, _ pattern: TermPattern, _ compute: () -> Int) -> Int {
        let key = "#\(ord):\(pattern)"
        if let v = maxDF[key] { return v }
        let v = compute()
        maxDF[key] = v
        return v
    }
}

/// The multi-term patterns, matched from their definitions on Swift strings (not the engine's matcher).
enum OracleMatch {
    /// The edit distance of `term` if it matches `pattern` (0 for non-fuzzy kinds), nil otherwise.
    static func matches(_ term: [UInt8], _ pattern: TermPattern) -> Int? {
        switch pattern {
        case .prefix(let p):
            return term.starts(with: p) ? 0 : nil
        case .range(let lo, let hi, let il, let iu):
            if let lo {
                if term.lexicographicallyPrecedes(lo) || (term == lo && !il) { return nil }
            }
            if let hi {
                if hi.lexicographicallyPrecedes(term) || (term == hi && !iu) { return nil }
            }
            return 0
        case .wildcard(let parts):
            var pattern: [Unicode.Scalar?] = []  // nil: any one; "\u{0}" marks any run
            var runs: [Bool] = []
            for p in parts {
                switch p {
                case .literal(let b):
                    for c in String(decoding: b, as: UTF8.self).unicodeScalars {
                        pattern.append(c)
                        runs.append(false)
                    }
                case .anyOne:
                    pattern.append(nil)
                    runs.append(false)
                case .anyRun:
                    pattern.append(nil)
                    runs.append(true)
                }
            }
            let text = Array(String(decoding: term, as: UTF8.self).unicodeScalars)
            // Classic dynamic programme: can pattern[i...] match text[j...]?
            var memo = [[Bool?]](repeating: [Bool?](repeating: nil, count: text.count + 1), count: pattern.count + 1)
            func go(_ i: Int, _ j: Int) -> Bool {
                if let v = memo[i][j] { return v }
                var r: Bool
                if i == pattern.count {
                    r = j == text.count
                } else if runs[i] {
                    r = go(i + 1, j) || (j < text.count && go(i, j + 1))
                } else if j == text.count {
                    r = false
                } else if let c = pattern[i] {
                    r = c == text[j] && go(i + 1, j + 1)
                } else {
                    r = go(i + 1, j + 1)
                }
                memo[i][j] = r
                return r
            }
            return go(0, 0) ? 0 : nil
        case .fuzzy(let word, let k):
            let a = Array(String(decoding: word, as: UTF8.self).unicodeScalars)
            let b = Array(String(decoding: term, as: UTF8.self).unicodeScalars)
            // Optimal string alignment distance, full matrix.
            var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { d[i][0] = i }
            for j in 0...b.count { d[0][j] = j }
            if !a.isEmpty && !b.isEmpty {
                for i in 1...a.count {
                    for j in 1...b.count {
                        let cost = a[i - 1] == b[j - 1] ? 0 : 1
                        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                        if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                            d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                        }
                    }
                }
            }
            let dist = d[a.count][b.count]
            return dist <= k ? dist : nil
        }
    }
}
