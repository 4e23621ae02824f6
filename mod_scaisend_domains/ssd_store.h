/* ssd_store: the module's storage over apr_dbd (SQLite or PostgreSQL).
 * Statements are labelled and prepared by mod_dbd on every connection; the
 * SQL is written for both engines (see ssd_store_sql.c). */
#ifndef SSD_STORE_H
#define SSD_STORE_H

#include <apr_dbd.h>
#include <apr_hash.h>
#include "ssd_dkim.h"
#include "ssd_log.h"
#include "ssd_model.h"

typedef struct {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *prepared;       /* label -> apr_dbd_prepared_t* */
    apr_pool_t *pool;
    apr_pool_t *conn_pool;      /* lives as long as the connection */
    int in_txn;
    const char *error;          /* last database error: for the log only */
    void *held;                 /* the glue's handle on the connection */
    const ssd_log_t *log;       /* each statement at SSD_LOG_DEBUG */
    int outbox;                 /* webhooks are on: events fill the outbox */
} ssd_store_t;

/* Called after every change the store commits (a write outside a
 * transaction, or a transaction's COMMIT), in the process that made it:
 * the glue counts the changes where every process of the database sees
 * them, so that what a process kept of the database (ssd_signcache) is
 * dropped at once. Set once, before the children start; NULL: nothing. */
typedef void (*ssd_store_change_fn)(void);
void ssd_store_set_change_hook(ssd_store_change_fn fn);

typedef enum {
    SSD_STORE_OK = 0,
    SSD_STORE_NOT_FOUND,
    SSD_STORE_CONFLICT,
    SSD_STORE_LIMIT,            /* a quota would be passed */
    SSD_STORE_FAILED
} ssd_store_rc;

typedef struct {
    const char *label;
    const char *sql;
} ssd_statement_t;

/* An audit record written in the same transaction as the change; the
 * events of api.md section 9 also go to the webhook outbox then (when the
 * store's outbox is on), with previous/current/extra for their body. */
typedef struct {
    const char *sub;
    const char *action;         /* domain.created, domain.updated, ... */
    const char *changes;        /* JSON text */
    const char *previous;       /* webhook data.previous, NULL: null */
    const char *current;        /* webhook data.current, NULL: null */
    const char *extra;          /* NULL, or JSON text of more data members */
} ssd_event_t;

/* Which domains a list shows. tenant_id NULL lists the whole partner;
 * otherwise the tenant's own and the partner's shared ones. A flag < 0
 * does not filter. */
typedef struct {
    const char *partner_id;
    const char *tenant_id;
    int verified, is_active, is_shared;
    const char *q;              /* domain substring or NULL */
    const char *after_id;       /* keyset cursor or NULL */
    int limit;
} ssd_list_query_t;

extern const ssd_statement_t ssd_store_statements[];

/* A statement's SQL for a driver ("sqlite3", "pgsql"): the tokens the
 * engines spell differently replaced -- @NOW_MS@ (the database's clock in
 * milliseconds since the epoch). */
const char *ssd_store_sql_for(apr_pool_t *p, const char *driver,
                              const char *sql);
extern const char *const ssd_store_schema_v1[];
extern const char *const ssd_store_schema_v2[];
extern const char *const ssd_store_schema_v3[];
extern const char *const ssd_store_schema_v4[];

/* The schema version this build knows. */
#define SSD_SCHEMA_VERSION 4

/* Bring the schema to SSD_SCHEMA_VERSION: pending migrations are applied
 * once each, in order, each in a transaction, serialised between nodes
 * (an advisory lock on PostgreSQL). Fails, with err, on a database whose
 * schema is newer than this build knows. *version gets the version found
 * before migrating. */
apr_status_t ssd_store_migrate(apr_pool_t *p, const apr_dbd_driver_t *driver,
                               apr_dbd_t *handle, int *version,
                               const char **err);

/* Insert the domain, its first keys (ssd_dkim_key_t: one per algorithm)
 * and its event: CONFLICT when the owner has the name already, LIMIT when
 * the owner holds max_per_owner domains (0: no limit). */
/* (d->next_check_ms is the first re-check's delay after now, 0: none.) */
ssd_store_rc ssd_store_domain_create(ssd_store_t *st, const ssd_domain_t *d,
                                     const apr_array_header_t *keys,
                                     const ssd_event_t *ev,
                                     int max_per_owner);
/* The schema version the database is at. */
ssd_store_rc ssd_store_schema_version(ssd_store_t *st, int *version);
/* How many domains an owner holds. */
ssd_store_rc ssd_store_owner_count(ssd_store_t *st, const char *owner_key,
                                   int *count);
ssd_store_rc ssd_store_domain_get(ssd_store_t *st, const char *id,
                                  ssd_domain_t **out);
ssd_store_rc ssd_store_domain_find(ssd_store_t *st, const char *owner_key,
                                   const char *domain);
ssd_store_rc ssd_store_domain_list(ssd_store_t *st,
                                   const ssd_list_query_t *q,
                                   apr_array_header_t **out);
/* A change to a domain, applied to the row as it is once locked: apply
 * sets the fields and returns the changes as JSON text ({"field": {"from",
 * "to"}}), or NULL when nothing changes. */
/* Makes the private part of a new key of alg for a selector chosen
 * inside a transaction: sets k's public_key, bits and wrapped_key (the
 * RSA key generated beforehand -- no transaction waits on that -- an
 * Ed25519 key there, which is cheap); 0, or -1 on failure. */
typedef int (*ssd_keymaker_fn)(void *baton, ssd_dkim_alg_t alg,
                               const char *selector, ssd_dkim_key_t *k);

typedef struct {
    const char *(*apply)(void *baton, apr_pool_t *p, ssd_domain_t *d);
    void *baton;
    const char *sub;            /* for the audit event */
    /* makes the pending key of an algorithm turned on (dkim_algorithms) */
    ssd_keymaker_fn make;
    void *make_baton;
} ssd_patch_t;

/* Lock the row, read it, apply, write the changed row and its event in one
 * transaction; *out is the domain as it is now and *keys its keys, both
 * read in that transaction (a delete committed right after it cannot take
 * the keys out of the answer). An algorithm turned off retires its keys;
 * one turned on gets a pending key, the twin of the RSA key that signs
 * next (a retired twin is pending again, else make makes one). NOT_FOUND
 * when the row is gone (a concurrent delete). */
ssd_store_rc ssd_store_domain_patch(ssd_store_t *st, const char *id,
                                    const ssd_patch_t *patch,
                                    ssd_domain_t **out,
                                    apr_array_header_t **keys);
/* Delete the domain row first (a rotation holding it finishes before),
 * then every key of it, with the event; NOT_FOUND when already gone. */
ssd_store_rc ssd_store_domain_delete(ssd_store_t *st, const ssd_domain_t *d,
                                     const ssd_event_t *ev);
ssd_store_rc ssd_store_keys_get(ssd_store_t *st, const char *domain_id,
                                apr_array_header_t **out);
/* The keys of the domains a list shows (q's partner and tenant scope)
 * with ids in [lo_id, hi_id], as a hash of domain id -> array of
 * ssd_dkim_key_t. */
ssd_store_rc ssd_store_keys_in_range(ssd_store_t *st,
                                     const ssd_list_query_t *q,
                                     const char *lo_id, const char *hi_id,
                                     apr_hash_t **out);

/* ---- verification state (ssd_store_verify.c) ---- */

/* Times come from the database's clock (every node reads the same), in
 * milliseconds since the epoch. */

/* The outcome of a verification, stored in one transaction -- with the
 * activation of the pending key when its check passed. */
typedef struct {
    const ssd_domain_t *domain;     /* verified, verified_at, statuses set */
    const char *last_verification;  /* JSON text; NULL: keep (temperror) */
    const char *answer;             /* JSON text of this run's answer */
    apr_int64_t claim_ms;           /* the claim this run holds */
    apr_array_header_t *key_status; /* ssd_dkim_key_t: selector, dns_status */
    const ssd_event_t *event;       /* NULL: nothing to record */
    const apr_array_header_t *activate; /* pending keys, or NULL */
    const ssd_event_t *activated;   /* their event */
} ssd_verify_save_t;

/* The single-flight claim of a domain's verification. */
typedef struct {
    apr_int64_t claimed_ms;         /* 0 when never claimed */
    apr_int64_t done_ms;
    apr_int64_t now_ms;             /* the database's clock, now */
    apr_int64_t answer_ms;          /* the claim last_answer belongs to */
} ssd_verify_state_t;

/* Claim the right to run a verification: OK and *claim_ms when claimed,
 * CONFLICT when one ran less than interval_ms ago or is running (unless
 * its claim is older than stale_ms), NOT_FOUND when the domain is gone. */
ssd_store_rc ssd_store_verify_claim(ssd_store_t *st, const char *id,
                                    apr_int64_t interval_ms,
                                    apr_int64_t stale_ms,
                                    apr_int64_t *claim_ms);
ssd_store_rc ssd_store_verify_state(ssd_store_t *st, const char *id,
                                    ssd_verify_state_t *out);
ssd_store_rc ssd_store_verify_save(ssd_store_t *st,
                                   const ssd_verify_save_t *v);
/* The answer of the latest run and the claim it belongs to. */
ssd_store_rc ssd_store_verify_answer(ssd_store_t *st, const char *id,
                                     const char **answer,
                                     apr_int64_t *answer_ms);
/* End a claimed verification without storing an outcome; answer (NULL:
 * none) is what the run answered, for the requests that waited on it. */
ssd_store_rc ssd_store_verify_release(ssd_store_t *st, const char *id,
                                      const char *answer,
                                      apr_int64_t claim_ms);
/* OK when another record of the name is verified. */
ssd_store_rc ssd_store_verified_elsewhere(ssd_store_t *st,
                                          const char *domain,
                                          const char *id);


/* ---- the background job (ssd_store_job.c) ---- */

/* Take or renew the lease name for holder for ttl_ms: OK when held,
 * CONFLICT when another holder's lease has not expired. */
ssd_store_rc ssd_store_lease(ssd_store_t *st, const char *name,
                             const char *holder, apr_int64_t ttl_ms);
ssd_store_rc ssd_store_lease_release(ssd_store_t *st, const char *name,
                                     const char *holder);
/* Ids of domains whose re-check is due, the most overdue first. */
ssd_store_rc ssd_store_domains_due(ssd_store_t *st, int limit,
                                   apr_array_header_t **out);
/* No more background re-checks of the domain (until a verify schedules). */
ssd_store_rc ssd_store_domain_unschedule(ssd_store_t *st, const char *id);
/* Ids of verified (or degraded) domains whose active key was activated
 * before (RFC 3339) and that have no pending key: a rotation is due. */
ssd_store_rc ssd_store_rotations_due(ssd_store_t *st, const char *before,
                                    int limit, apr_array_header_t **out);
/* Ids of domains never verified, created before (RFC 3339). */
ssd_store_rc ssd_store_domains_expired(ssd_store_t *st, const char *before,
                                       int limit, apr_array_header_t **out);

/* One event waiting for delivery (the oldest of its domain). */
typedef struct {
    const char *id;                 /* evt_...: the webhook-id */
    const char *domain_id;
    const char *body;
    int attempts;
    apr_int64_t created_ms;
    apr_int64_t now_ms;             /* the database's clock, now */
} ssd_outbox_row_t;

ssd_store_rc ssd_store_outbox_due(ssd_store_t *st, int limit,
                                  apr_array_header_t **out);
/* After an attempt: delivered, or retried in retry_in_ms (given up when
 * give_up), with the error for the operator. */
ssd_store_rc ssd_store_outbox_done(ssd_store_t *st, const char *id,
                                   int delivered, apr_int64_t retry_in_ms,
                                   int give_up, const char *error);
/* Delivered or given-up events older than older_ms go. */
ssd_store_rc ssd_store_outbox_forget(ssd_store_t *st, apr_int64_t older_ms);

/* ---- DKIM key lifecycle (ssd_store_keys.c) ---- */

typedef struct {
    const ssd_domain_t *domain;
    const char *selector_base;
    ssd_keymaker_fn make;
    void *baton;
    apr_array_header_t *keys;       /* out: the pending keys made */
    const ssd_event_t *event;
    const ssd_event_t *due_event;   /* NULL, or written before event */
} ssd_rotation_t;

/* OK when the domain has a pending key. */
ssd_store_rc ssd_store_key_pending(ssd_store_t *st, const char *domain_id);
/* Add the pending keys on the next selector (never reused) -- one per
 * algorithm of the domain as its locked row says, the Ed25519 one on the
 * twin selector; CONFLICT when a key is pending already, NOT_FOUND when
 * the domain is gone. */
ssd_store_rc ssd_store_rotate(ssd_store_t *st, ssd_rotation_t *rot);
/* The state of one key (NOT_FOUND when none). */
ssd_store_rc ssd_store_key_state(ssd_store_t *st, const char *domain_id,
                                 const char *selector, const char **state);
/* Remove a retired key and its private part. */
ssd_store_rc ssd_store_key_delete(ssd_store_t *st, const ssd_domain_t *d,
                                  const char *selector,
                                  const ssd_event_t *ev);

/* ---- audit trail ---- */

typedef struct {
    const char *id;
    const char *at;
    const char *sub;
    const char *action;
    const char *changes;    /* JSON text */
} ssd_event_row_t;

/* Newest first, after the cursor id (NULL: from the newest). */
ssd_store_rc ssd_store_events_list(ssd_store_t *st, const char *domain_id,
                                   const char *after_id, int limit,
                                   apr_array_header_t **out);

/* A record a signing request may use, with its active keys (wrapped). */
typedef struct {
    ssd_domain_t *domain;
    apr_array_header_t *keys;       /* ssd_dkim_key_t: selector, wrapped,
                                       algorithm */
} ssd_sign_candidate_t;

/* The candidates of ssd_store_sender_domains and their active keys, in
 * one query (ssd_sign_candidate_t; rows of one domain together). */
ssd_store_rc ssd_store_sign_candidates(ssd_store_t *st, const char *partner_id,
                                       const char *tenant_id,
                                       const char *domain,
                                       apr_array_header_t **out);

/* The records of a From: domain a tenant may send from (tenant NULL: a
 * partner-level caller, the partner's own records). */
ssd_store_rc ssd_store_sender_domains(ssd_store_t *st, const char *partner_id,
                                      const char *tenant_id,
                                      const char *domain,
                                      apr_array_header_t **out);

#endif
