# The schema on both engines (SQLite through the sqlite3 shell,
# PostgreSQL through psql): the suite's database has exactly the module's
# tables, the columns of Ed25519 (api.md section 10: a key's algorithm, a
# domain's set of algorithms) and one pending and one active key per
# domain and algorithm; a scratch database taken back to version 1, with
# a domain and its key in it, is upgraded by a node started on it to the
# schema a fresh database has, the old rows reading rsa-sha256; and so is
# one taken back to version 2 (before Ed25519).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::PG qw(:all);

plan tests => 17;

my $PG = is_pgsql();
my $V  = schema_version();
my $tok = token(sub => 'mig2', partner_id => 'p_mig2', tenant_id => 't_mig2', role => 'tenant_admin');

# SQL on the suite's database or another one (a DSN, or a SQLite file):
# rows as array refs.
sub sqlite {
    my ($file, $sql) = @_;
    open my $fh, '-|', 'sqlite3', '-batch', '-bail', '-separator', "\t", $file, $sql
        or die "sqlite3: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    die "sqlite3 failed (exit " . ($? >> 8) . ") on: $sql\n" if $?;
    return map { [ split /\t/, $_, -1 ] } grep { length } split /\n/, $out;
}
sub sql {
    my ($db, $sql) = @_;
    return $PG ? psql($sql, defined $db ? (dsn => $db) : ()) : sqlite($db // dbd_params(), $sql);
}
sub column { my ($db, $sql) = @_; return [ map { $_->[0] } sql($db, $sql) ] }

sub tables {
    my ($db) = @_;
    return column($db, $PG
        ? q{SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'
            AND table_name LIKE 'ssd\_%' ORDER BY 1}
        : q{SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ssd\_%' ESCAPE '\'
            ORDER BY 1});
}
# "table.column type notnull default" of every column, then every index.
sub schema_of {
    my ($db) = @_;
    my $cols = column($db, $PG
        ? q{SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
            || ' ' || coalesce(column_default, '-') FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name LIKE 'ssd\_%' ORDER BY 1}
        : q{SELECT m.name || '.' || c.name || ' ' || c.type || ' ' || c."notnull" || ' '
            || coalesce(c.dflt_value, '-') FROM sqlite_master m, pragma_table_info(m.name) c
            WHERE m.type = 'table' AND m.name LIKE 'ssd\_%' ESCAPE '\' ORDER BY m.name, c.cid});
    my $idx = column($db, $PG
        ? q{SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
            AND tablename LIKE 'ssd\_%' ORDER BY 1}
        : q{SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
            AND tbl_name LIKE 'ssd\_%' ESCAPE '\' ORDER BY name});
    return [@$cols, @$idx];
}
sub has { my ($schema, $re) = @_; return scalar grep { $_ =~ $re } @$schema }

# --- the suite's database ------------------------------------------------------------
is_deeply tables(undef), [qw(ssd_dkim_keys ssd_domains ssd_events ssd_lease ssd_outbox ssd_schema_version)],
    'the tables: exactly the module\'s';
my $suite = schema_of(undef);
ok has($suite, qr/^ssd_dkim_keys\.algorithm (?:character varying|VARCHAR\(16\)) (?:NO|1) '?rsa-sha256'?/),
    'ssd_dkim_keys.algorithm: not null, default rsa-sha256' or diag join "\n", grep { /algorithm/ } @$suite;
ok has($suite, qr/^ssd_domains\.dkim_algorithms (?:character varying|VARCHAR\(64\)) (?:NO|1) '?rsa-sha256'?/),
    'ssd_domains.dkim_algorithms: not null, default rsa-sha256';
ok has($suite, qr/UNIQUE INDEX ssd_dkim_keys_one_pending_per_alg ON (?:public\.)?ssd_dkim_keys .*\(domain_id, algorithm\) WHERE .*state.* = 'pending'/)
   && has($suite, qr/UNIQUE INDEX ssd_dkim_keys_one_active_per_alg ON (?:public\.)?ssd_dkim_keys .*\(domain_id, algorithm\) WHERE .*state.* = 'active'/),
    'one pending and one active key per domain and algorithm';
# version 4: the signing and sending decision looks a domain up by partner
# and name -- an index on both, not a walk over all of the partner's domains
ok has($suite, qr/INDEX ssd_domains_partner_domain ON (?:public\.)?ssd_domains .*\(partner_id, domain, id\)/),
    'an index on ssd_domains (partner_id, domain, id)' or diag join "\n", grep { /INDEX/ } @$suite;
my $plan = join ' ', map { join ' ', @$_ } sql(undef, ($PG ? 'SET enable_seqscan = off; ' : '')
    . q{EXPLAIN } . ($PG ? '' : 'QUERY PLAN ')
    . q{SELECT d.id FROM ssd_domains d WHERE d.partner_id = 'p' AND d.domain = 'x.example' ORDER BY d.id});
like $plan, qr/ssd_domains_partner_domain/, '... which the lookup by partner and name uses' or diag $plan;
ok !has($suite, qr/ssd_dkim_keys_one_(?:pending|active) /), 'version 1\'s per-domain key indexes are gone';

# --- a scratch database: fresh, then back to version 1, then upgraded ----------------
my ($params, $db);
my $scratch = "scaisend_mig2_$$";
if ($PG) {
    psql("DROP DATABASE IF EXISTS $scratch");
    psql("CREATE DATABASE $scratch");
    ($params = dbd_params()) =~ s/\bdbname=\S+/dbname=$scratch/ or die "no dbname in DBDParams";
    ($db = pg_env()->{PG_DSN}) =~ s/\bdbname=\S+/dbname=$scratch/;
} else {
    my $logs = Apache::Test::vars('t_logs');
    $params = $db = "$logs/$scratch.db";
    unlink $db;
}
END { local $?; eval { $PG ? psql("DROP DATABASE IF EXISTS $scratch WITH (FORCE)") : unlink $db } if $db; }

my $node = eval { start_node('mig2-fresh', dbd_params => $params) };
ok $node && !$node->{failed}, 'a node starts on an empty database' or diag $@;
my $r = $node ? node_api($node, POST => 'domains', token => $tok, json => { domain => 'mig2.example.com' })
              : { status => 0 };
is $r->{status}, 201, 'and creates an RSA domain there';
stop_node($node) if $node;
my $fresh = schema_of($db);

# version 1: without version 2's columns, tables and indexes; its own key
# indexes back; the version row gone
my @v1 = (
    (map { "DROP INDEX $_" } qw(ssd_dkim_keys_one_pending_per_alg ssd_dkim_keys_one_active_per_alg
                                ssd_domains_due)),
    (map { "ALTER TABLE ssd_domains DROP COLUMN $_" }
         qw(last_answer_ms verification_state failing_since_ms next_check_ms check_step
            window_from_ms event_seq dkim_algorithms)),
    'ALTER TABLE ssd_dkim_keys DROP COLUMN algorithm',
    'DROP TABLE ssd_outbox', 'DROP TABLE ssd_lease',
    q{CREATE UNIQUE INDEX ssd_dkim_keys_one_pending ON ssd_dkim_keys (domain_id) WHERE state = 'pending'},
    q{CREATE UNIQUE INDEX ssd_dkim_keys_one_active ON ssd_dkim_keys (domain_id) WHERE state = 'active'},
    'DELETE FROM ssd_schema_version WHERE version > 1',
);
sql($db, $_) for @v1;
ok !has(schema_of($db), qr/algorithm/), 'taken back to version 1: no algorithm column left';

$node = eval { start_node('mig2-up', dbd_params => $params) };
ok $node && !$node->{failed}, 'a node starts on the version 1 database' or diag $@;
is_deeply column($db, 'SELECT version FROM ssd_schema_version ORDER BY version'), [1 .. $V],
    "... and migrates it to version $V";
is_deeply schema_of($db), $fresh, '... to the same schema as a fresh database'
    or diag explain [ grep { my $x = $_; !grep { $_ eq $x } @$fresh } @{ schema_of($db) } ];
$r = $node ? node_api($node, GET => 'domains', token => $tok) : { json => {} };
my ($d) = @{ (ref $r->{json} eq 'HASH' && $r->{json}{data}) || [] };
is_deeply [ $d->{dkim_algorithms}, [ map { "$_->{selector} $_->{algorithm}" } grep { $_->{purpose} eq 'dkim' }
                                     @{ $d->{dns_records} || [] } ] ],
    [ ['rsa-sha256'], ['scaisend rsa-sha256'] ],
    'the old domain reads dkim_algorithms [rsa-sha256], its key rsa-sha256';
stop_node($node) if $node;

# version 2 (before Ed25519): without version 3's column and indexes, version
# 1's key indexes back, its version row gone -- upgraded in place again
my @v2 = (
    (map { "DROP INDEX $_" } qw(ssd_dkim_keys_one_pending_per_alg ssd_dkim_keys_one_active_per_alg)),
    'ALTER TABLE ssd_domains DROP COLUMN dkim_algorithms',
    'ALTER TABLE ssd_dkim_keys DROP COLUMN algorithm',
    q{CREATE UNIQUE INDEX ssd_dkim_keys_one_pending ON ssd_dkim_keys (domain_id) WHERE state = 'pending'},
    q{CREATE UNIQUE INDEX ssd_dkim_keys_one_active ON ssd_dkim_keys (domain_id) WHERE state = 'active'},
    'DELETE FROM ssd_schema_version WHERE version > 2',
);
sql($db, $_) for @v2;
$node = eval { start_node('mig3-up', dbd_params => $params) };
ok $node && !$node->{failed}, 'a node starts on a version 2 database' or diag $@;
is_deeply schema_of($db), $fresh, "... and migrates it to version $V, the schema of a fresh database"
    or diag explain [ grep { my $x = $_; !grep { $_ eq $x } @$fresh } @{ schema_of($db) } ];
$r = $node ? node_api($node, GET => 'domains', token => $tok) : { json => {} };
($d) = @{ (ref $r->{json} eq 'HASH' && $r->{json}{data}) || [] };
is_deeply $d->{dkim_algorithms}, ['rsa-sha256'], '... its domain still served, rsa-sha256';
stop_node($node) if $node;
