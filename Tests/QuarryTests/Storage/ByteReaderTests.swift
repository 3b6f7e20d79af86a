// RawBytes, ByteCursor and ByteBuffer: bounds, little-endian layout and LEB128 variable-length integers; and the
// CRC-32 of Checksum.swift against known values and a bitwise model.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct ByteReaderTests {
    // MARK: Variable-length integers

    static func encoded(_ v: UInt64) -> [UInt8] {
        var b = ByteBuffer()
        b.vint(v)
        return b.bytes
    }

    static func decode(_ bytes: [UInt8]) -> (value: UInt64?, position: Int) {
        bytes.withRawBytes { raw in
            var c = ByteCursor(raw)
            let v = c.vint()
            return (v, c.position)
        }
    }

    static let boundaries: [(UInt64, Int)] = [
        (0, 1), (1, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (2_097_151, 3), (2_097_152, 4),
        (UInt64(UInt32.max), 5), (1 << 35 - 1, 5), (1 << 35, 6), (1 << 56, 9), (1 << 63 - 1, 9), (1 << 63, 10),
        (UInt64.max, 10),
    ]

    @Test(arguments: boundaries)
    func vintRoundTripsAtBoundaries(value: UInt64, length: Int) {
        let bytes = Self.encoded(value)
        #expect(bytes.count == length)
        // LEB128: 7 bits per byte, low group first, high bit set on all but the last byte.
        var model: UInt64 = 0
        for (k, b) in bytes.enumerated() {
            model |= UInt64(b & 0x7F) << UInt64(7 * k)
            #expect((b & 0x80 != 0) == (k < bytes.count - 1))
        }
        #expect(model == value)
        let (decoded, position) = Self.decode(bytes)
        #expect(decoded == value)
        #expect(position == length)
    }

    @Test func vintRoundTripsRandomValues() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x71_0001)
        var buffer = ByteBuffer()
        var values: [UInt64] = []
        for _ in 0..<5000 {
            let v = rng.skewed(below: .max)
            values.append(v)
            buffer.vint(v)
        }
        buffer.bytes.withRawBytes { raw in
            var c = ByteCursor(raw)
            for v in values { #expect(c.vint() == v, "\(rng.seedDescription)") }
            #expect(c.remaining == 0)
            #expect(c.vint() == nil)
        }
    }

    @Test(arguments: boundaries.filter { $0.1 > 1 })
    func truncatedVintIsNil(value: UInt64, length: Int) {
        let bytes = Self.encoded(value)
        for cut in 0..<bytes.count {
            #expect(Self.decode(Array(bytes[0..<cut])).value == nil, "\(value) cut to \(cut) bytes")
        }
    }

    @Test func overlongVintsAreNil() {
        // Eleven bytes: more than 64 bits of groups.
        #expect(Self.decode([UInt8](repeating: 0x80, count: 10) + [0x00]).value == nil)
        #expect(Self.decode([UInt8](repeating: 0xFF, count: 11)).value == nil)
        // Ten bytes whose last one carries bits beyond the 64th.
        #expect(Self.decode([UInt8](repeating: 0xFF, count: 9) + [0x02]).value == nil)
        #expect(Self.decode([UInt8](repeating: 0xFF, count: 9) + [0x7F]).value == nil)
        // The largest legal ten-byte vint is UInt64.max.
        #expect(Self.decode([UInt8](repeating: 0xFF, count: 9) + [0x01]).value == .max)
    }

    @Test func vintWithLimit() {
        for (value, limit, expected) in [(5, 5, 5), (6, 5, nil), (0, 0, 0), (1000, 999, nil)] as [(Int, Int, Int?)] {
            Self.encoded(UInt64(value)).withRawBytes { raw in
                var c = ByteCursor(raw)
                #expect(c.vint(limit: limit) == expected)
            }
        }
        // A value that does not fit Int.
        Self.encoded(.max).withRawBytes { raw in
            var c = ByteCursor(raw)
            #expect(c.vint(limit: .max) == nil)
        }
    }

    // MARK: Fixed-width values and strings

    @Test func byteBufferIsLittleEndian() {
        var b = ByteBuffer()
        b.u8(0xAB)
        b.u16(0x0102)
        b.u32(0x0304_0506)
        b.u64(0x0708_090A_0B0C_0D0E)
        b.i64(-2)
        #expect(
            b.bytes == [
                0xAB, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07,
                0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ])
        b.patchU32(at: 3, 0xCAFE_BABE)
        #expect(Array(b.bytes[3..<7]) == [0xBE, 0xBA, 0xFE, 0xCA])
        #expect(b.count == 23)
        b.removeAll()
        #expect(b.count == 0)
    }

    @Test func cursorReadsWhatTheBufferWrote() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x71_0002)
        enum Item: Equatable {
            case u8(UInt8)
            case u16(UInt16)
            case u32(UInt32)
            case u64(UInt64)
            case i64(Int64)
            case vint(UInt64)
            case string(String)
        }
        var items: [Item] = []
        var b = ByteBuffer()
        let strings = ["", "a", "café", "日本語", String(repeating: "x", count: 300)]
        for _ in 0..<2000 {
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: items.append(.u8(.random(in: 0...255, using: &rng)))
            case 1: items.append(.u16(.random(in: 0...UInt16.max, using: &rng)))
            case 2: items.append(.u32(.random(in: 0...UInt32.max, using: &rng)))
            case 3: items.append(.u64(rng.next()))
            case 4: items.append(.i64(Int64(bitPattern: rng.next())))
            case 5: items.append(.vint(rng.skewed(below: .max)))
            default: items.append(.string(strings[Int.random(in: 0..<strings.count, using: &rng)]))
            }
            switch items.last! {
            case .u8(let v): b.u8(v)
            case .u16(let v): b.u16(v)
            case .u32(let v): b.u32(v)
            case .u64(let v): b.u64(v)
            case .i64(let v): b.i64(v)
            case .vint(let v): b.vint(v)
            case .string(let v): b.string(v)
            }
        }
        b.bytes.withRawBytes { raw in
            var c = ByteCursor(raw)
            for item in items {
                let read: Item?
                switch item {
                case .u8: read = c.u8().map(Item.u8)
                case .u16: read = c.u16().map(Item.u16)
                case .u32: read = c.u32().map(Item.u32)
                case .u64: read = c.u64().map(Item.u64)
                case .i64: read = c.i64().map(Item.i64)
                case .vint: read = c.vint().map(Item.vint)
                case .string: read = c.string().map(Item.string)
                }
                #expect(read == item, "\(rng.seedDescription)")
            }
            #expect(c.remaining == 0)
        }
    }

    @Test func readsPastTheEndAreNilAndDoNotMove() {
        [UInt8](repeating: 7, count: 7).withRawBytes { raw in
            var c = ByteCursor(raw, position: 4)
            #expect(c.u64() == nil)
            #expect(c.u32() == nil)
            #expect(c.position == 4)
            #expect(c.u16() == 0x0707)
            #expect(c.u8() == 7)
            #expect(c.u8() == nil)
            #expect(c.bytes(1) == nil)
            #expect(c.bytes(0) != nil)
            #expect(c.position == 7)
            #expect(c.remaining == 0)
        }
    }

    @Test func stringsAreLengthPrefixedAndRepaired() {
        var b = ByteBuffer()
        b.string("héllo")
        #expect(b.bytes == [6] + Array("héllo".utf8))
        // Invalid UTF-8 decodes with U+FFFD; a length beyond the limit or the data is nil.
        [3, 0x61, 0xFF, 0x62].withRawBytes { raw in
            var c = ByteCursor(raw)
            #expect(c.string() == "a\u{FFFD}b")
        }
        [4, 0x61].withRawBytes { raw in
            var c = ByteCursor(raw)
            #expect(c.string() == nil)
        }
        [3, 0x61, 0x62, 0x63].withRawBytes { raw in
            var c = ByteCursor(raw)
            #expect(c.string(limit: 2) == nil)
        }
    }

    // MARK: RawBytes windows

    @Test func sliceAndContainsBounds() {
        let bytes = Array(0..<16) as [UInt8]
        bytes.withRawBytes { raw in
            let cases: [(Int, Int, Bool)] = [
                (0, 0, true), (0, 16, true), (16, 0, true), (15, 1, true), (8, 8, true),
                (0, 17, false), (16, 1, false), (17, 0, false), (-1, 1, false), (-1, 0, false), (0, -1, false),
                (1, Int.max, false), (Int.max, 1, false), (Int.max, Int.max, false), (Int.min, 0, false),
            ]
            for (offset, length, inside) in cases {
                #expect(raw.contains(offset, length) == inside, "contains(\(offset), \(length))")
                let s = raw.slice(offset, length)
                #expect((s != nil) == inside, "slice(\(offset), \(length))")
                if let s {
                    #expect(s.count == length)
                    #expect(s.toArray() == Array(bytes[offset..<(offset + length)]))
                }
            }
            // Checked loads at the edges.
            #expect(raw.u8(15) == 15)
            #expect(raw.u8(16) == nil)
            #expect(raw.u16(14) == 0x0F0E)
            #expect(raw.u16(15) == nil)
            #expect(raw.u32(12) == 0x0F0E_0D0C)
            #expect(raw.u32(13) == nil)
            #expect(raw.u64(8) == 0x0F0E_0D0C_0B0A_0908)
            #expect(raw.u64(9) == nil)
            #expect(raw.u64(-1) == nil)
            // A slice of a slice stays inside its parent's window.
            let inner = raw.slice(4, 8)!
            #expect(inner.slice(0, 8)?.toArray() == Array(4..<12))
            #expect(inner.slice(1, 8) == nil)
            #expect(inner.u64(0) == 0x0B0A_0908_0706_0504)
        }
        // An empty array is an empty window.
        [UInt8]().withRawBytes { raw in
            #expect(raw.count == 0)
            #expect(raw.contains(0, 0))
            #expect(raw.u8(0) == nil)
        }
    }

    @Test func compareIsBytewiseWithShorterFirst() {
        let cases: [([UInt8], [UInt8], Int)] = [
            ([], [], 0), ([], [0], -1), ([0], [], 1), ([1, 2, 3], [1, 2, 3], 0), ([1, 2], [1, 2, 3], -1),
            ([1, 2, 4], [1, 2, 3], 1), ([0x7F], [0x80], -1), ([0xFF], [0x00, 0x00], 1),
            (Array(repeating: 5, count: 20) + [1], Array(repeating: 5, count: 20) + [2], -1),
            (Array(repeating: 5, count: 9), Array(repeating: 5, count: 8) + [6], -1),
        ]
        for (a, b, expected) in cases {
            let c = a.withRawBytes { ra in b.withUnsafeBytes { ra.compare($0) } }
            #expect(c == expected, "\(a) vs \(b)")
        }
        var rng = SeededRandom(seedFromEnvironmentOr: 0x71_0003)
        for _ in 0..<500 {
            let a = rng.bytes(Int.random(in: 0...20, using: &rng)).map { $0 % 3 }
            let b = rng.bytes(Int.random(in: 0...20, using: &rng)).map { $0 % 3 }
            let expected = a == b ? 0 : (a.lexicographicallyPrecedes(b) ? -1 : 1)
            let c = a.withRawBytes { ra in b.withUnsafeBytes { ra.compare($0) } }
            #expect(c == expected, "\(a) vs \(b), \(rng.seedDescription)")
        }
    }

    // MARK: CRC-32

    /// CRC-32 (IEEE, reflected, polynomial 0xEDB88320), bit by bit.
    static func modelCRC(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    @Test(arguments: [
        ("123456789", 0xCBF4_3926 as UInt32), ("", 0), ("a", 0xE8B7_BE43),
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
    ])
    func crc32KnownValues(text: String, expected: UInt32) {
        let bytes = Array(text.utf8)
        #expect(CRC32.of(bytes) == expected)
        #expect(bytes.withRawBytes { CRC32.of($0) } == expected)
        #expect(Self.modelCRC(bytes) == expected)
    }

    @Test func crc32MatchesTheModelAndIsIncremental() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x71_0004)
        for _ in 0..<50 {
            let bytes = rng.bytes(Int(rng.skewed(below: 5000)))
            let expected = Self.modelCRC(bytes)
            #expect(CRC32.of(bytes) == expected, "\(rng.seedDescription)")
            // In random pieces.
            var crc = CRC32()
            var i = 0
            while i < bytes.count {
                let n = min(bytes.count - i, Int.random(in: 0...300, using: &rng))
                crc.update(Array(bytes[i..<(i + n)]))
                i += n
            }
            #expect(crc.value == expected, "\(rng.seedDescription)")
        }
    }
}
