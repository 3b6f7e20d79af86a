// Codecs: bit-packing of 128-integer blocks at every width (integers per second), delta decoding, the analyzer,
// JSON parsing and BM25 scoring.

import Benchmark

@_spi(Benchmarks) import Quarry

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000
    )

    // 1,000 blocks = 128,000 integers per iteration; throughput x 128 is integers per second. Every width the
    // format can hold (0...32), each measured for half a second to keep the whole suite short.
    for width in 0...32 {
        Benchmark(
            "BlockCodec.unpack width \(width) (1000 blocks)",
            configuration: .init(scalingFactor: .one, maxDuration: .milliseconds(500))
        ) { benchmark, blocks in
            for _ in benchmark.scaledIterations { blackHole(blocks.unpackAll()) }
        } setup: {
            Kernels.PackedBlocks(width: width, blocks: 1000, seed: UInt64(width))
        }

        Benchmark(
            "BlockCodec.pack width \(width) (1000 blocks)",
            configuration: .init(scalingFactor: .one, maxDuration: .milliseconds(500))
        ) { benchmark, blocks in
            for _ in benchmark.scaledIterations { blackHole(blocks.packAll()) }
        } setup: {
            Kernels.PackedBlocks(width: width, blocks: 1000, seed: UInt64(width))
        }
    }

    Benchmark("BlockCodec.unpack + prefix sum width 8 (1000 blocks)", configuration: .init(scalingFactor: .one)) {
        benchmark, blocks in
        for _ in benchmark.scaledIterations { blackHole(blocks.unpackDeltasAll()) }
    } setup: {
        Kernels.PackedBlocks(width: 8, blocks: 1000, seed: 8)
    }

    let text = Array(sampleText.utf8)
    Benchmark("Analyzer default (\(text.count) bytes)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(Kernels.analyze(text, english: false)) }
    }
    Benchmark("Analyzer en (\(text.count) bytes)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(Kernels.analyze(text, english: true)) }
    }

    let lines: [[UInt8]] = (0..<200).map { i in
        Array("{\"id\":\"doc-\(i)\",\"date\":\"2024-03-0\(i % 9 + 1)T12:00:00Z\",\"title\":\"Title \(i)\",\"body\":\"\(sampleText.prefix(800))\\n\\nline \\\"two\\\"\"}".utf8)
    }
    Benchmark("JSONLineParser (200 lines)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(Kernels.parseJSONLines(lines)) }
    }

    Benchmark("BM25 score (1M postings)", configuration: .init(scalingFactor: .one)) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(Kernels.scoreBM25(count: 1_000_000)) }
    }
}

let sampleText = """
    The central bank held interest rates steady on Thursday, saying inflation had eased but remained above its \
    target. Officials said they would keep policy tight until wage growth slowed. Economists at Zürich's largest \
    lender expected the first cut in the spring; others warned that the labour market was still too strong. \
    Bond yields fell and the currency weakened after the announcement, while shares of lenders rose.
    """ + String(repeating: "Working storage section of the COBOL program defines the records and files used by the procedure division. ", count: 40)
