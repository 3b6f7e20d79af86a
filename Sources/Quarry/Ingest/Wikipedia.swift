// MediaWiki XML exports (Wikipedia's `enwiki-YYYYMMDD-pages-articles.xml.bz2`, the `-multistream` variant and the
// other wikis' dumps, once Quarry's bzip2 source has decompressed them):
//
//     <mediawiki ...>
//       <siteinfo> ... </siteinfo>
//       <page>
//         <title>Paris</title>  <ns>0</ns>  <id>22989</id>  [<redirect title="..." />]
//         <revision>
//           <id>...</id>  <timestamp>2024-03-01T12:00:00Z</timestamp>  <contributor>...</contributor>
//           <text bytes="..." xml:space="preserve">wikitext, XML-escaped (&lt;ref&gt;)</text>
//         </revision>
//       </page>
//       ...
//     </mediawiki>
//
// The splitter cuts each `<page>...</page>` out of the stream (whatever lies between pages, `<siteinfo>` included,
// is skipped); the parser reads one page: namespace 0 only by default, redirects skipped, the latest revision's
// timestamp as the date and its wikitext reduced to prose (`Wikitext.plainText`) as the body. The id is the title,
// so indexing a newer dump replaces each page; the page id and the page's URL are stored as `page_id` and `url`.

/// Cuts a MediaWiki export into its `<page>` elements, streaming: a page cut by the end of the bytes offered is
/// left for the next call, which resumes its search for `</page>` where this one stopped.
struct WikipediaSplitter: RecordSplitter {
    /// The longest page, in bytes (the longest articles are a few MB; whole histories of a page are not split).
    static let defaultMaxPageBytes = 64 << 20
    let maxPageBytes: Int
    /// A page the offered bytes ended inside: its stream offset, how far it was searched for `</page>`, and the
    /// newlines before that.
    private var pending: (start: Int, searched: Int, newlines: Int)?
    /// After a page that was too long: the next call skips to that page's end (so a caller that goes on after the
    /// error, offering the bytes from the page's start again, gets the pages after it).
    private var discarding = false
    /// The wiki's page URLs, from `<siteinfo>`'s `<base>` (its main page's URL) up to the last '/':
    /// `https://simple.wikipedia.org/wiki/`; nil until the header is read, or if it has none. For the parser's
    /// `urlBase`, so that every wiki's pages get their own URLs.
    private(set) var siteURLBase: String?
    /// The header's <base> was looked for (it comes before the first page, or not at all).
    private var siteBaseDone = false
    /// The longest `<base>` element read.
    static let maxBaseBytes = 4096

    init(maxPageBytes: Int = WikipediaSplitter.defaultMaxPageBytes) {
        self.maxPageBytes = maxPageBytes
    }

    static let pageOpen: [UInt8] = Array("<page".utf8)
    static let pageClose: [UInt8] = Array("</page>".utf8)
    static let baseOpen: [UInt8] = Array("<base>".utf8)
    static let baseClose: [UInt8] = Array("</base>".utf8)

    mutating func split(
        _ data: UnsafeBufferPointer<UInt8>, base: Int, line: Int, final: Bool, into out: inout [Record]
    ) throws(LineError) -> Int {
        let n = data.count
        var i = 0
        var line = line
        let appendedBefore = out.count
        if discarding {
            guard let end = Self.findClose(data, from: 0, newlines: &line) else {
                return final ? n : max(0, n - (Self.pageClose.count - 1))
            }
            discarding = false
            i = end
        }
        while true {
            // Between pages: the header, <siteinfo>, whitespace, the closing </mediawiki>.
            var p = i
            var start = -1
            let raw = UnsafeRawBufferPointer(data)
            while p + Self.pageOpen.count < n {
                // The next '<' (the lines before it counted).
                let stop = n - Self.pageOpen.count
                let lt = ByteScan.first(raw, byte: UInt8(ascii: "<"), from: p, to: stop) ?? stop
                line += ByteScan.count(raw, of: 0x0A, from: p, to: lt)
                p = lt
                if p == stop { break }
                let c = data[p]
                if c == UInt8(ascii: "<") && Self.matches(data, at: p, Self.pageOpen) {
                    let next = data[p + Self.pageOpen.count]
                    if next == UInt8(ascii: ">") || next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D {
                        start = p
                        siteBaseDone = true
                        break
                    }
                }
                if c == UInt8(ascii: "<") && !siteBaseDone && Self.matches(data, at: p, Self.baseOpen) {
                    let from = p + Self.baseOpen.count
                    if let close = ByteScan.first(raw, Self.baseClose, from: from, to: from + Self.maxBaseBytes) {
                        siteBaseDone = true
                        let base = WikipediaParser.xmlText(Array(data[from..<close]), 0..<(close - from))
                        if let slash = base.lastIndex(of: "/") { siteURLBase = String(base[...slash]) }
                    } else if !final && n - from < Self.maxBaseBytes {
                        return p  // the rest of <base> comes with the next bytes
                    } else {
                        siteBaseDone = true
                    }
                }
                if c == 0x0A { line += 1 }
                p += 1
            }
            if start < 0 {
                // Keep what could be the start of "<page>" for the next call.
                return final ? n : p
            }
            // The page's end, resuming a search that an earlier call left unfinished.
            var q = start
            var newlines = 0
            if let pending, pending.start == base + start, pending.searched >= pending.start {
                q = pending.searched - base
                newlines = pending.newlines
            }
            pending = nil
            var end = -1
            let searchEnd = max(q, n - Self.pageClose.count + 1)
            if let close = ByteScan.first(raw, Self.pageClose, from: q, to: n) {
                newlines += ByteScan.count(raw, of: 0x0A, from: q, to: close)
                q = close
                end = close + Self.pageClose.count
            } else {
                newlines += ByteScan.count(raw, of: 0x0A, from: q, to: searchEnd)
                q = searchEnd
            }
            let length = (end >= 0 ? end : n) - start
            if length > maxPageBytes {
                // The pages before it go out first: the error comes at the next call, which starts with this page.
                if !final && out.count > appendedBefore {
                    pending = (base + start, base + q, newlines)
                    return start
                }
                discarding = true
                throw LineError(
                    column: 1,
                    message: "a <page> longer than \(Self.describe(maxPageBytes)) (the limit for one page) starts at "
                        + "byte \(base + start)")
            }
            if end < 0 {
                if final {
                    throw LineError(
                        column: 1,
                        message: "the dump ends inside the <page> that starts at byte \(base + start) (no </page>): "
                            + "the file is cut short")
                }
                pending = (base + start, base + q, newlines)
                return start
            }
            out.append(Record(bytes: Array(data[start..<end]), line: line, offset: base + start))
            line += newlines
            i = end
        }
    }

    static func matches(_ data: UnsafeBufferPointer<UInt8>, at p: Int, _ pattern: [UInt8]) -> Bool {
        guard p + pattern.count <= data.count else { return false }
        for k in 0..<pattern.count where data[p + k] != pattern[k] { return false }
        return true
    }

    /// After the first `</page>` at or after `from`, counting newlines.
    static func findClose(_ data: UnsafeBufferPointer<UInt8>, from: Int, newlines: inout Int) -> Int? {
        let raw = UnsafeRawBufferPointer(data)
        guard let close = ByteScan.first(raw, pageClose, from: from, to: data.count) else {
            newlines += ByteScan.count(raw, of: 0x0A, from: from, to: max(from, data.count - pageClose.count + 1))
            return nil
        }
        newlines += ByteScan.count(raw, of: 0x0A, from: from, to: close)
        return close + pageClose.count
    }

    static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}

/// One `<page>` of a MediaWiki export as a document: the title as id and title, the latest revision's timestamp as
/// date, its wikitext as prose, and the fields `page_id` and `url`. Pages outside `namespaces` and redirects are
/// not documents (nil).
struct WikipediaParser: RecordParser {
    /// The namespaces indexed (0: articles; 4: the project's pages, 14: categories, ...).
    let namespaces: Set<Int>
    /// The page URL's start; the title follows with spaces as underscores.
    let urlBase: String

    /// - Parameters:
    ///   - namespaces: the namespaces whose pages are documents; articles only by default.
    ///   - urlBase: the start of a page's URL (English Wikipedia's by default).
    init(namespaces: Set<Int> = [0], urlBase: String = "https://en.wikipedia.org/wiki/") {
        self.namespaces = namespaces
        self.urlBase = urlBase
    }

    func parse(_ record: Record) throws(LineError) -> SourceDocument? {
        let b = record.bytes
        let page = try WikipediaPage.scan(b)
        if let ns = page.ns {
            let text = Self.trimmed(Self.xmlText(b, ns))
            guard let number = Int(text) else {
                throw LineError(column: ns.lowerBound + 1, message: "the page's <ns> is not a number: '\(text)'")
            }
            if !namespaces.contains(number) { return nil }
        } else if !namespaces.contains(0) {
            return nil
        }
        if page.redirect { return nil }
        guard let titleRange = page.title else {
            throw LineError(column: 1, message: "a <page> without a <title>")
        }
        let title = Self.trimmed(Self.xmlText(b, titleRange))
        guard !title.isEmpty else {
            throw LineError(column: titleRange.lowerBound + 1, message: "a <page> with an empty <title>")
        }
        let wikitext = page.text.map { Self.xmlText(b, $0) } ?? ""
        if Self.isRedirect(wikitext) { return nil }
        var doc = SourceDocument(id: title)
        doc.title = title
        doc.date = page.timestamp.flatMap { DateParser.parseTimestamp(Self.trimmed(Self.xmlText(b, $0))) }
        doc.body = Wikitext.plainText(wikitext)
        if let id = page.id {
            let pageID = Self.trimmed(Self.xmlText(b, id))
            if !pageID.isEmpty { doc.fields.append((name: "page_id", value: pageID)) }
        }
        doc.fields.append((name: "url", value: Self.url(urlBase, title)))
        return doc
    }

    /// `s` without ASCII spaces, tabs and line breaks at either end.
    static func trimmed(_ s: String) -> String {
        let u = s.utf8
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let first = u.firstIndex(where: { !isSpace($0) }), let last = u.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(s[first...last])
    }

    /// `base` + the title with spaces as underscores (and `%`, `?` and `"` escaped, so the title stays the path).
    static func url(_ base: String, _ title: String) -> String {
        let t = Array(title.utf8)
        var out = Array(base.utf8)
        out.reserveCapacity(out.count + t.count + 8)
        var i = 0
        while i < t.count {
            let e = ByteScan.first(t, of: urlEscaped, from: i, to: t.count)
            out.append(contentsOf: t[i..<e])
            guard e < t.count else { break }
            switch t[e] {
            case 0x20: out.append(UInt8(ascii: "_"))
            case UInt8(ascii: "%"): out.append(contentsOf: "%25".utf8)
            case UInt8(ascii: "?"): out.append(contentsOf: "%3F".utf8)
            default: out.append(contentsOf: "%22".utf8)
            }
            i = e + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let urlEscaped = ByteSet(" %?\"".utf8)

    /// A redirect written in the text only (old exports have no <redirect> element): `#REDIRECT [[...]]`.
    static func isRedirect(_ wikitext: String) -> Bool {
        let head = wikitext.utf8.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }).prefix(9)
        return head.count == 9 && head.map(Wikitext.lowerASCII).elementsEqual("#redirect".utf8)
    }

    /// The text content of `range`: XML entities (the five named ones and numeric references) decoded, CDATA
    /// sections taken as they are, comments dropped. An unknown entity stays as written.
    static func xmlText(_ b: [UInt8], _ range: Range<Int>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let c = b[i]
            if c == UInt8(ascii: "&") {
                if let (scalar, length) = xmlEntity(b, at: i, end: end) {
                    appendUTF8(scalar, to: &out)
                    i += length
                    continue
                }
            } else if c == UInt8(ascii: "<") {
                if WikipediaPage.hasPrefix(b, at: i, end: end, "<![CDATA[") {
                    let close = WikipediaPage.find(b, "]]>", from: i + 9, end: end) ?? end
                    out.append(contentsOf: b[(i + 9)..<close])
                    i = min(close + 3, end)
                    continue
                }
                if WikipediaPage.hasPrefix(b, at: i, end: end, "<!--") {
                    i = WikipediaPage.find(b, "-->", from: i + 4, end: end).map { $0 + 3 } ?? end
                    continue
                }
            }
            let e = ByteScan.first(b, of: xmlSpecial, from: i + 1, to: end)
            out.append(contentsOf: b[i..<e])
            i = e
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let xmlSpecial = ByteSet([UInt8(ascii: "&"), UInt8(ascii: "<")])

    /// The XML entity at `i`: `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#N;` `&#xH;`, as a scalar and a length.
    static func xmlEntity(_ b: [UInt8], at i: Int, end: Int) -> (UInt32, Int)? {
        var j = i + 1
        if j < end && b[j] == UInt8(ascii: "#") {
            j += 1
            let hex = j < end && b[j] == UInt8(ascii: "x")
            if hex { j += 1 }
            let digitsStart = j
            var value: UInt32 = 0
            while j < end && j - digitsStart < 8, let d = Wikitext.digit(b[j], hex: hex) {
                value = value * (hex ? 16 : 10) + d
                j += 1
            }
            guard j > digitsStart && j < end && b[j] == UInt8(ascii: ";") else { return nil }
            let valid = value > 0 && value <= 0x10FFFF && !(0xD800...0xDFFF).contains(value)
            return (valid ? value : 0xFFFD, j + 1 - i)
        }
        if WikipediaPage.hasPrefix(b, at: j, end: end, "lt;") { return (0x3C, 4) }
        if WikipediaPage.hasPrefix(b, at: j, end: end, "gt;") { return (0x3E, 4) }
        if WikipediaPage.hasPrefix(b, at: j, end: end, "amp;") { return (0x26, 5) }
        if WikipediaPage.hasPrefix(b, at: j, end: end, "quot;") { return (0x22, 6) }
        if WikipediaPage.hasPrefix(b, at: j, end: end, "apos;") { return (0x27, 6) }
        return nil
    }
}

/// Where the parts of one `<page>` element lie in its bytes (content ranges, still XML-escaped).
struct WikipediaPage {
    var title: Range<Int>?
    var ns: Range<Int>?
    var id: Range<Int>?
    var redirect = false
    /// The latest revision's (by timestamp; the last one of equal timestamps).
    var timestamp: Range<Int>?
    var text: Range<Int>?

    /// Elements nested deeper than this are an error (a page is four deep).
    static let maxDepth = 64

    enum Name {
        case page, title, ns, id, redirect, revision, timestamp, text, other
    }

    /// Reads the elements of a page (strict about tags being closed in order, lenient about everything else).
    static func scan(_ b: [UInt8]) throws(LineError) -> WikipediaPage {
        var page = WikipediaPage()
        let n = b.count
        var stack: [(name: Name, contentStart: Int)] = []
        var rootSeen = false
        var revision: (timestamp: Range<Int>?, text: Range<Int>?) = (nil, nil)
        var best: (seconds: Int64?, timestamp: Range<Int>?, text: Range<Int>?)?
        var i = 0
        while i < n {
            guard let lt = find(b, "<", from: i, end: n) else { break }
            if hasPrefix(b, at: lt, end: n, "<!--") {
                guard let e = find(b, "-->", from: lt + 4, end: n) else {
                    throw LineError(column: lt + 1, message: "an XML comment is not closed")
                }
                i = e + 3
                continue
            }
            if hasPrefix(b, at: lt, end: n, "<![CDATA[") {
                guard let e = find(b, "]]>", from: lt + 9, end: n) else {
                    throw LineError(column: lt + 1, message: "a CDATA section is not closed")
                }
                i = e + 3
                continue
            }
            if hasPrefix(b, at: lt, end: n, "<?") || hasPrefix(b, at: lt, end: n, "<!") {
                guard let e = find(b, ">", from: lt + 2, end: n) else {
                    throw LineError(column: lt + 1, message: "an XML declaration is not closed")
                }
                i = e + 1
                continue
            }
            let closing = lt + 1 < n && b[lt + 1] == UInt8(ascii: "/")
            let nameStart = lt + (closing ? 2 : 1)
            var nameEnd = nameStart
            while nameEnd < n && !isNameEnd(b[nameEnd]) { nameEnd += 1 }
            guard nameEnd > nameStart, isNameStart(b[nameStart]) else {
                throw LineError(column: lt + 1, message: "'<' that starts no tag (it must be written &lt;)")
            }
            let gt = try tagEnd(b, from: nameEnd, tagStart: lt)
            let name = b[nameStart..<nameEnd]
            if closing {
                guard let open = stack.popLast() else {
                    let text = String(decoding: name, as: UTF8.self)
                    throw LineError(column: lt + 1, message: "</\(text)> closes nothing")
                }
                let content = open.contentStart..<lt
                switch open.name {
                case .title: page.title = content
                case .ns: page.ns = content
                case .id: page.id = content
                case .timestamp: revision.timestamp = content
                case .text: revision.text = content
                case .revision:
                    let seconds = revision.timestamp.flatMap {
                        DateParser.parseTimestamp(WikipediaParser.trimmed(WikipediaParser.xmlText(b, $0)))
                    }
                    if best == nil || (seconds ?? .min) >= (best?.seconds ?? .min) {
                        best = (seconds, revision.timestamp, revision.text)
                    }
                default: break
                }
                i = gt + 1
                continue
            }
            let selfClosing = b[gt - 1] == UInt8(ascii: "/")
            let element: Name
            if !rootSeen {
                guard name.elementsEqual("page".utf8) else {
                    throw LineError(column: lt + 1, message: "expected <page>")
                }
                rootSeen = true
                element = .page
            } else if stack.isEmpty {
                throw LineError(column: lt + 1, message: "an element after </page>")
            } else {
                element = classify(name, parent: stack[stack.count - 1].name)
            }
            switch element {
            case .redirect: page.redirect = true
            case .revision: revision = (nil, nil)
            case .text where selfClosing: revision.text = (gt + 1)..<(gt + 1)
            default: break
            }
            if !selfClosing {
                guard stack.count < maxDepth else {
                    throw LineError(column: lt + 1, message: "elements nested more than \(maxDepth) deep")
                }
                stack.append((element, gt + 1))
            }
            i = gt + 1
        }
        guard rootSeen else { throw LineError(column: 1, message: "no <page> element") }
        guard stack.isEmpty else {
            throw LineError(column: n + 1, message: "the <page> is not closed (missing </page>)")
        }
        if let best {
            page.timestamp = best.timestamp
            page.text = best.text
        }
        return page
    }

    static func classify(_ name: ArraySlice<UInt8>, parent: Name) -> Name {
        func named(_ s: String) -> Bool { name.elementsEqual(s.utf8) }
        switch parent {
        case .page:
            if named("title") { return .title }
            if named("ns") { return .ns }
            if named("id") { return .id }
            if named("redirect") { return .redirect }
            if named("revision") { return .revision }
        case .revision:
            if named("timestamp") { return .timestamp }
            if named("text") { return .text }
        default: break
        }
        return .other
    }

    /// The index of the tag's '>' (quoted attribute values may hold '>').
    static func tagEnd(_ b: [UInt8], from: Int, tagStart: Int) throws(LineError) -> Int {
        var k = from
        var quote: UInt8 = 0
        while k < b.count {
            let c = b[k]
            if quote != 0 {
                if c == quote { quote = 0 }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: ">") {
                return k
            } else if c == UInt8(ascii: "<") {
                break
            }
            k += 1
        }
        throw LineError(column: tagStart + 1, message: "a tag is not closed (missing '>')")
    }

    /// An XML name starts with a letter, '_' or ':' (any non-ASCII byte taken as a letter).
    static func isNameStart(_ c: UInt8) -> Bool {
        Wikitext.isASCIILetter(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c >= 0x80
    }

    static func isNameEnd(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: ">") || c == UInt8(ascii: "/")
            || c == UInt8(ascii: "<")
    }

    static func hasPrefix(_ b: [UInt8], at i: Int, end: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard i >= 0 && i + count <= min(end, b.count) else { return false }
        return prefix.withUTF8Buffer { p in
            for k in 0..<count where b[i + k] != p[k] { return false }
            return true
        }
    }

    static func find(_ b: [UInt8], _ needle: StaticString, from: Int, end: Int) -> Int? {
        if needle.utf8CodeUnitCount == 1 {
            return ByteScan.first(b, byte: needle.withUTF8Buffer { $0[0] }, from: from, to: end)
        }
        return ByteScan.first(b, needle.withUTF8Buffer { Array($0) }, from: from, to: end)
    }
}
