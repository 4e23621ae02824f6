/* mod_scaisend_domains_verify: POST /domains/{id}/verify -- live DNS
 * checks in the request thread, one set of lookups per domain at a time,
 * a minimum interval between runs, and the outcome stored. */
#include "mod_scaisend_domains.h"
#include "ssd_json.h"
#include "ssd_metrics.h"
#include "ssd_verify.h"

#include <apr_strings.h>

#define STALE_MARGIN_MS 10000
#define WAIT_STEP (50 * 1000)

/* The active and pending keys of a domain. */
static void find_keys(const apr_array_header_t *keys,
                      const ssd_dkim_key_t **active,
                      const ssd_dkim_key_t **pending)
{
    int i;

    *active = *pending = NULL;
    for (i = 0; i < keys->nelts; i++) {
        const ssd_dkim_key_t *k = &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t);

        if (strcmp(k->state, "active") == 0) *active = k;
        if (strcmp(k->state, "pending") == 0) *pending = k;
    }
}

static void build_input(ssd_req_t *q, const ssd_domain_t *d,
                        const ssd_dkim_key_t *active,
                        const ssd_dkim_key_t *pending, ssd_verify_input_t *in)
{
    memset(in, 0, sizeof(*in));
    in->domain = d->domain;
    in->selector = active->selector;
    in->public_b64 = active->public_key;
    in->pending_selector = pending ? pending->selector : NULL;
    in->pending_b64 = pending ? pending->public_key : NULL;
    in->spf_include = q->conf->spf_include;
    in->helo = q->conf->helo_name;
    in->dmarc_policy = d->dmarc_policy;
    in->dmarc_rua = d->dmarc_rua_email;
    in->dns.nameservers = q->conf->resolvers;
    in->dns.log = q->log ? q->log : (q->log = ssd_request_log(q->r));
    in->dns.query_timeout = apr_time_from_msec(q->conf->dns_timeout_ms);
    in->dns.deadline = apr_time_now()
                       + apr_time_from_msec(q->conf->verify_budget_ms);
}

/* All three passed: only one record of a name may be verified. */
static int taken_elsewhere(ssd_req_t *q, const ssd_domain_t *d,
                           ssd_verify_result_t *res)
{
    if (ssd_verify_outcome(res) != SSD_OUTCOME_VERIFIED
        || ssd_store_verified_elsewhere(q->store, d->domain, d->id)
           != SSD_STORE_OK) {
        return 0;
    }
    ssd_verify_add_error(q->r->pool, &res->dkim, "dkim",
                         "verified_elsewhere", res->dkim.host,
                         apr_psprintf(q->r->pool, "%s is already verified "
                                      "by another account; the DNS proves "
                                      "control for one owner only. Contact "
                                      "support if the domain is yours.",
                                      d->domain));
    return 1;
}

static void set_key_status(apr_array_header_t *out, const ssd_dkim_key_t *k,
                           const ssd_check_result_t *r)
{
    ssd_dkim_key_t *row;
    const char *status = ssd_check_record_status(r);

    if (k && status) {
        row = apr_array_push(out);
        memset(row, 0, sizeof(*row));
        row->selector = k->selector;
        row->dns_status = status;
    }
}

/* Apply the outcome to d; returns the audit event when verified changed. */
static const ssd_event_t *apply_outcome(ssd_req_t *q, ssd_domain_t *d,
                                        const ssd_verify_result_t *res)
{
    ssd_outcome_e outcome = ssd_verify_outcome(res);
    int was = d->verified;
    ssd_event_t *ev;

    if (outcome != SSD_OUTCOME_UNDECIDED) {
        d->verified = outcome == SSD_OUTCOME_VERIFIED;
        d->verified_at = d->verified ? res->checked_at : NULL;
    }
    if (ssd_check_record_status(&res->spf))
        d->spf_status = ssd_check_record_status(&res->spf);
    if (ssd_check_record_status(&res->dmarc))
        d->dmarc_status = ssd_check_record_status(&res->dmarc);
    if (d->verified == was) {
        return NULL;
    }
    ev = apr_pcalloc(q->r->pool, sizeof(*ev));
    ev->sub = q->who.sub;
    ev->action = d->verified ? "domain.verified" : "domain.unverified";
    ev->changes = d->verified ? "{\"verified\":{\"from\":false,\"to\":true}}"
                              : "{\"verified\":{\"from\":true,\"to\":false}}";
    return ev;
}

/* Did the pending key's check pass (its status row says verified)? */
static int ks_passed(const apr_array_header_t *ks, const ssd_dkim_key_t *k)
{
    int i;

    for (i = 0; i < ks->nelts; i++) {
        const ssd_dkim_key_t *row = &APR_ARRAY_IDX(ks, i, ssd_dkim_key_t);

        if (strcmp(row->selector, k->selector) == 0) {
            return strcmp(row->dns_status, "verified") == 0;
        }
    }
    return 0;
}

/* The pending key is published: signing switches to it, the old active
 * key retires (and stays valid until removed); stored with the outcome. */
static void plan_activation(ssd_req_t *q, const ssd_domain_t *d,
                            const ssd_dkim_key_t *pending,
                            ssd_verify_save_t *save)
{
    json_object *changes = ssd_json_new_object(q->r->pool);
    ssd_event_t *ev = apr_pcalloc(q->r->pool, sizeof(*ev));

    ssd_json_add_str(changes, "old_selector", d->dkim_selector);
    ssd_json_add_str(changes, "new_selector", pending->selector);
    ev->sub = q->who.sub;
    ev->action = "dkim.activated";
    ev->changes = ssd_json_to_string(q->r->pool, changes);
    save->activate = pending->selector;
    save->activated = ev;
}

/* The pending key is published: the verification stands on the key that
 * becomes active, and what the old key's check found turns into warnings
 * (its record may go once messages in flight are delivered). */
static int promote_pending(ssd_verify_result_t *res)
{
    ssd_check_result_t old = res->dkim;
    int i;

    if (!res->has_pending || res->pending.status != SSD_CHECK_PASS) {
        return 0;
    }
    res->dkim = res->pending;
    res->has_pending = 0;
    for (i = 0; old.errors && i < old.errors->nelts; i++) {
        ssd_finding_t *f = apr_array_push(res->dkim.warnings);

        *f = APR_ARRAY_IDX(old.errors, i, ssd_finding_t);
        f->check = "dkim_retiring";
    }
    return 1;
}

/* The run as it was, with what it holds: the domain, its keys, the claim. */
typedef struct {
    ssd_domain_t *d;
    const ssd_dkim_key_t *active, *pending;
    apr_int64_t claim_ms;
    ssd_verify_result_t res;
} run_t;

static int storage_failed(ssd_req_t *q, const run_t *run, ssd_store_rc rc)
{
    if (q->store) {
        ssd_store_verify_release(q->store, run->d->id, NULL, run->claim_ms);
    }
    return rc == SSD_STORE_NOT_FOUND
           ? ssd_send_error(q->r, HTTP_NOT_FOUND, "not_found", "no such "
                            "domain (it was deleted during the verification)",
                            NULL)
           : ssd_send_store_error(q, rc);
}

static int store_outcome(ssd_req_t *q, run_t *run)
{
    ssd_verify_save_t save;
    ssd_verify_result_t *res = &run->res;
    ssd_domain_t *d = run->d;
    apr_array_header_t *ks = apr_array_make(q->r->pool, 2,
                                            sizeof(ssd_dkim_key_t));
    json_object *answer;
    ssd_store_rc rc;
    ssd_check_result_t old_active = res->dkim;
    int promoted = promote_pending(res);

    memset(&save, 0, sizeof(save));
    taken_elsewhere(q, d, res);
    set_key_status(ks, run->active, promoted ? &old_active : &res->dkim);
    set_key_status(ks, run->pending, promoted ? &res->dkim : &res->pending);
    if (run->pending && ks_passed(ks, run->pending)) {
        plan_activation(q, d, run->pending, &save);
    }
    save.event = apply_outcome(q, d, res);
    answer = ssd_verify_json(q->r->pool, d->domain, d->verified, res);
    save.domain = d;
    save.answer = ssd_verify_answer_text(q->r->pool, answer,
                                         SSD_VERIFY_MAX_ANSWER);
    /* a temporary failure decides nothing: the last verification stands */
    save.last_verification = ssd_verify_outcome(res) == SSD_OUTCOME_UNDECIDED
                             ? NULL : save.answer;
    save.key_status = ks;
    save.claim_ms = run->claim_ms;
    rc = ssd_store_verify_save(q->store, &save);
    if (rc != SSD_STORE_OK) {
        return storage_failed(q, run, rc);
    }
    ssd_metric_count(SSD_METRIC_VERIFICATION,
                     ssd_verify_outcome(res) == SSD_OUTCOME_VERIFIED
                     ? SSD_OUTCOME_NAME_VERIFIED
                     : ssd_verify_outcome(res) == SSD_OUTCOME_FAILED
                     ? SSD_OUTCOME_NAME_FAILED : SSD_OUTCOME_NAME_TEMPERROR);
    return ssd_send_text(q->r, HTTP_OK, "application/json", save.answer);
}

/* Checks that could not all run decide nothing: the answer says so, and
 * nothing of it is stored or activated. */
static int answer_not_run(ssd_req_t *q, run_t *run)
{
    const char *answer = ssd_verify_answer_text(q->r->pool, ssd_verify_json(
        q->r->pool, run->d->domain, run->d->verified, &run->res),
        SSD_VERIFY_MAX_ANSWER);

    SSD_RLOG(APLOG_ERR, 0, q->r, 401, "verification threads could not be "
             "started; nothing was stored");
    ssd_metric_count(SSD_METRIC_VERIFICATION, SSD_OUTCOME_NAME_NOT_RUN);
    if (ssd_store_verify_release(q->store, run->d->id, answer, run->claim_ms)
        != SSD_STORE_OK) {
        return ssd_send_store_error(q, SSD_STORE_FAILED);
    }
    return ssd_send_text(q->r, HTTP_OK, "application/json", answer);
}

/* No resolver could be set up (an empty resolv.conf, say): the service,
 * not the domain, is at fault -- 503, nothing stored (api.md section 3). */
static int resolver_unavailable(ssd_req_t *q, run_t *run)
{
    SSD_RLOG(APLOG_ERR, 0, q->r, 402, "no DNS resolver could be set up for "
             "verification: check %s or /etc/resolv.conf", SSD_DIR_RESOLVER);
    ssd_store_verify_release(q->store, run->d->id, NULL, run->claim_ms);
    ssd_metric_count(SSD_METRIC_VERIFICATION,
                     SSD_OUTCOME_NAME_RESOLVER_UNAVAILABLE);
    apr_table_setn(q->r->err_headers_out, "Retry-After", "30");
    return ssd_send_error(q->r, HTTP_SERVICE_UNAVAILABLE,
                          "resolver_unavailable", "the DNS resolver is "
                          "unavailable; nothing was changed: retry shortly",
                          NULL);
}

/* The lookups hold no database connection: a slow zone must not starve
 * the other requests of the process of connections. */
static int run_verification(ssd_req_t *q, run_t *run)
{
    ssd_verify_input_t in;
    apr_status_t rv;

    build_input(q, run->d, run->active, run->pending, &in);
    ssd_req_store_release(q);
    rv = ssd_verify_run(q->r->pool, &in, &run->res);
    if (!ssd_req_store(q)) {
        return OK;
    }
    if (run->res.resolver_failed) {
        return resolver_unavailable(q, run);
    }
    return rv == APR_SUCCESS ? store_outcome(q, run) : answer_not_run(q, run);
}

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
static int wait_for_other(ssd_req_t *q, ssd_domain_t *d,
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

static int claimed_elsewhere(ssd_req_t *q, ssd_domain_t *d)
{
    ssd_verify_state_t vs;

    memset(&vs, 0, sizeof(vs));
    if (ssd_store_verify_state(q->store, d->id, &vs) != SSD_STORE_OK) {
        return ssd_send_store_error(q, SSD_STORE_FAILED);
    }
    return vs.claimed_ms > vs.done_ms ? wait_for_other(q, d, &vs)
                                      : too_soon(q, &vs);
}

int ssd_domain_verify(ssd_req_t *q, const char *id)
{
    run_t run;
    apr_array_header_t *keys;
    ssd_store_rc rc;

    memset(&run, 0, sizeof(run));
    if (!(run.d = ssd_domain_load(q, id, SSD_ACCESS_WRITE))) {
        return OK;
    }
    rc = ssd_store_verify_claim(q->store, run.d->id,
                                (apr_int64_t)q->conf->verify_interval_s * 1000,
                                q->conf->verify_budget_ms + STALE_MARGIN_MS,
                                &run.claim_ms);
    if (rc == SSD_STORE_CONFLICT) {
        return claimed_elsewhere(q, run.d);
    }
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    rc = ssd_store_keys_get(q->store, run.d->id, &keys);
    if (rc != SSD_STORE_OK) {
        return storage_failed(q, &run, rc);
    }
    find_keys(keys, &run.active, &run.pending);
    if (!run.active) {
        ssd_store_verify_release(q->store, run.d->id, NULL, run.claim_ms);
        return ssd_send_error(q->r, HTTP_CONFLICT, "no_active_key", "the "
                              "domain has no active DKIM key", NULL);
    }
    return run_verification(q, &run);
}
