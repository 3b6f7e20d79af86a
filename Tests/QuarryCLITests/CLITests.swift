// The `quarry` command line, run in-process through `QuarryCommand.runReturningStatus` with standard output and
// error captured: exit statuses (0 success, 1 not found / damaged, 2 error), exact output where it is fixed, and
// messages that name the place of an error.

@testable import QuarryCLI
import QuarryTestSupport
import Testing

@testable import Quarry

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct CLITests {
    struct Run {
        var status: Int32
        var out: String
        var err: String
    }

    static func quarry(_ arguments: [String]) -> Run {
        let (status, output) = capturingOutput { QuarryCommand.runReturningStatus(arguments) }
        return Run(status: status, out: output.standardOutput, err: output.standardError)
    }

    /// An index of a small corpus built with `quarry index`.
    struct Fixture {
        let dir = TemporaryDirectory("cli")
        let index: String
        let input: String
        let corpus = RandomCorpus(count: 50, seed: 0xC11_0001)

        init() throws {
            index = dir.file("index")
            input = dir.file("corpus.jsonl")
            corpus.write(to: input)
            let run = CLITests.quarry(["index", "-i", index, "-q", input])
            try #require(run.status == 0, "quarry index: \(run.err)")
            #expect(run.out.isEmpty)
            #expect(run.err.isEmpty, "-q prints nothing")
        }
    }

    /// Parses `text` as one strict JSON object (with the engine's JSON Lines parser) and returns its members.
    static func jsonObject(_ text: String) -> StoredDocument? {
        let schema = Schema(idField: "\u{1}id", dateField: "\u{1}date", titleField: "\u{1}a", bodyField: "\u{1}b")
        var parser = JSONLineParser(schema: schema, lossy: false)
        var doc = Document(textFieldCount: 2)
        let bytes = Array(text.utf8)
        do {
            try bytes.withUnsafeBufferPointer { try parser.parse($0, into: &doc, autoID: 0) }
        } catch {
            Issue.record("not valid JSON: \(error) in \(text)")
            return nil
        }
        return StoredDocument(bytes)
    }

    @Test func indexPrintsASummary() throws {
        let dir = TemporaryDirectory("cli")
        let corpus = RandomCorpus(count: 30, seed: 0xC11_0002)
        corpus.write(to: dir.file("in.jsonl"))
        let run = Self.quarry(["index", "-i", dir.file("index"), dir.file("in.jsonl")])
        #expect(run.status == 0)
        #expect(run.out.isEmpty)
        #expect(run.err.hasPrefix("indexed 30 documents ("), "\(run.err)")
        #expect(run.err.contains("index: 30 documents"))
        // A second run adds to the index.
        let more = RandomCorpus(
            count: 5, seed: 0xC11_0003,
            options: {
                var o = RandomCorpus.Options()
                o.idPrefix = "more-"
                return o
            }())
        more.write(to: dir.file("more.jsonl"))
        let second = Self.quarry(["index", "-i", dir.file("index"), dir.file("more.jsonl")])
        #expect(second.status == 0)
        #expect(second.err.contains("index: 35 documents"), "\(second.err)")
    }

    @Test func statsJSON() throws {
        let f = try Fixture()
        let run = Self.quarry(["stats", "--json", "-i", f.index])
        #expect(run.status == 0)
        #expect(run.err.isEmpty)
        #expect(run.out.hasSuffix("\n"))
        #expect(run.out.filter { $0 == "\n" }.count == 1, "one line")
        let stats = try #require(Self.jsonObject(String(run.out.dropLast())))
        #expect(
            stats.members.map(\.name) == [
                "index", "documents", "deleted_documents", "segments", "bytes", "bytes_by_kind", "fields", "analyzer", "dated_documents",
                "min_date",
                "max_date", "generation",
            ])
        #expect(stats.text("index") == f.index)
        #expect(stats.text("documents") == "50")
        #expect(stats.text("segments") == "1")
        #expect(stats.text("generation") == "1")
        #expect(stats.text("analyzer") == "default")
        // Bytes: every file of the index but the lock.
        let files = listDirectory(f.index).filter { $0 != IndexDirectory.lockName }
        let total = files.reduce(0) { $0 + (fileSize(f.index + "/" + $1) ?? 0) }
        #expect(stats.text("bytes") == String(total))
        let byKind = StoredDocument(try #require(stats.rawValue("bytes_by_kind")))
        #expect(byKind.members.map(\.name) == FileKind.allCases.filter { $0 != .deletes }.map(\.rawValue))
        #expect(byKind.members.reduce(0) { $0 + (Int(byKind.text($1.name) ?? "") ?? 0) } == total)
        // Per field: distinct terms and total length, from the corpus.
        let fields = StoredDocument(try #require(stats.rawValue("fields")))
        #expect(fields.members.map(\.name) == ["title", "body"])
        for (ord, name) in [(1, "title"), (2, "body")] {
            var terms = Set<[UInt8]>()
            var length = 0
            for d in f.corpus.documents {
                let (analyzed, l) = NaiveAnalyzer.field(d.values(ord))
                for t in analyzed { terms.insert(t.term) }
                length += l
            }
            let field = StoredDocument(try #require(fields.rawValue(name)))
            #expect(field.text("terms") == String(terms.count), "\(name)")
            #expect(field.text("total_length") == String(length), "\(name)")
        }
        let dates = f.corpus.documents.compactMap(\.date)
        #expect(stats.text("dated_documents") == String(dates.count))
        #expect(stats.text("min_date") == dates.min().map { TestDates.iso($0) })
        #expect(stats.text("max_date") == dates.max().map { TestDates.iso($0) })
    }

    @Test func statsText() throws {
        let f = try Fixture()
        let run = Self.quarry(["stats", "-i", f.index])
        #expect(run.status == 0)
        let lines = run.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "index      \(f.index)")
        #expect(lines.contains("documents  50"))
        #expect(lines.contains("segments   1"))
        #expect(lines.contains("analyzer   default"))
        #expect(lines.contains { $0.hasPrefix("title ") })
        #expect(lines.contains { $0.hasPrefix("body ") })
    }

    @Test func getPrintsStoredDocuments() throws {
        let f = try Fixture()
        let a = f.corpus.documents[3]
        let b = f.corpus.documents[41]
        let run = Self.quarry(["get", "-i", f.index, a.id, b.id])
        #expect(run.status == 0)
        #expect(run.out == a.line + "\n" + b.line + "\n")
        #expect(run.err.isEmpty)

        let missing = Self.quarry(["get", "-i", f.index, a.id, "no-such-id", b.id])
        #expect(missing.status == 1)
        #expect(missing.out == a.line + "\n" + b.line + "\n")
        #expect(missing.err == "quarry: no document with id 'no-such-id'\n")

        // ArgumentParser's path (`--index=DIR` is not on the fast path) prints the same.
        let parsed = Self.quarry(["get", "--index=" + f.index, a.id, "no-such-id", b.id])
        #expect(parsed.status == missing.status && parsed.out == missing.out && parsed.err == missing.err)
    }

    @Test(arguments: [
        ["a"],
        ["-i", "x", "a", "b"],
        ["--index", "x", "-i", "y", "a"],
        ["--ids-from", "f.txt"],
        ["-i", "x", "--ids-from", "-", "a"],
        ["--", "-a", "b"],
        ["-", "a"],
    ])
    func getFastArgumentsAgreeWithArgumentParser(_ arguments: [String]) throws {
        let parsed = try GetCommand.parse(arguments).request
        #expect(GetRequest.parseFast(arguments[...]) == parsed)
    }

    @Test(arguments: [
        ["--help"], ["--index=x", "a"], ["-ix", "a"], ["--bogus", "a"], ["-i"], ["--ids-from", "a", "--ids-from", "b"],
    ])
    func unusualGetArgumentsGoThroughArgumentParser(_ arguments: [String]) {
        #expect(GetRequest.parseFast(arguments[...]) == nil)
    }

    @Test func storeLevelMakesASmallerStoreOfTheSameDocuments() throws {
        // Over 1 MiB of documents (so the store trains a dictionary) at levels 1 and 19: the stored bytes shrink,
        // every document reads back the same, and the level is checked.
        let dir = TemporaryDirectory("cli")
        var options = RandomCorpus.Options()
        options.maxBodyWords = 400
        let corpus = RandomCorpus(count: 6000, seed: 0xC11_0031, options: options)
        corpus.write(to: dir.file("in.jsonl"))
        var storeBytes: [Int: Int] = [:]
        for level in [1, 19] {
            let index = dir.file("l\(level)")
            let run = Self.quarry(["index", "-i", index, "-q", "--store-level", "\(level)", dir.file("in.jsonl")])
            try #require(run.status == 0, "\(run.err)")
            let stores = listDirectory(index).filter { $0.hasSuffix(".store") }
            #expect(!stores.isEmpty)
            storeBytes[level] = stores.reduce(0) { $0 + (fileSize(index + "/" + $1) ?? 0) }
            let ids = stride(from: 0, to: corpus.documents.count, by: 97).map { corpus.documents[$0].id }
            let get = Self.quarry(["get", "-i", index] + ids)
            #expect(get.status == 0)
            let expected = stride(from: 0, to: corpus.documents.count, by: 97).map { corpus.documents[$0].line }
            #expect(get.out == expected.map { $0 + "\n" }.joined(), "level \(level)")
        }
        let low = try #require(storeBytes[1])
        let high = try #require(storeBytes[19])
        #expect(high * 100 < low * 95, "level 19: \(high) bytes, level 1: \(low)")
        for bad in ["0", "20", "x"] {
            let run = Self.quarry(["index", "-i", dir.file("bad"), "--store-level", bad, dir.file("in.jsonl")])
            #expect(run.status == 2, "--store-level \(bad)")
            #expect(run.err.contains("store-level"), "\(run.err)")
        }
    }

    @Test func checkExitCodes() throws {
        let f = try Fixture()
        let sound = Self.quarry(["check", "-i", f.index])
        #expect(sound.status == 0)
        #expect(sound.out.hasPrefix("ok: 1 segments, 7 files, "), "\(sound.out)")
        #expect(sound.out.contains("50 documents"))
        #expect(Self.quarry(["check", "-q", "-i", f.index]).out.isEmpty)

        // Damage one byte of the postings.
        let manifest = try IndexDirectory.readManifest(f.index)
        let path = manifest.segments[0].path(.postings, in: f.index)
        flipByte(path, at: (fileSize(path) ?? 0) / 2)
        let damaged = Self.quarry(["check", "-i", f.index])
        #expect(damaged.status == 1)
        let lines = damaged.out.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("damaged: \(path): ") == true, "\(damaged.out)")
        #expect(lines.last == "the index is damaged: 1 problem")
        // Reading commands still work (the postings are not read), and report no false damage.
        #expect(Self.quarry(["get", "-i", f.index, f.corpus.documents[0].id]).status == 0)
    }

    @Test func badInputNamesFileAndLine() throws {
        let dir = TemporaryDirectory("cli")
        let path = dir.file("bad.jsonl")
        writeFile(
            path, #"{"id":"1","body":"ok"}"# + "\n" + #"{"id":"2","body":"ok"}"# + "\n" + #"{"id":"3","body":}"# + "\n")
        let run = Self.quarry(["index", "-q", "-i", dir.file("index"), path])
        #expect(run.status == 2)
        #expect(run.out.isEmpty)
        #expect(run.err.hasPrefix("quarry: \(path):3: column 18: "), "\(run.err)")
        #expect(try IndexReader(directory: dir.file("index")).documentCount == 0, "only the empty commit of creation")
        // --skip-bad indexes the rest and reports the bad line.
        let skipping = Self.quarry(["index", "--skip-bad", "-i", dir.file("index"), path])
        #expect(skipping.status == 0)
        #expect(
            skipping.err.contains("skipped 1 bad documents; the first:\n  \(path):3: column 18: "), "\(skipping.err)")
    }

    @Test(arguments: [
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["index", "--frobnicate"], "Unknown option '--frobnicate'"),
        (["index", "-i"], "Missing value for '-i <index>'"),
        (["index", "-i", "/tmp/quarry-cli-x", "--memory", "1M", "in.jsonl"], "--memory must be a size of at least 4M"),
        (["index", "-i", "/tmp/quarry-cli-x", "--format", "xml", "in.jsonl"], "unknown format 'xml'"),
        (["index", "-i", "/tmp/quarry-cli-x", "--format", "text"], "--format text needs a folder"),
        (["index", "-i", "/tmp/quarry-cli-x", "--threads", "0", "in.jsonl"], "--threads must be in 1...64"),
        (["index", "-i", "/tmp/quarry-cli-x", "--analyzer", "klingon", "in.jsonl"], "unknown analyzer 'klingon'"),
        (["get", "-i", "/tmp/quarry-cli-x"], "give ids or --ids-from FILE"),
        (["stats"], "no index directory: give -i DIR or set QUARRY_INDEX"),
    ])
    func usageErrorsExitWithTwo(_ arguments: [String], _ message: String) {
        unsetenv("QUARRY_INDEX")
        let run = Self.quarry(arguments)
        #expect(run.status == 2)
        #expect(run.out.isEmpty)
        #expect(run.err.contains(message), "\(run.err)")
        #expect(!fileExists("/tmp/quarry-cli-x"), "nothing was created")
    }

    /// Runs `body` with standard input read from `path`.
    static func withStandardInput<R>(from path: String, _ body: () -> R) -> R {
        let saved = dup(0)
        let fd = open(path, O_RDONLY)
        dup2(fd, 0)
        close(fd)
        defer {
            dup2(saved, 0)
            close(saved)
        }
        return body()
    }

    @Test func indexFromStandardInput() throws {
        let dir = TemporaryDirectory("cli")
        let corpus = RandomCorpus(count: 20, seed: 0xC11_0004)
        corpus.write(to: dir.file("in.jsonl"))
        let run = Self.withStandardInput(from: dir.file("in.jsonl")) {
            Self.quarry(["index", "-q", "-i", dir.file("index"), "-"])
        }
        #expect(run.status == 0, "\(run.err)")
        #expect(try IndexReader(directory: dir.file("index")).documentCount == 20)
        // Errors in standard input name it.
        writeFile(dir.file("bad.jsonl"), #"{"id":"x"}"# + "\n" + "oops\n")
        let bad = Self.withStandardInput(from: dir.file("bad.jsonl")) {
            Self.quarry(["index", "-q", "-i", dir.file("index2")])
        }
        #expect(bad.status == 2)
        #expect(bad.err.hasPrefix("quarry: <stdin>:2: column 1: "), "\(bad.err)")
    }

    @Test func errorsFromTheEngineExitWithTwo() {
        let dir = TemporaryDirectory("cli")
        let missing = Self.quarry(["stats", "-i", dir.file("nothing")])
        #expect(missing.status == 2)
        #expect(missing.err == "quarry: \(dir.file("nothing")): no index here: the directory does not exist\n")
        // `check` of a path that holds no index is an error too, not a damaged index.
        let checkMissing = Self.quarry(["check", "-i", dir.file("nothing")])
        #expect(checkMissing.status == 2)
        #expect(checkMissing.out.isEmpty)
        #expect(checkMissing.err == "quarry: \(dir.file("nothing")): no index here: the directory does not exist\n")
        let checkEmpty = Self.quarry(["check", "-i", dir.path])
        #expect(checkEmpty.status == 2)
        #expect(checkEmpty.err.contains("no index here (no quarry.manifest)"), "\(checkEmpty.err)")
        let noInput = Self.quarry(["index", "-i", dir.file("index"), dir.file("absent.jsonl")])
        #expect(noInput.status == 2)
        #expect(noInput.err.hasPrefix("quarry: \(dir.file("absent.jsonl")): cannot open input file"), "\(noInput.err)")
        // The system's reason is said once (it was repeated: "(No such file or directory) (No such file ...)").
        #expect(noInput.err.components(separatedBy: "No such file or directory").count == 2, "\(noInput.err)")
        let noFolder = Self.quarry(["index", "-i", dir.file("index"), "--format", "text", dir.file("absent")])
        #expect(noFolder.status == 2)
        #expect(noFolder.err.components(separatedBy: "No such file or directory").count == 2, "\(noFolder.err)")
    }

    @Test func aMistypedCommandIsNamedWithASuggestion() {
        let typo = Self.quarry(["serch", "-i", "/tmp/x", "cobol"])
        #expect(typo.status == 2)
        #expect(typo.err.contains("unknown command 'serch'; did you mean 'search'?"), "\(typo.err)")
        let swapped = Self.quarry(["sepll"])
        #expect(swapped.err.contains("unknown command 'sepll'"), "\(swapped.err)")
        #expect(!swapped.err.contains("did you mean"), "nothing is near: \(swapped.err)")
        #expect(Self.quarry(["stast"]).err.contains("did you mean 'stats'?"), "a transposition is one edit")
    }

    @Test func helpAndVersion() {
        let help = Self.quarry(["--help"])
        #expect(help.status == 0)
        #expect(help.err.isEmpty)
        #expect(help.out.contains("USAGE: quarry <subcommand>"))
        for sub in ["index", "search", "bench", "stats", "check", "get"] {
            #expect(help.out.contains("  \(sub) "), "\(sub) is listed")
        }
        #expect(help.out.contains("Exit status: 0 success, 1 no match (search) or damaged index (check), 2 error."))
        let indexHelp = Self.quarry(["index", "--help"])
        #expect(indexHelp.status == 0)
        #expect(indexHelp.out.contains("USAGE: quarry index"))
        #expect(indexHelp.out.contains("--skip-bad"))
        let helpCommand = Self.quarry(["help", "check"])
        #expect(helpCommand.status == 0)
        #expect(helpCommand.out.contains("USAGE: quarry check"))
        let version = Self.quarry(["--version"])
        #expect(version.status == 0)
        #expect(version.out == "0.1.0\n")
    }

    @Test func theIndexDirectoryFromTheEnvironment() throws {
        let f = try Fixture()
        setenv("QUARRY_INDEX", f.index, 1)
        defer { unsetenv("QUARRY_INDEX") }
        let run = Self.quarry(["get", f.corpus.documents[0].id])
        #expect(run.status == 0)
        #expect(run.out == f.corpus.documents[0].line + "\n")
    }
}
