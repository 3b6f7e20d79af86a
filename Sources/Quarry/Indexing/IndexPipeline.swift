// Building or extending an index from input files: the indexing pipeline and the commit.
//
//     input files --(main thread: read, decompress, cut into ~1 MiB chunks of whole lines)--> queue
//     queue --(N worker threads: parse, analyze, SegmentBuilder; flush a segment when its share of the memory
//              budget is used)--> segment files
//     all workers done --> duplicate-id check --> manifest commit (atomic) --> lock released
//
// Each worker builds its own segments, so workers share nothing but the queue, a segment counter and the error
// state. With `commitEvery`, the reader puts a barrier in the queue every N documents; every worker flushes at the
// barrier, and the last one to arrive commits all flushed segments before the others go on. Nothing partial is ever
// committed: on an error or an interrupt, the segments written since the last commit are deleted and the index
// stays at its last commit.

import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The input formats.
public enum InputFormat: String, Sendable, CaseIterable {
    /// Decided per input from its content (Ingest/DumpFormat.swift).
    case auto
    case jsonl, tsv, csv
    /// A folder of files (each read by its own content), or text files.
    case text
    /// One mail message per input file.
    case mail
    case mbox, warc, wikipedia
}

/// How `quarry index` behaves.
public struct IndexOptions: Sendable {
    /// The input format.
    public var format: InputFormat = .auto
    /// The CSV field delimiter.
    public var delimiter: UInt8 = UInt8(ascii: ",")
    /// Memory for in-memory segments, over all worker threads.
    public var memoryBudget: Int = 256 << 20
    /// Skip bad documents (count and report them) instead of stopping.
    public var skipBad = false
    /// Replace invalid UTF-8 with U+FFFD instead of rejecting the document.
    public var lossy = false
    /// Number documents without an id.
    public var autoID = false
    /// Commit after every N documents (nil: once at the end).
    public var commitEvery: Int?
    /// Worker threads (default: one per core).
    public var threads: Int = Thread.processorCount
    /// The longest line (document) accepted.
    public var maxRecordBytes: Int = 64 << 20
    /// Called about five times a second from the reading thread.
    public var progress: (@Sendable (IndexProgress) -> Void)?
    /// Polled often; returning true stops the run (Ctrl-C).
    public var isInterrupted: @Sendable () -> Bool = { false }
    /// What to do with a document whose id is already in the index or earlier in the input.
    public var onDuplicate: DuplicatePolicy = .replace
    /// When to merge segments (after the run's last commit).
    public var mergePolicy = MergePolicy()
    /// The zstd level of the stored documents' blocks written by this run and its merges (1...19; 3 by default:
    /// higher levels make a smaller store and slower indexing, and fetch documents as fast).
    public var storeLevel: Int = ZstdCompressor.defaultLevel
    /// The store levels accepted.
    public static let storeLevels = ZstdCompressor.levels
    /// For folders (`--format text`): only files whose relative path matches one of these globs (none: all).
    public var include: [String] = []
    /// For folders: files and folders whose relative path matches one of these globs are left out.
    public var exclude: [String] = []
    /// Who holds the write lock, written into it for others to read in their error (e.g. "quarry serve on
    /// 127.0.0.1:7700"); nil: the lock file stays empty.
    public var lockHolder: String?

    public init() {}
}

/// Progress of a run.
public struct IndexProgress: Sendable {
    public var documents: Int
    /// Input bytes consumed (compressed bytes for compressed input).
    public var bytesConsumed: Int
    /// The total input size, if known.
    public var bytesTotal: Int?
    public var seconds: Double
}

/// What a run did.
public struct IndexReport: Sendable {
    /// Documents indexed (new ids and replacements).
    public var documentsAdded = 0
    /// Of those, documents that replaced one with the same id (in the index, or earlier in the input).
    public var documentsReplaced = 0
    /// Documents not indexed because their id was already there (`--on-duplicate skip`).
    public var duplicatesSkipped = 0
    /// Merges made after the run, and their time.
    public var merges = 0
    public var mergeSeconds = 0.0
    /// Segments of the index after the run.
    public var indexSegments = 0
    public var documentsSkipped = 0
    /// Files of a folder left out as binary (a NUL byte or invalid UTF-8 in their first 8 KiB).
    public var binaryFilesSkipped = 0
    /// The first few skipped documents and why.
    public var skippedSamples: [QuarryError] = []
    /// Uncompressed input bytes read.
    public var bytesRead = 0
    public var seconds = 0.0
    public var segmentsAdded = 0
    public var commits = 0
    /// Live documents in the index after the run.
    public var indexDocuments = 0
    /// Bytes of the index after the run.
    public var indexBytes = 0
    /// True if the run was interrupted (the index is at its last commit).
    public var interrupted = false
    /// True if the run was committed and the merges after it were interrupted (the index holds the run, in the
    /// segments it was written in).
    public var mergeInterrupted = false
}

/// A unit of work for the workers.
enum WorkItem {
    /// Whole lines of input file `file`, the first being line `firstLine` (1-based); `firstRecord` numbers
    /// documents for --auto-id.
    case lines(file: Int, firstLine: Int, firstRecord: Int, bytes: [UInt8], tsvHeader: [UInt8]?)
    case textFiles([TextFileRecord], firstRecord: Int)
    /// Records of a dump (source `file`), the first being the `index`-th of its source and `firstRecord`-th of the
    /// run (for --auto-id), with the parser that makes documents of them.
    case records(file: Int, firstRecord: Int, index: Int, records: [Record], parser: any RecordParser)
    case barrier
    case end
}

/// One `index` call: the shared state of the pipeline.
final class IndexRun: @unchecked Sendable {
    let writer: IndexWriter
    let options: IndexOptions
    let inputs: [String]
    let schema: Schema
    let queue: BlockingQueue<WorkItem>
    let monitor = Monitor()
    // Guarded by `monitor`:
    var flushed: [FlushedSegment] = []
    var replaced = 0
    var duplicatesSkipped = 0
    /// Pending segments being merged, by name.
    var merging = Set<String>()
    var workersDone = false
    var merges = 0
    var mergedAway = 0
    var mergeSeconds = 0.0
    var committedCount = 0
    var firstError: (order: (Int, Int), error: QuarryError)?
    var skipped = 0
    /// Files of a folder left out as binary.
    private var binaryFilesSkipped = 0
    var skippedSamples: [((Int, Int), QuarryError)] = []
    var documents = 0
    /// Every source read, in order (inputs, and files of folders): its name for messages, and whether its places
    /// are lines. Guarded by `sourcesLock`, not `monitor` (messages are made while `monitor` is held).
    var sources: [(name: String, lines: Bool)] = []
    let sourcesLock = Monitor()
    var barrierArrivals = 0
    var barrierGeneration = 0
    var commits = 0
    var stopped = false
    let workerCount: Int
    let started = Syscalls.monotonicNanoseconds()

    init(writer: IndexWriter, options: IndexOptions, inputs: [String]) {
        self.writer = writer
        self.options = options
        self.inputs = inputs
        self.schema = writer.manifest.schema
        self.workerCount = max(1, min(options.threads, 64))
        self.queue = BlockingQueue(capacity: max(2, workerCount * 2))
    }

    var isStopped: Bool { monitor.withLock { stopped } }

    /// The input position (file, line) of the earliest failure so far, packed; `Int.max` while there is none.
    /// Workers go on with input before it, so that the error reported is the first bad line, not just a bad line.
    let failureOrder = Atomic<Int>(Int.max)

    static func pack(_ order: (Int, Int)) -> Int {
        order.0 < 0 ? -1 : order.0 << 40 | min(order.1, (1 << 40) - 1)
    }

    /// True if the input at `order` comes after a failure (so it need not be read).
    @inline(__always)
    func isAfterFailure(_ order: (Int, Int)) -> Bool {
        IndexRun.pack(order) > failureOrder.load(ordering: .relaxed)
    }

    func fail(_ error: QuarryError, order: (Int, Int)) {
        monitor.withLock {
            if firstError == nil || order < firstError.unsafelyUnwrapped.order {
                firstError = (order, error)
                failureOrder.store(IndexRun.pack(order), ordering: .relaxed)
            }
            stopped = true
        }
    }

    func recordSkip(_ error: QuarryError, order: (Int, Int)) {
        monitor.withLock {
            skipped += 1
            skippedSamples.append((order, error))
            skippedSamples.sort { $0.0 < $1.0 }
            if skippedSamples.count > 10 { skippedSamples.removeLast() }
        }
    }

    func allocateSegmentName() -> (String, [UInt8]) { writer.allocateSegmentName() }

    /// The input place of a document's sequence number (see `sequence(_:)`), for messages.
    func describe(_ sequence: UInt64) -> String {
        let file = Int(sequence >> 40)
        let place = Int(sequence & ((1 << 40) - 1))
        let source: (name: String, lines: Bool) = sourcesLock.withLock {
            file < sources.count ? sources[file] : (name: "input \(file)", lines: true)
        }
        return source.lines ? "\(source.name):\(place)" : (place == 0 ? source.name : "\(source.name), document \(place + 1)")
    }

    /// A document's place in the input: (source, line) or (source, record) packed.
    func sequence(_ location: (Int, Int)) -> UInt64 {
        UInt64(max(0, IndexRun.pack(location)))
    }

    /// Numbers a source (an input, or a file of a folder) in reading order; at most 2^23 per run.
    func registerSource(_ name: String, lines: Bool) -> Int {
        sourcesLock.withLock {
            sources.append((name, lines))
            return sources.count - 1
        }
    }

    func setSourceKind(_ ordinal: Int, lines: Bool) {
        sourcesLock.withLock { sources[ordinal].lines = lines }
    }

    func sourceHasLines(_ ordinal: Int) -> Bool {
        sourcesLock.withLock { ordinal >= 0 && ordinal < sources.count && sources[ordinal].lines }
    }

    func sourceName(_ ordinal: Int) -> String {
        sourcesLock.withLock { ordinal < sources.count ? sources[ordinal].name : "input \(ordinal)" }
    }

    /// Commits the segments flushed since the last commit (the caller holds `monitor`).
    func commitFlushed() throws(QuarryError) {
        let pending = Array(flushed[committedCount...])
        if pending.isEmpty && IndexDirectory.exists(writer.directory) { return }
        writer.addPending(pending)
        let summary = try writer.commitPending(describe: describe)
        committedCount = flushed.count
        replaced += summary.replaced
        duplicatesSkipped += summary.skipped
        commits += 1
    }

    // MARK: Run

    /// Memory the budget keeps for the process itself (program, runtime, input buffers).
    static let processReserve = 24 << 20
    /// Memory the budget keeps for a merge running while the workers index: a merge of seven 80 MB segments of
    /// the 1M corpus peaks at 16 MB of heap, and holds a few MB of the sources' pages between drops.
    static let mergeReserve = 32 << 20

    func execute() throws(QuarryError) -> IndexReport {
        var workers: [Thread] = []
        // The budget is the whole process's: the program, its runtime and the reader's buffers take about 24 MB,
        // a merge running beside the workers about 32 MB (its buffers, maps and the pages it reads); the rest is
        // for the workers' in-memory segments (never less than half the budget). Each worker's share of that keeps
        // a quarter of its part for what the worker holds beyond its segment's count at a flush (measured: 13 MB
        // with a 63 MB segment, 26 MB with 100 MB; workers' flushes drift until two can fall together, so each
        // needs its room whatever the other does). The first segments are cut at staggered sizes, so that workers
        // do not all flush at the same time at first.
        let mergesWhileIndexing = options.mergePolicy.isEnabled && options.commitEvery == nil
        let reserve = IndexRun.processReserve + (mergesWhileIndexing ? IndexRun.mergeReserve : 0)
        let forSegments = max(options.memoryBudget - reserve, options.memoryBudget / 2)
        let share = max(forSegments / workerCount * 3 / 4, 4 << 20)
        for k in 0..<workerCount {
            let first = max(share * (k + 1) / workerCount, 2 << 20)
            workers.append(Thread { [self] in self.work(budget: share, firstBudget: first) })
        }
        // Segments flushed in this run are merged on a thread of their own while the workers go on (not with
        // --commit-every, whose commits would race with it: then merging waits for the end of the run).
        let merger = mergesWhileIndexing ? Thread { [self] in self.mergeWhileIndexing() } : nil
        var bytesRead = 0
        var readError: QuarryError?
        do {
            bytesRead = try readInputs()
        } catch {
            readError = error
        }
        for _ in 0..<workerCount { queue.push(.end) }
        for w in workers { w.join() }
        monitor.withLock {
            workersDone = true
            monitor.broadcast()
        }
        merger?.join()

        var report = IndexReport()
        report.bytesRead = bytesRead
        let interrupted = options.isInterrupted()
        let (error, uncommitted, skippedCount, samples) = monitor.withLock {
            (readError ?? firstError?.error, Array(flushed[committedCount...]).map(\.info), skipped, skippedSamples.map(\.1))
        }
        report.documentsSkipped = skippedCount
        report.binaryFilesSkipped = monitor.withLock { binaryFilesSkipped }
        report.skippedSamples = samples
        func cleanUp() {
            // (A commit that failed after its rename is visible: its segments are live, not garbage.)
            let live = Set(writer.manifest.segments.map(\.name))
            for s in uncommitted where !live.contains(s.name) {
                for kind in FileKind.segmentKinds { _ = Syscalls.unlink(s.path(kind, in: writer.directory)) }
            }
        }
        if let error {
            cleanUp()
            throw error
        }
        if interrupted {
            cleanUp()
            report.interrupted = true
            report.documentsAdded = committedDocs()
            report.commits = monitor.withLock { commits }
            report.seconds = elapsed()
            return report
        }
        let commitError = monitor.withLock { () -> QuarryError? in
            do throws(QuarryError) {
                try commitFlushed()
                return nil
            } catch {
                return error
            }
        }
        if let commitError {
            cleanUp()
            throw commitError
        }
        monitor.withLock {
            report.documentsAdded = documents
            report.documentsReplaced = replaced
            report.duplicatesSkipped = duplicatesSkipped
            report.commits = commits
            report.segmentsAdded = flushed.count + mergedAway - merges
            report.merges = merges
            report.mergeSeconds = mergeSeconds
        }
        report.seconds = elapsed()
        return report
    }

    private func committedDocs() -> Int {
        monitor.withLock { flushed[..<committedCount].reduce(0) { $0 + $1.info.docCount } }
    }

    private func elapsed() -> Double {
        Double(Syscalls.monotonicNanoseconds() - started) / 1e9
    }

    // MARK: Reading (main thread)

    /// The state of the reading thread (one per run).
    private struct ReadState {
        var total = 0
        var record = 0
        var consumedBefore = 0
        // The first report goes out at once, then one every 200 ms.
        var lastProgress: UInt64 = 0
        var knownTotal: Int? = 0
        /// Folders still being listed: their bytes join `knownTotal` when their listings end.
        var listings: [FolderLister] = []
        var sinceBarrier = 0

        /// The total bytes of the inputs, once every folder is listed.
        mutating func bytesTotal() -> Int? {
            if !listings.isEmpty {
                var sum = 0
                for lister in listings {
                    guard let bytes = lister.totalBytes else { return nil }
                    sum += bytes
                }
                knownTotal = knownTotal.map { $0 + sum }
                listings = []
            }
            return knownTotal
        }
    }

    private func readInputs() throws(QuarryError) -> Int {
        var st = ReadState()
        // --auto-id numbers on from the largest numeric id in the index, so that new numbers never meet old ones
        // (which would replace them), whatever was deleted or merged away.
        st.record = writer.manifest.documentCount
        if options.autoID { st.record = max(st.record, try writer.largestNumericID().map { Int(clamping: $0) } ?? 0) }
        // Folders are listed on threads of their own while files are read (the listing's stat per file was a
        // phase the workers waited through); the progress knows the total when they end (compressed bytes for
        // compressed files).
        let include = options.include.map(PathGlob.init)
        let exclude = options.exclude.map(PathGlob.init)
        var plan: [(path: String, format: InputFormat, lister: FolderLister?)] = []
        defer { for item in plan { item.lister?.join() } }
        for path in inputs {
            var format = options.format
            var isFolder = false
            if path != "-", case .success(let status) = Syscalls.status(path) { isFolder = status.isDirectory }
            // A folder is read file by file, each by its own content, whatever the format says (a Maildir given with
            // --format mail).
            if isFolder { format = .text }
            if format == .auto { format = try DumpFormat.detect(path) }
            if format == .text {
                let lister = FolderLister(path, include: include, exclude: exclude)
                st.listings.append(lister)
                plan.append((path, .text, lister))
            } else {
                if path != "-", case .success(let status) = Syscalls.status(path), status.isRegular {
                    st.knownTotal = st.knownTotal.map { $0 + Int(status.size) }
                } else {
                    st.knownTotal = nil
                }
                plan.append((path, format, nil))
            }
        }
        for item in plan {
            if options.isInterrupted() || isStopped { return st.total }
            switch item.format {
            case .text:
                if let lister = item.lister { try readFolderFiles(lister, &st) }
            case .jsonl, .tsv:
                let ordinal = registerSource(item.path == "-" ? "<stdin>" : item.path, lines: true)
                try readLines(item.path, format: item.format, ordinal: ordinal, &st)
            default:
                let ordinal = registerSource(item.path == "-" ? "<stdin>" : item.path, lines: false)
                let opened = try openInput(item.path)
                try readRecords(opened.source, name: item.path == "-" ? "<stdin>" : item.path, format: item.format, ordinal: ordinal, &st)
                st.consumedBefore += opened.source.consumed
            }
        }
        return st.total
    }

    private func report(_ consumed: Int, _ st: inout ReadState) {
        guard let progress = options.progress else { return }
        let now = Syscalls.monotonicNanoseconds()
        if now - st.lastProgress < 200_000_000 { return }
        st.lastProgress = now
        let docs = monitor.withLock { documents }
        let total = st.bytesTotal()
        progress(IndexProgress(documents: docs, bytesConsumed: consumed, bytesTotal: total, seconds: elapsed()))
    }

    private func maybeBarrier(_ records: Int, _ st: inout ReadState) {
        guard let every = options.commitEvery, every > 0 else { return }
        st.sinceBarrier += records
        if st.sinceBarrier >= every {
            st.sinceBarrier = 0
            for _ in 0..<workerCount { queue.push(.barrier) }
        }
    }

    /// The files of a folder: each read whole (decompressed), binary ones left out, then by its content: one
    /// document (text, a mail, an HTML page) or many (an mbox, a WARC file, JSON Lines, a MediaWiki export).
    private func readFolderFiles(_ lister: FolderLister, _ st: inout ReadState) throws(QuarryError) {
        var batch: [TextFileRecord] = []
        var batchBytes = 0
        var binary = 0
        defer { monitor.withLock { binaryFilesSkipped += binary } }
        func flush(_ st: inout ReadState) {
            if batch.isEmpty { return }
            queue.push(.textFiles(batch, firstRecord: st.record))
            st.record += batch.count
            maybeBarrier(batch.count, &st)
            batch = []
            batchBytes = 0
        }
        var consumed = st.consumedBefore
        while let entry = try lister.next() {
            if options.isInterrupted() || isStopped { return }
            let ordinal = registerSource(entry.path, lines: false)
            let bytes: [UInt8]
            do {
                bytes = try readFolderFile(entry.path, listedSize: entry.size, limit: options.maxRecordBytes)
            } catch {
                consumed += entry.size
                if options.skipBad {
                    recordSkip(error, order: (ordinal, 0))
                    continue
                }
                throw error
            }
            consumed += entry.size
            // The kind first: a WARC file holds binary payloads, an old mail raw Latin-1; only what would be read
            // as text is tested for being binary.
            let kind = DumpFormat.detect(bytes, name: entry.id)
            if (kind == .text || kind == .html) && TextFolder.looksBinary(bytes) {
                binary += 1
                continue
            }
            st.total += bytes.count
            switch kind {
            case .text, .mail, .html:
                batch.append(
                    TextFileRecord(
                        relativePath: entry.id, bytes: bytes, modificationTime: entry.modificationTime, ordinal: ordinal,
                        kind: kind))
                batchBytes += bytes.count
                if batchBytes >= 1 << 20 || batch.count >= 1024 { flush(&st) }
            case .jsonl, .tsv:
                flush(&st)
                setSourceKind(ordinal, lines: true)
                let source = MemorySource(bytes)
                try readLineSource(source, name: entry.path, format: kind == .jsonl ? .jsonl : .tsv, ordinal: ordinal, &st)
            default:
                flush(&st)
                try readRecords(MemorySource(bytes), name: entry.path, format: kind.inputFormat, ordinal: ordinal, &st)
            }
            report(consumed, &st)
        }
        flush(&st)
        st.consumedBefore = consumed
    }

    /// A dump made of records (mbox, WARC, MediaWiki, CSV): split on this thread, parsed by the workers.
    private func readRecords(
        _ source: ByteSource, name: String, format: InputFormat, ordinal: Int, _ st: inout ReadState
    ) throws(QuarryError) {
        var splitter = DumpFormat.splitter(format, delimiter: options.delimiter)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var filled = 0
        var base = 0
        var line = 1
        var index = 0
        var sawAnything = false
        while true {
            if options.isInterrupted() || isStopped { return }
            if filled == buffer.count {
                // No whole record in a full buffer: it is long. Grow up to the limit.
                if buffer.count >= options.maxRecordBytes {
                    throw QuarryError(
                        .invalidInput,
                        "a record is longer than \(options.maxRecordBytes >> 20) MiB (the limit for one document)",
                        path: name, offset: base)
                }
                buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, options.maxRecordBytes - buffer.count)))
            }
            let n = try buffer.withMutableBytes { raw throws(QuarryError) in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
            }
            if n > 0 { sawAnything = true }
            st.total += n
            report(st.consumedBefore + source.consumed, &st)
            filled += n
            let final = n == 0
            var records: [Record] = []
            let used: Int
            do {
                used = try buffer.withUnsafeBufferPointer { all throws(LineError) in
                    try splitter.split(
                        UnsafeBufferPointer(rebasing: all[0..<filled]), base: base, line: line, final: final,
                        into: &records)
                }
            } catch {
                throw QuarryError(.invalidInput, error.message, path: name, offset: base)
            }
            if !records.isEmpty {
                let parser = DumpFormat.parser(format, splitter: splitter, schema: schema, options: options)
                // Batches of about 1 MB, so that the workers share the work.
                var from = 0
                while from < records.count {
                    var to = from
                    var bytes = 0
                    while to < records.count && (bytes < 1 << 20 || to == from) {
                        bytes += records[to].bytes.count
                        to += 1
                    }
                    let chunk = Array(records[from..<to])
                    queue.push(.records(file: ordinal, firstRecord: st.record, index: index, records: chunk, parser: parser))
                    st.record += chunk.count
                    index += chunk.count
                    maybeBarrier(chunk.count, &st)
                    from = to
                }
            }
            if used > 0 {
                line += buffer[0..<used].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                base += used
                let rest = filled - used
                if rest > 0 {
                    buffer.withUnsafeMutableBytes { raw in
                        raw.baseAddress.unsafelyUnwrapped.copyMemory(
                            from: raw.baseAddress.unsafelyUnwrapped + used, byteCount: rest)
                    }
                }
                filled = rest
            }
            if final { break }
        }
        if !sawAnything {
            let e = QuarryError(.invalidInput, "the input is empty", path: name)
            guard options.skipBad else { throw e }
            recordSkip(e, order: (ordinal, 0))
        }
    }

    /// JSON Lines or TSV from a path.
    private func readLines(_ path: String, format: InputFormat, ordinal: Int, _ st: inout ReadState) throws(QuarryError) {
        let opened = try openInput(path)
        try readLineSource(opened.source, name: path == "-" ? "<stdin>" : path, format: format, ordinal: ordinal, &st)
        st.consumedBefore += opened.source.consumed
    }

    /// JSON Lines or TSV: whole lines go out to the workers in chunks.
    private func readLineSource(
        _ source: ByteSource, name: String, format: InputFormat, ordinal: Int, _ st: inout ReadState
    ) throws(QuarryError) {
        let chunkTarget = 1 << 20
        let fileIndex = ordinal
        var buffer = [UInt8](repeating: 0, count: chunkTarget + 65536)
        var filled = 0
        var line = 1
        var header: [UInt8]?
        var skippingLongLine = false
        var sawAnything = false
        while true {
            if options.isInterrupted() || isStopped { return }
            if filled == buffer.count {
                // No newline in a full buffer: the line is long. Grow up to the limit.
                if buffer.count >= options.maxRecordBytes + 1 {
                    let e = QuarryError(
                        .invalidInput,
                        "the line is longer than \(options.maxRecordBytes >> 20) MiB (the limit for one document)",
                        path: name, line: line)
                    guard options.skipBad else { throw e }
                    recordSkip(e, order: (fileIndex, line))
                    skippingLongLine = true
                    filled = 0
                } else {
                    buffer.append(contentsOf: repeatElement(0, count: min(buffer.count, options.maxRecordBytes + 1 - buffer.count)))
                }
            }
            let n = try buffer.withMutableBytes { raw throws(QuarryError) in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
            }
            st.total += n
            report(st.consumedBefore + source.consumed, &st)
            if n > 0 { sawAnything = true }
            let end = filled + n
            let atEOF = n == 0
            // Cut after the last newline (or everything at end of input).
            var cut = end
            if !atEOF {
                // After the last newline (the bytes before `filled` had none).
                guard let k = buffer.withUnsafeBytes({ lastNewline($0, filled, end) }) else {
                    filled = end
                    continue
                }
                cut = k + 1
            }
            var start = 0
            if skippingLongLine {
                // Drop the rest of the overlong line.
                if let nl = buffer[0..<cut].firstIndex(of: 0x0A) {
                    start = nl + 1
                    line += 1
                    skippingLongLine = false
                } else {
                    start = cut
                }
            }
            if format == .tsv && header == nil && start < cut {
                // The header is the first line of the file.
                let nl = buffer[start..<cut].firstIndex(of: 0x0A) ?? cut
                header = Array(buffer[start..<nl])
                line += 1
                start = min(nl + 1, cut)
            }
            // Whole lines go out as chunks; with --commit-every, a chunk ends where a commit falls due.
            var from = start
            while from < cut {
                var to = cut
                if let every = options.commitEvery, every > 0 {
                    // Just after the newline that completes the records due before the next commit.
                    var wanted = every - st.sinceBarrier
                    var k = from
                    while k < cut && wanted > 0 {
                        k = buffer.withUnsafeBytes { nextNewline($0, k, cut) } + 1
                        wanted -= 1
                    }
                    to = min(k, cut)
                }
                let bytes = Array(buffer[from..<to])
                var lines = bytes.withUnsafeBytes { countNewlines($0) }
                if atEOF && to == cut && bytes.last != 0x0A { lines += 1 }
                queue.push(.lines(file: fileIndex, firstLine: line, firstRecord: st.record, bytes: bytes, tsvHeader: header))
                line += lines
                st.record += lines
                maybeBarrier(lines, &st)
                from = to
            }
            // Keep the partial last line.
            let rest = end - cut
            if rest > 0 {
                buffer.withUnsafeMutableBytes { raw in
                    raw.baseAddress.unsafelyUnwrapped.copyMemory(from: raw.baseAddress.unsafelyUnwrapped + cut, byteCount: rest)
                }
            }
            filled = rest
            if atEOF { break }
        }
        if !sawAnything {
            let e = QuarryError(.invalidInput, "the input is empty", path: name)
            guard options.skipBad else { throw e }
            recordSkip(e, order: (fileIndex, 0))
        }
        if format == .tsv && header == nil && sawAnything {
            throw QuarryError(.invalidInput, "the TSV input has no header row", path: name, line: 1)
        }
    }



    // MARK: Working (worker threads)

    private func work(budget: Int, firstBudget: Int) {
        var limit = firstBudget
        let compressor = ZstdCompressor(level: options.storeLevel)
        var builder: SegmentBuilder?
        var doc = Document(textFieldCount: schema.textFields.count)
        var json = JSONLineParser(schema: schema, lossy: options.lossy)
        var tsv = TSVParser(schema: schema, lossy: options.lossy)
        var tsvHeader: [UInt8]?
        var repaired: [UInt8] = []
        var added = 0
        var replacedHere = 0
        var skippedHere = 0

        func flushBuilder() -> Bool {
            guard let b = builder else { return true }
            builder = nil
            if b.docCount == 0 {
                for p in b.filePaths { _ = Syscalls.unlink(p) }
                return true
            }
            do {
                let info = try b.flush()
                monitor.withLock {
                    flushed.append(info)
                    monitor.broadcast()
                }
                return true
            } catch {
                for p in b.filePaths { _ = Syscalls.unlink(p) }
                fail(error, order: (-1, 0))
                return false
            }
        }

        func add(_ location: (file: Int, line: Int), _ describe: () -> String) -> Bool {
            do {
                if builder == nil {
                    let (name, id) = allocateSegmentName()
                    builder = try SegmentBuilder(
                        schema: schema, directory: writer.directory, name: name, id: id, compressor: compressor)
                }
                guard let b = builder else { return false }
                if let earlier = b.document(withID: doc.id) {
                    switch options.onDuplicate {
                    case .replace:
                        replacedHere += 1
                    case .skip:
                        skippedHere += 1
                        return true
                    case .error:
                        let e = QuarryError(
                            .invalidInput,
                            "duplicate id '\(doc.idString)': it is also at \(self.describe(b.sequence(of: earlier))) (--on-duplicate replace keeps the later one, skip the earlier one)",
                            path: describe(), line: sourceHasLines(location.file) ? location.line : nil)
                        if options.skipBad {
                            recordSkip(e, order: location)
                            return true
                        }
                        fail(e, order: location)
                        return false
                    }
                }
                try b.add(doc, sequence: sequence(location))
                added += 1
                if added & 63 == 0 {
                    monitor.withLock { documents += 64 }
                }
                if b.memoryUsage >= limit || b.mustFlush {
                    limit = budget
                    return flushBuilder()
                }
                return true
            } catch {
                var e = error
                if e.code == .invalidInput && e.path == nil {
                    // A document the builder refused (too large to store): name its place, honour --skip-bad.
                    e.path = describe()
                    e.line = sourceHasLines(location.file) ? location.line : nil
                    if options.skipBad {
                        recordSkip(e, order: location)
                        return true
                    }
                }
                fail(e, order: location)
                return false
            }
        }

        loop: while true {
            let item = queue.pop()
            switch item {
            case .end:
                break loop
            case .barrier:
                if !isStopped { _ = flushBuilder() }
                arriveAtBarrier()
            case .textFiles(let records, _):
                if options.isInterrupted() { continue }
                for r in records {
                    let location = (r.ordinal, 0)
                    if isAfterFailure(location) { break }
                    do {
                        switch r.kind {
                        case .mail:
                            try Mail.parse(r.bytes).fill(&doc, schema: schema, fallbackID: r.relativePath)
                        case .html:
                            let (title, text) = HTMLText.extract(r.bytes)
                            var page = SourceDocument(id: r.relativePath, date: r.modificationTime)
                            page.title = title ?? ""
                            page.body = text
                            try page.fill(&doc, schema: schema, fallbackID: r.relativePath)
                        default:
                            try TextFolder.parse(r, schema: schema, lossy: options.lossy, into: &doc)
                        }
                    } catch {
                        let e = QuarryError(.invalidInput, error.message, path: r.relativePath)
                        if options.skipBad {
                            recordSkip(e, order: location)
                            continue
                        }
                        fail(e, order: location)
                        break
                    }
                    if !add(location, { r.relativePath }) { break }
                }
            case .records(let file, let firstRecord, let index, let records, let parser):
                if isAfterFailure((file, index)) || options.isInterrupted() { continue }
                let name = sourceName(file)
                for (k, r) in records.enumerated() {
                    let location = (file, index + k)
                    if isAfterFailure(location) { break }
                    let place = r.line.map { "\(name):\($0)" } ?? "\(name)@\(r.offset)"
                    do {
                        guard let source = try parser.parse(r) else { continue }
                        let fallback = options.autoID ? String(firstRecord + k + 1) : place
                        try source.fill(&doc, schema: schema, fallbackID: fallback)
                    } catch {
                        let e =
                            r.line != nil
                            ? QuarryError(.invalidInput, error.message, path: name, line: r.line)
                            : QuarryError(.invalidInput, error.message, path: name, offset: r.offset)
                        if options.skipBad {
                            recordSkip(e, order: location)
                            continue
                        }
                        fail(e, order: location)
                        break
                    }
                    if !add(location, { place }) { break }
                }
            case .lines(let file, let firstLine, let firstRecord, let bytes, let header):
                if isAfterFailure((file, firstLine)) || options.isInterrupted() { continue }
                let name = sourceName(file)
                if header != nil, let header, header != tsvHeader {
                    do {
                        try header.withBuffer { h throws(LineError) in try tsv.parseHeader(h, autoID: options.autoID) }
                        tsvHeader = header
                    } catch {
                        fail(QuarryError(.invalidInput, "bad header: " + error.message, path: name, line: 1), order: (file, 1))
                        continue
                    }
                }
                var ok = true
                func handle(_ line: UnsafeBufferPointer<UInt8>, _ thisLine: Int, _ record: Int) {
                    do {
                        let auto = options.autoID ? UInt64(record) : nil
                        if header != nil {
                            try tsv.parse(line, into: &doc, autoID: auto)
                        } else {
                            try json.parse(line, into: &doc, autoID: auto)
                        }
                    } catch {
                        let e = QuarryError(.invalidInput, "column \(error.column): \(error.message)", path: name, line: thisLine)
                        if options.skipBad {
                            recordSkip(e, order: (file, thisLine))
                            return
                        }
                        fail(e, order: (file, thisLine))
                        ok = false
                        return
                    }
                    if !add((file, thisLine), { name }) { ok = false }
                }
                bytes.withUnsafeBufferPointer { all in
                    var start = 0
                    var lineNumber = firstLine
                    var record = firstRecord
                    while start < all.count && ok && !isAfterFailure((file, lineNumber)) {
                        let end = nextNewline(UnsafeRawBufferPointer(all), start, all.count)
                        let line = UnsafeBufferPointer(rebasing: all[start..<end])
                        let thisLine = lineNumber
                        lineNumber += 1
                        record += 1
                        start = end + 1
                        // Skip blank lines.
                        if isBlank(line) { continue }
                        if options.lossy && firstInvalidUTF8(line) < line.count {
                            repaired = Array(String(decoding: line, as: UTF8.self).utf8)
                            repaired.withUnsafeBufferPointer { handle($0, thisLine, record) }
                        } else {
                            handle(line, thisLine, record)
                        }
                    }
                }
            }
        }
        monitor.withLock {
            documents += added & 63
            replaced += replacedHere
            duplicatesSkipped += skippedHere
        }
        if !isStopped && !options.isInterrupted() {
            _ = flushBuilder()
        } else if let b = builder {
            for p in b.filePaths { _ = Syscalls.unlink(p) }
            builder = nil
        }
    }

    // MARK: Merging (its own thread)

    /// Merges the segments flushed in this run as the merge policy asks, one merge at a time, until the workers are
    /// done. A merged segment replaces its sources in `flushed` (not yet committed: the commit at the end resolves
    /// ids over it, with each document's input sequence carried through the merge's doc maps).
    private func mergeWhileIndexing() {
        let compressor = ZstdCompressor(level: options.storeLevel)
        // The level rule only: the cap on the segment count is for the index as committed, after the run.
        var policy = options.mergePolicy
        policy.maxSegments = nil
        while true {
            let picked: [FlushedSegment] = monitor.withLock {
                while true {
                    if stopped || workersDone || options.isInterrupted() { return [] }
                    let candidates = flushed[committedCount...].filter { !merging.contains($0.info.name) }
                    // While the run's segments will be merged into one at its end, merging them now would rewrite
                    // the same documents twice.
                    let run = flushed[committedCount...]
                    let waits = policy.mergesRun(bytes: run.reduce(0) { $0 + $1.info.totalBytes }, count: run.count)
                    if !waits, let names = policy.findMerge(candidates.map(\.info)) {
                        let chosen = Set(names)
                        merging.formUnion(chosen)
                        return candidates.filter { chosen.contains($0.info.name) }
                    }
                    monitor.wait()
                }
            }
            if picked.isEmpty { return }
            let names = Set(picked.map(\.info.name))
            let started = Syscalls.monotonicNanoseconds()
            do {
                var sources: [MergeSource] = []
                for p in picked {
                    sources.append(
                        MergeSource(
                            reader: try SegmentReader(directory: writer.directory, info: p.info),
                            deletes: p.deletes.count > 0 ? p.deletes : nil))
                }
                let (name, id) = writer.allocateSegmentName()
                let result = try SegmentMerger.merge(
                    sources, schema: schema, directory: writer.directory, name: name, id: id,
                    compressor: compressor, isCancelled: { [self] in isStopped || options.isInterrupted() })
                var sequences = [UInt64](repeating: 0, count: result.info.docCount)
                for (i, p) in picked.enumerated() {
                    for (d, target) in result.docMaps[i].enumerated() where target >= 0 {
                        sequences[Int(target)] = p.sequences[d]
                    }
                }
                let merged = FlushedSegment(
                    info: result.info, sequences: sequences, deletes: DeletedDocuments(docCount: result.info.docCount),
                    mayRepeatIDs: true)
                sources = []
                monitor.withLock {
                    let at = flushed.firstIndex { names.contains($0.info.name) } ?? flushed.count
                    flushed.removeAll { names.contains($0.info.name) }
                    flushed.insert(merged, at: max(committedCount, min(at, flushed.count)))
                    merging.subtract(names)
                    merges += 1
                    mergedAway += picked.count
                    mergeSeconds += Double(Syscalls.monotonicNanoseconds() - started) / 1e9
                    monitor.broadcast()
                }
                for p in picked {
                    for kind in FileKind.segmentKinds { _ = Syscalls.unlink(p.info.path(kind, in: writer.directory)) }
                }
            } catch {
                monitor.withLock {
                    merging.subtract(names)
                    monitor.broadcast()
                }
                if error.code != .interrupted { fail(error, order: (-1, 0)) }
                return
            }
        }
    }

    /// Waits until every worker reached the barrier; the last one commits what has been flushed.
    private func arriveAtBarrier() {
        monitor.withLock {
            let generation = barrierGeneration
            barrierArrivals += 1
            if barrierArrivals == workerCount {
                barrierArrivals = 0
                barrierGeneration += 1
                if !stopped && !options.isInterrupted() {
                    do throws(QuarryError) {
                        try commitFlushed()
                    } catch {
                        if firstError == nil { firstError = ((-1, 0), error) }
                        stopped = true
                    }
                }
                monitor.broadcast()
            } else {
                while barrierGeneration == generation { monitor.wait() }
            }
        }
    }

}

private func < (a: (Int, Int), b: (Int, Int)) -> Bool {
    a.0 != b.0 ? a.0 < b.0 : a.1 < b.1
}

// MARK: Line scanning

/// The offset of the first newline in `bytes[from..<to]`, or `to`.
@inline(__always)
func nextNewline(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int {
    ByteScan.first(bytes, byte: 0x0A, from: from, to: to) ?? to
}

/// The offset of the last newline in `bytes[from..<to]`, or nil.
func lastNewline(_ bytes: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Int? {
    guard from < to, let base = bytes.baseAddress else { return nil }
    // Backwards, eight bytes at a time (memrchr is a GNU extension Swift does not import).
    var i = to
    let ones: UInt64 = 0x0101_0101_0101_0101
    while i - 8 >= from {
        let w = base.loadUnaligned(fromByteOffset: i - 8, as: UInt64.self) ^ (0x0A &* ones)
        if (w &- ones) & ~w & (0x80 &* ones) != 0 { break }
        i -= 8
    }
    while i > from {
        i -= 1
        if base.load(fromByteOffset: i, as: UInt8.self) == 0x0A { return i }
    }
    return nil
}

/// The number of newlines in `bytes`.
func countNewlines(_ bytes: UnsafeRawBufferPointer) -> Int {
    var n = 0
    var i = 0
    while true {
        i = nextNewline(bytes, i, bytes.count)
        if i >= bytes.count { return n }
        n += 1
        i += 1
    }
}

/// True if `line` holds only spaces, tabs and carriage returns.
@inline(__always)
func isBlank(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
    for b in line where b != 0x20 && b != 0x09 && b != 0x0D { return false }
    return true
}

/// Lists a folder (`TextFolder.list`) on a thread of its own, handing its files out in order as they are found:
/// the reading thread starts on the first files while the rest are listed, instead of waiting for a stat of
/// every file first (80 ms for 20,000 files here, while the workers had nothing to do).
final class FolderLister: @unchecked Sendable {
    private let monitor = Monitor()
    /// Found so far (guarded by the monitor); `taken` of them handed out.
    private var entries: [FolderEntry] = []
    private var taken = 0
    private var finished = false
    private var failure: QuarryError?
    private var bytes = 0
    private var takerWaits = false
    private var thread: Thread?

    init(_ root: String, include: [PathGlob], exclude: [PathGlob]) {
        thread = Thread { [self] in
            var batch: [FolderEntry] = []
            var total = 0
            func hand(_ batch: inout [FolderEntry]) {
                monitor.withLock {
                    entries.append(contentsOf: batch)
                    if takerWaits { monitor.broadcast() }
                }
                batch.removeAll(keepingCapacity: true)
            }
            var listingError: QuarryError?
            do throws(QuarryError) {
                try TextFolder.list(root, include: include, exclude: exclude) { entry in
                    batch.append(entry)
                    total += entry.size
                    if batch.count >= 256 { hand(&batch) }
                }
            } catch {
                listingError = error
            }
            hand(&batch)
            monitor.withLock {
                failure = listingError
                bytes = total
                finished = true
                monitor.broadcast()
            }
        }
    }

    /// The next file, waiting for the listing to find it; nil after the last. The listing's error, if any, comes
    /// after the files found before it.
    func next() throws(QuarryError) -> FolderEntry? {
        let result: Result<FolderEntry?, QuarryError> = monitor.withLock {
            while taken == entries.count && !finished {
                takerWaits = true
                monitor.wait()
                takerWaits = false
            }
            if taken < entries.count {
                taken += 1
                return .success(entries[taken - 1])
            }
            return failure.map { .failure($0) } ?? .success(nil)
        }
        return try result.get()
    }

    /// The bytes of every file listed, once the listing has ended without an error.
    var totalBytes: Int? {
        monitor.withLock { finished && failure == nil ? bytes : nil }
    }

    /// Waits for the listing to end.
    func join() { thread?.join() }
}

/// A folder's file, whole, in as few system calls as it takes: one read of its listed size and a byte more (a
/// regular file that gives exactly the listed size then is whole: open, read, close, where a general reader
/// peeks, reads and reads again to see the end). A file whose first bytes say it is compressed is read again
/// through `readDecompressed`; one larger than a few MiB, or that changed since it was listed, is read on to its
/// end.
func readFolderFile(_ path: String, listedSize: Int, limit: Int) throws(QuarryError) -> [UInt8] {
    guard listedSize < 4 << 20 else { return try readDecompressed(path, limit: limit, sizeHint: listedSize) }
    let file = try FileSource(path: path)
    var bytes = [UInt8](repeating: 0, count: listedSize + 1)
    var filled = 0
    while true {
        if filled == bytes.count {
            guard bytes.count <= limit else { break }
            bytes.append(contentsOf: repeatElement(0, count: bytes.count))
        }
        let n = try bytes.withMutableBytes { raw throws(QuarryError) in
            try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
        }
        filled += n
        if n == 0 || filled == listedSize { break }
    }
    bytes.removeLast(bytes.count - filled)
    let compressed = bytes.withUnsafeBytes { Compression.detect($0) } != .none
    if compressed { return try readDecompressed(path, limit: limit, sizeHint: listedSize) }
    if bytes.count > limit {
        throw QuarryError(
            .invalidInput, "the file is larger than \(limit >> 20) MiB (the limit for one document)", path: path)
    }
    return bytes
}

/// A whole file, decompressed as its first bytes say; past `limit` bytes, an error.
func readDecompressed(_ path: String, limit: Int, sizeHint: Int = 1 << 16) throws(QuarryError) -> [UInt8] {
    let source = try openInput(path).source
    var out: [UInt8] = []
    // A small file's read buffer is its size (and a byte to see the end), not 64 KiB cleared for each file.
    var buffer = [UInt8](repeating: 0, count: min(max(sizeHint + 1, 4096), 1 << 16))
    while true {
        let n = try buffer.withMutableBytes { raw throws(QuarryError) in try source.read(into: raw) }
        if n == 0 { return out }
        if out.count + n > limit {
            throw QuarryError(
                .invalidInput, "the file is larger than \(limit >> 20) MiB (the limit for one document)", path: path)
        }
        out.append(contentsOf: buffer[0..<n])
    }
}
