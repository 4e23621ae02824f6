# Schema versions on PostgreSQL: the suite's server left one row per
# version (1 to the current one); three nodes starting together on an empty
# database migrate it exactly once (pg_advisory_lock); a database of
# version 1 with data is upgraded in place (version 2: owner keys that
# separate partner and tenant with a space, the verification state, the
# outbox and the lease, the keys' algorithms) to the schema a fresh
# database has; a node refuses a schema newer
# than it knows with a clear message.  Skipped on SQLite.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(:all);

pg_only();
plan tests => 23;

my $V = schema_version();
my @ALL = (1 .. $V);

my $tok = token(sub => 'pg-mig', partner_id => 'p_pgmig', tenant_id => 't_pgmig',
                role => 'tenant_admin');

# --- the suite's database --------------------------------------------------------
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version ORDER BY version') ], \@ALL,
    "ssd_schema_version holds one row per version, 1 to $V";
is_deeply [ map { $_->[0] } psql(q{SELECT table_name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_name LIKE 'ssd\_%' ORDER BY table_name}) ],
    [qw(ssd_dkim_keys ssd_domains ssd_events ssd_lease ssd_outbox ssd_schema_version)],
    'the tables exist';

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
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version ORDER BY version', dsn => $dsn) ],
    \@ALL, 'the migrations ran once: one row per version';
my $migrated = 0;
for my $n (@nodes) {
    open my $fh, '<', $n->{error_log} or next;
    $migrated += grep { /schema migrated from version 0 to $V\b/ } <$fh>;
    close $fh;
}
is $migrated, 1, "exactly one node logged \"schema migrated from version 0 to $V\"";
my %st;
$st{ node_api($_, GET => 'domains', token => $tok)->{status} }++ for @nodes;
is_deeply \%st, { 200 => 3 }, 'every node serves the API';
my $r = node_api($nodes[0], POST => 'domains', token => $tok, json => { domain => 'mig.pgmig.example' });
is $r->{status}, 201, 'create on node 1 of the scratch database';
$r = node_api($nodes[2], GET => 'domains', token => $tok);
is scalar(@{ (ref $r->{json} eq 'HASH' && $r->{json}{data}) || [] }), 1, 'seen on node 3';
stop_node($_) for @nodes;

# The schema as a fresh database has it: every column and every index.
sub schema_of {
    my @cols = psql(q{SELECT table_name || '.' || column_name || ' ' || data_type || ' '
        || is_nullable || ' ' || coalesce(column_default, '-') FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name LIKE 'ssd\_%' ORDER BY 1}, dsn => $dsn);
    my @idx = psql(q{SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
        AND tablename LIKE 'ssd\_%' ORDER BY 1}, dsn => $dsn);
    return [ map { $_->[0] } @cols, @idx ];
}
my $fresh = schema_of();

# --- version 1 with data, upgraded ----------------------------------------------------
# The scratch database taken back to version 1: without versions 2 and 3's
# columns, tables and indexes, an owner key of version 1's form
# ("t:<partner>:<tenant>", ambiguous when ids hold ':'), and its version
# row gone.
psql("ALTER TABLE ssd_domains DROP COLUMN $_", dsn => $dsn)
    for qw(last_answer_ms verification_state failing_since_ms next_check_ms check_step
           window_from_ms event_seq);
psql("DROP TABLE $_", dsn => $dsn) for qw(ssd_outbox ssd_lease);
# ... and without Ed25519's: the keys' algorithm, the per-algorithm key
# indexes (version 1 had one pending and one active key per domain), the
# domains' set of algorithms
psql($_, dsn => $dsn) for
    'DROP INDEX ssd_dkim_keys_one_pending_per_alg', 'DROP INDEX ssd_dkim_keys_one_active_per_alg',
    'ALTER TABLE ssd_dkim_keys DROP COLUMN algorithm', 'ALTER TABLE ssd_domains DROP COLUMN dkim_algorithms',
    q{CREATE UNIQUE INDEX ssd_dkim_keys_one_pending ON ssd_dkim_keys (domain_id) WHERE state = 'pending'},
    q{CREATE UNIQUE INDEX ssd_dkim_keys_one_active ON ssd_dkim_keys (domain_id) WHERE state = 'active'};
psql(q{DELETE FROM ssd_schema_version WHERE version > 1}, dsn => $dsn);
my $old_tok = token(sub => 'pg-mig', partner_id => 'px', tenant_id => 'a:b', role => 'tenant_admin');
my $other = token(sub => 'pg-mig', partner_id => 'px:a', tenant_id => 'b', role => 'tenant_admin');
psql(q{UPDATE ssd_domains SET owner_key = 't:px:a:b', partner_id = 'px', tenant_id = 'a:b'}, dsn => $dsn);
my $up = eval { start_node('mig-up', dbd_params => $params) };
ok $up && !$up->{failed}, 'a node starts on the version 1 database' or diag $@;
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version ORDER BY version', dsn => $dsn) ],
    \@ALL, '... and migrates it to the current version';
is_deeply schema_of(), $fresh, '... to the same schema as a fresh database';
is psql_value(q{SELECT owner_key FROM ssd_domains}, dsn => $dsn), 't:px a:b',
    'the owner key is rewritten: partner and tenant separated by a space';
$r = node_api($up, GET => 'domains', token => $old_tok);
is scalar(@{ (ref $r->{json} eq 'HASH' && $r->{json}{data}) || [] }), 1,
    'the owner still lists its domain';
$r = node_api($up, POST => 'domains', token => $other, json => { domain => 'mig.pgmig.example' });
is $r->{status}, 201, 'another owner whose ids join to the same old key registers the name';
$r = node_api($up, POST => 'domains', token => $old_tok, json => { domain => 'mig.pgmig.example' });
is $r->{status}, 409, 'the first owner still holds it (409 on a second create)';
stop_node($up) if $up;

# --- a schema newer than the module ---------------------------------------------------
my $restore = 0;
END { local $?; eval { psql('DELETE FROM ssd_schema_version WHERE version = 999') } if $restore; }
psql('INSERT INTO ssd_schema_version (version) VALUES (999)');
$restore = 1;
my $n = start_node('newer', expect_failure => 1, wait => 20);
ok $n->{failed}, 'a node does not start on a database of schema version 999';
like $n->{output} // '', qr/schema is version 999, newer than this module knows \($V\)/,
    'its error log says the schema is newer than this module knows';
like $n->{output} // '', qr/upgrade the module/, 'and what to do';
stop_node($n) unless $n->{failed};

# the running server is not affected (it checked at its own start)
is ScaiSend::Test::api(GET => 'domains', token => $tok)->{status}, 200,
    'the suite server keeps serving';

psql('DELETE FROM ssd_schema_version WHERE version = 999');
$restore = 0;
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version ORDER BY version') ], \@ALL,
    'restored: the rows of the known versions';
$n = eval { start_node('restored') };
ok $n && !$n->{failed}, 'after the restore a node starts again' or diag $@;
is $n ? node_api($n, GET => 'domains', token => $tok)->{status} : 0, 200, 'and serves';
stop_node($n) if $n;
is_deeply [ map { $_->[0] } psql('SELECT version FROM ssd_schema_version ORDER BY version') ], \@ALL,
    'and has not added a version row';
