/* mod_scaisend_domains_verify: POST /domains/{id}/verify -- one
 * verification (mod_scaisend_domains_verification.c) for the caller, who
 * waits, holding no connection, for a run of the domain already going on,
 * and gets 429 with Retry-After within the minimum interval. */
#include "mod_scaisend_domains.h"

#include <apr_strings.h>

#define STALE_MARGIN_MS 10000
#define WAIT_STEP (50 * 1000)

static int too_soon(ssd_req_t *q, const ssd_verify_state_t *vs)
{
    apr_int64_t left = vs->claimed_ms + q->conf->verify_interval_s * 1000
                       - vs->now_ms;
    apr_int64_t secs = left > 0 ? (left + 999) / 1000 : 1;

    apr_table_setn(q->r->err_headers_out, "Retry-After",
                   apr_psprintf(q->r->pool, "%" APR_INT64_T_FMT, secs));
    return ssd_send_error(q->r, HTTP_TOO_MANY_REQUESTS, "too_many_requests",
                          apr_psprintf(q->r->pool, "this domain was verified "
                                       "moments ago; retry in %"
                                       APR_INT64_T_FMT " s", secs), NULL);
}

/* The domain's claim, read on a connection held only for the read; 0, or
 * -1 once an error has been sent. */
static int poll_state(ssd_req_t *q, const char *id, ssd_verify_state_t *vs)
{
    ssd_store_rc rc;

    if (!ssd_req_store(q)) {
        return -1;
    }
    rc = ssd_store_verify_state(q->store, id, vs);
    if (rc != SSD_STORE_OK) {
        ssd_send_store_error(q, rc);
        return -1;
    }
    ssd_req_store_release(q);
    return 0;
}

/* Another request is verifying this domain: wait for that run -- holding
 * no connection -- and answer what it answered; never an older answer. */
static int wait_for_other(ssd_req_t *q, const ssd_domain_t *d,
                          ssd_verify_state_t *vs)
{
    apr_int64_t waited_for = vs->claimed_ms;
    apr_time_t until = apr_time_now()
        + apr_time_from_msec(q->conf->verify_budget_ms + STALE_MARGIN_MS);
    const char *answer = NULL;
    apr_int64_t answer_ms = 0;

    ssd_req_store_release(q);
    while (vs->claimed_ms == waited_for && vs->claimed_ms > vs->done_ms
           && apr_time_now() < until) {
        apr_sleep(WAIT_STEP);
        if (poll_state(q, d->id, vs) != 0) {
            return OK;
        }
    }
    if (!ssd_req_store(q)) {
        return OK;
    }
    if (ssd_store_verify_answer(q->store, d->id, &answer, &answer_ms)
            != SSD_STORE_OK || answer_ms != waited_for) {
        return too_soon(q, vs);
    }
    return ssd_send_text(q->r, HTTP_OK, "application/json", answer);
}

static int resolver_unavailable(ssd_req_t *q)
{
    apr_table_setn(q->r->err_headers_out, "Retry-After", "30");
    return ssd_send_error(q->r, HTTP_SERVICE_UNAVAILABLE,
                          "resolver_unavailable", "the DNS resolver is "
                          "unavailable; nothing was changed: retry shortly",
                          NULL);
}

static int respond(ssd_req_t *q, ssd_domain_t *d, ssd_work_t *w,
                   ssd_run_rc rc, ssd_run_t *run)
{
    switch (rc) {
    case SSD_RUN_DONE:
    case SSD_RUN_NOT_RUN:
        return ssd_send_text(q->r, HTTP_OK, "application/json", run->answer);
    case SSD_RUN_CLAIMED:
        return run->state.claimed_ms > run->state.done_ms
               ? wait_for_other(q, d, &run->state) : too_soon(q, &run->state);
    case SSD_RUN_NO_KEY:
        return ssd_send_error(q->r, HTTP_CONFLICT, "no_active_key", "the "
                              "domain has no active DKIM key", NULL);
    case SSD_RUN_RESOLVER:
        return resolver_unavailable(q);
    case SSD_RUN_GONE:
        return ssd_send_error(q->r, HTTP_NOT_FOUND, "not_found", "no such "
                              "domain (it was deleted during the "
                              "verification)", NULL);
    default:
        q->store = w->store;        /* its error, in the log line */
        return ssd_send_store_error(q, SSD_STORE_FAILED);
    }
}

int ssd_domain_verify(ssd_req_t *q, const char *id)
{
    ssd_domain_t *d = ssd_domain_load(q, id, SSD_ACCESS_WRITE);
    ssd_work_t w;
    ssd_run_t run;
    ssd_run_rc rc;

    if (!d) {
        return OK;
    }
    ssd_req_store_release(q);
    memset(&w, 0, sizeof(w));
    w.pool = q->r->pool;
    w.server = q->r->server;
    w.conf = q->conf;
    w.sub = q->who.sub;
    w.log = q->log ? q->log : (q->log = ssd_request_log(q->r));
    rc = ssd_verification_run(&w, d, &run);
    if (rc == SSD_RUN_CLAIMED) {
        ssd_work_release(&w);
    }
    return respond(q, d, &w, rc, &run);
}
