# POST /api/admin/dkim/sign: signatures checked by an independent verifier
# (dkimpy, t/sign/dkimverify.py, reading the key over DNS from the suite's
# Knot server); signing across a rotation; malformed messages; limits;
# content type; roles; the send decision (409 send_not_allowed).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use File::Temp ();
use HTTP::Request ();
use JSON::PP ();
use LWP::UserAgent ();
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);

my $PY = '/usr/bin/python3';
my $VERIFIER = "$FindBin::Bin/dkimverify.py";
if (system($PY, '-c', 'import dkim, dns.message, dns.query') != 0) {
    plan skip_all => 'python3-dkim and python3-dnspython are not installed (build/packages.txt)';
}

plan tests => 80;

my $P    = 'p_sgn';
my $T    = 't_sgn';
my $ZONE = 'example.com';
my $NAME = 'sg01.example.com';
my $ADM  = token(sub => 'sgn-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $OP   = token(sub => 'sgn-op', partner_id => $P, tenant_id => undef, role => 'partner_operator');
my $SND  = token(sub => 'sgn-mta', partner_id => $P, tenant_id => undef, role => 'sender');
my $SIGN = "dkim/sign?tenant_id=$T";

sub publish {
    my (@recs) = @_;
    knot_update($ZONE, map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @recs);
}

sub make_domain {
    my ($name, %o) = @_;
    my $r = api(POST => 'domains', token => $ADM, json => { domain => $name });
    die "create $name: " . describe($r) unless $r->{status} == 201;
    my $id = $r->{json}{id};
    if ($o{verify}) {
        publish(@{ $r->{json}{dns_records} });
        my $v = api(POST => "domains/$id/verify", token => $ADM);
        die "verify $name: " . describe($v) unless $v->{status} == 200 && $v->{json}{verified};
    }
    if ($o{inactive}) {
        my $p = api(PATCH => "domains/$id", token => $ADM, json => { is_active => JSON::PP::false() });
        die "deactivate $name: " . describe($p) unless $p->{status} == 200;
    }
    return $id;
}

sub sign {
    my ($msg, %o) = @_;
    return api(POST => $o{path} // $SIGN, token => (exists $o{token} ? $o{token} : $SND), body => $msg,
               content_type => $o{content_type} // 'message/rfc822');
}

# dkimpy on (signature header . CRLF . message): (exit status, its line)
sub dkimpy {
    my ($signed) = @_;
    my $tmp = File::Temp->new(SUFFIX => '.eml');
    binmode $tmp;
    print {$tmp} $signed;
    close $tmp;
    my $out = `'$PY' '$VERIFIER' --port @{[knot_port()]} --file '$tmp' 2>&1`;
    my $rc = $? >> 8;
    chomp $out;
    return ($rc, $out);
}

sub verifies {
    my ($sig, $msg, $name) = @_;
    my ($rc, $out) = dkimpy("$sig\r\n$msg");
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok $rc == 0 && $out eq 'pass', $name or diag "dkimpy: rc $rc, $out";
}
sub fails_to_verify {
    my ($sig, $msg, $name) = @_;
    my ($rc, $out) = dkimpy("$sig\r\n$msg");
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok $rc == 1 && $out =~ /^fail/, $name or diag "dkimpy: rc $rc, $out";
}

# A ~10 KB message, CRLF line ends, with what relaxed canonicalisation has
# to get right: folded and padded headers, mixed-case names, repeated
# fields, trailing white space, runs of spaces and tabs, empty lines at the
# end of the body.
sub message {
    my (%o) = @_;
    my $from = $o{from} // "alice\@$NAME";
    my @h = (
        "From:   Alice Example  <$from>",
        "To:\tbob\@example.net",
        "Cc: carol\@example.net",
        "cc:   dave\@example.net ",
        "SUBJECT: Quarterly report,\r\n\tfolded   over\r\n  two lines",
        "Date: Fri, 27 Nov 2026 10:00:00 +0000",
        "Message-ID: <" . ($o{id} // 'm1') . "\@$NAME>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "X-Unsigned: not in h=",
    );
    my @b;
    for my $i (1 .. 150) {
        push @b, sprintf("Line %03d of the report:  some\ttext with  spaces  and a tab\t ", $i);
        push @b, '' if $i % 25 == 0;
        push @b, "   \t" if $i % 40 == 0;
    }
    push @b, '', '', '';
    my $msg = join("\r\n", @h) . "\r\n\r\n" . join("\r\n", @b) . "\r\n";
    return $msg;
}

my $id = make_domain($NAME, verify => 1);

# ---------------------------------------------------------------------------
# sign and verify with dkimpy
my $msg = message();
ok length($msg) > 9000 && length($msg) < 12000, 'the message is about 10 KB (' . length($msg) . ' bytes)';
my $r = sign($msg);
status_is $r, 200, 'sign a verified domain\'s message (role sender): 200';
my $sig1 = $r->{json}{dkim_signature} // '';
like $sig1, qr/\ADKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=\Q$NAME\E; s=scaisend; t=\d+; h=[a-z:-]+; bh=[A-Za-z0-9+\/]{43}=; b=[A-Za-z0-9+\/]+=*\z/,
    'the DKIM-Signature header: v, a, c, d, s=scaisend, t, h, bh, b';
my ($h) = $sig1 =~ /; h=([^;]+);/;
$h //= '';
is $h, 'from:from:to:to:cc:cc:subject:subject:date:date:message-id:mime-version:content-type',
    'h= lists the present headers once per occurrence, from, to, subject and date once more';
unlike $h, qr/x-unsigned/, 'h= leaves out other headers';
my ($t) = $sig1 =~ /; t=(\d+);/;
ok $t && abs($t - time) < 60, 't= is now';
is $r->{json}{d}, $NAME, 'd in the answer';
is $r->{json}{selector}, 'scaisend', 'selector in the answer';
is_deeply [private_material($r->{body})], [], 'no private material in the answer';
verifies($sig1, $msg, 'dkimpy verifies the message with the signature prepended');

# the verifier is not a rubber stamp
(my $tampered = $msg) =~ s/Line 077/Line 078/;
fails_to_verify($sig1, $tampered, 'dkimpy rejects a changed body');
(my $tampered_h = $msg) =~ s/Quarterly report/Annual report/;
fails_to_verify($sig1, $tampered_h, 'dkimpy rejects a changed Subject');
fails_to_verify($sig1, "From: mallory\@evil.example\r\n$msg", 'dkimpy rejects an added From (from listed twice)');

# relaxed canonicalisation: white space changes inside lines do not matter
(my $respaced = $msg) =~ s/some\ttext with  spaces/some text   with \t spaces/g;
verifies($sig1, $respaced, 'relaxed/relaxed: changed white space runs still verify');

# another message, different content, still verifies; an empty body too
my $msg2 = message(id => 'm2') . "one more line\r\n";
$r = sign($msg2);
status_is $r, 200, 'sign a second message';
verifies($r->{json}{dkim_signature} // '', $msg2, 'dkimpy verifies the second message');
my $short = "From: alice\@$NAME\r\nSubject: empty body\r\n\r\n";
$r = sign($short);
status_is $r, 200, 'sign a message with an empty body';
verifies($r->{json}{dkim_signature} // '', $short, 'dkimpy verifies the empty-body message');
my $nobody = "From: alice\@$NAME\r\nSubject: no blank line\r\n";
$r = sign($nobody);
status_is $r, 200, 'sign a header-only message (no blank line)';
verifies($r->{json}{dkim_signature} // '', $nobody, 'dkimpy verifies the header-only message');
my $nocrlf = "From: alice\@$NAME\r\nSubject: last line\r\n\r\nno CRLF at the end";
$r = sign($nocrlf);
status_is $r, 200, 'sign a message whose last line has no CRLF';
verifies($r->{json}{dkim_signature} // '', $nocrlf, 'dkimpy verifies it');
my $withlu = "From: Alice <alice\@$NAME>\r\nTo: bob\@example.net\r\nList-Unsubscribe: <mailto:u\@$NAME>\r\n"
           . "Reply-To: r\@$NAME\r\nSubject: x\r\n\r\nbody\r\n";
$r = sign($withlu);
like $r->{json}{dkim_signature} // '', qr/; h=from:from:to:to:subject:subject:date:reply-to:list-unsubscribe;/,
    'h= includes reply-to and list-unsubscribe, and an absent Date once (none may be added)';
verifies($r->{json}{dkim_signature} // '', $withlu, 'dkimpy verifies it');

# ---------------------------------------------------------------------------
# rotation: new signatures on scaisend2, old ones still verify while the old
# record is published, and fail once it is removed
$r = api(POST => "domains/$id/rotate-dkim", token => $ADM);
status_is $r, 200, 'rotate';
my $rec2 = $r->{json}{dns_record} || {};
$r = sign($msg);
like $r->{json}{dkim_signature} // '', qr/; s=scaisend;/, 'while the new key is pending, scaisend still signs';
publish($rec2);
$r = api(POST => "domains/$id/verify", token => $ADM);
status_is $r, 200, 'verify activates scaisend2';
$r = api(GET => "domains/$id", token => $ADM);
is $r->{json}{dkim_selector}, 'scaisend2', 'dkim_selector scaisend2';

my $msg3 = message(id => 'm3');
$r = sign($msg3);
status_is $r, 200, 'sign after activation';
my $sig3 = $r->{json}{dkim_signature} // '';
like $sig3, qr/; d=\Q$NAME\E; s=scaisend2; /, 'the new signature uses s=scaisend2';
is $r->{json}{selector}, 'scaisend2', 'selector scaisend2 in the answer';
verifies($sig3, $msg3, 'dkimpy verifies the scaisend2 signature');
verifies($sig1, $msg, 'the old scaisend signature still verifies (record still published)');

knot_unset($ZONE, "scaisend._domainkey.$NAME");
fails_to_verify($sig1, $msg, 'after the scaisend record is removed from DNS the old signature fails');
verifies($sig3, $msg3, 'the scaisend2 signature still verifies');

# ---------------------------------------------------------------------------
# malformed messages: 400 with the exact code, never a signature
sub refused {
    my ($m, $status, $code, $name, %o) = @_;
    my $res = sign($m, %o);
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    error_is $res, $status, $code, $name;
    return $res;
}
my $ok_h = "To: bob\@example.net\r\nSubject: s\r\n";
my @never;
push @never, refused("$ok_h\r\nbody\r\n", 400, 'no_from', 'no From: 400 no_from');
push @never, refused("From: a\@$NAME\r\n$ok_h" . "From: b\@$NAME\r\n\r\nbody\r\n", 400, 'multiple_from',
                     'two From: 400 multiple_from');
push @never, refused("FROM: a\@$NAME\r\nfrom: b\@$NAME\r\n\r\nbody\r\n", 400, 'multiple_from',
                     'two From in different case: 400 multiple_from');
push @never, refused("From: not an address\r\n$ok_h\r\nbody\r\n", 400, 'invalid_from',
                     'From that does not parse: 400 invalid_from');
push @never, refused("From: a\@$NAME, b\@$NAME\r\n$ok_h\r\nbody\r\n", 400, 'invalid_from',
                     'From with two addresses: 400 invalid_from');
push @never, refused("From: Alice <alice\@$NAME\r\n$ok_h\r\nbody\r\n", 400, 'invalid_from',
                     'From with an unclosed angle bracket: 400 invalid_from');
push @never, refused("From: \r\n$ok_h\r\nbody\r\n", 400, 'invalid_from', 'empty From: 400 invalid_from');
push @never, refused("From: alice\@bad_domain!.example\r\n$ok_h\r\nbody\r\n", 400, 'invalid_from',
                     'From with an invalid domain: 400 invalid_from');
push @never, refused("From: a\@$NAME\nTo: bob\@example.net\n\nbody\n", 400, 'bare_lf',
                     'bare LF line ends: 400 bare_lf');
push @never, refused("From: a\@$NAME\r\n$ok_h\r\nline one\nline two\r\n", 400, 'bare_lf',
                     'a bare LF in the body: 400 bare_lf');
push @never, refused("From: a\@$NAME\r\n$ok_h\r\nline one\rline two\r\n", 400, 'bare_cr',
                     'a bare CR in the body: 400 bare_cr');
push @never, refused("From: a\@$NAME\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n", 400, 'eight_bit_header',
                     '8-bit header bytes: 400 eight_bit_header');
push @never, refused("From: a\@$NAME\r\nThis is not a header\r\n\r\nbody\r\n", 400, 'malformed_header',
                     'a header line without a colon: 400 malformed_header');
push @never, refused(" folded: first\r\nFrom: a\@$NAME\r\n\r\nbody\r\n", 400, 'malformed_header',
                     'a header section starting with a continuation: 400 malformed_header');
ok !grep({ ($_->{body} // '') =~ /DKIM-Signature/ } @never), 'no refused message got a signature';
{
    # RFC 5322 3.4.1: CFWS may follow the addr-spec, so this is one address
    my $cm = "From: alice\@$NAME (Alice Example)\r\nSubject: s\r\n\r\nbody\r\n";
    my $res = sign($cm);
    status_is $res, 200, 'From: address with a trailing comment is one address: signed';
}
# 8-bit bytes in the body are fine
my $eight_body = "From: a\@$NAME\r\nSubject: s\r\n\r\ncaf\xc3\xa9\r\n";
$r = sign($eight_body);
status_is $r, 200, '8-bit bytes in the body are signed';
verifies($r->{json}{dkim_signature} // '', $eight_body, 'dkimpy verifies the 8-bit body');

# content type, role, method
$r = sign($msg, content_type => 'text/plain');
error_is $r, 415, 'unsupported_media_type', 'Content-Type text/plain: 415';
$r = sign($msg, content_type => 'application/json');
error_is $r, 415, 'unsupported_media_type', 'Content-Type application/json: 415';
$r = sign($msg, content_type => 'Message/RFC822');
status_is $r, 200, 'Content-Type is case-insensitive';
$r = api(POST => $SIGN, token => $SND, body => $msg, headers => { 'Content-Type' => undef });
error_is $r, 415, 'unsupported_media_type', 'no Content-Type: 415';
$r = sign($msg, token => $ADM);
error_is $r, 403, 'forbidden', 'tenant_admin role: 403';
$r = sign($msg, token => $OP);
error_is $r, 403, 'forbidden', 'partner_operator role: 403';
$r = sign($msg, token => undef);
error_is $r, 401, 'unauthenticated', 'no token: 401';
$r = api(GET => $SIGN, token => $SND);
error_is $r, 405, 'method_not_allowed', 'GET dkim/sign: 405', allow => 'POST';
$r = sign($msg, path => "dkim/sign?tenant_id=$T&x=1");
error_is $r, 400, 'invalid_parameter', 'an unknown parameter: 400 invalid_parameter';

# ---------------------------------------------------------------------------
# the send decision: only "deliver" is signed
sub not_allowed {
    my ($m, $decision, $reason, $name, %o) = @_;
    my $res = sign($m, %o);
    my $j = ref $res->{json} eq 'HASH' ? $res->{json} : {};
    my @why;
    push @why, "status $res->{status}" unless $res->{status} == 409;
    push @why, 'error.code ' . ($j->{error}{code} // 'none')
        unless ref $j->{error} eq 'HASH' && ($j->{error}{code} // '') eq 'send_not_allowed';
    push @why, 'decision ' . ($j->{decision} // 'none') unless ($j->{decision} // '') eq $decision;
    push @why, 'reason ' . ($j->{reason} // 'null') unless ($j->{reason} // '') eq $reason;
    push @why, 'a signature in a refusal' if ($res->{body} // '') =~ /DKIM-Signature/;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok !@why, $name;
    diag join "\n", @why, describe($res) if @why;
    return $res;
}
make_domain('sg-unv.example.com');
make_domain('sg-off.example.com', verify => 1, inactive => 1);
not_allowed(message(from => 'a@sg-unv.example.com'), 'fail', 'domain not verified',
            'an unverified domain: 409 send_not_allowed, decision fail');
not_allowed(message(from => 'a@sg-none.example.com'), 'fail', 'domain not verified',
            'an unregistered domain: 409 send_not_allowed, decision fail');
not_allowed(message(from => 'a@sub.sg01.example.com'), 'fail', 'domain not verified',
            'a subdomain of the verified domain: 409, decision fail');
not_allowed(message(from => 'a@sg-off.example.com'), 'reject', 'domain inactive',
            'an inactive domain: 409 send_not_allowed, decision reject');
not_allowed($msg, 'fail', 'domain not verified', 'another tenant: 409 fail',
            path => 'dkim/sign?tenant_id=t_sgn_other');
not_allowed($msg, 'fail', 'domain not verified', 'another partner\'s sender: 409 fail',
            token => token(sub => 'sgn-x', partner_id => 'p_sgn_x', tenant_id => undef, role => 'sender'));
$r = api(PATCH => "domains/$id", token => $ADM, json => { is_active => JSON::PP::false() });
status_is $r, 200, 'deactivate the signing domain';
not_allowed($msg, 'reject', 'domain inactive', 'the deactivated domain: 409 reject');
$r = api(PATCH => "domains/$id", token => $ADM, json => { is_active => JSON::PP::true() });
$r = sign($msg);
status_is $r, 200, 'reactivated: signed again';

# a message that is both malformed and from an unverified domain: the
# message is checked first (400), the decision never reached
refused("From: a\@sg-unv.example.com\nSubject: s\n\nbody\n", 400, 'bare_lf',
        'malformed message from an unverified domain: 400 bare_lf');

# ---------------------------------------------------------------------------
# size limit (ScaiSendSignMaxSize, default 10 MiB)
my $LIMIT = 10 * 1024 * 1024;
{
    my $head = "From: alice\@$NAME\r\nSubject: big\r\n\r\n";
    my $line = ('x' x 998) . "\r\n";
    # exactly at the limit: accepted
    my $fill = $LIMIT - length $head;
    my $at = $head . ($line x int($fill / 1000));
    $at .= 'y' x ($fill - (length($at) - length($head)) - 2) . "\r\n";
    is length($at), $LIMIT, 'a message of exactly 10 MiB';
    $r = sign($at);
    status_is $r, 200, 'exactly at the limit: signed';
    verifies($r->{json}{dkim_signature} // '', $at, 'dkimpy verifies the 10 MiB message');

    # one byte over, with Content-Length, streamed from a callback
    my $ua = LWP::UserAgent->new(timeout => 60, keep_alive => 0);
    my $url = Apache::TestRequest::resolve_url("/api/admin/$SIGN");
    my $stream = sub {
        my ($total) = @_;
        my ($sent, $first) = (0, 1);
        return sub {
            return '' if $sent >= $total;
            my $chunk = $first ? $head : $line;
            $first = 0;
            $chunk = substr($chunk, 0, $total - $sent) if $sent + length $chunk > $total;
            $sent += length $chunk;
            return $chunk;
        };
    };
    my $req = HTTP::Request->new(POST => $url, [Authorization => "Bearer $SND",
                                 'Content-Type' => 'message/rfc822',
                                 'Content-Length' => $LIMIT + 1], $stream->($LIMIT + 1));
    my $res = $ua->request($req);
    my $j = eval { JSON::PP->new->decode($res->content) } || {};
    ok $res->code == 413 && ($j->{error}{code} // '') eq 'payload_too_large',
        '10 MiB + 1 byte (Content-Length): 413 payload_too_large'
        or diag $res->code . ' ' . substr($res->content, 0, 300);

    # chunked, no Content-Length: the limit holds while streaming
    $req = HTTP::Request->new(POST => $url, [Authorization => "Bearer $SND",
                              'Content-Type' => 'message/rfc822'], $stream->($LIMIT + 65536));
    $res = $ua->request($req);
    $j = eval { JSON::PP->new->decode($res->content) } || {};
    ok $res->code == 413 && ($j->{error}{code} // '') eq 'payload_too_large',
        'over 10 MiB, chunked: 413 payload_too_large'
        or diag $res->code . ' ' . substr($res->content, 0, 300);
    ok $res->content !~ /DKIM-Signature/, 'no signature for the oversized message';
}

# the server is fine afterwards
$r = sign($msg);
status_is $r, 200, 'signing still works after the oversized requests';
verifies($r->{json}{dkim_signature} // '', $msg, 'and verifies');

knot_unset($ZONE, $NAME);
knot_unset($ZONE, "scaisend2._domainkey.$NAME");
knot_unset($ZONE, "_dmarc.$NAME");
