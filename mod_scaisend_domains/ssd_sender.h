/* ssd_sender: may this From: domain send? The product page's table. */
#ifndef SSD_SENDER_H
#define SSD_SENDER_H

#include "ssd_model.h"

typedef enum {
    SSD_SEND_DELIVER,   /* live, verified and active: sign and send */
    SSD_SEND_FAIL,      /* live, not verified: accepted, then failed */
    SSD_SEND_SANDBOX,   /* test mode: no delivery, no domain check */
    SSD_SEND_REJECT     /* inactive domain: refused at queue time */
} ssd_send_decision_e;

typedef struct {
    ssd_send_decision_e decision;
    const char *reason;             /* NULL for deliver and sandbox */
    const ssd_domain_t *domain;     /* the record decided on, or NULL */
} ssd_send_verdict_t;

/* candidates: the records of the From: domain the tenant may use (its own
 * and its partner's shared ones, as ssd_domain_t *). The best one counts:
 * verified and active first, the tenant's own before the partner's. */
void ssd_sender_decide(const apr_array_header_t *candidates,
                       const char *tenant_id, int live,
                       ssd_send_verdict_t *out);

const char *ssd_send_decision_name(ssd_send_decision_e d);

#endif
