# Verification against records a hostile zone owner publishes (api.md
# section 11), served by the suite's Knot:
#  - an SPF record of 64,000 bytes made of "a" terms (one TXT RR of 251
#    strings: too large for UDP, the module retries over TCP): the verify
#    answers within its budget, SPF fails with a clear code, and what is
#    stored and listed stays within 64 KiB;
#  - a DMARC record with 2,000 rua=mailto: destinations on another domain:
#    at most 2 authorisation lookups (counted by name at a forwarding
#    nameserver in front of Knot), one rua_not_checked warning for the rest.
# After each: the next request works and no child died.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use Time::HiRes qw(time);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::PG qw(start_node stop_node node_api free_port);
use ScaiSend::Race qw(crash_lines cap_address_space);
use ScaiSend::Verify qw(:all);

plan tests => 18;

my $P   = 'p_hverify';
my $T   = 't_hverify';
my $ADM = token(sub => 'hverify-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $BUDGET = 3.0;           # ScaiSendVerifyBudget 3000 (t/conf/extra.conf.in)
my $MAX_ANSWER = 64 * 1024;
my $LOG0 = ScaiSend::Test::error_log_offset();
my $JSON = JSON::PP->new->utf8->canonical;

# A check that builds its texts quadratically wants gigabytes for these
# records: the server's processes may map their present size + 1 GiB, so
# such a request fails in its child, not on the machine.
diag 'httpd processes capped: ' . cap_address_space(1 << 30);

# --- SPF: 64,000 bytes of "a" terms ----------------------------------------------------
{
    my $d = new_domain($ADM, 'hv-spf.example.net');
    my $spf = 'v=spf1' . (' a' x 31_993) . ' mx ~all';
    is length($spf), 64_000, 'the SPF record is 64,000 bytes (31,993 "a" terms)';
    publish_all($d, spf => $spf);
    my $t0 = time;
    my $r = verify($ADM, $d);
    my $took = time - $t0;
    ok $took < $BUDGET + 2, sprintf('verify answered in %.2f s (budget %.0f s + 2)', $took, $BUDGET);
    verify_is($r, 'SPF fails as malformed; DKIM and DMARC pass', domain => 'hv-spf.example.net',
              verified => 0, spf => 'fail', errors => ['spf:malformed']);
    my $j = obj($r);
    my ($e) = @{ ref $j->{errors} eq 'ARRAY' ? $j->{errors} : [] };
    like $e->{message} // '', qr/64000 bytes long; at most 4096/, 'the message says the record is too long';
    ok length($r->{body}) <= $MAX_ANSWER, sprintf('the answer is %d bytes (at most 64 KiB)', length $r->{body})
        or diag join "\n", map { my $f = $_; "finding $f->{check}:$f->{code}: "
            . join ', ', map { "$_ " . length($f->{$_} // '') . ' bytes' } grep { !ref $f->{$_} } sort keys %$f }
            @{ $j->{errors} || [] }, @{ $j->{warnings} || [] };
    my $g = get_domain($ADM, $d);
    my $lv = obj($g)->{last_verification};
    my $stored = ref $lv ? $JSON->encode($lv) : '';
    ok ref $lv eq 'HASH' && length($stored) <= $MAX_ANSWER,
        sprintf('last_verification stored, %d bytes (at most 64 KiB)', length $stored);
    my $l = api(GET => 'domains?q=hv-spf.example.net', token => $ADM);
    ok $l->{status} == 200 && @{ ids_of($l) } == 1 && length($l->{body}) <= $MAX_ANSWER + 8192,
        sprintf('the list page with it: %d bytes (within 64 KiB + 8 KiB)', length $l->{body});
    status_is api(GET => "domains/$d->{id}/dns-records", token => $ADM), 200, 'the next request works';
}

# --- DMARC: 2,000 rua destinations -----------------------------------------------------------
# A node whose verification asks the forwarding nameserver in front of Knot
# (t/dns/bad-dns --mode delay: 100 ms, then Knot's answer), which logs every
# query it gets.
my $port = free_port(8700 + int rand 100);
my $delay = dns_port('delay');
my $node = eval {
    start_node('hvdelay', port => $port,
               append => "<VirtualHost 127.0.0.1:$port>\n    ScaiSendResolver 127.0.0.1:$delay\n</VirtualHost>");
};
ok $node, 'a node verifying through the logging forwarder' or diag $@;
END { local $?; stop_node($node) if $node; }

SKIP: {
    skip 'no node', 8 unless $node;
    my $name = 'hv-dmarc.example.net';
    my $d = new_domain($ADM, $name);
    my @rua = map { "mailto:r\@a$_.zone-b.test" } 1 .. 2000;
    my $dmarc = 'v=DMARC1; p=none; rua=' . join(',', @rua);
    ok length($dmarc) > 50_000, sprintf('the DMARC record: %d bytes, 2,000 rua destinations', length $dmarc);
    publish_all($d, dmarc => $dmarc);
    # the first two destinations authorise the reports
    knot_update('zone-b.test', map { ['set', "$name._report._dmarc.a$_.zone-b.test.", 'TXT', 'v=DMARC1'] } 1, 2);
    my $log = Apache::Test::vars('t_logs') . '/bad-dns-delay.log';
    my $off = -s $log || 0;
    my $t0 = time;
    my $r = node_api($node, POST => "domains/$d->{id}/verify", token => $ADM);
    my $took = time - $t0;
    my @asked;
    if (open my $fh, '<', $log) {
        seek $fh, $off, 0;
        while (<$fh>) {
            my @f = split ' ';
            push @asked, lc($f[3] =~ s/\.\z//r) if @f == 5 && $f[3] =~ /\._report\._dmarc\./i;
        }
    }
    my %names = map { $_ => 1 } @asked;
    is_deeply [ sort keys %names ], [ map { "$name._report._dmarc.a$_.zone-b.test" } 1, 2 ],
        'authorisation lookups: the first two destinations only' or diag scalar(@asked) . ' queries';
    ok @asked <= 4, sprintf('%d authorisation queries in all (2 lookups, a retry each at most)', scalar @asked);
    ok $took < $BUDGET + 2, sprintf('verify answered in %.2f s', $took);
    verify_is($r, 'verified, with one rua_not_checked warning', domain => $name,
              warnings => ['dmarc:rua_not_checked']);
    my ($w) = @{ obj($r)->{warnings} || [] };
    like $w->{message} // '', qr/2000 report addresses; the first 2 were checked and the other 1998 were not/,
        'the warning counts them';
    ok length($r->{body}) <= 8192, sprintf('the answer is %d bytes', length $r->{body});
    status_is node_api($node, GET => "domains/$d->{id}", token => $ADM), 200, 'the next request works';
}

my @crash = crash_lines($LOG0);
push @crash, crash_lines(0, $node->{error_log}, 0) if $node;
ok !@crash, 'no child died (error logs)' or diag join "\n", @crash;
