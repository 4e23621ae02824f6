/* ssd_policy: who may do what to which domain (api.md section 1). Pure
 * decisions over the principal and the domain; no I/O. */
#ifndef SSD_POLICY_H
#define SSD_POLICY_H

#include "ssd_model.h"

typedef enum {
    SSD_ROLE_TENANT_ADMIN,
    SSD_ROLE_PARTNER_OPERATOR,
    SSD_ROLE_SENDER
} ssd_role_e;

typedef struct {
    const char *sub;
    const char *partner_id;
    const char *tenant_id;          /* NULL for a partner-level caller */
    ssd_role_e role;
} ssd_principal_t;

typedef enum {
    SSD_ALLOW = 0,
    SSD_DENY_HIDDEN,                /* answer 404: the caller may not see it */
    SSD_DENY_READ_ONLY,             /* 403 shared_domain_read_only */
    SSD_DENY_ROLE                   /* 403: the role may not do this */
} ssd_decision_e;

typedef enum { SSD_ACCESS_READ, SSD_ACCESS_WRITE } ssd_access_e;

/* Parse a role claim; returns -1 for an unknown role. */
int ssd_role_parse(const char *text);

/* May the principal use the domain admin routes at all? */
ssd_decision_e ssd_policy_admin(const ssd_principal_t *who);

/* May the principal read or change this domain? */
ssd_decision_e ssd_policy_domain(const ssd_principal_t *who,
                                 const ssd_domain_t *d, ssd_access_e access);

/* May the principal create a domain owned by tenant_id (NULL: the partner)
 * with the given is_shared? */
ssd_decision_e ssd_policy_create(const ssd_principal_t *who,
                                 const char *tenant_id, int is_shared);

#endif
