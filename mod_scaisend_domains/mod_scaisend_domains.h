/* mod_scaisend_domains: shared declarations of the httpd glue files. */
#ifndef MOD_SCAISEND_DOMAINS_H
#define MOD_SCAISEND_DOMAINS_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <util_filter.h>
#include <json-c/json.h>

#include "ssd_text.h"

#include "ssd_log.h"
#include "ssd_policy.h"
#include "ssd_recheck.h"
#include "ssd_sender.h"
#include "ssd_store.h"
#include "ssd_verify.h"
#include "ssd_webhook.h"

#define SSD_HANDLER "scaisend-domains"
#define SSD_ERROR_HANDLER "scaisend-domains-error"
#define SSD_STATUS_HANDLER "scaisend-domains-status"

/* The release, from the VERSION file (apxs.mk passes -DSSD_VERSION). */
#ifndef SSD_VERSION
#define SSD_VERSION "0.0.0-dev"
#endif

/* Directive names: one place, so a misspelling fails to compile. */
#define SSD_DIR_KEK_FILE "ScaiSendKeyEncryptionKeyFile"
#define SSD_DIR_KEY_BITS "ScaiSendDKIMKeyBits"
#define SSD_DIR_SELECTOR "ScaiSendDKIMSelector"
#define SSD_DIR_SPF_INCLUDE "ScaiSendSPFInclude"
#define SSD_DIR_RESERVED "ScaiSendReservedDomain"
#define SSD_DIR_API_BASE "ScaiSendAPIBase"
#define SSD_DIR_MAX_BODY "ScaiSendMaxBodySize"
#define SSD_DIR_ZONE_TTL "ScaiSendZoneTTL"
#define SSD_DIR_CLAIM_PREFIX "ScaiSendClaimPrefix"
#define SSD_DIR_CLAIM_SUB "ScaiSendClaimSub"
#define SSD_DIR_CLAIM_PARTNER "ScaiSendClaimPartner"
#define SSD_DIR_CLAIM_TENANT "ScaiSendClaimTenant"
#define SSD_DIR_CLAIM_ROLE "ScaiSendClaimRole"
#define SSD_DIR_CLAIM_EXP "ScaiSendClaimExp"
#define SSD_DIR_SIGN_MAX "ScaiSendSignMaxSize"
#define SSD_DIR_KEY_OVERLAP "ScaiSendDKIMOverlap"
#define SSD_DIR_RESOLVER "ScaiSendResolver"
#define SSD_DIR_DNS_TIMEOUT "ScaiSendDNSTimeout"
#define SSD_DIR_VERIFY_BUDGET "ScaiSendVerifyBudget"
#define SSD_DIR_VERIFY_INTERVAL "ScaiSendVerifyInterval"
#define SSD_DIR_AUTH_PORT "ScaiSendAuthoritativePort"
#define SSD_DIR_MAX_DOMAINS "ScaiSendMaxDomainsPerTenant"
#define SSD_DIR_HELO_NAME "ScaiSendHeloName"
#define SSD_DIR_VERIFY_GRACE "ScaiSendVerifyGrace"
#define SSD_DIR_RECHECK_INTERVAL "ScaiSendRecheckInterval"
#define SSD_DIR_PENDING_WINDOW "ScaiSendPendingWindow"
#define SSD_DIR_RECHECK_RATE "ScaiSendRecheckRate"
#define SSD_DIR_PENDING_EXPIRY "ScaiSendPendingExpiry"
#define SSD_DIR_ROTATE_AFTER "ScaiSendDKIMRotateAfter"
#define SSD_DIR_KEY_CACHE "ScaiSendKeyCache"
#define SSD_DIR_KEY_CACHE_TTL "ScaiSendKeyCacheTTL"
#define SSD_DIR_DKIM_ALGORITHMS "ScaiSendDKIMAlgorithms"
#define SSD_DIR_SIGN_HEADERS "ScaiSendSignHeaders"
#define SSD_DIR_SIGNATURE_TTL "ScaiSendSignatureTTL"
#define SSD_DIR_CONFIG_WARNING "ScaiSendConfigWarning"
#define SSD_DIR_WEBHOOK_URL "ScaiSendWebhookURL"
#define SSD_DIR_WEBHOOK_SECRET "ScaiSendWebhookSecretFile"
#define SSD_DIR_WEBHOOK_TIMEOUT "ScaiSendWebhookTimeout"

extern module AP_MODULE_DECLARE_DATA scaisend_domains_module;

/* Tags log lines with the module's name; the file holding the module
 * record gets the same from AP_DECLARE_MODULE. */
#ifndef SSD_MODULE_RECORD
APLOG_USE_MODULE(scaisend_domains);
#endif

typedef struct {
    const char *kek_file;
    unsigned char *kek;             /* SSD_KEK_LEN bytes, wiped with pconf */
    int key_bits;
    const char *selector_base;
    const char *spf_include;
    const char *helo_name;          /* %{h} of SPF macros */
    apr_array_header_t *reserved;   /* const char *: refused names */
    const char *reserved_default;   /* when none: the include's domain */
    const char *api_base;
    apr_off_t max_body;
    int zone_ttl;
    apr_off_t sign_max;             /* largest message to sign */
    int key_overlap_s;              /* retired key kept at least this long */
    const char *claim_prefix;
    const char *claim_sub;
    const char *claim_partner;
    const char *claim_tenant;
    const char *claim_role;
    const char *claim_exp;
    apr_array_header_t *resolvers;  /* ssd_nameserver_t; NULL: resolv.conf */
    int dns_timeout_ms;             /* per query attempt */
    int verify_budget_ms;           /* a whole verification */
    int verify_interval_s;          /* between verifications of a domain */
    int auth_port;                  /* authoritative servers asked there */
    int max_domains;                /* per owner; 0: no limit */
    /* verification over time, in ms (0: off) */
    apr_int64_t grace_ms;
    apr_int64_t recheck_interval_ms;
    apr_int64_t pending_window_ms;
    apr_int64_t pending_expiry_ms;
    apr_int64_t rotate_after_ms;
    int recheck_rate;               /* background verifications per second */
    int key_cache;                  /* unwrapped keys per process; 0: off */
    apr_int64_t key_cache_ttl_ms;   /* an unused key stays at most this */
    const char *dkim_algorithms;    /* of new domains, stored form */
    unsigned algs_seen;             /* while the directive is read */
    apr_array_header_t *sign_headers;   /* const char *, lower case */
    apr_int64_t signature_ttl_ms;   /* x= after t=; 0: no x= */
    const char *webhook_url;        /* NULL: no webhooks */
    const char *webhook_target;     /* scheme://host:port, for the log */
    const char *webhook_secret_file;
    ssd_webhook_key_t *webhook_key; /* wiped with pconf */
    int webhook_timeout_s;          /* one delivery attempt */
} ssd_conf_t;

/* The request as the routes see it. */
typedef struct {
    request_rec *r;
    ssd_conf_t *conf;
    ssd_principal_t who;
    ssd_store_t *store;             /* NULL until ssd_req_store() */
    ssd_log_t *log;                 /* for core units; NULL until needed */
    int route;                      /* index in the route table, -1 none */
} ssd_req_t;

/* mod_scaisend_domains_config.c */
/* mod_scaisend_domains_log.c: every log line of the module --
 *   SSD_RLOG(APLOG_ERR, status, r, 105, "no database connection");
 *   SSD_SLOG(APLOG_NOTICE, 0, s, 1, "started");
 * -- with its message number (SSDnnnn, README) and, for a request, its id.
 * The level is checked before anything is formatted. */
#define SSD_RLOG(level, status, r, num, ...) do { \
        if (APLOG_R_IS_LEVEL((r), (level))) \
            ssd_rlog(__FILE__, __LINE__, APLOG_MODULE_INDEX, (level), \
                     (status), (r), (num), __VA_ARGS__); \
    } while (0)
#define SSD_SLOG(level, status, s, num, ...) do { \
        if (APLOG_IS_LEVEL((s), (level))) \
            ssd_slog(__FILE__, __LINE__, APLOG_MODULE_INDEX, (level), \
                     (status), (s), (num), __VA_ARGS__); \
    } while (0)
void ssd_rlog(const char *file, int line, int module_index, int level,
              apr_status_t status, const request_rec *r, int num,
              const char *fmt, ...) __attribute__((format(printf, 8, 9)));
void ssd_slog(const char *file, int line, int module_index, int level,
              apr_status_t status, const server_rec *s, int num,
              const char *fmt, ...) __attribute__((format(printf, 8, 9)));
const char *ssd_request_id(const request_rec *r);
/* A sink for the core units working for r (DNS queries, statements). */
ssd_log_t *ssd_request_log(request_rec *r);
/* The same for work without a request; id stands for the request id. */
ssd_log_t *ssd_server_log(apr_pool_t *p, server_rec *s, const char *id);

typedef struct {
    apr_size_t offset;          /* of the field in ssd_conf_t */
    int is_off_t;               /* apr_off_t field, else int */
    long min, max;
} ssd_number_spec_t;
const char *ssd_set_number(cmd_parms *cmd, void *dc, const char *arg);
extern const ssd_number_spec_t ssd_dns_timeout_spec, ssd_verify_budget_spec,
    ssd_verify_interval_spec;
extern const command_rec ssd_directives[];
void *ssd_conf_create(apr_pool_t *p, server_rec *s);
void *ssd_conf_merge(apr_pool_t *p, void *basev, void *addv);
ssd_conf_t *ssd_conf_get(server_rec *s);
const char *const *ssd_conf_reserved(apr_pool_t *p, const ssd_conf_t *c);
/* Start-up: fill defaults in and check what a server needs; shared by
 * "httpd -t" and a real start. Returns NULL or the message. */
const char *ssd_conf_check(server_rec *s);
/* The ScaiSendConfigWarning messages, to the error log. */
void ssd_conf_log_warnings(apr_pool_t *pconf, server_rec *s);

/* mod_scaisend_domains_config_dns.c */
const char *ssd_set_resolver(cmd_parms *cmd, void *dc, const char *arg);
const char *ssd_set_auth_port(cmd_parms *cmd, void *dc, const char *arg);
void ssd_conf_dns_defaults(ssd_conf_t *c);
/* "192.0.2.53 port 53, ::1 port 5353", for the start-up log. */
const char *ssd_conf_dns_describe(apr_pool_t *p, const ssd_conf_t *c);
void ssd_conf_dns_finish(ssd_conf_t *c);
void ssd_conf_dns_merge(ssd_conf_t *c, const ssd_conf_t *base,
                        const ssd_conf_t *add);

/* mod_scaisend_domains_config_recheck.c: durations ("90s", "72h") */
typedef struct {
    apr_size_t offset;          /* an apr_int64_t of ssd_conf_t, in ms */
    apr_int64_t min_ms, max_ms; /* 0 (off) is always allowed */
} ssd_duration_spec_t;
const char *ssd_set_duration(cmd_parms *cmd, void *dc, const char *arg);
extern const ssd_duration_spec_t ssd_grace_spec, ssd_interval_spec,
    ssd_window_spec, ssd_expiry_spec, ssd_rotate_spec;
extern const ssd_number_spec_t ssd_rate_spec;
void ssd_conf_recheck_defaults(ssd_conf_t *c);
void ssd_conf_recheck_merge(ssd_conf_t *c, const ssd_conf_t *base,
                            const ssd_conf_t *add);
void ssd_conf_recheck_finish(ssd_conf_t *c);
ssd_schedule_t ssd_conf_schedule(const ssd_conf_t *c);
/* mod_scaisend_domains_config_sign.c */
const char *ssd_set_algorithms(cmd_parms *cmd, void *dc, const char *arg);
const char *ssd_set_sign_headers(cmd_parms *cmd, void *dc, const char *arg);
extern const ssd_duration_spec_t ssd_signature_ttl_spec,
    ssd_key_cache_ttl_spec;
extern const ssd_number_spec_t ssd_key_cache_spec;
#define SSD_SIGN_DIRECTIVES \
    AP_INIT_ITERATE(SSD_DIR_DKIM_ALGORITHMS, ssd_set_algorithms, NULL, \
                    RSRC_CONF, "signing algorithms of new domains: " \
                    "rsa-sha256 [ed25519-sha256] (default rsa-sha256)"), \
    AP_INIT_ITERATE(SSD_DIR_SIGN_HEADERS, ssd_set_sign_headers, NULL, \
                    RSRC_CONF, "header fields signed (from over-signed); " \
                    "replaces the default list"), \
    AP_INIT_TAKE1(SSD_DIR_SIGNATURE_TTL, ssd_set_duration, \
                  (void *)&ssd_signature_ttl_spec, RSRC_CONF, \
                  "signatures expire (x=) this long after signing " \
                  "(default 0: no x=)"), \
    AP_INIT_TAKE1(SSD_DIR_KEY_CACHE, ssd_set_number, \
                  (void *)&ssd_key_cache_spec, RSRC_CONF, \
                  "unwrapped DKIM keys each process keeps for signing " \
                  "(default 1000; 0: none)"), \
    AP_INIT_TAKE1(SSD_DIR_KEY_CACHE_TTL, ssd_set_duration, \
                  (void *)&ssd_key_cache_ttl_spec, RSRC_CONF, \
                  "how long an unwrapped key not used for signing stays " \
                  "in memory (default 1s)")
void ssd_conf_sign_defaults(ssd_conf_t *c);
void ssd_conf_sign_merge(ssd_conf_t *c, const ssd_conf_t *base,
                         const ssd_conf_t *add);
const char *ssd_conf_sign_check(apr_pool_t *p, ssd_conf_t *c);
/* mod_scaisend_domains_config_webhook.c */
const char *ssd_set_webhook_url(cmd_parms *cmd, void *dc, const char *arg);
const char *ssd_set_webhook_secret(cmd_parms *cmd, void *dc, const char *arg);
extern const ssd_number_spec_t ssd_webhook_timeout_spec;
#define SSD_WEBHOOK_DIRECTIVES \
    AP_INIT_TAKE1(SSD_DIR_WEBHOOK_URL, ssd_set_webhook_url, NULL, RSRC_CONF, \
                  "http:// or https:// URL that events are posted to"), \
    AP_INIT_TAKE1(SSD_DIR_WEBHOOK_SECRET, ssd_set_webhook_secret, NULL, \
                  RSRC_CONF, "file holding the webhook signing secret, " \
                  "whsec_ + base64"), \
    AP_INIT_TAKE1(SSD_DIR_WEBHOOK_TIMEOUT, ssd_set_number, \
                  (void *)&ssd_webhook_timeout_spec, RSRC_CONF, \
                  "seconds one webhook delivery attempt may take " \
                  "(default 15)")
void ssd_conf_webhook_defaults(ssd_conf_t *c);
void ssd_conf_webhook_merge(ssd_conf_t *c, const ssd_conf_t *base,
                            const ssd_conf_t *add);
/* Defaults, and NULL or why the server cannot start. */
const char *ssd_conf_webhook_check(ssd_conf_t *c);

/* mod_scaisend_domains_webhook.c: delivery of one event (the background
 * job calls it; any thread). */
typedef struct {
    int delivered;              /* 1: a 2xx answer */
    int http_status;            /* the answer's status; 0: none came */
    const char *error;          /* NULL when delivered; else for the log:
                                 * "HTTP 500", "timed out after 15 s", ... */
    apr_interval_time_t elapsed;
} ssd_webhook_result_t;
/* POST body (the JSON of ssd_webhook_body) to c's ScaiSendWebhookURL,
 * signed for this attempt (webhook-timestamp: now). Returns res->delivered.
 * p: for this attempt only (a subpool; the easy handle is freed with it). */
int ssd_webhook_deliver(server_rec *s, apr_pool_t *p, const ssd_conf_t *c,
                        const char *id, const char *body,
                        ssd_webhook_result_t *res);
/* post_config: libcurl's global set-up, undone with pconf. */
int ssd_webhook_post_config(apr_pool_t *pconf, server_rec *s);

/* mod_scaisend_domains_db.c */
const char *ssd_db_check(void);
int ssd_db_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
/* Before mod_dbd's child init: an SQLite file readable (see the .c). */
void ssd_db_child_init(apr_pool_t *pchild, server_rec *s);
/* The changes committed to the SQLite database by any process using it
 * (mod_scaisend_domains_changes.c): 0 and the count, or -1 when they are
 * not counted (PostgreSQL; the counter could not be mapped). */
void ssd_changes_child_init(apr_pool_t *pchild, server_rec *s,
                            const char *db);
int ssd_changes_read(apr_uint64_t *out);
/* The request's database connection, taken from mod_dbd's pool on first
 * use; NULL when the database is unavailable (a 503 has then been sent). */
ssd_store_t *ssd_req_store(ssd_req_t *q);
/* The same, but NULL without sending anything when unavailable. */
ssd_store_t *ssd_req_store_try(ssd_req_t *q);
/* Give the connection back now (before a long wait, such as DNS); the
 * next ssd_req_store takes one again. */
void ssd_req_store_release(ssd_req_t *q);

/* mod_scaisend_domains_http.c */
int ssd_send_json(request_rec *r, int status, json_object *o);
int ssd_send_error(request_rec *r, int status, const char *code,
                   const char *message, const char *field);
int ssd_send_text(request_rec *r, int status, const char *type,
                  const char *text);
int ssd_send_no_content(request_rec *r);
int ssd_send_store_error(ssd_req_t *q, ssd_store_rc rc);
/* The request's JSON object, or NULL when an error has been sent. */
json_object *ssd_read_json(ssd_req_t *q);

/* A request body read through the input filters (dechunked, within
 * LimitRequestBody), chunk by chunk. */
typedef struct {
    request_rec *r;
    apr_bucket_brigade *bb;
    int eos;
} ssd_body_t;
void ssd_body_open(ssd_body_t *b, request_rec *r);
/* Up to size bytes into buf: the count, 0 at the end, or -status (413 over
 * ScaiSendMaxBodySize, 400 when it cannot be read, SSD_BODY_ANSWERED when
 * httpd has sent the error itself -- LimitRequestBody: its 413, JSON
 * through "ErrorDocument 413 /scaisend-error"). */
#define SSD_BODY_ANSWERED 1
apr_ssize_t ssd_body_read(ssd_body_t *b, char *buf, apr_size_t size);
/* The JSON error for a failed body read (status 413 or 400); limit > 0 is
 * named in the message. */
int ssd_send_body_error(ssd_req_t *q, int status, apr_off_t limit);

/* mod_scaisend_domains_principal.c */
/* 0 when q->who is filled; -1 when an error response has been sent. */
int ssd_principal_from_env(ssd_req_t *q);

/* mod_scaisend_domains_status.c */
int ssd_status_post_config(apr_pool_t *pconf, server_rec *s);
void ssd_status_count_request(int route, int status);
int ssd_status_handler(request_rec *r);

/* mod_scaisend_domains_job.c: the background job (mod_watchdog) */
int ssd_job_post_config(apr_pool_t *pconf, server_rec *s);
/* Stops the job before the child's pools go (child_init). */
void ssd_job_child_init(apr_pool_t *pchild, server_rec *s);

/* mod_scaisend_domains_router.c */
int ssd_route(ssd_req_t *q);
int ssd_route_count(void);
/* "GET /domains/{id}": the route's name in the status counters. */
const char *ssd_route_name(apr_pool_t *p, int i);

/* mod_scaisend_domains_domains.c */
int ssd_domains_create(ssd_req_t *q);
int ssd_domains_list(ssd_req_t *q);
int ssd_domain_get(ssd_req_t *q, const char *id);
int ssd_domain_patch(ssd_req_t *q, const char *id);
int ssd_domain_delete(ssd_req_t *q, const char *id);

/* mod_scaisend_domains_access.c */
/* The domain when the caller may access it; else NULL, the 404 or 403
 * (or 503) already sent. */
ssd_domain_t *ssd_domain_load(ssd_req_t *q, const char *id,
                              ssd_access_e access);
/* The DNS records of d with its keys (*keys); NULL when they cannot be
 * read or the domain has none left (deleted meanwhile), the 503 or 404
 * already sent. */
apr_array_header_t *ssd_domain_rows(ssd_req_t *q, const ssd_domain_t *d,
                                    apr_array_header_t **keys);

/* mod_scaisend_domains_verify.c */
int ssd_domain_verify(ssd_req_t *q, const char *id);

/* Work done for a request or by the background job: what a verification
 * (and the job's other tasks) need besides a request. */
typedef struct {
    apr_pool_t *pool;
    server_rec *server;
    ssd_conf_t *conf;
    const char *sub;                /* the actor of its audit events */
    ssd_log_t *log;
    ssd_store_t *store;             /* held connection, or NULL */
} ssd_work_t;

/* mod_scaisend_domains_db.c: a connection for work, given back with
 * ssd_work_release or when its pool goes; NULL when unavailable. */
ssd_store_t *ssd_work_store(ssd_work_t *w);
void ssd_work_release(ssd_work_t *w);

/* mod_scaisend_domains_verification.c: one verification of a domain --
 * the claim (single flight), the lookups holding no connection, the
 * outcome with the state, the events and a pending key's activation in
 * one transaction. */
typedef enum {
    SSD_RUN_DONE,               /* answer: the verification's answer */
    SSD_RUN_NOT_RUN,            /* checks could not start; nothing stored */
    SSD_RUN_CLAIMED,            /* another run holds the claim, or one ran
                                   within the interval: state filled */
    SSD_RUN_NO_KEY,             /* the domain has no active key */
    SSD_RUN_RESOLVER,           /* no resolver could be set up */
    SSD_RUN_GONE,               /* the domain was deleted */
    SSD_RUN_STORAGE             /* the database failed: store->error */
} ssd_run_rc;

typedef struct {
    const char *answer;         /* JSON text */
    ssd_verify_state_t state;   /* the claim, for SSD_RUN_CLAIMED */
    ssd_outcome_e outcome;
} ssd_run_t;

ssd_run_rc ssd_verification_run(ssd_work_t *w, ssd_domain_t *d,
                                ssd_run_t *out);
/* The verification input of a domain (keys chosen by the caller). */
void ssd_verification_input(ssd_work_t *w, const ssd_domain_t *d,
                            const apr_array_header_t *keys,
                            ssd_verify_input_t *in);

/* mod_scaisend_domains_schedule.c: the scheduled rotations due, a few per
 * round, while go_on(baton) says the job may go on. */
void ssd_schedule_rotations(ssd_work_t *w, int (*go_on)(void *),
                            void *baton);

/* mod_scaisend_domains_list.c: query parameters (400 sent on error) */
typedef int (*ssd_param_fn)(ssd_req_t *q, const char *name, char *value,
                            void *baton);
int ssd_parse_query(ssd_req_t *q, ssd_param_fn take, void *baton);
int ssd_parse_limit(ssd_req_t *q, const char *v, int *out);
int ssd_parse_cursor(ssd_req_t *q, const char *v, const char *prefix,
                     const char **out);
int ssd_bad_param(ssd_req_t *q, const char *name, const char *message);

/* mod_scaisend_domains_keys.c */
int ssd_domain_rotate(ssd_req_t *q, const char *id);
int ssd_domain_key_delete(ssd_req_t *q, const char *id, const char *selector);

/* mod_scaisend_domains_sender.c */
int ssd_sender_status(ssd_req_t *q);
/* The tenant a sender question is about; NULL with a 403 sent when a
 * tenant admin asks about another tenant. */
const char *ssd_sender_tenant(ssd_req_t *q, const char *asked);
/* 0 and v filled, or -1 with the error sent. */
int ssd_sender_decide_for(ssd_req_t *q, const char *domain,
                          const char *tenant, int live,
                          ssd_send_verdict_t *v);
json_object *ssd_sender_json(apr_pool_t *p, const char *domain,
                             const ssd_send_verdict_t *v);

/* mod_scaisend_domains_sign.c */
int ssd_dkim_sign(ssd_req_t *q);
/* The process's key cache and prefetched digests (child_init). */
void ssd_sign_child_init(apr_pool_t *child, server_rec *s);

/* mod_scaisend_domains_events.c */
int ssd_domain_events(ssd_req_t *q, const char *id);

/* mod_scaisend_domains_records.c */
int ssd_domain_dns_records(ssd_req_t *q, const char *id);
int ssd_domain_dkim_keys(ssd_req_t *q, const char *id);

#endif
