# The DNS test harness itself: knotd (started by t/TEST.PL) serves the zones
# and takes changes through ScaiSend::DNS, counts queries, and the bad-dns
# servers misbehave the way the verification tests rely on.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use IO::Socket::INET ();
use ScaiSend::DNS qw(:all);

plan tests => 35;

my $port = knot_port();
my $prefix = "harness-$$";
sub txt_rrs {        # [[strings of RR 1], [strings of RR 2], ...], sorted
    my ($r) = @_;
    return [ sort { "@$a" cmp "@$b" } map { $_->{strings} } grep { $_->{type} eq 'TXT' }
             @{ $r->{answers} || [] } ];
}

# --- knotd serves every zone ------------------------------------------------
my @bad_zones = grep {
    my $r = dns_query(name => $_, type => 'SOA');
    !($r->{rcode} && $r->{rcode} eq 'NOERROR' && $r->{aa} && @{ $r->{answers} });
} ZONES;
ok t_cmp("@bad_zones", '', 'every zone answers its SOA authoritatively');
ok t_cmp(dns_query(name => 'nothing.not-served.invalid')->{rcode}, 'REFUSED',
         'a zone knotd does not serve: REFUSED');
ok t_cmp(zone_of("scaisend._domainkey.mail.example.com."), 'example.com', 'zone_of');

# --- knot_set / kdig ----------------------------------------------------------
my $name = "$prefix.example.com";
knot_set('example.com', $prefix, 'TXT', 'v=spf1 include:scaisend.scailabs.ai ~all');
my $kdig = `kdig \@127.0.0.1 -p $port +short +time=2 +retry=0 $name TXT 2>&1`;
chomp $kdig;
ok t_cmp($kdig, '"v=spf1 include:scaisend.scailabs.ai ~all"', 'kdig sees the TXT record');
my $r = dns_query(name => $name);
ok t_cmp(txt_rrs($r), [['v=spf1 include:scaisend.scailabs.ai ~all']], 'dns_query sees it too');

knot_set('example.com', $prefix, 'TXT', 'replaced');
ok t_cmp(txt_rrs(dns_query(name => $name)), [['replaced']], 'knot_set replaces the RRset');

knot_add('example.com', "$name.", 'TXT', 'second');
ok t_cmp(txt_rrs(dns_query(name => $name)), [['replaced'], ['second']],
         'knot_add keeps the others (absolute owner)');

# --- split TXT, long strings, bytes -------------------------------------------
my $b64 = 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA' . ('x' x 200);
knot_set('example.com', "s1._domainkey.$prefix", 'TXT',
         ['v=DKIM1; k=rsa; ', "p=$b64"]);
$r = dns_query(name => "s1._domainkey.$name");
ok t_cmp(scalar @{ $r->{answers} }, 1, 'split TXT: one RR');
ok t_cmp(scalar @{ $r->{answers}[0]{strings} }, 2, '... made of two character-strings');
ok t_cmp(join('', @{ $r->{answers}[0]{strings} }), "v=DKIM1; k=rsa; p=$b64",
         '... that concatenate to the value');
$kdig = `kdig \@127.0.0.1 -p $port +short +time=2 +retry=0 s1._domainkey.$name TXT 2>&1`;
ok t_cmp($kdig, qr/^"v=DKIM1; k=rsa; " "p=MIIB/, 'kdig shows two strings');

my $long = 'v=DKIM1; k=rsa; p=' . ('A' x 400);
knot_set('example.com', "s2._domainkey.$prefix", 'TXT', $long);
$r = dns_query(name => "s2._domainkey.$name");
ok t_cmp([map { length } @{ $r->{answers}[0]{strings} }], [255, length($long) - 255],
         'a string over 255 bytes is split into 255-byte character-strings');

my $odd = qq{"v=DKIM1; p=a\\b" \x01\xff;};
knot_set('example.com', "s3.$prefix", 'TXT', $odd);
$r = dns_query(name => "s3.$name");
ok t_cmp($r->{answers}[0]{strings}, [$odd], 'quotes, backslashes and raw bytes round-trip');

knot_set('example.com', "s4.$prefix", 'TXT', '');
ok t_cmp(txt_rrs(dns_query(name => "s4.$name")), [['']], 'an empty TXT string');

knot_set('xn--bcher-kva.example', '_dmarc', 'TXT', 'v=DMARC1; p=none');
ok t_cmp(txt_rrs(dns_query(name => '_dmarc.xn--bcher-kva.example')), [['v=DMARC1; p=none']],
         'IDN zone (A-label)');

# --- CNAME ---------------------------------------------------------------------
knot_set('zone-a.test', "target-$prefix", 'TXT', 'at the target');
knot_cname('example.com', "cn.$prefix", "target-$prefix.zone-a.test.");
$r = dns_query(name => "cn.$name");
ok t_cmp([map { "$_->{type} " . ($_->{target} // '') } @{ $r->{answers} }],
         ["CNAME target-$prefix.zone-a.test."], 'CNAME into another zone (not followed)');
knot_set('example.com', "cn.$prefix", 'TXT', 'no longer a CNAME');
ok t_cmp(txt_rrs(dns_query(name => "cn.$name")), [['no longer a CNAME']],
         'knot_set replaces a CNAME at the owner');

# --- errors abort the transaction ---------------------------------------------
ok !eval { knot_set('example.com', "bad.$prefix", 'MX', 'not an mx'); 1 };
ok t_cmp("$@", qr/transaction aborted/, 'a bad record dies, transaction aborted');
knot_set('example.com', "after.$prefix", 'TXT', 'ok');
ok t_cmp(txt_rrs(dns_query(name => "after.$name")), [['ok']], 'the next change works');

# --- knot_unset ----------------------------------------------------------------
knot_unset('example.com', $prefix, 'TXT');
$r = dns_query(name => $name);
ok t_cmp("$r->{rcode} " . scalar @{ $r->{answers} }, 'NOERROR 0',
         'knot_unset removes the RRset (NODATA: names below it exist)');
knot_unset('example.com', $prefix, 'TXT');
ok 1;      # unsetting what is not there is fine
knot_unset('example.com', "s3.$prefix");
ok t_cmp(dns_query(name => "s3.$name")->{rcode}, 'NXDOMAIN', 'knot_unset of a whole node');

# --- query counting ---------------------------------------------------------------
my ($all0, $txt0) = (knot_query_count(), knot_query_count('TXT'));
dns_query(name => "after.$name") for 1 .. 3;
dns_query(name => $name, type => 'A');
ok t_cmp(knot_query_count('TXT') - $txt0, 3, 'TXT query count grew by 3');
ok t_cmp(knot_query_count() - $all0, 4, 'total query count grew by 4');

# --- misbehaving servers ----------------------------------------------------------
$r = dns_query(name => "after.$name", port => bad_dns_port('servfail'));
ok t_cmp($r->{rcode}, 'SERVFAIL', 'bad-dns servfail: SERVFAIL');
$r = dns_query(name => "after.$name", port => bad_dns_port('refused'));
ok t_cmp($r->{rcode}, 'REFUSED', 'bad-dns refused: REFUSED');
$r = dns_query(name => "after.$name", port => bad_dns_port('truncate'));
ok t_cmp(($r->{tc} // 0) . ' ' . scalar(@{ $r->{answers} || [] }), '1 0',
         'bad-dns truncate: TC=1, no answers');
ok !IO::Socket::INET->new(Proto => 'tcp', PeerAddr => '127.0.0.1',
                          PeerPort => bad_dns_port('truncate'), Timeout => 1);
my $silent0 = bad_dns_query_count('silent', 'TXT');
$r = dns_query(name => "after.$name", port => bad_dns_port('silent'), timeout => 1);
ok t_cmp($r->{timeout} && $r->{elapsed} >= 0.99 ? 1 : 0, 1, 'bad-dns silent: no answer within 1 s');
ok t_cmp(bad_dns_query_count('silent', 'TXT') - $silent0, 1, '... but it counted the query');

$r = dns_query(name => "after.$name", port => bad_dns_port('delay'));
ok t_cmp(txt_rrs($r), [['ok']], 'bad-dns delay: the upstream answer');
ok t_cmp($r->{elapsed} >= 0.1 && $r->{elapsed} < 1 ? 1 : 0, 1,
         sprintf('... after >= 100 ms (%.0f ms)', $r->{elapsed} * 1000));
$r = dns_query(name => "after.$name", port => bad_dns_port('delay'), tcp => 1);
ok t_cmp([txt_rrs($r), $r->{elapsed} >= 0.1 ? 1 : 0], [[['ok']], 1],
         sprintf('... over TCP too (%.0f ms)', ($r->{elapsed} // 0) * 1000));

# Leave the zones as they were.
knot_reset('example.com', 'zone-a.test', 'xn--bcher-kva.example');
ok t_cmp([knot_read('example.com', "after.$prefix")], [], 'knot_reset');
