package ScaiSend::Assert;

# Assertions shared by the API tests (t/api/*.t).  Each assertion function
# runs exactly ONE Test::More test, so the files can count their plans.
#
#   use ScaiSend::Assert qw(:all);
#   error_is($r, 400, 'invalid_domain', 'label of 64 characters', field => 'domain');
#   my @keys = top_keys($r->{body});      # key order of the top-level object

use strict;
use warnings;

use Exporter 'import';
use JSON::PP ();
use Test::More ();

our @EXPORT_OK = qw(error_is status_is top_keys private_material describe
                    is_rfc3339 rfc3339_epoch ids_of ID_RE);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

use constant ID_RE => qr/\Adom_[0-7][0-9A-HJKMNP-TV-Z]{25}\z/;

# "POST /api/admin/domains -> 400 {...}" for diagnostics.
sub describe {
    my ($r) = @_;
    my $req = $r->{response} ? $r->{response}->request : undef;
    my $what = $req ? $req->method . ' ' . $req->uri->path_query : '?';
    my $body = defined $r->{body} ? $r->{body} : '';
    $body = substr($body, 0, 400) . '...' if length $body > 400;
    my $ct = $r->{headers} ? ($r->{headers}->header('Content-Type') // '') : '';
    return "$what -> $r->{status} [$ct] $body";
}

# error_is($r, $status, $code, $name, %opt): one test.
#   field => 'x'     error.field must equal 'x'
#   allow => 'GET'   the Allow header must equal exactly this
#   www_auth => qr// the WWW-Authenticate header must match
sub error_is {
    my ($r, $status, $code, $name, %opt) = @_;
    my @why;
    push @why, "status $r->{status}, expected $status" if $r->{status} != $status;
    my $ct = $r->{headers}->header('Content-Type') // '';
    push @why, "Content-Type '$ct', expected application/json"
        unless $ct =~ m{\Aapplication/json\s*(?:;|\z)}i;
    my $e = ref $r->{json} eq 'HASH' ? $r->{json}{error} : undef;
    if (ref $e ne 'HASH') {
        push @why, 'body is not {"error":{...}}';
    } else {
        my $got = defined $e->{code} ? $e->{code} : '(none)';
        push @why, "error.code '$got', expected '$code'" if $got ne $code;
        push @why, 'error.message missing or not a non-empty string'
            unless defined $e->{message} && !ref $e->{message}
                && length $e->{message};
        if (exists $opt{field}) {
            my $f = defined $e->{field} ? $e->{field} : '(none)';
            push @why, "error.field '$f', expected '$opt{field}'"
                if $f ne $opt{field};
        }
        my @extra = grep { !/\A(?:code|message|field)\z/ } keys %$e;
        push @why, "unexpected keys in error: @extra" if @extra;
        my @top = grep { $_ ne 'error' } keys %{ $r->{json} };
        push @why, "unexpected top-level keys: @top" if @top;
    }
    if (defined $opt{allow}) {
        my $allow = $r->{headers}->header('Allow');
        push @why, "Allow '" . ($allow // '(none)') . "', expected '$opt{allow}'"
            if !defined $allow || $allow ne $opt{allow};
    }
    if ($opt{www_auth}) {
        my $wa = $r->{headers}->header('WWW-Authenticate');
        push @why, "WWW-Authenticate '" . ($wa // '(none)') . "' does not match $opt{www_auth}"
            if !defined $wa || $wa !~ $opt{www_auth};
    }
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::ok(!@why, $name);
    Test::More::diag(join("\n", @why, describe($r))) unless $ok;
    return $ok;
}

# status_is($r, $status, $name): one test, with the response in the diagnostics.
sub status_is {
    my ($r, $status, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $ok = Test::More::ok($r->{status} == $status, $name);
    Test::More::diag("expected $status\n" . describe($r)) unless $ok;
    return $ok;
}

# Keys of the top-level JSON object, in the order they appear in the text.
sub top_keys {
    my ($text) = @_;
    my (@keys, $depth, $want_key);
    $depth = 0;
    pos($text) = 0;
    while (pos($text) < length $text) {
        if ($text =~ /\G"((?:[^"\\]|\\.)*)"/gcs) {
            if ($depth == 1 && $want_key) {
                push @keys, $1;
                $want_key = 0;
            }
        } elsif ($text =~ /\G([{\[])/gc) {
            $depth++;
            $want_key = ($1 eq '{' && $depth == 1);
        } elsif ($text =~ /\G[}\]]/gc) {
            $depth--;
        } elsif ($text =~ /\G,/gc) {
            $want_key = 1 if $depth == 1;
        } else {
            $text =~ /\G[^"{}\[\],]+/gc or last;
        }
    }
    return @keys;
}

# Problems with private key material in a response body (empty list: none).
sub private_material {
    my ($body) = @_;
    return () unless defined $body && length $body;
    my @p;
    push @p, 'contains "PRIVATE KEY"' if $body =~ /PRIVATE KEY/;
    push @p, "contains an RSA private key in DER/base64 (MIIE..IBA..)"
        if $body =~ /MIIE..IBA(?:AKCAQEA|DANBgkq)/;
    while ($body =~ /"((?:[^"\\]|\\.)*)"\s*:/g) {
        push @p, "key '$1'" if $1 =~ /private|wrapped|secret|\bkek\b/i;
    }
    return @p;
}

sub is_rfc3339 {
    my ($v) = @_;
    return defined $v && !ref $v
        && $v =~ /\A\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ\z/;
}

sub rfc3339_epoch {
    my ($v) = @_;
    return undef unless is_rfc3339($v);
    require Time::Local;
    my ($y, $mo, $d, $h, $mi, $s) = $v =~ /(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z/;
    return Time::Local::timegm($s, $mi, $h, $d, $mo - 1, $y);
}

# ids of a list response ([] when the body is not a list response).
sub ids_of {
    my ($r) = @_;
    my $d = ref $r->{json} eq 'HASH' ? $r->{json}{data} : undef;
    return [] unless ref $d eq 'ARRAY';
    return [ map { ref $_ eq 'HASH' ? $_->{id} : undef } @$d ];
}

1;
