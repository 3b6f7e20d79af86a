// Which reader an input needs. `--format auto` (the default) decides from the content, never from a name alone:
//
//     a folder                          text files (each file by its own content, below)
//     "{" first                          JSON Lines
//     "From " first                      an mbox
//     "WARC/1."                          a WARC file
//     "<mediawiki" (after "<?xml ...")   a MediaWiki XML export (Wikipedia)
//     a mail header block                one mail (Received, Message-ID, ... : TextFolder.looksLikeMail)
//     "<!doctype html", "<html"          one HTML page
//     a .tsv or .csv name                TSV or CSV (their content looks like text)
//     a .jsonl or .ndjson name           JSON Lines, whatever the first line (a broken one is then an error)
//     anything else                      one text document
//
// The first bytes are read after decompression. Standard input is detected the same way.

/// The kind of one file's content.
enum ContentKind: Sendable, Equatable {
    case text, mail, html, jsonl, tsv, csv, mbox, warc, wikipedia

    /// The input format that reads a whole stream of this kind.
    var inputFormat: InputFormat {
        switch self {
        case .text, .html: return .text
        case .mail: return .mail
        case .jsonl: return .jsonl
        case .tsv: return .tsv
        case .csv: return .csv
        case .mbox: return .mbox
        case .warc: return .warc
        case .wikipedia: return .wikipedia
        }
    }
}

enum DumpFormat {
    /// The format of the input at `path` (a file or "-"), from its first decompressed bytes.
    static func detect(_ path: String) throws(QuarryError) -> InputFormat {
        if path == "-" {
            // Standard input cannot be read twice: JSON Lines unless told (`--format`).
            return .jsonl
        }
        let source = try openInput(path).source
        var head = [UInt8](repeating: 0, count: 4096)
        var have = 0
        while have < head.count {
            let n = try head.withMutableBytes { raw throws(QuarryError) in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[have...]))
            }
            if n == 0 { break }
            have += n
        }
        head.removeLast(head.count - have)
        let kind = detect(head, name: path)
        switch kind {
        case .text, .html: return .text
        default: return kind.inputFormat
        }
    }

    /// The kind of content that starts with `head` (a file's first bytes, or all of them), named `name`.
    static func detect(_ head: [UInt8], name: String) -> ContentKind {
        var bytes = head[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var lower = name.lowercased()
        for ext in [".gz", ".zst", ".bz2", ".xz"] where lower.hasSuffix(ext) { lower.removeLast(ext.count) }
        // A name that says JSON Lines is believed even when the first line is broken (its error then names it).
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return .jsonl }
        let trimmed = bytes.drop(while: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D })
        if trimmed.first == UInt8(ascii: "{") { return .jsonl }
        if looksLikeMboxStart(Array(bytes.prefix(4096))) { return .mbox }
        if bytes.starts(with: Array("WARC/1.".utf8)) { return .warc }
        // The markup names looked for are ASCII, after a '<': the first 512 bytes lowercased as ASCII.
        let prefix = trimmed.first == UInt8(ascii: "<") ? trimmed.prefix(512).map(HTMLText.lower) : []
        let mediawiki = Array("<mediawiki".utf8)
        if prefix.starts(with: mediawiki)
            || (prefix.starts(with: "<?xml".utf8) && ByteScan.first(prefix, mediawiki, from: 0, to: prefix.count) != nil)
        {
            return .wikipedia
        }
        if looksLikeMailHead(bytes.startIndex == 0 ? head : Array(bytes)) { return .mail }
        if prefix.starts(with: "<!doctype html".utf8) || prefix.starts(with: "<html".utf8) || lower.hasSuffix(".html")
            || lower.hasSuffix(".htm")
        {
            return .html
        }
        if lower.hasSuffix(".tsv") { return .tsv }
        if lower.hasSuffix(".csv") { return .csv }
        return .text
    }

    /// An mbox's first message: a "From " line with a sender and a date (a time such as 11:02), then a header
    /// line. A note whose first line is "From COBOL to COBOL II" is text.
    static func looksLikeMboxStart(_ bytes: [UInt8]) -> Bool {
        guard bytes.starts(with: Array("From ".utf8)), let nl = bytes.firstIndex(of: 0x0A) else { return false }
        let first = Array(bytes[0..<nl])
        var hasTime = false
        if first.count >= 5 {
            for i in 0..<(first.count - 4) {
                let d = { (k: Int) in first[i + k] >= 0x30 && first[i + k] <= 0x39 }
                if d(0) && d(1) && first[i + 2] == UInt8(ascii: ":") && d(3) && d(4) {
                    hasTime = true
                    break
                }
            }
        }
        guard hasTime else { return false }
        let (headers, _) = Mail.parseHeaders(bytes, from: nl + 1)
        return !headers.isEmpty
    }

    /// A mail's header block at the start of `bytes` (folded lines included).
    static func looksLikeMailHead(_ bytes: [UInt8]) -> Bool {
        let (headers, _) = Mail.parseHeaders(bytes, from: 0)
        return TextFolder.looksLikeMail(headers.map { (Array($0.name.utf8), Array($0.value.utf8)) }, mboxLine: false)
    }

    /// The splitter of a record format.
    static func splitter(_ format: InputFormat, delimiter: UInt8) -> any RecordSplitter {
        switch format {
        case .mbox: return MboxSplitter()
        case .warc: return WARCSplitter()
        case .wikipedia: return WikipediaSplitter()
        case .csv: return CSVSplitter(delimiter: delimiter)
        default: return WholeSplitter()
        }
    }

    /// The parser of a record format (CSV's knows the header its splitter read).
    static func parser(_ format: InputFormat, splitter: any RecordSplitter, schema: Schema, options: IndexOptions)
        -> any RecordParser
    {
        switch format {
        case .mbox, .mail: return MailParser()
        case .warc: return WARCParser()
        case .wikipedia:
            // The dump's own site (simplewiki, dewiki, ...) names its pages' URLs.
            let base = (splitter as? WikipediaSplitter)?.siteURLBase ?? "https://en.wikipedia.org/wiki/"
            return WikipediaParser(urlBase: base)
        case .csv:
            let header = (splitter as? CSVSplitter)?.header ?? []
            return CSVParser(header: header, delimiter: options.delimiter, schema: schema, autoID: options.autoID)
        default: return MailParser()
        }
    }
}

/// The whole stream is one record (a single mail given with `--format mail`).
struct WholeSplitter: RecordSplitter {
    mutating func split(
        _ data: UnsafeBufferPointer<UInt8>, base: Int, line: Int, final: Bool, into out: inout [Record]
    ) throws(LineError) -> Int {
        guard final else { return 0 }
        if !data.isEmpty { out.append(Record(bytes: Array(data), line: line, offset: base)) }
        return data.count
    }
}
