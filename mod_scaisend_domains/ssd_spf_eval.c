/* ssd_spf_eval: check_host() (RFC 7208 sections 4, 5.2, 6.1): records,
 * include, redirect=, the limits and the outcome. The other mechanisms
 * are in ssd_spf_mech.c, macros and addresses in ssd_spf_macro.c.
 *
 * Readings where RFC 7208 leaves room (each the one the OpenSPF suite
 * accepts, t/unit/rfc7208_eval.py):
 * - a void lookup is a term's own lookup (the TXT of an include or
 *   redirect target, the A/AAAA of a, the MX of mx, the PTR of ptr, the A
 *   of exists) answering NXDOMAIN or no records; the address lookups of
 *   mx and ptr names are not terms;
 * - redirect= counts as a DNS-querying term when it is followed;
 * - a DNS error on a PTR lookup makes ptr not match (5.5), on the address
 *   lookup of a PTR name skips that name; elsewhere it is a temperror. */
#include "ssd_spf_eval_internal.h"
#include "ssd_text.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

typedef enum { K_TOP, K_INCLUDE, K_REDIRECT } kind_e;

const char *ssd_spf_result_name(ssd_spf_result_e r)
{
    static const char *const names[] = {
        "none", "neutral", "pass", "fail", "softfail", "temperror",
        "permerror"
    };

    return (int)r >= 0 && r <= SSD_SPF_PERMERROR ? names[r] : "permerror";
}

/* ---- errors and limits ---- */

ssd_spf_result_e ssd_spf_ev_error(ev_t *e, ssd_spf_result_e r,
                                  const char *code, const char *name,
                                  const char *detail)
{
    ssd_spf_outcome_t *o = e->out;

    if (!o->error) {
        o->error = code;
        o->error_in = e->m.d;
        o->error_term = e->cur_term;
        o->error_name = name;
        o->detail = detail;
    }
    e->err = r;
    return r;
}

int ssd_spf_ev_count_term(ev_t *e)
{
    if (++e->out->dns_terms <= SSD_SPF_MAX_DNS_TERMS) {
        return 1;
    }
    ssd_spf_ev_error(e, SSD_SPF_PERMERROR, "too_many_lookups", NULL,
                     apr_psprintf(e->p, "more than %d DNS-querying terms",
                                  SSD_SPF_MAX_DNS_TERMS));
    return 0;
}

int ssd_spf_ev_void(ev_t *e, const char *name, ssd_dns_rc rc)
{
    if (++e->out->voids <= SSD_SPF_MAX_VOIDS) {
        return 1;
    }
    e->out->rc = rc;
    ssd_spf_ev_error(e, SSD_SPF_PERMERROR, "too_many_void_lookups", name,
                     apr_psprintf(e->p, "more than %d lookups found no "
                                  "data (the last: %s, %s)",
                                  SSD_SPF_MAX_VOIDS, name,
                                  ssd_dns_rc_name(rc)));
    return 0;
}

static void note_term(ev_t *e, apr_array_header_t *list, const char *letters)
{
    ssd_spf_term_ref_t *r = apr_array_push(list);

    r->domain = e->m.d;
    r->term = e->cur_term;
    r->letters = letters;
}

const char *ssd_spf_ev_target(ev_t *e, const char *spec)
{
    const char *name;

    if (!spec) {
        return e->cur_target = e->m.d;
    }
    if ((e->q->flags & SSD_SPF_OPAQUE_SENDER)
        && ssd_spf_macro_uses(spec, "slp")) {
        note_term(e, e->out->undecidable,
                  ssd_spf_macro_letters(e->p, spec, "slp"));
        return NULL;
    }
    if (ssd_spf_macro_uses(spec, "p")) {
        e->m.p = ssd_spf_ev_macro_p(e);
    }
    name = ssd_spf_expand(e->p, &e->m, spec, 0);
    return e->cur_target = name ? name : "";
}

ssd_dns_rc ssd_spf_ev_lookup(ev_t *e, ssd_rr_fetch_fn fn, const char *name,
                             ssd_rr_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    e->out->queries++;
    fn(e->lk->baton, e->p, name, a);
    if (!a->ips) {
        a->ips = apr_array_make(e->p, 1, sizeof(ssd_ip_t));
    }
    if (!a->names) {
        a->names = apr_array_make(e->p, 1, sizeof(const char *));
    }
    return a->rc;
}

ssd_dns_rc ssd_spf_ev_addresses(ev_t *e, const char *name, ssd_rr_answer_t *a)
{
    return ssd_spf_ev_lookup(e, e->ip.family == 4 ? e->lk->a : e->lk->aaaa,
                             name, a);
}

/* ---- records ---- */

static ssd_spf_result_e evaluate(ev_t *e, const char *domain, kind_e kind);

static ssd_spf_result_e none(ev_t *e, const char *code, const char *detail)
{
    e->none_code = code;
    e->none_detail = detail;
    return SSD_SPF_NONE;
}

/* The SPF records among the TXT records (4.5); *first the first one. */
static int spf_records(const ssd_txt_answer_t *a, const ssd_txt_t **first)
{
    const ssd_txt_t *t = (const ssd_txt_t *)a->txts->elts;
    int i, n = 0;

    *first = NULL;
    for (i = 0; i < a->txts->nelts; i++) {
        if (ssd_spf_is_record(t[i].data, t[i].len)) {
            *first = *first ? *first : &t[i];
            n++;
        }
    }
    return n;
}

/* The TXT answer at domain judged (4.4, 4.5): 0 with *terms, or the
 * result that ends the evaluation of this record. */
static ssd_spf_result_e record(ev_t *e, const char *domain,
                               apr_array_header_t **terms, int *ok)
{
    ssd_txt_answer_t a;
    const ssd_txt_t *rec;
    const char *msg;
    int n;

    *ok = 0;
    memset(&a, 0, sizeof(a));
    e->out->queries++;
    e->lk->txt(e->lk->baton, e->p, domain, &a);
    if (ssd_dns_is_temporary(a.rc)) {
        e->out->rc = a.rc;
        return ssd_spf_ev_error(e, SSD_SPF_TEMPERROR, "dns", domain, NULL);
    }
    if (a.rc == SSD_DNS_CNAME_LOOP) {
        return ssd_spf_ev_error(e, SSD_SPF_PERMERROR, "cname_loop", domain,
                                "the name is a CNAME loop");
    }
    if (a.rc != SSD_DNS_OK || !a.txts || a.txts->nelts == 0) {
        if (!ssd_spf_ev_void(e, domain, a.rc == SSD_DNS_OK ? SSD_DNS_NODATA
                                                           : a.rc)) {
            return e->err;
        }
        return none(e, "no_record", a.rc == SSD_DNS_NXDOMAIN
                    ? "the name does not exist" : "no TXT record");
    }
    if ((n = spf_records(&a, &rec)) == 0) {
        return none(e, "no_record", "no v=spf1 TXT record");
    }
    if (n > 1) {
        return ssd_spf_ev_error(e, SSD_SPF_PERMERROR, "multiple_records",
                                domain, apr_psprintf(e->p, "%d SPF records "
                                                     "are published", n));
    }
    if ((msg = ssd_spf_parse_txt(e->p, rec->data, rec->len, terms))) {
        return ssd_spf_ev_error(e, SSD_SPF_PERMERROR, "malformed", domain,
                                msg);
    }
    *ok = 1;
    return SSD_SPF_NONE;
}

static ssd_spf_result_e qualifier(char q)
{
    switch (q) {
    case '-': return SSD_SPF_FAIL;
    case '~': return SSD_SPF_SOFTFAIL;
    case '?': return SSD_SPF_NEUTRAL;
    default: return SSD_SPF_PASS;
    }
}

static const term_t *modifier(const apr_array_header_t *terms,
                              const char *name, int *has_all)
{
    const term_t *t = (const term_t *)terms->elts, *found = NULL;
    int i;

    *has_all = 0;
    for (i = 0; i < terms->nelts; i++) {
        if (t[i].modifier && !strcmp(t[i].name, name)) {
            found = &t[i];
        }
        *has_all |= !t[i].modifier && !strcmp(t[i].name, "all");
    }
    return found;
}

/* A target without a record: permerror for include and redirect. */
static ssd_spf_result_e target_none(ev_t *e, const char *target)
{
    return ssd_spf_ev_error(e, SSD_SPF_PERMERROR,
                            e->none_code ? e->none_code : "no_record",
                            target, e->none_detail);
}

static void decided(ev_t *e, const char *domain, const term_t *t)
{
    if (e->depth == 0) {
        e->exp_domain = domain;
        e->out->decided_in = domain;
        e->out->decided_by = t ? t->text : NULL;
        e->out->decided_target = t ? e->cur_target : NULL;
    }
}

/* 6.1: evaluated when no mechanism matched and the record has no all. */
static ssd_spf_result_e redirect(ev_t *e, const term_t *t)
{
    const char *target;
    ssd_spf_result_e r;

    e->cur_term = t->text;
    if (!ssd_spf_ev_count_term(e)) {
        return e->err;
    }
    if (!(target = ssd_spf_ev_target(e, t->arg))) {
        decided(e, e->m.d, NULL);           /* undecidable: not followed */
        return SSD_SPF_NEUTRAL;
    }
    if (e->depth == 0) {
        APR_ARRAY_PUSH(e->out->redirects, const char *) = target;
    }
    r = evaluate(e, target, K_REDIRECT);
    return r == SSD_SPF_NONE ? target_none(e, target) : r;
}

/* 5.2: the include's result mapped to match / no match / error. */
static match_e include(ev_t *e, const term_t *t)
{
    const char *target, *term = t->text;
    ssd_spf_result_e r;

    if (!ssd_spf_ev_count_term(e)) {
        return M_ERROR;
    }
    if (!(target = ssd_spf_ev_target(e, t->arg))) {
        return M_NO;
    }
    e->depth++;
    r = evaluate(e, target, K_INCLUDE);
    e->depth--;
    e->cur_term = term;
    e->cur_target = target;
    switch (r) {
    case SSD_SPF_PASS:
        return M_YES;
    case SSD_SPF_FAIL: case SSD_SPF_SOFTFAIL: case SSD_SPF_NEUTRAL:
        return M_NO;
    case SSD_SPF_NONE:
        target_none(e, target);
        return M_ERROR;
    default:
        e->err = r;
        return M_ERROR;
    }
}

/* 4.6.2: the mechanisms in order, then redirect=, then neutral. */
static ssd_spf_result_e run_record(ev_t *e, const char *domain,
                                   const apr_array_header_t *terms)
{
    const term_t *t = (const term_t *)terms->elts, *redir;
    match_e m;
    int i, all;

    for (i = 0; i < terms->nelts; i++) {
        if (t[i].modifier) {
            continue;
        }
        e->cur_term = t[i].text;
        e->cur_target = NULL;
        m = !strcmp(t[i].name, "include") ? include(e, &t[i])
            : !strcmp(t[i].name, "all") ? M_YES
            : ssd_spf_ev_mechanism(e, &t[i]);
        if (m == M_ERROR) {
            return e->err;
        }
        if (m == M_YES) {
            decided(e, domain, &t[i]);
            e->exp = e->depth ? e->exp : modifier(terms, "exp", &all);
            return qualifier(t[i].qual);
        }
    }
    redir = modifier(terms, "redirect", &all);
    if (redir && !all) {
        return redirect(e, redir);
    }
    decided(e, domain, NULL);
    return SSD_SPF_NEUTRAL;
}

static int on_stack(const ev_t *e, const char *domain)
{
    int i;

    for (i = 0; i < e->stack->nelts; i++) {
        if (ssd_spf_same_name(APR_ARRAY_IDX(e->stack, i, const char *),
                              domain)) {
            return 1;
        }
    }
    return 0;
}

static void note_loop(ev_t *e, const char *domain)
{
    ssd_buf_t b;
    int i;

    if (e->out->loop) {
        return;
    }
    ssd_buf_init(&b, e->p, 128, 0);
    for (i = 0; i < e->stack->nelts; i++) {
        ssd_buf_adds(&b, APR_ARRAY_IDX(e->stack, i, const char *));
        ssd_buf_adds(&b, " -> ");
    }
    ssd_buf_adds(&b, domain);
    e->out->loop = ssd_buf_str(&b);
}

static const char *lower(apr_pool_t *p, const char *s)
{
    char *l = apr_pstrdup(p, s), *c;

    for (c = l; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return l;
}

/* check_host() of one domain (4.3-4.6). NONE: no record (why in
 * e->none_code and e->none_detail). */
static ssd_spf_result_e evaluate(ev_t *e, const char *domain, kind_e kind)
{
    const char *saved_d = e->m.d, *saved_term = e->cur_term;
    apr_array_header_t *terms;
    ssd_spf_result_e r;
    int ok;

    e->none_code = NULL;
    if (!ssd_spf_dns_name_ok(domain, 1)) {
        return none(e, kind == K_TOP ? NULL : "invalid_name", apr_psprintf(
                    e->p, "'%s' is not a valid domain name", domain));
    }
    if (on_stack(e, domain)) {
        note_loop(e, domain);
    }
    APR_ARRAY_PUSH(e->stack, const char *) = domain;
    r = record(e, domain, &terms, &ok);
    if (ok) {
        APR_ARRAY_PUSH(e->out->visited, const char *) = lower(e->p, domain);
        e->m.d = domain;
        e->cur_term = NULL;
        r = run_record(e, domain, terms);
    }
    e->stack->nelts--;
    e->m.d = saved_d;
    e->cur_term = saved_term;
    return r;
}

/* 6.2: the exp= text of the record that decided, when it can be used
 * (exactly one TXT record at its target, an explain-string). */
static void explain(ev_t *e)
{
    ssd_txt_answer_t a;
    const char *name;
    const ssd_txt_t *t;

    e->m.d = e->exp_domain;
    if (ssd_spf_macro_uses(e->exp->arg, "p")) {
        e->m.p = ssd_spf_ev_macro_p(e);
    }
    name = ssd_spf_expand(e->p, &e->m, e->exp->arg, 0);
    if (!name || !ssd_spf_dns_name_ok(name, 0)) {
        return;
    }
    memset(&a, 0, sizeof(a));
    e->out->queries++;
    e->lk->txt(e->lk->baton, e->p, name, &a);
    if (a.rc != SSD_DNS_OK || !a.txts || a.txts->nelts != 1) {
        return;
    }
    t = &APR_ARRAY_IDX(a.txts, 0, ssd_txt_t);
    if (!memchr(t->data, '\0', t->len)) {
        if (ssd_spf_macro_uses(t->data, "p")) {
            e->m.p = ssd_spf_ev_macro_p(e);
        }
        e->out->explanation = ssd_spf_expand(e->p, &e->m, t->data, 1);
    }
}

/* ---- the query ---- */

static void outcome_init(apr_pool_t *p, ssd_spf_outcome_t *o)
{
    memset(o, 0, sizeof(*o));
    o->redirects = apr_array_make(p, 2, sizeof(const char *));
    o->visited = apr_array_make(p, 4, sizeof(const char *));
    o->undecidable = apr_array_make(p, 1, sizeof(ssd_spf_term_ref_t));
    o->ptr_cut = apr_array_make(p, 1, sizeof(ssd_spf_term_ref_t));
}

static void macros(ev_t *e)
{
    const char *s = e->q->sender ? e->q->sender : "";
    const char *at = strrchr(s, '@');

    e->m.s = s;
    e->m.l = at ? apr_pstrmemdup(e->p, s, (apr_size_t)(at - s)) : "postmaster";
    e->m.o = at ? at + 1 : s;
    e->m.d = e->q->domain;
    e->m.i = ssd_spf_macro_i(e->p, &e->ip);
    e->m.v = e->ip.family == 4 ? "in-addr" : "ip6";
    e->m.h = e->q->helo ? e->q->helo : "unknown";
    e->m.c = ssd_ip_text(e->p, &e->ip);
    e->m.r = e->q->receiver ? e->q->receiver : "unknown";
    e->m.t = apr_psprintf(e->p, "%" APR_TIME_T_FMT,
                          apr_time_sec(apr_time_now()));
}

ssd_spf_result_e ssd_spf_check_host(apr_pool_t *p, const ssd_spf_lookup_t *lk,
                                    const ssd_spf_query_t *q,
                                    ssd_spf_outcome_t *out)
{
    ev_t e;

    outcome_init(p, out);
    memset(&e, 0, sizeof(e));
    e.p = p;
    e.lk = lk;
    e.q = q;
    e.out = out;
    e.stack = apr_array_make(p, 8, sizeof(const char *));
    e.m.d = q->domain ? q->domain : "";
    if (!ssd_ip_parse(q->ip, &e.ip)) {
        out->result = ssd_spf_ev_error(&e, SSD_SPF_PERMERROR, "malformed",
                                       NULL, apr_psprintf(p, "'%s' is not an "
                                       "IP address", q->ip ? q->ip : ""));
        return out->result;
    }
    macros(&e);
    out->result = evaluate(&e, e.m.d, K_TOP);
    if (out->result == SSD_SPF_FAIL && (q->flags & SSD_SPF_EXPLAIN)
        && e.exp) {
        explain(&e);
    }
    return out->result;
}

void ssd_spf_query_smtp(apr_pool_t *p, const char *ip, const char *mailfrom,
                        const char *helo, ssd_spf_query_t *q)
{
    const char *at;

    memset(q, 0, sizeof(*q));
    q->ip = ip;
    q->helo = helo;
    if (!mailfrom || !*mailfrom) {
        mailfrom = apr_pstrcat(p, "postmaster@", helo ? helo : "", NULL);
    }
    at = strrchr(mailfrom, '@');
    if (!at) {
        mailfrom = apr_pstrcat(p, "postmaster@", mailfrom, NULL);
    }
    else if (at == mailfrom) {
        mailfrom = apr_pstrcat(p, "postmaster", mailfrom, NULL);
    }
    q->sender = mailfrom;
    q->domain = strrchr(mailfrom, '@') + 1;
}
