/* ssd_dns: ldns lookups for one verification thread.
 *
 * Choices (see also ssd_dns.h):
 * - One ldns resolver per nameserver, each with one try (retry 1), RD set,
 *   no search list, no randomising. Before every attempt the server's RTT
 *   is reset: ldns marks a server unreachable after one timeout and would
 *   fail every later query at once ("no valid nameservers"); we keep our
 *   own count and only move a server that timed out to the back.
 * - EDNS0 with a 1232-byte UDP size. ldns's own TC fallback is off: on TC
 *   we retry over TCP ourselves, under the same deadline, so that a failed
 *   TCP retry is reported as TRUNCATED rather than as a timeout.
 * - The reply must carry the query's id and question (ldns does not check).
 * - All ldns objects are freed before returning, the resolvers by a
 *   cleanup on the pool given to ssd_dns_new. */
#include "ssd_dns.h"
#include "ssd_metrics.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <ldns/ldns.h>

#define EDNS_UDP_SIZE 1232
#define DEFAULT_QUERY_TIMEOUT apr_time_from_sec(2)

typedef struct {
    ldns_resolver *res;     /* exactly one nameserver */
    int timeouts;           /* in this verification */
    unsigned asked;         /* the query (ssd_dns.queries) last sent */
} dns_server_t;

struct ssd_dns {
    apr_pool_t *pool;
    const ssd_log_t *log;
    apr_array_header_t *servers;    /* dns_server_t */
    apr_interval_time_t query_timeout;
    apr_time_t deadline;
    unsigned queries;               /* queries started */
};

/* One lookup with CNAME chasing. */
typedef struct {
    ssd_dns_t *d;
    apr_pool_t *p;
    ldns_rr_type type;
    ssd_txt_answer_t *out;
    apr_array_header_t *seen;       /* lower-case names already visited */
    int found;                      /* RRs of type at the final name */
    ssd_rr_answer_t *rr;            /* ssd_dns_rr: where the RRs go */
} chase_t;

/* Internal result of one answer: the chain leaves it, query the target. */
#define CHASE_ON ((ssd_dns_rc)-1)

static apr_status_t servers_cleanup(void *data)
{
    ssd_dns_t *d = data;
    dns_server_t *s = (dns_server_t *)d->servers->elts;
    int i;

    for (i = 0; i < d->servers->nelts; i++) {
        if (s[i].res) {
            ldns_resolver_deep_free(s[i].res);
            s[i].res = NULL;
        }
    }
    return APR_SUCCESS;
}

static ldns_rdf *address_rdf(apr_pool_t *p, const char *host)
{
    apr_size_t len = strlen(host);
    ldns_rdf *a;

    if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
        host = apr_pstrmemdup(p, host + 1, len - 2);
    }
    a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, host);
    if (!a && strchr(host, ':')) {
        a = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, host);
    }
    return a;
}

static int add_server(ssd_dns_t *d, const ldns_rdf *addr, apr_port_t port)
{
    ldns_resolver *res = ldns_resolver_new();
    dns_server_t *s;

    if (!res || ldns_resolver_push_nameserver(res, addr) != LDNS_STATUS_OK) {
        if (res) {
            ldns_resolver_deep_free(res);
        }
        return 0;
    }
    ldns_resolver_set_port(res, port ? port : LDNS_PORT);
    ldns_resolver_set_retry(res, 1);
    ldns_resolver_set_retrans(res, 0);
    ldns_resolver_set_recursive(res, true);
    ldns_resolver_set_fallback(res, false);
    ldns_resolver_set_random(res, false);
    ldns_resolver_set_dnsrch(res, false);
    ldns_resolver_set_defnames(res, false);
    ldns_resolver_set_edns_udp_size(res, EDNS_UDP_SIZE);
    s = apr_array_push(d->servers);
    s->res = res;
    s->timeouts = 0;
    s->asked = 0;
    return 1;
}

static const char *add_configured(ssd_dns_t *d, const ssd_nameserver_t *ns)
{
    ldns_rdf *addr = address_rdf(d->pool, ns->host ? ns->host : "");
    int ok;

    if (!addr) {
        return apr_psprintf(d->pool, "nameserver '%s' is not an IPv4 or "
                            "IPv6 address", ns->host ? ns->host : "");
    }
    ok = add_server(d, addr, ns->port);
    ldns_rdf_deep_free(addr);
    return ok ? NULL : "out of memory creating an ldns resolver";
}

static const char *add_from_resolv_conf(ssd_dns_t *d, const char *path)
{
    ldns_resolver *rc = NULL;
    ldns_status st = ldns_resolver_new_frm_file(&rc, path);
    const char *file = path ? path : "/etc/resolv.conf";
    size_t i, n;

    if (st != LDNS_STATUS_OK) {
        return apr_psprintf(d->pool, "cannot use %s: %s", file,
                            ldns_get_errorstr_by_id(st));
    }
    n = ldns_resolver_nameserver_count(rc);
    for (i = 0; i < n; i++) {
        if (!add_server(d, ldns_resolver_nameservers(rc)[i], LDNS_PORT)) {
            break;
        }
    }
    ldns_resolver_deep_free(rc);
    if (d->servers->nelts == 0) {
        return apr_psprintf(d->pool, "no usable nameserver in %s", file);
    }
    return NULL;
}

ssd_dns_t *ssd_dns_new(apr_pool_t *p, const ssd_dns_config_t *cfg,
                       const char **err)
{
    ssd_dns_t *d = apr_pcalloc(p, sizeof(*d));
    const apr_array_header_t *ns = cfg->nameservers;
    const char *msg = NULL;
    int i;

    d->pool = p;
    d->servers = apr_array_make(p, 4, sizeof(dns_server_t));
    d->query_timeout = cfg->query_timeout > 0 ? cfg->query_timeout
                                              : DEFAULT_QUERY_TIMEOUT;
    d->deadline = cfg->deadline;
    d->log = cfg->log;
    apr_pool_cleanup_register(p, d, servers_cleanup, apr_pool_cleanup_null);
    if (ns && ns->nelts > 0) {
        for (i = 0; i < ns->nelts && !msg; i++) {
            msg = add_configured(d, &APR_ARRAY_IDX(ns, i, ssd_nameserver_t));
        }
    }
    else {
        msg = add_from_resolv_conf(d, cfg->resolv_conf);
    }
    if (msg) {
        *err = msg;
        return NULL;
    }
    return d;
}

int ssd_dns_server_count(const ssd_dns_t *d)
{
    return d->servers->nelts;
}

int ssd_dns_is_temporary(ssd_dns_rc rc)
{
    return rc == SSD_DNS_TIMEOUT || rc == SSD_DNS_SERVFAIL
           || rc == SSD_DNS_REFUSED || rc == SSD_DNS_TRUNCATED
           || rc == SSD_DNS_ERROR;
}

const char *ssd_dns_rc_name(ssd_dns_rc rc)
{
    static const char *const names[] = {
        "ok", "nxdomain", "nodata", "timeout", "servfail", "refused",
        "truncated", "cname_loop", "error"
    };

    if ((int)rc < 0 || rc > SSD_DNS_ERROR) {
        return "error";
    }
    return names[rc];
}

/* ---- one exchange with one server ---- */

/* min(query_timeout, deadline - now); 0 when the deadline has passed. */
static int attempt_timeout(const ssd_dns_t *d, struct timeval *tv)
{
    apr_interval_time_t t = d->query_timeout;

    if (d->deadline) {
        apr_interval_time_t left = d->deadline - apr_time_now();

        if (left <= 0) {
            return 0;
        }
        if (left < t) {
            t = left;
        }
    }
    tv->tv_sec = (time_t)apr_time_sec(t);
    tv->tv_usec = (suseconds_t)apr_time_usec(t);
    return 1;
}

static int reply_matches(const ldns_pkt *q, const ldns_pkt *a)
{
    const ldns_rr *qq, *aq;

    if (ldns_pkt_id(q) != ldns_pkt_id(a) || !ldns_pkt_qr(a)) {
        return 0;
    }
    if (ldns_pkt_qdcount(a) == 0) {
        return ldns_pkt_get_rcode(a) != LDNS_RCODE_NOERROR;
    }
    qq = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    aq = ldns_rr_list_rr(ldns_pkt_question(a), 0);
    return aq && ldns_rr_get_type(aq) == ldns_rr_get_type(qq)
           && ldns_dname_compare(ldns_rr_owner(aq), ldns_rr_owner(qq)) == 0;
}

/* Map a failed ldns_send: socket, network and "no valid nameserver"
 * errors mean nothing came back in time. */
static ssd_dns_rc send_failure(ldns_status st)
{
    switch (st) {
    case LDNS_STATUS_NETWORK_ERR:
    case LDNS_STATUS_SOCKET_ERROR:
    case LDNS_STATUS_RES_NO_NS:
    case LDNS_STATUS_ERR:           /* TCP connect failed */
        return SSD_DNS_TIMEOUT;
    default:
        return SSD_DNS_ERROR;       /* e.g. a reply that does not parse */
    }
}

/* One DEBUG line per exchange: what was asked of whom, and the answer. */
static void log_exchange(const ssd_dns_t *d, const dns_server_t *s,
                         const ldns_pkt *q, int tcp, const ldns_pkt *a,
                         ldns_status st, apr_time_t started)
{
    const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    char *name, *type, *server;

    if (!d->log || d->log->max_level < SSD_LOG_DEBUG || !qr) {
        return;
    }
    name = ldns_rdf2str(ldns_rr_owner(qr));
    type = ldns_rr_type2str(ldns_rr_get_type(qr));
    server = ldns_rdf2str(ldns_resolver_nameservers(s->res)[0]);
    ssd_logf(d->log, SSD_LOG_DEBUG, 410, "DNS %s %s to %s port %u over %s: "
             "%s, %u answers%s, %" APR_TIME_T_FMT " ms", type ? type : "?",
             name ? name : "?", server ? server : "?",
             (unsigned)ldns_resolver_port(s->res), tcp ? "TCP" : "UDP",
             a ? ldns_pkt_rcode2str(ldns_pkt_get_rcode(a))
               : ldns_get_errorstr_by_id(st),
             a ? (unsigned)ldns_pkt_ancount(a) : 0,
             a && ldns_pkt_tc(a) ? " (truncated)" : "",
             apr_time_as_msec(apr_time_now() - started));
    free(name);
    free(type);
    free(server);
}

static ssd_dns_rc exchange(ssd_dns_t *d, dns_server_t *s, ldns_pkt *q,
                           int tcp, ldns_pkt **ans)
{
    struct timeval tv;
    ldns_status st;
    apr_time_t started = apr_time_now();

    *ans = NULL;
    if (!attempt_timeout(d, &tv)) {
        return SSD_DNS_TIMEOUT;
    }
    ldns_resolver_set_timeout(s->res, tv);
    ldns_resolver_set_usevc(s->res, tcp ? true : false);
    ldns_resolver_set_nameserver_rtt(s->res, 0, LDNS_RESOLV_RTT_MIN);
    st = ldns_send(ans, s->res, q);
    log_exchange(d, s, q, tcp, *ans, st, started);
    if (st == LDNS_STATUS_OK && *ans && reply_matches(q, *ans)) {
        return SSD_DNS_OK;
    }
    if (*ans) {
        ldns_pkt_free(*ans);
        *ans = NULL;
    }
    return st == LDNS_STATUS_OK ? SSD_DNS_ERROR : send_failure(st);
}

/* UDP, then TCP when the UDP answer is truncated. */
static ssd_dns_rc server_query(ssd_dns_t *d, dns_server_t *s, ldns_pkt *q,
                               ldns_pkt **ans)
{
    ssd_dns_rc rc = exchange(d, s, q, 0, ans);
    struct timeval tv;

    if (rc != SSD_DNS_OK || !ldns_pkt_tc(*ans)) {
        return rc;
    }
    ldns_pkt_free(*ans);
    if (!attempt_timeout(d, &tv)) {
        *ans = NULL;
        return SSD_DNS_TIMEOUT;
    }
    rc = exchange(d, s, q, 1, ans);
    if (rc == SSD_DNS_OK && !ldns_pkt_tc(*ans)) {
        return SSD_DNS_OK;
    }
    if (*ans) {
        ldns_pkt_free(*ans);
        *ans = NULL;
    }
    return SSD_DNS_TRUNCATED;
}

static ssd_dns_rc rcode_rc(const ldns_pkt *a)
{
    switch (ldns_pkt_get_rcode(a)) {
    case LDNS_RCODE_NOERROR:
    case LDNS_RCODE_NXDOMAIN:
        return SSD_DNS_OK;
    case LDNS_RCODE_SERVFAIL:
        return SSD_DNS_SERVFAIL;
    case LDNS_RCODE_REFUSED:
        return SSD_DNS_REFUSED;
    default:
        return SSD_DNS_ERROR;
    }
}

/* Ask one server; a SERVFAIL/REFUSED/other rcode counts as no answer. */
static ssd_dns_rc ask(ssd_dns_t *d, dns_server_t *s, ldns_pkt *q,
                      ldns_pkt **ans)
{
    ssd_dns_rc rc = server_query(d, s, q, ans);

    if (rc == SSD_DNS_TIMEOUT) {
        s->timeouts++;
    }
    if (rc != SSD_DNS_OK) {
        ssd_metric_count(SSD_METRIC_DNS, rc);
        return rc;
    }
    rc = rcode_rc(*ans);
    ssd_metric_count(SSD_METRIC_DNS, rc == SSD_DNS_OK
                     && ldns_pkt_get_rcode(*ans) == LDNS_RCODE_NXDOMAIN
                     ? SSD_DNS_NXDOMAIN : rc);
    if (rc != SSD_DNS_OK) {
        ldns_pkt_free(*ans);
        *ans = NULL;
    }
    return rc;
}

/* Servers without earlier timeouts first, in configured order, then the
 * others; each server once per query. Stops at the first NOERROR/NXDOMAIN
 * answer or at the deadline. The most telling failure is kept: any answer
 * or TC beats a timeout. */
static ssd_dns_rc ask_all(ssd_dns_t *d, ldns_pkt *q, ldns_pkt **ans)
{
    dns_server_t *s = (dns_server_t *)d->servers->elts;
    ssd_dns_rc rc, best = SSD_DNS_TIMEOUT;
    unsigned seq = ++d->queries;
    struct timeval tv;
    int pass, i;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < d->servers->nelts; i++) {
            if (s[i].asked == seq || (s[i].timeouts > 0) != pass) {
                continue;
            }
            if (!attempt_timeout(d, &tv)) {
                return best;
            }
            s[i].asked = seq;
            rc = ask(d, &s[i], q, ans);
            if (rc == SSD_DNS_OK) {
                return rc;
            }
            if (best == SSD_DNS_TIMEOUT) {
                best = rc;
            }
        }
    }
    return best;
}

static ssd_dns_rc query(ssd_dns_t *d, const ldns_rdf *name,
                        ldns_rr_type type, ldns_pkt **ans)
{
    ldns_pkt *q = ldns_pkt_query_new(ldns_rdf_clone(name), type,
                                     LDNS_RR_CLASS_IN, LDNS_RD);
    ssd_dns_rc rc;

    *ans = NULL;
    if (!q) {
        return SSD_DNS_ERROR;
    }
    ldns_pkt_set_edns_udp_size(q, EDNS_UDP_SIZE);
    ldns_pkt_set_random_id(q);
    rc = ask_all(d, q, ans);
    ldns_pkt_free(q);
    return rc;
}

/* ---- reading answers ---- */

/* Name as text, no trailing dot (the root stays "."); in p. */
static const char *dname_text(apr_pool_t *p, const ldns_rdf *name)
{
    char *s = ldns_rdf2str(name);
    char *out;
    apr_size_t len;

    if (!s) {
        return "";
    }
    len = strlen(s);
    if (len > 1 && s[len - 1] == '.') {
        len--;
    }
    out = apr_pstrmemdup(p, s, len);
    free(s);
    return out;
}

/* The raw bytes of one TXT RR: its character-strings, no separator. */
static void push_txt(apr_pool_t *p, apr_array_header_t *txts,
                     const ldns_rr *rr)
{
    ssd_txt_t *t = apr_array_push(txts);
    size_t i, total = 0, n = ldns_rr_rd_count(rr);
    char *buf;

    for (i = 0; i < n; i++) {
        total += ldns_rdf_size(ldns_rr_rdf(rr, i));
    }
    buf = apr_palloc(p, total + 1);
    t->len = 0;
    for (i = 0; i < n; i++) {
        const ldns_rdf *f = ldns_rr_rdf(rr, i);
        const uint8_t *b = ldns_rdf_data(f);
        size_t sz = ldns_rdf_size(f), l = sz ? b[0] : 0;

        if (sz > 0 && l <= sz - 1) {
            memcpy(buf + t->len, b + 1, l);
            t->len += l;
        }
    }
    buf[t->len] = '\0';
    t->data = buf;
}

static void push_rr(chase_t *c, const ldns_rr *rr);

/* Count (and for TXT, or for ssd_dns_rr, keep) the RRs of c->type owned
 * by name. */
static void collect(chase_t *c, const ldns_rr_list *an, const ldns_rdf *name)
{
    size_t i;

    for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);

        if (ldns_rr_get_type(rr) != c->type
            || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN
            || ldns_dname_compare(ldns_rr_owner(rr), name) != 0) {
            continue;
        }
        c->found++;
        if (c->type == LDNS_RR_TYPE_TXT) {
            push_txt(c->p, c->out->txts, rr);
        }
        else if (c->rr) {
            push_rr(c, rr);
        }
    }
}

static const ldns_rdf *cname_target(const ldns_rr_list *an,
                                    const ldns_rdf *name)
{
    size_t i;

    for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);

        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME
            && ldns_rr_rd_count(rr) == 1
            && ldns_dname_compare(ldns_rr_owner(rr), name) == 0) {
            return ldns_rr_rdf(rr, 0);
        }
    }
    return NULL;
}

static const char *lower_dup(apr_pool_t *p, const char *s)
{
    char *l = apr_pstrdup(p, s);
    char *q;

    for (q = l; *q; q++) {
        *q = (char)apr_tolower(*q);
    }
    return l;
}

/* Record a CNAME hop to target; 0 on a loop or a chain too long. */
static int hop(chase_t *c, const ldns_rdf *target)
{
    const char *t = dname_text(c->p, target);
    const char *lower = lower_dup(c->p, t);
    int i;

    for (i = 0; i < c->seen->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(c->seen, i, const char *), lower) == 0) {
            return 0;
        }
    }
    APR_ARRAY_PUSH(c->seen, const char *) = lower;
    c->out->final_name = t;
    return ++c->out->cnames <= SSD_DNS_MAX_CNAMES;
}

/* Follow the CNAME chain inside one answer from qname and collect the RRs
 * at its end. CHASE_ON: the chain leaves the answer with no data at its
 * end (an authoritative server does not follow CNAMEs out of its zones):
 * the caller queries out->final_name. */
static ssd_dns_rc read_answer(chase_t *c, const ldns_pkt *a,
                              const ldns_rdf *qname)
{
    const ldns_rr_list *an = ldns_pkt_answer(a);
    const ldns_rdf *cur = qname, *next;

    for (;;) {
        collect(c, an, cur);
        if (c->found > 0) {
            return SSD_DNS_OK;
        }
        next = cname_target(an, cur);
        if (!next) {
            break;
        }
        if (!hop(c, next)) {
            return SSD_DNS_CNAME_LOOP;
        }
        cur = next;
    }
    if (ldns_pkt_get_rcode(a) == LDNS_RCODE_NXDOMAIN) {
        return SSD_DNS_NXDOMAIN;
    }
    return cur == qname ? SSD_DNS_NODATA : CHASE_ON;
}

static ldns_rdf *absolute_dname(apr_pool_t *p, const char *name)
{
    apr_size_t len = strlen(name);

    if (len == 0 || strchr(name, ' ') || strchr(name, '\t')) {
        return NULL;
    }
    if (name[len - 1] != '.') {
        name = apr_pstrcat(p, name, ".", NULL);
    }
    return ldns_dname_new_frm_str(name);
}

static ssd_dns_rc chase_once(chase_t *c, const char *name)
{
    ldns_rdf *qname = absolute_dname(c->p, name);
    ldns_pkt *a = NULL;
    ssd_dns_rc rc;

    if (!qname) {
        return SSD_DNS_ERROR;
    }
    rc = query(c->d, qname, c->type, &a);
    if (rc == SSD_DNS_OK) {
        rc = read_answer(c, a, qname);
        ldns_pkt_free(a);
    }
    ldns_rdf_deep_free(qname);
    return rc;
}

static ssd_dns_rc chase(chase_t *c, const char *name)
{
    ssd_dns_rc rc;
    apr_size_t len = strlen(name);

    if (len > 1 && name[len - 1] == '.') {
        name = apr_pstrmemdup(c->p, name, len - 1);
    }
    c->seen = apr_array_make(c->p, 4, sizeof(const char *));
    APR_ARRAY_PUSH(c->seen, const char *) = lower_dup(c->p, name);
    c->out->final_name = name;
    c->out->cnames = 0;
    do {
        rc = chase_once(c, c->out->final_name);
    } while (rc == CHASE_ON);
    return rc;
}

ssd_dns_rc ssd_dns_txt(ssd_dns_t *d, apr_pool_t *p, const char *name,
                       ssd_txt_answer_t *out)
{
    chase_t c;

    memset(&c, 0, sizeof(c));
    c.d = d;
    c.p = p;
    c.type = LDNS_RR_TYPE_TXT;
    c.out = out;
    out->txts = apr_array_make(p, 2, sizeof(ssd_txt_t));
    out->rc = chase(&c, name ? name : "");
    if (out->rc != SSD_DNS_OK) {
        apr_array_clear(out->txts);
    }
    return out->rc;
}

ssd_dns_rc ssd_dns_exists(ssd_dns_t *d, const char *name, int rrtype)
{
    apr_pool_t *tmp;
    ssd_txt_answer_t out;
    chase_t c;
    ssd_dns_rc rc;

    if (apr_pool_create(&tmp, d->pool) != APR_SUCCESS) {
        return SSD_DNS_ERROR;
    }
    memset(&c, 0, sizeof(c));
    c.d = d;
    c.p = tmp;
    c.type = (ldns_rr_type)rrtype;
    c.out = &out;
    out.txts = apr_array_make(tmp, 1, sizeof(ssd_txt_t));
    rc = chase(&c, name ? name : "");
    apr_pool_destroy(tmp);
    return rc;
}

ssd_dns_rc ssd_dns_fetch(void *baton, apr_pool_t *p, const char *name,
                         ssd_txt_answer_t *out)
{
    return ssd_dns_txt((ssd_dns_t *)baton, p, name, out);
}

ssd_dns_rc ssd_dns_txt_from_wire(apr_pool_t *p, const unsigned char *wire,
                                 apr_size_t len, const char *name,
                                 ssd_txt_answer_t *out)
{
    apr_size_t n = strlen(name ? name : "");
    ldns_rdf *qname;
    ldns_pkt *a = NULL;
    chase_t c;

    memset(&c, 0, sizeof(c));
    c.p = p;
    c.type = LDNS_RR_TYPE_TXT;
    c.out = out;
    out->txts = apr_array_make(p, 2, sizeof(ssd_txt_t));
    out->final_name = apr_pstrmemdup(p, name ? name : "",
                                     n - (n > 1 && name[n - 1] == '.'));
    out->cnames = 0;
    c.seen = apr_array_make(p, 4, sizeof(const char *));
    APR_ARRAY_PUSH(c.seen, const char *) = lower_dup(p, out->final_name);
    out->rc = SSD_DNS_ERROR;
    qname = absolute_dname(p, out->final_name);
    if (qname && ldns_wire2pkt(&a, wire, len) == LDNS_STATUS_OK) {
        out->rc = rcode_rc(a);
        if (out->rc == SSD_DNS_OK) {
            out->rc = read_answer(&c, a, qname);
        }
        out->rc = out->rc == CHASE_ON ? SSD_DNS_NODATA : out->rc;
    }
    if (a) {
        ldns_pkt_free(a);
    }
    if (qname) {
        ldns_rdf_deep_free(qname);
    }
    if (out->rc != SSD_DNS_OK) {
        apr_array_clear(out->txts);
    }
    return out->rc;
}

/* ---- A, AAAA, MX and PTR (ssd_dns_rr) ---- */

/* The address or name of one RR of c->type into c->rr. */
static void push_rr(chase_t *c, const ldns_rr *rr)
{
    const ldns_rdf *f;
    ssd_ip_t *ip;
    apr_size_t n;

    f = ldns_rr_rdf(rr, c->type == LDNS_RR_TYPE_MX ? 1 : 0);
    if (!f) {
        return;
    }
    if (c->type == LDNS_RR_TYPE_MX || c->type == LDNS_RR_TYPE_PTR) {
        APR_ARRAY_PUSH(c->rr->names, const char *) = dname_text(c->p, f);
        return;
    }
    n = c->type == LDNS_RR_TYPE_A ? 4 : 16;
    if (ldns_rdf_size(f) != n) {
        return;
    }
    ip = apr_array_push(c->rr->ips);
    memset(ip, 0, sizeof(*ip));
    ip->family = n == 4 ? 4 : 6;
    memcpy(ip->addr, ldns_rdf_data(f), n);
}

static int rr_type_ok(int rrtype)
{
    return rrtype == LDNS_RR_TYPE_A || rrtype == LDNS_RR_TYPE_AAAA
           || rrtype == LDNS_RR_TYPE_MX || rrtype == LDNS_RR_TYPE_PTR;
}

ssd_dns_rc ssd_dns_rr(ssd_dns_t *d, apr_pool_t *p, const char *name,
                      int rrtype, ssd_rr_answer_t *out)
{
    ssd_txt_answer_t track;
    chase_t c;

    memset(out, 0, sizeof(*out));
    memset(&track, 0, sizeof(track));
    out->ips = apr_array_make(p, 4, sizeof(ssd_ip_t));
    out->names = apr_array_make(p, 4, sizeof(const char *));
    out->final_name = name ? name : "";
    if (!rr_type_ok(rrtype)) {
        return out->rc = SSD_DNS_ERROR;
    }
    memset(&c, 0, sizeof(c));
    c.d = d;
    c.p = p;
    c.type = (ldns_rr_type)rrtype;
    c.out = &track;
    c.rr = out;
    track.txts = apr_array_make(p, 1, sizeof(ssd_txt_t));
    out->rc = chase(&c, name ? name : "");
    out->final_name = track.final_name;
    out->cnames = track.cnames;
    if (out->rc != SSD_DNS_OK) {
        apr_array_clear(out->ips);
        apr_array_clear(out->names);
    }
    return out->rc;
}

ssd_dns_rc ssd_dns_fetch_a(void *baton, apr_pool_t *p, const char *name,
                           ssd_rr_answer_t *out)
{
    return ssd_dns_rr((ssd_dns_t *)baton, p, name, LDNS_RR_TYPE_A, out);
}

ssd_dns_rc ssd_dns_fetch_aaaa(void *baton, apr_pool_t *p, const char *name,
                              ssd_rr_answer_t *out)
{
    return ssd_dns_rr((ssd_dns_t *)baton, p, name, LDNS_RR_TYPE_AAAA, out);
}

ssd_dns_rc ssd_dns_fetch_mx(void *baton, apr_pool_t *p, const char *name,
                            ssd_rr_answer_t *out)
{
    return ssd_dns_rr((ssd_dns_t *)baton, p, name, LDNS_RR_TYPE_MX, out);
}

ssd_dns_rc ssd_dns_fetch_ptr(void *baton, apr_pool_t *p, const char *name,
                             ssd_rr_answer_t *out)
{
    return ssd_dns_rr((ssd_dns_t *)baton, p, name, LDNS_RR_TYPE_PTR, out);
}

/* ---- for the authoritative view (ssd_authority) ---- */

ssd_dns_rc ssd_dns_query_wire(ssd_dns_t *d, apr_pool_t *p, const char *name,
                              int rrtype, const unsigned char **wire,
                              apr_size_t *len)
{
    ldns_rdf *qname = absolute_dname(p, name ? name : "");
    ldns_pkt *a = NULL;
    uint8_t *buf = NULL;
    size_t n = 0;
    ssd_dns_rc rc;

    *wire = NULL;
    *len = 0;
    if (!qname) {
        return SSD_DNS_ERROR;
    }
    rc = query(d, qname, (ldns_rr_type)rrtype, &a);
    ldns_rdf_deep_free(qname);
    if (rc != SSD_DNS_OK) {
        return rc;
    }
    if (ldns_pkt2wire(&buf, a, &n) == LDNS_STATUS_OK && buf) {
        *wire = apr_pmemdup(p, buf, n);
        *len = n;
    }
    else {
        rc = SSD_DNS_ERROR;
    }
    free(buf);
    ldns_pkt_free(a);
    return rc;
}

int ssd_dns_answering(const ssd_dns_t *d)
{
    const dns_server_t *s = (const dns_server_t *)d->servers->elts;
    int i, n = 0;

    for (i = 0; i < d->servers->nelts; i++) {
        n += s[i].timeouts == 0;
    }
    return n;
}

apr_time_t ssd_dns_set_deadline(ssd_dns_t *d, apr_time_t deadline)
{
    apr_time_t old = d->deadline;

    d->deadline = deadline;
    return old;
}
