// The only file that talks to libzstd: one-shot block compression for the document store and the id field's
// dictionary blocks (with zstd's content checksum, so a damaged block is detected when it is read), dictionaries
// trained from a segment's first documents, and streaming decompression for `.zst` input files.

import CZstd
import Synchronization

/// A zstd compression context (one per thread).
final class ZstdCompressor {
    private let cctx: OpaquePointer
    /// The compression level (zstd's 1...19); a dictionary trained for this compressor is digested at it.
    let level: Int32

    /// The store's default level, and the levels accepted (`IndexOptions.storeLevel`; others are clamped).
    static let defaultLevel = 3
    static let levels = 1...19

    init(level: Int = ZstdCompressor.defaultLevel) {
        self.level = Int32(min(max(level, ZstdCompressor.levels.lowerBound), ZstdCompressor.levels.upperBound))
        guard let c = ZSTD_createCCtx() else {
            fatalError("ZSTD_createCCtx failed: out of memory")
        }
        cctx = c
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, self.level)
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
        // A dictionary's tables are used where they are, never copied into the context: at level 3 zstd copies
        // them for inputs over 16 KiB (a store block is just over), which for a 256 KiB dictionary costs more
        // than compressing the block (indexing usenet: 7% more CPU). (ZSTD_c_experimentalParam4 is
        // ZSTD_c_forceAttachDict, a macro Swift does not import.)
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_experimentalParam4, Int32(ZSTD_dictForceAttach.rawValue))
    }

    deinit { ZSTD_freeCCtx(cctx) }

    /// The context's memory (its tables grow with the level and the input: about 0.5 MB for a store block at
    /// level 3, about 1 MB at 19).
    var memoryUsage: Int { ZSTD_sizeof_CCtx(cctx) }

    /// Compresses `input` (with `dictionary`, if any) and appends the frame to `output`.
    func compress(
        _ input: UnsafeRawBufferPointer, dictionary: ZstdDictionary? = nil, appendingTo output: inout [UInt8]
    ) {
        let bound = ZSTD_compressBound(input.count)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
        // (Referencing a digested dictionary, or none, is a pointer assignment; it stays until changed.)
        _ = ZSTD_CCtx_refCDict(cctx, dictionary?.cdict)
        let written = output.withUnsafeMutableBytes { dst in
            ZSTD_compress2(cctx, dst.baseAddress.unsafelyUnwrapped + start, bound, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 {
            // Only possible through a library bug: the output buffer is large enough by construction.
            fatalError("zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        output.removeLast(bound - written)
    }
}

/// A zstd dictionary for compressing the document store's blocks: trained from sample documents, digested once.
final class ZstdDictionary {
    let bytes: [UInt8]
    fileprivate let cdict: OpaquePointer

    /// Digests `bytes` (a dictionary as `train` makes it) for compression at `level`; nil if zstd refuses it.
    init?(bytes: [UInt8], level: Int32) {
        guard !bytes.isEmpty, let c = bytes.withUnsafeBytes({ ZSTD_createCDict($0.baseAddress, $0.count, level) })
        else { return nil }
        self.bytes = bytes
        cdict = c
    }

    deinit { ZSTD_freeCDict(cdict) }

    /// The digested dictionary's memory (its content and the match tables of its level).
    var memoryUsage: Int { ZSTD_sizeof_CDict(cdict) }

    /// Trains a dictionary of at most `capacity` bytes from samples stored back to back in `samples`, of the
    /// given sizes (zstd's fastCover with fixed parameters: one pass, about 60 ms for 4 MiB).
    /// - Returns: nil when zstd cannot make one (too few or too uniform samples).
    static func train(samples: [UInt8], sizes: [Int], capacity: Int, level: Int32) -> ZstdDictionary? {
        guard sizes.count >= 8, sizes.reduce(0, +) == samples.count, capacity >= 1024 else { return nil }
        var params = ZDICT_fastCover_params_t()
        params.k = 200
        params.d = 8
        params.f = 18
        params.accel = 4
        params.steps = 0
        params.nbThreads = 1
        params.splitPoint = 1.0
        params.zParams.compressionLevel = level
        var dict = [UInt8](repeating: 0, count: capacity)
        let n = dict.withUnsafeMutableBytes { d in
            samples.withUnsafeBytes { s in
                sizes.withUnsafeBufferPointer { z in
                    ZDICT_trainFromBuffer_fastCover(d.baseAddress, capacity, s.baseAddress, z.baseAddress, UInt32(z.count), params)
                }
            }
        }
        guard ZDICT_isError(n) == 0, n > 0, n <= capacity else { return nil }
        dict.removeLast(capacity - n)
        return ZstdDictionary(bytes: dict, level: level)
    }
}

/// A dictionary digested for decompression, referring to bytes that the caller keeps alive (a mapped file).
/// (Sendable: zstd never changes a digested dictionary, and any number of contexts may use one at once.)
final class ZstdDecompressionDictionary: @unchecked Sendable {
    fileprivate let ddict: OpaquePointer

    /// nil if zstd refuses the bytes as a dictionary.
    init?(_ bytes: RawBytes) {
        guard let d = ZSTD_createDDict_byReference(bytes.base, bytes.count) else { return nil }
        ddict = d
    }

    deinit { ZSTD_freeDDict(ddict) }
}

/// A zstd decompression context (one per reader thread, or lent by a `ZstdDecompressorPool` to one thread at a
/// time).
final class ZstdDecompressor: @unchecked Sendable {
    private let dctx: OpaquePointer

    init() {
        guard let d = ZSTD_createDCtx() else {
            fatalError("ZSTD_createDCtx failed: out of memory")
        }
        dctx = d
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Decompresses one frame of exactly `size` bytes into `output` (which must have room for `size` bytes).
    /// - Returns: nil with a reason if the frame is damaged, of another size, or made with another dictionary.
    func decompress(
        _ input: RawBytes, size: Int, into output: UnsafeMutableRawPointer,
        dictionary: ZstdDecompressionDictionary? = nil
    ) -> String? {
        let r =
            if let dictionary {
                ZSTD_decompress_usingDDict(dctx, output, size, input.base, input.count, dictionary.ddict)
            } else {
                ZSTD_decompressDCtx(dctx, output, size, input.base, input.count)
            }
        if ZSTD_isError(r) != 0 {
            return String(cString: ZSTD_getErrorName(r))
        }
        if r != size { return "block decompresses to \(r) bytes, expected \(size)" }
        return nil
    }
}

/// Decompression contexts for a reader shared by threads (a term dictionary's compressed blocks): each frame
/// borrows one (a context costs about 100 kB of fresh pages, too much to make per lookup) and gives it back.
final class ZstdDecompressorPool: Sendable {
    private let idle = Mutex<[ZstdDecompressor]>([])
    /// Contexts kept for reuse; more threads than this at once make and drop their own.
    static let kept = 4

    init() {}

    func withDecompressor<R>(_ body: (ZstdDecompressor) -> R) -> R {
        let d = idle.withLock { $0.popLast() } ?? ZstdDecompressor()
        defer {
            idle.withLock { contexts in
                if contexts.count < ZstdDecompressorPool.kept { contexts.append(d) }
            }
        }
        return body(d)
    }
}

/// Streaming zstd decompression of an input file.
final class ZstdStream {
    private let dstream: OpaquePointer
    private var finishedFrame = true

    init() {
        guard let d = ZSTD_createDStream() else {
            fatalError("ZSTD_createDStream failed: out of memory")
        }
        dstream = d
        ZSTD_initDStream(dstream)
    }

    deinit { ZSTD_freeDStream(dstream) }

    /// Decompresses as much of `input` (starting at `inputOffset`) as fits into `output`'s free capacity.
    /// - Returns: (bytes consumed, bytes produced), or an error message.
    func decompress(_ input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) -> Result<(Int, Int), StreamError> {
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuf = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let r = ZSTD_decompressStream(dstream, &outBuf, &inBuf)
        if ZSTD_isError(r) != 0 {
            return .failure(StreamError(message: String(cString: ZSTD_getErrorName(r))))
        }
        finishedFrame = (r == 0)
        return .success((inBuf.pos, outBuf.pos))
    }

    /// True when the last call ended exactly at the end of a frame (so end of input there is not a truncation).
    var atFrameBoundary: Bool { finishedFrame }
}

struct StreamError: Error {
    var message: String
}
