# PostgreSQL faults: with the database stopped the API answers 503
# storage_unavailable (JSON, Retry-After) quickly -- within mod_dbd's
# connect_timeout (2 s, t/conf/extra.conf.in via build/run-tests) plus 2 s --
# and never hangs; once the database is back the same requests succeed again
# without restarting httpd.  Skipped on SQLite.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use POSIX ();
use LWP::UserAgent ();
use Apache::TestRequest ();
use ScaiSend::Test qw(token api);
use ScaiSend::PG qw(:all);

pg_only();
plan tests => 41;

use constant BUDGET => 2 + 2;      # connect_timeout + 2 s

my $tok = token(sub => 'pg-faults', partner_id => 'p_pgfaults', tenant_id => 't_pgfaults',
                role => 'tenant_admin');

# Whatever happens below, the cluster runs again when this file ends.
my $stopped = 0;
END { local $?; eval { pg_ctl('start') unless pg_running() } if $stopped; }

sub timed {
    my ($method, $path, %o) = @_;
    my $t0 = time;
    my $r = api($method, $path, token => $tok, %o);
    $r->{elapsed} = time - $t0;
    return $r;
}

sub unavailable_ok {
    my ($r, $what) = @_;
    my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
    is $r->{status}, 503, "$what: 503";
    ok(ref $j->{error} eq 'HASH' && ($j->{error}{code} // '') eq 'storage_unavailable'
       && length($j->{error}{message} // ''),
       "$what: JSON error storage_unavailable with a message")
        or diag "body: $r->{body}";
    like $r->{headers}->header('Retry-After') // '', qr/^[1-9][0-9]*$/, "$what: Retry-After";
    cmp_ok $r->{elapsed}, '<', BUDGET, "$what: answered within ${\ BUDGET} s";
}

# $n clients at once, each one GET of $path without keep-alive: the server
# uses as many threads, and so as many pooled connections, as it can.
# Returns { status => count }.
sub burst {
    my ($n, $path) = @_;
    my $url = Apache::TestRequest::resolve_url("/api/admin/$path");
    pipe(my $rd, my $wr) or die "pipe: $!";
    my @pids;
    my $start = time + 0.5;
    for (1 .. $n) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $rd;
            alarm 60;
            my $ua = LWP::UserAgent->new(timeout => 30, keep_alive => 0);
            my $wait = $start - time;
            sleep $wait if $wait > 0;
            my $res = $ua->get($url, Authorization => "Bearer $tok");
            syswrite $wr, $res->code . "\n";
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $wr;
    my %st;
    while (my $l = <$rd>) { chomp $l; $st{$l}++ }
    waitpid $_, 0 for @pids;
    return \%st;
}

# --- the database is up: a domain to read --------------------------------------
my $r = api(POST => 'domains', token => $tok, json => { domain => 'before.pgfaults.example' });
is $r->{status}, 201, 'before the outage: create 201';
my $id = ref $r->{json} eq 'HASH' ? $r->{json}{id} // 'none' : 'none';
$r = api(GET => "domains/$id", token => $tok);
is $r->{status}, 200, 'before the outage: read 200';
# Many pooled connections, most of them idle during the outage.
is_deeply burst(40, 'domains?limit=1'), { 200 => 40 }, 'before the outage: 40 concurrent lists, all 200';

# --- stop the database -----------------------------------------------------------
$stopped = 1;
my ($rc, $out) = pg_ctl('stop');
is $rc, 0, 'pg_ctl stop -m fast' or diag $out;
ok !pg_running(), 'the cluster is down';

# Each request twice: the first may find a pooled connection that died with
# the server, the next ones need a new connection (refused).
for my $round (1, 2) {
    unavailable_ok(timed(GET => 'domains'), "down, round $round: list");
    unavailable_ok(timed(GET => "domains/$id"), "down, round $round: read");
    unavailable_ok(timed(POST => 'domains', json => { domain => 'during.pgfaults.example' }),
                   "down, round $round: create");
}

# --- start it again: recovery without restarting httpd ---------------------------------
($rc, $out) = pg_ctl('start');
is $rc, 0, 'pg_ctl start' or diag $out;
ok pg_running(), 'the cluster is up';

# Connections that died are replaced on demand; allow a few 503s while the
# pool turns over, bounded by 20 s.
my $end = time + 20;
my $ok = 0;
my $tries = 0;
while (time < $end) {
    $tries++;
    my $l = api(GET => 'domains', token => $tok);
    if ($l->{status} == 200) { $ok = 1; last }
    sleep 0.2;
}
ok $ok, "list answers 200 again (after $tries tries)";

# Every pooled connection, also those idle during the outage: mod_dbd's
# check revives them (the pgsql driver calls PQreset), which must leave them
# usable (their prepared statements belong to the old session).
my %seen;
$seen{ api(GET => "domains/$id", token => $tok)->{status} }++ for 1 .. 10;
is_deeply \%seen, { 200 => 10 }, 'after recovery: 10 reads, all 200';
my $healthy = 1;
for my $round (1 .. 3) {
    my $st = burst(40, 'domains?limit=1');
    my $ok = is_deeply $st, { 200 => 40 },
        "after recovery, round $round: 40 concurrent lists, all 200 (every pooled connection works)";
    $healthy &&= $ok;
}
if (!$healthy) {
    diag 'pooled connections stay broken after the restart (see the error_log: '
       . '"prepared statement ... does not exist"); restarting httpd gracefully so '
       . 'that the rest of the suite runs on fresh connections';
    restart_httpd();
}
$r = api(GET => 'domains?q=pgfaults', token => $tok);
is $r->{status}, 200, 'list 200';
my @names = map { $_->{domain} } @{ (ref $r->{json} eq 'HASH' && $r->{json}{data}) || [] };
is_deeply \@names, ['before.pgfaults.example'], 'nothing from the outage was stored';
$r = api(POST => 'domains', token => $tok, json => { domain => 'during.pgfaults.example' });
is $r->{status}, 201, 'the create refused during the outage now succeeds';
$r = api(POST => 'domains', token => $tok, json => { domain => 'after.pgfaults.example' });
is $r->{status}, 201, 'and a new one';
is_deeply [integrity_problems()], [], 'integrity rules hold after the outage';

# A graceful restart of the suite's server (new children, new pools).
sub restart_httpd {
    my $logs = Apache::Test::vars('t_logs');
    open my $fh, '<', "$logs/httpd.pid" or return diag "no httpd.pid: $!";
    my $pid = <$fh>;
    close $fh;
    chomp $pid;
    kill USR1 => $pid or return diag "kill USR1 $pid: $!";
    my $end = time + 20;
    sleep 1;
    while (time < $end) {
        last if (burst(20, "domains?limit=1")->{200} // 0) == 20;
        sleep 0.5;
    }
}
