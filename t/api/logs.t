# Log lines an operator can use: each of the module carries its own
# message number (SSDnnnn) and, for a request, the request's id -- the one
# the answer names in X-Request-Id; mod_unique_id's UNIQUE_ID when it is
# loaded. With LogLevel scaisend_domains:debug (the suite's LogLevel is
# debug), every DNS query of a verification and every statement shows.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api error_log_offset error_log_since);
use ScaiSend::PG qw(start_node stop_node node_api);
use ScaiSend::DNS qw(knot_update);

plan tests => 12;

my $A = token(sub => 'log-a', partner_id => 'p_log', tenant_id => 't_log',
              role => 'tenant_admin');
sub lines_of {
    my ($id, @lines) = @_;
    return grep { /\[scaisend_domains:\w+\].* SSD\d{4} \[req \Q$id\E\]: / } @lines;
}
sub settle { select undef, undef, undef, 0.3 }

# a refused token: one INFO line with the request's id
my $off = error_log_offset();
my $r = api(GET => 'domains', token => token(exp => undef));
is $r->{status}, 401, 'a token without exp: 401';
my $rid = $r->{headers}->header('X-Request-Id') // '';
like $rid, qr/^[A-Za-z0-9_-]{8,}$/, 'the answer names its request id';
settle();
my @l = lines_of($rid, error_log_since($off));
is scalar(grep { /SSD0201 .*token refused/ } @l), 1,
    'the log line SSD0201 "token refused" carries that id';

# a verification: its DNS queries and statements at debug, with its id
$r = api(POST => 'domains', token => $A, json => { domain => 'log01.example.org' });
my $id = $r->{json}{id} // 'dom_none';
knot_update('example.org', map { ['set', "$_->{host}.", 'TXT', $_->{value}] }
            @{ $r->{json}{dns_records} || [] });
$off = error_log_offset();
$r = api(POST => "domains/$id/verify", token => $A);
is $r->{status}, 200, 'verify';
$rid = $r->{headers}->header('X-Request-Id') // '';
settle();
@l = lines_of($rid, error_log_since($off));
ok scalar(grep { /SSD0410 .*: DNS TXT scaisend\._domainkey\.log01\.example\.org\. to 127\.0\.0\.1 port \d+ over UDP: NOERROR, 1 answers/ } @l),
    'SSD0410: the DKIM query, its server, transport and answer';
ok scalar(grep { /SSD0410 .*: DNS TXT _dmarc\.log01\.example\.org\./ } @l) && scalar(grep { /SSD0410 .*: DNS TXT log01\.example\.org\./ } @l),
    'SSD0410: the DMARC and SPF queries';
ok scalar(grep { /SSD0110 .*: statement ssd_verify_claim: ok/ } @l)
   && scalar(grep { /SSD0110 .*: statement ssd_verify_store: ok/ } @l),
    'SSD0110: the claim and the outcome statements';
ok !grep({ /\[req (?!\Q$rid\E\])/ } grep { /SSD0(?:410|110)/ } error_log_since($off)),
    'no line of that verification carries another id';

# every line of the module so far has a message number
my @mine = grep { /\[scaisend_domains:/ } error_log_since(0);
ok scalar(@mine) > 0, 'the module has logged';
is_deeply [ grep { !/\[scaisend_domains:\w+\].*\bSSD\d{4}\b/ } @mine ], [],
    'every one of its lines carries a message number';

# with mod_unique_id the request id is its UNIQUE_ID
my $libexec = Apache::Test::vars('libexecdir');
my $node = start_node('uniqueid', append => "LoadModule unique_id_module $libexec/mod_unique_id.so");
$r = node_api($node, GET => 'domains', token => token(exp => undef));
$rid = $r->{headers}->header('X-Request-Id') // '';
like $rid, qr/^[A-Za-z0-9\@_-]{20,}$/, 'behind mod_unique_id the id is its UNIQUE_ID';
settle();
open my $fh, '<', $node->{error_log} or die "$node->{error_log}: $!";
is scalar(grep { /SSD0201 \[req \Q$rid\E\]: token refused/ } <$fh>), 1,
    '... and the log line carries it';
close $fh;
stop_node($node);
