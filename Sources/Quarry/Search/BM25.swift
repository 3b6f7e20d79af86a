// BM25, as Tantivy computes it (Float32 throughout, the same operation order):
//
//     idf(n, N)   = ln(1 + (N - n + 0.5) / (n + 0.5))
//     weight      = idf * (1 + k1)                       (a phrase uses the sum of its terms' idf)
//     cache[norm] = k1 * ((1 - b) + b * length(norm) / avgLength)
//     score       = weight * (tf / (tf + cache[norm]))
//
// with k1 = 1.2, b = 0.75, N = documents in the index, n = documents holding the term (over all segments),
// length(norm) the quantized length of the document's field (FieldNorm), and avgLength the field's total terms
// over N. The cache has one entry per norm byte, so scoring a posting is a load, an add, a divide and a multiply.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

enum BM25 {
    static let k1: Float = 1.2
    static let b: Float = 0.75

    /// The inverse document frequency of a term held by `docFreq` of `docCount` documents.
    static func idf(docFreq: Int, docCount: Int) -> Float {
        let n = Float(docFreq)
        let x = (Float(max(docCount - docFreq, 0)) + 0.5) / (n + 0.5)
        return logf(1 + x)
    }

    /// The 256 length factors of a field with average length `avgLength`.
    static func lengthCache(avgLength: Float) -> [Float] {
        (0..<256).map { norm in
            let dl = Float(FieldNorm.decode(UInt8(norm)))
            return k1 * ((1 - b) + b * dl / avgLength)
        }
    }

    @inline(__always)
    static func score(weight: Float, tf: Float, lengthFactor: Float) -> Float {
        weight * (tf / (tf + lengthFactor))
    }
}

/// The 256 length factors of one field (`k1 * (1 - b + b * dl / avgdl)` for each norm byte): the same for every
/// term of the field, so an index reader computes them once per field rather than every query per term.
final class LengthFactors: @unchecked Sendable {
    let avgLength: Float
    /// 256 values, written once in `init` and only read after (hence Sendable).
    let values: UnsafeMutablePointer<Float>

    init(avgLength: Float) {
        self.avgLength = avgLength
        values = .allocate(capacity: 256)
        let computed = BM25.lengthCache(avgLength: avgLength)
        for i in 0..<256 { values[i] = computed[i] }
    }

    deinit { values.deallocate() }
}

/// Everything needed to score one field for one term (or phrase), bound to an index's statistics.
final class FieldWeight: @unchecked Sendable {
    let weight: Float
    let idf: Float
    let avgLength: Float
    /// The query's boost of this leaf (1 unless `^` or a field boost says otherwise).
    let boost: Float
    /// Keeps `cache` alive.
    private let factors: LengthFactors
    let cache: UnsafeMutablePointer<Float>

    /// - Parameter boost: multiplies every score, as Tantivy's `Bm25Weight::boost_by` (idf * (1 + k1) * boost).
    init(idf: Float, lengthFactors: LengthFactors, boost: Float = 1) {
        self.idf = idf
        self.boost = boost
        self.weight = idf * (1 + BM25.k1) * boost
        self.avgLength = lengthFactors.avgLength
        factors = lengthFactors
        cache = lengthFactors.values
    }

    convenience init(idf: Float, avgLength: Float, boost: Float = 1) {
        self.init(idf: idf, lengthFactors: LengthFactors(avgLength: avgLength), boost: boost)
    }

    @inline(__always)
    func score(tf: UInt32, norm: UInt8) -> Float {
        let f = Float(tf)
        return weight * (f / (f + cache[Int(norm)]))
    }

    /// An upper bound of `score` over documents with frequency <= `maxTf` and norm >= `minNorm`.
    @inline(__always)
    func bound(maxTf: UInt32, minNorm: UInt8) -> Float {
        score(tf: maxTf, norm: minNorm)
    }

    /// The boost, as a line of an explanation (none when it is 1).
    var boostExplanation: [Explanation] {
        boost == 1 ? [] : [Explanation(score: boost, description: "boost", details: [])]
    }

    /// The limit of the score as tf grows: idf * (1 + k1).
    var asymptote: Float { weight }
}
