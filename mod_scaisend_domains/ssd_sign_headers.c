/* ssd_sign_headers: the header section of a message to sign -- fields,
 * the From: address, relaxed canonicalisation and the signature itself. */
#include "ssd_sign_internal.h"
#include "ssd_b64.h"

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

static int add_field(ssd_signer_t *s, const char *start, const char *end,
                     ssd_sign_error_t *err)
{
    const char *colon = memchr(start, ':', (apr_size_t)(end - start));
    ssd_field_t *f;

    if (!colon || !valid_name(start, colon)) {
        return fail(err, "malformed_header", "a header line is not "
                    "'Name: value'");
    }
    f = apr_array_push(s->fields);
    f->name = apr_pstrmemdup(s->pool, start, (apr_size_t)(colon - start));
    f->raw = apr_pstrmemdup(s->pool, start, (apr_size_t)(end - start));
    f->used = 0;
    return 0;
}

static const char *find_crlf(const char *p, const char *end)
{
    for (; p + 1 < end; p++) {
        if (p[0] == '\r' && p[1] == '\n') {
            return p;
        }
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

/* The value after "Name:", unfolded, without surrounding white space. */
static char *field_value(apr_pool_t *p, const ssd_field_t *f)
{
    const char *v = strchr(f->raw, ':') + 1;
    char *out = apr_palloc(p, strlen(v) + 1), *o = out;

    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') v++;
    for (; *v; v++) {
        if (*v != '\r' && *v != '\n') *o++ = *v;
    }
    while (o > out && (o[-1] == ' ' || o[-1] == '\t')) o--;
    *o = '\0';
    return out;
}

/* Remove RFC 5322 comments -- "(...)", nested, outside quoted strings --
 * and the white space at both ends. */
static char *without_comments(char *v)
{
    char *in = v, *out = v;
    int depth = 0, quoted = 0;

    for (; *in; in++) {
        if (*in == '\\' && in[1] && (quoted || depth)) {
            if (!depth) { *out++ = *in; *out++ = in[1]; }
            in++;
            continue;
        }
        if (!quoted && *in == '(') { depth++; continue; }
        if (!quoted && depth && *in == ')') { depth--; continue; }
        if (depth) continue;
        quoted ^= *in == '"';
        *out++ = *in;
    }
    while (out > v && (out[-1] == ' ' || out[-1] == '\t')) out--;
    *out = '\0';
    return v + strspn(v, " \t");
}

/* The address of "a@b" or "Name <a@b>" (comments allowed): one mailbox,
 * nothing else. */
static const char *mailbox(apr_pool_t *p, char *value)
{
    char *lt, *gt, *addr;

    value = without_comments(value);
    lt = strrchr(value, '<');
    addr = value;

    if (lt) {
        gt = strchr(lt, '>');
        if (!gt || gt[1] != '\0') return NULL;
        *gt = '\0';
        addr = lt + 1;
    }
    if (!*addr || strpbrk(addr, " \t,;<>()\"") || strchr(addr, '@') !=
        strrchr(addr, '@')) {
        return NULL;
    }
    return apr_pstrdup(p, addr);
}

int ssd_sign_find_from(ssd_signer_t *s, ssd_sign_error_t *err)
{
    const ssd_field_t *from = NULL;
    const char *addr, *at;
    int i;

    for (i = 0; i < s->fields->nelts; i++) {
        const ssd_field_t *f = &APR_ARRAY_IDX(s->fields, i, ssd_field_t);

        if (strcasecmp(f->name, "From") == 0) {
            if (from) return fail(err, "multiple_from", "the message has "
                                  "two From: headers");
            from = f;
        }
    }
    if (!from) {
        return fail(err, "no_from", "the message has no From: header");
    }
    addr = mailbox(s->pool, field_value(s->pool, from));
    at = addr ? strchr(addr, '@') : NULL;
    if (!at || at == addr || !at[1]) {
        return fail(err, "invalid_from", "the From: header does not hold "
                    "one address of the form local@domain");
    }
    s->from_domain = at + 1;
    return 0;
}
