use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok need);
use Apache::TestUtil qw(t_cmp);
use Test::More ();
use ScaiSend::Test qw(token api);

plan tests => 4;

my $r = api(GET => '/static/bench.json');
ok t_cmp($r->{status}, 401, 'no token: 401');

$r = api(GET => '/static/bench.json', token => token());
ok t_cmp($r->{status}, 200, 'valid token: 200');
ok t_cmp(ref $r->{json}, 'HASH', 'JSON body decoded');

$r = api(GET => '/static/bench.json', token => token(-wrong_key => 1));
ok t_cmp($r->{status}, 401, 'token signed with another key: 401');
