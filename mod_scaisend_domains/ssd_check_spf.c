/* ssd_check_spf: does the domain's SPF record authorise ScaiSend
 * (RFC 7208)?
 *
 * Exactly one record whose version token is "v=spf1" (case-insensitive,
 * followed by a space or the end: v=spf10 is not SPF) may be at the domain.
 * Its terms are parsed strictly (§4.6.1, §5, §6; a syntax error anywhere in
 * a record that is evaluated fails) and walked in order, as a receiver
 * evaluating mail from ScaiSend's servers would: include:<configured>
 * with the pass qualifier, met before any all, passes; so does an include
 * of another domain (pass qualifier) whose record reaches it, and a
 * redirect= (ignored when the record has an all) whose target reaches it.
 *
 * Limits (§4.6.4): include, a, mx, ptr, exists and redirect count against
 * 10 DNS-querying terms. The checks do not resolve a, mx, ptr or exists
 * (they cannot lead to the include): they are counted, never looked up,
 * so a void lookup is counted only for include/redirect targets that give
 * NXDOMAIN or no TXT at all (limit 2). A receiver already fails such an
 * include (§5.2: "none" -> permerror); we report each one and go on, so
 * the user sees them all, and stop at the third. The configured include
 * itself is counted but its own record is not walked. A loop of includes
 * is reported as soon as it is seen (a receiver would hit the limit). */
#include "ssd_check.h"
#include "ssd_spf.h"
#include "ssd_text.h"

#include <string.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_hash.h>

#define CHECK "spf"
#define MAX_TERMS 10
#define MAX_VOIDS 2

typedef enum { R_NO, R_FOUND, R_STOP } reach_e;


typedef struct {
    apr_pool_t *p;
    ssd_txt_fetch_fn fetch;
    void *baton;
    ssd_check_result_t *out;
    const char *domain;
    const char *include;
    const char *record;             /* the top-level record (text) */
    int terms;                      /* DNS-querying terms so far */
    int voids;
    apr_array_header_t *stack;      /* domains being evaluated */
    const char *note;               /* include met without pass, why */
} spf_t;

/* ---- expected records ---- */

static int is_our_include(const spf_t *s, const term_t *t)
{
    return !t->modifier && !strcmp(t->name, "include") && t->arg
           && ssd_spf_same_name(t->arg, s->include);
}

static const char *default_record(const spf_t *s)
{
    return apr_pstrcat(s->p, "v=spf1 include:", s->include, " ~all", NULL);
}

/* rec with include:<ours> right after v=spf1 (any other include:<ours>
 * term, whatever its qualifier or place, removed). */
static const char *with_include(const spf_t *s, const char *rec)
{
    apr_array_header_t *terms;
    const term_t *t;
    ssd_buf_t b;
    int i;

    if (strlen(rec) > SSD_SPF_MAX_RECORD) {
        return default_record(s);   /* a record to replace, not to extend */
    }
    ssd_buf_init(&b, s->p, strlen(rec) + strlen(s->include) + 16, 0);
    ssd_buf_addf(&b, "v=spf1 include:%s", s->include);
    if (ssd_spf_parse(s->p, rec, &terms)) {
        ssd_buf_adds(&b, rec + 6);
        return ssd_buf_str(&b);
    }
    t = (const term_t *)terms->elts;
    for (i = 0; i < terms->nelts; i++) {
        if (!is_our_include(s, &t[i])) {
            ssd_buf_addc(&b, ' ');
            ssd_buf_adds(&b, t[i].text);
        }
    }
    return ssd_buf_str(&b);
}


/* ---- findings ---- */

static ssd_finding_t *fail(spf_t *s, const char *code, const char *host,
                           const char *msg)
{
    return ssd_check_error(s->p, s->out, CHECK, code, host, msg);
}

/* A finding about the top-level record: found, and the record to publish. */
static ssd_finding_t *fail_top(spf_t *s, const char *code, const char *msg)
{
    ssd_finding_t *f = fail(s, code, s->domain, msg);

    if (s->record) {
        f->expected = with_include(s, s->record);
        f->found = ssd_check_escape(s->p, s->record, strlen(s->record));
    }
    return f;
}

/* One more DNS-querying term; 0 (and the error) past the limit. */
static int count_term(spf_t *s, const char *host)
{
    if (++s->terms <= MAX_TERMS) {
        return 1;
    }
    fail_top(s, "too_many_lookups", apr_psprintf(s->p,
         "evaluating the SPF record of %s needs more than %d DNS lookups "
         "(include, a, mx, ptr, exists, redirect; the limit was passed in "
         "the record of %s) before include:%s is reached, so receivers fail "
         "SPF with a permanent error: put include:%s first, or remove or "
         "flatten other includes, e.g. publish: %s", s->domain, MAX_TERMS,
         host, s->include, s->include, with_include(s, s->record)));
    return 0;
}

static int on_stack(const spf_t *s, const char *name)
{
    int i;

    for (i = 0; i < s->stack->nelts; i++) {
        if (ssd_spf_same_name(APR_ARRAY_IDX(s->stack, i, const char *), name)) {
            return 1;
        }
    }
    return 0;
}

static const char *chain(const spf_t *s, const char *last)
{
    ssd_buf_t b;
    int i;

    ssd_buf_init(&b, s->p, 128, 0);
    for (i = 0; i < s->stack->nelts; i++) {
        ssd_buf_adds(&b, APR_ARRAY_IDX(s->stack, i, const char *));
        ssd_buf_adds(&b, " -> ");
    }
    ssd_buf_adds(&b, last);
    return ssd_buf_str(&b);
}

/* The SPF records among the TXT records; *first set to the first one. */
static int spf_records(const ssd_txt_answer_t *a, const ssd_txt_t **first)
{
    const ssd_txt_t *t;
    int i, n = 0;

    *first = NULL;
    if (a->rc != SSD_DNS_OK || !a->txts) {
        return 0;
    }
    t = (const ssd_txt_t *)a->txts->elts;
    for (i = 0; i < a->txts->nelts; i++) {
        if (ssd_spf_is_record(t[i].data, t[i].len)) {
            *first = *first ? *first : &t[i];
            n++;
        }
    }
    return n;
}

/* A name without an SPF record as an include/redirect target. */
static reach_e no_spf_at(spf_t *s, const char *from, const char *kind,
                         const char *target, ssd_dns_rc rc)
{
    int is_void = (rc == SSD_DNS_NXDOMAIN || rc == SSD_DNS_NODATA
                   || rc == SSD_DNS_OK);

    if (rc != SSD_DNS_OK && is_void && ++s->voids > MAX_VOIDS) {
        fail(s, "too_many_void_lookups", target, apr_psprintf(s->p,
             "more than %d include/redirect targets in the SPF record of %s "
             "do not exist or have no TXT record (the last: %s), and "
             "receivers fail SPF with a permanent error: remove those terms",
             MAX_VOIDS, s->domain, target));
        return R_STOP;
    }
    fail(s, "malformed", target, apr_psprintf(s->p, "%s%s in the SPF record "
         "of %s points at a name with no SPF record (%s), which receivers "
         "treat as a permanent error: remove that term, or publish an SPF "
         "record at %s", kind, target, from,
         rc == SSD_DNS_OK ? "no v=spf1 TXT" : ssd_dns_rc_name(rc), target));
    return R_NO;
}

static reach_e walk(spf_t *s, const char *host,
                    const apr_array_header_t *terms, int top);

/* Evaluate the record at target (an include or redirect target). */
static reach_e follow(spf_t *s, const char *from, const char *kind,
                      const char *target)
{
    ssd_txt_answer_t ans;
    const ssd_txt_t *rec;
    apr_array_header_t *terms;
    const char *msg;
    int n;
    reach_e r;

    if (on_stack(s, target)) {
        fail(s, "too_many_lookups", target, apr_psprintf(s->p, "the SPF "
             "records loop (%s), so receivers exceed the %d-lookup limit and "
             "fail SPF: remove %s%s from the record of %s", chain(s, target),
             MAX_TERMS, kind, target, from));
        return R_STOP;
    }
    memset(&ans, 0, sizeof(ans));
    s->out->lookups++;
    s->fetch(s->baton, s->p, target, &ans);
    if (ssd_dns_is_temporary(ans.rc)) {
        ssd_check_temp(s->p, s->out, CHECK, s->domain, target, ans.rc);
        return R_STOP;
    }
    if (ans.rc == SSD_DNS_CNAME_LOOP) {
        fail(s, "cname_loop", target, apr_psprintf(s->p, "%s (%s%s in the "
             "record of %s) is a CNAME loop: fix the CNAME or remove the "
             "term", target, kind, target, from));
        return R_STOP;
    }
    if ((n = spf_records(&ans, &rec)) == 0) {
        return no_spf_at(s, from, kind, target, ans.rc);
    }
    msg = n > 1 ? apr_psprintf(s->p, "%d SPF records are published", n)
                : ssd_spf_parse_txt(s->p, rec->data, rec->len, &terms);
    if (msg) {
        fail(s, "malformed", target, apr_psprintf(s->p, "the SPF record at "
             "%s (%s%s in the record of %s) is invalid: %s; receivers fail "
             "SPF with a permanent error", target, kind, target, from, msg))
            ->found = ssd_check_escape(s->p, rec->data, rec->len);
        return R_STOP;
    }
    APR_ARRAY_PUSH(s->stack, const char *) = target;
    r = walk(s, target, terms, 0);
    s->stack->nelts--;
    return r;
}

static reach_e include_term(spf_t *s, const char *host, const term_t *t)
{
    reach_e r;

    if (!count_term(s, host)) {
        return R_STOP;
    }
    if (is_our_include(s, t)) {
        if (t->qual == '+') {
            return R_FOUND;
        }
        s->note = apr_psprintf(s->p, " ('%s' has the qualifier '%c', which "
                               "never gives pass: write it as include:%s)",
                               t->text, t->qual, s->include);
        return R_NO;
    }
    if (strchr(t->arg, '%')) {
        return R_NO;        /* a macro: depends on the message, not followed */
    }
    r = follow(s, host, "include:", t->arg);
    if (r == R_FOUND && t->qual != '+') {
        s->note = apr_psprintf(s->p, " (include:%s is reached through '%s' "
                               "in the record of %s, whose qualifier '%c' "
                               "never gives pass)", s->include, t->text,
                               host, t->qual);
        return R_NO;
    }
    return r;
}

/* An all ends the record; at the top, say so if our include comes later. */
static reach_e all_met(spf_t *s, const apr_array_header_t *terms, int at,
                       int top, const term_t *all)
{
    const term_t *t = (const term_t *)terms->elts;
    int i;

    for (i = at + 1; top && i < terms->nelts; i++) {
        if (is_our_include(s, &t[i])) {
            fail_top(s, "include_after_all", apr_psprintf(s->p, "in the SPF "
                     "record of %s, include:%s comes after '%s', and "
                     "receivers stop at the all term: move include:%s before "
                     "it and publish: %s", s->domain, s->include, all->text,
                     s->include, with_include(s, s->record)));
            return R_STOP;
        }
    }
    return R_NO;
}

static int has_all(const apr_array_header_t *terms)
{
    const term_t *t = (const term_t *)terms->elts;
    int i;

    for (i = 0; i < terms->nelts; i++) {
        if (!t[i].modifier && !strcmp(t[i].name, "all")) {
            return 1;
        }
    }
    return 0;
}

static reach_e walk(spf_t *s, const char *host,
                    const apr_array_header_t *terms, int top)
{
    const term_t *t = (const term_t *)terms->elts;
    const char *redirect = NULL;
    reach_e r = R_NO;
    int i;

    for (i = 0; i < terms->nelts && r == R_NO; i++) {
        const char *n = t[i].name;

        if (t[i].modifier) {
            redirect = strcmp(n, "redirect") ? redirect : t[i].arg;
        }
        else if (!strcmp(n, "all")) {
            return all_met(s, terms, i, top, &t[i]);
        }
        else if (!strcmp(n, "include")) {
            r = include_term(s, host, &t[i]);
        }
        else if (strcmp(n, "ip4") && strcmp(n, "ip6")) {
            r = count_term(s, host) ? R_NO : R_STOP;    /* a mx ptr exists */
        }
    }
    if (r != R_NO || !redirect || has_all(terms) || strchr(redirect, '%')) {
        return r;
    }
    return count_term(s, host) ? follow(s, host, "redirect=", redirect)
                               : R_STOP;
}

/* ---- the top-level record ---- */

static void no_record(spf_t *s, const ssd_txt_answer_t *a)
{
    const ssd_txt_t *t = a->txts ? (const ssd_txt_t *)a->txts->elts : NULL;
    const char *hint = "";
    ssd_finding_t *f;
    int i;

    for (i = 0; a->rc == SSD_DNS_OK && t && i < a->txts->nelts; i++) {
        if (ssd_check_is_quoted(t[i].data, t[i].len)
            && ssd_spf_is_record(t[i].data + 1, t[i].len - 2)) {
            f = fail(s, "quoted_value", s->domain, apr_psprintf(s->p, "the "
                     "SPF record at %s was entered with its double quotes, "
                     "which became part of the value: remove the surrounding "
                     "quotes and publish: %s", s->domain, with_include(s,
                     apr_pstrmemdup(s->p, t[i].data + 1, t[i].len - 2))));
            f->found = ssd_check_escape(s->p, t[i].data, t[i].len);
            f->expected = with_include(s, apr_pstrmemdup(s->p, t[i].data + 1,
                                                         t[i].len - 2));
            return;
        }
        if (t[i].len >= 5 && !strncasecmp(t[i].data, "v=spf", 5)) {
            hint = apr_psprintf(s->p, " (the TXT record '%s' is not SPF: "
                                "the version must be exactly v=spf1)",
                                ssd_check_escape(s->p, t[i].data, t[i].len));
        }
    }
    f = fail(s, "missing", s->domain, apr_psprintf(s->p, "no SPF record at "
             "%s%s: publish a TXT record at %s with the value %s", s->domain,
             hint, s->domain, default_record(s)));
    f->expected = default_record(s);
}

/* A term of a record to merge: kept once, our include and redirect=
 * dropped, the first all remembered for the end. */
static void merge_term(spf_t *s, char *w, ssd_buf_t *out, apr_hash_t *seen,
                       const char **all)
{
    term_t term;

    if (ssd_spf_parse_term(s->p, w, &term) == NULL
        && (is_our_include(s, &term)
            || (term.modifier && !strcmp(term.name, "redirect")))) {
        return;
    }
    if (!strcasecmp(w + strspn(w, "+-~?"), "all")) {
        *all = *all ? *all : w;
    }
    else if (!apr_hash_get(seen, w, APR_HASH_KEY_STRING)) {
        apr_hash_set(seen, w, APR_HASH_KEY_STRING, w);
        ssd_buf_addc(out, ' ');
        ssd_buf_adds(out, w);
    }
}

/* All records' terms in one: our include first, the others once each
 * (redirect= dropped), then the first record's all (or ~all). */
static const char *merged(spf_t *s, const ssd_txt_answer_t *a)
{
    const ssd_txt_t *t = (const ssd_txt_t *)a->txts->elts;
    apr_hash_t *seen = apr_hash_make(s->p);
    const char *all = NULL;
    char *copy, *last, *w;
    ssd_buf_t out;
    int i;

    ssd_buf_init(&out, s->p, 256, 0);
    ssd_buf_addf(&out, "v=spf1 include:%s", s->include);
    for (i = 0; i < a->txts->nelts; i++) {
        if (!ssd_spf_is_record(t[i].data, t[i].len)) {
            continue;
        }
        copy = apr_pstrmemdup(s->p, t[i].data + 6, t[i].len - 6);
        for (w = apr_strtok(copy, " ", &last); w;
             w = apr_strtok(NULL, " ", &last)) {
            merge_term(s, w, &out, seen, &all);
        }
    }
    ssd_buf_addc(&out, ' ');
    ssd_buf_adds(&out, all ? all : "~all");
    return ssd_buf_str(&out);
}

static void multiple(spf_t *s, const ssd_txt_answer_t *a, int n)
{
    const char *m = merged(s, a);
    ssd_finding_t *f;

    f = fail(s, "multiple_records", s->domain, apr_psprintf(s->p, "%d SPF "
             "records are published at %s, and receivers then fail SPF with "
             "a permanent error: merge them into one TXT record and delete "
             "the others, e.g. publish: %s", n, s->domain, m));
    f->expected = m;
    f->found = ssd_check_found_list(s->p, a->txts, ssd_spf_is_record);
}

static void judge(spf_t *s, const ssd_txt_t *rec)
{
    apr_array_header_t *terms;
    const char *msg = ssd_spf_parse_txt(s->p, rec->data, rec->len, &terms);
    reach_e r;

    if (msg) {
        fail_top(s, "malformed", apr_psprintf(s->p, "the SPF record at %s is "
                 "invalid: %s; receivers fail SPF with a permanent error. "
                 "Correct it, e.g. publish: %s", s->domain, msg,
                 with_include(s, s->record)));
        return;
    }
    APR_ARRAY_PUSH(s->stack, const char *) = s->domain;
    r = walk(s, s->domain, terms, 1);
    if (r == R_NO) {
        fail_top(s, "include_missing", apr_psprintf(s->p, "the SPF record at "
                 "%s does not reach include:%s before its all term, so it "
                 "does not authorise ScaiSend%s: publish: %s", s->domain,
                 s->include, s->note ? s->note : "",
                 with_include(s, s->record)));
    }
}

void ssd_check_spf(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                   const char *domain, const char *include,
                   ssd_check_result_t *out)
{
    spf_t s;
    ssd_txt_answer_t ans;
    const ssd_txt_t *rec;
    int n;

    memset(&s, 0, sizeof(s));
    s.p = p;
    s.fetch = fetch;
    s.baton = baton;
    s.out = out;
    s.domain = domain;
    s.include = include;
    s.stack = apr_array_make(p, 4, sizeof(const char *));
    ssd_check_init(p, out, domain);
    if (ssd_check_fetch(p, fetch, baton, CHECK, domain, out, &ans) != 0) {
        return;
    }
    if (ans.rc == SSD_DNS_CNAME_LOOP) {
        fail(&s, "cname_loop", domain, apr_psprintf(p, "%s is a CNAME loop: "
             "remove the CNAME and publish a TXT record at %s with the value "
             "%s", domain, domain, default_record(&s)))->expected =
            default_record(&s);
        return;
    }
    if ((n = spf_records(&ans, &rec)) != 1) {
        n ? multiple(&s, &ans, n) : no_record(&s, &ans);
        return;
    }
    s.record = apr_pstrmemdup(p, rec->data, rec->len);
    judge(&s, rec);
}
