/* ssd_store_internal: helpers shared by the store's files (not an API). */
#ifndef SSD_STORE_INTERNAL_H
#define SSD_STORE_INTERNAL_H

#include "ssd_store.h"

typedef struct {
    apr_dbd_transaction_t *tx;
    int failed;
} txn_t;

apr_dbd_prepared_t *ssd_store_statement(ssd_store_t *st, const char *label);
int ssd_store_note_error(ssd_store_t *st, const char *label, int rc);
int ssd_store_run(ssd_store_t *st, const char *label, int *nrows, int nargs,
                  const char **args);
int ssd_store_select(ssd_store_t *st, const char *label,
                     apr_dbd_results_t **res, int nargs, const char **args);
apr_dbd_row_t *ssd_store_next_row(ssd_store_t *st, apr_dbd_results_t *res);
const char *ssd_store_text(ssd_store_t *st, apr_dbd_row_t *row, int col);
const char *ssd_store_flag(int v);
int ssd_txn_begin(ssd_store_t *st, txn_t *t);
ssd_store_rc ssd_txn_end(ssd_store_t *st, txn_t *t, ssd_store_rc rc);
void ssd_txn_run(ssd_store_t *st, txn_t *t, const char *label, int nargs,
                 const char **args);
void ssd_store_insert_event(ssd_store_t *st, txn_t *t, const ssd_domain_t *d,
                            const ssd_event_t *ev);

#endif
