// `quarry stats`: what an index holds and how big it is.

import ArgumentParser
import Quarry

public struct StatsCommand: ParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show documents, segments, terms per field, bytes per file kind, field lengths and date range.")

    @OptionGroup var location: IndexLocation

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    public func run() throws {
        let directory = try location.resolve()
        let reader = try IndexReader(directory: directory)
        let stats = try IndexStats(reader)
        var out = OutputStream.standardOutput()
        if json {
            out.line(StatsCommand.json(stats, directory: directory))
        } else {
            out.line("index      \(directory)")
            out.line(
                "documents  \(Format.grouped(stats.documents))"
                    + (stats.deletedDocuments > 0
                        ? " (and \(Format.grouped(stats.deletedDocuments)) deleted, dropped at the next merge)" : ""))
            out.line("segments   \(stats.segments)")
            out.line("analyzer   \(stats.analyzer.rawValue)")
            if let lo = stats.minDate, let hi = stats.maxDate {
                out.line(
                    "dates      \(ISODate.format(lo)) to \(ISODate.format(hi)) (\(Format.grouped(stats.datedDocuments)) dated documents)")
            } else {
                out.line("dates      none")
            }
            out.line("size       \(Format.bytes(stats.bytes))")
            out.line("")
            out.line("field        terms    avg length  total length")
            for f in stats.fields {
                out.line(
                    Format.padRight(f.name, 10) + Format.padLeft(Format.grouped(f.terms), 9) + "  "
                        + Format.padLeft(Format.fixed(f.averageLength, 1), 10) + "  "
                        + Format.padLeft(Format.grouped(Int(clamping: f.totalLength)), 12))
            }
            out.line("")
            out.line("file kind     bytes        share")
            for (k, b) in stats.bytesByKind {
                let share = stats.bytes > 0 ? Double(b) * 100 / Double(stats.bytes) : 0
                out.line(
                    Format.padRight(k.rawValue, 10) + Format.padLeft(Format.bytes(b), 10) + "  "
                        + Format.padLeft(Format.fixed(share, 1), 9) + " %")
            }
        }
        out.flush()
    }

    /// The statistics as one JSON object (`quarry stats --json`, the service's `/stats`).
    public static func json(_ stats: IndexStats, directory: String) -> String {
        var o = JSONObject()
        o.add("index", directory)
        o.add("documents", stats.documents)
        o.add("deleted_documents", stats.deletedDocuments)
        o.add("segments", stats.segments)
        o.add("bytes", stats.bytes)
        var kinds = JSONObject()
        for (k, b) in stats.bytesByKind { kinds.add(k.rawValue, b) }
        o.add("bytes_by_kind", raw: kinds.text)
        var fields = JSONObject()
        for f in stats.fields {
            var fo = JSONObject()
            fo.add("terms", f.terms)
            fo.add("total_length", f.totalLength)
            fo.add("average_length", f.averageLength, decimals: 3)
            fields.add(f.name, raw: fo.text)
        }
        o.add("fields", raw: fields.text)
        o.add("analyzer", stats.analyzer.rawValue)
        o.add("dated_documents", stats.datedDocuments)
        o.add("min_date", stats.minDate.map { ISODate.format($0) })
        o.add("max_date", stats.maxDate.map { ISODate.format($0) })
        o.add("generation", stats.generation)
        return o.text
    }
}
