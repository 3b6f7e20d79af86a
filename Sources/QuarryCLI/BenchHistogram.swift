// `quarry bench --histogram FILE [--compare OTHER.json]`: one SVG, a row per mode and kind. Each row is a histogram
// of the samples on a log scale (12 bins a decade, the axis reaching the slowest sample so that outliers show), a
// count scale, and the p50, p95 and p99 marked; `--compare` draws another run's percentiles (dashed) over it. A
// caption names the index, its size, the run's settings and the date.

import Quarry

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

enum BenchHistogram {
    /// Another run's percentiles per mode and kind (µs), read from its JSON.
    struct Other {
        var label: String
        /// mode -> kind -> (p50, p95, p99); the mode "" when the file has one mode without naming it.
        var percentiles: [String: [String: (Double, Double, Double)]]

        /// Reads `quarry bench --json` output (one mode: `mode` + `kinds`; several: `modes.<mode>.kinds`), or any
        /// object with `kinds.<kind>.p50_us/p95_us/p99_us` (a peer's result in the same shape). The label is the
        /// file's `label`, `engine` or `index` member, else its name.
        static func read(_ path: String) throws -> Other {
            let bytes = try readAll(path)
            var parser = MiniJSON(bytes)
            guard let value = parser.parse(), case .object(let top) = value else {
                throw QuarryError(.invalidArgument, "--compare: not a JSON object (a `quarry bench --json` file)", path: path)
            }
            func kinds(_ v: MiniJSON.Value?) -> [String: (Double, Double, Double)] {
                guard case .object(let ks)? = v else { return [:] }
                var out: [String: (Double, Double, Double)] = [:]
                for (k, s) in ks {
                    guard case .object(let stats) = s, case .number(let p50)? = stats["p50_us"] else { continue }
                    func number(_ key: String) -> Double {
                        if case .number(let x)? = stats[key] { return x }
                        return p50
                    }
                    out[k] = (p50, number("p95_us"), number("p99_us"))
                }
                return out
            }
            var percentiles: [String: [String: (Double, Double, Double)]] = [:]
            if case .object(let modes)? = top["modes"] {
                for (mode, m) in modes {
                    if case .object(let mo) = m { percentiles[mode] = kinds(mo["kinds"]) }
                }
            } else {
                var mode = ""
                if case .string(let m)? = top["mode"] { mode = m }
                percentiles[mode] = kinds(top["kinds"])
            }
            guard percentiles.values.contains(where: { !$0.isEmpty }) else {
                throw QuarryError(.invalidArgument, "--compare: no `kinds` with p50_us in it", path: path)
            }
            var label = String(path.split(separator: "/").last ?? Substring(path))
            for key in ["label", "engine", "index"] {
                if case .string(let l)? = top[key] {
                    label += " (\(l))"
                    break
                }
            }
            return Other(label: label, percentiles: percentiles)
        }

        func marks(mode: String, kind: String) -> (Double, Double, Double)? {
            percentiles[mode]?[kind] ?? percentiles[""]?[kind]
        }
    }

    static let width = 820
    static let left = 64.0
    static let right = 24.0
    static let rowHeight = 190
    static let plotHeight = 118.0
    static let binsPerDecade = 12

    static func svg(_ reports: [BenchReport], caption: String, other: Other?) -> String {
        var rows: [(mode: String, kind: String, samples: [Double], stats: BenchStats)] = []
        for r in reports {
            for (kind, stats) in r.kinds { rows.append((r.mode, kind, r.samples[kind] ?? [], stats)) }
        }
        // One axis for every row, from the decade below the fastest sample to the one above the slowest (or the
        // other run's marks, if they lie further out).
        var all = rows.flatMap(\.samples).filter { $0 > 0 }
        if let other {
            for row in rows {
                if let (a, b, c) = other.marks(mode: row.mode, kind: row.kind) { all += [a, b, c].filter { $0 > 0 } }
            }
        }
        let lowest = floor(log10(max(all.min() ?? 1, 0.1)))
        let highest = max(ceil(log10(max(all.max() ?? 10, 0.1))), lowest + 2)
        let decades = Int(highest - lowest)
        let bins = decades * binsPerDecade
        let plotWidth = Double(width) - left - right
        func x(_ us: Double) -> Double {
            let position = (log10(max(us, pow(10, lowest))) - lowest) / Double(decades)
            return left + min(max(position, 0), 1) * plotWidth
        }
        let top = other == nil ? 44 : 60
        let height = top + rows.count * rowHeight + 10
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
        out += "font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"white\"/>\n"
        out += text(8, 18, caption, size: 12, weight: "bold")
        out += text(8, 34, "bars: samples per bin (log scale of latency); marks: p50 (black), p95 (orange), p99 (red)")
        if let other {
            out += "<line x1=\"8\" y1=\"48\" x2=\"30\" y2=\"48\" stroke=\"#7b3fb0\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>\n"
            out += text(36, 52, "\(other.label): its p50, p95, p99")
        }
        for (r, row) in rows.enumerated() {
            let y0 = Double(top + r * rowHeight) + 22
            let base = y0 + plotHeight
            var counts = [Int](repeating: 0, count: bins)
            for s in row.samples {
                let b = Int(((log10(max(s, pow(10, lowest))) - lowest) * Double(binsPerDecade)).rounded(.down))
                counts[min(max(b, 0), bins - 1)] += 1
            }
            let most = max(counts.max() ?? 1, 1)
            let st = row.stats
            out += text(
                8, y0 - 8,
                "\(row.mode) \(row.kind): \(row.samples.count) samples, p50 \(us(st.p50)), p95 \(us(st.p95)), p99 \(us(st.p99)), max \(us(st.max))",
                weight: "bold")
            // Count scale.
            out += line(left, y0, left, base, "#444")
            for tick in [0, most / 2, most] where tick > 0 || most > 0 {
                let y = base - plotHeight * Double(tick) / Double(most)
                out += line(left - 4, y, left, y, "#444")
                out += text(left - 8, y + 4, "\(tick)", anchor: "end")
            }
            out += "<text x=\"14\" y=\"\(f(y0 + plotHeight / 2))\" font-size=\"10\" fill=\"#111\" text-anchor=\"middle\" "
            out += "transform=\"rotate(-90 14 \(f(y0 + plotHeight / 2)))\">samples</text>\n"
            // Bars.
            let binWidth = plotWidth / Double(bins)
            for (i, c) in counts.enumerated() where c > 0 {
                let h = max(plotHeight * Double(c) / Double(most), 1)
                out += "<rect x=\"\(f(left + Double(i) * binWidth))\" y=\"\(f(base - h))\" width=\"\(f(max(binWidth - 1, 1)))\" "
                out += "height=\"\(f(h))\" fill=\"#4a7ab0\"/>\n"
            }
            // Latency axis.
            out += line(left, base, left + plotWidth, base, "#444")
            for d in 0...decades {
                let value = pow(10, lowest + Double(d))
                let px = left + plotWidth * Double(d) / Double(decades)
                out += line(px, base, px, base + 4, "#444")
                out += text(px, base + 16, us(value), anchor: "middle")
            }
            // Percentiles, and the other run's.
            for (value, color, name) in [(st.p50, "#000", "p50"), (st.p95, "#e08a00", "p95"), (st.p99, "#d62728", "p99")] {
                out += line(x(value), y0, x(value), base, color, width: 1.5)
                out += text(x(value) + 2, y0 + 10, name, size: 10, color: color)
            }
            if let (a, b, c) = other?.marks(mode: row.mode, kind: row.kind) {
                for (value, name) in [(a, "p50"), (b, "p95"), (c, "p99")] {
                    out += "<line x1=\"\(f(x(value)))\" y1=\"\(f(y0 + 14))\" x2=\"\(f(x(value)))\" y2=\"\(f(base))\" "
                    out += "stroke=\"#7b3fb0\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>\n"
                    out += text(x(value) + 2, y0 + 24, name, size: 10, color: "#7b3fb0")
                }
            }
            // The slowest sample, however far out.
            if st.max > 0 {
                let mx = x(st.max)
                out += "<path d=\"M\(f(mx)) \(f(base - 2)) l-4 -7 h8 z\" fill=\"#d62728\"/>\n"
            }
        }
        out += "</svg>\n"
        return out
    }

    /// "850 µs", "1.2 ms", "1 ms", "10 s".
    static func us(_ v: Double) -> String {
        func scaled(_ x: Double, _ unit: String) -> String {
            Format.fixed(x, x >= 10 || x == x.rounded() ? 0 : 1) + " " + unit
        }
        if v >= 1_000_000 { return scaled(v / 1_000_000, "s") }
        if v >= 1_000 { return scaled(v / 1_000, "ms") }
        return scaled(v, "µs")
    }

    private static func f(_ v: Double) -> String { Format.fixed(v, 1) }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ color: String, width: Double = 1)
        -> String
    {
        "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(color)\" stroke-width=\"\(f(width))\"/>\n"
    }

    private static func text(
        _ x: Double, _ y: Double, _ s: String, size: Int = 11, weight: String = "normal", anchor: String = "start",
        color: String = "#111"
    ) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"\(size)\" font-weight=\"\(weight)\" text-anchor=\"\(anchor)\" fill=\"\(color)\">\(escape(s))</text>\n"
    }

    private static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    private static func readAll(_ path: String) throws -> [UInt8] {
        guard let f = fopen(path, "rb") else {
            throw QuarryError(.invalidArgument, "--compare: cannot open it (\(String(cString: strerror(errno))))", path: path)
        }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            out += buffer[0..<n]
            if out.count > 64 << 20 { throw QuarryError(.invalidArgument, "--compare: over 64 MB, not a bench result", path: path) }
        }
        return out
    }
}

/// A small JSON reader for `--compare` (objects, arrays, strings, numbers, true, false, null).
struct MiniJSON {
    indirect enum Value {
        case object([String: Value])
        case array([Value])
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
    }

    private let bytes: [UInt8]
    private var i = 0
    private var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The value, or nil if the text is not JSON (or nests deeper than 64).
    mutating func parse() -> Value? {
        let v = value()
        skipSpace()
        return i == bytes.count ? v : nil
    }

    private mutating func skipSpace() {
        while i < bytes.count && (bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09) { i += 1 }
    }

    private mutating func value() -> Value? {
        skipSpace()
        guard i < bytes.count, depth < 64 else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            depth += 1
            defer { depth -= 1 }
            i += 1
            var members: [String: Value] = [:]
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard i < bytes.count && bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard let v = value() else { return nil }
                members[key] = v
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "}") else { return nil }
                i += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            depth += 1
            defer { depth -= 1 }
            i += 1
            var items: [Value] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                guard let v = value() else { return nil }
                items.append(v)
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "]") else { return nil }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "\""):
            return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default:
            let start = i
            while i < bytes.count, let c = Optional(bytes[i]),
                (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
                    || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
            {
                i += 1
            }
            guard i > start, let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { return nil }
            return .number(d)
        }
    }

    private mutating func literal(_ word: String, _ v: Value) -> Value? {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { return nil }
        i += w.count
        return v
    }

    /// A string (escapes decoded; \u escapes outside ASCII become U+FFFD, enough for labels).
    private mutating func string() -> String? {
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let c = bytes[i]
            i += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            if c == UInt8(ascii: "\\") {
                guard i < bytes.count else { return nil }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard i + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16)
                    else { return nil }
                    i += 4
                    if code < 0x80 { out.append(UInt8(code)) } else { out += Array("\u{FFFD}".utf8) }
                default: out.append(e)
                }
            } else {
                out.append(c)
            }
        }
        return nil
    }
}
