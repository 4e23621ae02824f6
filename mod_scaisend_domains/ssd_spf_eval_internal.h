/* ssd_spf_eval_internal: what ssd_spf_eval.c (records, include,
 * redirect) and ssd_spf_mech.c (the other mechanisms) share. */
#ifndef SSD_SPF_EVAL_INTERNAL_H
#define SSD_SPF_EVAL_INTERNAL_H

#include "ssd_spf_eval.h"

typedef enum { M_NO, M_YES, M_ERROR } match_e;

typedef struct {
    apr_pool_t *p;
    const ssd_spf_lookup_t *lk;
    const ssd_spf_query_t *q;
    ssd_spf_outcome_t *out;
    ssd_ip_t ip;
    ssd_spf_macros_t m;             /* m.d: the record being evaluated */
    const char *cur_term;           /* the term being evaluated */
    const char *cur_target;         /* the name it looks up, or NULL */
    apr_array_header_t *stack;      /* domains being evaluated */
    int depth;                      /* include depth (redirect keeps it) */
    ssd_spf_result_e err;           /* the result, after M_ERROR */
    apr_array_header_t *validated;  /* %{p}: validated PTR names, or NULL */
    const term_t *exp;              /* exp= of the record that decided */
    const char *exp_domain;
    const char *none_code;          /* why evaluate() gave none */
    const char *none_detail;
} ev_t;

/* The first error ends the evaluation: recorded once, returned. */
ssd_spf_result_e ssd_spf_ev_error(ev_t *e, ssd_spf_result_e r, const char *code,
                          const char *name, const char *detail);
/* One more DNS-querying term: 0 (permerror recorded) past the limit. */
int ssd_spf_ev_count_term(ev_t *e);
/* An answer of no data for a term's lookup: 0 (permerror) past the
 * void-lookup limit. */
int ssd_spf_ev_void(ev_t *e, const char *name, ssd_dns_rc rc);
/* The target of a term: spec expanded (the current domain when NULL);
 * NULL when the term is undecidable (noted); "" when the expansion
 * fails. */
const char *ssd_spf_ev_target(ev_t *e, const char *spec);
/* A lookup (counted in out->queries). */
ssd_dns_rc ssd_spf_ev_lookup(ev_t *e, ssd_rr_fetch_fn fn, const char *name,
                     ssd_rr_answer_t *a);
/* The address lookup for the client's family (A or AAAA). */
ssd_dns_rc ssd_spf_ev_addresses(ev_t *e, const char *name, ssd_rr_answer_t *a);

/* a mx ptr ip4 ip6 exists (ssd_spf_mech.c) */
match_e ssd_spf_ev_mechanism(ev_t *e, const term_t *t);
/* %{p} for the current domain (computing the validated names once). */
const char *ssd_spf_ev_macro_p(ev_t *e);

#endif
