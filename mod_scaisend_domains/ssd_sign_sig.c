/* ssd_sign_sig: relaxed header canonicalisation and the DKIM-Signature
 * header (RFC 6376 sections 3.4.2, 3.5, 3.7). Every string here is built
 * once, in buffers linear in the header section. */
#include "ssd_sign_internal.h"
#include "ssd_b64.h"
#include "ssd_dkim.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/rsa.h>

static const char *const default_names[] = {
    "from", "to", "cc", "subject", "date", "message-id", "reply-to",
    "mime-version", "content-type", "list-unsubscribe", NULL
};

/* Listed once more than they occur (over-signed): a field of these names
 * added to the message later breaks the signature (RFC 6376 section 8.15)
 * -- a second From, To, Subject or Date shown to the reader instead of the
 * signed one. Absent ones are listed once: none may be added. */
static const char *const oversigned[] = {
    "from", "to", "subject", "date", NULL
};

apr_array_header_t *ssd_sign_default_headers(apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 12, sizeof(const char *));
    int i;

    for (i = 0; default_names[i]; i++) {
        APR_ARRAY_PUSH(a, const char *) = default_names[i];
    }
    return a;
}

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

static int is_oversigned(const char *name)
{
    int i;

    for (i = 0; oversigned[i]; i++) {
        if (strcmp(name, oversigned[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* How often name goes into h=: once per occurrence, the over-signed ones
 * once more. */
static int h_count(ssd_signer_t *s, const char *name)
{
    ssd_field_set_t *set = fields_named(s, name);

    return (set ? set->at->nelts : 0) + is_oversigned(name);
}

#define NAME_AT(names, i) APR_ARRAY_IDX(names, i, const char *)

static const char *h_tag(ssd_signer_t *s, const apr_array_header_t *names)
{
    ssd_buf_t b;
    int i, n;

    ssd_buf_init(&b, s->pool, 128, 0);
    for (i = 0; i < names->nelts; i++) {
        for (n = h_count(s, NAME_AT(names, i)); n > 0; n--) {
            ssd_buf_add_sep(&b, ":");
            ssd_buf_adds(&b, NAME_AT(names, i));
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
static const char *signing_input(ssd_signer_t *s,
                                 const apr_array_header_t *names,
                                 const char *sig_header)
{
    const ssd_field_t *f;
    ssd_buf_t b;
    int i, n;

    ssd_buf_init(&b, s->pool, s->header_len + strlen(sig_header) + 64, 0);
    for (i = 0; i < names->nelts; i++) {
        for (n = h_count(s, NAME_AT(names, i)); n > 0; n--) {
            if ((f = take_field(s, NAME_AT(names, i)))) {
                ssd_sign_relaxed_append(&b, f->raw, f->len, 1);
            }
        }
    }
    ssd_sign_relaxed_append(&b, sig_header, strlen(sig_header), 0);
    return ssd_buf_str(&b);
}

EVP_PKEY_CTX *ssd_sign_prepare(EVP_PKEY *key)
{
    EVP_PKEY_CTX *ctx;

    if (ssd_dkim_key_alg(key) != SSD_DKIM_RSA
        || !(ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL))) {
        return NULL;
    }
    if (EVP_PKEY_sign_init(ctx) > 0
        && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0
        && EVP_PKEY_CTX_set_signature_md(ctx, ssd_sign_sha256()) > 0) {
        return ctx;
    }
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

/* RSASSA-PKCS1-v1_5 over the SHA-256 of the input with a prepared
 * context: the digest, then the private-key operation alone. */
static int sign_prepared(EVP_PKEY_CTX *ctx, const char *in,
                         unsigned char *sig, size_t *len)
{
    unsigned char digest[32];

    return EVP_Digest(in, strlen(in), digest, NULL, ssd_sign_sha256(), NULL)
           == 1
           && EVP_PKEY_sign(ctx, sig, len, digest, sizeof(digest)) > 0;
}

/* RSASSA-PKCS1-v1_5 over SHA-256 of the input (RFC 6376 section 3.3.1);
 * Ed25519 -- pure, no pre-hash of its own -- over the SHA-256 of the input
 * (RFC 8463 section 3). */
static int sign_fresh(EVP_PKEY *key, const char *in, unsigned char *sig,
                      size_t *len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char digest[32];
    const unsigned char *data = (const unsigned char *)in;
    size_t n = strlen(in);
    int ed = ssd_dkim_key_alg(key) == SSD_DKIM_ED25519;
    int ok = ctx != NULL;

    if (ok && ed) {
        ok = EVP_Digest(data, n, digest, NULL, ssd_sign_sha256(), NULL) == 1;
        data = digest;
        n = sizeof(digest);
    }
    ok = ok && EVP_DigestSignInit(ctx, NULL, ed ? NULL : ssd_sign_sha256(),
                                  NULL, key) > 0
         && EVP_DigestSign(ctx, sig, len, data, n) > 0;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static const char *signature(apr_pool_t *p, EVP_PKEY *key,
                             EVP_PKEY_CTX *prepared, const char *in)
{
    unsigned char sig[1024];
    size_t len = sizeof(sig);
    int ok = EVP_PKEY_get_size(key) <= (int)sizeof(sig);

    ok = ok && (prepared ? sign_prepared(prepared, in, sig, &len)
                         : sign_fresh(key, in, sig, &len));
    return ok ? ssd_b64_encode(p, sig, len) : NULL;
}

static const char *expiry_tag(apr_pool_t *p, const ssd_sign_params_t *sp)
{
    return sp->ttl_s > 0
           ? apr_psprintf(p, "; x=%" APR_TIME_T_FMT,
                          apr_time_sec(sp->when) + sp->ttl_s)
           : "";
}

const char *ssd_signer_sign(ssd_signer_t *s, EVP_PKEY *key,
                            const ssd_sign_params_t *sp)
{
    const apr_array_header_t *names = sp->headers;

    const char *header, *b;
    apr_hash_index_t *hi;

    if (!names) {
        names = ssd_sign_default_headers(s->pool);
    }
    for (hi = apr_hash_first(s->pool, s->by_name); hi; hi = apr_hash_next(hi)) {
        ((ssd_field_set_t *)apr_hash_this_val(hi))->taken = 0;
    }
    header = apr_psprintf(s->pool, "DKIM-Signature: v=1; a=%s; "
                          "c=relaxed/relaxed; d=%s; s=%s; t=%" APR_TIME_T_FMT
                          "%s; h=%s; bh=%s; b=",
                          ssd_dkim_alg_name(ssd_dkim_key_alg(key)), sp->d,
                          sp->selector, apr_time_sec(sp->when),
                          expiry_tag(s->pool, sp), h_tag(s, names),
                          ssd_b64_encode(s->pool, s->body_hash, 32));
    b = signature(s->pool, key, sp->prepared,
                  signing_input(s, names, header));
    return b ? apr_pstrcat(s->pool, header, b, NULL) : NULL;
}
