package ScaiSend::DNS;

# Real DNS servers for the test suite: a Knot DNS server (knotd) serving the
# zones the tests need, and misbehaving servers (t/dns/bad-dns).
#
# t/TEST.PL starts them once per suite run (start_servers, before httpd) and
# stops them at the end (stop_servers, also from an END block on failure; a
# guardian process stops them if the driver dies without cleaning up).
# Everything lives in a temporary folder (config, zone files, journal,
# control socket); logs go to t/logs (knotd.log, bad-dns-<mode>.log).
#
# Ports (127.0.0.1, defined in %PORT below; SCAISEND_DNS_PORT=<base> moves all):
#   8553 knotd (UDP+TCP)        8554 bad-dns silent      8555 bad-dns servfail
#   8556 bad-dns truncate (UDP only)   8557 bad-dns delay 100 ms -> knotd (UDP+TCP)
#   8558 bad-dns refused
#   8563 the authoritative servers t/verify/authority.t starts (127.0.0.2 and up)
# The test httpd gets "ScaiSendResolver 127.0.0.1:8553" (t/conf/extra.conf.in).
#
# Tests:
#   use ScaiSend::DNS qw(:all);
#   knot_set('example.com', 'scaisend._domainkey.mail', 'TXT', "v=DKIM1; k=rsa; p=$b64");
#   knot_set('example.com', 'split', 'TXT', ['v=DKIM1; k=rsa; ', "p=$b64"]);  # one RR, 2 strings
#   knot_add('example.com', 'mail', 'TXT', 'v=spf1 -all');                    # keeps the others
#   knot_cname('example.com', 'scaisend._domainkey.mail', 'sel.zone-a.test.');
#   knot_unset('example.com', 'mail', 'TXT');   knot_unset('example.com', 'mail');  # whole node
#   my $n0 = knot_query_count('TXT'); ...; my $queries = knot_query_count('TXT') - $n0;
#   dns_query(name => 'mail.example.com', type => 'TXT', port => bad_dns_port('servfail'));
#   bad_dns_query_count('silent')   # queries a bad-dns instance received so far
#
# Owners: '@' or '' is the zone apex; a name ending in '.' is absolute; a name
# equal to the zone or ending in ".<zone>" is taken as absolute too; anything
# else is relative to the zone.  Names inside rdata (CNAME, MX targets) are
# relative to the zone unless they end in '.'.
#
# TXT rdata: each Perl string is one RR; strings longer than 255 bytes are
# split into 255-byte character-strings (as a DNS provider would); an array
# reference is one RR made of exactly those character-strings (split-TXT
# tests).  Bytes are sent as they are (quotes, backslashes and non-printable
# bytes escaped for knotc); Perl character strings with wide characters are
# UTF-8 encoded.  Other types take their rdata in zone-file syntax.
#
# Changes go through knotc zone-begin/zone-set/zone-unset/zone-commit (one
# transaction per call, about 25 ms per knotc command; knot_update batches
# several changes into one transaction).  An error aborts the transaction
# and dies.  Changes are visible as soon as the call returns.

use strict;
use warnings;

use Carp qw(croak);
use Exporter 'import';
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use File::Temp qw(tempdir);
use IO::Select ();
use IO::Socket::INET ();
use POSIX qw(WNOHANG _exit);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(knot_set knot_add knot_unset knot_cname knot_update knot_reset
                    knot_read knot_stats knot_query_count knot_port bad_dns_port
                    dns_port dns_query zone_of bad_dns_query_count ZONES
                    SCAISEND_V4 SCAISEND_V6 SCAISEND_SPF);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# --- ports and zones (the one place they are defined) -----------------------
# SCAISEND_DNS_PORT moves them all (knotd gets the base, the others follow).
my $BASE = $ENV{SCAISEND_DNS_PORT} || 8553;
our %PORT = (
    knot     => $BASE,        # knotd, UDP and TCP
    silent   => $BASE + 1,    # bad-dns: never answers
    servfail => $BASE + 2,    # bad-dns: SERVFAIL
    truncate => $BASE + 3,    # bad-dns: TC=1, no TCP listener
    delay    => $BASE + 4,    # bad-dns: forwards to knotd after 100 ms (UDP+TCP)
    refused  => $BASE + 5,    # bad-dns: REFUSED
    authority => $BASE + 10,  # t/verify/authority.t's own servers, on 127.0.0.2-.6
);
use constant DELAY_MS => 100;
our @BAD_MODES = qw(silent servfail truncate delay refused);

# Zones knotd serves (apex SOA + NS ns.<zone>, ns.<zone> A 127.0.0.1, the
# records of %INITIAL, nothing else: tests add what they need).  Add a zone
# here when a test needs one.
# The top-level domains of the others are served too: the DMARC check's DNS
# tree walk (RFC 9989 section 4.10) asks _dmarc.com, _dmarc.test, ... and
# must get NXDOMAIN there, as on the Internet, not REFUSED.  The two reverse
# zones hold the PTR records of ScaiSend's test addresses (203.0.113.0/24,
# 2001:db8:5ca1::/48) for the SPF check's ptr terms.
use constant ZONES => qw(example.com example.net example.org platform.example
                         xn--bcher-kva.example scailabs.ai
                         zone-a.test zone-b.test zone-c.test
                         com net org example ai test
                         prop.test lame.prop.test
                         113.0.203.in-addr.arpa 1.a.c.5.8.b.d.0.1.0.0.2.ip6.arpa);

# ScaiSend's own SPF record (the include of t/conf/extra.conf.in,
# ScaiSendSPFInclude): the addresses the SPF check evaluates every
# domain's record for.  Documentation ranges (RFC 5737, RFC 3849).
use constant SCAISEND_V4 => '203.0.113.10';
use constant SCAISEND_V6 => '2001:db8:5ca1::10';
use constant SCAISEND_SPF => 'v=spf1 ip4:' . SCAISEND_V4 . ' ip6:' . SCAISEND_V6 . ' ~all';

# Records every zone starts with (and knot_reset puts back): zone => [[owner,
# type, rdata], ...].
our %INITIAL = (
    'scailabs.ai' => [ [ 'scaisend', 'TXT', SCAISEND_SPF ] ],
);

use constant DEFAULT_TTL => 60;

sub knot_port { return $PORT{knot} }
sub dns_port  { my ($name) = @_; return $PORT{$name // 'knot'} // croak "no DNS server '$name'" }
sub bad_dns_port { my ($mode) = @_; croak "bad-dns mode?" unless $mode && $mode ne 'knot';
                   return dns_port($mode) }

my $LIB_DIR = dirname(File::Spec->rel2abs(__FILE__));   # t/lib/ScaiSend
my $T_DIR   = dirname(dirname($LIB_DIR));               # t

# The zone (of ZONES) a name belongs to: longest suffix match.
sub zone_of {
    my ($name) = @_;
    (my $n = lc $name) =~ s/\.$//;
    my ($best) = sort { length $b <=> length $a }
                 grep { $n eq $_ || substr($n, -length($_) - 1) eq ".$_" } ZONES;
    return $best;
}

# --- state shared between the starter and the test processes ----------------
# A key=value file: dir, conf, sock, pid_<name>..., owner.
sub state_file { return $ENV{SCAISEND_DNS_STATE} || "$T_DIR/logs/dns-state" }

my $STATE;
sub _state {
    return $STATE if $STATE && -S $STATE->{sock};
    my $f = state_file();
    open my $fh, '<', $f
        or croak "DNS servers are not running (no $f): start the suite with t/TEST "
               . "or build/run-tests, which start them";
    my %s = map { chomp; split /=/, $_, 2 } grep { /=/ } <$fh>;
    close $fh;
    return $STATE = \%s;
}

# --- knotc -------------------------------------------------------------------
# (exit status, combined output) of one knotc command.
sub _knotc {
    my (@args) = @_;
    my $sock = _state()->{sock};
    my $pid = open(my $fh, '-|') // croak "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { no warnings "exec"; exec "knotc", "-s", $sock, "-t", "10", "-x", @args; }
        print "exec knotc: $!\n";
        _exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

sub _abs_zone { my ($z) = @_; $z =~ s/\.$//; return lc $z }

sub _owner {
    my ($zone, $owner) = @_;
    $zone = _abs_zone($zone);
    return "$zone." if !defined $owner || $owner eq '' || $owner eq '@';
    return $owner if $owner =~ /\.$/;
    return "$owner." if lc $owner eq $zone || lc($owner) =~ /\.\Q$zone\E$/;
    return "$owner.$zone.";
}

sub _quote_string {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([\\"])/\\$1/g;
    $s =~ s/([^\x20-\x7e])/sprintf '\\%03d', ord $1/ge;
    return qq("$s");
}

sub _split255 {
    my ($s) = @_;
    utf8::encode($s) if utf8::is_utf8($s);
    return ('') unless length $s;
    my @parts;
    push @parts, substr($s, 0, 255, '') while length $s;
    return @parts;
}

sub _rdata {
    my ($type, $rd) = @_;
    if ($type eq 'TXT' || $type eq 'SPF') {
        my @strings = ref $rd eq 'ARRAY' ? (@$rd ? @$rd : ('')) : _split255($rd);
        for (@strings) {
            utf8::encode($_) if utf8::is_utf8($_);
            croak "a TXT character-string is at most 255 bytes (got " . length($_) . ")"
                if length $_ > 255;
        }
        return join ' ', map { _quote_string($_) } @strings;
    }
    croak "rdata for $type must be a string" if ref $rd;
    croak "rdata must not contain line breaks" if $rd =~ /[\r\n]/;
    return $rd;
}

# knot_update($zone, @ops [, {ttl => N}]) -- several changes, one transaction.
#   ['set',   $owner, $type, @rdata]   replace the RRset (and drop a CNAME there)
#   ['add',   $owner, $type, @rdata]   add RRs, keep the others
#   ['unset', $owner [, $type [, @rdata]]]  remove RRs / the RRset / the node
#   ['cname', $owner, $target]         the node becomes just this CNAME
sub knot_update {
    my ($zone, @ops) = @_;
    my $opt = ref $ops[-1] eq 'HASH' ? pop @ops : {};
    my $ttl = $opt->{ttl} // DEFAULT_TTL;
    my $z = _abs_zone($zone) . '.';
    my @cmds;                 # [tolerated-error regex or undef, knotc args...]
    my $gone = qr/no such (?:node|record)|not exist/i;
    for my $op (@ops) {
        my ($what, $owner, @rest) = @$op;
        my $o = _owner($zone, $owner);
        if ($what eq 'cname') {
            my ($target) = @rest;
            push @cmds, [$gone, 'zone-unset', $z, $o],
                        [undef, 'zone-set', $z, $o, $ttl, 'CNAME', $target];
            next;
        }
        my ($type, @rdata) = @rest;
        $type = uc $type if defined $type;
        if ($what eq 'unset') {
            my @rd = map { _rdata($type, $_) } @rdata;
            push @cmds, [$gone, 'zone-unset', $z, $o, (defined $type ? $type : ()), @rd];
            next;
        }
        croak "knot_update: unknown operation '$what'" unless $what eq 'set' || $what eq 'add';
        croak "knot_update: $what needs a type" unless $type;
        croak "knot_update: $what needs rdata" unless @rdata;
        if ($what eq 'set') {
            push @cmds, [$gone, 'zone-unset', $z, $o, $type];
            push @cmds, [$gone, 'zone-unset', $z, $o, 'CNAME'] if $type ne 'CNAME';
        }
        push @cmds, [qr/already exists/i, 'zone-set', $z, $o, $ttl, $type, _rdata($type, $_)]
            for @rdata;
    }
    _transaction($z, @cmds);
    return 1;
}

sub _transaction {
    my ($z, @cmds) = @_;
    my ($rc, $out) = _knotc('zone-begin', $z);
    if ($rc && $out =~ /too many transactions/i) {     # left open by a crashed test
        _knotc('zone-abort', $z);
        ($rc, $out) = _knotc('zone-begin', $z);
    }
    croak "knotc zone-begin $z failed: $out" if $rc;
    for my $c (@cmds) {
        my ($ok_re, @args) = @$c;
        ($rc, $out) = _knotc(@args);
        next unless $rc;
        next if $ok_re && $out =~ $ok_re;
        _knotc('zone-abort', $z);
        croak "knotc @args failed (transaction aborted): $out";
    }
    ($rc, $out) = _knotc('zone-commit', $z);
    if ($rc) {
        _knotc('zone-abort', $z);
        croak "knotc zone-commit $z failed (transaction aborted): $out";
    }
}

sub knot_set   { my ($zone, $owner, $type, @rd) = @_; knot_update($zone, ['set', $owner, $type, @rd]) }
sub knot_add   { my ($zone, $owner, $type, @rd) = @_; knot_update($zone, ['add', $owner, $type, @rd]) }
sub knot_unset { my ($zone, $owner, @rest) = @_; knot_update($zone, ['unset', $owner, @rest]) }
sub knot_cname { my ($zone, $owner, $target) = @_; knot_update($zone, ['cname', $owner, $target]) }

# knot_read($zone [, $owner [, $type]]) -> lines "owner ttl type rdata" as knotc prints them.
sub knot_read {
    my ($zone, $owner, $type) = @_;
    my @args = ('zone-read', _abs_zone($zone) . '.');
    push @args, _owner($zone, $owner) if defined $owner;
    push @args, uc $type if defined $type;
    my ($rc, $out) = _knotc(@args);
    return () if $rc && $out =~ /no such (?:node|record)/i;
    croak "knotc @args failed: $out" if $rc;
    return map { s/^\[[^\]]*\]\s+//r } grep { length } split /\n/, $out;
}

# knot_reset(@zones) -- back to the initial zone contents (default: all zones).
sub knot_reset {
    my (@zones) = @_ ? @_ : ZONES;
    for my $zone (@zones) {
        my $z = _abs_zone($zone) . '.';
        my %seen;
        my @ops;
        for my $line (knot_read($zone)) {
            my ($owner, undef, $type) = split ' ', $line;
            next if lc $owner eq $z && ($type eq 'SOA' || $type eq 'NS');
            next if lc $owner eq "ns.$z" && $type eq 'A';
            push @ops, ['unset', $owner, $type] unless $seen{"$owner $type"}++;
        }
        push @ops, map { ['set', $_->[0], $_->[1], $_->[2]] } @{ $INITIAL{_abs_zone($zone)} || [] };
        knot_update($zone, @ops) if @ops;
    }
    return 1;
}

# knot_stats() -> { 'mod-stats.query-type[TXT]' => 3, ... } (counters since
# knotd started; counters still at zero are absent).
sub knot_stats {
    my ($rc, $out) = _knotc('stats');
    croak "knotc stats failed: $out" if $rc;
    my %s;
    for (split /\n/, $out) {
        $s{$1} = $2 if /^\s*(\S+)\s*=\s*(\d+)\s*$/;
    }
    return \%s;
}

# knot_query_count([$type]) -> queries knotd received since it started (all
# of them, or of one QTYPE such as 'TXT').  Take differences around the part
# of a test being measured.
sub knot_query_count {
    my ($type) = @_;
    my $s = knot_stats();
    return $s->{'mod-stats.query-type[' . uc($type) . ']'} // 0 if defined $type;
    return $s->{'mod-stats.server-operation[query]'} // 0;
}

# --- a small DNS client (core modules only) ----------------------------------
my %TYPE = (A => 1, NS => 2, CNAME => 5, SOA => 6, PTR => 12, MX => 15, TXT => 16,
            AAAA => 28, SRV => 33, OPT => 41, ANY => 255);
my %TYPE_NAME = reverse %TYPE;
my @RCODE = qw(NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED);

# bad_dns_query_count($mode [, $qtype]) -> queries that bad-dns instance
# received since the suite started (UDP and TCP; $qtype like 'TXT').
sub bad_dns_query_count {
    my ($mode, $qtype) = @_;
    my $log = (_state()->{log_dir} // "$T_DIR/logs") . "/bad-dns-$mode.log";
    my $want = defined $qtype ? ($TYPE{uc $qtype} // croak "unknown type $qtype") : undef;
    open my $fh, '<', $log or return 0;
    my $n = 0;
    while (<$fh>) {
        my @f = split ' ';
        next unless @f == 5 && $f[0] =~ /^\d+\.\d+$/;
        $n++ if !defined $want || $f[4] eq $want;
    }
    return $n;
}

# dns_query(name => ..., type => 'TXT', port => knot_port(), server => '127.0.0.1',
#           tcp => 0, timeout => 2, edns => 1232 (0: none), rd => 0)
# -> { timeout => 1, elapsed } when nothing came back in time, else
#    { rcode => 'NOERROR', rcode_num, tc, aa, elapsed (s), answers => [
#        { name, type, ttl, rdata, strings => [...] (TXT), target (CNAME) } ] }
sub dns_query {
    my (%o) = @_;
    my $type = uc($o{type} // 'TXT');
    my $qtype = $TYPE{$type} // croak "dns_query: unknown type $type";
    my $server = $o{server} // '127.0.0.1';
    croak "dns_query: loopback only" unless $server =~ /^127\./;
    my $port = $o{port} // knot_port();
    my $timeout = $o{timeout} // 2;
    my $edns = $o{edns} // 1232;
    my $id = int rand 65536;
    my $q = pack('n6', $id, $o{rd} ? 0x0100 : 0, 1, 0, 0, $edns ? 1 : 0)
          . _encode_name($o{name} // croak 'dns_query: name') . pack('n2', $qtype, 1);
    $q .= pack('C n n N n', 0, 41, $edns, 0, 0) if $edns;
    my $t0 = time;
    my $msg = $o{tcp} ? _exchange_tcp($server, $port, $q, $timeout)
                      : _exchange_udp($server, $port, $q, $id, $timeout);
    my $elapsed = time - $t0;
    return { timeout => 1, elapsed => $elapsed } unless defined $msg;
    my $r = _parse($msg);
    $r->{elapsed} = $elapsed;
    return $r;
}

sub _encode_name {
    my ($name) = @_;
    $name =~ s/\.$//;
    return "\0" if $name eq '';
    return join('', map { pack('C/a*', $_) } split /\./, $name) . "\0";
}

sub _exchange_udp {
    my ($server, $port, $q, $id, $timeout) = @_;
    my $s = IO::Socket::INET->new(Proto => 'udp', PeerAddr => $server, PeerPort => $port)
        or croak "udp socket: $@";
    $s->send($q);
    my $end = time + $timeout;
    while ((my $left = $end - time) > 0) {
        IO::Select->new($s)->can_read($left) or last;
        my $buf = '';
        defined $s->recv($buf, 65535) or last;    # ICMP port unreachable
        return $buf if length $buf >= 12 && unpack('n', $buf) == $id;
    }
    return undef;
}

sub _exchange_tcp {
    my ($server, $port, $q, $timeout) = @_;
    my $end = time + $timeout;
    my $s = IO::Socket::INET->new(Proto => 'tcp', PeerAddr => $server, PeerPort => $port,
                                  Timeout => $timeout) or return undef;
    syswrite($s, pack('n', length $q) . $q) or return undef;
    my $len = _read_exact($s, 2, $end) // return undef;
    return _read_exact($s, unpack('n', $len), $end);
}

sub _read_exact {
    my ($fh, $n, $end) = @_;
    my $buf = '';
    while (length $buf < $n) {
        my $left = $end - time;
        return undef if $left <= 0 || !IO::Select->new($fh)->can_read($left);
        sysread($fh, $buf, $n - length $buf, length $buf) or return undef;
    }
    return $buf;
}

sub _read_name {
    my ($msg, $off) = @_;
    my (@labels, $end);
    for (1 .. 128) {
        croak "dns: name runs past the message" if $off >= length $msg;
        my $len = ord substr($msg, $off, 1);
        if (($len & 0xC0) == 0xC0) {
            $end //= $off + 2;
            $off = unpack('n', substr($msg, $off, 2)) & 0x3FFF;
            next;
        }
        if ($len == 0) {
            $end //= $off + 1;
            return (join('.', @labels) . '.', $end);
        }
        push @labels, substr($msg, $off + 1, $len);
        $off += 1 + $len;
    }
    croak "dns: compression loop";
}

sub _parse {
    my ($msg) = @_;
    my ($id, $flags, $qd, $an) = unpack 'n4', $msg;
    my %r = (id => $id, rcode_num => $flags & 0xF, tc => ($flags & 0x0200) ? 1 : 0,
             aa => ($flags & 0x0400) ? 1 : 0, answers => []);
    $r{rcode} = $RCODE[$r{rcode_num}] // "RCODE$r{rcode_num}";
    my $off = 12;
    for (1 .. $qd) { (undef, $off) = _read_name($msg, $off); $off += 4 }
    for (1 .. $an) {
        my $name;
        ($name, $off) = _read_name($msg, $off);
        my ($type, $class, $ttl, $rdlen) = unpack 'n n N n', substr($msg, $off, 10);
        $off += 10;
        my %rr = (name => $name, type => $TYPE_NAME{$type} // $type, ttl => $ttl,
                  rdata => substr($msg, $off, $rdlen));
        if ($type == 16) {
            my ($p, @s) = (0);
            while ($p < $rdlen) {
                my $l = ord substr($rr{rdata}, $p, 1);
                push @s, substr($rr{rdata}, $p + 1, $l);
                $p += 1 + $l;
            }
            $rr{strings} = \@s;
        } elsif ($type == 5) {
            ($rr{target}) = _read_name($msg, $off);
        }
        push @{ $r{answers} }, \%rr;
        $off += $rdlen;
    }
    return \%r;
}

# --- starting and stopping the servers --------------------------------------

sub _port_free {
    my ($port, $proto) = @_;
    my $s = IO::Socket::INET->new(Proto => $proto, LocalAddr => '127.0.0.1',
                                  LocalPort => $port, ($proto eq 'tcp' ? (Listen => 1) : ()));
    return 0 unless $s;
    close $s;
    return 1;
}

sub _write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or croak "cannot write $path: $!";
    print {$fh} $text;
    close $fh or croak "close $path: $!";
}

sub _knot_conf {
    my ($dir, $zones) = @_;
    my $zone_lines = join '', map { "  - domain: $_\n" } @$zones;
    return <<"CONF";
# knotd for the mod_scaisend_domains test suite (written by ScaiSend::DNS)
server:
    rundir: "$dir"
    pidfile: "$dir/knot.pid"
    listen: 127.0.0.1\@$PORT{knot}
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$dir/db"
control:
    listen: "$dir/knot.sock"
mod-stats:
  - id: stats
    request-protocol: on
    query-type: on
template:
  - id: default
    storage: "$dir/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
    global-module: mod-stats/stats
zone:
$zone_lines
CONF
}

sub _zone_file {
    my ($z, $records) = @_;
    $records //= $INITIAL{$z} || [];
    return "\$ORIGIN $z.\n\$TTL 60\n"
         . "\@ SOA ns.$z. hostmaster.$z. 1 3600 600 86400 60\n"
         . "\@ NS ns.$z.\nns A 127.0.0.1\n"
         . join '', map { "$_->[0] $_->[1] " . _rdata($_->[1], $_->[2]) . "\n" }
                    @$records;
}

# fork + exec with stdin from /dev/null and stdout/stderr appended to $log.
sub _spawn {
    my ($log, @cmd) = @_;
    my $pid = fork // croak "fork: $!";
    return $pid if $pid;
    open STDIN, '<', '/dev/null';
    open STDOUT, '>>', $log or _exit(126);
    open STDERR, '>&', \*STDOUT;
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
    exec @cmd or print STDERR "exec $cmd[0]: $!\n";
    _exit(127);
}

sub _gone {
    my ($pid) = @_;
    my $r = waitpid($pid, WNOHANG);
    return 1 if $r == $pid;
    return $r == -1 && !kill(0, $pid);
}

# TERM, wait up to $grace seconds, then KILL.
sub _terminate {
    my ($grace, @pids) = @_;
    @pids = grep { $_ && $_ =~ /^\d+$/ && $_ > 1 } @pids;
    kill TERM => @pids;
    my $end = time + $grace;
    while (@pids && time < $end) {
        @pids = grep { !_gone($_) } @pids;
        sleep 0.02 if @pids;
    }
    if (@pids) {
        kill KILL => @pids;
        _gone($_) for @pids;
    }
}

my $OWNER_PID;      # the process that started the servers (stops them)

# start_servers(%opt): starts knotd and the bad-dns instances, waits until they
# answer, writes the state file.
#   log_dir   => where knotd.log and bad-dns-<mode>.log go (default t/logs)
#   watch_pid => stop everything when this process is gone (default: the caller)
#   lifetime  => seconds after which everything stops anyway (default 7200)
#   modes     => [bad-dns modes] (default all), delay_ms => 100
#   detach    => 1: keep running after the caller exits (until stop_servers_from_state
#                or the lifetime); for t/TEST -start-httpd
#   zones     => { zone => [[owner, type, rdata], ...] }: more zones knotd serves
#                (besides ZONES; apex SOA, NS and ns A as theirs), e.g. one per
#                domain of build/bench-recheck; knot_update does not know them
sub start_servers {
    my (%o) = @_;
    my $log_dir = $o{log_dir} // "$T_DIR/logs";
    my $lifetime = $o{lifetime} // 7200;
    my $watch = $o{detach} ? undef : exists $o{watch_pid} ? $o{watch_pid} : $$;
    my @modes = @{ $o{modes} // \@BAD_MODES };
    make_path($log_dir, dirname(state_file()));

    _stop_stale();
    for my $name ('knot', @modes) {
        for my $proto ('udp', ($name eq 'knot' || $name eq 'delay' ? 'tcp' : ())) {
            _port_free($PORT{$name}, $proto)
                or croak "ScaiSend::DNS: 127.0.0.1:$PORT{$name}/$proto is in use (another "
                       . "suite run, a leftover knotd? see pgrep -a knotd); set "
                       . "SCAISEND_DNS_PORT to move the DNS ports";
        }
    }

    my $extra = $o{zones} || {};
    my %std = map { $_ => 1 } ZONES;
    $std{$_} and croak "start_servers: zone $_ is one of ZONES" for keys %$extra;
    my @zones = (ZONES, sort keys %$extra);
    my $dir = tempdir('scaisend-dns.XXXXXX', TMPDIR => 1);
    make_path("$dir/db", "$dir/zones");
    _write_file("$dir/zones/$_.zone", _zone_file($_, $extra->{$_})) for @zones;
    _write_file("$dir/knot.conf", _knot_conf($dir, \@zones));

    my %pid;
    my $ok = eval {
        $pid{knotd} = _spawn("$log_dir/knotd.log", 'knotd', '-c', "$dir/knot.conf");
        _wait_knot($pid{knotd}, "$dir/knot.sock", "$log_dir/knotd.log", \@zones);
        for my $m (@modes) {
            my $ready = "$dir/bad-dns-$m.ready";
            $pid{"bad_$m"} = _spawn("$log_dir/bad-dns-$m.log", $^X, "$T_DIR/dns/bad-dns",
                '--mode', $m, '--port', $PORT{$m}, '--max-seconds', $lifetime,
                '--ready-file', $ready, '--log', "$log_dir/bad-dns-$m.log",
                ($m eq 'delay' ? ('--delay-ms', $o{delay_ms} // DELAY_MS,
                                  '--upstream', "127.0.0.1:$PORT{knot}") : ()));
            _wait_for(sub { -e $ready }, $pid{"bad_$m"}, 10, "bad-dns --mode $m",
                      "$log_dir/bad-dns-$m.log");
        }
        1;
    };
    if (!$ok) {
        my $err = $@;
        _terminate(5, values %pid);
        remove_tree($dir);
        die $err;
    }

    $OWNER_PID = $$ unless $o{detach};
    $pid{guardian} = _guardian($watch, $lifetime, $dir, [values %pid]);
    my $state = join '', "dir=$dir\n", "conf=$dir/knot.conf\n", "sock=$dir/knot.sock\n",
                         "log_dir=" . File::Spec->rel2abs($log_dir) . "\n", "owner=$$\n",
                         map { "pid_$_=$pid{$_}\n" } sort keys %pid;
    _write_file(state_file(), $state);
    $ENV{SCAISEND_DNS_STATE} = state_file();
    undef $STATE;
    return { dir => $dir, pids => \%pid };
}

sub _wait_for {
    my ($cond, $pid, $secs, $what, $log) = @_;
    my $end = time + $secs;
    while (time < $end) {
        return 1 if $cond->();
        if (_gone($pid)) {
            croak "$what exited at start-up; its log ($log):\n" . _tail($log);
        }
        sleep 0.02;
    }
    croak "$what not ready after $secs s; its log ($log):\n" . _tail($log);
}

sub _tail {
    my ($f) = @_;
    open my $fh, '<', $f or return "(no log)\n";
    my @l = <$fh>;
    return join '', @l[($#l > 20 ? $#l - 20 : 0) .. $#l];
}

# knotd is ready when its control socket exists and every zone answers its
# SOA (15 s, and 1 s more for every 200 zones beyond ZONES).
sub _wait_knot {
    my ($pid, $sock, $log, $zones) = @_;
    my @pending = @$zones;
    my $secs = 15 + int((@pending - ZONES) / 200);
    _wait_for(sub {
        return 0 unless -S $sock;
        @pending = grep {
            my $r = dns_query(name => $_, type => 'SOA', timeout => 0.2);
            !($r->{rcode} && $r->{rcode} eq 'NOERROR' && @{ $r->{answers} });
        } @pending;
        return !@pending;
    }, $pid, $secs, 'knotd', $log);
}

# A process that stops the servers when $watch (a pid) is gone, after
# $lifetime seconds, or on SIGTERM/SIGHUP, whichever comes first.  SIGUSR1
# (from stop_servers, which stops the servers itself) ends it without that.
# It ignores SIGINT: Ctrl-C reaches the whole process group; the servers stop
# by themselves then and the guardian still cleans up after its parent.
sub _guardian {
    my ($watch, $lifetime, $dir, $pids) = @_;
    my $pid = fork // croak "fork: $!";
    return $pid if $pid;
    my $now = 0;
    $SIG{INT} = 'IGNORE';
    $SIG{TERM} = $SIG{HUP} = sub { $now = 1 };
    $SIG{USR1} = sub { _exit(0) };
    $SIG{CHLD} = 'DEFAULT';
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', '/dev/null';
    my $end = time + $lifetime;
    sleep 0.25 while !$now && time < $end && (!$watch || kill(0, $watch));
    _terminate(5, @$pids);
    remove_tree($dir);
    my $f = state_file();
    if (open my $fh, '<', $f) {
        my $mine = grep { $_ eq "dir=$dir\n" } <$fh>;
        close $fh;
        unlink $f if $mine;
    }
    _exit(0);
}

sub _read_state_file {
    my $f = state_file();
    open my $fh, '<', $f or return;
    my %s = map { chomp; split /=/, $_, 2 } grep { /=/ } <$fh>;
    close $fh;
    return \%s;
}

# Servers left by a run that could not clean up (state file still there):
# stop those pids that are still a knotd or a bad-dns.
sub _stop_stale {
    my $s = _read_state_file() or return;
    my @pids = grep { _is_ours($_) } map { $s->{$_} } grep { /^pid_/ } keys %$s;
    _terminate(5, @pids);
    remove_tree($s->{dir}) if $s->{dir} && $s->{dir} =~ m{/scaisend-dns\.\w+$};
    unlink state_file();
}

sub _is_ours {
    my ($pid) = @_;
    return 0 unless $pid && $pid =~ /^\d+$/ && kill 0, $pid;
    open my $fh, '<', "/proc/$pid/cmdline" or return 0;
    my $cmd = do { local $/; <$fh> } // '';
    return $cmd =~ /knotd|bad-dns/;
}

# stop_servers(): stops what start_servers started (only in the process that
# started them; a no-op elsewhere and when nothing runs).
sub stop_servers {
    return unless $OWNER_PID && $OWNER_PID == $$;
    my $s = _read_state_file();
    undef $OWNER_PID;
    return unless $s && ($s->{owner} // 0) == $$;
    if (my $g = $s->{pid_guardian}) {        # its job is done
        kill USR1 => $g;
        my $end = time + 2;
        sleep 0.01 while !_gone($g) && time < $end;
    }
    _terminate(5, map { $s->{$_} } grep { /^pid_/ && $_ ne 'pid_guardian' } keys %$s);
    remove_tree($s->{dir}) if $s->{dir};
    unlink state_file();
    undef $STATE;
    return 1;
}

# Stop servers started by another process (t/TEST -stop-httpd after a
# t/TEST -start-httpd): the state file says what runs.
sub stop_servers_from_state {
    my $s = _read_state_file() or return;
    $OWNER_PID = $s->{owner} = $$;
    _write_file(state_file(), join '', map { "$_=$s->{$_}\n" } sort keys %$s);
    return stop_servers();
}

END {
    # The starter failed or exited without calling stop_servers.
    local $?;
    stop_servers() if $OWNER_PID && $OWNER_PID == $$;
}

1;
