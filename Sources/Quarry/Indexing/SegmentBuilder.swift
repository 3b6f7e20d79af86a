// The in-memory segment: documents go in (analyzed here), and `flush()` writes an immutable segment.
//
// Every distinct (field, term) gets a term id from an open-addressing hash table; its state (document count, the
// pending document and frequency, the last position) lives in a flat array, and its postings and positions grow as
// two byte streams in a `SliceArena`, vint-coded:
//
//     postings stream: per document but the last: vint(delta << 1 | (freq == 1)), [vint freq]
//     positions stream: per occurrence: vint(position - previous position in the same document)
//
// The last document of each term stays pending in its state until the next one arrives or the segment is flushed,
// since its frequency is known only then (Lucene's `FreqProxTermsWriter` does the same). Stored documents stream
// to the `.store` file as they arrive. One builder per indexing thread; none of this is shared.
//
// A document whose id the builder already holds replaces the earlier one: the id term is pointed at the new
// document and the earlier one is born deleted (in the segment's first deletes generation, written at commit).

final class SegmentBuilder {
    struct TermState {
        var postings: SliceCursor
        var positions: SliceCursor
        /// Where the term's bytes are in the arena.
        var keyAddress: UInt32
        var lastDoc: UInt32
        var pendingDelta: UInt32
        var freq: UInt32
        var lastPosition: UInt32
        var docFreq: UInt32
        var keyLength: UInt16
        var field: UInt8
    }

    let schema: Schema
    let directory: String
    let info: (name: String, id: [UInt8])
    private var analyzer: Analyzer
    private let arena = SliceArena()
    /// Term states in chunks of `chunkSize`, so that growing never copies (or doubles) them.
    private var chunks: UnsafeMutablePointer<UnsafeMutablePointer<TermState>>
    private var chunkCapacity = 64
    private var chunkCount = 0
    private static let chunkShift = 14
    private static let chunkSize = 1 << chunkShift
    private(set) var termCount = 0
    private var keyBytes = 0
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
            chunks[c].deallocate()
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

    @inline(__always)
    private static func hash(_ field: UInt8, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(bytes.count) &* 0xFF51_AFD7_ED55_8CCD) ^ UInt64(field)
        let n = bytes.count
        var i = 0
        let raw = UnsafeRawPointer(bytes.baseAddress.unsafelyUnwrapped)
        while i + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
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
            h = (h ^ tail) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
        }
        h ^= h >> 29
        h = h &* 0x94D0_49BB_1331_11EB
        h ^= h >> 32
        return h
    }

    /// Finds the term id of (field, bytes), or -1 if it is new; `slot` is where a new term would go.
    @inline(__always)
    private func find(_ field: UInt8, _ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt64) -> (id: Int, slot: Int) {
        let tag = UInt32(truncatingIfNeeded: h >> 32)
        var slot = Int(truncatingIfNeeded: h) & mask
        let table = self.table
        while true {
            let entry = table[slot]
            if entry == 0 { return (-1, slot) }
            if UInt32(truncatingIfNeeded: entry >> 32) == tag {
                let id = Int(UInt32(truncatingIfNeeded: entry)) - 1
                        let st = state(id)
                if st.pointee.field == field && Int(st.pointee.keyLength) == bytes.count
                    && (bytes.isEmpty
                        || memcmpBytes(
                            arena.pointer(st.pointee.keyAddress), bytes.baseAddress.unsafelyUnwrapped, bytes.count)
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
        let h = SegmentBuilder.hash(field, bytes)
        let (id, slot) = find(field, bytes, h)
        if id >= 0 { return id }
        return insert(field, bytes, h, slot)
    }

    @inline(never)
    private func insert(_ field: UInt8, _ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt64, _ slot: Int) -> Int {
        let id = termCount
        if id == chunkCount << SegmentBuilder.chunkShift {
            if chunkCount == chunkCapacity {
                let bigger = UnsafeMutablePointer<UnsafeMutablePointer<TermState>>.allocate(capacity: chunkCapacity * 2)
                bigger.moveInitialize(from: chunks, count: chunkCount)
                chunks.deallocate()
                chunks = bigger
                chunkCapacity *= 2
            }
            chunks[chunkCount] = .allocate(capacity: SegmentBuilder.chunkSize)
            chunkCount += 1
        }
        let hasStreams = field != UInt8(Schema.idOrd)
        let empty = SliceCursor(start: 0, position: 0, end: 0, level: 0)
        state(id).initialize(
            to: TermState(
                postings: hasStreams ? arena.newStream() : empty,
                positions: hasStreams ? arena.newStream() : empty,
                keyAddress: arena.store(bytes), lastDoc: 0, pendingDelta: 0, freq: 0, lastPosition: 0, docFreq: 0,
                keyLength: UInt16(bytes.count), field: field))
        keyBytes += bytes.count
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
            let st = state(id).pointee
            let h = SegmentBuilder.hash(st.field, key(st))
            var slot = Int(truncatingIfNeeded: h) & newMask
            while bigger[slot] != 0 { slot = (slot + 1) & newMask }
            bigger[slot] = (h >> 32) << 32 | UInt64(id + 1)
        }
        table.deallocate()
        table = bigger
        tableSize = size
        mask = newMask
    }

    /// The bytes of a term.
    @inline(__always)
    private func key(_ st: TermState) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(
            start: arena.pointer(st.keyAddress).assumingMemoryBound(to: UInt8.self), count: Int(st.keyLength))
    }

    // MARK: Adding documents

    /// The document of this builder holding this id, if any.
    func document(withID id: [UInt8]) -> UInt32? {
        id.withUnsafeBufferPointer { bytes in
            let h = SegmentBuilder.hash(UInt8(Schema.idOrd), bytes)
            let found = find(UInt8(Schema.idOrd), bytes, h).id
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
                    let (positions, terms) = analyzer.analyze(value) { term, position, _, _ in
                        addOccurrence(field, term, UInt32(truncatingIfNeeded: base + position), doc)
                    }
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

    @inline(__always)
    private func addOccurrence(_ field: UInt8, _ term: UnsafeBufferPointer<UInt8>, _ position: UInt32, _ doc: UInt32) {
        let s = state(termID(field, term))
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
                }
                docBuffer.removeAll(keepingCapacity: true)
                freqBuffer.removeAll(keepingCapacity: true)
                positionBuffer.removeAll(keepingCapacity: true)
                if field != Schema.idOrd {
                    stream.removeAll(keepingCapacity: true)
                    arena.readVInts(st.postings, into: &stream)
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
                    arena.readVInts(st.positions, into: &positionBuffer)
                }
                docBuffer.append(docBuffer.isEmpty ? st.pendingDelta : docBuffer[docBuffer.count - 1] &+ st.pendingDelta)
                freqBuffer.append(st.freq)
                let term = key(st)
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
            let st = state(id).pointee
            let k = key(st)
            var prefix = UInt64(st.field) << 56
            for i in 0..<min(k.count, 7) {
                prefix |= UInt64(k[i]) << UInt64(48 - 8 * i)
            }
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
            let c = memcmpBytes(arena.pointer(sa.keyAddress) + 7, arena.pointer(sb.keyAddress) + 7, min(la, lb) - 7)
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
