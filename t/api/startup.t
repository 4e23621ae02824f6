# Children starting together on a fresh SQLite file: none fails mod_dbd's
# child init. In WAL mode the first connection builds the file's
# shared-memory index, and another one preparing statements meanwhile is
# told "database is locked" (AH00632, then AH00636 "child init failed"):
# the module waits, before mod_dbd's child init, until the file can be read.
# Skipped on PostgreSQL (no such lock there).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api is_pgsql);

plan skip_all => 'SQLite only (the WAL index is an SQLite matter)' if is_pgsql();
plan tests => 3;

my $ROUNDS = 4;
my $MPM = join "\n", 'StartServers 16', 'ServerLimit 16', 'ThreadsPerChild 5',
                     'MinSpareThreads 5', 'MaxSpareThreads 80', 'MaxRequestWorkers 80';
my $ADM = token(sub => 'startup-admin', partner_id => 'p_start', tenant_id => 't_start',
                role => 'tenant_admin');

sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; local $/; return <$fh> }

my (@failed_init, @not_created, @waited);
for my $round (1 .. $ROUNDS) {
    my $dir = Apache::Test::vars('t_logs') . "/startup-$$-$round";
    make_path($dir);
    my $node = start_node("startup$round", dbd_params => "$dir/fresh.db", append => $MPM);
    my $r = node_api($node, POST => 'domains', token => $ADM,
                     json => { domain => "s$round.startup.example" });
    push @not_created, "round $round: $r->{status}" unless $r->{status} == 201;
    sleep 1;                                    # every child has started
    stop_node($node);
    my @lines = split /\n/, slurp($node->{error_log});
    push @failed_init, map { "round $round: $_" } grep { /AH0063[2-6]|database is locked/ } @lines;
    push @waited, grep { /SSD0108/ } @lines;
}
is scalar(@failed_init), 0,
    "$ROUNDS starts of 8 children on a fresh SQLite file: no child fails mod_dbd's init"
    or diag join "\n", @failed_init[0 .. ($#failed_init < 9 ? $#failed_init : 9)];
is_deeply \@not_created, [], 'each start: the first create 201';
is_deeply \@waited, [], 'no child waited the whole 2 s for the file';
