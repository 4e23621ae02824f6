# The release in VERSION reaches the module: apxs.mk compiles it in
# (-DSSD_VERSION) and the module logs it once per start, at notice level.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use ScaiSend::Test qw(error_log_since);

plan tests => 2;

open my $fh, '<', "$FindBin::Bin/../VERSION" or die "VERSION: $!\n";
chomp(my $version = <$fh>);
ok t_cmp($version, qr/^\d+\.\d+\.\d+/, 'VERSION holds a release number');

my @started = grep { /\[scaisend_domains:notice\] .*mod_scaisend_domains \S+ started/ }
              error_log_since(0);
my ($logged) = ($started[-1] // '') =~ /mod_scaisend_domains (\S+) started/;
ok t_cmp($logged // 'none', $version, 'the start-up notice names that version');
