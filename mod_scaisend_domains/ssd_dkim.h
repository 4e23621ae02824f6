/* ssd_dkim: DKIM key pairs -- generation, public record value, wrapping of
 * the private part at rest (AES-256-GCM under the key-encryption key).
 * Private key material never leaves this unit in clear text form. */
#ifndef SSD_DKIM_H
#define SSD_DKIM_H

#include <apr_pools.h>
#include <openssl/evp.h>

#define SSD_KEK_LEN 32

/* The signing algorithms, by their a= names (RFC 6376, RFC 8463). */
typedef enum { SSD_DKIM_RSA = 0, SSD_DKIM_ED25519 = 1 } ssd_dkim_alg_t;
#define SSD_DKIM_ALG_COUNT 2
#define SSD_DKIM_RSA_NAME "rsa-sha256"
#define SSD_DKIM_ED25519_NAME "ed25519-sha256"
/* an Ed25519 key's selector is its RSA twin's with this suffix */
#define SSD_DKIM_ED25519_SUFFIX "-ed25519"
#define SSD_DKIM_ED25519_BITS 256

/* "rsa-sha256" | "ed25519-sha256" */
const char *ssd_dkim_alg_name(ssd_dkim_alg_t alg);
/* The k= of the key record: "rsa" | "ed25519". */
const char *ssd_dkim_alg_k(ssd_dkim_alg_t alg);
/* The algorithm of an a= name; -1 when unknown. NULL reads as RSA (keys
 * stored before Ed25519). */
int ssd_dkim_alg_parse(const char *name, ssd_dkim_alg_t *alg);
ssd_dkim_alg_t ssd_dkim_alg_of(const char *name);
/* "<selector>-ed25519" */
const char *ssd_dkim_twin_selector(apr_pool_t *p, const char *rsa_selector);

/* A domain's set of algorithms: a bit per ssd_dkim_alg_t. Stored and
 * configured as names separated by commas, RSA first. */
#define SSD_DKIM_ALG_BIT(alg) (1u << (alg))
unsigned ssd_dkim_algs_parse(const char *text);
const char *ssd_dkim_algs_text(apr_pool_t *p, unsigned algs);

/* Generate a key (RSA of `bits` bits, or Ed25519); freed by a cleanup on
 * p. */
apr_status_t ssd_dkim_generate(apr_pool_t *p, ssd_dkim_alg_t alg, int bits,
                               EVP_PKEY **out);

/* The p= of the key record: base64 of the DER SubjectPublicKeyInfo for
 * RSA, of the 32 raw bytes for Ed25519 (RFC 8463 section 4.2). */
const char *ssd_dkim_public_b64(apr_pool_t *p, EVP_PKEY *key);

/* The algorithm of a key. */
ssd_dkim_alg_t ssd_dkim_key_alg(EVP_PKEY *key);

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
