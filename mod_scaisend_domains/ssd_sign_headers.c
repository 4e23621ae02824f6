/* ssd_sign_headers: the header section of a message to sign -- its
 * fields, indexed by name, and the one From: mailbox. */
#include "ssd_sign_internal.h"
#include "ssd_mailbox.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

static int fail(ssd_sign_error_t *err, const char *code, const char *msg)
{
    err->code = code;
    err->message = msg;
    return -1;
}

static int valid_name(const char *start, const char *colon)
{
    const char *c;

    for (c = start; c < colon; c++) {
        if (*c < 33 || *c > 126) {
            return 0;
        }
    }
    return colon > start;
}

static char *lower_name(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *out = apr_pstrmemdup(p, s, n), *c;

    for (c = out; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return out;
}

static void index_field(ssd_signer_t *s, const char *name, int at)
{
    ssd_field_set_t *set = apr_hash_get(s->by_name, name,
                                        APR_HASH_KEY_STRING);

    if (!set) {
        set = apr_pcalloc(s->pool, sizeof(*set));
        set->at = apr_array_make(s->pool, 1, sizeof(int));
        apr_hash_set(s->by_name, name, APR_HASH_KEY_STRING, set);
    }
    APR_ARRAY_PUSH(set->at, int) = at;
}

static int add_field(ssd_signer_t *s, const char *start, const char *end,
                     ssd_sign_error_t *err)
{
    const char *colon = memchr(start, ':', (apr_size_t)(end - start));
    ssd_field_t *f;

    if (!colon || !valid_name(start, colon)) {
        return fail(err, "malformed_header", "a header line is not "
                    "'Name: value'");
    }
    if (s->fields->nelts == SSD_SIGN_MAX_FIELDS) {
        return fail(err, "too_many_header_fields", apr_psprintf(s->pool,
                    "the message has more than %d header fields",
                    SSD_SIGN_MAX_FIELDS));
    }
    f = apr_array_push(s->fields);
    f->raw = start;
    f->len = (apr_size_t)(end - start);
    index_field(s, lower_name(s->pool, start, (apr_size_t)(colon - start)),
                s->fields->nelts - 1);
    return 0;
}

static const char *find_crlf(const char *p, const char *end)
{
    const char *cr;

    while ((cr = memchr(p, '\r', (apr_size_t)(end - p)))) {
        if (cr + 1 < end && cr[1] == '\n') {
            return cr;
        }
        p = cr + 1;
    }
    return end;
}

/* Split the buffered section (up to its blank line) into fields; a line
 * starting with white space continues the previous field. */
int ssd_sign_parse_headers(ssd_signer_t *s, ssd_sign_error_t *err)
{
    const char *p = s->header, *end = s->header + s->header_len;
    const char *start = NULL, *field_end = NULL, *eol;

    s->fields = apr_array_make(s->pool, 16, sizeof(ssd_field_t));
    s->by_name = apr_hash_make(s->pool);
    for (; p < end; p = eol == end ? end : eol + 2) {
        eol = find_crlf(p, end);
        if (eol == p) {
            break;                                  /* the blank line */
        }
        if ((*p == ' ' || *p == '\t') && !start) {
            return fail(err, "malformed_header", "the header section "
                        "starts with a continuation line");
        }
        if (*p != ' ' && *p != '\t') {
            if (start && add_field(s, start, field_end, err) != 0) {
                return -1;
            }
            start = p;
        }
        field_end = eol;
    }
    return start ? add_field(s, start, field_end, err) : 0;
}

/* The value after "Name:", unfolded (line breaks dropped). */
static char *field_value(apr_pool_t *p, const ssd_field_t *f)
{
    const char *v = memchr(f->raw, ':', f->len) + 1, *end = f->raw + f->len;
    char *out = apr_palloc(p, (apr_size_t)(end - v) + 1), *o = out;

    for (; v < end; v++) {
        if (*v != '\r' && *v != '\n') *o++ = *v;
    }
    *o = '\0';
    return out;
}

int ssd_sign_find_from(ssd_signer_t *s, ssd_sign_error_t *err)
{
    ssd_field_set_t *from = apr_hash_get(s->by_name, "from",
                                         APR_HASH_KEY_STRING);
    const char *addr, *domain, *why;

    if (!from) {
        return fail(err, "no_from", "the message has no From: header");
    }
    if (from->at->nelts > 1) {
        return fail(err, "multiple_from", "the message has two From: "
                    "headers");
    }
    why = ssd_mailbox_parse(s->pool, field_value(s->pool, &APR_ARRAY_IDX(
                            s->fields, APR_ARRAY_IDX(from->at, 0, int),
                            ssd_field_t)), &addr, &domain);
    if (why) {
        return fail(err, "invalid_from", apr_pstrcat(s->pool, "the From: "
                    "header must hold exactly one address of the form "
                    "local@domain (", why, ")", NULL));
    }
    s->from_domain = domain;
    return 0;
}
