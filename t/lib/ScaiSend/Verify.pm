package ScaiSend::Verify;

# Helpers for the verification tests (t/verify/*.t): create a domain, publish
# its records in Knot, verify, and assert the answer and the stored state.
#
#   use ScaiSend::Verify qw(:all);
#   my $d = new_domain($tok, 'v01.example.com');       # the created domain (JSON)
#   publish_all($d);                                   # its 3 records, as returned
#   my $r = verify($tok, $d);
#   verify_is($r, 'valid', dkim => 'pass', spf => 'pass', dmarc => 'pass');
#   state_is($tok, $d, 'valid: state', verified => 1,
#            status => { dkim => 'verified', spf => 'verified', dmarc => 'verified' });
#
# verify_is and state_is each run exactly ONE Test::More test.

use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();
use Test::More ();
use ScaiSend::Test qw(api);
use ScaiSend::DNS qw(knot_update zone_of);
use ScaiSend::Assert qw(describe);

our @EXPORT_OK = qw(obj new_domain record rec_value publish publish_all verify
                    get_domain verify_is state_is codes scenario expected_state
                    SPF_OK);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

use constant SPF_OK => 'v=spf1 include:scaisend.scailabs.ai ~all';

sub obj { ref $_[0]{json} eq 'HASH' ? $_[0]{json} : {} }

# new_domain($tok, $name, %body) -> the created domain (decoded JSON), or a
# hash with only {error => describe(...)} when the create failed (the caller's
# assertions then fail with that text).
sub new_domain {
    my ($tok, $name, %body) = @_;
    my $r = api(POST => 'domains', token => $tok, json => { domain => $name, %body });
    return { error => describe($r), domain => $name, id => 'none', dns_records => [] }
        unless $r->{status} == 201;
    return obj($r);
}

# The dns_records row of a purpose ('dkim', 'spf', 'dmarc').
sub record {
    my ($d, $purpose) = @_;
    for my $row (@{ $d->{dns_records} || [] }) {
        return $row if ($row->{purpose} // '') eq $purpose;
    }
    return { host => "no-$purpose-row." . ($d->{domain} // 'x.example.com'), value => '' };
}
sub rec_value { return record(@_)->{value} }

# publish($d, purpose => value, ...): set those TXT records at the rows'
# hosts (value: string, [strings] for one RR of those character-strings,
# or undef to remove the RRset).  One knotc transaction per zone.
sub publish {
    my ($d, %what) = @_;
    my %ops;
    for my $purpose (sort keys %what) {
        my $host = record($d, $purpose)->{host};
        my $zone = zone_of($host) or die "no zone for $host";
        push @{ $ops{$zone} }, defined $what{$purpose}
            ? ['set', "$host.", 'TXT', $what{$purpose}]
            : ['unset', "$host.", 'TXT'];
    }
    knot_update($_, @{ $ops{$_} }) for sort keys %ops;
    return 1;
}

# The three records exactly as returned (DKIM split into 255-byte strings by
# ScaiSend::DNS, as a provider would); overrides as for publish.
sub publish_all {
    my ($d, %over) = @_;
    my %what = map { $_ => rec_value($d, $_) } qw(dkim spf dmarc);
    return publish($d, %what, %over);
}

sub verify {
    my ($tok, $d, %opt) = @_;
    my $id = ref $d ? $d->{id} : $d;
    return api(POST => "domains/$id/verify", token => $tok, %opt);
}

sub get_domain {
    my ($tok, $d) = @_;
    my $id = ref $d ? $d->{id} : $d;
    return api(GET => "domains/$id", token => $tok);
}

# "check:code" of each finding, in order.
sub codes {
    my ($list) = @_;
    return [ map { ref $_ eq 'HASH' ? ($_->{check} // '?') . ':' . ($_->{code} // '?') : '?' }
             @{ ref $list eq 'ARRAY' ? $list : [] } ];
}

sub _bool_is {
    my ($v, $want) = @_;
    return JSON::PP::is_bool($v) && (!!$v == !!$want);
}

# verify_is($r, $name, %exp): one test.
#   dkim/spf/dmarc => 'pass'|'fail'|'temperror'   (checks.X.status; the
#                     booleans dkim_verified, spf_verified, txt_verified and
#                     dmarc_verified must be status eq 'pass')
#   verified => 0|1        (default: all three pass)
#   errors   => ['dkim:missing', ...]   exact list, in order (default [])
#   warnings => [...]                   exact list (default [])
#   error_host => { code => host }      host of the first error with that code
#   domain   => 'v01.example.com'       the answer's domain
sub verify_is {
    my ($r, $name, %e) = @_;
    my @why;
    my $j = obj($r);
    push @why, "status $r->{status}, expected 200" unless $r->{status} == 200;
    my $ct = $r->{headers} ? ($r->{headers}->header('Content-Type') // '') : '';
    push @why, "Content-Type '$ct'" unless $ct =~ m{\Aapplication/json\s*(?:;|\z)}i;
    my %st = map { $_ => $e{$_} // 'pass' } qw(dkim spf dmarc);
    my $verified = $e{verified} // (!grep { $_ ne 'pass' } values %st);
    push @why, "verified is not JSON " . ($verified ? 'true' : 'false')
        unless _bool_is($j->{verified}, $verified);
    my %bool = (dkim_verified => 'dkim', spf_verified => 'spf',
                txt_verified => 'dmarc', dmarc_verified => 'dmarc');
    for my $k (sort keys %bool) {
        my $want = $st{ $bool{$k} } eq 'pass';
        push @why, "$k is not JSON " . ($want ? 'true' : 'false')
            unless _bool_is($j->{$k}, $want);
    }
    for my $c (qw(dkim spf dmarc)) {
        my $got = ref $j->{checks} eq 'HASH' && ref $j->{checks}{$c} eq 'HASH'
                  ? $j->{checks}{$c}{status} // '(none)' : '(no check)';
        push @why, "checks.$c.status '$got', expected '$st{$c}'" if $got ne $st{$c};
    }
    for my $list (qw(errors warnings)) {
        my $got = codes($j->{$list});
        my $want = $e{$list} // [];
        push @why, "$list [@$got], expected [@$want]"
            unless ref $j->{$list} eq 'ARRAY' && "@$got" eq "@$want";
        for my $f (ref $j->{$list} eq 'ARRAY' ? @{ $j->{$list} } : ()) {
            push @why, "$list: a finding without a message"
                unless defined $f->{message} && !ref $f->{message} && length $f->{message};
        }
    }
    for my $code (sort keys %{ $e{error_host} || {} }) {
        my ($f) = grep { ($_->{code} // '') eq $code } @{ ref $j->{errors} eq 'ARRAY' ? $j->{errors} : [] };
        my $h = $f ? $f->{host} // '(none)' : '(no such error)';
        push @why, "error $code: host '$h', expected '$e{error_host}{$code}'"
            if $h ne $e{error_host}{$code};
    }
    if (defined $e{domain}) {
        push @why, "domain '" . ($j->{domain} // '(none)') . "', expected '$e{domain}'"
            if ($j->{domain} // '') ne $e{domain};
    }
    push @why, 'checked_at missing' unless defined $j->{checked_at};
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::ok(!@why, $name);
    Test::More::diag(join("\n", @why, describe($r))) unless $ok;
    return $ok;
}

# What GET domain must show after a verification of a fresh domain with
# these check statuses (temperror leaves a row's status 'pending').
sub expected_state {
    my (%st) = @_;
    my %map = (pass => 'verified', fail => 'failed', temperror => 'pending');
    my %status = map { $_ => $map{ $st{$_} // 'pass' } } qw(dkim spf dmarc);
    my $verified = !grep { ($st{$_} // 'pass') ne 'pass' } qw(dkim spf dmarc);
    return (verified => $verified, status => \%status);
}

# state_is($tok, $d, $name, verified => 0|1, status => {dkim, spf, dmarc},
#          last_verification => 1 (present) | 0 (null), verified_at => 1|0):
# one test on GET /domains/{id}.  The DKIM row checked is the active key's.
sub state_is {
    my ($tok, $d, $name, %e) = @_;
    my $r = get_domain($tok, $d);
    my $j = obj($r);
    my @why;
    push @why, "GET status $r->{status}" unless $r->{status} == 200;
    push @why, "verified is not JSON " . ($e{verified} ? 'true' : 'false')
        unless _bool_is($j->{verified}, $e{verified});
    for my $p (sort keys %{ $e{status} || {} }) {
        my ($row) = grep { ($_->{purpose} // '') eq $p
                           && ($p ne 'dkim' || ($_->{key_state} // 'active') eq 'active') }
                    @{ $j->{dns_records} || [] };
        my $got = $row ? $row->{status} // '(none)' : '(no row)';
        push @why, "dns_records $p status '$got', expected '$e{status}{$p}'"
            if $got ne $e{status}{$p};
    }
    my $va = defined $j->{verified_at};
    my $want_va = $e{verified_at} // $e{verified};
    push @why, 'verified_at ' . ($va ? "set ($j->{verified_at})" : 'null')
             . ', expected ' . ($want_va ? 'set' : 'null')
        if !!$va != !!$want_va;
    if (defined $e{last_verification}) {
        my $lv = ref $j->{last_verification} eq 'HASH';
        push @why, 'last_verification ' . ($lv ? 'present' : 'absent')
            if !!$lv != !!$e{last_verification};
    }
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::ok(!@why, $name);
    Test::More::diag(join("\n", @why, describe($r))) unless $ok;
    return $ok;
}

# scenario($tok, $name, $domain, %o): a fresh domain, its records published
# as returned (publish => {purpose => value|undef} overrides them), then
# setup->($d) if given, one verify; two tests: the answer (verify_is with
# %{ $o{expect} }) and the state (state_is, derived from the statuses unless
# state => {...} is given).  Returns ($d, $r).
sub scenario {
    my ($tok, $name, $domain, %o) = @_;
    my $d = new_domain($tok, $domain, %{ $o{create} || {} });
    if ($d->{error}) {
        Test::More::diag("create $domain failed: $d->{error}");
    } else {
        publish_all($d, %{ $o{publish} || {} }) unless $o{no_publish};
        $o{setup}->($d) if $o{setup};
    }
    my $r = verify($tok, $d);
    my %exp = %{ $o{expect} || {} };
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    verify_is($r, $name, domain => $d->{domain}, %exp);
    my %state = $o{state} ? %{ $o{state} } : expected_state(%exp);
    $state{verified} = $exp{verified} if !$o{state} && defined $exp{verified};
    my $conclusive = !grep { ($exp{$_} // 'pass') eq 'temperror' } qw(dkim spf dmarc);
    state_is($tok, $d, "$name: stored state", ($conclusive ? (last_verification => 1) : ()),
             %state);
    return ($d, $r);
}

1;
