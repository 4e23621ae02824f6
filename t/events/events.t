# GET /api/admin/domains/{id}/events: the audit trail of a full lifecycle
# (create, patch, verify, rotate, activation, key removal, a failing
# verification, delete), newest first, with who did it and what changed;
# pagination; isolation; events written by one request in a fixed order.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);

use constant SAME_REQUEST_DOMAINS => 6;

plan tests => 56 + SAME_REQUEST_DOMAINS;

my $P    = 'p_evt';
my $ZONE = 'zone-a.test';
my $NAME = 'e01.zone-a.test';
my $A    = token(sub => 'evt-alice', partner_id => $P, tenant_id => 't_evt_a', role => 'tenant_admin');
my $B    = token(sub => 'evt-bob', partner_id => $P, tenant_id => 't_evt_b', role => 'tenant_admin');
my $OP   = token(sub => 'evt-op', partner_id => $P, tenant_id => undef, role => 'partner_operator');
my $SND  = token(sub => 'evt-mta', partner_id => $P, tenant_id => undef, role => 'sender');
my $T    = JSON::PP::true();
my $F    = JSON::PP::false();

sub publish {
    my (@recs) = @_;
    knot_update($ZONE, map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @recs);
}
sub events {
    my ($id, $qs, $tok) = @_;
    return api(GET => "domains/$id/events" . ($qs ? "?$qs" : ''), token => $tok // $A);
}
sub data { my ($r) = @_; return (ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY') ? $r->{json}{data} : [] }

# ---------------------------------------------------------------------------
# the lifecycle
my $r = api(POST => 'domains', token => $A, json => { domain => $NAME });
status_is $r, 201, 'create';
my $id = $r->{json}{id} // 'dom_none';

$r = api(PATCH => "domains/$id", token => $A, json => { dmarc_policy => 'quarantine' });
status_is $r, 200, 'patch dmarc_policy (tenant admin)';
$r = api(PATCH => "domains/$id", token => $OP, json => { dmarc_rua_email => 'rua@zone-a.test' });
status_is $r, 200, 'patch dmarc_rua_email (partner operator)';
$r = api(PATCH => "domains/$id", token => $A, json => {});
status_is $r, 200, 'an empty patch (no change, no event)';

$r = api(GET => "domains/$id/dns-records", token => $A);
my @recs = @{ $r->{json}{dns_records} || [] };
publish(@recs);
$r = api(POST => "domains/$id/verify", token => $A);
is $r->{json}{verified}, $T, 'verify: verified' or diag describe($r);
$r = api(POST => "domains/$id/verify", token => $A);
is $r->{json}{verified}, $T, 'verify again: same outcome (no event)';

$r = api(POST => "domains/$id/rotate-dkim", token => $A);
status_is $r, 200, 'rotate';
my $rec2 = $r->{json}{dns_record} || {};
publish($rec2);
$r = api(POST => "domains/$id/verify", token => $OP);
is $r->{json}{verified}, $T, 'verify (partner operator) activates scaisend2';

$r = api(DELETE => "domains/$id/dkim-keys/scaisend", token => $A);
status_is $r, 204, 'remove the retired key';

knot_unset($ZONE, $rec2->{host});
$r = api(POST => "domains/$id/verify", token => $A);
is $r->{json}{verified}, $F, 'verify after unpublishing the active key: not verified'
    or diag describe($r);
$r = api(POST => "domains/$id/verify", token => $A);
is $r->{json}{verified}, $F, 'verify again: still not verified (no event)';

# ---------------------------------------------------------------------------
# the trail
$r = events($id);
status_is $r, 200, 'GET events: 200';
is_deeply [top_keys($r->{body})], ['data', 'next_cursor'], 'keys: data, next_cursor';
my $ev = data($r);
is_deeply [map { $_->{action} } @$ev],
    [qw(domain.unverified dkim.removed dkim.activated dkim.rotated domain.verified
        domain.updated domain.updated domain.created)],
    'the actions, newest first'
    or diag join ' ', map { $_->{action} } @$ev;
is_deeply [map { $_->{sub} } @$ev],
    [qw(evt-alice evt-alice evt-op evt-alice evt-alice evt-op evt-alice evt-alice)],
    'sub: the token\'s sub of each change';
ok !defined $r->{json}{next_cursor}, 'next_cursor null: one page';
my @bad_shape = grep {
    my $e = $_;
    !($e->{id} && $e->{id} =~ /\Aevt_[0-7][0-9A-HJKMNP-TV-Z]{25}\z/)
    || !is_rfc3339($e->{at}) || join(',', sort keys %$e) ne 'action,at,changes,id,sub'
} @$ev;
is_deeply \@bad_shape, [], 'each event: id (evt_ ULID), at (RFC 3339), sub, action, changes';
my @at = map { rfc3339_epoch($_->{at}) // 0 } @$ev;
ok !grep({ $at[$_] > $at[$_ - 1] } 1 .. $#at), 'at is non-increasing (newest first)';
my @ids = map { $_->{id} } @$ev;
is_deeply \@ids, [sort { $b cmp $a } @ids], 'ids are in descending order';
ok abs(($at[0] // 0) - time) < 120 && abs(($at[-1] // 0) - time) < 120, 'the times are now';

my %by = map { $ev->[$_]{action} . ($ev->[$_]{action} eq 'domain.updated' ? "#$_" : '') => $ev->[$_] } 0 .. $#$ev;
my ($upd_op, $upd_a) = map { $by{"domain.updated#$_"} } 5, 6;
my $created = $by{'domain.created'} || {};
is ref $created->{changes}, 'HASH', 'domain.created: changes is an object';
is $created->{changes}{domain}, $NAME, 'domain.created: changes name the domain'
    or diag(JSON::PP->new->canonical->encode($created->{changes}));
is_deeply $upd_a && $upd_a->{changes}, { dmarc_policy => { from => 'none', to => 'quarantine' } },
    'domain.updated: {"dmarc_policy": {"from": "none", "to": "quarantine"}}';
is_deeply $upd_op && $upd_op->{changes}, { dmarc_rua_email => { from => undef, to => 'rua@zone-a.test' } },
    'domain.updated by the operator: {"dmarc_rua_email": {"from": null, "to": ...}}';
is_deeply $by{'domain.verified'}{changes}, { verified => { from => $F, to => $T },
    verification_state => { from => 'pending', to => 'verified' } },
    'domain.verified: verified false -> true, state pending -> verified';
is_deeply $by{'domain.unverified'}{changes}, { verified => { from => $T, to => $F },
    verification_state => { from => 'verified', to => 'unverified' } },
    'domain.unverified: verified true -> false (ScaiSendVerifyGrace 0), state verified -> unverified';
is $by{'dkim.rotated'}{changes}{old_selector}, 'scaisend', 'dkim.rotated: old_selector scaisend';
is $by{'dkim.rotated'}{changes}{new_selector}, 'scaisend2', 'dkim.rotated: new_selector scaisend2'
    or diag(JSON::PP->new->canonical->encode($by{'dkim.rotated'}{changes}));
is_deeply $by{'dkim.activated'}{changes}, { old_selector => 'scaisend', new_selector => 'scaisend2' },
    'dkim.activated: old and new selector';
is_deeply $by{'dkim.removed'}{changes}, { selector => 'scaisend' }, 'dkim.removed: the selector';
is_deeply [private_material($r->{body})], [], 'no private material in the trail';

# ---------------------------------------------------------------------------
# pagination: limit=2 walks them all once
my (@walked, $pages, $cursor);
for my $i (1 .. 10) {
    my $p = events($id, 'limit=2' . (defined $cursor ? "&cursor=$cursor" : ''));
    last unless $p->{status} == 200;
    $pages++;
    my $d = data($p);
    push @walked, map { $_->{id} } @$d;
    $cursor = $p->{json}{next_cursor};
    last unless defined $cursor;
    last unless @$d == 2;
}
is $pages, 4, 'limit=2: four pages';
is_deeply \@walked, \@ids, 'the pages hold every event once, in order';
$r = events($id, "limit=2&cursor=$ids[1]");
is_deeply [map { $_->{id} } @{ data($r) }], [@ids[2, 3]], 'cursor = an id: the events after it';
$r = events($id, "limit=3&cursor=$ids[5]");
is_deeply [map { $_->{id} } @{ data($r) }], [@ids[6, 7]], 'the last page';
ok !defined $r->{json}{next_cursor}, 'the last page has next_cursor null';
$r = events($id, 'limit=8');
ok !defined $r->{json}{next_cursor}, 'limit = the number of events: next_cursor null';
$r = events($id, 'limit=1');
is $r->{json}{next_cursor}, $ids[0], 'limit=1: next_cursor is the id of the last event on the page';

for my $bad (['limit=0', 'limit=0'], ['limit=201', 'limit=201'], ['limit=x', 'limit=x'],
             ['cursor=garbage', 'a malformed cursor'], ['cursor=dom_01M8EKKFKXR0NCTM2HFTG6AF7P', 'a domain id as cursor'],
             ['color=red', 'an unknown parameter']) {
    $r = events($id, $bad->[0]);
    error_is $r, 400, 'invalid_parameter', "$bad->[1]: 400 invalid_parameter";
}

# ---------------------------------------------------------------------------
# who may read the trail
$r = events($id, undef, $B);
error_is $r, 404, 'not_found', 'tenant B: 404';
$r = events($id, undef, $SND);
error_is $r, 403, 'forbidden', 'sender: 403';
$r = events($id, undef, $OP);
status_is $r, 200, 'the partner operator: 200';
is scalar @{ data($r) }, 8, 'the partner operator sees the same trail';
$r = events($id, undef, token(sub => 'evt-x', partner_id => 'p_evt_x', tenant_id => undef, role => 'partner_operator'));
error_is $r, 404, 'not_found', 'another partner: 404';
$r = api(POST => "domains/$id/events", token => $A);
error_is $r, 405, 'method_not_allowed', 'POST events: 405', allow => 'GET';

# a failed change leaves no event
$r = api(PATCH => "domains/$id", token => $A, json => { dmarc_policy => 'bogus' });
error_is $r, 400, 'invalid_value', 'an invalid patch: 400';
$r = api(DELETE => "domains/$id/dkim-keys/scaisend2", token => $A);
error_is $r, 409, 'key_in_use', 'removing the active key: 409';
$r = api(POST => "domains/$id/rotate-dkim", token => $B);
is scalar @{ data(events($id)) }, 8, 'refused changes wrote no event';

# ---------------------------------------------------------------------------
# delete: the events are no longer reachable through the API (expected; the
# records stay in the store for the operator)
$r = api(DELETE => "domains/$id", token => $A);
status_is $r, 204, 'delete the domain';
$r = events($id);
error_is $r, 404, 'not_found', 'events of a deleted domain: 404';
$r = events($id, undef, $OP);
error_is $r, 404, 'not_found', 'events of a deleted domain, partner operator: 404';

# ---------------------------------------------------------------------------
# one request, two events: a verification that verifies the domain and
# activates the pending key writes domain.verified, then dkim.activated;
# newest first they must come out as dkim.activated, domain.verified --
# also when both fall in the same millisecond.
for my $i (1 .. SAME_REQUEST_DOMAINS) {
    my $name = "e-same$i.zone-a.test";
    my $c = api(POST => 'domains', token => $A, json => { domain => $name });
    my $did = $c->{json}{id} // 'dom_none';
    my $rot = api(POST => "domains/$did/rotate-dkim", token => $A);
    publish(@{ $c->{json}{dns_records} || [] }, $rot->{json}{dns_record} || ());
    my $v = api(POST => "domains/$did/verify", token => $A);
    my $e = data(events($did));
    is_deeply [map { $_->{action} } @$e],
        [qw(dkim.activated domain.verified dkim.rotated domain.created)],
        "$name: verify + activation in one request, newest first"
        or diag join "\n", describe($v), map { "$_->{id} $_->{at} $_->{action}" } @$e;
}
