/* fuzz_sign: the signer -- header section, From: parser, relaxed
 * canonicalisation -- and the signature header, with an RSA key made once
 * per process. Input: byte 0 seeds the chunk sizes, byte 1 below 32 caps
 * the header section at 16 * (byte + 1) bytes (else 256 KiB, as the glue
 * does), the rest is the message. The message is fed whole to one signer
 * and in chunks to another: both must agree (same refusal, or same body
 * hash and From: domain); an accepted message is signed and its From:
 * domain normalised as POST /api/admin/dkim/sign does. */
#include "harness.h"

#include <string.h>

#include "ssd_dkim.h"
#include "ssd_domain.h"
#include "ssd_sign.h"
#include "ssd_sign_internal.h"

#define GLUE_MAX_HEADER (256 * 1024)    /* mod_scaisend_domains_sign.c */

/* An RSA key and an Ed25519 key, made once. */
static EVP_PKEY *signing_key(ssd_dkim_alg_t alg)
{
    static apr_pool_t *forever;
    static EVP_PKEY *keys[SSD_DKIM_ALG_COUNT];

    if (!forever) {
        forever = fuzz_pool();      /* lives until apr_terminate */
        FUZZ_ASSERT(ssd_domain_init(forever) == APR_SUCCESS);
        FUZZ_ASSERT(ssd_dkim_generate(forever, SSD_DKIM_RSA, 1024,
                                      &keys[SSD_DKIM_RSA]) == APR_SUCCESS);
        FUZZ_ASSERT(ssd_dkim_generate(forever, SSD_DKIM_ED25519, 0,
                                      &keys[SSD_DKIM_ED25519])
                    == APR_SUCCESS);
    }
    return keys[alg];
}

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/* Feed msg in chunks (seed) or whole (seed 0); the error code or NULL. */
static const char *run(ssd_signer_t *s, const char *msg, size_t len,
                       uint32_t seed)
{
    ssd_sign_error_t err;
    size_t off, n;

    FUZZ_ASSERT(s != NULL);
    for (off = 0; off < len; off += n) {
        n = len - off;
        if (seed) {
            uint32_t r = next(&seed);

            n = 1 + r % ((r & 0x100) ? 4096 : 16);
            n = n < len - off ? n : len - off;
        }
        if (ssd_signer_feed(s, msg + off, n, &err) != 0) {
            FUZZ_ASSERT(err.code && err.message);
            return err.code;
        }
    }
    if (ssd_signer_finish(s, &err) != 0) {
        FUZZ_ASSERT(err.code && err.message);
        return err.code;
    }
    FUZZ_ASSERT(ssd_signer_from_domain(s) != NULL);
    return NULL;
}

static int header_text(const char *h)
{
    for (; *h; h++) {
        unsigned char c = (unsigned char)*h;

        if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static void sign(apr_pool_t *p, ssd_signer_t *s)
{
    ssd_domain_name_t d;
    ssd_sign_params_t sp = {FUZZ_DOMAIN, FUZZ_SELECTOR,
                            apr_time_from_sec(1700000000), 0, NULL, NULL};
    const char *h;
    int alg;

    if (!ssd_domain_normalise(p, ssd_signer_from_domain(s), NULL, NULL, &d)) {
        sp.d = d.domain;
    }
    /* both algorithms over one signer: each signature resets h='s state */
    for (alg = 0; alg < SSD_DKIM_ALG_COUNT; alg++) {
        h = ssd_signer_sign(s, signing_key((ssd_dkim_alg_t)alg), &sp);
        FUZZ_ASSERT(h && !strncmp(h, "DKIM-Signature: v=1; ", 21));
        FUZZ_ASSERT(header_text(h));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    ssd_signer_t *whole, *chunked;
    const char *msg, *a, *b;
    size_t len, max;
    uint32_t seed;

    if (size < 2) {
        return 0;
    }
    msg = (const char *)data + 2;
    len = size - 2;
    signing_key(SSD_DKIM_RSA);     /* both keys made outside the pool */
    p = fuzz_pool();
    max = data[1] < 32 ? 16 * ((size_t)data[1] + 1) : GLUE_MAX_HEADER;
    seed = 0x9e3779b9u ^ data[0] ^ ((uint32_t)size << 8);
    whole = ssd_signer_new(p, max);
    chunked = ssd_signer_new(p, max);
    a = run(whole, msg, len, 0);
    b = run(chunked, msg, len, seed);
    FUZZ_ASSERT((a == NULL) == (b == NULL) && (!a || !strcmp(a, b)));
    if (!a) {
        FUZZ_ASSERT(!memcmp(whole->body_hash, chunked->body_hash, 32));
        FUZZ_ASSERT(!strcmp(ssd_signer_from_domain(whole),
                            ssd_signer_from_domain(chunked)));
        sign(p, chunked);
    }
    apr_pool_destroy(p);
    return 0;
}
