// Multi-term queries (prefix*, wild?cards, fuzzy~N, "phrase pref*", term ranges, _exists_, *, boosts) against the
// brute-force oracle: random corpora and random query text of every kind, parsed as a user types it; the pattern
// matchers against the oracle's definitions on random sorted word lists; the expansion limit; several indexes
// searched as one; date facets; and the unscored index order with deletes and paging.

import QuarryTestSupport
import Testing

@testable import Quarry

/// Random query text over the terms of a `SearchCorpus`, with every kind of the query language: the new
/// multi-term kinds mixed with words, phrases, fields, dates and the boolean operators. Patterns are cut from real
/// words (prefixes, wildcards, misspellings), so that they usually match.
struct MultiTermQueryGenerator {
    var rng: SeededRandom
    let corpus: SearchCorpus

    /// The corpus's terms as the default analyzer makes them ("tax-payer" gives "tax" and "payer").
    static let terms: [String] = {
        var analyzer = Analyzer(.standard)
        var out: [String] = []
        for w in SearchCorpus.vocabulary {
            for t in analyzer.terms(w) {
                let s = String(decoding: t.term, as: UTF8.self)
                if !out.contains(s) { out.append(s) }
            }
        }
        return out
    }()

    /// A vocabulary word (as typed, maybe several terms), mostly frequent ones.
    mutating func word() -> String {
        let v = SearchCorpus.vocabulary
        let u = Double(rng.next() % 1000) / 1000
        return v[min(Int(Double(v.count) * u * u), v.count - 1)]
    }

    /// One term of the index, mostly frequent ones.
    mutating func term() -> String {
        var analyzer = Analyzer(.standard)
        let ts = analyzer.terms(word())
        guard !ts.isEmpty else { return "bank" }
        return String(decoding: ts[Int(rng.next() % UInt64(ts.count))].term, as: UTF8.self)
    }

    mutating func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }

    mutating func chance(_ p: Double) -> Bool { rng.chance(p) }

    /// Sometimes in capitals (patterns are lowercased as the index's terms are).
    mutating func cased(_ s: String) -> String { chance(0.15) ? s.uppercased() : s }

    mutating func phrase() -> String {
        let body = corpus.bodies[Int(rng.next() % UInt64(corpus.bodies.count))]
        if body.count >= 3 && chance(0.6) {
            let n = 2 + Int(rng.next() % 2)
            let start = Int(rng.next() % UInt64(body.count - n + 1))
            return "\"" + body[start..<(start + n)].joined(separator: " ") + "\""
        }
        return "\"\(word()) \(word())\""
    }

    /// `ab*`: the first 1...n scalars of a term.
    mutating func prefix() -> String {
        let t = Array(term().unicodeScalars)
        let n = 1 + Int(rng.next() % UInt64(t.count))
        return cased(String(String.UnicodeScalarView(t[0..<min(n, t.count)]))) + "*"
    }

    /// `a?c*`, `*xy`, `?ank`, `b*k`: a term with scalars replaced by `?` and runs by `*`.
    mutating func wildcard() -> String {
        var t = Array(term().unicodeScalars).map { String($0) }
        switch rng.next() % 5 {
        case 0:  // one scalar replaced
            t[Int(rng.next() % UInt64(t.count))] = "?"
        case 1:  // a suffix: *xy
            let keep = 1 + Int(rng.next() % UInt64(min(3, t.count)))
            t = ["*"] + t.suffix(keep)
        case 2:  // a run in the middle
            if t.count >= 3 {
                let a = 1 + Int(rng.next() % UInt64(t.count - 2))
                t = Array(t[0..<a]) + ["*"] + [t[t.count - 1]]
            } else {
                t.append("*")
            }
        case 3:  // a?c*
            t[Int(rng.next() % UInt64(t.count))] = "?"
            t = Array(t.prefix(max(1, t.count - 1))) + ["*"]
        default:  // several
            for i in t.indices where chance(0.3) { t[i] = chance(0.5) ? "?" : "*" }
            if !t.contains(where: { $0 == "?" || $0 == "*" }) { t.append("?") }
        }
        // A pattern of wildcards alone is `*` (every document) or `?`s; keep at least one letter mostly.
        let s = t.joined()
        if s.allSatisfy({ $0 == "*" }) { return "?*" }
        return cased(s)
    }

    /// `word~1`, `wrod~2`, `word~`: a term or a misspelling of it (up to two random edits).
    mutating func fuzzy() -> String {
        var t = Array(term().unicodeScalars)
        let letters = Array("abdeilnorstxéüß".unicodeScalars)
        for _ in 0..<Int(rng.next() % 3) where !t.isEmpty {
            let i = Int(rng.next() % UInt64(t.count))
            switch rng.next() % 4 {
            case 0: t[i] = pick(letters)
            case 1: if t.count > 1 { t.remove(at: i) }
            case 2: t.insert(pick(letters), at: i)
            default: if i + 1 < t.count { t.swapAt(i, i + 1) }
            }
        }
        let w = cased(String(String.UnicodeScalarView(t)))
        return w + pick(["~1", "~2", "~", "~1", "~0"])
    }

    /// `"w1 w2pre*"`: a real phrase whose last word is cut to a prefix, or a word and a prefix.
    mutating func phrasePrefix() -> String {
        let body = corpus.bodies[Int(rng.next() % UInt64(corpus.bodies.count))]
        var words: [String]
        if body.count >= 2 && chance(0.7) {
            let n = 2 + Int(rng.next() % 2)
            let start = Int(rng.next() % UInt64(max(1, body.count - n + 1)))
            words = Array(body[start..<min(body.count, start + n)])
        } else {
            words = [word(), term()]
        }
        var analyzer = Analyzer(.standard)
        // The last word's last term, cut.
        let lastTerms = analyzer.terms(words[words.count - 1])
        guard let lastTerm = lastTerms.last else { return "\"\(word()) ba*\"" }
        let scalars = Array(String(decoding: lastTerm.term, as: UTF8.self).unicodeScalars)
        let n = 1 + Int(rng.next() % UInt64(scalars.count))
        let cut = String(String.UnicodeScalarView(scalars[0..<n]))
        words[words.count - 1] = cut + "*"
        return "\"" + words.joined(separator: " ") + "\""
    }

    /// `title:[a TO c]`, `body:{bank TO *]`, `title:[* TO m}`.
    mutating func range() -> String {
        func bound(_ g: inout MultiTermQueryGenerator) -> String {
            if g.chance(0.2) { return "*" }
            if g.chance(0.4) { return String(g.pick(Array("abcdlmprstxz"))) }
            return g.term()
        }
        var lo = bound(&self)
        var hi = bound(&self)
        if lo != "*" && hi != "*" && Array(hi.utf8).lexicographicallyPrecedes(Array(lo.utf8)) { swap(&lo, &hi) }
        let field = pick(["title", "body", "title", "body"])
        return "\(field):\(pick(["[", "{"]))\(lo) TO \(hi)\(pick(["]", "}"]))"
    }

    /// `id:doc-1*`, `id:doc-?5`, `id:[doc-10 TO doc-20}`: ids match byte for byte.
    mutating func idPattern() -> String {
        let n = rng.next() % 60
        switch rng.next() % 3 {
        case 0: return "id:doc-\(n)*"
        case 1: return "id:doc-?\(n % 10)"
        default:
            let m = n + rng.next() % 40
            return "id:\(pick(["[", "{"]))doc-\(n) TO \(chance(0.2) ? "*" : "doc-\(m)")\(pick(["]", "}"]))"
        }
    }

    /// One clause of any kind.
    mutating func atom(depth: Int = 0) -> String {
        switch rng.next() % 22 {
        case 0, 1: return word()
        case 2: return phrase()
        case 3, 4: return prefix()
        case 5, 6: return wildcard()
        case 7, 8, 9: return fuzzy()
        case 10, 11: return phrasePrefix()
        case 12: return range()
        case 13: return pick(["_exists_:title", "_exists_:body", "title:*", "_exists_:date", "_exists_:id"])
        case 14: return "*"
        case 15: return idPattern()
        case 16: return "\(pick(["title", "body"])):\(pick([prefix(), wildcard(), fuzzy(), phrasePrefix()]))"
        case 17:  // boosts on words, phrases, patterns
            let b = pick(["2", "0.5", "3", "1.5", "0", "10"])
            return pick([word().replacingSpaces, phrase(), prefix(), fuzzy()]) + "^" + b
        case 18: return phrase() + "~\(rng.next() % 3)" + (chance(0.5) ? "^\(pick(["0.5", "2"]))" : "")
        case 19:
            if depth < 2 {
                return "(\(atom(depth: depth + 1)) OR \(atom(depth: depth + 1)))^\(pick(["3", "0.5", "2"]))"
            }
            return prefix()
        case 20:
            if depth < 2 { return "title:(\(prefix()) OR \(fuzzy()))" }
            return fuzzy()
        default:
            return "\(word()) date:[\(2000 + rng.next() % 6) TO \(2004 + rng.next() % 6)]"
        }
    }

    /// A query: one to three clauses with the operators.
    mutating func query() -> String {
        switch rng.next() % 12 {
        case 0, 1: return atom()
        case 2, 3: return "\(atom()) \(atom())"
        case 4: return "\(atom()) OR \(atom())"
        case 5: return "\(atom()) -\(pick([word().replacingSpaces, prefix(), fuzzy(), phrase()]))"
        case 6: return "(\(atom()) OR \(atom())) \(atom())"
        case 7: return "\(atom()) AND \(atom()) OR \(atom())"
        case 8: return "\(atom()) NOT \(atom())"
        case 9: return "+\(atom()) \(atom()) \(atom())"
        case 10: return "* \(pick(["-", "NOT ", "", "OR "]))\(atom())"
        default: return "\(atom()) \(atom()) OR \(atom()) \(atom())"
        }
    }
}

extension String {
    /// A word typed as one token (vocabulary words have no spaces; kept for safety).
    fileprivate var replacingSpaces: String { split(separator: " ").joined(separator: "-") }
}

@Suite("Multi-term queries against the oracle")
struct MultiTermTests {
    /// The id of every document, by (segment, doc).
    static func idTable(_ reader: IndexReader) throws -> [[String]] {
        var out: [[String]] = []
        for (s, segment) in reader.segments.enumerated() {
            var ids: [String] = []
            for d in 0..<segment.docCount {
                ids.append(StoredDocument(try reader.storedDocument(segment: s, doc: d)).text("id") ?? "")
            }
            out.append(ids)
        }
        return out
    }

    /// Checks one query against the oracle: count, hit set, scores, and pruned top-k equal to exhaustive.
    static func check(
        _ text: String, any: Bool, searcher: Searcher, oracle: Oracle, ids: [[String]], index: [String: Int],
        context: String
    ) throws {
        var parser = QueryParser(schema: searcher.reader.schema, defaultOr: any)
        let query: Query
        do {
            query = try parser.parse(text)
        } catch {
            #expect(error.message.contains("only excludes"), "\(context): '\(text)' failed to parse: \(error)")
            return
        }
        let expected = oracle.matches(query)
        let expectedScores = Dictionary(uniqueKeysWithValues: expected.map { ($0.doc, $0.score) })
        let count = try searcher.count(query)
        #expect(count == expected.count, "\(context) '\(text)' (\(query)): count \(count), oracle \(expected.count)")
        // The hit set, with every match.
        let all = try searcher.search(query, limit: 10_000).hits
        let got = Set(all.map { ids[$0.segment][$0.doc] })
        let want = Set(expected.map { oracle.documents[$0.doc].id })
        if got != want {
            Issue.record(
                "\(context) '\(text)' (\(query)): \(got.subtracting(want).sorted().prefix(5)) not in the oracle's matches, \(want.subtracting(got).sorted().prefix(5)) missing"
            )
        }
        for k in [1, 3, 10, 1000] {
            let pruned = try searcher.search(query, limit: k).hits
            let exhaustive = try searcher.search(query, limit: k, exhaustive: true).hits
            #expect(pruned == exhaustive, "\(context) '\(text)' k=\(k): pruned differs from exhaustive")
            var scores: [Float] = []
            for hit in pruned {
                let id = ids[hit.segment][hit.doc]
                guard let i = index[id], let e = expectedScores[i] else {
                    Issue.record("\(context) '\(text)': hit \(id) is not a match of the oracle")
                    continue
                }
                #expect(
                    SearcherTests.close(hit.score, e),
                    "\(context) '\(text)' (\(query)): \(id) score \(hit.score), oracle \(e)")
                scores.append(hit.score)
            }
            let best = expected.map(\.score).sorted(by: >).prefix(k)
            #expect(
                scores.count == best.count, "\(context) '\(text)' k=\(k): \(scores.count) hits, oracle \(best.count)")
            for (a, b) in zip(scores, best) where !SearcherTests.close(a, b) {
                Issue.record("\(context) '\(text)' k=\(k): ranked score \(a), oracle \(b)")
                break
            }
        }
    }

    @Test(
        "random queries of every kind: counts, hit sets and scores equal the oracle; pruned top-k equals exhaustive",
        arguments: [(UInt64(21), nil as Int?), (22, 37)])
    func randomQueries(seed: UInt64, commitEvery: Int?) throws {
        let dir = TemporaryDirectory("multiterm")
        let corpus = SearchCorpus(documents: 250, seed: seed)
        let reader = try SearcherTests.build(corpus, in: dir, name: "idx", commitEvery: commitEvery, threads: 2)
        if commitEvery != nil { #expect(reader.segments.count > 5) }
        let searcher = Searcher(reader: reader)
        let oracle = Oracle(schema: reader.schema, texts: corpus.texts)
        let ids = try MultiTermTests.idTable(reader)
        let index = Dictionary(uniqueKeysWithValues: corpus.texts.enumerated().map { ($0.element.id, $0.offset) })
        var generator = MultiTermQueryGenerator(rng: SeededRandom(seed: seed &* 104_729), corpus: corpus)
        for q in 0..<100 {
            let text = generator.query()
            try MultiTermTests.check(
                text, any: q % 4 == 0, searcher: searcher, oracle: oracle, ids: ids, index: index,
                context: "seed \(seed)")
        }
    }

    @Test("hand-picked queries of every kind agree with the oracle")
    func handPicked() throws {
        let dir = TemporaryDirectory("multiterm-hand")
        let corpus = SearchCorpus(documents: 200, seed: 23)
        let reader = try SearcherTests.build(corpus, in: dir, name: "idx", commitEvery: 53, threads: 1)
        let searcher = Searcher(reader: reader)
        let oracle = Oracle(schema: reader.schema, texts: corpus.texts)
        let ids = try MultiTermTests.idTable(reader)
        let index = Dictionary(uniqueKeysWithValues: corpus.texts.enumerated().map { ($0.element.id, $0.offset) })
        for text in [
            "ba*", "BA*", "zü*", "ZÜR*", "caf?", "caf*", "str?*e", "*ta", "?", "??", "*a*", "σα*", "ΣΑ*", "日*",
            "bnak~1", "bank~0", "rtaes~1", "rtaes~2", "zurich~1", "strasse~2", "STRASSE~2", "cafe~1", "gama~",
            "\"the ba*\"", "\"central ban*\"", "\"tax-pay*\"", "tax-pay*", "\"don't t*\"", "bank^2", "\"the bank\"^0.5",
            "(bank OR rates)^3", "title:[a TO c]", "title:{a TO *]", "body:[* TO bank}", "body:[bank TO bank]",
            "_exists_:title", "_exists_:body", "title:*", "* -bank", "* OR bank", "bank *", "id:doc-1*", "id:doc-?7",
            "id:[doc-10 TO doc-19]", "id:{doc-10 TO doc-19}", "ba* -bank", "bank^0", "ba*^0 rates",
            "title:(ba* OR rtaes~1)", "(ba* bank)^2 OR oil", "alpha~1^2 beta*^3", "\"alpha beta\"~2^2 gam*",
        ] {
            try MultiTermTests.check(
                text, any: false, searcher: searcher, oracle: oracle, ids: ids, index: index, context: "hand-picked")
        }
    }

    // MARK: The matchers against their definitions

    /// Random words over a small alphabet (so that prefixes are shared), with scalars of 1 to 4 UTF-8 bytes; é and
    /// ß share their first byte.
    static func randomWords(_ rng: inout SeededRandom, count: Int) -> [[UInt8]] {
        let alphabet = ["a", "b", "e", "é", "ß", "s", "中", "𝄞"]
        var words = Set<[UInt8]>()
        while words.count < count {
            let n = 1 + Int(rng.next() % 7)
            let w = (0..<n).map { _ in alphabet[Int(rng.skewed(below: UInt64(alphabet.count)))] }.joined()
            words.insert(Array(w.utf8))
        }
        return words.sorted { $0.lexicographicallyPrecedes($1) }
    }

    static func randomPattern(_ rng: inout SeededRandom, words: [[UInt8]]) -> TermPattern {
        let base = words[Int(rng.next() % UInt64(words.count))]
        let scalars = Array(String(decoding: base, as: UTF8.self).unicodeScalars)
        func bytes(_ s: ArraySlice<Unicode.Scalar>) -> [UInt8] { Array(String(String.UnicodeScalarView(s)).utf8) }
        switch rng.next() % 4 {
        case 0:
            return .prefix(bytes(scalars[0..<(1 + Int(rng.next() % UInt64(scalars.count)))]))
        case 1:
            var parts: [TermPattern.WildcardPart] = []
            for c in scalars {
                switch rng.next() % 5 {
                case 0: parts.append(.anyOne)
                case 1:
                    if case .anyRun = parts.last {} else { parts.append(.anyRun) }
                default:
                    if case .literal(let b) = parts.last {
                        parts[parts.count - 1] = .literal(b + Array(String(c).utf8))
                    } else {
                        parts.append(.literal(Array(String(c).utf8)))
                    }
                }
            }
            if rng.next() % 2 == 0, !(parts.last.map { if case .anyRun = $0 { true } else { false } } ?? false) {
                parts.append(.anyRun)
            }
            return .wildcard(parts)
        case 2:
            let other = words[Int(rng.next() % UInt64(words.count))]
            let (lo, hi) = base.lexicographicallyPrecedes(other) ? (base, other) : (other, base)
            return .range(
                lower: rng.next() % 5 == 0 ? nil : lo, upper: rng.next() % 5 == 0 ? nil : hi,
                includeLower: rng.next() % 2 == 0, includeUpper: rng.next() % 2 == 0)
        default:
            // The word itself, or with its length changed, as a fuzzy query.
            var w = scalars
            if rng.next() % 2 == 0 { w.append(contentsOf: ["中", "a"].prefix(Int(rng.next() % 3))) }
            if rng.next() % 3 == 0 && w.count > 1 { w.removeFirst() }
            return .fuzzy(bytes(w[...]), distance: Int(rng.next() % 3))
        }
    }

    @Test("TermMatcher and FuzzyMatcher give every word the oracle's verdict", arguments: [UInt64(1), 2, 3])
    func matchersAgreeWithTheDefinitions(seed: UInt64) {
        var rng = SeededRandom(seed: seed &* 31)
        for round in 0..<25 {
            let words = MultiTermTests.randomWords(&rng, count: 20 + Int(rng.next() % 300))
            for _ in 0..<25 {
                let pattern = MultiTermTests.randomPattern(&rng, words: words)
                let context = "seed \(seed) round \(round) pattern \(pattern)"
                // The walk, as Expansion does it: from the pattern's start, past the terms a .skip jumps over,
                // until .stop.
                var matcher = TermMatcher(pattern)
                var stopped = false
                var skipBelow = pattern.start
                for w in words {
                    let expected = OracleMatch.matches(w, pattern)
                    let text = String(decoding: w, as: UTF8.self)
                    if w.lexicographicallyPrecedes(skipBelow) || stopped {
                        #expect(expected == nil, "\(context): '\(text)' matches but the walk does not reach it")
                        continue
                    }
                    let verdict = w.withUnsafeBufferPointer { matcher.test($0) }
                    switch verdict {
                    case .match(let d):
                        #expect(
                            expected == d,
                            "\(context): '\(text)' matched at distance \(d), oracle \(String(describing: expected))")
                    case .noMatch:
                        #expect(expected == nil, "\(context): '\(text)' not matched, oracle \(expected!)")
                    case .stop:
                        #expect(expected == nil, "\(context): the walk stops at '\(text)', which matches")
                        stopped = true
                    case .skip(let target):
                        #expect(expected == nil, "\(context): the walk skips from '\(text)', which matches")
                        #expect(w.lexicographicallyPrecedes(target), "\(context): a skip from '\(text)' goes back")
                        skipBelow = target
                    }
                }
            }
            // FuzzyMatcher alone, on every word and on a random subsequence (rows shared with other neighbours).
            for _ in 0..<10 {
                let base = words[Int(rng.next() % UInt64(words.count))]
                guard case .fuzzy(let word, _) = MultiTermTests.randomPattern(&rng, words: [base]) else { continue }
                for k in 0...2 {
                    let subset = rng.next() % 2 == 0 ? words : words.filter { _ in rng.next() % 3 == 0 }
                    var fuzzy = FuzzyMatcher(word, distance: k)
                    for w in subset {
                        let got = w.withUnsafeBufferPointer { fuzzy.distance($0) }
                        let expected = OracleMatch.matches(w, .fuzzy(word, distance: k))
                        #expect(
                            got == expected,
                            "seed \(seed): '\(String(decoding: w, as: UTF8.self))' ~\(k) '\(String(decoding: word, as: UTF8.self))': \(String(describing: got)), oracle \(String(describing: expected))"
                        )
                    }
                }
            }
        }
    }

    @Test("fuzzy distances by hand: transpositions, scalars not bytes, length differences")
    func fuzzyByHand() {
        for (word, term, k, expected) in [
            ("bank", "bnak", 1, 1 as Int?), ("bank", "bank", 0, 0), ("bank", "banks", 1, 1), ("bank", "ban", 1, 1),
            ("bank", "b", 2, nil), ("bank", "bk", 2, 2), ("café", "cafe", 1, 1), ("straße", "strasse", 2, 2),
            ("straße", "strasse", 1, nil), ("中文", "文中", 1, 1), ("中文", "中", 1, 1), ("ab", "ba", 1, 1),
            ("abc", "ca", 2, nil), ("é", "ß", 1, 1), ("ab", "", 2, 2),
        ] {
            var m = FuzzyMatcher(Array(word.utf8), distance: k)
            let got = Array(term.utf8).withUnsafeBufferPointer { m.distance($0) }
            #expect(got == expected, "'\(word)'~\(k) vs '\(term)': \(String(describing: got))")
            #expect(OracleMatch.matches(Array(term.utf8), .fuzzy(Array(word.utf8), distance: k)) == expected)
        }
    }

    // MARK: The expansion limit

    @Test("a prefix inside a phrase past 1,024 terms fails at the phrase's column; a plain prefix works")
    func expansionLimit() throws {
        let dir = TemporaryDirectory("multiterm-limit")
        let n = TermPattern.maxPhraseTerms + 76
        var corpus = SearchCorpus(documents: 0, seed: 0)
        // 110 documents of ten words each: "some pre0000 pre0001 ...", 1,100 distinct pre words.
        for d in 0..<(n / 10) {
            let words = (0..<10).map { i -> String in
                let v = d * 10 + i
                return "pre" + String(repeating: "0", count: 4 - String(v).count) + String(v)
            }
            corpus.lines.append(
                "{\"id\":\"p\(d)\",\"title\":\"list \(d)\",\"body\":\"some \(words.joined(separator: " "))\"}")
        }
        let reader = try SearcherTests.build(corpus, in: dir, name: "idx", commitEvery: nil, threads: 1)
        let searcher = Searcher(reader: reader)
        var parser = QueryParser(schema: reader.schema)
        let query = try parser.parse("list \"some pre*\"")
        do {
            _ = try searcher.count(query)
            Issue.record("\"some pre*\" expanded past the limit without an error")
        } catch {
            #expect(error.code == .invalidQuery(column: 6), "\(error)")
            #expect(error.message.contains("1024"), "\(error.message)")
            #expect(error.message.contains("pre*"), "\(error.message)")
        }
        do {
            _ = try searcher.search(query, limit: 10)
            Issue.record("search: no error")
        } catch {
            #expect(error.code == .invalidQuery(column: 6), "\(error)")
        }
        // A plain prefix may match up to 65,536 terms.
        #expect(try searcher.count(try parser.parse("pre*")) == n / 10)
        #expect(try searcher.search(try parser.parse("pre*"), limit: 1000).hits.count == n / 10)
        // A narrower prefix inside the phrase is fine: "some pre10.." starts the body of documents 100 to 109.
        #expect(try searcher.count(try parser.parse("\"some pre10*\"")) == 10)
        #expect(try searcher.count(try parser.parse("\"some pre0*\"")) == 100)
        // Highlighting takes the most frequent expansions without failing.
        #expect(try searcher.highlightTerms(try parser.parse("pre*")).count <= 2 * 256)
    }

    // MARK: Several indexes as one

    /// A corpus holding the documents `range` of `corpus`.
    static func part(_ corpus: SearchCorpus, _ range: Range<Int>) -> SearchCorpus {
        var p = SearchCorpus(documents: 0, seed: 0)
        p.lines = Array(corpus.lines[range])
        p.texts = Array(corpus.texts[range])
        p.bodies = Array(corpus.bodies[range])
        return p
    }

    @Test("three indexes combined give the hits, scores and counts of one index holding every document")
    func combinedIndexes() throws {
        let dir = TemporaryDirectory("multiterm-combined")
        let corpus = SearchCorpus(documents: 400, seed: 31)
        let whole = try SearcherTests.build(corpus, in: dir, name: "whole", commitEvery: nil, threads: 1)
        let parts = [
            try SearcherTests.build(
                MultiTermTests.part(corpus, 0..<40), in: dir, name: "p1", commitEvery: nil, threads: 1),
            try SearcherTests.build(
                MultiTermTests.part(corpus, 40..<190), in: dir, name: "p2", commitEvery: 60, threads: 1),
            try SearcherTests.build(
                MultiTermTests.part(corpus, 190..<400), in: dir, name: "p3", commitEvery: nil, threads: 2),
        ]
        let combined = try IndexReader(combining: parts)
        #expect(combined.documentCount == 400)
        #expect(combined.statisticsDocumentCount == 400)
        #expect(combined.segments.count == parts.reduce(0) { $0 + $1.segments.count })
        #expect(combined.parts.count == 3)
        let a = Searcher(reader: whole)
        let b = Searcher(reader: combined)
        let idsA = try MultiTermTests.idTable(whole)
        let idsB = try MultiTermTests.idTable(combined)
        var generator = MultiTermQueryGenerator(rng: SeededRandom(seed: 31), corpus: corpus)
        var old = QueryGenerator(rng: SeededRandom(seed: 32), corpus: corpus)
        for q in 0..<70 {
            let text = q % 2 == 0 ? generator.query() : old.query()
            var parser = QueryParser(schema: whole.schema, defaultOr: q % 5 == 0)
            guard let query = try? parser.parse(text) else { continue }
            #expect(try a.count(query) == b.count(query), "'\(text)'")
            var sa: [String: Float] = [:]
            for h in try a.search(query, limit: 1000).hits { sa[idsA[h.segment][h.doc]] = h.score }
            var sb: [String: Float] = [:]
            for h in try b.search(query, limit: 1000).hits { sb[idsB[h.segment][h.doc]] = h.score }
            #expect(sa == sb, "'\(text)' (\(query)): different hits or scores between one index and three")
            // The top 10 by score are the same scores (ties may pick other documents).
            let ta = try a.search(query, limit: 10).hits.map(\.score)
            let tb = try b.search(query, limit: 10).hits.map(\.score)
            #expect(ta == tb, "'\(text)': top 10")
            if q % 5 == 0 {
                #expect(try a.dateFacets(query, by: .month) == b.dateFacets(query, by: .month), "'\(text)': facets")
            }
            // Index order over the three: every match once.
            let ordered = try b.search(query, limit: 10_000, sort: .index).hits
            #expect(Set(ordered.map { idsB[$0.segment][$0.doc] }) == Set(sb.keys), "'\(text)': index order")
        }
        // The fetcher reads documents from every part.
        let fetcher = DocumentFetcher(combined)
        for (s, segment) in combined.segments.enumerated() where segment.docCount > 0 {
            #expect(StoredDocument(try fetcher.document(segment: s, doc: 0)).text("id") == idsB[s][0])
        }
        // Indexes of different schemas cannot be combined.
        let english = dir.path + "/english"
        let writer = try IndexWriter(
            directory: english, schema: Schema(analyzer: .english), options: testIndexOptions())
        try writer.add(id: "e1", fields: ["title": "running", "body": "banks"])
        try writer.commit()
        writer.close()
        let other = try IndexReader(directory: english)
        do {
            _ = try IndexReader(combining: [parts[0], other])
            Issue.record("indexes of different analyzers were combined")
        } catch {
            #expect(error.code == .invalidArgument, "\(error)")
            #expect(error.message.contains("schemas differ"), "\(error.message)")
        }
        #expect(throws: QuarryError.self) { _ = try IndexReader(combining: []) }
    }

    // MARK: Date facets

    /// "YYYY-MM-DD" of a date, from the test support's civil calendar.
    static func day(_ t: Int64) -> String {
        let days = t >= 0 ? t / 86_400 : -((-t + 86_399) / 86_400)
        let (y, m, d) = TestDates.civil(Int(days))
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(abs(y))
        return (y < 0 ? "-" : "") + String(repeating: "0", count: max(0, 4 - year.count)) + year
            + "-\(two(m))-\(two(d))"
    }

    @Test("date facets per year, month and day equal a count over the oracle's matches")
    func dateFacets() throws {
        let dir = TemporaryDirectory("multiterm-facets")
        let corpus = SearchCorpus(documents: 300, seed: 41)
        let reader = try SearcherTests.build(corpus, in: dir, name: "idx", commitEvery: 71, threads: 2)
        let searcher = Searcher(reader: reader)
        let oracle = Oracle(schema: reader.schema, texts: corpus.texts)
        var generator = MultiTermQueryGenerator(rng: SeededRandom(seed: 41), corpus: corpus)
        var queries = ["*", "bank", "date:[2003 TO 2005]", "zebra"]
        for _ in 0..<25 { queries.append(generator.query()) }
        for text in queries {
            var parser = QueryParser(schema: reader.schema)
            guard let query = try? parser.parse(text) else { continue }
            let matches = oracle.matches(query)
            let count = try searcher.count(query)
            for period in DatePeriod.allCases {
                let facets = try searcher.dateFacets(query, by: period)
                var counts: [String: Int] = [:]
                var missing = 0
                for m in matches {
                    guard let date = oracle.documents[m.doc].date else {
                        missing += 1
                        continue
                    }
                    let day = MultiTermTests.day(date)
                    let value = period == .day ? day : String(day.prefix(period == .month ? 7 : 4))
                    counts[value, default: 0] += 1
                }
                let expected = FacetCounts(
                    counts: counts.sorted { $0.key < $1.key }.map { (value: $0.key, count: $0.value) },
                    missing: missing, total: matches.count)
                #expect(
                    facets == expected, "'\(text)' by \(period): \(facets.counts.prefix(4)) missing \(facets.missing)")
                #expect(facets.total == count, "'\(text)' by \(period): total \(facets.total), count \(count)")
                #expect(facets.counts.reduce(0) { $0 + $1.count } + facets.missing == facets.total)
            }
        }
    }

    @Test("date facets of dates before year 1 and after 9999 are in chronological order")
    func dateFacetsAtTheEdges() throws {
        let dir = TemporaryDirectory("multiterm-facets-edge")
        let index = dir.path + "/idx"
        let writer = try IndexWriter(directory: index, schema: Schema(), options: testIndexOptions())
        // Year -26 (1 March and 1 January, 1 March again), year 0, 1995, year 10000.
        let dates: [(String, Int64)] = [
            ("m1", Int64(TestDates.days(year: -26, month: 3, day: 1)) * 86_400),
            ("m2", Int64(TestDates.days(year: -26, month: 1, day: 1)) * 86_400 + 3600),
            ("m3", Int64(TestDates.days(year: -26, month: 3, day: 1)) * 86_400 + 7200),
            ("z", Int64(TestDates.days(year: 0, month: 6, day: 15)) * 86_400),
            ("n", Int64(TestDates.days(year: 1995, month: 6, day: 15)) * 86_400 - 1),
            ("f", Int64(TestDates.days(year: 10_000, month: 2, day: 1)) * 86_400),  // given in milliseconds
            ("g", Int64(TestDates.days(year: 100_000, month: 1, day: 1)) * 86_400),
            ("h", Int64(TestDates.days(year: 20_000, month: 1, day: 1)) * 86_400),
        ]
        for (id, date) in dates {
            // A number of 12 digits or more is milliseconds.
            let number = abs(date) >= 100_000_000_000 ? date * 1000 : date
            try writer.add(json: "{\"id\":\"\(id)\",\"date\":\(number),\"body\":\"word\"}")
        }
        try writer.add(id: "none", fields: ["body": "word"])
        try writer.commit()
        writer.close()
        let reader = try IndexReader(directory: index)
        for (id, date) in dates {
            guard let (s, d) = try reader.locate(id: id) else {
                Issue.record("\(id) missing")
                continue
            }
            #expect(reader.segments[s].date(d) == date, "\(id): the date as given")
        }
        let searcher = Searcher(reader: reader)
        var parser = QueryParser(schema: reader.schema)
        let query = try parser.parse("word")
        let years = try searcher.dateFacets(query, by: .year)
        #expect(
            years.counts.map(\.value) == ["-0026", "0000", "1995", "+10000", "+20000", "+100000"],
            "years in calendar order: \(years.counts.map(\.value))")
        #expect(years.counts.map(\.count) == [3, 1, 1, 1, 1, 1])
        #expect(years.missing == 1)
        #expect(years.total == 9)
        let months = try searcher.dateFacets(query, by: .month)
        #expect(
            months.counts.map(\.value) == [
                "-0026-01", "-0026-03", "0000-06", "1995-06", "+10000-02", "+20000-01", "+100000-01",
            ],
            "months of a year before 1 in calendar order: \(months.counts.map(\.value))")
        let days = try searcher.dateFacets(query, by: .day)
        #expect(
            days.counts.map(\.value) == [
                "-0026-01-01", "-0026-03-01", "0000-06-15", "1995-06-14", "+10000-02-01", "+20000-01-01",
                "+100000-01-01",
            ],
            "days: \(days.counts.map(\.value))")
        #expect(days.counts.map(\.count) == [1, 2, 1, 1, 1, 1, 1])
    }

    // MARK: Index order

    @Test("index order: every live match in (segment, doc) order, pages consistent, deleted documents skipped")
    func indexOrder() throws {
        let dir = TemporaryDirectory("multiterm-order")
        let corpus = SearchCorpus(documents: 300, seed: 51)
        let path = dir.path + "/idx"
        _ = try SearcherTests.build(corpus, in: dir, name: "idx", commitEvery: 61, threads: 2)
        // Delete some documents by id and by query.
        var rng = SeededRandom(seed: 51)
        var deleted = Set<String>()
        let writer = try IndexWriter(directory: path, schema: nil, options: testIndexOptions())
        for _ in 0..<30 {
            let id = "doc-\(rng.next() % 300)"
            try writer.delete(id: id)
            deleted.insert(id)
        }
        var parser = QueryParser(schema: writer.schema)
        let byQuery = try parser.parse("id:doc-29*")
        try writer.delete(matching: byQuery)
        for t in corpus.texts where t.id.hasPrefix("doc-29") { deleted.insert(t.id) }
        try writer.commit()
        writer.close()
        let reader = try IndexReader(directory: path)
        #expect(reader.documentCount == 300 - deleted.count)
        #expect(reader.segments.count > 3)
        let searcher = Searcher(reader: reader)
        let oracle = Oracle(schema: reader.schema, texts: corpus.texts)
        let ids = try MultiTermTests.idTable(reader)
        var generator = MultiTermQueryGenerator(rng: SeededRandom(seed: 52), corpus: corpus)
        var queries = ["*", "bank", "ba*", "_exists_:title"]
        for _ in 0..<30 { queries.append(generator.query()) }
        for text in queries {
            guard let query = try? parser.parse(text) else { continue }
            let expected = Set(oracle.matches(query).map { oracle.documents[$0.doc].id }).subtracting(deleted)
            let all = try searcher.search(query, limit: Searcher.maxHits, sort: .index).hits
            let positions = all.map { [$0.segment, $0.doc] }
            #expect(
                zip(positions, positions.dropFirst()).allSatisfy { $0.0.lexicographicallyPrecedes($0.1) },
                "'\(text)': not in (segment, doc) order")
            #expect(all.allSatisfy { $0.score == 0 }, "'\(text)': unscored")
            let got = all.map { ids[$0.segment][$0.doc] }
            #expect(Set(got) == expected, "'\(text)': \(Set(got).symmetricDifference(expected).sorted().prefix(5))")
            #expect(got.count == expected.count, "'\(text)': each match once")
            #expect(got.allSatisfy { !deleted.contains($0) }, "'\(text)': a deleted document")
            #expect(try searcher.count(query) == all.count)
            #expect(
                try searcher.dateFacets(query, by: .year).total == all.count, "'\(text)': facets skip deleted documents"
            )
            // The same set as by score.
            let byScore = try searcher.search(query, limit: 10_000).hits
            #expect(Set(byScore.map { ids[$0.segment][$0.doc] }) == Set(got))
            // Pages.
            for (offset, limit) in [
                (0, 1), (0, 7), (5, 10), (all.count - 1, 5), (all.count, 3), (all.count + 5, 3), (3, 0),
            ] {
                let page = try searcher.search(query, limit: limit, offset: max(0, offset), sort: .index).hits
                let start = min(max(0, offset), all.count)
                let want = Array(all[start..<min(all.count, start + limit)])
                #expect(page == want, "'\(text)' offset \(offset) limit \(limit)")
            }
        }
    }
}

extension MultiTermTests {
    @Test("a fuzzy id (id:doc-1~1) is fuzzy or an error, never the exact id")
    func fuzzyID() throws {
        var parser = QueryParser(schema: Schema())
        let query: Query
        do {
            query = try parser.parse("id:doc-1~1")
        } catch {
            return  // an error at its column is fine
        }
        #expect(query != .term(field: Schema.idOrd, term: Array("doc-1".utf8)), "'~1' was dropped: \(query)")
    }
}
