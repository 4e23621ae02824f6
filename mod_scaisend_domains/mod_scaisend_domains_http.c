/* mod_scaisend_domains_http: the one place that writes responses, and the
 * reading of JSON request bodies (content type, size limit, strictness). */
#include "mod_scaisend_domains.h"
#include "ssd_json.h"
#include "ssd_text.h"
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
    SSD_RLOG(APLOG_ERR, 0, q->r, 107, "database error: %s",
             q->store && q->store->error ? q->store->error : "unknown");
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

void ssd_body_open(ssd_body_t *b, request_rec *r)
{
    b->r = r;
    b->bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    b->eos = 0;
}

/* Up to size bytes of the body into buf: the count, 0 at the end, or
 * -status (413 over LimitRequestBody, 400 when it cannot be read). */
apr_ssize_t ssd_body_read(ssd_body_t *b, char *buf, apr_size_t size)
{
    apr_size_t got = size;
    apr_status_t rv;

    while (!b->eos) {
        rv = ap_get_brigade(b->r->input_filters, b->bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, size);
        if (rv != APR_SUCCESS) {
            int status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);

            b->r->connection->keepalive = AP_CONN_CLOSE;
            /* AP_FILTER_ERROR: httpd has answered already (over
             * LimitRequestBody: its 413, through the ErrorDocument) */
            return status == AP_FILTER_ERROR ? -SSD_BODY_ANSWERED : -status;
        }
        b->eos = !APR_BRIGADE_EMPTY(b->bb)
                 && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(b->bb));
        got = size;
        rv = apr_brigade_flatten(b->bb, buf, &got);
        apr_brigade_cleanup(b->bb);
        if (rv != APR_SUCCESS) {
            return -HTTP_BAD_REQUEST;
        }
        if (got > 0) {
            return (apr_ssize_t)got;
        }
    }
    return 0;
}

static int send_too_large(ssd_req_t *q, apr_off_t limit)
{
    /* the rest of the body is not read: do not reuse the connection */
    q->r->connection->keepalive = AP_CONN_CLOSE;
    return ssd_send_error(q->r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                          "payload_too_large",
                          limit > 0 ? apr_psprintf(q->r->pool, "the request "
                                      "body is over the limit of %"
                                      APR_OFF_T_FMT " bytes", limit)
                                    : "the request body is over the limit",
                          NULL);
}

int ssd_send_body_error(ssd_req_t *q, int status, apr_off_t limit)
{
    if (status == SSD_BODY_ANSWERED) {
        return OK;
    }
    if (status == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        return send_too_large(q, limit);
    }
    return ssd_send_error(q->r, HTTP_BAD_REQUEST, "invalid_body",
                          "the request body could not be read", NULL);
}

#define BODY_CHUNK 8192

/* The whole body, in a buffer that grows with what arrives (never the
 * limit up front); -413 over the limit, -400 unreadable. */
static int read_body(ssd_req_t *q, const char **buf, apr_size_t *len)
{
    apr_size_t cap = (apr_size_t)q->conf->max_body;
    char *chunk = apr_palloc(q->r->pool, BODY_CHUNK);
    ssd_body_t body;
    ssd_buf_t b;
    apr_ssize_t n;

    ssd_buf_init(&b, q->r->pool, 1024, cap);
    ssd_body_open(&body, q->r);
    while ((n = ssd_body_read(&body, chunk, BODY_CHUNK)) > 0) {
        ssd_buf_add(&b, chunk, (apr_size_t)n);
        if (b.cut) {
            return -HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }
    *buf = b.data;
    *len = b.len;
    return n < 0 ? (int)n : 0;
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
    const char *buf = "";
    apr_size_t len = 0;
    int rc;

    if (body_declared_too_large(q)) {
        send_too_large(q, q->conf->max_body);
        return NULL;
    }
    if (!is_json_type(q->r)) {
        ssd_send_error(q->r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                       "unsupported_media_type", "send the body as "
                       "Content-Type: application/json", NULL);
        return NULL;
    }
    if ((rc = read_body(q, &buf, &len)) < 0) {
        /* over ScaiSendMaxBodySize, or cut by httpd's LimitRequestBody */
        ssd_send_body_error(q, -rc, rc == -HTTP_REQUEST_ENTITY_TOO_LARGE
                                    && len >= (apr_size_t)q->conf->max_body
                                    ? q->conf->max_body : 0);
        return NULL;
    }
    return parse_body(q, buf, len);
}
