// The endpoints (docs/API.md). Reads: /search, /count, /docs/{id}, /stats, /health, /metrics, and the page at /
// (with /doc/{id}). Writes, on a server started with --writable: POST /docs, DELETE /docs/{id}, POST /commit.

import Hummingbird
import Quarry
import QuarryCLI

extension QuarryServer {
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/search") { request, _ in try self.search(request) }
        router.get("/count") { request, _ in try self.count(request) }
        router.get("/docs/:id") { _, context in try self.document(context.parameters.require("id")) }
        router.get("/stats") { _, _ in try self.stats() }
        router.get("/health") { _, _ in self.health() }
        router.get("/metrics") { _, _ in self.metricsText() }
        router.get("/") { request, _ in self.page(request) }
        router.get("/doc/:id") { _, context in try self.documentPage(context.parameters.require("id")) }
        router.post("/docs") { request, _ in try await self.addDocuments(request) }
        router.delete("/docs/:id") { _, context in try self.deleteDocument(context.parameters.require("id")) }
        router.post("/commit") { _, _ in try self.commit() }
    }

    // MARK: Reads

    /// The search parameters of a request, as `quarry search` options: q, limit, offset, sort, from, to, any,
    /// fields, no_body, explain, facet, snippet_length, boost (repeatable), total.
    func parameters(_ q: QueryString) throws -> SearchParameters {
        guard let text = q["q"], !text.isEmpty else {
            throw APIError(.badRequest, "parameter", "give a query: q=...")
        }
        var p = SearchParameters(query: text)
        p.limit = try integer(q, "limit", default: 10, range: 0...options.maxPageHits)
        p.offset = try integer(q, "offset", default: 0, range: 0...Searcher.maxHits - p.limit)
        if let s = q["sort"], !s.isEmpty {
            guard let order = SortOrder(rawValue: s) else {
                throw APIError(.badRequest, "parameter", "sort must be score, date, -date or index (got '\(s)')")
            }
            p.sort = order
        }
        p.from = q["from"].flatMap { $0.isEmpty ? nil : $0 }
        p.to = q["to"].flatMap { $0.isEmpty ? nil : $0 }
        p.any = try flag(q, "any")
        p.explain = try flag(q, "explain")
        p.noBody = try flag(q, "no_body")
        if let f = q["fields"], !f.isEmpty {
            p.fields = Set(f.split(separator: ",").map { String($0.filter { $0 != " " }) })
        }
        if let f = q["facet"], !f.isEmpty {
            guard let period = DatePeriod(rawValue: f) else {
                throw APIError(.badRequest, "parameter", "facet must be year, month or day (got '\(f)')")
            }
            p.facet = period
        }
        p.snippetLength = try integer(q, "snippet_length", default: 200, range: 10...100_000)
        // total=false skips the exact count (one more pass over the matches), as Elasticsearch's
        // track_total_hits=false: for clients that only page through the best hits.
        if q["total"] != nil { p.total = try flag(q, "total") }
        for b in q.all("boost") where !b.isEmpty {
            let parts = b.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let v = Float(parts[1]), v.isFinite, v >= 0, v <= 1_000_000 else {
                throw APIError(.badRequest, "parameter", "boost takes FIELD=NUMBER, e.g. boost=title=2 (got '\(b)')")
            }
            p.boosts[parts[0]] = v
        }
        return p
    }

    func integer(_ q: QueryString, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = q[name], !text.isEmpty else { return value }
        guard let n = Int(text), range.contains(n) else {
            throw APIError(
                .badRequest, "parameter",
                "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound) (got '\(text)')")
        }
        return n
    }

    func flag(_ q: QueryString, _ name: String) throws -> Bool {
        switch q[name] {
        case nil, "false", "0", "no", "off": return false
        case "", "true", "1", "yes", "on": return true
        case let other?:
            throw APIError(.badRequest, "parameter", "\(name) must be true or false (got '\(other)')")
        }
    }

    func search(_ request: Request) throws -> Response {
        let start = ContinuousClock.now
        let p = try parameters(QueryString(request.uri.query))
        let page = try SearchPage(p, searcher: service.snapshot.searcher)
        return jsonResponse(page.envelopeJSON(tookMicroseconds: Int((ContinuousClock.now - start).microseconds)))
    }

    func count(_ request: Request) throws -> Response {
        let start = ContinuousClock.now
        let q = QueryString(request.uri.query)
        var p = try parameters(q)
        p.limit = 0
        let snapshot = service.snapshot
        let searcher = snapshot.searcher
        let query = try p.parsed(snapshot.reader.schema)
        var o = JSONObject()
        if let period = p.facet {
            let facets = try searcher.dateFacets(query, by: period)
            o.add("count", facets.total)
            o.add("facets", raw: SearchPage.facetsJSON(facets, period))
        } else {
            o.add("count", try searcher.count(query))
        }
        o.add("took_us", Int((ContinuousClock.now - start).microseconds))
        return jsonResponse(o.text)
    }

    func document(_ id: String) throws -> Response {
        let reader = service.snapshot.reader
        guard let (segment, doc) = try reader.locate(id: id) else {
            throw APIError(.notFound, "not_found", "no document with id '\(id)'")
        }
        return jsonResponse(String(decoding: try reader.storedDocument(segment: segment, doc: doc), as: UTF8.self))
    }

    func stats() throws -> Response {
        let snapshot = service.snapshot
        var parts: [String] = []
        for part in snapshot.reader.parts {
            parts.append(StatsCommand.json(try IndexStats(part), directory: part.directory))
        }
        var o = JSONObject()
        o.add("documents", snapshot.reader.documentCount)
        o.add("indexes", raw: "[" + parts.joined(separator: ",") + "]")
        o.add("writable", service.writer != nil)
        return jsonResponse(o.text)
    }

    func health() -> Response {
        let snapshot = service.snapshot
        var o = JSONObject()
        o.add("status", "ok")
        o.add("documents", snapshot.reader.documentCount)
        o.add("generations", raw: "[" + snapshot.generations.map(String.init).joined(separator: ",") + "]")
        o.add("refreshes", service.refreshCount)
        return jsonResponse(o.text)
    }

    func metricsText() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        let text = metrics.exposition(service.snapshot, refreshes: service.refreshCount)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: Writes

    func requireWriter() throws -> WriterBox {
        guard let writer = service.writer else {
            throw APIError(
                .forbidden, "read_only", "the server is read-only: start it with --writable to add or delete documents")
        }
        return writer
    }

    /// POST /docs: a JSON Lines body (`?skip_bad=true` skips bad lines; `?commit=true` commits after).
    func addDocuments(_ request: Request) async throws -> Response {
        let writer = try requireWriter()
        let q = QueryString(request.uri.query)
        let skipBad = try flag(q, "skip_bad")
        let commitAfter = try flag(q, "commit")
        let body = request.body
        let buffer = try await body.collect(upTo: options.maxBody)
        let bytes = Array(buffer.readableBytesView)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw APIError(.badRequest, "input", "the body is empty: send documents as JSON Lines, one object a line")
        }
        let report = try writer.with { w in try w.add(jsonLines: bytes, skipBad: skipBad) }
        var o = JSONObject()
        o.add("added", report.added)
        o.add("skipped", report.skipped)
        var errors: [String] = []
        for e in report.errors {
            var eo = JSONObject()
            eo.add("line", e.line)
            eo.add("message", e.message)
            errors.append(eo.text)
        }
        o.add("errors", raw: "[" + errors.joined(separator: ",") + "]")
        if commitAfter {
            o.add("commit", raw: try commitJSON(writer))
        }
        return jsonResponse(o.text)
    }

    func deleteDocument(_ id: String) throws -> Response {
        let writer = try requireWriter()
        let n = try writer.with { w in try w.delete(id: id) }
        if n == 0 { throw APIError(.notFound, "not_found", "no document with id '\(id)'") }
        var o = JSONObject()
        o.add("deleted", n)
        o.add("committed", false)
        return jsonResponse(o.text)
    }

    func commit() throws -> Response {
        jsonResponse(try commitJSON(try requireWriter()))
    }

    /// Commits, then serves the new commit at once (without waiting for the poller).
    func commitJSON(_ writer: WriterBox) throws -> String {
        // The merge policy runs after each commit, as after `quarry index` (small segments from small batches are
        // merged as they accumulate).
        let summary = try writer.with { w in
            let s = try w.commit()
            _ = try w.mergeAsPolicyAsks()
            return s
        }
        try service.refresh()
        let snapshot = service.snapshot
        var o = JSONObject()
        o.add("generation", raw: snapshot.generations.first.map(String.init) ?? "null")
        o.add("documents", snapshot.reader.documentCount)
        o.add("replaced", summary.replaced)
        o.add("duplicates_skipped", summary.skipped)
        return o.text
    }
}
