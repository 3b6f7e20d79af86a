// Test-only fault injection below the manifest: the file operations of the engine (create, write, fsync, rename,
// unlink, directory fsync, mmap) ask `FaultInjection.failure(_:_:)` before they run, and a test can make any of
// them fail with the errno it chooses, or make the disk fill up after so many bytes (ENOSPC).
//
// Compiled only with `QUARRY_FAULT_INJECTION` (debug builds, as swift-system compiles its mocking hooks only with
// `ENABLE_MOCKING`): release builds have no hook, and no production option can reach it. Rules are scoped by a path
// prefix (a test's temporary directory), so tests that run in parallel do not fail each other's files.

import SystemPackage

/// The file operations a test can make fail.
enum FileOperation: String, Sendable, CaseIterable {
    case create, write, fsync, rename, unlink, fsyncDirectory, mmap
}

#if QUARRY_FAULT_INJECTION
    import Synchronization

    enum FaultInjection {
        typealias Operation = FileOperation

        /// One way to fail: operations of `operation` on paths starting with `pathPrefix` (and containing
        /// `pathContains`, if set), from the `after`-th match on (0: the first), fail with `error`.
        struct Rule: Sendable {
            var operation: Operation
            var pathPrefix: String
            var pathContains: String? = nil
            var after: Int = 0
            var error: Errno = .ioError
            /// Writes only: the disk is full once this many bytes were written under the prefix (ENOSPC). The
            /// write that crosses the limit fails.
            var diskBytes: Int? = nil
        }

        private struct State {
            var rules: [Rule] = []
            var matches: [Int] = []
            var written: [Int] = []
            /// Operations failed so far, per rule.
            var failures: [Int] = []
        }

        private static let state = Mutex(State())

        /// Runs `body` with `rule` in force, and returns what it returned and how many operations the rule failed.
        static func with<R, E: Error>(_ rule: Rule, _ body: () throws(E) -> R) throws(E) -> (
            R, failures: Int
        ) {
            let index = state.withLock { s in
                s.rules.append(rule)
                s.matches.append(0)
                s.written.append(0)
                s.failures.append(0)
                return s.rules.count - 1
            }
            defer {
                state.withLock { s in
                    // Rules of other tests may have been added after this one: disable, do not remove.
                    s.rules[index].pathPrefix = "\u{0}disabled"
                }
            }
            let result = try body()
            return (result, state.withLock { $0.failures[index] })
        }

        /// The error an operation on `path` must fail with, if a rule says so. `bytes`: the size of a write.
        static func failure(_ operation: Operation, _ path: String, bytes: Int = 0) -> Errno? {
            state.withLock { s in
                for i in s.rules.indices {
                    let r = s.rules[i]
                    guard r.operation == operation, path.hasPrefix(r.pathPrefix),
                        r.pathContains.map({ path.contains($0) }) ?? true
                    else { continue }
                    if let limit = r.diskBytes {
                        s.written[i] += bytes
                        if s.written[i] <= limit { continue }
                        s.failures[i] += 1
                        return .noSpace
                    }
                    s.matches[i] += 1
                    if s.matches[i] > r.after {
                        s.failures[i] += 1
                        return r.error
                    }
                }
                return nil
            }
        }
    }
#endif

extension Syscalls {
    /// The injected failure of `operation` on `path` (debug builds with a test's rule in force), or nil.
    @inline(__always)
    static func injectedFailure(_ operation: FileOperation, _ path: String, bytes: Int = 0) -> Errno? {
        #if QUARRY_FAULT_INJECTION
            return FaultInjection.failure(operation, path, bytes: bytes)
        #else
            return nil
        #endif
    }
}
