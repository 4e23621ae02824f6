/* ssd_spf: the syntax of SPF records (RFC 7208 sections 4.6, 5, 6, 7),
 * parsed strictly into terms for ssd_check_spf to walk. */
#ifndef SSD_SPF_H
#define SSD_SPF_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct {
    char qual;              /* + - ~ ? (modifiers: 0) */
    const char *name;       /* lower case: all include a mx ptr ip4 ip6
                               exists, or a modifier name */
    const char *arg;        /* domain-spec / network / modifier value */
    const char *text;       /* the term as written */
    int modifier;
} term_t;

/* Bounds (api.md section 11): records longer or with more terms are
 * refused, whatever RFC 7208 leaves open. */
#define SSD_SPF_MAX_RECORD 4096
#define SSD_SPF_MAX_TERMS 512

/* A TXT string whose version token is exactly "v=spf1" (any case). */
int ssd_spf_is_record(const char *s, apr_size_t len);
/* Domain names equal, ignoring case and one trailing dot. */
int ssd_spf_same_name(const char *a, const char *b);
/* One term; NULL, or why it is not valid. */
const char *ssd_spf_parse_term(apr_pool_t *p, const char *text, term_t *t);
/* The terms after the version; NULL, or the syntax error found (also
 * for a record over SSD_SPF_MAX_RECORD bytes or SSD_SPF_MAX_TERMS terms). */
const char *ssd_spf_parse(apr_pool_t *p, const char *rec,
                          apr_array_header_t **terms);
/* ssd_spf_parse on a TXT string of len bytes: a NUL byte is an error. */
const char *ssd_spf_parse_txt(apr_pool_t *p, const char *data, apr_size_t len,
                              apr_array_header_t **terms);

#endif
