/* spf_syntax: the module's verdict on TXT strings, for t/unit/rfc7208.py.
 *
 * Reads one TXT string a line on stdin and prints one line for each:
 *
 *   not-spf                ssd_spf_is_record() says it is not SPF
 *   valid                  ssd_spf_parse_txt() finds no error
 *   invalid: <message>     ssd_spf_parse_txt()'s message
 *   error: <message>       the line cannot be read (bad escape, too long)
 *
 * Escaping (of the input and of the messages printed): bytes 0x20-0x7e
 * stand for themselves except '\', written "\\"; any byte is "\xHH".
 * The string goes to the parser with its length, as ssd_check_spf hands
 * a TXT string to it (a NUL byte included).
 *
 * Not named test_*: the unit target runs those with no input. */
#include "ssd_spf.h"

#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>

#define LINE_MAX_BYTES 65536

static int hex(int c)
{
    return apr_isdigit(c) ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* Decodes line into out; returns the length, or -1 on a bad escape. */
static long unescape(const char *line, char *out)
{
    long n = 0;
    int hi, lo;

    while (*line) {
        if (*line != '\\') {
            out[n++] = *line++;
        }
        else if (line[1] == '\\') {
            out[n++] = '\\';
            line += 2;
        }
        else if (line[1] == 'x' && (hi = hex(line[2])) >= 0
                 && (lo = hex(line[3])) >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            line += 4;
        }
        else {
            return -1;
        }
    }
    out[n] = '\0';
    return n;
}

static const char *escape(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 4 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '\\' || c < 0x20 || c > 0x7e) {
            o += c == '\\' ? sprintf(o, "\\\\") : sprintf(o, "\\x%02x", c);
        }
        else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return out;
}

static const char *verdict(apr_pool_t *p, const char *rec, apr_size_t len)
{
    apr_array_header_t *terms;
    const char *msg;

    if (!ssd_spf_is_record(rec, len)) {
        return "not-spf";
    }
    msg = ssd_spf_parse_txt(p, rec, len, &terms);
    return msg ? apr_pstrcat(p, "invalid: ", escape(p, msg), NULL) : "valid";
}

static const char *answer(apr_pool_t *p, char *line)
{
    apr_size_t n = strlen(line);
    char *rec;
    long len;

    if (n == 0 || line[n - 1] != '\n') {
        return feof(stdin) && n ? "error: no newline at the end"
                                : "error: line too long";
    }
    line[--n] = '\0';
    rec = apr_palloc(p, n + 1);
    if ((len = unescape(line, rec)) < 0) {
        return "error: bad escape";
    }
    return verdict(p, rec, (apr_size_t)len);
}

int main(void)
{
    static char line[LINE_MAX_BYTES];
    apr_pool_t *pool, *p;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    while (fgets(line, sizeof(line), stdin)) {
        apr_pool_create(&p, pool);
        printf("%s\n", answer(p, line));
        apr_pool_destroy(p);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return ferror(stdin) || fflush(stdout) ? 1 : 0;
}
