// CSV (RFC 4180): a header row naming the columns, then one document per record. Fields are separated by a
// delimiter (a comma, or `--delimiter`), may be quoted with double quotes, and a quoted field may hold the
// delimiter, line breaks and doubled quotes (`""` is one quote). Records end at CRLF or LF outside quotes. Column
// names match the schema's fields without regard to case (`Id`, `TITLE`); other columns are stored, and indexed
// where the index has a text field of that name. A header without an id column needs `--auto-id`.

/// Cuts CSV into records (the header first) at line breaks outside quotes.
struct CSVSplitter: RecordSplitter {
    let delimiter: UInt8
    /// The header's column names, once read.
    private(set) var header: [String]?

    init(delimiter: UInt8 = UInt8(ascii: ",")) {
        self.delimiter = delimiter
    }

    mutating func split(
        _ data: UnsafeBufferPointer<UInt8>, base: Int, line: Int, final: Bool, into out: inout [Record]
    ) throws(LineError) -> Int {
        var start = 0
        var i = 0
        // Inside a field that began with a quote, each quote toggles `quoted` (a doubled quote toggles twice); a
        // quote anywhere else in a field is a plain character, as the field reader takes it.
        var quoted = false
        var atFieldStart = true
        var inQuotedField = false
        var lineNo = line
        var recordLine = line
        while i < data.count {
            let c = data[i]
            if quoted {
                if c == UInt8(ascii: "\"") { quoted = false }
                if c == 0x0A { lineNo += 1 }
            } else if c == UInt8(ascii: "\"") && atFieldStart {
                quoted = true
                inQuotedField = true
                atFieldStart = false
            } else if c == UInt8(ascii: "\"") {
                // Right after a closing quote: a doubled quote inside the quoted field reopens it.
                if inQuotedField && i > 0 && data[i - 1] == UInt8(ascii: "\"") { quoted = true }
            } else if c == delimiter {
                atFieldStart = true
                inQuotedField = false
            } else if c == 0x0A {
                inQuotedField = false
                lineNo += 1
                try emit(data, start, i + 1, recordLine, base, &out)
                start = i + 1
                recordLine = lineNo
                atFieldStart = true
            } else if c != 0x20 {
                atFieldStart = false
            }
            i += 1
        }
        if final && start < data.count {
            if quoted {
                throw LineError(column: 1, message: "a quoted field is not closed (a '\"' is missing) before the end of the file")
            }
            try emit(data, start, data.count, recordLine, base, &out)
            start = data.count
        }
        return start
    }

    private mutating func emit(
        _ data: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ line: Int, _ base: Int, _ out: inout [Record]
    ) throws(LineError) {
        var bytes = Array(data[start..<end])
        while bytes.last == 0x0A || bytes.last == 0x0D { bytes.removeLast() }
        if header == nil {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
            let names = try CSVSplitter.fields(bytes, delimiter: delimiter).map {
                String(decoding: $0, as: UTF8.self).trimmed
            }
            for (k, n) in names.enumerated() where n.isEmpty {
                throw LineError(column: 1, message: "header column \(k + 1) has no name")
            }
            header = names
            return
        }
        if bytes.isEmpty { return }  // blank lines between records
        out.append(Record(bytes: bytes, line: line, offset: base + start))
    }

    /// The fields of one record, unquoted.
    static func fields(_ record: [UInt8], delimiter: UInt8) throws(LineError) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var field: [UInt8] = []
        var i = 0
        var quoted = false
        var wasQuoted = false
        while i < record.count {
            let c = record[i]
            if quoted {
                if c == UInt8(ascii: "\"") {
                    if i + 1 < record.count && record[i + 1] == UInt8(ascii: "\"") {
                        field.append(c)
                        i += 2
                        continue
                    }
                    quoted = false
                } else {
                    field.append(c)
                }
            } else if c == UInt8(ascii: "\"") && field.allSatisfy({ $0 == 0x20 }) && !wasQuoted {
                field = []
                quoted = true
                wasQuoted = true
            } else if c == delimiter {
                out.append(field)
                field = []
                wasQuoted = false
            } else if c == 0x0D && i + 1 == record.count {
                // A CR before the line end.
            } else {
                if wasQuoted && c != 0x20 {
                    throw LineError(
                        column: i + 1, message: "text after a quoted field's closing quote (a quote inside a field is written \"\")")
                }
                if !wasQuoted { field.append(c) }
            }
            i += 1
        }
        if quoted { throw LineError(column: record.count, message: "a quoted field is not closed (a '\"' is missing)") }
        out.append(field)
        return out
    }
}

/// One CSV record to a document, by the header's column names.
struct CSVParser: RecordParser {
    let header: [String]
    let delimiter: UInt8
    let schema: Schema
    let autoID: Bool

    func parse(_ record: Record) throws(LineError) -> SourceDocument? {
        let values = try CSVSplitter.fields(record.bytes, delimiter: delimiter)
        guard values.count == header.count else {
            throw LineError(
                column: 1, message: "expected \(header.count) fields (as the header has), found \(values.count)")
        }
        var doc = SourceDocument()
        var sawID = false
        for (name, raw) in zip(header, values) {
            let value = Mail.bytesText(raw)
            switch name.lowercased() {
            case schema.idField.lowercased():
                if value.isEmpty { throw LineError(column: 1, message: "the id is empty") }
                doc.id = value
                sawID = true
            case schema.dateField.lowercased():
                if !value.isEmpty {
                    guard let t = raw.withUnsafeBufferPointer({ DateParser.parseTimestamp($0) }) else {
                        throw LineError(
                            column: 1,
                            message: "cannot parse the date '\(String(value.prefix(60)))' (expected ISO 8601, RFC 2822 or 'February 25, 2026')")
                    }
                    doc.date = t
                }
            case schema.titleField.lowercased(): doc.title = value
            case schema.bodyField.lowercased(): doc.body = value
            default:
                let field = schema.textFields.first { $0.lowercased() == name.lowercased() } ?? name
                doc.fields.append((field, value))
            }
        }
        if !sawID && !autoID {
            throw LineError(column: 1, message: "the header has no '\(schema.idField)' column (use --auto-id to number documents)")
        }
        return doc
    }
}
