/* mod_scaisend_domains_job: the background job (api.md section 9), a
 * mod_watchdog singleton callback in one child of each httpd, every
 * second. On a database shared by several nodes exactly one runs it: the
 * holder of a lease in the database, which another node takes over once
 * it expires (the holder died). Each round it re-verifies the domains due
 * (at most ScaiSendRecheckRate), delivers the webhook outbox in order per
 * domain, deletes never-verified domains past ScaiSendPendingExpiry and
 * starts the rotations due by ScaiSendDKIMRotateAfter.
 * The main server's settings apply.
 *
 * Stopping: the watchdog joins its thread only after the child's pools
 * (mod_dbd's connections among them) are gone, so a pre-cleanup of the
 * child pool stops the job first: no new task starts, the task in
 * progress (bounded by ScaiSendVerifyBudget or ScaiSendWebhookTimeout)
 * is waited for, and the lease is given up for another node. */
#include "mod_scaisend_domains.h"
#include "ssd_metrics.h"

#include <http_core.h>
#include <mod_watchdog.h>
#include <unistd.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#define JOB_NAME "_scaisend_domains_"
#define LEASE_NAME "background"
#define SUB_RECHECK "scaisend-recheck"
#define SUB_EXPIRY "scaisend-expiry"
#define DELIVERIES_PER_ROUND 20
#define EXPIRIES_PER_ROUND 10
#define PAUSE (apr_time_from_sec(60))
#define OUTBOX_KEPT_MS (7LL * 24 * 3600 * 1000)
#define GIVE_UP_AFTER_MS (3LL * 24 * 3600 * 1000)

typedef struct {
    server_rec *s;
    char holder[128];           /* this child's name in the lease */
    int held;                   /* the lease was ours last round */
    apr_time_t paused_until;    /* no resolver, no threads: wait a while */
    apr_time_t next_cleanup;
    int ran;                    /* this child runs the job */
    volatile apr_uint32_t busy;     /* a round is in progress */
    volatile apr_uint32_t stopping; /* the child is exiting */
} job_t;

static job_t *the_job;          /* this generation's, for child_init */

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register;

/* Lease time: longer than the longest single task of a round (a
 * verification, a delivery), renewed before each. */
static apr_int64_t lease_ms(const ssd_conf_t *c)
{
    apr_int64_t longest = c->verify_budget_ms;

    if (c->webhook_url && c->webhook_timeout_s * 1000LL > longest) {
        longest = c->webhook_timeout_s * 1000LL;
    }
    return 10000 + 2 * longest;
}

/* Go on with the next task: the child is not exiting and the lease is
 * (still) ours. */
static int renew(job_t *job, ssd_work_t *w)
{
    int held;

    if (apr_atomic_read32(&job->stopping)) {
        return 0;
    }
    held = ssd_work_store(w)
               && ssd_store_lease(w->store, LEASE_NAME, job->holder,
                                  lease_ms(w->conf)) == SSD_STORE_OK;

    if (held != job->held) {
        SSD_SLOG(APLOG_INFO, 0, job->s, 601, "background job: %s the lease "
                 "(%s)", held ? "holds" : "does not hold", job->holder);
        job->held = held;
    }
    return held;
}

/* ---- re-checks ---------------------------------------------------------- */

/* One due domain; 0 to go on, -1 to end the round. */
static int recheck_one(job_t *job, ssd_work_t *w, const char *id)
{
    ssd_domain_t *d = NULL;
    ssd_run_t run;
    ssd_run_rc rc;

    if (!renew(job, w)) {
        return -1;
    }
    if (ssd_store_domain_get(w->store, id, &d) != SSD_STORE_OK) {
        return 0;                       /* deleted meanwhile */
    }
    rc = ssd_verification_run(w, d, &run);
    if (rc == SSD_RUN_NO_KEY && ssd_work_store(w)) {
        ssd_store_domain_unschedule(w->store, id);
    }
    if (rc == SSD_RUN_RESOLVER || rc == SSD_RUN_NOT_RUN) {
        SSD_SLOG(APLOG_WARNING, 0, job->s, 602, "background re-checks "
                 "paused for %d s: %s", (int)apr_time_sec(PAUSE),
                 rc == SSD_RUN_RESOLVER ? "no DNS resolver"
                                        : "no thread for the checks");
        job->paused_until = apr_time_now() + PAUSE;
        return -1;
    }
    if (rc == SSD_RUN_DONE) {
        SSD_SLOG(APLOG_DEBUG, 0, job->s, 603, "re-checked %s (%s): %s",
                 d->id, d->domain, d->state);
    }
    return rc == SSD_RUN_STORAGE ? -1 : 0;
}

static void recheck_due(job_t *job, ssd_work_t *w)
{
    apr_array_header_t *due;
    int i;

    if (apr_time_now() < job->paused_until
        || ssd_store_domains_due(w->store, w->conf->recheck_rate, &due)
           != SSD_STORE_OK) {
        return;
    }
    for (i = 0; i < due->nelts; i++) {
        if (recheck_one(job, w, APR_ARRAY_IDX(due, i, const char *)) != 0) {
            return;
        }
    }
}

/* ---- webhooks ------------------------------------------------------------ */

/* About 5 s, 1 min, 10 min, 1 h, then every 6 h (api.md section 9). */
static apr_int64_t retry_in_ms(int attempts)
{
    static const apr_int64_t steps[] = {5000, 60000, 600000, 3600000};

    return attempts < 4 ? steps[attempts] : 6 * 3600000LL;
}

static void after_attempt(job_t *job, ssd_work_t *w, const ssd_outbox_row_t *o,
                          const ssd_webhook_result_t *res)
{
    apr_int64_t retry = retry_in_ms(o->attempts);
    int give_up = !res->delivered
                  && o->now_ms + retry - o->created_ms > GIVE_UP_AFTER_MS;

    if (give_up) {
        SSD_SLOG(APLOG_WARNING, 0, job->s, 705, "webhook %s not delivered "
                 "after %d attempts over 3 days, given up: %s", o->id,
                 o->attempts + 1, res->error ? res->error : "no answer");
        ssd_metric_count(SSD_METRIC_WEBHOOK, SSD_DELIVERY_GAVE_UP);
    }
    if (ssd_work_store(w)) {
        ssd_store_outbox_done(w->store, o->id, res->delivered, retry, give_up,
                              res->error);
    }
}

static void deliver_due(job_t *job, ssd_work_t *w)
{
    apr_array_header_t *due;
    ssd_webhook_result_t res;
    apr_pool_t *attempt;
    int i;

    if (!w->conf->webhook_url
        || ssd_store_outbox_due(w->store, DELIVERIES_PER_ROUND, &due)
           != SSD_STORE_OK) {
        return;
    }
    for (i = 0; i < due->nelts && renew(job, w); i++) {
        const ssd_outbox_row_t *o = &APR_ARRAY_IDX(due, i, ssd_outbox_row_t);

        /* no connection held while the receiver takes its time */
        ssd_work_release(w);
        apr_pool_create(&attempt, w->pool);
        memset(&res, 0, sizeof(res));
        ssd_webhook_deliver(job->s, attempt, w->conf, o->id, o->body, &res);
        after_attempt(job, w, o, &res);
        apr_pool_destroy(attempt);
    }
}

/* ---- housekeeping ------------------------------------------------------- */

static void expire_pending(job_t *job, ssd_work_t *w)
{
    ssd_event_t ev = {SUB_EXPIRY, "domain.deleted",
                      "{\"reason\":\"never verified\"}", "pending", NULL,
                      NULL};
    apr_array_header_t *ids;
    const char *before;
    int i;

    if (w->conf->pending_expiry_ms <= 0) {
        return;
    }
    before = ssd_ago_rfc3339(w->pool, w->conf->pending_expiry_ms);
    if (ssd_store_domains_expired(w->store, before, EXPIRIES_PER_ROUND, &ids)
        != SSD_STORE_OK) {
        return;
    }
    for (i = 0; i < ids->nelts && renew(job, w); i++) {
        ssd_domain_t *d = NULL;

        if (ssd_store_domain_get(w->store, APR_ARRAY_IDX(ids, i, const char *),
                                 &d) == SSD_STORE_OK
            && ssd_store_domain_delete(w->store, d, &ev) == SSD_STORE_OK) {
            SSD_SLOG(APLOG_NOTICE, 0, job->s, 604, "deleted %s (%s): never "
                     "verified since %s", d->id, d->domain, d->created_at);
        }
    }
}

typedef struct {
    job_t *job;
    ssd_work_t *w;
} job_work_t;

static int go_on(void *baton)
{
    job_work_t *jw = baton;

    return renew(jw->job, jw->w);
}

static void rotate_due(job_t *job, ssd_work_t *w)
{
    job_work_t jw = {job, w};

    ssd_schedule_rotations(w, go_on, &jw);
}

static void cleanup(job_t *job, ssd_work_t *w)
{
    if (apr_time_now() >= job->next_cleanup) {
        ssd_store_outbox_forget(w->store, OUTBOX_KEPT_MS);
        job->next_cleanup = apr_time_now() + apr_time_from_sec(600);
    }
}

/* ---- the watchdog callback ---------------------------------------------- */

static void round_of_work(job_t *job, apr_pool_t *p)
{
    ssd_work_t w;

    memset(&w, 0, sizeof(w));
    w.pool = p;
    w.server = job->s;
    w.conf = ssd_conf_get(job->s);
    w.sub = SUB_RECHECK;
    w.log = ssd_server_log(p, job->s, "job");
    if (!renew(job, &w)) {
        ssd_work_release(&w);
        return;
    }
    recheck_due(job, &w);
    if (ssd_work_store(&w)) deliver_due(job, &w);
    if (ssd_work_store(&w)) expire_pending(job, &w);
    if (ssd_work_store(&w)) rotate_due(job, &w);
    if (ssd_work_store(&w)) cleanup(job, &w);
    ssd_work_release(&w);
}

static void give_up_lease(job_t *job, apr_pool_t *p)
{
    ssd_work_t w;

    memset(&w, 0, sizeof(w));
    w.pool = p;
    w.server = job->s;
    w.conf = ssd_conf_get(job->s);
    if (job->held && ssd_work_store(&w)) {
        ssd_store_lease_release(w.store, LEASE_NAME, job->holder);
    }
    ssd_work_release(&w);
    job->held = 0;
}

static apr_status_t job_callback(int state, void *data, apr_pool_t *p)
{
    job_t *job = data;
    char host[64] = "?";

    switch (state) {
    case AP_WATCHDOG_STATE_STARTING:
        gethostname(host, sizeof(host) - 1);
        apr_snprintf(job->holder, sizeof(job->holder), "%s:%ld:%08x", host,
                     (long)getpid(), (unsigned)apr_time_now());
        job->ran = 1;
        break;
    case AP_WATCHDOG_STATE_RUNNING:
        /* busy before stopping is read: job_stop sees one or the other */
        apr_atomic_inc32(&job->busy);
        if (!apr_atomic_read32(&job->stopping)) {
            round_of_work(job, p);
        }
        apr_atomic_dec32(&job->busy);
        break;
    default:
        break;      /* STOPPING comes after the pools are gone: job_stop */
    }
    return APR_SUCCESS;
}

/* Pre-cleanup of the child pool: runs before its sub-pools (the database
 * connections, the watchdog's pool) are destroyed. */
static apr_status_t job_stop(void *data)
{
    job_t *job = data;
    apr_time_t start = apr_time_now();
    apr_time_t limit = start + apr_time_from_msec(lease_ms(ssd_conf_get(job->s)));
    apr_pool_t *p;

    apr_atomic_set32(&job->stopping, 1);
    while (apr_atomic_read32(&job->busy) && apr_time_now() < limit) {
        apr_sleep(apr_time_from_msec(10));
    }
    if (!job->ran) {
        return APR_SUCCESS;
    }
    if (apr_atomic_read32(&job->busy)) {
        SSD_SLOG(APLOG_ERR, 0, job->s, 606, "background job: its task did "
                 "not end within %d ms of the stop; the lease expires by "
                 "itself", (int)apr_time_as_msec(limit - start));
        return APR_SUCCESS;
    }
    if (apr_pool_create(&p, NULL) == APR_SUCCESS) {
        give_up_lease(job, p);
        apr_pool_destroy(p);
    }
    SSD_SLOG(APLOG_INFO, 0, job->s, 606, "background job stopped (waited "
             "%d ms for the task in progress)",
             (int)apr_time_as_msec(apr_time_now() - start));
    return APR_SUCCESS;
}

void ssd_job_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    if (the_job) {
        apr_pool_pre_cleanup_register(pchild, the_job, job_stop);
    }
}

/* Anything for the job to do with these settings? */
static int job_needed(const ssd_conf_t *c)
{
    return c->recheck_interval_ms > 0 || c->pending_window_ms > 0
           || c->pending_expiry_ms > 0 || c->rotate_after_ms > 0
           || c->webhook_url;
}

int ssd_job_post_config(apr_pool_t *pconf, server_rec *s)
{
    ap_watchdog_t *wd;
    job_t *job;

    the_job = NULL;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG
        || !job_needed(ssd_conf_get(s))) {
        return OK;
    }
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register
        || wd_get_instance(&wd, JOB_NAME, 0, 1, pconf) != APR_SUCCESS) {
        SSD_SLOG(APLOG_CRIT, 0, s, 605, "mod_watchdog is needed for the "
                 "background re-checks and webhooks (LoadModule "
                 "watchdog_module, or set %s, %s, %s and %s to 0 and no %s)",
                 SSD_DIR_RECHECK_INTERVAL, SSD_DIR_PENDING_WINDOW,
                 SSD_DIR_PENDING_EXPIRY, SSD_DIR_ROTATE_AFTER,
                 SSD_DIR_WEBHOOK_URL);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    job = apr_pcalloc(pconf, sizeof(*job));
    job->s = s;
    if (wd_register(wd, AP_WD_TM_INTERVAL, job, job_callback) != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    the_job = job;
    return OK;
}
