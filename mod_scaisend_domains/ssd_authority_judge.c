/* ssd_authority_judge: what one authoritative server's TXT RRset is worth
 * against the check the resolver's answer was judged by.
 *
 * DKIM and DMARC: the check itself (ssd_check_dkim, ssd_check_dmarc) over
 * a fetch that answers the host with that server's RRset and every other
 * name with NODATA (the view asks nothing more: a DMARC rua authorisation
 * only gives warnings). pass -> match; its first error "missing" ->
 * missing; any other error -> mismatch, the error's code as the reason.
 *
 * SPF: the domain's own record judged at its first step, as a receiver
 * reaching ScaiSend's include would, without following other zones:
 * exactly one v=spf1 record, valid syntax, include:<ours> with a pass
 * qualifier (or redirect=<ours> in a record without all) met before any
 * all and within 10 DNS-querying terms -> match. A record that reaches
 * the include only through other names (an include: or redirect= of
 * another domain) is judged by the resolver: the same record as the
 * resolver serves takes the resolver's verdict; another one is a
 * mismatch. */
#include "ssd_authority.h"
#include "ssd_check.h"
#include "ssd_spf.h"

#include <string.h>
#include <apr_strings.h>

#define MAX_TERMS 10

typedef struct {
    const char *host;
    const ssd_txt_answer_t *ans;
} canned_t;

static ssd_dns_rc canned_fetch(void *baton, apr_pool_t *p, const char *name,
                               ssd_txt_answer_t *out)
{
    const canned_t *c = baton;

    if (ssd_spf_same_name(name, c->host)) {
        *out = *c->ans;
        return out->rc;
    }
    memset(out, 0, sizeof(*out));
    out->rc = SSD_DNS_NODATA;
    out->txts = apr_array_make(p, 1, sizeof(ssd_txt_t));
    out->final_name = name;
    return out->rc;
}

static void set(ssd_auth_server_t *s, ssd_auth_result_e r, const char *why)
{
    s->result = r;
    s->reason = r == SSD_AUTH_MATCH ? NULL : why;
}

/* The verdict of a check run over the server's answer. */
static void from_check(const ssd_check_result_t *r, const char *kind,
                       ssd_auth_server_t *s)
{
    const ssd_finding_t *f = r->errors && r->errors->nelts
        ? &APR_ARRAY_IDX(r->errors, 0, ssd_finding_t) : NULL;

    if (r->status == SSD_CHECK_PASS) {
        set(s, SSD_AUTH_MATCH, NULL);
    }
    else if (f && f->code && strcmp(f->code, "missing") == 0) {
        set(s, SSD_AUTH_MISSING, kind);
    }
    else if (r->status == SSD_CHECK_TEMPERROR) {
        set(s, SSD_AUTH_ERROR, f && f->code ? f->code : "error");
    }
    else {
        set(s, SSD_AUTH_MISMATCH, f && f->code ? f->code : "mismatch");
    }
}

static void by_check(apr_pool_t *p, const ssd_authority_input_t *in,
                     const ssd_txt_answer_t *ans, ssd_auth_server_t *s)
{
    canned_t c = {in->host, ans};
    ssd_check_result_t r;

    memset(&r, 0, sizeof(r));
    if (in->kind == SSD_AUTH_DKIM) {
        ssd_check_dkim_alg(p, canned_fetch, &c, in->domain, in->selector,
                           in->alg, in->public_b64, &r);
        from_check(&r, "no DKIM record", s);
    }
    else {
        ssd_check_dmarc(p, canned_fetch, &c, in->domain, in->policy, in->rua,
                        &r);
        from_check(&r, "no DMARC record", s);
    }
}

/* ---- SPF at its first step ---- */

typedef struct {
    const char *include;
    int terms;                  /* DNS-querying terms so far */
    int elsewhere;              /* include/redirect of another name */
    int ours_later;             /* our include after the all */
} walk_t;

static int queries_dns(const term_t *t)
{
    static const char *const names[] = {"include", "a", "mx", "ptr",
                                        "exists", NULL};
    int i;

    for (i = 0; names[i]; i++) {
        if (!t->modifier && strcmp(t->name, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int is_ours(const walk_t *w, const term_t *t)
{
    return t->arg && ssd_spf_same_name(t->arg, w->include);
}

/* NULL: match; else the reason of the mismatch (or "indirect"). */
static const char *walk(walk_t *w, const apr_array_header_t *terms)
{
    const term_t *t = (const term_t *)terms->elts, *redirect = NULL;
    int i, all = -1;

    for (i = 0; i < terms->nelts && all < 0; i++) {
        w->terms += queries_dns(&t[i]);
        if (t[i].modifier) {
            redirect = strcmp(t[i].name, "redirect") == 0 ? &t[i] : redirect;
        }
        else if (strcmp(t[i].name, "include") == 0 && is_ours(w, &t[i])) {
            if (t[i].qual == '+') {
                return w->terms <= MAX_TERMS ? NULL : "too_many_lookups";
            }
        }
        else if (strcmp(t[i].name, "include") == 0) {
            w->elsewhere = 1;
        }
        else if (strcmp(t[i].name, "all") == 0) {
            all = i;
        }
    }
    for (; i < terms->nelts; i++) {
        w->ours_later |= !t[i].modifier && strcmp(t[i].name, "include") == 0
                         && is_ours(w, &t[i]);
        if (t[i].modifier && strcmp(t[i].name, "redirect") == 0) {
            redirect = &t[i];
        }
    }
    if (all < 0 && redirect) {
        if (is_ours(w, redirect)) {
            return w->terms + 1 <= MAX_TERMS ? NULL : "too_many_lookups";
        }
        w->elsewhere = 1;
    }
    return w->elsewhere ? "indirect"
           : w->ours_later ? "include_after_all" : "include_missing";
}

static void spf_one(apr_pool_t *p, const ssd_authority_input_t *in,
                    const ssd_txt_t *rec, ssd_auth_spf_fn spf, void *baton,
                    ssd_auth_server_t *s)
{
    apr_array_header_t *terms;
    walk_t w = {in->include, 0, 0, 0};
    const char *why, *theirs;

    if (ssd_spf_parse_txt(p, rec->data, rec->len, &terms)) {
        set(s, SSD_AUTH_MISMATCH, "malformed");
        return;
    }
    why = walk(&w, terms);
    if (!why || strcmp(why, "indirect") != 0) {
        set(s, why ? SSD_AUTH_MISMATCH : SSD_AUTH_MATCH, why);
        return;
    }
    theirs = spf ? spf(baton) : NULL;
    if (theirs && strlen(theirs) == rec->len
        && memcmp(theirs, rec->data, rec->len) == 0) {
        set(s, in->resolver_passed ? SSD_AUTH_MATCH : SSD_AUTH_MISMATCH,
            "the resolver's record, which fails");
        return;
    }
    set(s, SSD_AUTH_MISMATCH, "not the resolver's record (it reaches other "
        "domains, which were not followed)");
}

static void by_spf(apr_pool_t *p, const ssd_authority_input_t *in,
                   const ssd_txt_answer_t *ans, ssd_auth_spf_fn spf,
                   void *baton, ssd_auth_server_t *s)
{
    const ssd_txt_t *t = (const ssd_txt_t *)ans->txts->elts, *rec = NULL;
    int i, n = 0;

    for (i = 0; i < ans->txts->nelts; i++) {
        if (ssd_spf_is_record(t[i].data, t[i].len)) {
            rec = rec ? rec : &t[i];
            n++;
        }
    }
    if (n == 0) {
        for (i = 0; i < ans->txts->nelts; i++) {
            n += ssd_check_is_quoted(t[i].data, t[i].len)
                 && ssd_spf_is_record(t[i].data + 1, t[i].len - 2);
        }
        set(s, n ? SSD_AUTH_MISMATCH : SSD_AUTH_MISSING,
            n ? "quoted_value" : "no SPF record");
    }
    else if (n > 1) {
        set(s, SSD_AUTH_MISMATCH, "multiple_records");
    }
    else {
        spf_one(p, in, rec, spf, baton, s);
    }
}

void ssd_authority_judge(apr_pool_t *p, const ssd_authority_input_t *in,
                         const ssd_txt_answer_t *ans, ssd_auth_spf_fn spf,
                         void *baton, ssd_auth_server_t *s)
{
    switch (ans->rc) {
    case SSD_DNS_OK:
        break;
    case SSD_DNS_NXDOMAIN:
        set(s, SSD_AUTH_MISSING, "nxdomain");
        return;
    case SSD_DNS_NODATA:
        set(s, SSD_AUTH_MISSING, "no TXT record");
        return;
    case SSD_DNS_CNAME_LOOP:
        set(s, SSD_AUTH_MISMATCH, "cname_loop");
        return;
    default:
        set(s, SSD_AUTH_ERROR, ssd_dns_rc_name(ans->rc));
        return;
    }
    if (in->kind == SSD_AUTH_SPF) {
        by_spf(p, in, ans, spf, baton, s);
    }
    else {
        by_check(p, in, ans, s);
    }
}
