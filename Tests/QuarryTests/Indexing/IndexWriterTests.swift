// The indexing pipeline end to end through the public API: runs and commits, statistics, duplicate ids, bad input
// with and without --skip-bad, commit-every, small memory budgets, interruption, TSV and text folders.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct IndexWriterTests {
    /// What `IndexStats` must say of an index holding `documents`, from the documents alone.
    struct ExpectedStats: Equatable, CustomStringConvertible {
        var documents: Int
        var fieldTerms: [Int]
        var fieldLengths: [UInt64]
        var dated: Int
        var minDate: Int64?
        var maxDate: Int64?

        init(_ documents: [CorpusDocument]) {
            self.documents = documents.count
            fieldTerms = []
            fieldLengths = []
            for ord in 1...2 {
                var terms = Set<[UInt8]>()
                var length = 0
                for d in documents {
                    let (analyzed, l) = NaiveAnalyzer.field(d.values(ord))
                    for t in analyzed { terms.insert(t.term) }
                    length += l
                }
                fieldTerms.append(terms.count)
                fieldLengths.append(UInt64(length))
            }
            let dates = documents.compactMap(\.date)
            dated = dates.count
            minDate = dates.min()
            maxDate = dates.max()
        }

        init(_ stats: IndexStats) {
            documents = stats.documents
            fieldTerms = stats.fields.map(\.terms)
            fieldLengths = stats.fields.map(\.totalLength)
            dated = stats.datedDocuments
            minDate = stats.minDate
            maxDate = stats.maxDate
        }

        var description: String {
            "\(documents) docs, terms \(fieldTerms), lengths \(fieldLengths), \(dated) dated \(String(describing: minDate))...\(String(describing: maxDate))"
        }
    }

    /// Checks statistics, ids and stored documents of the index at `index` against `documents`.
    static func checkIndex(_ index: String, holds documents: [CorpusDocument], _ context: String) throws {
        let reader = try IndexReader(directory: index)
        let stats = try IndexStats(reader)
        #expect(ExpectedStats(stats) == ExpectedStats(documents), "\(context)")
        #expect(stats.ids == documents.count)
        #expect(stats.segments == reader.segments.count)
        #expect(
            stats.bytes == reader.manifest.segments.reduce(0) { $0 + $1.totalBytes }
                + (fileSize(index + "/" + Manifest.fileName) ?? 0))
        for d in documents {
            guard let (segment, doc) = try reader.locate(id: d.id) else {
                Issue.record("\(d.id) not found, \(context)")
                continue
            }
            #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(d.line.utf8), "\(d.id), \(context)")
            #expect(reader.segments[segment].dates.date(doc) == d.date)
        }
        let report = IndexChecker.check(index)
        #expect(report.isSound, "\(report.problems), \(context)")
    }

    static func corpus(
        _ count: Int, seed: UInt64, prefix: String, configure: (inout RandomCorpus.Options) -> Void = { _ in }
    )
        -> RandomCorpus
    {
        var options = RandomCorpus.Options()
        options.idPrefix = prefix
        configure(&options)
        return RandomCorpus(count: count, seed: seed, options: options)
    }

    // MARK: Runs and commits

    @Test func twoRunsMakeTwoCommitsAndAddUp() throws {
        let dir = TemporaryDirectory("writer")
        let index = dir.file("index")
        let a = Self.corpus(400, seed: 0x1D_0001, prefix: "a-")
        let b = Self.corpus(250, seed: 0x1D_0002, prefix: "b-")
        let first = try buildIndex(
            at: index, corpus: a, scratch: dir, name: "a.jsonl", options: testIndexOptions(threads: 2))
        #expect(first.documentsAdded == 400)
        #expect(first.documentsSkipped == 0)
        #expect(first.commits == 1)
        #expect(first.indexDocuments == 400)
        #expect(first.bytesRead == a.jsonl.utf8.count)
        #expect(!first.interrupted)
        try Self.checkIndex(index, holds: a.documents, "after the first run")

        let second = try buildIndex(
            at: index, corpus: b, scratch: dir, name: "b.jsonl", schema: nil, options: testIndexOptions(threads: 2))
        #expect(second.documentsAdded == 250)
        #expect(second.indexDocuments == 650)
        #expect(second.indexBytes > first.indexBytes)
        let reader = try IndexReader(directory: index)
        #expect(reader.manifest.generation == 2)
        #expect(reader.manifest.segments.count == first.segmentsAdded + second.segmentsAdded)
        try Self.checkIndex(index, holds: a.documents + b.documents, "after the second run")
    }

    @Test func theSameSchemaOrNoneIsAcceptedAnotherIsNot() throws {
        let dir = TemporaryDirectory("writer")
        let index = dir.file("index")
        try buildIndex(
            at: index, corpus: Self.corpus(10, seed: 1, prefix: "a-"), scratch: dir, schema: Schema(analyzer: .english))
        // The same schema again: fine.
        try buildIndex(
            at: index, corpus: Self.corpus(10, seed: 2, prefix: "b-"), scratch: dir, schema: Schema(analyzer: .english))
        let error = thrownQuarryError {
            try IndexWriter(directory: index, schema: Schema(), options: testIndexOptions())
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("another schema") == true)
        // No index and no schema.
        let none = thrownQuarryError {
            try IndexWriter(directory: dir.file("new"), schema: nil, options: testIndexOptions())
        }
        #expect(none?.code == .invalidArgument)
        // An invalid schema.
        let bad = thrownQuarryError {
            try IndexWriter(directory: dir.file("bad"), schema: Schema(idField: "body"), options: testIndexOptions())
        }
        #expect(bad?.code == .invalidArgument)
        #expect(try IndexReader(directory: index).schema.analyzer == .english)
    }

    @Test func anEmptyIndexCanBeCommitted() throws {
        let dir = TemporaryDirectory("writer")
        let writer = try IndexWriter(directory: dir.file("index"), schema: Schema(), options: testIndexOptions())
        try writer.commitEmptyIfNew()
        writer.close()
        let reader = try IndexReader(directory: dir.file("index"))
        #expect(reader.documentCount == 0)
        #expect(try IndexStats(reader).fields.map(\.terms) == [0, 0])
        #expect(IndexChecker.check(dir.file("index")).isSound)
    }

    // MARK: Duplicate ids

    @Test func aLaterDocumentWithTheSameIdReplacesTheEarlierOne() throws {
        let dir = TemporaryDirectory("writer")
        let lines = [
            #"{"id":"x1","body":"a"}"#, #"{"id":"x2","body":"b"}"#, #"{"id":"x1","body":"c"}"#,
            #"{"id":"x3","body":"d"}"#,
        ]
        writeFile(dir.file("dup.jsonl"), lines.joined(separator: "\n") + "\n")
        let report = try buildIndex(at: dir.file("index"), inputs: [dir.file("dup.jsonl")])
        #expect(report.documentsAdded == 4)
        #expect(report.documentsReplaced == 1)
        let reader = try IndexReader(directory: dir.file("index"))
        #expect(reader.documentCount == 3)
        let (segment, doc) = try #require(try reader.locate(id: "x1"))
        #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(lines[2].utf8))
        let searcher = Searcher(reader: reader)
        #expect(try searcher.count(.term(field: 2, term: Array("a".utf8))) == 0, "the replaced version is gone")
        #expect(try searcher.count(.term(field: 2, term: Array("c".utf8))) == 1)
        #expect(IndexChecker.check(dir.file("index")).isSound)
    }

    @Test func deletingADocumentAddedAgainBeforeTheCommitDeletesOne() throws {
        // x1 committed, then added again (twice: the builder keeps the last): until the commit it is there twice,
        // committed and added; deleting it deletes one document, as `delete(id:)` says, and leaves none.
        let dir = TemporaryDirectory("writer")
        let index = dir.file("index")
        let writer = try IndexWriter(directory: index, schema: Schema(), options: testIndexOptions())
        try writer.add(json: #"{"id":"x1","body":"a"}"#)
        try writer.add(json: #"{"id":"x2","body":"b"}"#)
        try writer.commit()
        try writer.add(json: #"{"id":"x1","body":"c"}"#)
        #expect(try writer.delete(id: "x2") == 1)
        try writer.add(json: #"{"id":"x1","body":"d"}"#)
        #expect(try writer.delete(id: "x1") == 1)
        #expect(try writer.delete(id: "x1") == 0)
        #expect(try writer.delete(id: "x9") == 0)
        try writer.commit()
        writer.close()
        #expect(try IndexReader(directory: index).documentCount == 0)
    }

    @Test func onDuplicateErrorStopsAtTheSecondOccurrence() throws {
        let dir = TemporaryDirectory("writer")
        let lines = [
            #"{"id":"x1","body":"a"}"#, #"{"id":"x2","body":"b"}"#, #"{"id":"x1","body":"c"}"#,
            #"{"id":"x3","body":"d"}"#,
        ]
        writeFile(dir.file("dup.jsonl"), lines.joined(separator: "\n") + "\n")
        let error = thrownQuarryError {
            try buildIndex(
                at: dir.file("index"), inputs: [dir.file("dup.jsonl")],
                options: testIndexOptions { $0.onDuplicate = .error })
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("duplicate id 'x1'") == true)
        #expect(error?.message.contains("dup.jsonl:1") == true, "\(String(describing: error))")
        #expect(error?.path == dir.file("dup.jsonl"))
        #expect(error?.line == 3)
        #expect(try IndexReader(directory: dir.file("index")).documentCount == 0, "only the empty commit made when the index was created")
        #expect(listDirectory(dir.file("index")).allSatisfy { !$0.hasPrefix("seg-") })

        // --skip-bad skips the second occurrence and keeps the first.
        let report = try buildIndex(
            at: dir.file("index"), inputs: [dir.file("dup.jsonl")],
            options: testIndexOptions {
                $0.skipBad = true
                $0.onDuplicate = .error
            })
        #expect(report.documentsAdded == 3)
        #expect(report.documentsSkipped == 1)
        #expect(report.skippedSamples.first?.line == 3)
        let reader = try IndexReader(directory: dir.file("index"))
        let (segment, doc) = try #require(try reader.locate(id: "x1"))
        #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(lines[0].utf8))
    }

    @Test func onDuplicateSkipKeepsTheFirstOccurrence() throws {
        let dir = TemporaryDirectory("writer")
        let index = dir.file("index")
        writeFile(dir.file("a.jsonl"), #"{"id":"k","body":"first"}"# + "\n" + #"{"id":"k","body":"second"}"# + "\n")
        let report = try buildIndex(at: index, inputs: [dir.file("a.jsonl")], options: testIndexOptions { $0.onDuplicate = .skip })
        #expect(report.duplicatesSkipped == 1)
        writeFile(dir.file("b.jsonl"), #"{"id":"k","body":"third"}"# + "\n")
        let again = try buildIndex(
            at: index, inputs: [dir.file("b.jsonl")], schema: nil, options: testIndexOptions { $0.onDuplicate = .skip })
        #expect(again.duplicatesSkipped == 1)
        let reader = try IndexReader(directory: index)
        #expect(reader.documentCount == 1)
        let (segment, doc) = try #require(try reader.locate(id: "k"))
        #expect(String(decoding: try reader.storedDocument(segment: segment, doc: doc), as: UTF8.self).contains("first"))
        #expect(IndexChecker.check(index).isSound)
    }

    @Test func duplicateIdsAcrossSegmentsOfOneRunAreReplaced() throws {
        // A small memory budget splits the run into segments; a duplicate in a later segment than its original is
        // resolved when the run commits: the later line wins.
        let dir = TemporaryDirectory("writer")
        let a = Self.corpus(3000, seed: 0x1D_0003, prefix: "d-") {
            $0.uniqueWordsPerDocument = 40
            $0.maxBodyWords = 20
        }
        let again = #"{"id":"d-5","body":"again"}"#
        writeFile(dir.file("dup.jsonl"), a.jsonl + again + "\n")
        for threads in [1, 2] {
            let index = dir.file("index\(threads)")
            let report = try buildIndex(
                at: index, inputs: [dir.file("dup.jsonl")],
                options: testIndexOptions(threads: threads) { $0.memoryBudget = 4 << 20 })
            #expect(report.segmentsAdded > 1)
            #expect(report.documentsReplaced == 1)
            let reader = try IndexReader(directory: index)
            #expect(reader.documentCount == 3000)
            let (segment, doc) = try #require(try reader.locate(id: "d-5"))
            #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(again.utf8))
            #expect(IndexChecker.check(index).isSound)
        }
        let error = thrownQuarryError {
            try buildIndex(
                at: dir.file("index-error"), inputs: [dir.file("dup.jsonl")],
                options: testIndexOptions(threads: 1) {
                    $0.memoryBudget = 4 << 20
                    $0.onDuplicate = .error
                })
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("duplicate id 'd-5' at \(dir.file("dup.jsonl")):3001") == true, "\(String(describing: error))")
        #expect(try IndexReader(directory: dir.file("index-error")).documentCount == 0, "only the empty commit made when the index was created")
        #expect(listDirectory(dir.file("index-error")).allSatisfy { !$0.hasPrefix("seg-") })
    }

    @Test func segmentsMergedDuringARunKeepTheLatestVersions() throws {
        // A small budget flushes many segments; the merge policy merges them on its own thread while the workers go
        // on; ids repeated across the input resolve to their last occurrence all the same.
        let dir = TemporaryDirectory("writer")
        let a = Self.corpus(6000, seed: 0x1D_0020, prefix: "g-") {
            $0.uniqueWordsPerDocument = 40
            $0.maxBodyWords = 20
        }
        var lines = a.documents.map(\.line)
        var latest: [String: String] = [:]
        for d in a.documents { latest[d.id] = d.line }
        for k in stride(from: 0, to: 6000, by: 97) {
            let line = #"{"id":"g-\#(k)","body":"version two of \#(k)"}"#
            lines.append(line)
            latest["g-\(k)"] = line
        }
        writeFile(dir.file("in.jsonl"), lines.joined(separator: "\n") + "\n")
        for threads in [1, 2] {
            let index = dir.file("index\(threads)")
            let report = try buildIndex(
                at: index, inputs: [dir.file("in.jsonl")],
                options: testIndexOptions(threads: threads) {
                    $0.memoryBudget = 4 << 20
                    $0.mergePolicy = MergePolicy()
                    $0.mergePolicy.mergeFactor = 2
                    $0.mergePolicy.floorBytes = 1 << 16
                    // Merges during the run (the run's merge at its end is `aRunsSegmentsBecomeOne...`).
                    $0.mergePolicy.runMergeBytes = nil
                })
            #expect(report.merges > 0, "threads \(threads): \(report.segmentsAdded) segments flushed")
            #expect(report.documentsReplaced == latest.count - 6000 + (lines.count - 6000))
            let reader = try IndexReader(directory: index)
            #expect(reader.documentCount == 6000)
            #expect(reader.segments.count < report.segmentsAdded)
            for (id, line) in latest where id.hasSuffix("0") || id.hasSuffix("7") {
                let (segment, doc) = try #require(try reader.locate(id: id))
                #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(line.utf8), "\(id)")
            }
            let check = IndexChecker.check(index)
            #expect(check.isSound, "\(check.problems)")
        }
    }

    @Test func aRunsSegmentsBecomeOneAtItsEndAndEarlierSegmentsStay() throws {
        // A run that flushes several segments (a 4 MB budget, two threads) ends with them merged into one, with no
        // merge during the run; a second run over that index merges its own segments and leaves the first run's
        // segment as it was; with the run merge off, or a run over its size, the segments stay as flushed. Every
        // stored document reads back as given, and each word's document count is the naive count of the documents.
        let dir = TemporaryDirectory("writer")
        var rng = SeededRandom(seedFromEnvironmentOr: 0x52_0011)
        func batch(_ name: String, _ n: Int) -> (path: String, lines: [String: String]) {
            var lines: [String: String] = [:]
            for k in 0..<n {
                let words = (0..<Int.random(in: 40...160, using: &rng)).map { _ in "w\(rng.skewed(below: 4000))" }
                let body = words.joined(separator: " ")
                lines["\(name)-\(k)"] = #"{"id":"\#(name)-\#(k)","title":"t \#(k)","body":"\#(body)"}"#
            }
            let path = dir.file("\(name).jsonl")
            writeFile(path, lines.keys.sorted().compactMap { lines[$0] }.joined(separator: "\n") + "\n")
            return (path, lines)
        }
        func options(runMergeBytes: Int?) -> IndexOptions {
            testIndexOptions(threads: 2) {
                $0.memoryBudget = 4 << 20
                $0.mergePolicy = MergePolicy()
                $0.mergePolicy.maxSegments = nil
                $0.mergePolicy.runMergeBytes = runMergeBytes
            }
        }
        func verify(_ index: String, _ documents: [String: String], _ context: String) throws {
            let reader = try IndexReader(directory: index)
            #expect(reader.documentCount == documents.count, "\(context)")
            for (id, line) in documents where id.hasSuffix("3") {
                let (segment, doc) = try #require(try reader.locate(id: id), "\(context): \(id)")
                #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(line.utf8), "\(context): \(id)")
            }
            let searcher = Searcher(reader: reader)
            for w in ["w0", "w1", "w7", "w100", "w3999"] {
                let naive = documents.values.filter { line in
                    line.contains("\"\(w) ") || line.contains(" \(w) ") || line.contains(" \(w)\"")
                        || line.contains("\"\(w)\"")
                }
                #expect(try searcher.count(.term(field: 2, term: Array(w.utf8))) == naive.count, "\(context): \(w)")
            }
            let check = IndexChecker.check(index)
            #expect(check.isSound, "\(context): \(check.problems)")
        }
        let first = batch("a", 3000)
        let second = batch("b", 3000)
        let both = first.lines.merging(second.lines) { a, _ in a }

        let index = dir.file("index")
        let one = try buildIndex(at: index, inputs: [first.path], options: options(runMergeBytes: 4 << 30))
        #expect(one.segmentsAdded >= 3, "\(one.segmentsAdded) segments flushed")
        #expect(one.merges == 1 && one.indexSegments == 1)
        try verify(index, first.lines, "first run")
        let kept = try IndexDirectory.readManifest(index).segments[0].name
        let two = try buildIndex(
            at: index, inputs: [second.path], schema: nil, options: options(runMergeBytes: 4 << 30))
        #expect(two.segmentsAdded >= 3 && two.merges == 1)
        let names = try IndexDirectory.readManifest(index).segments.map(\.name)
        #expect(names.count == 2 && names.contains(kept), "\(names)")
        try verify(index, both, "second run")

        for (name, cap) in [("off", nil), ("over", 1)] as [(String, Int?)] {
            let other = dir.file("index-\(name)")
            let run = try buildIndex(at: other, inputs: [first.path, second.path], options: options(runMergeBytes: cap))
            #expect(run.segmentsAdded >= 3 && run.merges == 0 && run.indexSegments == run.segmentsAdded, "\(name)")
            try verify(other, both, name)
        }
    }

    @Test func storesWithDictionariesSurviveDeletesAndMerges() throws {
        // Segments whose stores are over 1 MiB (so compressed with a trained dictionary), documents deleted, then a
        // force merge: copied blocks keep their dictionaries, blocks with deletes are recompressed; every live
        // document reads back as it was given and `check` finds the index sound.
        let dir = TemporaryDirectory("writer")
        let index = dir.file("index")
        var rng = SeededRandom(seedFromEnvironmentOr: 0x1D_0050)
        var lines: [String: String] = [:]
        for run in 0..<2 {
            var batch: [String] = []
            for n in 0..<1000 {
                let id = "d-\(run)-\(n)"
                let words = (0..<Int.random(in: 100...600, using: &rng)).map { _ in "w\(rng.skewed(below: 3000))" }
                let line = #"{"id":"\#(id)","title":"t \#(n)","body":"\#(words.joined(separator: " "))"}"#
                batch.append(line)
                lines[id] = line
            }
            writeFile(dir.file("b\(run).jsonl"), batch.joined(separator: "\n") + "\n")
            try buildIndex(at: index, inputs: [dir.file("b\(run).jsonl")], schema: run == 0 ? Schema() : nil)
        }
        let before = try IndexReader(directory: index)
        #expect(before.segments.count == 2)
        for s in before.segments { #expect(try s.makeStoreReader().dictionaryCount == 1) }
        let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
        for n in stride(from: 0, to: 1000, by: 97) {
            #expect(try writer.delete(id: "d-1-\(n)") == 1)
            lines["d-1-\(n)"] = nil
        }
        try writer.commit()
        try writer.forceMerge(maxSegments: 1)
        writer.close()
        let reader = try IndexReader(directory: index)
        #expect(reader.segments.count == 1 && reader.documentCount == lines.count)
        #expect(try reader.segments[0].makeStoreReader().dictionaryCount >= 1)
        for (id, line) in lines {
            let (segment, doc) = try #require(try reader.locate(id: id))
            #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(line.utf8), "\(id)")
        }
        let check = IndexChecker.check(index)
        #expect(check.isSound, "\(check.problems)")
    }

    @Test func autoIDsNeverMeetOldOnesAfterDeletesAndMerges() throws {
        let dir = TemporaryDirectory("writer")
        let index = dir.file("index")
        writeFile(dir.file("a.jsonl"), (0..<10).map { #"{"body":"first \#($0)"}"# }.joined(separator: "\n") + "\n")
        let auto = testIndexOptions { $0.autoID = true }
        try buildIndex(at: index, inputs: [dir.file("a.jsonl")], options: auto)
        // Auto ids are line numbers (1...10). Delete two and merge them away: the index holds 8 documents, the
        // largest id is 10.
        let writer = try IndexWriter(directory: index, schema: nil, options: testIndexOptions())
        #expect(try writer.delete(id: "1") == 1)
        #expect(try writer.delete(id: "2") == 1)
        try writer.commit()
        try writer.forceMerge(maxSegments: 1)
        writer.close()
        writeFile(dir.file("b.jsonl"), #"{"body":"second"}"# + "\n")
        let report = try buildIndex(at: index, inputs: [dir.file("b.jsonl")], schema: nil, options: auto)
        #expect(report.documentsReplaced == 0)
        let reader = try IndexReader(directory: index)
        #expect(reader.documentCount == 9)
        let (segment, doc) = try #require(try reader.locate(id: "11"))
        #expect(String(decoding: try reader.storedDocument(segment: segment, doc: doc), as: UTF8.self).contains("second"))
        let (s10, d10) = try #require(try reader.locate(id: "10"))
        #expect(String(decoding: try reader.storedDocument(segment: s10, doc: d10), as: UTF8.self).contains("first 9"))
    }

    @Test func reindexingAcrossRunsReplaces() throws {
        let dir = TemporaryDirectory("writer")
        let index = dir.file("index")
        let a = Self.corpus(100, seed: 0x1D_0004, prefix: "r-")
        try buildIndex(at: index, corpus: a, scratch: dir, name: "a.jsonl")
        let filesBefore = listDirectory(index)
        writeFile(dir.file("b.jsonl"), #"{"id":"new-1","body":"x"}"# + "\n" + #"{"id":"r-42","body":"y"}"# + "\n")
        // --on-duplicate error: the run fails, naming the line, and nothing changes.
        let error = thrownQuarryError {
            try buildIndex(
                at: index, inputs: [dir.file("b.jsonl")], schema: nil, options: testIndexOptions { $0.onDuplicate = .error })
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("duplicate id 'r-42' at \(dir.file("b.jsonl")):2") == true, "\(String(describing: error))")
        #expect(listDirectory(index) == filesBefore)
        try Self.checkIndex(index, holds: a.documents, "after the failed run")
        // The default replaces.
        let report = try buildIndex(at: index, inputs: [dir.file("b.jsonl")], schema: nil)
        #expect(report.documentsAdded == 2)
        #expect(report.documentsReplaced == 1)
        let reader = try IndexReader(directory: index)
        #expect(reader.documentCount == 101)
        let (segment, doc) = try #require(try reader.locate(id: "r-42"))
        #expect(try reader.storedDocument(segment: segment, doc: doc) == Array(#"{"id":"r-42","body":"y"}"#.utf8))
        #expect(IndexChecker.check(index).isSound)
        // Running the whole first dump again converges: the same documents as one clean run.
        try buildIndex(at: index, inputs: [dir.file("a.jsonl")], schema: nil)
        let after = try IndexReader(directory: index)
        #expect(after.documentCount == 101)
        let (s2, d2) = try #require(try after.locate(id: "r-42"))
        #expect(try after.storedDocument(segment: s2, doc: d2) == Array(a.documents[42].line.utf8))
    }

    @Test func aDuplicateFoundAtACommitBarrierKeepsTheEarlierCommits() throws {
        // With --commit-every, the parts committed before the duplicate stay; the error must not claim otherwise.
        let dir = TemporaryDirectory("writer")
        let a = Self.corpus(600, seed: 0x1D_000C, prefix: "p-")
        var inputs: [String] = []
        for k in 0..<3 {
            var lines = a.documents[(k * 200)..<(k * 200 + 200)].map(\.line)
            if k == 2 { lines.append(#"{"id":"p-7","body":"again"}"#) }
            let path = dir.file("part\(k).jsonl")
            writeFile(path, lines.joined(separator: "\n") + "\n")
            inputs.append(path)
        }
        let error = thrownQuarryError {
            try buildIndex(
                at: dir.file("index"), inputs: inputs,
                options: testIndexOptions {
                    $0.commitEvery = 200
                    $0.onDuplicate = .error
                })
        }
        #expect(error?.message.contains("duplicate id 'p-7'") == true, "\(String(describing: error))")
        #expect(error?.message.contains("nothing from this run was committed") == false, "\(String(describing: error))")
        // Commits fall due every 200 records: after each part; the duplicate is record 601, alone after the third
        // commit, so the final commit fails and the three commits before it stay.
        try Self.checkIndex(dir.file("index"), holds: Array(a.documents.prefix(600)), "the first three commits")
    }

    // MARK: Bad input

    static let badLines: [(String, String)] = [
        (#"{"id":"bad-1","body":"unclosed"#, "the string is not closed"),
        (#"{"id":"bad-2","date":"not a date"}"#, "cannot parse the date"),
        (#"{"body":"no id"}"#, "no 'id' field"),
        (#"{"id":"bad-4","body":5}"#, "must be a string"),
        ("not json at all", "expected a JSON object"),
        (#"{"id":"bad-6"} trailing"#, "unexpected text"),
    ]

    @Test func skipBadCountsBadLinesAndKeepsGoodOnes() throws {
        let dir = TemporaryDirectory("writer")
        let good = Self.corpus(200, seed: 0x1D_0005, prefix: "g-")
        var lines = good.documents.map(\.line)
        var badLineNumbers: [Int] = []
        for (k, bad) in Self.badLines.enumerated() {
            let at = 10 + k * 30
            lines.insert(bad.0, at: at)
            badLineNumbers.append(at + 1)
        }
        lines.insert("", at: 5)  // blank lines are not documents, nor errors
        lines.insert("  \t", at: 100)
        badLineNumbers = badLineNumbers.map { $0 + ($0 > 5 ? 1 : 0) }.map { $0 + ($0 > 100 ? 1 : 0) }
        writeFile(dir.file("in.jsonl"), lines.joined(separator: "\n") + "\n")

        // Without --skip-bad: the first bad line stops the run, with its line number.
        let error = thrownQuarryError {
            try buildIndex(
                at: dir.file("strict"), inputs: [dir.file("in.jsonl")], options: testIndexOptions(threads: 2))
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.path == dir.file("in.jsonl"))
        #expect(error?.line == badLineNumbers[0])
        #expect(error?.message.contains(Self.badLines[0].1) == true, "\(String(describing: error))")
        #expect(error?.description.hasPrefix(dir.file("in.jsonl") + ":\(badLineNumbers[0]): column ") == true)
        #expect(try IndexReader(directory: dir.file("strict")).documentCount == 0, "only the empty commit made when the index was created")

        let report = try buildIndex(
            at: dir.file("index"), inputs: [dir.file("in.jsonl")],
            options: testIndexOptions(threads: 2) { $0.skipBad = true })
        #expect(report.documentsSkipped == Self.badLines.count)
        #expect(report.documentsAdded == good.documents.count)
        #expect(report.skippedSamples.compactMap(\.line) == badLineNumbers)
        for (sample, bad) in zip(report.skippedSamples, Self.badLines) {
            #expect(sample.message.contains(bad.1), "\(sample)")
        }
        try Self.checkIndex(dir.file("index"), holds: good.documents, "skip-bad")
    }

    @Test func crlfLineEndingsAndNoFinalNewline() throws {
        let dir = TemporaryDirectory("writer")
        let a = Self.corpus(40, seed: 0x1D_000D, prefix: "w-")
        writeFile(dir.file("crlf.jsonl"), a.documents.map(\.line).joined(separator: "\r\n"))
        let report = try buildIndex(at: dir.file("index"), inputs: [dir.file("crlf.jsonl")])
        #expect(report.documentsAdded == 40)
        try Self.checkIndex(dir.file("index"), holds: a.documents, "CRLF, no final newline")
        // An error on the last line (no newline after it) names that line.
        writeFile(dir.file("bad.jsonl"), a.documents.prefix(3).map(\.line).joined(separator: "\r\n") + "\r\n{")
        let error = thrownQuarryError { try buildIndex(at: dir.file("index2"), inputs: [dir.file("bad.jsonl")]) }
        #expect(error?.line == 4, "\(String(describing: error))")
    }

    @Test func emptyInputsAndLongLines() throws {
        let dir = TemporaryDirectory("writer")
        writeFile(dir.file("empty.jsonl"), [])
        let error = thrownQuarryError { try buildIndex(at: dir.file("index"), inputs: [dir.file("empty.jsonl")]) }
        #expect(error?.message.contains("the input is empty") == true)
        #expect(error?.path == dir.file("empty.jsonl"))

        // A line over the limit: an error with its line number, or skipped.
        let long = #"{"id":"long","body":""# + String(repeating: "word ", count: 300_000) + #""}"#
        writeFile(
            dir.file("long.jsonl"),
            [#"{"id":"one","body":"x"}"#, long, #"{"id":"three","body":"y"}"#].joined(separator: "\n") + "\n")
        let tooLong = thrownQuarryError {
            try buildIndex(
                at: dir.file("index"), inputs: [dir.file("long.jsonl")],
                options: testIndexOptions { $0.maxRecordBytes = 1 << 20 })
        }
        #expect(tooLong?.line == 2)
        #expect(tooLong?.message.contains("longer than 1 MiB") == true, "\(String(describing: tooLong))")
        let report = try buildIndex(
            at: dir.file("index"), inputs: [dir.file("long.jsonl")],
            options: testIndexOptions {
                $0.maxRecordBytes = 1 << 20
                $0.skipBad = true
            })
        #expect(report.documentsAdded == 2)
        #expect(report.documentsSkipped == 1)
        let reader = try IndexReader(directory: dir.file("index"))
        #expect(try reader.locate(id: "three") != nil)
        #expect(try reader.locate(id: "long") == nil)
        // Within the limit, the same line is a document.
        let fine = try buildIndex(at: dir.file("index2"), inputs: [dir.file("long.jsonl")])
        #expect(fine.documentsAdded == 3)
    }

    // MARK: Commits, memory and interruption

    @Test func commitEveryCommitsSeveralTimes() throws {
        // The reader puts a commit barrier after the chunk (up to 1 MiB of whole lines) that completes N documents,
        // so small inputs commit at most once per file: five files of 200 documents make five commits.
        let dir = TemporaryDirectory("writer")
        let a = Self.corpus(1000, seed: 0x1D_0006, prefix: "c-") { $0.maxBodyWords = 20 }
        var inputs: [String] = []
        for k in 0..<5 {
            let path = dir.file("part\(k).jsonl")
            writeFile(path, a.documents[(k * 200)..<(k * 200 + 200)].map(\.line).joined(separator: "\n") + "\n")
            inputs.append(path)
        }
        let report = try buildIndex(
            at: dir.file("index"), inputs: inputs, options: testIndexOptions(threads: 2) { $0.commitEvery = 200 })
        #expect(report.commits == 5, "\(report.commits) commits")
        #expect(report.documentsAdded == 1000)
        let reader = try IndexReader(directory: dir.file("index"))
        #expect(reader.manifest.generation == UInt64(report.commits))
        #expect(reader.documentCount == 1000)
        try Self.checkIndex(dir.file("index"), holds: a.documents, "commit every 200")
    }

    @Test func aTinyMemoryBudgetMakesSeveralSegmentsWithTheSameContent() throws {
        let dir = TemporaryDirectory("writer")
        // Many distinct terms, so that 4 MiB fills up several times.
        let a = Self.corpus(3000, seed: 0x1D_0007, prefix: "m-") {
            $0.uniqueWordsPerDocument = 40
            $0.maxBodyWords = 20
        }
        a.write(to: dir.file("in.jsonl"))
        let small = try buildIndex(
            at: dir.file("small"), inputs: [dir.file("in.jsonl")],
            options: testIndexOptions(threads: 2) { $0.memoryBudget = 4 << 20 })
        let large = try buildIndex(
            at: dir.file("large"), inputs: [dir.file("in.jsonl")], options: testIndexOptions(threads: 1))
        #expect(small.segmentsAdded >= 3, "\(small.segmentsAdded) segments")
        #expect(large.segmentsAdded == 1)
        let smallStats = try IndexStats(IndexReader(directory: dir.file("small")))
        let largeStats = try IndexStats(IndexReader(directory: dir.file("large")))
        #expect(ExpectedStats(smallStats) == ExpectedStats(largeStats))
        #expect(smallStats.ids == largeStats.ids)
        try Self.checkIndex(dir.file("small"), holds: a.documents, "4 MiB budget")
        try Self.checkIndex(dir.file("large"), holds: a.documents, "default budget")
    }

    @Test(arguments: [0, 1, 2, 4])
    func anInterruptedRunLeavesThePreviousCommit(afterPolls: Int) throws {
        // `isInterrupted` turns true after `afterPolls` polls: at the start, while reading, while working, or once
        // the workers have flushed their segments (which must then be deleted). A run polls at least five times
        // before it decides whether it was interrupted, so every case here is an interruption.
        let dir = TemporaryDirectory("writer")
        let index = dir.file("index")
        let a = Self.corpus(150, seed: 0x1D_0008, prefix: "i-")
        let b = Self.corpus(2000, seed: 0x1D_0009, prefix: "j-") { $0.maxBodyWords = 10 }
        try buildIndex(at: index, corpus: a, scratch: dir, name: "a.jsonl")
        let filesBefore = listDirectory(index)
        let polls = AtomicCounter()
        let report = try buildIndex(
            at: index, corpus: b, scratch: dir, name: "b.jsonl", schema: nil,
            options: testIndexOptions(threads: 2) { $0.isInterrupted = { polls.increment() > afterPolls } })
        #expect(report.interrupted)
        #expect(report.documentsAdded == 0)
        #expect(report.indexDocuments == 150)
        #expect(listDirectory(index) == filesBefore)
        try Self.checkIndex(index, holds: a.documents, "interrupted after \(afterPolls) polls")
    }

    @Test func anInterruptedRunKeepsWhatItCommitted() throws {
        // With --commit-every, an interruption keeps the commits made before it: here the run is interrupted as
        // soon as its first commit (after the first of ten files) is visible.
        let dir = TemporaryDirectory("writer")
        let b = Self.corpus(3000, seed: 0x1D_000A, prefix: "k-") { $0.maxBodyWords = 10 }
        var inputs: [String] = []
        for k in 0..<10 {
            let path = dir.file("part\(k).jsonl")
            writeFile(path, b.documents[(k * 300)..<(k * 300 + 300)].map(\.line).joined(separator: "\n") + "\n")
            inputs.append(path)
        }
        let index = dir.file("index")
        let writer = try IndexWriter(
            directory: index, schema: Schema(),
            options: testIndexOptions(threads: 1) { o in
                o.commitEvery = 300
                // (The index is committed empty when it is created: wait for a commit with documents.)
                o.isInterrupted = { [index] in ((try? IndexDirectory.readManifest(index))?.documentCount ?? 0) > 0 }
            })
        let report = try writer.index(inputs)
        writer.close()
        #expect(report.interrupted)
        let reader = try IndexReader(directory: index)
        #expect(reader.documentCount == 300)
        #expect(reader.documentCount == report.indexDocuments)
        #expect(report.documentsAdded == 300)
        try Self.checkIndex(index, holds: Array(b.documents.prefix(300)), "interrupted after the first commit")
    }

    @Test func aMergeInterruptedAfterTheRunKeepsTheRunCommitted() throws {
        // Interrupted as soon as the run's commit is visible, that is during the merge of its segments: the report
        // says so, and the index holds every document, in the segments the run flushed, with no merge files left.
        let dir = TemporaryDirectory("writer")
        let b = Self.corpus(3000, seed: 0x1D_000B, prefix: "m-") { $0.maxBodyWords = 120 }
        writeFile(dir.file("in.jsonl"), b.documents.map(\.line).joined(separator: "\n") + "\n")
        let index = dir.file("index")
        let writer = try IndexWriter(
            directory: index, schema: Schema(),
            options: testIndexOptions(threads: 2) { o in
                o.memoryBudget = 4 << 20
                o.mergePolicy = MergePolicy()
                o.isInterrupted = { [index] in ((try? IndexDirectory.readManifest(index))?.documentCount ?? 0) > 0 }
            })
        let report = try writer.index([dir.file("in.jsonl")])
        writer.close()
        #expect(!report.interrupted && report.mergeInterrupted)
        #expect(report.segmentsAdded >= 2 && report.indexSegments == report.segmentsAdded && report.merges == 0)
        let manifest = try IndexDirectory.readManifest(index)
        let files = Set(manifest.segments.flatMap { s in FileKind.segmentKinds.map { s.path($0, in: index) } })
        for name in listDirectory(index) where name.hasPrefix("seg-") {
            #expect(files.contains(index + "/" + name), "\(name) is left over")
        }
        try Self.checkIndex(index, holds: b.documents, "merge interrupted")
    }

    // MARK: Other inputs

    @Test func tsvInput() throws {
        let dir = TemporaryDirectory("writer")
        let rows = [
            "id\ttitle\tbody\tdate\tsection",
            "t1\tFirst title\tSome body text\t2024-01-02\tnews",
            "t2\tSecond\tMore\\ttext\\nhere\t\tsports",
            "t3\t\tBody only\tTue, 09 Nov 1994 11:02:01 GMT\t",
        ]
        writeFile(dir.file("in.tsv"), rows.joined(separator: "\n") + "\n")
        let report = try buildIndex(
            at: dir.file("index"), inputs: [dir.file("in.tsv")], options: testIndexOptions { $0.format = .tsv })
        #expect(report.documentsAdded == 3)
        let reader = try IndexReader(directory: dir.file("index"))
        let (s, d) = try #require(try reader.locate(id: "t2"))
        let stored = try reader.storedDocument(segment: s, doc: d)
        #expect(
            String(decoding: stored, as: UTF8.self)
                == #"{"id":"t2","title":"Second","body":"More\ttext\nhere","date":"","section":"sports"}"#)
        #expect(reader.segments[s].dates.date(d) == nil)
        let (s3, d3) = try #require(try reader.locate(id: "t3"))
        #expect(reader.segments[s3].dates.date(d3) == 784_378_921)
        let stats = try IndexStats(reader)
        #expect(stats.fields[1].totalLength == 3 + 3 + 2)
        #expect(IndexChecker.check(dir.file("index")).isSound)

        // A TSV input without a header row of the right shape.
        writeFile(dir.file("bad.tsv"), "id\tbody\nx\ty\tz\n")
        let error = thrownQuarryError {
            try buildIndex(
                at: dir.file("index2"), inputs: [dir.file("bad.tsv")], options: testIndexOptions { $0.format = .tsv })
        }
        #expect(error?.line == 2)
        #expect(error?.message.contains("expected 2 tab-separated fields") == true)
    }

    @Test func textFolderInput() throws {
        let dir = TemporaryDirectory("writer")
        let root = dir.makeDirectory("notes")
        dir.makeDirectory("notes/sub")
        writeFile(root + "/one.txt", "First note\nIt has a body.\n")
        writeFile(root + "/sub/two.txt", "From: a@example.com\nSubject: Mail-like\nDate: 2024-01-02\n\nMail body\n")
        writeFile(root + "/.hidden", "skipped")
        let report = try buildIndex(
            at: dir.file("index"), inputs: [root], options: testIndexOptions { $0.format = .text })
        #expect(report.documentsAdded == 2)
        let reader = try IndexReader(directory: dir.file("index"))
        let (s, d) = try #require(try reader.locate(id: "sub/two.txt"))
        let stored = StoredDocument(try reader.storedDocument(segment: s, doc: d))
        #expect(stored.text("title") == "Mail-like")
        #expect(stored.text("body") == "Mail body")
        #expect(reader.segments[s].dates.date(d) == 1_704_153_600)
        #expect(try reader.locate(id: "one.txt") != nil)
        #expect(try reader.locate(id: ".hidden") == nil)
        #expect(IndexChecker.check(dir.file("index")).isSound)
    }

    @Test func compressedInputs() throws {
        let dir = TemporaryDirectory("writer")
        let a = Self.corpus(300, seed: 0x1D_000B, prefix: "z-")
        a.write(to: dir.file("in.jsonl"))
        #expect(runProcess(["gzip", "-k", dir.file("in.jsonl")]) == 0)
        #expect(runProcess(["zstd", "-q", "-k", dir.file("in.jsonl"), "-o", dir.file("in.jsonl.zst")]) == 0)
        for name in ["in.jsonl.gz", "in.jsonl.zst"] {
            let report = try buildIndex(at: dir.file("index-" + name), inputs: [dir.file(name)])
            #expect(report.documentsAdded == 300)
            #expect(report.bytesRead == a.jsonl.utf8.count, "uncompressed bytes")
            try Self.checkIndex(dir.file("index-" + name), holds: a.documents, name)
        }
        // Cut short: an error naming the file, nothing committed.
        let gz = readFile(dir.file("in.jsonl.gz"))
        writeFile(dir.file("cut.gz"), Array(gz.prefix(gz.count / 2)))
        let error = thrownQuarryError { try buildIndex(at: dir.file("index-cut"), inputs: [dir.file("cut.gz")]) }
        #expect(error?.path == dir.file("cut.gz"))
        #expect(error?.message.contains("cut short") == true)
        #expect(try IndexReader(directory: dir.file("index-cut")).documentCount == 0, "only the empty commit made when the index was created")
    }

    @Test func aWordRepeatedThousandsOfTimes() throws {
        // Positions of one term in one document that pack at one bit each (regression: reported as damage).
        let dir = TemporaryDirectory("writer")
        let body = String(repeating: "la ", count: 5000)
        writeFile(dir.file("in.jsonl"), #"{"id":"song","title":"la la","body":"\#(body)"}"# + "\n")
        try buildIndex(at: dir.file("index"), inputs: [dir.file("in.jsonl")])
        let report = IndexChecker.check(dir.file("index"))
        #expect(report.isSound, "\(report.problems)")
    }
}
