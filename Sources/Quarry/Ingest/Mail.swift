// Mail: one RFC 5322 message (a .eml file, a Maildir file, one message of an mbox) to a document.
//
//     headers    folded lines joined; RFC 2047 encoded words (=?charset?B|Q?...?=) decoded in Subject, From, To,
//                Cc and attachment names
//     MIME       multipart/* walked (alternative: the plain part if there is one, else the HTML one; mixed and
//                related: every text part), message/rfc822 parts entered, text/plain kept, text/html made text
//                (HTMLText), other parts skipped with their file names kept (field `attachment`)
//     encodings  quoted-printable and base64 bodies decoded; charsets UTF-8, ASCII, Latin-1, Windows-1252,
//                Latin-9, UTF-16 (Charset.swift), unknown ones read as UTF-8 with repairs
//
// The document: id = Message-ID (without its angle brackets; none: the caller names it by file and place), date =
// Date, title = Subject, body = the text parts, fields `from`, `to`, `cc`, `newsgroups`, `attachment` (indexed when
// the index has text fields of those names: `quarry index --format mbox` on a new index adds `from` and `to`).
// Nesting of multiparts is bounded (32 levels); a message without headers is refused.

enum Mail {
    /// The deepest nesting of multipart and message/rfc822 parts read; deeper parts are skipped.
    static let maxDepth = 32

    /// Parses one message. `bytes` starts at the first header line (an mbox "From " line is skipped if present).
    static func parse(_ bytes: [UInt8]) throws(LineError) -> SourceDocument {
        var start = 0
        if bytes.starts(with: Array("From ".utf8)) {
            start = (bytes.firstIndex(of: 0x0A) ?? (bytes.count - 1)) + 1
        }
        let (headers, bodyStart) = parseHeaders(bytes, from: start)
        if headers.isEmpty {
            throw LineError(column: 1, message: "not a mail: no header lines (Name: value) at the start")
        }
        var doc = SourceDocument()
        func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
        if let id = header("message-id") {
            var s = Substring(id.trimmed)
            if s.hasPrefix("<") { s = s.dropFirst() }
            if s.hasSuffix(">") { s = s.dropLast() }
            if !s.isEmpty { doc.id = String(s) }
        }
        if let d = header("date") {
            doc.date = Array(d.trimmed.utf8).withUnsafeBufferPointer { DateParser.parseTimestamp($0) }
        }
        doc.title = decodeWords(header("subject") ?? "").trimmed
        for name in ["from", "to", "cc", "newsgroups"] {
            if let v = header(name) { doc.fields.append((name, decodeWords(v).trimmed)) }
        }
        var texts: [String] = []
        var attachments: [String] = []
        walk(headers: headers, body: bytes[bodyStart...], depth: 0, texts: &texts, attachments: &attachments)
        doc.body = texts.joined(separator: "\n\n")
        for a in attachments { doc.fields.append(("attachment", a)) }
        return doc
    }

    // MARK: Headers

    struct Header {
        /// Lowercased.
        var name: String
        /// Unfolded, not yet decoded.
        var value: String
    }

    /// The header block from `start` to the first empty line (folded lines joined), and where the body starts.
    static func parseHeaders(_ bytes: [UInt8], from start: Int) -> ([Header], Int) {
        var headers: [Header] = []
        var i = start
        var name: [UInt8] = []
        var value: [UInt8] = []
        func flush() {
            if !name.isEmpty {
                headers.append(Header(name: String(decoding: name, as: UTF8.self).lowercased(), value: bytesText(value)))
            }
            name = []
            value = []
        }
        while i < bytes.count {
            var end = bytes[i...].firstIndex(of: 0x0A) ?? bytes.count
            let next = min(end + 1, bytes.count)
            if end > i && bytes[end - 1] == 0x0D { end -= 1 }
            let line = bytes[i..<end]
            if line.isEmpty {
                i = next
                break
            }
            if let first = line.first, first == 0x20 || first == 0x09 {
                if name.isEmpty {
                    // A continuation with nothing to continue: not a header block.
                    return (headers, i)
                }
                value.append(0x20)
                value.append(contentsOf: line.drop(while: { $0 == 0x20 || $0 == 0x09 }))
            } else if let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[line.startIndex..<colon].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            {
                flush()
                name = Array(line[line.startIndex..<colon])
                value = Array(line[(colon + 1)...].drop(while: { $0 == 0x20 || $0 == 0x09 }))
            } else {
                // Not a header line: the headers end here (a message without the blank line).
                flush()
                return (headers, i)
            }
            i = next
        }
        flush()
        return (headers, i)
    }

    /// Header bytes as text: UTF-8 when valid (RFC 6532), else Windows-1252 (raw 8-bit headers of old mail).
    static func bytesText<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let array = Array(bytes)
        if firstInvalidUTF8(array) == array.count { return String(decoding: array, as: UTF8.self) }
        return Charset.windows1252(array)
    }

    /// Decodes RFC 2047 encoded words (`=?UTF-8?Q?Caf=C3=A9?=`, `=?iso-8859-1?B?...?=`); whitespace between two
    /// encoded words is dropped, as the RFC says.
    static func decodeWords(_ text: String) -> String {
        let s = Array(text.utf8)
        var out = ""
        var i = 0
        var pendingSpace: [UInt8] = []
        var lastWasEncoded = false
        var plainStart = 0
        func flushPlain(_ end: Int) {
            if plainStart < end { out += bytesText(s[plainStart..<end]) }
        }
        while i < s.count {
            if s[i] == UInt8(ascii: "="), i + 1 < s.count, s[i + 1] == UInt8(ascii: "?"),
                let (decoded, end) = encodedWord(s, at: i)
            {
                // Whitespace between encoded words is not part of the text.
                let between = s[plainStart..<i]
                if !(lastWasEncoded && between.allSatisfy({ $0 == 0x20 || $0 == 0x09 })) {
                    flushPlain(i)
                }
                out += decoded
                i = end
                plainStart = i
                lastWasEncoded = true
                pendingSpace = []
                continue
            }
            if s[i] != 0x20 && s[i] != 0x09 { lastWasEncoded = false }
            i += 1
        }
        flushPlain(s.count)
        _ = pendingSpace
        return out
    }

    /// One encoded word at `i`: its text and the index after it.
    private static func encodedWord(_ s: [UInt8], at i: Int) -> (String, Int)? {
        // =?charset?E?text?=
        var j = i + 2
        while j < s.count && s[j] != UInt8(ascii: "?") && j - i < 80 { j += 1 }
        guard j + 2 < s.count, s[j] == UInt8(ascii: "?") else { return nil }
        var charset = String(decoding: s[(i + 2)..<j], as: UTF8.self)
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }  // RFC 2231 language
        let encoding = s[j + 1] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q"), s[j + 2] == UInt8(ascii: "?") else {
            return nil
        }
        var k = j + 3
        while k + 1 < s.count && !(s[k] == UInt8(ascii: "?") && s[k + 1] == UInt8(ascii: "=")) { k += 1 }
        guard k + 1 < s.count else { return nil }
        let payload = Array(s[(j + 3)..<k])
        let bytes = encoding == UInt8(ascii: "b") ? base64(payload) : quotedPrintable(payload, underscoreIsSpace: true)
        let text = Charset.decode(bytes, charset: charset) ?? String(decoding: bytes, as: UTF8.self)
        return (text, k + 2)
    }

    // MARK: MIME

    /// Collects the text of a part (recursively through multiparts, depth bounded).
    private static func walk(
        headers: [Header], body: ArraySlice<UInt8>, depth: Int, texts: inout [String], attachments: inout [String]
    ) {
        if depth > maxDepth { return }
        let contentType = headers.first { $0.name == "content-type" }?.value ?? "text/plain"
        let (type, params) = parseContentType(contentType)
        let disposition = headers.first { $0.name == "content-disposition" }?.value ?? ""
        let (dispositionType, dispositionParams) = parseContentType(disposition)
        let encoding = (headers.first { $0.name == "content-transfer-encoding" }?.value ?? "").trimmed.lowercased()
        if type.hasPrefix("multipart/") {
            guard let boundary = params["boundary"], !boundary.isEmpty else {
                texts.append(decodeText(Array(body), charset: nil))
                return
            }
            let parts = splitMultipart(body, boundary: Array(boundary.utf8))
            if type == "multipart/alternative" {
                // One of the alternatives: plain text if there is some, else the richest the reader can read.
                let parsed = parts.map { parseHeaders(Array($0), from: 0) }
                let chosen =
                    parsed.firstIndex { partType($0.0) == "text/plain" }
                    ?? parsed.lastIndex { partType($0.0) == "text/html" }
                    ?? parsed.indices.last
                if let c = chosen {
                    let part = Array(parts[c])
                    walk(
                        headers: parsed[c].0, body: part[parsed[c].1...], depth: depth + 1, texts: &texts,
                        attachments: &attachments)
                }
                return
            }
            for part in parts {
                let bytes = Array(part)
                let (h, start) = parseHeaders(bytes, from: 0)
                walk(headers: h, body: bytes[start...], depth: depth + 1, texts: &texts, attachments: &attachments)
            }
            return
        }
        if type == "message/rfc822" {
            let inner = Array(decodeTransfer(body, encoding))
            let (h, start) = parseHeaders(inner, from: 0)
            if let subject = h.first(where: { $0.name == "subject" }) {
                texts.append(decodeWords(subject.value).trimmed)
            }
            walk(headers: h, body: inner[start...], depth: depth + 1, texts: &texts, attachments: &attachments)
            return
        }
        let filename = dispositionParams["filename"] ?? params["name"]
        if dispositionType == "attachment" || !(type == "text/plain" || type == "text/html") {
            if let filename { attachments.append(decodeWords(filename)) }
            return
        }
        let bytes = decodeTransfer(body, encoding)
        if type == "text/html" {
            let text = HTMLText.extract(bytes, charset: params["charset"]).text
            if !text.isEmpty { texts.append(text) }
        } else {
            texts.append(decodeText(bytes, charset: params["charset"]))
        }
    }

    private static func partType(_ headers: [Header]) -> String {
        parseContentType(headers.first { $0.name == "content-type" }?.value ?? "text/plain").0
    }

    /// `text/plain; charset="utf-8"; format=flowed` -> ("text/plain", ["charset": "utf-8", "format": "flowed"]).
    static func parseContentType(_ value: String) -> (String, [String: String]) {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for c in value {
            if c == "\"" {
                quoted.toggle()
            } else if c == ";" && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        parts.append(current)
        let type = parts.first.map { $0.trimmed.lowercased() } ?? ""
        var params: [String: String] = [:]
        for p in parts.dropFirst() {
            guard let eq = p.firstIndex(of: "=") else { continue }
            var key = p[..<eq].trimmed.lowercased()
            let v = p[p.index(after: eq)...].trimmed
            // RFC 2231 continuations and charsets of names (filename*=UTF-8''caf%C3%A9): the simple cases.
            if key.hasSuffix("*") {
                key.removeLast()
                let pieces = v.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                if pieces.count == 3 {
                    let bytes = percentDecode(Array(pieces[2].utf8))
                    params[key] = Charset.decode(bytes, charset: String(pieces[0])) ?? String(decoding: bytes, as: UTF8.self)
                    continue
                }
            }
            params[key] = v
        }
        return (type, params)
    }

    /// The parts of a multipart body: between `--boundary` lines, up to `--boundary--`.
    static func splitMultipart(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> [ArraySlice<UInt8>] {
        let marker = Array("--".utf8) + boundary
        var parts: [ArraySlice<UInt8>] = []
        var partStart: Int?
        var i = body.startIndex
        while i < body.endIndex {
            var end = body[i...].firstIndex(of: 0x0A) ?? body.endIndex
            let next = min(end + 1, body.endIndex)
            var lineEnd = end
            if lineEnd > i && body[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = body[i..<lineEnd]
            if line.starts(with: marker) {
                let rest = line.dropFirst(marker.count)
                let closing = rest.starts(with: Array("--".utf8))
                if rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) || closing {
                    if let s = partStart {
                        // The line break before the boundary belongs to the boundary.
                        var e = i
                        if e > s && body[e - 1] == 0x0A { e -= 1 }
                        if e > s && body[e - 1] == 0x0D { e -= 1 }
                        parts.append(body[s..<e])
                    }
                    if closing { return parts }
                    partStart = next
                }
            }
            end = next
            i = end
        }
        if let s = partStart, s < body.endIndex { parts.append(body[s..<body.endIndex]) }
        return parts
    }

    static func decodeTransfer(_ body: ArraySlice<UInt8>, _ encoding: String) -> [UInt8] {
        switch encoding {
        case "base64": return base64(Array(body))
        case "quoted-printable": return quotedPrintable(Array(body), underscoreIsSpace: false)
        default: return Array(body)
        }
    }

    static func decodeText(_ bytes: [UInt8], charset: String?) -> String {
        // Line ends as LF (CR is the same byte in every charset read here but UTF-16).
        var bytes = bytes
        let utf16 = charset.map { Charset.normalize($0).hasPrefix("utf16") } ?? false
        if !utf16 && bytes.contains(0x0D) { bytes.removeAll { $0 == 0x0D } }
        // Surrounding blank space trimmed on the bytes (ASCII whitespace in every ASCII-compatible charset).
        if !utf16 {
            var end = bytes.count
            while end > 0 && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x0A || bytes[end - 1] == 0x09) { end -= 1 }
            var start = 0
            while start < end && (bytes[start] == 0x20 || bytes[start] == 0x0A || bytes[start] == 0x09) { start += 1 }
            if start > 0 || end < bytes.count { bytes = Array(bytes[start..<end]) }
        }
        if let charset, let t = Charset.decode(bytes, charset: charset) { return utf16 ? t.trimmed : t }
        return bytesText(bytes)
    }

    // MARK: Encodings

    /// Base64, ignoring whitespace and anything outside the alphabet (as mail readers do); stops at padding.
    static func base64(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3 / 4)
        var acc: UInt32 = 0
        var bits = 0
        for c in input {
            let v: UInt32
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = UInt32(c - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = UInt32(c - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(c - 48 + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): v = 63
            case UInt8(ascii: "="):
                // Padding ends a unit; a new unit may follow (concatenated encodings).
                acc = 0
                bits = 0
                continue
            default: continue
            }
            acc = (acc << 6) | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                acc &= (1 << UInt32(bits)) - 1
            }
        }
        return out
    }

    /// Quoted-printable: `=XX` bytes and soft line breaks (`=` at the end of a line); in encoded words, `_` is a
    /// space. A malformed `=` is kept as it is.
    static func quotedPrintable(_ input: [UInt8], underscoreIsSpace: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 48
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - 55
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 87
            default: return nil
            }
        }
        while i < input.count {
            let c = input[i]
            if c == UInt8(ascii: "=") {
                if i + 2 < input.count, let a = hex(input[i + 1]), let b = hex(input[i + 2]) {
                    out.append(a << 4 | b)
                    i += 3
                    continue
                }
                // A soft line break: "=" then optional spaces, then CRLF or LF.
                var j = i + 1
                while j < input.count && (input[j] == 0x20 || input[j] == 0x09) { j += 1 }
                if j < input.count && input[j] == 0x0D { j += 1 }
                if j < input.count && input[j] == 0x0A {
                    i = j + 1
                    continue
                }
                if j == input.count {
                    i = j
                    continue
                }
                out.append(c)
                i += 1
                continue
            }
            out.append(underscoreIsSpace && c == UInt8(ascii: "_") ? 0x20 : c)
            i += 1
        }
        return out
    }

    static func percentDecode(_ input: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < input.count {
            if input[i] == UInt8(ascii: "%"), i + 2 < input.count,
                let v = UInt8(String(decoding: input[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
            {
                out.append(v)
                i += 3
            } else {
                out.append(input[i])
                i += 1
            }
        }
        return out
    }
}

/// A mail file (a .eml, a Maildir file), or one message of an mbox: a record parser.
struct MailParser: RecordParser {
    func parse(_ record: Record) throws(LineError) -> SourceDocument? {
        try Mail.parse(record.bytes)
    }
}

/// Cuts an mbox into messages at each "From " line that starts a message (after an empty line, or at the very
/// start), undoing mboxrd quoting (">From " -> "From ", ">>From " -> ">From ") in the messages.
struct MboxSplitter: RecordSplitter {
    mutating func split(
        _ data: UnsafeBufferPointer<UInt8>, base: Int, line: Int, final: Bool, into out: inout [Record]
    ) throws(LineError) -> Int {
        // Message starts: offsets of "From " lines preceded by a blank line (or at offset 0 of the stream).
        var starts: [(offset: Int, line: Int)] = []
        var i = 0
        var lineNo = line
        // `data` always starts where a message starts (what was consumed ended at one), or at the stream's start.
        var previousBlank = true
        while i < data.count {
            var end = i
            while end < data.count && data[end] != 0x0A { end += 1 }
            if end == data.count && !final { break }  // an incomplete line: wait for more
            if previousBlank && end - i >= 5 && data[i] == 0x46 && data[i + 1] == 0x72 && data[i + 2] == 0x6F
                && data[i + 3] == 0x6D && data[i + 4] == 0x20
            {
                starts.append((i, lineNo))
            }
            previousBlank = end == i || (end == i + 1 && data[i] == 0x0D)
            i = end + 1
            lineNo += 1
        }
        if base == 0 && !data.isEmpty {
            // The stream must begin with a "From " line.
            let from: [UInt8] = [0x46, 0x72, 0x6F, 0x6D, 0x20]
            let n = min(data.count, 5)
            if (0..<n).contains(where: { data[$0] != from[$0] }) || (n < 5 && final) {
                throw LineError(column: 1, message: "not an mbox file: it does not start with a 'From ' line")
            }
            if n < 5 { return 0 }
        }
        // Every message but the last is complete; the last one is complete only at the end of input.
        var consumed = 0
        for (k, s) in starts.enumerated() {
            let nextStart = k + 1 < starts.count ? starts[k + 1].offset : nil
            guard let end = nextStart ?? (final ? data.count : nil) else { break }
            out.append(Record(bytes: MboxSplitter.unquote(data, s.offset, end), line: s.line, offset: base + s.offset))
            consumed = end
        }
        if starts.isEmpty && final && data.count > 0 {
            throw LineError(column: 1, message: "text after the last message is not a message")
        }
        return consumed
    }

    /// The message's bytes with one level of ">From " quoting removed (mboxrd; harmless for mboxo).
    static func unquote(_ data: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        // Line by line: a line of '>'s then "From " loses one '>'; lines are copied whole.
        var i = start
        while i < end {
            var lineEnd = i
            while lineEnd < end && data[lineEnd] != 0x0A { lineEnd += 1 }
            if lineEnd < end { lineEnd += 1 }
            var from = i
            if data[i] == UInt8(ascii: ">") {
                var j = i
                while j < lineEnd && data[j] == UInt8(ascii: ">") { j += 1 }
                if j + 5 <= lineEnd && data[j] == 0x46 && data[j + 1] == 0x72 && data[j + 2] == 0x6F
                    && data[j + 3] == 0x6D && data[j + 4] == 0x20
                {
                    from = i + 1
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: data[from..<lineEnd]))
            i = lineEnd
        }
        // The blank line that separates messages is not part of the message.
        while out.last == 0x0A || out.last == 0x0D {
            out.removeLast()
        }
        out.append(0x0A)
        return out
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and line breaks (looked for in the UTF-8 bytes).
    var trimmed: String {
        let bytes = Array(utf8)
        var end = bytes.count
        while end > 0 && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 || bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D) {
            end -= 1
        }
        var start = 0
        while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09 || bytes[start] == 0x0A || bytes[start] == 0x0D) {
            start += 1
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
