# GET /api/admin/sender-status: the product page's table ("What happens if
# the domain isn't verified", "Deactivating a domain"; api.md section 6),
# every cell, for a tenant's own domain and for its partner's shared one;
# exact-domain matching; who may ask; parameters; tenant isolation.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use URI::Escape qw(uri_escape);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);

plan tests => 74;

my $P    = 'p_sst';
my $ZONE = 'example.net';
my $TA   = 't_sst_a';
my $TB   = 't_sst_b';
my $ADM_A = token(sub => 'sst-a', partner_id => $P, tenant_id => $TA, role => 'tenant_admin');
my $ADM_B = token(sub => 'sst-b', partner_id => $P, tenant_id => $TB, role => 'tenant_admin');
my $OP    = token(sub => 'sst-op', partner_id => $P, tenant_id => undef, role => 'partner_operator');
my $SND   = token(sub => 'sst-mta', partner_id => $P, tenant_id => undef, role => 'sender');
my $SND_X = token(sub => 'sst-mta-x', partner_id => 'p_sst_other', tenant_id => undef, role => 'sender');

sub publish {
    my (@recs) = @_;
    knot_update($ZONE, map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @recs);
}

# Create a domain (as $tok, with extra fields), optionally publish and verify.
my %ID;
sub domain {
    my ($tok, $name, %o) = @_;
    my $r = api(POST => 'domains', token => $tok,
                json => { domain => $name, %{ $o{body} || {} } });
    die "create $name: " . describe($r) unless $r->{status} == 201;
    my $id = $r->{json}{id};
    if ($o{verify}) {
        publish(@{ $r->{json}{dns_records} });
        my $v = api(POST => "domains/$id/verify", token => $tok);
        die "verify $name: " . describe($v) unless $v->{status} == 200 && $v->{json}{verified};
    }
    if ($o{inactive}) {
        my $p = api(PATCH => "domains/$id", token => $tok, json => { is_active => JSON::PP::false() });
        die "deactivate $name: " . describe($p) unless $p->{status} == 200;
    }
    return $ID{$name} = $id;
}

sub status {
    my ($tok, %q) = @_;
    my $qs = join '&', map { "$_=" . uri_escape($q{$_}) } grep { defined $q{$_} } sort keys %q;
    return api(GET => "sender-status?$qs", token => $tok);
}

# One test: the decision for (token, from, mode, tenant_id param).
#   want: decision, reason (undef: null), domain (name whose id is domain_id;
#   undef: null), selector (deliver only)
sub decision_is {
    my ($tok, $from, $mode, $tenant, $want, $name) = @_;
    my $r = status($tok, from => $from, mode => $mode, tenant_id => $tenant);
    my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
    my @why;
    push @why, "status $r->{status}" unless $r->{status} == 200;
    push @why, 'Content-Type not application/json'
        unless ($r->{headers}->header('Content-Type') // '') =~ m{^application/json};
    (my $dom = lc $from) =~ s/.*@//;
    $dom =~ s/>.*//;
    $dom =~ s/\.\z//;
    push @why, "decision " . ($j->{decision} // 'undef') . ", want $want->{decision}"
        unless ($j->{decision} // '') eq $want->{decision};
    push @why, "reason " . ($j->{reason} // 'null') . ", want " . ($want->{reason} // 'null')
        unless ($j->{reason} // "\0") eq ($want->{reason} // "\0") && exists $j->{reason};
    my $want_id = defined $want->{domain} ? $ID{ $want->{domain} } : undef;
    push @why, "domain_id " . ($j->{domain_id} // 'null') . ", want " . ($want_id // 'null')
        unless ($j->{domain_id} // '') eq ($want_id // '') && exists $j->{domain_id};
    push @why, "domain " . ($j->{domain} // 'undef') . ", want $dom" unless ($j->{domain} // '') eq $dom;
    push @why, "mode " . ($j->{mode} // 'undef') unless ($j->{mode} // '') eq $mode;
    push @why, "from " . ($j->{from} // 'undef') unless ($j->{from} // '') eq $from;
    if ($want->{decision} eq 'deliver') {
        my $want_dkim = { d => $want->{domain}, selector => $want->{selector} // 'scaisend' };
        push @why, "dkim " . JSON::PP->new->canonical->encode($j->{dkim} // undef)
            unless ref $j->{dkim} eq 'HASH' && join(',', sort keys %{ $j->{dkim} }) eq 'd,selector'
                && $j->{dkim}{d} eq $want_dkim->{d} && $j->{dkim}{selector} eq $want_dkim->{selector};
    } else {
        push @why, "dkim is not null" unless exists $j->{dkim} && !defined $j->{dkim};
    }
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok !@why, $name;
    diag join "\n", @why, describe($r) if @why;
    return $r;
}

# ---------------------------------------------------------------------------
# the domains
domain($ADM_A, 'ok.sst.example.net', verify => 1);                  # tenant A, verified, active
domain($ADM_A, 'unv.sst.example.net');                              # tenant A, not verified
domain($ADM_A, 'off.sst.example.net', verify => 1, inactive => 1);  # tenant A, verified, inactive
domain($ADM_A, 'offunv.sst.example.net', inactive => 1);            # tenant A, unverified, inactive
domain($ADM_B, 'b.sst.example.net', verify => 1);                   # tenant B, verified
domain($OP, 'shared.sst.example.net', verify => 1, body => { is_shared => JSON::PP::true() });
domain($OP, 'sharedunv.sst.example.net', body => { is_shared => JSON::PP::true() });
domain($OP, 'sharedoff.sst.example.net', verify => 1, inactive => 1,
       body => { is_shared => JSON::PP::true() });
domain($OP, 'partner.sst.example.net', verify => 1);                # partner-owned, not shared
# the tenant's own unverified record and the partner's shared verified one
domain($ADM_A, 'both.sst.example.net');
domain($OP, 'both.sst.example.net', verify => 1, body => { is_shared => JSON::PP::true() });
{
    my $r = api(GET => 'domains?q=both.sst.example.net', token => $ADM_A);
    my ($own) = grep { ($_->{tenant_id} // '') eq $TA } @{ $r->{json}{data} || [] };
    $ID{'both-own'} = $own ? $own->{id} : 'dom_missing';
}

my %DELIVER = (decision => 'deliver', reason => undef);
my %FAIL    = (decision => 'fail', reason => 'domain not verified');
my %SANDBOX = (decision => 'sandbox', reason => undef);
my %REJECT  = (decision => 'reject', reason => 'domain inactive');

# ---------------------------------------------------------------------------
# the table, for a tenant's own domain, asked by the send pipeline (sender
# role with tenant_id)
decision_is $SND, 'alice@ok.sst.example.net', 'live', $TA, { %DELIVER, domain => 'ok.sst.example.net' },
    'own verified+active, live: deliver with dkim {d, selector}';
decision_is $SND, 'alice@ok.sst.example.net', 'test', $TA, { %SANDBOX, domain => 'ok.sst.example.net' },
    'own verified+active, test: sandbox';
decision_is $SND, 'alice@unv.sst.example.net', 'live', $TA, { %FAIL, domain => 'unv.sst.example.net' },
    'own registered unverified, live: fail "domain not verified"';
decision_is $SND, 'alice@unv.sst.example.net', 'test', $TA, { %SANDBOX, domain => 'unv.sst.example.net' },
    'own registered unverified, test: sandbox';
decision_is $SND, 'alice@none.sst.example.net', 'live', $TA, { %FAIL, domain => undef },
    'unregistered, live: fail "domain not verified"';
decision_is $SND, 'alice@none.sst.example.net', 'test', $TA, { %SANDBOX, domain => undef },
    'unregistered, test: sandbox';
decision_is $SND, 'alice@off.sst.example.net', 'live', $TA, { %REJECT, domain => 'off.sst.example.net' },
    'own inactive, live: reject "domain inactive"';
decision_is $SND, 'alice@off.sst.example.net', 'test', $TA, { %REJECT, domain => 'off.sst.example.net' },
    'own inactive, test: reject "domain inactive"';
decision_is $SND, 'alice@offunv.sst.example.net', 'live', $TA, { %REJECT, domain => 'offunv.sst.example.net' },
    'own inactive and unverified, live: reject';
decision_is $SND, 'alice@offunv.sst.example.net', 'test', $TA, { %REJECT, domain => 'offunv.sst.example.net' },
    'own inactive and unverified, test: reject';

# the partner's shared domains, used by a tenant
decision_is $SND, 'noreply@shared.sst.example.net', 'live', $TA, { %DELIVER, domain => 'shared.sst.example.net' },
    'shared verified+active, live: deliver';
decision_is $SND, 'noreply@shared.sst.example.net', 'test', $TA, { %SANDBOX, domain => 'shared.sst.example.net' },
    'shared verified+active, test: sandbox';
decision_is $SND, 'noreply@sharedunv.sst.example.net', 'live', $TA, { %FAIL, domain => 'sharedunv.sst.example.net' },
    'shared unverified, live: fail';
decision_is $SND, 'noreply@sharedunv.sst.example.net', 'test', $TA, { %SANDBOX, domain => 'sharedunv.sst.example.net' },
    'shared unverified, test: sandbox';
decision_is $SND, 'noreply@sharedoff.sst.example.net', 'live', $TA, { %REJECT, domain => 'sharedoff.sst.example.net' },
    'shared inactive, live: reject';
decision_is $SND, 'noreply@sharedoff.sst.example.net', 'test', $TA, { %REJECT, domain => 'sharedoff.sst.example.net' },
    'shared inactive, test: reject';
decision_is $SND, 'noreply@shared.sst.example.net', 'live', $TB, { %DELIVER, domain => 'shared.sst.example.net' },
    'the shared domain works for tenant B too';

# the partner's own, not shared domain: not registered for a tenant
decision_is $SND, 'x@partner.sst.example.net', 'live', $TA, { %FAIL, domain => undef },
    'partner domain that is not shared: fail (not registered) for a tenant';
decision_is $SND, 'x@partner.sst.example.net', 'test', $TA, { %SANDBOX, domain => undef },
    'partner domain that is not shared, test: sandbox';
# partner-level question (no tenant_id): the partner's own domains
decision_is $SND, 'x@partner.sst.example.net', 'live', undef, { %DELIVER, domain => 'partner.sst.example.net' },
    'no tenant_id: the partner\'s own domain delivers';
decision_is $SND, 'x@ok.sst.example.net', 'live', undef, { %FAIL, domain => undef },
    'no tenant_id: a tenant\'s domain is not the partner\'s';

# own unverified + shared verified of the same name: the usable one wins
decision_is $SND, 'a@both.sst.example.net', 'live', $TA, { %DELIVER, domain => 'both.sst.example.net' },
    'own unverified and shared verified: the shared (usable) record delivers';
# (domain_id must be the shared record's, not the tenant's own)
{
    my $r = status($SND, from => 'a@both.sst.example.net', mode => 'live', tenant_id => $TA);
    is $r->{json}{domain_id}, $ID{'both.sst.example.net'}, '... with the shared record\'s id';
    isnt $r->{json}{domain_id}, $ID{'both-own'}, '... not the tenant\'s own unverified one';
}

# ---------------------------------------------------------------------------
# exact-domain matching
decision_is $SND, 'alice@sub.ok.sst.example.net', 'live', $TA, { %FAIL, domain => undef },
    'a subdomain of a verified domain: fail (not registered)';
decision_is $SND, 'alice@sub.ok.sst.example.net', 'test', $TA, { %SANDBOX, domain => undef },
    'a subdomain of a verified domain, test: sandbox';
decision_is $SND, 'alice@sst.example.net', 'live', $TA, { %FAIL, domain => undef },
    'the parent of a verified domain: fail';
decision_is $SND, 'alice@sub.shared.sst.example.net', 'live', $TA, { %FAIL, domain => undef },
    'a subdomain of the shared domain: fail';
decision_is $SND, 'alice@OK.Sst.Example.NET', 'live', $TA, { %DELIVER, domain => 'ok.sst.example.net' },
    'the domain part is case-insensitive';
decision_is $SND, 'Alice Example <alice@ok.sst.example.net>', 'live', $TA,
    { %DELIVER, domain => 'ok.sst.example.net' }, 'a From: with a display name';
decision_is $SND, 'alice@ok.sst.example.net.', 'live', $TA, { %DELIVER, domain => 'ok.sst.example.net' },
    'a trailing dot is the same domain';

# ---------------------------------------------------------------------------
# roles
decision_is $OP, 'alice@ok.sst.example.net', 'live', $TA, { %DELIVER, domain => 'ok.sst.example.net' },
    'partner_operator with tenant_id: deliver';
decision_is $OP, 'alice@unv.sst.example.net', 'live', $TA, { %FAIL, domain => 'unv.sst.example.net' },
    'partner_operator with tenant_id: fail';
decision_is $ADM_A, 'alice@ok.sst.example.net', 'live', undef, { %DELIVER, domain => 'ok.sst.example.net' },
    'tenant_admin for itself (no tenant_id): deliver';
decision_is $ADM_A, 'alice@ok.sst.example.net', 'live', $TA, { %DELIVER, domain => 'ok.sst.example.net' },
    'tenant_admin naming its own tenant_id: deliver';
decision_is $ADM_A, 'alice@off.sst.example.net', 'test', undef, { %REJECT, domain => 'off.sst.example.net' },
    'tenant_admin for itself: reject inactive';
{
    my $r = status($ADM_A, from => 'alice@ok.sst.example.net', mode => 'live');
    is $r->{json}{tenant_id}, $TA, 'tenant_admin: the answer names its tenant';
    my @k = top_keys($r->{body});
    is_deeply [sort @k], [sort qw(domain decision reason domain_id dkim from mode tenant_id)],
        'answer keys: domain decision reason domain_id dkim from mode tenant_id'
        or diag "@k";
    is $k[0] // '', 'domain', 'domain first';
    $r = status($SND, from => 'alice@ok.sst.example.net', mode => 'live', tenant_id => $TA);
    is $r->{json}{tenant_id}, $TA, 'sender: the answer names the tenant asked for';
}
my $r = status($ADM_A, from => 'alice@ok.sst.example.net', mode => 'live', tenant_id => $TB);
error_is $r, 403, 'forbidden', 'tenant_admin asking for another tenant: 403';
$r = status($ADM_B, from => 'alice@b.sst.example.net', mode => 'live', tenant_id => $TA);
error_is $r, 403, 'forbidden', 'tenant B admin asking for tenant A: 403';
# another partner's sender: no domains of this partner
decision_is $SND_X, 'alice@ok.sst.example.net', 'live', $TA, { %FAIL, domain => undef },
    'a sender of another partner: fail (not registered there)';
decision_is $SND_X, 'noreply@shared.sst.example.net', 'live', $TA, { %FAIL, domain => undef },
    'a sender of another partner: the shared domain is not its partner\'s';
$r = status(token(sub => 'sst-bad', partner_id => $P, tenant_id => $TA, role => 'superuser'),
            from => 'alice@ok.sst.example.net', mode => 'live');
error_is $r, 403, 'forbidden_role', 'an unknown role: 403 forbidden_role';
$r = api(GET => 'sender-status?from=alice@ok.sst.example.net&mode=live');
error_is $r, 401, 'unauthenticated', 'no token: 401';

# ---------------------------------------------------------------------------
# tenant isolation: tenant B's verified domain is not registered for tenant A
decision_is $SND, 'bob@b.sst.example.net', 'live', $TA, { %FAIL, domain => undef },
    'tenant B\'s verified domain for tenant A: fail (not registered)';
decision_is $SND, 'bob@b.sst.example.net', 'test', $TA, { %SANDBOX, domain => undef },
    'tenant B\'s verified domain for tenant A, test: sandbox';
decision_is $ADM_A, 'bob@b.sst.example.net', 'live', undef, { %FAIL, domain => undef },
    'tenant A admin asking about tenant B\'s domain: fail, no id leaked';
decision_is $SND, 'bob@b.sst.example.net', 'live', $TB, { %DELIVER, domain => 'b.sst.example.net' },
    'tenant B\'s domain for tenant B: deliver';
decision_is $SND, 'alice@ok.sst.example.net', 'live', $TB, { %FAIL, domain => undef },
    'tenant A\'s domain for tenant B: fail';
decision_is $SND, 'alice@ok.sst.example.net', 'live', 't_sst_nobody', { %FAIL, domain => undef },
    'an unknown tenant: fail';

# ---------------------------------------------------------------------------
# reactivation and deactivation take effect at once
$r = api(PATCH => "domains/$ID{'off.sst.example.net'}", token => $ADM_A, json => { is_active => JSON::PP::true() });
status_is $r, 200, 'reactivate off.sst';
decision_is $SND, 'alice@off.sst.example.net', 'live', $TA, { %DELIVER, domain => 'off.sst.example.net' },
    'reactivated: deliver';
$r = api(PATCH => "domains/$ID{'off.sst.example.net'}", token => $ADM_A, json => { is_active => JSON::PP::false() });
status_is $r, 200, 'deactivate off.sst again';
decision_is $SND, 'alice@off.sst.example.net', 'live', $TA, { %REJECT, domain => 'off.sst.example.net' },
    'deactivated: reject';

# after a rotation and activation the selector changes
{
    my $id = $ID{'ok.sst.example.net'};
    my $rot = api(POST => "domains/$id/rotate-dkim", token => $ADM_A);
    status_is $rot, 200, 'rotate ok.sst';
    decision_is $SND, 'alice@ok.sst.example.net', 'live', $TA,
        { %DELIVER, domain => 'ok.sst.example.net', selector => 'scaisend' },
        'pending rotation: still the active selector scaisend';
    publish($rot->{json}{dns_record});
    my $v = api(POST => "domains/$id/verify", token => $ADM_A);
    status_is $v, 200, 'verify activates scaisend2';
    decision_is $SND, 'alice@ok.sst.example.net', 'live', $TA,
        { %DELIVER, domain => 'ok.sst.example.net', selector => 'scaisend2' },
        'after activation: selector scaisend2';
}

# ---------------------------------------------------------------------------
# parameters
my @bad = (
    ['mode=live', 'from', 'missing from'],
    ['from=alice@ok.sst.example.net', 'mode', 'missing mode'],
    ['from=alice@ok.sst.example.net&mode=prod', 'mode', 'mode=prod'],
    ['from=alice@ok.sst.example.net&mode=LIVE', 'mode', 'mode=LIVE'],
    ['from=alice@ok.sst.example.net&mode=', 'mode', 'empty mode'],
    ['from=&mode=live', 'from', 'empty from'],
    ['from=alice&mode=live', 'from', 'from without @'],
    ['from=alice@&mode=live', 'from', 'from with an empty domain'],
    ['from=@ok.sst.example.net&mode=live', 'from', 'from with an empty local part'],
    ['from=alice@bad_domain!.example&mode=live', 'from', 'from with an invalid domain'],
    ['from=alice@ok.sst.example.net&mode=live&color=red', 'color', 'unknown parameter'],
);
for my $b (@bad) {
    my ($qs, $field, $what) = @$b;
    $r = api(GET => "sender-status?$qs", token => $SND);
    error_is $r, 400, 'invalid_parameter', "$what: 400 invalid_parameter";
}
$r = api(GET => 'sender-status', token => $SND);
error_is $r, 400, 'invalid_parameter', 'no parameters at all: 400 invalid_parameter';
$r = api(GET => 'sender-status?from=alice@ok.sst.example.net&mode=live&mode=test&tenant_id=' . $TA, token => $SND);
ok $r->{status} == 400 || ($r->{status} == 200 && $r->{json}{mode} eq 'test'),
    'a repeated mode is refused (or the last one counts)' or diag describe($r);
$r = api(POST => 'sender-status?from=alice@ok.sst.example.net&mode=live', token => $SND,
         json => {});
error_is $r, 405, 'method_not_allowed', 'POST sender-status: 405', allow => 'GET';
