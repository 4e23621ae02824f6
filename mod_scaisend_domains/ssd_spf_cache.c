/* ssd_spf_cache: one answer per (type, name) for a whole SPF check, so
 * that evaluating several addresses asks the DNS once per name (and a
 * lookup that timed out is not waited for again). */
#include "ssd_spf_eval.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

struct ssd_spf_cache {
    apr_pool_t *p;
    ssd_spf_lookup_t inner;
    apr_hash_t *answers;        /* "T name" -> ssd_txt_answer_t or
                                   ssd_rr_answer_t */
    int calls;
};

static const char *key(apr_pool_t *p, char type, const char *name)
{
    apr_size_t len = strlen(name);
    char *k, *c;

    len -= len > 1 && name[len - 1] == '.';
    k = apr_palloc(p, len + 3);
    k[0] = type;
    k[1] = ' ';
    memcpy(k + 2, name, len);
    k[len + 2] = '\0';
    for (c = k + 2; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return k;
}

static ssd_dns_rc cached_txt(void *baton, apr_pool_t *p, const char *name,
                             ssd_txt_answer_t *out)
{
    ssd_spf_cache_t *c = baton;
    const char *k = key(c->p, 'T', name);
    ssd_txt_answer_t *a = apr_hash_get(c->answers, k, APR_HASH_KEY_STRING);

    (void)p;
    if (!a) {
        a = apr_pcalloc(c->p, sizeof(*a));
        c->calls++;
        c->inner.txt(c->inner.baton, c->p, name, a);
        if (!a->txts) {
            a->txts = apr_array_make(c->p, 1, sizeof(ssd_txt_t));
        }
        apr_hash_set(c->answers, k, APR_HASH_KEY_STRING, a);
    }
    *out = *a;
    return out->rc;
}

static ssd_dns_rc cached_rr(ssd_spf_cache_t *c, char type, ssd_rr_fetch_fn fn,
                            const char *name, ssd_rr_answer_t *out)
{
    const char *k = key(c->p, type, name);
    ssd_rr_answer_t *a = apr_hash_get(c->answers, k, APR_HASH_KEY_STRING);

    if (!a) {
        a = apr_pcalloc(c->p, sizeof(*a));
        c->calls++;
        fn(c->inner.baton, c->p, name, a);
        a->ips = a->ips ? a->ips : apr_array_make(c->p, 1, sizeof(ssd_ip_t));
        a->names = a->names ? a->names
                            : apr_array_make(c->p, 1, sizeof(const char *));
        apr_hash_set(c->answers, k, APR_HASH_KEY_STRING, a);
    }
    *out = *a;
    out->ips = apr_array_copy(c->p, a->ips);        /* callers may cut */
    out->names = apr_array_copy(c->p, a->names);
    return out->rc;
}

#define CACHED(fn, letter, field)                                         \
    static ssd_dns_rc fn(void *baton, apr_pool_t *p, const char *name,    \
                         ssd_rr_answer_t *out)                            \
    {                                                                     \
        ssd_spf_cache_t *c = baton;                                       \
        (void)p;                                                          \
        return cached_rr(c, letter, c->inner.field, name, out);           \
    }

CACHED(cached_a, 'A', a)
CACHED(cached_aaaa, '6', aaaa)
CACHED(cached_mx, 'M', mx)
CACHED(cached_ptr, 'P', ptr)

ssd_spf_cache_t *ssd_spf_cache_new(apr_pool_t *p,
                                   const ssd_spf_lookup_t *inner,
                                   ssd_spf_lookup_t *outer)
{
    ssd_spf_cache_t *c = apr_pcalloc(p, sizeof(*c));

    c->p = p;
    c->inner = *inner;
    c->answers = apr_hash_make(p);
    outer->txt = cached_txt;
    outer->a = cached_a;
    outer->aaaa = cached_aaaa;
    outer->mx = cached_mx;
    outer->ptr = cached_ptr;
    outer->baton = c;
    return c;
}

int ssd_spf_cache_calls(const ssd_spf_cache_t *c)
{
    return c->calls;
}
