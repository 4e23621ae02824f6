/* ssd_keycache: the unwrapped DKIM private keys of one process (api.md
 * section 10), so that signing does not open and parse a key for every
 * message. Bounded (the least recently used entry goes first), wiped when
 * an entry goes: OpenSSL clears a private key's numbers when it is freed,
 * and they live in its secure heap. Thread-safe: one mutex around the
 * table only, never around unwrapping or signing. An entry is a key
 * version -- (domain id, selector) never names another key -- so a key
 * that stopped being a domain's signing key is never used again: the
 * signing request's own query names the active selectors; and an entry
 * not used for ttl is dropped (the longest a key no longer used stays in
 * memory). */
#ifndef SSD_KEYCACHE_H
#define SSD_KEYCACHE_H

#include <apr_pools.h>
#include <apr_time.h>
#include <openssl/evp.h>

typedef struct ssd_keycache ssd_keycache_t;

/* A cache of at most max entries in p (0: off, every get unwraps), its
 * keys freed with p. NULL when it cannot be made. */
ssd_keycache_t *ssd_keycache_create(apr_pool_t *p, int max,
                                    apr_interval_time_t ttl);

typedef struct {
    const char *domain_id;
    const char *selector;
    const char *wrapped;            /* ssd_dkim_wrap's text */
    const unsigned char *kek;
} ssd_keyref_t;

/* The private key of ref, from the cache or unwrapped (and cached); the
 * caller holds a reference until p goes. *hit says which. On a hit of an
 * RSA key, *prepared is the caller's own copy of the entry's ready signing
 * context (ssd_sign_prepare; freed with p), else NULL. NULL when the key
 * does not open. */
EVP_PKEY *ssd_keycache_get(ssd_keycache_t *c, apr_pool_t *p,
                           const ssd_keyref_t *ref, int *hit,
                           EVP_PKEY_CTX **prepared);

/* Drop the entries of a domain other than its current selectors (NULL-
 * terminated): they are no longer its signing keys. */
void ssd_keycache_keep_only(ssd_keycache_t *c, const char *domain_id,
                            const char *const *selectors);

int ssd_keycache_size(ssd_keycache_t *c);

#endif
