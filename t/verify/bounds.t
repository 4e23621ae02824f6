# Bounds of verification: a nameserver that never answers cannot hold a
# verify longer than its budget; 20 concurrent verifies of one domain run one
# set of lookups (counted by Knot's statistics); a second verify within
# ScaiSendVerifyInterval is 429 with Retry-After.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use File::Temp qw(tempdir);
use HTTP::Request ();
use JSON::PP ();
use LWP::UserAgent ();
use POSIX ();
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 17;

my $tok = token(sub => 'bounds-admin', partner_id => 'p_vbounds', tenant_id => 't_vbounds',
                role => 'tenant_admin');
my $BUDGET = 3.0;          # ScaiSendVerifyBudget 3000 (t/conf/extra.conf.in)
my $INTERVAL = 10;         # ScaiSendVerifyInterval of the scaisend_interval host
my $CHILDREN = 20;
my $JSON = JSON::PP->new->utf8->canonical;

# --- (a) a nameserver that never answers -----------------------------------------------
{
    my $d = new_domain($tok, 'vb01.example.com');
    publish_all($d);
    my $asked0 = bad_dns_query_count('silent');
    Apache::TestRequest::module('scaisend_silent');
    my $t0 = time;
    my $r = verify($tok, $d);
    my $elapsed = time - $t0;
    Apache::TestRequest::module('default');
    ok $elapsed <= $BUDGET + 1, sprintf('silent nameserver: verify answered within the budget + 1 s (%.2f s)',
                                        $elapsed);
    verify_is($r, 'silent nameserver: dns_timeout for every check, temperror', domain => 'vb01.example.com',
              verified => 0, dkim => 'temperror', spf => 'temperror', dmarc => 'temperror',
              errors => [qw(dkim:dns_timeout spf:dns_timeout dmarc:dns_timeout)]);
    ok bad_dns_query_count('silent') - $asked0 >= 3, 'the silent nameserver was really asked';
}

# --- (b) 20 concurrent verifies: one set of lookups -----------------------------------------
# One verify of a domain with the records published as returned: how many
# queries Knot receives for one set of lookups.
my $dm = new_domain($tok, 'vb02.example.com');
publish_all($dm);
my $q0 = knot_query_count();
verify_is(verify($tok, $dm), 'reference domain verified (one set of lookups)', domain => 'vb02.example.com');
my $one_set = knot_query_count() - $q0;
ok $one_set >= 3, "one verification = $one_set queries to Knot (DKIM, SPF, DMARC)";

my $dc = new_domain($tok, 'vb03.example.com');
publish_all($dc);
Apache::TestRequest::module('scaisend_interval');
my $url = Apache::TestRequest::resolve_url("/api/admin/domains/$dc->{id}/verify");
Apache::TestRequest::module('default');

my $dir = tempdir(CLEANUP => 1);
my $start = time + 1.0;
my $before = knot_query_count();
my @pids;
for my $i (1 .. $CHILDREN) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        alarm 60;
        my $ua = LWP::UserAgent->new(timeout => 30, keep_alive => 0);
        my $req = HTTP::Request->new(POST => $url);
        $req->header(Authorization => "Bearer $tok");
        my $wait = $start - time;
        sleep $wait if $wait > 0;
        my $res = $ua->request($req);
        if (open my $fh, '>', "$dir/$i.tmp") {
            print {$fh} join("\n", $res->code, $res->header('Retry-After') // '', $res->content);
            close $fh;
            rename "$dir/$i.tmp", "$dir/$i";
        }
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
my $deadline = time + 90;
while (@pids && time < $deadline) {
    @pids = grep { waitpid($_, POSIX::WNOHANG()) == 0 } @pids;
    sleep 0.05 if @pids;
}
kill KILL => @pids if @pids;
waitpid($_, 0) for @pids;
my $after = knot_query_count();

my @res;
for my $i (1 .. $CHILDREN) {
    open my $fh, '<', "$dir/$i" or next;
    local $/;
    my ($code, $retry, $body) = split /\n/, <$fh>, 3;
    push @res, { code => $code, retry => $retry, body => $body // '' };
}
is scalar @res, $CHILDREN, "$CHILDREN concurrent verifies all answered";
my @ok = grep { $_->{code} == 200 } @res;
my @busy = grep { $_->{code} == 429 } @res;
is @ok + @busy, scalar @res, 'each answer is 200 or 429'
    or diag join ' ', map { $_->{code} } @res;
ok @ok >= 1, sprintf('at least one 200 (%d x 200, %d x 429)', scalar @ok, scalar @busy);
ok !grep({ $_->{retry} !~ /\A[1-9][0-9]*\z/ || $_->{retry} > $INTERVAL } @busy),
    'every 429 has a Retry-After of 1 to 10 s';
my %bodies = map { my $j = eval { $JSON->decode($_->{body}) }; (($j ? $JSON->encode($j) : "unparsable: $_->{body}") => 1) } @ok;
is scalar keys %bodies, 1, 'every 200 carries the same answer (one verification shared)'
    or diag join "\n", keys %bodies;
my $answer = @ok ? eval { $JSON->decode($ok[0]{body}) } : undef;
ok ref $answer eq 'HASH' && $answer->{verified} && $answer->{domain} eq 'vb03.example.com',
    'that answer: vb03.example.com verified';
is $after - $before, $one_set, "Knot received exactly one set of lookups ($one_set queries) for the $CHILDREN verifies";
state_is($tok, $dc, 'vb03: verified once', verified => 1,
         status => { dkim => 'verified', spf => 'verified', dmarc => 'verified' });

# --- (c) the minimum interval ------------------------------------------------------------------
{
    my $d = new_domain($tok, 'vb04.example.com');
    publish_all($d);
    Apache::TestRequest::module('scaisend_interval');
    my $r1 = verify($tok, $d);
    my $r2 = verify($tok, $d);
    Apache::TestRequest::module('default');
    verify_is($r1, 'interval host: first verify runs', domain => 'vb04.example.com');
    error_is($r2, 429, 'too_many_requests', 'interval host: a second verify right after: 429 too_many_requests');
    my $ra = $r2->{headers}->header('Retry-After') // '';
    ok $ra =~ /\A\d+\z/ && $ra >= 1 && $ra <= $INTERVAL, "Retry-After between 1 and $INTERVAL ($ra)";
    sleep(($ra =~ /\A\d+\z/ && $ra <= $INTERVAL ? $ra : $INTERVAL) + 0.3);
    Apache::TestRequest::module('scaisend_interval');
    my $r3 = verify($tok, $d);
    Apache::TestRequest::module('default');
    verify_is($r3, 'after Retry-After seconds: verify runs again', domain => 'vb04.example.com');
}
