/* fuzz_spf: the SPF check over a canned zone (harness.h): the records of
 * mail.example.com (unnamed entries), of the names its terms reach (TXT,
 * and A/AAAA/MX/PTR records), and of the include (FUZZ_INCLUDE_RECORD
 * when the input has no entry for it). Each address is evaluated within
 * the limits of RFC 7208 4.6.4; the lookups of one check are cached. */
#include "harness.h"

/* ScaiSend's addresses: at most 16, each confirmed on the include (one
 * evaluation) and evaluated on the domain (another), each evaluation at
 * most 122 lookups (fuzz_spf_eval); the walk of the include's record at
 * most 1 + 10 terms of 21 lookups. The cache keeps the real count lower. */
#define MAX_LOOKUPS (16 * 2 * 122 + 1 + 10 * 21 + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    fuzz_zone_t *z = fuzz_zone_parse(p, data, size, FUZZ_DOMAIN);
    ssd_spf_lookup_t lk;
    ssd_check_result_t r;

    fuzz_zone_default(z, FUZZ_INCLUDE, FUZZ_INCLUDE_RECORD);
    lk = fuzz_zone_lookup(z);
    ssd_check_spf(p, &lk, FUZZ_DOMAIN, FUZZ_INCLUDE, "mta.scaisend.example",
                  &r);
    fuzz_check_result(p, &r, z);
    FUZZ_ASSERT(r.lookups >= 1 && r.lookups <= MAX_LOOKUPS);
    apr_pool_destroy(p);
    return 0;
}
