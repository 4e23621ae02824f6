# DKIM rotation end to end against the suite's Knot server: create, publish,
# verify; rotate (pending key on scaisend2); verify before and after the new
# record is published (activation); the retired key's overlap
# (ScaiSendDKIMOverlap 2 in the test config); removing keys; selectors never
# reused; authorisation of the rotation routes.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);

plan tests => 81;

my $P    = 'p_rot';
my $ZONE = 'example.org';
my $NAME = 'r01.example.org';
my $A    = token(sub => 'rot-alice', partner_id => $P, tenant_id => 't_rot_a',
                 role => 'tenant_admin');
my $B    = token(sub => 'rot-bob', partner_id => $P, tenant_id => 't_rot_b',
                 role => 'tenant_admin');
my $OP   = token(sub => 'rot-op', partner_id => $P, tenant_id => undef,
                 role => 'partner_operator');
my $SND  = token(sub => 'rot-mta', partner_id => $P, tenant_id => undef,
                 role => 'sender');

# Publish the rows (hashes with host and value) in Knot, one transaction.
sub publish {
    my (@recs) = @_;
    knot_update($ZONE, map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @recs);
}

sub keys_of {
    my ($id) = @_;
    my $r = api(GET => "domains/$id/dkim-keys", token => $A);
    return ($r, (ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY')
                ? $r->{json}{data} : []);
}
sub key_named { my ($keys, $sel) = @_; return (grep { $_->{selector} eq $sel } @$keys)[0] }

# ---------------------------------------------------------------------------
# create, publish, verify
my $r = api(POST => 'domains', token => $A, json => { domain => $NAME });
status_is $r, 201, "create $NAME";
my $id = $r->{json}{id} // 'dom_none';
my @recs = @{ $r->{json}{dns_records} || [] };
is scalar @recs, 3, 'three records to publish';
my ($dkim1) = grep { $_->{host} eq "scaisend._domainkey.$NAME" } @recs;
ok $dkim1, 'the DKIM row is on scaisend._domainkey';
publish(@recs);
$r = api(POST => "domains/$id/verify", token => $A);
status_is $r, 200, 'verify';
is $r->{json}{verified}, JSON::PP::true(), 'verified: true'
    or diag describe($r);

# ---------------------------------------------------------------------------
# rotate
$r = api(POST => "domains/$id/rotate-dkim", token => $A);
status_is $r, 200, 'rotate-dkim: 200';
my $rot = $r->{json} || {};
is $rot->{id}, $id, 'rotation: id';
is $rot->{domain}, $NAME, 'rotation: domain';
is $rot->{old_selector}, 'scaisend', 'rotation: old_selector scaisend';
is $rot->{new_selector}, 'scaisend2', 'rotation: new_selector scaisend2';
is $rot->{status}, 'pending', 'rotation: status pending';
my $rec2 = ref $rot->{dns_record} eq 'HASH' ? $rot->{dns_record} : {};
is_deeply [sort keys %$rec2], [qw(host type value)], 'dns_record has type, host, value';
is $rec2->{type}, 'TXT', 'dns_record type TXT';
is $rec2->{host}, "scaisend2._domainkey.$NAME", 'dns_record host on scaisend2';
like $rec2->{value} // '', qr/\Av=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA[A-Za-z0-9+\/=]+\z/,
    'dns_record value is an RSA-2048 DKIM record';
isnt $rec2->{value}, $dkim1->{value}, 'a new key, not the old one';
is_deeply [private_material($r->{body})], [], 'no private material in the answer';

$r = api(POST => "domains/$id/rotate-dkim", token => $A);
error_is $r, 409, 'rotation_pending', 'second rotate while pending: 409 rotation_pending';

my ($kr, $keys) = keys_of($id);
is_deeply [map { "$_->{selector}:$_->{state}" } @$keys], ['scaisend:active', 'scaisend2:pending'],
    'dkim-keys: scaisend active, scaisend2 pending'
    or diag describe($kr);

# DELETE of the pending key and of the active key
$r = api(DELETE => "domains/$id/dkim-keys/scaisend2", token => $A);
error_is $r, 409, 'key_in_use', 'DELETE the pending key: 409 key_in_use';

# ---------------------------------------------------------------------------
# verify before the new record is published: still verified, old selector
$r = api(POST => "domains/$id/verify", token => $A);
status_is $r, 200, 'verify with the pending key unpublished';
is $r->{json}{verified}, JSON::PP::true(), 'still verified';
my @pw = grep { ($_->{check} // '') eq 'dkim_pending' } @{ $r->{json}{warnings} || [] };
ok scalar @pw, 'a warning for dkim_pending'
    or diag describe($r);
is_deeply $r->{json}{errors}, [], 'no errors (the pending key is not an error)';
$r = api(GET => "domains/$id", token => $A);
is $r->{json}{dkim_selector}, 'scaisend', 'dkim_selector is still scaisend';
is $r->{json}{verified}, JSON::PP::true(), 'GET: still verified';
($kr, $keys) = keys_of($id);
is key_named($keys, 'scaisend2')->{state} // '', 'pending', 'scaisend2 still pending';

# ---------------------------------------------------------------------------
# publish the new record (the old one stays) and verify: activation
publish($rec2);
$r = api(POST => "domains/$id/verify", token => $A);
status_is $r, 200, 'verify with the new record published';
is $r->{json}{verified}, JSON::PP::true(), 'verified';
$r = api(GET => "domains/$id", token => $A);
is $r->{json}{dkim_selector}, 'scaisend2', 'GET domain: dkim_selector is now scaisend2';
my @dk = grep { ($_->{purpose} // '') eq 'dkim' } @{ $r->{json}{dns_records} || [] };
is_deeply [map { $_->{host} } @{ $r->{json}{dns_records} || [] }],
    ["scaisend2._domainkey.$NAME", "scaisend._domainkey.$NAME", $NAME, "_dmarc.$NAME"],
    'dns_records: both DKIM rows (active first), then SPF, then DMARC'
    or diag describe($r);
is_deeply [map { $_->{value} } @dk], [$rec2->{value}, $dkim1->{value}],
    'the DKIM rows hold the new and the old key';

($kr, $keys) = keys_of($id);
status_is $kr, 200, 'dkim-keys: 200';
is_deeply [map { "$_->{selector}:$_->{state}" } @$keys], ['scaisend2:active', 'scaisend:retired'],
    'dkim-keys: scaisend2 active, scaisend retired'
    or diag describe($kr);
my $old = key_named($keys, 'scaisend') || {};
my $new = key_named($keys, 'scaisend2') || {};
ok is_rfc3339($old->{retired_at}), 'scaisend has retired_at';
ok is_rfc3339($new->{activated_at}), 'scaisend2 has activated_at';
ok !defined $new->{retired_at}, 'scaisend2 has no retired_at';
is $old->{safe_to_remove}, JSON::PP::false(), 'safe_to_remove false right after retiring';
ok !$new->{safe_to_remove}, 'the active key is never safe_to_remove';
is_deeply [private_material($kr->{body})], [], 'dkim-keys: no private material';

sleep 3;      # ScaiSendDKIMOverlap 2 in t/conf/extra.conf.in
($kr, $keys) = keys_of($id);
$old = key_named($keys, 'scaisend') || {};
is $old->{safe_to_remove}, JSON::PP::true(), 'safe_to_remove true after the overlap (2 s)'
    or diag describe($kr);
ok !(key_named($keys, 'scaisend2') || {})->{safe_to_remove}, 'the active key still not safe_to_remove';

# ---------------------------------------------------------------------------
# remove the retired key; the active one cannot go
$r = api(DELETE => "domains/$id/dkim-keys/scaisend", token => $A);
status_is $r, 204, 'DELETE dkim-keys/scaisend (retired): 204';
is $r->{body}, '', '204 has no body';
($kr, $keys) = keys_of($id);
is_deeply [map { $_->{selector} } @$keys], ['scaisend2'], 'scaisend is gone from dkim-keys';
$r = api(GET => "domains/$id/dns-records", token => $A);
is_deeply [map { $_->{host} } @{ $r->{json}{dns_records} || [] }],
    ["scaisend2._domainkey.$NAME", $NAME, "_dmarc.$NAME"],
    'scaisend is gone from dns_records';
$r = api(DELETE => "domains/$id/dkim-keys/scaisend", token => $A);
error_is $r, 404, 'not_found', 'DELETE it again: 404';

$r = api(DELETE => "domains/$id/dkim-keys/scaisend2", token => $A);
error_is $r, 409, 'key_in_use', 'DELETE the active key: 409 key_in_use';
($kr, $keys) = keys_of($id);
is_deeply [map { "$_->{selector}:$_->{state}" } @$keys], ['scaisend2:active'],
    'the active key is still there';

# ---------------------------------------------------------------------------
# rotate again: scaisend3 (selectors are never reused, scaisend is free again
# but not taken)
$r = api(POST => "domains/$id/rotate-dkim", token => $A);
status_is $r, 200, 'rotate again: 200';
is $r->{json}{old_selector}, 'scaisend2', 'old_selector scaisend2';
is $r->{json}{new_selector}, 'scaisend3', 'new_selector scaisend3 (never reused)';
is $r->{json}{dns_record}{host}, "scaisend3._domainkey.$NAME", 'host on scaisend3';
$r = api(DELETE => "domains/$id/dkim-keys/scaisend3", token => $A);
error_is $r, 409, 'key_in_use', 'DELETE of the pending scaisend3: 409';
($kr, $keys) = keys_of($id);
is_deeply [map { "$_->{selector}:$_->{state}" } @$keys], ['scaisend2:active', 'scaisend3:pending'],
    'dkim-keys: scaisend2 active, scaisend3 pending';

# unknown selectors
$r = api(DELETE => "domains/$id/dkim-keys/scaisend9", token => $A);
error_is $r, 404, 'not_found', 'DELETE an unknown selector: 404';
$r = api(DELETE => "domains/$id/dkim-keys/nope", token => $A);
error_is $r, 404, 'not_found', 'DELETE a made-up selector: 404';
$r = api(DELETE => "domains/dom_00000000000000000000000000/dkim-keys/scaisend", token => $A);
error_is $r, 404, 'not_found', 'DELETE a key of an unknown domain: 404';
$r = api(POST => 'domains/dom_00000000000000000000000000/rotate-dkim', token => $A);
error_is $r, 404, 'not_found', 'rotate an unknown domain: 404';

# ---------------------------------------------------------------------------
# authorisation
$r = api(POST => "domains/$id/rotate-dkim", token => $B);
error_is $r, 404, 'not_found', 'tenant B rotates tenant A\'s domain: 404';
$r = api(GET => "domains/$id/dkim-keys", token => $B);
error_is $r, 404, 'not_found', 'tenant B reads dkim-keys: 404';
$r = api(DELETE => "domains/$id/dkim-keys/scaisend2", token => $B);
error_is $r, 404, 'not_found', 'tenant B deletes a key: 404';
$r = api(POST => "domains/$id/rotate-dkim", token => $SND);
error_is $r, 403, 'forbidden', 'sender rotates: 403';
$r = api(GET => "domains/$id/dkim-keys", token => $SND);
error_is $r, 403, 'forbidden', 'sender reads dkim-keys: 403';
$r = api(DELETE => "domains/$id/dkim-keys/scaisend2", token => $SND);
error_is $r, 403, 'forbidden', 'sender deletes a key: 403';
$r = api(GET => "domains/$id/dkim-keys", token => $OP);
status_is $r, 200, 'the partner operator reads dkim-keys of a tenant domain';
$r = api(POST => "domains/$id/rotate-dkim", token => $OP);
error_is $r, 409, 'rotation_pending', 'the partner operator may rotate (409: still pending)';

# a shared partner domain: tenants read, cannot rotate or remove keys
$r = api(POST => 'domains', token => $OP, json => { domain => 'r01-shared.example.org', is_shared => JSON::PP::true() });
status_is $r, 201, 'partner operator creates a shared domain';
my $sid = $r->{json}{id} // 'dom_none';
$r = api(GET => "domains/$sid/dkim-keys", token => $A);
status_is $r, 200, 'tenant reads dkim-keys of the shared domain';
$r = api(POST => "domains/$sid/rotate-dkim", token => $A);
error_is $r, 403, 'shared_domain_read_only', 'tenant rotates the shared domain: 403 shared_domain_read_only';
$r = api(DELETE => "domains/$sid/dkim-keys/scaisend", token => $A);
error_is $r, 403, 'shared_domain_read_only', 'tenant deletes a key of the shared domain: 403';
$r = api(POST => "domains/$sid/rotate-dkim", token => $OP);
status_is $r, 200, 'the partner operator rotates the shared domain';
is $r->{json}{new_selector}, 'scaisend2', 'its own sequence: scaisend2';

# a domain of another partner
my $X = token(sub => 'rot-x', partner_id => 'p_rot_other', tenant_id => undef,
              role => 'partner_operator');
$r = api(POST => "domains/$sid/rotate-dkim", token => $X);
error_is $r, 404, 'not_found', 'another partner rotates: 404';
$r = api(DELETE => "domains/$id/dkim-keys/scaisend2", token => $X);
error_is $r, 404, 'not_found', 'another partner deletes a key: 404';

# methods
$r = api(GET => "domains/$id/rotate-dkim", token => $A);
error_is $r, 405, 'method_not_allowed', 'GET rotate-dkim: 405', allow => 'POST';
$r = api(GET => "domains/$id/dkim-keys/scaisend2", token => $A);
error_is $r, 405, 'method_not_allowed', 'GET dkim-keys/{selector}: 405', allow => 'DELETE';

# ---------------------------------------------------------------------------
# the new record published and the old one taken down in the same DNS change,
# then verify: the verification activates the new key, and the DNS is right
# for that key, so the domain stays verified (and may still send)
{
    my $n2 = 'r02.example.org';
    my $c = api(POST => 'domains', token => $A, json => { domain => $n2 });
    my $id2 = $c->{json}{id} // 'dom_none';
    publish(@{ $c->{json}{dns_records} || [] });
    my $v = api(POST => "domains/$id2/verify", token => $A);
    is $v->{json}{verified}, JSON::PP::true(), "$n2 verified";
    my $rr = api(POST => "domains/$id2/rotate-dkim", token => $A);
    knot_update($ZONE, ['set', "$rr->{json}{dns_record}{host}.", 'TXT', $rr->{json}{dns_record}{value}],
                       ['unset', "scaisend._domainkey.$n2."]);
    $v = api(POST => "domains/$id2/verify", token => $A);
    my $g = api(GET => "domains/$id2", token => $A);
    is $g->{json}{dkim_selector}, 'scaisend2', 'old record removed with the new one published: scaisend2 activated';
    is $g->{json}{verified}, JSON::PP::true(),
        'and the domain stays verified: the active key (scaisend2) is published'
        or diag describe($v);
    my @stale = grep { ($_->{host} // '') eq "scaisend._domainkey.$n2" } @{ $v->{json}{errors} || [] };
    is_deeply \@stale, [], 'no error asking to publish the retired scaisend record'
        or diag describe($v);
    knot_unset($ZONE, $_) for $n2, "scaisend2._domainkey.$n2", "_dmarc.$n2";
}

knot_unset($ZONE, $NAME);
knot_unset($ZONE, "scaisend._domainkey.$NAME");
knot_unset($ZONE, "scaisend2._domainkey.$NAME");
knot_unset($ZONE, "_dmarc.$NAME");
