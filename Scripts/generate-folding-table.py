#!/usr/bin/env python3
"""Generates Sources/Quarry/Analysis/FoldingTable.swift: the accent folding of the `fold` analyzer option (in the
manner of Lucene's ASCIIFoldingFilter and ICU folding), as a sorted table of scalars and their folded UTF-8. It
reads the Unicode data of Python's `unicodedata` (its version is recorded in the generated file), writes the file,
and prints a summary. Run it after changing the rules, or to move to a newer Unicode:

    python3 Scripts/generate-folding-table.py

Folding runs on tokens that are already lowercased, one scalar at a time, and only on token characters (letters
and numbers: punctuation and symbols never reach it). A scalar folds by the first of these rules that applies:

  A. Its canonical decomposition is one base character followed only by diacritics: it folds to the base (é -> e,
     ǖ -> u, ά -> α, й -> и, क़ -> क; also the singletons: Kelvin sign -> k). Diacritics are the marks of nonzero
     combining class, and the nonspacing marks of the Combining Diacritical Marks blocks. Two kinds of marks are
     not: the kana voiced and semi-voiced sound marks (が and か, パ and ハ are different syllables), and the
     nonspacing marks of class 0 elsewhere, which are vowel signs and subjoined letters (Tibetan gha, U+0F43, is
     ga with a subjoined ha), so the letters that carry them do not fold.
  B. It is a Latin letter that is an ASCII letter with something added (a stroke, bar, hook, tail, curl or loop:
     ø ł đ ħ ŀ ƀ ɓ ȥ ...), a small capital (ᴀ), a letterform variant (dotless ı ȷ, long ſ, insular, script or
     Middle Welsh letters, r rotunda), a ligature or digraph of ASCII letters (æ œ ĳ ꜳ ʣ), or one of ð -> d,
     þ -> th, ß -> ss, ŋ -> n, ŉ -> n: it folds to those ASCII letters. This is the Latin part of Lucene's
     ASCIIFoldingFilter, chosen by the Unicode names (so it also covers letters added to Unicode since), without
     the letters that are another sound rather than a modified letter, which Lucene also folds: turned, reversed
     and open letters (ɐ ǝ ɔ ɛ ʌ ɯ), schwa (ə -> a), kra (ĸ -> q), wynn and yogh.
  C. It is a compatibility form of ASCII letters or digits: superscript or subscript (² -> 2, ª -> a, ₐ -> a,
     ʰ -> h), fullwidth (Ａ -> a), circled (Ⓐ -> a, ① -> 1), another Latin compatibility letter (ﬁ -> fi,
     ǆ -> dz), or an enclosed or punctuated digit form without a decomposition (❶ ⓫ -> their number, as Lucene
     has them). Other compatibility forms are left: mathematical and letterlike styled letters (𝐀, ℂ), Roman
     numerals, squared letters, halfwidth kana, Arabic presentation forms.

The output is then lowercased and folded again (ǿ -> ø -> o, ẛ -> ſ -> s), so that folding is idempotent. An
uppercase scalar folds as its lowercase form does (Ø -> o), although the tokenizer only hands lowercase ones; plain
case pairs (A, a) are not entries. ASCII, Hangul syllables and CJK ideographs are skipped (the decompositions of
the last two are jamo and unified ideographs, not accents). A folded form is never longer in UTF-8 than its scalar
(checked), so a token can be folded in place.
"""

import os
import re
import sys
import unicodedata

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "Quarry", "Analysis",
                      "FoldingTable.swift")

# Combining Diacritical Marks, its Extended and Supplement blocks, for Symbols, and Half Marks.
DIACRITIC_BLOCKS = [(0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF), (0xFE20, 0xFE2F)]
KANA_SOUND_MARKS = {0x3099, 0x309A}
COMPAT_TAGS = {"<super>", "<sub>", "<wide>", "<circle>"}
# Enclosed and punctuated forms of ASCII digits, with or without a compatibility decomposition (⓫ ❶ ⑴ ⒈ 🄂).
DIGIT_FORM = re.compile("(DINGBAT )?(NEGATIVE )?(DOUBLE )?(CIRCLED |PARENTHESIZED )?(SANS-SERIF )?(DIGIT|NUMBER) "
                        "[A-Z]+( FULL STOP| COMMA)?")

# Rule B, by Unicode name (after "LATIN "): the forms of a name that fold, and the words that are letters.
LETTER_PREFIXES = ["SMALL LETTER ", "CAPITAL LETTER SMALL CAPITAL ", "CAPITAL LETTER SMALL ", "CAPITAL LETTER ",
                   "LETTER SMALL CAPITAL ", "SMALL CAPITAL LETTER ", "SMALL LIGATURE ", "CAPITAL LIGATURE ",
                   "LETTER "]
VARIANTS = ["DOTLESS ", "BARRED ", " BAR", "SCRIPT ", "INSULAR ", " ROTUNDA", "BROKEN ", "HALF ", "MIDDLE-WELSH ",
            "VISIGOTHIC ", "LONG ", " DIGRAPH"]
DIGRAPHS = {"AA", "AE", "AO", "AU", "AV", "AY", "DB", "DZ", "HV", "IJ", "LJ", "LL", "LS", "LZ", "NJ", "OE", "OO",
            "OU", "QP", "TC", "TH", "TS", "TZ", "UE", "VY"}
NAMED = {"ETH": "d", "THORN": "th", "SHARP S": "ss", "ENG": "n", "N PRECEDED BY APOSTROPHE": "n"}


def is_token_character(c):
    """The tokenizer's test (Alphabetic, or a number), as far as unicodedata can tell: letters and numbers, and the
    circled Latin letters, which are symbols with the Other_Alphabetic property."""
    return unicodedata.category(c)[0] in "LN" or 0x24B6 <= ord(c) <= 0x24E9


def is_skipped(v):
    if 0xD800 <= v <= 0xDFFF or 0xAC00 <= v <= 0xD7A3:
        return True
    name = unicodedata.name(chr(v), "")
    return name.startswith("CJK UNIFIED IDEOGRAPH") or name.startswith("CJK COMPATIBILITY IDEOGRAPH")


def is_diacritic(m):
    v = ord(m)
    if v in KANA_SOUND_MARKS:
        return False
    if unicodedata.combining(m) > 0:
        return True
    return unicodedata.category(m) == "Mn" and any(lo <= v <= hi for lo, hi in DIACRITIC_BLOCKS)


def strip_diacritics(s):
    return "".join(x for x in s if not is_diacritic(x))


def rule_a(c):
    d = unicodedata.normalize("NFD", c)
    if d == c or unicodedata.category(d[0])[0] == "M" or not all(is_diacritic(m) for m in d[1:]):
        return None
    return d[0]


def rule_c(c):
    if DIGIT_FORM.fullmatch(unicodedata.name(c, "")) and unicodedata.category(c) == "No":
        value = unicodedata.numeric(c)
        return str(int(value)) if value == int(value) else None
    decomposition = unicodedata.decomposition(c)
    tag = decomposition.split(" ")[0]
    latin_compat = tag == "<compat>" and unicodedata.name(c, "").startswith("LATIN ")
    if tag not in COMPAT_TAGS and not latin_compat:
        return None
    s = strip_diacritics(unicodedata.normalize("NFKD", c)).lower()
    return s if re.fullmatch("[a-z0-9]+", s) else None


def rule_b(c):
    name = unicodedata.name(c, "")
    if not name.startswith("LATIN "):
        return None
    rest = name[len("LATIN "):]
    for prefix in LETTER_PREFIXES:
        if rest.startswith(prefix):
            rest = rest[len(prefix):]
            break
    else:
        return None
    core, _, modifiers = rest.partition(" WITH ")
    if "SMALL LETTER" in modifiers:
        return None
    if core in NAMED:
        return NAMED[core]
    for variant in VARIANTS:
        core = core.replace(variant, "")
    if re.fullmatch("[A-Z]", core) or core in DIGRAPHS:
        return core.lower()
    return NAMED.get(core)


RULES = [("A", rule_a), ("B", rule_b), ("C", rule_c)]
memo = {}


def fold(c):
    """(folded string, the rule that applied or None) for one scalar."""
    if c in memo:
        return memo[c]
    memo[c] = (c, None)  # a cycle would leave the scalar unfolded (the fixed-point check below would catch it)
    result = (c, None)
    if ord(c) >= 0x80 and not is_skipped(ord(c)) and is_token_character(c):
        for tag, rule in RULES:
            out = rule(c)
            if out is not None:
                result = (fold_string(out.lower()), tag)
                break
        else:
            lower = c.lower()
            if lower != c:
                folded = fold_string(lower)
                if folded != lower:
                    # The rule of the lowercase form (of its first scalar that folds).
                    result = (folded, next(fold(x)[1] for x in lower if fold(x)[1]))
    memo[c] = result
    return result


def fold_string(s):
    return "".join(fold(x)[0] for x in s)


def main():
    table = {}
    rules = {}
    for v in range(0x110000):
        c = chr(v)
        out, tag = fold(c)
        if tag is not None and out != c:
            table[v] = out
            rules[v] = tag

    # Every output is non-empty, lowercase, made of token characters, and folds to itself.
    for v, out in table.items():
        assert out, f"U+{v:04X} folds to nothing"
        assert out == out.lower(), f"U+{v:04X} folds to {out!r}, which is not lowercase"
        assert all(is_token_character(x) for x in out), f"U+{v:04X} folds to {out!r}, not a token"
        assert all(ord(x) not in table for x in out), f"U+{v:04X} folds to {out!r}, which folds again"
        assert fold_string(out) == out
        assert len(out.encode("utf-8")) <= len(chr(v).encode("utf-8")), f"U+{v:04X} folds to longer {out!r}"

    keys = sorted(table)
    encoded = [table[v].encode("utf-8") for v in keys]
    starts = [0]
    for e in encoded:
        starts.append(starts[-1] + len(e))
    start_type = "UInt16" if starts[-1] <= 0xFFFF else "UInt32"

    def array(values, fmt):
        lines, line = [], ""
        for value in values:
            item = fmt(value) + ","
            if line and len(line) + 1 + len(item) > 120:
                lines.append(line)
                line = ""
            line = f"{line} {item}" if line else f"        {item}"
        lines.append(line)
        return "\n".join(lines)

    version = unicodedata.unidata_version
    text = f"""// Generated by Scripts/generate-folding-table.py (Unicode {version}, Python's unicodedata): do not edit.
// Accent folding for the `fold` analyzer option, applied to each scalar of a lowercased token: é -> e, ø -> o,
// ß -> ss, ά -> α, ﬁ -> fi, Ａ -> a, ² -> 2 (the script's docstring has the rules). Regenerate with
// `python3 Scripts/generate-folding-table.py`.

enum FoldingTable {{
    /// Sorted scalar values that fold.
    static let keys: [UInt32] = [
{array(keys, lambda v: f"0x{v:04X}")}
    ]

    /// For key i, its folded UTF-8 bytes are bytes[starts[i]..<starts[i+1]] (starts has keys.count + 1 entries).
    static let starts: [{start_type}] = [
{array(starts, str)}
    ]

    /// The folded forms, in UTF-8: lowercase, each one folds to itself, and none is longer than its scalar's UTF-8.
    static let bytes: [UInt8] = [
{array(b"".join(encoded), str)}
    ]

    /// The folded UTF-8 bytes of scalar `v` (a range of `bytes`), or nil when it does not fold (binary search over
    /// `keys`).
    static func folded(_ v: UInt32) -> Range<Int>? {{
        guard v >= 0x{keys[0]:04X}, v <= 0x{keys[-1]:04X} else {{ return nil }}
        var lo = 0
        var hi = keys.count
        while lo < hi {{
            let mid = (lo + hi) / 2
            if keys[mid] < v {{ lo = mid + 1 }} else {{ hi = mid }}
        }}
        guard lo < keys.count, keys[lo] == v else {{ return nil }}
        return Int(starts[lo])..<Int(starts[lo + 1])
    }}
}}
"""
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)

    path = os.path.relpath(OUTPUT)
    print(f"Wrote {path}: {len(keys)} entries, {starts[-1]} bytes of UTF-8, {len(text.encode())} bytes of Swift "
          f"(Unicode {version}).")
    for tag, what in [("A", "decompositions with diacritics"), ("B", "Latin letters with strokes, hooks, ligatures"),
                      ("C", "compatibility forms")]:
        entries = [v for v in keys if rules[v] == tag]
        print(f"  Rule {tag} ({what}): {len(entries)} entries")
    upper = sum(1 for v in keys if chr(v).lower() != chr(v))
    print(f"  of which {upper} are uppercase or titlecase keys; {sum(1 for v in keys if v > 0xFFFF)} are outside "
          f"the BMP")
    examples = "é Ç Å ñ ά й ǖ ṩ \u0958 ǿ ø Ø đ ł ß ẞ æ œ þ ɨ ꝁ ﬁ ﬃ Ａ ５ ² ₃ ª ① Ⓐ ǆ ſ ẛ".split()
    print("  Examples: " + ", ".join(f"{x} -> {table.get(ord(x), x)}" for x in examples))
    unfolded = "a z 中 한 が ĸ ə".split()
    assert all(ord(x) not in table for x in unfolded)
    print("  Not folded: " + ", ".join(unfolded))


if __name__ == "__main__":
    sys.exit(main())
