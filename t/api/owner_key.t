# Owners whose ids join to the same text are still different owners: ids
# may hold ':' (the principal accepts any printable ASCII but the space).
# Partner px with tenant a:b, and partner px:a with tenant b, each register
# owner.example.com: both 201, each sees only its own record, and neither
# can read or change the other's.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);

plan tests => 9;

my $NAME = 'owner.example.com';
my $A = token(sub => 'owner-a', partner_id => 'px', tenant_id => 'a:b', role => 'tenant_admin');
my $B = token(sub => 'owner-b', partner_id => 'px:a', tenant_id => 'b', role => 'tenant_admin');
my $OPB = token(sub => 'owner-opb', partner_id => 'px:a', tenant_id => undef, role => 'partner_operator');

my $ra = api(POST => 'domains', token => $A, json => { domain => $NAME });
status_is $ra, 201, 'partner px, tenant a:b: 201';
my $rb = api(POST => 'domains', token => $B, json => { domain => $NAME });
status_is $rb, 201, 'partner px:a, tenant b (another owner), the same name: 201 (not domain_exists)';
my ($ida, $idb) = map { ref $_->{json} eq 'HASH' ? $_->{json}{id} // 'none' : 'none' } $ra, $rb;
isnt $ida, $idb, 'two records';
is_deeply ids_of(api(GET => "domains?q=$NAME", token => $A)), [$ida], 'px / a:b lists only its own';
is_deeply ids_of(api(GET => "domains?q=$NAME", token => $B)), [$idb], 'px:a / b lists only its own';
my $r = api(GET => "domains/$idb", token => $A);
ok $r->{status} == 403 || $r->{status} == 404, "px / a:b cannot read the other's record ($r->{status})";
$r = api(PATCH => "domains/$ida", token => $OPB, json => { dmarc_policy => 'reject' });
ok $r->{status} == 403 || $r->{status} == 404, "partner px:a's operator cannot change px's record ($r->{status})";
is api(GET => "domains/$ida", token => $A)->{json}{dmarc_policy}, 'none', "px's record unchanged";
error_is api(POST => 'domains', token => $B, json => { domain => $NAME }), 409, 'domain_exists',
    'a second create by px:a / b: 409 domain_exists';
