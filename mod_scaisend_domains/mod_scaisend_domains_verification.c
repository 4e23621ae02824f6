/* mod_scaisend_domains_verification: one verification of a domain, for a
 * request (POST .../verify) or the background job -- the single-flight
 * claim on the database's clock, the lookups holding no connection, and
 * the outcome: the verification state (ssd_recheck), the record statuses,
 * the audit events, the activation of a pending key that passed, in one
 * transaction. */
#include "mod_scaisend_domains.h"
#include "ssd_json.h"
#include "ssd_metrics.h"

#include <apr_strings.h>

#define STALE_MARGIN_MS 10000

static int is_rsa(const ssd_dkim_key_t *k)
{
    return ssd_dkim_alg_of(k->algorithm) == SSD_DKIM_RSA;
}

/* The active and pending RSA keys of a domain. */
static void find_keys(const apr_array_header_t *keys,
                      const ssd_dkim_key_t **active,
                      const ssd_dkim_key_t **pending)
{
    int i;

    *active = *pending = NULL;
    for (i = 0; i < keys->nelts; i++) {
        const ssd_dkim_key_t *k = &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t);

        if (!is_rsa(k)) continue;
        if (strcmp(k->state, "active") == 0) *active = k;
        if (strcmp(k->state, "pending") == 0) *pending = k;
    }
}

/* The active and pending keys of the other algorithms (Ed25519). */
static apr_array_header_t *other_keys(apr_pool_t *p,
                                      const apr_array_header_t *keys)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(ssd_verify_key_t));
    int i;

    for (i = 0; keys && i < keys->nelts; i++) {
        const ssd_dkim_key_t *k = &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t);
        int pending = strcmp(k->state, "pending") == 0;
        ssd_verify_key_t *v;

        if (is_rsa(k) || (!pending && strcmp(k->state, "active") != 0)
            || out->nelts == SSD_VERIFY_MAX_KEYS) {
            continue;
        }
        v = apr_array_push(out);
        v->alg = ssd_dkim_alg_of(k->algorithm);
        v->selector = k->selector;
        v->public_b64 = k->public_key;
        v->pending = pending;
    }
    return out;
}

void ssd_verification_input(ssd_work_t *w, const ssd_domain_t *d,
                            const apr_array_header_t *keys,
                            ssd_verify_input_t *in)
{
    const ssd_dkim_key_t *active, *pending;

    find_keys(keys, &active, &pending);
    memset(in, 0, sizeof(*in));
    in->domain = d->domain;
    in->selector = active ? active->selector : NULL;
    in->public_b64 = active ? active->public_key : NULL;
    in->pending_selector = pending ? pending->selector : NULL;
    in->pending_b64 = pending ? pending->public_key : NULL;
    in->keys = other_keys(w->pool, keys);
    in->spf_include = w->conf->spf_include;
    in->helo = w->conf->helo_name;
    in->dmarc_policy = d->dmarc_policy;
    in->dmarc_rua = d->dmarc_rua_email;
    in->dns.nameservers = w->conf->resolvers;
    in->dns.log = w->log;
    in->dns.query_timeout = apr_time_from_msec(w->conf->dns_timeout_ms);
    in->dns.authoritative_port = (apr_port_t)w->conf->auth_port;
    in->dns.deadline = apr_time_now()
                       + apr_time_from_msec(w->conf->verify_budget_ms);
}

/* The run as it goes: the domain, its keys, the claim it holds. */
typedef struct {
    ssd_work_t *w;
    ssd_domain_t *d;
    const apr_array_header_t *keys;
    const ssd_dkim_key_t *active, *pending;     /* the RSA ones */
    apr_int64_t claim_ms;
    ssd_verify_result_t res;
} run_t;

/* All three passed: only one record of a name may be verified. 1 when
 * another record is. */
static int taken_elsewhere(run_t *run)
{
    ssd_verify_result_t *res = &run->res;

    if (ssd_verify_outcome(res) != SSD_OUTCOME_VERIFIED
        || ssd_store_verified_elsewhere(run->w->store, run->d->domain,
                                        run->d->id) != SSD_STORE_OK) {
        return 0;
    }
    ssd_verify_add_error(run->w->pool, &res->dkim, "dkim",
                         "verified_elsewhere", res->dkim.host,
                         apr_psprintf(run->w->pool, "%s is already verified "
                                      "by another account; the DNS proves "
                                      "control for one owner only. Contact "
                                      "support if the domain is yours.",
                                      run->d->domain));
    return 1;
}

static const ssd_dkim_key_t *key_named(const apr_array_header_t *keys,
                                       const char *selector)
{
    int i;

    for (i = 0; selector && i < keys->nelts; i++) {
        const ssd_dkim_key_t *k = &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t);

        if (strcmp(k->selector, selector) == 0) {
            return k;
        }
    }
    return NULL;
}

/* Each key's record status after its own check; a verification refused
 * because another owner holds the name fails the keys it stands on. */
static apr_array_header_t *key_status(run_t *run, int elsewhere)
{
    apr_array_header_t *out = apr_array_make(run->w->pool, 4,
                                             sizeof(ssd_dkim_key_t));
    const apr_array_header_t *kr = run->res.keys;
    int i;

    for (i = 0; i < kr->nelts; i++) {
        const ssd_verify_key_result_t *k =
            &APR_ARRAY_IDX(kr, i, ssd_verify_key_result_t);
        const char *status = elsewhere && k->in_dkim
                             ? "failed" : ssd_check_record_status(&k->result);
        ssd_dkim_key_t *row;

        if (status && key_named(run->keys, k->key.selector)) {
            row = apr_array_push(out);
            memset(row, 0, sizeof(*row));
            row->selector = k->key.selector;
            row->dns_status = status;
        }
    }
    return out;
}

/* The pending keys, which activate together. */
static apr_array_header_t *pending_keys(run_t *run)
{
    apr_array_header_t *out = apr_array_make(run->w->pool, 2,
                                             sizeof(ssd_dkim_key_t));
    int i;

    for (i = 0; i < run->keys->nelts; i++) {
        const ssd_dkim_key_t *k = &APR_ARRAY_IDX(run->keys, i,
                                                 ssd_dkim_key_t);

        if (strcmp(k->state, "pending") == 0) {
            APR_ARRAY_PUSH(out, ssd_dkim_key_t) = *k;
        }
    }
    return out;
}

static ssd_event_t *event(ssd_work_t *w, const char *action,
                          const char *changes)
{
    ssd_event_t *ev = apr_pcalloc(w->pool, sizeof(*ev));   /* NULLs */

    ev->sub = w->sub;
    ev->action = action;
    ev->changes = changes;
    return ev;
}

/* The pending keys are published: signing switches to them, the old
 * active keys retire (and stay valid until removed); stored with the
 * outcome. The event names the RSA selectors, and the Ed25519 ones when
 * such a key activates. */
static void plan_activation(run_t *run, ssd_verify_save_t *save)
{
    json_object *changes = ssd_json_new_object(run->w->pool);
    apr_array_header_t *keys = pending_keys(run);
    const char *to = run->pending ? run->pending->selector
                                  : run->d->dkim_selector;
    ssd_event_t *ev;

    ssd_json_add_str(changes, "old_selector", run->d->dkim_selector);
    ssd_json_add_str(changes, "new_selector", to);
    if (keys->nelts > (run->pending ? 1 : 0)) {
        json_object *a = json_object_new_array();
        int i;

        for (i = 0; i < keys->nelts; i++) {
            json_object_array_add(a, json_object_new_string(
                APR_ARRAY_IDX(keys, i, ssd_dkim_key_t).selector));
        }
        json_object_object_add(changes, "activated", a);
    }
    ev = event(run->w, "dkim.activated",
               ssd_json_to_string(run->w->pool, changes));
    ev->previous = run->d->dkim_selector;
    ev->current = to;
    save->activate = keys;
    save->activated = ev;
}

static ssd_verdict_e verdict_of(ssd_outcome_e outcome)
{
    return outcome == SSD_OUTCOME_VERIFIED ? SSD_VERDICT_PASS
           : outcome == SSD_OUTCOME_FAILED ? SSD_VERDICT_FAIL
           : SSD_VERDICT_TEMP;
}

/* {"verification_state": {"from", "to"}} and "verified" when it turned. */
static const char *state_changes(apr_pool_t *p, const char *from,
                                 const char *to)
{
    json_object *o = ssd_json_new_object(p), *c = json_object_new_object();
    int was = ssd_recheck_is_verified(from), is = ssd_recheck_is_verified(to);

    ssd_json_add_str(c, "from", from);
    ssd_json_add_str(c, "to", to);
    json_object_object_add(o, "verification_state", c);
    if (was != is) {
        c = json_object_new_object();
        ssd_json_add_bool(c, "from", was);
        ssd_json_add_bool(c, "to", is);
        json_object_object_add(o, "verified", c);
    }
    return ssd_json_to_string(p, o);
}

/* The state the verdict leaves the domain in (d updated); the event of a
 * change, or NULL. */
static const ssd_event_t *apply_outcome(run_t *run)
{
    ssd_work_t *w = run->w;
    ssd_domain_t *d = run->d;
    ssd_schedule_t sc = ssd_conf_schedule(w->conf);
    ssd_vstate_t v = {d->state, d->failing_since_ms, d->next_check_ms,
                      d->window_from_ms, d->check_step};
    ssd_verdict_e verdict = verdict_of(ssd_verify_outcome(&run->res));
    const char *before = d->state ? d->state : SSD_STATE_PENDING;
    const char *action = ssd_recheck_apply(&sc, &v, verdict, run->claim_ms,
                                           (unsigned)apr_time_now());
    ssd_event_t *ev;

    d->state = v.state;
    d->failing_since_ms = v.failing_since_ms;
    d->next_check_ms = v.next_check_ms;
    d->window_from_ms = v.window_from_ms;
    d->check_step = v.check_step;
    d->verified = ssd_recheck_is_verified(v.state);
    if (verdict == SSD_VERDICT_PASS) {
        d->verified_at = run->res.checked_at;
    }
    else if (!d->verified) {
        d->verified_at = NULL;
    }
    if (ssd_check_record_status(&run->res.spf))
        d->spf_status = ssd_check_record_status(&run->res.spf);
    if (ssd_check_record_status(&run->res.dmarc))
        d->dmarc_status = ssd_check_record_status(&run->res.dmarc);
    if (!action) {
        return NULL;
    }
    ev = event(w, action, state_changes(w->pool, before, v.state));
    ev->previous = before;
    ev->current = v.state;
    return ev;
}

/* The answer of the run: api.md section 4, with the state before and
 * after (section 9), at most SSD_VERIFY_MAX_ANSWER bytes. */
static const char *answer_of(run_t *run, const char *before)
{
    json_object *o = ssd_verify_json(run->w->pool, run->d->domain,
                                     run->d->verified, &run->res);

    ssd_json_add_str(o, "verification_state", run->d->state);
    ssd_json_add_str(o, "previous_state", before);
    return ssd_verify_answer_text(run->w->pool, o, SSD_VERIFY_MAX_ANSWER);
}

static ssd_run_rc store_outcome(run_t *run, ssd_run_t *out)
{
    ssd_work_t *w = run->w;
    ssd_verify_save_t save;
    ssd_verify_result_t *res = &run->res;
    const char *before = run->d->state ? run->d->state : SSD_STATE_PENDING;
    int promoted = ssd_verify_promote(w->pool, res), elsewhere;
    ssd_store_rc rc;

    memset(&save, 0, sizeof(save));
    elsewhere = taken_elsewhere(run);
    if (promoted && !elsewhere) {
        plan_activation(run, &save);
    }
    save.event = apply_outcome(run);
    out->outcome = ssd_verify_outcome(res);
    out->answer = answer_of(run, before);
    save.domain = run->d;
    save.answer = out->answer;
    /* a temporary failure decides nothing: the last verification stands */
    save.last_verification = out->outcome == SSD_OUTCOME_UNDECIDED
                             ? NULL : out->answer;
    save.key_status = key_status(run, elsewhere);
    save.claim_ms = run->claim_ms;
    rc = ssd_store_verify_save(w->store, &save);
    if (rc != SSD_STORE_OK) {
        ssd_store_verify_release(w->store, run->d->id, NULL, run->claim_ms);
        return rc == SSD_STORE_NOT_FOUND ? SSD_RUN_GONE : SSD_RUN_STORAGE;
    }
    ssd_metric_count(SSD_METRIC_VERIFICATION,
                     out->outcome == SSD_OUTCOME_VERIFIED
                     ? SSD_OUTCOME_NAME_VERIFIED
                     : out->outcome == SSD_OUTCOME_FAILED
                     ? SSD_OUTCOME_NAME_FAILED : SSD_OUTCOME_NAME_TEMPERROR);
    return SSD_RUN_DONE;
}

/* Checks that could not all run decide nothing: the answer says so, and
 * nothing of it is stored or activated. */
static ssd_run_rc not_run(run_t *run, ssd_run_t *out)
{
    out->answer = answer_of(run, run->d->state);
    out->outcome = SSD_OUTCOME_UNDECIDED;
    SSD_SLOG(APLOG_ERR, 0, run->w->server, 401, "verification threads of "
             "%s could not be started; nothing was stored", run->d->id);
    ssd_metric_count(SSD_METRIC_VERIFICATION, SSD_OUTCOME_NAME_NOT_RUN);
    return ssd_store_verify_release(run->w->store, run->d->id, out->answer,
                                    run->claim_ms) == SSD_STORE_OK
           ? SSD_RUN_NOT_RUN : SSD_RUN_STORAGE;
}

/* No resolver could be set up (an empty resolv.conf, say): the service,
 * not the domain, is at fault; nothing stored. */
static ssd_run_rc no_resolver(run_t *run)
{
    SSD_SLOG(APLOG_ERR, 0, run->w->server, 402, "no DNS resolver could be "
             "set up for verification: check %s or /etc/resolv.conf",
             SSD_DIR_RESOLVER);
    ssd_store_verify_release(run->w->store, run->d->id, NULL, run->claim_ms);
    ssd_metric_count(SSD_METRIC_VERIFICATION,
                     SSD_OUTCOME_NAME_RESOLVER_UNAVAILABLE);
    return SSD_RUN_RESOLVER;
}

/* The lookups hold no database connection: a slow zone must not starve
 * the other requests of the process of connections. */
static ssd_run_rc lookups(run_t *run, ssd_run_t *out)
{
    ssd_verify_input_t in;
    apr_status_t rv;

    ssd_verification_input(run->w, run->d, run->keys, &in);
    ssd_work_release(run->w);
    rv = ssd_verify_run(run->w->pool, &in, &run->res);
    if (!ssd_work_store(run->w)) {
        return SSD_RUN_STORAGE;
    }
    if (run->res.resolver_failed) {
        return no_resolver(run);
    }
    return rv == APR_SUCCESS ? store_outcome(run, out) : not_run(run, out);
}

static ssd_run_rc claimed_elsewhere(run_t *run, ssd_run_t *out)
{
    ssd_store_rc rc;

    memset(&out->state, 0, sizeof(out->state));
    rc = ssd_store_verify_state(run->w->store, run->d->id, &out->state);
    return rc == SSD_STORE_OK ? SSD_RUN_CLAIMED
           : rc == SSD_STORE_NOT_FOUND ? SSD_RUN_GONE : SSD_RUN_STORAGE;
}

ssd_run_rc ssd_verification_run(ssd_work_t *w, ssd_domain_t *d,
                                ssd_run_t *out)
{
    run_t run;
    apr_array_header_t *keys;
    ssd_store_rc rc;

    memset(&run, 0, sizeof(run));
    memset(out, 0, sizeof(*out));
    run.w = w;
    run.d = d;
    if (!ssd_work_store(w)) {
        return SSD_RUN_STORAGE;
    }
    rc = ssd_store_verify_claim(w->store, d->id,
                                (apr_int64_t)w->conf->verify_interval_s * 1000,
                                w->conf->verify_budget_ms + STALE_MARGIN_MS,
                                &run.claim_ms);
    if (rc == SSD_STORE_CONFLICT) {
        return claimed_elsewhere(&run, out);
    }
    if (rc != SSD_STORE_OK || (rc = ssd_store_keys_get(w->store, d->id,
                                                      &keys)) != SSD_STORE_OK) {
        ssd_store_verify_release(w->store, d->id, NULL, run.claim_ms);
        return rc == SSD_STORE_NOT_FOUND ? SSD_RUN_GONE : SSD_RUN_STORAGE;
    }
    run.keys = keys;
    find_keys(keys, &run.active, &run.pending);
    if (!run.active) {
        ssd_store_verify_release(w->store, d->id, NULL, run.claim_ms);
        return SSD_RUN_NO_KEY;
    }
    return lookups(&run, out);
}
