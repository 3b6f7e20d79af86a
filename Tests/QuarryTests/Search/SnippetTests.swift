// Snippets: the best window is chosen, matches are marked at the right characters, whitespace is folded.

import Testing

@testable import Quarry

@Suite("Snippets")
struct SnippetTests {
    static func marked(_ s: Snippet) -> String {
        let scalars = Array(s.text.unicodeScalars)
        var out = ""
        var i = 0
        for h in s.highlights {
            out += String(String.UnicodeScalarView(scalars[i..<h.lowerBound]))
            out += "[" + String(String.UnicodeScalarView(scalars[h])) + "]"
            i = h.upperBound
        }
        out += String(String.UnicodeScalarView(scalars[i...]))
        return out
    }

    @Test("marks every match in a title")
    func title() {
        var g = SnippetGenerator(analyzer: .standard, terms: [(Array("bank".utf8), 1), (Array("rates".utf8), 2)])
        let s = g.highlightAll("Central Bank holds rates; BANK's view")
        #expect(SnippetTests.marked(s) == "Central [Bank] holds [rates]; [BANK]'s view")
    }

    @Test("non-ASCII text is marked by characters, not bytes")
    func unicode() {
        var g = SnippetGenerator(analyzer: .standard, terms: [(Array("zürich".utf8), 1)])
        let s = g.highlightAll("In Zürich, über alles: ZÜRICH!")
        #expect(SnippetTests.marked(s) == "In [Zürich], über alles: [ZÜRICH]!")
    }

    @Test("chooses the window with the most distinct query terms, and folds whitespace")
    func window() {
        let filler = String(repeating: "lorem ipsum dolor ", count: 30)
        let text = "bank at the start. " + filler + "the central\n\n bank raised   interest rates today. " + filler
        var g = SnippetGenerator(
            analyzer: .standard,
            terms: [(Array("bank".utf8), 1), (Array("interest".utf8), 1), (Array("rates".utf8), 1)], maxLength: 80)
        let s = g.snippet(text)
        let m = SnippetTests.marked(s)
        #expect(m.contains("[bank] raised [interest] [rates]"), "\(m)")
        #expect(!m.contains("\n"))
        #expect(!m.contains("  "))
        #expect(s.truncatedStart && s.truncatedEnd)
        #expect(s.text.utf8.count <= 100)
    }

    @Test("without a match, the start of the text")
    func noMatch() {
        var g = SnippetGenerator(analyzer: .standard, terms: [(Array("absent".utf8), 1)], maxLength: 20)
        let s = g.snippet("one two three four five six seven")
        #expect(s.text.hasPrefix("one two"))
        #expect(s.highlights.isEmpty)
        #expect(!s.truncatedStart)
    }

    @Test("stemmed terms mark the words they came from")
    func stemmed() {
        var g = SnippetGenerator(analyzer: .english, terms: [(Array("run".utf8), 1)])
        #expect(SnippetTests.marked(g.highlightAll("Running runs ran")) == "[Running] [runs] ran")
    }
}
