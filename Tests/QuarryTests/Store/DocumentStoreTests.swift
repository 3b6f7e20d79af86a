// The document store (zstd-compressed blocks of ~16 KiB) and StoredDocument's parsing of a stored JSON object.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct DocumentStoreTests {
    /// A document of `size` bytes of compressible text with some noise.
    static func document(size: Int, _ rng: inout SeededRandom) -> [UInt8] {
        let words = ["the", "quick", "brown", "fox", "é", "日本", "\n", "{", "}", "\""].map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        while out.count < size {
            if rng.chance(0.05) {
                out.append(UInt8.random(in: 0...255, using: &rng))
            } else {
                out += words[Int.random(in: 0..<words.count, using: &rng)]
                out.append(0x20)
            }
        }
        return Array(out.prefix(size))
    }

    static func randomSizes(_ count: Int, _ rng: inout SeededRandom) -> [Int] {
        var sizes = [0, 1, 0, StoreWriter.blockTarget - 2, StoreWriter.blockTarget, 40_000, 0, 70_000]
        while sizes.count < count {
            sizes.append(rng.chance(0.02) ? Int.random(in: 16_384...50_000, using: &rng) : Int(rng.skewed(below: 3000)))
        }
        sizes.shuffle(using: &rng)
        return sizes
    }

    /// Writes `documents` to a store file and opens it.
    final class Store {
        let dir = TemporaryDirectory("store")
        let id: [UInt8]
        let path: String
        let size: Int

        init(_ documents: [[UInt8]], seed: UInt64) throws {
            var rng = SeededRandom(seed: seed)
            id = rng.bytes(16)
            path = dir.file("s.store")
            let writer = try StoreWriter(path: path, segmentID: id, compressor: ZstdCompressor())
            for d in documents { try d.withUnsafeBytes { try writer.add($0) } }
            #expect(writer.docCount == UInt32(documents.count))
            size = try writer.finish()
        }

        /// A reader that checks its block index when it opens (as `check` does).
        func reader(path: String? = nil, expectedDocs: Int) throws -> (StoreReader, MappedFile) {
            let file = try MappedFile(path: path ?? self.path)
            return (try StoreReader(file: file, segmentID: id, expectedDocs: expectedDocs, verify: true), file)
        }

        /// (first document, offset) of each block, from the block index.
        func blocks() -> [(firstDoc: Int, offset: Int)] {
            let bytes = readFile(path)
            let trailer = coveredLength(bytes) - StoreReader.trailerSize
            func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
            let indexOffset = u32(trailer)  // (the high half of the u64 is 0 here)
            let count = u32(trailer + 8)
            return (0..<count).map { b in (u32(indexOffset + b * 16), u32(indexOffset + b * 16 + 8)) }
        }
    }

    @Test func everyDocumentReadsBackInAnyOrder() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0001)
        let documents = Self.randomSizes(600, &rng).map { Self.document(size: $0, &rng) }
        let store = try Store(documents, seed: rng.next())
        #expect(store.size == fileSize(store.path))
        let (reader, file) = try store.reader(expectedDocs: documents.count)
        defer { withExtendedLifetime(file) {} }
        do {
            #expect(reader.docCount == documents.count)
            #expect(reader.blockCount > 5, "documents span many blocks")
            var order = Array(documents.indices)
            order.shuffle(using: &rng)
            for d in order + order.prefix(50) {
                let got = try reader.document(d)
                #expect(got == documents[d], "document \(d) (\(documents[d].count) bytes), \(rng.seedDescription)")
            }
            // In order too (the block cache is reused).
            for d in documents.indices { #expect(try reader.document(d) == documents[d]) }
            try reader.verifyAllBlocks()
            let firstByte = try reader.withDocument(documents.count - 1) { $0.count }
            #expect(firstByte == documents.last!.count)
        }
    }

    @Test func blocksAreAboutSixteenKiB() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0002)
        let documents = (0..<400).map { _ in Self.document(size: 1000, &rng) }
        let store = try Store(documents, seed: 1)
        let blocks = store.blocks()
        // Each block closes at the first document that takes it to 16 KiB: 17 documents of ~1 KB.
        #expect(blocks.count == (400 + 16) / 17)
        for (b, block) in blocks.enumerated() { #expect(block.firstDoc == b * 17) }
    }

    @Test func emptyStore() throws {
        let store = try Store([], seed: 2)
        let (reader, file) = try store.reader(expectedDocs: 0)
        defer { withExtendedLifetime(file) {} }
        do {
            #expect(reader.blockCount == 0)
            try reader.verifyAllBlocks()
            #expect(throws: QuarryError.self) { try reader.document(0) }
        }
    }

    @Test func outOfRangeDocumentsAndWrongCounts() throws {
        let store = try Store([[1], [2, 3]], seed: 3)
        let (reader, file) = try store.reader(expectedDocs: 2)
        defer { withExtendedLifetime(file) {} }
        do {
            for d in [-1, 2, Int.max] {
                #expect(thrownQuarryError { try reader.document(d) }?.code == .invalidArgument, "document \(d)")
            }
        }
        #expect(thrownQuarryError { try store.reader(expectedDocs: 3) }?.code == .corruptIndex)
    }

    @Test func aDamagedBlockIsReportedNotReturned() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0003)
        let documents = (0..<200).map { _ in Self.document(size: Int.random(in: 100...2000, using: &rng), &rng) }
        let store = try Store(documents, seed: 4)
        let blocks = store.blocks()
        #expect(blocks.count >= 4)
        let pristine = readFile(store.path)
        let indexOffset =
            blocks.isEmpty
            ? 0
            : {
                let trailer = coveredLength(pristine) - StoreReader.trailerSize
                return (0..<4).reduce(0) { $0 | Int(pristine[trailer + $1]) << (8 * $1) }
            }()
        for b in [0, 1, blocks.count - 1] {
            let start = blocks[b].offset
            let end = b + 1 < blocks.count ? blocks[b + 1].offset : indexOffset
            let lastDoc = (b + 1 < blocks.count ? blocks[b + 1].firstDoc : documents.count) - 1
            // Flip one byte: early in the frame, in the middle, and in its checksum at the end.
            for offset in [start + 6, (start + end) / 2, end - 2] {
                var bytes = pristine
                bytes[offset] ^= 0x55
                let path = store.dir.file("damaged.store")
                writeFile(path, bytes)
                // Damage in the chunk that holds the block index is found when the store opens.
                let opened = Result { try store.reader(path: path, expectedDocs: documents.count) }
                guard case .success(let (reader, file)) = opened else {
                    #expect(offset >> 12 >= indexOffset >> 12, "block \(b) byte \(offset): \(opened)")
                    #expect(thrownQuarryError { _ = try opened.get() }?.code == .corruptIndex)
                    continue
                }
                defer { withExtendedLifetime(file) {} }
                do {
                    for d in [blocks[b].firstDoc, lastDoc] {
                        let error = thrownQuarryError { try reader.document(d) }
                        #expect(error?.code == .corruptIndex, "block \(b) byte \(offset): document \(d)")
                        #expect(error?.path == path)
                        #expect(error?.message.contains("block \(b)") == true)
                    }
                    // The other blocks still read, but for one that shares the damaged byte's 4 KiB checksum
                    // chunk.
                    let damagedChunk = offset >> ChunkVerifier.chunkShift
                    let others = blocks.indices.filter { o in
                        let oEnd = o + 1 < blocks.count ? blocks[o + 1].offset : indexOffset
                        return o != b && (blocks[o].offset >> 12 > damagedChunk || (oEnd - 1) >> 12 < damagedChunk)
                    }
                    #expect(!others.isEmpty)
                    for o in others {
                        let other = blocks[o].firstDoc
                        #expect(try reader.document(other) == documents[other])
                    }
                    #expect(
                        thrownQuarryError { try reader.verifyAllBlocks() }?.code == .corruptIndex,
                        "verifyAllBlocks, damage in block \(b) at byte \(offset)")
                }
            }
        }
        // A damaged block index fails its checksum when the store opens.
        var bytes = pristine
        bytes[indexOffset + 5] ^= 1
        writeFile(store.dir.file("index.store"), bytes)
        #expect(
            thrownQuarryError { try store.reader(path: store.dir.file("index.store"), expectedDocs: documents.count) }?
                .code == .corruptIndex)
    }

    @Test(arguments: [true, false])
    func aBlockIndexWithItsChecksumRecomputedNeverTraps(verifyAtOpen: Bool) throws {
        // Damage that the index checksum cannot catch (the CRC recomputed, as a crafted file would have it): every
        // byte of the block index set to 0xFF or 0x80 in turn. Opening fails or reading fails, or the documents read
        // back right; nothing traps.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0005)
        let documents = (0..<60).map { _ in Self.document(size: Int.random(in: 100...2000, using: &rng), &rng) }
        let store = try Store(documents, seed: 6)
        let pristine = readFile(store.path)
        let trailer = coveredLength(pristine) - StoreReader.trailerSize
        let indexOffset = (0..<4).reduce(0) { $0 | Int(pristine[trailer + $1]) << (8 * $1) }
        let blockCount = store.blocks().count
        let path = store.dir.file("crafted.store")
        for offset in indexOffset..<(indexOffset + 16 * blockCount) {
            for value: UInt8 in [0xFF, 0x80] {
                var bytes = pristine
                bytes[offset] = value
                let crc = CRC32.of(Array(bytes[indexOffset..<(indexOffset + 16 * blockCount)]))
                for k in 0..<4 { bytes[trailer + 16 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
                writeFile(path, bytes)
                // Verified at open (as `check` does), or not (as a search does, checking each block it enters).
                guard let file = try? MappedFile(path: path),
                    let reader = try? StoreReader(
                        file: file, segmentID: store.id, expectedDocs: documents.count, verify: verifyAtOpen)
                else {
                    continue
                }
                defer { withExtendedLifetime(file) {} }
                for d in documents.indices {
                    if let error = thrownQuarryError({ try reader.document(d) }) {
                        #expect(error.code == .corruptIndex)
                    }
                }
                _ = thrownQuarryError { try reader.verifyAllBlocks() }
            }
        }
    }

    // MARK: Dictionaries

    /// JSON objects like a corpus's (words of a small vocabulary, repeated keys), about `bytes` in all.
    static func corpusDocuments(bytes: Int, _ rng: inout SeededRandom) -> [[UInt8]] {
        let words = [
            "cobol", "compiler", "the", "of", "program", "record", "file", "data", "division", "procedure",
            "mainframe", "wrote", "in", "article", "and", "is", "working-storage", "section", "pic", "x(10)",
        ]
        var documents: [[UInt8]] = []
        var total = 0
        while total < bytes {
            let n = documents.count
            var body = ""
            for _ in 0..<Int.random(in: 20...400, using: &rng) {
                body += words[Int.random(in: 0..<words.count, using: &rng)] + (rng.chance(0.1) ? "\\n" : " ")
            }
            let json =
                #"{"id": "<\#(n).\#(rng.next() % 100_000)@news.example.com>", "date": "1995-0\#(n % 9 + 1)-1\#(n % 10)T10:00:00Z", "title": "Re: \#(words[n % words.count])", "body": "\#(body)"}"#
            documents.append(Array(json.utf8))
            total += documents[n].count
        }
        return documents
    }

    /// The blocks' frames: (block, frame size).
    static func frameSizes(_ reader: StoreReader) throws -> [Int] {
        try (0..<reader.blockCount).map { try reader.rawBlock($0).frame.count }
    }

    @Test func aStoreOverOneMiBIsCompressedWithADictionaryTrainedOnItsFirstDocuments() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0010)
        let documents = Self.corpusDocuments(bytes: 3 << 20, &rng)
        let store = try Store(documents, seed: rng.next())
        let (reader, file) = try store.reader(expectedDocs: documents.count)
        defer { withExtendedLifetime(file) {} }
        do {
            #expect(reader.dictionaryCount == 1)
            var withoutDictionary = 0
            let compressor = ZstdCompressor()
            for b in 0..<reader.blockCount {
                let block = try reader.rawBlock(b)
                #expect(block.dictionary == 0, "block \(b)")
                // The same block compressed without a dictionary.
                var raw = ByteBuffer()
                for d in block.firstDoc..<(block.firstDoc + block.documents) {
                    raw.vint(documents[d].count)
                    raw.append(contentsOf: documents[d])
                }
                #expect(raw.count == block.uncompressedSize)
                var frame: [UInt8] = []
                raw.bytes.withUnsafeBytes { compressor.compress($0, appendingTo: &frame) }
                withoutDictionary += frame.count
            }
            let withDictionary = try Self.frameSizes(reader).reduce(0, +)
            #expect(
                withDictionary * 100 < withoutDictionary * 95,
                "blocks take \(withDictionary) bytes with the dictionary, \(withoutDictionary) without")
            var order = Array(documents.indices)
            order.shuffle(using: &rng)
            for d in order.prefix(400) { #expect(try reader.document(d) == documents[d], "document \(d)") }
            for d in documents.indices { #expect(try reader.document(d) == documents[d]) }
            try reader.verifyAllBlocks()
        }
        // Over the 4 MiB held back: one dictionary, trained when they arrived (before the first block), of at most
        // 256 KiB, used by every block.
        let large = Self.corpusDocuments(bytes: 5 << 20, &rng)
        let largeStore = try Store(large, seed: rng.next())
        let (largeReader, largeFile) = try largeStore.reader(expectedDocs: large.count)
        defer { withExtendedLifetime(largeFile) {} }
        #expect(largeReader.dictionaryCount == 1)
        let dictionary = try largeReader.dictionary(0)
        #expect(dictionary.count > 64 * 1024 && dictionary.count <= 256 * 1024, "\(dictionary.count) bytes")
        for b in 0..<largeReader.blockCount { #expect(try largeReader.rawBlock(b).dictionary == 0, "block \(b)") }
        for d in stride(from: 0, to: large.count, by: 7) { #expect(try largeReader.document(d) == large[d]) }
        // Under 1 MiB: no dictionary (it would cost more than it saves).
        let small = Self.corpusDocuments(bytes: 600 << 10, &rng)
        let smallStore = try Store(small, seed: rng.next())
        let (smallReader, smallFile) = try smallStore.reader(expectedDocs: small.count)
        defer { withExtendedLifetime(smallFile) {} }
        #expect(smallReader.dictionaryCount == 0)
        for d in small.indices { #expect(try smallReader.document(d) == small[d]) }
    }

    @Test func blocksCopiedByAMergeKeepTheirDictionaries() throws {
        // As SegmentMerger does: blocks of two stores copied with their dictionaries, but for one block of the
        // second whose documents are added one by one (one of them dropped, as a deleted document is).
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0011)
        let a = Self.corpusDocuments(bytes: 2 << 20, &rng)
        let b = Self.corpusDocuments(bytes: 3 << 20, &rng)
        let storeA = try Store(a, seed: rng.next())
        let storeB = try Store(b, seed: rng.next())
        let (readerA, fileA) = try storeA.reader(expectedDocs: a.count)
        let (readerB, fileB) = try storeB.reader(expectedDocs: b.count)
        defer { withExtendedLifetime((fileA, fileB)) {} }
        let dir = TemporaryDirectory("merged-store")
        let id = rng.bytes(16)
        let path = dir.file("m.store")
        let writer = try StoreWriter(path: path, segmentID: id, compressor: ZstdCompressor())
        var expected: [[UInt8]] = []
        for (reader, documents) in [(readerA, a), (readerB, b)] {
            var copied: [Int: Int] = [:]
            for k in 0..<reader.blockCount {
                let block = try reader.rawBlock(k)
                if reader === readerB && k == 1 {
                    for d in block.firstDoc..<(block.firstDoc + block.documents) where d != block.firstDoc + 1 {
                        try reader.withDocument(d) { raw throws(QuarryError) in try writer.add(raw) }
                        expected.append(documents[d])
                    }
                    continue
                }
                let d = try #require(block.dictionary)
                let number: Int
                if let known = copied[d] {
                    number = known
                } else {
                    number = try writer.importDictionary(try reader.dictionary(d))
                    copied[d] = number
                }
                try writer.appendCompressedBlock(
                    block.frame, documents: block.documents, uncompressedSize: block.uncompressedSize, dictionary: number)
                expected += documents[block.firstDoc..<(block.firstDoc + block.documents)]
            }
        }
        _ = try writer.finish()
        let file = try MappedFile(path: path)
        let merged = try StoreReader(file: file, segmentID: id, expectedDocs: expected.count, verify: true)
        defer { withExtendedLifetime(file) {} }
        #expect(merged.dictionaryCount == 2)
        for d in expected.indices { #expect(try merged.document(d) == expected[d], "document \(d)") }
        try merged.verifyAllBlocks()
    }

    /// The dictionary table of a store with dictionaries: (its offset, [(offset, length)]).
    static func dictionaryTable(_ bytes: [UInt8]) -> (tableOffset: Int, entries: [(offset: Int, length: Int)]) {
        let trailer = coveredLength(bytes) - StoreReader.trailerSize
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
        let indexOffset = u32(trailer)
        let blocks = u32(trailer + 8)
        let count = u32(trailer + 20)
        let table = indexOffset + blocks * 16
        return (table, (0..<count).map { (u32(table + $0 * 16), u32(table + $0 * 16 + 8)) })
    }

    @Test func aDamagedDictionaryIsReportedNotUsed() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0012)
        let documents = Self.corpusDocuments(bytes: (3 << 20) / 2, &rng)
        let store = try Store(documents, seed: rng.next())
        let pristine = readFile(store.path)
        let (_, entries) = Self.dictionaryTable(pristine)
        let dictionary = try #require(entries.first)
        #expect(entries.count == 1 && dictionary.length > 1000)
        for offset in [dictionary.offset, dictionary.offset + dictionary.length / 2, dictionary.offset + dictionary.length - 1] {
            var bytes = pristine
            bytes[offset] ^= 0x21
            let path = store.dir.file("damaged.store")
            writeFile(path, bytes)
            let file = try MappedFile(path: path)
            defer { withExtendedLifetime(file) {} }
            let reader = try StoreReader(file: file, segmentID: store.id, expectedDocs: documents.count)
            for d in [0, documents.count / 2, documents.count - 1] {
                let error = thrownQuarryError { try reader.document(d) }
                #expect(error?.code == .corruptIndex, "byte \(offset), document \(d)")
            }
            #expect(thrownQuarryError { try reader.verifyAllBlocks() }?.code == .corruptIndex)
        }
    }

    @Test func aDictionaryTableWithItsChecksumRecomputedNeverTraps() throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0013)
        let documents = Self.corpusDocuments(bytes: (5 << 20) / 4, &rng)
        let store = try Store(documents, seed: rng.next())
        let pristine = readFile(store.path)
        let trailer = coveredLength(pristine) - StoreReader.trailerSize
        let indexOffset = (0..<4).reduce(0) { $0 | Int(pristine[trailer + $1]) << (8 * $1) }
        let (table, entries) = Self.dictionaryTable(pristine)
        #expect(entries.count == 1)
        let path = store.dir.file("crafted.store")
        // Every byte of the dictionary table and of the last block's index entry (its dictionary number).
        for offset in Array(table..<(table + 16)) + Array((table - 8)..<table) {
            for value: UInt8 in [0xFF, 0x80, 0x00, 0x02] {
                var bytes = pristine
                bytes[offset] = value
                let crc = CRC32.of(Array(bytes[indexOffset..<(table + 16)]))
                for k in 0..<4 { bytes[trailer + 16 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
                writeFile(path, bytes)
                for verify in [true, false] {
                    guard let file = try? MappedFile(path: path),
                        let reader = try? StoreReader(
                            file: file, segmentID: store.id, expectedDocs: documents.count, verify: verify)
                    else { continue }
                    defer { withExtendedLifetime(file) {} }
                    for d in [0, documents.count - 1] {
                        switch Result(catching: { try reader.document(d) }) {
                        case .success(let got): #expect(got == documents[d], "byte \(offset) = \(value)")
                        case .failure(let error): #expect((error as? QuarryError)?.code == .corruptIndex)
                        }
                    }
                }
            }
        }
    }

    @Test func versionTwoStoresAreStillRead() throws {
        // A version 2 store, written as version 2 wrote it: no dictionaries, a 24-byte trailer.
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5702_0014)
        let documents = Self.corpusDocuments(bytes: 1 << 20, &rng) + [[], [0x7B, 0x7D]]
        let dir = TemporaryDirectory("store-v2")
        let id = rng.bytes(16)
        let path = dir.file("v2.store")
        let file = try FileWriter(path: path, kind: .store, id: id, version: 2)
        let compressor = ZstdCompressor()
        var index = ByteBuffer()
        var block = ByteBuffer()
        var first = 0
        var blocks = 0
        func flush(next: Int) throws {
            guard block.count > 0 else { return }
            var frame: [UInt8] = []
            block.bytes.withUnsafeBytes { compressor.compress($0, appendingTo: &frame) }
            index.u32(UInt32(first))
            index.u32(UInt32(block.count))
            index.u64(UInt64(file.position))
            try file.write(frame)
            blocks += 1
            first = next
            block.removeAll()
        }
        for (d, document) in documents.enumerated() {
            block.vint(document.count)
            block.append(contentsOf: document)
            if block.count >= 16 * 1024 { try flush(next: d + 1) }
        }
        try flush(next: documents.count)
        let indexOffset = file.position
        try file.write(index)
        var trailer = ByteBuffer()
        trailer.u64(UInt64(indexOffset))
        trailer.u32(UInt32(blocks))
        trailer.u32(UInt32(documents.count))
        trailer.u32(CRC32.of(index.bytes))
        trailer.u32(0)
        try file.write(trailer)
        _ = try file.finish()
        let mapped = try MappedFile(path: path)
        defer { withExtendedLifetime(mapped) {} }
        let reader = try StoreReader(file: mapped, segmentID: id, expectedDocs: documents.count, verify: true)
        #expect(reader.dictionaryCount == 0 && reader.blockCount == blocks)
        for d in documents.indices { #expect(try reader.document(d) == documents[d], "document \(d)") }
        try reader.verifyAllBlocks()
        // A version this build does not know is refused, with the advice to rebuild.
        var bytes = readFile(path)
        bytes[8] = 9
        writeFile(dir.file("v9.store"), bytes)
        let error = thrownQuarryError { try StoreReader(file: try MappedFile(path: dir.file("v9.store")), segmentID: id, expectedDocs: documents.count) }
        #expect(error?.code == .incompatibleFormat)
    }

    // MARK: StoredDocument

    @Test func storedDocumentMembers() {
        let json =
            #" { "id" : "a\"1", "n": -1.5e3, "t":true, "z": null, "arr": ["x", 1, "y\u00e9", null, "\ud83d\ude00"], "o": {"k": [1, {"m": "}"}]}, "e": "" } "#
        let doc = StoredDocument(Array(json.utf8))
        #expect(doc.members.map(\.name) == ["id", "n", "t", "z", "arr", "o", "e"])
        #expect(doc.text("id") == "a\"1")
        #expect(doc.rawValue("id") == Array(#""a\"1""#.utf8))
        #expect(doc.text("n") == "-1.5e3")
        #expect(doc.text("t") == "true")
        #expect(doc.text("z") == nil)
        #expect(doc.rawValue("z") == Array("null".utf8))
        #expect(doc.text("arr") == "x\nyé\n😀")
        #expect(doc.rawValue("o") == Array(#"{"k": [1, {"m": "}"}]}"#.utf8))
        #expect(doc.text("e") == "")
        #expect(doc.text("missing") == nil)
        #expect(doc.rawValue("missing") == nil)
    }

    @Test(arguments: ["", "[]", "{", "{\"a\"", "{\"a\":}", "not json", "{\"a\":1 \"b\":2}"])
    func malformedDocumentsKeepWhatParsed(_ json: String) {
        // A damaged store must not trap: members parsed before the damage are kept, the rest is dropped.
        let doc = StoredDocument(Array(json.utf8))
        #expect(doc.json == Array(json.utf8))
        #expect(doc.members.count <= 1)
        if json == "{\"a\":1 \"b\":2}" { #expect(doc.text("a") == "1") }
    }

    @Test func storedDocumentOfTheCorpusMatchesItsModel() {
        let corpus = RandomCorpus(count: 200, seed: 0x5702_0004)
        for d in corpus.documents {
            let doc = StoredDocument(Array(d.line.utf8))
            #expect(doc.text("id") == d.id)
            #expect(doc.text("title") == d.title)
            #expect(doc.text("body") == d.body.joined(separator: "\n"))
            #expect(doc.rawValue("date").map { String(decoding: $0, as: UTF8.self) } == d.dateText)
        }
    }
}
