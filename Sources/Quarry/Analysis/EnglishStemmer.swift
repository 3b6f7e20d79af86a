// Snowball English ("Porter2") stemmer, pure Swift stdlib.
//
// A hand translation of the Snowball 3.x `english.sbl` algorithm
// (https://snowballstem.org/algorithms/english/stemmer.html), checked byte for byte
// against the `snowballstemmer` 3.1.1 Python package (code generated from that source).
//
// Alphabet: the vowels are a e i o u y; every other character (including 'Y', which
// the prelude uses to mark consonant y, the apostrophe where it is not a suffix, digits
// and every non-ASCII character) is a non-vowel letter. Non-ASCII input is read as
// UTF-8 and each multi-byte character counts as ONE letter, as in the reference
// implementation (which works on Unicode code points), so positions such as
// "at least two letters before -ies" or "a non-vowel at the start of the word" come
// out the same for words like "éies" or "ñying". Malformed UTF-8 never traps: a stray
// continuation byte is simply grouped with the character before it.
//
// Snowball 3.x differs from the classic Porter2 description in a few places, all
// implemented here because the reference does them:
//   * R1 special prefixes: arsen, commun, emerg, gener, inter, later, organ, past, univers;
//   * short syllable: also any stem ending in "past" ("pasting" -> "paste");
//   * step 1a: "-us" is kept like "-ss" ("bus", "virus");
//   * step 1b: "proceed/exceed/succeed" (whole word before -eed/-eedly), "inning,
//     outing, canning, herring, earring, evening" (whole word before -ing) are left
//     alone, and consonant + "ying" becomes "ie" ("dying" -> "die");
//   * step 2: "-ogist" -> "og";
//   * exceptional forms: skis -> ski, skies -> sky, idly, gently, ugly, early, only,
//     singly, and sky, news, howe, atlas, cosmos, bias, andes kept as they are.

/// Snowball English (Porter2) stemmer over lowercase UTF-8 bytes.
struct EnglishStemmer: Sendable {
    init() {}

    /// Stems `word` (lowercased UTF-8 bytes, as produced by the tokenizer) and writes the stem into `output` (cleared first).
    /// Words containing non-ASCII bytes are handled per the Snowball algorithm where it applies (Snowball English works on the
    /// lowercase a-z alphabet plus apostrophe; any other character is a non-vowel letter, one letter per UTF-8 character).
    func stem(_ word: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        let count = word.count
        guard count >= 3, let source = word.baseAddress else {
            // Fewer than 3 letters (bytes, hence letters): unchanged.
            output.replaceSubrange(0..<output.count, with: word)
            return
        }
        if count <= 64 {
            // Usual case: stem in a stack buffer (the prelude copies the word into
            // it), then store the stem with a single array operation.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { scratch in
                let base = scratch.baseAddress!
                var work = _EnglishStemmerWork(base)
                work.run(source, count)
                output.replaceSubrange(0..<output.count, with: UnsafeBufferPointer(start: base, count: work.n))
            }
            return
        }
        // Long words: stem in place in `output` (the stem is never longer than the word).
        output.replaceSubrange(0..<output.count, with: word)
        let newCount = output.withUnsafeMutableBufferPointer { buffer -> Int in
            let base = buffer.baseAddress!
            var work = _EnglishStemmerWork(base)
            work.run(UnsafePointer(base), count)
            return work.n
        }
        if newCount < count {
            output.removeLast(count - newCount)
        }
    }
}

// MARK: - Character classes

private let _a: UInt8 = 0x61  // 'a'
private let _apostrophe: UInt8 = 0x27
private let _Y: UInt8 = 0x59  // 'Y', the prelude's mark for consonant y
private let _y: UInt8 = 0x79

/// a e i o u y (Snowball `v`). Bit k stands for letter 'a' + k.
@inline(__always) private func isVowel(_ c: UInt8) -> Bool {
    let d = c &- _a
    return d < 32 && (UInt32(0x0110_4111) >> UInt32(d)) & 1 != 0
}

/// 1 for a e i o u y, else 0; branch-free (a-y lie in 64..<128: bit c - 64 of the
/// constant, kept only when c is in that range).
@inline(__always) private func vowelBit(_ c: UInt8) -> UInt64 {
    let inRange: UInt64 = c >> 6 == 1 ? 1 : 0
    return (UInt64(0x0220_8222_0000_0000) &>> UInt64(c & 63)) & inRange
}

/// a e i o u y w x Y (Snowball `v_WXY`).
@inline(__always) private func isVowelWXY(_ c: UInt8) -> Bool {
    let d = c &- _a
    return (d < 32 && (UInt32(0x01D0_4111) >> UInt32(d)) & 1 != 0) || c == _Y
}

/// c d e g h k m n r t (Snowball `valid_LI`).
@inline(__always) private func isValidLI(_ c: UInt8) -> Bool {
    let d = c &- _a
    return d < 32 && (UInt32(0x000A_34DC) >> UInt32(d)) & 1 != 0
}

@inline(__always) private func isContinuation(_ c: UInt8) -> Bool {
    c & 0xC0 == 0x80
}

// MARK: - The algorithm

/// Exceptional forms packed little-endian, at the slot of their perfect hash
/// `(word &* 0x7EBC_E192_36D7_E1F5) >> 60` (see `isExceptionalForm`).
private let _exceptionalForms: [UInt64] = [
    0x0000_0000_796C_6469,  // 0: idly
    0x0000_0000_7369_6B73,  // 1: skis
    0x0000_0000_7361_6962,  // 2: bias
    0x0000_0000_796C_6775,  // 3: ugly
    0x0000_736F_6D73_6F63,  // 4: cosmos
    0x0000_796C_676E_6973,  // 5: singly
    0x0000_0000_796C_6E6F,  // 6: only
    0x0000_0000_0079_6B73,  // 7: sky
    0x0000_0000_7377_656E,  // 8: news
    0x0000_0073_6564_6E61,  // 9: andes
    0x0000_0079_6C72_6165,  // 10: early
    0x0000_0073_6569_6B73,  // 11: skies
    0x0000_0073_616C_7461,  // 12: atlas
    0x0000_796C_746E_6567,  // 13: gently
    0x0000_0000_6577_6F68,  // 14: howe
    0,  // 15
]

/// R1 special prefixes packed little-endian, at the slot of the perfect hash of
/// their first four letters `(first4 &* 0x0F74_D919_6DBA_2387) >> 60` (see `specialPrefixLength`).
private let _specialPrefixes: [UInt64] = [
    0x0073_7265_7669_6E75,  // 0: univers
    0x0000_0000_7473_6170,  // 1: past
    0,  // 2
    0x0000_0072_6574_616C,  // 3: later
    0,  // 4
    0,  // 5
    0,  // 6
    0x0000_006E_6573_7261,  // 7: arsen
    0,  // 8
    0,  // 9
    0x0000_0072_656E_6567,  // 10: gener
    0x0000_006E_6167_726F,  // 11: organ
    0,  // 12
    0x0000_0067_7265_6D65,  // 13: emerg
    0x0000_6E75_6D6D_6F63,  // 14: commun
    0x0000_0072_6574_6E69,  // 15: inter
]

/// Working state over the word's bytes in `b` (a scratch buffer, or the output
/// buffer itself for long words), edited in place. `n` is the current length;
/// `p1`/`p2` are the starts of R1/R2 as byte offsets.
/// For words of at most 64 bytes (after the prelude) `vowels` has bit i set when
/// byte i is a vowel, which replaces the data-dependent scans (and their branch
/// mispredictions) of region marking and "contains a vowel" tests.
private struct _EnglishStemmerWork {
    let b: UnsafeMutablePointer<UInt8>
    var n: Int = 0
    var p1: Int = 0
    var p2: Int = 0
    var vowels: UInt64 = 0
    var useMask = false
    /// The first 8 bytes of the word after the prelude, little-endian, zero past
    /// its end: exceptional forms and R1 prefixes are recognised with a few integer
    /// comparisons instead of branchy byte tests.
    var head: UInt64 = 0

    @inline(__always) init(_ b: UnsafeMutablePointer<UInt8>) {
        self.b = b
    }

    // MARK: Helpers

    /// True when the `s.count` bytes ending at `end` equal `s`.
    @inline(__always) func ends(_ s: StaticString, at end: Int) -> Bool {
        let k = s.utf8CodeUnitCount
        if end < k { return false }
        let p = s.utf8Start
        var i = 0
        while i < k {
            if b[end - k + i] != p[i] { return false }
            i += 1
        }
        return true
    }

    @inline(__always) func ends(_ s: StaticString) -> Bool {
        ends(s, at: n)
    }

    /// True when bytes `0..<end` are exactly `s`.
    @inline(__always) func isWhole(_ s: StaticString, end: Int) -> Bool {
        end == s.utf8CodeUnitCount && ends(s, at: end)
    }

    /// Start of the character that ends at `c` (c > 0): steps back over UTF-8
    /// continuation bytes to the lead byte. Never goes below 0.
    @inline(__always) func charStart(before c: Int) -> Int {
        var j = c - 1
        if b[j] >= 0x80 {
            while j > 0 && isContinuation(b[j]) { j -= 1 }
        }
        return j
    }

    /// Position just after the character starting at `i` (i < n).
    @inline(__always) func charEnd(from i: Int) -> Int {
        var j = i + 1
        if b[i] >= 0x80 {
            while j < n && isContinuation(b[j]) { j += 1 }
        }
        return j
    }

    /// Is there a vowel among the bytes `0..<end`? (Snowball `gopast v` backwards.)
    /// Only asked about prefixes that no step has changed since the prelude.
    @inline(__always) func hasVowel(before end: Int) -> Bool {
        if useMask {
            return vowels & ((UInt64(1) << UInt64(end)) &- 1) != 0
        }
        var i = end
        while i > 0 {
            i -= 1
            if isVowel(b[i]) { return true }
        }
        return false
    }

    /// Snowball `shortv` tested backwards from `c`: (non-v_WXY, v, non-v) or
    /// (non-v, v, start of word) or the stem ends in "past".
    @inline(__always) func shortSyllable(at c: Int) -> Bool {
        if c >= 2 {
            let x = b[c - 1]
            if !isVowel(x) {
                let c1 = charStart(before: c)
                if c1 >= 1 && isVowel(b[c1 - 1]) {
                    let c2 = c1 - 1
                    if c2 == 0 { return true }
                    if !isVowelWXY(x) && !isVowel(b[c2 - 1]) { return true }
                }
            }
        }
        return ends("past", at: c)
    }

    /// At least two characters in `0..<c`?
    @inline(__always) func twoCharsBefore(_ c: Int) -> Bool {
        if c < 2 { return false }
        if b[c - 1] < 0x80 && b[c - 2] < 0x80 { return true }
        var chars = 0
        var i = 0
        while i < c {
            if !isContinuation(b[i]) {
                chars += 1
                if chars == 2 { return true }
            }
            i += 1
        }
        return false
    }

    // MARK: Driver

    /// Stems the `count` (>= 3) bytes at `source` into `b` (which may be `source`
    /// itself); the stem is `b[0..<n]`.
    @inline(__always) mutating func run(_ source: UnsafePointer<UInt8>, _ count: Int) {
        let yFound = prelude(source, count)
        // Exceptional forms (whole word, no apostrophe: `head` holds it all) and words
        // of fewer than 3 letters (only possible for non-ASCII words here; valid UTF-8
        // needs at most 8 bytes for 2 characters) are left alone or rewritten whole.
        if (count <= 6 && source[0] != _apostrophe && isExceptionalForm(head)
            && (head >> UInt64((count - 1) &* 8)) & 0xFF != 0)  // (no NUL-padded lookalikes)
            || (count <= 8 && head & 0x8080_8080_8080_8080 != 0 && hasFewerThanThreeChars(source, count))
        {
            copy(source, count)
            rewriteException()
            return
        }
        markRegions()
        step1a()
        step1b()
        step1c()
        step2()
        step3()
        step4()
        step5()
        if yFound {
            var i = 0
            while i < n {
                if b[i] == _Y { b[i] = _y }
                i += 1
            }
        }
    }

    mutating func copy(_ source: UnsafePointer<UInt8>, _ count: Int) {
        var i = 0
        while i < count {
            b[i] = source[i]
            i += 1
        }
        n = count
    }

    func hasFewerThanThreeChars(_ s: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var chars = 0
        var i = 0
        while i < count {
            if !isContinuation(s[i]) {
                chars += 1
                if chars == 3 { return false }
            }
            i += 1
        }
        return true
    }

    /// Is the word (packed by `prelude` into `head`) one of the exceptional forms?
    /// A perfect hash of the 15 forms picks the one candidate to compare with: a
    /// table load instead of a tree of unpredictable branches.
    @inline(__always) func isExceptionalForm(_ k: UInt64) -> Bool {
        let candidate = _exceptionalForms[Int(truncatingIfNeeded: (k &* 0x7EBC_E192_36D7_E1F5) >> 60)]
        return k == candidate && candidate != 0
    }

    /// Length of the R1 special prefix the word starts with (arsen, commun, emerg,
    /// gener, inter, later, organ, past, univers), or 0. A perfect hash of their
    /// first four letters picks the one candidate to compare with.
    @inline(__always) func specialPrefixLength() -> Int {
        let candidate = _specialPrefixes[Int(truncatingIfNeeded: ((head & 0xFFFF_FFFF) &* 0x0F74_D919_6DBA_2387) >> 60)]
        // Letters in the candidate (none are zero bytes); 0 gives an empty mask.
        let length = (71 &- candidate.leadingZeroBitCount) >> 3
        let mask = (UInt64(1) << UInt64(length &* 8)) &- 1
        return head & mask == candidate ? length : 0
    }

    /// Rewrites an exceptional form (already copied into `b`) to its stem; other
    /// words are left as they are.
    mutating func rewriteException() {
        switch n {
        case 4:
            if isWhole("skis", end: 4) || isWhole("idly", end: 4) {
                n = 3  // ski, idl
            } else if isWhole("ugly", end: 4) || isWhole("only", end: 4) {
                b[3] = 0x69  // ugli, onli
            }
        case 5:
            if isWhole("skies", end: 5) {
                b[2] = _y  // sky
                n = 3
            } else if isWhole("early", end: 5) {
                b[4] = 0x69  // earli
            }
        case 6:
            if isWhole("gently", end: 6) || isWhole("singly", end: 6) {
                n = 5  // gentl, singl
            }
        default:
            break
        }
    }

    /// Copies the word into `b` without a leading apostrophe, marking initial y
    /// and y after a vowel as 'Y'; records the vowel positions and `head`.
    /// Returns whether any y was marked. `b` must have room for 8 bytes.
    mutating func prelude(_ source: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        let start = source[0] == _apostrophe ? 1 : 0
        let s = source + start
        n = count - start
        useMask = n <= 64
        if n < 8 {
            // Zero the bytes `head` reads past the end of a short word.
            UnsafeMutableRawPointer(b).storeBytes(of: 0, as: UInt64.self)
        }
        var found = false
        var mask: UInt64 = 0
        var prevVowel = true  // a y at the start is marked too
        var i = 0
        let maskEnd = n < 64 ? n : 64
        while i < maskEnd {
            var c = s[i]
            if c == _y && prevVowel {
                c = _Y
                found = true
            }
            b[i] = c
            let v = vowelBit(c)
            mask |= v &<< UInt64(i)
            prevVowel = v != 0
            i += 1
        }
        while i < n {  // past 64 bytes: no mask (`useMask` is false)
            var c = s[i]
            if c == _y && prevVowel {
                c = _Y
                found = true
            }
            b[i] = c
            prevVowel = isVowel(c)
            i += 1
        }
        vowels = mask
        // Marking y never matters to the users of `head`: exceptional forms and R1
        // prefixes have no y after a vowel, and no 'Y'.
        head = UInt64(littleEndian: UnsafeRawPointer(b).loadUnaligned(as: UInt64.self))
        return found
    }

    mutating func markRegions() {
        p1 = n
        p2 = n
        // Special prefixes that form R1 by themselves (compared within `head`,
        // which is zero past the end of the word; none of them contains a y).
        var i = specialPrefixLength()
        if i == 0 {
            guard let e = pastVowelThenNonVowel(from: 0) else { return }
            i = e
        }
        p1 = i
        if let e = pastVowelThenNonVowel(from: i) { p2 = e }
    }

    /// `gopast v gopast non-v` from `i`: the position after the first non-vowel
    /// (whole character) that follows a vowel, or nil.
    @inline(__always) func pastVowelThenNonVowel(from start: Int) -> Int? {
        if useMask {
            let v = vowels & (~UInt64(0) << UInt64(start))
            if v == 0 { return nil }
            let i = v.trailingZeroBitCount
            let inWord = (UInt64(1) << UInt64(n)) &- 1
            let nonVowels = ~vowels & inWord & (~UInt64(0) << UInt64(i + 1))
            if nonVowels == 0 { return nil }
            return charEnd(from: nonVowels.trailingZeroBitCount)
        }
        var i = start
        while i < n && !isVowel(b[i]) { i += 1 }
        if i == n { return nil }
        i += 1
        while i < n && isVowel(b[i]) { i += 1 }
        if i == n { return nil }
        return charEnd(from: i)
    }

    // MARK: Step 1a

    mutating func step1a() {
        // Apostrophe suffixes: ' 's 's'
        let last = b[n - 1]
        if last == _apostrophe {
            if n >= 3 && b[n - 2] == 0x73 && b[n - 3] == _apostrophe { n -= 3 } else { n -= 1 }
        } else if last == 0x73 && n >= 2 && b[n - 2] == _apostrophe {
            n -= 2
        }
        if n == 0 { return }
        switch b[n - 1] {
        case 0x73:  // s
            if ends("sses") {
                n -= 2
            } else if ends("ies") {
                iesIed()
            } else if n >= 2 && (b[n - 2] == 0x73 || b[n - 2] == 0x75) {
                // -ss, -us: unchanged
            } else {
                // Delete s if the part before the letter preceding it contains a vowel.
                let c = n - 1
                if c <= 0 { return }
                if hasVowel(before: charStart(before: c)) { n -= 1 }
            }
        case 0x64:  // d
            if ends("ied") { iesIed() }
        default:
            break
        }
    }

    /// -ied/-ies: "i" after more than one letter, otherwise "ie".
    @inline(__always) mutating func iesIed() {
        let c = n - 3
        n = twoCharsBefore(c) ? c + 1 : c + 2
    }

    // MARK: Step 1b

    mutating func step1b() {
        if n < 2 { return }
        var k = 0  // suffix length
        var kind = 0  // 1: eed eedly, 2: ed edly ingly, 3: ing
        switch b[n - 1] {
        case 0x64:  // d
            if ends("ed") {
                if ends("eed") { k = 3; kind = 1 } else { k = 2; kind = 2 }
            }
        case 0x67:  // g
            if ends("ing") { k = 3; kind = 3 }
        case 0x79:  // y
            if ends("edly") {
                if ends("eedly") { k = 5; kind = 1 } else { k = 4; kind = 2 }
            } else if ends("ingly") {
                k = 5; kind = 2
            }
        default:
            break
        }
        if kind == 0 { return }
        let c = n - k

        if kind == 1 {
            // -eed/-eedly -> -ee in R1, except after exactly succ/proc/exc.
            if p1 <= c {
                if isWhole("succ", end: c) || isWhole("proc", end: c) || isWhole("exc", end: c) { return }
                n = c + 2
            }
            return
        }
        if kind == 3 && c >= 1 {
            if b[c - 1] == _y {
                // non-vowel + "ying" at the start of the word -> "ie" (dying -> die)
                let cy = c - 1
                if cy >= 1 && !isVowel(b[cy - 1]) && charStart(before: cy) == 0 {
                    b[cy] = 0x69  // i
                    b[c] = 0x65  // e
                    n = c + 1
                    return
                }
            } else {
                switch c {
                case 3:
                    if ends("inn", at: 3) || ends("out", at: 3) { return }
                case 4:
                    if ends("even", at: 4) || ends("cann", at: 4) || ends("earr", at: 4) || ends("herr", at: 4) {
                        return
                    }
                default:
                    break
                }
            }
        }

        // Delete the suffix if the preceding part contains a vowel, then tidy up.
        if !hasVowel(before: c) { return }
        n = c
        let l = b[n - 1]
        let l2 = n >= 2 ? b[n - 2] : 0
        if (l == 0x74 && l2 == 0x61) || (l == 0x6C && l2 == 0x62) || (l == 0x7A && l2 == 0x69) {
            // at bl iz -> ate ble ize
            b[n] = 0x65
            n += 1
        } else if l == l2 && isDoubleConsonant(l) {
            // Double: undouble, except a/e/o + double as the whole word (add, egg, off).
            if n == 3 && (b[0] == 0x61 || b[0] == 0x65 || b[0] == 0x6F) { return }
            n -= 1
        } else if n == p1 && shortSyllable(at: n) {
            // Short word: add e (hop(e)ing -> hope).
            b[n] = 0x65
            n += 1
        }
    }

    /// b d f g m n p r t
    @inline(__always) func isDoubleConsonant(_ c: UInt8) -> Bool {
        let d = c &- _a
        return d < 32 && (UInt32(0x000A_B06A) >> UInt32(d)) & 1 != 0
    }

    // MARK: Step 1c

    mutating func step1c() {
        if n < 2 { return }
        let last = b[n - 1]
        if last != _y && last != _Y { return }
        let c = n - 1
        if isVowel(b[c - 1]) { return }
        if charStart(before: c) > 0 { b[c] = 0x69 }
    }

    // MARK: Step 2

    mutating func step2() {
        if n < 3 { return }
        var k = 0  // suffix length
        var keep = 0  // bytes of the suffix kept (before writing the tail)
        var tail: StaticString = ""  // bytes appended after the kept part
        switch b[n - 1] {
        case 0x69:  // i
            switch b[n - 2] {
            case 0x63:  // ci
                if ends("anci") || ends("enci") { k = 4; keep = 3; tail = "e" }  // -ance -ence
            case 0x67:  // gi
                if ends("ogi") {
                    // -ogi -> -og when preceded by l
                    let c = n - 3
                    if c >= 1 && b[c - 1] == 0x6C && p1 <= c { n -= 1 }
                    return
                }
            case 0x6C:  // li
                if ends("abli") || ends("bli") {
                    k = ends("abli") ? 4 : 3; keep = k - 1; tail = "e"  // -able -ble
                } else if ends("alli") {
                    k = 4; keep = 2
                } else if ends("fulli") {
                    k = 5; keep = 3
                } else if ends("lessli") {
                    k = 6; keep = 4
                } else if ends("ousli") {
                    k = 5; keep = 3
                } else if ends("entli") {
                    k = 5; keep = 3
                } else {
                    // -li after a valid li-ending: delete
                    let c = n - 2
                    if c >= 1 && isValidLI(b[c - 1]) && p1 <= c { n = c }
                    return
                }
            case 0x74:  // ti
                if ends("aliti") {
                    k = 5; keep = 2  // -al
                } else if ends("biliti") {
                    k = 6; keep = 1; tail = "le"  // -ble
                } else if ends("iviti") {
                    k = 5; keep = 2; tail = "e"  // -ive
                }
            default:
                break
            }
        case 0x6C:  // l
            if ends("ational") {
                k = 7; keep = 2; tail = "e"  // -ate
            } else if ends("tional") {
                k = 6; keep = 4  // -tion
            }
        case 0x6D:  // m
            if ends("alism") { k = 5; keep = 2 }  // -al
        case 0x6E:  // n
            if ends("ization") {
                k = 7; keep = 2; tail = "e"  // -ize
            } else if ends("ation") {
                k = 5; keep = 2; tail = "e"  // -ate
            }
        case 0x72:  // r
            if ends("izer") {
                k = 4; keep = 3  // -ize
            } else if ends("ator") {
                k = 4; keep = 2; tail = "e"  // -ate
            }
        case 0x73:  // s
            if ends("iveness") || ends("fulness") || ends("ousness") { k = 7; keep = 3 }
        case 0x74:  // t
            if ends("ogist") { k = 5; keep = 2 }  // -og
        default:
            break
        }
        if k == 0 { return }
        let c = n - k
        if p1 > c { return }
        replace(from: c, keep: keep, tail: tail)
    }

    /// The suffix starting at `c` becomes its first `keep` bytes followed by `tail`.
    @inline(__always) mutating func replace(from c: Int, keep: Int, tail: StaticString) {
        var j = c + keep
        let t = tail.utf8CodeUnitCount
        if t > 0 {
            let p = tail.utf8Start
            var i = 0
            while i < t {
                b[j] = p[i]
                j += 1
                i += 1
            }
        }
        n = j
    }

    // MARK: Step 3

    mutating func step3() {
        if n < 3 { return }
        var k = 0
        var keep = 0
        var tail: StaticString = ""
        var needsR2 = false
        switch b[n - 1] {
        case 0x65:  // e
            if ends("icate") {
                k = 5; keep = 2  // -ic
            } else if ends("ative") {
                k = 5; keep = 0; needsR2 = true  // delete in R2
            } else if ends("alize") {
                k = 5; keep = 2  // -al
            }
        case 0x69:  // i
            if ends("iciti") { k = 5; keep = 2 }  // -ic
        case 0x6C:  // l
            if ends("ical") {
                k = 4; keep = 2  // -ic
            } else if ends("ational") {
                k = 7; keep = 2; tail = "e"  // -ate
            } else if ends("tional") {
                k = 6; keep = 4  // -tion
            } else if ends("ful") {
                k = 3; keep = 0
            }
        case 0x73:  // s
            if ends("ness") { k = 4; keep = 0 }
        default:
            break
        }
        if k == 0 { return }
        let c = n - k
        if p1 > c { return }
        if needsR2 && p2 > c { return }
        replace(from: c, keep: keep, tail: tail)
    }

    // MARK: Step 4

    mutating func step4() {
        if n < 2 { return }
        var k = 0
        switch b[n - 1] {
        case 0x63:  // c
            if b[n - 2] == 0x69 { k = 2 }  // -ic
        case 0x65:  // e
            if ends("ance") || ends("ence") || ends("able") || ends("ible") {
                k = 4
            } else if ends("ate") || ends("ive") || ends("ize") {
                k = 3
            }
        case 0x69:  // i
            if ends("iti") { k = 3 }
        case 0x6C:  // l
            if b[n - 2] == 0x61 { k = 2 }  // -al
        case 0x6D:  // m
            if ends("ism") { k = 3 }
        case 0x6E:  // n
            if ends("ion") {
                // -ion after s or t
                let c = n - 3
                if p2 <= c && c >= 1 && (b[c - 1] == 0x73 || b[c - 1] == 0x74) { n = c }
                return
            }
        case 0x72:  // r
            if b[n - 2] == 0x65 { k = 2 }  // -er
        case 0x73:  // s
            if ends("ous") { k = 3 }
        case 0x74:  // t
            if ends("ement") {
                k = 5
            } else if ends("ment") {
                k = 4
            } else if ends("ant") || ends("ent") {
                k = 3
            }
        default:
            break
        }
        if k == 0 { return }
        let c = n - k
        if p2 <= c { n = c }
    }

    // MARK: Step 5

    mutating func step5() {
        let c = n - 1
        if c < 0 { return }
        switch b[c] {
        case 0x65:  // e: delete in R2, or in R1 when not after a short syllable
            if p2 <= c || (p1 <= c && !shortSyllable(at: c)) { n = c }
        case 0x6C:  // l: delete in R2 after l
            if p2 <= c && c >= 1 && b[c - 1] == 0x6C { n = c }
        default:
            break
        }
    }
}
