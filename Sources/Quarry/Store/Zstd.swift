// The only file that talks to libzstd: one-shot block compression for the document store (with zstd's content
// checksum, so a damaged block is detected when it is read) and streaming decompression for `.zst` input files.

import CZstd

/// A zstd compression context (one per thread).
final class ZstdCompressor {
    private let cctx: OpaquePointer

    init(level: Int32 = 3) {
        guard let c = ZSTD_createCCtx() else {
            fatalError("ZSTD_createCCtx failed: out of memory")
        }
        cctx = c
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)
    }

    deinit { ZSTD_freeCCtx(cctx) }

    /// Compresses `input` and appends the frame to `output`.
    func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        let bound = ZSTD_compressBound(input.count)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
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

/// A zstd decompression context (one per reader thread).
final class ZstdDecompressor {
    private let dctx: OpaquePointer

    init() {
        guard let d = ZSTD_createDCtx() else {
            fatalError("ZSTD_createDCtx failed: out of memory")
        }
        dctx = d
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Decompresses one frame of exactly `size` bytes into `output` (which must have room for `size` bytes).
    /// - Returns: nil with a reason if the frame is damaged or of another size.
    func decompress(_ input: RawBytes, size: Int, into output: UnsafeMutableRawPointer) -> String? {
        let r = ZSTD_decompressDCtx(dctx, output, size, input.base, input.count)
        if ZSTD_isError(r) != 0 {
            return String(cString: ZSTD_getErrorName(r))
        }
        if r != size { return "block decompresses to \(r) bytes, expected \(size)" }
        return nil
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
