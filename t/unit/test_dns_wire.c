/* Unit tests of ssd_dns_txt_from_wire: the TXT records of one DNS reply
 * (wire format), built here with ldns from zone-file lines. */
#include "unit.h"
#include "ssd_dns.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <ldns/ldns.h>

#define Q "sel._domainkey.example.com"

static apr_pool_t *pool;

/* A reply to TXT Q with rcode and the answer RRs (NULL-terminated). */
static const unsigned char *reply(ldns_pkt_rcode rcode, apr_size_t *len,
                                  const char *const *rrs)
{
    ldns_pkt *pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(Q "."),
                                       LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN,
                                       LDNS_QR | LDNS_RD | LDNS_RA);
    uint8_t *wire = NULL;
    size_t n = 0;
    unsigned char *out;
    ldns_rr *rr;

    ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
    for (; *rrs; rrs++) {
        if (ldns_rr_new_frm_str(&rr, *rrs, 300, NULL, NULL)
            == LDNS_STATUS_OK) {
            ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
        }
    }
    ldns_pkt2wire(&wire, pkt, &n);
    ldns_pkt_free(pkt);
    out = apr_pmemdup(pool, wire, n);
    free(wire);
    *len = n;
    return out;
}

static ssd_txt_answer_t answer(ldns_pkt_rcode rcode, const char *const *rrs)
{
    ssd_txt_answer_t a;
    apr_size_t len;
    const unsigned char *w = reply(rcode, &len, rrs);

    ssd_dns_txt_from_wire(pool, w, len, Q, &a);
    return a;
}

static const char *txt(const ssd_txt_answer_t *a, int i)
{
    return i < a->txts->nelts ? APR_ARRAY_IDX(a->txts, i, ssd_txt_t).data
                              : NULL;
}

static void test_txt(void)
{
    static const char *const two[] = {
        Q ". IN TXT \"v=DKIM1; \" \"p=abc\"",
        Q ". IN TXT \"second\"",
        "other.example. IN TXT \"elsewhere\"", NULL };
    static const char *const none[] = { NULL };
    ssd_txt_answer_t a = answer(LDNS_RCODE_NOERROR, two);

    UNIT_CHECK(a.rc == SSD_DNS_OK && a.txts->nelts == 2,
               "wire: two TXT RRs at the name, the other owner ignored");
    UNIT_STR_EQ(txt(&a, 0), "v=DKIM1; p=abc",
                "wire: character-strings of one RR joined");
    UNIT_CHECK(a.txts->nelts > 0
               && APR_ARRAY_IDX(a.txts, 0, ssd_txt_t).len == 14,
               "wire: length of the joined RR");
    UNIT_STR_EQ(txt(&a, 1), "second", "wire: second RR kept apart");
    UNIT_STR_EQ(a.final_name, Q, "wire: final name without a dot");
    a = answer(LDNS_RCODE_NOERROR, none);
    UNIT_CHECK(a.rc == SSD_DNS_NODATA && a.txts->nelts == 0,
               "wire: empty answer is NODATA");
    a = answer(LDNS_RCODE_NXDOMAIN, none);
    UNIT_CHECK(a.rc == SSD_DNS_NXDOMAIN, "wire: NXDOMAIN");
    a = answer(LDNS_RCODE_SERVFAIL, none);
    UNIT_CHECK(a.rc == SSD_DNS_SERVFAIL, "wire: SERVFAIL");
    a = answer(LDNS_RCODE_REFUSED, none);
    UNIT_CHECK(a.rc == SSD_DNS_REFUSED, "wire: REFUSED");
    a = answer(LDNS_RCODE_NOTIMPL, none);
    UNIT_CHECK(a.rc == SSD_DNS_ERROR, "wire: another rcode is an error");
}

static void test_cname(void)
{
    static const char *const chain[] = {
        Q ". IN CNAME k1.provider.example.",
        "k1.provider.example. IN CNAME K2.Provider.Example.",
        "k2.provider.example. IN TXT \"p=xyz\"", NULL };
    static const char *const out[] = {
        Q ". IN CNAME k1.provider.example.", NULL };
    static const char *const loop[] = {
        Q ". IN CNAME a.example.", "a.example. IN CNAME " Q ".", NULL };
    ssd_txt_answer_t a = answer(LDNS_RCODE_NOERROR, chain);
    unsigned char junk[] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0 };

    UNIT_CHECK(a.rc == SSD_DNS_OK && a.cnames == 2,
               "wire: two CNAME hops inside the answer");
    UNIT_STR_EQ(txt(&a, 0), "p=xyz", "wire: TXT at the end of the chain");
    /* (ldns compresses K2.Provider.Example against k1.provider.example) */
    UNIT_STR_EQ(a.final_name, "K2.provider.example",
                "wire: final name is the chain's end, as sent");
    a = answer(LDNS_RCODE_NOERROR, out);
    UNIT_CHECK(a.rc == SSD_DNS_NODATA && a.cnames == 1
               && !strcmp(a.final_name, "k1.provider.example"),
               "wire: chain leaving the answer: NODATA, the name to ask");
    a = answer(LDNS_RCODE_NOERROR, loop);
    UNIT_CHECK(a.rc == SSD_DNS_CNAME_LOOP && a.txts->nelts == 0,
               "wire: CNAME loop");
    ssd_dns_txt_from_wire(pool, junk, sizeof(junk), Q, &a);
    UNIT_CHECK(a.rc == SSD_DNS_ERROR && a.txts->nelts == 0,
               "wire: a reply that does not parse is an error");
}

int main(void)
{
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_txt();
    test_cname();
    rc = UNIT_DONE();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
