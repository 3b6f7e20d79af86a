// `GET /metrics`: Prometheus text format (swift-prometheus), requests, errors and latency per endpoint, and the
// served indexes' documents and commit generations.

import Hummingbird
import Prometheus
import Quarry
import Synchronization

final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    /// Latency buckets, seconds: 50 µs to 10 s.
    static let buckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
        .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
    ]
    /// The endpoints with their own series (anything else is "other", so that a client cannot make the series
    /// grow without bound).
    static let endpoints: Set<String> = [
        "GET /", "GET /search", "GET /count", "GET /docs/{id}", "GET /doc/{id}", "GET /stats", "GET /health",
        "GET /metrics", "POST /docs", "DELETE /docs/{id}", "POST /commit",
    ]

    /// `GET /docs/{id}` for `GET /docs/qn-1`: the route, for labels.
    static func endpoint(_ method: HTTPRequestMethodName, _ path: String) -> String {
        var route = path
        if path.hasPrefix("/docs/") && path.count > 6 { route = "/docs/{id}" }
        if path.hasPrefix("/doc/") && path.count > 5 { route = "/doc/{id}" }
        let name = "\(method) \(route)"
        return endpoints.contains(name) ? name : "other"
    }

    /// `quarry_SUBSYSTEM_NAME_UNIT` with its help text.
    static func metric(_ subsystem: String, _ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "quarry", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
    }

    static var requests: MetricNameDescriptor {
        metric("http", "requests", "total", "HTTP requests answered, by endpoint and status")
    }
    static var errors: MetricNameDescriptor {
        metric("http", "errors", "total", "HTTP requests answered with a 5xx status (timeouts, closing, damaged index)")
    }
    static var latency: MetricNameDescriptor {
        metric("http", "request_duration", "seconds", "Time from the request's head to its response, by endpoint")
    }
    static var documents: MetricNameDescriptor {
        metric("index", "documents", "", "Live documents of each served index")
    }
    static var segments: MetricNameDescriptor { metric("index", "segments", "", "Segments of each served index") }
    static var generation: MetricNameDescriptor {
        metric("index", "generation", "", "Commit generation served, per index")
    }
    static var refreshes: MetricNameDescriptor {
        metric("snapshot", "refreshes", "total", "New commits picked up since start")
    }

    /// The methods a known path takes, or nil for an unknown path.
    static func methods(_ path: String) -> [String]? {
        switch path {
        case "/", "/search", "/count", "/stats", "/health", "/metrics": return ["GET"]
        case "/docs", "/commit": return ["POST"]
        default:
            if path.hasPrefix("/docs/") && path.count > 6 { return ["GET", "DELETE"] }
            if path.hasPrefix("/doc/") && path.count > 5 { return ["GET"] }
            return nil
        }
    }

    func record(endpoint: String, status: Int, duration: Duration) {
        registry.makeCounter(descriptor: Self.requests, labels: [("endpoint", endpoint), ("status", String(status))])
            .increment()
        if status >= 500 {
            registry.makeCounter(descriptor: Self.errors, labels: [("endpoint", endpoint)]).increment()
        }
        registry.makeDurationHistogram(
            descriptor: Self.latency, labels: [("endpoint", endpoint)], buckets: Self.buckets
        )
        .record(duration)
    }

    /// The text exposition, with the index gauges set from `snapshot` first.
    func exposition(_ snapshot: Snapshot, refreshes: Int) -> String {
        for (k, part) in snapshot.reader.parts.enumerated() {
            let labels = [("index", part.directory)]
            registry.makeGauge(descriptor: Self.documents, labels: labels).set(Double(part.documentCount))
            registry.makeGauge(descriptor: Self.segments, labels: labels).set(Double(part.segments.count))
            registry.makeGauge(descriptor: Self.generation, labels: labels).set(Double(snapshot.generations[k]))
        }
        let counter = registry.makeCounter(descriptor: Self.refreshes, labels: [])
        counter.reset()
        counter.increment(by: Int64(refreshes))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// The method as text (HTTPRequest.Method is in HTTPTypes, re-exported by Hummingbird).
typealias HTTPRequestMethodName = HTTPRequest.Method
