/* ssd_authority_note: a view's propagation and its sentence.
 *
 *   "published on 1 of 2 nameservers; serial 2026120101 vs 2026113001"
 *   "published on 2 of 2 nameservers; serial 2026120101"
 *   "published on 1 of 3 nameservers; serial 7; no usable answer from
 *    ns3.example.com 192.0.2.3 (timeout)"
 *
 * N counts every server asked (a name with two addresses counts twice);
 * the serials are the distinct ones the servers gave, newest first
 * (RFC 1982 order); servers with result error are named with their
 * reason. A view without servers keeps the note it was given. */
#include "ssd_authority.h"
#include "ssd_text.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

const char *ssd_auth_result_name(ssd_auth_result_e r)
{
    static const char *const names[] = {"match", "mismatch", "missing",
                                        "error"};

    return (int)r >= 0 && r <= SSD_AUTH_ERROR ? names[r] : "error";
}

const char *ssd_propagation_name(ssd_propagation_e p)
{
    return p == SSD_PROPAGATION_COMPLETE ? "complete"
           : p == SSD_PROPAGATION_PARTIAL ? "partial" : "none";
}

/* RFC 1982: a is newer than b. */
static int newer(apr_uint32_t a, apr_uint32_t b)
{
    return a != b && (apr_int32_t)(a - b) > 0;
}

static int cmp_serial(const void *x, const void *y)
{
    apr_uint32_t a = *(const apr_uint32_t *)x, b = *(const apr_uint32_t *)y;

    return newer(a, b) ? -1 : newer(b, a) ? 1 : 0;
}

/* Distinct serials, newest first, into out (at least servers->nelts). */
static int serials(const apr_array_header_t *servers, apr_uint32_t *out)
{
    const ssd_auth_server_t *s = (const ssd_auth_server_t *)servers->elts;
    int i, j, n = 0;

    for (i = 0; i < servers->nelts; i++) {
        for (j = 0; s[i].has_serial && j < n && out[j] != s[i].serial; j++) {
        }
        if (s[i].has_serial && j == n) {
            out[n++] = s[i].serial;
        }
    }
    qsort(out, (size_t)n, sizeof(*out), cmp_serial);
    return n;
}

static void add_serials(apr_pool_t *p, ssd_buf_t *b,
                        const apr_array_header_t *servers)
{
    apr_uint32_t *v = apr_palloc(p, sizeof(*v) * (servers->nelts + 1));
    int i, n = serials(servers, v);

    for (i = 0; i < n; i++) {
        ssd_buf_addf(b, "%s%lu", i ? " vs " : "; serial ",
                     (unsigned long)v[i]);
    }
}

static void add_errors(ssd_buf_t *b, const apr_array_header_t *servers)
{
    const ssd_auth_server_t *s = (const ssd_auth_server_t *)servers->elts;
    int i, n = 0;

    for (i = 0; i < servers->nelts; i++) {
        if (s[i].result != SSD_AUTH_ERROR) {
            continue;
        }
        ssd_buf_adds(b, n++ ? ", " : "; no usable answer from ");
        ssd_buf_adds(b, s[i].name);
        if (s[i].address) {
            ssd_buf_addc(b, ' ');
            ssd_buf_adds(b, s[i].address);
        }
        ssd_buf_addf(b, " (%s)", s[i].reason ? s[i].reason : "error");
    }
}

void ssd_authority_summarise(apr_pool_t *p, ssd_authority_view_t *v)
{
    const ssd_auth_server_t *s = (const ssd_auth_server_t *)v->servers->elts;
    int i, n = v->servers->nelts, m = 0;
    ssd_buf_t b;

    for (i = 0; i < n; i++) {
        m += s[i].result == SSD_AUTH_MATCH;
    }
    v->propagation = n > 0 && m == n ? SSD_PROPAGATION_COMPLETE
                     : m > 0 ? SSD_PROPAGATION_PARTIAL : SSD_PROPAGATION_NONE;
    if (n == 0) {
        v->note = v->note ? v->note : "no authoritative nameserver was asked";
        return;
    }
    ssd_buf_init(&b, p, 128, SSD_AUTH_MAX_NOTE);
    ssd_buf_addf(&b, "published on %d of %d nameserver%s", m, n,
                 n == 1 ? "" : "s");
    add_serials(p, &b, v->servers);
    add_errors(&b, v->servers);
    v->note = ssd_buf_str(&b);
}
