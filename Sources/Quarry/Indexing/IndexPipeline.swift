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
    case jsonl, tsv, text
}

/// How `quarry index` behaves.
public struct IndexOptions: Sendable {
    /// The input format.
    public var format: InputFormat = .jsonl
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
    /// For folders (`--format text`): only files whose relative path matches one of these globs (none: all).
    public var include: [String] = []
    /// For folders: files and folders whose relative path matches one of these globs are left out.
    public var exclude: [String] = []

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
}

/// A unit of work for the workers.
enum WorkItem {
    /// Whole lines of input file `file`, the first being line `firstLine` (1-based); `firstRecord` numbers
    /// documents for --auto-id.
    case lines(file: Int, firstLine: Int, firstRecord: Int, bytes: [UInt8], tsvHeader: [UInt8]?)
    case textFiles([TextFileRecord], firstRecord: Int)
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
        if options.format == .text { return "text file number \(sequence + 1)" }
        let file = Int(sequence >> 40)
        let name = file < inputs.count ? (inputs[file] == "-" ? "<stdin>" : inputs[file]) : "input \(file)"
        return "\(name):\(sequence & ((1 << 40) - 1))"
    }

    /// A document's place in the input: (file, line) packed for lines, the record number for text files.
    func sequence(_ location: (Int, Int)) -> UInt64 {
        options.format == .text ? UInt64(max(0, location.1)) : UInt64(max(0, IndexRun.pack(location)))
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

    func execute() throws(QuarryError) -> IndexReport {
        var workers: [Thread] = []
        // Each worker's share of the budget, less room for what a flush allocates. The first segments are cut at
        // staggered sizes, so that workers do not all flush (and hold flush buffers) at the same time.
        let share = max(options.memoryBudget / workerCount * 7 / 8, 4 << 20)
        for k in 0..<workerCount {
            let first = max(share * (k + 1) / workerCount, 2 << 20)
            workers.append(Thread { [self] in self.work(budget: share, firstBudget: first) })
        }
        // Segments flushed in this run are merged on a thread of their own while the workers go on (not with
        // --commit-every, whose commits would race with it: then merging waits for the end of the run).
        let merger = options.mergePolicy.isEnabled && options.commitEvery == nil
            ? Thread { [self] in self.mergeWhileIndexing() } : nil
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

    private func readInputs() throws(QuarryError) -> Int {
        var total = 0
        // --auto-id numbers on from the largest numeric id in the index, so that new numbers never meet old ones
        // (which would replace them), whatever was deleted or merged away.
        var record = writer.manifest.documentCount
        if options.autoID { record = max(record, try writer.largestNumericID().map { Int(clamping: $0) } ?? 0) }
        var consumedBefore = 0
        var lastProgress = Syscalls.monotonicNanoseconds()
        var knownTotal: Int? = 0
        var sinceBarrier = 0
        let chunkTarget = 1 << 20

        func report(_ consumed: Int) {
            guard let progress = options.progress else { return }
            let now = Syscalls.monotonicNanoseconds()
            if now - lastProgress < 200_000_000 { return }
            lastProgress = now
            let docs = monitor.withLock { documents }
            progress(IndexProgress(documents: docs, bytesConsumed: consumed, bytesTotal: knownTotal, seconds: elapsed()))
        }
        func maybeBarrier(_ records: Int) {
            guard let every = options.commitEvery, every > 0 else { return }
            sinceBarrier += records
            if sinceBarrier >= every {
                sinceBarrier = 0
                for _ in 0..<workerCount { queue.push(.barrier) }
            }
        }

        if options.format == .text {
            // Every folder listed first, so that the progress knows the total.
            let include = options.include.map(PathGlob.init)
            let exclude = options.exclude.map(PathGlob.init)
            var lists: [[FolderEntry]] = []
            for root in inputs { lists.append(try TextFolder.list(root, include: include, exclude: exclude)) }
            knownTotal = lists.reduce(0) { $0 + $1.reduce(0) { $0 + $1.size } }
            var consumed = 0
            var binary = 0
            defer { monitor.withLock { binaryFilesSkipped += binary } }
            for (fileIndex, files) in lists.enumerated() {
                var batch: [TextFileRecord] = []
                var batchBytes = 0
                for entry in files {
                    if options.isInterrupted() || isStopped { return total }
                    let bytes: [UInt8]
                    do {
                        bytes = try readDecompressed(entry.path, limit: options.maxRecordBytes)
                    } catch {
                        consumed += entry.size
                        if options.skipBad {
                            recordSkip(error, order: (fileIndex, record))
                            continue
                        }
                        throw error
                    }
                    consumed += entry.size
                    if TextFolder.looksBinary(bytes) {
                        binary += 1
                        continue
                    }
                    batch.append(
                        TextFileRecord(relativePath: entry.id, bytes: bytes, modificationTime: entry.modificationTime))
                    batchBytes += bytes.count
                    total += bytes.count
                    if batchBytes >= chunkTarget || batch.count >= 1024 {
                        queue.push(.textFiles(batch, firstRecord: record))
                        record += batch.count
                        maybeBarrier(batch.count)
                        batch = []
                        batchBytes = 0
                    }
                    report(consumed)
                }
                if !batch.isEmpty {
                    queue.push(.textFiles(batch, firstRecord: record))
                    record += batch.count
                    maybeBarrier(batch.count)
                }
            }
            return total
        }

        // The progress's total: every input's size, when all are regular files (a pipe's is unknown).
        for path in inputs {
            guard path != "-", case .success(let st) = Syscalls.status(path), st.isRegular else {
                knownTotal = nil
                break
            }
            knownTotal = (knownTotal ?? 0) + Int(st.size)
        }
        for (fileIndex, path) in inputs.enumerated() {
            let opened = try openInput(path)
            let source = opened.source
            let name = path == "-" ? "<stdin>" : path
            var buffer = [UInt8](repeating: 0, count: chunkTarget + 65536)
            var filled = 0
            var line = 1
            var header: [UInt8]?
            var skippingLongLine = false
            var sawAnything = false
            while true {
                if options.isInterrupted() || isStopped { return total }
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
                total += n
                report(consumedBefore + source.consumed)
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
                if options.format == .tsv && header == nil && start < cut {
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
                        var wanted = every - sinceBarrier
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
                    queue.push(.lines(file: fileIndex, firstLine: line, firstRecord: record, bytes: bytes, tsvHeader: header))
                    line += lines
                    record += lines
                    maybeBarrier(lines)
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
            if options.format == .tsv && header == nil && sawAnything {
                throw QuarryError(.invalidInput, "the TSV input has no header row", path: name, line: 1)
            }
            consumedBefore += source.consumed
        }
        return total
    }

    // MARK: Working (worker threads)

    private func work(budget: Int, firstBudget: Int) {
        var limit = firstBudget
        let compressor = ZstdCompressor()
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
                            path: describe(), line: options.format == .text ? nil : location.line)
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
                    e.line = options.format == .text ? nil : location.line
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
            case .textFiles(let records, let firstRecord):
                if isAfterFailure((firstRecord, firstRecord)) || options.isInterrupted() { continue }
                for (k, r) in records.enumerated() {
                    let location = (firstRecord, firstRecord + k)
                    if isAfterFailure(location) { break }
                    do {
                        try TextFolder.parse(r, schema: schema, lossy: options.lossy, into: &doc)
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
            case .lines(let file, let firstLine, let firstRecord, let bytes, let header):
                if isAfterFailure((file, firstLine)) || options.isInterrupted() { continue }
                let name = inputs[file] == "-" ? "<stdin>" : inputs[file]
                if options.format == .tsv, let header, header != tsvHeader {
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
                        if options.format == .tsv {
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
        let compressor = ZstdCompressor()
        // The level rule only: the cap on the segment count is for the index as committed, after the run.
        var policy = options.mergePolicy
        policy.maxSegments = nil
        while true {
            let picked: [FlushedSegment] = monitor.withLock {
                while true {
                    if stopped || workersDone || options.isInterrupted() { return [] }
                    let candidates = flushed[committedCount...].filter { !merging.contains($0.info.name) }
                    if let names = policy.findMerge(candidates.map(\.info)) {
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
    guard from < to, let base = bytes.baseAddress else { return to }
    guard let hit = memchr(base + from, 0x0A, to - from) else { return to }
    return UnsafeRawPointer(hit) - base
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

/// A whole file, decompressed as its first bytes say; past `limit` bytes, an error.
func readDecompressed(_ path: String, limit: Int) throws(QuarryError) -> [UInt8] {
    let source = try openInput(path).source
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
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
