// `quarry get`: print stored documents by id, as JSON Lines.

import ArgumentParser
import Quarry

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print stored documents by id as JSON Lines.",
        discussion: "Exit status: 0 if every id was found, 1 if some were not, 2 on error.\nExample: quarry get -i news-index qn-0042")

    @OptionGroup var location: IndexLocation

    @Argument(help: "Document ids.")
    var ids: [String] = []

    @Option(name: .long, help: "A file of ids, one per line ('-' for standard input): for many ids.")
    var idsFrom: String?

    func validate() throws {
        if ids.isEmpty && idsFrom == nil { throw ValidationError("give ids or --ids-from FILE") }
    }

    func run() throws {
        let reader = try location.openReader()
        var out = OutputStream.standardOutput()
        var missing = 0
        var all = ids
        if let idsFrom { all += try readIDs(idsFrom) }
        // Located in byte order (each block of a segment's id dictionary is then decompressed once), printed in
        // the order given.
        var located = [(Int, Int)?](repeating: nil, count: all.count)
        for i in byteOrder(all) { located[i] = try reader.locate(id: all[i]) }
        for (i, id) in all.enumerated() {
            if let (segment, doc) = located[i] {
                out.write(bytes: try reader.storedDocument(segment: segment, doc: doc))
                out.line()
            } else {
                out.flush()
                printError("quarry: no document with id '\(id)'")
                missing += 1
            }
        }
        out.flush()
        if missing > 0 { throw ExitCode(1) }
    }
}
