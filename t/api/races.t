# Concurrent changes of one domain (both engines): two PATCHes of different
# fields both survive and the audit trail tells what happened; a PATCH that
# meets a DELETE answers 200 only with its change recorded before
# domain.deleted, else 404; a rotation racing a DELETE leaves no key without
# its domain and answers 200 or 404, never 503.
#
# The interleavings that lost updates before are made certain, not hoped
# for: a PATCH's request line and headers go first (the module loads the
# domain, then waits for the body), the other request runs to its end, then
# the body follows. Random rounds of plain concurrent requests come after.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Apache::TestRequest ();
use JSON::PP ();
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::Race qw(:all);

plan tests => 23;

my $P   = 'p_races';
my $T   = 't_races';
my $ADM = token(sub => 'races-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $OP  = token(sub => 'races-op', partner_id => $P, tenant_id => undef, role => 'partner_operator');
my $JSON = JSON::PP->new->utf8->canonical;
my $HOLD = 0.8;       # seconds a held-back body waits: the other request runs meanwhile
my $n = 0;
my $LOG0 = ScaiSend::Test::error_log_offset();

sub url { Apache::TestRequest::resolve_url("/api/admin/$_[0]") }

sub create {
    my $name = sprintf 'r%02d.races.example', ++$n;
    my $r = api(POST => 'domains', token => $ADM, json => { domain => $name });
    die 'create: ' . describe($r) unless $r->{status} == 201;
    return $r->{json}{id};
}

# The domain.updated events, oldest first, from the API (live domains).
sub updates {
    my ($id) = @_;
    my $r = api(GET => "domains/$id/events?limit=200", token => $ADM);
    my $d = ref $r->{json} eq 'HASH' ? $r->{json}{data} : [];
    return [ reverse grep { ($_->{action} // '') eq 'domain.updated' } @{ $d || [] } ];
}

sub state_of {
    my ($id) = @_;
    my $j = api(GET => "domains/$id", token => $ADM)->{json} || {};
    return { is_active => ($j->{is_active} ? 1 : 0), dmarc_policy => $j->{dmarc_policy} // '?' };
}

sub flat { my ($v) = @_; return JSON::PP::is_bool($v) ? ($v ? 1 : 0) : $v }

# Replay the updates from the state at creation: each change's "from" must be
# the value it had then; the result must be the stored state. Problems, or ().
sub replay_problems {
    my ($id, $start, $now) = @_;
    my %s = %$start;
    my @why;
    for my $ev (@{ updates($id) }) {
        my $c = eval { ref $ev->{changes} ? $ev->{changes} : $JSON->decode($ev->{changes}) } || {};
        for my $f (sort keys %$c) {
            next unless exists $s{$f};
            my ($from, $to) = (flat($c->{$f}{from}), flat($c->{$f}{to}));
            push @why, "event $ev->{id}: $f from '$from', but it was '$s{$f}'" if "$from" ne "$s{$f}";
            $s{$f} = $to;
        }
    }
    for my $f (sort keys %s) {
        push @why, "replayed $f is '$s{$f}', stored '$now->{$f}'" if "$s{$f}" ne "$now->{$f}";
    }
    return @why;
}

my %START = (is_active => 1, dmarc_policy => 'none');
my $F = JSON::PP::false();

# --- 1. PATCH against PATCH, the first one's body held back -------------------------
for my $case (['dmarc_policy held, operator deactivates meanwhile',
               { dmarc_policy => 'reject' }, $ADM, { is_active => $F }, $OP],
              ['is_active held (operator), dmarc_policy changed meanwhile',
               { is_active => $F }, $OP, { dmarc_policy => 'reject' }, $ADM]) {
    my ($name, $held_body, $held_tok, $other_body, $other_tok) = @$case;
    my $id = create();
    my $s = slow_request(method => 'PATCH', url => url("domains/$id"), token => $held_tok,
                         body => $JSON->encode($held_body));
    sleep $HOLD;
    my $r2 = api(PATCH => "domains/$id", token => $other_tok, json => $other_body);
    my $r1 = $s->finish;
    ok $r1->{status} == 200 && $r2->{status} == 200, "$name: both PATCHes 200"
        or diag "held: $r1->{status} $r1->{body}\nother: " . describe($r2);
    my $now = state_of($id);
    is_deeply $now, { is_active => 0, dmarc_policy => 'reject' },
        "$name: both changes survive (inactive, reject)";
    my @why = replay_problems($id, \%START, $now);
    ok !@why, "$name: the domain.updated events replay to the stored state" or diag join "\n", @why;
    is scalar @{ updates($id) }, 2, "$name: two domain.updated events";
}

# --- 2. random rounds: two PATCHes at the same moment -------------------------------
{
    my $id = create();
    my (@lost, @bad_events, @statuses);
    for my $round (1 .. 5) {
        api(PATCH => "domains/$id", token => $OP, json => { is_active => JSON::PP::true(), dmarc_policy => 'none' });
        my %before = %{ state_of($id) };
        my $events0 = scalar @{ updates($id) };
        my @res = race(
            { method => 'PATCH', url => url("domains/$id"), token => $OP, json => { is_active => $F } },
            { method => 'PATCH', url => url("domains/$id"), token => $ADM,
              json => { dmarc_policy => 'reject' }, delay => 0.002 * ($round % 3) });
        push @statuses, map { $_->{status} } @res;
        my $now = state_of($id);
        push @lost, "round $round: " . $JSON->encode($now)
            unless $now->{is_active} == 0 && $now->{dmarc_policy} eq 'reject';
        my @ev = @{ updates($id) }[$events0 .. $events0 + 1];
        my %s = %before;
        for my $ev (grep { defined } @ev) {
            my $c = eval { ref $ev->{changes} ? $ev->{changes} : $JSON->decode($ev->{changes}) } || {};
            for my $f (keys %$c) {
                push @bad_events, "round $round: $f from " . flat($c->{$f}{from}) . " but was $s{$f}"
                    if exists $s{$f} && "" . flat($c->{$f}{from}) ne "$s{$f}";
                $s{$f} = flat($c->{$f}{to});
            }
        }
        push @bad_events, "round $round: " . scalar(grep { defined } @ev) . ' new events, expected 2'
            unless 2 == grep { defined } @ev;
    }
    is_deeply [ grep { $_ != 200 } @statuses ], [], '5 rounds of two concurrent PATCHes: every answer 200';
    ok !@lost, 'every round: deactivation and dmarc_policy both survive' or diag join "\n", @lost;
    ok !@bad_events, "every round: each event's from is the value before it" or diag join "\n", @bad_events;
}

# --- 3. PATCH against DELETE ------------------------------------------------------------

# The domain's events as stored (the API no longer shows a deleted domain's),
# in commit order as far as ids tell: [id, action, changes].
sub stored_events {
    my ($id) = @_;
    return db_rows('SELECT id, action, changes FROM ssd_events WHERE domain_id = '
                   . sql_quote($id) . ' ORDER BY id');
}

{
    my $id = create();
    my $s = slow_request(method => 'PATCH', url => url("domains/$id"), token => $ADM,
                         body => $JSON->encode({ dmarc_policy => 'reject' }));
    sleep $HOLD;
    my $d = api(DELETE => "domains/$id", token => $ADM);
    my $p = $s->finish;
    status_is $d, 204, 'PATCH held, DELETE meanwhile: the DELETE 204';
    ok $p->{status} == 404 && $p->{code} eq 'not_found',
        'the PATCH whose body came after the delete: 404 not_found (not 200)'
        or diag "PATCH: $p->{status} $p->{body}";
    my @ev = map { $_->[1] } stored_events($id);
    is_deeply \@ev, ['domain.created', 'domain.deleted'],
        'the audit trail: created, deleted; no update after the delete'
        or diag "events: @ev";
}
{
    my $id = create();
    my $p = api(PATCH => "domains/$id", token => $ADM, json => { dmarc_policy => 'reject' });
    my $d = api(DELETE => "domains/$id", token => $ADM);
    ok $p->{status} == 200 && $d->{status} == 204, 'PATCH then DELETE: 200, 204';
    is_deeply [ map { $_->[1] } stored_events($id) ], ['domain.created', 'domain.updated', 'domain.deleted'],
        'the audit trail: created, updated, deleted';
}

# Random rounds: a PATCH and a DELETE at nearly the same moment, 4 domains.
{
    my @ids = map { create() } 1 .. 4;
    my @reqs;
    for my $i (0 .. $#ids) {
        push @reqs, { method => 'PATCH', url => url("domains/$ids[$i]"), token => $ADM,
                      json => { dmarc_policy => 'quarantine' }, delay => 0.003 * $i },
                    { method => 'DELETE', url => url("domains/$ids[$i]"), token => $ADM,
                      delay => 0.003 * (3 - $i) };
    }
    my @res = race(@reqs);
    my (@bad, %seen);
    for my $i (0 .. $#ids) {
        my ($p, $d) = @res[2 * $i, 2 * $i + 1];
        $seen{"PATCH $p->{status}"}++;
        $seen{"DELETE $d->{status}"}++;
        push @bad, "domain $i: DELETE $d->{status} $d->{code}" unless $d->{status} == 204;
        my @ev = stored_events($ids[$i]);
        my ($del) = grep { $_->[1] eq 'domain.deleted' } @ev;
        my @upd = grep { $_->[1] eq 'domain.updated' } @ev;
        if ($p->{status} == 200) {
            # ids sort by millisecond first: an update in a later millisecond
            # than the delete was written after it
            my $late = $del && @upd && substr($upd[0][0], 0, 14) gt substr($del->[0], 0, 14);
            push @bad, "domain $i: PATCH 200 but " . (@upd ? 'its event follows domain.deleted' : 'no event')
                if !@upd || $late;
        } elsif ($p->{status} == 404) {
            push @bad, "domain $i: PATCH 404 but an update was recorded" if @upd;
        } else {
            push @bad, "domain $i: PATCH $p->{status} $p->{code}";
        }
    }
    ok !@bad, '4 PATCH/DELETE races: PATCH 200 with its event before domain.deleted, or 404; DELETE 204'
        or diag join "\n", @bad, join ' ', map { "$_ x$seen{$_}" } sort keys %seen;
}

# --- 4. rotation against DELETE ------------------------------------------------------------
# Four domains, each rotated and deleted at once (the deletes spread over
# the time a key generation takes): every answer is 200/404 for the
# rotation and 204 for the delete; no key row survives its domain.
{
    my @ids = map { create() } 1 .. 4;
    my @reqs;
    for my $i (0 .. $#ids) {
        push @reqs, { method => 'POST', url => url("domains/$ids[$i]/rotate-dkim"), token => $ADM },
                    { method => 'DELETE', url => url("domains/$ids[$i]"), token => $ADM,
                      delay => 0.05 + 0.15 * $i };
    }
    my @res = race(@reqs);
    my @rot = map { $res[2 * $_] } 0 .. $#ids;
    my @del = map { $res[2 * $_ + 1] } 0 .. $#ids;
    is_deeply [ grep { $_->{status} != 200 && !($_->{status} == 404 && $_->{code} eq 'not_found') } @rot ], [],
        '4 rotations racing deletes: each 200, or 404 not_found once the domain is gone'
        or diag join ' ', map { "$_->{status}:$_->{code}" } @rot;
    ok !grep({ $_->{status} == 503 || $_->{status} == 500 } @rot, @del), 'no 500 or 503 among them'
        or diag join ' ', map { "$_->{status}:$_->{code}" } @rot, @del;
    is_deeply [ map { $_->{status} } @del ], [ (204) x 4 ], 'every DELETE 204';
    my $in = join ', ', map { sql_quote($_) } @ids;
    is db_value("SELECT count(*) FROM ssd_dkim_keys WHERE domain_id IN ($in)"), 0,
        'no key row left of the deleted domains';
    is db_value('SELECT count(*) FROM ssd_dkim_keys k WHERE NOT EXISTS'
                . ' (SELECT 1 FROM ssd_domains d WHERE d.id = k.domain_id)'), 0,
        'no key row anywhere without its domain';
    ok !ScaiSend::Race::crash_lines($LOG0), 'no child crashed';
}
