// Failures below the manifest, through the test-only fault injection seam (Storage/FaultInjection.swift, compiled
// in debug builds only): each step of a manifest commit, any file operation of a run, a delete or a merge, and a
// disk that fills up. The previous commit stays readable and whole, the error names the file, and the next run
// completes.

#if QUARRY_FAULT_INJECTION
    import QuarryTestSupport
    import Testing

    @testable import Quarry

    /// The steps of a manifest commit.
    enum CommitStep: String, CaseIterable, Sendable {
        case manifestWrite, manifestSync, rename, directorySync
    }

    extension CommitTests.Fixture {
        /// Indexes the second batch with `rule` (scoped to this fixture's directory) in force.
        func indexSecond(failing rule: FaultInjection.Rule) -> QuarryError? {
            var rule = rule
            rule.pathPrefix = dir.path
            let run = { indexSecond() }
            let (error, failures) = FaultInjection.with(rule, run)
            #expect(failures >= 1, "the rule failed an operation")
            return error
        }

        /// The step of the manifest commit that a test makes fail.
        func commitStep(_ step: CommitStep) -> FaultInjection.Rule {
            switch step {
            case .manifestWrite:
                FaultInjection.Rule(operation: .write, pathPrefix: "", pathContains: Manifest.temporaryName)
            case .manifestSync:
                FaultInjection.Rule(operation: .fsync, pathPrefix: "", pathContains: Manifest.temporaryName)
            case .rename:
                FaultInjection.Rule(operation: .rename, pathPrefix: "", pathContains: Manifest.fileName)
            case .directorySync: FaultInjection.Rule(operation: .fsyncDirectory, pathPrefix: "")
            }
        }

    }

    extension CommitTests {
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
            #expect(
                error?.message.contains("may not survive a crash") == true, "\(String(describing: error))")

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
            (FileOperation.create, ".post"), (.write, ".terms"), (.write, ".store"), (.fsync, ".pos"),
            (.fsync, ".dates"),
            (.create, ".norms"), (.mmap, ".terms"),
        ])
        func aFailedSegmentFileLeavesThePreviousCommit(_ operation: FileOperation, _ file: String)
            throws
        {
            let f = try Fixture(seed: 0xFA_0001)
            let error = f.indexSecond(
                failing: FaultInjection.Rule(operation: operation, pathPrefix: "", pathContains: file))
            let context = "\(operation) \(file)"
            #expect(error?.code == .io, "\(context): \(String(describing: error))")
            #expect(
                error?.path?.contains(file) == true,
                "\(context): the error names the file: \(String(describing: error))")
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
            #expect(
                String(describing: error).contains("No space left on device"),
                "\(String(describing: error))")
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
                FaultInjection.Rule(
                    operation: operation, pathPrefix: f.dir.path,
                    pathContains: operation == .rename ? nil : ".del")
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
                FaultInjection.Rule(
                    operation: operation, pathPrefix: f.dir.path,
                    pathContains: operation == .rename ? nil : ".store")
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
#endif
