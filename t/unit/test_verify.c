/* Unit tests of ssd_verify: a check that did not run never reads as
 * passed, and a resolver that cannot be set up is said so. */
#include "unit.h"
#include "ssd_verify.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *pool;

static void input(ssd_verify_input_t *in, const char *resolv_conf)
{
    memset(in, 0, sizeof(*in));
    in->domain = "mail.example.com";
    in->selector = "scaisend";
    in->public_b64 = "MIIB";
    in->spf_include = "spf.example.net";
    in->dmarc_policy = "none";
    in->dns.resolv_conf = resolv_conf;
    in->dns.query_timeout = apr_time_from_msec(100);
    in->dns.deadline = apr_time_now() + apr_time_from_msec(500);
}

static int all_temperror(const ssd_verify_result_t *res, const char *code)
{
    const ssd_check_result_t *c[] = {&res->dkim, &res->spf, &res->dmarc};
    int i;

    for (i = 0; i < 3; i++) {
        const ssd_finding_t *f = (const ssd_finding_t *)c[i]->errors->elts;

        if (c[i]->status != SSD_CHECK_TEMPERROR || c[i]->errors->nelts < 1
            || strcmp(f[0].code, code) != 0 || !f[0].host) {
            return 0;
        }
    }
    return 1;
}

static void test_no_resolver(void)
{
    ssd_verify_input_t in;
    ssd_verify_result_t res;

    input(&in, "/nonexistent/resolv.conf");
    UNIT_CHECK(ssd_verify_run(pool, &in, &res) == APR_SUCCESS,
               "the checks start");
    UNIT_CHECK(res.resolver_failed, "a resolver that cannot be set up is "
               "reported");
    UNIT_CHECK(all_temperror(&res, "resolver_unavailable"),
               "every check is temperror resolver_unavailable, with its host");
    UNIT_CHECK(ssd_verify_outcome(&res) == SSD_OUTCOME_UNDECIDED,
               "the outcome is undecided");
    UNIT_STR_EQ(res.dmarc.host, "_dmarc.mail.example.com", "the DMARC host");
}

int main(void)
{
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_no_resolver();
    rc = UNIT_DONE();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
