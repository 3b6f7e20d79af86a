// A folder of text files: each regular file is one document. Its id is its path relative to the folder, its title
// the first non-empty line, its body the rest, and its date the file's modification time. A file that begins with
// mail-style headers ("Name: value" lines up to a blank line) takes its date from the header named like the date
// field (or "Date"), its title from the title field's header (or "Subject"), and stores the other headers too.

struct TextFileRecord: Sendable {
    var relativePath: String
    var bytes: [UInt8]
    var modificationTime: Int64
}

enum TextFolder {
    /// Every regular file under `root`, recursively, in byte order of relative paths; hidden files are skipped.
    static func list(_ root: String) throws(QuarryError) -> [String] {
        var out: [String] = []
        try walk(root, "", into: &out)
        return out
    }

    private static func walk(_ root: String, _ prefix: String, into out: inout [String]) throws(QuarryError) {
        let dir = prefix.isEmpty ? root : root + "/" + prefix
        let names: [String]
        switch Syscalls.listDirectory(dir) {
        case .success(let n): names = n
        case .failure(let e): throw QuarryError(.invalidInput, "cannot list the folder (\(e.description))", path: dir, errno: e)
        }
        for name in names where !name.hasPrefix(".") {
            let rel = prefix.isEmpty ? name : prefix + "/" + name
            switch Syscalls.status(root + "/" + rel) {
            case .success(let st):
                if st.isDirectory {
                    try walk(root, rel, into: &out)
                } else if st.isRegular {
                    out.append(rel)
                }
            case .failure(let e):
                throw QuarryError(.invalidInput, "cannot read (\(e.description))", path: root + "/" + rel, errno: e)
            }
        }
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
        // Optional header block.
        var headers: [([UInt8], [UInt8])] = []
        var bodyStart = 0
        if let first = lines.first, headerLine(text(first)) != nil {
            var k = 0
            while k < lines.count {
                let l = text(lines[k])
                if l.isEmpty {
                    k += 1
                    break
                }
                guard let h = headerLine(l) else {
                    headers.removeAll()
                    k = 0
                    break
                }
                headers.append(h)
                k += 1
            }
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
                title = text(first)
                bodyLines.removeFirst()
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
        while i < buf.count {
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
