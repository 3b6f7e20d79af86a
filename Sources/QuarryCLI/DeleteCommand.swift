// `quarry delete`: delete documents by id, by a list of ids, or by query, in one atomic commit.

import ArgumentParser
import Quarry

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete documents by id, from a list of ids, or every match of a query (one atomic commit).",
        discussion: """
            Deleted documents leave search, counts, get and stats at once; their space is reclaimed when their
            segment is merged (quarry merge, or the merge policy of later index runs).
            Examples:
              quarry delete -i news qn-0042 qn-0043
              quarry delete -i news --ids-from stale-ids.txt
              quarry delete -i news --query 'title:draft' --to 1999 --dry-run
            Exit status: 0 something was deleted (or would be), 1 nothing matched, 2 error.
            """)

    @OptionGroup var location: IndexLocation

    @Option(name: .long, help: "A file of ids, one per line ('-' for standard input).")
    var idsFrom: String?

    @Option(name: .long, help: "Delete every document matching this query (quarry search syntax).")
    var query: String?

    @Option(name: .long, help: "With --query: only documents dated on or after this date.")
    var from: String?

    @Option(name: .long, help: "With --query: only documents dated on or before this date.")
    var to: String?

    @Flag(name: .long, help: "With --query: match documents with any of the words instead of all.")
    var any = false

    @Flag(name: .long, help: "Print the ids that would be deleted, and change nothing.")
    var dryRun = false

    @Flag(name: .shortAndLong, help: "Print no summary.")
    var quiet = false

    @Argument(help: "Ids of the documents to delete.")
    var ids: [String] = []

    func validate() throws {
        if ids.isEmpty && idsFrom == nil && query == nil {
            throw ValidationError("give ids, --ids-from FILE or --query QUERY")
        }
        if query == nil && (from != nil || to != nil || any) {
            throw ValidationError("--from, --to and --any go with --query")
        }
    }

    func run() throws {
        let directory = try location.resolve()
        var allIDs = ids
        if let idsFrom { allIDs += try readIDs(idsFrom) }
        // The ids and matches as they stand now (for --dry-run and for the summary).
        let reader = try IndexReader(directory: directory)
        var parsed: Query?
        if let query {
            parsed = try SearchRequest.parseQuery(query, schema: reader.schema, any: any, from: from, to: to)
        }
        var out = OutputStream.standardOutput()
        if dryRun {
            var n = 0
            var seen = Set<String>()
            for id in allIDs where seen.insert(id).inserted {
                if try reader.locate(id: id) != nil {
                    out.line(id)
                    n += 1
                }
            }
            if let parsed {
                let searcher = Searcher(reader: reader)
                var hits: [(Int, Int)] = []
                try searcher.forEachMatch(parsed) { s, d in hits.append((s, d)) }
                for (s, d) in hits {
                    let id = StoredDocument(try reader.storedDocument(segment: s, doc: d)).text(reader.schema.idField) ?? ""
                    if seen.insert(id).inserted {
                        out.line(id)
                        n += 1
                    }
                }
            }
            out.flush()
            if !quiet {
                var e = OutputStream.standardError()
                e.line("would delete \(Format.grouped(n)) document\(n == 1 ? "" : "s") (dry run: nothing changed)")
                e.flush()
            }
            if n == 0 { throw ExitCode(1) }
            return
        }
        var options = IndexOptions()
        options.mergePolicy = .none
        let writer = try IndexWriter(directory: directory, schema: nil, options: options)
        defer { writer.close() }
        var deleted = 0
        var missing: [String] = []
        var found = [Int](repeating: 0, count: allIDs.count)
        for i in byteOrder(allIDs) { found[i] = try writer.delete(id: allIDs[i]) }
        for (i, id) in allIDs.enumerated() {
            if found[i] == 0 { missing.append(id) }
            deleted += found[i]
        }
        if let parsed { deleted += try writer.delete(matching: parsed) }
        if deleted > 0 { try writer.commit() }
        if !quiet {
            var e = OutputStream.standardError()
            e.line(
                "deleted \(Format.grouped(deleted)) document\(deleted == 1 ? "" : "s"); index: "
                    + "\(Format.grouped(writer.manifest.liveDocumentCount)) documents")
            if !missing.isEmpty {
                let shown = missing.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
                e.line("not found: \(shown)\(missing.count > 5 ? " and \(missing.count - 5) more" : "")")
            }
            e.flush()
        }
        if deleted == 0 { throw ExitCode(1) }
    }
}


/// The ids of a file, one per line (`-`: standard input); blank lines are skipped, a CR before the LF dropped.
/// (Thousands of ids as arguments are slow to parse: swift-argument-parser's handling of positional arrays grows
/// with the square of their number; a file of ids does not.)
/// The indexes of `ids` in the byte order of their UTF-8: looked up in that order, each block of a segment's id
/// dictionary is decompressed once (FORMAT.md, term dictionary).
func byteOrder(_ ids: [String]) -> [Int] {
    let utf8 = ids.map { Array($0.utf8) }
    return ids.indices.sorted { utf8[$0].lexicographicallyPrecedes(utf8[$1]) }
}

func readIDs(_ path: String) throws -> [String] {
    var ids: [String] = []
    let bytes = try readFile(path)
    for (n, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
        var l = line[...]
        if l.last == 0x0D { l = l.dropLast() }
        guard let s = String(validating: l, as: UTF8.self) else {
            throw QuarryError(.invalidInput, "line \(n + 1): the id is not valid UTF-8", path: path)
        }
        if !s.isEmpty { ids.append(s) }
    }
    return ids
}
