/* mod_scaisend_domains_domains: create, read, change and delete a sender
 * domain (POST /domains, GET|PATCH|DELETE /domains/{id}). */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_id.h"
#include "ssd_input.h"
#include "ssd_json.h"
#include "ssd_keymaker.h"
#include "ssd_records.h"
#include "ssd_view.h"

#include <apr_strings.h>

static int send_input_error(ssd_req_t *q, const ssd_input_error_t *e)
{
    return ssd_send_error(q->r, HTTP_BAD_REQUEST, e->code, e->message,
                          e->field);
}

/* Parse and check a body; 0, or -1 once the error is sent. */
static int read_input(ssd_req_t *q, ssd_input_mode_e mode,
                      ssd_domain_input_t *in)
{
    ssd_name_rules_t rules;
    ssd_input_error_t err;
    json_object *body = ssd_read_json(q);

    if (!body) {
        return -1;
    }
    rules.selector_base = q->conf->selector_base;
    rules.reserved = ssd_conf_reserved(q->r->pool, q->conf);
    if (ssd_input_domain(q->r->pool, body, mode, &rules, in, &err) != 0) {
        send_input_error(q, &err);
        return -1;
    }
    return 0;
}

/* The domain with its DNS records; keys as the caller's transaction saw
 * them, or NULL to read them now. */
static int send_domain(ssd_req_t *q, int status, const ssd_domain_t *d,
                       const apr_array_header_t *keys)
{
    apr_array_header_t *read, *rows;

    rows = keys ? ssd_records_for_domain(q->r->pool, d, keys,
                                         q->conf->spf_include)
                : ssd_domain_rows(q, d, &read);

    if (!rows) {
        return OK;
    }
    return ssd_send_json(q->r, status,
                         ssd_json_bind(q->r->pool,
                                       ssd_view_domain(q->r->pool, d, rows)));
}

/* The owner of a new domain; NULL tenant means the partner itself. */
static int creation_allowed(ssd_req_t *q, ssd_domain_input_t *in)
{
    if (q->who.role == SSD_ROLE_TENANT_ADMIN && !in->tenant_id) {
        in->tenant_id = q->who.tenant_id;
    }
    if (ssd_policy_create(&q->who, in->tenant_id, in->is_shared > 0)
        != SSD_ALLOW) {
        ssd_send_error(q->r, HTTP_FORBIDDEN, "forbidden", in->is_shared > 0
                       ? "only a partner operator can share a domain"
                       : "a tenant admin can create domains for its own "
                         "tenant only", in->is_shared > 0 ? "is_shared"
                                                          : "tenant_id");
        return 0;
    }
    if (in->is_shared > 0 && in->tenant_id) {
        ssd_send_error(q->r, HTTP_BAD_REQUEST, "invalid_value", "only a "
                       "partner-owned domain (no tenant_id) can be shared",
                       "is_shared");
        return 0;
    }
    return 1;
}

/* How soon after its creation a domain is checked in the background. */
static apr_int64_t first_recheck(const ssd_conf_t *c)
{
    ssd_schedule_t sc = ssd_conf_schedule(c);
    ssd_vstate_t v;

    ssd_recheck_new(&sc, &v, 0);
    return v.next_check_ms;
}

static ssd_domain_t *new_domain(ssd_req_t *q, const ssd_domain_input_t *in)
{
    ssd_domain_t *d = apr_pcalloc(q->r->pool, sizeof(*d));

    d->id = ssd_id_new(q->r->pool, "dom_");
    d->partner_id = q->who.partner_id;
    d->tenant_id = in->tenant_id;
    d->domain = in->domain;
    d->dkim_selector = q->conf->selector_base;
    d->dkim_algorithms = in->dkim_algorithms ? in->dkim_algorithms
                                             : q->conf->dkim_algorithms;
    d->dmarc_policy = in->dmarc_policy ? in->dmarc_policy : "none";
    d->dmarc_rua_email = in->has_rua ? in->dmarc_rua_email : NULL;
    d->is_shared = in->is_shared > 0;
    d->is_active = in->is_active != 0;
    d->created_at = d->updated_at = ssd_now_rfc3339(q->r->pool);
    d->state = SSD_STATE_PENDING;
    d->next_check_ms = first_recheck(q->conf);
    return d;
}

/* The active keys of a new domain, one per algorithm (the Ed25519 one on
 * the twin selector), their private parts wrapped; NULL on failure. */
static apr_array_header_t *new_keys(ssd_req_t *q, const ssd_domain_t *d)
{
    ssd_keymaker_t m = {q->r->pool, q->conf->kek, d->id, q->conf->key_bits,
                        NULL};
    unsigned algs = ssd_dkim_algs_parse(d->dkim_algorithms);
    apr_array_header_t *keys = apr_array_make(q->r->pool, 2,
                                              sizeof(ssd_dkim_key_t));
    int i;

    for (i = 0; i < SSD_DKIM_ALG_COUNT; i++) {
        ssd_dkim_key_t *k;

        if (!(algs & SSD_DKIM_ALG_BIT(i))) {
            continue;
        }
        k = apr_array_push(keys);
        memset(k, 0, sizeof(*k));
        k->domain_id = d->id;
        k->selector = i == SSD_DKIM_RSA
                      ? d->dkim_selector
                      : ssd_dkim_twin_selector(q->r->pool, d->dkim_selector);
        k->state = "active";
        k->created_at = k->activated_at = d->created_at;
        if ((i == SSD_DKIM_RSA && ssd_keymaker_generate_rsa(&m) != APR_SUCCESS)
            || ssd_keymaker_make(&m, (ssd_dkim_alg_t)i, k->selector, k) != 0) {
            SSD_RLOG(APLOG_ERR, 0, q->r, 301, "DKIM key generation failed");
            return NULL;
        }
    }
    return keys;
}

static const char *created_changes(apr_pool_t *p, const ssd_domain_t *d)
{
    json_object *o = ssd_json_new_object(p);

    ssd_json_add_str(o, "domain", d->domain);
    ssd_json_add_str(o, "tenant_id", d->tenant_id);
    ssd_json_add_str(o, "dmarc_policy", d->dmarc_policy);
    ssd_json_add_str(o, "dmarc_rua_email", d->dmarc_rua_email);
    ssd_json_add_bool(o, "is_shared", d->is_shared);
    ssd_json_add_bool(o, "is_active", d->is_active);
    ssd_json_add_str(o, "dkim_selector", d->dkim_selector);
    json_object_object_add(o, "dkim_algorithms",
                           ssd_view_algorithms(d->dkim_algorithms));
    return ssd_json_to_string(p, o);
}

static int send_exists(ssd_req_t *q, const ssd_domain_t *d)
{
    return ssd_send_error(q->r, HTTP_CONFLICT, "domain_exists",
                          apr_psprintf(q->r->pool, "%s is already registered "
                                       "for this owner", d->domain),
                          "domain");
}

/* A quota does not clear with time: no Retry-After. */
static int send_quota(ssd_req_t *q)
{
    return ssd_send_error(q->r, HTTP_TOO_MANY_REQUESTS, "quota_exceeded",
                          apr_psprintf(q->r->pool, "this owner holds %d "
                                       "domains, the most allowed: delete "
                                       "unused ones first",
                                       q->conf->max_domains), NULL);
}

static int store_new_domain(ssd_req_t *q, ssd_domain_t *d,
                            const apr_array_header_t *keys)
{
    ssd_event_t ev = {q->who.sub, "domain.created", NULL, NULL, NULL, NULL};
    ssd_store_rc rc;

    ev.changes = created_changes(q->r->pool, d);
    rc = ssd_store_domain_create(q->store, d, keys, &ev, q->conf->max_domains);
    if (rc == SSD_STORE_CONFLICT) {
        return send_exists(q, d);
    }
    if (rc == SSD_STORE_LIMIT) {
        return send_quota(q);
    }
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    apr_table_setn(q->r->headers_out, "Location",
                   apr_pstrcat(q->r->pool, q->conf->api_base, "/domains/",
                               d->id, NULL));
    return send_domain(q, HTTP_CREATED, d, keys);
}

/* A plain duplicate or a full quota is answered before a key generation
 * is spent on it (the transaction still decides races). 1 when the
 * create may go on; 0 once the answer is sent. */
static int may_create(ssd_req_t *q, const ssd_domain_t *d)
{
    const char *owner = ssd_owner_key(q->r->pool, d->partner_id,
                                      d->tenant_id);
    ssd_store_rc rc = ssd_store_domain_find(q->store, owner, d->domain);
    int held = 0;

    if (rc == SSD_STORE_OK) {
        send_exists(q, d);
        return 0;
    }
    if (rc == SSD_STORE_NOT_FOUND && q->conf->max_domains > 0) {
        rc = ssd_store_owner_count(q->store, owner, &held);
        if (rc == SSD_STORE_OK && held >= q->conf->max_domains) {
            send_quota(q);
            return 0;
        }
        rc = rc == SSD_STORE_OK ? SSD_STORE_NOT_FOUND : rc;
    }
    if (rc != SSD_STORE_NOT_FOUND) {
        ssd_send_store_error(q, rc);
        return 0;
    }
    return 1;
}

int ssd_domains_create(ssd_req_t *q)
{
    ssd_domain_input_t in;
    apr_array_header_t *keys;
    ssd_domain_t *d;

    if (read_input(q, SSD_INPUT_CREATE, &in) != 0
        || !creation_allowed(q, &in) || !ssd_req_store(q)) {
        return OK;
    }
    d = new_domain(q, &in);
    if (!may_create(q, d)) {
        return OK;
    }
    /* the key generation (up to a second of CPU) holds no connection */
    ssd_req_store_release(q);
    if (!(keys = new_keys(q, d))) {
        return ssd_send_error(q->r, HTTP_INTERNAL_SERVER_ERROR,
                              "internal_error", "the DKIM key could not be "
                              "generated", NULL);
    }
    return ssd_req_store(q) ? store_new_domain(q, d, keys) : OK;
}

int ssd_domain_get(ssd_req_t *q, const char *id)
{
    ssd_domain_t *d = ssd_domain_load(q, id, SSD_ACCESS_READ);

    return d ? send_domain(q, HTTP_OK, d, NULL) : OK;
}

/* Record one change as {"field": {"from": a, "to": b}}. */
static void change_str(json_object *changes, const char *field,
                       const char *from, const char *to)
{
    json_object *c;

    if ((!from && !to) || (from && to && strcmp(from, to) == 0)) {
        return;
    }
    c = json_object_new_object();
    ssd_json_add_str(c, "from", from);
    ssd_json_add_str(c, "to", to);
    json_object_object_add(changes, field, c);
}

static void change_bool(json_object *changes, const char *field, int *value,
                        int to)
{
    json_object *c;

    if (to < 0 || *value == to) {
        return;
    }
    c = json_object_new_object();
    ssd_json_add_bool(c, "from", *value);
    ssd_json_add_bool(c, "to", to);
    json_object_object_add(changes, field, c);
    *value = to;
}

static void change_algorithms(json_object *changes, const char *from,
                              const char *to)
{
    json_object *c = json_object_new_object();

    json_object_object_add(c, "from", ssd_view_algorithms(from));
    json_object_object_add(c, "to", ssd_view_algorithms(to));
    json_object_object_add(changes, "dkim_algorithms", c);
}

/* Apply the input to d, as the store read it under its lock; the changes
 * as JSON text, NULL when there are none. */
static const char *apply_patch(void *baton, apr_pool_t *p, ssd_domain_t *d)
{
    const ssd_domain_input_t *in = baton;
    json_object *changes = ssd_json_new_object(p);

    if (in->dmarc_policy) {
        change_str(changes, "dmarc_policy", d->dmarc_policy,
                   in->dmarc_policy);
        d->dmarc_policy = in->dmarc_policy;
    }
    if (in->has_rua) {
        change_str(changes, "dmarc_rua_email", d->dmarc_rua_email,
                   in->dmarc_rua_email);
        d->dmarc_rua_email = in->dmarc_rua_email;
    }
    change_bool(changes, "is_active", &d->is_active, in->is_active);
    change_bool(changes, "is_shared", &d->is_shared, in->is_shared);
    if (in->dkim_algorithms
        && ssd_dkim_algs_parse(in->dkim_algorithms)
           != ssd_dkim_algs_parse(d->dkim_algorithms)) {
        change_algorithms(changes, d->dkim_algorithms, in->dkim_algorithms);
        d->dkim_algorithms = in->dkim_algorithms;
    }
    if (json_object_object_length(changes) == 0) {
        return NULL;
    }
    d->updated_at = ssd_now_rfc3339(p);
    return ssd_json_to_string(p, changes);
}

static int patch_allowed(ssd_req_t *q, const ssd_domain_t *d,
                         const ssd_domain_input_t *in)
{
    if (in->is_shared >= 0 && q->who.role != SSD_ROLE_PARTNER_OPERATOR) {
        ssd_send_error(q->r, HTTP_FORBIDDEN, "forbidden", "only a partner "
                       "operator can change is_shared", "is_shared");
        return 0;
    }
    if (in->is_shared > 0 && d->tenant_id) {
        ssd_send_error(q->r, HTTP_BAD_REQUEST, "invalid_value", "only a "
                       "partner-owned domain can be shared", "is_shared");
        return 0;
    }
    return 1;
}

int ssd_domain_patch(ssd_req_t *q, const char *id)
{
    ssd_domain_t *d = ssd_domain_load(q, id, SSD_ACCESS_WRITE);
    ssd_domain_input_t in;
    ssd_patch_t patch;
    ssd_keymaker_t m;
    apr_array_header_t *keys;
    ssd_store_rc rc;

    if (!d || read_input(q, SSD_INPUT_PATCH, &in) != 0
        || !patch_allowed(q, d, &in)) {
        return OK;
    }
    /* an algorithm turned on gets an Ed25519 key, made in the transaction
     * (an RSA one is never turned on: RSA is always there) */
    m = (ssd_keymaker_t){q->r->pool, q->conf->kek, d->id, q->conf->key_bits,
                         NULL};
    patch.apply = apply_patch;
    patch.baton = &in;
    patch.sub = q->who.sub;
    patch.make = ssd_keymaker_make;
    patch.make_baton = &m;
    rc = ssd_store_domain_patch(q->store, d->id, &patch, &d, &keys);
    return rc == SSD_STORE_OK ? send_domain(q, HTTP_OK, d, keys)
                              : ssd_send_store_error(q, rc);
}

int ssd_domain_delete(ssd_req_t *q, const char *id)
{
    ssd_domain_t *d = ssd_domain_load(q, id, SSD_ACCESS_WRITE);
    ssd_event_t ev = {q->who.sub, "domain.deleted", NULL, NULL, NULL, NULL};
    ssd_store_rc rc;

    if (!d) {
        return OK;
    }
    ev.previous = d->state;
    ev.changes = created_changes(q->r->pool, d);
    rc = ssd_store_domain_delete(q->store, d, &ev);
    return rc == SSD_STORE_OK ? ssd_send_no_content(q->r)
                              : ssd_send_store_error(q, rc);
}
