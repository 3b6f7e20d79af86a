// The document store: every document's stored JSON, in zstd-compressed blocks of about 16 KiB, so that fetching
// one document decompresses one block (as Tantivy's `store/`).
//
// The `.store` file:
//
//     header | block 0 (zstd frame) | block 1 | ... | block index | trailer | footer
//     block: documents, each a vint length + the document's bytes, compressed as one zstd frame with its checksum
//     block index entry (16 bytes): u32 firstDoc, u32 uncompressedSize, u64 offset
//     trailer (24 bytes): u64 indexOffset, u32 blockCount, u32 docCount, u32 indexCRC, u32 zero
//
// The writer streams blocks to disk while the segment is built, so stored text never waits in memory.

/// Writes the `.store` file of a segment as documents arrive.
final class StoreWriter {
    static let blockTarget = 16 * 1024
    /// The largest block a reader accepts (uncompressed).
    static let maxBlockBytes = 64 << 20
    /// The largest document stored: a block holds it with up to `blockTarget` bytes of earlier documents and
    /// their lengths.
    static let maxDocumentBytes = maxBlockBytes - blockTarget - 64

    private let file: FileWriter
    private let compressor: ZstdCompressor
    private var buffer = ByteBuffer(capacity: StoreWriter.blockTarget + 4096)
    private var compressed: [UInt8] = []
    private var index = ByteBuffer()
    private var blockFirstDoc: UInt32 = 0
    private(set) var docCount: UInt32 = 0
    private var blockCount: UInt32 = 0

    init(path: String, segmentID: [UInt8], compressor: ZstdCompressor) throws(QuarryError) {
        self.file = try FileWriter(path: path, kind: .store, id: segmentID)
        self.compressor = compressor
    }

    var path: String { file.path }
    /// Bytes held in memory (the open block and the block index).
    var memoryUsage: Int { buffer.bytes.capacity + compressed.capacity + index.bytes.capacity }

    func add(_ document: RawBytes) throws(QuarryError) {
        try add(UnsafeRawBufferPointer(start: document.base, count: document.count))
    }

    func add(_ document: UnsafeRawBufferPointer) throws(QuarryError) {
        buffer.vint(document.count)
        buffer.append(document)
        docCount += 1
        if buffer.count >= StoreWriter.blockTarget {
            try flushBlock()
        }
    }

    private func flushBlock() throws(QuarryError) {
        guard buffer.count > 0 else { return }
        compressed.removeAll(keepingCapacity: true)
        buffer.bytes.withUnsafeBytes { compressor.compress($0, appendingTo: &compressed) }
        index.u32(blockFirstDoc)
        index.u32(UInt32(buffer.count))
        index.u64(UInt64(file.position))
        try file.write(compressed)
        blockCount += 1
        blockFirstDoc = docCount
        buffer.removeAll()
    }

    /// Appends a block compressed by another store as it is (for merges: no recompression). Documents added before
    /// it are flushed as a block of their own first.
    /// - Parameters:
    ///   - frame: the block's zstd frame.
    ///   - documents: how many documents it holds.
    ///   - uncompressedSize: its size decompressed.
    func appendCompressedBlock(_ frame: RawBytes, documents: Int, uncompressedSize: Int) throws(QuarryError) {
        try flushBlock()
        index.u32(docCount)
        index.u32(UInt32(uncompressedSize))
        index.u64(UInt64(file.position))
        try file.write(frame)
        blockCount += 1
        docCount += UInt32(documents)
        blockFirstDoc = docCount
    }

    /// Writes the last block, the index and the footer. Returns the file size.
    func finish() throws(QuarryError) -> Int {
        try flushBlock()
        let indexOffset = file.position
        try file.write(index)
        var trailer = ByteBuffer()
        trailer.u64(UInt64(indexOffset))
        trailer.u32(blockCount)
        trailer.u32(docCount)
        trailer.u32(CRC32.of(index.bytes))
        trailer.u32(0)
        try file.write(trailer)
        return try file.finish()
    }
}

/// Reads documents from a mapped `.store` file. Not thread-safe: it keeps the last decompressed block.
final class StoreReader {
    let docCount: Int
    let blockCount: Int
    private let body: RawBytes
    private let index: RawBytes
    private let indexOffset: Int
    private let indexCRC: UInt32
    private let path: String
    private let file: MappedFile
    private let chunks: ChunkVerifier
    /// Made on the first read: a count or ids-only search never decompresses, and a context costs ~100 kB of
    /// fresh pages per segment.
    private lazy var decompressor = ZstdDecompressor()
    /// The decompressed block, allocated on the first read (an `init` that throws would not free it: a class
    /// whose init fails before every property is set never runs `deinit`).
    private var block = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var cachedBlock = -1

    static let trailerSize = 24
    static let entrySize = 16

    /// Opens a store.
    /// - Parameter verify: check the block index whole (its checksum and order), as `check` does. Otherwise only
    ///   the trailer is read, and each block is checked when it is entered, so opening costs no reads of the index.
    init(file: MappedFile, segmentID: [UInt8], expectedDocs: Int, verify: Bool = false) throws(QuarryError) {
        let path = file.path
        self.path = path
        self.file = file
        let (body, chunks) = try FileFormat.open(
            file, kind: .store, id: segmentID, minimumTrailer: StoreReader.trailerSize)
        self.chunks = chunks
        guard chunks.check(body, body.count - StoreReader.trailerSize, StoreReader.trailerSize) else {
            throw chunks.damaged("the store's trailer")
        }
        var c = ByteCursor(body, position: body.count - StoreReader.trailerSize)
        guard let io = c.u64(), let blocks = c.u32(), let docs = c.u32(), let crc = c.u32() else {
            throw QuarryError.corrupt(path, "truncated store trailer")
        }
        guard Int(docs) == expectedDocs, let indexOffset = Int(exactly: io), indexOffset >= FileFormat.headerSize,
            let index = body.slice(indexOffset, Int(blocks) * StoreReader.entrySize),
            indexOffset + index.count == body.count - StoreReader.trailerSize
        else {
            throw QuarryError.corrupt(path, "store trailer does not match the segment", offset: body.count - 24)
        }
        // The block index (16 bytes per ~16 KiB block) is verified whole: a lookup reads several entries.
        guard chunks.check(index) else { throw chunks.damaged("the store's block index") }
        if docs > 0 && blocks == 0 {
            throw QuarryError.corrupt(path, "store has documents but no blocks")
        }
        self.docCount = Int(docs)
        self.blockCount = Int(blocks)
        self.body = body
        self.index = index
        self.indexOffset = indexOffset
        self.indexCRC = crc
        if verify { try verifyIndex() }
    }

    /// Checks the block index whole: its checksum, and that blocks are in order and inside the file.
    func verifyIndex() throws(QuarryError) {
        guard CRC32.of(index) == indexCRC else {
            throw QuarryError.corrupt(path, "store block index fails its checksum", offset: indexOffset)
        }
        var previousDoc = -1
        var previousOffset = FileFormat.headerSize - 1
        for b in 0..<blockCount {
            let first = Int(index.loadU32(b * 16))
            let offset = Int(index.loadU64(b * 16 + 8) & 0x7FFF_FFFF_FFFF_FFFF)
            guard first > previousDoc, first < max(docCount, 1), offset > previousOffset, offset < indexOffset else {
                throw QuarryError.corrupt(path, "store block index entry \(b) is out of order", offset: indexOffset + b * 16)
            }
            if b == 0 && first != 0 {
                throw QuarryError.corrupt(path, "store block index does not start at document 0", offset: indexOffset)
            }
            previousDoc = first
            previousOffset = offset
        }
    }

    deinit {
        if block.baseAddress != nil { block.deallocate() }
    }

    private func blockFirstDoc(_ b: Int) -> Int { Int(index.loadU32(b * 16)) }
    /// (Masked as `init` masked it when it validated the offsets, so that the value used is the value checked.)
    private func blockOffset(_ b: Int) -> Int { Int(index.loadU64(b * 16 + 8) & 0x7FFF_FFFF_FFFF_FFFF) }

    /// Block `b` as stored: its first document, document count, uncompressed size and zstd frame (for merges, which
    /// copy whole blocks). Checks the entry as `load` does; the frame itself is checked by the file's checksum, which
    /// a merge verifies first.
    func rawBlock(_ b: Int) throws(QuarryError) -> (firstDoc: Int, documents: Int, uncompressedSize: Int, frame: RawBytes) {
        guard b >= 0 && b < blockCount else {
            throw QuarryError(.invalidArgument, "store block \(b) is not in this segment", path: path)
        }
        let start = blockOffset(b)
        let end = b + 1 < blockCount ? blockOffset(b + 1) : indexOffset
        let size = Int(index.loadU32(b * 16 + 4))
        let first = blockFirstDoc(b)
        let next = b + 1 < blockCount ? blockFirstDoc(b + 1) : docCount
        guard size <= StoreWriter.maxBlockBytes, start >= FileFormat.headerSize, end <= indexOffset, start < end,
            first < next,
            next <= docCount, let frame = body.slice(start, end - start)
        else {
            throw QuarryError.corrupt(path, "store block \(b) has an impossible size", offset: start)
        }
        guard chunks.check(frame) else { throw chunks.damaged("store block \(b)", at: frame) }
        return (first, next - first, size, frame)
    }

    /// Loads block `b` into the cache.
    private func load(_ b: Int) throws(QuarryError) {
        if b == cachedBlock { return }
        let start = blockOffset(b)
        let end = b + 1 < blockCount ? blockOffset(b + 1) : indexOffset
        let size = Int(index.loadU32(b * 16 + 4))
        guard size <= StoreWriter.maxBlockBytes, start >= FileFormat.headerSize, end <= indexOffset, start < end,
            let frame = body.slice(start, end - start)
        else {
            throw QuarryError.corrupt(path, "store block \(b) has an impossible size", offset: start)
        }
        guard chunks.check(frame) else { throw chunks.damaged("store block \(b)", at: frame) }
        cachedBlock = -1
        if block.count < size || block.baseAddress == nil {
            if block.baseAddress != nil { block.deallocate() }
            block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 32 * 1024), alignment: 16)
        }
        if let problem = decompressor.decompress(frame, size: size, into: block.baseAddress.unsafelyUnwrapped) {
            throw QuarryError.corrupt(path, "store block \(b) is damaged (\(problem))", offset: start)
        }
        cachedBlock = b
    }

    /// Calls `body` with the stored bytes of `doc`.
    func withDocument<R>(_ doc: Int, _ body: (RawBytes) throws(QuarryError) -> R) throws(QuarryError) -> R {
        guard doc >= 0 && doc < docCount else {
            throw QuarryError(.invalidArgument, "document \(doc) is not in this segment", path: path)
        }
        // The last block whose first document is <= doc.
        var lo = 0
        var hi = blockCount - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if blockFirstDoc(mid) <= doc { lo = mid } else { hi = mid - 1 }
        }
        try load(lo)
        let size = Int(index.loadU32(lo * 16 + 4))
        let target = doc - blockFirstDoc(lo)
        guard target >= 0 else {
            throw QuarryError.corrupt(path, "store block index does not lead to document \(doc)")
        }
        var c = ByteCursor(RawBytes(base: UnsafeRawPointer(block.baseAddress.unsafelyUnwrapped), count: size))
        for _ in 0..<target {
            guard let n = c.vint(limit: size), c.bytes(n) != nil else {
                throw QuarryError.corrupt(path, "store block \(lo) does not hold document \(doc)")
            }
        }
        guard let n = c.vint(limit: size), let found = c.bytes(n) else {
            throw QuarryError.corrupt(path, "store block \(lo) does not hold document \(doc)")
        }
        // `found` points into the block buffer, which stays unchanged until the next `load`.
        return try body(found)
    }

    /// The stored bytes of `doc`, copied.
    func document(_ doc: Int) throws(QuarryError) -> [UInt8] {
        try withDocument(doc) { $0.toArray() }
    }

    /// Checks the index, then decompresses every block and checks that it holds exactly its documents (for
    /// `check`).
    func verifyAllBlocks() throws(QuarryError) {
        try verifyIndex()
        for b in 0..<blockCount {
            try load(b)
            let size = Int(index.loadU32(b * 16 + 4))
            let expected = (b + 1 < blockCount ? blockFirstDoc(b + 1) : docCount) - blockFirstDoc(b)
            var c = ByteCursor(RawBytes(base: UnsafeRawPointer(block.baseAddress.unsafelyUnwrapped), count: size))
            var ok = true
            for _ in 0..<expected {
                guard let n = c.vint(limit: size), c.bytes(n) != nil else {
                    ok = false
                    break
                }
            }
            ok = ok && c.remaining == 0
            if !ok {
                throw QuarryError.corrupt(path, "store block \(b) does not hold its \(expected) documents", offset: blockOffset(b))
            }
        }
    }
}
