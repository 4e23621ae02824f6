/* mod_scaisend_domains_router: the API as one table of routes -- method,
 * path pattern, operation, who may call it -- from which 404 (no pattern
 * matches), 405 with Allow (the pattern matches, the method does not) and
 * the route's name (for the status counters) follow. */
#include "mod_scaisend_domains.h"

#include <apr_strings.h>

#define MAX_SEGMENTS 4

typedef int (*op_fn)(ssd_req_t *q, const char *const *params);

typedef struct {
    int method;                 /* M_GET ... */
    const char *method_name;
    const char *pattern;        /* segments under the API base; {x} = any */
    op_fn op;
    int admin;                  /* the domain admin roles only */
} route_t;

/* ---- the operations, with their path parameters ---------------------- */

static int list_domains(ssd_req_t *q, const char *const *a)
{ (void)a; return ssd_domains_list(q); }
static int create_domain(ssd_req_t *q, const char *const *a)
{ (void)a; return ssd_domains_create(q); }
static int get_domain(ssd_req_t *q, const char *const *a)
{ return ssd_domain_get(q, a[0]); }
static int patch_domain(ssd_req_t *q, const char *const *a)
{ return ssd_domain_patch(q, a[0]); }
static int delete_domain(ssd_req_t *q, const char *const *a)
{ return ssd_domain_delete(q, a[0]); }
static int dns_records(ssd_req_t *q, const char *const *a)
{ return ssd_domain_dns_records(q, a[0]); }
static int dkim_keys(ssd_req_t *q, const char *const *a)
{ return ssd_domain_dkim_keys(q, a[0]); }
static int events(ssd_req_t *q, const char *const *a)
{ return ssd_domain_events(q, a[0]); }
static int verify(ssd_req_t *q, const char *const *a)
{ return ssd_domain_verify(q, a[0]); }
static int rotate(ssd_req_t *q, const char *const *a)
{ return ssd_domain_rotate(q, a[0]); }
static int delete_key(ssd_req_t *q, const char *const *a)
{ return ssd_domain_key_delete(q, a[0], a[1]); }
static int sender_status(ssd_req_t *q, const char *const *a)
{ (void)a; return ssd_sender_status(q); }
static int dkim_sign(ssd_req_t *q, const char *const *a)
{ (void)a; return ssd_dkim_sign(q); }

#define R(m, pattern, op, admin) {M_##m, #m, pattern, op, admin}

/* The order is the order of the Allow header. */
static const route_t routes[] = {
    R(GET, "domains", list_domains, 1),
    R(POST, "domains", create_domain, 1),
    R(GET, "domains/{id}", get_domain, 1),
    R(PATCH, "domains/{id}", patch_domain, 1),
    R(DELETE, "domains/{id}", delete_domain, 1),
    R(GET, "domains/{id}/dns-records", dns_records, 1),
    R(GET, "domains/{id}/dkim-keys", dkim_keys, 1),
    R(GET, "domains/{id}/events", events, 1),
    R(POST, "domains/{id}/verify", verify, 1),
    R(POST, "domains/{id}/rotate-dkim", rotate, 1),
    R(DELETE, "domains/{id}/dkim-keys/{selector}", delete_key, 1),
    R(GET, "sender-status", sender_status, 0),
    R(POST, "dkim/sign", dkim_sign, 0),
    {0, NULL, NULL, NULL, 0}
};

typedef struct {
    const char *segs[MAX_SEGMENTS];
    int n;
} path_t;

/* Split the path under the API base into segments; 0 when malformed. */
static int split_path(ssd_req_t *q, path_t *path)
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

/* Does path match pattern? Its {x} segments go to params. */
static int matches(const char *pattern, const path_t *path,
                   const char **params)
{
    const char *p = pattern;
    int i, np = 0;

    for (i = 0; i < path->n; i++) {
        const char *end = strchr(p, '/');
        apr_size_t len = end ? (apr_size_t)(end - p) : strlen(p);

        if (!*p) {
            return 0;
        }
        if (p[0] == '{') {
            params[np++] = path->segs[i];
        }
        else if (strlen(path->segs[i]) != len
                 || strncmp(path->segs[i], p, len) != 0) {
            return 0;
        }
        p = end ? end + 1 : p + len;
    }
    return *p == '\0';
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

static int run(ssd_req_t *q, const route_t *rt, const char *const *params)
{
    q->route = rt - routes;
    if (rt->admin && ssd_policy_admin(&q->who) != SSD_ALLOW) {
        return role_forbidden(q);
    }
    return rt->op(q, params);
}

int ssd_route(ssd_req_t *q)
{
    const char *params[MAX_SEGMENTS], *allow = NULL;
    const route_t *rt;
    path_t path;

    q->route = -1;
    if (!split_path(q, &path)) {
        return not_found(q);
    }
    for (rt = routes; rt->pattern; rt++) {
        if (!matches(rt->pattern, &path, params)) {
            continue;
        }
        if (rt->method == q->r->method_number) {
            return run(q, rt, params);
        }
        allow = allow ? apr_pstrcat(q->r->pool, allow, ", ", rt->method_name,
                                    NULL) : rt->method_name;
    }
    return allow ? not_allowed(q, allow) : not_found(q);
}

int ssd_route_count(void)
{
    return (int)(sizeof(routes) / sizeof(routes[0])) - 1;
}

const char *ssd_route_name(apr_pool_t *p, int i)
{
    return apr_pstrcat(p, routes[i].method_name, " /", routes[i].pattern,
                       NULL);
}
