/* spf_eval: check_host() over canned zones, for t/unit/rfc7208_eval.py
 * (the OpenSPF RFC 7208 suite).
 *
 * Reads lines of tab-separated fields on stdin; every field is escaped
 * (bytes 0x20-0x7e stand for themselves except '\', written "\\"; any
 * byte is "\xHH"):
 *
 *   Z                                   a new, empty zone
 *   R <name> <type> <value>             a record (fake_zone.h types; MX
 *                                       value: the exchange; TIMEOUT: "")
 *   T <id> <ip> <mailfrom> <helo>       one check_host() of an SMTP
 *                                       transaction (ssd_spf_query_smtp)
 *
 * and prints, for each T line, "<id>\t<result>\t<error code or ->\t
 * <detail or ->\t<explanation or ->" (escaped the same way; the
 * explanation of a fail, SSD_SPF_EXPLAIN).
 *
 * Not named test_*: the unit target runs those with no input. */
#include "fake_zone.h"

#include <stdio.h>
#include <apr_general.h>

#define LINE_MAX_BYTES 65536
#define MAX_FIELDS 6

static int hex(int c)
{
    return apr_isdigit(c) ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* Decodes s in place; returns the length, or -1 on a bad escape. */
static long unescape(char *s)
{
    char *o = s, *start = s;
    int hi, lo;

    while (*s) {
        if (*s != '\\') {
            *o++ = *s++;
        }
        else if (s[1] == '\\') {
            *o++ = '\\';
            s += 2;
        }
        else if (s[1] == 'x' && (hi = hex(s[2])) >= 0
                 && (lo = hex(s[3])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            s += 4;
        }
        else {
            return -1;
        }
    }
    *o = '\0';
    return (long)(o - start);
}

static void put_escaped(const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '\\') {
            fputs("\\\\", stdout);
        }
        else if (c < 0x20 || c > 0x7e) {
            printf("\\x%02x", c);
        }
        else {
            putchar(c);
        }
    }
}

static int split(char *line, char **f, long *len)
{
    int n = 0;
    char *tab;

    for (;;) {
        f[n] = line;
        tab = strchr(line, '\t');
        if (tab) {
            *tab = '\0';
        }
        if ((len[n] = unescape(f[n])) < 0) {
            return -1;
        }
        n++;
        if (!tab || n == MAX_FIELDS) {
            return n;
        }
        line = tab + 1;
    }
}

static void run_test(apr_pool_t *p, fz_t *z, char **f)
{
    ssd_spf_lookup_t lk = fz_lookup(z);
    ssd_spf_query_t q;
    ssd_spf_outcome_t o;

    ssd_spf_query_smtp(p, f[2], f[3], f[4], &q);
    q.flags = SSD_SPF_EXPLAIN;
    ssd_spf_check_host(p, &lk, &q, &o);
    put_escaped(f[1]);
    printf("\t%s\t", ssd_spf_result_name(o.result));
    put_escaped(o.error ? o.error : "-");
    putchar('\t');
    put_escaped(o.detail ? o.detail : "-");
    putchar('\t');
    put_escaped(o.explanation ? o.explanation : "-");
    putchar('\n');
}

int main(void)
{
    static char line[LINE_MAX_BYTES];
    apr_pool_t *root, *p;
    char *f[MAX_FIELDS];
    long len[MAX_FIELDS];
    fz_t *z;
    int n;

    apr_initialize();
    apr_pool_create(&root, NULL);
    apr_pool_create(&p, root);
    z = fz_new(p);
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = '\0';
        n = split(line, f, len);
        if (n >= 1 && !strcmp(f[0], "Z")) {
            apr_pool_clear(p);
            z = fz_new(p);
        }
        else if (n == 4 && !strcmp(f[0], "R")) {
            fz_add_txt(z, f[1], apr_pstrdup(p, f[2]), f[3],
                       (apr_size_t)len[3]);
        }
        else if (n == 5 && !strcmp(f[0], "T")) {
            run_test(p, z, f);
        }
        else {
            printf("error\tbad input line\n");
        }
        fflush(stdout);
    }
    apr_terminate();
    return 0;
}
