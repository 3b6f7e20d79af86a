// Wikitext (MediaWiki's markup) reduced to the prose a reader sees, for indexing: phrase search must work on the
// sentences, so markup that is not prose goes and links leave their visible text in place. Three passes, each linear
// in the input, none recursive (any nesting is an explicit stack, bounded):
//
//     1. tags       comments removed; <nowiki>, <pre>, <syntaxhighlight>/<source> kept as literal text (hidden
//                   from the markup pass behind a placeholder); <ref>, <math>, <gallery> and the other extension
//                   tags removed with their content; HTML tags (<small>, <span>, <sup>, <br>, <div> ...) removed,
//                   their text kept
//     2. markup     templates {{...}} and tables {| ... |} removed (a few inline templates leave their text:
//                   {{snd}}, {{nowrap|..}}, {{lang|..}}, {{convert|..}}: `inlineTemplates`), links replaced by
//                   their text (files, categories and interlanguage links removed), external links by their
//                   label, bold and italic quotes dropped, headings on their own lines, list markers and magic
//                   words removed; an element opens by writing its markup to the output and remembering where,
//                   and closes by cutting or rewriting the output from there, so the content is processed once
//                   whatever the nesting
//     3. text       placeholders back, HTML entities decoded, spaces collapsed, blank lines collapsed
//
// Unbalanced markup never fails: an unclosed `{{` or `{|` drops the rest of its paragraph (up to the next blank
// line of the output) and the text after that is kept; an unclosed `[[` or `[http...` stays as it was written; a
// `}}` or `]]` with nothing to close is text. Nesting deeper than `maxDepth` (or links deeper than `maxLinkDepth`)
// is taken as text.

/// Wikitext to readable prose.
enum Wikitext {
    /// Templates and tables nested deeper than this are text (the bound of the markup stack).
    static let maxDepth = 256
    /// Links (and external links) nested deeper than this are text: each level copies its label once, so this
    /// bounds the work per byte.
    static let maxLinkDepth = 8

    /// The prose of `wikitext`: paragraphs separated by a blank line, headings on their own lines, list items one
    /// per line, no markup.
    /// - Complexity: O(n) in the length of the wikitext, whatever the markup (balanced or not).
    static func plainText(_ wikitext: String) -> String {
        let prepared = prepare(Array(wikitext.utf8))
        var markup = Markup(prepared.bytes)
        markup.run()
        return render(markup.finish(), literals: prepared.literals)
    }
}

// MARK: - Pass 1: comments and tags

extension Wikitext {
    /// What a tag does to its content.
    enum TagRole {
        /// Removed with its content (<ref>, <math>, <gallery> ...).
        case drop
        /// The content is literal text, entities decoded (<nowiki>, <pre>).
        case literal
        /// The content is literal text as written (<syntaxhighlight>, <source>).
        case rawLiteral
        /// The tag is removed and breaks the line (<br>, <p>, <div> ...); its content is wikitext.
        case block
        /// The tag is removed; its content is wikitext (<small>, <span>, <sup> ...).
        case inline
    }

    static let tagRoles: [String: TagRole] = {
        var roles: [String: TagRole] = [:]
        for name in [
            "ref", "references", "math", "chem", "ce", "gallery", "score", "timeline", "graph", "mapframe", "maplink",
            "templatedata", "templatestyles", "imagemap", "inputbox", "categorytree", "includeonly", "indicator",
            "hiero", "charinsert", "phonos",
        ] {
            roles[name] = .drop
        }
        roles["nowiki"] = .literal
        roles["pre"] = .literal
        roles["syntaxhighlight"] = .rawLiteral
        roles["source"] = .rawLiteral
        for name in [
            "br", "p", "div", "hr", "li", "ul", "ol", "dl", "dd", "dt", "table", "tr", "td", "th", "caption",
            "tbody", "thead", "tfoot", "blockquote", "center", "poem", "h1", "h2", "h3", "h4", "h5", "h6",
        ] {
            roles[name] = .block
        }
        for name in [
            "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins", "kbd",
            "mark", "q", "rb", "rp", "rt", "rtc", "ruby", "s", "samp", "small", "span", "strike", "strong", "sub",
            "sup", "time", "tt", "u", "var", "wbr", "noinclude", "onlyinclude", "section", "bdi", "languages",
        ] {
            roles[name] = .inline
        }
        return roles
    }()

    /// Wikitext without comments and tags, and the literal texts its placeholders (0x01 index 0x02) stand for.
    struct Prepared {
        var bytes: [UInt8]
        var literals: [[UInt8]]
    }

    /// The first match of a pattern at or after a position, remembered: a later search from a position between
    /// the last start and its match has the same answer, so searches that move forward cost O(n) together.
    struct Memo {
        var from = Int.max
        var at: Int?

        mutating func find(from p: Int, _ search: (Int) -> Int?) -> Int? {
            if p >= from, at.map({ p <= $0 }) ?? true { return at }
            let found = search(p)
            from = p
            at = found
            return found
        }
    }

    /// A tag's longest span from '<' to '>' (attributes included); a '<' with no '>' that near is text.
    static let maxTagLength = 2048

    /// The bytes the tag pass stops at.
    static let prepareSpecial = ByteSet([0x01, 0x02, UInt8(ascii: "<")])

    static func prepare(_ s: [UInt8]) -> Prepared {
        let n = s.count
        var out: [UInt8] = []
        out.reserveCapacity(n)
        var literals: [[UInt8]] = []
        var comments = Memo()
        var tagEnds = Memo()
        var closings: [String: Memo] = [:]
        var i = 0
        while i < n {
            let c = s[i]
            if c == 0x01 || c == 0x02 {  // the placeholders' bytes: never from the input
                out.append(0x20)
                i += 1
                continue
            }
            guard c == UInt8(ascii: "<") else {
                // Text up to the next byte that matters, copied whole.
                let e = ByteScan.first(s, of: prepareSpecial, from: i + 1, to: n)
                out.append(contentsOf: s[i..<e])
                i = e
                continue
            }
            if hasPrefix(s, at: i, commentOpen) {
                // An unclosed comment runs to the end, as in MediaWiki.
                guard let end = comments.find(from: i + 4, { ByteScan.first(s, commentClose, from: $0, to: s.count) }) else { break }
                var next = end + 3
                // A comment alone on its line takes the line with it.
                if (i == 0 || s[i - 1] == 0x0A) && next < n && s[next] == 0x0A { next += 1 }
                i = next
                continue
            }
            guard let tag = parseTag(s, at: i, ends: &tagEnds) else {
                out.append(c)
                i += 1
                continue
            }
            switch tag.role {
            case .block:
                out.append(0x0A)
                i = tag.end
            case .inline:
                i = tag.end
            case .drop, .literal, .rawLiteral:
                // A removed element alone on its line takes the line with it (as a comment does).
                let alone = tag.role == .drop && (i == 0 || s[i - 1] == 0x0A)
                if tag.closing || tag.selfClosing {
                    i = tag.end
                    if alone && i < n && s[i] == 0x0A { i += 1 }
                    continue
                }
                var memo = closings[tag.name] ?? Memo()
                let close = memo.find(from: tag.end) { closingTag(s, name: tag.name, from: $0) }
                closings[tag.name] = memo
                // Unclosed: only the opening tag goes.
                guard let close else {
                    i = tag.end
                    continue
                }
                if tag.role != .drop {
                    var literal: [UInt8] = []
                    if tag.role == .literal {
                        decodeEntities(s[tag.end..<close], into: &literal)
                    } else {
                        literal.append(contentsOf: s[tag.end..<close])
                    }
                    out.append(0x01)
                    out.append(contentsOf: String(literals.count).utf8)
                    out.append(0x02)
                    literals.append(literal)
                }
                i = closingTagEnd(s, from: close)
                if alone && i < n && s[i] == 0x0A { i += 1 }
            }
        }
        return Prepared(bytes: out, literals: literals)
    }

    struct Tag {
        var name: String
        var role: TagRole
        var closing: Bool
        var selfClosing: Bool
        /// After the '>'.
        var end: Int
    }

    /// The tag at `i` (on a '<'), if it names a tag of `tagRoles` and ends with a '>' near enough.
    static func parseTag(_ s: [UInt8], at i: Int, ends: inout Memo) -> Tag? {
        let n = s.count
        var j = i + 1
        let closing = j < n && s[j] == UInt8(ascii: "/")
        if closing { j += 1 }
        let nameStart = j
        while j < n && j - nameStart <= 16 && isASCIIAlphanumeric(s[j]) { j += 1 }
        guard j > nameStart, isASCIILetter(s[nameStart]) else { return nil }
        if j < n && !(isSpace(s[j]) || s[j] == 0x0A || s[j] == UInt8(ascii: "/") || s[j] == UInt8(ascii: ">")) {
            return nil
        }
        let name = String(decoding: s[nameStart..<j].map(lowerASCII), as: UTF8.self)
        guard let role = tagRoles[name] else { return nil }
        guard let gt = ends.find(from: j, { ByteScan.first(s, byte: UInt8(ascii: ">"), from: $0, to: s.count) }), gt - i <= maxTagLength else { return nil }
        let selfClosing = gt > j && s[gt - 1] == UInt8(ascii: "/")
        return Tag(name: name, role: role, closing: closing, selfClosing: selfClosing, end: gt + 1)
    }

    /// Where the first `</name>` (any case, spaces before '>' allowed) at or after `from` starts.
    static func closingTag(_ s: [UInt8], name: String, from: Int) -> Int? {
        let name = Array(name.utf8)
        let n = s.count
        var k = from
        while k + 2 + name.count < n {
            if s[k] == UInt8(ascii: "<") && s[k + 1] == UInt8(ascii: "/") {
                var match = true
                for (d, b) in name.enumerated() where lowerASCII(s[k + 2 + d]) != b {
                    match = false
                    break
                }
                if match {
                    var e = k + 2 + name.count
                    while e < n && (isSpace(s[e]) || s[e] == 0x0A) { e += 1 }
                    if e < n && s[e] == UInt8(ascii: ">") { return k }
                }
            }
            k += 1
        }
        return nil
    }

    /// After the '>' of the closing tag at `from`.
    static func closingTagEnd(_ s: [UInt8], from: Int) -> Int {
        var e = from
        while e < s.count && s[e] != UInt8(ascii: ">") { e += 1 }
        return min(e + 1, s.count)
    }
}

// MARK: - Pass 2: templates, tables, links, quotes, headings, lists

extension Wikitext {
    /// An open piece of markup: its kind and where its opening markup starts in the output.
    struct Element {
        enum Kind {
            case braces, table, link, external
        }

        var kind: Kind
        var at: Int
        /// Braces: the `{` not yet matched (the output holds them at `at..<at + count`).
        var count = 0
        /// Links: the output position of the first `|` of the link itself.
        var pipe: Int?
    }

    /// Namespaces whose links are not text: files and categories (English and a few large wikis).
    static let hiddenNamespaces: Set<String> = [
        "file", "image", "category", "datei", "bild", "kategorie", "fichier", "catégorie", "archivo", "imagen",
        "categoría", "immagine", "categoria", "ficheiro", "arquivo", "imagem", "plik", "grafika", "kategoria",
        "bestand", "afbeelding", "categorie", "fil", "kategori", "tiedosto", "luokka", "файл", "Файл",
        "изображение", "Изображение", "категория", "Категория", "ファイル", "画像", "カテゴリ", "文件",
        "图像",
        "分类", "檔案", "分類",
    ]

    static let urlSchemes: [[UInt8]] = [
        "http://", "https://", "ftp://", "ftps://", "sftp://", "irc://", "ircs://", "news:", "mailto:", "gopher://",
        "git://", "svn://", "telnet://", "nntp://", "//",
    ].map { Array($0.utf8) }

    /// The bytes the markup pass stops at (its `switch`'s cases).
    static let markupSpecial = ByteSet("\n{}[]|'_:".utf8)

    struct Markup {
        let s: [UInt8]
        var out: [UInt8] = []
        var stack: [Element] = []
        /// Braces elements on the stack.
        var braces = 0
        /// Links and external links on the stack.
        var links = 0
        /// The heading of the current line: where its closing `=` start, and its line's end.
        var heading: (close: Int, end: Int)?
        /// On a `;` line: the stack depth at which its first `:` starts the definition.
        var definitionDepth: Int?

        init(_ s: [UInt8]) {
            self.s = s
            out.reserveCapacity(s.count)
        }

        mutating func run() {
            let n = s.count
            var i = 0
            var lineStart = 0
            var lineOut = 0
            var atLineStart = true
            while i < n {
                if atLineStart {
                    atLineStart = false
                    lineStart = i
                    lineOut = out.count
                    i = startLine(i)
                    continue
                }
                if let h = heading, i >= h.close {
                    heading = nil
                    out.append(0x0A)
                    i = h.end
                    continue
                }
                let c = s[i]
                switch c {
                case 0x0A:
                    // A line whose text was all markup (a template, a table's end, a category) goes with its line
                    // break; a blank line of the input stays, a paragraph break.
                    let blank = s[lineStart..<i].allSatisfy { isSpace($0) }
                    endLine(blank: blank)
                    if blank || (out.count > lineOut && !out[lineOut...].allSatisfy({ isSpace($0) || $0 == 0x0A })) {
                        out.append(0x0A)
                    }
                    i += 1
                    atLineStart = true
                case UInt8(ascii: "{"):
                    i = openBraces(i)
                case UInt8(ascii: "}"):
                    i = closeBraces(i)
                case UInt8(ascii: "["):
                    i = openBrackets(i)
                case UInt8(ascii: "]"):
                    i = closeBrackets(i)
                case UInt8(ascii: "|"):
                    out.append(c)
                    if let top = stack.last, top.kind == .link, top.pipe == nil {
                        stack[stack.count - 1].pipe = out.count - 1
                    }
                    i += 1
                case UInt8(ascii: "'"):
                    i = quotes(i)
                case UInt8(ascii: "_"):
                    i = magicWord(i)
                case UInt8(ascii: ":"):
                    if definitionDepth == stack.count {
                        definitionDepth = nil
                        out.append(0x0A)
                    } else {
                        out.append(c)
                    }
                    i += 1
                default:
                    // Text up to the next byte of markup (or the current heading's closing `=`), copied whole.
                    let e = ByteScan.first(s, of: Wikitext.markupSpecial, from: i + 1, to: heading?.close ?? n)
                    out.append(contentsOf: s[i..<e])
                    i = e
                }
            }
        }

        /// The output with what is still open resolved: links stay as written, templates and tables drop the rest
        /// of their paragraph.
        mutating func finish() -> [UInt8] {
            let unclosed = stack.filter { $0.kind == .braces || $0.kind == .table }.map(\.at)
            stack.removeAll()
            guard !unclosed.isEmpty else { return out }
            var result: [UInt8] = []
            result.reserveCapacity(out.count)
            var kept = 0
            for at in unclosed where at >= kept {
                result.append(contentsOf: out[kept..<at])
                kept = paragraphEnd(from: at)
            }
            result.append(contentsOf: out[kept...])
            return result
        }

        /// The first '\n' at or after `p` that starts a blank line (or the end).
        func paragraphEnd(from p: Int) -> Int {
            var k = p
            while k < out.count {
                if out[k] == 0x0A {
                    var e = k + 1
                    while e < out.count && isSpace(out[e]) { e += 1 }
                    if e < out.count && out[e] == 0x0A { return k }
                    k = e
                } else {
                    k += 1
                }
            }
            return out.count
        }

        // MARK: Lines

        /// What a line start means: a table's start or end, a heading, a rule, list markers. Returns where the
        /// line's text continues.
        mutating func startLine(_ i: Int) -> Int {
            let n = s.count
            var k = i
            while k < n && isSpace(s[k]) { k += 1 }
            if k + 1 < n && s[k] == UInt8(ascii: "|") && s[k + 1] == UInt8(ascii: "}") && closeTable() {
                return k + 2
            }
            // A table row's start ("|-" and its attributes) is never text; outside a table it comes from a table
            // that templates open and close ({{s-start}} ... {{s-end}}).
            if k + 1 < n && s[k] == UInt8(ascii: "|") && s[k + 1] == UInt8(ascii: "-") {
                var e = k
                while e < n && s[e] != 0x0A { e += 1 }
                return e
            }
            var m = k
            while m < n && s[m] == UInt8(ascii: ":") { m += 1 }
            while m < n && isSpace(s[m]) { m += 1 }
            if m + 1 < n && s[m] == UInt8(ascii: "{") && s[m + 1] == UInt8(ascii: "|") && stack.count < maxDepth {
                stack.append(Element(kind: .table, at: out.count))
                out.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "|")])
                return m + 2
            }
            if s[i] == UInt8(ascii: "="), let h = headingAt(i) {
                heading = (h.close, h.end)
                out.append(0x0A)
                return i + h.level
            }
            if k + 3 < n && s[k..<(k + 4)].allSatisfy({ $0 == UInt8(ascii: "-") }) {
                var e = k
                while e < n && s[e] == UInt8(ascii: "-") { e += 1 }
                return e
            }
            if isListMarker(s[i]) {
                var e = i
                var definition = false
                while e < n && isListMarker(s[e]) {
                    if s[e] == UInt8(ascii: ";") { definition = true }
                    e += 1
                }
                while e < n && isSpace(s[e]) { e += 1 }
                if definition { definitionDepth = stack.count }
                return e
            }
            return i
        }

        /// The heading on the line at `i` (which starts with '='): `== Text ==`, the level being the shorter run.
        func headingAt(_ i: Int) -> (level: Int, close: Int, end: Int)? {
            let n = s.count
            var end = i
            while end < n && s[end] != 0x0A { end += 1 }
            var t = end
            while t > i && isSpace(s[t - 1]) { t -= 1 }
            var left = 0
            while i + left < t && s[i + left] == UInt8(ascii: "=") { left += 1 }
            var right = 0
            while t - right - 1 >= i + left && s[t - right - 1] == UInt8(ascii: "=") { right += 1 }
            let level = min(left, right, 6)
            guard level >= 1 else { return nil }
            return (level, t - level, end)
        }

        /// At a line's end: external links and links without a `|` do not go on to the next line, and no link goes
        /// past a blank line; those stay as written.
        mutating func endLine(blank: Bool) {
            while let top = stack.last,
                top.kind == .external || (top.kind == .link && (top.pipe == nil || blank))
            {
                popAsText()
            }
            definitionDepth = nil
        }

        /// `|}` at a line start closes the innermost table (with links left open inside it); inside a template it
        /// is text.
        mutating func closeTable() -> Bool {
            var j = stack.count - 1
            while j >= 0 && (stack[j].kind == .link || stack[j].kind == .external) { j -= 1 }
            guard j >= 0 && stack[j].kind == .table else { return false }
            while stack.count > j + 1 { popAsText() }
            let table = stack.removeLast()
            out.removeSubrange(table.at...)
            return true
        }

        // MARK: Elements

        /// The top element stays as written.
        mutating func popAsText() {
            let e = stack.removeLast()
            switch e.kind {
            case .braces: braces -= 1
            case .link, .external: links -= 1
            case .table: break
            }
        }

        mutating func openBraces(_ i: Int) -> Int {
            let e = run(of: UInt8(ascii: "{"), from: i)
            let count = e - i
            if count >= 2 && stack.count < maxDepth {
                stack.append(Element(kind: .braces, at: out.count, count: count))
                braces += 1
            }
            out.append(contentsOf: repeatElement(UInt8(ascii: "{"), count: count))
            return e
        }

        /// A run of `}` closes templates (`}}`) and parameters (`}}}`), innermost first, cutting them from the
        /// output; what it cannot close is text.
        mutating func closeBraces(_ i: Int) -> Int {
            let e = run(of: UInt8(ascii: "}"), from: i)
            var m = e - i
            while m >= 2 && braces > 0 {
                while let top = stack.last, top.kind != .braces { popAsText() }
                var top = stack[stack.count - 1]
                let k = top.count >= 3 && m >= 3 && (top.count == 3 || m == 3) ? 3 : 2
                // A whole template (not a parameter, not part of a longer run of braces) may leave text.
                let text = k == 2 && top.count == 2 ? inlineTemplateText(out[(top.at + 2)...]) : nil
                top.count -= k
                m -= k
                out.removeSubrange((top.at + top.count)...)
                if let text { out.append(contentsOf: text) }
                if top.count < 2 {
                    stack.removeLast()
                    braces -= 1
                } else {
                    stack[stack.count - 1] = top
                }
            }
            out.append(contentsOf: repeatElement(UInt8(ascii: "}"), count: m))
            return e
        }

        mutating func openBrackets(_ i: Int) -> Int {
            let e = run(of: UInt8(ascii: "["), from: i)
            let count = e - i
            let room = links < maxLinkDepth && stack.count < maxDepth
            if room && isURL(at: e) && stack.last?.kind != .external {
                out.append(contentsOf: repeatElement(UInt8(ascii: "["), count: count - 1))
                stack.append(Element(kind: .external, at: out.count))
                links += 1
                out.append(UInt8(ascii: "["))
            } else if room && count >= 2 {
                out.append(contentsOf: repeatElement(UInt8(ascii: "["), count: count - 2))
                stack.append(Element(kind: .link, at: out.count))
                links += 1
                out.append(contentsOf: [UInt8(ascii: "["), UInt8(ascii: "[")])
            } else {
                out.append(contentsOf: repeatElement(UInt8(ascii: "["), count: count))
            }
            return e
        }

        mutating func closeBrackets(_ i: Int) -> Int {
            let e = run(of: UInt8(ascii: "]"), from: i)
            var m = e - i
            while m > 0, let top = stack.last {
                if top.kind == .external {
                    closeExternal()
                    m -= 1
                } else if top.kind == .link && m >= 2 {
                    closeLink()
                    m -= 2
                } else {
                    break
                }
            }
            out.append(contentsOf: repeatElement(UInt8(ascii: "]"), count: m))
            return e
        }

        /// `[[Target]]` → Target, `[[Target|text]]` → text, `[[Target (x)|]]` → Target; files, categories and
        /// interlanguage links → nothing (`[[:Category:X]]`, with its colon, is an ordinary link).
        mutating func closeLink() {
            let e = stack.removeLast()
            links -= 1
            var ts = e.at + 2
            var te = e.pipe ?? out.count
            trim(&ts, &te)
            var colonLink = false
            if ts < te && out[ts] == UInt8(ascii: ":") {
                colonLink = true
                ts += 1
                trim(&ts, &te)
            }
            if !colonLink, let colon = out[ts..<te].firstIndex(of: UInt8(ascii: ":")) {
                var ps = ts
                var pe = colon
                trim(&ps, &pe)
                let prefix = out[ps..<pe]
                let lowered = String(decoding: prefix.map(lowerASCII), as: UTF8.self)
                // A file in any language's namespace ([[Lêer:X.jpg|thumb|...]]) by its extension.
                if hiddenNamespaces.contains(lowered) || isLanguageCode(prefix)
                    || (lowered != "media" && isMediaFile(out[(colon + 1)..<te]))
                {
                    out.removeSubrange(e.at...)
                    return
                }
            }
            let label: [UInt8]
            if let pipe = e.pipe {
                let text = out[(pipe + 1)...]
                label = text.allSatisfy({ isSpace($0) || $0 == 0x0A }) ? pipeTrick(out[ts..<te]) : Array(text)
            } else {
                label = Array(out[ts..<te])
            }
            out.removeSubrange(e.at...)
            out.append(contentsOf: label)
        }

        /// `[http://x text]` → text; `[http://x]` → nothing (MediaWiki shows a number).
        mutating func closeExternal() {
            let e = stack.removeLast()
            links -= 1
            var k = e.at + 1
            while k < out.count && !isSpace(out[k]) { k += 1 }
            while k < out.count && isSpace(out[k]) { k += 1 }
            let label = Array(out[k...])
            out.removeSubrange(e.at...)
            out.append(contentsOf: label)
        }

        // MARK: Inline

        /// `''italic''`, `'''bold'''`, `'''''both'''''`: the quotes go; four are an apostrophe and bold, more than
        /// five keep the extra ones.
        mutating func quotes(_ i: Int) -> Int {
            let e = run(of: UInt8(ascii: "'"), from: i)
            let count = e - i
            let kept: Int
            switch count {
            case 1, 4: kept = 1
            case 2, 3, 5: kept = 0
            default: kept = count - 5
            }
            out.append(contentsOf: repeatElement(UInt8(ascii: "'"), count: kept))
            return e
        }

        /// `__TOC__`, `__NOTOC__` and the other behaviour switches go.
        mutating func magicWord(_ i: Int) -> Int {
            let n = s.count
            if i + 1 < n && s[i + 1] == UInt8(ascii: "_") {
                var e = i + 2
                while e < n && e - i < 40 && s[e] >= UInt8(ascii: "A") && s[e] <= UInt8(ascii: "Z") { e += 1 }
                if e > i + 2 && e + 1 < n && s[e] == UInt8(ascii: "_") && s[e + 1] == UInt8(ascii: "_") {
                    return e + 2
                }
            }
            out.append(UInt8(ascii: "_"))
            return i + 1
        }

        // MARK: Helpers

        func run(of byte: UInt8, from i: Int) -> Int {
            var e = i
            while e < s.count && s[e] == byte { e += 1 }
            return e
        }

        func isURL(at i: Int) -> Bool {
            for scheme in urlSchemes where i + scheme.count <= s.count {
                var match = true
                for (d, b) in scheme.enumerated() where lowerASCII(s[i + d]) != b {
                    match = false
                    break
                }
                if match { return true }
            }
            return false
        }

        func trim(_ start: inout Int, _ end: inout Int) {
            while start < end && isSpace(out[start]) { start += 1 }
            while end > start && isSpace(out[end - 1]) { end -= 1 }
        }
    }

    static let mediaExtensions: Set<String> = [
        "jpg", "jpeg", "png", "gif", "svg", "tif", "tiff", "webp", "xcf", "ogg", "oga", "ogv", "webm", "mp3", "mp4",
        "wav", "flac", "mid", "midi", "pdf", "djvu", "stl",
    ]

    /// A file name by its extension (`X.jpg`, `Map.SVG`).
    static func isMediaFile(_ name: ArraySlice<UInt8>) -> Bool {
        guard let dot = name.lastIndex(of: UInt8(ascii: ".")), name.endIndex - dot <= 6 else { return false }
        return mediaExtensions.contains(String(decoding: name[(dot + 1)...].map(lowerASCII), as: UTF8.self))
    }

    /// An interlanguage prefix: lowercase letters, a first part of two or three (`de`, `zh-min-nan`), or `simple`.
    static func isLanguageCode(_ prefix: ArraySlice<UInt8>) -> Bool {
        guard prefix.count >= 2 && prefix.count <= 12 else { return false }
        if prefix.elementsEqual("simple".utf8) { return true }
        var first = 0
        var inFirst = true
        for c in prefix {
            if c == UInt8(ascii: "-") {
                if inFirst && !(2...3).contains(first) { return false }
                inFirst = false
            } else if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") {
                if inFirst { first += 1 }
            } else {
                return false
            }
        }
        return (2...3).contains(first) && prefix.last != UInt8(ascii: "-")
    }

    /// The text of `[[Target|]]`: the target without its namespace, then without a final parenthesis or a part
    /// after a comma (`[[Help:Paris (France)|]]` → Paris).
    static func pipeTrick(_ target: ArraySlice<UInt8>) -> [UInt8] {
        var t = target
        if let colon = t.firstIndex(of: UInt8(ascii: ":")) { t = t[(colon + 1)...] }
        if t.last == UInt8(ascii: ")"), let open = t.lastIndex(of: UInt8(ascii: "(")) {
            t = t[..<open]
        } else if let comma = t.firstIndex(of: UInt8(ascii: ",")) {
            t = t[..<comma]
        }
        return Array(t.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }

    static func isListMarker(_ c: UInt8) -> Bool {
        c == UInt8(ascii: "*") || c == UInt8(ascii: "#") || c == UInt8(ascii: ":") || c == UInt8(ascii: ";")
    }
}

// MARK: - Templates that are text

extension Wikitext {
    /// What an inline template leaves in the prose (every other template leaves nothing).
    enum InlineTemplate {
        /// Fixed text: `{{snd}}` → " – ".
        case text(String)
        /// The first positional parameter: `{{nowrap|10 km}}`, `{{lang-fr|texte}}`, `{{ill|Title|de}}`.
        case first
        /// The last positional parameter: `{{lang|fr|texte}}`, `{{transl|ar|...}}`.
        case last
        /// `{{convert|10|km|mi}}` → "10 km", `{{convert|5|to|10|km}}` → "5 to 10 km".
        case convert
        /// `{{circa|1150}}` → "c. 1150", `{{c.|965|1040}}` → "c. 965–1040".
        case circa
    }

    /// The templates whose output is part of the prose, by lowercased name: dashes and spaces between words,
    /// wrappers of text (no-wrap, language, abbreviation), conversions and dates written with a template. Without
    /// them `state{{snd}}the` would become one word, and `{{convert|10|km}}` a hole in a sentence.
    static let inlineTemplates: [String: InlineTemplate] = {
        var table: [String: InlineTemplate] = [
            "snd": .text(" \u{2013} "), "spnd": .text(" \u{2013} "), "sndash": .text(" \u{2013} "),
            "spaced ndash": .text(" \u{2013} "), "spaced en dash": .text(" \u{2013} "), "ndash": .text("\u{2013}"),
            "en dash": .text("\u{2013}"), "mdash": .text("\u{2014}"), "em dash": .text("\u{2014}"),
            "spaced mdash": .text(" \u{2014} "), "nbsp": .text(" "), "space": .text(" "), "sp": .text(" "),
            "thinsp": .text(" "), "'": .text("'"), "'s": .text("'s"), "!": .text("|"), "=": .text("="),
            "middot": .text(" \u{B7} "), "dot": .text(" \u{B7} "), "bull": .text(" \u{2022} "),
            "lang": .last, "transl": .last, "transliteration": .last, "convert": .convert, "cvt": .convert,
            "circa": .circa, "c.": .circa,
        ]
        for name in [
            "nowrap", "nobr", "nobreak", "small", "smaller", "big", "larger", "em", "strong", "sic", "not a typo",
            "proper name", "abbr", "ill", "interlanguage link", "flag", "nihongo", "visible anchor", "noitalic",
            "mvar", "var", "math", "code", "tt", "samp", "uc", "lc",
        ] {
            table[name] = .first
        }
        return table
    }()

    static let rangeWords: Set<String> = ["to", "-", "\u{2013}", "and", "or", "by", "x", "\u{D7}", "+", "+/-"]

    /// The text a template leaves, from its content (between the braces, already processed): nil for most.
    static func inlineTemplateText(_ content: ArraySlice<UInt8>) -> [UInt8]? {
        var parts: [ArraySlice<UInt8>] = []
        var start = content.startIndex
        for k in content.indices where content[k] == UInt8(ascii: "|") {
            parts.append(content[start..<k])
            start = k + 1
        }
        parts.append(content[start...])
        func trimmed(_ p: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var a = p.startIndex
            var b = p.endIndex
            while a < b && (isSpace(p[a]) || p[a] == 0x0A) { a += 1 }
            while b > a && (isSpace(p[b - 1]) || p[b - 1] == 0x0A) { b -= 1 }
            return p[a..<b]
        }
        let name = String(
            decoding: trimmed(parts[0]).map { $0 == UInt8(ascii: "_") ? 0x20 : lowerASCII($0) }, as: UTF8.self)
        let rule: InlineTemplate
        if let known = inlineTemplates[name] {
            rule = known
        } else if name.hasPrefix("lang-") {
            rule = .first
        } else {
            return nil
        }
        // Positional parameters, `1=`/`2=` included; other named ones are not text.
        var positional: [ArraySlice<UInt8>] = []
        for part in parts.dropFirst() {
            if let eq = part.firstIndex(of: UInt8(ascii: "=")) {
                let key = trimmed(part[..<eq])
                guard !key.isEmpty, key.count <= 2, key.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { continue }
                let index = key.reduce(0) { $0 * 10 + Int($1 - 0x30) } - 1
                guard index >= 0 else { continue }
                while positional.count <= index { positional.append([][...]) }
                positional[index] = trimmed(part[(eq + 1)...])
            } else {
                positional.append(trimmed(part))
            }
        }
        switch rule {
        case .text(let text):
            return Array(text.utf8)
        case .first:
            return positional.first.map(Array.init)
        case .last:
            return positional.last.map(Array.init)
        case .convert:
            guard let value = positional.first else { return nil }
            var words = [value]
            if positional.count >= 4 && rangeWords.contains(String(decoding: positional[1], as: UTF8.self)) {
                words += positional[1...3]
            } else if positional.count >= 2 {
                words.append(positional[1])
            }
            return Array(words.filter { !$0.isEmpty }.joined(separator: [0x20]))
        case .circa:
            guard let first = positional.first, !first.isEmpty else { return Array("c.".utf8) }
            var text = Array("c. ".utf8) + first
            if positional.count >= 2 && !positional[1].isEmpty { text += Array("\u{2013}".utf8) + positional[1] }
            return text
        }
    }
}

// MARK: - Pass 3: text

extension Wikitext {
    /// The output of the markup pass as text: placeholders replaced, entities decoded, spaces and blank lines
    /// collapsed, spaces left by removed markup before punctuation and inside parentheses tidied.
    /// The bytes the first loop of `render` stops at.
    static let renderSpecial = ByteSet([0x01, 0x02, UInt8(ascii: "&")])
    /// The bytes `tidyLine` looks at; any other is copied as it is, in runs.
    static let tidySpecial = ByteSet([0x20, 0x09, 0x0D, 0x0B, 0x0C] + Array(",.;()".utf8))

    static func render(_ b: [UInt8], literals: [[UInt8]]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(b.count)
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c == 0x01 {
                var j = i + 1
                var index = 0
                while j < n && j - i <= 9 && b[j] >= 0x30 && b[j] <= 0x39 {
                    index = index * 10 + Int(b[j] - 0x30)
                    j += 1
                }
                if j < n && b[j] == 0x02 && index < literals.count {
                    text.append(contentsOf: literals[index])
                    i = j + 1
                } else {
                    i += 1
                }
            } else if c == 0x02 {
                i += 1
            } else if c == UInt8(ascii: "&"), let (decoded, length) = entity(b, at: i) {
                text.append(contentsOf: decoded)
                i += length
            } else {
                let e = ByteScan.first(b, of: renderSpecial, from: i + 1, to: n)
                text.append(contentsOf: b[i..<e])
                i = e
            }
        }
        // Lines: spaces collapsed and tidied, blank lines collapsed to one, none at the start or the end.
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var line: [UInt8] = []
        var blank = false
        var start = 0
        while start <= text.count {
            let end = ByteScan.first(text, byte: 0x0A, from: start, to: text.count) ?? text.count
            tidyLine(text[start..<end], into: &line)
            if line.isEmpty {
                blank = !out.isEmpty
            } else {
                if !out.isEmpty { out.append(contentsOf: blank ? [0x0A, 0x0A] : [0x0A]) }
                out.append(contentsOf: line)
                blank = false
            }
            start = end + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// One line with its spaces collapsed and trimmed; no space before `,` `.` `;` (then a space or the end) or
    /// `)`, none after `(`, and `()` left empty by removed templates goes, as does `;` or `,` right after `(` or
    /// right before `)`.
    static func tidyLine(_ line: ArraySlice<UInt8>, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        var space = false
        var k = line.startIndex
        while k < line.endIndex {
            let c = line[k]
            k += 1
            if isSpace(c) || c == 0x0D || c == 0x0B || c == 0x0C {
                space = !out.isEmpty
                continue
            }
            if space {
                space = false
                let next = k < line.endIndex ? line[k] : 0x20
                let punctuation = c == UInt8(ascii: ",") || c == UInt8(ascii: ".") || c == UInt8(ascii: ";")
                if !((punctuation && (isSpace(next) || next == 0x0D)) || c == UInt8(ascii: ")")
                    || out.last == UInt8(ascii: "("))
                {
                    out.append(0x20)
                }
            }
            // "(x;)" and "(x,)": a list whose last part was removed.
            if c == UInt8(ascii: ")") && (out.last == UInt8(ascii: ";") || out.last == UInt8(ascii: ",")) {
                out.removeLast()
            }
            if out.last == UInt8(ascii: "(") {
                if c == UInt8(ascii: ")") {
                    out.removeLast()
                    if out.last == 0x20 {
                        out.removeLast()
                        space = true
                    }
                    continue
                }
                if c == UInt8(ascii: ";") || c == UInt8(ascii: ",") { continue }
            }
            // The byte and the plain bytes after it (none of which the rules above look at) go out whole.
            // So do the words after them that one plain space separates: the rules keep such a space as it is.
            var e = k
            if !tidySpecial.contains(c) {
                e = ByteScan.first(line, of: tidySpecial, from: k, to: line.endIndex)
                while e + 1 < line.endIndex && line[e] == 0x20 && !tidySpecial.contains(line[e + 1]) {
                    e = ByteScan.first(line, of: tidySpecial, from: e + 2, to: line.endIndex)
                }
            }
            out.append(contentsOf: line[(k - 1)..<e])
            k = e
        }
    }
}

// MARK: - Entities and bytes

extension Wikitext {
    /// The entity at `i` (on a '&'): its UTF-8 and its length, or nil if it is not one (then '&' is text).
    /// MediaWiki renders entities as HTML does: the names and numeric references of HTMLText (the whole table of
    /// the HTML standard), with every kind of space as a plain space and a soft hyphen as nothing.
    static func entity(_ b: [UInt8], at i: Int) -> ([UInt8], Int)? {
        let n = b.count
        var j = i + 1
        if j < n && b[j] == UInt8(ascii: "#") {
            j += 1
            let hex = j < n && (b[j] == UInt8(ascii: "x") || b[j] == UInt8(ascii: "X"))
            if hex { j += 1 }
            let digitsStart = j
            var value: UInt32 = 0
            while j < n && j - digitsStart < 8, let d = digit(b[j], hex: hex) {
                value = value * (hex ? 16 : 10) + d
                j += 1
            }
            guard j > digitsStart && j < n && b[j] == UInt8(ascii: ";") else { return nil }
            return (plainSpaces(HTMLText.numericCharacter(value)), j + 1 - i)
        }
        let nameStart = j
        while j < n && j - nameStart < HTMLText.longestEntityName && isASCIIAlphanumeric(b[j]) { j += 1 }
        guard j > nameStart && j < n && b[j] == UInt8(ascii: ";"),
            let value = HTMLText.entities[Array(b[nameStart...j])]
        else { return nil }
        return (plainSpaces(value), j + 1 - i)
    }

    /// U+00A0 and U+2000-U+200A as a plain space, U+00AD (soft hyphen) as nothing; anything else as it is.
    static func plainSpaces(_ utf8: [UInt8]) -> [UInt8] {
        if utf8 == [0xC2, 0xA0] { return [0x20] }
        if utf8 == [0xC2, 0xAD] { return [] }
        if utf8.count == 3 && utf8[0] == 0xE2 && utf8[1] == 0x80 && utf8[2] >= 0x80 && utf8[2] <= 0x8A { return [0x20] }
        return utf8
    }

    /// Appends `bytes` with their entities decoded.
    static func decodeEntities(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        let b = Array(bytes)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "&"), let (decoded, length) = entity(b, at: i) {
                out.append(contentsOf: decoded)
                i += length
            } else {
                out.append(b[i] == 0x01 || b[i] == 0x02 ? 0x20 : b[i])
                i += 1
            }
        }
    }

    static func digit(_ c: UInt8, hex: Bool) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case UInt8(ascii: "a")...UInt8(ascii: "f") where hex: return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F") where hex: return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    static let commentOpen: [UInt8] = Array("<!--".utf8)
    static let commentClose: [UInt8] = Array("-->".utf8)

    static func hasPrefix(_ s: [UInt8], at i: Int, _ prefix: [UInt8]) -> Bool {
        guard i + prefix.count <= s.count else { return false }
        for k in 0..<prefix.count where s[i + k] != prefix[k] { return false }
        return true
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 }

    @inline(__always) static func isASCIILetter(_ c: UInt8) -> Bool {
        (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
    }

    @inline(__always) static func isASCIIAlphanumeric(_ c: UInt8) -> Bool {
        isASCIILetter(c) || (c >= 0x30 && c <= 0x39)
    }

    @inline(__always) static func lowerASCII(_ c: UInt8) -> UInt8 {
        c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") ? c | 0x20 : c
    }
}
