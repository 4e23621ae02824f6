# Concurrent rotations of one domain: 20 rotates at once give exactly one
# pending key; rotate racing the verification that activates the pending
# key, and rotate racing the removal of retired keys, lose no key, duplicate
# none, and keep selectors unique and increasing.
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
use ScaiSend::DNS qw(:all);

use constant ROUNDS => 4;

plan tests => 16 + ROUNDS * 5 + 9;

my $P    = 'p_crot';
my $ZONE = 'example.org';
my $NAME = 'c01.crot.example.org';
my $tok  = token(sub => 'crot', partner_id => $P, tenant_id => 't_crot',
                 role => 'tenant_admin');
my $JSON = JSON::PP->new->utf8->canonical;

sub publish {
    my (@recs) = @_;
    knot_update($ZONE, map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @recs);
}

# Fire the requests ([method, path, delay s], ...) each from its own child
# process, released at the same moment (plus its delay); [status, error code,
# json] per request.
sub race {
    return ScaiSend::Test::race_requests(map {
        +{ method => $_->[0], token => $tok, delay => $_->[2],
          url => Apache::TestRequest::resolve_url("/api/admin/$_->[1]") }
    } @_);
}

sub keys_now {
    my $r = api(GET => "domains/$_[0]/dkim-keys", token => $tok);
    return (ref $r->{json} eq 'HASH' && ref $r->{json}{data} eq 'ARRAY') ? $r->{json}{data} : [];
}
sub seq_of { my ($s) = @_; return $s eq 'scaisend' ? 1 : $s =~ /\Ascaisend(\d+)\z/ ? $1 : -1 }

# The invariants, as one test: one active key, at most one pending, no
# duplicate selector, selector numbers increasing with creation, and the
# domain's dkim_selector is the active key.  Returns the keys.
my %ever;       # every selector seen so far
sub invariants {
    my ($id, $name, %opt) = @_;
    my $keys = keys_now($id);
    my @why;
    my @active  = grep { $_->{state} eq 'active' } @$keys;
    my @pending = grep { $_->{state} eq 'pending' } @$keys;
    push @why, scalar(@active) . ' active keys' unless @active == 1;
    push @why, scalar(@pending) . ' pending keys' if @pending > 1;
    my %n;
    $n{ $_->{selector} }++ for @$keys;
    push @why, "duplicate selector $_" for grep { $n{$_} > 1 } sort keys %n;
    push @why, "bad selector $_" for grep { seq_of($_) < 1 } keys %n;
    my @by_seq = sort { seq_of($a->{selector}) <=> seq_of($b->{selector}) } @$keys;
    for my $i (1 .. $#by_seq) {
        push @why, "$by_seq[$i]{selector} created before $by_seq[$i-1]{selector}"
            if ($by_seq[$i]{created_at} // '') lt ($by_seq[$i-1]{created_at} // '');
    }
    my $d = api(GET => "domains/$id", token => $tok)->{json} || {};
    push @why, "dkim_selector $d->{dkim_selector} is not the active key"
        if @active == 1 && ($d->{dkim_selector} // '') ne $active[0]{selector};
    for my $s (@{ $opt{must_have} || [] }) {
        push @why, "key $s lost" unless $n{$s};
    }
    $ever{$_} = 1 for keys %n;
    ok !@why, $name;
    diag join "\n", @why, map { "  $_->{selector} $_->{state} $_->{created_at}" } @$keys if @why;
    return $keys;
}

# ---------------------------------------------------------------------------
my $r = api(POST => 'domains', token => $tok, json => { domain => $NAME });
status_is $r, 201, "create $NAME";
my $id = $r->{json}{id} // 'dom_none';
publish(@{ $r->{json}{dns_records} || [] });
$r = api(POST => "domains/$id/verify", token => $tok);
is $r->{json}{verified}, JSON::PP::true(), 'verified' or diag describe($r);

# 20 rotates at once
my @res = race(map { [POST => "domains/$id/rotate-dkim"] } 1 .. 20);
my @ok   = grep { $_->[0] == 200 } @res;
my @conf = grep { $_->[0] == 409 } @res;
is scalar(grep { $_->[0] } @res), 20, '20 concurrent rotates: 20 answers';
is scalar @ok, 1, 'exactly one 200';
is scalar @conf, 19, 'nineteen 409';
is scalar(grep { $_->[1] eq 'rotation_pending' } @conf), 19, 'every 409 is rotation_pending';
my %other;
$other{"$_->[0] $_->[1]"}++ for grep { $_->[0] != 200 && $_->[0] != 409 } @res;
is_deeply \%other, {}, 'no other status (no 500/503)';
my $won = @ok ? $ok[0][2] : {};
is $won->{new_selector}, 'scaisend2', 'the winner made scaisend2';
my $keys = keys_now($id);
is scalar(grep { $_->{state} eq 'pending' } @$keys), 1, 'exactly one pending key in dkim-keys';
is_deeply [sort map { $_->{selector} } @$keys], ['scaisend', 'scaisend2'],
    'dkim-keys holds scaisend and scaisend2, nothing else';
invariants($id, 'invariants after 20 concurrent rotates', must_have => ['scaisend']);

# the selector sequence was not consumed by the losers
$r = api(POST => "domains/$id/verify", token => $tok);
status_is $r, 200, 'verify (pending unpublished)';
publish($won->{dns_record} || {});
$r = api(POST => "domains/$id/verify", token => $tok);
status_is $r, 200, 'verify activates scaisend2';
$r = api(POST => "domains/$id/rotate-dkim", token => $tok);
status_is $r, 200, 'a rotate afterwards';
is $r->{json}{new_selector}, 'scaisend3', 'next selector is scaisend3';
my $pending_rec = $r->{json}{dns_record};
invariants($id, 'invariants after the sequential rotate', must_have => ['scaisend', 'scaisend2', 'scaisend3']);

# ---------------------------------------------------------------------------
# rotate racing the verify that activates the pending key
my $max_seq = 3;
for my $round (1 .. ROUNDS) {
    publish($pending_rec) if $pending_rec;
    my $before = keys_now($id);
    my ($p) = grep { $_->{state} eq 'pending' } @$before;
    my ($act) = grep { $_->{state} eq 'active' } @$before;
    # rotates spread over the verification's run, so some land before and
    # some after the activation
    @res = race([POST => "domains/$id/verify"],
                map { [POST => "domains/$id/rotate-dkim", $_] } 0, 0.003, 0.006, 0.01, 0.02, 0.04, 0.08);
    my ($v, @rot) = @res;
    is $v->[0], 200, "round $round: verify 200"
        or diag $JSON->encode($v);
    my @rok = grep { $_->[0] == 200 } @rot;
    ok @rok <= 1 && !grep({ $_->[0] != 200 && !($_->[0] == 409 && $_->[1] eq 'rotation_pending') } @rot),
        "round $round: rotates answer 200 (at most one) or 409 rotation_pending"
        or diag $JSON->encode(\@rot);
    my $after = invariants($id, "round $round: invariants",
                           must_have => [grep { defined } map { $_ && $_->{selector} } $act, $p]);
    my ($na) = grep { $_->{state} eq 'active' } @$after;
    is $na && $na->{selector}, $p && $p->{selector},
        "round $round: the published pending key " . ($p ? $p->{selector} : '?') . " is active";
    my @new = map { $_->[2]{new_selector} } @rok;
    my $ok_seq = 1;
    for my $s (@new) {
        $ok_seq = 0 unless seq_of($s) == $max_seq + 1;
        $max_seq = seq_of($s) if seq_of($s) > $max_seq;
    }
    ok $ok_seq, "round $round: a new selector continues the sequence (@new)";
    # make sure a pending key exists for the next round
    if (@rok) {
        $pending_rec = $rok[0][2]{dns_record};
    } else {
        $r = api(POST => "domains/$id/rotate-dkim", token => $tok);
        $pending_rec = $r->{json}{dns_record};
        $max_seq = seq_of($r->{json}{new_selector} // '') if $r->{status} == 200;
    }
}

# ---------------------------------------------------------------------------
# rotate racing the removal of retired keys
publish($pending_rec);
$r = api(POST => "domains/$id/verify", token => $tok);
status_is $r, 200, 'verify activates the last pending key';
$keys = keys_now($id);
my @retired = map { $_->{selector} } grep { $_->{state} eq 'retired' } @$keys;
my ($active) = map { $_->{selector} } grep { $_->{state} eq 'active' } @$keys;
ok @retired >= 2, 'at least two retired keys to remove (' . scalar(@retired) . ')';
@res = race((map { [DELETE => "domains/$id/dkim-keys/$_"] } @retired[0, 1]),
            [POST => "domains/$id/rotate-dkim"], [POST => "domains/$id/rotate-dkim"],
            [DELETE => "domains/$id/dkim-keys/$active"]);
is_deeply [map { $_->[0] } @res[0, 1]], [204, 204], 'both retired keys removed: 204';
is_deeply [sort map { $_->[0] } @res[2, 3]], [200, 409], 'the two rotates: one 200, one 409';
is_deeply [@{ $res[4] }[0, 1]], [409, 'key_in_use'], 'removing the active key meanwhile: 409 key_in_use';
$keys = invariants($id, 'invariants after rotate racing delete', must_have => [$active]);
my %have = map { $_->{selector} => $_->{state} } @$keys;
ok !exists $have{$retired[0]} && !exists $have{$retired[1]}, 'the removed keys are gone';
is $have{$active}, 'active', "the active key $active is still active";
my ($newp) = map { $_->[2]{new_selector} } grep { $_->[0] == 200 } @res[2, 3];
is seq_of($newp // ''), $max_seq + 1, 'the rotate made the next selector';
