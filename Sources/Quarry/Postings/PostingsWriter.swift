// Postings and positions of one segment, written term by term.
//
// `.post`, per term with docFreq >= 2 (a term in one document is inlined in the dictionary):
//
//     vint maxFreq, u8 minNorm, 8 bytes impacts  bounds over all the term's documents (block-max WAND / MaxScore)
//     skip table, only if the term has 2+ blocks: one 28-byte entry per block
//         u32 lastDoc, u32 docEnd (block end, from the data start), u32 positionCount (positions of the term up to
//         the block's end), u32 groupOffset (where the positions group holding the next block's first position
//         starts, from the term's positions start), u16 maxFreq (saturated), u8 minNorm, u8 zero, 8 bytes impacts
//     data: full blocks of 128 documents, then a tail of fewer than 128
//         full block: u8 docWidth, u8 freqWidth, 128 doc deltas (BlockCodec), 128 (freq - 1) (BlockCodec)
//         tail: per document vint(delta << 1 | (freq == 1)), then vint freq if freq != 1
//
// Deltas are from the previous document (the first block's first from 0, later blocks' first from the previous
// block's last document).
//
// Impacts bound BM25 from above for the block (or the term), for any average length, so that block-max pruning is
// exact however the index is split (Tantivy stores one (freq, norm) pair chosen with the segment's own average
// length, which is exact only for one segment). They are up to four (freq, norm) pairs, each a u8 freq (255: "the
// block's maxFreq or less") and a u8 norm, that dominate every document of the block: BM25 grows with the
// frequency and falls with the length, so the best of the four pairs' scores is an upper bound (Lucene's
// "competitive impacts", capped at four). Unused pairs are (0, 0).
//
// `.pos`, per term: the positions of its documents in order (per document: the first position, then the gaps), as
// one stream of groups of 128 values (u8 width + BlockCodec) ending in a vint tail of fewer than 128. The stream's
// value count is the sum of the term's frequencies; the skip entries say where each block's positions begin, so a
// reader decodes only the groups holding the documents it checks (as Tantivy and Lucene do).

/// Encodes terms into the `.post` and `.pos` files of a segment.
final class PostingsWriter {
    private let postings: FileWriter
    private let positions: FileWriter?
    private var scratch = [UInt32](repeating: 0, count: 128)
    private var packed = [UInt8](repeating: 0, count: 16 * 32 * 2 + 2)
    private var skip = ByteBuffer()
    private var data = ByteBuffer()
    private var posChunk = ByteBuffer()
    private var blockImpacts = Impacts()

    init(postings: FileWriter, positions: FileWriter?) {
        self.postings = postings
        self.positions = positions
    }

    var postingsPosition: Int { postings.position }
    var positionsPosition: Int { positions?.position ?? 0 }

    /// Writes one term.
    /// - Parameters:
    ///   - docs: the term's documents, increasing.
    ///   - freqs: the term frequency in each document.
    ///   - positionValues: if the field has positions, all positions, document after document, each document's
    ///     as its first position followed by the gaps between consecutive positions.
    ///   - norms: the field's norm bytes indexed by document, to record per-block minimum norms (nil: no norms).
    func writeTerm(
        docs: UnsafeBufferPointer<UInt32>, freqs: UnsafeBufferPointer<UInt32>,
        positionValues: UnsafeBufferPointer<UInt32>?, norms: UnsafeBufferPointer<UInt8>?
    ) throws(QuarryError) -> TermInfo {
        let df = docs.count
        precondition(df >= 1 && freqs.count == df, "PostingsWriter.writeTerm: one frequency per document")
        var info = TermInfo.none
        info.docFreq = UInt32(df)
        info.positionsOffset = UInt64(positionsPosition)
        if df == 1 {
            info.singletonDoc = docs[0]
            info.singletonFreq = freqs[0]
            if let positionValues, let positions {
                posChunk.removeAll()
                encodePositions(positionValues, into: &posChunk)
                try positions.write(posChunk)
            }
            return info
        }
        info.postingsOffset = UInt64(postingsPosition)
        let numBlocks = (df + 127) / 128
        skip.removeAll()
        data.removeAll()
        var termMaxFreq: UInt32 = 0
        var termMinNorm: UInt8 = 255
        var termImpacts = Impacts()
        var previousDoc: UInt32 = 0
        var positionCount = 0
        posChunk.removeAll()
        if let positionValues { encodePositions(positionValues, into: &posChunk) }
        for b in 0..<numBlocks {
            let lo = b * 128
            let hi = min(lo + 128, df)
            var maxFreq: UInt32 = 0
            var minNorm: UInt8 = 255
            var freqSum = 0
            blockImpacts.reset()
            for i in lo..<hi {
                maxFreq = max(maxFreq, freqs[i])
                freqSum += Int(freqs[i])
                let norm = norms.map { $0[Int(docs[i])] } ?? 0
                minNorm = min(minNorm, norm)
                blockImpacts.add(freq: freqs[i], norm: norm)
            }
            let impacts = blockImpacts.frontier()
            for (f, n) in impacts { termImpacts.add(freq: f, norm: n) }
            termMaxFreq = max(termMaxFreq, maxFreq)
            termMinNorm = min(termMinNorm, minNorm)
            if hi - lo == 128 {
                try writeFullBlock(docs, freqs, lo, previousDoc)
            } else {
                var prev = previousDoc
                for i in lo..<hi {
                    let delta = docs[i] - prev
                    prev = docs[i]
                    if freqs[i] == 1 {
                        data.vint(UInt64(delta) << 1 | 1)
                    } else {
                        data.vint(UInt64(delta) << 1)
                        data.vint(freqs[i])
                    }
                }
            }
            positionCount += freqSum
            previousDoc = docs[hi - 1]
            if numBlocks > 1 {
                let group = positionValues == nil ? 0 : groupOffsets[min(positionCount >> 7, groupOffsets.count - 1)]
                guard data.count <= Int(UInt32.max), positionCount <= Int(UInt32.max), group <= Int(UInt32.max) else {
                    throw QuarryError(.invalidInput, "a term's postings exceed 4 GiB; split the input into smaller indexes")
                }
                skip.u32(docs[hi - 1])
                skip.u32(UInt32(data.count))
                skip.u32(UInt32(positionCount))
                skip.u32(UInt32(group))
                skip.u16(UInt16(min(maxFreq, UInt32(UInt16.max))))
                skip.u8(minNorm)
                skip.u8(0)
                Impacts.encode(impacts, into: &skip)
            }
        }
        var head = ByteBuffer(capacity: 16)
        head.vint(termMaxFreq)
        head.u8(termMinNorm)
        Impacts.encode(termImpacts.frontier(), into: &head)
        try postings.write(head)
        if numBlocks > 1 { try postings.write(skip) }
        try postings.write(data)
        if let positions, positionValues != nil {
            try positions.write(posChunk)
        }
        return info
    }

    private func writeFullBlock(
        _ docs: UnsafeBufferPointer<UInt32>, _ freqs: UnsafeBufferPointer<UInt32>, _ lo: Int, _ previousDoc: UInt32
    ) throws(QuarryError) {
        var prev = previousDoc
        for i in 0..<128 {
            scratch[i] = docs[lo + i] - prev
            prev = docs[lo + i]
        }
        let docWidth = scratch.withUnsafeBufferPointer { BlockCodec.requiredWidth($0.baseAddress.unsafelyUnwrapped) }
        data.u8(UInt8(docWidth))
        let widthPosition = data.count
        data.u8(0)
        appendPacked(docWidth)
        for i in 0..<128 { scratch[i] = freqs[lo + i] - 1 }
        let freqWidth = scratch.withUnsafeBufferPointer { BlockCodec.requiredWidth($0.baseAddress.unsafelyUnwrapped) }
        data.bytes[widthPosition] = UInt8(freqWidth)
        appendPacked(freqWidth)
    }

    private func appendPacked(_ width: Int) {
        let size = BlockCodec.packedSize(width: width)
        scratch.withUnsafeBufferPointer { src in
            packed.withUnsafeMutableBytes { dst in
                BlockCodec.pack(src.baseAddress.unsafelyUnwrapped, width: width, into: dst.baseAddress.unsafelyUnwrapped)
            }
        }
        data.append(contentsOf: packed[0..<size])
    }

    /// Byte offsets (from the term's positions start) of each group of the last encoded stream, and of its tail.
    private var groupOffsets: [Int] = []

    /// Encodes a term's position values (already delta-coded per document: each document's first position, then
    /// the gaps, as the segment builder keeps them) as groups of 128 and a vint tail; records where groups start.
    private func encodePositions(_ values: UnsafeBufferPointer<UInt32>, into out: inout ByteBuffer) {
        groupOffsets.removeAll(keepingCapacity: true)
        let count = values.count
        var i = 0
        while i + 128 <= count {
            groupOffsets.append(out.count)
            for k in 0..<128 { scratch[k] = values[i + k] }
            let width = scratch.withUnsafeBufferPointer { BlockCodec.requiredWidth($0.baseAddress.unsafelyUnwrapped) }
            out.u8(UInt8(width))
            let size = BlockCodec.packedSize(width: width)
            scratch.withUnsafeBufferPointer { src in
                packed.withUnsafeMutableBytes { dst in
                    BlockCodec.pack(src.baseAddress.unsafelyUnwrapped, width: width, into: dst.baseAddress.unsafelyUnwrapped)
                }
            }
            out.append(contentsOf: packed[0..<size])
            i += 128
        }
        groupOffsets.append(out.count)
        while i < count {
            out.vint(values[i])
            i += 1
        }
    }
}

/// The (frequency, norm) pairs that dominate a set of documents: the Pareto frontier of high frequency and short
/// length, reduced to at most four pairs by merging neighbours (the merged pair takes the higher frequency and the
/// lower norm, so it still dominates both).
struct Impacts {
    /// Per norm byte: the highest frequency seen with it (0: none).
    private var maxFreqByNorm = [UInt32](repeating: 0, count: 256)
    /// The norms seen, as a 256-bit set (so that the frontier walks them in order without sorting).
    private var touched = [UInt64](repeating: 0, count: 4)

    mutating func reset() {
        for w in 0..<4 {
            var bits = touched[w]
            while bits != 0 {
                maxFreqByNorm[w << 6 | bits.trailingZeroBitCount] = 0
                bits &= bits &- 1
            }
            touched[w] = 0
        }
    }

    @inline(__always)
    mutating func add(freq: UInt32, norm: UInt8) {
        let i = Int(norm)
        touched[i >> 6] |= 1 << UInt64(i & 63)
        if freq > maxFreqByNorm[i] { maxFreqByNorm[i] = freq }
    }

    /// The frontier (norms and frequencies both increasing), at most four pairs. Consumes nothing: call
    /// `reset()` before the next set.
    func frontier() -> [(UInt32, UInt8)] {
        var points: [(UInt32, UInt8)] = []
        points.reserveCapacity(8)
        // From the shortest norm up, a pair is kept when its frequency beats every shorter one's; the others are
        // dominated (a shorter document with at least their frequency exists).
        var best: UInt32 = 0
        for w in 0..<4 {
            var bits = touched[w]
            while bits != 0 {
                let n = w << 6 | bits.trailingZeroBitCount
                bits &= bits &- 1
                let f = maxFreqByNorm[n]
                if f > best {
                    points.append((f, UInt8(n)))
                    best = f
                }
            }
        }
        while points.count > 4 {
            // Merge the neighbours closest in frequency: (f_i, n_i), (f_i+1, n_i+1) -> (f_i+1, n_i).
            var k = 0
            var smallest = UInt32.max
            for i in 0..<(points.count - 1) where points[i + 1].0 - points[i].0 < smallest {
                smallest = points[i + 1].0 - points[i].0
                k = i
            }
            points[k] = (points[k + 1].0, points[k].1)
            points.remove(at: k + 1)
        }
        return points
    }

    /// Writes up to four pairs as 8 bytes.
    static func encode(_ points: [(UInt32, UInt8)], into out: inout ByteBuffer) {
        for k in 0..<4 {
            if k < points.count {
                out.u8(UInt8(min(points[k].0, 255)))
                out.u8(points[k].1)
            } else {
                out.u8(0)
                out.u8(0)
            }
        }
    }
}
