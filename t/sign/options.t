# The signing options of api.md section 10 end to end: a node started with
# ScaiSendSignHeaders (a list of its own) and ScaiSendSignatureTTL signs
# with exactly that h= -- each listed field as often as it occurs, from,
# subject and date once more (over-signed), a field not listed or absent
# (and not over-signed) never --
# and x= = t= + the TTL in every signature of a message (RSA and Ed25519),
# never l=; dkimpy and OpenDKIM verify each signature against the records
# served by Knot.  A node without the options signs the default list, no x=.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api dbd_params scratch_database);
use ScaiSend::DNS qw(knot_update);
use ScaiSend::Oracle qw(:all);

if (my @missing = oracle_missing()) {
    plan skip_all => 'missing: ' . join(', ', @missing) . ' (build/packages.txt)';
}
if (system('/usr/bin/python3', '-c', 'import nacl') != 0) {
    plan skip_all => 'python3-nacl is not installed (dkimpy needs it for Ed25519)';
}
plan tests => 18;

my $dir = Apache::Test::vars('t_logs') . "/sign-options-$$";
make_path($dir);
my $db = scratch_database($dir, 'signopt');

my $TTL = 7200;
my $node = start_node('signopts', dbd_params => $db, set => {
    ScaiSendSignHeaders => 'From Subject date reply-to', ScaiSendSignatureTTL => '2h' });
END { local $?; stop_node($node) if $node; }

my $P   = 'p_so';
my $T   = 't_so';
my $ADM = token(sub => 'so-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $SND = token(sub => 'so-mta', partner_id => $P, tenant_id => undef, role => 'sender');

# a verified domain of the node, its records in Knot
sub verified_domain {
    my ($name, @algs) = @_;
    my $r = node_api($node, POST => 'domains', token => $ADM,
                     json => { domain => $name, @algs ? (dkim_algorithms => \@algs) : () });
    is $r->{status}, 201, "create $name" or diag $r->{body};
    my $recs = $r->{json}{dns_records} // [];
    knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @$recs);
    my $v = node_api($node, POST => "domains/$r->{json}{id}/verify", token => $ADM);
    ok $v->{json} && $v->{json}{verified}, "$name verified" or diag $v->{body};
    return $r->{json}{id};
}

sub message {
    my ($name) = @_;
    return join("\r\n",
        "From: Alice <alice\@$name>", "To: bob\@example.net", "To: carol\@example.net",
        "Subject: options", "Date: Tue, 01 Dec 2026 10:00:00 +0000",
        "Message-ID: <opt\@$name>", '', 'The signed header fields are ours.', '') . "\r\n";
}

sub sign_on {
    my ($n, $msg) = @_;
    return node_api($n, POST => "dkim/sign?tenant_id=$T", token => $SND, body => $msg,
                    content_type => 'message/rfc822');
}

sub tag { my ($sig, $t) = @_; return $sig =~ /(?:^|;\s*)\Q$t\E=([^;]*)/ ? $1 : undef }

# --- RSA only --------------------------------------------------------------------
my $N1 = 'signopt1.example.org';
verified_domain($N1);
my $msg = message($N1);
my $r = sign_on($node, $msg);
is $r->{status}, 200, 'signed' or diag $r->{body};
my $sig = $r->{json}{dkim_signature} // '';
is tag($sig, 'h'), 'from:from:subject:subject:date:date',
    'h=: the configured list in its order, from, subject and date over-signed, '
    . 'reply-to (absent, not over-signed) and to (not listed) never';
my ($t, $x) = (tag($sig, 't'), tag($sig, 'x'));
ok defined $t && defined $x && $x == $t + $TTL, "x= is t= + ${TTL}s" or diag $sig;
ok !defined tag($sig, 'l'), 'no l=';
signed_by_both($sig, $msg, 'dkimpy and OpenDKIM verify it');
my $added = $msg =~ s/^(From: [^\r]*\r\n)/${1}Subject: added later\r\n/r;
rejected_by_both($sig, $added, 'a Subject added after signing breaks it (over-signed)');
my $to_added = $msg =~ s/^(From: [^\r]*\r\n)/${1}To: mallory\@example.net\r\n/r;
signed_by_both($sig, $to_added, 'a To added after signing does not (to is not in the list)');

# --- RSA and Ed25519: one h= and one x= in both ----------------------------------------
my $N2 = 'signopt2.example.org';
verified_domain($N2, 'rsa-sha256', 'ed25519-sha256');
$msg = message($N2);
$r = sign_on($node, $msg);
is $r->{status}, 200, 'dual: signed' or diag $r->{body};
my @sigs = @{ $r->{json}{dkim_signatures} // [] };
is_deeply [map { tag($_, 'a') } @sigs], ['ed25519-sha256', 'rsa-sha256'], 'dual: Ed25519, then RSA';
is_deeply [map { [tag($_, 'h'), tag($_, 'x') - tag($_, 't')] } @sigs],
    [(['from:from:subject:subject:date:date', $TTL]) x 2],
    'dual: the same h= and x= - t= in both';
signed_by_both(join("\r\n", @sigs), $msg, 'dual: dkimpy and OpenDKIM verify both signatures');

# --- a node without the options: the default list, no x= ----------------------------------
stop_node($node);
$node = start_node('signopts-default', dbd_params => $db);
$r = sign_on($node, $msg);
is $r->{status}, 200, 'default node: signed' or diag $r->{body};
@sigs = @{ $r->{json}{dkim_signatures} // [] };
is tag($sigs[1] // '', 'h'), 'from:from:to:to:to:subject:subject:date:date:message-id',
    'default node: the default list present in the message, to over-signed too';
ok !grep({ defined tag($_, 'x') } @sigs), 'default node: no x=';
