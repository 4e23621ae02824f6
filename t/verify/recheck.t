# Verification that stays true (api.md section 9): the background job
# re-checks on its own. A node of the suite's server with short settings --
# re-checks every 3 s (the pending backoff shortened to it), a grace of
# 8 s -- and the suite's Knot:
#   - a pending domain whose records are published is verified without a
#     verify call;
#   - its DKIM record removed: degraded at the next re-check (sends still
#     delivered, with a warning), unverified once the grace has passed;
#   - put back: verified again;
#   - a nameserver answering SERVFAIL changes nothing (a second node on the
#     same database asks bad-dns);
#   - a graceful restart keeps the job going; a stop ends it at once.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api);
use ScaiSend::DNS qw(knot_update bad_dns_port);

plan tests => 22;

my %fast = (ScaiSendRecheckInterval => '3s', ScaiSendVerifyGrace => '8s',
            ScaiSendPendingWindow => '1h', ScaiSendVerifyInterval => 0);
my $node = start_node('recheck', set => \%fast);
my $A = token(sub => 'rc-a', partner_id => 'p_rc', tenant_id => 't_rc',
              role => 'tenant_admin');
my $SND = token(sub => 'rc-mta', partner_id => 'p_rc', tenant_id => undef,
                role => 'sender');
my $NAME = 'rc01.example.org';

sub domain { return node_api($node, GET => "domains/$_[0]", token => $A)->{json} || {} }
# Wait (bounded) until the domain's state is $want; the state seen.
sub wait_state {
    my ($id, $want, $secs) = @_;
    my $end = time + $secs;
    my $state = '';
    while (time < $end) {
        $state = domain($id)->{verification_state} // '';
        return $state if $state eq $want;
        sleep 0.5;
    }
    return $state;
}
sub actions {
    my ($id) = @_;
    my $r = node_api($node, GET => "domains/$id/events", token => $A);
    return [ map { "$_->{action}:$_->{sub}" } reverse @{ $r->{json}{data} || [] } ];
}
sub publish { knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @_) }

my $r = node_api($node, POST => 'domains', token => $A, json => { domain => $NAME });
is $r->{status}, 201, 'create';
my $id = $r->{json}{id} // 'dom_none';
my @rows = @{ $r->{json}{dns_records} || [] };
is $r->{json}{verification_state}, 'pending', 'a new domain is pending';

# --- published, verified without a verify call ---------------------------------
publish(@rows);
is wait_state($id, 'verified', 20), 'verified',
    'the job verifies it once the records are published (no verify call)';
is_deeply actions($id), ['domain.created:rc-a', 'domain.verified:scaisend-recheck'],
    'its event names the background job';
my $d = domain($id);
ok $d->{verified} && $d->{verified_at}, 'verified, with verified_at';

# --- the DKIM record removed: degraded, then unverified --------------------------
knot_update('example.org', ['unset', "scaisend._domainkey.$NAME.", 'TXT']);
my $t0 = time;
is wait_state($id, 'degraded', 15), 'degraded', 'DKIM removed: degraded at the next re-check';
$d = domain($id);
is $d->{verified}, JSON::PP::true(), 'a degraded domain still counts as verified';
$r = node_api($node, GET => "sender-status?from=a\@$NAME&mode=live&tenant_id=t_rc", token => $SND);
is $r->{json}{decision}, 'deliver', 'sender status: still deliver';
like $r->{json}{warning} // '', qr/failed their last check/, '... with a warning';
is wait_state($id, 'unverified', 30), 'unverified', 'unverified once the grace has passed';
cmp_ok time - $t0, '>=', 7, sprintf('... not before the 8 s grace (%.1f s)', time - $t0);
$r = node_api($node, GET => "sender-status?from=a\@$NAME&mode=live&tenant_id=t_rc", token => $SND);
is $r->{json}{decision}, 'fail', 'sender status: fail, once unverified';
is_deeply [ @{ actions($id) }[2, 3] ], ['domain.degraded:scaisend-recheck',
                                        'domain.unverified:scaisend-recheck'],
    'the events: degraded, then unverified';

# --- put back: verified again ---------------------------------------------------------
publish(@rows);
is wait_state($id, 'verified', 20), 'verified', 'the record put back: verified again';
is domain($id)->{verified}, JSON::PP::true(), '... verified';

# --- SERVFAIL changes nothing ---------------------------------------------------------
my $n_events = scalar @{ actions($id) };
stop_node($node);
my $sf = start_node('recheck-servfail', set => { %fast,
    ScaiSendResolver => '127.0.0.1:' . bad_dns_port('servfail') });
$node = $sf;
sleep 7;                # two re-check rounds and more
$d = domain($id);
is $d->{verification_state}, 'verified', 'SERVFAIL for a while: still verified';
is scalar @{ actions($id) }, $n_events, '... and no event';
like $d->{last_verification}{checks}{dkim}{status} // 'none', qr/^pass$/,
    '... the last conclusive verification stands';

# --- graceful restart, stop ------------------------------------------------------------
stop_node($sf);
$node = start_node('recheck', set => \%fast);
kill 'USR1', ScaiSend::PG::_master_pid($node);      # graceful restart
sleep 2;
knot_update('example.org', ['unset', "scaisend._domainkey.$NAME.", 'TXT']);
is wait_state($id, 'degraded', 15), 'degraded', 'after a graceful restart the job goes on';
publish(@rows);
my $t1 = time;
stop_node($node);
cmp_ok time - $t1, '<', 10, sprintf('stop ends the node and its job (%.1f s)', time - $t1);
open my $fh, '<', $node->{error_log} or die "$node->{error_log}: $!";
my @bad = grep { /exit signal|\[(?:crit|alert|emerg)\]|SSD060[25]/ } <$fh>;
close $fh;
is_deeply \@bad, [], 'nothing wrong in its error log';
ok 1, 'done';
