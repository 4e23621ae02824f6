# Webhooks delivered for real (api.md section 9): a node of the test server
# with ScaiSendWebhookURL pointing at a recording receiver on loopback
# (ScaiSend::Receiver) and a ScaiSendWebhookSecretFile, on a database of its
# own; a domain verifies (its records published in Knot, POST verify) and
# the background job posts the event from the outbox.  Asserted:
#
#   - one POST, application/json, webhook-id / webhook-timestamp /
#     webhook-signature, the signature verified by three verifiers that
#     share no code with the module (the receiver's Python hmac, Perl's
#     Digest::SHA, npm's standardwebhooks); the body exactly
#     {"id", "type", "created_at", "data": {...}} with the domain's values,
#     its id the webhook-id and the audit event's id;
#   - a verification that changes nothing emits nothing;
#   - a receiver answering 500 then 200 gets the event twice with the same
#     webhook-id and body, later timestamps, and not a third time;
#   - an httpd stopped and started again (same database) between a failed
#     attempt and the next loses nothing: the event arrives, same id.
#
# The background job (mod_watchdog) delivers; until a build has it, this
# file skips, saying so (detected by "httpd -t" accepting
# ScaiSendRecheckInterval, which comes with the job).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use JSON::PP ();
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(config_check start_node stop_node node_api dbd_params scratch_database);
use ScaiSend::Receiver qw(:all);
use ScaiSend::Verify qw(publish_all);

my ($job_rc, $job_out) = config_check(set => { ScaiSendRecheckInterval => '6h' });
if ($job_rc != 0) {
    plan skip_all => 'webhooks are not delivered yet: this build has no background job '
                   . '(httpd -t refuses ScaiSendRecheckInterval)';
}
plan tests => 54;

my $JSON = JSON::PP->new->utf8->canonical;
my $logs = Apache::Test::vars('t_logs');
my $dir = "$logs/webhook-delivery-$$";
make_path($dir);

# A database of its own: no other server's job takes its outbox.
my $db = scratch_database($dir, 'wh');

my $secret_file = write_secret("$dir/webhook.secret");
my $SECRET = do { open my $f, '<', $secret_file or die; local $/; <$f> };
my $rx = ScaiSend::Receiver->start(name => 'delivery', secret_file => $secret_file,
                                   script => [{ status => 200 }], lifetime => 900);
my %NODE = (dbd_params => $db, set => {
    ScaiSendWebhookURL => $rx->url, ScaiSendWebhookSecretFile => $secret_file,
    ScaiSendWebhookTimeout => 5 });
my $node = start_node('webhooks', %NODE);
END { local $?; stop_node($node) if $node; }
my $tok = token(sub => 'wh-admin', partner_id => 'p_wh', tenant_id => 't_wh', role => 'tenant_admin');

sub decode { my ($t) = @_; return eval { $JSON->decode($t) } || {} }

# The requests whose body is about domain $id, oldest first.
sub about {
    my ($id) = @_;
    return grep { (decode($_->{body})->{data}{domain_id} // '') eq $id } $rx->requests;
}

# Wait (bounded) until $n requests about $id have come (and $pred holds for the last).
sub wait_about {
    my ($id, $n, $timeout, $pred) = @_;
    my $end = time + $timeout;
    my @got;
    while (1) {
        @got = about($id);
        last if (@got >= $n && (!$pred || $pred->($got[-1]))) || time >= $end;
        sleep 0.2;
    }
    return @got;
}

# Create a domain, publish its records, verify it: the domain's JSON.
sub verified_domain {
    my ($name) = @_;
    my $r = node_api($node, POST => 'domains', token => $tok, json => { domain => $name });
    die "create $name: $r->{status} $r->{body}\n" unless $r->{status} == 201;
    my $d = $r->{json};
    publish_all($d);
    $r = node_api($node, POST => "domains/$d->{id}/verify", token => $tok);
    $d->{verify} = $r;
    return $d;
}

# --- one event, every part of it ---------------------------------------------------
my $t0 = time;
my $A = verified_domain('hook-a.example.org');
my $t1 = time;
ok $A->{verify}{status} == 200 && $A->{verify}{json}{verified}, 'A verifies'
    or diag "$A->{verify}{status} $A->{verify}{body}";
my @a = wait_about($A->{id}, 1, 60);
is scalar(@a), 1, 'one delivery for A within 60 s';
my $q = $a[0] || { headers => {}, body => '' };
is $q->{method}, 'POST', 'POST';
is $q->{path}, '/hooks/scaisend', 'to the path of ScaiSendWebhookURL';
like $q->{headers}{'content-type'} // '', qr{^application/json\s*(?:;|$)}, 'Content-Type: application/json';
my $id = $q->{headers}{'webhook-id'} // '';
like $id, qr/^evt_[0-9A-HJKMNP-TV-Z]{26}$/, "webhook-id: an event id ($id)";
my $ts = $q->{headers}{'webhook-timestamp'} // '';
ok $ts =~ /^\d+$/ && $ts >= int($t0) - 1 && $ts <= $q->{time} + 1,
    "webhook-timestamp: Unix seconds of the attempt ($ts)";
like $q->{headers}{'webhook-signature'} // '', qr{^v1,[A-Za-z0-9+/]{43}=$}, 'webhook-signature: v1,<base64 of 32 bytes>';
is $q->{verify}, 'ok', 'the receiver verifies the signature (Python hmac)';
is perl_verify($SECRET, $q), 'ok', '... and so does Perl (Digest::SHA)';
SKIP: {
    skip 'npm standardwebhooks is not installed (build/install-webhook-deps)', 1 unless node_verifier_available();
    is node_verify($SECRET, $q), 'ok', '... and the official standardwebhooks library';
}
is perl_verify('whsec_' . 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldY', $q), 'no matching v1 signature',
    'another secret does not verify it';
my $b = decode($q->{body});
is_deeply [ sort keys %$b ], [qw(created_at data id type)], 'body: id, type, created_at, data';
is $b->{id}, $id, 'body id = webhook-id';
is $b->{type}, 'domain.verified', 'type domain.verified';
like $b->{created_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'created_at: RFC 3339 UTC';
my $created = ScaiSend::Receiver::rfc3339_seconds($b->{created_at});
ok defined $created && $created >= int($t0) - 1 && $created <= $t1 + 1,
    "... the time of the verification ($b->{created_at})";
my $data = $b->{data} || {};
is $data->{domain_id}, $A->{id}, 'data.domain_id';
is $data->{domain}, 'hook-a.example.org', 'data.domain';
is $data->{partner_id}, 'p_wh', 'data.partner_id';
is $data->{tenant_id}, 't_wh', 'data.tenant_id';
is $data->{previous}, 'pending', 'data.previous: pending';
is $data->{current}, 'verified', 'data.current: verified';
my $ev = node_api($node, GET => "domains/$A->{id}/events", token => $tok);
my @audit = grep { $_->{id} eq $id } @{ ($ev->{json} || {})->{data} || [] };
ok @audit == 1 && $audit[0]{action} eq 'domain.verified', 'the audit trail holds that event (same id)'
    or diag $ev->{body};
sleep 3;
is scalar(about($A->{id})), 1, 'delivered once (a 200 ends it)';

# --- a verification that changes nothing emits nothing ----------------------------
my $again = node_api($node, POST => "domains/$A->{id}/verify", token => $tok);
ok $again->{status} == 200 && $again->{json}{verified}, 'A verifies again (nothing changed)';
my $B = verified_domain('hook-b.example.org');
ok $B->{verify}{status} == 200 && $B->{verify}{json}{verified}, 'then B verifies';
my @bq = wait_about($B->{id}, 1, 60);
is scalar(@bq), 1, "B's event is delivered";
sleep 3;
is scalar(about($A->{id})), 1, 'and no second event for A';
$ev = node_api($node, GET => "domains/$A->{id}/events", token => $tok);
is scalar(grep { $_->{action} eq 'domain.verified' } @{ ($ev->{json} || {})->{data} || [] }), 1,
    "A's audit trail has one domain.verified";
isnt +($bq[0] || {})->{headers}{'webhook-id'} // '', $id, "B's event has an id of its own";

# --- 500 then 200: the same event again -----------------------------------------------
$rx->script([{ status => 500 }, { status => 200 }]);
my $C = verified_domain('hook-c.example.org');
ok $C->{verify}{status} == 200 && $C->{verify}{json}{verified}, 'C verifies (the receiver answers 500, then 200)';
my @c = wait_about($C->{id}, 2, 120);
is scalar(@c), 2, 'two attempts for C within 120 s';
@c = (@c, {}, {});
is_deeply [ map { $_->{answer} } @c[0, 1] ], [500, 200], 'answered 500, then 200';
my ($c1, $c2) = @c;
ok defined $c1->{headers}{'webhook-id'} && ($c2->{headers}{'webhook-id'} // '') eq $c1->{headers}{'webhook-id'},
    'the same webhook-id both times (' . ($c1->{headers}{'webhook-id'} // 'none') . ')';
ok defined $c1->{body} && ($c2->{body} // '') eq $c1->{body}, 'the same body both times';
ok(($c2->{headers}{'webhook-timestamp'} // 0) > ($c1->{headers}{'webhook-timestamp'} // 0),
   'the retry is signed with its own, later timestamp');
ok(($c2->{time} // 0) - ($c1->{time} // 0) >= 3,
   sprintf('the retry waits (backoff: %.1f s)', ($c2->{time} // 0) - ($c1->{time} // 0)));
is_deeply [ map { $_->{verify} // 'none' } $c1, $c2 ], [qw(ok ok)], 'both attempts verify';
SKIP: {
    skip 'npm standardwebhooks is not installed (build/install-webhook-deps)', 1 unless node_verifier_available();
    is_deeply [ map { node_verify($SECRET, $_) } $c1, $c2 ], [qw(ok ok)], '... with standardwebhooks too';
}
is decode($c1->{body})->{type}, 'domain.verified', 'the event: domain.verified';
sleep 3;
is scalar(about($C->{id})), 2, 'not sent again after the 200';

# --- a restart between two attempts loses nothing ------------------------------------
$rx->script([{ status => 503 }]);
my $D = verified_domain('hook-d.example.org');
ok $D->{verify}{status} == 200 && $D->{verify}{json}{verified}, 'D verifies (the receiver answers 503)';
my @d = wait_about($D->{id}, 1, 60);
ok @d >= 1 && $d[0]{answer} == 503, 'a first attempt for D, answered 503';
my $did = ($d[0] || {})->{headers}{'webhook-id'} // 'none';
stop_node($node);
my $stopped = time;
my $n_before = scalar about($D->{id});
$rx->script([{ status => 200 }]);
$node = eval { start_node('webhooks', %NODE) };
ok $node, 'httpd stopped and started again on the same database' or diag $@;
@d = wait_about($D->{id}, $n_before + 1, 150, sub { $_[0]{answer} == 200 });
my $last = $d[-1] || {};
is $last->{answer}, 200, "after the restart D's event is delivered";
is $last->{headers}{'webhook-id'}, $did, '... with the same webhook-id';
is $last->{body}, ($d[0] || {})->{body}, '... and the same body';
ok(($last->{time} // 0) > $stopped, '... by the restarted server');
is $last->{verify}, 'ok', '... signed';
is scalar(keys %{{ map { ($_->{headers}{'webhook-id'} // '') => 1 } @d }}), 1, 'one event for D, never two';
sleep 3;
is scalar(about($D->{id})), scalar(@d), 'and nothing more once delivered';

# every event the node delivered was signed and verified
my @all = $rx->requests;
is scalar(grep { ($_->{verify} // '') ne 'ok' } @all), 0, 'every request the receiver got verifies (' . scalar(@all) . ')';

stop_node($node);
undef $node;
$rx->stop;
ok 1, 'done';
