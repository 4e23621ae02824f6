/* fuzz_dns_txt: TXT records from a DNS reply in wire format
 * (ssd_dns_txt_from_wire: character-strings joined per RR, CNAMEs chased
 * over the answer section). The first byte picks the name asked: even,
 * the reply's own question name (when it has one); odd, a fixed name.
 * Invariants: TXT RRs only with OK, each NUL-terminated at its length;
 * at most 8 CNAME hops unless the answer is a CNAME loop. */
#include "harness.h"

#include <string.h>
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

static void check_answer(const ssd_txt_answer_t *a)
{
    int i;

    FUZZ_ASSERT(a->txts && a->final_name);
    if (getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1') {
        fprintf(stderr, "%s cnames=%d final=%s txts=%d\n",
                ssd_dns_rc_name(a->rc), a->cnames, a->final_name,
                a->txts->nelts);
    }
    FUZZ_ASSERT((a->rc == SSD_DNS_OK) == (a->txts->nelts > 0));
    FUZZ_ASSERT(a->cnames >= 0);
    FUZZ_ASSERT(a->cnames <= SSD_DNS_MAX_CNAMES
                || a->rc == SSD_DNS_CNAME_LOOP);
    for (i = 0; i < a->txts->nelts; i++) {
        const ssd_txt_t *t = &APR_ARRAY_IDX(a->txts, i, ssd_txt_t);

        FUZZ_ASSERT(t->data && t->data[t->len] == '\0');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *name = NULL;
    ssd_txt_answer_t a;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    if (!(data[0] & 1)) {
        name = question_name(p, data + 1, size - 1);
    }
    memset(&a, 0, sizeof(a));
    ssd_dns_txt_from_wire(p, data + 1, size - 1,
                          name ? name : FUZZ_DKIM_HOST, &a);
    check_answer(&a);
    apr_pool_destroy(p);
    return 0;
}
