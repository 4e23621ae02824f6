/* ssd_store_keys: the DKIM key lifecycle in the store. Two partial unique
 * indexes hold the invariants (one pending, one active key per domain);
 * the selector sequence only grows, so no selector is ever reused. */
#include "ssd_store_internal.h"

#include <string.h>
#include <apr_strings.h>

static ssd_store_rc single_text(ssd_store_t *st, const char *label,
                                int nargs, const char **args,
                                const char **out)
{
    ssd_rows_t res;
    apr_dbd_row_t *row;
    ssd_store_rc rc = SSD_STORE_NOT_FOUND;

    if (ssd_store_select(st, label, &res, nargs, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while ((row = ssd_store_next_row(st, &res))) {
        if (rc == SSD_STORE_NOT_FOUND && out) {
            *out = ssd_store_text(st, row, 0);
        }
        rc = SSD_STORE_OK;
    }
    return rc;
}

ssd_store_rc ssd_store_key_pending(ssd_store_t *st, const char *domain_id)
{
    const char *args[] = {domain_id};

    return single_text(st, "ssd_key_pending", 1, args, NULL);
}

/* Bump the sequence and name the next selector, inside the transaction
 * (the row is locked by then). */
static const char *next_selector(ssd_store_t *st, txn_t *t,
                                 const ssd_rotation_t *rot)
{
    const char *args[] = {rot->domain->id}, *seq = NULL;

    ssd_txn_run(st, t, "ssd_selector_next", 1, args);
    if (t->failed || single_text(st, "ssd_selector_seq", 1, args, &seq)
                         != SSD_STORE_OK || !seq) {
        t->failed = 1;
        return NULL;
    }
    return apr_pstrcat(st->pool, rot->selector_base, seq, NULL);
}

static void insert_pending(ssd_store_t *st, txn_t *t, ssd_rotation_t *rot,
                           const char *selector)
{
    ssd_dkim_key_t *k = rot->key;
    const char *args[8];

    k->domain_id = rot->domain->id;
    k->selector = selector;
    k->state = "pending";
    k->created_at = ssd_now_rfc3339(st->pool);
    k->wrapped_key = rot->wrap(rot->baton, selector);
    if (!k->wrapped_key) {
        t->failed = 1;
        return;
    }
    args[0] = k->domain_id; args[1] = k->selector; args[2] = k->state;
    args[3] = apr_itoa(st->pool, k->bits); args[4] = k->public_key;
    args[5] = k->wrapped_key; args[6] = k->created_at; args[7] = NULL;
    ssd_txn_run(st, t, "ssd_key_insert", 8, args);
}

ssd_store_rc ssd_store_rotate(ssd_store_t *st, ssd_rotation_t *rot)
{
    txn_t t;
    const char *selector;
    ssd_store_rc rc;

    if (ssd_txn_begin(st, &t) != 0) {
        return SSD_STORE_FAILED;
    }
    if ((rc = ssd_store_lock_domain(st, &t, rot->domain->id)) != SSD_STORE_OK) {
        return ssd_txn_end(st, &t, rc);
    }
    if (ssd_store_key_pending(st, rot->domain->id) == SSD_STORE_OK) {
        return ssd_txn_end(st, &t, SSD_STORE_CONFLICT);
    }
    selector = next_selector(st, &t, rot);
    if (selector) {
        insert_pending(st, &t, rot, selector);
        if (rot->due_event) {
            ssd_store_insert_event(st, &t, rot->domain, rot->due_event);
        }
        ssd_store_insert_event(st, &t, rot->domain, rot->event);
    }
    rc = ssd_txn_end(st, &t, SSD_STORE_OK);
    /* a concurrent rotation won the unique index: that is a conflict */
    if (rc == SSD_STORE_FAILED
        && ssd_store_key_pending(st, rot->domain->id) == SSD_STORE_OK) {
        return SSD_STORE_CONFLICT;
    }
    return rc;
}

void ssd_store_activate_in(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                           const char *selector, const ssd_event_t *ev)
{
    const char *now = ssd_now_rfc3339(st->pool);
    const char *retire[] = {now, d->id};
    const char *activate[] = {now, d->id, selector};
    const char *domain[] = {selector, now, d->id};
    int nrows = 0;

    ssd_txn_run(st, t, "ssd_key_retire_active", 2, retire);
    if (!t->failed && (ssd_store_run(st, "ssd_key_activate", &nrows, 3,
                                     activate) != 0 || nrows != 1)) {
        t->failed = 1;
    }
    ssd_txn_run(st, t, "ssd_domain_selector", 3, domain);
    ssd_store_insert_event(st, t, d, ev);
}

ssd_store_rc ssd_store_key_state(ssd_store_t *st, const char *domain_id,
                                 const char *selector, const char **state)
{
    const char *args[] = {domain_id, selector};

    return single_text(st, "ssd_key_state", 2, args, state);
}

ssd_store_rc ssd_store_key_delete(ssd_store_t *st, const ssd_domain_t *d,
                                  const char *selector,
                                  const ssd_event_t *ev)
{
    const char *args[] = {d->id, selector};
    ssd_store_rc rc;
    txn_t t;
    int nrows = 0;

    if (ssd_txn_begin(st, &t) != 0) {
        return SSD_STORE_FAILED;
    }
    if (ssd_store_run(st, "ssd_key_delete_retired", &nrows, 2, args) != 0) {
        t.failed = 1;
    }
    else if (nrows == 0) {
        return ssd_txn_end(st, &t, SSD_STORE_CONFLICT);
    }
    ssd_store_insert_event(st, &t, d, ev);
    if ((rc = ssd_txn_end(st, &t, SSD_STORE_OK)) == SSD_STORE_OK) {
        ssd_store_forget(st);
    }
    return rc;
}

ssd_store_rc ssd_store_signing_key(ssd_store_t *st, const char *domain_id,
                                   const char **selector,
                                   const char **wrapped)
{
    ssd_rows_t res;
    apr_dbd_row_t *row;
    const char *args[] = {domain_id};
    ssd_store_rc rc = SSD_STORE_NOT_FOUND;

    if (ssd_store_select(st, "ssd_key_signing", &res, 1, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while ((row = ssd_store_next_row(st, &res))) {
        *selector = ssd_store_text(st, row, 0);
        *wrapped = ssd_store_text(st, row, 1);
        rc = SSD_STORE_OK;
    }
    return rc;
}
