// Reading one term's postings: a doc-at-a-time iterator over the mapped `.post` file (see PostingsWriter.swift for
// the layout) that decodes one block of 128 documents at a time, jumps over blocks through the skip table in
// `advance(to:)`, exposes each block's bounds (last document, maximum frequency, minimum norm) for block-max
// pruning, and decodes positions lazily, one block's chunk at a time.
//
// Damaged data never traps: every block is bounds-checked when it is entered, decoded documents must increase and
// stay below the segment's document count, and a failed check ends the iteration and sets `corrupted`, which the
// searcher turns into a `QuarryError.corruptIndex` after the query.

/// The document id that ends every iteration.
let terminated: UInt32 = .max

final class PostingsIterator {
    /// Bytes of a skip entry.
    static let skipEntrySize = 28

    let docFreq: Int
    let numBlocks: Int
    /// Bounds over all of the term's documents.
    let termMaxFreq: UInt32
    let termMinNorm: UInt8
    /// The term's impacts: four (u8 freq, u8 norm) pairs, little-endian (see PostingsWriter.swift); 0 for a term
    /// in one document, whose only pair is (termMaxFreq, termMinNorm).
    let termImpacts: UInt64

    private let postings: RawBytes
    private let positionsFile: RawBytes?
    /// The chunk checksums of the two files: every window is checked before it is decoded.
    private var postingsReads: VerifiedReads
    private var positionsReads: VerifiedReads
    private let maxDoc: UInt32
    private let skip: RawBytes?
    private let dataStart: Int
    private let positionsStart: Int
    private let singleton: Bool
    /// Full blocks pack each doc delta less one (postings version 3; version 2 packed the deltas).
    private let deltasLessOne: Bool

    /// The current document, or `terminated`.
    private(set) var doc: UInt32 = 0
    private var block = -1
    private var blockLength = 0
    private var index = 0
    private let slab: UnsafeMutableRawPointer
    private let docs: UnsafeMutablePointer<UInt32>
    /// Entries of `docs` that hold the block's documents: `blockLength`, or 0 while a dense block is read from its
    /// bitset (only `docs[blockLength - 1]`, its last document, is set then). `next` expands it on first use;
    /// `advance` tests bits and counts them, so a conjunction probing a frequent word decodes nothing.
    private var readyLength = 0
    /// The last document `advance` finds in `docs` without leaving the block: `docs[blockLength - 1]`, or 0 while
    /// a dense block is read from its bitset, so that its probes take the out-of-line path (`advanceBlocks`)
    /// and the in-block path costs what it did before dense blocks.
    private var inBlockLimit: UInt32 = 0
    /// The dense block being read from its bitset (nil: `docs` holds the block): its words, the document of its
    /// bit 0, its word count, and per word the documents in the words before it (a byte each, word 0 lowest).
    private var denseWords: UnsafeRawPointer?
    private var denseBase: UInt32 = 0
    private var denseWordCount = 0
    private var denseRanks: UInt64 = 0
    /// `advance` calls the dense block has answered from its bits; past `denseProbeLimit` it is expanded, as
    /// walking a frequent word document by document (two frequent words intersected) is cheaper in `docs`.
    private var denseProbes = 0
    /// Dense blocks this iterator has entered (for tests and profiles).
    private(set) var denseBlocksEntered = 0
    static let denseProbeLimit = 8
    private let freqs: UnsafeMutablePointer<UInt32>
    /// Set when the data fails a check; the iteration then ends.
    private(set) var corrupted = false

    private var positionsBlock = -1
    /// `[0..<128]`: the decoded group; `[128...]`: the decoded vint tail.
    private var positionValues: UnsafeMutablePointer<UInt32>
    private var positionCapacity: Int
    /// The term's position count (-1 until the first positions are read) and where the current block's begin.
    private var positionTotal = -1
    private var blockPositionStart = 0
    /// The stream's group that `groupOffsets[0]` belongs to.
    private var groupBase = 0
    /// The block's frequencies are summed up to (not including) document `offsetsKnown`, giving `offsetSum`: the
    /// offset of that document's positions from the block's first (documents are visited in increasing order).
    private var offsetsKnown = 0
    private var offsetSum = 0
    private var groupOffsets: UnsafeMutablePointer<Int>
    private var groupCapacity = Slab.groupOffsets
    private var groupsKnown = 0
    private var decodedGroup = -1
    /// The last group some values were read from in place.
    private var extractedGroup = -1
    /// Values of the vint tail decoded so far, and where the next one starts.
    private var tailDecoded = 0
    private var tailCursor = 0
    private var currentPositions: UnsafeMutablePointer<UInt32>
    private var currentCapacity = Slab.currentPositions
    /// How many positions `positionsBuffer` holds.
    private(set) var loadedPositionCount = 0

    /// Opens the postings of a term.
    /// - Parameters:
    ///   - postings: the `.post` file body.
    ///   - positions: the `.pos` file body, if positions will be read.
    ///   - info: the term's dictionary entry.
    ///   - maxDoc: the segment's document count.
    ///   - singletonNorm: for a term in one document, that document's norm (for the bounds).
    ///   - postingsChunks, positionsChunks: the files' chunk checksums (nil: the caller verified the whole files).
    init(
        postings: RawBytes, positions: RawBytes?, info: TermInfo, maxDoc: Int, singletonNorm: UInt8,
        postingsChunks: ChunkVerifier?, positionsChunks: ChunkVerifier?
    ) {
        self.postings = postings
        // The body begins with the file's header, whose version `FileFormat.open` checked.
        self.deltasLessOne = (postings.u16(8) ?? FileKind.postings.version) >= 3
        self.positionsFile = positions
        self.postingsReads = VerifiedReads(postingsChunks, postings)
        self.positionsReads = VerifiedReads(positionsChunks, positions)
        self.maxDoc = UInt32(clamping: maxDoc)
        self.docFreq = Int(info.docFreq)
        // Offsets past the end (damage) are clamped to it, so that the checked reads fail instead of the offset
        // arithmetic overflowing.
        self.positionsStart = min(Int(clamping: info.positionsOffset), positions?.count ?? 0)
        // One allocation for the buffers at their first sizes (a query opens dozens of iterators; buffers that
        // grow get their own and the slab's part is left unused). `docs` has 8 more than a block: a dense block
        // is expanded 8 documents at a time (`expandDense`).
        typealias Slab = PostingsIterator.Slab
        slab = .allocate(byteCount: Slab.bytes, alignment: 16)
        docs = slab.bindMemory(to: UInt32.self, capacity: Slab.docs)
        // Entries past a short block's end stay `terminated`, so that `lowerBound` can search all 128.
        docs.initialize(repeating: terminated, count: Slab.docs)
        freqs = (slab + Slab.freqsAt).bindMemory(to: UInt32.self, capacity: 128)
        positionCapacity = Slab.positionValues
        positionValues = (slab + Slab.positionValuesAt).bindMemory(to: UInt32.self, capacity: Slab.positionValues)
        currentPositions = (slab + Slab.currentPositionsAt).bindMemory(
            to: UInt32.self, capacity: Slab.currentPositions)
        groupOffsets = (slab + Slab.groupOffsetsAt).bindMemory(to: Int.self, capacity: Slab.groupOffsets)
        if info.docFreq <= 1 {
            singleton = true
            numBlocks = 1
            skip = nil
            dataStart = 0
            termMaxFreq = info.singletonFreq
            termMinNorm = singletonNorm
            termImpacts = 0
            docs[0] = info.singletonDoc
            freqs[0] = info.singletonFreq
            block = 0
            blockLength = 1
            readyLength = 1
            inBlockLimit = info.singletonDoc
            if info.docFreq == 0 || info.singletonDoc >= UInt32(clamping: maxDoc) {
                corrupted = info.docFreq != 0
                doc = terminated
            } else {
                doc = info.singletonDoc
            }
            return
        }
        singleton = false
        numBlocks = (docFreq + 127) / 128
        let termStart = min(Int(clamping: info.postingsOffset), postings.count)
        // The term's header (at most 15 bytes) and skip table are verified before they are read.
        let headerBytes = 15 + (numBlocks > 1 ? numBlocks * PostingsIterator.skipEntrySize : 0)
        if !postingsReads.check(postings, termStart, headerBytes) {
            skip = nil
            dataStart = 0
            termMaxFreq = 0
            termMinNorm = 0
            termImpacts = 0
            corrupted = true
            doc = terminated
            return
        }
        var c = ByteCursor(postings, position: termStart)
        let maxFreq = c.vint()
        let minNorm = c.u8()
        termMaxFreq = UInt32(clamping: maxFreq ?? UInt64(UInt32.max))
        termMinNorm = minNorm ?? 0
        let impacts = c.u64()
        termImpacts = impacts ?? 0
        if numBlocks > 1 {
            skip = postings.slice(c.position, numBlocks * PostingsIterator.skipEntrySize)
            dataStart = c.position + numBlocks * PostingsIterator.skipEntrySize
        } else {
            skip = nil
            dataStart = c.position
        }
        if maxFreq == nil || minNorm == nil || impacts == nil || (numBlocks > 1 && skip == nil) {
            corrupted = true
            doc = terminated
            return
        }
        // A long list (over 64 KiB: about 30,000 documents) is read ahead as one request; the maps are
        // `MADV_RANDOM`, so a cold decode would otherwise wait for each page in turn.
        if let skip {
            let end = dataStart + Int(skip.loadU32((numBlocks - 1) * PostingsIterator.skipEntrySize + 4))
            if end - termStart > PostingsIterator.readAheadThreshold && end <= postings.count {
                MappedFile.adviseWillNeed(postings.base + termStart, end - termStart)
            }
        }
        if !decodeBlock(0) {
            doc = terminated
            return
        }
        doc = denseWords == nil ? docs[0] : advanceDense(0)
    }

    deinit {
        if !inSlab(positionValues) { positionValues.deallocate() }
        if !inSlab(groupOffsets) { groupOffsets.deallocate() }
        if !inSlab(currentPositions) { currentPositions.deallocate() }
        slab.deallocate()
    }

    /// The slab's layout: the buffers' first capacities (elements) and byte offsets, UInt32 buffers first.
    private enum Slab {
        static let docs = 136
        static let positionValues = 256
        static let currentPositions = 64
        static let groupOffsets = 8
        static let freqsAt = 4 * docs
        static let positionValuesAt = freqsAt + 4 * 128
        static let currentPositionsAt = positionValuesAt + 4 * positionValues
        static let groupOffsetsAt = currentPositionsAt + 4 * currentPositions
        static let bytes = groupOffsetsAt + 8 * groupOffsets
    }

    /// Whether a buffer is still the slab's part (not one allocated when it grew).
    private func inSlab<T>(_ p: UnsafeMutablePointer<T>) -> Bool {
        let raw = UnsafeRawPointer(p)
        return raw >= UnsafeRawPointer(slab) && raw < UnsafeRawPointer(slab) + Slab.bytes
    }

    /// The current document's term frequency.
    @inline(__always)
    var freq: UInt32 {
        if pendingFreqs >= 0 { decodeFreqs() }
        return freqs[index]
    }

    /// Frequencies of a full block are unpacked only when asked for (as Tantivy does): leapfrogging through a
    /// conjunction needs the documents of many blocks but the frequencies of few. -1: decoded; otherwise the
    /// offset of the packed frequencies, whose width is `pendingFreqWidth`.
    private var pendingFreqs = -1
    private var pendingFreqWidth = 0

    @inline(never)
    private func decodeFreqs() {
        BlockCodec.unpack(postings.base + pendingFreqs, width: pendingFreqWidth, into: freqs)
        BlockCodec.addOne(freqs)
        pendingFreqs = -1
    }

    // MARK: Skip data

    /// The last document of block `b`.
    @inline(__always)
    func blockLastDoc(_ b: Int) -> UInt32 {
        if let skip { return skip.loadU32(b * PostingsIterator.skipEntrySize) }
        return docs[blockLength - 1]
    }

    /// The largest term frequency in block `b`.
    @inline(__always)
    func blockMaxFreq(_ b: Int) -> UInt32 {
        if let skip {
            let f = UInt32(skip.loadU16(b * PostingsIterator.skipEntrySize + 16))
            return f == UInt32(UInt16.max) ? termMaxFreq : f
        }
        return termMaxFreq
    }

    /// The impacts of block `b` (four (u8 freq, u8 norm) pairs; see PostingsWriter.swift), or 0 with no skip table.
    @inline(__always)
    func blockImpacts(_ b: Int) -> UInt64 {
        if let skip { return skip.loadU64(b * PostingsIterator.skipEntrySize + 20) }
        return termImpacts
    }

    /// The smallest norm in block `b`.
    @inline(__always)
    func blockMinNorm(_ b: Int) -> UInt8 {
        if let skip { return skip.loadU8(b * PostingsIterator.skipEntrySize + 18) }
        return termMinNorm
    }

    /// The block the iterator is in.
    var currentBlock: Int { block }

    /// The first block whose last document is >= `target` (or `numBlocks`), searching from `from`.
    @inline(__always)
    func findBlock(_ target: UInt32, from: Int) -> Int {
        guard let skip else { return target <= docs[blockLength - 1] ? 0 : 1 }
        var lo = from
        let e = PostingsIterator.skipEntrySize
        if lo >= numBlocks || skip.loadU32(lo * e) >= target { return lo }
        // Gallop, then binary search.
        var step = 1
        var hi = lo + 1
        while hi < numBlocks && skip.loadU32(hi * e) < target {
            lo = hi
            step <<= 1
            hi = lo + step
        }
        if hi > numBlocks { hi = numBlocks }
        // invariant: lastDoc(lo) < target, and hi == numBlocks or lastDoc(hi) >= target
        while hi - lo > 1 {
            let mid = (lo + hi) >> 1
            if skip.loadU32(mid * e) < target { lo = mid } else { hi = mid }
        }
        return hi
    }

    // MARK: Iteration

    /// The document `ahead` places after the current one, when the current block holds it decoded; nil otherwise
    /// (for fetching ahead what a caller will read for it).
    @inline(__always)
    func upcoming(_ ahead: Int) -> UInt32? {
        let i = index &+ ahead
        return i < readyLength ? docs[i] : nil
    }

    /// Moves to the next document and returns it (or `terminated`).
    @inline(__always)
    func next() -> UInt32 {
        index += 1
        if index < readyLength {
            doc = docs[index]
            return doc
        }
        return nextBlock()
    }

    @inline(never)
    private func nextBlock() -> UInt32 {
        if denseWords != nil && index < blockLength {
            // A dense block walked in order from here: expanded once.
            expandDense()
            doc = docs[index]
            return doc
        }
        let b = block + 1
        if b >= numBlocks || !decodeBlock(b) {
            doc = terminated
            index = max(blockLength - 1, 0)
            return doc
        }
        doc = denseWords == nil ? docs[0] : advanceDense(0)
        return doc
    }

    /// Moves to the first document >= `target` and returns it (or `terminated`).
    @inline(__always)
    func advance(to target: UInt32) -> UInt32 {
        if target <= doc { return doc }
        if target > inBlockLimit {
            return advanceBlocks(target)
        }
        return advanceInBlock(target)
    }

    /// `advance` to a target in the block (after the current document, at most the block's last), in `docs`.
    @inline(__always)
    private func advanceInBlock(_ target: UInt32) -> UInt32 {
        var i = index + 1
        if docs[i] < target { i = lowerBound(target) }
        index = i
        doc = docs[i]
        return doc
    }

    @inline(never)
    private func advanceBlocks(_ target: UInt32) -> UInt32 {
        if doc == terminated { return doc }
        if denseWords != nil && target <= docs[blockLength - 1] { return advanceDense(target) }
        let b = findBlock(target, from: block + 1)
        if b >= numBlocks || !decodeBlock(b) {
            doc = terminated
            index = max(blockLength - 1, 0)
            return doc
        }
        if denseWords != nil { return advanceDense(target) }
        let i = min(lowerBound(target), blockLength - 1)
        index = i
        doc = docs[i]
        if doc < target {
            // Only possible when the skip entry disagrees with the block (checked in decodeBlock).
            corrupted = true
            doc = terminated
        }
        return doc
    }

    /// The word `w` of the dense block's bitset.
    @inline(__always)
    private func denseWord(_ w: Int) -> UInt64 {
        UInt64(littleEndian: denseWords.unsafelyUnwrapped.loadUnaligned(fromByteOffset: w &* 8, as: UInt64.self))
    }

    /// Moves to the dense block's first document >= `target` (at most its last, which `decodeBlock` checked is
    /// set): its index is the number of bits before it, the documents of the words before its word (counted once
    /// in `decodeBlock`) and the bits below it in its word.
    @inline(never)
    private func advanceDense(_ target: UInt32) -> UInt32 {
        denseProbes &+= 1
        if denseProbes > PostingsIterator.denseProbeLimit && target > doc {
            expandDense()
            return advanceInBlock(target)
        }
        let bit = target > denseBase ? Int(target &- denseBase) : 0
        var w = bit >> 6
        guard w < denseWordCount else { return denseFailure() }
        var m = denseWord(w) & (~0 << UInt64(bit & 63))
        while m == 0 {
            w &+= 1
            guard w < denseWordCount else { return denseFailure() }
            m = denseWord(w)
        }
        let b = m.trailingZeroBitCount
        let before = Int(truncatingIfNeeded: (denseRanks >> UInt64(w &* 8)) & 0xFF)
        index = before &+ (denseWord(w) & ~(~0 << UInt64(b))).nonzeroBitCount
        doc = denseBase &+ UInt32(truncatingIfNeeded: w &* 64 &+ b)
        return doc
    }

    /// A target past the dense block's last document: not reachable when the block's last bit is set and the
    /// target at most the block's last document (both checked before), reported as damage all the same.
    private func denseFailure() -> UInt32 {
        _ = fail()
        index = max(blockLength - 1, 0)
        doc = terminated
        return doc
    }

    /// Writes the dense block's documents into `docs` (128 of them: checked in `decodeBlock`), a byte of the
    /// bitset at a time: the byte's set bits' offsets from a table, widened and added to the byte's first document
    /// as eight lanes (stored whole: `docs` has 8 spare entries), then the count moves on by the byte's popcount.
    private func expandDense() {
        let table = PostingsIterator.bitOffsets
        let counts = table + 256 * 8
        var n = 0
        for w in 0..<denseWordCount {
            var m = denseWord(w)
            if n &+ m.nonzeroBitCount > 128 { break }
            var first = denseBase &+ UInt32(truncatingIfNeeded: w &* 64)
            while m != 0 {
                let byte = Int(truncatingIfNeeded: m & 0xFF)
                let offsets = UnsafeRawPointer(table + byte &* 8).loadUnaligned(as: SIMD8<UInt8>.self)
                let values = SIMD8<UInt32>(truncatingIfNeeded: offsets) &+ SIMD8(repeating: first)
                UnsafeMutableRawPointer(docs + n).storeBytes(of: values, as: SIMD8<UInt32>.self)
                n &+= Int(counts[byte])
                m >>= 8
                first &+= 8
            }
        }
        denseWords = nil
        readyLength = blockLength
        inBlockLimit = docs[blockLength - 1]
    }

    /// Per byte value, the offsets of its set bits in increasing order (8 bytes each; unused ones 0), then per
    /// byte value its number of set bits (256 bytes: the generic x86-64 target has no popcount instruction).
    nonisolated(unsafe) static let bitOffsets: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256 * 9)
        table.initialize(repeating: 0, count: 256 * 9)
        for byte in 0..<256 {
            var k = 0
            for bit in 0..<8 where byte & (1 << bit) != 0 {
                table[byte * 8 + k] = UInt8(bit)
                k += 1
            }
            table[256 * 8 + byte] = UInt8(k)
        }
        return UnsafePointer(table)
    }()

    /// The first index of the block whose document is >= `target` (128 if none): a branch-free binary search
    /// over all 128 entries (those past a short block's end are `terminated`), as Tantivy searches its blocks;
    /// cheaper than a linear scan once the target is more than a few documents ahead.
    @inline(__always)
    private func lowerBound(_ target: UInt32) -> Int {
        // `(x - t) >> 63` on 64 bits is 1 exactly when x < t: arithmetic, not a branch the compiler may emit.
        let t = UInt64(target)
        var i = 0
        var step = 64
        while step > 0 {
            i &+= Int(truncatingIfNeeded: (UInt64(docs[i &+ step &- 1]) &- t) >> 63) &* step
            step >>= 1
        }
        return i
    }

    /// Decodes block `b` into `docs`/`freqs`; false (and `corrupted`) if the data is damaged.
    private func decodeBlock(_ b: Int) -> Bool {
        if singleton { return false }
        let length = b == numBlocks - 1 ? docFreq - b * 128 : 128
        let e = PostingsIterator.skipEntrySize
        let start = dataStart + (b == 0 ? 0 : Int(skip.unsafelyUnwrapped.loadU32((b - 1) * e + 4)))
        let base: UInt32 = b == 0 ? 0 : skip.unsafelyUnwrapped.loadU32((b - 1) * e)
        block = b
        blockLength = length
        readyLength = length
        denseWords = nil
        index = 0
        positionsBlock = -1
        // The block's bytes: up to the end its skip entry gives, or (a term of one block) at most the largest
        // block, clipped to the file.
        let end = skip.map { dataStart + Int($0.loadU32(b * e + 4)) } ?? (start + PostingsIterator.maxBlockBytes)
        guard end > start, postingsReads.check(postings, start, end - start) else { return fail() }
        if length == 128 && postings.u8(start) == PostingsWriter.denseMarker {
            // A bitset of the documents from `base + 1` (the first block's from 0), read in place.
            guard let fw = postings.u8(start + 1), let wc = postings.u8(start + 2), fw <= 32, wc >= 1,
                Int(wc) <= PostingsWriter.denseMaxWords,
                postings.contains(start + 3, 8 * Int(wc) + 16 * Int(fw))
            else { return fail() }
            denseWords = UnsafeRawPointer(postings.base + start + 3)
            denseWordCount = Int(wc)
            var total = 0
            var ranks: UInt64 = 0
            for w in 0..<denseWordCount {
                ranks |= UInt64(truncatingIfNeeded: total) << UInt64(w &* 8)
                total &+= denseWord(w).nonzeroBitCount
            }
            let lastWord = denseWord(denseWordCount - 1)
            let first: UInt64 = b == 0 ? 0 : UInt64(base) + 1
            let last = first + UInt64((denseWordCount - 1) * 64 + 63 - lastWord.leadingZeroBitCount)
            guard total == 128, lastWord != 0, last < UInt64(maxDoc) else { return fail() }
            denseBase = UInt32(first)
            denseRanks = ranks
            denseProbes = 0
            denseBlocksEntered &+= 1
            readyLength = 0
            inBlockLimit = 0
            docs[127] = UInt32(last)
            pendingFreqs = start + 3 + 8 * Int(wc)
            pendingFreqWidth = Int(fw)
        } else if length == 128 {
            guard let dw = postings.u8(start), let fw = postings.u8(start + 1), dw <= 32, fw <= 32,
                postings.contains(start + 2, 16 * (Int(dw) + Int(fw)))
            else { return fail() }
            BlockCodec.unpack(postings.base + start + 2, width: Int(dw), into: docs)
            if deltasLessOne {
                // Version 3: each delta less one, so documents increase as long as the sum does not wrap: from
                // `first` (the block's lowest possible document), document i is first + i + the sum of the values
                // up to i. 128 values of at most 24 bits and their 128 ones sum to at most 2^31, so from below
                // 2^31 only the last document needs checking against the segment; wider values (only in damaged
                // or gigantic segments) are summed on 64 bits first.
                let first: UInt32 = b == 0 ? 0 : base &+ 1
                if dw > 24 || first >= 1 << 31 {
                    guard UInt64(first) + 127 + BlockCodec.sum64(docs) < UInt64(maxDoc) else { return fail() }
                }
                BlockCodec.prefixSumOfIncrements128(docs, base: first &- 1)
            } else {
                // Version 2: the deltas themselves, each at least 1 but the segment's first document's; the same
                // bound on the sum.
                guard !BlockCodec.containsZero(docs, exceptFirst: b == 0) else { return fail() }
                if dw > 24 || base >= 1 << 31 {
                    guard UInt64(base) + BlockCodec.sum64(docs) < UInt64(maxDoc) else { return fail() }
                }
                BlockCodec.prefixSum128(docs, base: base)
            }
            guard docs[127] < maxDoc else { return fail() }
            pendingFreqs = start + 2 + 16 * Int(dw)
            pendingFreqWidth = Int(fw)
        } else {
            pendingFreqs = -1
            var c = ByteCursor(postings, position: start)
            var prev = base
            for i in 0..<length {
                guard let code = c.vint(), code >> 1 <= UInt64(UInt32.max) else { return fail() }
                let delta = UInt32(code >> 1)
                // Deltas after the first document of the segment are at least 1, and documents stay in the segment.
                if delta == 0 && (i > 0 || b > 0) { return fail() }
                let (next, overflow) = prev.addingReportingOverflow(delta)
                if overflow || next >= maxDoc { return fail() }
                prev = next
                docs[i] = prev
                if code & 1 == 1 {
                    freqs[i] = 1
                } else {
                    guard let f = c.vint(), f >= 1, f <= UInt64(UInt32.max) else { return fail() }
                    freqs[i] = UInt32(f)
                }
            }
            (docs + length).update(repeating: terminated, count: 128 - length)
        }
        // The block ends where the skip entry says.
        if let skip, docs[length - 1] != skip.loadU32(b * e) { return fail() }
        if denseWords == nil { inBlockLimit = docs[length - 1] }
        return true
    }

    /// The largest encoding of a block: 128 documents bit-packed at 32 bits each for both documents and
    /// frequencies, or 127 documents as vints of at most 5 bytes for the code and 5 for the frequency.
    static let maxBlockBytes = 127 * 10

    /// Postings longer than this are read ahead when an iterator starts on them.
    static let readAheadThreshold = 64 << 10

    /// Marks the postings damaged (a caller found them inconsistent with the segment).
    func markCorrupted() { corrupted = true }

    private func fail() -> Bool {
        corrupted = true
        denseWords = nil
        readyLength = blockLength
        pendingFreqs = -1
        blockLength = max(blockLength, 1)
        docs[0] = terminated
        docs[blockLength - 1] = terminated
        inBlockLimit = terminated
        return false
    }

    // MARK: Positions

    /// The current document's positions (absolute, increasing), as decoded by the last `loadPositions()`.
    var positionsBuffer: UnsafePointer<UInt32> { UnsafePointer(currentPositions) }

    /// Up to this many positions of one group are read in place (`BlockCodec.extract`, a few instructions each)
    /// instead of unpacking the group's 128 (about 230 instructions, worth it when later documents reuse them).
    static let extractLimit = 16

    /// Decodes the positions of the current document into `positionsBuffer`.
    ///
    /// The term's positions are one stream of 128-value groups (see PostingsWriter.swift); only the groups that
    /// hold this document's positions are decoded, found from the skip entry of its block by stepping over group
    /// headers, so a phrase check costs about the document's frequency.
    /// - Returns: the number of positions, or -1 if they are damaged or the field has none.
    func loadPositions() -> Int {
        // Most calls of a phrase check find the block entered, its frequencies decoded and the document's
        // positions inside the group last unpacked (an earlier candidate's): copied here, without the general
        // path's setup (a third of a usenet phrase count's instructions were that path's fixed cost).
        if positionsBlock == block && pendingFreqs < 0 && doc != terminated {
            sumOffsets()
            let start = blockPositionStart &+ offsetSum
            let count = Int(freqs[index])
            let end = start &+ count
            let g = start >> 7
            // Only full groups are decoded (so `g` is one); the document's last position must be in it too, and
            // inside the term's positions. (A count of 0, which only damage makes, loads nothing either way.)
            if g == decodedGroup && (end &- 1) >> 7 == g && end <= positionTotal && count <= currentCapacity {
                let values = positionValues + (start & 127)
                let out = currentPositions
                var p: UInt32 = 0
                for j in 0..<count {
                    p &+= values[j]
                    out[j] = p
                }
                loadedPositionCount = count
                return count
            }
        }
        return loadPositionsInGeneral()
    }

    /// Adds the frequencies of the block's documents before the current one to `offsetSum` (the block entered and
    /// its frequencies decoded).
    @inline(__always)
    private func sumOffsets() {
        if offsetsKnown < index {
            // At most 128 frequencies of at most 2^32 - 1 each: the sum cannot overflow.
            var sum = 0
            for i in offsetsKnown..<index { sum &+= Int(freqs[i]) }
            offsetSum &+= sum
            offsetsKnown = index
        }
    }

    /// `loadPositions` for any document: enters the block, decodes its frequencies and the groups needed.
    @inline(never)
    private func loadPositionsInGeneral() -> Int {
        guard doc != terminated, let file = positionsFile else { return -1 }
        if positionsBlock != block {
            guard enterPositionsBlock(file) else {
                corrupted = true
                return -1
            }
        }
        if pendingFreqs >= 0 { decodeFreqs() }
        sumOffsets()
        let start = blockPositionStart &+ offsetSum
        let end = start &+ Int(freqs[index])
        // Damaged frequencies could point past the term's positions.
        guard end <= positionTotal else {
            corrupted = true
            return -1
        }
        let count = end - start
        if count > currentCapacity {
            if !inSlab(currentPositions) { currentPositions.deallocate() }
            currentCapacity = count + 64
            currentPositions = .allocate(capacity: currentCapacity)
        }
        let out = currentPositions
        loadedPositionCount = 0
        let fullGroups = positionTotal >> 7
        var p: UInt32 = 0
        var k = start
        var n = 0
        while k < end {
            let g = k >> 7
            if g < fullGroups {
                let upto = min(end, (g + 1) << 7)
                let base = g << 7
                if decodedGroup != g && extractedGroup != g && upto - k <= PostingsIterator.extractLimit {
                    // A few values of a group not read before (a sparse candidate of a frequent term): read them
                    // in place rather than unpack 128. A second document in the same group unpacks it, for the
                    // documents after it that are likely to follow.
                    extractedGroup = g
                    guard let at = groupOffset(g, file), let group = PositionsGroup(file, at),
                        checkPositions(file, at, group.end - at)
                    else {
                        corrupted = true
                        return -1
                    }
                    let packed = file.base + group.packed
                    if group.exceptions == 0 {
                        for j in (k &- base)..<(upto &- base) {
                            p &+= BlockCodec.extract(packed, width: group.width, index: j)
                            out[n] = p
                            n &+= 1
                        }
                    } else {
                        // Patched as an unpacked group is, whatever the exception bytes say (both ways agree).
                        let first = k &- base
                        let count = upto &- k
                        for j in 0..<count {
                            out[n &+ j] = BlockCodec.extract(packed, width: group.width, index: first &+ j)
                        }
                        group.patch(file, out + n, from: first, count: count)
                        for j in 0..<count {
                            p &+= out[n &+ j]
                            out[n &+ j] = p
                        }
                        n &+= count
                    }
                    k = upto
                    continue
                }
                guard decodeGroup(g, file) else {
                    corrupted = true
                    return -1
                }
                // (base <= k < upto <= base + 128 and n + run <= count: nothing here can overflow.)
                let values = positionValues + (k &- base)
                let run = upto &- k
                for j in 0..<run {
                    p &+= values[j]
                    out[n &+ j] = p
                }
                n &+= run
                k = upto
            } else {
                let base = fullGroups << 7
                guard decodeTail(fullGroups, file, upTo: end - base) else {
                    corrupted = true
                    return -1
                }
                let values = positionValues + (128 &+ k &- base)
                let run = end &- k
                for j in 0..<run {
                    p &+= values[j]
                    out[n &+ j] = p
                }
                n &+= run
                k = end
            }
        }
        loadedPositionCount = n
        return n
    }

    /// Decodes the positions of the current document into `output` (absolute, increasing).
    /// - Returns: false if the positions are damaged or the field has none.
    func positions(into output: inout [UInt32]) -> Bool {
        output.removeAll(keepingCapacity: true)
        let n = loadPositions()
        if n < 0 { return false }
        output.append(contentsOf: UnsafeBufferPointer(start: currentPositions, count: n))
        return true
    }

    /// Sets up the current block: where its positions start in the term's stream, and the first group holding
    /// them. Per-document offsets are summed later, only as far as needed.
    private func enterPositionsBlock(_ file: RawBytes) -> Bool {
        let e = PostingsIterator.skipEntrySize
        if positionTotal < 0 {
            // The term's stream length: the last skip entry's count, or the one block's frequencies.
            if let skip {
                positionTotal = Int(skip.loadU32((numBlocks - 1) * e + 8))
            } else {
                if pendingFreqs >= 0 { decodeFreqs() }
                var total = 0
                for i in 0..<blockLength { total += Int(freqs[i]) }
                positionTotal = total
            }
            // Each full group takes at least its header byte, each tail value at least one byte.
            guard (positionTotal >> 7) + (positionTotal & 127) <= file.count else { return false }
        }
        var groupStart = positionsStart
        blockPositionStart = 0
        if block > 0, let skip {
            blockPositionStart = Int(skip.loadU32((block - 1) * e + 8))
            groupStart += Int(skip.loadU32((block - 1) * e + 12))
        }
        guard groupStart >= 0, groupStart <= file.count, blockPositionStart <= positionTotal else { return false }
        let groups = ((positionTotal - blockPositionStart) >> 7) + 2
        if groups > groupCapacity {
            if !inSlab(groupOffsets) { groupOffsets.deallocate() }
            groupCapacity = groups + 16
            groupOffsets = .allocate(capacity: groupCapacity)
        }
        groupBase = blockPositionStart >> 7
        groupOffsets[0] = groupStart
        groupsKnown = 1
        offsetsKnown = 0
        offsetSum = 0
        positionsBlock = block
        return true
    }

    /// The byte offset of group `g` of the term's stream (`g` from the current block's first group on),
    /// stepping over the headers of the groups before it.
    private func groupOffset(_ g: Int, _ file: RawBytes) -> Int? {
        let local = g - groupBase
        guard local >= 0 else { return nil }
        if groupsKnown <= local {
            // The headers stepped over lie between the last known group and the one sought (offsets only grow):
            // that span is verified once the walk is done, before anything found in it is used.
            let from = groupOffsets[groupsKnown - 1]
            while groupsKnown <= local {
                guard let group = PositionsGroup(file, groupOffsets[groupsKnown - 1]) else { return nil }
                groupOffsets[groupsKnown] = group.end
                groupsKnown += 1
            }
            guard checkPositions(file, from, groupOffsets[local] - from) else { return nil }
        }
        return groupOffsets[local]
    }

    /// True when the positions window `[at, at + count)` (clipped to the file) passes its chunk checksums.
    @inline(__always)
    private func checkPositions(_ file: RawBytes, _ at: Int, _ count: Int) -> Bool {
        positionsReads.check(file, at, count)
    }

    /// Unpacks full group `g` into `positionValues[0..<128]`.
    @inline(__always)
    private func decodeGroup(_ g: Int, _ file: RawBytes) -> Bool {
        if decodedGroup == g { return true }
        guard let at = groupOffset(g, file), let group = PositionsGroup(file, at),
            checkPositions(file, at, group.end - at)
        else {
            return false
        }
        BlockCodec.unpack(file.base + group.packed, width: group.width, into: positionValues)
        group.patch(file, positionValues, from: 0, count: 128)
        decodedGroup = g
        return true
    }

    /// Decodes the stream's vint tail into `positionValues[128...]`, as far as its first `upTo` values (the tail
    /// is the term's, decoded once and on demand: later documents continue where earlier ones stopped).
    private func decodeTail(_ fullGroups: Int, _ file: RawBytes, upTo: Int) -> Bool {
        if tailDecoded >= upTo { return true }
        if tailDecoded == 0 {
            guard let at = groupOffset(fullGroups, file) else { return false }
            tailCursor = at
            let count = positionTotal - (fullGroups << 7)
            if 128 + count > positionCapacity {
                let bigger = UnsafeMutablePointer<UInt32>.allocate(capacity: 128 + count + 64)
                bigger.update(from: positionValues, count: 128)
                if !inSlab(positionValues) { positionValues.deallocate() }
                positionValues = bigger
                positionCapacity = 128 + count + 64
            }
        }
        // Each value takes at most 5 bytes.
        guard checkPositions(file, tailCursor, 5 * (upTo - tailDecoded)) else { return false }
        var c = ByteCursor(file, position: tailCursor)
        var i = tailDecoded
        while i < upTo {
            guard let v = c.vint(), v <= UInt64(UInt32.max) else { return false }
            positionValues[128 + i] = UInt32(v)
            i += 1
        }
        tailDecoded = upTo
        tailCursor = c.position
        return true
    }
}

/// A full group of a positions stream (docs/FORMAT.md, "Positions"): a header byte (bits 0-5 the width, bit 7 set
/// when exceptions follow), then, with exceptions, their count (1 to 7) and per exception its index and the high
/// bits of its value (a byte each), then the 128 values' low `width` bits packed by BlockCodec.
struct PositionsGroup {
    /// Offsets in the file: the packed values, and the group's end.
    let packed: Int
    let end: Int
    let width: Int
    let exceptions: Int
    /// Where the exceptions' (index, high bits) pairs start.
    private let pairs: Int

    /// The group at `at`; nil if its header is damaged or it runs past the file.
    @inline(__always)
    init?(_ file: RawBytes, _ at: Int) {
        guard let header = file.u8(at) else { return nil }
        var width = Int(header)
        var exceptions = 0
        if header <= 32 {
            pairs = at + 1
            packed = at + 1
        } else {
            width = Int(header & 0x3F)
            guard header & 0xC0 == 0x80, width < 32, let n = file.u8(at + 1), n >= 1,
                Int(n) <= BlockCodec.maxExceptions
            else { return nil }
            exceptions = Int(n)
            pairs = at + 2
            packed = at + 2 + 2 * exceptions
        }
        end = packed + 16 * width
        guard end <= file.count else { return nil }
        self.width = width
        self.exceptions = exceptions
    }

    /// Exception `e`'s index byte (a writer's are increasing and below 128).
    @inline(__always)
    func exceptionIndex(_ file: RawBytes, _ e: Int) -> Int {
        Int(file.base.load(fromByteOffset: pairs &+ 2 &* e, as: UInt8.self))
    }

    /// Exception `e`'s high bits, shifted into place.
    @inline(__always)
    func exceptionHigh(_ file: RawBytes, _ e: Int) -> UInt32 {
        UInt32(file.base.load(fromByteOffset: pairs &+ 2 &* e &+ 1, as: UInt8.self)) &<< UInt32(width)
    }

    /// Puts the exceptions' high bits into values `from..<from + count` of the group, unpacked at `values` (value
    /// `from` first; the whole group is 0 and 128): exception `e` ORs its high bits into value `index & 127` (a
    /// writer's indexes are increasing and below 128; damaged ones are read alike whichever values are asked).
    @inline(__always)
    func patch(_ file: RawBytes, _ values: UnsafeMutablePointer<UInt32>, from: Int, count: Int) {
        for e in 0..<exceptions {
            let index = (exceptionIndex(file, e) & 127) &- from
            if index >= 0 && index < count { values[index] |= exceptionHigh(file, e) }
        }
    }
}
