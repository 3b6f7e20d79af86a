// Read-only memory maps of index files.
//
// A `MappedFile` owns one `mmap` of a whole file and unmaps it in `deinit`. It is immutable after creation and may
// be shared between threads. Readers hand out `RawBytes` windows into it; whoever holds a `RawBytes` must also hold
// (directly or through a reader object) the `MappedFile` it came from.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import CQuarry
import Synchronization
import SystemPackage

/// A read-only memory map of a whole file.
final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from (for error messages).
    let path: String
    /// The mapped bytes. Empty files map to an empty window.
    let bytes: RawBytes
    private let mapping: UnsafeMutableRawPointer?
    private let mappedLength: Int
    /// The SIGBUS guard's slot for this mapping (-1: unguarded).
    private let guardSlot: Int32
    /// The chunk checksums, read on first use and shared by every reader of the file.
    private let verifier = Mutex<ChunkVerifier?>(nil)

    /// The file's chunk checksum verifier (ChunkChecksums.swift), made once.
    func chunkVerifier() throws(QuarryError) -> ChunkVerifier {
        try verifier.withLock { (v: inout ChunkVerifier?) throws(QuarryError) -> ChunkVerifier in
            if let v { return v }
            let made = try ChunkVerifier.open(bytes, path: path)
            v = made
            return made
        }
    }

    /// Maps the file at `path`.
    /// - Throws: `QuarryError.io` if the file cannot be opened or mapped.
    init(path: String) throws(QuarryError) {
        self.path = path
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
        } catch {
            throw QuarryError.io(path, "open index file", errnoOf(error))
        }
        defer { try? fd.close() }
        let size: Int64
        switch Syscalls.status(fd) {
        case .success(let st): size = st.size
        case .failure(let e): throw QuarryError.io(path, "stat index file", e)
        }
        guard size > 0 else {
            self.mapping = nil
            self.mappedLength = 0
            self.guardSlot = -1
            self.bytes = RawBytes(base: UnsafeRawPointer(bitPattern: 8).unsafelyUnwrapped, count: 0)
            return
        }
        guard let length = Int(exactly: size) else {
            throw QuarryError(.io, "index file is too large to map", path: path)
        }
        if let e = Syscalls.injectedFailure(.mmap, path) { throw QuarryError.io(path, "map index file into memory", e) }
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd.rawValue, 0)
        guard let p, p != MAP_FAILED else {
            throw QuarryError.io(path, "map index file into memory", Errno(rawValue: errno))
        }
        self.mapping = p
        self.mappedLength = length
        self.bytes = RawBytes(base: UnsafeRawPointer(p), count: length)
        // Reads are random (a dictionary probe, a postings block, a stored block): without this advice the kernel
        // reads around every page fault (up to `read_ahead_kb`, 8 MB on some machines), and a cold search read
        // ~110 MB of a 1.3 GB index to count one word. Long sequential reads say so: `adviseSequential` (check,
        // merges) and `adviseWillNeed` (a long postings list).
        _ = madvise(p, length, MADV_RANDOM)
        // A file truncated while mapped would kill the process with SIGBUS on the next read past its new end; the
        // guard maps zeros there instead (which the checksums reject) and records it for `checkIntact()`.
        _ = MappedFile.guardInstalled
        self.guardSlot = quarry_guard_register(p, length)
    }

    private static let guardInstalled: Bool = quarry_guard_install() == 0

    /// True if a read of this mapping hit a page past the file's end: the file was truncated while it was open.
    var wasTruncated: Bool { guardSlot >= 0 && quarry_guard_faulted(guardSlot) != 0 }

    /// The number of truncated-file faults this process has handled (cheap: compare before and after a query).
    static var faultCount: UInt64 { quarry_guard_fault_count() }

    /// Throws if the file was truncated while it was open (its reads since then returned zeros).
    func checkIntact() throws(QuarryError) {
        if wasTruncated {
            throw QuarryError.corrupt(
                path, "the file was truncated while it was open (another process changed the index): reopen the index")
        }
    }

    /// Tells the kernel that the whole file will be read in order (used by `check`).
    func adviseSequential() {
        if let mapping {
            _ = madvise(mapping, mappedLength, MADV_SEQUENTIAL)
        }
    }

    /// Asks the kernel to read `[base, base + count)` (inside a mapping) ahead, as one request: for a long postings
    /// list about to be decoded, which `MADV_RANDOM` would otherwise fetch a page per fault.
    static func adviseWillNeed(_ base: UnsafeRawPointer, _ count: Int) {
        let page = MappedFile.pageSize
        let start = UInt(bitPattern: base) & ~UInt(page - 1)
        let end = UInt(bitPattern: base) + UInt(count)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, Int(end - start), MADV_WILLNEED)
    }

    private static let pageSize = max(Int(sysconf(Int32(_SC_PAGESIZE))), 4096)

    /// Drops the file's pages from this process's memory (they stay in the page cache, and come back on the next
    /// read). A merge reads whole segments through their maps: without this, every page it read would count in the
    /// process's resident memory until the end.
    func dropResidentPages() {
        if let mapping {
            _ = madvise(mapping, mappedLength, MADV_DONTNEED)
        }
    }

    /// Drops the pages of `[0, end)` (rounded down to a page) from this process's memory, as
    /// `dropResidentPages` does for the whole file.
    func dropResidentPages(below end: Int) {
        let page = MappedFile.pageSize
        let length = min(end, mappedLength) / page * page
        if let mapping, length > 0 {
            _ = madvise(mapping, length, MADV_DONTNEED)
        }
    }

    /// Verifies the whole-file CRC-32 (as `FileFormat.verifyChecksum`), 4 MiB at a time, dropping the pages read
    /// as it goes: merges and `check` verify whole files (a store of the 1M corpus is over 200 MB), whose pages
    /// otherwise all counted in the process's resident memory until the file was done.
    func verifyChecksumReleasingPages() throws(QuarryError) {
        try FileFormat.verifyChecksum(bytes, path: path, step: 4 << 20) { dropResidentPages(below: $0) }
    }

    deinit {
        if guardSlot >= 0 { quarry_guard_unregister(guardSlot) }
        if let mapping {
            munmap(mapping, mappedLength)
        }
    }
}

/// Keeps `object` (an index reader and its maps) alive until the process exits: a command that exits right after
/// its output leaves the maps for the kernel to drop all at once, instead of unmapping file by file.
public func keepUntilExit(_ object: AnyObject) {
    _ = Unmanaged.passRetained(object)
}

/// Reads a whole file into memory (for small files such as the manifest).
package func readWholeFile(_ path: String) throws(QuarryError) -> [UInt8] {
    let fd: FileDescriptor
    do {
        fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec])
    } catch {
        throw QuarryError.io(path, "open", errnoOf(error))
    }
    defer { try? fd.close() }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n: Int
        do {
            n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }
        } catch {
            throw QuarryError.io(path, "read", errnoOf(error))
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}
