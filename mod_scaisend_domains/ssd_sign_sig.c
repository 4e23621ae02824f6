/* ssd_sign_sig: relaxed header canonicalisation and the DKIM-Signature
 * header (RFC 6376 sections 3.4.2, 3.5, 3.7). Every string here is built
 * once, in buffers linear in the header section. */
#include "ssd_sign_internal.h"
#include "ssd_b64.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

static const char *const signed_names[] = {
    "from", "to", "cc", "subject", "date", "message-id", "reply-to",
    "mime-version", "content-type", "list-unsubscribe", NULL
};

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* Section 3.4.2: the name in lower case, no white space around the colon
 * that ends it; the value unfolded, each run of white space one space,
 * none at the end. A colon inside the value is an ordinary character. */
void ssd_sign_relaxed_append(ssd_buf_t *b, const char *raw, apr_size_t len,
                             int crlf)
{
    const char *colon = memchr(raw, ':', len), *end = raw + len, *v;
    int wsp = 0;

    for (v = raw; v < colon; v++) {
        if (!is_wsp(*v)) ssd_buf_addc(b, (char)apr_tolower(*v));
    }
    ssd_buf_addc(b, ':');
    for (v = colon + 1; v < end && (is_wsp(*v) || *v == '\r' || *v == '\n');
         v++) {
    }
    for (; v < end; v++) {
        if (*v == '\r' || *v == '\n') continue;
        if (is_wsp(*v)) { wsp = 1; continue; }
        if (wsp) ssd_buf_addc(b, ' ');
        wsp = 0;
        ssd_buf_addc(b, *v);
    }
    if (crlf) ssd_buf_add(b, "\r\n", 2);
}

const char *ssd_sign_relaxed_header(apr_pool_t *p, const char *raw,
                                    int crlf)
{
    ssd_buf_t b;

    ssd_buf_init(&b, p, strlen(raw) + 3, 0);
    ssd_sign_relaxed_append(&b, raw, strlen(raw), crlf);
    return ssd_buf_str(&b);
}

static ssd_field_set_t *fields_named(ssd_signer_t *s, const char *name)
{
    return apr_hash_get(s->by_name, name, APR_HASH_KEY_STRING);
}

/* How often name goes into h=: once per occurrence, "from" once more so
 * that no From can be added to the signed message. */
static int h_count(ssd_signer_t *s, const char *name)
{
    ssd_field_set_t *set = fields_named(s, name);

    return (set ? set->at->nelts : 0) + (strcmp(name, "from") == 0);
}

static const char *h_tag(ssd_signer_t *s)
{
    ssd_buf_t b;
    int i, n;

    ssd_buf_init(&b, s->pool, 128, 0);
    for (i = 0; signed_names[i]; i++) {
        for (n = h_count(s, signed_names[i]); n > 0; n--) {
            ssd_buf_add_sep(&b, ":");
            ssd_buf_adds(&b, signed_names[i]);
        }
    }
    return ssd_buf_str(&b);
}

/* The next instance of name from the bottom, or NULL when every one has
 * been taken (an over-signed entry then stands for an absent field). */
static const ssd_field_t *take_field(ssd_signer_t *s, const char *name)
{
    ssd_field_set_t *set = fields_named(s, name);
    int at;

    if (!set || set->taken >= set->at->nelts) {
        return NULL;
    }
    at = APR_ARRAY_IDX(set->at, set->at->nelts - 1 - set->taken++, int);
    return &APR_ARRAY_IDX(s->fields, at, ssd_field_t);
}

/* The canonical headers named by h, then the signature header itself. */
static const char *signing_input(ssd_signer_t *s, const char *sig_header)
{
    const ssd_field_t *f;
    ssd_buf_t b;
    int i, n;

    ssd_buf_init(&b, s->pool, s->header_len + strlen(sig_header) + 64, 0);
    for (i = 0; signed_names[i]; i++) {
        for (n = h_count(s, signed_names[i]); n > 0; n--) {
            if ((f = take_field(s, signed_names[i]))) {
                ssd_sign_relaxed_append(&b, f->raw, f->len, 1);
            }
        }
    }
    ssd_sign_relaxed_append(&b, sig_header, strlen(sig_header), 0);
    return ssd_buf_str(&b);
}

static const char *rsa_sha256(apr_pool_t *p, EVP_PKEY *key, const char *in)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t len = sizeof(sig);
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, ssd_sign_sha256(), NULL,
                                       key) > 0
             && EVP_PKEY_get_size(key) <= (int)sizeof(sig)
             && EVP_DigestSign(ctx, sig, &len, (const unsigned char *)in,
                               strlen(in)) > 0;

    EVP_MD_CTX_free(ctx);
    return ok ? ssd_b64_encode(p, sig, len) : NULL;
}

const char *ssd_signer_sign(ssd_signer_t *s, EVP_PKEY *key, const char *d,
                            const char *selector, apr_time_t when)
{
    const char *header, *b;
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(s->pool, s->by_name); hi; hi = apr_hash_next(hi)) {
        ((ssd_field_set_t *)apr_hash_this_val(hi))->taken = 0;
    }
    header = apr_psprintf(s->pool, "DKIM-Signature: v=1; a=rsa-sha256; "
                          "c=relaxed/relaxed; d=%s; s=%s; t=%" APR_TIME_T_FMT
                          "; h=%s; bh=%s; b=", d, selector,
                          apr_time_sec(when), h_tag(s),
                          ssd_b64_encode(s->pool, s->body_hash, 32));
    b = rsa_sha256(s->pool, key, signing_input(s, header));
    return b ? apr_pstrcat(s->pool, header, b, NULL) : NULL;
}
