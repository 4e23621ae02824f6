#!/usr/bin/python3
"""The SPF syntax parser against the OpenSPF RFC 7208 test suite.

    /usr/bin/python3 t/unit/rfc7208.py [--suite FILE] [--out DIR] PROGRAM

PROGRAM is build/out/unit/spf_syntax (t/unit/spf_syntax.c): it reads one
escaped TXT string a line and prints the module's verdict on each
(ssd_spf_is_record + ssd_spf_parse).

The suite (rfc7208-tests.yml, release 2014.04, shipped by Debian's
python3-spf) describes DNS zones and SPF checks against them.  This driver
takes every TXT/SPF string of every zone and works out what RFC 7208 says of
its *syntax*:

  not-spf   not an SPF record at all (section 4.5: the version must be
            exactly "v=spf1", any case, followed by a space or the end);
  valid     an SPF record whose terms are all valid (sections 4.6, 5, 6, 7);
  invalid   an SPF record with a syntax error: receivers answer permerror
            from the record text alone, before any DNS lookup.

Two readings decide, and must agree:

1. The oracle: pyspf (module spf, someone else's reading of the RFC) asked
   about the record string alone.  check0() of pyspf parses every term of a
   record (validate_mechanism, expand_domain, expand and the modifier rules)
   before it evaluates a single mechanism; pyspf_syntax() below runs exactly
   that parse phase, with DNS switched off, and reports its PermError.

2. The suite's own judgement, its expected results: every test is run
   through pyspf with the test's zone (a fake DNS serving it as the suite's
   driver testspf.py does), only to record which SPF records the check
   reaches (the top-level record and every include/redirect target actually
   fetched; a permerror may come from any of them).  Then:
     - a test whose expected result excludes permerror must reach only
       records the oracle finds valid (this confirms "valid");
     - a test expecting exactly permerror that reaches an invalid record
       confirms "invalid" for that record;
     - a test expecting exactly permerror that reaches only valid records
       fails for a reason that is not syntax (lookup limits, void lookups,
       several records, an include/redirect target without a record...):
       each such test is listed, with its reason, in EVALUATION_PERMERRORS;
       the records it reaches are valid syntax;
     - a test whose expected result is a list with permerror and another
       result is a matter of opinion in the suite: listed in OPINION_TESTS
       with the syntax verdict taken and why.
   Any test that does not fit these rules, or a table entry that no longer
   matches the suite, fails the run: nothing is reclassified silently.
   Where pyspf's parse phase is wrong, ORACLE_OVERRIDES says so, record by
   record, with the RFC's reading.  Records no test reaches keep the
   oracle's verdict (listed as such in the output).

The expected verdict of each record is then compared with PROGRAM's; every
disagreement is printed (record, the tests that reach it, expected, ours)
and makes the exit status 1.

Escaping (both ways, one string a line): bytes 0x20-0x7e stand for
themselves except the backslash, written "\\\\"; every other byte is
"\\xHH" (two lower-case hex digits).  Multi-string TXT records are joined
with no separator (RFC 7208 section 3.3) before they are escaped, as a
receiver does; the YAML's code points are encoded as UTF-8, as the suite's
own driver does.

Strings that are not SPF records (explanation texts, "v=spf10", a TXT
with no strings) are kept: ssd_spf_is_record must refuse them.

Exclusions (each also printed):
  - the TXT value "NONE": the suite's marker for "this name has no TXT
    record", not a record;
  - tests whose checks pyspf itself fails (none in release 2014.04; if one
    appears it is reported and excluded from confirming anything);
  - "TIMEOUT" entries are DNS behaviour, not records.
Tests about DNS behaviour (timeouts, CNAMEs, PTR validation, macro
expansion results, explanations) need no exclusion: they only confirm that
the records they reach are valid.
"""

import argparse
import gzip
import io
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

try:
    import yaml
    import spf
except ImportError as e:
    raise SystemExit('rfc7208.py: %s: install python3-spf and python3-yaml '
                     '(build/install-deps)' % e)

SUITE_NAME = 'rfc7208-tests.yml.gz'

# Tests expecting exactly permerror whose records are all valid syntax: the
# permerror comes from evaluation.  Key: test name; value: the reason, and
# the start of pyspf's PermError message for that test (checked).
EVALUATION_PERMERRORS = {
    'multitxt1': ('two v=spf1 TXT records at one name (section 4.5)',
                  'Two or more type TXT spf records found'),
    'multitxt2': ('two v=spf1 records at one name, the second in mixed '
                  'case (section 4.5)',
                  'Two or more type TXT spf records found'),
    'include-none': ('include target without an SPF record (5.2)',
                     'No valid SPF record for included domain'),
    'redirect-none': ('redirect target without an SPF record (6.1)',
                      'redirect domain has no SPF record'),
    'redirect-loop': ('redirect loop: more than 10 DNS-querying terms '
                      '(4.6.4)', 'Too many DNS lookups'),
    'include-loop': ('include loop: more than 10 DNS-querying terms '
                     '(4.6.4)', 'Too many DNS lookups'),
    'mx-limit': ('more than 10 MX records (4.6.4)',
                 'More than 10 MX records returned'),
    'mech-over-limit': ('11 DNS-querying mechanisms (4.6.4); pyspf meets '
                        'the void lookup limit first, also not syntax',
                        'Void lookup limit of 2 exceeded'),
    'include-over-limit': ('more than 10 DNS-querying terms through an '
                           'include (4.6.4)', 'Too many DNS lookups'),
    'void-over-limit': ('three void lookups (4.6.4)',
                        'Void lookup limit of 2 exceeded'),
}

# Tests whose expected result lists permerror among others: the suite
# leaves the choice open.  Key: test name; value: (the verdict this driver
# takes for the record the test is about, why).
OPINION_TESTS = {
    'invalid-domain-empty-label': (
        'valid', 'a:mail.example...com is valid domain-spec syntax (the '
        'suite says so; only the last label is a toplabel); the empty label '
        'is a DNS matter'),
    'invalid-domain-long': (
        'valid', 'a 64-character label is valid domain-spec syntax (the '
        'suite says so); the label length is a DNS matter'),
    'invalid-domain-long-via-macro': (
        'valid', 'a:%{H}.bar is valid syntax; what the macro expands to is '
        'not syntax'),
    'multispf1': (
        'valid', 'two identical records: a record-selection matter (4.5); '
        'pyspf reaches neither'),
}

# Records on which pyspf's parse phase is wrong, with the RFC's reading
# (each checked: an entry on which the oracle already agrees fails the run).
# Key: the record, escaped.
ORACLE_OVERRIDES = {
    'v=spf1 ip4:192.0.2.5\\x0a include:spf.protection.outlook.com ~all': (
        'invalid', 'terms are separated by SP only (4.6.1) and an '
        'ip4-network has no room for a LF (5.6): the suite\'s test badip4 '
        'expects permerror for exactly this.  pyspf\'s RE_IP4 ends in "$", '
        'which Python also matches before a final newline, so its parse '
        'phase accepts "ip4:192.0.2.5\\n" and only its evaluation fails'),
}

# Messages of pyspf's parse phase: all syntax (checked, so that a new kind
# of message is looked at before it counts as a syntax error).
SYNTAX_MESSAGES = (
    'Non-ascii characters found', 'Invalid domain found', 'Unknown mechanism',
    'Invalid IP4 CIDR length', 'Invalid IP6 CIDR length', 'Invalid IP4 address',
    'Invalid IP6 address', 'Dual CIDR not allowed', 'CIDR not allowed',
    'implicit exists not allowed', 'empty domain', 'include mechanism missing',
    'Invalid all mechanism format', 'redirect= MUST appear at most once',
    'exp= MUST appear at most once', 'exp has empty domain-spec',
    'redirect has empty domain', 'invalid-macro-char',
    'c,r,t macros allowed in exp= text only', 'Unknown Macro Encountered',
    'Use the ip4 mechanism for ip4 addresses', 'Missing IP4',
    'Unknown qualifier',
)


# ---------------------------------------------------------------- escaping

def escape(b):
    out = []
    for c in b:
        if c == 0x5c:
            out.append('\\\\')
        elif 0x20 <= c <= 0x7e:
            out.append(chr(c))
        else:
            out.append('\\x%02x' % c)
    return ''.join(out)


# ---------------------------------------------------------------- the suite

def suite_from_dpkg():
    """The suite as listed by dpkg for python3-spf, if it is on disk (slim
    images exclude /usr/share/doc from installs)."""
    try:
        files = subprocess.run(['dpkg', '-L', 'python3-spf'], check=True,
                               capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    for f in files.splitlines():
        if f.endswith('/' + SUITE_NAME) and os.path.isfile(f):
            return f
    return None


def suite_from_archive(outdir):
    """Fetch python3-spf's .deb with apt-get download and take the suite
    out of it (for machines whose dpkg does not install documentation)."""
    cached = os.path.join(outdir, SUITE_NAME)
    if os.path.isfile(cached):
        return cached
    print('rfc7208.py: %s is not on disk; taking it from python3-spf\'s '
          'package (apt-get download)' % SUITE_NAME)
    with tempfile.TemporaryDirectory(dir=outdir) as tmp:
        got = subprocess.run(['apt-get', 'download', '-q', 'python3-spf'],
                             cwd=tmp, capture_output=True, text=True)
        if got.returncode != 0:
            raise SystemExit('rfc7208.py: apt-get download python3-spf '
                             'failed:\n' + got.stderr)
        deb = [f for f in os.listdir(tmp) if f.endswith('.deb')][0]
        tar = subprocess.run(['dpkg-deb', '--fsys-tarfile',
                              os.path.join(tmp, deb)], check=True,
                             capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar)) as t:
            member = [m for m in t.getmembers()
                      if m.name.endswith('/' + SUITE_NAME)][0]
            data = t.extractfile(member).read()
    with open(cached + '.tmp', 'wb') as f:
        f.write(data)
    os.rename(cached + '.tmp', cached)
    return cached


def load_suite(path):
    with gzip.open(path, 'rb') as f:
        return list(yaml.safe_load_all(f))


def txt_value(v):
    """A zone's TXT/SPF value as the bytes a receiver sees: the strings
    joined with no separator, UTF-8 encoded."""
    parts = [v] if isinstance(v, str) else list(v)
    return b''.join(s.encode('utf-8') for s in parts)


def zone_strings(scenarios):
    """Every TXT/SPF string of every zone: {bytes: [where, ...]}."""
    found, excluded = {}, []
    for sc in scenarios:
        for name, rrs in sc['zonedata'].items():
            for rr in rrs:
                if not isinstance(rr, dict):
                    continue                            # TIMEOUT
                for rtype, v in rr.items():
                    if rtype not in ('TXT', 'SPF'):
                        continue
                    where = '%s: %s %s' % (sc['description'], name, rtype)
                    if v == 'NONE':
                        excluded.append(where + ' NONE (no-record marker)')
                        continue
                    found.setdefault(txt_value(v), []).append(where)
    return found, excluded


# ---------------------------------------------------------------- the oracle

def no_dns(name, qtype, strict=True, timeout=None):
    return []


def pyspf_syntax(rec):
    """pyspf's parse phase (query.check0 up to the evaluation loop) on the
    record alone: None if valid, else its PermError message."""
    try:
        text = spf.to_ascii(rec)
    except spf.PermError as e:
        return str(e)
    q = spf.query(i='192.0.2.1', s='postmaster@oracle.invalid',
                  h='mail.oracle.invalid', strict=True)
    seen = []
    try:
        for term in [t for t in text.split(' ')[1:] if t]:
            m = spf.RE_MODIFIER.split(term)[1:]
            if len(m) != 2:
                q.validate_mechanism(term)
                continue
            # pyspf compares modifier names case-sensitively; RFC 7208
            # names are case-insensitive (ABNF strings): compare lower case.
            mod, arg = m[0].lower(), m[1]
            if mod in ('redirect', 'exp') and mod in seen:
                raise spf.PermError('%s= MUST appear at most once' % mod, term)
            seen.append(mod)
            if mod in ('exp', 'redirect'):
                if not arg:
                    raise spf.PermError(
                        'exp has empty domain-spec' if mod == 'exp'
                        else 'redirect has empty domain', term)
                q.expand_domain(arg)
            elif mod not in ('default', 'op'):
                q.expand(arg)           # unknown modifier: macro syntax
    except spf.PermError as e:
        return str(e)
    return None


def is_spf(rec):
    return bool(spf.RE_SPF.match(rec))


# ---------------------------------------------------------------- tracing

def fake_zone(zonedata):
    """The suite's zone as the suite's own driver (testspf.py) serves it:
    {name: [(type, value) or 'TIMEOUT', ...]} in the zone's order.  A name's
    SPF-type entries also serve as TXT records, after all its entries,
    unless the name has TXT entries (type SPF is gone in RFC 7208); the TXT
    value NONE only says "no TXT record"."""
    zone = {}
    for name, rrs in zonedata.items():
        entries, generated, has_txt = [], [], False
        for rr in rrs:
            if rr == 'TIMEOUT':
                entries.append(rr)
                continue
            for rtype, v in rr.items():
                if rtype in ('TXT', 'SPF'):
                    parts = [v] if isinstance(v, str) else list(v)
                    v = tuple(s.encode('utf-8') for s in parts)
                    has_txt |= rtype == 'TXT'
                    if rtype == 'SPF':
                        generated.append(('TXT', v))
                    if v == (b'NONE',):
                        continue
                elif rtype == 'AAAA':
                    v = socket.inet_pton(socket.AF_INET6, v)
                entries.append((rtype, v))
        zone[name.lower()] = entries + ([] if has_txt else generated)
    return zone


def answers(zone, key, qtype, level):
    """The answers to one query; a TIMEOUT entry times the query out
    unless an answer of its type came before it; a CNAME is followed one
    level."""
    out, found = [], False
    for e in zone.get(key, []):
        if e == 'TIMEOUT':
            if not found:
                raise spf.TempError('DNS timeout')
            break
        rtype, v = e
        if rtype == qtype:
            found = True
        out.append(((key, rtype), v))
        if rtype == 'CNAME' and level == 0:
            out += answers(zone, v.lower().rstrip('.'), qtype, 1)
    return out


def make_lookup(zone):
    def lookup(name, qtype, strict=True, timeout=None):
        labels = [l for l in name.split('.') if l]
        if any(len(l) > 63 for l in labels):
            raise spf.TempError('DNS label too long')
        return answers(zone, '.'.join(labels).lower(), qtype, 0)
    return lookup


def run_test(sc, t):
    """pyspf on one test: (result, PermError message or None, records
    reached as bytes)."""
    reached = []
    real_to_ascii = spf.to_ascii

    def to_ascii(s):
        if is_spf(s):
            reached.append(s)
        return real_to_ascii(s)

    spf.DNSLookup = make_lookup(fake_zone(sc['zonedata']))
    spf.to_ascii = to_ascii
    try:
        q = spf.query(i=t['host'], s=t['mailfrom'], h=t['helo'],
                      strict=t.get('strict', True))
        q.set_default_explanation('DEFAULT')
        res = q.check()[0]
    finally:
        spf.to_ascii = real_to_ascii
        spf.DNSLookup = no_dns
    res = {'unknown': 'permerror', 'error': 'temperror'}.get(res, res)
    return res, str(q.perm_error) if q.perm_error else None, reached


# ---------------------------------------------------------------- classify

class Problems(list):
    def add(self, *parts):
        self.append(' '.join(str(p) for p in parts))


def classify(scenarios, strings, problems):
    """Expected verdict of every string, and the tests that reach it."""
    verdict, why, tests_of = {}, {}, {s: [] for s in strings}
    for rec in strings:
        if not is_spf(rec):
            verdict[rec], why[rec] = 'not-spf', 'RFC 7208 4.5'
            continue
        msg = pyspf_syntax(rec)
        if msg and not msg.startswith(SYNTAX_MESSAGES):
            problems.add('unknown pyspf parse message for', escape(rec), msg)
        verdict[rec] = 'invalid' if msg else 'valid'
        why[rec] = 'pyspf: ' + (escape(msg.encode('utf-8')) if msg
                                else 'no error')
        override = ORACLE_OVERRIDES.get(escape(rec))
        if override and override[0] == verdict[rec]:
            problems.add('ORACLE_OVERRIDES: pyspf already says',
                         override[0], 'of', escape(rec))
        elif override:
            verdict[rec], why[rec] = override[0], 'override (%s): %s' % (
                why[rec], override[1])
    for key in set(ORACLE_OVERRIDES) - set(escape(r) for r in strings):
        problems.add('ORACLE_OVERRIDES lists', key, 'which the suite lacks')
    seen_eval, seen_opinion, skipped = set(), set(), []
    for sc in scenarios:
        for name, t in sc['tests'].items():
            expected = t['result'] if isinstance(t['result'], list) \
                else [t['result']]
            res, msg, reached = run_test(sc, t)
            label = '%s/%s' % (sc['description'], name)
            if res not in expected:
                skipped.append('%s: pyspf answers %s, the suite %s'
                               % (label, res, expected))
                continue
            reached = list(dict.fromkeys(reached))
            for rec in reached:
                tests_of[rec].append('%s(%s)' % (name, '|'.join(expected)))
            bad = [r for r in reached if verdict.get(r) == 'invalid']
            if len(expected) > 1 and 'permerror' in expected:
                seen_opinion.add(name)
                if name not in OPINION_TESTS:
                    problems.add('test', label, 'expects', expected,
                                 'and is not in OPINION_TESTS')
                elif any(verdict[r] != OPINION_TESTS[name][0]
                         for r in reached):
                    problems.add('test', label, ': OPINION_TESTS says',
                                 OPINION_TESTS[name][0], 'the oracle',
                                 [verdict[r] for r in reached])
            elif 'permerror' not in expected:
                for r in bad:
                    problems.add('test', label, 'expects', expected,
                                 'but reaches the invalid record',
                                 escape(r), '(' + why[r] + ')')
            elif not bad:
                seen_eval.add(name)
                entry = EVALUATION_PERMERRORS.get(name)
                if entry is None:
                    problems.add('test', label, 'expects permerror, reaches '
                                 'only valid records', [escape(r) for r in
                                                        reached],
                                 'and is not in EVALUATION_PERMERRORS'
                                 ' (pyspf: %s)' % msg)
                elif not (msg or '').startswith(entry[1]):
                    problems.add('test', label, ': pyspf says', msg,
                                 'EVALUATION_PERMERRORS says', entry[1])
    for name in set(EVALUATION_PERMERRORS) - seen_eval:
        problems.add('EVALUATION_PERMERRORS lists', name,
                     'which is not an evaluation permerror of the suite')
    for name in set(OPINION_TESTS) - seen_opinion:
        problems.add('OPINION_TESTS lists', name, 'which the suite lacks')
    return verdict, why, tests_of, skipped


# ---------------------------------------------------------------- compare

def run_program(program, records):
    data = ''.join(escape(r) + '\n' for r in records).encode('ascii')
    out = subprocess.run([program], input=data, check=True,
                         capture_output=True, timeout=60).stdout
    lines = out.decode('ascii', 'replace').splitlines()
    if len(lines) != len(records):
        raise SystemExit('%s: %d answers for %d records'
                         % (program, len(lines), len(records)))
    return lines


def write_data(path, records, verdict, why, where, tests_of):
    with open(path, 'w') as f:
        f.write('# expected\trecord (escaped)\twhy\tzones\ttests\n')
        for r in records:
            f.write('\t'.join((verdict[r], escape(r), why[r],
                               '; '.join(where[r]),
                               ' '.join(tests_of[r]) or '-')) + '\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('program')
    ap.add_argument('--suite', default=os.environ.get('SCAISEND_RFC7208_SUITE'))
    ap.add_argument('--out', default='build/out/unit')
    args = ap.parse_args()
    started = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    path = args.suite or suite_from_dpkg() or suite_from_archive(args.out)
    spf.DNSLookup = no_dns
    scenarios = load_suite(path)
    strings, excluded = zone_strings(scenarios)
    problems = Problems()
    verdict, why, tests_of, skipped = classify(scenarios, strings, problems)
    records = sorted(strings)
    write_data(os.path.join(args.out, 'rfc7208-records.tsv'), records,
               verdict, why, strings, tests_of)
    answers = run_program(args.program, records)
    agree = disagree = 0
    for rec, ans in zip(records, answers):
        ours = ans.split(':', 1)[0]
        if ours == verdict[rec]:
            agree += 1
            continue
        disagree += 1
        print('DISAGREE %s\n  tests:    %s\n  expected: %s (%s)\n  ours:     %s'
              % (escape(rec), ' '.join(tests_of[rec]) or '(no test reaches '
                 'it)', verdict[rec], why[rec], ans))
    for p in problems:
        print('CLASSIFICATION:', p)
    for s in skipped:
        print('excluded test:', s)
    alone = [r for r in records if is_spf(r) and not tests_of[r]]
    for r in alone:
        print('no test reaches %s: the oracle alone says %s' % (
            escape(r), verdict[r]))
    for e in excluded:
        print('excluded string:', e)
    counts = {k: sum(1 for r in records if verdict[r] == k)
              for k in ('valid', 'invalid', 'not-spf')}
    print('rfc7208: suite %s; %d scenarios, %d tests; %d distinct TXT '
          'strings (%d valid, %d invalid, %d not SPF); %d agree, %d disagree; '
          '%d classification problems; %.1f s'
          % (path, len(scenarios), sum(len(s['tests']) for s in scenarios),
             len(records), counts['valid'], counts['invalid'],
             counts['not-spf'], agree, disagree, len(problems),
             time.monotonic() - started))
    return 1 if disagree or problems else 0


if __name__ == '__main__':
    sys.exit(main())
