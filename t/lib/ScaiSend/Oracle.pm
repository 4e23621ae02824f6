package ScaiSend::Oracle;

# Two independent DKIM verifiers for the signing tests: dkimpy
# (t/sign/dkimverify-dir.py, one Python process for any number of messages)
# and OpenDKIM (opendkim-testmsg, one process per message).  Both read the
# public keys from the suite's Knot server: dkimpy asks it directly;
# opendkim-testmsg uses the libc resolver, which takes no port, so it runs
# with t/sign/resolv-shim.c preloaded (built here with cc on first use, into
# t/logs) pointing res_ninit() at 127.0.0.1 and Knot's port.
#
#   use ScaiSend::Oracle qw(:all);
#   die join(', ', @m) if my @m = oracle_missing();
#   signed_by_both($sig, $msg, 'name');        # one test: both verify "$sig\r\n$msg"
#   rejected_by_both($sig, $tampered, 'name'); # one test: both refuse it
#   my $v = oracle_message("$sig\r\n$msg");    # {dkimpy, opendkim, shape, quirks, ok}
#   my $all = oracle_dir($dir);                # {file name => {...}} for every *.eml
#   oracle_text($v)                            # "dkimpy: pass; opendkim: fail: ..."
#
# OpenDKIM refuses on principle (RFC 5322 section 3.6, "Syntax error"
# before any signature is looked at) a message without Date: and one with
# more than one of Date, From, Sender, Reply-To, To, Cc, Bcc, Message-ID,
# In-Reply-To, References, Subject -- whoever signed it.  opendkim_shape()
# names the reason; such messages are judged by dkimpy alone ({shape} set,
# {opendkim} still holds what it said).  A body whose last line has no
# CRLF and ends in white space meets a defect of each verifier (see
# verifier_quirks): the verifier concerned judges the message as SMTP
# delivers it, a CRLF appended ({quirks} says which and why).  Verdicts are
# "pass" or "fail: <what the verifier said>".

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname basename);
use File::Path qw(make_path);
use File::Spec ();
use File::Temp ();
use POSIX qw(_exit);
use Test::More ();
use ScaiSend::DNS qw(knot_port);

our @EXPORT_OK = qw(oracle_missing opendkim_shape verifier_quirks opendkim_verdict dkimpy_verdicts
                    oracle_message oracle_dir oracle_text signed_by_both rejected_by_both
                    resolv_shim SINGLE_FIELDS);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my $LIB_DIR = dirname(File::Spec->rel2abs(__FILE__));     # t/lib/ScaiSend
my $T_DIR   = dirname(dirname($LIB_DIR));                 # t
my $PY      = '/usr/bin/python3';
my $DKIMPY  = "$T_DIR/sign/dkimverify-dir.py";
my $SHIM_C  = "$T_DIR/sign/resolv-shim.c";
# opendkim-tools installs it in sbin, which a user's PATH may lack
my ($TESTMSG) = (grep({ -x } map { "$_/opendkim-testmsg" } split(/:/, $ENV{PATH} // ''),
                      '/usr/sbin', '/usr/local/sbin'), 'opendkim-testmsg');

use constant SINGLE_FIELDS => qw(date from sender reply-to to cc bcc message-id
                                 in-reply-to references subject);

sub _logs {
    my $logs = eval { require Apache::Test; Apache::Test::vars('t_logs') };
    return $logs && -d $logs ? $logs : "$T_DIR/logs";
}

# What is missing to run both verifiers (empty when all is there).
sub oracle_missing {
    my @m;
    push @m, 'python3-dkim and python3-dnspython'
        if system($PY, '-c', 'import dkim, dns.message, dns.query') != 0;
    push @m, 'opendkim-tools (opendkim-testmsg)' unless -x $TESTMSG;
    push @m, 'a C compiler (cc) for t/sign/resolv-shim.c'
        unless grep { -x "$_/" . ($ENV{CC} // 'cc') } split /:/, $ENV{PATH} // '';
    return @m;
}

# The preload object, built when missing or older than its source.
my $SHIM;
sub resolv_shim {
    return $SHIM if $SHIM && -f $SHIM;
    my $dir = _logs() . '/oracle';
    make_path($dir);
    my $so = "$dir/resolv-shim.so";
    if (!-f $so || (stat $so)[9] < (stat $SHIM_C)[9]) {
        my $tmp = "$so.$$";
        my @cc = ($ENV{CC} // 'cc', qw(-std=gnu99 -Wall -Wextra -Werror -O1 -shared -fPIC),
                  '-o', $tmp, $SHIM_C, '-ldl');
        my $out = `@cc 2>&1`;
        die "ScaiSend::Oracle: building the resolver shim failed (@cc):\n$out" if $?;
        rename $tmp, $so or die "rename $tmp: $!";
    }
    return $SHIM = $so;
}

# Why OpenDKIM refuses this message whoever signed it, or undef.
sub opendkim_shape {
    my ($msg) = @_;
    my ($head) = split /\r\n\r\n/, $msg, 2;
    my %n;
    $n{ lc $1 }++ while $head =~ /^([^\s:]+)[ \t]*:/mg;
    return 'no Date: field' unless $n{date};
    my @twice = grep { ($n{$_} // 0) > 1 } SINGLE_FIELDS;
    return join(', ', map { "$n{$_} $_: fields" } @twice) if @twice;
    return undef;
}

# OpenDKIM's verdict on one message (bytes, or file => $path).
sub opendkim_verdict {
    my ($msg, %o) = @_;
    my $file = $o{file};
    my $tmp;
    if (!defined $file) {
        $tmp = File::Temp->new(SUFFIX => '.eml');
        binmode $tmp;
        print {$tmp} $msg;
        close $tmp;
        $file = "$tmp";
    }
    my $shim = resolv_shim();
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', $file or _exit(126);
        open STDERR, '>&', \*STDOUT;
        $ENV{LD_PRELOAD} = $shim;
        $ENV{SCAISEND_RESOLV_PORT} = knot_port();
        $ENV{SCAISEND_RESOLV_ADDR} = '127.0.0.1';
        $ENV{RES_OPTIONS} = 'timeout:2 attempts:2';
        { no warnings 'exec'; exec $TESTMSG; }
        print "exec $TESTMSG: $!\n";
        _exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my $rc = $? >> 8;
    die "ScaiSend::Oracle: the resolver shim was not loaded: $out" if $out =~ /cannot be preloaded/;
    $out =~ s/\s+\z//;
    $out =~ s/^opendkim-testmsg: //mg;
    $out =~ s/\n/; /g;
    return 'pass' if $rc == 0 && $out eq '';
    return "fail: exit $rc" . (length $out ? ", $out" : '');
}

# dkimpy's verdicts, one process: {file name => verdict} for the files
# given and the *.eml files of the folders given.
sub dkimpy_verdicts {
    my (@paths) = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { no warnings 'exec'; exec $PY, $DKIMPY, '--port', knot_port(), @paths; }
        print "exec $PY: $!\n";
        _exit(127);
    }
    my (%v, @junk);
    while (my $line = <$fh>) {
        chomp $line;
        if ($line =~ /\A([^\t]+)\t(.*)\z/) { $v{$1} = $2 } else { push @junk, $line }
    }
    close $fh;
    die "ScaiSend::Oracle: $DKIMPY: exit " . ($? >> 8) . ": @junk" if ($? >> 8) > 1 || @junk;
    return \%v;
}

# Known defects of the verifiers themselves (RFC 6376 3.4.4, relaxed body:
# the white space at the end of every line goes, then a body that does not
# end in CRLF gets one), on a body whose last line has no CRLF and ends in
# white space: dkimpy keeps one space ("text \r\n"; "\r\n" for a line of
# only white space), OpenDKIM (not for a line of only white space) drops the
# white space and adds no CRLF ("text").  SMTP delivers such a message with
# a final CRLF (RFC 5321 4.1.1.4), which by RFC 6376 canonicalises alike:
# the verifier concerned judges that delivered form.  {verifier => why}.
sub verifier_quirks {
    my ($msg) = @_;
    my ($head, $body) = split /\r\n\r\n/, $msg, 2;
    return {} unless defined $body && length $body && $body !~ /\r\n\z/;
    my ($last) = $body =~ /([^\n]*)\z/;
    return {} unless $last =~ /[ \t]\z/;
    my %q = (dkimpy => 'keeps a space of an unterminated last line');
    $q{opendkim} = 'adds no CRLF after an unterminated last line ending in white space'
        if $last =~ /[^ \t]/;
    return \%q;
}

sub _judge {
    my ($msg, $dkimpy, $opendkim, $quirks) = @_;
    my $shape = opendkim_shape($msg);
    $dkimpy //= 'fail: no verdict';
    my $ok = $dkimpy eq 'pass' && ($shape || $opendkim eq 'pass');
    return { dkimpy => $dkimpy, opendkim => $opendkim, shape => $shape,
             quirks => $quirks, ok => $ok ? 1 : 0 };
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "cannot read $path: $!";
    local $/;
    return scalar <$fh>;
}

sub _spew {
    my ($path, $bytes) = @_;
    open my $fh, '>:raw', $path or die "cannot write $path: $!";
    print {$fh} $bytes;
    close $fh or die "close $path: $!";
}

# Both verifiers on message files (all in one folder, distinct names):
# {file name => {dkimpy, opendkim, shape, quirks, ok}}.
sub _oracle_files {
    my (@paths) = @_;
    my $tmp = File::Temp->newdir('oracle-delivered.XXXXXX', TMPDIR => 1);
    my (%msg, %quirks, %form, @py);
    for my $path (@paths) {
        my $name = basename($path);
        $msg{$name} = _slurp($path);
        $quirks{$name} = verifier_quirks($msg{$name});
        my $delivered = "$tmp/delivered-$name";
        _spew($delivered, "$msg{$name}\r\n") if %{ $quirks{$name} };
        $form{$_}{$name} = $quirks{$name}{$_} ? $delivered : $path for qw(dkimpy opendkim);
        push @py, $form{dkimpy}{$name};
    }
    my $py = dkimpy_verdicts(@py);
    my %v;
    for my $name (sort keys %msg) {
        $v{$name} = _judge($msg{$name}, $py->{ basename($form{dkimpy}{$name}) },
                           opendkim_verdict(undef, file => $form{opendkim}{$name}),
                           $quirks{$name});
    }
    return \%v;
}

# Both verifiers on every *.eml of a folder: {file name => {dkimpy,
# opendkim, shape, quirks, ok}}.
sub oracle_dir {
    my ($dir) = @_;
    opendir my $dh, $dir or die "opendir $dir: $!";
    return _oracle_files(map { "$dir/$_" } sort grep { /\.eml\z/ } readdir $dh);
}

# Both verifiers on one message (the signature header included).
sub oracle_message {
    my ($signed) = @_;
    my $tmp = File::Temp->newdir('oracle-one.XXXXXX', TMPDIR => 1);
    _spew("$tmp/message.eml", $signed);
    return _oracle_files("$tmp/message.eml")->{'message.eml'};
}

sub oracle_text {
    my ($v) = @_;
    my $q = $v->{quirks} || {};
    my %form = map { $_ => $q->{$_} ? " (as delivered, CRLF appended: it $q->{$_})" : '' }
               qw(dkimpy opendkim);
    return "dkimpy$form{dkimpy}: $v->{dkimpy}; opendkim$form{opendkim}: $v->{opendkim}"
         . ($v->{shape} ? " (not judged by OpenDKIM: $v->{shape})" : '');
}

# One test: "$sig\r\n$msg" verifies with dkimpy and OpenDKIM (dkimpy alone,
# said in a note, for shapes OpenDKIM refuses).
sub signed_by_both {
    my ($sig, $msg, $name) = @_;
    my $v = oracle_message("$sig\r\n$msg");
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::ok($v->{ok}, $name);
    Test::More::diag(oracle_text($v)) unless $ok;
    Test::More::note("$name: judged by dkimpy alone (OpenDKIM refuses: $v->{shape})")
        if $ok && $v->{shape};
    return $ok;
}

# One test: neither verifier accepts "$sig\r\n$msg".
sub rejected_by_both {
    my ($sig, $msg, $name) = @_;
    my $v = oracle_message("$sig\r\n$msg");
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::ok($v->{dkimpy} =~ /^fail/ && $v->{opendkim} =~ /^fail/, $name);
    Test::More::diag(oracle_text($v)) unless $ok;
    return $ok;
}

1;
