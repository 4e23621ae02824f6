#!/usr/bin/python3
"""Verify every DKIM signature of many messages with dkimpy in one process
(the signature oracle, t/sign/oracle.t), reading keys over DNS from one
loopback nameserver as t/sign/dkimverify.py does (its lookup function).

    dkimverify-dir.py --port 8553 [--server 127.0.0.1] DIR|FILE ...

Each argument is a message file or a folder whose *.eml files are read
(sorted).  Prints one line per message, "<file name><TAB>pass" when it has
at least one DKIM-Signature and every one verifies, else
"<file name><TAB>fail: <reason>" (the first signature that failed, its
index, and the lookups made).  Exits 0 when every message passed, 1 when
any failed, 2 on a usage or environment error.
"""
import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import dkim
    from dkimverify import make_dnsfunc
except ImportError as e:  # pragma: no cover - environment
    print("error: %s (install python3-dkim and python3-dnspython)" % e)
    sys.exit(2)


def signature_count(msg):
    headers, _ = dkim.rfc822_parse(msg)
    return sum(1 for name, _ in headers if name.lower() == b"dkim-signature")


def verdict(msg, server, port):
    lookups = []
    try:
        n = signature_count(msg)
        if n == 0:
            return "fail: no DKIM-Signature"
        d = dkim.DKIM(msg, logger=logging.getLogger("dkimverify"))
        for i in range(n):
            if not d.verify(idx=i, dnsfunc=make_dnsfunc(server, port, lookups)):
                return "fail: signature %d did not verify [%s]" % (i, "; ".join(lookups))
    except Exception as e:  # dkim.DKIMException, DNS errors, parse errors
        return "fail: %s: %s [%s]" % (type(e).__name__, e, "; ".join(lookups))
    return "pass"


def files(args):
    for a in args:
        if os.path.isdir(a):
            for name in sorted(os.listdir(a)):
                if name.endswith(".eml"):
                    yield os.path.join(a, name)
        else:
            yield a


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    if not a.server.startswith("127."):
        print("error: loopback nameservers only")
        return 2
    logging.basicConfig(level=logging.CRITICAL)
    failed = 0
    for path in files(a.paths):
        with open(path, "rb") as f:
            v = verdict(f.read(), a.server, a.port)
        failed += v != "pass"
        print("%s\t%s" % (os.path.basename(path), v.replace("\n", " ")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
