// CRC-32 (IEEE 802.3, as zlib and tantivy's footer compute it), through zlib's implementation.

import CQuarry
import CZlib

/// A running CRC-32 of bytes.
struct CRC32 {
    private(set) var value: UInt32 = 0

    init() {}

    mutating func update(_ raw: UnsafeRawBufferPointer) {
        guard var p = raw.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var remaining = raw.count
        var crc = UInt(value)
        while remaining > 0 {
            let n = Swift.min(remaining, 1 << 30)
            crc = crc32(crc, p, UInt32(n))
            p += n
            remaining -= n
        }
        value = UInt32(truncatingIfNeeded: crc)
    }

    mutating func update(_ bytes: RawBytes) {
        update(UnsafeRawBufferPointer(start: bytes.base, count: bytes.count))
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    static func of(_ bytes: RawBytes) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.value
    }

    static func of(_ bytes: [UInt8]) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.value
    }
}

/// CRC-32C (Castagnoli) of bytes, in hardware where the CPU has it: the chunk checksums of segment files
/// (ChunkChecksums.swift), which readers compute while they search.
struct CRC32C {
    private(set) var value: UInt32 = 0

    init() {}

    mutating func update(_ raw: UnsafeRawBufferPointer) {
        guard let p = raw.baseAddress else { return }
        value = quarry_crc32c(value, p, raw.count)
    }

    static func of(_ bytes: RawBytes) -> UInt32 {
        quarry_crc32c(0, bytes.base, bytes.count)
    }

    static func of(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { raw in raw.baseAddress.map { quarry_crc32c(0, $0, raw.count) } ?? 0 }
    }
}
