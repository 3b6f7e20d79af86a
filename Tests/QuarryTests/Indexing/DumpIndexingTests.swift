// Dumps through the whole indexing pipeline: every format detected from its content (compressed or not), records
// split on the reading thread and parsed by the workers, errors with file and place, --skip-bad, and folders of
// anything (each file by its own content).

import QuarryTestSupport
import Synchronization
import Testing

@testable import Quarry

@Suite struct DumpIndexingTests {
    static let mbox = """
        From ann@example.com Tue Nov  9 11:02:01 1994
        From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.com>
        To: bob@example.com
        Subject: =?UTF-8?Q?Caf=C3=A9_opening?=
        Date: Tue, 09 Nov 1994 11:02:01 GMT
        Message-ID: <one@example.com>

        The cafe opens tomorrow.

        From bob@example.com Wed Nov 10 11:02:01 1994
        From: bob@example.com
        Subject: Re: Cafe
        Date: Wed, 10 Nov 1994 11:02:01 GMT

        See you there.

        """

    static func ids(_ dir: String) throws -> [String] {
        let reader = try IndexReader(directory: dir)
        var out: [String] = []
        for (s, segment) in reader.segments.enumerated() {
            for d in 0..<segment.docCount where !segment.isDeleted(d) {
                out.append(StoredDocument(try reader.storedDocument(segment: s, doc: d)).text("id") ?? "")
            }
        }
        return out.sorted()
    }

    static func count(_ dir: String, _ query: String) throws -> Int {
        let reader = try IndexReader(directory: dir)
        var parser = QueryParser(schema: reader.schema)
        return try Searcher(reader: reader).count(try parser.parse(query))
    }

    @Test(arguments: ["", "gzip", "bzip2", "xz", "zstd"])
    func mboxDetectedFromItsContent(compression: String) throws {
        let dir = TemporaryDirectory("dumps")
        var path = dir.file("archive")
        writeFile(path, Self.mbox)
        if !compression.isEmpty {
            let out = path + ".z"
            try #require(runProcess([compression, "-c", path], stdout: out) == 0)
            path = out
        }
        let report = try buildIndex(at: dir.file("index"), inputs: [path], schema: Schema(extraTextFields: ["from", "to"]))
        #expect(report.documentsAdded == 2)
        // The second message has no Message-ID: it is named by its file and line.
        #expect(try Self.ids(dir.file("index")) == ["\(path):10", "one@example.com"])
        #expect(try Self.count(dir.file("index"), "from:andre") == 1)
        #expect(try Self.count(dir.file("index"), "title:café") == 1)
    }

    @Test func csvWithEmbeddedNewlinesAndAnErrorAtItsLine() throws {
        let dir = TemporaryDirectory("dumps")
        writeFile(dir.file("a.csv"), "ID,Title,Body\n1,\"Two\nlines\",x\n2,Plain,y\n")
        #expect(try buildIndex(at: dir.file("index"), inputs: [dir.file("a.csv")]).documentsAdded == 2)
        #expect(try Self.count(dir.file("index"), "lines") == 1)
        writeFile(dir.file("bad.csv"), "id,title\n1,a\n2,b,extra\n3,c\n")
        let error = thrownQuarryError { try buildIndex(at: dir.file("index2"), inputs: [dir.file("bad.csv")]) }
        #expect(error?.path == dir.file("bad.csv"))
        #expect(error?.line == 3)
        #expect(error?.message.contains("expected 2 fields") == true)
        let skipped = try buildIndex(
            at: dir.file("index3"), inputs: [dir.file("bad.csv")], options: testIndexOptions { $0.skipBad = true })
        #expect(skipped.documentsAdded == 2)
        #expect(skipped.documentsSkipped == 1)
    }

    @Test func foldersOfAnything() throws {
        let dir = TemporaryDirectory("dumps")
        let root = dir.makeDirectory("stuff")
        dir.makeDirectory("stuff/mail")
        writeFile(root + "/notes.txt", "Post-mortem: the outage\nSummary: it was down\n\nDetails.\n")
        writeFile(root + "/mail/1.eml", "From: a@example.com\nDate: 2024-01-02\nSubject: Hello mail\n\nBody one.\n")
        writeFile(root + "/archive.mbox", Self.mbox)
        writeFile(root + "/page.html", "<html><head><title>A page</title><script>x()</script></head><body><p>Page &amp; text</p></body></html>")
        writeFile(root + "/docs.jsonl", "{\"id\":\"j1\",\"title\":\"From JSON\",\"body\":\"json body\"}\n")
        writeFile(root + "/image.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D])
        let gz = root + "/compressed.txt"
        writeFile(gz, "Compressed note\nwith a body\n")
        try #require(runProcess(["gzip", gz]) == 0)
        let report = try buildIndex(at: dir.file("index"), inputs: [root])
        #expect(report.binaryFilesSkipped == 1)
        #expect(report.documentsAdded == 7)
        let ids = try Self.ids(dir.file("index"))
        #expect(ids.contains("notes.txt"))
        #expect(ids.contains("mail/1.eml"))
        #expect(ids.contains("one@example.com"))
        #expect(ids.contains("page.html"))
        #expect(ids.contains("j1"))
        #expect(ids.contains("compressed.txt.gz"))
        let index = dir.file("index")
        #expect(try Self.count(index, "title:outage") == 1, "a 'Word:' first line is text, not a header")
        #expect(try Self.count(index, "title:\"hello mail\"") == 1)
        #expect(try Self.count(index, "title:page") == 1)
        #expect(try Self.count(index, "x") == 0, "scripts are not text")
        #expect(try Self.count(index, "compressed") == 1)
    }

    @Test func progressKnowsTheTotalOfEveryInput() throws {
        let dir = TemporaryDirectory("dumps")
        for name in ["a", "b"] {
            var lines = ""
            for k in 0..<3000 {
                lines += "{\"id\":\"\(name)\(k)\",\"body\":\"\(String(repeating: "word ", count: 40))\"}\n"
            }
            writeFile(dir.file(name + ".jsonl"), lines)
        }
        final class Log: Sendable { let seen = Mutex<[IndexProgress]>([]) }
        let log = Log()
        let options = testIndexOptions {
            $0.progress = { p in log.seen.withLock { $0.append(p) } }
        }
        try buildIndex(at: dir.file("index"), inputs: [dir.file("a.jsonl"), dir.file("b.jsonl")], options: options)
        let total = (fileSize(dir.file("a.jsonl")) ?? 0) + (fileSize(dir.file("b.jsonl")) ?? 0)
        let reports = log.seen.withLock { $0 }
        #expect(!reports.isEmpty, "the first progress report goes out at once")
        for p in reports {
            #expect(p.bytesTotal == total)
            #expect(p.bytesConsumed <= total)
        }
    }
}


/// The samples in Data/ (one per format, made by Data/make-samples.py) index as Data/README.md says.
@Suite struct DataSampleTests {
    /// The repository's Data folder, found from this source file's path.
    static let data: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        while let last = parts.last, last != "Tests" { parts.removeLast() }
        parts.removeLast()
        return parts.joined(separator: "/") + "/Data"
    }()

    @Test(arguments: [
        ("sample-mail/archive.mbox", 8, 0), ("sample-mail/Maildir", 3, 0), ("sample-web/crawl.warc.gz", 5, 0),
        ("sample-wiki/pages-articles.xml.bz2", 5, 0), ("sample.csv", 24, 0), ("sample-mixed", 11, 1),
        ("sample.jsonl", 240, 0),
    ])
    func eachSampleIndexes(path: String, documents: Int, binary: Int) throws {
        let dir = TemporaryDirectory("samples")
        let report = try buildIndex(at: dir.file("index"), inputs: [Self.data + "/" + path])
        #expect(report.documentsAdded == documents, "\(path)")
        #expect(report.binaryFilesSkipped == binary, "\(path)")
        #expect(report.documentsSkipped == 0, "\(path)")
        #expect(IndexChecker.check(dir.file("index")).isSound)
    }
}

@Suite struct DetectionTests {
    @Test func kindsFromContent() {
        func kind(_ text: String, _ name: String = "x") -> ContentKind { DumpFormat.detect(Array(text.utf8), name: name) }
        #expect(kind("From ann@example.com Tue Nov  9 11:02:01 1994\nFrom: ann@example.com\n\nHi\n") == .mbox)
        // A note whose first line begins with "From " is text (found by Benchmarks/ingest on usenet).
        #expect(kind("From COBOL -> COBOL II ?\n\nWe are thinking about it.\n") == .text)
        #expect(kind("From 10:30 to noon\nno headers here\n") == .text)
        #expect(kind("{\"id\":1}\n") == .jsonl)
        #expect(kind("not json\n", "data.jsonl") == .jsonl)
        #expect(kind("WARC/1.0\r\n") == .warc)
        #expect(kind("<?xml version=\"1.0\"?>\n<mediawiki xmlns=\"x\">") == .wikipedia)
        #expect(kind("Received: from x\nSubject: s\n\nb") == .mail)
        #expect(kind("Summary: it was down\n\nDetails") == .text)
        #expect(kind("<!DOCTYPE html><html>") == .html)
        #expect(kind("a,b\n1,2\n", "t.csv.gz") == .csv)
    }
}
