// Opening an index for reading: the manifest, then each segment's files mapped with `mmap`. Opening reads the
// manifest, and each file's header, footer and trailer; postings, positions, norms, dates and stored documents are
// paged in by the kernel only when a query touches them. Readers never lock: a commit replaces the manifest
// atomically and never changes a segment file, so a reader keeps seeing the commit it opened.

/// One open segment.
public final class SegmentReader: @unchecked Sendable {
    public let info: SegmentInfo
    let terms: TermDictionary
    let postings: RawBytes
    let positions: RawBytes
    /// The chunk checksums of `.post` and `.pos` (ChunkChecksums.swift).
    let postingsChunks: ChunkVerifier
    let positionsChunks: ChunkVerifier
    let norms: FieldNormsReader
    let dates: DateColumnReader
    /// The deleted documents (nil: none).
    let deletes: DeletedDocuments?
    private let files: [MappedFile]
    private let storeFile: MappedFile
    /// The store's dictionaries, digested once for all the readers made by `makeStoreReader`.
    private let storeDictionaries = StoreDictionaries()
    let directory: String

    /// Documents in the segment, deleted ones included (document numbers are `0..<docCount`).
    public var docCount: Int { info.docCount }

    /// True if `doc` is deleted.
    @inline(__always)
    public func isDeleted(_ doc: Int) -> Bool { deletes?.contains(doc) ?? false }

    init(directory: String, info: SegmentInfo) throws(QuarryError) {
        self.info = info
        self.directory = directory
        let termsFile = try MappedFile(path: info.path(.terms, in: directory))
        let postingsFile = try MappedFile(path: info.path(.postings, in: directory))
        let positionsFile = try MappedFile(path: info.path(.positions, in: directory))
        let normsFile = try MappedFile(path: info.path(.norms, in: directory))
        let datesFile = try MappedFile(path: info.path(.dates, in: directory))
        storeFile = try MappedFile(path: info.path(.store, in: directory))
        for (file, kind) in [
            (termsFile, FileKind.terms), (postingsFile, .postings), (positionsFile, .positions), (normsFile, .norms),
            (datesFile, .dates), (storeFile, .store),
        ] {
            if let expected = info.fileSizes[kind], expected != file.bytes.count {
                throw QuarryError.corrupt(
                    file.path, "file has \(file.bytes.count) bytes, the manifest says \(expected) (truncated or replaced)")
            }
        }
        terms = try TermDictionary(file: termsFile, segmentID: info.id)
        (postings, postingsChunks) = try FileFormat.open(postingsFile, kind: .postings, id: info.id, minimumTrailer: 0)
        (positions, positionsChunks) = try FileFormat.open(
            positionsFile, kind: .positions, id: info.id, minimumTrailer: 0)
        norms = try FieldNormsReader(file: normsFile, segmentID: info.id, expectedDocs: info.docCount)
        dates = try DateColumnReader(file: datesFile, segmentID: info.id, expectedDocs: info.docCount)
        files = [termsFile, postingsFile, positionsFile, normsFile, datesFile, storeFile]
        deletes = info.deleteGeneration == 0 ? nil : try DeletedDocuments.read(segment: info, in: directory)
        // The store's header, footer and trailer now, so that a damaged one is reported at open.
        _ = try StoreReader(file: storeFile, segmentID: info.id, expectedDocs: info.docCount)
    }

    /// A reader of this segment's stored documents (one per thread: it caches a block).
    /// - Parameter verify: check the block index whole first (for `check`).
    func makeStoreReader(verify: Bool = false) throws(QuarryError) -> StoreReader {
        try StoreReader(
            file: storeFile, segmentID: info.id, expectedDocs: info.docCount, verify: verify,
            dictionaries: storeDictionaries)
    }

    /// The date column, with its block table checked whole (for `check`).
    func verifiedDates() throws(QuarryError) -> DateColumnReader {
        try DateColumnReader(file: files[4], segmentID: info.id, expectedDocs: info.docCount, verify: true)
    }

    /// The mapped files, for `check`.
    var mappedFiles: [MappedFile] { files }

    /// Drops the pages of the segment's files from this process's memory (they stay in the page cache): for walks
    /// that read whole segments (merges, `check`).
    func dropResidentPages() {
        for file in files { file.dropResidentPages() }
    }

    /// Throws if one of the segment's files was truncated while it was open (see MappedFile.swift): whatever was
    /// read from it since then is not to be trusted.
    func checkIntact() throws(QuarryError) {
        if MappedFile.faultCount == 0 { return }
        for file in files { try file.checkIntact() }
    }

    /// The norm byte of `doc` in field `ord` (0 if the field has no norms here).
    func norm(_ ord: Int, _ doc: Int) -> UInt8 {
        guard let col = norms.column(ord), doc >= 0, doc < col.count else { return 0 }
        return col.loadU8(doc)
    }

    /// Opens the postings of a term found in this segment.
    func postingsIterator(_ ord: Int, _ info: TermInfo, withPositions: Bool) -> PostingsIterator {
        let singletonNorm = info.docFreq == 1 ? norm(ord, Int(info.singletonDoc)) : 0
        return PostingsIterator(
            postings: postings, positions: withPositions ? positions : nil, info: info, maxDoc: docCount,
            singletonNorm: singletonNorm, postingsChunks: postingsChunks, positionsChunks: positionsChunks)
    }

    /// Looks up a live document by id.
    func lookupID(_ id: [UInt8]) throws(QuarryError) -> Int? {
        try documents(withID: id).last { !isDeleted($0) }
    }

    /// Every document an id term points to, deleted or not, in order. One, except in a segment merged from
    /// segments of one run that had not yet been resolved against each other (the commit deletes all but one).
    func documents(withID id: [UInt8]) throws(QuarryError) -> [Int] {
        let info = try id.withBytes { raw throws(QuarryError) in try terms.lookup(Schema.idOrd, raw) }
        guard let info else { return [] }
        return try documents(of: info)
    }

    /// The documents of an id term's dictionary entry, checked against the segment's size.
    func documents(of info: TermInfo) throws(QuarryError) -> [Int] {
        guard info.docFreq >= 1 else { return [] }
        if info.docFreq == 1 {
            guard Int(info.singletonDoc) < docCount else {
                throw QuarryError.corrupt(info.path(in: self), "id entry points past the segment's end")
            }
            return [Int(info.singletonDoc)]
        }
        let it = postingsIterator(Schema.idOrd, info, withPositions: false)
        var out: [Int] = []
        var d = it.doc
        while d != terminated && Int(d) < docCount {
            out.append(Int(d))
            d = it.next()
        }
        if it.corrupted || d != terminated {
            throw QuarryError.corrupt(info.path(in: self), "the postings of an id are damaged")
        }
        return out
    }
}

extension TermInfo {
    fileprivate func path(in segment: SegmentReader) -> String {
        segment.info.path(.terms, in: segment.directory)
    }
}

/// An open index: a manifest and its segments.
public final class IndexReader: @unchecked Sendable {
    public let directory: String
    public let manifest: Manifest
    public let segments: [SegmentReader]
    /// Documents over all segments, not counting deleted ones.
    public let documentCount: Int
    /// Documents over all segments, deleted ones included: N in BM25 (deleted documents count in statistics until
    /// a merge drops them, as in Lucene and Tantivy; docs/FORMAT.md).
    public let statisticsDocumentCount: Int
    /// Per field ord: total terms over all segments.
    let fieldLengths: [UInt64]
    /// Per field ord (index ord - 1): its length factors (`lengthFactors`).
    private let lengthFactorTable: [LengthFactors]
    /// The indexes combined into this one (`init(combining:)`); empty for one index.
    private var combined: [IndexReader] = []
    /// The indexes searched as this one: those combined, or just this one.
    public var parts: [IndexReader] { combined.isEmpty ? [self] : combined }

    /// Opens the index at `directory`.
    public init(directory: String) throws(QuarryError) {
        self.directory = directory
        let manifest = try IndexDirectory.readManifest(directory)
        self.manifest = manifest
        var segments: [SegmentReader] = []
        for s in manifest.segments {
            segments.append(try SegmentReader(directory: directory, info: s))
        }
        self.segments = segments
        self.documentCount = manifest.liveDocumentCount
        self.statisticsDocumentCount = manifest.documentCount
        self.fieldLengths = manifest.fieldLengths
        self.lengthFactorTable = IndexReader.lengthFactors(manifest)
    }

    /// Several indexes searched as one (`quarry search -i a -i b`): their segments side by side, so that BM25's
    /// statistics (N, document frequencies, average lengths) are taken over all of them, exactly as in one index
    /// holding every document (Elasticsearch's dfs_query_then_fetch; docs/SCALING.md). The schemas must be equal
    /// (same fields and analyzer), or the terms would not mean the same.
    public convenience init(combining readers: [IndexReader]) throws(QuarryError) {
        guard let first = readers.first else {
            throw QuarryError(.invalidArgument, "no index to search")
        }
        for r in readers.dropFirst() where r.schema != first.schema {
            throw QuarryError(
                .invalidArgument,
                "\(first.directory) and \(r.directory) cannot be searched together: their schemas differ (fields \(first.schema.describe) and \(r.schema.describe))")
        }
        var manifest = first.manifest
        manifest.segments = readers.flatMap { $0.manifest.segments }
        self.init(directory: first.directory, manifest: manifest, segments: readers.flatMap(\.segments))
        self.combined = readers
    }

    /// Throws if a file of the index was truncated while it was open. The searcher calls it after every query, and
    /// document fetches after every read: a result computed from such a file is an error, not an answer.
    public func checkIntact() throws(QuarryError) {
        if MappedFile.faultCount == 0 { return }
        for s in segments { try s.checkIntact() }
    }

    /// A reader over segments already open (the writer's view of committed and pending segments).
    init(directory: String, manifest: Manifest, segments: [SegmentReader]) {
        self.directory = directory
        self.manifest = manifest
        self.segments = segments
        self.documentCount = manifest.liveDocumentCount
        self.statisticsDocumentCount = manifest.documentCount
        self.fieldLengths = manifest.fieldLengths
        self.lengthFactorTable = IndexReader.lengthFactors(manifest)
    }

    /// Each text field's length factors, from the manifest's statistics.
    private static func lengthFactors(_ manifest: Manifest) -> [LengthFactors] {
        manifest.fieldLengths.map { LengthFactors(avgLength: average($0, manifest.documentCount)) }
    }

    public var schema: Schema { manifest.schema }

    /// The BM25 length factors of a text field over the whole index (made once per field when the reader opens:
    /// ~5,000 instructions each, as much as a small query's own work when every term made them).
    func lengthFactors(_ ord: Int) -> LengthFactors {
        ord >= 1 && ord <= lengthFactorTable.count ? lengthFactorTable[ord - 1] : LengthFactors(avgLength: 1)
    }

    /// The average length of a text field over the whole index (total terms / documents).
    func averageLength(_ ord: Int) -> Float {
        guard ord >= 1, ord <= fieldLengths.count else { return 1 }
        return IndexReader.average(fieldLengths[ord - 1], statisticsDocumentCount)
    }

    /// `total` terms over `documents` (1 when either is 0).
    private static func average(_ total: UInt64, _ documents: Int) -> Float {
        guard documents > 0 else { return 1 }
        let avg = Float(total) / Float(documents)
        return avg > 0 ? avg : 1
    }

    /// Finds a document by id: (segment index, document).
    public func locate(id: String) throws(QuarryError) -> (segment: Int, doc: Int)? {
        let bytes = Array(id.utf8)
        for (i, s) in segments.enumerated().reversed() {
            if let d = try s.lookupID(bytes) { return (i, d) }
        }
        return nil
    }

    /// The stored JSON of a document.
    public func storedDocument(segment: Int, doc: Int) throws(QuarryError) -> [UInt8] {
        let bytes = try segments[segment].makeStoreReader().document(doc)
        try segments[segment].checkIntact()
        return bytes
    }
}
