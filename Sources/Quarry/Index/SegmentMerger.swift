// Merging segments: the live documents of several segments become one new segment, without analysing any text
// again (Lucene's `SegmentMerger`, Tantivy's `IndexMerger`).
//
//     doc maps: each source's live documents, numbered on from the previous source's (deleted ones dropped)
//     .store    blocks without deleted documents copied as they are (with their dictionaries); the live documents of
//               the others recompressed
//     .norms    each live document's norm bytes, field by field
//     .dates    each live document's date
//     .terms    per field, a k-way walk of the sources' dictionaries in term order; for each term, the postings of
//     .post       its live documents (renumbered), their frequencies and positions, streamed a document at a time
//     .pos        to the same PostingsWriter as a fresh segment's; a term left with no live document is dropped
//
// The merged segment's field lengths are the sums of the frequencies written, as Tantivy computes them: the exact
// token counts of the live documents, so after a merge that drops every deleted document the statistics (N, average
// lengths, document frequencies) are those of an index built from the live documents alone, and so are the scores.
// The merged segment is written through the same file writers (header, checksum, fsync) and committed by the
// caller through the same manifest commit as any other segment.

import CQuarry
import Synchronization

/// A segment to merge: its reader and the deletes in force when the merge started.
struct MergeSource {
    let reader: SegmentReader
    let deletes: DeletedDocuments?
}

/// What a merge produced.
struct MergeResult {
    /// The merged segment (not yet committed).
    let info: SegmentInfo
    /// Per source, per document: its number in the merged segment, or -1 if it was deleted (dropped).
    let docMaps: [[Int32]]
}

enum SegmentMerger {
    /// Streams the live documents of one source's postings of a term (renumbered by `map`) to `writer`, with their
    /// frequencies, norms and (with positions) each one's first position and gaps. Marks the iterator damaged on any
    /// inconsistency.
    /// - Returns: the sum of the frequencies written.
    /// - Parameter base: where the source's documents start in the merged segment when none is deleted (then
    ///   `map` is not read: a load per posting that missed the cache).
    fileprivate static func copy(
        _ it: PostingsIterator, _ map: [Int32], base: Int32?, _ norms: [UInt8]?, _ hasPositions: Bool,
        to writer: PostingsWriter
    ) throws(QuarryError) -> UInt64 {
        let normBytes = norms ?? []
        return try map.withBuffer { mapBuffer throws(QuarryError) -> UInt64 in
            try normBytes.withBuffer { normBuffer throws(QuarryError) -> UInt64 in
                var total: UInt64 = 0
                var d = it.doc
                while d != terminated {
                    guard Int(d) < mapBuffer.count else {
                        it.markCorrupted()
                        break
                    }
                    // For rare terms each posting's map entry or norm is a line of its own: the one of the posting
                    // 8 on is fetched ahead (a hint: any address will do).
                    if let ahead = it.upcoming(8) {
                        if let b = base {
                            if let n = normBuffer.baseAddress { quarry_prefetch(n + Int(b) + Int(ahead)) }
                        } else if let m = mapBuffer.baseAddress {
                            quarry_prefetch(m + Int(ahead))
                        }
                    }
                    let target = base.map { $0 &+ Int32(truncatingIfNeeded: d) } ?? mapBuffer[Int(d)]
                    if target >= 0 {
                        let freq = it.freq
                        let norm = Int(target) < normBuffer.count ? normBuffer[Int(target)] : 0
                        total &+= UInt64(freq)
                        if hasPositions {
                            let n = it.loadPositions()
                            guard n == Int(freq) else {
                                it.markCorrupted()
                                break
                            }
                            try writer.add(
                                doc: UInt32(target), freq: freq, norm: norm, absolutePositions: it.positionsBuffer,
                                count: n)
                        } else {
                            try writer.add(doc: UInt32(target), freq: freq, norm: norm, positions: nil)
                        }
                    }
                    d = it.next()
                }
                return total
            }
        }
    }

    /// Merges `sources` (in order) into a new segment `name` in `directory`.
    /// - Throws: `.corruptIndex` if a source's data fails a check; the partial files are removed.
    /// - Parameter parallel: merge each text field's terms in two halves at once (false: in one pass; the files are
    ///   the same byte for byte).
    static func merge(
        _ sources: [MergeSource], schema: Schema, directory: String, name: String, id: [UInt8],
        compressor: ZstdCompressor, parallel: Bool = true, isCancelled: @escaping @Sendable () -> Bool = { false }
    ) throws(QuarryError) -> MergeResult {
        let paths = FileKind.segmentKinds.map { directory + "/" + name + "." + $0.fileExtension }
        // (With the part files of a field's second half: see `TermRange`.)
        let parts = [FileKind.postings, .positions, .terms].map {
            directory + "/" + name + "." + $0.fileExtension + ".part"
        }
        do {
            return try write(
                sources, schema: schema, directory: directory, name: name, id: id, compressor: compressor,
                parallel: parallel, isCancelled: isCancelled)
        } catch {
            for p in paths + parts { _ = Syscalls.unlink(p) }
            throw error
        }
    }

    private static func write(
        _ sources: [MergeSource], schema: Schema, directory: String, name: String, id: [UInt8],
        compressor: ZstdCompressor, parallel: Bool, isCancelled: @escaping @Sendable () -> Bool
    ) throws(QuarryError) -> MergeResult {
        func path(_ kind: FileKind) -> String { directory + "/" + name + "." + kind.fileExtension }
        // Every source file's checksum first (Lucene's `checkIntegrity` before a merge): blocks are copied as they
        // are, so damage must be found here, not carried into the merged segment.
        for s in sources {
            for file in s.reader.mappedFiles {
                file.adviseSequential()
                try file.verifyChecksumReleasingPages()
            }
            if isCancelled() { throw QuarryError(.interrupted, "the merge was interrupted", path: directory) }
        }
        // Doc maps. A source without deletes maps its documents to a run: where the run starts is enough.
        var maps: [[Int32]] = []
        var bases: [Int32?] = []
        var total = 0
        for s in sources {
            let base = total
            var map = [Int32](repeating: -1, count: s.reader.docCount)
            for d in 0..<s.reader.docCount where !(s.deletes?.contains(d) ?? false) {
                map[d] = Int32(truncatingIfNeeded: total)
                total += 1
            }
            maps.append(map)
            bases.append(total - base == s.reader.docCount ? Int32(truncatingIfNeeded: base) : nil)
        }
        guard total < Int(Int32.max) else {
            throw QuarryError(.invalidArgument, "a merged segment would hold more than 2^31 documents", path: directory)
        }
        var sizes: [FileKind: Int] = [:]
        // Stored documents, norms and dates, document by document.
        let store = try StoreWriter(path: path(.store), segmentID: id, compressor: compressor)
        let fieldCount = schema.textFields.count
        var norms = [[UInt8]](repeating: [], count: fieldCount)
        for f in 0..<fieldCount { norms[f].reserveCapacity(total) }
        var dates = DateColumnWriter()
        for (si, s) in sources.enumerated() {
            let reader = try s.reader.makeStoreReader(verify: true)
            let columns = (0..<fieldCount).map { s.reader.norms.column($0 + 1) }
            // Stored documents: a block with no deleted document is copied as it is (Tantivy's store stacking);
            // the others are decompressed and their live documents added one by one.
            // The dictionaries of this source's copied blocks, by their number there, once copied.
            var copiedDictionaries: [Int: Int] = [:]
            var read = 0
            for b in 0..<reader.blockCount {
                let block = try reader.rawBlock(b)
                // Pages already read are dropped from time to time, as in the terms' loop below: a source's store
                // is most of its size (hundreds of MB in the 1M corpus's segments), and held until the source's
                // end it counted whole in the process's resident memory.
                read += block.frame.count
                if read >= 4 << 20 {
                    read = 0
                    s.reader.dropResidentPages()
                }
                let range = block.firstDoc..<(block.firstDoc + block.documents)
                if range.allSatisfy({ maps[si][$0] >= 0 }) {
                    var dictionary: Int?
                    if let d = block.dictionary {
                        if let copied = copiedDictionaries[d] {
                            dictionary = copied
                        } else {
                            let copied = try store.importDictionary(try reader.dictionary(d))
                            copiedDictionaries[d] = copied
                            dictionary = copied
                        }
                    }
                    try store.appendCompressedBlock(
                        block.frame, documents: block.documents, uncompressedSize: block.uncompressedSize,
                        dictionary: dictionary)
                    continue
                }
                for d in range where maps[si][d] >= 0 {
                    try reader.withDocument(d) { raw throws(QuarryError) in
                        try store.add(raw)
                    }
                }
            }
            guard reader.docCount == s.reader.docCount else {
                throw QuarryError.corrupt(
                    s.reader.info.path(.store, in: s.reader.directory), "the store does not hold the segment's documents")
            }
            for d in 0..<s.reader.docCount where maps[si][d] >= 0 {
                for f in 0..<fieldCount {
                    guard let col = columns[f], d < col.count else {
                        throw QuarryError.corrupt(
                            s.reader.info.path(.norms, in: s.reader.directory), "field norms are missing for a field")
                    }
                    norms[f].append(col.loadU8(d))
                }
                dates.append(s.reader.dates.date(d))
            }
            s.reader.dropResidentPages()
            if isCancelled() { throw QuarryError(.interrupted, "the merge was interrupted", path: directory) }
        }
        sizes[.store] = try store.finish()
        sizes[.norms] = try FieldNormsWriter.write(
            path: path(.norms), segmentID: id, docCount: total,
            columns: norms.enumerated().map { ($0.offset + 1, $0.element) })
        sizes[.dates] = try dates.write(path: path(.dates), segmentID: id)

        // Terms, field by field, in term order. A text field's terms are merged in two halves at once, the second
        // on a thread of its own into files of its own, appended after the first half's (see `TermRange`).
        let postingsFile = try FileWriter(path: path(.postings), kind: .postings, id: id)
        let positionsFile = try FileWriter(path: path(.positions), kind: .positions, id: id)
        let writer = PostingsWriter(postings: postingsFile, positions: positionsFile)
        let dictionary = try TermDictionaryWriter(path: path(.terms), segmentID: id)
        var fieldLengths = [UInt64](repeating: 0, count: fieldCount)
        let readers = sources.map(\.reader)
        for ord in 0...fieldCount {
            let hasPositions = ord != Schema.idOrd
            var started = false
            func add(_ term: [UInt8], _ info: TermInfo) throws(QuarryError) {
                if !started {
                    try dictionary.startField(ord, hasPositions: hasPositions, compressed: ord == Schema.idOrd)
                    started = true
                }
                try term.withBuffer { t throws(QuarryError) in try dictionary.add(t, info) }
            }
            let fieldNorms = hasPositions ? norms[ord - 1] : nil
            // The split: the middle of the largest source's data for the field.
            let largest = readers.indices.max { readers[$0].info.totalBytes < readers[$1].info.totalBytes }
            let split = parallel && hasPositions ? largest.flatMap { readers[$0].terms.middleKey(ord) } : nil
            var second: TermRange?
            var thread: Thread?
            if let split {
                let range = try TermRange(
                    readers: readers, field: ord, from: split, maps: maps, bases: bases, norms: fieldNorms,
                    partPath: { path($0) + ".part" }, id: id, isCancelled: isCancelled)
                second = range
                thread = Thread { range.run() }
            }
            do {
                let length = try TermRange.mergeTerms(
                    readers, field: ord, from: nil, below: split, maps: maps, bases: bases, norms: fieldNorms,
                    to: writer, isCancelled: isCancelled, add)
                if hasPositions { fieldLengths[ord - 1] &+= length }
            } catch {
                second?.cancel()
                thread?.join()
                second?.removeFiles()
                throw error
            }
            if let second, let thread {
                thread.join()
                defer { second.removeFiles() }
                let length = try second.append(to: postingsFile, positionsFile, add)
                fieldLengths[ord - 1] &+= length
            }
            if isCancelled() { throw QuarryError(.interrupted, "the merge was interrupted", path: directory) }
        }
        sizes[.terms] = try dictionary.finish()
        sizes[.postings] = try postingsFile.finish()
        sizes[.positions] = try positionsFile.finish()
        let info = SegmentInfo(name: name, id: id, docCount: total, fieldLengths: fieldLengths, fileSizes: sizes)
        return MergeResult(info: info, docMaps: maps)
    }
}

/// One range of a field's terms merged into postings, positions and dictionary entries: the first half of a field
/// on the merging thread, straight into the segment's files; the second half (`run`, on a thread of its own) into
/// part files of its own (`.post.part`, `.pos.part`, and its entries in `.terms.part`), which `append` then copies
/// after the first half's bytes, moving each entry's offsets by where they landed. Postings and positions are
/// position-independent (every offset inside a term's data counts from the term's start), so the merged files are
/// those of a merge in one pass, byte for byte. The terms' copying is most of a merge (77% of merging usenet's 4
/// segments into one), and most merges run with a core to spare (the merge that ends an indexing run, `quarry
/// merge`, the server's); one beside a large run's indexing threads shares the cores with them.
final class TermRange: @unchecked Sendable {
    private let readers: [SegmentReader]
    private let field: Int
    private let start: [UInt8]
    private let maps: [[Int32]]
    private let bases: [Int32?]
    private let norms: [UInt8]?
    private let isCancelled: @Sendable () -> Bool
    private let cancelled = Atomic<Bool>(false)
    private let postings: FileWriter
    private let positions: FileWriter
    private let entries: FileWriter
    private var postingsEnd = 0
    private var positionsEnd = 0
    private var entriesEnd = 0
    private var fieldLength: UInt64 = 0
    private var failure: QuarryError?

    init(
        readers: [SegmentReader], field: Int, from start: [UInt8], maps: [[Int32]], bases: [Int32?], norms: [UInt8]?,
        partPath: (FileKind) -> String, id: [UInt8], isCancelled: @escaping @Sendable () -> Bool
    ) throws(QuarryError) {
        self.readers = readers
        self.field = field
        self.start = start
        self.maps = maps
        self.bases = bases
        self.norms = norms
        self.isCancelled = isCancelled
        postings = try FileWriter(path: partPath(.postings), kind: .postings, id: id)
        positions = try FileWriter(path: partPath(.positions), kind: .positions, id: id)
        entries = try FileWriter(path: partPath(.terms), kind: .terms, id: id)
    }

    func cancel() { cancelled.store(true, ordering: .relaxed) }

    /// Merges the terms from `start` on into the part files (on its own thread; errors are kept for `append`).
    func run() {
        do throws(QuarryError) {
            let writer = PostingsWriter(postings: postings, positions: positions)
            var buffer = ByteBuffer(capacity: 1 << 16)
            let entries = self.entries
            fieldLength = try TermRange.mergeTerms(
                readers, field: field, from: start, below: nil, maps: maps, bases: bases, norms: norms, to: writer,
                isCancelled: { self.cancelled.load(ordering: .relaxed) || self.isCancelled() }
            ) { (term: [UInt8], info: TermInfo) throws(QuarryError) in
                buffer.vint(UInt64(term.count))
                buffer.bytes.append(contentsOf: term)
                buffer.vint(UInt64(info.docFreq))
                buffer.vint(info.postingsOffset)
                buffer.vint(info.positionsOffset)
                buffer.vint(UInt64(info.singletonDoc))
                buffer.vint(UInt64(info.singletonFreq))
                if buffer.count >= 1 << 16 {
                    try entries.write(buffer)
                    buffer.removeAll()
                }
            }
            try entries.write(buffer)
            postingsEnd = postings.position
            positionsEnd = positions.position
            entriesEnd = entries.position
            // Flushed, not finished: read back by this merge and removed, they need no footer and no fsync
            // (the merged files get both).
            try postings.flush()
            try positions.flush()
            try entries.flush()
        } catch {
            failure = error
        }
    }

    /// Copies the part files' bytes after `postingsFile`'s and `positionsFile`'s, and adds the entries with their
    /// offsets moved (after `run` is done). Returns the sum of the frequencies written.
    func append(
        to postingsFile: FileWriter, _ positionsFile: FileWriter,
        _ add: ([UInt8], TermInfo) throws(QuarryError) -> Void
    ) throws(QuarryError) -> UInt64 {
        if let failure { throw failure }
        let header = FileFormat.headerSize
        let postingsShift = UInt64(postingsFile.position - header)
        let positionsShift = UInt64(positionsFile.position - header)
        let copies = [(postings.path, postingsEnd, postingsFile), (positions.path, positionsEnd, positionsFile)]
        for (part, end, file) in copies {
            let mapped = try MappedFile(path: part)
            mapped.adviseSequential()
            // 4 MiB at a time, each dropped once copied: the second half of the 1M corpus's positions is 150 MB,
            // which would otherwise all count in the process's resident memory.
            var at = header
            while at < end {
                let n = min(4 << 20, end - at)
                guard let piece = mapped.bytes.slice(at, n) else {
                    throw QuarryError(.io, "a merge's part file is shorter than written", path: part)
                }
                try file.write(piece)
                at += n
                mapped.dropResidentPages(below: at)
            }
        }
        let mapped = try MappedFile(path: entries.path)
        guard let body = mapped.bytes.slice(header, entriesEnd - header) else {
            throw QuarryError(.io, "a merge's part file is shorter than written", path: entries.path)
        }
        var c = ByteCursor(body)
        var dropped = 0
        while c.remaining > 0 {
            if c.position - dropped >= 4 << 20 {
                dropped = c.position
                mapped.dropResidentPages(below: header + dropped)
            }
            guard let length = c.vint(limit: TermDictionaryWriter.maxTermLength), let term = c.bytes(length),
                let df = c.vint(), let postingsOffset = c.vint(), let positionsOffset = c.vint(),
                let doc = c.vint(), let freq = c.vint()
            else { throw QuarryError(.io, "a merge's part file cannot be read back", path: entries.path) }
            var info = TermInfo(
                docFreq: UInt32(truncatingIfNeeded: df), postingsOffset: postingsOffset,
                positionsOffset: positionsOffset, singletonDoc: UInt32(truncatingIfNeeded: doc),
                singletonFreq: UInt32(truncatingIfNeeded: freq))
            if info.docFreq >= 2 { info.postingsOffset &+= postingsShift }
            info.positionsOffset &+= positionsShift
            try add(term.toArray(), info)
        }
        return fieldLength
    }

    /// Removes the part files.
    func removeFiles() {
        for p in [postings.path, positions.path, entries.path] { _ = Syscalls.unlink(p) }
    }

    /// Merges the terms of `field` from `start` (or the first) up to before `below` (or the last) to `writer`,
    /// calling `add` with each term written and its entry. Returns the sum of the frequencies written.
    static func mergeTerms(
        _ readers: [SegmentReader], field ord: Int, from start: [UInt8]?, below end: [UInt8]?, maps: [[Int32]],
        bases: [Int32?], norms: [UInt8]?, to writer: PostingsWriter, isCancelled: () -> Bool,
        _ add: ([UInt8], TermInfo) throws(QuarryError) -> Void
    ) throws(QuarryError) -> UInt64 {
        let hasPositions = ord != Schema.idOrd
        var length: UInt64 = 0
        var read = 0
        var terms = 0
        // The impacts' merges are chosen at the sources' average length (deleted documents counted).
        let docs = readers.reduce(0) { $0 + $1.docCount }
        let total = readers.reduce(UInt64(0)) {
            $0 &+ (ord >= 1 && ord - 1 < $1.info.fieldLengths.count ? $1.info.fieldLengths[ord - 1] : 0)
        }
        writer.averageLength = hasPositions && docs > 0 ? Float(total) / Float(docs) : nil
        try TermMergeWalk.forEachTerm(readers, field: ord, from: start) { term, members throws(QuarryError) in
            if let end, !term.lexicographicallyPrecedes(end) { return false }
            writer.beginTerm(withPositions: hasPositions)
            for m in members {
                let source = readers[m.segment]
                let it = source.postingsIterator(ord, m.info, withPositions: hasPositions)
                let written = try SegmentMerger.copy(
                    it, maps[m.segment], base: bases[m.segment], norms, hasPositions, to: writer)
                if hasPositions { length &+= written }
                if it.corrupted {
                    throw QuarryError.corrupt(
                        source.info.path(.postings, in: source.directory),
                        "the postings of a term failed a check during a merge")
                }
                // About the bytes read: a posting takes one to two bytes, a position about one.
                read &+= 2 &* it.docFreq &+ Int(truncatingIfNeeded: written)
            }
            // Pages already read are dropped from time to time (see MappedFile.dropResidentPages), about every
            // 4 MB of postings and positions read over all the sources.
            if read >= 4 << 20 {
                read = 0
                for r in readers { r.dropResidentPages() }
            }
            terms &+= 1
            if terms & 4095 == 0 && isCancelled() {
                throw QuarryError(.interrupted, "the merge was interrupted", path: readers.first?.directory)
            }
            guard let info = try writer.finishTerm() else { return true }
            try add(term, info)
            return true
        }
        return length
    }
}
