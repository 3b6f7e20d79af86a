// The merger's two halves: a text field's terms merged in two ranges at once (the second on a thread of its own,
// appended after the first) make the same files, byte for byte, as a merge in one pass; a cancelled merge leaves
// no file behind, part files included.

import QuarryTestSupport
import Synchronization
import Testing

@testable import Quarry

@Suite struct SegmentMergerTests {
    /// Several segments of random documents (a 4 MB budget, two threads, no merging), the first with deletes.
    static func sources(_ dir: TemporaryDirectory, seed: UInt64) throws -> (IndexReader, [MergeSource]) {
        var rng = SeededRandom(seedFromEnvironmentOr: seed)
        var lines: [String] = []
        for k in 0..<4000 {
            let words = (0..<Int.random(in: 1...200, using: &rng)).map { _ in "w\(rng.skewed(below: 20000))" }
            let body = words.joined(separator: " ")
            lines.append(#"{"id":"s-\#(k)","title":"t\#(k % 97) w\#(k % 13)","body":"\#(body)"}"#)
        }
        writeFile(dir.file("in.jsonl"), lines.joined(separator: "\n") + "\n")
        try buildIndex(
            at: dir.file("index"), inputs: [dir.file("in.jsonl")],
            options: testIndexOptions(threads: 2) { $0.memoryBudget = 4 << 20 })
        let reader = try IndexReader(directory: dir.file("index"))
        var sources: [MergeSource] = []
        for (i, s) in reader.segments.enumerated() {
            var deletes: DeletedDocuments?
            if i == 0 {
                var d = DeletedDocuments(docCount: s.docCount)
                for doc in stride(from: 0, to: s.docCount, by: 7) { _ = d.insert(doc) }
                deletes = d
            }
            sources.append(MergeSource(reader: s, deletes: deletes))
        }
        return (reader, sources)
    }

    @Test func twoHalvesMakeTheFilesOfOnePass() throws {
        let dir = TemporaryDirectory("merger")
        let (reader, sources) = try Self.sources(dir, seed: 0x5E_6001)
        #expect(sources.count >= 3)
        let id = [UInt8](repeating: 7, count: 16)
        var results: [MergeResult] = []
        for parallel in [false, true] {
            let out = dir.file(parallel ? "two" : "one")
            makeDirectories(out)
            results.append(
                try SegmentMerger.merge(
                    sources, schema: reader.manifest.schema, directory: out, name: "seg-00000100", id: id,
                    compressor: ZstdCompressor(), parallel: parallel))
            let names = listDirectory(out).sorted()
            #expect(names == FileKind.segmentKinds.map { "seg-00000100." + $0.fileExtension }.sorted(), "\(names)")
        }
        #expect(results[0].info == results[1].info)
        for kind in FileKind.segmentKinds {
            let one = readFile(dir.file("one") + "/seg-00000100." + kind.fileExtension)
            let two = readFile(dir.file("two") + "/seg-00000100." + kind.fileExtension)
            #expect(!one.isEmpty && one == two, "\(kind)")
        }
        // The merged segment reads as the sources' live documents.
        let merged = try SegmentReader(directory: dir.file("two"), info: results[1].info)
        let live = sources.reduce(0) { $0 + $1.reader.docCount - ($1.deletes?.count ?? 0) }
        #expect(merged.docCount == live)
    }

    @Test func aCancelledMergeLeavesNoFiles() throws {
        let dir = TemporaryDirectory("merger")
        let (reader, sources) = try Self.sources(dir, seed: 0x5E_6002)
        let out = dir.file("out")
        makeDirectories(out)
        // How often a whole merge asks (both threads), then cancelled at points all through it.
        let calls = Atomic<Int>(0)
        let full = dir.file("full")
        makeDirectories(full)
        _ = try SegmentMerger.merge(
            sources, schema: reader.manifest.schema, directory: full, name: "seg-00000100",
            id: [UInt8](repeating: 7, count: 16), compressor: ZstdCompressor(),
            isCancelled: { calls.add(1, ordering: .relaxed).newValue < 0 })
        let total = calls.load(ordering: .relaxed)
        #expect(total > 2 * sources.count + 4, "\(total) checks")
        for after in Set([0, 1, total / 3, total / 2, total * 2 / 3, total - 2, total - 1]) {
            calls.store(0, ordering: .relaxed)
            let error = thrownQuarryError {
                _ = try SegmentMerger.merge(
                    sources, schema: reader.manifest.schema, directory: out, name: "seg-00000100",
                    id: [UInt8](repeating: 7, count: 16), compressor: ZstdCompressor(),
                    isCancelled: { calls.add(1, ordering: .relaxed).newValue > after })
            }
            #expect(error?.code == .interrupted, "after \(after) checks: \(String(describing: error))")
            #expect(listDirectory(out).isEmpty, "after \(after) checks: \(listDirectory(out))")
        }
    }
}
