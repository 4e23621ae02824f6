# Ed25519 beside RSA (api.md section 10, RFC 8463): a domain created with
# dkim_algorithms ["rsa-sha256", "ed25519-sha256"] gets twin keys
# (scaisend, scaisend-ed25519), its records are published in the suite's
# Knot server and verified, and a message is signed twice -- Ed25519 first.
# Each signature, and the dual-signed message, is checked by dkimpy and by
# OpenDKIM (t/lib/ScaiSend/Oracle.pm): before a rotation, while its two
# pending keys are published, and after the verify that activates them
# together. Turning Ed25519 off and on again for an existing domain, and on
# for an RSA-only one; an Ed25519 record with the wrong key or the wrong
# k= fails verification with a message that names Ed25519.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Oracle qw(:all);

if (my @missing = oracle_missing()) {
    plan skip_all => 'missing: ' . join(', ', @missing) . ' (build/packages.txt)';
}
if (system('/usr/bin/python3', '-c', 'import nacl') != 0) {
    plan skip_all => 'python3-nacl is not installed (dkimpy needs it for Ed25519)';
}

plan tests => 118;

my $P    = 'p_ed';
my $T    = 't_ed';
my $ZONE = 'example.com';
my $ADM  = token(sub => 'ed-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $SND  = token(sub => 'ed-mta', partner_id => $P, tenant_id => undef, role => 'sender');
my @BOTH = ('rsa-sha256', 'ed25519-sha256');
my $ED_VALUE = qr{\Av=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=\z};

sub publish {
    my (@recs) = @_;
    knot_update($ZONE, map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @recs);
}

sub dkim_rows { return grep { $_->{purpose} eq 'dkim' } @{ $_[0] // [] } }
sub row_of {
    my ($rows, $sel) = @_;
    my ($row) = grep { ($_->{selector} // '') eq $sel } @{ $rows // [] };
    return $row // {};
}
sub keys_of {
    my ($id) = @_;
    my $r = api(GET => "domains/$id/dkim-keys", token => $ADM);
    return { map { $_->{selector} => $_ } @{ $r->{json}{data} // [] } };
}
sub states {
    my ($id) = @_;
    my $k = keys_of($id);
    return join ' ', map { "$_=$k->{$_}{state}" } sort keys %$k;
}
sub verify { return api(POST => "domains/$_[0]/verify", token => $ADM) }

sub message {
    my ($name, $mid) = @_;
    return join("\r\n",
        "From: Alice <alice\@$name>", "To: bob\@example.net",
        "Subject: Ed25519 and RSA, $mid", "Date: Tue, 01 Dec 2026 10:00:00 +0000",
        "Message-ID: <$mid\@$name>", "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii", '',
        "Signed twice:  once with Ed25519,\tonce with RSA.  ", '', '') . "\r\n";
}

sub sign {
    my ($msg) = @_;
    return api(POST => "dkim/sign?tenant_id=$T", token => $SND, body => $msg,
               content_type => 'message/rfc822');
}

# The signatures of one signing, each checked by both verifiers, then the
# message with every header prepended (tests: 2 + one per signature + 1).
sub dual_signed {
    my ($name, $mid, $want, $label) = @_;
    my $msg = message($name, $mid);
    my $r = sign($msg);
    status_is $r, 200, "$label: signed";
    my @sigs = @{ $r->{json}{dkim_signatures} // [] };
    my @got = map { /; a=([^;]+); .*; s=([^;]+);/ ? "$1 $2" : '?' } @sigs;
    is_deeply \@got, $want, "$label: dkim_signatures are @$want"
        or diag describe($r);
    for my $i (0 .. $#$want) {
        signed_by_both($sigs[$i] // '', $msg, "$label: dkimpy and OpenDKIM verify the "
                       . ($want->[$i] =~ /^ed/ ? 'Ed25519' : 'RSA') . ' signature alone');
    }
    signed_by_both(join("\r\n", @sigs), $msg, "$label: both verify the message with every signature");
    return ($r, $msg, @sigs);
}

# ---------------------------------------------------------------------------
# dkim_algorithms that are refused (400 invalid_value, field dkim_algorithms)
for my $bad ([['ed25519-sha256'], 'Ed25519 alone'], [['rsa-sha256', 'rsa-sha256'], 'RSA twice'],
             [['rsa-sha256', 'rsa-sha1'], 'an unknown algorithm'], [[], 'an empty list']) {
    error_is api(POST => 'domains', token => $ADM, json => { domain => 'ed00.example.com',
                                                          dkim_algorithms => $bad->[0] }),
        400, 'invalid_value', "dkim_algorithms with $bad->[1]: 400", field => 'dkim_algorithms';
}

# ---------------------------------------------------------------------------
# a new domain with both algorithms
my $N1 = 'ed01.example.com';
my $r = api(POST => 'domains', token => $ADM,
            json => { domain => $N1, dkim_algorithms => \@BOTH });
status_is $r, 201, 'create with dkim_algorithms [rsa-sha256, ed25519-sha256]';
my $id = $r->{json}{id};
is_deeply $r->{json}{dkim_algorithms}, \@BOTH, 'dkim_algorithms as given';
my @dk = dkim_rows($r->{json}{dns_records});
is_deeply [sort map { "$_->{selector} $_->{algorithm} $_->{key_state}" } @dk],
    ['scaisend rsa-sha256 active', 'scaisend-ed25519 ed25519-sha256 active'],
    'two DKIM rows: scaisend (RSA) and its twin scaisend-ed25519';
my $ed1 = row_of(\@dk, 'scaisend-ed25519');
is $ed1->{host}, "scaisend-ed25519._domainkey.$N1", 'the Ed25519 host';
like $ed1->{value}, $ED_VALUE, 'the Ed25519 value: k=ed25519, 32 raw bytes in base64';
like row_of(\@dk, 'scaisend')->{value}, qr/\Av=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA/,
    'the RSA value unchanged';

publish(@{ $r->{json}{dns_records} });
$r = verify($id);
status_is $r, 200, 'verify';
is $r->{json}{verified} ? 1 : 0, 1, 'verified with both records published';
is_deeply [map { "$_->{selector} $_->{algorithm} $_->{status}" } @{ $r->{json}{checks}{dkim}{keys} // [] }],
    ['scaisend rsa-sha256 pass', 'scaisend-ed25519 ed25519-sha256 pass'],
    'checks.dkim.keys: each key passed';
is states($id), 'scaisend=active scaisend-ed25519=active', 'both keys active';

# before any rotation: 6 tests
my (undef, $msg_before, @sig_before) = dual_signed($N1, 'before',
    ['ed25519-sha256 scaisend-ed25519', 'rsa-sha256 scaisend'], 'before a rotation');
$r = sign($msg_before);
is $r->{json}{dkim_signature}, ($r->{json}{dkim_signatures} // [])->[1],
    'dkim_signature is the RSA header, the last of dkim_signatures';
is $r->{json}{selector}, 'scaisend', 'selector: the RSA one';
my ($t_ed) = ($r->{json}{dkim_signatures}[0] // '') =~ /; t=(\d+)/;
my ($t_rsa) = ($r->{json}{dkim_signature} // '') =~ /; t=(\d+)/;
is $t_ed, $t_rsa, 'both signatures carry one t=';

# ---------------------------------------------------------------------------
# rotation: both keys pending on scaisend2 / scaisend2-ed25519
$r = api(POST => "domains/$id/rotate-dkim", token => $ADM);
status_is $r, 200, 'rotate';
is $r->{json}{new_selector}, 'scaisend2', 'new_selector scaisend2';
is $r->{json}{dns_record}{host}, "scaisend2._domainkey.$N1", 'dns_record: the RSA one';
my @pend = @{ $r->{json}{dns_records} // [] };
is_deeply [map { "$_->{selector} $_->{algorithm}" } @pend],
    ['scaisend2 rsa-sha256', 'scaisend2-ed25519 ed25519-sha256'],
    'dns_records: both pending keys, RSA first';
like row_of(\@pend, 'scaisend2-ed25519')->{value}, $ED_VALUE, 'the pending Ed25519 value';
isnt row_of(\@pend, 'scaisend2-ed25519')->{value}, $ed1->{value}, 'a new Ed25519 key';
error_is api(POST => "domains/$id/rotate-dkim", token => $ADM), 409, 'rotation_pending',
    'a second rotation: 409 rotation_pending';
is states($id), 'scaisend=active scaisend-ed25519=active scaisend2=pending scaisend2-ed25519=pending',
    'two active, two pending';

dual_signed($N1, 'pending', ['ed25519-sha256 scaisend-ed25519', 'rsa-sha256 scaisend'],
            'pending keys not published');

# only the RSA pending record published: nothing activates
publish(row_of(\@pend, 'scaisend2'));
$r = verify($id);
status_is $r, 200, 'verify with only the pending RSA record published';
is $r->{json}{verified} ? 1 : 0, 1, 'still verified';
is $r->{json}{checks}{dkim_pending}{status}, 'fail', 'checks.dkim_pending: fail';
is_deeply [map { "$_->{selector} $_->{status}" } @{ $r->{json}{checks}{dkim_pending}{keys} // [] }],
    ['scaisend2 pass', 'scaisend2-ed25519 fail'], 'checks.dkim_pending.keys: the Ed25519 twin is missing';
is states($id), 'scaisend=active scaisend-ed25519=active scaisend2=pending scaisend2-ed25519=pending',
    'the pending keys activate together: none yet';

publish(row_of(\@pend, 'scaisend2-ed25519'));
dual_signed($N1, 'during', ['ed25519-sha256 scaisend-ed25519', 'rsa-sha256 scaisend'],
            'pending keys published, not yet verified');

$r = verify($id);
status_is $r, 200, 'verify with both pending records published';
is $r->{json}{verified} ? 1 : 0, 1, 'verified';
is_deeply [map { "$_->{selector} $_->{status}" } @{ $r->{json}{checks}{dkim}{keys} // [] }],
    ['scaisend2 pass', 'scaisend2-ed25519 pass'], 'checks.dkim.keys: the keys that became active';
is states($id), 'scaisend=retired scaisend-ed25519=retired scaisend2=active scaisend2-ed25519=active',
    'both pending keys active, both old ones retired';
my $k = keys_of($id);
is $k->{'scaisend-ed25519'}{revocation_record}, 'v=DKIM1; k=ed25519; p=',
    'the retired Ed25519 key\'s revocation record';
is $k->{scaisend}{revocation_record}, 'v=DKIM1; k=rsa; p=', 'the retired RSA key\'s revocation record';
$r = api(GET => "domains/$id", token => $ADM);
is $r->{json}{dkim_selector}, 'scaisend2', 'dkim_selector scaisend2';

dual_signed($N1, 'after', ['ed25519-sha256 scaisend2-ed25519', 'rsa-sha256 scaisend2'],
            'after the rotation');
signed_by_both($sig_before[0], $msg_before, 'the Ed25519 signature made before the rotation still verifies');
signed_by_both($sig_before[1], $msg_before, 'the RSA signature made before the rotation still verifies');
(my $tampered = $msg_before) =~ s/once with Ed25519/once with Ed448/;
rejected_by_both($sig_before[0], $tampered, 'neither verifier accepts the Ed25519 signature over a changed body');

# ---------------------------------------------------------------------------
# Ed25519 off, then on again, for this domain
error_is api(PATCH => "domains/$id", token => $ADM, json => { dkim_algorithms => ['ed25519-sha256'] }),
    400, 'invalid_value', 'PATCH dkim_algorithms without RSA: 400', field => 'dkim_algorithms';
$r = api(PATCH => "domains/$id", token => $ADM, json => { dkim_algorithms => ['rsa-sha256'] });
status_is $r, 200, 'PATCH dkim_algorithms [rsa-sha256]';
is_deeply $r->{json}{dkim_algorithms}, ['rsa-sha256'], 'dkim_algorithms [rsa-sha256]';
is row_of([dkim_rows($r->{json}{dns_records})], 'scaisend2-ed25519')->{key_state}, 'retired',
    'the Ed25519 key retired (its row stays until removed)';
is states($id), 'scaisend=retired scaisend-ed25519=retired scaisend2=active scaisend2-ed25519=retired',
    'RSA alone is active';
my $off = message($N1, 'off');
$r = sign($off);
status_is $r, 200, 'sign with Ed25519 off';
is scalar(@{ $r->{json}{dkim_signatures} // [] }), 1, 'one signature';
like $r->{json}{dkim_signature} // '', qr/; a=rsa-sha256; .*; s=scaisend2;/, 'the RSA one';
is(($r->{json}{dkim_signatures} // [])->[0], $r->{json}{dkim_signature}, 'dkim_signatures holds it');
signed_by_both($r->{json}{dkim_signature} // '', $off, 'dkimpy and OpenDKIM verify it');

$r = api(PATCH => "domains/$id", token => $ADM, json => { dkim_algorithms => \@BOTH });
status_is $r, 200, 'PATCH dkim_algorithms back to both';
is states($id), 'scaisend=retired scaisend-ed25519=retired scaisend2=active scaisend2-ed25519=pending',
    'the twin of the signing key is pending again';
$r = sign($off);
is scalar(@{ $r->{json}{dkim_signatures} // [] }), 1, 'a pending Ed25519 key does not sign';
$r = verify($id);
status_is $r, 200, 'verify (the twin\'s record is still published)';
is states($id), 'scaisend=retired scaisend-ed25519=retired scaisend2=active scaisend2-ed25519=active',
    'the twin active again';
dual_signed($N1, 'on-again', ['ed25519-sha256 scaisend2-ed25519', 'rsa-sha256 scaisend2'],
            'Ed25519 on again');

# ---------------------------------------------------------------------------
# Ed25519 turned on for an RSA-only domain
my $N2 = 'ed02.example.com';
$r = api(POST => 'domains', token => $ADM, json => { domain => $N2 });
status_is $r, 201, 'create an RSA-only domain';
my $id2 = $r->{json}{id};
is_deeply $r->{json}{dkim_algorithms}, ['rsa-sha256'], 'dkim_algorithms default [rsa-sha256]';
is scalar(dkim_rows($r->{json}{dns_records})), 1, 'one DKIM row';
publish(@{ $r->{json}{dns_records} });
$r = verify($id2);
is $r->{json}{verified} ? 1 : 0, 1, 'verified';
ok !exists $r->{json}{checks}{dkim}{keys}, 'one key: no checks.dkim.keys';
$r = api(PATCH => "domains/$id2", token => $ADM, json => { dkim_algorithms => \@BOTH });
status_is $r, 200, 'PATCH dkim_algorithms [rsa-sha256, ed25519-sha256]';
my $ed2 = row_of([dkim_rows($r->{json}{dns_records})], 'scaisend-ed25519');
is "$ed2->{host} $ed2->{key_state}", "scaisend-ed25519._domainkey.$N2 pending",
    'a pending Ed25519 key on the twin selector';
like $ed2->{value}, $ED_VALUE, 'its value';
$r = api(POST => "domains/$id2/rotate-dkim", token => $ADM);
error_is $r, 409, 'rotation_pending', 'a rotation while the Ed25519 key is pending: 409 rotation_pending';
like $r->{json}{error}{message} // '', qr/\(or a new Ed25519 key\) is already pending/, '... the message says why';
$r = sign(message($N2, 'rsa-only'));
is_deeply [map { /; a=([^;]+);/ ? $1 : '?' } @{ $r->{json}{dkim_signatures} // [] }], ['rsa-sha256'],
    'until it is verified, RSA alone signs';
$r = verify($id2);
status_is $r, 200, 'verify before the Ed25519 record is published';
is $r->{json}{verified} ? 1 : 0, 1, 'still verified (the pending key does not decide)';
is $r->{json}{checks}{dkim_pending}{status}, 'fail', 'checks.dkim_pending: fail';
my ($w) = grep { ($_->{check} // '') eq 'dkim_pending' } @{ $r->{json}{warnings} // [] };
is(($w // {})->{code}, 'missing', 'a dkim_pending warning: missing');
is(($w // {})->{host}, "scaisend-ed25519._domainkey.$N2", 'at the twin selector');
publish($ed2);
$r = verify($id2);
status_is $r, 200, 'verify after publishing it';
is states($id2), 'scaisend=active scaisend-ed25519=active', 'the Ed25519 key activated, RSA stays active';
$r = api(GET => "domains/$id2", token => $ADM);
is $r->{json}{dkim_selector}, 'scaisend', 'dkim_selector unchanged';
dual_signed($N2, 'turned-on', ['ed25519-sha256 scaisend-ed25519', 'rsa-sha256 scaisend'],
            'Ed25519 turned on');

# ---------------------------------------------------------------------------
# an Ed25519 record with the wrong key, then with k=rsa
my $N3 = 'ed03.example.com';
$r = api(POST => 'domains', token => $ADM, json => { domain => $N3, dkim_algorithms => \@BOTH });
status_is $r, 201, 'create a third domain with both';
my $id3 = $r->{json}{id};
my @rows3 = @{ $r->{json}{dns_records} };
my $ed3 = row_of(\@rows3, 'scaisend-ed25519');
my $host3 = "scaisend-ed25519._domainkey.$N3";
my $shown = sprintf("%.48s... (the full value is in 'expected')", $ed3->{value});
publish(grep { ($_->{selector} // '') ne 'scaisend-ed25519' } @rows3);
publish({ host => $host3, value => $ed1->{value} });
$r = verify($id3);
status_is $r, 200, 'verify with another Ed25519 key published';
is $r->{json}{verified} ? 1 : 0, 0, 'not verified';
is $r->{json}{checks}{dkim}{status}, 'fail', 'checks.dkim: fail';
my ($e) = grep { ($_->{host} // '') eq $host3 } @{ $r->{json}{errors} // [] };
is(($e // {})->{code}, 'key_mismatch', 'key_mismatch at the Ed25519 selector');
is(($e // {})->{message}, "the p= key published at $host3 is not the Ed25519 key ScaiSend "
   . "holds for this selector: replace the record's value with: $shown", 'the message names Ed25519');
is(($e // {})->{expected}, $ed3->{value}, 'expected: the Ed25519 record');
is_deeply [map { "$_->{selector} $_->{status}" } @{ $r->{json}{checks}{dkim}{keys} // [] }],
    ['scaisend pass', 'scaisend-ed25519 fail'], 'checks.dkim.keys: RSA passed, Ed25519 failed';

(my $as_rsa = $ed3->{value}) =~ s/k=ed25519/k=rsa/;
publish({ host => $host3, value => $as_rsa });
$r = verify($id3);
($e) = grep { ($_->{host} // '') eq $host3 } @{ $r->{json}{errors} // [] };
is(($e // {})->{code}, 'wrong_key_type', 'k=rsa at the Ed25519 selector: wrong_key_type');
is(($e // {})->{message}, "the DKIM record at $host3 is invalid: k=rsa says the key is not "
   . "Ed25519, but ScaiSend signs with an Ed25519 key (ed25519-sha256, RFC 8463) at this "
   . "selector: set k=ed25519. Publish exactly: $shown", 'the message names Ed25519');

# the selector holds exactly one TXT record; '=' only as final padding
knot_set($ZONE, "$host3.", 'TXT', 'verification-token=ed03', $ed3->{value});
$r = verify($id3);
($e) = grep { ($_->{host} // '') eq $host3 } @{ $r->{json}{errors} // [] };
is(($e // {})->{code}, 'multiple_records', 'another TXT beside the Ed25519 record: multiple_records');
is(($e // {})->{message}, "besides the DKIM record, $host3 holds another TXT record: "
   . "\"verification-token=ed03\". The selector must hold exactly one TXT record, or verifiers "
   . "may read the other one instead of the key: delete it, so that the only record there is: $shown",
   'the message names the other record and says to delete it');
(my $pasted = $ed3->{value}) =~ s/(p=.{20})./$1=/;
publish({ host => $host3, value => $pasted });
$r = verify($id3);
($e) = grep { ($_->{host} // '') eq $host3 } @{ $r->{json}{errors} // [] };
is(($e // {})->{code} . ': ' . (($e // {})->{message} // ''),
   "malformed: the p= value at $host3 has an '=' inside it (after 20 characters): in base64 "
   . "'=' is only the padding at the very end, so the value was pasted together from pieces or "
   . "another value ran into it. Publish exactly: $shown", "'=' inside p=: malformed, saying where");

publish($ed3);
$r = verify($id3);
is $r->{json}{verified} ? 1 : 0, 1, 'the right record: verified';

knot_unset($ZONE, $_) for map { ($_, "scaisend._domainkey.$_", "scaisend-ed25519._domainkey.$_",
                                 "scaisend2._domainkey.$_", "scaisend2-ed25519._domainkey.$_",
                                 "_dmarc.$_") } $N1, $N2, $N3;
