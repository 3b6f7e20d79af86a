// HTML to readable text, for web pages (WARC crawls, HTML files in folders) and the HTML parts of mails. One
// forward pass over the bytes, in the manner of the HTML standard's tokenizer, with no tree and no stack: a few
// counters stand for the open elements that matter, so broken and deeply nested pages (100,000 unclosed `<div>`s)
// cost linear time and constant extra memory, and every construct cut short by the end of the input (a comment, a
// tag, a quoted attribute, a script) ends where a browser would end it.
//
// - The first non-empty `<title>` is the title; it is never part of the text.
// - Dropped with their contents: `script`, `style`, `noscript`, `iframe`, `noembed`, `noframes` (raw text, up to
//   their end tag), `template`, `object`, `applet` and `svg` (counted, so nested ones close properly; an HTML
//   element such as `<p>` or `<div>` inside an unclosed `<svg>` leaves it, as browsers do), and the head: after
//   `<head>`, everything up to `</head>`, `<body>`, any element that does not belong in a head, or any text.
// - Dropped: comments (including `<!-->`), doctypes, CDATA sections, processing instructions, attributes (no
//   `alt` text), the NUL byte and other control characters.
// - Block elements end lines: paragraphs, headings, lists, tables, `blockquote`, `pre`, sectioning elements and
//   `hr` leave a blank line; `div`, `li`, `tr`, `dt`, `dd` and the like a line break; `<br>` one more line break;
//   `td` and `th` are separated by a tab. Never more than one blank line in a row, and no blank line at either end.
// - Whitespace runs become one space, except inside `pre`, `listing`, `xmp` and `plaintext`, where it is kept
//   (line ends as LF, the newline right after `<pre>` dropped). A no-break space (U+00A0, `&nbsp;`) is a space.
// - Character references are decoded as browsers do: decimal and hex (`&#233;`, `&#xE9;`; zero, surrogates and
//   values past U+10FFFF become U+FFFD; 0x80...0x9F are read as Windows-1252, `&#150;` is an en dash), and the
//   whole named table of the HTML standard (HTMLEntities.swift), the legacy names also without their `;`
//   (`&copy 2024`, `&eacute`), taking the longest legacy name that starts the text (`&notit;` is `¬it;`).
//
// The character set is, in order: a byte order mark (UTF-8 or UTF-16), the `charset` argument (from an HTTP
// Content-Type or a MIME part), a `<meta charset>` or `<meta http-equiv="Content-Type" content="...;
// charset=...">` within the first 1024 bytes (as the WHATWG prescan finds it; a UTF-16 label there means UTF-8),
// then UTF-8. A name `Charset` does not know is skipped for the next one; invalid UTF-8 becomes U+FFFD.

enum HTMLText {
    /// The title and readable text of an HTML page.
    /// - Parameters:
    ///   - html: the page's bytes, in any character set `Charset` knows.
    ///   - charset: the character set named by the transport (an HTTP or MIME Content-Type), if any.
    /// - Returns: the first non-empty `<title>` (whitespace collapsed), or nil; and the text, lines separated by LF.
    /// - Complexity: O(n) in the length of `html`.
    static func extract(_ html: [UInt8], charset: String? = nil) -> (title: String?, text: String) {
        var extractor = Extractor(utf8(html, charset: charset))
        extractor.run()
        return (extractor.title, String(decoding: extractor.body.out, as: UTF8.self))
    }

    /// The page's bytes in UTF-8 (invalid sequences repaired), decoded from its character set.
    static func utf8(_ html: [UInt8], charset: String?) -> [UInt8] {
        if html.starts(with: [0xEF, 0xBB, 0xBF]) { return repairedUTF8(Array(html.dropFirst(3))) }
        if html.starts(with: [0xFE, 0xFF]) || html.starts(with: [0xFF, 0xFE]) {
            return Array((Charset.decode(html, charset: "utf-16") ?? "").utf8)
        }
        if let charset, let text = decoded(html, charset: charset) { return text }
        if let declared = declaredCharset(html) {
            let name: String
            switch Charset.normalize(declared) {
            case "utf16", "utf16le", "utf16be": name = "utf-8"  // the meta was read as ASCII: it is not UTF-16
            case "xuserdefined": name = "windows-1252"
            default: name = declared
            }
            if let text = decoded(html, charset: name) { return text }
        }
        return repairedUTF8(html)
    }

    /// The page in UTF-8, or nil for a charset `Charset` does not know (or an empty name).
    private static func decoded(_ html: [UInt8], charset: String) -> [UInt8]? {
        switch Charset.normalize(charset) {
        case "": return nil
        case "utf8", "unicode11utf8", "xunicode20utf8": return repairedUTF8(html)
        default: return Charset.decode(html, charset: charset).map { Array($0.utf8) }
        }
    }

    private static func repairedUTF8(_ bytes: [UInt8]) -> [UInt8] {
        isValidUTF8(bytes) ? bytes : Array(String(decoding: bytes, as: UTF8.self).utf8)
    }

    // MARK: - Character set declared in the page

    /// The character set a `<meta>` declares in the first 1024 bytes, as the WHATWG prescan finds it: comments
    /// and other tags (with their quoted attributes) are skipped, so a `<meta` inside them is not taken.
    static func declaredCharset(_ b: [UInt8]) -> String? {
        let n = min(b.count, 1024)
        var i = 0
        while i < n {
            guard let lt = ByteScan.first(b, byte: UInt8(ascii: "<"), from: i, to: n) else { return nil }
            if hasPrefix(b, at: lt, "<!--") {
                i = find(b, "-->", from: lt + 2, end: n).map { $0 + 3 } ?? n
            } else if hasPrefix(b, at: lt, "<meta", caseInsensitive: true), lt + 5 < n,
                isSpace(b[lt + 5]) || b[lt + 5] == UInt8(ascii: "/")
            {
                var charset: String?
                var httpEquiv = false
                var content: Range<Int>?
                let end = scanAttributes(b, from: lt + 5, end: n) { name, value in
                    guard let value else { return }
                    switch lowercased(b[name]) {
                    case "charset": if charset == nil { charset = trimmed(b[value]) }
                    case "http-equiv": httpEquiv = lowercased(b[value]) == "content-type"
                    case "content": if content == nil { content = value }
                    default: break
                    }
                }
                guard end != nil else { return nil }
                if let charset, !charset.isEmpty { return charset }
                if httpEquiv, let content, let c = charsetParameter(b[content]) { return c }
                i = end?.end ?? n
            } else if lt + 1 < n,
                isAlpha(b[lt + 1]) || (b[lt + 1] == UInt8(ascii: "/") && lt + 2 < n && isAlpha(b[lt + 2]))
            {
                var j = lt + 1
                while j < n, !isSpace(b[j]), b[j] != UInt8(ascii: ">") { j += 1 }
                i = scanAttributes(b, from: j, end: n) { _, _ in }?.end ?? n
            } else if lt + 1 < n,
                b[lt + 1] == UInt8(ascii: "!") || b[lt + 1] == UInt8(ascii: "/") || b[lt + 1] == UInt8(ascii: "?")
            {
                i = b[lt..<n].firstIndex(of: UInt8(ascii: ">")).map { $0 + 1 } ?? n
            } else {
                i = lt + 1
            }
        }
        return nil
    }

    /// The `charset` parameter of a Content-Type value (`text/html; charset="utf-8"` -> "utf-8"), as the HTML
    /// standard extracts it from a meta's content (and as it reads in HTTP and MIME headers).
    static func charsetParameter(_ value: ArraySlice<UInt8>) -> String? {
        var i = value.startIndex
        let end = value.endIndex
        while i < end {
            guard let at = find(value, "charset", from: i, end: end, caseInsensitive: true) else { return nil }
            var j = at + 7
            while j < end, isSpace(value[j]) { j += 1 }
            guard j < end, value[j] == UInt8(ascii: "=") else {
                i = at + 7
                continue
            }
            j += 1
            while j < end, isSpace(value[j]) { j += 1 }
            guard j < end else { return nil }
            let q = value[j]
            if q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") {
                guard let close = value[(j + 1)..<end].firstIndex(of: q) else { return nil }
                let name = trimmed(value[(j + 1)..<close])
                return name.isEmpty ? nil : name
            }
            var k = j
            while k < end, !isSpace(value[k]), value[k] != UInt8(ascii: ";") { k += 1 }
            return k > j ? String(decoding: value[j..<k], as: UTF8.self) : nil
        }
        return nil
    }

    // MARK: - Tags

    enum TagKind {
        /// No effect on the text (`a`, `span`, `b`, unknown elements).
        case inline
        /// Ends a line (1) or leaves a blank line (2).
        case block(Int)
        case br
        /// A table cell: separated from the one before by a tab.
        case cell
        /// Whitespace kept: `pre`, `listing`.
        case pre
        /// Raw text up to the end tag, dropped (`script`, `style`...) or kept as preformatted text (`xmp`).
        case rawText(keep: Bool)
        case title
        /// Text up to the end tag, references decoded, kept.
        case textarea
        /// Everything after it is preformatted text.
        case plaintext
        /// Contents dropped, nesting counted: `template`, `object`, `applet`.
        case hidden
        case svg
        case head
        case body
    }

    struct TagInfo {
        var kind: TagKind
        /// An HTML element that ends an open `<svg>` (the standard's "breakout" elements of foreign content).
        var leavesSVG = false
        /// May appear in a head without ending it.
        var inHead = false
    }

    /// The elements that matter, by `tagKey`: an open-addressing table, so that a tag costs a multiply and a
    /// compare or two, not the hashing of its name.
    struct TagTable {
        private var keys = [UInt64](repeating: 0, count: 256)
        private var infos = [TagInfo](repeating: TagInfo(kind: .inline), count: 256)

        private static func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 56) }

        subscript(key: UInt64) -> TagInfo {
            get {
                var h = TagTable.slot(key)
                while keys[h] != 0 {
                    if keys[h] == key { return infos[h] }
                    h = (h + 1) & 255
                }
                return TagInfo(kind: .inline)
            }
            set {
                var h = TagTable.slot(key)
                while keys[h] != 0 && keys[h] != key { h = (h + 1) & 255 }
                keys[h] = key
                infos[h] = newValue
            }
        }
    }

    static let tags: TagTable = {
        var t = TagTable()
        func key(_ name: Substring) -> UInt64 { tagKey(Array(name.utf8), from: 0).key }
        func set(_ names: String, _ kind: TagKind) {
            for name in names.split(separator: " ") { t[key(name)].kind = kind }
        }
        set(
            "p h1 h2 h3 h4 h5 h6 blockquote ul ol dl menu dir table hr figure address fieldset section article aside "
                + "header footer nav main hgroup details dialog", .block(2))
        set(
            "div li dt dd tr thead tbody tfoot caption colgroup figcaption summary legend option optgroup form "
                + "html frameset frame center select search", .block(1))
        set("br", .br)
        set("td th", .cell)
        set("pre listing", .pre)
        set("script style iframe noembed noframes noscript", .rawText(keep: false))
        set("xmp", .rawText(keep: true))
        set("title", .title)
        set("textarea", .textarea)
        set("plaintext", .plaintext)
        set("template object applet", .hidden)
        set("svg", .svg)
        set("head", .head)
        set("body", .body)
        let leavesSVG =
            "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img li listing "
            + "menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var"
        for name in leavesSVG.split(separator: " ") { t[key(name)].leavesSVG = true }
        for name in "meta link base basefont bgsound title style script noscript template head html".split(
            separator: " ")
        {
            t[key(name)].inHead = true
        }
        return t
    }()

    /// A tag name of up to 10 ASCII letters and digits, packed 6 bits a character without regard to case (0 for
    /// any other name: no element of the table), and the index after the name (at a space, `/`, `>` or the end).
    static func tagKey(_ b: [UInt8], from start: Int) -> (key: UInt64, end: Int) {
        var key: UInt64 = 0
        var valid = true
        var i = start
        let n = b.count
        while i < n {
            let c = b[i]
            if isSpace(c) || c == UInt8(ascii: "/") || c == UInt8(ascii: ">") { break }
            if valid {
                let l = c | 0x20
                let code: UInt64
                if l >= UInt8(ascii: "a") && l <= UInt8(ascii: "z") {
                    code = UInt64(l - UInt8(ascii: "a") + 1)
                } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                    code = UInt64(c - UInt8(ascii: "0") + 27)
                } else {
                    code = 0
                }
                if code == 0 || i - start >= 10 {
                    valid = false
                } else {
                    key = key << 6 | code
                }
            }
            i += 1
        }
        return (valid ? key : 0, i)
    }

    // MARK: - Scanning helpers

    /// Reads a tag's attributes, from just after its name, as the standard's tokenizer does (quoted values may
    /// hold `>`), calling `visit` with each name and value (nil for an attribute without `=`).
    /// - Returns: the index after the closing `>` and whether the tag ends with `/>`; nil when the input ends first.
    static func scanAttributes<C: RandomAccessCollection<UInt8>>(
        _ b: C, from start: Int, end n: Int, _ visit: (Range<Int>, Range<Int>?) -> Void
    ) -> (end: Int, selfClosing: Bool)? where C.Index == Int {
        var i = start
        while true {
            var slash = false
            while i < n, isSpace(b[i]) || b[i] == UInt8(ascii: "/") {
                slash = b[i] == UInt8(ascii: "/")
                i += 1
            }
            guard i < n else { return nil }
            if b[i] == UInt8(ascii: ">") { return (i + 1, slash) }
            let nameStart = i
            i += 1  // the first character of a name may be '='
            while i < n, !isSpace(b[i]), b[i] != UInt8(ascii: "/"), b[i] != UInt8(ascii: ">"), b[i] != UInt8(ascii: "=")
            {
                i += 1
            }
            let name = nameStart..<i
            var j = i
            while j < n, isSpace(b[j]) { j += 1 }
            guard j < n, b[j] == UInt8(ascii: "=") else {
                visit(name, nil)
                i = j
                continue
            }
            j += 1
            while j < n, isSpace(b[j]) { j += 1 }
            guard j < n else { return nil }
            let q = b[j]
            if q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") {
                var close = j + 1
                while close < n, b[close] != q { close += 1 }
                guard close < n else { return nil }
                visit(name, (j + 1)..<close)
                i = close + 1
            } else if q == UInt8(ascii: ">") {
                visit(name, j..<j)
                return (j + 1, false)
            } else {
                var k = j
                while k < n, !isSpace(b[k]), b[k] != UInt8(ascii: ">") { k += 1 }
                visit(name, j..<k)
                i = k
            }
        }
    }

    static func isSpace(_ c: UInt8) -> Bool {
        c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D
    }

    static func isAlpha(_ c: UInt8) -> Bool {
        (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
    }

    static func isAlphanumeric(_ c: UInt8) -> Bool {
        isAlpha(c) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    static func lower(_ c: UInt8) -> UInt8 {
        c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c | 0x20 : c
    }

    static func lowercased(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.map(lower), as: UTF8.self)
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        var s = bytes
        while let f = s.first, isSpace(f) { s = s.dropFirst() }
        while let l = s.last, isSpace(l) { s = s.dropLast() }
        return String(decoding: s, as: UTF8.self)
    }

    static func hasPrefix<C: RandomAccessCollection<UInt8>>(
        _ b: C, at i: Int, _ prefix: String, caseInsensitive: Bool = false
    ) -> Bool where C.Index == Int {
        guard i >= b.startIndex, i + prefix.utf8.count <= b.endIndex else { return false }
        for (k, p) in prefix.utf8.enumerated() where (caseInsensitive ? lower(b[i + k]) : b[i + k]) != p {
            return false
        }
        return true
    }

    /// The first place in `from..<end` where `needle` starts (ASCII; a case-insensitive needle is lowercase).
    static func find<C: RandomAccessCollection<UInt8>>(
        _ b: C, _ needle: String, from: Int, end: Int, caseInsensitive: Bool = false
    ) -> Int? where C.Index == Int {
        let count = needle.utf8.count
        var i = max(from, b.startIndex)
        while i + count <= end {
            if hasPrefix(b, at: i, needle, caseInsensitive: caseInsensitive) { return i }
            i += 1
        }
        return nil
    }
}

// MARK: - Text output

/// Text with whitespace collapsed and line breaks merged: spaces, breaks and cell separators wait until text
/// follows them, so none trails, none leads, and breaks never pile up past one blank line.
struct TextWriter {
    private(set) var out: [UInt8] = []
    private var pendingSpace = false
    private var pendingBreaks = 0
    private var pendingCell = false
    /// Line feeds at the end of `out`.
    private var newlines = 0

    mutating func space() { pendingSpace = true }

    /// Ends the line (1) or leaves a blank line (2) before the next text.
    mutating func lineBreak(_ count: Int) { pendingBreaks = max(pendingBreaks, count) }

    /// One more line break (`<br>`).
    mutating func addBreak() { pendingBreaks = min(pendingBreaks + 1, 2) }

    mutating func cell() { pendingCell = true }

    private mutating func flush() {
        defer {
            pendingSpace = false
            pendingBreaks = 0
            pendingCell = false
        }
        guard let last = out.last else { return }
        if pendingBreaks > 0 {
            while newlines < pendingBreaks {
                out.append(0x0A)
                newlines += 1
            }
        } else if pendingCell {
            if newlines == 0 && last != 0x09 { out.append(0x09) }
        } else if pendingSpace && newlines == 0 && last != 0x20 && last != 0x09 {
            out.append(0x20)
        }
    }

    /// Text (no whitespace, no control characters).
    mutating func append<C: Collection<UInt8>>(_ bytes: C) {
        flush()
        out.append(contentsOf: bytes)
        newlines = 0
    }

    /// A space or tab of preformatted text.
    mutating func preformatted(_ c: UInt8) {
        flush()
        out.append(c)
        newlines = 0
    }

    /// A line end of preformatted text.
    mutating func preformattedNewline() {
        flush()
        if newlines < 2 {
            out.append(0x0A)
            newlines += 1
        }
    }
}

// MARK: - Characters

extension HTMLText {
    /// Characters of `range` into `w`: whitespace collapsed (or kept), references decoded, controls dropped.
    static func emit(
        _ b: [UInt8], _ range: Range<Int>, into w: inout TextWriter, preformatted pre: Bool, references: Bool = true
    ) {
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            let c = b[i]
            if c == UInt8(ascii: "&") && references {
                i = reference(b, at: i, end: end, into: &w, preformatted: pre)
                continue
            }
            if isSpace(c) {
                if !pre {
                    w.space()
                } else if c == 0x0A || c == 0x0D {
                    if c == 0x0D && i + 1 < end && b[i + 1] == 0x0A { i += 1 }
                    w.preformattedNewline()
                } else {
                    w.preformatted(c == 0x09 ? 0x09 : 0x20)
                }
                i += 1
                continue
            }
            if c < 0x20 || c == 0x7F {
                i += 1
                continue
            }
            if c == 0xC2 && i + 1 < end && b[i + 1] == 0xA0 {
                if pre { w.preformatted(0x20) } else { w.space() }
                i += 2
                continue
            }
            // A word, and outside preformatted text the words after it that one plain space separates (which
            // collapsing would keep as they are), copied whole.
            var j = ByteScan.first(b, of: textStop, from: i + 1, to: end)
            while !pre && j + 1 < end && b[j] == 0x20 && !textStop.contains(b[j + 1]) {
                j = ByteScan.first(b, of: textStop, from: j + 2, to: end)
            }
            w.append(b[i..<j])
            i = j
        }
    }

    /// The bytes that end a run of text in `emit`: whitespace and controls, `&`, and the lead byte of U+00A0.
    static let textStop = ByteSet(where: { $0 <= 0x20 || $0 == 0x7F || $0 == 0xC2 || $0 == UInt8(ascii: "&") })

    /// Decodes the character reference at `i` (a `&`) into `w`; returns the index after it. A `&` that starts no
    /// reference is text.
    static func reference(_ b: [UInt8], at i: Int, end: Int, into w: inout TextWriter, preformatted pre: Bool) -> Int {
        var j = i + 1
        if j < end && b[j] == UInt8(ascii: "#") {
            j += 1
            var hex = false
            if j < end && (b[j] | 0x20) == UInt8(ascii: "x") {
                hex = true
                j += 1
            }
            let digits = j
            var value: UInt32 = 0
            while j < end {
                let c = b[j]
                let d: UInt32
                if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                    d = UInt32(c - UInt8(ascii: "0"))
                } else if hex && (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "f") {
                    d = UInt32((c | 0x20) - UInt8(ascii: "a") + 10)
                } else {
                    break
                }
                value = min(value * (hex ? 16 : 10) + d, 0x11_0000)  // saturates past the last code point
                j += 1
            }
            guard j > digits else {
                w.append(CollectionOfOne(UInt8(ascii: "&")))
                return i + 1
            }
            if j < end && b[j] == UInt8(ascii: ";") { j += 1 }
            put(numericCharacter(value), into: &w, preformatted: pre)
            return j
        }
        var k = j
        while k < end && k - j < longestEntityName && isAlphanumeric(b[k]) { k += 1 }
        if k < end && k > j && b[k] == UInt8(ascii: ";"), let value = entities[Array(b[j...k])] {
            put(value, into: &w, preformatted: pre)
            return k + 1
        }
        // A legacy name without its ';': the longest that starts the text (they are 2 to 6 letters long).
        var length = min(k - j, 6)
        while length >= 2 {
            if let value = entities[Array(b[j..<(j + length)])] {
                put(value, into: &w, preformatted: pre)
                return j + length
            }
            length -= 1
        }
        w.append(CollectionOfOne(UInt8(ascii: "&")))
        return i + 1
    }

    /// A decoded reference's characters: whitespace and no-break spaces as spaces, controls dropped.
    static func put(_ value: [UInt8], into w: inout TextWriter, preformatted pre: Bool) {
        if value.count == 1 && (value[0] <= 0x20 || value[0] == 0x7F) {
            let c = value[0]
            if !isSpace(c) { return }
            if !pre {
                w.space()
            } else if c == 0x0A || c == 0x0D {
                w.preformattedNewline()
            } else {
                w.preformatted(c == 0x09 ? 0x09 : 0x20)
            }
        } else if value == [0xC2, 0xA0] {
            if pre { w.preformatted(0x20) } else { w.space() }
        } else {
            w.append(value)
        }
    }

    /// A numeric reference's character, as browsers map it.
    static func numericCharacter(_ value: UInt32) -> [UInt8] {
        if value >= 0x80 && value <= 0x9F {
            return Array(Charset.windows1252(CollectionOfOne(UInt8(value))).utf8)
        }
        guard value != 0, let scalar = Unicode.Scalar(value) else { return [0xEF, 0xBF, 0xBD] }  // U+FFFD
        return Array(String(Character(scalar)).utf8)
    }
}

// MARK: - The pass

private struct Extractor {
    let b: [UInt8]
    var body = TextWriter()
    var title: String?
    /// Open elements that matter, counted.
    var preDepth = 0
    var svgDepth = 0
    var hiddenDepth = 0
    var inHead = false
    /// The newline right after `<pre>` is not text.
    var skipNewline = false
    /// The `tagKey` of the tag at hand.
    var nameKey: UInt64 = 0
    let tags = HTMLText.tags

    init(_ bytes: [UInt8]) {
        b = bytes
    }

    var dropping: Bool { svgDepth > 0 || hiddenDepth > 0 }

    mutating func run() {
        let n = b.count
        var i = 0
        while i < n {
            guard let lt = ByteScan.first(b, byte: UInt8(ascii: "<"), from: i, to: n) else {
                text(i..<n)
                break
            }
            if lt > i { text(i..<lt) }
            skipNewline = false
            i = markup(at: lt)
        }
    }

    /// Text between tags, for the body.
    mutating func text(_ range: Range<Int>, preformatted: Bool? = nil, references: Bool = true) {
        var r = range
        if skipNewline {
            skipNewline = false
            if r.lowerBound < r.upperBound && b[r.lowerBound] == 0x0D { r = (r.lowerBound + 1)..<r.upperBound }
            if r.lowerBound < r.upperBound && b[r.lowerBound] == 0x0A { r = (r.lowerBound + 1)..<r.upperBound }
        }
        if dropping { return }
        if inHead {
            // Text that is not whitespace ends the head (the page has no `</head>`, or text before `<body>`).
            guard b[r].contains(where: { !HTMLText.isSpace($0) }) else { return }
            inHead = false
        }
        HTMLText.emit(b, r, into: &body, preformatted: preformatted ?? (preDepth > 0), references: references)
    }

    // MARK: Markup

    /// Handles the markup at `lt` (a `<`); returns the index after it.
    mutating func markup(at lt: Int) -> Int {
        let n = b.count
        guard lt + 1 < n else {
            text(lt..<n)  // a '<' at the end is text
            return n
        }
        let c = b[lt + 1]
        if c == UInt8(ascii: "!") {
            if HTMLText.hasPrefix(b, at: lt, "<!--") {
                // `<!-->` and `<!--->` are whole comments; otherwise up to `-->` or `--!>`.
                if lt + 4 < n && b[lt + 4] == UInt8(ascii: ">") { return lt + 5 }
                if HTMLText.hasPrefix(b, at: lt + 4, "->") { return lt + 6 }
                var j = lt + 4
                while j + 2 < n {
                    if b[j] == UInt8(ascii: "-") && b[j + 1] == UInt8(ascii: "-") {
                        if b[j + 2] == UInt8(ascii: ">") { return j + 3 }
                        if b[j + 2] == UInt8(ascii: "!") && j + 3 < n && b[j + 3] == UInt8(ascii: ">") { return j + 4 }
                    }
                    j += 1
                }
                return n
            }
            if HTMLText.hasPrefix(b, at: lt, "<![CDATA[") {
                return HTMLText.find(b, "]]>", from: lt + 9, end: n).map { $0 + 3 } ?? n
            }
            return skipPast(">", from: lt + 2)  // a doctype, or a bogus comment
        }
        if c == UInt8(ascii: "?") { return skipPast(">", from: lt + 2) }  // a processing instruction
        if c == UInt8(ascii: "/") {
            guard lt + 2 < n else {
                text(lt..<n)
                return n
            }
            let d = b[lt + 2]
            if d == UInt8(ascii: ">") { return lt + 3 }  // `</>` is nothing
            guard HTMLText.isAlpha(d) else { return skipPast(">", from: lt + 2) }
            let nameEnd = readName(from: lt + 2)
            guard let tag = HTMLText.scanAttributes(b, from: nameEnd, end: n, { _, _ in }) else { return n }
            endTag()
            return tag.end
        }
        guard HTMLText.isAlpha(c) else {
            text(lt..<(lt + 1))  // `a < b`: the '<' is text
            return lt + 1
        }
        let nameEnd = readName(from: lt + 1)
        // A tag the input ends inside is dropped, as browsers drop it.
        guard let tag = HTMLText.scanAttributes(b, from: nameEnd, end: n, { _, _ in }) else { return n }
        return startTag(end: tag.end, selfClosing: tag.selfClosing)
    }

    /// Reads a tag name into `nameKey`; returns the index after it.
    mutating func readName(from start: Int) -> Int {
        let (key, end) = HTMLText.tagKey(b, from: start)
        nameKey = key
        return end
    }

    func skipPast(_ needle: String, from i: Int) -> Int {
        HTMLText.find(b, needle, from: i, end: b.count).map { $0 + needle.utf8.count } ?? b.count
    }

    mutating func startTag(end: Int, selfClosing: Bool) -> Int {
        let info = tags[nameKey]
        if svgDepth > 0 && info.leavesSVG { svgDepth = 0 }
        if inHead && !info.inHead { inHead = false }
        switch info.kind {
        case .inline:
            break
        case .block(let breaks):
            body.lineBreak(breaks)
        case .br:
            body.addBreak()
        case .cell:
            body.cell()
        case .pre:
            body.lineBreak(2)
            preDepth += 1
            skipNewline = true
        case .rawText(let keep):
            let (contentEnd, after) = rawTextEnd(from: end)
            if keep {
                body.lineBreak(2)
                text(end..<contentEnd, preformatted: true, references: false)
                body.lineBreak(2)
            }
            return after
        case .title:
            if svgDepth > 0 { break }  // an SVG element's title
            let (contentEnd, after) = rawTextEnd(from: end)
            if title == nil {
                var w = TextWriter()
                HTMLText.emit(b, end..<contentEnd, into: &w, preformatted: false)
                if !w.out.isEmpty { title = String(decoding: w.out, as: UTF8.self) }
            }
            return after
        case .textarea:
            let (contentEnd, after) = rawTextEnd(from: end)
            body.lineBreak(1)
            text(end..<contentEnd)
            body.lineBreak(1)
            return after
        case .plaintext:
            body.lineBreak(2)
            text(end..<b.count, preformatted: true, references: false)
            return b.count
        case .hidden:
            if !selfClosing { hiddenDepth += 1 }
        case .svg:
            if !selfClosing { svgDepth += 1 }
        case .head:
            inHead = true
        case .body:
            body.lineBreak(1)
        }
        return end
    }

    mutating func endTag() {
        let info = tags[nameKey]
        switch info.kind {
        case .block(let breaks): body.lineBreak(breaks)
        case .br: body.addBreak()  // `</br>` is a `<br>` to browsers
        case .pre:
            if preDepth > 0 { preDepth -= 1 }
            body.lineBreak(2)
        case .hidden: if hiddenDepth > 0 { hiddenDepth -= 1 }
        case .svg: if svgDepth > 0 { svgDepth -= 1 }
        case .head: inHead = false
        case .body:
            inHead = false
            body.lineBreak(1)
        case .inline, .cell, .rawText, .title, .textarea, .plaintext: break
        }
    }

    /// Where the raw text of the element at hand ends: the start of its end tag (`</name` and a space, `/` or
    /// `>`, in any case) and the index after that tag; the end of the input if it has none.
    func rawTextEnd(from start: Int) -> (contentEnd: Int, after: Int) {
        let n = b.count
        var i = start
        while let lt = b[i..<n].firstIndex(of: UInt8(ascii: "<")) {
            if lt + 2 < n && b[lt + 1] == UInt8(ascii: "/") && HTMLText.isAlpha(b[lt + 2]) {
                let (key, nameEnd) = HTMLText.tagKey(b, from: lt + 2)
                if key == nameKey {
                    return (lt, HTMLText.scanAttributes(b, from: nameEnd, end: n, { _, _ in })?.end ?? n)
                }
            }
            i = lt + 1
        }
        return (n, n)
    }
}
