/* ssd_policy: the authorisation table of api.md section 1. */
#include "ssd_policy.h"

#include <string.h>

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

int ssd_role_parse(const char *text)
{
    if (!text) {
        return -1;
    }
    if (strcmp(text, "tenant_admin") == 0) {
        return SSD_ROLE_TENANT_ADMIN;
    }
    if (strcmp(text, "partner_operator") == 0) {
        return SSD_ROLE_PARTNER_OPERATOR;
    }
    if (strcmp(text, "sender") == 0) {
        return SSD_ROLE_SENDER;
    }
    return -1;
}

ssd_decision_e ssd_policy_admin(const ssd_principal_t *who)
{
    return who->role == SSD_ROLE_SENDER ? SSD_DENY_ROLE : SSD_ALLOW;
}

static int tenant_may_read(const ssd_principal_t *who, const ssd_domain_t *d)
{
    return same(d->tenant_id, who->tenant_id)
           || (!d->tenant_id && d->is_shared);
}

ssd_decision_e ssd_policy_domain(const ssd_principal_t *who,
                                 const ssd_domain_t *d, ssd_access_e access)
{
    if (ssd_policy_admin(who) != SSD_ALLOW) {
        return SSD_DENY_ROLE;
    }
    if (!same(d->partner_id, who->partner_id)) {
        return SSD_DENY_HIDDEN;
    }
    if (who->role == SSD_ROLE_PARTNER_OPERATOR) {
        return SSD_ALLOW;
    }
    if (!tenant_may_read(who, d)) {
        return SSD_DENY_HIDDEN;
    }
    if (access == SSD_ACCESS_WRITE && !same(d->tenant_id, who->tenant_id)) {
        return SSD_DENY_READ_ONLY;
    }
    return SSD_ALLOW;
}

ssd_decision_e ssd_policy_create(const ssd_principal_t *who,
                                 const char *tenant_id, int is_shared)
{
    if (ssd_policy_admin(who) != SSD_ALLOW) {
        return SSD_DENY_ROLE;
    }
    if (who->role == SSD_ROLE_PARTNER_OPERATOR) {
        return SSD_ALLOW;
    }
    if (is_shared || !same(tenant_id, who->tenant_id)) {
        return SSD_DENY_ROLE;
    }
    return SSD_ALLOW;
}
