# A verification whose checks cannot run decides nothing (issue: "check
# slots start zeroed and zero means pass"). A node of the suite's server
# runs with t/fault/fail-threads.c preloaded: while a flag file exists,
# pthread_create fails. The domain's records -- and a pending key's -- are
# published correctly, so a verification that ran would verify it and
# activate the pending key; one whose threads cannot start must answer
# temperror for every check, store nothing and activate nothing.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api);
use ScaiSend::DNS qw(knot_update);

my $logs = Apache::Test::vars('t_logs');
my $dir = "$logs/fault";
make_path($dir);
my $so = "$dir/fail-threads.so";
my $src = "$FindBin::Bin/../fault/fail-threads.c";
if (system('cc', '-shared', '-fPIC', '-o', $so, $src, '-ldl') != 0) {
    plan skip_all => "cannot build $src with cc";
}
plan tests => 18;

my $flag = "$dir/threads-fail";
unlink $flag;
my $preload = join ' ', grep { defined && length } $ENV{SCAISEND_HTTPD_PRELOAD}, $so;
my $node = start_node('threads', env => { LD_PRELOAD => $preload,
                                          SCAISEND_FAULT_THREADS => $flag });
my $A = token(sub => 'thr-a', partner_id => 'p_thr', tenant_id => 't_thr',
              role => 'tenant_admin');
my $name = 'thr01.example.org';

sub publish_rows {
    knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] } @_);
}
sub api_n { return node_api($node, @_, token => $A) }
sub actions {
    my ($id) = @_;
    my $r = api_n(GET => "domains/$id/events");
    return join ' ', map { $_->{action} } reverse @{ $r->{json}{data} || [] };
}

my $r = api_n(POST => 'domains', json => { domain => $name });
is $r->{status}, 201, 'create';
my $d = $r->{json} || {};
my $id = $d->{id} // 'dom_none';
publish_rows(@{ $d->{dns_records} || [] });
$r = api_n(POST => "domains/$id/rotate-dkim");
is $r->{status}, 200, 'rotate: a pending key';
publish_rows($r->{json}{dns_record} || {});
my $events_before = actions($id);

# --- threads cannot be created ------------------------------------------------
open my $fh, '>', $flag or die "$flag: $!";
close $fh;
$r = api_n(POST => "domains/$id/verify");
unlink $flag;
is $r->{status}, 200, 'verify without threads: 200 with the answer';
my $v = $r->{json} || {};
is $v->{verified}, JSON::PP::false(), '... verified: false';
is_deeply { map { $_ => $v->{checks}{$_}{status} } qw(dkim spf dmarc) },
    { dkim => 'temperror', spf => 'temperror', dmarc => 'temperror' },
    '... every check is temperror, none passed';
is_deeply [ sort map { $_->{code} } @{ $v->{errors} || [] } ],
    [qw(check_not_run check_not_run check_not_run)],
    '... each with the error check_not_run';
is $v->{dkim_verified}, JSON::PP::false(), '... dkim_verified: false';

$r = api_n(GET => "domains/$id");
my $g = $r->{json} || {};
is $g->{verified}, JSON::PP::false(), 'stored: still unverified';
is $g->{last_verification}, undef, 'stored: no last_verification';
is $g->{dkim_selector}, 'scaisend', 'the pending key was not activated';
is_deeply [ map { $_->{status} } @{ $g->{dns_records} || [] } ],
    [qw(pending pending pending pending)], 'no record status changed';
is actions($id), $events_before, 'no event was recorded';
$r = api_n(GET => "domains/$id/dkim-keys");
is_deeply { map { $_->{selector} => $_->{state} } @{ $r->{json}{data} || [] } },
    { scaisend => 'active', scaisend2 => 'pending' }, 'the keys are as they were';

# --- the same verification with threads ------------------------------------------
$r = api_n(POST => "domains/$id/verify");
is $r->{status}, 200, 'verify with threads';
is $r->{json}{verified}, JSON::PP::true(), '... verifies the domain (the records were right)';
$r = api_n(GET => "domains/$id");
is $r->{json}{dkim_selector}, 'scaisend2', '... and activates the pending key';
like actions($id), qr/domain\.verified.*dkim\.activated|dkim\.activated.*domain\.verified/,
    '... with its events';
stop_node($node);
ok !-e $flag, 'the flag is gone';
