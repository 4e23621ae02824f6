/* ssd_sign: streaming relaxed/relaxed DKIM signing. The header section is
 * buffered (bounded); the body goes through a byte-wise relaxed
 * canonicaliser straight into SHA-256. */
#include "ssd_sign.h"
#include "ssd_b64.h"
#include "ssd_sign_internal.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#define OUT_CHUNK 8192

static EVP_MD *sha256;      /* fetched once (ssd_signer_init), read-only */

void ssd_signer_init(void)
{
    if (!sha256) {
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    }
}

const EVP_MD *ssd_sign_sha256(void)
{
    return sha256 ? sha256 : EVP_sha256();
}

static apr_status_t md_cleanup(void *data)
{
    EVP_MD_CTX_free(data);
    return APR_SUCCESS;
}

ssd_signer_t *ssd_signer_new(apr_pool_t *p, apr_size_t max_header_bytes)
{
    ssd_signer_t *s = apr_pcalloc(p, sizeof(*s));

    s->pool = p;
    s->max_header = max_header_bytes;
    s->header = apr_palloc(p, max_header_bytes);
    s->out = apr_palloc(p, OUT_CHUNK);
    s->body_md = EVP_MD_CTX_new();
    if (!s->body_md || !EVP_DigestInit_ex(s->body_md, ssd_sign_sha256(),
                                          NULL)) {
        EVP_MD_CTX_free(s->body_md);
        return NULL;
    }
    apr_pool_cleanup_register(p, s->body_md, md_cleanup,
                              apr_pool_cleanup_null);
    s->in_headers = 1;
    return s;
}

static int fail(ssd_sign_error_t *err, const char *code, const char *msg)
{
    err->code = code;
    err->message = msg;
    return -1;
}

/* ---- body: relaxed canonicalisation (RFC 6376 section 3.4.4) ---- */

static void emit(ssd_signer_t *s, const char *b, apr_size_t n)
{
    if (s->out_len + n > OUT_CHUNK) {
        EVP_DigestUpdate(s->body_md, s->out, s->out_len);
        s->out_len = 0;
    }
    memcpy(s->out + s->out_len, b, n);
    s->out_len += n;
}

/* The bytes relaxed body canonicalisation treats specially: white space
 * and line ends. Every other byte is copied as it is. */
static const unsigned char body_special[256] = {
    [' '] = 1, ['\t'] = 1, ['\r'] = 1, ['\n'] = 1,
};

static int is_plain(unsigned char c)
{
    return !body_special[c];
}

/* How many bytes from b on are ordinary (no white space, CR or LF). */
static apr_size_t plain_bytes(const unsigned char *b, apr_size_t len)
{
    apr_size_t n = 0;

    while (n + 4 <= len && !(body_special[b[n]] | body_special[b[n + 1]]
                             | body_special[b[n + 2]]
                             | body_special[b[n + 3]])) {
        n += 4;
    }
    while (n < len && is_plain(b[n])) {
        n++;
    }
    return n;
}

/* A run of bytes that relaxed canonicalisation keeps as they are, inside
 * a line that has content and no white space pending: ordinary bytes (no
 * white space, CR or LF) and single spaces between them -- words. It is
 * hashed in one piece, not byte by byte. */
static apr_size_t body_run(ssd_signer_t *s, const char *b, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)b;
    apr_size_t n = 0;

    if (s->cr || s->pending_wsp || !s->line_has_content) {
        return 0;
    }
    for (;;) {
        n += plain_bytes(u + n, len - n);
        if (n + 1 < len && u[n] == ' ' && is_plain(u[n + 1])) {
            n += 2;
            continue;
        }
        break;
    }
    if (n > OUT_CHUNK / 2) {
        EVP_DigestUpdate(s->body_md, s->out, s->out_len);
        s->out_len = 0;
        EVP_DigestUpdate(s->body_md, b, n);
    }
    else if (n > 0) {
        emit(s, b, n);
    }
    return n;
}

static void end_body_line(ssd_signer_t *s)
{
    if (s->line_has_content) {
        emit(s, "\r\n", 2);
    }
    else {
        s->empty_lines++;
    }
    s->line_has_content = s->pending_wsp = 0;
}

static void body_char(ssd_signer_t *s, char c)
{
    if (c == ' ' || c == '\t') {
        s->pending_wsp = 1;
        return;
    }
    if (!s->line_has_content) {
        for (; s->empty_lines > 0; s->empty_lines--) {
            emit(s, "\r\n", 2);
        }
    }
    if (s->pending_wsp) {
        emit(s, " ", 1);
        s->pending_wsp = 0;
    }
    emit(s, &c, 1);
    s->line_has_content = 1;
}

static int body_byte(ssd_signer_t *s, char c, ssd_sign_error_t *err)
{
    if (s->cr) {
        s->cr = 0;
        if (c != '\n') {
            return fail(err, "bare_cr", "a CR not followed by LF: lines "
                        "must end with CRLF");
        }
        end_body_line(s);
        return 0;
    }
    if (c == '\r') {
        s->cr = 1;
        return 0;
    }
    if (c == '\n') {
        return fail(err, "bare_lf", "a line ends with a bare LF: lines must "
                    "end with CRLF");
    }
    body_char(s, c);
    return 0;
}

/* ---- header section ---- */

static int header_byte(ssd_signer_t *s, char c, ssd_sign_error_t *err)
{
    apr_size_t n = s->header_len;

    if (c == '\0') {
        return fail(err, "invalid_message", "the header section holds a NUL "
                    "byte");
    }
    if ((unsigned char)c >= 0x80) {
        return fail(err, "eight_bit_header", "the header section holds "
                    "8-bit bytes: encode them (RFC 2047) before signing");
    }
    if (c == '\n' && (n == 0 || s->header[n - 1] != '\r')) {
        return fail(err, "bare_lf", "a header line ends with a bare LF: "
                    "lines must end with CRLF");
    }
    if (n > 0 && s->header[n - 1] == '\r' && c != '\n') {
        return fail(err, "bare_cr", "a CR not followed by LF in the header "
                    "section");
    }
    if (n == s->max_header) {
        return fail(err, "header_too_large", "the header section is too "
                    "large");
    }
    s->header[s->header_len++] = c;
    n = s->header_len;
    s->in_headers = !((n == 2 && memcmp(s->header, "\r\n", 2) == 0)
                      || (n >= 4 && memcmp(s->header + n - 4, "\r\n\r\n", 4)
                                        == 0));
    return 0;
}

int ssd_signer_feed(ssd_signer_t *s, const char *buf, apr_size_t len,
                    ssd_sign_error_t *err)
{
    apr_size_t i = 0;

    while (i < len) {
        apr_size_t run = s->in_headers ? 0 : body_run(s, buf + i, len - i);
        int rc;

        if (run > 0) {
            i += run;
            continue;
        }
        rc = s->in_headers ? header_byte(s, buf[i], err)
                           : body_byte(s, buf[i], err);
        if (rc != 0) {
            return rc;
        }
        i++;
    }
    return 0;
}

static void finish_body(ssd_signer_t *s)
{
    unsigned int n = 0;

    if (s->line_has_content) {
        emit(s, "\r\n", 2);         /* a last line without CRLF gets one */
    }
    EVP_DigestUpdate(s->body_md, s->out, s->out_len);
    s->out_len = 0;
    EVP_DigestFinal_ex(s->body_md, s->body_hash, &n);
}

int ssd_signer_finish(ssd_signer_t *s, ssd_sign_error_t *err)
{
    if (s->cr || (s->header_len && s->header[s->header_len - 1] == '\r')) {
        return fail(err, "bare_cr", "the message ends with a bare CR");
    }
    finish_body(s);
    if (ssd_sign_parse_headers(s, err) != 0) {
        return -1;
    }
    return ssd_sign_find_from(s, err);
}

const char *ssd_signer_from_domain(const ssd_signer_t *s)
{
    return s->from_domain;
}
