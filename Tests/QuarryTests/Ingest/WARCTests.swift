// WARC files: a hand-written crawl (warcinfo, request, responses in UTF-8 and Windows-1252, chunked and
// gzip-encoded responses, an image, a revisit, a resource, a WET conversion...) split whole, split at every byte
// across two calls and fed in random pieces; gzip members read through GzipSource as Common Crawl ships them;
// payload encodings made with the gzip tool; damaged, cut-short and oversized records; random mutations.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct WARCTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// A WARC record: version line, headers, Content-Length, block, two CRLFs.
    static func record(
        _ type: String, uri: String? = "http://example.com/", date: String? = "2024-03-01T12:00:00Z",
        contentType: String? = nil, extra: [String] = [], version: String = "1.0", _ block: [UInt8]
    ) -> [UInt8] {
        var h = "WARC/\(version)\r\nWARC-Type: \(type)\r\n"
        if let uri { h += "WARC-Target-URI: \(uri)\r\n" }
        if let date { h += "WARC-Date: \(date)\r\n" }
        h += "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-\(String(block.count, radix: 16))>\r\n"
        if let contentType { h += "Content-Type: \(contentType)\r\n" }
        for e in extra { h += e + "\r\n" }
        h += "Content-Length: \(block.count)\r\n\r\n"
        return bytes(h) + block + bytes("\r\n\r\n")
    }

    /// An HTTP response message.
    static func http(_ status: String = "200 OK", _ headers: [String], _ body: [UInt8]) -> [UInt8] {
        bytes("HTTP/1.1 \(status)\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n") + body
    }

    static func response(_ uri: String, _ http: [UInt8], extra: [String] = []) -> [UInt8] {
        record("response", uri: uri, contentType: "application/http; msgtype=response", extra: extra, http)
    }

    /// A gzip member holding `data` in stored (uncompressed) deflate blocks: valid gzip made without a compressor.
    static func storedGzip(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        var i = 0
        repeat {
            let n = min(65535, data.count - i)
            out.append(i + n == data.count ? 1 : 0)
            out += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        for v in [CRC32.of(data), UInt32(truncatingIfNeeded: data.count)] {
            for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(k)))) }
        }
        return out
    }

    /// A body in HTTP's chunked transfer coding.
    static func chunked(_ pieces: [[UInt8]]) -> [UInt8] {
        pieces.flatMap { bytes(String($0.count, radix: 16) + ";ext=1\r\n") + $0 + bytes("\r\n") }
            + bytes("0\r\nX-Trailer: t\r\n\r\n")
    }

    static let date: Int64 = 1_709_294_400  // 2024-03-01T12:00:00Z

    static func doc(_ uri: String?, _ title: String, _ body: String, _ type: String = "text/html") -> SourceDocument {
        var d = SourceDocument(id: uri, date: date, title: title, body: body)
        if let uri { d.fields.append((name: "url", value: uri)) }
        d.fields.append((name: "content_type", value: type))
        return d
    }

    static let utf8Page = bytes(
        "<html><head><title>Café Example</title></head><body><h1>Welcome</h1><p>Hello, wörld &amp; friends.</p>"
            + "<script>track()</script></body></html>")
    static let latinPage =
        bytes("<html><head><title>Caf") + [0xE9] + bytes("</title></head><body><p>") + [0x93] + bytes("Quoted")
        + [0x94] + bytes(" text</p></body></html>")
    static let chunkedPage = bytes("<title>Chunks</title><p>Chunked body text</p>")

    /// The crawl: each record and the document it makes (nil: none).
    static let entries: [(record: [UInt8], doc: SourceDocument?)] = [
        (
            record(
                "warcinfo", uri: nil, contentType: "application/warc-fields",
                bytes("software: quarry-tests\r\nformat: WARC File Format 1.0\r\n")), nil
        ),
        (
            record(
                "request", contentType: "application/http; msgtype=request",
                bytes("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), nil
        ),
        (
            response(
                "http://example.com/",
                http(
                    "200 OK", ["Content-Type: text/html; charset=UTF-8", "Content-Length: \(utf8Page.count)"], utf8Page)
            ),
            doc("http://example.com/", "Café Example", "Welcome\n\nHello, wörld & friends.")
        ),
        (record("metadata", contentType: "application/warc-fields", bytes("via: http://example.com/\r\n")), nil),
        (
            response(
                "http://example.com/latin",
                http("200 OK", [#"Content-Type: text/html; charset="windows-1252""#], latinPage)),
            doc("http://example.com/latin", "Café", "“Quoted” text")
        ),
        (
            response(
                "http://example.com/chunked",
                http(
                    "200 OK", ["Content-Type: text/html", "Transfer-Encoding: chunked"],
                    chunked([Array(chunkedPage[0..<10]), Array(chunkedPage[10..<30]), Array(chunkedPage[30...])]))),
            doc("http://example.com/chunked", "Chunks", "Chunked body text")
        ),
        (
            response(
                "http://example.com/gzip",
                http(
                    "200 OK", ["Content-Type: text/html; charset=utf-8", "Content-Encoding: gzip"],
                    storedGzip(bytes("<title>Compressed</title><p>Inflated text</p>")))),
            doc("http://example.com/gzip", "Compressed", "Inflated text")
        ),
        (
            response(
                "http://example.com/logo.png",
                http(
                    "200 OK", ["Content-Type: image/png"],
                    [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13])),
            nil
        ),
        (
            record(
                "revisit", contentType: "application/http; msgtype=response",
                extra: [
                    "WARC-Profile: http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
                    "WARC-Refers-To-Target-URI: http://example.com/",
                ], http("200 OK", ["Content-Type: text/html"], [])), nil
        ),
        (
            record(
                "resource", uri: "file:///notes/todo.txt", contentType: "text/plain; charset=iso-8859-1",
                bytes("Plain notes\nsecond line ") + [0xE9]),
            doc("file:///notes/todo.txt", "file:///notes/todo.txt", "Plain notes\nsecond line é", "text/plain")
        ),
        (
            response(
                "http://example.com/missing",
                http("404 Not Found", ["Content-Type: text/html"], bytes("<title>Gone</title>"))), nil
        ),
        (
            response(
                "http://example.com/sniffed",
                http("200 OK", [], bytes("  <!DOCTYPE html><title>Sniffed</title><p>Typed by its start</p>"))),
            doc("http://example.com/sniffed", "Sniffed", "Typed by its start")
        ),
        (
            record(
                "response", uri: "<http://example.com/v11>", date: "2024-03-01T12:00:00.123456Z",
                contentType: "application/http;msgtype=response", version: "1.1",
                bytes("HTTP/1.0 200\nContent-Type:\n  TEXT/HTML\n\n<p>Version 1.1</p>")),
            doc("http://example.com/v11", "http://example.com/v11", "Version 1.1")
        ),
        (
            record("conversion", contentType: "text/plain", bytes("Welcome\nHello, wörld")),
            doc("http://example.com/", "http://example.com/", "Welcome\nHello, wörld", "text/plain")
        ),
        (
            response(
                "http://example.com/a.pdf", http("200 OK", ["Content-Type: application/pdf"], bytes("%PDF-1.7\n"))), nil
        ),
        (
            record(
                "response", uri: "dns:example.com", contentType: "text/dns",
                bytes("20240301120000\nexample.com. 300 IN A 93.184.216.34\n")), nil
        ),
    ]

    static var stream: [UInt8] { entries.flatMap(\.record) }

    /// Splits `bytes` in one call.
    static func split(_ bytes: [UInt8], final: Bool = true, base: Int = 0, into out: inout [Record]) throws(LineError)
        -> Int
    {
        var splitter = WARCSplitter()
        return try bytes.withUnsafeBufferPointer { b throws(LineError) in
            try splitter.split(b, base: base, line: 1, final: final, into: &out)
        }
    }

    /// Feeds `stream` to a splitter as the indexing pipeline does: pieces of random sizes appended to a buffer,
    /// what the splitter leaves offered again, then a final call. Returns the records, and the error with the
    /// stream offset the caller gives it (the start of what it offered).
    static func feed(_ stream: [UInt8], _ rng: inout SeededRandom, maxPiece: Int = 64) -> (
        records: [Record], error: LineError?, errorOffset: Int
    ) {
        var splitter = WARCSplitter()
        var buffer: [UInt8] = []
        var base = 0
        var at = 0
        var out: [Record] = []
        while true {
            let n = min(1 + Int(rng.next() % UInt64(maxPiece)), stream.count - at)
            buffer += stream[at..<(at + n)]
            at += n
            let final = n == 0
            do {
                let used = try buffer.withUnsafeBufferPointer { b throws(LineError) in
                    try splitter.split(b, base: base, line: 1, final: final, into: &out)
                }
                #expect(used <= buffer.count)
                buffer.removeFirst(used)
                base += used
                if final {
                    #expect(buffer.isEmpty, "a final call takes everything")
                    return (out, nil, 0)
                }
            } catch {
                return (out, error, base)
            }
        }
    }

    @Test func theCrawlsDocuments() throws {
        var records: [Record] = []
        let stream = Self.stream
        #expect(try Self.split(stream, into: &records) == stream.count)
        try #require(records.count == Self.entries.count)
        var offset = 0
        let parser = WARCParser()
        for (r, e) in zip(records, Self.entries) {
            #expect(r.bytes == Array(e.record.dropLast(4)), "header and block, without the line ends")
            #expect(r.offset == offset)
            #expect(r.line == nil)
            offset += e.record.count
            let doc = try parser.parse(r)
            #expect(doc == e.doc, "\(String(decoding: r.bytes.prefix(200), as: UTF8.self))")
        }
    }

    @Test func splitAtEveryByteAcrossTwoCalls() throws {
        let stream = Self.stream
        var whole: [Record] = []
        _ = try Self.split(stream, into: &whole)
        for k in 0...stream.count {
            var out: [Record] = []
            let first = try Self.split(Array(stream[0..<k]), final: false, into: &out)
            #expect(first <= k)
            let second = try Self.split(Array(stream[first...]), final: true, base: first, into: &out)
            #expect(first + second == stream.count, "cut at \(k)")
            #expect(out.map(\.bytes) == whole.map(\.bytes), "cut at \(k)")
            #expect(out.map(\.offset) == whole.map(\.offset), "cut at \(k)")
        }
    }

    @Test func fedInRandomPieces() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5741_5243_0001)
        var whole: [Record] = []
        _ = try? Self.split(Self.stream, into: &whole)
        for round in 0..<50 {
            let r = Self.feed(Self.stream, &rng, maxPiece: round < 25 ? 8 : 700)
            #expect(r.error == nil, "\(rng.seedDescription)")
            #expect(r.records.map(\.bytes) == whole.map(\.bytes), "\(rng.seedDescription)")
            #expect(r.records.map(\.offset) == whole.map(\.offset), "\(rng.seedDescription)")
        }
    }

    /// Common Crawl's `.warc.gz`: one gzip member per record, read as one stream.
    @Test func gzipMembersPerRecord() throws {
        let dir = TemporaryDirectory("warc")
        var gz: [UInt8] = []
        for (k, e) in Self.entries.enumerated() {
            writeFile(dir.file("r\(k)"), e.record)
            try #require(runProcess(["gzip", "-c", "-n", dir.file("r\(k)")], stdout: dir.file("r\(k).gz")) == 0)
            gz += readFile(dir.file("r\(k).gz"))
        }
        writeFile(dir.file("crawl.warc.gz"), gz)
        let input = try openInput(dir.file("crawl.warc.gz"))
        #expect(input.compression == .gzip)
        let plain = try ByteSourceTests.readAll(input.source, chunk: 1000)
        #expect(plain == Self.stream)
        var records: [Record] = []
        _ = try Self.split(plain, into: &records)
        let docs = try records.map { r throws(LineError) in try WARCParser().parse(r) }
        #expect(docs == Self.entries.map(\.doc))
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for c in data {
            a = (a + UInt32(c)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    @Test func contentEncodings() throws {
        let dir = TemporaryDirectory("warc-encodings")
        let paragraphs = (0..<2000).map { "Paragraph \($0) of a long page." }
        let page = Self.bytes(
            "<html><title>Big</title><body>" + paragraphs.map { "<p>\($0)</p>" }.joined() + "</body></html>")
        let expected = paragraphs.joined(separator: "\n\n")
        writeFile(dir.file("page.html"), page)
        try #require(runProcess(["gzip", "-c", "-n", dir.file("page.html")], stdout: dir.file("page.gz")) == 0)
        let gz = readFile(dir.file("page.gz"))
        #expect(gz.count < page.count / 4)
        let raw = Array(gz[10..<(gz.count - 8)])  // gzip -n: a 10-byte header, an 8-byte trailer
        let a = Self.adler32(page)
        let zlib = [0x78, 0x9C] + raw + [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: a >> $0) }
        func parse(_ headers: [String], _ body: [UInt8]) throws -> SourceDocument? {
            let record = Self.response(
                "http://example.com/big", Self.http("200 OK", ["Content-Type: text/html"] + headers, body))
            return try WARCParser().parse(Record(bytes: Array(record.dropLast(4)), line: nil, offset: 0))
        }
        for (headers, body) in [
            (["Content-Encoding: gzip"], gz), (["Content-Encoding: x-gzip"], gz), (["Content-Encoding: deflate"], zlib),
            (["Content-Encoding: deflate"], raw), (["Content-Encoding: identity"], page), ([], page),
            (
                ["Content-Encoding: gzip", "Transfer-Encoding: chunked"],
                Self.chunked([Array(gz[..<100]), Array(gz[100...])])
            ),
            (["X-Crawler-Content-Encoding: gzip"], page),
        ] as [([String], [UInt8])] {
            let doc = try parse(headers, body)
            #expect(doc?.title == "Big", "\(headers)")
            #expect(doc?.body == expected, "\(headers)")
        }
        // Cut short (WARC-Truncated): what it holds.
        let cut = try parse(["Content-Encoding: gzip"], Array(gz.prefix(gz.count / 2)))
        #expect(cut?.body.hasPrefix("Paragraph 0 of a long page.\n\nParagraph 1") == true)
        #expect((cut?.body.count ?? 0) < expected.count)
        // Unreadable: not a document.
        #expect(try parse(["Content-Encoding: gzip"], Self.bytes("not gzip at all")) == nil)
        #expect(try parse(["Content-Encoding: br"], page) == nil)
        // A decompression bomb stops at the limit.
        #expect(Inflater.inflate(Self.storedGzip([UInt8](repeating: 0, count: 200_000)), limit: 1000)?.count == 1000)
        #expect(Inflater.inflate([], limit: 10) == [])
    }

    @Test func payloadTypesAndHeaders() throws {
        func parse(_ record: [UInt8]) throws -> SourceDocument? {
            try WARCParser().parse(Record(bytes: Array(record.dropLast(4)), line: nil, offset: 0))
        }
        let page = Self.bytes("<title>T</title><p>x</p>")
        // Common Crawl's detected type when the server sent none.
        let identified = Self.response(
            "http://a/", Self.http("200 OK", [], Self.bytes("<p>untyped</p>")),
            extra: ["WARC-Identified-Payload-Type: text/html"])
        #expect(try parse(identified)?.body == "untyped")
        #expect(
            try parse(Self.response("http://a/", Self.http("200 OK", [], Self.bytes("just text")))) == nil,
            "no type, no HTML")
        #expect(
            try parse(Self.response("http://a/", Self.http("200 OK", ["Content-Type: application/xhtml+xml"], page)))?
                .title == "T")
        #expect(try parse(Self.response("http://a/", Self.http("301 Moved", ["Content-Type: text/html"], page))) == nil)
        #expect(
            try parse(Self.response("http://a/", Self.http("200 OK", ["Content-Type: text/html"], [])))
                == Self.doc("http://a/", "http://a/", ""))
        // An HTTP header cut short.
        #expect(try parse(Self.response("http://a/", Self.bytes("HTTP/1.1 200 OK\r\nContent-Type: text/html"))) == nil)
        #expect(try parse(Self.response("http://a/", Self.bytes("garbage"))) == nil)
        // No URI: no id (the caller names the document), the title from the page.
        let noURI = Self.record("resource", uri: nil, contentType: "text/html", page)
        let d = try parse(noURI)
        #expect(d?.id == nil && d?.title == "T" && d?.fields.map(\.name) == ["content_type"])
        // No date; a bad date is an error.
        #expect(try parse(Self.record("resource", date: nil, contentType: "text/html", page))?.date == nil)
        do {
            _ = try parse(Self.record("resource", date: "yesterday", contentType: "text/html", page))
            Issue.record("a bad WARC-Date must be an error")
        } catch let error as LineError {
            #expect(error.message == "cannot parse the WARC-Date 'yesterday'")
        }
        // Lenient line ends (LF only).
        let lf = Self.bytes(
            "WARC/1.0\nWARC-Type: resource\nContent-Type: text/html\nContent-Length: 12\n\n<p>hello</p>\n\n")
        var records: [Record] = []
        #expect(try Self.split(lf + lf, into: &records) == 2 * lf.count)
        #expect(records.count == 2)
        #expect(try records.map { r throws(LineError) in try WARCParser().parse(r)?.body } == ["hello", "hello"])
        // Extra line ends between records, and at the end.
        records = []
        let padded =
            Self.bytes("\r\n") + Self.entries[2].record + Self.bytes("\r\n\n") + Self.entries[3].record
            + Self.bytes("\r\n")
        #expect(try Self.split(padded, into: &records) == padded.count)
        #expect(records.map(\.offset) == [2, 2 + Self.entries[2].record.count + 3])
    }

    /// The error of a stream, fed in random pieces.
    static func error(_ stream: [UInt8], seed: UInt64 = 1) -> (records: Int, error: LineError?, offset: Int) {
        var rng = SeededRandom(seed: seed)
        let r = feed(stream, &rng, maxPiece: 200)
        return (r.records.count, r.error, r.errorOffset)
    }

    @Test func aRecordCutShortIsAnError() {
        let before = Self.entries[0].record + Self.entries[1].record
        let last = Self.entries[2].record
        for k in 1..<last.count {
            let r = Self.error(before + last[0..<k], seed: UInt64(k))
            #expect(r.records == 2, "cut at \(k)")
            #expect(r.offset == before.count, "cut at \(k)")
            #expect(r.error?.message.contains("is cut short") == true, "cut at \(k): \(r.error?.message ?? "no error")")
        }
        var headerEnd = 0
        while !last[headerEnd..<(headerEnd + 4)].elementsEqual([13, 10, 13, 10]) { headerEnd += 1 }
        let length = last.count - 4 - (headerEnd + 4)
        let r = Self.error(before + last.dropLast(5))
        #expect(
            r.error?.message
                == "the WARC record http://example.com/ is cut short: its Content-Length is \(length) bytes and "
                + "\(length - 1) are left")
    }

    @Test func damagedHeadersAreErrors() {
        let good = Self.entries[2].record
        func raw(_ header: String, _ block: String = "0123456789") -> [UInt8] {
            Self.bytes(header + "\r\n" + block + "\r\n\r\n")
        }
        let uri = "WARC/1.0\r\nWARC-Type: resource\r\nWARC-Target-URI: http://x/\r\n"
        for (bad, message) in [
            (
                raw(uri + "Content-Length: 12x\r\n"),
                "the WARC record http://x/ has a bad Content-Length '12x' (not a number of bytes)"
            ),
            (
                raw(uri + "Content-Length: -10\r\n"),
                "the WARC record http://x/ has a bad Content-Length '-10' (not a number of bytes)"
            ),
            (
                raw(uri + "Content-Length:\r\n"),
                "the WARC record http://x/ has a bad Content-Length '' (not a number of bytes)"
            ),
            (
                raw(uri + "Content-Length: 99999999999999999999\r\n"),
                "the WARC record http://x/ has a bad Content-Length '99999999999999999999' (not a number of bytes)"
            ),
            (raw(uri), "the WARC record http://x/ has no Content-Length header"),
            (
                raw("WARC/1.0\r\nWARC-Record-ID: <urn:uuid:1>\r\nContent-Length: 7\r\n"),
                "the WARC record <urn:uuid:1> does not end with two line ends after the 7 bytes of its Content-Length (a wrong Content-Length, or a damaged file)"
            ),
            (raw("GET / HTTP/1.1\r\n"), "expected a WARC record ('WARC/1.0' or 'WARC/1.1'), found 'GET / HTTP/1.1'"),
            (
                raw("WARC/one\r\nContent-Length: 10\r\n"),
                "expected a WARC record ('WARC/1.0' or 'WARC/1.1'), found 'WARC/one'"
            ),
            (
                raw("WARC/1.0.1\r\nContent-Length: 10\r\n"),
                "expected a WARC record ('WARC/1.0' or 'WARC/1.1'), found 'WARC/1.0.1'"
            ),
            (Self.bytes("hello\u{0}world"), "expected a WARC record ('WARC/1.0' or 'WARC/1.1'), found 'hello?world'"),
        ] {
            // Alone, and after a good record: the error is placed at the bad record.
            let alone = Self.error(bad)
            #expect(alone.error?.message == message)
            #expect(alone.records == 0 && alone.offset == 0)
            let after = Self.error(good + bad)
            #expect(after.error?.message == message)
            #expect(after.records == 1 && after.offset == good.count)
            // A caller's first call with both: the good record, and the bad one left for the next call.
            var out: [Record] = []
            #expect((try? Self.split(good + bad, final: false, into: &out)) == good.count)
            #expect(out.count == 1)
        }
        // A wrong Content-Length that is too large eats into the next record: its line ends are not there.
        let long = Self.bytes(String(decoding: Self.entries[3].record, as: UTF8.self).replacingContentLength(by: 5))
        let r = Self.error(long + good)
        #expect(r.error?.message.contains("does not end with two line ends") == true, "\(r.error?.message ?? "")")
    }

    @Test func oversizedRecordsAndHeaders() throws {
        // Known from the header alone, before the bytes arrive.
        let header = Self.bytes(
            "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://big/\r\nContent-Length: 70000000\r\n\r\n<html>")
        var out: [Record] = []
        do {
            _ = try Self.split(header, final: false, into: &out)
            Issue.record("a record over 64 MiB must be an error")
        } catch {
            #expect(error.message == "the WARC record http://big/ is too large: 70000093 bytes (the limit is 64 MiB)")
        }
        let endless = Self.bytes("WARC/1.0\r\nX-Long: ") + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        do {
            _ = try Self.split(endless, final: false, into: &out)
            Issue.record("a header over 1 MiB must be an error")
        } catch {
            #expect(error.message == "the WARC record's header has no end in its first 1 MiB")
        }
        // Just under: waits for more.
        #expect(try Self.split(Array(endless.prefix(1000)), final: false, into: &out) == 0)
    }

    /// Random mutations of the crawl: the splitter and the parser refuse or accept, and never trap.
    @Test func randomInputs() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5741_5243_0002)
        let entries = Self.entries.map(\.record)
        let alphabet = Array("\r\n:0123456789 WARC/1.0-Content-Length<>&;#xHTTP/chunked\u{0}\u{FF}".utf8)
        let parser = WARCParser()
        for _ in 0..<max(1, FuzzTests.inputs / 5) {
            var bytes = rng.chance(0.5) ? entries[Int(rng.next() % UInt64(entries.count))] : Self.stream
            for _ in 0..<(1 + Int(rng.next() % 6)) where !bytes.isEmpty {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 6 {
                case 0: bytes[i] ^= UInt8(1 << (rng.next() % 8))
                case 1: bytes[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 2: bytes.removeSubrange(i..<min(bytes.count, i + 1 + Int(rng.next() % 40)))
                case 3:
                    bytes.insert(
                        contentsOf: (0..<Int(rng.next() % 8)).map { _ in
                            alphabet[Int(rng.next() % UInt64(alphabet.count))]
                        }, at: i)
                case 4: bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))
                default: bytes = rng.bytes(Int(rng.next() % 200))
                }
            }
            let r = Self.feed(bytes, &rng, maxPiece: 300)
            for record in r.records { _ = try? parser.parse(record) }
            // The parser alone, on any bytes (it trusts no framing).
            _ = try? parser.parse(Record(bytes: bytes, line: nil, offset: 0))
        }
    }
}

extension String {
    /// The text with its `Content-Length: N` header's value replaced by N + `by`.
    fileprivate func replacingContentLength(by delta: Int) -> String {
        var lines = self.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        for (k, line) in lines.enumerated() where line.hasPrefix("Content-Length: ") {
            lines[k] = "Content-Length: \(Int(line.dropFirst(16))! + delta)"
            break
        }
        return lines.joined(separator: "\r\n")
    }
}
