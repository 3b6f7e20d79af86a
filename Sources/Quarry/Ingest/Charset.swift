// Character sets of mail and web pages, decoded to UTF-8: UTF-8 itself (invalid bytes become U+FFFD), US-ASCII,
// ISO-8859-1 (Latin-1), Windows-1252 (what "ISO-8859-1" usually means in practice: browsers and mail readers
// treat the two alike, as the WHATWG Encoding standard says), ISO-8859-15 (Latin-9) and UTF-16 with a byte order
// mark. Unknown names return nil: the caller decides (mail and HTML fall back to UTF-8, repaired).

enum Charset {
    /// The decoded text, or nil for a charset this does not know.
    static func decode<C: Collection>(_ bytes: C, charset: String) -> String? where C.Element == UInt8 {
        let name = normalize(charset)
        switch name {
        case "utf8", "unicode11utf8", "xunicode20utf8", "":
            return String(decoding: bytes, as: UTF8.self)
        case "usascii", "ascii", "ansix341968", "iso646us", "us":
            // Bytes above 0x7F in "ASCII" text are almost always Windows-1252.
            return windows1252(bytes)
        case "iso88591", "latin1", "l1", "iso885911987", "cp819", "ibm819", "windows1252", "cp1252", "xcp1252":
            return windows1252(bytes)
        case "iso885915", "latin9", "l9":
            return latin9(bytes)
        case "utf16", "utf16le", "utf16be":
            return utf16(Array(bytes), bigEndianDefault: name != "utf16le")
        default:
            return nil
        }
    }

    /// "UTF-8", "utf_8", " Latin1 " -> "utf8", "latin1".
    static func normalize(_ name: String) -> String {
        String(name.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) })
    }

    /// Windows-1252: Latin-1 with printable characters in 0x80...0x9F.
    private static let cp1252High: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,
        0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0x9D, 0x017E, 0x0178,
    ]

    static func windows1252<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for b in bytes {
            let v: UInt32 = b >= 0x80 && b <= 0x9F ? cp1252High[Int(b - 0x80)] : UInt32(b)
            out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
        }
        return String(out)
    }

    /// ISO-8859-15: Latin-1 with eight letters and the euro sign replaced.
    static func latin9<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for b in bytes {
            let v: UInt32
            switch b {
            case 0xA4: v = 0x20AC
            case 0xA6: v = 0x0160
            case 0xA8: v = 0x0161
            case 0xB4: v = 0x017D
            case 0xB8: v = 0x017E
            case 0xBC: v = 0x0152
            case 0xBD: v = 0x0153
            case 0xBE: v = 0x0178
            default: v = UInt32(b)
            }
            out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
        }
        return String(out)
    }

    private static func utf16(_ bytes: [UInt8], bigEndianDefault: Bool) -> String {
        var big = bigEndianDefault
        var i = 0
        if bytes.count >= 2 {
            if bytes[0] == 0xFE && bytes[1] == 0xFF {
                big = true
                i = 2
            } else if bytes[0] == 0xFF && bytes[1] == 0xFE {
                big = false
                i = 2
            }
        }
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        while i + 1 < bytes.count {
            let a = UInt16(bytes[i])
            let b = UInt16(bytes[i + 1])
            units.append(big ? a << 8 | b : b << 8 | a)
            i += 2
        }
        return String(decoding: units, as: UTF16.self)
    }
}
