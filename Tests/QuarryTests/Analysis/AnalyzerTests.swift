// The analyzers: text in NFD gives the terms of its NFC form; the quick NFC check; accent folding (`fold`) and
// folding then stemming (`en_fold`); the analyzer names; the folding table's own promises (never longer, idempotent,
// letters and digits only); and folding at work in an index and in query patterns.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite("Analyzers")
struct AnalyzerTests {
    static func terms(_ kind: AnalyzerKind, _ text: String) -> [String] {
        var analyzer = Analyzer(kind)
        return analyzer.terms(text).map { String(decoding: $0.term, as: UTF8.self) }
    }

    static func needsNFC(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBufferPointer { Analyzer.needsNFC($0) }
    }

    /// (NFC, NFD or another canonically equivalent spelling), written with escapes so that the bytes are exact.
    static let equivalents: [(nfc: String, other: String)] = [
        ("Ib\u{E1}\u{F1}ez", "Iba\u{301}n\u{303}ez"),
        ("Cr\u{E8}me br\u{FB}l\u{E9}e", "Cre\u{300}me bru\u{302}le\u{301}e"),
        // Vietnamese: ế is e + circumflex + acute; ệ is e + dot below + circumflex (marks in either order).
        ("Ti\u{1EBF}ng Vi\u{1EC7}t", "Tie\u{302}\u{301}ng Vie\u{323}\u{302}t"),
        ("Ti\u{1EBF}ng Vi\u{1EC7}t", "Tie\u{302}\u{301}ng Vie\u{302}\u{323}t"),
        // Korean: conjoining jamo compose into syllables (한국어).
        ("\u{D55C}\u{AD6D}\u{C5B4}", "\u{1112}\u{1161}\u{11AB}\u{1100}\u{116E}\u{11A8}\u{110B}\u{1165}"),
        // Greek with a tonos, Cyrillic й (и + breve), a Kelvin sign (a singleton: K).
        ("\u{3AC}\u{3B8}\u{3AE}\u{3BD}\u{3B1}", "\u{3B1}\u{301}\u{3B8}\u{3B7}\u{301}\u{3BD}\u{3B1}"),
        ("\u{439}\u{43E}\u{433}\u{430}", "\u{438}\u{306}\u{43E}\u{433}\u{430}"),
        ("5 K", "5 \u{212A}"),
    ]

    @Test("text in NFD (or another equivalent spelling) gives the terms of its NFC form, with every analyzer")
    func nfdGivesNFCTerms() {
        for (nfc, other) in AnalyzerTests.equivalents {
            #expect(Array(nfc.utf8) != Array(other.utf8), "the test's spellings differ in bytes")
            for kind in AnalyzerKind.allCases {
                let a = AnalyzerTests.terms(kind, nfc)
                let b = AnalyzerTests.terms(kind, other)
                #expect(a == b, "\(kind): \(nfc.debugDescription) gives \(a), \(other.debugDescription) gives \(b)")
                #expect(!a.isEmpty)
            }
            #expect(Analyzer.normalizeNFC(Array(other.utf8)) == Array(nfc.utf8), "\(other.debugDescription)")
        }
        #expect(AnalyzerTests.terms(.standard, "Iba\u{301}n\u{303}ez") == ["ib\u{E1}\u{F1}ez"])
        #expect(AnalyzerTests.terms(.standard, "\u{1112}\u{1161}\u{11AB}") == ["\u{D55C}"])
    }

    @Test("the quick check: NFC text of most scripts needs no normalization; combining marks and jamo do")
    func quickCheck() {
        for text in [
            "", "plain ASCII text, 123!", "caf\u{E9} na\u{EF}ve Stra\u{DF}e \u{C6}r\u{F8}",
            "\u{43C}\u{43E}\u{441}\u{43A}\u{432}\u{430}",
            "\u{3AC}\u{3B8}\u{3AE}\u{3BD}\u{3B1}", "\u{4E2D}\u{6587}", "\u{D55C}\u{AD6D}\u{C5B4}",
            "\u{FF26}\u{FF55}\u{FF4C}\u{FF4C}",
            "\u{1F600}",
        ] {
            #expect(!AnalyzerTests.needsNFC(text), "\(text.debugDescription) is NFC already")
            #expect(Analyzer.normalizeNFC(Array(text.utf8)) == Array(text.utf8))
        }
        for (_, other) in AnalyzerTests.equivalents {
            #expect(AnalyzerTests.needsNFC(other), "\(other.debugDescription) needs NFC")
        }
        #expect(AnalyzerTests.needsNFC("e\u{301}"))
        #expect(AnalyzerTests.needsNFC("\u{1161}"), "a jamo vowel alone")
        // A false alarm costs a normalization only: the result is still right.
        #expect(Analyzer.normalizeNFC(Array("q\u{301}".utf8)) == Array("q\u{301}".utf8), "no precomposed q with acute")
    }

    @Test("fold: accents and letter variants to ASCII, ligatures spelled out, fullwidth to ASCII, CJK unchanged")
    func folding() {
        for (input, expected) in [
            ("\u{E9}t\u{E9}", ["ete"]), ("Stra\u{DF}e", ["strasse"]), ("\u{F8}re", ["ore"]),
            ("\u{C6}r\u{F8}", ["aero"]),
            ("\u{FF26}\u{FF55}\u{FF4C}\u{FF4C}", ["full"]), ("\u{4E2D}\u{6587}", ["\u{4E2D}\u{6587}"]),
            ("W\u{FC}rttemberg", ["wurttemberg"]), ("Crème Brûlée", ["creme", "brulee"]),
            ("\u{141}\u{F3}d\u{17A}", ["lodz"]),
            ("\u{FB01}sh", ["fish"]), ("Z\u{F6}e", ["zoe"]),
            ("\u{3AC}\u{3B8}\u{3AE}\u{3BD}\u{3B1}", ["\u{3B1}\u{3B8}\u{3B7}\u{3BD}\u{3B1}"]),
            ("x\u{B2}", ["x2"]), ("\u{D55C}\u{AD6D}\u{C5B4}", ["\u{D55C}\u{AD6D}\u{C5B4}"]), ("plain", ["plain"]),
            ("Iba\u{301}n\u{303}ez", ["ibanez"]),
        ] {
            #expect(AnalyzerTests.terms(.folding, input) == expected, "\(input.debugDescription)")
        }
        // The default analyzer keeps the accents.
        #expect(
            AnalyzerTests.terms(.standard, "W\u{FC}rttemberg \u{C6}r\u{F8}") == ["w\u{FC}rttemberg", "\u{E6}r\u{F8}"])
    }

    @Test("İ lowercases to i and a combining dot: with fold, İstanbul is istanbul")
    func dottedCapitalI() {
        // The tokenizer lowercases İ (U+0130) to i + U+0307 before folding sees it; the table's entry for İ is then
        // never used, and the combining dot stays in the term unless folding strips it.
        #expect(AnalyzerTests.terms(.folding, "\u{130}stanbul") == ["istanbul"])
        #expect(AnalyzerTests.terms(.folding, "\u{130}stanbul") == AnalyzerTests.terms(.folding, "istanbul"))
    }

    @Test("en_fold folds, then stems")
    func englishFolding() {
        #expect(AnalyzerTests.terms(.englishFolding, "Caf\u{E9}s") == ["cafe"])
        #expect(AnalyzerTests.terms(.englishFolding, "na\u{EF}vely running Caf\u{E9}s") == ["naiv", "run", "cafe"])
        #expect(AnalyzerTests.terms(.english, "Caf\u{E9}s") == ["caf\u{E9}"])
        #expect(AnalyzerTests.terms(.folding, "Caf\u{E9}s") == ["cafes"])
    }

    @Test(
        "analyzer names",
        arguments: [
            ("default", AnalyzerKind.standard as AnalyzerKind?), ("standard", .standard), ("en", .english),
            ("english", .english), ("fold", .folding), ("ascii", .folding), ("FOLD", .folding),
            ("en+fold", .englishFolding),
            ("fold,en", .englishFolding), ("fold+en", .englishFolding), ("en_fold", .englishFolding),
            ("english+ascii", .englishFolding), ("en fold", .englishFolding), ("fold+fold+x", nil), ("klingon", nil),
            ("en+de", nil), ("", nil), ("fold+ascii", nil),
        ])
    func names(_ name: String, _ kind: AnalyzerKind?) {
        #expect(AnalyzerKind(name: name) == kind, "'\(name)'")
    }

    @Test("the folding table: never longer than its scalar, idempotent, lowercase letters and digits only")
    func foldingTable() {
        var checked = 0
        for v in FoldingTable.keys {
            guard let scalar = Unicode.Scalar(v), let range = FoldingTable.folded(v) else {
                Issue.record("key \(String(v, radix: 16)) has no folding")
                continue
            }
            let out = Array(FoldingTable.bytes[range])
            let name = "U+\(String(v, radix: 16, uppercase: true))"
            #expect(out.count <= String(scalar).utf8.count, "\(name) folds longer: \(out)")
            #expect(!out.isEmpty, "\(name) folds to nothing")
            let text = String(decoding: out, as: UTF8.self)
            for s in text.unicodeScalars {
                #expect(FoldingTable.folded(s.value) == nil, "\(name) folds to \(text), which folds again")
                #expect(UnicodeTables.isAlphanumericDirect(s.value), "\(name) folds to \(text): not a letter or digit")
            }
            #expect(text.lowercased() == text, "\(name) folds to \(text), not lowercase")
            checked += 1
        }
        #expect(checked > 1000)
        // In place, several scalars of different lengths in one token: the token folds as its scalars do one by one.
        let scalars = FoldingTable.keys.compactMap(Unicode.Scalar.init).filter { $0.properties.isLowercase }
        var k = 0
        while k < scalars.count {
            let chunk = Array(scalars[k..<min(k + 8, scalars.count)])
            k += 8
            let token = String(String.UnicodeScalarView(chunk))
            let one = chunk.map { AnalyzerTests.terms(.folding, String($0)).joined() }.joined()
            #expect(AnalyzerTests.terms(.folding, token) == [one], "\(token.debugDescription)")
        }
    }

    @Test("an index built with fold finds Württemberg by wurttemberg; a default index does not")
    func foldingIndex() throws {
        let dir = TemporaryDirectory("analyzer-fold")
        func build(_ kind: AnalyzerKind) throws -> Searcher {
            let path = dir.path + "/\(kind.rawValue)"
            let writer = try IndexWriter(directory: path, schema: Schema(analyzer: kind), options: testIndexOptions())
            try writer.add(
                id: "w", fields: ["title": "W\u{FC}rttemberg", "body": "Stuttgart is the capital of W\u{FC}rttemberg."])
            try writer.add(
                id: "i",
                fields: ["title": "Ib\u{E1}\u{F1}ez", "body": "Cre\u{300}me bru\u{302}le\u{301}e (written in NFD)"])
            try writer.add(id: "o", fields: ["title": "Other", "body": "Wurst and Wut"])
            try writer.commit()
            writer.close()
            return Searcher(reader: try IndexReader(directory: path))
        }
        let fold = try build(.folding)
        let plain = try build(.standard)
        func ids(_ searcher: Searcher, _ text: String) throws -> [String] {
            var parser = QueryParser(schema: searcher.reader.schema)
            let hits = try searcher.search(try parser.parse(text), limit: 10).hits
            return try hits.map {
                StoredDocument(try searcher.reader.storedDocument(segment: $0.segment, doc: $0.doc)).text("id") ?? ""
            }.sorted()
        }
        // Words.
        #expect(try ids(fold, "wurttemberg") == ["w"])
        #expect(try ids(fold, "W\u{DC}RTTEMBERG") == ["w"])
        #expect(try ids(plain, "wurttemberg") == [])
        #expect(try ids(plain, "w\u{FC}rttemberg") == ["w"])
        // NFD queries find NFC text and the other way round, with both analyzers.
        for s in [fold, plain] {
            #expect(try ids(s, "Iba\u{301}n\u{303}ez") == ["i"])
            #expect(try ids(s, "\"cr\u{E8}me br\u{FB}l\u{E9}e\"") == ["i"])
        }
        #expect(try ids(fold, "creme brulee") == ["i"])
        // Patterns are normalized as the index's terms are: lowercased, folded, not stemmed.
        #expect(try ids(fold, "W\u{DC}RT*") == ["w"])
        #expect(try ids(fold, "wurt*") == ["w"])
        #expect(try ids(plain, "W\u{DC}RT*") == ["w"])
        #expect(try ids(plain, "wurt*") == [])
        #expect(try ids(fold, "w?rttemberg") == ["w"])
        #expect(try ids(fold, "W\u{DC}RTEMBERG~1") == ["w"])
        #expect(try ids(fold, "title:[wurst TO wurz]") == ["w"])
        #expect(try ids(fold, "\"capital of W\u{FC}rt*\"") == ["w"])
        #expect(try ids(fold, "Iba\u{301}*") == ["i"])
        #expect(try ids(plain, "Iba\u{301}*") == ["i"])
        #expect(try ids(fold, "wu*") == ["o", "w"])
    }

    @Test("en_fold in an index: folded and stemmed terms, prefixes folded but not stemmed")
    func englishFoldingIndex() throws {
        let dir = TemporaryDirectory("analyzer-enfold")
        let path = dir.path + "/idx"
        let writer = try IndexWriter(
            directory: path, schema: Schema(analyzer: .englishFolding), options: testIndexOptions())
        try writer.add(id: "c", fields: ["title": "Caf\u{E9}s of Z\u{FC}rich", "body": "running cafés"])
        try writer.commit()
        writer.close()
        let searcher = Searcher(reader: try IndexReader(directory: path))
        var parser = QueryParser(schema: searcher.reader.schema)
        for text in [
            "cafe", "caf\u{E9}", "CAFES", "zurich", "run", "runs", "CAF\u{C9}*", "title:caf?", "cafes~1", "z\u{FC}r*",
        ] {
            #expect(try searcher.count(try parser.parse(text)) == 1, "'\(text)'")
        }
        // A pattern is not stemmed: "running" and "Cafés" are indexed as "run" and "cafe".
        #expect(try searcher.count(try parser.parse("runni*")) == 0)
        #expect(try searcher.count(try parser.parse("cafes*")) == 0)
    }
}
