# Cleanup of never-verified domains (api.md section 9): with
# ScaiSendPendingExpiry the background job deletes domains that never
# verified that long after their creation, with their keys, and leaves an
# audit event (sub scaisend-expiry, reason "never verified").
#
# The shortest expiry is 1h, so a node on a database of its own gets
# domains whose created_at the test moves two hours back in the database:
#   - a never-verified one: deleted (404), its keys gone, domain.deleted;
#   - a verified one just as old: kept;
#   - a never-verified one created now: kept.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use JSON::PP ();
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api is_pgsql psql dbd_params pg_env);
use ScaiSend::Verify qw(publish_all);

plan tests => 11;

my $dir = Apache::Test::vars('t_logs') . "/pending-expiry-$$";
make_path($dir);
my ($db, $scratch, $dsn);
if (is_pgsql()) {
    $scratch = "scaisend_expiry_$$";
    psql("DROP DATABASE IF EXISTS $scratch");
    psql("CREATE DATABASE $scratch");
    ($db = dbd_params()) =~ s/\bdbname=\S+/dbname=$scratch/ or die "no dbname in DBDParams\n";
    ($dsn = pg_env()->{PG_DSN}) =~ s/\bdbname=\S+/dbname=$scratch/;
}
else {
    $db = "$dir/expiry.db";
}
END { local $?; eval { psql("DROP DATABASE IF EXISTS $scratch WITH (FORCE)") } if $scratch; }

# SQL on the node's database, whichever engine: the rows.
sub sql {
    my ($q) = @_;
    return psql($q, dsn => $dsn) if $dsn;
    my $out = `sqlite3 -batch -noheader -separator '\t' -cmd '.timeout 5000' '$db' "$q" 2>&1`;
    die "sqlite3: $out" if $?;
    return map { [split /\t/, $_, -1] } grep { length } split /\n/, $out;
}

my $node = start_node('expiry', dbd_params => $db,
                      set => { ScaiSendPendingExpiry => '1h', ScaiSendVerifyInterval => 0 });
END { local $?; stop_node($node) if $node; }
my $A = token(sub => 'ex-admin', partner_id => 'p_ex', tenant_id => 't_ex', role => 'tenant_admin');

sub create {
    my ($name) = @_;
    my $r = node_api($node, POST => 'domains', token => $A, json => { domain => $name });
    return $r->{status} == 201 ? $r->{json} : {};
}
my $old = create('ex01.example.org');
my $verified = create('ex02.example.org');
my $recent = create('ex03.example.org');
ok $old->{id} && $verified->{id} && $recent->{id}, 'three domains created';
publish_all($verified);
my $r = node_api($node, POST => "domains/$verified->{id}/verify", token => $A);
is $r->{json}{verified}, JSON::PP::true(), 'the second one is verified';

my $two_hours_ago = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time - 7200));
sql("UPDATE ssd_domains SET created_at = '$two_hours_ago' WHERE id IN ('$old->{id}', '$verified->{id}')");

my $end = time + 30;
my $status = 0;
while (time < $end) {
    $status = node_api($node, GET => "domains/$old->{id}", token => $A)->{status};
    last if $status == 404;
    sleep 0.5;
}
is $status, 404, 'the never-verified domain created two hours ago is deleted by the job';
is node_api($node, GET => "domains/$verified->{id}", token => $A)->{status}, 200,
    'the verified one, just as old, is kept';
is node_api($node, GET => "domains/$recent->{id}", token => $A)->{status}, 200,
    'the never-verified one created now is kept';
my ($keys) = sql("SELECT count(*) FROM ssd_dkim_keys WHERE domain_id = '$old->{id}'");
is $keys->[0], 0, 'its keys (and their wrapped private parts) are gone';
my @ev = sql("SELECT sub, changes FROM ssd_events WHERE domain_id = '$old->{id}' AND action = 'domain.deleted'");
is scalar(@ev), 1, 'one domain.deleted event';
is $ev[0][0], 'scaisend-expiry', '... by scaisend-expiry';
like $ev[0][1] // '', qr/never verified/, '... saying why';
sleep 3;
my ($n) = sql("SELECT count(*) FROM ssd_domains");
is $n->[0], 2, 'nothing else is deleted in later rounds';
my $log = do { local (@ARGV, $/) = ($node->{error_log}); <> } // '';
like $log, qr/SSD0604: deleted \Q$old->{id}\E \(ex01\.example\.org\): never verified since \Q$two_hours_ago\E/,
    'the error log says so (SSD0604)';
