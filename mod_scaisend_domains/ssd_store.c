/* ssd_store: reads and writes of domains, keys and audit events. Every
 * write touching more than one row runs in one transaction whose statement
 * errors are tracked here (see ssd_txn_begin). */
#include "ssd_store.h"
#include "ssd_store_internal.h"
#include "ssd_id.h"
#include "ssd_webhook.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

apr_dbd_prepared_t *ssd_store_statement(ssd_store_t *st, const char *label)
{
    apr_dbd_prepared_t *stmt = apr_hash_get(st->prepared, label,
                                            APR_HASH_KEY_STRING);

    if (!stmt) {
        st->error = apr_pstrcat(st->pool, "statement not prepared: ", label,
                                NULL);
    }
    return stmt;
}

int ssd_store_note_error(ssd_store_t *st, const char *label, int rc)
{
    st->error = apr_psprintf(st->pool, "%s: %s", label,
                             apr_dbd_error(st->driver, st->handle, rc));
    return rc;
}

/* Prepared statements a connection lost: a PostgreSQL connection the
 * driver re-opened (PQreset after a server restart) has none left; an
 * SQLite one whose schema another process changed (ANALYZE, a migration)
 * holds stale ones that the driver does not prepare again. */
static int statements_stale(const char *msg)
{
    return (strstr(msg, "prepared statement") && strstr(msg, "does not exist"))
           || strstr(msg, "schema has changed");
}

/* A pooled connection whose server went away (it only notices on use). */
static int connection_broken(const char *msg)
{
    return strstr(msg, "server closed the connection")
           || strstr(msg, "terminating connection")
           || strstr(msg, "no connection to the server");
}

static int prepare_all(ssd_store_t *st)
{
    const ssd_statement_t *s;
    apr_dbd_prepared_t *stmt;
    int nrows;

    if (strcmp(apr_dbd_name(st->driver), "pgsql") == 0
        && apr_dbd_query(st->driver, st->handle, &nrows,
                         "DEALLOCATE ALL") != 0) {
        return 0;
    }
    for (s = ssd_store_statements; s->label; s++) {
        stmt = NULL;
        if (apr_dbd_prepare(st->driver, st->conn_pool, st->handle,
                            ssd_store_sql_for(st->conn_pool,
                                              apr_dbd_name(st->driver),
                                              s->sql),
                            s->label, &stmt) != 0) {
            return 0;
        }
        apr_hash_set(st->prepared, s->label, APR_HASH_KEY_STRING, stmt);
    }
    return 1;
}

/* Recover a connection after a failed statement: reconnect one whose
 * server went away, prepare the statements again on one that lost them.
 * Says whether the statement may be retried. Never inside a transaction
 * (an aborted one refuses every command): the next request's first
 * statement, outside any transaction, does it. */
static int statements_lost(ssd_store_t *st, int rc)
{
    const char *msg = apr_dbd_error(st->driver, st->handle, rc);

    if (!msg || !st->conn_pool || st->in_txn) {
        return 0;
    }
    if (connection_broken(msg)) {
        return apr_dbd_check_conn(st->driver, st->pool, st->handle)
                   == APR_SUCCESS && prepare_all(st);
    }
    return statements_stale(msg) && prepare_all(st);
}

/* One DEBUG line per statement: its label, its result and its time. */
static void log_statement(const ssd_store_t *st, const char *label, int rc,
                          int nrows, apr_time_t started)
{
    if (!st->log || st->log->max_level < SSD_LOG_DEBUG) {
        return;
    }
    ssd_logf(st->log, SSD_LOG_DEBUG, 110, "statement %s: %s%s, %" APR_TIME_T_FMT
             " us", label, rc ? "failed: " : "ok",
             rc ? apr_dbd_error(st->driver, st->handle, rc)
                : nrows >= 0 ? apr_psprintf(st->pool, " (%d rows)", nrows) : "",
             apr_time_now() - started);
}

static ssd_store_change_fn change_hook;

void ssd_store_set_change_hook(ssd_store_change_fn fn)
{
    change_hook = fn;
}

static void changed(void)
{
    if (change_hook) {
        change_hook();
    }
}

/* Run a write; returns 0 and the affected row count, or the driver code. */
int ssd_store_run(ssd_store_t *st, const char *label, int *nrows, int nargs,
                  const char **args)
{
    apr_dbd_prepared_t *stmt = ssd_store_statement(st, label);
    apr_time_t started = apr_time_now();
    int rc, n = 0;

    if (!stmt) {
        return -1;
    }
    rc = apr_dbd_pquery(st->driver, st->pool, st->handle, &n, stmt, nargs,
                        args);
    if (rc != 0 && statements_lost(st, rc)) {
        stmt = ssd_store_statement(st, label);
        rc = apr_dbd_pquery(st->driver, st->pool, st->handle, &n, stmt,
                            nargs, args);
    }
    log_statement(st, label, rc, n, started);
    if (rc != 0) {
        return ssd_store_note_error(st, label, rc);
    }
    if (!st->in_txn && n > 0) {
        changed();
    }
    if (nrows) {
        *nrows = n;
    }
    return 0;
}

int ssd_store_select(ssd_store_t *st, const char *label, ssd_rows_t *rows,
                     int nargs, const char **args)
{
    apr_dbd_prepared_t *stmt = ssd_store_statement(st, label);
    apr_time_t started = apr_time_now();
    int rc;

    rows->res = NULL;
    rows->row = NULL;
    if (!stmt) {
        return -1;
    }
    /* seek = 1: an empty result costs the pgsql driver 100 ms otherwise */
    rc = apr_dbd_pselect(st->driver, st->pool, st->handle, &rows->res, stmt,
                         1, nargs, args);
    if (rc != 0 && statements_lost(st, rc)) {
        rc = apr_dbd_pselect(st->driver, st->pool, st->handle, &rows->res,
                             ssd_store_statement(st, label), 1, nargs, args);
    }
    log_statement(st, label, rc, rc ? 0 : apr_dbd_num_tuples(st->driver,
                                                             rows->res),
                  started);
    return rc != 0 ? ssd_store_note_error(st, label, rc) : 0;
}

apr_dbd_row_t *ssd_store_next_row(ssd_store_t *st, ssd_rows_t *rows)
{
    if (apr_dbd_get_row(st->driver, st->pool, rows->res, &rows->row, -1)
        != 0) {
        return NULL;
    }
    return rows->row;
}

const char *ssd_store_text(ssd_store_t *st, apr_dbd_row_t *row, int col)
{
    char *value = NULL;

    if (apr_dbd_datum_get(st->driver, row, col, APR_DBD_TYPE_STRING,
                          &value) != APR_SUCCESS) {
        return NULL;
    }
    return apr_pstrdup(st->pool, value);
}

/* A 0/1 flag: SQLite answers "1", PostgreSQL "1" for integers too. */
static int flag_at(ssd_store_t *st, apr_dbd_row_t *row, int col)
{
    const char *v = ssd_store_text(st, row, col);

    return v && (v[0] == '1' || v[0] == 't');
}

static ssd_domain_t *domain_from_row(ssd_store_t *st, apr_dbd_row_t *row)
{
    ssd_domain_t *d = apr_pcalloc(st->pool, sizeof(*d));

    d->id = ssd_store_text(st, row, 0);
    d->partner_id = ssd_store_text(st, row, 1);
    d->tenant_id = ssd_store_text(st, row, 2);
    d->domain = ssd_store_text(st, row, 3);
    d->dkim_selector = ssd_store_text(st, row, 4);
    d->dmarc_policy = ssd_store_text(st, row, 5);
    d->dmarc_rua_email = ssd_store_text(st, row, 6);
    d->is_shared = flag_at(st, row, 7);
    d->is_active = flag_at(st, row, 8);
    d->verified = flag_at(st, row, 9);
    d->created_at = ssd_store_text(st, row, 10);
    d->updated_at = ssd_store_text(st, row, 11);
    d->verified_at = ssd_store_text(st, row, 12);
    d->last_verification = ssd_store_text(st, row, 13);
    d->spf_status = ssd_store_text(st, row, 14);
    d->dmarc_status = ssd_store_text(st, row, 15);
    d->state = ssd_store_text(st, row, 16);
    d->failing_since_ms = ssd_store_i64(st, row, 17);
    d->next_check_ms = ssd_store_i64(st, row, 18);
    d->check_step = (int)ssd_store_i64(st, row, 19);
    d->window_from_ms = ssd_store_i64(st, row, 20);
    d->dkim_algorithms = ssd_store_text(st, row, 21);
    return d;
}

static void key_from_row(ssd_store_t *st, apr_dbd_row_t *row,
                         ssd_dkim_key_t *k)
{
    const char *bits = ssd_store_text(st, row, 3);

    memset(k, 0, sizeof(*k));
    k->domain_id = ssd_store_text(st, row, 0);
    k->selector = ssd_store_text(st, row, 1);
    k->state = ssd_store_text(st, row, 2);
    k->bits = bits ? atoi(bits) : 0;
    k->public_key = ssd_store_text(st, row, 4);
    k->created_at = ssd_store_text(st, row, 5);
    k->activated_at = ssd_store_text(st, row, 6);
    k->retired_at = ssd_store_text(st, row, 7);
    k->dns_status = ssd_store_text(st, row, 8);
    k->algorithm = ssd_store_text(st, row, 9);
}

apr_int64_t ssd_store_i64(ssd_store_t *st, apr_dbd_row_t *row, int col)
{
    const char *v = ssd_store_text(st, row, col);

    return v && *v ? apr_atoi64(v) : 0;
}

const char *ssd_store_flag(int v)
{
    return v ? "1" : "0";
}

/* ---- transactions ---------------------------------------------------- */

/* Transactions are BEGIN/COMMIT/ROLLBACK statements of our own, not
 * apr_dbd_transaction_start: the pgsql driver of apr-util 1.6 dereferences
 * a NULL transaction when BEGIN fails (a pooled connection whose server
 * went away), taking the process down; and its end reports success even
 * after a rollback. SQLite takes the write lock at BEGIN IMMEDIATE, so the
 * reads of a transaction see what it then writes. */
static const char *begin_sql(const ssd_store_t *st)
{
    return strcmp(apr_dbd_name(st->driver), "sqlite3") == 0
           ? "BEGIN IMMEDIATE" : "BEGIN";
}

static int exec_sql(ssd_store_t *st, const char *sql)
{
    int nrows = 0;

    return apr_dbd_query(st->driver, st->handle, &nrows, sql);
}

int ssd_txn_begin(ssd_store_t *st, txn_t *t)
{
    int rc;

    t->failed = 0;
    rc = exec_sql(st, begin_sql(st));
    if (rc != 0 && statements_lost(st, rc)) {
        rc = exec_sql(st, begin_sql(st));       /* reconnected: once more */
    }
    st->in_txn = rc == 0;
    return rc != 0 ? ssd_store_note_error(st, "begin", rc) : 0;
}

/* Commit when every statement succeeded, else roll back. */
ssd_store_rc ssd_txn_end(ssd_store_t *st, txn_t *t, ssd_store_rc rc)
{
    int failed = rc != SSD_STORE_OK || t->failed;

    st->in_txn = 0;
    if (failed) {
        exec_sql(st, "ROLLBACK");
        return rc != SSD_STORE_OK ? rc : SSD_STORE_FAILED;
    }
    if ((rc = exec_sql(st, "COMMIT")) != 0) {
        ssd_store_note_error(st, "commit", rc);
        exec_sql(st, "ROLLBACK");
        return SSD_STORE_FAILED;
    }
    changed();
    return SSD_STORE_OK;
}

void ssd_txn_run(ssd_store_t *st, txn_t *t, const char *label, int nargs,
                    const char **args)
{
    if (!t->failed && ssd_store_run(st, label, NULL, nargs, args) != 0) {
        t->failed = 1;
    }
}

/* The event types delivered to ScaiSendWebhookURL (api.md section 9). */
static int is_webhook_type(const char *action)
{
    static const char *const types[] = {
        "domain.verified", "domain.degraded", "domain.unverified",
        "dkim.activated", "dkim.rotation_due", "dkim.pending_created",
        "domain.deleted", NULL
    };
    int i;

    for (i = 0; types[i]; i++) {
        if (strcmp(action, types[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The event in the outbox, in the same transaction: its id is the
 * webhook-id, its body built once (every retry sends the same bytes). */
static void insert_outbox(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                          const ssd_event_t *ev, const char *id)
{
    ssd_webhook_event_t w = {id, ev->action, apr_time_now(), d->id,
                             d->domain, d->partner_id, d->tenant_id,
                             ev->previous, ev->current, ev->extra};
    const char *err = NULL, *body = ssd_webhook_body(st->pool, &w, &err);
    const char *args[] = {id, d->id, ev->action, body};

    if (!body) {
        st->error = apr_pstrcat(st->pool, "webhook body: ", err, NULL);
        t->failed = 1;
        return;
    }
    ssd_txn_run(st, t, "ssd_outbox_insert", 4, args);
}

void ssd_store_insert_event(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                         const ssd_event_t *ev)
{
    const char *id = ssd_id_new(st->pool, "evt_");
    const char *args[] = {id, d->id, d->partner_id,
                          d->tenant_id, ssd_now_rfc3339(st->pool), ev->sub,
                          ev->action, ev->changes};

    ssd_txn_run(st, t, "ssd_event_insert", 8, args);
    if (st->outbox && is_webhook_type(ev->action)) {
        insert_outbox(st, t, d, ev, id);
    }
}

void ssd_store_insert_key(ssd_store_t *st, txn_t *t, const ssd_dkim_key_t *k)
{
    const char *args[] = {k->domain_id, k->selector, k->state,
                          apr_itoa(st->pool, k->bits), k->public_key,
                          k->wrapped_key, k->created_at, k->activated_at,
                          ssd_dkim_alg_name(ssd_dkim_alg_of(k->algorithm))};

    ssd_txn_run(st, t, "ssd_key_insert", 9, args);
}

/* ---- domains --------------------------------------------------------- */

static int insert_domain(ssd_store_t *st, const ssd_domain_t *d, int *nrows)
{
    const char *args[] = {
        d->id, ssd_owner_key(st->pool, d->partner_id, d->tenant_id),
        d->partner_id, d->tenant_id, d->domain, d->dkim_selector,
        d->dmarc_policy, d->dmarc_rua_email, ssd_store_flag(d->is_shared),
        ssd_store_flag(d->is_active), ssd_store_flag(d->verified), d->created_at,
        d->updated_at, d->next_check_ms ? "1" : "",
        apr_psprintf(st->pool, "%" APR_INT64_T_FMT, d->next_check_ms),
        d->dkim_algorithms ? d->dkim_algorithms : SSD_DKIM_RSA_NAME};

    return ssd_store_run(st, "ssd_domain_insert", nrows, 16, args);
}

static ssd_store_rc count_rows(ssd_store_t *st, const char *label, int nargs,
                               const char **args, int *count)
{
    ssd_rows_t res;
    apr_dbd_row_t *row;
    const char *v;

    *count = 0;
    if (ssd_store_select(st, label, &res, nargs, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while ((row = ssd_store_next_row(st, &res))) {
        v = ssd_store_text(st, row, 0);
        *count = v ? atoi(v) : 0;
    }
    return SSD_STORE_OK;
}

ssd_store_rc ssd_store_owner_count(ssd_store_t *st, const char *owner_key,
                                   int *count)
{
    const char *args[] = {owner_key};

    return count_rows(st, "ssd_owner_count", 1, args, count);
}

ssd_store_rc ssd_store_schema_version(ssd_store_t *st, int *version)
{
    return count_rows(st, "ssd_schema_version", 0, NULL, version);
}

/* Inside the transaction: the owner's creates serialised, then counted. */
static ssd_store_rc within_quota(ssd_store_t *st, const char *owner_key,
                                 int max)
{
    const char *args[] = {owner_key};
    int n = 0;

    if (max <= 0) {
        return SSD_STORE_OK;
    }
    if (count_rows(st, "ssd_owner_lock", 1, args, &n) != SSD_STORE_OK
        || ssd_store_owner_count(st, owner_key, &n) != SSD_STORE_OK) {
        return SSD_STORE_FAILED;
    }
    return n >= max ? SSD_STORE_LIMIT : SSD_STORE_OK;
}

ssd_store_rc ssd_store_domain_create(ssd_store_t *st, const ssd_domain_t *d,
                                     const apr_array_header_t *keys,
                                     const ssd_event_t *ev,
                                     int max_per_owner)
{
    txn_t t;
    int nrows = 0, i;
    ssd_store_rc rc;

    if (ssd_txn_begin(st, &t) != 0) {
        return SSD_STORE_FAILED;
    }
    rc = within_quota(st, ssd_owner_key(st->pool, d->partner_id,
                                        d->tenant_id), max_per_owner);
    if (rc != SSD_STORE_OK) {
        return ssd_txn_end(st, &t, rc);
    }
    if (insert_domain(st, d, &nrows) != 0) {
        t.failed = 1;
    }
    else if (nrows == 0) {
        return ssd_txn_end(st, &t, SSD_STORE_CONFLICT);
    }
    for (i = 0; i < keys->nelts; i++) {
        ssd_store_insert_key(st, &t, &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t));
    }
    ssd_store_insert_event(st, &t, d, ev);
    return ssd_txn_end(st, &t, SSD_STORE_OK);
}

ssd_store_rc ssd_store_domain_get(ssd_store_t *st, const char *id,
                                  ssd_domain_t **out)
{
    ssd_rows_t res;
    apr_dbd_row_t *row;
    const char *args[] = {id};

    if (ssd_store_select(st, "ssd_domain_by_id", &res, 1, args) != 0) {
        return SSD_STORE_FAILED;
    }
    if (!(row = ssd_store_next_row(st, &res))) {
        return SSD_STORE_NOT_FOUND;
    }
    *out = domain_from_row(st, row);
    while (ssd_store_next_row(st, &res)) {
        /* drain: the sqlite3 driver finalises the cursor at the end */
    }
    return SSD_STORE_OK;
}

ssd_store_rc ssd_store_domain_find(ssd_store_t *st, const char *owner_key,
                                   const char *domain)
{
    ssd_rows_t res;
    const char *args[] = {owner_key, domain};
    int found = 0;

    if (ssd_store_select(st, "ssd_domain_by_owner", &res, 2, args) != 0) {
        return SSD_STORE_FAILED;
    }
    while (ssd_store_next_row(st, &res)) {
        found = 1;
    }
    return found ? SSD_STORE_OK : SSD_STORE_NOT_FOUND;
}

/* "!" escapes LIKE's wildcards so q is matched as a plain substring. */
static const char *like_pattern(apr_pool_t *p, const char *q)
{
    char *out = apr_palloc(p, 2 * strlen(q) + 3), *o = out;

    *o++ = '%';
    for (; *q; q++) {
        if (*q == '%' || *q == '_' || *q == '!') {
            *o++ = '!';
        }
        *o++ = *q;
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

static void filter_args(const char **args, int v)
{
    args[0] = v < 0 ? "" : "1";
    args[1] = v > 0 ? "1" : "0";
}

ssd_store_rc ssd_store_domain_list(ssd_store_t *st,
                                   const ssd_list_query_t *q,
                                   apr_array_header_t **out)
{
    const char *args[15];
    ssd_rows_t res;
    apr_dbd_row_t *row;

    args[0] = q->partner_id;
    args[1] = q->tenant_id ? "1" : "";
    args[2] = q->tenant_id ? q->tenant_id : "";
    filter_args(args + 3, q->verified);
    filter_args(args + 5, q->is_active);
    filter_args(args + 7, q->is_shared);
    args[9] = q->q ? "1" : "";
    args[10] = like_pattern(st->pool, q->q ? q->q : "");
    args[11] = q->after_id ? "1" : "";
    args[12] = q->after_id ? q->after_id : "";
    args[13] = apr_itoa(st->pool, q->limit);
    if (ssd_store_select(st, "ssd_domain_list", &res, 14, args) != 0) {
        return SSD_STORE_FAILED;
    }
    *out = apr_array_make(st->pool, q->limit, sizeof(ssd_domain_t *));
    while ((row = ssd_store_next_row(st, &res))) {
        APR_ARRAY_PUSH(*out, ssd_domain_t *) = domain_from_row(st, row);
    }
    return SSD_STORE_OK;
}

/* Lock the domain row for the rest of t; NOT_FOUND when it is gone. */
ssd_store_rc ssd_store_lock_domain(ssd_store_t *st, txn_t *t, const char *id)
{
    const char *args[] = {id};
    int nrows = 0;

    if (t->failed || ssd_store_run(st, "ssd_domain_lock", &nrows, 1, args)) {
        t->failed = 1;
        return SSD_STORE_FAILED;
    }
    return nrows == 1 ? SSD_STORE_OK : SSD_STORE_NOT_FOUND;
}

static void update_domain(ssd_store_t *st, txn_t *t, const ssd_domain_t *d)
{
    const char *args[] = {d->dmarc_policy, d->dmarc_rua_email,
                          ssd_store_flag(d->is_shared),
                          ssd_store_flag(d->is_active),
                          d->dkim_algorithms ? d->dkim_algorithms
                                             : SSD_DKIM_RSA_NAME,
                          d->updated_at, d->id};

    ssd_txn_run(st, t, "ssd_domain_update", 7, args);
}

ssd_store_rc ssd_store_domain_patch(ssd_store_t *st, const char *id,
                                    const ssd_patch_t *patch,
                                    ssd_domain_t **out,
                                    apr_array_header_t **keys)
{
    ssd_event_t ev = {patch->sub, "domain.updated", NULL, NULL, NULL, NULL};
    ssd_store_rc rc;
    unsigned before;
    txn_t t;

    if (ssd_txn_begin(st, &t) != 0) {
        return SSD_STORE_FAILED;
    }
    if ((rc = ssd_store_lock_domain(st, &t, id)) != SSD_STORE_OK
        || (rc = ssd_store_domain_get(st, id, out)) != SSD_STORE_OK) {
        return ssd_txn_end(st, &t, rc);
    }
    before = ssd_dkim_algs_parse((*out)->dkim_algorithms);
    ev.changes = patch->apply(patch->baton, st->pool, *out);
    if (ev.changes) {
        update_domain(st, &t, *out);
        ssd_store_algorithms_changed(st, &t, *out, before, patch);
        ssd_store_insert_event(st, &t, *out, &ev);
    }
    if (!t.failed && ssd_store_keys_get(st, id, keys) != SSD_STORE_OK) {
        t.failed = 1;
    }
    return ssd_txn_end(st, &t, SSD_STORE_OK);
}

/* After a private key is deleted: secure_delete has zeroed its pages, but
 * with WAL the old page versions stay in the -wal file until a checkpoint
 * copies the zeroed pages back; truncating it forgets them. Keys are
 * removed rarely, so the checkpoint's cost does not matter. */
void ssd_store_forget(ssd_store_t *st)
{
    int nrows;

    if (strcmp(apr_dbd_name(st->driver), "sqlite3") == 0) {
        apr_dbd_query(st->driver, st->handle, &nrows,
                      "PRAGMA wal_checkpoint(TRUNCATE)");
    }
}

ssd_store_rc ssd_store_domain_delete(ssd_store_t *st, const ssd_domain_t *d,
                                     const ssd_event_t *ev)
{
    ssd_store_rc rc;
    const char *args[] = {d->id};
    txn_t t;
    int nrows = 0;

    if (ssd_txn_begin(st, &t) != 0) {
        return SSD_STORE_FAILED;
    }
    if (ssd_store_run(st, "ssd_domain_delete", &nrows, 1, args) != 0) {
        t.failed = 1;
    }
    else if (nrows == 0) {
        return ssd_txn_end(st, &t, SSD_STORE_NOT_FOUND);
    }
    ssd_txn_run(st, &t, "ssd_keys_delete", 1, args);
    ssd_store_insert_event(st, &t, d, ev);
    if ((rc = ssd_txn_end(st, &t, SSD_STORE_OK)) == SSD_STORE_OK) {
        ssd_store_forget(st);
    }
    return rc;
}

ssd_store_rc ssd_store_keys_get(ssd_store_t *st, const char *domain_id,
                                apr_array_header_t **out)
{
    ssd_rows_t res;
    apr_dbd_row_t *row;
    const char *args[] = {domain_id};

    if (ssd_store_select(st, "ssd_keys_by_domain", &res, 1, args) != 0) {
        return SSD_STORE_FAILED;
    }
    *out = apr_array_make(st->pool, 2, sizeof(ssd_dkim_key_t));
    while ((row = ssd_store_next_row(st, &res))) {
        key_from_row(st, row, apr_array_push(*out));
    }
    return SSD_STORE_OK;
}

ssd_store_rc ssd_store_events_list(ssd_store_t *st, const char *domain_id,
                                   const char *after_id, int limit,
                                   apr_array_header_t **out)
{
    const char *args[] = {domain_id, after_id ? "1" : "",
                          after_id ? after_id : "",
                          apr_itoa(st->pool, limit)};
    ssd_rows_t res;
    apr_dbd_row_t *row;

    if (ssd_store_select(st, "ssd_events_by_domain", &res, 4, args) != 0) {
        return SSD_STORE_FAILED;
    }
    *out = apr_array_make(st->pool, limit, sizeof(ssd_event_row_t));
    while ((row = ssd_store_next_row(st, &res))) {
        ssd_event_row_t *e = apr_array_push(*out);

        e->id = ssd_store_text(st, row, 0);
        e->at = ssd_store_text(st, row, 1);
        e->sub = ssd_store_text(st, row, 2);
        e->action = ssd_store_text(st, row, 3);
        e->changes = ssd_store_text(st, row, 4);
    }
    return SSD_STORE_OK;
}

ssd_store_rc ssd_store_sender_domains(ssd_store_t *st, const char *partner_id,
                                      const char *tenant_id,
                                      const char *domain,
                                      apr_array_header_t **out)
{
    const char *t = tenant_id ? tenant_id : "";
    const char *args[] = {partner_id, domain, t, t};
    ssd_rows_t res;
    apr_dbd_row_t *row;

    if (ssd_store_select(st, "ssd_sender_domains", &res, 4, args) != 0) {
        return SSD_STORE_FAILED;
    }
    *out = apr_array_make(st->pool, 2, sizeof(ssd_domain_t *));
    while ((row = ssd_store_next_row(st, &res))) {
        APR_ARRAY_PUSH(*out, ssd_domain_t *) = domain_from_row(st, row);
    }
    return SSD_STORE_OK;
}

/* The candidate of this row, the one before it when it is the same
 * domain (a domain with two active keys comes in two rows). */
static ssd_sign_candidate_t *candidate_of(ssd_store_t *st, apr_dbd_row_t *row,
                                          apr_array_header_t *out)
{
    ssd_sign_candidate_t *c = out->nelts
        ? &APR_ARRAY_IDX(out, out->nelts - 1, ssd_sign_candidate_t) : NULL;
    const char *id = ssd_store_text(st, row, 0);

    if (c && strcmp(c->domain->id, id) == 0) {
        return c;
    }
    c = apr_array_push(out);
    c->domain = domain_from_row(st, row);
    c->keys = apr_array_make(st->pool, 2, sizeof(ssd_dkim_key_t));
    return c;
}

ssd_store_rc ssd_store_sign_candidates(ssd_store_t *st, const char *partner_id,
                                       const char *tenant_id,
                                       const char *domain,
                                       apr_array_header_t **out)
{
    const char *t = tenant_id ? tenant_id : "";
    const char *args[] = {partner_id, domain, t, t};
    ssd_rows_t res;
    apr_dbd_row_t *row;

    if (ssd_store_select(st, "ssd_sign_candidates", &res, 4, args) != 0) {
        return SSD_STORE_FAILED;
    }
    *out = apr_array_make(st->pool, 2, sizeof(ssd_sign_candidate_t));
    while ((row = ssd_store_next_row(st, &res))) {
        ssd_sign_candidate_t *c = candidate_of(st, row, *out);
        const char *selector = ssd_store_text(st, row, 22);

        if (selector) {
            ssd_dkim_key_t *k = apr_array_push(c->keys);

            memset(k, 0, sizeof(*k));
            k->domain_id = c->domain->id;
            k->selector = selector;
            k->state = "active";
            k->wrapped_key = ssd_store_text(st, row, 23);
            k->algorithm = ssd_store_text(st, row, 24);
        }
    }
    return SSD_STORE_OK;
}

ssd_store_rc ssd_store_keys_in_range(ssd_store_t *st,
                                     const ssd_list_query_t *q,
                                     const char *lo_id, const char *hi_id,
                                     apr_hash_t **out)
{
    const char *args[] = {q->partner_id, lo_id, hi_id,
                          q->tenant_id ? "1" : "",
                          q->tenant_id ? q->tenant_id : ""};
    ssd_rows_t res;
    apr_dbd_row_t *row;

    if (ssd_store_select(st, "ssd_keys_by_range", &res, 5, args) != 0) {
        return SSD_STORE_FAILED;
    }
    *out = apr_hash_make(st->pool);
    while ((row = ssd_store_next_row(st, &res))) {
        ssd_dkim_key_t k;
        apr_array_header_t *keys;

        key_from_row(st, row, &k);
        keys = apr_hash_get(*out, k.domain_id, APR_HASH_KEY_STRING);
        if (!keys) {
            keys = apr_array_make(st->pool, 2, sizeof(ssd_dkim_key_t));
            apr_hash_set(*out, k.domain_id, APR_HASH_KEY_STRING, keys);
        }
        *(ssd_dkim_key_t *)apr_array_push(keys) = k;
    }
    return SSD_STORE_OK;
}
