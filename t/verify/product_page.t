# The product page's verification, end to end: create, publish the three
# records exactly as returned (the DKIM value split into 255-byte strings, as
# a DNS provider does), verify, break DKIM, fix it, and a DNS outage that
# must not unverify the domain.
#
# The page's rua, dmarc-reports@example.com, is on another organisational
# domain than mail.vpage.example.com under RFC 9989: example.com publishes
# no DMARC record, so the DNS tree walk (section 4.10.2) makes each name
# its own organisational domain, and RFC 9990 wants the authorisation
# record. The first verify warns with that record; it is then published.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use JSON::PP ();
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 30;

my $tok = token(sub => 'page-admin', partner_id => 'p_vpage', tenant_id => 't_vpage',
                role => 'tenant_admin');
my $NAME = 'mail.vpage.example.com';
my @PAGE_KEYS = qw(domain verified dkim_verified spf_verified txt_verified);

# --- create, as on the page ---------------------------------------------------
my $d = new_domain($tok, $NAME, dmarc_policy => 'quarantine',
                   dmarc_rua_email => 'dmarc-reports@example.com');
ok !$d->{error}, 'create: 201' or diag $d->{error};
is_deeply [ map { $_->{host} } @{ $d->{dns_records} } ],
    [ "scaisend._domainkey.$NAME", $NAME, "_dmarc.$NAME" ], 'three records: DKIM, SPF, DMARC hosts';
my $dkim = rec_value($d, 'dkim');
like $dkim, qr/\Av=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA[A-Za-z0-9+\/]+=*\z/,
    'DKIM value as on the page';
is_deeply [ rec_value($d, 'spf'), rec_value($d, 'dmarc') ],
    [ SPF_OK, 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com' ],
    'SPF and DMARC values as on the page';
is_deeply [ map { $_->{status} } @{ $d->{dns_records} } ], [ ('pending') x 3 ],
    'every row pending before any check';

# --- publish exactly as returned ------------------------------------------------
publish_all($d);
my $q = dns_query(name => "scaisend._domainkey.$NAME");
is_deeply [ map { length } @{ $q->{answers}[0]{strings} || [] } ],
    [ 255, length($dkim) - 255 ], 'DKIM published as one TXT RR of a 255-byte string and the rest';

# --- verify: all pass ------------------------------------------------------------
my $r = verify($tok, $d);
verify_is($r, 'verify after publishing: everything passes, the rua warned about', domain => $NAME,
          warnings => ['dmarc:rua_not_authorised']);
my $j = obj($r);
is_deeply [ (top_keys($r->{body}))[0 .. 4] ], \@PAGE_KEYS, "the page's keys come first, in its order";
ok ref $j->{errors} eq 'ARRAY' && !@{ $j->{errors} }, 'errors: []';
my $AUTH = "$NAME._report._dmarc.example.com";
like $j->{warnings}[0]{message} // '',
    qr/\Qpublish a TXT record at $AUTH with the value v=DMARC1\E.*\Qpublish a DMARC record at _dmarc.example.com\E/,
    'warnings: the rua needs the RFC 9990 record (or a DMARC record at example.com)';
knot_set('example.com', "$AUTH.", 'TXT', 'v=DMARC1');    # as the warning says
is_deeply { map { $_ => $j->{checks}{$_}{host} } qw(dkim spf dmarc) },
    { dkim => "scaisend._domainkey.$NAME", spf => $NAME, dmarc => "_dmarc.$NAME" },
    'checks name the hosts looked up';
ok is_rfc3339($j->{checked_at}), 'checked_at is RFC 3339 UTC';

state_is($tok, $d, 'GET: verified, rows verified, last_verification present',
         verified => 1, last_verification => 1,
         status => { dkim => 'verified', spf => 'verified', dmarc => 'verified' });
my $g = obj(get_domain($tok, $d));
ok is_rfc3339($g->{verified_at}), 'verified_at set';
ok ref $g->{last_verification} eq 'HASH' && $g->{last_verification}{verified}
    && ($g->{last_verification}{checked_at} // '') eq ($j->{checked_at} // 'x'),
    'last_verification is the answer just given';
my $verified_at = $g->{verified_at} // '';

# --- DKIM record removed -----------------------------------------------------------
publish($d, dkim => undef);
$r = verify($tok, $d);
verify_is($r, 'DKIM record removed: dkim fails with missing', domain => $NAME,
          dkim => 'fail', errors => ['dkim:missing'],
          error_host => { missing => "scaisend._domainkey.$NAME" });
$j = obj($r);
my ($e) = @{ $j->{errors} || [{}] };
like $e->{message} // '', qr/\Qscaisend._domainkey.$NAME\E/, 'the message names the host to publish at';
is $e->{expected}, $dkim, 'expected: the DKIM value to publish';
state_is($tok, $d, 'GET: unverified, DKIM row failed, SPF and DMARC still verified',
         verified => 0, last_verification => 1,
         status => { dkim => 'failed', spf => 'verified', dmarc => 'verified' });
$g = obj(get_domain($tok, $d));
ok !$g->{last_verification}{verified} && ($g->{last_verification}{checked_at} // '') eq $j->{checked_at},
    'last_verification is the failed answer';

# --- published again --------------------------------------------------------------
publish($d, dkim => $dkim);
$r = verify($tok, $d);
verify_is($r, 'DKIM published again: verified', domain => $NAME);
state_is($tok, $d, 'GET: verified again', verified => 1, last_verification => 1,
         status => { dkim => 'verified', spf => 'verified', dmarc => 'verified' });
$verified_at = obj(get_domain($tok, $d))->{verified_at} // '';

# --- the domain's nameservers fail (SERVFAIL): it stays verified -------------------
Apache::TestRequest::module('scaisend_servfail');
$r = verify($tok, $d);
Apache::TestRequest::module('default');
verify_is($r, 'SERVFAIL: every check temperror, the domain still verified', domain => $NAME,
          verified => 1, dkim => 'temperror', spf => 'temperror', dmarc => 'temperror',
          errors => [qw(dkim:dns_servfail spf:dns_servfail dmarc:dns_servfail)]);
$j = obj($r);
ok JSON::PP::is_bool($j->{verified}) && $j->{verified}, 'answer: verified true';
is_deeply [ map { $j->{checks}{$_}{status} } qw(dkim spf dmarc) ], [ ('temperror') x 3 ],
    'status temperror for the three checks';
like $j->{errors}[0]{message} // '', qr/SERVFAIL/, 'the message says SERVFAIL';
state_is($tok, $d, 'GET: still verified, rows still verified',
         verified => 1, status => { dkim => 'verified', spf => 'verified', dmarc => 'verified' });
$g = obj(get_domain($tok, $d));
is $g->{verified_at}, $verified_at, 'verified_at unchanged by the temporary failure';

# and through a working resolver again, nothing changed
$r = verify($tok, $d);
verify_is($r, 'working DNS again: verified', domain => $NAME);

knot_update('example.com', (map { ['unset', "$_->{host}.", 'TXT'] } @{ $d->{dns_records} }),
            ['unset', "$AUTH.", 'TXT']);
ok 1, 'records removed from the zone';
