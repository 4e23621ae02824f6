#!/usr/bin/python3
"""Write a corpus of realistic messages to sign, for the signature oracle
(t/sign/oracle.t): each one a file NNN-<case>.eml with CRLF line ends, and
a MANIFEST (one line per file: name, a tab, what it exercises).

    gen-corpus.py --domain oracle.example.net --out DIR [--seed N] [--count N]

The From: address of every message is in --domain (or, in a few messages,
that domain in upper case).  The output depends only on the arguments:
the same seed writes the same bytes, so a failure is reproducible.  Header
sections are 7-bit (non-ASCII text is RFC 2047 encoded, as the signer
requires); bodies may hold 8-bit bytes.  Standard library only.

The first messages are named cases, one per shape the signer's
canonicalisation must get right (colons and quotes in values, folding, odd
case, trailing white space, RFC 2047, repeated fields, empty and CRLF-only
bodies, no final CRLF, 8-bit and long lines, MIME); the rest, up to
--count, are seeded random mixes of the same ingredients.
"""
import argparse
import base64
import os
import quopri
import random
import sys

CRLF = b"\r\n"
DEFAULT_SEED = 20261127
DEFAULT_COUNT = 240

WORDS = ("order invoice payment shipping account password reset welcome "
         "newsletter report weekly summary update reminder meeting agenda "
         "ticket support refund delivery receipt alert security notice team "
         "project status review draft final confirmed pending offer").split()
NAMES = ["Alice Example", "Bob Smith", "Carol O'Neil", "Dave Chen",
         "Erin Fischer", "Frank Muller", "Grace Ho", "Heidi Novak"]
UNICODE_NAMES = ["Jos\u00e9 M\u00fcller", "Fran\u00e7oise Lef\u00e8vre",
                 "\u5c71\u7530\u592a\u90ce", "\u0421\u0435\u0440\u0433\u0435\u0439",
                 "Bj\u00f6rn \u00c5str\u00f6m"]
UNICODE_SUBJECTS = ["Ihre Bestellung ist unterwegs \u2013 danke!",
                    "R\u00e9sum\u00e9 de votre commande",
                    "\u3054\u6ce8\u6587\u3042\u308a\u304c\u3068\u3046\u3054\u3056\u3044\u307e\u3059",
                    "\u041f\u043e\u0434\u0442\u0432\u0435\u0440\u0436\u0434\u0435\u043d\u0438\u0435 \u0437\u0430\u043a\u0430\u0437\u0430",
                    "Caf\u00e9 \u2615 \u2013 \u20ac 12,50"]
COLON_SUBJECTS = ["Re: your order", "Fwd: Re: Invoice: 42", "RE: Re: Fw: status",
                  "Meeting at 10:30: agenda", "Ticket #4411: password reset",
                  "Score 3 : 1", "Note:", "AW: WG: Angebot: 2026-11",
                  "Re:  two spaces after the colon", "see https://shop.example/a:b?x=1",
                  "Time 12:00 :  lunch", "[list] Re: [other] Re: thread"]


def ascii_line(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).encode()


def enc_b(text):
    return b"=?UTF-8?B?" + base64.b64encode(text.encode("utf-8")) + b"?="


def enc_q(text, charset="UTF-8"):
    raw = text.encode("utf-8" if charset == "UTF-8" else "latin-1")
    out = []
    for c in raw:
        if c == 0x20:
            out.append(b"_")
        elif 0x21 <= c <= 0x7e and c not in b"=?_\"(),:;<>@[]\\":
            out.append(bytes([c]))
        else:
            out.append(b"=%02X" % c)
    return b"=?" + charset.encode() + b"?Q?" + b"".join(out) + b"?="


def fold(value, width=76, sep=b"\r\n "):
    """Fold a value at spaces so no line is much longer than width."""
    out, line = [], b""
    for word in value.split(b" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = line + b" " + word if line else word
    out.append(line)
    return sep.join(out)


def date(rng):
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
              "Sep", "Oct", "Nov", "Dec"]
    zone = rng.choice(["+0000", "-0500", "+0100", "+0530", "-0800"])
    return ("%s, %d %s 2026 %02d:%02d:%02d %s" % (
        rng.choice(days), rng.randint(1, 28), rng.choice(months),
        rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59),
        zone)).encode()


def msgid(rng, dom):
    return b"<%08x.%04x@%s>" % (rng.getrandbits(32), rng.getrandbits(16), dom)


def person(rng, dom=b"example.net"):
    name = rng.choice(NAMES)
    local = name.split()[0].lower().replace("'", "")
    return b'"%s" <%s@%s>' % (name.encode(), local.encode(), dom)


# ---- bodies ---------------------------------------------------------------

def body_text(rng, lines=12):
    out = []
    for _ in range(lines):
        out.append(ascii_line(rng, rng.randint(3, 14)))
    return CRLF.join(out) + CRLF


def body_whitespace(rng):
    out = []
    for i in range(20):
        line = ascii_line(rng, rng.randint(2, 8))
        if i % 3 == 0:
            line += rng.choice([b" ", b"  ", b"\t", b" \t ", b"\t\t"])
        if i % 4 == 1:
            line = line.replace(b" ", rng.choice([b"  ", b"\t", b" \t", b"   "]), 2)
        if i % 5 == 2:
            line = rng.choice([b" ", b"\t"]) + line
        out.append(line)
        if i % 7 == 3:
            out.append(rng.choice([b"", b"   ", b"\t", b" \t "]))
    return CRLF.join(out) + CRLF


def body_8bit(rng):
    utf8 = "Gr\u00fc\u00dfe aus K\u00f6ln \u2013 \u20ac 42, na\u00efve caf\u00e9".encode("utf-8")
    latin1 = "Gr\u00fc\u00dfe, se\u00f1or, \u00e0 bient\u00f4t".encode("latin-1")
    raw = bytes(rng.randint(0x80, 0xff) for _ in range(64))
    return CRLF.join([utf8, latin1, b"bytes: " + raw, utf8 + b"  \t"]) + CRLF


def body_long_lines(rng):
    return CRLF.join([b"x" * 998, ascii_line(rng, 900), b"y" * 5000 + b" \t",
                      b"short"]) + CRLF


def body_trailing_blank(rng, n=40):
    tail = []
    for i in range(n):
        tail.append(rng.choice([b"", b"", b" ", b"\t", b"  \t"]))
    return body_text(rng, 4) + CRLF.join(tail) + CRLF


def mime_alternative(rng, boundary):
    text = "Hello \u2013 your order: 42 is on its way.\n".encode("utf-8") * 3
    qp = quopri.encodestring(text).replace(b"\n", b"\r\n")
    html = (b"<html><body><p>Hello &ndash; your order: 42</p>\r\n"
            b"<p style=\"color: red;  font-weight: bold\">Thanks</p></body></html>")
    b64 = base64.encodebytes(html).replace(b"\n", b"\r\n")
    return CRLF.join([
        b"This is a multi-part message in MIME format.", b"",
        b"--" + boundary,
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: quoted-printable", b"",
        qp.rstrip(b"\r\n"), b"",
        b"--" + boundary,
        b"Content-Type: text/html; charset=utf-8",
        b"Content-Transfer-Encoding: base64", b"",
        b64.rstrip(b"\r\n"), b"",
        b"--" + boundary + b"--", b""]) + CRLF


def mime_mixed(rng, boundary, inner=None, size=3000):
    blob = bytes(rng.getrandbits(8) for _ in range(size))
    att = base64.encodebytes(blob).replace(b"\n", b"\r\n").rstrip(b"\r\n")
    first = (CRLF.join([b"Content-Type: multipart/alternative; boundary=\"" + inner + b"\"",
                        b"", mime_alternative(rng, inner)])
             if inner else
             CRLF.join([b"Content-Type: text/plain; charset=us-ascii", b"",
                        body_text(rng, 5)]))
    return CRLF.join([
        b"--" + boundary, first,
        b"--" + boundary,
        b"Content-Type: application/octet-stream; name=\"invoice: 42.bin\"",
        b"Content-Disposition: attachment;\r\n filename=\"invoice: 42.bin\"",
        b"Content-Transfer-Encoding: base64", b"",
        att, b"",
        b"--" + boundary + b"--"]) + CRLF


# ---- one message ----------------------------------------------------------

def message(headers, body):
    """headers: list of raw b'Name: value' fields (folding inside);
    body: bytes, or None for a header-only message (no blank line)."""
    head = CRLF.join(headers) + CRLF
    return head if body is None else head + CRLF + body


def base_headers(rng, dom, subject=b"Your weekly report", from_=None):
    return [
        b"From: " + (from_ or person(rng, dom)),
        b"To: " + person(rng),
        b"Subject: " + subject,
        b"Date: " + date(rng),
        b"Message-ID: " + msgid(rng, dom),
    ]


def named_cases(rng, dom):
    """(name, description, bytes) of the fixed cases."""
    cases = []

    def add(name, desc, headers, body):
        cases.append((name, desc, message(headers, body)))

    def subj_case(name, subject, desc=None):
        add(name, desc or "Subject: %s" % subject.decode(),
            base_headers(rng, dom, subject), body_text(rng, 3))

    # colons in values: the whitespace after them must survive
    subj_case("subject-re", b"Re: your order")
    subj_case("subject-fwd-re-invoice", b"Fwd: Re: Invoice: 42")
    subj_case("subject-time-colon", b"Meeting at 10:30: agenda")
    subj_case("subject-colon-runs", b"a  :  b :\tc", "colons with runs of spaces and a tab")
    subj_case("subject-colon-tab", b"Re:\tyour order", "a tab after a colon")
    subj_case("subject-colon-fold", b"Re:\r\n your order", "folded right after a colon")
    subj_case("subject-leading-colon", b": leading colon")
    subj_case("subject-ends-colon", b"Note:")
    subj_case("subject-ends-colon-space", b"Note:   ", "a colon then trailing spaces")
    subj_case("subject-url", b"see https://shop.example/a:b?x=1 :  now")
    subj_case("subject-ratio", b"Score 3 : 1")
    subj_case("subject-aw-wg", b"AW: WG: Angebot: 2026-11")
    add("subject-no-space", "Subject:Re: no space after the field name",
        [b"From: " + person(rng, dom), b"To: b@example.net",
         b"Subject:Re: no space after the field name", b"Date: " + date(rng)],
        body_text(rng, 2))
    h = base_headers(rng, dom)
    h[1] = b'To: "Sales: EU" <a@b.example>'
    add("to-quoted-colon", 'To: "Sales: EU" <a@b.example>', h, body_text(rng, 3))
    h = base_headers(rng, dom, b"Re: hello",
                     from_=b'"Support: Tier 2" <support@' + dom + b">")
    add("from-display-colon", 'From: "Support: Tier 2" <...>', h, body_text(rng, 3))
    h = base_headers(rng, dom, b"Re: refund")
    h.append(b'Reply-To: "Billing: Refunds" <refunds@' + dom + b">")
    add("reply-to-colon", "Reply-To with a colon in the display name", h, body_text(rng, 3))
    h = base_headers(rng, dom)
    h.insert(2, b'Cc: "Ops: On call" <oncall@example.net>, "Dev: Team" <dev@example.net>')
    add("cc-colons", "Cc: two display names with colons", h, body_text(rng, 3))
    h = base_headers(rng, dom, b"Re: newsletter")
    h.append(b"List-Unsubscribe: <mailto:unsub@" + dom + b"?subject=unsubscribe: 42>,\r\n"
             b" <https://" + dom + b"/u?id=1&t=a:b>")
    h.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    add("list-unsubscribe-colons", "List-Unsubscribe folded, colons inside", h, body_text(rng, 3))
    h = base_headers(rng, dom)
    h += [b"MIME-Version: 1.0",
          b'Content-Type: text/plain; charset="utf-8"; name="a: b.txt"']
    add("content-type-colon", "Content-Type parameter with a colon", h, body_text(rng, 3))
    h = base_headers(rng, dom, b"Re: all hands")
    h[1] = b"To: Team: alice@example.net, bob@example.net;"
    add("to-group", "To: a group (name, colon, list)", h, body_text(rng, 3))
    h = base_headers(rng, dom)
    h[1] = b"To: undisclosed-recipients:;"
    add("to-undisclosed", "To: undisclosed-recipients:;", h, body_text(rng, 3))

    # quotes and comments
    h = base_headers(rng, dom)
    h[1] = b'To: "Doe, John" <john@example.net>, "O\'Brien, \\"Pat\\"" <pat@example.net>'
    add("to-quoted-escapes", "quoted display names with commas and escaped quotes", h,
        body_text(rng, 3))
    for name, frm in [
            ("from-comment-colon", b"alice@" + dom + b" (Alice: Sales)"),
            ("from-angle-only", b"<alice@" + dom + b">"),
            ("from-bare", b"alice@" + dom),
            ("from-quoted-escaped", b'"Pat \\"The Boss\\" O\'Brien" <pat@' + dom + b">"),
            ("from-upper-domain", b"Alice <Alice@" + dom.upper() + b">"),
            ("from-encoded", enc_q(UNICODE_NAMES[0]) + b" <jose@" + dom + b">"),
            ("from-folded", b"Alice Example\r\n <alice@" + dom + b">"),
            ("from-tabs", b"\tAlice\t\tExample  <alice@" + dom + b">  \t")]:
        add(name, "From: " + frm.decode(), base_headers(rng, dom, b"Hello", from_=frm),
            body_text(rng, 2))
    add("from-no-space", "From:alice@... (no space)",
        [b"From:alice@" + dom, b"To: b@example.net", b"Subject: x", b"Date: " + date(rng)],
        body_text(rng, 2))

    # field names in odd case
    add("odd-case-names", "fRoM, SUBJECT, tO, DATE, message-id, mime-VERSION, content-TYPE",
        [b"fRoM: " + person(rng, dom), b"tO: b@example.net", b"SUBJECT: Re: odd case",
         b"DATE: " + date(rng), b"message-id: " + msgid(rng, dom), b"mime-VERSION: 1.0",
         b"content-TYPE: text/plain", b"reply-TO: r@" + dom,
         b"LIST-UNSUBSCRIBE: <mailto:u@" + dom + b">"], body_text(rng, 3))

    # white space in header lines
    add("header-trailing-ws", "trailing spaces and tabs on header lines",
        [b"From: Alice <alice@" + dom + b">  ", b"To: b@example.net \t",
         b"Subject: hello   ", b"Date: " + date(rng) + b"\t", b"Message-ID: " + msgid(rng, dom) + b" "],
        body_text(rng, 2))
    add("header-tabs", "tabs after the colon and inside values",
        [b"From:\t" + person(rng, dom), b"To:\tb@example.net", b"Subject:\t\tTabbed\tsubject\t here",
         b"Date:\t" + date(rng)], body_text(rng, 2))
    add("header-runs", "runs of spaces inside values",
        [b"From:    Alice     Example   <alice@" + dom + b">", b"To:  b@example.net",
         b"Subject: many     spaces   inside", b"Date:   " + date(rng)], body_text(rng, 2))
    add("header-fold-padded", "folds with white space on both sides",
        [b"From: " + person(rng, dom), b"To: b@example.net",
         b"Subject: folded   \r\n\t  over   \r\n   three lines  ", b"Date: " + date(rng)],
        body_text(rng, 2))
    add("header-empty-values", "Subject: and Cc: with empty or blank values",
        [b"From: " + person(rng, dom), b"To: b@example.net", b"Cc:   ", b"Subject:",
         b"Date: " + date(rng)], body_text(rng, 2))
    add("header-ws-only-subject", "Subject: only white space",
        [b"From: " + person(rng, dom), b"Subject: \t  \t", b"Date: " + date(rng)], body_text(rng, 2))

    # long headers
    add("subject-long-unfolded", "a 900-byte Subject on one line",
        base_headers(rng, dom, b"Re: " + ascii_line(rng, 150)[:896]), body_text(rng, 2))
    add("subject-long-folded", "a 3000-byte Subject folded",
        base_headers(rng, dom, fold(b"Fwd: Re: " + ascii_line(rng, 500)[:3000])), body_text(rng, 2))
    rcpts = b", ".join(person(rng).replace(b"example.net", b"n%d.example.net" % i)
                       for i in range(60))
    h = base_headers(rng, dom)
    h[1] = b"To: " + fold(rcpts)
    add("to-60-folded", "To: 60 recipients, folded", h, body_text(rng, 2))
    h = base_headers(rng, dom, b"Re: thread")
    refs = b" ".join(msgid(rng, b"example.net") for _ in range(40))
    h += [b"In-Reply-To: " + msgid(rng, b"example.net"), b"References: " + fold(refs, 70, b"\r\n\t")]
    add("references-40", "References: 40 ids folded with tabs", h, body_text(rng, 2))
    h = [b"Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n\tby relay.example.net"
         b" with ESMTPS id %x;\r\n\t%s" % (i, i, i, rng.getrandbits(40), date(rng)) for i in range(30)]
    add("received-30", "30 Received: fields before the signed ones", h + base_headers(rng, dom),
        body_text(rng, 2))
    h = base_headers(rng, dom, b"big header section")
    h += [b"X-Data-%03d: %s" % (i, fold(ascii_line(rng, 80))) for i in range(200)]
    add("header-section-100k", "about 100 KB of unsigned header fields", h, body_text(rng, 2))
    add("header-line-5000", "a 5000-byte unfolded header line (longer than 998)",
        base_headers(rng, dom, b"x" * 5000), body_text(rng, 2))

    # RFC 2047
    add("subject-2047-b", "Subject: one B encoded word",
        base_headers(rng, dom, enc_b(UNICODE_SUBJECTS[2])), body_text(rng, 2))
    add("subject-2047-q-latin1", "Subject: Q encoded ISO-8859-1",
        base_headers(rng, dom, b"Re: " + enc_q("Caf\u00e9 cr\u00e8me: r\u00e9sum\u00e9", "ISO-8859-1")),
        body_text(rng, 2))
    add("subject-2047-folded", "Subject: several encoded words over folded lines",
        base_headers(rng, dom, b"Fwd: " + b"\r\n ".join(enc_b(s) for s in UNICODE_SUBJECTS[:3])),
        body_text(rng, 2))
    h = base_headers(rng, dom)
    h[1] = b"To: " + enc_b(UNICODE_NAMES[2]) + b" <yamada@example.net>, " + \
        enc_q(UNICODE_NAMES[3]) + b" <sergey@example.net>"
    add("to-2047", "To: encoded display names", h, body_text(rng, 2))

    # repeated To:/Cc: (OpenDKIM refuses these shapes: dkimpy alone)
    h = base_headers(rng, dom)
    h.insert(2, b"To: c@example.net")
    add("to-twice", "two To: fields", h, body_text(rng, 2))
    h = base_headers(rng, dom)
    h[2:2] = [b"Cc: c@example.net", b"cc: d@example.net", b"CC: e@example.net"]
    add("cc-three", "three Cc: fields in three cases", h, body_text(rng, 2))
    h = base_headers(rng, dom)
    h[1:2] = [b"To: a@example.net", b"Cc: b@example.net", b"To: c@example.net", b"Cc: d@example.net"]
    add("to-cc-interleaved", "To, Cc, To, Cc", h, body_text(rng, 2))
    # no Date: (OpenDKIM refuses: dkimpy alone)
    add("no-date", "no Date: field", base_headers(rng, dom)[:3], body_text(rng, 2))
    # minimal
    add("from-only", "only a From: field", [b"From: alice@" + dom], body_text(rng, 1))

    # bodies
    h = lambda s: base_headers(rng, dom, s)
    add("body-empty", "empty body (blank line, nothing after)", h(b"empty body"), b"")
    add("body-crlf-only", "a body of one CRLF", h(b"crlf only"), CRLF)
    add("body-crlf-many", "a body of 50 CRLFs", h(b"crlf many"), CRLF * 50)
    add("body-header-only", "no blank line, no body", h(b"header only"), None)
    add("body-no-final-crlf", "last line without CRLF", h(b"no final crlf"),
        body_text(rng, 3) + b"the last line")
    add("body-no-final-crlf-trailing-ws", "last line without CRLF, ending in white space",
        h(b"no final crlf, trailing ws"), body_text(rng, 3) + b"the last line  \t")
    add("body-ws-only-last-line", "a last line of only white space, no CRLF",
        h(b"ws-only last line"), body_text(rng, 3) + b" \t ")
    add("body-ws-only", "a body of white-space-only lines", h(b"ws only"), b"   \r\n\t\r\n \t \r\n")
    add("body-trailing-ws", "trailing white space, tabs and runs in body lines",
        h(b"body whitespace"), body_whitespace(rng))
    add("body-blank-end-40", "40 blank and white-space-only lines at the end",
        h(b"blank end"), body_trailing_blank(rng, 40))
    add("body-blank-start", "blank lines at the start of the body", h(b"blank start"),
        CRLF * 5 + body_text(rng, 3))
    add("body-leading-ws", "lines starting with white space", h(b"leading ws"),
        b"  indented\r\n\tTabbed\r\n \t mixed\r\n")
    add("body-8bit", "8-bit body bytes (UTF-8, Latin-1, raw)", h(b"8bit body"), body_8bit(rng))
    add("body-long-lines", "body lines of 998, ~5000 and 5000 bytes", h(b"long lines"),
        body_long_lines(rng))
    add("body-line-100k", "one 100 KB body line", h(b"100k line"), b"z" * 100000 + CRLF)
    add("body-mbox-dots", "lines starting with 'From ', '.', '..'", h(b"mbox"),
        b"From here on\r\n.\r\n..\r\n.leading dot\r\n>From quoted\r\n")
    add("body-300k", "a 300 KB body", h(b"big body"),
        b"".join(body_text(rng, 40) for _ in range(110)))
    b = b"BOUNDARY_%08x" % rng.getrandbits(32)
    hh = h(b"Re: your order: 42") + [b"MIME-Version: 1.0",
                                    b'Content-Type: multipart/alternative;\r\n boundary="' + b + b'"']
    add("mime-alternative", "multipart/alternative, QP text and base64 HTML", hh,
        mime_alternative(rng, b))
    b, inner = b"=_mixed_%06x" % rng.getrandbits(24), b"=_alt_%06x" % rng.getrandbits(24)
    hh = h(b"Invoice: 42") + [b"MIME-Version: 1.0",
                              b'Content-Type: multipart/mixed; boundary="' + b + b'"']
    add("mime-mixed-nested", "multipart/mixed: alternative + 30 KB attachment", hh,
        mime_mixed(rng, b, inner, 30000))
    hh = h(b"Reset: your password") + [
        b"Reply-To: " + person(rng, dom), b"List-Unsubscribe: <mailto:u@" + dom + b">",
        b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=us-ascii",
        b"X-Mailer: scaisend-test", b"Return-Path: <bounce@" + dom + b">"]
    add("transactional-full", "every signed field once plus unsigned ones", hh, body_text(rng, 6))
    return cases


def random_case(rng, dom, i):
    """One seeded random mix of the ingredients; (name, description, bytes)."""
    feats = []
    subject = rng.choice([
        lambda: rng.choice(COLON_SUBJECTS).encode(),
        lambda: ascii_line(rng, rng.randint(2, 8)),
        lambda: enc_b(rng.choice(UNICODE_SUBJECTS)),
        lambda: b"Re: " + enc_q(rng.choice(UNICODE_SUBJECTS)),
        lambda: fold(b"Fwd: " + ascii_line(rng, rng.randint(20, 60))),
    ])()
    frm = rng.choice([
        lambda: person(rng, dom),
        lambda: b"alice@" + dom,
        lambda: b'"Shop: ' + rng.choice(NAMES).encode() + b'" <shop@' + dom + b">",
        lambda: enc_b(rng.choice(UNICODE_NAMES)) + b" <news@" + dom + b">",
        lambda: b"noreply@" + dom + b" (Notifications: " + rng.choice(WORDS).encode() + b")",
    ])()
    fields = [[b"From", frm], [b"Subject", subject]]
    # OpenDKIM refuses repeated To:/Cc: and a missing Date: (the named
    # cases have them); keep them rare here so both verifiers judge most
    n_to = rng.choice([0] * 2 + [1] * 17 + [2])
    n_cc = rng.choice([0] * 12 + [1] * 7 + [2])
    fields += [[b"To", person(rng) if rng.random() < 0.7 else b'"Sales: EU" <a@b.example>']
               for _ in range(n_to)]
    fields += [[b"Cc", b"c%d@example.net" % k] for k in range(n_cc)]
    if rng.random() < 0.97:
        fields.append([b"Date", date(rng)])
    else:
        feats.append("no Date")
    if rng.random() < 0.85:
        fields.append([b"Message-ID", msgid(rng, dom)])
    if rng.random() < 0.35:
        fields.append([b"Reply-To", person(rng, dom)])
    if rng.random() < 0.35:
        fields.append([b"List-Unsubscribe", b"<mailto:u@" + dom + b"?subject=unsub: %d>, <https://"
                       % rng.randint(1, 999) + dom + b"/u/%x>" % rng.getrandbits(32)])
    mime = rng.random() < 0.3
    if mime or rng.random() < 0.4:
        fields.append([b"MIME-Version", b"1.0"])
    boundary = b"b%x" % rng.getrandbits(40)
    if mime:
        fields.append([b"Content-Type", b'multipart/alternative;\r\n\tboundary="' + boundary + b'"'])
    elif rng.random() < 0.5:
        fields.append([b"Content-Type", b"text/plain; charset=utf-8"])
    for _ in range(rng.randint(0, 4)):
        fields.append([rng.choice([b"X-Campaign", b"Received", b"X-Priority", b"Precedence",
                                   b"Auto-Submitted", b"X-Tag"]), ascii_line(rng, rng.randint(1, 6))])
    head = fields[:1]
    rest = fields[1:]
    rng.shuffle(rest)
    fields = head + rest if rng.random() < 0.7 else rest[:2] + head + rest[2:]
    odd = rng.random() < 0.25
    trail = rng.random() < 0.25
    tabs = rng.random() < 0.2
    if odd:
        feats.append("odd case")
    if trail:
        feats.append("trailing ws")
    if tabs:
        feats.append("tabs")
    out = []
    for name, value in fields:
        if odd and rng.random() < 0.5:
            name = rng.choice([name.upper(), name.lower(), name.swapcase()])
        sep = rng.choice([b":\t", b": \t", b":  "]) if tabs and rng.random() < 0.5 else b": "
        line = name + sep + value
        if trail and rng.random() < 0.5:
            line += rng.choice([b" ", b"\t", b"  \t"])
        out.append(line)
    if n_to > 1:
        feats.append("%d To" % n_to)
    if n_cc > 1:
        feats.append("%d Cc" % n_cc)
    if mime:
        body = mime_alternative(rng, boundary)
        feats.append("mime")
    else:
        kind = rng.choice(["text", "text", "ws", "8bit", "long", "blank-end", "empty",
                           "crlf-only", "no-final-crlf", "header-only"])
        feats.append("body " + kind)
        body = {
            "text": lambda: body_text(rng, rng.randint(1, 40)),
            "ws": lambda: body_whitespace(rng),
            "8bit": lambda: body_8bit(rng),
            "long": lambda: body_long_lines(rng),
            "blank-end": lambda: body_trailing_blank(rng, rng.randint(2, 30)),
            "empty": lambda: b"",
            "crlf-only": lambda: CRLF * rng.randint(1, 6),
            "no-final-crlf": lambda: body_text(rng, 3) + ascii_line(rng, 4),
            "header-only": lambda: None,
        }[kind]()
    return ("mix", "random mix: subject %r; %s" % (subject[:40].decode(), ", ".join(feats)),
            message(out, body))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT)
    a = ap.parse_args()
    dom = a.domain.encode("ascii")
    rng = random.Random(a.seed)
    cases = named_cases(rng, dom)
    i = len(cases)
    while len(cases) < a.count:
        cases.append(random_case(rng, dom, i))
        i += 1
    os.makedirs(a.out, exist_ok=True)
    manifest = []
    for n, (name, desc, data) in enumerate(cases, 1):
        assert b"\n" not in data.replace(CRLF, b""), name
        assert b"\r" not in data.replace(CRLF, b""), name
        fname = "%03d-%s.eml" % (n, name)
        with open(os.path.join(a.out, fname), "wb") as f:
            f.write(data)
        desc = desc.replace("\r\n", "\\r\\n").replace("\t", "\\t")
        manifest.append("%s\t%s\n" % (fname, desc))
    with open(os.path.join(a.out, "MANIFEST"), "w", encoding="utf-8") as f:
        f.writelines(manifest)
    print("%d messages in %s (seed %d)" % (len(cases), a.out, a.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
