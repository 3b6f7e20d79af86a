// The term dictionary: for each field, its terms in byte order, front-coded in blocks of up to 32 terms, with a
// sparse index of each block's first term. A lookup binary-searches the sparse index (touching a few pages of the
// mapped file) and scans one block; nothing is loaded when the dictionary is opened. The id field's blocks hold
// 128 terms each and are zstd frames (version 3): ids are unique and long (mail message ids: 37 bytes, of which
// front coding shares 2), so they were two thirds of usenet's dictionary, and only `get`, deletes and commits
// look them up.
//
// The `.terms` file:
//
//     header | field sections: blocks ... | per field: index entries, keys | field directory | trailer | footer
//
//     block:    vint termCount, vint postingsBase, vint positionsBase, then per term:
//               vint sharedPrefix, vint suffixLength, suffix bytes, vint docFreq,
//               docFreq == 1: vint doc, vint termFreq           (the posting is inlined, nothing in `.post`)
//               docFreq >= 2: vint postingsDelta                (from the previous term's postings in the block)
//               if the field has positions: vint positionsDelta (from the previous term's positions)
//     compressed field (flags bit 1): each block is vint rawLength, then a zstd frame of the block above
//     index entry (16 bytes): u64 blockOffset, u32 keyOffset (from the keys start), u32 keyLength
//     keys:     the first term of each block, back to back
//     field directory entry (72 bytes): u32 fieldOrd, u32 flags (bit 0: positions, bit 1: compressed), u64 termCount,
//               u64 blocksOffset, u64 blocksEnd, u64 indexOffset, u32 blockCount, u32 zero, u64 keysOffset,
//               u64 keysLength, u64 sumDocFreq
//     trailer (16 bytes): u64 directoryOffset, u32 fieldCount, u32 directoryCRC

import Synchronization

/// What the dictionary knows of one term.
struct TermInfo: Equatable {
    /// Documents containing the term.
    var docFreq: UInt32
    /// Offset of the term's postings in `.post` (unused when `docFreq == 1`).
    var postingsOffset: UInt64
    /// Offset of the term's positions in `.pos` (unused when the field has no positions).
    var positionsOffset: UInt64
    /// The only document, when `docFreq == 1`.
    var singletonDoc: UInt32
    /// Its term frequency, when `docFreq == 1`.
    var singletonFreq: UInt32

    static let none = TermInfo(docFreq: 0, postingsOffset: 0, positionsOffset: 0, singletonDoc: 0, singletonFreq: 0)
}

/// Writes a `.terms` file; terms must come field by field, each field's terms in increasing byte order.
final class TermDictionaryWriter {
    static let blockTerms = 32
    /// Terms per block of a compressed field (larger blocks compress better: usenet's ids 6.6 MB -> 3.6 MB in
    /// blocks of 32, 3.0 MB in blocks of 128, which take about 7 µs to decompress).
    static let compressedBlockTerms = 128
    static let maxTermLength = 4096
    /// The largest decompressed block a reader accepts: 128 of the longest terms with their entries.
    static let maxRawBlockBytes = compressedBlockTerms * (maxTermLength + 64)
    /// zstd's level for compressed blocks (level 9 and 19 save under 3% more on ids, at 2-10 times the time).
    static let compressionLevel = 6

    private let file: FileWriter
    private var fields: [FieldSection] = []
    private var current: FieldSection?
    private var block = ByteBuffer(capacity: 8192)
    private var blockCount = 0
    private var blockFirstTerm: [UInt8] = []
    private var previousTerm: [UInt8] = []
    private var lastPostings: UInt64 = 0
    private var lastPositions: UInt64 = 0
    private var body = ByteBuffer(capacity: 8192)
    /// Made for the first compressed field.
    private var compressor: ZstdCompressor?
    private var frame: [UInt8] = []

    private struct FieldSection {
        var ord: Int
        var hasPositions: Bool
        var compressed: Bool
        var blockTerms: Int
        var termCount: UInt64 = 0
        var sumDocFreq: UInt64 = 0
        var blocksOffset: Int = 0
        var blocksEnd: Int = 0
        var index = ByteBuffer()
        var keys = ByteBuffer()
        var blockCount: Int = 0
    }

    /// - Parameter version: the format version to write (tests write version 2, which has no compressed fields).
    init(path: String, segmentID: [UInt8], version: UInt16? = nil) throws(QuarryError) {
        file = try FileWriter(path: path, kind: .terms, id: segmentID, version: version)
    }

    /// Starts field `ord`; a `compressed` field's blocks hold `compressedBlockTerms` terms and are zstd frames
    /// (for the id field: smaller, and a lookup decompresses a block).
    func startField(_ ord: Int, hasPositions: Bool, compressed: Bool = false) throws(QuarryError) {
        try finishField()
        current = FieldSection(
            ord: ord, hasPositions: hasPositions, compressed: compressed,
            blockTerms: compressed ? TermDictionaryWriter.compressedBlockTerms : TermDictionaryWriter.blockTerms,
            blocksOffset: file.position)
        previousTerm.removeAll()
    }

    /// Adds the next term of the current field.
    func add(_ term: UnsafeBufferPointer<UInt8>, _ info: TermInfo) throws(QuarryError) {
        // (The section is read and updated in place: a copy of it alive across `flushBlock` shared its sparse index
        // and keys, which `flushBlock` then copied whole on every block: 8% of a merge's instructions.)
        guard let hasPositions = current?.hasPositions, let blockTerms = current?.blockTerms else {
            preconditionFailure("TermDictionaryWriter.add before startField")
        }
        precondition(term.count <= TermDictionaryWriter.maxTermLength, "term too long")
        if blockCount == 0 {
            blockFirstTerm = Array(term)
            previousTerm.removeAll(keepingCapacity: true)
            lastPostings = info.docFreq >= 2 ? info.postingsOffset : 0
            lastPositions = info.positionsOffset
            // Bases are written when the block is flushed; remember them in the block's first bytes.
            body.removeAll()
        }
        var shared = 0
        let limit = min(previousTerm.count, term.count)
        while shared < limit && previousTerm[shared] == term[shared] { shared += 1 }
        block.vint(shared)
        block.vint(term.count - shared)
        block.append(contentsOf: UnsafeBufferPointer(rebasing: term[shared...]))
        block.vint(info.docFreq)
        if info.docFreq == 1 {
            block.vint(info.singletonDoc)
            block.vint(info.singletonFreq)
        } else {
            block.vint(info.postingsOffset - lastPostings)
            lastPostings = info.postingsOffset
        }
        if hasPositions {
            block.vint(info.positionsOffset - lastPositions)
            lastPositions = info.positionsOffset
        }
        if blockCount == 0 {
            // Record the bases: for the first term the deltas above are 0 from these.
            body.vint(info.docFreq >= 2 ? info.postingsOffset : 0)
            body.vint(info.positionsOffset)
        }
        previousTerm.removeAll(keepingCapacity: true)
        previousTerm.append(contentsOf: term)
        blockCount += 1
        current?.termCount += 1
        current?.sumDocFreq += UInt64(info.docFreq)
        if blockCount == blockTerms {
            try flushBlock()
        }
    }

    private func flushBlock() throws(QuarryError) {
        guard blockCount > 0, var section = current else { return }
        // The section leaves `current` while its sparse index and keys grow (a copy that `current` still shared
        // would copy both buffers whole).
        current = nil
        section.index.u64(UInt64(file.position))
        section.index.u32(UInt32(section.keys.count))
        section.index.u32(UInt32(blockFirstTerm.count))
        section.keys.append(contentsOf: blockFirstTerm)
        section.blockCount += 1
        let compressed = section.compressed
        current = section
        var head = ByteBuffer(capacity: 24)
        head.vint(blockCount)
        head.append(contentsOf: body.bytes)
        if compressed {
            head.append(contentsOf: block.bytes)
            let zstd = compressor ?? ZstdCompressor(level: TermDictionaryWriter.compressionLevel)
            compressor = zstd
            frame.removeAll(keepingCapacity: true)
            head.bytes.withUnsafeBytes { zstd.compress($0, appendingTo: &frame) }
            var length = ByteBuffer(capacity: 4)
            length.vint(head.count)
            try file.write(length)
            try file.write(frame)
        } else {
            try file.write(head)
            try file.write(block)
        }
        block.removeAll()
        blockCount = 0
    }

    private func finishField() throws(QuarryError) {
        try flushBlock()
        if var section = current {
            section.blocksEnd = file.position
            fields.append(section)
            current = nil
        }
    }

    /// Writes the indexes, the directory and the footer.
    func finish() throws(QuarryError) -> Int {
        try finishField()
        var directory = ByteBuffer()
        for section in fields {
            let indexOffset = file.position
            try file.write(section.index)
            let keysOffset = file.position
            try file.write(section.keys)
            directory.u32(UInt32(section.ord))
            directory.u32((section.hasPositions ? 1 : 0) | (section.compressed ? 2 : 0))
            directory.u64(section.termCount)
            directory.u64(UInt64(section.blocksOffset))
            directory.u64(UInt64(section.blocksEnd))
            directory.u64(UInt64(indexOffset))
            directory.u32(UInt32(section.blockCount))
            directory.u32(0)
            directory.u64(UInt64(keysOffset))
            directory.u64(UInt64(section.keys.count))
            directory.u64(section.sumDocFreq)
        }
        let directoryOffset = file.position
        try file.write(directory)
        var trailer = ByteBuffer()
        trailer.u64(UInt64(directoryOffset))
        trailer.u32(UInt32(fields.count))
        trailer.u32(CRC32.of(directory.bytes))
        try file.write(trailer)
        return try file.finish()
    }
}

/// Looks terms up in a mapped `.terms` file. Immutable and thread-safe.
struct TermDictionary: @unchecked Sendable {
    struct Field {
        var ord: Int
        var hasPositions: Bool
        var termCount: Int
        var sumDocFreq: UInt64
        var blocks: RawBytes
        var blocksOffset: Int
        var index: RawBytes
        var blockCount: Int
        var keys: RawBytes
        /// Blocks are zstd frames (the id field, version 3).
        var compressed: Bool
        /// The most terms a block holds.
        var blockTerms: Int
    }

    let path: String
    private let fields: [Field?]
    let fieldOrds: [Int]
    /// Every window is checked against the file's chunk checksums before it is decoded.
    private let chunks: ChunkVerifier
    /// Contexts for compressed blocks (a dictionary is shared by every thread that searches the segment).
    private let decompressors = ZstdDecompressorPool()
    /// The compressed block decompressed last: ids looked up in order (`quarry get` of many) decompress each
    /// block once.
    private let lastBlock = LastDecompressedBlock()

    static let trailerSize = 16
    static let directoryEntrySize = 72

    init(file: MappedFile, segmentID: [UInt8]) throws(QuarryError) {
        let path = file.path
        self.path = path
        // (`open` checks the version: 2 or 3; version 2 has no compressed fields.)
        let version = file.bytes.count >= FileFormat.headerSize ? file.bytes.loadU16(8) : 0
        let (body, chunks) = try FileFormat.open(
            file, kind: .terms, id: segmentID, minimumTrailer: TermDictionary.trailerSize)
        self.chunks = chunks
        guard chunks.check(body, body.count - TermDictionary.trailerSize, TermDictionary.trailerSize) else {
            throw chunks.damaged("the term dictionary's trailer")
        }
        var c = ByteCursor(body, position: body.count - TermDictionary.trailerSize)
        guard let dirOffset = c.u64(), let fieldCount = c.u32(), let crc = c.u32(), fieldCount <= 256,
            let dOff = Int(exactly: dirOffset), dOff >= FileFormat.headerSize,
            let directory = body.slice(dOff, Int(fieldCount) * TermDictionary.directoryEntrySize),
            dOff + directory.count == body.count - TermDictionary.trailerSize
        else {
            throw QuarryError.corrupt(path, "term dictionary trailer is damaged", offset: body.count - 16)
        }
        guard chunks.check(directory), CRC32.of(directory) == crc else {
            throw QuarryError.corrupt(path, "term dictionary directory fails its checksum", offset: dOff)
        }
        var fields = [Field?](repeating: nil, count: 256)
        var ords: [Int] = []
        var d = ByteCursor(directory)
        for _ in 0..<Int(fieldCount) {
            guard let ord = d.u32(), let flags = d.u32(), let termCount = d.u64(), let blocksOffset = d.u64(),
                let blocksEnd = d.u64(), let indexOffset = d.u64(), let blockCount = d.u32(), d.u32() != nil,
                let keysOffset = d.u64(), let keysLength = d.u64(), let sumDocFreq = d.u64(),
                ord < 256, fields[Int(ord)] == nil, flags & ~3 == 0, flags & 2 == 0 || version >= 3,
                let bo = Int(exactly: blocksOffset), let be = Int(exactly: blocksEnd), bo >= FileFormat.headerSize,
                be >= bo, be <= dOff,
                let blocks = body.slice(bo, be - bo),
                let io = Int(exactly: indexOffset), io >= FileFormat.headerSize,
                let index = body.slice(io, Int(blockCount) * 16), io + index.count <= dOff,
                let ko = Int(exactly: keysOffset), let kl = Int(exactly: keysLength), ko >= FileFormat.headerSize,
                let keys = body.slice(ko, kl), ko + kl <= dOff,
                case let compressed = flags & 2 != 0,
                case let blockTerms = compressed ? TermDictionaryWriter.compressedBlockTerms : TermDictionaryWriter.blockTerms,
                let tc = Int(exactly: termCount), tc <= Int(blockCount) * blockTerms
            else {
                throw QuarryError.corrupt(path, "term dictionary directory entry is out of bounds", offset: dOff + d.position)
            }
            fields[Int(ord)] = Field(
                ord: Int(ord), hasPositions: flags & 1 != 0, termCount: tc, sumDocFreq: sumDocFreq, blocks: blocks,
                blocksOffset: bo, index: index, blockCount: Int(blockCount), keys: keys, compressed: compressed,
                blockTerms: blockTerms)
            ords.append(Int(ord))
        }
        self.fields = fields
        self.fieldOrds = ords
    }

    func field(_ ord: Int) -> Field? {
        ord >= 0 && ord < fields.count ? fields[ord] : nil
    }

    /// The number of terms of a field in this segment.
    func termCount(_ ord: Int) -> Int { field(ord)?.termCount ?? 0 }

    /// Looks `term` up in field `ord`.
    /// - Returns: the term's info, nil if the segment does not have it.
    /// - Throws: `corruptIndex` if the block it lands in cannot be decoded.
    func lookup(_ ord: Int, _ term: UnsafeRawBufferPointer) throws(QuarryError) -> TermInfo? {
        guard let f = field(ord), f.blockCount > 0 else { return nil }
        // Last block whose first key is <= term.
        var lo = 0
        var hi = f.blockCount - 1
        guard let firstCmp = compareKey(f, 0, term) else { throw corruptIndex(f, 0) }
        if firstCmp > 0 { return nil }
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            guard let c = compareKey(f, mid, term) else { throw corruptIndex(f, mid) }
            if c <= 0 { lo = mid } else { hi = mid - 1 }
        }
        switch findInBlock(f, lo, term) {
        case .found(let info): return info
        case .absent: return nil
        case .damaged: throw corruptIndex(f, lo)
        }
    }

    /// Looks `term` up in field `ord` (as `lookup(_:_:)` over raw bytes).
    func lookup(_ ord: Int, _ term: [UInt8]) throws(QuarryError) -> TermInfo? {
        try term.withBytes { (raw: UnsafeRawBufferPointer) throws(QuarryError) in try lookup(ord, raw) }
    }

    private enum BlockSearch {
        case found(TermInfo)
        case absent
        case damaged
    }

    /// Finds `term` in block `b` without rebuilding the terms it passes: `matched` is how many leading bytes the
    /// previous term shares with `term`. A term sharing more than that with the previous one is still smaller than
    /// `term`; one sharing less is already greater (terms are sorted), so the search stops; only a term sharing
    /// exactly `matched` bytes is compared further.
    private func findInBlock(_ f: Field, _ b: Int, _ term: UnsafeRawBufferPointer) -> BlockSearch {
        // (A query's words take the first path, without a closure: it cost 1% of a term query's instructions, and
        // `@inline(__always)` on `withBlock` recovered only part of it.)
        if !f.compressed {
            guard let block = blockWindow(f, b) else { return .damaged }
            return findInBlock(f, block, term)
        }
        return withBlock(f, b) { block in findInBlock(f, block, term) } ?? .damaged
    }

    private func findInBlock(_ f: Field, _ block: RawBytes, _ term: UnsafeRawBufferPointer) -> BlockSearch {
        var c = ByteCursor(block)
        guard let n = c.vint(limit: f.blockTerms), n > 0, var postings = c.vint(),
            var positions = c.vint()
        else { return .damaged }
        let target = term.bindMemory(to: UInt8.self)
        let hasPositions = f.hasPositions
        var matched = 0
        var length = 0
        for _ in 0..<n {
            guard let shared = c.vint(limit: length), let suffix = c.vint(limit: TermDictionaryWriter.maxTermLength - shared),
                let bytes = c.bytes(suffix), let df = c.vint(), df >= 1, df <= UInt64(UInt32.max)
            else { return .damaged }
            length = shared + suffix
            // Where this term stands against the target.
            var order = 0  // < 0: smaller, 0: equal, > 0: greater
            if shared > matched {
                order = -1
            } else if shared < matched {
                return .absent
            } else {
                var k = 0
                let limit = min(suffix, target.count - shared)
                while k < limit && bytes.loadU8(k) == target[shared + k] { k += 1 }
                matched = shared + k
                if k < limit {
                    order = bytes.loadU8(k) < target[shared + k] ? -1 : 1
                } else {
                    order = length == target.count ? 0 : (length < target.count ? -1 : 1)
                }
                if order > 0 { return .absent }
            }
            var info = TermInfo.none
            info.docFreq = UInt32(df)
            if df == 1 {
                guard let doc = c.vint(), let tf = c.vint(), doc <= UInt64(UInt32.max), tf <= UInt64(UInt32.max), tf >= 1
                else { return .damaged }
                info.singletonDoc = UInt32(doc)
                info.singletonFreq = UInt32(tf)
            } else {
                guard let delta = c.vint() else { return .damaged }
                let (p, o) = postings.addingReportingOverflow(delta)
                if o { return .damaged }
                postings = p
                info.postingsOffset = postings
            }
            if hasPositions {
                guard let delta = c.vint() else { return .damaged }
                let (p, o) = positions.addingReportingOverflow(delta)
                if o { return .damaged }
                positions = p
                info.positionsOffset = positions
            }
            if order == 0 { return .found(info) }
        }
        return .absent
    }

    private func corruptIndex(_ f: Field, _ block: Int) -> QuarryError {
        QuarryError.corrupt(path, "term dictionary block \(block) of field \(f.ord) cannot be decoded")
    }

    /// Compares the first key of block `b` with `term`; nil if the index entry is out of bounds or damaged.
    private func compareKey(_ f: Field, _ b: Int, _ term: UnsafeRawBufferPointer) -> Int? {
        guard chunks.check(f.index, b * 16, 16) else { return nil }
        let keyOffset = Int(f.index.loadU32(b * 16 + 8))
        let keyLength = Int(f.index.loadU32(b * 16 + 12))
        guard let key = f.keys.slice(keyOffset, keyLength), chunks.check(key) else { return nil }
        return key.compare(term)
    }

    /// The bytes of block `b` (from its index entry to the next block's, or the field's blocks' end), verified;
    /// nil if the index entry is out of bounds or the bytes fail their checksum.
    private func blockWindow(_ f: Field, _ b: Int) -> RawBytes? {
        guard b >= 0, b < f.blockCount, chunks.check(f.index, b * 16, b + 1 < f.blockCount ? 32 : 16),
            let blockOffset = Int(exactly: f.index.loadU64(b * 16))
        else { return nil }
        let start = blockOffset - f.blocksOffset
        var end = f.blocks.count
        if b + 1 < f.blockCount {
            guard let next = Int(exactly: f.index.loadU64((b + 1) * 16)) else { return nil }
            end = next - f.blocksOffset
        }
        guard start >= 0, start < end, let window = f.blocks.slice(start, end - start), chunks.check(window) else {
            return nil
        }
        return window
    }

    /// Calls `body` with block `b`'s bytes, verified, and decompressed for a compressed field; nil if the index
    /// entry is out of bounds, the bytes fail their checksum, or the frame does not decompress to its length.
    private func withBlock<R>(_ f: Field, _ b: Int, _ body: (RawBytes) -> R) -> R? {
        guard let window = blockWindow(f, b) else { return nil }
        guard f.compressed else { return body(window) }
        var c = ByteCursor(window)
        guard let size = c.vint(limit: TermDictionaryWriter.maxRawBlockBytes), size > 0,
            let frame = window.slice(c.position, window.count - c.position)
        else { return nil }
        var bytes = lastBlock.bytes(field: f.ord, block: b)
        if bytes == nil {
            var failed = false
            let decoded = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                if let out = buffer.baseAddress {
                    failed = decompressors.withDecompressor { $0.decompress(frame, size: size, into: out) } != nil
                } else {
                    failed = true
                }
                count = failed ? 0 : size
            }
            if failed { return nil }
            lastBlock.keep(decoded, field: f.ord, block: b)
            bytes = decoded
        }
        return bytes?.withUnsafeBytes { raw in
            body(RawBytes(base: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 8).unsafelyUnwrapped, count: raw.count))
        }
    }

    /// Decodes block `b`, calling `visit(term, info)` per term until it returns false.
    func scanBlock(
        _ f: Field, _ b: Int, _ visit: (UnsafeBufferPointer<UInt8>, TermInfo) -> Bool, onError: () -> Void
    ) {
        let decoded: Void? = withBlock(f, b) { block in scanBlock(f, block, visit, onError: onError) }
        if decoded == nil { onError() }
    }

    private func scanBlock(
        _ f: Field, _ block: RawBytes, _ visit: (UnsafeBufferPointer<UInt8>, TermInfo) -> Bool, onError: () -> Void
    ) {
        var c = ByteCursor(block)
        guard let n = c.vint(limit: f.blockTerms), n > 0, var postings = c.vint(),
            var positions = c.vint()
        else {
            onError()
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: TermDictionaryWriter.maxTermLength) { buf in
            var length = 0
            for _ in 0..<n {
                guard let shared = c.vint(limit: length), let suffix = c.vint(limit: TermDictionaryWriter.maxTermLength - shared),
                    let bytes = c.bytes(suffix), let df = c.vint(), df >= 1, df <= UInt64(UInt32.max)
                else {
                    onError()
                    return
                }
                bytes.withBuffer { src in
                    for i in 0..<suffix { buf[shared + i] = src[i] }
                }
                length = shared + suffix
                var info = TermInfo.none
                info.docFreq = UInt32(df)
                if df == 1 {
                    guard let doc = c.vint(), let tf = c.vint(), doc <= UInt64(UInt32.max), tf <= UInt64(UInt32.max), tf >= 1
                    else {
                        onError()
                        return
                    }
                    info.singletonDoc = UInt32(doc)
                    info.singletonFreq = UInt32(tf)
                } else {
                    guard let delta = c.vint() else {
                        onError()
                        return
                    }
                    let (p, o) = postings.addingReportingOverflow(delta)
                    if o {
                        onError()
                        return
                    }
                    postings = p
                    info.postingsOffset = postings
                }
                if f.hasPositions {
                    guard let delta = c.vint() else {
                        onError()
                        return
                    }
                    let (p, o) = positions.addingReportingOverflow(delta)
                    if o {
                        onError()
                        return
                    }
                    positions = p
                    info.positionsOffset = positions
                }
                if !visit(UnsafeBufferPointer(rebasing: buf[0..<length]), info) { return }
            }
        }
    }

    /// Visits every term of field `ord` in order. `visit` returns false to stop.
    /// - Throws: `corruptIndex` if a block cannot be decoded.
    func forEachTerm(_ ord: Int, _ visit: (UnsafeBufferPointer<UInt8>, TermInfo) -> Bool) throws(QuarryError) {
        guard let f = field(ord) else { return }
        var stop = false
        for b in 0..<f.blockCount {
            var failed = false
            scanBlock(f, b) { term, info in
                if !visit(term, info) {
                    stop = true
                    return false
                }
                return true
            } onError: {
                failed = true
            }
            if failed { throw corruptIndex(f, b) }
            if stop { return }
        }
    }
}

/// One decompressed block of a term dictionary, shared by the threads that read it.
final class LastDecompressedBlock: Sendable {
    private let last = Mutex<(field: Int, block: Int, bytes: [UInt8])?>(nil)

    init() {}

    func bytes(field: Int, block: Int) -> [UInt8]? {
        last.withLock { kept in
            guard let kept, kept.field == field, kept.block == block else { return nil }
            return kept.bytes
        }
    }

    func keep(_ bytes: [UInt8], field: Int, block: Int) {
        last.withLock { $0 = (field, block, bytes) }
    }
}

/// What a dictionary walk does after a term.
enum TermWalkStep {
    case next
    case stop
    /// Go on from the first term >= these bytes (which are greater than the current term).
    case seek([UInt8])
}

extension TermDictionary {
    /// Visits the terms of field `ord` from the first one >= `start` on, in order, as `visit` steers: on to the
    /// next term, stop, or seek forward past terms that cannot match (a fuzzy walk skips every term under a
    /// prefix already too far from its word). The walk behind prefix, wildcard, range and fuzzy queries. A seek
    /// binary-searches the sparse index, as a lookup does, and decodes one block from its start.
    /// - Throws: `corruptIndex` if a block cannot be decoded.
    func walkTerms(
        _ ord: Int, from start: [UInt8], _ visit: (UnsafeBufferPointer<UInt8>, TermInfo) -> TermWalkStep
    ) throws(QuarryError) {
        guard let f = field(ord), f.blockCount > 0 else { return }
        var b = try blockFor(f, start)
        var skipBelow: [UInt8]? = start.isEmpty ? nil : start
        while b < f.blockCount {
            var failed = false
            var stop = false
            scanBlock(f, b) { term, info in
                if let s = skipBelow {
                    if TermDictionary.less(term, s) { return true }
                    skipBelow = nil
                }
                switch visit(term, info) {
                case .next: return true
                case .stop:
                    stop = true
                    return false
                case .seek(let t):
                    // Within the block, skipping is a comparison per term; past its end, a jump.
                    skipBelow = t
                    return true
                }
            } onError: {
                failed = true
            }
            if failed { throw corruptIndex(f, b) }
            if stop { return }
            if let s = skipBelow {
                b = max(b + 1, try blockFor(f, s))
            } else {
                b += 1
            }
        }
    }

    /// The first term of the block where half of field `ord`'s positions (or postings, for a field without
    /// positions) lie before: a term that splits the field's data in two halves of about the same size (nil if the
    /// field has fewer than two blocks, is compressed, or a block is damaged).
    func middleKey(_ ord: Int) -> [UInt8]? {
        guard let f = field(ord), f.blockCount >= 2, !f.compressed else { return nil }
        // Where a block's terms' data starts: its header's base offset.
        func base(_ b: Int) -> UInt64? {
            guard let w = blockWindow(f, b) else { return nil }
            var c = ByteCursor(w)
            guard c.vint() != nil, let postings = c.vint(), let positions = c.vint() else { return nil }
            return f.hasPositions ? positions : postings
        }
        guard let first = base(0), let last = base(f.blockCount - 1), last >= first else { return nil }
        let half = first + (last - first) / 2
        var lo = 1
        var hi = f.blockCount - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            guard let v = base(mid) else { return nil }
            if v < half { lo = mid + 1 } else { hi = mid }
        }
        guard chunks.check(f.index, lo * 16, 16) else { return nil }
        let keyOffset = Int(f.index.loadU32(lo * 16 + 8))
        let keyLength = Int(f.index.loadU32(lo * 16 + 12))
        guard let key = f.keys.slice(keyOffset, keyLength), chunks.check(key) else { return nil }
        return key.toArray()
    }

    /// The last block whose first key is <= `term` (0 if none is): where a walk from `term` starts.
    func blockFor(_ f: Field, _ term: [UInt8]) throws(QuarryError) -> Int {
        if term.isEmpty { return 0 }
        var lo = 0
        var hi = f.blockCount - 1
        try term.withBytes { (raw: UnsafeRawBufferPointer) throws(QuarryError) in
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                guard let c = compareKey(f, mid, raw) else { throw corruptIndex(f, mid) }
                if c <= 0 { lo = mid } else { hi = mid - 1 }
            }
        }
        return lo
    }

    /// Byte order of two terms.
    static func less(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> Bool {
        let n = min(a.count, b.count)
        var i = 0
        while i < n {
            if a[i] != b[i] { return a[i] < b[i] }
            i += 1
        }
        return a.count < b.count
    }
}
