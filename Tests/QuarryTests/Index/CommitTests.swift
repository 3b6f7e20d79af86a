// Commits: atomicity under a failure at every step of the commit, garbage left by failed runs, and the write lock.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct CommitTests {
    /// An index with one commit of `first`, and a second batch `second` written to a file.
    struct Fixture {
        let dir = TemporaryDirectory("commit")
        let index: String
        let first: RandomCorpus
        let second: RandomCorpus
        let secondPath: String

        init(seed: UInt64) throws {
            index = dir.file("index")
            var a = RandomCorpus.Options()
            a.idPrefix = "a-"
            var b = RandomCorpus.Options()
            b.idPrefix = "b-"
            first = RandomCorpus(count: 120, seed: seed, options: a)
            second = RandomCorpus(count: 80, seed: seed + 1, options: b)
            try buildIndex(at: index, corpus: first, scratch: dir, name: "first.jsonl")
            secondPath = dir.file("second.jsonl")
            second.write(to: secondPath)
        }

        /// Indexes the second batch.
        func indexSecond() -> QuarryError? {
            thrownQuarryError {
                let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
                defer { writer.close() }
                _ = try writer.index([secondPath])
            }
        }

        /// The ids the committed index holds.
        func committedIDs() throws -> Set<String> {
            let reader = try IndexReader(directory: index)
            var ids = Set<String>()
            for s in reader.segments {
                try s.terms.forEachTerm(Schema.idOrd) { term, _ in
                    ids.insert(String(decoding: term, as: UTF8.self))
                    return true
                }
            }
            return ids
        }

        var segmentFiles: [String] { listDirectory(index).filter { $0.hasPrefix("seg-") } }
    }

    @Test func nextWriterRemovesGarbageAndKeepsEverythingElse() throws {
        let f = try Fixture(seed: 0xC0_0003)
        let live = f.segmentFiles
        #expect(live.count == FileKind.segmentKinds.count)
        let garbage = [
            "seg-000000ff.terms", "seg-000000ff.post", "seg-000000ff.pos", "seg-00000abc.store",
            "seg-0123456789.norms",
            Manifest.temporaryName,
        ]
        let kept = [
            "notes.txt", "seg-xyz.terms", "seg-0000000g.terms", "seg-00000001.other", "seg-1234567.terms",
            "SEG-000000ff.terms",
        ]
        for name in garbage + kept { writeFile(f.index + "/" + name, "leftover") }

        let removed = try IndexDirectory.removeGarbage(
            f.index, keeping: try IndexDirectory.readManifest(f.index))
        #expect(Set(removed) == Set(garbage))
        #expect(
            listDirectory(f.index).sorted()
                == (live + kept + [Manifest.fileName, IndexDirectory.lockName]).sorted())

        // Opening a writer does the same.
        for name in garbage { writeFile(f.index + "/" + name, "leftover") }
        let writer = try IndexWriter(directory: f.index, schema: nil, options: testIndexOptions())
        writer.close()
        #expect(
            listDirectory(f.index).sorted()
                == (live + kept + [Manifest.fileName, IndexDirectory.lockName]).sorted())
        #expect(IndexChecker.check(f.index).isSound)
    }

    @Test func anInterruptedRunLeavesNoFiles() throws {
        // Segments flushed by a run that does not commit are deleted when the run ends.
        let f = try Fixture(seed: 0xC0_0004)
        let filesBefore = f.segmentFiles
        let calls = AtomicCounter()
        let options = testIndexOptions {
            $0.isInterrupted = { calls.increment() > 3 }
        }
        let writer = try IndexWriter(directory: f.index, schema: nil, options: options)
        let report = try writer.index([f.secondPath])
        writer.close()
        #expect(report.interrupted)
        #expect(f.segmentFiles == filesBefore)
        #expect(try f.committedIDs() == Set(f.first.documents.map(\.id)))
    }

    @Test func theWriteLockExcludesASecondWriter() throws {
        let dir = TemporaryDirectory("lock")
        let index = dir.file("index")
        let first = try IndexWriter(directory: index, schema: Schema(), options: testIndexOptions())
        let error = thrownQuarryError {
            try IndexWriter(directory: index, schema: Schema(), options: testIndexOptions())
        }
        #expect(error?.code == .locked)
        #expect(error?.path == index)
        #expect(error?.message.contains("another process is writing") == true)
        // Readers do not lock: an index committed by the first writer can be read while it holds the lock.
        try first.commitEmptyIfNew()
        #expect(try IndexReader(directory: index).documentCount == 0)
        first.close()
        let second = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
        withExtendedLifetime(second) {
            let third = thrownQuarryError {
                try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
            }
            #expect(third?.code == .locked)
        }
    }

    @Test func theLockIsReleasedByDeinitWithoutClose() throws {
        let dir = TemporaryDirectory("lock")
        let index = dir.file("index")
        do {
            let writer = try IndexWriter(directory: index, schema: Schema(), options: testIndexOptions())
            _ = writer
        }
        let again = try IndexWriter(directory: index, schema: Schema(), options: testIndexOptions())
        again.close()
    }

    @Test func manifestRoundTripsAndIsVerified() throws {
        var m = Manifest(schema: Schema(extraTextFields: ["notes"], analyzer: .english))
        m.generation = 7
        m.nextSegment = 0x1_0000_0000
        m.committedAt = -5
        var rng = SeededRandom(seed: 11)
        m.segments = (0..<3).map { i in
            SegmentInfo(
                name: Manifest.segmentName(UInt64(i + 1)), id: rng.bytes(16), docCount: 100 * (i + 1),
                fieldLengths: [UInt64(i), 1 << 40, 3],
                fileSizes: Dictionary(
                    uniqueKeysWithValues: FileKind.segmentKinds.map {
                        ($0, Int.random(in: 40...1 << 30, using: &rng))
                    })
            )
        }
        let bytes = m.encode()
        #expect(try Manifest.decode(bytes, path: "m") == m)
        #expect(m.documentCount == 600)
        #expect(m.fieldLengths == [3, 3 << 40, 9])
        // Every single-byte change is caught (checksum, or the structure).
        for offset in stride(from: 0, to: bytes.count, by: 3) {
            var damaged = bytes
            damaged[offset] ^= 0x20
            let error = thrownQuarryError { try Manifest.decode(damaged, path: "m") }
            #expect(error?.code == .corruptIndex || error?.code == .incompatibleFormat, "byte \(offset)")
        }
        for length in [0, 10, 32, 40, bytes.count - 1] {
            #expect(
                thrownQuarryError { try Manifest.decode(Array(bytes.prefix(length)), path: "m") }?.code
                    == .corruptIndex
            )
        }
        #expect(Manifest.segmentName(42) == "seg-0000002a")
        #expect(Manifest.segmentName(0x1_2345_6789) == "seg-123456789")
        #expect(Manifest.isValidSegmentName("seg-123456789"))
        #expect(!Manifest.isValidSegmentName("seg-1234567"))
        #expect(!Manifest.isValidSegmentName("seg-0000002A"))
    }
}
