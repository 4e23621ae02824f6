/* ssd_authority: the authoritative view of one check (see the header).
 *
 * Resolver lookups, one after the other on the check's own ssd_dns_t:
 * "host SOA" (then its parents, at most SSD_AUTH_MAX_WALK, when a reply
 * names no enclosing zone), "zone NS", and "name A" + "name AAAA" for each
 * NS name kept. The view stops at the first of them that fails: the note
 * says which. Then one batch of direct queries (ssd_authority_net), two
 * per address -- "host TXT" and "zone SOA" -- awaited together.
 *
 * Time: the whole view, resolver lookups included, ends one query
 * timeout (ScaiSendDNSTimeout) after it starts, or at the verification's
 * deadline when that comes first: a view adds at most one query timeout
 * to its check, whatever the resolver and the servers do.
 *
 * Addresses: per NS name at most SSD_AUTH_MAX_ADDRS, taken alternately
 * from its A and AAAA records (so one of each when it has both). An
 * address that this machine has no route to (no IPv6, say) is left out
 * when another address of that name was asked. */
#include "ssd_authority.h"
#include "ssd_authority_net.h"
#include "ssd_authority_wire.h"
#include "ssd_spf.h"

#include <string.h>
#include <apr_strings.h>

#define DEFAULT_QUERY_TIMEOUT apr_time_from_sec(2)

typedef struct {
    apr_pool_t *p;
    ssd_dns_t *dns;
    const ssd_authority_input_t *in;
    apr_time_t end;             /* of the view */
    ssd_authority_view_t *v;
    const char *spf;            /* the resolver's SPF record, once asked */
    int spf_asked;
} view_t;

static int stop(view_t *w, const char *what, const char *name, ssd_dns_rc rc)
{
    w->v->note = apr_psprintf(w->p, "the authoritative nameservers were not "
                              "asked: the %s lookup of %s through the "
                              "resolver gave %s", what, name,
                              ssd_dns_rc_name(rc));
    return 0;
}

static ssd_dns_rc lookup(view_t *w, const char *name, int type,
                         const unsigned char **wire, apr_size_t *len)
{
    if (ssd_dns_answering(w->dns) == 0) {
        return SSD_DNS_TIMEOUT;
    }
    return ssd_dns_query_wire(w->dns, w->p, name, type, wire, len);
}

/* ---- through the resolver: zone, NS names, addresses ---- */

static const char *find_zone(view_t *w)
{
    const char *name = w->in->host, *zone;
    const unsigned char *wire;
    apr_size_t len;
    ssd_dns_rc rc;
    int i;

    for (i = 0; name && i < SSD_AUTH_MAX_WALK; i++) {
        if ((rc = lookup(w, name, SSD_AUTH_TYPE_SOA, &wire, &len))
            != SSD_DNS_OK) {
            stop(w, "SOA", name, rc);
            return NULL;
        }
        zone = ssd_auth_zone_from_reply(w->p, wire, len, name);
        if (zone) {
            return strcmp(zone, ".") ? zone : NULL;
        }
        name = ssd_auth_parent(name);
    }
    w->v->note = apr_psprintf(w->p, "the authoritative nameservers were not "
                              "asked: no zone above %s was found", w->in->host);
    return NULL;
}

static apr_array_header_t *find_ns(view_t *w, const char *zone)
{
    const unsigned char *wire;
    apr_size_t len;
    ssd_dns_rc rc = lookup(w, zone, SSD_AUTH_TYPE_NS, &wire, &len);
    apr_array_header_t *ns;

    if (rc != SSD_DNS_OK) {
        stop(w, "NS", zone, rc);
        return NULL;
    }
    ns = ssd_auth_ns_from_reply(w->p, wire, len, zone, SSD_AUTH_MAX_NS);
    if (ns->nelts == 0) {
        w->v->note = apr_psprintf(w->p, "the authoritative nameservers were "
                                  "not asked: the resolver gave no NS "
                                  "records for the zone %s", zone);
        return NULL;
    }
    return ns;
}

/* The addresses of name of one type; *why says what the lookup gave. */
static apr_array_header_t *addresses(view_t *w, const char *name, int type,
                                     const char **why)
{
    const unsigned char *wire;
    apr_size_t len;
    ssd_dns_rc rc = lookup(w, name, type, &wire, &len);
    apr_array_header_t *a = rc == SSD_DNS_OK
        ? ssd_auth_addrs_from_reply(w->p, wire, len, name, type,
                                    SSD_AUTH_MAX_ADDRS)
        : apr_array_make(w->p, 1, sizeof(const char *));

    *why = rc == SSD_DNS_OK ? "none" : ssd_dns_rc_name(rc);
    return a;
}

static ssd_auth_server_t *add_server(view_t *w, const char *name,
                                     const char *address)
{
    ssd_auth_server_t *s = apr_array_push(w->v->servers);

    memset(s, 0, sizeof(*s));
    s->name = name;
    s->address = address;
    s->result = SSD_AUTH_ERROR;
    s->reason = "not asked";
    return s;
}

static void add_name(view_t *w, const char *name)
{
    const char *why4, *why6;
    apr_array_header_t *v4 = addresses(w, name, SSD_AUTH_TYPE_A, &why4);
    apr_array_header_t *v6 = addresses(w, name, SSD_AUTH_TYPE_AAAA, &why6);
    int i, n = 0;

    for (i = 0; n < SSD_AUTH_MAX_ADDRS && (i < v4->nelts || i < v6->nelts);
         i++) {
        if (i < v4->nelts) {
            add_server(w, name, APR_ARRAY_IDX(v4, i, const char *));
            n++;
        }
        if (i < v6->nelts && n < SSD_AUTH_MAX_ADDRS) {
            add_server(w, name, APR_ARRAY_IDX(v6, i, const char *));
            n++;
        }
    }
    if (n == 0) {
        add_server(w, name, NULL)->reason = apr_psprintf(
            w->p, "no address (A: %s, AAAA: %s)", why4, why6);
    }
}

/* ---- asking each server ---- */

static const char *resolver_spf(void *baton)
{
    view_t *w = baton;
    ssd_txt_answer_t a;
    const ssd_txt_t *t;
    int i, n = 0;

    if (!w->spf_asked) {
        w->spf_asked = 1;
        if (ssd_dns_txt(w->dns, w->p, w->in->host, &a) == SSD_DNS_OK) {
            t = (const ssd_txt_t *)a.txts->elts;
            for (i = 0; i < a.txts->nelts; i++) {
                if (ssd_spf_is_record(t[i].data, t[i].len)) {
                    w->spf = n++ ? NULL : apr_pstrmemdup(w->p, t[i].data,
                                                         t[i].len);
                }
            }
        }
    }
    return w->spf;
}

static void prepare(view_t *w, ssd_auth_xchg_t *x, const ssd_auth_server_t *s,
                    const char *name, int type)
{
    memset(x, 0, sizeof(*x));
    x->fd = -1;
    x->address = s->address;
    x->port = w->in->dns->authoritative_port;
    x->query = s->address ? ssd_auth_query(w->p, name, type, &x->qlen) : NULL;
}

static void take_serial(view_t *w, ssd_auth_server_t *s,
                        const ssd_auth_xchg_t *x)
{
    if (x->rc == SSD_AUTH_NET_OK
        && !ssd_auth_reply_problem(w->p, x->reply, x->rlen, w->v->zone,
                                   SSD_AUTH_TYPE_SOA)) {
        s->has_serial = ssd_auth_soa_serial(w->p, x->reply, x->rlen,
                                            w->v->zone, &s->serial);
    }
}

/* A CNAME out of the server's zone: the rest through the resolver. */
static int follow(view_t *w, ssd_txt_answer_t *ans, ssd_auth_server_t *s)
{
    ssd_txt_answer_t next;
    int hops = ans->cnames;

    if (ssd_dns_is_temporary(ssd_dns_txt(w->dns, w->p, ans->final_name,
                                         &next))) {
        s->reason = apr_psprintf(w->p, "the CNAME target %.255s could not "
                                 "be looked up (%s)", ans->final_name,
                                 ssd_dns_rc_name(next.rc));
        return 0;
    }
    *ans = next;
    ans->cnames += hops;
    if (ans->cnames > SSD_DNS_MAX_CNAMES) {     /* the check's own bound */
        ans->rc = SSD_DNS_CNAME_LOOP;
        apr_array_clear(ans->txts);
    }
    return 1;
}

static void judge(view_t *w, ssd_auth_server_t *s, const ssd_auth_xchg_t *txt,
                  const ssd_auth_xchg_t *soa)
{
    ssd_txt_answer_t ans;
    const char *why;

    if (!s->address) {
        return;                         /* error: no address */
    }
    take_serial(w, s, soa);
    if (txt->rc != SSD_AUTH_NET_OK) {
        s->reason = ssd_auth_net_rc_text(txt->rc);
        return;
    }
    why = ssd_auth_reply_problem(w->p, txt->reply, txt->rlen, w->in->host,
                                 SSD_AUTH_TYPE_TXT);
    if (why) {
        s->reason = why;
        return;
    }
    ssd_dns_txt_from_wire(w->p, txt->reply, txt->rlen, w->in->host, &ans);
    if (ans.rc == SSD_DNS_NODATA && ans.cnames > 0 && !follow(w, &ans, s)) {
        return;
    }
    ssd_authority_judge(w->p, w->in, &ans, resolver_spf, w, s);
}

static apr_time_t view_end(const ssd_dns_config_t *c)
{
    apr_time_t end = apr_time_now() + (c->query_timeout > 0
                                       ? c->query_timeout
                                       : DEFAULT_QUERY_TIMEOUT);

    return c->deadline && c->deadline < end ? c->deadline : end;
}

/* Drop the servers this machine has no route to when their name has
 * another address in the view. */
static void drop_unroutable(view_t *w, const ssd_auth_xchg_t *x)
{
    ssd_auth_server_t *s = (ssd_auth_server_t *)w->v->servers->elts;
    int i, j, n = 0, other;

    for (i = 0; i < w->v->servers->nelts; i++) {
        for (j = 0, other = 0; j < w->v->servers->nelts; j++) {
            other |= j != i && strcmp(s[j].name, s[i].name) == 0
                     && x[2 * j].rc != SSD_AUTH_NET_NO_ROUTE;
        }
        if (x[2 * i].rc != SSD_AUTH_NET_NO_ROUTE || !other) {
            s[n++] = s[i];
        }
    }
    w->v->servers->nelts = n;
}

static void ask_all(view_t *w)
{
    ssd_auth_server_t *s = (ssd_auth_server_t *)w->v->servers->elts;
    int i, n = w->v->servers->nelts;
    ssd_auth_xchg_t *x = apr_pcalloc(w->p, sizeof(*x) * (apr_size_t)(2 * n));

    for (i = 0; i < n; i++) {
        prepare(w, &x[2 * i], &s[i], w->in->host, SSD_AUTH_TYPE_TXT);
        prepare(w, &x[2 * i + 1], &s[i], w->v->zone, SSD_AUTH_TYPE_SOA);
    }
    ssd_auth_exchange(w->p, x, 2 * n, w->end);
    for (i = 0; i < n; i++) {
        judge(w, &s[i], &x[2 * i], &x[2 * i + 1]);
    }
    drop_unroutable(w, x);
}

static void log_view(const view_t *w, apr_time_t started)
{
    ssd_logf(w->in->dns->log, SSD_LOG_DEBUG, 411, "authoritative view of %s: "
             "zone %s, %s: %s (%" APR_TIME_T_FMT " ms)", w->in->host,
             w->v->zone ? w->v->zone : "(none)",
             ssd_propagation_name(w->v->propagation), w->v->note,
             apr_time_as_msec(apr_time_now() - started));
}

ssd_authority_view_t *ssd_authority_view(apr_pool_t *p, ssd_dns_t *resolver,
                                         const ssd_authority_input_t *in)
{
    view_t w;
    apr_array_header_t *ns = NULL;
    apr_time_t started = apr_time_now(), deadline = 0;
    int i;

    memset(&w, 0, sizeof(w));
    w.p = p;
    w.dns = resolver;
    w.in = in;
    w.end = view_end(in->dns);
    if (resolver) {
        deadline = ssd_dns_set_deadline(resolver, w.end);
    }
    w.v = apr_pcalloc(p, sizeof(*w.v));
    w.v->servers = apr_array_make(p, 4, sizeof(ssd_auth_server_t));
    if (!resolver || !in->host || ssd_dns_answering(resolver) == 0) {
        w.v->note = "the authoritative nameservers were not asked: the "
                    "resolver did not answer";
    }
    else if ((w.v->zone = find_zone(&w)) != NULL) {
        ns = find_ns(&w, w.v->zone);
    }
    for (i = 0; ns && i < ns->nelts; i++) {
        add_name(&w, APR_ARRAY_IDX(ns, i, const char *));
    }
    if (w.v->servers->nelts > 0) {
        ask_all(&w);
    }
    ssd_authority_summarise(p, w.v);
    log_view(&w, started);
    if (resolver) {
        ssd_dns_set_deadline(resolver, deadline);
    }
    return w.v;
}
