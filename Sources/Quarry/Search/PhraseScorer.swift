// Phrases: documents holding every term (leapfrogging over the terms' postings, rarest first), then checked and
// counted on positions, which are decoded only for those documents.
//
// Each term's positions are aligned by its offset in the phrase (position - offset). An exact phrase matches where
// all aligned positions are equal; its frequency is the number of such places, overlaps included ("a a" occurs
// twice in "a a a"), as in Tantivy. With slop N, a match is a chain of one occurrence per term whose aligned
// positions differ, step by step, by at most N in total: `"a b"~1` matches "a x b"; order may change at a cost of
// 2 (`"a b"~2` matches "b a"), as Lucene and Tantivy define slop. Its frequency is the number of occurrences of
// the last term that end such a chain.
//
// The score is BM25 with the phrase frequency as tf and the sum of the terms' idf as idf (Tantivy's phrase weight).

final class PhraseScorer: Scorer {
    /// Keeps the iterators alive; loops go through `refs` (in query order) and `lead`/`others` (rarest first).
    private let terms: [PostingsIterator]
    private let refs: [Ref<PostingsIterator>]
    private let lead: Ref<PostingsIterator>
    private let others: [Ref<PostingsIterator>]
    private let offsets: [Int]
    private let slop: Int
    private let weight: FieldWeight
    private let norms: UnsafePointer<UInt8>?
    private(set) var doc: UInt32 = terminated
    private var frequency: UInt32 = 0
    // Scratch buffers: aligned positions and chain costs of the previous and the current term.
    // Allocated on first use (`reserve`): a count of two words needs none, and a query builds dozens of scorers.
    private var alignedA = PhraseScorer.unallocated
    private var alignedB = PhraseScorer.unallocated
    private var costA = PhraseScorer.unallocated
    private var costB = PhraseScorer.unallocated
    private var capacityA = 0
    private var capacityB = 0
    private var capacityCostA = 0
    private var capacityCostB = 0
    /// The scratch buffers' pointer before they are allocated (never read or written: their capacity is 0).
    nonisolated(unsafe) private static let unallocated = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    /// One allocation for the per-term arrays below (see `init`).
    private let slab: UnsafeMutableRawPointer
    /// Terms in the order of their frequency in the current document.
    private let order: UnsafeMutablePointer<Int>
    private(set) var maxScore: Float = 0
    let cost: Int
    private(set) var positionsCorrupted = false
    private var shallowBound: Float = 0
    private let needsFrequency: Bool
    private var shallowStart: UInt32 = 1
    private var shallowEnd: UInt32 = 0
    private var threshold: Float = -.infinity
    private var windowStart: UInt32 = 1
    private var windowEnd: UInt32 = 0
    private var windowBound: Float = 0
    /// Per term, its block's impact pairs (at most four: see `advanceShallow`).
    private let pairFreqs: UnsafeMutablePointer<UInt32>
    private let pairNorms: UnsafeMutablePointer<UInt8>
    private let pairCounts: UnsafeMutablePointer<Int>
    /// Per term, its block in the window of the last `advanceShallow`: impacts, maximum frequency, minimum norm.
    private let blockImpacts: UnsafeMutablePointer<UInt64>
    private let blockMaxFreqs: UnsafeMutablePointer<UInt32>
    private let blockMinNorms: UnsafeMutablePointer<UInt8>
    /// Whether `tightBound` is computed for the window of the last `advanceShallow`.
    private var tightKnown = true
    private var tightBound: Float = 0

    /// - Parameter needsFrequency: false when only whether the phrase occurs matters (counting): the check then
    ///   stops at the first occurrence.
    init(
        terms: [PostingsIterator], offsets: [Int], slop: Int, weight: FieldWeight, norms: RawBytes?,
        needsFrequency: Bool = true
    ) {
        self.needsFrequency = needsFrequency
        self.terms = terms
        self.offsets = offsets
        self.slop = slop
        self.weight = weight
        self.norms = norms.map { UnsafePointer($0.base.assumingMemoryBound(to: UInt8.self)) }
        let byCost = terms.indices.sorted { terms[$0].docFreq < terms[$1].docFreq }
        self.refs = terms.map { Ref($0) }
        let n = max(terms.count, 1)
        // The per-term arrays in one zeroed allocation, widest elements first: blockImpacts (8 bytes a term),
        // pairCounts and order (8), pairFreqs (4 x 4), blockMaxFreqs (4), pairNorms (4 x 1), blockMinNorms (1).
        let bytes = 49 * n
        slab = .allocate(byteCount: bytes, alignment: 8)
        slab.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        self.blockImpacts = slab.bindMemory(to: UInt64.self, capacity: n)
        self.pairCounts = (slab + 8 * n).bindMemory(to: Int.self, capacity: n)
        self.order = (slab + 16 * n).bindMemory(to: Int.self, capacity: n)
        self.pairFreqs = (slab + 24 * n).bindMemory(to: UInt32.self, capacity: 4 * n)
        self.blockMaxFreqs = (slab + 40 * n).bindMemory(to: UInt32.self, capacity: n)
        self.pairNorms = (slab + 44 * n).bindMemory(to: UInt8.self, capacity: 4 * n)
        self.blockMinNorms = (slab + 48 * n).bindMemory(to: UInt8.self, capacity: n)
        self.lead = Ref(terms[byCost[0]])
        self.others = byCost.dropFirst().map { Ref(terms[$0]) }
        self.cost = terms.map(\.docFreq).min() ?? 0
        // Over the whole segment, the same bound from the terms' impacts over all their documents.
        for (i, t) in terms.enumerated() {
            setPairs(i, t.termImpacts, maxFreq: t.termMaxFreq, minNorm: t.termMinNorm)
        }
        maxScore = impactBound()
        doc = advanceToMatch(terms[byCost[0]].doc)
    }

    deinit {
        slab.deallocate()
        if capacityA > 0 { alignedA.deallocate() }
        if capacityB > 0 { alignedB.deallocate() }
        if capacityCostA > 0 { costA.deallocate() }
        if capacityCostB > 0 { costB.deallocate() }
    }

    var corrupted: Bool { positionsCorrupted || terms.contains { $0.corrupted } }

    /// The phrase frequency of the current document.
    var phraseFrequency: UInt32 { frequency }

    private func advanceToMatch(_ start: UInt32) -> UInt32 {
        var d = start
        outer: while d != terminated {
            if threshold > 0 {
                // Skip windows of blocks where the phrase cannot score enough (set when it is part of a top-k root).
                if d < windowStart || d > windowEnd {
                    windowStart = d
                    windowEnd = advanceShallow(d)
                    windowBound = shallowBound
                    // The plain bound did not skip the window: try the tight one.
                    if canBeat(windowBound, threshold) { windowBound = windowTightBound() }
                }
                if !canBeat(windowBound, threshold) {
                    if windowEnd == terminated { return terminated }
                    d = lead.with { $0.advance(to: windowEnd + 1) }
                    continue
                }
            }
            for t in others {
                let td = t.with { t in t.doc < d ? t.advance(to: d) : t.doc }
                if td > d {
                    d = lead.with { $0.advance(to: td) }
                    continue outer
                }
            }
            if threshold > 0 && !canBeat(documentBound(d), threshold) {
                // Even if the phrase occurs here, it cannot score enough: no need for positions.
                d = lead.with { $0.next() }
                continue
            }
            let f = computeFrequency()
            if f > 0 {
                frequency = f
                return d
            }
            d = lead.with { $0.next() }
        }
        return terminated
    }

    /// An upper bound of the phrase's score in document `d` (all terms on it), from frequencies alone: the phrase
    /// occurs at most as often as its least frequent term there (its last term, with slop).
    private func documentBound(_ d: UInt32) -> Float {
        var f = UInt32.max
        if slop == 0 {
            for t in refs { f = min(f, t.with { $0.freq }) }
        } else {
            f = refs[refs.count - 1].with { $0.freq }
        }
        return weight.score(tf: f, norm: norms.map { $0[Int(d)] } ?? 0)
    }

    /// Grows a scratch buffer to hold `count` values.
    @inline(__always)
    private static func reserve(_ buffer: inout UnsafeMutablePointer<Int>, _ capacity: inout Int, _ count: Int) {
        if count > capacity {
            if capacity > 0 { buffer.deallocate() }
            capacity = count + 64
            buffer = .allocate(capacity: capacity)
        }
    }

    /// The phrase frequency in the document all terms are on.
    private func computeFrequency() -> UInt32 {
        let n = refs.count
        if slop == 0 {
            // Intersect the terms' aligned positions, fewest occurrences first, loading each term's positions only
            // when the intersection so far is not empty.
            for i in 0..<n { order[i] = i }
            for i in 1..<n {
                let k = order[i]
                let f = refs[k].with { $0.freq }
                var j = i - 1
                while j >= 0 && refs[order[j]].with({ $0.freq }) > f {
                    order[j + 1] = order[j]
                    j -= 1
                }
                order[j + 1] = k
            }
            // The two rarest first, merged straight from their position buffers; the survivors are kept in
            // `alignedA` for the next terms.
            let first = order[0]
            let second = order[1]
            guard refs[first].with({ $0.loadPositions() }) >= 0, refs[second].with({ $0.loadPositions() }) >= 0 else {
                positionsCorrupted = true
                return 0
            }
            let (pa, na) = refs[first].with { ($0.positionsBuffer, $0.loadedPositionCount) }
            let (pb, nb) = refs[second].with { ($0.positionsBuffer, $0.loadedPositionCount) }
            let oa = offsets[first]
            let ob = offsets[second]
            if !needsFrequency && n == 2 {
                // Counting: does the phrase occur at all?
                var a = 0
                var b = 0
                while a < na && b < nb {
                    let x = Int(pa[a]) &- oa
                    let y = Int(pb[b]) &- ob
                    if x < y { a += 1 } else if x > y { b += 1 } else { return 1 }
                }
                return 0
            }
            PhraseScorer.reserve(&alignedA, &capacityA, min(na, nb))
            var count = 0
            var a = 0
            var b = 0
            while a < na && b < nb {
                let x = Int(pa[a]) &- oa
                let y = Int(pb[b]) &- ob
                if x < y {
                    a += 1
                } else if x > y {
                    b += 1
                } else {
                    alignedA[count] = x
                    count += 1
                    a += 1
                    b += 1
                }
            }
            if count == 0 { return 0 }
            for step in 2..<max(n, 2) {
                let i = order[step]
                guard refs[i].with({ $0.loadPositions() }) >= 0 else {
                    positionsCorrupted = true
                    return 0
                }
                let o = offsets[i]
                let (p, m) = refs[i].with { ($0.positionsBuffer, $0.loadedPositionCount) }
                var out = 0
                a = 0
                b = 0
                while a < count && b < m {
                    let x = alignedA[a]
                    let y = Int(p[b]) &- o
                    if x < y {
                        a += 1
                    } else if x > y {
                        b += 1
                    } else {
                        alignedA[out] = x
                        out += 1
                        if !needsFrequency && step == n - 1 { return 1 }
                        a += 1
                        b += 1
                    }
                }
                count = out
                if count == 0 { return 0 }
            }
            return UInt32(count)
        }
        for t in refs where t.with({ $0.loadPositions() }) < 0 {
            positionsCorrupted = true
            return 0
        }
        var count = refs[0].with { $0.loadedPositionCount }
        PhraseScorer.reserve(&alignedA, &capacityA, count)
        let o0 = offsets[0]
        let p0 = refs[0].with { $0.positionsBuffer }
        for j in 0..<count { alignedA[j] = Int(p0[j]) - o0 }
        // Sloppy: the cheapest chain cost ending at each occurrence of each term, by dynamic programming:
        // cost_i(x) = min over y in term i-1 of cost_{i-1}(y) + |x - y|, in two sweeps; chains over the slop are
        // dropped as they go.
        PhraseScorer.reserve(&costA, &capacityCostA, count)
        for j in 0..<count { costA[j] = 0 }
        let unreachable = Int.max / 4
        for i in 1..<n {
            let o = offsets[i]
            let (p, m) = refs[i].with { ($0.positionsBuffer, $0.loadedPositionCount) }
            PhraseScorer.reserve(&alignedB, &capacityB, m)
            PhraseScorer.reserve(&costB, &capacityCostB, m)
            for k in 0..<m {
                alignedB[k] = Int(p[k]) - o
                costB[k] = unreachable
            }
            // Left sweep: min over y <= x of (cost(y) - y) + x.
            var best = unreachable
            var j = 0
            for k in 0..<m {
                let x = alignedB[k]
                while j < count && alignedA[j] <= x {
                    if costA[j] <= slop { best = min(best, costA[j] - alignedA[j]) }
                    j += 1
                }
                if best < unreachable { costB[k] = min(costB[k], best + x) }
            }
            // Right sweep: min over y >= x of (cost(y) + y) - x.
            best = unreachable
            j = count - 1
            var k = m - 1
            while k >= 0 {
                let x = alignedB[k]
                while j >= 0 && alignedA[j] >= x {
                    if costA[j] <= slop { best = min(best, costA[j] + alignedA[j]) }
                    j -= 1
                }
                if best < unreachable { costB[k] = min(costB[k], best - x) }
                k -= 1
            }
            swap(&alignedA, &alignedB)
            swap(&capacityA, &capacityB)
            swap(&costA, &costB)
            swap(&capacityCostA, &capacityCostB)
            count = m
        }
        var frequency: UInt32 = 0
        for j in 0..<count where costA[j] <= slop { frequency += 1 }
        return frequency
    }

    func next() -> UInt32 {
        if doc == terminated { return doc }
        doc = advanceToMatch(lead.with { $0.next() })
        return doc
    }

    func seek(_ target: UInt32) -> UInt32 {
        if target <= doc { return doc }
        doc = advanceToMatch(lead.with { $0.advance(to: target) })
        return doc
    }

    func score() -> Float {
        let n = norms.map { $0[Int(doc)] } ?? 0
        return weight.score(tf: frequency, norm: n)
    }

    /// Block bounds. The plain bound: the phrase occurs at most as often as its least frequent term in the block
    /// (its last term, with slop), in documents no shorter than every term's shortest. The tight bound, from the
    /// terms' impacts (Lucene's merged impacts for phrases): each term's block has up to four (frequency, norm)
    /// pairs, norms and frequencies increasing, such that every document of the block is dominated by one (a
    /// frequency at most the pair's, a norm at least the pair's). A document of norm n therefore holds term t at
    /// most G_t(n) times, the largest frequency of t's pairs with a norm <= n; the phrase occurs there at most
    /// min_t G_t(n) times (G of its last term, with slop); and n is at least every term's smallest norm. As BM25
    /// falls with the norm, the tight bound is the best such score over the pairs' norms, bounded interval by
    /// interval (`impactBound`). It is computed only when asked
    /// (`blockMaxScore`, or a window the plain bound cannot skip).
    func advanceShallow(_ target: UInt32) -> UInt32 {
        if doc == terminated || target == terminated {
            shallowBound = 0
            tightKnown = true
            tightBound = 0
            return terminated
        }
        // The window computed last still covers the target: its bound holds (block bounds only shrink inside it).
        if target >= shallowStart && target <= shallowEnd { return shallowEnd }
        var upTo = terminated
        var freq = UInt32.max
        var norm: UInt8 = 0
        let n = refs.count
        for i in 0..<n {
            let (last, f, nm, impacts) = refs[i].with { t -> (UInt32, UInt32, UInt8, UInt64) in
                let b = t.findBlock(target, from: t.currentBlock)
                if b >= t.numBlocks { return (terminated, 0, 0, 0) }
                return (t.blockLastDoc(b), t.blockMaxFreq(b), t.blockMinNorm(b), t.blockImpacts(b))
            }
            if last == terminated {
                shallowBound = 0
                tightKnown = true
                tightBound = 0
                return terminated
            }
            if last < upTo { upTo = last }
            if slop == 0 || i == n - 1 { freq = min(freq, f) }
            norm = max(norm, nm)
            blockImpacts[i] = impacts
            blockMaxFreqs[i] = f
            blockMinNorms[i] = nm
        }
        shallowBound = weight.bound(maxTf: freq, minNorm: norm)
        tightKnown = false
        shallowStart = target
        shallowEnd = upTo
        return upTo
    }

    /// The tight bound of the window of the last `advanceShallow` (see there).
    private func windowTightBound() -> Float {
        if tightKnown { return tightBound }
        tightKnown = true
        for i in 0..<refs.count {
            setPairs(i, blockImpacts[i], maxFreq: blockMaxFreqs[i], minNorm: blockMinNorms[i])
        }
        tightBound = min(impactBound(), shallowBound)
        return tightBound
    }

    /// Unpacks term `i`'s impacts (without them, the pair of its maximum frequency and minimum norm).
    private func setPairs(_ i: Int, _ impacts: UInt64, maxFreq: UInt32, minNorm: UInt8) {
        var count = 0
        if impacts == 0 {
            pairFreqs[4 * i] = maxFreq
            pairNorms[4 * i] = minNorm
            count = 1
        } else {
            forEachImpact(impacts, maxFreq: maxFreq) { f, norm in
                pairFreqs[4 * i + count] = f
                pairNorms[4 * i + count] = norm
                count += 1
            }
        }
        pairCounts[i] = count
    }

    /// The bound of the pairs gathered by `setPairs` (see `advanceShallow`), walking the pairs of one term L, the
    /// one with the fewest occurrences at most (the last term, with slop): between two of its pairs' norms, L occurs
    /// at most the first pair's frequency times, any other term t at most G_t of the interval's longest norm, and a
    /// document scores at most what it would at the interval's shortest norm.
    private func impactBound() -> Float {
        let n = refs.count
        var shortest: UInt8 = 0
        for i in 0..<n {
            if pairCounts[i] == 0 { return 0 }
            shortest = max(shortest, pairNorms[4 * i])
        }
        let first = slop == 0 ? 0 : n - 1
        var l = n - 1
        for t in first..<n where pairFreqs[4 * t + pairCounts[t] - 1] < pairFreqs[4 * l + pairCounts[l] - 1] { l = t }
        var best: Float = 0
        let count = pairCounts[l]
        for j in 0..<count {
            let longest = j + 1 < count ? Int(pairNorms[4 * l + j + 1]) - 1 : 255
            if longest < Int(shortest) { continue }
            var f = pairFreqs[4 * l + j]
            for t in first..<n where t != l {
                var g: UInt32 = 0
                for p in 0..<pairCounts[t] where Int(pairNorms[4 * t + p]) <= longest { g = pairFreqs[4 * t + p] }
                f = min(f, g)
            }
            best = max(best, weight.score(tf: f, norm: max(pairNorms[4 * l + j], shortest)))
        }
        return best
    }

    func blockMaxScore() -> Float { windowTightBound() }

    func setMinCompetitiveScore(_ threshold: Float) {
        self.threshold = threshold
        windowStart = 1
        windowEnd = 0
    }
}

/// Documents whose date is in `[lower, upper)`, read from the date column a block of 128 at a time: blocks whose
/// range misses are skipped without decoding, blocks entirely inside match without decoding, and the others are
/// compared once into a 128-bit mask of their matching documents, so that `next` and `seek` find the next match
/// with a bit scan.
final class DateRangeScorer: Scorer {
    private let column: DateColumnReader
    private let lower: Int64
    private let upper: Int64
    private(set) var doc: UInt32 = terminated
    private var block = -1
    /// The current block's matching documents: bit i of `maskLow` (i < 64) or of `maskHigh` (i - 64) for its
    /// document i.
    private var maskLow: UInt64 = 0
    private var maskHigh: UInt64 = 0
    private let scratch = UnsafeMutablePointer<UInt32>.allocate(capacity: 128)
    let cost: Int

    init(column: DateColumnReader, lower: Int64?, upper: Int64?) {
        self.column = column
        self.lower = lower ?? Int64.min + 1
        self.upper = upper ?? Int64.max
        var estimate = 0
        for b in 0..<column.blockCount {
            let lo = column.blockMin(b)
            let hi = column.blockMax(b)
            if hi >= self.lower && lo < self.upper { estimate += 128 }
        }
        cost = min(estimate, column.docCount)
        doc = find(0)
    }

    deinit {
        scratch.deallocate()
    }

    var maxScore: Float { 0 }
    private(set) var corrupted = false

    private func enter(_ b: Int) {
        block = b
        maskLow = 0
        maskHigh = 0
        if !column.blockIsSound(b) {
            corrupted = true
            return
        }
        let lo = column.blockMin(b)
        let hi = column.blockMax(b)
        if hi < lower || lo >= upper || lo > hi { return }
        if column.blockIsFull(b) && lo >= lower && hi < upper {
            (maskLow, maskHigh) = column.documentsMask(b)
        } else {
            (maskLow, maskHigh) = column.matchMask(b, lower: lower, upper: upper, scratch: scratch)
        }
    }

    /// The first matching document >= `target`.
    private func find(_ target: UInt32) -> UInt32 {
        var d = Int(target)
        while d < column.docCount {
            let b = d >> 7
            if b != block { enter(b) }
            let i = d & 127
            if i < 64 {
                let m = maskLow & (.max << UInt64(i))
                if m != 0 { return UInt32(truncatingIfNeeded: b << 7 | m.trailingZeroBitCount) }
                if maskHigh != 0 { return UInt32(truncatingIfNeeded: b << 7 | 64 | maskHigh.trailingZeroBitCount) }
            } else {
                let m = maskHigh & (.max << UInt64(i - 64))
                if m != 0 { return UInt32(truncatingIfNeeded: b << 7 | 64 | m.trailingZeroBitCount) }
            }
            d = (b + 1) << 7
        }
        return terminated
    }

    func next() -> UInt32 {
        if doc == terminated { return doc }
        doc = find(doc + 1)
        return doc
    }

    func seek(_ target: UInt32) -> UInt32 {
        if target <= doc { return doc }
        doc = find(target)
        return doc
    }

    func score() -> Float { 0 }
    func advanceShallow(_ target: UInt32) -> UInt32 { terminated }
    func blockMaxScore() -> Float { 0 }
    func setMinCompetitiveScore(_ threshold: Float) {}

    var canVerify: Bool { true }

    /// Whether `doc`'s date is in the range, read straight from the column.
    func matches(_ doc: UInt32) -> Bool {
        let (v, sound) = column.dateOrMissing(Int(doc))
        if !sound { corrupted = true }
        // A missing date (Int64.min) is below every lower bound (at least Int64.min + 1).
        return v >= lower && v < upper
    }
}
