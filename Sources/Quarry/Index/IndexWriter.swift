// The index lifecycle, in one place: what is committed (the manifest), what is pending (segments flushed but not
// committed, deletes not yet written), and the three ways the committed state changes:
//
//     commit   pending segments join the manifest; ids they share with other segments are resolved (the newest
//              document wins by default); changed deletes are written as new `.del` generations
//     delete   documents are marked in their segment's deletes (by id, or every match of a query)
//     merge    segments are replaced by one holding their live documents (SegmentMerger.swift), chosen by the
//              merge policy (MergePolicy.swift) or forced (`quarry merge`)
//
// Every change becomes visible through one atomic manifest commit (IndexDirectory.commit): a reader sees the commit
// it opened, whole, and a crash at any point leaves the last commit. Files the new commit no longer names (merged
// segments, old deletes generations, fully deleted segments) are unlinked right after it: a reader in another
// process that still maps them keeps reading them (POSIX), and the next writer removes whatever a crash left.
//
// Indexing/ produces segments (IndexPipeline.swift for files, `add` here for the library); Index/ commits and
// retires them. One writer per directory (the write lock); its methods are not thread-safe, except
// `allocateSegmentName`, which pipeline workers call concurrently.

import Synchronization

/// What to do with a document whose id is already in the index (or earlier in the same run).
public enum DuplicatePolicy: String, Sendable, CaseIterable {
    /// The new document replaces the old one (the default; Lucene's `updateDocument`).
    case replace
    /// The old document stays; the new one is skipped.
    case skip
    /// The run stops with an error naming the input's file and line; nothing after the last commit is kept.
    case error
}

/// A segment written by this writer and not yet committed.
struct FlushedSegment {
    var info: SegmentInfo
    /// Per document: its place in the input (larger: later). Of documents sharing an id, the latest wins.
    var sequences: [UInt64]
    /// Documents already replaced (within the segment, or by a later document at commit).
    var deletes: DeletedDocuments
    /// True for a segment merged from others of the same run: it may hold an id twice (a builder's never does).
    var mayRepeatIDs = false
}

/// What a commit did.
public struct CommitSummary: Sendable, Equatable {
    /// Documents that replaced an older document with the same id.
    public var replaced = 0
    /// New documents skipped because their id was already there (`DuplicatePolicy.skip`).
    public var skipped = 0
    public init() {}
}

/// What a merge did.
public struct MergeReport: Sendable {
    public var merges = 0
    /// Segments before and after.
    public var segmentsBefore = 0
    public var segmentsAfter = 0
    /// Bytes of the segments merged away and of the segments written.
    public var bytesRead = 0
    public var bytesWritten = 0
    /// Deleted documents dropped.
    public var deletedDropped = 0
    public var seconds = 0.0
    public init() {}
}

/// Writes to one index directory. Holds the directory's write lock while it lives.
public final class IndexWriter {
    public let directory: String
    public private(set) var manifest: Manifest
    private let lock: WriteLock
    let options: IndexOptions
    /// Segments flushed and not committed.
    private var pending: [FlushedSegment] = []
    /// Committed segments whose deletes changed since the last commit, by name.
    private var changedDeletes: [String: DeletedDocuments] = [:]
    /// Open readers of committed and pending segments, by name (their `deletes` are those on disk).
    private var readers: [String: SegmentReader] = [:]
    /// The in-memory segment of documents given to `add`.
    private var builder: SegmentBuilder?
    private var addSequence: UInt64 = 0
    private var parsed: Document
    private var parser: JSONLineParser
    private lazy var compressor = ZstdCompressor(level: options.storeLevel)
    private let nextName: Mutex<UInt64>

    /// Opens (or creates) the index at `directory` for writing.
    /// - Parameter schema: the schema for a new index; for an existing index, nil or a schema equal to its own.
    public init(directory: String, schema: Schema?, options: IndexOptions) throws(QuarryError) {
        self.directory = directory
        self.options = options
        try IndexDirectory.create(directory)
        lock = try WriteLock(directory: directory, holder: options.lockHolder)
        let m: Manifest
        if IndexDirectory.exists(directory) {
            m = try IndexDirectory.readManifest(directory)
            if let schema, schema != m.schema {
                throw QuarryError(
                    .invalidArgument,
                    "the index was created with another schema (\(describe(m.schema))); the options given ask for \(describe(schema)). Leave out the field and analyzer options to use the index's own",
                    path: directory)
            }
        } else {
            guard let schema else {
                throw QuarryError(.invalidArgument, "no index here and no schema to create one", path: directory)
            }
            try schema.validate()
            m = Manifest(schema: schema)
            // A new index is committed empty at once (as Tantivy writes its meta.json on creation): a run killed
            // before its first commit then leaves an empty index, and segment files without a manifest can only
            // mean a lost manifest, which `check` reports as damage.
            try IndexDirectory.commit(m, in: directory)
        }
        manifest = m
        nextName = Mutex(m.nextSegment)
        parsed = Document(textFieldCount: m.schema.textFields.count)
        parser = JSONLineParser(schema: m.schema, lossy: options.lossy)
        try IndexDirectory.removeGarbage(directory, keeping: manifest)
    }

    deinit { discardPending() }

    /// Discards what is not committed and releases the write lock.
    public func close() {
        discardPending()
        lock.release()
    }

    public var schema: Schema { manifest.schema }

    /// True if there are changes not yet committed.
    public var hasUncommittedChanges: Bool {
        !pending.isEmpty || !changedDeletes.isEmpty || (builder?.docCount ?? 0) > 0
    }

    /// Indexes `inputs` (file paths, "-" for standard input; folders for the text format), commits, and merges
    /// segments as the merge policy asks.
    public func index(_ inputs: [String]) throws(QuarryError) -> IndexReport {
        if hasUncommittedChanges { try commit() }
        let before = Set(manifest.segments.map(\.name))
        let run = IndexRun(writer: self, options: options, inputs: inputs.isEmpty ? ["-"] : inputs)
        var report = try run.execute()
        if !report.interrupted && options.mergePolicy.isEnabled {
            // The run's own segments into one (MergePolicy: `runMergeBytes`), then the policy over the index. The
            // run is committed by now: an interrupted merge leaves it as committed, in the segments it was written in.
            do {
                let written = manifest.segments.filter { !before.contains($0.name) }
                let writtenBytes = written.reduce(0) { $0 + $1.totalBytes }
                if written.count >= 2 && options.mergePolicy.mergesRun(bytes: writtenBytes, count: written.count) {
                    var merged = MergeReport()
                    let start = Syscalls.monotonicNanoseconds()
                    try merge(written.map(\.name), into: &merged)
                    report.merges += merged.merges
                    report.mergeSeconds += Double(Syscalls.monotonicNanoseconds() - start) / 1e9
                }
                let merged = try mergeAsPolicyAsks()
                report.merges += merged.merges
                report.mergeSeconds += merged.seconds
            } catch where error.code == .interrupted {
                report.mergeInterrupted = true
            }
        }
        report.indexDocuments = manifest.liveDocumentCount
        report.indexSegments = manifest.segments.count
        report.indexBytes = manifest.segments.reduce(0) { $0 + $1.totalBytes }
        return report
    }

    /// A new segment name and id (thread-safe).
    func allocateSegmentName() -> (String, [UInt8]) {
        let n = nextName.withLock { n in
            defer { n += 1 }
            return n
        }
        return (Manifest.segmentName(n), Syscalls.randomBytes(16))
    }

    // MARK: Adding and deleting (the library API)

    /// Adds a document given as a JSON object (one line of JSON Lines input, with the schema's fields). A document
    /// whose id is already in the index replaces it at the next commit (as `options.onDuplicate` says).
    public func add(json: String) throws(QuarryError) {
        do {
            try Array(json.utf8).withBuffer { b throws(LineError) in try parser.parse(b, into: &parsed, autoID: nil) }
        } catch {
            throw QuarryError(.invalidInput, "column \(error.column): \(error.message)")
        }
        try add(parsed)
    }

    /// What `add(jsonLines:skipBad:)` did.
    public struct BatchReport: Sendable {
        /// Documents added (visible at the next commit).
        public var added = 0
        /// Bad lines: 1-based line number and message (at most 100 kept; `skipped` counts them all).
        public var errors: [(line: Int, message: String)] = []
        public var skipped = 0
    }

    /// Adds documents given as JSON Lines (the `quarry index` reader and validation, line by line). Without
    /// `skipBad` the batch is all or nothing: every line is checked first, and a bad one adds none and throws
    /// `invalidInput` naming its line. Blank lines are ignored.
    public func add(jsonLines bytes: [UInt8], skipBad: Bool) throws(QuarryError) -> BatchReport {
        var report = BatchReport()
        var lines: [Range<Int>] = []
        var start = 0
        var lineNumber = 0
        var bad = Set<Int>()
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            lineNumber += 1
            var stop = end
            if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
            let range = start..<stop
            lines.append(range)
            start = end + 1
            if bytes[range].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            // The validation pass.
            do {
                try Array(bytes[range]).withBuffer { b throws(LineError) in
                    try parser.parse(b, into: &parsed, autoID: nil)
                }
            } catch {
                if !skipBad {
                    throw QuarryError(.invalidInput, "column \(error.column): \(error.message)", line: lineNumber)
                }
                bad.insert(lineNumber)
                report.skipped += 1
                if report.errors.count < 100 {
                    report.errors.append((lineNumber, "column \(error.column): \(error.message)"))
                }
            }
        }
        for (k, range) in lines.enumerated() where !bad.contains(k + 1) {
            if bytes[range].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            do {
                try Array(bytes[range]).withBuffer { b throws(LineError) in
                    try parser.parse(b, into: &parsed, autoID: nil)
                }
            } catch {
                continue  // checked above
            }
            try add(parsed)
            report.added += 1
        }
        return report
    }

    /// Adds a document with the given id, date (seconds since 1970) and text fields (by the schema's names; other
    /// names are stored only).
    public func add(id: String, date: Int64? = nil, fields: [String: String]) throws(QuarryError) {
        var o = "{" + jsonQuote(schema.idField) + ":" + jsonQuote(id)
        if let date { o += "," + jsonQuote(schema.dateField) + ":" + jsonQuote(ISODate.format(date)) }
        for (k, v) in fields.sorted(by: { $0.key < $1.key }) where k != schema.idField && k != schema.dateField {
            o += "," + jsonQuote(k) + ":" + jsonQuote(v)
        }
        try add(json: o + "}")
    }

    private func add(_ document: Document) throws(QuarryError) {
        if builder == nil {
            let (name, id) = allocateSegmentName()
            builder = try SegmentBuilder(
                schema: schema, directory: directory, name: name, id: id, compressor: compressor)
        }
        guard let b = builder else { return }
        if b.document(withID: document.id) != nil {
            switch options.onDuplicate {
            case .replace: break
            case .skip: return
            case .error:
                throw QuarryError(
                    .invalidInput, "duplicate id '\(document.idString)': it was added before in this batch")
            }
        }
        addSequence += 1
        try b.add(document, sequence: addSequence)
        if b.memoryUsage >= options.memoryBudget || b.mustFlush { try flushBuilder() }
    }

    private func flushBuilder() throws(QuarryError) {
        guard let b = builder else { return }
        builder = nil
        if b.docCount == 0 {
            for p in b.filePaths { _ = Syscalls.unlink(p) }
            return
        }
        do {
            pending.append(try b.flush())
        } catch {
            for p in b.filePaths { _ = Syscalls.unlink(p) }
            throw error
        }
    }

    /// Deletes the document with this id (committed, or added and not committed). Takes effect at `commit()`.
    /// - Returns: 1 if a live document had this id, else 0.
    @discardableResult
    public func delete(id: String) throws(QuarryError) -> Int {
        let bytes = Array(id.utf8)
        var n = 0
        if builder?.document(withID: bytes) != nil { try flushBuilder() }
        for s in manifest.segments {
            for d in try reader(s).documents(withID: bytes) where markDeleted(d, in: s) { n += 1 }
        }
        for j in pending.indices {
            for d in try reader(pending[j].info).documents(withID: bytes) where pending[j].deletes.insert(d) {
                n += 1
            }
        }
        // A document added again since the last commit is there twice until the commit replaces the older copy
        // (or more: once per flush that held it): one document all the same.
        return n > 0 ? 1 : 0
    }

    /// Deletes every live document matching `query` (committed, or added and not committed). Takes effect at
    /// `commit()`.
    /// - Returns: the number of documents deleted.
    @discardableResult
    public func delete(matching query: Query) throws(QuarryError) -> Int {
        try flushBuilder()
        let view = try currentReader()
        let committed = manifest.segments.count
        var n = 0
        var marks: [(Int, Int)] = []
        try Searcher(reader: view).forEachMatch(query) { s, d throws(QuarryError) in marks.append((s, d)) }
        for (s, d) in marks {
            let deleted =
                s < committed ? markDeleted(d, in: manifest.segments[s]) : pending[s - committed].deletes.insert(d)
            if deleted { n += 1 }
        }
        return n
    }

    /// A reader of the committed and pending segments (with deletes as on disk: queries over it may find documents
    /// already deleted in memory).
    private func currentReader() throws(QuarryError) -> IndexReader {
        var m = manifest
        m.segments += pending.map(\.info)
        var segs: [SegmentReader] = []
        for s in m.segments { segs.append(try reader(s)) }
        return IndexReader(directory: directory, manifest: m, segments: segs)
    }

    // MARK: Committing

    /// Makes every change since the last commit durable and visible, atomically.
    @discardableResult
    public func commit() throws(QuarryError) -> CommitSummary {
        try flushBuilder()
        if pending.isEmpty && changedDeletes.isEmpty {
            try commitEmptyIfNew()
            return CommitSummary()
        }
        return try commitPending(describe: { "document \($0) added through the library" })
    }

    /// Commits the manifest even with no new segment (creates an empty index).
    public func commitEmptyIfNew() throws(QuarryError) {
        if !IndexDirectory.exists(directory) { try writeManifest(manifest, retiring: []) }
    }

    /// Adds segments flushed by the pipeline to the pending ones.
    func addPending(_ segments: [FlushedSegment]) { pending += segments }

    /// Commits the pending segments and deletes (the pipeline's commit points).
    /// - Parameter describe: names the input place of a document's sequence number, for errors.
    func commitPending(describe: (UInt64) -> String) throws(QuarryError) -> CommitSummary {
        var summary = CommitSummary()
        do {
            summary = try resolveDuplicates(describe: describe)
        } catch {
            discardPending()
            throw error
        }
        var m = manifest
        var retired: [String] = []
        var written: [String] = []
        var segments: [SegmentInfo] = []
        do {
            for var s in m.segments {
                guard let d = changedDeletes[s.name] else {
                    segments.append(s)
                    continue
                }
                let oldDeletes = s.deletesPath(in: directory)
                if d.count == s.docCount {
                    // Every document deleted: the segment goes.
                    retired += FileKind.segmentKinds.map { s.path($0, in: directory) } + [oldDeletes].compactMap { $0 }
                    continue
                }
                s.deletedCount = d.count
                s.deleteGeneration += 1
                _ = try d.write(segment: s, generation: s.deleteGeneration, in: directory)
                written += [s.deletesPath(in: directory)].compactMap { $0 }
                if let oldDeletes { retired.append(oldDeletes) }
                segments.append(s)
            }
            for p in pending {
                var s = p.info
                if p.deletes.count == s.docCount {
                    retired += FileKind.segmentKinds.map { s.path($0, in: directory) }
                    continue
                }
                if p.deletes.count > 0 {
                    s.deletedCount = p.deletes.count
                    s.deleteGeneration = 1
                    _ = try p.deletes.write(segment: s, generation: 1, in: directory)
                    written += [s.deletesPath(in: directory)].compactMap { $0 }
                }
                segments.append(s)
            }
            m.segments = segments
            try writeManifest(m, retiring: retired)
        } catch {
            if manifest != m {
                for p in written { _ = Syscalls.unlink(p) }
                discardPending()
            }
            throw error
        }
        pending = []
        changedDeletes = [:]
        return summary
    }

    /// Commits `m` (generation, time and segment counter set here), then removes `retiring`.
    private func writeManifest(_ next: Manifest, retiring: [String]) throws(QuarryError) {
        var m = next
        m.generation = manifest.generation + 1
        m.nextSegment = max(m.nextSegment, nextName.withLock { $0 })
        m.committedAt = Syscalls.wallClockSeconds()
        do {
            try IndexDirectory.commit(m, in: directory)
        } catch {
            // A failure after the rename (syncing the directory) leaves the new manifest in place: readers see it,
            // so it is the committed state, and the files it names must be kept.
            if let onDisk = try? IndexDirectory.readManifest(directory), onDisk == m {
                accept(m)
                for p in retiring { _ = Syscalls.unlink(p) }
            }
            throw error
        }
        accept(m)
        for p in retiring { _ = Syscalls.unlink(p) }
    }

    private func accept(_ m: Manifest) {
        let old = Dictionary(manifest.segments.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        manifest = m
        // Readers whose deletes changed (or whose segment went) are reopened when next needed.
        let live = Dictionary(m.segments.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in Array(readers.keys) where live[name] == nil || live[name] != old[name] {
            readers[name] = nil
        }
    }

    /// Removes the files of everything not committed.
    private func discardPending() {
        if let b = builder {
            for p in b.filePaths { _ = Syscalls.unlink(p) }
            builder = nil
        }
        let committed = Set(manifest.segments.map(\.name))
        for p in pending where !committed.contains(p.info.name) {
            readers[p.info.name] = nil
            for kind in FileKind.segmentKinds { _ = Syscalls.unlink(p.info.path(kind, in: directory)) }
        }
        pending = []
        changedDeletes = [:]
    }

    /// A reader of segment `info` (cached).
    private func reader(_ info: SegmentInfo) throws(QuarryError) -> SegmentReader {
        if let r = readers[info.name], r.info == info { return r }
        let r = try SegmentReader(directory: directory, info: info)
        readers[info.name] = r
        return r
    }

    /// Marks `doc` of committed segment `info` deleted, in place (the segment's deletes are copied once, when it
    /// first changes after a commit). - Returns: true if it was live.
    private func markDeleted(_ doc: Int, in info: SegmentInfo) -> Bool {
        if changedDeletes[info.name] == nil {
            let current = currentDeletes(info)
            if current.contains(doc) { return false }
            changedDeletes[info.name] = current
        }
        return changedDeletes[info.name]?.insert(doc) ?? false
    }

    /// The deletes of committed segment `info` as they stand (changed in memory or as on disk).
    private func currentDeletes(_ info: SegmentInfo) -> DeletedDocuments {
        if let d = changedDeletes[info.name] { return d }
        if let r = try? reader(info), let d = r.deletes { return d }
        return DeletedDocuments(docCount: info.docCount)
    }

    /// The largest id made only of decimal digits over the committed segments (for `--auto-id`), or nil.
    func largestNumericID() throws(QuarryError) -> UInt64? {
        var best: UInt64?
        for s in manifest.segments {
            try reader(s).terms.forEachTerm(Schema.idOrd) { term, _ in
                guard !term.isEmpty, term.count <= 19, term.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return true }
                var v: UInt64 = 0
                for b in term { v = v * 10 + UInt64(b - 0x30) }
                if v > (best ?? 0) || best == nil { best = v }
                return true
            }
        }
        return best
    }

    // MARK: Duplicate ids

    /// Finds ids held by more than one live document where at least one is pending, and deletes all but one of
    /// them as `options.onDuplicate` says. A k-way walk of every segment's id dictionary (ids are sorted there).
    private func resolveDuplicates(describe: (UInt64) -> String) throws(QuarryError) -> CommitSummary {
        var summary = CommitSummary()
        guard !pending.isEmpty else { return summary }
        let committed = manifest.segments
        let infos = committed + pending.map(\.info)
        // One segment that a builder wrote holds each id once (a repeated id replaced the earlier document there).
        if infos.count < 2 && !pending.contains(where: \.mayRepeatIDs) { return summary }
        var segs: [SegmentReader] = []
        for s in infos { segs.append(try reader(s)) }
        // (Read only: deletes are marked through `markDeleted`, and each id is visited once.)
        let committedDeletes = committed.map { currentDeletes($0) }
        var error: QuarryError?
        try TermMergeWalk.forEachTerm(segs, field: Schema.idOrd) { term, members throws(QuarryError) in
            // (One segment can hold an id twice: one merged from segments of this run before they were resolved.)
            guard members.count >= 2 || members.contains(where: { $0.info.docFreq > 1 }),
                members.contains(where: { $0.segment >= committed.count })
            else { return true }
            // The live documents holding this id: (segment, doc).
            var live: [(segment: Int, doc: Int)] = []
            for m in members {
                for doc in try segs[m.segment].documents(of: m.info) {
                    let dead =
                        m.segment < committed.count
                        ? committedDeletes[m.segment].contains(doc)
                        : pending[m.segment - committed.count].deletes.contains(doc)
                    if !dead { live.append((m.segment, doc)) }
                }
            }
            guard live.count >= 2 else { return true }
            func sequence(_ o: (segment: Int, doc: Int)) -> UInt64? {
                o.segment < committed.count ? nil : pending[o.segment - committed.count].sequences[o.doc]
            }
            let newOnes = live.filter { sequence($0) != nil }
            let keep: (segment: Int, doc: Int)
            switch options.onDuplicate {
            case .replace:
                keep = newOnes.max { (sequence($0) ?? 0) < (sequence($1) ?? 0) } ?? live[live.count - 1]
            case .skip:
                keep =
                    live.last { sequence($0) == nil }
                    ?? newOnes.min { (sequence($0) ?? 0) < (sequence($1) ?? 0) } ?? live[0]
            case .error:
                let newest = newOnes.max { (sequence($0) ?? 0) < (sequence($1) ?? 0) }
                let place = newest.flatMap(sequence).map(describe) ?? infos[live[0].segment].name
                error = QuarryError(
                    .invalidInput,
                    "duplicate id '\(String(decoding: term, as: UTF8.self))' at \(place): the index already has a document with this id (--on-duplicate replace replaces it, skip keeps the old one)")
                return false
            }
            for o in live where !(o.segment == keep.segment && o.doc == keep.doc) {
                if o.segment < committed.count {
                    _ = markDeleted(o.doc, in: committed[o.segment])
                } else {
                    pending[o.segment - committed.count].deletes.insert(o.doc)
                }
                if options.onDuplicate == .replace { summary.replaced += 1 } else { summary.skipped += 1 }
            }
            return true
        }
        if let error { throw error }
        return summary
    }

    // MARK: Merging

    /// Merges segments until the merge policy finds nothing to merge.
    @discardableResult
    public func mergeAsPolicyAsks() throws(QuarryError) -> MergeReport {
        try commit()
        var report = MergeReport()
        report.segmentsBefore = manifest.segments.count
        let start = Syscalls.monotonicNanoseconds()
        while let names = options.mergePolicy.findMerge(manifest.segments), !options.isInterrupted() {
            try merge(names, into: &report)
        }
        report.segmentsAfter = manifest.segments.count
        report.seconds = Double(Syscalls.monotonicNanoseconds() - start) / 1e9
        return report
    }

    /// Merges until at most `maxSegments` segments are left (with 1, also drops every deleted document).
    @discardableResult
    public func forceMerge(maxSegments: Int) throws(QuarryError) -> MergeReport {
        precondition(maxSegments >= 1, "forceMerge: at least one segment")
        try commit()
        var report = MergeReport()
        report.segmentsBefore = manifest.segments.count
        let start = Syscalls.monotonicNanoseconds()
        while !options.isInterrupted() {
            let segs = manifest.segments
            var chosen: [String] = []
            if segs.count > maxSegments {
                // The smallest segments, as many as it takes to get down to `maxSegments`.
                chosen = MergePolicy.smallest(
                    max(2, min(segs.count - maxSegments + 1, options.mergePolicy.maxMergeAtOnce)), of: segs)
            } else if maxSegments == 1, let only = segs.first, segs.count == 1, only.deletedCount > 0 {
                chosen = [only.name]
            }
            if chosen.isEmpty { break }
            try merge(chosen, into: &report)
        }
        report.segmentsAfter = manifest.segments.count
        report.seconds = Double(Syscalls.monotonicNanoseconds() - start) / 1e9
        return report
    }

    /// Merges the committed segments `names` into one and commits the result.
    private func merge(_ names: [String], into report: inout MergeReport) throws(QuarryError) {
        let chosen = Set(names)
        let infos = manifest.segments.filter { chosen.contains($0.name) }
        var sources: [MergeSource] = []
        for s in infos { sources.append(MergeSource(reader: try reader(s), deletes: currentDeletes(s))) }
        let (name, id) = allocateSegmentName()
        let result = try SegmentMerger.merge(
            sources, schema: schema, directory: directory, name: name, id: id, compressor: compressor,
            isCancelled: options.isInterrupted)
        var m = manifest
        var retired: [String] = []
        for s in infos {
            retired += FileKind.segmentKinds.map { s.path($0, in: directory) }
            if let d = s.deletesPath(in: directory) { retired.append(d) }
        }
        let firstIndex = m.segments.firstIndex { chosen.contains($0.name) } ?? m.segments.count
        m.segments.removeAll { chosen.contains($0.name) }
        if result.info.docCount > 0 {
            m.segments.insert(result.info, at: min(firstIndex, m.segments.count))
        } else {
            retired += FileKind.segmentKinds.map { result.info.path($0, in: directory) }
        }
        do {
            try writeManifest(m, retiring: retired)
        } catch {
            if manifest != m {
                for kind in FileKind.segmentKinds { _ = Syscalls.unlink(result.info.path(kind, in: directory)) }
            }
            throw error
        }
        report.merges += 1
        report.bytesRead += infos.reduce(0) { $0 + $1.totalBytes }
        report.bytesWritten += result.info.totalBytes
        report.deletedDropped += infos.reduce(0) { $0 + $1.deletedCount }
    }
}

func describe(_ s: Schema) -> String {
    "id '\(s.idField)', date '\(s.dateField)', text fields \(s.textFields.map { "'\($0)'" }.joined(separator: ", ")), analyzer '\(s.analyzer.rawValue)'"
}

/// A JSON string literal: quotes, backslashes and control characters (and DEL) escaped.
public func jsonQuote(_ s: String) -> String {
    // Most text needs no escape: then the string is copied whole (a byte scan, no per-character appends).
    var plain = true
    for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F {
        plain = false
        break
    }
    if plain { return "\"" + s + "\"" }
    var out: [UInt8] = [0x22]
    out.reserveCapacity(s.utf8.count + 16)
    let hex = Array("0123456789abcdef".utf8)
    for b in s.utf8 {
        switch b {
        case 0x22: out += [0x5C, 0x22]
        case 0x5C: out += [0x5C, 0x5C]
        case 0x0A: out += [0x5C, UInt8(ascii: "n")]
        case 0x0D: out += [0x5C, UInt8(ascii: "r")]
        case 0x09: out += [0x5C, UInt8(ascii: "t")]
        default:
            if b < 0x20 || b == 0x7F {
                out += [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            } else {
                out.append(b)
            }
        }
    }
    out.append(0x22)
    return String(decoding: out, as: UTF8.self)
}
