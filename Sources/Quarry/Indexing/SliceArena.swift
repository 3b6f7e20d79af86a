// Memory for the in-memory segment: many small, growing byte streams (one postings stream and one positions stream
// per term) packed into big pages, as Lucene's `ByteBlockPool` does, and the terms' bytes.
//
// A stream is a chain of slices whose sizes grow (16, 32, 64, ... 2048 bytes); the last 4 bytes of each slice hold
// the address of the next. A term that occurs once costs two 16-byte slices and no allocation: pages are mapped
// a megabyte at a time straight from the kernel and unmapped all at once when the segment is flushed, so the
// memory goes back to the system at once (malloc would keep it, and the process would outgrow its budget).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a stream's next byte goes. (Where the stream starts is kept by its owner: see `newStreams`.)
struct SliceCursor {
    /// Address of the next byte to write.
    var position: UInt32
    /// Address of the 4-byte link at the end of the current slice.
    var end: UInt32
    /// Level of the current slice (its size is `SliceArena.sizes[level]`).
    var level: UInt8
}

final class SliceArena {
    static let pageShift: UInt32 = 20
    static let pageSize = 1 << 20
    static let sizes: [Int] = [16, 32, 64, 128, 256, 512, 1024, 2048]
    static let maxLevel = sizes.count - 1

    private(set) var pages: [UnsafeMutableRawPointer] = []
    private var pageUsed = SliceArena.pageSize

    /// Bytes allocated for pages.
    var bytesAllocated: Int { pages.count * SliceArena.pageSize }
    /// True when the arena is about to exhaust its 32-bit address space (the segment must be flushed).
    var isNearlyFull: Bool { pages.count >= 4000 }

    init() {}

    deinit {
        for p in pages { SliceArena.unmap(p, SliceArena.pageSize) }
    }

    /// The memory at an address.
    @inline(__always)
    func pointer(_ address: UInt32) -> UnsafeMutableRawPointer {
        pages[Int(address >> SliceArena.pageShift)] + Int(address & UInt32(SliceArena.pageSize - 1))
    }

    /// Maps `size` bytes of zeroed, page-aligned memory straight from the kernel (`unmap` gives them back whole,
    /// which memory from malloc, fragmented by the small allocations between, is not).
    static func map(_ size: Int) -> UnsafeMutableRawPointer {
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p = mapped, p != MAP_FAILED else {
            fatalError("out of memory: cannot map \(size) bytes for the in-memory segment")
        }
        return p
    }

    static func unmap(_ memory: UnsafeMutableRawPointer, _ size: Int) {
        munmap(memory, size)
    }

    private func allocate(_ size: Int) -> UInt32 {
        if pageUsed + size > SliceArena.pageSize {
            pages.append(SliceArena.map(SliceArena.pageSize))
            pageUsed = 0
        }
        let address = UInt32((pages.count - 1) << Int(SliceArena.pageShift) + pageUsed)
        pageUsed += size
        return address
    }

    /// Copies `bytes` (at most a page) into the arena; returns their address.
    func store(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        precondition(bytes.count <= SliceArena.pageSize, "SliceArena.store: at most a page")
        // Rounded up to 4 bytes, so that slices stay aligned for their 4-byte links.
        let a = allocate((bytes.count + 3) & ~3)
        if let base = bytes.baseAddress {
            pointer(a).copyMemory(from: base, byteCount: bytes.count)
        }
        return a
    }

    /// Starts two new, empty streams side by side: the first starts at the returned address, the second
    /// `SliceArena.sizes[0]` bytes on (so that their owner keeps one address for both).
    func newStreams() -> (start: UInt32, first: SliceCursor, second: SliceCursor) {
        let size = UInt32(SliceArena.sizes[0])
        let a = allocate(2 * Int(size))
        return (
            a, SliceCursor(position: a, end: a + size - 4, level: 0),
            SliceCursor(position: a + size, end: a + 2 * size - 4, level: 0)
        )
    }

    @inline(__always)
    func writeByte(_ cursor: inout SliceCursor, _ byte: UInt8) {
        if cursor.position == cursor.end { grow(&cursor) }
        pointer(cursor.position).storeBytes(of: byte, as: UInt8.self)
        cursor.position += 1
    }

    @inline(__always)
    func writeVInt(_ cursor: inout SliceCursor, _ value: UInt32) {
        var v = value
        while v >= 0x80 {
            writeByte(&cursor, UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        writeByte(&cursor, UInt8(truncatingIfNeeded: v))
    }

    @inline(never)
    private func grow(_ cursor: inout SliceCursor) {
        let level = min(Int(cursor.level) + 1, SliceArena.maxLevel)
        let size = SliceArena.sizes[level]
        let a = allocate(size)
        pointer(cursor.end).storeBytes(of: a, as: UInt32.self)
        cursor.position = a
        cursor.end = a + UInt32(size - 4)
        cursor.level = UInt8(level)
    }

    /// Reads a stream back: calls `body` with each contiguous run of its bytes, in order.
    func forEachRun(from start: UInt32, to cursor: SliceCursor, _ body: (UnsafeRawBufferPointer) -> Void) {
        var address = start
        var level = 0
        while true {
            let sliceEnd = address + UInt32(SliceArena.sizes[level] - 4)
            if cursor.position >= address && cursor.position <= sliceEnd {
                body(UnsafeRawBufferPointer(start: pointer(address), count: Int(cursor.position - address)))
                return
            }
            body(UnsafeRawBufferPointer(start: pointer(address), count: Int(sliceEnd - address)))
            address = pointer(sliceEnd).loadUnaligned(as: UInt32.self)
            level = min(level + 1, SliceArena.maxLevel)
        }
    }

    /// Decodes a stream of vints into `output` (appending).
    func readVInts(from start: UInt32, to cursor: SliceCursor, into output: inout [UInt32]) {
        var value: UInt32 = 0
        var shift: UInt32 = 0
        forEachRun(from: start, to: cursor) { run in
            for b in run {
                value |= UInt32(b & 0x7F) << shift
                if b < 0x80 {
                    output.append(value)
                    value = 0
                    shift = 0
                } else {
                    shift += 7
                }
            }
        }
    }
}
