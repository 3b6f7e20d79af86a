// A stored document as search results need it: its top-level JSON members, with string values decoded on demand.

/// A stored document (a JSON object) and its top-level members.
public struct StoredDocument: Sendable {
    /// The JSON text.
    public let json: [UInt8]
    /// Member names and the byte ranges of their values in `json`.
    public let members: [(name: String, value: Range<Int>)]

    /// Parses the stored bytes. Malformed JSON (a damaged store) yields a document with no members.
    public init(_ json: [UInt8]) {
        self.init(json, stopAfter: nil)
    }

    /// One member's text, parsing only up to it (the id of an export: it is usually the first member).
    public static func text(_ name: String, in json: [UInt8]) -> String? {
        StoredDocument(json, stopAfter: Array(name.utf8)).text(name)
    }

    private init(_ json: [UInt8], stopAfter: [UInt8]?) {
        self.json = json
        var members: [(String, Range<Int>)] = []
        json.withUnsafeBufferPointer { buf in
            var p = Parser(line: buf, lossy: true)
            p.skipWhitespace()
            guard p.peek() == UInt8(ascii: "{") else { return }
            p.i += 1
            p.skipWhitespace()
            if p.peek() == UInt8(ascii: "}") { return }
            while true {
                p.skipWhitespace()
                guard p.peek() == UInt8(ascii: "\"") else { return }
                var key: [UInt8] = []
                do { try p.string(into: &key) } catch { return }
                p.skipWhitespace()
                guard p.peek() == UInt8(ascii: ":") else { return }
                p.i += 1
                p.skipWhitespace()
                let start = p.i
                do { try p.skipValue(depth: 0) } catch { return }
                members.append((String(decoding: key, as: UTF8.self), start..<p.i))
                if let stopAfter, key == stopAfter { return }
                p.skipWhitespace()
                guard let c = p.peek() else { return }
                p.i += 1
                if c != UInt8(ascii: ",") { return }
            }
        }
        self.members = members
    }

    /// The raw JSON text of a member's value.
    public func rawValue(_ name: String) -> [UInt8]? {
        members.first { $0.name == name }.map { Array(json[$0.value]) }
    }

    /// A member's value as text: a string decoded, a number or literal as written, arrays of strings joined
    /// with newlines; nil if absent or null.
    public func text(_ name: String) -> String? {
        guard let m = members.first(where: { $0.name == name }) else { return nil }
        return json.withUnsafeBufferPointer { buf -> String? in
            var p = Parser(line: UnsafeBufferPointer(rebasing: buf[m.value]), lossy: true)
            guard let c = p.peek() else { return nil }
            if c == UInt8(ascii: "\"") {
                var out: [UInt8] = []
                do { try p.string(into: &out) } catch { return nil }
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "[") {
                var parts: [String] = []
                p.i += 1
                while true {
                    p.skipWhitespace()
                    guard let d = p.peek() else { return parts.joined(separator: "\n") }
                    if d == UInt8(ascii: "]") { break }
                    if d == UInt8(ascii: ",") {
                        p.i += 1
                        continue
                    }
                    if d == UInt8(ascii: "\"") {
                        var out: [UInt8] = []
                        do { try p.string(into: &out) } catch { return nil }
                        parts.append(String(decoding: out, as: UTF8.self))
                    } else {
                        do { try p.skipValue(depth: 0) } catch { return nil }
                    }
                }
                return parts.joined(separator: "\n")
            }
            let raw = String(decoding: UnsafeBufferPointer(rebasing: buf[m.value]), as: UTF8.self)
            return raw == "null" ? nil : raw
        }
    }
}
