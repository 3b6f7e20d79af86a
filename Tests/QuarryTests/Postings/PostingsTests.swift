// PostingsWriter -> .post/.pos files -> PostingsIterator, against an in-memory model of each term: documents,
// frequencies, positions, `advance(to:)`, and the block and term bounds used by block-max pruning.

import QuarryTestSupport
import Testing

@testable import Quarry

/// One term's postings as the model holds them.
struct ModelPostings {
    var docs: [UInt32]
    var freqs: [UInt32]
    /// Absolute, increasing positions per document.
    var positions: [[UInt32]]

    /// Random postings of `docFreq` documents below `maxDoc`.
    static func random(docFreq: Int, maxDoc: Int, maxGap: UInt64, _ rng: inout SeededRandom) -> ModelPostings {
        var docs: [UInt32] = []
        var next = UInt64(rng.skewed(below: maxGap))
        for _ in 0..<docFreq {
            docs.append(UInt32(next))
            next += 1 + rng.skewed(below: maxGap)
        }
        precondition(Int(docs.last!) < maxDoc)
        var freqs: [UInt32] = []
        var positions: [[UInt32]] = []
        for _ in 0..<docFreq {
            let f = rng.chance(0.5) ? 1 : UInt32(1 + rng.skewed(below: 40))
            freqs.append(f)
            var p = UInt32(rng.skewed(below: 1000))
            var ps: [UInt32] = []
            for _ in 0..<f {
                ps.append(p)
                p += 1 + UInt32(rng.skewed(below: 300))
            }
            positions.append(ps)
        }
        return ModelPostings(docs: docs, freqs: freqs, positions: positions)
    }

    /// What the writer takes: per document its first position, then the gaps.
    var positionValues: [UInt32] {
        var out: [UInt32] = []
        for ps in positions {
            var previous: UInt32 = 0
            for p in ps {
                out.append(p - previous)
                previous = p
            }
        }
        return out
    }
}

/// Writes terms into a `.post` and a `.pos` file and maps them back.
final class PostingsFixture {
    let directory = TemporaryDirectory("postings")
    let id: [UInt8]
    var postingsFile: MappedFile!
    var positionsFile: MappedFile!
    var postings: RawBytes!
    var positions: RawBytes!
    var postingsChunks: ChunkVerifier!
    var positionsChunks: ChunkVerifier!
    var infos: [TermInfo] = []

    /// - Parameter version: the postings format version written (2: as the previous version wrote it).
    init(
        terms: [ModelPostings], norms: [UInt8]?, withPositions: Bool = true, seed: UInt64 = 1,
        version: UInt16 = FileKind.postings.version
    ) throws {
        var rng = SeededRandom(seed: seed)
        id = rng.bytes(16)
        let post = try FileWriter(path: directory.file("s.post"), kind: .postings, id: id, version: version)
        let pos = try FileWriter(path: directory.file("s.pos"), kind: .positions, id: id)
        let writer = PostingsWriter(postings: post, positions: withPositions ? pos : nil, version: version)
        for t in terms {
            let values = t.positionValues
            let info = try t.docs.withUnsafeBufferPointer { d in
                try t.freqs.withUnsafeBufferPointer { f in
                    try values.withUnsafeBufferPointer { p in
                        if let norms {
                            return try norms.withUnsafeBufferPointer { n in
                                try writer.writeTerm(
                                    docs: d, freqs: f, positionValues: withPositions ? p : nil, norms: n)
                            }
                        }
                        return try writer.writeTerm(
                            docs: d, freqs: f, positionValues: withPositions ? p : nil, norms: nil)
                    }
                }
            }
            infos.append(info)
        }
        try post.finish()
        try pos.finish()
        postingsFile = try MappedFile(path: directory.file("s.post"))
        positionsFile = try MappedFile(path: directory.file("s.pos"))
        (postings, postingsChunks) = try FileFormat.open(postingsFile, kind: .postings, id: id, minimumTrailer: 0)
        (positions, positionsChunks) = try FileFormat.open(positionsFile, kind: .positions, id: id, minimumTrailer: 0)
    }

    func iterator(_ term: Int, maxDoc: Int, norms: [UInt8]?, withPositions: Bool = true) -> PostingsIterator {
        let info = infos[term]
        let singletonNorm = info.docFreq == 1 ? (norms?[Int(info.singletonDoc)] ?? 0) : 0
        return PostingsIterator(
            postings: postings, positions: withPositions ? positions : nil, info: info, maxDoc: maxDoc,
            singletonNorm: singletonNorm, postingsChunks: postingsChunks, positionsChunks: positionsChunks)
    }
}

@Suite struct PostingsTests {
    static let docFreqs = [1, 2, 127, 128, 129, 255, 256, 300, 1000]

    /// Several terms of every size in one pair of files (so offsets other than zero are exercised), with one
    /// shared norms column.
    static func makeFixture(_ rng: inout SeededRandom, maxDoc: Int = 50_000) throws -> (
        PostingsFixture, [ModelPostings], [UInt8]
    ) {
        let norms = (0..<maxDoc).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var terms: [ModelPostings] = []
        for df in docFreqs {
            // Dense and sparse variants.
            terms.append(.random(docFreq: df, maxDoc: maxDoc, maxGap: 3, &rng))
            terms.append(.random(docFreq: df, maxDoc: maxDoc, maxGap: UInt64(maxDoc / (df + 1)), &rng))
        }
        return (try PostingsFixture(terms: terms, norms: norms, seed: rng.next()), terms, norms)
    }

    @Test func everyDocumentFrequencyAndPositionMatchesTheModel() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0001)
        let (fixture, terms, norms) = try Self.makeFixture(&rng)
        var positions: [UInt32] = []
        for (t, model) in terms.enumerated() {
            let it = fixture.iterator(t, maxDoc: norms.count, norms: norms)
            #expect(it.docFreq == model.docs.count)
            #expect(it.numBlocks == (model.docs.count + 127) / 128)
            var k = 0
            var doc = it.doc
            while doc != terminated {
                guard k < model.docs.count else {
                    Issue.record("term \(t): more documents than the model, \(rng.seedDescription)")
                    break
                }
                #expect(doc == model.docs[k], "term \(t) doc #\(k), \(rng.seedDescription)")
                #expect(it.freq == model.freqs[k], "term \(t) doc #\(k), \(rng.seedDescription)")
                #expect(it.positions(into: &positions))
                #expect(positions == model.positions[k], "term \(t) doc #\(k), \(rng.seedDescription)")
                k += 1
                doc = it.next()
            }
            #expect(k == model.docs.count, "term \(t), \(rng.seedDescription)")
            #expect(!it.corrupted)
            // Stays terminated.
            #expect(it.next() == terminated)
            #expect(it.advance(to: 0) == terminated)
            #expect(!it.positions(into: &positions))
        }
    }

    @Test func positionsOfEveryOtherDocumentAndOnlySome() throws {
        // Positions are decoded lazily per block: ask for them out of the usual pattern.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0002)
        let (fixture, terms, norms) = try Self.makeFixture(&rng)
        var positions: [UInt32] = []
        for (t, model) in terms.enumerated() {
            let it = fixture.iterator(t, maxDoc: norms.count, norms: norms)
            var k = 0
            while it.doc != terminated {
                if rng.chance(0.3) {
                    #expect(it.positions(into: &positions))
                    #expect(positions == model.positions[k], "term \(t) doc #\(k), \(rng.seedDescription)")
                    // Twice in a row gives the same answer.
                    #expect(it.positions(into: &positions))
                    #expect(positions == model.positions[k])
                }
                k += 1
                _ = it.next()
            }
        }
    }

    @Test func advanceMatchesALinearScan() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0003)
        let (fixture, terms, norms) = try Self.makeFixture(&rng)
        var positions: [UInt32] = []
        for (t, model) in terms.enumerated() {
            for _ in 0..<4 {
                let it = fixture.iterator(t, maxDoc: norms.count, norms: norms)
                var current = 0  // index into the model of the iterator's document
                var target: UInt32 = 0
                while true {
                    // Mostly small steps, sometimes far jumps, sometimes a target at or before the current doc.
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0: target = target / 2
                    case 1: target += UInt32(rng.skewed(below: 60_000))
                    case 2:
                        _ = it.next()
                        current += 1
                        if current < model.docs.count {
                            #expect(it.doc == model.docs[current])
                        } else {
                            #expect(it.doc == terminated)
                        }
                    default: target += UInt32(rng.skewed(below: 400))
                    }
                    if current >= model.docs.count { break }
                    let got = it.advance(to: target)
                    // The model: the first document at or after both the target and the current document.
                    while current < model.docs.count && model.docs[current] < target { current += 1 }
                    if current >= model.docs.count {
                        #expect(got == terminated, "term \(t) target \(target), \(rng.seedDescription)")
                        break
                    }
                    #expect(got == model.docs[current], "term \(t) target \(target), \(rng.seedDescription)")
                    #expect(it.doc == got)
                    #expect(it.freq == model.freqs[current])
                    if rng.chance(0.3) {
                        #expect(it.positions(into: &positions))
                        #expect(positions == model.positions[current], "term \(t), \(rng.seedDescription)")
                    }
                }
                #expect(!it.corrupted)
            }
        }
    }

    @Test func advanceToEveryDocumentAndBetween() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0004)
        let (fixture, terms, norms) = try Self.makeFixture(&rng)
        for (t, model) in terms.enumerated() {
            // Exactly onto each document.
            let exact = fixture.iterator(t, maxDoc: norms.count, norms: norms)
            for (k, d) in model.docs.enumerated() {
                #expect(exact.advance(to: d) == d)
                #expect(exact.freq == model.freqs[k])
            }
            #expect(exact.advance(to: model.docs.last! + 1) == terminated)
            // One past each document lands on the next.
            let between = fixture.iterator(t, maxDoc: norms.count, norms: norms)
            for k in 0..<(model.docs.count - 1) where rng.chance(0.5) {
                let got = between.advance(to: model.docs[k] + 1)
                #expect(got == model.docs[k + 1], "term \(t), \(rng.seedDescription)")
            }
            // Straight past the end.
            let past = fixture.iterator(t, maxDoc: norms.count, norms: norms)
            #expect(past.advance(to: UInt32(norms.count)) == terminated)
            #expect(!past.corrupted)
        }
    }

    @Test func blockBoundsCoverTheirDocuments() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0005)
        let (fixture, terms, norms) = try Self.makeFixture(&rng)
        for (t, model) in terms.enumerated() {
            let it = fixture.iterator(t, maxDoc: norms.count, norms: norms)
            let df = model.docs.count
            #expect(it.termMaxFreq == model.freqs.max()!)
            #expect(it.termMinNorm == model.docs.map { norms[Int($0)] }.min()!)
            for b in 0..<it.numBlocks {
                let range = (b * 128)..<min(b * 128 + 128, df)
                #expect(it.blockLastDoc(b) == model.docs[range.upperBound - 1], "term \(t) block \(b)")
                let maxFreq = range.map { model.freqs[$0] }.max()!
                let minNorm = range.map { norms[Int(model.docs[$0])] }.min()!
                #expect(it.blockMaxFreq(b) >= maxFreq, "term \(t) block \(b)")
                #expect(it.blockMaxFreq(b) == maxFreq, "frequencies below 65535 are exact")
                #expect(it.blockMinNorm(b) <= minNorm, "term \(t) block \(b)")
                #expect(it.blockMinNorm(b) == minNorm)
                // findBlock: the first block whose last document is >= target.
                let target = model.docs[range.lowerBound]
                #expect(it.findBlock(target, from: 0) == b)
                #expect(it.findBlock(it.blockLastDoc(b), from: 0) == b)
            }
            #expect(it.findBlock(model.docs.last! + 1, from: 0) == it.numBlocks)
        }
    }

    @Test func hugeFrequenciesSaturateTheSkipEntryButNotTheTermBound() throws {
        // A frequency above UInt16.max in a term of several blocks: the block bound falls back to the term's.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0006)
        var model = ModelPostings.random(docFreq: 300, maxDoc: 1000, maxGap: 2, &rng)
        model.freqs[200] = 70_000
        model.positions[200] = (0..<70_000).map { UInt32($0 * 2) }
        let norms = [UInt8](repeating: 9, count: 1000)
        let fixture = try PostingsFixture(terms: [model], norms: norms)
        let it = fixture.iterator(0, maxDoc: 1000, norms: norms)
        #expect(it.termMaxFreq == 70_000)
        #expect(it.blockMaxFreq(1) >= 70_000)
        #expect(it.advance(to: model.docs[200]) == model.docs[200])
        #expect(it.freq == 70_000)
        var positions: [UInt32] = []
        #expect(it.positions(into: &positions))
        let same = positions == model.positions[200]  // (not inside #expect: it would print 70,000 numbers)
        #expect(same, "\(positions.count) positions decoded")
        #expect(it.next() == model.docs[201])
        #expect(it.positions(into: &positions))
        #expect(positions == model.positions[201])
    }

    @Test func extremeDocumentIds() throws {
        // Gaps that need all 32 bits, and the largest document below `terminated`.
        let docs: [UInt32] =
            [1, 0x8000_0006] + (0..<140).map { 0xFFFF_0000 + UInt32($0) } + [0xFFFF_FFF0, 0xFFFF_FFFE]
        let model = ModelPostings(
            docs: docs, freqs: docs.map { _ in 1 }, positions: docs.map { _ in [0] })
        let fixture = try PostingsFixture(terms: [model], norms: nil)
        let it = fixture.iterator(0, maxDoc: Int(UInt32.max), norms: nil)
        var seen: [UInt32] = []
        var d = it.doc
        while d != terminated {
            seen.append(d)
            d = it.next()
        }
        #expect(seen == docs)
        #expect(!it.corrupted)
        let jump = fixture.iterator(0, maxDoc: Int(UInt32.max), norms: nil)
        #expect(jump.advance(to: 0x8000_0007) == 0xFFFF_0000)
        #expect(jump.advance(to: 0xFFFF_0100) == 0xFFFF_FFF0)
        #expect(jump.termMinNorm == 0, "no norms: bounds are 0")
    }

    @Test func singletonsAreInlinedInTheTermInfo() throws {
        let norms: [UInt8] = [1, 2, 3, 4, 5]
        let model = ModelPostings(docs: [3], freqs: [4], positions: [[2, 5, 9, 11]])
        let fixture = try PostingsFixture(terms: [model], norms: norms)
        let info = fixture.infos[0]
        #expect(info.docFreq == 1)
        #expect(info.singletonDoc == 3)
        #expect(info.singletonFreq == 4)
        let it = fixture.iterator(0, maxDoc: 5, norms: norms)
        #expect(it.doc == 3)
        #expect(it.freq == 4)
        #expect(it.termMaxFreq == 4)
        #expect(it.termMinNorm == 4, "the singleton's norm is passed in")
        #expect(it.blockLastDoc(0) == 3)
        var positions: [UInt32] = []
        #expect(it.positions(into: &positions))
        #expect(positions == [2, 5, 9, 11])
        #expect(it.next() == terminated)
        // advance past it.
        let again = fixture.iterator(0, maxDoc: 5, norms: norms)
        #expect(again.advance(to: 3) == 3)
        #expect(again.advance(to: 4) == terminated)
        // A singleton pointing past the segment is damage.
        let bad = PostingsIterator(
            postings: fixture.postings, positions: nil, info: info, maxDoc: 3, singletonNorm: 0,
            postingsChunks: nil, positionsChunks: nil)
        #expect(bad.doc == terminated)
        #expect(bad.corrupted)
    }

    @Test func withoutPositionsFileThereAreNoPositions() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0007)
        let model = ModelPostings.random(docFreq: 200, maxDoc: 1000, maxGap: 3, &rng)
        let fixture = try PostingsFixture(terms: [model], norms: nil, withPositions: false)
        #expect(fixture.positions.count == FileFormat.headerSize, "nothing written to .pos")
        let it = fixture.iterator(0, maxDoc: 1000, norms: nil, withPositions: false)
        var positions: [UInt32] = [42]
        #expect(!it.positions(into: &positions))
        #expect(positions.isEmpty)
        var docs: [UInt32] = []
        while it.doc != terminated {
            docs.append(it.doc)
            _ = it.next()
        }
        #expect(docs == model.docs)
    }

    @Test func documentsPastMaxDocAreReportedAsDamage() throws {
        // Postings written for a larger segment than the reader is told: the block that leaves the segment fails.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0008)
        let model = ModelPostings.random(docFreq: 300, maxDoc: 10_000, maxGap: 30, &rng)
        let fixture = try PostingsFixture(terms: [model], norms: nil)
        let maxDoc = Int(model.docs[200])  // documents 200... are out of range
        let it = fixture.iterator(0, maxDoc: maxDoc, norms: nil)
        var n = 0
        while it.doc != terminated {
            n += 1
            _ = it.next()
        }
        #expect(it.corrupted)
        #expect(n == 128, "the first block decodes, the second does not")
    }

    @Test func highlyCompressiblePositionsDecode() throws {
        // A word repeated thousands of times in one document: gaps of 1 pack at one bit each, so the chunk holds
        // far more positions than the `.pos` file has bytes. (Regression: this used to be reported as damage.)
        for (docFreq, repeats) in [(1, 5000), (2, 3000), (200, 2000)] {
            var model = ModelPostings(
                docs: (0..<docFreq).map { UInt32($0) }, freqs: Array(repeating: 1, count: docFreq),
                positions: Array(repeating: [0], count: docFreq))
            model.freqs[docFreq - 1] = UInt32(repeats)
            model.positions[docFreq - 1] = (0..<repeats).map { UInt32($0) }
            let fixture = try PostingsFixture(terms: [model], norms: nil)
            #expect(fixture.positions.count < repeats, "the case must be one where positions outnumber bytes")
            let it = fixture.iterator(0, maxDoc: docFreq, norms: nil)
            #expect(it.advance(to: UInt32(docFreq - 1)) == UInt32(docFreq - 1))
            var positions: [UInt32] = []
            #expect(it.positions(into: &positions), "docFreq \(docFreq)")
            let same = positions == model.positions[docFreq - 1]
            #expect(same, "docFreq \(docFreq): \(positions.count) positions decoded")
            #expect(!it.corrupted)
        }
    }

    /// The groups of a term's positions stream as the file holds them: (width, exceptions) per full group, read
    /// from the headers as docs/FORMAT.md lays them out (not through the reader's code).
    static func groupHeaders(
        _ fixture: PostingsFixture, _ term: Int, valueCount: Int
    ) -> [(width: Int, exceptions: Int)] {
        var out: [(Int, Int)] = []
        var at = Int(fixture.infos[term].positionsOffset)
        let bytes = fixture.positions!
        for _ in 0..<(valueCount / 128) {
            let header = Int(bytes.base.load(fromByteOffset: at, as: UInt8.self))
            if header & 0x80 != 0 {
                let e = Int(bytes.base.load(fromByteOffset: at + 1, as: UInt8.self))
                out.append((header & 0x3F, e))
                at += 2 + 2 * e + 16 * (header & 0x3F)
            } else {
                out.append((header, 0))
                at += 1 + 16 * header
            }
        }
        return out
    }

    @Test func patchedWidthIsTheCheapestAllowed() {
        // Brute force over every width: bytes = 16 w, plus 1 + 2 e when e values are wider (at most 7, and
        // w at least the widest value's width less 8).
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0101)
        var values = [UInt32](repeating: 0, count: 128)
        for round in 0..<2000 {
            let base = Int.random(in: 0...20, using: &rng)
            let outliers = Int.random(in: 0...12, using: &rng)
            for i in 0..<128 { values[i] = base == 0 ? 0 : UInt32.random(in: 0..<(1 << UInt32(base)), using: &rng) }
            for _ in 0..<outliers {
                values[Int.random(in: 0..<128, using: &rng)] = UInt32.random(in: 0...UInt32.max, using: &rng)
                    >> UInt32.random(in: 0...31, using: &rng)
            }
            let full = 32 - values.reduce(0, |).leadingZeroBitCount
            var best = (bytes: 16 * full, width: full, exceptions: 0)
            for w in stride(from: full - 1, through: max(0, full - 8), by: -1) {
                let e = values.filter { 32 - $0.leadingZeroBitCount > w }.count
                guard e <= 7 else { break }
                if 16 * w + 1 + 2 * e < best.bytes { best = (16 * w + 1 + 2 * e, w, e) }
            }
            let got = values.withUnsafeBufferPointer { BlockCodec.patchedWidth($0.baseAddress!) }
            #expect(got.width == best.width && got.exceptions == best.exceptions,
                "round \(round): \(got) against \(best), \(rng.seedDescription)")
        }
    }

    @Test func patchedPositionGroupsDecodeThroughEitherPath() throws {
        // Documents whose first position is far out and whose gaps are small: the first positions become the
        // groups' exceptions. Edge cases: a group of zeros but for a few (width 0 with exceptions), exactly seven
        // and eight wide values, a value more than 8 bits wider than the rest (its exception holds 8 bits), the
        // widest values (32 bits). Read back document by document (groups unpacked), and by sparse jumps (a group's few
        // values extracted in place).
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0102)
        var terms: [ModelPostings] = []
        func term(_ docs: Int, _ positions: (Int) -> [UInt32]) -> ModelPostings {
            let ps = (0..<docs).map(positions)
            return ModelPostings(
                docs: (0..<docs).map { UInt32($0 * 3) }, freqs: ps.map { UInt32($0.count) }, positions: ps)
        }
        // First positions up to 4,000 among gaps of 1-3 (mostly patched).
        terms.append(term(600) { _ in
            var p = UInt32.random(in: 0..<4000, using: &rng)
            var ps: [UInt32] = []
            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                ps.append(p)
                p += UInt32.random(in: 1...3, using: &rng)
            }
            return ps
        })
        // Zeros (one position, at 0) but every 20th document at 200: width 0 with exceptions.
        terms.append(term(1000) { d in [d % 20 == 0 ? 200 : 0] })
        // Groups of 128 single positions: 1-bit values with 7 or 8 of them at 100 (per 128).
        terms.append(term(1024) { d in [(d / 128) % 2 == 0 ? (d % 128 < 7 ? 100 : 1) : (d % 128 < 8 ? 100 : 1)] })
        // A value 11 bits wider than the rest (patched at 8 bits less than it needs); and 32-bit values.
        terms.append(term(300) { d in [d % 128 == 5 ? 1 << 12 : 3] })
        terms.append(term(300) { d in [d % 3 == 0 ? UInt32.max - UInt32(d) : UInt32(d)] })
        // Exceptions whose high bits reach bit 31: seven values of 2^31 or more among 30-bit ones (patched at
        // 30 bits), and values of 0xFF...... among 24-bit ones (a high byte of 0xFF above 24 bits).
        terms.append(term(256) { d in [d % 128 < 7 ? UInt32(1) << 31 | UInt32(d) : UInt32(1) << 29 | UInt32(d)] })
        terms.append(term(256) { d in [d % 128 < 7 ? 0xFF00_0000 | UInt32(d) : 0x00FF_0000 | UInt32(d)] })
        let maxDoc = 3 * 1024
        let fixture = try PostingsFixture(terms: terms, norms: nil, seed: rng.next())

        let headers = (0..<terms.count).map {
            Self.groupHeaders(fixture, $0, valueCount: terms[$0].positionValues.count)
        }
        #expect(headers[0].filter { $0.exceptions > 0 }.count * 4 >= headers[0].count * 3, "\(headers[0])")
        #expect(headers[1].allSatisfy { $0.width == 0 && $0.exceptions >= 6 && $0.exceptions <= 7 }, "\(headers[1])")
        // Even groups: seven values of 100 among ones; odd groups: eight, one too many to patch.
        let expected = headers[2].indices.map { $0 % 2 == 0 ? (1, 7) : (7, 0) }
        #expect(headers[2].map { [$0.width, $0.exceptions] } == expected.map { [$0.0, $0.1] }, "\(headers[2])")
        #expect(headers[3].allSatisfy { $0.width == 5 && $0.exceptions == 1 }, "\(headers[3])")
        #expect(headers[4].allSatisfy { $0.width == 32 && $0.exceptions == 0 }, "\(headers[4])")
        #expect(headers[5].allSatisfy { $0.width == 30 && $0.exceptions == 7 }, "\(headers[5])")
        #expect(headers[6].allSatisfy { $0.width == 24 && $0.exceptions == 7 }, "\(headers[6])")

        var positions: [UInt32] = []
        for (t, model) in terms.enumerated() {
            // Every document in order: groups unpacked.
            let it = fixture.iterator(t, maxDoc: maxDoc, norms: nil)
            var k = 0
            while it.doc != terminated {
                #expect(it.positions(into: &positions))
                #expect(positions == model.positions[k], "term \(t) doc #\(k)")
                k += 1
                _ = it.next()
            }
            #expect(k == model.docs.count && !it.corrupted)
            // Sparse jumps: most groups are first read by one document, its values extracted in place.
            for stride in [37, 129, 301] {
                let sparse = fixture.iterator(t, maxDoc: maxDoc, norms: nil)
                for k in Swift.stride(from: Int.random(in: 0..<stride, using: &rng), to: model.docs.count, by: stride) {
                    #expect(sparse.advance(to: model.docs[k]) == model.docs[k])
                    #expect(sparse.positions(into: &positions))
                    #expect(positions == model.positions[k], "term \(t) doc #\(k), stride \(stride)")
                }
                #expect(!sparse.corrupted)
            }
        }
    }

    @Test func damagedPatchedGroupsNeverTrapAndReadTheSameEitherWay() throws {
        // A patched group's header, exception count and exception bytes set to what damage could leave (the chunk
        // checksums not consulted, as if they had been rewritten). A header the format does not allow is reported;
        // exception bytes it does not allow (out of order, repeated, too high, a zero high part) are read the same
        // whether the group is unpacked (every document in order) or its values are read in place (the first
        // document read in each group, by jumps); nothing traps.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0103)
        let model = ModelPostings(
            docs: (0..<1000).map { UInt32($0) }, freqs: Array(repeating: 1, count: 1000),
            positions: (0..<1000).map { [$0 % 20 == 0 ? 200 : 1] })
        let fixture = try PostingsFixture(terms: [model], norms: nil, seed: rng.next())
        let headers = Self.groupHeaders(fixture, 0, valueCount: 1000)
        #expect(headers.allSatisfy { $0.exceptions > 0 })
        let start = Int(fixture.infos[0].positionsOffset)
        let original = fixture.positions.toArray()
        // (offset from the first group's start, value, must be reported); the group's exceptions sit at indexes
        // 0, 20, 40, ... and their high parts are 100 (200 >> 1).
        let damages: [(Int, UInt8, Bool)] = [
            (0, 0xFF, true), (0, 0xC1, true), (0, 0x80 | 33, true), (0, 0x80 | 32, true), (0, 0x21, true),
            (1, 0, true), (1, 8, true), (1, 255, true),
            (2, 255, false), (2, 128, false), (2, 20, false), (4, 0, false), (3, 0, false), (3, 255, false),
            (0, 0x80 | 31, false), (0, 32, false), (1, 1, false),
        ]
        for (offset, value, reported) in damages {
            var bytes = original
            bytes[start + offset] = value
            var flagged = false
            var inOrder: [UInt32: [UInt32]] = [:]
            var byJumps: [UInt32: [UInt32]] = [:]
            bytes.withRawBytes { pos in
                for jump in [1, 61] {
                    let it = PostingsIterator(
                        postings: fixture.postings, positions: pos, info: fixture.infos[0], maxDoc: 1000,
                        singletonNorm: 0, postingsChunks: nil, positionsChunks: nil)
                    var positions: [UInt32] = []
                    var d: UInt32 = 0
                    while it.advance(to: d) != terminated {
                        if it.positions(into: &positions) {
                            if jump == 1 { inOrder[it.doc] = positions } else { byJumps[it.doc] = positions }
                        }
                        d = it.doc &+ UInt32(jump)
                    }
                    flagged = flagged || it.corrupted
                }
                // Each document of the damaged group read first by an iterator of its own: its value is read in
                // place, so every exception index meets that path.
                for doc in UInt32(0)..<128 {
                    let it = PostingsIterator(
                        postings: fixture.postings, positions: pos, info: fixture.infos[0], maxDoc: 1000,
                        singletonNorm: 0, postingsChunks: nil, positionsChunks: nil)
                    var positions: [UInt32] = []
                    if it.advance(to: doc) == doc, it.positions(into: &positions) { byJumps[doc] = positions }
                    flagged = flagged || it.corrupted
                }
            }
            let context = "byte \(offset) of the first group set to \(value)"
            if reported {
                #expect(flagged, "\(context)")
            } else if !flagged {
                for (doc, positions) in byJumps { #expect(inOrder[doc] == positions, "\(context), doc \(doc)") }
            }
        }
    }

    /// Terms in a share of `maxDoc` documents each, with a few positions per document.
    static func denseTerms(_ densities: [Double], maxDoc: Int, _ rng: inout SeededRandom) -> [ModelPostings] {
        densities.map { density in
            var docs: [UInt32] = []
            for d in 0..<maxDoc where rng.chance(density) { docs.append(UInt32(d)) }
            let freqs = docs.map { _ in rng.chance(0.5) ? UInt32(1) : UInt32(1 + rng.skewed(below: 9)) }
            let positions = freqs.map { f in (0..<f).map { UInt32($0 * 3 + 1) } }
            return ModelPostings(docs: docs, freqs: freqs, positions: positions)
        }
    }

    @Test func denseBlocksReadByProbesAndInOrder() throws {
        // Words in half or more of a run of documents: their full blocks are bitsets (FORMAT.md), read by testing
        // and counting bits (`advance` into a block not yet expanded), or expanded (`next`, or many probes in one
        // block). Every way of walking them gives the model's documents, frequencies and positions.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0201)
        let maxDoc = 6000
        let densities = [0.55, 0.7, 0.85, 0.97, 1.0, 0.3]
        let terms = Self.denseTerms(densities, maxDoc: maxDoc, &rng)
        let fixture = try PostingsFixture(terms: terms, norms: nil, seed: rng.next())
        var positions: [UInt32] = []
        for (t, model) in terms.enumerated() {
            var dense = 0
            // In order.
            let walk = fixture.iterator(t, maxDoc: maxDoc, norms: nil)
            for (k, d) in model.docs.enumerated() {
                #expect(walk.doc == d, "term \(t), document \(k)")
                #expect(walk.freq == model.freqs[k])
                _ = walk.next()
            }
            #expect(walk.doc == terminated)
            dense += walk.denseBlocksEntered
            // By jumps of every scale: within a block (probes past the limit expand it), about a block, many.
            for maxJump in [2, 6, 40, 300, 2000] as [UInt32] {
                let it = fixture.iterator(t, maxDoc: maxDoc, norms: nil)
                var current = 0
                var target: UInt32
                while true {
                    if rng.chance(0.05) {
                        _ = it.next()
                        current += 1
                    } else {
                        target = it.doc + 1 + UInt32(rng.skewed(below: UInt64(maxJump)))
                        _ = it.advance(to: target)
                        while current < model.docs.count && model.docs[current] < target { current += 1 }
                    }
                    if current >= model.docs.count {
                        #expect(it.doc == terminated, "term \(t), jumps \(maxJump), \(rng.seedDescription)")
                        break
                    }
                    #expect(it.doc == model.docs[current], "term \(t), jumps \(maxJump), \(rng.seedDescription)")
                    if it.doc != model.docs[current] { break }
                    #expect(it.freq == model.freqs[current])
                    if rng.chance(0.3) {
                        #expect(it.positions(into: &positions))
                        #expect(positions == model.positions[current], "term \(t), \(rng.seedDescription)")
                    }
                }
                #expect(!it.corrupted)
                dense += it.denseBlocksEntered
            }
            // Bitsets where they are smaller: not for every document (deltas of 1 pack in 16 bytes) nor for a
            // word in 30% of them (their bitsets would span more than four words).
            let expectDense = densities[t] > 0.5 && densities[t] < 1
            #expect((dense > 0) == expectDense, "term \(t), density \(densities[t])")
        }
    }

    @Test func postingsOfVersionTwoReadAsTheyWereWritten() throws {
        // The previous version packed the doc deltas themselves and had no dense blocks; its files are still read:
        // the same terms written at version 2 and at version 3 read alike, in order and by jumps, and a version 2
        // block with a zero delta (which only damage leaves) is reported.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0203)
        let maxDoc = 6000
        var terms = Self.denseTerms([0.3, 0.7, 0.97, 1.0], maxDoc: maxDoc, &rng)
        for df in [129, 300, 1000] {
            terms.append(.random(docFreq: df, maxDoc: maxDoc, maxGap: UInt64(maxDoc / (df + 1)), &rng))
        }
        let seed = rng.next()
        let older = try PostingsFixture(terms: terms, norms: nil, seed: seed, version: 2)
        let newer = try PostingsFixture(terms: terms, norms: nil, seed: seed)
        #expect(older.postings.loadU16(8) == 2 && newer.postings.loadU16(8) == 3)
        #expect(older.postings.count > newer.postings.count, "deltas less one and bitsets take less room")
        var positions: [UInt32] = []
        for (t, model) in terms.enumerated() {
            for jump in [0, 1, 5, 250] as [UInt32] {
                let it = older.iterator(t, maxDoc: maxDoc, norms: nil)
                var seen: [UInt32] = []
                while it.doc != terminated {
                    seen.append(it.doc)
                    guard let k = model.docs.firstIndex(of: it.doc) else { break }
                    #expect(it.freq == model.freqs[k])
                    if seen.count % 5 == 0 {
                        #expect(it.positions(into: &positions))
                        #expect(positions == model.positions[k])
                    }
                    _ = jump == 0 ? it.next() : it.advance(to: it.doc + jump)
                }
                #expect(!it.corrupted)
                #expect(it.denseBlocksEntered == 0)
                let expected = jump == 0 ? model.docs : Self.jumped(model.docs, by: jump)
                #expect(seen == expected, "term \(t), jump \(jump), \(rng.seedDescription)")
            }
        }
        // A zero delta inside a version 2 packed block: reported (version 3 cannot express one).
        let model = ModelPostings(
            docs: (0..<256).map { UInt32(2 * $0) }, freqs: Array(repeating: 1, count: 256),
            positions: Array(repeating: [1], count: 256))
        let zero = try PostingsFixture(terms: [model], norms: nil, seed: seed, version: 2)
        var bytes = zero.postings.toArray()
        // The term's header: maxFreq, minNorm, impacts, two skip entries; the block: widths, then deltas of 2.
        let start = Int(zero.infos[0].postingsOffset) + 10 + 2 * 28
        #expect(bytes[start] == 2)
        // Lane 1's first byte holds the deltas of documents 1, 5, 9 and 13 (2 bits each, all 2): 0, 3, 3, 2 keep
        // their sum, so the block still ends where its skip entry says and only the zero delta is wrong.
        #expect(bytes[start + 2 + 4] == 0xAA)
        bytes[start + 2 + 4] = 0b10_11_11_00
        var flagged = false
        bytes.withRawBytes { post in
            let it = PostingsIterator(
                postings: post, positions: nil, info: zero.infos[0], maxDoc: 1000, singletonNorm: 0,
                postingsChunks: nil, positionsChunks: nil)
            while it.doc != terminated { _ = it.next() }
            flagged = it.corrupted
        }
        #expect(flagged)
    }

    /// The documents an iterator visits when it starts at the first and then advances `jump` past each.
    static func jumped(_ docs: [UInt32], by jump: UInt32) -> [UInt32] {
        var out: [UInt32] = []
        var k = 0
        while k < docs.count {
            out.append(docs[k])
            let target = docs[k] + jump
            while k < docs.count && docs[k] < target { k += 1 }
        }
        return out
    }

    @Test func damagedDenseBlocksAreReportedOrHarmless() throws {
        // A dense block's marker, word count and bits set to what damage could leave (the chunk checksums not
        // consulted): a count outside 1-4, a popcount other than 128, a last document past the segment or other than
        // its skip entry's are reported; nothing traps, by `next` or by probes.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0202)
        let maxDoc = 3000
        let model = Self.denseTerms([0.8], maxDoc: maxDoc, &rng)[0]
        let fixture = try PostingsFixture(terms: [model], norms: nil, seed: rng.next())
        let info = fixture.infos[0]
        let blocks = (model.docs.count + 127) / 128
        // The term's header: a one-byte maxFreq (under 128), the minimum norm, 8 bytes of impacts, the skip table.
        let start = Int(info.postingsOffset) + 10 + 28 * blocks
        let original = fixture.postings.toArray()
        #expect(original[start] == PostingsWriter.denseMarker)
        let words = Int(original[start + 2])
        #expect((1...4).contains(words))
        // (offset from the block's start, value, must be reported); a bitset byte set to 0 or 255, whichever
        // changes its count.
        func recount(_ offset: Int) -> UInt8 { original[start + offset] == 0xFF ? 0 : 0xFF }
        let last = 3 + Int(model.docs[127]) / 8  // the byte of the block's last document (the first block's from 0)
        let damages: [(Int, UInt8, Bool)] = [
            (0, 33, true), (0, 254, true), (1, 33, true), (2, 0, true), (2, 5, true), (2, 255, true),
            (3, 0, true), (last, 0, true), (3, recount(3), true), (last, recount(last), true), (3 + 8, 0, true),
            (3 + 8 * words, 0xFF, false),  // a frequency byte: damage the checksums catch
        ]
        for (offset, value, reported) in damages {
            var bytes = original
            bytes[start + offset] = value
            var flagged = false
            bytes.withRawBytes { post in
                for jump in [0, 1, 3, 200] as [UInt32] {
                    let it = PostingsIterator(
                        postings: post, positions: fixture.positions, info: info, maxDoc: maxDoc,
                        singletonNorm: 0, postingsChunks: nil, positionsChunks: nil)
                    var steps = 0
                    var positions: [UInt32] = []
                    while it.doc != terminated && steps < 10_000 {
                        _ = jump == 0 ? it.next() : it.advance(to: it.doc &+ jump)
                        if it.doc != terminated { _ = it.freq }
                        if steps % 7 == 0 { _ = it.positions(into: &positions) }
                        steps += 1
                    }
                    #expect(steps < 10_000)
                    flagged = flagged || it.corrupted
                }
            }
            if reported { #expect(flagged, "byte \(offset) of the first block set to \(value)") }
        }
    }

    @Test func damagedTermInfoAndDataNeverTrap() throws {
        // Offsets, counts and bytes as damage could leave them: the iterator must end (and flag the damage),
        // never trap or read out of bounds.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x9057_0009)
        let (fixture, terms, norms) = try Self.makeFixture(&rng, maxDoc: 5000)
        let extremes: [UInt64] = [
            0, 1, 31, 32, 33, UInt64(fixture.postings.count), UInt64(fixture.postings.count) - 1, 1 << 31, 1 << 32,
            1 << 62, UInt64(Int.max) - 1, UInt64(Int.max), UInt64(Int.max) + 1, .max - 1, .max,
        ]
        var positions: [UInt32] = []
        func exercise(_ it: PostingsIterator) {
            var steps = 0
            while it.doc != terminated && steps < 3000 {
                _ = it.freq
                _ = it.positions(into: &positions)
                _ = it.blockLastDoc(max(0, it.currentBlock))
                if rng.chance(0.2) {
                    _ = it.advance(to: it.doc &+ UInt32(rng.skewed(below: 2000)))
                } else {
                    _ = it.next()
                }
                steps += 1
            }
            for b in 0..<min(it.numBlocks, 64) {
                _ = it.blockMaxFreq(b)
                _ = it.blockMinNorm(b)
            }
        }
        // 1. Damaged term infos over sound data.
        for _ in 0..<400 {
            var info = fixture.infos[Int.random(in: 0..<fixture.infos.count, using: &rng)]
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: info.postingsOffset = extremes.randomElement(using: &rng)!
            case 1: info.positionsOffset = extremes.randomElement(using: &rng)!
            case 2: info.docFreq = [0, 1, 2, 129, 1000, 70_000, UInt32.max].randomElement(using: &rng)!
            case 3: info.singletonDoc = UInt32.random(in: 0...UInt32.max, using: &rng)
            default:
                info.postingsOffset = rng.skewed(below: UInt64(fixture.postings.count) + 100)
                info.positionsOffset = rng.skewed(below: UInt64(fixture.positions.count) + 100)
            }
            exercise(
                PostingsIterator(
                    postings: fixture.postings, positions: fixture.positions, info: info, maxDoc: norms.count,
                    singletonNorm: 0, postingsChunks: nil, positionsChunks: nil))
        }
        // 2. Sound term infos over damaged bytes.
        let postingsBytes = fixture.postings.toArray()
        let positionsBytes = fixture.positions.toArray()
        for _ in 0..<150 {
            var post = postingsBytes
            var pos = positionsBytes
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                if rng.chance(0.6) {
                    post[Int.random(in: FileFormat.headerSize..<post.count, using: &rng)] = UInt8.random(
                        in: 0...255, using: &rng)
                } else {
                    pos[Int.random(in: FileFormat.headerSize..<pos.count, using: &rng)] = UInt8.random(
                        in: 0...255, using: &rng)
                }
            }
            if rng.chance(0.2) { post.removeLast(Int.random(in: 0..<(post.count / 2), using: &rng)) }
            if rng.chance(0.2) { pos.removeLast(Int.random(in: 0..<(pos.count / 2), using: &rng)) }
            let t = Int.random(in: 0..<terms.count, using: &rng)
            post.withRawBytes { p in
                pos.withRawBytes { q in
                    exercise(
                        PostingsIterator(
                            postings: p, positions: q, info: fixture.infos[t], maxDoc: norms.count, singletonNorm: 0,
                            postingsChunks: nil, positionsChunks: nil))
                }
            }
        }
    }
}

@Suite("Block impacts")
struct ImpactsTests {
    /// k1 (1 - b + b * length / average) for each norm byte, computed here from the norm's length.
    static func factors(average: Float) -> [Float] {
        (0..<256).map { 1.2 * (0.25 + 0.75 * Float(FieldNorm.decode(UInt8($0))) / average) }
    }

    static func bound(_ pairs: [(UInt32, UInt8)], _ factors: [Float]) -> Float {
        pairs.map { Float($0.0) / (Float($0.0) + factors[Int($0.1)]) }.max() ?? 0
    }

    /// Random blocks with up to 12 pairs on their frontier: the four pairs kept dominate every document of the
    /// block, and their bound at the field's average length is the least that any four groups of neighbouring
    /// pairs reach (every way to cut the frontier into four, tried one by one), never more than the frequency
    /// gaps' choice.
    @Test func theFourPairsKeptHaveTheLeastBound() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x1A_0001)
        for round in 0..<400 {
            var impacts = Impacts()
            var documents: [(UInt32, UInt8)] = []
            for _ in 0..<Int.random(in: 1...128, using: &rng) {
                let d = (UInt32(rng.next() % 90) + 1, UInt8(truncatingIfNeeded: rng.next() % 120))
                documents.append(d)
                impacts.add(freq: d.0, norm: d.1)
            }
            let factors = ImpactsTests.factors(average: Float(Int.random(in: 5...400, using: &rng)))
            let plain = impacts.frontier()
            let kept = impacts.frontier(factors)
            #expect(kept.count <= 4)
            for d in documents {
                #expect(kept.contains { $0.0 >= d.0 && $0.1 <= d.1 }, "round \(round): \(d) is not dominated")
            }
            // The whole frontier, from the documents (a pair is on it if no shorter document has its frequency).
            var frontier: [(UInt32, UInt8)] = []
            for d in documents.sorted(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 > $1.0) })
            where frontier.last.map({ d.0 > $0.0 }) ?? true {
                if frontier.last?.1 == d.1 { continue }
                frontier.append(d)
            }
            let m = frontier.count
            guard m > 4 else {
                #expect(kept.count == m)
                continue
            }
            var least = Float.infinity
            for a in 1..<m {
                for b in (a + 1)..<m {
                    for c in (b + 1)..<m {
                        let cuts = [0, a, b, c, m]
                        let groups = (0..<4).map { (frontier[cuts[$0 + 1] - 1].0, frontier[cuts[$0]].1) }
                        least = min(least, ImpactsTests.bound(groups, factors))
                    }
                }
            }
            let got = ImpactsTests.bound(kept, factors)
            #expect(got == least, "round \(round): bound \(got), least \(least)")
            #expect(got <= ImpactsTests.bound(plain, factors), "round \(round)")
        }
    }
}
