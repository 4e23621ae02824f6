# Who may do what (api.md section 1): tenants, shared partner domains,
# partners, the sender role, bad tokens, spoofed claim headers and a
# location without authentication.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use ScaiSend::Test qw(token api error_log_offset error_log_since);
use ScaiSend::Assert qw(:all);

plan tests => 92;

my $P1 = 'p_authz_1';
my $P2 = 'p_authz_2';
my $T = JSON::PP::true;
my $F = JSON::PP::false;

my $tenant_a = token(sub => 'authz-a', partner_id => $P1, tenant_id => 't_authz_a',
                     role => 'tenant_admin');
my $tenant_b = token(sub => 'authz-b', partner_id => $P1, tenant_id => 't_authz_b',
                     role => 'tenant_admin');
my $op1 = token(sub => 'authz-op1', partner_id => $P1, tenant_id => undef,
                role => 'partner_operator');
my $op2 = token(sub => 'authz-op2', partner_id => $P2, tenant_id => undef,
                role => 'partner_operator');
my $sender = token(sub => 'send-pipeline', partner_id => $P1, tenant_id => 't_authz_a',
                   role => 'sender');

sub obj { ref $_[0]{json} eq 'HASH' ? $_[0]{json} : {} }
sub created {
    my ($tok, $body, $name) = @_;
    my $r = api(POST => 'domains', token => $tok, json => $body);
    status_is $r, 201, $name;
    return obj($r)->{id} // "missing-$body->{domain}";
}

# ---------------------------------------------------------------------------
# Fixtures.
my $idA = created($tenant_a, { domain => 'a.authz.example' }, 'tenant A creates a.authz.example');
my $idB = created($tenant_b, { domain => 'b.authz.example' }, 'tenant B creates b.authz.example');
my $idS = created($op1, { domain => 'shared.authz.example', is_shared => $T },
                  'partner P1 creates shared.authz.example (shared)');
my $idU = created($op1, { domain => 'ops.authz.example' },
                  'partner P1 creates ops.authz.example (not shared)');

# Five operations on one domain, as [label, method, path suffix, body].
my @ops = (
    [ 'GET',         GET    => '',             undef ],
    [ 'PATCH',       PATCH  => '',             { is_active => $F } ],
    [ 'DELETE',      DELETE => '',             undef ],
    [ 'dns-records', GET    => '/dns-records', undef ],
    [ 'dkim-keys',   GET    => '/dkim-keys',   undef ],
);
sub on_domain {
    my ($tok, $id, $op, %extra) = @_;
    my ($label, $method, $suffix, $body) = @$op;
    return api($method => "domains/$id$suffix", token => $tok,
               (defined $body ? (json => $body) : ()), %extra);
}

# ---------------------------------------------------------------------------
# Tenant A vs tenant B's domain: 404 on every route, never 403.
for my $op (@ops) {
    error_is on_domain($tenant_a, $idB, $op), 404, 'not_found',
        "tenant A, $op->[0] on tenant B's domain: 404 not_found";
}
my $r = api(GET => 'domains', token => $tenant_a);
is_deeply [ sort @{ ids_of($r) } ], [ sort $idA, $idS ],
    'tenant A list: its own domain and the shared one only';
$r = api(GET => "domains/$idB", token => $tenant_b);
ok $r->{status} == 200 && obj($r)->{is_active}, 'tenant B\'s domain untouched (exists, still active)';

# Tenant A vs the partner's shared domain: read yes, change no.
$r = api(GET => "domains/$idS", token => $tenant_a);
status_is $r, 200, 'tenant A GET shared partner domain: 200';
ok JSON::PP::is_bool(obj($r)->{is_shared}) && obj($r)->{is_shared}
    && !defined obj($r)->{tenant_id}, 'it is the shared, partner-owned domain';
$r = api(GET => "domains/$idS/dns-records", token => $tenant_a);
status_is $r, 200, 'tenant A dns-records of the shared domain: 200';
$r = api(GET => "domains/$idS/dkim-keys", token => $tenant_a);
status_is $r, 200, 'tenant A dkim-keys of the shared domain: 200';
error_is api(PATCH => "domains/$idS", token => $tenant_a, json => { is_active => $F }),
    403, 'shared_domain_read_only', 'tenant A PATCH shared domain: 403 shared_domain_read_only';
error_is api(PATCH => "domains/$idS", token => $tenant_a, json => {}),
    403, 'shared_domain_read_only', 'tenant A PATCH {} on shared domain: 403 shared_domain_read_only';
error_is api(DELETE => "domains/$idS", token => $tenant_a),
    403, 'shared_domain_read_only', 'tenant A DELETE shared domain: 403 shared_domain_read_only';
$r = api(GET => "domains/$idS", token => $op1);
ok $r->{status} == 200 && obj($r)->{is_active}, 'shared domain still there and active';

# Tenant A vs the partner's unshared domain: 404.
for my $op (@ops) {
    error_is on_domain($tenant_a, $idU, $op), 404, 'not_found',
        "tenant A, $op->[0] on the partner's unshared domain: 404 not_found";
}

# Tenant A: sharing and other tenants are out of reach.
error_is api(POST => 'domains', token => $tenant_a,
             json => { domain => 'share.authz.example', is_shared => $T }),
    403, 'forbidden', 'tenant A creates with is_shared true: 403 forbidden';
error_is api(PATCH => "domains/$idA", token => $tenant_a, json => { is_shared => $T }),
    403, 'forbidden', 'tenant A PATCH is_shared true on its own domain: 403 forbidden';
error_is api(PATCH => "domains/$idA", token => $tenant_a, json => { is_shared => $F }),
    403, 'forbidden', 'tenant A PATCH is_shared false on its own domain: 403 forbidden';
error_is api(POST => 'domains', token => $tenant_a,
             json => { domain => 'other.authz.example', tenant_id => 't_authz_b' }),
    403, 'forbidden', 'tenant A creates for tenant B: 403 forbidden';
$r = api(GET => "domains/$idA", token => $tenant_a);
ok $r->{status} == 200 && JSON::PP::is_bool(obj($r)->{is_shared}) && !obj($r)->{is_shared},
    'tenant A\'s domain is still not shared';
$r = api(GET => 'domains?q=authz.example', token => $tenant_b);
is_deeply [ sort @{ ids_of($r) } ], [ sort $idB, $idS ],
    'nothing was created for tenant B (B sees its own + shared only)';

# ---------------------------------------------------------------------------
# Partner operator of P2 vs P1's domains: 404 everywhere, empty list.
for my $id ([ 'tenant A\'s', $idA ], [ 'shared', $idS ], [ 'unshared partner', $idU ]) {
    for my $op (@ops) {
        error_is on_domain($op2, $id->[1], $op), 404, 'not_found',
            "partner P2 operator, $op->[0] on P1's $id->[0] domain: 404 not_found";
    }
}
$r = api(GET => 'domains', token => $op2);
is_deeply [ $r->{status}, obj($r) ], [ 200, { data => [], next_cursor => undef } ],
    'partner P2 operator list: empty';
$r = api(POST => 'domains', token => $op2,
         json => { domain => 'p2.authz.example', tenant_id => 't_authz_a' });
status_is $r, 201, 'P2 operator creates for a tenant id under P2: 201';
is obj($r)->{partner_id}, $P2, '... owned by P2, not P1';
$r = api(GET => 'domains', token => $tenant_a);
is_deeply [ sort @{ ids_of($r) } ], [ sort $idA, $idS ],
    'P1 tenant t_authz_a does not see P2\'s domain for a same-named tenant';

# Partner operator of P1: everything of its partner.
$r = api(GET => 'domains', token => $op1);
is_deeply [ sort @{ ids_of($r) } ], [ sort $idA, $idB, $idS, $idU ],
    'partner P1 operator list: all four P1 domains';
$r = api(GET => "domains/$idA", token => $op1);
status_is $r, 200, 'P1 operator GET tenant A\'s domain: 200';
$r = api(GET => "domains/$idA/dns-records", token => $op1);
status_is $r, 200, 'P1 operator dns-records of tenant A\'s domain: 200';
$r = api(GET => "domains/$idA/dkim-keys", token => $op1);
status_is $r, 200, 'P1 operator dkim-keys of tenant A\'s domain: 200';
$r = api(PATCH => "domains/$idA", token => $op1, json => { dmarc_policy => 'reject' });
ok $r->{status} == 200 && (obj($r)->{dmarc_policy} // '') eq 'reject',
    'P1 operator PATCH tenant A\'s domain: 200, dmarc_policy reject';
$r = api(GET => "domains/$idA", token => $tenant_a);
is obj($r)->{dmarc_policy}, 'reject', 'tenant A sees the operator\'s change';
my $idDel = created($tenant_a, { domain => 'del.authz.example' }, 'tenant A creates del.authz.example');
$r = api(DELETE => "domains/$idDel", token => $op1);
status_is $r, 204, 'P1 operator DELETE tenant A\'s domain: 204';
error_is api(GET => "domains/$idDel", token => $tenant_a), 404, 'not_found',
    'tenant A GET the deleted domain: 404';
$r = api(PATCH => "domains/$idS", token => $op1, json => { dmarc_policy => 'quarantine' });
status_is $r, 200, 'P1 operator PATCH its shared domain: 200';

# ---------------------------------------------------------------------------
# The sender role may not use any admin route.
my @sender_calls = (
    [ 'list',        GET    => 'domains', undef ],
    [ 'create',      POST   => 'domains', { domain => 'sender.authz.example' } ],
    [ 'GET',         GET    => "domains/$idA", undef ],
    [ 'PATCH',       PATCH  => "domains/$idA", { is_active => $F } ],
    [ 'DELETE',      DELETE => "domains/$idA", undef ],
    [ 'dns-records', GET    => "domains/$idA/dns-records", undef ],
    [ 'dkim-keys',   GET    => "domains/$idA/dkim-keys", undef ],
);
for my $c (@sender_calls) {
    my ($label, $method, $path, $body) = @$c;
    error_is api($method => $path, token => $sender, (defined $body ? (json => $body) : ())),
        403, 'forbidden', "sender role, $label: 403 forbidden";
}
$r = api(GET => "domains/$idA", token => $tenant_a);
ok $r->{status} == 200 && obj($r)->{is_active}, 'tenant A\'s domain survived the sender\'s attempts';

# ---------------------------------------------------------------------------
# Tokens.
$r = api(GET => 'domains');
status_is $r, 401, 'no token: 401';
$r = api(POST => 'domains', json => { domain => 'anon.authz.example' });
status_is $r, 401, 'no token, create: 401';
$r = api(GET => 'domains', token => token(partner_id => $P1, tenant_id => 't_authz_a',
                                          iat => time - 7200, exp => time - 3600));
status_is $r, 401, 'expired token: 401';
$r = api(GET => 'domains', token => token(partner_id => $P1, tenant_id => 't_authz_a',
                                          -wrong_key => 1));
status_is $r, 401, 'token with a wrong signature: 401';
$r = api(GET => 'domains', headers => { Authorization => 'Bearer not.a.jwt' });
status_is $r, 401, 'garbage bearer token: 401';
error_is api(GET => 'domains', token => token(partner_id => $P1, tenant_id => 't_authz_a',
                                              exp => undef)),
    401, 'invalid_token', 'token without exp: 401 invalid_token',
    www_auth => qr/\ABearer\b.*error="invalid_token"/;
error_is api(GET => 'domains', token => token(partner_id => undef, tenant_id => 't_authz_a')),
    401, 'invalid_token', 'token without partner_id: 401 invalid_token';
error_is api(GET => 'domains', token => token(partner_id => $P1, tenant_id => undef,
                                              role => 'tenant_admin')),
    401, 'invalid_token', 'tenant_admin token without tenant_id: 401 invalid_token';
error_is api(GET => 'domains', token => token(partner_id => $P1, tenant_id => 't_authz_a',
                                              role => 'superuser')),
    403, 'forbidden_role', 'unknown role superuser: 403 forbidden_role';
error_is api(GET => 'domains', token => token(partner_id => $P1, tenant_id => 't_authz_a',
                                              role => 'Tenant_Admin')),
    403, 'forbidden_role', 'role in the wrong case: 403 forbidden_role';
error_is api(POST => 'domains', token => token(partner_id => $P1, tenant_id => 't_authz_a',
                                               role => 'superuser'),
             json => { domain => 'role.authz.example' }),
    403, 'forbidden_role', 'unknown role, create: 403 forbidden_role';

# ---------------------------------------------------------------------------
# Spoofed claim headers are ignored (the module reads the environment only).
# (A leading ":" makes HTTP::Headers send the name verbatim, underscores and
# all; without it LWP would turn them into hyphens.)
$r = api(GET => "domains/$idB", token => $tenant_a,
         headers => { ':OIDC_CLAIM_tenant_id' => 't_authz_b' });
error_is $r, 404, 'not_found', 'tenant A + header OIDC_CLAIM_tenant_id: t_authz_b: B\'s domain still 404';
$r = api(GET => "domains/$idB", token => $tenant_a,
         headers => { 'OIDC-CLAIM-tenant_id' => 't_authz_b', 'OIDC-CLAIM-tenant-id' => 't_authz_b' });
error_is $r, 404, 'not_found', 'tenant A + header OIDC-CLAIM-tenant_id: B\'s domain still 404';
$r = api(GET => "domains/$idU", token => $tenant_a,
         headers => { ':OIDC_CLAIM_role' => 'partner_operator' });
error_is $r, 404, 'not_found',
    'tenant A + header OIDC_CLAIM_role: partner_operator: unshared partner domain still 404';
$r = api(GET => 'domains', token => $tenant_a,
         headers => { ':OIDC_CLAIM_tenant_id' => 't_authz_b',
                      ':OIDC_CLAIM_partner_id' => $P2,
                      ':OIDC_CLAIM_role' => 'partner_operator' });
is_deeply [ $r->{status}, [ sort @{ ids_of($r) } ] ], [ 200, [ sort $idA, $idS ] ],
    'tenant A + spoofed tenant/partner/role headers: list unchanged';
$r = api(GET => "domains/$idA", token => $tenant_a,
         headers => { ':OIDC_CLAIM_partner_id' => $P2 });
status_is $r, 200, 'tenant A + header OIDC_CLAIM_partner_id: P2: own domain still 200';
$r = api(POST => 'domains', token => $tenant_a,
         json => { domain => 'spoof.authz.example' },
         headers => { ':OIDC_CLAIM_tenant_id' => 't_authz_b' });
ok $r->{status} == 201 && (obj($r)->{tenant_id} // '') eq 't_authz_a',
    'create with spoofed OIDC_CLAIM_tenant_id: owned by the token\'s tenant';
error_is api(GET => 'domains', token => $sender,
             headers => { ':OIDC_CLAIM_role' => 'partner_operator' }),
    403, 'forbidden', 'sender + header OIDC_CLAIM_role: partner_operator: still 403 forbidden';
error_is api(GET => 'domains', token => $sender,
             headers => { 'OIDC-CLAIM-role' => 'tenant_admin' }),
    403, 'forbidden', 'sender + header OIDC-CLAIM-role: tenant_admin: still 403 forbidden';
$r = api(GET => 'domains',
         headers => { ':OIDC_CLAIM_tenant_id' => 't_authz_a', ':OIDC_CLAIM_partner_id' => $P1,
                      ':OIDC_CLAIM_role' => 'tenant_admin', ':OIDC_CLAIM_sub' => 'x' });
status_is $r, 401, 'claim headers without a token: 401';

# ---------------------------------------------------------------------------
# A location without authentication fails closed.
my $off = error_log_offset();
error_is api(GET => '/misconfigured/api/admin/domains', token => $tenant_a),
    401, 'unauthenticated', 'misconfigured location, GET with a valid token: 401 unauthenticated';
error_is api(POST => '/misconfigured/api/admin/domains', token => $tenant_a,
             json => { domain => 'mis.authz.example' }),
    401, 'unauthenticated', 'misconfigured location, POST: 401 unauthenticated';
error_is api(GET => "/misconfigured/api/admin/domains/$idA",
             headers => { ':OIDC_CLAIM_tenant_id' => 't_authz_a', ':OIDC_CLAIM_partner_id' => $P1,
                          ':OIDC_CLAIM_role' => 'tenant_admin' }),
    401, 'unauthenticated', 'misconfigured location with spoofed claim headers: 401 unauthenticated';
select undef, undef, undef, 0.3;
my @log = grep { /\[(?:scaisend_domains)?:error\].*no authenticated user/i } error_log_since($off);
ok scalar(@log) >= 1, 'misconfigured location: an error is logged ("no authenticated user")';
$r = api(GET => 'domains?q=mis.authz.example', token => $tenant_a);
is_deeply ids_of($r), [], 'nothing was created through the misconfigured location';
