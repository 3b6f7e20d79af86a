// The TSV parser: the header maps columns to roles, rows unescape \t \n \r \\, and the stored document is the
// row as a JSON object.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct TSVParserTests {
    struct Parsed {
        var doc: Document
        var error: LineError?
    }

    static func parser(_ header: String, schema: Schema = Schema(), lossy: Bool = false, autoID: Bool = false) throws
        -> TSVParser
    {
        var p = TSVParser(schema: schema, lossy: lossy)
        try Array(header.utf8).withUnsafeBufferPointer { try p.parseHeader($0, autoID: autoID) }
        return p
    }

    static func parse(_ parser: inout TSVParser, _ row: [UInt8], autoID: UInt64? = nil) -> Parsed {
        var doc = Document(textFieldCount: 2)
        do {
            try row.withUnsafeBufferPointer { try parser.parse($0, into: &doc, autoID: autoID) }
            return Parsed(doc: doc, error: nil)
        } catch let error as LineError {
            return Parsed(doc: doc, error: error)
        } catch {
            return Parsed(doc: doc, error: LineError(column: -1, message: "unexpected error \(error)"))
        }
    }

    static func parse(_ parser: inout TSVParser, _ row: String, autoID: UInt64? = nil) -> Parsed {
        parse(&parser, Array(row.utf8), autoID: autoID)
    }

    static func string(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func rowsBecomeDocumentsAndJSON() throws {
        var p = try Self.parser("id\tdate\ttitle\tbody\textra\r")
        #expect(p.columns.map(Self.string) == ["id", "date", "title", "body", "extra"])
        #expect(p.hasIDColumn)
        // Real tabs between fields; backslash escapes inside them (an unknown escape is kept as written).
        let row = ["7", "2024-01-02", #"a\tb"#, #"c\nd\\e\rf\x"#, "y"].joined(separator: "\t") + "\r"
        let r = Self.parse(&p, row)
        #expect(r.error == nil)
        #expect(r.doc.idString == "7")
        #expect(r.doc.date == 1_704_153_600)
        #expect(Self.string(r.doc.text[0]) == "a\tb")
        #expect(Self.string(r.doc.text[1]) == "c\nd\\e\rf\\x")
        #expect(r.doc.valueEnds == [[3], [9]])
        #expect(
            Self.string(r.doc.stored)
                == #"{"id":"7","date":"2024-01-02","title":"a\tb","body":"c\nd\\e\rf\\x","extra":"y"}"#)
        // The stored JSON is valid and round-trips through the JSON parser.
        #expect(StoredDocument(r.doc.stored).text("body") == "c\nd\\e\rf\\x")
    }

    @Test func emptyFieldsAndColumnOrder() throws {
        var p = try Self.parser("body\tid\tdate")
        let r = Self.parse(&p, "\tx\t")
        #expect(r.error == nil)
        #expect(r.doc.idString == "x")
        #expect(r.doc.date == nil)
        #expect(r.doc.text[0].isEmpty)
        #expect(r.doc.valueEnds[0].isEmpty, "no title column: no value")
        #expect(r.doc.valueEnds[1] == [0])
        #expect(Self.string(r.doc.stored) == #"{"body":"","id":"x","date":""}"#)
    }

    @Test func autoID() throws {
        // Without --auto-id, a header with no id column is refused at the header (line 1), not at the first row.
        do {
            _ = try Self.parser("title\tbody")
            Issue.record("a header without an id column was accepted")
        } catch let error as LineError {
            #expect(error.column == 1)
            #expect(error.message.contains("--auto-id"))
        }
        var p = try Self.parser("title\tbody", autoID: true)
        #expect(!p.hasIDColumn)
        let missing = Self.parse(&p, "a\tb")
        #expect(missing.error?.message.contains("--auto-id") == true)
        let r = Self.parse(&p, "a\tb", autoID: 12)
        #expect(r.error == nil)
        #expect(r.doc.idString == "12")
        #expect(Self.string(r.doc.stored) == #"{"id":12,"title":"a","body":"b"}"#)
    }

    @Test func headerNamesIgnoreCase() throws {
        var p = try Self.parser("Id\tTITLE\tBody\tDate\tNotes")
        let r = Self.parse(&p, "x1\tThe title\tThe body\t2024-01-02\tkept")
        #expect(r.error == nil)
        #expect(r.doc.idString == "x1")
        #expect(Self.string(r.doc.text[0]) == "The title")
        #expect(Self.string(r.doc.text[1]) == "The body")
        #expect(r.doc.date == 1_704_153_600)
        do {
            _ = try Self.parser("id\tID\tbody")
            Issue.record("two id columns were accepted")
        } catch let error as LineError {
            #expect(error.message.contains("name the same field"))
        }
    }

    @Test func headerErrors() {
        for (header, message) in [
            ("id\t\tbody", "header column 2 has no name"), ("id\tbody\tid", "header column 'id' appears twice"),
            ("", "header column 1 has no name"),
        ] {
            #expect(throws: LineError.self) { _ = try Self.parser(header) }
            do {
                _ = try Self.parser(header)
            } catch {
                #expect((error as? LineError)?.message == message)
            }
        }
    }

    @Test(arguments: [
        ("1\ta", 1, "expected 3 tab-separated fields (as the header has), found 2"),
        ("1\ta\tb\tc", 1, "found 4"),
        ("\ta\tb", 1, "the id is empty"),
        ("1\tnot a date\tb", 3, "cannot parse the date 'not a date'"),
    ])
    func rowErrors(_ row: String, _ column: Int, _ message: String) throws {
        var p = try Self.parser("id\tdate\tbody")
        let r = Self.parse(&p, row)
        #expect(r.error?.column == column)
        #expect(r.error?.message.contains(message) == true, "\(r.error?.message ?? "no error")")
    }

    @Test func invalidUTF8IsAnErrorOrRepaired() throws {
        var p = try Self.parser("id\tbody")
        let row: [UInt8] = Array("1\tcaf".utf8) + [0xE9, 0x21]
        let r = Self.parse(&p, row)
        #expect(r.error?.column == 6)
        #expect(r.error?.message.contains("invalid UTF-8 (byte 0xe9)") == true)
        var lossy = try Self.parser("id\tbody", lossy: true)
        let repaired = Self.parse(&lossy, row)
        #expect(repaired.error == nil)
        #expect(Self.string(repaired.doc.text[1]) == "caf\u{FFFD}!")
        #expect(StoredDocument(repaired.doc.stored).text("body") == "caf\u{FFFD}!")
    }

    @Test func extraTextFieldsByName() throws {
        let schema = Schema(extraTextFields: ["notes"])
        var p = try Self.parser("notes\tid\ttitle", schema: schema)
        var doc = Document(textFieldCount: 3)
        try Array("n1\t5\tt1".utf8).withUnsafeBufferPointer { try p.parse($0, into: &doc, autoID: nil) }
        #expect(Self.string(doc.text[0]) == "t1")
        #expect(doc.text[1].isEmpty)
        #expect(Self.string(doc.text[2]) == "n1")
    }
}
