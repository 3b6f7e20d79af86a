// The in-memory segment: documents go in (analyzed here), and `flush()` writes an immutable segment.
//
// Every distinct (field, term) gets a term id from an open-addressing hash table; its state (document count, the
// pending document and frequency, the last position, the term's first 8 bytes) fills one 64-byte cache line of a
// flat array, and its postings and positions grow as two byte streams in a `SliceArena`, vint-coded:
//
//     postings stream: per document but the last: vint(delta << 1 | (freq == 1)), [vint freq]
//     positions stream: per occurrence: vint(position - previous position in the same document)
//
// A token's lookup misses the cache twice on a large segment (its table slot, then its term's state) and a third
// time writing its position, so a value's tokens are looked up in batches of `TokenBatch.capacity`: their hashes
// first, each slot's line fetched; then the states those slots lead to; then the lines their positions go to; and
// only then are they added, in order, by the usual probe (the fetches are hints: a batch whose terms are new, or
// whose slots moved when the table grew, is added just the same).
//
// The last document of each term stays pending in its state until the next one arrives or the segment is flushed,
// since its frequency is known only then (Lucene's `FreqProxTermsWriter` does the same). Stored documents stream
// to the `.store` file as they arrive. One builder per indexing thread; none of this is shared.
//
// A document whose id the builder already holds replaces the earlier one: the id term is pointed at the new
// document and the earlier one is born deleted (in the segment's first deletes generation, written at commit).

import CQuarry

final class SegmentBuilder {
    /// 63 bytes, laid out to fill one 64-byte cache line (the chunks are page-aligned): a token's lookup reads its
    /// table slot and this line, and most terms (8 bytes or less) compare in `keyPrefix` without touching the arena.
    struct TermState {
        var postings: SliceCursor
        var positions: SliceCursor
        /// The term's first 8 bytes, zero-padded (in their order in memory): the whole term when it is that short.
        var keyPrefix: UInt64
        /// Where the term's streams start in the arena: postings here, positions `SliceArena.sizes[0]` bytes on.
        var streams: UInt32
        /// Where the whole term is in the arena, for terms over 8 bytes.
        var keyAddress: UInt32
        var lastDoc: UInt32
        var pendingDelta: UInt32
        var freq: UInt32
        var lastPosition: UInt32
        var docFreq: UInt32
        var keyLength: UInt16
        var field: UInt8
    }
    private static let chunkBytes = chunkSize * MemoryLayout<TermState>.stride
    private static let keyPrefixOffset = MemoryLayout<TermState>.offset(of: \TermState.keyPrefix) ?? 0

    let schema: Schema
    let directory: String
    let info: (name: String, id: [UInt8])
    private var analyzer: Analyzer
    private let arena = SliceArena()
    private let batch = TokenBatch()
    /// Term states in chunks of `chunkSize`, so that growing never copies (or doubles) them.
    private var chunks: UnsafeMutablePointer<UnsafeMutablePointer<TermState>>
    private var chunkCapacity = 64
    private var chunkCount = 0
    private static let chunkShift = 14
    private static let chunkSize = 1 << chunkShift
    private(set) var termCount = 0
    /// Hash table, open addressing with linear probing: a slot holds the hash's high 32 bits and the term id + 1
    /// (0 = empty), so a probe touches one cache line.
    private var table: UnsafeMutablePointer<UInt64>
    private var tableSize: Int
    private var mask: Int
    private var norms: [[UInt8]]
    private var fieldLengths: [UInt64]
    private var dates = DateColumnWriter()
    private let store: StoreWriter
    private(set) var docCount: UInt32 = 0
    private var fieldTermCounts: [Int]
    /// Per document: its place in the input (see `FlushedSegment.sequences`).
    private var sequences: [UInt64] = []
    /// Documents replaced by a later one with the same id in this builder.
    private var replaced: [UInt32] = []

    /// Creates a builder whose store file is created at once.
    init(schema: Schema, directory: String, name: String, id: [UInt8], compressor: ZstdCompressor) throws(QuarryError) {
        self.schema = schema
        self.directory = directory
        self.info = (name, id)
        self.analyzer = Analyzer(schema.analyzer, bulk: true)
        chunks = .allocate(capacity: chunkCapacity)
        tableSize = 1 << 13
        table = .allocate(capacity: tableSize)
        table.initialize(repeating: 0, count: tableSize)
        mask = tableSize - 1
        norms = Array(repeating: [], count: schema.textFields.count)
        fieldLengths = Array(repeating: 0, count: schema.textFields.count)
        fieldTermCounts = Array(repeating: 0, count: schema.textFields.count + 1)
        store = try StoreWriter(
            path: directory + "/" + name + "." + FileKind.store.fileExtension, segmentID: id, compressor: compressor)
    }

    deinit {
        for c in 0..<chunkCount {
            chunks[c].deinitialize(count: c == chunkCount - 1 ? termCount - c * SegmentBuilder.chunkSize : SegmentBuilder.chunkSize)
            SliceArena.unmap(UnsafeMutableRawPointer(chunks[c]), SegmentBuilder.chunkBytes)
        }
        chunks.deallocate()
        table.deallocate()
    }

    /// The state of term `id`.
    @inline(__always)
    private func state(_ id: Int) -> UnsafeMutablePointer<TermState> {
        chunks[id >> SegmentBuilder.chunkShift] + (id & (SegmentBuilder.chunkSize - 1))
    }

    /// Bytes of memory the builder holds, including what a flush will need.
    var memoryUsage: Int {
        arena.bytesAllocated + chunkCount * SegmentBuilder.chunkSize * MemoryLayout<TermState>.stride
            + tableSize * 8 + norms.reduce(0) { $0 + $1.capacity } + dates.memoryUsage + store.memoryUsage
            + termCount * 16
    }

    /// True when the builder must be flushed whatever the budget (its 32-bit addresses are nearly used up).
    var mustFlush: Bool { arena.isNearlyFull || docCount >= (1 << 31) - 1 }

    // MARK: Hashing

    /// The hash of (field, bytes), and the bytes' first 8 (zero-padded) as `TermState.keyPrefix` holds them.
    @inline(__always)
    private static func hash(_ field: UInt8, _ bytes: UnsafeBufferPointer<UInt8>) -> (hash: UInt64, prefix: UInt64) {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(bytes.count) &* 0xFF51_AFD7_ED55_8CCD) ^ UInt64(field)
        let n = bytes.count
        var prefix: UInt64 = 0
        if n > 0, let base = bytes.baseAddress {
            var i = 0
            let raw = UnsafeRawPointer(base)
            while i + 8 <= n {
                let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if i == 0 { prefix = word }
                h = (h ^ word) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 31
                i += 8
            }
            if i < n {
                var tail: UInt64 = 0
                var shift: UInt64 = 0
                while i < n {
                    tail |= UInt64(bytes[i]) << shift
                    shift += 8
                    i += 1
                }
                if n < 8 { prefix = UInt64(littleEndian: tail) }
                h = (h ^ tail) &* 0xBF58_476D_1CE4_E5B9
                h ^= h >> 31
            }
        }
        h ^= h >> 29
        h = h &* 0x94D0_49BB_1331_11EB
        h ^= h >> 32
        return (h, prefix)
    }

    /// Finds the term id of (field, bytes), or -1 if it is new; `slot` is where a new term would go.
    @inline(__always)
    private func find(_ field: UInt8, _ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt64, _ prefix: UInt64)
        -> (id: Int, slot: Int)
    {
        let tag = UInt32(truncatingIfNeeded: h >> 32)
        var slot = Int(truncatingIfNeeded: h) & mask
        let table = self.table
        let n = bytes.count
        while true {
            let entry = table[slot]
            if entry == 0 { return (-1, slot) }
            if UInt32(truncatingIfNeeded: entry >> 32) == tag {
                let id = Int(UInt32(truncatingIfNeeded: entry)) - 1
                let st = state(id)
                if st.pointee.keyPrefix == prefix && Int(st.pointee.keyLength) == n && st.pointee.field == field
                    && (n <= 8
                        || memcmpBytes(
                            arena.pointer(st.pointee.keyAddress) + 8, bytes.baseAddress.unsafelyUnwrapped + 8, n - 8)
                            == 0)
                {
                    return (id, slot)
                }
            }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private func termID(_ field: UInt8, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let (h, prefix) = SegmentBuilder.hash(field, bytes)
        return termID(field, bytes, h, prefix)
    }

    @inline(__always)
    private func termID(_ field: UInt8, _ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt64, _ prefix: UInt64) -> Int {
        let (id, slot) = find(field, bytes, h, prefix)
        if id >= 0 { return id }
        return insert(field, bytes, h, prefix, slot)
    }

    @inline(never)
    private func insert(
        _ field: UInt8, _ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt64, _ prefix: UInt64, _ slot: Int
    ) -> Int {
        let id = termCount
        if id == chunkCount << SegmentBuilder.chunkShift {
            if chunkCount == chunkCapacity {
                let bigger = UnsafeMutablePointer<UnsafeMutablePointer<TermState>>.allocate(capacity: chunkCapacity * 2)
                bigger.moveInitialize(from: chunks, count: chunkCount)
                chunks.deallocate()
                chunks = bigger
                chunkCapacity *= 2
            }
            // Mapped, as the arena's pages: page-aligned (so each state has its own cache line), and given back
            // whole at the flush.
            chunks[chunkCount] = SliceArena.map(SegmentBuilder.chunkBytes)
                .bindMemory(to: TermState.self, capacity: SegmentBuilder.chunkSize)
            chunkCount += 1
        }
        // The id field has no streams (its one document is the pending one).
        let empty = SliceCursor(position: 0, end: 0, level: 0)
        let streams = field != UInt8(Schema.idOrd) ? arena.newStreams() : (start: 0, first: empty, second: empty)
        state(id).initialize(
            to: TermState(
                postings: streams.first, positions: streams.second, keyPrefix: prefix, streams: streams.start,
                keyAddress: bytes.count > 8 ? arena.store(bytes) : 0, lastDoc: 0, pendingDelta: 0, freq: 0,
                lastPosition: 0, docFreq: 0, keyLength: UInt16(bytes.count), field: field))
        termCount += 1
        fieldTermCounts[Int(field)] += 1
        table[slot] = (h >> 32) << 32 | UInt64(id + 1)
        if termCount * 2 > tableSize { rehash() }
        return id
    }

    @inline(never)
    private func rehash() {
        let size = tableSize * 2
        let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: size)
        bigger.initialize(repeating: 0, count: size)
        let newMask = size - 1
        for id in 0..<termCount {
            let h = SegmentBuilder.hash(state(id).pointee.field, key(id)).hash
            var slot = Int(truncatingIfNeeded: h) & newMask
            while bigger[slot] != 0 { slot = (slot + 1) & newMask }
            bigger[slot] = (h >> 32) << 32 | UInt64(id + 1)
        }
        table.deallocate()
        table = bigger
        tableSize = size
        mask = newMask
    }

    /// The bytes of term `id`: in its state when they fit, in the arena otherwise.
    @inline(__always)
    private func key(_ id: Int) -> UnsafeBufferPointer<UInt8> {
        let st = state(id)
        let n = Int(st.pointee.keyLength)
        let bytes =
            n <= 8 ? UnsafeMutableRawPointer(st) + SegmentBuilder.keyPrefixOffset : arena.pointer(st.pointee.keyAddress)
        return UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: UInt8.self), count: n)
    }

    // MARK: Adding documents

    /// The document of this builder holding this id, if any.
    func document(withID id: [UInt8]) -> UInt32? {
        id.withUnsafeBufferPointer { bytes in
            let (h, prefix) = SegmentBuilder.hash(UInt8(Schema.idOrd), bytes)
            let found = find(UInt8(Schema.idOrd), bytes, h, prefix).id
            return found >= 0 ? state(found).pointee.lastDoc : nil
        }
    }

    /// The place in the input of a document of this builder.
    func sequence(of doc: UInt32) -> UInt64 { sequences[Int(doc)] }

    /// Adds a document. If the builder holds a document with the same id, that one is deleted (replaced): the id
    /// then leads to the new one.
    /// - Parameter sequence: the document's place in the input (later documents have larger numbers).
    func add(_ document: Document, sequence: UInt64) throws(QuarryError) {
        // Checked before anything is added, so that a refused document leaves the builder as it was.
        guard document.stored.count <= StoreWriter.maxDocumentBytes else {
            throw QuarryError(
                .invalidInput,
                "the document is \(document.stored.count >> 20) MiB; documents of up to \(StoreWriter.maxDocumentBytes >> 20) MiB can be stored")
        }
        if let old = self.document(withID: document.id) { replaced.append(old) }
        sequences.append(sequence)
        let doc = docCount
        // The id: one term, one document, no positions.
        document.id.withUnsafeBufferPointer { bytes in
            let st = state(termID(UInt8(Schema.idOrd), bytes))
            st.pointee.docFreq = 1
            st.pointee.lastDoc = doc
            st.pointee.pendingDelta = doc
            st.pointee.freq = 1
        }
        for f in 0..<schema.textFields.count {
            let field = UInt8(f + 1)
            var base = 0
            var length = 0
            var valueStart = 0
            let ends = document.valueEnds[f]
            document.text[f].withUnsafeBufferPointer { text in
                for end in ends {
                    let value = UnsafeBufferPointer(rebasing: text[valueStart..<end])
                    valueStart = end
                    let batch = self.batch
                    let (positions, terms) = analyzer.analyze(value) { term, position, _, _ in
                        let p = UInt32(truncatingIfNeeded: base + position)
                        if !batch.append(term, p) {
                            addBatch(field, doc)
                            if !batch.append(term, p) { addOccurrence(state(termID(field, term)), p, doc) }
                        }
                    }
                    addBatch(field, doc)
                    base += positions + 1
                    length += terms
                }
            }
            norms[f].append(FieldNorm.encode(UInt32(clamping: length)))
            fieldLengths[f] += UInt64(length)
        }
        dates.append(document.date)
        try document.stored.withBytes { raw throws(QuarryError) in try store.add(raw) }
        docCount += 1
    }

    /// Adds the batched tokens of field `field`, in order, having fetched what their lookups will read.
    private func addBatch(_ field: UInt8, _ doc: UInt32) {
        let batch = self.batch
        let n = batch.count
        if n == 0 { return }
        let table = self.table
        let mask = self.mask
        for i in 0..<n {
            let (h, prefix) = SegmentBuilder.hash(field, batch.token(i))
            batch.hashes[i] = h
            batch.prefixes[i] = prefix
            quarry_prefetch(table + (Int(truncatingIfNeeded: h) & mask))
        }
        if n > 1 {
            for i in 0..<n {
                let entry = table[Int(truncatingIfNeeded: batch.hashes[i]) & mask]
                if entry != 0 { quarry_prefetch(state(Int(UInt32(truncatingIfNeeded: entry)) - 1)) }
            }
            for i in 0..<n {
                let h = batch.hashes[i]
                let entry = table[Int(truncatingIfNeeded: h) & mask]
                if entry >> 32 == h >> 32 {
                    let st = state(Int(UInt32(truncatingIfNeeded: entry)) - 1)
                    quarry_prefetch_for_write(arena.pointer(st.pointee.positions.position))
                }
            }
        }
        for i in 0..<n {
            let s = state(termID(field, batch.token(i), batch.hashes[i], batch.prefixes[i]))
            addOccurrence(s, batch.positions[i], doc)
        }
        batch.count = 0
    }

    @inline(__always)
    private func addOccurrence(_ s: UnsafeMutablePointer<TermState>, _ position: UInt32, _ doc: UInt32) {
        if s.pointee.docFreq == 0 || s.pointee.lastDoc != doc {
            if s.pointee.docFreq > 0 {
                writePending(&s.pointee.postings, s.pointee.pendingDelta, s.pointee.freq)
            }
            s.pointee.pendingDelta = s.pointee.docFreq == 0 ? doc : doc - s.pointee.lastDoc
            s.pointee.lastDoc = doc
            s.pointee.freq = 0
            s.pointee.lastPosition = 0
            s.pointee.docFreq += 1
        }
        s.pointee.freq += 1
        arena.writeVInt(&s.pointee.positions, position &- s.pointee.lastPosition)
        s.pointee.lastPosition = position
    }

    @inline(__always)
    private func writePending(_ cursor: inout SliceCursor, _ delta: UInt32, _ freq: UInt32) {
        if freq == 1 {
            arena.writeVInt(&cursor, delta << 1 | 1)
        } else {
            arena.writeVInt(&cursor, delta << 1)
            arena.writeVInt(&cursor, freq)
        }
    }

    // MARK: Flushing

    /// Writes the segment's files, fsyncs them, and returns what the manifest needs.
    func flush() throws(QuarryError) -> FlushedSegment {
        let info = try writeFiles()
        var deletes = DeletedDocuments(docCount: info.docCount)
        for d in replaced { deletes.insert(Int(d)) }
        return FlushedSegment(info: info, sequences: sequences, deletes: deletes)
    }

    private func writeFiles() throws(QuarryError) -> SegmentInfo {
        let docs = Int(docCount)
        var sizes: [FileKind: Int] = [:]
        sizes[.store] = try store.finish()
        sizes[.norms] = try FieldNormsWriter.write(
            path: path(.norms), segmentID: info.id, docCount: docs,
            columns: norms.enumerated().map { ($0.offset + 1, $0.element) })
        sizes[.dates] = try dates.write(path: path(.dates), segmentID: info.id)

        let order = sortedTermIDs()
        let postingsFile = try FileWriter(path: path(.postings), kind: .postings, id: info.id)
        let positionsFile = try FileWriter(path: path(.positions), kind: .positions, id: info.id)
        let writer = PostingsWriter(postings: postingsFile, positions: positionsFile)
        let dictionary = try TermDictionaryWriter(path: path(.terms), segmentID: info.id)
        var docBuffer: [UInt32] = []
        var freqBuffer: [UInt32] = []
        var positionBuffer: [UInt32] = []
        var stream: [UInt32] = []
        var currentField = -1
        do {
            for id in order {
                let st = state(Int(id)).pointee
                let field = Int(st.field)
                if field != currentField {
                    try dictionary.startField(
                        field, hasPositions: field != Schema.idOrd, compressed: field == Schema.idOrd)
                    currentField = field
                    writer.averageLength =
                        field == Schema.idOrd || docs == 0 ? nil : Float(fieldLengths[field - 1]) / Float(docs)
                }
                docBuffer.removeAll(keepingCapacity: true)
                freqBuffer.removeAll(keepingCapacity: true)
                positionBuffer.removeAll(keepingCapacity: true)
                if field != Schema.idOrd {
                    stream.removeAll(keepingCapacity: true)
                    arena.readVInts(from: st.streams, to: st.postings, into: &stream)
                    var doc: UInt32 = 0
                    var i = 0
                    while i < stream.count {
                        let code = stream[i]
                        doc &+= code >> 1
                        docBuffer.append(doc)
                        if code & 1 == 1 {
                            freqBuffer.append(1)
                            i += 1
                        } else {
                            freqBuffer.append(stream[i + 1])
                            i += 2
                        }
                    }
                    arena.readVInts(
                        from: st.streams + UInt32(SliceArena.sizes[0]), to: st.positions, into: &positionBuffer)
                }
                docBuffer.append(docBuffer.isEmpty ? st.pendingDelta : docBuffer[docBuffer.count - 1] &+ st.pendingDelta)
                freqBuffer.append(st.freq)
                let term = key(Int(id))
                let info: TermInfo
                if field == Schema.idOrd {
                    info = try docBuffer.withBuffer { d throws(QuarryError) in
                        try freqBuffer.withBuffer { f throws(QuarryError) in
                            try writer.writeTerm(docs: d, freqs: f, positionValues: nil, norms: nil)
                        }
                    }
                } else {
                    info = try docBuffer.withBuffer { d throws(QuarryError) in
                        try freqBuffer.withBuffer { f throws(QuarryError) in
                            try positionBuffer.withBuffer { p throws(QuarryError) in
                                try norms[field - 1].withBuffer { n throws(QuarryError) in
                                    try writer.writeTerm(docs: d, freqs: f, positionValues: p, norms: n)
                                }
                            }
                        }
                    }
                }
                try dictionary.add(term, info)
            }
        }
        sizes[.terms] = try dictionary.finish()
        sizes[.postings] = try postingsFile.finish()
        sizes[.positions] = try positionsFile.finish()
        return SegmentInfo(name: info.name, id: info.id, docCount: docs, fieldLengths: fieldLengths, fileSizes: sizes)
    }

    /// Term ids ordered by (field, term bytes).
    private func sortedTermIDs() -> [UInt32] {
        // Sort on (field, first 7 bytes) packed in a UInt64, then settle ties by full comparison.
        var pairs: [(UInt64, UInt32)] = []
        pairs.reserveCapacity(termCount)
        for id in 0..<termCount {
            let st = state(id)
            // The first 7 bytes, big-endian under the field (the prefix is zero-padded).
            let prefix = UInt64(st.pointee.field) << 56 | UInt64(bigEndian: st.pointee.keyPrefix) >> 8
            pairs.append((prefix, UInt32(id)))
        }
        pairs.sort { a, b in
            if a.0 != b.0 { return a.0 < b.0 }
            let sa = state(Int(a.1)).pointee
            let sb = state(Int(b.1)).pointee
            let la = Int(sa.keyLength)
            let lb = Int(sb.keyLength)
            if la <= 7 || lb <= 7 {
                // Equal 7-byte prefixes: the shorter (a prefix of the other) sorts first.
                if la != lb { return la < lb }
                return false
            }
            let c = memcmpBytes(
                UnsafeRawPointer(key(Int(a.1)).baseAddress.unsafelyUnwrapped) + 7,
                UnsafeRawPointer(key(Int(b.1)).baseAddress.unsafelyUnwrapped) + 7, min(la, lb) - 7)
            return c != 0 ? c < 0 : la < lb
        }
        return pairs.map { $0.1 }
    }

    private func path(_ kind: FileKind) -> String {
        directory + "/" + info.name + "." + kind.fileExtension
    }

    /// The paths of every file this builder may have created.
    var filePaths: [String] { FileKind.segmentKinds.map { path($0) } }
}

/// A value's tokens waiting for their lookups (see the top of the file): their bytes one after another, and per
/// token its end, position, hash and key prefix. One per builder.
private final class TokenBatch {
    static let capacity = 64
    /// Room for the bytes of `capacity` tokens of the common length; a batch is added early when a long one does
    /// not fit.
    static let byteCapacity = capacity * 16 + TokenBuffer.capacity
    let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: TokenBatch.byteCapacity)
    let ends = UnsafeMutablePointer<Int>.allocate(capacity: TokenBatch.capacity)
    let positions = UnsafeMutablePointer<UInt32>.allocate(capacity: TokenBatch.capacity)
    let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: TokenBatch.capacity)
    let prefixes = UnsafeMutablePointer<UInt64>.allocate(capacity: TokenBatch.capacity)
    var count = 0

    deinit {
        bytes.deallocate()
        ends.deallocate()
        positions.deallocate()
        hashes.deallocate()
        prefixes.deallocate()
    }

    /// Adds a token; false (and nothing added) when the batch is full.
    @inline(__always)
    func append(_ token: UnsafeBufferPointer<UInt8>, _ position: UInt32) -> Bool {
        let start = count == 0 ? 0 : ends[count - 1]
        guard count < TokenBatch.capacity, token.count <= TokenBatch.byteCapacity - start else { return false }
        if let base = token.baseAddress { (bytes + start).update(from: base, count: token.count) }
        ends[count] = start + token.count
        positions[count] = position
        count += 1
        return true
    }

    @inline(__always)
    func token(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        let start = i == 0 ? 0 : ends[i - 1]
        return UnsafeBufferPointer(start: bytes + start, count: ends[i] - start)
    }
}
