// The only code of the engine that calls libc for files: each call returns `Result<_, Errno>` and retries EINTR,
// in the manner of swift-system's `Internals/Syscalls.swift` + `Util.swift`. swift-system's `FileDescriptor` covers
// open/read/write/close; what it lacks (fsync, rename, mmap, flock, directory listing) is here.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import SystemPackage

enum Syscalls {
    @inline(__always)
    static func retryingEINTR(_ body: () -> Int32) -> Result<Int32, Errno> {
        while true {
            let r = body()
            if r == -1 {
                let e = Errno(rawValue: errno)
                if e == .interrupted { continue }
                return .failure(e)
            }
            return .success(r)
        }
    }

    /// Flushes a file to disk. `path` names it for injected failures (tests).
    static func fsync(_ fd: FileDescriptor, path: String) -> Result<Void, Errno> {
        if let e = injectedFailure(.fsync, path) { return .failure(e) }
        return retryingEINTR { system_fsync(fd.rawValue) }.map { _ in () }
    }

    /// Flushes a directory's entries (renames, creations) to disk.
    static func fsyncDirectory(_ path: String) -> Result<Void, Errno> {
        if let e = injectedFailure(.fsyncDirectory, path) { return .failure(e) }
        let opened = retryingEINTR { system_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) }
        switch opened {
        case .failure(let e): return .failure(e)
        case .success(let fd):
            let r = retryingEINTR { system_fsync(fd) }
            _ = system_close(fd)
            return r.map { _ in () }
        }
    }

    static func rename(_ from: String, _ to: String) -> Result<Void, Errno> {
        if let e = injectedFailure(.rename, to) { return .failure(e) }
        return retryingEINTR { system_rename(from, to) }.map { _ in () }
    }

    static func unlink(_ path: String) -> Result<Void, Errno> {
        if let e = injectedFailure(.unlink, path) { return .failure(e) }
        return retryingEINTR { system_unlink(path) }.map { _ in () }
    }

    static func mkdir(_ path: String) -> Result<Void, Errno> {
        retryingEINTR { system_mkdir(path, 0o755) }.map { _ in () }
    }

    static func rmdir(_ path: String) -> Result<Void, Errno> {
        retryingEINTR { system_rmdir(path) }.map { _ in () }
    }

    /// Takes an exclusive advisory lock without waiting; `.wouldBlock` means another process holds it.
    static func lockExclusive(_ fd: FileDescriptor) -> Result<Void, Errno> {
        retryingEINTR { system_flock(fd.rawValue, LOCK_EX | LOCK_NB) }.map { _ in () }
    }

    struct FileStatus {
        var size: Int64
        var isDirectory: Bool
        var isRegular: Bool
        var modificationTime: Int64
        /// The file's identity (device, inode): a folder walk remembers the folders it entered by it.
        var identity: [UInt64] = []
    }

    static func status(_ path: String) -> Result<FileStatus, Errno> {
        var st = stat()
        return retryingEINTR { system_stat(path, &st) }.map { _ in
            FileStatus(
                size: Int64(st.st_size),
                isDirectory: (st.st_mode & S_IFMT) == S_IFDIR,
                isRegular: (st.st_mode & S_IFMT) == S_IFREG,
                modificationTime: Int64(st.st_mtim.tv_sec),
                identity: [UInt64(st.st_dev), UInt64(st.st_ino)])
        }
    }

    static func status(_ fd: FileDescriptor) -> Result<FileStatus, Errno> {
        var st = stat()
        return retryingEINTR { system_fstat(fd.rawValue, &st) }.map { _ in
            FileStatus(
                size: Int64(st.st_size),
                isDirectory: (st.st_mode & S_IFMT) == S_IFDIR,
                isRegular: (st.st_mode & S_IFMT) == S_IFREG,
                modificationTime: Int64(st.st_mtim.tv_sec))
        }
    }

    /// The names in a directory, without `.` and `..`, sorted bytewise.
    static func listDirectory(_ path: String) -> Result<[String], Errno> {
        guard let dir = opendir(path) else { return .failure(Errno(rawValue: errno)) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { return .failure(Errno(rawValue: errno)) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let bytes = raw.bindMemory(to: UInt8.self)
                let length = bytes.firstIndex(of: 0) ?? bytes.count
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<length]), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }  // byte order, no copies per comparison
        return .success(names)
    }

    static func isTerminal(_ fd: Int32) -> Bool {
        isatty(fd) == 1
    }

    /// Monotonic clock in nanoseconds.
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Wall clock in seconds since 1970.
    static func wallClockSeconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    /// This process's id.
    static func processID() -> Int { Int(getpid()) }

    /// Replaces a small file's contents (the write lock's holder line); errors ignored by the caller.
    static func replaceContents(_ fd: FileDescriptor, _ bytes: [UInt8]) -> Result<Void, Errno> {
        if ftruncate(fd.rawValue, 0) != 0 { return .failure(Errno(rawValue: errno)) }
        do {
            _ = try fd.writeAll(toAbsoluteOffset: 0, bytes)
            return .success(())
        } catch {
            return .failure(error as? Errno ?? .ioError)
        }
    }

    /// The first `count` bytes of an open file (fewer if it is shorter).
    static func readPrefix(_ fd: FileDescriptor, count: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(0, count))
        let n = buffer.withUnsafeMutableBytes { b in (try? fd.read(fromAbsoluteOffset: 0, into: b)) ?? 0 }
        return Array(buffer.prefix(n))
    }

    /// Random bytes from the kernel (for segment and index ids).
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

// Thin names for libc calls, so that the wrappers above read the same on every platform.
@inline(__always) private func system_fsync(_ fd: Int32) -> Int32 { fsync(fd) }
@inline(__always) private func system_open(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}
@inline(__always) private func system_close(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) private func system_rename(_ a: String, _ b: String) -> Int32 { rename(a, b) }
@inline(__always) private func system_unlink(_ p: String) -> Int32 { unlink(p) }
@inline(__always) private func system_mkdir(_ p: String, _ m: mode_t) -> Int32 { mkdir(p, m) }
@inline(__always) private func system_rmdir(_ p: String) -> Int32 { rmdir(p) }
@inline(__always) private func system_flock(_ fd: Int32, _ op: Int32) -> Int32 { flock(fd, op) }
@inline(__always) private func system_stat(_ p: String, _ s: inout stat) -> Int32 { stat(p, &s) }
@inline(__always) private func system_fstat(_ fd: Int32, _ s: inout stat) -> Int32 { fstat(fd, &s) }
