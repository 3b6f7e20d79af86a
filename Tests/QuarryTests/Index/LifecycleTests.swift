// The index lifecycle against an in-memory model: random sequences of indexing runs (with ids that repeat, so
// documents are replaced), library adds, deletes by id and by query, forced and policy merges and commits. After
// every step the index must agree with the model: the live documents and their stored text (`get`), the document
// count, the hit sets of term queries (matched by a naive analyzer, not the engine's), and `check`. At the end,
// after a merge into one segment, every score must equal that of an index built from scratch from the live
// documents. Seeds are printed; `QUARRY_TEST_SEED` is not needed: each argument is its own seed.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite("Index lifecycle against a model")
struct LifecycleTests {
    /// What the index should hold: id -> the document's JSON line, title and body.
    struct Model {
        var documents: [String: (line: String, title: String, body: String)] = [:]

        /// Ids of live documents whose field `ord` (1 title, 2 body) holds `term`, by the naive analyzer.
        func matching(_ ord: Int, _ term: [UInt8]) -> Set<String> {
            var out = Set<String>()
            for (id, d) in documents {
                let text = ord == 1 ? d.title : d.body
                if NaiveAnalyzer.field([text]).terms.contains(where: { $0.term == term }) { out.insert(id) }
            }
            return out
        }
    }

    static let words = [
        "alpha", "beta", "gamma", "delta", "river", "stone", "quarry", "merge", "segment", "delete", "night", "day",
        "north", "south", "blue", "green",
    ]

    static func randomText(_ rng: inout SeededRandom, words n: Int) -> String {
        (0..<n).map { _ in words[Int(rng.skewed(below: UInt64(words.count)))] }.joined(separator: " ")
    }

    static func randomDocument(_ rng: inout SeededRandom, id: String, version: Int) -> (line: String, title: String, body: String) {
        let title = randomText(&rng, words: 1 + Int(rng.next() % 4))
        let body = randomText(&rng, words: 2 + Int(rng.next() % 25)) + " v\(version)"
        let day = 1 + Int(rng.next() % 28)
        let line =
            "{\"id\":\(jsonString(id)),\"date\":\"2020-02-\(day < 10 ? "0" : "")\(day)\",\"title\":\(jsonString(title)),\"body\":\(jsonString(body))}"
        return (line, title, body)
    }

    /// Checks the index against the model.
    static func verify(_ index: String, _ model: Model, ids: [String], rng: inout SeededRandom, _ context: String) throws {
        let reader = try IndexReader(directory: index)
        #expect(reader.documentCount == model.documents.count, "\(context): document count")
        for id in ids {
            let found = try reader.locate(id: id)
            if let d = model.documents[id] {
                guard let (s, doc) = found else {
                    Issue.record("\(context): \(id) is missing")
                    continue
                }
                #expect(try reader.storedDocument(segment: s, doc: doc) == Array(d.line.utf8), "\(context): \(id)")
            } else {
                #expect(found == nil, "\(context): \(id) should be gone")
            }
        }
        let searcher = Searcher(reader: reader)
        for _ in 0..<6 {
            let ord = rng.chance(0.3) ? 1 : 2
            let term = Array(words[Int(rng.next() % UInt64(words.count))].utf8)
            let expected = model.matching(ord, term)
            let query = Query.term(field: ord, term: term)
            #expect(try searcher.count(query) == expected.count, "\(context): count of #\(ord):\(String(decoding: term, as: UTF8.self))")
            let hits = try searcher.search(query, limit: 1000).hits
            var got = Set<String>()
            for h in hits {
                got.insert(StoredDocument(try reader.storedDocument(segment: h.segment, doc: h.doc)).text("id") ?? "")
            }
            #expect(got == expected, "\(context): hits of #\(ord):\(String(decoding: term, as: UTF8.self))")
            // Two words, AND and OR (unions and intersections skip deleted documents too).
            let other = Array(words[Int(rng.next() % UInt64(words.count))].utf8)
            let both = Query.boolean(must: [.term(field: 2, term: term), .term(field: 2, term: other)], should: [], mustNot: [], filter: [])
            let either = Query.boolean(must: [], should: [.term(field: 2, term: term), .term(field: 2, term: other)], mustNot: [], filter: [])
            let a = model.matching(2, term)
            let b = model.matching(2, other)
            #expect(try searcher.count(both) == a.intersection(b).count, "\(context): AND count")
            #expect(try searcher.count(either) == a.union(b).count, "\(context): OR count")
        }
        let stats = try IndexStats(reader)
        #expect(stats.documents == model.documents.count, "\(context): stats documents")
        #expect(stats.ids == model.documents.count, "\(context): stats ids")
        let check = IndexChecker.check(index)
        #expect(check.isSound, "\(context): \(check.problems)")
    }

    @Test("random add, replace, delete, merge and commit sequences", arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func randomOperations(seed: UInt64) throws {
        var rng = SeededRandom(seed: 0x11FE_0000 + seed)
        let dir = TemporaryDirectory("lifecycle")
        let index = dir.file("index")
        let ids = (0..<60).map { "m-\($0)" }
        var model = Model()
        var version = 0
        var batch = 0
        func options(_ rng: inout SeededRandom) -> IndexOptions {
            testIndexOptions(threads: 1 + Int(rng.next() % 2)) { o in
                if rng.chance(0.5) {
                    o.mergePolicy = MergePolicy()
                    o.mergePolicy.mergeFactor = 2 + Int(rng.next() % 3)
                    o.mergePolicy.floorBytes = 1024
                    // Half of these merge the run's segments at its end, half merge during the run.
                    if rng.chance(0.5) { o.mergePolicy.runMergeBytes = nil }
                }
                if rng.chance(0.3) { o.commitEvery = 3 + Int(rng.next() % 10) }
            }
        }
        for step in 0..<24 {
            let op = step == 0 ? 0 : Int(rng.next() % 6)
            let context = "seed \(seed) step \(step) op \(op)"
            switch op {
            case 0, 1:
                // An indexing run over a file whose ids repeat (within it and with the index).
                var lines: [String] = []
                for _ in 0..<(1 + Int(rng.next() % 40)) {
                    let id = ids[Int(rng.next() % UInt64(ids.count))]
                    version += 1
                    let d = Self.randomDocument(&rng, id: id, version: version)
                    lines.append(d.line)
                    model.documents[id] = d
                }
                batch += 1
                let path = dir.file("batch\(batch).jsonl")
                writeFile(path, lines.joined(separator: "\n") + "\n")
                try buildIndex(at: index, inputs: [path], schema: step == 0 ? Schema() : nil, options: options(&rng))
            case 2:
                // Library adds and deletes by id, one commit.
                let writer = try IndexWriter(directory: index, schema: nil, options: options(&rng))
                defer { writer.close() }
                for _ in 0..<(1 + Int(rng.next() % 12)) {
                    let id = ids[Int(rng.next() % UInt64(ids.count))]
                    if rng.chance(0.3) {
                        let n = try writer.delete(id: id)
                        #expect(n == (model.documents[id] == nil ? 0 : 1), "\(context): delete \(id)")
                        model.documents[id] = nil
                    } else {
                        version += 1
                        let d = Self.randomDocument(&rng, id: id, version: version)
                        try writer.add(json: d.line)
                        model.documents[id] = d
                    }
                }
                try writer.commit()
            case 3:
                // Delete by query.
                let term = Array(Self.words[Int(rng.next() % UInt64(Self.words.count))].utf8)
                let ord = rng.chance(0.5) ? 1 : 2
                let expected = model.matching(ord, term)
                let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
                defer { writer.close() }
                let n = try writer.delete(matching: .term(field: ord, term: term))
                #expect(n == expected.count, "\(context): deleted by query")
                try writer.commit()
                for id in expected { model.documents[id] = nil }
            case 4:
                let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
                defer { writer.close() }
                try writer.forceMerge(maxSegments: 1 + Int(rng.next() % 3))
            default:
                var o = testIndexOptions()
                o.mergePolicy = MergePolicy()
                o.mergePolicy.mergeFactor = 2
                o.mergePolicy.floorBytes = 1024
                let writer = try IndexWriter(directory: index, schema: nil, options: o)
                defer { writer.close() }
                try writer.mergeAsPolicyAsks()
            }
            try Self.verify(index, model, ids: ids, rng: &rng, context)
        }

        // One segment, no deletes: every score equals that of a fresh build of the live documents.
        do {
            let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
            try writer.forceMerge(maxSegments: 1)
            writer.close()
        }
        let merged = try IndexReader(directory: index)
        #expect(merged.segments.count <= 1)
        #expect(merged.manifest.segments.allSatisfy { $0.deletedCount == 0 })
        let fresh = dir.file("fresh")
        let live = model.documents.keys.sorted().compactMap { model.documents[$0]?.line }
        writeFile(dir.file("live.jsonl"), live.joined(separator: "\n") + "\n")
        try buildIndex(at: fresh, inputs: [dir.file("live.jsonl")])
        let scratch = try IndexReader(directory: fresh)
        #expect(merged.statisticsDocumentCount == scratch.statisticsDocumentCount)
        #expect(merged.fieldLengths == scratch.fieldLengths)
        for w in Self.words {
            for query in [
                Query.term(field: 2, term: Array(w.utf8)),
                .boolean(
                    must: [], should: [.term(field: 1, term: Array(w.utf8)), .term(field: 2, term: Array(w.utf8))],
                    mustNot: [], filter: []),
                .phrase(field: 2, terms: [Array(w.utf8), Array("alpha".utf8)], offsets: [0, 1], slop: 0),
            ] {
                func scores(_ r: IndexReader) throws -> [String: Float] {
                    var out: [String: Float] = [:]
                    for h in try Searcher(reader: r).search(query, limit: 1000).hits {
                        out[StoredDocument(try r.storedDocument(segment: h.segment, doc: h.doc)).text("id") ?? ""] = h.score
                    }
                    return out
                }
                #expect(try scores(merged) == scores(scratch), "seed \(seed): scores of \(query) after the merge")
            }
        }
    }
}
