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
// Defaults: factor 8 (as Tantivy's `LogMergePolicy`; with 4, each document of the 1M corpus was rewritten about
// twice while it was indexed, with 8 about once), up to 10 at once, floor 1 MiB, no size cap, rewrite at 30%
// deleted, at most 5 segments. `quarry merge --max-segments N` forces merges past the policy.

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
