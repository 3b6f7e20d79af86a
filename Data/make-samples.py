#!/usr/bin/env python3
"""Writes Quarry's small sample dumps, one per input format, under Data/.

    python3 Data/make-samples.py            # (re)write every sample
    python3 Data/make-samples.py --check    # write nothing; exit 1 if a file on disk differs

Every sample is about the same invented town, Harrowmere, on the invented River
Velder: its repair café's mailing list, a volunteer's Maildir, a small web
crawl, a wiki, a community noticeboard as CSV and a folder of odds and ends.
The text is original fiction written for Quarry, CC0 like the other samples
(Data/README.md says what each file exercises).

Output is deterministic: fixed dates, gzip members with mtime 0, bzip2 and xz
through the standard library, record ids from uuid5. Only the Python 3.8+
standard library is needed. File modification times of the folder samples
are set to 2024-12-01T12:00:00Z (git does not keep them, so after a checkout
they are the checkout's time).
"""
from __future__ import annotations

import base64
import bz2
import csv
import datetime as dt
import gzip
import hashlib
import io
import lzma
import os
import quopri
import re
import struct
import sys
import uuid
import zlib
from email.utils import format_datetime
from xml.sax.saxutils import escape

DATA = os.path.dirname(os.path.abspath(__file__))
CHECK = "--check" in sys.argv[1:]
FOLDER_MTIME = 1733054400  # 2024-12-01T12:00:00Z
written: list[tuple[str, int]] = []
differs: list[str] = []


def write(rel: str, data: bytes, mtime: int | None = None) -> None:
    path = os.path.join(DATA, rel)
    written.append((rel, len(data)))
    if CHECK:
        try:
            with open(path, "rb") as f:
                if f.read() != data:
                    differs.append(rel)
        except FileNotFoundError:
            differs.append(rel)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def gz(data: bytes) -> bytes:
    """One gzip member, no name, mtime 0 (the same bytes on every run)."""
    return gzip.compress(data, compresslevel=9, mtime=0)


# ---------------------------------------------------------------------------
# Encodings used by mail
# ---------------------------------------------------------------------------

def rfc2822(y, mo, d, h, mi, s, offset_minutes=0) -> str:
    tz = dt.timezone(dt.timedelta(minutes=offset_minutes))
    return format_datetime(dt.datetime(y, mo, d, h, mi, s, tzinfo=tz))


def mbox_from_date(y, mo, d, h, mi, s, offset_minutes=0) -> str:
    """The asctime() date of an mbox "From " line, in UTC."""
    t = dt.datetime(y, mo, d, h, mi, s, tzinfo=dt.timezone(dt.timedelta(minutes=offset_minutes)))
    t = t.astimezone(dt.timezone.utc)
    return t.strftime("%a %b ") + f"{t.day:2d}" + t.strftime(" %H:%M:%S %Y")


def word_b(text: str, charset: str) -> str:
    """An RFC 2047 encoded word, B encoding."""
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode('ascii')}?="


def word_q(text: str, charset: str = "UTF-8") -> str:
    """An RFC 2047 encoded word, Q encoding (spaces as '_', everything but letters and digits as =XX)."""
    out = []
    for b in text.encode(charset):
        c = chr(b)
        if c == " ":
            out.append("_")
        elif c.isascii() and (c.isalnum() or c in "!*+-/"):
            out.append(c)
        else:
            out.append(f"={b:02X}")
    return f"=?{charset}?Q?{''.join(out)}?="


def qp(data: bytes) -> bytes:
    """Quoted-printable with soft line breaks at 76 columns."""
    return quopri.encodestring(data)


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


def mail(headers: str, body: bytes) -> bytes:
    """A message: header lines (with their folds) as written, a blank line, the body."""
    if not body.endswith(b"\n"):
        body += b"\n"
    return headers.strip("\n").encode("utf-8") + b"\n\n" + body


def mboxrd(messages: list[tuple[str, bytes]]) -> bytes:
    """An mboxrd file: a "From " line per message, and every body line matching ^>*From quoted with one more '>'."""
    out = bytearray()
    for from_line, msg in messages:
        out += from_line.encode("ascii") + b"\n"
        for line in msg.split(b"\n")[:-1]:
            if re.match(rb">*From ", line):
                line = b">" + line
            out += line + b"\n"
        out += b"\n"
    return bytes(out)


def multipart(boundary: str, parts: list[bytes], preamble: str = "") -> bytes:
    out = bytearray()
    if preamble:
        out += preamble.encode("ascii") + b"\n"
    for p in parts:
        out += b"\n--" + boundary.encode("ascii") + b"\n" + p
        if not p.endswith(b"\n"):
            out += b"\n"
    out += b"\n--" + boundary.encode("ascii") + b"--\n"
    return bytes(out)


def part(headers: str, body: bytes) -> bytes:
    return headers.strip("\n").encode("ascii") + b"\n\n" + body


# ---------------------------------------------------------------------------
# Small binary files: a PNG and a PDF-like attachment
# ---------------------------------------------------------------------------

def png() -> bytes:
    """A valid 8x8 RGB PNG (a green river under a blue sky), 100-odd bytes with NULs in them."""
    rows = []
    for y in range(8):
        row = bytearray([0])  # filter type 0
        for x in range(8):
            if y < 3:
                row += bytes([120, 170, 230])
            elif y < 5:
                row += bytes([40, 90, 160]) if (x + y) % 3 else bytes([230, 240, 250])
            else:
                row += bytes([60, 120, 50])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")


FAKE_PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
    b"4 0 obj << /Length 96 >> stream\n"
    b"BT /F1 12 Tf 72 720 Td (Checklist: visual inspection, earth continuity, insulation resistance) Tj ET\n"
    b"endstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)

# ---------------------------------------------------------------------------
# sample-mail/archive.mbox: the repair café volunteers' list, December 2024
# ---------------------------------------------------------------------------

LIST = "Repair Cafe volunteers <volunteers@lists.harrowmere.example>"
LIST_ID = "List-Id: Harrowmere Repair Cafe volunteers <volunteers.lists.harrowmere.example>"
M1 = "<20241202091403.4471@harrowmere.example>"
M2 = "<b7f1e0c2-5a3d-4e8f-9b61-2f0c8d3a7e55@harrowmere.example>"
M3 = "<87ttq2kx1v.fsf@lefevre.harrowmere.example>"
M4 = "<20241203080240.4502@harrowmere.example>"
M5 = "<CAD8f2Lq9x3ZkH5r+W1p@mail.harrowmere.example>"
M6 = "<000001db4675$a1b2c3d4$e5f60718@harrowmere.example>"
M7 = "<courier.20241205101200.9912@harrowmere-courier.example>"
M8 = "<20241208083000.4630@harrowmere.example>"


def mbox_sample() -> bytes:
    msgs: list[tuple[str, bytes]] = []

    # 1. Plain text, UTF-8 8bit, a folded Subject.
    msgs.append((
        "From alice.thornbury@harrowmere.example " + mbox_from_date(2024, 12, 2, 9, 14, 3),
        mail(f"""
Return-Path: <alice.thornbury@harrowmere.example>
Message-ID: {M1}
Date: {rfc2822(2024, 12, 2, 9, 14, 3)}
From: Alice Thornbury <alice.thornbury@harrowmere.example>
To: {LIST}
Subject: December session: who can take the soldering bench, the sewing
 table and the bike stand?
{LIST_ID}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8; format=flowed
Content-Transfer-Encoding: 8bit
""", """Hello all,

The December repair café is on Saturday 7 December, 10 a.m. to 1 p.m., in the
old fire station on Quay Street as usual. It is the last session before
Christmas, and the Courier has promised to mention it, so expect a queue.

I still need people for three stations:

  * the soldering bench (two people, ideally one who has done it before)
  * the sewing table (Zoë has the overlocker, but she can't run it alone)
  * the bike stand by the door

Tea and coffee are sorted. Please reply to the list, not to me, so everyone
can see which gaps are filled.

Thanks,
Alice

--
Harrowmere Repair Café, first Saturday of the month, old fire station
""".encode("utf-8"))))

    # 2. UTF-8 Q encoded From and Subject (two encoded words across a fold), multipart/alternative.
    plain = """Hi Alice,

Count me in for the sewing table. I’ll bring the overlocker and the box of
zips that the knitting circle gave us. Last month we ran out of navy thread
twice, so I’ll buy a couple of reels on the way.

If someone can sit with me from 11 until 12, we can take the hems and the
patches in parallel and keep the queue moving.

Zoë
"""
    html = """<html><head><style>p { margin: 0 0 1em 0; } .sig { color: #777777; }</style></head>
<body>
<p>Hi Alice,</p>
<p>Count me in for the <b>sewing table</b>. I’ll bring the overlocker and the box of zips that the knitting circle gave us. Last month we ran out of navy thread twice, so I’ll buy a couple of reels on the way.</p>
<p>If someone can sit with me from 11 until 12, we can take the hems and the patches in parallel and keep the queue moving.</p>
<p class="sig">Zoë</p>
</body></html>
"""
    boundary = "000000000000a1c7e90628a4f3b2"
    body = multipart(boundary, [
        part('Content-Type: text/plain; charset="UTF-8"\nContent-Transfer-Encoding: 8bit', plain.encode("utf-8")),
        part('Content-Type: text/html; charset="UTF-8"\nContent-Transfer-Encoding: quoted-printable',
             qp(html.encode("utf-8"))),
    ])
    msgs.append((
        "From zoe.muller@harrowmere.example " + mbox_from_date(2024, 12, 2, 12, 41, 55),
        mail(f"""
Return-Path: <zoe.muller@harrowmere.example>
MIME-Version: 1.0
References: {M1}
In-Reply-To: {M1}
From: {word_q("Zoë Müller")} <zoe.muller@harrowmere.example>
Date: {rfc2822(2024, 12, 2, 12, 41, 55)}
Message-ID: {M2}
Subject: {word_q("Re: December session – I’ll bring the")}
 {word_q(" overlocker for the sewing table")}
To: {LIST}
{LIST_ID}
Content-Type: multipart/alternative; boundary="{boundary}"
""", body)))

    # 3. ISO-8859-1 B encoded From and Subject, a quoted-printable Latin-1 body.
    text = """Bonjour Alice,

I can take the soldering bench from 10 until 1. I will bring my own iron as well, because the café's old one takes twenty minutes to heat up and then loses its tip.

Two more things:

1. The kettle in the café corner has a cracked lid. I found the same model
   at the hardware shop for £18 and can pay and claim it back, if the
   committee agrees.
2. Madame Dubois's toaster (the one from October) is réparé: it was a loose
   crimp on the thermal fuse. She will collect it on Saturday, so please
   keep it on the shelf marked "à rendre / to return".

Rule of thumb for new volunteers: iron temperature = 330 °C for lead-free solder, and never more than three seconds on a pad, or the track lifts.

À samedi,
François
"""
    msgs.append((
        "From francois.lefevre@harrowmere.example " + mbox_from_date(2024, 12, 2, 18, 7, 12),
        mail(f"""
From: {word_b("François Lefèvre", "ISO-8859-1")} <francois.lefevre@harrowmere.example>
To: {LIST}
Subject: Re: December session: soldering bench, and the {word_b("café", "ISO-8859-1")} kettle
Date: {rfc2822(2024, 12, 2, 18, 7, 12)}
Message-ID: {M3}
In-Reply-To: {M1}
References: {M1}
{LIST_ID}
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable
""", qp(text.encode("latin-1")))))

    # 4. multipart/mixed: a text body with a "From " line, an inline base64 text part, a PDF attachment.
    text = """Morning all,

Thank you: the rota is nearly full. Zoë has the sewing table, François the
soldering bench, and Dev has offered to do the bike stand with Bernadette.
From 10 a.m. sharp we will need two people at the door to log each item.

Attached are the parts list (what we have in the cupboard, so please don't
buy duplicates) and the electrical safety checklist that every appliance
goes through before it leaves the building. Please read the checklist if
you haven't done a session since the summer.

Alice
"""
    parts_list = """Parts cupboard, old fire station: stock on 3 December 2024

Fuses (13 A): 40
Fuses (3 A): 25
Kettle and toaster thermal fuses: 6
Three-core flex, 0.75 mm²: 12 metres
Lamp holders (B22 bayonet): 4
Inner tubes (700x28c): 3
Puncture patches: plenty
Zips (assorted): one biscuit tin
Navy thread: none (Zoë is buying two reels)
"""
    boundary = "=_harrowmere_mixed_4502"
    body = multipart(boundary, [
        part("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit", text.encode("utf-8")),
        part('Content-Type: text/plain; charset=utf-8; name="parts-list.txt"\n'
             'Content-Disposition: inline; filename="parts-list.txt"\n'
             "Content-Transfer-Encoding: base64", b64(parts_list.encode("utf-8"))),
        part('Content-Type: application/pdf; name="electrical-safety-checklist.pdf"\n'
             'Content-Disposition: attachment;\n filename="electrical-safety-checklist.pdf"\n'
             "Content-Transfer-Encoding: base64", b64(FAKE_PDF)),
    ], preamble="This is a multi-part message in MIME format.")
    msgs.append((
        "From alice.thornbury@harrowmere.example " + mbox_from_date(2024, 12, 3, 8, 2, 40),
        mail(f"""
Return-Path: <alice.thornbury@harrowmere.example>
Message-ID: {M4}
Date: {rfc2822(2024, 12, 3, 8, 2, 40)}
From: Alice Thornbury <alice.thornbury@harrowmere.example>
To: {LIST}
Subject: Parts list and safety checklist for Saturday
References: {M1}
 {M2}
 {M3}
In-Reply-To: {M3}
{LIST_ID}
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="{boundary}"
""", body)))

    # 5. Quoting without a space: ">From " in the body, written ">>From " in the mbox (mboxrd).
    text = """Alice Thornbury wrote on 3 Dec 2024 at 08:02:
>Zoë has the sewing table, François the soldering bench, and Dev has
>offered to do the bike stand with Bernadette.
>From 10 a.m. sharp we will need two people at the door to log each item.

Happy to. Bernadette and I will bring the track pump and the spare inner
tubes from the allotment shed, and I can log items at the door before 10.

From the photos in the group chat, the standard lamp that came in last
month needs a new flex and a cord grip, not a new switch. We have the flex
(12 metres, according to the list), so that one should be quick.

Dev
"""
    msgs.append((
        "From dev.raman@harrowmere.example " + mbox_from_date(2024, 12, 3, 21, 19, 5),
        mail(f"""
Return-Path: <dev.raman@harrowmere.example>
From: Dev Raman <dev.raman@harrowmere.example>
Date: {rfc2822(2024, 12, 3, 21, 19, 5)}
Message-ID: {M5}
Subject: Re: Parts list and safety checklist for Saturday
To: {LIST}
In-Reply-To: {M4}
References: {M1} {M4}
{LIST_ID}
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: 8bit
""", text.encode("utf-8"))))

    # 6. Windows-1252, 8bit (curly quotes, an en dash, the euro sign in 0x80..0x9F).
    text = """Hi all,

I’ve bought the two temperature-controlled soldering irons we talked about
at the November meeting. They came to €71.85 for the pair from a shop in
Lille that François found (the hardware shop on Quay Street wanted £49
each). The receipt is in the cash tin.

The box says “lead-free ready” – François, can you check they really reach
330 °C before Saturday?

Bernadette
"""
    msgs.append((
        "From bernadette.oshea@harrowmere.example " + mbox_from_date(2024, 12, 4, 17, 45, 30),
        mail(f"""
From: "Bernadette O'Shea" <bernadette.oshea@harrowmere.example>
To: {LIST}
Cc: "Francois Lefevre" <francois.lefevre@harrowmere.example>
Subject: Receipt for the new soldering irons
Date: {rfc2822(2024, 12, 4, 17, 45, 30)}
Message-ID: {M6}
In-Reply-To: {M4}
References: {M1} {M4}
MIME-Version: 1.0
Content-Type: text/plain;
\tcharset="windows-1252"
Content-Transfer-Encoding: 8bit
X-Mailer: Microsoft Outlook 16.0
{LIST_ID}
""", text.encode("cp1252"))))

    # 7. HTML only, quoted-printable UTF-8; a Date with a trailing comment.
    html = """<!DOCTYPE html><html><head><meta charset="utf-8">
<style type="text/css">body{font-family:Arial,sans-serif;font-size:14px} .footer{font-size:11px;color:#888888}</style>
</head><body>
<p>Dear volunteers,</p>
<p>I&rsquo;m writing a piece for next week&rsquo;s <i>Harrowmere Courier</i> on the repair caf&eacute; and the reopening of the Velder footbridge, which fall on the same weekend.</p>
<p>Would anyone object to our photographer, Tom&aacute;s, taking pictures on Saturday between 11 and 12? We will only photograph people who say yes, and nobody&rsquo;s repairs will be shown without the owner&rsquo;s permission.</p>
<p>Many thanks,<br>Priya Nandakumar<br>Reporter, Harrowmere Courier</p>
<p class="footer">This email and any attachments are confidential &amp; intended only for the addressee.</p>
</body></html>
"""
    msgs.append((
        "From p.nandakumar@harrowmere-courier.example " + mbox_from_date(2024, 12, 5, 10, 12, 0),
        mail(f"""
Received: from mx1.lists.harrowmere.example (mx1.lists.harrowmere.example [192.0.2.25])
\tby mail.harrowmere.example with ESMTPS id 4Y3kQm1bZ2z9sVn
\tfor <volunteers@lists.harrowmere.example>; Thu, 05 Dec 2024 10:12:03 +0000 (UTC)
From: Priya Nandakumar <p.nandakumar@harrowmere-courier.example>
To: {LIST}
Subject: Courier feature: can we photograph Saturday's session?
Date: Thu, 5 Dec 2024 10:12:00 +0000 (UTC)
Message-ID: {M7}
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable
{LIST_ID}
""", qp(html.encode("utf-8")))))

    # 8. Wrap-up: a numeric zone other than +0000, Cc, a References header folded over three lines.
    text = """Hello all,

Thank you for a busy Saturday. The numbers:

  items brought in    31
  fixed on the day    22
  need a part          5
  beyond repair        4

The standard lamp went home with its new flex, Madame Dubois collected her
toaster, and the Courier's photographer got a lovely picture of Zoë at the
overlocker. The article should be in Thursday's paper.

Next session: Saturday 4 January. I'm writing this from my sister's kitchen
in Toronto, so replies may be slow until Wednesday.

Alice
"""
    msgs.append((
        "From alice.thornbury@harrowmere.example " + mbox_from_date(2024, 12, 8, 8, 30, 0, -300),
        mail(f"""
Return-Path: <alice.thornbury@harrowmere.example>
Message-ID: {M8}
Date: {rfc2822(2024, 12, 8, 8, 30, 0, -300)}
From: Alice Thornbury <alice.thornbury@harrowmere.example>
To: {LIST}
Cc: Harrowmere Repair Cafe committee <committee@harrowmere.example>
Subject: Saturday's numbers: 31 items in, 22 fixed
In-Reply-To: {M1}
References: {M1}
 {M4}
 {M7}
{LIST_ID}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
""", text.encode("utf-8"))))
    return mboxrd(msgs)


# ---------------------------------------------------------------------------
# sample-mail/Maildir: Dev Raman's mailbox
# ---------------------------------------------------------------------------

def maildir_sample() -> None:
    # cur/: a read notice, body base64 (as some mailers send everything).
    text = """Dear Dev Raman,

The item you reserved is waiting for you at Harrowmere Town Library:

  Mending Things by Hand: Bicycles, Lamps and Kettles
  Reservation number: HTL-20417
  Collect by: Saturday 7 December 2024

The library is open Monday to Saturday, 9.30 a.m. to 5 p.m. (Thursdays until
7 p.m.). Please bring your library card.

This is an automatic message; replies to this address are not read.
Harrowmere Town Library & Local Studies Centre, Market Square
"""
    a = mail(f"""
Return-Path: <noreply@library.harrowmere.example>
Delivered-To: dev.raman@harrowmere.example
Received: from mail.library.harrowmere.example (mail.library.harrowmere.example [198.51.100.14])
\tby mx.harrowmere.example (Postfix) with ESMTPS id 7C1A2E0042
\tfor <dev.raman@harrowmere.example>; Fri, 29 Nov 2024 10:00:04 +0000 (GMT)
Message-ID: <reservation-HTL-20417.1732874400@library.harrowmere.example>
Date: {rfc2822(2024, 11, 29, 10, 0, 0)}
From: Harrowmere Town Library <noreply@library.harrowmere.example>
To: Dev Raman <dev.raman@harrowmere.example>
Subject: Your reservation is ready to collect
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64
""", b64(text.encode("utf-8")))

    # cur/: a forward: multipart/mixed with the original as message/rfc822.
    note = """Dear plot holders,

Forwarding the flood alert below. The lower plots by the river (numbers 1
to 12) flooded in November last year, so please move tools and anything
that floats up to the shed by the gate before Thursday.

Ruth
Cobbler's Field Allotment Society
"""
    inner = mail(f"""
From: Velder Flood Warnings <alerts@floodwarnings.example>
To: subscribers@floodwarnings.example
Subject: Flood alert: River Velder at Harrowmere
Date: {rfc2822(2024, 12, 3, 6, 45, 0)}
Message-ID: <alert-velder-20241203-0645@floodwarnings.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
""", b"""FLOOD ALERT: River Velder at Harrowmere

River levels at the Mere gauge are rising after heavy rain on the hills
above Fellgate. Flooding of low-lying land and roads is possible from
Wednesday evening, particularly the riverside footpath, the Quay Street
car park and the allotments at Cobbler's Field.

Levels are expected to peak on Thursday morning. Avoid walking or driving
through flood water. This message will be updated by 6 p.m.
""")
    boundary = "------------fwd7Qm2Lx0aPz3"
    b = mail(f"""
Return-Path: <ruth.abernethy@harrowmere.example>
Delivered-To: dev.raman@harrowmere.example
Received: from mail.harrowmere.example (localhost [127.0.0.1])
\tby mx.harrowmere.example (Postfix) with ESMTP id 91B3E0051
\tfor <dev.raman@harrowmere.example>; Tue, 03 Dec 2024 07:20:06 +0000 (GMT)
Message-ID: <5e0b1f7a-1c44-4d3e-8a07-allotments@harrowmere.example>
Date: {rfc2822(2024, 12, 3, 7, 20, 0)}
From: Ruth Abernethy <ruth.abernethy@harrowmere.example>
To: Cobbler's Field plot holders <plots@harrowmere.example>
Subject: Fwd: Flood alert for the River Velder at Harrowmere
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="{boundary}"
""", multipart(boundary, [
        part("Content-Type: text/plain; charset=UTF-8; format=flowed\nContent-Transfer-Encoding: 7bit", note.encode()),
        part("Content-Type: message/rfc822\nContent-Disposition: inline", inner),
    ], preamble="This is a multi-part message in MIME format."))

    # new/: unread; ISO-8859-15 (Latin-9: the euro sign is 0xA4), 8bit.
    text = """Dear friends of the choir,

We will sing carols on the Velder footbridge on Sunday 15 December at 4 p.m.,
the first Sunday after it reopens. Bring a torch and a warm coat; song sheets
are provided.

Mince pies and mulled wine are £2 (or €2.50 for our guests from the twin
town, whose brass band is joining us this year). All money raised goes to
the flood recovery fund.

Gwen Pritchard
Harrowmere Choral Society
"""
    c = mail(f"""
Return-Path: <gwen.pritchard@harrowmere.example>
Delivered-To: dev.raman@harrowmere.example
Received: from mail.harrowmere.example (localhost [127.0.0.1])
\tby mx.harrowmere.example (Postfix) with ESMTP id A40F1E0077
\tfor <dev.raman@harrowmere.example>; Thu, 05 Dec 2024 19:35:02 +0000 (GMT)
Message-ID: <carols-2024@choral.harrowmere.example>
Date: {rfc2822(2024, 12, 5, 19, 35, 0)}
From: Gwen Pritchard <gwen.pritchard@harrowmere.example>
To: Friends of the choir <friends@choral.harrowmere.example>
Subject: Carols at the footbridge, Sunday 15 December
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-15
Content-Transfer-Encoding: 8bit
""", text.encode("iso8859_15"))

    # Maildir names: <time>.M<usec>P<pid>.<host>,S=<size>[:2,<flags>] (flags only in cur/). A name holds the
    # size, so files of an earlier run go first.
    if not CHECK:
        for folder in ("cur", "new"):
            d = os.path.join(DATA, "sample-mail/Maildir", folder)
            for name in os.listdir(d) if os.path.isdir(d) else []:
                if not name.startswith("."):
                    os.remove(os.path.join(d, name))
    for folder, stamp, unique, data, flags in [
        ("cur", 1732874404, "M118204P3021", a, ":2,S"),
        ("cur", 1733210406, "M451977P3377", b, ":2,RS"),
        ("new", 1733427302, "M802113P4102", c, ""),
    ]:
        name = f"{stamp}.{unique}.harrowmere,S={len(data)}{flags}"
        write(f"sample-mail/Maildir/{folder}/{name}", data, FOLDER_MTIME)
    write("sample-mail/Maildir/tmp/.gitkeep", b"", FOLDER_MTIME)


# ---------------------------------------------------------------------------
# sample-web/crawl.warc.gz: a small crawl, one gzip member per record
# ---------------------------------------------------------------------------

LIBRARY_HOME = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Harrowmere Town Library &amp; Local Studies Centre</title>
<style>
body { font-family: Georgia, serif; margin: 0 auto; max-width: 42em; }
.notice { background: #fff4d6; padding: 0.5em; }
nav a { margin-right: 1em; }
</style>
<script>
window.dataLayer = window.dataLayer || [];
function track(event) { dataLayer.push({event: event, page: "home"}); }
</script>
</head>
<body>
<nav><a href="/">Home</a> <a href="/catalogue">Catalogue</a> <a href="/events/">Events</a> <a href="/local-studies/">Local studies</a></nav>
<h1>Harrowmere Town Library</h1>
<p class="notice">The library will close early, at 4&nbsp;p.m., on Christmas Eve, and reopens on 27 December.</p>
<p>Welcome to the library&#8217;s new website. You can search the catalogue, renew loans and reserve books from home; reservations are ready to collect within a week.</p>
<h2>Local Studies Centre</h2>
<p>The Local Studies room on the first floor holds the town&#8217;s parish registers, back issues of the <i>Harrowmere Courier</i> from 1871, and maps of the River Velder &amp; its mills from 1790 onwards. Ask at the desk for the key.</p>
<h2>Caf&eacute; and meeting room</h2>
<p>The Reading Room Caf&eacute; is open from 10 a.m. to 3 p.m. The meeting room can be booked by local groups free of charge; the repair caf&eacute; volunteers meet there on the last Thursday of the month.</p>
<footer><p>&copy; 2024 Harrowmere Town Council &middot; Market Square, Harrowmere</p></footer>
<script>track("pageview");</script>
</body>
</html>
"""

WINTER_READING = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="windows-1252">
<title>Winter Reading Challenge – Harrowmere Town Library</title>
<link rel="stylesheet" href="/css/site.css">
<script src="/js/cookie-banner.js"></script>
<script>var challengeStart = "2024-12-14"; if (window.console) { console.log("winter reading loaded"); }</script>
</head>
<body>
<h1>Winter Reading Challenge</h1>
<p>Read six books between 14 December and 15 February and collect a stamp for each one. It’s free, it’s for all ages, and the first hundred finishers get a Harrowmere Library tote bag.</p>
<p>This year’s theme is “Rivers and Journeys”. Our children’s librarian, Renée Okonjo, has chosen a shelf of stories about boats, bridges and floods – including two set on the Velder.</p>
<p>Sign up at the desk or at the story-time session on Saturday mornings. Reading cards are free; a replacement card costs 50p.</p>
</body>
</html>
"""

REPAIR_CAFE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harrowmere Repair Caf&eacute; | Fix it, don&#8217;t bin it</title>
<style>
:root { --accent: #c0392b; }
h1, h2 { color: var(--accent); }
ul.rules li { margin-bottom: 0.3em; }
</style>
<script>
var sessions = ["2025-01-04", "2025-02-01", "2025-03-01"];
document.addEventListener("DOMContentLoaded", function () { showNextSession(sessions); });
</script>
</head>
<body>
<header><h1>Harrowmere Repair Caf&eacute;</h1><p>First Saturday of every month, 10 a.m. to 1 p.m., old fire station, Quay Street</p></header>
<main>
<p>Bring your broken toaster, torn jacket, wobbly chair or bicycle with a puncture, and our volunteers will help you fix it. Repairs are free; donations keep the tea urn running.</p>
<h2>What we can&#8217;t fix</h2>
<ul class="rules">
<li>Microwave ovens and anything that runs on gas</li>
<li>Mobile phone screens (we&#8217;ll tell you where to go)</li>
<li>Anything too heavy for one person to carry in</li>
</ul>
<h2>Volunteers wanted</h2>
<p>We need people who can sew, solder, sharpen knives or true a bicycle wheel &mdash; and just as much, people who make tea &amp; keep the queue cheerful. Email the volunteers&#8217; list to join.</p>
</main>
<noscript><p>The session calendar needs JavaScript.</p></noscript>
</body>
</html>
"""

COURIER_ARTICLE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Velder footbridge reopens after flood repairs | Harrowmere Courier</title>
<meta name="description" content="The Victorian footbridge over the River Velder has reopened after thirteen months.">
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Velder footbridge reopens after flood repairs", "datePublished": "2024-12-09T07:00:00Z", "author": {"@type": "Person", "name": "Priya Nandakumar"}}
</script>
<style>
article p { line-height: 1.6; }
.byline { font-style: italic; }
.ad-slot { min-height: 250px; }
</style>
</head>
<body>
<div class="ad-slot" id="top-banner"></div>
<article>
<h1>Velder footbridge reopens after flood repairs</h1>
<p class="byline">By Priya Nandakumar &middot; 9 December 2024</p>
<p>The iron footbridge over the River Velder reopened on Saturday, thirteen months after floodwater tore away part of its east abutment and left the Victorian span leaning by six inches.</p>
<p>Engineers rebuilt the abutment on new piles and replaced the corroded handrails with copies cast from the originals. The bridge, built in 1887 to carry mill workers from the east-bank terraces to the market, has been repainted in its original dark green.</p>
<p>&ldquo;People have been walking an extra mile round by the road bridge for more than a year,&rdquo; said councillor Hamid Rahimi. &ldquo;Today they can walk to the market in five minutes again.&rdquo;</p>
<p>The repair cost &pound;412,000, of which &pound;300,000 came from the county&#8217;s flood recovery fund. A new gauge board on the bridge&#8217;s west pier shows walkers the height of the river.</p>
</article>
<script>window.loadAds && window.loadAds("top-banner");</script>
</body>
</html>
"""

ALLOTMENTS_NEWS = """<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>News – Cobbler's Field Allotment Society</title>
<!-- generated by SiteBuilder 3.2: do not edit by hand -->
</head>
<body bgcolor="#ffffff">
<table width="100%"><tr><td>
<h2>Flood clean-up day: Saturday 14 December</h2>
<p>After last week&#8217;s high water, plots 1 to 12 are covered in silt and litter. Please come to the gate at 9 a.m. with gloves and a spade; the society will provide skips and bacon rolls.</p>
<h2>Seed swap in February</h2>
<p>The seed swap returns to the library meeting room on Saturday 8 February. Bring packets you won&#8217;t use, saved beans &amp; tomato seed in labelled envelopes, and take home something new.</p>
<h2>Plot rents</h2>
<p>Rents for 2025 are unchanged: &pound;38 for a full plot and &pound;20 for a half plot, due by 31 March.</p>
</td></tr></table>
</body>
</html>
"""

NOT_FOUND = """<!DOCTYPE html>
<html><head><title>404 Not Found</title></head>
<body><h1>Not Found</h1><p>The page you asked for is not here. Try the <a href="/">home page</a>.</p></body></html>
"""


def warc_sample() -> bytes:
    ns = uuid.UUID("6f1b3c2e-0a4d-4f5e-9c7b-8d2a1e3f4b5c")

    def record_id(name: str) -> str:
        return f"<urn:uuid:{uuid.uuid5(ns, name)}>"

    def digest(data: bytes) -> str:
        return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")

    def record(headers: list[tuple[str, str]], block: bytes) -> bytes:
        lines = ["WARC/1.0"]
        for k, v in headers:
            lines.append(f"{k}: {v}")
            if k == "WARC-Record-ID":  # Content-Length comes next, as Common Crawl writes it
                lines.append(f"Content-Length: {len(block)}")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return gz(head.encode("ascii") + block + b"\r\n\r\n")

    out = bytearray()
    filename = "CC-MAIN-20241209140000-20241209160000-00000.warc.gz"
    info_id = record_id("warcinfo")
    info = (
        "isPartOf: HARROWMERE-SAMPLE-2024-50\r\n"
        "publisher: Quarry sample data (fiction; see Data/README.md)\r\n"
        "description: A tiny made-up crawl of made-up sites, in the layout of a Common Crawl WARC file\r\n"
        "operator: Quarry\r\n"
        "hostname: crawler-01.harrowmere.example\r\n"
        "software: Data/make-samples.py\r\n"
        "robots: checked via crawler-commons\r\n"
        "format: WARC File Format 1.0\r\n"
        "conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.0/\r\n"
    ).encode("ascii")
    out += record([
        ("WARC-Type", "warcinfo"),
        ("WARC-Date", "2024-12-09T14:00:00Z"),
        ("WARC-Record-ID", info_id),
        ("Content-Type", "application/warc-fields"),
        ("WARC-Filename", filename),
    ], info)

    def http_date(t: dt.datetime) -> str:
        return format_datetime(t, usegmt=True)

    def fetch(url, when, ip, status, headers, payload, identified, chunked=False, gzipped=False):
        """A request record and its response record."""
        nonlocal out
        t = dt.datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        host = url.split("/")[2]
        path = "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "/"
        request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "User-Agent: HarrowmereSampleBot/1.0 (+https://harrowmere.example/bot)\r\n"
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
            "Accept-Language: en-GB,en;q=0.5\r\n"
            "Accept-Encoding: gzip\r\n"
            "Connection: close\r\n\r\n"
        ).encode("ascii")
        body = payload
        if gzipped:
            body = gz(body)
        if chunked:
            # Three chunks of uneven size, as a streaming server sends them.
            cuts = [0, len(body) // 3, len(body) // 3 + 200, len(body)]
            pieces = [body[cuts[i]:cuts[i + 1]] for i in range(3)]
            body = b"".join(f"{len(p):x}\r\n".encode("ascii") + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
        reason = {200: "OK", 404: "Not Found"}[status]
        hdrs = [f"HTTP/1.1 {status} {reason}", f"Date: {http_date(t)}", "Server: nginx/1.24.0"] + headers
        if chunked:
            hdrs.append("Transfer-Encoding: chunked")
        else:
            hdrs.append(f"Content-Length: {len(body)}")
        if gzipped:
            hdrs.append("Content-Encoding: gzip")
            hdrs.append("Vary: Accept-Encoding")
        hdrs.append("Connection: close")
        response = ("\r\n".join(hdrs) + "\r\n\r\n").encode("ascii") + body
        req_id, resp_id = record_id("request " + url), record_id("response " + url)
        out += record([
            ("WARC-Type", "request"),
            ("WARC-Date", when),
            ("WARC-Record-ID", req_id),
            ("Content-Type", "application/http; msgtype=request"),
            ("WARC-Warcinfo-ID", info_id),
            ("WARC-IP-Address", ip),
            ("WARC-Target-URI", url),
            ("WARC-Block-Digest", digest(request)),
        ], request)
        out += record([
            ("WARC-Type", "response"),
            ("WARC-Date", when),
            ("WARC-Record-ID", resp_id),
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-Warcinfo-ID", info_id),
            ("WARC-Concurrent-To", req_id),
            ("WARC-IP-Address", ip),
            ("WARC-Target-URI", url),
            ("WARC-Payload-Digest", digest(body)),
            ("WARC-Block-Digest", digest(response)),
            ("WARC-Identified-Payload-Type", identified),
        ], response)

    lm = "Last-Modified: Mon, 02 Dec 2024 16:20:00 GMT"
    fetch("https://library.harrowmere.example/", "2024-12-09T14:03:27Z", "203.0.113.10", 200,
          ["Content-Type: text/html; charset=utf-8", lm], LIBRARY_HOME.encode("utf-8"), "text/html")
    fetch("https://library.harrowmere.example/images/logo.png", "2024-12-09T14:03:28Z", "203.0.113.10", 200,
          ["Content-Type: image/png", "Cache-Control: max-age=86400"], png(), "image/png")
    # No charset from HTTP: the page's <meta charset="windows-1252"> decides.
    fetch("https://library.harrowmere.example/events/winter-reading", "2024-12-09T14:03:31Z", "203.0.113.10", 200,
          ["Content-Type: text/html", lm], WINTER_READING.encode("cp1252"), "text/html")
    fetch("https://repaircafe.harrowmere.example/", "2024-12-09T14:05:02Z", "203.0.113.42", 200,
          ["Content-Type: text/html; charset=utf-8", "X-Powered-By: PHP/8.2.12"],
          REPAIR_CAFE.encode("utf-8"), "text/html", chunked=True)
    fetch("https://repaircafe.harrowmere.example/2019/summer-fete", "2024-12-09T14:05:04Z", "203.0.113.42", 404,
          ["Content-Type: text/html; charset=utf-8"], NOT_FOUND.encode("utf-8"), "text/html")
    fetch("https://www.harrowmere-courier.example/news/2024/12/09/velder-footbridge-reopens", "2024-12-09T14:11:45Z",
          "198.51.100.77", 200, ["Content-Type: text/html; charset=UTF-8", "Cache-Control: public, max-age=300"],
          COURIER_ARTICLE.encode("utf-8"), "text/html", gzipped=True)
    fetch("http://www.cobblersfield-allotments.example/news.html", "2024-12-09T14:20:13Z", "192.0.2.150", 200,
          ["Content-Type: text/html; charset=utf-8", "Accept-Ranges: bytes"], ALLOTMENTS_NEWS.encode("utf-8"),
          "text/html")
    return bytes(out)


# ---------------------------------------------------------------------------
# sample-wiki/pages-articles.xml.bz2: a MediaWiki export of an invented wiki
# ---------------------------------------------------------------------------

HARROWMERE = """{{Short description|Market town on the River Velder}}
{{Use dmy dates|date=March 2024}}
{{Infobox settlement
| name                = Harrowmere
| settlement_type     = Market town
| image_skyline       = Harrowmere market square.jpg
| image_caption       = The market square in 2019
| subdivision_type    = County
| subdivision_name    = [[Wendleshire]]
| population_total    = 14,213
| population_as_of    = 2021
| coordinates         = {{coord|52.61|N|1.94|W|display=inline,title}}
| website             = {{URL|harrowmere.example}}
}}
'''Harrowmere''' is a market town in [[Wendleshire]], built where the [[River Velder]] widens into a shallow lake known locally as ''the Mere''. It had a population of 14,213 at the 2021 census.<ref name="census">{{cite web |title=Harrowmere parish profile |publisher=Wendleshire Council |year=2022 |url=https://council.wendleshire.example/profiles/harrowmere}}</ref>

== History ==
A settlement at the ford is recorded in the 11th century, and the town grew around a wool market granted in 1267.<ref>{{cite book |last=Ellery |first=Margaret |title=A History of Harrowmere |publisher=Velder Press |year=1958 |page=14}}</ref> In the 19th century tanneries, two corn mills and a gasworks lined the river, and the [[Velder Footbridge]] was built in 1887 to link the new terraces on the east bank with the market.

=== Floods ===
The town has flooded repeatedly, most severely in 1947, 2007 and November 2023, when the Mere rose {{convert|2.4|m|ft|0}} above its normal level and the footbridge was closed for thirteen months.<ref name="census" /> A flood wall along Quay Street was completed in 2012.

== Population ==
{| class="wikitable sortable"
|+ Population of Harrowmere
! Year !! Population
|-
| 1901 || 6,420
|-
| 1951 || 9,877
|-
| 2001 || 13,390
|-
| 2021 || 14,213
|}

== Culture and community ==
[[File:Harrowmere library front.jpg|thumb|right|upright=1.2|The [[Harrowmere Town Library|town library]], opened in 1906]]
The [[Harrowmere Town Library|town library]] on the market square houses a local studies centre. The [[Harrowmere Repair Café|repair café]] meets on the first Saturday of every month in the old fire station, and the choral society sings carols on the footbridge each December.

Community groups include:
* the Harrowmere Choral Society
* the Cobbler's Field Allotment Society, whose lower plots lie on the river's flood plain
* the [[River Velder#Conservation|Friends of the Velder]], who monitor water quality

== See also ==
* [[River Velder]]
* [[List of bridges over the River Velder]]

== References ==
{{Reflist}}

[[Category:Market towns in Wendleshire]]
[[Category:Populated places on the River Velder]]
"""

VELDER_V1 = """{{Infobox river
| name          = River Velder
| source1_location = Fellgate Moss
| mouth_location   = the Wendle estuary
| length        = {{convert|58|km|mi|abbr=on}}
}}
The '''River Velder''' is a river in [[Wendleshire]]. It rises on Fellgate Moss and flows south-east for {{convert|58|km|mi}} through [[Harrowmere]] to the Wendle estuary.

== Course ==
Below Fellgate the river falls steeply through a wooded gorge. At [[Harrowmere]] it widens into the Mere, a shallow lake of about 40 hectares, before passing under the [[Velder Footbridge]] and the road bridge.

[[Category:Rivers of Wendleshire]]
"""

VELDER_V2 = VELDER_V1.replace("""
[[Category:Rivers of Wendleshire]]
""", """
== Conservation ==
Volunteers from the Friends of the Velder have sampled water quality at twelve sites since 2016. Otters returned to the weir at Harrowmere in 2024, the first confirmed sighting there since 1998.<ref>{{cite news |title=Otters seen at Harrowmere weir |work=Harrowmere Courier |date=4 September 2024}}</ref>

== References ==
<references />

[[Category:Rivers of Wendleshire]]
""")

FOOTBRIDGE = """{{Infobox bridge
| bridge_name = Velder Footbridge
| carries     = Pedestrians
| crosses     = [[River Velder]]
| locale      = [[Harrowmere]]
| design      = Wrought-iron truss
| opened      = 1887
}}
The '''Velder Footbridge''' is a wrought-iron footbridge over the [[River Velder]] in [[Harrowmere]], built in 1887 for the mill workers of the east-bank terraces.

== History ==
The bridge was designed by the borough surveyor, Josiah Penhallow, and cast at a foundry in the town.<ref name="courier2024">{{cite news |last=Nandakumar |first=Priya |title=Velder footbridge reopens after flood repairs |work=Harrowmere Courier |date=9 December 2024}}</ref> In the flood of November 2023 the river scoured away part of the east abutment, and the span was closed after it was found to lean by {{convert|6|in|mm}}.

The footbridge was reopened on 7 December 2024 after the abutment was rebuilt on new piles and the handrails were recast.<ref name="courier2024" /> The repair cost £412,000.

== Gallery ==
<gallery>
File:Velder Footbridge 1910.jpg|The bridge about 1910
File:Velder Footbridge flood 2023.jpg|During the 2023 flood
</gallery>

== External links ==
* [https://www.harrowmere-courier.example/news/2024/12/09/velder-footbridge-reopens Reopening report] in the ''Harrowmere Courier''

[[Category:Bridges over the River Velder]]
[[Category:Bridges completed in 1887]]
"""

REPAIR_CAFE_WIKI = """{{Infobox organization
| name      = Harrowmere Repair Café
| founded   = 2016
| location  = Old fire station, Quay Street, [[Harrowmere]]
| type      = Volunteer group
}}
The '''Harrowmere Repair Café''' is a volunteer-run repair workshop in [[Harrowmere]]. It meets on the first Saturday of every month in the old fire station on Quay Street, where visitors bring broken household items and mend them with the help of volunteers.<ref>{{cite web |title=About us |website=Harrowmere Repair Café |url=https://repaircafe.harrowmere.example/}}</ref>

== Activities ==
Each session has stations for electrical repairs, sewing, bicycles and small furniture. About two thirds of the items brought in are repaired on the day. Microwave ovens and gas appliances are not accepted.

The café reached its 500th successful repair in 2025&nbsp;&ndash; a food mixer from the 1970s.

== See also ==
* [[Harrowmere Town Library]], where the volunteers hold their meetings

[[Category:Organisations based in Harrowmere]]
[[Category:Repair cafés]]
"""

LIBRARY_WIKI = """{{Infobox library
| library_name = Harrowmere Town Library
| location     = Market Square, [[Harrowmere]]
| established  = 1906
}}
'''Harrowmere Town Library''' is the public library of [[Harrowmere]]. The red-brick building on the market square was paid for by public subscription and opened in 1906.

== Local Studies Centre ==
The first floor holds the Local Studies Centre, with the parish registers, a run of the ''Harrowmere Courier'' from 1871 and estate maps of the [[River Velder]] from 1790. The centre's catalogue uses its own shelf marks, such as <code>HLS/MAP/17</code>, and the staff ask readers to write them as <nowiki>[[HLS/MAP/17]]</nowiki> in enquiries.

== Services ==
The library runs a Winter Reading Challenge for children each December, a weekly story time, and a meeting room that local groups can book without charge.

[[Category:Libraries in Wendleshire]]
[[Category:Buildings and structures in Harrowmere]]
"""

TALK_HARROWMERE = """== Population figure ==
The infobox says 14,213 but the 2021 profile gives 14,231 for the parish. Which one is right? [[User:Velderwatcher|Velderwatcher]] ([[User talk:Velderwatcher|talk]]) 10:02, 3 March 2024 (UTC)
:14,213 is the built-up area; the parish is slightly larger. I have added a note. [[User:QuayStreetQuill|QuayStreetQuill]] ([[User talk:QuayStreetQuill|talk]]) 18:40, 3 March 2024 (UTC)
"""

CATEGORY_TOWNS = """Towns in [[Wendleshire]] that hold, or once held, a market charter.

[[Category:Wendleshire]]
"""


def wiki_sample() -> bytes:
    def sha1_base36(text: str) -> str:
        n = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)
        digits = ""
        while n:
            n, r = divmod(n, 36)
            digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
        return digits.rjust(31, "0")

    def revision(rev_id, parent, timestamp, user, user_id, comment, text, minor=False):
        t = escape(text, {'"': "&quot;"})
        lines = [
            "    <revision>",
            f"      <id>{rev_id}</id>",
        ]
        if parent:
            lines.append(f"      <parentid>{parent}</parentid>")
        lines += [
            f"      <timestamp>{timestamp}</timestamp>",
            "      <contributor>",
            f"        <username>{escape(user)}</username>",
            f"        <id>{user_id}</id>",
            "      </contributor>",
        ]
        if minor:
            lines.append("      <minor />")
        lines += [
            f"      <comment>{escape(comment)}</comment>",
            "      <model>wikitext</model>",
            "      <format>text/x-wiki</format>",
            f'      <text bytes="{len(text.encode("utf-8"))}" xml:space="preserve">{t}</text>',
            f"      <sha1>{sha1_base36(text)}</sha1>",
            "    </revision>",
        ]
        return "\n".join(lines)

    def page(title, ns, page_id, revisions, redirect=None):
        lines = ["  <page>", f"    <title>{escape(title)}</title>", f"    <ns>{ns}</ns>", f"    <id>{page_id}</id>"]
        if redirect:
            lines.append(f'    <redirect title="{escape(redirect, {chr(34): "&quot;"})}" />')
        return "\n".join(lines + revisions + ["  </page>"])

    namespaces = [
        (-2, "Media"), (-1, "Special"), (0, ""), (1, "Talk"), (2, "User"), (3, "User talk"),
        (4, "Harrowmere Wiki"), (5, "Harrowmere Wiki talk"), (6, "File"), (7, "File talk"),
        (8, "MediaWiki"), (9, "MediaWiki talk"), (10, "Template"), (11, "Template talk"),
        (12, "Help"), (13, "Help talk"), (14, "Category"), (15, "Category talk"),
    ]
    ns_lines = "\n".join(
        f'      <namespace key="{k}" case="first-letter" />' if not name
        else f'      <namespace key="{k}" case="first-letter">{escape(name)}</namespace>'
        for k, name in namespaces)
    header = f"""<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.10/ http://www.mediawiki.org/xml/export-0.10.xsd" version="0.10" xml:lang="en">
  <siteinfo>
    <sitename>Harrowmere Wiki</sitename>
    <dbname>harrowmerewiki</dbname>
    <base>https://wiki.harrowmere.example/wiki/Main_Page</base>
    <generator>MediaWiki 1.35.14</generator>
    <case>first-letter</case>
    <namespaces>
{ns_lines}
    </namespaces>
  </siteinfo>
"""
    pages = [
        page("Harrowmere", 0, 1, [revision(2210, 2107, "2024-03-03T18:44:09Z", "QuayStreetQuill", 4,
                                           "/* Population */ built-up area figure, see talk", HARROWMERE)]),
        page("River Velder", 0, 2, [
            revision(1502, None, "2023-06-14T09:12:51Z", "Velderwatcher", 7, "New article", VELDER_V1),
            revision(2398, 1502, "2024-09-05T20:01:33Z", "Velderwatcher", 7,
                     "/* Conservation */ otters at the weir", VELDER_V2),
        ]),
        page("Velder Footbridge", 0, 3, [revision(2466, 2390, "2024-12-09T21:15:40Z", "QuayStreetQuill", 4,
                                                  "Reopened 7 December 2024", FOOTBRIDGE)]),
        page("Harrowmere Repair Café", 0, 4, [revision(2301, 1877, "2025-04-06T11:03:12Z", "Mender-in-chief", 12,
                                                       "/* Activities */ 500th repair", REPAIR_CAFE_WIKI)]),
        page("Harrowmere Town Library", 0, 5, [revision(1990, None, "2024-01-20T15:30:00Z", "Velderwatcher", 7,
                                                        "Created", LIBRARY_WIKI)]),
        page("Velder Bridge", 0, 6, [revision(2467, None, "2024-12-09T21:16:02Z", "QuayStreetQuill", 4,
                                              "Redirected page to [[Velder Footbridge]]",
                                              "#REDIRECT [[Velder Footbridge]]\n\n{{R from alternative name}}",
                                              minor=True)], redirect="Velder Footbridge"),
        page("Talk:Harrowmere", 1, 7, [revision(2211, 2109, "2024-03-03T18:40:22Z", "QuayStreetQuill", 4,
                                                "/* Population figure */ reply", TALK_HARROWMERE)]),
        page("Category:Market towns in Wendleshire", 14, 8, [revision(1201, None, "2023-02-11T08:00:00Z",
                                                                      "Velderwatcher", 7, "Created",
                                                                      CATEGORY_TOWNS)]),
    ]
    xml = header + "\n".join(pages) + "\n</mediawiki>\n"
    return xml.encode("utf-8")


# ---------------------------------------------------------------------------
# sample.csv: the community noticeboard (RFC 4180, CRLF)
# ---------------------------------------------------------------------------

CSV_ROWS = [
    ("csv-001", "2024-01-08T09:00:00Z", "Library extends Thursday opening",
     "From this week the town library stays open until 7 p.m. on Thursdays.\n\nThe longer hours are a six-month trial, paid for by the Friends of the Library, and will be kept if enough people use them.",
     "community", "Alice Thornbury"),
    ("csv-002", "2024-01-15", "Allotment waiting list reopens",
     "Cobbler's Field has four plots free after the autumn inspection. Applications close on 31 January, and plots are offered in the order applications arrive, not by lottery.",
     "community", "Ruth Abernethy"),
    ("csv-003", "2024-02-02T18:30:00Z", "Quay Street parking: council answers \"the flood question\"",
     "Residents asked why the Quay Street car park is still open during flood alerts. The council says barriers will now close it automatically when the Mere gauge passes 1.8 metres.",
     "council", "Hamid Rahimi"),
    ("csv-004", "February 19, 2024", "Choir seeks tenors, basses, and a new accompanist",
     "The Harrowmere Choral Society needs men's voices for its summer concert, and an accompanist after 22 years with the same one.\n\nRehearsals are on Tuesday evenings in the Methodist hall. No audition, but \"you do have to come every week\", says conductor Gwen Pritchard.",
     "culture", "Gwen Pritchard"),
    ("csv-005", "2024-03-04T07:45:00Z", "Footbridge repairs: work starts on the east abutment",
     "Contractors have started building a cofferdam around the damaged east abutment of the Velder footbridge. The path on the east bank will be closed, weekdays, 8 a.m. to 5 p.m., until the summer.",
     "council", "Priya Nandakumar"),
    ("csv-006", "2024-03-21", "Repair café fixes its first sewing machine",
     "A 1960s sewing machine that had not worked since the owner's mother died came back to life at the March repair café. The fault: a belt, a drop of oil and \"forty years of fluff\".",
     "community", "Zoë Müller"),
    ("csv-007", "2024-04-09T16:10:00Z", "Otters, kingfishers and a pike: the spring river survey",
     "Volunteers from the Friends of the Velder counted 41 species along the river this spring, including kingfishers at the Mere, a pike of about 90 cm, and signs of otters below the weir.",
     "environment", "Dev Raman"),
    ("csv-008", "2024-04-27", "Market charter fair returns, with sheep",
     "For the first time since 1989 the charter fair will include a sheep show on the market square, to mark the 757th anniversary of the wool market. Road closures: Market Square, Church Lane and the top of Quay Street, 6 a.m. to 6 p.m.",
     "culture", "Priya Nandakumar"),
    ("csv-009", "2024-05-13T11:00:00Z", "Council agrees \"no mow May\" on the riverside",
     "The riverside meadows will not be cut until June, after a petition signed by 640 residents. The council will mow a single path through the grass \"so that dog walkers don't lose their dogs\".",
     "environment", "Hamid Rahimi"),
    ("csv-010", "2024-06-01T10:00:00Z", "Harrowmere Town win the Wendleshire Cup",
     "Harrowmere Town beat Fellgate Rovers 3-2 after extra time in the county cup final, their first trophy since 1974.\n\nThe winning goal, a header from 19-year-old Kofi Mensah, came in the 118th minute.",
     "sport", "Tomás Ferreira"),
    ("csv-011", "2024-06-18", "Parish registers go online",
     "The library's Local Studies Centre has finished scanning the parish registers from 1653 to 1900. The images are free to view in the library; online access costs £3 a day, which pays for the scanning.",
     "culture", "Renée Okonjo"),
    ("csv-012", "2024-07-09T13:25:00Z", "Heatwave: river temperature reaches 24.6°C",
     "The water at the Mere gauge reached 24.6°C on Monday, the highest since records began. Oxygen levels fell below the level trout need, and anglers are asked to stop fishing until it rains.",
     "environment", "Dev Raman"),
    ("csv-013", "2024-07-30", "Summer reading: 412 children sign up",
     "A record 412 children have joined the library's summer reading challenge, \"Rivers, Roads and Railways\". Those who finish get a medal at the September ceremony, and a free swim at the lido.",
     "community", "Renée Okonjo"),
    ("csv-014", "2024-08-22T08:00:00Z", "Cricket: Harrowmere all out for 61",
     "It was, the captain admitted, \"not our finest afternoon\". Harrowmere Cricket Club were bowled out for 61 by Fellgate, who passed the total for the loss of one wicket, before tea.",
     "sport", "Tomás Ferreira"),
    ("csv-015", "2024-09-04", "Otters seen at the weir",
     "An otter has been filmed at the weir below the footbridge, the first confirmed sighting there since 1998. \"It's the best news the river has had in 25 years,\" said Dev Raman of the Friends of the Velder.",
     "environment", "Priya Nandakumar"),
    ("csv-016", "2024-09-26T19:00:00Z", "Energy audit: the community hall, the boiler, and the bill",
     "An energy audit of the community hall found that the boiler is 31 years old and the roof has no insulation. Replacing both would cost £48,000, and cut the hall's heating bill by about half.",
     "council", "Bernadette O'Shea"),
    ("csv-017", "2024-10-05", "Repair café: \"bring your bikes before the winter\"",
     "The October repair café will have two bicycle stands instead of one. Volunteers will check lights, brakes and tyres, and fit mudguards (bring your own).",
     "community", "Dev Raman"),
    ("csv-018", "2024-10-31T17:30:00Z", "Halloween lantern walk along the Velder",
     "About 300 people, many in costume, walked from the market square to the Mere with paper lanterns made at the library.\n\nThe walk ended at the footbridge, still closed, where the choir sang in the dark.",
     "culture", "Gwen Pritchard"),
    ("csv-019", "2024-11-14", "Flood wall gate tested",
     "The council tested the flood gate at the end of Quay Street for the first time since the 2023 flood. It closed in four minutes; the target is five.",
     "council", "Hamid Rahimi"),
    ("csv-020", "2024-11-28T12:00:00Z", "Christmas lights: switch-on moved to the footbridge",
     "This year's Christmas lights will be switched on at the footbridge, on the evening it reopens, instead of the market square. Mulled wine, mince pies, and \"a very short speech\" are promised.",
     "community", "Alice Thornbury"),
    ("csv-021", "Tue, 03 Dec 2024 07:00:00 +0000", "Flood alert for the Velder",
     "A flood alert is in force for the River Velder at Harrowmere. The riverside footpath, the Quay Street car park and the lower allotments are likely to flood from Wednesday evening.",
     "environment", "Quarry News staff"),
    ("csv-022", "2024-12-07T15:00:00Z", "Footbridge reopens after thirteen months",
     "The Velder footbridge reopened on Saturday after a £412,000 repair.\n\n\"Today they can walk to the market in five minutes again,\" said councillor Hamid Rahimi, cutting a green ribbon, the colour the bridge has been repainted.",
     "council", "Priya Nandakumar"),
    ("csv-023", "2024-12-16", "Carols on the bridge raise £1,240",
     "The choral society's carols on the reopened footbridge raised £1,240 for the flood recovery fund, helped by a brass band from the twin town and a lot of mulled wine.",
     "culture", "Gwen Pritchard"),
    ("csv-024", "", "Lost: one blue glove, left hand",
     "Found on the footbridge after the carol singing. It is at the library desk, \"waiting for its other half\".",
     "community", "Renée Okonjo"),
]


def csv_sample() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(["id", "date", "title", "body", "section", "author"])
    for row in CSV_ROWS:
        w.writerow(row)
    return buf.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------
# sample-mixed/: a folder of anything
# ---------------------------------------------------------------------------

MEETING_MD = """# Volunteers' meeting, 14 November 2024

Present: Alice, Zoë, François, Dev, Bernadette. Apologies: Ruth.

## Decisions

- Buy two temperature-controlled soldering irons (Bernadette), up to £100 for the pair.
- December session goes ahead on the 7th even if the footbridge is still closed.
- Ask the [Courier](https://www.harrowmere-courier.example/) before anyone is photographed.

## Actions

1. Alice: rota for December, by 2 December.
2. François: check the PAT tester calibration date.
3. Dev: bring the track pump back from the allotment shed.

Next meeting: Thursday 30 January, library meeting room, 7 p.m.
"""

IDEAS_MD = """# Ideas for 2025

Things people suggested at the December session, in no order:

* A **knife sharpening** table (Tomás has a whetstone and offered to teach).
* A "toy hospital" session for the school holidays.
* Lend tools: a drill, a sewing machine and a ladder that people can borrow for a week, like library books.
* Move the session to the library meeting room in winter, because the fire station is *freezing*.

> Nobody wants to run the raffle again.
"""

BOILER_TXT = """Summary: the hall boiler failed twice in November
Timeline: the boiler locked out on 12 November (low pressure) and again on 26 November (ignition fault). Both times the hall was cold for the Tuesday choir rehearsal.

The engineer says the boiler is 31 years old and parts are no longer made. The energy audit in September recommended replacing it together with insulating the roof.

Until then, the caretaker will top up the pressure every Monday, and the choir will rehearse in the library meeting room when the hall is below 14°C.
"""

VELDER_WALK_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>The Velder Walk: Fellgate to Harrowmere in a day</title>
<style>body { max-width: 40em; margin: auto; } .tip { border-left: 4px solid #2e7d32; padding-left: 1em; }</style>
<script>function printRoute() { window.print(); }</script>
</head>
<body>
<h1>The Velder Walk</h1>
<p>Fourteen miles from the source pools on Fellgate Moss to the market square in Harrowmere, following the river all the way &ndash; mostly downhill.</p>
<h2>The route</h2>
<ol>
<li>From Fellgate car park, follow the stream through the gorge (steep and slippery after rain).</li>
<li>Cross at the old packhorse bridge and keep the river on your left to the weir.</li>
<li>Walk round the Mere on the north shore, past the bird hide.</li>
<li>Finish over the Velder Footbridge &ndash; reopened in December 2024 &ndash; into the market.</li>
</ol>
<p class="tip">Tip: the Reading Room Caf&eacute; at the library closes at 3&nbsp;p.m.; the pubs on Quay Street don&#8217;t.</p>
<button onclick="printRoute()">Print this route</button>
</body>
</html>
"""

NEWSLETTER_2019 = """Spring newsletter 2019: the repair café is three
Three years ago eleven people met in the old fire station with a toolbox, a sewing machine and an urn. This spring we passed 300 repairs.

Thank you to the fire brigade's old comrades' club for the room, and to everyone who brought cake.

Dates for the spring: 6 April, 4 May, 1 June. Always the first Saturday.
"""

AGM_2023 = """Minutes of the annual general meeting, Cobbler's Field Allotment Society, 2023
Held in the library meeting room on 18 March 2023; 27 members present.

The treasurer reported a surplus of £412 after the new water troughs. Rents stay at £38 for a full plot.

Members agreed to ask the council for a flood bank along the lower plots. Ruth Abernethy was re-elected secretary.
"""

FLOOD_NOTES_2023 = """Flood notes, November 2023
Water reached the third step of the library at 7 a.m. on the 19th. Quay Street was closed by 9.

By noon the footbridge had a visible lean and the police closed it. The Mere was the highest anyone alive remembers.

The repair café lent its dehumidifiers to three houses on Quay Street; two came back.
"""

QUESTION_EML = """From: Mateo Ibarra <mateo.ibarra@mail.example>
To: volunteers@lists.harrowmere.example
Subject: Can you fix a lamp with a dimmer switch?
Date: Wed, 27 Nov 2024 20:14:55 +0000
Message-ID: <f3a9c1d2.question@mail.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hello,

I have a brass table lamp with a rotary dimmer in the base. It flickers,
then goes out, and the dimmer gets warm. Is that something the repair café
can look at on the 7th, or should I not bring it?

Many thanks,
Mateo
"""

EVENTS_JSONL = [
    '{"id": "event-2025-01-04", "date": "2025-01-04T10:00:00Z", "title": "Repair café, January session", "body": "First Saturday of the month at the old fire station, 10 a.m. to 1 p.m. Bring your broken things.", "place": "Old fire station"}',
    '{"id": "event-2025-02-08", "date": "2025-02-08T10:00:00Z", "title": "Seed swap", "body": "Cobbler\'s Field Allotment Society seed swap in the library meeting room. Bring seed in labelled envelopes.", "place": "Town library"}',
    '{"id": "event-2025-03-15", "date": "2025-03-15T14:00:00Z", "title": "Velder spring survey", "body": "Friends of the Velder river survey: meet at the footbridge with wellies. Training provided.", "place": "Velder Footbridge"}',
]


def mixed_sample() -> None:
    m = FOLDER_MTIME
    write("sample-mixed/notes/meeting-2024-11-14.md", MEETING_MD.encode("utf-8"), m)
    write("sample-mixed/notes/ideas-2025.md", IDEAS_MD.encode("utf-8"), m)
    write("sample-mixed/notes/hall-boiler.txt", BOILER_TXT.encode("utf-8"), m)
    write("sample-mixed/web/velder-walk.html", VELDER_WALK_HTML.encode("utf-8"), m)
    write("sample-mixed/archive/newsletter-2019-spring.txt.gz", gz(NEWSLETTER_2019.encode("utf-8")), m)
    write("sample-mixed/archive/allotments-agm-2023.txt.bz2", bz2.compress(AGM_2023.encode("utf-8"), 9), m)
    write("sample-mixed/archive/flood-notes-2023.txt.xz",
          lzma.compress(FLOOD_NOTES_2023.encode("utf-8"), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64), m)
    write("sample-mixed/mail/lamp-question.eml", QUESTION_EML.replace("\n", "\r\n").encode("utf-8"), m)
    write("sample-mixed/data/events.jsonl", ("\n".join(EVENTS_JSONL) + "\n").encode("utf-8"), m)
    write("sample-mixed/images/velder-logo.png", png(), m)


def main() -> int:
    write("sample-mail/archive.mbox", mbox_sample())
    maildir_sample()
    write("sample-web/crawl.warc.gz", warc_sample())
    write("sample-wiki/pages-articles.xml.bz2", bz2.compress(wiki_sample(), 9))
    write("sample.csv", csv_sample())
    mixed_sample()
    for rel, size in written:
        print(f"{size:8d}  Data/{rel}")
    if CHECK:
        if not differs:
            print("every sample matches")
        for rel in differs:
            print(f"differs: Data/{rel}", file=sys.stderr)
        return 1 if differs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
