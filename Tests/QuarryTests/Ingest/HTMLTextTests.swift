// HTML to text: titles, dropped elements, comments and other markup, blocks and whitespace, `pre`, character
// references (every HTML 4 name, the legacy forms, numeric edge cases), character sets (argument, meta, BOM),
// broken markup, deep nesting in linear time, and random inputs that must never trap.

import QuarryTestSupport
import Testing

@testable import Quarry

@Suite struct HTMLTextTests {
    static func text(_ html: String, charset: String? = nil) -> String {
        HTMLText.extract(Array(html.utf8), charset: charset).text
    }

    static func title(_ html: String) -> String? {
        HTMLText.extract(Array(html.utf8)).title
    }

    /// The 252 character entity references of HTML 4.01 (Latin-1, symbols and Greek, special), with their code
    /// points, from Python's `html.entities.name2codepoint`.
    static let html4 = """
        AElig=C6 Aacute=C1 Acirc=C2 Agrave=C0 Alpha=391 Aring=C5 Atilde=C3 Auml=C4 Beta=392 Ccedil=C7 Chi=3A7
        Dagger=2021 Delta=394 ETH=D0 Eacute=C9 Ecirc=CA Egrave=C8 Epsilon=395 Eta=397 Euml=CB Gamma=393
        Iacute=CD Icirc=CE Igrave=CC Iota=399 Iuml=CF Kappa=39A Lambda=39B Mu=39C Ntilde=D1 Nu=39D OElig=152
        Oacute=D3 Ocirc=D4 Ograve=D2 Omega=3A9 Omicron=39F Oslash=D8 Otilde=D5 Ouml=D6 Phi=3A6 Pi=3A0 Prime=2033
        Psi=3A8 Rho=3A1 Scaron=160 Sigma=3A3 THORN=DE Tau=3A4 Theta=398 Uacute=DA Ucirc=DB Ugrave=D9 Upsilon=3A5
        Uuml=DC Xi=39E Yacute=DD Yuml=178 Zeta=396 aacute=E1 acirc=E2 acute=B4 aelig=E6 agrave=E0 alefsym=2135
        alpha=3B1 amp=26 and=2227 ang=2220 aring=E5 asymp=2248 atilde=E3 auml=E4 bdquo=201E beta=3B2 brvbar=A6
        bull=2022 cap=2229 ccedil=E7 cedil=B8 cent=A2 chi=3C7 circ=2C6 clubs=2663 cong=2245 copy=A9 crarr=21B5
        cup=222A curren=A4 dArr=21D3 dagger=2020 darr=2193 deg=B0 delta=3B4 diams=2666 divide=F7 eacute=E9
        ecirc=EA egrave=E8 empty=2205 emsp=2003 ensp=2002 epsilon=3B5 equiv=2261 eta=3B7 eth=F0 euml=EB
        euro=20AC exist=2203 fnof=192 forall=2200 frac12=BD frac14=BC frac34=BE frasl=2044 gamma=3B3 ge=2265
        gt=3E hArr=21D4 harr=2194 hearts=2665 hellip=2026 iacute=ED icirc=EE iexcl=A1 igrave=EC image=2111
        infin=221E int=222B iota=3B9 iquest=BF isin=2208 iuml=EF kappa=3BA lArr=21D0 lambda=3BB lang=2329
        laquo=AB larr=2190 lceil=2308 ldquo=201C le=2264 lfloor=230A lowast=2217 loz=25CA lrm=200E lsaquo=2039
        lsquo=2018 lt=3C macr=AF mdash=2014 micro=B5 middot=B7 minus=2212 mu=3BC nabla=2207 nbsp=A0 ndash=2013
        ne=2260 ni=220B not=AC notin=2209 nsub=2284 ntilde=F1 nu=3BD oacute=F3 ocirc=F4 oelig=153 ograve=F2
        oline=203E omega=3C9 omicron=3BF oplus=2295 or=2228 ordf=AA ordm=BA oslash=F8 otilde=F5 otimes=2297
        ouml=F6 para=B6 part=2202 permil=2030 perp=22A5 phi=3C6 pi=3C0 piv=3D6 plusmn=B1 pound=A3 prime=2032
        prod=220F prop=221D psi=3C8 quot=22 rArr=21D2 radic=221A rang=232A raquo=BB rarr=2192 rceil=2309
        rdquo=201D real=211C reg=AE rfloor=230B rho=3C1 rlm=200F rsaquo=203A rsquo=2019 sbquo=201A scaron=161
        sdot=22C5 sect=A7 shy=AD sigma=3C3 sigmaf=3C2 sim=223C spades=2660 sub=2282 sube=2286 sum=2211 sup=2283
        sup1=B9 sup2=B2 sup3=B3 supe=2287 szlig=DF tau=3C4 there4=2234 theta=3B8 thetasym=3D1 thinsp=2009
        thorn=FE tilde=2DC times=D7 trade=2122 uArr=21D1 uacute=FA uarr=2191 ucirc=FB ugrave=F9 uml=A8 upsih=3D2
        upsilon=3C5 uuml=FC weierp=2118 xi=3BE yacute=FD yen=A5 yuml=FF zeta=3B6 zwj=200D zwnj=200C
        """

    @Test func titleAndParagraphs() {
        let page = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>  The
              Title </title>
            <style>body { color: red }</style><script>var x = "<p>not text</p>";</script></head>
            <body><h1>Heading</h1><p>First  paragraph
            with a <a href="/x">link</a>.</p><p>Second</p></body></html>
            """
        let r = HTMLText.extract(Array(page.utf8))
        #expect(r.title == "The Title")
        #expect(r.text == "Heading\n\nFirst paragraph with a link.\n\nSecond")
    }

    @Test func titles() {
        #expect(Self.title("<p>no title</p>") == nil)
        #expect(Self.title("<title> </title><title>Second</title>") == "Second", "the first non-empty one")
        #expect(Self.title("<title>A &amp; B &mdash; C</title>") == "A & B — C")
        #expect(Self.title("<title>a <b>b</b></title>") == "a <b>b</b>", "a title holds text, not tags")
        #expect(Self.title("<TITLE>Upper</Title >") == "Upper")
        #expect(Self.title("<body><p>x</p><title>Late</title>") == "Late")
        #expect(Self.text("<body><p>x</p><title>Late</title>y") == "x\n\ny")
        #expect(Self.title("<svg><title>icon</title></svg><title>Page</title>") == "Page", "not an SVG title")
        #expect(Self.title("<title>never closed") == "never closed")
        #expect(Self.text("<title>t</title>body") == "body")
    }

    @Test func droppedElements() {
        let page = """
            <p>a</p><script>document.write("</div>")</script><noscript>enable js</noscript>\
            <template><p>t</p></template><svg><title>icon</title><text>svg text</text></svg>\
            <object data=x><param name=a>fallback</object><iframe src=x>frame</iframe><p>b</p>\
            <STYLE type="text/css">p { }</STYLE ><noembed>e</noembed><noframes>f</noframes><p>c</p>
            """
        let r = HTMLText.extract(Array(page.utf8))
        #expect(r.text == "a\n\nb\n\nc")
        #expect(r.title == nil)
        #expect(Self.text("<script>a</scriptx>b</script>c") == "c", "</scriptx> does not end a script")
        #expect(Self.text("<script>a</script\n>b") == "b")
        #expect(Self.text("<p>a</p><script>var a = 1; <p>b</p>") == "a", "an unclosed script runs to the end")
        #expect(Self.text("<svg><svg></svg>hidden</svg>shown") == "shown", "nested")
        #expect(Self.text("<svg><path d='M0'/><p>visible</p>") == "visible", "a <p> leaves an unclosed svg")
        #expect(Self.text("<svg/>after") == "after")
        #expect(Self.text("<template><template></template>x</template>y") == "y")
        #expect(Self.text("<xmp><b>  kept</b></xmp>") == "<b>  kept</b>", "xmp is raw preformatted text")
        #expect(Self.text("a<textarea>x &amp; <b>y</b></textarea>b") == "a\nx & <b>y</b>\nb")
        #expect(Self.text("a<plaintext><b>  x</b>") == "a\n\n<b>  x</b>")
    }

    @Test func commentsDoctypesAndOtherMarkup() {
        for (html, expected) in [
            ("a<!-- c -->b", "ab"), ("a<!-->b", "ab"), ("a<!--->b", "ab"), ("a<!-- x --!>b", "ab"),
            ("a<!-- -- - -->b", "ab"), ("a<!-- <p>never closed</p>", "a"), ("<!DOCTYPE html>a", "a"),
            ("a<![CDATA[x<y]]>b", "ab"), ("a<?php echo 1 ?>b", "ab"), ("a<!bogus>b", "ab"), ("a<!", "a"),
            ("a<!-- -- >b", "a"),
        ] {
            #expect(Self.text(html) == expected, "\(html)")
        }
    }

    @Test func blocksAndWhitespace() {
        for (html, expected) in [
            ("<div>a</div><div>b</div>", "a\nb"),
            ("a<br>b<br><br><br><br>c", "a\nb\n\nc"),
            ("a<br/>b</br>c", "a\nb\nc"),
            ("<ul><li>one<li>two</ul>after", "one\ntwo\n\nafter"),
            ("<table><tr><th>h1<th>h2<tr><td>a</td><td>b</td></tr></table>x", "h1\th2\na\tb\n\nx"),
            ("<h2>T</h2>text<hr>more", "T\n\ntext\n\nmore"),
            ("<p>a</p><p></p><p> </p><br><br><div></div><p>b</p>", "a\n\nb"),
            ("  a \n\t b  ", "a b"),
            ("<b>bo</b>ld <i>it</i> <span>a</span> <span>b</span>", "bold it a b"),
            ("\n\n<p>\n  lead and trail  \n</p>\n\n", "lead and trail"),
            ("a&nbsp;&nbsp;b\u{A0}c", "a b c"),
            ("<dl><dt>term<dd>definition</dl>", "term\ndefinition"),
            ("<section><header>h</header><article>a</article><footer>f</footer></section>", "h\n\na\n\nf"),
            ("<blockquote>q</blockquote>r", "q\n\nr"),
            ("<p>unclosed <b>bold <i>italic</p> after</b>", "unclosed bold italic\n\nafter"),
            ("a\u{0}b\u{1}c\u{7F}d", "abcd"),
        ] {
            #expect(Self.text(html) == expected, "\(html)")
        }
    }

    @Test func preformattedText() {
        #expect(Self.text("<p>x</p><pre>\n  line 1\r\n    line 2\n</pre><p>y") == "x\n\n  line 1\n    line 2\n\ny")
        #expect(Self.text("<pre>a &lt; b\tc</pre>") == "a < b\tc")
        #expect(Self.text("<pre><b>  bold</b>  </pre>after") == "  bold  \n\nafter")
        #expect(Self.text("<pre>a\n\n\n\n\nb</pre>") == "a\n\nb", "never more than one blank line")
        #expect(Self.text("<pre><pre>x</pre>  y  </pre> z") == "x\n\n  y  \n\nz")
        #expect(Self.text("<listing>\n a</listing>") == " a")
    }

    @Test func brokenMarkup() {
        for (html, expected) in [
            ("a < b and c > d", "a < b and c > d"), ("1<2", "1<2"), ("x<", "x<"), ("x</", "x</"), ("x</>y", "xy"),
            ("x</ y>z", "xz"), (#"<a href="x>y">link</a>"#, "link"), (#"<a title='it"s'>q</a>"#, "q"),
            (#"x<div class="unterminated>y"#, "x"), ("x<div", "x"), ("x<div id=a", "x"), ("<img src=a>b", "b"),
            ("</div></div></p>text</span>", "text"), ("<p <p>a", "a"), ("<a =b>c</a>", "c"),
            ("<div\nclass=x\n>a</div\n>", "a"), ("<custom-element>c</custom-element>", "c"),
            ("<averyveryverylongtagname>z", "z"), ("<a/b>c", "c"), ("&<&>", "&<&>"),
        ] {
            #expect(Self.text(html) == expected, "\(html)")
        }
    }

    @Test func head() {
        #expect(Self.text("<head><meta charset=utf-8><style>p{}</style><link rel=x></head>") == "")
        #expect(Self.text("<html><head><title>T</title><script>x</script><body><p>Hello") == "Hello")
        let r = HTMLText.extract(Array("<head><title>T</title><meta name=x>stray text<link></head><p>body".utf8))
        #expect(r.title == "T")
        #expect(r.text == "stray text\n\nbody", "text ends a head")
        #expect(Self.text("<head><base href=x><p>implicit body") == "implicit body", "so does a body element")
    }

    @Test func everyHTML4EntityWithItsSemicolon() {
        var count = 0
        for entry in Self.html4.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = entry.split(separator: "=")
            let name = String(parts[0])
            var scalar = Unicode.Scalar(UInt32(parts[1], radix: 16)!)!
            // HTML5 (and browsers) moved these two from the CJK angle brackets to the mathematical ones.
            if name == "lang" { scalar = "\u{27E8}" }
            if name == "rang" { scalar = "\u{27E9}" }
            let expected = scalar == "\u{A0}" ? "x y" : "x\(Character(scalar))y"
            #expect(Self.text("x&\(name);y") == expected, "&\(name);")
            count += 1
        }
        #expect(count == 252)
        #expect(HTMLText.entities.count == 2231, "the whole HTML table")
    }

    @Test func namedReferences() {
        for (html, expected) in [
            ("&apos;&hellip;&euro;&mdash;&ndash;&lsquo;&rsquo;&ldquo;&rdquo;&bull;&trade;", "'…€—–‘’“”•™"),
            ("&copy 2024", "© 2024"), ("&eacute;t&eacute", "été"), ("caf&eacutex", "caféx"),
            ("&notit;", "¬it;"), ("&notin;", "∉"), ("&amp;amp;", "&amp;"), ("&AMP;&LT;&GT", "&<>"),
            ("&unknown;", "&unknown;"), ("AT&T", "AT&T"), ("& x", "& x"), ("&;", "&;"), ("&EACUTE;", "&EACUTE;"),
            ("&NotEqualTilde;", "\u{2242}\u{338}"), ("a&Tab;b&NewLine;c", "a b c"), ("&hellip", "&hellip"),
            ("&CounterClockwiseContourIntegral;", "∳"), ("&ltx", "<x"), ("&lt;&gt;&quot;&QUOT", "<>\"\""),
            ("&Amp;", "&Amp;"),
        ] {
            #expect(Self.text(html) == expected, "\(html)")
        }
    }

    @Test func numericReferences() {
        for (html, expected) in [
            ("&#65;&#x42;&#X43;&#0068", "ABCD"), ("&#65x", "Ax"), ("&#0;", "\u{FFFD}"), ("&#xD800;", "\u{FFFD}"),
            ("&#xDFFF;", "\u{FFFD}"), ("&#x110000;", "\u{FFFD}"), ("&#99999999999999999999;", "\u{FFFD}"),
            ("&#150;", "\u{2013}"), ("&#x80;", "€"), ("&#x1F600;", "😀"), ("&#;", "&#;"), ("&#x;", "&#x;"),
            ("&#xg;", "&#xg;"), ("a&#1;b", "ab"), ("a&#10;&#32;b", "a b"), ("&#x10FFFF;", "\u{10FFFF}"),
            ("&#x000000041;", "A"),
        ] {
            #expect(Self.text(html) == expected, "\(html)")
        }
    }

    @Test func characterSets() {
        let cp1252: [UInt8] =
            Array(#"<html><head><meta charset="windows-1252"><title>Caf"#.utf8) + [0xE9]
            + Array("</title></head><body>".utf8) + [0x93] + Array("quoted".utf8) + [0x94, 0x20, 0x80]
            + Array(" 5</body>".utf8)
        let r = HTMLText.extract(cp1252)
        #expect(r.title == "Café")
        #expect(r.text == "“quoted” € 5")

        let equiv = Array(#"<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">caf"#.utf8) + [0xE9]
        #expect(HTMLText.extract(equiv).text == "café")
        // The transport's charset wins over the page's.
        let utf8Page = Array(#"<meta charset="windows-1252">café"#.utf8)
        #expect(HTMLText.extract(utf8Page, charset: "UTF-8").text == "café")
        #expect(HTMLText.extract(utf8Page).text == "cafÃ©", "the meta is believed without one")
        // An unknown name is skipped for the next.
        #expect(HTMLText.extract(cp1252, charset: "x-no-such-charset").title == "Café")
        #expect(HTMLText.extract(cp1252, charset: "").title == "Café", "an empty name is no name")
        #expect(HTMLText.extract(Array("a".utf8) + [0xE9], charset: "x-no-such-charset").text == "a\u{FFFD}")
        // No declaration: UTF-8, invalid bytes repaired.
        #expect(HTMLText.extract([0x61, 0xFF, 0x62]).text == "a\u{FFFD}b")
        // A byte order mark wins over everything.
        #expect(HTMLText.extract([0xEF, 0xBB, 0xBF] + utf8Page, charset: "windows-1252").text == "café")
        var utf16: [UInt8] = [0xFF, 0xFE]
        for unit in "<p>héllo</p>".utf16 { utf16 += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        #expect(HTMLText.extract(utf16).text == "héllo")
        // Meta declarations the prescan does not take.
        let commented = Array(#"<!-- <meta charset="windows-1252"> -->café"#.utf8)
        #expect(HTMLText.extract(commented).text == "café", "in a comment")
        let inAttribute = Array(#"<a title='<meta charset="windows-1252">'>café</a>"#.utf8)
        #expect(HTMLText.extract(inAttribute).text == "café", "in an attribute")
        let late = Array((String(repeating: " ", count: 1100) + #"<meta charset="windows-1252">café"#).utf8)
        #expect(HTMLText.extract(late).text == "café", "after the first 1024 bytes")
        #expect(HTMLText.extract(Array(#"<meta charset="utf-16">café"#.utf8)).text == "café", "UTF-16 means UTF-8")
        // The prescan's forms.
        for (head, expected) in [
            (#"<meta content="text/html;charset=koi8-r" http-equiv=content-type>"#, "koi8-r"),
            ("<META CHARSET = ' latin1 ' >", "latin1"), (#"<meta charset=utf-8/>"#, "utf-8/"),
            (#"<meta http-equiv="refresh" content="0; charset=x">"#, nil), (#"<meta name=x><meta charset=a>"#, "a"),
            (#"<meta content='text/html; charset="iso-8859-15"' http-equiv='Content-Type'>"#, "iso-8859-15"),
            (#"<metadata charset=x>"#, nil),
        ] as [(String, String?)] {
            #expect(HTMLText.declaredCharset(Array(head.utf8)) == expected, "\(head)")
        }
    }

    @Test func deepNestingIsLinear() {
        let n = 100_000
        #expect(Self.text(String(repeating: "<div>", count: n) + "end") == "end")
        #expect(Self.text(String(repeating: "<svg>", count: n) + "<p>x") == "x")
        #expect(Self.text(String(repeating: "<b><i>", count: n) + "y") == "y")
        #expect(Self.text(String(repeating: "<pre>", count: n) + "z") == "z")
        #expect(
            Self.text(String(repeating: "<object>", count: n) + String(repeating: "</object>", count: n) + "o") == "o")
        // Time grows linearly with the input, for shapes that could make a scanner go back: eight times the input
        // takes about eight times as long (a quadratic pass would take 64 times).
        for piece in [
            "<div>", "<a ", "<p", "&amp", "&#x", "<!-", "\"'", "</", "<svg>", "</scrip", "<a b='>", "x\n ", "<!--x",
        ] {
            func seconds(_ count: Int) -> Double {
                var best = Double.infinity
                let html = Array(("<script>" + String(repeating: piece, count: count)).utf8)
                let plain = Array(String(repeating: piece, count: count).utf8)
                for _ in 0..<3 {
                    let start = ContinuousClock.now
                    _ = HTMLText.extract(html)
                    _ = HTMLText.extract(plain)
                    let d = ContinuousClock.now - start
                    best = min(best, Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
                }
                return best
            }
            let small = seconds(10_000)
            let large = seconds(80_000)
            #expect(large < max(small, 0.002) * 24, "'\(piece)': \(small) s for 10,000, \(large) s for 80,000")
        }
    }

    static let fuzzExamples = [
        "<html><head><title>T &amp; t</title><meta charset=latin1></head><body><p>a<br>b</p></body></html>",
        "<pre>\n  x\r\n</pre><table><tr><td>a<td>b</table>", "<script>x</script><style>y</style><!-- c -->",
        "<svg><p>x</svg><template>t</template><object>o</object>", "&copy &#x1F600; &notit; &#150; &nbsp;",
        "<a href='x>y' title=\"q\">l</a><!DOCTYPE x><![CDATA[c]]><?pi?>", "<textarea>&lt;</textarea><xmp>&lt;</xmp>",
        "<meta http-equiv=content-type content='text/html; charset=windows-1252'>\u{E9}",
    ]

    /// Random and mutated pages: never a trap, and the text keeps its shape.
    @Test func randomInputs() {
        var rng = SeededRandom(seedFromEnvironmentOr: 0x4854_4D4C)
        let charsets: [String?] = [nil, "utf-8", "windows-1252", "utf-16", "latin9", "no-such"]
        for _ in 0..<FuzzTests.inputs {
            let bytes = FuzzTests.input(&rng, Self.fuzzExamples)
            let charset = charsets[Int(rng.next() % UInt64(charsets.count))]
            let r = HTMLText.extract(bytes, charset: charset)
            #expect(!r.text.contains("\n\n\n"), "\(rng.seedDescription)")
            if let title = r.title {
                #expect(!title.isEmpty && !title.contains("\n"), "\(rng.seedDescription)")
                #expect(title.first != " " && title.last != " ", "\(rng.seedDescription)")
            }
        }
    }
}
