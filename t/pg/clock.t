# The single-flight claim of verification reads the database's clock, not
# each node's: two nodes on one database, the second one's clock 30
# minutes ahead (libfaketime preloaded), both with a 10 s minimum interval
# between verifications. A verification on either node makes one on the
# other a 429 whose Retry-After is within the interval -- with each node's
# own clock, the node ahead would run again at once, and the one behind
# would answer a Retry-After of half an hour. Skipped on SQLite (one file,
# one machine, one clock).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(:all);
use ScaiSend::DNS qw(knot_update);

pg_only();
my ($faketime) = grep { -e } map { "$_/faketime/libfaketime.so.1" }
                 '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib';
plan skip_all => 'libfaketime is not installed (Debian package libfaketime)' unless $faketime;
plan tests => 8;

my %set = (ScaiSendVerifyInterval => 10);
my $preload = join ' ', grep { defined && length } $ENV{SCAISEND_HTTPD_PRELOAD}, $faketime;
my ($now, $ahead) = start_nodes(
    ['clock-now', set => \%set],
    ['clock-ahead', set => \%set,
     env => { LD_PRELOAD => $preload, FAKETIME => '+30m',
              FAKETIME_DONT_FAKE_MONOTONIC => 1 }]);
my $A = token(sub => 'clk-a', partner_id => 'p_clk', tenant_id => 't_clk',
              role => 'tenant_admin');

sub domain_on {
    my ($node, $name) = @_;
    my $r = node_api($node, POST => 'domains', token => $A, json => { domain => $name });
    knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] }
                @{ $r->{json}{dns_records} || [] });
    return $r->{json}{id} // 'dom_none';
}
sub retry_after_ok {
    my ($r, $name) = @_;
    my $ra = $r->{headers}->header('Retry-After') // '';
    ok $r->{status} == 429 && $ra =~ /^\d+$/ && $ra >= 1 && $ra <= 10,
        "$name: 429 with Retry-After within the 10 s interval"
        or diag "status $r->{status}, Retry-After '$ra'";
}

my $id = domain_on($now, 'clk01.example.org');
my $r = node_api($now, POST => "domains/$id/verify", token => $A);
is $r->{status}, 200, 'verify on the node whose clock is right';
is $r->{json}{verified}, JSON::PP::true(), '... verified';
$r = node_api($ahead, POST => "domains/$id/verify", token => $A);
retry_after_ok($r, 'then on the node 30 minutes ahead');

$id = domain_on($ahead, 'clk02.example.org');
$r = node_api($ahead, POST => "domains/$id/verify", token => $A);
is $r->{status}, 200, 'verify on the node 30 minutes ahead';
is $r->{json}{verified}, JSON::PP::true(), '... verified';
$r = node_api($now, POST => "domains/$id/verify", token => $A);
retry_after_ok($r, 'then on the node whose clock is right');
$r = node_api($ahead, GET => 'domains', token => $A);
is $r->{status}, 200, 'the node ahead serves (tokens still valid for it)';
is scalar(@{ $r->{json}{data} || [] }), 2, '... both domains';
stop_node($_) for $now, $ahead;
