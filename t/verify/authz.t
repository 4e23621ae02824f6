# Who may run POST /domains/{id}/verify (api.md section 1): the owning tenant
# and its partner's operators; another tenant or partner gets 404, a tenant
# on its partner's shared domain 403 shared_domain_read_only, the sender role
# 403; other methods 405 with Allow: POST.  A refused verify changes nothing.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use JSON::PP ();
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 17;

my $P = 'p_vauthz';
my $tenant_a = token(sub => 'vauthz-a', partner_id => $P, tenant_id => 't_vauthz_a', role => 'tenant_admin');
my $tenant_b = token(sub => 'vauthz-b', partner_id => $P, tenant_id => 't_vauthz_b', role => 'tenant_admin');
my $op       = token(sub => 'vauthz-op', partner_id => $P, tenant_id => undef, role => 'partner_operator');
my $op2      = token(sub => 'vauthz-op2', partner_id => 'p_vauthz_2', tenant_id => undef,
                     role => 'partner_operator');
my $other_partner_tenant = token(sub => 'vauthz-x', partner_id => 'p_vauthz_2', tenant_id => 't_vauthz_a',
                                 role => 'tenant_admin');
my $sender   = token(sub => 'vauthz-mta', partner_id => $P, tenant_id => 't_vauthz_a', role => 'sender');

my $da = new_domain($tenant_a, 'va01.example.com');
my $ds = new_domain($op, 'va02.example.com', is_shared => JSON::PP::true);
ok !$da->{error} && !$ds->{error}, 'fixtures: a tenant domain and a shared partner domain'
    or diag $da->{error} // $ds->{error};
publish_all($da);
publish_all($ds);

error_is verify($tenant_b, $da), 404, 'not_found', "tenant B verifies tenant A's domain: 404";
error_is verify($other_partner_tenant, $da), 404, 'not_found',
    "a same-named tenant of another partner verifies A's domain: 404";
error_is verify($op2, $da), 404, 'not_found', "another partner's operator verifies A's domain: 404";
error_is verify($tenant_a, 'dom_01ZZZZZZZZZZZZZZZZZZZZZZZZ'), 404, 'not_found', 'an unknown id: 404';
error_is verify($tenant_a, $ds), 403, 'shared_domain_read_only',
    "tenant A verifies its partner's shared domain: 403 shared_domain_read_only";
error_is verify($sender, $da), 403, 'forbidden', 'the sender role: 403 forbidden';
error_is api(GET => "domains/$da->{id}/verify", token => $tenant_a), 405, 'method_not_allowed',
    'GET verify: 405', allow => 'POST';
error_is api(PUT => "domains/$da->{id}/verify", token => $tenant_a, json => {}), 405, 'method_not_allowed',
    'PUT verify: 405', allow => 'POST';
error_is api(DELETE => "domains/$da->{id}/verify", token => $tenant_a), 405, 'method_not_allowed',
    'DELETE verify: 405', allow => 'POST';
my $r = verify(undef, $da);
ok $r->{status} == 401, 'no token: 401' or diag describe($r);

state_is($tenant_a, $da, 'the refused verifies changed nothing (never verified, rows pending)',
         verified => 0, last_verification => 0,
         status => { dkim => 'pending', spf => 'pending', dmarc => 'pending' });
state_is($op, $ds, 'the shared domain was not verified by the tenant', verified => 0, last_verification => 0,
         status => { dkim => 'pending', spf => 'pending', dmarc => 'pending' });

verify_is(verify($tenant_a, $da), 'the owning tenant verifies: 200', domain => 'va01.example.com');
verify_is(verify($op, $ds), 'the partner operator verifies the shared domain: 200', domain => 'va02.example.com');
verify_is(verify($op, $da), "the partner operator verifies tenant A's domain: 200", domain => 'va01.example.com');
state_is($tenant_a, $ds, 'the tenant reads the shared domain as verified', verified => 1,
         status => { dkim => 'verified', spf => 'verified', dmarc => 'verified' });
