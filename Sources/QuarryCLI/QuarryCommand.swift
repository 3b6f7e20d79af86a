// The `quarry` command: one binary, one subcommand per job. Exit statuses follow grep: 0 success (for `search`:
// something matched), 1 nothing matched (or, for `check`, the index is damaged), 2 any error, with a message
// naming the place (file:line, byte offset or query column).

import ArgumentParser
import Quarry

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The root command.
public struct QuarryCommand: ParsableCommand {
    /// Subcommands from other modules, added by the `quarry` executable before it parses (`serve`, in the
    /// QuarryServer module, so that this module and its tests build without the server's dependencies).
    nonisolated(unsafe) public static var plugins: [any ParsableCommand.Type] = []

    public static var configuration: CommandConfiguration {
        var c = baseConfiguration
        c.subcommands += plugins
        return c
    }

    static let baseConfiguration = CommandConfiguration(
        commandName: "quarry",
        abstract: "A full-text search engine: index corpus dumps, search them in milliseconds, measure latency.",
        discussion: """
            The index directory comes from -i/--index or from $QUARRY_INDEX.
            Exit status: 0 success, 1 no match (search) or damaged index (check), 2 error.
            """,
        version: "0.1.0",
        subcommands: [
            IndexCommand.self, SearchCommand.self, GetCommand.self, DeleteCommand.self, MergeCommand.self,
            StatsCommand.self, CheckCommand.self, BenchCommand.self,
        ]
    )

    public init() {}

    /// Runs the command line and exits with the right status.
    public static func mainExit(_ arguments: [String]? = nil) -> Never {
        signal(SIGPIPE, SIG_IGN)
        let status = runReturningStatus(arguments, exiting: true)
        Glibc.exit(status)
    }

    /// Runs the command line; returns the exit status instead of exiting (for tests).
    /// - Parameter exiting: the process exits right after (so a search may leave its index mapped: the kernel
    ///   unmaps it faster at exit than munmap can, file by file).
    public static func runReturningStatus(_ arguments: [String]? = nil, exiting: Bool = false) -> Int32 {
        do {
            // `quarry search` starts on a fast path when its arguments are plain.
            let argv = arguments ?? Array(CommandLine.arguments.dropFirst())
            if argv.first == "search", let request = SearchRequest.parseFast(argv.dropFirst()),
                (try? request.validate()) != nil
            {
                try request.run(exiting: exiting)
                return 0
            }
            // And `quarry get` (ArgumentParser's parse was more than half of a `get` of one id).
            if argv.first == "get", let request = GetRequest.parseFast(argv.dropFirst()), (try? request.validate()) != nil {
                try request.run()
                return 0
            }
            if let first = argv.first, let problem = unknownSubcommand(first) {
                printError("quarry: " + problem)
                return 2
            }
            var command = try parseAsRoot(arguments)
            try command.run()
            return 0
        } catch let error as QuarryError {
            printError("quarry: " + error.description)
            return error.code == .interrupted ? 130 : 2
        } catch let error as ExitCode {
            return error.rawValue
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                var out = OutputStream.standardOutput()
                out.line(message)
                out.flush()
                return 0
            }
            printError(message)
            return 2
        }
    }
}

/// The argument walk of the fast paths (`search`, `get`): words (and "-", and everything after `--`) go to `word`;
/// options go to `option` with a way to take the next argument as their value.
/// - Returns: false as soon as `option` declines one (help, `--name=value`, a missing value, an unknown option):
///   the command line then goes through ArgumentParser, which reports or handles it.
func walkPlainArguments(
    _ arguments: ArraySlice<String>, word: (String) -> Void, option: (String, () -> String?) -> Bool
) -> Bool {
    var i = arguments.startIndex
    var onlyWords = false
    while i < arguments.endIndex {
        let a = arguments[i]
        if onlyWords || !a.hasPrefix("-") || a == "-" {
            word(a)
        } else if a == "--" {
            onlyWords = true
        } else {
            let taken = option(a) {
                i += 1
                return i < arguments.endIndex ? arguments[i] : nil
            }
            if !taken { return false }
        }
        i += 1
    }
    return true
}

/// The message for a first argument that is neither an option nor a subcommand (`quarry serch -i x` would
/// otherwise be reported by ArgumentParser as "Unknown option '-i'"), with the closest subcommand if one is near.
func unknownSubcommand(_ word: String) -> String? {
    if word.hasPrefix("-") || word == "help" { return nil }
    let names = QuarryCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
    if names.contains(word) { return nil }
    let closest = names.map { (name: $0, distance: editDistance(Array(word.utf8), Array($0.utf8))) }
        .min { $0.distance < $1.distance }
    var message = "unknown command '\(word)'"
    if let closest, closest.distance <= 2 { message += "; did you mean '\(closest.name)'?" }
    return message + " (commands: " + names.joined(separator: ", ") + ")"
}

/// Levenshtein distance with adjacent transpositions (optimal string alignment).
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}

/// The index directory option shared by every command.
public struct IndexLocation: ParsableArguments {
    @Option(
        name: [.short, .customLong("index")],
        help: "The index directory (default: $QUARRY_INDEX). `search` and `get` take several: -i a -i b.")
    public var index: [String] = []

    public init() {}

    init(index: String?) {
        self.index = index.map { [$0] } ?? []
    }

    public init(indexes: [String]) {
        self.index = indexes
    }

    /// The one directory of a command that works on one index, from the option or the environment.
    func resolve() throws -> String {
        let all = try resolveAll()
        guard all.count == 1, let first = all.first else {
            throw ValidationError(
                "this command works on one index, and \(all.count) are given (-i or $QUARRY_INDEX); `quarry search` and `quarry get` take several")
        }
        return first
    }

    /// Every directory given: -i options, or $QUARRY_INDEX as a `:`-separated list.
    public func resolveAll() throws -> [String] {
        let given = index.filter { !$0.isEmpty }
        if !given.isEmpty { return given }
        if let env = getenv("QUARRY_INDEX") {
            let paths = String(cString: env).split(separator: ":").map(String.init).filter { !$0.isEmpty }
            if !paths.isEmpty { return paths }
        }
        throw ValidationError("no index directory: give -i DIR or set QUARRY_INDEX")
    }

    /// Opens the indexes given as one reader (several are searched as one: IndexReader(combining:)).
    public func openReader() throws -> IndexReader {
        let readers = try resolveAll().map { path throws -> IndexReader in try IndexReader(directory: path) }
        for (k, r) in readers.enumerated() {
            if let twin = readers[..<k].first(where: { $0.manifest.indexID == r.manifest.indexID }) {
                throw ValidationError("\(twin.directory) and \(r.directory) are the same index: give it once")
            }
        }
        return readers.count == 1 ? readers[0] : try IndexReader(combining: readers)
    }
}

/// Parses sizes such as 256M, 1G, 512k, 1000000.
public func parseSize(_ text: String) -> Int? {
    var digits = text.lowercased()
    var multiplier = 1
    if digits.hasSuffix("ib") { digits.removeLast(2) } else if digits.hasSuffix("b") { digits.removeLast() }
    if let last = digits.last {
        switch last {
        case "k": multiplier = 1 << 10
        case "m": multiplier = 1 << 20
        case "g": multiplier = 1 << 30
        case "t": multiplier = 1 << 40
        default: break
        }
        if multiplier != 1 { digits.removeLast() }
    }
    guard let n = Int(digits), n >= 0 else { return nil }
    let (v, o) = n.multipliedReportingOverflow(by: multiplier)
    return o ? nil : v
}
