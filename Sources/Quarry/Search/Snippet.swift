// Snippets: the passage of a field that best shows why a document matched, with the query's terms marked.
//
// The stored text is analyzed again (only for the hits shown), every token that is a query term is a match, and
// the window of at most `maxLength` bytes with the highest sum of the idf of the distinct terms it holds is chosen
// (as Tantivy's `SnippetGenerator` scores fragments); ties go to the earliest window. The window is widened to about
// `maxLength` around its matches, cut at word boundaries, and whitespace runs are shown as one space.

/// A piece of text with marked ranges.
public struct Snippet: Sendable, Equatable {
    /// The text shown.
    public var text: String
    /// The marked ranges, as offsets in Unicode scalars of `text`, in order.
    public var highlights: [Range<Int>]
    /// True if the text starts after the field's start (an ellipsis is shown).
    public var truncatedStart: Bool
    /// True if the text ends before the field's end.
    public var truncatedEnd: Bool

    public init(text: String, highlights: [Range<Int>], truncatedStart: Bool, truncatedEnd: Bool) {
        self.text = text
        self.highlights = highlights
        self.truncatedStart = truncatedStart
        self.truncatedEnd = truncatedEnd
    }

    /// No text.
    public static let empty = Snippet(text: "", highlights: [], truncatedStart: false, truncatedEnd: false)
}

/// Makes snippets for one query.
public struct SnippetGenerator {
    private var analyzer: Analyzer
    /// Query terms (analyzed bytes), sorted and distinct, and their weights. (Sorted arrays rather than a
    /// dictionary: a dictionary keyed by byte arrays costs the Swift runtime a scan of the binary's protocol
    /// conformances the first time, about 0.2 ms of every `quarry search`.)
    private let terms: [[UInt8]]
    private let weights: [Float]
    public var maxLength: Int

    /// - Parameters:
    ///   - terms: the query's terms in the field the snippets come from, with their idf.
    public init(analyzer: AnalyzerKind, terms: [([UInt8], Float)], maxLength: Int = 200) {
        self.analyzer = Analyzer(analyzer)
        var sorted: [[UInt8]] = []
        var weights: [Float] = []
        for (t, idf) in terms.sorted(by: { $0.0.lexicographicallyPrecedes($1.0) }) {
            let w = max(idf, 0.001)
            if let last = sorted.last, last == t {
                weights[weights.count - 1] = max(weights[weights.count - 1], w)
            } else {
                sorted.append(t)
                weights.append(w)
            }
        }
        self.terms = sorted
        self.weights = weights
        self.maxLength = maxLength
    }

    /// The weight of `term`, if it is one of `terms` (binary search).
    private static func weight<Term: Collection<UInt8>>(_ term: Term, in terms: [[UInt8]], _ weights: [Float])
        -> Float?
    {
        var lo = 0
        var hi = terms.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if terms[mid].lexicographicallyPrecedes(term) {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        guard lo < terms.count, terms[lo].elementsEqual(term) else { return nil }
        return weights[lo]
    }

    /// The best passage of `text`.
    public mutating func snippet(_ text: String) -> Snippet {
        var bytes = Array(text.utf8)
        let matches = findMatches(&bytes)
        if bytes.isEmpty {
            return Snippet(text: "", highlights: [], truncatedStart: false, truncatedEnd: false)
        }
        var bestStart = 0
        var bestEnd = 0
        var bestScore: Float = -1
        var i = 0
        while i < matches.count {
            var j = i
            var seen: [[UInt8]] = []
            var score: Float = 0
            while j < matches.count && matches[j].range.upperBound - matches[i].range.lowerBound <= maxLength {
                if !seen.contains(matches[j].term) {
                    seen.append(matches[j].term)
                    score += matches[j].weight
                } else {
                    score += matches[j].weight * 0.01
                }
                j += 1
            }
            if score > bestScore {
                bestScore = score
                bestStart = matches[i].range.lowerBound
                bestEnd = matches[max(j - 1, i)].range.upperBound
            }
            i += 1
        }
        var start: Int
        var end: Int
        if bestScore < 0 {
            start = 0
            end = min(bytes.count, maxLength)
        } else {
            // Center the matched span in a window of maxLength bytes.
            let slack = max(0, maxLength - (bestEnd - bestStart))
            start = max(0, bestStart - slack / 3)
            end = min(bytes.count, start + maxLength)
            if end - start < maxLength { start = max(0, end - maxLength) }
            if start > bestStart { start = bestStart }
            if end < bestEnd { end = bestEnd }
        }
        // Cut at word boundaries (and never inside a UTF-8 sequence).
        if start > 0 {
            var s = start
            while s < bestStart && s < bytes.count && !isSpace(bytes[s]) { s += 1 }
            start = s < bestStart || bestScore < 0 ? s : start
            while start < bytes.count && bytes[start] & 0xC0 == 0x80 { start += 1 }
        }
        if end < bytes.count {
            var e = end
            while e > max(bestEnd, start) && !isSpace(bytes[e - 1]) { e -= 1 }
            if e > max(bestEnd, start) { end = e }
            while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
        }
        return render(bytes, start, end, matches)
    }

    /// The whole of `text` with every match marked (for titles).
    public mutating func highlightAll(_ text: String) -> Snippet {
        var bytes = Array(text.utf8)
        let matches = findMatches(&bytes)
        return render(bytes, 0, bytes.count, matches)
    }

    private struct Match {
        var range: Range<Int>
        var term: [UInt8]
        var weight: Float
    }

    private mutating func findMatches(_ bytes: inout [UInt8]) -> [Match] {
        var matches: [Match] = []
        guard !terms.isEmpty else { return [] }
        // The analyzer's offsets are into the NFC form: show that form.
        bytes = Analyzer.normalizeNFC(bytes)
        let terms = self.terms
        let weights = self.weights
        _ = analyzer.analyze(bytes) { term, _, start, end in
            if let w = SnippetGenerator.weight(term, in: terms, weights) {
                matches.append(Match(range: start..<end, term: Array(term), weight: w))
            }
        }
        return matches
    }

    private func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    private func render(_ bytes: [UInt8], _ start: Int, _ end: Int, _ matches: [Match]) -> Snippet {
        // Byte by byte (the text is valid UTF-8: a String's, NFC-normalized), copying each scalar's bytes and
        // counting scalars, since highlights are scalar offsets: whitespace runs become one space.
        var out: [UInt8] = []
        out.reserveCapacity(end - start)
        var highlights: [Range<Int>] = []
        var m = matches.firstIndex { $0.range.lowerBound >= start } ?? matches.count
        var lastWasSpace = true
        var count = 0
        var offset = start
        var openAt: Int?
        while offset < end {
            let b = bytes[offset]
            let next = min(end, offset + (b < 0xC0 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4))
            if m < matches.count && openAt == nil && offset == matches[m].range.lowerBound {
                openAt = count
            }
            if isSpace(b) {
                if !lastWasSpace {
                    out.append(0x20)
                    count += 1
                }
                lastWasSpace = true
            } else {
                out.append(contentsOf: bytes[offset..<next])
                count += 1
                lastWasSpace = false
            }
            offset = next
            if let o = openAt, m < matches.count, offset >= matches[m].range.upperBound {
                highlights.append(o..<count)
                openAt = nil
                m += 1
                while m < matches.count && matches[m].range.lowerBound < offset { m += 1 }
            }
        }
        // Drop a trailing space (runs are collapsed: at most one).
        if out.last == 0x20 {
            out.removeLast()
            count -= 1
        }
        return Snippet(
            text: String(decoding: out, as: UTF8.self), highlights: highlights.filter { $0.upperBound <= count },
            truncatedStart: start > 0, truncatedEnd: end < bytes.count)
    }
}
