// SIGKILL in the middle of a merge or a delete: the index stays at its last commit (or reaches the next one,
// whole), `check` finds it sound, and the next writer removes what the killed process left behind.

import Quarry
import QuarryTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Killed writers")
struct CrashTests {
    /// An index of 4,000 documents in 8 segments, some documents deleted.
    static func fixture(_ dir: TemporaryDirectory) throws -> (index: String, corpus: RandomCorpus) {
        let index = dir.file("index")
        let corpus = RandomCorpus(count: 4000, seed: 0xC4A5_0001)
        try buildIndex(
            at: index, corpus: corpus, scratch: dir, options: testIndexOptions { $0.commitEvery = 500 })
        let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
        for d in corpus.documents.prefix(300) where d.id.hasSuffix("7") { try writer.delete(id: d.id) }
        try writer.commit()
        writer.close()
        return (index, corpus)
    }

    /// What a reader sees: live ids and the top hits of a few queries.
    static func snapshot(_ index: String) throws -> [String] {
        let reader = try IndexReader(directory: index)
        let searcher = Searcher(reader: reader)
        var out = ["\(reader.documentCount)"]
        for word in ["the", "fox", "search", "index"] {
            let q = Query.term(field: 2, term: Array(word.utf8))
            out.append("\(word): \(try searcher.count(q))")
            for h in try searcher.search(q, limit: 5).hits {
                let id = StoredDocument(try reader.storedDocument(segment: h.segment, doc: h.doc)).text("id") ?? ""
                out.append("\(id) \(h.score)")
            }
        }
        return out
    }

    /// Files of the index directory that its manifest does not name.
    static func unreferenced(_ index: String) throws -> [String] {
        let m = try IndexDirectory.readManifest(index)
        var named = Set([Manifest.fileName, IndexDirectory.lockName])
        for s in m.segments {
            for k in FileKind.segmentKinds { named.insert(s.name + "." + k.fileExtension) }
            if let d = s.deletesPath(in: index) { named.insert(String(d.dropFirst(index.count + 1))) }
        }
        return listDirectory(index).filter { !named.contains($0) }
    }

    @Test func aKilledMergeLeavesTheLastCommit() throws {
        let quarry = try #require(quarryExecutable(), "the quarry executable is built beside the tests")
        let dir = TemporaryDirectory("crash")
        let (index, _) = try Self.fixture(dir)
        let before = try Self.snapshot(index)
        // The outcome of the merge run to its end, on a copy: with deletes dropped, the statistics (and so the
        // scores) change. A killed merge must leave exactly one of the two states.
        let copy = dir.file("copy")
        copyDirectory(index, to: copy)
        let writer = try IndexWriter(directory: copy, schema: nil, options: testIndexOptions())
        try writer.forceMerge(maxSegments: 1)
        writer.close()
        let after = try Self.snapshot(copy)
        #expect(after != before, "the fixture has deletes, which the merge drops")
        var rng = SeededRandom(seed: 0xC4A5_0002)
        for trial in 0..<8 {
            let child = try #require(spawnProcess([quarry, "merge", "-q", "-i", index, "--max-segments", "1"]))
            usleep(UInt32(rng.next() % 400_000))
            child.kill()
            child.wait()
            let check = IndexChecker.check(index)
            #expect(check.isSound, "trial \(trial): \(check.problems)")
            let now = try Self.snapshot(index)
            #expect(now == before || now == after, "trial \(trial)")
            // The next writer cleans up.
            try IndexWriter(directory: index, schema: nil, options: testIndexOptions()).close()
            #expect(try Self.unreferenced(index).isEmpty, "trial \(trial)")
            if try IndexDirectory.readManifest(index).segments.count == 1 { break }
        }
    }

    @Test func aKilledDeleteIsAllOrNothing() throws {
        let quarry = try #require(quarryExecutable(), "the quarry executable is built beside the tests")
        let dir = TemporaryDirectory("crash")
        let (index, _) = try Self.fixture(dir)
        var rng = SeededRandom(seed: 0xC4A5_0003)
        for trial in 0..<6 {
            let before = try IndexReader(directory: index).documentCount
            let word = ["fox", "search", "the", "index", "dog", "lazy"][trial]
            let matching = try Searcher(reader: IndexReader(directory: index)).count(.term(field: 2, term: Array(word.utf8)))
            let child = try #require(spawnProcess([quarry, "delete", "-q", "-i", index, "--query", "body:\(word)"]))
            usleep(UInt32(rng.next() % 60_000))
            child.kill()
            child.wait()
            let check = IndexChecker.check(index)
            #expect(check.isSound, "trial \(trial): \(check.problems)")
            let after = try IndexReader(directory: index).documentCount
            #expect(after == before || after == before - matching, "trial \(trial): \(before) -> \(after), \(matching) matched")
            try IndexWriter(directory: index, schema: nil, options: testIndexOptions()).close()
            #expect(try Self.unreferenced(index).isEmpty, "trial \(trial)")
        }
    }

    @Test func aKilledIndexRunLeavesACommitAndARerunConverges() throws {
        let quarry = try #require(quarryExecutable(), "the quarry executable is built beside the tests")
        let dir = TemporaryDirectory("crash")
        let index = dir.file("index")
        let corpus = RandomCorpus(count: 6000, seed: 0xC4A5_0004)
        corpus.write(to: dir.file("dump.jsonl"))
        var rng = SeededRandom(seed: 0xC4A5_0005)
        for trial in 0..<6 {
            let child = try #require(
                spawnProcess([quarry, "index", "-q", "-i", index, "--commit-every", "500", dir.file("dump.jsonl")]))
            usleep(UInt32(rng.next() % 1_500_000))
            child.kill()
            child.wait()
            guard IndexDirectory.exists(index) else { continue }
            let check = IndexChecker.check(index)
            #expect(check.isSound, "trial \(trial): \(check.problems)")
            // Every committed document is one of the dump's, whole.
            let reader = try IndexReader(directory: index)
            #expect(reader.documentCount <= corpus.documents.count, "trial \(trial)")
        }
        // Running the whole dump again completes it: every document once, as in the dump.
        let run = CLITests.quarry(["index", "-q", "-i", index, dir.file("dump.jsonl")])
        #expect(run.status == 0, "\(run.err)")
        let reader = try IndexReader(directory: index)
        #expect(reader.documentCount == corpus.documents.count)
        for d in corpus.documents where d.id.hasSuffix("3") {
            let (segment, doc) = try #require(try reader.locate(id: d.id))
            #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(d.line.utf8))
        }
        #expect(IndexChecker.check(index).isSound)
        #expect(try Self.unreferenced(index).isEmpty)
    }
}
