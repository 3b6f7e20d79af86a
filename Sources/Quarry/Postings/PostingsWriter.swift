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
//         full block: u8 docWidth, u8 freqWidth, 128 (doc delta - 1) (BlockCodec), 128 (freq - 1) (BlockCodec)
//         dense full block (128 documents within 256, when smaller so): u8 255, u8 freqWidth, u8 words (1-4),
//             words x u64 (a bitset of the documents from the previous block's last + 1), 128 (freq - 1)
//         tail: per document vint(delta << 1 | (freq == 1)), then vint freq if freq != 1
//
// Deltas are from the previous document (the first block's first from 0, later blocks' first from the previous
// block's last document); a full block packs each delta less one (its first block's first document as is), so
// that documents increase whatever the bits say (version 2 packed the deltas themselves).
//
// Impacts bound BM25 from above for the block (or the term), for any average length, so that block-max pruning is
// exact however the index is split (Tantivy stores one (freq, norm) pair chosen with the segment's own average
// length, which is exact only for one segment). They are up to four (freq, norm) pairs, each a u8 freq (255: "the
// block's maxFreq or less") and a u8 norm, that dominate every document of the block: BM25 grows with the
// frequency and falls with the length, so the best of the four pairs' scores is an upper bound (Lucene's
// "competitive impacts", capped at four). Unused pairs are (0, 0).
//
// `.pos`, per term: the positions of its documents in order (per document: the first position, then the gaps), as
// one stream of groups of 128 values (a header byte + BlockCodec, with up to seven exceptions patched in: see
// `appendPackedGroup`) ending in a vint tail of fewer than 128. The stream's
// value count is the sum of the term's frequencies; the skip entries say where each block's positions begin, so a
// reader decodes only the groups holding the documents it checks (as Tantivy and Lucene do).

/// Encodes terms into the `.post` and `.pos` files of a segment, a document at a time: `beginTerm`, `add` for each
/// document in increasing order, `finishTerm`. A term's memory is its compressed postings and one block of documents:
/// positions go to the file group by group as they fill, so a term of any size streams (a merge of large segments
/// never holds a frequent word's positions whole).
final class PostingsWriter {
    /// The first byte of a full block written as a bitset (a packed block's is its width, 0 to 32).
    static let denseMarker: UInt8 = 255
    /// The most 64-bit words a dense block's bitset has (its documents span at most 256 document numbers).
    static let denseMaxWords = 4
    private let postings: FileWriter
    private let positions: FileWriter?
    private var scratch = [UInt32](repeating: 0, count: 128)
    private var packed = [UInt8](repeating: 0, count: 16 * 32 * 2 + 2)
    private var denseBits = [UInt64](repeating: 0, count: 64)
    private let version: UInt16
    private var skip = ByteBuffer()
    private var data = ByteBuffer()
    private var posChunk = ByteBuffer()
    private var blockImpacts = Impacts()
    private var termImpacts = Impacts()

    // The term being written.
    private var withPositions = false
    private var info = TermInfo.none
    private var df = 0
    /// The open block: its documents, frequencies and norms.
    private var blockDocs = [UInt32](repeating: 0, count: 128)
    private var blockFreqs = [UInt32](repeating: 0, count: 128)
    private var blockLength = 0
    private var blockMaxFreq: UInt32 = 0
    private var blockMinNorm: UInt8 = 255
    private var blockFreqSum = 0
    private var blocks = 0
    private var previousDoc: UInt32 = 0
    private var termMaxFreq: UInt32 = 0
    private var termMinNorm: UInt8 = 255
    private var positionCount = 0
    /// Position values not yet in a full group (fewer than 128 after each document).
    private var pendingPositions: [UInt32] = []
    /// Bytes of the term's positions stream written so far (full groups).
    private var positionBytes = 0
    private var overflow = false

    /// - Parameter version: the postings format version to write: the current one, or 2 (no dense blocks, the
    ///   deltas themselves), which tests use to check that files of that version are still read.
    init(postings: FileWriter, positions: FileWriter?, version: UInt16 = FileKind.postings.version) {
        self.postings = postings
        self.positions = positions
        self.version = version
    }

    /// The field's average length (its terms over its documents, in the segment being written): a block with more
    /// than four (freq, norm) pairs on its frontier keeps the four whose BM25 bound at this length is least (nil:
    /// the pairs closest in frequency are merged). Any choice bounds every average length; this one is tight
    /// where the index's average is near the segment's, as it is in an index of one segment.
    var averageLength: Float? {
        didSet {
            lengthFactors = averageLength.map { BM25.lengthCache(avgLength: max($0, 1)) }
        }
    }
    private var lengthFactors: [Float]?

    var postingsPosition: Int { postings.position }
    var positionsPosition: Int { positions?.position ?? 0 }

    /// Writes one term whose documents are all at hand (see `add` for the meaning of the arguments).
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
        precondition(docs.count >= 1 && freqs.count == docs.count, "PostingsWriter.writeTerm: one frequency per document")
        beginTerm(withPositions: positionValues != nil)
        var p = 0
        for i in 0..<docs.count {
            let f = Int(freqs[i])
            let norm = norms.map { $0[Int(docs[i])] } ?? 0
            if let positionValues {
                precondition(p + f <= positionValues.count, "PostingsWriter.writeTerm: a position per occurrence")
                try add(
                    doc: docs[i], freq: freqs[i], norm: norm,
                    positions: UnsafeBufferPointer(rebasing: positionValues[p..<(p + f)]))
                p += f
            } else {
                try add(doc: docs[i], freq: freqs[i], norm: norm, positions: nil)
            }
        }
        return try finishTerm() ?? TermInfo.none
    }

    /// Starts a term.
    func beginTerm(withPositions: Bool) {
        self.withPositions = withPositions && positions != nil
        info = TermInfo.none
        info.positionsOffset = UInt64(positionsPosition)
        df = 0
        blockLength = 0
        blocks = 0
        previousDoc = 0
        termMaxFreq = 0
        termMinNorm = 255
        positionCount = 0
        positionBytes = 0
        overflow = false
        pendingPositions.removeAll(keepingCapacity: true)
        skip.removeAll()
        data.removeAll()
        termImpacts.reset()
        startBlock()
    }

    private func startBlock() {
        blockLength = 0
        blockMaxFreq = 0
        blockMinNorm = 255
        blockFreqSum = 0
        blockImpacts.reset()
    }

    /// Adds the term's next document (documents in increasing order).
    /// - Parameters:
    ///   - norm: the document's norm byte in the field (for block bounds).
    ///   - positions: with positions, the document's first position then the gaps between its positions (`freq`
    ///     values).
    func add(doc: UInt32, freq: UInt32, norm: UInt8, positions: UnsafeBufferPointer<UInt32>?) throws(QuarryError) {
        note(doc: doc, freq: freq, norm: norm)
        if withPositions, let positions {
            pendingPositions.append(contentsOf: positions)
            if pendingPositions.count >= 128 { try writeFullPositionGroups() }
        }
        if blockLength == 128 { try closeBlock() }
    }

    /// Adds the term's next document with its positions given absolute and increasing (as a reader decodes them):
    /// the first and the gaps are taken here, with no copy in between.
    func add(doc: UInt32, freq: UInt32, norm: UInt8, absolutePositions: UnsafePointer<UInt32>, count: Int)
        throws(QuarryError)
    {
        note(doc: doc, freq: freq, norm: norm)
        if withPositions {
            var previous: UInt32 = 0
            for k in 0..<count {
                let p = absolutePositions[k]
                pendingPositions.append(p &- previous)
                previous = p
            }
            if pendingPositions.count >= 128 { try writeFullPositionGroups() }
        }
        if blockLength == 128 { try closeBlock() }
    }

    /// Puts a document in the open block and its bounds.
    @inline(__always)
    private func note(doc: UInt32, freq: UInt32, norm: UInt8) {
        blockDocs[blockLength] = doc
        blockFreqs[blockLength] = freq
        blockLength += 1
        df += 1
        if freq > blockMaxFreq { blockMaxFreq = freq }
        if norm < blockMinNorm { blockMinNorm = norm }
        blockFreqSum += Int(freq)
        blockImpacts.add(freq: freq, norm: norm)
    }

    /// Encodes the pending positions' full groups of 128 to the positions file.
    private func writeFullPositionGroups() throws(QuarryError) {
        guard let file = positions else { return }
        posChunk.removeAll()
        var i = 0
        while i + 128 <= pendingPositions.count {
            for k in 0..<128 { scratch[k] = pendingPositions[i + k] }
            appendPackedGroup(into: &posChunk)
            i += 128
        }
        pendingPositions.removeFirst(i)
        positionBytes += posChunk.count
        try file.write(posChunk)
    }

    /// Appends the full positions group in `scratch`: bit-packed at the width all but at most seven of its values
    /// fit in, those few keeping their high bits beside it (a patched frame of reference, as Lucene's PForUtil): a
    /// document's first position, among its small gaps, no longer widens the whole group.
    private func appendPackedGroup(into out: inout ByteBuffer) {
        let (width, exceptions) = scratch.withUnsafeBufferPointer {
            BlockCodec.patchedWidth($0.baseAddress.unsafelyUnwrapped)
        }
        if exceptions == 0 {
            out.u8(UInt8(width))
        } else {
            out.u8(0x80 | UInt8(width))
            out.u8(UInt8(exceptions))
            let mask: UInt32 = (1 << UInt32(width)) &- 1
            for k in 0..<128 where scratch[k] > mask {
                out.u8(UInt8(k))
                out.u8(UInt8(scratch[k] >> UInt32(width)))
                scratch[k] &= mask
            }
        }
        let size = BlockCodec.packedSize(width: width)
        scratch.withUnsafeBufferPointer { src in
            packed.withUnsafeMutableBytes { dst in
                BlockCodec.pack(src.baseAddress.unsafelyUnwrapped, width: width, into: dst.baseAddress.unsafelyUnwrapped)
            }
        }
        out.append(contentsOf: packed[0..<size])
    }

    /// Writes the open block (full: bit-packed; the term's last, shorter one: vints) and its skip entry.
    private func closeBlock() throws(QuarryError) {
        guard blockLength > 0 else { return }
        // The block's four pairs, chosen once: for its skip entry and as the term's candidates.
        let impacts = blockImpacts.frontier(lengthFactors)
        for (f, n) in impacts { termImpacts.add(freq: f, norm: n) }
        if blockMaxFreq > termMaxFreq { termMaxFreq = blockMaxFreq }
        if blockMinNorm < termMinNorm { termMinNorm = blockMinNorm }
        if blockLength == 128 {
            writeFullBlock()
        } else {
            var prev = previousDoc
            for i in 0..<blockLength {
                let delta = blockDocs[i] - prev
                prev = blockDocs[i]
                if blockFreqs[i] == 1 {
                    data.vint(UInt64(delta) << 1 | 1)
                } else {
                    data.vint(UInt64(delta) << 1)
                    data.vint(blockFreqs[i])
                }
            }
        }
        positionCount += blockFreqSum
        previousDoc = blockDocs[blockLength - 1]
        blocks += 1
        // The group holding the next block's first position starts where the stream's full groups end so far (or
        // is the tail): every group before it is full, and full groups are written as soon as they fill.
        let group = withPositions ? positionBytes : 0
        if data.count > Int(UInt32.max) || positionCount > Int(UInt32.max) || group > Int(UInt32.max) {
            overflow = true
        }
        skip.u32(blockDocs[blockLength - 1])
        skip.u32(UInt32(truncatingIfNeeded: data.count))
        skip.u32(UInt32(truncatingIfNeeded: positionCount))
        skip.u32(UInt32(truncatingIfNeeded: group))
        skip.u16(UInt16(min(blockMaxFreq, UInt32(UInt16.max))))
        skip.u8(blockMinNorm)
        skip.u8(0)
        Impacts.encode(impacts, into: &skip)
        startBlock()
    }

    /// Ends the term: writes its postings, the positions' tail, and returns its dictionary entry (nil if no
    /// document was added: nothing was written).
    func finishTerm() throws(QuarryError) -> TermInfo? {
        if df == 0 { return nil }
        if df == 1 {
            // Inlined in the dictionary: no postings, the positions only.
            info.docFreq = 1
            info.singletonDoc = blockDocs[0]
            info.singletonFreq = blockFreqs[0]
            try writePositionTail()
            return info
        }
        try closeBlock()
        guard !overflow else {
            throw QuarryError(.invalidInput, "a term's postings exceed 4 GiB; split the input into smaller indexes")
        }
        info.docFreq = UInt32(df)
        info.postingsOffset = UInt64(postingsPosition)
        var head = ByteBuffer(capacity: 16)
        head.vint(termMaxFreq)
        head.u8(termMinNorm)
        Impacts.encode(termImpacts.frontier(lengthFactors), into: &head)
        try postings.write(head)
        if blocks > 1 { try postings.write(skip) }
        try postings.write(data)
        try writePositionTail()
        return info
    }

    /// The stream's tail: the pending positions (fewer than 128) as vints.
    private func writePositionTail() throws(QuarryError) {
        guard withPositions, let file = positions else { return }
        posChunk.removeAll()
        for v in pendingPositions { posChunk.vint(v) }
        pendingPositions.removeAll(keepingCapacity: true)
        try file.write(posChunk)
    }

    private func writeFullBlock() {
        // Deltas less one (documents increase, so none is negative); the first block's first document from -1.
        // Version 2: the deltas, the first block's first from 0.
        let less: UInt32 = version >= 3 ? 1 : 0
        var prev = blocks == 0 ? 0 &- less : previousDoc
        for i in 0..<128 {
            scratch[i] = blockDocs[i] &- prev &- less
            prev = blockDocs[i]
        }
        let docWidth = scratch.withUnsafeBufferPointer { BlockCodec.requiredWidth($0.baseAddress.unsafelyUnwrapped) }
        // A dense block (a frequent word's: its 128 documents within 256) is written as a bitset of the documents
        // from the previous block's last document + 1 (the first block's from 0) when that is smaller (8 bytes a
        // word of 64 documents, and one byte more than the packed deltas' header). A reader probing it tests a
        // bit and counts a few words instead of decoding 128 deltas (see PostingsIterator); sparser bitsets
        // would cost more to count and expand than the deltas cost to decode.
        let base = blocks == 0 ? 0 : Int(previousDoc) + 1
        let words = (Int(blockDocs[127]) - base + 64) / 64
        let widthPosition: Int
        if version >= 3 && words <= PostingsWriter.denseMaxWords && 8 * words + 1 < 16 * docWidth {
            data.u8(PostingsWriter.denseMarker)
            widthPosition = data.count
            data.u8(0)
            data.u8(UInt8(words))
            for w in 0..<words { denseBits[w] = 0 }
            for d in blockDocs {
                let i = Int(d) - base
                denseBits[i >> 6] |= 1 << UInt64(i & 63)
            }
            for w in 0..<words { data.u64(denseBits[w]) }
        } else {
            data.u8(UInt8(docWidth))
            widthPosition = data.count
            data.u8(0)
            appendPacked(docWidth)
        }
        for i in 0..<128 { scratch[i] = blockFreqs[i] - 1 }
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
    /// - Parameter factors: the field's 256 BM25 length factors (`BM25.lengthCache`) at its average length: when
    ///   pairs must be merged, the four pairs are chosen so that the best of them scores least at that length,
    ///   as close as four pairs can be to the block's real best score. Nil: the pairs closest in frequency.
    func frontier(_ factors: [Float]? = nil) -> [(UInt32, UInt8)] {
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
        // Neighbours are merged into groups, each (its last frequency, its first norm): that pair dominates them.
        // With the field's length factors, the four groups are those whose best pair scores least (the bound of
        // the block at that length), found by dynamic programming over where groups start; without, or past 32
        // pairs, the neighbours closest in frequency are merged first.
        while points.count > (factors == nil ? 4 : 32) {
            var k = 0
            var smallest = UInt32.max
            for i in 0..<(points.count - 1) where points[i + 1].0 - points[i].0 < smallest {
                smallest = points[i + 1].0 - points[i].0
                k = i
            }
            points[k] = (points[k + 1].0, points[k].1)
            points.remove(at: k + 1)
        }
        if let factors, points.count > 4 {
            points = Impacts.leastBound(points, factors)
        }
        return points
    }

    /// The four groups of consecutive pairs whose merged pairs' best score is least, as their merged pairs.
    /// best[g][j]: the least bound covering the first j pairs with g groups; start[g][j]: where its last group
    /// starts. 4 x m^2 steps, m <= 32.
    static func leastBound(_ points: [(UInt32, UInt8)], _ factors: [Float]) -> [(UInt32, UInt8)] {
        let m = points.count
        func bound(_ i: Int, _ k: Int) -> Float {
            let f = Float(points[k].0)
            return f / (f + factors[Int(points[i].1)])
        }
        var best = [Float](repeating: .infinity, count: 5 * (m + 1))
        var start = [Int](repeating: 0, count: 5 * (m + 1))
        best[0] = 0
        for g in 1...4 {
            for j in g...m {
                for i in (g - 1)..<j where best[(g - 1) * (m + 1) + i] < .infinity {
                    let b = max(best[(g - 1) * (m + 1) + i], bound(i, j - 1))
                    if b < best[g * (m + 1) + j] {
                        best[g * (m + 1) + j] = b
                        start[g * (m + 1) + j] = i
                    }
                }
            }
        }
        var groups: [(UInt32, UInt8)] = []
        var j = m
        for g in stride(from: 4, to: 0, by: -1) {
            let i = start[g * (m + 1) + j]
            groups.append((points[j - 1].0, points[i].1))
            j = i
        }
        return groups.reversed()
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
