// MediaWiki exports: a realistic dump written here (siteinfo, an article with an infobox, references, links, a
// table, categories, a captioned file and headings; a redirect; a project page; two revisions; entities), its pages
// cut the same however the bytes arrive, one document per article; wikitext reduced to prose construct by
// construct, unbalanced markup, pathological nesting and random bytes.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct WikipediaTests {
    /// Text as MediaWiki's dumps write it inside <text>: `&`, `<`, `>` and `"` escaped.
    static func xmlEscaped(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The article's wikitext, as an editor wrote it.
    static let article = """
        {{Short description|Commune in Drôme, France}}
        {{Use dmy dates|date=March 2024}}
        {{Infobox French commune
        | name = Montclair
        | image = [[File:Montclair village.jpg|250px|alt=The village]]
        | population = {{formatnum:12345}}
        | mayor = [[Jean Dupont]] ({{abbr|DVD|Miscellaneous right}})
        | coordinates = {{coord|44|55|N|4|53|E|display=inline,title}}
        }}
        '''Montclair''' ({{IPA-fr|mɔ̃klɛʁ}}) is a [[Communes of France|commune]] in the [[Drôme]] department of \
        south-eastern [[France]].<ref name="insee">{{cite web |url=https://www.insee.fr/x |title=Populations légales \
        |publisher=INSEE}}</ref> It lies on the river&nbsp;&ndash; the [[Rhône]] &ndash; near \
        [[Valence, Drôme|Valence]].<ref name="insee"/>

        [[File:Montclair church.jpg|thumb|left|The church of [[Saint Martin]] in ''Montclair'', \
        built {{circa|1150}}]]

        == History ==
        The town was founded in 1205.<!-- check the date --> Its name means ''clear mountain''.\
        <ref>{{cite book|last=Martin|title=Les noms de lieux|year=1990|page=42}}</ref> See also the \
        [http://example.org/montclair official site] and http://example.org/archive.

        === Population ===
        {| class="wikitable sortable"
        |+ Population by year
        |-
        ! Year !! Population
        |-
        | 1990 || 10,000<ref>Census.</ref>
        |-
        | 2020 || {{formatnum:12345}}
        |}
        The population grew by 23% between 1990 and 2020.

        == Notes ==
        * A list item with [[Link target|a link]]
        # A numbered item
        : An indented line
        ; Term : Definition
        <nowiki>[[not a link]]</nowiki> and 5 &lt; 6.

        {{Reflist}}
        __NOTOC__
        [[Category:Communes of Drôme]]
        [[Category:Populated places established in the 1200s|Montclair]]
        [[de:Montclair (Drôme)]]
        """

    static let dump = """
        <mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" \
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
        xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.11/ http://www.mediawiki.org/xml/export-0.11.xsd" \
        version="0.11" xml:lang="en">
          <siteinfo>
            <sitename>Wikipedia</sitename>
            <dbname>enwiki</dbname>
            <base>https://en.wikipedia.org/wiki/Main_Page</base>
            <generator>MediaWiki 1.42.0-wmf.20</generator>
            <case>first-letter</case>
            <namespaces>
              <namespace key="-2" case="first-letter">Media</namespace>
              <namespace key="0" case="first-letter" />
              <namespace key="4" case="first-letter">Wikipedia</namespace>
            </namespaces>
          </siteinfo>
          <page>
            <title>Montclair</title>
            <ns>0</ns>
            <id>12345</id>
            <revision>
              <id>1200000001</id>
              <parentid>1199999999</parentid>
              <timestamp>2024-02-03T04:05:06Z</timestamp>
              <contributor>
                <username>Example</username>
                <id>42</id>
              </contributor>
              <comment>copyedit &amp; refs</comment>
              <origin>1200000001</origin>
              <model>wikitext</model>
              <format>text/x-wiki</format>
              <text bytes="2048" sha1="kmysdltgexdwkv2xsml3j44jb56dxvn" xml:space="preserve">\
        \(xmlEscaped(article))</text>
              <sha1>kmysdltgexdwkv2xsml3j44jb56dxvn</sha1>
            </revision>
          </page>
          <page>
            <title>Montclair, Drôme</title>
            <ns>0</ns>
            <id>12346</id>
            <redirect title="Montclair" />
            <revision>
              <id>1100000000</id>
              <timestamp>2010-05-05T05:05:05Z</timestamp>
              <contributor><ip>192.0.2.1</ip></contributor>
              <model>wikitext</model>
              <format>text/x-wiki</format>
              <text bytes="60" xml:space="preserve">#REDIRECT [[Montclair]]

        {{Redirect category shell|{{R from move}}}}</text>
              <sha1>phoiac9h4m842xq45sp7s6u21eteeq1</sha1>
            </revision>
          </page>
          <page>
            <title>Wikipedia:About</title>
            <ns>4</ns>
            <id>12347</id>
            <revision>
              <id>1100000001</id>
              <timestamp>2010-05-05T05:05:05Z</timestamp>
              <text bytes="30" xml:space="preserve">'''Wikipedia''' is a project.</text>
            </revision>
          </page>
          <page>
            <title>Blue River</title>
            <ns>0</ns>
            <id>12348</id>
            <revision>
              <id>1</id>
              <timestamp>2001-01-01T00:00:00Z</timestamp>
              <text bytes="25" xml:space="preserve">Old text about the river.</text>
            </revision>
            <revision>
              <id>2</id>
              <parentid>1</parentid>
              <timestamp>2023-06-07T08:09:10Z</timestamp>
              <text bytes="40" xml:space="preserve">The '''Blue River''' flows [[north]].</text>
            </revision>
          </page>
          <page>
            <title>Caf&#233; &amp; Bar &quot;Le Zinc&quot;</title>
            <ns>0</ns>
            <id>12349</id>
            <revision>
              <timestamp>2024-02-03T04:05:06Z</timestamp>
              <text bytes="120" xml:space="preserve">Fish &amp;amp; chips cost &amp;pound;5&amp;nbsp;here. \
        The tag &amp;lt;ref&amp;gt; is shown,&lt;ref&gt;not this&lt;/ref&gt; the reference is not.</text>
            </revision>
          </page>
          <page>
            <title>Empty</title>
            <ns>0</ns>
            <id>12350</id>
            <revision>
              <timestamp>2024-02-03T04:05:06Z</timestamp>
              <text bytes="0" />
            </revision>
          </page>
        </mediawiki>

        """

    static var dumpBytes: [UInt8] { Array(dump.utf8) }

    /// Splits `bytes` as the pipeline does: each call gets the bytes not yet consumed plus the next chunk (the
    /// chunk sizes cycle), `final` once everything is offered.
    static func split(
        _ bytes: [UInt8], chunks: [Int] = [1 << 20], splitter: WikipediaSplitter = WikipediaSplitter()
    ) throws(LineError) -> [Record] {
        var splitter = splitter
        var records: [Record] = []
        var consumed = 0
        var offered = 0
        var line = 1
        var k = 0
        while true {
            offered = min(bytes.count, offered + chunks[k % chunks.count])
            k += 1
            let final = offered == bytes.count
            let window = Array(bytes[consumed..<offered])
            let used = try window.withUnsafeBufferPointer { buffer throws(LineError) in
                try splitter.split(buffer, base: consumed, line: line, final: final, into: &records)
            }
            line += window[0..<used].filter { $0 == 0x0A }.count
            consumed += used
            if final { return records }
        }
    }

    static func describe(_ records: [Record]) -> [String] {
        records.map { "\($0.line ?? -1)@\($0.offset):\(String(decoding: $0.bytes, as: UTF8.self))" }
    }

    static func documents(_ parser: WikipediaParser = WikipediaParser()) throws -> [SourceDocument] {
        try split(dumpBytes).compactMap { record throws(LineError) in try parser.parse(record) }
    }

    // MARK: The dump

    @Test func pagesOfTheDump() throws {
        let records = try Self.split(Self.dumpBytes)
        #expect(records.count == 6)
        let text = Self.dump
        // Each record is one <page> element, with the line and the byte offset where it starts.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let pageLines = lines.indices.filter { lines[$0].drop(while: { $0 == " " }).hasPrefix("<page>") }.map { $0 + 1 }
        #expect(records.map(\.line) == pageLines.map { Optional($0) })
        for r in records {
            let s = String(decoding: r.bytes, as: UTF8.self)
            #expect(s.hasPrefix("<page>") && s.hasSuffix("</page>"))
            #expect(Array(Self.dumpBytes[r.offset..<(r.offset + r.bytes.count)]) == r.bytes)
        }
    }

    @Test func documentsOfTheDump() throws {
        let docs = try Self.documents()
        // The redirect, the project page (namespace 4) are not documents.
        #expect(docs.map(\.id) == ["Montclair", "Blue River", "Café & Bar \"Le Zinc\"", "Empty"])
        #expect(docs.map(\.title) == docs.map { $0.id ?? "" })
        #expect(docs.map(\.date) == [1_706_933_106, 1_686_125_350, 1_706_933_106, 1_706_933_106])

        let montclair = docs[0]
        // The page's own id, not the revision's or the contributor's.
        #expect(montclair.fields.map(\.name) == ["page_id", "url"])
        #expect(montclair.fields.map(\.value) == ["12345", "https://en.wikipedia.org/wiki/Montclair"])
        #expect(
            montclair.body == """
                Montclair is a commune in the Drôme department of south-eastern France. It lies on the river – \
                the Rhône – near Valence.

                History

                The town was founded in 1205. Its name means clear mountain. See also the official site and \
                http://example.org/archive.

                Population

                The population grew by 23% between 1990 and 2020.

                Notes

                A list item with a link
                A numbered item
                An indented line
                Term
                Definition
                [[not a link]] and 5 < 6.
                """)
        // Nothing of the templates, the table, the references, the file, the categories.
        for gone in [
            "Infobox", "Dupont", "formatnum", "12345", "IPA", "cite", "INSEE", "Martin", "Census", "wikitable",
            "Population by year", "10,000", "Saint", "church", "Category", "Communes of Drôme", "Reflist", "NOTOC",
            "de:", "{", "}", "|", "'", "<", "&",
        ] {
            #expect(!montclair.body.contains(gone) || gone == "<" && montclair.body.contains("5 < 6"), "\(gone)")
        }

        #expect(docs[1].body == "The Blue River flows north.", "the latest revision")
        #expect(docs[2].body == "Fish & chips cost £5 here. The tag <ref> is shown, the reference is not.")
        #expect(docs[2].fields.map(\.value) == ["12349", "https://en.wikipedia.org/wiki/Café_&_Bar_%22Le_Zinc%22"])
        #expect(docs[3].body == "")
    }

    @Test func namespacesAndURLBase() throws {
        let parser = WikipediaParser(namespaces: [0, 4], urlBase: "https://simple.wikipedia.org/wiki/")
        let docs = try Self.documents(parser)
        #expect(docs.map(\.id) == ["Montclair", "Wikipedia:About", "Blue River", "Café & Bar \"Le Zinc\"", "Empty"])
        #expect(docs[1].body == "Wikipedia is a project.")
        #expect(docs[1].fields.map(\.value) == ["12347", "https://simple.wikipedia.org/wiki/Wikipedia:About"])
        #expect(try Self.documents(WikipediaParser(namespaces: [4])).map(\.id) == ["Wikipedia:About"])
    }

    @Test func theLatestRevisionByTimestamp() throws {
        func page(_ revisions: [(String, String)]) -> Record {
            var xml = "<page><title>P</title><ns>0</ns><id>1</id>"
            for (time, text) in revisions {
                xml += "<revision><timestamp>\(time)</timestamp><text>\(text)</text></revision>"
            }
            return Record(bytes: Array((xml + "</page>").utf8), line: 1, offset: 0)
        }
        let parser = WikipediaParser()
        let newerFirst = try parser.parse(page([("2020-01-01T00:00:00Z", "new"), ("2019-01-01T00:00:00Z", "old")]))
        #expect(newerFirst?.body == "new")
        #expect(newerFirst?.date == 1_577_836_800)
        let inOrder = try parser.parse(page([("2019-01-01T00:00:00Z", "old"), ("2020-01-01T00:00:00Z", "new")]))
        #expect(inOrder?.body == "new")
        // Equal or missing timestamps: the last one.
        #expect(try parser.parse(page([("x", "a"), ("y", "b")]))?.body == "b")
        #expect(try parser.parse(page([("x", "a"), ("y", "b")]))?.date == nil)
    }

    @Test func redirectsWithoutTheElementAndOddPages() throws {
        let parser = WikipediaParser()
        func parse(_ xml: String) throws(LineError) -> SourceDocument? {
            try parser.parse(Record(bytes: Array(xml.utf8), line: 1, offset: 0))
        }
        // Old exports mark redirects only in the text.
        #expect(try parse("<page><title>R</title><revision><text>  #redirect [[X]]</text></revision></page>") == nil)
        // No <ns> (exports before 0.6): an article.
        #expect(try parse("<page><title>A</title><revision><text>a</text></revision></page>")?.body == "a")
        // A comment, CDATA and an attribute with '>' in a quoted value.
        let odd = try parse(
            "<page><!-- x --><title a=\"1>2\"><![CDATA[A & <B>]]></title><revision><text>b</text></revision></page>")
        #expect(odd?.id == "A & <B>")
        for (xml, message) in [
            ("<page><ns>0</ns><revision><text>a</text></revision></page>", "without a <title>"),
            ("<page><title> </title></page>", "empty <title>"),
            ("<page><title>T</title><ns>zero</ns></page>", "not a number"),
            ("<page><title>T</title>", "not closed"),
            ("<pages><title>T</title></pages>", "expected <page>"),
            ("<page><title>T</title></page><page>", "after </page>"),
            ("<page><title>T</title></revision></page>", "closes"),
            ("<page><title>T</title><rev", "missing '>'"),
            ("<page><title>T <- </title></page>", "starts no tag"),
            ("", "no <page>"),
        ] {
            do {
                _ = try parse(xml)
                Issue.record("accepted: \(xml)")
            } catch {
                #expect(error.message.contains(message), "\(xml): \(error.message)")
            }
        }
    }

    // MARK: The splitter

    @Test func cutAtEveryPointGivesTheSameRecords() throws {
        let bytes = Self.dumpBytes
        let whole = Self.describe(try Self.split(bytes))
        #expect(whole.count == 6)
        for cut in 0...bytes.count {
            let pieces = Self.describe(try Self.split(bytes, chunks: [cut, bytes.count]))
            #expect(pieces == whole, "cut at \(cut)")
            if pieces != whole { break }
        }
    }

    @Test func theSiteURLBaseFromTheHeader() throws {
        let bytes = Self.dumpBytes
        for cut in 0...700 {
            var splitter = WikipediaSplitter()
            var records: [Record] = []
            let used = try bytes.withUnsafeBufferPointer { b throws(LineError) in
                try splitter.split(
                    UnsafeBufferPointer(rebasing: b[0..<cut]), base: 0, line: 1, final: false, into: &records)
            }
            _ = try bytes.withUnsafeBufferPointer { b throws(LineError) in
                try splitter.split(
                    UnsafeBufferPointer(rebasing: b[used...]), base: used, line: 1, final: true, into: &records)
            }
            #expect(splitter.siteURLBase == "https://en.wikipedia.org/wiki/", "cut at \(cut)")
            #expect(records.count == 6)
        }
        // No header, or a <base> inside a page: none.
        let page = Array("<page><title>T</title><base>https://x.org/y/</base></page>".utf8)
        var splitter = WikipediaSplitter()
        var records: [Record] = []
        _ = try page.withUnsafeBufferPointer { b throws(LineError) in
            try splitter.split(b, base: 0, line: 1, final: true, into: &records)
        }
        #expect(splitter.siteURLBase == nil && records.count == 1)
    }

    @Test(arguments: [1, 2, 3, 5, 7, 13, 64, 1000])
    func smallReadsGiveTheSameRecords(chunk: Int) throws {
        let bytes = Self.dumpBytes
        #expect(Self.describe(try Self.split(bytes, chunks: [chunk])) == Self.describe(try Self.split(bytes)))
    }

    @Test func aPageCutShortIsAnError() throws {
        let bytes = Self.dumpBytes
        let cut = Array(bytes[0..<(bytes.count - 40)])  // inside the last page
        do {
            _ = try Self.split(cut)
            Issue.record("a dump cut inside a page was accepted")
        } catch {
            #expect(error.message.contains("cut short"))
        }
        // Cut between pages (or in the closing </mediawiki>): the pages before it, no error.
        let between = Array(bytes[0..<(bytes.count - 5)])
        #expect(try Self.split(between).count == 6)
    }

    @Test func aPageOverTheBoundIsAnError() throws {
        let small = "<page><title>S</title></page>"
        let big =
            "<page><title>B</title><revision><text>" + String(repeating: "x", count: 500) + "</text></revision></page>"
        let bytes = Array(("<mediawiki>\n" + small + "\n" + big + "\n" + small + "\n</mediawiki>\n").utf8)
        for chunks in [[bytes.count], [1], [7], [100]] {
            do {
                _ = try Self.split(bytes, chunks: chunks, splitter: WikipediaSplitter(maxPageBytes: 300))
                Issue.record("a page over the bound was accepted")
            } catch {
                #expect(error.message == "a <page> longer than 300 bytes (the limit for one page) starts at byte 42")
            }
        }
        // Going on after the error (offering the bytes from the page again), the page is skipped.
        var splitter = WikipediaSplitter(maxPageBytes: 300)
        var records: [Record] = []
        let first = try bytes.withUnsafeBufferPointer { b throws(LineError) in
            try splitter.split(b, base: 0, line: 1, final: false, into: &records)
        }
        #expect(first == 42 && records.count == 1, "the call with the page before it stops at the long page")
        let rest = Array(bytes[first...])
        #expect(throws: LineError.self) {
            try rest.withUnsafeBufferPointer { b throws(LineError) in
                try splitter.split(b, base: first, line: 3, final: false, into: &records)
            }
        }
        var after: [Record] = []
        let used = try rest.withUnsafeBufferPointer { b throws(LineError) in
            try splitter.split(b, base: first, line: 3, final: true, into: &after)
        }
        #expect(used == rest.count)
        #expect(after.map { String(decoding: $0.bytes, as: UTF8.self) } == [small])
        #expect(after.first?.line == 4)
    }

    @Test func aPageOverSixtyFourMiBIsAnError() {
        #expect(WikipediaSplitter().maxPageBytes == 64 << 20)
        let head = Array("<mediawiki>\n<page><title>Huge</title><revision><text>".utf8)
        var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: head.count + 64 << 20)
        bytes.replaceSubrange(0..<head.count, with: head)
        var splitter = WikipediaSplitter()
        var records: [Record] = []
        do {
            _ = try bytes.withUnsafeBufferPointer { b throws(LineError) in
                try splitter.split(b, base: 0, line: 1, final: false, into: &records)
            }
            Issue.record("a page over 64 MiB was accepted")
        } catch {
            #expect(error.message.hasPrefix("a <page> longer than 64 MiB"))
        }
    }

    // MARK: Wikitext

    @Test(arguments: [
        // Links.
        ("[[Paris]] and [[Paris, Texas|the other one]].", "Paris and the other one."),
        ("[[Apple]]s and [[ banana |bananas]]", "Apples and bananas"),
        ("[[Help:Contents|]], [[Paris (band)|]], [[Moscow, Idaho|]]", "Contents, Paris, Moscow"),
        ("[[:Category:Rivers|rivers]] and [[:File:X.jpg]]", "rivers and File:X.jpg"),
        ("[[wikt:word]] and [[Wikipedia:Manual of Style|the manual]]", "wikt:word and the manual"),
        ("[[New York City|New York]] is large", "New York is large"),
        ("[[a|b|c]]", "b|c"),
        ("[[Foo#History|history]] of [[#Top]]", "history of #Top"),
        // Files, categories, interlanguage links: nothing, captions with links included.
        ("A [[File:X.jpg|thumb|A [[cat]] on a [[mat|rug]]]] B", "A B"),
        ("A [[Image:Y.png|left|upright=1.2|[[Z]]'s ''[[W|x]]'']] B", "A B"),
        ("x [[Category:Y|z]] [[category:y]] [[de:Foo]] [[zh-min-nan:Foo]] [[simple:Foo]] y", "x y"),
        ("x [[Datei:Bild.jpg|miniatur]] y [[Lêer:Kaart.SVG|thumb|Kaart]] z [[Media:Song.ogg|listen]]", "x y z listen"),
        // External links, bare URLs.
        ("See [http://example.com the site] or [https://x.org].", "See the site or."),
        ("Visit http://bare.example/p?q=1 now, [//proto.example/x relative]",
         "Visit http://bare.example/p?q=1 now, relative"),
        ("[[http://example.com x]]", "[x]"),
        ("[not a link] and [mailto:a@b.c mail]", "[not a link] and mail"),
        // Quotes.
        ("''The'' '''cat's''' '''''hat''''' l''''état''' x", "The cat's hat l'état x"),
        // Headings.
        ("Intro\n== History ==\nText\n=== Early years ===  \nMore", "Intro\n\nHistory\n\nText\n\nEarly years\n\nMore"),
        ("==[[Link|Linked]] heading==\nx", "Linked heading\n\nx"),
        ("= a = b =\n== not closed\n==", "a = b\n\n== not closed\n=="),
        // Templates: nested, multi-line, parameters.
        ("A {{Infobox\n| x = {{b|{{c}}}}\n| y = [[z]]\n\n| w = 1\n}} B", "A B"),
        ("a{{{1|default}}}b {{{{x}}}} c", "ab c"),
        ("x {{a|[[b|{{c}}]]}} y", "x y"),
        // Tables, nested, inside templates and indented.
        ("Before\n{| class=x\n|-\n| a || b\n|-\n|\n{|\n| inner\n|}\n|}\nAfter", "Before\nAfter"),
        ("Before\n:{| \n| a\n|}\nAfter {{x|\n{|\n| b\n|}\n}} end", "Before\nAfter end"),
        ("{{x|\n|}}\nText", "Text"),
        ("{{s-start}}\n{{s-bef|before=[[A]]}}\n|-\n{{s-aft|after=[[B]]}}\n{{s-end}}\nText", "Text"),
        // References, comments, tags.
        ("Fact.<ref name=a>{{cite|x}}</ref> More<ref name=\"a\" /> text.<REF>y</REF>", "Fact. More text."),
        ("a<!-- x -->b\n<!-- whole line -->\nc <!-- [[not]] {{closed", "ab\nc"),
        ("H<sub>2</sub>O, <small>small</small>, <span style=\"color:red\">red</span>, x<sup>2</sup>",
         "H2O, small, red, x2"),
        ("a<br/>b<br>c<BR />d", "a\nb\nc\nd"),
        ("area <math>\\pi r^2</math> here <math display=block>x</math>", "area here"),
        ("<gallery>\nFile:A.jpg|Caption [[x]]\n</gallery>\nText", "Text"),
        ("<nowiki>[[not a link]] {{nor this}} ''x''</nowiki> and &lt;b&gt;",
         "[[not a link]] {{nor this}} ''x'' and <b>"),
        ("<nowiki>* not a list</nowiki>\n<pre>code {{x}} &amp;</pre>", "* not a list\ncode {{x}} &"),
        ("<syntaxhighlight lang=c>a &amp;&amp; b</syntaxhighlight>", "a &amp;&amp; b"),
        ("tag<nowiki/>s and a < b > c", "tags and a < b > c"),
        ("<ref>never closed and the text", "never closed and the text"),
        // Lists and definitions.
        ("* one\n** two\n# three\n#: four\n; term : def\n;alone", "one\ntwo\nthree\nfour\nterm\ndef\nalone"),
        ("----\nText", "Text"),
        // Entities, magic words, blank lines, spaces left by removed markup.
        ("a&nbsp;b &ndash; c &mdash; d &amp; &#8212; &#x41; &bogus; &#0; &",
         "a b – c — d & — A &bogus; \u{FFFD} &"),
        ("__TOC__\nText __NOTOC__ here __not_magic__", "Text here __not_magic__"),
        ("a\n\n\n\n  \nb\n\n", "a\n\nb"),
        ("Einstein ({{IPA|x}}; 14 March 1879) was {{IPA|y}} tall ({{lang-de|x}}{{efn|y}}) .",
         "Einstein (14 March 1879) was tall (x)."),
        ("(a, {{IPA|x}}) (b; {{IPA|y}}) ({{IPA|z}})", "(a) (b)"),
        // Inline templates that are text.
        ("a sovereign state{{snd}}the Republic", "a sovereign state \u{2013} the Republic"),
        ("{{Nowrap|10 km}} {{lang|fr|texte}} {{lang-fr|autre}} {{Lang|fr|1=x|2=troisième}}",
         "10 km texte autre troisième"),
        ("{{convert|242495|km2|sqmi|abbr=on}}, {{convert|5|to|10|km}}, {{cvt|3|m}}", "242495 km2, 5 to 10 km, 3 m"),
        ("born {{circa|965}}, died {{c.|lk=no|965|1040}}; {{ill|Hans Muster|de}}",
         "born c. 965, died c. 965\u{2013}1040; Hans Muster"),
        ("{{nowrap|{{lang|de|[[Berlin|die Stadt]]}}}}", "die Stadt"),
        // Unbalanced: an unclosed template or table drops the rest of its paragraph; unclosed links stay as written.
        ("Para one {{broken template\nstill template\n\nPara two.", "Para one\n\nPara two."),
        ("{|\n| cell\n\nAfter", "After"),
        ("a [[b c", "a [[b c"),
        ("a [[b\nc]] d", "a [[b\nc]] d"),
        ("a [http://x b\nc", "a [http://x b\nc"),
        ("x]] y}} z|} ]", "x]] y}} z|} ]"),
        ("{{a}}}} b", "}} b"),
    ] as [(String, String)])
    func wikitext(_ input: String, _ expected: String) {
        #expect(Wikitext.plainText(input) == expected, "\(input.debugDescription)")
    }

    @Test func aPhraseAcrossALinkIsFound() throws {
        let dir = TemporaryDirectory("wikipedia-phrase")
        let record = Record(
            bytes: Array(
                """
                <page><title>Cities</title><ns>0</ns><id>7</id><revision><timestamp>2024-01-01T00:00:00Z</timestamp>\
                <text>[[New York City|New York]] is large.&lt;ref&gt;{{cite|Big Apple}}&lt;/ref&gt; \
                {{Infobox|motto=the city}}[[Paris]] is ''old''.</text></revision></page>
                """.utf8),
            line: 1, offset: 0)
        let doc = try #require(try WikipediaParser().parse(record))
        #expect(doc.body == "New York is large. Paris is old.")
        let writer = try IndexWriter(directory: dir.path + "/idx", schema: Schema(), options: testIndexOptions())
        try writer.add(id: doc.id ?? "", date: doc.date, fields: ["title": doc.title, "body": doc.body])
        try writer.commit()
        writer.close()
        let searcher = Searcher(reader: try IndexReader(directory: dir.path + "/idx"))
        var parser = QueryParser(schema: searcher.reader.schema)
        for (query, count) in [
            ("\"new york is large\"", 1), ("\"large paris is old\"", 1), ("\"new york city\"", 0), ("\"big apple\"", 0),
            ("motto", 0), ("cite", 0),
        ] {
            #expect(try searcher.count(try parser.parse(query)) == count, "\(query)")
        }
    }

    // MARK: Hostile input

    @Test func pathologicalMarkupIsLinearAndNeverOverflows() {
        let n = 200_000
        let cases: [(String, String?)] = [
            (String(repeating: "{{", count: n) + "x" + String(repeating: "}}", count: n), ""),
            (String(repeating: "{{", count: n), ""),
            (String(repeating: "}}", count: n), String(repeating: "}}", count: n)),
            (String(repeating: "[[", count: n / 2) + "a" + String(repeating: "]]", count: n / 2), nil),
            (String(repeating: "[[a|", count: n / 4), nil),
            (String(repeating: "<ref>", count: n / 4), ""),
            (String(repeating: "<ref", count: n / 4), nil),
            (String(repeating: "<nowiki>", count: n / 4), ""),
            (String(repeating: "{|\n", count: n / 4), ""),
            (String(repeating: "[http://x ", count: n / 8), nil),
            (String(repeating: "'''''", count: n / 4), nil),
            (String(repeating: "&#", count: n / 2), nil),
            (String(repeating: "==\n", count: n / 4), nil),
            (String(repeating: "= [[x|", count: n / 4), nil),
            (String(repeating: "{{[[", count: n / 4) + String(repeating: "]]}}", count: n / 4), nil),
        ]
        for (k, (input, expected)) in cases.enumerated() {
            let clock = ContinuousClock()
            var output = ""
            let time = clock.measure { output = Wikitext.plainText(input) }
            if let expected { #expect(output == expected, "case \(k)") }
            #expect(time < .seconds(20), "case \(k): \(time)")
        }
    }

    static let markupTokens: [String] = [
        "{{", "}}", "{{{", "}}}", "[[", "]]", "[", "]", "{|", "|}", "\n", "\n\n", "|", "||", "'''", "''", "<ref>",
        "</ref>", "<ref name=a/>", "<!--", "-->", "<nowiki>", "</nowiki>", "<math>", "</math>", "== ", " ==", "=",
        "http://x.org", "File:", "Category:", ":", "*", "#", ";", "&amp;", "&#x", ";", "a", "b c", " ", "__TOC__",
        "<span>", "</span>", "<br>", "<", ">", "é", "\u{1}", "\u{2}", "&nbsp;", "----", "(", ")",
    ]

    @Test func randomMarkupAndBytesNeverCrash() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x5769_6B69)
        for round in 0..<3000 {
            let input: String
            if round % 3 == 0 {
                input = String(decoding: rng.bytes(Int(rng.next() % 300)), as: UTF8.self)
            } else {
                let count = Int(rng.next() % 80)
                input = (0..<count).map { _ in Self.markupTokens[Int(rng.next() % UInt64(Self.markupTokens.count))] }
                    .joined()
            }
            let output = Wikitext.plainText(input)
            #expect(!output.utf8.contains(0x01) && !output.utf8.contains(0x02), "\(rng.seedDescription) \(round)")
            #expect(!output.hasPrefix("\n") && !output.hasSuffix("\n") && !output.contains("\n\n\n"))
        }
    }

    @Test func randomBytesNeverCrashTheSplitterOrTheParser() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x7061_6765)
        let page = Array(
            """
            <page><title>T</title><ns>0</ns><id>1</id><revision><timestamp>2024-01-01T00:00:00Z</timestamp>\
            <text xml:space="preserve">'''T''' is [[x|y]].&lt;ref&gt;z&lt;/ref&gt;</text></revision></page>
            """.utf8)
        let parser = WikipediaParser()
        for round in 0..<2000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0:
                bytes = rng.bytes(Int(rng.next() % 400))
            case 1:
                // A real page with bytes flipped, cut or repeated.
                bytes = page
                for _ in 0..<(1 + rng.next() % 4) {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 3 {
                    case 0: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes.removeSubrange(at...)
                    default: bytes.insert(contentsOf: bytes[at...].prefix(20), at: at)
                    }
                    if bytes.isEmpty { break }
                }
            default:
                let parts = ["<page>", "</page>", "<title>", "</title>", "<revision>", "</revision>", "<text>",
                    "</text>", "<ns>", "0", "</ns>", "x", "\n", "<!--", "-->", "&amp;", "&#", "<", ">", "/>", "\""]
                bytes = Array((0..<Int(rng.next() % 40)).map { _ in parts[Int(rng.next() % UInt64(parts.count))] }
                    .joined().utf8)
            }
            _ = try? parser.parse(Record(bytes: bytes, line: 1, offset: 0))
            let chunk = 1 + Int(rng.next() % 50)
            if let records = try? Self.split(bytes, chunks: [chunk], splitter: WikipediaSplitter(maxPageBytes: 200)) {
                for r in records { _ = try? parser.parse(r) }
            }
        }
    }
}
