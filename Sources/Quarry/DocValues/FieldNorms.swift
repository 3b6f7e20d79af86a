// Length norms: one byte per document per text field.
//
// A field's length (its number of tokens) is quantized to one byte with Lucene's `SmallFloat.intToByte4`, the
// encoding Tantivy's fieldnorm table also follows: lengths 0...23 are exact, larger ones keep 4 significant bits
// (rounded down), up to 2^31. BM25 reads the decoded length, so scores only depend on the byte; the average length
// used beside it is exact (total tokens / documents), as in Lucene and Tantivy.
//
// The `.norms` file:
//
//     header | field 0: docCount bytes | field 1: docCount bytes | ... | trailer | footer
//     trailer: u32 docCount, u32 fieldCount, fieldCount x (u32 fieldOrd, u64 offset), u32 trailerSize

enum FieldNorm {
    private static let freeValues = 24

    /// The byte for a field length.
    @inline(__always)
    static func encode(_ length: UInt32) -> UInt8 {
        let i = Int(min(length, UInt32(Int32.max)))
        if i < freeValues { return UInt8(i) }
        return UInt8(freeValues + longToInt4(i - freeValues))
    }

    /// The (quantized) length of a byte.
    @inline(__always)
    static func decode(_ byte: UInt8) -> UInt32 {
        decodeTable[Int(byte)]
    }

    static let decodeTable: [UInt32] = (0..<256).map { b in
        if b < freeValues { return UInt32(b) }
        return UInt32(freeValues + int4ToInt(b - freeValues))
    }

    private static func longToInt4(_ i: Int) -> Int {
        let numBits = Int.bitWidth - i.leadingZeroBitCount
        if numBits < 4 { return i }
        let shift = numBits - 4
        var encoded = (i >> shift) & 0x07
        encoded |= (shift + 1) << 3
        return encoded
    }

    private static func int4ToInt(_ i: Int) -> Int {
        let bits = i & 0x07
        let shift = (i >> 3) - 1
        if shift == -1 { return bits }
        return (bits | 0x08) << shift
    }
}

/// Per-field length norms of one segment, read from a mapped `.norms` file.
struct FieldNormsReader {
    let docCount: Int
    /// Field ord -> the field's bytes (one per document), if the field has norms. (An array, not a dictionary: see
    /// `SnippetGenerator.terms`.)
    private let columns: [RawBytes?]

    static let kind = FileKind.norms

    init(file: MappedFile, segmentID: [UInt8], expectedDocs: Int) throws(QuarryError) {
        let path = file.path
        // Norms are read in scoring loops, one byte at a time: the file (a byte per document per text field) is
        // verified whole at open rather than checked per read.
        let (body, chunks) = try FileFormat.open(file, kind: .norms, id: segmentID, minimumTrailer: 12)
        guard chunks.checkAll() else { throw chunks.damaged("the norms file") }
        guard let trailerSize = body.u32(body.count - 4).map(Int.init), trailerSize >= 12,
            trailerSize <= body.count - FileFormat.headerSize
        else {
            throw QuarryError.corrupt(path, "bad norms trailer size", offset: body.count - 4)
        }
        var c = ByteCursor(body, position: body.count - trailerSize)
        guard let docs = c.u32(), let fields = c.u32(), Int(docs) == expectedDocs, fields <= 256,
            trailerSize == 12 + Int(fields) * 12
        else {
            throw QuarryError.corrupt(path, "norms trailer does not match the segment", offset: body.count - trailerSize)
        }
        var columns: [RawBytes?] = []
        for _ in 0..<fields {
            guard let ord = c.u32(), ord < 256, let offset = c.u64(), let o = Int(exactly: offset),
                o >= FileFormat.headerSize, let col = body.slice(o, Int(docs)),
                o + Int(docs) <= body.count - trailerSize
            else {
                throw QuarryError.corrupt(path, "norms column out of bounds", offset: c.position)
            }
            while columns.count <= Int(ord) { columns.append(nil) }
            columns[Int(ord)] = col
        }
        self.docCount = Int(docs)
        self.columns = columns
    }

    /// The norm bytes of a field (one per document), or nil if the segment has none for it.
    func column(_ fieldOrd: Int) -> RawBytes? { fieldOrd >= 0 && fieldOrd < columns.count ? columns[fieldOrd] : nil }
}

enum FieldNormsWriter {
    /// Writes a `.norms` file. `columns` maps field ords to their per-document bytes.
    static func write(path: String, segmentID: [UInt8], docCount: Int, columns: [(Int, [UInt8])])
        throws(QuarryError) -> Int
    {
        let w = try FileWriter(path: path, kind: .norms, id: segmentID)
        var trailer = ByteBuffer()
        trailer.u32(UInt32(docCount))
        trailer.u32(UInt32(columns.count))
        for (ord, bytes) in columns {
            precondition(bytes.count == docCount, "FieldNormsWriter: one byte per document")
            trailer.u32(UInt32(ord))
            trailer.u64(UInt64(w.position))
            try w.write(bytes)
        }
        trailer.u32(UInt32(trailer.count + 4))
        try w.write(trailer)
        return try w.finish()
    }
}
