# The status handler reports the database: "unavailable" while PostgreSQL
# is stopped (and scaisend_database_up 0), "ok" again once it is back,
# without restarting httpd. Skipped on SQLite.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(api);
use ScaiSend::PG qw(:all);

pg_only();
plan tests => 8;

my $r = api(GET => '/scaisend-status');
is $r->{json}{database}, 'ok', 'database: ok';
my ($rc) = pg_ctl('stop');
is $rc, 0, 'PostgreSQL stopped';
$r = api(GET => '/scaisend-status');
is $r->{status}, 200, 'the status still answers';
is $r->{json}{database}, 'unavailable', 'database: unavailable';
is $r->{json}{schema_version}, undef, 'schema_version: null';
like api(GET => '/scaisend-status?format=prometheus')->{body}, qr/^scaisend_database_up 0$/m,
    'scaisend_database_up 0';
($rc) = pg_ctl('start');
is $rc, 0, 'PostgreSQL started';
my $db = '';
for (1 .. 20) {
    $db = api(GET => '/scaisend-status')->{json}{database} // '';
    last if $db eq 'ok';
    select undef, undef, undef, 0.25;
}
is $db, 'ok', 'database: ok again';
