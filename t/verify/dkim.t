# The DKIM check against real DNS (Knot): the key record at
# <selector>._domainkey.<domain> as users and DNS providers really publish
# it -- split strings, white space, CNAMEs, wrong, revoked, truncated, quoted
# keys, records under a doubled name, invalid tag lists (RFC 6376 §3.6.1,
# RFC 8301).  Every scenario: a fresh domain, SPF and DMARC published as
# returned, the DKIM record as the scenario says, one verify; the answer's
# booleans, statuses and error codes, then the stored state (GET).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(:all);
use ScaiSend::Verify qw(:all);

plan tests => 78;

my $tok = token(sub => 'dkim-admin', partner_id => 'p_vdkim', tenant_id => 't_vdkim',
                role => 'tenant_admin');

# Another domain's key (never published): the "wrong key".
my $other = new_domain($tok, 'vk-other.example.com');
ok !$other->{error}, 'a second domain, for its key' or diag $other->{error};
my ($other_key) = rec_value($other, 'dkim') =~ /p=(\S+)\z/;

sub key_of { my ($d) = @_; my ($k) = rec_value($d, 'dkim') =~ /p=(\S+)\z/; return $k // '' }
sub host_of { return record($_[0], 'dkim')->{host} }
# One TXT RR made of character-strings of these sizes (the last takes the rest).
sub chunks {
    my ($s, @sizes) = @_;
    my @out;
    push @out, substr($s, 0, shift(@sizes), '') while @sizes && length $s;
    push @out, substr($s, 0, 255, '') while length $s;
    return \@out;
}
# A DKIM scenario: $value->($d) gives the DKIM TXT rdata (undef: no record).
sub dkim_case {
    my ($name, $sub, $value, %exp) = @_;
    my $domain = "$sub.example.com";
    return scenario($tok, $name, $domain,
                    setup => sub { my ($d) = @_; publish($d, dkim => $value->($d)) },
                    expect => { dkim => 'pass', %exp });
}
my $FAIL = sub { my ($code) = @_; return (dkim => 'fail', errors => ["dkim:$code"]) };

# --- valid ------------------------------------------------------------------------
dkim_case('valid record as returned (split into 255-byte strings)', 'vk01',
          sub { rec_value($_[0], 'dkim') });
dkim_case('split at arbitrary places into several strings', 'vk02',
          sub { chunks(rec_value($_[0], 'dkim'), 16, 3, 100, 40) });
dkim_case('white space inside p= (spaces and a tab)', 'vk03', sub {
    my $k = key_of($_[0]);
    my @parts = $k =~ /(.{1,64})/g;
    return 'v=DKIM1; k=rsa; p=' . join(' ', @parts[0 .. 1]) . "\t" . join('  ', @parts[2 .. $#parts]);
});
dkim_case('no v= tag (optional)', 'vk04', sub { 'k=rsa; p=' . key_of($_[0]) });
dkim_case('no k= tag (rsa is the default)', 'vk05', sub { 'v=DKIM1; p=' . key_of($_[0]) });
dkim_case('h=sha1:sha256 allows sha256', 'vk06', sub { 'v=DKIM1; h=sha1:sha256; k=rsa; p=' . key_of($_[0]) });
dkim_case('s=email', 'vk07', sub { 'v=DKIM1; k=rsa; s=email; p=' . key_of($_[0]) });
dkim_case('s=*', 'vk08', sub { 'v=DKIM1; k=rsa; s=*; p=' . key_of($_[0]) });
dkim_case('t=y (testing) and a trailing ;', 'vk09', sub { 'v=DKIM1; k=rsa; t=y; p=' . key_of($_[0]) . ';' });
scenario($tok, 'an unrelated TXT record at the selector next to the key', 'vk11.example.com',
    setup => sub { my ($d) = @_;
                   knot_set('example.com', host_of($d) . '.', 'TXT',
                            'verification-token=vk11abc', rec_value($d, 'dkim')) },
    expect => { $FAIL->('multiple_records') });

# --- CNAMEs --------------------------------------------------------------------------
scenario($tok, 'CNAME to a record in the same zone', 'vk12.example.com',
    setup => sub { my ($d) = @_;
                   knot_set('example.com', 'vk12-key.example.com.', 'TXT', rec_value($d, 'dkim'));
                   knot_cname('example.com', host_of($d) . '.', 'vk12-key.example.com.') },
    expect => {});
scenario($tok, 'CNAME into another zone (zone-a.test -> zone-b.test)', 'vk13.zone-a.test',
    setup => sub { my ($d) = @_;
                   knot_set('zone-b.test', 'vk13-key.zone-b.test.', 'TXT', rec_value($d, 'dkim'));
                   knot_cname('zone-a.test', host_of($d) . '.', 'vk13-key.zone-b.test.') },
    expect => {});
scenario($tok, 'CNAME chain across three zones', 'vk14.zone-a.test',
    setup => sub { my ($d) = @_;
                   knot_set('zone-c.test', 'vk14-key.zone-c.test.', 'TXT', rec_value($d, 'dkim'));
                   knot_cname('zone-b.test', 'vk14-hop.zone-b.test.', 'vk14-key.zone-c.test.');
                   knot_cname('zone-a.test', host_of($d) . '.', 'vk14-hop.zone-b.test.') },
    expect => {});
scenario($tok, 'CNAME loop', 'vk15.example.com',
    setup => sub { my ($d) = @_;
                   knot_cname('zone-b.test', 'vk15-loop.zone-b.test.', host_of($d) . '.');
                   knot_cname('example.com', host_of($d) . '.', 'vk15-loop.zone-b.test.') },
    expect => { $FAIL->('cname_loop') });
scenario($tok, 'CNAME to a name without a record: missing', 'vk16.example.com',
    setup => sub { my ($d) = @_; knot_cname('example.com', host_of($d) . '.', 'vk16-nothing.zone-b.test.') },
    expect => { $FAIL->('missing') });

# --- wrong, revoked, missing, several ----------------------------------------------
my (undef, $r) = dkim_case('another domain\'s key', 'vk17', sub { "v=DKIM1; k=rsa; p=$other_key" },
                           $FAIL->('key_mismatch'));
my ($e) = @{ obj($r)->{errors} || [{}] };
ok +($e->{expected} // '') =~ /\Av=DKIM1; k=rsa; p=MIIB/ && ($e->{found} // '') eq "v=DKIM1; k=rsa; p=$other_key",
    'key_mismatch: expected is our record, found the published one';
dkim_case('revoked key (empty p=)', 'vk18', sub { 'v=DKIM1; k=rsa; p=' }, $FAIL->('revoked_key'));
(my $d, $r) = dkim_case('no record at all', 'vk19', sub { undef }, $FAIL->('missing'));
ok +(obj($r)->{errors}[0]{host} // '') eq host_of($d)
    && (obj($r)->{errors}[0]{message} // '') =~ /\Q${\ host_of($d)}\E/,
    'missing: host and message name the selector record';
scenario($tok, 'two DKIM records at the selector (ours and another)', 'vk20.example.com',
    setup => sub { my ($d) = @_;
                   knot_set('example.com', host_of($d) . '.', 'TXT', rec_value($d, 'dkim'),
                            "v=DKIM1; k=rsa; p=$other_key") },
    expect => { $FAIL->('multiple_records') });

# --- invalid tag lists ------------------------------------------------------------------
dkim_case('duplicate tag (k= twice)', 'vk21', sub { 'v=DKIM1; k=rsa; k=rsa; p=' . key_of($_[0]) },
          $FAIL->('malformed'));
dkim_case('v= not the first tag', 'vk22', sub { 'k=rsa; v=DKIM1; p=' . key_of($_[0]) },
          $FAIL->('malformed'));
dkim_case('v=DKIM2', 'vk23', sub { 'v=DKIM2; k=rsa; p=' . key_of($_[0]) }, $FAIL->('malformed'));
dkim_case('p= not base64', 'vk24', sub { 'v=DKIM1; k=rsa; p=This*is*not*base64*at*all' },
          $FAIL->('malformed'));
(undef, $r) = dkim_case('upper-case tag name P=', 'vk25', sub { 'v=DKIM1; k=rsa; P=' . key_of($_[0]) },
                        $FAIL->('malformed'));
like obj($r)->{errors}[0]{message} // '', qr/case/, 'the message says tag names are case-sensitive';
dkim_case('k=ed25519 (not the RSA key held)', 'vk26', sub { 'v=DKIM1; k=ed25519; p=' . key_of($_[0]) },
          $FAIL->('wrong_key_type'));
dkim_case('h=sha1 only (RFC 8301)', 'vk27', sub { 'v=DKIM1; h=sha1; k=rsa; p=' . key_of($_[0]) },
          $FAIL->('malformed'));
dkim_case('s=tlsrpt excludes e-mail', 'vk28', sub { 'v=DKIM1; k=rsa; s=tlsrpt; p=' . key_of($_[0]) },
          $FAIL->('malformed'));
dkim_case('empty tag (;;)', 'vk29', sub { 'v=DKIM1;; k=rsa; p=' . key_of($_[0]) }, $FAIL->('malformed'));

# --- what DNS providers do to it ------------------------------------------------------
(undef, $r) = dkim_case('value pasted with its quotes', 'vk30',
                        sub { '"' . rec_value($_[0], 'dkim') . '"' }, $FAIL->('quoted_value'));
like obj($r)->{errors}[0]{found} // '', qr/\A"v=DKIM1; k=rsa; p=/, 'quoted_value: found shows the quotes';
($d, $r) = scenario($tok, 'published under a doubled name', 'vk31.example.com',
    setup => sub { my ($d) = @_;
                   knot_update('example.com', ['unset', host_of($d) . '.', 'TXT'],
                               ['set', host_of($d) . ".$d->{domain}.", 'TXT', rec_value($d, 'dkim')]) },
    expect => { $FAIL->('doubled_name'), error_host => { doubled_name => 'scaisend._domainkey.vk31.example.com' } });
like obj($r)->{errors}[0]{message} // '', qr/\Qscaisend._domainkey.vk31.example.com.vk31.example.com\E/,
    'doubled_name: the message names where the record was found';
(undef, $r) = dkim_case('key truncated to the first 255 bytes', 'vk32',
                        sub { substr(rec_value($_[0], 'dkim'), 0, 255) }, $FAIL->('truncated_key'));
like obj($r)->{errors}[0]{message} // '', qr/255/, 'truncated_key: the message explains the 255 limit';
scenario($tok, 'key split across two TXT records (never joined)', 'vk33.example.com',
    setup => sub { my ($d) = @_;
                   my $v = rec_value($d, 'dkim');
                   knot_set('example.com', host_of($d) . '.', 'TXT', substr($v, 0, 200), substr($v, 200)) },
    expect => { $FAIL->('truncated_key') });

# --- CNAME chain length (at most 8 hops) and raw bytes ------------------------------------
sub chain_to_key {           # host -> h1 -> ... -> h$hops (holds the record), alternating zones
    my ($d, $tag, $hops) = @_;
    my @names = map { "$tag-h$_." . ($_ % 2 ? 'zone-b.test' : 'zone-c.test') . '.' } 1 .. $hops;
    knot_set(zone_of($names[-1]), $names[-1], 'TXT', rec_value($d, 'dkim'));
    knot_cname(zone_of($names[$_ - 1]), $names[$_ - 1], $names[$_]) for reverse 1 .. $#names;
    knot_cname('example.com', host_of($d) . '.', $names[0]);
}
scenario($tok, 'CNAME chain of 8 hops', 'vk34.example.com',
         setup => sub { chain_to_key($_[0], 'vk34', 8) }, expect => {});
scenario($tok, 'CNAME chain of 9 hops: too long', 'vk35.example.com',
         setup => sub { chain_to_key($_[0], 'vk35', 9) }, expect => { $FAIL->('cname_loop') });
(undef, $r) = dkim_case('a raw non-ASCII byte in the record', 'vk36',
                        sub { "v=DKIM1; k=rsa; n=caf\xe9; p=" . key_of($_[0]) }, $FAIL->('malformed'));
like obj($r)->{errors}[0]{found} // '', qr/n=caf\\233; p=/, 'found shows the byte escaped as \\233';
