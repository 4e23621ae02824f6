# The SPF check as a receiver's check_host() (RFC 7208), against real DNS
# (Knot): the domain's record is evaluated for ScaiSend's addresses, which
# the include's own record gives (scaisend.scailabs.ai: ip4:203.0.113.10
# ip6:2001:db8:5ca1::10, ScaiSend::DNS::SCAISEND_SPF), with every mechanism
# before the include really looked up (a, mx, ptr, exists), macros of the
# domain expanded (%{i} %{v} %{d} %{h}; %{h} is ScaiSendHeloName, by
# default the include's host) and message-dependent ones (%{l}) a warning;
# the limits of section 4.6.4 counted over the whole evaluation, the
# include's own record included. Each scenario: a fresh domain, DKIM and
# DMARC as returned, the SPF record and the zone data it needs, one
# verify; the exact statuses and codes, the stored state, and the advice
# of the message.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 75;

my $tok = token(sub => 'spfeval-admin', partner_id => 'p_vspfe', tenant_id => 't_vspfe',
                role => 'tenant_admin');
my $INCLUDE = 'scaisend.scailabs.ai';
my $INC = "include:$INCLUDE";
my ($V4, $V6) = (SCAISEND_V4, SCAISEND_V6);
my $REV4 = join('.', reverse split /\./, $V4) . '.in-addr.arpa';

# case($name, $sub, $spf, $setup (sub or undef), %expect) -> ($d, $r)
sub case {
    my ($name, $sub, $spf, $setup, %exp) = @_;
    return scenario($tok, $name, "$sub.example.com", publish => { spf => $spf },
                    ($setup ? (setup => $setup) : ()), expect => { spf => 'pass', %exp });
}
sub fail_with { return (spf => 'fail', errors => [ map { "spf:$_" } @_ ]) }
sub zone_ops {              # zone_ops([owner, type, rdata...], ...): a setup sub
    my (@rr) = @_;
    return sub {
        my %by;
        push @{ $by{ zone_of($_->[0]) } }, ['add', "$_->[0].", @$_[1 .. $#$_]] for @rr;
        knot_update($_, @{ $by{$_} }) for sort keys %by;
    };
}
sub err  { my ($r, $i) = @_; return obj($r)->{errors}[$i // 0] || {} }
sub warn0 { my ($r) = @_; return obj($r)->{warnings}[0] || {} }
sub both_hosts { my ($name) = @_; return ([$name, 'A', '192.0.2.99'], [$name, 'AAAA', '2001:db8::99']) }

# --- a ----------------------------------------------------------------------------------------
my ($d, $r) = case('-a before the include matches our IPv4 address', 'vx01', "v=spf1 -a $INC ~all",
                   zone_ops(['vx01.example.com', 'A', $V4]), fail_with('term_before_include'),
                   error_host => { term_before_include => 'vx01.example.com' });
like err($r)->{message}, qr/'-a' comes before \Q$INC\E and matches ScaiSend's address \Q$V4\E \(it is an address of vx01\.example\.com\), so receivers answer fail/,
    '... the term, the address (IPv4 only), why and the result';
unlike err($r)->{message}, qr/\Q$V6\E/, '... the IPv6 address passes, so it is not named';
is err($r)->{expected}, "v=spf1 $INC -a ~all", '... expected: the include first';
($d, $r) = case('+a authorises the IPv4 address only, ~all decides for IPv6', 'vx02', 'v=spf1 a ~all',
                zone_ops(['vx02.example.com', 'A', $V4]), fail_with('include_missing'));
like err($r)->{message}, qr/does not reach \Q$INC\E for ScaiSend's address \Q$V6\E: receivers reach '~all' in the SPF record of vx02\.example\.com and answer softfail/,
    '... per address: the IPv6 address reaches ~all';

# --- mx and its 10-name limit -----------------------------------------------------------------
my @mx11 = map { ['vx03.example.com', 'MX', "10 mx$_.vx03.example.com."] } 1 .. 11;
($d, $r) = case('mx with 11 names before the include', 'vx03', "v=spf1 mx $INC ~all",
                zone_ops(@mx11), fail_with('too_many_mx_names'),
                error_host => { too_many_mx_names => 'vx03.example.com' });
like err($r)->{message}, qr/'mx' in the SPF record of vx03\.example\.com, evaluated for ScaiSend's addresses \Q$V4\E and \Q$V6\E: vx03\.example\.com has 11 MX records.*more than 10 names.*put \Q$INC\E before that term/,
    '... counts them and says how to fix it';
case('mx with exactly 10 names passes on to the include', 'vx04', "v=spf1 mx $INC ~all",
     zone_ops(map { ['vx04.example.com', 'MX', "10 mx$_.vx04.example.com."] } 1 .. 10));
($d, $r) = case('-mx whose mail server is ScaiSend', 'vx05', "v=spf1 -mx:vx05-mail.example.net $INC ~all",
                zone_ops(['vx05-mail.example.net', 'MX', '10 out.vx05-mail.example.net.'],
                         ['out.vx05-mail.example.net', 'AAAA', $V6]),
                fail_with('term_before_include'));
like err($r)->{message}, qr/matches ScaiSend's address \Q$V6\E \(it is an address of the mail servers \(MX\) of vx05-mail\.example\.net\)/,
    '... the MX host\'s AAAA matched';

# --- ptr ---------------------------------------------------------------------------------------
($d, $r) = case('-ptr: the reverse name, forward-confirmed, is under the domain', 'vx06',
                "v=spf1 -ptr $INC ~all",
                zone_ops([$REV4, 'PTR', 'mta.vx06.example.com.'], ['mta.vx06.example.com', 'A', $V4]),
                fail_with('term_before_include'));
like err($r)->{message}, qr/'-ptr' comes before .*ScaiSend's address \Q$V4\E \(its reverse DNS name is under vx06\.example\.com\)/,
    '... the ptr message';
knot_unset(zone_of($REV4), "$REV4.", 'PTR');
case('-ptr: a reverse name that does not confirm does not match', 'vx07', "v=spf1 -ptr $INC ~all",
     zone_ops([$REV4, 'PTR', 'mta.vx07.example.com.'], ['mta.vx07.example.com', 'A', '192.0.2.1']));
knot_unset(zone_of($REV4), "$REV4.", 'PTR');
($d, $r) = case('ptr: 11 PTR names, receivers look at 10 (a warning)', 'vx08', "v=spf1 ptr:elsewhere.example.net $INC ~all",
                zone_ops(map { [$REV4, 'PTR', "h$_.vx08.example.com."] } 1 .. 11),
                warnings => ['spf:too_many_ptr_names']);
like warn0($r)->{message}, qr/'ptr:elsewhere\.example\.net' in the SPF record of vx08\.example\.com: the reverse DNS \(PTR\) of a ScaiSend address has 11 names, and receivers look at the first 10 only/,
    '... the warning counts the names';
knot_unset(zone_of($REV4), "$REV4.", 'PTR');

# --- exists and macros --------------------------------------------------------------------------
($d, $r) = case('exists with domain-only macros expanded (%{ir} %{v} %{d})', 'vx09',
                "v=spf1 ~exists:%{ir}.%{v}._spf.%{d} $INC -all",
                zone_ops(["10.113.0.203.in-addr._spf.vx09.example.com", 'A', '127.0.0.2']),
                fail_with('term_before_include'));
like err($r)->{message}, qr/'~exists:%\{ir\}\.%\{v\}\._spf\.%\{d\}' comes before \Q$INC\E and matches ScaiSend's address \Q$V4\E \(10\.113\.0\.203\.in-addr\._spf\.vx09\.example\.com exists\), so receivers answer softfail/,
    '... the expanded name and the result';
case('exists with macros that match nothing passes on', 'vx10', "v=spf1 -exists:%{ir}.%{v}._spf.%{d} $INC -all");
($d, $r) = case('%{h} is the HELO name (the include host by default)', 'vx11',
                "v=spf1 -exists:%{h}.vx11.example.net $INC ~all",
                zone_ops(["$INCLUDE.vx11.example.net", 'A', '127.0.0.2']), fail_with('term_before_include'));
like err($r)->{message}, qr/matches ScaiSend's addresses \Q$V4\E and \Q$V6\E \(\Q$INCLUDE\E\.vx11\.example\.net exists\)/,
    '... %{h} expanded to the HELO name, for both addresses';
($d, $r) = case('%{l} depends on the message: a warning, not a failure', 'vx12',
                "v=spf1 -exists:%{l}._spf.%{d} $INC ~all", undef, warnings => ['spf:message_macro']);
like warn0($r)->{message}, qr/'-exists:%\{l\}\._spf\.%\{d\}' in the SPF record of vx12\.example\.com uses %\{l\} \(the sender's local-part\), which depends on each message: the check cannot know whether receivers match it.*took it as not matching; put \Q$INC\E before it/,
    '... the warning says why and what to do';

# --- terms before the include with non-pass results ----------------------------------------------
($d, $r) = case('-ip4:<our address> before the include', 'vx13', "v=spf1 -ip4:$V4 $INC ~all", undef,
                fail_with('term_before_include'));
like err($r)->{message}, qr/in the SPF record of vx13\.example\.com, '-ip4:\Q$V4\E' comes before \Q$INC\E and matches ScaiSend's address \Q$V4\E \(its network holds it\), so receivers answer fail for mail from ScaiSend: remove that term or move \Q$INC\E before it/,
    '... names the term and the fix';
is err($r)->{expected}, "v=spf1 $INC -ip4:$V4 ~all", '... expected: the include first';
($d, $r) = case('?all before the include', 'vx14', "v=spf1 ?all $INC", undef, fail_with('include_after_all'));
like err($r)->{message}, qr/include:\Q$INCLUDE\E comes after '\?all'.*\(neutral for ScaiSend's addresses \Q$V4\E and \Q$V6\E\)/,
    '... neutral for both addresses';
($d, $r) = case('~all before the include', 'vx15', "v=spf1 ip4:192.0.2.1 ~all $INC", undef, fail_with('include_after_all'));
is err($r)->{expected}, "v=spf1 $INC ip4:192.0.2.1 ~all", '... expected: the include first';
($d, $r) = case('~all reached because the include is missing', 'vx16', 'v=spf1 ip4:192.0.2.1 ~all', undef,
                fail_with('include_missing'));
like err($r)->{message}, qr/receivers reach '~all' in the SPF record of vx16\.example\.com and answer softfail, so it does not authorise ScaiSend: publish: v=spf1 \Q$INC\E ip4:192\.0\.2\.1 ~all/,
    '... with the merged record';

# --- redirect chains ----------------------------------------------------------------------------
case('a redirect chain to the include', 'vx17', 'v=spf1 redirect=vx17-a.example.net', zone_ops(
     ['vx17-a.example.net', 'TXT', 'v=spf1 ip4:192.0.2.1 redirect=vx17-b.example.net'],
     ['vx17-b.example.net', 'TXT', "v=spf1 $INC -all"]));
($d, $r) = case('a redirect chain that loses the include', 'vx18', 'v=spf1 redirect=vx18-a.example.net', zone_ops(
                ['vx18-a.example.net', 'TXT', 'v=spf1 redirect=vx18-b.example.net'],
                ['vx18-b.example.net', 'TXT', 'v=spf1 ip4:192.0.2.1 -all']), fail_with('include_missing'));
like err($r)->{message}, qr/receivers reach '-all' in the SPF record of vx18-b\.example\.net \(reached by redirect=: vx18\.example\.com -> vx18-a\.example\.net -> vx18-b\.example\.net\) and answer fail/,
    '... names the chain';
is err($r)->{expected}, "v=spf1 $INC redirect=vx18-a.example.net", '... expected: the include before the redirect';

# --- limits ---------------------------------------------------------------------------------------
my @hosts = map { both_hosts("h$_.vx19-a.example.net") } 1 .. 8;
($d, $r) = case('nested includes: the include is the 11th lookup', 'vx19',
                "v=spf1 include:vx19-a.example.net $INC ~all",
                zone_ops(['vx19-a.example.net', 'TXT', 'v=spf1 include:vx19-b.example.net '
                          . join(' ', map { "a:h$_.vx19-a.example.net" } 1 .. 8) . ' -all'],
                         ['vx19-b.example.net', 'TXT', 'v=spf1 ip4:192.0.2.1 -all'], @hosts),
                fail_with('too_many_lookups'));
like err($r)->{message}, qr/needs more than 10 DNS lookups .*the limit was passed at '\Q$INC\E' in the SPF record of vx19\.example\.com\), so receivers fail SPF with a permanent error: put \Q$INC\E first/,
    '... where the limit was passed';
($d, $r) = case('void lookups: the third a: without an address', 'vx20',
                "v=spf1 a:nx1.vx20.example.com a:nx2.vx20.example.com a:nx3.vx20.example.com $INC ~all",
                undef, fail_with('too_many_void_lookups'),
                error_host => { too_many_void_lookups => 'nx3.vx20.example.com' });
like err($r)->{message}, qr/more than 2 DNS lookups find no data \(NXDOMAIN or no records; the last: nx3\.vx20\.example\.com, nxdomain, for 'a:nx3\.vx20\.example\.com' in the SPF record of vx20\.example\.com\)/,
    '... names the last void lookup';
($d, $r) = case('include of a name without an SPF record: a permanent error at once', 'vx21',
                "v=spf1 include:vx21-none.example.net $INC ~all", undef, fail_with('malformed'),
                error_host => { malformed => 'vx21-none.example.net' });
like err($r)->{message}, qr/'include:vx21-none\.example\.net' in the SPF record of vx21\.example\.com points at a name with no SPF record/,
    '... (receivers do not go on to the next term)';

# --- A through a CNAME into another zone (the client chases it) ---------------------------------
knot_cname('example.net', 'vx25-alias.example.net.', 'vx25-host.example.org.');
($d, $r) = case('-a: whose name is a CNAME to ScaiSend\'s address', 'vx25', "v=spf1 -a:vx25-alias.example.net $INC ~all",
                zone_ops(['vx25-host.example.org', 'A', $V4]), fail_with('term_before_include'));
like err($r)->{message}, qr/matches ScaiSend's address \Q$V4\E \(it is an address of vx25-alias\.example\.net\)/,
    '... the A record at the end of the CNAME';

# --- the include's own record counts -------------------------------------------------------------
# ScaiSend's record with one lookup of its own for a while (put back below)
my $heavy = "v=spf1 a:out.$INCLUDE ip4:$V4 ip6:$V6 ~all";
END { local $?; eval { knot_set('scailabs.ai', "$INCLUDE.", 'TXT', SCAISEND_SPF) } }
knot_update('scailabs.ai', ['set', "$INCLUDE.", 'TXT', $heavy],
            ['set', "out.$INCLUDE.", 'A', '198.51.100.7'], ['set', "out.$INCLUDE.", 'AAAA', '2001:db8:5ca1::77']);
my $nine = join ' ', map { "a:h$_.vx22.example.com" } 1 .. 9;
($d, $r) = case("the include's own a: is the 11th lookup", 'vx22', "v=spf1 $nine $INC ~all",
                zone_ops(map { both_hosts("h$_.vx22.example.com") } 1 .. 9), fail_with('too_many_lookups'));
like err($r)->{message}, qr/for ScaiSend's addresses 198\.51\.100\.7, 2001:db8:5ca1::77, \Q$V4\E and \Q$V6\E needs more than 10 DNS lookups .*ScaiSend's own included; the limit was passed at 'a:out\.\Q$INCLUDE\E' in the SPF record of \Q$INCLUDE\E\)/,
    '... at the a: of the include, for the four addresses it gives';
my $eight = join ' ', map { "a:h$_.vx23.example.com" } 1 .. 8;
case("8 lookups, the include and its own a: make 10: pass", 'vx23', "v=spf1 $eight $INC ~all",
     zone_ops(map { both_hosts("h$_.vx23.example.com") } 1 .. 8));
knot_update('scailabs.ai', ['set', "$INCLUDE.", 'TXT', SCAISEND_SPF], ['unset', "out.$INCLUDE."]);
is_deeply [ map { $_->{strings} ? join('', @{ $_->{strings} }) : () } @{ dns_query(name => $INCLUDE)->{answers} || [] } ],
    [SCAISEND_SPF], "ScaiSend's record put back";

# --- the include itself unusable: a temporary error, nothing changes --------------------------------
knot_set('scailabs.ai', "$INCLUDE.", 'TXT', 'v=spf1 exists:%{i}.x.example ~all');
($d, $r) = case("an include that names no address: temperror, not the domain's fault", 'vx24',
                "v=spf1 $INC ~all", undef, spf => 'temperror', verified => 0,
                errors => ['spf:include_unavailable'], error_host => { include_unavailable => $INCLUDE });
like err($r)->{message}, qr/ScaiSend's own SPF record at \Q$INCLUDE\E.*cannot be used \(it names no ip4, ip6, a or mx addresses with pass\); this is not a problem of the record at vx24\.example\.com\. Nothing was changed/,
    '... says whose problem it is';
knot_set('scailabs.ai', "$INCLUDE.", 'TXT', SCAISEND_SPF);
