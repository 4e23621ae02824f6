# Verification holds no database connection while it waits for DNS, and a
# request that finds a verification of the domain running waits for that
# run's answer without one either. A node of the suite's server with one
# process and ONE database connection (DBDMax 1) asks a nameserver that
# delays every answer by 2 s: while a verification and a second one that
# waits on it are running, a plain read still gets the connection at once.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use POSIX qw(_exit);
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api free_port);
use ScaiSend::DNS qw(knot_update knot_port);

plan tests => 9;

my $logs = Apache::Test::vars('t_logs');
my $dns_port = free_port(9800 + int(rand 100));
my $ready = "$logs/conn-dns.ready";
unlink $ready;
my $dns = fork // die "fork: $!";
if (!$dns) {
    { no warnings 'exec';
      exec "$FindBin::Bin/../dns/bad-dns", '--mode', 'delay', '--port', $dns_port,
           '--delay-ms', 2000, '--upstream', '127.0.0.1:' . knot_port(),
           '--max-seconds', 120, '--ready-file', $ready; }
    _exit(127);
}
END { kill 'TERM', $dns if $dns; }
for (1 .. 100) { last if -e $ready; sleep 0.05 }

my $node = start_node('oneconn',
    set => { ScaiSendResolver => "127.0.0.1:$dns_port", ScaiSendDNSTimeout => 5000,
             ScaiSendVerifyBudget => 10000, DBDMin => 0, DBDKeep => 1, DBDMax => 1 },
    append => join("\n", 'StartServers 1', 'ServerLimit 1', 'ThreadsPerChild 16',
                   'MaxRequestWorkers 16', 'MinSpareThreads 1', 'MaxSpareThreads 16'));
my $A = token(sub => 'conn-a', partner_id => 'p_conn', tenant_id => 't_conn',
              role => 'tenant_admin');

my $r = node_api($node, POST => 'domains', token => $A, json => { domain => 'conn01.example.org' });
is $r->{status}, 201, 'create';
my $id = $r->{json}{id} // 'dom_none';
knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] }
            @{ $r->{json}{dns_records} || [] });

# two verifications of the domain in children: the first runs the lookups,
# the second finds it running and waits for its answer
my @kids;
for my $n (1, 2) {
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $v = node_api($node, POST => "domains/$id/verify", token => $A, timeout => 40);
        open my $fh, '>', "$logs/conn-verify-$n" or _exit(1);
        print {$fh} join(' ', $v->{status}, ($v->{json} || {})->{checked_at} // '-',
                         ($v->{json} || {})->{verified} ? 'true' : 'false'), "\n";
        close $fh;
        _exit(0);
    }
    push @kids, $pid;
    sleep 0.3;
}
sleep 0.5;
my $t0 = time;
$r = node_api($node, GET => "domains/$id", token => $A, timeout => 30);
my $took = time - $t0;
is $r->{status}, 200, 'a read while both verifications wait for DNS';
cmp_ok $took, '<', 1.0, sprintf('... gets the only connection at once (%.2f s)', $took);
$r = node_api($node, GET => 'domains', token => $A, timeout => 30);
is $r->{status}, 200, '... and so does a list';
waitpid $_, 0 for @kids;
my @v = map { open my $fh, '<', "$logs/conn-verify-$_" or die $!; my $l = <$fh>; chomp $l; [split ' ', $l] } 1, 2;
is $v[0][0], 200, 'the first verification answers 200';
is $v[0][2], 'true', '... verified';
is $v[1][0], 200, 'the one that waited answers 200';
is $v[1][1], $v[0][1], '... with the answer of the run it waited for (same checked_at)';
is $v[1][2], 'true', '... verified';
stop_node($node);
