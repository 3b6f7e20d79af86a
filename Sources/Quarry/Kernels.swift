// The engine's hot kernels, for the micro-benchmarks in Benchmarks/ (a separate package). They are exposed as SPI
// (`@_spi(Benchmarks) import Quarry`) so that the engine's types stay internal: each kernel builds its fixture
// once and runs the internal code path a given number of times, returning a checksum so nothing is optimized away.

/// Benchmarkable kernels of the engine.
@_spi(Benchmarks)
public enum Kernels {
    /// Random blocks of 128 integers of one bit width, packed.
    public final class PackedBlocks: @unchecked Sendable {
        public let width: Int
        public let count: Int
        let values: UnsafeMutablePointer<UInt32>
        let packed: UnsafeMutableRawPointer
        let output: UnsafeMutablePointer<UInt32>

        public init(width: Int, blocks: Int, seed: UInt64) {
            self.width = width
            self.count = blocks
            values = .allocate(capacity: blocks * 128)
            packed = .allocate(byteCount: max(1, blocks * 16 * width), alignment: 16)
            output = .allocate(capacity: 128)
            var state = seed
            let mask: UInt32 = width == 32 ? .max : (UInt32(1) << UInt32(width)) &- 1
            for i in 0..<(blocks * 128) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                values[i] = UInt32(truncatingIfNeeded: state >> 32) & mask
            }
            for b in 0..<blocks {
                BlockCodec.pack(values + b * 128, width: width, into: packed + b * 16 * width)
            }
        }

        deinit {
            values.deallocate()
            packed.deallocate()
            output.deallocate()
        }

        /// Unpacks every block once; returns a checksum.
        public func unpackAll() -> UInt32 {
            var sum: UInt32 = 0
            for b in 0..<count {
                BlockCodec.unpack(packed + b * 16 * width, width: width, into: output)
                sum &+= output[b & 127]
            }
            return sum
        }

        /// Unpacks and prefix-sums every block as doc ids are decoded (deltas less one); returns a checksum.
        public func unpackDeltasAll() -> UInt32 {
            var sum: UInt32 = 0
            for b in 0..<count {
                BlockCodec.unpack(packed + b * 16 * width, width: width, into: output)
                BlockCodec.prefixSumOfIncrements128(output, base: sum)
                sum = output[127]
            }
            return sum
        }

        /// Packs every block once; returns a checksum.
        public func packAll() -> Int {
            var sum = 0
            for b in 0..<count {
                BlockCodec.pack(values + b * 128, width: width, into: packed + b * 16 * width)
                sum &+= Int(packed.load(fromByteOffset: b * 16 * width, as: UInt8.self))
            }
            return sum
        }
    }

    /// Analyzes `text` (the default or English analyzer); returns the number of terms.
    public static func analyze(_ text: [UInt8], english: Bool) -> Int {
        var analyzer = Analyzer(english ? .english : .standard, bulk: true)
        var n = 0
        text.withUnsafeBufferPointer { buf in
            _ = analyzer.analyze(buf) { term, _, _, _ in n &+= term.count }
        }
        return n
    }

    /// Parses JSON lines into documents; returns a checksum.
    public static func parseJSONLines(_ lines: [[UInt8]]) -> Int {
        var parser = JSONLineParser(schema: Schema(), lossy: false)
        var doc = Document(textFieldCount: 2)
        var n = 0
        for line in lines {
            line.withUnsafeBufferPointer { buf in
                if (try? parser.parse(buf, into: &doc, autoID: nil)) != nil { n &+= doc.text[1].count }
            }
        }
        return n
    }

    /// Iterates every posting of a term (field ord, analyzed term) in every segment; returns the sum of frequencies.
    public static func iteratePostings(_ reader: IndexReader, field: Int, term: String) throws -> Int {
        var sum = 0
        for s in reader.segments {
            guard let info = try s.terms.lookup(field, Array(term.utf8)) else { continue }
            let it = s.postingsIterator(field, info, withPositions: false)
            var d = it.doc
            while d != terminated {
                sum &+= Int(it.freq)
                d = it.next()
            }
        }
        return sum
    }

    /// Advances a term's postings to each target in turn (targets increasing); returns a checksum.
    public static func advancePostings(_ reader: IndexReader, field: Int, term: String, step: UInt32) throws -> Int {
        var sum = 0
        for s in reader.segments {
            guard let info = try s.terms.lookup(field, Array(term.utf8)) else { continue }
            let it = s.postingsIterator(field, info, withPositions: false)
            var target: UInt32 = 0
            while true {
                let d = it.advance(to: target)
                if d == terminated { break }
                sum &+= Int(d)
                target = d &+ step
            }
        }
        return sum
    }

    /// Looks terms up in every segment's dictionary; returns how many were found.
    public static func lookupTerms(_ reader: IndexReader, field: Int, terms: [[UInt8]]) throws -> Int {
        var found = 0
        for s in reader.segments {
            for t in terms {
                if try s.terms.lookup(field, t) != nil { found += 1 }
            }
        }
        return found
    }

    /// Scores `count` (tf, norm) pairs with BM25; returns the sum.
    public static func scoreBM25(count: Int) -> Float {
        let w = FieldWeight(idf: 2.5, avgLength: 120)
        var sum: Float = 0
        var tf: UInt32 = 1
        var norm: UInt8 = 17
        for _ in 0..<count {
            sum += w.score(tf: tf, norm: norm)
            tf = tf & 7 + 1
            norm = norm &+ 37
        }
        return sum
    }

    /// Reads `count` stored documents spread over the index; returns the total bytes.
    public static func readStoredDocuments(_ reader: IndexReader, count: Int) throws -> Int {
        var total = 0
        var stores: [StoreReader] = []
        for s in reader.segments { stores.append(try s.makeStoreReader()) }
        var k = 0
        for i in 0..<count {
            let s = i % reader.segments.count
            let docs = reader.segments[s].docCount
            if docs == 0 { continue }
            k = (k &+ 7919) % docs
            total += try stores[s].withDocument(k) { $0.count }
        }
        return total
    }
}
