/* mod_scaisend_domains: the module record, its hooks and the handlers.
 * The request flow: mod_auth_openidc has verified the token; the handler
 * reads the caller from the environment, routes, and one operation
 * answers with JSON. */
#define SSD_MODULE_RECORD
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_domain.h"
#include "ssd_view.h"

#include <http_core.h>
#include <http_protocol.h>
#include <http_request.h>
#include <openssl/crypto.h>

static int ssd_handler(request_rec *r)
{
    ssd_req_t q;

    if (!r->handler || strcmp(r->handler, SSD_HANDLER) != 0) {
        return DECLINED;
    }
    memset(&q, 0, sizeof(q));
    q.r = r;
    q.conf = ssd_conf_get(r->server);
    /* the id in this request's log lines, for the caller to quote */
    apr_table_setn(r->err_headers_out, "X-Request-Id", ssd_request_id(r));
    if (ssd_principal_from_env(&q) != 0) {
        return OK;
    }
    ssd_route(&q);
    ssd_status_count_request(q.route, r->status);
    return OK;
}

/* ErrorDocument target: errors raised before the module runs (a refused
 * token, a body over LimitRequestBody) still answer with the JSON error
 * shape. The status is the one of the request that failed. */
static void describe_status(int status, const char **code, const char **msg)
{
    switch (status) {
    case HTTP_UNAUTHORIZED:
        *code = "unauthenticated";
        *msg = "a valid bearer token is required";
        break;
    case HTTP_FORBIDDEN:
        *code = "forbidden";
        *msg = "the token does not allow this";
        break;
    case HTTP_BAD_REQUEST:
        *code = "invalid_body";
        *msg = "the request could not be read";
        break;
    case HTTP_REQUEST_ENTITY_TOO_LARGE:
        *code = "payload_too_large";
        *msg = "the request body is too large";
        break;
    default:
        *code = "error";
        *msg = ap_get_status_line(status) + 4;
    }
}

static int ssd_error_handler(request_rec *r)
{
    const char *code, *msg;
    int status;

    if (!r->handler || strcmp(r->handler, SSD_ERROR_HANDLER) != 0) {
        return DECLINED;
    }
    status = r->prev ? r->prev->status : HTTP_NOT_FOUND;
    if (status < 400) {
        status = HTTP_NOT_FOUND;
    }
    describe_status(status, &code, &msg);
    ssd_status_count_request(-1, status);
    return ssd_send_error(r, status, code, msg, NULL);
}

/* The API is not a file. Its requests (SetHandler of one of the module's
 * handlers) skip the directory walk and the look-up of a path under the
 * DocumentRoot, as mod_proxy does for its URLs: no .htaccess is read, no
 * stat() is made, and a DocumentRoot the server cannot read does not
 * matter. map_to_storage starts from the server's defaults, so the
 * locations of the (possibly rewritten) URI are walked here to read the
 * handler; httpd's own location walk after this hook finds them cached. */
static int is_module_handler(const char *h)
{
    return h && (strcmp(h, SSD_HANDLER) == 0
                 || strcmp(h, SSD_ERROR_HANDLER) == 0
                 || strcmp(h, SSD_STATUS_HANDLER) == 0);
}

static int ssd_map_to_storage(request_rec *r)
{
    core_dir_config *d;
    const char *err = NULL, *h = NULL;

    if (ap_location_walk(r) != OK) {
        r->per_dir_config = r->server->lookup_defaults;
        return DECLINED;
    }
    d = ap_get_core_module_config(r->per_dir_config);
    if (d->expr_handler) {
        h = ap_expr_str_exec(r, d->expr_handler, &err);
    }
    if (!err && is_module_handler(h)) {
        return OK;
    }
    r->per_dir_config = r->server->lookup_defaults;
    return DECLINED;
}

/* What a server's settings came to, at debug: "apachectl -t" with
 * LogLevel scaisend_domains:debug shows how every value was read. */
static void log_settings(apr_pool_t *p, server_rec *s)
{
    ssd_conf_t *c = ssd_conf_get(s);
    const char *const *reserved = ssd_conf_reserved(p, c);

    SSD_SLOG(APLOG_DEBUG, 0, s, 4, "settings of %s:%u: SPF include %s; "
             "reserved %s%s; DKIM keys of %d bits; nameservers %s",
             s->server_hostname ? s->server_hostname : "*", (unsigned)s->port,
             c->spf_include, reserved[0], reserved[1] ? " and more" : "",
             c->key_bits, ssd_conf_dns_describe(p, c));
}

/* Runs before "httpd -t" reports, so configuration errors show there. */
static int ssd_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    server_rec *sp;
    const char *err;

    (void)pconf, (void)plog, (void)ptemp;
    if ((err = ssd_db_check())) {
        SSD_SLOG(APLOG_EMERG, 0, s, 2, "%s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    for (sp = s; sp; sp = sp->next) {
        if ((err = ssd_conf_check(sp))) {
            SSD_SLOG(APLOG_EMERG, 0, sp, 2, "%s", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        log_settings(ptemp, sp);
    }
    return OK;
}

static int ssd_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    ssd_dkim_secure_heap();
    /* once per start (not in the pass that only checks the config) */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        SSD_SLOG(APLOG_NOTICE, 0, s, 1, "mod_scaisend_domains %s started",
                 SSD_VERSION);
        ssd_conf_log_warnings(pconf, s);
    }
    if (ssd_domain_init(pconf) != APR_SUCCESS) {
        SSD_SLOG(APLOG_CRIT, 0, s, 3, "the public suffix list could not "
                 "be loaded");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ssd_status_post_config(pconf, s) != OK
        || ssd_webhook_post_config(pconf, s) != OK
        || ssd_job_post_config(pconf, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return ssd_db_post_config(pconf, ptemp, s);
}

static void ssd_register_hooks(apr_pool_t *p)
{
    /* statements must reach mod_dbd before its post_config groups them */
    static const char *const before_dbd[] = {"mod_dbd.c", NULL};

    (void)p;
    ap_hook_check_config(ssd_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ssd_post_config, NULL, before_dbd, APR_HOOK_MIDDLE);
    ap_hook_child_init(ssd_db_child_init, NULL, before_dbd, APR_HOOK_MIDDLE);
    ap_hook_child_init(ssd_sign_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(ssd_job_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_map_to_storage(ssd_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(ssd_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ssd_error_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ssd_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(scaisend_domains) = {
    STANDARD20_MODULE_STUFF,
    NULL,
    NULL,
    ssd_conf_create,
    ssd_conf_merge,
    ssd_directives,
    ssd_register_hooks
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    , AP_MODULE_FLAG_NONE
#endif
};
