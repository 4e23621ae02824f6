# Configuration that says what it means, tried through the real setters:
# "httpd -t" (what apachectl -t runs) on the test server's configuration
# with one directive changed, and, where the value shows only in use, a
# node of the server serving with it.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(config_check start_node stop_node node_api);

my @accept = (
    [ScaiSendResolver => '::1', 'nameservers ::1 port 53'],
    [ScaiSendResolver => '2001:db8::53', 'nameservers 2001:db8::53 port 53'],
    [ScaiSendResolver => '[::1]:5353', 'nameservers ::1 port 5353'],
    [ScaiSendResolver => '[2001:db8::53]', 'nameservers 2001:db8::53 port 53'],
    [ScaiSendResolver => '192.0.2.53:5353', 'nameservers 192.0.2.53 port 5353'],
    [ScaiSendResolver => '127.0.0.1 [::1]:53', 'nameservers 127.0.0.1 port 53, ::1 port 53'],
    [ScaiSendSPFInclude => '_spf.example.net', 'SPF include _spf.example.net; reserved example.net'],
    [ScaiSendSPFInclude => 'SPF.Mail.Example.co.uk.', 'SPF include spf.mail.example.co.uk; reserved example.co.uk'],
    [ScaiSendDKIMKeyBits => '3072', 'DKIM keys of 3072 bits'],
);
my @refuse = (
    [ScaiSendResolver => 'localhost', qr/ScaiSendResolver: 'localhost' is not an IP address/],
    [ScaiSendResolver => '192.0.2.53:99999', qr/ScaiSendResolver: '192\.0\.2\.53:99999' is not/],
    [ScaiSendResolver => '192.0.2.53:', qr/ScaiSendResolver: '192\.0\.2\.53:' is not/],
    [ScaiSendResolver => '[::1]:', qr/ScaiSendResolver: '\[::1\]:' is not/],
    [ScaiSendResolver => '[192.0.2.53]:53', qr/is not an IP address/],
    [ScaiSendResolver => '::1:53:x', qr/is not an IP address/],
    [ScaiSendSPFInclude => 'bad..example.net', qr/ScaiSendSPFInclude: bad\.\.example\.net: a host name has labels/],
    [ScaiSendSPFInclude => 'localhost', qr/at least two labels/],
    [ScaiSendDKIMKeyBits => '2048abc', qr/ScaiSendDKIMKeyBits must be 2048, 3072 or 4096.*not 2048abc/],
    [ScaiSendDKIMKeyBits => '+2048', qr/not \+2048/],
    [ScaiSendDKIMKeyBits => '1024', qr/not 1024/],
    [ScaiSendMaxBodySize => '64k', qr/ScaiSendMaxBodySize must be a number from 1024/],
    [ScaiSendMaxBodySize => ' 2048', qr/ScaiSendMaxBodySize must be a number/],
    [ScaiSendZoneTTL => '300s', qr/ScaiSendZoneTTL must be a number from 60 to 604800/],
    [ScaiSendVerifyInterval => '-1', qr/ScaiSendVerifyInterval must be a number/],
    [ScaiSendDNSTimeout => '99999999999999999999', qr/ScaiSendDNSTimeout must be a number/],
    [ScaiSendDKIMAlgorithms => 'ed25519-sha256', qr/ScaiSendDKIMAlgorithms must include rsa-sha256/],
    [ScaiSendDKIMAlgorithms => 'rsa-sha1', qr/ScaiSendDKIMAlgorithms: 'rsa-sha1' is not rsa-sha256 or ed25519-sha256/],
    [ScaiSendSignHeaders => 'subject', qr/ScaiSendSignHeaders must include from/],
    [ScaiSendSignHeaders => 'x:y', qr/ScaiSendSignHeaders: 'x:y' is not a header field name/],
    [ScaiSendSignatureTTL => '30s', qr/ScaiSendSignatureTTL takes a duration .* from 60 s to 366 days, not '30s'/],
);
plan tests => 2 * @accept + 2 * @refuse + 6 + 5;

for my $c (@accept) {
    my ($dir, $value, $shown) = @$c;
    my ($rc, $out) = config_check(set => { $dir => $value, LogLevel => 'scaisend_domains:debug' });
    is $rc, 0, "$dir $value: accepted" or diag $out;
    like $out, qr/SSD0004: settings of [^:]*:\d+: .*\Q$shown\E/, "... read as: $shown"
        or diag $out;
}
for my $c (@refuse) {
    my ($dir, $value, $msg) = @$c;
    my ($rc, $out) = config_check(set => { $dir => "\"$value\"" });
    isnt $rc, 0, "$dir '$value': refused";
    like $out, $msg, '... saying why' or diag $out;
}

# the signing directives take several words
{
    my ($rc, $out) = config_check(set => { ScaiSendSignHeaders => 'from subject From' });
    isnt $rc, 0, 'ScaiSendSignHeaders naming from twice (any case): refused';
    like $out, qr/ScaiSendSignHeaders: from is listed twice/, '... saying why' or diag $out;
    ($rc, $out) = config_check(set => { ScaiSendDKIMAlgorithms => 'rsa-sha256 ed25519-sha256',
                                        ScaiSendSignHeaders => 'From To Subject Date',
                                        ScaiSendSignatureTTL => '7d' });
    is $rc, 0, 'ScaiSendDKIMAlgorithms rsa-sha256 ed25519-sha256, a header list and a TTL: accepted'
        or diag $out;
}

# ScaiSendDKIMAlgorithms is what a domain created without dkim_algorithms gets
{
    my $n = start_node('algorithms', set => { ScaiSendDKIMAlgorithms => 'rsa-sha256 ed25519-sha256' });
    my $A = token(sub => 'cfg-alg', partner_id => 'p_cfg', tenant_id => 't_cfg', role => 'tenant_admin');
    my $r = node_api($n, POST => 'domains', token => $A, json => { domain => 'alg.example.org' });
    is_deeply $r->{json}{dkim_algorithms}, ['rsa-sha256', 'ed25519-sha256'],
        'ScaiSendDKIMAlgorithms with both: a new domain has both' or diag "$r->{status} $r->{body}";
    is_deeply [ sort map { "$_->{selector} $_->{algorithm}" } grep { $_->{purpose} eq 'dkim' }
                @{ $r->{json}{dns_records} || [] } ],
        ['scaisend rsa-sha256', 'scaisend-ed25519 ed25519-sha256'], '... and both keys';
    stop_node($n);
}

# reserved names are compared as tenants' names are stored
my $node = start_node('reserved', set => {
    ScaiSendSPFInclude => 'spf.mail.example.co.uk',
    ScaiSendReservedDomain => 'Example.NET. bücher.example' });
my $A = token(sub => 'cfg-a', partner_id => 'p_cfg', tenant_id => 't_cfg', role => 'tenant_admin');
for my $name (qw(mail.example.net mail.xn--bcher-kva.example)) {
    my $r = node_api($node, POST => 'domains', token => $A, json => { domain => $name });
    ok $r->{status} == 400 && ($r->{json}{error}{code} // '') eq 'invalid_domain',
        "$name is reserved by ScaiSendReservedDomain (normalised)"
        or diag "$r->{status} $r->{body}";
}
my $r = node_api($node, POST => 'domains', token => $A, json => { domain => 'mail.example.org' });
is $r->{status}, 201, 'another name is not';
stop_node($node);
$node = start_node('reserved-default', set => { ScaiSendSPFInclude => 'spf.mail.example.co.uk' });
$r = node_api($node, POST => 'domains', token => $A, json => { domain => 'shop.example.co.uk' });
ok $r->{status} == 400 && ($r->{json}{error}{code} // '') eq 'invalid_domain',
    'without ScaiSendReservedDomain the registrable domain of the include is reserved'
    or diag "$r->{status} $r->{body}";
$r = node_api($node, POST => 'domains', token => $A, json => { domain => 'shop.example2.co.uk' });
is $r->{status}, 201, '... and only it';
ok 1, 'done';
stop_node($node);
