// Dumps made of records: mbox files, WARC files, MediaWiki exports, CSV. Each format is a pair:
//
//     RecordSplitter   on the reading thread: cuts the decompressed byte stream into records (one per document),
//                      streaming, with each record's place (line and byte offset) for errors
//     RecordParser     on a worker thread: turns one record into a `SourceDocument` (or nil: not a document, such
//                      as a WARC request record or a Wikipedia redirect)
//
// and `SourceDocument.fill(_:schema:)` makes the indexable `Document` from it in one place, the same for every
// format. A new format is a new file in this folder with its splitter and parser, and its line in `DumpFormat`.

/// One document's bytes in a dump, and where they start.
struct Record: Sendable {
    var bytes: [UInt8]
    /// The 1-based line where the record starts, when the format counts lines.
    var line: Int?
    /// The byte offset where the record starts in the decompressed stream.
    var offset: Int
}

/// A document as a dump reader found it, before analysis.
struct SourceDocument: Sendable, Equatable {
    /// The id (a Message-ID, a URI, a page title); nil: the caller numbers the document or names it by its place.
    var id: String?
    /// Seconds since 1970 UTC.
    var date: Int64?
    var title: String = ""
    var body: String = ""
    /// Other fields, stored with the document (and indexed where the schema has a text field of that name, as
    /// JSON input's fields are), in order. A name given twice keeps both values (an array when stored).
    var fields: [(name: String, value: String)] = []

    static func == (a: SourceDocument, b: SourceDocument) -> Bool {
        a.id == b.id && a.date == b.date && a.title == b.title && a.body == b.body
            && a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// Fills `doc` for `schema`: id, date, title and body fields, extra fields by name, and the stored JSON
    /// (`{"id":..,"date":..,"title":..,"body":..,<fields>}`).
    /// - Parameter fallbackID: the id when the document has none (a file path and record number).
    func fill(_ doc: inout Document, schema: Schema, fallbackID: String) throws(LineError) {
        doc.reset()
        let id = (self.id?.isEmpty == false ? self.id : nil) ?? fallbackID
        guard id.utf8.count <= 1024 else {
            throw LineError(column: 1, message: "the id is longer than 1024 bytes")
        }
        doc.id = Array(id.utf8)
        doc.date = date
        doc.setText(0, title)
        doc.setText(1, body)
        // Extra fields that name a text field of the schema are indexed there (values joined as an array's).
        var extraOrds: [Int?] = []
        for f in fields {
            let ord = schema.textFieldOrd(f.name)
            extraOrds.append(ord.flatMap { $0 >= 3 ? $0 : nil })
            if let ord, ord >= 3 {
                doc.text[ord - 1].append(contentsOf: f.value.utf8)
                doc.valueEnds[ord - 1].append(doc.text[ord - 1].count)
            }
        }
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
        // Title and body from the bytes `setText` made (the array path of the JSON escaper is the fast one).
        for (name, k) in [(schema.titleField, 0), (schema.bodyField, 1)] {
            doc.stored.append(UInt8(ascii: ","))
            appendJSONString(name.utf8, to: &doc.stored)
            doc.stored.append(UInt8(ascii: ":"))
            appendJSONString(doc.text[k], to: &doc.stored)
        }
        // Extra fields, a name given several times as an array; names of the roles above are not repeated. (A
        // document has a few: plain scans, no sets made per document.)
        let reserved = [schema.idField, schema.dateField, schema.titleField, schema.bodyField]
        for (k, f) in fields.enumerated()
        where !reserved.contains(f.name) && !fields[..<k].contains(where: { $0.name == f.name }) {
            let values = fields[k...].filter { $0.name == f.name }.map(\.value)
            doc.stored.append(UInt8(ascii: ","))
            appendJSONString(f.name.utf8, to: &doc.stored)
            doc.stored.append(UInt8(ascii: ":"))
            if values.count == 1 {
                appendJSONString(values[0].utf8, to: &doc.stored)
            } else {
                doc.stored.append(UInt8(ascii: "["))
                for (k, v) in values.enumerated() {
                    if k > 0 { doc.stored.append(UInt8(ascii: ",")) }
                    appendJSONString(v.utf8, to: &doc.stored)
                }
                doc.stored.append(UInt8(ascii: "]"))
            }
        }
        doc.stored.append(UInt8(ascii: "}"))
    }
}

/// Cuts a stream into records, on the reading thread.
protocol RecordSplitter {
    /// Appends the complete records at the start of `data` to `out` and returns how many bytes they took; the
    /// rest is offered again, with more bytes after it. `base` is the stream offset of `data[0]` and `line` its
    /// line number. When `final` is true there are no more bytes: what remains is the last record (or an error).
    mutating func split(
        _ data: UnsafeBufferPointer<UInt8>, base: Int, line: Int, final: Bool, into out: inout [Record]
    ) throws(LineError) -> Int
}

/// Turns one record into a document, on a worker thread.
protocol RecordParser: Sendable {
    /// The document, or nil when the record is not one (it is then skipped without a word).
    func parse(_ record: Record) throws(LineError) -> SourceDocument?
}
