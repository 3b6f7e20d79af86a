// Folders of text files: listing (recursive, sorted, hidden files skipped) and the file -> document rules (title
// line, mail-style headers, dates, BOM, invalid UTF-8).

import QuarryTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import Quarry

@Suite struct TextFolderTests {
    static let schema = Schema()

    static func parse(_ text: [UInt8], path: String = "a.txt", mtime: Int64 = 1_700_000_000, lossy: Bool = false)
        -> (doc: Document, error: LineError?)
    {
        var doc = Document(textFieldCount: 2)
        do {
            try TextFolder.parse(
                TextFileRecord(relativePath: path, bytes: text, modificationTime: mtime), schema: schema, lossy: lossy,
                into: &doc)
            return (doc, nil)
        } catch {
            return (doc, error)
        }
    }

    static func parse(_ text: String, path: String = "a.txt", mtime: Int64 = 1_700_000_000) -> (
        doc: Document, error: LineError?
    ) {
        parse(Array(text.utf8), path: path, mtime: mtime)
    }

    static func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func listingIsRecursiveSortedAndSkipsHiddenFiles() throws {
        let dir = TemporaryDirectory("folder")
        for name in [
            "b.txt", "a.txt", "sub/z.txt", "sub/deeper/y.md", ".hidden", "sub/.secret", ".git/config", "A.txt", "é.txt",
        ] {
            let path = dir.file(name)
            makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
            writeFile(path, name)
        }
        dir.makeDirectory("empty")
        #expect(try TextFolder.list(dir.path).map(\.id) == ["A.txt", "a.txt", "b.txt", "sub/deeper/y.md", "sub/z.txt", "é.txt"])
        do {
            _ = try TextFolder.list(dir.file("missing"))
            Issue.record("a missing folder must be an error")
        } catch {
            #expect(error.code == .invalidInput)
            #expect(error.path == dir.file("missing"))
        }
    }

    /// A folder's file is read in one call of its listed size: one that grew or shrank since it was listed, one
    /// that is compressed, and one past the limit are still read whole (or refused), never cut.
    @Test func folderFilesAreReadWholeWhateverTheListedSize() throws {
        let dir = TemporaryDirectory("folder-read")
        let text = (0..<5_000).map { "line \($0)\n" }.joined()
        let path = dir.file("a.txt")
        writeFile(path, text)
        let size = text.utf8.count
        for listed in [size, 0, 1, size - 1, size + 1, size * 3] {
            #expect(try readFolderFile(path, listedSize: listed, limit: 1 << 20) == Array(text.utf8), "listed \(listed)")
        }
        writeFile(dir.file("empty.txt"), "")
        #expect(try readFolderFile(dir.file("empty.txt"), listedSize: 0, limit: 10) == [])
        // Compressed: read again through the decompressing source.
        let zst = dir.file("c.txt.zst")
        writeFile(zst, ByteSourceTests.zstdFrame(Array(text.utf8)))
        #expect(try readFolderFile(zst, listedSize: 100, limit: 1 << 20) == Array(text.utf8))
        // Over the limit: an error naming the file.
        do {
            _ = try readFolderFile(path, listedSize: size, limit: 1_000)
            Issue.record("a file over the limit must be refused")
        } catch {
            #expect(error.path == path && error.message.contains("larger than"))
        }
    }

    @Test func titleIsTheFirstNonEmptyLineAndTheRestIsTheBody() {
        let r = Self.parse("\n  \nThe Title\r\nline one\r\n\nline two\n")
        #expect(r.error == nil)
        #expect(Self.string(r.doc.id) == "a.txt")
        #expect(Self.string(r.doc.text[0]) == "The Title")
        #expect(Self.string(r.doc.text[1]) == "line one\r\n\nline two")
        #expect(r.doc.date == 1_700_000_000, "the file's modification time")
        #expect(r.doc.valueEnds == [[9], [r.doc.text[1].count]])
        #expect(
            Self.string(r.doc.stored)
                == #"{"id":"a.txt","date":"2023-11-14T22:13:20Z","title":"The Title","body":"line one\r\n\nline two"}"#)
    }

    @Test func mailStyleHeaders() {
        let r = Self.parse(
            "Subject: Quarterly report\nDate: 2024-01-02\nFrom: Zoë <z@example.com>\nX-Tag: a:b\n\nBody text\nmore\n",
            path: "mail/1.eml")
        #expect(r.error == nil)
        #expect(Self.string(r.doc.text[0]) == "Quarterly report")
        #expect(Self.string(r.doc.text[1]) == "Body text\nmore")
        #expect(r.doc.date == 1_704_153_600)
        let stored = StoredDocument(r.doc.stored)
        #expect(stored.members.map(\.name) == ["id", "date", "title", "body", "From", "X-Tag"])
        #expect(stored.text("id") == "mail/1.eml")
        #expect(stored.text("date") == "2024-01-02T00:00:00Z")
        #expect(stored.text("From") == "Zoë <z@example.com>")
        #expect(stored.text("X-Tag") == "a:b")
    }

    @Test func headersNamedLikeTheSchemaFields() {
        // In a mail, the title field's and date field's names work as header names, case-insensitively.
        let r = Self.parse(
            "From: a@example.com\nTITLE: From the header\nDATE: Tue, 09 Nov 1994 11:02:01 GMT\n\nFirst body line\n")
        #expect(Self.string(r.doc.text[0]) == "From the header")
        #expect(Self.string(r.doc.text[1]) == "First body line")
        #expect(r.doc.date == 784_378_921)
        // Without a sign of mail, such lines are text.
        let t = Self.parse("TITLE: From the header\nDATE: Tue, 09 Nov 1994 11:02:01 GMT\n\nFirst body line\n")
        #expect(Self.string(t.doc.text[0]) == "TITLE: From the header")
        #expect(t.doc.date == 1_700_000_000)
    }

    @Test func onlyRealMailHasHeaders() {
        // Quarry's own sample: a report whose first lines look like "Word: value".
        let report = Self.parse("Post-mortem: search service outage on 3 March\nSummary: the index was down\n\nTimeline:\n...")
        #expect(Self.string(report.doc.text[0]) == "Post-mortem: search service outage on 3 March")
        #expect(Self.string(report.doc.text[1]).hasPrefix("Summary: the index was down"))
        // A folded Subject, a Received header: a mail, with the Subject joined.
        let mail = Self.parse(
            "Received: from mx.example.com\nSubject: A long subject\n\tcontinued here\nDate: Tue, 09 Nov 1994 11:02:01 GMT\n\nHi\n")
        #expect(Self.string(mail.doc.text[0]) == "A long subject continued here")
        #expect(mail.doc.date == 784_378_921)
        #expect(Self.string(mail.doc.text[1]) == "Hi")
        // An mbox "From " line, then headers.
        let mbox = Self.parse("From ann@example.com Tue Nov  9 11:02:01 1994\nSubject: Hello\n\nBody\n")
        #expect(Self.string(mbox.doc.text[0]) == "Hello")
        #expect(Self.string(mbox.doc.text[1]) == "Body")
        // Message-ID alone is enough.
        let id = Self.parse("Message-ID: <1@x>\nSubject: S\n\nB")
        #expect(Self.string(id.doc.text[0]) == "S")
    }

    @Test func aFirstLineThatOnlyLooksLikeAHeader() {
        let r = Self.parse("Note: this is prose\nnot a header line\n")
        #expect(Self.string(r.doc.text[0]) == "Note: this is prose")
        #expect(Self.string(r.doc.text[1]) == "not a header line")
        // Mail headers without a Subject: the title is the body's first line.
        let h = Self.parse("From: ann@example.com\nDate: 2024-01-02\n\nReal title\nbody")
        #expect(Self.string(h.doc.text[0]) == "Real title")
        #expect(Self.string(h.doc.text[1]) == "body")
        #expect(StoredDocument(h.doc.stored).text("From") == "ann@example.com")
        // One "Word: value" line and a blank line: text.
        let a = Self.parse("Author: Ann\n\nReal title\nbody")
        #expect(Self.string(a.doc.text[0]) == "Author: Ann")
    }

    @Test func aBadDateHeaderIsAnError() {
        let r = Self.parse("From: a@example.com\nDate: someday\n\nx")
        #expect(r.error?.column == 1)
        #expect(r.error?.message.contains("cannot parse the date header 'someday'") == true)
    }

    @Test func emptyAndBOMFiles() {
        let empty = Self.parse("")
        #expect(empty.error == nil)
        #expect(empty.doc.text == [[], []])
        #expect(empty.doc.valueEnds == [[0], [0]])
        #expect(Self.string(empty.doc.stored) == #"{"id":"a.txt","date":"2023-11-14T22:13:20Z","title":"","body":""}"#)
        let bom = Self.parse([0xEF, 0xBB, 0xBF] + Array("Title\nBody".utf8))
        #expect(Self.string(bom.doc.text[0]) == "Title")
        #expect(Self.string(bom.doc.text[1]) == "Body")
    }

    @Test func invalidUTF8() {
        let bytes: [UInt8] = Array("Title\nab".utf8) + [0xFF] + Array("c".utf8)
        let r = Self.parse(bytes)
        #expect(r.error?.column == 9)
        #expect(r.error?.message.contains("invalid UTF-8 at byte 8") == true)
        let lossy = Self.parse(bytes, lossy: true)
        #expect(lossy.error == nil)
        #expect(Self.string(lossy.doc.text[1]) == "ab\u{FFFD}c")
    }

    @Test func storedJSONEscapesPathsAndText() {
        let r = Self.parse("Quote \"this\"\n\ttab\\", path: "dir/we\"ird.txt")
        let stored = StoredDocument(r.doc.stored)
        #expect(stored.text("id") == "dir/we\"ird.txt")
        #expect(stored.text("title") == "Quote \"this\"")
        #expect(stored.text("body") == "\ttab\\")
    }
}

@Suite struct FolderWalkTests {
    @Test func globsLinksLoopsAndSingleFiles() throws {
        let dir = TemporaryDirectory("folder")
        dir.makeDirectory("docs")
        dir.makeDirectory("docs/deep")
        dir.makeDirectory("node_modules")
        writeFile(dir.file("docs/a.md"), Array("# A".utf8))
        writeFile(dir.file("docs/deep/b.md"), Array("# B".utf8))
        writeFile(dir.file("docs/c.txt"), Array("C".utf8))
        writeFile(dir.file("node_modules/x.md"), Array("X".utf8))
        // A link back to the top: the walk does not loop.
        #expect(symlink(dir.path, dir.file("docs/deep/loop")) == 0)
        let all = try TextFolder.list(dir.path).map(\.id)
        #expect(all == ["docs/a.md", "docs/c.txt", "docs/deep/b.md", "node_modules/x.md"])
        let md = try TextFolder.list(dir.path, include: [PathGlob("*.md")], exclude: [PathGlob("node_modules")]).map(\.id)
        #expect(md == ["docs/a.md", "docs/deep/b.md"])
        let anchored = try TextFolder.list(dir.path, include: [PathGlob("docs/*.md")]).map(\.id)
        #expect(anchored == ["docs/a.md"])
        let deep = try TextFolder.list(dir.path, include: [PathGlob("**/b.md")]).map(\.id)
        #expect(deep == ["docs/deep/b.md"])
        // A file given alone is its own list, its id the path as given.
        let one = try TextFolder.list(dir.file("docs/c.txt"))
        #expect(one.map(\.id) == [dir.file("docs/c.txt")])
        #expect(one.first?.size == 1)
    }

    /// The listing on its own thread hands out what `TextFolder.list` finds, in the same order (over more files
    /// than one hand-over holds), its total bytes once it has ended, and a missing folder's error.
    @Test func listerHandsOutTheListingInOrder() throws {
        let dir = TemporaryDirectory("lister")
        for i in 0..<700 {
            let path = dir.file("d\(i % 3)/f\(i).txt")
            makeDirectories(String(path[..<path.lastIndex(of: "/")!]))
            let text = String(repeating: "x", count: i % 17)
            writeFile(path, text)
        }
        let lister = FolderLister(dir.path, include: [], exclude: [PathGlob("d2")])
        var got: [FolderEntry] = []
        while let entry = try lister.next() { got.append(entry) }
        lister.join()
        let expected = try TextFolder.list(dir.path, exclude: [PathGlob("d2")])
        #expect(got.map(\.id) == expected.map(\.id) && got.count == 467)
        #expect(lister.totalBytes == expected.reduce(0) { $0 + $1.size })
        #expect(try lister.next() == nil)
        let missing = FolderLister(dir.file("missing"), include: [], exclude: [])
        do {
            _ = try missing.next()
            Issue.record("a missing folder must be an error")
        } catch {
            #expect(error.path == dir.file("missing"))
        }
        missing.join()
        #expect(missing.totalBytes == nil)
    }

    @Test func binaryFiles() {
        #expect(TextFolder.looksBinary([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00]))
        #expect(!TextFolder.looksBinary(Array("plain text, café".utf8)))
        #expect(!TextFolder.looksBinary([]))
        // Latin-1 prose: many invalid bytes.
        let latin1: [UInt8] = Array(repeating: Array("caf".utf8) + [0xE9, 0x20], count: 50).flatMap { $0 }
        #expect(TextFolder.looksBinary(latin1))
        // One stray byte in a long text is not binary (it is for --lossy or an error to decide).
        var text = Array(String(repeating: "words and more words ", count: 100).utf8)
        text[500] = 0xFF
        #expect(!TextFolder.looksBinary(text))
    }
}
