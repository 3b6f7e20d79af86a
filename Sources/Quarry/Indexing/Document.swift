// A parsed input document, as the input readers hand it to the segment builder. One `Document` is reused for every
// document a worker parses, so parsing allocates nothing once its buffers have grown.

/// A document ready to be indexed: id, date, decoded text per text field, and the bytes to store.
public struct Document: Sendable {
    /// The id, as UTF-8 bytes (an integer id is its decimal text).
    public var id: [UInt8] = []
    /// Seconds since 1970 UTC, or nil.
    public var date: Int64?
    /// Per text field (index = ord - 1): the decoded UTF-8 text of all its values, back to back.
    public var text: [[UInt8]]
    /// Per text field: where each value ends in `text` (a field given as an array has several values; positions
    /// leave a gap between values so that phrases do not match across them).
    public var valueEnds: [[Int]]
    /// The document as stored and returned: a JSON object.
    public var stored: [UInt8] = []

    /// An empty document for a schema with `textFieldCount` text fields.
    public init(textFieldCount: Int) {
        text = Array(repeating: [], count: textFieldCount)
        valueEnds = Array(repeating: [], count: textFieldCount)
    }

    /// Clears every field, keeping the buffers.
    public mutating func reset() {
        id.removeAll(keepingCapacity: true)
        date = nil
        for i in text.indices {
            text[i].removeAll(keepingCapacity: true)
            valueEnds[i].removeAll(keepingCapacity: true)
        }
        stored.removeAll(keepingCapacity: true)
    }

    /// Sets a text field to one value.
    public mutating func setText(_ fieldIndex: Int, _ value: String) {
        text[fieldIndex] = Array(value.utf8)
        valueEnds[fieldIndex] = [text[fieldIndex].count]
    }

    /// The id as a string.
    public var idString: String { String(decoding: id, as: UTF8.self) }
}
