// The date column: per-document timestamps packed in blocks of 128 with each block's range, against the list of
// dates it was written from.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct DateColumnTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var docCount: Int
        var missing: Double
        var range: ClosedRange<Int64>
        var testDescription: String { "\(name) (\(docCount) docs)" }
    }

    static let cases: [Case] = [
        Case(name: "empty", docCount: 0, missing: 0, range: 0...0),
        Case(name: "one", docCount: 1, missing: 0, range: 1_700_000_000...1_700_000_000),
        Case(name: "all missing", docCount: 300, missing: 1, range: 0...0),
        Case(name: "none missing", docCount: 256, missing: 0, range: 1_500_000_000...1_800_000_000),
        Case(name: "some missing", docCount: 1000, missing: 0.3, range: 0...2_000_000_000),
        Case(name: "negative", docCount: 129, missing: 0.1, range: -62_167_219_200 ... -1),
        Case(name: "narrow", docCount: 500, missing: 0.5, range: 86_400...86_410),
        Case(name: "constant", docCount: 200, missing: 0.2, range: -5 ... -5),
        Case(name: "wide (width 64)", docCount: 700, missing: 0.2, range: (Int64.min + 1)...Int64.max),
        Case(name: "just over 32 bits", docCount: 300, missing: 0.1, range: 0...Int64(UInt32.max) + 10),
    ]

    /// Writes `dates` and opens the file.
    static func roundTrip(_ dates: [Int64?], in dir: TemporaryDirectory, seed: UInt64) throws -> (
        DateColumnReader, MappedFile
    ) {
        var rng = SeededRandom(seed: seed)
        let id = rng.bytes(16)
        var writer = DateColumnWriter()
        for d in dates { writer.append(d) }
        let path = dir.file("s\(seed).dates")
        let size = try writer.write(path: path, segmentID: id)
        #expect(size == fileSize(path))
        let file = try MappedFile(path: path)
        return (try DateColumnReader(file: file, segmentID: id, expectedDocs: dates.count), file)
    }

    /// Checks every accessor against the model.
    static func check(_ reader: DateColumnReader, _ dates: [Int64?], _ context: String) {
        #expect(reader.docCount == dates.count)
        #expect(reader.blockCount == (dates.count + 127) / 128)
        let present = dates.compactMap { $0 }
        #expect(reader.datedDocs == present.count, "\(context)")
        #expect(reader.minDate == (present.min() ?? .max), "\(context)")
        #expect(reader.maxDate == (present.max() ?? .min), "\(context)")
        var mismatches = 0
        for (d, date) in dates.enumerated() where reader.date(d) != date {
            if mismatches < 5 {
                Issue.record(
                    "doc \(d): \(String(describing: reader.date(d))) != \(String(describing: date)), \(context)")
            }
            mismatches += 1
        }
        #expect(mismatches == 0, "\(context)")
        #expect(reader.date(-1) == nil)
        #expect(reader.date(dates.count) == nil)
        let scratch = UnsafeMutablePointer<UInt32>.allocate(capacity: 128)
        defer { scratch.deallocate() }
        for b in 0..<reader.blockCount {
            let range = (b * 128)..<min(b * 128 + 128, dates.count)
            let blockDates = range.map { dates[$0] }
            let blockPresent = blockDates.compactMap { $0 }
            #expect(reader.blockMin(b) == (blockPresent.min() ?? .max), "block \(b), \(context)")
            #expect(reader.blockMax(b) == (blockPresent.max() ?? .min), "block \(b), \(context)")
            #expect(reader.blockIsFull(b) == (blockPresent.count == range.count), "block \(b), \(context)")
            // Match masks for ranges at and around the block's dates, and unbounded or empty ones, against the
            // model's dates compared one by one.
            var bounds: [Int64] = [Int64.min + 1, Int64.max, 0, -1]
            for d in blockPresent.prefix(6) { bounds += [d, d &+ 1, d &- 1] }
            if let lo = blockPresent.min(), let hi = blockPresent.max() {
                bounds += [lo, hi, hi &+ 1, lo / 2 &+ hi / 2, lo &- (1 << 40), hi &+ (1 << 40)]
            }
            for lower in bounds {
                for upper in bounds {
                    let (low, high) = reader.matchMask(b, lower: lower, upper: upper, scratch: scratch)
                    var expectedLow: UInt64 = 0
                    var expectedHigh: UInt64 = 0
                    for (i, date) in blockDates.enumerated() {
                        guard let date, date >= lower, date < upper else { continue }
                        if i < 64 { expectedLow |= 1 << UInt64(i) } else { expectedHigh |= 1 << UInt64(i - 64) }
                    }
                    if low != expectedLow || high != expectedHigh {
                        Issue.record("matchMask(\(b), [\(lower), \(upper))) wrong, \(context)")
                    }
                }
            }
        }
    }

    @Test(arguments: cases)
    func everyDateMatchesTheModel(_ c: Case) throws {
        var rng = SeededRandom(seedFromEnvironmentOr: 0xDA7E_0000 &+ UInt64(c.docCount))
        let dir = TemporaryDirectory("dates")
        let dates: [Int64?] = (0..<c.docCount).map { _ in
            rng.chance(c.missing) ? nil : Int64.random(in: c.range, using: &rng)
        }
        let (reader, file) = try Self.roundTrip(dates, in: dir, seed: rng.next())
        withExtendedLifetime(file) { Self.check(reader, dates, "\(c.testDescription), \(rng.seedDescription)") }
    }

    @Test func rangeEdgesPickTheRightWidth() throws {
        // A block whose span is UInt32.max - 1 still packs (values 1...UInt32.max); one more needs raw 64-bit values.
        let dir = TemporaryDirectory("dates")
        let base: Int64 = -1_000
        let fits: [Int64?] = [base, base + Int64(UInt32.max) - 1, nil] + Array(repeating: base + 7, count: 125)
        let wide: [Int64?] = [base, base + Int64(UInt32.max), nil] + Array(repeating: base + 7, count: 125)
        let extremes: [Int64?] = [Int64.min + 1, Int64.max, nil, 0, -1]
        for (k, dates) in [fits, wide, extremes].enumerated() {
            let (reader, file) = try Self.roundTrip(dates, in: dir, seed: UInt64(k))
            withExtendedLifetime(file) { Self.check(reader, dates, "case \(k)") }
        }
        // Mixed widths block by block: a narrow block, an empty block, a wide block, a partial last block.
        var mixed: [Int64?] = (0..<128).map { Int64($0) }
        mixed += Array(repeating: nil, count: 128)
        mixed += (0..<128).map { $0 % 2 == 0 ? Int64.min + 1 + Int64($0) : Int64.max - Int64($0) }
        mixed += [42, nil, -42]
        let (reader, file) = try Self.roundTrip(mixed, in: dir, seed: 9)
        withExtendedLifetime(file) { Self.check(reader, mixed, "mixed") }
    }

    @Test func openingChecksTheSegment() throws {
        let dir = TemporaryDirectory("dates")
        var rng = SeededRandom(seed: 5)
        let id = rng.bytes(16)
        var writer = DateColumnWriter()
        for i in 0..<300 { writer.append(i % 3 == 0 ? nil : Int64(i)) }
        let path = dir.file("s.dates")
        _ = try writer.write(path: path, segmentID: id)
        let file = try MappedFile(path: path)
        for (expectedDocs, otherID) in [(301, false), (299, false), (300, true)] {
            var wrongID = id
            if otherID { wrongID[15] ^= 1 }
            do {
                _ = try DateColumnReader(file: file, segmentID: wrongID, expectedDocs: expectedDocs)
                Issue.record("opened with \(expectedDocs) docs, other id: \(otherID)")
            } catch {
                #expect(error.code == .corruptIndex)
                #expect(error.path == path)
            }
        }
        // A damaged block table fails its checksum.
        var bytes = readFile(path)
        let tableOffset =
            coveredLength(bytes) - DateColumnReader.trailerSize - 3 * DateColumnReader.entrySize
        bytes[tableOffset + 3] ^= 0x10
        writeFile(dir.file("damaged.dates"), bytes)
        do {
            _ = try DateColumnReader(
                file: MappedFile(path: dir.file("damaged.dates")), segmentID: id, expectedDocs: 300, verify: true)
            Issue.record("a damaged block table must not open when verified")
        } catch {
            #expect(error.code == .corruptIndex)
        }
    }
}
