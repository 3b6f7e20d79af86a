// A segment built from a random corpus and read back with SegmentReader equals an in-memory model made by
// re-analyzing the documents naively: every (field, term)'s documents, frequencies and positions, norms, field
// lengths, dates, stored documents and ids.

import QuarryTestSupport
import Testing

@testable import Quarry

/// What a segment must hold, computed from the corpus alone.
struct SegmentModel {
    /// Per text field ord: term -> (document, positions) in document order.
    var postings: [Int: [[UInt8]: [(doc: UInt32, positions: [UInt32])]]] = [:]
    /// Per text field ord: each document's length (kept terms).
    var lengths: [Int: [Int]] = [:]

    init(_ documents: [CorpusDocument], fields: ClosedRange<Int> = 1...2, stem: Bool) {
        let stemmer = EnglishStemmer()
        for ord in fields {
            var terms: [[UInt8]: [(doc: UInt32, positions: [UInt32])]] = [:]
            var lengths: [Int] = []
            for (d, document) in documents.enumerated() {
                let (analyzed, length) = NaiveAnalyzer.field(document.values(ord))
                lengths.append(length)
                var perTerm: [[UInt8]: [UInt32]] = [:]
                for (term, position) in analyzed {
                    var key = term
                    if stem {
                        var out: [UInt8] = []
                        term.withUnsafeBufferPointer { stemmer.stem($0, into: &out) }
                        key = out
                    }
                    perTerm[key, default: []].append(UInt32(position))
                }
                for (term, positions) in perTerm { terms[term, default: []].append((UInt32(d), positions)) }
            }
            postings[ord] = terms
            self.lengths[ord] = lengths
        }
    }
}

@Suite struct SegmentBuilderTests {
    /// Builds one segment from `documents` (parsed from their JSON lines, as the indexer does).
    static func build(_ documents: [CorpusDocument], schema: Schema, in dir: TemporaryDirectory, seed: UInt64) throws
        -> SegmentReader
    {
        var rng = SeededRandom(seed: seed)
        let builder = try SegmentBuilder(
            schema: schema, directory: dir.path, name: "seg-00000001", id: rng.bytes(16), compressor: ZstdCompressor())
        var parser = JSONLineParser(schema: schema, lossy: false)
        var doc = Document(textFieldCount: schema.textFields.count)
        for d in documents {
            try Array(d.line.utf8).withUnsafeBufferPointer { try parser.parse($0, into: &doc, autoID: nil) }
            #expect(builder.document(withID: doc.id) == nil)
            try builder.add(doc, sequence: UInt64(builder.docCount))
            #expect(builder.document(withID: doc.id) == builder.docCount - 1)
        }
        #expect(builder.docCount == UInt32(documents.count))
        let flushed = try builder.flush()
        #expect(flushed.deletes.count == 0)
        let info = flushed.info
        #expect(info.docCount == documents.count)
        for kind in FileKind.segmentKinds {
            #expect(info.fileSizes[kind] == fileSize(info.path(kind, in: dir.path)), "\(kind)")
        }
        return try SegmentReader(directory: dir.path, info: info)
    }

    /// Compares every posting of the segment with the model.
    static func checkPostings(_ segment: SegmentReader, _ model: SegmentModel, _ context: String) throws {
        var positions: [UInt32] = []
        for (ord, terms) in model.postings.sorted(by: { $0.key < $1.key }) {
            var seen: [[UInt8]] = []
            var infos: [TermInfo] = []
            try segment.terms.forEachTerm(ord) { term, info in
                seen.append(Array(term))
                infos.append(info)
                return true
            }
            let expected = terms.keys.sorted { $0.lexicographicallyPrecedes($1) }
            #expect(seen == expected, "field \(ord): the dictionary's terms, \(context)")
            guard seen == expected else { continue }
            var mismatches = 0
            for (term, info) in zip(seen, infos) {
                let model = terms[term]!
                let name = String(decoding: term, as: UTF8.self)
                #expect(Int(info.docFreq) == model.count, "'\(name)', \(context)")
                let it = segment.postingsIterator(ord, info, withPositions: true)
                var k = 0
                while it.doc != terminated && k < model.count {
                    if it.doc != model[k].doc || it.freq != UInt32(model[k].positions.count)
                        || !it.positions(into: &positions) || positions != model[k].positions
                    {
                        if mismatches < 10 {
                            Issue.record(
                                "'\(name)' document #\(k): got doc \(it.doc) freq \(it.freq) positions \(positions), expected \(model[k]), \(context)"
                            )
                        }
                        mismatches += 1
                    }
                    k += 1
                    _ = it.next()
                }
                #expect(k == model.count && it.doc == terminated, "'\(name)': \(k) documents, \(context)")
                #expect(!it.corrupted)
                // The lookup finds the same info.
                #expect(try term.withUnsafeBytes { try segment.terms.lookup(ord, $0) } == info)
            }
            #expect(mismatches == 0, "\(context)")
        }
    }

    @Test func aSegmentEqualsTheModelOfItsCorpus() throws {
        var options = RandomCorpus.Options()
        options.multiValued = 0.2
        let corpus = RandomCorpus(count: 700, seed: 0x5E6_0001, options: options)
        let context = "corpus seed \(corpus.seed)"
        let dir = TemporaryDirectory("segment")
        let segment = try Self.build(corpus.documents, schema: Schema(), in: dir, seed: 1)
        let model = SegmentModel(corpus.documents, stem: false)
        // Some terms must be frequent enough for full blocks, or the test would not cover them.
        #expect(model.postings[2]!.values.contains { $0.count > 256 })
        try Self.checkPostings(segment, model, context)

        // Norms and field lengths.
        for ord in 1...2 {
            let lengths = model.lengths[ord]!
            for (d, length) in lengths.enumerated() {
                #expect(segment.norm(ord, d) == FieldNorm.encode(UInt32(length)), "field \(ord) doc \(d), \(context)")
            }
            #expect(segment.info.fieldLengths[ord - 1] == UInt64(lengths.reduce(0, +)))
        }
        // Dates.
        for (d, document) in corpus.documents.enumerated() {
            #expect(segment.dates.date(d) == document.date, "doc \(d), \(context)")
        }
        // Stored documents, in random order.
        let store = try segment.makeStoreReader()
        var rng = SeededRandom(seed: 2)
        for d in corpus.documents.indices.shuffled(using: &rng) {
            #expect(try store.document(d) == Array(corpus.documents[d].line.utf8), "doc \(d), \(context)")
        }
        // Ids: one term per document, in byte order, each pointing at its document.
        var ids: [([UInt8], TermInfo)] = []
        try segment.terms.forEachTerm(Schema.idOrd) { term, info in
            ids.append((Array(term), info))
            return true
        }
        #expect(ids.map(\.0) == corpus.documents.map { Array($0.id.utf8) }.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(ids.allSatisfy { $0.1.docFreq == 1 && $0.1.singletonFreq == 1 })
        for (d, document) in corpus.documents.enumerated() {
            #expect(try segment.lookupID(Array(document.id.utf8)) == d)
        }
        for absent in ["", "doc-", "doc-700", "doc-00", "zzz", "DOC-1"] {
            #expect(try segment.lookupID(Array(absent.utf8)) == nil, "\(absent)")
        }
    }

    @Test func theEnglishAnalyzerStemsEveryTerm() throws {
        let corpus = RandomCorpus(count: 250, seed: 0x5E6_0002)
        let dir = TemporaryDirectory("segment")
        let segment = try Self.build(corpus.documents, schema: Schema(analyzer: .english), in: dir, seed: 3)
        let model = SegmentModel(corpus.documents, stem: true)
        try Self.checkPostings(segment, model, "english, corpus seed \(corpus.seed)")
        // A few words by hand: every form of "run" is one term; "runner" is not.
        let body = model.postings[2]!
        #expect(body[Array("run".utf8)] != nil)
        #expect(body[Array("running".utf8)] == nil)
        #expect(body[Array("connect".utf8)] != nil)
        #expect(body[Array("connection".utf8)] == nil)
        #expect(try Array("runs".utf8).withUnsafeBytes { try segment.terms.lookup(2, $0) } == nil)
    }

    @Test func multiValuedFieldsLeaveAGapOfOnePosition() throws {
        let lines = [
            #"{"id":"m","body":["alpha beta", "gamma", "", "alpha \#(String(repeating: "x", count: 40)) delta"], "title":["t"]}"#,
            #"{"id":"n","body":"alpha","title":[]}"#,
        ]
        let documents = lines.map { line in
            CorpusDocument(id: "", line: line)
        }
        let dir = TemporaryDirectory("segment")
        let segment = try Self.build(documents, schema: Schema(), in: dir, seed: 4)
        func postings(_ ord: Int, _ term: String) throws -> [(UInt32, [UInt32])] {
            guard let info = try Array(term.utf8).withUnsafeBytes({ try segment.terms.lookup(ord, $0) }) else {
                return []
            }
            let it = segment.postingsIterator(ord, info, withPositions: true)
            var out: [(UInt32, [UInt32])] = []
            var positions: [UInt32] = []
            while it.doc != terminated {
                _ = it.positions(into: &positions)
                out.append((it.doc, positions))
                _ = it.next()
            }
            return out
        }
        // Each value starts one past the last position the previous one used: "alpha beta" takes 0 and 1, "gamma"
        // starts at 3, "" (no positions) at 5, and the last value at 6 (its 40-byte token is dropped at 7).
        let alpha = try postings(2, "alpha")
        #expect(alpha.map(\.0) == [0, 1])
        #expect(alpha.first?.1 == [0, 6])
        #expect(alpha.last?.1 == [0])
        #expect(try postings(2, "beta").first?.1 == [1])
        #expect(try postings(2, "gamma").first?.1 == [3])
        #expect(try postings(2, "delta").first?.1 == [8], "after a dropped 40-byte token")
        #expect(try postings(1, "t").first?.1 == [0])
        // Lengths count kept terms only: alpha beta gamma alpha delta.
        #expect(segment.norm(2, 0) == 5)
        #expect(segment.norm(2, 1) == 1)
        #expect(segment.norm(1, 1) == 0)
        // The naive model agrees.
        let model = NaiveAnalyzer.field(["alpha beta", "gamma", "", "alpha \(String(repeating: "x", count: 40)) delta"])
        #expect(model.terms.map(\.position) == [0, 1, 3, 6, 8])
        #expect(model.length == 5)
    }

    @Test func manyDistinctTermsGrowTheHashTable() throws {
        // Enough distinct terms to rehash the builder's table several times and to grow its term states.
        var options = RandomCorpus.Options()
        options.uniqueWordsPerDocument = 40
        options.maxBodyWords = 10
        let corpus = RandomCorpus(count: 400, seed: 0x5E6_0003, options: options)
        let dir = TemporaryDirectory("segment")
        let segment = try Self.build(corpus.documents, schema: Schema(), in: dir, seed: 5)
        #expect(segment.terms.termCount(2) > 16_000)
        try Self.checkPostings(segment, SegmentModel(corpus.documents, stem: false), "corpus seed \(corpus.seed)")
    }

    @Test func termsSharingTheirFirstEightBytesStayApart() throws {
        // The builder compares a term's first 8 bytes in its state and the rest in the arena, and looks a value's
        // tokens up in batches of 64: words of two letters, 1 to 44 bytes long (40 and over are dropped), share
        // their first 8 bytes in many ways and are prefixes of one another; values of up to 300 words cross
        // batches, and over 16,384 terms fill more than one chunk of states.
        #expect(MemoryLayout<SegmentBuilder.TermState>.stride == 64)
        var rng = SeededRandom(seed: 0x5E6_0008)
        let lengths = [1, 2, 7, 8, 8, 9, 9, 10, 12, 15, 16, 17, 24, 39, 40, 44]
        var documents: [CorpusDocument] = []
        for d in 0..<300 {
            func words(_ count: Int) -> String {
                (0..<count).map { _ -> String in
                    let pick = Int(rng.next() % UInt64(lengths.count))
                    let length = rng.next() % 4 == 0 ? Int(rng.next() % 44) + 1 : lengths[pick]
                    // Mostly "a"s with a few "b"s: the same 8-byte prefixes come back often.
                    return String((0..<length).map { _ in rng.next() % 5 == 0 ? "b" : "a" })
                }.joined(separator: " ")
            }
            let title = words(Int(rng.next() % 12))
            let body = [words(Int(rng.next() % 300)), words(Int(rng.next() % 70))]
            let line = #"{"id":"d\#(d)","title":"\#(title)","body":["\#(body[0])","\#(body[1])"]}"#
            documents.append(CorpusDocument(id: "d\(d)", title: title, body: body, line: line))
        }
        let dir = TemporaryDirectory("segment")
        let segment = try Self.build(documents, schema: Schema(), in: dir, seed: 8)
        #expect(segment.terms.termCount(2) > 16_384)
        try Self.checkPostings(segment, SegmentModel(documents, stem: false), "two-letter words")
    }

    @Test func anEmptyFieldEverywhere() throws {
        let lines = (0..<5).map { #"{"id":"\#($0)","body":"word \#($0)"}"# }
        let documents = lines.map { CorpusDocument(id: "", line: $0) }
        let dir = TemporaryDirectory("segment")
        let segment = try Self.build(documents, schema: Schema(), in: dir, seed: 6)
        #expect(segment.terms.termCount(1) == 0)
        #expect(segment.info.fieldLengths == [0, 10])
        for d in 0..<5 { #expect(segment.norm(1, d) == 0) }
        #expect(segment.dates.datedDocs == 0)
    }
}
