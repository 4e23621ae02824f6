# PostgreSQL stops between the two writes of a verification -- the claim,
# written before the lookups, and the outcome, after them -- while the
# domain's records and a pending key's are published: the verification
# answers 503 and nothing of it is stored; the pending key is not
# activated. A node of the suite's server asks a nameserver that delays
# every answer by 3 s (t/dns/bad-dns in front of the suite's Knot), so the
# cluster can be stopped while the lookups run.
#
# Then the activation of the pending key fails inside the database (a
# trigger raises when that key turns active): the verification's outcome
# and the activation are one transaction, so the domain is not left
# verified on a key that never became active. Skipped on SQLite.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use POSIX qw(_exit);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(:all);
use ScaiSend::DNS qw(knot_update knot_port);

pg_only();
plan tests => 18;

my $logs = Apache::Test::vars('t_logs');
my $dns_port = free_port(9700 + int(rand 100));
my $ready = "$logs/outage-dns.ready";
unlink $ready;
my $dns = fork // die "fork: $!";
if (!$dns) {
    { no warnings 'exec';
      exec "$FindBin::Bin/../dns/bad-dns", '--mode', 'delay', '--port', $dns_port,
           '--delay-ms', 3000, '--upstream', '127.0.0.1:' . knot_port(),
           '--max-seconds', 120, '--ready-file', $ready, '--log', "$logs/outage-dns.log"; }
    _exit(127);
}
END { kill 'TERM', $dns if $dns; }
for (1 .. 100) { last if -e $ready; select undef, undef, undef, 0.05 }

my $node = start_node('outage', set => {
    ScaiSendResolver => "127.0.0.1:$dns_port", ScaiSendDNSTimeout => 5000,
    ScaiSendVerifyBudget => 10000 });
my $A = token(sub => 'out-a', partner_id => 'p_out', tenant_id => 't_out',
              role => 'tenant_admin');
sub api_n { return node_api($node, @_, token => $A) }
sub publish_rows {
    knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @_);
}

my $r = api_n(POST => 'domains', json => { domain => 'out01.example.org' });
is $r->{status}, 201, 'create';
my $id = $r->{json}{id} // 'dom_none';
publish_rows(@{ $r->{json}{dns_records} || [] });
$r = api_n(POST => "domains/$id/rotate-dkim");
is $r->{status}, 200, 'rotate';
publish_rows($r->{json}{dns_record} || {});

# the verification, in a child; the cluster stops while it waits for DNS
my $out = "$logs/outage-verify.status";
unlink $out;
my $kid = fork // die "fork: $!";
if (!$kid) {
    my $v = node_api($node, POST => "domains/$id/verify", token => $A, timeout => 40);
    open my $fh, '>', $out or _exit(1);
    print {$fh} "$v->{status} " . (($v->{json} || {})->{error}{code} // '-') . "\n";
    close $fh;
    _exit(0);
}
select undef, undef, undef, 1.0;
my ($rc) = pg_ctl('stop');
is $rc, 0, 'PostgreSQL stopped while the lookups run';
waitpid $kid, 0;
open my $fh, '<', $out or die "no status from the verification: $!";
my ($status, $code) = split ' ', (<$fh> // '');
close $fh;
is $status, 503, 'the verification answers 503 (its outcome could not be written)';
is $code, 'storage_unavailable', '... storage_unavailable';
($rc) = pg_ctl('start');
is $rc, 0, 'PostgreSQL started again';

# nothing of it was stored (the first request after the restart may meet a
# reset connection: allow one 503)
$r = api_n(GET => "domains/$id");
$r = api_n(GET => "domains/$id") if $r->{status} == 503;
is $r->{status}, 200, 'the domain reads';
is $r->{json}{verified}, JSON::PP::false(), 'not verified';
is $r->{json}{dkim_selector}, 'scaisend', 'the pending key was not activated';
is psql_value("SELECT count(*) FROM ssd_dkim_keys WHERE domain_id = '$id'"
              . " AND state = 'pending'"), 1, 'the key is still pending';
is psql_value("SELECT count(*) FROM ssd_events WHERE domain_id = '$id'"
              . " AND action IN ('domain.verified', 'dkim.activated')"), 0,
    'no verification event';
is_deeply [ integrity_problems() ], [], 'every table is consistent';
stop_node($node);

# --- the activation fails in the database ------------------------------------------
$r = ScaiSend::Test::api(POST => 'domains', token => $A, json => { domain => 'out02.example.org' });
my $id2 = $r->{json}{id} // 'dom_none';
publish_rows(@{ $r->{json}{dns_records} || [] });
$r = ScaiSend::Test::api(POST => "domains/$id2/rotate-dkim", token => $A);
publish_rows($r->{json}{dns_record} || {});
psql(qq{CREATE FUNCTION ssd_test_fail_activation() RETURNS trigger AS \$\$
  BEGIN
    IF NEW.state = 'active' AND OLD.state = 'pending' AND NEW.domain_id = '$id2' THEN
      RAISE EXCEPTION 'injected activation failure';
    END IF;
    RETURN NEW;
  END \$\$ LANGUAGE plpgsql});
psql(q{CREATE TRIGGER ssd_test_fail_activation BEFORE UPDATE ON ssd_dkim_keys
       FOR EACH ROW EXECUTE FUNCTION ssd_test_fail_activation()});
my $dropped = 0;
END { local $?; eval { psql('DROP FUNCTION IF EXISTS ssd_test_fail_activation() CASCADE') } unless $dropped; }
$r = ScaiSend::Test::api(POST => "domains/$id2/verify", token => $A);
psql('DROP FUNCTION ssd_test_fail_activation() CASCADE');
$dropped = 1;
is $r->{status}, 503, 'activation fails in the database: 503';
$r = ScaiSend::Test::api(GET => "domains/$id2", token => $A);
is $r->{json}{verified}, JSON::PP::false(), 'the domain is not left verified';
is $r->{json}{last_verification}, undef, '... nor its verification stored';
is $r->{json}{dkim_selector}, 'scaisend', '... and signs with the key it had';
is psql_value("SELECT count(*) FROM ssd_events WHERE domain_id = '$id2'"
              . " AND action IN ('domain.verified', 'dkim.activated')"), 0,
    'no verification event';
$r = ScaiSend::Test::api(POST => "domains/$id2/verify", token => $A);
is $r->{json}{verified}, JSON::PP::true(), 'without the fault the same verification succeeds';
