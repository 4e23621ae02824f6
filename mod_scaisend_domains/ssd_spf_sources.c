/* ssd_spf_sources: the addresses an SPF record authorises with pass (one
 * per network), for a check to evaluate another record for them. */
#include "ssd_spf_eval.h"

#include <string.h>
#include <apr_strings.h>

typedef struct {
    apr_pool_t *p;
    const ssd_spf_lookup_t *lk;
    ssd_spf_sources_t *out;
    ssd_spf_macros_t m;
    int max;
    int terms;              /* DNS-querying terms walked */
} walk_t;

static int stopped(const walk_t *w)
{
    return w->out->error || w->out->rc != SSD_DNS_OK
           || w->terms > SSD_SPF_MAX_DNS_TERMS;
}

static void add(walk_t *w, const ssd_ip_t *ip, const char *term,
                const char *domain)
{
    const ssd_spf_source_t *s = (const ssd_spf_source_t *)w->out->sources->elts;
    ssd_spf_source_t *n;
    int i;

    for (i = 0; i < w->out->sources->nelts; i++) {
        if (s[i].ip.family == ip->family
            && !memcmp(s[i].ip.addr, ip->addr, sizeof(ip->addr))) {
            return;
        }
    }
    if (w->out->sources->nelts >= w->max) {
        w->out->more = 1;
        return;
    }
    n = apr_array_push(w->out->sources);
    n->ip = *ip;
    n->text = ssd_ip_text(w->p, ip);
    n->term = term;
    n->domain = domain;
}

/* 0 after a temporary error (recorded) or an answer without data. */
static int usable(walk_t *w, ssd_dns_rc rc, const char *name)
{
    if (ssd_dns_is_temporary(rc)) {
        w->out->rc = rc;
        w->out->error_name = name;
        return 0;
    }
    return rc == SSD_DNS_OK;
}

/* The A and AAAA addresses of name. */
static void add_host(walk_t *w, const char *name, const term_t *t,
                     const char *domain)
{
    ssd_rr_fetch_fn fns[2];
    ssd_rr_answer_t a;
    int i, j;

    fns[0] = w->lk->a;
    fns[1] = w->lk->aaaa;
    for (i = 0; i < 2 && !stopped(w); i++) {
        memset(&a, 0, sizeof(a));
        fns[i](w->lk->baton, w->p, name, &a);
        for (j = 0; usable(w, a.rc, name) && j < a.ips->nelts; j++) {
            add(w, &APR_ARRAY_IDX(a.ips, j, ssd_ip_t), t->text, domain);
        }
    }
}

static void add_mx(walk_t *w, const char *name, const term_t *t,
                   const char *domain)
{
    ssd_rr_answer_t mx;
    int i;

    memset(&mx, 0, sizeof(mx));
    w->lk->mx(w->lk->baton, w->p, name, &mx);
    if (!usable(w, mx.rc, name) || mx.names->nelts > SSD_SPF_MAX_NAMES) {
        return;
    }
    for (i = 0; i < mx.names->nelts && !stopped(w); i++) {
        const char *n = APR_ARRAY_IDX(mx.names, i, const char *);

        if (ssd_spf_dns_name_ok(n, 0)) {
            add_host(w, n, t, domain);
        }
    }
}

/* The target of a term, or NULL (a message-dependent macro, or not a
 * name). */
static const char *target(walk_t *w, const char *spec, const char *domain)
{
    const char *name;

    if (!spec) {
        return domain;
    }
    if (ssd_spf_macro_uses(spec, "slpiv")) {
        return NULL;                /* the message, or the address sought */
    }
    w->m.d = domain;
    name = ssd_spf_expand(w->p, &w->m, spec, 0);
    return name && ssd_spf_dns_name_ok(name, 0) ? name : NULL;
}

static void walk(walk_t *w, const char *domain, int top);

static void network(walk_t *w, const term_t *t, const char *domain)
{
    const char *slash = strchr(t->arg, '/');
    ssd_ip_t ip;

    if (ssd_ip_parse(slash ? apr_pstrmemdup(w->p, t->arg,
                                            (apr_size_t)(slash - t->arg))
                           : t->arg, &ip)
        && ip.family == (t->name[2] == '6' ? 6 : 4)) {
        add(w, &ip, t->text, domain);
    }
}

/* One mechanism with the pass qualifier. */
static void mechanism(walk_t *w, const term_t *t, const char *domain)
{
    const char *n = t->name, *name;

    if (!strcmp(n, "ip4") || !strcmp(n, "ip6")) {
        network(w, t, domain);
        return;
    }
    if (++w->terms > SSD_SPF_MAX_DNS_TERMS
        || !(name = target(w, t->arg, domain))) {
        return;
    }
    if (!strcmp(n, "a")) {
        add_host(w, name, t, domain);
    }
    else if (!strcmp(n, "mx")) {
        add_mx(w, name, t, domain);
    }
    else if (!strcmp(n, "include")) {
        walk(w, name, 0);
    }
}

static void terms(walk_t *w, const apr_array_header_t *terms,
                  const char *domain)
{
    const term_t *t = (const term_t *)terms->elts, *redirect = NULL;
    const char *name;
    int i;

    for (i = 0; i < terms->nelts && !stopped(w); i++) {
        if (t[i].modifier) {
            redirect = strcmp(t[i].name, "redirect") ? redirect : &t[i];
        }
        else if (!strcmp(t[i].name, "all")) {
            return;
        }
        else if (t[i].qual == '+') {
            mechanism(w, &t[i], domain);
        }
        else if (strcmp(t[i].name, "ip4") && strcmp(t[i].name, "ip6")) {
            w->terms++;
        }
    }
    if (redirect && !stopped(w) && ++w->terms <= SSD_SPF_MAX_DNS_TERMS
        && (name = target(w, redirect->arg, domain))) {
        walk(w, name, 0);
    }
}

/* The record at domain; at the top, why it gives nothing is recorded. */
static void walk(walk_t *w, const char *domain, int top)
{
    ssd_txt_answer_t a;
    apr_array_header_t *parsed = NULL;
    const ssd_txt_t *rec = NULL, *t;
    const char *msg = NULL;
    int i, n = 0;

    memset(&a, 0, sizeof(a));
    w->lk->txt(w->lk->baton, w->p, domain, &a);
    if (!usable(w, a.rc, domain) && w->out->rc == SSD_DNS_OK) {
        msg = apr_psprintf(w->p, "%s has no TXT record (%s)", domain,
                           ssd_dns_rc_name(a.rc));
    }
    for (i = 0; !msg && a.rc == SSD_DNS_OK && i < a.txts->nelts; i++) {
        t = &APR_ARRAY_IDX(a.txts, i, ssd_txt_t);
        if (ssd_spf_is_record(t->data, t->len)) {
            rec = rec ? rec : t;
            n++;
        }
    }
    if (!msg && a.rc == SSD_DNS_OK && n != 1) {
        msg = apr_psprintf(w->p, "%d SPF records are published at %s", n,
                           domain);
    }
    if (!msg && rec && (msg = ssd_spf_parse_txt(w->p, rec->data, rec->len,
                                                &parsed))) {
        msg = apr_psprintf(w->p, "the SPF record at %s is invalid: %s",
                           domain, msg);
    }
    if (msg && top) {
        w->out->error = msg;
        w->out->error_name = domain;
    }
    if (!msg && parsed) {
        terms(w, parsed, domain);
    }
}

void ssd_spf_sources(apr_pool_t *p, const ssd_spf_lookup_t *lk,
                     const char *domain, const char *sender,
                     const char *helo, int max, ssd_spf_sources_t *out)
{
    const char *at = sender ? strrchr(sender, '@') : NULL;
    walk_t w;

    memset(out, 0, sizeof(*out));
    out->sources = apr_array_make(p, 4, sizeof(ssd_spf_source_t));
    out->rc = SSD_DNS_OK;
    memset(&w, 0, sizeof(w));
    w.p = p;
    w.lk = lk;
    w.out = out;
    w.max = max;
    w.m.o = at ? at + 1 : domain;
    w.m.h = helo ? helo : "unknown";
    w.m.v = "in-addr";
    walk(&w, domain, 1);
}
