#!/usr/bin/python3
"""Verify the DKIM signature of a message with dkimpy, an independent
verifier, reading the public key over DNS from one nameserver (the test
suite's Knot server on loopback).

    dkimverify.py --port 8553 [--server 127.0.0.1] [--file MESSAGE]

The message (signature header included) is read from --file or standard
input, as bytes.  Prints one line "pass" or "fail: <reason>" and exits 0
(verified), 1 (not verified) or 2 (usage or environment error).
Needs python3-dkim (dkimpy) and python3-dnspython.
"""
import argparse
import logging
import sys

try:
    import dkim
    import dns.message
    import dns.query
    import dns.rdatatype
    import dns.rcode
except ImportError as e:  # pragma: no cover - environment
    print("error: %s (install python3-dkim and python3-dnspython)" % e)
    sys.exit(2)


def make_dnsfunc(server, port, log):
    def get_txt(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        q = dns.message.make_query(name, dns.rdatatype.TXT)
        r = dns.query.udp(q, server, port=port, timeout=timeout)
        if r.flags & 0x0200:            # TC: ask again over TCP
            r = dns.query.tcp(q, server, port=port, timeout=timeout)
        log.append("%s %s" % (name, dns.rcode.to_text(r.rcode())))
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                # the first TXT record, its strings joined (RFC 6376 3.6.2.2)
                return b"".join(list(rrset.items)[0].strings)
        return None
    return get_txt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--file")
    a = ap.parse_args()
    if not a.server.startswith("127."):
        print("error: loopback nameservers only")
        return 2
    if a.file:
        with open(a.file, "rb") as f:
            msg = f.read()
    else:
        msg = sys.stdin.buffer.read()

    lookups = []
    logger = logging.getLogger("dkimverify")
    logging.basicConfig(level=logging.CRITICAL)
    d = dkim.DKIM(msg, logger=logger)
    try:
        ok = d.verify(dnsfunc=make_dnsfunc(a.server, a.port, lookups))
    except Exception as e:  # dkim.DKIMException, DNS errors
        print("fail: %s: %s [%s]" % (type(e).__name__, e, "; ".join(lookups)))
        return 1
    if ok:
        print("pass")
        return 0
    print("fail: signature did not verify [%s]" % "; ".join(lookups))
    return 1


if __name__ == "__main__":
    sys.exit(main())
