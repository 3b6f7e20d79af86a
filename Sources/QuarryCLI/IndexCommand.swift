// `quarry index`: build or extend an index from JSON Lines, TSV, CSV, mail (mbox, Maildir, .eml), WARC web crawls,
// Wikipedia exports or folders of anything, plain or compressed (gzip, zstd, bzip2, xz).

import ArgumentParser
import Quarry

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build an index, or add documents to one, from JSONL, TSV, CSV, mail, WARC, Wikipedia or folders.",
        discussion: """
            The format of each input is detected from its content (--format auto; README, "Input"). Inputs may be
            gzip-, zstd-, bzip2- or xz-compressed (detected from their first bytes). With no input, or '-',
            documents are read from standard input (JSON Lines unless --format says otherwise). Running it on an existing index adds the documents; a document
            whose id is already there replaces the old one (--on-duplicate), so a dump can be indexed again, or a
            killed run restarted, and the index converges. The segments a run writes are merged into one at its
            end (up to --merge-run-max), then the index's segments as --merge-policy says.
            Examples:
              quarry index -i news-index Data/sample.jsonl
              zstd -dc dump.jsonl.zst | quarry index -i news-index -
              quarry index -i notes ~/notes
              quarry index -i mail ~/mail/archive.mbox ~/Maildir
              quarry index -i wiki simplewiki-latest-pages-articles.xml.bz2
              quarry index -i crawl CC-MAIN-*.warc.gz
            """)

    @OptionGroup var location: IndexLocation

    @Option(
        name: .long,
        help: "Input format: auto (from the content), jsonl, tsv, csv, text (a folder, or text files), mail, mbox, warc or wikipedia.")
    var format: String = "auto"

    @Option(name: .long, help: "The CSV field delimiter (one character; \\t for a tab).")
    var delimiter: String = ","

    @Option(name: .long, help: "With --format text: only files matching this glob, e.g. '*.md' (repeatable).")
    var include: [String] = []

    @Option(name: .long, help: "With --format text: leave out files and folders matching this glob (repeatable).")
    var exclude: [String] = []

    @Option(name: .long, help: "The process's memory while indexing (in-memory segments, merges, the program), e.g. 256M or 1G.")
    var memory: String = "256M"

    @Flag(name: .long, help: "Skip bad documents (count them and report the first few) instead of stopping.")
    var skipBad = false

    @Flag(name: .long, help: "Replace invalid UTF-8 with U+FFFD instead of rejecting the document.")
    var lossy = false

    @Flag(name: .long, help: "Number documents that have no id field.")
    var autoID = false

    @Option(name: .long, help: "Commit after every N documents, so an interruption keeps them.")
    var commitEvery: Int?

    @Option(name: .long, help: "Indexing threads (default: one per core).")
    var threads: Int?

    @Option(name: .long, help: "The id field (new index only; default id).")
    var idField: String?

    @Option(name: .long, help: "The date field (new index only; default date).")
    var dateField: String?

    @Option(name: .long, help: "The title field (new index only; default title).")
    var titleField: String?

    @Option(name: .long, help: "The body field (new index only; default body).")
    var bodyField: String?

    @Option(name: .long, help: "Another text field to index (repeatable; new index only).")
    var textField: [String] = []

    @Option(name: .long, help: "The analyzer: default, en (English stemming), fold (accent folding) or en+fold (new index only).")
    var analyzer: String?

    @Option(name: .long, help: "The longest document line accepted, e.g. 64M.")
    var maxLine: String = "64M"

    @Option(name: .long, help: "A document whose id is already indexed: replace (the default), skip, or error.")
    var onDuplicate: String = "replace"

    @Option(name: .long, help: "Merging after the run: log (segments of similar size merged in groups) or none.")
    var mergePolicy: String = "log"

    @Option(name: .long, help: "With --merge-policy log: segments of one size level that trigger a merge.")
    var mergeFactor: Int = MergePolicy().mergeFactor

    @Option(name: .long, help: "With --merge-policy log: the segments this run writes are merged into one at its end when together they are at most this size, e.g. 4G (the default) or 0 (never).")
    var mergeRunMax: String = "4G"

    @Option(name: .long, help: "The zstd level of the stored documents written by this run and its merges, 1-19: higher is smaller and slower to index, as fast to fetch (default 3).")
    var storeLevel: Int = IndexOptions().storeLevel

    @Flag(name: .shortAndLong, help: "Print no progress and no summary.")
    var quiet = false

    /// `,`, `;`, `|`, `\t` (or a real tab) -> its byte.
    static func delimiterByte(_ text: String) -> UInt8? {
        if text == "\\t" || text == "\t" { return 0x09 }
        guard text.utf8.count == 1, let b = text.utf8.first, b < 0x80, b != UInt8(ascii: "\""), b != 0x0A, b != 0x0D
        else { return nil }
        return b
    }

    @Argument(help: "Input files or folders ('-' for standard input).")
    var inputs: [String] = []

    func validate() throws {
        guard InputFormat(rawValue: format) != nil else {
            throw ValidationError(
                "unknown format '\(format)': use \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard IndexCommand.delimiterByte(delimiter) != nil else {
            throw ValidationError("--delimiter must be one ASCII character, or \\t")
        }
        guard let m = parseSize(memory), m >= 4 << 20 else {
            throw ValidationError("--memory must be a size of at least 4M, such as 256M or 1G")
        }
        _ = m
        guard parseSize(maxLine) != nil else { throw ValidationError("--max-line must be a size such as 64M") }
        if let analyzer, AnalyzerKind(name: analyzer) == nil {
            throw ValidationError("unknown analyzer '\(analyzer)': use default, en, fold or en+fold")
        }
        if let commitEvery, commitEvery <= 0 { throw ValidationError("--commit-every must be positive") }
        if let threads, threads <= 0 || threads > 64 { throw ValidationError("--threads must be in 1...64") }
        guard DuplicatePolicy(rawValue: onDuplicate) != nil else {
            throw ValidationError("--on-duplicate must be replace, skip or error")
        }
        guard mergePolicy == "log" || mergePolicy == "none" else {
            throw ValidationError("--merge-policy must be log or none")
        }
        if mergeFactor < 2 || mergeFactor > 100 { throw ValidationError("--merge-factor must be in 2...100") }
        if parseSize(mergeRunMax) == nil {
            throw ValidationError("--merge-run-max must be a size such as 4G, 512M or 0")
        }
        if !IndexOptions.storeLevels.contains(storeLevel) {
            let levels = IndexOptions.storeLevels
            throw ValidationError("--store-level must be in \(levels.lowerBound)...\(levels.upperBound)")
        }
        if format == "text" && inputs.isEmpty { throw ValidationError("--format text needs a folder or files") }
        if !["text", "auto"].contains(format) && !(include.isEmpty && exclude.isEmpty) {
            throw ValidationError("--include and --exclude choose files of folders: use them with folders")
        }
    }

    func run() throws {
        let directory = try location.resolve()
        var options = IndexOptions()
        options.format = InputFormat(rawValue: format) ?? .auto
        options.delimiter = IndexCommand.delimiterByte(delimiter) ?? UInt8(ascii: ",")
        options.memoryBudget = parseSize(memory) ?? (256 << 20)
        options.maxRecordBytes = parseSize(maxLine) ?? (64 << 20)
        options.skipBad = skipBad
        options.include = include
        options.exclude = exclude
        options.lossy = lossy
        options.autoID = autoID
        options.commitEvery = commitEvery
        if let threads { options.threads = threads }
        options.onDuplicate = DuplicatePolicy(rawValue: onDuplicate) ?? .replace
        options.mergePolicy.isEnabled = mergePolicy == "log"
        options.mergePolicy.mergeFactor = mergeFactor
        options.mergePolicy.runMergeBytes = parseSize(mergeRunMax)
        options.storeLevel = storeLevel
        Terminal.catchInterrupts()
        options.isInterrupted = { Terminal.wasInterrupted }
        let showProgress = !quiet && Terminal.stderrIsTerminal
        if showProgress {
            options.progress = { Terminal.drawProgress($0) }
        }
        // A schema from the options: for a new index, or to check against an existing one.
        let schemaGiven =
            idField != nil || dateField != nil || titleField != nil || bodyField != nil || !textField.isEmpty
            || analyzer != nil
        // Mail is searched by sender and recipients too: a new index of mail gets `from` and `to` text fields.
        let mailFormats: Set<String> = ["mail", "mbox"]
        let extra = textField.isEmpty && mailFormats.contains(format) ? ["from", "to"] : textField
        var schema: Schema? = Schema(
            idField: idField ?? "id", dateField: dateField ?? "date", titleField: titleField ?? "title",
            bodyField: bodyField ?? "body", extraTextFields: extra,
            analyzer: analyzer.flatMap { AnalyzerKind(name: $0) } ?? .standard)
        if IndexDirectory.exists(directory) && !schemaGiven { schema = nil }
        let writer = try IndexWriter(directory: directory, schema: schema, options: options)
        defer { writer.close() }
        let report = try writer.index(inputs)
        if showProgress { Terminal.clearProgress() }
        if report.interrupted {
            throw QuarryError(
                .interrupted,
                "interrupted: nothing after the last commit was kept; the index has \(Format.grouped(report.indexDocuments)) documents",
                path: directory)
        }
        if report.mergeInterrupted {
            throw QuarryError(
                .interrupted,
                "interrupted while merging: the \(Format.grouped(report.documentsAdded)) documents indexed are "
                    + "committed (the index has \(Format.grouped(report.indexDocuments)) documents in "
                    + "\(report.indexSegments) segments); 'quarry merge' merges them",
                path: directory)
        }
        if !quiet {
            var e = OutputStream.standardError()
            let docsPerSecond = report.seconds > 0 ? Double(report.documentsAdded) / report.seconds : 0
            let mbps = report.seconds > 0 ? Double(report.bytesRead) / 1e6 / report.seconds : 0
            var notes = ""
            if report.documentsReplaced > 0 {
                notes += "\(Format.grouped(report.documentsReplaced)) replaced an older version; "
            }
            if report.duplicatesSkipped > 0 {
                notes += "\(Format.grouped(report.duplicatesSkipped)) skipped (id already indexed); "
            }
            e.line(
                "indexed \(Format.grouped(report.documentsAdded)) documents (\(Format.bytes(report.bytesRead))) in "
                    + "\(Format.duration(report.seconds)): \(Format.grouped(Int(docsPerSecond))) docs/s, "
                    + "\(Format.fixed(mbps, 1)) MB/s; " + notes
                    + "index: \(Format.grouped(report.indexDocuments)) documents, "
                    + "\(report.indexSegments) segment\(report.indexSegments == 1 ? "" : "s"), \(Format.bytes(report.indexBytes))"
                    + (report.merges > 0
                        ? " (\(report.merges) merge\(report.merges == 1 ? "" : "s") in \(Format.duration(report.mergeSeconds)))" : ""))
            if report.binaryFilesSkipped > 0 {
                e.line("left out \(Format.grouped(report.binaryFilesSkipped)) binary file\(report.binaryFilesSkipped == 1 ? "" : "s")")
            }
            if report.documentsSkipped > 0 {
                e.line("skipped \(Format.grouped(report.documentsSkipped)) bad documents; the first:")
                for s in report.skippedSamples.prefix(5) { e.line("  " + s.description) }
            }
            e.flush()
        }
    }
}
