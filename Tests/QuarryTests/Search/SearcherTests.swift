// Search against the brute-force oracle: random corpora, random queries of every kind, exact hit sets, counts and
// BM25 scores; pruned top-k equal to exhaustive top-k; the same results however the index is split into segments.

import QuarryTestSupport
import Testing

@testable import Quarry

#if canImport(Glibc)
    import Glibc
#endif

/// A random corpus with a small Zipfian vocabulary, so terms repeat within documents and phrases recur.
struct SearchCorpus {
    static let vocabulary = [
        "the", "bank", "rates", "interest", "market", "cobol", "data", "file", "record", "program", "year", "new",
        "central", "report", "loan", "price", "oil", "trade", "zürich", "café", "naïve", "über", "straße", "x",
        "alpha", "beta", "gamma", "delta", "omega", "sigma", "ΣΑΣ", "日本", "tax-payer", "don't", "3.14", "a1",
    ]

    var lines: [String] = []
    var texts: [(id: String, date: Int64?, fields: [[String]])] = []
    /// Bodies as word lists, to sample phrases that occur.
    var bodies: [[String]] = []

    init(documents: Int, seed: UInt64) {
        var rng = SeededRandom(seed: seed)
        func word() -> String {
            // Zipf-like: index = floor(n * u^3).
            let u = Double(rng.next() % 1_000_000) / 1_000_000
            let i = Int(Double(SearchCorpus.vocabulary.count) * u * u * u)
            return SearchCorpus.vocabulary[min(i, SearchCorpus.vocabulary.count - 1)]
        }
        for i in 0..<documents {
            let titleLength = Int(rng.next() % 6)
            let bodyLength = Int(rng.next() % 40)
            let title = (0..<titleLength).map { _ in word() }
            let body = (0..<bodyLength).map { _ in word() }
            let hasDate = rng.next() % 10 != 0
            let date: Int64? = hasDate ? Int64(946_684_800 + Int64(rng.next() % (11 * 365 * 86400))) : nil
            let id = "doc-\(i)"
            var json = "{\"id\":\"\(id)\""
            if let date { json += ",\"date\":\(date)" }
            json += ",\"title\":\"\(title.joined(separator: " "))\",\"body\":\"\(body.joined(separator: " "))\"}"
            lines.append(json)
            texts.append((id, date, [[title.joined(separator: " ")], [body.joined(separator: " ")]]))
            bodies.append(body)
        }
    }

    /// Writes the corpus as JSON Lines.
    func write(to path: String) {
        writeFile(path, lines.joined(separator: "\n") + "\n")
    }
}

/// Random query texts over the corpus vocabulary.
struct QueryGenerator {
    var rng: SeededRandom
    let corpus: SearchCorpus

    mutating func word() -> String {
        let v = SearchCorpus.vocabulary
        // Mostly frequent words, sometimes rare ones.
        let u = Double(rng.next() % 1000) / 1000
        return v[min(Int(Double(v.count) * u * u), v.count - 1)]
    }

    mutating func phrase() -> String {
        // A phrase from a real body half the time.
        if rng.next() % 2 == 0 {
            let body = corpus.bodies[Int(rng.next() % UInt64(corpus.bodies.count))]
            if body.count >= 3 {
                let n = 2 + Int(rng.next() % 2)
                let start = Int(rng.next() % UInt64(body.count - n + 1))
                return "\"" + body[start..<(start + n)].joined(separator: " ") + "\""
            }
        }
        return "\"\(word()) \(word())\""
    }

    mutating func query() -> String {
        switch rng.next() % 16 {
        case 0: return word()
        case 1: return "\(word()) \(word())"
        case 2: return "\(word()) \(word()) \(word())"
        case 3: return "\(word()) OR \(word())"
        case 4: return "\(word()) -\(word())"
        case 5: return phrase()
        case 6: return phrase() + "~\(rng.next() % 4)"
        case 7: return "title:\(word()) \(word())"
        case 8: return "body:\(phrase()) OR title:\(word())"
        case 9: return "(\(word()) OR \(word())) \(word())"
        case 10: return "\(word()) date:[\(2000 + rng.next() % 6) TO \(2004 + rng.next() % 6)]"
        case 11: return "date:>=\(2001 + rng.next() % 9)-0\(1 + rng.next() % 9) \(word()) OR \(word())"
        case 12: return "+\(word()) \(word()) \(word())"
        case 13: return "\(word()) OR \(phrase()) -\(word())"
        case 14: return "(\(word()) \(word())) OR (\(word()) NOT \(word()))"
        default: return "\(word()) \(word()) OR \(word()) \(word())"
        }
    }
}

@Suite("Searcher against the oracle")
struct SearcherTests {
    /// Builds an index of `corpus`; `commitEvery` > 0 makes many segments.
    static func build(_ corpus: SearchCorpus, in dir: TemporaryDirectory, name: String, commitEvery: Int?, threads: Int)
        throws -> IndexReader
    {
        let input = dir.path + "/\(name).jsonl"
        corpus.write(to: input)
        var options = IndexOptions()
        options.threads = threads
        options.commitEvery = commitEvery
        options.mergePolicy = .none
        let writer = try IndexWriter(directory: dir.path + "/" + name, schema: Schema(), options: options)
        _ = try writer.index([input])
        writer.close()
        return try IndexReader(directory: dir.path + "/" + name)
    }

    static func id(_ reader: IndexReader, _ hit: Hit) throws -> String {
        StoredDocument(try reader.storedDocument(segment: hit.segment, doc: hit.doc)).text("id") ?? ""
    }

    static func close(_ a: Float, _ b: Float) -> Bool {
        abs(a - b) <= 1e-5 * max(1, abs(b))
    }

    @Test("random queries: counts, hit sets and scores equal the oracle; pruned top-k equals exhaustive",
          arguments: [UInt64(1), 2, 3, 4])
    func randomQueries(seed: UInt64) throws {
        let dir = TemporaryDirectory("oracle")
        let corpus = SearchCorpus(documents: 600, seed: seed)
        let reader = try SearcherTests.build(corpus, in: dir, name: "idx", commitEvery: seed % 2 == 0 ? 97 : nil, threads: 2)
        let searcher = Searcher(reader: reader)
        let oracle = Oracle(schema: reader.schema, texts: corpus.texts)
        let index = Dictionary(uniqueKeysWithValues: corpus.texts.enumerated().map { ($0.element.id, $0.offset) })
        var generator = QueryGenerator(rng: SeededRandom(seed: seed &* 7919), corpus: corpus)
        for q in 0..<150 {
            let any = q % 3 == 0
            let text = generator.query()
            var parser = QueryParser(schema: reader.schema, defaultOr: any)
            let query: Query
            do {
                query = try parser.parse(text)
            } catch {
                // Only queries that exclude everything may fail here.
                #expect(error.message.contains("only excludes"), "seed \(seed): '\(text)' failed: \(error)")
                continue
            }
            let expected = oracle.matches(query)
            let count = try searcher.count(query)
            #expect(count == expected.count, "seed \(seed) query '\(text)' (\(query)): count \(count), oracle \(expected.count)")
            for k in [1, 3, 10, 1000] {
                let pruned = try searcher.search(query, limit: k).hits
                let exhaustive = try searcher.search(query, limit: k, exhaustive: true).hits
                #expect(pruned == exhaustive, "seed \(seed) query '\(text)' k=\(k): pruned differs from exhaustive")
                // Scores match the oracle's, document by document.
                var scores: [Float] = []
                for hit in pruned {
                    let id = try SearcherTests.id(reader, hit)
                    guard let i = index[id], let e = expected.first(where: { $0.doc == i }) else {
                        Issue.record("seed \(seed) query '\(text)': hit \(id) is not a match of the oracle")
                        continue
                    }
                    #expect(SearcherTests.close(hit.score, e.score), "seed \(seed) query '\(text)': \(id) score \(hit.score), oracle \(e.score)")
                    scores.append(hit.score)
                }
                // The top-k scores are the oracle's k best (ties may pick different documents).
                let best = expected.map(\.score).sorted(by: >).prefix(k)
                #expect(scores.count == best.count, "seed \(seed) query '\(text)' k=\(k): \(scores.count) hits, oracle \(best.count)")
                for (a, b) in zip(scores, best) where !SearcherTests.close(a, b) {
                    Issue.record("seed \(seed) query '\(text)' k=\(k): ranked score \(a), oracle \(b)")
                    break
                }
            }
        }
    }

    @Test("the same results however the index is split into segments", arguments: [UInt64(11), 12])
    func segmentation(seed: UInt64) throws {
        let dir = TemporaryDirectory("segments")
        let corpus = SearchCorpus(documents: 500, seed: seed)
        let one = try SearcherTests.build(corpus, in: dir, name: "one", commitEvery: nil, threads: 1)
        let many = try SearcherTests.build(corpus, in: dir, name: "many", commitEvery: 41, threads: 2)
        #expect(one.segments.count == 1)
        #expect(many.segments.count > 5)
        var generator = QueryGenerator(rng: SeededRandom(seed: seed), corpus: corpus)
        for _ in 0..<80 {
            let text = generator.query()
            var parser = QueryParser(schema: one.schema)
            guard let query = try? parser.parse(text) else { continue }
            let a = Searcher(reader: one)
            let b = Searcher(reader: many)
            #expect(try a.count(query) == b.count(query), "seed \(seed) '\(text)'")
            let ha = try a.search(query, limit: 1000).hits
            let hb = try b.search(query, limit: 1000).hits
            var sa: [String: Float] = [:]
            for h in ha { sa[try SearcherTests.id(one, h)] = h.score }
            var sb: [String: Float] = [:]
            for h in hb { sb[try SearcherTests.id(many, h)] = h.score }
            #expect(sa == sb, "seed \(seed) '\(text)': different hits or scores between 1 and \(many.segments.count) segments")
        }
    }

    @Test("date sorting orders by date, newest or oldest first")
    func dateSort() throws {
        let dir = TemporaryDirectory("datesort")
        let corpus = SearchCorpus(documents: 300, seed: 5)
        let reader = try SearcherTests.build(corpus, in: dir, name: "idx", commitEvery: 77, threads: 2)
        let searcher = Searcher(reader: reader)
        var parser = QueryParser(schema: reader.schema)
        let query = try parser.parse("bank")
        let newest = try searcher.search(query, limit: 20, sort: .dateDescending).hits
        let dates = newest.map { $0.date ?? Int64.min }
        #expect(dates == dates.sorted(by: >))
        let all = corpus.texts.filter { t in t.fields.joined().joined(separator: " ").contains("bank") }
        let best = all.compactMap(\.date).sorted(by: >).prefix(20)
        #expect(Array(dates.prefix(best.count)) == Array(best))
        let oldest = try searcher.search(query, limit: 20, sort: .date).hits
        #expect(oldest.map { $0.date ?? Int64.max } == oldest.map { $0.date ?? Int64.max }.sorted())
    }

    @Test("a score by hand: one term in one field")
    func handComputed() throws {
        let dir = TemporaryDirectory("hand")
        var corpus = SearchCorpus(documents: 0, seed: 0)
        // Three documents; "bank" twice in d1's body of 4 terms.
        corpus.lines = [
            "{\"id\":\"d1\",\"title\":\"\",\"body\":\"bank bank loan rates\"}",
            "{\"id\":\"d2\",\"title\":\"\",\"body\":\"loan rates\"}",
            "{\"id\":\"d3\",\"title\":\"\",\"body\":\"oil\"}",
        ]
        let reader = try SearcherTests.build(corpus, in: dir, name: "idx", commitEvery: nil, threads: 1)
        var parser = QueryParser(schema: reader.schema)
        let hits = try Searcher(reader: reader).search(try parser.parse("body:bank"), limit: 10).hits
        #expect(hits.count == 1)
        // N = 3, n = 1: idf = ln(1 + 2.5/1.5); avgdl = 7/3; dl = 4; tf = 2.
        let idf = log(1 + 2.5 / 1.5)
        let k = 1.2 * (0.25 + 0.75 * 4 / (7.0 / 3))
        let expected = idf * 2.2 * 2 / (2 + k)
        #expect(abs(Double(hits[0].score) - expected) < 1e-5, "score \(hits[0].score), by hand \(expected)")
    }
}

/// Expects each query's pruned top k to equal its exhaustive top k, hit for hit and score for score, for each k.
func expectPrunedEqualsExhaustive(_ reader: IndexReader, _ texts: [String], ks: [Int]) throws {
    let searcher = Searcher(reader: reader)
    for text in texts {
        var parser = QueryParser(schema: reader.schema, defaultOr: false)
        let query = try parser.parse(text)
        for k in ks {
            let pruned = try searcher.search(query, limit: k).hits
            let exhaustive = try searcher.search(query, limit: k, exhaustive: true).hits
            #expect(pruned == exhaustive, "'\(text)' k=\(k)")
        }
    }
}

/// An index of JSON Lines `lines` in `dir` (one thread, no merges, a segment every `commitEvery` documents), with
/// the documents of ids `deleting` deleted, opened.
func indexOf(_ lines: [String], in dir: TemporaryDirectory, commitEvery: Int? = nil, deleting: [String] = [])
    throws -> IndexReader
{
    writeFile(dir.file("c.jsonl"), lines.joined(separator: "\n") + "\n")
    var options = IndexOptions()
    options.threads = 1
    options.mergePolicy = .none
    options.commitEvery = commitEvery
    let writer = try IndexWriter(directory: dir.file("idx"), schema: Schema(), options: options)
    _ = try writer.index([dir.file("c.jsonl")])
    for id in deleting { _ = try writer.delete(id: id) }
    if !deleting.isEmpty { try writer.commit() }
    writer.close()
    return try IndexReader(directory: dir.file("idx"))
}

@Suite("Phrases in long documents")
struct LongDocumentPhraseTests {
    /// Counting stops at a phrase's first occurrence; scoring counts them all. In long documents of a five-word
    /// vocabulary each term's positions span hundreds of 128-value groups, read in place, unpacked, and from the
    /// stream's vint tail: both must find exactly the documents that a scan of the words finds.
    @Test(arguments: [UInt64(21), 22])
    func countsAndFrequenciesEqualAScan(seed: UInt64) throws {
        var rng = SeededRandom(seedFromEnvironmentOr: seed)
        let words = ["a", "b", "c", "d", "e"]
        var bodies: [[String]] = []
        var lines: [String] = []
        for n in 0..<240 {
            // Mostly long documents (up to 3,000 words), some short; skewed so that "a" is frequent, "e" rare.
            let length = rng.chance(0.2) ? Int.random(in: 1...12, using: &rng) : Int.random(in: 100...3000, using: &rng)
            let body = (0..<length).map { _ in words[Int(rng.skewed(below: 5))] }
            bodies.append(body)
            lines.append(#"{"id":"d\#(n)","body":"\#(body.joined(separator: " "))"}"#)
        }
        let dir = TemporaryDirectory("long-phrases")
        let reader = try indexOf(lines, in: dir)
        let searcher = Searcher(reader: reader)
        /// Occurrences of `phrase` in `body`, overlaps included.
        func occurrences(_ phrase: [String], _ body: [String]) -> Int {
            guard body.count >= phrase.count else { return 0 }
            return (0...(body.count - phrase.count)).filter { i in
                phrase.indices.allSatisfy { body[i + $0] == phrase[$0] }
            }.count
        }
        var phrases: [[String]] = [["e", "e"], ["a", "a"], ["d", "e", "d"], ["e", "d", "c", "b"], ["b", "a"]]
        for _ in 0..<20 {
            phrases.append((0..<Int.random(in: 2...5, using: &rng)).map { _ in words[Int(rng.skewed(below: 5))] })
        }
        for phrase in phrases {
            let text = "\"" + phrase.joined(separator: " ") + "\""
            var parser = QueryParser(schema: reader.schema, defaultOr: false)
            let query = try parser.parse(text)
            let expected = bodies.map { occurrences(phrase, $0) }
            let matching = expected.filter { $0 > 0 }.count
            #expect(try searcher.count(query) == matching, "\(text), seed \(seed)")
            // Scoring decodes every position: the hits are the matching documents, and the best-scored one among
            // the shortest has the most occurrences (its frequency is the scan's).
            let hits = try searcher.search(query, limit: 1000).hits
            #expect(hits.count == matching, "\(text): \(hits.count) hits, scan \(matching)")
            for hit in hits.prefix(20) {
                let id = StoredDocument(try reader.storedDocument(segment: hit.segment, doc: hit.doc)).text("id") ?? ""
                let n = Int(id.dropFirst()) ?? -1
                #expect(n >= 0 && expected[n] > 0, "\(text): \(id) does not hold the phrase")
            }
        }
    }
}

@Suite("Dense unions")
struct DenseUnionTests {
    /// Two words in most documents (a union with a child in a 64th of the segment or more is collected window
    /// by window, not by block-max WAND): the pruned top k equals the exhaustive one, hit for hit and score for
    /// score, over several 4,096-document windows, with deleted documents, for one word and for ORs over title and
    /// body.
    @Test func windowedTopKEqualsExhaustive() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xDE_0001)
        let dir = TemporaryDirectory("dense")
        var lines: [String] = []
        for n in 0..<12_000 {
            var words: [String] = []
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                let r = rng.next() % 100
                words.append(r < 45 ? "a" : r < 80 ? "b" : r < 95 ? "c\(rng.next() % 50)" : "rare\(rng.next() % 500)")
            }
            let title = rng.chance(0.3) ? (rng.chance(0.5) ? "a b" : "b") : "t"
            lines.append(#"{"id":"d\#(n)","title":"\#(title)","body":"\#(words.joined(separator: " "))"}"#)
        }
        let reader = try indexOf(
            lines, in: dir, commitEvery: 7_000, deleting: stride(from: 3, to: 12_000, by: 7).map { "d\($0)" })
        #expect(reader.segments.count == 2)
        #expect(reader.segments.contains { $0.docCount > TermUnionScorer.window })
        try expectPrunedEqualsExhaustive(
            reader, ["a", "b", "a OR b", "a OR b OR c7", "b OR rare3", "title:b OR a"], ks: [1, 10, 100, 5000])
    }
}

@Suite("Union counts")
struct UnionCountTests {
    /// Words over title and body, and ORs of them, where one term holds most of the union's postings (counted as its
    /// document frequency plus what the others add: `TermUnionScorer.countBesideLargest`) and where none does (a
    /// bitset): the counts equal a scan of the documents' words, in one segment and in three, with and without
    /// deleted documents.
    @Test(arguments: [false, true])
    func countsEqualAScan(deleting: Bool) throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xC0_0001)
        var titles: [Set<String>] = []
        var bodies: [Set<String>] = []
        var lines: [String] = []
        for n in 0..<3_000 {
            // "a" in most bodies and few titles; "b" in titles and bodies alike; "r0"... "r9" rare anywhere.
            var body: [String] = []
            for _ in 0..<Int.random(in: 1...30, using: &rng) {
                let r = rng.next() % 100
                body.append(r < 40 ? "a" : r < 55 ? "b" : r < 57 ? "r\(rng.next() % 10)" : "w\(rng.next() % 200)")
            }
            var title = ["t"]
            if rng.chance(0.03) { title.append("a") }
            if rng.chance(0.2) { title.append("b") }
            if rng.chance(0.01) { title.append("r\(rng.next() % 10)") }
            titles.append(Set(title))
            bodies.append(Set(body))
            lines.append(#"{"id":"d\#(n)","title":"\#(title.joined(separator: " "))","body":"\#(body.joined(separator: " "))"}"#)
        }
        let doomed = deleting ? Set(stride(from: 5, to: 3_000, by: 11)) : []
        for commitEvery in [nil, 1_100] {
            let dir = TemporaryDirectory("union-counts")
            let reader = try indexOf(lines, in: dir, commitEvery: commitEvery, deleting: doomed.sorted().map { "d\($0)" })
            let searcher = Searcher(reader: reader)
            for text in ["a", "b", "r3", "a OR r3", "a OR r3 OR r7", "b OR r1", "a OR b", "title:a OR body:r2", "w7 OR a"] {
                var parser = QueryParser(schema: reader.schema, defaultOr: false)
                let query = try parser.parse(text)
                // The scan: a document matches when any word of the OR is in its title or body.
                let words = text.split(separator: " ").filter { $0 != "OR" }.map { w -> (String?, String) in
                    let parts = w.split(separator: ":")
                    return parts.count == 2 ? (String(parts[0]), String(parts[1])) : (nil, String(w))
                }
                let expected = (0..<lines.count).filter { n in
                    !doomed.contains(n) && words.contains { field, word in
                        (field != "body" && titles[n].contains(word)) || (field != "title" && bodies[n].contains(word))
                    }
                }.count
                #expect(try searcher.count(query) == expected, "'\(text)', segments \(reader.segments.count), deletes \(deleting)")
            }
        }
    }
}

@Suite("Phrase unions")
struct PhraseUnionTests {
    /// A phrase over title and body: where the title never holds it (though it holds both words), the title's
    /// phrase is left out of the union and the body's phrase is the root; where both can match, the union is the
    /// direct-call `PhraseUnionScorer`. Either way, counts equal a scan of the documents' words, and the pruned top k
    /// equals the exhaustive one, hit for hit, with deleted documents.
    @Test(arguments: [false, true])
    func phraseOverTitleAndBody(titlesHoldThePhrase: Bool) throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xF0_0001)
        let dir = TemporaryDirectory("phrase-union")
        var lines: [String] = []
        var fields: [[[String]]] = []
        for n in 0..<6_000 {
            var body: [String] = []
            for _ in 0..<Int.random(in: 1...30, using: &rng) {
                let r = rng.next() % 100
                body.append(r < 30 ? "a" : r < 60 ? "b" : r < 90 ? "c\(rng.next() % 20)" : "rare\(rng.next() % 300)")
            }
            let title: [String]
            switch rng.next() % 4 {
            case 0: title = ["b", "x", "a"]
            case 1: title = titlesHoldThePhrase && rng.chance(0.2) ? ["a", "b"] : ["b", "a"]
            default: title = ["t\(rng.next() % 10)"]
            }
            fields.append([title, body])
            lines.append(
                #"{"id":"d\#(n)","title":"\#(title.joined(separator: " "))","body":"\#(body.joined(separator: " "))"}"#)
        }
        let deleted = Set(stride(from: 5, to: 6_000, by: 11))
        let reader = try indexOf(lines, in: dir, commitEvery: 4_000, deleting: deleted.sorted().map { "d\($0)" })
        #expect(reader.segments.count == 2)
        let searcher = Searcher(reader: reader)

        func holds(_ words: [String], _ phrase: [String]) -> Bool {
            guard words.count >= phrase.count else { return false }
            return (0...(words.count - phrase.count)).contains { Array(words[$0..<($0 + phrase.count)]) == phrase }
        }
        for (text, phrase) in [("\"a b\"", ["a", "b"]), ("\"b a\"", ["b", "a"]), ("\"a b a\"", ["a", "b", "a"])] {
            var parser = QueryParser(schema: reader.schema, defaultOr: false)
            let query = try parser.parse(text)
            let expected = fields.indices.filter { !deleted.contains($0) && fields[$0].contains { holds($0, phrase) } }
            #expect(try searcher.count(query) == expected.count, "\(text)")
            let all = try searcher.search(query, limit: 10_000).hits.map { try SearcherTests.id(reader, $0) }
            #expect(Set(all) == Set(expected.map { "d\($0)" }), "\(text)")
            for k in [1, 10, 100] {
                let pruned = try searcher.search(query, limit: k).hits
                let exhaustive = try searcher.search(query, limit: k, exhaustive: true).hits
                #expect(pruned == exhaustive, "'\(text)' k=\(k)")
            }
        }
        // The shape of the scorer of `"a b"` in the first segment.
        var parser = QueryParser(schema: reader.schema, defaultOr: false)
        let weight = try searcher.bind(try parser.parse("\"a b\""))
        let scorer = weight.scorer(searcher, segment: 0, scoring: true)
        if titlesHoldThePhrase {
            #expect(scorer is PhraseUnionScorer)
        } else {
            #expect(scorer is PhraseScorer)
        }
    }
}

@Suite("Phrase block bounds")
struct PhraseBoundTests {
    /// A phrase's block bounds (from its terms' impacts: every document of a block dominated by one of four
    /// (frequency, length) pairs) and its segment bound are upper bounds of the score of every document it
    /// matches, exact and sloppy, in documents of lengths from 1 to 400 where frequencies range widely (and in
    /// some, a phrase occurs as often as its words).
    @Test(arguments: [UInt64(31), 32])
    func boundsHoldEveryScore(seed: UInt64) throws {
        var rng = SeededRandom(seedFromEnvironmentOr: seed)
        let words = ["a", "b", "c", "d", "e", "f"]
        var lines: [String] = []
        for n in 0..<3_000 {
            let length = rng.chance(0.3) ? Int.random(in: 1...10, using: &rng) : Int.random(in: 10...400, using: &rng)
            // Per document its own skew, so that frequencies and lengths vary independently across blocks; some
            // documents repeat a short pattern, where a phrase occurs as often as its words (bounds are reached).
            let skew = rng.next() % 4
            let pattern = (0..<Int.random(in: 2...3, using: &rng)).map { _ in words[Int(rng.next() % 6)] }
            let body = (0..<length).map { i in
                skew == 3 ? pattern[i % pattern.count] : words[Int(skew == 0 ? rng.skewed(below: 6) : rng.next() % 6)]
            }
            lines.append(#"{"id":"d\#(n)","body":"\#(body.joined(separator: " "))"}"#)
        }
        let dir = TemporaryDirectory("phrase-bounds")
        let reader = try indexOf(lines, in: dir)
        let searcher = Searcher(reader: reader)
        var checked = 0
        for text in [
            "body:\"a b\"", "body:\"a a\"", "body:\"b a c\"", "body:\"e f\"", "body:\"a b\"~2", "body:\"c a d\"~1",
            "body:\"f e d c\"",
        ] {
            var parser = QueryParser(schema: reader.schema, defaultOr: false)
            let weight = try searcher.bind(try parser.parse(text))
            guard let scorer = weight.scorer(searcher, segment: 0, scoring: true) else { continue }
            #expect(scorer is PhraseScorer, "\(text)")
            var d = scorer.doc
            while d != terminated {
                let score = scorer.score()
                _ = scorer.advanceShallow(d)
                let block = scorer.blockMaxScore()
                #expect(score <= block * (1 + 1e-6), "\(text): doc \(d) scores \(score) over its block bound \(block)")
                #expect(score <= scorer.maxScore * (1 + 1e-6), "\(text): doc \(d) over the segment bound")
                checked += 1
                d = scorer.next()
            }
        }
        #expect(checked > 1_000)
    }
}

@Suite("Conjunctions led by their titles")
struct TitleLedConjunctionTests {
    /// Frequent words in most bodies and in a few short titles: once the top documents hold the words in their
    /// titles, the bodies alone cannot beat the threshold and the titles' postings lead the conjunction
    /// (`ConjunctionScorer.setMinCompetitiveScore`). The pruned top k equals the exhaustive one, hit for hit and
    /// score for score, in two segments with deleted documents, for plain ANDs and for ANDs under other clauses.
    @Test func prunedTopKEqualsExhaustive() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x71_0001)
        let dir = TemporaryDirectory("titles")
        var lines: [String] = []
        for n in 0..<12_000 {
            var words: [String] = []
            for _ in 0..<Int.random(in: 1...60, using: &rng) {
                let r = rng.next() % 100
                words.append(r < 40 ? "a" : r < 70 ? "b" : r < 90 ? "c\(rng.next() % 20)" : "rare\(rng.next() % 300)")
            }
            var title: [String] = ["t\(rng.next() % 7)"]
            if rng.chance(0.06) { title.append("a") }
            if rng.chance(0.05) { title.append("b") }
            if rng.chance(0.03) { title.append("c\(rng.next() % 20)") }
            lines.append(
                #"{"id":"d\#(n)","title":"\#(title.joined(separator: " "))","body":"\#(words.joined(separator: " "))"}"#)
        }
        let reader = try indexOf(
            lines, in: dir, commitEvery: 7_000, deleting: stride(from: 5, to: 12_000, by: 11).map { "d\($0)" })
        #expect(reader.segments.count == 2)
        let searcher = Searcher(reader: reader)
        let queries = [
            "a b", "a b c3", "b c5", "a c1 c2", "a b -c4", "(a b) OR c7", "(a b) OR (b c2)", "+a +b c9", "a b t3",
            "title:t2 a b",
        ]
        for text in queries {
            var parser = QueryParser(schema: reader.schema, defaultOr: false)
            let query = try parser.parse(text)
            for k in [1, 10, 100, 1000] {
                let pruned = try searcher.search(query, limit: k).hits
                let exhaustive = try searcher.search(query, limit: k, exhaustive: true).hits
                let same = pruned == exhaustive
                let shorter = min(pruned.count, exhaustive.count)
                let first = (0..<shorter).first { pruned[$0] != exhaustive[$0] } ?? shorter
                #expect(same, "'\(text)' k=\(k): \(pruned.count) and \(exhaustive.count) hits, first difference at \(first)")
            }
        }
    }

    /// Under a threshold that the bodies cannot reach, the conjunction of "a b" is led by the titles' postings
    /// and still finds every document that can beat the threshold (those of a full scan, scored one by one).
    @Test func aHighThresholdLeadsByTheTitles() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x71_0002)
        let dir = TemporaryDirectory("titles2")
        var lines: [String] = []
        for n in 0..<5_000 {
            let body = (0..<Int.random(in: 5...50, using: &rng)).map { _ in rng.chance(0.5) ? "a" : "b\(rng.next() % 2)" }
            let title = rng.chance(0.05) ? "a b0" : rng.chance(0.1) ? "a" : "x"
            lines.append(#"{"id":"d\#(n)","title":"\#(title)","body":"\#(body.joined(separator: " "))"}"#)
        }
        let reader = try indexOf(lines, in: dir)
        let searcher = Searcher(reader: reader)
        var parser = QueryParser(schema: reader.schema, defaultOr: false)
        let weight = try searcher.bind(try parser.parse("a b0"))
        // Every match and its score, from a scorer without a threshold.
        let all = try #require(weight.scorer(searcher, segment: 0, scoring: true))
        var scores: [(UInt32, Float)] = []
        var d = all.doc
        while d != terminated {
            scores.append((d, all.score()))
            d = all.next()
        }
        let pruned = try #require(weight.scorer(searcher, segment: 0, scoring: true) as? ConjunctionScorer)
        #expect(!pruned.ledByTerms)
        // Above what the two terms of least maxima ("a" and "b0" in the bodies) can score together: only documents
        // with a word in the title can beat it.
        let maxima = pruned.termMaxima
        #expect(maxima.count == 4)
        let threshold = (maxima[0] + maxima[1]) * 1.01
        pruned.setMinCompetitiveScore(threshold)
        #expect(pruned.ledByTerms)
        var found: [UInt32] = []
        d = pruned.doc
        while d != terminated {
            if pruned.score() >= threshold { found.append(d) }
            d = pruned.next()
        }
        let expected = scores.filter { $0.1 >= threshold }.map(\.0)
        #expect(!expected.isEmpty)
        #expect(found == expected)
    }
}

@Suite("Unions led by a rare child")
struct RareLedUnionTests {
    /// A word in half the bodies and in few, short or long, titles (a title outscores any body, so once the top k
    /// is full only titles can lead: the union is collected by windows that start at a title and end with its
    /// block, and the bodies are sought only for titles whose score with the bodies' bound can beat the
    /// threshold); beside it a rare word (windows jump from one of its documents to the next) and a second
    /// frequent word. Over three segments with deleted documents, the pruned top k equals the exhaustive one, hit
    /// for hit and score for score.
    @Test func prunedTopKEqualsExhaustive() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xA1_0001)
        let dir = TemporaryDirectory("rare-led")
        var lines: [String] = []
        for n in 0..<20_000 {
            var words: [String] = []
            for _ in 0..<Int.random(in: 5...60, using: &rng) {
                let r = rng.next() % 100
                words.append(r < 6 ? "w" : r < 12 ? "v" : r < 13 ? "r\(rng.next() % 300)" : "x\(rng.next() % 400)")
            }
            var title = (0..<Int.random(in: 1...12, using: &rng)).map { _ in "t\(rng.next() % 50)" }
            if rng.chance(0.04) { title.insert("w", at: Int(rng.next() % UInt64(title.count + 1))) }
            if rng.chance(0.01) { title.append("v") }
            let fields = #""title":"\#(title.joined(separator: " "))","body":"\#(words.joined(separator: " "))""#
            lines.append(#"{"id":"d\#(n)",\#(fields)}"#)
        }
        let reader = try indexOf(
            lines, in: dir, commitEvery: 8_000, deleting: stride(from: 5, to: 20_000, by: 13).map { "d\($0)" })
        #expect(reader.segments.count == 3)
        try expectPrunedEqualsExhaustive(
            reader, ["w", "v", "w OR r17", "r5 OR w OR r200", "w OR v", "title:w OR v", "w OR x3"],
            ks: [1, 10, 100, 1000])
    }
}
