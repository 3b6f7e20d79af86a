// The search page at `/` and a stored document at `/doc/{id}`: server-rendered HTML, no external assets, no
// JavaScript needed. A GET form (so a result page is a link), matches per year as a bar chart (each bar narrows
// the dates to its year), highlighted snippets, paging with the exact total, and the query syntax.

import Hummingbird
import Quarry
import QuarryCLI

extension QuarryServer {
    func page(_ request: Request) -> Response {
        let start = ContinuousClock.now
        let q = QueryString(request.uri.query)
        let text = q["q"] ?? ""
        var html = HTML()
        let title = text.isEmpty ? "Quarry" : "\(text) – Quarry"
        html.head(title: title)
        let pageSize = 10
        let pageNumber = max(1, min(Int(q["page"] ?? "1") ?? 1, 100_000))
        html.form(q, documents: service.snapshot.reader.documentCount)
        if !text.isEmpty {
            var p = SearchParameters(query: text)
            p.limit = pageSize
            p.offset = (pageNumber - 1) * pageSize
            p.from = q["from"].flatMap { $0.isEmpty ? nil : $0 }
            p.to = q["to"].flatMap { $0.isEmpty ? nil : $0 }
            p.sort = SortOrder(rawValue: q["sort"] ?? "score") ?? .score
            p.any = q["any"] == "on" || q["any"] == "true"
            p.facet = .year
            do {
                let page = try SearchPage(p, searcher: service.snapshot.searcher)
                let took = ContinuousClock.now - start
                html.results(page, query: q, pageNumber: pageNumber, pageSize: pageSize, took: took)
            } catch {
                html.error(error, query: text)
            }
        }
        html.syntaxHelp()
        html.foot()
        return htmlResponse(html.text)
    }

    func documentPage(_ id: String) throws -> Response {
        let reader = service.snapshot.reader
        var html = HTML()
        guard let (segment, doc) = try reader.locate(id: id) else {
            html.head(title: "Not found – Quarry")
            html.raw("<main><p class=\"error\">No document with id <code>\(escape(id))</code>.</p>")
            html.raw("<p><a href=\"/\">New search</a></p></main>")
            html.foot()
            return htmlResponse(html.text, status: .notFound)
        }
        let stored = StoredDocument(try reader.storedDocument(segment: segment, doc: doc))
        let schema = reader.schema
        let title = stored.text(schema.titleField) ?? id
        html.head(title: "\(title) – Quarry")
        html.raw("<main class=\"doc\"><p><a href=\"/\">New search</a></p>")
        html.raw("<h1>\(escape(title))</h1><dl>")
        html.raw("<dt>id</dt><dd><code>\(escape(id))</code></dd>")
        if let d = reader.segments[segment].date(doc) {
            html.raw("<dt>date</dt><dd>\(escape(ISODate.format(d)))</dd>")
        }
        for m in stored.members
        where m.name != schema.idField && m.name != schema.titleField && m.name != schema.bodyField {
            let value = stored.text(m.name) ?? String(decoding: stored.json[m.value], as: UTF8.self)
            html.raw("<dt>\(escape(m.name))</dt><dd>\(escape(value))</dd>")
        }
        html.raw("</dl><pre class=\"body\">\(escape(stored.text(schema.bodyField) ?? ""))</pre>")
        html.raw("<p><a href=\"/docs/\(QueryString.encode(id).replacingPlus())\">JSON</a></p></main>")
        html.foot()
        return htmlResponse(html.text)
    }
}

extension String {
    /// `+` (a space in a query string) as `%20`, for a path segment.
    func replacingPlus() -> String {
        var out = ""
        for c in self { if c == "+" { out += "%20" } else { out.append(c) } }
        return out
    }
}

/// A page being written.
struct HTML {
    private(set) var text = ""

    mutating func raw(_ s: String) { text += s }

    mutating func head(title: String) {
        raw(
            """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>\(HTML.style)</style></head><body>
            <header><a class="logo" href="/">Quarry</a></header>

            """)
    }

    mutating func foot() {
        raw(
            "<footer>Quarry · <a href=\"/stats\">stats</a> · <a href=\"/health\">health</a> · JSON API: <code>/search?q=…</code></footer></body></html>\n"
        )
    }

    mutating func form(_ q: QueryString, documents: Int) {
        let text = q["q"] ?? ""
        let sort = q["sort"] ?? "score"
        func option(_ value: String, _ label: String) -> String {
            "<option value=\"\(value)\"\(sort == value ? " selected" : "")>\(label)</option>"
        }
        raw(
            """
            <form class="search" action="/" method="get" role="search">
            <div class="box"><input type="search" name="q" value="\(escape(text))" placeholder="Search \(Format.grouped(documents)) documents" aria-label="Query" autofocus>
            <button type="submit">Search</button></div>
            <div class="options">
            <label>From <input type="text" name="from" value="\(escape(q["from"] ?? ""))" placeholder="e.g. 2023" size="10"></label>
            <label>To <input type="text" name="to" value="\(escape(q["to"] ?? ""))" placeholder="e.g. 2024-06" size="10"></label>
            <label>Sort <select name="sort">\(option("score", "best match"))\(option("-date", "newest"))\(option("date", "oldest"))</select></label>
            <label><input type="checkbox" name="any"\(q["any"] == "on" ? " checked" : "")> any word</label>
            </div></form>

            """)
    }

    mutating func error(_ error: QuarryError, query: String) {
        raw("<main><div class=\"error\" role=\"alert\"><p>\(escape(error.message))</p>")
        if case .invalidQuery(let column) = error.code {
            let caret = String(repeating: " ", count: max(0, column - 1)) + "^"
            raw("<pre>\(escape(query))\n\(caret)</pre>")
        }
        raw("</div></main>\n")
    }

    mutating func results(_ page: SearchPage, query q: QueryString, pageNumber: Int, pageSize: Int, took: Duration) {
        let total = page.total ?? 0
        raw("<main>")
        let ms = Double(took.microseconds) / 1000
        if total == 0 {
            raw("<p class=\"summary\">No documents match.</p>")
        } else if page.hits.isEmpty {
            raw(
                "<p class=\"summary\">No hits on page \(pageNumber): the query has \(Format.grouped(total)) matches.</p>"
            )
        } else {
            let first = page.parameters.offset + 1
            let last = page.parameters.offset + page.hits.count
            raw(
                "<p class=\"summary\"><span id=\"range\">\(Format.grouped(first))–\(Format.grouped(last))</span> of <span id=\"total\">\(Format.grouped(total))</span> match\(total == 1 ? "" : "es") · \(Format.fixed(ms, 1)) ms</p>"
            )
        }
        if let facets = page.facets, facets.counts.count > 0 { chart(facets, query: q) }
        raw("<ol class=\"hits\" start=\"\(page.parameters.offset + 1)\">")
        for hit in page.hits {
            let link = "/doc/" + QueryString.encode(hit.id).replacingPlus()
            raw(
                "<li class=\"hit\"><h2><a href=\"\(link)\">\(marked(hit.title.text.isEmpty ? Snippet(text: hit.id, highlights: [], truncatedStart: false, truncatedEnd: false) : hit.title))</a></h2>"
            )
            raw("<div class=\"meta\">")
            if let d = hit.date { raw("<time datetime=\"\(ISODate.format(d))\">\(ISODate.formatDay(d))</time> · ") }
            raw("<span class=\"id\">\(escape(hit.id))</span>")
            if let s = hit.score { raw("<span class=\"score\"> · \(Format.fixed(Double(s), 2))</span>") }
            raw("</div>")
            if !hit.snippet.text.isEmpty {
                raw(
                    "<p class=\"snippet\">\(hit.snippet.truncatedStart ? "…" : "")\(marked(hit.snippet))\(hit.snippet.truncatedEnd ? "…" : "")</p>"
                )
            }
            raw("</li>")
        }
        raw("</ol>")
        pager(total: total, pageNumber: pageNumber, pageSize: pageSize, query: q)
        raw("</main>\n")
    }

    /// Text with its highlights in <mark> (ranges are in Unicode scalars).
    func marked(_ s: Snippet) -> String {
        let scalars = Array(s.text.unicodeScalars)
        var out = ""
        var i = 0
        func piece(_ r: Range<Int>) -> String {
            var t = String.UnicodeScalarView()
            t.append(contentsOf: scalars[r])
            return escape(String(t))
        }
        for h in s.highlights where h.lowerBound >= i && h.upperBound <= scalars.count {
            out += piece(i..<h.lowerBound) + "<mark>" + piece(h) + "</mark>"
            i = h.upperBound
        }
        return out + piece(i..<scalars.count)
    }

    /// A link to the same search with some parameters changed.
    func link(_ q: QueryString, _ changes: [String: String?]) -> String {
        var pairs: [(String, String)] = []
        for key in ["q", "from", "to", "sort", "any", "page"] {
            if let change = changes[key] {
                if let v = change, !v.isEmpty { pairs.append((key, v)) }
            } else if let v = q[key], !v.isEmpty {
                pairs.append((key, v))
            }
        }
        return "/?" + pairs.map { QueryString.encode($0.0) + "=" + QueryString.encode($0.1) }.joined(separator: "&amp;")
    }

    mutating func chart(_ f: FacetCounts, query q: QueryString) {
        let peak = max(f.counts.map(\.count).max() ?? 1, 1)
        raw("<figure class=\"chart\"><figcaption>Matches per year</figcaption><div class=\"bars\">")
        for c in f.counts {
            let height = max(2, Int((Double(c.count) / Double(peak) * 100).rounded()))
            let href = link(q, ["from": c.value, "to": c.value, "page": nil])
            raw(
                "<a class=\"bar\" href=\"\(href)\" title=\"\(escape(c.value)): \(Format.grouped(c.count))\"><span style=\"height:\(height)%\"></span><small>\(escape(c.value))</small></a>"
            )
        }
        raw("</div></figure>")
    }

    mutating func pager(total: Int, pageNumber: Int, pageSize: Int, query q: QueryString) {
        let pages = (min(total, Searcher.maxHits) + pageSize - 1) / pageSize
        if pages <= 1 { return }
        raw("<nav class=\"pager\" aria-label=\"Pages\">")
        if pageNumber > 1 {
            raw("<a rel=\"prev\" href=\"\(link(q, ["page": String(pageNumber - 1)]))\">← Previous</a>")
        }
        let low = max(1, pageNumber - 4)
        let high = min(pages, low + 8)
        for n in low...high {
            if n == pageNumber {
                raw("<span class=\"current\" aria-current=\"page\">\(n)</span>")
            } else {
                raw("<a href=\"\(link(q, ["page": String(n)]))\">\(n)</a>")
            }
        }
        if pageNumber < pages {
            raw("<a rel=\"next\" href=\"\(link(q, ["page": String(pageNumber + 1)]))\">Next →</a>")
        }
        raw("</nav>")
    }

    mutating func syntaxHelp() {
        raw(
            """
            <details class="help"><summary>Query syntax</summary><table>
            <tr><td><code>bank rates</code></td><td>both words (tick “any word” for either)</td></tr>
            <tr><td><code>"interest rates"</code></td><td>the exact phrase; <code>"rates rise"~2</code> with up to 2 words between</td></tr>
            <tr><td><code>a OR b</code>, <code>a AND b</code>, <code>NOT c</code>, <code>-c</code>, <code>(…)</code></td><td>boolean operators and groups</td></tr>
            <tr><td><code>title:cobol</code>, <code>body:"a phrase"</code></td><td>one field</td></tr>
            <tr><td><code>y2k*</code>, <code>cob?l</code>, <code>fortran~1</code></td><td>prefix, wildcard, fuzzy (1 or 2 edits)</td></tr>
            <tr><td><code>"central ban*"</code></td><td>a phrase ending with a prefix</td></tr>
            <tr><td><code>cobol^2</code></td><td>weigh a word or group more</td></tr>
            <tr><td><code>date:[1995-01 TO 1995-06]</code>, <code>date:&gt;=1994</code></td><td>a date range (also the From/To boxes)</td></tr>
            <tr><td><code>title:[a TO c]</code>, <code>_exists_:title</code></td><td>a term range, documents having a field</td></tr>
            </table></details>

            """)
    }

    static let style = """
        :root{--fg:#1d1d1f;--muted:#5f6368;--accent:#0b57d0;--mark:#fde68a;--line:#e3e3e3;--bg:#fff}
        @media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#9aa0a6;--accent:#8ab4f8;--mark:#705d00;--line:#3c4043;--bg:#202124}}
        *{box-sizing:border-box}body{margin:0 auto;max-width:52rem;padding:0 1rem 2rem;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        header{padding:1rem 0 .5rem}.logo{font-weight:700;font-size:1.4rem;color:var(--fg);text-decoration:none;letter-spacing:.02em}
        .search .box{display:flex;gap:.5rem}.search input[type=search]{flex:1;min-width:0;font-size:1.05rem;padding:.55rem .75rem;border:1px solid var(--line);border-radius:.5rem;background:var(--bg);color:var(--fg)}
        .search button{font-size:1rem;padding:.55rem 1rem;border:0;border-radius:.5rem;background:var(--accent);color:#fff;cursor:pointer}
        .options{display:flex;flex-wrap:wrap;gap:.4rem 1rem;margin:.6rem 0;color:var(--muted);font-size:.9rem}.options input[type=text],.options select{font-size:.9rem;padding:.2rem .3rem;border:1px solid var(--line);border-radius:.3rem;background:var(--bg);color:var(--fg)}
        .summary{color:var(--muted);font-size:.9rem;margin:.8rem 0}
        .hits{list-style:none;padding:0;margin:0}.hit{padding:.7rem 0;border-bottom:1px solid var(--line)}
        .hit h2{font-size:1.1rem;margin:0;font-weight:600;overflow-wrap:anywhere}.hit h2 a{color:var(--accent);text-decoration:none}.hit h2 a:hover{text-decoration:underline}
        .meta{color:var(--muted);font-size:.85rem}.snippet{margin:.3rem 0 0;overflow-wrap:anywhere}mark{background:var(--mark);color:inherit;padding:0 .1em;border-radius:.15em}
        .chart{margin:.5rem 0 1rem}.chart figcaption{font-size:.8rem;color:var(--muted)}.bars{display:flex;align-items:flex-end;gap:2px;height:6rem;overflow-x:auto;padding-top:.3rem}
        .bar{flex:1 0 1.6rem;display:flex;flex-direction:column;justify-content:flex-end;height:100%;text-decoration:none;color:var(--muted)}
        .bar span{display:block;background:var(--accent);opacity:.75;border-radius:2px 2px 0 0}.bar:hover span{opacity:1}.bar small{font-size:.65rem;text-align:center;white-space:nowrap}
        .pager{display:flex;flex-wrap:wrap;gap:.3rem;margin:1rem 0}.pager a,.pager span{padding:.3rem .6rem;border:1px solid var(--line);border-radius:.3rem;text-decoration:none;color:var(--accent)}.pager .current{background:var(--accent);color:#fff;border-color:var(--accent)}
        .error{border-left:4px solid #d93025;padding:.3rem .8rem;margin:1rem 0}.error pre{margin:.3rem 0;overflow-x:auto}
        .help{margin:1.5rem 0;color:var(--muted);font-size:.9rem}.help table{border-collapse:collapse}.help td{padding:.2rem .6rem .2rem 0;vertical-align:top}
        code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
        .doc dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}.doc dt{color:var(--muted)}.doc dd{margin:0;overflow-wrap:anywhere}.doc pre.body{white-space:pre-wrap;overflow-wrap:anywhere;font:inherit}
        footer{margin-top:2rem;color:var(--muted);font-size:.8rem}footer a{color:var(--muted)}
        @media (max-width:480px){body{font-size:15px}.search button{padding:.55rem .7rem}.meta .score{display:none}}
        """
}
