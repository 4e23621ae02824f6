# The API is not a file: its requests (the API, its error documents, its
# status page) skip httpd's directory walk, so no .htaccess under the
# DocumentRoot is read for them and no path under it is looked up, while
# every other URL of the server still gets its walk.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use ScaiSend::Test qw(token);
use ScaiSend::PG qw(start_node stop_node node_api);

plan tests => 6;

my $root = tempdir(CLEANUP => 1);
chmod 0755, $root;
# an .htaccess that httpd refuses (500) wherever it reads one
for my $dir ("$root/api/admin", "$root/scaisend-status", "$root/scaisend-error", "$root/static") {
    make_path($dir);
    open my $fh, '>', "$dir/.htaccess" or die "$dir/.htaccess: $!";
    print {$fh} "ThisIsNotADirective on\n";
    close $fh;
}
my $node = start_node('not-a-file', append => <<"CONF");
DocumentRoot "$root"
<Directory "$root">
    AllowOverride All
    Require all granted
</Directory>
CONF

my $T = token(sub => 'naf', partner_id => 'p_naf', tenant_id => 't_naf', role => 'tenant_admin');
my $r = node_api($node, GET => 'domains', token => $T);
is $r->{status}, 200, 'the API answers though an .htaccess httpd would refuse lies on its path'
    or diag "$r->{status} $r->{body}";
$r = node_api($node, GET => 'domains');
is $r->{status}, 401, 'a request without a token: 401 (the error document is not a file either)';
is(($r->{json}{error}{code} // ''), 'unauthenticated', '... in JSON') or diag $r->{body};
$r = node_api($node, GET => '/scaisend-status');
is $r->{status}, 200, 'the status page answers too' or diag "$r->{status} $r->{body}";
$r = node_api($node, GET => '/static/x.json', token => $T);
is $r->{status}, 500, 'a file URL still gets the directory walk, and reads the .htaccess';
open my $log, '<', $node->{error_log} or die "$node->{error_log}: $!";
my @read = grep { /\.htaccess: Invalid command 'ThisIsNotADirective'/ } <$log>;
ok((@read && !grep { m{/(?:api|scaisend-[a-z]+)/} } @read),
   '... and only that one was read') or diag explain \@read;
stop_node($node);
