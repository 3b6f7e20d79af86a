// A pull-style walk over one field's terms, a block at a time, for k-way merges of dictionaries (duplicate ids,
// exact term counts over segments, and later segment merges).

final class TermCursor {
    private let dictionary: TermDictionary
    private let field: TermDictionary.Field?
    private var block = -1
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    private var infos: [TermInfo] = []
    private var index = 0
    private(set) var failed = false

    init(_ dictionary: TermDictionary, field ord: Int) {
        self.dictionary = dictionary
        self.field = dictionary.field(ord)
        _ = loadNextBlock()
    }

    /// False once every term has been visited (or the data is damaged: see `failed`).
    var isValid: Bool { index < ends.count }

    /// The current term's bytes (valid until the cursor moves).
    @inline(__always)
    func withTerm<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        let start = index == 0 ? 0 : ends[index - 1]
        return bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[start..<ends[index]])) }
    }

    var term: [UInt8] { withTerm { Array($0) } }
    var info: TermInfo { infos[index] }

    func next() {
        index += 1
        if index >= ends.count { _ = loadNextBlock() }
    }

    private func loadNextBlock() -> Bool {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        infos.removeAll(keepingCapacity: true)
        index = 0
        guard let f = field else { return false }
        while ends.isEmpty {
            block += 1
            if block >= f.blockCount { return false }
            var bad = false
            dictionary.scanBlock(f, block) { term, info in
                bytes.append(contentsOf: term)
                ends.append(bytes.count)
                infos.append(info)
                return true
            } onError: {
                bad = true
            }
            if bad {
                failed = true
                ends.removeAll()
                return false
            }
        }
        return true
    }

    /// Compares the current terms of two cursors.
    static func compare(_ a: TermCursor, _ b: TermCursor) -> Int {
        a.withTerm { x in
            b.withTerm { y in
                RawBytes(base: x.baseAddress ?? UnsafeRawPointer(bitPattern: 8).unsafelyUnwrapped, count: x.count).compare(y)
            }
        }
    }
}

enum DuplicateIDs {
    /// Finds an id held by two documents, where at least one is in a segment at index >= `newFrom`.
    /// - Returns: (id, segment name, other segment name), or nil.
    static func find(_ segments: [SegmentReader], newFrom: Int) throws(QuarryError) -> (String, String, String)? {
        let cursors = segments.map { TermCursor($0.terms, field: Schema.idOrd) }
        var heap = cursors.indices.filter { cursors[$0].isValid }
        func less(_ a: Int, _ b: Int) -> Bool {
            let c = TermCursor.compare(cursors[a], cursors[b])
            return c != 0 ? c < 0 : a < b
        }
        // Simple binary heap of cursor indices.
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1
                let r = l + 1
                var m = i
                if l < heap.count && less(heap[l], heap[m]) { m = l }
                if r < heap.count && less(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for i in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
        var previous: [UInt8]? = nil
        var previousSegment = -1
        while let top = heap.first {
            let c = cursors[top]
            let isNew = top >= newFrom
            if c.info.docFreq > 1 && isNew {
                return (String(decoding: c.term, as: UTF8.self), segments[top].info.name, segments[top].info.name)
            }
            let same = previous.map { p in c.withTerm { t in t.elementsEqual(p) } } ?? false
            if same && (isNew || previousSegment >= newFrom) {
                return (
                    String(decoding: c.term, as: UTF8.self), segments[previousSegment].info.name,
                    segments[top].info.name
                )
            }
            if !same || isNew {
                previous = c.term
                previousSegment = top
            }
            c.next()
            if c.isValid {
                siftDown(0)
            } else {
                if c.failed {
                    throw QuarryError.corrupt(segments[top].info.path(.terms, in: segments[top].directory), "the id dictionary cannot be decoded")
                }
                heap[0] = heap[heap.count - 1]
                heap.removeLast()
                siftDown(0)
            }
        }
        return nil
    }
}
