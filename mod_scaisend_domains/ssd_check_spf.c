/* ssd_check_spf: does the domain's SPF record authorise ScaiSend
 * (RFC 7208)?
 *
 * Exactly one record whose version token is "v=spf1" (case-insensitive,
 * followed by a space or the end: v=spf10 is not SPF) may be at the domain,
 * and its syntax must be valid (a syntax error anywhere fails, as it does
 * for receivers). Then the record is judged as receivers judge mail from
 * ScaiSend's servers: ssd_check_spf_judge.c learns ScaiSend's addresses
 * from the include's own record and evaluates the domain's record with
 * check_host() (ssd_spf_eval) for each of them; every one must pass.
 * All lookups of one check go through one cache (ssd_spf_cache): each
 * name is asked once. This file: the record found, several records, the
 * records to publish. */
#include "ssd_check_spf_internal.h"
#include "ssd_text.h"

#include <string.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_hash.h>

#define CHECK SSD_CHECK_SPF

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

/* ---- for ssd_check_spf_judge.c ---- */

int ssd_check_spf_is_ours(const spf_t *s, const term_t *t)
{
    return is_our_include(s, t);
}

const char *ssd_check_spf_with_include(const spf_t *s, const char *rec)
{
    return with_include(s, rec);
}

ssd_finding_t *ssd_check_spf_fail(spf_t *s, const char *code,
                                  const char *host, const char *msg)
{
    return fail(s, code, host, msg);
}

ssd_finding_t *ssd_check_spf_fail_top(spf_t *s, const char *code,
                                      const char *msg)
{
    return fail_top(s, code, msg);
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

    if (msg) {
        fail_top(s, "malformed", apr_psprintf(s->p, "the SPF record at %s is "
                 "invalid: %s; receivers fail SPF with a permanent error. "
                 "Correct it, e.g. publish: %s", s->domain, msg,
                 with_include(s, s->record)));
        return;
    }
    ssd_check_spf_judge(s);
}

static void run(spf_t *s)
{
    ssd_txt_answer_t ans;
    const ssd_txt_t *rec;
    int n;

    if (ssd_check_fetch(s->p, s->lk.txt, s->lk.baton, CHECK, s->domain,
                        s->out, &ans) != 0) {
        return;
    }
    if (ans.rc == SSD_DNS_CNAME_LOOP) {
        fail(s, "cname_loop", s->domain, apr_psprintf(s->p, "%s is a CNAME "
             "loop: remove the CNAME and publish a TXT record at %s with the "
             "value %s", s->domain, s->domain, default_record(s)))->expected =
            default_record(s);
        return;
    }
    if ((n = spf_records(&ans, &rec)) != 1) {
        n ? multiple(s, &ans, n) : no_record(s, &ans);
        return;
    }
    s->record = apr_pstrmemdup(s->p, rec->data, rec->len);
    judge(s, rec);
}

void ssd_check_spf(apr_pool_t *p, const ssd_spf_lookup_t *lookup,
                   const char *domain, const char *include, const char *helo,
                   ssd_check_result_t *out)
{
    spf_t s;

    memset(&s, 0, sizeof(s));
    s.p = p;
    s.cache = ssd_spf_cache_new(p, lookup, &s.lk);
    s.out = out;
    s.domain = domain;
    s.include = include;
    s.helo = helo && *helo ? helo : include;
    s.sender = apr_pstrcat(p, "postmaster@", domain, NULL);
    ssd_check_init(p, out, domain);
    run(&s);
    out->lookups = ssd_spf_cache_calls(s.cache);
}
