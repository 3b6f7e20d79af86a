// Which segments to merge: a log-structured policy by size (the family of Lucene's `LogByteSizeMergePolicy` and
// Tantivy's `LogMergePolicy`).
//
// Segments are put in levels by their live size (bytes times the share of documents not deleted):
// level = floor(log_f(size / floor)), where f is the merge factor and every segment smaller than `floorBytes` is
// on level 0. When a level holds `mergeFactor` segments or more, its smallest ones (at most `maxMergeAtOnce`) are
// merged into one, which lands a level or more higher; levels are checked from the smallest up. So n equal
// flushes leave O(f * log_f(n)) segments, and each document is rewritten O(log_f(n)) times. A segment whose
// deleted documents reach `deletesToRewrite` of it is rewritten on its own, so deletes do not linger. Segments
// over `maxSegmentBytes` are left alone (except for deletes). Last, a cap: with more than `maxSegments` segments,
// the smallest are merged until that many are left, so an index built in many runs (or a large one built in one)
// does not pay for many segments at every query; merging the smallest keeps that cheap.
//
// Before all of that, a run's own segments: the segments one `quarry index` run writes (a flush per indexing thread
// whenever its share of the memory budget fills, and at the end of the input) are merged into one at the end of the run
// when together they hold at most `runMergeBytes` (and number at most `maxRunMergeSegments`), and while they do, they
// are not merged during the run (that would rewrite the same documents twice). A corpus indexed in one run is then
// searched as one segment, as Lucene's users get from `forceMerge(1)` after a bulk load: on usenet (4 segments
// otherwise, the last a remainder of 900 documents) a query paid each segment's term lookups and scorer setup, term and
// AND top 10 about 1.6 and 2 times a one-segment index's (BENCHMARKS.md, issue 13). A run larger than that, or a run
// adding a little to a large index, leaves the segments already there alone; the level rule then applies as it did.
//
// Defaults: a run's segments merged up to 4 GiB; factor 8 (as Tantivy's `LogMergePolicy`; with 4, each document
// of the 1M corpus was rewritten about twice while it was indexed, with 8 about once), up to 10 at once, floor 1
// MiB, no size cap, rewrite at 30% deleted, at most 5 segments. `quarry merge --max-segments N` forces merges past
// the policy.

/// When to merge segments during `quarry index` (see the file comment).
public struct MergePolicy: Sendable, Equatable {
    /// False: never merge (segments pile up until `quarry merge`).
    public var isEnabled = true
    /// Segments of one level that trigger a merge of that level.
    public var mergeFactor = 8
    /// The most segments merged at once.
    public var maxMergeAtOnce = 10
    /// Segments below this size are all on the lowest level.
    public var floorBytes = 1 << 20
    /// Segments above this size are not merged with others (nil: no cap).
    public var maxSegmentBytes: Int?
    /// A segment with this share of its documents deleted is rewritten.
    public var deletesToRewrite = 0.3
    /// More segments than this (after the level rule) and the smallest are merged until this many are left
    /// (nil: no cap).
    public var maxSegments: Int? = 5
    /// The segments one run writes are merged into one at its end when together they hold at most this many
    /// bytes, and wait for that merge instead of being merged during the run (nil or 0: never).
    public var runMergeBytes: Int? = 4 << 30

    /// The most segments of a run merged at its end at once. A run that wrote more (a small budget, a large
    /// corpus) has them merged by the level rule while it runs, down to fewer than this.
    public static let maxRunMergeSegments = 32

    /// True if a run that wrote `count` segments holding `bytes` in all ends with them merged into one (and, while
    /// that holds, they wait for it).
    public func mergesRun(bytes: Int, count: Int) -> Bool {
        guard isEnabled, let cap = runMergeBytes, cap > 0 else { return false }
        return bytes <= cap && count <= MergePolicy.maxRunMergeSegments
    }

    public init() {}

    /// No merging.
    public static var none: MergePolicy {
        var p = MergePolicy()
        p.isEnabled = false
        return p
    }

    /// A segment's size, less its deleted share.
    static func liveBytes(_ s: SegmentInfo) -> Int {
        s.docCount == 0 ? 0 : Int(Double(s.totalBytes) * Double(s.liveCount) / Double(s.docCount))
    }

    /// The names of the `count` smallest segments (by live size).
    static func smallest(_ count: Int, of segments: [SegmentInfo]) -> [String] {
        segments.sorted { liveBytes($0) < liveBytes($1) }.prefix(count).map(\.name)
    }

    /// The names of the segments to merge next, or nil.
    public func findMerge(_ segments: [SegmentInfo]) -> [String]? {
        guard isEnabled, mergeFactor >= 2 else { return nil }
        let factor = Double(mergeFactor)
        func level(_ s: SegmentInfo) -> Int {
            let size = Double(max(MergePolicy.liveBytes(s), 1))
            let floor = Double(max(floorBytes, 1))
            return size <= floor ? 0 : Int((log(size / floor) / log(factor)).rounded(.down))
        }
        let candidates = segments.filter { s in maxSegmentBytes.map { MergePolicy.liveBytes(s) <= $0 } ?? true }
        var levels: [Int: [SegmentInfo]] = [:]
        for s in candidates { levels[level(s), default: []].append(s) }
        for l in levels.keys.sorted() {
            guard let group = levels[l], group.count >= mergeFactor else { continue }
            return MergePolicy.smallest(max(2, maxMergeAtOnce), of: group)
        }
        for s in segments where s.docCount > 0 && Double(s.deletedCount) >= deletesToRewrite * Double(s.docCount) {
            return [s.name]
        }
        if let cap = maxSegments, candidates.count > max(cap, 1) {
            return MergePolicy.smallest(
                min(max(2, candidates.count - max(cap, 1) + 1), max(2, maxMergeAtOnce)), of: candidates)
        }
        return nil
    }
}

#if canImport(Glibc)
    import Glibc
#endif
