// Character classes and lowercase mappings for the tokenizer, outside ASCII.
//
// A token character is one that Rust's `char::is_alphanumeric` accepts (Unicode Alphabetic, or a general category
// of Nd, Nl or No), so that Quarry's tokens are Tantivy's. Lowercasing is the full Unicode lowercase mapping of
// each scalar (Rust's `char::to_lowercase`). For indexing, the Basic Multilingual Plane is tabulated on first use
// (about 5 ms, once per process); queries and snippets, which meet few characters, ask the Unicode properties
// directly instead, so that `quarry search` never pays for the table.

struct UnicodeTables: Sendable {
    /// One bit per BMP scalar: is it a token character?
    private let alnumBits: [UInt64]
    /// Per BMP scalar: its single-scalar lowercase mapping, or 0xFFFF_FFFF when the mapping has several scalars.
    private let lower: [UInt32]
    /// One bit per BMP scalar: may NFC change text holding it? (`Analyzer.mayChangeUnderNFC`)
    private let nfcBits: [UInt64]

    static let shared = UnicodeTables()

    private init() {
        var bits = [UInt64](repeating: 0, count: 65536 / 64)
        var lower = [UInt32](repeating: 0, count: 65536)
        for v in 0..<65536 {
            lower[v] = UInt32(v)
            guard let s = Unicode.Scalar(UInt32(v)) else { continue }
            if UnicodeTables.computeIsAlphanumeric(s) {
                bits[v >> 6] |= 1 << UInt64(v & 63)
            }
            let props = s.properties
            if props.changesWhenLowercased {
                let m = props.lowercaseMapping.unicodeScalars
                if m.count == 1, let first = m.first {
                    lower[v] = first.value
                } else {
                    lower[v] = 0xFFFF_FFFF
                }
            }
        }
        self.alnumBits = bits
        self.lower = lower
        var nfc = [UInt64](repeating: 0, count: 65536 / 64)
        for v in 0x300..<65536 where Analyzer.mayChangeUnderNFC(UInt32(v)) {
            nfc[v >> 6] |= 1 << UInt64(v & 63)
        }
        self.nfcBits = nfc
    }

    /// Is scalar `v` a token character? (No table.)
    static func isAlphanumericDirect(_ v: UInt32) -> Bool {
        guard let s = Unicode.Scalar(v) else { return false }
        return computeIsAlphanumeric(s)
    }

    /// Writes the lowercase mapping of scalar `v` at `out + at` (no table; room for 12 bytes: a mapping has at
    /// most 3 scalars); returns the offset after it.
    static func writeLowercaseDirect(_ v: UInt32, to out: UnsafeMutablePointer<UInt8>, at: Int) -> Int {
        guard let s = Unicode.Scalar(v) else { return at }
        let props = s.properties
        var k = at
        if props.changesWhenLowercased {
            for x in props.lowercaseMapping.unicodeScalars.prefix(3) { k = writeUTF8(x.value, to: out, at: k) }
        } else {
            k = writeUTF8(v, to: out, at: k)
        }
        return k
    }

    static func computeIsAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        if p.isAlphabetic { return true }
        switch p.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `Analyzer.mayChangeUnderNFC`, tabulated for the BMP.
    @inline(__always)
    func mayChangeUnderNFC(_ v: UInt32) -> Bool {
        if v < 65536 { return nfcBits[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0 }
        return Analyzer.mayChangeUnderNFC(v)
    }

    @inline(__always)
    func isAlphanumeric(_ v: UInt32) -> Bool {
        if v < 65536 {
            return alnumBits[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0
        }
        guard let s = Unicode.Scalar(v) else { return false }
        return UnicodeTables.computeIsAlphanumeric(s)
    }

    /// Writes the UTF-8 of the lowercase mapping of scalar `v` at `out + at` (room for 12 bytes); returns the
    /// offset after it.
    @inline(__always)
    func writeLowercase(_ v: UInt32, to out: UnsafeMutablePointer<UInt8>, at: Int) -> Int {
        if v < 65536 {
            let m = lower[Int(v)]
            if m != 0xFFFF_FFFF { return writeUTF8(m, to: out, at: at) }
        }
        return UnicodeTables.writeLowercaseDirect(v, to: out, at: at)
    }
}

/// Writes the UTF-8 of scalar `v` at `out + at`; returns the offset after it.
@inline(__always)
func writeUTF8(_ v: UInt32, to out: UnsafeMutablePointer<UInt8>, at: Int) -> Int {
    if v < 0x80 {
        out[at] = UInt8(v)
        return at + 1
    } else if v < 0x800 {
        out[at] = UInt8(0xC0 | (v >> 6))
        out[at + 1] = UInt8(0x80 | (v & 0x3F))
        return at + 2
    } else if v < 0x10000 {
        out[at] = UInt8(0xE0 | (v >> 12))
        out[at + 1] = UInt8(0x80 | ((v >> 6) & 0x3F))
        out[at + 2] = UInt8(0x80 | (v & 0x3F))
        return at + 3
    } else {
        out[at] = UInt8(0xF0 | (v >> 18))
        out[at + 1] = UInt8(0x80 | ((v >> 12) & 0x3F))
        out[at + 2] = UInt8(0x80 | ((v >> 6) & 0x3F))
        out[at + 3] = UInt8(0x80 | (v & 0x3F))
        return at + 4
    }
}

@inline(__always)
func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    if v < 0x80 {
        out.append(UInt8(v))
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18)))
        out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    }
}
