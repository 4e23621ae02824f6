/* ssd_check_dmarc: the DMARC policy record at _dmarc.<domain> (RFC 7489).
 *
 * Discovery (§6.6.3): TXT records not starting with v=DMARC1 are
 * discarded; exactly one must remain. The record is a DKIM-style tag list
 * (§6.3, §6.4). The ABNF writes tag names and policy words as quoted
 * strings, which RFC 5234 makes case-insensitive, so "P=Reject" is read as
 * p=reject; the version value DMARC1 is %x-coded and case-sensitive. A
 * record without p= is policy_missing; an invalid p=, sp=, pct=, adkim=,
 * aspf= or ri= is malformed.
 *
 * DMARCbis (draft-ietf-dmarc-dmarcbis) differs: it drops pct=, rf= and
 * ri=, adds np= (policy for non-existent subdomains), psd= and t=
 * (testing), and replaces the Public Suffix List with a DNS tree walk for
 * the organisational domain. Unknown tags are ignored here, as both
 * require, and np= is checked like sp= when present.
 *
 * Warnings: p= other than the configured policy; an rua address whose
 * organisational domain differs from the domain's and whose receiver has
 * not published the §7.1 authorisation record
 * <domain>._report._dmarc.<rua-domain> (a TXT starting with v=DMARC1). */
#include "ssd_check.h"
#include "ssd_records.h"

#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "ssd_domain.h"

#define CHECK "dmarc"
#define SSD_DMARC_MAX_RUA 2     /* report destinations checked (section 11) */

typedef struct {
    apr_pool_t *p;
    ssd_txt_fetch_fn fetch;
    void *baton;
    ssd_check_result_t *out;
    const char *domain;
    const char *host;           /* _dmarc.<domain> */
    const char *policy;
    const char *expected;
    const ssd_txt_t *txt;       /* the record judged */
} dmarc_t;

static ssd_finding_t *fail(dmarc_t *d, const char *code, const char *msg)
{
    ssd_finding_t *f = ssd_check_error(d->p, d->out, CHECK, code, d->host,
                                       msg);

    f->expected = d->expected;
    if (d->txt) {
        f->found = ssd_check_escape(d->p, d->txt->data, d->txt->len);
    }
    return f;
}

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }
    return s;
}

/* v *WSP "=" *WSP "DMARC1" *WSP (";" / end) at the start of the value. */
static int is_dmarc(const char *s, apr_size_t len)
{
    const char *end = s + len;

    s = skip_ws(s, end);
    if (s >= end || (*s != 'v' && *s != 'V')) {
        return 0;
    }
    s = skip_ws(s + 1, end);
    if (s >= end || *s != '=') {
        return 0;
    }
    s = skip_ws(s + 1, end);
    if (end - s < 6 || memcmp(s, "DMARC1", 6) != 0) {
        return 0;
    }
    s = skip_ws(s + 6, end);
    return s == end || *s == ';';
}

static int one_of(const char *v, const char *const *words)
{
    for (; *words; words++) {
        if (!strcasecmp(v, *words)) {
            return 1;
        }
    }
    return 0;
}

static int all_digits(const char *v, int max)
{
    const char *c = v;

    for (; *c; c++) {
        if (!apr_isdigit(*c)) {
            return 0;
        }
    }
    return *v && c - v <= 10 && (max < 0 || atoi(v) <= max);
}

static const char *const policies[] = { "none", "quarantine", "reject", NULL };
static const char *const alignments[] = { "r", "s", NULL };

/* The first invalid optional tag, as a message; NULL when all are fine. */
static const char *bad_tag(dmarc_t *d, const apr_array_header_t *tags)
{
    static const char *const names[] = { "sp", "np", "adkim", "aspf", "pct",
                                         "ri" };
    unsigned i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = ssd_tag_get(tags, names[i], 1);
        int ok;

        if (!v) {
            continue;
        }
        ok = i < 2 ? one_of(v, policies)
             : i < 4 ? one_of(v, alignments)
             : all_digits(v, i == 4 ? 100 : -1);
        if (!ok) {
            return apr_psprintf(d->p, "%s=%s is not valid (%s)", names[i], v,
                                i < 2 ? "none, quarantine or reject"
                                : i < 4 ? "r or s"
                                : i == 4 ? "a number from 0 to 100"
                                : "a number of seconds");
        }
    }
    return NULL;
}

/* Organisational domain: the Public Suffix List of the domain rules
 * (ssd_domain_registrable); the name itself when it has none. */
static const char *org_domain(apr_pool_t *p, const char *name)
{
    const char *r = ssd_domain_registrable(p, name);

    return r ? r : name;
}

/* §7.1: reports for domain sent to rua_domain need its consent. */
static void check_rua_domain(dmarc_t *d, const char *addr,
                             const char *rua_domain)
{
    const char *name;
    ssd_txt_answer_t ans;
    const ssd_txt_t *t;
    int i;

    if (!strcasecmp(org_domain(d->p, rua_domain), org_domain(d->p, d->domain))) {
        return;
    }
    name = apr_pstrcat(d->p, d->domain, "._report._dmarc.", rua_domain, NULL);
    memset(&ans, 0, sizeof(ans));
    d->out->lookups++;
    d->fetch(d->baton, d->p, name, &ans);
    if (ssd_dns_is_temporary(ans.rc)) {
        ssd_check_temp_warning(d->p, d->out, CHECK, name, ans.rc);
        return;
    }
    t = ans.rc == SSD_DNS_OK && ans.txts ? (const ssd_txt_t *)ans.txts->elts
                                         : NULL;
    for (i = 0; t && i < ans.txts->nelts; i++) {
        if (is_dmarc(t[i].data, t[i].len)) {
            return;
        }
    }
    ssd_check_warning(d->p, d->out, CHECK, "rua_not_authorised", d->host,
        apr_psprintf(d->p, "aggregate reports go to %s, on another domain "
                     "that has not agreed to receive them, so receivers will "
                     "not send them: %s must publish a TXT record at %s with "
                     "the value v=DMARC1 (RFC 7489 §7.1)", addr, rua_domain,
                     name))->expected = "v=DMARC1";
}

/* rua = dmarc-uri *( "," dmarc-uri ); only mailto: URIs are checked, and
 * only the first SSD_DMARC_MAX_RUA of them: the names are the zone
 * owner's to choose, each costs a lookup, and receivers need not send to
 * more (the rest is one warning). */
static void check_rua(dmarc_t *d, const char *rua)
{
    char *copy = apr_pstrdup(d->p, rua), *last, *u, *at, *bang;
    int n = 0, skipped = 0;

    for (u = apr_strtok(copy, ",", &last); u; u = apr_strtok(NULL, ",", &last)) {
        while (apr_isspace(*u)) {
            u++;
        }
        if (strncasecmp(u, "mailto:", 7) != 0 || !(at = strrchr(u, '@'))) {
            continue;
        }
        if (n++ >= SSD_DMARC_MAX_RUA) {
            skipped++;
            continue;
        }
        if ((bang = strchr(at, '!'))) {
            *bang = '\0';
        }
        for (bang = at + strlen(at); bang > at && apr_isspace(bang[-1]);) {
            *--bang = '\0';
        }
        if (at[1]) {
            check_rua_domain(d, u + 7, at + 1);
        }
    }
    if (skipped) {
        ssd_check_warning(d->p, d->out, CHECK, "rua_not_checked", d->host,
            apr_psprintf(d->p, "rua= lists %d report addresses; the first %d "
                         "were checked and the other %d were not: receivers "
                         "may send reports to no more than two, so list at "
                         "most two", n, SSD_DMARC_MAX_RUA, skipped));
    }
}

static void judge(dmarc_t *d, const ssd_txt_t *t)
{
    apr_array_header_t *tags;
    const char *msg, *p = NULL;

    d->txt = t;
    msg = ssd_tag_list_parse(d->p, t->data, t->len, 1, &tags);
    if (!msg && !(p = ssd_tag_get(tags, "p", 1))) {
        fail(d, "policy_missing", apr_psprintf(d->p, "the DMARC record at %s "
             "has no p= tag: publish %s", d->host, d->expected));
        return;
    }
    if (!msg && !one_of(p, policies)) {
        msg = apr_psprintf(d->p, "p=%s is not none, quarantine or reject", p);
    }
    if (msg || (msg = bad_tag(d, tags))) {
        fail(d, "malformed", apr_psprintf(d->p, "the DMARC record at %s is "
             "invalid: %s. Publish: %s", d->host, msg, d->expected));
        return;
    }
    if (d->policy && strcasecmp(p, d->policy) != 0) {
        ssd_finding_t *w = ssd_check_warning(d->p, d->out, CHECK,
            "policy_mismatch", d->host, apr_psprintf(d->p, "the DMARC record "
            "at %s says p=%s but this domain is set to p=%s: publish %s, or "
            "change the domain's dmarc_policy to %s", d->host, p, d->policy,
            d->expected, p));

        w->expected = d->expected;
        w->found = ssd_check_escape(d->p, t->data, t->len);
    }
    if ((p = ssd_tag_get(tags, "rua", 1))) {
        check_rua(d, p);
    }
}

static void no_record(dmarc_t *d, const ssd_txt_answer_t *a)
{
    const ssd_txt_t *t = a->rc == SSD_DNS_OK && a->txts
                         ? (const ssd_txt_t *)a->txts->elts : NULL;
    int i;

    for (i = 0; t && i < a->txts->nelts; i++) {
        d->txt = &t[i];
        if (ssd_check_is_quoted(t[i].data, t[i].len)
            && is_dmarc(t[i].data + 1, t[i].len - 2)) {
            fail(d, "quoted_value", apr_psprintf(d->p, "the DMARC record at "
                 "%s was entered with its double quotes, which became part "
                 "of the value: remove the quotes and publish: %s", d->host,
                 d->expected));
            return;
        }
        if (strstr(t[i].data, "v=DMARC1")) {
            fail(d, "malformed", apr_psprintf(d->p, "the DMARC record at %s "
                 "does not start with v=DMARC1, so receivers ignore it: put "
                 "v=DMARC1 first, e.g. publish: %s", d->host, d->expected));
            return;
        }
    }
    d->txt = NULL;
    fail(d, "missing", apr_psprintf(d->p, "no DMARC record at %s: publish a "
         "TXT record at %s with the value %s", d->host, d->host,
         d->expected));
}

static void multiple(dmarc_t *d, const ssd_txt_answer_t *a, int n)
{
    fail(d, "multiple_records", apr_psprintf(d->p, "%d DMARC records are "
         "published at %s, and receivers then apply no DMARC policy at all: "
         "keep exactly one, e.g. %s", n, d->host, d->expected))->found =
        ssd_check_found_list(d->p, a->txts, is_dmarc);
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
        if (is_dmarc(t[i].data, t[i].len)) {
            *first = *first ? *first : &t[i];
            n++;
        }
    }
    return n;
}

void ssd_check_dmarc(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                     const char *domain, const char *policy, const char *rua,
                     ssd_check_result_t *out)
{
    dmarc_t d;
    ssd_txt_answer_t ans;
    const ssd_txt_t *rec;
    int n;

    memset(&d, 0, sizeof(d));
    d.p = p;
    d.fetch = fetch;
    d.baton = baton;
    d.out = out;
    d.domain = domain;
    d.policy = policy;
    d.host = ssd_record_dmarc_host(p, domain);
    d.expected = ssd_record_dmarc_value(p, policy ? policy : "none", rua);
    ssd_check_init(p, out, d.host);
    if (ssd_check_fetch(p, fetch, baton, CHECK, d.host, out, &ans) != 0) {
        return;
    }
    if (ans.rc == SSD_DNS_CNAME_LOOP) {
        fail(&d, "cname_loop", apr_psprintf(p, "%s is a CNAME loop: remove "
             "the CNAME and publish a TXT record at %s with the value %s",
             d.host, d.host, d.expected));
        return;
    }
    if ((n = dmarc_records(&ans, &rec)) != 1) {
        n ? multiple(&d, &ans, n) : no_record(&d, &ans);
        return;
    }
    judge(&d, rec);
}
