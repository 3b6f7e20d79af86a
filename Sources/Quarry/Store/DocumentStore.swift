// The document store: every document's stored JSON, in zstd-compressed blocks of about 16 KiB, so that fetching
// one document decompresses one block (as Tantivy's `store/`). Blocks are compressed with a dictionary (up to 256
// KiB) trained from the segment's first 4 MiB of documents (zstd's fastCover): small blocks then compress about as
// well as large ones (the usenet store: 13% smaller) while a fetch still decompresses 16 KiB.
//
// The `.store` file (version 3; version 2 had no dictionaries and a 24-byte trailer, and is still read):
//
//     header | blocks (zstd frames) and dictionaries, in the order written | block index | dictionary table
//            | trailer | footer
//     block: documents, each a vint length + the document's bytes, compressed as one zstd frame with its checksum
//     block index entry (16 bytes): u32 firstDoc, u32 uncompressedSize, u64 offset | (dictionary + 1) << 48
//                                   (0 in the top 16 bits: no dictionary)
//     dictionary table entry (16 bytes): u64 offset, u32 length, u32 zero
//     trailer (32 bytes): u64 indexOffset, u32 blockCount, u32 docCount, u32 indexCRC (block index and dictionary
//                         table), u32 dictionaryCount, u64 zero
//
// The writer streams blocks to disk while the segment is built, so stored text never waits in memory beyond the
// first 4 MiB, held until the dictionary is trained. A merge copies blocks as they are, with the dictionaries they
// need (one per source segment, at most).

import Synchronization

/// Writes the `.store` file of a segment as documents arrive.
final class StoreWriter {
    static let blockTarget = 16 * 1024
    /// The largest block a reader accepts (uncompressed).
    static let maxBlockBytes = 64 << 20
    /// The largest document stored: a block holds it with up to `blockTarget` bytes of earlier documents and
    /// their lengths.
    static let maxDocumentBytes = maxBlockBytes - blockTarget - 64
    /// Documents held back to train the dictionary: once this many bytes arrived, it is trained and they are
    /// written. A store (or a merge's run of recompressed documents) that ends before trains on what it holds if
    /// that is at least `sampleMinimum`, and has no dictionary otherwise (one would cost more than it saves).
    /// 4 MiB and a 256 KiB dictionary: the usenet store 4.3% smaller than 1 MiB and 64 KiB, the generated one
    /// 2.2%; training takes about 60 ms (BENCHMARKS.md, issue 13).
    static let sampleTarget = 4 << 20
    static let sampleMinimum = 1 << 20
    /// A dictionary's largest size: a sixteenth of the samples, at most this (zstd's rule of thumb: a hundredth
    /// to a tenth of the samples).
    static let dictionaryCapacity = 256 * 1024
    /// The largest dictionary a reader accepts.
    static let maxDictionaryBytes = 1 << 20
    static let offsetBits: UInt64 = 48

    private let file: FileWriter
    private let compressor: ZstdCompressor
    private var buffer = ByteBuffer(capacity: StoreWriter.blockTarget + 4096)
    private var compressed: [UInt8] = []
    private var index = ByteBuffer()
    private var dictionaryTable = ByteBuffer()
    private var dictionaryCount = 0
    /// The dictionary of the blocks this writer compresses, and its number in the table.
    private var dictionary: (zstd: ZstdDictionary, number: Int)?
    /// Documents held back until the dictionary is trained (back to back, and their sizes); nil once trained or
    /// given up.
    private var samples: [UInt8]? = []
    private var sampleSizes: [Int] = []
    private var blockFirstDoc: UInt32 = 0
    /// Documents placed in blocks (the open one included).
    private var placed: UInt32 = 0
    private(set) var docCount: UInt32 = 0
    private var blockCount: UInt32 = 0

    init(path: String, segmentID: [UInt8], compressor: ZstdCompressor) throws(QuarryError) {
        self.file = try FileWriter(path: path, kind: .store, id: segmentID)
        self.compressor = compressor
    }

    var path: String { file.path }
    /// Bytes held in memory (the samples, the open block, the indexes, the digested dictionary and the
    /// compression context this writer uses).
    var memoryUsage: Int {
        buffer.bytes.capacity + compressed.capacity + index.bytes.capacity + (samples?.capacity ?? 0)
            + sampleSizes.capacity * 8 + (dictionary.map { $0.zstd.memoryUsage + $0.zstd.bytes.count } ?? 0)
            + compressor.memoryUsage
    }

    func add(_ document: RawBytes) throws(QuarryError) {
        try add(UnsafeRawBufferPointer(start: document.base, count: document.count))
    }

    func add(_ document: UnsafeRawBufferPointer) throws(QuarryError) {
        docCount += 1
        if samples != nil {
            samples?.append(contentsOf: document)
            sampleSizes.append(document.count)
            if let n = samples?.count, n >= StoreWriter.sampleTarget { try endSampling() }
            return
        }
        try place(document)
    }

    private func place(_ document: UnsafeRawBufferPointer) throws(QuarryError) {
        buffer.vint(document.count)
        buffer.append(document)
        placed += 1
        if buffer.count >= StoreWriter.blockTarget {
            try flushBlock()
        }
    }

    /// Trains the dictionary from the documents held back (if there are enough), then writes them.
    private func endSampling() throws(QuarryError) {
        guard let held = samples else { return }
        samples = nil
        if held.count >= StoreWriter.sampleMinimum, let zstd = ZstdDictionary.train(
            samples: held, sizes: sampleSizes, capacity: min(StoreWriter.dictionaryCapacity, held.count / 16),
            level: compressor.level)
        {
            let number = try writeDictionary(zstd.bytes)
            dictionary = (zstd, number)
        }
        var offset = 0
        let sizes = sampleSizes
        sampleSizes = []
        try held.withBytes { (raw: UnsafeRawBufferPointer) throws(QuarryError) in
            for n in sizes {
                try place(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + n)]))
                offset += n
            }
        }
    }

    /// Writes a dictionary's bytes and enters it in the table. Returns its number.
    private func writeDictionary(_ bytes: UnsafeRawBufferPointer) throws(QuarryError) -> Int {
        dictionaryTable.u64(UInt64(file.position))
        dictionaryTable.u32(UInt32(bytes.count))
        dictionaryTable.u32(0)
        try file.write(bytes)
        dictionaryCount += 1
        return dictionaryCount - 1
    }

    private func writeDictionary(_ bytes: [UInt8]) throws(QuarryError) -> Int {
        try bytes.withBytes { (raw: UnsafeRawBufferPointer) throws(QuarryError) in try writeDictionary(raw) }
    }

    /// Copies a dictionary of another store (for merges: blocks copied as they are need it). Returns its number
    /// here, for `appendCompressedBlock`.
    func importDictionary(_ bytes: RawBytes) throws(QuarryError) -> Int {
        try writeDictionary(UnsafeRawBufferPointer(start: bytes.base, count: bytes.count))
    }

    private func indexEntry(firstDoc: UInt32, size: Int, offset: Int, dictionary: Int?) {
        index.u32(firstDoc)
        index.u32(UInt32(size))
        index.u64(UInt64(offset) | (dictionary.map { UInt64($0 + 1) << StoreWriter.offsetBits } ?? 0))
    }

    private func flushBlock() throws(QuarryError) {
        guard buffer.count > 0 else { return }
        compressed.removeAll(keepingCapacity: true)
        buffer.bytes.withUnsafeBytes { compressor.compress($0, dictionary: dictionary?.zstd, appendingTo: &compressed) }
        indexEntry(firstDoc: blockFirstDoc, size: buffer.count, offset: file.position, dictionary: dictionary?.number)
        try file.write(compressed)
        blockCount += 1
        blockFirstDoc = placed
        buffer.removeAll()
    }

    /// Appends a block compressed by another store as it is (for merges: no recompression). Documents added before
    /// it are written as blocks of their own first.
    /// - Parameters:
    ///   - frame: the block's zstd frame.
    ///   - documents: how many documents it holds.
    ///   - uncompressedSize: its size decompressed.
    ///   - dictionary: the number `importDictionary` gave its dictionary, if it has one.
    func appendCompressedBlock(
        _ frame: RawBytes, documents: Int, uncompressedSize: Int, dictionary: Int?
    ) throws(QuarryError) {
        try endSampling()
        try flushBlock()
        indexEntry(firstDoc: placed, size: uncompressedSize, offset: file.position, dictionary: dictionary)
        try file.write(frame)
        blockCount += 1
        docCount += UInt32(documents)
        placed += UInt32(documents)
        blockFirstDoc = placed
    }

    /// Writes the last block, the indexes and the footer. Returns the file size.
    func finish() throws(QuarryError) -> Int {
        try endSampling()
        try flushBlock()
        let indexOffset = file.position
        var tables = index
        tables.append(contentsOf: dictionaryTable.bytes)
        try file.write(tables)
        var trailer = ByteBuffer()
        trailer.u64(UInt64(indexOffset))
        trailer.u32(blockCount)
        trailer.u32(docCount)
        trailer.u32(CRC32.of(tables.bytes))
        trailer.u32(UInt32(dictionaryCount))
        trailer.u64(0)
        try file.write(trailer)
        return try file.finish()
    }
}

/// A store's dictionaries once digested (about 20 µs each), shared by the readers of one segment (a reader is made
/// per search or per `get`, and per thread).
final class StoreDictionaries: Sendable {
    private let made = Mutex<[Int: ZstdDecompressionDictionary]>([:])

    init() {}

    func dictionary(_ d: Int, make: () throws(QuarryError) -> ZstdDecompressionDictionary) throws(QuarryError)
        -> ZstdDecompressionDictionary
    {
        if let known = made.withLock({ $0[d] }) { return known }
        let new = try make()
        return made.withLock { all in
            if let known = all[d] { return known }
            all[d] = new
            return new
        }
    }
}

/// Reads documents from a mapped `.store` file. Not thread-safe: it keeps the last decompressed block.
final class StoreReader {
    let docCount: Int
    let blockCount: Int
    let dictionaryCount: Int
    private let body: RawBytes
    private let index: RawBytes
    private let dictionaryTable: RawBytes
    private let indexOffset: Int
    private let indexCRC: UInt32
    private let path: String
    private let file: MappedFile
    private let chunks: ChunkVerifier
    /// Version 3 entries carry a dictionary number in their top 16 bits; version 2 ones have the offset alone.
    private let tagged: Bool
    private let offsetMask: UInt64
    /// Made on the first read: a count or ids-only search never decompresses, and a context costs ~100 kB of
    /// fresh pages per segment.
    private lazy var decompressor = ZstdDecompressor()
    /// Each dictionary digested on the first block that needs it (shared with the segment's other readers).
    private let dictionaries: StoreDictionaries
    /// The decompressed block, allocated on the first read (an `init` that throws would not free it: a class
    /// whose init fails before every property is set never runs `deinit`).
    private var block = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var cachedBlock = -1

    static let entrySize = 16
    /// The trailer this build writes (version 3; version 2's was 24 bytes).
    static let trailerSize = 32

    /// Opens a store.
    /// - Parameter verify: check the block index whole (its checksum and order), as `check` does. Otherwise only
    ///   the trailer is read, and each block is checked when it is entered, so opening costs no reads of the index.
    init(
        file: MappedFile, segmentID: [UInt8], expectedDocs: Int, verify: Bool = false,
        dictionaries: StoreDictionaries = StoreDictionaries()
    ) throws(QuarryError) {
        let path = file.path
        self.path = path
        self.file = file
        // (`open` checks the version: 2 or 3.)
        let version = file.bytes.count >= FileFormat.headerSize ? file.bytes.loadU16(8) : 0
        let trailerSize = version >= 3 ? StoreReader.trailerSize : 24
        let (body, chunks) = try FileFormat.open(file, kind: .store, id: segmentID, minimumTrailer: trailerSize)
        self.chunks = chunks
        guard chunks.check(body, body.count - trailerSize, trailerSize) else {
            throw chunks.damaged("the store's trailer")
        }
        var c = ByteCursor(body, position: body.count - trailerSize)
        guard let io = c.u64(), let blocks = c.u32(), let docs = c.u32(), let crc = c.u32() else {
            throw QuarryError.corrupt(path, "truncated store trailer")
        }
        var dictionaryCount = 0
        if version >= 3 {
            guard let n = c.u32(), n <= 1 << 16, c.u64() == 0 else {
                throw QuarryError.corrupt(path, "store trailer does not match the segment", offset: body.count - trailerSize)
            }
            dictionaryCount = Int(n)
        }
        let tablesSize = (Int(blocks) + dictionaryCount) * StoreReader.entrySize
        guard Int(docs) == expectedDocs, let indexOffset = Int(exactly: io), indexOffset >= FileFormat.headerSize,
            let tables = body.slice(indexOffset, tablesSize),
            indexOffset + tables.count == body.count - trailerSize,
            let index = tables.slice(0, Int(blocks) * StoreReader.entrySize),
            let dictionaryTable = tables.slice(index.count, dictionaryCount * StoreReader.entrySize)
        else {
            throw QuarryError.corrupt(path, "store trailer does not match the segment", offset: body.count - trailerSize)
        }
        // The block index (16 bytes per ~16 KiB block) is verified whole: a lookup reads several entries.
        guard chunks.check(tables) else { throw chunks.damaged("the store's block index") }
        if docs > 0 && blocks == 0 {
            throw QuarryError.corrupt(path, "store has documents but no blocks")
        }
        self.docCount = Int(docs)
        self.blockCount = Int(blocks)
        self.dictionaryCount = dictionaryCount
        self.body = body
        self.index = index
        self.dictionaryTable = dictionaryTable
        self.indexOffset = indexOffset
        self.indexCRC = crc
        self.tagged = version >= 3
        self.offsetMask = version >= 3 ? (1 << StoreWriter.offsetBits) - 1 : 0x7FFF_FFFF_FFFF_FFFF
        self.dictionaries = dictionaries
        if verify { try verifyIndex() }
    }

    /// Checks the block index and the dictionary table whole: their checksum, that blocks are in order and inside
    /// the file, that dictionaries are inside it, and that every block names a dictionary there is.
    func verifyIndex() throws(QuarryError) {
        let tables = RawBytes(base: index.base, count: index.count + dictionaryTable.count)
        guard CRC32.of(tables) == indexCRC else {
            throw QuarryError.corrupt(path, "store block index fails its checksum", offset: indexOffset)
        }
        var previousDoc = -1
        var previousOffset = FileFormat.headerSize - 1
        for b in 0..<blockCount {
            let first = Int(index.loadU32(b * 16))
            let offset = blockOffset(b)
            guard first > previousDoc, first < max(docCount, 1), offset > previousOffset, offset < indexOffset else {
                throw QuarryError.corrupt(path, "store block index entry \(b) is out of order", offset: indexOffset + b * 16)
            }
            if b == 0 && first != 0 {
                throw QuarryError.corrupt(path, "store block index does not start at document 0", offset: indexOffset)
            }
            if let d = blockDictionary(b), d >= dictionaryCount {
                throw QuarryError.corrupt(
                    path, "store block \(b) names dictionary \(d + 1) of \(dictionaryCount)", offset: indexOffset + b * 16)
            }
            previousDoc = first
            previousOffset = offset
        }
        for d in 0..<dictionaryCount where dictionaryWindow(d) == nil {
            throw QuarryError.corrupt(
                path, "store dictionary \(d) is outside the file", offset: indexOffset + index.count + d * 16)
        }
    }

    /// Dictionary `d`'s bytes, if its table entry is sound (inside the blocks' area, of a possible size).
    private func dictionaryWindow(_ d: Int) -> RawBytes? {
        guard d >= 0 && d < dictionaryCount else { return nil }
        let offset = dictionaryTable.loadU64(d * 16)
        let length = Int(dictionaryTable.loadU32(d * 16 + 8))
        guard offset >= UInt64(FileFormat.headerSize), offset < UInt64(indexOffset), length > 0,
            length <= StoreWriter.maxDictionaryBytes, Int(offset) + length <= indexOffset
        else { return nil }
        return body.slice(Int(offset), length)
    }

    /// Dictionary `d` as stored (for merges, which copy it with the blocks that need it), verified.
    func dictionary(_ d: Int) throws(QuarryError) -> RawBytes {
        guard let bytes = dictionaryWindow(d) else {
            throw QuarryError.corrupt(path, "store dictionary \(d) is outside the file")
        }
        guard chunks.check(bytes) else { throw chunks.damaged("store dictionary \(d)", at: bytes) }
        return bytes
    }

    /// Dictionary `d`, digested for decompression (once per reader).
    private func decompressionDictionary(_ d: Int) throws(QuarryError) -> ZstdDecompressionDictionary {
        try dictionaries.dictionary(d) { () throws(QuarryError) in
            guard let made = ZstdDecompressionDictionary(try dictionary(d)) else {
                throw QuarryError.corrupt(path, "store dictionary \(d) is damaged (zstd refuses it)")
            }
            return made
        }
    }

    deinit {
        if block.baseAddress != nil { block.deallocate() }
    }

    private func blockFirstDoc(_ b: Int) -> Int { Int(index.loadU32(b * 16)) }
    /// (Masked the same way wherever it is read, so that the value used is the value checked.)
    private func blockOffset(_ b: Int) -> Int { Int(index.loadU64(b * 16 + 8) & offsetMask) }
    /// Where block `b` (starting at `start`) ends: at the next block, or at a dictionary written between them (a
    /// merge copies a source's dictionary before its first block), or at the block index.
    private func blockEnd(_ b: Int, _ start: Int) -> Int {
        var end = b + 1 < blockCount ? blockOffset(b + 1) : indexOffset
        for d in 0..<dictionaryCount {
            let offset = dictionaryTable.loadU64(d * 16)
            if offset > UInt64(start) && offset < UInt64(end) { end = Int(offset) }
        }
        return end
    }

    /// The dictionary block `b` was compressed with (nil: none; version 2 files have none), unchecked.
    private func blockDictionary(_ b: Int) -> Int? {
        let tag = tagged ? Int(index.loadU64(b * 16 + 8) >> StoreWriter.offsetBits) : 0
        return tag == 0 ? nil : tag - 1
    }

    /// Block `b`'s frame and uncompressed size, and its dictionary's number, each checked against the file: the
    /// frame inside the blocks' area and passing its chunk checksums, the dictionary one the table has.
    private func frame(_ b: Int) throws(QuarryError) -> (start: Int, size: Int, frame: RawBytes, dictionary: Int?) {
        let start = blockOffset(b)
        let end = blockEnd(b, start)
        let size = Int(index.loadU32(b * 16 + 4))
        guard size <= StoreWriter.maxBlockBytes, start >= FileFormat.headerSize, end <= indexOffset, start < end,
            let frame = body.slice(start, end - start)
        else {
            throw QuarryError.corrupt(path, "store block \(b) has an impossible size", offset: start)
        }
        guard chunks.check(frame) else { throw chunks.damaged("store block \(b)", at: frame) }
        let dictionary = blockDictionary(b)
        if let dictionary, dictionary >= dictionaryCount {
            throw QuarryError.corrupt(path, "store block \(b) names a dictionary the store does not have", offset: start)
        }
        return (start, size, frame, dictionary)
    }

    /// Block `b` as stored: its first document, document count, uncompressed size and zstd frame (for merges, which
    /// copy whole blocks). Checks the entry as `load` does; the frame itself is checked by the file's checksum, which
    /// a merge verifies first.
    func rawBlock(_ b: Int) throws(QuarryError) -> (
        firstDoc: Int, documents: Int, uncompressedSize: Int, frame: RawBytes, dictionary: Int?
    ) {
        guard b >= 0 && b < blockCount else {
            throw QuarryError(.invalidArgument, "store block \(b) is not in this segment", path: path)
        }
        let first = blockFirstDoc(b)
        let next = b + 1 < blockCount ? blockFirstDoc(b + 1) : docCount
        guard first < next, next <= docCount else {
            throw QuarryError.corrupt(path, "store block \(b) has an impossible size", offset: blockOffset(b))
        }
        let (_, size, frame, dictionary) = try frame(b)
        return (first, next - first, size, frame, dictionary)
    }

    /// Loads block `b` into the cache.
    private func load(_ b: Int) throws(QuarryError) {
        if b == cachedBlock { return }
        let (start, size, frame, d) = try frame(b)
        let dictionary = try d.map { (d: Int) throws(QuarryError) in try decompressionDictionary(d) }
        cachedBlock = -1
        if block.count < size || block.baseAddress == nil {
            if block.baseAddress != nil { block.deallocate() }
            block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 32 * 1024), alignment: 16)
        }
        if let problem = decompressor.decompress(
            frame, size: size, into: block.baseAddress.unsafelyUnwrapped, dictionary: dictionary)
        {
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
            // (Pages read are dropped every 256 blocks, about 2 MB: the 1M index's largest store is 661 MB.)
            if b % 256 == 255 { file.dropResidentPages() }
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
