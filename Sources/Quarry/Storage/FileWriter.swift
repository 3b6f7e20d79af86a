// Buffered writing of one index file: header first, then the body, then the footer with the CRC-32 of all that
// came before, then fsync. A writer that is dropped without `finish()` leaves a file without a footer, which no
// reader accepts and the next writer removes as garbage.

import SystemPackage

/// Writes one index file with its header, a running checksum and its footer.
final class FileWriter {
    let path: String
    private var fd: FileDescriptor?
    private var buffer: [UInt8] = []
    private let bufferLimit: Int
    private var crc = CRC32()
    /// The chunk checksums (segment files; see ChunkChecksums.swift), until `finish` writes them.
    private var chunks: ChunkTableBuilder?
    /// Bytes written so far, header included: the file offset of the next byte.
    private(set) var position: Int = 0

    /// Creates (or truncates) `path` and writes the header.
    /// - Parameter version: the format version in the header (this build's; tests write older ones).
    init(
        path: String, kind: FileKind, id: [UInt8], bufferSize: Int = 1 << 20, version: UInt16? = nil
    ) throws(QuarryError) {
        self.path = path
        self.bufferLimit = bufferSize
        self.chunks = kind.hasChunkTable ? ChunkTableBuilder() : nil
        buffer.reserveCapacity(bufferSize)
        if let e = Syscalls.injectedFailure(.create, path) { throw QuarryError.io(path, "create index file", e) }
        do {
            fd = try FileDescriptor.open(
                FilePath(path), .writeOnly, options: [.create, .truncate, .closeOnExec],
                permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw QuarryError.io(path, "create index file", errnoOf(error))
        }
        try write(FileFormat.header(kind: kind, id: id, version: version))
    }

    deinit {
        if let fd { try? fd.close() }
    }

    @inline(__always)
    func write(_ bytes: [UInt8]) throws(QuarryError) {
        buffer.append(contentsOf: bytes)
        position += bytes.count
        if buffer.count >= bufferLimit { try flushBuffer() }
    }

    @inline(__always)
    func write(_ bytes: ByteBuffer) throws(QuarryError) {
        try write(bytes.bytes)
    }

    func write(_ raw: UnsafeRawBufferPointer) throws(QuarryError) {
        buffer.append(contentsOf: raw)
        position += raw.count
        if buffer.count >= bufferLimit { try flushBuffer() }
    }

    func write(_ bytes: RawBytes) throws(QuarryError) {
        try write(UnsafeRawBufferPointer(start: bytes.base, count: bytes.count))
    }

    /// Writes what is buffered to the file, without a footer and without syncing it to disk (for a merge's part
    /// files, which are read back by the same merge and removed: see SegmentMerger.swift's `TermRange`).
    func flush() throws(QuarryError) {
        try flushBuffer()
    }

    private func flushBuffer() throws(QuarryError) {
        guard let fd else { throw QuarryError(.io, "write after close", path: path) }
        if buffer.isEmpty { return }
        if let e = Syscalls.injectedFailure(.write, path, bytes: buffer.count) {
            throw QuarryError.io(path, "write index file", e)
        }
        crc.update(buffer)
        buffer.withUnsafeBytes { chunks?.update($0) }
        do {
            _ = try buffer.withUnsafeBytes { try fd.writeAll($0) }
        } catch {
            throw QuarryError.io(path, "write index file", errnoOf(error))
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the footer, flushes, fsyncs and closes the file. Returns the file's size.
    @discardableResult
    func finish() throws(QuarryError) -> Int {
        // The table covers every byte before it: flush them through the builder first.
        try flushBuffer()
        if var table = chunks {
            chunks = nil
            try write(table.finish())
        }
        buffer.append(contentsOf: FileFormat.footerMagic)
        position += 4
        try flushBuffer()
        var tail = ByteBuffer()
        tail.u32(crc.value)
        buffer = tail.bytes
        position += 4
        try flushBuffer()
        guard let fd else { throw QuarryError(.io, "finish after close", path: path) }
        if case .failure(let e) = Syscalls.fsync(fd, path: path) {
            throw QuarryError.io(path, "sync index file to disk", e)
        }
        do {
            try fd.close()
        } catch {
            self.fd = nil
            throw QuarryError.io(path, "close index file", errnoOf(error))
        }
        self.fd = nil
        return position
    }
}
