// Deleted documents of one segment: a bitset, one bit per document (1 = deleted), in a small file of its own that is
// written anew, under a new generation, whenever the segment loses documents (Lucene's live-docs generations). The
// segment's other files never change; the manifest names the generation in force, so a commit that adds deletes is
// as atomic as any other, and a reader keeps the generation it opened.
//
// `seg-0000002a_3.del` (the segment's name, `_`, the generation in hex):
//
//     header (kind DELS, the segment's id) | u32 docCount | u32 deletedCount | u64 generation
//     | ceil(docCount / 64) x u64 words (bit d % 64 of word d / 64: document d is deleted) | footer
//
// Opening reads the whole file (it is small: 125 KB for a million documents) and checks its checksum, that the counts
// agree with the manifest and with the bits, and that no bit is set past the last document.

/// The deleted documents of a segment.
public struct DeletedDocuments: Sendable, Equatable {
    /// Documents in the segment.
    public let docCount: Int
    private(set) var words: [UInt64]
    /// Documents deleted.
    public private(set) var count: Int = 0

    /// No document deleted.
    public init(docCount: Int) {
        self.docCount = docCount
        words = [UInt64](repeating: 0, count: (docCount + 63) / 64)
    }

    /// True if `doc` is deleted.
    @inline(__always)
    public func contains(_ doc: Int) -> Bool {
        guard doc >= 0, doc < docCount else { return false }
        return words[doc >> 6] & (1 << UInt64(doc & 63)) != 0
    }

    /// Marks `doc` deleted. - Returns: true if it was live.
    @discardableResult
    public mutating func insert(_ doc: Int) -> Bool {
        precondition(doc >= 0 && doc < docCount, "DeletedDocuments.insert: document out of range")
        let bit: UInt64 = 1 << UInt64(doc & 63)
        if words[doc >> 6] & bit != 0 { return false }
        words[doc >> 6] |= bit
        count += 1
        return true
    }


    /// The path of a deletes file.
    static func path(segment: String, generation: UInt64, in directory: String) -> String {
        directory + "/" + segment + "_" + String(generation, radix: 16) + "." + FileKind.deletes.fileExtension
    }

    /// Writes the file of `generation` for the segment `info` (synced) and returns its size.
    func write(segment info: SegmentInfo, generation: UInt64, in directory: String) throws(QuarryError) -> Int {
        let path = DeletedDocuments.path(segment: info.name, generation: generation, in: directory)
        let w = try FileWriter(path: path, kind: .deletes, id: info.id)
        var b = ByteBuffer(capacity: 16 + words.count * 8)
        b.u32(UInt32(docCount))
        b.u32(UInt32(count))
        b.u64(generation)
        for word in words { b.u64(word) }
        try w.write(b)
        return try w.finish()
    }

    /// Reads and verifies the deletes file of `info` (which must have one).
    static func read(segment info: SegmentInfo, in directory: String) throws(QuarryError) -> DeletedDocuments {
        guard let path = info.deletesPath(in: directory) else { return DeletedDocuments(docCount: info.docCount) }
        let bytes = try readWholeFile(path)
        let result: DeletedDocuments? = try bytes.withRawBytes { raw throws(QuarryError) -> DeletedDocuments? in
            try FileFormat.verifyChecksum(raw, path: path)
            let body = try FileFormat.validate(raw, kind: .deletes, id: info.id, path: path, minimumTrailer: 16)
            var c = ByteCursor(body, position: FileFormat.headerSize)
            guard let docs = c.u32(), Int(docs) == info.docCount, let deleted = c.u32(),
                Int(deleted) == info.deletedCount, let generation = c.u64(), generation == info.deleteGeneration
            else { return nil }
            var d = DeletedDocuments(docCount: info.docCount)
            var total = 0
            for i in 0..<d.words.count {
                guard let w = c.u64() else { return nil }
                d.words[i] = w
                total += w.nonzeroBitCount
            }
            let tail = info.docCount & 63
            if tail != 0, let last = d.words.last, last >> UInt64(tail) != 0 { return nil }
            guard total == info.deletedCount, c.position == body.count else { return nil }
            d.count = total
            return d
        }
        guard let result else {
            throw QuarryError.corrupt(path, "the deletes file does not agree with the manifest (damaged or replaced)")
        }
        return result
    }
}
