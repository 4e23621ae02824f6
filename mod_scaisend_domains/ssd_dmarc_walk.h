/* ssd_dmarc_walk: the DNS Tree Walk of RFC 9989 section 4.10, which
 * replaces the Public Suffix List for DMARC: the Organizational Domain of
 * a name (section 4.10.2) and the record receivers apply to a name that
 * publishes none (section 4.10.1). The lookups go through a per-check
 * cache over the check's fetch function, so a name is asked once however
 * many walks pass it, and each real lookup counts in *lookups. */
#ifndef SSD_DMARC_WALK_H
#define SSD_DMARC_WALK_H

#include <apr_pools.h>
#include "ssd_dns.h"

/* A walk queries at most 8 names: the name, then (section 4.10 step 4)
 * its parent, or its last 7 labels when it has 8 or more, and so on up to
 * the top-level domain. */
#define SSD_DMARC_WALK_MAX 8

typedef struct ssd_dmarc_dns ssd_dmarc_dns_t;

ssd_dmarc_dns_t *ssd_dmarc_dns_new(apr_pool_t *p, ssd_txt_fetch_fn fetch,
                                   void *baton, int *lookups);
/* An answer already fetched (and counted) by the caller. */
void ssd_dmarc_dns_seed(ssd_dmarc_dns_t *c, const char *name,
                        const ssd_txt_answer_t *ans);
/* The TXT answer at name: from the cache, or fetched once. */
const ssd_txt_answer_t *ssd_dmarc_dns_txt(ssd_dmarc_dns_t *c,
                                          const char *name);
/* 1 the first time it is asked for name, then 0 (one warning a name). */
int ssd_dmarc_dns_first_warning(ssd_dmarc_dns_t *c, const char *name);

/* The names a walk from name queries (pointers into name), their count. */
int ssd_dmarc_walk_names(const char *name,
                         const char *names[SSD_DMARC_WALK_MAX]);

typedef struct {
    const char *org;        /* the Organizational Domain (section 4.10.2) */
    const char *found_at;   /* the domain whose record receivers apply to
                               the name (section 4.10.1), or NULL */
    const char *record;     /* that record (NUL-terminated), or NULL */
    apr_size_t record_len;
    int from_psd;           /* found_at is a Public Suffix Domain (psd=y)
                               and the Organizational Domain has none */
    ssd_dns_rc temp_rc;     /* SSD_DNS_OK, or the temporary failure that
                               ended the walk ... */
    const char *temp_name;  /* ... at this _dmarc name */
} ssd_dmarc_walk_t;

/* Walk from name (absolute, lower case, no trailing dot). 0 when out is
 * filled; -1 when a lookup failed temporarily (temp_rc, temp_name). */
int ssd_dmarc_walk(ssd_dmarc_dns_t *c, const char *name,
                   ssd_dmarc_walk_t *out);

#endif
