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
            let top = StoredDocument(try readWholeFile(path))
            func kinds(_ raw: [UInt8]?) -> [String: (Double, Double, Double)] {
                guard let raw else { return [:] }
                let ks = StoredDocument(raw)
                var out: [String: (Double, Double, Double)] = [:]
                for m in ks.members {
                    let stats = StoredDocument(Array(ks.json[m.value]))
                    guard let p50 = stats.text("p50_us").flatMap({ Double($0) }) else { continue }
                    out[m.name] = (
                        p50, stats.text("p95_us").flatMap { Double($0) } ?? p50,
                        stats.text("p99_us").flatMap { Double($0) } ?? p50
                    )
                }
                return out
            }
            var percentiles: [String: [String: (Double, Double, Double)]] = [:]
            if let raw = top.rawValue("modes") {
                let modes = StoredDocument(raw)
                for m in modes.members {
                    percentiles[m.name] = kinds(StoredDocument(Array(modes.json[m.value])).rawValue("kinds"))
                }
            } else {
                percentiles[top.text("mode") ?? ""] = kinds(top.rawValue("kinds"))
            }
            guard percentiles.values.contains(where: { !$0.isEmpty }) else {
                throw QuarryError(
                    .invalidArgument, "--compare: no `kinds` with p50_us in it (a `quarry bench --json` file)",
                    path: path)
            }
            var label = String(path.split(separator: "/").last ?? Substring(path))
            if let named = top.text("label") ?? top.text("engine") ?? top.text("index") { label += " (\(named))" }
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
}
