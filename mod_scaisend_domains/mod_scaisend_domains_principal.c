/* mod_scaisend_domains_principal: the caller, from the claims the auth
 * layer verified and put in the request environment. Headers are never
 * read: on a protected path mod_auth_openidc scrubs client-sent claim
 * headers, and the environment is what it sets itself. */
#include "mod_scaisend_domains.h"

#include <apr_lib.h>
#include <apr_strings.h>

#define CLAIM_MAX 255

static const char *claim(ssd_req_t *q, const char *name)
{
    const char *v = apr_table_get(q->r->subprocess_env,
                                  apr_pstrcat(q->r->pool,
                                              q->conf->claim_prefix, name,
                                              NULL));

    return v && *v ? v : NULL;
}

/* An id claim: printable ASCII without spaces, at most CLAIM_MAX bytes. */
static int id_claim_ok(const char *v)
{
    apr_size_t n = 0;

    for (; v[n]; n++) {
        if (v[n] <= ' ' || v[n] > '~' || n >= CLAIM_MAX) {
            return 0;
        }
    }
    return n > 0;
}

static int is_unix_time(const char *v)
{
    const char *s = v;

    for (; *s; s++) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
    }
    return s > v;
}

static int refuse(ssd_req_t *q, const char *why)
{
    SSD_RLOG(APLOG_INFO, 0, q->r, 201, "token refused: %s", why);
    apr_table_setn(q->r->err_headers_out, "WWW-Authenticate",
                   "Bearer error=\"invalid_token\"");
    ssd_send_error(q->r, HTTP_UNAUTHORIZED, "invalid_token", why, NULL);
    return -1;
}

static int no_user(ssd_req_t *q)
{
    SSD_RLOG(APLOG_ERR, 0, q->r, 202, "no authenticated user on %s: put the "
             "API behind AuthType oauth20 (refusing the request)",
             q->r->uri);
    ssd_send_error(q->r, HTTP_UNAUTHORIZED, "unauthenticated",
                   "authentication is required", NULL);
    return -1;
}

static int forbid_role(ssd_req_t *q)
{
    ssd_send_error(q->r, HTTP_FORBIDDEN, "forbidden_role", "the token's "
                   "role must be tenant_admin, partner_operator or sender",
                   NULL);
    return -1;
}

/* Identity claims; 0, or -1 once a 401 is sent. */
static int fill_identity(ssd_req_t *q)
{
    const char *exp = claim(q, q->conf->claim_exp);
    const char *tenant = claim(q, q->conf->claim_tenant);

    q->who.sub = claim(q, q->conf->claim_sub);
    q->who.partner_id = claim(q, q->conf->claim_partner);
    q->who.tenant_id = tenant;
    if (!exp || !is_unix_time(exp)) {
        return refuse(q, "the token has no valid exp claim");
    }
    if (!q->who.sub || !id_claim_ok(q->who.sub)) {
        return refuse(q, "the token has no valid sub claim");
    }
    if (!q->who.partner_id || !id_claim_ok(q->who.partner_id)) {
        return refuse(q, "the token has no valid partner claim");
    }
    if (tenant && !id_claim_ok(tenant)) {
        return refuse(q, "the token's tenant claim is not a valid id");
    }
    return 0;
}

int ssd_principal_from_env(ssd_req_t *q)
{
    int role;

    if (!q->r->user || !*q->r->user) {
        return no_user(q);
    }
    if (fill_identity(q) != 0) {
        return -1;
    }
    role = ssd_role_parse(claim(q, q->conf->claim_role));
    if (role < 0) {
        return forbid_role(q);
    }
    q->who.role = (ssd_role_e)role;
    if (role == SSD_ROLE_TENANT_ADMIN && !q->who.tenant_id) {
        return refuse(q, "a tenant_admin token needs a tenant claim");
    }
    return 0;
}
