// `quarry index` over an existing index (replace, skip, error), `quarry delete` and `quarry merge`, run in-process
// through the command line.

import Quarry
import QuarryTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Lifecycle commands")
struct LifecycleCommandTests {
    typealias Fixture = CLITests.Fixture

    static func quarry(_ arguments: [String]) -> CLITests.Run { CLITests.quarry(arguments) }

    @Test func reindexingTheSameDumpReplacesAndConverges() throws {
        let f = try Fixture()
        let search = Self.quarry(["search", "-i", f.index, "--ids", "-l", "10", "the"])
        let run = Self.quarry(["index", "-i", f.index, f.input])
        #expect(run.status == 0, "\(run.err)")
        #expect(run.err.contains("indexed 50 documents"), "\(run.err)")
        #expect(run.err.contains("50 replaced"), "\(run.err)")
        #expect(run.err.contains("index: 50 documents, 1 segment"), "\(run.err)")
        #expect(Self.quarry(["search", "-i", f.index, "--count", "the"]).out == String(f.corpus.documents.filter {
            NaiveAnalyzer.field($0.body).terms.contains { $0.term == Array("the".utf8) }
                || NaiveAnalyzer.field($0.title.map { [$0] } ?? []).terms.contains { $0.term == Array("the".utf8) }
        }.count) + "\n")
        #expect(Self.quarry(["search", "-i", f.index, "--ids", "-l", "10", "the"]).out == search.out)
        #expect(Self.quarry(["check", "-q", "-i", f.index]).status == 0)
    }

    @Test func onDuplicateErrorNamesTheLine() throws {
        let f = try Fixture()
        let extra = f.dir.file("extra.jsonl")
        writeFile(extra, #"{"id":"brand-new","body":"x"}"# + "\n" + f.corpus.documents[3].line + "\n")
        let run = Self.quarry(["index", "-i", f.index, "--on-duplicate", "error", extra])
        #expect(run.status == 2)
        #expect(run.err.contains("duplicate id '\(f.corpus.documents[3].id)' at \(extra):2"), "\(run.err)")
        #expect(Self.quarry(["get", "-i", f.index, "brand-new"]).status == 1, "nothing was kept")
        let bad = Self.quarry(["index", "-i", f.index, "--on-duplicate", "maybe", extra])
        #expect(bad.status == 2)
        #expect(bad.err.contains("--on-duplicate must be replace, skip or error"), "\(bad.err)")
    }

    @Test func deleteByIdByListAndByQuery() throws {
        let f = try Fixture()
        let ids = f.corpus.documents.map(\.id)
        // By id: one found, one not.
        var run = Self.quarry(["delete", "-i", f.index, ids[0], "no-such-id"])
        #expect(run.status == 0)
        #expect(run.err.contains("deleted 1 document; index: 49 documents"), "\(run.err)")
        #expect(run.err.contains("not found: 'no-such-id'"), "\(run.err)")
        #expect(Self.quarry(["get", "-i", f.index, ids[0]]).status == 1)
        // Again: nothing to delete, exit 1.
        run = Self.quarry(["delete", "-i", f.index, ids[0]])
        #expect(run.status == 1)
        // From a file of ids.
        let list = f.dir.file("ids.txt")
        writeFile(list, ids[1...4].joined(separator: "\n") + "\n")
        run = Self.quarry(["delete", "-i", f.index, "--ids-from", list])
        #expect(run.status == 0)
        #expect(run.err.contains("deleted 4 documents; index: 45 documents"), "\(run.err)")
        // By query: --dry-run lists the ids and changes nothing.
        let count = Self.quarry(["search", "-i", f.index, "--count", "fox"]).out
        let matches = Int(count.dropLast()) ?? -1
        #expect(matches > 0)
        let dry = Self.quarry(["delete", "-i", f.index, "--query", "fox", "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.out.split(separator: "\n").count == matches)
        #expect(Self.quarry(["search", "-i", f.index, "--count", "fox"]).out == count)
        run = Self.quarry(["delete", "-i", f.index, "--query", "fox"])
        #expect(run.status == 0)
        #expect(run.err.contains("deleted \(matches) document"), "\(run.err)")
        #expect(Self.quarry(["search", "-i", f.index, "--count", "fox"]).status == 1)
        let stats = Self.quarry(["stats", "-i", f.index]).out
        #expect(stats.contains("documents  \(45 - matches) (and \(5 + matches) deleted"), "\(stats)")
        #expect(Self.quarry(["check", "-q", "-i", f.index]).status == 0)
        // Usage errors.
        #expect(Self.quarry(["delete", "-i", f.index]).status == 2)
        #expect(Self.quarry(["delete", "-i", f.index, "--from", "2020", ids[9]]).status == 2)
        let syntax = Self.quarry(["delete", "-i", f.index, "--query", "title:(fox"])
        #expect(syntax.status == 2)
        #expect(syntax.err.contains("column"), "\(syntax.err)")
    }

    @Test func mergeDropsDeletedDocumentsAndKeepsResults() throws {
        let f = try Fixture()
        // More segments: three more runs of new documents, no merging.
        for k in 0..<3 {
            let path = f.dir.file("more\(k).jsonl")
            writeFile(path, (0..<20).map { #"{"id":"more-\#(k)-\#($0)","body":"fox number \#($0)"}"# }.joined(separator: "\n") + "\n")
            #expect(Self.quarry(["index", "-q", "-i", f.index, "--merge-policy", "none", path]).status == 0)
        }
        #expect(Self.quarry(["delete", "-q", "-i", f.index, "more-0-1", "more-2-7"]).status == 0)
        let before = Self.quarry(["search", "-i", f.index, "--json", "-l", "20", "fox"]).out
        #expect(try IndexDirectory.readManifest(f.index).segments.count == 4)
        let run = Self.quarry(["merge", "-i", f.index, "--max-segments", "1"])
        #expect(run.status == 0)
        #expect(run.err.contains("4 → 1 segments"), "\(run.err)")
        #expect(run.err.contains("2 deleted documents dropped"), "\(run.err)")
        let m = try IndexDirectory.readManifest(f.index)
        #expect(m.segments.count == 1)
        #expect(m.segments[0].deletedCount == 0)
        #expect(m.liveDocumentCount == 108)
        // Scores change (the deleted documents no longer count in the statistics); the hit set does not.
        let after = Self.quarry(["search", "-i", f.index, "--ids", "-l", "200", "fox"]).out
        let beforeIDs = before.split(separator: "\n").compactMap { CLITests.jsonObject(String($0))?.text("id") }
        #expect(Set(after.split(separator: "\n").map(String.init)).isSuperset(of: beforeIDs))
        #expect(Self.quarry(["check", "-q", "-i", f.index]).status == 0)
        #expect(Self.quarry(["merge", "-i", f.index, "--max-segments", "0"]).status == 2)
    }
}

@Suite("Damage and limits from the command line")
struct DamageCommandTests {
    @Test func deepNestingIsAnErrorNotACrash() throws {
        let f = try CLITests.Fixture()
        let deep = String(repeating: "(", count: 8_000) + "fox" + String(repeating: ")", count: 8_000)
        let run = CLITests.quarry(["search", "-i", f.index, "--count", deep])
        #expect(run.status == 2)
        #expect(run.err.contains("deeper than 64 levels"), "\(run.err.prefix(300))")
    }

    @Test func theSBGSessionAnswersBadRequestsAndATruncatedFileWithALineAndGoesOn() throws {
        guard let quarry = quarryExecutable() else {
            Issue.record("the quarry executable is not built beside the tests")
            return
        }
        let dir = TemporaryDirectory("sbg")
        let index = dir.file("index")
        try buildIndex(at: index, corpus: RandomCorpus(count: 3000, seed: 0x5B6_0001), scratch: dir)
        let m = try IndexDirectory.readManifest(index)
        let postings = m.segments[0].path(.postings, in: index)
        let out = dir.file("out.txt")
        let deep = String(repeating: "(", count: 6_000) + "the" + String(repeating: ")", count: 6_000)
        // The first answer must be out before the postings are truncated under the session's map.
        // (The output file exists before the pipeline starts, so that the wait loop never reads a missing file.)
        let script = """
            : > '\(out)'
            { printf 'COUNT\\tthe\\n'
              while [ "$(wc -l < '\(out)')" -lt 1 ]; do sleep 0.05; done
              truncate -s 32 '\(postings)'
              printf 'COUNT\\t\(deep)\\nCOUNT\\tthe\\nTOP_10\\tthe\\nCOUNT\\tzzzunknownword\\n'
            } | '\(quarry)' bench --protocol sbg -i '\(index)' > '\(out)'
            """
        let status = runProcess(["bash", "-c", script])
        #expect(status == 0, "the session ends normally at the end of its input")
        let lines = String(decoding: readFile(out), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(lines)")
        guard lines.count == 5 else { return }
        #expect(Int(lines[0]) ?? 0 > 0)
        #expect(lines[1] == "UNSUPPORTED", "too deep")
        #expect(lines[2].hasPrefix("ERROR ") && lines[2].contains("truncated while it was open"), "\(lines[2])")
        #expect(lines[3].hasPrefix("ERROR "), "\(lines[3])")
        // Once a file of the index was truncated under it, every answer of the session is an error (reopen).
        #expect(lines[4].hasPrefix("ERROR "), "\(lines[4])")
    }

    @Test func aFullDiskIsAClearErrorAndKeepsTheLastCommit() throws {
        // A real full disk: a 256 kB tmpfs (needs root, as on CI; elsewhere the injected ENOSPC of
        // FaultInjectionTests covers the same path).
        let dir = TemporaryDirectory("enospc")
        let mountPoint = dir.makeDirectory("small")
        guard runProcess(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint]) == 0 else { return }
        defer { runProcess(["umount", mountPoint]) }
        let index = mountPoint + "/index"
        let small = dir.file("small.jsonl")
        RandomCorpus(count: 100, seed: 0xE05_0001).write(to: small)
        #expect(CLITests.quarry(["index", "-q", "-i", index, small]).status == 0)
        let countArguments = ["search", "-i", index, "--count", "--any", "the of and a"]
        let before = CLITests.quarry(countArguments).out
        let big = dir.file("big.jsonl")
        var options = RandomCorpus.Options()
        options.idPrefix = "big-"
        RandomCorpus(count: 4000, seed: 0xE05_0002, options: options).write(to: big)
        let run = CLITests.quarry(["index", "-q", "-i", index, big])
        #expect(run.status == 2)
        #expect(run.err.contains("No space left on device"), "\(run.err)")
        #expect(run.err.contains(index), "the error names the file: \(run.err)")
        #expect(CLITests.quarry(["check", "-q", "-i", index]).status == 0)
        #expect(CLITests.quarry(countArguments).out == before)
        // What the failed run wrote was removed: the disk has room again for a small run.
        let more = dir.file("more.jsonl")
        options.idPrefix = "more-"
        RandomCorpus(count: 50, seed: 0xE05_0003, options: options).write(to: more)
        let again = CLITests.quarry(["index", "-q", "-i", index, more])
        #expect(again.status == 0, "\(again.err)")
    }

    @Test func limitAndOffsetAreBounded() throws {
        let f = try CLITests.Fixture()
        for args in [["--offset", "9223372036854775807"], ["--limit", "9223372036854775807"], ["--limit", "10000001"]] {
            let run = CLITests.quarry(["search", "-i", f.index] + args + ["fox"])
            #expect(run.status == 2, "\(args)")
            #expect(run.err.contains("at most 10000000"), "\(args): \(run.err)")
        }
        #expect(CLITests.quarry(["search", "-i", f.index, "--ids", "--limit", "10000000", "fox"]).status == 0)
    }

    @Test func aMissingManifestWithSegmentFilesIsDamage() throws {
        let f = try CLITests.Fixture()
        #expect(Syscalls_unlink(f.index + "/" + Manifest.fileName))
        let run = CLITests.quarry(["check", "-i", f.index])
        #expect(run.status == 1, "\(run.err)")
        #expect(run.out.contains("quarry.manifest is missing, but"), "\(run.out)")
        // An empty folder is no index at all: exit 2.
        let empty = f.dir.makeDirectory("empty")
        #expect(CLITests.quarry(["check", "-i", empty]).status == 2)
    }

    @Test func aDamagedDateBlockWidthInASmallSegmentDoesNotTrap() throws {
        // Three documents a few seconds apart: a narrow block, so the table sits close after it.
        let dir = TemporaryDirectory("dates")
        let index = dir.file("index")
        let input = dir.file("d.jsonl")
        writeFile(
            input,
            (1...3).map { #"{"id":"d\#($0)","date":"2020-01-01T00:00:0\#($0)Z","body":"x"}"# }.joined(separator: "\n") + "\n")
        #expect(CLITests.quarry(["index", "-q", "-i", index, input]).status == 0)
        let m = try IndexDirectory.readManifest(index)
        let dates = m.segments[0].path(.dates, in: index)
        var bytes = readFile(dates)
        // Trailer (44 bytes before the chunk checksum table, whose count is 24 bytes from the end): u32 docCount,
        // u32 blockCount, u64 tableOffset, ...
        let chunks = (0..<4).reduce(0) { $0 | Int(bytes[bytes.count - 24 + $1]) << (8 * $1) }
        let trailer = bytes.count - 24 - 4 * chunks - 44
        var tableOffset = 0
        for k in 0..<8 { tableOffset |= Int(bytes[trailer + 8 + k]) << (8 * k) }
        #expect(tableOffset < 1024)
        bytes[tableOffset + 24] = 64  // block 0's width: raw, 1,024 bytes, more than the file holds before its table
        writeFile(dates, bytes)
        let run = CLITests.quarry(["search", "-i", index, "--count", "date:>=1900"])
        #expect(run.status == 2, "detected, no trap: \(run.status)")
        #expect(run.err.contains("fails its checksum"), "\(run.err)")
        #expect(CLITests.quarry(["check", "-q", "-i", index]).status == 1)
    }

    @Test func aDocumentTooLargeToStoreIsRefusedWithItsLine() throws {
        let dir = TemporaryDirectory("big")
        let blob = String(repeating: "x", count: 65 << 20)
        let input = dir.file("big.jsonl")
        writeFile(input, #"{"id":"small","body":"fine"}"# + "\n" + #"{"id":"big","body":"large","blob":""# + blob + "\"}\n")
        let run = CLITests.quarry(["index", "-q", "-i", dir.file("index"), "--max-line", "80M", input])
        #expect(run.status == 2)
        #expect(run.err.contains("\(input):2"), "\(run.err)")
        #expect(run.err.contains("can be stored"), "\(run.err)")
        let skip = CLITests.quarry(["index", "-q", "-i", dir.file("index"), "--max-line", "80M", "--skip-bad", input])
        #expect(skip.status == 0, "\(skip.err)")
        #expect(CLITests.quarry(["check", "-q", "-i", dir.file("index")]).status == 0)
        #expect(CLITests.quarry(["get", "-i", dir.file("index"), "small"]).status == 0)
    }
}

/// Removes a file (tests only).
private func Syscalls_unlink(_ path: String) -> Bool { unlink(path) == 0 }
