// The one error type of the engine.
//
// Every failure that a user can cause or meet (bad input, a damaged index, a full disk, a bad query) is a
// `QuarryError` with a code, a message that says what failed and what to do, and where it happened: a file path
// with a line or byte offset, or a query column. The CLI maps codes to exit statuses (damaged index: 1 in `check`,
// everything else: 2).

import SystemPackage

/// An error raised by the Quarry engine, with enough context to tell the user what failed, where, and what to do.
public struct QuarryError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable {
        /// A file of the index fails a checksum, is truncated or holds impossible values.
        case corruptIndex
        /// A file of the index was written by an incompatible version of Quarry.
        case incompatibleFormat
        /// A system call failed (permissions, full disk, missing file).
        case io
        /// The input (a corpus file) is malformed.
        case invalidInput
        /// The query text does not parse; `column` is 1-based.
        case invalidQuery(column: Int)
        /// An argument or option is wrong.
        case invalidArgument
        /// Another process holds the index's write lock.
        case locked
        /// The operation was interrupted (Ctrl-C).
        case interrupted
        /// A search ran past its time budget (`Searcher.timeBudget`).
        case timedOut
    }

    /// What kind of failure this is.
    public var code: Code
    /// A sentence saying what failed and, where it helps, what to do.
    public var message: String
    /// The file involved, if any.
    public var path: String?
    /// The 1-based line in `path`, if the failure is tied to a line of input.
    public var line: Int?
    /// The byte offset in `path`, if known.
    public var offset: Int?
    /// The system error behind this one, if any.
    public var errno: Errno?

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, path: String? = nil, line: Int? = nil, offset: Int? = nil,
        errno: Errno? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.line = line
        self.offset = offset
        self.errno = errno
    }

    /// `path:line: message` (or `path: byte N: message`), as compilers and grep print locations.
    public var description: String {
        var out = ""
        if let path {
            out += path
            if let line {
                out += ":\(line)"
            }
            if let offset, line == nil {
                out += ": byte \(offset)"
            }
            out += ": "
        }
        if case .invalidQuery(let column) = code {
            out += "column \(column): "
        }
        out += message
        if let errno {
            out += " (\(errno.description))"
        }
        return out
    }

    static func corrupt(_ path: String, _ message: String, offset: Int? = nil) -> QuarryError {
        QuarryError(
            .corruptIndex, "damaged index file: \(message); run `quarry check` and restore or rebuild the index",
            path: path, offset: offset)
    }

    static func io(_ path: String, _ what: String, _ errno: Errno) -> QuarryError {
        var hint = ""
        switch errno {
        case .noSpace: hint = "; the disk is full: free some space and run again"
        case .permissionDenied: hint = "; check the permissions"
        case .noSuchFileOrDirectory: hint = "; no such file or directory"
        default: break
        }
        return QuarryError(.io, "cannot \(what)\(hint)", path: path, errno: errno)
    }
}

/// Runs `body`, whose errors are `QuarryError`s thrown through a `rethrows` API, and rethrows them typed.
@inline(__always)
func typed<R>(_ body: () throws -> R) throws(QuarryError) -> R {
    do {
        return try body()
    } catch let e as QuarryError {
        throw e
    } catch {
        throw QuarryError(.io, "unexpected error: \(error)")
    }
}

/// The `Errno` behind an error thrown by swift-system.
func errnoOf(_ error: any Error) -> Errno {
    (error as? Errno) ?? .ioError
}
