// Shared helpers for tests: temporary directories, seeded random numbers, a random corpus with a naive model of
// its analysis, file helpers, child processes and output capture.
//
// This target is an ordinary library (it is built by `swift build` in every configuration), so it uses only
// Quarry's public API: `@testable import` would break release builds. Everything here is `public` for both test
// targets.

import Quarry
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - Seeded randomness

/// SplitMix64 (Steele, Lea and Flood 2014): a tiny, fast generator whose whole state is its seed, so a failing
/// test can be replayed from the seed it prints.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    /// The seed this generator started from (print it in failure messages).
    public let seed: UInt64
    private var state: UInt64

    /// Creates a generator from `seed`.
    public init(seed: UInt64) {
        self.seed = seed
        self.state = seed
    }

    /// A generator seeded from `$QUARRY_TEST_SEED` if it is set (to replay a failure), else from `fallback`.
    public init(seedFromEnvironmentOr fallback: UInt64) {
        if let raw = getenv("QUARRY_TEST_SEED"), let s = UInt64(String(cString: raw)) {
            self.init(seed: s)
        } else {
            self.init(seed: fallback)
        }
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// "seed N" for failure messages.
    public var seedDescription: String { "seed \(seed) (replay with QUARRY_TEST_SEED=\(seed))" }

    /// A value in `0..<bound` with a bias toward small values: the bit width is uniform, then the value within it.
    public mutating func skewed(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let maxBits = 64 - (bound - 1).leadingZeroBitCount
        let bits = Int.random(in: 0...maxBits, using: &self)
        let v = bits == 0 ? 0 : (bits == 64 ? next() : next() & ((1 << UInt64(bits)) - 1))
        return v % bound
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool {
        Double.random(in: 0..<1, using: &self) < p
    }

    /// Random bytes.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

// MARK: - Temporary directories and files

/// A fresh directory under /tmp, removed with everything in it when the object goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The directory's path.
    public let path: String

    /// Creates `/tmp/quarry-<prefix>-XXXXXX`.
    public init(_ prefix: String = "test") {
        var template = Array("/tmp/quarry-\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: errno \(errno)")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit { removeTree(path) }

    /// `path/name`.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Creates a subdirectory (and its parents) and returns its path.
    @discardableResult
    public func makeDirectory(_ name: String) -> String {
        let p = file(name)
        makeDirectories(p)
        return p
    }
}

/// `mkdir -p`.
public func makeDirectories(_ path: String) {
    var prefix = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        prefix += "/" + part
        mkdir(prefix, 0o755)
    }
}

/// `rm -rf`.
public func removeTree(_ path: String) {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }
    if (st.st_mode & S_IFMT) == S_IFDIR {
        for name in listDirectory(path) { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// The names in a directory (without `.` and `..`), sorted.
public func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// Writes `bytes` to `path` (created or truncated).
public func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "cannot create \(path): errno \(errno)")
    defer { close(fd) }
    var done = 0
    bytes.withUnsafeBytes { raw in
        while done < raw.count {
            let n = write(fd, raw.baseAddress! + done, raw.count - done)
            precondition(n > 0, "cannot write \(path): errno \(errno)")
            done += n
        }
    }
}

/// Writes `text` to `path`.
public func writeFile(_ path: String, _ text: String) {
    writeFile(path, Array(text.utf8))
}

/// The bytes of `path` (empty if it cannot be read).
public func readFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

/// The size of `path`, or nil if it does not exist.
public func fileSize(_ path: String) -> Int? {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : nil
}

/// True if `path` exists.
public func fileExists(_ path: String) -> Bool { fileSize(path) != nil }

/// Truncates `path` to `length` bytes.
public func truncateFile(_ path: String, to length: Int) {
    precondition(truncate(path, off_t(length)) == 0, "cannot truncate \(path): errno \(errno)")
}

/// XORs the byte at `offset` of `path` with `mask` (0xFF by default).
public func flipByte(_ path: String, at offset: Int, mask: UInt8 = 0xFF) {
    var bytes = readFile(path)
    precondition(
        offset >= 0 && offset < bytes.count, "flipByte: offset \(offset) outside \(path) (\(bytes.count) bytes)")
    bytes[offset] ^= mask
    writeFile(path, bytes)
}

/// Copies every regular file of directory `from` into directory `to` (not recursive).
public func copyDirectory(_ from: String, to: String) {
    makeDirectories(to)
    for name in listDirectory(from) {
        var st = stat()
        if stat(from + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG {
            writeFile(to + "/" + name, readFile(from + "/" + name))
        }
    }
}

// MARK: - Counters

/// A thread-safe counter for `@Sendable` hooks (such as `IndexOptions.isInterrupted`).
public final class AtomicCounter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    /// Adds one and returns the new value.
    @discardableResult
    public func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
    public var current: Int { value.load(ordering: .relaxed) }
}

// MARK: - Errors

/// The `QuarryError` that `body` throws, or nil if it returns (or throws something else, which is recorded in the
/// returned value's absence; tests then fail on the expected code).
public func thrownQuarryError<R>(_ body: () throws -> R) -> QuarryError? {
    do {
        _ = try body()
        return nil
    } catch let e as QuarryError {
        return e
    } catch {
        return QuarryError(.io, "not a QuarryError: \(error)")
    }
}

// MARK: - Child processes and captured output

/// Runs `arguments[0]` (looked up in PATH) with its standard input and output redirected to files.
/// - Returns: the exit status (or -1 if the program could not be started).
@discardableResult
public func runProcess(_ arguments: [String], stdin: String? = nil, stdout: String? = nil) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let stdin { posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0) }
    if let stdout { posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid = pid_t()
    let r = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
    guard r == 0 else { return -1 }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // WIFEXITED / WEXITSTATUS by hand (the macros are not imported).
    return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1
}

/// What a captured call wrote.
public struct CapturedOutput: Sendable {
    public var standardOutput: String
    public var standardError: String
}

private let captureLock = Mutex<Void>(())

/// True for a line that the test runner (swift-testing) printed: a symbol such as "◇", "✔" or "✘" and a space.
private func isTestRunnerLine(_ line: Substring) -> Bool {
    guard let first = line.unicodeScalars.first, first.value >= 0x80 else { return false }
    let category = first.properties.generalCategory
    return (category == .otherSymbol || category == .mathSymbol) && line.unicodeScalars.dropFirst().first == " "
}

/// Runs `body` with file descriptors 1 and 2 redirected to temporary files, and returns what it wrote.
///
/// The descriptors are process-wide: captures are serialized by a lock, and lines that the test runner prints
/// meanwhile (tests of other suites run in parallel and report on standard output) are taken out of the capture
/// and printed for real afterwards.
public func capturingOutput<R>(_ body: () throws -> R) rethrows -> (R, CapturedOutput) {
    try captureLock.withLock { _ in
        let dir = TemporaryDirectory("capture")
        let outPath = dir.file("stdout")
        let errPath = dir.file("stderr")
        let outFD = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        let errFD = open(errPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        fflush(nil)
        let savedOut = dup(1)
        let savedErr = dup(2)
        dup2(outFD, 1)
        dup2(errFD, 2)
        close(outFD)
        close(errFD)
        var restored = false
        func restore() {
            if restored { return }
            restored = true
            fflush(nil)
            dup2(savedOut, 1)
            dup2(savedErr, 2)
            close(savedOut)
            close(savedErr)
        }
        defer { restore() }
        let result = try body()
        restore()
        var runnerLines: [Substring] = []
        func split(_ path: String) -> String {
            let text = String(decoding: readFile(path), as: UTF8.self)
            var kept: [Substring] = []
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if isTestRunnerLine(line) { runnerLines.append(line) } else { kept.append(line) }
            }
            return kept.joined(separator: "\n")
        }
        let captured = CapturedOutput(standardOutput: split(outPath), standardError: split(errPath))
        if !runnerLines.isEmpty {
            let text = runnerLines.joined(separator: "\n") + "\n"
            _ = text.utf8CString.withUnsafeBufferPointer { write(1, $0.baseAddress!, $0.count - 1) }
        }
        return (result, captured)
    }
}

// MARK: - Dates

/// Civil date arithmetic (Howard Hinnant's `days_from_civil`), independent of the engine's.
public enum TestDates {
    /// Days since 1970-01-01 of a proleptic Gregorian date.
    public static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// (year, month, day) of a day number.
    public static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for seconds since 1970 (years 0...9999).
    public static func iso(_ seconds: Int64) -> String {
        let s = Int(seconds)
        let days = s >= 0 ? s / 86_400 : -((-s + 86_399) / 86_400)
        let rem = s - days * 86_400
        let (y, m, d) = civil(days)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = String(y)
        return String(repeating: "0", count: max(0, 4 - year.count)) + year + "-\(two(m))-\(two(d))T"
            + "\(two(rem / 3600)):\(two(rem % 3600 / 60)):\(two(rem % 60))Z"
    }
}

// MARK: - A naive analyzer (the model)

/// The standard analyzer, written as plainly as possible from its definition (split on characters that are not
/// alphanumeric in Rust's sense, drop tokens of 40 UTF-8 bytes or more, lowercase each scalar with the full
/// Unicode mapping; every token takes a position, dropped or not). Tests compare the engine against it.
public enum NaiveAnalyzer {
    public struct Token: Equatable, Sendable, CustomStringConvertible {
        public var term: [UInt8]
        public var position: Int
        public var start: Int
        public var end: Int
        public init(term: [UInt8], position: Int, start: Int, end: Int) {
            self.term = term
            self.position = position
            self.start = start
            self.end = end
        }
        public init(_ term: String, _ position: Int, _ start: Int, _ end: Int) {
            self.init(term: Array(term.utf8), position: position, start: start, end: end)
        }
        public var description: String {
            "\(String(decoding: term, as: UTF8.self))@\(position)[\(start)..<\(end)]"
        }
    }

    /// Rust's `char::is_alphanumeric`: Alphabetic, or a number (Nd, Nl, No).
    public static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        if s.properties.isAlphabetic { return true }
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// The tokens of `text` and the number of positions used (kept and dropped tokens).
    public static func tokenize(_ text: String) -> (tokens: [Token], positions: Int) {
        var tokens: [Token] = []
        var position = 0
        var offset = 0
        var current: [Unicode.Scalar] = []
        var start = 0
        func finish() {
            guard !current.isEmpty else { return }
            var length = 0
            for s in current { length += String(s).utf8.count }
            if length < 40 {
                var term: [UInt8] = []
                for s in current { term += Array(s.properties.lowercaseMapping.utf8) }
                tokens.append(Token(term: term, position: position, start: start, end: start + length))
            }
            position += 1
            current = []
        }
        for s in text.unicodeScalars {
            if isAlphanumeric(s) {
                if current.isEmpty { start = offset }
                current.append(s)
            } else {
                finish()
            }
            offset += String(s).utf8.count
        }
        finish()
        return (tokens, position)
    }

    /// The terms of a field with several values, with positions: each value starts one position after the last
    /// position the previous value used (a gap of one). Also returns the field length (kept terms).
    public static func field(_ values: [String]) -> (terms: [(term: [UInt8], position: Int)], length: Int) {
        var out: [(term: [UInt8], position: Int)] = []
        var base = 0
        for v in values {
            let (tokens, positions) = tokenize(v)
            for t in tokens { out.append((t.term, base + t.position)) }
            base += positions + 1
        }
        return (out, out.count)
    }
}

// MARK: - A random corpus

/// One generated document and the values it was generated from (the model).
public struct CorpusDocument: Sendable {
    public var id: String
    /// Seconds since 1970, or nil for no date.
    public var date: Int64?
    /// How the date is written in the JSON line.
    public var dateText: String?
    /// nil: no title member at all.
    public var title: String?
    /// One value: a JSON string; several: a JSON array of strings.
    public var body: [String]
    /// Extra members copied into the JSON (not indexed).
    public var extra: [(String, String)]
    /// The JSON line (without the newline).
    public var line: String

    public init(
        id: String, date: Int64? = nil, dateText: String? = nil, title: String? = nil, body: [String] = [],
        extra: [(String, String)] = [], line: String
    ) {
        self.id = id
        self.date = date
        self.dateText = dateText
        self.title = title
        self.body = body
        self.extra = extra
        self.line = line
    }

    /// The values of a text field by ord (1 = title, 2 = body).
    public func values(_ ord: Int) -> [String] {
        ord == 1 ? (title.map { [$0] } ?? []) : (ord == 2 ? body : [])
    }
}

/// Builds seeded random documents with a small Zipfian vocabulary (so terms repeat and phrases occur), some
/// non-ASCII words, punctuation, escapes, overlong tokens, missing dates and titles, and multi-valued bodies.
public struct RandomCorpus: Sendable {
    public struct Options: Sendable {
        /// Distinct words in the vocabulary.
        public var vocabulary = 400
        /// Words per body, at most.
        public var maxBodyWords = 60
        /// Words per title, at most.
        public var maxTitleWords = 8
        /// Share of documents with no date.
        public var missingDates = 0.15
        /// Share of documents with no title.
        public var missingTitles = 0.1
        /// Share of documents whose body is an array of several strings.
        public var multiValued = 0.1
        /// Words per document that are unique to it (to grow the term count).
        public var uniqueWordsPerDocument = 0
        /// The id prefix (so that two corpora have distinct ids).
        public var idPrefix = "doc-"
        /// Escape non-ASCII characters as \u in some documents.
        public var unicodeEscapes = 0.2
        public init() {}
    }

    public let documents: [CorpusDocument]
    public let seed: UInt64

    /// A fixed vocabulary: common English words first (so the Zipf head is real words), then invented ones, with
    /// non-ASCII words spread through it.
    public static func vocabulary(_ count: Int) -> [String] {
        let head = [
            "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
            "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they",
            "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "search", "engine", "index", "running", "runs",
            "ran", "runner", "connection", "connected", "connecting", "generously", "happiness", "relational",
        ]
        let foreign = [
            "café", "naïve", "Straße", "Ελλάδα", "ΣΑΣ", "İstanbul", "東京", "日本語", "Zoë", "Zieliński", "résumé",
            "façade", "Ærø", "москва", "Ünïcödé", "١٢٣", "Ⅻ", "𐐀𐐨", "ﬁsh", "ǅemal",
        ]
        let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "qu", "bri", "dra", "fen", "gor", "hul"]
        var words = head
        var k = 0
        var f = 0
        while words.count < count {
            if words.count % 17 == 0 && f < foreign.count {
                words.append(foreign[f])
                f += 1
                continue
            }
            var w = ""
            var n = k
            repeat {
                w += syllables[n % syllables.count]
                n /= syllables.count
            } while n > 0
            words.append(w)
            k += 1
        }
        return Array(words.prefix(count))
    }

    public init(count: Int, seed: UInt64, options: Options = Options()) {
        self.seed = seed
        var rng = SeededRandom(seed: seed)
        let words = RandomCorpus.vocabulary(options.vocabulary)
        // Zipf (s = 1): cumulative weights 1/rank.
        var cumulative: [Double] = []
        var total = 0.0
        for r in 1...words.count {
            total += 1.0 / Double(r)
            cumulative.append(total)
        }
        func word(_ rng: inout SeededRandom) -> String {
            let x = Double.random(in: 0..<total, using: &rng)
            var lo = 0
            var hi = cumulative.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] > x { hi = mid } else { lo = mid + 1 }
            }
            var w = words[lo]
            if rng.chance(0.05) {
                w = w.uppercased()
            } else if rng.chance(0.05) {
                w = w.prefix(1).uppercased() + w.dropFirst()
            }
            return w
        }
        let separators = [
            " ", " ", " ", " ", " ", ", ", ". ", "-", " (", ") ", "'", "\n", "\t", "\"", "\\", " 😀 ", "/", " — ",
        ]
        func text(_ rng: inout SeededRandom, words n: Int, unique: Int, docIndex: Int) -> String {
            var s = ""
            for i in 0..<n {
                if i > 0 { s += separators[Int.random(in: 0..<separators.count, using: &rng)] }
                if rng.chance(0.01) {
                    // A token of 38...42 bytes: kept below 40, dropped at 40 or more.
                    s += String(repeating: "x", count: Int.random(in: 38...42, using: &rng))
                } else if rng.chance(0.02) {
                    s += String(Int.random(in: 0...99_999, using: &rng))
                } else if rng.chance(0.03) {
                    s += "quick brown fox"
                } else {
                    s += word(&rng)
                }
            }
            for u in 0..<unique {
                s += " u\(docIndex)x\(u)y\(String(rng.next() % 1000, radix: 36))"
            }
            return s
        }
        var docs: [CorpusDocument] = []
        for i in 0..<count {
            let id = options.idPrefix + String(i)
            var date: Int64?
            var dateText: String?
            if !rng.chance(options.missingDates) {
                switch Int.random(in: 0..<5, using: &rng) {
                case 0:
                    let d = Int64.random(in: -2_000_000_000...4_000_000_000, using: &rng)
                    date = d
                    dateText = String(d)
                case 1:
                    let day = Int64.random(in: -3000...20000, using: &rng)
                    date = day * 86_400
                    let (y, m, dd) = TestDates.civil(Int(day))
                    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
                    dateText = "\"\(y)-\(two(m))-\(two(dd))\""
                default:
                    let d = Int64.random(in: 0...1_900_000_000, using: &rng)
                    date = d
                    dateText = "\"\(TestDates.iso(d))\""
                }
            }
            let title: String? =
                rng.chance(options.missingTitles)
                ? nil
                : text(&rng, words: Int.random(in: 0...options.maxTitleWords, using: &rng), unique: 0, docIndex: i)
            var body: [String] = []
            if rng.chance(options.multiValued) {
                for _ in 0..<Int.random(in: 2...4, using: &rng) {
                    body.append(
                        text(
                            &rng, words: Int.random(in: 0...(options.maxBodyWords / 3), using: &rng), unique: 0,
                            docIndex: i))
                }
                body[0] += text(&rng, words: 0, unique: options.uniqueWordsPerDocument, docIndex: i)
            } else {
                body.append(
                    text(
                        &rng, words: Int.random(in: 1...options.maxBodyWords, using: &rng),
                        unique: options.uniqueWordsPerDocument, docIndex: i))
            }
            var extra: [(String, String)] = []
            if rng.chance(0.2) { extra.append(("section", "\"\(["world", "science", "sports"][i % 3])\"")) }
            if rng.chance(0.1) { extra.append(("tags", "[\"a\",{\"b\":[1,2.5e3,true,null]}]")) }
            let escapeUnicode = rng.chance(options.unicodeEscapes)
            // Members in a random order.
            var members: [String] = ["\"id\":" + jsonString(id, escapeUnicode: false)]
            if let dateText { members.append("\"date\":" + dateText) }
            if let title { members.append("\"title\":" + jsonString(title, escapeUnicode: escapeUnicode)) }
            if body.count == 1 {
                members.append("\"body\":" + jsonString(body[0], escapeUnicode: escapeUnicode))
            } else {
                members.append(
                    "\"body\":[" + body.map { jsonString($0, escapeUnicode: escapeUnicode) }.joined(separator: ",")
                        + "]")
            }
            for (k, v) in extra { members.append("\"\(k)\":\(v)") }
            members.shuffle(using: &rng)
            let line = "{" + members.joined(separator: rng.chance(0.3) ? ", " : ",") + "}"
            docs.append(
                CorpusDocument(
                    id: id, date: date, dateText: dateText, title: title, body: body, extra: extra, line: line))
        }
        documents = docs
    }

    /// The JSON Lines text of the corpus.
    public var jsonl: String { documents.map(\.line).joined(separator: "\n") + "\n" }

    /// Writes the corpus as JSON Lines to `path`.
    public func write(to path: String) { writeFile(path, jsonl) }
}

/// `s` as a JSON string literal; with `escapeUnicode`, every non-ASCII scalar is written as \u escapes
/// (surrogate pairs above the BMP).
public func jsonString(_ s: String, escapeUnicode: Bool = false) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 || (escapeUnicode && u.value >= 0x80) {
                for unit in String(u).utf16 {
                    let h = String(unit, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                }
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

// MARK: - Building indexes through the public API

/// Options for tests: one thread unless asked, and no merging (deterministic segments), nothing else changed.
public func testIndexOptions(threads: Int = 1, configure: (inout IndexOptions) -> Void = { _ in }) -> IndexOptions {
    var o = IndexOptions()
    o.threads = threads
    o.mergePolicy = .none
    configure(&o)
    return o
}

/// Indexes `inputs` into `directory` with a fresh writer (created with `schema` if the index is new) and closes it.
@discardableResult
public func buildIndex(
    at directory: String, inputs: [String], schema: Schema? = Schema(), options: IndexOptions = testIndexOptions()
) throws(QuarryError) -> IndexReport {
    let writer = try IndexWriter(directory: directory, schema: schema, options: options)
    defer { writer.close() }
    return try writer.index(inputs)
}

/// Writes `corpus` to `directory/name` and indexes it into `index`.
@discardableResult
public func buildIndex(
    at index: String, corpus: RandomCorpus, scratch: TemporaryDirectory, name: String = "corpus.jsonl",
    schema: Schema? = Schema(), options: IndexOptions = testIndexOptions()
) throws(QuarryError) -> IndexReport {
    let path = scratch.file(name)
    corpus.write(to: path)
    return try buildIndex(at: index, inputs: [path], schema: schema, options: options)
}

// MARK: - The quarry executable as a child process

/// The `quarry` executable built beside the test bundle (SwiftPM puts every product of the package in one
/// folder), or nil if it is not there.
public func quarryExecutable() -> String? {
    var dir = CommandLine.arguments.first ?? ""
    // The test bundle's folder: strip the bundle name (and, on Darwin, the bundle's inner path).
    while !dir.isEmpty && !dir.hasSuffix(".xctest") && dir.contains("/") {
        dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
    }
    if let slash = dir.lastIndex(of: "/") { dir = String(dir[..<slash]) }
    let path = dir + "/quarry"
    return access(path, X_OK) == 0 ? path : nil
}

/// A child process started with `spawnProcess`.
public struct ChildProcess: Sendable {
    public let pid: pid_t

    /// Sends SIGKILL.
    public func kill() { _ = Glibc.kill(pid, SIGKILL) }

    /// Waits for the process to end. - Returns: its exit status, or 128 + the signal that ended it.
    @discardableResult
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}

/// Starts `arguments[0]` (a path) with standard output and error discarded.
public func spawnProcess(_ arguments: [String]) -> ChildProcess? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid = pid_t()
    guard posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ) == 0 else { return nil }
    return ChildProcess(pid: pid)
}
