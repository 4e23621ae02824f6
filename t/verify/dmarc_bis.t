# The DMARC check per RFC 9989 (DMARCbis) and RFC 9990 (aggregate
# reporting) against the suite's Knot, one fresh domain a scenario (DKIM and
# SPF published as returned, the DMARC record as the scenario says):
#  - what begins a record (section 4.8: nothing before "v", ";" after DMARC1);
#  - Table 2's values, a repeated tag, an invalid p= (receivers: p=none);
#  - pct=, rf=, ri= and report size limits: warnings (Appendix C);
#  - p= missing with a valid rua= (p=none applies), t=y (testing);
#  - the DNS tree walk (section 4.10): an inherited organisational policy is
#    a hint, not a pass; a deep name asks the 8 names of step 4; psd=y at a
#    parent makes the organisational domain the name one label below it;
#  - report destinations (RFC 9990): same organisational domain, another one
#    with and without its record, a wildcard record (and one that a closer
#    name blocks, as DNS wildcards work), an override on another host, ruf=,
#    more than two destinations.
# Parent records live in the "test" zone under names no other file uses
# (orgpol.test, deep.test, psd.test, rpt.test, rpt2.test, ovr.test).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 82;

my $tok = token(sub => 'dmarcbis-admin', partner_id => 'p_vbis', tenant_id => 't_vbis',
                role => 'tenant_admin');

# bis($name, $domain, dmarc => value | [strings] | code ref on $d | undef (none),
#     create => {...}, setup => sub { my ($d) = @_; ... }, expect => {...}) -> ($d, $r)
sub bis {
    my ($name, $domain, %o) = @_;
    my $v = $o{dmarc};
    return scenario($tok, $name, $domain, create => $o{create} || {},
                    setup => sub {
                        my ($d) = @_;
                        publish($d, dmarc => ref $v eq 'CODE' ? $v->($d) : $v);
                        $o{setup}->($d) if $o{setup};
                    },
                    expect => { %{ $o{expect} || {} } });
}
sub as_returned { return rec_value($_[0], 'dmarc') }
sub fails { return (dmarc => 'fail', errors => [ map { "dmarc:$_" } @_ ]) }
sub warns { return (warnings => [ map { "dmarc:$_" } @_ ]) }
sub finding {                   # the first error or warning with that code
    my ($r, $code) = @_;
    my $j = obj($r);
    my ($f) = grep { ($_->{code} // '') eq $code } @{ $j->{errors} || [] }, @{ $j->{warnings} || [] };
    return $f || {};
}
sub txt_at { my ($name, @rr) = @_; knot_set(zone_of($name), "$name.", 'TXT', @rr) }

my ($d, $r);

# --- what begins a DMARC record (section 4.8) --------------------------------------------
($d, $r) = bis('white space before v=: no DMARC record', 'bis01.example.com',
               dmarc => ' v=DMARC1; p=none', expect => { fails('malformed') });
like finding($r, 'malformed')->{message} // '',
    qr/starts with white space before v=DMARC1; RFC 9989's formal definition \(section 4\.8\)/,
    'bis01: the message says nothing may come before the version tag';
is finding($r, 'malformed')->{expected}, 'v=DMARC1; p=none', 'bis01: expected: the record without it';
($d, $r) = bis('no ";" after v=DMARC1', 'bis02.example.com', dmarc => 'v=DMARC1 p=none',
               expect => { fails('malformed') });
like finding($r, 'malformed')->{message} // '', qr/a ';' does not follow it/, 'bis02: the message says why';
bis('"V", tabs around "=" and ";", tag names in capitals', 'bis03.example.com',
    dmarc => "V\t=\tDMARC1\t;\tP=None;");
bis('every RFC 9989 tag, and an unknown one (ignored)', 'bis04.example.com',
    dmarc => 'v=DMARC1; p=none; sp=quarantine; np=reject; psd=n; t=n; adkim=s; aspf=r; fo=0:d:s; '
           . 'rua=mailto:agg@bis04.example.com; ruf=mailto:fail@bis04.example.com; future=tag');

# --- Table 2 of section 4.8 -------------------------------------------------------------------
for my $c (['bis05', 'v=DMARC1; p=none; t=maybe', qr/t=maybe is not y or n/],
           ['bis06', 'v=DMARC1; p=none; psd=yes', qr/psd=yes is not y, n or u/],
           ['bis07', 'v=DMARC1; p=none; fo=0:1', qr/not both 0 and 1/],
           ['bis08', 'v=DMARC1; p=none; aspf=x', qr/aspf=x is not r \(relaxed\) or s .*the default, aspf=r/],
           ['bis09', 'v=DMARC1; p=none; rua=dmarc@example.com', qr/does not start with a scheme/],
           ['bis10', 'v=DMARC1; p=none; p=reject', qr/tag p= appears more than once.*repeated tag/]) {
    my ($sub, $value, $says) = @$c;
    ($d, $r) = bis("invalid: $value", "$sub.example.com", dmarc => $value,
                   expect => { fails('malformed') });
    like finding($r, 'malformed')->{message} // '', $says, "$sub: the message says what is allowed";
}
($d, $r) = bis('invalid p= with a valid rua=', 'bis11.example.com',
               dmarc => 'v=DMARC1; p=rejct; rua=mailto:agg@bis11.example.com',
               expect => { fails('malformed') });
like finding($r, 'malformed')->{message} // '', qr/act as if the record said only p=none.*section 4\.10\.1/,
    'bis11: receivers fall back to p=none (section 4.10.1), still a failure';
is finding($r, 'malformed')->{expected}, 'v=DMARC1; p=none; rua=mailto:agg@bis11.example.com',
    'bis11: expected: the record with the domain\'s policy';

# --- removed by RFC 9989: warnings ---------------------------------------------------------------
($d, $r) = bis('pct=0: removed, use t=y', 'bis12.example.com', dmarc => 'v=DMARC1; p=none; pct=0',
               expect => { warns('removed_tag') });
like finding($r, 'removed_tag')->{message} // '', qr/removed by RFC 9989 .*replace pct=0 with t=y/,
    'bis12: the advice';
is finding($r, 'removed_tag')->{expected}, 'v=DMARC1; p=none; t=y', 'bis12: expected: t=y instead';
bis('rf= and ri=: a warning each', 'bis13.example.com', dmarc => 'v=DMARC1; p=none; rf=afrf; ri=86400',
    expect => { warns(qw(removed_tag removed_tag)) });
bis('a report size limit (!10m)', 'bis14.example.com',
    dmarc => 'v=DMARC1; p=none; rua=mailto:agg@bis14.example.com!10m',
    expect => { warns('removed_size_limit') });

# --- p= and t= ----------------------------------------------------------------------------------------
($d, $r) = bis('no p=, a valid rua=: p=none applies', 'bis15.example.com',
               dmarc => 'v=DMARC1; rua=mailto:agg@bis15.example.com', expect => { warns('policy_missing') });
is finding($r, 'policy_missing')->{expected}, 'v=DMARC1; p=none; rua=mailto:agg@bis15.example.com',
    'bis15: expected: p= added';
($d, $r) = bis('t=y: the policy is tested one level lower', 'bis16.example.com',
               create => { dmarc_policy => 'quarantine' }, dmarc => 'v=DMARC1; p=quarantine; t=y',
               expect => { warns('policy_testing') });
like finding($r, 'policy_testing')->{message} // '', qr/one level less than p=quarantine .*i\.e\. none/,
    'bis16: what receivers apply';

# --- the DNS tree walk: inherited policies ------------------------------------------------------------
txt_at('_dmarc.orgpol.test', 'v=DMARC1; p=reject; sp=quarantine');
($d, $r) = bis('no record, the organisational domain has one: still missing', 'bis17.orgpol.test',
               dmarc => undef, expect => { fails('missing'), warns('inherited_policy') });
like finding($r, 'inherited_policy')->{message} // '',
    qr/_dmarc\.bis17\.orgpol\.test has no DMARC record of its own, so receivers apply the record of the organisational domain orgpol\.test.*its sp=quarantine.*does not pass this check/,
    'bis17: the hint names the record receivers use and the policy';
is finding($r, 'inherited_policy')->{found}, 'v=DMARC1; p=reject; sp=quarantine', 'bis17: found: that record';
bis('rua on the organisational domain (it has a record): no authorisation', 'bis18.orgpol.test',
    create => { dmarc_rua_email => 'dmarc@orgpol.test' }, dmarc => \&as_returned);

my $DEEP = 'l1.l2.l3.l4.l5.l6.l7.l8.deep.test';             # 10 labels
txt_at('_dmarc.l2.l3.l4.l5.l6.l7.l8.deep.test', 'v=DMARC1; p=none');    # 9 labels: skipped
txt_at('_dmarc.deep.test', 'v=DMARC1; p=quarantine');
my $q0 = knot_query_count('TXT');
bis('deep name, reference (own record)', "ref.$DEEP", dmarc => \&as_returned);
my $ref = knot_query_count('TXT') - $q0;
$q0 = knot_query_count('TXT');
($d, $r) = bis('deep name without a record: the walk shortens it to 7 labels', $DEEP, dmarc => undef,
               expect => { fails('missing'), warns('inherited_policy') });
my $deep = knot_query_count('TXT') - $q0;
like finding($r, 'inherited_policy')->{message} // '', qr/organisational domain deep\.test, found/,
    'deep: the record 9 labels up is skipped (section 4.10 step 4), deep.test applies';
is $deep - $ref, 7, "deep: 8 DMARC lookups instead of 1 ($deep and $ref TXT queries in all)";

txt_at('_dmarc.psd.test', 'v=DMARC1; p=reject; sp=quarantine; psd=y');
($d, $r) = bis('psd=y at a parent: the PSD policy applies, still missing', 'mail.shop.psd.test',
               dmarc => undef, expect => { fails('missing'), warns('inherited_policy') });
like finding($r, 'inherited_policy')->{message} // '',
    qr/record of the public suffix domain psd\.test \(psd=y; the organisational domain shop\.psd\.test publishes none\).*its sp=quarantine/,
    'psd: the organisational domain is one label below psd=y';
($d, $r) = bis('psd=y at a parent: siblings are separate organisations', 'a.psd.test',
               create => { dmarc_rua_email => 'reports@b.psd.test' }, dmarc => \&as_returned,
               expect => { warns('rua_not_authorised') });
like finding($r, 'rua_not_authorised')->{message} // '', qr/\Qa.psd.test._report._dmarc.b.psd.test\E/,
    'psd: the authorisation record to publish';
bis('psd=y sibling with its authorisation record', 'c.psd.test',
    create => { dmarc_rua_email => 'reports@b.psd.test' }, dmarc => \&as_returned,
    setup => sub { txt_at('c.psd.test._report._dmarc.b.psd.test', 'v=DMARC1') });

# --- report destinations (RFC 9990) -----------------------------------------------------------------------
txt_at('*._report._dmarc.rpt.test', 'v=DMARC1');
my $syn = dns_query(name => 'anything.example.net._report._dmarc.rpt.test');
is_deeply [ map { @{ $_->{strings} || [] } } @{ $syn->{answers} || [] } ], ['v=DMARC1'],
    'Knot synthesises the wildcard for any domain';
bis('wildcard authorisation *._report._dmarc.<destination>', 'bis23.example.net',
    create => { dmarc_rua_email => 'reports@rpt.test' }, dmarc => \&as_returned);
txt_at('other.example.org._report._dmarc.rpt.test', 'v=DMARC1');
is dns_query(name => 'bis24.example.org._report._dmarc.rpt.test')->{rcode}, 'NXDOMAIN',
    'a name below example.org._report._dmarc.rpt.test exists: the wildcard no longer covers it (RFC 4592)';
bis('wildcard blocked by a closer name: not authorised (what receivers see)', 'bis24.example.org',
    create => { dmarc_rua_email => 'reports@rpt.test' }, dmarc => \&as_returned,
    expect => { warns('rua_not_authorised') });
($d, $r) = bis('three destinations: two checked', 'bis25.example.com',
               dmarc => 'v=DMARC1; p=none; rua=mailto:a@one.rpt2.test,mailto:b@two.rpt2.test,'
                      . 'mailto:c@three.rpt2.test',
               expect => { warns(qw(rua_not_authorised rua_not_authorised rua_not_checked)) });
like finding($r, 'rua_not_checked')->{message} // '',
    qr/rua= lists 3 report addresses; the first 2 were checked and the other 1 were not/, 'bis25: counted';
bis('ruf= on another organisational domain', 'bis26.example.com',
    dmarc => 'v=DMARC1; p=none; ruf=mailto:fail@example.net', expect => { warns('ruf_not_authorised') });
($d, $r) = bis('an authorisation record overriding to another host', 'bis27.example.com',
               create => { dmarc_rua_email => 'reports@ovr.test' }, dmarc => \&as_returned,
               setup => sub { txt_at('bis27.example.com._report._dmarc.ovr.test',
                                     'v=DMARC1; rua=mailto:x@elsewhere.test') },
               expect => { warns('rua_not_authorised') });
like finding($r, 'rua_not_authorised')->{message} // '', qr/so receivers send them to neither/,
    'bis27: no reports at all (step 9)';

knot_update('test', map { ['unset', "$_."] }
            qw(_dmarc.orgpol.test _dmarc.l2.l3.l4.l5.l6.l7.l8.deep.test _dmarc.deep.test _dmarc.psd.test
               c.psd.test._report._dmarc.b.psd.test *._report._dmarc.rpt.test
               other.example.org._report._dmarc.rpt.test bis27.example.com._report._dmarc.ovr.test));
ok 1, 'parent and authorisation records removed';
