// The terminal: whether stdout/stderr are terminals, Ctrl-C, and the progress line of `quarry index`.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Quarry
import Synchronization

/// Set by the SIGINT handler.
let interrupted = Atomic<Bool>(false)

enum Terminal {
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// True when `NO_COLOR` is set and not empty (no-color.org): no colour unless `--color always`.
    static var noColorRequested: Bool {
        guard let value = getenv("NO_COLOR") else { return false }
        return value.pointee != 0
    }

    /// Routes Ctrl-C to `interrupted`; a second Ctrl-C ends the process at once.
    static func catchInterrupts() {
        signal(SIGINT) { _ in
            if interrupted.load(ordering: .relaxed) {
                _exit(130)
            }
            interrupted.store(true, ordering: .relaxed)
        }
    }

    static var wasInterrupted: Bool { interrupted.load(ordering: .relaxed) }

    /// Draws the progress line (on stderr, which must be a terminal).
    static func drawProgress(_ p: IndexProgress) {
        var line = "\r\u{1B}[2K" + Format.grouped(p.documents) + " docs"
        let mbps = p.seconds > 0 ? Double(p.bytesConsumed) / 1e6 / p.seconds : 0
        line += "  " + Format.bytes(p.bytesConsumed) + "  " + Format.fixed(mbps, 1) + " MB/s"
        if let total = p.bytesTotal, total > 0 {
            let fraction = min(1, Double(p.bytesConsumed) / Double(total))
            let width = 24
            let filled = Int(fraction * Double(width))
            line += "  [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            line += Format.fixed(fraction * 100, 0) + "%"
            if fraction > 0.01 && p.seconds > 1 {
                let eta = p.seconds / fraction - p.seconds
                line += "  ETA " + Format.duration(eta)
            }
        }
        var e = OutputStream.standardError()
        e.write(line)
        e.flush()
    }

    static func clearProgress() {
        var e = OutputStream.standardError()
        e.write("\r\u{1B}[2K")
        e.flush()
    }
}
