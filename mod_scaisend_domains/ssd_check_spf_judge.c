/* ssd_check_spf_judge: the domain's SPF record judged as receivers judge
 * mail from ScaiSend's servers.
 *
 * ScaiSend's addresses are learnt from the include's own record
 * (ssd_spf_sources: one address per +ip4/+ip6 network, the addresses of
 * +a and +mx, nested includes and redirect=), each confirmed by
 * check_host() on the include itself. Then check_host(<address>,
 * <domain>, postmaster@<domain>), %{h} the HELO name, runs for each of
 * them with the sender unknown (SSD_SPF_OPAQUE_SENDER): every one must
 * pass. Outcomes that end alike (same result, same deciding term, same
 * error at the same place) make one finding naming all their addresses;
 * conclusive failures come before temporary errors, so a failure decides
 * the status. */
#include "ssd_check_spf_internal.h"
#include "ssd_text.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

#define CHECK SSD_CHECK_SPF

typedef struct {
    const ssd_spf_outcome_t *o;     /* the first outcome of the group */
    apr_array_header_t *addrs;      /* const char * */
} group_t;

/* ---- texts ---- */

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* "ScaiSend's address A" / "ScaiSend's addresses A, B and C" */
static const char *addresses(spf_t *s, const apr_array_header_t *a)
{
    ssd_buf_t b;
    int i;

    ssd_buf_init(&b, s->p, 64, 0);
    ssd_buf_adds(&b, a->nelts == 1 ? "ScaiSend's address "
                                   : "ScaiSend's addresses ");
    for (i = 0; i < a->nelts; i++) {
        if (i > 0) {
            ssd_buf_adds(&b, i == a->nelts - 1 ? " and " : ", ");
        }
        ssd_buf_adds(&b, APR_ARRAY_IDX(a, i, const char *));
    }
    return ssd_buf_str(&b);
}

/* "the SPF record of X", with the redirect= chain that leads there. */
static const char *record_name(spf_t *s, const ssd_spf_outcome_t *o,
                               const char *domain)
{
    ssd_buf_t b;
    int i, in_chain = 0;

    for (i = 0; i < o->redirects->nelts; i++) {
        in_chain |= ssd_spf_same_name(APR_ARRAY_IDX(o->redirects, i,
                                                    const char *), domain);
    }
    if (!in_chain || ssd_spf_same_name(domain, s->domain)) {
        return apr_psprintf(s->p, "the SPF record of %s", domain);
    }
    ssd_buf_init(&b, s->p, 128, 0);
    ssd_buf_addf(&b, "the SPF record of %s (reached by redirect=: %s",
                 domain, s->domain);
    for (i = 0; i < o->redirects->nelts; i++) {
        ssd_buf_addf(&b, " -> %s", APR_ARRAY_IDX(o->redirects, i,
                                                 const char *));
    }
    ssd_buf_addc(&b, ')');
    return ssd_buf_str(&b);
}

static const char *temp_what(ssd_dns_rc rc)
{
    switch (rc) {
    case SSD_DNS_SERVFAIL:
        return "failed with SERVFAIL (the nameservers could not answer)";
    case SSD_DNS_REFUSED:
        return "was refused by the nameserver asked";
    case SSD_DNS_TRUNCATED:
        return "was truncated and the retry over TCP failed";
    case SSD_DNS_ERROR:
        return "gave an unusable answer";
    default:
        return "timed out";
    }
}

/* A temporary failure: TEMPERROR unless a failure came first. */
static ssd_finding_t *temp(spf_t *s, const char *code, const char *host,
                           const char *msg)
{
    if (s->out->status == SSD_CHECK_PASS) {
        s->out->status = SSD_CHECK_TEMPERROR;
    }
    return ssd_check_error(s->p, s->out, CHECK, code, host, msg);
}

/* ---- ScaiSend's addresses ---- */

static void unavailable(spf_t *s, const char *why)
{
    temp(s, "include_unavailable", s->include, apr_psprintf(s->p,
         "ScaiSend's own SPF record at %s, which says the addresses "
         "ScaiSend sends from, cannot be used (%s); this is not a problem of "
         "the record at %s. Nothing was changed; verify again later.",
         s->include, why, s->domain));
}

static void query(spf_t *s, const char *ip, const char *domain,
                  ssd_spf_query_t *q)
{
    memset(q, 0, sizeof(*q));
    q->ip = ip;
    q->domain = domain;
    q->sender = s->sender;
    q->helo = s->helo;
    q->flags = SSD_SPF_OPAQUE_SENDER;
}

/* The include's addresses that check_host() on the include passes. */
static apr_array_header_t *confirmed(spf_t *s, const ssd_spf_sources_t *src)
{
    apr_array_header_t *ok = apr_array_make(s->p, src->sources->nelts,
                                            sizeof(ssd_spf_source_t));
    const ssd_spf_source_t *a = (const ssd_spf_source_t *)src->sources->elts;
    ssd_spf_outcome_t o;
    ssd_spf_query_t q;
    int i;

    for (i = 0; i < src->sources->nelts; i++) {
        query(s, a[i].text, s->include, &q);
        if (ssd_spf_check_host(s->p, &s->lk, &q, &o) == SSD_SPF_PASS) {
            *(ssd_spf_source_t *)apr_array_push(ok) = a[i];
        }
        else if (o.result == SSD_SPF_TEMPERROR) {
            temp(s, ssd_check_temp_code(o.rc), s->include, apr_psprintf(
                 s->p, "the DNS lookup of %s (in ScaiSend's own SPF record "
                 "at %s) %s. Nothing was changed; verify again later.",
                 nz(o.error_name), s->include, temp_what(o.rc)));
            return NULL;
        }
    }
    if (ok->nelts == 0) {
        unavailable(s, "it gives none of the addresses it lists a pass");
        return NULL;
    }
    return ok;
}

static apr_array_header_t *learn(spf_t *s)
{
    ssd_spf_sources_t src;

    ssd_spf_sources(s->p, &s->lk, s->include, s->sender, s->helo,
                    SSD_CHECK_SPF_MAX_SOURCES, &src);
    if (src.rc != SSD_DNS_OK) {
        temp(s, ssd_check_temp_code(src.rc), s->include, apr_psprintf(s->p,
             "the DNS lookup of %s (in ScaiSend's own SPF record at %s, "
             "which says the addresses ScaiSend sends from) %s. Nothing was "
             "changed; verify again later.", nz(src.error_name), s->include,
             temp_what(src.rc)));
        return NULL;
    }
    if (src.error) {
        unavailable(s, src.error);
        return NULL;
    }
    if (src.sources->nelts == 0) {
        unavailable(s, "it names no ip4, ip6, a or mx addresses with pass");
        return NULL;
    }
    return confirmed(s, &src);
}

/* ---- the domain's record for one outcome ---- */

/* The terms of the record at domain (from the cache), or NULL. */
static const apr_array_header_t *record_of(spf_t *s, const char *domain)
{
    apr_array_header_t *terms;
    ssd_txt_answer_t a;
    const ssd_txt_t *t;
    int i;

    if (ssd_spf_same_name(domain, s->domain)) {
        return ssd_spf_parse(s->p, s->record, &terms) ? NULL : terms;
    }
    s->lk.txt(s->lk.baton, s->p, domain, &a);
    for (i = 0; a.rc == SSD_DNS_OK && i < a.txts->nelts; i++) {
        t = &APR_ARRAY_IDX(a.txts, i, ssd_txt_t);
        if (ssd_spf_is_record(t->data, t->len)) {
            return ssd_spf_parse_txt(s->p, t->data, t->len, &terms) ? NULL
                                                                    : terms;
        }
    }
    return NULL;
}

/* Whether include:<ours> comes after the term written text. */
static int ours_after(spf_t *s, const apr_array_header_t *terms,
                      const char *text)
{
    const term_t *t = terms ? (const term_t *)terms->elts : NULL;
    int i, seen = 0;

    for (i = 0; t && i < terms->nelts; i++) {
        if (seen && ssd_check_spf_is_ours(s, &t[i])) {
            return 1;
        }
        seen |= !strcmp(t[i].text, text);
    }
    return 0;
}

static int reached_ours(spf_t *s, const ssd_spf_outcome_t *o)
{
    int i;

    for (i = 0; i < o->visited->nelts; i++) {
        if (ssd_spf_same_name(APR_ARRAY_IDX(o->visited, i, const char *),
                              s->include)) {
            return 1;
        }
    }
    return 0;
}

/* Why a mechanism matches the address (one) or addresses. */
static const char *why_match(spf_t *s, const term_t *t, const char *target,
                             int one)
{
    const char *n = t->name, *x = nz(target);

    if (!strcmp(n, "a")) {
        return apr_psprintf(s->p, one ? "it is an address of %s"
                                      : "they are addresses of %s", x);
    }
    if (!strcmp(n, "mx")) {
        return apr_psprintf(s->p, "%s of the mail servers (MX) of %s",
                            one ? "it is an address" : "they are addresses",
                            x);
    }
    if (!strcmp(n, "ptr")) {
        return apr_psprintf(s->p, one ? "its reverse DNS name is under %s"
                            : "their reverse DNS names are under %s", x);
    }
    if (!strcmp(n, "exists")) {
        return apr_psprintf(s->p, "%s exists", x);
    }
    if (!strcmp(n, "include")) {
        return apr_psprintf(s->p, "the SPF record of %s passes %s", x,
                            one ? "it" : "them");
    }
    return one ? "its network holds it" : "its network holds them";
}

/* ---- findings of a result other than pass ---- */

static void missing(spf_t *s, const group_t *g, const char *how)
{
    ssd_check_spf_fail_top(s, "include_missing", apr_psprintf(s->p, "the "
        "SPF record at %s does not reach include:%s for %s: %s, so it does "
        "not authorise ScaiSend: publish: %s", s->domain, s->include,
        addresses(s, g->addrs), how,
        ssd_check_spf_with_include(s, s->record)));
}

static void after_all(spf_t *s, const group_t *g, const char *where)
{
    ssd_check_spf_fail_top(s, "include_after_all", apr_psprintf(s->p, "in "
        "%s, include:%s comes after '%s', and receivers stop at the all term "
        "(%s for %s): move include:%s before it and publish: %s", where,
        s->include, g->o->decided_by, ssd_spf_result_name(g->o->result),
        addresses(s, g->addrs), s->include,
        ssd_check_spf_with_include(s, s->record)));
}

static void before(spf_t *s, const group_t *g, const term_t *t,
                   const char *where)
{
    ssd_check_spf_fail_top(s, "term_before_include", apr_psprintf(s->p, "in "
        "%s, '%s' comes before include:%s and matches %s (%s), so receivers "
        "answer %s for mail from ScaiSend: remove that term or move "
        "include:%s before it, e.g. publish: %s", where, t->text, s->include,
        addresses(s, g->addrs), why_match(s, t, g->o->decided_target,
                                          g->addrs->nelts == 1),
        ssd_spf_result_name(g->o->result), s->include,
        ssd_check_spf_with_include(s, s->record)));
}

/* fail, softfail or neutral: what decided, and the fix. */
static void judged(spf_t *s, const group_t *g)
{
    const ssd_spf_outcome_t *o = g->o;
    const char *res = ssd_spf_result_name(o->result);
    const char *where = record_name(s, o, nz(o->decided_in));
    const apr_array_header_t *terms = record_of(s, nz(o->decided_in));
    term_t t;

    if (!o->decided_by || ssd_spf_parse_term(s->p, o->decided_by, &t)) {
        missing(s, g, apr_psprintf(s->p, "no term of %s matches %s and it "
                "has no all, so receivers answer %s", where,
                g->addrs->nelts == 1 ? "it" : "them", res));
    }
    else if (!strcmp(t.name, "all") && ours_after(s, terms, t.text)) {
        after_all(s, g, where);
    }
    else if (!strcmp(t.name, "all")) {
        missing(s, g, apr_psprintf(s->p, "receivers reach '%s' in %s and "
                "answer %s", t.text, where, res));
    }
    else if (ssd_check_spf_is_ours(s, &t)) {
        missing(s, g, apr_psprintf(s->p, "'%s' has the qualifier '%c', which "
                "never gives pass (receivers answer %s): write it as "
                "include:%s", t.text, t.qual, res, s->include));
    }
    else if (!strcmp(t.name, "include") && reached_ours(s, o)) {
        missing(s, g, apr_psprintf(s->p, "include:%s is reached through "
                "'%s' in %s, whose qualifier '%c' never gives pass (receivers "
                "answer %s)", s->include, t.text, where, t.qual, res));
    }
    else if (ours_after(s, terms, t.text)) {
        before(s, g, &t, where);
    }
    else {
        missing(s, g, apr_psprintf(s->p, "'%s' in %s matches %s first (%s) "
                "and receivers answer %s", t.text, where,
                g->addrs->nelts == 1 ? "it" : "them",
                why_match(s, &t, o->decided_target, g->addrs->nelts == 1),
                res));
    }
}

/* ---- findings of errors ---- */

static const char *at_term(spf_t *s, const ssd_spf_outcome_t *o)
{
    const char *rec = record_name(s, o, nz(o->error_in));

    return o->error_term ? apr_psprintf(s->p, "'%s' in %s", o->error_term,
                                        rec)
                         : rec;
}

static void lookups(spf_t *s, const group_t *g)
{
    const ssd_spf_outcome_t *o = g->o;

    ssd_check_spf_fail_top(s, "too_many_lookups", apr_psprintf(s->p,
        "evaluating the SPF record of %s for %s needs more than %d DNS "
        "lookups (include, a, mx, ptr, exists and redirect= count, in every "
        "record reached, ScaiSend's own included; the limit was passed at "
        "%s%s%s), so receivers fail SPF with a permanent error: put "
        "include:%s first, or remove or flatten other includes, e.g. "
        "publish: %s", s->domain, addresses(s, g->addrs),
        SSD_SPF_MAX_DNS_TERMS, at_term(s, o), o->loop ? "; the records loop: "
        : "", nz(o->loop), s->include,
        ssd_check_spf_with_include(s, s->record)));
}

static void voids(spf_t *s, const group_t *g)
{
    const ssd_spf_outcome_t *o = g->o;
    ssd_finding_t *f;

    f = ssd_check_spf_fail(s, "too_many_void_lookups", nz(o->error_name),
        apr_psprintf(s->p, "evaluating the SPF record of %s for %s, more "
        "than %d DNS lookups find no data (NXDOMAIN or no records; the last: "
        "%s, %s, for %s), and receivers fail SPF with a permanent error: "
        "remove the terms that point at names without records, or put "
        "include:%s before them so receivers do not reach them for "
        "ScaiSend's mail, e.g. publish: %s", s->domain,
        addresses(s, g->addrs), SSD_SPF_MAX_VOIDS, nz(o->error_name),
        ssd_dns_rc_name(o->rc), at_term(s, o), s->include,
        ssd_check_spf_with_include(s, s->record)));
    f->expected = ssd_check_spf_with_include(s, s->record);
}

static void mx_names(spf_t *s, const group_t *g)
{
    const ssd_spf_outcome_t *o = g->o;
    ssd_finding_t *f;

    f = ssd_check_spf_fail(s, "too_many_mx_names", nz(o->error_name),
        apr_psprintf(s->p, "%s, evaluated for %s: %s, and receivers fail SPF "
        "with a permanent error when an mx term has more than %d names "
        "(RFC 7208 section 4.6.4): list those servers' networks with "
        "ip4:/ip6: terms instead, or put include:%s before that term so "
        "receivers do not reach it for ScaiSend's mail, e.g. publish: %s",
        at_term(s, o), addresses(s, g->addrs), nz(o->detail),
        SSD_SPF_MAX_NAMES, s->include,
        ssd_check_spf_with_include(s, s->record)));
    f->expected = ssd_check_spf_with_include(s, s->record);
}

/* The escaped SPF record(s) at name, for found. */
static const char *found_at(spf_t *s, const char *name)
{
    ssd_txt_answer_t a;

    s->lk.txt(s->lk.baton, s->p, name, &a);
    return a.rc == SSD_DNS_OK ? ssd_check_found_list(s->p, a.txts,
                                                     ssd_spf_is_record)
                              : NULL;
}

/* An include or redirect target that receivers cannot use. */
static void nested(spf_t *s, const group_t *g)
{
    const ssd_spf_outcome_t *o = g->o;
    const char *e = o->error, *name = nz(o->error_name);

    if (!strcmp(e, "cname_loop")) {
        ssd_check_spf_fail(s, "cname_loop", name, apr_psprintf(s->p, "%s (%s) "
            "is a CNAME loop: fix the CNAME or remove the term", name,
            at_term(s, o)));
    }
    else if (!strcmp(e, "no_record")) {
        ssd_check_spf_fail(s, "malformed", name, apr_psprintf(s->p, "%s "
            "points at a name with no SPF record (%s: %s), which receivers "
            "treat as a permanent error: remove that term, or publish an SPF "
            "record at %s", at_term(s, o), name, nz(o->detail), name));
    }
    else if (!strcmp(e, "invalid_name")) {
        ssd_check_spf_fail(s, "malformed", name, apr_psprintf(s->p, "%s "
            "points at '%s', which is not a valid domain name, and receivers "
            "fail SPF with a permanent error: correct or remove that term",
            at_term(s, o), name));
    }
    else {
        ssd_check_spf_fail(s, "malformed", name, apr_psprintf(s->p, "the SPF "
            "record at %s (%s) is invalid: %s; receivers fail SPF with a "
            "permanent error", name, at_term(s, o), nz(o->detail)))
            ->found = found_at(s, name);
    }
}

static void permerror(spf_t *s, const group_t *g)
{
    const char *e = nz(g->o->error);

    if (!strcmp(e, "too_many_lookups")) {
        lookups(s, g);
    }
    else if (!strcmp(e, "too_many_void_lookups")) {
        voids(s, g);
    }
    else if (!strcmp(e, "too_many_mx_names")) {
        mx_names(s, g);
    }
    else {
        nested(s, g);
    }
}

static void temperror(spf_t *s, const group_t *g)
{
    const ssd_spf_outcome_t *o = g->o;

    temp(s, ssd_check_temp_code(o->rc), s->domain, apr_psprintf(s->p,
         "evaluating the SPF record of %s for %s needs the DNS lookup of %s "
         "(%s), which %s. Nothing was changed; verify again later.",
         s->domain, addresses(s, g->addrs), nz(o->error_name), at_term(s, o),
         temp_what(o->rc)));
}

/* ---- warnings ---- */

static const char *letters_text(spf_t *s, const char *letters)
{
    ssd_buf_t b;

    ssd_buf_init(&b, s->p, 128, 0);
    for (; *letters; letters++) {
        ssd_buf_add_sep(&b, " and ");
        ssd_buf_adds(&b, *letters == 's' ? "%{s} (the sender's address)"
                     : *letters == 'l' ? "%{l} (the sender's local-part)"
                     : "%{p} (the client's validated host name)");
    }
    return ssd_buf_str(&b);
}

static void warn_terms(spf_t *s, apr_hash_t *seen,
                       const apr_array_header_t *refs, int ptr)
{
    const ssd_spf_term_ref_t *r = (const ssd_spf_term_ref_t *)refs->elts;
    const char *k;
    int i;

    for (i = 0; i < refs->nelts; i++) {
        k = apr_pstrcat(s->p, ptr ? "p|" : "m|", r[i].domain, "|",
                        nz(r[i].term), NULL);
        if (apr_hash_get(seen, k, APR_HASH_KEY_STRING)) {
            continue;
        }
        apr_hash_set(seen, k, APR_HASH_KEY_STRING, k);
        if (ptr) {
            ssd_check_warning(s->p, s->out, CHECK, "too_many_ptr_names",
                r[i].domain, apr_psprintf(s->p, "'%s' in the SPF record of "
                "%s: the reverse DNS (PTR) of a ScaiSend address has %s "
                "names, and receivers look at the first %d only",
                nz(r[i].term), r[i].domain, r[i].letters, SSD_SPF_MAX_NAMES));
            continue;
        }
        ssd_check_warning(s->p, s->out, CHECK, "message_macro", r[i].domain,
            apr_psprintf(s->p, "'%s' in the SPF record of %s uses %s, which "
            "depends on each message: the check cannot know whether "
            "receivers match it for mail from ScaiSend and took it as not "
            "matching; put include:%s before it so that receivers decide "
            "without it", nz(r[i].term), r[i].domain,
            letters_text(s, r[i].letters), s->include));
    }
}

/* ---- the evaluation ---- */

static const char *group_key(apr_pool_t *p, const ssd_spf_outcome_t *o)
{
    return apr_pstrcat(p, ssd_spf_result_name(o->result), "|",
                       nz(o->decided_in), "|", nz(o->decided_by), "|",
                       nz(o->error), "|", nz(o->error_in), "|",
                       nz(o->error_term), "|", nz(o->error_name), NULL);
}

static void add_to_group(spf_t *s, apr_hash_t *index, apr_array_header_t *gs,
                         const ssd_spf_outcome_t *o, const char *addr)
{
    const char *k = group_key(s->p, o);
    int *at = apr_hash_get(index, k, APR_HASH_KEY_STRING);
    group_t *g;

    if (!at) {                  /* an index: pushing may move the groups */
        at = apr_palloc(s->p, sizeof(*at));
        *at = gs->nelts;
        g = apr_array_push(gs);
        g->o = o;
        g->addrs = apr_array_make(s->p, 2, sizeof(const char *));
        apr_hash_set(index, k, APR_HASH_KEY_STRING, at);
    }
    g = &APR_ARRAY_IDX(gs, *at, group_t);
    APR_ARRAY_PUSH(g->addrs, const char *) = addr;
}

static void report(spf_t *s, const apr_array_header_t *gs)
{
    const group_t *g = (const group_t *)gs->elts;
    int i, pass;

    for (pass = 0; pass < 2; pass++) {          /* failures, then temporary */
        for (i = 0; i < gs->nelts; i++) {
            ssd_spf_result_e r = g[i].o->result;

            if (r == SSD_SPF_PASS || (r == SSD_SPF_TEMPERROR) != pass) {
                continue;
            }
            if (r == SSD_SPF_TEMPERROR) {
                temperror(s, &g[i]);
            }
            else if (r == SSD_SPF_PERMERROR) {
                permerror(s, &g[i]);
            }
            else {
                judged(s, &g[i]);
            }
        }
    }
}

void ssd_check_spf_judge(spf_t *s)
{
    apr_array_header_t *src = learn(s), *gs;
    apr_hash_t *index = apr_hash_make(s->p), *seen = apr_hash_make(s->p);
    const ssd_spf_source_t *a;
    ssd_spf_outcome_t *o;
    ssd_spf_query_t q;
    int i;

    if (!src) {
        return;
    }
    a = (const ssd_spf_source_t *)src->elts;
    gs = apr_array_make(s->p, 2, sizeof(group_t));
    for (i = 0; i < src->nelts; i++) {
        o = apr_palloc(s->p, sizeof(*o));
        query(s, a[i].text, s->domain, &q);
        ssd_spf_check_host(s->p, &s->lk, &q, o);
        add_to_group(s, index, gs, o, a[i].text);
        warn_terms(s, seen, o->undecidable, 0);
        warn_terms(s, seen, o->ptr_cut, 1);
    }
    report(s, gs);
}
