// `quarry serve`: keeps indexes open and answers over HTTP (docs/API.md).

import ArgumentParser
import Dispatch
import Logging
import NIOCore
import NIOPosix
import Quarry
import QuarryCLI
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public struct ServeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve indexes over HTTP: a JSON API, a search page and Prometheus metrics.",
        discussion: """
            Endpoints (docs/API.md): GET /search?q=…, /count?q=…, /docs/{id}, /stats, /health, /metrics, and the
            search page at /. With --writable: POST /docs (JSON Lines), DELETE /docs/{id}, POST /commit.
            New commits (from `quarry index` in another shell) are picked up without a restart.
            SIGTERM or Ctrl-C: requests in flight finish, then the server exits 0.
            Examples:
              quarry serve -i news
              quarry serve -i 2023 -i 2024 --port 8080
              curl 'http://127.0.0.1:7700/search?q=%22interest+rates%22&limit=3'
            """)

    public init() {}

    @OptionGroup var location: IndexLocation

    @Option(name: .long, help: "The address to listen on (loopback by default; 0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(name: .long, help: "The port (0: any free port, printed at start).")
    var port = 7700

    @Option(name: .long, help: "Event loop threads for HTTP (default: the number of cores).")
    var threads: Int?

    @Flag(
        name: .long, help: "Accept writes (POST /docs, DELETE /docs/{id}, POST /commit); holds the index's write lock.")
    var writable = false

    @Option(name: .long, help: "The largest request body, e.g. 64M.")
    var maxBody = "64M"

    @Option(name: .long, help: "The longest a query may run, in milliseconds, before the answer is 503 (0: no limit).")
    var timeBudget = 10_000

    @Option(name: .long, help: "Open connections at most (more wait to be accepted).")
    var maxConnections = 1024

    @Option(name: .long, help: "How often to look for a new commit, in milliseconds.")
    var refreshMs = 1000

    @Option(name: .long, help: "Log level: trace, debug, info (each request), notice, warning, error.")
    var logLevel = "info"

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be 1 to 256") }
        guard let size = parseSize(maxBody), size > 0 else {
            throw ValidationError("--max-body takes a size, e.g. 64M")
        }
        _ = size
        if timeBudget < 0 { throw ValidationError("--time-budget must be 0 or more") }
        if maxConnections < 1 { throw ValidationError("--max-connections must be 1 or more") }
        if refreshMs < 10 { throw ValidationError("--refresh-ms must be 10 or more") }
        if Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be trace, debug, info, notice, warning, error or critical")
        }
    }

    public func run() throws {
        var options = ServerOptions()
        options.host = host
        options.port = port
        options.threads = threads ?? System.coreCount
        // NIO's event loops become Swift concurrency's executor: handlers run where the request was read.
        options.eventLoopsAsGlobalExecutor = GlobalExecutor.install(threads: options.threads)
        options.writable = writable
        options.maxBody = parseSize(maxBody) ?? (64 << 20)
        options.timeBudget = timeBudget == 0 ? nil : .milliseconds(timeBudget)
        options.maxConnections = maxConnections
        options.refreshInterval = .milliseconds(refreshMs)
        var logger = Logger(label: "quarry")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let server = try QuarryServer(directories: try location.resolveAll(), options: options, logger: logger)
        let host = self.host
        let writable = options.writable
        let onLoops = options.eventLoopsAsGlobalExecutor
        let failure = ResultBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await server.run { port in
                    let snapshot = server.service.snapshot
                    printError(
                        "quarry: serving \(snapshot.reader.documentCount) documents at http://\(host):\(port)/"
                            + (writable ? " (writable)" : ""))
                    server.logger.debug(
                        "handlers run on \(onLoops ? "the event loops (Swift concurrency's global executor)" : "Swift concurrency's thread pool")"
                    )
                }
            } catch {
                failure.set(error)
            }
            done.signal()
        }
        done.wait()
        if let error = failure.error {
            if let io = error as? IOError, io.errnoCode == EADDRINUSE {
                throw QuarryError(
                    .invalidArgument,
                    "cannot listen on \(host):\(port): the port is taken (another server?); choose another with --port")
            }
            if let io = error as? IOError, io.errnoCode == EADDRNOTAVAIL || io.errnoCode == EACCES {
                throw QuarryError(.invalidArgument, "cannot listen on \(host):\(port): \(io)")
            }
            throw error
        }
    }
}

/// The error of the server task, handed to the waiting thread.
final class ResultBox: Sendable {
    private let stored = Mutex<(any Error)?>(nil)
    func set(_ e: any Error) { stored.withLock { $0 = e } }
    var error: (any Error)? { stored.withLock { $0 } }
}
