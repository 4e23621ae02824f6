# Scheduled rotation (api.md section 10): ScaiSendDKIMRotateAfter makes the
# background job create the pending key when the active one reaches that
# age (counted from its activation); the normal verify activates it.
#
# Two nodes on a database of their own (so that no other test's domain
# ages), both with a 6-second age and a webhook receiver on loopback:
#   - a verified domain gets its pending key by itself, once (two nodes,
#     one lease: never two keys, never two events);
#   - the events dkim.rotation_due and dkim.pending_created, in the audit
#     trail and delivered signed, pending_created with the record to
#     publish, exactly the one dkim-keys lists;
#   - publishing that record and verifying activates it; the next scheduled
#     key comes once the new active key has aged in turn;
#   - a domain signing with RSA and Ed25519 gets both pending twins, and one
#     verify activates both.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use JSON::PP ();
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api dbd_params scratch_database);
use ScaiSend::Receiver qw(:all);
use ScaiSend::DNS qw(knot_update);
use ScaiSend::Verify qw(publish_all);

plan tests => 28;

my $JSON = JSON::PP->new->utf8->canonical;
my $dir = Apache::Test::vars('t_logs') . "/scheduled-rotation-$$";
make_path($dir);

my $db = scratch_database($dir, 'sched');

my $secret_file = write_secret("$dir/webhook.secret");
my $rx = ScaiSend::Receiver->start(name => 'scheduled', secret_file => $secret_file,
                                   script => [{ status => 200 }], lifetime => 600);
my %NODE = (dbd_params => $db, set => {
    ScaiSendDKIMRotateAfter => '6s', ScaiSendWebhookURL => $rx->url,
    ScaiSendWebhookSecretFile => $secret_file, ScaiSendWebhookTimeout => 5 });
my $n1 = start_node('sched1', %NODE);
my $n2 = start_node('sched2', %NODE);
END { local $?; stop_node($_) for grep { $_ } ($n1, $n2); }

my $A = token(sub => 'sr-admin', partner_id => 'p_sr', tenant_id => 't_sr', role => 'tenant_admin');
my $NAME = 'sr01.example.org';

sub keys_of {
    my ($id) = @_;
    my $r = node_api($n2, GET => "domains/$id/dkim-keys", token => $A);
    return ref $r->{json} eq 'HASH' ? ($r->{json}{data} || []) : [];
}
sub key_states { return [ map { "$_->{selector}:$_->{state}" } @{ keys_of($_[0]) } ] }
sub pending_of { return (grep { $_->{state} eq 'pending' } @{ keys_of($_[0]) })[0] }
# Wait (bounded) for a pending key; the key or undef.
sub wait_pending {
    my ($id, $secs) = @_;
    my $end = time + $secs;
    while (time < $end) {
        my $k = pending_of($id);
        return $k if $k;
        sleep 0.5;
    }
    return undef;
}
sub count_actions {
    my ($id, $action) = @_;
    my $r = node_api($n1, GET => "domains/$id/events?limit=100", token => $A);
    return [ map { $_->{sub} } grep { $_->{action} eq $action } @{ $r->{json}{data} || [] } ];
}
sub bodies {
    my ($id, $type) = @_;
    return grep { ($_->{type} // '') eq $type && ($_->{data}{domain_id} // '') eq $id }
           map { eval { $JSON->decode($_->{body}) } || {} } $rx->requests;
}
sub wait_bodies {
    my ($id, $type, $n, $secs) = @_;
    my $end = time + $secs;
    my @b;
    while (time < $end) {
        @b = bodies($id, $type);
        last if @b >= $n;
        sleep 0.5;
    }
    return @b;
}

# --- a verified domain -------------------------------------------------------
my $r = node_api($n1, POST => 'domains', token => $A, json => { domain => $NAME });
is $r->{status}, 201, 'create';
my $d = $r->{json} || {};
my $id = $d->{id} // 'dom_none';
publish_all($d);
$r = node_api($n1, POST => "domains/$id/verify", token => $A);
is $r->{status}, 200, 'verify: 200';
is $r->{json}{verified}, JSON::PP::true(), 'verified';
is_deeply key_states($id), ['scaisend:active'], 'one active key, nothing pending';

# --- the job adds the pending key by itself, once ------------------------------
my $t0 = time;
my $pending = wait_pending($id, 40);
ok $pending, 'a pending key appears without a rotate call'
    or diag explain key_states($id);
$pending ||= {};
is $pending->{selector}, 'scaisend2', '... on the next selector';
cmp_ok time - $t0, '<', 40, '... within the bounded wait';
sleep 8;    # more than the age again and several rounds of both nodes
is_deeply key_states($id), ['scaisend:active', 'scaisend2:pending'],
    'still exactly one pending key after more rounds of two nodes';
is_deeply count_actions($id, 'dkim.rotation_due'), ['scaisend-schedule'],
    'audit: dkim.rotation_due once';
is_deeply count_actions($id, 'dkim.pending_created'), ['scaisend-schedule'],
    'audit: dkim.pending_created once';

# --- the webhooks -----------------------------------------------------------------
my @created = wait_bodies($id, 'dkim.pending_created', 1, 30);
my @due = wait_bodies($id, 'dkim.rotation_due', 1, 5);
is scalar(@created), 1, 'webhook: one dkim.pending_created';
is scalar(@due), 1, 'webhook: one dkim.rotation_due';
my $rec = $created[0]{data}{dns_record} || {};
is_deeply [$rec->{type}, $rec->{host}, $rec->{value}],
    ['TXT', "scaisend2._domainkey.$NAME", $pending->{value}],
    'pending_created carries the record to publish, as dkim-keys lists it';
is $created[0]{data}{new_selector}, 'scaisend2', 'pending_created: new_selector';
is $due[0]{data}{active_selector}, 'scaisend', 'rotation_due: active_selector';
is_deeply [map { $_->{verify} } grep { $_->{body} =~ /"dkim\.(?:pending_created|rotation_due)"/ } $rx->requests],
    ['ok', 'ok'], 'both deliveries carry a valid webhook signature';

# --- publish and verify: activated --------------------------------------------
knot_update('example.org', ['set', "$pending->{host}.", 'TXT', $pending->{value}]);
$r = node_api($n1, POST => "domains/$id/verify", token => $A);
is $r->{status}, 200, 'verify with the pending record published: 200';
is node_api($n1, GET => "domains/$id", token => $A)->{json}{dkim_selector}, 'scaisend2',
    'the scheduled key is now the domain\'s selector';
is_deeply key_states($id), ['scaisend2:active', 'scaisend:retired'],
    'dkim-keys: scaisend2 active, scaisend retired';

# --- the new active key ages in turn --------------------------------------------
$t0 = time;
my $next = wait_pending($id, 40) || {};
is $next->{selector}, 'scaisend3', 'the next scheduled key, once scaisend2 has aged';
cmp_ok time - $t0, '>=', 3, '... not at once: the age counts from the activation';
is_deeply count_actions($id, 'dkim.pending_created'), ['scaisend-schedule', 'scaisend-schedule'],
    'audit: two dkim.pending_created in all';

# --- RSA and Ed25519: both keys of the pair rotate together ---------------------------
$r = node_api($n1, POST => 'domains', token => $A,
              json => { domain => 'sr03.example.org', dkim_algorithms => ['rsa-sha256', 'ed25519-sha256'] });
my $dual = $r->{json} || {};
my $did = $dual->{id} // 'dom_none';
knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @{ $dual->{dns_records} || [] });
$r = node_api($n1, POST => "domains/$did/verify", token => $A);
is $r->{json}{verified}, JSON::PP::true(), 'a dual domain (RSA and Ed25519), verified';
my $end = time + 40;
sleep 0.5 while time < $end && grep({ /:pending$/ } @{ key_states($did) }) < 2;
is_deeply [sort @{ key_states($did) }],
    ['scaisend-ed25519:active', 'scaisend2-ed25519:pending', 'scaisend2:pending', 'scaisend:active'],
    'the job makes both pending keys, the twins scaisend2 and scaisend2-ed25519';
my @twins = grep { $_->{state} eq 'pending' } @{ keys_of($did) };
knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @twins);
$r = node_api($n1, POST => "domains/$did/verify", token => $A);
is $r->{status}, 200, 'verify with both pending records published: 200';
is_deeply [sort @{ key_states($did) }],
    ['scaisend-ed25519:retired', 'scaisend2-ed25519:active', 'scaisend2:active', 'scaisend:retired'],
    'both activated together, both old keys retired';

# --- a domain never verified: nothing scheduled ------------------------------------
$r = node_api($n1, POST => 'domains', token => $A, json => { domain => 'sr02.example.org' });
is $r->{status}, 201, 'create a second domain, never verified';
sleep 8;
is_deeply key_states($r->{json}{id} // 'dom_none'), ['scaisend:active'],
    'its key stays alone: a domain never verified is not rotated';
