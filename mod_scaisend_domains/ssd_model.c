/* ssd_model: small helpers over the model structs. */
#include "ssd_model.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <stdio.h>
#include <string.h>

const char *ssd_owner_key(apr_pool_t *p, const char *partner_id,
                          const char *tenant_id)
{
    if (!tenant_id) {
        return apr_pstrcat(p, "p:", partner_id, NULL);
    }
    return apr_pstrcat(p, "t:", partner_id, " ", tenant_id, NULL);
}

const char *ssd_now_rfc3339(apr_pool_t *p)
{
    return ssd_ago_rfc3339(p, 0);
}

const char *ssd_ago_rfc3339(apr_pool_t *p, apr_int64_t ms)
{
    apr_time_exp_t t;
    char buf[32];
    apr_size_t len;

    apr_time_exp_gmt(&t, apr_time_now() - apr_time_from_msec(ms));
    apr_strftime(buf, &len, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t);
    return apr_pstrmemdup(p, buf, len);
}

apr_time_t ssd_time_from_rfc3339(const char *text)
{
    apr_time_exp_t t;
    apr_time_t out;
    char z = 0;

    memset(&t, 0, sizeof(t));
    if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%c", &t.tm_year,
                        &t.tm_mon, &t.tm_mday, &t.tm_hour, &t.tm_min,
                        &t.tm_sec, &z) != 7 || z != 'Z') {
        return 0;
    }
    t.tm_year -= 1900;
    t.tm_mon -= 1;
    return apr_time_exp_gmt_get(&out, &t) == APR_SUCCESS ? out : 0;
}
