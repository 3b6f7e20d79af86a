// The index directory on disk: the manifest, the segment files, and the write lock.
//
//     DIR/quarry.manifest        the committed state (see Manifest.swift)
//     DIR/write.lock             held (flock) by the one process writing; readers never take it
//     DIR/seg-0000002a.terms     segment files: .terms .post .pos .norms .dates .store
//     DIR/seg-0000002a_3.del     the segment's deleted documents, generation 3 (see DeletedDocuments.swift)
//     DIR/seg-0000002a.post.part a merge's second half of a field while it is written (.post, .pos, .terms; see
//                                SegmentMerger.swift's `TermRange`), removed before the merge ends
//
// Commits are atomic: the new manifest is written to a temporary file, fsynced, renamed over the old one, and the
// directory is fsynced. Opening the directory for writing removes every segment file that the manifest does not
// name (left by a run that was interrupted or failed), after taking the lock.

import SystemPackage

public enum IndexDirectory {
    public static let lockName = "write.lock"

    /// True if `path` holds a committed index.
    public static func exists(_ path: String) -> Bool {
        if case .success(let st) = Syscalls.status(path + "/" + Manifest.fileName) { return st.isRegular }
        return false
    }

    /// The names of the segment and deletes files in `path` (none if it cannot be listed).
    public static func segmentFiles(_ path: String) -> [String] {
        guard case .success(let names) = Syscalls.listDirectory(path) else { return [] }
        return names.filter { IndexFile(fileName: $0) != nil }
    }

    /// Reads and verifies the committed manifest.
    public static func readManifest(_ path: String) throws(QuarryError) -> Manifest {
        let file = path + "/" + Manifest.fileName
        switch Syscalls.status(path) {
        case .failure(.noSuchFileOrDirectory):
            throw QuarryError(.invalidArgument, "no index here: the directory does not exist", path: path)
        case .failure(let e):
            throw QuarryError.io(path, "open the index directory", e)
        case .success(let st):
            if !st.isDirectory {
                throw QuarryError(.invalidArgument, "not an index directory", path: path)
            }
        }
        if case .failure(.noSuchFileOrDirectory) = Syscalls.status(file) {
            throw QuarryError(
                .invalidArgument, "no index here (no \(Manifest.fileName)); build one with `quarry index -i \(path)`",
                path: path)
        }
        return try Manifest.decode(try readWholeFile(file), path: file)
    }

    /// Writes `manifest` as the new commit, atomically: write a temporary manifest, fsync it, rename it over the
    /// old one, fsync the directory. A failure before the rename leaves the previous commit; after it, the new
    /// commit stands (the rename is the commit point) and the error says it may not survive a crash.
    static func commit(_ manifest: Manifest, in path: String) throws(QuarryError) {
        let tmp = path + "/" + Manifest.temporaryName
        let bytes = manifest.encode()
        let fd: FileDescriptor
        do {
            if let e = Syscalls.injectedFailure(.create, tmp) { throw e }
            fd = try FileDescriptor.open(
                FilePath(tmp), .writeOnly, options: [.create, .truncate, .closeOnExec],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw QuarryError.io(tmp, "create the new manifest", errnoOf(error))
        }
        do {
            if let e = Syscalls.injectedFailure(.write, tmp, bytes: bytes.count) { throw e }
            _ = try fd.writeAll(bytes)
        } catch {
            try? fd.close()
            _ = Syscalls.unlink(tmp)
            throw QuarryError.io(tmp, "write the new manifest", errnoOf(error))
        }
        if case .failure(let e) = Syscalls.fsync(fd, path: tmp) {
            try? fd.close()
            _ = Syscalls.unlink(tmp)
            throw QuarryError.io(tmp, "sync the new manifest", e)
        }
        try? fd.close()
        if case .failure(let e) = Syscalls.rename(tmp, path + "/" + Manifest.fileName) {
            _ = Syscalls.unlink(tmp)
            throw QuarryError.io(path, "rename the new manifest into place", e)
        }
        if case .failure(let e) = Syscalls.fsyncDirectory(path) {
            throw QuarryError.io(path, "sync the index directory (the commit is made but may not survive a crash)", e)
        }
    }

    /// Creates the directory if needed.
    static func create(_ path: String) throws(QuarryError) {
        switch Syscalls.status(path) {
        case .success(let st):
            if !st.isDirectory { throw QuarryError(.invalidArgument, "exists and is not a directory", path: path) }
        case .failure(.noSuchFileOrDirectory):
            if case .failure(let e) = Syscalls.mkdir(path), e != .fileExists {
                throw QuarryError.io(path, "create the index directory", e)
            }
        case .failure(let e):
            throw QuarryError.io(path, "open the index directory", e)
        }
    }

    /// Removes the files of segments (and deletes generations) that `manifest` does not name, and a stale temporary
    /// manifest. Only a writer holding the lock calls it; a reader in another process that still maps a removed
    /// file keeps reading it (POSIX keeps an unlinked file while it is open or mapped).
    /// - Returns: the names removed.
    @discardableResult
    static func removeGarbage(_ path: String, keeping manifest: Manifest?) throws(QuarryError) -> [String] {
        let names: [String]
        switch Syscalls.listDirectory(path) {
        case .success(let n): names = n
        case .failure(let e): throw QuarryError.io(path, "list the index directory", e)
        }
        let segments = Dictionary(
            (manifest?.segments ?? []).map { ($0.name, $0.deleteGeneration) }, uniquingKeysWith: { a, _ in a })
        var removed: [String] = []
        for name in names {
            let garbage: Bool
            switch IndexFile(fileName: name) {
            case .segment(let segment, _): garbage = segments[segment] == nil
            case .deletes(let segment, let generation): garbage = segments[segment] != generation
            case .part(let segment): garbage = segments[segment] == nil
            case nil: garbage = name == Manifest.temporaryName
            }
            if garbage {
                _ = Syscalls.unlink(path + "/" + name)
                removed.append(name)
            }
        }
        return removed
    }
}

/// A segment's file or deletes file in an index directory, known from its name (see the file comment).
enum IndexFile: Equatable {
    /// `seg-0000002a.terms` and the other immutable files.
    case segment(String, FileKind)
    /// `seg-0000002a_3.del`: generation 3 of the segment's deletes.
    case deletes(String, UInt64)
    /// `seg-0000002a.post.part`: a part file of a merge into the segment, still being written (or left by a killed
    /// merge).
    case part(String)

    /// nil for a name that is none of these.
    init?(fileName name: String) {
        guard let dot = name.firstIndex(of: ".") else { return nil }
        let stem = name[..<dot]
        var ext = name[name.index(after: dot)...]
        if ext.hasSuffix(".part") {
            ext = ext.dropLast(5)
            guard Manifest.isValidSegmentName(String(stem)),
                [FileKind.postings, .positions, .terms].contains(where: { $0.fileExtension == ext })
            else { return nil }
            self = .part(String(stem))
            return
        }
        if ext == FileKind.deletes.fileExtension {
            guard let underscore = stem.firstIndex(of: "_"),
                let generation = UInt64(stem[stem.index(after: underscore)...], radix: 16), generation > 0,
                Manifest.isValidSegmentName(String(stem[..<underscore]))
            else { return nil }
            self = .deletes(String(stem[..<underscore]), generation)
            return
        }
        guard Manifest.isValidSegmentName(String(stem)),
            let kind = FileKind.segmentKinds.first(where: { $0.fileExtension == ext })
        else { return nil }
        self = .segment(String(stem), kind)
    }
}

/// The write lock of an index directory: held from creation until `release()` or deinit. The kernel releases it
/// if the process dies, so a killed writer never leaves a stale lock.
public final class WriteLock {
    private var fd: FileDescriptor?
    public let path: String

    /// Takes the lock of the index at `directory`.
    /// - Parameter holder: who takes it ("quarry serve on 127.0.0.1:7700"), written into the lock file with the
    ///   process id, so that a writer refused the lock can say who holds it.
    /// - Throws: `QuarryError.locked` if another process holds it.
    public init(directory: String, holder: String? = nil) throws(QuarryError) {
        path = directory + "/" + IndexDirectory.lockName
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(
                FilePath(path), .readWrite, options: [.create, .closeOnExec],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw QuarryError.io(path, "open the write lock", errnoOf(error))
        }
        switch Syscalls.lockExclusive(fd) {
        case .success:
            self.fd = fd
            // Who holds it, for the others' error messages (best effort: the lock is what counts).
            let text = holder.map { "\($0) (process \(Syscalls.processID()))" } ?? ""
            _ = Syscalls.replaceContents(fd, Array(text.utf8))
        case .failure(let e):
            var held = ""
            let bytes = Syscalls.readPrefix(fd, count: 200)
            if !bytes.isEmpty { held = String(decoding: bytes, as: UTF8.self).filter { $0 != "\n" } }
            try? fd.close()
            if e == .wouldBlock || e == .resourceTemporarilyUnavailable {
                if !held.isEmpty {
                    throw QuarryError(
                        .locked,
                        "\(held) is writing to this index (it holds \(IndexDirectory.lockName)); stop it, or send the documents to it",
                        path: directory)
                }
                throw QuarryError(
                    .locked,
                    "another process is writing to this index (it holds \(IndexDirectory.lockName)); wait for it to finish",
                    path: directory)
            }
            throw QuarryError.io(path, "lock the index", e)
        }
    }

    /// Releases the lock.
    public func release() {
        if let fd { try? fd.close() }
        fd = nil
    }

    deinit { release() }
}
