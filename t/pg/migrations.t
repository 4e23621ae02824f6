# Schema versions on PostgreSQL: the suite's server left exactly one row
# (version 1); three nodes starting together on an empty database migrate it
# exactly once (pg_advisory_lock); a node refuses a schema newer than it knows
# with a clear message.  Skipped on SQLite.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(:all);

pg_only();
plan tests => 16;

my $tok = token(sub => 'pg-mig', partner_id => 'p_pgmig', tenant_id => 't_pgmig',
                role => 'tenant_admin');

# --- the suite's database --------------------------------------------------------
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version ORDER BY version') ], [1],
    'ssd_schema_version holds exactly one row: version 1';
is_deeply [ map { $_->[0] } psql(q{SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_name LIKE 'ssd\_%' ORDER BY table_name}) ],
    [qw(ssd_dkim_keys ssd_domains ssd_events ssd_schema_version)],
    'the tables of version 1 exist';

# --- three nodes start together on an empty database ------------------------------
my $scratch = "scaisend_mig_$$";
psql("DROP DATABASE IF EXISTS $scratch");
psql("CREATE DATABASE $scratch");
END { local $?; eval { psql("DROP DATABASE IF EXISTS $scratch WITH (FORCE)") } if $scratch; }
(my $params = dbd_params()) =~ s/\bdbname=\S+/dbname=$scratch/ or die "no dbname in DBDParams";
(my $dsn = pg_env()->{PG_DSN}) =~ s/\bdbname=\S+/dbname=$scratch/;

my @nodes = eval { start_nodes(map { ["mig$_", dbd_params => $params] } 1 .. 3) };
is scalar(@nodes), 3, 'three nodes started at the same moment on an empty database'
    or diag $@;
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version', dsn => $dsn) ], [1],
    'the migration ran once: exactly one version row';
my $migrated = 0;
for my $n (@nodes) {
    open my $fh, '<', $n->{error_log} or next;
    $migrated += grep { /schema migrated from version 0 to 1/ } <$fh>;
    close $fh;
}
is $migrated, 1, 'exactly one node logged "schema migrated from version 0 to 1"';
my %st;
$st{ node_api($_, GET => 'domains', token => $tok)->{status} }++ for @nodes;
is_deeply \%st, { 200 => 3 }, 'every node serves the API';
my $r = node_api($nodes[0], POST => 'domains', token => $tok, json => { domain => 'mig.pgmig.example' });
is $r->{status}, 201, 'create on node 1 of the scratch database';
$r = node_api($nodes[2], GET => 'domains', token => $tok);
is scalar(@{ (ref $r->{json} eq 'HASH' && $r->{json}{data}) || [] }), 1, 'seen on node 3';
stop_node($_) for @nodes;

# --- a schema newer than the module ---------------------------------------------------
my $restore = 0;
END { local $?; eval { psql('DELETE FROM ssd_schema_version WHERE version = 999') } if $restore; }
psql('INSERT INTO ssd_schema_version (version) VALUES (999)');
$restore = 1;
my $n = start_node('newer', expect_failure => 1, wait => 20);
ok $n->{failed}, 'a node does not start on a database of schema version 999';
like $n->{output} // '', qr/schema is version 999, newer than this module knows \(1\)/,
    'its error log says the schema is newer than this module knows';
like $n->{output} // '', qr/upgrade the module/, 'and what to do';
stop_node($n) unless $n->{failed};

# the running server is not affected (it checked at its own start)
is ScaiSend::Test::api(GET => 'domains', token => $tok)->{status}, 200,
    'the suite server keeps serving';

psql('DELETE FROM ssd_schema_version WHERE version = 999');
$restore = 0;
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version') ], [1],
    'restored: one row, version 1';
$n = eval { start_node('restored') };
ok $n && !$n->{failed}, 'after the restore a node starts again' or diag $@;
is $n ? node_api($n, GET => 'domains', token => $tok)->{status} : 0, 200, 'and serves';
stop_node($n) if $n;
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version') ], [1],
    'and has not added a version row';
