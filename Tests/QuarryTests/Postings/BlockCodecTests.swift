// BlockCodec against a bit-by-bit model of its layout: integer i lives in lane i % 4 at row i / 4; each lane is a
// little-endian bit stream of 32 rows of `w` bits, and 32-bit word k of the four lanes is the k-th 16-byte group.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct BlockCodecTests {
    // MARK: Model

    /// The packed bytes of 128 values of `width` bits, one bit at a time.
    static func modelPack(_ values: [UInt32], width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16 * width)
        for i in 0..<128 {
            let lane = i % 4
            let row = i / 4
            for bit in 0..<width where (values[i] >> UInt32(bit)) & 1 == 1 {
                let streamBit = row * width + bit
                let word = streamBit / 32
                let bitInWord = streamBit % 32
                let byte = word * 16 + lane * 4 + bitInWord / 8  // little-endian word
                out[byte] |= 1 << UInt8(bitInWord % 8)
            }
        }
        return out
    }

    /// The 128 values of `width` bits in `bytes`, one bit at a time.
    static func modelUnpack(_ bytes: [UInt8], width: Int) -> [UInt32] {
        var out = [UInt32](repeating: 0, count: 128)
        for i in 0..<128 {
            let lane = i % 4
            let row = i / 4
            for bit in 0..<width {
                let streamBit = row * width + bit
                let word = streamBit / 32
                let bitInWord = streamBit % 32
                let byte = word * 16 + lane * 4 + bitInWord / 8
                if (bytes[byte] >> UInt8(bitInWord % 8)) & 1 == 1 { out[i] |= 1 << UInt32(bit) }
            }
        }
        return out
    }

    static func mask(_ width: Int) -> UInt32 { width == 32 ? .max : (UInt32(1) << UInt32(width)) &- 1 }

    /// Packs with the codec into a buffer with 64 guard bytes after the block (which must stay untouched).
    static func pack(_ values: [UInt32], width: Int) -> (packed: [UInt8], guardIntact: Bool) {
        let size = BlockCodec.packedSize(width: width)
        var buffer = [UInt8](repeating: 0xA5, count: size + 64)
        values.withUnsafeBufferPointer { src in
            buffer.withUnsafeMutableBytes { dst in
                BlockCodec.pack(src.baseAddress!, width: width, into: dst.baseAddress!)
            }
        }
        return (Array(buffer[0..<size]), buffer[size...].allSatisfy { $0 == 0xA5 })
    }

    static func unpack(_ bytes: [UInt8], width: Int) -> [UInt32] {
        var out = [UInt32](repeating: 0xDEAD_BEEF, count: 128)
        // At least 512 readable bytes, so that an out-of-range width (read as 32) stays in bounds.
        let padded = bytes + [UInt8](repeating: 0, count: max(0, 512 - bytes.count))
        padded.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer {
                BlockCodec.unpack(src.baseAddress!, width: width, into: $0.baseAddress!)
            }
        }
        return out
    }

    static func randomValues(width: Int, _ rng: inout SeededRandom) -> [UInt32] {
        (0..<128).map { _ in UInt32(truncatingIfNeeded: rng.next()) & mask(width) }
    }

    // MARK: Tests

    @Test func packedSizeIsSixteenBytesPerBit() {
        for w in 0...32 { #expect(BlockCodec.packedSize(width: w) == 16 * w) }
    }

    @Test(arguments: 0...32)
    func randomValuesRoundTripAndMatchTheModel(width: Int) {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xB10C_0000 + UInt64(width))
        for trial in 0..<20 {
            var values = Self.randomValues(width: width, &rng)
            if trial % 2 == 1 && width > 0 {
                // Make sure the top bit is used somewhere.
                values[Int.random(in: 0..<128, using: &rng)] |= 1 << UInt32(width - 1)
            }
            let (packed, guardIntact) = Self.pack(values, width: width)
            #expect(guardIntact, "pack wrote past 16 * \(width) bytes, \(rng.seedDescription)")
            #expect(
                packed == Self.modelPack(values, width: width),
                "layout differs at width \(width), \(rng.seedDescription)")
            #expect(Self.unpack(packed, width: width) == values, "round trip at width \(width), \(rng.seedDescription)")
        }
    }

    @Test(arguments: 0...32)
    func allMaximumValues(width: Int) {
        let values = [UInt32](repeating: Self.mask(width), count: 128)
        let (packed, guardIntact) = Self.pack(values, width: width)
        #expect(guardIntact)
        #expect(packed.allSatisfy { $0 == 0xFF })
        #expect(Self.unpack(packed, width: width) == values)
    }

    @Test(arguments: 1...32)
    func unpackReadsArbitraryBytesAsTheModelDoes(width: Int) {
        // Any byte pattern is a valid block: unpack must agree with the model bit for bit.
        var rng = SeededRandom(seedFromEnvironmentOr: 0xB10C_1000 + UInt64(width))
        for _ in 0..<10 {
            let bytes = rng.bytes(16 * width)
            #expect(Self.unpack(bytes, width: width) == Self.modelUnpack(bytes, width: width), "\(rng.seedDescription)")
        }
    }

    @Test func singleBitsLandWhereTheLayoutSays() {
        // Value i = 1 at width 1: bit `row` of lane `i % 4`.
        for i in 0..<128 {
            var values = [UInt32](repeating: 0, count: 128)
            values[i] = 1
            let (packed, _) = Self.pack(values, width: 1)
            var expected = [UInt8](repeating: 0, count: 16)
            expected[(i % 4) * 4 + (i / 4) / 8] = 1 << UInt8((i / 4) % 8)
            #expect(packed == expected, "value \(i)")
        }
    }

    @Test func widthZeroUnpacksToZeros() {
        #expect(Self.unpack([], width: 0) == [UInt32](repeating: 0, count: 128))
    }

    @Test(arguments: [33, 40, 64, 255])
    func outOfRangeWidthUnpacksAsThirtyTwo(width: Int) {
        var rng = SeededRandom(seed: 77)
        let bytes = rng.bytes(512)
        #expect(Self.unpack(bytes, width: width) == Self.unpack(bytes, width: 32))
    }

    @Test func requiredWidthIsTheBitLengthOfTheLargestValue() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xB10C_2000)
        for w in 0...32 {
            for _ in 0..<5 {
                var values = Self.randomValues(width: w, &rng)
                if w > 0 { values[Int.random(in: 0..<128, using: &rng)] |= 1 << UInt32(w - 1) }
                let expected = values.map { 32 - $0.leadingZeroBitCount }.max() ?? 0
                #expect(expected == w)
                let fromPointer = values.withUnsafeBufferPointer { BlockCodec.requiredWidth($0.baseAddress!) }
                let fromBuffer = values.withUnsafeBufferPointer { BlockCodec.requiredWidth($0) }
                #expect(fromPointer == w, "\(rng.seedDescription)")
                #expect(fromBuffer == w, "\(rng.seedDescription)")
            }
        }
        // Any count, for the buffer form.
        #expect([UInt32]().withUnsafeBufferPointer { BlockCodec.requiredWidth($0) } == 0)
        #expect([UInt32(5)].withUnsafeBufferPointer { BlockCodec.requiredWidth($0) } == 3)
        #expect([UInt32(0), 0x8000_0000, 1].withUnsafeBufferPointer { BlockCodec.requiredWidth($0) } == 32)
    }

    @Test func prefixSumMatchesARunningTotal() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xB10C_3000)
        for count in [0, 1, 2, 127, 128] {
            for _ in 0..<10 {
                let base = UInt32(truncatingIfNeeded: rng.next())
                let deltas = (0..<128).map { _ in
                    UInt32(truncatingIfNeeded: rng.next()) >> UInt32.random(in: 0...31, using: &rng)
                }
                var values = deltas
                values.withUnsafeMutableBufferPointer {
                    BlockCodec.prefixSum($0.baseAddress!, count: count, base: base)
                }
                var expected = deltas
                var acc = base
                for i in 0..<count {
                    acc = acc &+ deltas[i]
                    expected[i] = acc
                }
                #expect(values == expected, "count \(count), \(rng.seedDescription)")
                if count == 128 {
                    var lanes = deltas
                    lanes.withUnsafeMutableBufferPointer { BlockCodec.prefixSum128($0.baseAddress!, base: base) }
                    #expect(lanes == expected, "four lanes, \(rng.seedDescription)")
                    // Deltas stored less one (postings version 3): the same sums of each value plus one.
                    var increments = deltas
                    increments.withUnsafeMutableBufferPointer {
                        BlockCodec.prefixSumOfIncrements128($0.baseAddress!, base: base)
                    }
                    var plusOne = deltas
                    var sum = base
                    for i in 0..<128 {
                        sum = sum &+ deltas[i] &+ 1
                        plusOne[i] = sum
                    }
                    #expect(increments == plusOne, "four lanes, increments, \(rng.seedDescription)")
                }
            }
        }
    }

    @Test func extractReadsEveryValueOfEveryWidth() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xB10C_6000)
        for width in 0...32 {
            let limit: UInt64 = width == 32 ? UInt64(UInt32.max) : (1 << UInt64(width)) - 1
            let values = (0..<128).map { _ in UInt32(UInt64.random(in: 0...limit, using: &rng)) }
            let packed = Self.modelPack(values, width: width)
            // Exactly the block's bytes, so that a read past its end would be caught by the address sanitizer.
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: max(packed.count, 1), alignment: 1)
            defer { bytes.deallocate() }
            bytes.copyMemory(from: packed, byteCount: packed.count)
            for i in 0..<128 {
                let v = BlockCodec.extract(UnsafeRawPointer(bytes), width: width, index: i)
                #expect(v == values[i], "width \(width), index \(i), \(rng.seedDescription)")
            }
        }
    }

    @Test func containsZeroFindsEveryZero() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xB10C_5000)
        for _ in 0..<200 {
            var values = (0..<128).map { _ in UInt32.random(in: 1...UInt32.max, using: &rng) }
            let zeros = Int.random(in: 0...3, using: &rng)
            for _ in 0..<zeros { values[Int.random(in: 0..<128, using: &rng)] = 0 }
            for exceptFirst in [false, true] {
                let expected = values.indices.contains { values[$0] == 0 && !(exceptFirst && $0 == 0) }
                let found = values.withUnsafeBufferPointer {
                    BlockCodec.containsZero($0.baseAddress!, exceptFirst: exceptFirst)
                }
                #expect(found == expected, "\(rng.seedDescription)")
            }
        }
    }

    @Test func deltaCodedDocumentsRoundTrip() {
        // The postings use: deltas -> pack -> unpack -> prefixSum128 from the previous block's last document.
        var rng = SeededRandom(seedFromEnvironmentOr: 0xB10C_4000)
        var doc: UInt32 = UInt32.random(in: 0...1000, using: &rng)
        let base = doc
        var docs: [UInt32] = []
        for _ in 0..<128 {
            doc += 1 + UInt32(rng.skewed(below: 1 << 20))
            docs.append(doc)
        }
        var deltas: [UInt32] = []
        var previous = base
        for d in docs {
            deltas.append(d - previous)
            previous = d
        }
        let width = deltas.withUnsafeBufferPointer { BlockCodec.requiredWidth($0.baseAddress!) }
        var decoded = Self.unpack(Self.pack(deltas, width: width).packed, width: width)
        decoded.withUnsafeMutableBufferPointer { BlockCodec.prefixSum128($0.baseAddress!, base: base) }
        #expect(decoded == docs, "\(rng.seedDescription)")
    }
}
