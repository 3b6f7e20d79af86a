// Damaged indexes: every segment file kind truncated and byte-flipped, a damaged manifest, missing files and a
// duplicated segment. `IndexChecker` must name the damaged file; opening and reading the index must either work
// or throw `.corruptIndex`/`.incompatibleFormat`, never trap. (The exit codes of `quarry check` on sound and
// damaged indexes are tested through the CLI in QuarryCLITests.)

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct CorruptionTests {
    /// A sound index of two segments, and its corpus.
    final class Pristine: Sendable {
        let dir = TemporaryDirectory("pristine")
        let index: String
        let documents: [CorpusDocument]
        /// What reading everything answers (`readEverything`).
        let answers: [String: String?]

        init() throws {
            index = dir.file("index")
            var a = RandomCorpus.Options()
            a.idPrefix = "a-"
            var b = RandomCorpus.Options()
            b.idPrefix = "b-"
            let first = RandomCorpus(count: 300, seed: 0xC022_0001, options: a)
            let second = RandomCorpus(count: 60, seed: 0xC022_0002, options: b)
            try buildIndex(at: index, corpus: first, scratch: dir, name: "a.jsonl")
            try buildIndex(at: index, corpus: second, scratch: dir, name: "b.jsonl")
            documents = first.documents + second.documents
            answers = CorruptionTests.readEverything(index, documents, "pristine") ?? [:]
        }

        /// A copy of the index to damage.
        func copy(into scratch: TemporaryDirectory, _ name: String) -> String {
            let path = scratch.file(name)
            copyDirectory(index, to: path)
            removeTree(path + "/" + IndexDirectory.lockName)
            return path
        }

        /// The first segment's file of `kind`, relative to an index directory.
        func segmentFile(_ kind: FileKind) throws -> String {
            let manifest = try IndexDirectory.readManifest(index)
            return manifest.segments[0].name + "." + kind.fileExtension
        }
    }

    enum Damage: CustomStringConvertible {
        case truncate(Int)
        case flip(Int)
        var description: String {
            switch self {
            case .truncate(let n): "truncated to \(n) bytes"
            case .flip(let o): "byte \(o) flipped"
            }
        }
    }

    static func damages(size: Int) -> [Damage] {
        let truncations = Set(
            [0, 1, 31, 32, 40, size / 2, size - 1, size - 8, size - 9].filter { $0 >= 0 && $0 < size })
        let flips = Set(
            [0, 4, 8, 9, 16, 31, 33, size / 3, size / 2, size - 9, size - 8, size - 5, size - 1].filter {
                $0 >= 0 && $0 < size
            })
        return truncations.sorted().map(Damage.truncate) + flips.sorted().map(Damage.flip)
    }

    static func apply(_ damage: Damage, to path: String) {
        switch damage {
        case .truncate(let n): truncateFile(path, to: n)
        case .flip(let o): flipByte(path, at: o)
        }
    }

    /// Opens the index and reads everything it holds through the engine's readers, and returns what each read
    /// answered: its answer, or nil where it reported damage (an error other than a damage report fails the test; a
    /// trap would end the test process). nil for the whole: the index did not open.
    static func readEverything(_ index: String, _ documents: [CorpusDocument], _ context: String) -> [String: String?]? {
        let reader: IndexReader
        do {
            reader = try IndexReader(directory: index)
        } catch {
            #expect(
                error.code == .corruptIndex || error.code == .incompatibleFormat, "open: \(error), \(context)")
            return nil
        }
        var answers: [String: String?] = [:]
        func read(_ key: String, _ body: () throws -> String?) {
            do {
                answers[key] = try body()
            } catch let error as QuarryError {
                #expect(error.code == .corruptIndex, "\(key): \(error), \(context)")
                answers[key] = .some(nil)
            } catch {
                Issue.record("\(key): \(error), \(context)")
            }
        }
        var positions: [UInt32] = []
        for (s, segment) in reader.segments.enumerated() {
            for ord in [Schema.idOrd] + Array(reader.schema.textFieldOrds) {
                read("segment \(s) field \(ord) terms and postings") {
                    var dump = ""
                    var damaged = false
                    try segment.terms.forEachTerm(ord) { term, info in
                        dump += "\(Array(term)) df \(info.docFreq):"
                        let it = segment.postingsIterator(ord, info, withPositions: ord != Schema.idOrd)
                        var n = 0
                        while it.doc != terminated && n <= Int(info.docFreq) {
                            dump += " \(it.doc)x\(it.freq) n\(segment.norm(ord, Int(it.doc)))"
                            if ord != Schema.idOrd {
                                if !it.positions(into: &positions) { damaged = true }
                                dump += " \(positions)"
                            }
                            n += 1
                            _ = it.next()
                        }
                        if it.corrupted { damaged = true }
                        dump += "\n"
                        return !damaged
                    }
                    return damaged ? nil : dump
                }
            }
            read("segment \(s) dates") { (0..<segment.docCount).map { "\(segment.dates.date($0) ?? -1)" }.joined(separator: " ") }
            read("segment \(s) deletes") { (0..<segment.docCount).map { segment.isDeleted($0) ? "1" : "0" }.joined() }
            for d in 0..<segment.docCount {
                read("segment \(s) stored \(d)") {
                    let store = try segment.makeStoreReader()
                    return String(decoding: try store.document(d), as: UTF8.self)
                }
            }
        }
        for d in documents.prefix(100) {
            read("id \(d.id)") {
                guard let (s, doc) = try reader.locate(id: d.id) else { return "absent" }
                return String(decoding: try reader.storedDocument(segment: s, doc: doc), as: UTF8.self)
            }
        }
        read("stats") { "\(try IndexStats(reader))" }
        return answers
    }

    /// Reads everything from a damaged copy and compares with the pristine index: every read either answers what
    /// the pristine index answers or reports damage. No silent wrong answer.
    static func expectNoSilentWrongAnswer(
        _ index: String, _ pristine: [String: String?], _ documents: [CorpusDocument], _ context: String
    ) {
        guard let answers = readEverything(index, documents, context) else { return }
        for (key, expected) in pristine {
            guard case .some(.some(let got)) = answers[key] else { continue }  // damage reported
            #expect(got == expected, "silent wrong answer: \(key), \(context)")
        }
    }

    @Test func thePristineIndexIsSound() throws {
        let p = try Pristine()
        let report = IndexChecker.check(p.index)
        #expect(report.isSound, "\(report.problems)")
        #expect(report.segmentsChecked == 2)
        #expect(report.filesChecked == 1 + 2 * FileKind.segmentKinds.count)
        #expect(report.documentsChecked == p.documents.count)
        #expect(report.termsChecked > 1000)
        let answers = try #require(Self.readEverything(p.index, p.documents, "pristine"))
        #expect(!answers.values.contains { $0 == nil }, "the pristine index reads without damage")
        // Its postings hold dense blocks (bitsets), so that the damage and fuzzing tests built on it reach them.
        let reader = try IndexReader(directory: p.index)
        var dense = 0
        for segment in reader.segments {
            for ord in 1...2 {
                try segment.terms.forEachTerm(ord) { _, info in
                    let it = segment.postingsIterator(ord, info, withPositions: false)
                    while it.doc != terminated { _ = it.next() }
                    dense += it.denseBlocksEntered
                    return true
                }
            }
        }
        #expect(dense > 0, "the pristine index has dense postings blocks")
    }

    @Test(arguments: FileKind.segmentKinds)
    func damagedSegmentFilesAreReported(_ kind: FileKind) throws {
        let p = try Pristine()
        let scratch = TemporaryDirectory("damaged")
        let name = try p.segmentFile(kind)
        let size = try #require(fileSize(p.index + "/" + name))
        for (k, damage) in Self.damages(size: size).enumerated() {
            let index = p.copy(into: scratch, "copy\(k)")
            let path = index + "/" + name
            Self.apply(damage, to: path)
            let context = "\(name) \(damage)"
            let report = IndexChecker.check(index)
            #expect(!report.isSound, "\(context)")
            #expect(report.problems.contains { $0.path == path }, "\(context): \(report.problems)")
            Self.expectNoSilentWrongAnswer(index, p.answers, p.documents, context)
            removeTree(index)
        }
    }

    @Test(arguments: FileKind.segmentKinds)
    func randomDamageIsReportedNeverAnswered(_ kind: FileKind) throws {
        // Random bytes overwritten anywhere in the file (most such damage passes the cheap checks made at open,
        // and is met only when the data is read): every read answers as the pristine index does, or reports damage.
        let p = try Pristine()
        let scratch = TemporaryDirectory("damaged")
        let name = try p.segmentFile(kind)
        let pristine = readFile(p.index + "/" + name)
        var rng = SeededRandom(seedFromEnvironmentOr: 0xC022_1000 + UInt64(FileKind.segmentKinds.firstIndex(of: kind)!))
        let index = p.copy(into: scratch, "fuzz")
        for trial in 0..<60 {
            var bytes = pristine
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            writeFile(index + "/" + name, bytes)
            let report = IndexChecker.check(index)
            if bytes != pristine {
                #expect(
                    report.problems.contains { $0.path == index + "/" + name }, "trial \(trial), \(rng.seedDescription)"
                )
            }
            Self.expectNoSilentWrongAnswer(index, p.answers, p.documents, "\(name) trial \(trial), \(rng.seedDescription)")
        }
    }

    @Test(arguments: [FileKind.positions, .postings])
    func filesOfVersionTwoAreReadAndOfVersionFourRefused(_ kind: FileKind) throws {
        // Version 2 positions groups are version 3 groups without exceptions: a positions file saying version 2
        // (checksums recomputed) opens, checks clean and answers as before. Version 2 postings differ from version
        // 3 (PostingsTests write and read them). A file of either saying 4 is refused as incompatible.
        let p = try Pristine()
        let scratch = TemporaryDirectory("versions")
        let name = try p.segmentFile(kind)
        let original = readFile(p.index + "/" + name)
        #expect(original[8] == 3 && original[9] == 0, "\(kind) files are written at version 3")
        var bytes = original
        if kind == .positions {
            let older = p.copy(into: scratch, "older")
            bytes[8] = 2
            resealSegmentFile(&bytes)
            writeFile(older + "/" + name, bytes)
            #expect(IndexChecker.check(older).problems.isEmpty)
            let answers = try #require(Self.readEverything(older, p.documents, "version 2"))
            for (key, expected) in p.answers { #expect(answers[key] == .some(expected), "\(key)") }
        }
        let newer = p.copy(into: scratch, "newer")
        bytes = original
        bytes[8] = 4
        writeFile(newer + "/" + name, bytes)
        let error = thrownQuarryError { try IndexReader(directory: newer) }
        #expect(error?.code == .incompatibleFormat)
        #expect(error?.message.contains("version 4") == true)
    }

    @Test func versionAndKindMismatchesAreNamed() throws {
        let p = try Pristine()
        let scratch = TemporaryDirectory("damaged")
        let name = try p.segmentFile(.postings)
        // A newer format version: incompatible, not damaged.
        let newer = p.copy(into: scratch, "newer")
        var bytes = readFile(newer + "/" + name)
        bytes[8] = 4
        writeFile(newer + "/" + name, bytes)
        let error = thrownQuarryError { try IndexReader(directory: newer) }
        #expect(error?.code == .incompatibleFormat)
        #expect(error?.path == newer + "/" + name)
        #expect(error?.message.contains("version 4") == true)
        // Another kind's file in its place.
        let swapped = p.copy(into: scratch, "swapped")
        writeFile(swapped + "/" + name, readFile(swapped + "/" + (try p.segmentFile(.positions))))
        let report = IndexChecker.check(swapped)
        #expect(report.problems.contains { $0.path == swapped + "/" + name })
        let swapError = thrownQuarryError { try IndexReader(directory: swapped) }
        #expect(swapError?.code == .corruptIndex)
    }

    @Test func damagedManifestIsReported() throws {
        let p = try Pristine()
        let scratch = TemporaryDirectory("damaged")
        let size = try #require(fileSize(p.index + "/" + Manifest.fileName))
        for (k, damage) in Self.damages(size: size).enumerated() {
            let index = p.copy(into: scratch, "m\(k)")
            let path = index + "/" + Manifest.fileName
            Self.apply(damage, to: path)
            let report = IndexChecker.check(index)
            #expect(!report.isSound, "manifest \(damage)")
            #expect(report.problems.map(\.path) == [path], "manifest \(damage): \(report.problems)")
            let error = thrownQuarryError { try IndexReader(directory: index) }
            #expect(error?.code == .corruptIndex, "manifest \(damage): \(String(describing: error))")
            #expect(error?.path == path)
            // A writer refuses it too (it would otherwise overwrite the index's state).
            let writerError = thrownQuarryError {
                try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
            }
            #expect(writerError?.code == .corruptIndex, "manifest \(damage)")
            removeTree(index)
        }
    }

    @Test func missingFilesAreReported() throws {
        let p = try Pristine()
        let scratch = TemporaryDirectory("damaged")
        for kind in FileKind.segmentKinds {
            let index = p.copy(into: scratch, "missing-\(kind)")
            let path = index + "/" + (try p.segmentFile(kind))
            removeTree(path)
            let report = IndexChecker.check(index)
            #expect(report.problems.contains { $0.path == path }, "\(kind): \(report.problems)")
            let error = thrownQuarryError { try IndexReader(directory: index) }
            #expect(error?.code == .io)
            #expect(error?.path == path)
        }
        // No manifest but segment files: a damaged index (which segments were committed is unknown).
        let index = p.copy(into: scratch, "no-manifest")
        removeTree(index + "/" + Manifest.fileName)
        let report = IndexChecker.check(index)
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.message.contains("quarry.manifest is missing, but") == true, "\(report.problems)")
        #expect(thrownQuarryError { try IndexReader(directory: index) }?.code == .invalidArgument)
        #expect(!IndexChecker.check(scratch.file("does-not-exist")).isSound)
    }

    @Test func aDuplicatedSegmentIsCaughtAsDuplicateIds() throws {
        // The same segment listed twice under two names: every file is sound, but ids are held twice.
        let p = try Pristine()
        let scratch = TemporaryDirectory("damaged")
        let index = p.copy(into: scratch, "twice")
        var manifest = try IndexDirectory.readManifest(index)
        var copy = manifest.segments[0]
        copy.name = Manifest.segmentName(0x99)
        for kind in FileKind.segmentKinds {
            writeFile(copy.path(kind, in: index), readFile(manifest.segments[0].path(kind, in: index)))
        }
        manifest.segments.append(copy)
        try IndexDirectory.commit(manifest, in: index)
        let report = IndexChecker.check(index)
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.message.contains("is held by live documents in") == true, "\(report.problems)")
        #expect(report.problems.first?.path == index)
    }
}
