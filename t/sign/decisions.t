# The signing decisions a process keeps (api.md section 10; README, "The
# send pipeline"): on SQLite a process asks the database once for a
# caller and a From: domain and signs from what it kept until any change
# is committed -- by any child -- or a second has passed; every change
# stops the old decision for every child at once. On PostgreSQL,
# where other nodes write, every signature asks the database.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use HTTP::Request ();
use IO::Handle ();
use JSON::PP ();
use LWP::UserAgent ();
use POSIX ();
use Time::HiRes ();
use ScaiSend::Test qw(token api error_log_offset error_log_since);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::PG qw(is_pgsql);

plan tests => 14;

my $P    = 'p_dec';
my $T    = 't_dec';
my $ZONE = 'example.com';
my $NAME = 'dec01.example.com';
my $ADM  = token(sub => 'dec-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $SND  = token(sub => 'dec-mta', partner_id => $P, tenant_id => undef, role => 'sender');
my $URL  = Apache::TestRequest::resolve_url("/api/admin/dkim/sign?tenant_id=$T");
my $LOGS = Apache::Test::vars('t_logs');
my $JSON = JSON::PP->new->utf8;
my $MSG  = join("\r\n", "From: Alice <alice\@$NAME>", 'To: bob@example.net',
                'Subject: decisions', 'Date: Fri, 27 Nov 2026 10:00:00 +0000', '',
                'A body.', '');

sub publish {
    knot_update($ZONE, map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @_);
}

# n signatures from 8 processes at once, each on a new connection per
# request (so that several children answer): [status, selector or error
# code] each, and the children that served them (t/logs/pid_log).
sub burst {
    my ($n) = @_;
    my $mark = -s "$LOGS/pid_log" // 0;
    pipe my $rd, my $wr or die "pipe: $!";
    my @pids;
    for my $w (0 .. 7) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $rd;
            alarm 60;
            my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 30);
            for (my $i = $w; $i < $n; $i += 8) {
                my $req = HTTP::Request->new(POST => $URL);
                $req->header(Authorization => "Bearer $SND", 'Content-Type' => 'message/rfc822',
                             'Content-Length' => length $MSG);
                $req->content($MSG);
                my $res = $ua->request($req);
                my $j = eval { $JSON->decode($res->content) } || {};
                my $what = $res->code == 200 ? ($j->{selector} // '?')
                         : ref $j->{error} eq 'HASH' ? $j->{error}{code} : '?';
                syswrite $wr, $res->code . " $what\n";
            }
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $wr;
    my @answers = map { chomp; $_ } <$rd>;
    waitpid $_, 0 for @pids;
    close $rd;
    open my $fh, '<', "$LOGS/pid_log" or die "$LOGS/pid_log: $!";
    seek $fh, $mark, 0;
    my %children = map { (split ' ')[0] => 1 } grep { m{ /api/admin/dkim/sign$} } <$fh>;
    close $fh;
    return ([sort @answers], scalar keys %children);
}

# the decision queries the error_log shows (LogLevel debug: SSD0110)
sub queries_since {
    my ($offset) = @_;
    return scalar grep { /SSD0110 .*: statement ssd_sign_candidates: ok/ } error_log_since($offset);
}

sub all_are {
    my ($answers, $want) = @_;
    my @other = grep { $_ ne $want } @$answers;
    return @$answers && !@other;
}

my $r = api(POST => 'domains', token => $ADM, json => { domain => $NAME });
die "create: " . describe($r) unless $r->{status} == 201;
my $id = $r->{json}{id};
publish(@{ $r->{json}{dns_records} });
$r = api(POST => "domains/$id/verify", token => $ADM);
die "verify: " . describe($r) unless $r->{status} == 200 && $r->{json}{verified};

# kept: far fewer questions than signatures (SQLite), one each (PostgreSQL)
my $off = error_log_offset();
my ($answers, $children) = burst(40);
ok all_are($answers, '200 scaisend'), '40 signatures, all with scaisend'
    or diag explain $answers;
cmp_ok $children, '>=', 2, "served by $children children";
my $asked = queries_since($off);
if (is_pgsql()) {
    is $asked, 40, 'PostgreSQL: every signature asked the database';
} else {
    # a child's first requests may miss together (8 at once at most), and
    # the background job's own writes count as changes too
    ok $asked >= 1 && $asked <= 20,
        "SQLite: $asked questions for 40 signatures (at most half)";
}

# a change committed by one child: no child signs from the old decision
$r = api(PATCH => "domains/$id", token => $ADM, json => { is_active => JSON::PP::false() });
status_is $r, 200, 'deactivated';
($answers, $children) = burst(40);
ok all_are($answers, '409 send_not_allowed'), 'at once, every child refuses: 409'
    or diag explain $answers;
cmp_ok $children, '>=', 2, "... ($children children)";
$r = api(PATCH => "domains/$id", token => $ADM, json => { is_active => JSON::PP::true() });
status_is $r, 200, 'active again';
($answers) = burst(40);
ok all_are($answers, '200 scaisend'), '... and every child signs again' or diag explain $answers;

# a rotation activated by a verify: every child signs with the new key
$r = api(POST => "domains/$id/rotate-dkim", token => $ADM);
status_is $r, 200, 'rotate';
publish($r->{json}{dns_record} || {});
$r = api(POST => "domains/$id/verify", token => $ADM);
my $g = api(GET => "domains/$id", token => $ADM);
ok $r->{status} == 200 && ($g->{json}{dkim_selector} // '') eq 'scaisend2',
    'the verify activates scaisend2' or diag describe($r);
($answers) = burst(40);
ok all_are($answers, '200 scaisend2'), 'at once, every child signs with scaisend2'
    or diag explain $answers;

# nothing changed, but the second a decision is kept for passed: asked again
($answers) = burst(8);
Time::HiRes::sleep(1.2);
$off = error_log_offset();
$r = api(POST => "dkim/sign?tenant_id=$T", token => $SND, body => $MSG,
         content_type => 'message/rfc822');
is $r->{status}, 200, 'a signature after 1.2 s';
Time::HiRes::sleep(0.2);
is queries_since($off), 1, '... asked the database (the kept decision was older than a second)';

ok 1, 'done';
