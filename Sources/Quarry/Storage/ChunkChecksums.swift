// Per-chunk checksums of segment files: every byte a query reads is verified before it is used.
//
// A segment file (format version 2) carries, between its trailer and its footer, a table of CRC-32Cs (Castagnoli,
// computed with the SSE4.2 instruction: about 8 bytes a cycle, several times zlib's CRC-32): one for each
// 4 KiB chunk of the bytes before the table (the last chunk may be shorter), then a 16-byte chunk footer:
//
//     ... body ... | trailer | chunk CRCs: u32 x n | u32 n, u32 chunkShift (12), u32 tableCRC, "QCHK" | footer
//
// `FileFormat.open` checks the chunk footer and the table's own CRC when the file is opened and hides the table from
// the format's reader (its body ends where it always did). The reader then asks its `ChunkVerifier` to check each
// window of bytes before decoding it: the first read of a chunk computes its CRC-32C (well under 1 µs, less than
// the page fault that brings the chunk in) and sets the chunk's bit in a bitmap shared by every thread; later reads
// test one bit. A chunk that fails is reported as damage, never decoded. (ZFS and Btrfs check blocks the same way;
// Lucene and Tantivy verify whole files only on merges and `checkIntegrity`, so damage between those reads goes
// unnoticed.)

import CQuarry

/// Verifies the chunks of one mapped file as readers touch them. Shared by threads; the bitmap is updated with
/// relaxed atomic ORs (a chunk verified twice by two threads at once is harmless).
final class ChunkVerifier: @unchecked Sendable {
    static let chunkShift = 12
    static let chunkSize = 1 << chunkShift
    static let footerSize = 16
    static let footerMagic: [UInt8] = Array("QCHK".utf8)

    let path: String
    /// The file's first byte: windows are located by their distance from it.
    private let base: UnsafeRawPointer
    /// Bytes covered by the table (everything before it).
    private let covered: Int
    private let table: RawBytes
    private let chunkCount: Int
    private let bits: UnsafeMutablePointer<UInt64>

    /// Reads the chunk table of `file` (the whole mapped file) and returns the verifier and the length of the bytes
    /// before the table.
    static func open(_ file: RawBytes, path: String) throws(QuarryError) -> ChunkVerifier {
        let footerAt = file.count - FileFormat.footerSize - footerSize
        guard footerAt >= FileFormat.headerSize, let n = file.u32(footerAt),
            let shift = file.u32(footerAt + 4),
            let tableCRC = file.u32(footerAt + 8), file.slice(footerAt + 12, 4)?.toArray() == footerMagic,
            shift == UInt32(chunkShift)
        else {
            throw QuarryError.corrupt(
                path, "the chunk checksum table's footer is damaged", offset: max(0, footerAt))
        }
        let tableBytes = Int(n) * 4
        let tableStart = footerAt - tableBytes
        guard tableStart >= FileFormat.headerSize, let table = file.slice(tableStart, tableBytes),
            Int(n) == (tableStart + chunkSize - 1) >> chunkShift
        else {
            throw QuarryError.corrupt(
                path, "the chunk checksum table does not match the file's size", offset: footerAt)
        }
        // (Read whole, so asked for whole: the maps are MADV_RANDOM, and a cold read would fault page by page.)
        MappedFile.adviseWillNeed(table.base, table.count)
        guard CRC32C.of(table) == tableCRC else {
            throw QuarryError.corrupt(
                path, "the chunk checksum table fails its checksum", offset: tableStart)
        }
        return ChunkVerifier(
            path: path, base: file.base, covered: tableStart, table: table, chunkCount: Int(n))
    }

    private init(path: String, base: UnsafeRawPointer, covered: Int, table: RawBytes, chunkCount: Int) {
        self.path = path
        self.base = base
        self.covered = covered
        self.table = table
        self.chunkCount = chunkCount
        let words = max((chunkCount + 63) >> 6, 1)
        bits = .allocate(capacity: words)
        bits.initialize(repeating: 0, count: words)
    }

    deinit {
        bits.deallocate()
    }

    /// The bytes before the table: the format's body, header included.
    var coveredLength: Int { covered }

    /// True when every chunk that `window` touches is sound (verifying those not verified before). A window outside
    /// the covered bytes is false: a damaged offset pointed there.
    @inline(__always)
    func check(_ window: RawBytes) -> Bool {
        check(window.base, window.count)
    }

    /// As `check(_:)` for the `count` bytes at `start`.
    @inline(__always)
    func check(_ start: UnsafeRawPointer, _ count: Int) -> Bool {
        if count <= 0 { return true }
        let offset = base.distance(to: start)
        guard offset >= 0, offset < covered, count <= covered - offset else { return false }
        let first = offset >> ChunkVerifier.chunkShift
        let last = (offset + count - 1) >> ChunkVerifier.chunkShift
        if first == last && quarry_atomic_load64(bits + (first >> 6)) & (1 << UInt64(first & 63)) != 0 {
            return true
        }
        return verify(first, last)
    }

    /// As `check(_:)` for the window `[offset, offset + count)` of `body` (a window of this file), clipped to its end.
    @inline(__always)
    func check(_ body: RawBytes, _ offset: Int, _ count: Int) -> Bool {
        guard offset >= 0, offset <= body.count else { return false }
        return check(body.base + offset, min(count, body.count - offset))
    }

    @inline(never)
    private func verify(_ first: Int, _ last: Int) -> Bool {
        if last - first >= 8 {
            // A long window (a norms column, a block index, a long list's skip table) is read whole: asked for
            // whole, as the maps are MADV_RANDOM and a cold read would otherwise fault a page at a time. (Chunks
            // already verified are in memory: the request is then a no-op.)
            let start = first << ChunkVerifier.chunkShift
            MappedFile.adviseWillNeed(base + start, min((last + 1) << ChunkVerifier.chunkShift, covered) - start)
        }
        for chunk in first...last {
            let word = bits + (chunk >> 6)
            let bit: UInt64 = 1 << UInt64(chunk & 63)
            if quarry_atomic_load64(word) & bit != 0 { continue }
            let start = chunk << ChunkVerifier.chunkShift
            let length = min(ChunkVerifier.chunkSize, covered - start)
            guard CRC32C.of(RawBytes(base: base + start, count: length)) == table.loadU32(chunk * 4) else {
                return false
            }
            quarry_atomic_or64(word, bit)
        }
        return true
    }

    /// Verifies every chunk (a reader that needs the whole file, or `check` after the whole-file CRC).
    func checkAll() -> Bool {
        chunkCount == 0 || verify(0, chunkCount - 1)
    }

    /// The damage error for a window that failed `check`.
    func damaged(_ what: String, at window: RawBytes? = nil) -> QuarryError {
        let offset = window.map { base.distance(to: $0.base) }
        return QuarryError.corrupt(
            path, "\(what) fails its checksum: the file was damaged after it was written", offset: offset)
    }
}

/// Computes the chunk CRCs of a file as it is written (FileWriter).
struct ChunkTableBuilder {
    private var crcs = ByteBuffer()
    private var current = CRC32C()
    private var fill = 0
    private var count = 0

    /// Adds the next bytes of the file.
    mutating func update(_ raw: UnsafeRawBufferPointer) {
        var rest = raw
        while !rest.isEmpty {
            let n = min(ChunkVerifier.chunkSize - fill, rest.count)
            current.update(UnsafeRawBufferPointer(rebasing: rest[0..<n]))
            fill += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if fill == ChunkVerifier.chunkSize { closeChunk() }
        }
    }

    private mutating func closeChunk() {
        crcs.u32(current.value)
        current = CRC32C()
        fill = 0
        count += 1
    }

    /// The table and its footer, to be written right after the bytes it covers.
    mutating func finish() -> [UInt8] {
        if fill > 0 { closeChunk() }
        var out = crcs
        out.u32(UInt32(count))
        out.u32(UInt32(ChunkVerifier.chunkShift))
        out.u32(CRC32C.of(crcs.bytes))
        out.append(contentsOf: ChunkVerifier.footerMagic)
        return out.bytes
    }
}

/// A reader's memory of the chunk-aligned range of a file body it verified last: a read inside it costs two
/// comparisons, a read outside verifies the chunks it needs (most already verified by then: one bit each) and
/// moves the range there. Readers that walk a file forward (a term's postings and positions) check each chunk once.
struct VerifiedReads {
    private let chunks: ChunkVerifier?
    private let limit: Int
    private var start = 0
    private var end = 0

    /// Reads of `body` checked by `chunks` (nil: the bytes need no checks, every read passes).
    init(_ chunks: ChunkVerifier?, _ body: RawBytes?) {
        self.chunks = chunks
        self.limit = body?.count ?? 0
        if chunks == nil { end = limit }
    }

    /// True when `[offset, offset + count)`, clipped to the body's end, is verified.
    @inline(__always)
    mutating func check(_ body: RawBytes, _ offset: Int, _ count: Int) -> Bool {
        if offset >= start && offset <= end && (count <= end - offset || end == limit) { return true }
        return extend(body, offset, count)
    }

    @inline(never)
    private mutating func extend(_ body: RawBytes, _ offset: Int, _ count: Int) -> Bool {
        guard let chunks, offset >= 0, offset <= limit, count >= 0 else { return chunks == nil }
        let n = min(count, limit - offset)
        let mask = ChunkVerifier.chunkSize - 1
        let alignedStart = offset & ~mask
        let alignedEnd = min(limit, (offset + n + mask) & ~mask)
        guard chunks.check(body, alignedStart, alignedEnd - alignedStart) else { return false }
        start = alignedStart
        end = alignedEnd
        return true
    }
}
