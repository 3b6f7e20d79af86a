// WARC files (ISO 28500, WARC/1.0 and WARC/1.1), the format of web crawls: Common Crawl's segments, Heritrix,
// `wget --warc-file`. A file is a sequence of records:
//
//     WARC/1.1\r\n                                         the version line
//     WARC-Type: response\r\n                              header lines, up to an empty line
//     WARC-Target-URI: https://example.com/\r\n
//     WARC-Date: 2024-03-01T12:00:00Z\r\n
//     Content-Type: application/http; msgtype=response\r\n
//     Content-Length: 1234\r\n
//     \r\n
//     HTTP/1.1 200 OK\r\n ... <html>...                    the block: exactly Content-Length bytes
//     \r\n\r\n                                             two line ends
//
// A `.warc.gz` file is one gzip member per record, which the input layer (GzipSource) reads as one stream, so the
// splitter sees the records one after the other. The splitter only frames records (it reads the version line and
// Content-Length, and checks the two line ends after the block, which catches a wrong length); the parser, on a
// worker thread, reads the rest:
//
// - Documents come from `response` records whose HTTP status is 2xx, `resource` records, and `conversion` records
//   (Common Crawl's WET text files), when the payload is HTML (`text/html`, `application/xhtml+xml`) or plain text
//   (`text/plain`): from the HTTP Content-Type, else Common Crawl's WARC-Identified-Payload-Type, else an HTML
//   start (`<!doctype html`, `<html`) for a payload with no type. Everything else is not a document (nil):
//   `request`, `metadata`, `warcinfo` and `revisit` records, other statuses, images, PDFs, a payload whose HTTP
//   header is cut short or whose Content-Encoding is not gzip, deflate or identity (brotli, zstd).
// - The HTTP payload is decoded: `Transfer-Encoding: chunked` (a body that does not parse as chunks is taken as
//   it is), `Content-Encoding: gzip` / `x-gzip` / `deflate` (zlib or raw; a stream cut short gives what it
//   holds; output stops at 64 MiB). Common Crawl's crawler stores payloads already decoded and renames those
//   headers `X-Crawler-...`, which are ignored.
// - The document: id = WARC-Target-URI, date = WARC-Date, title = the HTML `<title>` (else the URI), body = the
//   text (HTMLText for HTML; plain text decoded from its charset, UTF-8 by default), fields `url` (the URI) and
//   `content_type` (the payload's media type, such as `text/html`).
//
// Errors: a damaged header (no `WARC/` version line, a missing or bad Content-Length), a record cut short by the
// end of the input, a block not followed by its two line ends, or a record over 64 MiB is an error of the
// splitter, named by its URI or record id (the caller adds the file and offset). A bad WARC-Date is an error of
// the parser.

import CZlib

/// Cuts a WARC stream into records (each one's header and block, without the line ends after it).
struct WARCSplitter: RecordSplitter {
    /// The largest record (header, block and the line ends after it).
    static let maxRecordBytes = 64 << 20
    /// The largest header.
    static let maxHeaderBytes = 1 << 20

    init() {}

    mutating func split(
        _ data: UnsafeBufferPointer<UInt8>, base: Int, line: Int, final: Bool, into out: inout [Record]
    ) throws(LineError) -> Int {
        var pos = 0
        while true {
            // Line ends between records (writers may add more than the two the format asks for).
            var start = pos
            while start < data.count && (data[start] == 0x0D || data[start] == 0x0A) { start += 1 }
            if start == data.count { return data.count }
            switch WARCSplitter.frame(data, at: start, final: final) {
            case .incomplete:
                return pos
            case .record(let end, let next):
                out.append(Record(bytes: Array(data[start..<end]), line: nil, offset: base + start))
                pos = next
            case .damaged(let message):
                // The caller places an error at the start of what it offered: offer the bad record first.
                if start > 0 && !final { return start }
                throw LineError(column: 1, message: message)
            }
        }
    }

    enum Frame {
        /// More bytes are needed.
        case incomplete
        /// A record ends at `end` (before its line ends); the next starts at `next`.
        case record(end: Int, next: Int)
        case damaged(String)
    }

    /// Finds the record that starts at `start`.
    static func frame(_ d: UnsafeBufferPointer<UInt8>, at start: Int, final: Bool) -> Frame {
        let n = d.count
        let magic: [UInt8] = Array("WARC/".utf8)
        for k in 0..<min(magic.count, n - start) where d[start + k] != magic[k] {
            return .damaged("expected a WARC record ('WARC/1.0' or 'WARC/1.1'), found '\(preview(d, start))'")
        }
        // The header: lines up to an empty one.
        let limit = min(n, start + maxHeaderBytes)
        var i = start
        var headerEnd: Int?
        var length: Int?
        var badLength: String?
        var first = true
        while i < limit {
            var nl = i
            while nl < limit && d[nl] != 0x0A { nl += 1 }
            guard nl < limit else { break }
            let lineEnd = nl > i && d[nl - 1] == 0x0D ? nl - 1 : nl
            if first {
                if !isVersionLine(d, i, lineEnd) {
                    return .damaged("expected a WARC record ('WARC/1.0' or 'WARC/1.1'), found '\(preview(d, start))'")
                }
                first = false
            } else if lineEnd == i {
                headerEnd = nl + 1
                break
            } else if length == nil && badLength == nil && hasName(d, i, lineEnd, "content-length") {
                let value = trimmedValue(d, i + 15, lineEnd)
                if let v = decimal(d, value) {
                    length = v
                } else {
                    badLength = String(decoding: d[value].prefix(40), as: UTF8.self)
                }
            }
            i = nl + 1
        }
        guard let headerEnd else {
            if n - start >= maxHeaderBytes {
                return .damaged("the WARC record's header has no end in its first \(maxHeaderBytes >> 20) MiB")
            }
            return final ? .damaged("the WARC record is cut short (the input ends inside its header)") : .incomplete
        }
        // The record's name, for messages only (made when one is).
        var name: String { recordName(d, start, headerEnd) }
        if let badLength {
            return .damaged("the WARC record\(name) has a bad Content-Length '\(badLength)' (not a number of bytes)")
        }
        guard let length else { return .damaged("the WARC record\(name) has no Content-Length header") }
        let size = headerEnd - start + length + 4
        guard size <= maxRecordBytes else {
            return .damaged(
                "the WARC record\(name) is too large: \(size) bytes (the limit is \(maxRecordBytes >> 20) MiB)")
        }
        let end = headerEnd + length
        // Two line ends after the block (CRLF, or LF from lenient writers).
        var j = end
        for _ in 0..<2 {
            guard j < n, d[j] != 0x0D || j + 1 < n else {
                guard final else { return .incomplete }
                return .damaged(
                    "the WARC record\(name) is cut short: its Content-Length is \(length) bytes and "
                        + "\(max(0, min(n, end) - headerEnd)) are left")
            }
            if d[j] == 0x0D && d[j + 1] == 0x0A {
                j += 2
            } else if d[j] == 0x0A {
                j += 1
            } else {
                return .damaged(
                    "the WARC record\(name) does not end with two line ends after the \(length) bytes of its "
                        + "Content-Length (a wrong Content-Length, or a damaged file)")
            }
        }
        return .record(end: end, next: j)
    }

    /// `WARC/` and a version, such as 1.0, 1.1 or 0.18.
    private static func isVersionLine(_ d: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Bool {
        var i = from + 5
        var digits = 0
        var dots = 0
        while i < to {
            let c = d[i]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                digits += 1
            } else if c == UInt8(ascii: ".") && digits > 0 {
                dots += 1
            } else if c == 0x20 || c == 0x09 {
                break
            } else {
                return false
            }
            i += 1
        }
        return to - from > 5 && digits >= 2 && dots == 1
    }

    /// A header line's name is `name` (lowercase) followed by a colon.
    private static func hasName(_ d: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int, _ name: String) -> Bool {
        let count = name.utf8.count
        guard to - from > count, d[from + count] == UInt8(ascii: ":") else { return false }
        for (k, c) in name.utf8.enumerated() where HTMLText.lower(d[from + k]) != c { return false }
        return true
    }

    private static func trimmedValue(_ d: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Range<Int> {
        var a = from
        var b = to
        while a < b && (d[a] == 0x20 || d[a] == 0x09) { a += 1 }
        while b > a && (d[b - 1] == 0x20 || d[b - 1] == 0x09) { b -= 1 }
        return a..<b
    }

    /// A decimal number of at most 15 digits.
    private static func decimal(_ d: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty && r.count <= 15 else { return nil }
        var v = 0
        for k in r {
            let c = d[k]
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int(c - UInt8(ascii: "0"))
        }
        return v
    }

    /// " (URI)" or " (record id)" for messages, from the header's WARC-Target-URI or WARC-Record-ID.
    @inline(never)
    private static func recordName(_ d: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        guard let headers = WARCParser.headers(Array(d[start..<end]), from: 0) else { return "" }
        let name = headers.value("warc-target-uri").map(WARCParser.unbracketed) ?? headers.value("warc-record-id")
        guard let name, !name.isEmpty else { return "" }
        return " " + String(name.prefix(200))
    }

    /// Up to 40 bytes at `start`, as text for a message.
    private static func preview(_ d: UnsafeBufferPointer<UInt8>, _ start: Int) -> String {
        var s = ""
        for c in d[start..<min(d.count, start + 40)] {
            if c == 0x0D || c == 0x0A { break }
            s.append(c >= 0x20 && c < 0x7F ? Character(Unicode.Scalar(c)) : "?")
        }
        return s
    }
}

/// Turns a WARC record into a document (responses and resources that are HTML or plain text).
struct WARCParser: RecordParser {
    /// The largest payload decompressed from a Content-Encoding (a decompression bomb stops there).
    static let maxPayloadBytes = 64 << 20

    init() {}

    func parse(_ record: Record) throws(LineError) -> SourceDocument? {
        let bytes = record.bytes
        guard let warc = WARCParser.headers(bytes, from: 0) else {
            throw LineError(column: 1, message: "the WARC record's header has no end")
        }
        let type = warc.value("warc-type")?.lowercased() ?? ""
        guard type == "response" || type == "resource" || type == "conversion" else { return nil }
        // The splitter checked Content-Length; a record from elsewhere may be shorter than it says.
        let length = warc.value("content-length").flatMap { Int($0) } ?? bytes.count
        let block = bytes[warc.end..<(warc.end + min(max(0, length), bytes.count - warc.end))]
        let warcType = warc.value("content-type").map(WARCParser.mediaType) ?? ""

        var payload: [UInt8]
        var contentType: String?
        if type == "response" && (warcType == "application/http" || block.starts(with: Array("HTTP/".utf8))) {
            guard let http = WARCParser.headers(block, from: block.startIndex),
                let status = WARCParser.status(http.firstLine),
                (200...299).contains(status)
            else { return nil }
            payload = Array(block[http.end...])
            if let te = http.value("transfer-encoding"), te.lowercased().contains("chunked") {
                payload = WARCParser.dechunk(payload) ?? payload
            }
            if let ce = http.value("content-encoding") {
                for coding in ce.lowercased().split(separator: ",").reversed() {
                    switch coding.trimmingSpaces {
                    case "identity", "": continue
                    case "gzip", "x-gzip", "deflate":
                        guard let inflated = Inflater.inflate(payload, limit: WARCParser.maxPayloadBytes) else {
                            return nil
                        }
                        payload = inflated
                    default:
                        return nil  // brotli, zstd, compress: not readable here
                    }
                }
            }
            contentType = http.value("content-type")
        } else {
            payload = Array(block)
            contentType = warc.value("content-type")
        }
        if contentType.map(WARCParser.mediaType)?.isEmpty ?? true {
            contentType = warc.value("warc-identified-payload-type")
        }
        var media = contentType.map(WARCParser.mediaType) ?? ""
        let charset = contentType.flatMap { HTMLText.charsetParameter(Array($0.utf8)[...]) }
        if media.isEmpty && WARCParser.looksLikeHTML(payload) { media = "text/html" }

        let uri = warc.value("warc-target-uri").map(WARCParser.unbracketed).flatMap { $0.isEmpty ? nil : $0 }
        var doc = SourceDocument(id: uri)
        switch media {
        case "text/html", "application/xhtml+xml", "application/xhtml", "text/xhtml":
            let (title, text) = HTMLText.extract(payload, charset: charset)
            doc.title = title ?? uri ?? ""
            doc.body = text
        case "text/plain":
            if payload.starts(with: [0xEF, 0xBB, 0xBF]) { payload.removeFirst(3) }
            doc.title = uri ?? ""
            doc.body =
                charset.flatMap { Charset.decode(payload, charset: $0) } ?? String(decoding: payload, as: UTF8.self)
        default:
            return nil
        }
        if let date = warc.value("warc-date") {
            guard let t = DateParser.parseTimestamp(date) else {
                throw LineError(column: 1, message: "cannot parse the WARC-Date '\(date.prefix(60))'")
            }
            doc.date = t
        }
        if let uri { doc.fields.append((name: "url", value: uri)) }
        doc.fields.append((name: "content_type", value: media))
        return doc
    }

    // MARK: - Headers

    /// A header block (of a WARC record or an HTTP message).
    struct Headers {
        /// The first line (`WARC/1.1`, `HTTP/1.1 200 OK`).
        var firstLine: String
        /// Names as written, values trimmed, folded lines joined.
        var fields: [(name: String, value: String)]
        /// The index after the empty line that ends the block.
        var end: Int

        /// The first value of a header (a lowercase name; the names are compared ignoring ASCII case).
        func value(_ name: String) -> String? {
            fields.first { Headers.sameName($0.name, name) }?.value
        }

        static func sameName(_ a: String, _ lowercase: String) -> Bool {
            a.utf8.count == lowercase.utf8.count && a.utf8.elementsEqual(lowercase.utf8) { HTMLText.lower($0) == $1 }
        }
    }

    /// The header block at `from`: a first line, `Name: value` lines (folded lines continue with a space or a tab;
    /// a line without a colon is skipped), an empty line. Lines end with CRLF or LF. Nil if there is no empty line.
    static func headers<C: RandomAccessCollection<UInt8>>(_ b: C, from: Int) -> Headers? where C.Index == Int {
        var i = from
        let n = b.endIndex
        var firstLine: String?
        var fields: [(name: String, value: String)] = []
        while i < n {
            var nl = i
            while nl < n && b[nl] != 0x0A { nl += 1 }
            guard nl < n else { return nil }
            let lineEnd = nl > i && b[nl - 1] == 0x0D ? nl - 1 : nl
            let line = b[i..<lineEnd]
            i = nl + 1
            if firstLine == nil {
                firstLine = String(decoding: line, as: UTF8.self)
                continue
            }
            if line.isEmpty { return Headers(firstLine: firstLine ?? "", fields: fields, end: i) }
            if line.first == 0x20 || line.first == 0x09 {
                if !fields.isEmpty {
                    let more = String(decoding: b[spacesTrimmed(b, line.startIndex..<line.endIndex)], as: UTF8.self)
                    fields[fields.count - 1].value += fields[fields.count - 1].value.isEmpty ? more : " " + more
                }
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: b[spacesTrimmed(b, line.startIndex..<colon)], as: UTF8.self)
            let value = String(decoding: b[spacesTrimmed(b, (colon + 1)..<line.endIndex)], as: UTF8.self)
            fields.append((name: name, value: value))
        }
        return nil
    }

    /// `r` without the spaces and tabs at either end.
    static func spacesTrimmed<C: RandomAccessCollection<UInt8>>(_ b: C, _ r: Range<Int>) -> Range<Int>
    where C.Index == Int {
        var lo = r.lowerBound
        var hi = r.upperBound
        while lo < hi && (b[lo] == 0x20 || b[lo] == 0x09) { lo += 1 }
        while hi > lo && (b[hi - 1] == 0x20 || b[hi - 1] == 0x09) { hi -= 1 }
        return lo..<hi
    }

    /// The status code of an HTTP status line (`HTTP/1.1 200 OK` -> 200).
    static func status(_ line: String) -> Int? {
        let u = Array(line.utf8)
        guard u.starts(with: "HTTP/".utf8) else { return nil }
        // The second word, of three digits.
        var i = 5
        while i < u.count && u[i] != 0x20 { i += 1 }
        while i < u.count && u[i] == 0x20 { i += 1 }
        var code = 0
        var digits = 0
        while i < u.count && u[i] != 0x20 {
            guard u[i] >= 0x30 && u[i] <= 0x39, digits < 3 else { return nil }
            code = code * 10 + Int(u[i] - 0x30)
            digits += 1
            i += 1
        }
        return digits == 3 ? code : nil
    }

    /// The media type of a Content-Type value, lowercased (`Text/HTML; charset=utf-8` -> `text/html`).
    static func mediaType(_ value: String) -> String {
        let u = Array(value.utf8)
        let semicolon = u.firstIndex(of: UInt8(ascii: ";")) ?? u.count
        return HTMLText.lowercased(u[spacesTrimmed(u, 0..<semicolon)])
    }

    /// A URI without the angle brackets some writers put around it (as WARC/1.0's grammar showed them).
    static func unbracketed(_ uri: String) -> String {
        uri.hasPrefix("<") && uri.hasSuffix(">") && uri.count >= 2 ? String(uri.dropFirst().dropLast()) : uri
    }

    /// A payload with no type that starts like an HTML page.
    static func looksLikeHTML(_ payload: [UInt8]) -> Bool {
        var i = 0
        if payload.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        while i < payload.count && HTMLText.isSpace(payload[i]) { i += 1 }
        for start in ["<!doctype html", "<html", "<head", "<body"]
        where HTMLText.hasPrefix(payload, at: i, start, caseInsensitive: true) {
            return true
        }
        return false
    }

    /// A body in HTTP's chunked transfer coding, joined; a body cut short gives the chunks it holds. Nil if the
    /// body does not start with a chunk size.
    static func dechunk(_ b: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        let n = b.count
        while i < n {
            while i < n && (b[i] == 0x20 || b[i] == 0x09) { i += 1 }
            var size = 0
            var digits = 0
            while i < n, let v = hexValue(b[i]) {
                guard digits < 15 else { return out.isEmpty ? nil : out }
                size = size * 16 + v
                digits += 1
                i += 1
            }
            guard digits > 0 else { return out.isEmpty ? nil : out }
            // Chunk extensions, then the line end.
            while i < n && b[i] != 0x0A { i += 1 }
            i += 1
            if size == 0 || i >= n { return out }
            let take = min(size, n - i)
            out.append(contentsOf: b[i..<(i + take)])
            i += take
            if i < n && b[i] == 0x0D { i += 1 }
            if i < n && b[i] == 0x0A { i += 1 }
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(c - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(c - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}

/// Inflates an HTTP payload's Content-Encoding through zlib.
enum Inflater {
    /// Decompresses gzip (members one after the other), zlib or raw deflate data (what servers send as
    /// `deflate`), up to `limit` bytes of output.
    /// - Returns: the bytes (those before the end of the input or the damage, when it is cut short or damaged), or
    ///   nil when nothing could be decompressed.
    static func inflate(_ input: [UInt8], limit: Int) -> [UInt8]? {
        if input.isEmpty { return [] }
        if let out = run(input, windowBits: 15 + 32, limit: limit) { return out }  // gzip or zlib, by their header
        return run(input, windowBits: -15, limit: limit)
    }

    private static func run(_ input: [UInt8], windowBits: Int32, limit: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return nil
        }
        defer { inflateEnd(&stream) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var damaged = false
        input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress.unsafelyUnwrapped)
            stream.avail_in = UInt32(inBuf.count)
            while out.count < limit {
                let (produced, r): (Int, Int32) = chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress.unsafelyUnwrapped
                    stream.avail_out = UInt32(outBuf.count)
                    let r = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (outBuf.count - Int(stream.avail_out), r)
                }
                out.append(contentsOf: chunk[0..<min(produced, limit - out.count)])
                switch r {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // Another gzip member may follow; anything else after the stream ends it.
                    if stream.avail_in == 0 || windowBits < 0 || inflateReset(&stream) != Z_OK { return }
                case Z_BUF_ERROR:
                    return  // the input ends inside the stream
                default:
                    damaged = true
                    return
                }
            }
        }
        return damaged && out.isEmpty ? nil : out
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
