// The query language: what each construct means (as a normalized query tree) and every error with its column.

import Testing

@testable import Quarry

@Suite("QueryParser")
struct QueryParserTests {
    static let schema = Schema(extraTextFields: ["tags"])

    static func parse(_ text: String, any: Bool = false) throws -> String {
        var p = QueryParser(schema: schema, defaultOr: any)
        return try p.parse(text).description
    }

    static let day = Int64(86400)
    static let y1995 = Int64(788_918_400)  // 1995-01-01T00:00:00Z
    static let y1996 = Int64(820_454_400)

    @Test(
        "meaning of each construct",
        arguments: [
            ("bank", false, "(#1:bank #2:bank)"),
            ("Bank", false, "(#1:bank #2:bank)"),
            ("bank rates", false, "(+(#1:bank #2:bank) +(#1:rates #2:rates))"),
            ("bank rates", true, "(#1:bank #2:bank #1:rates #2:rates)"),
            ("bank OR rates", false, "(#1:bank #2:bank #1:rates #2:rates)"),
            ("bank AND rates", true, "(+(#1:bank #2:bank) +(#1:rates #2:rates))"),
            ("a AND b OR c", false, "((+(#1:a #2:a) +(#1:b #2:b)) #1:c #2:c)"),
            ("a OR b c", false, "(#1:a #2:a (+(#1:b #2:b) +(#1:c #2:c)))"),
            ("bank -loan", false, "(+(#1:bank #2:bank) -(#1:loan #2:loan))"),
            ("bank NOT loan", false, "(+(#1:bank #2:bank) -(#1:loan #2:loan))"),
            ("+bank rates", true, "(+(#1:bank #2:bank) (#1:rates #2:rates))"),
            ("+bank rates -oil", true, "(+(#1:bank #2:bank) (#1:rates #2:rates) -(#1:oil #2:oil))"),
            ("title:bank", false, "#1:bank"),
            ("tags:bank", false, "#3:bank"),
            ("title:(bank rates)", false, "(+#1:bank +#1:rates)"),
            ("\"interest rates\"", false, "(#1:\"interest@0 rates@1\" #2:\"interest@0 rates@1\")"),
            ("body:\"interest rates\"~2", false, "#2:\"interest@0 rates@1\"~2"),
            ("Bank's", false, "(#1:\"bank@0 s@1\" #2:\"bank@0 s@1\")"),
            ("tax-payer", false, "(#1:\"tax@0 payer@1\" #2:\"tax@0 payer@1\")"),
            ("bank bank", false, "(#1:bank #2:bank)"),
            ("(bank)", false, "(#1:bank #2:bank)"),
            ("... bank", false, "(#1:bank #2:bank)"),
            ("id:qn-0001", false, "#0:qn-0001"),
            ("date:1995", false, "(#date:[788918400 TO 820454400))"),
            ("date:[1995 TO 1995]", false, "(#date:[788918400 TO 820454400))"),
            ("date:{1995 TO 1996}", false, "(#date:[820454400 TO 820454400))"),
            ("date:[* TO 1995-01-01]", false, "(#date:[* TO 789004800))"),
            ("date:>=1995", false, "(#date:[788918400 TO *))"),
            ("date:>1995", false, "(#date:[820454400 TO *))"),
            ("date:<1995", false, "(#date:[* TO 788918400))"),
            ("date:<=1995", false, "(#date:[* TO 820454400))"),
            ("bank date:>=1995", false, "(+(#1:bank #2:bank) #date:[788918400 TO *))"),
            ("date:\"Tue, 09 Nov 1994 11:02:01 GMT\"", false, "(#date:[784378921 TO 784378922))"),
        ])
    func meaning(_ text: String, _ any: Bool, _ expected: String) throws {
        #expect(try QueryParserTests.parse(text, any: any) == expected)
    }

    @Test(
        "errors name the column",
        arguments: [
            ("", 1, "empty"),
            ("   ", 1, "empty"),
            ("bank AND", 6, "needs a term on its right"),
            ("OR bank", 1, "needs a term on its left"),
            ("bank OR OR rates", 9, "needs a term on its left"),
            ("(bank", 1, "missing ')'"),
            ("bank)", 5, "unmatched ')'"),
            ("\"interest rates", 1, "not closed"),
            ("-bank", 1, "only excludes"),
            ("NOT bank", 1, "only excludes"),
            ("bank -", 6, "needs a term right after it"),
            ("nosuch:bank", 1, "unknown field 'nosuch'"),
            ("date:[1995 TO", 6, "not closed"),
            ("date:[1995 1996]", 6, "TO"),
            ("date:banana", 6, "cannot read the date"),
            ("date:>=19x5", 8, "cannot read the date"),
            ("\"a b\"~x", 6, "slop"),
            ("title: bank", 6, "no space"),
            ("...", 1, "no searchable terms"),
            // Lucene syntax Quarry does not support, or gets wrong, is an error at its column, never another query.
            ("fortran~3", 8, "fuzzy matching is word~N"),
            ("fortran~1.5", 8, "fuzzy matching is word~N"),
            ("~2", 1, "needs a word before it"),
            ("cobol^x", 6, "needs a boost"),
            ("co^2bol", 3, "needs a boost"),
            ("cobol^-2", 6, "needs a boost"),
            ("\"a b\"^x", 6, "needs a boost"),
            ("(a b)^", 6, "needs a boost"),
            ("co~1bol", 3, "fuzzy matching is word~N"),
            ("[a TO c]", 1, "needs a field"),
            ("title:[a TO c", 7, "not closed"),
            ("title:[a b TO c]", 8, "one word"),
            ("title:[a TO c d]", 13, "one word"),
            ("title:[a c]", 7, "TO"),
            ("\"central *ban\"", 10, "only the last word"),
            ("\"cen?ral ban*\"", 5, "only the last word"),
            ("\"central ban*\"~2", 1, "cannot have a slop"),
            ("tax-pay?", 1, "one word"),
            ("cob*~1", 4, "both wildcards and"),
            ("...*", 1, "no letters or digits"),
            ("cobol||fortran", 6, "put spaces around it"),
            ("bank NOT", 6, "NOT needs a term"),
        ])
    func errors(_ text: String, _ column: Int, _ fragment: String) {
        var p = QueryParser(schema: QueryParserTests.schema)
        do {
            let q = try p.parse(text)
            Issue.record("'\(text)' parsed as \(q), expected an error")
        } catch {
            #expect(error.code == .invalidQuery(column: column), "'\(text)': \(error.code) \(error.message)")
            #expect(error.message.contains(fragment), "'\(text)': \(error.message)")
        }
    }

    @Test("normalization flattens nested OR and AND and drops duplicates")
    func normalization() {
        let a = Query.term(field: 1, term: Array("a".utf8))
        let b = Query.term(field: 1, term: Array("b".utf8))
        let c = Query.term(field: 1, term: Array("c".utf8))
        let nested = Query.boolean(
            must: [], should: [.boolean(must: [], should: [a, b], mustNot: [], filter: []), c, a], mustNot: [], filter: [])
        #expect(nested.normalized() == .boolean(must: [], should: [a, b, c], mustNot: [], filter: []))
        let ands = Query.boolean(
            must: [.boolean(must: [a, b], should: [], mustNot: [], filter: []), c], should: [], mustNot: [], filter: [])
        #expect(ands.normalized() == .boolean(must: [a, b, c], should: [], mustNot: [], filter: []))
        #expect(Query.boolean(must: [a], should: [], mustNot: [], filter: []).normalized() == a)
    }
}

extension QueryParserTests {
    @Test(
        "||, && and ! are OR, AND and NOT",
        arguments: [
            ("cobol || fortran", "cobol OR fortran"),
            ("cobol && fortran", "cobol AND fortran"),
            ("cobol !fortran", "cobol NOT fortran"),
            ("cobol ! fortran", "cobol NOT fortran"),
            ("(a || b) && !c", "(a OR b) AND NOT c"),
        ])
    func operatorAliases(_ text: String, _ same: String) throws {
        #expect(try QueryParserTests.parse(text) == QueryParserTests.parse(same))
    }
}
