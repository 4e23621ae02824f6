/* mod_scaisend_domains_access: load one domain for a caller, answering
 * 404 for what it may not see and 403 for what it may only read. */
#include "mod_scaisend_domains.h"
#include "ssd_id.h"
#include "ssd_records.h"

static ssd_domain_t *hidden(ssd_req_t *q)
{
    ssd_send_error(q->r, HTTP_NOT_FOUND, "not_found", "no such domain",
                   NULL);
    return NULL;
}

static ssd_domain_t *denied(ssd_req_t *q, ssd_decision_e decision)
{
    if (decision == SSD_DENY_HIDDEN) {
        return hidden(q);
    }
    if (decision == SSD_DENY_READ_ONLY) {
        ssd_send_error(q->r, HTTP_FORBIDDEN, "shared_domain_read_only",
                       "this shared domain belongs to the partner; tenants "
                       "may use it but not change it", NULL);
        return NULL;
    }
    ssd_send_error(q->r, HTTP_FORBIDDEN, "forbidden",
                   "this role may not do that", NULL);
    return NULL;
}

ssd_domain_t *ssd_domain_load(ssd_req_t *q, const char *id,
                              ssd_access_e access)
{
    ssd_store_t *st;
    ssd_domain_t *d = NULL;
    ssd_store_rc rc;
    ssd_decision_e decision;

    if (!ssd_id_is_valid(id, "dom_")) {
        return hidden(q);
    }
    if (!(st = ssd_req_store(q))) {
        return NULL;
    }
    rc = ssd_store_domain_get(st, id, &d);
    if (rc != SSD_STORE_OK) {
        ssd_send_store_error(q, rc);
        return NULL;
    }
    decision = ssd_policy_domain(&q->who, d, access);
    return decision == SSD_ALLOW ? d : denied(q, decision);
}

apr_array_header_t *ssd_domain_rows(ssd_req_t *q, const ssd_domain_t *d,
                                    apr_array_header_t **keys)
{
    ssd_store_rc rc = ssd_store_keys_get(q->store, d->id, keys);

    /* a live domain always has its active RSA key: none means a delete
     * committed since the domain was read */
    if (rc == SSD_STORE_OK && (*keys)->nelts == 0) {
        rc = SSD_STORE_NOT_FOUND;
    }
    if (rc != SSD_STORE_OK) {
        ssd_send_store_error(q, rc);
        return NULL;
    }
    return ssd_records_for_domain(q->r->pool, d, *keys,
                                  q->conf->spf_include);
}
