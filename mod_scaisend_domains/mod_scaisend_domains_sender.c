/* mod_scaisend_domains_sender: GET /sender-status -- may this From: send,
 * and with which DKIM key -- for the send pipeline and tenant admins. */
#include "mod_scaisend_domains.h"
#include "ssd_domain.h"
#include "ssd_json.h"
#include "ssd_mailbox.h"

#include <apr_strings.h>

typedef struct {
    const char *from;
    const char *mode;
    const char *tenant_id;
} status_args_t;

static int take_param(ssd_req_t *q, const char *name, char *v, void *baton)
{
    status_args_t *a = baton;

    if (strcmp(name, "from") == 0) a->from = v;
    else if (strcmp(name, "mode") == 0) a->mode = v;
    else if (strcmp(name, "tenant_id") == 0) a->tenant_id = v;
    else return ssd_bad_param(q, name, "the parameters are from, mode and "
                              "tenant_id");
    return 0;
}

/* The domain of a From: address ("a@b" or "Name <a@b>"), normalised. */
static const char *from_domain(apr_pool_t *p, const char *from)
{
    const char *addr, *domain;
    ssd_domain_name_t name;

    if (ssd_mailbox_parse(p, from, &addr, &domain)
        || ssd_domain_normalise(p, domain, NULL, NULL, &name)) {
        return NULL;
    }
    return name.domain;
}

const char *ssd_sender_tenant(ssd_req_t *q, const char *asked)
{
    if (q->who.role != SSD_ROLE_TENANT_ADMIN) {
        return asked;
    }
    if (asked && strcmp(asked, q->who.tenant_id) != 0) {
        ssd_send_error(q->r, HTTP_FORBIDDEN, "forbidden", "a tenant admin "
                       "can ask for its own tenant only", "tenant_id");
        return NULL;
    }
    return q->who.tenant_id;
}

int ssd_sender_decide_for(ssd_req_t *q, const char *domain,
                          const char *tenant, int live,
                          ssd_send_verdict_t *v)
{
    apr_array_header_t *found;
    ssd_store_rc rc;

    if (!ssd_req_store(q)) {
        return -1;
    }
    rc = ssd_store_sender_domains(q->store, q->who.partner_id, tenant,
                                  domain, &found);
    if (rc != SSD_STORE_OK) {
        ssd_send_store_error(q, rc);
        return -1;
    }
    ssd_sender_decide(found, tenant, live, v);
    return 0;
}

json_object *ssd_sender_json(apr_pool_t *p, const char *domain,
                             const ssd_send_verdict_t *v)
{
    json_object *o = ssd_json_new_object(p), *dkim = NULL;

    ssd_json_add_str(o, "domain", domain);
    ssd_json_add_str(o, "decision", ssd_send_decision_name(v->decision));
    ssd_json_add_str(o, "reason", v->reason);
    ssd_json_add_str(o, "domain_id", v->domain ? v->domain->id : NULL);
    if (v->decision == SSD_SEND_DELIVER && v->domain->state
        && strcmp(v->domain->state, SSD_STATE_DEGRADED) == 0) {
        ssd_json_add_str(o, "warning", "the domain's DNS records failed "
                         "their last check: mail is still signed and sent, "
                         "but the domain will be unverified when the grace "
                         "period ends; fix the records and verify again");
    }
    if (v->decision == SSD_SEND_DELIVER) {
        dkim = json_object_new_object();
        ssd_json_add_str(dkim, "d", v->domain->domain);
        ssd_json_add_str(dkim, "selector", v->domain->dkim_selector);
    }
    json_object_object_add(o, "dkim", dkim);
    return o;
}

static int check_args(ssd_req_t *q, const status_args_t *a)
{
    if (!a->from) {
        return ssd_bad_param(q, "from", "from (the From: address) is "
                             "required");
    }
    if (!a->mode || (strcmp(a->mode, "live") && strcmp(a->mode, "test"))) {
        return ssd_bad_param(q, "mode", "mode must be live or test");
    }
    return 0;
}

int ssd_sender_status(ssd_req_t *q)
{
    status_args_t a = {NULL, NULL, NULL};
    const char *domain, *tenant;
    ssd_send_verdict_t v;
    json_object *o;

    if (ssd_parse_query(q, take_param, &a) != 0 || check_args(q, &a) != 0) {
        return OK;
    }
    if (!(domain = from_domain(q->r->pool, a.from))) {
        ssd_bad_param(q, "from", "from is not an address with a valid "
                      "domain");
        return OK;
    }
    tenant = ssd_sender_tenant(q, a.tenant_id);
    if ((q->who.role == SSD_ROLE_TENANT_ADMIN && !tenant)
        || ssd_sender_decide_for(q, domain, tenant, a.mode[0] == 'l', &v)) {
        return OK;
    }
    o = ssd_sender_json(q->r->pool, domain, &v);
    ssd_json_add_str(o, "from", a.from);
    ssd_json_add_str(o, "mode", a.mode);
    ssd_json_add_str(o, "tenant_id", tenant);
    return ssd_send_json(q->r, HTTP_OK, o);
}
