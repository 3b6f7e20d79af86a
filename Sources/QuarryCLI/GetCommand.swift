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

    var request: GetRequest { GetRequest(indexes: location.index, ids: ids, idsFrom: idsFrom) }

    func validate() throws { try request.validate() }

    func run() throws { try request.run() }
}

/// What `quarry get` does, from ArgumentParser's parse or from `parseFast`: ArgumentParser's parse costs about
/// 12 M instructions in this binary (its protocol-conformance checks scan every conformance of the server's
/// libraries too), more than half of a `get` of one id.
struct GetRequest: Equatable {
    var indexes: [String] = []
    var ids: [String] = []
    var idsFrom: String?

    func validate() throws {
        if ids.isEmpty && idsFrom == nil { throw ValidationError("give ids or --ids-from FILE") }
    }

    /// The request for plain arguments (`-i`/`--index`, `--ids-from`, ids, `--`), nil for anything else (help,
    /// `--option=value`, unknown options), which goes through ArgumentParser.
    static func parseFast(_ arguments: ArraySlice<String>) -> GetRequest? {
        var r = GetRequest()
        let plain = walkPlainArguments(arguments, word: { r.ids.append($0) }) { a, value in
            switch a {
            case "-i", "--index": guard let v = value() else { return false }; r.indexes.append(v)
            case "--ids-from": guard let v = value(), r.idsFrom == nil else { return false }; r.idsFrom = v
            default: return false
            }
            return true
        }
        return plain ? r : nil
    }

    func run() throws {
        let reader = try IndexLocation(indexes: indexes).openReader()
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
