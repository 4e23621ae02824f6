/* ssd_verify: one verification -- the DKIM, SPF and DMARC checks run
 * concurrently, each thread with its own resolver, all bounded by one
 * deadline -- and the answer of api.md section 4. */
#ifndef SSD_VERIFY_H
#define SSD_VERIFY_H

#include <json-c/json.h>
#include "ssd_check.h"
#include "ssd_dns.h"

/* At most this many keys besides the RSA pair are checked at once. */
#define SSD_VERIFY_MAX_KEYS 4

/* A DKIM key of another algorithm than RSA (Ed25519, api.md section 10),
 * active or pending. */
typedef struct {
    int alg;                        /* ssd_dkim_alg_t */
    const char *selector;
    const char *public_b64;
    int pending;
} ssd_verify_key_t;

typedef struct {
    const char *domain;
    const char *selector;           /* the active RSA key */
    const char *public_b64;
    const char *pending_selector;   /* NULL when no RSA key is pending */
    const char *pending_b64;
    const apr_array_header_t *keys; /* ssd_verify_key_t: the keys of the
                                       other algorithms, at most
                                       SSD_VERIFY_MAX_KEYS; NULL: none */
    const char *spf_include;
    const char *helo;               /* %{h} of SPF macros */
    const char *dmarc_policy;
    const char *dmarc_rua;
    ssd_dns_config_t dns;
} ssd_verify_input_t;

/* One key's own check. */
typedef struct {
    ssd_verify_key_t key;
    ssd_check_result_t result;
    int in_dkim;                    /* a part of the result's dkim */
} ssd_verify_key_result_t;

typedef struct {
    ssd_check_result_t dkim;        /* every active key's check, merged */
    ssd_check_result_t pending;     /* every pending key's, merged; valid
                                       when has_pending */
    ssd_check_result_t spf;
    ssd_check_result_t dmarc;
    int has_pending;
    int resolver_failed;            /* a resolver could not be set up */
    const char *checked_at;
    ssd_check_result_t more[SSD_VERIFY_MAX_KEYS];   /* in->keys' checks */
    apr_array_header_t *keys;       /* ssd_verify_key_result_t: every key
                                       checked, the RSA ones first */
} ssd_verify_result_t;

typedef enum {
    SSD_OUTCOME_VERIFIED,       /* all three pass */
    SSD_OUTCOME_FAILED,         /* a check failed conclusively */
    SSD_OUTCOME_UNDECIDED       /* no failure, but a temporary error */
} ssd_outcome_e;

/* Run the checks; results live in p. Fails (APR error) when a check
 * could not be started: its slot then reads temperror (check_not_run)
 * and the caller must store nothing of this run. */
apr_status_t ssd_verify_run(apr_pool_t *p, const ssd_verify_input_t *in,
                            ssd_verify_result_t *out);

ssd_outcome_e ssd_verify_outcome(const ssd_verify_result_t *res);

/* ---- the keys of several algorithms (ssd_verify_keys.c) ---- */

/* After the checks: res->keys gets every key's own check, and the checks
 * of in->keys are merged into dkim (active) and pending -- the worst
 * status, all the findings. */
void ssd_verify_merge_keys(apr_pool_t *p, const ssd_verify_input_t *in,
                           ssd_verify_result_t *res);

/* Every pending key is published (the merged pending check passed): the
 * verification then stands on the keys that become active -- for each
 * algorithm the pending key, else the active one -- and what a replaced
 * key's check found turns into warnings (check "dkim_retiring"). 1 when
 * promoted, else 0 and res unchanged. */
int ssd_verify_promote(apr_pool_t *p, ssd_verify_result_t *res);

/* The checks of the keys merged into dkim (pending 0) or pending (1), as
 * [{"selector", "algorithm", "status", "host"}]; NULL when there are
 * fewer than two. */
json_object *ssd_verify_keys_json(const ssd_verify_result_t *res,
                                  int pending);

/* The authoritative view of a check that has run (check "dkim", "spf" or
 * "dmarc"; pending: the pending key's DKIM check) into out->authority,
 * through the check's own resolver (ssd_verify_authority.c). */
void ssd_verify_authority(apr_pool_t *p, ssd_dns_t *dns,
                          const ssd_verify_input_t *in, const char *check,
                          int pending, ssd_check_result_t *out);
/* The same for the DKIM check of one key of in->keys. */
void ssd_verify_authority_key(apr_pool_t *p, ssd_dns_t *dns,
                              const ssd_verify_input_t *in,
                              const ssd_verify_key_t *key,
                              ssd_check_result_t *out);

/* The record status a result leaves in dns_records: "verified" or
 * "failed"; NULL for a temporary error (the old status stands). */
const char *ssd_check_record_status(const ssd_check_result_t *r);

/* Add a finding to res as an error (the verification then fails). */
void ssd_verify_add_error(apr_pool_t *p, ssd_check_result_t *res,
                          const char *check, const char *code,
                          const char *host, const char *message);

/* Largest answer stored and sent (api.md section 11). */
#define SSD_VERIFY_MAX_ANSWER (64 * 1024)

/* The answer of api.md section 4; verified is what the domain is now. */
json_object *ssd_verify_json(apr_pool_t *p, const char *domain, int verified,
                             const ssd_verify_result_t *res);

/* The answer as text of at most max bytes: past that, findings lose their
 * found text and then the later findings, and "truncated" is set. */
const char *ssd_verify_answer_text(apr_pool_t *p, json_object *answer,
                                   apr_size_t max);

#endif
