/* ssd_view: model -> JSON. Keys keep the product page's order. */
#include "ssd_view.h"
#include "ssd_json.h"

#include <stdlib.h>
#include <string.h>
#include <idn2.h>
#include <apr_strings.h>

static json_object *record_json(const ssd_dns_record_t *r)
{
    json_object *o = json_object_new_object();

    ssd_json_add_str(o, "type", r->type);
    ssd_json_add_str(o, "host", r->host);
    ssd_json_add_str(o, "value", r->value);
    ssd_json_add_str(o, "purpose", r->purpose);
    if (r->selector) {
        ssd_json_add_str(o, "selector", r->selector);
        ssd_json_add_str(o, "key_state", r->key_state);
    }
    ssd_json_add_str(o, "status", r->status);
    return o;
}

json_object *ssd_view_records(const apr_array_header_t *rows)
{
    json_object *a = json_object_new_array();
    int i;

    for (i = 0; i < rows->nelts; i++) {
        json_object_array_add(
            a, record_json(&APR_ARRAY_IDX(rows, i, ssd_dns_record_t)));
    }
    return a;
}

/* The U-label form of an A-label domain, or NULL when it is plain ASCII. */
static const char *unicode_form(apr_pool_t *p, const char *domain)
{
    char *u = NULL;
    const char *copy;

    if (!strstr(domain, "xn--")
        || idn2_to_unicode_8z8z(domain, &u, 0) != IDN2_OK) {
        return NULL;
    }
    copy = apr_pstrdup(p, u);
    idn2_free(u);
    return copy;
}

static void add_verification(json_object *o, const char *text)
{
    json_object *v = text ? json_tokener_parse(text) : NULL;

    json_object_object_add(o, "last_verification", v);
}

json_object *ssd_view_domain(apr_pool_t *p, const ssd_domain_t *d,
                             const apr_array_header_t *rows)
{
    json_object *o = json_object_new_object();
    const char *u = unicode_form(p, d->domain);

    ssd_json_add_str(o, "id", d->id);
    ssd_json_add_str(o, "domain", d->domain);
    if (u) {
        ssd_json_add_str(o, "domain_unicode", u);
    }
    ssd_json_add_bool(o, "verified", d->verified);
    ssd_json_add_str(o, "dkim_selector", d->dkim_selector);
    ssd_json_add_str(o, "dmarc_policy", d->dmarc_policy);
    ssd_json_add_str(o, "dmarc_rua_email", d->dmarc_rua_email);
    ssd_json_add_bool(o, "is_shared", d->is_shared);
    ssd_json_add_bool(o, "is_active", d->is_active);
    json_object_object_add(o, "dns_records", ssd_view_records(rows));
    ssd_json_add_str(o, "partner_id", d->partner_id);
    ssd_json_add_str(o, "tenant_id", d->tenant_id);
    ssd_json_add_str(o, "created_at", d->created_at);
    ssd_json_add_str(o, "updated_at", d->updated_at);
    ssd_json_add_str(o, "verified_at", d->verified_at);
    add_verification(o, d->last_verification);
    ssd_json_add_str(o, "verification_state",
                     d->state ? d->state : "pending");
    return o;
}

static int safe_to_remove(const ssd_dkim_key_t *k, int overlap_s)
{
    apr_time_t retired = ssd_time_from_rfc3339(k->retired_at);

    return strcmp(k->state, "retired") == 0 && retired
           && retired + apr_time_from_sec(overlap_s) <= apr_time_now();
}

static json_object *key_json(apr_pool_t *p, const ssd_domain_t *d,
                             const ssd_dkim_key_t *k, int overlap_s)
{
    json_object *o = json_object_new_object();

    ssd_json_add_str(o, "selector", k->selector);
    ssd_json_add_str(o, "state", k->state);
    ssd_json_add_int(o, "bits", k->bits);
    ssd_json_add_str(o, "host", ssd_record_dkim_host(p, k->selector,
                                                     d->domain));
    ssd_json_add_str(o, "value", ssd_record_dkim_value(p, k->public_key));
    ssd_json_add_str(o, "created_at", k->created_at);
    ssd_json_add_str(o, "activated_at", k->activated_at);
    ssd_json_add_str(o, "retired_at", k->retired_at);
    ssd_json_add_str(o, "dns_status", k->dns_status);
    ssd_json_add_bool(o, "safe_to_remove", safe_to_remove(k, overlap_s));
    return o;
}

json_object *ssd_view_keys(apr_pool_t *p, const ssd_domain_t *d,
                           const apr_array_header_t *keys, int overlap_s)
{
    json_object *o = ssd_json_new_object(p), *a = json_object_new_array();
    int i;

    for (i = 0; i < keys->nelts; i++) {
        json_object_array_add(
            a, key_json(p, d, &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t),
                        overlap_s));
    }
    ssd_json_add_str(o, "id", d->id);
    ssd_json_add_str(o, "domain", d->domain);
    json_object_object_add(o, "data", a);
    return o;
}

json_object *ssd_view_error(apr_pool_t *p, const char *code,
                            const char *message, const char *field)
{
    json_object *o = ssd_json_new_object(p), *e = json_object_new_object();

    ssd_json_add_str(e, "code", code);
    ssd_json_add_str(e, "message", message);
    if (field) {
        ssd_json_add_str(e, "field", field);
    }
    json_object_object_add(o, "error", e);
    return o;
}
