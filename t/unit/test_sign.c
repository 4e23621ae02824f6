/* Unit tests of ssd_sign: relaxed canonicalisation (RFC 6376 3.4.2,
 * 3.4.4 and the example of 3.4.5), streaming in any chunk size, refusal
 * of malformed messages, and the shape of the signature header. */
#include "unit.h"
#include "ssd_sign.h"
#include "ssd_sign_internal.h"
#include "ssd_dkim.h"
#include "ssd_b64.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>

static apr_pool_t *pool;
static EVP_PKEY *key;

static const char *bh_of(const char *canonical)
{
    unsigned char md[32];
    unsigned int n = 0;

    EVP_Digest(canonical, strlen(canonical), md, &n, EVP_sha256(), NULL);
    return apr_pstrcat(pool, "bh=", ssd_b64_encode(pool, md, 32), ";", NULL);
}

/* Feed msg in chunks of `chunk` bytes; returns the error code or "ok". */
static const char *run(const char *msg, apr_size_t chunk, ssd_signer_t **out)
{
    ssd_signer_t *s = ssd_signer_new(pool, 4096);
    ssd_sign_error_t err;
    apr_size_t off = 0, len = strlen(msg);

    for (; off < len; off += chunk) {
        apr_size_t n = len - off < chunk ? len - off : chunk;

        if (ssd_signer_feed(s, msg + off, n, &err) != 0) return err.code;
    }
    if (ssd_signer_finish(s, &err) != 0) return err.code;
    *out = s;
    return "ok";
}

static const char *signature(const char *msg, apr_size_t chunk)
{
    ssd_signer_t *s = NULL;
    ssd_sign_params_t sp = {"example.com", "sel",
                            apr_time_from_sec(1700000000), 0, NULL, NULL};

    if (strcmp(run(msg, chunk, &s), "ok") != 0) return "refused";
    return ssd_signer_sign(s, key, &sp);
}

static void test_body(void)
{
    const char *msg = "From: a@example.com\r\n\r\n C \r\nD \t E\r\n\r\n\r\n";
    const char *want = bh_of(" C\r\nD E\r\n");

    UNIT_CHECK(strstr(signature(msg, 1000), want) != NULL,
               "RFC 6376 3.4.5 example body, relaxed");
    UNIT_CHECK(strstr(signature(msg, 1), want) != NULL,
               "the same body fed one byte at a time");
    UNIT_CHECK(strstr(signature(msg, 7), want) != NULL,
               "the same body fed in 7-byte chunks");
    UNIT_CHECK(strstr(signature("From: a@example.com\r\n\r\n", 64),
                      bh_of("")) != NULL, "an empty body hashes empty");
    UNIT_CHECK(strstr(signature("From: a@example.com\r\n\r\nhi", 64),
                      bh_of("hi\r\n")) != NULL,
               "a last line without CRLF gets one");
    UNIT_CHECK(strstr(signature("From: a@example.com\r\n\r\n\r\n\r\nx\r\n",
                                3), bh_of("\r\n\r\nx\r\n")) != NULL,
               "empty lines before content are kept");
    UNIT_CHECK(strstr(signature("From: a@example.com\r\n\r\n  \t\r\n", 64),
                      bh_of("")) != NULL, "a white-space-only body is empty");
}

/* Runs of ordinary bytes longer than the signer's buffer, whatever the
 * chunks they arrive in, hash as the byte-by-byte reading would. */
static void test_long_runs(void)
{
    char *x = apr_pcalloc(pool, 10001), *z = apr_pcalloc(pool, 5001);
    char *w = apr_pcalloc(pool, 9001);
    const char *body, *want;
    apr_size_t chunks[] = {65536, 1, 4097, 8193};
    int i;

    memset(x, 'x', 10000);
    memset(z, 'z', 5000);
    memset(w, 'w', 9000);
    body = apr_pstrcat(pool, x, "  y", z, " \t\r\n", w, "\r\n", NULL);
    want = bh_of(apr_pstrcat(pool, x, " y", z, "\r\n", w, "\r\n", NULL));
    for (i = 0; i < 4; i++) {
        const char *msg = apr_pstrcat(pool, "From: a@example.com\r\n\r\n",
                                      body, NULL);

        UNIT_CHECK(strstr(signature(msg, chunks[i]), want) != NULL,
                   apr_psprintf(pool, "lines of 10,000 and 9,000 bytes in "
                                "%lu-byte chunks", (unsigned long)chunks[i]));
    }
}

/* Relaxed body canonicalisation the plain way (RFC 6376 section 3.4.4),
 * line by line: runs of WSP one SP, none at a line's end, no empty lines
 * at the end. body has CRLF line ends. */
static const char *relaxed_reference(const char *body)
{
    char *out = apr_palloc(pool, strlen(body) + 3);
    apr_size_t n = 0, keep = 0;
    const char *p = body;

    while (*p) {
        const char *eol = strstr(p, "\r\n");
        const char *end = eol ? eol : p + strlen(p);
        int wsp = 0;
        apr_size_t line = n;

        for (; p < end; p++) {
            if (*p == ' ' || *p == '\t') { wsp = 1; continue; }
            if (wsp) out[n++] = ' ';
            wsp = 0;
            out[n++] = *p;
        }
        out[n++] = '\r';
        out[n++] = '\n';
        if (n - line > 2) keep = n;     /* a line with content */
        p = eol ? eol + 2 : end;
    }
    out[keep] = '\0';
    return out;
}

/* Words, single and double spaces, tabs, trailing white space and empty
 * lines, fed in chunk sizes that cut them anywhere: the body hash is the
 * plain canonicaliser's. */
static void test_words(void)
{
    static const char *const parts[] = {
        "word", " ", "  ", "\t", " \t ", "x", "\r\n", "\r\n\r\n", "a b",
        "longer-word.", " z"
    };
    apr_size_t chunks[] = {1, 2, 3, 7, 64, 65536};
    uint32_t seed = 12345;
    int round, i, bad = 0;

    for (round = 0; round < 200; round++) {
        char *body = "";
        const char *want, *msg;

        for (i = 0; i < 40; i++) {
            seed = seed * 1103515245u + 12345u;
            body = apr_pstrcat(pool, body, parts[(seed >> 16) % 11], NULL);
        }
        want = bh_of(relaxed_reference(body));
        msg = apr_pstrcat(pool, "From: a@example.com\r\n\r\n", body, NULL);
        for (i = 0; i < 6; i++) {
            bad += strstr(signature(msg, chunks[i]), want) == NULL;
        }
    }
    UNIT_CHECK(bad == 0, apr_psprintf(pool, "200 bodies of words and white "
                                      "space in 6 chunkings: %d differ from "
                                      "the plain canonicaliser", bad));
}

static void test_refusals(void)
{
    ssd_signer_t *s;

    UNIT_STR_EQ(run("Subject: x\r\n\r\nbody\r\n", 64, &s), "no_from",
                "no From header");
    UNIT_STR_EQ(run("From: a@example.com\r\nFrom: b@example.com\r\n\r\n", 64,
                    &s), "multiple_from", "two From headers");
    UNIT_STR_EQ(run("FROM: a@example.com\r\nfrom: b@example.com\r\n\r\n", 5,
                    &s), "multiple_from", "From matched case-insensitively");
    UNIT_STR_EQ(run("From: not an address\r\n\r\n", 64, &s), "invalid_from",
                "From without an address");
    UNIT_STR_EQ(run("From: a@b@example.com\r\n\r\n", 64, &s), "invalid_from",
                "From with two @");
    UNIT_STR_EQ(run("From: a@example.com, b@example.com\r\n\r\n", 64, &s),
                "invalid_from", "From with two mailboxes");
    UNIT_STR_EQ(run("From: a@example.com\n\r\nbody", 64, &s), "bare_lf",
                "bare LF in the header section");
    UNIT_STR_EQ(run("From: a@example.com\r\n\r\nline\nline\r\n", 64, &s),
                "bare_lf", "bare LF in the body");
    UNIT_STR_EQ(run("From: a@example.com\r\n\r\nline\rx\r\n", 64, &s),
                "bare_cr", "bare CR in the body");
    UNIT_STR_EQ(run("From: a@example.com\r\nSubject: caf\xc3\xa9\r\n\r\n", 64,
                    &s), "eight_bit_header", "8-bit bytes in a header");
    UNIT_STR_EQ(run("From a@example.com\r\n\r\n", 64, &s), "malformed_header",
                "a header line without a colon");
    UNIT_STR_EQ(run(" folded: x\r\nFrom: a@example.com\r\n\r\n", 64, &s),
                "malformed_header", "a continuation line first");
    UNIT_STR_EQ(run("From: Alice <alice@Mail.Example.com>\r\n\r\n", 64, &s),
                "ok", "display name and angle address");
    UNIT_STR_EQ(ssd_signer_from_domain(s), "Mail.Example.com",
                "the From domain as written");
    UNIT_STR_EQ(run("From: alice@example.org (Alice (A.) Example)\r\n\r\n",
                    64, &s), "ok", "an address followed by a comment");
    UNIT_STR_EQ(ssd_signer_from_domain(s), "example.org",
                "the comment is not part of the domain");
    UNIT_STR_EQ(run("From: \"a (b)\" <c@example.net>\r\n\r\n", 64, &s),
                "ok", "parentheses inside a quoted display name");
    UNIT_STR_EQ(ssd_signer_from_domain(s), "example.net",
                "the quoted display name is skipped");
}

/* Regressions: white space after a colon inside a value is a value's
 * white space (only the one after the field name goes). */
static void test_relaxed_colons(void)
{
    UNIT_STR_EQ(ssd_sign_relaxed_header(pool, "Subject: Re: your order", 1),
                "subject:Re: your order\r\n", "a colon in the Subject value "
                "keeps the space after it");
    UNIT_STR_EQ(ssd_sign_relaxed_header(pool, "To: \"Sales: EU\" "
                                        "<a@b.example>", 0),
                "to:\"Sales: EU\" <a@b.example>", "a colon in a quoted display "
                "name keeps its space");
    UNIT_STR_EQ(ssd_sign_relaxed_header(pool, "Subject:\r\n Fwd:\tRe:  x  ",
                                        0), "subject:Fwd: Re: x",
                "folded value: runs of white space become one space");
    UNIT_STR_EQ(ssd_sign_relaxed_header(pool, "X-A:::b: :", 0), "x-a:::b: :",
                "colons right after the name are value characters");
}

/* Regressions: one mailbox in From:, no NUL, a bounded field count. */
static void test_hostile_headers(void)
{
    ssd_signer_t *s = NULL;
    char *many;
    apr_size_t i;

    UNIT_STR_EQ(run("From: <a@bank.example> <x@tenant.example>\r\n\r\n", 64,
                    &s), "invalid_from", "two angle addresses in From");
    UNIT_STR_EQ(run("From: a@bank.example <x@tenant.example>\r\n\r\n", 64,
                    &s), "invalid_from", "an address as a display name");
    UNIT_STR_EQ(run("From: Group: a@x.example;\r\n\r\n", 64, &s),
                "invalid_from", "a group in From");
    UNIT_STR_EQ(run("From: \"Bank <a@bank.example>\" <x@tenant.example>"
                    "\r\n\r\n", 64, &s), "ok", "angle brackets inside a quoted "
                "display name");
    UNIT_STR_EQ(s ? ssd_signer_from_domain(s) : NULL, "tenant.example",
                "the address after the quoted name");
    {
        static const char msg[] = "From: a@example.com\r\nX: a\0b\r\n\r\n";
        ssd_signer_t *t = ssd_signer_new(pool, 4096);
        ssd_sign_error_t err;

        UNIT_CHECK(ssd_signer_feed(t, msg, sizeof(msg) - 1, &err) != 0
                   && strcmp(err.code, "invalid_message") == 0,
                   "a NUL byte in the header section is invalid_message");
    }
    many = apr_palloc(pool, 30 * 1200 + 64);
    strcpy(many, "From: a@example.com\r\n");
    for (i = 0; i < 1000; i++) {
        strcat(many, "X-F: v\r\n");
    }
    strcat(many, "\r\nbody\r\n");
    {
        ssd_signer_t *t = ssd_signer_new(pool, 64 * 1024);
        ssd_sign_error_t err;
        int rc = ssd_signer_feed(t, many, strlen(many), &err);

        rc = rc ? rc : ssd_signer_finish(t, &err);
        UNIT_CHECK(rc != 0 && strcmp(err.code, "too_many_header_fields") == 0,
                   "1,001 header fields are too_many_header_fields");
    }
}

static void test_headers(void)
{
    const char *sig = signature("From: Alice <a@example.com>\r\nTo: b@x.test"
                                "\r\nSubject:  hello\r\n   world \r\nX-Other: "
                                "y\r\n\r\nbody\r\n", 64);
    const char *want = "DKIM-Signature: v=1; a=rsa-sha256; "
        "c=relaxed/relaxed; d=example.com; s=sel; t=1700000000; "
        "h=from:from:to:to:subject:subject:date; bh=";

    UNIT_STR_EQ(ssd_sign_relaxed_header(pool, "SubJect :  A \r\n\t B  ", 1),
                "subject:A B\r\n", "relaxed header canonicalisation");

    UNIT_CHECK(strncmp(sig, want, strlen(want)) == 0,
               "h= over-signs from, to, subject and the absent date; no "
               "X-Other");
    UNIT_CHECK(strstr(sig, "; b=") && strlen(strstr(sig, "; b=")) == 4 + 344,
               "b= holds a 2048-bit signature");
}

/* An Ed25519 signature (RFC 8463): PureEdDSA over the SHA-256 of the
 * signing input, checked here with OpenSSL on the input rebuilt by hand;
 * the configured header list and x=. */
static void test_ed25519(void)
{
    const char *msg = "From: Alice <a@example.com>\r\nSubject:  hello\r\n"
                      "   world \r\nTo: b@x.test\r\n\r\nbody\r\n";
    apr_array_header_t *names = apr_array_make(pool, 2, sizeof(char *));
    ssd_sign_params_t sp = {"example.com", "sel-ed25519",
                            apr_time_from_sec(1700000000), 3600, names,
                            NULL};
    ssd_signer_t *s = NULL;
    EVP_PKEY *ed = NULL;
    const char *sig, *b, *want = "DKIM-Signature: v=1; a=ed25519-sha256; "
        "c=relaxed/relaxed; d=example.com; s=sel-ed25519; t=1700000000; "
        "x=1700003600; h=from:from:subject:subject; bh=";
    unsigned char digest[32], *raw;
    apr_size_t n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const char *input;
    int ok;

    APR_ARRAY_PUSH(names, const char *) = "from";
    APR_ARRAY_PUSH(names, const char *) = "subject";
    ssd_dkim_generate(pool, SSD_DKIM_ED25519, 0, &ed);
    sig = strcmp(run(msg, 7, &s), "ok") == 0 ? ssd_signer_sign(s, ed, &sp)
                                              : NULL;
    UNIT_CHECK(sig && strncmp(sig, want, strlen(want)) == 0,
               "Ed25519: a=ed25519-sha256, x= after t=, the configured h=");
    b = sig ? strstr(sig, "; b=") : NULL;
    UNIT_CHECK(b && strlen(b) == 4 + 88, "Ed25519: b= holds 64 bytes");
    raw = b ? ssd_b64_decode(pool, b + 4, &n) : NULL;
    input = sig ? apr_pstrcat(pool, "from:Alice <a@example.com>\r\n"
                              "subject:hello world\r\n"
                              "dkim-signature:", sig + strlen("DKIM-Signature: "),
                              NULL) : "";
    input = apr_pstrndup(pool, input, strlen(input) - (b ? strlen(b) - 4 : 0));
    EVP_Digest(input, strlen(input), digest, NULL, EVP_sha256(), NULL);
    ok = raw && n == 64 && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, ed) > 0
         && EVP_DigestVerify(ctx, raw, n, digest, sizeof(digest)) == 1;
    EVP_MD_CTX_free(ctx);
    UNIT_CHECK(ok, "Ed25519: the signature verifies over SHA-256(input)");
    sig = ssd_signer_sign(s, key, &sp);
    UNIT_CHECK(sig && strncmp(sig, "DKIM-Signature: v=1; a=rsa-sha256; ", 35)
               == 0 && strstr(sig, "; x=1700003600; h=from:from:subject:subject; bh="),
               "the same signer signs with RSA next, h= state reset");
}

/* A prepared RSA context (the key cache's) signs exactly as a fresh one:
 * PKCS#1 v1.5 is deterministic, so the two headers are the same bytes;
 * an Ed25519 key has none; a copy made per request signs too. */
static void test_prepared(void)
{
    const char *msg = "From: a@example.com\r\nTo: b@x.test\r\n\r\nhi\r\n";
    ssd_sign_params_t sp = {"example.com", "sel",
                            apr_time_from_sec(1700000000), 0, NULL, NULL};
    EVP_PKEY_CTX *prepared = ssd_sign_prepare(key), *copy;
    const char *fresh, *ready, *again;
    ssd_signer_t *s = NULL;
    EVP_PKEY *ed = NULL;

    UNIT_CHECK(prepared != NULL, "an RSA key gets a prepared context");
    UNIT_CHECK(strcmp(run(msg, 5, &s), "ok") == 0, "the message is taken");
    fresh = ssd_signer_sign(s, key, &sp);
    sp.prepared = prepared;
    ready = ssd_signer_sign(s, key, &sp);
    copy = EVP_PKEY_CTX_dup(prepared);
    sp.prepared = copy;
    again = ssd_signer_sign(s, key, &sp);
    UNIT_CHECK(fresh && ready && strcmp(fresh, ready) == 0,
               "prepared and fresh RSA signatures are the same bytes");
    UNIT_CHECK(again && strcmp(fresh, again) == 0,
               "a copy of the prepared context signs the same");
    ssd_dkim_generate(pool, SSD_DKIM_ED25519, 0, &ed);
    UNIT_CHECK(ssd_sign_prepare(ed) == NULL,
               "an Ed25519 key has no prepared context");
    EVP_PKEY_CTX_free(copy);
    EVP_PKEY_CTX_free(prepared);
}

int main(void)
{
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    ssd_dkim_generate(pool, SSD_DKIM_RSA, 2048, &key);
    test_body();
    test_long_runs();
    test_words();
    test_refusals();
    test_relaxed_colons();
    test_hostile_headers();
    test_headers();
    test_ed25519();
    test_prepared();
    rc = UNIT_DONE();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
