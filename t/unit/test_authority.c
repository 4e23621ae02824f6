/* Unit tests of the authoritative view's parts: the reply parsers
 * (ssd_authority_wire), the judgement of one server's RRset
 * (ssd_authority_judge), the sentence (ssd_authority_note) and the batch
 * of direct queries (ssd_authority_net) against sockets of this process:
 * one that answers from a thread, one that never answers, a closed port. */
#include "unit.h"
#include "ssd_authority.h"
#include "ssd_authority_net.h"
#include "ssd_authority_wire.h"
#include "ssd_json.h"
#include "ssd_verify.h"

#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <ldns/ldns.h>

#define KEY "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmAyzo/495YKzhlYzSsXRd" \
    "AZgg+zlCdk7MFaoZ95FFrxK5p1rnDmGDmTwocFAPGbeK+/NzLYMoP8N04I6ELdGQN+58H" \
    "N7aNiokeoiMqqA8UUY2TMy8rIMiyJiYftAo8kX8B8rSbQSkkD0ys7F57r6KFFAV0TXxA4" \
    "sIs3Cu1kXUw8mnFvblBh29mmu1AOxB9Bhd4kd7RXJ5gmlLNAgNWSaIL29o61mT6WvrKJW" \
    "EtRVHNc1+qdf/kKuf3c77acqQ7TN56e4Oog7uncw+5CoZy/+zj4saNt1IIOYesA9Xy+bL" \
    "+zdqNwLWTGt5exIYpLNT24YRD7y2OgWRUmkVeedrTQD4wIDAQAB"
/* the same key with one modulus byte changed */
#define OTHER_KEY "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmAyzp/495YKzhlYzSsXRd" \
    "AZgg+zlCdk7MFaoZ95FFrxK5p1rnDmGDmTwocFAPGbeK+/NzLYMoP8N04I6ELdGQN+58H" \
    "N7aNiokeoiMqqA8UUY2TMy8rIMiyJiYftAo8kX8B8rSbQSkkD0ys7F57r6KFFAV0TXxA4" \
    "sIs3Cu1kXUw8mnFvblBh29mmu1AOxB9Bhd4kd7RXJ5gmlLNAgNWSaIL29o61mT6WvrKJW" \
    "EtRVHNc1+qdf/kKuf3c77acqQ7TN56e4Oog7uncw+5CoZy/+zj4saNt1IIOYesA9Xy+bL" \
    "+zdqNwLWTGt5exIYpLNT24YRD7y2OgWRUmkVeedrTQD4wIDAQAB"

static apr_pool_t *pool;

/* A reply in wire format: question qname/qtype, flags, rcode, RRs of the
 * answer (an), authority (au) sections (NULL-terminated). */
static const unsigned char *reply(const char *qname, ldns_rr_type qtype,
                                  uint16_t flags, ldns_pkt_rcode rcode,
                                  const char *const *an,
                                  const char *const *au, apr_size_t *len)
{
    ldns_pkt *pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), qtype,
                                       LDNS_RR_CLASS_IN, flags);
    const char *const *lists[2] = {an, au};
    ldns_pkt_section sec[2] = {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY};
    uint8_t *wire = NULL;
    size_t n = 0;
    const unsigned char *out;
    ldns_rr *rr;
    int i;

    ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
    for (i = 0; i < 2; i++) {
        for (; lists[i] && *lists[i]; lists[i]++) {
            if (ldns_rr_new_frm_str(&rr, *lists[i], 60, NULL, NULL)
                == LDNS_STATUS_OK) {
                ldns_pkt_push_rr(pkt, sec[i], rr);
            }
        }
    }
    ldns_pkt2wire(&wire, pkt, &n);
    ldns_pkt_free(pkt);
    out = apr_pmemdup(pool, wire, n);
    free(wire);
    *len = n;
    return out;
}

static const char *item(const apr_array_header_t *a, int i)
{
    return i < a->nelts ? APR_ARRAY_IDX(a, i, const char *) : NULL;
}

#define SOA_RR(z, serial) z ". IN SOA ns1." z ". h." z ". " serial \
    " 3600 600 86400 60"
#define AA (LDNS_QR | LDNS_AA)

static void test_zone(void)
{
    static const char *const none[] = {NULL};
    static const char *const apex[] = {SOA_RR("example.com", "7"), NULL};
    static const char *const up[] = {SOA_RR("example.com", "7"), NULL};
    static const char *const away[] = {SOA_RR("elsewhere.net", "7"), NULL};
    apr_size_t n;
    const unsigned char *w;

    w = reply("example.com.", LDNS_RR_TYPE_SOA, AA, LDNS_RCODE_NOERROR, apex,
              none, &n);
    UNIT_STR_EQ(ssd_auth_zone_from_reply(pool, w, n, "Example.COM"),
                "example.com", "zone: the SOA of the name in the answer");
    w = reply("a.b.example.com.", LDNS_RR_TYPE_SOA, AA, LDNS_RCODE_NXDOMAIN,
              none, up, &n);
    UNIT_STR_EQ(ssd_auth_zone_from_reply(pool, w, n, "a.b.example.com"),
                "example.com", "zone: an ancestor's SOA in the authority");
    w = reply("x.example.com.", LDNS_RR_TYPE_SOA, AA, LDNS_RCODE_NOERROR,
              none, away, &n);
    UNIT_CHECK(!ssd_auth_zone_from_reply(pool, w, n, "x.example.com"),
               "zone: an SOA of another tree (a CNAME's target) is none");
    UNIT_CHECK(!ssd_auth_zone_from_reply(pool, w, 5, "x.example.com"),
               "zone: a cut reply is none");
    UNIT_STR_EQ(ssd_auth_parent("a.b.c"), "b.c", "parent of a.b.c");
    UNIT_CHECK(!ssd_auth_parent("com") && !ssd_auth_parent("com."),
               "no parent of a single label");
}

static void test_ns_addrs(void)
{
    static const char *const ns[] = {
        "example.com. IN NS NS2.example.com.",
        "example.com. IN NS ns1.example.com.",
        "example.com. IN NS ns1.example.com.",
        "other.com. IN NS ns9.other.com.",
        "example.com. IN NS ns0.example.net.", NULL};
    static const char *const a[] = {
        "ns1.example.com. IN CNAME host.example.net.",
        "host.example.net. IN A 192.0.2.9",
        "host.example.net. IN A 192.0.2.1",
        "host.example.net. IN A 192.0.2.5",
        "ns1.example.com. IN A 198.51.100.1", NULL};
    static const char *const none[] = {NULL};
    apr_array_header_t *l;
    apr_size_t n;
    const unsigned char *w;

    w = reply("example.com.", LDNS_RR_TYPE_NS, LDNS_QR, LDNS_RCODE_NOERROR,
              ns, none, &n);
    l = ssd_auth_ns_from_reply(pool, w, n, "example.com", 8);
    UNIT_CHECK(l->nelts == 3, "NS: three distinct names of the zone");
    UNIT_STR_EQ(item(l, 0), "ns0.example.net", "NS: sorted (1)");
    UNIT_STR_EQ(item(l, 1), "ns1.example.com", "NS: sorted (2)");
    UNIT_STR_EQ(item(l, 2), "ns2.example.com", "NS: lower case");
    l = ssd_auth_ns_from_reply(pool, w, n, "example.com", 2);
    UNIT_CHECK(l->nelts == 2, "NS: at most max");
    w = reply("ns1.example.com.", LDNS_RR_TYPE_A, LDNS_QR, LDNS_RCODE_NOERROR,
              a, none, &n);
    l = ssd_auth_addrs_from_reply(pool, w, n, "ns1.example.com",
                                  SSD_AUTH_TYPE_A, 2);
    UNIT_CHECK(l->nelts == 2, "A: at the CNAME's end, at most 2");
    UNIT_STR_EQ(item(l, 0), "192.0.2.1", "A: sorted");
    UNIT_STR_EQ(item(l, 1), "192.0.2.5", "A: the second");
    l = ssd_auth_addrs_from_reply(pool, w, n, "ns1.example.com",
                                  SSD_AUTH_TYPE_AAAA, 2);
    UNIT_CHECK(l->nelts == 0, "AAAA: none in an A answer");
}

static void test_problems(void)
{
    static const char *const none[] = {NULL};
    static const char *const txt[] = {"h.example.com. IN TXT \"x\"", NULL};
    static const char *const deleg[] = {"sub.example.com. IN NS ns.x.", NULL};
    static const char *const soa[] = {SOA_RR("example.com", "2026120101"),
                                      NULL};
    apr_size_t n;
    const unsigned char *w;
    apr_uint32_t serial = 0;

#define PROBLEM(flags, rc, an, au, want, name) \
    w = reply("h.example.com.", LDNS_RR_TYPE_TXT, flags, rc, an, au, &n); \
    UNIT_STR_EQ(ssd_auth_reply_problem(pool, w, n, "h.example.com", \
                                       SSD_AUTH_TYPE_TXT), want, name)
    PROBLEM(AA, LDNS_RCODE_NOERROR, txt, none, NULL, "reply: an answer");
    PROBLEM(AA, LDNS_RCODE_NXDOMAIN, none, soa, NULL, "reply: NXDOMAIN");
    PROBLEM(AA, LDNS_RCODE_REFUSED, none, none, "refused", "reply: REFUSED");
    PROBLEM(AA, LDNS_RCODE_SERVFAIL, none, none, "servfail",
            "reply: SERVFAIL");
    PROBLEM(AA, LDNS_RCODE_NOTIMPL, none, none, "rcode NOTIMPL",
            "reply: another rcode");
    PROBLEM(LDNS_QR, LDNS_RCODE_NOERROR, none, deleg,
            "referral to sub.example.com", "reply: a referral is lame");
    PROBLEM(LDNS_QR | LDNS_RA, LDNS_RCODE_NOERROR, txt, none,
            "not authoritative (AA not set)", "reply: AA clear");
    PROBLEM(LDNS_AA, LDNS_RCODE_NOERROR, txt, none,
            "reply to another question", "reply: QR clear");
    UNIT_STR_EQ(ssd_auth_reply_problem(pool, w, n, "other.example.com",
                                       SSD_AUTH_TYPE_TXT),
                "reply to another question", "reply: another name");
    UNIT_STR_EQ(ssd_auth_reply_problem(pool, w, 11, "h.example.com",
                                       SSD_AUTH_TYPE_TXT),
                "malformed reply", "reply: cut");
    w = reply("example.com.", LDNS_RR_TYPE_SOA, AA, LDNS_RCODE_NOERROR, soa,
              none, &n);
    UNIT_CHECK(ssd_auth_soa_serial(pool, w, n, "example.com", &serial)
               && serial == 2026120101u, "SOA serial");
    UNIT_CHECK(!ssd_auth_soa_serial(pool, w, n, "example.net", &serial),
               "SOA of another zone: no serial");
#undef PROBLEM
}

/* ---- judging one server's RRset ---- */

static ssd_txt_answer_t txts(ssd_dns_rc rc, const char *const *v)
{
    ssd_txt_answer_t a;

    memset(&a, 0, sizeof(a));
    a.rc = rc;
    a.txts = apr_array_make(pool, 2, sizeof(ssd_txt_t));
    for (; v && *v; v++) {
        ssd_txt_t *t = apr_array_push(a.txts);

        t->data = *v;
        t->len = strlen(*v);
    }
    return a;
}

static const char *resolver_record;
static int resolver_asked;

static const char *resolver_spf(void *baton)
{
    (void)baton;
    resolver_asked++;
    return resolver_record;
}

/* "result reason" of one judgement. */
static const char *judge(ssd_auth_kind_e kind, ssd_dns_rc rc,
                         const char *const *v, int passed)
{
    ssd_authority_input_t in;
    ssd_auth_server_t s;
    ssd_txt_answer_t a = txts(rc, v);

    memset(&in, 0, sizeof(in));
    memset(&s, 0, sizeof(s));
    in.kind = kind;
    in.domain = "mail.example.com";
    in.selector = "scaisend";
    in.public_b64 = KEY;
    in.include = "spf.scaisend.example";
    in.policy = "none";
    in.resolver_passed = passed;
    in.host = kind == SSD_AUTH_DKIM ? "scaisend._domainkey.mail.example.com"
              : kind == SSD_AUTH_DMARC ? "_dmarc.mail.example.com"
              : "mail.example.com";
    a.final_name = in.host;
    ssd_authority_judge(pool, &in, &a, resolver_spf, NULL, &s);
    return apr_pstrcat(pool, ssd_auth_result_name(s.result), " ",
                       s.reason ? s.reason : "-", NULL);
}

#define V(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_judge_dkim_dmarc(void)
{
    UNIT_STR_EQ(judge(SSD_AUTH_DKIM, SSD_DNS_OK, V("v=DKIM1; k=rsa; p=" KEY),
                      0), "match -", "DKIM: our key");
    UNIT_STR_EQ(judge(SSD_AUTH_DKIM, SSD_DNS_OK,
                      V("v=DKIM1; k=rsa; p=" OTHER_KEY), 1),
                "mismatch key_mismatch", "DKIM: another key");
    UNIT_STR_EQ(judge(SSD_AUTH_DKIM, SSD_DNS_OK, V("v=DKIM1; p=" KEY,
                      "v=DKIM1; p=" OTHER_KEY), 1),
                "mismatch multiple_records", "DKIM: two records");
    UNIT_STR_EQ(judge(SSD_AUTH_DKIM, SSD_DNS_NXDOMAIN, NULL, 1),
                "missing nxdomain", "DKIM: NXDOMAIN");
    UNIT_STR_EQ(judge(SSD_AUTH_DKIM, SSD_DNS_NODATA, NULL, 1),
                "missing no TXT record", "DKIM: NODATA");
    UNIT_STR_EQ(judge(SSD_AUTH_DKIM, SSD_DNS_CNAME_LOOP, NULL, 1),
                "mismatch cname_loop", "DKIM: a CNAME loop");
    UNIT_STR_EQ(judge(SSD_AUTH_DMARC, SSD_DNS_OK, V("v=DMARC1; p=none"), 0),
                "match -", "DMARC: a valid record");
    UNIT_STR_EQ(judge(SSD_AUTH_DMARC, SSD_DNS_OK,
                      V("v=DMARC1; adkim=s"), 1),
                "mismatch policy_missing", "DMARC: no p=");
    UNIT_STR_EQ(judge(SSD_AUTH_DMARC, SSD_DNS_OK, V("hello"), 1),
                "missing no DMARC record", "DMARC: no record of the kind");
}

static void test_judge_spf(void)
{
#define SPF(rec, passed, want, name) \
    UNIT_STR_EQ(judge(SSD_AUTH_SPF, SSD_DNS_OK, V(rec), passed), want, name)
    SPF("v=spf1 include:spf.scaisend.example ~all", 0, "match -",
        "SPF: our include");
    SPF("v=spf1 ip4:192.0.2.0/24 include:_spf.other.example "
        "include:SPF.scaisend.example. -all", 0, "match -",
        "SPF: our include after others (not followed)");
    SPF("v=spf1 -all include:spf.scaisend.example", 1,
        "mismatch include_after_all", "SPF: our include after all");
    SPF("v=spf1 ~include:spf.scaisend.example -all", 1,
        "mismatch include_missing", "SPF: our include without pass");
    SPF("v=spf1 mx -all", 1, "mismatch include_missing", "SPF: no include");
    SPF("v=spf1 redirect=spf.scaisend.example", 0, "match -",
        "SPF: redirect= to our include");
    SPF("v=spf1 a a a a a a a a a a include:spf.scaisend.example ~all", 1,
        "mismatch too_many_lookups", "SPF: 11 DNS terms with ours");
    SPF("v=spf1 include:spf.scaisend.example ~all bogus~", 1,
        "mismatch malformed", "SPF: a syntax error");
    UNIT_STR_EQ(judge(SSD_AUTH_SPF, SSD_DNS_OK, V("v=spf1 -all",
                      "v=spf1 include:spf.scaisend.example ~all"), 1),
                "mismatch multiple_records", "SPF: two records");
    UNIT_STR_EQ(judge(SSD_AUTH_SPF, SSD_DNS_OK, V("google-site-verification"),
                      1), "missing no SPF record", "SPF: none of the kind");
    UNIT_STR_EQ(judge(SSD_AUTH_SPF, SSD_DNS_OK,
                      V("\"v=spf1 include:spf.scaisend.example ~all\""), 1),
                "mismatch quoted_value", "SPF: pasted with its quotes");
    resolver_record = "v=spf1 include:_spf.corp.example ~all";
    resolver_asked = 0;
    SPF("v=spf1 include:_spf.corp.example ~all", 1, "match -",
        "SPF: through another domain, the resolver's record, which passed");
    SPF("v=spf1 include:_spf.corp.example ~all", 0,
        "mismatch the resolver's record, which fails",
        "SPF: the resolver's record, which failed");
    SPF("v=spf1 redirect=_spf.corp.example", 1, "mismatch not the resolver's "
        "record (it reaches other domains, which were not followed)",
        "SPF: through another domain, not the resolver's record");
    UNIT_CHECK(resolver_asked == 3, "SPF: the resolver's record asked only "
               "for records that reach other domains");
#undef SPF
}

/* ---- the sentence ---- */

static ssd_auth_server_t server(const char *name, const char *addr,
                                ssd_auth_result_e r, int has, apr_uint32_t s,
                                const char *why)
{
    ssd_auth_server_t v = {name, addr, r, has, s, why};

    return v;
}

static const char *summary(ssd_authority_view_t *v, int n,
                           const ssd_auth_server_t *s)
{
    int i;

    v->servers = apr_array_make(pool, 4, sizeof(ssd_auth_server_t));
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(v->servers, ssd_auth_server_t) = s[i];
    }
    ssd_authority_summarise(pool, v);
    return apr_pstrcat(pool, ssd_propagation_name(v->propagation), ": ",
                       v->note, NULL);
}

static void test_note(void)
{
    ssd_authority_view_t v;
    ssd_auth_server_t s[3];

    memset(&v, 0, sizeof(v));
    s[0] = server("ns1.x", "192.0.2.1", SSD_AUTH_MATCH, 1, 2026113001u, NULL);
    s[1] = server("ns2.x", "192.0.2.2", SSD_AUTH_MISMATCH, 1, 2026120101u,
                  "key_mismatch");
    s[2] = server("ns3.x", NULL, SSD_AUTH_ERROR, 0, 0, "no address (A: none, "
                  "AAAA: none)");
    UNIT_STR_EQ(summary(&v, 2, s), "partial: published on 1 of 2 "
                "nameservers; serial 2026120101 vs 2026113001",
                "note: partial, serials newest first");
    UNIT_STR_EQ(summary(&v, 1, s), "complete: published on 1 of 1 "
                "nameserver; serial 2026113001", "note: complete");
    UNIT_STR_EQ(summary(&v, 3, s), "partial: published on 1 of 3 "
                "nameservers; serial 2026120101 vs 2026113001; no usable "
                "answer from ns3.x (no address (A: none, AAAA: none))",
                "note: a server without an answer named, with why");
    s[0] = server("a", "192.0.2.1", SSD_AUTH_MISSING, 1, 4294967295u,
                  "nxdomain");
    s[1] = server("b", "192.0.2.2", SSD_AUTH_MISSING, 1, 1, "nxdomain");
    UNIT_STR_EQ(summary(&v, 2, s), "none: published on 0 of 2 nameservers; "
                "serial 1 vs 4294967295", "note: none; RFC 1982 wraps");
    v.note = "the authoritative nameservers were not asked: why";
    UNIT_STR_EQ(summary(&v, 0, s), "none: the authoritative nameservers were "
                "not asked: why", "note: no server keeps the reason given");
}

/* ---- the batch of direct queries ---- */

static int udp_socket(apr_port_t *port)
{
    struct sockaddr_in a;
    socklen_t l = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

typedef struct {
    int fd;
    int replies;        /* how many queries to answer */
    unsigned char flag; /* or-ed into byte 2 of the reply (0x02: TC) */
    int delay_ms;       /* before each reply */
} responder_t;

static void *APR_THREAD_FUNC respond(apr_thread_t *t, void *data)
{
    responder_t *r = data;
    unsigned char buf[512];
    struct sockaddr_storage from;
    socklen_t fl;
    ssize_t n;
    int i;

    for (i = 0; i < r->replies; i++) {
        fl = sizeof(from);
        n = recvfrom(r->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
                     &fl);
        if (n < 0) {
            break;                      /* SO_RCVTIMEO: nobody asks */
        }
        if (r->delay_ms) {
            apr_sleep(apr_time_from_msec(r->delay_ms));
        }
        if (n >= 12) {
            buf[2] |= (unsigned char)(0x80 | r->flag);
            sendto(r->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void xchg(ssd_auth_xchg_t *x, const char *addr, apr_port_t port)
{
    memset(x, 0, sizeof(*x));
    x->fd = -1;
    x->address = addr;
    x->port = port;
    x->query = ssd_auth_query(pool, "h.example.com", SSD_AUTH_TYPE_TXT,
                              &x->qlen);
}

static void test_net(void)
{
    apr_port_t live, silent, closed;
    int lfd = udp_socket(&live), sfd = udp_socket(&silent);
    int cfd = udp_socket(&closed);
    responder_t r = {lfd, 2, 0, 0};
    apr_thread_t *t;
    apr_status_t trv;
    ssd_auth_xchg_t x[6];
    apr_time_t t0;

    close(cfd);                 /* nothing listens there any more */
    apr_thread_create(&t, NULL, respond, &r, pool);
    xchg(&x[0], "127.0.0.1", live);
    xchg(&x[1], "127.0.0.1", silent);
    xchg(&x[2], "127.0.0.1", closed);
    xchg(&x[3], "not an address", 53);
    xchg(&x[4], "127.0.0.1", live);
    xchg(&x[5], NULL, 53);
    t0 = apr_time_now();
    ssd_auth_exchange(pool, x, 6, t0 + apr_time_from_msec(300));
    UNIT_CHECK(x[0].rc == SSD_AUTH_NET_OK && x[4].rc == SSD_AUTH_NET_OK
               && x[0].rlen == x[0].qlen, "net: two replies from a live "
               "server, on their own sockets");
    UNIT_CHECK(x[1].rc == SSD_AUTH_NET_TIMEOUT, "net: a silent server");
    UNIT_CHECK(x[2].rc == SSD_AUTH_NET_UNREACHABLE, "net: a closed port is "
               "known at once (connection refused)");
    UNIT_CHECK(x[3].rc == SSD_AUTH_NET_ERROR, "net: not an address");
    UNIT_CHECK(x[5].rc == SSD_AUTH_NET_ERROR, "net: no address (a name "
               "whose lookups failed)");
    UNIT_CHECK(apr_time_now() - t0 >= apr_time_from_msec(290)
               && apr_time_now() - t0 < apr_time_from_msec(1000),
               "net: the batch waits until the end given, not longer");
    apr_thread_join(&trv, t);
    r.replies = 1;
    r.flag = 0x02;
    apr_thread_create(&t, NULL, respond, &r, pool);
    xchg(&x[0], "127.0.0.1", live);
    ssd_auth_exchange(pool, x, 1, apr_time_now() + apr_time_from_msec(300));
    UNIT_CHECK(x[0].rc == SSD_AUTH_NET_TRUNCATED, "net: TC and no TCP "
               "listener: truncated");
    UNIT_STR_EQ(ssd_auth_net_rc_text(x[0].rc), "truncated, and the TCP retry "
                "failed", "net: its text");
    apr_thread_join(&trv, t);
    close(lfd);
    close(sfd);
}

/* A resolver that answers every query after 150 ms with an empty reply
 * (no SOA: the view walks up the name), a query timeout of 200 ms: the
 * whole view ends one query timeout after it started. */
static void test_view_time(void)
{
    apr_port_t port;
    int fd = udp_socket(&port);
    struct timeval tv = {1, 0};
    responder_t r = {fd, 20, 0, 150};
    apr_array_header_t *ns = apr_array_make(pool, 1, sizeof(ssd_nameserver_t));
    ssd_nameserver_t *n = apr_array_push(ns);
    ssd_dns_config_t cfg;
    ssd_authority_input_t in;
    ssd_authority_view_t *v;
    ssd_dns_t *d;
    const char *err = NULL;
    apr_thread_t *t;
    apr_status_t trv;
    apr_time_t t0;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    n->host = "127.0.0.1";
    n->port = port;
    memset(&cfg, 0, sizeof(cfg));
    cfg.nameservers = ns;
    cfg.query_timeout = apr_time_from_msec(200);
    cfg.deadline = apr_time_now() + apr_time_from_sec(5);
    d = ssd_dns_new(pool, &cfg, &err);
    memset(&in, 0, sizeof(in));
    in.kind = SSD_AUTH_DMARC;
    in.host = "_dmarc.a.b.c.d.e.f.g.h.example.com";
    in.domain = "a.b.c.d.e.f.g.h.example.com";
    in.dns = &cfg;
    apr_thread_create(&t, NULL, respond, &r, pool);
    t0 = apr_time_now();
    v = ssd_authority_view(pool, d, &in);
    UNIT_CHECK(apr_time_now() - t0 < apr_time_from_msec(400),
               "view: a slow resolver cannot hold it past one query timeout");
    UNIT_CHECK(v->servers->nelts == 0 && v->propagation
               == SSD_PROPAGATION_NONE, "view: no server asked");
    UNIT_CHECK(v->note && strstr(v->note, "gave timeout"),
               "view: the note says a lookup timed out");
    UNIT_CHECK(ssd_dns_set_deadline(d, 0) == cfg.deadline,
               "view: the resolver's own deadline is given back");
    apr_thread_join(&trv, t);
    close(fd);
}

/* ---- the answer stays within 64 KiB with the largest views ---- */

static ssd_authority_view_t *largest_view(void)
{
    ssd_authority_view_t *v = apr_pcalloc(pool, sizeof(*v));
    char *name = apr_palloc(pool, 256), *why;
    int i;

    memset(name, 'n', 255);
    name[255] = '\0';
    why = apr_pstrcat(pool, "referral to ", name, NULL);
    v->zone = name;
    v->servers = apr_array_make(pool, 16, sizeof(ssd_auth_server_t));
    for (i = 0; i < SSD_AUTH_MAX_NS * SSD_AUTH_MAX_ADDRS; i++) {
        APR_ARRAY_PUSH(v->servers, ssd_auth_server_t) = server(
            name, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", SSD_AUTH_ERROR, 1,
            4294967295u - (apr_uint32_t)i, why);
    }
    ssd_authority_summarise(pool, v);
    return v;
}

static void full_check(ssd_check_result_t *r, const char *check,
                       const ssd_authority_view_t *v)
{
    char *big = apr_palloc(pool, SSD_CHECK_MAX_FOUND + 1);
    int i;

    memset(big, 'x', SSD_CHECK_MAX_FOUND);
    big[SSD_CHECK_MAX_FOUND] = '\0';
    ssd_check_init(pool, r, "scaisend._domainkey.mail.example.com");
    for (i = 0; i < SSD_CHECK_MAX_FINDINGS; i++) {
        ssd_check_error(pool, r, check, "malformed", r->host, big)->found = big;
        ssd_check_warning(pool, r, check, "policy_mismatch", r->host,
                          big)->found = big;
    }
    r->authority = v;
}

static void test_answer_size(void)
{
    ssd_verify_result_t res;
    const ssd_authority_view_t *v = largest_view();
    const char *text;
    json_object *o;

    UNIT_CHECK(strlen(v->note) <= SSD_AUTH_MAX_NOTE, "note: at most 1 KiB");
    memset(&res, 0, sizeof(res));
    full_check(&res.dkim, "dkim", v);
    full_check(&res.spf, "spf", v);
    full_check(&res.dmarc, "dmarc", v);
    full_check(&res.pending, "dkim", v);
    res.has_pending = 1;
    res.checked_at = "2026-12-01T00:00:00Z";
    o = ssd_verify_json(pool, "mail.example.com", 0, &res);
    text = ssd_verify_answer_text(pool, o, SSD_VERIFY_MAX_ANSWER);
    UNIT_CHECK(strlen(text) <= SSD_VERIFY_MAX_ANSWER, "answer: four checks "
               "with 16 servers each and every finding still fit 64 KiB");
    UNIT_CHECK(strstr(text, "\"propagation_note\"") != NULL
               && strstr(text, "\"nameservers\":[{") != NULL,
               "answer: the views are kept whole");
}

int main(void)
{
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_zone();
    test_ns_addrs();
    test_problems();
    test_judge_dkim_dmarc();
    test_judge_spf();
    test_note();
    test_net();
    test_answer_size();
    test_view_time();
    rc = UNIT_DONE();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
