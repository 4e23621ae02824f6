# The SPF check against real DNS (Knot), RFC 7208: exactly one v=spf1 record
# at the domain reaching include:scaisend.scailabs.ai with a pass qualifier
# before any all -- directly, through nested includes (across example.net and
# scailabs.ai) or redirect= -- within 10 DNS-querying terms and 2 void
# lookups; syntax errors fail; the messages give the record to publish.
# (The check evaluates the record with check_host() for the addresses of
# the include's own record, ScaiSend::DNS::SCAISEND_SPF; t/verify/spf_eval.t
# has the scenarios of that evaluation.)
# Every scenario: a fresh domain, DKIM and DMARC published as returned, the
# SPF record as the scenario says, one verify, the answer and the stored state.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 67;

my $tok = token(sub => 'spf-admin', partner_id => 'p_vspf', tenant_id => 't_vspf',
                role => 'tenant_admin');
my $INC = 'include:scaisend.scailabs.ai';

# spf_case($name, $sub, $spf_rdata (string, [strings], or undef: none),
#          $extra (sub: more records to publish) , %expect)
sub spf_case {
    my ($name, $sub, $spf, $extra, %exp) = @_;
    return scenario($tok, $name, "$sub.example.com",
                    publish => { spf => $spf },
                    ($extra ? (setup => $extra) : ()),
                    expect => { spf => 'pass', %exp });
}
sub fail_with { return (spf => 'fail', errors => [ map { "spf:$_" } @_ ]) }
sub txt_at { my ($name, @rr) = @_; return sub { knot_set(zone_of($name), "$name.", 'TXT', @rr) } }
# A, AAAA and MX records at a name, so that its a and mx terms are no void
# lookups (receivers fail SPF at the third, RFC 7208 4.6.4)
sub hosts_at {
    my ($name, $then) = @_;
    return sub {
        knot_update(zone_of($name), ['set', "$name.", 'A', '192.0.2.99'],
                    ['set', "$name.", 'AAAA', '2001:db8::99'], ['set', "$name.", 'MX', "10 mx.$name."]);
        $then->() if $then;
    };
}
sub first_error { my ($r) = @_; return obj($r)->{errors}[0] || {} }

# --- passes ------------------------------------------------------------------------
spf_case('the record as returned', 'vs01', SPF_OK);
spf_case('include among other terms', 'vs02', "v=spf1 ip4:192.0.2.0/24 mx $INC -all");
spf_case('nested include chain (example.net -> scailabs.ai -> the include)', 'vs03',
         'v=spf1 include:vs03-spf.example.net ~all', sub {
             txt_at('vs03-spf.example.net', 'v=spf1 ip4:198.51.100.0/24 include:vs03.scailabs.ai -all')->();
             txt_at('vs03.scailabs.ai', "v=spf1 $INC -all")->();
         });
spf_case('redirect= to a record with the include', 'vs04', 'v=spf1 redirect=vs04-spf.example.net',
         txt_at('vs04-spf.example.net', "v=spf1 $INC ~all"));
spf_case('redirect= into scailabs.ai', 'vs05', 'v=spf1 ip4:192.0.2.1 redirect=vs05.scailabs.ai',
         txt_at('vs05.scailabs.ai', "v=spf1 $INC -all"));
spf_case('V=SPF1 in upper case', 'vs06', "V=SPF1 $INC ~all");
spf_case('explicit + qualifier', 'vs07', "v=spf1 +$INC ~all");
spf_case('upper-case include with a trailing dot', 'vs08', 'v=spf1 INCLUDE:Scaisend.Scailabs.AI. ~all');
spf_case('record split into two strings', 'vs09', [ "v=spf1 $INC", ' ~all' ]);
spf_case('an unrelated TXT record next to it', 'vs10', undef,
         txt_at('vs10.example.com', 'site-verification=vs10abc', SPF_OK));
spf_case('exactly 10 DNS-querying terms', 'vs11', "v=spf1 a mx a mx a mx a mx a $INC ~all",
         hosts_at('vs11.example.com'));

# --- include not reached --------------------------------------------------------------
(my $d, my $r) = spf_case('SPF without the include', 'vs12', 'v=spf1 ip4:192.0.2.0/24 mx -all', undef,
                          fail_with('include_missing'), error_host => { include_missing => 'vs12.example.com' });
my $merged = "v=spf1 $INC ip4:192.0.2.0/24 mx -all";
is first_error($r)->{expected}, $merged, 'include_missing: expected is the merged record';
like first_error($r)->{message} // '', qr/\Q$merged\E/, '... and the message holds it';
spf_case('-all before the include', 'vs13', "v=spf1 -all $INC", undef, fail_with('include_after_all'));
spf_case('?include never passes', 'vs14', "v=spf1 ?$INC ~all", undef, fail_with('include_missing'));
spf_case('-include never passes', 'vs15', "v=spf1 -$INC ~all", undef, fail_with('include_missing'));
spf_case('~include never passes', 'vs16', "v=spf1 ~$INC ~all", undef, fail_with('include_missing'));
spf_case('redirect= ignored when the record has an all', 'vs17',
         'v=spf1 ip4:192.0.2.1 ~all redirect=vs17-spf.example.net',
         txt_at('vs17-spf.example.net', "v=spf1 $INC ~all"), fail_with('include_missing'));
spf_case('nested include without ours', 'vs18', 'v=spf1 include:vs18-spf.example.net ~all',
         txt_at('vs18-spf.example.net', 'v=spf1 ip4:192.0.2.1 -all'), fail_with('include_missing'));
spf_case('ours reached only through ~include', 'vs19', 'v=spf1 ~include:vs19-spf.example.net ~all',
         txt_at('vs19-spf.example.net', "v=spf1 $INC -all"), fail_with('include_missing'));
spf_case('redirect= to a record without ours', 'vs20', 'v=spf1 redirect=vs20-spf.example.net',
         txt_at('vs20-spf.example.net', 'v=spf1 mx -all'), fail_with('include_missing'));

# --- not SPF, missing, several ----------------------------------------------------------
spf_case('v=spf10 is not SPF', 'vs21', "v=spf10 $INC ~all", undef, fail_with('missing'));
($d, $r) = spf_case('no SPF record', 'vs22', undef, undef, fail_with('missing'));
is first_error($r)->{expected}, SPF_OK, 'missing: expected is the record to publish';
($d, $r) = spf_case('two SPF records', 'vs23', undef,
                    txt_at('vs23.example.com', SPF_OK, 'v=spf1 ip4:192.0.2.1 include:vs23-other.example.net ~all'),
                    fail_with('multiple_records'));
my $e = first_error($r);
ok +($e->{expected} // '') =~ /\Av=spf1 \Q$INC\E / && $e->{expected} =~ / ip4:192\.0\.2\.1 /
    && $e->{expected} =~ / include:vs23-other\.example\.net / && $e->{expected} =~ / ~all\z/
    && ($e->{expected} =~ s/\Q$INC\E//gr) !~ /scaisend/,
    'multiple_records: expected merges them (our include once, first, one all)'
    or diag explain $e;
like $e->{message} // '', qr/merge/, '... and the message says to merge them';
spf_case('value pasted with its quotes', 'vs24', '"' . SPF_OK . '"', undef, fail_with('quoted_value'));

# --- syntax --------------------------------------------------------------------------------
spf_case('syntax error: ip4 address out of range', 'vs25', "v=spf1 $INC ip4:999.0.0.1 ~all", undef,
         fail_with('malformed'));
spf_case('syntax error: unknown mechanism', 'vs26', "v=spf1 $INC foo ~all", undef, fail_with('malformed'));
spf_case('syntax error in a nested record', 'vs27', "v=spf1 include:vs27-spf.example.net $INC ~all",
         txt_at('vs27-spf.example.net', 'v=spf1 ip4:192.0.2.1/33 -all'), fail_with('malformed'));

# --- limits ----------------------------------------------------------------------------------
spf_case('11 DNS-querying terms', 'vs28', "v=spf1 a mx a mx a mx a mx a mx $INC ~all",
         hosts_at('vs28.example.com'), fail_with('too_many_lookups'));
spf_case('11 lookups through a nested include', 'vs29', "v=spf1 include:vs29-spf.example.net $INC ~all",
         hosts_at('vs29-spf.example.net', txt_at('vs29-spf.example.net', 'v=spf1 a mx a mx a mx a mx a -all')),
         fail_with('too_many_lookups'));
spf_case('include loop', 'vs30', 'v=spf1 include:vs30-spf.example.net ~all',
         txt_at('vs30-spf.example.net', 'v=spf1 include:vs30.example.com -all'), fail_with('too_many_lookups'));
spf_case('3 void lookups', 'vs31',
         "v=spf1 a:vs31-nx1.example.net a:vs31-nx2.example.net a:vs31-nx3.example.net $INC ~all",
         undef, fail_with('too_many_void_lookups'));
