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
    }

    /// Is scalar `v` a token character? (No table.)
    static func isAlphanumericDirect(_ v: UInt32) -> Bool {
        guard let s = Unicode.Scalar(v) else { return false }
        return computeIsAlphanumeric(s)
    }

    /// Appends the lowercase mapping of scalar `v` (no table).
    static func appendLowercaseDirect(_ v: UInt32, to out: inout [UInt8]) {
        guard let s = Unicode.Scalar(v) else { return }
        let props = s.properties
        if props.changesWhenLowercased {
            for x in props.lowercaseMapping.unicodeScalars { appendUTF8(x.value, to: &out) }
        } else {
            appendUTF8(v, to: &out)
        }
    }

    static func computeIsAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        let p = s.properties
        if p.isAlphabetic { return true }
        switch p.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    @inline(__always)
    func isAlphanumeric(_ v: UInt32) -> Bool {
        if v < 65536 {
            return alnumBits[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0
        }
        guard let s = Unicode.Scalar(v) else { return false }
        return UnicodeTables.computeIsAlphanumeric(s)
    }

    /// Appends the UTF-8 of the lowercase mapping of scalar `v` to `out`.
    @inline(__always)
    func appendLowercase(_ v: UInt32, to out: inout [UInt8]) {
        if v < 65536 {
            let m = lower[Int(v)]
            if m != 0xFFFF_FFFF {
                appendUTF8(m, to: &out)
                return
            }
        }
        guard let s = Unicode.Scalar(v) else { return }
        let props = s.properties
        if props.changesWhenLowercased {
            for x in props.lowercaseMapping.unicodeScalars { appendUTF8(x.value, to: &out) }
        } else {
            appendUTF8(v, to: &out)
        }
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
