/* ssd_sender: the send decision of api.md section 6. */
#include "ssd_sender.h"

#include <string.h>

static int rank(const ssd_domain_t *d, const char *tenant_id)
{
    int own = d->tenant_id && tenant_id && strcmp(d->tenant_id, tenant_id) == 0;
    int usable = d->verified && d->is_active;

    return (usable ? 0 : 2) + (own ? 0 : 1);
}

static const ssd_domain_t *best(const apr_array_header_t *candidates,
                                const char *tenant_id)
{
    const ssd_domain_t *pick = NULL;
    int i;

    for (i = 0; candidates && i < candidates->nelts; i++) {
        const ssd_domain_t *d = APR_ARRAY_IDX(candidates, i, ssd_domain_t *);

        if (!pick || rank(d, tenant_id) < rank(pick, tenant_id)) {
            pick = d;
        }
    }
    return pick;
}

void ssd_sender_decide(const apr_array_header_t *candidates,
                       const char *tenant_id, int live,
                       ssd_send_verdict_t *out)
{
    const ssd_domain_t *d = best(candidates, tenant_id);

    out->domain = d;
    out->reason = NULL;
    if (d && !d->is_active) {
        out->decision = SSD_SEND_REJECT;
        out->reason = "domain inactive";
    }
    else if (!live) {
        out->decision = SSD_SEND_SANDBOX;
    }
    else if (d && d->verified) {
        out->decision = SSD_SEND_DELIVER;
    }
    else {
        out->decision = SSD_SEND_FAIL;
        out->reason = "domain not verified";
    }
}

const char *ssd_send_decision_name(ssd_send_decision_e d)
{
    switch (d) {
    case SSD_SEND_DELIVER: return "deliver";
    case SSD_SEND_FAIL: return "fail";
    case SSD_SEND_SANDBOX: return "sandbox";
    default: return "reject";
    }
}
