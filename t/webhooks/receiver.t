# The test rig of the webhook tests, checked on its own (t/webhooks/delivery.t
# relies on it): the receiver (t/lib/ScaiSend/webhook_receiver.py) records
# every request exactly and answers as its script says (statuses in order,
# a delay, a dropped connection, a script change starting over), lives a
# bounded time and stops; the three verifiers, none of which shares code
# with the module (the receiver's Python hmac, Perl's Digest::SHA, npm's
# standardwebhooks), accept a correctly signed request and refuse a
# tampered body, another secret, an old timestamp and missing headers; the
# Python one also reproduces the reference library's own vector.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Digest::SHA qw(hmac_sha256_base64);
use File::Path qw(make_path);
use IO::Socket::INET ();
use LWP::UserAgent ();
use MIME::Base64 qw(decode_base64);
use POSIX ();
use Time::HiRes qw(time sleep);
use ScaiSend::Receiver qw(:all);

plan tests => 41;

my $dir = Apache::Test::vars('t_logs') . "/webhook-rig-$$";
make_path($dir);
# the reference library's secret (standard-webhooks, libraries/python tests)
my $KEY = decode_base64('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
my $secret_file = write_secret("$dir/webhook.secret", $KEY);
my $SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
my $other = "whsec_" . 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldY' . "\n";    # "ABCD...X"
my $node = node_verifier_available();

my $ua = LWP::UserAgent->new(timeout => 10, max_redirect => 0, keep_alive => 0);
sub sig { my ($key, $id, $ts, $body) = @_; my $s = hmac_sha256_base64("$id.$ts.$body", $key);
          return 'v1,' . $s . '=' x (-length($s) % 4) }
sub post {
    my ($rx, $body, %h) = @_;
    return $ua->post($rx->url, Content => $body, 'Content-Type' => 'application/json', %h);
}

my $rx = ScaiSend::Receiver->start(name => 'rig', secret_file => $secret_file,
                                   script => [{ status => 500 }, { status => 200 }], lifetime => 300);
ok $rx->port >= 9560 && $rx->url =~ m{^http://127\.0\.0\.1:\d+/hooks/scaisend$}, 'listens on loopback from 9560: ' . $rx->url;

# --- answers in order, records exactly ---------------------------------------------
my $body = '{"id":"evt_1","type":"domain.verified","data":{"domain":"b\u00fccher.example"}}';
my $ts = time;
$ts = int $ts;
my @codes = map { post($rx, $body, 'webhook-id' => "msg_$_", 'webhook-timestamp' => $ts,
                       'webhook-signature' => sig($KEY, "msg_$_", $ts, $body),
                       ':x-Mixed-CASE' => 'kept')->code } 1 .. 3;
is "@codes", '500 200 200', 'script 500 then 200: answered 500, 200, 200';
my @got = $rx->wait_for(3, timeout => 5);
is scalar(@got), 3, 'three requests recorded';
is join(',', map { $_->{answer} } @got), '500,200,200', 'each with the status it got';
is $got[0]{method}, 'POST', 'method';
is $got[0]{path}, '/hooks/scaisend', 'path';
is $got[0]{body}, $body, 'body, byte for byte';
is $got[1]{headers}{'webhook-id'}, 'msg_2', 'webhook-id';
is $got[1]{headers}{'webhook-timestamp'}, $ts, 'webhook-timestamp';
is $got[1]{headers}{'content-type'}, 'application/json', 'content-type';
ok((grep { $_->[0] eq 'x-Mixed-CASE' && $_->[1] eq 'kept' } @{ $got[1]{header_list} }),
   'header names kept as sent');
is_deeply [ map { $_->{verify} } @got ], [qw(ok ok ok)], 'Python verifier: ok';
is_deeply [ map { perl_verify($SECRET, $_) } @got ], [qw(ok ok ok)], 'Perl verifier: ok';
SKIP: {
    skip 'npm standardwebhooks is not installed (build/install-webhook-deps)', 1 unless $node;
    is_deeply [ map { node_verify($SECRET, $_) } @got ], [qw(ok ok ok)], 'standardwebhooks: ok';
}

# --- what must not verify ----------------------------------------------------------
my $n0 = scalar $rx->requests;
my $good = sig($KEY, 'msg_9', $ts, $body);
post($rx, "$body ", 'webhook-id' => 'msg_9', 'webhook-timestamp' => $ts, 'webhook-signature' => $good);
post($rx, $body, 'webhook-id' => 'msg_8', 'webhook-timestamp' => $ts, 'webhook-signature' => $good);
post($rx, $body, 'webhook-id' => 'msg_9', 'webhook-timestamp' => $ts - 600,
     'webhook-signature' => sig($KEY, 'msg_9', $ts - 600, $body));
post($rx, $body, 'webhook-id' => 'msg_9', 'webhook-timestamp' => $ts);
post($rx, $body, 'webhook-id' => 'msg_9', 'webhook-timestamp' => $ts,
     'webhook-signature' => "v1a,AAAA $good");
@got = $rx->wait_for(5, since => $n0, timeout => 5);
is_deeply [ map { $_->{verify} } @got ],
    ['no matching v1 signature', 'no matching v1 signature', 'webhook-timestamp too old',
     'missing webhook-id, webhook-timestamp or webhook-signature', 'ok'],
    'Python verifier: tampered body, another id, 10 minutes old, no signature refused; '
    . 'a list with another version first accepted';
is_deeply [ map { perl_verify($SECRET, $_) } @got[0, 1] ], ['no matching v1 signature', 'no matching v1 signature'],
    'Perl verifier: tampered body and another id refused';
is perl_verify($other, $got[4]), 'no matching v1 signature', 'Perl verifier: another secret refused';
SKIP: {
    skip 'npm standardwebhooks is not installed (build/install-webhook-deps)', 3 unless $node;
    like node_verify($SECRET, $_), qr/^not verified: /, "standardwebhooks refuses request $_->{n}"
        for @got[0, 1];
    like node_verify($other, $got[4]), qr/^not verified: No matching signature/,
        'standardwebhooks refuses another secret';
}
# the receiver's verify() itself, at the vector's own time
sub py_verify {
    my ($sig) = @_;
    local $ENV{PYTHONDONTWRITEBYTECODE} = 1;
    my $py = 'import sys; sys.path.insert(0, sys.argv[1]); import webhook_receiver as w; '
           . 'print(w.verify(sys.argv[2], {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", '
           . '"webhook-timestamp": "1614265330", "webhook-signature": sys.argv[3]}, '
           . 'b\'{"test": 2432232314}\', 1614265330))';
    open my $p, '-|', '/usr/bin/python3', '-c', $py, "$FindBin::Bin/../lib/ScaiSend",
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', $sig or die "python3: $!";
    local $/;
    my $out = <$p> // '';
    close $p;
    return $out;
}
is py_verify('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='), "ok\n",
    "Python verifier: the reference library's vector";
my $out = py_verify('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=');
is $out, "no matching v1 signature\n", '... and refuses it with one byte changed';

# --- a delay, a dropped connection, a new script --------------------------------
$rx->script([{ status => 204, delay => 3 }, { drop => 1 }, { status => 410 }]);
$n0 = scalar $rx->requests;
my $t0 = time;
my $short = LWP::UserAgent->new(timeout => 1, keep_alive => 0);
my $res = $short->post($rx->url, Content => '{}');
my $waited = time - $t0;
ok $res->code == 500 && $waited < 2.5, sprintf('delay 3 s: a client with a 1 s timeout gives up (%s after %.1f s)',
                                              $res->code, $waited);
@got = $rx->wait_for(1, since => $n0, timeout => 2);
ok @got == 1 && $got[0]{answer} == 204, '... and the request was recorded at once';
$t0 = time;
$res = $ua->post($rx->url, Content => '{}');
ok !$res->is_success && time - $t0 < 2, 'drop: the connection closes without an answer (' . $res->status_line . ')';
is $ua->post($rx->url, Content => '{}')->code, 410, 'then the third entry: 410';
is $ua->post($rx->url, Content => '{}')->code, 410, 'the last entry repeats';
$rx->script([{ status => 202 }]);
is $ua->post($rx->url, Content => '{}')->code, 202, 'a new script starts from its first entry';
$rx->script([{ status => 200, delay => 1.5 }]);
$t0 = time;
is $ua->post($rx->url, Content => '{}')->code, 200, 'delay 1.5 s then 200';
ok time - $t0 >= 1.4, sprintf('... after %.1f s', time - $t0);
@got = $rx->requests;
is join(',', map { $_->{n} } @got), join(',', 1 .. scalar @got), 'requests numbered 1, 2, ... in order';
is_deeply [ map { $_->{answer} } @got[-6 .. -1] ], [204, 0, 410, 410, 202, 200], 'the answers recorded: 0 for the drop';

# --- restart on the same port keeps the record ----------------------------------
my $port = $rx->port;
$rx->restart;
is $rx->port, $port, 'restart: the same port';
is $ua->post($rx->url, Content => '{}')->code, 200, '... answering by the same script';
is scalar($rx->requests), scalar(@got) + 1, '... the record goes on';

# --- stop, and a bounded life ------------------------------------------------------
$rx->stop;
ok !$rx->running, 'stopped';
ok !IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 1),
    '... nothing listens on its port';
my $brief = ScaiSend::Receiver->start(name => 'brief', lifetime => 1);
ok $brief->running, 'a receiver with a lifetime of 1 s runs';
my $end = time + 5;
sleep 0.1 while $brief->running && time < $end;
ok !$brief->running, '... and is gone by itself within 5 s';
$brief->stop;

# --- the parent gone: the receiver goes too ------------------------------------
my $pid = fork // die "fork: $!";
if (!$pid) {
    my $orphan = ScaiSend::Receiver->start(name => 'orphan', lifetime => 60);
    open my $fh, '>', "$dir/orphan.pid" or die; print {$fh} $orphan->{pid}; close $fh;
    POSIX::_exit(0);     # no END block: the receiver is left behind
}
waitpid $pid, 0;
open my $fh, '<', "$dir/orphan.pid" or die "no orphan pid";
my $orphan = <$fh>;
close $fh;
# gone: no such process, or a zombie of a reaper that is not us
sub alive {
    my ($p) = @_;
    open my $st, '<', "/proc/$p/stat" or return 0;
    my $line = <$st> // '';
    close $st;
    return $line !~ /^\d+ \(.*\) Z /;
}
$end = time + 5;
sleep 0.1 while alive($orphan) && time < $end;
ok !alive($orphan), 'a receiver whose test process died exits within 5 s';
ok 1, 'done';
