package ScaiSend::Race;

# Helpers for the race and hostile-input tests: requests in flight while
# others run, a request whose body comes later, a PostgreSQL session that
# holds locks while the test decides, direct reads of either engine's
# database, and a look at the error log for crashed children.
#
#   use ScaiSend::Race qw(:all);
#   my $h = start_request(method => 'DELETE', url => $url, token => $tok);
#   my $r = finish_request($h);             # {status, code, json, body, elapsed}
#
#   my $s = slow_request(method => 'PATCH', url => $url, token => $tok,
#                        body => $json_text);   # headers sent, body held back
#   ...                                         # other requests meanwhile
#   my $r = $s->finish;                         # body sent, answer read
#
#   my $pg = pg_session('ht-hold');            # a psql reading from a pipe
#   $pg->run(q{BEGIN \; SELECT 1 FROM ssd_domains WHERE id = '...' FOR UPDATE;});
#   $pg->wait_idle_in_transaction;
#   wait_until(sub { lock_waiters(qr/selector_seq/) >= 1 }, 30, 'rotation waits');
#   $pg->run('ROLLBACK;');  $pg->done;
#
#   db_rows("SELECT ...")                       # psql or the sqlite3 CLI
#   crash_lines($offset)                        # error-log lines of dead children
#   cap_address_space(1 << 30)                  # a runaway request fails, not the machine
#
# Every wait is bounded; a child process gives up after 120 s.

use strict;
use warnings;

use Exporter 'import';
use IO::Handle ();
use IO::Select ();
use IO::Socket::INET ();
use HTTP::Request ();
use JSON::PP ();
use LWP::UserAgent ();       # loaded once, before the children fork
use POSIX qw(WNOHANG _exit);
use Time::HiRes qw(time sleep);
use URI ();
use ScaiSend::PG ();
use ScaiSend::Test ();

our @EXPORT_OK = qw(start_request finish_request race slow_request raw_request
                    pg_session lock_waiters wait_until db_rows db_value sql_quote
                    crash_lines sqlite_path httpd_pids cap_address_space);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my $JSON = JSON::PP->new->utf8->canonical;

sub sql_quote {
    my ($v) = @_;
    $v =~ s/'/''/g;
    return "'$v'";
}

# --- waiting -------------------------------------------------------------------

# wait_until($cond, $seconds, $what) -> 1 when $cond->() became true in time.
sub wait_until {
    my ($cond, $seconds, $what) = @_;
    my $end = time + $seconds;
    while (time < $end) {
        return 1 if $cond->();
        sleep 0.02;
    }
    return $cond->() ? 1 : 0;
}

# --- requests in flight --------------------------------------------------------

# start_request(method, url, token?, json? | body? + content_type?, headers?,
#               at => epoch seconds (send then, not at once))
# -> a handle; the request runs in a child process (LWP, no keep-alive).
# race(@requests) -> answers, in order: all started, each sent at its own
# delay (seconds) after a common moment 0.5 s from now.
sub start_request {
    my (%r) = @_;
    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $rd;
        alarm 120;
        my $ua = LWP::UserAgent->new(timeout => 100, keep_alive => 0);
        my $req = HTTP::Request->new($r{method} => $r{url});
        $req->header(Authorization => "Bearer $r{token}") if defined $r{token};
        if (exists $r{json}) {
            $req->header('Content-Type' => 'application/json');
            $req->content($JSON->encode($r{json}));
        } elsif (defined $r{body}) {
            $req->header('Content-Type' => $r{content_type} // 'application/json');
            $req->content($r{body});
        }
        $req->header('Content-Length' => length($req->content // ''));
        my $h = $r{headers} || {};
        $req->header($_ => $h->{$_}) for keys %$h;
        sleep $r{at} - time if $r{at} && $r{at} > time;
        my $t0 = time;
        my $res = $ua->request($req);
        my %out = (status => $res->code, body => $res->content // '',
                   content_type => $res->header('Content-Type') // '',
                   elapsed => time - $t0);
        syswrite $wr, $JSON->encode(\%out);
        close $wr;
        _exit(0);
    }
    close $wr;
    return { pid => $pid, fh => $rd, t0 => time };
}

sub race {
    my (@reqs) = @_;
    my $t = time + 0.5;
    my @h = map { start_request(%$_, at => $t + ($_->{delay} // 0)) } @reqs;
    return map { finish_request($_, 130) } @h;
}

# finish_request($h [, $seconds]) -> {status, code, json, body, content_type,
# elapsed}; status 0 when the child gave no answer in time.
sub finish_request {
    my ($h, $seconds) = @_;
    my $end = time + ($seconds // 120);
    my $data = '';
    my $sel = IO::Select->new($h->{fh});
    while (time < $end) {
        last unless $sel->can_read($end - time);
        my $n = sysread $h->{fh}, $data, 65536, length $data;
        last unless $n;
    }
    close $h->{fh};
    kill KILL => $h->{pid} unless waitpid($h->{pid}, WNOHANG) == $h->{pid};
    waitpid $h->{pid}, 0;
    my $out = eval { $JSON->decode($data) } || { status => 0, body => '', elapsed => time - $h->{t0} };
    return _decorate($out);
}

sub _decorate {
    my ($out) = @_;
    $out->{json} = eval { JSON::PP->new->utf8->decode($out->{body}) }
        if ($out->{content_type} // '') =~ m{^application/json}i && length $out->{body};
    $out->{code} = ref $out->{json} eq 'HASH' && ref $out->{json}{error} eq 'HASH'
                   ? $out->{json}{error}{code} // '' : '';
    return $out;
}

# --- a raw HTTP/1.1 client: the body when the test says so --------------------

# slow_request(method, url, token?, body, content_type?, chunked => 0|1,
#              headers => {...}) -> an object: the request line and headers
# are sent at once, the body by ->finish (then the answer is read).
sub slow_request {
    my (%r) = @_;
    my $u = URI->new($r{url});
    my $sock = IO::Socket::INET->new(PeerAddr => $u->host, PeerPort => $u->port,
                                     Proto => 'tcp', Timeout => 10)
        or die "connect $r{url}: $@";
    $sock->autoflush(1);
    my $body = $r{body} // '';
    my @h = ("$r{method} " . $u->path_query . " HTTP/1.1", 'Host: ' . $u->host_port,
             'Connection: close');
    push @h, "Authorization: Bearer $r{token}" if defined $r{token};
    push @h, 'Content-Type: ' . ($r{content_type} // 'application/json');
    push @h, $r{chunked} ? 'Transfer-Encoding: chunked' : 'Content-Length: ' . length $body;
    my $x = $r{headers} || {};
    push @h, map { "$_: $x->{$_}" } sort keys %$x;
    _send_all($sock, join('', map { "$_\r\n" } @h) . "\r\n");
    return bless { sock => $sock, body => $body, chunked => $r{chunked}, t0 => time },
                 'ScaiSend::Race::Slow';
}

# raw_request(%r) -> the answer at once (as finish_request; chunked bodies
# possible). chunk => N sends a chunked body in chunks of N bytes.
sub raw_request {
    my (%r) = @_;
    return slow_request(%r)->finish(chunk => $r{chunk});
}

# Send what the socket takes; a peer that closes early (an answer before
# the whole body) is not an error here.
sub _send_all {
    my ($sock, $data) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    my $sel = IO::Select->new($sock);
    my $end = time + 60;
    while ($off < length $data && time < $end) {
        last unless $sel->can_write(5);
        my $n = syswrite $sock, $data, 65536, $off;
        return $off unless defined $n && $n > 0;
        $off += $n;
    }
    return $off;
}

package ScaiSend::Race::Slow;

use HTTP::Headers ();
use Time::HiRes qw(time);

sub finish {
    my ($self, %o) = @_;
    my $sock = $self->{sock};
    my $body = $self->{body};
    if ($self->{chunked}) {
        my $n = $o{chunk} || 4096;
        my $wire = '';
        for (my $i = 0; $i < length $body; $i += $n) {
            my $part = substr $body, $i, $n;
            $wire .= sprintf("%x\r\n", length $part) . $part . "\r\n";
        }
        $body = $wire . "0\r\n\r\n";
    }
    my $t_body = time;
    ScaiSend::Race::_send_all($sock, $body);
    my $raw = '';
    my $sel = IO::Select->new($sock);
    my $end = time + 100;
    while (time < $end) {
        last unless $sel->can_read($end - time);
        my $n = sysread $sock, $raw, 65536, length $raw;
        last unless $n;
    }
    close $sock;
    my %out = (status => 0, body => '', content_type => '', elapsed => time - $t_body,
               total => time - $self->{t0}, headers => {});
    if ($raw =~ s/\AHTTP\/1\.[01] (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n//s) {
        $out{status} = $1;
        for (split /\r\n/, $2) {
            $out{headers}{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
        }
        $out{content_type} = $out{headers}{'content-type'} // '';
        $raw = _dechunk($raw) if ($out{headers}{'transfer-encoding'} // '') =~ /chunked/i;
        $out{body} = $raw;
    }
    # as ScaiSend::Test::api answers (for ScaiSend::Assert)
    $out{hdr} = $out{headers};
    $out{headers} = HTTP::Headers->new(%{ $out{hdr} });
    return ScaiSend::Race::_decorate(\%out);
}

sub _dechunk {
    my ($s) = @_;
    my $out = '';
    while ($s =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $n = hex $1;
        last if $n == 0;
        $out .= substr $s, 0, $n, '';
        $s =~ s/\A\r\n//;
    }
    return $out;
}

package ScaiSend::Race;

# --- a PostgreSQL session held open ------------------------------------------

# pg_session($application_name) -> a psql process reading SQL from a pipe,
# as the suite's role; statements run as their lines arrive. The session
# ends (and its transaction rolls back) at ->done or when this process
# exits; idle_in_transaction_session_timeout bounds it at 60 s anyway.
sub pg_session {
    my ($name) = @_;
    my $dsn = ScaiSend::PG::pg_env()->{PG_DSN} . " application_name=$name";
    my $psql = -x ScaiSend::PG::pg_env()->{PG_BIN} . '/psql'
               ? ScaiSend::PG::pg_env()->{PG_BIN} . '/psql' : 'psql';
    my $pid = open(my $in, '|-') // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        { no warnings 'exec'; exec $psql, '-X', '-q', '-d', $dsn; }
        _exit(127);
    }
    $in->autoflush(1);
    my $s = bless { pid => $pid, in => $in, name => $name }, 'ScaiSend::Race::PGSession';
    $s->run("SET idle_in_transaction_session_timeout = '60s';");
    return $s;
}

# Backends waiting for a lock, whose statement matches $re (all when undef).
sub lock_waiters {
    my ($re) = @_;
    my @rows = ScaiSend::PG::psql(q{SELECT application_name, query FROM pg_stat_activity
        WHERE wait_event_type = 'Lock' AND datname = current_database()});
    return scalar grep { !defined $re || "$_->[0] $_->[1]" =~ $re } @rows;
}

package ScaiSend::Race::PGSession;

sub run {
    my ($self, $sql) = @_;
    local $SIG{PIPE} = 'IGNORE';
    print {$self->{in}} "$sql\n";
    return $self;
}

# Wait (bounded) until the session sits in an open transaction: its last
# query has completed. Send BEGIN and what takes the locks as one query
# ("BEGIN \; LOCK ...;"): psql sends statements one by one otherwise, and
# the session is briefly idle in its transaction between them.
sub wait_idle_in_transaction {
    my ($self, $seconds) = @_;
    my $name = $self->{name};
    return ScaiSend::Race::wait_until(sub {
        ScaiSend::PG::psql_value("SELECT count(*) FROM pg_stat_activity WHERE application_name = '$name'"
                                 . " AND state = 'idle in transaction'") eq '1';
    }, $seconds // 20, "$name idle in transaction");
}

sub done {
    my ($self) = @_;
    return unless $self->{in};
    local $SIG{PIPE} = 'IGNORE';
    CORE::close($self->{in});
    delete $self->{in};
    waitpid $self->{pid}, 0;
}

sub DESTROY { $_[0]->done }

package ScaiSend::Race;

# --- the database, whichever engine --------------------------------------------

sub sqlite_path { return ScaiSend::PG::dbd_params() }

# db_rows($sql) -> rows (array refs): psql on PostgreSQL, the sqlite3 CLI
# (read-only) on SQLite.
sub db_rows {
    my ($sql) = @_;
    return ScaiSend::PG::psql($sql) if ScaiSend::PG::is_pgsql();
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec 'sqlite3', '-readonly', '-batch', '-noheader',
                                   '-separator', "\t", '-cmd', '.timeout 5000',
                                   sqlite_path(), $sql; }
        print "exec sqlite3: $!\n";
        _exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    die "sqlite3 failed (exit " . ($? >> 8) . "): $out\nSQL: $sql\n" if $?;
    return map { [ split /\t/, $_, -1 ] } grep { length } split /\n/, $out;
}

sub db_value {
    my ($row) = db_rows(@_);
    return $row ? $row->[0] : undef;
}

# --- the suite's httpd processes ---------------------------------------------------

# The suite's httpd: the master, then its children.
sub httpd_pids {
    require Apache::Test;
    my $node = { pid_file => Apache::Test::vars('t_logs') . '/httpd.pid' };
    my $master = ScaiSend::PG::_master_pid($node) or return ();
    return ($master, ScaiSend::PG::node_children($node));
}

sub _vm_size {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return undef;
    while (<$fh>) {
        return $1 * 1024 if /^VmSize:\s+(\d+)\s+kB/;
    }
    return undef;
}

# Lower the address-space limit (RLIMIT_AS) of the suite's httpd processes
# to their present size plus $extra bytes: a request that would take
# gigabytes then fails in its own child instead of taking the machine's
# memory. Children forked later inherit the master's limit. Processes of
# this user only (no privilege needed to lower a limit). Returns how many
# processes were capped.
# A process whose limit is already lower (capped earlier, or a child that
# inherited the master's) keeps it: raising a hard limit needs privilege.
sub cap_address_space {
    my ($extra) = @_;
    my $n = 0;
    for my $pid (httpd_pids()) {
        my $size = _vm_size($pid) // next;
        my $limit = $size + $extra;
        my $hard = _as_hard_limit($pid);
        if (defined $hard && $hard <= $limit) { $n++; next }
        $n++ if system('prlimit', "--pid=$pid", "--as=$limit:$limit") == 0;
    }
    return $n;
}

# The hard RLIMIT_AS of a process in bytes; undef when unlimited or unknown.
sub _as_hard_limit {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/limits" or return undef;
    while (<$fh>) {
        return $1 if /^Max address space\s+\S+\s+(\d+)\s/;
    }
    return undef;
}

# --- crashed children ------------------------------------------------------------

# Error-log lines after $offset that report a child killed by a signal or
# exiting abnormally, or raw stderr of a dying child. $log: another
# error_log (an extra node's) instead of the suite's.
sub crash_lines {
    my ($offset, $log) = @_;
    my @lines = ScaiSend::Test::error_log_since($offset, $log);
    return grep { /exit signal|child process \d+ (?:still did not exit|exit)|
                   Segmentation fault|Memory\ allocation\ failed|Out\ of\ memory|
                   Aborted|possible\ coredump|AH00052|AH00051/xi } @lines;
}

1;
