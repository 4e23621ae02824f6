/* ssd_keycache: a bounded table of unwrapped keys with LRU eviction and an
 * idle lifetime. */
#include "ssd_keycache.h"
#include "ssd_dkim.h"
#include "ssd_sign.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

typedef struct {
    char *name;                 /* "<domain id>/<selector>", in the table */
    apr_size_t domain_len;      /* of the domain id in name */
    EVP_PKEY *key;
    EVP_PKEY_CTX *prepared;     /* ssd_sign_prepare's, or NULL */
    apr_time_t used;
} entry_t;

struct ssd_keycache {
    apr_pool_t *pool;
    apr_thread_mutex_t *lock;
    apr_hash_t *entries;        /* name -> entry_t* */
    int max;
    apr_interval_time_t ttl;
    apr_time_t next_sweep;
};

static void drop(ssd_keycache_t *c, entry_t *e)
{
    apr_hash_set(c->entries, e->name, APR_HASH_KEY_STRING, NULL);
    EVP_PKEY_CTX_free(e->prepared);
    EVP_PKEY_free(e->key);          /* clears the private numbers */
    free(e->name);
    free(e);
}

static apr_status_t drop_all(void *data)
{
    ssd_keycache_t *c = data;
    apr_hash_index_t *hi;

    while ((hi = apr_hash_first(NULL, c->entries))) {
        drop(c, apr_hash_this_val(hi));
    }
    return APR_SUCCESS;
}

ssd_keycache_t *ssd_keycache_create(apr_pool_t *p, int max,
                                    apr_interval_time_t ttl)
{
    ssd_keycache_t *c = apr_pcalloc(p, sizeof(*c));

    c->pool = p;
    c->max = max;
    c->ttl = ttl;
    c->entries = apr_hash_make(p);
    if (apr_thread_mutex_create(&c->lock, APR_THREAD_MUTEX_DEFAULT, p)
        != APR_SUCCESS) {
        return NULL;
    }
    apr_pool_cleanup_register(p, c, drop_all, apr_pool_cleanup_null);
    return c;
}

static apr_status_t unref(void *key)
{
    EVP_PKEY_free(key);
    return APR_SUCCESS;
}

static apr_status_t ctx_free(void *ctx)
{
    EVP_PKEY_CTX_free(ctx);
    return APR_SUCCESS;
}

/* The caller's own copy of a prepared context (freed with p), or NULL. */
static EVP_PKEY_CTX *lend_ctx(apr_pool_t *p, EVP_PKEY_CTX *prepared)
{
    EVP_PKEY_CTX *ctx = prepared ? EVP_PKEY_CTX_dup(prepared) : NULL;

    if (ctx) {
        apr_pool_cleanup_register(p, ctx, ctx_free, apr_pool_cleanup_null);
    }
    return ctx;
}

/* Entries idle for the ttl go, at most once per ttl. */
static void sweep(ssd_keycache_t *c, apr_time_t now)
{
    apr_hash_index_t *hi, *next;

    if (now < c->next_sweep) {
        return;
    }
    for (hi = apr_hash_first(NULL, c->entries); hi; hi = next) {
        entry_t *e = apr_hash_this_val(hi);

        next = apr_hash_next(hi);
        if (now - e->used > c->ttl) {
            drop(c, e);
        }
    }
    c->next_sweep = now + c->ttl;
}

/* Room for one more: the least recently used entry goes. */
static void make_room(ssd_keycache_t *c)
{
    apr_hash_index_t *hi;
    entry_t *oldest = NULL;

    if ((int)apr_hash_count(c->entries) < c->max) {
        return;
    }
    for (hi = apr_hash_first(NULL, c->entries); hi; hi = apr_hash_next(hi)) {
        entry_t *e = apr_hash_this_val(hi);

        if (!oldest || e->used < oldest->used) {
            oldest = e;
        }
    }
    if (oldest) {
        drop(c, oldest);
    }
}

/* A key the caller owns one reference of until p goes. */
static EVP_PKEY *lend(apr_pool_t *p, EVP_PKEY *key)
{
    EVP_PKEY_up_ref(key);
    apr_pool_cleanup_register(p, key, unref, apr_pool_cleanup_null);
    return key;
}

static EVP_PKEY *lookup(ssd_keycache_t *c, apr_pool_t *p, const char *name,
                        EVP_PKEY_CTX **prepared)
{
    entry_t *e;
    EVP_PKEY *key = NULL;
    apr_time_t now = apr_time_now();

    apr_thread_mutex_lock(c->lock);
    sweep(c, now);
    if ((e = apr_hash_get(c->entries, name, APR_HASH_KEY_STRING))) {
        e->used = now;
        key = lend(p, e->key);
        *prepared = lend_ctx(p, e->prepared);
    }
    apr_thread_mutex_unlock(c->lock);
    return key;
}

/* A new entry (malloc'd: it outlives requests), or NULL. */
static entry_t *new_entry(const char *name, apr_size_t dlen, EVP_PKEY *key)
{
    entry_t *e = calloc(1, sizeof(*e));

    if (e && !(e->name = strdup(name))) {
        free(e);
        return NULL;
    }
    if (e) {
        EVP_PKEY_up_ref(key);
        e->key = key;
        e->prepared = ssd_sign_prepare(key);
        e->domain_len = dlen;
        e->used = apr_time_now();
    }
    return e;
}

static void insert(ssd_keycache_t *c, const char *name, apr_size_t dlen,
                   EVP_PKEY *key)
{
    entry_t *e;

    apr_thread_mutex_lock(c->lock);
    if (!apr_hash_get(c->entries, name, APR_HASH_KEY_STRING)
        && (e = new_entry(name, dlen, key))) {
        make_room(c);
        apr_hash_set(c->entries, e->name, APR_HASH_KEY_STRING, e);
    }
    apr_thread_mutex_unlock(c->lock);
}

EVP_PKEY *ssd_keycache_get(ssd_keycache_t *c, apr_pool_t *p,
                           const ssd_keyref_t *ref, int *hit,
                           EVP_PKEY_CTX **prepared)
{
    const char *name = apr_pstrcat(p, ref->domain_id, "/", ref->selector,
                                   NULL);
    EVP_PKEY *key;

    *prepared = NULL;
    key = c && c->max > 0 ? lookup(c, p, name, prepared) : NULL;
    *hit = key != NULL;
    if (key) {
        return key;
    }
    /* unwrapped outside the lock: a miss does not hold up other keys */
    if (ssd_dkim_unwrap(p, ref->kek, ref->wrapped, ref->domain_id,
                        ref->selector, &key) != APR_SUCCESS) {
        return NULL;
    }
    if (c && c->max > 0) {
        insert(c, name, strlen(ref->domain_id), key);
    }
    return key;
}

static int is_current(const entry_t *e, const char *const *selectors)
{
    const char *sel = e->name + e->domain_len + 1;

    for (; *selectors; selectors++) {
        if (strcmp(sel, *selectors) == 0) {
            return 1;
        }
    }
    return 0;
}

void ssd_keycache_keep_only(ssd_keycache_t *c, const char *domain_id,
                            const char *const *selectors)
{
    apr_hash_index_t *hi, *next;
    apr_size_t dlen = strlen(domain_id);

    if (!c || c->max <= 0) {
        return;
    }
    apr_thread_mutex_lock(c->lock);
    for (hi = apr_hash_first(NULL, c->entries); hi; hi = next) {
        entry_t *e = apr_hash_this_val(hi);

        next = apr_hash_next(hi);
        if (e->domain_len == dlen && !strncmp(e->name, domain_id, dlen)
            && !is_current(e, selectors)) {
            drop(c, e);
        }
    }
    apr_thread_mutex_unlock(c->lock);
}

int ssd_keycache_size(ssd_keycache_t *c)
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
