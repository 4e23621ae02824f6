/* ssd_store_internal: helpers shared by the store's files (not an API). */
#ifndef SSD_STORE_INTERNAL_H
#define SSD_STORE_INTERNAL_H

#include "ssd_store.h"

typedef struct {
    int failed;             /* a statement of it failed: roll back */
} txn_t;

apr_dbd_prepared_t *ssd_store_statement(ssd_store_t *st, const char *label);
int ssd_store_note_error(ssd_store_t *st, const char *label, int rc);
int ssd_store_run(ssd_store_t *st, const char *label, int *nrows, int nargs,
                  const char **args);
/* A result set and its row cursor: the pgsql driver advances a row only
 * when the same row object is passed back (a fresh one restarts at 0). */
typedef struct {
    apr_dbd_results_t *res;
    apr_dbd_row_t *row;
} ssd_rows_t;

int ssd_store_select(ssd_store_t *st, const char *label, ssd_rows_t *rows,
                     int nargs, const char **args);
/* The next row, or NULL at the end. */
apr_dbd_row_t *ssd_store_next_row(ssd_store_t *st, ssd_rows_t *rows);
const char *ssd_store_text(ssd_store_t *st, apr_dbd_row_t *row, int col);
const char *ssd_store_flag(int v);
/* A number column; 0 when NULL. */
apr_int64_t ssd_store_i64(ssd_store_t *st, apr_dbd_row_t *row, int col);
int ssd_txn_begin(ssd_store_t *st, txn_t *t);
ssd_store_rc ssd_txn_end(ssd_store_t *st, txn_t *t, ssd_store_rc rc);
void ssd_txn_run(ssd_store_t *st, txn_t *t, const char *label, int nargs,
                 const char **args);
void ssd_store_insert_event(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                            const ssd_event_t *ev);
/* Forget deleted key material on disk (SQLite: checkpoint the WAL). */
void ssd_store_forget(ssd_store_t *st);
/* Lock the domain row for the rest of t; NOT_FOUND when it is gone. */
ssd_store_rc ssd_store_lock_domain(ssd_store_t *st, txn_t *t, const char *id);
/* Inside t: pending -> active, active -> retired, the domain signs with
 * selector; the transaction fails when that key is not pending. */
void ssd_store_activate_in(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                           const char *selector, const ssd_event_t *ev);

#endif
