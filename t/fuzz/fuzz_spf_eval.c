/* fuzz_spf_eval: check_host() (ssd_spf_eval) over a canned zone
 * (harness.h: TXT and A/AAAA/MX/PTR records) and macro expansion.
 *
 * Input: byte 0 picks the client address (low 2 bits: 192.0.2.10,
 * 2001:db8::10, ::ffff:192.0.2.10 or 203.0.113.10), bit 2 the opaque
 * sender mode of the SPF check, bit 3 an empty MAIL FROM (postmaster@
 * the HELO name); the rest is the zone (unnamed entries: mail.example.com).
 * Invariants: the result and the outcome agree (an error exactly for
 * temperror and permerror, a temporary rc for temperror, a deciding
 * term only for pass/fail/softfail/neutral); the limits hold (at most 11
 * DNS-querying terms counted, 3 void lookups, 122 lookups: 1 + 10 terms
 * of at most 11 lookups each + %{p}'s 11); every lookup is counted; the
 * same zone gives the same result twice. The TXT records are also
 * expanded as macro-strings (domain-spec and explanation rules). */
#include "harness.h"

#include <string.h>

#define MAX_QUERIES (1 + SSD_SPF_MAX_DNS_TERMS * (1 + SSD_SPF_MAX_NAMES) \
                     + 1 + SSD_SPF_MAX_NAMES)

static const char *const addrs[] = {
    "192.0.2.10", "2001:db8::10", "::ffff:192.0.2.10", "203.0.113.10"
};

static void check_outcome(const ssd_spf_outcome_t *o, int calls)
{
    int err = o->result == SSD_SPF_TEMPERROR
              || o->result == SSD_SPF_PERMERROR;

    FUZZ_ASSERT((int)o->result >= 0 && o->result <= SSD_SPF_PERMERROR);
    FUZZ_ASSERT(!o->error == !err);
    FUZZ_ASSERT(o->result != SSD_SPF_TEMPERROR
                || ssd_dns_is_temporary(o->rc));
    FUZZ_ASSERT(!o->decided_by || (o->result >= SSD_SPF_NEUTRAL
                                   && o->result <= SSD_SPF_SOFTFAIL));
    FUZZ_ASSERT(o->dns_terms <= SSD_SPF_MAX_DNS_TERMS + 1);
    FUZZ_ASSERT(o->voids <= SSD_SPF_MAX_VOIDS + 1);
    FUZZ_ASSERT(o->queries == calls && o->queries <= MAX_QUERIES);
    FUZZ_ASSERT(o->visited && o->redirects && o->undecidable && o->ptr_cut);
}

static void expand_all(apr_pool_t *p, fuzz_zone_t *z)
{
    ssd_txt_answer_t a;
    ssd_spf_macros_t m;
    const char *x;
    int i;

    memset(&m, 0, sizeof(m));
    m.s = "strong-bad@email.example.com";
    m.l = "strong-bad";
    m.o = m.d = "email.example.com";
    m.i = "192.0.2.10";
    m.v = "in-addr";
    m.h = "mta.scaisend.example";
    m.c = m.i;
    m.r = "receiver.example";
    m.t = "1";
    fuzz_zone_fetch(z, p, FUZZ_DOMAIN, &a);
    for (i = 0; i < a.txts->nelts; i++) {
        const char *t = APR_ARRAY_IDX(a.txts, i, ssd_txt_t).data;

        x = ssd_spf_expand(p, &m, t, 0);
        FUZZ_ASSERT(!x || strlen(x) <= 253 || !strchr(x, '.'));
        ssd_spf_expand(p, &m, t, 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    fuzz_zone_t *z;
    ssd_spf_lookup_t lk;
    ssd_spf_outcome_t o, again;
    ssd_spf_query_t q;
    int calls;

    if (size < 1) {
        apr_pool_destroy(p);
        return 0;
    }
    z = fuzz_zone_parse(p, data + 1, size - 1, FUZZ_DOMAIN);
    lk = fuzz_zone_lookup(z);
    ssd_spf_query_smtp(p, addrs[data[0] & 3],
                       data[0] & 8 ? "" : "bounce@" FUZZ_DOMAIN,
                       data[0] & 8 ? FUZZ_DOMAIN : "mta.scaisend.example", &q);
    q.flags = data[0] & 4 ? SSD_SPF_OPAQUE_SENDER : 0;
    ssd_spf_check_host(p, &lk, &q, &o);
    calls = fuzz_zone_calls(z);
    check_outcome(&o, calls);
    ssd_spf_check_host(p, &lk, &q, &again);
    FUZZ_ASSERT(again.result == o.result
                && fuzz_zone_calls(z) == 2 * calls);
    expand_all(p, z);
    apr_pool_destroy(p);
    return 0;
}
