// Bounds-checked, little-endian reads over mapped memory, and the growable byte buffer that writers fill.
//
// `RawBytes` is a window (pointer + count) into a `MappedFile` or another owner; it never retains its owner.
// Checked reads return `nil` past the end instead of trapping (as swift-nio's `ByteBuffer.readInteger` does), so
// a truncated or damaged file becomes a `QuarryError.corruptIndex`, never a crash. Unchecked `load*` variants are
// for hot loops whose bounds were validated when their block was entered.

/// A read-only window of bytes. It does not own the memory.
struct RawBytes: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int

    init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    /// The window `[offset, offset + length)`, or nil if it is not inside this one.
    @inline(__always)
    func slice(_ offset: Int, _ length: Int) -> RawBytes? {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else { return nil }
        return RawBytes(base: base + offset, count: length)
    }

    /// True when `[offset, offset + length)` lies inside the window.
    @inline(__always)
    func contains(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= count && length <= count - offset
    }

    @inline(__always) func loadU8(_ offset: Int) -> UInt8 {
        assert(offset >= 0 && offset < count)
        return base.load(fromByteOffset: offset, as: UInt8.self)
    }
    @inline(__always) func loadU16(_ offset: Int) -> UInt16 {
        assert(offset >= 0 && offset + 2 <= count)
        return UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
    @inline(__always) func loadU32(_ offset: Int) -> UInt32 {
        assert(offset >= 0 && offset + 4 <= count)
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
    @inline(__always) func loadU64(_ offset: Int) -> UInt64 {
        assert(offset >= 0 && offset + 8 <= count)
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    func u8(_ offset: Int) -> UInt8? { contains(offset, 1) ? loadU8(offset) : nil }
    func u16(_ offset: Int) -> UInt16? { contains(offset, 2) ? loadU16(offset) : nil }
    func u32(_ offset: Int) -> UInt32? { contains(offset, 4) ? loadU32(offset) : nil }
    func u64(_ offset: Int) -> UInt64? { contains(offset, 8) ? loadU64(offset) : nil }

    /// Copies the bytes out.
    func toArray() -> [UInt8] {
        [UInt8](UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Calls `body` with the bytes as a buffer pointer.
    @inline(__always)
    func withBuffer<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count))
    }

    /// Bytewise comparison with `other` (as `memcmp`, shorter-is-smaller on a common prefix).
    func compare(_ other: UnsafeRawBufferPointer) -> Int {
        let n = Swift.min(count, other.count)
        if n > 0, let ob = other.baseAddress {
            let r = memcmpBytes(base, ob, n)
            if r != 0 { return r }
        }
        return count == other.count ? 0 : (count < other.count ? -1 : 1)
    }
}

@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int {
    var i = 0
    while i + 8 <= n {
        let x = UInt64(bigEndian: a.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let y = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        if x != y { return x < y ? -1 : 1 }
        i += 8
    }
    while i < n {
        let x = a.load(fromByteOffset: i, as: UInt8.self)
        let y = b.load(fromByteOffset: i, as: UInt8.self)
        if x != y { return x < y ? -1 : 1 }
        i += 1
    }
    return 0
}

/// A forward reader over `RawBytes`. Every read is checked; `nil` means the data ended early or is malformed.
struct ByteCursor {
    let bytes: RawBytes
    var position: Int

    init(_ bytes: RawBytes, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func u8() -> UInt8? {
        guard let v = bytes.u8(position) else { return nil }
        position += 1
        return v
    }
    mutating func u16() -> UInt16? {
        guard let v = bytes.u16(position) else { return nil }
        position += 2
        return v
    }
    mutating func u32() -> UInt32? {
        guard let v = bytes.u32(position) else { return nil }
        position += 4
        return v
    }
    mutating func u64() -> UInt64? {
        guard let v = bytes.u64(position) else { return nil }
        position += 8
        return v
    }
    mutating func i64() -> Int64? {
        u64().map { Int64(bitPattern: $0) }
    }

    /// A LEB128 variable-length integer of at most 64 bits. A one-byte value (most of them: lengths, counts,
    /// small deltas) takes the inlined path; longer ones the loop, out of line, so that loops reading many vints
    /// (a term dictionary block, a postings tail) stay small. The loop returns the value and its length rather
    /// than moving the cursor: a cursor passed to it by address would live in memory, not in registers, in every
    /// loop that reads vints (the term dictionary's block scan kept its position on the stack).
    @inline(__always)
    mutating func vint() -> UInt64? {
        if position < bytes.count {
            let b = bytes.loadU8(position)
            if b < 0x80 {
                position &+= 1
                return UInt64(b)
            }
        }
        let (value, length) = ByteCursor.vintSlow(bytes, position)
        position &+= length
        return length == 0 ? nil : value
    }

    /// The vint at `position` of `bytes` and its length; length 0 if it runs past the end or over 64 bits.
    @inline(never)
    private static func vintSlow(_ bytes: RawBytes, _ position: Int) -> (UInt64, Int) {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var p = position
        while p >= 0 && p < bytes.count {
            let b = bytes.loadU8(p)
            p += 1
            if shift == 63 && b > 1 { return (0, 0) }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return (result, p - position) }
            shift += 7
            if shift > 63 { return (0, 0) }
        }
        return (0, 0)
    }

    /// A variable-length integer that must fit in `Int` and be at most `limit`.
    @inline(__always)
    mutating func vint(limit: Int) -> Int? {
        guard let v = vint(), v <= UInt64(limit) else { return nil }
        return Int(v)
    }

    mutating func bytes(_ length: Int) -> RawBytes? {
        guard let s = bytes.slice(position, length) else { return nil }
        position += length
        return s
    }

    /// A string stored as a vint length and UTF-8 bytes (invalid UTF-8 is repaired).
    mutating func string(limit: Int = 1 << 20) -> String? {
        guard let n = vint(limit: limit), let b = bytes(n) else { return nil }
        return b.withBuffer { String(decoding: $0, as: UTF8.self) }
    }
}

/// A growable little-endian byte buffer for writers.
struct ByteBuffer {
    var bytes: [UInt8] = []

    init() {}
    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }
    mutating func removeAll(keepingCapacity: Bool = true) { bytes.removeAll(keepingCapacity: keepingCapacity) }

    @inline(__always) mutating func u8(_ v: UInt8) { bytes.append(v) }
    @inline(__always) mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }
    @inline(__always) mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    @inline(__always) mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }
    @inline(__always) mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }

    @inline(__always) mutating func vint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }
    @inline(__always) mutating func vint(_ value: Int) {
        assert(value >= 0)
        vint(UInt64(value))
    }
    @inline(__always) mutating func vint(_ value: UInt32) { vint(UInt64(value)) }

    mutating func append<C: Collection>(contentsOf c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }
    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            vint(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// Overwrites 4 bytes at `offset` (for back-patched lengths).
    mutating func patchU32(at offset: Int, _ v: UInt32) {
        bytes[offset] = UInt8(truncatingIfNeeded: v)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: v >> 8)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: v >> 16)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: v >> 24)
    }
}

extension Array where Element == UInt8 {
    /// Runs `body` with the array's bytes as a `RawBytes` window.
    @inline(__always)
    func withRawBytes<R, E: Error>(_ body: (RawBytes) throws(E) -> R) throws(E) -> R {
        try withBytes { (raw: UnsafeRawBufferPointer) throws(E) -> R in
            let base = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 16).unsafelyUnwrapped
            return try body(RawBytes(base: base, count: raw.count))
        }
    }
}

extension Array {
    /// `withUnsafeBytes` with a typed error.
    @inline(__always)
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let r: Result<R, E> = withUnsafeBytes { raw in Result { () throws(E) -> R in try body(raw) } }
        return try r.get()
    }

    /// `withUnsafeMutableBytes` with a typed error.
    @inline(__always)
    mutating func withMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let r: Result<R, E> = withUnsafeMutableBytes { raw in Result { () throws(E) -> R in try body(raw) } }
        return try r.get()
    }

    /// `withUnsafeBufferPointer` with a typed error.
    @inline(__always)
    func withBuffer<R, E: Error>(_ body: (UnsafeBufferPointer<Element>) throws(E) -> R) throws(E) -> R {
        let r: Result<R, E> = withUnsafeBufferPointer { buf in Result { () throws(E) -> R in try body(buf) } }
        return try r.get()
    }
}
