/* ssd_sign: DKIM signing (RFC 6376) of a message that streams in --
 * rsa-sha256 and ed25519-sha256 (RFC 8463), relaxed/relaxed; the body is
 * hashed once as it arrives, only the header section is kept, and every
 * signature of the message reuses both. Malformed messages are refused,
 * never signed. */
#ifndef SSD_SIGN_H
#define SSD_SIGN_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <openssl/evp.h>

typedef struct ssd_signer ssd_signer_t;

/* At most this many header fields in a message (api.md section 11). */
#define SSD_SIGN_MAX_FIELDS 1000

typedef struct {
    const char *code;       /* bare_lf, bare_cr, eight_bit_header,
                               invalid_message (a NUL byte),
                               malformed_header, header_too_large,
                               too_many_header_fields, no_from,
                               multiple_from, invalid_from */
    const char *message;
} ssd_sign_error_t;

/* Fetch the digests once per process (after which no signature fetches
 * an algorithm); without it signing still works, fetching each time. */
void ssd_signer_init(void);

/* A signer whose digest is released by a cleanup on p. */
ssd_signer_t *ssd_signer_new(apr_pool_t *p, apr_size_t max_header_bytes);

/* Feed the next bytes of the message; 0, or -1 and err filled. */
int ssd_signer_feed(ssd_signer_t *s, const char *buf, apr_size_t len,
                    ssd_sign_error_t *err);

/* The message is complete: check its headers; 0, or -1 and err filled. */
int ssd_signer_finish(ssd_signer_t *s, ssd_sign_error_t *err);

/* The domain of the From: address (as written; normalise it). */
const char *ssd_signer_from_domain(const ssd_signer_t *s);

/* The fields signed by default, in h= order (const char *, lower case):
 * from, to, cc, subject, date, message-id, reply-to, mime-version,
 * content-type, list-unsubscribe (api.md section 6). */
apr_array_header_t *ssd_sign_default_headers(apr_pool_t *p);

typedef struct {
    const char *d;
    const char *selector;
    apr_time_t when;                /* t= */
    apr_int64_t ttl_s;              /* x= is t= plus this; 0: no x= */
    const apr_array_header_t *headers;  /* the fields to sign; NULL: the
                                           default. from is over-signed
                                           (listed once more than it
                                           occurs) */
    EVP_PKEY_CTX *prepared;         /* ssd_sign_prepare's context of the
                                       key (its own copy), or NULL */
} ssd_sign_params_t;

/* A signing context of an RSA key made ready once -- PKCS#1 v1.5 over a
 * SHA-256 digest -- so that a signature need not look the algorithm up
 * again (OpenSSL's fetch in EVP_DigestSignInit); NULL for other keys or
 * on failure. A thread signs with its own EVP_PKEY_CTX_dup of it. */
EVP_PKEY_CTX *ssd_sign_prepare(EVP_PKEY *key);

/* The header field "DKIM-Signature: v=1; a=...; ..." signed with key --
 * rsa-sha256 or ed25519-sha256 after the key's type; never l=. NULL on a
 * crypto failure. */
const char *ssd_signer_sign(ssd_signer_t *s, EVP_PKEY *key,
                            const ssd_sign_params_t *sp);

#endif
