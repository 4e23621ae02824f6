# The background job (api.md section 9) ends cleanly when httpd restarts
# gracefully or stops while a re-check is in progress: the child waits for
# the task in progress (bounded by ScaiSendVerifyBudget) before it frees
# the database connections and pools the task uses, gives up the lease,
# and leaves no core behind. The re-check here waits on a nameserver that
# never answers (bad-dns "silent"), so the stop always comes mid-task.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api node_cores);
use ScaiSend::DNS qw(bad_dns_port bad_dns_query_count);

plan tests => 12;

my $BUDGET_S = 4;
my %slow = (ScaiSendResolver => '127.0.0.1:' . bad_dns_port('silent'),
            ScaiSendVerifyBudget => $BUDGET_S * 1000, ScaiSendDNSTimeout => 3000,
            ScaiSendRecheckInterval => '3s', ScaiSendPendingWindow => '1h',
            ScaiSendVerifyInterval => 0);
my $A = token(sub => 'js-a', partner_id => 'p_js', tenant_id => 't_js', role => 'tenant_admin');

# Wait (bounded) until the silent nameserver has been asked more than $n
# times: a re-check is waiting on it.
sub wait_asked {
    my ($n, $secs) = @_;
    my $end = time + $secs;
    while (time < $end) {
        return 1 if bad_dns_query_count('silent') > $n;
        sleep 0.1;
    }
    return 0;
}

sub log_lines {
    my ($node, $re) = @_;
    open my $fh, '<', $node->{error_log} or return ();
    return grep { /$re/ } <$fh>;
}

my $node = start_node('job-stop', set => \%slow);
my $r = node_api($node, POST => 'domains', token => $A, json => { domain => 'js01.example.org' });
is $r->{status}, 201, 'create a pending domain (re-checked at once)';

# --- graceful restart in the middle of a re-check -------------------------------------
my $asked = bad_dns_query_count('silent');
ok wait_asked($asked, 10), 'the job is re-checking it (the silent nameserver is asked)';
kill 'USR1', ScaiSend::PG::_master_pid($node);
$asked = bad_dns_query_count('silent');
ok wait_asked($asked, 3 * $BUDGET_S + 10), 'after a graceful restart mid-task the job re-checks again';
my @stopped = log_lines($node, qr/SSD0606/);
cmp_ok scalar @stopped, '>=', 1, 'the old generation\'s job said it stopped (SSD0606)'
    or diag 'error_log: ', join '', log_lines($node, qr/scaisend/);
like $stopped[0] // '', qr/waited \d+ ms for the task in progress/, '... after waiting for its task';

# --- stop in the middle of a re-check ---------------------------------------------------
$asked = bad_dns_query_count('silent');
ok wait_asked($asked, 3 * $BUDGET_S + 10), 'the job is re-checking again';
my $t0 = time;
stop_node($node);
my $took = time - $t0;
cmp_ok $took, '<', $BUDGET_S + 8, sprintf('stop mid-task ends within the budget and a margin (%.1f s)', $took);
is_deeply [ node_cores($node) ], [], 'no process of the node dumped core';
is_deeply [ log_lines($node, qr/exit signal|\[(?:crit|alert|emerg)\]/) ], [],
    'no child died of a signal, nothing critical in the error log';
cmp_ok scalar(log_lines($node, qr/SSD0606/)), '>', scalar @stopped, 'the job said it stopped again';

# The lease was given up: a new node takes the job over at once, not after
# the lease's expiry.
my $next = start_node('job-stop-2', set => \%slow);
$asked = bad_dns_query_count('silent');
ok wait_asked($asked, 8), 'a new node re-checks at once (the lease was given up)';
node_api($next, DELETE => "domains/" . ($r->{json}{id} // 'none'), token => $A);
stop_node($next);
is_deeply [ node_cores($next) ], [], 'no core from the second node either';
