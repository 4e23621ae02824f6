/* ssd_recheck: states, grace and the re-check schedule.
 *
 *   pending    --pass--> verified   (fail: stays pending)
 *   verified   --fail--> degraded   (grace 0: unverified)
 *   degraded   --fail--> unverified once the grace has passed since the
 *                        first failure, else stays degraded
 *   any        --pass--> verified
 *   unverified --fail--> stays unverified
 * A temporary result changes no state. Re-checks: pending and unverified
 * domains after 1 min, 5 min, 15 min, 1 h, then hourly, for the window
 * (from creation, or from becoming unverified) -- never less often than
 * verified ones, for an interval shorter than those steps (a test rig);
 * verified ones every interval +-10 %; degraded ones every tenth of it. */
#include "ssd_recheck.h"

#include <string.h>

#define MINUTE (60 * 1000)
static const apr_int64_t backoff_ms[] = {1 * MINUTE, 5 * MINUTE, 15 * MINUTE,
                                         60 * MINUTE};
#define BACKOFF_STEPS ((int)(sizeof(backoff_ms) / sizeof(backoff_ms[0])))

static int is(const char *state, const char *name)
{
    return state && strcmp(state, name) == 0;
}

int ssd_recheck_is_verified(const char *state)
{
    return is(state, SSD_STATE_VERIFIED) || is(state, SSD_STATE_DEGRADED);
}

/* Pending and unverified: the backoff, within the window. */
static apr_int64_t next_in_window(const ssd_schedule_t *sc, ssd_vstate_t *v,
                                  apr_int64_t now_ms)
{
    int step = v->check_step < BACKOFF_STEPS ? v->check_step
                                             : BACKOFF_STEPS - 1;
    apr_int64_t wait = backoff_ms[step];
    apr_int64_t next;

    if (sc->interval_ms > 0 && sc->interval_ms < wait) {
        wait = sc->interval_ms;     /* a test rig's short interval */
    }
    next = now_ms + wait;

    if (v->check_step < BACKOFF_STEPS) {
        v->check_step++;
    }
    return next <= v->window_from_ms + sc->window_ms ? next : 0;
}

static apr_int64_t next_check(const ssd_schedule_t *sc, ssd_vstate_t *v,
                              apr_int64_t now_ms, unsigned random)
{
    apr_int64_t jitter;

    if (!ssd_recheck_is_verified(v->state)) {
        return next_in_window(sc, v, now_ms);
    }
    if (sc->interval_ms <= 0) {
        return 0;
    }
    if (is(v->state, SSD_STATE_DEGRADED)) {
        return now_ms + (sc->interval_ms / 10 > 0 ? sc->interval_ms / 10 : 1);
    }
    jitter = sc->interval_ms / 5 > 0
             ? (apr_int64_t)(random % (unsigned)(sc->interval_ms / 5 + 1))
               - sc->interval_ms / 10
             : 0;
    return now_ms + sc->interval_ms + jitter;
}

void ssd_recheck_new(const ssd_schedule_t *sc, ssd_vstate_t *v,
                     apr_int64_t now_ms)
{
    memset(v, 0, sizeof(*v));
    v->state = SSD_STATE_PENDING;
    v->window_from_ms = now_ms;
    v->next_check_ms = next_in_window(sc, v, now_ms);
}

/* A failure: what it makes of the state; the event, or NULL. */
static const char *failed(const ssd_schedule_t *sc, ssd_vstate_t *v,
                          apr_int64_t now_ms)
{
    if (is(v->state, SSD_STATE_VERIFIED) && sc->grace_ms > 0) {
        v->state = SSD_STATE_DEGRADED;
        v->failing_since_ms = now_ms;
        return "domain.degraded";
    }
    if (is(v->state, SSD_STATE_VERIFIED)
        || (is(v->state, SSD_STATE_DEGRADED)
            && now_ms - v->failing_since_ms >= sc->grace_ms)) {
        v->state = SSD_STATE_UNVERIFIED;
        v->failing_since_ms = 0;
        v->window_from_ms = now_ms;
        v->check_step = 0;
        return "domain.unverified";
    }
    return NULL;
}

const char *ssd_recheck_apply(const ssd_schedule_t *sc, ssd_vstate_t *v,
                              ssd_verdict_e verdict, apr_int64_t now_ms,
                              unsigned random)
{
    const char *event = NULL;

    if (!v->state) {
        v->state = SSD_STATE_PENDING;
    }
    if (verdict == SSD_VERDICT_PASS && !is(v->state, SSD_STATE_VERIFIED)) {
        v->state = SSD_STATE_VERIFIED;
        event = "domain.verified";
    }
    if (verdict == SSD_VERDICT_PASS) {
        v->failing_since_ms = 0;
        v->check_step = 0;
    }
    else if (verdict == SSD_VERDICT_FAIL) {
        event = failed(sc, v, now_ms);
    }
    v->next_check_ms = next_check(sc, v, now_ms, random);
    return event;
}
