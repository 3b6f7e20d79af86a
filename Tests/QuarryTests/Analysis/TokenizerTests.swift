// The tokenizer: a table of inputs with their tokens (term, position, byte range), with and without the BMP
// tables, and random text against the naive model in QuarryTestSupport.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct TokenizerTests {
    typealias Token = NaiveAnalyzer.Token

    static func tokenize(_ bytes: [UInt8], useTables: Bool) -> (tokens: [Token], positions: Int) {
        var tokenizer = Tokenizer(useTables: useTables)
        var tokens: [Token] = []
        let positions = bytes.withUnsafeBufferPointer { buf in
            tokenizer.tokenize(buf) { term, position, start, end in
                tokens.append(Token(term: Array(term), position: position, start: start, end: end))
            }
        }
        return (tokens, positions)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var input: String
        var tokens: [Token]
        var positions: Int
        var testDescription: String { input.debugDescription }
        init(_ input: String, _ tokens: [Token], positions: Int? = nil) {
            self.input = input
            self.tokens = tokens
            self.positions = positions ?? (tokens.last.map { $0.position + 1 } ?? 0)
        }
    }

    static let a39 = String(repeating: "a", count: 39)
    static let a40 = String(repeating: "a", count: 40)

    static let cases: [Case] = [
        Case("", []),
        Case("   \t\n ", []),
        Case("Hello, World!", [Token("hello", 0, 0, 5), Token("world", 1, 7, 12)]),
        Case("tax-payer", [Token("tax", 0, 0, 3), Token("payer", 1, 4, 9)]),
        Case("don't", [Token("don", 0, 0, 3), Token("t", 1, 4, 5)]),
        Case("3.14", [Token("3", 0, 0, 1), Token("14", 1, 2, 4)]),
        Case("x_y", [Token("x", 0, 0, 1), Token("y", 1, 2, 3)]),
        Case("ABC123def", [Token("abc123def", 0, 0, 9)]),
        Case("Straße", [Token("straße", 0, 0, 7)]),
        Case("İstanbul", [Token("i\u{307}stanbul", 0, 0, 9)]),
        Case("ΣΑΣ", [Token("σασ", 0, 0, 6)]),
        Case("cafe\u{0301}", [Token("cafe", 0, 0, 4)]),
        Case("café", [Token("café", 0, 0, 5)]),
        Case("日本語テキスト", [Token("日本語テキスト", 0, 0, 21)]),
        Case("a😀b", [Token("a", 0, 0, 1), Token("b", 1, 5, 6)]),
        Case("😀😀", []),
        Case("Ⅻ ١٢٣ ½", [Token("ⅻ", 0, 0, 3), Token("١٢٣", 1, 4, 10), Token("½", 2, 11, 13)]),
        Case("𐐀𐐨 𝐀", [Token("𐐨𐐨", 0, 0, 8), Token("𝐀", 1, 9, 13)]),
        Case("ǅemal", [Token("ǆemal", 0, 0, 6)]),
        Case("naïve—café", [Token("naïve", 0, 0, 6), Token("café", 1, 9, 14)]),
        Case(a39, [Token(a39, 0, 0, 39)]),
        Case(a40, [], positions: 1),
        Case("x \(a40) y", [Token("x", 0, 0, 1), Token("y", 2, 43, 44)]),
        Case("x \(String(repeating: "é", count: 20)) y", [Token("x", 0, 0, 1), Token("y", 2, 43, 44)]),
        Case("\(String(repeating: "é", count: 19))!", [Token(String(repeating: "é", count: 19), 0, 0, 38)]),
        // Measured before lowercasing: 20 × "İ" is 40 bytes (dropped) though its lowercase would be 60.
        Case(String(repeating: "İ", count: 20), [], positions: 1),
        Case(String(repeating: "İ", count: 19), [Token(String(repeating: "i\u{307}", count: 19), 0, 0, 38)]),
    ]

    @Test(arguments: cases, [true, false])
    func tokens(_ c: Case, useTables: Bool) {
        let (tokens, positions) = Self.tokenize(Array(c.input.utf8), useTables: useTables)
        #expect(tokens == c.tokens)
        #expect(positions == c.positions)
        // The naive model agrees with the table.
        let model = NaiveAnalyzer.tokenize(c.input)
        #expect(model.tokens == c.tokens)
        #expect(model.positions == c.positions)
    }

    @Test(arguments: [true, false])
    func invalidBytesAreSeparators(useTables: Bool) {
        let (tokens, positions) = Self.tokenize(
            [0x61, 0xFF, 0x62, 0xC3, 0x63, 0xE2, 0x82, 0x64, 0xF0, 0x9F, 0x98], useTables: useTables)
        #expect(tokens == [Token("a", 0, 0, 1), Token("b", 1, 2, 3), Token("c", 2, 4, 5), Token("d", 3, 7, 8)])
        #expect(positions == 4)
    }

    @Test func randomTextMatchesTheNaiveModel() {
        // Characters from every class the tokenizer distinguishes.
        let pool: [String] = [
            "a", "Z", "0", "9", " ", "-", "'", ".", "_", "\n", "é", "É", "ß", "İ", "Σ", "ς", "日", "テ", "😀", "\u{0301}",
            "Ⅻ", "½", "١", "𐐀", "𝐀", "ǅ", "ﬁ", "\u{200B}", "\u{00A0}", "—", "Ω", "ǰ", "ŉ", "ΐ", "\u{10FFFF}",
            "\u{E000}",
        ]
        var rng = SeededRandom(seedFromEnvironmentOr: 0x70C_0001)
        for _ in 0..<400 {
            var s = ""
            for _ in 0..<Int.random(in: 0...60, using: &rng) {
                let piece = pool.randomElement(using: &rng)!
                s += rng.chance(0.1) ? String(repeating: piece, count: Int.random(in: 10...25, using: &rng)) : piece
            }
            let model = NaiveAnalyzer.tokenize(s)
            for useTables in [true, false] {
                let (tokens, positions) = Self.tokenize(Array(s.utf8), useTables: useTables)
                #expect(tokens == model.tokens, "\(s.debugDescription), tables: \(useTables), \(rng.seedDescription)")
                #expect(positions == model.positions)
            }
        }
    }

    @Test func everyBMPScalarIsClassifiedAsTheModelSays() {
        // The table built for bulk indexing against the definition, for every scalar of the BMP.
        let tables = UnicodeTables.shared
        var mismatches: [UInt32] = []
        for v in UInt32(0x80)..<0x10000 {
            guard let s = Unicode.Scalar(v) else { continue }
            if tables.isAlphanumeric(v) != NaiveAnalyzer.isAlphanumeric(s) { mismatches.append(v) }
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)
            defer { buffer.deallocate() }
            let n = tables.writeLowercase(v, to: buffer, at: 0)
            if Array(UnsafeBufferPointer(start: buffer, count: n)) != Array(s.properties.lowercaseMapping.utf8) {
                mismatches.append(v)
            }
        }
        #expect(mismatches.isEmpty, "first: \(mismatches.prefix(10).map { String($0, radix: 16) })")
    }

    @Test func analyzerTermsAndEnglishStemming() {
        var standard = Analyzer(.standard)
        #expect(
            standard.terms("Running runs, RAN!").map { String(decoding: $0.term, as: UTF8.self) } == [
                "running", "runs", "ran",
            ])
        var english = Analyzer(.english)
        let terms = english.terms("Running runs the connections \(Self.a40) happily")
        #expect(terms.map { String(decoding: $0.term, as: UTF8.self) } == ["run", "run", "the", "connect", "happili"])
        #expect(terms.map(\.position) == [0, 1, 2, 3, 5])
        #expect(AnalyzerKind(name: "EN") == .english)
        #expect(AnalyzerKind(name: "standard") == .standard)
        #expect(AnalyzerKind(name: "simple") == .standard)
        #expect(AnalyzerKind(name: "french") == nil)
    }

    @Test func analyzeCountsKeptTermsAndAllPositions() {
        var analyzer = Analyzer(.standard, bulk: true)
        let text = Array("one \(Self.a40) two three".utf8)
        let (positions, terms) = text.withUnsafeBufferPointer { analyzer.analyze($0) { _, _, _, _ in } }
        #expect(positions == 4)
        #expect(terms == 3)
    }
}
