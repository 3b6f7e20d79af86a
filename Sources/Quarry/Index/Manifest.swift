// The manifest: the one file that says what the index is. It names the committed segments, holds the schema and
// the global statistics (documents, total field lengths), and is replaced atomically on every commit:
// write `quarry.manifest.tmp`, fsync it, rename it over `quarry.manifest`, fsync the directory. A reader that
// opens the manifest sees one commit, whole; files that no manifest names are garbage from an interrupted run.
//
// `quarry.manifest` (the header's id is the index's id):
//
//     header | u64 generation | u64 nextSegment | i64 committedAt (seconds)
//            | schema: string idField, string dateField, vint n, n x string textField, string analyzer
//            | vint segmentCount, per segment: string name, 16 bytes id, vint docCount, vint deletedCount,
//            |     vint deleteGeneration (version 2 on; 0: no deletes file),
//            |     vint n, n x vint fieldLength, vint k, k x (string fileKind, vint size)
//            | totals: vint documents, vint n, n x vint fieldLength
//            | footer (the CRC-32 covers all of the above, and is checked on every read)
//
// Strings are a vint length and UTF-8 bytes.

/// A committed state of an index.
public struct Manifest: Sendable, Equatable {
    public static let fileName = "quarry.manifest"
    public static let temporaryName = "quarry.manifest.tmp"

    /// The index's random id (in every manifest header).
    public var indexID: [UInt8]
    /// Increases by one on every commit.
    public var generation: UInt64
    /// The number the next new segment gets.
    public var nextSegment: UInt64
    /// When the commit was made (seconds since 1970).
    public var committedAt: Int64
    /// The index's schema.
    public var schema: Schema
    /// The committed segments, oldest first.
    public var segments: [SegmentInfo]

    /// Documents over all segments, deleted ones included (what BM25's N and average lengths count: see
    /// docs/FORMAT.md, "Deletes and statistics").
    public var documentCount: Int { segments.reduce(0) { $0 + $1.docCount } }

    /// Documents not deleted, over all segments.
    public var liveDocumentCount: Int { segments.reduce(0) { $0 + $1.liveCount } }

    /// Per text field: total terms over all segments.
    public var fieldLengths: [UInt64] {
        var out = [UInt64](repeating: 0, count: schema.textFields.count)
        for s in segments {
            for (i, l) in s.fieldLengths.enumerated() where i < out.count { out[i] += l }
        }
        return out
    }

    /// A new, empty index.
    public init(schema: Schema) {
        self.indexID = Syscalls.randomBytes(16)
        self.generation = 0
        self.nextSegment = 1
        self.committedAt = 0
        self.schema = schema
        self.segments = []
    }

    init(
        indexID: [UInt8], generation: UInt64, nextSegment: UInt64, committedAt: Int64, schema: Schema,
        segments: [SegmentInfo]
    ) {
        self.indexID = indexID
        self.generation = generation
        self.nextSegment = nextSegment
        self.committedAt = committedAt
        self.schema = schema
        self.segments = segments
    }

    /// The manifest's bytes, header and footer included.
    func encode() -> [UInt8] {
        var b = ByteBuffer()
        b.append(contentsOf: FileFormat.header(kind: .manifest, id: indexID))
        b.u64(generation)
        b.u64(nextSegment)
        b.i64(committedAt)
        b.string(schema.idField)
        b.string(schema.dateField)
        b.vint(schema.textFields.count)
        for f in schema.textFields { b.string(f) }
        b.string(schema.analyzer.rawValue)
        b.vint(segments.count)
        for s in segments {
            b.string(s.name)
            b.append(contentsOf: s.id)
            b.vint(s.docCount)
            b.vint(s.deletedCount)
            b.vint(s.deleteGeneration)
            b.vint(s.fieldLengths.count)
            for l in s.fieldLengths { b.vint(l) }
            let kinds = FileKind.segmentKinds.filter { s.fileSizes[$0] != nil }
            b.vint(kinds.count)
            for k in kinds {
                b.string(k.rawValue)
                b.vint(s.fileSizes[k] ?? 0)
            }
        }
        b.vint(documentCount)
        let lengths = fieldLengths
        b.vint(lengths.count)
        for l in lengths { b.vint(l) }
        b.append(contentsOf: FileFormat.footerMagic)
        let crc = CRC32.of(b.bytes)
        b.u32(crc)
        return b.bytes
    }

    /// Decodes and verifies a manifest.
    static func decode(_ bytes: [UInt8], path: String) throws(QuarryError) -> Manifest {
        let manifest: Manifest? = try bytes.withRawBytes { raw throws(QuarryError) -> Manifest? in
            try FileFormat.verifyChecksum(raw, path: path)
            let body = try FileFormat.validate(raw, kind: .manifest, id: nil, path: path, minimumTrailer: 0)
            let version = raw.loadU16(8)
            guard let id = raw.slice(16, 16)?.toArray() else { return nil }
            var c = ByteCursor(body, position: FileFormat.headerSize)
            guard let generation = c.u64(), let next = c.u64(), let committedAt = c.i64(),
                let idField = c.string(), let dateField = c.string(), let n = c.vint(limit: Schema.maxTextFields)
            else { return nil }
            var textFields: [String] = []
            for _ in 0..<n {
                guard let f = c.string() else { return nil }
                textFields.append(f)
            }
            guard let analyzerName = c.string() else { return nil }
            guard let analyzer = AnalyzerKind(rawValue: analyzerName) else {
                throw QuarryError(
                    .incompatibleFormat, "the index uses analyzer '\(analyzerName)', which this Quarry does not know",
                    path: path)
            }
            let schema = Schema(idField: idField, dateField: dateField, textFields: textFields, analyzer: analyzer)
            guard let segmentCount = c.vint(limit: 1 << 20) else { return nil }
            var segments: [SegmentInfo] = []
            for _ in 0..<segmentCount {
                guard let name = c.string(limit: 255), let sid = c.bytes(16)?.toArray(),
                    let docs = c.vint(limit: Int(UInt32.max)), let deleted = c.vint(limit: docs),
                    let generation = version >= 2 ? c.vint() : 0, (generation == 0) == (deleted == 0),
                    let nf = c.vint(limit: Schema.maxTextFields), nf == textFields.count
                else { return nil }
                var lengths: [UInt64] = []
                for _ in 0..<nf {
                    guard let l = c.vint() else { return nil }
                    lengths.append(l)
                }
                guard let nk = c.vint(limit: 64) else { return nil }
                var sizes: [FileKind: Int] = [:]
                for _ in 0..<nk {
                    guard let kname = c.string(limit: 64), let size = c.vint(limit: Int.max) else { return nil }
                    guard let kind = FileKind(rawValue: kname), kind != .manifest else {
                        throw QuarryError(.incompatibleFormat, "unknown segment file kind '\(kname)'", path: path)
                    }
                    sizes[kind] = size
                }
                guard Manifest.isValidSegmentName(name) else { return nil }
                segments.append(
                    SegmentInfo(
                        name: name, id: sid, docCount: docs, fieldLengths: lengths, fileSizes: sizes,
                        deletedCount: deleted, deleteGeneration: generation))
            }
            let m = Manifest(
                indexID: id, generation: generation, nextSegment: next, committedAt: committedAt, schema: schema,
                segments: segments)
            guard let totalDocs = c.vint(), totalDocs == UInt64(m.documentCount), let nt = c.vint(limit: 64),
                nt == textFields.count
            else { return nil }
            let expected = m.fieldLengths
            for i in 0..<nt {
                guard let l = c.vint(), l == expected[i] else { return nil }
            }
            guard c.position == body.count else { return nil }
            return m
        }
        guard let manifest else {
            throw QuarryError.corrupt(path, "the manifest is malformed")
        }
        return manifest
    }

    /// Segment names are `seg-` and 8 or more hex digits.
    static func isValidSegmentName(_ name: String) -> Bool {
        guard name.hasPrefix("seg-") else { return false }
        let digits = name.utf8.dropFirst(4)
        return digits.count >= 8 && digits.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    static func segmentName(_ number: UInt64) -> String {
        let hex = String(number, radix: 16)
        return "seg-" + String(repeating: "0", count: max(0, 8 - hex.count)) + hex
    }
}
