// The JSON Lines parser: fields by role, escapes, ids, dates, arrays, the stored bytes, and every error with its
// 1-based byte column.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct JSONLineParserTests {
    static let schema = Schema()

    struct Parsed {
        var doc: Document
        var error: LineError?
    }

    static func parse(_ line: [UInt8], lossy: Bool = false, autoID: UInt64? = nil, schema: Schema = schema) -> Parsed {
        var parser = JSONLineParser(schema: schema, lossy: lossy)
        var doc = Document(textFieldCount: schema.textFields.count)
        do {
            try line.withUnsafeBufferPointer { try parser.parse($0, into: &doc, autoID: autoID) }
            return Parsed(doc: doc, error: nil)
        } catch let error as LineError {
            return Parsed(doc: doc, error: error)
        } catch {
            return Parsed(doc: doc, error: LineError(column: -1, message: "unexpected error \(error)"))
        }
    }

    static func parse(_ line: String, lossy: Bool = false, autoID: UInt64? = nil) -> Parsed {
        parse(Array(line.utf8), lossy: lossy, autoID: autoID)
    }

    static func text(_ doc: Document, _ field: Int) -> String { String(decoding: doc.text[field], as: UTF8.self) }

    // MARK: Valid lines

    @Test func fieldsEscapesAndTheStoredBytes() throws {
        let line =
            #"  {"id":"a1", "title":"Line\nbreak \"quoted\" caf\u00e9 \ud83d\ude00 \/ \\ \t\b\f\r", "body":"plain", "extra":{"x":[1,-2.5e-3,true,false,null,"s"]}}  "#
        let p = Self.parse(line)
        #expect(p.error == nil)
        #expect(p.doc.idString == "a1")
        #expect(Self.text(p.doc, 0) == "Line\nbreak \"quoted\" café 😀 / \\ \t\u{8}\u{C}\r")
        #expect(p.doc.valueEnds[0] == [p.doc.text[0].count])
        #expect(Self.text(p.doc, 1) == "plain")
        #expect(p.doc.date == nil)
        // The stored document is the object itself, without the surrounding whitespace.
        #expect(String(decoding: p.doc.stored, as: UTF8.self) == line.trimmingSpaces)
    }

    @Test(arguments: [
        (#"{"id":42}"#, "42"), (#"{"id":-7}"#, "-7"), (#"{"id":0}"#, "0"), (#"{"id":"x y"}"#, "x y"),
        (#"{"id":"\u00e9"}"#, "é"), (#"{"id":12345678901234567890123}"#, "12345678901234567890123"),
    ])
    func ids(_ line: String, _ expected: String) {
        let p = Self.parse(line)
        #expect(p.error == nil)
        #expect(p.doc.idString == expected)
    }

    @Test(arguments: [
        (#"{"id":1,"date":1700000000}"#, Int64(1_700_000_000) as Int64?),
        (#"{"id":1,"date":-5}"#, -5), (#"{"id":1,"date":0}"#, 0),
        (#"{"id":1,"date":"2024-01-02"}"#, 1_704_153_600), (#"{"id":1,"date":"1970-01-01T00:00:01Z"}"#, 1),
        (#"{"id":1,"date":"Tue, 09 Nov 1994 11:02:01 GMT"}"#, 784_378_921),
        (#"{"id":1,"date":null}"#, nil), (#"{"id":1,"date":""}"#, nil), (#"{"id":1,"date":"   "}"#, nil),
        (#"{"id":1}"#, nil),
        // Milliseconds since 1970 (12 digits or more) are read as such: 1700000000123 ms is 1700000000 s.
        (#"{"id":1,"date":1700000000123}"#, 1_700_000_000), (#"{"id":1,"date":99999999999}"#, 99_999_999_999),
        (#"{"id":1,"date":100000000000}"#, 100_000_000), (#"{"id":1,"date":-100000000001}"#, -100_000_001),
    ])
    func dates(_ line: String, _ expected: Int64?) {
        let p = Self.parse(line)
        #expect(p.error == nil, "\(String(describing: p.error))")
        #expect(p.doc.date == expected)
    }

    @Test func nullsAndArraysOfStrings() {
        let p = Self.parse(#"{"id":"a","title":null,"body":["one", "two" ,null, "", "three"]}"#)
        #expect(p.error == nil)
        #expect(p.doc.text[0].isEmpty)
        #expect(p.doc.valueEnds[0].isEmpty)
        #expect(Self.text(p.doc, 1) == "onetwothree")
        #expect(p.doc.valueEnds[1] == [3, 6, 6, 11])
        let empty = Self.parse(#"{"id":"a","body":[]}"#)
        #expect(empty.error == nil)
        #expect(empty.doc.valueEnds[1].isEmpty)
    }

    @Test func extraTextFieldsAndRenamedFields() {
        let schema = Schema(
            idField: "key", dateField: "when", titleField: "head", bodyField: "text", extraTextFields: ["tags"])
        let p = Self.parse(
            Array(
                #"{"text":"b","key":9,"when":"2020-01-01","head":"h","tags":["x","y"],"id":"ignored","body":5}"#.utf8),
            schema: schema)
        #expect(p.error == nil)
        #expect(p.doc.idString == "9")
        #expect(p.doc.date == 1_577_836_800)
        #expect(Self.text(p.doc, 0) == "h")
        #expect(Self.text(p.doc, 1) == "b")
        #expect(Self.text(p.doc, 2) == "xy")
    }

    @Test func theParserResetsTheDocument() throws {
        var parser = JSONLineParser(schema: Self.schema, lossy: false)
        var doc = Document(textFieldCount: 2)
        let first = Array(#"{"id":"a","title":"t","body":["x","y"],"date":5}"#.utf8)
        let second = Array(#"{"id":"b"}"#.utf8)
        try first.withUnsafeBufferPointer { try parser.parse($0, into: &doc, autoID: nil) }
        try second.withUnsafeBufferPointer { try parser.parse($0, into: &doc, autoID: nil) }
        #expect(doc.idString == "b")
        #expect(doc.date == nil)
        #expect(doc.text == [[], []])
        #expect(doc.valueEnds == [[], []])
        #expect(doc.stored == second)
    }

    // MARK: --auto-id

    @Test(arguments: [
        (#"{"title":"x"}"#, #"{"id":7,"title":"x"}"#), (#"{}"#, #"{"id":7}"#), (#"{ }"#, #"{"id":7 }"#),
        (#" {"body":"b","date":1} "#, #"{"id":7,"body":"b","date":1}"#),
    ])
    func autoIDSplicesTheIdIntoTheStoredJSON(_ line: String, _ stored: String) {
        let p = Self.parse(line, autoID: 7)
        #expect(p.error == nil)
        #expect(p.doc.idString == "7")
        #expect(String(decoding: p.doc.stored, as: UTF8.self) == stored)
        // The stored JSON parses and holds the id.
        #expect(StoredDocument(p.doc.stored).text("id") == "7")
        // A document that has an id keeps it.
        let own = Self.parse(#"{"id":"mine"}"#, autoID: 7)
        #expect(own.doc.idString == "mine")
        #expect(String(decoding: own.doc.stored, as: UTF8.self) == #"{"id":"mine"}"#)
    }

    // MARK: Errors

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var line: [UInt8]
        var column: Int
        var message: String
        var testDescription: String { String(decoding: line, as: UTF8.self).debugDescription }
        init(_ line: String, _ column: Int, _ message: String) {
            self.init(Array(line.utf8), column, message)
        }
        init(_ line: [UInt8], _ column: Int, _ message: String) {
            self.line = line
            self.column = column
            self.message = message
        }
    }

    static let errors: [ErrorCase] = [
        ErrorCase("", 1, "empty line"),
        ErrorCase("[1]", 1, "expected a JSON object"),
        ErrorCase(#"{"id":"a",}"#, 11, "expected a field name"),
        ErrorCase(#"{"id" "a"}"#, 7, "expected ':'"),
        ErrorCase(#"{"id":"a"} x"#, 12, "unexpected text after the JSON object"),
        ErrorCase(#"{"id":"a"}}"#, 11, "unexpected text after the JSON object"),
        ErrorCase(#"{"id":"a" "b":1}"#, 11, "expected ',' or '}'"),
        ErrorCase(#"{"id":"a""#, 10, "the object is not closed"),
        ErrorCase(#"{"title":"x"}"#, 1, "no 'id' field (use --auto-id"),
        ErrorCase(#"{"id":1.5}"#, 7, "the id must be a string or an integer"),
        ErrorCase(#"{"id":true}"#, 7, "the id must be a string or an integer"),
        ErrorCase(#"{"id":""}"#, 7, "the id is an empty string"),
        ErrorCase(#"{"id":"a","body":5}"#, 18, "the field 'body' must be a string"),
        ErrorCase(#"{"id":"a","title":{"x":1}}"#, 19, "the field 'title' must be a string"),
        ErrorCase(#"{"id":"a","body":["x",1]}"#, 23, "a text field's array may hold only strings"),
        ErrorCase(#"{"id":"a","date":"yesterday"}"#, 18, "cannot parse the date 'yesterday'"),
        ErrorCase(#"{"id":"a","date":1.5}"#, 18, "a numeric date must be an integer"),
        ErrorCase(#"{"id":"a","date":99999999999999999999}"#, 18, "a numeric date must be an integer"),
        ErrorCase(#"{"id":"a","date":true}"#, 18, "the date must be a string or a number"),
        ErrorCase(#"{"id":"a","id":"b"}"#, 11, "field 'id' appears twice"),
        ErrorCase(#"{"id":"a","body":"x","body":"y"}"#, 22, "field 'body' appears twice"),
        ErrorCase(#"{"id":"a","x":tru}"#, 15, "invalid literal"),
        ErrorCase(#"{"id":"a","x":01}"#, 16, "expected ',' or '}'"),
        ErrorCase(#"{"id":"a","x":1.}"#, 17, "digits must follow '.'"),
        ErrorCase(#"{"id":"a","x":-}"#, 16, "invalid number"),
        ErrorCase(#"{"id":"a","x":'s'}"#, 15, "unexpected character"),
        ErrorCase(#"{"id":"a","x":"\x"}"#, 16, #"invalid escape sequence '\x'"#),
        ErrorCase(#"{"id":"a","x":"\u12G4"}"#, 20, "invalid hex digit"),
        ErrorCase(#"{"id":"a","x":"\ud800"}"#, 16, "unpaired UTF-16 surrogate"),
        ErrorCase(#"{"id":"a","x":"\udc00\ud800"}"#, 16, "unpaired UTF-16 surrogate"),
        ErrorCase(#"{"id":"a","x":"abc"#, 15, "the string is not closed"),
        ErrorCase("{\"id\":\"a\",\"body\":\"tab\there\"}", 22, "control character (byte 0x9)"),
        ErrorCase(
            [UInt8](#"{"id":"a","body":"caf"#.utf8) + [0xE9] + Array(#""}"#.utf8), 22, "invalid UTF-8 (byte 0xe9)"),
        ErrorCase(
            [UInt8](#"{"id":"a","body":"x"#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8), 20, "invalid UTF-8"),
        ErrorCase(
            [UInt8](#"{"id":"a","body":"x"#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(#""}"#.utf8), 20, "invalid UTF-8"),
        ErrorCase([UInt8](#"{"id":"a","x":"x"#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8), 17, "invalid UTF-8"),
        ErrorCase(
            #"{"id":"a","x":"# + String(repeating: "[", count: 257) + String(repeating: "]", count: 257) + "}", 271,
            "nested too deeply"),
        ErrorCase(#"{"id":"a","x":1"# + String(repeating: "0", count: 400) + "}", 15, "number too long"),
    ]

    @Test(arguments: errors)
    func errorsNameTheirColumn(_ c: ErrorCase) {
        let p = Self.parse(c.line)
        let error = p.error
        #expect(error != nil)
        #expect(error?.column == c.column, "\(error?.message ?? "no error")")
        #expect(error?.message.contains(c.message) == true, "message: \(error?.message ?? "none")")
    }

    @Test func nestingUpToTheLimitIsAccepted() {
        let line = #"{"id":"a","x":"# + String(repeating: "[", count: 256) + String(repeating: "]", count: 256) + "}"
        #expect(Self.parse(line).error == nil)
        // The limit counts values, the innermost scalar included: 255 objects around a number is 256 deep.
        func objects(_ n: Int) -> String {
            #"{"id":"a","x":"# + String(repeating: #"{"k":"#, count: n) + "1" + String(repeating: "}", count: n) + "}"
        }
        #expect(Self.parse(objects(255)).error == nil)
        #expect(Self.parse(objects(256)).error?.message.contains("nested too deeply") == true)
    }

    @Test func lossyRepairsStringsButNotSyntax() {
        let bad: [UInt8] = Array(#"{"id":"a","body":"caf"#.utf8) + [0xE9] + Array(#" \ud800x","other":"\udfff"}"#.utf8)
        let p = Self.parse(bad, lossy: true)
        #expect(p.error == nil)
        #expect(Self.text(p.doc, 1) == "caf\u{FFFD} \u{FFFD}x")
        // Syntax errors stay errors.
        #expect(Self.parse(#"{"id":"a","body":"x"#, lossy: true).error != nil)
    }

    // MARK: Round trips

    @Test func randomStringsRoundTripThroughEscaping() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x1505_0001)
        let scalars: [Unicode.Scalar] = [
            "a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "é", "日", "😀",
            "\u{FFFF}", "\u{10000}", "\u{10FFFF}", "\u{2028}",
        ]
        for _ in 0..<300 {
            var s = ""
            for _ in 0..<Int.random(in: 0...40, using: &rng) {
                s.unicodeScalars.append(scalars.randomElement(using: &rng)!)
            }
            let escapeUnicode = rng.chance(0.5)
            let line = #"{"id":"r","body":"# + jsonString(s, escapeUnicode: escapeUnicode) + "}"
            let p = Self.parse(line)
            #expect(p.error == nil, "\(line.debugDescription), \(rng.seedDescription)")
            #expect(Self.text(p.doc, 1) == s, "\(line.debugDescription), \(rng.seedDescription)")
            // The engine's own escaping round-trips too.
            var encoded: [UInt8] = Array(#"{"id":"r","body":"#.utf8)
            appendJSONString(Array(s.utf8), to: &encoded)
            encoded.append(UInt8(ascii: "}"))
            let q = Self.parse(encoded)
            #expect(q.error == nil, "\(rng.seedDescription)")
            #expect(Self.text(q.doc, 1) == s, "\(rng.seedDescription)")
        }
    }

    @Test func theRandomCorpusParsesToItsModel() {
        let corpus = RandomCorpus(count: 300, seed: 0x1505_0002)
        for d in corpus.documents {
            let p = Self.parse(d.line)
            #expect(p.error == nil, "\(d.line)")
            #expect(p.doc.idString == d.id)
            #expect(p.doc.date == d.date, "\(d.line)")
            #expect(Self.text(p.doc, 0) == (d.title ?? ""))
            #expect(p.doc.valueEnds[0].count == (d.title == nil ? 0 : 1))
            #expect(Self.text(p.doc, 1) == d.body.joined())
            #expect(p.doc.valueEnds[1].count == d.body.count)
            #expect(String(decoding: p.doc.stored, as: UTF8.self) == d.line)
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
