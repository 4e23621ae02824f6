# Key hygiene: httpd refuses a key-encryption key file that others may
# read, naming the file and its mode (start-up and apache2 -t); the SQLite
# database holding the wrapped keys is not writable by the group nor open
# to others; a deleted domain's or removed key's ciphertext is gone from the
# database file and its WAL (PostgreSQL: the rows are gone); the children
# keep the OpenSSL secure heap and the KEK page out of core dumps.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/../lib";

use Apache::Test qw(-withtestmore);
use File::Temp qw(tempdir);
use ScaiSend::Test qw(token api);
use ScaiSend::Assert qw(:all);
use ScaiSend::DNS qw(knot_set zone_of);
use ScaiSend::PG qw(start_node stop_node is_pgsql);
use ScaiSend::Race qw(:all);
use ScaiSend::Verify qw(publish_all);

plan tests => 18;

my $P   = 'p_keyhyg';
my $T   = 't_keyhyg';
my $ADM = token(sub => 'keyhyg-admin', partner_id => $P, tenant_id => $T, role => 'tenant_admin');
my $T_DIR = Apache::Test::vars('t_dir');

# --- the KEK file's mode --------------------------------------------------------------
my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
my $kek = "$dir/kek.bin";
ScaiSend::Test::write_random_file($kek, 32);

sub config_check {
    my ($conf) = @_;
    # the suite's httpd (build/sanitize-httpd in a sanitized run)
    my $httpd = Apache::Test::vars('httpd') || '/usr/sbin/apache2';
    my $out = `'$httpd' -t -d '$T_DIR' -f '$conf' -D APACHE2 -D APACHE2_4 2>&1`;
    return ($? >> 8, $out);
}

chmod 0644, $kek;
my $node = start_node('kek644', append => "ScaiSendKeyEncryptionKeyFile \"$kek\"", expect_failure => 1);
ok $node->{failed}, 'a KEK file of mode 0644: httpd does not start';
stop_node($node) unless $node->{failed};
like $node->{output} // '', qr/\Q$kek\E.*mode 0644/, 'its log names the file and the mode'
    or diag join "\n", grep { /kek|key-encryption/i } split /\n/, $node->{output} // '';
my ($rc, $out) = config_check($node->{conf});
ok $rc != 0 && $out =~ /\Q$kek\E.*mode 0644/, 'apache2 -t refuses it too, naming the file and the mode'
    or diag "apache2 -t: exit $rc\n$out";
chmod 0640, $kek;
($rc, $out) = config_check($node->{conf});
ok $rc == 0 && $out =~ /Syntax OK/, 'mode 0640 (owner and group): apache2 -t says Syntax OK'
    or diag "apache2 -t: exit $rc\n$out";

# --- the SQLite file's mode -------------------------------------------------------------
SKIP: {
    skip 'SQLite only (this run uses PostgreSQL)', 2 if is_pgsql();
    my $db = sqlite_path();
    my $mode = (stat $db)[2] & 07777;
    ok !($mode & 027), sprintf('%s: mode %04o (no group write, nothing for others)', 't/db/scaisend.db', $mode);
    my @bad = map { sprintf '%s %04o', $_, (stat $_)[2] & 07777 }
              grep { -e $_ && ((stat $_)[2] & 027) } "$db-wal", "$db-shm";
    ok !@bad, 'its -wal and -shm files likewise' or diag "@bad";
}

# --- ciphertext after a delete ------------------------------------------------------------

sub wrapped_keys {
    my ($id) = @_;
    return map { $_->[1] } db_rows('SELECT selector, wrapped_key FROM ssd_dkim_keys WHERE domain_id = '
                                   . sql_quote($id) . ' ORDER BY selector');
}

# Pieces of the base64 ciphertexts found in the database file or its WAL
# (64-character pieces at several offsets: a row may straddle pages).
sub leaked {
    my (@wrapped) = @_;
    my $db = sqlite_path();
    my $bytes = '';
    for my $f ($db, "$db-wal") {
        next unless -e $f;
        open my $fh, '<:raw', $f or next;
        local $/;
        $bytes .= <$fh> // '';
    }
    my @found;
    for my $w (@wrapped) {
        (my $b64 = $w) =~ s/^v1://;
        for (my $at = 0; $at + 64 <= length $b64; $at += 400) {
            push @found, "offset $at of " . substr($b64, 0, 12) . '...' if index($bytes, substr($b64, $at, 64)) >= 0;
        }
    }
    return @found;
}

{
    my $c = api(POST => 'domains', token => $ADM, json => { domain => 'kh-delete.example.com' });
    my $id = $c->{json}{id} // 'none';
    my $rot = api(POST => "domains/$id/rotate-dkim", token => $ADM);
    ok $c->{status} == 201 && $rot->{status} == 200, 'a domain with an active and a pending key';
    my @wrapped = wrapped_keys($id);
    is scalar(grep { /^v1:/ } @wrapped), 2, 'both wrapped keys read from the database';
    SKIP: {
        skip 'PostgreSQL: no file to look into', 1 if is_pgsql();
        ok scalar(leaked(@wrapped)) > 0, 'before the delete: the ciphertexts are in the file or its WAL';
    }
    status_is api(DELETE => "domains/$id", token => $ADM), 204, 'DELETE the domain: 204';
    is db_value('SELECT count(*) FROM ssd_dkim_keys WHERE domain_id = ' . sql_quote($id)), 0, 'its key rows are gone';
    SKIP: {
        skip 'PostgreSQL: no file to look into', 1 if is_pgsql();
        my @found = leaked(@wrapped);
        ok !@found, 'neither ciphertext is left in scaisend.db or scaisend.db-wal' or diag "@found";
    }
}

# A retired key removed with DELETE .../dkim-keys/{selector}.
{
    my $c = api(POST => 'domains', token => $ADM, json => { domain => 'kh-retire.example.com' });
    my $d = $c->{json} || {};
    publish_all($d);
    my $v1 = api(POST => "domains/$d->{id}/verify", token => $ADM);
    my $rot = api(POST => "domains/$d->{id}/rotate-dkim", token => $ADM);
    my $rec = ref $rot->{json} eq 'HASH' ? $rot->{json}{dns_record} || {} : {};
    eval { knot_set(zone_of($rec->{host}), "$rec->{host}.", 'TXT', $rec->{value}); 1 } or diag $@;
    my $v2 = api(POST => "domains/$d->{id}/verify", token => $ADM);
    my ($retired) = db_rows('SELECT wrapped_key FROM ssd_dkim_keys WHERE domain_id = '
                            . sql_quote($d->{id} // '') . " AND selector = 'scaisend'");
    my $state = db_value('SELECT state FROM ssd_dkim_keys WHERE domain_id = '
                         . sql_quote($d->{id} // '') . " AND selector = 'scaisend'") // '';
    ok $v1->{status} == 200 && $v2->{status} == 200 && $state eq 'retired' && $retired && $retired->[0] =~ /^v1:/,
        'a verified domain whose first key was retired by a rotation' or diag "state '$state'";
    status_is api(DELETE => "domains/$d->{id}/dkim-keys/scaisend", token => $ADM), 204,
        'DELETE .../dkim-keys/scaisend: 204';
    SKIP: {
        skip 'PostgreSQL: no file to look into', 1 if is_pgsql();
        my @found = $retired ? leaked($retired->[0]) : ('no key read');
        ok !@found, "the removed key's ciphertext is left in neither file" or diag "@found";
    }
}

# --- core dumps: /proc/<pid>/smaps of the children --------------------------------------------
{
    no warnings 'portable';     # 64-bit addresses
    my (undef, @kids) = httpd_pids();
    ok @kids > 0, scalar(@kids) . ' children of the test server';
    my (@heap, @page);
    for my $pid (@kids) {
        open my $fh, '<', "/proc/$pid/smaps" or next;
        my ($size, $range, %has);
        while (my $l = <$fh>) {
            if ($l =~ /^([0-9a-f]+)-([0-9a-f]+) /) {
                $size = hex($2) - hex($1);
                $range = "$1-$2";
            } elsif ($l =~ /^VmFlags:(.*)$/ && " $1 " =~ / dd /) {
                $has{heap} ||= "$pid $range" if $size >= 8 * 1024 * 1024;
                $has{page} ||= "$pid $range" if $size == 4096;
            }
        }
        push @heap, $has{heap} if $has{heap};
        push @page, $has{page} if $has{page};
    }
    is scalar @heap, scalar @kids, 'every child: a mapping of at least 8 MiB left out of core dumps (secure heap)'
        or diag "found in: @heap";
    is scalar @page, scalar @kids, 'every child: a one-page mapping left out of core dumps (the KEK)'
        or diag "found in: @page";
}
