// Length norms: the one-byte quantization of field lengths (Lucene's SmallFloat.intToByte4) and the `.norms` file.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct FieldNormsTests {
    /// The largest value of the decode table that is <= n (what floor quantization must give).
    static func floorInTable(_ n: UInt32) -> UInt32 {
        FieldNorm.decodeTable.filter { $0 <= n }.max()!
    }

    @Test func smallLengthsAreExact() {
        for n in UInt32(0)...23 {
            #expect(FieldNorm.encode(n) == UInt8(n))
            #expect(FieldNorm.decode(UInt8(n)) == n)
        }
    }

    @Test func theTableIncreasesAndEveryByteRoundTrips() {
        let table = FieldNorm.decodeTable
        #expect(table.count == 256)
        for b in 1..<256 { #expect(table[b] > table[b - 1], "byte \(b)") }
        for b in 0..<256 {
            #expect(FieldNorm.encode(table[b]) == UInt8(b), "byte \(b) decodes to \(table[b])")
        }
        #expect(table[255] == 24 + (15 << 27))
    }

    @Test func knownPoints() {
        for (length, decoded) in [
            (24, 24), (25, 25), (31, 31), (32, 32), (41, 40), (43, 42), (51, 50), (61, 60), (100, 96), (1000, 984),
        ]
            as [(UInt32, UInt32)]
        {
            #expect(FieldNorm.decode(FieldNorm.encode(length)) == decoded, "length \(length)")
        }
    }

    @Test func encodingIsMonotoneAndRoundsDown() {
        var previous: UInt8 = 0
        for n in UInt32(0)...5000 {
            let b = FieldNorm.encode(n)
            #expect(b >= previous, "encode(\(n)) < encode(\(n - 1))")
            previous = b
            let d = FieldNorm.decode(b)
            #expect(d <= n)
            #expect(d == Self.floorInTable(n), "length \(n)")
        }
    }

    @Test func largeAndRandomLengths() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x4E_0001)
        var lengths: [UInt32] = [UInt32(Int32.max), UInt32(Int32.max) + 1, .max, 1 << 20, (1 << 20) - 1, (1 << 20) + 1]
        for _ in 0..<2000 { lengths.append(UInt32(rng.skewed(below: 1 << 32))) }
        for n in lengths {
            let d = FieldNorm.decode(FieldNorm.encode(n))
            #expect(d <= n)
            #expect(d == Self.floorInTable(n), "length \(n), \(rng.seedDescription)")
        }
        // Beyond 2^31 everything is the last byte.
        #expect(FieldNorm.encode(.max) == 255)
        #expect(FieldNorm.encode(UInt32(Int32.max)) == 255)
    }

    // MARK: The .norms file

    @Test func normsFileRoundTrips() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x4E_0002)
        let dir = TemporaryDirectory("norms")
        let id = rng.bytes(16)
        for docCount in [0, 1, 127, 1000] {
            let columns: [(Int, [UInt8])] = [1, 2, 5].map { ord in
                (ord, (0..<docCount).map { _ in UInt8.random(in: 0...255, using: &rng) })
            }
            let path = dir.file("s\(docCount).norms")
            let size = try FieldNormsWriter.write(path: path, segmentID: id, docCount: docCount, columns: columns)
            #expect(size == fileSize(path))
            let file = try MappedFile(path: path)  // (the reader's windows point into it: keep it alive)
            defer { withExtendedLifetime(file) {} }
            let reader = try FieldNormsReader(file: file, segmentID: id, expectedDocs: docCount)
            #expect(reader.docCount == docCount)
            for (ord, bytes) in columns {
                #expect(reader.column(ord)?.toArray() == bytes, "field \(ord), \(docCount) docs")
            }
            #expect(reader.column(3) == nil)
            // The document count must match the segment's.
            #expect(throws: QuarryError.self) {
                _ = try FieldNormsReader(file: file, segmentID: id, expectedDocs: docCount + 1)
            }
        }
    }
}
