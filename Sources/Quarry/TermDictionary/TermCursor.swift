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

    /// A cursor on the first term >= `start`.
    init(_ dictionary: TermDictionary, field ord: Int, from start: [UInt8]) throws(QuarryError) {
        self.dictionary = dictionary
        self.field = dictionary.field(ord)
        if let f = field { block = try dictionary.blockFor(f, start) - 1 }
        _ = loadNextBlock()
        while isValid && withTerm({ TermDictionary.less($0.bindMemory(to: UInt8.self), start) }) {
            next()
        }
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

/// A k-way walk of one field's terms over several segments' dictionaries, in term order: for each distinct term,
/// the segments that hold it (for segment merges, duplicate ids and distinct-term counts).
enum TermMergeWalk {
    /// Calls `visit` with each distinct term (from `start` on, if given) and its (segment index, entry) pairs, in
    /// segment order, until it returns false.
    /// - Throws: `.corruptIndex` if a dictionary cannot be decoded, or what `visit` throws.
    static func forEachTerm(
        _ segments: [SegmentReader], field: Int, from start: [UInt8]? = nil,
        _ visit: ([UInt8], [(segment: Int, info: TermInfo)]) throws(QuarryError) -> Bool
    ) throws(QuarryError) {
        var cursors: [TermCursor] = []
        for s in segments {
            if let start {
                cursors.append(try TermCursor(s.terms, field: field, from: start))
            } else {
                cursors.append(TermCursor(s.terms, field: field))
            }
        }
        // A cursor whose first block is damaged starts out invalid: that is damage, not an empty field.
        if let bad = cursors.firstIndex(where: { $0.failed }) {
            throw QuarryError.corrupt(
                segments[bad].info.path(.terms, in: segments[bad].directory), "the term dictionary cannot be decoded")
        }
        var heap = cursors.indices.filter { cursors[$0].isValid }
        func less(_ a: Int, _ b: Int) -> Bool {
            let c = TermCursor.compare(cursors[a], cursors[b])
            return c != 0 ? c < 0 : a < b
        }
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
        var members: [(segment: Int, info: TermInfo)] = []
        while let top = heap.first {
            let term = cursors[top].term
            members.removeAll(keepingCapacity: true)
            // Pop every cursor on this term (they come in segment order: ties break on the index).
            while let t = heap.first, cursors[t].withTerm({ $0.elementsEqual(term) }) {
                members.append((t, cursors[t].info))
                let c = cursors[t]
                c.next()
                if c.isValid {
                    siftDown(0)
                } else {
                    if c.failed {
                        throw QuarryError.corrupt(
                            segments[t].info.path(.terms, in: segments[t].directory),
                            "the term dictionary cannot be decoded")
                    }
                    heap[0] = heap[heap.count - 1]
                    heap.removeLast()
                    siftDown(0)
                }
            }
            if !(try visit(term, members)) { return }
        }
    }
}
