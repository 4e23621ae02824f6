# Request bodies over a limit (api.md section 11): a 1 MB JSON body against
# the 64 KiB ScaiSendMaxBodySize is 413 payload_too_large at once, with
# Content-Length and chunked; a body that httpd's own LimitRequestBody cuts
# (a node with LimitRequestBody 2048) is 413 JSON too -- not 400 -- for JSON
# bodies and for messages to sign, with Content-Length and chunked. The
# server answers the next request and no child dies.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use JSON::PP ();
use Time::HiRes qw(time);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::PG qw(start_node stop_node node_api);
use ScaiSend::Race qw(raw_request crash_lines);

plan tests => 16;

my $P   = 'p_bodylim';
my $T   = 't_bodylim';
my $ADM = token(sub => 'bodylim-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $SND = token(sub => 'bodylim-mta', partner_id => $P, tenant_id => undef, role => 'sender');
my $LIMIT = 2048;
my $LOG0 = ScaiSend::Test::error_log_offset();

# A JSON object of about $n bytes (valid, so only its size is wrong).
sub json_of {
    my ($n) = @_;
    my $head = '{"domain":"big.bodylim.example","dmarc_rua_email":"';
    return $head . ('a' x ($n - length($head) - 2)) . '"}';
}

sub post {
    my ($base, $path, $body, %o) = @_;
    return raw_request(method => 'POST', url => "$base/api/admin/$path", token => $o{token} // $ADM,
                       body => $body, content_type => $o{content_type} // 'application/json',
                       chunked => $o{chunked}, chunk => $o{chunk});
}

(my $BASE = Apache::TestRequest::resolve_url('/')) =~ s{/$}{};

# --- ScaiSendMaxBodySize: 1 MB against 64 KiB ----------------------------------------
for my $chunked (0, 1) {
    my $how = $chunked ? 'chunked' : 'with Content-Length';
    my $r = post($BASE, 'domains', json_of(1024 * 1024), chunked => $chunked, chunk => 16384);
    error_is $r, 413, 'payload_too_large', "1 MB JSON body $how: 413 payload_too_large";
    ok $r->{total} < 5, sprintf("  answered in %.2f s (bound 5 s)", $r->{total});
}
my $r = api(GET => 'domains', token => $ADM);
status_is $r, 200, 'the next request works';

# --- httpd's LimitRequestBody cuts the body --------------------------------------------------
my $node = eval { start_node('bodylimit', append => "LimitRequestBody $LIMIT") };
ok $node, "a node with LimitRequestBody $LIMIT" or diag $@;
END { local $?; stop_node($node) if $node; }

SKIP: {
    skip 'no node', 9 unless $node;
    my $base = $node->{base};
    for my $chunked (0, 1) {
        my $how = $chunked ? 'chunked' : 'with Content-Length';
        my $r = post($base, 'domains', json_of(4000), chunked => $chunked, chunk => 1000);
        error_is $r, 413, 'payload_too_large', "a 4,000-byte JSON body $how over LimitRequestBody: 413 JSON";
        ok $r->{total} < 5, sprintf("  answered in %.2f s", $r->{total});
    }
    my $msg = join("\r\n", 'From: a@bodylim.example', 'To: b@example.net', 'Subject: big', '', ('x' x 70) x 60, '');
    for my $chunked (0, 1) {
        my $how = $chunked ? 'chunked' : 'with Content-Length';
        my $r = post($base, "dkim/sign?tenant_id=$T", $msg, token => $SND, content_type => 'message/rfc822',
                     chunked => $chunked, chunk => 1000);
        error_is $r, 413, 'payload_too_large', sprintf('a %d-byte message to sign %s over LimitRequestBody: 413 JSON',
                                                       length $msg, $how);
    }
    # under the limit: a create goes through
    my $small = raw_request(method => 'POST', url => "$base/api/admin/domains", token => $ADM,
                            body => '{"domain":"small.bodylim.example"}', chunked => 1);
    status_is $small, 201, 'a small chunked JSON body on that node: 201';
    status_is node_api($node, GET => 'domains', token => $ADM), 200, 'the node answers the next request';
    my @crash = crash_lines(0, $node->{error_log});
    ok !@crash, "no child of the node died" or diag join "\n", @crash;
}

my @crash = crash_lines($LOG0);
ok !@crash, 'no child died (error log)' or diag join "\n", @crash;
