/* ssd_recheck: verification over time (api.md section 9) -- the state a
 * verification leaves a domain in, with its grace, and when the
 * background job checks it again. Pure: times are milliseconds on the
 * database's clock, randomness is given. */
#ifndef SSD_RECHECK_H
#define SSD_RECHECK_H

#include <apr.h>

#define SSD_STATE_PENDING "pending"
#define SSD_STATE_VERIFIED "verified"
#define SSD_STATE_DEGRADED "degraded"
#define SSD_STATE_UNVERIFIED "unverified"

typedef struct {
    apr_int64_t grace_ms;       /* ScaiSendVerifyGrace; 0: a failure
                                   unverifies at once */
    apr_int64_t interval_ms;    /* ScaiSendRecheckInterval; 0: verified
                                   and degraded domains are not re-checked */
    apr_int64_t window_ms;      /* ScaiSendPendingWindow: how long pending
                                   and unverified domains are re-checked */
} ssd_schedule_t;

typedef enum {
    SSD_VERDICT_PASS,           /* all three checks passed */
    SSD_VERDICT_FAIL,           /* a conclusive failure */
    SSD_VERDICT_TEMP            /* temporary: decides nothing */
} ssd_verdict_e;

/* A domain's verification state as stored. */
typedef struct {
    const char *state;
    apr_int64_t failing_since_ms;   /* 0 unless degraded */
    apr_int64_t next_check_ms;      /* 0: not scheduled */
    apr_int64_t window_from_ms;     /* pending/unverified window start */
    int check_step;                 /* their backoff step */
} ssd_vstate_t;

/* A new domain: pending, first re-check soon. */
void ssd_recheck_new(const ssd_schedule_t *sc, ssd_vstate_t *v,
                     apr_int64_t now_ms);

/* Apply a verification's verdict at now_ms: the new state and the next
 * re-check. Returns the event the change is ("domain.verified",
 * "domain.degraded", "domain.unverified"), NULL when the state stayed.
 * random (any value) spreads re-checks of verified domains by +-10%. */
const char *ssd_recheck_apply(const ssd_schedule_t *sc, ssd_vstate_t *v,
                              ssd_verdict_e verdict, apr_int64_t now_ms,
                              unsigned random);

/* Whether a state counts as verified (sends are delivered). */
int ssd_recheck_is_verified(const char *state);

#endif
