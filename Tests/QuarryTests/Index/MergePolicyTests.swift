// The merge policy's choices against an oracle written from its documented rules (MergePolicy.swift's file
// comment), with levels found by integer multiplication instead of logarithms, on random sets of segments; and
// what the default factor costs over a run of equal flushes.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct MergePolicyTests {
    /// A segment of `bytes` bytes (all in its store) with `docs` documents, `deleted` of them deleted.
    static func segment(_ name: String, bytes: Int, docs: Int = 1000, deleted: Int = 0) -> SegmentInfo {
        var s = SegmentInfo(name: name, id: [], docCount: docs, fieldLengths: [], fileSizes: [.store: bytes])
        s.deletedCount = deleted
        return s
    }

    /// The rules as documented, computed independently of `MergePolicy`.
    static func oracle(_ p: MergePolicy, _ segments: [SegmentInfo]) -> Set<String>? {
        guard p.isEnabled, p.mergeFactor >= 2 else { return nil }
        func live(_ s: SegmentInfo) -> Int {
            s.docCount == 0 ? 0 : s.totalBytes * (s.docCount - s.deletedCount) / s.docCount
        }
        // level = floor(log_f(size / floor)): the largest L with floor * f^L <= size (0 at or below the floor).
        func level(_ s: SegmentInfo) -> Int {
            let size = max(live(s), 1)
            let floor = max(p.floorBytes, 1)
            if size <= floor { return 0 }
            var l = 0
            var bound = floor
            while bound <= size / p.mergeFactor {
                bound *= p.mergeFactor
                l += 1
            }
            return l
        }
        func smallest(_ n: Int, _ of: [SegmentInfo]) -> Set<String> {
            Set(of.sorted { live($0) < live($1) }.prefix(n).map(\.name))
        }
        let candidates = segments.filter { s in p.maxSegmentBytes.map { live(s) <= $0 } ?? true }
        let levels = Dictionary(grouping: candidates, by: level)
        for l in levels.keys.sorted() where levels[l, default: []].count >= p.mergeFactor {
            return smallest(max(2, p.maxMergeAtOnce), levels[l, default: []])
        }
        let rewrite = segments.first { s in
            s.docCount > 0 && Double(s.deletedCount) >= p.deletesToRewrite * Double(s.docCount)
        }
        if let s = rewrite { return [s.name] }
        if let cap = p.maxSegments, candidates.count > max(cap, 1) {
            return smallest(min(max(2, candidates.count - max(cap, 1) + 1), max(2, p.maxMergeAtOnce)), candidates)
        }
        return nil
    }

    @Test func defaultsAreTantivysFactorWithACapOfFive() {
        let p = MergePolicy()
        #expect(p.isEnabled && p.mergeFactor == 8 && p.maxMergeAtOnce == 10 && p.maxSegments == 5)
        // Seven flushes of one level are left alone (the cap is the run's last step, see below)...
        var noCap = p
        noCap.maxSegments = nil
        let seven = (0..<7).map { Self.segment("s\($0)", bytes: 50_000_000 + $0) }
        #expect(noCap.findMerge(seven) == nil)
        // ... an eighth merges all eight ...
        let eight = seven + [Self.segment("s7", bytes: 50_000_100)]
        #expect(noCap.findMerge(eight).map(Set.init) == Set(eight.map(\.name)))
        // ... and with the cap, seven are merged down to five by their three smallest.
        #expect(p.findMerge(seven).map(Set.init) == ["s0", "s1", "s2"])
    }

    @Test func aRunsSegmentsAreMergedAtItsEndUpToFourGiBAndThirtyTwoSegments() {
        let p = MergePolicy()
        #expect(p.runMergeBytes == 4 << 30 && MergePolicy.maxRunMergeSegments == 32)
        #expect(p.mergesRun(bytes: 0, count: 2))
        #expect(p.mergesRun(bytes: 4 << 30, count: 32))
        #expect(!p.mergesRun(bytes: (4 << 30) + 1, count: 2))
        #expect(!p.mergesRun(bytes: 1 << 20, count: 33))
        var off = p
        off.runMergeBytes = nil
        #expect(!off.mergesRun(bytes: 1, count: 2))
        off.runMergeBytes = 0
        #expect(!off.mergesRun(bytes: 0, count: 2))
        #expect(!MergePolicy.none.mergesRun(bytes: 1, count: 2))
    }

    @Test func choicesMatchTheDocumentedRulesOnRandomSegments() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x6d65_7267)
        var merges = 0
        for round in 0..<4000 {
            var p = MergePolicy()
            p.mergeFactor = 2 + Int(rng.next() % 9)
            p.maxMergeAtOnce = 2 + Int(rng.next() % 10)
            p.floorBytes = 1 << (10 + Int(rng.next() % 12))
            p.maxSegments = rng.next() % 4 == 0 ? nil : 1 + Int(rng.next() % 8)
            p.maxSegmentBytes = rng.next() % 5 == 0 ? 1 << (20 + Int(rng.next() % 10)) : nil
            let count = Int(rng.next() % 30)
            var segments: [SegmentInfo] = []
            for k in 0..<count {
                // Sizes spread over many levels, distinct so "the smallest" has one answer; a few with deletes.
                let bytes = (1 << (8 + Int(rng.next() % 24))) + Int(rng.next() % 4096) * 64 + k
                let docs = 1 + Int(rng.next() % 5000)
                let deleted = rng.next() % 6 == 0 ? Int(rng.next() % UInt64(docs + 1)) : 0
                segments.append(Self.segment("r\(round)-\(k)", bytes: bytes, docs: docs, deleted: deleted))
            }
            let expected = Self.oracle(p, segments)
            let got = p.findMerge(segments).map(Set.init)
            #expect(got == expected, "round \(round): \(p)")
            if expected != nil { merges += 1 }
        }
        #expect(merges > 1000)
    }

    /// Bytes rewritten by merges while `flushes` equal segments are flushed (the level rule alone, as during a
    /// run) and then after the run (with the cap), and the segments left.
    static func simulate(_ p: MergePolicy, flushes: Int, bytes: Int) -> (rewritten: Int, left: Int) {
        var during = p
        during.maxSegments = nil
        var segments: [SegmentInfo] = []
        var next = 0
        var rewritten = 0
        func settle(_ policy: MergePolicy) {
            while let names = policy.findMerge(segments) {
                let picked = segments.filter { names.contains($0.name) }
                let size = picked.reduce(0) { $0 + $1.totalBytes }
                rewritten += size
                segments.removeAll { names.contains($0.name) }
                segments.append(segment("m\(next)", bytes: size, docs: picked.reduce(0) { $0 + $1.docCount }))
                next += 1
            }
        }
        for k in 0..<flushes {
            segments.append(segment("f\(k)", bytes: bytes))
            settle(during)
        }
        settle(p)
        return (rewritten, segments.count)
    }

    @Test func theDefaultFactorRewritesEachDocumentAboutOnceOnTheGeneratedCorpus() {
        // The 1M corpus with the default budget: about 25 flushes of about 51 MB.
        var four = MergePolicy()
        four.mergeFactor = 4
        let total = 25 * 51_000_000
        let byFour = Self.simulate(four, flushes: 25, bytes: 51_000_000)
        let byEight = Self.simulate(MergePolicy(), flushes: 25, bytes: 51_000_000)
        #expect(byFour.rewritten > total * 3 / 2)
        #expect(byEight.rewritten <= total)
        #expect(byFour.left <= 5 && byEight.left <= 5)
        // Whatever the number of flushes, the segments left respect the cap and nothing is rewritten more than
        // log_8 of the flushes, plus once by the cap.
        for n in 1...200 {
            let run = Self.simulate(MergePolicy(), flushes: n, bytes: 51_000_000)
            var rounds = 0
            var reach = 1
            while reach < n {
                reach *= 8
                rounds += 1
            }
            #expect(run.left <= 5, "\(n) flushes")
            #expect(run.rewritten <= (rounds + 1) * n * 51_000_000, "\(n) flushes")
        }
    }
}
