/* ssd_check_dmarc_report: may receivers send the reports where rua= and
 * ruf= ask? RFC 9990 (DMARC aggregate reporting), "Verifying External
 * Destinations" (section 4 of draft-ietf-dmarc-aggregate-reporting-32;
 * RFC 9991 applies it to failure reports):
 *
 *   when the Organizational Domain of the policy's domain differs from
 *   that of the destination host, the destination must publish a TXT
 *   record starting v=DMARC1 at <domain>._report._dmarc.<host> (a name
 *   over DNS's 253 octets cannot be confirmed); a temporary failure
 *   leaves it undecided; a rua= (ruf=) in that record replaces the
 *   destination, and one on another host makes receivers send to neither.
 *
 * Organizational Domains come from the RFC 9989 DNS tree walk (section
 * 4.10.2), not from the Public Suffix List. A wildcard record at
 * *._report._dmarc.<host> authorises every domain: it answers the one
 * query a receiver makes (RFC 4592 synthesis), so the check makes exactly
 * that query and nothing else. Only mailto: destinations are checked
 * (the scheme receivers must support), and only the first
 * SSD_DMARC_MAX_RUA of them: the zone owner chooses how many, and each
 * costs lookups. */
#include "ssd_check_dmarc_internal.h"
#include "ssd_dmarc.h"
#include "ssd_domain.h"

#include <string.h>
#include <apr_strings.h>

#define NAME_MAX_LEN 253

typedef struct {
    const char *kind;           /* "rua" or "ruf" */
    const char *addr;           /* the URI after mailto: */
    const char *host;
} dest_t;

static void collect(apr_pool_t *p, const char *kind, const char *list,
                    apr_array_header_t *dests)
{
    apr_array_header_t *uris;
    const ssd_dmarc_uri_t *u;
    int i;

    if (!list) {
        return;
    }
    uris = ssd_dmarc_uris(p, list);
    u = (const ssd_dmarc_uri_t *)uris->elts;
    for (i = 0; i < uris->nelts; i++) {
        if (u[i].host && !u[i].problem) {
            dest_t *d = apr_array_push(dests);

            d->kind = kind;
            d->addr = u[i].uri + 7;
            d->host = u[i].host;
        }
    }
}

/* The Organizational Domain of name; NULL after a temporary failure (a
 * warning). */
static const char *org_of(ssd_dmarc_ctx_t *d, const char *name)
{
    ssd_dmarc_walk_t w;

    if (ssd_dmarc_walk(d->dns, name, &w) != 0) {
        ssd_dmarc_temp_warning(d, w.temp_name, w.temp_rc);
        return NULL;
    }
    return w.org;
}

static const char *what(const dest_t *t)
{
    return !strcmp(t->kind, "ruf") ? "failure reports" : "aggregate reports";
}

/* When one name is under the other, a DMARC record at the upper one
 * makes it the Organizational Domain of both. */
static const char *same_org_hint(ssd_dmarc_ctx_t *d, const dest_t *t)
{
    const char *upper = ssd_domain_is_within(d->domain, t->host) ? t->host
                        : ssd_domain_is_within(t->host, d->domain)
                        ? d->domain : NULL;

    return upper ? apr_psprintf(d->p, " Or, if %s is this domain's "
                                "organisation, publish a DMARC record at "
                                "_dmarc.%s: the tree walk then finds %s as "
                                "the organisational domain of both.",
                                upper, upper, upper) : "";
}

static ssd_finding_t *warn(ssd_dmarc_ctx_t *d, const dest_t *t,
                           const char *message)
{
    return ssd_check_warning(d->p, d->out, SSD_DMARC_CHECK,
        !strcmp(t->kind, "ruf") ? "ruf_not_authorised" : "rua_not_authorised",
        d->host, message);
}

static void not_authorised(ssd_dmarc_ctx_t *d, const dest_t *t,
                           const char *name)
{
    warn(d, t, apr_psprintf(d->p, "%s go to %s, on another organisational "
        "domain than this one (RFC 9989 section 4.10.2 DNS tree walk), "
        "which has not agreed to receive them, so receivers will not send "
        "them (RFC 9990, Verifying External Destinations): %s must publish "
        "a TXT record at %s with the value v=DMARC1 (a wildcard record at "
        "*._report._dmarc.%s authorises every domain).%s", what(t), t->addr,
        t->host, name, t->host, same_org_hint(d, t)))->expected = "v=DMARC1";
}

/* Step 9: an override on another host stops the reports altogether. */
static void overridden(ssd_dmarc_ctx_t *d, const dest_t *t,
                       const char *name, const char *other)
{
    warn(d, t, apr_psprintf(d->p, "%s go to %s, whose authorisation record "
        "at %s replaces that destination with %s, on another host than %s, "
        "so receivers send them to neither (RFC 9990, Verifying External "
        "Destinations, step 9): %s must correct or remove the %s= in that "
        "record", what(t), t->addr, name,
        ssd_check_escape(d->p, other, strlen(other)), t->host, t->host,
        t->kind));
}

static void too_long(ssd_dmarc_ctx_t *d, const dest_t *t, const char *name)
{
    warn(d, t, apr_psprintf(d->p, "%s go to %s on another organisational "
        "domain, but the name that would authorise them, %s, is %d "
        "characters long, over DNS's 253, so receivers cannot confirm it "
        "and will not send them (RFC 9990, Verifying External "
        "Destinations, step 4): use a report address on a shorter domain",
        what(t), t->addr, name, (int)strlen(name)));
}

/* The first URI of the record's override (step 9) on another host than
 * the destination, or NULL. */
static const char *override_elsewhere(ssd_dmarc_ctx_t *d, const dest_t *t,
                                      const ssd_txt_t *rec)
{
    const char *v = ssd_dmarc_get(ssd_dmarc_parse(d->p, rec->data, rec->len),
                                  t->kind);
    apr_array_header_t *uris = v ? ssd_dmarc_uris(d->p, v) : NULL;
    int i;

    for (i = 0; uris && i < uris->nelts; i++) {
        const ssd_dmarc_uri_t *u = &APR_ARRAY_IDX(uris, i, ssd_dmarc_uri_t);

        if (!u->host || strcasecmp(u->host, t->host) != 0) {
            return u->uri;
        }
    }
    return NULL;
}

static void judge_authorisation(ssd_dmarc_ctx_t *d, const dest_t *t,
                                const char *name, const ssd_txt_answer_t *a)
{
    const ssd_txt_t *r = a->rc == SSD_DNS_OK && a->txts
                         ? (const ssd_txt_t *)a->txts->elts : NULL;
    const char *other = NULL;
    int i, ok = 0;

    for (i = 0; r && i < a->txts->nelts; i++) {
        if (ssd_dmarc_is_record(r[i].data, r[i].len)) {
            ok = 1;
            other = other ? other : override_elsewhere(d, t, &r[i]);
        }
    }
    if (!ok) {
        not_authorised(d, t, name);
    }
    else if (other) {
        overridden(d, t, name, other);
    }
}

static void check_one(ssd_dmarc_ctx_t *d, const dest_t *t)
{
    const char *mine, *theirs, *name;
    const ssd_txt_answer_t *a;

    if (!strcasecmp(t->host, d->domain)
        || !(mine = org_of(d, d->domain)) || !(theirs = org_of(d, t->host))
        || !strcasecmp(mine, theirs)) {
        return;
    }
    name = apr_pstrcat(d->p, d->domain, "._report._dmarc.", t->host, NULL);
    if (!ssd_dmarc_dns_first_warning(d->dns, apr_pstrcat(d->p, t->kind, ":",
                                                         name, NULL))) {
        return;                 /* this destination was judged already */
    }
    if (strlen(name) > NAME_MAX_LEN) {
        too_long(d, t, name);
        return;
    }
    a = ssd_dmarc_dns_txt(d->dns, name);
    if (ssd_dns_is_temporary(a->rc)) {
        ssd_dmarc_temp_warning(d, name, a->rc);
        return;
    }
    judge_authorisation(d, t, name, a);
}

static void not_checked(ssd_dmarc_ctx_t *d, int n, int skipped, int both,
                        const char *only)
{
    ssd_check_warning(d->p, d->out, SSD_DMARC_CHECK, "rua_not_checked",
        d->host, apr_psprintf(d->p, "%s %d report addresses; the first %d "
        "were checked and the other %d were not: receivers need not send "
        "reports to that many (RFC 9990, Report Delivery: up to the "
        "receiver's limits), so list at most two",
        both ? "rua= and ruf= list" : apr_pstrcat(d->p, only, "= lists",
                                                  NULL),
        n, SSD_DMARC_MAX_RUA, skipped));
}

void ssd_dmarc_check_reports(ssd_dmarc_ctx_t *d, const char *rua,
                             const char *ruf)
{
    apr_array_header_t *dests = apr_array_make(d->p, 4, sizeof(dest_t));
    const dest_t *t;
    int i, rua_n;

    collect(d->p, "rua", rua, dests);
    rua_n = dests->nelts;
    collect(d->p, "ruf", ruf, dests);
    t = (const dest_t *)dests->elts;
    for (i = 0; i < dests->nelts && i < SSD_DMARC_MAX_RUA; i++) {
        check_one(d, &t[i]);
    }
    if (dests->nelts > SSD_DMARC_MAX_RUA) {
        not_checked(d, dests->nelts, dests->nelts - SSD_DMARC_MAX_RUA,
                    rua_n > 0 && rua_n < dests->nelts,
                    rua_n ? "rua" : "ruf");
    }
}
