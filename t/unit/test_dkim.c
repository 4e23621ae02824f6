/* Unit tests of ssd_dkim: key generation (RSA and Ed25519), the public
 * record value, and wrapping at rest (round trip, tamper and misplacement
 * detection); the DKIM record check of an Ed25519 key and the selector's
 * strictness (exactly one TXT record, '=' only as final padding). */
#include "unit.h"
#include "ssd_dkim.h"
#include "ssd_b64.h"
#include "ssd_check.h"

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

static void test_ed25519(apr_pool_t *p, EVP_PKEY **key)
{
    unsigned char kek[SSD_KEK_LEN];
    const char *pub, *w = NULL;
    unsigned char *raw;
    apr_size_t n = 0;
    EVP_PKEY *back = NULL;

    memset(kek, 9, sizeof(kek));
    UNIT_CHECK(ssd_dkim_generate(p, SSD_DKIM_ED25519, 0, key) == APR_SUCCESS,
               "generate an Ed25519 key");
    UNIT_CHECK(ssd_dkim_key_alg(*key) == SSD_DKIM_ED25519,
               "the key is an Ed25519 key");
    UNIT_CHECK(ssd_dkim_bits(*key) == 256, "Ed25519 bits: 256");
    pub = ssd_dkim_public_b64(p, *key);
    raw = pub ? ssd_b64_decode(p, pub, &n) : NULL;
    UNIT_CHECK(pub && strlen(pub) == 44 && pub[43] == '=' && raw && n == 32,
               "p= is base64 of the 32 raw bytes (RFC 8463 section 4.2)");
    UNIT_CHECK(ssd_dkim_wrap(p, kek, *key, "dom_A", "scaisend-ed25519", &w)
               == APR_SUCCESS
               && ssd_dkim_unwrap(p, kek, w, "dom_A", "scaisend-ed25519",
                                  &back) == APR_SUCCESS
               && EVP_PKEY_eq(back, *key) == 1,
               "an Ed25519 key wraps and unwraps");
    UNIT_CHECK(ssd_dkim_unwrap(p, kek, w, "dom_A", "scaisend", &back)
               != APR_SUCCESS, "an Ed25519 key moved to its RSA twin fails");
}

/* ---- the DKIM record check over one canned name ---- */

#define DOM "ex.example"
#define ED_HOST "sel-ed25519._domainkey." DOM

typedef struct {
    const char *const *txts;        /* NULL-terminated: the TXT RRs */
} canned_t;

static ssd_dns_rc canned(void *baton, apr_pool_t *p, const char *name,
                         ssd_txt_answer_t *out)
{
    const canned_t *c = baton;
    int i;

    memset(out, 0, sizeof(*out));
    out->final_name = name;
    out->txts = apr_array_make(p, 2, sizeof(ssd_txt_t));
    for (i = 0; strcmp(name, ED_HOST) == 0 && c->txts[i]; i++) {
        ssd_txt_t *t = apr_array_push(out->txts);

        t->data = c->txts[i];
        t->len = strlen(c->txts[i]);
    }
    out->rc = out->txts->nelts ? SSD_DNS_OK : SSD_DNS_NXDOMAIN;
    return out->rc;
}

static ssd_check_result_t check_ed(apr_pool_t *p, const char *pub,
                                   const char *const *txts)
{
    canned_t c = {txts};
    ssd_check_result_t r;

    ssd_check_dkim_alg(p, canned, &c, DOM, "sel-ed25519", SSD_DKIM_ED25519,
                       pub, &r);
    return r;
}

static const ssd_finding_t *first_error(const ssd_check_result_t *r)
{
    return r->errors && r->errors->nelts
           ? &APR_ARRAY_IDX(r->errors, 0, ssd_finding_t) : NULL;
}

static int failed_with(const ssd_check_result_t *r, const char *code,
                       const char *message)
{
    const ssd_finding_t *f = first_error(r);

    if (!f || r->status != SSD_CHECK_FAIL || strcmp(f->code, code) != 0
        || strcmp(f->message, message) != 0) {
        fprintf(stderr, "  got %s: %s\n", f ? f->code : "(none)",
                f ? f->message : "");
        return 0;
    }
    return 1;
}

/* The shown form of an expected value longer than 60 characters. */
static const char *shown(apr_pool_t *p, const char *value)
{
    return apr_psprintf(p, "%.48s... (the full value is in 'expected')",
                        value);
}

static void test_check_ed25519(apr_pool_t *p, EVP_PKEY *ed, EVP_PKEY *rsa)
{
    const char *pub = ssd_dkim_public_b64(p, ed);
    const char *rec = apr_pstrcat(p, "v=DKIM1; k=ed25519; p=", pub, NULL);
    const char *as_rsa = apr_pstrcat(p, "v=DKIM1; k=rsa; p=", pub, NULL);
    const char *no_k = apr_pstrcat(p, "v=DKIM1; p=", pub, NULL);
    const char *other = apr_pstrcat(p, "v=DKIM1; k=ed25519; p=",
                                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                                    NULL);
    const char *one[] = {rec, NULL}, *wrong_k[] = {as_rsa, NULL};
    const char *absent_k[] = {no_k, NULL}, *mismatch[] = {other, NULL};
    const char *rsa_pub = ssd_dkim_public_b64(p, rsa);
    const char *rsa_rec[] = {apr_pstrcat(p, "v=DKIM1; k=ed25519; p=",
                                         rsa_pub, NULL), NULL};
    ssd_check_result_t r;

    r = check_ed(p, pub, one);
    UNIT_CHECK(r.status == SSD_CHECK_PASS, "Ed25519: the record passes");
    r = check_ed(p, pub, wrong_k);
    UNIT_CHECK(failed_with(&r, "wrong_key_type", apr_pstrcat(p,
               "the DKIM record at " ED_HOST " is invalid: k=rsa says the key "
               "is not Ed25519, but ScaiSend signs with an Ed25519 key "
               "(ed25519-sha256, RFC 8463) at this selector: set k=ed25519. "
               "Publish exactly: ", shown(p, rec), NULL)),
               "Ed25519: k=rsa is wrong_key_type, naming Ed25519");
    r = check_ed(p, pub, absent_k);
    UNIT_CHECK(failed_with(&r, "wrong_key_type", apr_pstrcat(p,
               "the DKIM record at " ED_HOST " is invalid: a record without "
               "k= (which means k=rsa) says the key is not Ed25519, but "
               "ScaiSend signs with an Ed25519 key (ed25519-sha256, RFC "
               "8463) at this selector: set k=ed25519. Publish exactly: ",
               shown(p, rec), NULL)),
               "Ed25519: no k= (rsa) is wrong_key_type");
    r = check_ed(p, pub, mismatch);
    UNIT_CHECK(failed_with(&r, "key_mismatch", apr_pstrcat(p,
               "the p= key published at " ED_HOST " is not the Ed25519 key "
               "ScaiSend holds for this selector: replace the record's value "
               "with: ", shown(p, rec), NULL)),
               "Ed25519: another key is key_mismatch, naming Ed25519");
    UNIT_STR_EQ(first_error(&r) ? first_error(&r)->expected : "", rec,
                "Ed25519: expected is the k=ed25519 record");
    r = check_ed(p, pub, rsa_rec);
    UNIT_CHECK(r.status == SSD_CHECK_FAIL && first_error(&r)
               && strcmp(first_error(&r)->code, "key_mismatch") == 0,
               "Ed25519: an RSA key under k=ed25519 is key_mismatch");
}

static void test_check_strict(apr_pool_t *p, EVP_PKEY *ed)
{
    const char *pub = ssd_dkim_public_b64(p, ed);
    const char *rec = apr_pstrcat(p, "v=DKIM1; k=ed25519; p=", pub, NULL);
    const char *beside[] = {"google-site-verification=abc", rec, NULL};
    const char *two_beside[] = {rec, "x=1", "y=2", NULL};
    char *inner = apr_pstrdup(p, rec);
    const char *pasted[] = {inner, NULL};
    const char *padded[] = {rec, NULL};
    ssd_check_result_t r;

    r = check_ed(p, pub, beside);
    UNIT_CHECK(failed_with(&r, "multiple_records", apr_pstrcat(p,
               "besides the DKIM record, " ED_HOST " holds another TXT "
               "record: \"google-site-verification=abc\". The selector must "
               "hold exactly one TXT record, or verifiers may read the other "
               "one instead of the key: delete it, so that the only record "
               "there is: ", shown(p, rec), NULL)),
               "strict: another TXT beside ours is multiple_records naming it");
    UNIT_STR_EQ(first_error(&r) ? first_error(&r)->found : "",
                apr_pstrcat(p, "google-site-verification=abc | ", rec, NULL),
                "strict: found lists both records");
    r = check_ed(p, pub, two_beside);
    UNIT_CHECK(failed_with(&r, "multiple_records", apr_pstrcat(p,
               "besides the DKIM record, " ED_HOST " holds 2 other TXT "
               "records: \"x=1\", \"y=2\". The selector must hold exactly "
               "one TXT record, or verifiers may read the other one instead "
               "of the key: delete them, so that the only record there is: ",
               shown(p, rec), NULL)),
               "strict: two others, both named");
    /* an '=' in the middle of p= (the key's 11th character replaced) */
    inner[strlen("v=DKIM1; k=ed25519; p=") + 10] = '=';
    r = check_ed(p, pub, pasted);
    UNIT_CHECK(failed_with(&r, "malformed", apr_pstrcat(p,
               "the p= value at " ED_HOST " has an '=' inside it (after 10 "
               "characters): in base64 '=' is only the padding at the very "
               "end, so the value was pasted together from pieces or another "
               "value ran into it. Publish exactly: ", shown(p, rec), NULL)),
               "strict: '=' inside p= is malformed, saying where");
    r = check_ed(p, pub, padded);
    UNIT_CHECK(r.status == SSD_CHECK_PASS,
               "strict: the final padding '=' is fine");
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
    {
        EVP_PKEY *ed = NULL;

        test_ed25519(p, &ed);
        if (ed && key) {
            test_check_ed25519(p, ed, key);
            test_check_strict(p, ed);
        }
    }
    rc = UNIT_DONE();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
