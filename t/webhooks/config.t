# The webhook directives as "httpd -t" (what apachectl -t runs) reads them
# on the test server's configuration: ScaiSendWebhookURL (an absolute http
# or https URL), ScaiSendWebhookSecretFile (whsec_ + base64 of 24 to 64
# bytes, readable by owner and group only; required with a URL) and
# ScaiSendWebhookTimeout.  Every refusal says why, and none quotes the
# secret.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use ScaiSend::PG qw(config_check);
use ScaiSend::Receiver qw(write_secret);

my $dir = Apache::Test::vars('t_logs') . "/webhook-config-$$";
make_path($dir);
my $ok = write_secret("$dir/ok.secret");
my $ok600 = write_secret("$dir/ok600.secret");
chmod 0600, $ok600;
my $big = write_secret("$dir/big.secret", "\x5a" x 64);
my $world = write_secret("$dir/world.secret");
chmod 0644, $world;
my $short = write_secret("$dir/short.secret", "\x01" x 16);
sub put { my ($f, $t) = @_; open my $fh, '>', $f or die "$f: $!"; print {$fh} $t; close $fh; chmod 0640, $f; $f }
my $bare = put("$dir/bare.secret", "TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c=\n");
my $junk = put("$dir/junk.secret", "whsec_sekrit-value-not-base64!\n");
my $empty = put("$dir/empty.secret", '');

my $URL = 'https://hooks.example.net/scaisend?source=test';
my @accept = (
    ['a URL and a secret (0640)', { ScaiSendWebhookURL => $URL, ScaiSendWebhookSecretFile => $ok }],
    ['a secret of mode 0600', { ScaiSendWebhookURL => $URL, ScaiSendWebhookSecretFile => $ok600 }],
    ['a 64-byte secret', { ScaiSendWebhookURL => $URL, ScaiSendWebhookSecretFile => $big }],
    ['http on loopback with a port', { ScaiSendWebhookURL => 'http://127.0.0.1:9560/h',
                                       ScaiSendWebhookSecretFile => $ok }],
    ['an IPv6 literal', { ScaiSendWebhookURL => 'http://[::1]:9560/h', ScaiSendWebhookSecretFile => $ok }],
    ['the scheme in capitals', { ScaiSendWebhookURL => 'HTTPS://Hooks.Example.NET/x',
                                 ScaiSendWebhookSecretFile => $ok }],
    ['a secret without a URL', { ScaiSendWebhookSecretFile => $ok }],
    ['ScaiSendWebhookTimeout 1', { ScaiSendWebhookTimeout => 1 }],
    ['ScaiSendWebhookTimeout 120', { ScaiSendWebhookTimeout => 120 }],
);
my @refuse = (
    ['a URL without a secret', { ScaiSendWebhookURL => $URL },
     qr/SSD0002: ScaiSendWebhookSecretFile is required when ScaiSendWebhookURL is set/],
    ['ftp', { ScaiSendWebhookURL => 'ftp://hooks.example.net/x' },
     qr/ScaiSendWebhookURL: 'ftp:\/\/hooks\.example\.net\/x' is not an http:\/\/ or https:\/\/ URL/],
    ['a relative URL', { ScaiSendWebhookURL => '/hooks' }, qr/'\/hooks' is not an http:\/\/ or https:\/\/ URL/],
    ['no host', { ScaiSendWebhookURL => 'https:///hooks' }, qr/'https:\/\/\/hooks' names no host/],
    ['credentials', { ScaiSendWebhookURL => 'https://u:p@hooks.example.net/' }, qr/carries credentials/],
    ['a fragment', { ScaiSendWebhookURL => 'https://hooks.example.net/#x' }, qr/has a fragment/],
    ['port 0', { ScaiSendWebhookURL => 'http://hooks.example.net:0/' }, qr/has an invalid port/],
    ['a space', { ScaiSendWebhookURL => '"https://hooks.example.net/a b"' }, qr/is not a URL/],
    ['a missing secret file', { ScaiSendWebhookURL => $URL, ScaiSendWebhookSecretFile => "$dir/none" },
     qr/ScaiSendWebhookSecretFile: cannot open webhook secret file \Q$dir\E\/none/],
    ['a secret open to others', { ScaiSendWebhookURL => $URL, ScaiSendWebhookSecretFile => $world },
     qr/webhook secret file \Q$world\E is open to others \(mode 0644\): make it readable by its owner and group only/],
    ['a folder', { ScaiSendWebhookSecretFile => $dir }, qr/is not a regular file/],
    ['bare base64', { ScaiSendWebhookSecretFile => $bare }, qr/\Q$bare\E does not start with whsec_/],
    ['not base64', { ScaiSendWebhookSecretFile => $junk }, qr/is not whsec_ followed by base64 of 24 to 64 bytes/],
    ['16 bytes', { ScaiSendWebhookSecretFile => $short },
     qr/holds a key of 16 bytes: the scheme wants 24 to 64 random bytes/],
    ['an empty file', { ScaiSendWebhookSecretFile => $empty }, qr/does not start with whsec_/],
    ['ScaiSendWebhookTimeout 0', { ScaiSendWebhookTimeout => 0 },
     qr/ScaiSendWebhookTimeout must be a number from 1 to 120/],
    ['ScaiSendWebhookTimeout 121', { ScaiSendWebhookTimeout => 121 }, qr/must be a number from 1 to 120/],
    ['ScaiSendWebhookTimeout 10s', { ScaiSendWebhookTimeout => '10s' }, qr/must be a number from 1 to 120/],
);

plan tests => @accept + 3 * @refuse + 1;

for my $c (@accept) {
    my ($name, $set) = @$c;
    my ($rc, $out) = config_check(set => $set);
    is $rc, 0, "accepted: $name" or diag $out;
}
for my $c (@refuse) {
    my ($name, $set, $msg) = @$c;
    my ($rc, $out) = config_check(set => $set);
    isnt $rc, 0, "refused: $name";
    like $out, $msg, '... saying why' or diag $out;
    unlike $out, qr/sekrit|TWZLUTly/, '... without quoting the secret';
}

# a virtual host that posts webhooks inherits the main server's secret
my ($rc, $out) = config_check(set => { ScaiSendWebhookSecretFile => $ok }, append => join "\n",
    'Listen 127.0.0.1:' . (9560 + 150), '<VirtualHost 127.0.0.1:' . (9560 + 150) . '>',
    "    ScaiSendWebhookURL $URL", '</VirtualHost>');
is $rc, 0, "a virtual host's URL with the main server's secret" or diag $out;
