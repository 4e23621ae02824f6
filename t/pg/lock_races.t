# Races decided inside PostgreSQL, made certain with locks the test holds
# (a psql session kept open): the statements of the requests queue behind
# them in a known order, then the test lets go. Skipped on SQLite (one
# writer at a time: these interleavings cannot happen there).
#
#  - rotation against DELETE: the rotation reaches the domain row first ->
#    its key is deleted with the domain (no orphan key, no wrapped private
#    key left behind); the DELETE reaches it first -> the rotation is 404,
#    not 503.
#  - PATCH against a delete that commits the moment the PATCH's change
#    does: the answer is the domain as the PATCH's transaction left it,
#    with its DKIM record, or 404 -- never a 200 without the signing key;
#    a GET that meets one between reading the domain and its keys: 404.
#  - signing on node 1 while node 2 deletes the domain: the decision reads
#    the domain, the delete commits, then the key is read: the answer is 409
#    send_not_allowed ("domain not verified"), not 503. Then rounds of plain
#    concurrent signs and deletes: only 200 or that 409.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use JSON::PP ();
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::PG qw(:all);
use ScaiSend::Race qw(:all);
use ScaiSend::Verify qw(publish_all);

pg_only();
plan tests => 21;

my $P   = 'p_lockr';
my $T   = 't_lockr';
my $ADM = token(sub => 'lockr-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $SND = token(sub => 'lockr-mta', partner_id => $P, tenant_id => undef, role => 'sender');
my $LOG0 = ScaiSend::Test::error_log_offset();
my $n = 0;

sub url { Apache::TestRequest::resolve_url("/api/admin/$_[0]") }

sub create {
    my (%o) = @_;
    my $name = sprintf 'lr%02d.example.org', ++$n;
    my $r = api(POST => 'domains', token => $ADM, json => { domain => $name });
    die 'create: ' . describe($r) unless $r->{status} == 201;
    my $d = $r->{json};
    if ($o{verified}) {
        publish_all($d);
        my $v = api(POST => "domains/$d->{id}/verify", token => $ADM);
        die 'verify: ' . describe($v) unless $v->{status} == 200 && $v->{json}{verified};
    }
    return $d;
}

sub keys_of {
    my ($id) = @_;
    return psql_value('SELECT count(*) FROM ssd_dkim_keys WHERE domain_id = ' . sql_quote($id));
}

# Hold the domain row (SELECT ... FOR UPDATE in an open transaction).
sub hold_row {
    my ($id) = @_;
    my $h = pg_session('ht-hold-row');
    # one query ("\;"): the session is idle in its transaction only once the row is locked
    $h->run('BEGIN \; SELECT id FROM ssd_domains WHERE id = ' . sql_quote($id) . ' FOR UPDATE;');
    $h->wait_idle_in_transaction or die "the holding session did not lock the row\n";
    return $h;
}

sub waiting { my ($re, $k, $what) = @_; return wait_until(sub { lock_waiters($re) >= $k }, 40, $what) }

# --- rotation against DELETE ---------------------------------------------------------
{
    my $d = create();
    my $h = hold_row($d->{id});
    my $rot = start_request(method => 'POST', url => url("domains/$d->{id}/rotate-dkim"), token => $ADM);
    my $q1 = waiting(qr/selector_seq/, 1, 'rotation waits on the row');
    my $del = start_request(method => 'DELETE', url => url("domains/$d->{id}"), token => $ADM);
    my $q2 = waiting(qr/DELETE FROM ssd_domains|selector_seq/, 2, 'delete waits too');
    ok $q1 && $q2, 'rotation first, then the DELETE, both waiting on the held row'
        or diag 'waiting: ' . join ' | ', map { "@$_" } psql(q{SELECT application_name, wait_event_type,
            left(query, 80) FROM pg_stat_activity WHERE datname = current_database()});
    $h->run('ROLLBACK;');
    my $r = finish_request($rot);
    my $x = finish_request($del);
    $h->done;
    is $r->{status}, 200, 'the rotation that had the row first: 200' or diag "$r->{status} $r->{body}";
    is $x->{status}, 204, 'the DELETE after it: 204' or diag "$x->{status} $x->{body}";
    is keys_of($d->{id}), 0, 'no key of the deleted domain is left (the pending key went with it)';
    is api(GET => "domains/$d->{id}", token => $ADM)->{status}, 404, 'the domain is gone';
}
{
    my $d = create();
    my $h = hold_row($d->{id});
    my $del = start_request(method => 'DELETE', url => url("domains/$d->{id}"), token => $ADM);
    my $q1 = waiting(qr/DELETE FROM ssd_domains/, 1, 'delete waits on the row');
    my $rot = start_request(method => 'POST', url => url("domains/$d->{id}/rotate-dkim"), token => $ADM);
    my $q2 = waiting(qr/DELETE FROM ssd_domains|selector_seq/, 2, 'rotation waits too');
    ok $q1 && $q2, 'the DELETE first, then the rotation, both waiting on the held row';
    $h->run('ROLLBACK;');
    my $x = finish_request($del);
    my $r = finish_request($rot);
    $h->done;
    is $x->{status}, 204, 'the DELETE that had the row first: 204' or diag "$x->{status} $x->{body}";
    ok $r->{status} == 404 && $r->{code} eq 'not_found',
        'the rotation that found the domain deleted: 404 not_found (not 503)'
        or diag "$r->{status} $r->{body}";
    is keys_of($d->{id}), 0, 'no key of the deleted domain is left';
}

# --- PATCH against a delete committed right after it ----------------------------------
# A lock the test holds on ssd_dkim_keys stops the PATCH where it reads the
# keys for its answer. The holding session then deletes the domain with the
# DELETE's own statements (row first, then keys), unless the domain row is
# locked -- by the PATCH's transaction, which reads its keys before it
# commits. The answer: 200 with the domain's DKIM record, or 404.
{
    my $d = create();
    my $id = sql_quote($d->{id});
    my $h = pg_session('ht-hold-keys');
    $h->run('BEGIN \; LOCK TABLE ssd_dkim_keys IN ACCESS EXCLUSIVE MODE;');
    $h->wait_idle_in_transaction or die "could not lock ssd_dkim_keys\n";
    my $p = start_request(method => 'PATCH', url => url("domains/$d->{id}"), token => $ADM,
                          json => { dmarc_policy => 'reject' });
    ok waiting(qr/^(?!ht-).*FROM ssd_dkim_keys/, 1, 'the PATCH waits to read its keys'),
        'the PATCH waits on the held key table, where it reads its keys'
        or diag 'waiting: ' . join ' | ', map { "@$_" } psql(q{SELECT application_name, wait_event_type,
            left(query, 80) FROM pg_stat_activity WHERE datname = current_database()});
    $h->run("DO \$\$ BEGIN PERFORM 1 FROM ssd_domains WHERE id = $id FOR UPDATE NOWAIT;"
            . " DELETE FROM ssd_domains WHERE id = $id; DELETE FROM ssd_dkim_keys WHERE domain_id = $id;"
            . " DELETE FROM ssd_events WHERE domain_id = $id;"
            . ' EXCEPTION WHEN lock_not_available THEN NULL; END $$;');
    $h->run('COMMIT;');
    my $r = finish_request($p);
    $h->done;
    my @dkim = grep { ($_->{host} // '') eq "scaisend._domainkey.$d->{domain}" }
               @{ (ref $r->{json} eq 'HASH' && $r->{json}{dns_records}) || [] };
    ok +($r->{status} == 200 && @dkim == 1) || ($r->{status} == 404 && $r->{code} eq 'not_found'),
        'a PATCH meeting a delete: 200 with its DKIM record (the delete waited for it), or 404'
        or diag "$r->{status} $r->{body}";
    api(DELETE => "domains/$d->{id}", token => $ADM);
}
# The same for a GET, which reads the domain, then its keys: a delete
# committed in between makes it a 404, not a domain without its DKIM record.
{
    my $d = create();
    my $id = sql_quote($d->{id});
    my $h = pg_session('ht-hold-keys2');
    $h->run('BEGIN \; LOCK TABLE ssd_dkim_keys IN ACCESS EXCLUSIVE MODE;');
    $h->wait_idle_in_transaction or die "could not lock ssd_dkim_keys\n";
    my $g = start_request(method => 'GET', url => url("domains/$d->{id}"), token => $ADM);
    my $q = waiting(qr/^(?!ht-).*FROM ssd_dkim_keys/, 1, 'the GET waits to read the keys');
    # (its events go too: no trail of a domain that vanished without domain.deleted)
    $h->run("DELETE FROM ssd_domains WHERE id = $id; DELETE FROM ssd_dkim_keys WHERE domain_id = $id;"
            . " DELETE FROM ssd_events WHERE domain_id = $id; COMMIT;");
    my $r = finish_request($g);
    $h->done;
    ok $q && $r->{status} == 404 && $r->{code} eq 'not_found',
        'a GET whose domain is deleted between reading it and its keys: 404 not_found'
        or diag "$r->{status} $r->{body}";
}

# --- signing on node 1 while node 2 deletes ---------------------------------------------
my $node2 = eval { start_node('lockr2') };
ok $node2, 'node 2 started on the same database' or diag $@;
END { local $?; stop_node($node2) if $node2; }

sub message {
    my ($domain, $i) = @_;
    return join "\r\n", "From: Alice <alice\@$domain>", 'To: bob@example.net',
        "Subject: order $i", 'Date: Tue, 01 Dec 2026 10:00:00 +0000',
        "Message-ID: <m$i\@$domain>", '', "Body $i.", '';
}

sub sign_req {
    my ($domain, $i, %o) = @_;
    return { method => 'POST', url => url("dkim/sign?tenant_id=$T"), token => $SND,
             body => message($domain, $i), content_type => 'message/rfc822', %o };
}

# An answer for a domain that is not (or no longer) registered: 409
# send_not_allowed, decision fail, "domain not verified".
sub refused_as_gone {
    my ($r) = @_;
    my $e = ref $r->{json} eq 'HASH' ? $r->{json}{error} || {} : {};
    my $j = $r->{json} || {};
    my $decision = $j->{decision} // $e->{decision} // '';
    my $reason = $j->{reason} // $e->{reason} // '';
    return $r->{status} == 409 && ($r->{code} // '') eq 'send_not_allowed'
        && $decision eq 'fail' && $reason eq 'domain not verified';
}

SKIP: {
    skip 'no node 2', 6 unless $node2;
    my $d = create(verified => 1);
    my $ok = ScaiSend::Race::raw_request(method => 'POST', url => url("dkim/sign?tenant_id=$T"),
                                         token => $SND, body => message($d->{domain}, 0),
                                         content_type => 'message/rfc822');
    is $ok->{status}, 200, 'node 1 signs for the verified domain' or diag "$ok->{status} $ok->{body}";

    # The delete's last statement (its audit event) waits on a held lock of
    # ssd_events; a lock request on ssd_dkim_keys queues behind the delete;
    # the sign's key read queues behind that one, after its decision read
    # the domain. Letting go: the delete commits, then the key is read.
    my $events = pg_session('ht-hold-events');
    $events->run('BEGIN \; LOCK TABLE ssd_events IN ACCESS EXCLUSIVE MODE;');
    $events->wait_idle_in_transaction or die "could not lock ssd_events\n";
    my $del = start_request(method => 'DELETE', url => "$node2->{base}/api/admin/domains/$d->{id}",
                            token => $ADM);
    my $q1 = waiting(qr/INSERT INTO ssd_events/, 1, 'the delete waits to write its event');
    my $keys = pg_session('ht-queue-keys');
    $keys->run("SET lock_timeout = '50s'; BEGIN; LOCK TABLE ssd_dkim_keys IN ACCESS EXCLUSIVE MODE; COMMIT;");
    my $q2 = waiting(qr/^ht-queue-keys/, 1, 'a key-table lock queues behind the delete');
    my $sign = start_request(%{ sign_req($d->{domain}, 1) });
    # (the decision and the key are one query, ssd_sign_candidates)
    my $q3 = waiting(qr/^(?!ht-).*(?:FROM ssd_dkim_keys|ssd_sign_candidates)/, 1,
                     "the sign's key read queues behind it");
    ok $q1 && $q2 && $q3, 'delete on node 2, then the sign on node 1, waiting in that order'
        or diag 'waiting: ' . join ' | ', map { "@$_" } psql(q{SELECT application_name, wait_event_type,
            left(query, 80) FROM pg_stat_activity WHERE datname = current_database()});
    $events->run('COMMIT;');
    my $x = finish_request($del);
    my $s = finish_request($sign);
    $events->done;
    $keys->done;
    is $x->{status}, 204, 'node 2: the DELETE 204' or diag "$x->{status} $x->{body}";
    ok refused_as_gone($s),
        'node 1: the sign whose key vanished after its decision: 409 send_not_allowed, fail, "domain not verified" (not 503)'
        or diag "$s->{status} $s->{body}";

    # Rounds of plain concurrency: signs spread over the moment of a delete.
    my (%seen, @bad);
    for my $round (1 .. 3) {
        my $dd = create(verified => 1);
        my @reqs = map { sign_req($dd->{domain}, $_, delay => 0.02 * $_) } 1 .. 10;
        push @reqs, { method => 'DELETE', url => "$node2->{base}/api/admin/domains/$dd->{id}",
                      token => $ADM, delay => 0.05 + 0.04 * $round };
        my @res = race(@reqs);
        my $dr = pop @res;
        push @bad, "round $round: DELETE $dr->{status}" unless $dr->{status} == 204;
        for my $r (@res) {
            $seen{$r->{status}}++;
            push @bad, "round $round: $r->{status} $r->{body}"
                unless $r->{status} == 200 || refused_as_gone($r);
        }
    }
    ok !@bad, '3 rounds of 10 signs on node 1 around a delete on node 2: only 200 or 409 send_not_allowed'
        or diag join "\n", @bad;
    ok !$seen{503}, 'never 503' or diag join ' ', map { "$_ x$seen{$_}" } sort keys %seen;
}

my @orphans = grep { /without its domain/ } integrity_problems();
ok !@orphans, 'integrity: no key without its domain' or diag "@orphans";
ok !crash_lines($LOG0), 'no child crashed';
