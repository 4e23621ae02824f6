/* ssd_input: the fields a client may send to create or change a domain,
 * checked for name, type and value (api.md section 3). */
#ifndef SSD_INPUT_H
#define SSD_INPUT_H

#include <apr_pools.h>
#include <json-c/json.h>

typedef enum { SSD_INPUT_CREATE, SSD_INPUT_PATCH } ssd_input_mode_e;

typedef struct {
    const char *code;       /* unknown_field, read_only_field, ... */
    const char *message;
    const char *field;
} ssd_input_error_t;

typedef struct {
    const char *domain;             /* normalised; create only */
    const char *dmarc_policy;       /* NULL when not sent */
    const char *dmarc_rua_email;    /* valid only when has_rua */
    const char *tenant_id;          /* create only; NULL when not sent */
    int has_rua;                    /* sent (a string or null) */
    int is_shared;                  /* -1 when not sent */
    int is_active;                  /* -1 when not sent */
    const char *dkim_algorithms;    /* stored form; NULL when not sent */
} ssd_domain_input_t;

/* Rules the domain name check needs from the configuration. */
typedef struct {
    const char *selector_base;
    const char *const *reserved;
} ssd_name_rules_t;

/* 0 on success; else -1 and err filled. */
int ssd_input_domain(apr_pool_t *p, json_object *body, ssd_input_mode_e mode,
                     const ssd_name_rules_t *rules, ssd_domain_input_t *in,
                     ssd_input_error_t *err);

/* "none", "quarantine", "reject" */
int ssd_dmarc_policy_valid(const char *policy);

#endif
