// The term dictionary: front-coded blocks of up to 32 terms with a sparse index (128 terms in zstd frames for a
// compressed field, the id field), written by TermDictionaryWriter and read by TermDictionary and TermCursor,
// against a sorted in-memory model.

import QuarryTestSupport
import Testing

@testable import Quarry

/// A field of the model: sorted unique terms and their infos.
struct ModelField {
    var ord: Int
    var hasPositions: Bool
    var terms: [[UInt8]]
    var infos: [TermInfo]
    /// Blocks written as zstd frames of 128 terms (as the id field's).
    var compressed = false

    var blockTerms: Int { compressed ? TermDictionaryWriter.compressedBlockTerms : TermDictionaryWriter.blockTerms }

    /// The info the reader gives back: a singleton's postings offset is not stored, nor are positions offsets
    /// of a field without positions.
    func decoded(_ i: Int) -> TermInfo {
        var info = infos[i]
        if info.docFreq == 1 {
            info.postingsOffset = 0
        } else {
            info.singletonDoc = 0
            info.singletonFreq = 0
        }
        if !hasPositions { info.positionsOffset = 0 }
        return info
    }
}

final class DictionaryFixture {
    let directory = TemporaryDirectory("terms")
    let id: [UInt8]
    let file: MappedFile
    let dictionary: TermDictionary

    init(_ fields: [ModelField], seed: UInt64, version: UInt16? = nil) throws {
        var rng = SeededRandom(seed: seed)
        id = rng.bytes(16)
        let path = directory.file("s.terms")
        let writer = try TermDictionaryWriter(path: path, segmentID: id, version: version)
        for f in fields {
            try writer.startField(f.ord, hasPositions: f.hasPositions, compressed: f.compressed)
            for (t, info) in zip(f.terms, f.infos) {
                try t.withUnsafeBufferPointer { try writer.add($0, info) }
            }
        }
        _ = try writer.finish()
        file = try MappedFile(path: path)
        dictionary = try TermDictionary(file: file, segmentID: id)
    }

    func lookup(_ ord: Int, _ term: [UInt8]) throws -> TermInfo? {
        try term.withUnsafeBytes { try dictionary.lookup(ord, $0) }
    }
}

@Suite struct TermDictionaryTests {
    /// `count` distinct sorted terms with many shared prefixes (a small alphabet), a few long ones, and infos
    /// whose offsets increase as a segment's do.
    static func randomField(
        ord: Int, count: Int, hasPositions: Bool, compressed: Bool = false, _ rng: inout SeededRandom
    ) -> ModelField {
        var set = Set<[UInt8]>()
        let alphabet: [UInt8] = Array("abcz".utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xFF]
        while set.count < count {
            var t: [UInt8]
            switch Int.random(in: 0..<20, using: &rng) {
            case 0: t = rng.bytes(Int.random(in: 100...600, using: &rng))
            case 1: t = [UInt8](repeating: UInt8(ascii: "a"), count: Int.random(in: 1...70, using: &rng))
            default: t = (0..<Int.random(in: 1...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            }
            set.insert(t)
        }
        let terms = set.sorted { $0.lexicographicallyPrecedes($1) }
        var infos: [TermInfo] = []
        var postings: UInt64 = UInt64.random(in: 32...1000, using: &rng)
        var positions: UInt64 = UInt64.random(in: 32...1000, using: &rng)
        for _ in terms {
            var info = TermInfo.none
            info.docFreq = rng.chance(0.5) ? 1 : UInt32(2 + rng.skewed(below: 1 << 31))
            info.positionsOffset = positions
            positions += rng.skewed(below: 1 << 40)
            if info.docFreq == 1 {
                info.singletonDoc = UInt32(rng.skewed(below: 1 << 32))
                info.singletonFreq = UInt32(1 + rng.skewed(below: 1 << 32 - 1))
            } else {
                info.postingsOffset = postings
                postings += 1 + rng.skewed(below: 1 << 40)
            }
            infos.append(info)
        }
        return ModelField(ord: ord, hasPositions: hasPositions, terms: terms, infos: infos, compressed: compressed)
    }

    static let counts = [1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 256, 257, 700]

    @Test(arguments: counts)
    func everyTermIsFoundWithItsInfo(count: Int) throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_0000 + UInt64(count))
        let fields = [
            Self.randomField(ord: 0, count: count, hasPositions: false, compressed: true, &rng),
            Self.randomField(ord: 1, count: count, hasPositions: true, &rng),
            Self.randomField(ord: 3, count: max(1, count / 2), hasPositions: true, &rng),
            Self.randomField(ord: 5, count: count, hasPositions: true, compressed: true, &rng),
            Self.randomField(ord: 200, count: 3, hasPositions: false, &rng),
        ]
        let fixture = try DictionaryFixture(fields, seed: rng.next())
        let d = fixture.dictionary
        #expect(d.fieldOrds == fields.map(\.ord))
        for f in fields {
            #expect(d.termCount(f.ord) == f.terms.count)
            let field = try #require(d.field(f.ord))
            #expect(field.hasPositions == f.hasPositions)
            #expect(field.compressed == f.compressed)
            #expect(field.blockCount == (f.terms.count + f.blockTerms - 1) / f.blockTerms)
            #expect(field.sumDocFreq == f.infos.reduce(0) { $0 + UInt64($1.docFreq) })
            for (i, t) in f.terms.enumerated() {
                let info = try fixture.lookup(f.ord, t)
                #expect(info == f.decoded(i), "field \(f.ord) term #\(i) of \(f.terms.count), \(rng.seedDescription)")
            }
        }
        // Fields that are not there.
        for ord in [2, 4, 199, 255, 256, -1, 1000] {
            #expect(try fixture.lookup(ord, fields[1].terms[0]) == nil)
            #expect(d.termCount(ord) == 0)
        }
    }

    @Test(arguments: counts)
    func absentTermsAreNotFound(count: Int) throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_1000 + UInt64(count))
        for compressed in [false, true] {
            try absentTermsAreNotFound(Self.randomField(ord: 1, count: count, hasPositions: true, compressed: compressed, &rng), &rng)
        }
    }

    func absentTermsAreNotFound(_ field: ModelField, _ rng: inout SeededRandom) throws {
        let fixture = try DictionaryFixture([field], seed: rng.next())
        let present = Set(field.terms)
        var probes: [[UInt8]] = [[], [0x00], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]]
        for t in field.terms {
            // Just before and just after each term, and its prefixes.
            probes.append(t + [0x00])
            probes.append(t + [0xFF])
            probes.append(Array(t.dropLast()))
            var bumped = t
            bumped[bumped.count - 1] &+= 1
            probes.append(bumped)
        }
        for _ in 0..<300 { probes.append(rng.bytes(Int.random(in: 1...6, using: &rng))) }
        for p in probes {
            let info = try fixture.lookup(1, p)
            if let i = field.terms.firstIndex(of: p) {
                #expect(info == field.decoded(i))
            } else {
                #expect(info == nil, "\(p) is not in the dictionary, \(rng.seedDescription)")
                #expect(!present.contains(p))
            }
        }
    }

    @Test(arguments: counts)
    func forEachTermAndTheCursorEnumerateInOrder(count: Int) throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_2000 + UInt64(count))
        let fields = [
            Self.randomField(ord: 0, count: count, hasPositions: false, compressed: true, &rng),
            Self.randomField(ord: 2, count: count, hasPositions: true, &rng),
        ]
        let fixture = try DictionaryFixture(fields, seed: rng.next())
        for f in fields {
            var seen: [([UInt8], TermInfo)] = []
            try fixture.dictionary.forEachTerm(f.ord) { term, info in
                seen.append((Array(term), info))
                return true
            }
            #expect(seen.map(\.0) == f.terms, "\(rng.seedDescription)")
            #expect(seen.map(\.1) == f.terms.indices.map { f.decoded($0) })

            // Stopping early.
            var visited = 0
            try fixture.dictionary.forEachTerm(f.ord) { _, _ in
                visited += 1
                return visited < 65
            }
            #expect(visited == min(65, f.terms.count))

            // The cursor.
            let cursor = TermCursor(fixture.dictionary, field: f.ord)
            var k = 0
            while cursor.isValid {
                #expect(cursor.term == f.terms[k])
                #expect(cursor.info == f.decoded(k))
                #expect(cursor.withTerm { $0.count } == f.terms[k].count)
                cursor.next()
                k += 1
            }
            #expect(k == f.terms.count)
            #expect(!cursor.failed)
        }
        // A field with no terms here: nothing to visit.
        var any = false
        try fixture.dictionary.forEachTerm(7) { _, _ in
            any = true
            return true
        }
        #expect(!any)
        #expect(!TermCursor(fixture.dictionary, field: 7).isValid)
    }

    @Test func cursorsCompareBytewise() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_3000)
        let a = Self.randomField(ord: 1, count: 150, hasPositions: true, &rng)
        let b = Self.randomField(ord: 1, count: 150, hasPositions: true, &rng)
        let fa = try DictionaryFixture([a], seed: 1)
        let fb = try DictionaryFixture([b], seed: 2)
        // A merge of the two cursors yields the sorted union.
        let ca = TermCursor(fa.dictionary, field: 1)
        let cb = TermCursor(fb.dictionary, field: 1)
        var merged: [[UInt8]] = []
        while ca.isValid || cb.isValid {
            if !cb.isValid || (ca.isValid && TermCursor.compare(ca, cb) < 0) {
                merged.append(ca.term)
                ca.next()
            } else if !ca.isValid || TermCursor.compare(ca, cb) > 0 {
                merged.append(cb.term)
                cb.next()
            } else {
                merged.append(ca.term)
                ca.next()
                cb.next()
            }
        }
        let expected = Set(a.terms).union(b.terms).sorted { $0.lexicographicallyPrecedes($1) }
        #expect(merged == expected, "\(rng.seedDescription)")
    }

    @Test func sharedPrefixesLongTermsAndSingleTermBlocks() throws {
        // Hand-picked: a chain where each term extends the last, the longest allowed term, a field with one term.
        let chain: [[UInt8]] = (1...130).map { [UInt8](repeating: UInt8(ascii: "q"), count: $0) }
        let longest = [UInt8](repeating: 0xEE, count: TermDictionaryWriter.maxTermLength)
        let mixed = chain + [Array("r".utf8), longest]
        func infos(_ n: Int) -> [TermInfo] {
            (0..<n).map { i in
                var info = TermInfo.none
                info.docFreq = UInt32(1 + i % 3)
                info.singletonDoc = info.docFreq == 1 ? UInt32(i) : 0
                info.singletonFreq = info.docFreq == 1 ? 1 : 0
                info.postingsOffset = info.docFreq == 1 ? 0 : UInt64(100 + i * 10)
                info.positionsOffset = UInt64(50 + i * 7)
                return info
            }
        }
        // A compressed block of 128 of the longest terms (random bytes: zstd cannot shrink them) is the largest a
        // reader accepts.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_3000)
        let longTerms = Set((0..<130).map { _ in rng.bytes(TermDictionaryWriter.maxTermLength) }).sorted {
            $0.lexicographicallyPrecedes($1)
        }
        let fields = [
            ModelField(ord: 0, hasPositions: false, terms: mixed, infos: infos(mixed.count), compressed: true),
            ModelField(ord: 1, hasPositions: true, terms: mixed, infos: infos(mixed.count)),
            ModelField(ord: 2, hasPositions: true, terms: [Array("only".utf8)], infos: infos(1)),
            ModelField(ord: 3, hasPositions: false, terms: [Array("only".utf8)], infos: infos(1), compressed: true),
            ModelField(ord: 4, hasPositions: true, terms: longTerms, infos: infos(longTerms.count), compressed: true),
        ]
        let fixture = try DictionaryFixture(fields, seed: 9)
        for f in fields {
            for (i, t) in f.terms.enumerated() {
                #expect(try fixture.lookup(f.ord, t) == f.decoded(i), "field \(f.ord) term #\(i)")
            }
        }
        #expect(try fixture.lookup(1, longest + [0]) == nil)
        #expect(try fixture.lookup(1, [UInt8](repeating: UInt8(ascii: "q"), count: 131)) == nil)
        #expect(try fixture.lookup(2, Array("onl".utf8)) == nil)
        #expect(try fixture.lookup(2, Array("onlz".utf8)) == nil)
        #expect(fixture.dictionary.field(2)?.blockCount == 1)
    }

    @Test func anEmptyDictionaryOpens() throws {
        let fixture = try DictionaryFixture([], seed: 3)
        #expect(fixture.dictionary.fieldOrds.isEmpty)
        #expect(try fixture.lookup(0, Array("x".utf8)) == nil)
    }

    @Test func damagedBlocksIndexesAndKeysNeverTrap() throws {
        // The blocks, their sparse index and the keys are not covered by the directory's checksum (only `check`
        // reads the whole-file CRC): damage there must give wrong answers or `corruptIndex`, never a trap.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_5000)
        let fields = [
            Self.randomField(ord: 0, count: 300, hasPositions: false, compressed: true, &rng),
            Self.randomField(ord: 1, count: 300, hasPositions: true, &rng),
        ]
        let fixture = try DictionaryFixture(fields, seed: rng.next())
        let pristine = readFile(fixture.file.path)
        let trailer = coveredLength(pristine) - TermDictionary.trailerSize
        let directoryOffset = (0..<8).reduce(0) { $0 | Int(pristine[trailer + $1]) << (8 * $1) }
        let path = fixture.directory.file("damaged.terms")
        func exercise(_ bytes: [UInt8], _ context: String) throws {
            writeFile(path, bytes)
            let file = try MappedFile(path: path)
            defer { withExtendedLifetime(file) {} }
            guard let dictionary = try? TermDictionary(file: file, segmentID: fixture.id) else { return }
            for f in fields {
                for t in f.terms.prefix(12) + [[], [0xFF]] {
                    let error = thrownQuarryError { try t.withUnsafeBytes { try dictionary.lookup(f.ord, $0) } }
                    #expect(error == nil || error?.code == .corruptIndex, "\(context)")
                }
                let error = thrownQuarryError { try dictionary.forEachTerm(f.ord) { _, _ in true } }
                #expect(error == nil || error?.code == .corruptIndex, "\(context)")
                let cursor = TermCursor(dictionary, field: f.ord)
                var n = 0
                while cursor.isValid && n < 1000 {
                    _ = cursor.term
                    cursor.next()
                    n += 1
                }
            }
        }
        // Every byte of the sparse indexes and keys (written after all blocks, before the directory), and a sample
        // of the blocks' bytes, set to 0xFF and to 0x80.
        let lastField = try #require(fixture.dictionary.field(1))
        let indexStart = lastField.blocksOffset + lastField.blocks.count
        for offset in FileFormat.headerSize..<directoryOffset where offset % 41 == 0 || offset >= indexStart {
            for value: UInt8 in [0xFF, 0x80] {
                var bytes = pristine
                bytes[offset] = value
                try exercise(bytes, "byte \(offset) = \(value)")
            }
        }
    }

    @Test func compressedBlocksDamagedPastTheirChecksumsAreReportedOrHarmless() throws {
        // A crafted file passes its chunk checksums: a changed byte of a compressed block (its length or its
        // frame) must make a lookup that lands in the block report damage (zstd's content checksum and size
        // checks) or answer as before (a bit zstd ignores), never answer from garbage or trap.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_6000)
        let field = Self.randomField(ord: 0, count: 400, hasPositions: false, compressed: true, &rng)
        let fixture = try DictionaryFixture([field], seed: rng.next())
        let pristine = readFile(fixture.file.path)
        let f = try #require(fixture.dictionary.field(0))
        let starts = (0..<f.blockCount).map { Int(f.index.loadU64($0 * 16)) } + [f.blocksOffset + f.blocks.count]
        let path = fixture.directory.file("crafted.terms")
        var reported = 0
        var changes = 0
        for b in 0..<f.blockCount {
            let first = b * TermDictionaryWriter.compressedBlockTerms
            let inBlock = min(TermDictionaryWriter.compressedBlockTerms, field.terms.count - first)
            for offset in stride(from: starts[b], to: starts[b + 1], by: max(1, (starts[b + 1] - starts[b]) / 60)) {
                var bytes = pristine
                bytes[offset] ^= UInt8(1 << (offset % 8))
                resealSegmentFile(&bytes)
                writeFile(path, bytes)
                let file = try MappedFile(path: path)
                defer { withExtendedLifetime(file) {} }
                let dictionary = try TermDictionary(file: file, segmentID: fixture.id)
                let k = first + offset % inBlock
                var info: TermInfo?
                let error = thrownQuarryError {
                    info = try field.terms[k].withUnsafeBytes { try dictionary.lookup(0, $0) }
                }
                changes += 1
                if let error {
                    #expect(error.code == .corruptIndex, "block \(b), byte \(offset)")
                    reported += 1
                } else {
                    #expect(info == field.decoded(k), "block \(b), byte \(offset): answered from a damaged block")
                }
                let walk = thrownQuarryError { try dictionary.forEachTerm(0) { _, _ in true } }
                #expect(walk?.code == (error == nil ? nil : .corruptIndex), "block \(b), byte \(offset)")
            }
        }
        // Nearly every change is caught (a few bits of a frame's header are ignored by zstd).
        #expect(reported * 10 >= changes * 9, "\(reported) of \(changes) changes reported")
    }

    @Test func versionTwoDictionariesAreReadAndHoldNoCompressedField() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_7000)
        let fields = [
            Self.randomField(ord: 0, count: 100, hasPositions: false, &rng),
            Self.randomField(ord: 1, count: 100, hasPositions: true, &rng),
        ]
        let older = try DictionaryFixture(fields, seed: rng.next(), version: 2)
        #expect(readFile(older.file.path)[8] == 2)
        for f in fields {
            for (i, t) in f.terms.enumerated() { #expect(try older.lookup(f.ord, t) == f.decoded(i)) }
        }
        // A compressed field in a version 2 file is damage; version 4 is a format this build does not read.
        var compressed = fields[0]
        compressed.compressed = true
        let refused = thrownQuarryError { _ = try DictionaryFixture([compressed], seed: rng.next(), version: 2) }
        #expect(refused?.code == .corruptIndex)
        let newer = thrownQuarryError { _ = try DictionaryFixture(fields, seed: rng.next(), version: 4) }
        #expect(newer?.code == .incompatibleFormat)
    }

    @Test func openingChecksTheSegmentIdAndTheDirectory() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7E_4000)
        let field = Self.randomField(ord: 1, count: 100, hasPositions: true, &rng)
        let fixture = try DictionaryFixture([field], seed: 4)
        // Another segment's id.
        var other = fixture.id
        other[0] ^= 1
        #expect(throws: QuarryError.self) { try TermDictionary(file: fixture.file, segmentID: other) }
        do {
            _ = try TermDictionary(file: fixture.file, segmentID: other)
        } catch {
            #expect(error.code == .corruptIndex)
            #expect(error.path == fixture.file.path)
        }
        // A damaged directory entry fails its checksum when the dictionary opens.
        let path = fixture.directory.file("damaged.terms")
        var bytes = readFile(fixture.file.path)
        let trailer = coveredLength(bytes) - TermDictionary.trailerSize
        let directoryOffset = Int(bytes[trailer]) | Int(bytes[trailer + 1]) << 8 | Int(bytes[trailer + 2]) << 16
        bytes[directoryOffset + 20] ^= 0x40
        writeFile(path, bytes)
        let damaged = try MappedFile(path: path)
        do {
            _ = try TermDictionary(file: damaged, segmentID: fixture.id)
            Issue.record("a damaged directory must not open")
        } catch {
            #expect(error.code == .corruptIndex)
            #expect(error.message.contains("checksum"))
        }
    }
}
