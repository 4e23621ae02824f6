/* ssd_store_job: the stored side of the background job -- its lease (one
 * node at a time; another takes over once it expires), the domains due
 * for a re-check or for expiry, and the webhook outbox. Times are the
 * database's clock. */
#include "ssd_store_internal.h"

#include <apr_strings.h>

static const char *i64(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

ssd_store_rc ssd_store_lease(ssd_store_t *st, const char *name,
                             const char *holder, apr_int64_t ttl_ms)
{
    const char *ttl = i64(st->pool, ttl_ms);
    const char *renew[] = {holder, ttl, name, holder};
    const char *insert[] = {name, holder, ttl};
    int nrows = 0;

    if (ssd_store_run(st, "ssd_lease_renew", &nrows, 4, renew) != 0) {
        return SSD_STORE_FAILED;
    }
    if (nrows == 0
        && ssd_store_run(st, "ssd_lease_insert", &nrows, 3, insert) != 0) {
        return SSD_STORE_FAILED;
    }
    return nrows == 1 ? SSD_STORE_OK : SSD_STORE_CONFLICT;
}

ssd_store_rc ssd_store_lease_release(ssd_store_t *st, const char *name,
                                     const char *holder)
{
    const char *args[] = {name, holder};

    return ssd_store_run(st, "ssd_lease_release", NULL, 2, args) == 0
           ? SSD_STORE_OK : SSD_STORE_FAILED;
}

/* The first column of every row, as strings. */
static ssd_store_rc ids(ssd_store_t *st, const char *label, int nargs,
                        const char **args, apr_array_header_t **out)
{
    ssd_rows_t res;
    apr_dbd_row_t *row;

    *out = apr_array_make(st->pool, 8, sizeof(const char *));
    if (ssd_store_select(st, label, &res, nargs, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while ((row = ssd_store_next_row(st, &res))) {
        APR_ARRAY_PUSH(*out, const char *) = ssd_store_text(st, row, 0);
    }
    return SSD_STORE_OK;
}

ssd_store_rc ssd_store_domains_due(ssd_store_t *st, int limit,
                                   apr_array_header_t **out)
{
    const char *args[] = {apr_itoa(st->pool, limit)};

    return ids(st, "ssd_domains_due", 1, args, out);
}

ssd_store_rc ssd_store_domain_unschedule(ssd_store_t *st, const char *id)
{
    const char *args[] = {id};

    return ssd_store_run(st, "ssd_domain_unschedule", NULL, 1, args) == 0
           ? SSD_STORE_OK : SSD_STORE_FAILED;
}

ssd_store_rc ssd_store_domains_expired(ssd_store_t *st, const char *before,
                                       int limit, apr_array_header_t **out)
{
    const char *args[] = {before, apr_itoa(st->pool, limit)};

    return ids(st, "ssd_domains_expired", 2, args, out);
}

ssd_store_rc ssd_store_rotations_due(ssd_store_t *st, const char *before,
                                    int limit, apr_array_header_t **out)
{
    const char *args[] = {before, apr_itoa(st->pool, limit)};

    return ids(st, "ssd_rotations_due", 2, args, out);
}

ssd_store_rc ssd_store_outbox_due(ssd_store_t *st, int limit,
                                  apr_array_header_t **out)
{
    const char *args[] = {apr_itoa(st->pool, limit)};
    ssd_rows_t res;
    apr_dbd_row_t *row;

    *out = apr_array_make(st->pool, 8, sizeof(ssd_outbox_row_t));
    if (ssd_store_select(st, "ssd_outbox_due", &res, 1, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while ((row = ssd_store_next_row(st, &res))) {
        ssd_outbox_row_t *o = apr_array_push(*out);

        o->id = ssd_store_text(st, row, 0);
        o->domain_id = ssd_store_text(st, row, 1);
        o->body = ssd_store_text(st, row, 2);
        o->attempts = (int)ssd_store_i64(st, row, 3);
        o->created_ms = ssd_store_i64(st, row, 4);
        o->now_ms = ssd_store_i64(st, row, 5);
    }
    return SSD_STORE_OK;
}

ssd_store_rc ssd_store_outbox_done(ssd_store_t *st, const char *id,
                                   int delivered, apr_int64_t retry_in_ms,
                                   int give_up, const char *error)
{
    const char *ok[] = {id};
    const char *failed[] = {i64(st->pool, retry_in_ms),
                            ssd_store_flag(give_up), error, id};
    int rc = delivered ? ssd_store_run(st, "ssd_outbox_delivered", NULL, 1, ok)
                       : ssd_store_run(st, "ssd_outbox_failed", NULL, 4,
                                       failed);

    return rc == 0 ? SSD_STORE_OK : SSD_STORE_FAILED;
}

ssd_store_rc ssd_store_outbox_forget(ssd_store_t *st, apr_int64_t older_ms)
{
    const char *args[] = {i64(st->pool, older_ms)};

    return ssd_store_run(st, "ssd_outbox_forget", NULL, 1, args) == 0
           ? SSD_STORE_OK : SSD_STORE_FAILED;
}
