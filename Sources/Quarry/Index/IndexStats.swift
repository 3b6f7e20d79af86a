// Statistics of an index for `quarry stats`: what is in it, how big each part is, and per field the number of
// distinct terms (merged over segments, so a term in several segments counts once) and the average length.

/// Figures about an index.
public struct IndexStats: Sendable {
    public struct FieldStats: Sendable {
        public var name: String
        /// Distinct terms over the whole index.
        public var terms: Int
        /// Total terms (tokens) over all documents.
        public var totalLength: UInt64
        /// Average terms per document (over all documents).
        public var averageLength: Double
    }

    /// Live documents (deleted ones are not counted).
    public var documents: Int
    /// Deleted documents still held by segments (until a merge drops them).
    public var deletedDocuments: Int
    public var segments: Int
    /// Bytes per file kind (the manifest included).
    public var bytesByKind: [(kind: FileKind, bytes: Int)]
    public var bytes: Int
    public var fields: [FieldStats]
    /// Distinct ids held by live documents (equals `documents` in a sound index).
    public var ids: Int
    public var datedDocuments: Int
    public var minDate: Int64?
    public var maxDate: Int64?
    public var analyzer: AnalyzerKind
    public var generation: UInt64
    public var segmentDocuments: [(name: String, documents: Int, bytes: Int)]

    /// Computes the statistics of an open index.
    public init(_ reader: IndexReader) throws(QuarryError) {
        let m = reader.manifest
        documents = reader.documentCount
        deletedDocuments = m.documentCount - m.liveDocumentCount
        segments = reader.segments.count
        analyzer = m.schema.analyzer
        generation = m.generation
        var byKind: [FileKind: Int] = [:]
        for s in m.segments {
            for (k, v) in s.fileSizes { byKind[k, default: 0] += v }
            if let path = s.deletesPath(in: reader.directory), case .success(let st) = Syscalls.status(path) {
                byKind[.deletes, default: 0] += Int(st.size)
            }
        }
        var manifestSize = 0
        if case .success(let st) = Syscalls.status(reader.directory + "/" + Manifest.fileName) {
            manifestSize = Int(st.size)
        }
        byKind[.manifest] = manifestSize
        bytesByKind = FileKind.allCases.compactMap { k in byKind[k].map { (k, $0) } }
        bytes = byKind.values.reduce(0, +)
        var fields: [FieldStats] = []
        for ord in m.schema.textFieldOrds {
            let total = reader.fieldLengths[ord - 1]
            fields.append(
                FieldStats(
                    name: m.schema.fieldName(ord),
                    terms: try IndexStats.distinctTerms(reader.segments, ord),
                    totalLength: total,
                    averageLength: reader.statisticsDocumentCount > 0
                        ? Double(total) / Double(reader.statisticsDocumentCount) : 0))
        }
        self.fields = fields
        ids = try IndexStats.liveIDs(reader.segments)
        var dated = 0
        var lo = Int64.max
        var hi = Int64.min
        for s in reader.segments {
            dated += s.dates.datedDocs
            if s.dates.datedDocs > 0 {
                lo = min(lo, s.dates.minDate)
                hi = max(hi, s.dates.maxDate)
            }
        }
        datedDocuments = dated
        minDate = dated > 0 ? lo : nil
        maxDate = dated > 0 ? hi : nil
        segmentDocuments = m.segments.map { ($0.name, $0.liveCount, $0.totalBytes) }
    }

    /// Distinct ids held by at least one live document.
    static func liveIDs(_ segments: [SegmentReader]) throws(QuarryError) -> Int {
        if !segments.contains(where: { $0.deletes != nil }) { return try distinctTerms(segments, Schema.idOrd) }
        var n = 0
        try TermMergeWalk.forEachTerm(segments, field: Schema.idOrd) { _, members throws(QuarryError) in
            for m in members {
                let segment = segments[m.segment]
                if try segment.documents(of: m.info).contains(where: { !segment.isDeleted($0) }) {
                    n += 1
                    break
                }
            }
            return true
        }
        return n
    }

    /// Distinct terms of a field over segments (a k-way merge of the dictionaries).
    static func distinctTerms(_ segments: [SegmentReader], _ ord: Int) throws(QuarryError) -> Int {
        if segments.count == 1 { return segments[0].terms.termCount(ord) }
        var count = 0
        try TermMergeWalk.forEachTerm(segments, field: ord) { _, _ throws(QuarryError) in
            count += 1
            return true
        }
        return count
    }
}
