// Input sources: plain files, gzip (made with the `gzip` tool) and zstd (made with the engine's compressor and the
// `zstd` tool), concatenated members and frames, streams cut short or damaged, odd read sizes.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct ByteSourceTests {
    /// Reads a source to its end with reads of `chunk` bytes.
    static func readAll(_ source: ByteSource, chunk: Int = 1 << 16) throws(QuarryError) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let n = try buffer.withMutableBytes { raw throws(QuarryError) in try source.read(into: raw) }
            if n == 0 { return out }
            out += buffer[0..<n]
        }
    }

    static func content(_ size: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededRandom(seed: seed)
        let corpus = RandomCorpus(count: max(1, size / 200), seed: rng.next())
        var bytes = Array(corpus.jsonl.utf8)
        while bytes.count < size { bytes += bytes }
        return Array(bytes.prefix(size))
    }

    /// Compresses `path` with a command line tool into `path.ext`.
    static func compress(_ tool: String, _ path: String, _ ext: String) throws -> String {
        let out = path + "." + ext
        let status = runProcess([tool, "-c", path], stdout: out)
        try #require(status == 0, "\(tool) -c \(path) failed with status \(status)")
        return out
    }

    static func zstdFrame(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        bytes.withUnsafeBytes { ZstdCompressor().compress($0, appendingTo: &out) }
        return out
    }

    @Test func detectsCompressionFromTheFirstBytes() {
        for (head, expected) in [
            ([0x1F, 0x8B, 0x08, 0x00], Compression.gzip), ([0x28, 0xB5, 0x2F, 0xFD], .zstd), ([0x1F], .none),
            ([0x28, 0xB5, 0x2F], .none), ([0x7B, 0x22], .none), ([], .none), ([0x1F, 0x8C], .none),
            ([0x42, 0x5A, 0x68, 0x39], .bzip2), ([0x42, 0x5A, 0x68, 0x30], .none), ([0x42, 0x5A, 0x68], .none),
            ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], .xz), ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x01], .none),
        ] as [([UInt8], Compression)] {
            #expect(head.withUnsafeBytes { Compression.detect($0) } == expected, "\(head)")
        }
    }

    @Test(arguments: [1, 7, 4096, 1 << 16])
    func plainGzipAndZstdReadTheSameBytes(chunk: Int) throws {
        let dir = TemporaryDirectory("source")
        let bytes = Self.content(300_000, seed: 1)
        let plain = dir.file("in.jsonl")
        writeFile(plain, bytes)
        let gz = try Self.compress("gzip", plain, "gz")
        let zstdTool = try Self.compress("zstd", plain, "zst")
        let zstdEngine = dir.file("engine.zst")
        writeFile(zstdEngine, Self.zstdFrame(bytes))
        let bz2 = try Self.compress("bzip2", plain, "bz2")
        let xz = try Self.compress("xz", plain, "xz")
        for (path, compression) in [
            (plain, Compression.none), (gz, .gzip), (zstdTool, .zstd), (zstdEngine, .zstd), (bz2, .bzip2), (xz, .xz),
        ] {
            let opened = try openInput(path)
            #expect(opened.compression == compression, "\(path)")
            #expect(opened.size == fileSize(path))
            let read = try Self.readAll(opened.source, chunk: chunk)
            #expect(read.count == bytes.count, "\(path)")
            #expect(read == bytes, "\(path) read in chunks of \(chunk)")
            #expect(opened.source.consumed == fileSize(path))
        }
    }

    @Test func concatenatedMembersAndFrames() throws {
        let dir = TemporaryDirectory("source")
        let a = Self.content(50_000, seed: 2)
        let b = Self.content(70_000, seed: 3)
        writeFile(dir.file("a"), a)
        writeFile(dir.file("b"), b)
        let gzA = readFile(try Self.compress("gzip", dir.file("a"), "gz"))
        let gzB = readFile(try Self.compress("gzip", dir.file("b"), "gz"))
        writeFile(dir.file("ab.gz"), gzA + gzB)
        writeFile(dir.file("ab.zst"), Self.zstdFrame(a) + Self.zstdFrame(b) + Self.zstdFrame([]))
        // pbzip2 and Wikipedia's multistream dumps concatenate bzip2 streams; xz streams concatenate too.
        for (tool, ext) in [("bzip2", "bz2"), ("xz", "xz")] {
            let x = readFile(try Self.compress(tool, dir.file("a"), ext))
            let y = readFile(try Self.compress(tool, dir.file("b"), ext))
            writeFile(dir.file("ab." + ext), x + y + x)
        }
        for name in ["ab.bz2", "ab.xz"] {
            let opened = try openInput(dir.file(name))
            #expect(try Self.readAll(opened.source, chunk: 5000) == a + b + a, "\(name)")
        }
        for name in ["ab.gz", "ab.zst"] {
            let opened = try openInput(dir.file(name))
            #expect(try Self.readAll(opened.source, chunk: 5000) == a + b, "\(name)")
        }
    }

    @Test func emptyInputs() throws {
        let dir = TemporaryDirectory("source")
        writeFile(dir.file("empty"), [])
        writeFile(dir.file("empty.gz.src"), [])
        let gz = try Self.compress("gzip", dir.file("empty.gz.src"), "gz")
        writeFile(dir.file("empty.zst"), Self.zstdFrame([]))
        for path in [dir.file("empty"), gz, dir.file("empty.zst")] {
            let opened = try openInput(path)
            #expect(try Self.readAll(opened.source).isEmpty, "\(path)")
        }
    }

    @Test func streamsCutShortAreErrorsNamingTheFile() throws {
        let dir = TemporaryDirectory("source")
        let bytes = Self.content(200_000, seed: 4)
        writeFile(dir.file("in"), bytes)
        let gz = readFile(try Self.compress("gzip", dir.file("in"), "gz"))
        let zst = Self.zstdFrame(bytes)
        let bz2 = readFile(try Self.compress("bzip2", dir.file("in"), "bz2"))
        let xz = readFile(try Self.compress("xz", dir.file("in"), "xz"))
        for (name, full) in [("cut.gz", gz), ("cut.zst", zst), ("cut.bz2", bz2), ("cut.xz", xz)] {
            // (Five bytes of xz are not yet its six-byte magic: plain bytes, for the format reader to refuse.)
            for cut in [full.count - 1, full.count - 4, full.count / 2, 20, 5] where cut >= 6 || name != "cut.xz" {
                let path = dir.file(name)
                writeFile(path, Array(full.prefix(cut)))
                let error = thrownQuarryError { try Self.readAll(try openInput(path).source) }
                #expect(error?.code == .invalidInput, "\(name) cut to \(cut) bytes")
                #expect(error?.path == path)
                #expect(
                    error?.message.contains("cut short") == true || error?.message.contains("damaged") == true,
                    "\(name) cut to \(cut): \(error?.message ?? "no error")")
            }
        }
        // Cut exactly between two zstd frames: a whole frame is a complete stream.
        writeFile(dir.file("one.zst"), zst + Self.zstdFrame([1, 2, 3]).prefix(3))
        let error = thrownQuarryError { try Self.readAll(try openInput(dir.file("one.zst")).source) }
        #expect(error?.message.contains("cut short") == true, "\(error?.message ?? "no error")")
    }

    @Test func damagedCompressedData() throws {
        let dir = TemporaryDirectory("source")
        let bytes = Self.content(100_000, seed: 5)
        writeFile(dir.file("in"), bytes)
        var gz = readFile(try Self.compress("gzip", dir.file("in"), "gz"))
        gz[gz.count - 6] ^= 0xFF  // the CRC-32 of the member
        writeFile(dir.file("bad.gz"), gz)
        var zst = Self.zstdFrame(bytes)
        zst[zst.count - 2] ^= 0xFF  // the frame checksum
        writeFile(dir.file("bad.zst"), zst)
        var bz2 = readFile(try Self.compress("bzip2", dir.file("in"), "bz2"))
        bz2[bz2.count / 2] ^= 0xFF  // inside a block: its CRC fails
        writeFile(dir.file("bad.bz2"), bz2)
        var xz = readFile(try Self.compress("xz", dir.file("in"), "xz"))
        xz[xz.count / 2] ^= 0xFF
        writeFile(dir.file("bad.xz"), xz)
        for name in ["bad.gz", "bad.zst", "bad.bz2", "bad.xz"] {
            let error = thrownQuarryError { try Self.readAll(try openInput(dir.file(name)).source) }
            #expect(error?.code == .invalidInput, "\(name)")
            #expect(error?.path == dir.file(name))
            #expect(error?.message.contains("damaged") == true, "\(error?.message ?? "no error")")
        }
    }

    @Test func missingFilesAndDirectories() {
        let dir = TemporaryDirectory("source")
        let missing = thrownQuarryError { try openInput(dir.file("nope")) }
        #expect(missing?.code == .invalidInput)
        #expect(missing?.path == dir.file("nope"))
        let folder = thrownQuarryError { try openInput(dir.path) }
        #expect(folder?.code == .invalidInput)
        #expect(folder?.message.contains("is a directory") == true)
    }

    @Test func peekDoesNotConsume() throws {
        let dir = TemporaryDirectory("source")
        writeFile(dir.file("x"), "hello world")
        let file = try FileSource(path: dir.file("x"))
        #expect(try file.peek(4) == Array("hell".utf8))
        #expect(try file.peek(2) == Array("he".utf8))
        #expect(try Self.readAll(file, chunk: 3) == Array("hello world".utf8))
        let short = try FileSource(path: dir.file("x"))
        #expect(try short.peek(100) == Array("hello world".utf8))
        #expect(try Self.readAll(short) == Array("hello world".utf8))
    }
}
