# Every route of the domain resource: GET one, list (order, pagination,
# filters), PATCH, DELETE, dns-records (JSON and zone), dkim-keys; no private
# key material in any response.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);

plan tests => 134;

my $P  = 'p_routes';
my $TA = 't_routes_a';
my $tenant   = token(sub => 'routes-alice', partner_id => $P, tenant_id => $TA,
                     role => 'tenant_admin');
my $operator = token(sub => 'routes-olga', partner_id => $P, tenant_id => undef,
                     role => 'partner_operator');
my $T = JSON::PP::true;
my $F = JSON::PP::false;
my $SPF = 'v=spf1 include:scaisend.scailabs.ai ~all';

# Every response body of this file is checked for private key material.
my @bodies;
sub call {
    my $r = api(@_);
    push @bodies, [ "$_[0] $_[1] -> $r->{status}", $r->{body} ];
    return $r;
}
sub obj { ref $_[0]{json} eq 'HASH' ? $_[0]{json} : {} }

# ---------------------------------------------------------------------------
# Five tenant domains, created one after the other.
my (@ids, %obj);
for my $n (1 .. 5) {
    my %body = (domain => "r$n.routes.example");
    %body = (%body, dmarc_policy => 'quarantine', dmarc_rua_email => 'agg@routes.example')
        if $n == 1;
    my $r = call(POST => 'domains', token => $tenant, json => \%body);
    status_is $r, 201, "create r$n.routes.example: 201";
    push @ids, obj($r)->{id} // "missing-$n";
    $obj{ $ids[-1] } = obj($r);
    select undef, undef, undef, 0.01;
}
my ($id1, $id2, $id3, $id4, $id5) = @ids;
my $create1 = $obj{$id1};

# GET one.
my $r = call(GET => "domains/$id1", token => $tenant);
status_is $r, 200, 'GET /domains/{id}: 200';
like $r->{headers}->header('Content-Type') // '', qr{\Aapplication/json\s*(?:;|\z)},
    'GET one: application/json';
is_deeply obj($r), $create1, 'GET one returns the same object as create';
is_deeply [ top_keys($r->{body}) ],
    [qw(id domain verified dkim_selector dmarc_policy dmarc_rua_email is_shared
        is_active dns_records partner_id tenant_id created_at updated_at
        verified_at last_verification verification_state dkim_algorithms)],
    'GET one: key order as documented (§2), then the additions of §9 and §10';

# List: newest first, shape.
$r = call(GET => 'domains', token => $tenant);
status_is $r, 200, 'GET /domains: 200';
is_deeply [ top_keys($r->{body}) ], [qw(data next_cursor)], 'list: keys data, next_cursor';
is_deeply ids_of($r), [ reverse @ids ], 'list: the five domains, newest first';
ok exists obj($r)->{next_cursor} && !defined obj($r)->{next_cursor},
    'list: next_cursor null when everything fits';
is_deeply obj($r)->{data}[-1], $create1, 'list rows are full domain objects';

# Pagination with limit=2: 2 + 2 + 1.
my (@walked, @pages, $cursor, %seen_cursor);
for my $page (1 .. 6) {
    my $qs = 'limit=2' . (defined $cursor ? "&cursor=$cursor" : '');
    $r = call(GET => "domains?$qs", token => $tenant);
    last unless $r->{status} == 200;
    push @pages, scalar @{ ids_of($r) };
    push @walked, @{ ids_of($r) };
    $cursor = obj($r)->{next_cursor};
    last unless defined $cursor;
    last if $seen_cursor{$cursor}++;
}
is_deeply \@pages, [2, 2, 1], 'limit=2 over 5 domains: pages of 2, 2, 1';
is_deeply \@walked, [ reverse @ids ], 'the cursor walks all five exactly once, newest first';
ok !defined $cursor, 'last page: next_cursor null';
$r = call(GET => 'domains?limit=5', token => $tenant);
is scalar @{ ids_of($r) }, 5, 'limit=5: all five';
$r = call(GET => 'domains?limit=200', token => $tenant);
status_is $r, 200, 'limit=200 (maximum) accepted';
$r = call(GET => 'domains?limit=1', token => $tenant);
is_deeply ids_of($r), [$id5], 'limit=1: newest only';
is obj($r)->{next_cursor}, $id5, 'next_cursor is the id of the last row';

# A partner-owned shared domain shows up in the tenant's list.
$r = call(POST => 'domains', token => $operator,
          json => { domain => 'shared.routes.example', is_shared => $T });
status_is $r, 201, 'partner operator creates shared.routes.example: 201';
my $sid = obj($r)->{id} // 'missing-shared';
$r = call(POST => 'domains', token => $operator,
          json => { domain => 'private.routes.example' });
status_is $r, 201, 'partner operator creates unshared private.routes.example: 201';
my $pid = obj($r)->{id} // 'missing-private';
$r = call(GET => 'domains', token => $tenant);
is_deeply ids_of($r), [ $sid, reverse @ids ],
    'tenant list: the shared partner domain plus its own, not the unshared one';

# ---------------------------------------------------------------------------
# PATCH.
$r = call(PATCH => "domains/$id2", token => $tenant, json => { is_active => $F });
status_is $r, 200, 'PATCH is_active false: 200';
ok JSON::PP::is_bool(obj($r)->{is_active}) && !obj($r)->{is_active}, 'is_active is false';
is obj($r)->{id}, $id2, 'PATCH returns the updated object';

# Filters.
my %filters = (
    'verified=false'                  => [ $sid, reverse @ids ],
    'verified=true'                   => [],
    'is_active=false'                 => [$id2],
    'is_active=true'                  => [ $sid, $id5, $id4, $id3, $id1 ],
    'is_shared=true'                  => [$sid],
    'is_shared=false'                 => [ reverse @ids ],
    'q=r3'                            => [$id3],
    'q=routes.example'                => [ $sid, reverse @ids ],
    'q=nomatch-xyz'                   => [],
    'is_active=true&is_shared=false'  => [ $id5, $id4, $id3, $id1 ],
    'is_active=true&q=r&limit=10'     => [ $sid, $id5, $id4, $id3, $id1 ],
);
for my $f (sort keys %filters) {
    $r = call(GET => "domains?$f", token => $tenant);
    is_deeply [ $r->{status}, ids_of($r) ], [ 200, $filters{$f} ], "list filter ?$f";
}
$r = call(GET => 'domains?is_shared=true', token => $operator);
is_deeply ids_of($r), [$sid], 'operator: is_shared=true shows only the shared domain';
$r = call(GET => 'domains?is_shared=false', token => $operator);
is_deeply ids_of($r), [ $pid, reverse @ids ], 'operator: is_shared=false shows the rest of the partner';
# pagination with a filter
$r = call(GET => 'domains?is_active=true&limit=2', token => $tenant);
my $c = obj($r)->{next_cursor};
my @f = @{ ids_of($r) };
$r = call(GET => "domains?is_active=true&limit=2&cursor=" . ($c // ''), token => $tenant);
push @f, @{ ids_of($r) };
is_deeply \@f, [ $sid, $id5, $id4, $id3 ], 'cursor keeps the filter: second page of is_active=true';

$r = call(PATCH => "domains/$id2", token => $tenant, json => { is_active => $T });
status_is $r, 200, 'PATCH is_active true: 200';
ok JSON::PP::is_bool(obj($r)->{is_active}) && obj($r)->{is_active}, 'is_active is true again';

# dmarc_policy and rua change the DMARC record.
$r = call(PATCH => "domains/$id1", token => $tenant, json => { dmarc_policy => 'reject' });
status_is $r, 200, 'PATCH dmarc_policy reject: 200';
is obj($r)->{dmarc_policy}, 'reject', 'dmarc_policy is reject';
is_deeply obj($r)->{dns_records}[2],
    { type => 'TXT', host => '_dmarc.r1.routes.example',
      value => 'v=DMARC1; p=reject; rua=mailto:agg@routes.example', purpose => 'dmarc', status => 'pending' },
    'DMARC record reflects p=reject (rua kept)';
is_deeply obj($r)->{dns_records}[0], $create1->{dns_records}[0], 'DKIM record unchanged';
ok((rfc3339_epoch(obj($r)->{updated_at}) // 0) >= (rfc3339_epoch($create1->{created_at}) // 9e9),
   'updated_at not before created_at');
is obj($r)->{created_at}, $create1->{created_at}, 'created_at unchanged';

$r = call(PATCH => "domains/$id1", token => $tenant,
          json => { dmarc_rua_email => 'new-agg@routes.example' });
status_is $r, 200, 'PATCH dmarc_rua_email: 200';
is obj($r)->{dmarc_rua_email}, 'new-agg@routes.example', 'dmarc_rua_email changed';
is obj($r)->{dns_records}[2]{value}, 'v=DMARC1; p=reject; rua=mailto:new-agg@routes.example',
    'DMARC record has the new rua';

$r = call(PATCH => "domains/$id1", token => $tenant, body => '{"dmarc_rua_email":null}');
status_is $r, 200, 'PATCH dmarc_rua_email null: 200';
ok exists obj($r)->{dmarc_rua_email} && !defined obj($r)->{dmarc_rua_email},
    'dmarc_rua_email is null';
is obj($r)->{dns_records}[2]{value}, 'v=DMARC1; p=reject', 'DMARC record without rua';

$r = call(PATCH => "domains/$id1", token => $tenant,
          json => { dmarc_policy => 'none', dmarc_rua_email => 'x@routes.example',
                    is_active => $T });
status_is $r, 200, 'PATCH several fields at once: 200';
is obj($r)->{dns_records}[2]{value}, 'v=DMARC1; p=none; rua=mailto:x@routes.example',
    'DMARC record p=none with rua';
$r = call(PATCH => "domains/$id1", token => $tenant, json => { dmarc_policy => 'reject',
                                                               dmarc_rua_email => undef });
status_is $r, 200, 'PATCH back to reject, no rua: 200';

my $before = call(GET => "domains/$id1", token => $tenant);
is obj($before)->{dns_records}[2]{value}, 'v=DMARC1; p=reject', 'GET shows the patched DMARC record';
$r = call(PATCH => "domains/$id1", token => $tenant, json => {});
status_is $r, 200, 'PATCH {}: 200';
is_deeply obj($r), obj($before), 'PATCH {}: object unchanged';

# Bad PATCHes: exact errors, nothing changes.
my @bad_patch = (
    [ 'domain',            { domain => 'other.routes.example' }, 400, 'read_only_field', 'domain' ],
    [ 'tenant_id',         { tenant_id => 't_routes_b' },        400, 'read_only_field', 'tenant_id' ],
    [ 'id',                { id => $id2 },                       400, 'read_only_field', 'id' ],
    [ 'verified',          { verified => $T },                   400, 'read_only_field', 'verified' ],
    [ 'dkim_selector',     { dkim_selector => 'x' },             400, 'read_only_field', 'dkim_selector' ],
    [ 'partner_id',        { partner_id => 'p_other' },          400, 'read_only_field', 'partner_id' ],
    [ 'dns_records',       { dns_records => [] },                400, 'read_only_field', 'dns_records' ],
    [ 'created_at',        { created_at => '2020-01-01T00:00:00Z' }, 400, 'read_only_field', 'created_at' ],
    [ 'unknown foo',       { foo => 1 },                         400, 'unknown_field', 'foo' ],
    [ 'dmarc_policy block', { dmarc_policy => 'block' },         400, 'invalid_value', 'dmarc_policy' ],
    [ 'is_active "no"',    { is_active => 'no' },                400, 'invalid_type', 'is_active' ],
    [ 'rua with ;',        { dmarc_rua_email => 'a@x.example;ruf=mailto:b@x.example' },
      400, 'invalid_email', 'dmarc_rua_email' ],
    [ 'valid field + read-only field', { is_active => $F, domain => 'y.routes.example' },
      400, 'read_only_field', 'domain' ],
);
for my $c (@bad_patch) {
    my ($name, $body, $st, $code, $field) = @$c;
    $r = call(PATCH => "domains/$id1", token => $tenant, json => $body);
    error_is $r, $st, $code, "PATCH $name: $st $code", field => $field;
}
$r = call(PATCH => "domains/$id1", token => $tenant, body => '{"is_active":false',
          content_type => 'application/json');
error_is $r, 400, 'invalid_json', 'PATCH malformed JSON: 400 invalid_json';
$r = call(PATCH => "domains/$id1", token => $tenant, body => '{"is_active":false}',
          content_type => 'text/plain');
error_is $r, 415, 'unsupported_media_type', 'PATCH text/plain: 415';
$r = call(PATCH => "domains/$id1", token => $tenant, body => '[]');
error_is $r, 400, 'invalid_json', 'PATCH top-level array: 400 invalid_json';
$r = call(GET => "domains/$id1", token => $tenant);
is_deeply obj($r), obj($before), 'after the rejected PATCHes the object is unchanged';

# Partner operator: is_shared on a partner domain, not on a tenant domain.
$r = call(PATCH => "domains/$id3", token => $operator, json => { is_shared => $T });
error_is $r, 400, 'invalid_value', 'operator PATCH is_shared true on a tenant domain: 400',
    field => 'is_shared';
$r = call(PATCH => "domains/$pid", token => $operator, json => { is_shared => $T });
status_is $r, 200, 'operator PATCH is_shared true on its partner domain: 200';
ok JSON::PP::is_bool(obj($r)->{is_shared}) && obj($r)->{is_shared}, 'is_shared is true';
$r = call(GET => "domains/$pid", token => $tenant);
status_is $r, 200, 'the newly shared domain is readable by the tenant';
$r = call(PATCH => "domains/$pid", token => $operator, json => { is_shared => $F });
ok $r->{status} == 200 && JSON::PP::is_bool(obj($r)->{is_shared}) && !obj($r)->{is_shared},
    'operator PATCH is_shared false: 200, false';
$r = call(GET => "domains/$pid", token => $tenant);
error_is $r, 404, 'not_found', 'unshared again: the tenant gets 404';

# ---------------------------------------------------------------------------
# dns-records.
$r = call(GET => "domains/$id1/dns-records", token => $tenant);
status_is $r, 200, 'GET dns-records: 200';
like $r->{headers}->header('Content-Type') // '', qr{\Aapplication/json\s*(?:;|\z)},
    'dns-records: application/json';
is_deeply [ top_keys($r->{body}) ], [qw(id domain dns_records)], 'dns-records keys: id, domain, dns_records';
is obj($r)->{id}, $id1, 'dns-records id';
is obj($r)->{domain}, 'r1.routes.example', 'dns-records domain';
is_deeply obj($r)->{dns_records}, obj($before)->{dns_records},
    'dns-records rows equal the domain object\'s dns_records';
$r = call(GET => "domains/$id4/dns-records", token => $tenant);
is_deeply obj($r)->{dns_records}, $obj{$id4}{dns_records},
    'dns-records rows equal the create response\'s dns_records';

my $dkim_value = $create1->{dns_records}[0]{value} // '';
$r = call(GET => "domains/$id1/dns-records?format=zone", token => $tenant);
status_is $r, 200, '?format=zone: 200';
like $r->{headers}->header('Content-Type') // '', qr{\Atext/dns\s*(?:;|\z)}, '?format=zone: Content-Type text/dns';
my @lines = grep { length } split /\r?\n/, $r->{body} // '';
is scalar @lines, 3, 'zone: three lines';
my ($host, $strings) = ($lines[0] // '') =~
    /\A(\S+)[ \t]+3600[ \t]+IN[ \t]+TXT[ \t]+((?:"[^"\\]*"[ \t]*)+)\z/;
is $host, 'scaisend._domainkey.r1.routes.example.', 'zone DKIM line: owner name with trailing dot, TTL 3600, IN TXT';
my @parts = ($strings // '') =~ /"([^"]*)"/g;
is scalar(grep { length > 255 } @parts), 0, 'zone DKIM line: every string at most 255 bytes';
is scalar @parts, 2, 'zone DKIM line: 410-byte value in two strings';
is join('', @parts), $dkim_value, 'zone DKIM line: strings concatenate to the DKIM value';
is $lines[1], qq(r1.routes.example. 3600 IN TXT "$SPF"), 'zone SPF line';
is $lines[2], qq(_dmarc.r1.routes.example. 3600 IN TXT "v=DMARC1; p=reject"), 'zone DMARC line';

$r = call(GET => "domains/$id1/dns-records?format=xml", token => $tenant);
error_is $r, 400, 'invalid_parameter', '?format=xml: 400 invalid_parameter', field => 'format';
$r = call(GET => "domains/$id1/dns-records?bogus=1", token => $tenant);
error_is $r, 400, 'invalid_parameter', 'dns-records ?bogus=1: 400 invalid_parameter';

# ---------------------------------------------------------------------------
# dkim-keys.
$r = call(GET => "domains/$id1/dkim-keys", token => $tenant);
status_is $r, 200, 'GET dkim-keys: 200';
is_deeply [ top_keys($r->{body}) ], [qw(id domain data)], 'dkim-keys keys: id, domain, data';
is obj($r)->{id}, $id1, 'dkim-keys id';
is obj($r)->{domain}, 'r1.routes.example', 'dkim-keys domain';
my $keys = ref obj($r)->{data} eq 'ARRAY' ? obj($r)->{data} : [];
is scalar @$keys, 1, 'exactly one key';
my $k = ref $keys->[0] eq 'HASH' ? $keys->[0] : {};
# behaviour.md lists these fields; additions (e.g. the DNS check status) are allowed.
is_deeply [ grep { !exists $k->{$_} } qw(selector state bits host value created_at activated_at retired_at) ],
    [], 'key fields include selector state bits host value created_at activated_at retired_at';
is_deeply { map { $_ => $k->{$_} } qw(selector state bits host value) },
    { selector => 'scaisend', state => 'active', bits => 2048,
      host => 'scaisend._domainkey.r1.routes.example', value => $dkim_value },
    'the key: scaisend, active, 2048 bits, host and value as published';
like $r->{body}, qr/"bits"\s*:\s*2048\s*[,}]/, 'bits is a JSON number';
ok is_rfc3339($k->{created_at}) && is_rfc3339($k->{activated_at}),
    'created_at and activated_at are RFC 3339';
ok exists $k->{retired_at} && !defined $k->{retired_at}, 'retired_at null';

# ---------------------------------------------------------------------------
# DELETE.
$r = call(DELETE => "domains/$id5", token => $tenant);
status_is $r, 204, 'DELETE: 204';
is $r->{body}, '', 'DELETE: empty body';
$r = call(GET => "domains/$id5", token => $tenant);
error_is $r, 404, 'not_found', 'GET after DELETE: 404 not_found';
$r = call(DELETE => "domains/$id5", token => $tenant);
error_is $r, 404, 'not_found', 'DELETE again: 404 not_found';
$r = call(GET => "domains/$id5/dns-records", token => $tenant);
error_is $r, 404, 'not_found', 'dns-records after DELETE: 404';
$r = call(GET => "domains/$id5/dkim-keys", token => $tenant);
error_is $r, 404, 'not_found', 'dkim-keys after DELETE: 404';
$r = call(PATCH => "domains/$id5", token => $tenant, json => { is_active => $F });
error_is $r, 404, 'not_found', 'PATCH after DELETE: 404';
$r = call(GET => 'domains?is_shared=false', token => $tenant);
is_deeply ids_of($r), [ $id4, $id3, $id2, $id1 ], 'list after DELETE: the deleted domain is gone';
$r = call(POST => 'domains', token => $tenant, json => { domain => 'r5.routes.example' });
status_is $r, 201, 'the deleted name can be created again: 201';
isnt obj($r)->{id}, $id5, 'with a new id';

# ---------------------------------------------------------------------------
# Malformed and unknown ids.
for my $bad ('dom_xyz', 'dom_01JD3Z8Q5K6M7N8P9R0S1T2V3W', lc($id1), "${id1}x",
             "dom_'%20OR%20'1'='1") {
    $r = call(GET => "domains/$bad", token => $tenant);
    error_is $r, 404, 'not_found', "GET /domains/$bad: 404 not_found";
}
$r = call(GET => '/api/admin/domains/../etc', token => $tenant);
error_is $r, 404, 'not_found', 'GET /api/admin/domains/../etc: 404 not_found';
$r = call(GET => "/api/admin/domains/..%2Fetc", token => $tenant);
status_is $r, 404, 'GET /api/admin/domains/..%2Fetc: 404';
$r = call(DELETE => 'domains/dom_xyz', token => $tenant);
error_is $r, 404, 'not_found', 'DELETE /domains/dom_xyz: 404 not_found';
$r = call(PATCH => 'domains/dom_xyz', token => $tenant, json => {});
error_is $r, 404, 'not_found', 'PATCH /domains/dom_xyz: 404 not_found';
$r = call(GET => 'domains/dom_xyz/dns-records', token => $tenant);
error_is $r, 404, 'not_found', 'dns-records of dom_xyz: 404 not_found';
$r = call(GET => 'domains/dom_xyz/dkim-keys', token => $tenant);
error_is $r, 404, 'not_found', 'dkim-keys of dom_xyz: 404 not_found';

# ---------------------------------------------------------------------------
my @leaks = map { my $b = $_; map { "$b->[0]: $_" } private_material($b->[1]) } @bodies;
is_deeply \@leaks, [], 'no private key material in any of ' . scalar(@bodies) . ' response bodies';
