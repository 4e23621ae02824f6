/* ssd_store_keys: the DKIM key lifecycle in the store. Two partial unique
 * indexes hold the invariants (one pending, one active key per domain and
 * algorithm); the selector sequence only grows, so no RSA selector is
 * ever reused, and an Ed25519 key lives on its RSA twin's name plus
 * "-ed25519". */
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

static const char *selector_for(apr_pool_t *p, ssd_dkim_alg_t alg,
                                const char *rsa_selector)
{
    return alg == SSD_DKIM_RSA ? rsa_selector
                               : ssd_dkim_twin_selector(p, rsa_selector);
}

/* A new pending key of alg on selector, made by make; NULL and t failed
 * when it cannot be made. */
static ssd_dkim_key_t *insert_pending(ssd_store_t *st, txn_t *t,
                                      const char *domain_id,
                                      ssd_dkim_alg_t alg, const char *selector,
                                      ssd_keymaker_fn make, void *baton)
{
    ssd_dkim_key_t *k = apr_pcalloc(st->pool, sizeof(*k));

    k->domain_id = domain_id;
    k->selector = selector;
    k->state = "pending";
    k->algorithm = ssd_dkim_alg_name(alg);
    k->created_at = ssd_now_rfc3339(st->pool);
    if (t->failed || !make || make(baton, alg, selector, k) != 0
        || !k->wrapped_key) {
        t->failed = 1;
        return NULL;
    }
    ssd_store_insert_key(st, t, k);
    return k;
}

static void rotate_locked(ssd_store_t *st, txn_t *t, ssd_rotation_t *rot,
                          unsigned algs)
{
    const char *selector = next_selector(st, t, rot);
    int i;

    for (i = 0; selector && i < SSD_DKIM_ALG_COUNT; i++) {
        ssd_dkim_key_t *k;

        if (!(algs & SSD_DKIM_ALG_BIT(i))) {
            continue;
        }
        k = insert_pending(st, t, rot->domain->id, (ssd_dkim_alg_t)i,
                           selector_for(st->pool, (ssd_dkim_alg_t)i, selector),
                           rot->make, rot->baton);
        if (k) {
            APR_ARRAY_PUSH(rot->keys, ssd_dkim_key_t) = *k;
        }
    }
    if (selector) {
        if (rot->due_event) {
            ssd_store_insert_event(st, t, rot->domain, rot->due_event);
        }
        ssd_store_insert_event(st, t, rot->domain, rot->event);
    }
}

ssd_store_rc ssd_store_rotate(ssd_store_t *st, ssd_rotation_t *rot)
{
    ssd_domain_t *now = NULL;
    ssd_store_rc rc;
    txn_t t;

    if (ssd_txn_begin(st, &t) != 0) {
        return SSD_STORE_FAILED;
    }
    if ((rc = ssd_store_lock_domain(st, &t, rot->domain->id)) != SSD_STORE_OK
        || (rc = ssd_store_domain_get(st, rot->domain->id, &now))
           != SSD_STORE_OK) {
        return ssd_txn_end(st, &t, rc);
    }
    if (ssd_store_key_pending(st, rot->domain->id) == SSD_STORE_OK) {
        return ssd_txn_end(st, &t, SSD_STORE_CONFLICT);
    }
    rot->keys = apr_array_make(st->pool, 2, sizeof(ssd_dkim_key_t));
    rotate_locked(st, &t, rot, ssd_dkim_algs_parse(now->dkim_algorithms));
    rc = ssd_txn_end(st, &t, SSD_STORE_OK);
    /* a concurrent rotation won the unique index: that is a conflict */
    if (rc == SSD_STORE_FAILED
        && ssd_store_key_pending(st, rot->domain->id) == SSD_STORE_OK) {
        return SSD_STORE_CONFLICT;
    }
    return rc;
}

static void activate_one(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                         const ssd_dkim_key_t *k, const char *now)
{
    const char *alg = ssd_dkim_alg_name(ssd_dkim_alg_of(k->algorithm));
    const char *retire[] = {now, d->id, alg};
    const char *activate[] = {now, d->id, k->selector};
    const char *domain[] = {k->selector, now, d->id};
    int nrows = 0;

    ssd_txn_run(st, t, "ssd_key_retire_active", 3, retire);
    if (!t->failed && (ssd_store_run(st, "ssd_key_activate", &nrows, 3,
                                     activate) != 0 || nrows != 1)) {
        t->failed = 1;
    }
    if (ssd_dkim_alg_of(k->algorithm) == SSD_DKIM_RSA) {
        ssd_txn_run(st, t, "ssd_domain_selector", 3, domain);
    }
}

void ssd_store_activate_in(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                           const apr_array_header_t *keys,
                           const ssd_event_t *ev)
{
    const char *now = ssd_now_rfc3339(st->pool);
    int i;

    for (i = 0; i < keys->nelts; i++) {
        activate_one(st, t, d, &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t), now);
    }
    ssd_store_insert_event(st, t, d, ev);
}

/* The selector an algorithm turned on pairs with: the pending RSA key's
 * when a rotation is pending (they activate together), else the signing
 * one's. */
static const char *twin_base(ssd_store_t *st, const ssd_domain_t *d)
{
    const char *args[] = {d->id}, *pending = NULL;

    if (single_text(st, "ssd_key_pending", 1, args, &pending) == SSD_STORE_OK
        && pending && !strstr(pending, SSD_DKIM_ED25519_SUFFIX)) {
        return pending;
    }
    return d->dkim_selector;
}

static void turn_on(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                    ssd_dkim_alg_t alg, const ssd_patch_t *patch)
{
    const char *selector = selector_for(st->pool, alg, twin_base(st, d));
    const char *args[] = {d->id, selector};
    const char *state = NULL;
    ssd_store_rc rc = ssd_store_key_state(st, d->id, selector, &state);

    if (rc == SSD_STORE_NOT_FOUND) {
        insert_pending(st, t, d->id, alg, selector, patch->make,
                       patch->make_baton);
    }
    else if (rc == SSD_STORE_OK && strcmp(state, "retired") == 0) {
        ssd_txn_run(st, t, "ssd_key_repend", 2, args);
    }
    else if (rc != SSD_STORE_OK) {
        t->failed = 1;
    }
}

void ssd_store_algorithms_changed(ssd_store_t *st, txn_t *t,
                                  const ssd_domain_t *d, unsigned before,
                                  const ssd_patch_t *patch)
{
    unsigned after = ssd_dkim_algs_parse(d->dkim_algorithms);
    const char *now = ssd_now_rfc3339(st->pool);
    int i;

    for (i = 0; i < SSD_DKIM_ALG_COUNT; i++) {
        unsigned bit = SSD_DKIM_ALG_BIT(i);
        const char *args[] = {now, d->id, ssd_dkim_alg_name((ssd_dkim_alg_t)i)};

        if ((before & bit) && !(after & bit)) {
            ssd_txn_run(st, t, "ssd_key_retire_algorithm", 3, args);
        }
        else if (!(before & bit) && (after & bit)) {
            turn_on(st, t, d, (ssd_dkim_alg_t)i, patch);
        }
    }
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
