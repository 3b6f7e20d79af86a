// The search stage: scorers iterate the matching documents of one segment in increasing order, doc at a time,
// and score them. The contract is Tantivy's `DocSet`: a scorer starts on its first match; `next()` moves to the
// next; `seek(target)` (with `target >= doc`) moves to the first match >= target; `terminated` ends everything.
//
// For dynamic pruning every scorer also gives upper bounds of its scores: `maxScore` over the whole segment, and
// `blockMaxScore()` over a window of documents set by `advanceShallow(target)` (from `target` to the returned
// document), computed from the postings' per-block maximum frequencies and minimum norms. The top-k collector
// tells the root scorer the score to beat (`setMinCompetitiveScore`), and the root skips what cannot beat it:
// a term skips blocks (block-max), a union runs block-max WAND, an intersection skips windows whose bound is too
// low. Skipped documents are exactly those whose score cannot beat the threshold, so results are the same as
// exhaustive scoring; a test asserts it.
//
// Scores of a document are always added up in the query's clause order, whatever the path that found it, so the
// same document gets the same Float32 score from every path.

/// Iterates and scores the matches of a query in one segment.
protocol Scorer: AnyObject {
    /// The current document, or `terminated`.
    var doc: UInt32 { get }
    /// Moves to the next match.
    func next() -> UInt32
    /// Moves to the first match >= `target` (`target >= doc`).
    func seek(_ target: UInt32) -> UInt32
    /// The score of the current document.
    func score() -> Float
    /// An upper bound of `score()` over all documents.
    var maxScore: Float { get }
    /// Prepares bounds for the documents from `target` (>= doc) on; returns the last document they cover.
    func advanceShallow(_ target: UInt32) -> UInt32
    /// An upper bound of `score()` over the window set by the last `advanceShallow`.
    func blockMaxScore() -> Float
    /// About how many documents match (to order intersections).
    var cost: Int { get }
    /// Documents whose score cannot exceed `threshold` may be skipped from now on.
    func setMinCompetitiveScore(_ threshold: Float)
    /// True if damaged data was met.
    var corrupted: Bool { get }
    /// True if `matches(_:)` answers for any document at a glance (a filter over a column).
    var canVerify: Bool { get }
    /// Whether `doc` matches (only when `canVerify`).
    func matches(_ doc: UInt32) -> Bool
    // The two loops over every document (their default implementations are below and in Searcher.swift) are
    // requirements, not only extension methods, so that each scorer gets them specialized: `next` and `score`
    // inlined rather than called through `any Scorer` for every document.
    /// The documents from the current one on that are not in `deletes`, by iterating (`next` consumes them).
    func countLiveDocuments(excluding deletes: DeletedDocuments?) -> Int
    /// Offers the documents from the current one on to a top-k collector (see the default implementation).
    func collect(
        segment s: Int, deletes: DeletedDocuments?, into collector: inout TopKCollector, exhaustive: Bool,
        skipping seeded: [UInt32], checkpoint: () throws(QuarryError) -> Void
    ) throws(QuarryError)
}

extension Scorer {
    var canVerify: Bool { false }
    func matches(_ doc: UInt32) -> Bool { false }

    func countLiveDocuments(excluding deletes: DeletedDocuments?) -> Int {
        var total = 0
        var d = doc
        if let deletes {
            while d != terminated {
                if !deletes.contains(Int(d)) { total += 1 }
                d = next()
            }
        } else {
            while d != terminated {
                total += 1
                d = next()
            }
        }
        return total
    }
}

/// Bounds are compared with this slack, so that a sum of bounds added up in another order than the scores can
/// never fall below a real score by rounding.
@inline(__always)
func canBeat(_ bound: Float, _ threshold: Float) -> Bool {
    bound * (1 + 1.0 / 65536) + 1e-30 > threshold
}

/// An unretained reference for hot loops: the object must be kept alive elsewhere (by the array it came from).
/// Going through `with` passes the object at +0, so a loop over children does no reference counting.
struct Ref<T: AnyObject> {
    private let unmanaged: Unmanaged<T>

    init(_ object: T) { unmanaged = .passUnretained(object) }

    @inline(__always)
    func with<R>(_ body: (T) -> R) -> R { unmanaged._withUnsafeGuaranteedRef(body) }
}

/// Matches nothing.
final class EmptyScorer: Scorer {
    var doc: UInt32 { terminated }
    func next() -> UInt32 { terminated }
    func seek(_ target: UInt32) -> UInt32 { terminated }
    func score() -> Float { 0 }
    var maxScore: Float { 0 }
    func advanceShallow(_ target: UInt32) -> UInt32 { terminated }
    func blockMaxScore() -> Float { 0 }
    var cost: Int { 0 }
    func setMinCompetitiveScore(_ threshold: Float) {}
    var corrupted: Bool { false }
}

/// One term in one field: BM25 over its postings.
final class TermScorer: Scorer {
    let postings: PostingsIterator
    let weight: FieldWeight
    private let norms: UnsafePointer<UInt8>?
    let maxScore: Float
    private var threshold: Float = -.infinity
    private var shallowBlock = 0
    private var boundBlock = -1
    private var bound: Float = 0
    /// The block last found able to beat the threshold.
    private var competitiveBlock = -1

    init(postings: PostingsIterator, weight: FieldWeight, norms: RawBytes?) {
        self.postings = postings
        self.weight = weight
        self.norms = norms.map { UnsafePointer($0.base.assumingMemoryBound(to: UInt8.self)) }
        self.maxScore = TermScorer.impactBound(
            weight, postings.termImpacts, maxFreq: postings.termMaxFreq, minNorm: postings.termMinNorm)
    }

    @inline(__always) var doc: UInt32 { postings.doc }
    var cost: Int { postings.docFreq }
    var corrupted: Bool { postings.corrupted }

    @inline(__always)
    func norm(_ d: UInt32) -> UInt8 {
        norms.map { $0[Int(d)] } ?? 0
    }

    @inline(__always)
    func score() -> Float {
        weight.score(tf: postings.freq, norm: norm(postings.doc))
    }

    @inline(__always)
    func next() -> UInt32 {
        let d = postings.next()
        return threshold > 0 && postings.currentBlock != competitiveBlock ? skipBlocks(d) : d
    }

    @inline(__always)
    func seek(_ target: UInt32) -> UInt32 {
        let d = postings.advance(to: target)
        return threshold > 0 && postings.currentBlock != competitiveBlock ? skipBlocks(d) : d
    }

    /// Skips whole blocks whose bound cannot beat the threshold; remembers the block it stops in, which is not
    /// checked again until the threshold rises.
    private func skipBlocks(_ start: UInt32) -> UInt32 {
        var d = start
        while d != terminated {
            let b = postings.currentBlock
            if canBeat(blockBound(b), threshold) {
                competitiveBlock = b
                return d
            }
            let last = postings.blockLastDoc(b)
            if last == terminated || b + 1 >= postings.numBlocks {
                return postings.advance(to: terminated)
            }
            d = postings.advance(to: last + 1)
        }
        return d
    }

    @inline(__always)
    func blockBound(_ b: Int) -> Float {
        TermScorer.impactBound(
            weight, postings.blockImpacts(b), maxFreq: postings.blockMaxFreq(b), minNorm: postings.blockMinNorm(b))
    }

    /// The best score of four (freq, norm) impact pairs (see PostingsWriter.swift). Without impacts, the bound of
    /// (`maxFreq`, `minNorm`).
    @inline(__always)
    static func impactBound(_ weight: FieldWeight, _ impacts: UInt64, maxFreq: UInt32, minNorm: UInt8) -> Float {
        if impacts == 0 { return weight.bound(maxTf: maxFreq, minNorm: minNorm) }
        var best: Float = 0
        forEachImpact(impacts, maxFreq: maxFreq) { f, n in
            let s = weight.score(tf: f, norm: n)
            if s > best { best = s }
        }
        return best
    }

    func advanceShallow(_ target: UInt32) -> UInt32 {
        if target == terminated || postings.doc == terminated {
            shallowBlock = postings.numBlocks
            return terminated
        }
        // Most calls land in the block of the previous one.
        if shallowBlock < postings.numBlocks && shallowBlock >= postings.currentBlock {
            let last = postings.blockLastDoc(shallowBlock)
            if target <= last && (shallowBlock == 0 || target > postings.blockLastDoc(shallowBlock - 1)) {
                return last
            }
        }
        let from = max(postings.currentBlock, min(shallowBlock, postings.numBlocks))
        let b = postings.findBlock(target, from: from)
        shallowBlock = b
        return b < postings.numBlocks ? postings.blockLastDoc(b) : terminated
    }

    /// The bound of the block of the last `advanceShallow` (cached: a bound costs a division).
    func blockMaxScore() -> Float {
        if shallowBlock >= postings.numBlocks { return 0 }
        if shallowBlock != boundBlock {
            boundBlock = shallowBlock
            bound = blockBound(shallowBlock)
        }
        return bound
    }

    func setMinCompetitiveScore(_ threshold: Float) {
        self.threshold = threshold
        competitiveBlock = -1
    }
}

/// Calls `body` with each (frequency, norm) pair of the 8 impact bytes of a block or a term (see PostingsWriter.swift),
/// in order (norms and frequencies increasing); unused pairs are skipped, and a frequency of 255 stands for
/// `maxFreq`.
@inline(__always)
func forEachImpact(_ impacts: UInt64, maxFreq: UInt32, _ body: (UInt32, UInt8) -> Void) {
    var v = impacts
    for _ in 0..<4 {
        let f = UInt32(v & 0xFF)
        let n = UInt8(truncatingIfNeeded: v >> 8)
        v >>= 16
        if f != 0 { body(f == 255 ? maxFreq : f, n) }
    }
}

/// Any scorer, as a concrete class (so that generic code over `Scorer` can hold mixed children).
final class ScorerBox: Scorer {
    let inner: any Scorer
    init(_ inner: any Scorer) { self.inner = inner }
    @inline(__always) var doc: UInt32 { inner.doc }
    @inline(__always) func next() -> UInt32 { inner.next() }
    @inline(__always) func seek(_ target: UInt32) -> UInt32 { inner.seek(target) }
    @inline(__always) func score() -> Float { inner.score() }
    var maxScore: Float { inner.maxScore }
    @inline(__always) func advanceShallow(_ target: UInt32) -> UInt32 { inner.advanceShallow(target) }
    @inline(__always) func blockMaxScore() -> Float { inner.blockMaxScore() }
    var cost: Int { inner.cost }
    func setMinCompetitiveScore(_ threshold: Float) { inner.setMinCompetitiveScore(threshold) }
    var corrupted: Bool { inner.corrupted }
    var canVerify: Bool { inner.canVerify }
    func matches(_ doc: UInt32) -> Bool { inner.matches(doc) }
}

/// Documents matching any child; the score is the sum of the matching children's scores (in child order). As the
/// root of a top-k search it runs block-max WAND (Ding and Suel, "Faster top-k document retrieval using block-max
/// indexes", SIGIR 2011), as Tantivy's `block_wand` does.
///
/// The logic is generic over the children's type and used by three concrete classes: `TermUnionScorer`, whose
/// children are all terms (a word over title and body, an OR of words: the common case, compiled with direct calls),
/// `PhraseUnionScorer` (a phrase over title and body) and `UnionScorer` for any mix. The three forward the same lines
/// to their core, as the intersection scorers do: a generic class would be called through its unspecialized
/// methods from `any Scorer`.
struct UnionCore<C: Scorer> {
    /// Keeps the children alive; the loops go through `refs`.
    let children: [C]
    private let refs: [Ref<C>]
    var doc: UInt32 = terminated
    let maxScore: Float
    let cost: Int
    var threshold: Float = -.infinity
    private var order: [Int]
    private let childMax: [Float]
    /// The last block-max check that passed: its children (bit i: child i), the smallest end of their blocks, and
    /// the threshold it was made against (0 mask: none).
    private var passedMask: UInt64 = 0
    private var passedUpTo: UInt32 = 0
    private var passedThreshold: Float = .nan

    init(_ children: [C]) {
        self.children = children
        refs = children.map { Ref($0) }
        maxScore = children.reduce(0) { $0 + $1.maxScore }
        cost = children.reduce(0) { $0 + $1.cost }
        order = Array(children.indices)
        childMax = children.map(\.maxScore)
        doc = minimumDoc()
    }

    var corrupted: Bool { children.contains { $0.corrupted } }

    @inline(__always)
    func minimumDoc() -> UInt32 {
        var m = terminated
        for r in refs {
            let d = r.with { $0.doc }
            if d < m { m = d }
        }
        return m
    }

    @inline(__always)
    mutating func next() -> UInt32 {
        if doc == terminated { return doc }
        let current = doc
        var m = terminated
        for r in refs {
            let d = r.with { c in c.doc == current ? c.next() : c.doc }
            if d < m { m = d }
        }
        if threshold > 0 { return wand() }
        doc = m
        return doc
    }

    @inline(__always)
    mutating func seek(_ target: UInt32) -> UInt32 {
        if target <= doc { return doc }
        var m = terminated
        for r in refs {
            let d = r.with { c in c.doc < target ? c.seek(target) : c.doc }
            if d < m { m = d }
        }
        if threshold > 0 { return wand() }
        doc = m
        return doc
    }

    @inline(__always)
    func score() -> Float {
        var s: Float = 0
        let d = doc
        for r in refs {
            r.with { c in
                if c.doc == d { s += c.score() }
            }
        }
        return s
    }

    func advanceShallow(_ target: UInt32) -> UInt32 {
        var upTo = terminated
        for r in refs {
            let u = r.with { $0.advanceShallow(target) }
            if u < upTo { upTo = u }
        }
        return upTo
    }

    func blockMaxScore() -> Float {
        var s: Float = 0
        for r in refs { s += r.with { $0.blockMaxScore() } }
        return s
    }

    /// The child to seed a top-k threshold from (see `SeedableUnion`): the one with the highest bound, if it holds
    /// at most a quarter of the union's candidates and its bound is at least half the union's.
    func seedChild() -> Int? {
        guard children.count >= 2, let best = childMax.indices.max(by: { childMax[$0] < childMax[$1] }) else {
            return nil
        }
        let c = children[best]
        guard c.doc != terminated, c.cost <= cost / 4, childMax[best] >= maxScore / 2 else { return nil }
        return best
    }

    /// Scores in full up to `limit` documents of child `i`, from its position on, in order, calling `body` with each
    /// (see `SeedableUnion`). The union seeks each document (every child lands on it or past it) and adds up its
    /// children there; the child is then moved on by itself, so the union must not be iterated afterwards.
    mutating func scoreDocuments(
        ofChild i: Int, limit: Int, _ body: (UInt32, Float) throws(QuarryError) -> Void
    ) throws(QuarryError) {
        let c = children[i]
        var n = 0
        while c.doc != terminated && n < limit {
            let d = c.doc
            _ = seek(d)
            try body(d, score())
            _ = c.next()
            n += 1
        }
    }

    /// The number of documents matching any child, by marking them in a bitset (no merging, no scoring).
    func countMatches(maxDoc: Int, deletes: DeletedDocuments?) -> Int {
        var bits = [UInt64](repeating: 0, count: (maxDoc + 63) / 64)
        bits.withUnsafeMutableBufferPointer { bits in
            for c in children {
                var d = c.doc
                while d != terminated && Int(d) < maxDoc {
                    bits[Int(d >> 6)] |= 1 << UInt64(d & 63)
                    d = c.next()
                }
            }
        }
        guard let deletes else { return bits.reduce(0) { $0 + $1.nonzeroBitCount } }
        return deletes.words.withUnsafeBufferPointer { dead in
            var n = 0
            for i in 0..<min(bits.count, dead.count) { n += (bits[i] & ~dead[i]).nonzeroBitCount }
            return n
        }
    }

    /// Block-max WAND: moves to the first document, at or after the children's current positions, that may beat
    /// the threshold.
    mutating func wand() -> UInt32 {
        let n = children.count
        return order.withUnsafeMutableBufferPointer { order in
            while true {
                // Children in document order (insertion sort: there are few, and they move little).
                for i in 1..<n {
                    let k = order[i]
                    let d = refs[k].with { $0.doc }
                    var j = i - 1
                    while j >= 0 && refs[order[j]].with({ $0.doc }) > d {
                        order[j + 1] = order[j]
                        j -= 1
                    }
                    order[j + 1] = k
                }
                // The pivot: the first position where the bounds of the children so far can beat the threshold.
                var acc: Float = 0
                var pivot = -1
                for i in 0..<n {
                    if refs[order[i]].with({ $0.doc }) == terminated { break }
                    acc += childMax[order[i]]
                    if canBeat(acc, threshold) {
                        pivot = i
                        break
                    }
                }
                if pivot < 0 {
                    doc = terminated
                    return doc
                }
                let pivotDoc = refs[order[pivot]].with { $0.doc }
                // Every child on the pivot document belongs to the pivot set.
                var last = pivot
                while last + 1 < n && refs[order[last + 1]].with({ $0.doc }) == pivotDoc { last += 1 }
                let nextDoc = last + 1 < n ? refs[order[last + 1]].with { $0.doc } : terminated
                // Block-max check over the pivot set. When it passed for the same children and the same threshold
                // at an earlier pivot whose blocks still hold this one (frequent words, where WAND skips little),
                // it passes again: the sum is of the same blocks' bounds.
                var mask: UInt64 = 0
                if n <= 64 { for i in 0...last { mask |= 1 << UInt64(order[i]) } }
                if n > 64 || mask != passedMask || pivotDoc > passedUpTo || threshold != passedThreshold {
                    var upTo = terminated
                    var blockSum: Float = 0
                    for i in 0...last {
                        refs[order[i]].with { c in
                            let u = c.advanceShallow(pivotDoc)
                            if u < upTo { upTo = u }
                            blockSum += c.blockMaxScore()
                        }
                    }
                    if !canBeat(blockSum, threshold) {
                        // Nothing in [pivotDoc, min(upTo + 1, nextDoc)) can beat the threshold.
                        var target = upTo == terminated ? terminated : upTo + 1
                        if nextDoc < target { target = nextDoc }
                        if target <= pivotDoc { target = pivotDoc + 1 }
                        for i in 0...last {
                            refs[order[i]].with { c in
                                if c.doc < target { _ = c.seek(target) }
                            }
                        }
                        continue
                    }
                    passedMask = mask
                    passedUpTo = upTo
                    passedThreshold = threshold
                }
                if refs[order[0]].with({ $0.doc }) == pivotDoc {
                    doc = pivotDoc
                    return doc
                }
                // Bring the children before the pivot up to it.
                for i in 0..<pivot {
                    refs[order[i]].with { c in
                        if c.doc < pivotDoc { _ = c.seek(pivotDoc) }
                    }
                }
            }
        }
    }
}

/// A union of term scorers (see `UnionCore`).
final class TermUnionScorer: Scorer {
    private var core: UnionCore<TermScorer>

    init(_ children: [TermScorer]) { core = UnionCore(children) }

    var terms: [TermScorer] { core.children }
    var doc: UInt32 { core.doc }
    var maxScore: Float { core.maxScore }
    var cost: Int { core.cost }
    var corrupted: Bool { core.corrupted }
    func next() -> UInt32 { core.next() }
    func seek(_ target: UInt32) -> UInt32 { core.seek(target) }
    func score() -> Float { core.score() }
    func advanceShallow(_ target: UInt32) -> UInt32 { core.advanceShallow(target) }
    func blockMaxScore() -> Float { core.blockMaxScore() }
    func setMinCompetitiveScore(_ threshold: Float) { core.threshold = threshold }

    /// The window of `collectDense`, in documents.
    static let window = 4096

    /// Whether the union is dense enough for windows: one of its children holds a 64th of the segment's
    /// documents or more (a word in bodies, beside its titles), where block-max WAND pays its bookkeeping on
    /// every document of it, or of the rarer child that leads it: a word's titles lead once its bodies cannot
    /// beat the threshold alone, and each title then brought the bodies up to it, decoding nearly every block
    /// of theirs, though about one title in a hundred can beat the threshold with its body. (Tried on the 1M
    /// corpus's and usenet's term and OR queries: a quarter, an eighth, a 16th, a 64th, a 256th and every union;
    /// a 64th takes the fewest instructions, 12-37% fewer than WAND.)
    func isDense(maxDoc: Int) -> Bool {
        guard core.children.count >= 2 && core.children.count <= 64 else { return false }
        return core.children.contains { $0.cost >= maxDoc / TermUnionScorer.denseShare }
    }

    /// See `isDense`.
    static let denseShare = 64

    /// Top-k collection of a dense union, a window of at most 4,096 documents at a time (block-max MaxScore, as
    /// Lucene's `MaxScoreBulkScorer`; once the top k is full, a window starts at a document of a child that can
    /// still make one competitive and ends with that child's block): per window, each child's bound is the largest
    /// bound of its blocks there; the children
    /// whose bounds add up to less than the threshold are non-essential: they cannot make a document competitive
    /// alone, so only the other children's documents are candidates, scored into an array; a candidate whose
    /// partial score plus the non-essential bounds cannot beat the threshold is dropped, and for the others the
    /// non-essential children are sought. A window whose children are all non-essential is skipped whole.
    /// Non-essential children are only sought to candidates: one left behind is sought to the window it is next
    /// essential in, so a window skipped decodes nothing (a frequent word beside a rare one). Each
    /// document's score is the sum of its children's scores in child order (as `score()` adds them: the same to
    /// the bit), offered in document order.
    /// - Parameter check: called once per window (the time budget).
    func collectDense(
        segment s: Int, deletes: DeletedDocuments?, into collector: inout TopKCollector,
        check: () throws(QuarryError) -> Void
    ) throws(QuarryError) {
        let children = core.children
        // Unretained (`children` keeps them alive): the loops over documents do no reference counting.
        let refs = children.map { Ref($0) }
        let n = children.count
        let w = TermUnionScorer.window
        let words = w / 64
        var scores = [Float](repeating: 0, count: n * w)
        var present = [UInt64](repeating: 0, count: n * words)
        var any = [UInt64](repeating: 0, count: words)
        var bounds = [Float](repeating: 0, count: n)
        var order = Array(0..<n)
        var threshold = collector.threshold
        // Where the next window starts at the earliest: children behind it were non-essential where they are.
        var windowStart: UInt32 = 0
        // Children by their bounds over all documents: those of least bounds that cannot beat the threshold
        // together are non-essential everywhere, so a window starts at a document of one of the others (a rare
        // word beside a frequent one: from one of its documents to the next).
        let byMax = (0..<n).sorted { children[$0].maxScore < children[$1].maxScore }
        var essentialFrom = 0
        while true {
            var base = terminated
            for c in children where c.doc < base { base = c.doc }
            if base == terminated { break }
            if collector.isFull {
                var sum: Float = 0
                var g = 0
                while g < n && !canBeat(sum + children[byMax[g]].maxScore, threshold) {
                    sum += children[byMax[g]].maxScore
                    g += 1
                }
                var lead = terminated
                for j in g..<n where children[byMax[j]].doc < lead { lead = children[byMax[j]].doc }
                if lead == terminated { break }
                base = lead
                essentialFrom = g
            }
            if base < windowStart { base = windowStart }
            try check()
            var end = UInt32(min(UInt64(base) + UInt64(w), UInt64(terminated)))
            // The window ends where the first block of an essential child ends (as Lucene's MaxScoreBulkScorer):
            // its bounds are then those of blocks, not of every block in 4,096 documents (two frequent words).
            if collector.isFull {
                for j in essentialFrom..<n {
                    let c = children[byMax[j]]
                    guard c.doc != terminated else { continue }
                    let upTo = c.advanceShallow(max(c.doc, base))
                    if upTo != terminated && upTo < end - 1 { end = upTo + 1 }
                }
            }
            // Children order[0..<nonEssential] are non-essential in this window; their bounds add up to `rest`.
            var nonEssential = 0
            var rest: Float = 0
            if collector.isFull {
                var ahead = false
                for k in 0..<n {
                    let c = children[k]
                    guard c.doc < end else {
                        bounds[k] = 0
                        if c.doc != terminated { ahead = true }
                        continue
                    }
                    var upTo = c.advanceShallow(max(c.doc, base))
                    if upTo != terminated { ahead = true }
                    var best = c.blockMaxScore()
                    while upTo != terminated && upTo < end - 1 {
                        upTo = c.advanceShallow(upTo + 1)
                        best = max(best, c.blockMaxScore())
                    }
                    bounds[k] = best
                }
                // Only children left behind, with nothing from here on.
                if !ahead { break }
                order.sort { bounds[$0] < bounds[$1] }
                while nonEssential < n && !canBeat(rest + bounds[order[nonEssential]], threshold) {
                    rest += bounds[order[nonEssential]]
                    nonEssential += 1
                }
                if nonEssential == n {
                    windowStart = end
                    if end == terminated { break }
                    continue
                }
            }
            scores.withUnsafeMutableBufferPointer { scores in
                present.withUnsafeMutableBufferPointer { present in
                    any.withUnsafeMutableBufferPointer { any in
                        for j in nonEssential..<n {
                            let k = order[j]
                            refs[k].with { c in
                                var d = c.doc
                                if d < base { d = c.seek(base) }
                                while d < end {
                                    let i = Int(d &- base)
                                    scores[k &* w &+ i] = c.score()
                                    present[k &* words &+ (i >> 6)] |= 1 << UInt64(i & 63)
                                    any[i >> 6] |= 1 << UInt64(i & 63)
                                    d = c.next()
                                }
                            }
                        }
                        for word in 0..<words where any[word] != 0 {
                            var bits = any[word]
                            any[word] = 0
                            while bits != 0 {
                                let b = bits.trailingZeroBitCount
                                bits &= bits &- 1
                                let i = word &* 64 &+ b
                                let bit: UInt64 = 1 << UInt64(b)
                                let doc = base &+ UInt32(i)
                                if let deletes, deletes.contains(Int(doc)) { continue }
                                if nonEssential > 0 {
                                    // The essential part (in any order: only compared with a bound).
                                    var partial: Float = 0
                                    for j in nonEssential..<n where present[order[j] &* words &+ word] & bit != 0 {
                                        partial += scores[order[j] &* w &+ i]
                                    }
                                    if !canBeat(partial + rest, threshold) { continue }
                                    for j in 0..<nonEssential {
                                        let k = order[j]
                                        refs[k].with { c in
                                            if c.doc < doc { _ = c.seek(doc) }
                                            if c.doc == doc {
                                                scores[k &* w &+ i] = c.score()
                                                present[k &* words &+ word] |= bit
                                            }
                                        }
                                    }
                                }
                                var total: Float = 0
                                for k in 0..<n where present[k &* words &+ word] & bit != 0 {
                                    total += scores[k &* w &+ i]
                                }
                                if total > threshold || !collector.isFull {
                                    if collector.offer(Hit(segment: s, doc: Int(doc), score: total)) {
                                        threshold = collector.threshold
                                    }
                                }
                            }
                            for k in 0..<n { present[k &* words &+ word] = 0 }
                        }
                    }
                }
            }
            // Non-essential children were only sought to candidates; they stay where they are until needed.
            windowStart = end
            if end == terminated { break }
        }
    }

    /// The number of documents matching any child: with nothing deleted and one term holding most of the
    /// postings (a word in bodies and in titles), its document frequency plus the others' documents it lacks;
    /// otherwise by marking a bitset (`UnionCore.countMatches`).
    func countMatches(maxDoc: Int, deletes: DeletedDocuments?) -> Int {
        if deletes == nil, let n = countBesideLargest() { return n }
        return core.countMatches(maxDoc: maxDoc, deletes: deletes)
    }

    /// A term's cost is its document frequency, exact: the union holds the largest child's documents and those of
    /// the others that it does not, found by seeking it to each (in order) instead of walking it whole. Nil when
    /// the largest holds less than `dominance` times the others' postings, where walking is no dearer.
    private func countBesideLargest() -> Int? {
        let children = core.children
        let n = children.count
        guard n >= 2 else { return nil }
        var big = 0
        for i in 1..<n where children[i].cost > children[big].cost { big = i }
        let largest = children[big]
        let rest = core.cost - largest.cost
        guard largest.cost >= TermUnionScorer.dominance * rest else { return nil }
        var others = children
        others.remove(at: big)
        var missing = 0
        others.withUnsafeBufferPointer { others in
            while true {
                var d = terminated
                for i in 0..<others.count { d = min(d, others[i].doc) }
                if d == terminated { break }
                for i in 0..<others.count where others[i].doc == d { _ = others[i].next() }
                if largest.seek(d) != d { missing += 1 }
            }
        }
        return largest.cost + missing
    }

    /// See `countBesideLargest`.
    static let dominance = 4
}

/// A union of scorers of any kinds (see `UnionCore`).
final class UnionScorer: SeedableUnion {
    private var core: UnionCore<ScorerBox>

    func seedChild() -> Int? { core.seedChild() }
    func scoreDocuments(
        ofChild i: Int, limit: Int, _ body: (UInt32, Float) throws(QuarryError) -> Void
    ) throws(QuarryError) { try core.scoreDocuments(ofChild: i, limit: limit, body) }

    init(_ children: [any Scorer]) {
        core = UnionCore(children.map { ScorerBox($0) })
    }

    var doc: UInt32 { core.doc }
    var maxScore: Float { core.maxScore }
    var cost: Int { core.cost }
    var corrupted: Bool { core.corrupted }
    func next() -> UInt32 { core.next() }
    func seek(_ target: UInt32) -> UInt32 { core.seek(target) }
    func score() -> Float { core.score() }
    func advanceShallow(_ target: UInt32) -> UInt32 { core.advanceShallow(target) }
    func blockMaxScore() -> Float { core.blockMaxScore() }

    /// Besides the union's own block-max WAND, each child may skip what it cannot make competitive: a document
    /// whose score from child i is at most `threshold - (maxScore - maxScore_i)` cannot beat the threshold
    /// whatever the others add (and if the child skips it, the partial score of the others is lower still). This
    /// is what lets a phrase skip blocks before checking positions.
    func setMinCompetitiveScore(_ threshold: Float) {
        core.threshold = threshold
        propagateThreshold(threshold, to: core.children, total: core.maxScore)
    }
}

/// Gives each child of a sum the threshold it must beat on its own (see `UnionScorer.setMinCompetitiveScore`).
func propagateThreshold<C: Scorer>(_ threshold: Float, to children: [C], total: Float) {
    for c in children {
        let own = threshold - (total - c.maxScore)
        if own > 0 { c.setMinCompetitiveScore(own) }
    }
}

/// A union whose children's bounds are loose (phrases), which can raise the top-k threshold before its main pass:
/// the first documents of its cheapest high-bound child (a phrase in the short title field, beside the same phrase
/// in the body) are scored in full first, so the main pass starts with the threshold they set instead of filling
/// the top k with whatever comes first in document order (see `Searcher.seedThreshold`). Unions of terms do not
/// need it: their block bounds are tight.
protocol SeedableUnion: Scorer {
    /// The child to take the first documents from, or nil when seeding would not pay.
    func seedChild() -> Int?
    /// Scores in full up to `limit` documents of child `i`, in order, calling `body` with each; the union must not
    /// be iterated afterwards.
    func scoreDocuments(ofChild i: Int, limit: Int, _ body: (UInt32, Float) throws(QuarryError) -> Void)
        throws(QuarryError)
}

/// A union of phrase scorers (a phrase over title and body), compiled with direct calls (see `UnionCore`).
final class PhraseUnionScorer: SeedableUnion {
    private var core: UnionCore<PhraseScorer>

    init(_ children: [PhraseScorer]) { core = UnionCore(children) }

    func seedChild() -> Int? { core.seedChild() }
    func scoreDocuments(
        ofChild i: Int, limit: Int, _ body: (UInt32, Float) throws(QuarryError) -> Void
    ) throws(QuarryError) { try core.scoreDocuments(ofChild: i, limit: limit, body) }

    var doc: UInt32 { core.doc }
    var maxScore: Float { core.maxScore }
    var cost: Int { core.cost }
    var corrupted: Bool { core.corrupted }
    func next() -> UInt32 { core.next() }
    func seek(_ target: UInt32) -> UInt32 { core.seek(target) }
    func score() -> Float { core.score() }
    func advanceShallow(_ target: UInt32) -> UInt32 { core.advanceShallow(target) }
    func blockMaxScore() -> Float { core.blockMaxScore() }

    /// The number of documents matching any child (see `UnionCore.countMatches`).
    func countMatches(maxDoc: Int, deletes: DeletedDocuments?) -> Int {
        core.countMatches(maxDoc: maxDoc, deletes: deletes)
    }

    /// As `UnionScorer`'s: each phrase may skip blocks on its own share of the threshold.
    func setMinCompetitiveScore(_ threshold: Float) {
        core.threshold = threshold
        propagateThreshold(threshold, to: core.children, total: core.maxScore)
    }
}

/// A union of `children`: of terms when they all are, of phrases when they all are. A child that matched nothing
/// from the start (a phrase whose words are in the field but never side by side) is left out, unless it met damaged
/// data (which the search must still report); the union of one child is that child.
func makeUnion(_ children: [any Scorer]) -> any Scorer {
    let live = children.filter { $0.doc != terminated || $0.corrupted }
    if live.isEmpty { return EmptyScorer() }
    if live.count == 1 { return live[0] }
    let terms = live.compactMap { $0 as? TermScorer }
    if terms.count == live.count { return TermUnionScorer(terms) }
    let phrases = live.compactMap { $0 as? PhraseScorer }
    if phrases.count == live.count { return PhraseUnionScorer(phrases) }
    return UnionScorer(live)
}

/// Documents matching every child; the score is the sum of the scoring children's scores (in query order).
/// Iterates by leapfrogging from the cheapest child. As the root of a top-k search it skips windows of documents
/// whose summed block bounds cannot beat the threshold (Lucene's block-max conjunction); the bound of a window is
/// computed once per window, not per candidate.
///
/// Generic over the children's type, for three concrete classes: `ConjunctionScorer` over unions of terms (plain
/// words over title and body: the common AND query), `TermConjunctionScorer` over terms (plain words in an index of
/// one text field) and `IntersectionScorer` for any mix (phrases, date filters). The three forward the same ten
/// lines to their core: each is a concrete class so that the core is specialized for its children (a generic class
/// would be called through its unspecialized methods from `any Scorer`).
struct IntersectionCore<C: Scorer> {
    let children: [C]
    private let byCost: [Ref<C>]
    /// Filters that are cheaper to check on each candidate than to iterate (a date range over documents in no
    /// date order: Lucene's two-phase iteration).
    private let verifiers: [Ref<C>]
    private let scoring: [Ref<C>]
    var doc: UInt32 = terminated
    let maxScore: Float
    let cost: Int
    var threshold: Float = -.infinity
    private var windowEnd: UInt32 = 0
    private var windowStart: UInt32 = 1
    private var windowMax: Float = 0
    /// Terms of the children that a document able to beat the threshold must hold (see `ConjunctionScorer`):
    /// every term of `required` (cheapest first: checked before the children), and one term of `leads` at least,
    /// whose union leads the leapfrog when it is cheaper than the cheapest child (`termLeads`). The children keep
    /// them alive and score them.
    private var required: [Ref<TermScorer>] = []
    private var leads: [Ref<TermScorer>] = []
    private var termLeads = false
    /// - Parameters:
    ///   - children: every required clause, in query order.
    ///   - scoring: which of them add to the score (filters do not).
    init(_ children: [C], scoring: [Bool]) {
        self.children = children
        let sorted = children.sorted { $0.cost < $1.cost }
        let leadCost = sorted.first?.cost ?? 0
        var iterators: [Ref<C>] = []
        var verifiers: [Ref<C>] = []
        for (k, c) in sorted.enumerated() {
            if k > 0 && c.canVerify && c.cost > 4 * leadCost {
                verifiers.append(Ref(c))
            } else {
                iterators.append(Ref(c))
            }
        }
        byCost = iterators
        self.verifiers = verifiers
        let scorers = zip(children, scoring).filter { $0.1 }.map { $0.0 }
        self.scoring = scorers.map { Ref($0) }
        maxScore = scorers.reduce(0) { $0 + $1.maxScore }
        cost = children.map(\.cost).min() ?? 0
        doc = align(byCost.first?.with { $0.doc } ?? terminated)
    }

    var corrupted: Bool { children.contains { $0.corrupted } }

    /// The window of block bounds holding `d` and its summed bound.
    private mutating func window(_ d: UInt32) -> (UInt32, Float) {
        if d >= windowStart && d <= windowEnd { return (windowEnd, windowMax) }
        var upTo = terminated
        var sum: Float = 0
        for c in scoring {
            c.with { c in
                let u = c.advanceShallow(d)
                if u < upTo { upTo = u }
                sum += c.blockMaxScore()
            }
        }
        windowStart = d
        windowEnd = upTo
        windowMax = sum
        return (upTo, sum)
    }

    /// Moves the lead (the leading terms, or the cheapest child) to its first document >= `target` (> the lead's).
    @inline(__always)
    private func leadSeek(_ target: UInt32) -> UInt32 {
        if termLeads {
            var m = terminated
            for i in 0..<leads.count {
                let d = leads[i].with { $0.doc < target ? $0.seek(target) : $0.doc }
                if d < m { m = d }
            }
            return m
        }
        return byCost[0].with { $0.seek(target) }
    }

    private mutating func align(_ start: UInt32) -> UInt32 {
        var d = start
        let firstChild = termLeads ? 0 : 1
        outer: while d != terminated {
            if threshold > 0 {
                let (upTo, bound) = window(d)
                if !canBeat(bound, threshold) {
                    if upTo == terminated { return terminated }
                    d = leadSeek(upTo + 1)
                    continue
                }
            }
            for i in 0..<required.count {
                let cd = required[i].with { c in c.doc < d ? c.seek(d) : c.doc }
                if cd > d {
                    d = leadSeek(cd)
                    continue outer
                }
            }
            for i in firstChild..<byCost.count {
                let cd = byCost[i].with { c in c.doc < d ? c.seek(d) : c.doc }
                if cd > d {
                    d = leadSeek(cd)
                    continue outer
                }
            }
            // Indexes, not `for v in verifiers`: iterating the array itself retains and releases its storage
            // on every candidate.
            for i in 0..<verifiers.count where !verifiers[i].with({ $0.matches(d) }) {
                d = termLeads ? leadSeek(d + 1) : byCost[0].with { $0.next() }
                continue outer
            }
            return d
        }
        return terminated
    }

    mutating func next() -> UInt32 {
        if doc == terminated { return doc }
        if termLeads {
            // Each leading term is at the current document or past it (it matched through another term).
            let current = doc
            var m = terminated
            for i in 0..<leads.count {
                let d = leads[i].with { $0.doc <= current ? $0.next() : $0.doc }
                if d < m { m = d }
            }
            doc = align(m)
        } else {
            doc = align(byCost[0].with { $0.next() })
        }
        return doc
    }

    mutating func seek(_ target: UInt32) -> UInt32 {
        if target <= doc { return doc }
        doc = align(leadSeek(target))
        return doc
    }

    var ledByTerms: Bool { termLeads }

    /// From now on a candidate holds every term of `required` and one of `leads` at least (the threshold says so:
    /// the caller's bounds). The leads' union leads the leapfrog when it is cheaper than the cheapest child.
    mutating func require(_ required: [TermScorer], oneOf leads: [TermScorer]) {
        self.required = required.sorted { $0.cost < $1.cost }.map { Ref($0) }
        let leadCost = leads.reduce(0) { $0 + $1.cost }
        termLeads = !leads.isEmpty && leadCost < (byCost.first?.with { $0.cost } ?? 0)
        self.leads = termLeads ? leads.map { Ref($0) } : []
    }

    func score() -> Float {
        var s: Float = 0
        for c in scoring { s += c.with { $0.score() } }
        return s
    }

    func advanceShallow(_ target: UInt32) -> UInt32 {
        var upTo = terminated
        for c in scoring {
            let u = c.with { $0.advanceShallow(target) }
            if u < upTo { upTo = u }
        }
        return upTo
    }

    func blockMaxScore() -> Float {
        var s: Float = 0
        for c in scoring { s += c.with { $0.blockMaxScore() } }
        return s
    }

    mutating func setThreshold(_ t: Float) {
        threshold = t
        windowEnd = 0
        windowStart = 1
    }
}

/// An intersection of unions of terms (see `IntersectionCore`).
final class ConjunctionScorer: Scorer {
    private var core: IntersectionCore<TermUnionScorer>

    /// Every term of every union, by increasing maximum score; what the terms before each one add up to; and
    /// what all but each one add up to (for `setMinCompetitiveScore`).
    private let terms: [TermScorer]
    private let below: [Double]
    private let others: [Double]
    /// Where the terms that lead (0: all, no restriction) and the terms that are required (`terms.count`: none)
    /// start in `terms`.
    private var leadStart: Int
    private var requiredStart: Int

    init(_ children: [TermUnionScorer]) {
        core = IntersectionCore(children, scoring: Array(repeating: true, count: children.count))
        terms = children.flatMap(\.terms).sorted { $0.maxScore < $1.maxScore }
        var below: [Double] = []
        var sum = 0.0
        for t in terms {
            below.append(sum)
            sum += Double(t.maxScore)
        }
        self.below = below
        let total = sum
        others = terms.map { total - Double($0.maxScore) }
        leadStart = 0
        requiredStart = terms.count
    }

    var doc: UInt32 { core.doc }
    var maxScore: Float { core.maxScore }
    var cost: Int { core.cost }
    var corrupted: Bool { core.corrupted }
    func next() -> UInt32 { core.next() }
    func seek(_ target: UInt32) -> UInt32 { core.seek(target) }
    func score() -> Float { core.score() }
    func advanceShallow(_ target: UInt32) -> UInt32 { core.advanceShallow(target) }
    func blockMaxScore() -> Float { core.blockMaxScore() }

    /// Whether terms lead the leapfrog, and every term's maximum in increasing order (for tests).
    var ledByTerms: Bool { core.ledByTerms }
    var termMaxima: [Float] { terms.map(\.maxScore) }

    /// Besides the windows' bounds, Lucene's MaxScore over the words' fields: the terms with the smallest maxima,
    /// as many as cannot beat the threshold together, cannot make a document competitive alone, so a candidate
    /// holds one of the others (the leads); and a term whose absence leaves every other term's maximum unable to
    /// beat the threshold is held by every candidate (required). A word over title and body is a union of two
    /// terms; once the top documents hold the words in their short titles, the threshold passes what the bodies
    /// can score, and the titles' postings (a tenth of the bodies' or less) lead instead of the bodies'.
    func setMinCompetitiveScore(_ threshold: Float) {
        core.setThreshold(threshold)
        guard threshold > 0 else { return }
        var lead = 0
        while lead + 1 < terms.count && !canBeat(Float(below[lead + 1]), threshold) { lead += 1 }
        var required = terms.count
        while required > 0 && !canBeat(Float(others[required - 1]), threshold) { required -= 1 }
        guard lead != leadStart || required != requiredStart else { return }
        leadStart = lead
        requiredStart = required
        core.require(Array(terms[required...]), oneOf: Array(terms[lead...]))
    }
}

/// An intersection of terms (plain words in an index of one text field; see `IntersectionCore`): direct calls
/// into the term scorers, where `IntersectionScorer` goes through existentials (and retains each child per call).
final class TermConjunctionScorer: Scorer {
    private var core: IntersectionCore<TermScorer>

    init(_ children: [TermScorer]) {
        core = IntersectionCore(children, scoring: Array(repeating: true, count: children.count))
    }

    var doc: UInt32 { core.doc }
    var maxScore: Float { core.maxScore }
    var cost: Int { core.cost }
    var corrupted: Bool { core.corrupted }
    func next() -> UInt32 { core.next() }
    func seek(_ target: UInt32) -> UInt32 { core.seek(target) }
    func score() -> Float { core.score() }
    func advanceShallow(_ target: UInt32) -> UInt32 { core.advanceShallow(target) }
    func blockMaxScore() -> Float { core.blockMaxScore() }
    func setMinCompetitiveScore(_ threshold: Float) { core.setThreshold(threshold) }
}

/// An intersection of scorers of any kinds (see `IntersectionCore`).
final class IntersectionScorer: Scorer {
    private var core: IntersectionCore<ScorerBox>

    init(_ children: [any Scorer], scoring: [Bool]) {
        core = IntersectionCore(children.map { ScorerBox($0) }, scoring: scoring)
        scoringChildren = zip(core.children, scoring).filter { $0.1 }.map { $0.0 }
    }

    private let scoringChildren: [ScorerBox]

    var doc: UInt32 { core.doc }
    var maxScore: Float { core.maxScore }
    var cost: Int { core.cost }
    var corrupted: Bool { core.corrupted }
    func next() -> UInt32 { core.next() }
    func seek(_ target: UInt32) -> UInt32 { core.seek(target) }
    func score() -> Float { core.score() }
    func advanceShallow(_ target: UInt32) -> UInt32 { core.advanceShallow(target) }
    func blockMaxScore() -> Float { core.blockMaxScore() }

    /// As for unions: a child that cannot reach `threshold - (the others' maxima)` on its own may skip.
    func setMinCompetitiveScore(_ threshold: Float) {
        core.setThreshold(threshold)
        propagateThreshold(threshold, to: scoringChildren, total: core.maxScore)
    }
}

/// An intersection of `children` (`scoring` says which add to the score): of unions of terms when they all are.
func makeIntersection(_ children: [any Scorer], scoring: [Bool]) -> any Scorer {
    if children.count == 1 && scoring[0] { return children[0] }
    if !scoring.contains(false) {
        let unions = children.compactMap { $0 as? TermUnionScorer }
        if unions.count == children.count { return ConjunctionScorer(unions) }
        let terms = children.compactMap { $0 as? TermScorer }
        if terms.count == children.count { return TermConjunctionScorer(terms) }
    }
    return IntersectionScorer(children, scoring: scoring)
}

/// Documents of `required` that do not match `excluded`.
final class ExclusionScorer: Scorer {
    private let required: any Scorer
    private let excluded: any Scorer
    private(set) var doc: UInt32 = terminated

    init(required: any Scorer, excluded: any Scorer) {
        self.required = required
        self.excluded = excluded
        doc = align(required.doc)
    }

    var maxScore: Float { required.maxScore }
    var cost: Int { required.cost }
    var corrupted: Bool { required.corrupted || excluded.corrupted }

    private func align(_ start: UInt32) -> UInt32 {
        var d = start
        while d != terminated {
            let e = excluded.doc < d ? excluded.seek(d) : excluded.doc
            if e != d { return d }
            d = required.next()
        }
        return d
    }

    func next() -> UInt32 {
        if doc == terminated { return doc }
        doc = align(required.next())
        return doc
    }

    func seek(_ target: UInt32) -> UInt32 {
        if target <= doc { return doc }
        doc = align(required.seek(target))
        return doc
    }

    func score() -> Float { required.score() }
    func advanceShallow(_ target: UInt32) -> UInt32 { required.advanceShallow(target) }
    func blockMaxScore() -> Float { required.blockMaxScore() }
    func setMinCompetitiveScore(_ threshold: Float) { required.setMinCompetitiveScore(threshold) }
}

/// Documents of `required`; `optional` adds its score where it also matches.
final class ReqOptScorer: Scorer {
    private let required: any Scorer
    private let optional: any Scorer

    init(required: any Scorer, optional: any Scorer) {
        self.required = required
        self.optional = optional
    }

    var doc: UInt32 { required.doc }
    var maxScore: Float { required.maxScore + optional.maxScore }
    var cost: Int { required.cost }
    var corrupted: Bool { required.corrupted || optional.corrupted }

    func next() -> UInt32 { required.next() }
    func seek(_ target: UInt32) -> UInt32 { required.seek(target) }

    func score() -> Float {
        let d = required.doc
        var s = required.score()
        let o = optional.doc < d ? optional.seek(d) : optional.doc
        if o == d { s += optional.score() }
        return s
    }

    func advanceShallow(_ target: UInt32) -> UInt32 {
        min(required.advanceShallow(target), optional.advanceShallow(target))
    }

    func blockMaxScore() -> Float { required.blockMaxScore() + optional.blockMaxScore() }
    func setMinCompetitiveScore(_ threshold: Float) {}
}
