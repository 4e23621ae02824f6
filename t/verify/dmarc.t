# The DMARC check against real DNS (Knot), RFC 9989 (DMARCbis): exactly one
# record starting v=DMARC1 at _dmarc.<domain> with a valid p= (and sp=, np=,
# adkim=, ... when present); a p= other than the domain's dmarc_policy and an
# rua on another organisational domain (found by the RFC 9989 DNS tree walk)
# without its RFC 9990 authorisation record are warnings, not failures.
# Every scenario: a fresh domain, DKIM and SPF published as returned, the
# DMARC record as the scenario says, one verify, the answer and the stored
# state.  The RFC 9989 rules in more detail: dmarc_bis.t.
#
# Changed by RFC 9989 (they were RFC 7489 expectations):
#  - vd07: example.com publishes no DMARC record, so it is not the
#    organisational domain of vd07.example.com (section 4.10.2): the rua
#    dmarc@example.com needs the authorisation record (warning);
#  - vd19: pct= was removed (Appendix C.5.2): pct=150 is a removed_tag
#    warning, no longer malformed;
#  - vd22: a record without p= is treated as p=none when rua= holds a valid
#    address (sections 4.7 and 4.10.1): a pass with a policy_missing warning.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 58;

my $tok = token(sub => 'dmarc-admin', partner_id => 'p_vdmarc', tenant_id => 't_vdmarc',
                role => 'tenant_admin');

# dmarc_case($name, $sub, \%create, $rdata (code ref on $d, or a value; undef:
#            none), $extra (sub on $d, more records), %expect)
sub dmarc_case {
    my ($name, $sub, $create, $value, $extra, %exp) = @_;
    return scenario($tok, $name, "$sub.example.com", create => $create,
                    setup => sub {
                        my ($d) = @_;
                        publish($d, dmarc => ref $value eq 'CODE' ? $value->($d) : $value);
                        $extra->($d) if $extra;
                    },
                    expect => { dmarc => 'pass', %exp });
}
sub as_returned { return rec_value($_[0], 'dmarc') }
sub fail_with { return (dmarc => 'fail', errors => [ map { "dmarc:$_" } @_ ]) }
sub warn_with { return (warnings => [ map { "dmarc:$_" } @_ ]) }
sub auth_record {    # the §7.1 record <domain>._report._dmarc.example.net
    my (@rr) = @_;
    return sub { my ($d) = @_; knot_set('example.net', "$d->{domain}._report._dmarc.example.net.", 'TXT', @rr) };
}

my ($d0, $r0);

# --- passes ------------------------------------------------------------------------------
dmarc_case('p=none as returned', 'vd01', {}, \&as_returned);
dmarc_case('p=quarantine as returned (domain set to quarantine)', 'vd02', { dmarc_policy => 'quarantine' },
           \&as_returned);
dmarc_case('upper-case tag names (V=DMARC1; P=None)', 'vd03', {}, 'V=DMARC1; P=None');
dmarc_case('DMARCbis tags (np=, psd=, t=)', 'vd04', {}, 'v=DMARC1; p=none; np=reject; psd=n; t=y');
dmarc_case('an unrelated TXT record next to it', 'vd05', {}, undef,
           sub { my ($d) = @_; knot_set('example.com', "_dmarc.$d->{domain}.", 'TXT',
                                        'some-other-token=vd05', as_returned($d)) });
dmarc_case('record split into two strings', 'vd06', {}, [ 'v=DMARC1; ', 'p=none' ]);
($d0, $r0) = dmarc_case('rua on the parent, which publishes no DMARC record: another organisational domain',
                        'vd07', { dmarc_rua_email => 'dmarc@example.com' }, \&as_returned, undef,
                        warn_with('rua_not_authorised'));
like obj($r0)->{warnings}[0]{message} // '',
    qr/\Qvd07.example.com._report._dmarc.example.com\E.*\Qpublish a DMARC record at _dmarc.example.com\E/,
    'vd07: the warning names the authorisation record, or a DMARC record at the parent';
dmarc_case('rua on a subdomain of the domain: same organisational domain, no authorisation', 'vd25',
           { dmarc_rua_email => 'reports@r.vd25.example.com' }, \&as_returned);
dmarc_case('_dmarc is a CNAME into another zone', 'vd08', {}, undef, sub {
    my ($d) = @_;
    knot_set('zone-b.test', 'vd08-dmarc.zone-b.test.', 'TXT', 'v=DMARC1; p=none');
    knot_cname('example.com', "_dmarc.$d->{domain}.", 'vd08-dmarc.zone-b.test.');
});

# --- warnings: still a pass -------------------------------------------------------------------
(my $d, my $r) = dmarc_case('p= differs from the domain\'s dmarc_policy', 'vd09', { dmarc_policy => 'reject' },
                            'v=DMARC1; p=none', undef, warn_with('policy_mismatch'));
is obj($r)->{warnings}[0]{expected}, 'v=DMARC1; p=reject', 'policy_mismatch: expected has the configured p=';
($d, $r) = dmarc_case('external rua without its authorisation record', 'vd10',
                      { dmarc_rua_email => 'reports@example.net' }, \&as_returned, undef,
                      warn_with('rua_not_authorised'));
like obj($r)->{warnings}[0]{message} // '', qr/\Qvd10.example.com._report._dmarc.example.net\E/,
    'rua_not_authorised: the message names the record the rua domain must publish';
dmarc_case('external rua with its authorisation record', 'vd11', { dmarc_rua_email => 'reports@example.net' },
           \&as_returned, auth_record('v=DMARC1'));
dmarc_case('authorisation record that is not v=DMARC1', 'vd12', { dmarc_rua_email => 'reports@example.net' },
           \&as_returned, auth_record('hello'), warn_with('rua_not_authorised'));
dmarc_case('policy mismatch and unauthorised rua together', 'vd13',
           { dmarc_policy => 'quarantine', dmarc_rua_email => 'reports@example.net' },
           'v=DMARC1; p=none; rua=mailto:reports@example.net', undef,
           warn_with(qw(policy_mismatch rua_not_authorised)));

# --- failures -------------------------------------------------------------------------------
($d, $r) = dmarc_case('no DMARC record', 'vd14', {}, undef, undef, fail_with('missing'),
                      error_host => { missing => '_dmarc.vd14.example.com' });
is obj($r)->{errors}[0]{expected}, 'v=DMARC1; p=none', 'missing: expected is the record to publish';
dmarc_case('two DMARC records', 'vd15', {}, undef,
           sub { my ($d) = @_; knot_set('example.com', "_dmarc.$d->{domain}.", 'TXT',
                                        'v=DMARC1; p=none', 'v=DMARC1; p=reject') },
           fail_with('multiple_records'));
dmarc_case('invalid p=', 'vd16', {}, 'v=DMARC1; p=block', undef, fail_with('malformed'));
dmarc_case('invalid sp=', 'vd17', {}, 'v=DMARC1; p=none; sp=maybe', undef, fail_with('malformed'));
dmarc_case('invalid np=', 'vd18', {}, 'v=DMARC1; p=none; np=maybe', undef, fail_with('malformed'));
($d0, $r0) = dmarc_case('pct= (removed by RFC 9989): a warning whatever its value', 'vd19', {},
                        'v=DMARC1; p=none; pct=150', undef, warn_with('removed_tag'));
is obj($r0)->{warnings}[0]{expected}, 'v=DMARC1; p=none', 'vd19: expected: the record without pct=';
dmarc_case('invalid adkim=', 'vd20', {}, 'v=DMARC1; p=none; adkim=x', undef, fail_with('malformed'));
dmarc_case('v=DMARC1 not first', 'vd21', {}, 'p=none; v=DMARC1', undef, fail_with('malformed'));
($d0, $r0) = dmarc_case('no p= tag, a valid rua=: treated as p=none (a warning)', 'vd22', {},
                        'v=DMARC1; rua=mailto:dmarc@example.com', undef,
                        warn_with(qw(policy_missing rua_not_authorised)));
is obj($r0)->{warnings}[0]{expected}, 'v=DMARC1; p=none; rua=mailto:dmarc@example.com',
    'vd22: expected: the record with p= added';
dmarc_case('no p= tag and no rua=: no policy applies', 'vd26', {}, 'v=DMARC1; adkim=r', undef,
           fail_with('policy_missing'));
dmarc_case('v=dmarc1 in lower case is not DMARC', 'vd23', {}, 'v=dmarc1; p=none', undef, fail_with('missing'));
dmarc_case('value pasted with its quotes', 'vd24', {}, '"v=DMARC1; p=none"', undef, fail_with('quoted_value'));
