# Runs last (after zz_error_log.t) in a sanitized run (make -f apxs.mk
# SANITIZE=1 test, see build/sanitize-httpd): the server really carries the
# sanitizer runtime and the sanitized module, and nothing was reported
# (build/sanitizer-reports: ASan and LeakSanitizer files in t/logs/sanitizer/,
# UBSan reports and children dead of a crash or an abort in the error logs).
# Skipped in a normal run.  build/run-tests checks once more after httpd has
# stopped (reports written at exit).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok need);
use Apache::TestUtil qw(t_debug);

plan tests => 4, need { 'not a sanitized run (SCAISEND_SANITIZE=1)' => $ENV{SCAISEND_SANITIZE} };

my $logs = Apache::Test::vars('t_logs');
my $module = Apache::Test::vars('scaisend_module');
my $top = Apache::Test::vars('top_dir');

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return undef;
    local $/;
    return scalar <$fh>;
}

# 1-2: what the running server has mapped (the parent; children are forks).
my $pid = slurp("$logs/httpd.pid") // '';
chomp $pid;
my $maps = $pid =~ /^\d+$/ ? (slurp("/proc/$pid/maps") // '') : '';
t_debug("httpd pid '$pid', module $module");
ok $maps =~ m{/libasan\.so};
ok $module =~ m{/build/out/sanitize/} && index($maps, $module) >= 0;

# 3: build/sanitize-httpd made the report folder.
ok -d "$logs/sanitizer";

# 4: nothing reported.  Let the server finish the last requests first.
select undef, undef, undef, 0.3;
my $out = `"$top/build/sanitizer-reports" "$logs" 2>&1`;
my $status = $?;
print STDERR "# $_\n" for split /\n/, $out;
ok $status == 0;
