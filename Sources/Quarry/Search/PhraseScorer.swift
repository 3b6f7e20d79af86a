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
    private let terms: [PostingsIterator]
    private let byCost: [Int]
    private let offsets: [Int]
    private let slop: Int
    private let weight: FieldWeight
    private let norms: UnsafePointer<UInt8>?
    private(set) var doc: UInt32 = terminated
    private var frequency: UInt32 = 0
    private var positions: [UInt32] = []
    private var aligned: [[Int]]
    private var costs: [[Int]]
    let maxScore: Float
    let cost: Int
    private(set) var positionsCorrupted = false

    init(terms: [PostingsIterator], offsets: [Int], slop: Int, weight: FieldWeight, norms: RawBytes?) {
        self.terms = terms
        self.offsets = offsets
        self.slop = slop
        self.weight = weight
        self.norms = norms.map { UnsafePointer($0.base.assumingMemoryBound(to: UInt8.self)) }
        self.byCost = terms.indices.sorted { terms[$0].docFreq < terms[$1].docFreq }
        self.aligned = Array(repeating: [], count: terms.count)
        self.costs = Array(repeating: [], count: terms.count)
        self.maxScore = weight.asymptote
        self.cost = terms.map(\.docFreq).min() ?? 0
        doc = advanceToMatch(terms[byCost[0]].doc)
    }

    var corrupted: Bool { positionsCorrupted || terms.contains { $0.corrupted } }

    /// The phrase frequency of the current document.
    var phraseFrequency: UInt32 { frequency }

    private func advanceToMatch(_ start: UInt32) -> UInt32 {
        var d = start
        let lead = terms[byCost[0]]
        outer: while d != terminated {
            for k in 1..<byCost.count {
                let t = terms[byCost[k]]
                let td = t.doc < d ? t.advance(to: d) : t.doc
                if td > d {
                    d = lead.advance(to: td)
                    continue outer
                }
            }
            let f = computeFrequency()
            if f > 0 {
                frequency = f
                return d
            }
            d = lead.next()
        }
        return terminated
    }

    /// The phrase frequency in the document all terms are on.
    private func computeFrequency() -> UInt32 {
        for (i, t) in terms.enumerated() {
            guard t.positions(into: &positions) else {
                positionsCorrupted = true
                return 0
            }
            aligned[i].removeAll(keepingCapacity: true)
            let o = offsets[i]
            for p in positions { aligned[i].append(Int(p) - o) }
        }
        if slop == 0 {
            // Intersect the aligned lists; the count of common values is the frequency.
            var common = aligned[0]
            for i in 1..<aligned.count {
                var out = 0
                var a = 0
                var b = 0
                let other = aligned[i]
                while a < common.count && b < other.count {
                    if common[a] < other[b] {
                        a += 1
                    } else if common[a] > other[b] {
                        b += 1
                    } else {
                        common[out] = common[a]
                        out += 1
                        a += 1
                        b += 1
                    }
                }
                common.removeLast(common.count - out)
                if out == 0 { return 0 }
            }
            return UInt32(common.count)
        }
        // Sloppy: the cheapest chain cost ending at each occurrence of each term, by dynamic programming.
        // cost_i(x) = min over y in term i-1 of cost_{i-1}(y) + |x - y|, computed with two sweeps.
        costs[0].removeAll(keepingCapacity: true)
        costs[0].append(contentsOf: repeatElement(0, count: aligned[0].count))
        for i in 1..<aligned.count {
            let prev = aligned[i - 1]
            let prevCost = costs[i - 1]
            let cur = aligned[i]
            costs[i].removeAll(keepingCapacity: true)
            costs[i].append(contentsOf: repeatElement(Int.max / 4, count: cur.count))
            // Left sweep: min over y <= x of (cost(y) - y) + x.
            var best = Int.max / 4
            var j = 0
            for (k, x) in cur.enumerated() {
                while j < prev.count && prev[j] <= x {
                    if prevCost[j] <= slop { best = min(best, prevCost[j] - prev[j]) }
                    j += 1
                }
                if best < Int.max / 4 { costs[i][k] = min(costs[i][k], best + x) }
            }
            // Right sweep: min over y >= x of (cost(y) + y) - x.
            best = Int.max / 4
            j = prev.count - 1
            for k in stride(from: cur.count - 1, through: 0, by: -1) {
                let x = cur[k]
                while j >= 0 && prev[j] >= x {
                    if prevCost[j] <= slop { best = min(best, prevCost[j] + prev[j]) }
                    j -= 1
                }
                if best < Int.max / 4 { costs[i][k] = min(costs[i][k], best - x) }
            }
        }
        var count: UInt32 = 0
        for c in costs[aligned.count - 1] where c <= slop { count += 1 }
        return count
    }

    func next() -> UInt32 {
        if doc == terminated { return doc }
        doc = advanceToMatch(terms[byCost[0]].next())
        return doc
    }

    func seek(_ target: UInt32) -> UInt32 {
        if target <= doc { return doc }
        doc = advanceToMatch(terms[byCost[0]].advance(to: target))
        return doc
    }

    func score() -> Float {
        let n = norms.map { $0[Int(doc)] } ?? 0
        return weight.score(tf: frequency, norm: n)
    }

    func advanceShallow(_ target: UInt32) -> UInt32 { doc == terminated ? terminated : terminated - 1 }
    func blockMaxScore() -> Float { doc == terminated ? 0 : maxScore }
    func setMinCompetitiveScore(_ threshold: Float) {}
}

/// Documents whose date is in `[lower, upper)`, read from the date column a block of 128 at a time; blocks whose
/// range misses are skipped without decoding, and blocks entirely inside match without decoding.
final class DateRangeScorer: Scorer {
    private let column: DateColumnReader
    private let lower: Int64
    private let upper: Int64
    private(set) var doc: UInt32 = terminated
    private var block = -1
    private var blockState: BlockState = .skip
    private let values = UnsafeMutablePointer<Int64>.allocate(capacity: 128)
    private let scratch = UnsafeMutablePointer<UInt32>.allocate(capacity: 128)
    let cost: Int

    private enum BlockState { case skip, all, decoded }

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
        values.deallocate()
        scratch.deallocate()
    }

    var maxScore: Float { 0 }
    var corrupted: Bool { false }

    private func enter(_ b: Int) {
        block = b
        let lo = column.blockMin(b)
        let hi = column.blockMax(b)
        if hi < lower || lo >= upper || lo > hi {
            blockState = .skip
        } else if column.blockIsFull(b) && lo >= lower && hi < upper {
            blockState = .all
        } else {
            column.decodeBlock(b, into: values, scratch: scratch)
            blockState = .decoded
        }
    }

    /// The first matching document >= `target`.
    private func find(_ target: UInt32) -> UInt32 {
        var d = Int(target)
        while d < column.docCount {
            let b = d >> 7
            if b != block { enter(b) }
            switch blockState {
            case .skip:
                d = (b + 1) << 7
            case .all:
                return UInt32(d)
            case .decoded:
                let end = min((b + 1) << 7, column.docCount)
                while d < end {
                    let v = values[d & 127]
                    if v != DateColumnWriter.missing && v >= lower && v < upper { return UInt32(d) }
                    d += 1
                }
            }
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
}
