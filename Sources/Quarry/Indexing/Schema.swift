// The schema of an index: which input fields are the id, the date and the text fields, and which analyzer turns
// text into terms. It is fixed when the index is created and stored in the manifest; every later `quarry index` run
// and every search use the stored one.
//
// Field ords: 0 is the id (a keyword field: the whole id is one term, no positions, used to find a document by id);
// text fields are 1, 2, ... in order, `title` first and `body` second by default.

/// The schema of an index.
public struct Schema: Sendable, Equatable {
    /// The input field holding the document id (a string or an integer).
    public var idField: String
    /// The input field holding the document date.
    public var dateField: String
    /// The indexed text fields, in ord order (ord = index + 1). The first two are the default search fields
    /// (title and body).
    public var textFields: [String]
    /// The analyzer for every text field.
    public var analyzer: AnalyzerKind

    /// The ord of the id field.
    public static let idOrd = 0
    /// The most text fields an index can have.
    public static let maxTextFields = 64

    /// Creates a schema.
    public init(
        idField: String = "id", dateField: String = "date", titleField: String = "title",
        bodyField: String = "body", extraTextFields: [String] = [], analyzer: AnalyzerKind = .standard
    ) {
        self.idField = idField
        self.dateField = dateField
        self.textFields = [titleField, bodyField] + extraTextFields
        self.analyzer = analyzer
    }

    init(idField: String, dateField: String, textFields: [String], analyzer: AnalyzerKind) {
        self.idField = idField
        self.dateField = dateField
        self.textFields = textFields
        self.analyzer = analyzer
    }

    /// The title field's name.
    public var titleField: String { textFields[0] }
    /// The body field's name.
    public var bodyField: String { textFields[1] }

    /// The ord of a text field, by name.
    public func textFieldOrd(_ name: String) -> Int? {
        textFields.firstIndex(of: name).map { $0 + 1 }
    }

    /// The name of a field ord.
    public func fieldName(_ ord: Int) -> String {
        ord == Schema.idOrd ? idField : (ord >= 1 && ord <= textFields.count ? textFields[ord - 1] : "#\(ord)")
    }

    /// "id, date, title, body (analyzer default)": for messages.
    public var describe: String {
        "\(idField), \(dateField), \(textFields.joined(separator: ", ")) (analyzer \(analyzer.rawValue))"
    }

    /// The ords of the text fields.
    public var textFieldOrds: Range<Int> { 1..<(textFields.count + 1) }

    /// Checks that names are distinct and non-empty.
    public func validate() throws(QuarryError) {
        let all = [idField, dateField] + textFields
        for name in all where name.isEmpty {
            throw QuarryError(.invalidArgument, "field names must not be empty")
        }
        var seen = Set<String>()
        for name in all {
            if !seen.insert(name).inserted {
                throw QuarryError(.invalidArgument, "field '\(name)' is given two roles; each field has one")
            }
        }
        if textFields.count < 2 || textFields.count > Schema.maxTextFields {
            throw QuarryError(.invalidArgument, "an index has 2 to \(Schema.maxTextFields) text fields")
        }
    }
}
