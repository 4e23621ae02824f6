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
use ScaiSend::Test qw(token api);
use ScaiSend::PG qw(:all);

pg_only();
plan tests => 37;

use constant BUDGET => 2 + 2;      # connect_timeout + 2 s

my $tok = token(sub => 'pg-faults', partner_id => 'p_pgfaults', tenant_id => 't_pgfaults',
                role => 'tenant_admin');

# Whatever happens below, the cluster runs again when this file ends.
END { local $?; pg_ctl('start') unless eval { pg_running() }; }

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

# --- the database is up: a domain to read --------------------------------------
my $r = api(POST => 'domains', token => $tok, json => { domain => 'before.pgfaults.example' });
is $r->{status}, 201, 'before the outage: create 201';
my $id = ref $r->{json} eq 'HASH' ? $r->{json}{id} // 'none' : 'none';
$r = api(GET => "domains/$id", token => $tok);
is $r->{status}, 200, 'before the outage: read 200';

# --- stop the database -----------------------------------------------------------
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

# Every server process and thread: enough requests to reach them all.
my %seen;
$seen{ api(GET => "domains/$id", token => $tok)->{status} }++ for 1 .. 40;
is_deeply \%seen, { 200 => 40 }, 'after recovery: 40 reads, all 200';
$r = api(GET => 'domains?q=pgfaults', token => $tok);
is $r->{status}, 200, 'list 200';
my @names = map { $_->{domain} } @{ (ref $r->{json} eq 'HASH' && $r->{json}{data}) || [] };
is_deeply \@names, ['before.pgfaults.example'], 'nothing from the outage was stored';
$r = api(POST => 'domains', token => $tok, json => { domain => 'during.pgfaults.example' });
is $r->{status}, 201, 'the create refused during the outage now succeeds';
$r = api(POST => 'domains', token => $tok, json => { domain => 'after.pgfaults.example' });
is $r->{status}, 201, 'and a new one';
is_deeply [integrity_problems()], [], 'integrity rules hold after the outage';
