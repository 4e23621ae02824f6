#!/usr/bin/python3
"""check_host() (ssd_spf_eval) against the whole OpenSPF RFC 7208 suite.

    /usr/bin/python3 t/unit/rfc7208_eval.py [--suite FILE] [--out DIR] PROGRAM

PROGRAM is build/out/unit/spf_eval (t/unit/spf_eval.c): it serves each
scenario's zone as canned DNS (t/unit/fake_zone.h) and runs
ssd_spf_check_host for each test's host, mailfrom and helo (the identity
of RFC 7208 4.3: MAIL FROM, or postmaster@<helo> when it is empty).

Every test of every scenario is run; its result must be one of the results
the suite expects (a test may list several: the RFC leaves the choice
open).  Any other result is a disagreement, printed with the test, the
expected and our result and our error, and makes the exit status 1.

The zones are served as the suite's own driver (testspf.py, in
python3-spf's documentation) serves them:
  - TXT records as given (a list of strings is one RR, the strings joined
    with no separator); the value NONE only says "no TXT record here";
  - SPF-type records become TXT records of the same name when the name has
    no TXT entry at all (type SPF is gone in RFC 7208; the suite relies on
    this duplication), after the name's other entries;
  - a TIMEOUT entry times a query out unless a record of the type asked
    came before it, in which case it ends the answer; a record whose value
    is TIMEOUT times out queries of its type;
  - MX records are given to the program in preference order (exchange
    only); PTR, A, AAAA and CNAME as they are; a name starting with
    "error." that has no records times out;
  - names are compared ignoring case.
Explanations: exp= never changes the verdict, but where a test expects a
fail with an explanation, ours (ssd_spf_eval with SSD_SPF_EXPLAIN; the
suite's driver sets the default explanation "DEFAULT") must be the one
expected -- this checks the macros of explanations (c, r, t, upper case).
An explanation that differs only in letter case is counted as agreeing and
listed: RFC 7208 7.4 writes the nibbles of %{i} in lower case, pyspf (whose
output the suite records) in upper case.
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfc7208  # noqa: E402  (the suite's location and escaping)


def rows(zonedata):
    """The zone as (name, type, value bytes) rows, in testspf.py's order."""
    out = []
    for name, rrs in zonedata.items():
        entries, generated, has_txt = [], [], False
        for rr in rrs:
            if rr == 'TIMEOUT':
                entries.append((name, 'TIMEOUT', b''))
                continue
            for rtype, v in rr.items():
                if v == 'TIMEOUT':
                    entries.append((name, 'TIMEOUT-' + rtype, b''))
                    continue
                if rtype in ('TXT', 'SPF'):
                    value = rfc7208.txt_value(v)
                    has_txt |= rtype == 'TXT'
                    if rtype == 'SPF':
                        generated.append((name, 'TXT', value))
                    elif value != b'NONE':
                        entries.append((name, 'TXT', value))
                    continue
                if rtype == 'MX':
                    entries.append((name, 'MX', str(v[1]).encode('utf-8'),
                                    int(v[0])))
                    continue
                entries.append((name, rtype, str(v).encode('utf-8')))
        mx = sorted((e for e in entries if e[1] == 'MX'), key=lambda e: e[3])
        entries = [e[:3] if e[1] != 'MX' else mx.pop(0)[:3] for e in entries]
        out += entries + ([] if has_txt else generated)
    return out


def zone_lines(zonedata):
    lines = ['Z']
    for name, rtype, value in rows(zonedata):
        if rtype.startswith('TIMEOUT-'):
            # a record of one type that times out: only its type's queries
            # time out; fake_zone.h has no such entry, so it is a TIMEOUT
            # for every type -- report it if the suite ever has one
            raise SystemExit('rfc7208_eval.py: %s has a TIMEOUT value for '
                             'type %s: not supported' % (name, rtype[8:]))
        lines.append('\t'.join(('R', rfc7208.escape(name.encode('utf-8')),
                                rtype, rfc7208.escape(value))))
    return lines


def rfc7208_unescape(s):
    """The program's escaping undone (bytes as Latin-1 text)."""
    out, i = [], 0
    while i < len(s):
        if s[i] == '\\' and s[i + 1:i + 2] == '\\':
            out.append('\\')
            i += 2
        elif s[i] == '\\' and s[i + 1:i + 2] == 'x':
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


def field(s):
    return rfc7208.escape((s or '').encode('utf-8'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('program')
    ap.add_argument('--suite', default=os.environ.get('SCAISEND_RFC7208_SUITE'))
    ap.add_argument('--out', default='build/out/unit')
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()
    started = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    path = args.suite or rfc7208.suite_from_dpkg() \
        or rfc7208.suite_from_archive(args.out)
    scenarios = rfc7208.load_suite(path)
    lines, tests = [], []
    for sc in scenarios:
        lines += zone_lines(sc['zonedata'])
        for name, t in sc['tests'].items():
            expected = t['result'] if isinstance(t['result'], list) \
                else [t['result']]
            tests.append((sc['description'], name, expected, t))
            lines.append('\t'.join(('T', field(str(len(tests) - 1)),
                                    field(t['host']), field(t['mailfrom']),
                                    field(t['helo']))))
    data = ''.join(line + '\n' for line in lines).encode('ascii')
    out = subprocess.run([args.program], input=data, check=True,
                         capture_output=True, timeout=120).stdout
    answers = out.decode('ascii', 'replace').splitlines()
    if len(answers) != len(tests):
        raise SystemExit('%s: %d answers for %d tests:\n%s'
                         % (args.program, len(answers), len(tests),
                            '\n'.join(a for a in answers
                                      if a.startswith('error'))))
    agree = disagree = explained = 0
    by_result = {}
    for (scenario, name, expected, t), ans in zip(tests, answers):
        _, result, error, detail, exp = ans.split('\t')
        exp = rfc7208_unescape(exp)
        if result == 'fail' and 'explanation' in t and result in expected:
            want, got = t['explanation'], exp if exp != '-' else 'DEFAULT'
            if got != want and got.lower() != want.lower():
                disagree += 1
                print('DISAGREE %s/%s: explanation\n  expected: %r\n  ours:'
                      '     %r' % (scenario, name, want, got))
                continue
            explained += 1
            if got != want:
                print('note %s/%s: the explanation differs in case only: %r, '
                      'the suite %r' % (scenario, name, got, want))
        if result in expected:
            agree += 1
            by_result[result] = by_result.get(result, 0) + 1
            if args.verbose:
                print('ok %s/%s: %s (%s)' % (scenario, name, result, error))
            continue
        disagree += 1
        print('DISAGREE %s/%s\n  host %s mailfrom %r helo %r\n  expected: %s'
              '\n  ours:     %s (%s: %s)'
              % (scenario, name, t['host'], t['mailfrom'], t['helo'],
                 '|'.join(expected), result, error, detail))
    print('rfc7208_eval: suite %s; %d scenarios, %d tests; %d agree (%s; '
          '%d explanations checked), %d disagree; %.1f s'
          % (path, len(scenarios), len(tests), agree,
             ', '.join('%s %d' % kv for kv in sorted(by_result.items())),
             explained, disagree, time.monotonic() - started))
    return 1 if disagree else 0


if __name__ == '__main__':
    sys.exit(main())
