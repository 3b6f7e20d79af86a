// The analysis stage: text -> tokens.
//
// The default tokenizer is Tantivy's "default" text analyzer, byte for byte: a token is a maximal run of
// alphanumeric characters (`char::is_alphanumeric`), tokens of 40 UTF-8 bytes or more are dropped (measured before
// lowercasing, as Tantivy's `RemoveLongFilter` runs before its `LowerCaser`), and tokens are lowercased with the
// full Unicode mapping. Every token, dropped or not, takes one position, so a dropped token leaves a gap as in
// Tantivy. ASCII takes a table-driven fast path; other characters are decoded from UTF-8 and classified with
// `UnicodeTables`. The input must be valid UTF-8 (the input readers guarantee it); stray bytes act as separators.

/// Splits UTF-8 text into lowercase tokens with positions and byte offsets.
struct Tokenizer {
    /// Tokens of this many UTF-8 bytes or more are dropped.
    static let maxTokenBytes = 40

    /// For each ASCII byte: its lowercase form if it is a letter or digit, 0 otherwise.
    static let asciiTable: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 128)
        for b in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(b)] = b }
        for b in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(b)] = b }
        for b in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(b)] = b + 32 }
        return t
    }()

    private let table: [UInt8] = Tokenizer.asciiTable
    /// Use the tabulated Basic Multilingual Plane (for bulk text; costs ~5 ms to build once per process).
    let useTables: Bool
    /// The current token's lowercase bytes. Only tokens under 40 bytes are kept, so only their first 40 bytes are
    /// ever stored; lowercasing a character can take up to 12 bytes, hence the room.
    private let token: TokenBuffer

    init(useTables: Bool = true) {
        self.useTables = useTables
        self.token = TokenBuffer()
    }

    /// Tokenizes `text`, calling `emit(token, position, start, end)` for every kept token, where `token` is the
    /// lowercased bytes (valid only during the call) and `start..<end` the token's bytes in `text`.
    /// - Returns: the number of positions used (tokens, dropped ones included).
    @inline(__always)
    mutating func tokenize(
        _ text: UnsafeBufferPointer<UInt8>,
        _ emit: (UnsafeBufferPointer<UInt8>, _ position: Int, _ start: Int, _ end: Int) -> Void
    ) -> Int {
        var position = 0
        var i = 0
        let n = text.count
        let out = token.bytes
        let limit = Tokenizer.maxTokenBytes
        table.withUnsafeBufferPointer { table in
            while i < n {
                let b = text[i]
                if b < 0x80 {
                    if table[Int(b)] == 0 {
                        i += 1
                        continue
                    }
                } else {
                    let (v, len) = decodeScalar(text, i)
                    let alnum =
                        useTables ? UnicodeTables.shared.isAlphanumeric(v) : UnicodeTables.isAlphanumericDirect(v)
                    if !alnum {
                        i += len
                        continue
                    }
                }
                let start = i
                var k = 0
                while i < n {
                    let c = text[i]
                    if c < 0x80 {
                        let l = table[Int(c)]
                        if l == 0 { break }
                        if i - start < limit {
                            out[k] = l
                            k += 1
                        }
                        i += 1
                    } else {
                        let (v, len) = decodeScalar(text, i)
                        if useTables {
                            let tables = UnicodeTables.shared
                            if !tables.isAlphanumeric(v) { break }
                            if i - start < limit { k = tables.writeLowercase(v, to: out, at: k) }
                        } else {
                            if !UnicodeTables.isAlphanumericDirect(v) { break }
                            if i - start < limit { k = UnicodeTables.writeLowercaseDirect(v, to: out, at: k) }
                        }
                        i += len
                    }
                }
                if i - start < limit {
                    emit(UnsafeBufferPointer(start: out, count: k), position, start, i)
                }
                position += 1
            }
        }
        return position
    }
}

/// Room for one token's lowercase bytes (owned by a tokenizer; not shared between threads).
final class TokenBuffer: @unchecked Sendable {
    static let capacity = Tokenizer.maxTokenBytes * 12 + 16
    let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: TokenBuffer.capacity)
    deinit { bytes.deallocate() }
}

/// Decodes the UTF-8 scalar at `i`; malformed bytes decode as U+FFFD (not alphanumeric) of length 1.
@inline(__always)
func decodeScalar(_ text: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let b0 = UInt32(text[i])
    let n = text.count
    if b0 < 0x80 { return (b0, 1) }
    if b0 >= 0xC2 && b0 < 0xE0, i + 1 < n {
        let b1 = UInt32(text[i + 1])
        if b1 & 0xC0 == 0x80 { return (((b0 & 0x1F) << 6) | (b1 & 0x3F), 2) }
    } else if b0 >= 0xE0 && b0 < 0xF0, i + 2 < n {
        let b1 = UInt32(text[i + 1])
        let b2 = UInt32(text[i + 2])
        if b1 & 0xC0 == 0x80 && b2 & 0xC0 == 0x80 {
            return (((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F), 3)
        }
    } else if b0 >= 0xF0 && b0 < 0xF5, i + 3 < n {
        let b1 = UInt32(text[i + 1])
        let b2 = UInt32(text[i + 2])
        let b3 = UInt32(text[i + 3])
        if b1 & 0xC0 == 0x80 && b2 & 0xC0 == 0x80 && b3 & 0xC0 == 0x80 {
            return (((b0 & 0x07) << 18) | ((b1 & 0x3F) << 12) | ((b2 & 0x3F) << 6) | (b3 & 0x3F), 4)
        }
    }
    return (0xFFFD, 1)
}
