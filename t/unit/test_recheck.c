/* Unit tests of ssd_recheck: states, grace, and the re-check schedule. */
#include "unit.h"
#include "ssd_recheck.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)

static const ssd_schedule_t sc = {72 * HOUR, 6 * HOUR, 72 * HOUR};

static void test_pending(void)
{
    ssd_vstate_t v;
    const char *ev;
    apr_int64_t t0 = 1000000;

    ssd_recheck_new(&sc, &v, t0);
    UNIT_STR_EQ(v.state, "pending", "a new domain is pending");
    UNIT_CHECK(v.next_check_ms == t0 + MIN, "re-checked after 1 min");
    ev = ssd_recheck_apply(&sc, &v, SSD_VERDICT_FAIL, t0 + MIN, 0);
    UNIT_CHECK(ev == NULL, "a failing pending domain stays pending, no event");
    UNIT_CHECK(v.next_check_ms == t0 + MIN + 5 * MIN, "then after 5 min");
    ssd_recheck_apply(&sc, &v, SSD_VERDICT_FAIL, t0 + 6 * MIN, 0);
    UNIT_CHECK(v.next_check_ms == t0 + 21 * MIN, "then after 15 min");
    ssd_recheck_apply(&sc, &v, SSD_VERDICT_TEMP, t0 + 21 * MIN, 0);
    UNIT_CHECK(v.next_check_ms == t0 + 81 * MIN, "then after 1 h (a "
               "temporary failure too)");
    ssd_recheck_apply(&sc, &v, SSD_VERDICT_FAIL, t0 + 81 * MIN, 0);
    UNIT_CHECK(v.next_check_ms == t0 + 141 * MIN, "then hourly");
    ssd_recheck_apply(&sc, &v, SSD_VERDICT_FAIL, t0 + 72 * HOUR - 30 * MIN, 0);
    UNIT_CHECK(v.next_check_ms == 0, "not past the 72 h window");
    UNIT_STR_EQ(v.state, "pending", "still pending");
    ev = ssd_recheck_apply(&sc, &v, SSD_VERDICT_PASS, t0 + 80 * HOUR, 0);
    UNIT_STR_EQ(ev, "domain.verified", "a pass verifies it, with the event");
}

static void test_grace(void)
{
    ssd_vstate_t v;
    const char *ev;
    apr_int64_t t = 5000000;

    ssd_recheck_new(&sc, &v, t);
    ssd_recheck_apply(&sc, &v, SSD_VERDICT_PASS, t, 7);
    UNIT_CHECK(v.next_check_ms >= t + 6 * HOUR - 36 * MIN
               && v.next_check_ms <= t + 6 * HOUR + 36 * MIN,
               "verified: re-checked every 6 h +- 10 %");
    ev = ssd_recheck_apply(&sc, &v, SSD_VERDICT_TEMP, t + HOUR, 0);
    UNIT_CHECK(ev == NULL && !strcmp(v.state, "verified"),
               "a temporary failure changes nothing");
    ev = ssd_recheck_apply(&sc, &v, SSD_VERDICT_FAIL, t + 2 * HOUR, 0);
    UNIT_STR_EQ(ev, "domain.degraded", "a failure degrades it");
    UNIT_CHECK(v.failing_since_ms == t + 2 * HOUR, "failing since then");
    UNIT_CHECK(v.next_check_ms == t + 2 * HOUR + 36 * MIN,
               "degraded: re-checked every tenth of the interval");
    UNIT_CHECK(ssd_recheck_is_verified(v.state), "degraded still delivers");
    ev = ssd_recheck_apply(&sc, &v, SSD_VERDICT_FAIL, t + 50 * HOUR, 0);
    UNIT_CHECK(ev == NULL && !strcmp(v.state, "degraded"),
               "within the grace it stays degraded");
    ev = ssd_recheck_apply(&sc, &v, SSD_VERDICT_PASS, t + 51 * HOUR, 0);
    UNIT_STR_EQ(ev, "domain.verified", "a pass returns it to verified");
    UNIT_CHECK(v.failing_since_ms == 0, "no longer failing");
    ssd_recheck_apply(&sc, &v, SSD_VERDICT_FAIL, t + 52 * HOUR, 0);
    ev = ssd_recheck_apply(&sc, &v, SSD_VERDICT_FAIL, t + 52 * HOUR + 72 * HOUR,
                           0);
    UNIT_STR_EQ(ev, "domain.unverified", "failing for the whole grace: "
                "unverified");
    UNIT_CHECK(!ssd_recheck_is_verified(v.state), "which does not deliver");
    UNIT_CHECK(v.next_check_ms == t + 124 * HOUR + MIN,
               "re-checked like a pending domain, from then");
}

static void test_no_grace(void)
{
    const ssd_schedule_t now = {0, 0, HOUR};
    ssd_vstate_t v;
    const char *ev;

    ssd_recheck_new(&now, &v, 0);
    ssd_recheck_apply(&now, &v, SSD_VERDICT_PASS, 10, 0);
    UNIT_CHECK(v.next_check_ms == 0, "interval 0: no re-check of a verified "
               "domain");
    ev = ssd_recheck_apply(&now, &v, SSD_VERDICT_FAIL, 20, 0);
    UNIT_STR_EQ(ev, "domain.unverified", "grace 0: a failure unverifies at "
                "once");
}

int main(void)
{
    test_pending();
    test_grace();
    test_no_grace();
    return UNIT_DONE();
}
