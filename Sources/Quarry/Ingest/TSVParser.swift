// TSV: a header row naming the columns, then one document per line, fields separated by tabs. Inside a field,
// `\t`, `\n`, `\r` and `\\` stand for a tab, a newline, a carriage return and a backslash (the escapes of
// PostgreSQL's and ClickHouse's TSV). Columns map to roles by name, as JSON fields do; every column is stored, and
// the stored document is the JSON object of the row.

struct TSVParser {
    private(set) var columns: [[UInt8]] = []
    private var roles: [FieldRole] = []
    private let schema: Schema
    private var value: [UInt8] = []
    let lossy: Bool

    init(schema: Schema, lossy: Bool) {
        self.schema = schema
        self.lossy = lossy
    }

    /// Reads the header row. Column names match the schema's fields without regard to case (`Id`, `TITLE`).
    /// - Parameter autoID: ids are numbered (`--auto-id`): the header needs no id column.
    mutating func parseHeader(_ line: UnsafeBufferPointer<UInt8>, autoID: Bool = false) throws(LineError) {
        var names: [[UInt8]] = []
        var start = 0
        for i in 0...line.count {
            if i == line.count || line[i] == 0x09 {
                var name = Array(line[start..<i])
                while let last = name.last, last == 0x0D || last == 0x20 { name.removeLast() }
                names.append(name)
                start = i + 1
            }
        }
        var roles: [FieldRole] = []
        var seen = Set<[UInt8]>()
        for (k, name) in names.enumerated() {
            if name.isEmpty {
                throw LineError(column: 1, message: "header column \(k + 1) has no name")
            }
            if !seen.insert(name).inserted {
                throw LineError(column: 1, message: "header column '\(String(decoding: name, as: UTF8.self))' appears twice")
            }
            let s = String(decoding: name, as: UTF8.self).lowercased()
            let role: FieldRole
            if s == schema.idField.lowercased() {
                role = .id
            } else if s == schema.dateField.lowercased() {
                role = .date
            } else if let k = schema.textFields.firstIndex(where: { $0.lowercased() == s }) {
                role = .text(k)
            } else {
                role = .other
            }
            if role != .other, roles.contains(role) {
                throw LineError(
                    column: 1, message: "header columns '\(String(decoding: name, as: UTF8.self))' and another name the same field")
            }
            roles.append(role)
        }
        if !autoID && !roles.contains(.id) {
            throw LineError(column: 1, message: "the header has no '\(schema.idField)' column (use --auto-id to number documents)")
        }
        self.columns = names
        self.roles = roles
    }

    var hasHeader: Bool { !columns.isEmpty }
    var hasIDColumn: Bool { roles.contains(.id) }

    /// Parses one data row into `doc`.
    mutating func parse(_ line: UnsafeBufferPointer<UInt8>, into doc: inout Document, autoID: UInt64?) throws(LineError) {
        doc.reset()
        var end = line.count
        if end > 0 && line[end - 1] == 0x0D { end -= 1 }
        var fields: [Range<Int>] = []
        var start = 0
        for i in 0...end {
            if i == end || line[i] == 0x09 {
                fields.append(start..<i)
                start = i + 1
            }
        }
        guard fields.count == columns.count else {
            throw LineError(
                column: 1, message: "expected \(columns.count) tab-separated fields (as the header has), found \(fields.count)")
        }
        doc.stored.append(UInt8(ascii: "{"))
        var first = true
        if !hasIDColumn {
            guard let autoID else {
                throw LineError(column: 1, message: "the header has no '\(schema.idField)' column (use --auto-id to number documents)")
            }
            doc.id.append(contentsOf: String(autoID).utf8)
            appendJSONString(schema.idField.utf8, to: &doc.stored)
            doc.stored.append(UInt8(ascii: ":"))
            doc.stored.append(contentsOf: doc.id)
            first = false
        }
        for (k, range) in fields.enumerated() {
            value.removeAll(keepingCapacity: true)
            try unescape(UnsafeBufferPointer(rebasing: line[range]), column: range.lowerBound + 1)
            if !first { doc.stored.append(UInt8(ascii: ",")) }
            first = false
            appendJSONString(columns[k], to: &doc.stored)
            doc.stored.append(UInt8(ascii: ":"))
            appendJSONString(value, to: &doc.stored)
            switch roles[k] {
            case .id:
                if value.isEmpty { throw LineError(column: range.lowerBound + 1, message: "the id is empty") }
                if value.count > 1024 { throw LineError(column: range.lowerBound + 1, message: "the id is longer than 1024 bytes") }
                doc.id.append(contentsOf: value)
            case .date:
                if !value.isEmpty {
                    guard let t = value.withUnsafeBufferPointer({ DateParser.parseTimestamp($0) }) else {
                        throw LineError(
                            column: range.lowerBound + 1,
                            message: "cannot parse the date '\(String(decoding: value.prefix(60), as: UTF8.self))' (expected ISO 8601, RFC 2822 or 'February 25, 2026')")
                    }
                    doc.date = t
                }
            case .text(let f):
                doc.text[f].append(contentsOf: value)
                doc.valueEnds[f].append(doc.text[f].count)
            case .other:
                break
            }
        }
        doc.stored.append(UInt8(ascii: "}"))
    }

    private mutating func unescape(_ field: UnsafeBufferPointer<UInt8>, column: Int) throws(LineError) {
        var i = 0
        while i < field.count {
            let c = field[i]
            if c == UInt8(ascii: "\\") && i + 1 < field.count {
                let e = field[i + 1]
                switch e {
                case UInt8(ascii: "t"): value.append(0x09)
                case UInt8(ascii: "n"): value.append(0x0A)
                case UInt8(ascii: "r"): value.append(0x0D)
                case UInt8(ascii: "\\"): value.append(0x5C)
                default:
                    value.append(c)
                    value.append(e)
                }
                i += 2
                continue
            }
            if c >= 0x80 {
                let p = Parser(line: field, lossy: lossy)
                let len = p.utf8SequenceLength(i)
                if len == 0 {
                    if !lossy {
                        throw LineError(
                            column: column + i,
                            message: "invalid UTF-8 (byte 0x\(String(c, radix: 16))); fix the input or use --lossy to replace bad bytes")
                    }
                    value.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    i += 1
                    continue
                }
                value.append(contentsOf: UnsafeBufferPointer(rebasing: field[i..<(i + len)]))
                i += len
                continue
            }
            value.append(c)
            i += 1
        }
    }
}
