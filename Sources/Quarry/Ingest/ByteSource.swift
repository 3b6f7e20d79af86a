// Input bytes: a file or standard input, decompressed on the fly when it is gzip, zstd, bzip2 or xz. The
// compression is detected from the first bytes (gzip: 1f 8b; zstd: 28 b5 2f fd; bzip2: "BZh" and a block size
// digit; xz: fd "7zXZ" 00), never from the name. Concatenated members, frames and streams are read one after the
// other (pigz, pzstd, pbzip2 and Wikipedia's "multistream" dumps write them). A stream that ends inside a
// compressed frame is an error ("cut short"), not a silent end of input.

import CBzip2
import CLzma
import CZlib
import SystemPackage

/// A stream of input bytes.
protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes; 0 means end of input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QuarryError) -> Int
    /// Bytes consumed from the underlying file so far (compressed bytes for compressed input), for progress.
    var consumed: Int { get }
}

/// How an input is compressed.
public enum Compression: String, Sendable {
    case none, gzip, zstd, bzip2, xz

    /// The bytes `detect` needs.
    static let magicLength = 6

    static func detect(_ head: UnsafeRawBufferPointer) -> Compression {
        if head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B { return .gzip }
        if head.count >= 4 && head[0] == 0x28 && head[1] == 0xB5 && head[2] == 0x2F && head[3] == 0xFD { return .zstd }
        if head.count >= 4 && head[0] == 0x42 && head[1] == 0x5A && head[2] == 0x68 && head[3] >= 0x31
            && head[3] <= 0x39
        {
            return .bzip2
        }
        if head.count >= 6 && head[0] == 0xFD && head[1] == 0x37 && head[2] == 0x7A && head[3] == 0x58
            && head[4] == 0x5A && head[5] == 0x00
        {
            return .xz
        }
        return .none
    }
}

/// Reads a file descriptor.
final class FileSource: ByteSource {
    let name: String
    private let fd: FileDescriptor
    private let ownsDescriptor: Bool
    private(set) var consumed = 0
    /// Bytes read ahead by `peek` and not yet returned.
    private var pending: [UInt8] = []

    init(path: String) throws(QuarryError) {
        name = path
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            let e = errnoOf(error)
            throw QuarryError(.invalidInput, "cannot open input file", path: path, errno: e)
        }
        ownsDescriptor = true
    }

    init(standardInput: Void) {
        name = "<stdin>"
        fd = .standardInput
        ownsDescriptor = false
    }

    deinit {
        if ownsDescriptor { try? fd.close() }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QuarryError) -> Int {
        if !pending.isEmpty {
            let n = min(pending.count, buffer.count)
            pending.withUnsafeBytes { src in
                buffer.baseAddress.unsafelyUnwrapped.copyMemory(from: src.baseAddress.unsafelyUnwrapped, byteCount: n)
            }
            pending.removeFirst(n)
            return n
        }
        do {
            let n = try fd.read(into: buffer, retryOnInterrupt: true)
            consumed += n
            return n
        } catch {
            let error = errnoOf(error)
            if error == .isDirectory {
                throw QuarryError(.invalidInput, "is a directory; use --format text to index a folder of text files", path: name)
            }
            throw QuarryError(.invalidInput, "cannot read input (\(error.description))", path: name, errno: error)
        }
    }

    /// Reads up to `count` bytes without consuming them.
    func peek(_ count: Int) throws(QuarryError) -> [UInt8] {
        var head = [UInt8](repeating: 0, count: count)
        var have = 0
        while have < count {
            let n = try head.withMutableBytes { raw throws(QuarryError) in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[have...]))
            }
            if n == 0 { break }
            have += n
        }
        head.removeLast(count - have)
        pending = head + pending
        return head
    }
}

/// Decompresses gzip (any number of concatenated members) through zlib.
final class GzipSource: ByteSource {
    private let inner: FileSource
    private var stream = z_stream()
    private var input = [UInt8](repeating: 0, count: 1 << 16)
    private var inputStart = 0
    private var inputEnd = 0
    private var finished = false
    private var memberOpen = false
    private var initialized = false

    init(_ inner: FileSource) throws(QuarryError) {
        self.inner = inner
        let r = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard r == Z_OK else {
            throw QuarryError(.invalidInput, "cannot start gzip decompression (zlib error \(r))", path: inner.name)
        }
        initialized = true
    }

    deinit {
        if initialized { inflateEnd(&stream) }
    }

    var consumed: Int { inner.consumed }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QuarryError) -> Int {
        if finished { return 0 }
        while true {
            if inputStart == inputEnd {
                let n = try input.withMutableBytes { raw throws(QuarryError) in try inner.read(into: raw) }
                if n == 0 {
                    finished = true
                    if memberOpen {
                        throw QuarryError(
                            .invalidInput, "the gzip stream is cut short (it ends inside a compressed member)",
                            path: inner.name, offset: inner.consumed)
                    }
                    return 0
                }
                inputStart = 0
                inputEnd = n
            }
            let produced: Int
            let r: Int32
            (produced, r) = input.withUnsafeMutableBytes { inRaw in
                stream.next_in = inRaw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self) + inputStart
                stream.avail_in = UInt32(inputEnd - inputStart)
                stream.next_out = buffer.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
                stream.avail_out = UInt32(min(buffer.count, Int(UInt32.max)))
                let r = inflate(&stream, Z_NO_FLUSH)
                let used = (inputEnd - inputStart) - Int(stream.avail_in)
                inputStart += used
                return (min(buffer.count, Int(UInt32.max)) - Int(stream.avail_out), r)
            }
            switch r {
            case Z_OK, Z_BUF_ERROR:
                memberOpen = true
            case Z_STREAM_END:
                memberOpen = false
                inflateReset(&stream)
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(r)"
                throw QuarryError(
                    .invalidInput, "the gzip data is damaged (\(message))", path: inner.name, offset: inner.consumed)
            }
            if produced > 0 { return produced }
        }
    }
}

/// Decompresses zstd (any number of concatenated frames).
final class ZstdSource: ByteSource {
    private let inner: FileSource
    private let stream = ZstdStream()
    private var input = [UInt8](repeating: 0, count: 1 << 17)
    private var inputStart = 0
    private var inputEnd = 0
    private var finished = false
    private var sawData = false

    init(_ inner: FileSource) {
        self.inner = inner
    }

    var consumed: Int { inner.consumed }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QuarryError) -> Int {
        if finished { return 0 }
        while true {
            if inputStart == inputEnd {
                let n = try input.withMutableBytes { raw throws(QuarryError) in try inner.read(into: raw) }
                if n == 0 {
                    finished = true
                    if sawData && !stream.atFrameBoundary {
                        throw QuarryError(
                            .invalidInput, "the zstd stream is cut short (it ends inside a frame)", path: inner.name,
                            offset: inner.consumed)
                    }
                    return 0
                }
                inputStart = 0
                inputEnd = n
            }
            let result = input.withUnsafeBytes { inRaw in
                stream.decompress(UnsafeRawBufferPointer(rebasing: inRaw[inputStart..<inputEnd]), output: buffer)
            }
            switch result {
            case .failure(let e):
                throw QuarryError(
                    .invalidInput, "the zstd data is damaged (\(e.message))", path: inner.name, offset: inner.consumed)
            case .success(let (used, produced)):
                sawData = true
                inputStart += used
                if produced > 0 { return produced }
            }
        }
    }
}

/// Decompresses bzip2 (any number of concatenated streams) through libbz2.
final class Bzip2Source: ByteSource {
    private let inner: FileSource
    private var stream = bz_stream()
    private var input = [UInt8](repeating: 0, count: 1 << 16)
    private var inputStart = 0
    private var inputEnd = 0
    private var finished = false
    private var open = false
    private var streamOpen = false

    init(_ inner: FileSource) throws(QuarryError) {
        self.inner = inner
        try start()
    }

    private func start() throws(QuarryError) {
        stream = bz_stream()
        let r = BZ2_bzDecompressInit(&stream, 0, 0)
        guard r == BZ_OK else {
            throw QuarryError(.invalidInput, "cannot start bzip2 decompression (libbz2 error \(r))", path: inner.name)
        }
        open = true
    }

    deinit {
        if open { BZ2_bzDecompressEnd(&stream) }
    }

    var consumed: Int { inner.consumed }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QuarryError) -> Int {
        if finished { return 0 }
        while true {
            if inputStart == inputEnd {
                let n = try input.withMutableBytes { raw throws(QuarryError) in try inner.read(into: raw) }
                if n == 0 {
                    finished = true
                    if streamOpen {
                        throw QuarryError(
                            .invalidInput, "the bzip2 stream is cut short (it ends inside a block)", path: inner.name,
                            offset: inner.consumed)
                    }
                    return 0
                }
                inputStart = 0
                inputEnd = n
            }
            if !open { try start() }
            let capacity = min(buffer.count, Int(UInt32.max))
            let (produced, r): (Int, Int32) = input.withUnsafeMutableBytes { inRaw in
                stream.next_in = UnsafeMutableRawPointer(inRaw.baseAddress.unsafelyUnwrapped + inputStart)
                    .assumingMemoryBound(to: CChar.self)
                stream.avail_in = UInt32(inputEnd - inputStart)
                stream.next_out = buffer.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: CChar.self)
                stream.avail_out = UInt32(capacity)
                let r = BZ2_bzDecompress(&stream)
                inputStart = inputEnd - Int(stream.avail_in)
                return (capacity - Int(stream.avail_out), r)
            }
            switch r {
            case BZ_OK:
                streamOpen = true
            case BZ_STREAM_END:
                // The next stream, if any, starts with its own header.
                streamOpen = false
                BZ2_bzDecompressEnd(&stream)
                open = false
            default:
                throw QuarryError(
                    .invalidInput, "the bzip2 data is damaged (libbz2 error \(r))", path: inner.name,
                    offset: inner.consumed)
            }
            if produced > 0 { return produced }
        }
    }
}

/// Decompresses xz (any number of concatenated streams) through liblzma.
final class XzSource: ByteSource {
    private let inner: FileSource
    private var stream = lzma_stream()
    private var input = [UInt8](repeating: 0, count: 1 << 16)
    private var inputStart = 0
    private var inputEnd = 0
    private var finished = false
    private var atEnd = false

    init(_ inner: FileSource) throws(QuarryError) {
        self.inner = inner
        let r = lzma_stream_decoder(&stream, UInt64.max, 0x08)  // LZMA_CONCATENATED (a macro Swift cannot import)
        guard r == LZMA_OK else {
            throw QuarryError(.invalidInput, "cannot start xz decompression (liblzma error \(r.rawValue))", path: inner.name)
        }
    }

    deinit { lzma_end(&stream) }

    var consumed: Int { inner.consumed }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QuarryError) -> Int {
        if finished { return 0 }
        while true {
            var action = LZMA_RUN
            if inputStart == inputEnd && !atEnd {
                let n = try input.withMutableBytes { raw throws(QuarryError) in try inner.read(into: raw) }
                if n == 0 {
                    atEnd = true
                } else {
                    inputStart = 0
                    inputEnd = n
                }
            }
            if atEnd { action = LZMA_FINISH }
            let (produced, r): (Int, lzma_ret) = input.withUnsafeBytes { inRaw in
                stream.next_in = inRaw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self) + inputStart
                stream.avail_in = inputEnd - inputStart
                stream.next_out = buffer.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt8.self)
                stream.avail_out = buffer.count
                let r = lzma_code(&stream, action)
                inputStart = inputEnd - Int(stream.avail_in)
                return (buffer.count - Int(stream.avail_out), r)
            }
            switch r {
            case LZMA_OK:
                if atEnd && produced == 0 {
                    finished = true
                    throw QuarryError(
                        .invalidInput, "the xz stream is cut short (it ends inside a block)", path: inner.name,
                        offset: inner.consumed)
                }
            case LZMA_STREAM_END:
                finished = true
            case LZMA_BUF_ERROR where atEnd:
                finished = true
                throw QuarryError(
                    .invalidInput, "the xz stream is cut short (it ends inside a block)", path: inner.name,
                    offset: inner.consumed)
            default:
                finished = true
                throw QuarryError(
                    .invalidInput, "the xz data is damaged (liblzma error \(r.rawValue))", path: inner.name,
                    offset: inner.consumed)
            }
            if produced > 0 || finished { return produced }
        }
    }
}

/// Bytes already in memory (a file of a folder, read whole) as a byte source.
final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private(set) var consumed = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(QuarryError) -> Int {
        let n = min(buffer.count, bytes.count - consumed)
        if n <= 0 { return 0 }
        bytes.withUnsafeBytes { src in
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: src[consumed..<(consumed + n)]))
        }
        consumed += n
        return n
    }
}

/// Opens an input (a path, or "-" for standard input) with decompression as its first bytes require.
func openInput(_ path: String) throws(QuarryError) -> (source: ByteSource, compression: Compression, size: Int?) {
    let file: FileSource
    var size: Int?
    if path == "-" {
        file = FileSource(standardInput: ())
    } else {
        switch Syscalls.status(path) {
        case .failure(let e):
            throw QuarryError(.invalidInput, "cannot open input file", path: path, errno: e)
        case .success(let st):
            if st.isDirectory {
                throw QuarryError(.invalidInput, "is a directory; use --format text to index a folder of text files", path: path)
            }
            if st.isRegular { size = Int(st.size) }
        }
        file = try FileSource(path: path)
    }
    let head = try file.peek(Compression.magicLength)
    let compression = head.withUnsafeBytes { Compression.detect($0) }
    switch compression {
    case .none: return (file, .none, size)
    case .gzip: return (try GzipSource(file), .gzip, size)
    case .zstd: return (ZstdSource(file), .zstd, size)
    case .bzip2: return (try Bzip2Source(file), .bzip2, size)
    case .xz: return (try XzSource(file), .xz, size)
    }
}
