# The background job on several nodes (api.md section 9): exactly one node
# runs it at a time, the holder of a lease in the database; when the holder
# dies (kill -9 of its whole httpd), another node takes over within the
# lease time. Two nodes with re-checks every 2 s on one PostgreSQL
# database and a verified domain each: every re-check round is made by one
# node only (each re-check is a DEBUG line SSD0603 in that node's log).
# Skipped on SQLite.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(:all);
use ScaiSend::DNS qw(knot_update);

pg_only();
plan tests => 9;

my %fast = (ScaiSendRecheckInterval => '2s', ScaiSendPendingWindow => '1h',
            ScaiSendVerifyInterval => 0, ScaiSendVerifyBudget => 3000,
            LogLevel => 'scaisend_domains:debug');
my @nodes = start_nodes(['lease1', set => \%fast], ['lease2', set => \%fast]);
my $A = token(sub => 'ls-a', partner_id => 'p_ls', tenant_id => 't_ls', role => 'tenant_admin');

my @ids;
for my $n (1 .. 4) {
    my $r = node_api($nodes[0], POST => 'domains', token => $A,
                     json => { domain => "ls$n.example.org" });
    push @ids, $r->{json}{id} // 'dom_none';
    knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] }
                @{ $r->{json}{dns_records} || [] });
}
my $verified = 0;
for (1 .. 40) {
    $verified = psql_value(q{SELECT count(*) FROM ssd_domains WHERE partner_id = 'p_ls'
                             AND verification_state = 'verified'});
    last if $verified == 4;
    sleep 0.5;
}
is $verified, 4, 'the job verifies the four domains';

sub rechecks {
    my ($node) = @_;
    open my $fh, '<', $node->{error_log} or return 0;
    my $n = grep { /SSD0603\b.*re-checked dom_/ } <$fh>;
    close $fh;
    return $n;
}
sub holder { return psql_value(q{SELECT holder FROM ssd_lease WHERE name = 'background'
                                 AND expires_ms > CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)}) // '' }

my @before = map { rechecks($_) } @nodes;
sleep 8;
my @after = map { rechecks($_) } @nodes;
my @made = map { $after[$_] - $before[$_] } 0, 1;
my ($runs) = grep { $made[$_] > 0 } 0, 1;
ok defined $runs, "one node re-checks (made: @made)";
is scalar(grep { $_ > 0 } @made), 1, 'and only one: the other makes none';
my $h = holder();
like $h, qr/:\d+:/, "the lease names its holder ($h)";

# each domain re-checked once per round: the rows' next check times differ
# by the interval, never by a second run of the other node
my $dups = psql_value(q{SELECT count(*) FROM (SELECT domain_id, at FROM ssd_events
                        WHERE partner_id = 'p_ls' GROUP BY domain_id, at, action
                        HAVING count(*) > 1) x});
is $dups, 0, 'no domain has two events of one moment (never checked twice at once)';

# the holder dies
my $dead = $nodes[$runs];
my $other = $nodes[1 - $runs];
my $master = ScaiSend::PG::_master_pid($dead);
kill 'KILL', $master, node_children($dead);
my $t0 = time;
my $from = rechecks($other);
my $took;
for (1 .. 80) {
    if (rechecks($other) > $from) { $took = time - $t0; last }
    sleep 0.5;
}
ok defined $took, sprintf('after kill -9 of the holder the other node takes over (%.1f s)',
                          $took // -1);
cmp_ok $took // 99, '<=', 10 + 2 * 3 + 6, '... within the lease time (10 s + 2 budgets) and a round';
isnt holder(), $h, 'the lease names the new holder';
stop_node($_) for @nodes;
is_deeply [ integrity_problems() ], [], 'every table is consistent';
