// Commits: atomicity under a failure at every step of the commit, garbage left by failed runs, and the write lock.

import QuarryTestSupport
import Testing

@testable import Quarry

/// The steps of a manifest commit.
enum CommitStep: String, CaseIterable, Sendable {
    case manifestWrite, manifestSync, rename, directorySync
}

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

        /// Indexes the second batch with `rule` (scoped to this fixture's directory) in force.
        func indexSecond(failing rule: FaultInjection.Rule? = nil) -> QuarryError? {
            let run = {
                thrownQuarryError {
                    let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
                    defer { writer.close() }
                    _ = try writer.index([secondPath])
                }
            }
            guard var rule else { return run() }
            rule.pathPrefix = dir.path
            let (error, failures) = FaultInjection.with(rule, run)
            #expect(failures >= 1, "the rule failed an operation")
            return error
        }

        /// The step of the manifest commit that a test makes fail.
        func commitStep(_ step: CommitStep) -> FaultInjection.Rule {
            switch step {
            case .manifestWrite: FaultInjection.Rule(operation: .write, pathPrefix: "", pathContains: Manifest.temporaryName)
            case .manifestSync: FaultInjection.Rule(operation: .fsync, pathPrefix: "", pathContains: Manifest.temporaryName)
            case .rename: FaultInjection.Rule(operation: .rename, pathPrefix: "", pathContains: Manifest.fileName)
            case .directorySync: FaultInjection.Rule(operation: .fsyncDirectory, pathPrefix: "")
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

    @Test(arguments: [CommitStep.manifestWrite, .manifestSync, .rename])
    func aFailureBeforeTheRenameLeavesThePreviousCommit(_ step: CommitStep) throws {
        let f = try Fixture(seed: 0xC0_0001)
        let manifestBefore = readFile(f.index + "/" + Manifest.fileName)
        let filesBefore = f.segmentFiles

        let error = f.indexSecond(failing: f.commitStep(step))
        #expect(error?.code == .io, "\(String(describing: error))")
        #expect(error?.message.contains("manifest") == true, "\(String(describing: error))")

        // Exactly the first commit: same manifest bytes, same documents, and the new segment's files are gone.
        #expect(readFile(f.index + "/" + Manifest.fileName) == manifestBefore)
        let reader = try IndexReader(directory: f.index)
        #expect(reader.manifest.generation == 1)
        #expect(reader.documentCount == f.first.documents.count)
        #expect(try f.committedIDs() == Set(f.first.documents.map(\.id)))
        #expect(try reader.locate(id: f.second.documents[0].id) == nil)
        #expect(f.segmentFiles == filesBefore)
        #expect(IndexChecker.check(f.index).isSound)

        // The failed commit removed its temporary manifest.
        let tmp = f.index + "/" + Manifest.temporaryName
        #expect(!fileExists(tmp))
        #expect(f.indexSecond() == nil)
        #expect(!fileExists(tmp))
        #expect(try f.committedIDs() == Set((f.first.documents + f.second.documents).map(\.id)))
        #expect(IndexChecker.check(f.index).isSound)
    }

    @Test func aFailureAfterTheRenameKeepsTheNewCommitIntact() throws {
        // The rename is the commit point: once `quarry.manifest` names the new segments, readers see them. A failure
        // after it (here: before the directory is synced, which only makes the rename durable across a power loss)
        // is still reported, since the commit might not survive a crash, but the commit stands: the writer must
        // not delete the files that the visible manifest names, and the index stays sound.
        let f = try Fixture(seed: 0xC0_0002)
        let error = f.indexSecond(failing: f.commitStep(.directorySync))
        #expect(error?.code == .io)
        #expect(error?.message.contains("may not survive a crash") == true, "\(String(describing: error))")

        let reader = try IndexReader(directory: f.index)
        #expect(reader.manifest.generation == 2)
        #expect(reader.documentCount == f.first.documents.count + f.second.documents.count)
        #expect(try f.committedIDs() == Set((f.first.documents + f.second.documents).map(\.id)))
        let check = IndexChecker.check(f.index)
        #expect(check.isSound, "\(check.problems)")
        // Every document of the second batch is retrievable.
        for d in f.second.documents {
            let (segment, doc) = try #require(try reader.locate(id: d.id))
            #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(d.line.utf8))
        }
        // The next writer keeps the new segment (it is live), and indexing the batch again replaces it, whole.
        let again = f.indexSecond()
        #expect(again == nil)
        let after = try IndexReader(directory: f.index)
        #expect(after.documentCount == f.first.documents.count + f.second.documents.count)
        #expect(IndexChecker.check(f.index).isSound)
    }

    @Test func nextWriterRemovesGarbageAndKeepsEverythingElse() throws {
        let f = try Fixture(seed: 0xC0_0003)
        let live = f.segmentFiles
        #expect(live.count == FileKind.segmentKinds.count)
        let garbage = [
            "seg-000000ff.terms", "seg-000000ff.post", "seg-000000ff.pos", "seg-00000abc.store", "seg-0123456789.norms",
            Manifest.temporaryName,
        ]
        let kept = [
            "notes.txt", "seg-xyz.terms", "seg-0000000g.terms", "seg-00000001.other", "seg-1234567.terms",
            "SEG-000000ff.terms",
        ]
        for name in garbage + kept { writeFile(f.index + "/" + name, "leftover") }

        let removed = try IndexDirectory.removeGarbage(f.index, keeping: try IndexDirectory.readManifest(f.index))
        #expect(Set(removed) == Set(garbage))
        #expect(
            listDirectory(f.index).sorted() == (live + kept + [Manifest.fileName, IndexDirectory.lockName]).sorted())

        // Opening a writer does the same.
        for name in garbage { writeFile(f.index + "/" + name, "leftover") }
        let writer = try IndexWriter(directory: f.index, schema: nil, options: testIndexOptions())
        writer.close()
        #expect(
            listDirectory(f.index).sorted() == (live + kept + [Manifest.fileName, IndexDirectory.lockName]).sorted())
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
                    uniqueKeysWithValues: FileKind.segmentKinds.map { ($0, Int.random(in: 40...1 << 30, using: &rng)) })
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
                thrownQuarryError { try Manifest.decode(Array(bytes.prefix(length)), path: "m") }?.code == .corruptIndex
            )
        }
        #expect(Manifest.segmentName(42) == "seg-0000002a")
        #expect(Manifest.segmentName(0x1_2345_6789) == "seg-123456789")
        #expect(Manifest.isValidSegmentName("seg-123456789"))
        #expect(!Manifest.isValidSegmentName("seg-1234567"))
        #expect(!Manifest.isValidSegmentName("seg-0000002A"))
    }
}

/// Failures below the manifest: any file operation of a run, a delete or a merge fails, or the disk fills up. The
/// previous commit stays readable and whole, the error names the file, and the next run completes.
@Suite struct FaultInjectionTests {
    typealias Fixture = CommitTests.Fixture

    /// The previous commit is intact: the first batch exactly, and `check` passes.
    static func expectFirstCommit(_ f: Fixture, _ context: String) throws {
        let reader = try IndexReader(directory: f.index)
        #expect(reader.documentCount == f.first.documents.count, "\(context)")
        #expect(try f.committedIDs() == Set(f.first.documents.map(\.id)), "\(context)")
        let report = IndexChecker.check(f.index)
        #expect(report.isSound, "\(context): \(report.problems)")
    }

    @Test(arguments: [
        (FileOperation.create, ".post"), (.write, ".terms"), (.write, ".store"), (.fsync, ".pos"), (.fsync, ".dates"),
        (.create, ".norms"), (.mmap, ".terms"),
    ])
    func aFailedSegmentFileLeavesThePreviousCommit(_ operation: FileOperation, _ file: String) throws {
        let f = try Fixture(seed: 0xFA_0001)
        let error = f.indexSecond(
            failing: FaultInjection.Rule(operation: operation, pathPrefix: "", pathContains: file))
        let context = "\(operation) \(file)"
        #expect(error?.code == .io, "\(context): \(String(describing: error))")
        #expect(error?.path?.contains(file) == true, "\(context): the error names the file: \(String(describing: error))")
        try Self.expectFirstCommit(f, context)
        // The next run removes what the failed one left and completes.
        #expect(f.indexSecond() == nil)
        #expect(try f.committedIDs() == Set((f.first.documents + f.second.documents).map(\.id)))
        #expect(IndexChecker.check(f.index).isSound)
    }

    @Test func aFullDiskDuringARunLeavesThePreviousCommit() throws {
        let f = try Fixture(seed: 0xFA_0002)
        // The disk fills up after 20 kB more: in the middle of the new segment's files.
        let error = f.indexSecond(
            failing: FaultInjection.Rule(operation: .write, pathPrefix: "", diskBytes: 20_000))
        #expect(error?.code == .io)
        #expect(String(describing: error).contains("No space left on device"), "\(String(describing: error))")
        try Self.expectFirstCommit(f, "ENOSPC")
        #expect(f.indexSecond() == nil)
    }

    @Test(arguments: [FileOperation.write, .fsync, .rename])
    func aFailedDeleteOrMergeLeavesThePreviousCommit(_ operation: FileOperation) throws {
        let f = try Fixture(seed: 0xFA_0003)
        #expect(f.indexSecond() == nil)
        let before = try f.committedIDs()
        let doomed = f.first.documents[0].id
        // A delete: its deletes file (or the manifest, for the rename) fails.
        let (deleteError, deleteFailures) = FaultInjection.with(
            FaultInjection.Rule(operation: operation, pathPrefix: f.dir.path, pathContains: operation == .rename ? nil : ".del")
        ) {
            thrownQuarryError {
                let writer = try IndexWriter(directory: f.index, schema: nil, options: testIndexOptions())
                defer { writer.close() }
                _ = try writer.delete(id: doomed)
                try writer.commit()
            }
        }
        #expect(deleteFailures >= 1)
        #expect(deleteError?.code == .io, "\(String(describing: deleteError))")
        #expect(try f.committedIDs() == before)
        #expect(try IndexReader(directory: f.index).locate(id: doomed) != nil)
        // A merge: the merged segment's files (or the manifest) fail.
        let (mergeError, mergeFailures) = FaultInjection.with(
            FaultInjection.Rule(operation: operation, pathPrefix: f.dir.path, pathContains: operation == .rename ? nil : ".store")
        ) {
            thrownQuarryError {
                let writer = try IndexWriter(directory: f.index, schema: nil, options: testIndexOptions())
                defer { writer.close() }
                try writer.forceMerge(maxSegments: 1)
            }
        }
        #expect(mergeFailures >= 1)
        #expect(mergeError?.code == .io, "\(String(describing: mergeError))")
        let reader = try IndexReader(directory: f.index)
        #expect(reader.segments.count == 2)
        #expect(try f.committedIDs() == before)
        #expect(IndexChecker.check(f.index).isSound)
    }
}
