# The authoritative view of every check (api.md section 9): each
# authoritative server of the zone asked directly, its result and SOA
# serial, the propagation and its sentence -- against real servers of this
# file's own on loopback addresses, all on one port (dns_port('authority'),
# the scaisend_authority virtual host's ScaiSendAuthoritativePort):
#
#   127.0.0.2  knotd "ns1": prop.test as published now (serial 2026120101)
#              and lame.prop.test
#   127.0.0.3  knotd "ns2": a secondary that lags -- prop.test at serial
#              2026113001 with an older DKIM key and no DMARC record, and
#              lame.prop.test only delegated (it answers with a referral)
#   127.0.0.4  bad-dns --mode refused
#   127.0.0.5  bad-dns --mode silent (a timeout)
#   127.0.0.6  nothing listens (connection refused)
#
# The resolver is still the suite's Knot, which serves both zones as they
# are now, with their NS records and the addresses of those names: how the
# module finds the servers. The verdict follows the resolver.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use File::Temp qw(tempdir);
use POSIX qw(_exit WNOHANG);
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token api);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 25;

my $tok = token(sub => 'auth-admin', partner_id => 'p_vauth', tenant_id => 't_vauth',
                role => 'tenant_admin');
my $PORT = dns_port('authority');
my $NEW = 2026120101;
my $OLD = 2026113001;
my $BUDGET = 3.0;          # ScaiSendVerifyBudget 3000 (t/conf/extra.conf.in)
my $TIMEOUT = 1.0;         # ScaiSendDNSTimeout 1000

# --- the domains, and an older key for the lagging secondary ------------------------
my $d = new_domain($tok, 'mail.prop.test');
my $l = new_domain($tok, 'mail.lame.prop.test');
my $o = new_domain($tok, 'auth-old-key.example.org');
ok !grep({ $_->{error} } $d, $l, $o), 'three domains created'
    or diag join "\n", map { $_->{error} // () } $d, $l, $o;
my $old_dkim = rec_value($o, 'dkim');

# --- the authoritative servers -----------------------------------------------------------
my $dir = tempdir('scaisend-auth.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $logs = Apache::Test::vars('t_logs');
my @pids;
END {
    local $?;
    kill TERM => @pids if @pids;
    my $end = time + 5;
    while (@pids && time < $end) {
        @pids = grep { waitpid($_, WNOHANG) == 0 } @pids;
        sleep 0.05 if @pids;
    }
    kill KILL => @pids if @pids;
}

sub txt_rdata {          # zone-file TXT rdata: 255-byte character-strings
    my ($v) = @_;
    my @s;
    push @s, substr($v, 0, 255, '') while length $v;
    return join ' ', map { (my $x = $_) =~ s/(["\\])/\\$1/g; qq("$x") } @s;
}

sub zone_text {
    my ($origin, $serial, @rrs) = @_;
    return join "\n", "\$ORIGIN $origin.", '$TTL 60',
        "\@ SOA ns1.prop.test. hostmaster.prop.test. $serial 3600 600 86400 60", @rrs, '';
}

my @GLUE = ('@ NS ns1.prop.test.', '@ NS ns2.prop.test.', 'ns1 A 127.0.0.2', 'ns2 A 127.0.0.3');
my %zones = (
    ns1 => {
        'prop.test' => zone_text('prop.test', $NEW, @GLUE,
            'scaisend._domainkey.mail TXT ' . txt_rdata(rec_value($d, 'dkim')),
            'mail TXT ' . txt_rdata(rec_value($d, 'spf')),
            # a DMARC record without p= or rua=: another record of that kind
            '_dmarc.mail TXT ' . txt_rdata('v=DMARC1; adkim=s')),
        'lame.prop.test' => zone_text('lame.prop.test', $NEW,
            '@ NS ns1.prop.test.',
            'scaisend._domainkey.mail TXT ' . txt_rdata(rec_value($l, 'dkim')),
            'mail TXT ' . txt_rdata(rec_value($l, 'spf')),
            '_dmarc.mail TXT ' . txt_rdata(rec_value($l, 'dmarc'))),
    },
    ns2 => {
        'prop.test' => zone_text('prop.test', $OLD, @GLUE,
            'scaisend._domainkey.mail TXT ' . txt_rdata($old_dkim),
            'mail TXT ' . txt_rdata(rec_value($d, 'spf')),
            'lame NS ns1.prop.test.'),
    },
);

sub start_knot {
    my ($name, $addr) = @_;
    my $kd = "$dir/$name";
    mkdir $kd;
    mkdir "$kd/db";
    my $zl = '';
    for my $z (sort keys %{ $zones{$name} }) {
        open my $fh, '>', "$kd/$z.zone" or die "$kd/$z.zone: $!";
        print {$fh} $zones{$name}{$z};
        close $fh;
        $zl .= "  - domain: $z\n    file: \"$kd/$z.zone\"\n";
    }
    open my $fh, '>', "$kd/knot.conf" or die $!;
    print {$fh} <<"CONF";
server:
    rundir: "$kd"
    listen: $addr\@$PORT
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$kd/db"
template:
  - id: default
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
$zl
CONF
    close $fh;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$logs/knotd-authority-$name.log";
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec 'knotd', '-c', "$kd/knot.conf"; }
        _exit(127);
    }
    push @pids, $pid;
    for my $z (sort keys %{ $zones{$name} }) {
        my $ok = 0;
        for (1 .. 150) {
            my $r = dns_query(server => $addr, port => $PORT, name => $z, type => 'SOA',
                              timeout => 0.2);
            if ($r->{rcode}) { $ok = 1; last }
            sleep 0.05;
        }
        die "knotd $name on $addr:$PORT does not answer for $z (log: $logs/knotd-authority-$name.log)\n"
            unless $ok;
    }
}

sub start_bad_dns {
    my ($mode, $addr) = @_;
    my $ready = "$dir/bad-dns-$mode.ready";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        { no warnings 'exec';
          exec $^X, "$FindBin::Bin/../dns/bad-dns", '--mode', $mode, '--listen', $addr,
               '--port', $PORT, '--max-seconds', 600, '--ready-file', $ready,
               '--log', "$logs/bad-dns-authority-$mode.log"; }
        _exit(127);
    }
    push @pids, $pid;
    for (1 .. 200) { last if -e $ready; sleep 0.05 }
    die "bad-dns $mode on $addr:$PORT did not start\n" unless -e $ready;
}

my $up = eval {
    start_knot(ns1 => '127.0.0.2');
    start_knot(ns2 => '127.0.0.3');
    start_bad_dns(refused => '127.0.0.4');
    start_bad_dns(silent => '127.0.0.5');
    1;
};
ok $up, "the authoritative servers answer on 127.0.0.2-.5 port $PORT" or diag $@;
my $r2 = dns_query(server => '127.0.0.3', port => $PORT, name => 'scaisend._domainkey.mail.lame.prop.test');
ok !$r2->{timeout} && !$r2->{aa} && $r2->{rcode} eq 'NOERROR' && !@{ $r2->{answers} },
    'ns2 answers lame.prop.test with a referral (NOERROR, AA clear, no answer)';

# --- the suite's Knot: the zones as they are now, with NS and addresses -------------------
knot_update('prop.test', ['set', '@', 'NS', 'ns1.prop.test.', 'ns2.prop.test.'],
            ['set', 'ns1', 'A', '127.0.0.2'], ['set', 'ns2', 'A', '127.0.0.3'],
            ['set', 'ns-refused', 'A', '127.0.0.4'], ['set', 'ns-silent', 'A', '127.0.0.5'],
            ['set', 'ns-closed', 'A', '127.0.0.6']);
knot_update('lame.prop.test', ['set', '@', 'NS', map { "$_.prop.test." }
                               qw(ns1 ns2 ns-refused ns-silent ns-closed)]);
publish_all($d);
publish_all($l);

sub verify_auth {
    my ($dom) = @_;
    Apache::TestRequest::module('scaisend_authority');
    my $t0 = time;
    my $r = verify($tok, $dom);
    my $took = time - $t0;
    Apache::TestRequest::module('default');
    return ($r, $took);
}

# The view of one check, as [name, address, result, serial, reason] rows.
sub rows {
    my ($c) = @_;
    return [ map { [ @$_{qw(name address result serial)}, $_->{reason} // '-' ] }
             @{ ref $c->{nameservers} eq 'ARRAY' ? $c->{nameservers} : [] } ];
}

sub view_is {
    my ($c, $name, %e) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is_deeply { zone => $c->{zone}, rows => rows($c), propagation => $c->{propagation},
                note => $c->{propagation_note} },
              { zone => $e{zone}, rows => $e{rows}, propagation => $e{propagation},
                note => $e{note} }, $name;
}

my $NOTE2 = "serial $NEW vs $OLD";

# --- 1. the secondary lags; the resolver has the new records: verified -------------------
{
    my ($r, $took) = verify_auth($d);
    verify_is($r, 'resolver current: verified (the view does not change the verdict)',
              domain => 'mail.prop.test');
    my $c = obj($r)->{checks} || {};
    view_is($c->{dkim}, 'DKIM: ns1 serves our key, the lagging ns2 an older one',
            zone => 'prop.test', propagation => 'partial',
            note => "published on 1 of 2 nameservers; $NOTE2",
            rows => [ ['ns1.prop.test', '127.0.0.2', 'match', $NEW, '-'],
                      ['ns2.prop.test', '127.0.0.3', 'mismatch', $OLD, 'key_mismatch'] ]);
    view_is($c->{spf}, 'SPF: both serve the record with the include',
            zone => 'prop.test', propagation => 'complete',
            note => "published on 2 of 2 nameservers; $NOTE2",
            rows => [ ['ns1.prop.test', '127.0.0.2', 'match', $NEW, '-'],
                      ['ns2.prop.test', '127.0.0.3', 'match', $OLD, '-'] ]);
    view_is($c->{dmarc}, 'DMARC: ns1 another record (no p=, no rua=), ns2 none',
            zone => 'prop.test', propagation => 'none',
            note => "published on 0 of 2 nameservers; $NOTE2",
            rows => [ ['ns1.prop.test', '127.0.0.2', 'mismatch', $NEW, 'policy_missing'],
                      ['ns2.prop.test', '127.0.0.3', 'missing', $OLD, 'nxdomain'] ]);
    ok $took < $BUDGET, sprintf('answered in %.2f s', $took);
    my $g = obj(get_domain($tok, $d));
    is_deeply [ map { $g->{last_verification}{checks}{$_}{propagation} // '?' } qw(dkim spf dmarc) ],
        [qw(partial complete none)], 'last_verification keeps the view';
}

# --- 2. the resolver still has the old key: the verdict follows it -----------------------
{
    publish($d, dkim => $old_dkim);
    my ($r) = verify_auth($d);
    verify_is($r, 'resolver serves the old key: DKIM fails although ns1 has the new one',
              domain => 'mail.prop.test', dkim => 'fail', errors => ['dkim:key_mismatch']);
    my $c = obj($r)->{checks} || {};
    view_is($c->{dkim}, 'the view still says where the new key is published',
            zone => 'prop.test', propagation => 'partial',
            note => "published on 1 of 2 nameservers; $NOTE2",
            rows => [ ['ns1.prop.test', '127.0.0.2', 'match', $NEW, '-'],
                      ['ns2.prop.test', '127.0.0.3', 'mismatch', $OLD, 'key_mismatch'] ]);
    state_is($tok, $d, 'stored: unverified, the DKIM row failed', verified => 0,
             status => { dkim => 'failed', spf => 'verified', dmarc => 'verified' });
    publish_all($d);
}

# --- 3. a pending key: published nowhere yet -----------------------------------------------
{
    my $rot = api(POST => "domains/$d->{id}/rotate-dkim", token => $tok);
    is $rot->{status}, 200, 'rotate-dkim: a pending key';
    my ($r) = verify_auth($d);
    verify_is($r, 'verified, the pending key not published: a warning',
              domain => 'mail.prop.test', warnings => ['dkim_pending:missing']);
    my $c = obj($r)->{checks} || {};
    my $sel = obj($rot)->{new_selector} // 'scaisend2';
    is $c->{dkim_pending}{host}, "$sel._domainkey.mail.prop.test", 'checks.dkim_pending is there';
    view_is($c->{dkim_pending}, 'the pending key: on neither server',
            zone => 'prop.test', propagation => 'none',
            note => "published on 0 of 2 nameservers; $NOTE2",
            rows => [ ['ns1.prop.test', '127.0.0.2', 'missing', $NEW, 'nxdomain'],
                      ['ns2.prop.test', '127.0.0.3', 'missing', $OLD, 'nxdomain'] ]);
}

# --- 4. a lame server, a refusing one, a silent one, a closed port ---------------------------
{
    my $silent0 = -s "$logs/bad-dns-authority-silent.log" || 0;
    my ($r, $took) = verify_auth($l);
    verify_is($r, 'lame.prop.test: verified (by the resolver)', domain => 'mail.lame.prop.test');
    my $c = obj($r)->{checks} || {};
    my $err = 'no usable answer from ns-closed.prop.test 127.0.0.6 (unreachable (connection refused)), '
            . 'ns-refused.prop.test 127.0.0.4 (refused), ns-silent.prop.test 127.0.0.5 (timeout), '
            . 'ns2.prop.test 127.0.0.3 (referral to lame.prop.test)';
    my @rows = (['ns-closed.prop.test', '127.0.0.6', 'error', undef, 'unreachable (connection refused)'],
                ['ns-refused.prop.test', '127.0.0.4', 'error', undef, 'refused'],
                ['ns-silent.prop.test', '127.0.0.5', 'error', undef, 'timeout'],
                ['ns1.prop.test', '127.0.0.2', 'match', $NEW, '-'],
                ['ns2.prop.test', '127.0.0.3', 'error', undef, 'referral to lame.prop.test']);
    for my $k (qw(dkim spf dmarc)) {
        view_is($c->{$k}, "$k: one server publishes it, four give no usable answer",
                zone => 'lame.prop.test', propagation => 'partial',
                note => "published on 1 of 5 nameservers; serial $NEW; $err", rows => \@rows);
    }
    ok $took >= $TIMEOUT - 0.05 && $took < $TIMEOUT + 1.0,
        sprintf('the silent server costs one query timeout, once for all checks (%.2f s)', $took);
    my $asked = (-s "$logs/bad-dns-authority-silent.log" || 0) > $silent0;
    ok $asked, 'the silent server was really asked';
}

# --- 5. the resolver cannot be asked: no view, and no waiting for one ------------------------
{
    Apache::TestRequest::module('scaisend_silent');
    my $t0 = time;
    my $r = verify($tok, $d);
    my $took = time - $t0;
    Apache::TestRequest::module('default');
    my $c = obj($r)->{checks} || {};
    is_deeply [ map { [ scalar @{ $c->{$_}{nameservers} || [1] }, $c->{$_}{propagation} // '?',
                        $c->{$_}{propagation_note} // '?' ] } qw(dkim spf dmarc) ],
              [ ([0, 'none', 'the authoritative nameservers were not asked: the resolver did not answer']) x 3 ],
              'silent resolver: no nameserver asked, the note says why';
    ok $took < $TIMEOUT + 0.8, sprintf('... and the view adds no wait (%.2f s)', $took);
}

# --- back to the suite's zones ----------------------------------------------------------------
knot_update('prop.test', ['set', '@', 'NS', 'ns.prop.test.']);
knot_update('lame.prop.test', ['set', '@', 'NS', 'ns.lame.prop.test.']);
knot_reset('prop.test', 'lame.prop.test');
ok 1, 'zones reset';
