/* mod_scaisend_domains_http: the one place that writes responses, and the
 * reading of JSON request bodies (content type, size limit, strictness). */
#include "mod_scaisend_domains.h"
#include "ssd_json.h"
#include "ssd_view.h"

#include <http_protocol.h>
#include <apr_strings.h>

#define JSON_MAX_DEPTH 8

int ssd_send_text(request_rec *r, int status, const char *type,
                  const char *text)
{
    r->status = status;
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
    return OK;
}

int ssd_send_json(request_rec *r, int status, json_object *o)
{
    return ssd_send_text(r, status, "application/json",
                         ssd_json_to_string(r->pool, o));
}

int ssd_send_error(request_rec *r, int status, const char *code,
                   const char *message, const char *field)
{
    return ssd_send_json(r, status,
                         ssd_view_error(r->pool, code, message, field));
}

int ssd_send_no_content(request_rec *r)
{
    r->status = HTTP_NO_CONTENT;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    return OK;
}

int ssd_send_store_error(ssd_req_t *q, ssd_store_rc rc)
{
    if (rc == SSD_STORE_NOT_FOUND) {
        return ssd_send_error(q->r, HTTP_NOT_FOUND, "not_found",
                              "no such domain", NULL);
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, "scaisend: database "
                  "error: %s", q->store && q->store->error ? q->store->error
                                                           : "unknown");
    apr_table_setn(q->r->err_headers_out, "Retry-After", "5");
    return ssd_send_error(q->r, HTTP_SERVICE_UNAVAILABLE,
                          "storage_unavailable", "the database could not "
                          "complete the request; nothing was changed", NULL);
}

/* A copy of s without white space (apr_collapse_spaces returns the end). */
static char *without_spaces(apr_pool_t *p, const char *s)
{
    char *out = apr_pstrdup(p, s);

    apr_collapse_spaces(out, out);
    return out;
}

/* application/json, optionally with charset=utf-8 and nothing else. */
static int is_json_type(request_rec *r)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    char *type, *params;

    if (!ct) {
        return 0;
    }
    type = without_spaces(r->pool, ap_getword(r->pool, &ct, ';'));
    params = without_spaces(r->pool, ct);
    return strcasecmp(type, "application/json") == 0
           && (!*params || strcasecmp(params, "charset=utf-8") == 0
               || strcasecmp(params, "charset=\"utf-8\"") == 0);
}

static int send_too_large(ssd_req_t *q)
{
    /* the rest of the body is not read: do not reuse the connection */
    q->r->connection->keepalive = AP_CONN_CLOSE;
    return ssd_send_error(q->r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                          "payload_too_large",
                          apr_psprintf(q->r->pool, "the request body is over "
                                       "the limit of %" APR_OFF_T_FMT
                                       " bytes", q->conf->max_body), NULL);
}

/* Read the whole body up to the limit; -1 when over it. */
static int read_body(ssd_req_t *q, char **buf, apr_size_t *len)
{
    apr_size_t cap = (apr_size_t)q->conf->max_body, got = 0;
    char *b = apr_palloc(q->r->pool, cap + 1);
    long n;

    while ((n = ap_get_client_block(q->r, b + got, cap + 1 - got)) > 0) {
        got += (apr_size_t)n;
        if (got > cap) {
            return -1;
        }
    }
    if (n < 0) {
        return -2;
    }
    b[got] = '\0';
    *buf = b;
    *len = got;
    return 0;
}

static int body_declared_too_large(ssd_req_t *q)
{
    const char *cl = apr_table_get(q->r->headers_in, "Content-Length");

    return cl && apr_atoi64(cl) > q->conf->max_body;
}

static json_object *parse_body(ssd_req_t *q, const char *buf, apr_size_t len)
{
    ssd_json_error_t err;
    json_object *o = ssd_json_parse_strict(q->r->pool, buf, len,
                                           JSON_MAX_DEPTH, &err);

    if (!o) {
        ssd_send_error(q->r, HTTP_BAD_REQUEST, err.code, err.message, NULL);
    }
    return o;
}

json_object *ssd_read_json(ssd_req_t *q)
{
    char *buf = NULL;
    apr_size_t len = 0;
    int rc;

    if (body_declared_too_large(q)) {
        send_too_large(q);
        return NULL;
    }
    if (!is_json_type(q->r)) {
        ssd_send_error(q->r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                       "unsupported_media_type", "send the body as "
                       "Content-Type: application/json", NULL);
        return NULL;
    }
    if (ap_setup_client_block(q->r, REQUEST_CHUNKED_DECHUNK) != OK
        || (rc = ap_should_client_block(q->r) ? read_body(q, &buf, &len)
                                                : 0) == -2) {
        ssd_send_error(q->r, HTTP_BAD_REQUEST, "invalid_body",
                       "the request body could not be read", NULL);
        return NULL;
    }
    if (rc == -1) {
        send_too_large(q);
        return NULL;
    }
    return parse_body(q, buf ? buf : "", len);
}
