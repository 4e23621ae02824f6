/* mod_scaisend_domains_records: GET .../dns-records (JSON or zone file)
 * and GET .../dkim-keys. */
#include "mod_scaisend_domains.h"
#include "ssd_json.h"
#include "ssd_view.h"

#include <apr_strings.h>

/* The value of ?format=, "" when absent; NULL when other args are sent. */
static const char *format_arg(request_rec *r)
{
    const char *args = r->args;

    if (!args || !*args) {
        return "";
    }
    if (strncmp(args, "format=", 7) != 0 || strchr(args, '&')) {
        return NULL;
    }
    return args + 7;
}

int ssd_domain_dns_records(ssd_req_t *q, const char *id)
{
    const char *format = format_arg(q->r);
    apr_array_header_t *keys, *rows;
    ssd_domain_t *d;
    json_object *o;

    if (!format || (*format && strcmp(format, "json") != 0
                    && strcmp(format, "zone") != 0)) {
        return ssd_send_error(q->r, HTTP_BAD_REQUEST, "invalid_parameter",
                              "the only parameter is format=json or "
                              "format=zone", "format");
    }
    if (!(d = ssd_domain_load(q, id, SSD_ACCESS_READ))
        || !(rows = ssd_domain_rows(q, d, &keys))) {
        return OK;
    }
    if (strcmp(format, "zone") == 0) {
        return ssd_send_text(q->r, HTTP_OK, "text/dns",
                             ssd_zone_snippet(q->r->pool, rows,
                                              q->conf->zone_ttl));
    }
    o = ssd_json_new_object(q->r->pool);
    ssd_json_add_str(o, "id", d->id);
    ssd_json_add_str(o, "domain", d->domain);
    json_object_object_add(o, "dns_records", ssd_view_records(rows));
    return ssd_send_json(q->r, HTTP_OK, o);
}

int ssd_domain_dkim_keys(ssd_req_t *q, const char *id)
{
    apr_array_header_t *keys;
    ssd_domain_t *d;
    ssd_store_rc rc;

    if (!(d = ssd_domain_load(q, id, SSD_ACCESS_READ))) {
        return OK;
    }
    rc = ssd_store_keys_get(q->store, d->id, &keys);
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    return ssd_send_json(q->r, HTTP_OK, ssd_view_keys(q->r->pool, d, keys,
                                                      q->conf->key_overlap_s));
}
