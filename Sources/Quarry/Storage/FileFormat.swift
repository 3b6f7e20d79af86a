// The header and footer that every Quarry file carries (see docs/FORMAT.md).
//
//     header (32 bytes)                                   footer (8 bytes)
//     +--------+--------+---------+-------+------+------+  +--------+--------+
//     | "QRRY" | kind   | version | flags | zero | id   |  | "QEND" | crc32  |
//     | 4      | 4      | u16     | u16   | u32  | 16   |  | 4      | u32    |
//     +--------+--------+---------+-------+------+------+  +--------+--------+
//
// `kind` names the file's format ("TERM", "POST", ...); `id` is the segment's (or index's) random 128-bit id, so a
// file copied from another segment is caught; the CRC-32 covers every byte of the file before it. Each format puts a
// fixed-size trailer right before the footer; opening a file reads the header, the trailer and the footer only.

/// The kinds of files in an index directory.
public enum FileKind: String, CaseIterable, Sendable {
    case terms, postings, positions, norms, dates, store, deletes, manifest

    /// The 4-byte code in the header.
    var code: [UInt8] {
        switch self {
        case .terms: Array("TERM".utf8)
        case .postings: Array("POST".utf8)
        case .positions: Array("POSI".utf8)
        case .norms: Array("NORM".utf8)
        case .dates: Array("DATE".utf8)
        case .store: Array("STOR".utf8)
        case .deletes: Array("DELS".utf8)
        case .manifest: Array("MNFT".utf8)
        }
    }

    /// The file name extension of segment files.
    public var fileExtension: String {
        switch self {
        case .terms: "terms"
        case .postings: "post"
        case .positions: "pos"
        case .norms: "norms"
        case .dates: "dates"
        case .store: "store"
        case .deletes: "del"
        case .manifest: "manifest"
        }
    }

    /// The format version this build writes. The manifest is at version 2 (segment deletes); version 1
    /// manifests (no deletes) are still read. Segment files are at version 2 (chunk checksums), the store at 3
    /// (dictionaries; version 2 stores are still read), positions at 3 (patched groups; version 2 groups are
    /// version 3 groups without exceptions, still read), postings at 3 (dense blocks as bitsets, packed deltas less
    /// one; version 2 postings are read as they were written), the term dictionary at 3 (the id field's blocks
    /// compressed; version 2 dictionaries are still read); version 1 segment files are refused (rebuild the
    /// index).
    var version: UInt16 {
        switch self {
        case .manifest: 2
        case .deletes: 1
        case .store: 3
        case .positions: 3
        case .postings: 3
        case .terms: 3
        default: 2
        }
    }

    /// The versions this build reads.
    var readableVersions: ClosedRange<UInt16> {
        switch self {
        case .manifest: 1...2
        case .store: 2...3
        case .positions: 2...3
        case .postings: 2...3
        case .terms: 2...3
        default: version...version
        }
    }

    /// Files read in place through their map carry a table of chunk checksums (ChunkChecksums.swift); the manifest
    /// and deletes files are read whole and checked whole.
    var hasChunkTable: Bool { self != .manifest && self != .deletes }

    /// The kinds of a segment's immutable files (the deletes file has generations, see DeletedDocuments.swift).
    public static let segmentKinds: [FileKind] = [.terms, .postings, .positions, .norms, .dates, .store]
}

enum FileFormat {
    static let magic: [UInt8] = Array("QRRY".utf8)
    static let footerMagic: [UInt8] = Array("QEND".utf8)
    static let headerSize = 32
    static let footerSize = 8

    static func header(kind: FileKind, id: [UInt8], version: UInt16? = nil) -> [UInt8] {
        precondition(id.count == 16, "FileFormat.header: ids are 16 bytes")
        var b = ByteBuffer(capacity: headerSize)
        b.append(contentsOf: magic)
        b.append(contentsOf: kind.code)
        b.u16(version ?? kind.version)
        b.u16(0)
        b.u32(0)
        b.append(contentsOf: id)
        return b.bytes
    }

    /// Validates the header, footer and chunk checksum table of a mapped segment file. Returns the file body (from
    /// the header to the format's trailer included, without the table) and the verifier that readers ask before
    /// they decode a window of it.
    static func open(_ file: MappedFile, kind: FileKind, id: [UInt8], minimumTrailer: Int) throws(QuarryError)
        -> (body: RawBytes, chunks: ChunkVerifier)
    {
        precondition(kind.hasChunkTable, "FileFormat.open: \(kind) files have no chunk table")
        let whole = try validate(
            file.bytes, kind: kind, id: id, path: file.path, minimumTrailer: minimumTrailer + ChunkVerifier.footerSize)
        let chunks = try file.chunkVerifier()
        guard chunks.coveredLength >= headerSize + minimumTrailer else {
            throw QuarryError.corrupt(file.path, "file is too short for a \(kind.rawValue) file")
        }
        // (The header is not verified here: `validate` checked every field of it that is read, and the rest,
        // flags and padding, is never read. Its chunk is verified with the first window read from it.)
        return (RawBytes(base: whole.base, count: chunks.coveredLength), chunks)
    }

    /// Validates the header and footer of a mapped file and returns the window between them (the file body, which
    /// begins with the header, so offsets in the body are file offsets).
    /// - Parameter minimumTrailer: bytes that the format's trailer needs before the footer.
    static func validate(_ bytes: RawBytes, kind: FileKind, id: [UInt8]?, path: String, minimumTrailer: Int)
        throws(QuarryError) -> RawBytes
    {
        guard bytes.count >= headerSize + minimumTrailer + footerSize else {
            throw QuarryError.corrupt(path, "file is truncated (\(bytes.count) bytes, too short for a \(kind.rawValue) file)")
        }
        guard bytes.slice(0, 4)?.toArray() == magic else {
            throw QuarryError.corrupt(path, "not a Quarry file (bad magic number)", offset: 0)
        }
        guard bytes.slice(4, 4)?.toArray() == kind.code else {
            throw QuarryError.corrupt(path, "expected a \(kind.rawValue) file, found another kind", offset: 4)
        }
        let version = bytes.loadU16(8)
        guard kind.readableVersions.contains(version) else {
            throw QuarryError(
                .incompatibleFormat,
                "\(kind.rawValue) file has format version \(version); this Quarry reads version \(kind.version): rebuild the index with this version",
                path: path, offset: 8)
        }
        if let id, bytes.slice(16, 16)?.toArray() != id {
            throw QuarryError.corrupt(path, "file belongs to another segment (id mismatch)", offset: 16)
        }
        let footerOffset = bytes.count - footerSize
        guard bytes.slice(footerOffset, 4)?.toArray() == footerMagic else {
            throw QuarryError.corrupt(path, "file is truncated or damaged (bad footer)", offset: footerOffset)
        }
        return RawBytes(base: bytes.base, count: footerOffset)
    }

    /// Verifies the whole-file checksum. Reads every byte, `step` bytes at a time, calling `afterStep` with the
    /// number of bytes read so far after each (merges and `check` drop the pages read).
    static func verifyChecksum(
        _ bytes: RawBytes, path: String, step: Int = Int.max, afterStep: (Int) -> Void = { _ in }
    ) throws(QuarryError) {
        guard bytes.count >= headerSize + footerSize else {
            throw QuarryError.corrupt(path, "file is truncated")
        }
        let crcOffset = bytes.count - 4
        var crc = CRC32()
        var at = 0
        while at < crcOffset {
            let n = min(step, crcOffset - at)
            if let chunk = bytes.slice(at, n) { crc.update(chunk) }
            at += n
            afterStep(at)
        }
        let stored = bytes.loadU32(crcOffset)
        guard stored == crc.value else {
            throw QuarryError.corrupt(
                path,
                "checksum mismatch (stored \(hex32(stored)), computed \(hex32(crc.value))): the file was damaged after it was written",
                offset: crcOffset)
        }
    }

    static func hex32(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 8 - s.count)) + s
    }
}
