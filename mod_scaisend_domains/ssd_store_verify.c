/* ssd_store_verify: the stored side of verification -- the single-flight
 * claim on the database's clock, and the outcome (with the activation of
 * a pending key that passed) written in one transaction. */
#include "ssd_store_internal.h"

#include <apr_strings.h>

static const char *i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* A time in ms, NULL for 0 (unset). */
static const char *ms_or_null(apr_pool_t *p, apr_int64_t v)
{
    return v ? i64(p, v) : NULL;
}

static apr_int64_t ms_at(ssd_store_t *st, apr_dbd_row_t *row, int col)
{
    const char *v = ssd_store_text(st, row, col);

    return v && *v ? apr_atoi64(v) : 0;
}

ssd_store_rc ssd_store_verify_claim(ssd_store_t *st, const char *id,
                                    apr_int64_t interval_ms,
                                    apr_int64_t stale_ms,
                                    apr_int64_t *claim_ms)
{
    const char *args[] = {id, i64(st->pool, interval_ms),
                          i64(st->pool, stale_ms)};
    ssd_rows_t res;
    apr_dbd_row_t *row;
    ssd_store_rc rc = SSD_STORE_CONFLICT;

    if (ssd_store_select(st, "ssd_verify_claim", &res, 3, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while ((row = ssd_store_next_row(st, &res))) {
        *claim_ms = ms_at(st, row, 0);
        rc = SSD_STORE_OK;
    }
    return rc;
}

ssd_store_rc ssd_store_verify_state(ssd_store_t *st, const char *id,
                                    ssd_verify_state_t *out)
{
    ssd_rows_t res;
    apr_dbd_row_t *row;
    const char *args[] = {id};
    ssd_store_rc rc = SSD_STORE_NOT_FOUND;

    if (ssd_store_select(st, "ssd_verify_state", &res, 1, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while ((row = ssd_store_next_row(st, &res))) {
        out->claimed_ms = ms_at(st, row, 0);
        out->done_ms = ms_at(st, row, 1);
        out->now_ms = ms_at(st, row, 2);
        out->answer_ms = ms_at(st, row, 3);
        rc = SSD_STORE_OK;
    }
    return rc;
}

static void save_key_status(ssd_store_t *st, txn_t *t, const char *id,
                            const apr_array_header_t *keys)
{
    int i;

    for (i = 0; keys && i < keys->nelts; i++) {
        const ssd_dkim_key_t *k = &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t);
        const char *args[] = {k->dns_status, id, k->selector};

        ssd_txn_run(st, t, "ssd_key_status", 3, args);
    }
}

ssd_store_rc ssd_store_verify_save(ssd_store_t *st,
                                   const ssd_verify_save_t *v)
{
    const ssd_domain_t *d = v->domain;
    const char *args[] = {ssd_store_flag(d->verified), d->verified_at,
                          v->last_verification, v->answer,
                          i64(st->pool, v->claim_ms), d->spf_status,
                          d->dmarc_status, d->state,
                          ms_or_null(st->pool, d->failing_since_ms),
                          ms_or_null(st->pool, d->next_check_ms),
                          apr_itoa(st->pool, d->check_step),
                          ms_or_null(st->pool, d->window_from_ms), d->id};
    txn_t t;

    if (ssd_txn_begin(st, &t) != 0) {
        return SSD_STORE_FAILED;
    }
    ssd_txn_run(st, &t, "ssd_verify_store", 13, args);
    save_key_status(st, &t, d->id, v->key_status);
    if (v->event) {
        ssd_store_insert_event(st, &t, d, v->event);
    }
    if (v->activate) {
        ssd_store_activate_in(st, &t, d, v->activate, v->activated);
    }
    return ssd_txn_end(st, &t, SSD_STORE_OK);
}

ssd_store_rc ssd_store_verify_release(ssd_store_t *st, const char *id,
                                      const char *answer,
                                      apr_int64_t claim_ms)
{
    const char *args[] = {answer, answer ? i64(st->pool, claim_ms) : NULL,
                          id};

    return ssd_store_run(st, "ssd_verify_release", NULL, 3, args) == 0
           ? SSD_STORE_OK : SSD_STORE_FAILED;
}

ssd_store_rc ssd_store_verified_elsewhere(ssd_store_t *st,
                                          const char *domain,
                                          const char *id)
{
    ssd_rows_t res;
    const char *args[] = {domain, id};
    int found = 0;

    if (ssd_store_select(st, "ssd_verified_elsewhere", &res, 2, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while (ssd_store_next_row(st, &res)) {
        found = 1;
    }
    return found ? SSD_STORE_OK : SSD_STORE_NOT_FOUND;
}

ssd_store_rc ssd_store_verify_answer(ssd_store_t *st, const char *id,
                                     const char **answer,
                                     apr_int64_t *answer_ms)
{
    ssd_rows_t res;
    apr_dbd_row_t *row;
    const char *args[] = {id};

    *answer = NULL;
    if (ssd_store_select(st, "ssd_verify_answer", &res, 1, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while ((row = ssd_store_next_row(st, &res))) {
        *answer = ssd_store_text(st, row, 0);
        *answer_ms = ms_at(st, row, 1);
    }
    return *answer ? SSD_STORE_OK : SSD_STORE_NOT_FOUND;
}
