# POST /api/admin/domains: the product page's examples, the domain object
# (keys, order, types, DNS records), defaults, partner-owned/shared domains,
# duplicates and IDN.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);

{
    my $tb = Test::More->builder;
    binmode $tb->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);
}

plan tests => 99;

my $P  = 'p_create';
my $TA = 't_create_a';

my $tenant_a = token(sub => 'alice', partner_id => $P, tenant_id => $TA,
                     role => 'tenant_admin');
my $tenant_b = token(sub => 'bob', partner_id => $P, tenant_id => 't_create_b',
                     role => 'tenant_admin');
my $tenant_c = token(sub => 'carol', partner_id => $P, tenant_id => 't_create_c',
                     role => 'tenant_admin');
my $other_partner_tenant = token(sub => 'dave', partner_id => 'p_create_2',
                                 tenant_id => 't_create_d', role => 'tenant_admin');
my $operator = token(sub => 'olga', partner_id => $P, tenant_id => undef,
                     role => 'partner_operator');

my $DKIM_PREFIX = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA';
my $SPF         = 'v=spf1 include:scaisend.scailabs.ai ~all';
my @KEY_ORDER   = qw(id domain verified dkim_selector dmarc_policy
                     dmarc_rua_email is_shared is_active dns_records
                     partner_id tenant_id created_at updated_at verified_at
                     last_verification verification_state dkim_algorithms);

sub is_true  { JSON::PP::is_bool($_[0]) && $_[0] }
sub is_false { JSON::PP::is_bool($_[0]) && !$_[0] }
sub is_str   { defined $_[0] && !ref $_[0] && !JSON::PP::is_bool($_[0]) }

# ---------------------------------------------------------------------------
# 1. The product page's curl example, byte for byte.
my $page_body = <<'JSON';
{
    "domain": "mail.example.com",
    "dmarc_policy": "quarantine",
    "dmarc_rua_email": "dmarc-reports@example.com"
  }
JSON
my $r = api(POST => '/api/admin/domains', token => $tenant_a,
            body => $page_body, content_type => 'application/json');
status_is $r, 201, 'product page example: 201 Created';
like $r->{headers}->header('Content-Type') // '', qr{\Aapplication/json\s*(?:;|\z)},
    'create: Content-Type application/json';
my $d = ref $r->{json} eq 'HASH' ? $r->{json} : {};
my $id = $d->{id} // '';
like $id, ID_RE, 'id is dom_ + ULID';
is $r->{headers}->header('Location'), "/api/admin/domains/$id",
    'Location header is /api/admin/domains/<id>';
is_deeply [ top_keys($r->{body}) ], \@KEY_ORDER,
    'top-level keys exactly, in the documented order';

ok is_str($d->{domain}) && $d->{domain} eq 'mail.example.com', 'domain: string "mail.example.com"';
ok is_false($d->{verified}), 'verified: JSON false';
ok is_str($d->{dkim_selector}) && $d->{dkim_selector} eq 'scaisend', 'dkim_selector: "scaisend"';
ok is_str($d->{dmarc_policy}) && $d->{dmarc_policy} eq 'quarantine', 'dmarc_policy: "quarantine"';
ok is_str($d->{dmarc_rua_email}) && $d->{dmarc_rua_email} eq 'dmarc-reports@example.com',
    'dmarc_rua_email: the address sent';
ok is_false($d->{is_shared}), 'is_shared: JSON false';
ok is_true($d->{is_active}), 'is_active: JSON true';
ok is_str($d->{partner_id}) && $d->{partner_id} eq $P, 'partner_id: the token\'s partner';
ok is_str($d->{tenant_id}) && $d->{tenant_id} eq $TA, 'tenant_id: the token\'s tenant';
ok is_rfc3339($d->{created_at}), 'created_at: RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)';
ok is_rfc3339($d->{updated_at}), 'updated_at: RFC 3339 UTC';
my $t = rfc3339_epoch($d->{created_at});
ok defined $t && abs($t - time) < 300, 'created_at is now (within 5 minutes)'
    or diag "created_at " . ($d->{created_at} // "undef");
ok exists $d->{verified_at} && !defined $d->{verified_at}, 'verified_at: null';
ok exists $d->{last_verification} && !defined $d->{last_verification},
    'last_verification: null';
ok !exists $d->{domain_unicode}, 'no domain_unicode for an ASCII domain';

my $rows = ref $d->{dns_records} eq 'ARRAY' ? $d->{dns_records} : [];
is scalar @$rows, 3, 'dns_records: three rows (DKIM, SPF, DMARC)';
my ($dkim, $spf, $dmarc) = map { ref $_ eq 'HASH' ? $_ : {} } @$rows[0 .. 2];
is_deeply [ sort keys %$dkim ], [qw(algorithm host key_state purpose selector status type value)],
    'DKIM row keys: type host value purpose selector algorithm key_state status';
is_deeply { map { $_ => $dkim->{$_} } qw(type host purpose selector algorithm key_state status) },
    { type => 'TXT', host => 'scaisend._domainkey.mail.example.com',
      purpose => 'dkim', selector => 'scaisend', algorithm => 'rsa-sha256',
      key_state => 'active', status => 'pending' },
    'DKIM row: TXT at scaisend._domainkey.mail.example.com, key active, DNS status pending';
my ($p) = ($dkim->{value} // '') =~ /\Av=DKIM1; k=rsa; p=([A-Za-z0-9+\/]+={0,2})\z/;
ok defined $p, 'DKIM value is "v=DKIM1; k=rsa; p=<base64>"'
    or diag "value: " . ($dkim->{value} // 'undef');
$p //= '';
is substr($p, 0, length $DKIM_PREFIX), $DKIM_PREFIX,
    'p= starts with the RSA-2048 SubjectPublicKeyInfo prefix of the page';
is length $p, 392, 'p= is 392 base64 characters';
is length decode_base64($p), 294, 'p= decodes to a 294-byte DER SPKI';
is length($dkim->{value} // ''), 410, 'DKIM TXT value is 410 bytes';
is_deeply $spf, { type => 'TXT', host => 'mail.example.com', value => $SPF,
                  purpose => 'spf', status => 'pending' },
    'SPF row exactly';
is_deeply $dmarc, { type => 'TXT', host => '_dmarc.mail.example.com',
                    value => 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com',
                    purpose => 'dmarc', status => 'pending' },
    'DMARC row exactly, with rua';
is_deeply [ private_material($r->{body}) ], [], 'no private key material in the create response';

my $page_p = $p;

# GET of the Location returns the same object.
my $g = api(GET => $r->{headers}->header('Location') // "/api/admin/domains/$id",
            token => $tenant_a);
status_is $g, 200, 'GET Location: 200';
is_deeply $g->{json}, $d, 'GET Location returns the object create returned';

# ---------------------------------------------------------------------------
# 2. The page's Python example (json= body, no explicit Content-Type besides
#    httpx's application/json) is covered by 1; defaults with a minimal body.
$r = api(POST => 'domains', token => $tenant_a,
         json => { domain => 'defaults.example.com' });
status_is $r, 201, 'minimal body {"domain": ...}: 201';
$d = ref $r->{json} eq 'HASH' ? $r->{json} : {};
ok is_str($d->{dmarc_policy}) && $d->{dmarc_policy} eq 'none', 'default dmarc_policy "none"';
ok exists $d->{dmarc_rua_email} && !defined $d->{dmarc_rua_email}, 'default dmarc_rua_email null';
ok is_true($d->{is_active}), 'default is_active true';
ok is_false($d->{is_shared}), 'default is_shared false';
ok is_false($d->{verified}), 'verified false';
is $d->{tenant_id}, $TA, 'tenant_id defaults to the token\'s tenant';
is $d->{partner_id}, $P, 'partner_id is the token\'s partner';
is_deeply [ top_keys($r->{body}) ], \@KEY_ORDER, 'key order without rua: same';
is_deeply $d->{dns_records}[2],
    { type => 'TXT', host => '_dmarc.defaults.example.com', value => 'v=DMARC1; p=none',
      purpose => 'dmarc', status => 'pending' },
    'DMARC row without rua: "v=DMARC1; p=none"';
is_deeply $d->{dns_records}[1],
    { type => 'TXT', host => 'defaults.example.com', value => $SPF, purpose => 'spf', status => 'pending' },
    'SPF row for defaults.example.com';
my ($p2) = ($d->{dns_records}[0]{value} // '') =~ /p=(\S+)\z/;
ok defined $p2 && $p2 ne $page_p, 'each domain gets its own DKIM key';

# charset=utf-8 is accepted; every explicit field.
$r = api(POST => 'domains', token => $tenant_a,
         body => '{"domain":"explicit.example.com","dmarc_policy":"reject",'
               . '"dmarc_rua_email":null,"is_active":false,"is_shared":false,'
               . '"tenant_id":"t_create_a"}',
         content_type => 'application/json; charset=utf-8');
status_is $r, 201, 'Content-Type application/json; charset=utf-8 and every writable field: 201';
$d = ref $r->{json} eq 'HASH' ? $r->{json} : {};
is $d->{dmarc_policy}, 'reject', 'dmarc_policy reject stored';
ok is_false($d->{is_active}), 'is_active false stored';
ok exists $d->{dmarc_rua_email} && !defined $d->{dmarc_rua_email}, 'dmarc_rua_email null stored';
is $d->{tenant_id}, $TA, 'tenant_admin may name its own tenant_id';
is(($d->{dns_records}[2] // {})->{value}, 'v=DMARC1; p=reject', 'DMARC value p=reject');

# ---------------------------------------------------------------------------
# 3. Shared domain example of the page, by a partner operator.
$r = api(POST => '/api/admin/domains', token => $operator,
         body => qq({"domain": "noreply.platform.example", "is_shared": true}\n),
         content_type => 'application/json');
status_is $r, 201, 'page\'s shared-domain example by a partner operator: 201';
$d = ref $r->{json} eq 'HASH' ? $r->{json} : {};
my $shared_id = $d->{id} // '';
like $shared_id, ID_RE, 'shared domain id';
is $d->{domain}, 'noreply.platform.example', 'shared domain name (.example accepted)';
ok is_true($d->{is_shared}), 'is_shared: JSON true';
ok exists $d->{tenant_id} && !defined $d->{tenant_id}, 'tenant_id null for a partner-owned domain';
is $d->{partner_id}, $P, 'partner_id of the operator';
is_deeply [ top_keys($r->{body}) ], \@KEY_ORDER, 'key order of a partner domain';
is $r->{headers}->header('Location'), "/api/admin/domains/$shared_id", 'Location of the shared domain';

# ---------------------------------------------------------------------------
# 4. Partner operator creating a tenant's domain.
$r = api(POST => 'domains', token => $operator,
         json => { domain => 'tenant-made.example.com', tenant_id => 't_create_b' });
status_is $r, 201, 'partner operator creates for tenant t_create_b: 201';
$d = ref $r->{json} eq 'HASH' ? $r->{json} : {};
is $d->{tenant_id}, 't_create_b', 'tenant_id is the one in the body';
is $d->{partner_id}, $P, 'partner_id of the operator';
ok is_false($d->{is_shared}), 'tenant domain is not shared';
$g = api(GET => "domains/" . ($d->{id} // 'none'), token => $tenant_b);
status_is $g, 200, 'tenant t_create_b can read the domain made for it';
$g = api(GET => "domains/" . ($d->{id} // 'none'), token => $tenant_a);
error_is $g, 404, 'not_found', 'tenant t_create_a cannot see t_create_b\'s domain';

# ---------------------------------------------------------------------------
# 5. Duplicates for one owner: 409, whatever the case or trailing dot.
for my $dup ('mail.example.com', 'Mail.Example.COM.', 'MAIL.EXAMPLE.COM', 'mail.example.com.') {
    $r = api(POST => 'domains', token => $tenant_a, json => { domain => $dup });
    error_is $r, 409, 'domain_exists', "duplicate '$dup' for the same tenant: 409 domain_exists",
        field => 'domain';
}
$r = api(POST => 'domains', token => $operator,
         json => { domain => 'NoReply.Platform.Example.', is_shared => JSON::PP::true });
error_is $r, 409, 'domain_exists', 'duplicate partner domain (case, trailing dot): 409',
    field => 'domain';
$r = api(POST => 'domains', token => $operator,
         json => { domain => 'mail.example.com', tenant_id => $TA });
error_is $r, 409, 'domain_exists',
    'operator creating a name the tenant already holds, for that tenant: 409', field => 'domain';

# Different owners may hold the same name.
$r = api(POST => 'domains', token => $tenant_c, json => { domain => 'Mail.Example.COM.' });
status_is $r, 201, 'another tenant of the same partner creates "Mail.Example.COM.": 201';
$d = ref $r->{json} eq 'HASH' ? $r->{json} : {};
is $d->{domain}, 'mail.example.com', 'stored lower-case without trailing dot';
isnt $d->{id}, $id, 'a different record';
is $d->{tenant_id}, 't_create_c', 'owned by the other tenant';
my ($pc) = (($d->{dns_records} // [])->[0]{value} // '') =~ /p=(\S+)\z/;
ok defined $pc && $pc ne $page_p, 'with its own DKIM key';
$r = api(POST => 'domains', token => $other_partner_tenant,
         json => { domain => 'mail.example.com' });
status_is $r, 201, 'a tenant of another partner creates mail.example.com: 201';
$r = api(POST => 'domains', token => $operator, json => { domain => 'mail.example.com' });
status_is $r, 201, 'the partner itself (partner-owned) creates mail.example.com: 201';
ok exists(($r->{json} // {})->{tenant_id}) && !defined $r->{json}{tenant_id},
    'partner-owned copy has tenant_id null';

# Only one record of tenant A for the name.
$g = api(GET => 'domains?q=mail.example.com', token => $tenant_a);
status_is $g, 200, 'tenant A list filtered by q';
is_deeply ids_of($g), [$id], 'tenant A holds mail.example.com exactly once';

# ---------------------------------------------------------------------------
# 6. Unicode domain -> punycode + domain_unicode.
$r = api(POST => 'domains', token => $tenant_a, json => { domain => 'bücher.example' });
status_is $r, 201, 'IDN bücher.example: 201';
$d = ref $r->{json} eq 'HASH' ? $r->{json} : {};
is $d->{domain}, 'xn--bcher-kva.example', 'domain stored as A-label (punycode)';
is $d->{domain_unicode}, 'bücher.example', 'domain_unicode is the U-label';
is_deeply [ top_keys($r->{body}) ],
    [ @KEY_ORDER[0, 1], 'domain_unicode', @KEY_ORDER[2 .. $#KEY_ORDER] ],
    'domain_unicode comes right after domain';
is_deeply [ map { $_->{host} } @{ $d->{dns_records} || [] } ],
    [ 'scaisend._domainkey.xn--bcher-kva.example', 'xn--bcher-kva.example',
      '_dmarc.xn--bcher-kva.example' ],
    'DNS hosts use the A-label';
my $idn_id = $d->{id} // 'none';
$g = api(GET => "domains/$idn_id", token => $tenant_a);
is $g->{json}{domain_unicode}, 'bücher.example', 'GET returns domain_unicode too';
$r = api(POST => 'domains', token => $tenant_a, json => { domain => 'xn--bcher-kva.example' });
error_is $r, 409, 'domain_exists', 'A-label spelling of the same IDN: 409', field => 'domain';
$r = api(POST => 'domains', token => $tenant_a, json => { domain => 'bücher.example.' });
error_is $r, 409, 'domain_exists', 'U-label with trailing dot: 409', field => 'domain';

# Raw UTF-8 body (not \u escapes) works the same way.
$r = api(POST => 'domains', token => $tenant_a,
         body => "{\"domain\":\"m\xc3\xbcnchen.example\"}");
status_is $r, 201, 'raw UTF-8 IDN body: 201';
is(($r->{json} // {})->{domain}, 'xn--mnchen-3ya.example', 'münchen.example -> xn--mnchen-3ya.example');
$r = api(POST => 'domains', token => $tenant_a,
         body => '{"domain":"k\u00f6ln.example"}');
status_is $r, 201, '\u00f6 escape in the domain: 201';
is(($r->{json} // {})->{domain}, 'xn--kln-sna.example', 'köln.example -> xn--kln-sna.example');

# ---------------------------------------------------------------------------
# 7. Length boundaries that must be accepted.
# labels of 63 characters; a 220-character domain leaves room for
# "<selector>._domainkey." within 253 (the module reserves room for rotated
# selectors, so the exact upper bound is its choice).
my $l63 = 'a' x 63;
$r = api(POST => 'domains', token => $tenant_a, json => { domain => "$l63.example" });
status_is $r, 201, 'a label of exactly 63 characters: 201';
my $d220 = join(q(.), (q(b) x 63) x 3) . q(.) . (q(c) x (220 - 192 - 8)) . q(.example);
$r = api(POST => 'domains', token => $tenant_a, json => { domain => $d220 });
status_is $r, 201, 'a 220-character domain: 201';
is(($r->{json} // {})->{dns_records}[0]{host}, "scaisend._domainkey.$d220",
    'its DKIM host is scaisend._domainkey.<domain> (240 characters)');
$r = api(POST => 'domains', token => $tenant_a, json => { domain => 'a.b.c.d.e.example.test' });
status_is $r, 201, 'deep subdomain under .test: 201';
$r = api(POST => 'domains', token => $tenant_a, json => { domain => 'x-1.y2.example.org' });
status_is $r, 201, 'hyphens and digits inside labels: 201';
is_deeply [ private_material($r->{body}) ], [], 'no private key material';
