// Scanning loops of the dump readers: the next byte of a kind, the next of a set, the line feeds of a range. The
// readers' passes (wikitext, XML, HTML, JSON escaping) copy the text between markup in whole runs; finding where a
// run ends is most of their work, so it is done here once, over the bytes in place, with the range checked at the
// boundary: every function clamps `from` and `to` to the buffer and returns an index inside them.

import Glibc

/// A set of bytes, as a 256-entry table.
struct ByteSet: Sendable {
    fileprivate var table: [Bool]

    init<S: Sequence<UInt8>>(_ bytes: S) {
        table = [Bool](repeating: false, count: 256)
        for b in bytes { table[Int(b)] = true }
    }

    /// The set of every byte for which `include` is true.
    init(where include: (UInt8) -> Bool) {
        table = (0...255).map { include(UInt8($0)) }
    }

    @inline(__always) func contains(_ b: UInt8) -> Bool { table[Int(b)] }
}

enum ByteScan {
    /// The first index in `from..<to` of a byte of `set`, or `to` (clamped to the buffer) when there is none.
    @inline(__always)
    static func first(_ bytes: [UInt8], of set: ByteSet, from: Int, to: Int) -> Int {
        bytes.withUnsafeBytes { raw in first(raw, of: set, from: from, to: to) }
    }

    /// The same in a slice, with the slice's own indices.
    static func first(_ bytes: ArraySlice<UInt8>, of set: ByteSet, from: Int, to: Int) -> Int {
        let base = bytes.startIndex
        return bytes.withUnsafeBytes { raw in first(raw, of: set, from: from - base, to: to - base) } + base
    }

    static func first(_ raw: UnsafeRawBufferPointer, of set: ByteSet, from: Int, to: Int) -> Int {
        let end = min(max(to, 0), raw.count)
        var i = min(max(from, 0), end)
        guard i < end, let base = raw.baseAddress else { return end }
        let p = base.assumingMemoryBound(to: UInt8.self)
        return set.table.withUnsafeBufferPointer { t in
            let table = t.baseAddress.unsafelyUnwrapped  // 256 entries: any byte indexes it
            while i < end && !table[Int(p[i])] { i += 1 }
            return i
        }
    }

    /// The first index of `byte` in `from..<to`, or nil (memchr).
    static func first(_ bytes: [UInt8], byte: UInt8, from: Int, to: Int) -> Int? {
        bytes.withUnsafeBytes { raw in first(raw, byte: byte, from: from, to: to) }
    }

    static func first(_ raw: UnsafeRawBufferPointer, byte: UInt8, from: Int, to: Int) -> Int? {
        let end = min(max(to, 0), raw.count)
        let start = min(max(from, 0), end)
        guard start < end, let base = raw.baseAddress,
            let hit = memchr(base + start, Int32(byte), end - start)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// The first index in `from..<to` where `needle` (not empty) starts and ends before `to`, or nil.
    static func first(_ bytes: [UInt8], _ needle: [UInt8], from: Int, to: Int) -> Int? {
        bytes.withUnsafeBytes { raw in first(raw, needle, from: from, to: to) }
    }

    static func first(_ raw: UnsafeRawBufferPointer, _ needle: [UInt8], from: Int, to: Int) -> Int? {
        guard let head = needle.first else { return nil }
        let end = min(max(to, 0), raw.count)
        var i = min(max(from, 0), end)
        while i + needle.count <= end {
            guard let at = first(raw, byte: head, from: i, to: end - needle.count + 1) else { return nil }
            var k = 1
            while k < needle.count && raw[at + k] == needle[k] { k += 1 }
            if k == needle.count { return at }
            i = at + 1
        }
        return nil
    }

    /// How many times `byte` occurs in `from..<to` (clamped).
    static func count(_ bytes: [UInt8], of byte: UInt8, from: Int, to: Int) -> Int {
        bytes.withUnsafeBytes { raw in count(raw, of: byte, from: from, to: to) }
    }

    static func count(_ raw: UnsafeRawBufferPointer, of byte: UInt8, from: Int, to: Int) -> Int {
        let end = min(max(to, 0), raw.count)
        let start = min(max(from, 0), end)
        guard start < end, let base = raw.baseAddress else { return 0 }
        var n = 0
        var i = start
        while let hit = memchr(base + i, Int32(byte), end - i) {
            n &+= 1
            i = base.distance(to: UnsafeRawPointer(hit)) + 1
        }
        return n
    }
}
