// The date column: one timestamp (seconds since 1970, UTC) or "no date" per document, packed in blocks of 128
// documents with each block's minimum and maximum, so that a date filter skips whole blocks whose range misses.
//
// The `.dates` file:
//
//     header | block data ... | block table | trailer | footer
//     block table entry (32 bytes): i64 min, i64 max, u64 offset, u8 width, u8 flags, 6 zero bytes
//     trailer (44 bytes): u32 docCount, u32 blockCount, u64 tableOffset, i64 minDate, i64 maxDate,
//                         u32 datedDocs, u32 tableCRC, u32 zero
//
// A block of width `w` in 1...32 stores `value - min + 1` (0 = no date) bit-packed with `BlockCodec` (`16 * w`
// bytes). Width 0: no document of the block has a date. Width 64: the block's range does not fit 32 bits; its 128
// values are raw little-endian i64 with `Int64.min` for "no date". Flag bit 0: every document of the block has a
// date. `minDate`/`maxDate` are over dated documents (`Int64.max`/`Int64.min` when there are none).

struct DateColumnWriter {
    private(set) var values: [Int64] = []
    static let missing = Int64.min

    mutating func append(_ date: Int64?) {
        values.append(date ?? DateColumnWriter.missing)
    }

    var memoryUsage: Int { values.capacity * 8 }

    func write(path: String, segmentID: [UInt8]) throws(QuarryError) -> Int {
        let w = try FileWriter(path: path, kind: .dates, id: segmentID)
        var table = ByteBuffer()
        let docCount = values.count
        let blockCount = (docCount + 127) / 128
        var globalMin = Int64.max
        var globalMax = Int64.min
        var dated: UInt32 = 0
        var scratch = [UInt32](repeating: 0, count: 128)
        var packed = [UInt8](repeating: 0, count: 16 * 32)
        for block in 0..<blockCount {
            let lo = block * 128
            let hi = min(lo + 128, docCount)
            var bmin = Int64.max
            var bmax = Int64.min
            var present = 0
            for i in lo..<hi where values[i] != DateColumnWriter.missing {
                bmin = min(bmin, values[i])
                bmax = max(bmax, values[i])
                present += 1
            }
            dated += UInt32(present)
            var width = 0
            let offset = w.position
            if present > 0 {
                globalMin = min(globalMin, bmin)
                globalMax = max(globalMax, bmax)
                let (span, overflow) = bmax.subtractingReportingOverflow(bmin)
                if !overflow && span < Int64(UInt32.max) {
                    for i in 0..<128 {
                        let d = lo + i
                        scratch[i] =
                            d < hi && values[d] != DateColumnWriter.missing ? UInt32(values[d] - bmin + 1) : 0
                    }
                    width = scratch.withUnsafeBufferPointer { BlockCodec.requiredWidth($0.baseAddress.unsafelyUnwrapped) }
                    width = max(width, 1)
                    scratch.withUnsafeBufferPointer { src in
                        packed.withUnsafeMutableBytes { dst in
                            BlockCodec.pack(src.baseAddress.unsafelyUnwrapped, width: width, into: dst.baseAddress.unsafelyUnwrapped)
                        }
                    }
                    try w.write(Array(packed[0..<(16 * width)]))
                } else {
                    width = 64
                    var raw = ByteBuffer(capacity: 1024)
                    for i in 0..<128 {
                        let d = lo + i
                        raw.i64(d < hi ? values[d] : DateColumnWriter.missing)
                    }
                    try w.write(raw)
                }
            }
            table.i64(bmin)
            table.i64(bmax)
            table.u64(UInt64(offset))
            table.u8(UInt8(width))
            table.u8(present == hi - lo ? 1 : 0)
            for _ in 0..<6 { table.u8(0) }
        }
        let tableOffset = w.position
        try w.write(table)
        var trailer = ByteBuffer()
        trailer.u32(UInt32(docCount))
        trailer.u32(UInt32(blockCount))
        trailer.u64(UInt64(tableOffset))
        trailer.i64(globalMin)
        trailer.i64(globalMax)
        trailer.u32(dated)
        trailer.u32(CRC32.of(table.bytes))
        trailer.u32(0)
        try w.write(trailer)
        return try w.finish()
    }
}

/// Reads a mapped `.dates` file.
struct DateColumnReader {
    let docCount: Int
    let blockCount: Int
    let minDate: Int64
    let maxDate: Int64
    let datedDocs: Int
    private let body: RawBytes
    private let table: RawBytes
    private let tableOffset: Int

    static let trailerSize = 44
    static let entrySize = 32

    /// Opens a date column.
    /// - Parameter verify: check the block table whole (its checksum and every block's extent), as `check` does.
    ///   Otherwise only the trailer is read and each block is checked when it is read.
    init(file: MappedFile, segmentID: [UInt8], expectedDocs: Int, verify: Bool = false) throws(QuarryError) {
        let path = file.path
        // Date blocks are read in filter loops: the file (about 2 to 4 bytes per document) is verified whole at
        // open rather than checked per read.
        let (body, chunks) = try FileFormat.open(
            file, kind: .dates, id: segmentID, minimumTrailer: DateColumnReader.trailerSize)
        guard chunks.checkAll() else { throw chunks.damaged("the dates file") }
        var c = ByteCursor(body, position: body.count - DateColumnReader.trailerSize)
        guard let docs = c.u32(), let blocks = c.u32(), let tableOffset = c.u64(), let minDate = c.i64(),
            let maxDate = c.i64(), let dated = c.u32(), let crc = c.u32()
        else {
            throw QuarryError.corrupt(path, "truncated dates trailer")
        }
        guard Int(docs) == expectedDocs, Int(blocks) == (Int(docs) + 127) / 128,
            let to = Int(exactly: tableOffset), to >= FileFormat.headerSize,
            let table = body.slice(to, Int(blocks) * DateColumnReader.entrySize),
            to + table.count == body.count - DateColumnReader.trailerSize
        else {
            throw QuarryError.corrupt(path, "dates trailer does not match the segment", offset: body.count - 44)
        }
        self.docCount = Int(docs)
        self.blockCount = Int(blocks)
        self.minDate = minDate
        self.maxDate = maxDate
        self.datedDocs = Int(dated)
        self.body = body
        self.table = table
        self.tableOffset = to
        if !verify { return }
        guard CRC32.of(table) == crc else {
            throw QuarryError.corrupt(path, "dates block table fails its checksum", offset: to)
        }
        // Validate every block's extent once, so reads need no checks.
        for b in 0..<Int(blocks) {
            let e = b * DateColumnReader.entrySize
            let offset = table.loadU64(e + 16)
            let width = Int(table.loadU8(e + 24))
            let size: Int
            switch width {
            case 0: size = 0
            case 1...32: size = 16 * width
            case 64: size = 1024
            default: throw QuarryError.corrupt(path, "dates block \(b) has width \(width)", offset: to + e)
            }
            guard let o = Int(exactly: offset), size == 0 || (o >= FileFormat.headerSize && o <= to - size) else {
                throw QuarryError.corrupt(path, "dates block \(b) out of bounds", offset: to + e)
            }
        }
    }

    /// Whether block `b`'s entry is sound (a known width, data inside the file): checked before every read.
    @inline(__always)
    func blockIsSound(_ block: Int) -> Bool {
        let e = block * DateColumnReader.entrySize
        let width = Int(table.loadU8(e + 24))
        let size: Int
        switch width {
        case 0: return true
        case 1...32: size = 16 * width
        case 64: size = 1024
        default: return false
        }
        let offset = table.loadU64(e + 16)
        return tableOffset >= size && offset >= UInt64(FileFormat.headerSize) && offset <= UInt64(tableOffset - size)
    }

    @inline(__always) func blockMin(_ block: Int) -> Int64 {
        Int64(bitPattern: table.loadU64(block * DateColumnReader.entrySize))
    }
    @inline(__always) func blockMax(_ block: Int) -> Int64 {
        Int64(bitPattern: table.loadU64(block * DateColumnReader.entrySize + 8))
    }
    @inline(__always) func blockIsFull(_ block: Int) -> Bool {
        table.loadU8(block * DateColumnReader.entrySize + 25) & 1 != 0
    }

    /// The date of `doc`, or nil if it has none.
    func date(_ doc: Int) -> Int64? {
        let (v, _) = dateOrMissing(doc)
        return v == DateColumnWriter.missing ? nil : v
    }

    /// The date of `doc` (`DateColumnWriter.missing` if it has none), and whether its block's entry is sound (a
    /// date is read only from a sound one, as `blockIsSound` decides). One check per document, for filter loops.
    @inline(__always)
    func dateOrMissing(_ doc: Int) -> (date: Int64, sound: Bool) {
        let missing = DateColumnWriter.missing
        guard doc >= 0 && doc < docCount else { return (missing, true) }
        let block = doc >> 7
        let e = block * DateColumnReader.entrySize
        let width = Int(table.loadU8(e + 24))
        let size: Int
        switch width {
        case 0: return (missing, true)
        case 1...32: size = 16 * width
        case 64: size = 1024
        default: return (missing, false)
        }
        let offset64 = table.loadU64(e + 16)
        guard tableOffset >= size && offset64 >= UInt64(FileFormat.headerSize)
            && offset64 <= UInt64(tableOffset - size)
        else { return (missing, false) }
        let offset = Int(offset64)
        let i = doc & 127
        if width == 64 { return (Int64(bitPattern: body.loadU64(offset + i * 8)), true) }
        let lane = i & 3
        let bit = (i >> 2) * width
        let word = bit >> 5
        let shift = bit & 31
        let lo = UInt64(body.loadU32(offset + word * 16 + lane * 4))
        var v = lo >> UInt64(shift)
        if shift + width > 32 {
            let hi = UInt64(body.loadU32(offset + (word + 1) * 16 + lane * 4))
            v |= hi << UInt64(32 - shift)
        }
        v &= (UInt64(1) << UInt64(width)) - 1
        if v == 0 { return (missing, true) }
        return (blockMin(block) &+ Int64(v) &- 1, true)
    }

    /// The documents of `block` whose date is in `[lower, upper)`, as a 128-bit mask (bit i: the block's document
    /// i; documents past the segment's end never match). A packed block is compared without widening: its values
    /// are `date - blockMin + 1` (0: missing), so the range becomes `[lo, hi)` on them, one unsigned comparison
    /// each (`v - lo < hi - lo`). A block whose entry is unsound matches nothing (the caller checks soundness).
    func matchMask(_ block: Int, lower: Int64, upper: Int64, scratch: UnsafeMutablePointer<UInt32>)
        -> (low: UInt64, high: UInt64)
    {
        guard blockIsSound(block), lower < upper else { return (0, 0) }
        let e = block * DateColumnReader.entrySize
        let width = Int(table.loadU8(e + 24))
        let offset = Int(table.loadU64(e + 16))
        var low: UInt64 = 0
        var high: UInt64 = 0
        switch width {
        case 0:
            return (0, 0)
        case 64:
            for i in 0..<128 {
                let v = Int64(bitPattern: body.loadU64(offset + i * 8))
                if v != DateColumnWriter.missing && v >= lower && v < upper {
                    if i < 64 { low |= 1 << UInt64(i) } else { high |= 1 << UInt64(i - 64) }
                }
            }
        default:
            // Values lie in [1, 2^32): the range on them, clamped there, computed on 64 bits (dates may be far apart).
            let base = blockMin(block)
            let (loWide, o1) = lower.subtractingReportingOverflow(base)
            let (hiWide, o2) = upper.subtractingReportingOverflow(base)
            let top: Int64 = 1 << 32
            let lo = o1 ? (lower < base ? 1 : top) : loWide >= top ? top : max(loWide + 1, 1)
            let hi = o2 ? (upper < base ? 1 : top) : hiWide >= top ? top : max(hiWide + 1, 1)
            if lo >= hi { return (0, 0) }
            let from = UInt32(truncatingIfNeeded: lo)
            let span = UInt32(truncatingIfNeeded: hi - lo)  // 1 to 2^32 - 1, as lo >= 1
            BlockCodec.unpack(body.base + offset, width: width, into: scratch)
            for i in 0..<64 where scratch[i] &- from < span { low |= 1 << UInt64(i) }
            for i in 0..<64 where scratch[64 + i] &- from < span { high |= 1 << UInt64(i) }
        }
        let present = documentsMask(block)
        return (low & present.low, high & present.high)
    }

    /// The documents `block` holds, as a 128-bit mask (all but the last block: every bit).
    func documentsMask(_ block: Int) -> (low: UInt64, high: UInt64) {
        let count = min(128, docCount - block * 128)
        if count >= 128 { return (.max, .max) }
        if count >= 64 { return (.max, (1 << UInt64(count - 64)) &- 1) }
        return (count <= 0 ? 0 : (1 << UInt64(count)) &- 1, 0)
    }
}
