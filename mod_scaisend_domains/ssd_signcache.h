/* ssd_signcache: the signing decisions of one process (api.md section 10),
 * so that a message whose From: domain signed a moment ago does not ask
 * the database again. An entry is what one decision query concluded for
 * (partner, tenant, From: domain) when it allowed signing: the domain and
 * its signing keys (selector, algorithm, the sealed key). It is used
 * only while the database has committed no change since it was read
 * (changes: a counter that every process using the database moves after
 * each commit, read before the query) and for at most ttl after it was
 * read. Bounded; thread-safe (one mutex around the table; the caller gets
 * its own copy). */
#ifndef SSD_SIGNCACHE_H
#define SSD_SIGNCACHE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

typedef struct ssd_signcache ssd_signcache_t;

typedef struct {
    const char *domain_id;
    const char *domain;             /* the d= of the signatures */
    apr_array_header_t *keys;       /* ssd_dkim_key_t *: the keys that sign */
} ssd_signing_t;

/* A cache of at most max decisions in p, each kept for ttl; NULL when it
 * cannot be made. */
ssd_signcache_t *ssd_signcache_create(apr_pool_t *p, int max,
                                      apr_interval_time_t ttl);

/* The name of a decision: who asks (partner, tenant or NULL) and the
 * From: domain. */
const char *ssd_signcache_name(apr_pool_t *p, const char *partner_id,
                               const char *tenant_id, const char *domain);

/* The decision of name read at changes, copied into p (its keys carry
 * selector, algorithm and wrapped_key); 0 when there is none, it is older
 * than ttl at now, or the database changed since. */
int ssd_signcache_get(ssd_signcache_t *c, apr_pool_t *p, const char *name,
                      apr_uint64_t changes, apr_time_t now,
                      ssd_signing_t *out);

/* Keep the decision of name, read from the database when the counter of
 * changes stood at changes, at now. */
void ssd_signcache_put(ssd_signcache_t *c, const char *name,
                       apr_uint64_t changes, apr_time_t now,
                       const ssd_signing_t *in);

int ssd_signcache_size(ssd_signcache_t *c);

#endif
