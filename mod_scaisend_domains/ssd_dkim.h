/* ssd_dkim: DKIM key pairs -- generation, public record value, wrapping of
 * the private part at rest (AES-256-GCM under the key-encryption key).
 * Private key material never leaves this unit in clear text form. */
#ifndef SSD_DKIM_H
#define SSD_DKIM_H

#include <apr_pools.h>
#include <openssl/evp.h>

#define SSD_KEK_LEN 32

/* Generate an RSA key of `bits` bits; the key is freed by a cleanup on p. */
apr_status_t ssd_dkim_generate(apr_pool_t *p, int bits, EVP_PKEY **out);

/* Base64 of the DER SubjectPublicKeyInfo (the p= tag of the DKIM record). */
const char *ssd_dkim_public_b64(apr_pool_t *p, EVP_PKEY *key);

/* Size in bits of the key. */
int ssd_dkim_bits(EVP_PKEY *key);

/* Wrap the private key: "v1:" + base64(nonce | ciphertext | tag), with
 * domain_id and selector bound in as associated data. */
apr_status_t ssd_dkim_wrap(apr_pool_t *p, const unsigned char *kek,
                           EVP_PKEY *key, const char *domain_id,
                           const char *selector, const char **wrapped);

/* Unwrap what ssd_dkim_wrap produced; fails (APR_EGENERAL) when the data,
 * the key-encryption key, the domain id or the selector differ. */
apr_status_t ssd_dkim_unwrap(apr_pool_t *p, const unsigned char *kek,
                             const char *wrapped, const char *domain_id,
                             const char *selector, EVP_PKEY **out);

/* Read a key-encryption key file: exactly SSD_KEK_LEN bytes, readable by
 * its owner and group only. Returns NULL or an error message; the key
 * lives in a page of its own (locked when allowed, never in a core dump)
 * and is wiped when p is cleared. */
const char *ssd_dkim_read_kek(apr_pool_t *p, const char *path,
                              unsigned char **kek);

/* OpenSSL's secure heap (locked, left out of core dumps), where private
 * keys' numbers and their unwrapped DER live; once per process, before
 * any key is parsed. */
#define SSD_SECURE_HEAP (8 * 1024 * 1024)
void ssd_dkim_secure_heap(void);

#endif
