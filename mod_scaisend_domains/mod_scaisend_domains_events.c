/* mod_scaisend_domains_events: GET /domains/{id}/events -- the audit
 * trail of one domain, newest first, with the list's cursor pagination. */
#include "mod_scaisend_domains.h"
#include "ssd_json.h"

#define LIMIT_DEFAULT 50

typedef struct {
    int limit;
    const char *after_id;
} page_t;

static int take_param(ssd_req_t *q, const char *name, char *v, void *baton)
{
    page_t *page = baton;

    if (strcmp(name, "limit") == 0) {
        return ssd_parse_limit(q, v, &page->limit);
    }
    if (strcmp(name, "cursor") == 0) {
        return ssd_parse_cursor(q, v, "evt_", &page->after_id);
    }
    return ssd_bad_param(q, name, "the parameters are limit and cursor");
}

static json_object *event_json(const ssd_event_row_t *e)
{
    json_object *o = json_object_new_object();

    ssd_json_add_str(o, "id", e->id);
    ssd_json_add_str(o, "at", e->at);
    ssd_json_add_str(o, "sub", e->sub);
    ssd_json_add_str(o, "action", e->action);
    json_object_object_add(o, "changes", e->changes
                           ? json_tokener_parse(e->changes) : NULL);
    return o;
}

static json_object *events_page(apr_pool_t *p, const apr_array_header_t *rows,
                                int limit)
{
    json_object *o = ssd_json_new_object(p), *data = json_object_new_array();
    int i, n = rows->nelts > limit ? limit : rows->nelts;

    for (i = 0; i < n; i++) {
        json_object_array_add(
            data, event_json(&APR_ARRAY_IDX(rows, i, ssd_event_row_t)));
    }
    json_object_object_add(o, "data", data);
    ssd_json_add_str(o, "next_cursor", rows->nelts > limit
                     ? APR_ARRAY_IDX(rows, n - 1, ssd_event_row_t).id : NULL);
    return o;
}

int ssd_domain_events(ssd_req_t *q, const char *id)
{
    page_t page = {LIMIT_DEFAULT, NULL};
    apr_array_header_t *rows;
    ssd_domain_t *d;
    ssd_store_rc rc;

    if (ssd_parse_query(q, take_param, &page) != 0
        || !(d = ssd_domain_load(q, id, SSD_ACCESS_READ))) {
        return OK;
    }
    rc = ssd_store_events_list(q->store, d->id, page.after_id,
                               page.limit + 1, &rows);
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    return ssd_send_json(q->r, HTTP_OK, events_page(q->r->pool, rows,
                                                     page.limit));
}
