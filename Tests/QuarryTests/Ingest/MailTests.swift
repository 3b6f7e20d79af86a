// Mail and mbox: headers (folding, encoded words), MIME (multipart, alternative, nested messages, attachments),
// transfer encodings and charsets, mbox splitting with mboxrd quoting, across any cut of the stream.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct MailTests {
    static func mail(_ text: String) throws -> SourceDocument {
        try Mail.parse(Array(text.replacingNewlines.utf8))
    }

    @Test func headersFoldedAndEncoded() throws {
        let d = try Self.mail(
            """
            Message-ID: <abc.123@example.com>
            Date: Tue, 09 Nov 1994 11:02:01 GMT
            From: =?ISO-8859-1?Q?Andr=E9?= Dupont <andre@example.com>
            To: ann@example.com,
             bob@example.com
            Subject: =?UTF-8?Q?Caf=C3=A9_opening?=
             =?UTF-8?B?IOKAlCB0b21vcnJvdw==?=

            See you there.
            """)
        #expect(d.id == "abc.123@example.com")
        #expect(d.date == 784_378_921)
        #expect(d.title == "Café opening — tomorrow")
        #expect(d.fields.first { $0.name == "from" }?.value == "André Dupont <andre@example.com>")
        #expect(d.fields.first { $0.name == "to" }?.value == "ann@example.com, bob@example.com")
        #expect(d.body == "See you there.")
    }

    @Test func encodedWords() {
        #expect(Mail.decodeWords("=?utf-8?q?a_b?= =?utf-8?q?c?=") == "a bc", "space between encoded words dropped")
        #expect(Mail.decodeWords("x =?utf-8?q?y?= z") == "x y z")
        #expect(Mail.decodeWords("=?windows-1252?Q?=93quoted=94?=") == "\u{201C}quoted\u{201D}")
        #expect(Mail.decodeWords("=?unknown?Q?plain?=") == "plain")
        #expect(Mail.decodeWords("not =? an encoded word") == "not =? an encoded word")
        #expect(Mail.decodeWords("=?UTF-8*en?B?w6k=?=") == "é", "RFC 2231 language suffix")
    }

    @Test func quotedPrintableAndBase64() {
        #expect(Mail.quotedPrintable(Array("caf=C3=A9 =\r\nsoft=3Dbreak=\nend=".utf8), underscoreIsSpace: false)
            == Array("café soft=breakend".utf8))
        #expect(Mail.quotedPrintable(Array("bad=ZZ".utf8), underscoreIsSpace: false) == Array("bad=ZZ".utf8))
        #expect(Mail.base64(Array("aGVs\r\nbG8=".utf8)) == Array("hello".utf8))
        #expect(Mail.base64(Array("Y2Fmw6k".utf8)) == Array("café".utf8), "missing padding")
    }

    @Test func multipartAlternativeMixedAndAttachments() throws {
        let d = try Self.mail(
            """
            From: a@example.com
            Date: 2024-01-02
            Subject: Report
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="outer"

            preamble, not shown
            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/plain; charset=iso-8859-1
            Content-Transfer-Encoding: quoted-printable

            The caf=E9 is open.
            --inner
            Content-Type: text/html; charset=utf-8

            <p>The <b>café</b> is open.</p>
            --inner--
            --outer
            Content-Type: application/pdf; name="report.pdf"
            Content-Disposition: attachment; filename="=?UTF-8?Q?r=C3=A9sum=C3=A9.pdf?="
            Content-Transfer-Encoding: base64

            JVBERi0xLjQK
            --outer
            Content-Type: text/plain
            Content-Transfer-Encoding: base64

            U2Vjb25kIHBhcnQu
            --outer--
            epilogue
            """)
        #expect(d.body == "The café is open.\n\nSecond part.")
        #expect(d.fields.filter { $0.name == "attachment" }.map(\.value) == ["résumé.pdf"])
    }

    @Test func htmlOnlyAndNestedMessages() throws {
        let d = try Self.mail(
            """
            From: a@example.com
            Date: 2024-01-02
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/html

            <html><head><style>p{}</style></head><body><p>Hello &amp; welcome</p></body></html>
            --b
            Content-Type: message/rfc822

            From: c@example.com
            Subject: Forwarded note

            Inner body.
            --b--
            """)
        #expect(d.body.contains("Hello & welcome"))
        #expect(!d.body.contains("p{}"))
        #expect(d.body.contains("Forwarded note"))
        #expect(d.body.contains("Inner body."))
    }

    @Test func deepNestingIsBounded() throws {
        var text = "From: a@example.com\nDate: 2024-01-02\nContent-Type: multipart/mixed; boundary=b0\n\n"
        for k in 1...200 { text += "--b\(k - 1)\nContent-Type: multipart/mixed; boundary=b\(k)\n\n" }
        text += "--b200\nContent-Type: text/plain\n\ndeep\n"
        let d = try Self.mail(text)
        #expect(!d.body.contains("deep"), "parts deeper than \(Mail.maxDepth) levels are skipped")
    }

    @Test func notAMail() {
        #expect(throws: LineError.self) { try Mail.parse(Array("just text\nmore".utf8)) }
    }

    static let mbox = """
        From ann@example.com Tue Nov  9 11:02:01 1994
        From: ann@example.com
        Subject: One
        Date: Tue, 09 Nov 1994 11:02:01 GMT

        First message.
        >From the quoted line.
        >>From twice quoted.

        From bob@example.com Wed Nov 10 11:02:01 1994
        From: bob@example.com
        Subject: Two
        Message-ID: <two@example.com>

        Second message.
        From here, not a separator (no blank line before).

        """

    static func split(_ text: String, cutAt cut: Int?) throws(LineError) -> [Record] {
        let bytes = Array(text.utf8)
        var splitter = MboxSplitter()
        var out: [Record] = []
        var consumed = 0
        if let cut {
            consumed = try bytes.withUnsafeBufferPointer { all throws(LineError) in
                try splitter.split(UnsafeBufferPointer(rebasing: all[0..<cut]), base: 0, line: 1, final: false, into: &out)
            }
        }
        let line = 1 + bytes[0..<consumed].filter { $0 == 0x0A }.count
        _ = try bytes.withUnsafeBufferPointer { all throws(LineError) in
            try splitter.split(
                UnsafeBufferPointer(rebasing: all[consumed...]), base: consumed, line: line, final: true, into: &out)
        }
        return out
    }

    @Test func mboxSplitsAtFromLinesAndUnquotes() throws {
        let records = try Self.split(Self.mbox, cutAt: nil)
        #expect(records.count == 2)
        #expect(records.map(\.line) == [1, 10])
        let one = try Mail.parse(records[0].bytes)
        #expect(one.title == "One")
        #expect(one.body == "First message.\nFrom the quoted line.\n>From twice quoted.")
        let two = try Mail.parse(records[1].bytes)
        #expect(two.id == "two@example.com")
        #expect(two.body.contains("From here, not a separator"))
        // Any cut of the stream gives the same records.
        for cut in 0...Self.mbox.utf8.count {
            let again = try Self.split(Self.mbox, cutAt: cut)
            #expect(again.map(\.bytes) == records.map(\.bytes), "cut at \(cut)")
            #expect(again.map(\.offset) == records.map(\.offset), "cut at \(cut)")
        }
    }

    @Test func notAnMbox() {
        #expect(throws: LineError.self) { try Self.split("Subject: x\n\nbody\n", cutAt: nil) }
    }

    @Test func randomBytesNeverCrash() throws {
        var rng = SeededRandom(seed: 99)
        let alphabet = Array("From: =?utf-8?q?a?= \n\r-=boundary\"Content-Type: multipart/mixed; boundary=x\n--x--".utf8)
        for _ in 0..<2000 {
            let n = Int(rng.next() % 300)
            var bytes: [UInt8] = []
            for _ in 0..<n {
                bytes.append(rng.next() % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))])
            }
            _ = try? Mail.parse(bytes)
            _ = Mail.decodeWords(String(decoding: bytes, as: UTF8.self))
        }
    }
}

@Suite struct CSVTests {
    static func split(_ text: String, cutAt cut: Int? = nil, delimiter: UInt8 = UInt8(ascii: ",")) throws(LineError)
        -> (CSVSplitter, [Record])
    {
        let bytes = Array(text.utf8)
        var splitter = CSVSplitter(delimiter: delimiter)
        var out: [Record] = []
        var consumed = 0
        if let cut {
            consumed = try bytes.withUnsafeBufferPointer { all throws(LineError) in
                try splitter.split(UnsafeBufferPointer(rebasing: all[0..<cut]), base: 0, line: 1, final: false, into: &out)
            }
        }
        let line = 1 + bytes[0..<consumed].filter { $0 == 0x0A }.count
        _ = try bytes.withUnsafeBufferPointer { all throws(LineError) in
            try splitter.split(
                UnsafeBufferPointer(rebasing: all[consumed...]), base: consumed, line: line, final: true, into: &out)
        }
        return (splitter, out)
    }

    static let sample =
        "Id,TITLE,body,date,author\r\n1,\"Hello, world\",\"A body\nwith two lines and \"\"quotes\"\"\",2024-01-02,Ann\r\n2,Plain,text,,Bob\n\n3,\"\",x,,\n"

    @Test func rfc4180() throws {
        let (splitter, records) = try Self.split(Self.sample)
        #expect(splitter.header == ["Id", "TITLE", "body", "date", "author"])
        #expect(records.count == 3)
        #expect(records.map(\.line) == [2, 4, 6])
        let parser = CSVParser(
            header: splitter.header ?? [], delimiter: UInt8(ascii: ","), schema: Schema(extraTextFields: ["author"]),
            autoID: false)
        let one = try #require(try parser.parse(records[0]))
        #expect(one.id == "1")
        #expect(one.title == "Hello, world")
        #expect(one.body == "A body\nwith two lines and \"quotes\"")
        #expect(one.date == 1_704_153_600)
        #expect(one.fields.map(\.name) == ["author"])
        #expect(one.fields.map(\.value) == ["Ann"])
        let three = try #require(try parser.parse(records[2]))
        #expect(three.title == "")
        // Any cut gives the same records.
        for cut in 0...Self.sample.utf8.count {
            let (s, again) = try Self.split(Self.sample, cutAt: cut)
            #expect(s.header == splitter.header, "cut at \(cut)")
            #expect(again.map(\.bytes) == records.map(\.bytes), "cut at \(cut)")
        }
    }

    @Test func errors() throws {
        #expect(throws: LineError.self) { try Self.split("id,title\n1,\"open\n") }
        let (splitter, records) = try Self.split("id,title\n1,a,b\n2,\"x\"y\n")
        let parser = CSVParser(
            header: splitter.header ?? [], delimiter: UInt8(ascii: ","), schema: Schema(), autoID: false)
        #expect(throws: LineError.self) { try parser.parse(records[0]) }
        #expect(throws: LineError.self) { try parser.parse(records[1]) }
        let (s2, r2) = try Self.split("title,body\na,b\n")
        let noID = CSVParser(header: s2.header ?? [], delimiter: UInt8(ascii: ","), schema: Schema(), autoID: false)
        #expect(throws: LineError.self) { try noID.parse(r2[0]) }
        let auto = CSVParser(header: s2.header ?? [], delimiter: UInt8(ascii: ","), schema: Schema(), autoID: true)
        #expect(try auto.parse(r2[0])?.title == "a")
    }

    @Test func otherDelimiters() throws {
        let (splitter, records) = try Self.split("id;title\n1;\"a;b\"\n", delimiter: UInt8(ascii: ";"))
        let parser = CSVParser(header: splitter.header ?? [], delimiter: UInt8(ascii: ";"), schema: Schema(), autoID: false)
        #expect(try parser.parse(records[0])?.title == "a;b")
    }
}

extension String {
    /// Multi-line literals use LF; mail is often CRLF: both must work, so tests keep LF.
    fileprivate var replacingNewlines: String { self }
}
