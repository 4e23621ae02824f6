package ScaiSend::Receiver;

# A real HTTP receiver of webhooks for the tests: t/lib/ScaiSend/webhook_receiver.py
# (Python 3's http.server) on a loopback port, recording every request and
# answering as the test's script says; and the verifiers of the Standard
# Webhooks signature that share nothing with the module's code.
#
#   use ScaiSend::Receiver qw(:all);
#   my $secret = write_secret("$dir/webhook.secret");      # whsec_..., mode 0640
#   my $rx = ScaiSend::Receiver->start(secret_file => $secret,
#                                      script => [{ status => 500 }, { status => 200 }]);
#   $rx->url;                       # http://127.0.0.1:<port>/hooks/scaisend
#   $rx->script([{ status => 200, delay => 3 }]);   # from the next request on
#   my @got = $rx->wait_for(2, timeout => 60);      # at least 2 requests, bounded
#   $got[0]{headers}{'webhook-id'}; $got[0]{body}; $got[0]{verify};   # 'ok' or why not
#   node_verify($secret_text, $got[0]);             # 'ok' or why not (npm standardwebhooks)
#   $rx->stop;                      # also at exit, and by itself after `lifetime`
#
# A request record: n (1, 2, ... since start), time, method, path, headers
# (a hash of lower-case names; header_list keeps order and case), body
# (bytes), answer (the status it was given; 0: dropped), verify (the
# receiver's own Python verifier: 'ok' or the reason).
#
# Script entries: {status => N, delay => seconds, drop => 1, body => text,
# headers => {...}}; the n-th request after the script changed gets the
# n-th entry, the last one repeats.

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec ();
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use POSIX qw(WNOHANG _exit);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(write_secret node_verify node_verifier_available perl_verify);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my $LIB_DIR = dirname(File::Spec->rel2abs(__FILE__));   # t/lib/ScaiSend
my $T_DIR   = dirname(dirname($LIB_DIR));               # t
my $ROOT    = "$T_DIR/..";
my $PYTHON  = '/usr/bin/python3';
my $JSON    = JSON::PP->new->utf8->canonical;
my %LIVE;       # pid => receiver, started by this process

sub _logs {
    my $logs = eval { require Apache::Test; Apache::Test::vars('t_logs') } || "$T_DIR/logs";
    return $logs;
}

# A loopback port nobody listens on, from $SCAISEND_RECEIVER_PORT (9560).
sub _free_port {
    my $from = $ENV{SCAISEND_RECEIVER_PORT} || 9560;
    for my $p ($from .. $from + 200) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                      Proto => 'tcp', Listen => 1, ReuseAddr => 1) or next;
        close $s;
        return $p;
    }
    die "no free port from $from\n";
}

sub _write {
    my ($file, $text, $mode) = @_;
    open my $fh, '>', "$file.tmp" or die "cannot write $file.tmp: $!\n";
    print {$fh} $text;
    close $fh or die "close $file.tmp: $!\n";
    chmod $mode, "$file.tmp" if defined $mode;
    rename "$file.tmp", $file or die "rename $file: $!\n";
}

# write_secret($path [, $bytes]) -> $path: "whsec_" + base64 of $bytes (24
# random bytes by default) and a newline, mode 0640.
sub write_secret {
    my ($path, $bytes) = @_;
    if (!defined $bytes) {
        open my $r, '<:raw', '/dev/urandom' or die "/dev/urandom: $!\n";
        read($r, $bytes, 24) == 24 or die "short read of /dev/urandom\n";
        close $r;
    }
    _write($path, 'whsec_' . encode_base64($bytes, '') . "\n", 0640);
    return $path;
}

# ScaiSend::Receiver->start(%opt)
#   script => [...]        answers (default: always 200)
#   secret_file => path    the receiver verifies each request with it
#   lifetime => seconds    it exits by itself then (default 600)
#   name => 'rx'           its files in t/logs/receiver-<name>-<pid>/
#   port => N              default: free from $SCAISEND_RECEIVER_PORT or 9560
#   path => '/hooks/scaisend'   the path of url()
sub start {
    my ($class, %o) = @_;
    my $name = $o{name} // 'rx';
    my $dir = _logs() . "/receiver-$name-$$";
    make_path($dir);
    my $self = bless { dir => $dir, log => "$dir/requests.jsonl", script_file => "$dir/script.json",
                       ready => "$dir/ready", path => $o{path} // '/hooks/scaisend',
                       secret_file => $o{secret_file}, lifetime => $o{lifetime} // 600,
                       seen => 0 }, $class;
    unlink $self->{log}, $self->{ready};
    $self->script($o{script} // [{ status => 200 }]);
    $self->{port} = $o{port} // _free_port();
    $self->_spawn;
    return $self;
}

sub _spawn {
    my ($self) = @_;
    unlink $self->{ready};
    my @cmd = ($PYTHON, "$LIB_DIR/webhook_receiver.py", '--port', $self->{port},
               '--log', $self->{log}, '--script', $self->{script_file},
               '--ready', $self->{ready}, '--lifetime', $self->{lifetime}, '--parent', $$);
    push @cmd, '--secret-file', $self->{secret_file} if defined $self->{secret_file};
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/stderr.log" or _exit(126);
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec @cmd; }
        _exit(127);
    }
    $self->{pid} = $pid;
    $LIVE{$pid} = $self;
    my $end = time + 10;
    while (time < $end) {
        return $self if -s $self->{ready};
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $LIVE{$pid};
            die "the receiver exited at start: " . _slurp("$self->{dir}/stderr.log") . "\n";
        }
        sleep 0.05;
    }
    $self->stop;
    die "the receiver did not start in 10 s\n";
}

sub url  { my ($self) = @_; return "http://127.0.0.1:$self->{port}$self->{path}" }
sub port { return $_[0]{port} }
sub dir  { return $_[0]{dir} }

# script([...]): the answers from the next request on (counting restarts).
sub script {
    my ($self, $script) = @_;
    _write($self->{script_file}, $JSON->encode($script));
    return $self;
}

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    my $s = <$fh> // '';
    close $fh;
    return $s;
}

# Every request recorded so far, oldest first.
sub requests {
    my ($self) = @_;
    my @out;
    for my $line (split /\n/, _slurp($self->{log})) {
        my $e = eval { $JSON->decode($line) } or next;
        my (%h, @list);
        for my $pair (@{ $e->{headers} || [] }) {
            push @list, [@$pair];
            $h{ lc $pair->[0] } = exists $h{ lc $pair->[0] } ? "$h{lc $pair->[0]}, $pair->[1]" : $pair->[1];
        }
        push @out, { %$e, headers => \%h, header_list => \@list,
                     body => decode_base64($e->{body_b64} // '') };
    }
    return @out;
}

# wait_for($n, timeout => seconds, since => $k): the requests once there are
# at least $n (after the first $k), or what there is when the time is up.
sub wait_for {
    my ($self, $n, %o) = @_;
    my $end = time + ($o{timeout} // 30);
    my $since = $o{since} // 0;
    my @got;
    while (1) {
        my @all = $self->requests;
        @got = @all[$since .. $#all];
        last if @got >= $n || time >= $end;
        sleep 0.1;
    }
    return @got;
}

sub running {
    my ($self) = @_;
    return 0 unless $self->{pid};
    return 0 if waitpid($self->{pid}, WNOHANG) == $self->{pid};
    return kill 0, $self->{pid};
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return 1;
    delete $LIVE{$pid};
    kill TERM => $pid;
    my $end = time + 5;
    while (time < $end) {
        return 1 if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill KILL => $pid;
    waitpid $pid, 0;
    return 1;
}

# restart(): the same port, log and script (a receiver that was down).
sub restart {
    my ($self) = @_;
    $self->stop;
    $self->_spawn;
    return $self;
}

END {
    local $?;
    $_->stop for values %LIVE;
}

# rfc3339_seconds('2026-11-27T10:00:00Z') -> Unix seconds, undef when not that form.
sub rfc3339_seconds {
    my ($t) = @_;
    require Time::Local;
    my @f = ($t // '') =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?Z$/ or return undef;
    return Time::Local::timegm($f[5], $f[4], $f[3], $f[2], $f[1] - 1, $f[0]);
}

# ---- verifiers independent of the module ----------------------------------

# perl_verify($secret_text, $request) -> 'ok' or why not: the scheme with
# Digest::SHA and MIME::Base64, for tests that make requests themselves.
sub perl_verify {
    my ($secret, $req) = @_;
    require Digest::SHA;
    (my $b64 = $secret) =~ s/^whsec_// or return 'the secret is not whsec_...';
    $b64 =~ s/\s+\z//;
    my $key = decode_base64($b64);
    my ($id, $ts, $sigs) = map { $req->{headers}{$_} } qw(webhook-id webhook-timestamp webhook-signature);
    return 'missing headers' unless defined $id && defined $ts && defined $sigs;
    my $want = Digest::SHA::hmac_sha256_base64("$id.$ts.$req->{body}", $key);
    $want .= '=' x (-length($want) % 4);
    for my $sig (split / /, $sigs) {
        my ($v, $value) = split /,/, $sig, 2;
        return 'ok' if $v eq 'v1' && defined $value && $value eq $want;
    }
    return 'no matching v1 signature';
}

my $NODE_DIR = "$ROOT/build/webhooks";

# Is the npm package standardwebhooks installed (build/install-webhook-deps)?
sub node_verifier_available {
    return -x '/usr/bin/node' && -f "$NODE_DIR/node_modules/standardwebhooks/package.json";
}

# node_verify($secret_text, $request) -> 'ok' or the library's error: the
# official TypeScript implementation (npm standardwebhooks), through
# t/lib/ScaiSend/webhook_verify.js.
sub node_verify {
    my ($secret, $req) = @_;
    my $in = $JSON->encode({ secret => $secret, headers => $req->{headers},
                             body_b64 => encode_base64($req->{body}, '') });
    my $file = _logs() . "/node-verify-$$.json";
    _write($file, $in);
    my $out = `/usr/bin/node "$LIB_DIR/webhook_verify.js" "$NODE_DIR" < "$file" 2>&1`;
    unlink $file;
    chomp $out;
    return $out;
}

1;
