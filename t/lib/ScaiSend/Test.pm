package ScaiSend::Test;

# Helpers shared by the Apache::Test suite (t/*.t) of mod_scaisend_domains.
#
#   use FindBin; use lib "$FindBin::Bin/lib";
#   use ScaiSend::Test qw(token api error_log_scan);
#
#   my $jwt = token(sub => 'alice', partner_id => 'p_1', tenant_id => 't_1',
#                   role => 'tenant_admin');
#   my $r = api(POST => '/api/admin/domains', token => $jwt,
#               json => { domain => 'mail.example.com' });
#   is $r->{status}, 201;  $r->{json}{id};  $r->{headers}->header('Location');

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use Crypt::JWT qw(encode_jwt);
use JSON::PP ();
use HTTP::Request ();
use POSIX ();
use Time::HiRes ();

our @EXPORT_OK = qw(token api error_log_scan error_log_offset error_log_since
                    expected_log_patterns SECRET WRONG_SECRET);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# The HS256 secret the test server trusts (t/conf/extra.conf.in gets it
# through the @SCAISEND_SECRET@ token, set in t/TEST.PL).
use constant SECRET       => 'scaisend-test-hs256-secret-0123456789abcdefghijkl';
use constant WRONG_SECRET => 'not-the-scaisend-test-secret-0123456789abcdefghij';

my $LIB_DIR = dirname(File::Spec->rel2abs(__FILE__));     # t/lib/ScaiSend
my $T_DIR   = dirname(dirname($LIB_DIR));                 # t

my $JSON = JSON::PP->new->utf8->canonical;

# token(%claims) -> compact JWT (HS256, signed with SECRET).
#
# Defaults: sub => 'test-user', partner_id => 'p_test', tenant_id => 't_test',
# role => 'tenant_admin', iat => now, exp => now + 3600.
# A claim given as undef is left out of the token (exp => undef: no exp;
# tenant_id => undef: partner-level token).  Options (keys starting with '-'):
#   -key => 'secret'    sign with this secret instead of SECRET
#   -wrong_key => 1     sign with WRONG_SECRET
#   -header => {...}    extra JOSE header fields (e.g. kid)
sub token {
    my %args = @_;
    my %opt;
    for my $k (grep { /^-/ } keys %args) {
        $opt{substr $k, 1} = delete $args{$k};
    }
    my $now = time;
    my %claims = (
        sub        => 'test-user',
        partner_id => 'p_test',
        tenant_id  => 't_test',
        role       => 'tenant_admin',
        iat        => $now,
        exp        => $now + 3600,
        %args,
    );
    delete $claims{$_} for grep { !defined $claims{$_} } keys %claims;

    my $key = $opt{key} // ($opt{wrong_key} ? WRONG_SECRET : SECRET);
    return encode_jwt(
        payload       => \%claims,
        alg           => 'HS256',
        key           => $key,
        ($opt{header} ? (extra_headers => $opt{header}) : ()),
    );
}

# --- the exchange recorder (checked against docs/openapi.yaml by t/zz_openapi.t)
#
# Every response that an LWP::UserAgent of a test process receives (api(),
# race_requests(), the raw LWP calls of some test files, and their forked
# children) is appended as one JSON line to t/logs/openapi-exchanges.jsonl:
# {"t", "method", "url", "path", "query", "status", "content_type",
#  "headers": {Allow, Location, Retry-After, WWW-Authenticate}, "body_b64",
#  "body_length"}.  Request headers are never recorded (no Authorization).
# Responses that LWP made up itself (connection refused, cut) are skipped.
# SCAISEND_OPENAPI_RECORD=0 turns the recorder off.
use constant RECORD_BODY_MAX => 4 * 1024 * 1024;
my @RECORD_HEADERS = qw(Allow Location Retry-After WWW-Authenticate);
my $RECORD_JSON = JSON::PP->new->canonical;

sub exchanges_file {
    my $logs = eval { require Apache::Test; Apache::Test::vars('t_logs') };
    $logs = "$T_DIR/logs" unless $logs && -d $logs;
    return "$logs/openapi-exchanges.jsonl";
}

sub _record_exchange {
    my ($res) = @_;
    my $req = $res->request or return;
    return if ($res->header('Client-Warning') // '') =~ /^Internal response/;
    my $uri = $req->uri;
    my $body = $res->content // '';
    my %h;
    for my $name (@RECORD_HEADERS) {
        my @v = $res->header($name);
        $h{$name} = join(', ', @v) if @v;
    }
    require MIME::Base64;
    my $rec = {
        t            => $0,
        method       => $req->method,
        url          => "$uri",
        path         => $uri->path,
        query        => scalar $uri->query,
        status       => $res->code + 0,
        content_type => scalar $res->header('Content-Type'),
        headers      => \%h,
        body_length  => length $body,
        (length $body <= RECORD_BODY_MAX
            ? (body_b64 => MIME::Base64::encode_base64($body, '')) : ()),
    };
    my $line = $RECORD_JSON->encode($rec) . "\n";
    # one write per line on an O_APPEND file: lines of concurrent (forked)
    # clients never interleave
    if (sysopen my $fh, exchanges_file(),
                POSIX::O_WRONLY() | POSIX::O_APPEND() | POSIX::O_CREAT(), 0644) {
        syswrite $fh, $line;
        close $fh;
    }
    return;
}

# Every user agent created from now on (also Apache::TestRequest's and
# those of the test files) records its exchanges.
if (($ENV{SCAISEND_OPENAPI_RECORD} // '1') ne '0') {
    require LWP::UserAgent;
    no warnings 'redefine';
    my $new = \&LWP::UserAgent::new;
    *LWP::UserAgent::new = sub {
        my $ua = $new->(@_);
        $ua->add_handler(response_done => sub { _record_exchange($_[0]); return });
        return $ua;
    };
}

my $UA;
sub _ua {
    require LWP::UserAgent;
    $UA ||= LWP::UserAgent->new(keep_alive => 4, max_redirect => 0,
                                timeout => 60, agent => 'scaisend-test/1');
    return $UA;
}

# api($method, $path, %opt) -> {status, headers, json, body, response}
#
#   $path: absolute ('/api/admin/domains', '/static/bench.json') or relative
#          to /api/admin ('domains/dom_...').
#   token => $jwt            sends "Authorization: Bearer $jwt"
#   json  => $ref            body encoded as JSON, Content-Type application/json
#   body  => $bytes          raw body (Content-Type from content_type or headers)
#   content_type => $ct      Content-Type for body (default application/json)
#   headers => {name => value, ...}   extra/overriding request headers
#
# headers is an HTTP::Headers object; json is the decoded body when the
# response is JSON (undef otherwise or if it does not parse; json_error then
# holds the parse error).
sub api {
    my ($method, $path, %opt) = @_;
    $path = "/api/admin/$path" unless $path =~ m{^/};
    require Apache::TestRequest;
    my $url = Apache::TestRequest::resolve_url($path);

    my $req = HTTP::Request->new(uc $method => $url);
    $req->header(Authorization => "Bearer $opt{token}") if defined $opt{token};
    if (exists $opt{json}) {
        $req->content($JSON->encode($opt{json}));
        $req->header('Content-Type' => 'application/json');
    } elsif (defined $opt{body}) {
        $req->content($opt{body});
        $req->header('Content-Type' => $opt{content_type} // 'application/json');
    }
    if (defined $req->content && length $req->content) {
        $req->header('Content-Length' => length $req->content);
    }
    my $h = $opt{headers} || {};
    $req->header($_ => $h->{$_}) for keys %$h;

    my $res = _ua()->request($req);
    my %r = (
        status   => $res->code,
        headers  => $res->headers,
        body     => $res->content,
        response => $res,
        json     => undef,
    );
    my $ct = $res->header('Content-Type') // '';
    if ($ct =~ m{^application/(?:[\w.+-]+\+)?json}i && length $r{body}) {
        $r{json} = eval { $JSON->decode($r{body}) };
        $r{json_error} = $@ if $@;
    }
    return \%r;
}

sub _error_log_path {
    my $logs = eval { require Apache::Test; Apache::Test::vars('t_logs') };
    $logs = "$T_DIR/logs" unless $logs && -d $logs;
    return "$logs/error_log";
}

# Regexes from t/lib/ScaiSend/expected-log-lines.txt (one per line,
# '#' comments and blank lines ignored).
sub expected_log_patterns {
    my $file = "$LIB_DIR/expected-log-lines.txt";
    open my $fh, '<', $file or die "cannot read $file: $!";
    my @re;
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^\s*(#|$)/;
        push @re, qr/$line/;
    }
    return @re;
}

# Byte offset of the end of the error_log now (use with error_log_since);
# $path: another error_log (an extra node's) instead of the suite's.
sub error_log_offset {
    my ($path) = @_;
    my $f = $path // _error_log_path();
    return -s $f || 0;
}

# Lines appended to the error_log ($path, or the suite's) after $offset
# (from error_log_offset).
sub error_log_since {
    my ($offset, $path) = @_;
    my $f = $path // _error_log_path();
    open my $fh, '<', $f or return ();
    seek $fh, $offset || 0, 0;
    my @lines = <$fh>;
    chomp @lines;
    return @lines;
}

# error_log_scan(%opt) -> list of unexpected error_log lines.
# A line is suspicious when its level is warn, error, crit, alert or emerg,
# when it reports a crashed child or sanitizer output, or when it is not in
# httpd's log format at all (raw stderr of a child).  Suspicious lines that
# match a pattern of expected-log-lines.txt (or of allow => [qr/.../]) are
# dropped.  from => $offset limits the scan to lines written after it.
sub error_log_scan {
    my %opt = @_;
    my @allow = (expected_log_patterns(), @{ $opt{allow} || [] });
    my @bad;
    for my $line (error_log_since($opt{from} || 0)) {
        next unless length $line;
        my $suspicious;
        if ($line =~ /^\[[^\]]*\] \[(?:[\w-]+:)?(\w+)\]/) {
            $suspicious = $1 =~ /^(?:warn|error|crit|alert|emerg)$/;
        } else {
            $suspicious = 1;
        }
        $suspicious ||= $line =~ /exit signal|Segmentation fault|AddressSanitizer|
                                  LeakSanitizer|runtime error:|double free|
                                  corrupted|stack smashing|Aborted/x;
        next unless $suspicious;
        next if grep { $line =~ $_ } @allow;
        push @bad, $line;
    }
    return @bad;
}

# Write $n random bytes to $path (mode 0600), used for the KEK file.
sub write_random_file {
    my ($path, $n) = @_;
    open my $rnd, '<:raw', '/dev/urandom' or die "/dev/urandom: $!";
    my $got = read($rnd, my $buf, $n);
    die "short read from /dev/urandom" unless $got && $got == $n;
    close $rnd;
    my $old = umask 077;
    open my $out, '>:raw', $path or die "cannot write $path: $!";
    print {$out} $buf or die "write $path: $!";
    close $out or die "close $path: $!";
    umask $old;
    chmod 0600, $path;
    return $path;
}

# race_requests(@requests) -> ([status, error code or '', json or {}], ...)
#
# Each request ({method, url (absolute), token, json?, delay?}) is sent from
# its own child process; all are released at the same moment (plus their
# own delay in seconds). Bounded: a child gives up after 90 s, the whole
# race after 130 s; a request with no answer comes back as [0, 'no answer'].
sub race_requests {
    my (@reqs) = @_;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $start = Time::HiRes::time() + 1.0;
    my @pids;
    for my $i (0 .. $#reqs) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $rd;
            _race_child($wr, $i, $reqs[$i], $start);
        }
        push @pids, $pid;
    }
    close $wr;
    my @res;
    local $SIG{ALRM} = sub { die "race: timeout\n" };
    alarm 130;
    eval {
        while (my $line = <$rd>) {
            my ($i, @f) = @{ $JSON->decode($line) };
            $res[$i] = \@f;
        }
    };
    alarm 0;
    waitpid $_, 0 for @pids;       # each child is bounded by its alarm
    close $rd;
    return map { $res[$_] || [0, 'no answer', {}] } 0 .. $#reqs;
}

sub _race_child {
    my ($wr, $i, $r, $start) = @_;
    alarm 90;
    require LWP::UserAgent;
    my $ua = LWP::UserAgent->new(timeout => 60, keep_alive => 0);
    my $req = HTTP::Request->new($r->{method} => $r->{url});
    $req->header(Authorization => "Bearer $r->{token}") if defined $r->{token};
    if (exists $r->{json}) {
        $req->header('Content-Type' => 'application/json');
        $req->content($JSON->encode($r->{json}));
    }
    $req->header('Content-Length' => length($req->content // ''));
    my $wait = $start + ($r->{delay} // 0) - Time::HiRes::time();
    Time::HiRes::sleep($wait) if $wait > 0;
    my $res = $ua->request($req);
    my $j = eval { $JSON->decode($res->content) };
    $j = {} unless ref $j eq 'HASH';
    my $code = ref $j->{error} eq 'HASH' ? ($j->{error}{code} // '') : '';
    syswrite $wr, $JSON->encode([$i, $res->code, $code, $j]) . "\n";
    POSIX::_exit(0);
}

1;
