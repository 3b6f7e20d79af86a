// The readers' run scans against plain loops over random bytes (sets, single bytes, needles, line counts, slices,
// ranges out of bounds), and the wikitext line tidier, which copies runs through them, against the byte-at-a-time
// rules it replaced.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct ByteScanTests {
    /// Random bytes from a small alphabet, so that every kind of byte occurs often.
    static func randomBytes(_ count: Int, _ alphabet: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        (0..<count).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
    }

    @Test func scansEqualPlainLoops() {
        var rng = SeededRandom(seed: 11)
        let alphabet: [UInt8] = Array("ab <&\n;,.()".utf8) + [0x00, 0x7F, 0xC2, 0xA0, 0xFF]
        for round in 0..<400 {
            let bytes = Self.randomBytes(Int(rng.next() % 200), alphabet, &rng)
            let members = Self.randomBytes(Int(rng.next() % 4) + 1, alphabet, &rng)
            let set = ByteSet(members)
            let from = Int(rng.next() % 220) - 10
            let to = Int(rng.next() % 220) - 10
            let lo = min(max(from, 0), bytes.count)
            let hi = min(max(to, 0), bytes.count)
            let range = lo < hi ? lo..<hi : lo..<lo
            // A set.
            // (None: the end of the range, `to` clamped to the bytes.)
            let expected = range.first { members.contains(bytes[$0]) } ?? hi
            #expect(ByteScan.first(bytes, of: set, from: from, to: to) == expected, "round \(round)")
            // One byte.
            let b = members[0]
            #expect(ByteScan.first(bytes, byte: b, from: from, to: to) == range.first { bytes[$0] == b })
            // A needle, which must end before `to`.
            let needle = Array(members.prefix(3))
            let hit = range.first { i in
                i + needle.count <= range.upperBound && Array(bytes[i..<(i + needle.count)]) == needle
            }
            #expect(ByteScan.first(bytes, needle, from: from, to: to) == hit, "round \(round)")
            // Counts.
            #expect(ByteScan.count(bytes, of: b, from: from, to: to) == range.filter { bytes[$0] == b }.count)
            // A slice keeps its own indices.
            if bytes.count > 4 {
                let slice = bytes[2..<(bytes.count - 1)]
                let sliceEnd = min(max(to, 2), bytes.count - 1)
                let sliceStart = min(max(from, 2), sliceEnd)
                let sliceExpected = (sliceStart..<sliceEnd).first { members.contains(bytes[$0]) } ?? sliceEnd
                #expect(ByteScan.first(slice, of: set, from: from, to: to) == sliceExpected, "round \(round)")
            }
        }
    }

    @Test func setsFromPredicates() {
        let set = ByteSet(where: { $0 < 0x20 || $0 == 0x7F })
        for b in 0...255 { #expect(set.contains(UInt8(b)) == (b < 0x20 || b == 0x7F)) }
    }

    /// The tidying rules one byte at a time, as `Wikitext.tidyLine` was written before it copied runs.
    static func tidyOracle(_ line: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var space = false
        var k = 0
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }
        while k < line.count {
            let c = line[k]
            k += 1
            if isSpace(c) || c == 0x0D || c == 0x0B || c == 0x0C {
                space = !out.isEmpty
                continue
            }
            if space {
                space = false
                let next = k < line.count ? line[k] : 0x20
                let punctuation = c == UInt8(ascii: ",") || c == UInt8(ascii: ".") || c == UInt8(ascii: ";")
                if !((punctuation && (isSpace(next) || next == 0x0D)) || c == UInt8(ascii: ")")
                    || out.last == UInt8(ascii: "("))
                {
                    out.append(0x20)
                }
            }
            if c == UInt8(ascii: ")") && (out.last == UInt8(ascii: ";") || out.last == UInt8(ascii: ",")) {
                out.removeLast()
            }
            if out.last == UInt8(ascii: "(") {
                if c == UInt8(ascii: ")") {
                    out.removeLast()
                    if out.last == 0x20 {
                        out.removeLast()
                        space = true
                    }
                    continue
                }
                if c == UInt8(ascii: ";") || c == UInt8(ascii: ",") { continue }
            }
            out.append(c)
        }
        return out
    }

    @Test func tidyLineEqualsTheByteRules() {
        var rng = SeededRandom(seed: 5)
        let alphabet: [UInt8] = Array("ab  (),.;\t".utf8) + [0x0D, 0x0B, 0xC3, 0xA9]
        for round in 0..<3000 {
            let line = Self.randomBytes(Int(rng.next() % 40), alphabet, &rng)
            let padded = [UInt8(ascii: "x")] + line + [UInt8(ascii: "y")]
            var out: [UInt8] = []
            Wikitext.tidyLine(padded[1..<(padded.count - 1)], into: &out)
            #expect(out == Self.tidyOracle(line), "round \(round): \(line)")
        }
    }
}
