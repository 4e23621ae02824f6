/* Unit tests of ssd_dkim: key generation, the public record value, and
 * wrapping at rest (round trip, tamper and misplacement detection). */
#include "unit.h"
#include "ssd_dkim.h"
#include "ssd_b64.h"

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#define SPKI_2048_PREFIX "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"

static const char *flip_last_char(apr_pool_t *p, const char *w)
{
    char *c = apr_pstrdup(p, w);
    apr_size_t n = strlen(c);
    /* change a character inside the ciphertext, not the padding */
    c[n / 2] = c[n / 2] == 'A' ? 'B' : 'A';
    return c;
}

static void test_generate(apr_pool_t *p, EVP_PKEY **key)
{
    const char *pub;

    UNIT_CHECK(ssd_dkim_generate(p, SSD_DKIM_RSA, 2048, key) == APR_SUCCESS,
               "generate an RSA-2048 key");
    UNIT_CHECK(ssd_dkim_bits(*key) == 2048, "the key has 2048 bits");
    pub = ssd_dkim_public_b64(p, *key);
    UNIT_CHECK(pub && strncmp(pub, SPKI_2048_PREFIX,
                              strlen(SPKI_2048_PREFIX)) == 0,
               "p= is base64 of the DER SubjectPublicKeyInfo");
    UNIT_CHECK(pub && strlen(pub) == 392, "2048-bit SPKI base64 is 392 chars");
}

static void test_wrap(apr_pool_t *p, EVP_PKEY *key)
{
    unsigned char kek[SSD_KEK_LEN], other[SSD_KEK_LEN];
    const char *w = NULL, *w2 = NULL;
    EVP_PKEY *back = NULL;

    memset(kek, 7, sizeof(kek));
    memset(other, 8, sizeof(other));
    UNIT_CHECK(ssd_dkim_wrap(p, kek, key, "dom_A", "scaisend", &w)
               == APR_SUCCESS, "wrap the private key");
    UNIT_CHECK(w && strncmp(w, "v1:", 3) == 0, "wrapped form is versioned");
    UNIT_CHECK(ssd_dkim_wrap(p, kek, key, "dom_A", "scaisend", &w2)
               == APR_SUCCESS && strcmp(w, w2) != 0,
               "each wrap uses a fresh nonce");
    UNIT_CHECK(ssd_dkim_unwrap(p, kek, w, "dom_A", "scaisend", &back)
               == APR_SUCCESS, "unwrap with the same key and row");
    UNIT_CHECK(back && EVP_PKEY_eq(back, key) == 1,
               "the unwrapped key is the original key");
    UNIT_CHECK(ssd_dkim_unwrap(p, kek, w, "dom_B", "scaisend", &back)
               != APR_SUCCESS, "a ciphertext moved to another domain fails");
    UNIT_CHECK(ssd_dkim_unwrap(p, kek, w, "dom_A", "scaisend2", &back)
               != APR_SUCCESS, "a ciphertext moved to another selector fails");
    UNIT_CHECK(ssd_dkim_unwrap(p, other, w, "dom_A", "scaisend", &back)
               != APR_SUCCESS, "another key-encryption key fails");
    UNIT_CHECK(ssd_dkim_unwrap(p, kek, flip_last_char(p, w), "dom_A",
                               "scaisend", &back) != APR_SUCCESS,
               "a tampered ciphertext fails");
    UNIT_CHECK(ssd_dkim_unwrap(p, kek, "v1:AAAA", "dom_A", "scaisend", &back)
               != APR_SUCCESS, "a truncated ciphertext fails");
    UNIT_CHECK(ssd_dkim_unwrap(p, kek, w + 3, "dom_A", "scaisend", &back)
               != APR_SUCCESS, "an unversioned ciphertext fails");
    UNIT_CHECK(strstr(w, "PRIVATE") == NULL, "no PEM text in the wrapped form");
}

static const char *write_file(apr_pool_t *p, const char *name, apr_size_t n)
{
    const char *dir;
    apr_file_t *f;
    char *path, buf[64];
    apr_size_t len = n;

    apr_temp_dir_get(&dir, p);
    path = apr_psprintf(p, "%s/%s.XXXXXX", dir, name);
    memset(buf, 1, sizeof(buf));
    apr_file_mktemp(&f, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                    | APR_FOPEN_EXCL, p);
    apr_file_write(f, buf, &len);
    apr_file_close(f);
    return path;
}

static void test_kek_file(apr_pool_t *p)
{
    unsigned char *kek = NULL;
    const char *good = write_file(p, "kek32", 32);
    const char *short_f = write_file(p, "kek31", 31);
    const char *long_f = write_file(p, "kek33", 33);

    UNIT_CHECK(ssd_dkim_read_kek(p, good, &kek) == NULL && kek && kek[0] == 1,
               "a 32-byte key file is read");
    UNIT_CHECK(ssd_dkim_read_kek(p, short_f, &kek) != NULL,
               "a 31-byte key file is refused");
    UNIT_CHECK(ssd_dkim_read_kek(p, long_f, &kek) != NULL,
               "a 33-byte key file is refused");
    UNIT_CHECK(ssd_dkim_read_kek(p, "/nonexistent/kek.bin", &kek) != NULL,
               "a missing key file is refused");
    apr_file_remove(good, p);
    apr_file_remove(short_f, p);
    apr_file_remove(long_f, p);
}

static void test_b64(apr_pool_t *p)
{
    apr_size_t n = 0;
    unsigned char *d = ssd_b64_decode(p, "aGk=", &n);

    UNIT_STR_EQ(ssd_b64_encode(p, (const unsigned char *)"hi", 2), "aGk=",
                "base64 encode with padding");
    UNIT_CHECK(d && n == 2 && memcmp(d, "hi", 2) == 0, "base64 decode");
    UNIT_CHECK(ssd_b64_decode(p, "aGk", &n) == NULL,
               "base64 of a wrong length is refused");
    UNIT_CHECK(ssd_b64_decode(p, "a!k=", &n) == NULL,
               "base64 with a bad character is refused");
}

int main(void)
{
    apr_pool_t *p;
    EVP_PKEY *key = NULL;
    int rc;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_generate(p, &key);
    if (key) {
        test_wrap(p, key);
    }
    test_kek_file(p);
    test_b64(p);
    rc = UNIT_DONE();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
