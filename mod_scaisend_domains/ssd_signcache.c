/* ssd_signcache: a bounded table of signing decisions, each valid while
 * the database's change counter stands where it stood when the decision
 * was read, and for at most ttl. */
#include "ssd_signcache.h"
#include "ssd_model.h"

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#define MAX_KEYS 4              /* a domain signs with one key per algorithm */

typedef struct {
    char *selector, *algorithm, *wrapped;
} cached_key_t;

typedef struct {
    char *name;                 /* in the table */
    apr_uint64_t changes;
    apr_time_t read_at;
    char *domain_id, *domain;
    int nkeys;
    cached_key_t keys[MAX_KEYS];
} entry_t;

struct ssd_signcache {
    apr_thread_mutex_t *lock;
    apr_hash_t *entries;        /* name -> entry_t* */
    int max;
    apr_interval_time_t ttl;
};

static void free_entry(entry_t *e)
{
    int i;

    for (i = 0; i < e->nkeys; i++) {
        free(e->keys[i].selector);
        free(e->keys[i].algorithm);
        free(e->keys[i].wrapped);
    }
    free(e->domain_id);
    free(e->domain);
    free(e->name);
    free(e);
}

static void drop(ssd_signcache_t *c, entry_t *e)
{
    apr_hash_set(c->entries, e->name, APR_HASH_KEY_STRING, NULL);
    free_entry(e);
}

static apr_status_t drop_all(void *data)
{
    ssd_signcache_t *c = data;
    apr_hash_index_t *hi;

    while ((hi = apr_hash_first(NULL, c->entries))) {
        drop(c, apr_hash_this_val(hi));
    }
    return APR_SUCCESS;
}

ssd_signcache_t *ssd_signcache_create(apr_pool_t *p, int max,
                                      apr_interval_time_t ttl)
{
    ssd_signcache_t *c = apr_pcalloc(p, sizeof(*c));

    if (max <= 0 || apr_thread_mutex_create(&c->lock,
                                            APR_THREAD_MUTEX_DEFAULT, p)
                    != APR_SUCCESS) {
        return NULL;
    }
    c->entries = apr_hash_make(p);
    c->max = max;
    c->ttl = ttl;
    apr_pool_cleanup_register(p, c, drop_all, apr_pool_cleanup_null);
    return c;
}

const char *ssd_signcache_name(apr_pool_t *p, const char *partner_id,
                               const char *tenant_id, const char *domain)
{
    const char *t = tenant_id ? tenant_id : "";

    /* lengths first: no partner or tenant id can pass for another */
    return apr_psprintf(p, "%" APR_SIZE_T_FMT ":%s%" APR_SIZE_T_FMT ":%s%s",
                        strlen(partner_id), partner_id, strlen(t), t, domain);
}

static int is_current(const ssd_signcache_t *c, const entry_t *e,
                      apr_uint64_t changes, apr_time_t now)
{
    return e->changes == changes && now >= e->read_at
           && now - e->read_at < c->ttl;
}

static void copy_out(apr_pool_t *p, const entry_t *e, ssd_signing_t *out)
{
    int i;

    out->domain_id = apr_pstrdup(p, e->domain_id);
    out->domain = apr_pstrdup(p, e->domain);
    out->keys = apr_array_make(p, e->nkeys, sizeof(ssd_dkim_key_t *));
    for (i = 0; i < e->nkeys; i++) {
        ssd_dkim_key_t *k = apr_pcalloc(p, sizeof(*k));

        k->domain_id = out->domain_id;
        k->state = "active";
        k->selector = apr_pstrdup(p, e->keys[i].selector);
        k->algorithm = apr_pstrdup(p, e->keys[i].algorithm);
        k->wrapped_key = apr_pstrdup(p, e->keys[i].wrapped);
        APR_ARRAY_PUSH(out->keys, ssd_dkim_key_t *) = k;
    }
}

int ssd_signcache_get(ssd_signcache_t *c, apr_pool_t *p, const char *name,
                      apr_uint64_t changes, apr_time_t now,
                      ssd_signing_t *out)
{
    entry_t *e;
    int found = 0;

    if (!c) {
        return 0;
    }
    apr_thread_mutex_lock(c->lock);
    e = apr_hash_get(c->entries, name, APR_HASH_KEY_STRING);
    if (e && is_current(c, e, changes, now)) {
        copy_out(p, e, out);
        found = 1;
    }
    else if (e) {
        drop(c, e);
    }
    apr_thread_mutex_unlock(c->lock);
    return found;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The entry of in, or NULL (out of memory, a key without its parts). */
static entry_t *new_entry(const char *name, apr_uint64_t changes,
                          apr_time_t now, const ssd_signing_t *in)
{
    entry_t *e = calloc(1, sizeof(*e));
    int i, ok;

    if (!e) {
        return NULL;
    }
    e->changes = changes;
    e->read_at = now;
    e->name = dup_or_null(name);
    e->domain_id = dup_or_null(in->domain_id);
    e->domain = dup_or_null(in->domain);
    ok = e->name && e->domain_id && e->domain;
    for (i = 0; ok && i < in->keys->nelts; i++) {
        const ssd_dkim_key_t *k = APR_ARRAY_IDX(in->keys, i,
                                                ssd_dkim_key_t *);
        cached_key_t *dst = &e->keys[e->nkeys++];

        dst->selector = dup_or_null(k->selector);
        dst->algorithm = dup_or_null(k->algorithm);
        dst->wrapped = dup_or_null(k->wrapped_key);
        ok = dst->selector && dst->algorithm && dst->wrapped;
    }
    if (!ok) {
        free_entry(e);
        return NULL;
    }
    return e;
}

/* Room for one more: drop what is no longer current, else everything
 * (bounded, and rare: max decisions within one ttl). */
static void make_room(ssd_signcache_t *c, apr_uint64_t changes,
                      apr_time_t now)
{
    apr_hash_index_t *hi;

    if ((int)apr_hash_count(c->entries) < c->max) {
        return;
    }
    for (hi = apr_hash_first(NULL, c->entries); hi; hi = apr_hash_next(hi)) {
        entry_t *e = apr_hash_this_val(hi);

        if (!is_current(c, e, changes, now)) {
            drop(c, e);         /* apr_hash allows removing the current one */
        }
    }
    if ((int)apr_hash_count(c->entries) >= c->max) {
        drop_all(c);
    }
}

void ssd_signcache_put(ssd_signcache_t *c, const char *name,
                       apr_uint64_t changes, apr_time_t now,
                       const ssd_signing_t *in)
{
    entry_t *e, *old;

    if (!c || !in->keys || in->keys->nelts == 0
        || in->keys->nelts > MAX_KEYS
        || !(e = new_entry(name, changes, now, in))) {
        return;
    }
    apr_thread_mutex_lock(c->lock);
    if ((old = apr_hash_get(c->entries, name, APR_HASH_KEY_STRING))) {
        drop(c, old);
    }
    make_room(c, changes, now);
    apr_hash_set(c->entries, e->name, APR_HASH_KEY_STRING, e);
    apr_thread_mutex_unlock(c->lock);
}

int ssd_signcache_size(ssd_signcache_t *c)
{
    int n;

    if (!c) {
        return 0;
    }
    apr_thread_mutex_lock(c->lock);
    n = (int)apr_hash_count(c->entries);
    apr_thread_mutex_unlock(c->lock);
    return n;
}
