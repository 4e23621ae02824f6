# Domains per owner (ScaiSendMaxDomainsPerTenant, api.md section 11), on a
# node with a quota of 5: 20 concurrent creates of one tenant give exactly 5
# x 201 and 15 x 429 quota_exceeded; the 6th create afterwards is 429 too
# (no Retry-After: the quota does not clear with time); another tenant of
# the same partner, and the partner's own domains, are not affected; a
# delete makes room again.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token);
use ScaiSend::Assert qw(:all);
use ScaiSend::PG qw(start_node stop_node node_api);
use ScaiSend::Race qw(race crash_lines);

plan tests => 12;

my $QUOTA = 5;
my $P  = 'p_quota';
my $TA = token(sub => 'quota-a', partner_id => $P, tenant_id => 't_quota_a', role => 'tenant_admin');
my $TB = token(sub => 'quota-b', partner_id => $P, tenant_id => 't_quota_b', role => 'tenant_admin');
my $OP = token(sub => 'quota-op', partner_id => $P, tenant_id => undef, role => 'partner_operator');

my $node = start_node('quota', append => "ScaiSendMaxDomainsPerTenant $QUOTA", expect_failure => 1);
ok !$node->{failed}, "a node with ScaiSendMaxDomainsPerTenant $QUOTA"
    or diag "it did not start:\n" . join "\n", grep { /error|emerg|Invalid|Syntax/i } split /\n/, $node->{output} // '';
END { local $?; stop_node($node) if $node && !$node->{failed}; }

SKIP: {
    skip 'no node', 11 if $node->{failed};
    my $url = "$node->{base}/api/admin/domains";
    my @res = race(map { +{ method => 'POST', url => $url, token => $TA,
                            json => { domain => "q$_.quota-a.example" } } } 1 .. 20);
    my %by;
    $by{"$_->{status} $_->{code}"}++ for @res;
    is $by{'201 '} // 0, $QUOTA, "20 concurrent creates of one tenant: exactly $QUOTA x 201"
        or diag join ', ', map { "$_ x$by{$_}" } sort keys %by;
    is $by{'429 quota_exceeded'} // 0, 20 - $QUOTA, '... and ' . (20 - $QUOTA) . ' x 429 quota_exceeded';
    my $list = node_api($node, GET => 'domains?limit=200', token => $TA);
    is scalar @{ ids_of($list) }, $QUOTA, "the tenant lists $QUOTA domains";

    my $sixth = node_api($node, POST => 'domains', token => $TA, json => { domain => 'sixth.quota-a.example' });
    error_is $sixth, 429, 'quota_exceeded', 'the 6th create: 429 quota_exceeded';
    ok !defined $sixth->{headers}->header('Retry-After'), '... without Retry-After';

    my $other = node_api($node, POST => 'domains', token => $TB, json => { domain => 'q1.quota-a.example' });
    status_is $other, 201, 'another tenant of the partner creates (even the same name): 201';
    my $own = node_api($node, POST => 'domains', token => $OP, json => { domain => 'q1.quota-p.example' });
    status_is $own, 201, "the partner's own domain: 201";

    my ($gone) = grep { $_->{status} == 201 } @res;
    my $d = node_api($node, DELETE => "domains/$gone->{json}{id}", token => $TA);
    status_is $d, 204, 'the tenant deletes one';
    my $again = node_api($node, POST => 'domains', token => $TA, json => { domain => 'again.quota-a.example' });
    status_is $again, 201, 'then a create fits again: 201';
    my $full = node_api($node, POST => 'domains', token => $TA, json => { domain => 'full.quota-a.example' });
    error_is $full, 429, 'quota_exceeded', 'and the next one is 429 again';
    my @crash = crash_lines(0, $node->{error_log});
    ok !@crash, 'no child of the node died' or diag join "\n", @crash;
}
