// Limits on what a query may ask (issue 9, "bounded queries"): nesting depth, phrase length, a slop that is a
// whole number. Each limit is an error naming its column, never a crash or a silent reinterpretation.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite("Query limits")
struct QueryLimitsTests {
    static func error(_ text: String) -> QuarryError? {
        var p = QueryParser(schema: Schema(), defaultOr: false)
        do {
            _ = try p.parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func nestingIsBounded() {
        let ok = String(repeating: "(", count: QueryParser.maxDepth) + "word" + String(repeating: ")", count: QueryParser.maxDepth)
        #expect(Self.error(ok) == nil)
        // (100,000 levels are refused earlier, as a query longer than `maxQueryBytes`.)
        for depth in [QueryParser.maxDepth + 1, 8_000, 30_000] {
            let deep = String(repeating: "(", count: depth) + "word" + String(repeating: ")", count: depth)
            let e = Self.error(deep)
            #expect(e?.code == .invalidQuery(column: QueryParser.maxDepth + 1), "\(String(describing: e))")
            #expect(e?.message.contains("deeper than \(QueryParser.maxDepth)") == true)
        }
        // Field groups count too.
        let fields = String(repeating: "title:(", count: QueryParser.maxDepth + 1) + "a" + String(repeating: ")", count: QueryParser.maxDepth + 1)
        #expect(Self.error(fields)?.message.contains("deeper than") == true)
    }

    @Test func phrasesAreBounded() {
        let ok = "\"" + Array(repeating: "the", count: QueryParser.maxPhraseTerms).joined(separator: " ") + "\""
        #expect(Self.error(ok) == nil)
        let long = "x \"" + Array(repeating: "the", count: 900).joined(separator: " ") + "\""
        let e = Self.error(long)
        #expect(e?.code == .invalidQuery(column: 3), "\(String(describing: e))")
        #expect(e?.message.contains("900 words") == true, "\(String(describing: e))")
        // 5,000 words are past the clause limit, found before the phrase is analysed.
        let longer = "x \"" + Array(repeating: "the", count: 5_000).joined(separator: " ") + "\""
        #expect(Self.error(longer)?.message.contains("more than \(QueryParser.maxClauses) words") == true)
        // A word that analyses into many terms is a phrase too.
        let dotted = Array(repeating: "a", count: 100).joined(separator: ".")
        #expect(Self.error(dotted)?.message.contains("at most \(QueryParser.maxPhraseTerms)") == true)
    }

    @Test func slopIsAWholeNumber() {
        #expect(Self.error("\"cobol program\"~2") == nil)
        #expect(Self.error("(\"cobol program\"~2)") == nil)
        for bad in ["\"cobol program\"~1e9", "\"cobol program\"~2x", "\"cobol program\"~", "\"a b\"~10001"] {
            let e = Self.error(bad)
            #expect(e?.code == .invalidQuery(column: 16) || e?.code == .invalidQuery(column: 6), "\(bad): \(String(describing: e))")
            #expect(e?.message.contains("slop of 0 to 10000") == true, "\(bad)")
        }
    }
}

extension QueryLimitsTests {
    @Test func wordsAndPhraseWordsAreBounded() {
        let words = (0..<QueryParser.maxClauses).map { "w\($0)" }
        #expect(Self.error(words.joined(separator: " ")) == nil)
        // One more word: the error points at it.
        let over = words + ["extra"]
        let text = over.joined(separator: " ")
        let e = Self.error(text)
        #expect(e?.code == .invalidQuery(column: text.count - "extra".count + 1), "\(String(describing: e))")
        #expect(e?.message.contains("more than \(QueryParser.maxClauses) words") == true)
        // Phrases count their words: 17 phrases of 64 words are 1,088.
        let phrase = "\"" + (0..<64).map { "p\($0)" }.joined(separator: " ") + "\""
        #expect(Self.error(Array(repeating: phrase, count: 16).joined(separator: " ")) == nil)
        #expect(Self.error(Array(repeating: phrase, count: 17).joined(separator: " "))?.message.contains("words") == true)
    }

    @Test func theQueryTextIsBounded() {
        let long = String(repeating: "a", count: QueryParser.maxQueryBytes + 1)
        let e = Self.error(long)
        #expect(e?.code == .invalidQuery(column: 1))
        #expect(e?.message.contains("at most \(QueryParser.maxQueryBytes)") == true)
    }
}

extension QueryLimitsTests {
    @Test func longRunsOfUnaryOperatorsDoNotRecurse() {
        // Found by AddressSanitizer on the fuzz driver: 3,000 '!' recursed once each. 60,000 now parse in a loop.
        for run in [String(repeating: "!", count: 60_000) + "a", String(repeating: "NOT ", count: 16_000) + "a"] {
            let e = Self.error(run)
            #expect(e?.message.contains("only excludes") == true, "\(String(describing: e?.message))")
        }
        let mixed = "a " + String(repeating: "!", count: 60_000) + "b"
        #expect(Self.error(mixed) == nil)
    }

    /// An index of every two-letter word: `ab~2` expands to hundreds of terms, `a*` to 26.
    static func twoLetterIndex(_ dir: TemporaryDirectory) throws -> IndexReader {
        let writer = try IndexWriter(directory: dir.path + "/idx", schema: Schema(), options: IndexOptions())
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        for (n, a) in letters.enumerated() {
            let words = letters.map { String([a, $0]) }.joined(separator: " ")
            try writer.add(id: "d\(n)", fields: ["body": words])
        }
        try writer.commit()
        writer.close()
        return try IndexReader(directory: dir.path + "/idx")
    }

    @Test func expansionsAreBoundedOverTheWholeQuery() throws {
        let dir = TemporaryDirectory()
        let searcher = Searcher(reader: try Self.twoLetterIndex(dir))
        func run(_ text: String) -> QuarryError? {
            var p = QueryParser(schema: Schema(), defaultOr: true)
            do {
                _ = try searcher.search(try p.parse(text), limit: 10)
                return nil
            } catch {
                return error
            }
        }
        // One fuzzy word: every two-letter term is within 2 edits of "ab" (676 terms).
        #expect(run("ab~2") == nil)
        // Six of them: 4,056 scoring terms, within the budget; the seventh crosses it, and the error points at it.
        let six = Array(repeating: "ab~2", count: 6).joined(separator: " ")
        #expect(run(six) == nil)
        let seven = six + " ab~2"
        let e = run(seven)
        #expect(e?.code == .invalidQuery(column: six.count + 2), "\(String(describing: e))")
        #expect(e?.message.contains("more than \(Searcher.BindBudget.maxScoringTerms) terms in all") == true)
        // Prefixes count apart, against a larger budget.
        #expect(run(Array(repeating: "a*", count: 1000).joined(separator: " ")) == nil)
        // The time budget holds while patterns expand, not only while documents are collected.
        let hurried = Searcher(reader: searcher.reader, timeBudget: .nanoseconds(1))
        var p = QueryParser(schema: Schema(), defaultOr: true)
        #expect(throws: QuarryError.self) { _ = try hurried.search(try p.parse("ab~2"), limit: 10) }
        let timedOut = thrownQuarryError { _ = try hurried.count(try p.parse("ab~2 cd~1")) }
        #expect(timedOut?.code == .timedOut)
    }
}
