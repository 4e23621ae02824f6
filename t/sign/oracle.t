# The signature oracle: every message of a generated corpus (t/sign/gen-corpus.py,
# seeded, 240 messages: colons and quotes in values, folding, odd case,
# trailing white space, RFC 2047, repeated fields, empty, CRLF-only and
# unterminated bodies, 8-bit and long lines, MIME, ...) is signed through
# POST /api/admin/dkim/sign and the result checked by two independent
# verifiers reading the key from the suite's Knot server: dkimpy and
# OpenDKIM (opendkim-testmsg), see t/lib/ScaiSend/Oracle.pm.
#
# One test per message: signed (200), and both verifiers pass.  OpenDKIM
# refuses on principle messages without Date: and messages with a repeated
# To:, Cc: (or any other RFC 5322 single field), whoever signed them; those
# are judged by dkimpy alone, and a note names them.  A body whose last
# line has no CRLF and ends in white space is canonicalised against RFC
# 6376 3.4.4 by dkimpy (keeps a space) and by OpenDKIM (adds no CRLF): the
# verifier concerned judges it as SMTP delivers it, a CRLF appended (which
# canonicalises alike), and a note names those too.
#
# Also: h= lists every signable field present (from, to, subject, date once more); both
# verifiers reject a changed body and a changed Subject.
#
# SCAISEND_ORACLE_SEED=<n> / SCAISEND_ORACLE_COUNT=<n> (>= 200) choose the
# corpus; the messages, their signed forms and REPORT (one line per
# message: name, ok/FAIL, what it exercises, both verdicts) stay in
# t/logs/oracle/ for a look after a failure.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path remove_tree);
use Time::HiRes ();
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(describe);
use ScaiSend::DNS qw(knot_update knot_unset);
use ScaiSend::Oracle qw(:all);

my $T0 = Time::HiRes::time();
my $PY    = '/usr/bin/python3';
my $GEN   = "$FindBin::Bin/gen-corpus.py";
my $SEED  = $ENV{SCAISEND_ORACLE_SEED} || 20261127;
my $COUNT = $ENV{SCAISEND_ORACLE_COUNT} || 240;

my $P    = 'p_orc';
my $T    = 't_orc';
my $ZONE = 'example.net';
my $NAME = 'oracle.example.net';
my $ADM  = token(sub => 'orc-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $SND  = token(sub => 'orc-mta', partner_id => $P, tenant_id => undef, role => 'sender');

if (my @missing = oracle_missing()) {
    plan tests => 1;
    ok 0, 'both verifiers are available';
    diag "missing: " . join(', ', @missing) . " (build/packages.txt, build/install-deps)";
    exit 0;
}

# --- the corpus ------------------------------------------------------------
my $logs = Apache::Test::vars('t_logs');
my $base = "$logs/oracle";
my ($corpus, $signed) = ("$base/corpus", "$base/signed");
remove_tree($corpus, $signed);
make_path($signed);
my $gen = `'$PY' '$GEN' --domain $NAME --out '$corpus' --seed $SEED --count $COUNT 2>&1`;
die "gen-corpus.py failed: $gen" if $?;
my %desc = do {
    open my $fh, '<:encoding(UTF-8)', "$corpus/MANIFEST" or die "MANIFEST: $!";
    map { chomp; split /\t/, $_, 2 } <$fh>;
};
my @names = sort keys %desc;

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "cannot read $path: $!";
    local $/;
    return scalar <$fh>;
}

# --- the domain: created, published in Knot, verified -----------------------
my $r = api(POST => 'domains', token => $ADM, json => { domain => $NAME });
die "create $NAME: " . describe($r) unless $r->{status} == 201;
my $id = $r->{json}{id};
knot_update($ZONE, map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @{ $r->{json}{dns_records} });
$r = api(POST => "domains/$id/verify", token => $ADM);
die "verify $NAME: " . describe($r) unless $r->{status} == 200 && $r->{json}{verified};

plan tests => 2 + @names + 4;

ok @names >= 200, scalar(@names) . " messages in the corpus (seed $SEED)";
$r = api(GET => "sender-status?from=alice\@$NAME&mode=live&tenant_id=$T", token => $SND);
is $r->{status} == 200 && $r->{json}{decision}, 'deliver', "sender status of $NAME: deliver"
    or diag describe($r);

# --- sign every message -------------------------------------------------------
my (%sig, %refused);
for my $name (@names) {
    my $msg = slurp("$corpus/$name");
    my $res = api(POST => "dkim/sign?tenant_id=$T", token => $SND, body => $msg,
                  content_type => 'message/rfc822');
    my $s = $res->{status} == 200 && ref $res->{json} eq 'HASH' ? $res->{json}{dkim_signature} : undef;
    if (!defined $s || $s !~ /\ADKIM-Signature: /) {
        $refused{$name} = describe($res);
        next;
    }
    $sig{$name} = $s;
    open my $fh, '>:raw', "$signed/$name" or die "write $signed/$name: $!";
    print {$fh} "$s\r\n$msg";
    close $fh;
}
my $t_signed = Time::HiRes::time();

# --- both verifiers over the signed messages ---------------------------------
my $v = oracle_dir($signed);
my $t_verified = Time::HiRes::time();

my (@alone, @delivered, @failed);
for my $name (@names) {
    if ($refused{$name}) {
        ok 0, "$name: signed";
        diag "$name ($desc{$name}): not signed: $refused{$name}";
        push @failed, $name;
        next;
    }
    my $x = $v->{$name} // { dkimpy => 'fail: not verified', opendkim => 'fail: not verified' };
    ok $x->{ok}, "$name: dkimpy and OpenDKIM verify it" . ($x->{shape} ? ' (dkimpy alone)' : '')
        or do {
            diag "$name ($desc{$name}): " . oracle_text($x);
            push @failed, $name;
        };
    push @alone, "$name ($x->{shape})" if $x->{shape};
    push @delivered, "$name (" . join(', ', sort keys %{ $x->{quirks} || {} }) . ')'
        if %{ $x->{quirks} || {} };
}
# every verdict in t/logs/oracle/REPORT (kept by build/run-tests in t/logs/<engine>/)
{
    open my $rep, '>:encoding(UTF-8)', "$base/REPORT" or die "write $base/REPORT: $!";
    for my $name (@names) {
        my $x = $v->{$name};
        my $what = $refused{$name} ? "not signed: $refused{$name}" : $x ? oracle_text($x) : "not verified";
        $what =~ s/\s*\n\s*/ /g;
        print {$rep} join("\t", $name, ($x && $x->{ok} ? 'ok' : 'FAIL'), $desc{$name}, $what), "\n";
    }
    close $rep;
}
note 'judged by dkimpy alone (OpenDKIM refuses the shape whoever signs it): ' . join('; ', @alone)
    if @alone;
note 'judged as delivered, a CRLF appended (an unterminated last line ending in white space, '
   . 'which the verifier named canonicalises against RFC 6376 3.4.4): ' . join('; ', @delivered)
    if @delivered;

# --- h= covers every signable field present -------------------------------------
my @SIGNED = qw(from to cc subject date message-id reply-to mime-version content-type
                list-unsubscribe);
my @bad_h;
for my $name (sort keys %sig) {
    my ($head) = split /\r\n\r\n/, slurp("$corpus/$name"), 2;
    my %n;
    $n{ lc $1 }++ while $head =~ /^([^\s:]+):/mg;
    my %over = map { $_ => 1 } qw(from to subject date);    # over-signed
    my @want = sort map { ($_) x (($n{$_} // 0) + ($over{$_} ? 1 : 0)) } @SIGNED;
    my ($h) = $sig{$name} =~ /; h=([^;]*);/;
    my @got = sort split /:/, $h // '';
    push @bad_h, "$name: h=" . ($h // '(none)') . ", expected the fields @want" if "@got" ne "@want";
}
ok !@bad_h, 'h= lists each signable field once per occurrence, from, to, subject and date once more'
    or diag join "\n", @bad_h;

# --- the verifiers are not rubber stamps -------------------------------------------
# (on a message both verifiers accepted as it is, with a Subject: and a body)
sub changeable {
    my ($name) = @_;
    my ($head, $body) = split /\r\n\r\n/, slurp("$corpus/$name"), 2;
    return $head =~ /^Subject: /m && defined $body && $body =~ /\A\w/;
}
my ($ctl) = grep { my $x = $v->{$_}; $x && $x->{ok} && !$x->{shape} && !%{ $x->{quirks} }
                   && changeable($_) } sort keys %sig;
($ctl) = grep { /^\d+-transactional-full/ } sort keys %sig unless $ctl;
SKIP: {
    skip 'no signed message to change', 3 unless $ctl;
    my $msg = slurp("$corpus/$ctl");
    signed_by_both($sig{$ctl}, $msg, "$ctl as signed: both verifiers accept it (one-message helper)");
    (my $body = $msg) =~ s/\r\n\r\n(\w)/\r\n\r\nX$1/ or die "no body in $ctl";
    rejected_by_both($sig{$ctl}, $body, "$ctl with a changed body: both verifiers reject it");
    (my $subj = $msg) =~ s/^(Subject: [^\r\n]*)/$1!/m or die "no Subject in $ctl";
    rejected_by_both($sig{$ctl}, $subj, "$ctl with a changed Subject: both verifiers reject it");
}

my $t_end = Time::HiRes::time();
note sprintf "oracle: %d messages, %d failed, %d judged by dkimpy alone, %d as delivered; "
           . "signing %.1f s, verifying %.1f s, total %.1f s (seed %d)", scalar @names,
           scalar @failed, scalar @alone, scalar @delivered, $t_signed - $T0,
           $t_verified - $t_signed, $t_end - $T0, $SEED;
diag "oracle: failed: @failed" if @failed;

knot_unset($ZONE, $NAME);
knot_unset($ZONE, "scaisend._domainkey.$NAME");
knot_unset($ZONE, "_dmarc.$NAME");
