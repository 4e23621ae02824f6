/* mod_scaisend_domains_router: method + path -> one operation, with 404
 * for unknown paths and 405 + Allow for a known path's wrong method. */
#include "mod_scaisend_domains.h"

#include <apr_strings.h>

#define MAX_SEGMENTS 4

typedef struct {
    const char *segs[MAX_SEGMENTS];
    int n;
} ssd_path_t;

/* Split the path under the API base into segments; 0 when malformed. */
static int split_path(ssd_req_t *q, ssd_path_t *path)
{
    apr_size_t base = strlen(q->conf->api_base);
    char *rest, *seg, *state;

    path->n = 0;
    if (strncmp(q->r->uri, q->conf->api_base, base) != 0
        || q->r->uri[base] != '/') {
        return 0;
    }
    rest = apr_pstrdup(q->r->pool, q->r->uri + base + 1);
    if (!*rest || rest[strlen(rest) - 1] == '/' || strstr(rest, "//")) {
        return 0;
    }
    for (seg = apr_strtok(rest, "/", &state); seg;
         seg = apr_strtok(NULL, "/", &state)) {
        if (path->n == MAX_SEGMENTS) {
            return 0;
        }
        path->segs[path->n++] = seg;
    }
    return path->n > 0;
}

static int not_found(ssd_req_t *q)
{
    return ssd_send_error(q->r, HTTP_NOT_FOUND, "not_found",
                          "no such resource", NULL);
}

static int not_allowed(ssd_req_t *q, const char *allow)
{
    apr_table_setn(q->r->headers_out, "Allow", allow);
    return ssd_send_error(q->r, HTTP_METHOD_NOT_ALLOWED,
                          "method_not_allowed",
                          apr_pstrcat(q->r->pool, q->r->method, " is not "
                                      "allowed here; allowed: ", allow, NULL),
                          NULL);
}

static int role_forbidden(ssd_req_t *q)
{
    return ssd_send_error(q->r, HTTP_FORBIDDEN, "forbidden",
                          "this role may not use the domain admin routes",
                          NULL);
}

static int is(ssd_req_t *q, int method)
{
    return q->r->method_number == method;
}

static int route_collection(ssd_req_t *q)
{
    if (!is(q, M_GET) && !is(q, M_POST)) {
        return not_allowed(q, "GET, POST");
    }
    if (ssd_policy_admin(&q->who) != SSD_ALLOW) {
        return role_forbidden(q);
    }
    return is(q, M_GET) ? ssd_domains_list(q) : ssd_domains_create(q);
}

static int route_item(ssd_req_t *q, const char *id)
{
    if (!is(q, M_GET) && !is(q, M_PATCH) && !is(q, M_DELETE)) {
        return not_allowed(q, "GET, PATCH, DELETE");
    }
    if (ssd_policy_admin(&q->who) != SSD_ALLOW) {
        return role_forbidden(q);
    }
    if (is(q, M_GET)) {
        return ssd_domain_get(q, id);
    }
    return is(q, M_PATCH) ? ssd_domain_patch(q, id)
                          : ssd_domain_delete(q, id);
}

static int route_post(ssd_req_t *q, const char *id,
                      int (*op)(ssd_req_t *, const char *))
{
    if (!is(q, M_POST)) {
        return not_allowed(q, "POST");
    }
    return ssd_policy_admin(&q->who) != SSD_ALLOW ? role_forbidden(q)
                                                  : op(q, id);
}

static int route_get(ssd_req_t *q, const char *id,
                     int (*op)(ssd_req_t *, const char *))
{
    if (!is(q, M_GET)) {
        return not_allowed(q, "GET");
    }
    return ssd_policy_admin(&q->who) != SSD_ALLOW ? role_forbidden(q)
                                                  : op(q, id);
}

/* /domains/{id}/<sub> */
static int route_sub(ssd_req_t *q, const char *id, const char *sub)
{
    if (strcmp(sub, "dns-records") == 0) {
        return route_get(q, id, ssd_domain_dns_records);
    }
    if (strcmp(sub, "dkim-keys") == 0) {
        return route_get(q, id, ssd_domain_dkim_keys);
    }
    if (strcmp(sub, "events") == 0) {
        return route_get(q, id, ssd_domain_events);
    }
    if (strcmp(sub, "verify") == 0) {
        return route_post(q, id, ssd_domain_verify);
    }
    if (strcmp(sub, "rotate-dkim") == 0) {
        return route_post(q, id, ssd_domain_rotate);
    }
    return not_found(q);
}

/* /domains/{id}/dkim-keys/{selector} */
static int route_key(ssd_req_t *q, const char *id, const char *sub,
                     const char *selector)
{
    if (strcmp(sub, "dkim-keys") != 0) {
        return not_found(q);
    }
    if (!is(q, M_DELETE)) {
        return not_allowed(q, "DELETE");
    }
    return ssd_policy_admin(&q->who) != SSD_ALLOW
           ? role_forbidden(q) : ssd_domain_key_delete(q, id, selector);
}

/* /sender-status and /dkim/sign: the send pipeline's questions */
static int route_pipeline(ssd_req_t *q, const ssd_path_t *path)
{
    if (path->n == 1 && strcmp(path->segs[0], "sender-status") == 0) {
        return is(q, M_GET) ? ssd_sender_status(q) : not_allowed(q, "GET");
    }
    if (path->n == 2 && strcmp(path->segs[0], "dkim") == 0
        && strcmp(path->segs[1], "sign") == 0) {
        return is(q, M_POST) ? ssd_dkim_sign(q) : not_allowed(q, "POST");
    }
    return not_found(q);
}

int ssd_route(ssd_req_t *q)
{
    ssd_path_t path;

    if (!split_path(q, &path)) {
        return not_found(q);
    }
    if (strcmp(path.segs[0], "domains") != 0) {
        return route_pipeline(q, &path);
    }
    switch (path.n) {
    case 1:
        return route_collection(q);
    case 2:
        return route_item(q, path.segs[1]);
    case 3:
        return route_sub(q, path.segs[1], path.segs[2]);
    default:
        return route_key(q, path.segs[1], path.segs[2], path.segs[3]);
    }
}
