// Bit-packing of blocks of 128 unsigned 32-bit integers, four lanes wide (the layout of Lemire and Boytsov's
// SIMD-BP128, "Decoding billions of integers per second through vectorization", 2015).
//
// A block of width `w` (0...32) takes exactly `16 * w` bytes. Integer `i` lives in lane `i % 4` at row `i / 4`;
// each lane is a little-endian bit stream of 32 rows of `w` bits, and word `k` of the four lanes is stored together
// as the `k`-th 16-byte group. So packing and unpacking move four integers at a time with `SIMD4<UInt32>` shifts and
// masks, and every width has its own fully specialized routine (a `switch` over constant widths), with no branch on
// the data.
//
//     group 0 (16 bytes)            group 1                        ...   group w-1
//     lane0 w0 | lane1 w0 | ... |   lane0 w1 | lane1 w1 | ...          lane0 w(w-1) ...
//
// Doc ids are delta-coded before packing (see `PostingsWriter`); `prefixSum` undoes it.

#if _endian(big)
    #error("Quarry's file formats are little-endian and its codecs assume a little-endian host")
#endif

enum BlockCodec {
    /// Integers per block.
    static let blockSize = 128

    /// Bytes taken by a packed block of `width` bits.
    @inline(__always)
    static func packedSize(width: Int) -> Int { 16 * width }

    /// The number of bits needed for the largest of the 128 values at `values`.
    @inline(__always)
    static func requiredWidth(_ values: UnsafePointer<UInt32>) -> Int {
        var acc = SIMD4<UInt32>(repeating: 0)
        let raw = UnsafeRawPointer(values)
        for r in 0..<32 {
            acc |= raw.loadUnaligned(fromByteOffset: r * 16, as: SIMD4<UInt32>.self)
        }
        let v = acc[0] | acc[1] | acc[2] | acc[3]
        return 32 - v.leadingZeroBitCount
    }

    /// The number of bits needed for the largest value of `values` (any count).
    static func requiredWidth(_ values: UnsafeBufferPointer<UInt32>) -> Int {
        var v: UInt32 = 0
        for x in values { v |= x }
        return 32 - v.leadingZeroBitCount
    }

    /// Packs 128 values (each must fit in `width` bits) into `16 * width` bytes at `output`.
    static func pack(_ input: UnsafePointer<UInt32>, width: Int, into output: UnsafeMutableRawPointer) {
        precondition(width >= 0 && width <= 32, "BlockCodec.pack: width must be in 0...32")
        switch width {
        case 0: return
        case 1: _pack(input, 1, output)
        case 2: _pack(input, 2, output)
        case 3: _pack(input, 3, output)
        case 4: _pack(input, 4, output)
        case 5: _pack(input, 5, output)
        case 6: _pack(input, 6, output)
        case 7: _pack(input, 7, output)
        case 8: _pack(input, 8, output)
        case 9: _pack(input, 9, output)
        case 10: _pack(input, 10, output)
        case 11: _pack(input, 11, output)
        case 12: _pack(input, 12, output)
        case 13: _pack(input, 13, output)
        case 14: _pack(input, 14, output)
        case 15: _pack(input, 15, output)
        case 16: _pack(input, 16, output)
        case 17: _pack(input, 17, output)
        case 18: _pack(input, 18, output)
        case 19: _pack(input, 19, output)
        case 20: _pack(input, 20, output)
        case 21: _pack(input, 21, output)
        case 22: _pack(input, 22, output)
        case 23: _pack(input, 23, output)
        case 24: _pack(input, 24, output)
        case 25: _pack(input, 25, output)
        case 26: _pack(input, 26, output)
        case 27: _pack(input, 27, output)
        case 28: _pack(input, 28, output)
        case 29: _pack(input, 29, output)
        case 30: _pack(input, 30, output)
        case 31: _pack(input, 31, output)
        default: _pack(input, 32, output)
        }
    }

    /// Unpacks 128 values of `width` bits from `input` (which must hold `16 * width` readable bytes).
    /// An out-of-range width (damaged data) unpacks as 32 and the caller's bounds checks catch it.
    static func unpack(_ input: UnsafeRawPointer, width: Int, into output: UnsafeMutablePointer<UInt32>) {
        switch width {
        case 0: output.update(repeating: 0, count: 128)
        case 1: _unpack(input, 1, output)
        case 2: _unpack(input, 2, output)
        case 3: _unpack(input, 3, output)
        case 4: _unpack(input, 4, output)
        case 5: _unpack(input, 5, output)
        case 6: _unpack(input, 6, output)
        case 7: _unpack(input, 7, output)
        case 8: _unpack(input, 8, output)
        case 9: _unpack(input, 9, output)
        case 10: _unpack(input, 10, output)
        case 11: _unpack(input, 11, output)
        case 12: _unpack(input, 12, output)
        case 13: _unpack(input, 13, output)
        case 14: _unpack(input, 14, output)
        case 15: _unpack(input, 15, output)
        case 16: _unpack(input, 16, output)
        case 17: _unpack(input, 17, output)
        case 18: _unpack(input, 18, output)
        case 19: _unpack(input, 19, output)
        case 20: _unpack(input, 20, output)
        case 21: _unpack(input, 21, output)
        case 22: _unpack(input, 22, output)
        case 23: _unpack(input, 23, output)
        case 24: _unpack(input, 24, output)
        case 25: _unpack(input, 25, output)
        case 26: _unpack(input, 26, output)
        case 27: _unpack(input, 27, output)
        case 28: _unpack(input, 28, output)
        case 29: _unpack(input, 29, output)
        case 30: _unpack(input, 30, output)
        case 31: _unpack(input, 31, output)
        default: _unpack(input, 32, output)
        }
    }

    @inline(__always)
    private static func _pack(_ input: UnsafePointer<UInt32>, _ w: Int, _ output: UnsafeMutableRawPointer) {
        let raw = UnsafeRawPointer(input)
        let mask = SIMD4<UInt32>(repeating: w == 32 ? UInt32.max : (UInt32(1) << UInt32(w)) &- 1)
        var acc = SIMD4<UInt32>(repeating: 0)
        var bits = 0
        var word = 0
        for r in 0..<32 {
            let v = raw.loadUnaligned(fromByteOffset: r * 16, as: SIMD4<UInt32>.self) & mask
            acc |= v &<< UInt32(bits)
            bits += w
            if bits >= 32 {
                output.storeBytes(of: acc, toByteOffset: word * 16, as: SIMD4<UInt32>.self)
                word += 1
                bits -= 32
                acc = bits > 0 ? v &>> UInt32(w - bits) : SIMD4<UInt32>(repeating: 0)
            }
        }
    }

    @inline(__always)
    private static func _unpack(_ input: UnsafeRawPointer, _ w: Int, _ output: UnsafeMutablePointer<UInt32>) {
        let mask = SIMD4<UInt32>(repeating: w == 32 ? UInt32.max : (UInt32(1) << UInt32(w)) &- 1)
        let out = UnsafeMutableRawPointer(output)
        var word = 0
        var cur = input.loadUnaligned(fromByteOffset: 0, as: SIMD4<UInt32>.self)
        var bits = 0
        for r in 0..<32 {
            var v = cur &>> UInt32(bits)
            if bits + w > 32 {
                word += 1
                cur = input.loadUnaligned(fromByteOffset: word * 16, as: SIMD4<UInt32>.self)
                v |= cur &<< UInt32(32 - bits)
            } else if bits + w == 32 && word + 1 < w {
                word += 1
                cur = input.loadUnaligned(fromByteOffset: word * 16, as: SIMD4<UInt32>.self)
            }
            out.storeBytes(of: v & mask, toByteOffset: r * 16, as: SIMD4<UInt32>.self)
            bits = (bits + w) & 31
        }
    }

    /// The smallest of 128 values and their sum (four lanes at a time).
    @inline(__always)
    static func minimumAndSum(_ values: UnsafePointer<UInt32>) -> (UInt32, UInt64) {
        let raw = UnsafeRawPointer(values)
        var m = SIMD4<UInt32>(repeating: .max)
        var lo = SIMD4<UInt64>(repeating: 0)
        for r in 0..<32 {
            let v = raw.loadUnaligned(fromByteOffset: r * 16, as: SIMD4<UInt32>.self)
            m = pointwiseMin(m, v)
            lo &+= SIMD4<UInt64>(truncatingIfNeeded: v)
        }
        return (m.min(), lo[0] &+ lo[1] &+ lo[2] &+ lo[3])
    }

    /// The smallest of values 1..<128.
    static func minimumAfterFirst(_ values: UnsafePointer<UInt32>) -> UInt32 {
        var m = UInt32.max
        for i in 1..<128 { m = min(m, values[i]) }
        return m
    }

    /// Adds one to each of 128 values (frequencies are stored minus one).
    @inline(__always)
    static func addOne(_ values: UnsafeMutablePointer<UInt32>) {
        let raw = UnsafeMutableRawPointer(values)
        for r in 0..<32 {
            let v = raw.loadUnaligned(fromByteOffset: r * 16, as: SIMD4<UInt32>.self)
            raw.storeBytes(of: v &+ 1, toByteOffset: r * 16, as: SIMD4<UInt32>.self)
        }
    }

    /// Turns 128 deltas into values in place: `v[0] = base + d[0]`, `v[i] = v[i-1] + d[i]` (wrapping).
    @inline(__always)
    static func prefixSum(_ values: UnsafeMutablePointer<UInt32>, count: Int, base: UInt32) {
        var acc = base
        for i in 0..<count {
            acc &+= values[i]
            values[i] = acc
        }
    }
}
