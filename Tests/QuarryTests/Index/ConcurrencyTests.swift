// Searches on one shared `Searcher` from several threads while a writer adds, deletes, merges and commits: the
// searches keep seeing the commit their reader opened (its files stay mapped even after the writer unlinks them),
// never fail, and a reader opened after the writes sees them.

import QuarryTestSupport
import Synchronization
import Testing

@testable import Quarry

@Suite("Concurrent searches and commits")
struct ConcurrencyTests {
    @Test func searchesSeeTheirCommitWhileTheWriterChangesTheIndex() throws {
        let dir = TemporaryDirectory("concurrency")
        let index = dir.file("index")
        let corpus = RandomCorpus(count: 1500, seed: 0xC0C0_0001)
        try buildIndex(at: index, corpus: corpus, scratch: dir, options: testIndexOptions { $0.commitEvery = 300 })
        let reader = try IndexReader(directory: index)
        let searcher = Searcher(reader: reader)
        let queries: [Query] = ["the", "fox", "search", "index", "dog"].map { .term(field: 2, term: Array($0.utf8)) }
            + [
                .boolean(
                    must: [.term(field: 2, term: Array("the".utf8)), .term(field: 2, term: Array("of".utf8))], should: [],
                    mustNot: [], filter: []),
                .phrase(field: 2, terms: [Array("the".utf8), Array("fox".utf8)], offsets: [0, 1], slop: 1),
            ]
        let expected = try queries.map { try searcher.count($0) }
        let expectedTop = try queries.map { try searcher.search($0, limit: 5).hits.map(\.doc) }
        let failures = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        var threads: [Thread] = []
        for t in 0..<2 {
            threads.append(
                Thread {
                    var round = 0
                    while !done.load(ordering: .relaxed) || round < 3 {
                        for (i, q) in queries.enumerated() {
                            let ok =
                                (try? searcher.count(q)) == expected[i]
                                && (try? searcher.search(q, limit: 5).hits.map(\.doc)) == expectedTop[i]
                            if !ok { failures.add(1, ordering: .relaxed) }
                        }
                        round += 1
                        if round > 10_000 { break }
                        _ = t
                    }
                })
        }
        // The writer: new documents, deletes by id and by query, a forced merge (which unlinks the files the
        // shared reader still maps), one commit each.
        let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
        for k in 0..<50 { try writer.add(id: "new-\(k)", fields: ["body": "the fox and the new document \(k)"]) }
        try writer.commit()
        for d in corpus.documents.prefix(200) { try writer.delete(id: d.id) }
        try writer.commit()
        try writer.delete(matching: .term(field: 2, term: Array("dog".utf8)))
        try writer.commit()
        try writer.forceMerge(maxSegments: 1)
        writer.close()
        done.store(true, ordering: .relaxed)
        for t in threads { t.join() }
        #expect(failures.load(ordering: .relaxed) == 0)
        // A new reader sees the changes.
        let fresh = try IndexReader(directory: index)
        #expect(fresh.segments.count == 1)
        #expect(try Searcher(reader: fresh).count(.term(field: 2, term: Array("dog".utf8))) == 0)
        #expect(fresh.documentCount < reader.documentCount + 50)
        #expect(IndexChecker.check(index).isSound)
    }
}
