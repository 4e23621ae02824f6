/* mod_scaisend_domains_list: GET /domains -- newest first, keyset cursor
 * pagination, filters verified, is_active, is_shared and q. */
#include "mod_scaisend_domains.h"
#include "ssd_id.h"
#include "ssd_json.h"
#include "ssd_view.h"

#include <apr_strings.h>

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 200
#define Q_MAX 253

int ssd_bad_param(ssd_req_t *q, const char *name, const char *message)
{
    ssd_send_error(q->r, HTTP_BAD_REQUEST, "invalid_parameter", message,
                   name);
    return -1;
}

static int parse_flag(ssd_req_t *q, const char *name, const char *v,
                      int *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        *out = v[0] == 't';
        return 0;
    }
    return ssd_bad_param(q, name, apr_pstrcat(q->r->pool, name, " must be true "
                                          "or false", NULL));
}

int ssd_parse_limit(ssd_req_t *q, const char *v, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (!*v || *end || n < 1 || n > LIMIT_MAX) {
        return ssd_bad_param(q, "limit", "limit must be a number from 1 to 200");
    }
    *out = (int)n;
    return 0;
}

static int parse_q(ssd_req_t *q, char *v, const char **out)
{
    if (strlen(v) > Q_MAX) {
        return ssd_bad_param(q, "q", "q is longer than a domain name can be");
    }
    ap_str_tolower(v);
    *out = *v ? v : NULL;
    return 0;
}

int ssd_parse_cursor(ssd_req_t *q, const char *v, const char *prefix,
                     const char **out)
{
    if (!ssd_id_is_valid(v, prefix)) {
        return ssd_bad_param(q, "cursor", "cursor is not one this API issued");
    }
    *out = v;
    return 0;
}

static int take_param(ssd_req_t *q, const char *name, char *v, void *baton)
{
    ssd_list_query_t *lq = baton;

    if (strcmp(name, "limit") == 0) return ssd_parse_limit(q, v, &lq->limit);
    if (strcmp(name, "cursor") == 0)
        return ssd_parse_cursor(q, v, "dom_", &lq->after_id);
    if (strcmp(name, "q") == 0) return parse_q(q, v, &lq->q);
    if (strcmp(name, "verified") == 0)
        return parse_flag(q, name, v, &lq->verified);
    if (strcmp(name, "is_active") == 0)
        return parse_flag(q, name, v, &lq->is_active);
    if (strcmp(name, "is_shared") == 0)
        return parse_flag(q, name, v, &lq->is_shared);
    return ssd_bad_param(q, name, apr_pstrcat(q->r->pool, "unknown parameter '",
                                          name, "'", NULL));
}

/* Parse name=value pairs, each name at most once, handing each to take. */
int ssd_parse_query(ssd_req_t *q, ssd_param_fn take, void *baton)
{
    char *args = apr_pstrdup(q->r->pool, q->r->args ? q->r->args : "");
    char *pair, *state, *v;
    apr_table_t *seen = apr_table_make(q->r->pool, 8);

    for (pair = apr_strtok(args, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        v = strchr(pair, '=');
        if (v) *v++ = '\0';
        if (ap_unescape_urlencoded(pair) != OK || !v
            || ap_unescape_urlencoded(v) != OK) {
            return ssd_bad_param(q, pair, "malformed query parameter");
        }
        if (ssd_utf8_valid_len(pair, strlen(pair)) != strlen(pair)
            || ssd_utf8_valid_len(v, strlen(v)) != strlen(v)) {
            return ssd_bad_param(q, pair, "a query parameter is not UTF-8");
        }
        if (apr_table_get(seen, pair)) {
            return ssd_bad_param(q, pair, apr_pstrcat(q->r->pool, "parameter '",
                             pair, "' given twice", NULL));
        }
        apr_table_setn(seen, pair, "1");
        if (take(q, pair, v, baton) != 0) return -1;
    }
    return 0;
}

static void init_query(ssd_req_t *q, ssd_list_query_t *lq)
{
    memset(lq, 0, sizeof(*lq));
    lq->partner_id = q->who.partner_id;
    lq->tenant_id = q->who.role == SSD_ROLE_PARTNER_OPERATOR
                        ? NULL : q->who.tenant_id;
    lq->verified = lq->is_active = lq->is_shared = -1;
    lq->limit = LIMIT_DEFAULT;
}

static json_object *domain_with_keys(ssd_req_t *q, const ssd_domain_t *d,
                                     apr_hash_t *keys_by_domain)
{
    apr_array_header_t *keys = apr_hash_get(keys_by_domain, d->id,
                                            APR_HASH_KEY_STRING);

    if (!keys) {
        keys = apr_array_make(q->r->pool, 0, sizeof(ssd_dkim_key_t));
    }
    return ssd_view_domain(q->r->pool, d,
                           ssd_records_for_domain(q->r->pool, d, keys,
                                                  q->conf->spf_include));
}

/* One page: the domains found (limit + 1 say whether more exist) and their
 * keys, read in one more query over the page's id range. */
static json_object *page_json(ssd_req_t *q, const ssd_list_query_t *lq,
                              apr_array_header_t *found, int limit)
{
    json_object *o = ssd_json_new_object(q->r->pool);
    json_object *data = json_object_new_array();
    int i, n = found->nelts > limit ? limit : found->nelts;
    apr_hash_t *keys = apr_hash_make(q->r->pool);
    ssd_store_rc rc = SSD_STORE_OK;

    if (n > 0) {
        rc = ssd_store_keys_in_range(
            q->store, lq,
            APR_ARRAY_IDX(found, n - 1, ssd_domain_t *)->id,
            APR_ARRAY_IDX(found, 0, ssd_domain_t *)->id, &keys);
    }
    if (rc != SSD_STORE_OK) {
        ssd_send_store_error(q, rc);
        return NULL;
    }
    json_object_object_add(o, "data", data);
    for (i = 0; i < n; i++) {
        json_object_array_add(data, domain_with_keys(
            q, APR_ARRAY_IDX(found, i, ssd_domain_t *), keys));
    }
    ssd_json_add_str(o, "next_cursor", found->nelts > limit
                     ? APR_ARRAY_IDX(found, n - 1, ssd_domain_t *)->id : NULL);
    return o;
}

int ssd_domains_list(ssd_req_t *q)
{
    ssd_list_query_t lq;
    apr_array_header_t *found;
    ssd_store_rc rc;
    json_object *page;
    int limit;

    init_query(q, &lq);
    if (ssd_parse_query(q, take_param, &lq) != 0 || !ssd_req_store(q)) {
        return OK;
    }
    limit = lq.limit;
    lq.limit = limit + 1;       /* one more row says whether a next page is */
    rc = ssd_store_domain_list(q->store, &lq, &found);
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    page = page_json(q, &lq, found, limit);
    return page ? ssd_send_json(q->r, HTTP_OK, page) : OK;
}
