# Runs after every other test file (t/TEST sorts by name): docs/openapi.yaml
# must be a valid OpenAPI 3.1 document, and every response the suite
# received (recorded by ScaiSend::Test in t/logs/openapi-exchanges.jsonl)
# must match it: route, status, Content-Type, required headers and body.
# One Python process does the checking (t/lib/ScaiSend/openapi_check.py,
# Debian's python3-jsonschema and python3-yaml); the OpenAPI 3.1
# meta-schema comes from the npm package pinned in build/openapi
# (build/install-openapi-deps).  The summary is left in
# t/logs/openapi-summary.json.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_debug);
use JSON::PP ();
use ScaiSend::Test qw(token api);

my $top    = "$FindBin::Bin/..";
my $spec   = "$top/docs/openapi.yaml";
my $meta   = "$top/build/openapi/node_modules/" . q{@seriousme/openapi-schema-validator}
           . "/schemas/v3.1/schema.json";
my $check  = "$FindBin::Bin/lib/ScaiSend/openapi_check.py";
my $file   = ScaiSend::Test::exchanges_file();
(my $summary_file = $file) =~ s{[^/]+$}{openapi-summary.json};

plan tests => 6;

sub lines_of {
    open my $fh, '<', $file or return 0;
    my $n = 0;
    $n++ while <$fh>;
    return $n;
}

# 1. The recorder: this file's own requests land in the file, one line each.
my $before = lines_of();
my $tok = token(sub => 'zz-openapi', partner_id => 'p_zzoa', tenant_id => 't_zzoa',
                role => 'tenant_admin');
my $c = api(POST => 'domains', token => $tok, json => { domain => 'zz-openapi.example.com' });
my @sent = ($c);
push @sent, api(GET => "domains/$c->{json}{id}", token => $tok) if $c->{json}{id};
push @sent, api(GET => 'domains/nope/nothing', token => $tok);    # unknown route
push @sent, api(PUT => 'domains', token => $tok);                 # 405
push @sent, api(GET => 'domains');                                # 401, no token
my $after = lines_of();
ok $after - $before == @sent && $c->{status} == 201;
t_debug("recorded " . ($after - $before) . " of " . scalar(@sent) . " exchanges");

open my $fh, '<', $file or die "$file: $!";
my @own = map { JSON::PP->new->decode($_) } (<$fh>)[$before .. $after - 1];
close $fh;
ok !grep({ exists $_->{headers}{Authorization} || ($_->{url} // '') =~ /Bearer/ } @own)
    && @own == @sent && $own[-1]{status} == 401 && length($own[0]{body_b64} // '') > 0;

# 2. The document and every recorded response, in one Python process.
ok -f $meta or print STDERR "# missing $meta: run build/install-openapi-deps "
                          . "(make -f apxs.mk deps)\n";
my $known  = "$FindBin::Bin/lib/ScaiSend/openapi-known-deviations.txt";
my $out = `/usr/bin/python3 '$check' --spec '$spec' --meta '$meta' --exchanges '$file' --known '$known' --summary '$summary_file' 2>&1`;
my $rc = $? >> 8;
print STDERR "# $_\n" for grep { /MISMATCH|known deviation|document:|cannot/ } split /\n/, $out;
t_debug($_) for split /\n/, $out;
my $sum = eval {
    open my $s, '<', $summary_file or die $!;
    local $/;
    JSON::PP->new->decode(<$s>);
} || {};

ok $rc != 3 && @{ $sum->{document_problems} // ['no summary'] } == 0;
ok(($sum->{checked} // 0) >= @sent);
ok $rc == 0 && @{ $sum->{mismatches} // ['no summary'] } == 0;
print STDERR "# openapi: $sum->{exchanges} exchanges, $sum->{checked} checked against "
           . "docs/openapi.yaml, " . scalar(@{ $sum->{mismatches} }) . " kinds of mismatch, "
           . scalar(@{ $sum->{known} }) . " known deviations (details: openapi-summary.json in the logs)\n"
    if defined $sum->{exchanges};
