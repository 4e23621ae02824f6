/* ssd_sign_sig: relaxed header canonicalisation and the DKIM-Signature
 * header (RFC 6376 sections 3.4.2, 3.5, 3.7). */
#include "ssd_sign_internal.h"
#include "ssd_b64.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

static const char *const signed_names[] = {
    "from", "to", "cc", "subject", "date", "message-id", "reply-to",
    "mime-version", "content-type", "list-unsubscribe", NULL
};

const char *ssd_sign_relaxed_header(apr_pool_t *p, const char *raw,
                                    int crlf)
{
    const char *colon = strchr(raw, ':'), *v;
    char *out = apr_palloc(p, strlen(raw) + 3), *o = out;
    int wsp = 0;

    for (v = raw; v < colon; v++) {
        if (*v != ' ' && *v != '\t') *o++ = (char)apr_tolower(*v);
    }
    *o++ = ':';
    for (v = colon + 1; *v; v++) {
        if (*v == '\r' || *v == '\n') continue;
        if (*v == ' ' || *v == '\t') { wsp = 1; continue; }
        if (wsp && o[-1] != ':') *o++ = ' ';
        wsp = 0;
        *o++ = *v;
    }
    if (crlf) { *o++ = '\r'; *o++ = '\n'; }
    *o = '\0';
    return out;
}

/* The last unused field of that name, bottom-up (section 5.4.2). */
static ssd_field_t *take_field(ssd_signer_t *s, const char *name)
{
    int i;

    for (i = s->fields->nelts - 1; i >= 0; i--) {
        ssd_field_t *f = &APR_ARRAY_IDX(s->fields, i, ssd_field_t);

        if (!f->used && strcasecmp(f->name, name) == 0) {
            f->used = 1;
            return f;
        }
    }
    return NULL;
}

static int count_fields(const ssd_signer_t *s, const char *name)
{
    int i, n = 0;

    for (i = 0; i < s->fields->nelts; i++) {
        n += strcasecmp(APR_ARRAY_IDX(s->fields, i, ssd_field_t).name,
                        name) == 0;
    }
    return n;
}

/* h=: each listed name once per occurrence, "from" once more. */
static const char *h_tag(ssd_signer_t *s)
{
    const char *h = NULL;
    int i, n;

    for (i = 0; signed_names[i]; i++) {
        n = count_fields(s, signed_names[i]) + (i == 0);
        for (; n > 0; n--) {
            h = h ? apr_pstrcat(s->pool, h, ":", signed_names[i], NULL)
                  : signed_names[i];
        }
    }
    return h;
}

/* The canonical headers named by h, then the signature header itself. */
static const char *signing_input(ssd_signer_t *s, const char *h,
                                 const char *sig_header)
{
    char *names = apr_pstrdup(s->pool, h), *name, *state;
    const char *in = "";
    ssd_field_t *f;

    for (name = apr_strtok(names, ":", &state); name;
         name = apr_strtok(NULL, ":", &state)) {
        if ((f = take_field(s, name))) {
            in = apr_pstrcat(s->pool, in,
                             ssd_sign_relaxed_header(s->pool, f->raw, 1),
                             NULL);
        }
    }
    return apr_pstrcat(s->pool, in,
                       ssd_sign_relaxed_header(s->pool, sig_header, 0), NULL);
}

static const char *rsa_sha256(apr_pool_t *p, EVP_PKEY *key, const char *in)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t len = sizeof(sig);
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) > 0
             && EVP_PKEY_get_size(key) <= (int)sizeof(sig)
             && EVP_DigestSign(ctx, sig, &len, (const unsigned char *)in,
                               strlen(in)) > 0;

    EVP_MD_CTX_free(ctx);
    return ok ? ssd_b64_encode(p, sig, len) : NULL;
}

const char *ssd_signer_sign(ssd_signer_t *s, EVP_PKEY *key, const char *d,
                            const char *selector, apr_time_t when)
{
    const char *h = h_tag(s), *header, *b;

    header = apr_psprintf(s->pool, "DKIM-Signature: v=1; a=rsa-sha256; "
                          "c=relaxed/relaxed; d=%s; s=%s; t=%" APR_TIME_T_FMT
                          "; h=%s; bh=%s; b=", d, selector,
                          apr_time_sec(when), h,
                          ssd_b64_encode(s->pool, s->body_hash, 32));
    b = rsa_sha256(s->pool, key, signing_input(s, h, header));
    return b ? apr_pstrcat(s->pool, header, b, NULL) : NULL;
}
