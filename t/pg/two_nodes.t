# Two httpd nodes, one PostgreSQL database: what one node writes the other
# reads, verifies and rotates; races split across the nodes are decided by
# the database (one 201 of 100 creates, one pending key of 20 rotates); and
# kill -9 of one node's children in the middle of writes leaves no partial
# record (integrity rules over every table).  Skipped on SQLite.
#
# Node 1 is the suite's server; nodes 2 and 3 are started here from the same
# configuration (same database, key-encryption key and token key) on other
# ports, with their own pid files and logs (t/logs/pg-node-node2/, ...).
# The races run on nodes 2 and 3, whose children open all their database
# connections when they start (DBDMin = DBDMax): under 100 concurrent RSA
# key generations a connection opened from scratch can exceed
# connect_timeout=2, and its request answers 503 storage_unavailable --
# honest, but not the race this file is about.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use HTTP::Request ();
use JSON::PP ();
use LWP::UserAgent ();
use POSIX ();
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(:all);
use ScaiSend::DNS qw(knot_set zone_of);
use ScaiSend::Verify qw(publish_all);

pg_only();
plan tests => 42;

my $JSON = JSON::PP->new->utf8->canonical;
my $tok = token(sub => 'pg-nodes', partner_id => 'p_pgnodes', tenant_id => 't_pgnodes',
                role => 'tenant_admin');
(my $base1 = Apache::TestRequest::resolve_url('/')) =~ s{/$}{};
my $node1 = { name => 'node1', base => $base1 };
# every child holds POOL connections from its start: 2 nodes x 4 children
# x POOL, beside node 1's, stay under build/pg-cluster's max_connections
use constant POOL => 10;
my %pinned = (set => { DBDMin => POOL, DBDKeep => POOL, DBDMax => POOL });
my ($node2, $node3) = eval { start_nodes(['node2', %pinned], ['node3', %pinned]) };
ok $node2 && $node3, 'nodes 2 and 3 started on the same database' or diag $@;
die "cannot go on without nodes 2 and 3\n" unless $node2 && $node3;
END { local $?; stop_node($_) for grep { $_ } $node2, $node3; }
my @nodes = ($node2, $node3);

sub obj { ref $_[0]{json} eq 'HASH' ? $_[0]{json} : {} }

# --- across nodes: create on 1; read, change, verify, rotate on 2 -----------------------
my $name = 'pg2n.example.org';
my $r = node_api($node1, POST => 'domains', token => $tok, json => { domain => $name });
is $r->{status}, 201, 'node 1: create 201';
my $d = obj($r);
my $id = $d->{id} // 'none';
$r = node_api($node2, GET => "domains/$id", token => $tok);
is $r->{status}, 200, 'node 2: read 200';
is obj($r)->{domain}, $name, 'node 2 sees the domain';
is_deeply obj($r)->{dns_records}, $d->{dns_records}, 'with the same records (same KEK, same key)';
$r = node_api($node2, PATCH => "domains/$id", token => $tok, json => { dmarc_policy => 'reject' });
is $r->{status}, 200, 'node 2: patch 200';
is obj(node_api($node1, GET => "domains/$id", token => $tok))->{dmarc_policy}, 'reject',
    'node 1 reads the change';
$d = obj(node_api($node1, GET => "domains/$id", token => $tok));

publish_all($d);
$r = node_api($node2, POST => "domains/$id/verify", token => $tok);
is $r->{status}, 200, 'node 2: verify 200';
ok JSON::PP::is_bool(obj($r)->{verified}) && obj($r)->{verified},
   'verified from node 2 (records created on node 1)' or diag $r->{body};
ok obj(node_api($node1, GET => "domains/$id", token => $tok))->{verified},
   'node 1 reads verified';

$r = node_api($node2, POST => "domains/$id/rotate-dkim", token => $tok);
is $r->{status}, 200, 'node 2: rotate 200';
my $rot = obj($r);
is $rot->{new_selector}, 'scaisend2', 'pending key scaisend2';
$r = node_api($node1, POST => "domains/$id/rotate-dkim", token => $tok);
is $r->{status}, 409, 'node 1: a second rotate is 409';
is obj($r)->{error}{code}, 'rotation_pending', 'rotation_pending';
my $rec = $rot->{dns_record} || {};
eval { knot_set(zone_of($rec->{host}), "$rec->{host}.", 'TXT', $rec->{value}); 1 }
    or diag "publishing the new key: $@";
$r = node_api($node1, POST => "domains/$id/verify", token => $tok);
is $r->{status}, 200, 'node 1: verify with the new key published';
is obj(node_api($node2, GET => "domains/$id", token => $tok))->{dkim_selector}, 'scaisend2',
    'node 2 reads the activated key (signing switched)';
$r = node_api($node2, GET => "domains/$id/dkim-keys", token => $tok);
is_deeply [ map { "$_->{selector}:$_->{state}" } @{ obj($r)->{data} || [] } ],
    ['scaisend2:active', 'scaisend:retired'], 'node 2: dkim-keys after the rotation';

# One request per child process, all released at the same moment; each
# request is [node, method, path, body]; returns [status, error code, id].
sub race {
    my @res = ScaiSend::Test::race_requests(map {
        my ($node, $method, $path, $body) = @$_;
        +{ method => $method, token => $tok,
          url => "$node->{base}/api/admin/$path",
          ($body ? (json => $body) : ()) }
    } @_);
    return map { [$_->[0], $_->[1], $_->[2]{id} // ''] } @res;
}

sub tally {
    my %t;
    $t{"$_->[0] $_->[1]"}++ for @_;
    return \%t;
}

# After a race that went wrong: its answers, and the lines at warn or worse
# that the race nodes logged after the offsets in %$from (log_offsets).
sub log_offsets {
    return { map { ($_->{name} => ScaiSend::Test::error_log_offset($_->{error_log})) } @nodes };
}
sub race_diag {
    my ($from, @res) = @_;
    diag 'answers: ' . JSON::PP->new->canonical->encode(tally(@res));
    for my $node (@nodes) {
        diag "$node->{name}: $_" for grep { /\[(?:[\w-]+:)?(?:warn|error|crit|alert|emerg)\]/ }
            ScaiSend::Test::error_log_since($from->{$node->{name}}, $node->{error_log});
    }
}

# Every child of both race nodes answers (each has its pool open already).
my $from = log_offsets();
my @res = race(map { [$nodes[$_ % 2], GET => 'domains?limit=5'] } 0 .. 99);
is_deeply tally(@res), { '200 ' => 100 }, 'warm-up: 100 concurrent lists on two nodes: all 200'
    or race_diag($from, @res);

$from = log_offsets();
@res = race(map { [$nodes[$_ % 2], POST => 'domains', { domain => 'race.pgnodes.example' }] } 0 .. 99);
is_deeply tally(@res), { '201 ' => 1, '409 domain_exists' => 99 },
    '100 concurrent creates of one domain on two nodes: one 201, 99 409 domain_exists'
    or race_diag($from, @res);
is psql_value(q{SELECT count(*) FROM ssd_domains WHERE domain = 'race.pgnodes.example'}), 1,
    'one row in ssd_domains';
my ($winner) = map { $_->[2] } grep { $_->[0] == 201 } @res;
$winner //= 'none';
is psql_value("SELECT count(*) FROM ssd_dkim_keys WHERE domain_id = '$winner'"), 1,
    'with exactly one key';

$from = log_offsets();
@res = race(map { [$nodes[$_ % 2], POST => "domains/$winner/rotate-dkim"] } 0 .. 19);
is_deeply tally(@res), { '200 ' => 1, '409 rotation_pending' => 19 },
    '20 concurrent rotates on two nodes: one 200, 19 409 rotation_pending'
    or race_diag($from, @res);
is psql_value("SELECT count(*) FROM ssd_dkim_keys WHERE domain_id = '$winner' AND state = 'pending'"), 1,
    'one pending key';
is psql_value("SELECT selector_seq FROM ssd_domains WHERE id = '$winner'"), 2,
    'selector_seq advanced once';
is psql_value("SELECT count(*) FROM ssd_events WHERE domain_id = '$winner' AND action = 'dkim.rotated'"), 1,
    'one dkim.rotated event';

# --- kill -9 of node 2's children in the middle of writes -----------------------------------
# Workers loop create -> rotate -> delete (every second domain kept) against
# node 2 for 5 s; its children are killed twice meanwhile.  httpd's master
# starts new children; the interrupted transactions must leave nothing half
# done.
my $WORKERS = 6;
my $SECONDS = 5;
pipe(my $rd, my $wr) or die "pipe: $!";
my @workers;
for my $w (1 .. $WORKERS) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $rd;
        alarm $SECONDS + 40;
        my $ua = LWP::UserAgent->new(timeout => 15, keep_alive => 0);
        my $call = sub {
            my ($method, $path, $body) = @_;
            my $req = HTTP::Request->new($method => "$node2->{base}/api/admin/$path");
            $req->header(Authorization => "Bearer $tok");
            if ($body) {
                $req->header('Content-Type' => 'application/json');
                $req->content($JSON->encode($body));
            }
            my $res = $ua->request($req);
            # a connection cut by the kill: LWP's own 500, not the server's
            return ('cut', {}) if ($res->header('Client-Warning') // '') eq 'Internal response';
            my $j = eval { $JSON->decode($res->content) } || {};
            return ($res->code, $j);
        };
        my $end = time + $SECONDS;
        my ($i, %n) = (0);
        while (time < $end) {
            $i++;
            my ($c, $j) = $call->(POST => 'domains', { domain => "k$w-$i.pgkill.example" });
            $n{"create_$c"}++;
            next unless $c eq '201' && $j->{id};
            my $did = $j->{id};
            ($c) = $call->(POST => "domains/$did/rotate-dkim");
            $n{"rotate_$c"}++;
            next if $i % 2;
            ($c) = $call->(DELETE => "domains/$did");
            $n{"delete_$c"}++;
        }
        syswrite $wr, join(' ', map { "$_=$n{$_}" } sort keys %n) . "\n";
        POSIX::_exit(0);
    }
    push @workers, $pid;
}
close $wr;
my @killed;
for my $at (1.5, 3.2) {
    sleep $at - ($at > 2 ? 1.5 : 0);
    my @kids = node_children($node2);
    push @killed, scalar @kids;
    kill KILL => @kids;
}
my @summary;
{
    local $SIG{ALRM} = sub { die "workers: timeout\n" };
    alarm $SECONDS + 60;
    eval { while (my $l = <$rd>) { chomp $l; push @summary, $l } };
    alarm 0;
}
waitpid $_, 0 for @workers;
close $rd;
diag "children killed: @killed; workers: " . join(' | ', @summary);
ok @killed == 2 && !grep({ !$_ } @killed), 'node 2 had children to kill, twice';
is scalar(@summary), $WORKERS, 'every worker finished';
my %total;
for (map { split ' ' } @summary) { my ($k, $v) = split /=/; $total{$k} += $v }
ok(($total{create_201} // 0) > 0, 'creates succeeded around the kills');
is_deeply [ grep { !/^(?:create_(?:201|cut)|rotate_(?:200|cut)|delete_(?:204|cut))$/ } sort keys %total ], [],
    'no answers other than success or a cut connection (no 5xx from the server)';

# node 2 recovers by itself (new children)
my $end = time + 20;
my $back = 0;
while (time < $end) {
    last if ($back = node_api($node2, GET => 'domains', token => $tok, timeout => 5)->{status} == 200);
    sleep 0.2;
}
ok $back, 'node 2 serves again after the kills';
is node_api($node1, GET => 'domains', token => $tok)->{status}, 200, 'node 1 was not affected';

my @bad = integrity_problems();
is_deeply \@bad, [], 'integrity rules hold over every table after the kills';
my $keys_orphan = psql_value(q{SELECT count(*) FROM ssd_dkim_keys k WHERE NOT EXISTS
    (SELECT 1 FROM ssd_domains d WHERE d.id = k.domain_id)});
is $keys_orphan, 0, 'no key without its domain';
is psql_value(q{SELECT count(*) FROM ssd_domains d WHERE d.domain LIKE '%.pgkill.example'
    AND (SELECT count(*) FROM ssd_dkim_keys k WHERE k.domain_id = d.id AND k.state = 'active') <> 1}), 0,
    'every surviving domain of the stream has exactly one active key';
is psql_value(q{SELECT count(*) FROM ssd_domains d WHERE d.domain LIKE '%.pgkill.example'
    AND NOT EXISTS (SELECT 1 FROM ssd_events e WHERE e.domain_id = d.id AND e.action = 'domain.created')}), 0,
    'every surviving domain of the stream has its domain.created event';
is psql_value(q{SELECT count(*) FROM ssd_dkim_keys k JOIN ssd_domains d ON d.id = k.domain_id
    WHERE d.domain LIKE '%.pgkill.example' AND k.state = 'pending' AND NOT EXISTS
    (SELECT 1 FROM ssd_events e WHERE e.domain_id = d.id AND e.action = 'dkim.rotated')}), 0,
    'every pending key of the stream has its dkim.rotated event';
is psql_value(q{SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
    AND state LIKE 'idle in transaction%'}), 0,
    'no session left idle in a transaction';

# the list is consistent across nodes
my $l1 = node_api($node1, GET => 'domains?q=pgkill&limit=200', token => $tok);
my $l2 = node_api($node2, GET => 'domains?q=pgkill&limit=200', token => $tok);
is_deeply [ map { $_->{id} } @{ obj($l1)->{data} || [] } ],
          [ map { $_->{id} } @{ obj($l2)->{data} || [] } ], 'both nodes list the same domains';
is scalar(@{ obj($l1)->{data} || [] }),
   psql_value(q{SELECT count(*) FROM ssd_domains WHERE domain LIKE '%.pgkill.example'}),
   'the list matches the table';

ok stop_node($node2), 'node 2 stopped';
ok !node_children($node2) && !-e $node2->{pid_file}, 'nothing of node 2 is left';
undef $node2;
ok stop_node($node3) && !node_children($node3), 'node 3 stopped, nothing of it left';
undef $node3;
