/* ssd_webhook: the Standard Webhooks secret, signature and headers (the
 * body is in ssd_webhook_body.c). */
#include "ssd_webhook.h"

#include <string.h>
#include <sys/stat.h>

#include <apr_file_io.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ssd_b64.h"

#define PREFIX_LEN (sizeof(SSD_WEBHOOK_SECRET_PREFIX) - 1)
/* base64 of the largest key, padded, and a CRLF */
#define B64_MAX (4 * ((SSD_WEBHOOK_KEY_MAX + 2) / 3))
#define TEXT_MAX (PREFIX_LEN + B64_MAX + 2)
#define SHA256_LEN 32

/* ---- the secret ----------------------------------------------------------- */

static apr_status_t wipe_key(void *data)
{
    ssd_webhook_key_t *k = data;

    OPENSSL_cleanse(k->bytes, SSD_WEBHOOK_KEY_MAX + 3);
    return APR_SUCCESS;
}

static int is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Length of the base64 text without its padding, or 0 when b is not
 * base64 (alphabet, padding only at the end and only where it belongs). */
static apr_size_t b64_body_len(const char *b, apr_size_t len)
{
    apr_size_t n = 0, pad;

    while (n < len && is_b64_char(b[n])) {
        n++;
    }
    for (pad = 0; n + pad < len && b[n + pad] == '='; pad++)
        ;
    if (n == 0 || n + pad != len || n % 4 == 1
        || (pad && (pad > 2 || (n + pad) % 4 != 0))) {
        return 0;
    }
    return n;
}

/* Decode n base64 characters (no padding) into k->bytes. */
static int b64_decode_into(const char *b, apr_size_t n, ssd_webhook_key_t *k)
{
    char quad[B64_MAX + 1];
    apr_size_t padded = (n + 3) / 4 * 4;
    int got;

    memcpy(quad, b, n);
    memset(quad + n, '=', padded - n);
    quad[padded] = '\0';
    got = EVP_DecodeBlock(k->bytes, (unsigned char *)quad, (int)padded);
    OPENSSL_cleanse(quad, sizeof(quad));
    if (got < 0) {
        return 0;
    }
    k->len = n * 3 / 4;
    return 1;
}

const char *ssd_webhook_parse_secret(apr_pool_t *p, const char *text,
                                     apr_size_t len, ssd_webhook_key_t **key)
{
    ssd_webhook_key_t *k;
    apr_size_t n;

    if (len && text[len - 1] == '\n') {
        len -= 1 + (len > 1 && text[len - 2] == '\r');
    }
    if (len < PREFIX_LEN
        || memcmp(text, SSD_WEBHOOK_SECRET_PREFIX, PREFIX_LEN) != 0) {
        return "does not start with " SSD_WEBHOOK_SECRET_PREFIX;
    }
    text += PREFIX_LEN;
    len -= PREFIX_LEN;
    if (len > B64_MAX || !(n = b64_body_len(text, len))) {
        return "is not " SSD_WEBHOOK_SECRET_PREFIX " followed by base64 of "
               "24 to 64 bytes";
    }
    k = apr_pcalloc(p, sizeof(*k));
    k->bytes = apr_palloc(p, SSD_WEBHOOK_KEY_MAX + 3);
    apr_pool_cleanup_register(p, k, wipe_key, apr_pool_cleanup_null);
    if (!b64_decode_into(text, n, k)) {
        return "is not valid base64";
    }
    if (k->len < SSD_WEBHOOK_KEY_MIN || k->len > SSD_WEBHOOK_KEY_MAX) {
        return apr_psprintf(p, "holds a key of %lu bytes: the scheme wants "
                            "%d to %d random bytes", (unsigned long)k->len,
                            SSD_WEBHOOK_KEY_MIN, SSD_WEBHOOK_KEY_MAX);
    }
    *key = k;
    return NULL;
}

/* Only the owner and the group may have any access to a secret (the mode
 * of the file opened, not of a path that may have changed since). */
static const char *mode_error(apr_pool_t *p, const char *path, apr_file_t *f)
{
    apr_os_file_t fd;
    struct stat st;

    if (apr_os_file_get(&fd, f) != APR_SUCCESS || fstat(fd, &st) != 0) {
        return apr_psprintf(p, "cannot inspect webhook secret file %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        return apr_psprintf(p, "webhook secret file %s is not a regular file",
                            path);
    }
    if (!(st.st_mode & S_IRWXO)) {
        return NULL;
    }
    return apr_psprintf(p, "webhook secret file %s is open to others (mode "
                        "%04o): make it readable by its owner and group "
                        "only, e.g. chmod 640 %s", path,
                        (unsigned)(st.st_mode & 07777), path);
}

static const char *read_text(apr_pool_t *p, apr_file_t *f, const char *path,
                             ssd_webhook_key_t **key)
{
    char buf[TEXT_MAX + 1];
    apr_size_t got = sizeof(buf);
    const char *err = NULL;
    apr_status_t rv = apr_file_read_full(f, buf, sizeof(buf), &got);

    if (rv != APR_SUCCESS && rv != APR_EOF) {
        err = apr_psprintf(p, "cannot read webhook secret file %s: %pm", path,
                           &rv);
    }
    else if (got > TEXT_MAX) {
        err = apr_psprintf(p, "webhook secret file %s is larger than a "
                           "secret (%s + base64 of at most %d bytes)", path,
                           SSD_WEBHOOK_SECRET_PREFIX, SSD_WEBHOOK_KEY_MAX);
    }
    else if ((err = ssd_webhook_parse_secret(p, buf, got, key))) {
        err = apr_psprintf(p, "webhook secret file %s %s", path, err);
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return err;
}

const char *ssd_webhook_read_secret(apr_pool_t *p, const char *path,
                                    ssd_webhook_key_t **key)
{
    apr_file_t *f;
    const char *err;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "cannot open webhook secret file %s: %pm",
                            path, &rv);
    }
    if (!(err = mode_error(p, path, f))) {
        err = read_text(p, f, path, key);
    }
    apr_file_close(f);
    return err;
}

/* ---- signature and headers ----------------------------------------------- */

int ssd_webhook_id_is_valid(const char *id)
{
    apr_size_t n;

    for (n = 0; id && id[n]; n++) {
        char c = id[n];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return 0;
        }
    }
    return n > 0 && n <= SSD_WEBHOOK_ID_MAX;
}

static int hmac_sha256(const ssd_webhook_key_t *key, const char *const *parts,
                       const apr_size_t *lens, int n, unsigned char *out)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];
    size_t got = 0;
    int ok, i;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    ok = ctx && EVP_MAC_init(ctx, key->bytes, key->len, params);
    for (i = 0; ok && i < n; i++) {
        ok = EVP_MAC_update(ctx, (const unsigned char *)parts[i], lens[i]);
    }
    ok = ok && EVP_MAC_final(ctx, out, &got, SHA256_LEN) && got == SHA256_LEN;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok;
}

const char *ssd_webhook_signature(apr_pool_t *p, const ssd_webhook_key_t *key,
                                  const char *id, apr_int64_t timestamp,
                                  const char *body, apr_size_t len)
{
    const char *ts, *parts[5];
    apr_size_t lens[5];
    unsigned char mac[SHA256_LEN];

    if (!ssd_webhook_id_is_valid(id) || timestamp < 0 || !key) {
        return NULL;
    }
    ts = apr_psprintf(p, "%" APR_INT64_T_FMT, timestamp);
    parts[0] = id, lens[0] = strlen(id);
    parts[1] = ".", lens[1] = 1;
    parts[2] = ts, lens[2] = strlen(ts);
    parts[3] = ".", lens[3] = 1;
    parts[4] = body ? body : "", lens[4] = body ? len : 0;
    if (!hmac_sha256(key, parts, lens, 5, mac)) {
        return NULL;
    }
    return apr_pstrcat(p, "v1,", ssd_b64_encode(p, mac, sizeof(mac)), NULL);
}

int ssd_webhook_headers(apr_pool_t *p, const ssd_webhook_key_t *key,
                        const char *id, apr_time_t at, const char *body,
                        apr_size_t len, ssd_webhook_headers_t *h)
{
    apr_int64_t ts = (apr_int64_t)apr_time_sec(at);

    h->signature = ssd_webhook_signature(p, key, id, ts, body, len);
    if (!h->signature) {
        return -1;
    }
    h->id = id;
    h->timestamp = apr_psprintf(p, "%" APR_INT64_T_FMT, ts);
    return 0;
}
