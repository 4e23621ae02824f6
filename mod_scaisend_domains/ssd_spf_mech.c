/* ssd_spf_mech: the mechanisms of check_host() that compare addresses
 * (RFC 7208 sections 5.3-5.7) and the %{p} macro (7.3). */
#include "ssd_spf_eval_internal.h"

#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

/* ---- helpers ---- */

/* The dual-cidr-length of an a or mx term, read from its text: what
 * follows the name and the ":" domain-spec (ssd_spf checked it). */
static void dual_cidr(const term_t *t, int *c4, int *c6)
{
    const char *s = t->text + strspn(t->text, "+-~?");

    *c4 = 32;
    *c6 = 128;
    while (apr_isalnum(*s)) {
        s++;
    }
    if (*s == ':' && t->arg) {
        s += 1 + strlen(t->arg);
    }
    if (s[0] == '/' && apr_isdigit(s[1])) {
        *c4 = atoi(s + 1);
        for (s++; apr_isdigit(*s); s++) {
        }
    }
    if (s[0] == '/' && s[1] == '/' && apr_isdigit(s[2])) {
        *c6 = atoi(s + 2);
    }
}

static int any_in(const ev_t *e, const apr_array_header_t *ips, int bits)
{
    const ssd_ip_t *ip = (const ssd_ip_t *)ips->elts;
    int i;

    for (i = 0; i < ips->nelts; i++) {
        if (ssd_ip_in(&e->ip, &ip[i], bits)) {
            return 1;
        }
    }
    return 0;
}

static match_e temperror(ev_t *e, const char *name, ssd_dns_rc rc)
{
    e->out->rc = rc;
    ssd_spf_ev_error(e, SSD_SPF_TEMPERROR, "dns", name, NULL);
    return M_ERROR;
}

/* A term's own lookup answered: error, void, or data to look at (1). */
static int answered(ev_t *e, const char *name, const ssd_rr_answer_t *a,
                    int is_names, match_e *m)
{
    int n = is_names ? a->names->nelts : a->ips->nelts;

    if (ssd_dns_is_temporary(a->rc)) {
        *m = temperror(e, name, a->rc);
        return 0;
    }
    if (a->rc == SSD_DNS_OK && n > 0) {
        return 1;
    }
    *m = ssd_spf_ev_void(e, name, a->rc == SSD_DNS_OK ? SSD_DNS_NODATA
                                                      : a->rc)
         ? M_NO : M_ERROR;
    return 0;
}

/* The target of a, mx, ptr or exists: NULL when the term cannot match
 * (undecidable, or not a DNS name). */
static const char *target(ev_t *e, const term_t *t)
{
    const char *name = ssd_spf_ev_target(e, t->arg);

    return name && ssd_spf_dns_name_ok(name, 0) ? name : NULL;
}

/* ---- mechanisms ---- */

static match_e mech_a(ev_t *e, const term_t *t)
{
    ssd_rr_answer_t a;
    const char *name;
    match_e m;
    int c4, c6;

    if (!ssd_spf_ev_count_term(e)) {
        return M_ERROR;
    }
    if (!(name = target(e, t))) {
        return M_NO;
    }
    dual_cidr(t, &c4, &c6);
    ssd_spf_ev_addresses(e, name, &a);
    if (!answered(e, name, &a, 0, &m)) {
        return m;
    }
    return any_in(e, a.ips, e->ip.family == 4 ? c4 : c6) ? M_YES : M_NO;
}

/* The addresses of the MX names (at most 10 names, 4.6.4). */
static match_e mx_names(ev_t *e, const char *name,
                        const apr_array_header_t *names, int bits)
{
    ssd_rr_answer_t a;
    const char *n;
    int i;

    if (names->nelts > SSD_SPF_MAX_NAMES) {
        ssd_spf_ev_error(e, SSD_SPF_PERMERROR, "too_many_mx_names", name,
                         apr_psprintf(e->p, "%s has %d MX records; at most "
                                      "%d may be looked up", name,
                                      names->nelts, SSD_SPF_MAX_NAMES));
        return M_ERROR;
    }
    for (i = 0; i < names->nelts; i++) {
        n = APR_ARRAY_IDX(names, i, const char *);
        if (!ssd_spf_dns_name_ok(n, 0)) {
            continue;                       /* "." (null MX) and the like */
        }
        ssd_spf_ev_addresses(e, n, &a);
        if (ssd_dns_is_temporary(a.rc)) {
            return temperror(e, n, a.rc);
        }
        if (a.rc == SSD_DNS_OK && any_in(e, a.ips, bits)) {
            return M_YES;
        }
    }
    return M_NO;
}

static match_e mech_mx(ev_t *e, const term_t *t)
{
    ssd_rr_answer_t mx;
    const char *name;
    match_e m;
    int c4, c6;

    if (!ssd_spf_ev_count_term(e)) {
        return M_ERROR;
    }
    if (!(name = target(e, t))) {
        return M_NO;
    }
    dual_cidr(t, &c4, &c6);
    ssd_spf_ev_lookup(e, e->lk->mx, name, &mx);
    if (!answered(e, name, &mx, 1, &m)) {
        return m;
    }
    return mx_names(e, name, mx.names, e->ip.family == 4 ? c4 : c6);
}

/* name is domain or a subdomain of it (case-insensitive, trailing dots
 * ignored). */
static int is_under(const char *name, const char *domain)
{
    apr_size_t ln = strlen(name), ld = strlen(domain);

    ln -= ln > 1 && name[ln - 1] == '.';
    ld -= ld > 1 && domain[ld - 1] == '.';
    if (ln < ld || strncasecmp(name + ln - ld, domain, ld) != 0) {
        return 0;
    }
    return ln == ld || name[ln - ld - 1] == '.';
}

/* Whether a PTR name's addresses include the client's (forward
 * confirmation); a DNS error skips the name (5.5). */
static int confirmed(ev_t *e, const char *name)
{
    ssd_rr_answer_t a;
    const ssd_ip_t *ip;
    int i, bits = e->ip.family == 4 ? 32 : 128;

    if (!ssd_spf_dns_name_ok(name, 0)) {
        return 0;
    }
    ssd_spf_ev_addresses(e, name, &a);
    ip = (const ssd_ip_t *)a.ips->elts;
    for (i = 0; a.rc == SSD_DNS_OK && i < a.ips->nelts; i++) {
        if (ssd_ip_in(&e->ip, &ip[i], bits)) {
            return 1;
        }
    }
    return 0;
}

/* The PTR names of the client, at most 10 (4.6.4); NULL on a DNS error
 * (the PTR lookup of ptr then does not match) or no names (a void lookup
 * of the ptr term; the lookup of %{p} is not a term's: is_term 0). */
static const apr_array_header_t *ptr_names(ev_t *e, ssd_rr_answer_t *a,
                                           int is_term, match_e *m)
{
    const char *rev = ssd_ip_reverse(e->p, &e->ip);
    ssd_spf_term_ref_t *cut;

    *m = M_NO;
    ssd_spf_ev_lookup(e, e->lk->ptr, rev, a);
    if (ssd_dns_is_temporary(a->rc) || a->rc == SSD_DNS_CNAME_LOOP) {
        return NULL;
    }
    if (a->rc != SSD_DNS_OK || a->names->nelts == 0) {
        if (is_term && !ssd_spf_ev_void(e, rev, a->rc == SSD_DNS_OK
                                                ? SSD_DNS_NODATA : a->rc)) {
            *m = M_ERROR;
        }
        return NULL;
    }
    if (a->names->nelts > SSD_SPF_MAX_NAMES) {
        cut = apr_array_push(e->out->ptr_cut);
        cut->domain = e->m.d;
        cut->term = e->cur_term;
        cut->letters = apr_psprintf(e->p, "%d", a->names->nelts);
        a->names->nelts = SSD_SPF_MAX_NAMES;
    }
    return a->names;
}

static match_e mech_ptr(ev_t *e, const term_t *t)
{
    const apr_array_header_t *names;
    ssd_rr_answer_t a;
    const char *name, *n;
    match_e m;
    int i;

    if (!ssd_spf_ev_count_term(e)) {
        return M_ERROR;
    }
    if (!(name = target(e, t))) {
        return M_NO;
    }
    if (!(names = ptr_names(e, &a, 1, &m))) {
        return m;
    }
    for (i = 0; i < names->nelts; i++) {
        n = APR_ARRAY_IDX(names, i, const char *);
        if (is_under(n, name) && confirmed(e, n)) {
            return M_YES;
        }
    }
    return M_NO;
}

static match_e mech_exists(ev_t *e, const term_t *t)
{
    ssd_rr_answer_t a;
    const char *name;
    match_e m;

    if (!ssd_spf_ev_count_term(e)) {
        return M_ERROR;
    }
    if (!(name = target(e, t))) {
        return M_NO;
    }
    ssd_spf_ev_lookup(e, e->lk->a, name, &a);      /* A, whatever the
                                                       client (5.7) */
    return answered(e, name, &a, 0, &m) ? M_YES : m;
}

/* ip4 / ip6: "address[/length]" of the client's family only. */
static match_e mech_ip(ev_t *e, const term_t *t)
{
    const char *slash = strchr(t->arg, '/');
    const char *addr = slash ? apr_pstrmemdup(e->p, t->arg,
                                              (apr_size_t)(slash - t->arg))
                             : t->arg;
    int six = t->name[2] == '6', bits = slash ? atoi(slash + 1)
                                               : six ? 128 : 32;
    ssd_ip_t net;

    if (!ssd_ip_parse(addr, &net) || net.family != (six ? 6 : 4)) {
        return M_NO;            /* ::ffff:a.b.c.d in ip6: never matches */
    }
    return ssd_ip_in(&e->ip, &net, bits) ? M_YES : M_NO;
}

match_e ssd_spf_ev_mechanism(ev_t *e, const term_t *t)
{
    const char *n = t->name;

    if (!strcmp(n, "a")) {
        return mech_a(e, t);
    }
    if (!strcmp(n, "mx")) {
        return mech_mx(e, t);
    }
    if (!strcmp(n, "ptr")) {
        return mech_ptr(e, t);
    }
    if (!strcmp(n, "exists")) {
        return mech_exists(e, t);
    }
    return mech_ip(e, t);                          /* ip4, ip6 */
}

/* ---- %{p} ---- */

static void validate_all(ev_t *e)
{
    const apr_array_header_t *names;
    ssd_rr_answer_t a;
    match_e m;
    int i;

    e->validated = apr_array_make(e->p, 4, sizeof(const char *));
    names = ptr_names(e, &a, 0, &m);
    for (i = 0; names && i < names->nelts; i++) {
        if (confirmed(e, APR_ARRAY_IDX(names, i, const char *))) {
            APR_ARRAY_PUSH(e->validated, const char *) =
                APR_ARRAY_IDX(names, i, const char *);
        }
    }
}

/* 7.3: the current domain if validated, else a validated subdomain of
 * it, else any validated name, else "unknown". */
const char *ssd_spf_ev_macro_p(ev_t *e)
{
    const char *n;
    int i;

    if (!e->validated) {
        validate_all(e);
    }
    for (i = 0; i < e->validated->nelts; i++) {
        n = APR_ARRAY_IDX(e->validated, i, const char *);
        if (ssd_spf_same_name(n, e->m.d)) {
            return n;
        }
    }
    for (i = 0; i < e->validated->nelts; i++) {
        n = APR_ARRAY_IDX(e->validated, i, const char *);
        if (is_under(n, e->m.d)) {
            return n;
        }
    }
    return e->validated->nelts ? APR_ARRAY_IDX(e->validated, 0, const char *)
                               : "unknown";
}
