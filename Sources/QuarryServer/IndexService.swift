// The indexes a server answers from: an immutable snapshot (readers of one commit of each index) swapped
// atomically when a new commit appears, and, for a writable server, the one writer.
//
// A request takes the current snapshot once and uses it to the end: a commit or merge in the meantime cannot
// change its answer, and the files of segments retired by a merge stay mapped until the last request holding the
// old snapshot lets go of it (the readers unmap them in their deinit).

import Logging
import Quarry
import QuarryCLI
import Synchronization

/// One consistent view of the served indexes.
public final class Snapshot: Sendable {
    public let reader: IndexReader
    /// The commit generation of each index, in the order given.
    public let generations: [UInt64]
    public let timeBudget: Duration?

    init(reader: IndexReader, timeBudget: Duration?) {
        self.reader = reader
        self.generations = reader.parts.map(\.manifest.generation)
        self.timeBudget = timeBudget
    }

    /// A searcher over this snapshot (cheap: searchers hold no state of their own).
    public var searcher: Searcher { Searcher(reader: reader, timeBudget: timeBudget) }
}

/// The served indexes and their current snapshot.
public final class IndexService: Sendable {
    public let directories: [String]
    let timeBudget: Duration?
    private let current: Mutex<Snapshot>
    /// Refreshes done (a new snapshot taken), for /health and tests.
    private let swaps: Atomic<Int>
    let writer: WriterBox?
    let logger: Logger

    /// Opens the indexes; with `writable`, also takes the (one) index's write lock.
    public init(directories: [String], timeBudget: Duration?, writable: Bool, lockHolder: String, logger: Logger) throws
    {
        // Everything that can fail first, then every stored property at once (Swift 6.3.1's release build crashes
        // on the cleanup of a partly initialized class holding an Atomic).
        var box: WriterBox?
        if writable {
            guard directories.count == 1, let only = directories.first else {
                throw QuarryError(.invalidArgument, "--writable serves one index; \(directories.count) are given")
            }
            box = try WriterBox(directory: only, holder: lockHolder)
        }
        let reader = try IndexLocation(indexes: directories).openReader()
        self.directories = directories
        self.timeBudget = timeBudget
        self.logger = logger
        self.writer = box
        self.current = Mutex(Snapshot(reader: reader, timeBudget: timeBudget))
        self.swaps = Atomic<Int>(0)
    }

    /// The snapshot to answer a request from.
    public var snapshot: Snapshot { current.withLock { $0 } }

    public var refreshCount: Int { swaps.load(ordering: .relaxed) }

    /// Takes a new snapshot if any index has a newer commit than the current one. Returns true if it did.
    /// A failure (an index being rewritten under us, a damaged manifest) keeps the current snapshot.
    @discardableResult
    public func refresh() throws -> Bool {
        let old = snapshot
        var changed = false
        for (k, directory) in directories.enumerated() {
            let generation = try IndexDirectory.readManifest(directory).generation
            if k < old.generations.count && generation != old.generations[k] { changed = true }
        }
        if !changed { return false }
        let reader = try IndexLocation(indexes: directories).openReader()
        let next = Snapshot(reader: reader, timeBudget: timeBudget)
        current.withLock { $0 = next }
        swaps.add(1, ordering: .relaxed)
        logger.info(
            "new commit: serving generation \(next.generations.map(String.init).joined(separator: ",")), \(reader.documentCount) documents"
        )
        return true
    }

    /// Polls the manifests every `interval` until the task is cancelled or shutdown begins.
    func pollForCommits(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            do {
                try refresh()
            } catch {
                // A commit in progress can remove a segment between the manifest read and the open: try again at
                // the next tick, and keep answering from the current snapshot meanwhile.
                logger.warning("could not open the new commit yet: \(error)")
            }
        }
    }
}

/// The index writer of a writable server: one write at a time (a lock around it; writes are short and rare next
/// to searches). Unchecked Sendable: the writer is only touched under the lock.
final class WriterBox: @unchecked Sendable {
    private let lock = Mutex<Void>(())
    private var writer: IndexWriter?

    init(directory: String, holder: String) throws {
        var options = IndexOptions()
        options.lockHolder = holder
        writer = try IndexWriter(directory: directory, schema: nil, options: options)
    }

    /// Runs `body` with the writer.
    func with<T>(_ body: (IndexWriter) throws -> T) throws -> T {
        try lock.withLock { _ in
            guard let w = writer else { throw QuarryError(.invalidArgument, "the server is closing: no more writes") }
            return try body(w)
        }
    }

    /// Releases the lock (what is not committed is discarded).
    func close() {
        lock.withLock { _ in
            writer?.close()
            writer = nil
        }
    }
}
