/* ssd_b64: base64 through OpenSSL's EVP encoder (no BIO chains). */
#include "ssd_b64.h"

#include <string.h>
#include <openssl/evp.h>

const char *ssd_b64_encode(apr_pool_t *p, const unsigned char *data,
                           apr_size_t len)
{
    char *out = apr_palloc(p, 4 * ((len + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

unsigned char *ssd_b64_decode(apr_pool_t *p, const char *text,
                              apr_size_t *len)
{
    apr_size_t tlen = strlen(text), pad = 0;
    unsigned char *out;
    int n;

    if (tlen == 0 || tlen % 4 != 0) {
        return NULL;
    }
    out = apr_palloc(p, tlen / 4 * 3 + 1);
    n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)tlen);
    if (n < 0) {
        return NULL;
    }
    pad = (text[tlen - 1] == '=') + (text[tlen - 2] == '=');
    *len = (apr_size_t)n - pad;
    return out;
}
