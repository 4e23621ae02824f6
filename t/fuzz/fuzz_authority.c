/* fuzz_authority: the replies of the authoritative view (ssd_authority_wire:
 * the zone of a name, a zone's NS names, a name's addresses, whether a
 * direct reply is an authoritative answer, the SOA serial) and the
 * judgement of one server's TXT RRset (ssd_authority_judge) for the three
 * checks. The first byte picks the name asked: even, the reply's own
 * question name (when it has one); odd, a fixed name. The rest is a reply
 * in wire format, fed to every parser.
 * Invariants: a zone is the name or one of its ancestors; NS names and
 * addresses are unique, sorted, lower case, within their bounds; every
 * address is an IP literal of its family; a judgement has a reason
 * exactly when it is not a match. */
#include "harness.h"
#include "ssd_authority.h"
#include "ssd_authority_wire.h"

#include <string.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <ldns/ldns.h>

static const char *question_name(apr_pool_t *p, const uint8_t *wire,
                                 size_t len)
{
    ldns_pkt *pkt = NULL;
    const ldns_rr *q;
    const char *name = NULL;
    char *s;

    if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
        return NULL;
    }
    q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
    if (q && (s = ldns_rdf2str(ldns_rr_owner(q)))) {
        name = apr_pstrdup(p, s);
        free(s);
    }
    ldns_pkt_free(pkt);
    return name;
}

static int verbose(void)
{
    const char *v = getenv("FUZZ_VERBOSE");

    return v && *v == '1';
}

/* name without its final dot, lower case */
static const char *plain(apr_pool_t *p, const char *name)
{
    char *s = apr_pstrdup(p, name), *c;
    apr_size_t n = strlen(s);

    if (n > 1 && s[n - 1] == '.') {
        s[n - 1] = '\0';
    }
    for (c = s; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return s;
}

static void check_zone(apr_pool_t *p, const char *zone, const char *name)
{
    const char *n = plain(p, name);
    apr_size_t zl, nl = strlen(n);

    if (!zone) {
        return;
    }
    zl = strlen(zone);
    if (verbose()) {
        fprintf(stderr, "zone %s of %s\n", zone, n);
    }
    FUZZ_ASSERT(zl > 0 && zl <= 255);
    /* (ldns escapes some bytes in one place and not another: compare
     * only names made of plain characters) */
    if (strchr(n, '\\') || strchr(zone, '\\')) {
        return;
    }
    FUZZ_ASSERT(strcmp(zone, ".") == 0 || strcmp(zone, n) == 0
                || (nl > zl && n[nl - zl - 1] == '.'
                    && strcmp(n + nl - zl, zone) == 0));
}

static void check_list(const apr_array_header_t *a, int max, int family)
{
    const char *prev = NULL, *s, *c;
    unsigned char buf[16];
    int i;

    FUZZ_ASSERT(a && a->nelts <= max);
    for (i = 0; i < a->nelts; i++) {
        s = APR_ARRAY_IDX(a, i, const char *);
        FUZZ_ASSERT(s && *s && strlen(s) <= 255);
        FUZZ_ASSERT(!prev || strcmp(prev, s) < 0);
        if (family) {
            FUZZ_ASSERT(inet_pton(family, s, buf) == 1);
        }
        for (c = s; !family && *c; c++) {
            FUZZ_ASSERT(!(*c >= 'A' && *c <= 'Z'));
        }
        prev = s;
    }
}

static const char *no_spf(void *baton)
{
    (void)baton;
    return "v=spf1 include:_spf.other.example ~all";
}

static void judge_all(apr_pool_t *p, const uint8_t *w, size_t n,
                      const char *name)
{
    static const ssd_auth_kind_e kinds[] = {SSD_AUTH_DKIM, SSD_AUTH_SPF,
                                            SSD_AUTH_DMARC};
    ssd_authority_input_t in;
    ssd_txt_answer_t a;
    ssd_auth_server_t s;
    int k;

    memset(&a, 0, sizeof(a));
    ssd_dns_txt_from_wire(p, w, n, name, &a);
    for (k = 0; k < 3; k++) {
        memset(&in, 0, sizeof(in));
        memset(&s, 0, sizeof(s));
        in.kind = kinds[k];
        in.host = name;
        in.domain = FUZZ_DOMAIN;
        in.selector = FUZZ_SELECTOR;
        in.public_b64 = FUZZ_DKIM_KEY;
        in.include = FUZZ_INCLUDE;
        in.policy = "none";
        in.rua = FUZZ_RUA;
        in.resolver_passed = k != 1;
        ssd_authority_judge(p, &in, &a, no_spf, NULL, &s);
        FUZZ_ASSERT((int)s.result >= SSD_AUTH_MATCH
                    && s.result <= SSD_AUTH_ERROR);
        FUZZ_ASSERT((s.result == SSD_AUTH_MATCH) == (s.reason == NULL));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *name = NULL, *why;
    const uint8_t *w = data + 1;
    size_t n = size - 1;
    apr_uint32_t serial;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    if (!(data[0] & 1)) {
        name = question_name(p, w, n);
    }
    name = name && *name ? name : FUZZ_DKIM_HOST;
    check_zone(p, ssd_auth_zone_from_reply(p, w, n, name), name);
    check_list(ssd_auth_ns_from_reply(p, w, n, name, SSD_AUTH_MAX_NS),
               SSD_AUTH_MAX_NS, 0);
    check_list(ssd_auth_addrs_from_reply(p, w, n, name, SSD_AUTH_TYPE_A, 2),
               2, AF_INET);
    check_list(ssd_auth_addrs_from_reply(p, w, n, name, SSD_AUTH_TYPE_AAAA,
                                         2), 2, AF_INET6);
    why = ssd_auth_reply_problem(p, w, n, name, SSD_AUTH_TYPE_TXT);
    FUZZ_ASSERT(!why || *why);
    why = ssd_auth_reply_problem(p, w, n, name, SSD_AUTH_TYPE_SOA);
    FUZZ_ASSERT(!why || *why);
    ssd_auth_soa_serial(p, w, n, name, &serial);
    judge_all(p, w, n, name);
    apr_pool_destroy(p);
    return 0;
}
