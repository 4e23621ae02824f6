/* fuzz_dmarc: the DMARC check over a canned zone (harness.h): the records
 * of _dmarc.mail.example.com (unnamed entries), of the names the RFC 9989
 * tree walk asks (_dmarc.example.com, _dmarc.com, ...) and of the RFC 9990
 * report authorisation names its rua=/ruf= addresses lead to. The domain is set to
 * p=quarantine with reports to dmarc-reports@mail.example.com. */
#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    fuzz_zone_t *z = fuzz_zone_parse(p, data, size, FUZZ_DMARC_HOST);
    ssd_check_result_t r;

    ssd_check_dmarc(p, fuzz_zone_fetch, z, FUZZ_DOMAIN, "quarantine",
                    FUZZ_RUA, &r);
    fuzz_check_result(p, &r, z);
    apr_pool_destroy(p);
    return 0;
}
