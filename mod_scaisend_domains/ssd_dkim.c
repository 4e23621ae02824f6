/* ssd_dkim: DKIM key pairs and their protection at rest. */
#include "ssd_dkim.h"
#include "ssd_b64.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#define WRAP_PREFIX "v1:"
#define NONCE_LEN 12
#define TAG_LEN 16

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static void pkey_bind(apr_pool_t *p, EVP_PKEY *key)
{
    apr_pool_cleanup_register(p, key, pkey_cleanup, apr_pool_cleanup_null);
}

static const char *const alg_names[SSD_DKIM_ALG_COUNT] = {
    SSD_DKIM_RSA_NAME, SSD_DKIM_ED25519_NAME
};

const char *ssd_dkim_alg_name(ssd_dkim_alg_t alg)
{
    return alg_names[alg == SSD_DKIM_ED25519];
}

const char *ssd_dkim_alg_k(ssd_dkim_alg_t alg)
{
    return alg == SSD_DKIM_ED25519 ? "ed25519" : "rsa";
}

int ssd_dkim_alg_parse(const char *name, ssd_dkim_alg_t *alg)
{
    int i;

    for (i = 0; i < SSD_DKIM_ALG_COUNT; i++) {
        if (name && strcmp(name, alg_names[i]) == 0) {
            *alg = (ssd_dkim_alg_t)i;
            return 0;
        }
    }
    return -1;
}

ssd_dkim_alg_t ssd_dkim_alg_of(const char *name)
{
    ssd_dkim_alg_t alg = SSD_DKIM_RSA;

    ssd_dkim_alg_parse(name, &alg);
    return alg;
}

const char *ssd_dkim_twin_selector(apr_pool_t *p, const char *rsa_selector)
{
    return apr_pstrcat(p, rsa_selector, SSD_DKIM_ED25519_SUFFIX, NULL);
}

/* Unknown names are left out: the directive and the API check theirs. */
unsigned ssd_dkim_algs_parse(const char *text)
{
    unsigned algs = 0;
    const char *s = text ? text : "";
    ssd_dkim_alg_t alg;
    char name[32];

    while (*s) {
        apr_size_t n = strcspn(s, ",");

        if (n < sizeof(name)) {
            memcpy(name, s, n);
            name[n] = '\0';
            if (ssd_dkim_alg_parse(name, &alg) == 0) {
                algs |= SSD_DKIM_ALG_BIT(alg);
            }
        }
        s += n + (s[n] == ',');
    }
    return algs ? algs : SSD_DKIM_ALG_BIT(SSD_DKIM_RSA);
}

const char *ssd_dkim_algs_text(apr_pool_t *p, unsigned algs)
{
    const char *out = NULL;
    int i;

    for (i = 0; i < SSD_DKIM_ALG_COUNT; i++) {
        if (algs & SSD_DKIM_ALG_BIT(i)) {
            out = out ? apr_pstrcat(p, out, ",", alg_names[i], NULL)
                      : alg_names[i];
        }
    }
    return out ? out : SSD_DKIM_RSA_NAME;
}

static int keygen_params(EVP_PKEY_CTX *ctx, ssd_dkim_alg_t alg, int bits)
{
    return alg == SSD_DKIM_ED25519
           || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) > 0;
}

apr_status_t ssd_dkim_generate(apr_pool_t *p, ssd_dkim_alg_t alg, int bits,
                               EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(
        NULL, alg == SSD_DKIM_ED25519 ? "ED25519" : "RSA", NULL);
    EVP_PKEY *key = NULL;
    int ok = ctx && EVP_PKEY_keygen_init(ctx) > 0
             && keygen_params(ctx, alg, bits)
             && EVP_PKEY_keygen(ctx, &key) > 0;

    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
        EVP_PKEY_free(key);
        return APR_EGENERAL;
    }
    pkey_bind(p, key);
    *out = key;
    return APR_SUCCESS;
}

ssd_dkim_alg_t ssd_dkim_key_alg(EVP_PKEY *key)
{
    return EVP_PKEY_is_a(key, "ED25519") ? SSD_DKIM_ED25519 : SSD_DKIM_RSA;
}

int ssd_dkim_bits(EVP_PKEY *key)
{
    return ssd_dkim_key_alg(key) == SSD_DKIM_ED25519 ? SSD_DKIM_ED25519_BITS
                                                     : EVP_PKEY_get_bits(key);
}

static const char *raw_public_b64(apr_pool_t *p, EVP_PKEY *key)
{
    unsigned char raw[32];
    size_t len = sizeof(raw);

    if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32) {
        return NULL;
    }
    return ssd_b64_encode(p, raw, len);
}

const char *ssd_dkim_public_b64(apr_pool_t *p, EVP_PKEY *key)
{
    unsigned char *der = NULL;
    int len;
    const char *b64;

    if (ssd_dkim_key_alg(key) == SSD_DKIM_ED25519) {
        return raw_public_b64(p, key);
    }
    if ((len = i2d_PUBKEY(key, &der)) <= 0) {
        return NULL;
    }
    b64 = ssd_b64_encode(p, der, (apr_size_t)len);
    OPENSSL_free(der);
    return b64;
}

/* The associated data: "<domain_id>\n<selector>". */
static const char *wrap_aad(apr_pool_t *p, const char *domain_id,
                            const char *selector)
{
    return apr_pstrcat(p, domain_id, "\n", selector, NULL);
}

static int gcm_init(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *kek,
                    const unsigned char *nonce, const char *aad)
{
    int outl;

    return EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc)
           && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL)
           && EVP_CipherInit_ex(ctx, NULL, NULL, kek, nonce, enc)
           && EVP_CipherUpdate(ctx, NULL, &outl, (const unsigned char *)aad,
                               (int)strlen(aad));
}

/* Encrypt plain into box = nonce | ciphertext | tag. */
static int seal(const unsigned char *kek, const char *aad,
                const unsigned char *plain, int plen, unsigned char *box)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    unsigned char *ct = box + NONCE_LEN;
    int l1 = 0, l2 = 0;
    int ok = ctx && RAND_bytes(box, NONCE_LEN) == 1
             && gcm_init(ctx, 1, kek, box, aad)
             && EVP_EncryptUpdate(ctx, ct, &l1, plain, plen)
             && EVP_EncryptFinal_ex(ctx, ct + l1, &l2)
             && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                                    ct + l1 + l2);

    EVP_CIPHER_CTX_free(ctx);
    return ok && l1 + l2 == plen;
}

/* Decrypt box (nonce | ciphertext | tag) into plain; checks the tag. */
static int open_box(const unsigned char *kek, const char *aad,
                    const unsigned char *box, int blen, unsigned char *plain)
{
    EVP_CIPHER_CTX *ctx;
    int clen = blen - NONCE_LEN - TAG_LEN, l1 = 0, l2 = 0, ok;

    if (clen <= 0 || !(ctx = EVP_CIPHER_CTX_new())) {
        return 0;
    }
    ok = gcm_init(ctx, 0, kek, box, aad)
         && EVP_DecryptUpdate(ctx, plain, &l1, box + NONCE_LEN, clen)
         && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                (void *)(box + NONCE_LEN + clen))
         && EVP_DecryptFinal_ex(ctx, plain + l1, &l2) > 0;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

apr_status_t ssd_dkim_wrap(apr_pool_t *p, const unsigned char *kek,
                           EVP_PKEY *key, const char *domain_id,
                           const char *selector, const char **wrapped)
{
    unsigned char *der = NULL, *box;
    int len = i2d_PrivateKey(key, &der);
    int ok;

    if (len <= 0) {
        return APR_EGENERAL;
    }
    box = apr_palloc(p, (apr_size_t)len + NONCE_LEN + TAG_LEN);
    ok = seal(kek, wrap_aad(p, domain_id, selector), der, len, box);
    OPENSSL_clear_free(der, (size_t)len);
    if (!ok) {
        return APR_EGENERAL;
    }
    *wrapped = apr_pstrcat(p, WRAP_PREFIX,
                           ssd_b64_encode(p, box, (apr_size_t)len + NONCE_LEN
                                                  + TAG_LEN), NULL);
    return APR_SUCCESS;
}

static EVP_PKEY *der_to_private_key(const unsigned char *der, int len)
{
    const unsigned char *cursor = der;

    return d2i_AutoPrivateKey(NULL, &cursor, len);
}

apr_status_t ssd_dkim_unwrap(apr_pool_t *p, const unsigned char *kek,
                             const char *wrapped, const char *domain_id,
                             const char *selector, EVP_PKEY **out)
{
    apr_size_t blen;
    unsigned char *box, *plain;
    EVP_PKEY *key = NULL;
    int plen;

    if (strncmp(wrapped, WRAP_PREFIX, strlen(WRAP_PREFIX)) != 0
        || !(box = ssd_b64_decode(p, wrapped + strlen(WRAP_PREFIX), &blen))
        || blen <= NONCE_LEN + TAG_LEN) {
        return APR_EGENERAL;
    }
    plen = (int)blen - NONCE_LEN - TAG_LEN;
    if (!(plain = OPENSSL_secure_malloc((size_t)plen))) {
        return APR_ENOMEM;
    }
    if (open_box(kek, wrap_aad(p, domain_id, selector), box, (int)blen,
                 plain)) {
        key = der_to_private_key(plain, plen);
    }
    OPENSSL_secure_clear_free(plain, (size_t)plen);
    if (!key) {
        return APR_EGENERAL;
    }
    pkey_bind(p, key);
    *out = key;
    return APR_SUCCESS;
}

/* Memory for secrets: its own pages, locked where the limits allow and
 * left out of core dumps; wiped and unmapped with the pool. */
static apr_status_t secret_release(void *data)
{
    OPENSSL_cleanse(data, SSD_KEK_LEN);
    munmap(data, (size_t)sysconf(_SC_PAGESIZE));
    return APR_SUCCESS;
}

static unsigned char *secret_page(apr_pool_t *p)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *m = mmap(NULL, page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (m == MAP_FAILED) {
        return NULL;
    }
    madvise(m, page, MADV_DONTDUMP);
    (void)mlock(m, page);
    apr_pool_cleanup_register(p, m, secret_release, apr_pool_cleanup_null);
    return m;
}

/* Only the owner and the group may read the key-encryption key. */
static const char *kek_mode_error(apr_pool_t *p, const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0 || !(st.st_mode & S_IRWXO)) {
        return NULL;
    }
    return apr_psprintf(p, "key-encryption key file %s may be read by "
                        "anyone (mode %04o): make it readable by its owner "
                        "and group only, e.g. chmod 640 %s", path,
                        (unsigned)(st.st_mode & 07777), path);
}

const char *ssd_dkim_read_kek(apr_pool_t *p, const char *path,
                              unsigned char **kek)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t got = 0;
    unsigned char *buf;
    const char *err;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot open key-encryption key file %s: %pm",
                            path, &rv);
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv != APR_SUCCESS || fi.size != SSD_KEK_LEN) {
        apr_file_close(f);
        return apr_psprintf(p, "key-encryption key file %s must hold exactly "
                            "%d bytes", path, SSD_KEK_LEN);
    }
    if ((err = kek_mode_error(p, path))) {
        apr_file_close(f);
        return err;
    }
    if (!(buf = secret_page(p))) {
        apr_file_close(f);
        return "cannot map memory for the key-encryption key";
    }
    rv = apr_file_read_full(f, buf, SSD_KEK_LEN, &got);
    apr_file_close(f);
    if (rv != APR_SUCCESS || got != SSD_KEK_LEN) {
        return apr_psprintf(p, "cannot read key-encryption key file %s", path);
    }
    *kek = buf;
    return NULL;
}

void ssd_dkim_secure_heap(void)
{
    if (!CRYPTO_secure_malloc_initialized()) {
        CRYPTO_secure_malloc_init(SSD_SECURE_HEAP, 32);
    }
}
