// Writing to stdout and stderr without Foundation: a buffered writer over `fwrite`, and number formatting.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Quarry
import SystemPackage

/// Buffered output to a file descriptor.
struct OutputStream {
    private var buffer: [UInt8] = []
    private let fd: Int32

    static func standardOutput() -> OutputStream { OutputStream(fd: 1) }
    static func standardError() -> OutputStream { OutputStream(fd: 2) }

    private init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    mutating func write(_ s: String) {
        var s = s
        s.withUTF8 { buffer.append(contentsOf: $0) }
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write<C: Collection>(bytes: C) where C.Element == UInt8 {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func line(_ s: String = "") {
        write(s)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        if buffer.isEmpty { return }
        // EPIPE and the like: the reader went away; drop the output.
        _ = try? FileDescriptor(rawValue: fd).writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Prints a line to standard error at once.
public func printError(_ s: String) {
    var e = OutputStream.standardError()
    e.line(s)
    e.flush()
}

public enum Format {
    /// `value` with `decimals` digits after the point (rounded half away from zero).
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let n = Int64(scaled)
        let whole = n / Int64(scale)
        var frac = String(n % Int64(scale))
        if decimals == 0 { return (negative && n != 0 ? "-" : "") + String(whole) }
        frac = String(repeating: "0", count: decimals - frac.count) + frac
        return (negative && n != 0 ? "-" : "") + String(whole) + "." + frac
    }

    /// 1234567 -> "1,234,567".
    public static func grouped(_ value: Int) -> String {
        let s = String(abs(value))
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return value < 0 ? "-" + out : out
    }

    /// Bytes as "12.3 MB" (decimal units, as `ls -h --si` and most benchmarks).
    public static func bytes(_ value: Int) -> String {
        let v = Double(value)
        if v < 1000 { return "\(value) B" }
        if v < 1e6 { return fixed(v / 1e3, 1) + " kB" }
        if v < 1e9 { return fixed(v / 1e6, 1) + " MB" }
        return fixed(v / 1e9, 2) + " GB"
    }

    public static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return fixed(seconds * 1000, 0) + " ms" }
        if seconds < 60 { return fixed(seconds, 2) + " s" }
        let m = Int(seconds) / 60
        let s = Int(seconds) % 60
        return "\(m)m\(s < 10 ? "0" : "")\(s)s"
    }

    public static func padLeft(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    public static func padRight(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}

/// A JSON object built by hand.
public struct JSONObject {
    public init() {}
    private var parts: [String] = []

    public mutating func add(_ key: String, _ value: Int) { parts.append("\(quote(key)):\(value)") }
    public mutating func add(_ key: String, _ value: UInt64) { parts.append("\(quote(key)):\(value)") }
    public mutating func add(_ key: String, _ value: Double, decimals: Int = 3) {
        parts.append("\(quote(key)):\(value.isFinite ? Format.fixed(value, decimals) : "null")")
    }
    public mutating func add(_ key: String, _ value: String?) { parts.append("\(quote(key)):\(value.map(quote) ?? "null")") }
    public mutating func add(_ key: String, _ value: Bool) { parts.append("\(quote(key)):\(value)") }
    public mutating func add(_ key: String, raw: String) { parts.append("\(quote(key)):\(raw)") }

    public var text: String { "{" + parts.joined(separator: ",") + "}" }
}

/// A JSON string literal (the engine's, so that the CLI and stored documents escape alike).
public func quote(_ s: String) -> String { jsonQuote(s) }

/// HTML and XML text escaping (&, <, >, ", '): the search page and `bench --histogram`'s SVG.
public func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}
