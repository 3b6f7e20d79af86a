// The query language (see README.md, "Query syntax"):
//
//     query    := or
//     or       := and ( "OR" and )*                  (with --any, adjacent clauses are OR'ed too)
//     and      := unary ( ["AND"] unary )*           (without --any, adjacency means AND)
//     unary    := "NOT" unary | "-" primary | "+" primary | primary
//     primary  := "(" or ")" | field ":" value | phrase | word
//     phrase   := '"' words '"' [ "~" N ]
//     value    := word | phrase | "(" or ")" | date bound or range (for the date field)
//     date     := "[" (D | "*") "TO" (D | "*") "]" (or "{" "}" for exclusive ends), ">=D", ">D", "<=D", "<D", D
//
// AND binds tighter than OR; AND, OR and NOT are operators only in capitals. Words go through the index's
// analyzer: a word that analyzes to several terms (`tax-payer`, `Bank's`) is a phrase of them, as in Tantivy; a
// word that analyzes to nothing is dropped. Unqualified words and phrases search the default fields (title and
// body) and add up their scores there. Dates are periods: `1995` is the whole year, so `date:<=1995` includes all
// of it and `date:>1995` starts in 1996. Errors name the column (1-based, in characters) of the offending text.

/// Parses query text into a `Query` for a given schema.
public struct QueryParser {
    public let schema: Schema
    /// OR (instead of AND) between adjacent clauses.
    public var defaultOr: Bool
    /// The fields that unqualified words search (ords); title and body by default.
    public var defaultFields: [Int]
    /// Boosts of the default fields for unqualified words (`--boost title=2`): field ord -> boost.
    public var fieldBoosts: [Int: Float] = [:]

    private var analyzer: Analyzer

    /// Creates a parser.
    public init(schema: Schema, defaultOr: Bool = false) {
        self.schema = schema
        self.defaultOr = defaultOr
        self.defaultFields = [1, 2]
        self.analyzer = Analyzer(schema.analyzer)
    }

    /// The deepest nesting of parentheses accepted.
    public static let maxDepth = 64
    /// The most words in one phrase.
    public static let maxPhraseTerms = 64
    /// The most words and phrases in one query (Lucene's `maxClauseCount` is 1,024 too): with the phrase and
    /// nesting limits, this bounds the work of any accepted query (README, Limits).
    public static let maxClauses = 1024
    /// The longest query text, in UTF-8 bytes.
    public static let maxQueryBytes = 64 * 1024

    /// Parses `text`.
    /// - Throws: `QuarryError.invalidQuery(column:)` with a message saying what is wrong.
    public mutating func parse(_ text: String) throws(QuarryError) -> Query {
        if text.utf8.count > QueryParser.maxQueryBytes {
            throw QuarryError(
                .invalidQuery(column: 1),
                "the query has \(text.utf8.count) bytes; a query may have at most \(QueryParser.maxQueryBytes)")
        }
        var lexer = Lexer(text: text, dateField: schema.dateField)
        let tokens = try lexer.tokenize()
        var state = ParseState(tokens: tokens)
        if tokens.count == 1 {  // only the end token
            throw QuarryError(.invalidQuery(column: 1), "the query is empty")
        }
        // Nesting is bounded before any recursion: parsing, normalizing and scoring all recurse per level.
        var depth = 0
        var clauses = 0
        for t in tokens {
            switch t.kind {
            case .word, .phrase, .dateValue, .range:
                // A phrase counts its words: each is a postings list to walk.
                let words = t.kind == .word || t.kind == .dateValue || t.kind == .range ? 1 : max(1, t.text.split(separator: " ").count)
                clauses += words
                if clauses > QueryParser.maxClauses {
                    throw QuarryError(
                        .invalidQuery(column: t.column),
                        "the query has more than \(QueryParser.maxClauses) words (phrases count their words; the limit)")
                }
            default: break
            }
            if t.kind == .open {
                depth += 1
                if depth > QueryParser.maxDepth {
                    throw QuarryError(
                        .invalidQuery(column: t.column),
                        "parentheses nest deeper than \(QueryParser.maxDepth) levels (the limit)")
                }
            } else if t.kind == .close {
                depth = max(0, depth - 1)
            }
        }
        let group = try parseOr(&state, field: nil)
        if let t = state.peek(), t.kind != .end {
            if t.kind == .close {
                throw QuarryError(.invalidQuery(column: t.column), "unmatched ')'")
            }
            throw QuarryError(.invalidQuery(column: t.column), "unexpected \(t.describe)")
        }
        let query = try build(group, column: 1).normalized()
        return query
    }

    // MARK: Grammar

    private enum Occur { case must, should, mustNot, plain }

    private struct Clause {
        var occur: Occur
        var node: Node
        var column: Int
    }

    private indirect enum Node {
        case leaf(Query?)  // nil: the word analyzed to nothing
        case group(Group)
        case boosted(Node, Float)
    }

    /// The query of a node (nil: nothing searchable in it).
    private func query(of node: Node, column: Int) throws(QuarryError) -> Query? {
        switch node {
        case .leaf(let leaf): return leaf
        case .group(let inner): return try build(inner, column: column)
        case .boosted(let inner, let b): return try query(of: inner, column: column).map { .boost($0, b) }
        }
    }

    /// `node` with the boost its token carries, if any.
    private func boosted(_ node: Node, _ t: Token) -> Node {
        guard let b = t.boost else { return node }
        return .boosted(node, b)
    }

    private struct Group {
        /// Alternatives joined by OR; each is a list of clauses joined by AND (or adjacency).
        var alternatives: [[Clause]]
        var explicitAnd: [Bool]
        var column: Int
    }

    private mutating func parseOr(_ s: inout ParseState, field: Int?) throws(QuarryError) -> Group {
        let column = s.peek()?.column ?? 1
        var alternatives: [[Clause]] = []
        var explicitAnd: [Bool] = []
        var current: [Clause] = []
        var currentExplicitAnd = false
        var expectOperand = true
        var lastOperator: Token?
        while let t = s.peek(), t.kind != .end, t.kind != .close {
            switch t.kind {
            case .or:
                if expectOperand {
                    throw QuarryError(.invalidQuery(column: t.column), "OR needs a term on its left")
                }
                s.advance()
                alternatives.append(current)
                explicitAnd.append(currentExplicitAnd)
                current = []
                currentExplicitAnd = false
                expectOperand = true
                lastOperator = t
            case .and:
                if expectOperand {
                    throw QuarryError(.invalidQuery(column: t.column), "AND needs a term on its left")
                }
                s.advance()
                currentExplicitAnd = true
                expectOperand = true
                lastOperator = t
            default:
                if defaultOr && !expectOperand {
                    // Adjacency means OR: a new alternative.
                    alternatives.append(current)
                    explicitAnd.append(currentExplicitAnd)
                    current = []
                    currentExplicitAnd = false
                }
                current.append(try parseUnary(&s, field: field))
                expectOperand = false
                lastOperator = nil
            }
        }
        if let op = lastOperator {
            throw QuarryError(
                .invalidQuery(column: op.column), "\(op.kind == .or ? "OR" : "AND") needs a term on its right")
        }
        alternatives.append(current)
        explicitAnd.append(currentExplicitAnd)
        return Group(alternatives: alternatives, explicitAnd: explicitAnd, column: column)
    }

    private mutating func parseUnary(_ s: inout ParseState, field: Int?) throws(QuarryError) -> Clause {
        guard let t = s.peek() else { throw QuarryError(.invalidQuery(column: 1), "unexpected end of query") }
        switch t.kind {
        case .not:
            // A run of NOTs (`NOT NOT x`, `!!!x`) excludes as one does: it is read in a loop, not by recursion,
            // so no run is long enough to exhaust the stack.
            var last = t
            s.advance()
            while let next = s.peek(), next.kind == .not {
                last = next
                s.advance()
            }
            guard let next = s.peek(), next.kind != .end, next.kind != .close, next.kind != .and, next.kind != .or
            else {
                throw QuarryError(.invalidQuery(column: last.column), "NOT needs a term after it")
            }
            let inner = try parseUnary(&s, field: field)
            return Clause(occur: .mustNot, node: inner.node, column: t.column)
        case .minus, .plus:
            s.advance()
            guard let next = s.peek(), next.kind != .end, next.kind != .close, next.kind != .and, next.kind != .or
            else {
                throw QuarryError(
                    .invalidQuery(column: t.column), "'\(t.kind == .minus ? "-" : "+")' needs a term right after it")
            }
            let node = try parsePrimary(&s, field: field)
            return Clause(occur: t.kind == .minus ? .mustNot : .must, node: node, column: t.column)
        default:
            return Clause(occur: .plain, node: try parsePrimary(&s, field: field), column: t.column)
        }
    }

    private mutating func parsePrimary(_ s: inout ParseState, field: Int?) throws(QuarryError) -> Node {
        guard let t = s.peek() else { throw QuarryError(.invalidQuery(column: 1), "unexpected end of query") }
        switch t.kind {
        case .open:
            s.advance()
            let g = try parseOr(&s, field: field)
            guard let c = s.peek(), c.kind == .close else {
                throw QuarryError(.invalidQuery(column: t.column), "missing ')' for this '('")
            }
            s.advance()
            return boosted(.group(g), c)
        case .word:
            s.advance()
            return boosted(.leaf(try leaf(t, phrase: false, slop: 0, field: field)), t)
        case .phrase(let slop):
            s.advance()
            return boosted(.leaf(try leaf(t, phrase: true, slop: slop, field: field)), t)
        case .range:
            throw QuarryError(
                .invalidQuery(column: t.column), "a range needs a field, e.g. title:[a TO c] or \(schema.dateField):[1995 TO 1996]")
        case .field:
            s.advance()
            return try parseFieldValue(&s, name: t.text, column: t.column, outer: field)
        case .dateValue:
            throw QuarryError(.invalidQuery(column: t.column), "a date needs the date field: \(schema.dateField):\(t.text)")
        case .close:
            throw QuarryError(.invalidQuery(column: t.column), "unmatched ')'")
        default:
            throw QuarryError(.invalidQuery(column: t.column), "unexpected \(t.describe)")
        }
    }

    private mutating func parseFieldValue(_ s: inout ParseState, name: String, column: Int, outer: Int?)
        throws(QuarryError) -> Node
    {
        guard let v = s.peek(), v.kind != .end else {
            throw QuarryError(.invalidQuery(column: column), "'\(name):' needs a value")
        }
        if name == schema.dateField {
            s.advance()
            guard case .dateValue = v.kind else {
                throw QuarryError(.invalidQuery(column: v.column), "expected a date or a date range after '\(name):'")
            }
            return .leaf(try dateQuery(v.text, column: v.column))
        }
        if name == "_exists_" {
            s.advance()
            guard v.kind == .word else {
                throw QuarryError(.invalidQuery(column: v.column), "expected a field name after '_exists_:'")
            }
            return .leaf(try exists(v.text, column: v.column))
        }
        if name == schema.idField {
            s.advance()
            switch v.kind {
            case .word where v.text == "*":
                return .leaf(.exists(field: Schema.idOrd))
            case .word where v.wildcard:
                return boosted(.leaf(try idPattern(v)), v)
            case .word where v.fuzzy != nil:
                // Ids are matched as they are: the edits are counted on the id's own characters.
                let bytes = Array(v.text.utf8)
                let d = v.fuzzy ?? 0
                let q: Query =
                    d == 0
                    ? .term(field: Schema.idOrd, term: bytes)
                    : .multiTerm(field: Schema.idOrd, pattern: .fuzzy(bytes, distance: d), column: v.column)
                return boosted(.leaf(q), v)
            case .word, .phrase:
                return boosted(.leaf(.term(field: Schema.idOrd, term: Array(v.text.utf8))), v)
            case .range:
                return boosted(.leaf(try range(v, field: Schema.idOrd)), v)
            default:
                throw QuarryError(.invalidQuery(column: v.column), "expected an id after '\(name):'")
            }
        }
        guard let ord = schema.textFieldOrd(name) else {
            let known = ([schema.idField, schema.dateField] + schema.textFields).joined(separator: ", ")
            throw QuarryError(
                .invalidQuery(column: column),
                "unknown field '\(name)' (the fields are \(known)); to search for the text, put it in double quotes")
        }
        _ = outer
        switch v.kind {
        case .word where v.text == "*":
            s.advance()
            return .leaf(.exists(field: ord))
        case .word:
            s.advance()
            return boosted(.leaf(try leaf(v, phrase: false, slop: 0, field: ord)), v)
        case .phrase(let slop):
            s.advance()
            return boosted(.leaf(try leaf(v, phrase: true, slop: slop, field: ord)), v)
        case .range:
            s.advance()
            return boosted(.leaf(try range(v, field: ord)), v)
        case .open:
            s.advance()
            let g = try parseOr(&s, field: ord)
            guard let c = s.peek(), c.kind == .close else {
                throw QuarryError(.invalidQuery(column: v.column), "missing ')' for this '('")
            }
            s.advance()
            return boosted(.group(g), c)
        default:
            throw QuarryError(.invalidQuery(column: v.column), "expected a word, a phrase or '(' after '\(name):'")
        }
    }

    /// The query for a word or phrase token in `field` (nil: the default fields, each with its boost).
    private mutating func leaf(_ t: Token, phrase: Bool, slop: Int, field: Int?) throws(QuarryError) -> Query? {
        let one: (Int) -> Query
        if t.text == "*" && !phrase {
            return .exists(field: Schema.idOrd)  // every document, as Lucene's `*:*`
        } else if !phrase && t.wildcard {
            one = try wildcardLeaf(t)
        } else if !phrase, let distance = t.fuzzy {
            one = try fuzzyLeaf(t, distance: distance)
        } else if phrase && t.wildcard {
            one = try phrasePrefixLeaf(t, slop: slop)
        } else {
            let terms = analyzer.terms(t.text)
            if terms.isEmpty { return nil }
            if terms.count > QueryParser.maxPhraseTerms {
                throw QuarryError(
                    .invalidQuery(column: t.column),
                    "the phrase has \(terms.count) words; a phrase may have at most \(QueryParser.maxPhraseTerms)")
            }
            one = { f in
                if terms.count == 1 { return .term(field: f, term: terms[0].term) }
                let base = terms[0].position
                return .phrase(
                    field: f, terms: terms.map(\.term), offsets: terms.map { $0.position - base }, slop: slop)
            }
        }
        if let field { return one(field) }
        return .boolean(
            must: [],
            should: defaultFields.map { f in
                let b = fieldBoosts[f] ?? 1
                return b == 1 ? one(f) : .boost(one(f), b)
            }, mustNot: [], filter: [])
    }

    /// `y2k*`, `cob?l`, `*ing`: a prefix or wildcard pattern. The literal parts are normalized as the index's
    /// terms are (lowercased, folded) but not stemmed. A word whose literal part is several terms and that ends in
    /// `*` (`tax-pay*`) is a phrase whose last word is a prefix.
    private mutating func wildcardLeaf(_ t: Token) throws(QuarryError) -> (Int) -> Query {
        let scalars = Array(t.text.unicodeScalars)
        if scalars.last == "*", !scalars.dropLast().contains("*"), !scalars.contains("?"),
            analyzer.normalizedTerms(scalarString(scalars.dropLast())).count > 1
        {
            return try phrasePrefixLeaf(t, slop: 0)
        }
        var parts: [TermPattern.WildcardPart] = []
        var literal = String.UnicodeScalarView()
        var column = t.column
        var chunkColumn = t.column
        func flush() throws(QuarryError) {
            if literal.isEmpty { return }
            let text = String(literal)
            literal = String.UnicodeScalarView()
            let terms = analyzer.normalizedTerms(text)
            guard terms.count == 1 else {
                throw QuarryError(
                    .invalidQuery(column: chunkColumn),
                    terms.isEmpty
                        ? "'\(text)' has no letters or digits to match"
                        : "a wildcard applies to one word: '\(text)' is \(terms.count) words (use a phrase, e.g. \"a b*\")")
            }
            parts.append(.literal(terms[0]))
        }
        for c in t.text.unicodeScalars {
            if c == "*" || c == "?" {
                try flush()
                if c == "*" {
                    if case .anyRun = parts.last {} else { parts.append(.anyRun) }
                } else {
                    parts.append(.anyOne)
                }
                chunkColumn = column + 1
            } else {
                if literal.isEmpty { chunkColumn = column }
                literal.append(c)
            }
            column += 1
        }
        // `tax-pay*`: a phrase prefix.
        if !literal.isEmpty { try flush() }
        let pattern: TermPattern
        if parts.count == 2, case .literal(let p) = parts[0], case .anyRun = parts[1] {
            pattern = .prefix(p)
        } else {
            pattern = .wildcard(parts)
        }
        if parts.count == 1, case .anyRun = parts[0] {
            return { f in .exists(field: f) }
        }
        let col = t.column
        return { f in .multiTerm(field: f, pattern: pattern, column: col) }
    }

    /// `fortran~1`: the word normalized as the index's terms are, not stemmed (Lucene's fuzzy query), then
    /// matched within N edits.
    private mutating func fuzzyLeaf(_ t: Token, distance: Int) throws(QuarryError) -> (Int) -> Query {
        let terms = analyzer.normalizedTerms(t.text).map { (term: $0, position: 0) }
        guard terms.count == 1 else {
            throw QuarryError(
                .invalidQuery(column: t.column),
                terms.isEmpty
                    ? "'\(t.text)' has no letters or digits to match"
                    : "fuzzy matching applies to one word: '\(t.text)' is \(terms.count) words")
        }
        let term = terms[0].term
        if distance == 0 { return { f in .term(field: f, term: term) } }
        let col = t.column
        return { f in .multiTerm(field: f, pattern: .fuzzy(term, distance: distance), column: col) }
    }

    /// `"central ban*"`: a phrase whose last word is a prefix (only there, and without slop).
    private mutating func phrasePrefixLeaf(_ t: Token, slop: Int) throws(QuarryError) -> (Int) -> Query {
        let scalars = Array(t.text.unicodeScalars)
        var end = scalars.count
        while end > 0 && Lexer.isSpace(scalars[end - 1]) { end -= 1 }
        for (k, c) in scalars.enumerated() where (c == "*" || c == "?") && !(c == "*" && k == end - 1) {
            throw QuarryError(
                .invalidQuery(column: t.column + 1 + k),
                "inside a phrase only the last word may end with '*' (a prefix), e.g. \"central ban*\"")
        }
        if slop > 0 {
            throw QuarryError(.invalidQuery(column: t.column), "a phrase ending with a prefix cannot have a slop")
        }
        let text = scalarString(scalars[0..<(end - 1)])
        let words = analyzer.normalizedTerms(text)
        guard let prefix = words.last else {
            throw QuarryError(.invalidQuery(column: t.column), "the phrase has no letters or digits before its '*'")
        }
        // The words before the prefix, analyzed as a phrase is (stemmed too), with their positions.
        let all = analyzer.terms(text)
        if all.count > QueryParser.maxPhraseTerms {
            throw QuarryError(
                .invalidQuery(column: t.column),
                "the phrase has \(all.count) words; a phrase may have at most \(QueryParser.maxPhraseTerms)")
        }
        let before = Array(all.dropLast())
        let col = t.column
        if before.isEmpty {
            return { f in .multiTerm(field: f, pattern: .prefix(prefix), column: col) }
        }
        let base = before[0].position
        let lastPosition = all.last.map { $0.position - base } ?? 0
        let offsets = before.map { $0.position - base }
        let terms = before.map(\.term)
        _ = lastPosition
        return { f in
            .phrasePrefix(field: f, terms: terms, offsets: offsets, prefix: prefix, column: col)
        }
    }

    /// `id:abc*`: ids are matched as they are, byte for byte (no analysis).
    private func idPattern(_ t: Token) throws(QuarryError) -> Query {
        var parts: [TermPattern.WildcardPart] = []
        var literal: [UInt8] = []
        for c in t.text.unicodeScalars {
            if c == "*" || c == "?" {
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = []
                if c == "*" {
                    if case .anyRun = parts.last {} else { parts.append(.anyRun) }
                } else {
                    parts.append(.anyOne)
                }
            } else {
                literal.append(contentsOf: String(c).utf8)
            }
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        if parts.count == 2, case .literal(let p) = parts[0], case .anyRun = parts[1] {
            return .multiTerm(field: Schema.idOrd, pattern: .prefix(p), column: t.column)
        }
        return .multiTerm(field: Schema.idOrd, pattern: .wildcard(parts), column: t.column)
    }

    /// `title:[a TO c]`, `id:{a TO *]`: terms between two bounds in byte order. Text bounds are normalized as
    /// terms are (not stemmed); ids are taken as they are.
    private mutating func range(_ t: Token, field: Int) throws(QuarryError) -> Query {
        let scalars = Array(t.text.unicodeScalars)
        guard let open = scalars.first, let close = scalars.last, scalars.count >= 2 else {
            throw QuarryError(.invalidQuery(column: t.column), "the range is not closed with ']' or '}'")
        }
        let inner = scalarString(scalars[1..<(scalars.count - 1)])
        let parts = inner.split(separator: " TO ", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw QuarryError(.invalidQuery(column: t.column), "a range is written [FROM TO UNTIL], with TO in capitals")
        }
        func bound(_ raw: Substring, column: Int) throws(QuarryError) -> [UInt8]? {
            let text = stripQuotes(raw.trimmingSpaces)
            if text == "*" { return nil }
            if field == Schema.idOrd { return Array(text.utf8) }
            let terms = analyzer.normalizedTerms(text)
            guard terms.count == 1 else {
                throw QuarryError(
                    .invalidQuery(column: column),
                    terms.isEmpty
                        ? "the range bound '\(text)' has no letters or digits" : "a range bound is one word: '\(text)'")
            }
            return terms[0]
        }
        let lower = try bound(parts[0], column: t.column + 1)
        let upper = try bound(parts[1], column: t.column + 1 + parts[0].count + 4)
        return .multiTerm(
            field: field,
            pattern: .range(lower: lower, upper: upper, includeLower: open == "[", includeUpper: close == "]"),
            column: t.column)
    }

    /// `_exists_:field`: documents where the field has a term (a date, for the date field; every document for the
    /// id field).
    private func exists(_ name: String, column: Int) throws(QuarryError) -> Query {
        if name == schema.dateField { return .dateRange(lower: nil, upper: nil) }
        if name == schema.idField { return .exists(field: Schema.idOrd) }
        guard let ord = schema.textFieldOrd(name) else {
            let known = ([schema.idField, schema.dateField] + schema.textFields).joined(separator: ", ")
            throw QuarryError(.invalidQuery(column: column), "unknown field '\(name)' (the fields are \(known))")
        }
        return .exists(field: ord)
    }

    private func dateQuery(_ text: String, column: Int) throws(QuarryError) -> Query {
        func period(_ s: String, _ col: Int) throws(QuarryError) -> (Int64, Int64) {
            guard let p = DateParser.parsePeriod(s) else {
                throw QuarryError(
                    .invalidQuery(column: col),
                    "cannot read the date '\(s)' (use e.g. 1995, 1995-03, 1995-03-01, 1995-03-01T12:00:00Z or 'Tue, 09 Nov 1994 11:02:01 GMT')")
            }
            return (p.start, p.end)
        }
        var s = text
        let scalars = Array(s.unicodeScalars)
        if let first = scalars.first, first == "[" || first == "{" {
            guard let last = scalars.last, last == "]" || last == "}", scalars.count >= 2 else {
                throw QuarryError(.invalidQuery(column: column), "the date range is not closed with ']' or '}'")
            }
            let inner = scalarString(scalars[1..<(scalars.count - 1)])
            let parts = inner.split(separator: " TO ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw QuarryError(.invalidQuery(column: column), "a date range is written [FROM TO UNTIL], with TO in capitals")
            }
            let lo = parts[0].trimmingSpaces
            let hi = parts[1].trimmingSpaces
            var lower: Int64?
            var upper: Int64?
            if lo != "*" {
                let (a, b) = try period(stripQuotes(lo), column + 1)
                lower = first == "[" ? a : b
            }
            if hi != "*" {
                let (a, b) = try period(stripQuotes(hi), column + 1 + lo.count)
                upper = last == "]" ? b : a
            }
            return .dateRange(lower: lower, upper: upper)
        }
        var op = ""
        for prefix in [">=", "<=", ">", "<"] where s.hasPrefix(prefix) {
            op = prefix
            s.removeFirst(prefix.count)
            break
        }
        let (a, b) = try period(stripQuotes(s.trimmingSpaces), column + op.count)
        switch op {
        case ">=": return .dateRange(lower: a, upper: nil)
        case ">": return .dateRange(lower: b, upper: nil)
        case "<=": return .dateRange(lower: nil, upper: b)
        case "<": return .dateRange(lower: nil, upper: a)
        default: return .dateRange(lower: a, upper: b)
        }
    }

    private func stripQuotes(_ s: String) -> String {
        if s.count >= 2 && s.hasPrefix("\"") && s.hasSuffix("\"") { return String(s.dropFirst().dropLast()) }
        return s
    }

    // MARK: Building

    private func build(_ g: Group, column: Int) throws(QuarryError) -> Query {
        // Clauses of the whole group: a lone +x, -x or date between ORs (or, with --any, between adjacent words)
        // constrains the whole group, as in Lucene and Tantivy (`+a b -c`).
        var groupMust: [Query] = []
        var groupMustNot: [Query] = []
        var groupFilter: [Query] = []
        var alternatives: [Query] = []
        let several = g.alternatives.count > 1
        for (k, clauses) in g.alternatives.enumerated() {
            if several && clauses.count == 1 && !g.explicitAnd[k] {
                let c = clauses[0]
                let q = try query(of: c.node, column: c.column)
                var lifted = true
                if let q {
                    if case .dateRange = q, c.occur != .mustNot {
                        groupFilter.append(q)
                    } else if c.occur == .must {
                        groupMust.append(q)
                    } else if c.occur == .mustNot {
                        groupMustNot.append(q)
                    } else {
                        lifted = false
                    }
                }
                if lifted { continue }
            }
            var must: [Query] = []
            var should: [Query] = []
            var mustNot: [Query] = []
            var filter: [Query] = []
            // Without --any, adjacent clauses are all required; with --any, only those joined by AND.
            let andGroup = !defaultOr || g.explicitAnd[k]
            for c in clauses {
                let q = try query(of: c.node, column: c.column)
                guard let q else { continue }
                switch c.occur {
                case .mustNot: mustNot.append(q)
                case .must:
                    if case .dateRange = q { filter.append(q) } else { must.append(q) }
                case .should:
                    should.append(q)
                case .plain:
                    if case .dateRange = q {
                        filter.append(q)
                    } else if andGroup {
                        must.append(q)
                    } else {
                        should.append(q)
                    }
                }
            }
            if must.isEmpty && should.isEmpty && filter.isEmpty {
                if !mustNot.isEmpty {
                    throw QuarryError(
                        .invalidQuery(column: clauses.first?.column ?? g.column),
                        "this part of the query only excludes terms; add a term to search for")
                }
                continue  // every word analyzed to nothing
            }
            alternatives.append(.boolean(must: must, should: should, mustNot: mustNot, filter: filter))
        }
        if alternatives.isEmpty && groupMust.isEmpty && groupFilter.isEmpty {
            if !groupMustNot.isEmpty {
                throw QuarryError(
                    .invalidQuery(column: g.column), "the query only excludes terms; add a term to search for")
            }
            throw QuarryError(
                .invalidQuery(column: g.column), "the query has no searchable terms (words of letters or digits)")
        }
        if alternatives.count == 1 && groupMust.isEmpty && groupMustNot.isEmpty && groupFilter.isEmpty {
            return alternatives[0]
        }
        return .boolean(must: groupMust, should: alternatives, mustNot: groupMustNot, filter: groupFilter)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        var s = self[...]
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    fileprivate var trimmingSpaces: String { self[...].trimmingSpaces }
}

// MARK: - Lexer

private struct Token {
    enum Kind: Equatable {
        case word, phrase(slop: Int), field, dateValue, range, open, close, and, or, not, plus, minus, end
    }
    var kind: Kind
    var text: String
    var column: Int
    /// `^B` after the word, phrase, range or ')'.
    var boost: Float? = nil
    /// `word~N`: the edit distance (the text is the word without it).
    var fuzzy: Int? = nil

    /// True if the text has a wildcard ('*' or '?').
    var wildcard: Bool { text.unicodeScalars.contains { $0 == "*" || $0 == "?" } }

    var describe: String {
        switch kind {
        case .word: return "word '\(text)'"
        case .phrase: return "phrase"
        case .field: return "field '\(text):'"
        case .dateValue: return "date '\(text)'"
        case .range: return "range '\(text)'"
        case .open: return "'('"
        case .close: return "')'"
        case .and: return "AND"
        case .or: return "OR"
        case .not: return text == "!" ? "'!'" : "NOT"
        case .plus: return "'+'"
        case .minus: return "'-'"
        case .end: return "end of query"
        }
    }
}

private struct ParseState {
    let tokens: [Token]
    var i = 0
    func peek() -> Token? { i < tokens.count ? tokens[i] : nil }
    mutating func advance() { i += 1 }
}

private struct Lexer {
    let chars: [Unicode.Scalar]
    let dateField: String
    var i = 0

    init(text: String, dateField: String) {
        chars = Array(text.unicodeScalars)
        self.dateField = dateField
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }

    mutating func tokenize() throws(QuarryError) -> [Token] {
        var out: [Token] = []
        var afterField = false
        var afterDateField = false
        while i < chars.count {
            let c = chars[i]
            let column = i + 1
            if Lexer.isSpace(c) {
                i += 1
                if afterField {
                    throw QuarryError(.invalidQuery(column: column - 1), "a field name must be followed by its value, with no space")
                }
                continue
            }
            if afterDateField {
                afterDateField = false
                afterField = false
                out.append(Token(kind: .dateValue, text: try dateValue(), column: column))
                continue
            }
            let startOfTerm = !afterField
            afterField = false
            switch c {
            case "(":
                out.append(Token(kind: .open, text: "(", column: column))
                i += 1
            case ")":
                i += 1
                out.append(Token(kind: .close, text: ")", column: column, boost: try boostSuffix()))
            case "\"":
                var t = try phrase()
                t.boost = try boostSuffix()
                out.append(t)
            case "[" where !startOfTerm, "{" where !startOfTerm:
                // A range after a field name (the date field's values are read by `dateValue`).
                var j = i + 1
                let closing: Set<Unicode.Scalar> = ["]", "}"]
                while j < chars.count && !closing.contains(chars[j]) { j += 1 }
                guard j < chars.count else {
                    throw QuarryError(.invalidQuery(column: column), "the range is not closed with ']' or '}'")
                }
                let text = scalarString(chars[i...j])
                i = j + 1
                out.append(Token(kind: .range, text: text, column: column, boost: try boostSuffix()))
            case "+" where startOfTerm && (i + 1 == chars.count || !Lexer.isSpace(chars[i + 1])):
                out.append(Token(kind: .plus, text: "+", column: column))
                i += 1
            case "-" where startOfTerm && (i + 1 == chars.count || !Lexer.isSpace(chars[i + 1])):
                out.append(Token(kind: .minus, text: "-", column: column))
                i += 1
            case "!" where startOfTerm && (i + 1 == chars.count || chars[i + 1] != "="):
                // `!word` and `! word`: NOT, as in Lucene's syntax.
                out.append(Token(kind: .not, text: "!", column: column))
                i += 1
            default:
                var j = i
                while j < chars.count && !Lexer.isSpace(chars[j]) && chars[j] != "(" && chars[j] != ")"
                    && chars[j] != "\"" && chars[j] != ":"
                {
                    j += 1
                }
                let word = scalarString(chars[i..<j])
                if j < chars.count && chars[j] == ":" && j > i && Lexer.isFieldName(chars[i..<j]) {
                    out.append(Token(kind: .field, text: word, column: column))
                    i = j + 1
                    afterField = true
                    if word == dateField { afterDateField = true }
                    if i >= chars.count {
                        throw QuarryError(.invalidQuery(column: column), "'\(word):' needs a value")
                    }
                    continue
                }
                if j < chars.count && chars[j] == ":" {
                    // A colon inside a word that is not a field prefix (e.g. 10:30): keep it in the word.
                    j += 1
                    while j < chars.count && !Lexer.isSpace(chars[j]) && chars[j] != "(" && chars[j] != ")"
                        && chars[j] != "\""
                    {
                        j += 1
                    }
                }
                let text = scalarString(chars[i..<j])
                switch text {
                case "AND", "&&": out.append(Token(kind: .and, text: text, column: column))
                case "OR", "||": out.append(Token(kind: .or, text: text, column: column))
                case "NOT": out.append(Token(kind: .not, text: text, column: column))
                default:
                    out.append(try Lexer.word(chars[i..<j], column: column))
                }
                i = j
            }
        }
        out.append(Token(kind: .end, text: "", column: chars.count + 1))
        return out
    }

    /// A word, with its `~N` (fuzzy) and `^B` (boost) suffixes read off. Characters of Lucene's syntax that Quarry
    /// does not support inside a word are refused with their column, rather than read as separators (which made
    /// `cobol^2` the phrase "cobol 2").
    static func word(_ word: ArraySlice<Unicode.Scalar>, column: Int) throws(QuarryError) -> Token {
        var body = word
        var boost: Float?
        var fuzzy: Int?
        if let caret = body.lastIndex(of: "^") {
            let digits = body[(caret + 1)...]
            let at = column + (caret - word.startIndex)
            guard caret > body.startIndex, let b = Lexer.boostValue(digits) else {
                throw QuarryError(
                    .invalidQuery(column: at), "'^' needs a boost after it, a number from 0 to 1000000 such as 2 or 0.5")
            }
            boost = b
            body = body[..<caret]
        }
        if let tilde = body.firstIndex(of: "~") {
            let digits = body[(tilde + 1)...]
            let at = column + (tilde - word.startIndex)
            if tilde == body.startIndex {
                throw QuarryError(.invalidQuery(column: at), "'~' needs a word before it (fuzzy: word~1)")
            }
            if digits.isEmpty {
                fuzzy = 2
            } else if digits.count == 1, let d = digits.first, ("0"..."2").contains(d) {
                fuzzy = Int(d.value - 48)
            } else {
                throw QuarryError(
                    .invalidQuery(column: at),
                    "fuzzy matching is word~N with N = 0, 1 or 2 edits ('~' after a phrase sets its slop, e.g. \"a b\"~2)")
            }
            body = body[..<tilde]
        }
        var previous: Unicode.Scalar = " "
        for (k, c) in body.enumerated() {
            let at = column + k
            defer { previous = c }
            switch c {
            case "^", "~":
                throw QuarryError(.invalidQuery(column: at), "'\(c)' goes at the end of a word (word~1, word^2)")
            case "[", "]", "{", "}":
                throw QuarryError(
                    .invalidQuery(column: at), "a range needs a field, e.g. title:[a TO c] or date:[1995 TO 1996]")
            case "*" where fuzzy != nil, "?" where fuzzy != nil:
                throw QuarryError(.invalidQuery(column: at), "a word cannot have both wildcards and '~'")
            case "&" where previous == "&", "|" where previous == "|":
                throw QuarryError(.invalidQuery(column: at - 1), "'\(c)\(c)' is an operator: put spaces around it")
            default: continue
            }
        }
        return Token(
            kind: .word, text: scalarString(body), column: column, boost: boost, fuzzy: fuzzy)
    }

    /// A boost's number: digits with at most one point, from 0 to 1,000,000.
    static func boostValue(_ s: ArraySlice<Unicode.Scalar>) -> Float? {
        guard !s.isEmpty, s.count <= 16, s.allSatisfy({ ("0"..."9").contains($0) || $0 == "." }),
            s.filter({ $0 == "." }).count <= 1, let v = Float(scalarString(s)), v.isFinite,
            v >= 0, v <= 1_000_000
        else { return nil }
        return v
    }

    /// A `^B` right after a phrase, a range or ')'.
    mutating func boostSuffix() throws(QuarryError) -> Float? {
        guard i < chars.count, chars[i] == "^" else { return nil }
        let column = i + 1
        var j = i + 1
        while j < chars.count && (("0"..."9").contains(chars[j]) || chars[j] == ".") { j += 1 }
        let followedByWord = j < chars.count && !Lexer.isSpace(chars[j]) && chars[j] != ")" && chars[j] != "("
        guard !followedByWord, let b = Lexer.boostValue(chars[(i + 1)..<j]) else {
            throw QuarryError(
                .invalidQuery(column: column), "'^' needs a boost after it, a number from 0 to 1000000 such as 2 or 0.5")
        }
        i = j
        return b
    }

    static func isFieldName(_ s: ArraySlice<Unicode.Scalar>) -> Bool {
        guard let first = s.first, first.properties.isAlphabetic || first == "_" else { return false }
        return s.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "." }
    }

    private mutating func phrase() throws(QuarryError) -> Token {
        let column = i + 1
        i += 1
        var j = i
        while j < chars.count && chars[j] != "\"" { j += 1 }
        guard j < chars.count else {
            throw QuarryError(.invalidQuery(column: column), "the phrase is not closed (missing '\"')")
        }
        let text = scalarString(chars[i..<j])
        i = j + 1
        var slop = 0
        if i < chars.count && chars[i] == "~" {
            let tildeColumn = i + 1
            i += 1
            var digits = ""
            while i < chars.count, ("0"..."9").contains(chars[i]) {
                digits.unicodeScalars.append(chars[i])
                i += 1
            }
            let followedByWord =
                i < chars.count && !Lexer.isSpace(chars[i]) && chars[i] != ")" && chars[i] != "(" && chars[i] != "^"
            guard let n = Int(digits), n <= 10_000, !followedByWord else {
                throw QuarryError(.invalidQuery(column: tildeColumn), "'~' after a phrase needs a slop of 0 to 10000, e.g. \"a b\"~2")
            }
            slop = n
        }
        return Token(kind: .phrase(slop: slop), text: text, column: column)
    }

    /// The value after `date:`: a range in brackets, a comparison, a quoted date or a bare date.
    private mutating func dateValue() throws(QuarryError) -> String {
        let start = i
        let c = chars[i]
        if c == "[" || c == "{" {
            var j = i + 1
            while j < chars.count && chars[j] != "]" && chars[j] != "}" { j += 1 }
            guard j < chars.count else {
                throw QuarryError(.invalidQuery(column: start + 1), "the date range is not closed with ']' or '}'")
            }
            i = j + 1
            return scalarString(chars[start..<i])
        }
        var j = i
        while j < chars.count && (chars[j] == ">" || chars[j] == "<" || chars[j] == "=") { j += 1 }
        if j < chars.count && chars[j] == "\"" {
            var k = j + 1
            while k < chars.count && chars[k] != "\"" { k += 1 }
            guard k < chars.count else {
                throw QuarryError(.invalidQuery(column: j + 1), "the quoted date is not closed (missing '\"')")
            }
            i = k + 1
            return scalarString(chars[start..<i])
        }
        while j < chars.count && !Lexer.isSpace(chars[j]) && chars[j] != ")" { j += 1 }
        i = j
        return scalarString(chars[start..<i])
    }
}

/// The text of `scalars` (the query parser works on scalars, for columns; building a String scalar by scalar through
/// `String.UnicodeScalarView` costs thousands of instructions a word, UTF-8 bytes a few per character).
private func scalarString<S: Sequence<Unicode.Scalar>>(_ scalars: S) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(scalars.underestimatedCount * 2)
    for c in scalars {
        if c.value < 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: c.value))
        } else if let encoded = UTF8.encode(c) {
            bytes.append(contentsOf: encoded)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
