// A folder of text files: each regular file is one document. Its id is its path relative to the folder (or the
// path as given, for a file named on the command line), its title the first non-empty line, its body the rest,
// and its date the file's modification time. Files are decompressed by their first bytes (gzip, zstd, bzip2, xz),
// binary files are skipped and counted (a NUL byte, or more than 1% of invalid UTF-8, in their first 8 KiB, as
// git and grep decide), symbolic links are followed but a folder is never entered twice (no loops), hidden files
// and folders are skipped, and `--include`/`--exclude` globs choose files by path.
//
// A file that really looks like a mail (an mbox "From " line, or a header block with Received, Message-ID,
// Return-Path or Delivered-To, or both Date and From) takes its date from the Date header, its title from the
// Subject, and stores the other headers too; folded header lines (continued with a space or a tab) are joined.
// A first line such as "Summary: ..." alone is text, not headers.

struct TextFileRecord: Sendable {
    var relativePath: String
    var bytes: [UInt8]
    var modificationTime: Int64
    /// The source's number in the run (IndexRun.registerSource).
    var ordinal: Int = 0
    /// What the file holds: text, a mail or an HTML page.
    var kind: ContentKind = .text
}

/// A file found in a folder walk.
struct FolderEntry: Sendable {
    /// Where to open it.
    var path: String
    /// Its id: the path relative to the folder given.
    var id: String
    var size: Int
    var modificationTime: Int64
}

/// A shell-style pattern over relative paths: `*` and `?` stay within a path component, `**` crosses them; a
/// pattern without `/` is matched against the file name alone (`*.md`), as ripgrep's globs.
struct PathGlob: Sendable {
    let pattern: [UInt8]
    let anchored: Bool

    init(_ text: String) {
        var p = Array(text.utf8)
        while p.first == UInt8(ascii: "/") { p.removeFirst() }
        pattern = p
        anchored = p.contains(UInt8(ascii: "/"))
    }

    func matches(_ relativePath: String) -> Bool {
        let path = Array(relativePath.utf8)
        if anchored { return PathGlob.match(pattern[...], path[...]) }
        let name = path.lastIndex(of: UInt8(ascii: "/")).map { path[($0 + 1)...] } ?? path[...]
        return PathGlob.match(pattern[...], name)
    }

    private static func match(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        guard let c = p.first else { return s.isEmpty }
        let slash = UInt8(ascii: "/")
        if c == UInt8(ascii: "*") {
            let double = p.dropFirst().first == UInt8(ascii: "*")
            var rest = p.dropFirst(double ? 2 : 1)
            if double && rest.first == slash { rest = rest.dropFirst() }  // `**/x` also matches `x`
            var i = s.startIndex
            while true {
                if match(rest, s[i...]) { return true }
                if i == s.endIndex || (!double && s[i] == slash) { return false }
                i += 1
            }
        }
        guard let h = s.first else { return false }
        if c == UInt8(ascii: "?") { return h != slash && match(p.dropFirst(), s.dropFirst()) }
        return h == c && match(p.dropFirst(), s.dropFirst())
    }
}

enum TextFolder {
    /// Every regular file under `root`, recursively, in byte order of relative paths, that the globs let through
    /// (a file given instead of a folder is its own list). Hidden files and folders are skipped.
    static func list(_ root: String, include: [PathGlob] = [], exclude: [PathGlob] = []) throws(QuarryError)
        -> [FolderEntry]
    {
        var out: [FolderEntry] = []
        try list(root, include: include, exclude: exclude) { out.append($0) }
        return out
    }

    /// The same files, each handed to `found` as the walk comes to it (in the same order).
    static func list(
        _ root: String, include: [PathGlob] = [], exclude: [PathGlob] = [], found: (FolderEntry) -> Void
    ) throws(QuarryError) {
        switch Syscalls.status(root) {
        case .failure(let e):
            throw QuarryError(.invalidInput, "cannot read", path: root, errno: e)
        case .success(let st) where st.isRegular:
            found(FolderEntry(path: root, id: root, size: Int(st.size), modificationTime: st.modificationTime))
        case .success(let st) where !st.isDirectory:
            throw QuarryError(.invalidInput, "is neither a folder nor a regular file", path: root)
        case .success(let st):
            var entered: Set<[UInt64]> = [st.identity]
            try walk(root, "", include, exclude, &entered, found)
        }
    }

    private static func walk(
        _ root: String, _ prefix: String, _ include: [PathGlob], _ exclude: [PathGlob], _ entered: inout Set<[UInt64]>,
        _ found: (FolderEntry) -> Void
    ) throws(QuarryError) {
        let dir = prefix.isEmpty ? root : root + "/" + prefix
        let names: [String]
        switch Syscalls.listDirectory(dir) {
        case .success(let n): names = n
        case .failure(let e): throw QuarryError(.invalidInput, "cannot list the folder", path: dir, errno: e)
        }
        for name in names where !name.hasPrefix(".") {
            let rel = prefix.isEmpty ? name : prefix + "/" + name
            if exclude.contains(where: { $0.matches(rel) }) { continue }
            switch Syscalls.status(root + "/" + rel) {
            case .success(let st):
                if st.isDirectory {
                    // A link back to a folder already entered (a loop, or the same folder twice) is not walked.
                    if entered.insert(st.identity).inserted {
                        try walk(root, rel, include, exclude, &entered, found)
                    }
                } else if st.isRegular {
                    if !include.isEmpty && !include.contains(where: { $0.matches(rel) }) { continue }
                    found(
                        FolderEntry(
                            path: root + "/" + rel, id: rel, size: Int(st.size), modificationTime: st.modificationTime))
                }
            case .failure(let e):
                if e == .noSuchFileOrDirectory { continue }  // a dangling link
                throw QuarryError(.invalidInput, "cannot read", path: root + "/" + rel, errno: e)
            }
        }
    }

    /// A binary file, as git and grep decide: a NUL byte, or more than 1% of invalid UTF-8, in the first 8 KiB.
    static func looksBinary(_ bytes: [UInt8]) -> Bool {
        let head = Array(bytes.prefix(8192))
        if ByteScan.first(head, byte: 0, from: 0, to: head.count) != nil { return true }
        var invalid = 0
        var i = 0
        while i < head.count {
            let k = firstInvalidUTF8(Array(head[i...]))
            if k + i >= head.count { break }
            // A sequence cut by the 8 KiB boundary is not invalid.
            if k + i >= head.count - 3 && bytes.count > head.count { break }
            invalid += 1
            i += k + 1
        }
        return invalid * 100 > max(head.count, 1)
    }

    /// Turns a file into a document.
    static func parse(_ record: TextFileRecord, schema: Schema, lossy: Bool, into doc: inout Document) throws(LineError) {
        doc.reset()
        var bytes = record.bytes
        if !isValidUTF8(bytes) {
            guard lossy else {
                let offset = firstInvalidUTF8(bytes)
                throw LineError(column: offset + 1, message: "invalid UTF-8 at byte \(offset); fix the file or use --lossy")
            }
            bytes = Array(String(decoding: bytes, as: UTF8.self).utf8)
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines: [Range<Int>] = []
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            lines.append(start..<i)
            start = i + 1
        }
        if start < bytes.count { lines.append(start..<bytes.count) }
        func text(_ r: Range<Int>) -> [UInt8] {
            var s = Array(bytes[r])
            if s.last == 0x0D { s.removeLast() }
            return s
        }
        // A header block, if the file really looks like a mail.
        var headers: [([UInt8], [UInt8])] = []
        var bodyStart = 0
        var k = 0
        if let first = lines.first, text(first).starts(with: Array("From ".utf8)) {
            k = 1  // an mbox "From " line
        }
        var parsed: [([UInt8], [UInt8])] = []
        var inBlock = k < lines.count && headerLine(text(lines[k])) != nil
        while inBlock && k < lines.count {
            let l = text(lines[k])
            if l.isEmpty {
                k += 1
                break
            }
            if (l.first == 0x20 || l.first == 0x09), !parsed.isEmpty {
                // A folded line continues the header before it.
                var value = parsed[parsed.count - 1].1
                var rest = l[...]
                while rest.first == 0x20 || rest.first == 0x09 { rest = rest.dropFirst() }
                value.append(0x20)
                value.append(contentsOf: rest)
                parsed[parsed.count - 1].1 = value
            } else if let h = headerLine(l) {
                parsed.append(h)
            } else {
                inBlock = false
                break
            }
            k += 1
        }
        if inBlock && TextFolder.looksLikeMail(parsed, mboxLine: lines.first.map { text($0).starts(with: Array("From ".utf8)) } ?? false) {
            headers = parsed
            bodyStart = k
        }
        var title: [UInt8]?
        var date: Int64? = record.modificationTime
        let titleNames: Set<String> = [schema.titleField.lowercased(), "subject"]
        let dateNames: Set<String> = [schema.dateField.lowercased(), "date"]
        for (name, value) in headers {
            let n = String(decoding: name, as: UTF8.self).lowercased()
            if dateNames.contains(n) {
                guard let t = value.withUnsafeBufferPointer({ DateParser.parseTimestamp($0) }) else {
                    throw LineError(column: 1, message: "cannot parse the date header '\(String(decoding: value, as: UTF8.self))'")
                }
                date = t
            } else if titleNames.contains(n), title == nil {
                title = value
            }
        }
        var bodyLines = Array(lines[min(bodyStart, lines.count)...])
        if title == nil {
            while let first = bodyLines.first, text(first).allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                bodyLines.removeFirst()
            }
            if let first = bodyLines.first {
                // A Markdown heading is a title without its marks.
                var t = text(first)[...]
                if t.first == UInt8(ascii: "#") {
                    let marks = t.prefix(while: { $0 == UInt8(ascii: "#") })
                    if marks.count <= 6 && t.dropFirst(marks.count).first == 0x20 {
                        t = t.dropFirst(marks.count).drop(while: { $0 == 0x20 })
                    }
                }
                title = Array(t)
                bodyLines.removeFirst()
                while let next = bodyLines.first, text(next).allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                    bodyLines.removeFirst()
                }
            }
        }
        var body: [UInt8] = []
        if let first = bodyLines.first, let last = bodyLines.last {
            body = Array(bytes[first.lowerBound..<last.upperBound])
        }
        let titleBytes = title ?? []
        doc.id = Array(record.relativePath.utf8)
        doc.date = date
        doc.text[0] = titleBytes
        doc.valueEnds[0] = [titleBytes.count]
        doc.text[1] = body
        doc.valueEnds[1] = [body.count]
        // Stored JSON.
        doc.stored.append(UInt8(ascii: "{"))
        appendJSONString(schema.idField.utf8, to: &doc.stored)
        doc.stored.append(UInt8(ascii: ":"))
        appendJSONString(doc.id, to: &doc.stored)
        if let date {
            doc.stored.append(UInt8(ascii: ","))
            appendJSONString(schema.dateField.utf8, to: &doc.stored)
            doc.stored.append(UInt8(ascii: ":"))
            appendJSONString(ISODate.format(date).utf8, to: &doc.stored)
        }
        doc.stored.append(UInt8(ascii: ","))
        appendJSONString(schema.titleField.utf8, to: &doc.stored)
        doc.stored.append(UInt8(ascii: ":"))
        appendJSONString(titleBytes, to: &doc.stored)
        doc.stored.append(UInt8(ascii: ","))
        appendJSONString(schema.bodyField.utf8, to: &doc.stored)
        doc.stored.append(UInt8(ascii: ":"))
        appendJSONString(body, to: &doc.stored)
        let reserved = Set([schema.idField, schema.dateField, schema.titleField, schema.bodyField].map { $0.lowercased() })
            .union(["subject"])
        for (name, value) in headers where !reserved.contains(String(decoding: name, as: UTF8.self).lowercased()) {
            doc.stored.append(UInt8(ascii: ","))
            appendJSONString(name, to: &doc.stored)
            doc.stored.append(UInt8(ascii: ":"))
            appendJSONString(value, to: &doc.stored)
        }
        doc.stored.append(UInt8(ascii: "}"))
    }

    /// A header block that is a mail's: after an mbox "From " line, or with a header only mail has.
    static func looksLikeMail(_ headers: [([UInt8], [UInt8])], mboxLine: Bool) -> Bool {
        if headers.isEmpty { return false }
        if mboxLine { return true }
        let names = Set(headers.map { String(decoding: $0.0, as: UTF8.self).lowercased() })
        if !names.isDisjoint(with: ["received", "message-id", "return-path", "delivered-to", "mime-version"]) {
            return true
        }
        return names.contains("date") && names.contains("from")
    }

    /// "Name: value" with a name of letters, digits and '-' → (name, value).
    private static func headerLine(_ line: [UInt8]) -> ([UInt8], [UInt8])? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0, colon <= 40 else { return nil }
        for c in line[..<colon] {
            let ok = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == UInt8(ascii: "-")
            if !ok { return nil }
        }
        var value = Array(line[(colon + 1)...])
        while value.first == 0x20 || value.first == 0x09 { value.removeFirst() }
        return (Array(line[..<colon]), value)
    }
}

/// True if `bytes` is valid UTF-8.
func isValidUTF8(_ bytes: [UInt8]) -> Bool {
    firstInvalidUTF8(bytes) == bytes.count
}

/// The offset of the first invalid UTF-8 byte, or `bytes.count`.
func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
    bytes.withUnsafeBufferPointer { firstInvalidUTF8($0) }
}

/// The offset of the first invalid UTF-8 byte, or `buf.count`.
func firstInvalidUTF8(_ buf: UnsafeBufferPointer<UInt8>) -> Int {
    do {
        let p = Parser(line: buf, lossy: false)
        var i = 0
        let raw = UnsafeRawBufferPointer(buf)
        while i < buf.count {
            // ASCII eight bytes at a time.
            if i + 8 <= raw.count,
                raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                i += 8
                continue
            }
            if buf[i] < 0x80 {
                i += 1
                continue
            }
            let len = p.utf8SequenceLength(i)
            if len == 0 { return i }
            i += len
        }
        return buf.count
    }
}
