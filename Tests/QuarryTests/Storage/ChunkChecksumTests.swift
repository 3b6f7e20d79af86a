import QuarryTestSupport
import Testing

@testable import Quarry

/// The length of a segment file's bytes before its chunk checksum table (the body a format reader sees, whose
/// trailer ends there).
func coveredLength(_ bytes: [UInt8]) -> Int {
    let footer = bytes.count - FileFormat.footerSize - ChunkVerifier.footerSize
    let n = (0..<4).reduce(0) { $0 | Int(bytes[footer + $1]) << (8 * $1) }
    return footer - 4 * n
}

@Suite struct ChunkChecksumTests {
    /// A segment file written through `FileWriter`, and its verifier.
    static func file(_ dir: TemporaryDirectory, size: Int, seed: UInt64) throws -> (path: String, bytes: [UInt8]) {
        var rng = SeededRandom(seed: seed)
        let path = dir.file("f.post")
        let writer = try FileWriter(path: path, kind: .postings, id: [UInt8](repeating: 7, count: 16), bufferSize: 1000)
        var left = size
        while left > 0 {
            let n = min(left, Int.random(in: 1...5000, using: &rng))
            try writer.write((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
            left -= n
        }
        try writer.finish()
        return (path, readFile(path))
    }

    @Test(arguments: [0, 1, 4095, 4096 - 32, 4096, 4097, 3 * 4096 + 17])
    func theTableCoversEveryByteBeforeIt(bodySize: Int) throws {
        let dir = TemporaryDirectory("chunks")
        let (path, bytes) = try Self.file(dir, size: bodySize, seed: UInt64(bodySize))
        let covered = coveredLength(bytes)
        #expect(covered == FileFormat.headerSize + bodySize)
        let file = try MappedFile(path: path)
        let (body, chunks) = try FileFormat.open(file, kind: .postings, id: [UInt8](repeating: 7, count: 16), minimumTrailer: 0)
        #expect(body.count == covered)
        #expect(chunks.checkAll())
        #expect(chunks.check(body, 0, body.count))
        // Windows outside the covered bytes are damage (an offset pointed there).
        #expect(!chunks.check(file.bytes, covered, 1))
        #expect(!chunks.check(file.bytes.base - 1, 1))
    }

    @Test func theWholeFileChecksumReadInStepsAgreesWithOneRead() throws {
        // Merges and `check` verify whole files 4 MiB at a time, dropping pages as they go: the same verdict as one
        // read, on files of under one step, exactly one, and several, intact and with a byte changed anywhere.
        let dir = TemporaryDirectory("chunks")
        for size in [0, 100, (4 << 20) - 32 - 4, 9 << 20] {
            let (path, pristine) = try Self.file(dir, size: size, seed: UInt64(size) + 5)
            var rng = SeededRandom(seed: UInt64(size))
            for changed in [nil, 0, FileFormat.headerSize, pristine.count / 2, 4 << 20, pristine.count - 5, pristine.count - 1] {
                guard changed.map({ $0 < pristine.count }) ?? true else { continue }
                var bytes = pristine
                if let changed { bytes[changed] ^= UInt8(1 << (rng.next() % 8)) }
                writeFile(path, bytes)
                let file = try MappedFile(path: path)
                let whole = thrownQuarryError { try FileFormat.verifyChecksum(file.bytes, path: path) }
                let stepped = thrownQuarryError { try file.verifyChecksumReleasingPages() }
                #expect((whole == nil) == (changed == nil), "size \(size), byte \(changed ?? -1)")
                #expect(stepped?.code == whole?.code && stepped?.message == whole?.message, "size \(size), byte \(changed ?? -1)")
                // The pages dropped come back on the next read.
                #expect(FileFormat.headerSize > 0 && file.bytes.loadU8(0) == bytes[0])
            }
        }
    }

    @Test func aFlippedByteFailsExactlyTheWindowsOfItsChunk() throws {
        let dir = TemporaryDirectory("chunks")
        let (path, pristine) = try Self.file(dir, size: 5 * 4096 + 100, seed: 11)
        let covered = coveredLength(pristine)
        var rng = SeededRandom(seedFromEnvironmentOr: 0xC4C_0001)
        for _ in 0..<40 {
            let offset = Int.random(in: 0..<covered, using: &rng)
            var bytes = pristine
            bytes[offset] ^= UInt8.random(in: 1...255, using: &rng)
            writeFile(path, bytes)
            let file = try MappedFile(path: path)
            let (body, chunks) = try FileFormat.open(
                file, kind: .postings, id: [UInt8](repeating: 7, count: 16), minimumTrailer: 0)
            let damaged = offset >> 12
            for chunk in 0...(covered - 1) >> 12 {
                let start = chunk << 12
                // A window inside the chunk, twice (the second read uses the bitmap when the first passed).
                for _ in 0..<2 {
                    #expect(chunks.check(body, start + 1, 10) == (chunk != damaged), "offset \(offset), chunk \(chunk)")
                }
            }
            // A window spanning the damaged chunk and its neighbours fails; the whole file too.
            #expect(!chunks.check(body, max(0, (damaged - 1) << 12), 3 * 4096))
            #expect(!chunks.checkAll())
        }
        // Damage to the table itself is found when the file opens.
        var bytes = pristine
        bytes[covered + 2] ^= 1
        writeFile(path, bytes)
        let file = try MappedFile(path: path)
        #expect(
            thrownQuarryError {
                try FileFormat.open(file, kind: .postings, id: [UInt8](repeating: 7, count: 16), minimumTrailer: 0)
            }?.code == .corruptIndex)
    }

    @Test func aFileTruncatedWhileOpenFailsTheQueryInsteadOfKillingTheProcess() throws {
        let dir = TemporaryDirectory("truncated")
        let index = dir.file("index")
        try buildIndex(at: index, corpus: RandomCorpus(count: 3000, seed: 0x7C_0001), scratch: dir)
        let reader = try IndexReader(directory: index)
        let searcher = Searcher(reader: reader)
        var parser = QueryParser(schema: reader.schema)
        let query = try parser.parse("the")
        let before = try searcher.count(query)
        #expect(before > 0)
        // Another process truncates the segment's postings and store under the open maps.
        let segment = reader.segments[0].info
        truncateFile(segment.path(.postings, in: index), to: FileFormat.headerSize)
        truncateFile(segment.path(.store, in: index), to: FileFormat.headerSize)
        let searchError = thrownQuarryError { try searcher.count(query) }
        #expect(searchError?.code == .corruptIndex)
        #expect(searchError?.message.contains("truncated while it was open") == true, "\(String(describing: searchError))")
        let getError = thrownQuarryError { try reader.storedDocument(segment: 0, doc: reader.segments[0].docCount - 1) }
        #expect(getError?.code == .corruptIndex)
        #expect(reader.segments[0].mappedFiles.contains { $0.wasTruncated })
    }
}

extension ChunkChecksumTests {
    @Test func crc32cKnownValues() {
        // RFC 3720 (iSCSI) check value, and the empty input.
        #expect(CRC32C.of(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.of([UInt8]()) == 0)
        #expect(CRC32C.of([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        // Incremental updates equal one pass, at every split (the 8-byte loop and the byte tail).
        let bytes = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = CRC32C.of(bytes)
        for split in 0...bytes.count {
            var c = CRC32C()
            bytes.withUnsafeBytes { raw in
                c.update(UnsafeRawBufferPointer(rebasing: raw[0..<split]))
                c.update(UnsafeRawBufferPointer(rebasing: raw[split...]))
            }
            #expect(c.value == whole, "split at \(split)")
        }
    }
}
