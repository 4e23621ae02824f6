# Smoke test: the server is up, mod_auth_openidc checks HS256 bearer tokens,
# and the module fails closed where no authentication is configured.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use ScaiSend::Test qw(token api error_log_offset error_log_since);

plan tests => 6;

my $r = api(GET => '/static/bench.json');
ok t_cmp($r->{status}, 401, 'no token: 401');

$r = api(GET => '/static/bench.json', token => token());
ok t_cmp($r->{status}, 200, 'valid token: 200');
ok t_cmp(ref $r->{json}, 'HASH', 'JSON body decoded');

$r = api(GET => '/static/bench.json', token => token(-wrong_key => 1));
ok t_cmp($r->{status}, 401, 'token signed with another key: 401');

# <Location /misconfigured/api/admin> has SetHandler but no AuthType.
my $offset = error_log_offset();
$r = api(GET => '/misconfigured/api/admin/domains');
ok t_cmp($r->{status}, 401, 'no authentication configured: 401 (fails closed)');
select undef, undef, undef, 0.2;
ok t_cmp(scalar(grep { /no authenticated user/i } error_log_since($offset)) > 0, 1,
         'and logs an error');
