/* mod_scaisend_domains_webhook: one delivery attempt of one event -- a
 * POST with libcurl to ScaiSendWebhookURL, signed per Standard Webhooks.
 * The background job decides what to send and when to try again; this
 * says only whether the receiver took it (a 2xx). Any thread: an easy
 * handle per attempt, no signals, libcurl set up once in post_config. */
#include "mod_scaisend_domains.h"
#include "ssd_metrics.h"

#include <apr_strings.h>
#include <curl/curl.h>

/* The answer's body is not needed: read this much, then stop. */
#define RESPONSE_MAX 4096
#define CONNECT_TIMEOUT_MS 5000
#define USER_AGENT "mod_scaisend_domains/" SSD_VERSION

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    apr_size_t received;
    int cut;                    /* stopped reading at RESPONSE_MAX */
    char error[CURL_ERROR_SIZE];
} attempt_t;

static apr_status_t attempt_release(void *data)
{
    attempt_t *a = data;

    curl_slist_free_all(a->headers);
    curl_easy_cleanup(a->curl);
    return APR_SUCCESS;
}

static size_t discard(char *ptr, size_t size, size_t n, void *baton)
{
    attempt_t *a = baton;

    (void)ptr;
    a->received += size * n;
    if (a->received > RESPONSE_MAX) {
        a->cut = 1;
        return 0;               /* ends the transfer: the status is known */
    }
    return size * n;
}

static int add_header(apr_pool_t *p, attempt_t *a, const char *name,
                      const char *value)
{
    struct curl_slist *l = curl_slist_append(
        a->headers, apr_pstrcat(p, name, ": ", value, NULL));

    if (l) {
        a->headers = l;
    }
    return l != NULL;
}

static int set_headers(apr_pool_t *p, attempt_t *a,
                       const ssd_webhook_headers_t *h)
{
    return add_header(p, a, "Content-Type", "application/json")
           && add_header(p, a, "webhook-id", h->id)
           && add_header(p, a, "webhook-timestamp", h->timestamp)
           && add_header(p, a, "webhook-signature", h->signature)
           /* no "100 Continue" round trip */
           && curl_slist_append(a->headers, "Expect:") != NULL;
}

/* Every option that makes an attempt bounded and safe. */
static int set_options(attempt_t *a, const ssd_conf_t *c, const char *body)
{
    CURL *h = a->curl;
    long total_ms = (long)c->webhook_timeout_s * 1000;
    int bad = 0;

    bad |= curl_easy_setopt(h, CURLOPT_URL, c->webhook_url);
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS,
                            (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                            total_ms < CONNECT_TIMEOUT_MS ? total_ms
                                                          : CONNECT_TIMEOUT_MS);
    bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
    bad |= curl_easy_setopt(h, CURLOPT_POST, 1L);
    bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)strlen(body));
    bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, a->headers);
    bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, USER_AGENT);
    bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->error);
    return bad == CURLE_OK;
}

/* What a finished transfer means. */
static void judge(apr_pool_t *p, attempt_t *a, CURLcode rc,
                  const ssd_conf_t *c, ssd_webhook_result_t *res)
{
    long status = 0;

    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    res->http_status = (int)status;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        res->http_status = 0;
        res->error = apr_psprintf(p, "timed out after %d s (%s)",
                                  c->webhook_timeout_s,
                                  a->error[0] ? a->error
                                              : curl_easy_strerror(rc));
    }
    else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && a->cut)) {
        res->http_status = 0;
        res->error = apr_psprintf(p, "%s", a->error[0] ? a->error
                                                       : curl_easy_strerror(rc));
    }
    else if (status >= 200 && status <= 299) {
        res->delivered = 1;
    }
    else {
        res->error = apr_psprintf(p, "HTTP %ld", status);
    }
}

/* The handle and the three headers of this attempt, or NULL (res->error). */
static attempt_t *attempt_open(apr_pool_t *p, const ssd_conf_t *c,
                               const char *id, const char *body,
                               ssd_webhook_result_t *res)
{
    attempt_t *a = apr_pcalloc(p, sizeof(*a));
    ssd_webhook_headers_t h;

    if (ssd_webhook_headers(p, c->webhook_key, id, apr_time_now(), body,
                            strlen(body), &h) != 0) {
        res->error = "not a valid webhook-id";
        return NULL;
    }
    if (!(a->curl = curl_easy_init())) {
        res->error = "libcurl could not make a handle";
        return NULL;
    }
    apr_pool_cleanup_register(p, a, attempt_release, apr_pool_cleanup_null);
    if (!set_headers(p, a, &h) || !set_options(a, c, body)) {
        res->error = "libcurl refused an option";
        return NULL;
    }
    return a;
}

static void log_attempt(server_rec *s, const ssd_conf_t *c, const char *id,
                        const char *body, const ssd_webhook_result_t *res)
{
    long ms = (long)apr_time_as_msec(res->elapsed);

    if (res->delivered) {
        SSD_SLOG(APLOG_DEBUG, 0, s, 701, "webhook %s: %lu bytes to %s: "
                 "delivered, HTTP %d in %ld ms", id,
                 (unsigned long)strlen(body), c->webhook_target,
                 res->http_status, ms);
    }
    else {
        SSD_SLOG(APLOG_DEBUG, 0, s, 702, "webhook %s: %lu bytes to %s: not "
                 "delivered (%s) in %ld ms", id, (unsigned long)strlen(body),
                 c->webhook_target, res->error, ms);
    }
}

int ssd_webhook_deliver(server_rec *s, apr_pool_t *p, const ssd_conf_t *c,
                        const char *id, const char *body,
                        ssd_webhook_result_t *res)
{
    apr_time_t t0 = apr_time_now();
    attempt_t *a;

    memset(res, 0, sizeof(*res));
    if (!c->webhook_url || !c->webhook_key || !body) {
        res->error = "no " SSD_DIR_WEBHOOK_URL " or no body";
        return 0;
    }
    if ((a = attempt_open(p, c, id, body, res))) {
        judge(p, a, curl_easy_perform(a->curl), c, res);
    }
    res->elapsed = apr_time_now() - t0;
    /* per attempt; "gave_up" is the job's to count */
    ssd_metric_count(SSD_METRIC_WEBHOOK, res->delivered ? SSD_DELIVERY_OK
                                                        : SSD_DELIVERY_FAILED);
    log_attempt(s, c, ssd_webhook_id_is_valid(id) ? id : "(invalid id)", body,
                res);
    return res->delivered;
}

/* ---- start-up ------------------------------------------------------------ */

static apr_status_t curl_release(void *data)
{
    (void)data;
    curl_global_cleanup();
    return APR_SUCCESS;
}

/* libcurl's global state, made once per configuration (before any thread
 * exists) when a server posts webhooks; reference-counted by libcurl, so
 * other modules that use it (mod_auth_openidc) are not disturbed. */
int ssd_webhook_post_config(apr_pool_t *pconf, server_rec *s)
{
    server_rec *sp;
    int wanted = 0;

    for (sp = s; sp; sp = sp->next) {
        const ssd_conf_t *c = ssd_conf_get(sp);

        if (c->webhook_url) {
            wanted = 1;
            SSD_SLOG(APLOG_DEBUG, 0, sp, 703, "webhooks to %s, signed with "
                     "the secret of %s, %d s per attempt", c->webhook_target,
                     c->webhook_secret_file, c->webhook_timeout_s);
        }
    }
    if (!wanted) {
        return OK;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        SSD_SLOG(APLOG_EMERG, 0, s, 704, "libcurl could not be initialised: "
                 "webhooks cannot be sent");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, NULL, curl_release,
                              apr_pool_cleanup_null);
    return OK;
}
