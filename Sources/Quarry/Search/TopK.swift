// Collecting the best k documents: a binary min-heap of (score, segment, doc) whose root is the document to beat.
// Better means a higher score, then an earlier document (segment order, then document order), as in Tantivy.
// One collector spans all segments, so the threshold reached in one segment prunes the next.

/// A search hit: a document of a segment and its score.
public struct Hit: Sendable, Equatable {
    /// Index of the segment in the reader.
    public var segment: Int
    /// Document number in the segment.
    public var doc: Int
    /// BM25 score (0 for filters only, or when sorting by date without scores).
    public var score: Float
    /// The document's date, when the search sorts by date.
    public var date: Int64?

    public init(segment: Int, doc: Int, score: Float, date: Int64? = nil) {
        self.segment = segment
        self.doc = doc
        self.score = score
        self.date = date
    }
}

struct TopKCollector {
    let k: Int
    private(set) var heap: [Hit] = []
    /// For date sorting: newest first (`descending`) or oldest first.
    let byDate: Bool
    let descending: Bool

    init(k: Int, byDate: Bool = false, descending: Bool = true) {
        self.k = k
        self.byDate = byDate
        self.descending = descending
        heap.reserveCapacity(min(k, 1 << 16))
    }

    /// The score to beat: -infinity until the heap is full.
    var threshold: Float {
        heap.count < k || k == 0 ? -.infinity : heap[0].score
    }

    var isFull: Bool { heap.count >= k }

    /// True if `a` ranks below `b` (is worse).
    @inline(__always)
    private func worse(_ a: Hit, _ b: Hit) -> Bool {
        if byDate {
            let da = a.date ?? (descending ? Int64.min : Int64.max)
            let db = b.date ?? (descending ? Int64.min : Int64.max)
            if da != db { return descending ? da < db : da > db }
        } else if a.score != b.score {
            return a.score < b.score
        }
        if a.segment != b.segment { return a.segment > b.segment }
        return a.doc > b.doc
    }

    /// Offers a hit; returns true if it entered.
    @inline(__always)
    mutating func offer(_ hit: Hit) -> Bool {
        if k == 0 { return false }
        if heap.count < k {
            heap.append(hit)
            siftUp(heap.count - 1)
            return true
        }
        if !worse(heap[0], hit) { return false }
        heap[0] = hit
        siftDown(0)
        return true
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if worse(heap[i], heap[parent]) {
                heap.swapAt(i, parent)
                i = parent
            } else {
                return
            }
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < heap.count && worse(heap[l], heap[m]) { m = l }
            if r < heap.count && worse(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    /// The hits, best first.
    func sorted() -> [Hit] {
        heap.sorted { worse($1, $0) }
    }
}
