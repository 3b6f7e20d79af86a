// DateParsing.swift — document-date parsing and ISO 8601 formatting for Quarry.
//
// Pure Swift standard library: no Foundation, no allocation on the parse path, no force-unwraps, and no
// trapping arithmetic on input-derived values. Every field is range-checked before fields are combined;
// the remaining wrapping operators (`&+`, `&*`, ...) carry a comment saying why they cannot wrap.
//
// Assumes a 64-bit `Int` (every platform Quarry targets). Day numbers count days since 1970-01-01.
//
// Accepted document dates (surrounding ASCII whitespace ignored, names case-insensitive):
//   ISO 8601 / RFC 3339   2026 | 2026-02 | 2026-02-25 | 2026-02-25T14:03[:07[.123…]][zone]
//                         ('T', 't' or one space between date and time; zone Z, z, ±HH, ±HHMM, ±HH:MM,
//                         optionally after spaces, or a zone name such as UTC), 20260225, 20260225T140307Z
//   RFC 2822 / 822 / 850  [Tue[,]] 9 Nov 1994 11:02[:01] [zone] [(comment)…], 2-, 3- or 4-digit years,
//                         Tuesday, 09-Nov-94 11:02:01 GMT (RFC 850, old Usenet)
//   asctime / date(1)     Sun Nov  6 08:49:37 1994 | Wed Feb 25 14:03:07 UTC 2026
//   news styles           February 25, 2026 | Feb. 25 2026 | 25 February 2026 | February 25th, 2026,
//                         each optionally followed by [,] [at] 14:03[:07] | 2:03 PM | 2:03 p.m., then a zone
// Years are 0000-9999 (no sign). All-digit strings other than 4 or 8 digits (Unix timestamps) are rejected.

// MARK: - Calendar

/// Calendar helpers (proleptic Gregorian, UTC): days from civil (Howard Hinnant's algorithm) and back.
///
/// Day 0 is 1970-01-01; years use astronomical numbering (year 0 is 1 BC, as in ISO 8601).
enum CivilDate {
    /// `daysFromCivil` clamps |year| to this (2^40 years, well past the ±2.9e11 years that Int64 seconds reach).
    static let yearLimit = 1 << 40
    /// `daysFromCivil` clamps |day| to this (2^50 days).
    static let dayLimit = 1 << 50

    @inline(__always)
    static func isLeapYear(_ year: Int) -> Bool {
        // `%` by a positive constant cannot trap.
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Days in `month` (1...12) of `year`; 0 for a month outside 1...12.
    @inline(__always)
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 1, 3, 5, 7, 8, 10, 12: return 31
        case 4, 6, 9, 11: return 30
        case 2: return isLeapYear(year) ? 29 : 28
        default: return 0
        }
    }

    /// Days since 1970-01-01 of the given civil date.
    ///
    /// Total: a month outside 1...12 carries into the year and a day outside the month counts on from the
    /// month's first day (as `timegm` does: month 13 is January of the next year, day 0 the previous month's
    /// last day). |year| is clamped to `yearLimit` and |day| to `dayLimit`, so no input can trap.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        // Normalize the month into 1...12. Dividing by a positive constant cannot overflow.
        let (quotient, remainder) = month.quotientAndRemainder(dividingBy: 12)  // remainder in -11...11
        var carry = quotient                                                   // |carry| <= Int.max / 12
        var monthIndex = remainder - 1                                         // -12...10
        if monthIndex < 0 {
            monthIndex += 12
            carry -= 1                                                         // >= Int.min / 12 - 1: fits
        }
        // |clamped year| <= 2^40 and |carry| < 2^60, so the sum fits; clamp it again.
        let y = clamp(clamp(year, yearLimit) + carry, yearLimit)
        let d = clamp(day, dayLimit)
        // |first of month| < 2^40 * 366 < 2^49 and |d - 1| <= 2^50 + 1: the sum fits.
        return daysFromCivilUnchecked(year: y, month: monthIndex + 1, day: 1) + (d - 1)
    }

    /// Hinnant's `days_from_civil`. Requires |year| <= 2^40, month in 1...12, |day| <= 2^50 (not checked).
    /// Under those bounds every intermediate stays below 2^51 in magnitude, so the wrapping operators never
    /// wrap. The parser calls it with validated fields (year 0...9999, month 1...12, day 1...31).
    @inline(__always)
    static func daysFromCivilUnchecked(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year &- 1 : year
        let era = (y >= 0 ? y : y &- 399) / 400                    // floor(y / 400)
        let yearOfEra = y &- era &* 400                             // 0...399
        let shiftedMonth = month > 2 ? month &- 3 : month &+ 9      // 0...11, March = 0
        let dayOfYear = (153 &* shiftedMonth &+ 2) / 5 &+ day &- 1  // from March 1
        let dayOfEra = yearOfEra &* 365 &+ yearOfEra / 4 &- yearOfEra / 100 &+ dayOfYear
        return era &* 146_097 &+ dayOfEra &- 719_468
    }

    /// The civil date of a day number; defined for every `Int` (no intermediate can overflow).
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        // Hinnant shifts the epoch to 0000-03-01 (z = days + 719468), which could overflow near Int.max.
        // Split into 400-year eras first: days = 146097 q + r with |r| < 146097, then
        // z = 146097 q + (r + 719468) where r + 719468 lies in 573372...865564 (positive).
        let (quotient, remainder) = days.quotientAndRemainder(dividingBy: 146_097)
        let shifted = remainder + 719_468
        let era = quotient + shifted / 146_097                     // |era| <= Int.max / 146097 + 5
        let dayOfEra = shifted % 146_097                            // 0...146096
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365  // 0...399
        let y = yearOfEra + era * 400                               // |era * 400| < 2^56
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // 0...365
        let shiftedMonth = (5 * dayOfYear + 2) / 153                // 0...11, March = 0
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1      // 1...31
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (month <= 2 ? y + 1 : y, month, day)
    }

    @inline(__always)
    private static func clamp(_ value: Int, _ limit: Int) -> Int {
        value > limit ? limit : (value < -limit ? -limit : value)
    }
}

// MARK: - Parsing

public enum DateParser {
    /// The period a parsed date denotes: its first second plus its length.
    enum Unit: UInt8, Sendable {
        case year, month, day, minute, second
    }

    /// A parsed date: `seconds` is the UTC start of the denoted period.
    struct Parsed: Sendable, Equatable {
        var seconds: Int64
        var unit: Unit
    }

    /// Parses a document date; returns seconds since 1970-01-01T00:00:00Z, or nil if the text is not a date in
    /// an accepted format. A year or a year-month gives the start of that period. Allocation-free.
    static func parseTimestamp(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        parse(bytes)?.seconds
    }

    /// Convenience over `parseTimestamp(_: UnsafeBufferPointer<UInt8>)`; no copy for native strings.
    public static func parseTimestamp(_ string: String) -> Int64? {
        if let result = string.utf8.withContiguousStorageIfAvailable({ parseTimestamp($0) }) { return result }
        var text = string  // a bridged or otherwise non-contiguous string: withUTF8 makes it contiguous
        return text.withUTF8 { parseTimestamp($0) }
    }

    /// Convenience for byte collections (`[UInt8]`, `ArraySlice<UInt8>`, `String.UTF8View`, ...). Copies only
    /// when the collection has no contiguous storage.
    static func parseTimestamp(_ bytes: some Collection<UInt8>) -> Int64? {
        if let result = bytes.withContiguousStorageIfAvailable({ parseTimestamp($0) }) {
            return result
        }
        return Array(bytes).withUnsafeBufferPointer { parseTimestamp($0) }
    }

    /// Parses a date used as a query bound; returns the half-open UTC interval [start, end) that the text
    /// denotes: `1995` → all of 1995, `1995-03` → March 1995, a day (in any accepted format) → that UTC day,
    /// a date-time with minutes → that minute, with seconds → that second (fractions are truncated).
    static func parsePeriod(_ bytes: UnsafeBufferPointer<UInt8>) -> (start: Int64, end: Int64)? {
        guard let parsed = parse(bytes) else { return nil }
        let start = parsed.seconds
        // Every start lies in years 0...10000, about ±2.6e11 s, so these sums cannot overflow.
        switch parsed.unit {
        case .second: return (start, start &+ 1)
        case .minute: return (start, start &+ 60)
        case .day: return (start, start &+ 86_400)
        case .month, .year:
            // Year and month periods start at midnight UTC (they never carry a time or zone).
            let (year, month, _) = CivilDate.civilFromDays(Int(start / 86_400))
            let next: Int
            if parsed.unit == .year || month == 12 {
                next = CivilDate.daysFromCivilUnchecked(year: year &+ 1, month: 1, day: 1)
            } else {
                next = CivilDate.daysFromCivilUnchecked(year: year, month: month &+ 1, day: 1)
            }
            return (start, Int64(next) &* 86_400)
        }
    }

    /// Convenience over `parsePeriod(_: UnsafeBufferPointer<UInt8>)`.
    public static func parsePeriod(_ string: String) -> (start: Int64, end: Int64)? {
        if let result = string.utf8.withContiguousStorageIfAvailable({ parsePeriod($0) }) { return result }
        var text = string
        return text.withUTF8 { parsePeriod($0) }
    }

    /// Parses a date and reports the period it denotes.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Parsed? {
        var start = 0
        var end = bytes.count
        while start < end && isSpace(bytes[start]) { start &+= 1 }      // start < end <= count
        while end > start && isSpace(bytes[end &- 1]) { end &-= 1 }    // end - 1 >= start >= 0
        guard start < end else { return nil }
        var scanner = DateScanner(bytes: bytes, i: start, end: end)
        let first = scanner.peek()
        if isDigit(first) {
            var run = 1
            while run < 9 && isDigit(scanner.peek(run)) { run &+= 1 }
            switch run {
            case 4: return parseISOExtended(&scanner)
            case 8: return parseISOBasic(&scanner)
            case 1, 2: return parseText(&scanner)
            default: return nil  // Unix timestamps and other numbers are not dates here
            }
        }
        if isLetter(first) { return parseText(&scanner) }
        return nil
    }

    // MARK: ISO 8601

    /// `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DD(T|t| )HH:MM[:SS[(.|,)F+]][zone]`; the scanner is at the year.
    private static func parseISOExtended(_ s: inout DateScanner) -> Parsed? {
        // Fast path for the commonest shape, `YYYY-MM-DDTHH:MM:SS` + optional `Z`: fixed positions, one
        // length check. Anything else (or anything odd here) takes the general path below.
        let length = s.end &- s.i
        if length == 19 || (length == 20 && s.bytes[s.end &- 1] | 0x20 == UInt8(ascii: "z")) {
            let p = s.bytes
            let i = s.i  // i + 19 <= end <= p.count: every index below is in bounds
            @inline(__always) func d(_ k: Int) -> Int { Int(p[i &+ k] &- UInt8(ascii: "0")) }  // 0...255
            let (y0, y1, y2, y3, mo0, mo1, d0, d1) = (d(0), d(1), d(2), d(3), d(5), d(6), d(8), d(9))
            let (h0, h1, mi0, mi1, s0, s1) = (d(11), d(12), d(14), d(15), d(17), d(18))
            let t = p[i &+ 10]
            if p[i &+ 4] == UInt8(ascii: "-"), p[i &+ 7] == UInt8(ascii: "-"),
               t == UInt8(ascii: "T") || t == UInt8(ascii: "t") || t == UInt8(ascii: " "),
               p[i &+ 13] == UInt8(ascii: ":"), p[i &+ 16] == UInt8(ascii: ":"),
               y0 < 10, y1 < 10, y2 < 10, y3 < 10, mo0 < 10, mo1 < 10, d0 < 10, d1 < 10,
               h0 < 10, h1 < 10, mi0 < 10, mi1 < 10, s0 < 10, s1 < 10 {
                // Every digit is 0...9 here, so each field is at most 4 digits: no overflow.
                var time = ClockTime(hour: h0 &* 10 &+ h1, minute: mi0 &* 10 &+ mi1)
                time.second = s0 &* 10 &+ s1
                time.hasSeconds = true
                return assemble(year: y0 &* 1000 &+ y1 &* 100 &+ y2 &* 10 &+ y3, month: mo0 &* 10 &+ mo1,
                                day: d0 &* 10 &+ d1, time: time, offset: 0)
            }
        }
        guard let year = s.fixedDigits(4) else { return nil }
        if s.atEnd { return Parsed(seconds: startOfDay(year: year, month: 1, day: 1), unit: .year) }
        guard s.eat(UInt8(ascii: "-")), let month = s.fixedDigits(2), month >= 1, month <= 12 else { return nil }
        if s.atEnd { return Parsed(seconds: startOfDay(year: year, month: month, day: 1), unit: .month) }
        guard s.eat(UInt8(ascii: "-")), let day = s.fixedDigits(2) else { return nil }
        if s.atEnd { return assemble(year: year, month: month, day: day, time: nil, offset: 0) }
        let separator = s.peek()
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ")
        else { return nil }
        s.advance()
        guard let hour = s.fixedDigits(2), s.eat(UInt8(ascii: ":")), let minute = s.fixedDigits(2) else {
            return nil
        }
        var time = ClockTime(hour: hour, minute: minute)
        if s.eat(UInt8(ascii: ":")) {
            guard let second = s.fixedDigits(2), parseFraction(&s, into: &time) else { return nil }
            time.second = second
            time.hasSeconds = true
        }
        guard let offset = parseTrailingZone(&s) else { return nil }
        return assemble(year: year, month: month, day: day, time: time, offset: offset)
    }

    /// `YYYYMMDD` or `YYYYMMDD(T|t)HHMM[SS[(.|,)F+]][zone]`; the scanner is at the year.
    private static func parseISOBasic(_ s: inout DateScanner) -> Parsed? {
        guard let year = s.fixedDigits(4), let month = s.fixedDigits(2), let day = s.fixedDigits(2) else {
            return nil
        }
        if s.atEnd { return assemble(year: year, month: month, day: day, time: nil, offset: 0) }
        guard s.eat(UInt8(ascii: "T")) || s.eat(UInt8(ascii: "t")),
              let hour = s.fixedDigits(2), let minute = s.fixedDigits(2)
        else { return nil }
        var time = ClockTime(hour: hour, minute: minute)
        if isDigit(s.peek()) {
            guard let second = s.fixedDigits(2), parseFraction(&s, into: &time) else { return nil }
            time.second = second
            time.hasSeconds = true
        }
        guard let offset = parseTrailingZone(&s) else { return nil }
        return assemble(year: year, month: month, day: day, time: time, offset: offset)
    }

    /// Optional `.digits` or `,digits` after the seconds (at least one digit), truncated; false if malformed.
    @inline(__always)
    private static func parseFraction(_ s: inout DateScanner, into time: inout ClockTime) -> Bool {
        let mark = s.peek()
        guard mark == UInt8(ascii: ".") || mark == UInt8(ascii: ",") else { return true }
        guard isDigit(s.peek(1)) else { return false }
        s.advance()
        while true {
            let b = s.peek()
            guard isDigit(b) else { break }
            if b != UInt8(ascii: "0") { time.fractionNonZero = true }
            s.advance()
        }
        return true
    }

    /// After an ISO time: end of input (UTC), or optional spaces, a zone, end of input.
    @inline(__always)
    private static func parseTrailingZone(_ s: inout DateScanner) -> Int? {
        if s.atEnd { return 0 }
        s.skipSpaces()
        guard let offset = parseZone(&s), s.atEnd else { return nil }
        return offset
    }

    // MARK: Zones

    /// A zone at the scanner: `Z`, `±HH`, `±HHMM`, `±HH:MM` (up to ±23:59) or a zone name. Returns the offset
    /// in seconds east of UTC.
    private static func parseZone(_ s: inout DateScanner) -> Int? {
        let b = s.peek()
        if b == UInt8(ascii: "+") || b == UInt8(ascii: "-") {
            s.advance()
            guard let hours = s.fixedDigits(2), hours <= 23 else { return nil }
            var minutes = 0
            if s.eat(UInt8(ascii: ":")) {
                guard let m = s.fixedDigits(2) else { return nil }
                minutes = m
            } else if isDigit(s.peek()) {
                guard let m = s.fixedDigits(2) else { return nil }
                minutes = m
            }
            guard minutes <= 59 else { return nil }
            let offset = hours &* 3600 &+ minutes &* 60  // <= 86340
            return b == UInt8(ascii: "-") ? -offset : offset
        }
        if (b | 0x20) == UInt8(ascii: "z") && !isLetter(s.peek(1)) {  // fast path for the common `Z`
            s.advance()
            return 0
        }
        guard isLetter(b), case .zone(let offset)? = DateWords.lookup(s.readWord()) else { return nil }
        return offset
    }

    // MARK: Mail, news and prose dates

    /// RFC 2822/822/850, asctime and news styles; the scanner is at a letter or at a 1-2 digit number.
    private static func parseText(_ s: inout DateScanner) -> Parsed? {
        var year = 0
        var month = 0
        var day = 0
        var time: ClockTime?
        var offset = 0
        var haveZone = false

        // Optional day of the week (not checked against the date, as mail readers do), or the month.
        var monthFirst = false
        if isLetter(s.peek()) {
            switch DateWords.lookup(s.readWord()) {
            case .weekday?:
                _ = s.eat(UInt8(ascii: "."))
                s.skipSpaces()
                if s.eat(UInt8(ascii: ",")) { s.skipSpaces() }
                if isLetter(s.peek()) {
                    guard case .month(let m)? = DateWords.lookup(s.readWord()) else { return nil }
                    month = m
                    monthFirst = true
                }
            case .month(let m)?:
                month = m
                monthFirst = true
            default:
                return nil
            }
        }

        if monthFirst {
            // "February 25, 2026", "Feb. 25 2026", "Nov  6 08:49:37 1994", "Wed Feb 25 14:03:07 UTC 2026".
            _ = s.eat(UInt8(ascii: "."))
            guard s.skipSpaces() > 0, let d = s.digits(maxCount: 2), skipOrdinalSuffix(&s) else { return nil }
            day = d
            let comma = s.eat(UInt8(ascii: ","))
            guard s.skipSpaces() > 0 || comma else { return nil }
            if !comma && looksLikeTime(s) {
                // asctime / date(1): MONTH DAY TIME [ZONE] YEAR
                guard let t = parseClock(&s) else { return nil }
                time = t
                guard s.skipSpaces() > 0 else { return nil }
                if !isDigit(s.peek()) {
                    guard let z = parseZone(&s), s.skipSpaces() > 0 else { return nil }
                    offset = z
                    haveZone = true
                }
            }
            guard let y = parseYear(&s, allowShort: false) else { return nil }
            year = y
        } else {
            // "09 Nov 1994", "9-Nov-94" (RFC 850), "25 February 2026", "25th Feb. 2026".
            guard let d = s.digits(maxCount: 2), skipOrdinalSuffix(&s) else { return nil }
            day = d
            let hyphenated = s.eat(UInt8(ascii: "-"))
            guard hyphenated || s.skipSpaces() > 0,
                  isLetter(s.peek()), case .month(let m)? = DateWords.lookup(s.readWord())
            else { return nil }
            month = m
            if hyphenated {
                guard s.eat(UInt8(ascii: "-")) else { return nil }
            } else {
                _ = s.eat(UInt8(ascii: "."))
                guard s.skipSpaces() > 0 else { return nil }
            }
            guard let y = parseYear(&s, allowShort: true) else { return nil }
            year = y
        }

        // Optional time: [spaces] [","] [spaces] ["at" spaces] clock.
        if time == nil {
            let mark = s.i
            s.skipSpaces()
            if s.eat(UInt8(ascii: ",")) { s.skipSpaces() }
            if isLetter(s.peek()) {
                if case .at? = DateWords.lookup(s.readWord()), s.skipSpaces() > 0 {} else { s.i = mark }
            }
            if s.i != mark && isDigit(s.peek()) {
                guard let t = parseClock(&s) else { return nil }
                time = t
            } else {
                s.i = mark
            }
        }

        // Optional zone, only after a time.
        if time != nil && !haveZone {
            let mark = s.i
            s.skipSpaces()
            let b = s.peek()
            if s.i != mark && (b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || isLetter(b)) {
                guard let z = parseZone(&s) else { return nil }
                offset = z
            } else {
                s.i = mark
            }
        }

        // Trailing comments such as "(EST)" or "(GMT+01:00)" are ignored.
        while true {
            s.skipSpaces()
            guard s.peek() == UInt8(ascii: "(") else { break }
            guard s.skipComment() else { return nil }
        }
        guard s.atEnd else { return nil }
        return assemble(year: year, month: month, day: day, time: time, offset: offset)
    }

    /// `H:MM`, `HH:MM[:SS[(.|,)F+]]`, then optionally `AM`/`PM`/`a.m.`/`p.m.` (converted to 24-hour time).
    private static func parseClock(_ s: inout DateScanner) -> ClockTime? {
        guard let hour = s.digits(maxCount: 2), s.eat(UInt8(ascii: ":")), let minute = s.fixedDigits(2) else {
            return nil
        }
        var time = ClockTime(hour: hour, minute: minute)
        if s.eat(UInt8(ascii: ":")) {
            guard let second = s.fixedDigits(2), parseFraction(&s, into: &time) else { return nil }
            time.second = second
            time.hasSeconds = true
        }
        let mark = s.i
        s.skipSpaces()
        guard isLetter(s.peek()) else {
            s.i = mark
            return time
        }
        let key = s.readWord()
        var isPM: Bool
        switch DateWords.lookup(key) {
        case .am?: isPM = false
        case .pm?: isPM = true
        default:
            // "a.m." / "p.m.": the word read so far is the single letter "a" or "p".
            guard key == DateWords.letterA || key == DateWords.letterP,
                  s.peek() == UInt8(ascii: "."), s.peek(1) | 0x20 == UInt8(ascii: "m")
            else {
                s.i = mark  // not a meridiem: perhaps a zone name
                return time
            }
            s.advance(2)
            _ = s.eat(UInt8(ascii: "."))
            isPM = key == DateWords.letterP
        }
        guard time.hour >= 1 && time.hour <= 12 else { return nil }
        if isPM {
            if time.hour != 12 { time.hour &+= 12 }
        } else if time.hour == 12 {
            time.hour = 0
        }
        return time
    }

    /// Whether the scanner is at `D:` or `DD:` (a clock rather than a year).
    @inline(__always)
    private static func looksLikeTime(_ s: DateScanner) -> Bool {
        guard isDigit(s.peek()) else { return false }
        return s.peek(1) == UInt8(ascii: ":") || (isDigit(s.peek(1)) && s.peek(2) == UInt8(ascii: ":"))
    }

    /// Skips "st", "nd", "rd" or "th" directly after a day number; false if other letters follow it.
    @inline(__always)
    private static func skipOrdinalSuffix(_ s: inout DateScanner) -> Bool {
        guard isLetter(s.peek()) else { return true }
        if case .ordinal? = DateWords.lookup(s.readWord()) { return true }
        return false
    }

    /// A year of 4 digits; with `allowShort`, also 2 digits (00-49 → 2000-2049, 50-99 → 1950-1999) and
    /// 3 digits (+1900), the RFC 2822 obsolete-syntax rules.
    private static func parseYear(_ s: inout DateScanner, allowShort: Bool) -> Int? {
        let start = s.i
        guard let value = s.digits(maxCount: 4) else { return nil }
        switch s.i &- start {
        case 4: return value
        case 2 where allowShort: return value < 50 ? 2000 &+ value : 1900 &+ value
        case 3 where allowShort: return 1900 &+ value
        default: return nil
        }
    }

    // MARK: Assembly

    struct ClockTime {
        var hour: Int
        var minute: Int
        var second = 0
        var hasSeconds = false
        var fractionNonZero = false
    }

    @inline(__always)
    private static func startOfDay(year: Int, month: Int, day: Int) -> Int64 {
        // year 0...9999, month 1...12, day 1...31 (checked by callers): |days| < 3e6, |seconds| < 3e11.
        Int64(CivilDate.daysFromCivilUnchecked(year: year, month: month, day: day)) &* 86_400
    }

    /// Validates every field, then combines them. `year` must be 0...9999 (at most 4 digits were read) and
    /// |offset| <= 86340 (checked by `parseZone`).
    @inline(__always)
    private static func assemble(year: Int, month: Int, day: Int, time: ClockTime?, offset: Int) -> Parsed? {
        guard month >= 1, month <= 12, day >= 1, day <= CivilDate.daysInMonth(year: year, month: month) else {
            return nil
        }
        let midnight = startOfDay(year: year, month: month, day: day)
        guard let time else { return Parsed(seconds: midnight, unit: .day) }
        guard time.minute <= 59, time.second <= 60 else { return nil }
        // 24:00[:00[.000]] is the start of the next day (ISO 8601); 24 with anything else is invalid.
        guard time.hour <= 23 || (time.hour == 24 && time.minute == 0 && time.second == 0 && !time.fractionNonZero)
        else { return nil }
        let second = time.second == 60 ? 59 : time.second  // leap second
        // Each term is now small (< 90000), and |midnight| < 3e11: no overflow.
        let clock = time.hour &* 3600 &+ time.minute &* 60 &+ second &- offset
        return Parsed(seconds: midnight &+ Int64(clock), unit: time.hasSeconds ? .second : .minute)
    }

    // MARK: Byte classes

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    @inline(__always)
    static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- UInt8(ascii: "a") < 26 }

    @inline(__always)
    static func isSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || (b >= 0x09 && b <= 0x0D)  // space, \t \n \v \f \r
    }
}

// MARK: - Scanner

/// A cursor over `bytes[i..<end]`. Reads at or past `end` yield 0, which belongs to no byte class the
/// grammar accepts, so a read past the end can never be mistaken for input. `end <= bytes.count` always.
struct DateScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var i: Int
    let end: Int

    @inline(__always) var atEnd: Bool { i >= end }

    /// The byte `offset` positions ahead (offset >= 0, small), or 0 past the end.
    @inline(__always)
    func peek(_ offset: Int = 0) -> UInt8 {
        let j = i &+ offset  // i <= end + 1 and offset <= 8: cannot wrap
        return j < end ? bytes[j] : 0
    }

    @inline(__always)
    mutating func advance(_ count: Int = 1) { i &+= count }  // only after peeks proved the bytes exist

    @inline(__always)
    mutating func eat(_ b: UInt8) -> Bool {
        guard peek() == b else { return false }
        i &+= 1
        return true
    }

    /// Skips ASCII whitespace; returns how many bytes it skipped.
    @inline(__always)
    @discardableResult
    mutating func skipSpaces() -> Int {
        let start = i
        while i < end && DateParser.isSpace(bytes[i]) { i &+= 1 }
        return i &- start
    }

    /// Exactly `count` (<= 4) digits.
    @inline(__always)
    mutating func fixedDigits(_ count: Int) -> Int? {
        var value = 0
        var k = 0
        while k < count {
            let d = peek(k) &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            value = value &* 10 &+ Int(d)  // at most 4 digits: < 10000
            k &+= 1
        }
        i &+= count
        return value
    }

    /// A run of 1...maxCount (<= 4) digits; nil if the run is empty or longer. Consumes the run.
    @inline(__always)
    mutating func digits(maxCount: Int) -> Int? {
        var value = 0
        var count = 0
        while i < end {
            let d = bytes[i] &- UInt8(ascii: "0")
            guard d < 10 else { break }
            if count < maxCount { value = value &* 10 &+ Int(d) }  // at most 4 digits accumulate: < 10000
            count &+= 1
            i &+= 1
        }
        return count >= 1 && count <= maxCount ? value : nil
    }

    /// Reads a run of ASCII letters, returning its `DateWords` key (0, matching nothing, if longer than 12).
    @inline(__always)
    mutating func readWord() -> UInt64 {
        var key: UInt64 = 0
        var length = 0
        while i < end {
            let code = (bytes[i] | 0x20) &- UInt8(ascii: "a")
            guard code < 26 else { break }
            if length < 12 { key = key << 5 | UInt64(code &+ 1) }
            length &+= 1
            i &+= 1
        }
        return length <= 12 ? key : 0
    }

    /// Skips a parenthesized comment (nesting and backslash escapes allowed); false if it is not closed.
    mutating func skipComment() -> Bool {
        var depth = 0
        while i < end {
            switch bytes[i] {
            case UInt8(ascii: "("): depth &+= 1           // depth <= input length
            case UInt8(ascii: ")"):
                depth &-= 1
                if depth == 0 {
                    i &+= 1
                    return true
                }
            case UInt8(ascii: "\\"): i &+= 1             // skip the escaped byte (if any)
            default: break
            }
            i &+= 1
        }
        return false
    }
}

// MARK: - Words

/// Month, weekday and zone names and the other words of prose dates, matched case-insensitively.
enum DateWords {
    enum Word: Sendable, Equatable {
        case month(Int)
        case weekday
        case zone(Int)  // seconds east of UTC
        case am, pm, at, ordinal
    }

    /// Keys of the single letters "a" and "p" (for "a.m." / "p.m.").
    static let letterA: UInt64 = 1
    static let letterP: UInt64 = 16

    /// Packs up to 12 ASCII letters, 5 bits each (a = 1 ... z = 26), case-insensitively, as
    /// `DateScanner.readWord` does. Used to derive and check the constants in `lookup`.
    static func key(_ word: String) -> UInt64 {
        var key: UInt64 = 0
        for b in word.utf8.prefix(12) { key = key << 5 | UInt64(((b | 0x20) &- UInt8(ascii: "a") &+ 1) & 31) }
        return key
    }

    /// The word with this key. The constants are `key(word)` for the words named in each comment (a switch
    /// compiles to a branch tree: no table, no global initialization); DateParsingTests checks every word.
    /// Zones: RFC 822's (UT, GMT, Z and the North American zones; CST is US Central) plus common unambiguous
    /// abbreviations; ambiguous ones such as IST are left out, so a date using them is rejected.
    static func lookup(_ key: UInt64) -> Word? {
        switch key {
        case 0x1DB4, 0x5683, 0x2B4, 0x1A, 0x5CB4:
            return .zone(0)  // gmt, utc, ut, z, wet
        case 0x282E, 0x282EA8659:
            return .month(1)  // jan, january
        case 0x18A2, 0x31452A8659:
            return .month(2)  // feb, february
        case 0x3432, 0xD0C868:
            return .month(3)  // mar, march
        case 0x612, 0x18492C:
            return .month(4)  // apr, april
        case 0x3439:
            return .month(5)  // may
        case 0x2AAE, 0x555C5:
            return .month(6)  // jun, june
        case 0x2AAC, 0x55599:
            return .month(7)  // jul, july
        case 0x6A7, 0x353D674:
            return .month(8)  // aug, august
        case 0x4CB0, 0x99614, 0x132C285688B2:
            return .month(9)  // sep, sept, september
        case 0x3C74, 0x3C74788B2:
            return .month(10)  // oct, october
        case 0x39F6, 0x73EC5688B2:
            return .month(11)  // nov, november
        case 0x10A3, 0x21465688B2:
            return .month(12)  // dec, december
        case 0x35EE, 0x52A5, 0x5CA4, 0x5115, 0x1A49, 0x4C34, 0x4EAE,  // mon, tue, wed, thu, fri, sat, sun
             0x1AF71039, 0xA54B3, 0x52A599039, 0x17291C599039,           // monday, tues, tuesday, wednesday
             0xA22B2, 0x1445653, 0xA22B299039, 0xD249039,                // thur, thurs, thursday, friday
             0x9869591039, 0x27571039:                                   // saturday, sunday
            return .weekday
        case 0x1674, 0xC94:
            return .zone(-5 * 3600)  // est, cdt
        case 0x1494, 0x674:
            return .zone(-4 * 3600)  // edt, ast
        case 0xE74, 0x3494:
            return .zone(-6 * 3600)  // cst, mdt
        case 0x3674, 0x4094:
            return .zone(-7 * 3600)  // mst, pdt
        case 0x4274, 0xAC94:
            return .zone(-8 * 3600)  // pst, akdt
        case 0x2D:
            return .am  // am
        case 0x20D:
            return .pm  // pm
        case 0x34:
            return .at  // at
        case 0x274, 0x1C4, 0x244, 0x288:
            return .ordinal  // st, nd, rd, th
        case 0x494:
            return .zone(-3 * 3600)  // adt
        case 0xAE74:
            return .zone(-9 * 3600)  // akst
        case 0x2274:
            return .zone(-10 * 3600)  // hst
        case 0xB9674, 0xA74, 0xCB4, 0x34B4:
            return .zone(1 * 3600)  // west, bst, cet, met
        case 0x19674, 0x69674, 0x14B4:
            return .zone(2 * 3600)  // cest, mest, eet
        case 0x29674:
            return .zone(3 * 3600)  // eest
        case 0x2A74:
            return .zone(9 * 3600)  // jst
        case 0x9674:
            return .zone(10 * 3600)  // aest
        case 0x9494:
            return .zone(11 * 3600)  // aedt
        case 0x76A74:
            return .zone(12 * 3600)  // nzst
        case 0x76894:
            return .zone(13 * 3600)  // nzdt
        default:
            return nil
        }
    }
}

// MARK: - Formatting

/// ISO 8601 / RFC 3339 rendering of Unix seconds in UTC.
public enum ISODate {
    /// "2026-02-25T14:03:00Z". Years outside 0000-9999 use the ISO 8601 expanded form ("+10000-…",
    /// "-0001-…"), which `DateParser` does not accept. Defined for every Int64.
    public static func format(_ seconds: Int64) -> String { render(seconds, withTime: true) }

    /// "2026-02-25" (the UTC day), with the same year rules as `format`.
    public static func formatDay(_ seconds: Int64) -> String { render(seconds, withTime: false) }

    private static func render(_ seconds: Int64, withTime: Bool) -> String {
        var days = seconds / 86_400  // cannot overflow for a positive divisor
        var secondOfDay = Int(seconds % 86_400)
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1  // |days| <= 1.1e14
        }
        let (year, month, day) = CivilDate.civilFromDays(Int(days))
        // Longest output: sign + 20 digits + "-MM-DD" + "THH:MM:SSZ" = 37 bytes.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { buffer in
            var n = 0
            func put(_ b: UInt8) {
                buffer[n] = b
                n += 1
            }
            func put2(_ v: Int) {
                put(UInt8(truncatingIfNeeded: 48 + v / 10))
                put(UInt8(truncatingIfNeeded: 48 + v % 10))
            }
            if year < 0 || year > 9999 { put(year < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")) }
            // Digits of |year|, at least 4, written from the right.
            var magnitude = year.magnitude
            var width = 1
            var probe = magnitude / 10
            while probe > 0 {
                width += 1
                probe /= 10
            }
            width = max(width, 4)
            var k = n + width
            while k > n {
                k -= 1
                buffer[k] = UInt8(truncatingIfNeeded: 48 + magnitude % 10)
                magnitude /= 10
            }
            n += width
            put(UInt8(ascii: "-")); put2(month)
            put(UInt8(ascii: "-")); put2(day)
            if withTime {
                put(UInt8(ascii: "T")); put2(secondOfDay / 3600)
                put(UInt8(ascii: ":")); put2(secondOfDay / 60 % 60)
                put(UInt8(ascii: ":")); put2(secondOfDay % 60)
                put(UInt8(ascii: "Z"))
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)
        }
    }
}
