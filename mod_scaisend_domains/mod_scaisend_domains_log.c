/* mod_scaisend_domains_log: the module's log lines. Each carries httpd's
 * module tag ([scaisend_domains:level]), the module's own message number
 * (SSDnnnn, listed in the README) and the request id: mod_unique_id's
 * UNIQUE_ID when it is loaded, else one made for the request. Lines are
 * formatted into bounded buffers, never from the process pool. */
#include "mod_scaisend_domains.h"

#include <http_core.h>
#include <apr_base64.h>
#include <apr_strings.h>

#define LINE_MAX_BYTES 1024

/* The id that ties a request's lines together. */
const char *ssd_request_id(const request_rec *r)
{
    const char *id = apr_table_get(r->subprocess_env, "UNIQUE_ID");
    unsigned char raw[9];
    char *made;

    if (id || (id = apr_table_get(r->notes, "ssd_request_id"))) {
        return id;
    }
    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS) {
        return "-";
    }
    made = apr_palloc(r->pool, 13);
    apr_base64_encode_binary(made, raw, sizeof(raw));
    made[12] = '\0';
    for (id = made; *id; id++) {
        if (*id == '+') *(char *)id = '-';
        if (*id == '/') *(char *)id = '_';
    }
    apr_table_setn(((request_rec *)r)->notes, "ssd_request_id", made);
    return made;
}

void ssd_rlog(const char *file, int line, int module_index, int level,
              apr_status_t status, const request_rec *r, int num,
              const char *fmt, ...)
{
    char msg[LINE_MAX_BYTES];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ap_log_rerror_(file, line, module_index, level, status, r,
                   "SSD%04d [req %s]: %s", num, ssd_request_id(r), msg);
}

void ssd_slog(const char *file, int line, int module_index, int level,
              apr_status_t status, const server_rec *s, int num,
              const char *fmt, ...)
{
    char msg[LINE_MAX_BYTES];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ap_log_error_(file, line, module_index, level, status, s, "SSD%04d: %s",
                  num, msg);
}

/* ---- the sink core units write to -------------------------------------- */

typedef struct {
    server_rec *server;
    const char *request_id;
} sink_t;

/* Server-level: safe from the verification threads (the request is not
 * touched), the request id in the line. */
static void sink_write(void *baton, int level, int num, const char *msg)
{
    sink_t *k = baton;

    ap_log_error(APLOG_MARK, level, 0, k->server, "SSD%04d [req %s]: %s",
                 num, k->request_id, msg);
}

static ssd_log_t *new_sink(apr_pool_t *p, server_rec *s, const char *id,
                           int max_level)
{
    ssd_log_t *log = apr_pcalloc(p, sizeof(*log));
    sink_t *k = apr_palloc(p, sizeof(*k));

    k->server = s;
    k->request_id = id;
    log->write = sink_write;
    log->baton = k;
    log->max_level = max_level;
    return log;
}

ssd_log_t *ssd_request_log(request_rec *r)
{
    return new_sink(r->pool, r->server, ssd_request_id(r),
                    APLOG_R_IS_LEVEL(r, APLOG_DEBUG) ? APLOG_DEBUG
                    : APLOG_R_IS_LEVEL(r, APLOG_INFO) ? APLOG_INFO
                    : APLOG_WARNING);
}

ssd_log_t *ssd_server_log(apr_pool_t *p, server_rec *s, const char *id)
{
    return new_sink(p, s, id, APLOG_IS_LEVEL(s, APLOG_DEBUG) ? APLOG_DEBUG
                              : APLOG_IS_LEVEL(s, APLOG_INFO) ? APLOG_INFO
                              : APLOG_WARNING);
}
