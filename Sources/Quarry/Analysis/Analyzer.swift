// Analyzers: the tokenizer plus optional token filters. The analyzer is chosen when an index is created, recorded
// in its manifest, and used again for every query, so query terms are the index's terms.
//
// - `standard` ("default"): Tantivy's default analyzer (see Tokenizer.swift).
// - `english` ("en"): the same, then the Snowball English (Porter2) stemmer, as Tantivy's "en_stem".
// - `folding` ("fold"): the default, then accent folding (é -> e, ß -> ss, ø -> o; FoldingTable.swift), as
//   Lucene's ASCIIFoldingFilter (and Unicode decomposition with the marks stripped, for other scripts).
// - `englishFolding` ("en_fold"): folding, then English stemming.
//
// Every analyzer first puts text in Unicode normalization form C (NFC), so that "Ibáñez" typed with combining
// accents (NFD, as macOS file names and some mail clients write it) is the same word as the precomposed one. Text
// with no byte above 0xCB (every scalar below U+0300: ASCII, Latin-1, most Latin) is NFC already and is tokenized
// as it is; other text is checked scalar by scalar (combining marks, the few precomposed characters NFC replaces)
// and normalized only where needed (README: the cost).

/// The analyzers an index can be built with.
public enum AnalyzerKind: String, Sendable, CaseIterable {
    /// Split on non-alphanumerics, drop tokens of 40 bytes or more, lowercase.
    case standard = "default"
    /// `standard`, then Snowball English stemming.
    case english = "en"
    /// `standard`, then accent folding.
    case folding = "fold"
    /// `standard`, then accent folding, then English stemming.
    case englishFolding = "en_fold"

    /// Parses a name given on the command line: `default`, `en` (or `english`), `fold` (or `ascii`), and
    /// `en+fold` (or `en,fold`, `fold+en`, `en_fold`).
    public init?(name: String) {
        let parts = Set(
            name.lowercased().split(whereSeparator: { $0 == "+" || $0 == "," || $0 == " " }).map(String.init))
        let english: Set<String> = ["en", "english", "en_stem"]
        let folding: Set<String> = ["fold", "ascii", "asciifolding", "folding"]
        if parts == ["en_fold"] {
            self = .englishFolding
        } else if parts.count == 1, let p = parts.first {
            if ["default", "standard", "simple"].contains(p) {
                self = .standard
            } else if english.contains(p) {
                self = .english
            } else if folding.contains(p) {
                self = .folding
            } else {
                return nil
            }
        } else if parts.count == 2, !parts.isDisjoint(with: english), !parts.isDisjoint(with: folding) {
            self = .englishFolding
        } else {
            return nil
        }
    }

    var folds: Bool { self == .folding || self == .englishFolding }
    var stems: Bool { self == .english || self == .englishFolding }
}

/// Turns text into terms with positions. One per thread (it keeps scratch buffers).
struct Analyzer {
    let kind: AnalyzerKind
    /// Tabulated character classes (indexing) rather than direct lookups (queries, snippets).
    private let bulk: Bool
    private var tokenizer = Tokenizer()
    private let stemmer = EnglishStemmer()
    private var stemmed: [UInt8] = []

    /// - Parameter bulk: true when analyzing lots of text (indexing): non-ASCII classes come from tables built
    ///   once per process; false for queries and snippets, which look characters up directly.
    init(_ kind: AnalyzerKind, bulk: Bool = false) {
        self.kind = kind
        self.bulk = bulk
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

    /// Offsets are into `text`, unless `text` is not in NFC: then they are into its NFC form (callers that show
    /// text normalize it first with `Analyzer.normalizeNFC`).
    mutating func analyze(
        _ text: UnsafeBufferPointer<UInt8>,
        _ emit: (UnsafeBufferPointer<UInt8>, _ position: Int, _ start: Int, _ end: Int) -> Void
    ) -> (positions: Int, terms: Int) {
        if Analyzer.needsNFC(text, useTables: bulk) {
            let normalized = Analyzer.nfc(text)
            return normalized.withUnsafeBufferPointer { analyzeNFC($0, emit) }
        }
        return analyzeNFC(text, emit)
    }

    private mutating func analyzeNFC(
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
        case .folding, .englishFolding:
            var stemmed = self.stemmed
            let stemmer = self.stemmer
            let stem = kind.stems
            let positions = tokenizer.tokenize(text) { token, position, start, end in
                terms += 1
                // Folding never lengthens a token (the table's rule), so it folds in place.
                let folded = UnsafeMutableBufferPointer(mutating: token)
                let n = Analyzer.fold(folded)
                let out = UnsafeBufferPointer(rebasing: token[0..<n])
                if stem {
                    stemmer.stem(out, into: &stemmed)
                    stemmed.withUnsafeBufferPointer { emit($0, position, start, end) }
                } else {
                    emit(out, position, start, end)
                }
            }
            self.stemmed = stemmed
            return (positions, terms)
        }
    }

    /// Folds the scalars of a lowercased token in place; returns its new length.
    static func fold(_ token: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var ascii = true
        for b in token where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { return token.count }
        var r = 0
        var w = 0
        let readOnly = UnsafeBufferPointer(token)
        while r < token.count {
            let (v, len) = decodeScalar(readOnly, r)
            if Analyzer.isCombiningDiacritic(v) {
                // A mark left alone in a token (lowercasing İ gives i and a combining dot): dropped.
                r += len
                continue
            }
            if let range = FoldingTable.folded(v) {
                for k in range {
                    token[w] = FoldingTable.bytes[k]
                    w += 1
                }
            } else {
                for k in 0..<len { token[w + k] = token[r + k] }
                w += len
            }
            r += len
        }
        return w
    }

    /// The combining diacritical marks blocks (accents, not letters of their scripts).
    static func isCombiningDiacritic(_ v: UInt32) -> Bool {
        switch v {
        case 0x0300...0x036F, 0x1AB0...0x1AFF, 0x1DC0...0x1DFF, 0x20D0...0x20FF, 0xFE20...0xFE2F: return true
        default: return false
        }
    }

    // MARK: NFC

    /// False when `text` is NFC for sure: every byte below 0xCC (scalars below U+0300), or every scalar a starter
    /// that NFC keeps as it is. True means "normalize" (it may be NFC already: a few checks are conservative).
    static func needsNFC(_ text: UnsafeBufferPointer<UInt8>, useTables: Bool = false) -> Bool {
        var i = 0
        let n = text.count
        guard let base = text.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        while i < n {
            // Eight bytes at a time while they are ASCII (most text).
            if i + 8 <= n && raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let b = text[i]
            if b < 0xCC {
                i += 1
                continue
            }
            let (v, len) = decodeScalar(text, i)
            i += len
            if useTables ? UnicodeTables.shared.mayChangeUnderNFC(v) : mayChangeUnderNFC(v) { return true }
        }
        return false
    }

    /// Combining marks (they may compose with what precedes them), Hangul vowels and trailing consonants (they
    /// compose into syllables), and the blocks holding the characters NFC replaces (singletons and composition
    /// exclusions, taken a block at a time: a false alarm only costs a normalization).
    static func mayChangeUnderNFC(_ v: UInt32) -> Bool {
        if v < 0x300 { return false }
        switch v {
        case 0x0340...0x0344, 0x0374, 0x037E, 0x0387, 0x0958...0x095F, 0x09DC...0x09DF, 0x0A33, 0x0A36,
            0x0A59...0x0A5E, 0x0B5C...0x0B5D, 0x0F43...0x0FB9, 0x1161...0x1175, 0x11A8...0x11C2, 0x1F00...0x1FFF,
            0x2000...0x2001, 0x2126, 0x212A...0x212B, 0x2329...0x232A, 0x2ADC, 0xF900...0xFAFF, 0xFB1D...0xFB4E,
            0x1D15E...0x1D1C0, 0x2F800...0x2FA1D:
            return true
        default:
            guard let s = Unicode.Scalar(v) else { return false }
            return s.properties.canonicalCombiningClass != .notReordered
        }
    }

    /// The NFC form of `text` (invalid UTF-8 is repaired with U+FFFD first).
    static func nfc(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        String(decoding: text, as: UTF8.self)._nfcCodeUnits
    }

    /// The NFC form of `text`, or `text` itself when it is NFC already.
    public static func normalizeNFC(_ text: [UInt8]) -> [UInt8] {
        text.withUnsafeBufferPointer { needsNFC($0) ? nfc($0) : text }
    }

    /// The terms of `text` as the index's terms are made but not stemmed (lowercased, folded): the literal parts of
    /// wildcard, prefix and range queries, as Lucene's multi-term normalization.
    mutating func normalizedTerms(_ text: String) -> [[UInt8]] {
        var out: [[UInt8]] = []
        let bytes = Analyzer.normalizeNFC(Array(text.utf8))
        let folds = kind.folds
        bytes.withUnsafeBufferPointer { buf in
            _ = tokenizer.tokenize(buf) { token, _, _, _ in
                let n = folds ? Analyzer.fold(UnsafeMutableBufferPointer(mutating: token)) : token.count
                out.append(Array(token[0..<n]))
            }
        }
        return out
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
