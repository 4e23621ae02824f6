/* ssd_keymaker: keys made for selectors chosen in a transaction. */
#include "ssd_keymaker.h"

apr_status_t ssd_keymaker_generate_rsa(ssd_keymaker_t *m)
{
    return ssd_dkim_generate(m->pool, SSD_DKIM_RSA, m->rsa_bits, &m->rsa);
}

int ssd_keymaker_make(void *baton, ssd_dkim_alg_t alg, const char *selector,
                      ssd_dkim_key_t *k)
{
    ssd_keymaker_t *m = baton;
    EVP_PKEY *key = alg == SSD_DKIM_RSA ? m->rsa : NULL;

    if (alg == SSD_DKIM_ED25519
        && ssd_dkim_generate(m->pool, alg, 0, &key) != APR_SUCCESS) {
        return -1;
    }
    if (!key || ssd_dkim_wrap(m->pool, m->kek, key, m->domain_id, selector,
                              &k->wrapped_key) != APR_SUCCESS
        || !(k->public_key = ssd_dkim_public_b64(m->pool, key))) {
        return -1;
    }
    k->algorithm = ssd_dkim_alg_name(alg);
    k->bits = ssd_dkim_bits(key);
    return 0;
}
