// `quarry check`: verify every checksum and invariant of an index.

import ArgumentParser
import Quarry

#if canImport(Glibc)
    import Glibc
#endif

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify every checksum and structural invariant of an index.",
        discussion: "Exit status: 0 when the index is sound, 1 when it is damaged (each problem is printed), 2 on error.")

    @OptionGroup var location: IndexLocation

    @Flag(name: .shortAndLong, help: "Print nothing when the index is sound.")
    var quiet = false

    func run() throws {
        let directory = try location.resolve()
        // A path that holds no index is an error (exit 2), not a damaged index (exit 1): readManifest says why.
        // (Segment files without a manifest are a damaged index: reported below, exit 1.)
        if !IndexDirectory.exists(directory) && IndexDirectory.segmentFiles(directory).isEmpty {
            _ = try IndexDirectory.readManifest(directory)
        }
        let start = Clock.now()
        let report = IndexChecker.check(directory)
        var out = OutputStream.standardOutput()
        if report.isSound {
            if !quiet {
                out.line(
                    "ok: \(report.segmentsChecked) segments, \(report.filesChecked) files, "
                        + "\(Format.bytes(report.bytesChecked)), \(Format.grouped(report.documentsChecked)) documents, "
                        + "\(Format.grouped(report.termsChecked)) terms checked in \(Format.duration(Clock.now() - start))")
            }
            out.flush()
            return
        }
        for p in report.problems { out.line("damaged: " + p.description) }
        out.line("the index is damaged: \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")
        out.flush()
        throw ExitCode(1)
    }
}

enum Clock {
    /// Seconds on a monotonic clock.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
