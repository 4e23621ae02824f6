/* ssd_model: the records the module keeps -- sender domains and their
 * DKIM keys -- as plain structs shared by the store and the routes. */
#ifndef SSD_MODEL_H
#define SSD_MODEL_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct {
    const char *id;
    const char *partner_id;
    const char *tenant_id;          /* NULL for a partner-owned domain */
    const char *domain;             /* A-label form */
    const char *dkim_selector;      /* the RSA selector that signs now */
    const char *dkim_algorithms;    /* "rsa-sha256[,ed25519-sha256]" */
    const char *dmarc_policy;       /* none | quarantine | reject */
    const char *dmarc_rua_email;    /* NULL when unset */
    int is_shared;
    int is_active;
    int verified;
    const char *created_at;
    const char *updated_at;
    const char *verified_at;        /* NULL until verified */
    const char *last_verification;  /* JSON text or NULL */
    const char *spf_status;         /* pending | verified | failed */
    const char *dmarc_status;
    /* verification over time (api.md section 9); times in ms since the
     * epoch on the database's clock, 0 when unset */
    const char *state;              /* pending verified degraded unverified */
    apr_int64_t failing_since_ms;   /* first failure since it was verified */
    apr_int64_t next_check_ms;      /* due for a re-check; 0: never */
    int check_step;                 /* backoff step of pending/unverified */
    apr_int64_t window_from_ms;     /* their re-check window starts */
} ssd_domain_t;

typedef struct {
    const char *domain_id;
    const char *selector;
    const char *state;              /* pending | active | retired */
    const char *algorithm;          /* rsa-sha256 | ed25519-sha256 */
    int bits;
    const char *public_key;         /* the record's p= (ssd_dkim) */
    const char *wrapped_key;        /* see ssd_dkim_wrap; never sent out */
    const char *created_at;
    const char *activated_at;
    const char *retired_at;
    const char *dns_status;         /* pending | verified | failed */
} ssd_dkim_key_t;

/* The owner key that makes (owner, domain) unique across both engines:
 * "p:<partner>" for partner-owned, "t:<partner> <tenant>" otherwise. Ids
 * are printable ASCII without spaces (the principal refuses others), so
 * the space makes the key one-to-one. */
const char *ssd_owner_key(apr_pool_t *p, const char *partner_id,
                          const char *tenant_id);

/* Parse what ssd_now_rfc3339 writes; 0 when it does not parse. */
apr_time_t ssd_time_from_rfc3339(const char *text);

/* Current time as RFC 3339 UTC with seconds, e.g. 2026-11-27T10:00:00Z. */
const char *ssd_now_rfc3339(apr_pool_t *p);
/* The time ms milliseconds ago, as ssd_now_rfc3339 writes it. */
const char *ssd_ago_rfc3339(apr_pool_t *p, apr_int64_t ms);

#endif
