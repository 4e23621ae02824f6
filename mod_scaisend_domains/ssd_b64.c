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

/* Whole groups of four from the alphabet, '=' only as the padding of the
 * last group (EVP_DecodeBlock alone would take "QU=D" or "Q===" too). */
static int strict_form(const char *text, apr_size_t tlen)
{
    apr_size_t i, pad = 0;

    if (tlen == 0 || tlen % 4 != 0) {
        return 0;
    }
    while (pad < 2 && text[tlen - 1 - pad] == '=') {
        pad++;
    }
    for (i = 0; i < tlen - pad; i++) {
        unsigned char c = (unsigned char)text[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            return 0;
        }
    }
    return 1;
}

unsigned char *ssd_b64_decode(apr_pool_t *p, const char *text,
                              apr_size_t *len)
{
    apr_size_t tlen = strlen(text), pad = 0;
    unsigned char *out;
    int n;

    if (!strict_form(text, tlen)) {
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
