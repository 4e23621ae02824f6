# Verification when the DNS misbehaves (timeouts, SERVFAIL, REFUSED,
# truncation without TCP -- the t/dns/bad-dns servers behind the
# scaisend_<mode> virtual hosts), answers that need TCP, a Unicode domain,
# idempotency, and the rule that at most one record of a name is verified
# (verified_elsewhere).  Temporary failures answer temperror and never turn a
# verified domain unverified nor change the rows' status.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use JSON::PP ();
use Time::HiRes qw(time);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

{
    my $tb = Test::More->builder;
    binmode $tb->$_, ':encoding(UTF-8)' for qw(output failure_output todo_output);
}

plan tests => 48;

my $tok = token(sub => 'fail-admin', partner_id => 'p_vfail', tenant_id => 't_vfail',
                role => 'tenant_admin');
my $tok_b = token(sub => 'fail-admin-b', partner_id => 'p_vfail', tenant_id => 't_vfail_b',
                  role => 'tenant_admin');
my $BUDGET = 3.0;          # ScaiSendVerifyBudget 3000 (t/conf/extra.conf.in)
my %TEMP = (silent => 'dns_timeout', servfail => 'dns_servfail', refused => 'dns_refused',
            truncate => 'dns_truncated');
my %ALL_VERIFIED = (dkim => 'verified', spf => 'verified', dmarc => 'verified');

# verify through the scaisend_<mode> virtual host; returns ($r, elapsed).
sub verify_via {
    my ($mode, $tok, $d) = @_;
    Apache::TestRequest::module("scaisend_$mode");
    my $t0 = time;
    my $r = eval { verify($tok, $d) };
    my $elapsed = time - $t0;
    Apache::TestRequest::module('default');
    die $@ unless $r;
    return ($r, $elapsed);
}
sub temp_expect {
    my ($mode, $verified) = @_;
    return (verified => $verified, dkim => 'temperror', spf => 'temperror', dmarc => 'temperror',
            errors => [ map { "$_:$TEMP{$mode}" } qw(dkim spf dmarc) ]);
}
sub without_checked_at {
    my ($j) = @_;
    my %c = %{ $j || {} };
    delete $c{checked_at};
    delete $c{previous_state};    # the state before this run (§9): the first run's is pending
    return \%c;
}

# --- temporary failures on a domain never verified -------------------------------------
my $n = 0;
for my $mode (qw(silent servfail refused truncate)) {
    $n++;
    my $d = new_domain($tok, "vf0$n.example.com");
    publish_all($d);
    my ($r, $elapsed) = verify_via($mode, $tok, $d);
    verify_is($r, "$mode nameserver: every check temperror with $TEMP{$mode}", domain => $d->{domain},
              temp_expect($mode, 0));
    state_is($tok, $d, "$mode: nothing stored as failed (rows still pending)",
             verified => 0, status => { dkim => 'pending', spf => 'pending', dmarc => 'pending' });
    if ($mode eq 'silent') {
        ok $elapsed <= $BUDGET + 1, sprintf('silent nameserver: the answer came within the budget + 1 s '
                                            . '(%.2f s)', $elapsed);
    }
}

# --- temporary failures on a verified domain: it stays verified -----------------------------
my $dv = new_domain($tok, 'vf05.example.com');
publish_all($dv);
verify_is(verify($tok, $dv), 'vf05 verified through Knot', domain => 'vf05.example.com');
my $verified_at = obj(get_domain($tok, $dv))->{verified_at};
for my $mode (qw(silent servfail refused truncate)) {
    my ($r) = verify_via($mode, $tok, $dv);
    verify_is($r, "verified domain, $mode nameserver: temperror, still verified",
              domain => 'vf05.example.com', temp_expect($mode, 1));
    state_is($tok, $dv, "verified domain after $mode: verified, rows verified",
             verified => 1, status => \%ALL_VERIFIED);
}
is obj(get_domain($tok, $dv))->{verified_at}, $verified_at, 'verified_at unchanged by the temporary failures';

# --- a failed domain stays failed through a temporary failure --------------------------------
my $df = new_domain($tok, 'vf06.example.com');
publish_all($df, dkim => undef);
verify_is(verify($tok, $df), 'vf06: DKIM missing', domain => 'vf06.example.com',
          dkim => 'fail', errors => ['dkim:missing']);
my ($r) = verify_via('refused', $tok, $df);
verify_is($r, 'vf06 through a refusing nameserver: temperror', domain => 'vf06.example.com',
          temp_expect('refused', 0));
state_is($tok, $df, 'vf06: rows keep their conclusive status (DKIM failed, others verified)',
         verified => 0, status => { dkim => 'failed', spf => 'verified', dmarc => 'verified' });

# --- an answer larger than 1232 bytes: TCP to Knot -------------------------------------------
{
    my ($d) = scenario($tok, 'DKIM record with a long extra tag (answer > 1232 bytes, needs TCP)',
                       'vf07.example.com', setup => sub {
        my ($d) = @_;
        my ($key) = rec_value($d, 'dkim') =~ /p=(\S+)\z/;
        publish($d, dkim => 'v=DKIM1; k=rsa; n=' . ('long-note-' x 110) . "; p=$key");
    }, expect => {});
    my $q = dns_query(name => record($d, 'dkim')->{host}, edns => 1232);
    ok $q->{tc}, 'the same lookup over UDP with a 1232-byte buffer is truncated (TC=1)';
}

# --- a Unicode domain ----------------------------------------------------------------------------
{
    my $d = new_domain($tok, 'bücher.example');
    ok +($d->{domain} // '') eq 'xn--bcher-kva.example' && ($d->{domain_unicode} // '') eq 'bücher.example',
        'bücher.example is stored as xn--bcher-kva.example (domain_unicode bücher.example)'
        or diag explain $d;
    is_deeply [ map { $_->{host} } @{ $d->{dns_records} || [] } ],
        [ 'scaisend._domainkey.xn--bcher-kva.example', 'xn--bcher-kva.example', '_dmarc.xn--bcher-kva.example' ],
        'its records are under the A-label name';
    publish_all($d);
    verify_is(verify($tok, $d), 'bücher.example with records under the A-label: verified',
              domain => 'xn--bcher-kva.example');
    state_is($tok, $d, 'bücher.example: verified, rows verified', verified => 1, status => \%ALL_VERIFIED);
}

# --- idempotency -----------------------------------------------------------------------------------
for my $case ([ 'vf08', 'passing', {} ], [ 'vf09', 'failing (SPF without the include)',
                                           { spf => 'v=spf1 mx -all' } ]) {
    my ($sub, $what, $over) = @$case;
    my $d = new_domain($tok, "$sub.example.com");
    publish_all($d, %$over);
    my $r1 = verify($tok, $d);
    my $g1 = obj(get_domain($tok, $d));
    my $r2 = verify($tok, $d);
    my $g2 = obj(get_domain($tok, $d));
    ok $r1->{status} == 200 && $r2->{status} == 200
        && JSON::PP->new->canonical->encode(without_checked_at(obj($r1)))
           eq JSON::PP->new->canonical->encode(without_checked_at(obj($r2))),
        "$what domain verified twice: the same answer apart from checked_at and previous_state"
        or diag describe($r1), "\n", describe($r2);
    is obj($r2)->{previous_state}, obj($r1)->{verification_state},
        "$what domain verified twice: the second run starts from the first run's state";
    my @same = qw(verified dns_records dmarc_policy is_active dkim_selector);
    is_deeply { map { $_ => $g2->{$_} } @same }, { map { $_ => $g1->{$_} } @same },
        "$what domain verified twice: the stored state is unchanged";
    ok !!$g2->{verified} == !!($sub eq 'vf08') && !!defined($g2->{verified_at}) == !!($sub eq 'vf08'),
        "$what domain: verified and verified_at as expected";
}

# --- at most one record of a name verified (verified_elsewhere) ------------------------------------
{
    my $name = 'vf10.example.com';
    my $da = new_domain($tok, $name);
    my $db = new_domain($tok_b, $name);
    ok !$da->{error} && !$db->{error} && $da->{id} ne $db->{id},
        'two tenants hold vf10.example.com (unverified names are not locked)';
    publish_all($da);
    verify_is(verify($tok, $da), 'tenant A publishes its key and verifies: verified', domain => $name);
    verify_is(verify($tok_b, $db), "tenant B verifies with A's key published: key_mismatch",
              domain => $name, dkim => 'fail', errors => ['dkim:key_mismatch']);
    state_is($tok_b, $db, 'tenant B: not verified, its DKIM row failed', verified => 0,
             status => { dkim => 'failed', spf => 'verified', dmarc => 'verified' });
    publish($db, dkim => rec_value($db, 'dkim'));        # B's key instead of A's
    my $r = verify($tok_b, $db);
    verify_is($r, 'tenant B passes all three checks while A is verified: verified_elsewhere',
              domain => $name, dkim => 'fail', errors => ['dkim:verified_elsewhere']);
    state_is($tok_b, $db, 'tenant B: still not verified', verified => 0,
             status => { dkim => 'failed', spf => 'verified', dmarc => 'verified' });
    state_is($tok, $da, 'tenant A: still verified (not re-checked)', verified => 1, status => \%ALL_VERIFIED);
    verify_is(verify($tok, $da), "tenant A re-verifies with B's key published: key_mismatch, unverified",
              domain => $name, dkim => 'fail', errors => ['dkim:key_mismatch']);
    verify_is(verify($tok_b, $db), 'now tenant B verifies: verified', domain => $name);
    state_is($tok_b, $db, 'tenant B: verified', verified => 1, status => \%ALL_VERIFIED);
    state_is($tok, $da, 'tenant A: not verified', verified => 0,
             status => { dkim => 'failed', spf => 'verified', dmarc => 'verified' });
}
