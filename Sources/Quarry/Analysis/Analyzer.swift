// Analyzers: the tokenizer plus optional token filters. The analyzer is chosen when an index is created, recorded
// in its manifest, and used again for every query, so query terms are the index's terms.
//
// - `standard` ("default"): Tantivy's default analyzer (see Tokenizer.swift).
// - `english` ("en"): the same, then the Snowball English (Porter2) stemmer, as Tantivy's "en_stem".

/// The analyzers an index can be built with.
public enum AnalyzerKind: String, Sendable, CaseIterable {
    /// Split on non-alphanumerics, drop tokens of 40 bytes or more, lowercase.
    case standard = "default"
    /// `standard`, then Snowball English stemming.
    case english = "en"

    /// Parses a name given on the command line (`default`, `standard`, `en`, `english`).
    public init?(name: String) {
        switch name.lowercased() {
        case "default", "standard", "simple": self = .standard
        case "en", "english", "en_stem": self = .english
        default: return nil
        }
    }
}

/// Turns text into terms with positions. One per thread (it keeps scratch buffers).
struct Analyzer {
    let kind: AnalyzerKind
    private var tokenizer = Tokenizer()
    private let stemmer = EnglishStemmer()
    private var stemmed: [UInt8] = []

    /// - Parameter bulk: true when analyzing lots of text (indexing): non-ASCII classes come from tables built
    ///   once per process; false for queries and snippets, which look characters up directly.
    init(_ kind: AnalyzerKind, bulk: Bool = false) {
        self.kind = kind
        self.tokenizer = Tokenizer(useTables: bulk)
        stemmed.reserveCapacity(128)
    }

    /// Analyzes `text`, calling `emit(term, position, start, end)` for each term.
    /// - Returns: the number of positions used (for the next value's offset), and the number of terms emitted
    ///   (the field length for BM25, which does not count dropped tokens).
    @inline(__always)
    /// As `analyze(_:_:)` over the bytes of an array.
    mutating func analyze(
        _ text: [UInt8], _ emit: (UnsafeBufferPointer<UInt8>, _ position: Int, _ start: Int, _ end: Int) -> Void
    ) -> (positions: Int, terms: Int) {
        text.withUnsafeBufferPointer { analyze($0, emit) }
    }

    mutating func analyze(
        _ text: UnsafeBufferPointer<UInt8>,
        _ emit: (UnsafeBufferPointer<UInt8>, _ position: Int, _ start: Int, _ end: Int) -> Void
    ) -> (positions: Int, terms: Int) {
        var terms = 0
        switch kind {
        case .standard:
            let positions = tokenizer.tokenize(text) { token, position, start, end in
                terms += 1
                emit(token, position, start, end)
            }
            return (positions, terms)
        case .english:
            var stemmed = self.stemmed
            let stemmer = self.stemmer
            let positions = tokenizer.tokenize(text) { token, position, start, end in
                terms += 1
                stemmer.stem(token, into: &stemmed)
                stemmed.withUnsafeBufferPointer { emit($0, position, start, end) }
            }
            self.stemmed = stemmed
            return (positions, terms)
        }
    }

    /// The terms of `text`, with their positions (for queries and tests).
    mutating func terms(_ text: String) -> [(term: [UInt8], position: Int)] {
        var out: [(term: [UInt8], position: Int)] = []
        var text = text
        text.withUTF8 { buf in
            _ = analyze(buf) { term, position, _, _ in out.append((Array(term), position)) }
        }
        return out
    }
}
