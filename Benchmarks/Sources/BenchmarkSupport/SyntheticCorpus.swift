// Shared by the benchmark suites: a synthetic corpus (JSON Lines with a Zipfian vocabulary) in a temporary folder.

#if canImport(Glibc)
    import Glibc
#endif

struct CorpusError: Error {
    var message: String
}

/// A corpus file in a temporary directory.
public struct CorpusFile: Sendable {
    public var directory: String
    public var path: String
}

public enum SyntheticCorpus {
    /// The word of a frequency rank (0 = the most frequent).
    public static func word(rank: Int) -> String {
        let syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pa", "do", "re"]
        var w = ""
        var k = rank + 1
        while k > 0 {
            w += syllables[k % syllables.count]
            k /= syllables.count
        }
        return w
    }

    /// Writes `documents` JSON lines with a Zipfian vocabulary; returns where.
    public static func write(documents: Int, seed: UInt64) throws -> CorpusFile {
        var template = Array("/tmp/quarry-bench-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard let made else {
            throw CorpusError(message: "cannot create a temporary directory")
        }
        let dir = String(cString: made)
        let path = dir + "/corpus.jsonl"
        let f = fopen(path, "w")
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let vocabulary = (0..<20_000).map { SyntheticCorpus.word(rank: $0) }
        func word() -> String {
            // Zipf(~1) by inverse transform on a log scale.
            let u = Double(next() % 1_000_000) / 1_000_000
            let r = Int(exp(u * log(Double(vocabulary.count))))
            return vocabulary[min(r, vocabulary.count) - 1]
        }
        for i in 0..<documents {
            let title = (0..<(4 + Int(next() % 6))).map { _ in word() }.joined(separator: " ")
            let body = (0..<(50 + Int(next() % 300))).map { _ in word() }.joined(separator: " ")
            let line = "{\"id\":\"d\(i)\",\"date\":\"20\(10 + i % 15)-0\(1 + i % 9)-1\(i % 10)T10:00:00Z\",\"title\":\"\(title)\",\"body\":\"\(body)\"}\n"
            fputs(line, f)
        }
        fclose(f)
        return CorpusFile(directory: dir, path: path)
    }
}

/// Removes a directory of files.
public func removeTree(_ dir: String) {
    guard let d = opendir(dir) else { return }
    while let e = readdir(d) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
            String(decoding: raw.bindMemory(to: UInt8.self).prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { unlink(dir + "/" + name) }
    }
    closedir(d)
    rmdir(dir)
}
