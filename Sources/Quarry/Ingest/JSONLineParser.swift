// JSON Lines: one JSON object per line. This parser reads one line's bytes in a single pass: it finds the schema's
// fields (id, date, text fields), decodes their strings into the document's reused buffers, validates everything
// else (strict JSON, RFC 8259, and strict UTF-8), and keeps the line itself as the stored document. Plain runs of a
// string are found eight bytes at a time and copied at once; only escapes and non-ASCII bytes take the slow path.
//
// Errors name the byte column (1-based) in the line.

/// Why a line could not be read, and where (1-based byte column).
struct LineError: Error {
    var column: Int
    var message: String
}

/// What a top-level key means to the schema.
enum FieldRole: Equatable {
    case id
    case date
    case text(Int)
    case other
}

struct JSONLineParser {
    private let keys: [[UInt8]]
    private let roles: [FieldRole]
    private let idFieldName: [UInt8]
    private var key: [UInt8] = []
    private var scratch: [UInt8] = []
    private var seen: [Bool]
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    let lossy: Bool
    static let maxDepth = 256

    init(schema: Schema, lossy: Bool) {
        var keys: [[UInt8]] = [Array(schema.idField.utf8), Array(schema.dateField.utf8)]
        var roles: [FieldRole] = [.id, .date]
        for (i, f) in schema.textFields.enumerated() {
            keys.append(Array(f.utf8))
            roles.append(.text(i))
        }
        self.keys = keys
        self.roles = roles
        self.idFieldName = Array(schema.idField.utf8)
        self.seen = Array(repeating: false, count: keys.count)
        self.lossy = lossy
        key.reserveCapacity(64)
        scratch.reserveCapacity(256)
    }

    /// Parses one line into `doc` (which is reset first).
    /// - Parameter autoID: if non-nil, the document gets this id (and the stored JSON gets an id field) when the
    ///   line has none.
    mutating func parse(_ line: UnsafeBufferPointer<UInt8>, into doc: inout Document, autoID: UInt64?) throws(LineError) {
        doc.reset()
        for i in seen.indices { seen[i] = false }
        var p = Parser(line: line, lossy: lossy)
        p.skipWhitespace()
        guard p.peek() == UInt8(ascii: "{") else {
            throw p.error(p.atEnd ? "empty line where a JSON object was expected" : "expected a JSON object ('{')")
        }
        let objectStart = p.i
        p.i += 1
        p.skipWhitespace()
        var hasID = false
        if p.peek() == UInt8(ascii: "}") {
            p.i += 1
        } else {
            while true {
                p.skipWhitespace()
                guard p.peek() == UInt8(ascii: "\"") else { throw p.error("expected a field name in double quotes") }
                let keyColumn = p.i + 1
                key.removeAll(keepingCapacity: true)
                try p.string(into: &key)
                p.skipWhitespace()
                guard p.peek() == UInt8(ascii: ":") else { throw p.error("expected ':' after the field name") }
                p.i += 1
                p.skipWhitespace()
                let roleIndex = findRole()
                let role = roleIndex.map { roles[$0] } ?? .other
                if let r = roleIndex {
                    if seen[r] {
                        throw LineError(column: keyColumn, message: "field '\(String(decoding: key, as: UTF8.self))' appears twice")
                    }
                    seen[r] = true
                }
                switch role {
                case .id:
                    try readID(&p, into: &doc)
                    hasID = true
                case .date:
                    try readDate(&p, into: &doc)
                case .text(let f):
                    try readText(&p, into: &doc, field: f)
                case .other:
                    try p.skipValue(depth: 0)
                }
                p.skipWhitespace()
                guard let c = p.peek() else { throw p.error("the object is not closed (missing '}')") }
                p.i += 1
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else { throw LineError(column: p.i, message: "expected ',' or '}'") }
            }
        }
        let objectEnd = p.i
        p.skipWhitespace()
        if !p.atEnd { throw p.error("unexpected text after the JSON object") }
        if !hasID {
            guard let autoID else {
                throw LineError(
                    column: 1,
                    message: "the document has no '\(String(decoding: idFieldName, as: UTF8.self))' field (use --auto-id to number documents)")
            }
            doc.id.append(contentsOf: String(autoID).utf8)
            // Stored JSON: {"<id>":N, ...rest of the object}
            doc.stored.append(UInt8(ascii: "{"))
            appendJSONString(idFieldName, to: &doc.stored)
            doc.stored.append(UInt8(ascii: ":"))
            doc.stored.append(contentsOf: doc.id)
            let rest = UnsafeBufferPointer(rebasing: line[(objectStart + 1)..<objectEnd])
            if rest.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != UInt8(ascii: "}") }) {
                doc.stored.append(UInt8(ascii: ","))
            }
            doc.stored.append(contentsOf: rest)
        } else {
            doc.stored.append(contentsOf: UnsafeBufferPointer(rebasing: line[objectStart..<objectEnd]))
        }
    }

    private func findRole() -> Int? {
        for (i, k) in keys.enumerated() where k == key { return i }
        return nil
    }

    private mutating func readID(_ p: inout Parser, into doc: inout Document) throws(LineError) {
        let column = p.i + 1
        guard let c = p.peek() else { throw p.error("missing value") }
        if c == UInt8(ascii: "\"") {
            try p.string(into: &doc.id)
            if doc.id.isEmpty { throw LineError(column: column, message: "the id is an empty string") }
        } else if c == UInt8(ascii: "-") || (c >= 48 && c <= 57) {
            let start = p.i
            let isInteger = try p.number()
            guard isInteger else { throw LineError(column: column, message: "the id must be a string or an integer") }
            doc.id.append(contentsOf: UnsafeBufferPointer(rebasing: p.line[start..<p.i]))
        } else {
            throw LineError(column: column, message: "the id must be a string or an integer")
        }
        if doc.id.count > 1024 {
            throw LineError(column: column, message: "the id is longer than 1024 bytes")
        }
    }

    private mutating func readDate(_ p: inout Parser, into doc: inout Document) throws(LineError) {
        let column = p.i + 1
        guard let c = p.peek() else { throw p.error("missing value") }
        if c == UInt8(ascii: "\"") {
            scratch.removeAll(keepingCapacity: true)
            try p.string(into: &scratch)
            if scratch.allSatisfy({ $0 == 0x20 }) { return }
            guard let t = scratch.withUnsafeBufferPointer({ DateParser.parseTimestamp($0) }) else {
                let shown = String(decoding: scratch.prefix(60), as: UTF8.self)
                throw LineError(
                    column: column,
                    message: "cannot parse the date '\(shown)' (expected ISO 8601 like 2026-02-25T14:03:00Z, RFC 2822 like 'Tue, 09 Nov 1994 11:02:01 GMT', or 'February 25, 2026')")
            }
            doc.date = t
        } else if c == UInt8(ascii: "-") || (c >= 48 && c <= 57) {
            let start = p.i
            let isInteger = try p.number()
            let text = String(decoding: UnsafeBufferPointer(rebasing: p.line[start..<p.i]), as: UTF8.self)
            guard isInteger, let v = Int64(text) else {
                throw LineError(column: column, message: "a numeric date must be an integer number of seconds since 1970")
            }
            doc.date = JSONLineParser.epochSeconds(v)
        } else if p.literal("null") {
            return
        } else {
            throw LineError(column: column, message: "the date must be a string or a number of seconds since 1970")
        }
    }

    /// Seconds since 1970 from a numeric date: a number of 12 or more digits is taken as milliseconds (as
    /// JavaScript's `Date.now()` and Java's `currentTimeMillis()` write them): 10^11 seconds is the year 5138,
    /// and any date after 1973 in milliseconds has 13 digits. Floored, so negative milliseconds stay in their second.
    static func epochSeconds(_ value: Int64) -> Int64 {
        let millisecondsFrom: Int64 = 100_000_000_000
        if value >= millisecondsFrom || value <= -millisecondsFrom {
            return value >= 0 ? value / 1000 : -((-(value + 1)) / 1000) - 1
        }
        return value
    }

    private mutating func readText(_ p: inout Parser, into doc: inout Document, field: Int) throws(LineError) {
        let column = p.i + 1
        guard let c = p.peek() else { throw p.error("missing value") }
        if c == UInt8(ascii: "\"") {
            try p.string(into: &doc.text[field])
            doc.valueEnds[field].append(doc.text[field].count)
        } else if c == UInt8(ascii: "[") {
            p.i += 1
            p.skipWhitespace()
            if p.peek() == UInt8(ascii: "]") {
                p.i += 1
                return
            }
            while true {
                p.skipWhitespace()
                if p.peek() == UInt8(ascii: "\"") {
                    try p.string(into: &doc.text[field])
                    doc.valueEnds[field].append(doc.text[field].count)
                } else if !p.literal("null") {
                    throw p.error("a text field's array may hold only strings")
                }
                p.skipWhitespace()
                guard let d = p.peek() else { throw p.error("the array is not closed") }
                p.i += 1
                if d == UInt8(ascii: "]") { break }
                guard d == UInt8(ascii: ",") else { throw LineError(column: p.i, message: "expected ',' or ']'") }
            }
        } else if p.literal("null") {
            return
        } else {
            let name = String(decoding: key, as: UTF8.self)
            throw LineError(column: column, message: "the field '\(name)' must be a string (or an array of strings)")
        }
    }
}

/// A cursor over one line with the JSON grammar.
struct Parser {
    let line: UnsafeBufferPointer<UInt8>
    let lossy: Bool
    var i = 0

    init(line: UnsafeBufferPointer<UInt8>, lossy: Bool) {
        self.line = line
        self.lossy = lossy
    }

    var atEnd: Bool { i >= line.count }

    @inline(__always) func peek() -> UInt8? { i < line.count ? line[i] : nil }

    func error(_ message: String) -> LineError { LineError(column: min(i, line.count) + 1, message: message) }

    @inline(__always)
    mutating func skipWhitespace() {
        while i < line.count {
            let c = line[i]
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A { i += 1 } else { return }
        }
    }

    mutating func literal(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= line.count else { return false }
        let w = word.utf8Start
        for k in 0..<n where line[i + k] != w[k] { return false }
        i += n
        return true
    }

    /// Parses a number; returns true if it is an integer (no fraction or exponent).
    mutating func number() throws(LineError) -> Bool {
        let start = i
        if peek() == UInt8(ascii: "-") { i += 1 }
        guard let first = peek(), first >= 48 && first <= 57 else { throw error("invalid number") }
        if first == 48 {
            i += 1
        } else {
            while let c = peek(), c >= 48 && c <= 57 { i += 1 }
        }
        var integer = true
        if peek() == UInt8(ascii: ".") {
            integer = false
            i += 1
            guard let c = peek(), c >= 48 && c <= 57 else { throw error("invalid number: digits must follow '.'") }
            while let c = peek(), c >= 48 && c <= 57 { i += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            integer = false
            i += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { i += 1 }
            guard let c = peek(), c >= 48 && c <= 57 else { throw error("invalid number: digits must follow the exponent") }
            while let c = peek(), c >= 48 && c <= 57 { i += 1 }
        }
        if i - start > 400 { throw LineError(column: start + 1, message: "number too long") }
        return integer
    }

    /// Skips any JSON value, validating it.
    mutating func skipValue(depth: Int) throws(LineError) {
        guard depth < JSONLineParser.maxDepth else { throw error("values nested too deeply") }
        guard let c = peek() else { throw error("missing value") }
        switch c {
        case UInt8(ascii: "\""):
            try string(into: nil)
        case UInt8(ascii: "{"):
            i += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                i += 1
                return
            }
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw error("expected a field name in double quotes") }
                try string(into: nil)
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw error("expected ':' after the field name") }
                i += 1
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard let d = peek() else { throw error("the object is not closed (missing '}')") }
                i += 1
                if d == UInt8(ascii: "}") { return }
                guard d == UInt8(ascii: ",") else { throw LineError(column: i, message: "expected ',' or '}'") }
            }
        case UInt8(ascii: "["):
            i += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                i += 1
                return
            }
            while true {
                skipWhitespace()
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard let d = peek() else { throw error("the array is not closed (missing ']')") }
                i += 1
                if d == UInt8(ascii: "]") { return }
                guard d == UInt8(ascii: ",") else { throw LineError(column: i, message: "expected ',' or ']'") }
            }
        case UInt8(ascii: "t"):
            if !literal("true") { throw error("invalid literal") }
        case UInt8(ascii: "f"):
            if !literal("false") { throw error("invalid literal") }
        case UInt8(ascii: "n"):
            if !literal("null") { throw error("invalid literal") }
        case UInt8(ascii: "-"), 48...57:
            _ = try number()
        default:
            throw error("unexpected character '\(String(decoding: [c], as: UTF8.self))' where a value was expected")
        }
    }

    /// Decodes the string at the cursor (which is on its opening quote), appending its UTF-8 to `out` (or only
    /// validating it when `out` is nil).
    @inline(__always)
    mutating func string(into out: inout [UInt8]) throws(LineError) {
        try _string(&out, copy: true)
    }

    mutating func string(into _: [UInt8]?) throws(LineError) {
        var sink: [UInt8] = []
        try _string(&sink, copy: false)
    }

    private mutating func _string(_ out: inout [UInt8], copy: Bool) throws(LineError) {
        let open = i
        i += 1
        let n = line.count
        let base = UnsafeRawPointer(line.baseAddress.unsafelyUnwrapped)
        var runStart = i
        while true {
            // Plain bytes, eight at a time: stop at a quote, a backslash, a control byte or a non-ASCII byte.
            while i + 8 <= n {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let highs: UInt64 = 0x8080_8080_8080_8080
                let q = w ^ (0x22 &* ones)
                let b = w ^ (0x5C &* ones)
                let special =
                    ((q &- ones) & ~q) | ((b &- ones) & ~b) | ((w &- (0x20 &* ones)) & ~w) | w
                if special & highs != 0 { break }
                i += 8
            }
            guard i < n else {
                throw LineError(column: open + 1, message: "the string is not closed (missing '\"')")
            }
            let c = line[i]
            if c == UInt8(ascii: "\"") {
                if copy && i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: line[runStart..<i])) }
                i += 1
                return
            }
            if c == UInt8(ascii: "\\") {
                if copy && i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: line[runStart..<i])) }
                try escape(&out, copy: copy)
                runStart = i
                continue
            }
            if c < 0x20 {
                throw error("control character (byte 0x\(String(c, radix: 16))) inside a string; JSON requires an escape such as \\n or \\t")
            }
            if c < 0x80 {
                i += 1
                continue
            }
            let len = utf8SequenceLength(i)
            if len > 0 {
                i += len
                continue
            }
            if !lossy {
                throw error("invalid UTF-8 (byte 0x\(String(c, radix: 16))); fix the input or use --lossy to replace bad bytes")
            }
            if copy {
                if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: line[runStart..<i])) }
                out.append(contentsOf: [0xEF, 0xBF, 0xBD])
            }
            i += 1
            runStart = i
        }
    }

    /// The length of the valid UTF-8 sequence at `at`, or 0 if it is invalid.
    @inline(__always)
    func utf8SequenceLength(_ at: Int) -> Int {
        let n = line.count
        let b0 = line[at]
        @inline(__always) func cont(_ k: Int) -> UInt8? { at + k < n && line[at + k] & 0xC0 == 0x80 ? line[at + k] : nil }
        switch b0 {
        case 0xC2...0xDF:
            return cont(1) != nil ? 2 : 0
        case 0xE0:
            guard let b1 = cont(1), b1 >= 0xA0, cont(2) != nil else { return 0 }
            return 3
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(1) != nil && cont(2) != nil ? 3 : 0
        case 0xED:
            guard let b1 = cont(1), b1 <= 0x9F, cont(2) != nil else { return 0 }
            return 3
        case 0xF0:
            guard let b1 = cont(1), b1 >= 0x90, cont(2) != nil, cont(3) != nil else { return 0 }
            return 4
        case 0xF1...0xF3:
            return cont(1) != nil && cont(2) != nil && cont(3) != nil ? 4 : 0
        case 0xF4:
            guard let b1 = cont(1), b1 <= 0x8F, cont(2) != nil, cont(3) != nil else { return 0 }
            return 4
        default:
            return 0
        }
    }

    private mutating func escape(_ out: inout [UInt8], copy: Bool) throws(LineError) {
        let start = i
        i += 1
        guard let e = peek() else { throw error("unfinished escape sequence") }
        i += 1
        var scalar: UInt32
        switch e {
        case UInt8(ascii: "\""): scalar = 0x22
        case UInt8(ascii: "\\"): scalar = 0x5C
        case UInt8(ascii: "/"): scalar = 0x2F
        case UInt8(ascii: "b"): scalar = 0x08
        case UInt8(ascii: "f"): scalar = 0x0C
        case UInt8(ascii: "n"): scalar = 0x0A
        case UInt8(ascii: "r"): scalar = 0x0D
        case UInt8(ascii: "t"): scalar = 0x09
        case UInt8(ascii: "u"):
            scalar = try hex4()
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate must be followed by \u and a low surrogate.
                let save = i
                if i + 1 < line.count && line[i] == UInt8(ascii: "\\") && line[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    if low >= 0xDC00 && low <= 0xDFFF {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                        scalar = try badSurrogate(start)
                    }
                } else {
                    scalar = try badSurrogate(start)
                }
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                scalar = try badSurrogate(start)
            }
        default:
            throw LineError(column: start + 1, message: "invalid escape sequence '\\\(String(decoding: [e], as: UTF8.self))'")
        }
        if copy { appendUTF8(scalar, to: &out) }
    }

    private func badSurrogate(_ start: Int) throws(LineError) -> UInt32 {
        if lossy { return 0xFFFD }
        throw LineError(column: start + 1, message: "unpaired UTF-16 surrogate in a \\u escape; use --lossy to replace it")
    }

    private mutating func hex4() throws(LineError) -> UInt32 {
        guard i + 4 <= line.count else { throw error("unfinished \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = line[i]
            let d: UInt32
            switch c {
            case 48...57: d = UInt32(c - 48)
            case 97...102: d = UInt32(c - 87)
            case 65...70: d = UInt32(c - 55)
            default: throw error("invalid hex digit in a \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}

/// Appends `bytes` as a JSON string literal (quoted, escaped).
func appendJSONString<C: Collection>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
    if let array = bytes as? [UInt8] {
        appendJSONString(array, to: &out)
        return
    }
    appendJSONString(Array(bytes), to: &out)
}

/// The bytes a JSON string literal escapes (Quarry also escapes DEL).
let jsonEscaped = ByteSet(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F })

/// A JSON string literal of `bytes`: runs that need no escape are copied whole (the common case: most text has
/// a quote or a line break every few dozen bytes at most).
func appendJSONString(_ bytes: [UInt8], to out: inout [UInt8]) {
    out.reserveCapacity(out.count + bytes.count + 2)
    out.append(UInt8(ascii: "\""))
    var runStart = 0
    var i = 0
    let n = bytes.count
    while i < n {
        i = ByteScan.first(bytes, of: jsonEscaped, from: i, to: n)
        guard i < n else { break }
        let c = bytes[i]
        if runStart < i { out.append(contentsOf: bytes[runStart..<i]) }
        out.append(0x5C)
        switch c {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            let hex = { (d: UInt8) -> UInt8 in d < 10 ? 0x30 + d : UInt8(ascii: "a") + d - 10 }
            out.append(UInt8(ascii: "u"))
            out.append(0x30)
            out.append(0x30)
            out.append(hex(c >> 4))
            out.append(hex(c & 15))
        }
        i += 1
        runStart = i
    }
    if runStart < n { out.append(contentsOf: bytes[runStart..<n]) }
    out.append(UInt8(ascii: "\""))
}
