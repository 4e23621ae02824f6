# The status handler (SetHandler scaisend-domains-status, mounted at
# /scaisend-status): JSON and Prometheus text, counters kept in shared
# memory and summed over every child process -- they move by exactly the
# requests made, served by several children (the pid of each request is in
# t/logs/pid_log, a CustomLog of the suite's config).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use ScaiSend::Test qw(token api);
use ScaiSend::PG qw(schema_version);
use ScaiSend::DNS qw(knot_update);

plan tests => 22;

sub status {
    my ($q) = @_;
    return api(GET => '/scaisend-status' . ($q // ''));
}
sub count {
    my ($s, $route, $code) = @_;
    return ($s->{requests}{$route} || {})->{$code} // 0;
}

my $r = status();
is $r->{status}, 200, 'GET /scaisend-status: 200';
like $r->{headers}->header('Content-Type') // '', qr{^application/json}, '... JSON';
my $s0 = $r->{json} || {};
like $s0->{version} // '', qr/^\d+\.\d+\.\d+/, 'version';
is $s0->{database}, 'ok', 'database: ok';
is $s0->{schema_version}, schema_version(), 'schema_version: the current one';
ok defined $s0->{uptime_seconds} && $s0->{uptime_seconds} >= 0, 'uptime_seconds';
is_deeply [ sort keys %$s0 ],
    [ sort qw(version database schema_version uptime_seconds requests verifications
              dns_queries signatures webhook_deliveries) ], 'the keys of the status';

# requests from many connections at once: several children serve them
my $tok = token(sub => 'st-a', partner_id => 'p_st', tenant_id => 't_st', role => 'tenant_admin');
my $base = Apache::TestRequest::resolve_url('/api/admin');
my $logs = Apache::Test::vars('t_logs');
my $mark = -s "$logs/pid_log" // 0;
my @res = ScaiSend::Test::race_requests(
    (map { { method => 'GET', url => "$base/domains", token => $tok } } 1 .. 24),
    (map { { method => 'GET', url => "$base/nothing-here", token => $tok } } 1 .. 6),
    (map { { method => 'GET', url => "$base/domains" } } 1 .. 4));
is_deeply [ map { $_->[0] } @res ], [ (200) x 24, (404) x 6, (401) x 4 ],
    '34 requests: 24 lists, 6 unknown routes, 4 without a token';
select undef, undef, undef, 0.5;
$r = status();
my $s1 = $r->{json} || {};
is count($s1, 'GET /domains', 200) - count($s0, 'GET /domains', 200), 24,
    'GET /domains 200 moved by exactly 24';
is count($s1, '-', 404) - count($s0, '-', 404), 6, 'no route, 404: by exactly 6';
is count($s1, '-', 401) - count($s0, '-', 401), 4,
    'refused before the module (401 through the ErrorDocument): by exactly 4';
open my $fh, '<', "$logs/pid_log" or die "$logs/pid_log: $!";
seek $fh, $mark, 0;
my %pids = map { (split ' ')[0] => 1 } grep { m{ /api/admin/(?:domains|nothing-here)$} } <$fh>;
close $fh;
cmp_ok scalar(keys %pids), '>=', 2, 'served by ' . scalar(keys %pids) . ' child processes';

# a verification moves its counters
$r = api(POST => 'domains', token => $tok, json => { domain => 'st01.example.org' });
my $id = $r->{json}{id} // 'dom_none';
knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] }
            @{ $r->{json}{dns_records} || [] });
$r = api(POST => "domains/$id/verify", token => $tok);
is $r->{json}{verified}, JSON::PP::true(), 'a verification';
my $s2 = status()->{json} || {};
is $s2->{verifications}{verified} - $s1->{verifications}{verified}, 1,
    'verifications.verified moved by 1';
cmp_ok $s2->{dns_queries}{ok} - $s1->{dns_queries}{ok}, '>=', 3,
    'dns_queries.ok moved by at least the three checks';
is count($s2, 'POST /domains/{id}/verify', 200) - count($s1, 'POST /domains/{id}/verify', 200), 1,
    'the verify request is counted under its route';

# the same in Prometheus' text format
$r = status('?format=prometheus');
like $r->{headers}->header('Content-Type') // '', qr{^text/plain; version=0\.0\.4}, 'Prometheus text format';
my %prom = map { /^([^#].*) (\d+)$/ ? ($1 => $2) : () } split /\n/, $r->{body};
is $prom{'scaisend_requests_total{route="GET /domains",status="200"}'},
    count($s2, 'GET /domains', 200), 'scaisend_requests_total as in the JSON';
is $prom{scaisend_database_up}, 1, 'scaisend_database_up 1';
is $prom{'scaisend_verifications_total{outcome="verified"}'}, $s2->{verifications}{verified},
    'scaisend_verifications_total as in the JSON';

$r = api(POST => '/scaisend-status');
is $r->{status}, 405, 'POST: 405';
$r = status('?format=xml');
is $r->{status}, 400, 'an unknown format: 400';
