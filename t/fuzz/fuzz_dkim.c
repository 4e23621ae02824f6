/* fuzz_dkim: the DKIM check over a canned zone (harness.h): the TXT
 * records of scaisend._domainkey.mail.example.com (unnamed entries) and of
 * any other name, e.g. the doubled name the check tries when the record is
 * missing. The same records are judged for an RSA key and for an
 * Ed25519 key (k=ed25519, 32 raw bytes) at the selector. */
#include "harness.h"
#include "ssd_dkim.h"

#define FUZZ_ED25519_KEY "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    fuzz_zone_t *z = fuzz_zone_parse(p, data, size, FUZZ_DKIM_HOST);
    ssd_check_result_t r;

    ssd_check_dkim(p, fuzz_zone_fetch, z, FUZZ_DOMAIN, FUZZ_SELECTOR,
                   FUZZ_DKIM_KEY, &r);
    fuzz_check_result(p, &r, z);
    FUZZ_ASSERT(r.lookups >= 1 && r.lookups <= 2);
    z = fuzz_zone_parse(p, data, size, FUZZ_DKIM_HOST);   /* calls from 0 */
    ssd_check_dkim_alg(p, fuzz_zone_fetch, z, FUZZ_DOMAIN, FUZZ_SELECTOR,
                       SSD_DKIM_ED25519, FUZZ_ED25519_KEY, &r);
    fuzz_check_result(p, &r, z);
    FUZZ_ASSERT(r.lookups >= 1 && r.lookups <= 2);
    apr_pool_destroy(p);
    return 0;
}
