# Runs last (t/TEST sorts test files by name): fails on any error_log line
# at level warn or worse (or a crash) that t/lib/ScaiSend/expected-log-lines.txt
# does not allow.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use ScaiSend::Test qw(error_log_scan);

plan tests => 1;

# Let the server flush lines of requests that just finished.
select undef, undef, undef, 0.3;

my @unexpected = error_log_scan();
ok @unexpected == 0;
# after the verdict, on stdout: the failure's diagnostics (the recap of
# build/run-tests shows the comment lines that follow a "not ok")
print "# unexpected error_log line: $_\n" for @unexpected[0 .. ($#unexpected < 39 ? $#unexpected : 39)];
print '# ... and ' . (@unexpected - 40) . " more\n" if @unexpected > 40;
