# POST /api/admin/dkim/sign against hostile messages (api.md section 11):
# 50,000 short header fields are refused quickly (at most 1,000), and the
# server stays healthy; a From: with two mailboxes is invalid_from (it was
# signed for the second one's domain); a NUL byte in the header section is
# invalid_message. The domain is verified, so every refused message would
# otherwise be signed.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::Race qw(crash_lines cap_address_space);
use ScaiSend::Verify qw(publish_all);

plan tests => 12;

my $P    = 'p_hsign';
my $T    = 't_hsign';
my $NAME = 'hostile-sign.example.com';
my $ADM  = token(sub => 'hsign-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $SND  = token(sub => 'hsign-mta', partner_id => $P, tenant_id => undef, role => 'sender');
my $LOG0 = ScaiSend::Test::error_log_offset();

my $c = api(POST => 'domains', token => $ADM, json => { domain => $NAME });
die 'create: ' . describe($c) unless $c->{status} == 201;
publish_all($c->{json});
my $v = api(POST => "domains/$c->{json}{id}/verify", token => $ADM);
die 'verify: ' . describe($v) unless $v->{status} == 200 && $v->{json}{verified};

sub sign {
    my ($msg) = @_;
    my $t0 = time;
    my $r = api(POST => "dkim/sign?tenant_id=$T", token => $SND, body => $msg,
                content_type => 'message/rfc822');
    $r->{elapsed} = time - $t0;
    return $r;
}

sub message {
    my (@headers) = @_;
    return join('', map { "$_\r\n" } @headers) . "\r\nHello.\r\n";
}

my @BASE = ("From: Alice <alice\@$NAME>", 'To: bob@example.net', 'Subject: Re: your order',
            'Date: Tue, 01 Dec 2026 10:00:00 +0000', "Message-ID: <h1\@$NAME>");

my $r = sign(message(@BASE));
status_is $r, 200, 'an ordinary message is signed';

# --- 50,000 header fields (250,000 bytes, under the 256 KiB header limit) --------
# Signed names (Cc), so a signer that builds h= and its input field by
# field would do it 50,000 times.
# A signer that does so quadratically wants gigabytes: the test caps what
# the server's processes may map (present size + 1 GiB), so it fails there.
my $many = message(@BASE, ('Cc:') x 50_000);
diag 'httpd processes capped: ' . cap_address_space(1 << 30);
ok length($many) < 256 * 1024, sprintf('the message: 50,005 fields, %d bytes of header', length $many);
$r = sign($many);
error_is $r, 400, 'too_many_header_fields', '50,000 header fields: 400 too_many_header_fields';
ok $r->{elapsed} < 5, sprintf('answered in %.2f s (bound 5 s)', $r->{elapsed});
$r = sign(message(@BASE));
status_is $r, 200, 'the next message is signed: the server is healthy';

# --- From: and NUL -----------------------------------------------------------------------
$r = sign(message("From: <ceo\@bank.example> <alice\@$NAME>", @BASE[1 .. 4]));
error_is $r, 400, 'invalid_from', 'From: <a@bank.example> <x@tenant>: 400 invalid_from (not signed for the tenant)';
$r = sign(message("From: ceo\@bank.example, alice\@$NAME", @BASE[1 .. 4]));
error_is $r, 400, 'invalid_from', 'From: two addresses with a comma: 400 invalid_from';
$r = sign(message("From: \"Bank <ceo\@bank.example>\" <alice\@$NAME>", @BASE[1 .. 4]));
status_is $r, 200, 'a display name quoting an address is still one mailbox: 200';
$r = sign(message(@BASE[0 .. 1], "Subject: hello\0world", @BASE[3 .. 4]));
error_is $r, 400, 'invalid_message', 'a NUL byte in the Subject: 400 invalid_message';
$r = sign(message("From: Alice <alice\@$NAME>\0", @BASE[1 .. 4]));
error_is $r, 400, 'invalid_message', 'a NUL byte after the From address: 400 invalid_message';

$r = api(GET => 'sender-status?mode=live&tenant_id=' . $T . '&from='
         . '%3Cceo%40bank.example%3E%20%3Calice%40' . $NAME . '%3E', token => $SND);
error_is $r, 400, 'invalid_parameter', 'sender-status with two mailboxes in from=: 400 invalid_parameter',
    field => 'from';

my @crash = crash_lines($LOG0);
ok !@crash, 'no child died (error log)' or diag join "\n", @crash;
