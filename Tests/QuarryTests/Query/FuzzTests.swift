// Seeded random inputs for the parsers that input and query text reach: the query parser, the JSON Lines and TSV
// readers, the dump readers (mail and mbox, WARC, MediaWiki and wikitext, CSV, HTML) and the date parser. Inputs are random bytes, and valid examples cut, spliced and mutated (the shapes
// that find bugs). A parser may accept or refuse an input, but never trap, loop or take unbounded time; a trap
// fails the run, and the seed is printed so that it can be replayed.
//
// The suite runs a CI-sized number of inputs; QUARRY_FUZZ_INPUTS=1000000 runs a long one.

import QuarryTestSupport
import Testing

@testable import Quarry

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Fuzzing the parsers")
struct FuzzTests {
    static var inputs: Int {
        if let raw = getenv("QUARRY_FUZZ_INPUTS"), let n = Int(String(cString: raw)), n > 0 { return n }
        return 5_000
    }

    static let queryExamples = [
        "bank rates", "\"interest rates\"~2", "title:(bank OR loan) -oil", "+a b -c", "date:[1995-01 TO 1995-06]",
        "date:>=1994-11-09", "id:qn-0042", "(a (b (c)))", "a AND b OR c NOT d", "body:\"central bank\"", "Bank's",
        "tags:x date:<1995", "café Straße 東京", "\"\"", "title:", "((", "))", "~", "\"a\"~10000",
        // Inputs of the issue-9 and issue-10 probes: the shapes that once crashed, hung or were misread.
        String(repeating: "(", count: 8000) + "cobol" + String(repeating: ")", count: 8000),
        "\"" + Array(repeating: "the", count: 2000).joined(separator: " ") + "\"", "\"cobol program\"~1e9",
        "y2k*", "cob?l", "fortran~2", "cobol^2", "title:[a TO c]", "cobol || fortran", "!cobol", "a&&b", "\"ban*\"",
    ]
    static let jsonExamples = [
        #"{"id":"a","date":"2024-03-01","title":"t","body":"b"}"#,
        #"{"id":7,"body":["x","y"],"extra":{"n":[1,2,{"k":null}]},"title":"\u00e9\ud83d\ude00"}"#,
        #"{"id":"e","date":1700000000,"body":"esc \" \\ \/ \b\f\n\r\t"}"#,
        #"{"id":"d","date":"Tue, 09 Nov 1994 11:02:01 GMT","body":"","title":null}"#,
    ]
    static let tsvExamples = ["a\tb\\tc\t2024-01-01\tbody text", "x\t\t\t\t", "1\tt\\n\\\\\t1995\tb"]
    static let dateExamples = [
        "2026-02-25", "2026-02-25T14:03:00Z", "2026-02-25T14:03:00+01:00", "Tue, 09 Nov 1994 11:02:01 GMT",
        "February 25, 2026", "25 Feb 2026 14:03", "1995", "1995-03", "-0001-01-01", "99999-12-31",
    ]

    /// A random input shaped from `examples`.
    static func input(_ rng: inout SeededRandom, _ examples: [String]) -> [UInt8] {
        let alphabet = Array("()\"~:+-*?[]{}<>=^!|&\\/ \t\n\r,.;0123456789azAZTOANDORNOTé\u{0}\u{7F}".utf8)
        var bytes = Array(examples[Int(rng.next() % UInt64(examples.count))].utf8)
        switch rng.next() % 6 {
        case 0:
            // Random bytes.
            bytes = rng.bytes(Int(rng.next() % 64))
        case 1:
            // Bytes from the syntax's alphabet.
            bytes = (0..<Int(rng.next() % 80)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        case 2:
            // Spliced: a prefix of one example and a suffix of another.
            let other = Array(examples[Int(rng.next() % UInt64(examples.count))].utf8)
            bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count + 1))))
                + other.suffix(Int(rng.next() % UInt64(other.count + 1)))
        case 3:
            // A repeated piece (deep or long inputs).
            let piece = bytes.prefix(1 + Int(rng.next() % 4))
            bytes = Array(repeatElement(piece, count: 1 + Int(rng.next() % 3000)).joined())
        default:
            // A few byte edits.
            for _ in 0..<(1 + Int(rng.next() % 4)) where !bytes.isEmpty {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                }
            }
        }
        return bytes
    }

    @Test func queryParser() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xF022_0001)
        let schema = Schema(extraTextFields: ["tags"])
        for _ in 0..<Self.inputs {
            let text = String(decoding: Self.input(&rng, Self.queryExamples), as: UTF8.self)
            var parser = QueryParser(schema: schema, defaultOr: rng.chance(0.5))
            if let q = try? parser.parse(text) { _ = q.normalized() }
        }
    }

    @Test func jsonLines() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xF022_0002)
        let schema = Schema(extraTextFields: ["extra"])
        var parser = JSONLineParser(schema: schema, lossy: false)
        var lossy = JSONLineParser(schema: schema, lossy: true)
        var doc = Document(textFieldCount: schema.textFields.count)
        for _ in 0..<Self.inputs {
            let bytes = Self.input(&rng, Self.jsonExamples)
            bytes.withUnsafeBufferPointer { b in
                _ = try? parser.parse(b, into: &doc, autoID: nil)
                _ = try? lossy.parse(b, into: &doc, autoID: 1)
            }
        }
    }

    @Test func tsv() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xF022_0003)
        var parser = TSVParser(schema: Schema(), lossy: false)
        try Array("id\ttitle\tdate\tbody".utf8).withUnsafeBufferPointer { h in try parser.parseHeader(h) }
        var doc = Document(textFieldCount: 2)
        for _ in 0..<Self.inputs {
            let bytes = Self.input(&rng, Self.tsvExamples)
            bytes.withUnsafeBufferPointer { b in _ = try? parser.parse(b, into: &doc, autoID: nil) }
            if rng.chance(0.01) {
                var header = TSVParser(schema: Schema(), lossy: false)
                bytes.withUnsafeBufferPointer { b in _ = try? header.parseHeader(b) }
            }
        }
    }

    static let mailExamples = [
        "From a@b Tue Nov  9 11:02:01 1994\nFrom: =?UTF-8?Q?Andr=C3=A9?= <a@b>\nSubject: =?iso-8859-1?B?Y2Fm6Q==?=\n folded\nDate: Tue, 09 Nov 1994 11:02:01 GMT\n\nbody\n>From quoted\n\nFrom c@d Wed Nov 10 1994\nSubject: two\n\nx\n",
        "From: a@b\nDate: 2024-01-02\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain; charset=latin1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9=\n\n--x\nContent-Type: text/html\n\n<p>hi &amp;</p>\n--x\nContent-Type: message/rfc822\n\nSubject: in\n\ninner\n--x--\n",
    ]
    static let dumpExamples = [
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://a/\r\nWARC-Date: 2024-01-02T00:00:00Z\r\nContent-Length: 77\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><title>T</title>body</html>\r\n\r\n",
        "<mediawiki><siteinfo><base>https://x/wiki/Main</base></siteinfo><page><title>A &amp; B</title><ns>0</ns><id>1</id><revision><timestamp>2024-01-02T00:00:00Z</timestamp><text>'''Bold''' [[Link|text]] {{Infobox|a={{b}}}} &lt;ref&gt;r&lt;/ref&gt; {| t |}</text></revision></page></mediawiki>",
        "id,title,body\r\n1,\"a, \"\"b\"\"\",\"two\nlines\"\r\n2,x,y\n",
    ]

    /// Splits `bytes` with `splitter` in two calls cut at a random place, then parses each record: never a trap.
    static func splitAndParse<S: RecordSplitter>(
        _ bytes: [UInt8], _ splitter: inout S, _ rng: inout SeededRandom, _ parser: (S) -> any RecordParser
    ) {
        var records: [Record] = []
        let cut = Int(rng.next() % UInt64(bytes.count + 1))
        var used = cut
        do {
            used = try bytes.withUnsafeBufferPointer { b throws(LineError) in
                try splitter.split(UnsafeBufferPointer(rebasing: b[0..<cut]), base: 0, line: 1, final: false, into: &records)
            }
        } catch {}
        do {
            _ = try bytes.withUnsafeBufferPointer { b throws(LineError) in
                try splitter.split(
                    UnsafeBufferPointer(rebasing: b[min(used, bytes.count)...]), base: used, line: 1, final: true,
                    into: &records)
            }
        } catch {}
        let p = parser(splitter)
        var doc = Document(textFieldCount: 4)
        for r in records {
            if let d = try? p.parse(r) {
                _ = try? d.fill(&doc, schema: Schema(extraTextFields: ["from", "to"]), fallbackID: "x")
            }
        }
    }

    @Test func dumpReaders() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xF022_0005)
        let schema = Schema()
        let options = IndexOptions()
        for k in 0..<Self.inputs {
            let mail = Self.input(&rng, Self.mailExamples)
            _ = try? Mail.parse(mail)
            var mbox = MboxSplitter()
            Self.splitAndParse(mail, &mbox, &rng) { _ in MailParser() }
            let dump = Self.input(&rng, Self.dumpExamples)
            switch k % 4 {
            case 0:
                var s = WARCSplitter()
                Self.splitAndParse(dump, &s, &rng) { _ in WARCParser() }
            case 1:
                var s = WikipediaSplitter()
                Self.splitAndParse(dump, &s, &rng) { _ in WikipediaParser() }
                _ = Wikitext.plainText(String(decoding: dump, as: UTF8.self))
            case 2:
                var s = CSVSplitter()
                Self.splitAndParse(dump, &s, &rng) { DumpFormat.parser(.csv, splitter: $0, schema: schema, options: options) }
            default:
                _ = HTMLText.extract(dump)
                _ = DumpFormat.detect(dump, name: "x")
            }
        }
    }

    @Test func dates() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xF022_0004)
        for _ in 0..<Self.inputs {
            let bytes = Self.input(&rng, Self.dateExamples)
            _ = DateParser.parseTimestamp(bytes)
            bytes.withUnsafeBufferPointer { b in _ = DateParser.parsePeriod(b) }
        }
    }
}

/// Recomputes a segment file's chunk checksums, the table's CRC and the whole-file CRC after its bytes were
/// changed: the damage then passes every checksum, and reaches the decoders (as a crafted file would).
func resealSegmentFile(_ bytes: inout [UInt8]) {
    let covered = coveredLength(bytes)
    var table = ChunkTableBuilder()
    bytes.withUnsafeBytes { table.update(UnsafeRawBufferPointer(rebasing: $0[0..<covered])) }
    let sealed = table.finish()
    bytes.replaceSubrange(covered..<(covered + sealed.count), with: sealed)
    let crcAt = bytes.count - 4
    let crc = CRC32.of(Array(bytes[0..<crcAt]))
    for k in 0..<4 { bytes[crcAt + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
}

extension FuzzTests {
    /// Segment readers on crafted files: bytes changed and the checksums recomputed, so that the damage passes the
    /// chunk checks and meets the structural checks of each reader. Opening and reading everything must report
    /// damage or answer, never trap. (Slower per input than the parsers: QUARRY_FUZZ_SEGMENT_INPUTS sets how many.)
    @Test func segmentReaders() throws {
        let inputs: Int = {
            if let raw = getenv("QUARRY_FUZZ_SEGMENT_INPUTS"), let n = Int(String(cString: raw)), n > 0 { return n }
            return 150
        }()
        let pristine = try CorruptionTests.Pristine()
        let scratch = TemporaryDirectory("fuzz-segments")
        let index = pristine.copy(into: scratch, "index")
        let manifest = try IndexDirectory.readManifest(index)
        let files = manifest.segments.flatMap { s in FileKind.segmentKinds.map { s.name + "." + $0.fileExtension } }
        let originals = files.map { readFile(index + "/" + $0) }
        for original in originals {
            var same = original
            resealSegmentFile(&same)
            #expect(same == original, "resealing an unchanged file changes nothing")
        }
        var rng = SeededRandom(seedFromEnvironmentOr: 0xF022_0005)
        for input in 0..<inputs {
            let f = Int(rng.next() % UInt64(files.count))
            var bytes = originals[f]
            let covered = coveredLength(bytes)
            // Edits inside the covered bytes, past the header: flips, random bytes, a run of one value, or a
            // little-endian integer (offsets and counts are the fields that matter).
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = FileFormat.headerSize + Int(rng.next() % UInt64(covered - FileFormat.headerSize))
                switch rng.next() % 4 {
                case 0: bytes[at] ^= UInt8(1 << (rng.next() % 8))
                case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                case 2:
                    let value = UInt8(truncatingIfNeeded: rng.next())
                    for k in at..<min(covered, at + 1 + Int(rng.next() % 64)) { bytes[k] = value }
                default:
                    let value = [0, 1, 127, 128, 255, 0xFFFF, 0xFFFF_FFFF, Int(rng.next() % 100_000)][Int(rng.next() % 8)]
                    for k in 0..<4 where at + k < covered { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) }
                }
            }
            resealSegmentFile(&bytes)
            writeFile(index + "/" + files[f], bytes)
            _ = CorruptionTests.readEverything(index, pristine.documents, "input \(input), \(files[f]), \(rng.seedDescription)")
            writeFile(index + "/" + files[f], originals[f])
        }
    }
}
