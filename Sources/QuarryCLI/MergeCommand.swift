// `quarry merge`: merge segments now, past the merge policy (Lucene's forceMerge, Tantivy's merge).

import ArgumentParser
import Quarry

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge segments: fewer segments, deleted documents dropped, faster queries.",
        discussion: """
            With --max-segments N, merges the smallest segments until at most N are left (with 1, the index becomes
            one segment with no deleted documents). Without it, merges as the merge policy asks. Readers keep
            working during a merge; the result is one atomic commit.
            Example: quarry merge -i news --max-segments 1
            """)

    @OptionGroup var location: IndexLocation

    @Option(name: .long, help: "Merge until at most this many segments are left.")
    var maxSegments: Int?

    @Flag(name: .shortAndLong, help: "Print no summary.")
    var quiet = false

    func validate() throws {
        if let maxSegments, maxSegments < 1 { throw ValidationError("--max-segments must be at least 1") }
    }

    func run() throws {
        let directory = try location.resolve()
        if !IndexDirectory.exists(directory) { _ = try IndexDirectory.readManifest(directory) }
        var options = IndexOptions()
        Terminal.catchInterrupts()
        options.isInterrupted = { Terminal.wasInterrupted }
        let writer = try IndexWriter(directory: directory, schema: nil, options: options)
        defer { writer.close() }
        let report: MergeReport
        if let maxSegments {
            report = try writer.forceMerge(maxSegments: maxSegments)
        } else {
            report = try writer.mergeAsPolicyAsks()
        }
        if !quiet {
            var e = OutputStream.standardError()
            let mbps = report.seconds > 0 ? Double(report.bytesRead) / 1e6 / report.seconds : 0
            e.line(
                "\(report.merges) merge\(report.merges == 1 ? "" : "s"): \(report.segmentsBefore) → \(report.segmentsAfter) segments, "
                    + "\(Format.bytes(report.bytesRead)) read, \(Format.bytes(report.bytesWritten)) written, "
                    + "\(Format.grouped(report.deletedDropped)) deleted documents dropped in \(Format.duration(report.seconds))"
                    + (report.merges > 0 ? " (\(Format.fixed(mbps, 1)) MB/s)" : ""))
            e.flush()
        }
        if Terminal.wasInterrupted {
            throw QuarryError(.interrupted, "interrupted: the index is at its last commit", path: directory)
        }
    }
}
