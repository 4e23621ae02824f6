/* fuzz_spf: the SPF check over a canned zone (harness.h): the records of
 * mail.example.com (unnamed entries) and of the names its include: and
 * redirect= terms reach. The walk is bounded by the 10-lookup limit. */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    fuzz_zone_t *z = fuzz_zone_parse(p, data, size, FUZZ_DOMAIN);
    ssd_check_result_t r;

    ssd_check_spf(p, fuzz_zone_fetch, z, FUZZ_DOMAIN, FUZZ_INCLUDE, &r);
    fuzz_check_result(p, &r, z);
    FUZZ_ASSERT(r.lookups >= 1 && r.lookups <= 11);
    apr_pool_destroy(p);
    return 0;
}
