/* ssd_keymaker: the keys a create, a rotation or a PATCH of
 * dkim_algorithms makes, for selectors chosen inside the store's
 * transaction. The RSA key is generated beforehand (up to a second of CPU,
 * while no connection or lock is held); an Ed25519 key takes microseconds
 * and is generated when asked for. Each key is wrapped for its own
 * selector (ssd_dkim_wrap). */
#ifndef SSD_KEYMAKER_H
#define SSD_KEYMAKER_H

#include "ssd_dkim.h"
#include "ssd_model.h"

typedef struct {
    apr_pool_t *pool;
    const unsigned char *kek;
    const char *domain_id;
    int rsa_bits;
    EVP_PKEY *rsa;              /* set by ssd_keymaker_generate_rsa */
} ssd_keymaker_t;

/* Generate the RSA key now. */
apr_status_t ssd_keymaker_generate_rsa(ssd_keymaker_t *m);

/* An ssd_keymaker_fn (ssd_store.h) on an ssd_keymaker_t: sets k's
 * algorithm, bits, public_key and wrapped_key; 0, or -1 (no RSA key made
 * beforehand, or a crypto failure). */
int ssd_keymaker_make(void *baton, ssd_dkim_alg_t alg, const char *selector,
                      ssd_dkim_key_t *k);

#endif
