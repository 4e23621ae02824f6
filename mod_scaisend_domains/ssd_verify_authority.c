/* ssd_verify_authority: the authoritative view of each check of a
 * verification (ssd_authority), taken in the check's own thread right
 * after the check, with the check's resolver and under its deadline. */
#include "ssd_verify.h"
#include "ssd_authority.h"

#include <string.h>

void ssd_verify_authority(apr_pool_t *p, ssd_dns_t *dns,
                          const ssd_verify_input_t *in, const char *check,
                          int pending, ssd_check_result_t *out)
{
    ssd_authority_input_t a;

    memset(&a, 0, sizeof(a));
    a.host = out->host;
    a.domain = in->domain;
    a.resolver_passed = out->status == SSD_CHECK_PASS;
    a.dns = &in->dns;
    if (strcmp(check, "spf") == 0) {
        a.kind = SSD_AUTH_SPF;
        a.include = in->spf_include;
    }
    else if (strcmp(check, "dmarc") == 0) {
        a.kind = SSD_AUTH_DMARC;
        a.policy = in->dmarc_policy;
        a.rua = in->dmarc_rua;
    }
    else {
        a.kind = SSD_AUTH_DKIM;
        a.selector = pending ? in->pending_selector : in->selector;
        a.public_b64 = pending ? in->pending_b64 : in->public_b64;
    }
    out->authority = ssd_authority_view(p, dns, &a);
}

void ssd_verify_authority_key(apr_pool_t *p, ssd_dns_t *dns,
                              const ssd_verify_input_t *in,
                              const ssd_verify_key_t *key,
                              ssd_check_result_t *out)
{
    ssd_authority_input_t a;

    memset(&a, 0, sizeof(a));
    a.host = out->host;
    a.domain = in->domain;
    a.resolver_passed = out->status == SSD_CHECK_PASS;
    a.dns = &in->dns;
    a.kind = SSD_AUTH_DKIM;
    a.selector = key->selector;
    a.public_b64 = key->public_b64;
    a.alg = key->alg;
    out->authority = ssd_authority_view(p, dns, &a);
}
