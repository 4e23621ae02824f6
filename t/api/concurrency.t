# Concurrent creates: one domain name raced by 50 clients of one tenant gives
# exactly one record; 20 different names in parallel all succeed.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use HTTP::Request ();
use JSON::PP ();
use LWP::UserAgent ();
use POSIX ();
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);

plan tests => 12;

my $P      = 'p_conc';
my $TENANT = 't_conc_race';
my $tok    = token(sub => 'conc', partner_id => $P, tenant_id => $TENANT,
                   role => 'tenant_admin');
my $JSON   = JSON::PP->new->utf8->canonical;
my $url    = Apache::TestRequest::resolve_url('/api/admin/domains');

# One POST per body, each from its own child process, all released at the
# same moment; [status, error code or '', id or ''] per request.
sub race {
    my @res = ScaiSend::Test::race_requests(
        map { +{ method => "POST", url => $url, token => $tok, json => $_ } } @_);
    return map { [$_->[0], $_->[1], $_->[2]{id} // ''] } @res;
}

# ---------------------------------------------------------------------------
# 50 creates of one name by one tenant.
my @res = race(map { { domain => 'race.conc.example' } } 1 .. 50);
my @created  = grep { $_->[0] == 201 } @res;
my @conflict = grep { $_->[0] == 409 } @res;
is scalar(grep { $_->[0] != 0 } @res), 50, '50 concurrent creates: 50 answers';
is scalar @created, 1, 'exactly one 201 Created';
is scalar @conflict, 49, 'exactly 49 409 Conflict';
is scalar(grep { $_->[1] eq 'domain_exists' } @conflict), 49,
    'every 409 has code domain_exists';
my %other;
$other{"$_->[0] $_->[1]"}++ for grep { $_->[0] != 201 && $_->[0] != 409 } @res;
is_deeply \%other, {}, 'no other statuses (no 500/503)';
my $winner = @created ? $created[0][2] : '';
like $winner, ID_RE, 'the 201 carries an id';

my $r = api(GET => 'domains?q=race.conc.example', token => $tok);
status_is $r, 200, 'list filtered by q: 200';
is_deeply ids_of($r), [$winner], 'the list shows exactly one race.conc.example, the winner';
$r = api(GET => "domains/$winner/dkim-keys", token => $tok);
is scalar @{ (ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY') ? $r->{json}{data} : [] }, 1,
    'the winner has exactly one DKIM key';

# ---------------------------------------------------------------------------
# 20 different names in parallel: all created, none lost.
my @names = map { "n$_.conc.example" } 1 .. 20;
@res = race(map { { domain => $_ } } @names);
is_deeply [ map { $_->[0] } @res ], [ (201) x 20 ], '20 concurrent creates of different names: all 201';
$r = api(GET => 'domains?q=conc.example&limit=200', token => $tok);
my %listed = map { $_ => 1 } @{ ids_of($r) };
is scalar(keys %listed), 21, 'the list holds 21 domains (race winner + 20)';
is scalar(grep { $listed{ $_->[2] } } @res), 20, 'every returned id is listed';
