/* ssd_check_dmarc: the DMARC Policy Record at _dmarc.<domain>, judged as
 * RFC 9989 (DMARCbis) has receivers judge it. Section numbers are those
 * of draft-ietf-dmarc-dmarcbis-41, published as RFC 9989.
 *
 * Discovery (section 4.10 step 2): TXT records that do not start with the
 * version tag are discarded -- "v" (any case), "=" with optional white
 * space around it, "DMARC1" exactly, then ";" or the end (section 4.8);
 * white space BEFORE the "v" is not allowed, so such a record is no DMARC
 * record. Several DMARC records count as none. The product page asks for
 * a record at _dmarc.<domain>: without one the check fails (missing,
 * multiple_records, ...), and the DNS tree walk (section 4.10.1) says in
 * an inherited_policy warning which record receivers apply instead --
 * a hint, never a pass.
 *
 * The record (sections 4.7, 4.8, ssd_dmarc.h): a record that breaks the
 * formal definition (a part that is no tag=value, a repeated tag, a known
 * tag with a value outside Table 2) fails as malformed, saying what
 * receivers do meanwhile and giving the corrected record; unknown tags
 * are ignored; pct=, rf= and ri= (removed by Appendix C.5.2) and a report
 * size suffix (!10m, removed by Appendix C.4) are warnings.
 *
 * p= (decided here, where the RFC leaves the check to us):
 *  - missing: section 4.7 treats the record as p=none and section 4.10.1
 *    makes that so when rua= holds a valid URI (else receivers apply no
 *    DMARC). With such an rua= the record is valid and a policy (none)
 *    applies: the check passes with a policy_missing warning. Without it
 *    no policy applies: policy_missing fails the check.
 *  - invalid (also an invalid sp= or np=, section 4.10.1): the record
 *    breaks section 4.8 and the policy asked for is not the one applied
 *    (receivers fall back to p=none with a valid rua=, to no DMARC
 *    without): malformed, a failure -- "a valid DMARC policy" does not
 *    exist.
 *  - valid but not the domain's dmarc_policy: policy_mismatch (warning);
 *    t=y with p= other than none: policy_testing (warning, receivers
 *    apply one level less, section 4.7 t).
 *
 * Report destinations (rua=, ruf=): ssd_check_dmarc_report.c. */
#include "ssd_check_dmarc_internal.h"
#include "ssd_dmarc.h"
#include "ssd_records.h"
#include "ssd_text.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#define CHECK SSD_DMARC_CHECK

typedef struct {
    apr_array_header_t *parts;  /* ssd_dmarc_part_t */
    int valid_rua;              /* rua= holds a syntactically valid URI */
    const char *fixed;          /* the record corrected, or NULL (too long) */
} rec_t;

void ssd_dmarc_temp_warning(ssd_dmarc_ctx_t *d, const char *name,
                            ssd_dns_rc rc)
{
    if (ssd_dmarc_dns_first_warning(d->dns, name)) {
        ssd_check_temp_warning(d->p, d->out, CHECK, name, rc);
    }
}

static const char *found(ssd_dmarc_ctx_t *d)
{
    return d->txt ? ssd_check_escape(d->p, d->txt->data, d->txt->len) : NULL;
}

static ssd_finding_t *fail(ssd_dmarc_ctx_t *d, const char *code,
                           const char *msg)
{
    ssd_finding_t *f = ssd_check_error(d->p, d->out, CHECK, code, d->host,
                                       msg);

    f->expected = d->expected;
    f->found = found(d);
    return f;
}

static ssd_finding_t *warn(ssd_dmarc_ctx_t *d, const char *code,
                           const char *msg)
{
    ssd_finding_t *w = ssd_check_warning(d->p, d->out, CHECK, code, d->host,
                                         msg);

    w->found = found(d);
    return w;
}

/* ---- the corrected record ---- */

static void add_uris(ssd_buf_t *b, const char *name, const char *list)
{
    apr_array_header_t *uris = ssd_dmarc_uris(b->pool, list);
    const ssd_dmarc_uri_t *u = (const ssd_dmarc_uri_t *)uris->elts;
    int i, n = 0;

    for (i = 0; i < uris->nelts; i++) {
        if (!u[i].problem) {
            ssd_buf_addf(b, "%s%s", n++ ? "," : apr_pstrcat(b->pool, "; ",
                                                            name, "=", NULL),
                         u[i].uri);
        }
    }
}

static int bad_value(apr_pool_t *p, const ssd_dmarc_part_t *t)
{
    return ssd_dmarc_is_known(t->name)
           && ssd_dmarc_value_problem(p, t->name, t->value) != NULL;
}

/* v=DMARC1 and p= first (RFC 7489 receivers want p= second), then the
 * valid tags in order; broken parts and removed tags dropped (pct=0
 * becomes t=y), report URIs without size suffixes. */
static const char *fixed_record(ssd_dmarc_ctx_t *d,
                                const apr_array_header_t *parts)
{
    const ssd_dmarc_part_t *t = (const ssd_dmarc_part_t *)parts->elts;
    const char *pol = ssd_dmarc_get(parts, "p");
    int i, has_t = ssd_dmarc_get(parts, "t") != NULL;
    ssd_buf_t b;

    if (!pol || ssd_dmarc_value_problem(d->p, "p", pol)) {
        pol = d->policy ? d->policy : "none";
    }
    ssd_buf_init(&b, d->p, 256, SSD_CHECK_MAX_FOUND);
    ssd_buf_addf(&b, "v=DMARC1; p=%s", pol);
    for (i = 0; i < parts->nelts; i++) {
        if (!t[i].name || t[i].problem || !strcmp(t[i].name, "p")) {
            continue;
        }
        if (ssd_dmarc_is_removed(t[i].name)) {
            if (!strcmp(t[i].name, "pct") && !strcmp(t[i].value, "0")
                && !has_t++) {
                ssd_buf_adds(&b, "; t=y");
            }
        }
        else if (!strcmp(t[i].name, "rua") || !strcmp(t[i].name, "ruf")) {
            add_uris(&b, t[i].name, t[i].value);
        }
        else if (!bad_value(d->p, &t[i])) {
            ssd_buf_addf(&b, "; %s=%s", t[i].name, t[i].value);
        }
    }
    return b.cut ? NULL : ssd_buf_str(&b);
}

/* ---- the record's parts ---- */

static const char *default_of(const char *name)
{
    return !strcmp(name, "fo") ? "0" : !strcmp(name, "t") ? "n"
           : !strcmp(name, "psd") ? "u" : "r";
}

/* What receivers do with the broken part t (section 4.8: syntax errors
 * are discarded in favour of defaults, or ignored; section 4.10.1 for the
 * policy tags). */
static const char *consequence(ssd_dmarc_ctx_t *d, const rec_t *r,
                               const ssd_dmarc_part_t *t)
{
    if (t->duplicate) {
        return "A repeated tag makes the whole tag list invalid (section 4.7 "
               "takes the tag-value syntax of DKIM, RFC 6376 section 3.2).";
    }
    if (!t->name || !ssd_dmarc_is_known(t->name)) {
        return "Receivers ignore that part.";
    }
    if (!strcmp(t->name, "p") || !strcmp(t->name, "sp")
        || !strcmp(t->name, "np")) {
        return r->valid_rua
               ? "Receivers then act as if the record said only p=none, "
                 "because rua= holds a valid address (section 4.10.1)."
               : "Receivers then apply no DMARC policy to this domain, as "
                 "rua= holds no valid address either (section 4.10.1).";
    }
    if (!strcmp(t->name, "rua") || !strcmp(t->name, "ruf")) {
        return "Receivers ignore that address.";
    }
    return apr_psprintf(d->p, "Receivers use the default, %s=%s, instead.",
                        t->name, default_of(t->name));
}

static void malformed(ssd_dmarc_ctx_t *d, const rec_t *r,
                      const ssd_dmarc_part_t *t, const char *problem)
{
    ssd_finding_t *f;

    if (d->out->errors->nelts >= SSD_CHECK_MAX_FINDINGS) {
        ssd_check_error(d->p, d->out, CHECK, "malformed", d->host, "");
        return;                 /* counted as dropped */
    }
    f = fail(d, "malformed", apr_psprintf(d->p, "the DMARC record at %s is "
             "invalid: %s (RFC 9989 section 4.8). %s Publish the record "
             "corrected: %s", d->host, problem, consequence(d, r, t),
             r->fixed ? r->fixed : d->expected));
    f->expected = r->fixed ? r->fixed : d->expected;
}

static const char *removed_advice(const ssd_dmarc_part_t *t)
{
    if (!strcmp(t->name, "pct")) {
        return !strcmp(t->value, "0")
               ? "replace pct=0 with t=y, which asks receivers for the same "
                 "testing treatment (Appendix A.6)"
               : !strcmp(t->value, "100")
               ? "pct=100 was the default: remove it"
               : "receivers no longer apply a policy to a share of the mail: "
                 "remove it (to try a policy out, use t=y: receivers then "
                 "apply one level less)";
    }
    return !strcmp(t->name, "rf")
           ? "failure reports have one format now (RFC 9991): remove it"
           : "receivers send aggregate reports at least daily (RFC 9990): "
             "remove it";
}

static void removed(ssd_dmarc_ctx_t *d, const rec_t *r,
                    const ssd_dmarc_part_t *t)
{
    ssd_finding_t *w = warn(d, "removed_tag", apr_psprintf(d->p, "%s=%s was "
        "removed by RFC 9989 (Appendix C.5.2): receivers that follow it "
        "ignore the tag, older ones may still apply it; %s.%s%s", t->name,
        t->value, removed_advice(t), r->fixed ? " Publish: " : "",
        r->fixed ? r->fixed : ""));

    w->expected = r->fixed;
}

/* A report size limit ("!10m") in rua= or ruf=: one warning a tag. */
static void size_limits(ssd_dmarc_ctx_t *d, const rec_t *r,
                        const ssd_dmarc_part_t *t)
{
    apr_array_header_t *uris = ssd_dmarc_uris(d->p, t->value);
    int i;

    for (i = 0; i < uris->nelts; i++) {
        const ssd_dmarc_uri_t *u = &APR_ARRAY_IDX(uris, i, ssd_dmarc_uri_t);

        if (u->size) {
            warn(d, "removed_size_limit", apr_psprintf(d->p, "%s= gives "
                 "%s%s a report size limit, which RFC 9989 removed (section "
                 "4.8, obs-dmarc-report-size; Appendix C.4): receivers "
                 "ignore it; drop it.%s%s", t->name, u->uri, u->size,
                 r->fixed ? " Publish: " : "", r->fixed ? r->fixed : ""))
                ->expected = r->fixed;
            return;
        }
    }
}

static void judge_parts(ssd_dmarc_ctx_t *d, const rec_t *r)
{
    const ssd_dmarc_part_t *t = (const ssd_dmarc_part_t *)r->parts->elts;
    int i;

    for (i = 0; i < r->parts->nelts; i++) {
        const char *problem = t[i].problem;

        if (!problem && t[i].name && ssd_dmarc_is_known(t[i].name)) {
            problem = ssd_dmarc_value_problem(d->p, t[i].name, t[i].value);
        }
        if (problem) {
            malformed(d, r, &t[i], problem);
        }
        else if (!t[i].name) {
            continue;
        }
        else if (ssd_dmarc_is_removed(t[i].name)) {
            removed(d, r, &t[i]);
        }
        else if (!strcmp(t[i].name, "rua") || !strcmp(t[i].name, "ruf")) {
            size_limits(d, r, &t[i]);
        }
    }
}

/* ---- p= ---- */

static int has_part(const apr_array_header_t *parts, const char *name)
{
    const ssd_dmarc_part_t *t = (const ssd_dmarc_part_t *)parts->elts;
    int i;

    for (i = 0; i < parts->nelts; i++) {
        if (t[i].name && !strcmp(t[i].name, name)) {
            return 1;
        }
    }
    return 0;
}

static void policy_missing(ssd_dmarc_ctx_t *d, const rec_t *r)
{
    const char *fix = r->fixed ? r->fixed : d->expected;

    if (r->valid_rua) {
        warn(d, "policy_missing", apr_psprintf(d->p, "the DMARC record at %s "
             "has no p= tag: RFC 9989 treats it as p=none because rua= holds "
             "a valid address (section 4.7, p; section 4.10.1), so a policy "
             "of none applies, and receivers that follow RFC 7489 want p= "
             "present: add p=%s, i.e. publish: %s", d->host,
             d->policy ? d->policy : "none", fix))->expected = fix;
        return;
    }
    fail(d, "policy_missing", apr_psprintf(d->p, "the DMARC record at %s has "
         "no p= tag and no valid rua= address, so receivers apply no DMARC "
         "policy to this domain (RFC 9989 section 4.10.1): publish %s",
         d->host, fix))->expected = fix;
}

static void mismatch(ssd_dmarc_ctx_t *d, const char *pol)
{
    ssd_finding_t *w = warn(d, "policy_mismatch", apr_psprintf(d->p, "the "
        "DMARC record at %s says p=%s but this domain is set to p=%s: "
        "publish %s, or change the domain's dmarc_policy to %s", d->host,
        pol, d->policy, d->expected, pol));

    w->expected = d->expected;
}

static const char *one_less(const char *pol)
{
    return !strcasecmp(pol, "reject") ? "quarantine" : "none";
}

static void judge_policy(ssd_dmarc_ctx_t *d, const rec_t *r)
{
    const char *pol = ssd_dmarc_get(r->parts, "p");
    const char *t = ssd_dmarc_get(r->parts, "t");

    if (!has_part(r->parts, "p")) {
        policy_missing(d, r);
        return;
    }
    if (!pol || ssd_dmarc_value_problem(d->p, "p", pol)) {
        return;                 /* malformed, said above */
    }
    if (d->policy && strcasecmp(pol, d->policy) != 0) {
        mismatch(d, pol);
    }
    if (t && !strcasecmp(t, "y") && strcasecmp(pol, "none") != 0) {
        warn(d, "policy_testing", apr_psprintf(d->p, "the DMARC record at %s "
             "has t=y: the policy is being tested, and receivers apply one "
             "level less than p=%s to failing mail, i.e. %s (RFC 9989 section "
             "4.7, t; Appendix A.6): remove t=y when the test is over",
             d->host, pol, one_less(pol)));
    }
}

static int rua_valid(apr_pool_t *p, const apr_array_header_t *parts)
{
    const char *rua = ssd_dmarc_get(parts, "rua");
    apr_array_header_t *uris = rua ? ssd_dmarc_uris(p, rua) : NULL;
    int i;

    for (i = 0; uris && i < uris->nelts; i++) {
        if (!APR_ARRAY_IDX(uris, i, ssd_dmarc_uri_t).problem) {
            return 1;
        }
    }
    return 0;
}

static void judge(ssd_dmarc_ctx_t *d, const ssd_txt_t *t)
{
    rec_t r;

    d->txt = t;
    r.parts = ssd_dmarc_parse(d->p, t->data, t->len);
    r.valid_rua = rua_valid(d->p, r.parts);
    r.fixed = fixed_record(d, r.parts);
    judge_parts(d, &r);
    judge_policy(d, &r);
    ssd_dmarc_check_reports(d, ssd_dmarc_get(r.parts, "rua"),
                            ssd_dmarc_get(r.parts, "ruf"));
}

/* ---- no single record ---- */

static const char *policy_applied(apr_pool_t *p, const ssd_dmarc_walk_t *w)
{
    apr_array_header_t *parts = ssd_dmarc_parse(p, w->record,
                                                w->record_len);
    const char *sp = ssd_dmarc_get(parts, "sp");
    const char *pol = ssd_dmarc_get(parts, "p");

    if (sp && !ssd_dmarc_value_problem(p, "sp", sp)) {
        return apr_psprintf(p, "its sp=%s", sp);
    }
    return pol && !ssd_dmarc_value_problem(p, "p", pol)
           ? apr_psprintf(p, "its p=%s", pol) : "no valid p= of its own";
}

/* Section 4.10.1: the record receivers use instead (a warning). */
static void inherited(ssd_dmarc_ctx_t *d)
{
    ssd_dmarc_walk_t w;
    ssd_finding_t *f;

    if (ssd_dmarc_walk(d->dns, d->domain, &w) != 0) {
        ssd_dmarc_temp_warning(d, w.temp_name, w.temp_rc);
        return;
    }
    if (!w.found_at) {
        return;
    }
    f = ssd_check_warning(d->p, d->out, CHECK, "inherited_policy", d->host,
        apr_psprintf(d->p, "%s has no DMARC record of its own, so receivers "
        "apply %s %s, found by the DNS tree walk (RFC 9989 sections 4.10, "
        "4.10.1): %s, for this domain as a subdomain. An inherited policy "
        "does not pass this check, which needs a record at %s: publish %s",
        d->host, w.from_psd ? "the record of the public suffix domain"
        : "the record of the organisational domain", w.from_psd
        ? apr_psprintf(d->p, "%s (psd=y; the organisational domain %s "
                       "publishes none)", w.found_at, w.org) : w.found_at,
        policy_applied(d->p, &w), d->host, d->expected));
    f->expected = d->expected;
    f->found = ssd_check_escape(d->p, w.record, w.record_len);
}

typedef enum {
    SHAPE_NONE, SHAPE_QUOTED, SHAPE_LEADING_SPACE, SHAPE_VERSION_CASE,
    SHAPE_NO_SEPARATOR, SHAPE_NOT_FIRST
} shape_e;

static apr_size_t leading_space(const char *s, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'
                       || s[i] == '\n')) {
        i++;
    }
    return i;
}

/* "v" *WSP "=" *WSP: where the version value starts, or 0. */
static apr_size_t version_value(const char *s, apr_size_t len)
{
    apr_size_t i = 1;

    if (len < 1 || (s[0] != 'v' && s[0] != 'V')) {
        return 0;
    }
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    if (i >= len || s[i++] != '=') {
        return 0;
    }
    while (i < len && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    return len - i >= 6 ? i : 0;
}

/* How a TXT record that is no DMARC record looks like one meant. */
static shape_e shape(const char *s, apr_size_t len)
{
    apr_size_t i = leading_space(s, len);
    apr_size_t v = version_value(s, len);

    if (ssd_check_is_quoted(s, len) && ssd_dmarc_is_record(s + 1, len - 2)) {
        return SHAPE_QUOTED;
    }
    if (i > 0 && ssd_dmarc_is_record(s + i, len - i)) {
        return SHAPE_LEADING_SPACE;
    }
    if (v && !memcmp(s + v, "DMARC1", 6)) {
        return SHAPE_NO_SEPARATOR;
    }
    if (v && !strncasecmp(s + v, "DMARC1", 6)) {
        return SHAPE_VERSION_CASE;
    }
    return strstr(s, "v=DMARC1") ? SHAPE_NOT_FIRST : SHAPE_NONE;
}

static void not_dmarc(ssd_dmarc_ctx_t *d, const ssd_txt_t *t, shape_e sh)
{
    apr_size_t sp = leading_space(t->data, t->len);

    switch (sh) {
    case SHAPE_QUOTED:
        fail(d, "quoted_value", apr_psprintf(d->p, "the DMARC record at %s "
             "was entered with its double quotes, which became part of the "
             "value: remove the quotes and publish: %s", d->host,
             d->expected));
        break;
    case SHAPE_LEADING_SPACE:
        fail(d, "malformed", apr_psprintf(d->p, "the TXT record at %s starts "
             "with white space before v=DMARC1; RFC 9989's formal definition "
             "(section 4.8) lets nothing come before the version tag, so "
             "receivers discard it as no DMARC record (section 4.10, step "
             "2): remove the white space, i.e. publish: %s", d->host,
             ssd_check_escape(d->p, t->data + sp, t->len - sp)))->expected =
            ssd_check_escape(d->p, t->data + sp, t->len - sp);
        break;
    case SHAPE_VERSION_CASE:
        fail(d, "missing", apr_psprintf(d->p, "the TXT record at %s starts "
             "with a version other than DMARC1, which is case-sensitive (RFC "
             "9989 section 4.7, v; section 4.8: %%s\"DMARC1\"), so receivers "
             "see no DMARC record: write v=DMARC1, e.g. publish a TXT record "
             "at %s with the value %s", d->host, d->host, d->expected));
        break;
    case SHAPE_NO_SEPARATOR:
        fail(d, "malformed", apr_psprintf(d->p, "the TXT record at %s starts "
             "with v=DMARC1 but a ';' does not follow it (RFC 9989 section "
             "4.8: dmarc-version, then dmarc-sep), so receivers do not take "
             "it as a DMARC record: separate the tags with ';', e.g. "
             "publish: %s", d->host, d->expected));
        break;
    default:
        fail(d, "malformed", apr_psprintf(d->p, "the DMARC record at %s "
             "does not start with v=DMARC1, so receivers ignore it (RFC 9989 "
             "section 4.7: the v tag MUST come first): put v=DMARC1 first, "
             "e.g. publish: %s", d->host, d->expected));
    }
}

static void no_record(ssd_dmarc_ctx_t *d, const ssd_txt_answer_t *a)
{
    const ssd_txt_t *t = a->rc == SSD_DNS_OK && a->txts
                         ? (const ssd_txt_t *)a->txts->elts : NULL;
    int i;

    for (i = 0; t && i < a->txts->nelts; i++) {
        shape_e sh = shape(t[i].data, t[i].len);

        if (sh != SHAPE_NONE) {
            d->txt = &t[i];
            not_dmarc(d, &t[i], sh);
            return;
        }
    }
    d->txt = NULL;
    fail(d, "missing", apr_psprintf(d->p, "no DMARC record at %s: publish a "
         "TXT record at %s with the value %s", d->host, d->host,
         d->expected));
}

static void multiple(ssd_dmarc_ctx_t *d, const ssd_txt_answer_t *a, int n)
{
    fail(d, "multiple_records", apr_psprintf(d->p, "%d DMARC records are "
         "published at %s, and receivers discard them all, as if there were "
         "none (RFC 9989 section 4.10, step 2): keep exactly one, e.g. %s",
         n, d->host, d->expected))->found =
        ssd_check_found_list(d->p, a->txts, ssd_dmarc_is_record);
}

static int dmarc_records(const ssd_txt_answer_t *a, const ssd_txt_t **first)
{
    const ssd_txt_t *t;
    int i, n = 0;

    *first = NULL;
    if (a->rc != SSD_DNS_OK || !a->txts) {
        return 0;
    }
    t = (const ssd_txt_t *)a->txts->elts;
    for (i = 0; i < a->txts->nelts; i++) {
        if (ssd_dmarc_is_record(t[i].data, t[i].len)) {
            *first = *first ? *first : &t[i];
            n++;
        }
    }
    return n;
}

static void init(ssd_dmarc_ctx_t *d, apr_pool_t *p, const char *domain,
                 const char *policy, const char *rua,
                 ssd_check_result_t *out)
{
    char *c;

    memset(d, 0, sizeof(*d));
    d->p = p;
    d->out = out;
    d->domain = c = apr_pstrdup(p, domain);
    for (; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    d->policy = policy;
    d->host = ssd_record_dmarc_host(p, d->domain);
    d->expected = ssd_record_dmarc_value(p, policy ? policy : "none", rua);
}

void ssd_check_dmarc(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                     const char *domain, const char *policy, const char *rua,
                     ssd_check_result_t *out)
{
    ssd_dmarc_ctx_t d;
    ssd_txt_answer_t ans;
    const ssd_txt_t *rec;
    int n;

    init(&d, p, domain, policy, rua, out);
    ssd_check_init(p, out, d.host);
    if (ssd_check_fetch(p, fetch, baton, CHECK, d.host, out, &ans) != 0) {
        return;
    }
    d.dns = ssd_dmarc_dns_new(p, fetch, baton, &out->lookups);
    ssd_dmarc_dns_seed(d.dns, d.host, &ans);
    if (ans.rc == SSD_DNS_CNAME_LOOP) {
        fail(&d, "cname_loop", apr_psprintf(p, "%s is a CNAME loop: remove "
             "the CNAME and publish a TXT record at %s with the value %s",
             d.host, d.host, d.expected));
        return;
    }
    if ((n = dmarc_records(&ans, &rec)) != 1) {
        n ? multiple(&d, &ans, n) : no_record(&d, &ans);
        inherited(&d);
        return;
    }
    judge(&d, rec);
}
