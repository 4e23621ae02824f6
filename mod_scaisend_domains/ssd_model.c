/* ssd_model: small helpers over the model structs. */
#include "ssd_model.h"

#include <apr_strings.h>
#include <apr_time.h>

const char *ssd_owner_key(apr_pool_t *p, const char *partner_id,
                          const char *tenant_id)
{
    if (!tenant_id) {
        return apr_pstrcat(p, "p:", partner_id, NULL);
    }
    return apr_pstrcat(p, "t:", partner_id, ":", tenant_id, NULL);
}

const char *ssd_now_rfc3339(apr_pool_t *p)
{
    apr_time_exp_t t;
    char buf[32];
    apr_size_t len;

    apr_time_exp_gmt(&t, apr_time_now());
    apr_strftime(buf, &len, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t);
    return apr_pstrmemdup(p, buf, len);
}
