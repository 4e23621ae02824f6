# Bad input on POST /api/admin/domains and GET /api/admin/domains: exact
# status, error code and field for each; then nothing half-written.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);

{
    my $tb = Test::More->builder;
    binmode $tb->$_, ":encoding(UTF-8)" for qw(output failure_output todo_output);
}

my $P  = 'p_val';
my $TA = 't_val_a';
my $tenant   = token(sub => 'val-alice', partner_id => $P, tenant_id => $TA,
                     role => 'tenant_admin');
my $operator = token(sub => 'val-olga', partner_id => $P, tenant_id => undef,
                     role => 'partner_operator');

my $JSON = JSON::PP->new->utf8->canonical;
sub enc { $JSON->encode($_[0]) }
sub with_domain { my ($dom) = @_; enc({ domain => $dom }) }
sub rua { my ($addr) = @_; enc({ domain => 'rua.val.example', dmarc_rua_email => $addr }) }

my $T = JSON::PP::true;
my $F = JSON::PP::false;

# --- domain names -----------------------------------------------------------
my $l63 = 'a' x 63;
my $d254 = join('.', ($l63) x 3) . '.' . ('b' x 54) . '.example';
die "length" unless length $d254 == 254;
my $d240 = join('.', ($l63) x 3) . '.' . ('c' x 40) . '.example';
die "length" unless length $d240 == 240;

# [name, body, status, code, field, %opt]
my @create_cases = (
    # invalid_domain
    map({ [ "domain: $_->[0]", with_domain($_->[1]), 400, 'invalid_domain', 'domain' ] }
        [ '254 characters', $d254 ],
        [ '240 characters (selector host would exceed 253)', $d240 ],
        [ 'label of 64 characters', ('a' x 64) . '.example' ],
        [ 'IPv4 literal 192.0.2.1', '192.0.2.1' ],
        [ 'IPv4 literal with trailing dot', '192.0.2.1.' ],
        [ 'IPv6 literal ::1', '::1' ],
        [ 'IPv6 literal 2001:db8::1', '2001:db8::1' ],
        [ 'bracketed IPv6 [::1]', '[::1]' ],
        [ 'public suffix com', 'com' ],
        [ 'public suffix co.uk', 'co.uk' ],
        [ 'public suffix github.io', 'github.io' ],
        [ 'public suffix CO.UK. (normalised first)', 'CO.UK.' ],
        [ 'underscore', 'mail_out.example.com' ],
        [ 'underscore label _dmarc', '_dmarc.example.com' ],
        [ 'empty label a..example', 'a..example' ],
        [ 'leading dot', '.example.com' ],
        [ 'two trailing dots', 'example.com..' ],
        [ 'leading hyphen', '-mail.example.com' ],
        [ 'trailing hyphen', 'mail-.example.com' ],
        [ 'single label', 'intranet' ],
        [ 'localhost', 'localhost' ],
        [ 'localhost.', 'localhost.' ],
        [ 'x.local', 'x.local' ],
        [ 'x.invalid', 'x.invalid' ],
        [ 'x.onion', 'x.onion' ],
        [ '1.in-addr.arpa', '1.in-addr.arpa' ],
        [ 'provider domain scailabs.ai', 'scailabs.ai' ],
        [ 'provider subdomain mail.scailabs.ai', 'mail.scailabs.ai' ],
        [ 'provider domain Upper-case SCAILABS.AI.', 'SCAILABS.AI.' ],
        [ 'inner space', 'mail example.com' ],
        [ 'leading space', ' mail.example.com' ],
        [ 'trailing newline', "mail.example.com\n" ],
        [ 'empty string', '' ],
        [ 'single dot', '.' ],
        [ 'slash', 'mail.example.com/x' ],
        [ 'port', 'mail.example.com:25' ],
        [ 'at sign', 'user@example.com' ],
        [ 'asterisk wildcard', '*.example.com' ],
        [ 'semicolon', 'a;b.example.com' ],
    ),
    # invalid_email
    map({ [ "dmarc_rua_email: $_->[0]", rua($_->[1]), 400, 'invalid_email', 'dmarc_rua_email' ] }
        [ 'semicolon (tag injection)', 'a@val.example; ruf=mailto:x@evil.example' ],
        [ 'semicolon without space', 'a@val.example;p=none' ],
        [ 'comma (second URI)', 'a@val.example,mailto:x@evil.example' ],
        [ 'exclamation mark (size limit)', 'a@val.example!10m' ],
        [ 'carriage return', "a\@val.example\rx" ],
        [ 'line feed', "a\@val.example\nx" ],
        [ 'CRLF', "a\@val.example\r\nX-Injected: 1" ],
        [ 'space', 'a @val.example' ],
        [ 'tab (control)', "a\t\@val.example" ],
        [ 'non-ASCII', 'dmärc@val.example' ],
        [ 'two @', 'a@b@val.example' ],
        [ 'no @', 'reports.val.example' ],
        [ 'over 254 characters', ('r' x 246) . '@val.example' ],
        [ 'empty string', '' ],
    ),
    # invalid_json
    map({ [ "JSON: $_->[0]", $_->[1], 400, 'invalid_json', undef ] }
        [ 'unterminated object', '{"domain": "j1.val.example"' ],
        [ 'unquoted key', '{domain: "j2.val.example"}' ],
        [ 'single quotes', q({'domain': 'j3.val.example'}) ],
        [ 'trailing comma', '{"domain": "j4.val.example",}' ],
        [ 'duplicate key', '{"domain":"j5.val.example","domain":"j6.val.example"}' ],
        [ 'duplicate key, other field', '{"domain":"j5b.val.example","dmarc_policy":"none","dmarc_policy":"reject"}' ],
        [ '\u0000 inside the domain', '{"domain":"j7\u0000.val.example"}' ],
        [ '\u0000 inside the rua', '{"domain":"j8.val.example","dmarc_rua_email":"a\u0000@val.example"}' ],
        [ '\u0000 inside a key', '{"domain\u0000":"j9.val.example"}' ],
        [ 'nesting depth 9', '{"domain":"j10.val.example","x":' . ('[' x 8) . '1' . (']' x 8) . '}' ],
        [ 'nesting depth 5000', '{"x":' . ('[' x 4999) . (']' x 4999) . '}' ],
        [ 'trailing garbage', '{"domain":"j11.val.example"} x' ],
        [ 'two objects', '{"domain":"j12.val.example"}{"domain":"j13.val.example"}' ],
        [ 'top-level array', '[{"domain":"j14.val.example"}]' ],
        [ 'top-level string', '"j15.val.example"' ],
        [ 'top-level null', 'null' ],
        [ 'top-level number', '42' ],
        [ 'empty body', '' ],
        [ 'only whitespace', "  \n " ],
        [ 'invalid UTF-8 (0xff 0xfe)', "{\"domain\":\"\xff\xfej16.val.example\"}" ],
        [ 'overlong UTF-8 (0xc0 0xaf)', "{\"domain\":\"j17\xc0\xaf.val.example\"}" ],
        [ 'truncated UTF-8 sequence', "{\"domain\":\"j18\xc3.val.example\"}" ],
        [ 'bare literal tru', '{"domain":"j19.val.example","is_active":tru}' ],
        [ 'raw control character in string', "{\"domain\":\"j20\x01.val.example\"}" ],
        [ 'bad escape \x', '{"domain":"j21\x41.val.example"}' ],
    ),
    # invalid_type
    map({ [ "type: $_->[0]", $_->[1], 400, 'invalid_type', $_->[2] ] }
        [ 'domain number', enc({ domain => 123 }), 'domain' ],
        [ 'domain null', '{"domain":null}', 'domain' ],
        [ 'domain array', enc({ domain => ['t1.val.example'] }), 'domain' ],
        [ 'domain object', enc({ domain => { name => 't2.val.example' } }), 'domain' ],
        [ 'domain boolean', enc({ domain => $T }), 'domain' ],
        [ 'dmarc_policy number', enc({ domain => 't3.val.example', dmarc_policy => 1 }), 'dmarc_policy' ],
        [ 'dmarc_policy array', enc({ domain => 't4.val.example', dmarc_policy => ['none'] }), 'dmarc_policy' ],
        [ 'dmarc_rua_email number', enc({ domain => 't5.val.example', dmarc_rua_email => 42 }), 'dmarc_rua_email' ],
        [ 'dmarc_rua_email boolean', enc({ domain => 't6.val.example', dmarc_rua_email => $T }), 'dmarc_rua_email' ],
        [ 'is_active string "false"', enc({ domain => 't7.val.example', is_active => 'false' }), 'is_active' ],
        [ 'is_active number 0', '{"domain":"t8.val.example","is_active":0}', 'is_active' ],
        [ 'is_active null', '{"domain":"t9.val.example","is_active":null}', 'is_active' ],
        [ 'is_shared string "true"', enc({ domain => 't10.val.example', is_shared => 'true' }), 'is_shared' ],
        [ 'is_shared number 1', '{"domain":"t11.val.example","is_shared":1}', 'is_shared' ],
        [ 'tenant_id number', '{"domain":"t12.val.example","tenant_id":5}', 'tenant_id' ],
    ),
    # invalid_value
    [ 'dmarc_policy "block"', enc({ domain => 'v1.val.example', dmarc_policy => 'block' }),
      400, 'invalid_value', 'dmarc_policy' ],
    [ 'dmarc_policy "Reject" (case)', enc({ domain => 'v2.val.example', dmarc_policy => 'Reject' }),
      400, 'invalid_value', 'dmarc_policy' ],
    [ 'dmarc_policy ""', enc({ domain => 'v3.val.example', dmarc_policy => '' }),
      400, 'invalid_value', 'dmarc_policy' ],
    # missing / unknown / read-only fields
    [ "nesting depth 8 is parsed (then x is unknown)",
      q({"domain":"j10b.val.example","x":) . ("[" x 7) . "1" . ("]" x 7) . "}",
      400, "unknown_field", "x" ],
    [ 'empty object', '{}', 400, 'missing_field', 'domain' ],
    [ 'no domain, other fields', enc({ dmarc_policy => 'none' }), 400, 'missing_field', 'domain' ],
    [ 'unknown field foo', enc({ domain => 'u1.val.example', foo => 1 }), 400, 'unknown_field', 'foo' ],
    [ 'unknown field Domain (case)', enc({ domain => 'u2.val.example', Domain => 'u3.val.example' }),
      400, 'unknown_field', 'Domain' ],
    [ 'unknown field dkim_key_bits', enc({ domain => 'u4.val.example', dkim_key_bits => 1024 }),
      400, 'unknown_field', 'dkim_key_bits' ],
    map({ [ "read-only field $_->[0]", enc({ domain => 'ro.val.example', $_->[0] => $_->[1] }),
            400, 'read_only_field', $_->[0] ] }
        [ id => 'dom_01JD3Z8Q5K6M7N8P9R0S1T2V3W' ],
        [ verified => $T ],
        [ dkim_selector => 'evil' ],
        [ dns_records => [] ],
        [ partner_id => 'p_other' ],
        [ created_at => '2020-01-01T00:00:00Z' ],
        [ updated_at => '2020-01-01T00:00:00Z' ],
        [ verified_at => '2020-01-01T00:00:00Z' ],
        [ last_verification => undef ],
        [ domain_unicode => 'ro.val.example' ],
    ),
);

# --- content negotiation, size, methods, routes, list parameters ---------------
my $ANY_ID = 'dom_01JD3Z8Q5K6M7N8P9R0S1T2V3W';
my $big_head = '{"domain":"big.val.example","pad":"';
my $big = $big_head . ('a' x (70000 - length($big_head) - 2)) . '"}';
die "size" unless length $big == 70000;

# [name, method, path, %api opts, expect => [status, code, field, %opt]]
my @other_cases = (
    [ 'body of 70000 bytes: 413', POST => 'domains', { body => $big },
      [ 413, 'payload_too_large' ] ],
    [ 'Content-Type text/plain: 415', POST => 'domains',
      { body => with_domain('ct1.val.example'), content_type => 'text/plain' },
      [ 415, 'unsupported_media_type' ] ],
    [ 'no Content-Type: 415', POST => 'domains',
      { body => with_domain('ct2.val.example'), headers => { 'Content-Type' => undef } },
      [ 415, 'unsupported_media_type' ] ],
    [ 'Content-Type application/x-www-form-urlencoded: 415', POST => 'domains',
      { body => 'domain=ct3.val.example', content_type => 'application/x-www-form-urlencoded' },
      [ 415, 'unsupported_media_type' ] ],
    [ 'Content-Type application/jsonx: 415', POST => 'domains',
      { body => with_domain('ct4.val.example'), content_type => 'application/jsonx' },
      [ 415, 'unsupported_media_type' ] ],
    [ 'Content-Type text/json: 415', POST => 'domains',
      { body => with_domain('ct5.val.example'), content_type => 'text/json' },
      [ 415, 'unsupported_media_type' ] ],
    [ 'PUT /domains: 405', PUT => 'domains', { body => with_domain('m1.val.example') },
      [ 405, 'method_not_allowed', undef, allow => 'GET, POST' ] ],
    [ 'DELETE /domains: 405', DELETE => 'domains', {},
      [ 405, 'method_not_allowed', undef, allow => 'GET, POST' ] ],
    [ 'PATCH /domains: 405', PATCH => 'domains', { body => '{}' },
      [ 405, 'method_not_allowed', undef, allow => 'GET, POST' ] ],
    [ 'POST /domains/{id}: 405', POST => "domains/$ANY_ID", { body => '{}' },
      [ 405, 'method_not_allowed', undef, allow => 'GET, PATCH, DELETE' ] ],
    [ 'PUT /domains/{id}: 405', PUT => "domains/$ANY_ID", { body => '{}' },
      [ 405, 'method_not_allowed', undef, allow => 'GET, PATCH, DELETE' ] ],
    [ 'POST /domains/{id}/dns-records: 405', POST => "domains/$ANY_ID/dns-records", { body => '{}' },
      [ 405, 'method_not_allowed', undef, allow => 'GET' ] ],
    [ 'DELETE /domains/{id}/dns-records: 405', DELETE => "domains/$ANY_ID/dns-records", {},
      [ 405, 'method_not_allowed', undef, allow => 'GET' ] ],
    [ 'PUT /domains/{id}/dkim-keys: 405', PUT => "domains/$ANY_ID/dkim-keys", { body => '{}' },
      [ 405, 'method_not_allowed', undef, allow => 'GET' ] ],
    [ 'unknown route /api/admin/nope: 404', GET => '/api/admin/nope', {},
      [ 404, 'not_found' ] ],
    [ 'unknown route /api/admin/domainsx: 404', GET => '/api/admin/domainsx', {},
      [ 404, 'not_found' ] ],
    [ 'unknown sub-resource /domains/{id}/nope: 404', GET => "domains/$ANY_ID/nope", {},
      [ 404, 'not_found' ] ],
    [ 'too deep /domains/{id}/dns-records/x: 404', GET => "domains/$ANY_ID/dns-records/x", {},
      [ 404, 'not_found' ] ],
    [ 'POST to an unknown route: 404', POST => '/api/admin/nope', { body => '{}' },
      [ 404, 'not_found' ] ],
    map({ [ "list ?$_->[0]: 400 invalid_parameter", GET => "domains?$_->[0]", {},
            [ 400, 'invalid_parameter', $_->[1] ] ] }
        [ 'limit=0', 'limit' ],
        [ 'limit=201', 'limit' ],
        [ 'limit=abc', 'limit' ],
        [ 'limit=-1', 'limit' ],
        [ 'limit=1.5', 'limit' ],
        [ 'limit=', 'limit' ],
        [ 'limit=10&limit=20', 'limit' ],
        [ 'verified=yes', 'verified' ],
        [ 'verified=1', 'verified' ],
        [ 'is_active=maybe', 'is_active' ],
        [ 'is_shared=TRUE', 'is_shared' ],
        [ 'unknown=1', 'unknown' ],
        [ 'cursor=garbage', 'cursor' ],
        [ 'cursor=dom_ZZZZZZZZZZZZZZZZZZZZZZZZZZ', 'cursor' ],
        [ 'q=a&q=b', 'q' ],
    ),
);

plan tests => @create_cases + @other_cases + 6;

for my $c (@create_cases) {
    my ($name, $body, $status, $code, $field) = @$c;
    my $r = api(POST => 'domains', token => $tenant, body => $body);
    error_is $r, $status, $code, "create, $name: $status $code",
        (defined $field ? (field => $field) : ());
}

for my $c (@other_cases) {
    my ($name, $method, $path, $opt, $exp) = @$c;
    my ($status, $code, $field, %o) = @$exp;
    my $r = api($method => $path, token => $tenant, %$opt);
    error_is $r, $status, $code, $name, (defined $field ? (field => $field) : ()), %o;
}

# Partner-level rules that are 400s (not 403s).
my $r = api(POST => 'domains', token => $operator,
            json => { domain => 'ps.val.example', tenant_id => 't_val_b', is_shared => $T });
error_is $r, 400, 'invalid_value', 'operator: is_shared true together with tenant_id: 400',
    field => 'is_shared';
$r = api(POST => 'domains', token => $operator,
         json => { domain => 'pt.val.example', tenant_id => '' });
error_is $r, 400, 'invalid_value', 'operator: tenant_id "": 400 invalid_value', field => 'tenant_id';

# Nothing was written by any of the requests above.
$r = api(GET => 'domains', token => $tenant);
status_is $r, 200, 'tenant list after the bad requests: 200';
is_deeply $r->{json}, { data => [], next_cursor => undef },
    'tenant list is empty: nothing half-written';
$r = api(GET => 'domains', token => $operator);
is_deeply $r->{json}, { data => [], next_cursor => undef },
    'partner list is empty: nothing half-written';

# The server is still healthy and a good create still works.
$r = api(POST => 'domains', token => $tenant, json => { domain => 'ok.val.example' });
status_is $r, 201, 'a valid create after all the bad input: 201';
