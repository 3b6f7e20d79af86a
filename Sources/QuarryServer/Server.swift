// `quarry serve`: the JSON API, the search page and the metrics, on Hummingbird 2 (docs/API.md).
//
//     HTTP request --(Hummingbird: parse, route)--> handler --(IndexService.snapshot)--> SearchPage --> JSON / HTML
//
// Searches run on the request's task (they are CPU work bounded by the query limits and the time budget); the
// index snapshot is taken once per request, so a commit in the middle cannot change an answer.

import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import Quarry
import QuarryCLI
import ServiceLifecycle
import Synchronization

/// How a server is started.
public struct ServerOptions: Sendable {
    public var host = "127.0.0.1"
    public var port = 7700
    /// Event loop threads (HTTP parsing and I/O).
    public var threads = 2
    public var writable = false
    /// The largest request body (POST /docs).
    public var maxBody = 64 << 20
    /// The longest a query may run (nil: no limit).
    public var timeBudget: Duration? = .seconds(10)
    /// Open connections at most; more wait in the listen backlog.
    public var maxConnections = 1024
    /// How often to look for a new commit.
    public var refreshInterval: Duration = .seconds(1)
    /// The most hits one page may ask for (limit).
    public var maxPageHits = 10_000
    /// Seconds before an idle connection is closed.
    public var idleTimeoutSeconds = 60
    /// Run on NIO's singleton event loops, installed as Swift concurrency's global executor (`quarry serve`
    /// sets this once, at start): a request's handler then runs on the thread that read it, without a hop to
    /// another thread and back. Tests, which start several servers in one process, use a group of their own.
    public var eventLoopsAsGlobalExecutor = false

    public init() {}
}

/// A running (or ready to run) search service.
public struct QuarryServer: Sendable {
    public let service: IndexService
    public let options: ServerOptions
    let metrics: ServerMetrics
    let closing: ClosingFlag
    let logger: Logger
    /// Begins a graceful shutdown, as SIGTERM does (for embedding and tests).
    public let shutdown: ShutdownTrigger

    public init(directories: [String], options: ServerOptions, logger: Logger) throws {
        let service = try IndexService(
            directories: directories, timeBudget: options.timeBudget, writable: options.writable,
            lockHolder: "quarry serve on \(options.host):\(options.port)", logger: logger)
        self.init(service: service, options: options, logger: logger)
    }

    // (All stored properties set in one non-throwing initializer: the release build's SIL ownership verifier in
    // Swift 6.3.1 crashes on a throwing struct initializer with defaulted class-typed properties.)
    init(service: IndexService, options: ServerOptions, logger: Logger) {
        self.service = service
        self.options = options
        self.logger = logger
        self.metrics = ServerMetrics()
        self.closing = ClosingFlag()
        self.shutdown = ShutdownTrigger()
    }

    /// Serves until SIGTERM/SIGINT (or the task is cancelled): in-flight requests finish, the writer commits
    /// what it was given, then this returns.
    /// - Parameter onRunning: called with the port once the server listens (useful with port 0).
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let group: MultiThreadedEventLoopGroup =
            options.eventLoopsAsGlobalExecutor
            ? MultiThreadedEventLoopGroup.singleton
            : MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threads))
        let ownGroup = !options.eventLoopsAsGlobalExecutor
        let router = Router()
        router.add(middleware: ServerMiddleware(metrics: metrics, closing: closing, logger: logger))
        addRoutes(to: router)
        let app = Application(
            router: router,
            // An idle connection (a client that stopped sending mid-request, or keeps one open for nothing) is
            // closed after a while, so that slow clients cannot hold every connection slot.
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(options.idleTimeoutSeconds)))),
            configuration: .init(
                address: .hostname(options.host, port: options.port), serverName: "quarry",
                availableConnectionsDelegate: MaximumAvailableConnections(options.maxConnections)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
        let poller = CommitPoller(service: service, interval: options.refreshInterval, closing: closing)
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: app), .init(service: poller)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        shutdown.attach(services)
        do {
            try await services.run()
        } catch {
            if ownGroup { try? await group.shutdownGracefully() }
            finishWrites()
            throw error
        }
        if ownGroup { try? await group.shutdownGracefully() }
        finishWrites()
    }

    /// Commits what a writable server was given and releases the write lock (as Lucene's IndexWriter.close).
    private func finishWrites() {
        guard let writer = service.writer else { return }
        do {
            let summary = try writer.with { w in try w.commit() }
            if summary.replaced > 0 || summary.skipped > 0 { logger.info("committed at shutdown") }
        } catch {
            logger.error("the commit at shutdown failed: \(error); the index stays at its last commit")
        }
        writer.close()
    }
}

/// Starts a graceful shutdown of a running server from code.
public final class ShutdownTrigger: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)
    private let requested = Atomic<Bool>(false)

    func attach(_ g: ServiceGroup) {
        group.withLock { $0 = g }
        if requested.load(ordering: .relaxed) { Task { await g.triggerGracefulShutdown() } }
    }

    /// Requests in flight finish; then `run` returns.
    public func trigger() async {
        requested.store(true, ordering: .relaxed)
        if let g = group.withLock({ $0 }) { await g.triggerGracefulShutdown() }
    }
}

/// Set when graceful shutdown begins: new requests get 503.
final class ClosingFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

/// Looks for new commits while the server runs.
struct CommitPoller: Service {
    let service: IndexService
    let interval: Duration
    let closing: ClosingFlag

    func run() async throws {
        await withGracefulShutdownHandler {
            await cancelWhenGracefulShutdown { await service.pollForCommits(every: interval) }
        } onGracefulShutdown: {
            closing.set()
        }
    }
}

// MARK: Responses

/// A JSON response.
func jsonResponse(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// An HTML response.
func htmlResponse(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "text/html; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// An error as JSON: `{"error":{"type":..,"message":..,"column":..}}`, with its status.
struct APIError: Error {
    var status: HTTPResponse.Status
    var type: String
    var message: String
    var column: Int?
    var line: Int?

    init(_ status: HTTPResponse.Status, _ type: String, _ message: String, column: Int? = nil, line: Int? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.column = column
        self.line = line
    }

    /// The status and type for an engine error (the message is the CLI's).
    init(_ error: QuarryError) {
        switch error.code {
        case .invalidQuery(let column):
            self.init(.badRequest, "query", error.message, column: column)
        case .invalidArgument:
            self.init(.badRequest, "parameter", error.message)
        case .invalidInput:
            self.init(.badRequest, "input", error.message, line: error.line)
        case .timedOut:
            self.init(.serviceUnavailable, "timeout", error.message)
        case .locked:
            self.init(.conflict, "locked", error.description)
        case .interrupted:
            self.init(.serviceUnavailable, "closing", error.message)
        case .corruptIndex, .incompatibleFormat, .io:
            self.init(.internalServerError, "index", error.description)
        }
    }

    var response: Response {
        var e = JSONObject()
        e.add("type", type)
        e.add("message", message)
        if let column { e.add("column", column) }
        if let line { e.add("line", line) }
        e.add("status", Int(status.code))
        return jsonResponse("{\"error\":" + e.text + "}", status: status)
    }
}

// MARK: Middleware

/// Closing (503), error bodies, access log and metrics for every request.
struct ServerMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let closing: ClosingFlag
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let endpoint = ServerMetrics.endpoint(request.method, request.uri.path)
        var response: Response
        if closing.isSet {
            response = APIError(.serviceUnavailable, "closing", "the server is shutting down").response
            response.headers[.connection] = "close"
        } else {
            do {
                response = try await next(request, context)
            } catch let error as APIError {
                response = error.response
            } catch let error as QuarryError {
                response = APIError(error).response
            } catch let error as any HTTPResponseError {
                let status = error.status
                if status == .notFound, let allowed = ServerMetrics.methods(request.uri.path) {
                    // A known path with another method: 405 and the methods it takes (RFC 9110).
                    response =
                        APIError(
                            .methodNotAllowed, "method",
                            "\(request.method) is not allowed on \(request.uri.path); it takes \(allowed.joined(separator: ", "))"
                        ).response
                    response.headers[.allow] = allowed.joined(separator: ", ")
                } else {
                    let message =
                        status == .contentTooLarge
                        ? "the request body is larger than the server accepts (--max-body)"
                        : status == .notFound ? "no such endpoint: \(request.uri.path) (see docs/API.md)" : "\(error)"
                    response = APIError(status, status == .notFound ? "not_found" : "http", message).response
                }
            } catch {
                logger.error("\(request.method) \(request.uri): \(error)")
                response = APIError(.internalServerError, "internal", "\(error)").response
            }
        }
        let elapsed = ContinuousClock.now - start
        metrics.record(endpoint: endpoint, status: Int(response.status.code), duration: elapsed)
        logger.info(
            "\(request.method) \(request.uri) \(response.status.code) \(elapsed.microseconds) µs",
            metadata: ["endpoint": .string(endpoint)])
        return response
    }
}

extension Duration {
    /// Whole microseconds.
    var microseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000 + c.attoseconds / 1_000_000_000_000
    }
}
