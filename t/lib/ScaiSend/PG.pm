package ScaiSend::PG;

# PostgreSQL side of the test suite: which engine the test server uses, SQL
# against its database, stopping/starting the throwaway cluster, and extra
# httpd nodes on the same database (t/pg/*.t).
#
# build/run-tests runs the whole suite twice: on SQLite, then on a throwaway
# PostgreSQL cluster it starts with build/pg-cluster.  For the second run it
# sets SCAISEND_DBD_DRIVER=pgsql, SCAISEND_DBD_PARAMS (mod_dbd's DBDParams)
# and SCAISEND_PG_ENV (the cluster's cluster.env: PG_DSN, PG_CONTROL,
# PG_BIN, ...); t/TEST.PL stores them as Apache::Test config vars, so a later
# t/TEST -run-tests sees the same values.
#
#   use ScaiSend::PG qw(:all);
#   pg_only();                       # plan skip_all on SQLite
#   my @rows = psql('SELECT id, domain FROM ssd_domains');   # [[...], ...]
#   my $n = psql_value('SELECT count(*) FROM ssd_domains');
#   pg_ctl('stop');  pg_ctl('start');       # the whole cluster
#   my $n2 = start_node('node2');            # a second httpd on the same DB
#   node_api($n2, GET => 'domains', token => $tok);
#   stop_node($n2);                          # also done at exit
#   my @bad = integrity_problems();          # [] when the data is whole

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec ();
use HTTP::Request ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX qw(WNOHANG _exit setsid);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(engine is_pgsql pg_only pg_env psql psql_value pg_ctl pg_running
                    start_node start_nodes stop_node node_api node_children free_port
                    integrity_problems dbd_params scratch_database schema_version config_check
                    node_cores);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my $LIB_DIR = dirname(File::Spec->rel2abs(__FILE__));   # t/lib/ScaiSend
my $T_DIR   = dirname(dirname($LIB_DIR));               # t
my $JSON    = JSON::PP->new->utf8->canonical;

# --- which engine --------------------------------------------------------------

sub _var {
    my ($name) = @_;
    my $v = eval { require Apache::Test; Apache::Test::vars($name) };
    return $v if defined $v && length $v;
    return undef;
}

# 'sqlite3' or 'pgsql': the server's DBDriver.
sub engine {
    return _var('scaisend_dbd_driver') // $ENV{SCAISEND_DBD_DRIVER} // 'sqlite3';
}
sub is_pgsql { return engine() eq 'pgsql' }

sub dbd_params {
    return _var('scaisend_dbd_params') // $ENV{SCAISEND_DBD_PARAMS} // '';
}

# scratch_database($dir, $name) -> DBDParams of a database of its own, for
# nodes whose background job must not see the suite's rows: on PostgreSQL a
# fresh database scaisend_<name>_<pid> (dropped at exit), else
# $dir/<name>.db.
my @SCRATCH;
sub scratch_database {
    my ($dir, $name) = @_;
    return "$dir/$name.db" unless is_pgsql();
    my $db = "scaisend_${name}_$$";
    psql("DROP DATABASE IF EXISTS $db");
    psql("CREATE DATABASE $db");
    push @SCRATCH, $db;
    (my $params = dbd_params()) =~ s/\bdbname=\S+/dbname=$db/ or die "no dbname in DBDParams\n";
    return $params;
}
END { local $?; eval { psql("DROP DATABASE IF EXISTS $_ WITH (FORCE)") } for @SCRATCH; }

# Skip the whole test file unless the suite runs on PostgreSQL.
sub pg_only {
    return if is_pgsql();
    require Test::More;
    Test::More::plan(skip_all => 'PostgreSQL only (this run uses ' . engine()
                     . '; build/run-tests runs the suite on both engines)');
    exit 0;
}

# The cluster description (PG_DSN, PG_CONTROL, PG_BIN, PG_PORT, ...): from
# the file named by the config var scaisend_pg_env or $SCAISEND_PG_ENV.
# pg_env($file) reads that file instead (t/TEST.PL, before the config exists).
my $ENVC;
sub pg_env {
    my ($file) = @_;
    return $ENVC if $ENVC && !$file;
    my $f = $file // _var('scaisend_pg_env') // $ENV{SCAISEND_PG_ENV}
        or die "ScaiSend::PG: no PostgreSQL cluster (SCAISEND_PG_ENV unset)\n";
    open my $fh, '<', $f or die "ScaiSend::PG: cannot read $f: $!\n";
    my %e;
    while (<$fh>) {
        chomp;
        next unless /^(\w+)=(.*)$/;
        my ($k, $v) = ($1, $2);
        $v =~ s/^'(.*)'$/$1/;
        $e{$k} = $v;
    }
    close $fh;
    return $ENVC = \%e;
}

# --- SQL ---------------------------------------------------------------------

sub _psql_bin {
    my $e = pg_env();
    return -x "$e->{PG_BIN}/psql" ? "$e->{PG_BIN}/psql" : 'psql';
}

# psql($sql [, dsn => $conninfo]) -> list of rows (array refs), dies on error.
sub psql {
    my ($sql, %o) = @_;
    my $dsn = $o{dsn} // pg_env()->{PG_DSN};
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { no warnings "exec"; exec _psql_bin(), '-X', '-q', '-A', '-t', '-F', "\t", '-v', 'ON_ERROR_STOP=1',
             '-d', $dsn, '-c', $sql; }
        print "exec psql: $!\n";
        _exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    die "psql failed (exit " . ($? >> 8) . "): $out\nSQL: $sql\n" if $?;
    return map { [ split /\t/, $_, -1 ] } grep { length } split /\n/, $out;
}

sub psql_value {
    my ($sql, %o) = @_;
    my ($row) = psql($sql, %o);
    return $row ? $row->[0] : undef;
}

# --- the cluster ---------------------------------------------------------------

# pg_ctl('stop'|'start'|'status') -> (exit status, output).  The cluster may
# belong to another user (postgres when the suite runs as root): the request
# goes through the keeper of build/pg-cluster (a file in PG_CONTROL).
my $REQ = 0;
sub pg_ctl {
    my ($what) = @_;
    die "pg_ctl: stop, start or status\n" unless $what =~ /^(?:stop|start|status)$/;
    my $ctl = pg_env()->{PG_CONTROL};
    my $name = "$ctl/t$$-" . ++$REQ;
    open my $fh, '>', "$name.tmp" or die "cannot write $name.tmp: $!\n";
    print {$fh} "$what\n";
    close $fh;
    rename "$name.tmp", "$name.req" or die "rename: $!\n";
    my $end = time + 60;
    while (time < $end) {
        if (open my $in, '<', "$name.out") {
            local $/;
            my $out = <$in> // '';
            close $in;
            unlink "$name.out";
            my $rc = $out =~ s/\Arc=(\d+)\n// ? $1 : 99;
            return ($rc, $out);
        }
        sleep 0.05;
    }
    unlink "$name.req";
    return (98, "no answer from the cluster keeper in 60 s ($ctl)");
}

# Does the cluster accept connections now?
sub pg_running {
    my $e = pg_env();
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $e->{PG_PORT},
                                  Proto => 'tcp', Timeout => 1);
    return 0 unless $s;
    close $s;
    return eval { psql_value('SELECT 1') eq '1' } ? 1 : 0;
}

# --- extra httpd nodes -----------------------------------------------------------

my %TAKEN;      # ports handed out by free_port (a node may not be bound yet)
sub free_port {
    my ($from) = @_;
    for my $p ($from .. $from + 200) {
        next if $TAKEN{$p};
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $p,
                                      Proto => 'tcp', Listen => 1, ReuseAddr => 1) or next;
        close $s;
        $TAKEN{$p} = 1;
        return $p;
    }
    die "no free port from $from\n";
}

sub _slurp {
    my ($f) = @_;
    open my $fh, '<', $f or die "cannot read $f: $!\n";
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

# The test server's configuration for another node: t/conf/httpd.conf with
# the node's own port, pid file, logs and runtime folder, and t/conf/extra.conf
# inlined without its extra virtual hosts (each has a Listen of its own).
sub _node_conf {
    my (%o) = @_;
    my ($dir, $port) = @o{qw(dir port)};
    my $conf = _slurp("$T_DIR/conf/httpd.conf");
    my $extra = _slurp("$T_DIR/conf/extra.conf");
    $extra =~ s{^Listen\s.*$}{}mg;
    $extra =~ s{^<VirtualHost\b.*?^</VirtualHost>\s*$}{}msg;
    if (defined $o{dbd_params}) {
        (my $p = $o{dbd_params}) =~ s/(["\\])/\\$1/g;
        $extra =~ s{^DBDParams\s.*$}{DBDParams "$p"}m or die "no DBDParams in extra.conf\n";
    }
    for my $d (sort keys %{ $o{set} || {} }) {
        my $line = "$d $o{set}{$d}";
        $extra =~ s{^\Q$d\E\s.*$}{$line}mg or $extra .= "\n$line\n";
    }
    $extra .= "\n$o{append}\n" if defined $o{append};
    my $n = 0;
    $n += $conf =~ s{^ServerName\s.*$}{ServerName 127.0.0.1:$port}m;
    $n += $conf =~ s{^Listen\s.*$}{Listen 127.0.0.1:$port}m;
    $n += $conf =~ s{^PidFile\s.*$}{PidFile "$dir/httpd.pid"}m;
    $n += $conf =~ s{^ErrorLog\s.*$}{ErrorLog "$dir/error_log"}m;
    die "t/conf/httpd.conf: unexpected layout ($n of 4 directives found)\n" unless $n == 4;
    $conf =~ s{^(\s*)DefaultRunTimeDir\s.*$}{$1DefaultRunTimeDir "$dir"}mg;
    $conf .= "\nCoreDumpDirectory \"$dir\"\n";        # node_cores() looks there
    $conf =~ s{^(\s*)DefaultStateDir\s.*$}{$1DefaultStateDir "$dir"}mg;
    $conf =~ s{^(\s*)TransferLog\s.*$}{$1TransferLog "$dir/access_log"}mg;
    $conf =~ s{^(\s*)ScriptSock\s.*$}{$1ScriptSock "$dir/cgisock"}mg;
    $conf =~ s{^Include\s+"?\S*extra\.conf"?\s*$}{# extra.conf, inlined for this node\n$extra}m
        or die "t/conf/httpd.conf does not include extra.conf\n";
    return "# httpd node '$o{name}' of the test suite (written by ScaiSend::PG)\n$conf";
}

# config_check(%opt) -> (exit status, output) of "httpd -t" on the test
# server's configuration for a node (set, append, dbd_params as for
# start_node): what "apachectl -t" says of it.
sub config_check {
    my (%o) = @_;
    my $name = $o{name} // 'configtest';
    my $logs = eval { require Apache::Test; Apache::Test::vars('t_logs') } || "$T_DIR/logs";
    my $dir = "$logs/pg-node-$name";
    make_path($dir);
    my $conf = "$dir/httpd.conf";
    open my $fh, '>', $conf or die "cannot write $conf: $!\n";
    print {$fh} _node_conf(%o, name => $name, dir => $dir, port => free_port(8600 + int(rand 100)));
    close $fh or die "close $conf: $!\n";
    my $pid = open my $out, '-|' // die "fork: $!\n";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        $ENV{$_} = $o{env}{$_} for keys %{ $o{env} || {} };
        { no warnings 'exec'; exec _httpd_bin(), '-d', $T_DIR, '-f', $conf, '-t',
                                   '-D', 'APACHE2', '-D', 'APACHE2_4'; }
        _exit(127);
    }
    local $/;
    my $text = <$out> // '';
    close $out;
    return ($? >> 8, $text);
}

sub _httpd_bin {
    return _var('httpd') // '/usr/sbin/apache2';
}

my %NODES;      # name => node, started by this process

# start_node($name, %opt) -> node {name, port, base, dir, error_log, pid_file}
#   port => N          (default: a free port from 8600)
#   dbd_params => ...  another DBDParams (e.g. another database)
#   append => text     extra configuration lines
#   set => {Directive => 'args'}  replaces that directive's lines (or adds one)
#   env => {NAME => value}  environment of the node's httpd (LD_PRELOAD ...)
#   expect_failure => 1: return {failed => 1, output => <its logs>} when httpd
#                      does not come up, instead of dying
#   wait => seconds    how long to wait for it to answer (default 30)
# Logs and the generated config are in t/logs/pg-node-<name>/.  A watcher
# process stops the node if this test process dies without stopping it.
# start_nodes([$name, %opt], ...) starts several at the same moment.
sub start_node { my ($node) = start_nodes([@_]); return $node }

sub start_nodes {
    my (@specs) = @_;
    my @nodes = map { _spawn_node(@$_) } @specs;
    my @out;
    my $err = '';
    for my $node (@nodes) {
        my $r = _await_node($node);
        $err .= $r->{error} if $r->{error};
        push @out, $r;
    }
    if ($err) {
        stop_node($_) for grep { !$_->{failed} } @out;
        die $err;
    }
    return @out;
}

sub _spawn_node {
    my ($name, %o) = @_;
    die "start_node: name [a-z0-9_-]\n" unless $name =~ /^[a-z0-9_-]+$/;
    my $port = $o{port} // free_port(8600 + int(rand 100));
    my $logs = eval { require Apache::Test; Apache::Test::vars('t_logs') } || "$T_DIR/logs";
    my $dir = "$logs/pg-node-$name";
    make_path($dir);
    unlink "$dir/httpd.pid", glob("$dir/core*");
    my $conf = "$dir/httpd.conf";
    open my $fh, '>', $conf or die "cannot write $conf: $!\n";
    print {$fh} _node_conf(%o, name => $name, dir => $dir, port => $port);
    close $fh or die "close $conf: $!\n";
    my $node = { name => $name, port => $port, base => "http://127.0.0.1:$port",
                 dir => $dir, conf => $conf, error_log => "$dir/error_log",
                 pid_file => "$dir/httpd.pid", opt => \%o };

    # In the foreground, as a child of this process: a start-up failure is
    # an exit status, not a silent daemon death.
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/stderr.log" or _exit(126);
        open STDERR, '>&', \*STDOUT;
        $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
        $ENV{$_} = $o{env}{$_} for keys %{ $o{env} || {} };
        { no warnings "exec"; exec _httpd_bin(), '-d', $T_DIR, '-f', $conf, '-D', 'APACHE2',
                                   '-D', 'APACHE2_4', '-D', 'FOREGROUND'; }
        print STDERR "exec httpd: $!\n";
        _exit(127);
    }
    $node->{pid} = $pid;
    $node->{owner} = $$;
    $NODES{$name} = $node;
    $node->{watcher} = _watcher($node);
    $node->{t0} = time;
    return $node;
}

sub _await_node {
    my ($node) = @_;
    my %o = %{ delete $node->{opt} };
    my ($pid, $port, $name) = @$node{qw(pid port name)};
    my $wait = $o{wait} // 30;
    my $end = $node->{t0} + $wait;
    my ($up, $exited) = (0, 0);
    while (time < $end) {
        if (waitpid($pid, WNOHANG) == $pid) { $exited = 1; $node->{status} = $? >> 8; last }
        if (_master_pid($node)
            and my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                              Proto => 'tcp', Timeout => 1)) {
            close $s;
            $up = 1;
            last;
        }
        sleep 0.1;
    }
    return $node if $up;
    my $log = join '', map { -e $_ ? _slurp($_) : '' } $node->{error_log}, "$node->{dir}/stderr.log";
    delete $node->{pid} if $exited;
    stop_node($node);
    return { %$node, failed => 1, output => $log } if $o{expect_failure};
    return { error => "httpd node $name did not start"
                      . ($exited ? " (exit $node->{status})" : " in $wait s")
                      . "; its logs:\n$log" };
}

sub _master_pid {
    my ($node) = @_;
    open my $fh, '<', $node->{pid_file} or return 0;
    my $pid = <$fh> // '';
    close $fh;
    chomp $pid;
    return ($pid =~ /^\d+$/ && kill 0, $pid) ? $pid : 0;
}

# Pids of the node's children (the processes that serve requests).
sub node_children {
    my ($node) = @_;
    my $master = _master_pid($node) or return ();
    my @kids;
    opendir my $d, '/proc' or return ();
    for my $p (grep { /^\d+$/ } readdir $d) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $stat = <$fh> // '';
        close $fh;
        push @kids, $p if $stat =~ /^\d+ \(.*\) \S (\d+) / && $1 == $master;
    }
    closedir $d;
    return sort { $a <=> $b } @kids;
}

sub _kill_node {
    my ($node) = @_;
    my $master = _master_pid($node);
    my @kids = node_children($node);
    return 1 unless $master || @kids;
    kill TERM => $master if $master;
    my $end = time + 10;
    my $mine = $node->{pid} && $node->{owner} && $node->{owner} == $$;
    while (time < $end) {
        waitpid($node->{pid}, WNOHANG) if $mine;     # no zombie counts as alive
        last unless ($master && kill 0, $master) || grep { kill 0, $_ } @kids;
        sleep 0.05;
    }
    kill KILL => grep { kill 0, $_ } grep { $_ } $master, @kids;
    unlink $node->{pid_file};
    waitpid($node->{pid}, 0) if $node->{pid} && $node->{owner} && $node->{owner} == $$;
    return 1;
}

# A process that stops the node when the test process is gone (bounded: 30 min).
sub _watcher {
    my ($node) = @_;
    my $parent = $$;
    my $pid = fork // return undef;
    return $pid if $pid;
    setsid();
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
    $SIG{USR1} = sub { _exit(0) };
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    my $end = time + 1800;
    sleep 0.25 while kill(0, $parent) && time < $end;
    _kill_node($node);
    _exit(0);
}

# node_cores($node) -> the core files a crashed process of the node left
# (CoreDumpDirectory is the node's directory).
sub node_cores {
    my ($node) = @_;
    opendir my $dh, $node->{dir} or return ();
    return sort grep { /^core(?:\.\d+)?$/ } readdir $dh;
}

sub stop_node {
    my ($node) = @_;
    return unless $node;
    if (my $w = delete $node->{watcher}) {
        kill USR1 => $w;
        waitpid $w, 0;
    }
    _kill_node($node);
    delete $NODES{ $node->{name} };
    return 1;
}

END {
    local $?;
    stop_node($_) for values %NODES;
}

my %UA;
sub _ua {
    my ($timeout) = @_;
    require LWP::UserAgent;
    return $UA{$timeout} ||= LWP::UserAgent->new(keep_alive => 4, max_redirect => 0,
                                                 timeout => $timeout, agent => 'scaisend-test/1');
}

# node_api($node, $method, $path, %opt) -> as ScaiSend::Test::api, against
# that node ($node: a start_node result, or a base URL).  timeout => seconds.
sub node_api {
    my ($node, $method, $path, %opt) = @_;
    my $base = ref $node ? $node->{base} : $node;
    $path = "/api/admin/$path" unless $path =~ m{^/};
    my $req = HTTP::Request->new(uc $method => "$base$path");
    $req->header(Authorization => "Bearer $opt{token}") if defined $opt{token};
    if (exists $opt{json}) {
        $req->content($JSON->encode($opt{json}));
        $req->header('Content-Type' => 'application/json');
        $req->header('Content-Length' => length $req->content);
    }
    elsif (exists $opt{body}) {
        $req->content($opt{body});
        $req->header('Content-Type' => $opt{content_type} // 'application/octet-stream');
        $req->header('Content-Length' => length $req->content);
    }
    my $t0 = time;
    my $res = _ua($opt{timeout} // 60)->request($req);
    my %r = (status => $res->code, headers => $res->headers, body => $res->content,
             response => $res, json => undef, elapsed => time - $t0);
    my $ct = $res->header('Content-Type') // '';
    if ($ct =~ m{^application/json}i && length $r{body}) {
        $r{json} = eval { $JSON->decode($r{body}) };
    }
    return \%r;
}

# --- integrity ---------------------------------------------------------------------

# Rules every committed state must satisfy, over every table; each query
# counts the rows breaking its rule.  Returns "rule: N" for each broken one.
my $V = schema_version();
my @RULES = (
    ["schema version: one row for each version 1 to $V",
     qq{SELECT CASE WHEN count(*) = $V AND count(DISTINCT version) = $V AND min(version) = 1
        AND max(version) = $V THEN 0 ELSE 1 END FROM ssd_schema_version}],
    ['dkim key without its domain',
     q{SELECT count(*) FROM ssd_dkim_keys k LEFT JOIN ssd_domains d ON d.id = k.domain_id WHERE d.id IS NULL}],
    # (one per algorithm: RSA, and Ed25519 beside it, api.md section 10)
    ['domain without exactly one active RSA key',
     q{SELECT count(*) FROM ssd_domains d WHERE (SELECT count(*) FROM ssd_dkim_keys k
         WHERE k.domain_id = d.id AND k.state = 'active' AND k.algorithm = 'rsa-sha256') <> 1}],
    ['domain with more than one active key of an algorithm',
     q{SELECT count(*) FROM (SELECT domain_id FROM ssd_dkim_keys WHERE state = 'active'
         GROUP BY domain_id, algorithm HAVING count(*) > 1) x}],
    ['domain with more than one pending key of an algorithm',
     q{SELECT count(*) FROM (SELECT domain_id FROM ssd_dkim_keys WHERE state = 'pending'
         GROUP BY domain_id, algorithm HAVING count(*) > 1) x}],
    ['active Ed25519 key of a domain without Ed25519',
     q{SELECT count(*) FROM ssd_dkim_keys k JOIN ssd_domains d ON d.id = k.domain_id
         WHERE k.state IN ('active', 'pending') AND k.algorithm = 'ed25519-sha256'
         AND d.dkim_algorithms NOT LIKE '%ed25519-sha256%'}],
    ['key in an unknown state',
     q{SELECT count(*) FROM ssd_dkim_keys WHERE state NOT IN ('active', 'pending', 'retired')}],
    ['active or pending key without its private part',
     q{SELECT count(*) FROM ssd_dkim_keys WHERE state IN ('active', 'pending')
         AND (wrapped_key IS NULL OR wrapped_key NOT LIKE 'v1:%')}],
    ['dkim_selector of a domain is not its active key',
     q{SELECT count(*) FROM ssd_domains d WHERE NOT EXISTS (SELECT 1 FROM ssd_dkim_keys k
         WHERE k.domain_id = d.id AND k.state = 'active' AND k.selector = d.dkim_selector)}],
    # (an Ed25519 twin "<selector>-ed25519" has its RSA twin's number)
    ['selector_seq below the highest selector number',
     q{SELECT count(*) FROM ssd_dkim_keys k JOIN ssd_domains d ON d.id = k.domain_id
         WHERE d.selector_seq < COALESCE(NULLIF(substring(k.selector FROM '([0-9]*)(?:-ed25519)?$'), ''),
                                         '1')::int}],
    ['domain without exactly one domain.created event',
     q{SELECT count(*) FROM ssd_domains d WHERE (SELECT count(*) FROM ssd_events e
         WHERE e.domain_id = d.id AND e.action = 'domain.created') <> 1}],
    # (an Ed25519 key turned on by a PATCH is pending after domain.updated)
    ['pending key without a dkim.rotated event',
     q{SELECT count(*) FROM ssd_dkim_keys k WHERE k.state = 'pending' AND NOT EXISTS
         (SELECT 1 FROM ssd_events e WHERE e.domain_id = k.domain_id AND (e.action = 'dkim.rotated'
          OR (k.algorithm = 'ed25519-sha256' AND e.action = 'domain.updated')))}],
    ['events of a vanished domain without domain.deleted',
     q{SELECT count(DISTINCT e.domain_id) FROM ssd_events e LEFT JOIN ssd_domains d ON d.id = e.domain_id
         WHERE d.id IS NULL AND NOT EXISTS (SELECT 1 FROM ssd_events x
         WHERE x.domain_id = e.domain_id AND x.action = 'domain.deleted')}],
    ['deleted domain that still exists',
     q{SELECT count(*) FROM ssd_domains d WHERE EXISTS (SELECT 1 FROM ssd_events e
         WHERE e.domain_id = d.id AND e.action = 'domain.deleted')}],
    ['event with a bad partner',
     q{SELECT count(*) FROM ssd_events e JOIN ssd_domains d ON d.id = e.domain_id
         WHERE e.partner_id <> d.partner_id}],
);

# The schema version this build of the module knows (SSD_SCHEMA_VERSION).
sub schema_version {
    my $h = "$T_DIR/../mod_scaisend_domains/ssd_store.h";
    my ($v) = _slurp($h) =~ /^#define SSD_SCHEMA_VERSION (\d+)$/m
        or die "no SSD_SCHEMA_VERSION in $h\n";
    return $v;
}

sub integrity_problems {
    my (%o) = @_;
    my @bad;
    for my $rule (@RULES) {
        my $n = psql_value($rule->[1], %o);
        push @bad, "$rule->[0]: $n" unless defined $n && $n eq '0';
    }
    return @bad;
}

1;
