/* ssd_json: strict JSON input and pool-bound json-c objects.
 *
 * json-c accepts duplicate keys (the last one wins) and is lenient in
 * other ways, so a request body is first checked by the small validating
 * scanner below and only then handed to json_tokener in strict mode. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "ssd_json.h"

#define SSD_JSON_ERROR     "invalid_json"
#define MSG_NUL            "NUL character in a string"
#define KEY_ECHO_MAX       64      /* bytes of a duplicate key echoed back */

typedef struct {
    apr_pool_t *scratch;    /* scanner allocations, destroyed afterwards */
    apr_pool_t *p;          /* messages */
    const char *buf;
    apr_size_t len;
    apr_size_t pos;
    int depth;
    int max_depth;
    const char *msg;        /* first error */
} scanner_t;

/* ---- UTF-8 ------------------------------------------------------------ */

/* Sequence length, payload bits and smallest code point for a lead byte;
 * 0 when the byte cannot start a sequence. */
static apr_size_t utf8_lead(unsigned char c, unsigned int *cp,
                            unsigned int *min)
{
    if (c >= 0xc2 && c <= 0xdf) {
        *cp = c & 0x1f;
        *min = 0x80;
        return 2;
    }
    if ((c & 0xf0) == 0xe0) {
        *cp = c & 0x0f;
        *min = 0x800;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        *cp = c & 0x07;
        *min = 0x10000;
        return 4;
    }
    return 0;
}

static apr_size_t utf8_seq_len(const unsigned char *s, apr_size_t avail)
{
    unsigned int cp, min;
    apr_size_t n, i;

    if (s[0] < 0x80) {
        return 1;
    }
    if (!(n = utf8_lead(s[0], &cp, &min)) || avail < n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

apr_size_t ssd_utf8_valid_len(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0, n;

    while (i < len) {
        if (!(n = utf8_seq_len(u + i, len - i))) {
            return i;
        }
        i += n;
    }
    return len;
}

static void utf8_append(apr_array_header_t *out, unsigned int cp)
{
    char b[4];
    int n, i;

    if (cp < 0x80) {
        b[0] = (char)cp, n = 1;
    }
    else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6)), n = 2;
    }
    else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12)), n = 3;
    }
    else {
        b[0] = (char)(0xf0 | (cp >> 18)), n = 4;
    }
    for (i = n - 1; i > 0; i--, cp >>= 6) {
        b[i] = (char)(0x80 | (cp & 0x3f));
    }
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(out, char) = b[i];
    }
}

/* ---- scanner primitives ---------------------------------------------- */

static int fail(scanner_t *s, const char *msg)
{
    if (!s->msg) {
        s->msg = msg;
    }
    return 0;
}

static int malformed(scanner_t *s)
{
    return fail(s, apr_psprintf(s->p, "malformed JSON at byte %"
                                APR_SIZE_T_FMT, s->pos));
}

static int peek(const scanner_t *s)
{
    return s->pos < s->len ? (unsigned char)s->buf[s->pos] : -1;
}

static void skip_ws(scanner_t *s)
{
    int c;

    while ((c = peek(s)) == ' ' || c == '\t' || c == '\n' || c == '\r') {
        s->pos++;
    }
}

static int expect(scanner_t *s, char c)
{
    if (peek(s) != c) {
        return malformed(s);
    }
    s->pos++;
    return 1;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* ---- strings ---------------------------------------------------------- */

/* At the 'u' of a \uXXXX escape. */
static int read_hex4(scanner_t *s, unsigned int *cp)
{
    unsigned int v = 0;
    int i, d;

    s->pos++;
    for (i = 0; i < 4; i++, s->pos++) {
        if ((d = hex_value(peek(s))) < 0) {
            return malformed(s);
        }
        v = (v << 4) | (unsigned int)d;
    }
    *cp = v;
    return 1;
}

static int surrogate_error(scanner_t *s, apr_size_t at)
{
    return fail(s, apr_psprintf(s->p, "unpaired surrogate in a \\u escape "
                                "at byte %" APR_SIZE_T_FMT, at));
}

static int has_u_escape_next(const scanner_t *s)
{
    return s->pos + 1 < s->len && s->buf[s->pos] == '\\'
           && s->buf[s->pos + 1] == 'u';
}

/* After a high surrogate escape: the low one must follow. */
static int scan_low_surrogate(scanner_t *s, apr_size_t start,
                              unsigned int *cp)
{
    unsigned int lo;

    if (!has_u_escape_next(s)) {
        return surrogate_error(s, start);
    }
    s->pos++;
    if (!read_hex4(s, &lo)) {
        return 0;
    }
    if (lo < 0xdc00 || lo > 0xdfff) {
        return surrogate_error(s, start);
    }
    *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    return 1;
}

/* At the 'u'; out may be NULL when the value is not needed. */
static int scan_unicode_escape(scanner_t *s, apr_array_header_t *out)
{
    apr_size_t start = s->pos - 1;
    unsigned int cp;

    if (!read_hex4(s, &cp)) {
        return 0;
    }
    if (cp >= 0xdc00 && cp <= 0xdfff) {
        return surrogate_error(s, start);
    }
    if (cp >= 0xd800 && cp <= 0xdbff && !scan_low_surrogate(s, start, &cp)) {
        return 0;
    }
    if (cp == 0) {
        return fail(s, MSG_NUL);
    }
    if (out) {
        utf8_append(out, cp);
    }
    return 1;
}

/* At the backslash. */
static int scan_escape(scanner_t *s, apr_array_header_t *out)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *e;
    int c;

    s->pos++;
    if ((c = peek(s)) == 'u') {
        return scan_unicode_escape(s, out);
    }
    if (c <= 0 || !(e = strchr(from, c))) {
        return malformed(s);
    }
    if (out) {
        APR_ARRAY_PUSH(out, char) = to[e - from];
    }
    s->pos++;
    return 1;
}

/* At the opening quote; the decoded text goes to out when not NULL.
 * Bytes >= 0x80 were checked by the UTF-8 pass. */
static int scan_string(scanner_t *s, apr_array_header_t *out)
{
    int c;

    s->pos++;
    for (;;) {
        if ((c = peek(s)) == '"') {
            s->pos++;
            return 1;
        }
        if (c == '\\') {
            if (!scan_escape(s, out)) {
                return 0;
            }
            continue;
        }
        if (c == 0) {
            return fail(s, MSG_NUL);
        }
        if (c < 0x20) {
            return malformed(s);
        }
        if (out) {
            APR_ARRAY_PUSH(out, char) = (char)c;
        }
        s->pos++;
    }
}

/* ---- numbers and literals -------------------------------------------- */

static int scan_digits(scanner_t *s)
{
    apr_size_t start = s->pos;

    while (peek(s) >= '0' && peek(s) <= '9') {
        s->pos++;
    }
    return s->pos > start;
}

static int scan_number(scanner_t *s)
{
    if (peek(s) == '-') {
        s->pos++;
    }
    if (peek(s) == '0') {
        s->pos++;
    }
    else if (!scan_digits(s)) {
        return malformed(s);
    }
    if (peek(s) == '.') {
        s->pos++;
        if (!scan_digits(s)) {
            return malformed(s);
        }
    }
    if (peek(s) == 'e' || peek(s) == 'E') {
        s->pos++;
        if (peek(s) == '+' || peek(s) == '-') {
            s->pos++;
        }
        if (!scan_digits(s)) {
            return malformed(s);
        }
    }
    return 1;
}

static int scan_literal(scanner_t *s, const char *word)
{
    apr_size_t n = strlen(word);

    if (s->len - s->pos < n || memcmp(s->buf + s->pos, word, n)) {
        return malformed(s);
    }
    s->pos += n;
    return 1;
}

/* ---- containers ------------------------------------------------------- */

static int scan_value(scanner_t *s);

/* At '{' or '['. */
static int enter(scanner_t *s)
{
    if (++s->depth > s->max_depth) {
        return fail(s, apr_psprintf(s->p, "nesting deeper than %d levels",
                                    s->max_depth));
    }
    s->pos++;
    skip_ws(s);
    return 1;
}

/* At the closing character. */
static int leave(scanner_t *s)
{
    s->depth--;
    s->pos++;
    return 1;
}

static const char *key_for_message(apr_pool_t *p, const char *key,
                                   apr_size_t len)
{
    apr_size_t n = len;

    if (n <= KEY_ECHO_MAX) {
        return apr_pstrmemdup(p, key, n);
    }
    n = KEY_ECHO_MAX;
    while (n > 0 && ((unsigned char)key[n] & 0xc0) == 0x80) {
        n--;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, key, n), "...", NULL);
}

static int scan_member(scanner_t *s, apr_hash_t *keys)
{
    apr_array_header_t *key = apr_array_make(s->scratch, 16, sizeof(char));

    if (peek(s) != '"') {
        return malformed(s);
    }
    if (!scan_string(s, key)) {
        return 0;
    }
    if (apr_hash_get(keys, key->elts, key->nelts)) {
        return fail(s, apr_psprintf(s->p, "duplicate key '%s'",
                                    key_for_message(s->p, key->elts,
                                                    key->nelts)));
    }
    apr_hash_set(keys, key->elts, key->nelts, "");
    skip_ws(s);
    return expect(s, ':') && scan_value(s);
}

static int scan_object(scanner_t *s)
{
    apr_hash_t *keys = apr_hash_make(s->scratch);

    if (!enter(s)) {
        return 0;
    }
    if (peek(s) == '}') {
        return leave(s);
    }
    for (;;) {
        if (!scan_member(s, keys)) {
            return 0;
        }
        skip_ws(s);
        if (peek(s) == '}') {
            return leave(s);
        }
        if (!expect(s, ',')) {
            return 0;
        }
        skip_ws(s);
    }
}

static int scan_array(scanner_t *s)
{
    if (!enter(s)) {
        return 0;
    }
    if (peek(s) == ']') {
        return leave(s);
    }
    for (;;) {
        if (!scan_value(s)) {
            return 0;
        }
        skip_ws(s);
        if (peek(s) == ']') {
            return leave(s);
        }
        if (!expect(s, ',')) {
            return 0;
        }
    }
}

static int scan_value(scanner_t *s)
{
    skip_ws(s);
    switch (peek(s)) {
    case '{':
        return scan_object(s);
    case '[':
        return scan_array(s);
    case '"':
        return scan_string(s, NULL);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        return scan_number(s);
    }
}

/* ---- strict parse ----------------------------------------------------- */

/* Returns NULL when buf holds exactly one JSON object (and whitespace);
 * *end receives the offset just past it. */
static const char *validate(scanner_t *s, apr_size_t *end)
{
    int first;

    if (ssd_utf8_valid_len(s->buf, s->len) != s->len) {
        return "invalid UTF-8";
    }
    skip_ws(s);
    if ((first = peek(s)) < 0) {
        return "request body is empty";
    }
    if (!scan_value(s)) {
        return s->msg;
    }
    if (first != '{') {
        return "expected a JSON object";
    }
    *end = s->pos;
    skip_ws(s);
    return s->pos == s->len ? NULL : "unexpected data after the JSON object";
}

static json_object *tokenise(const char *buf, apr_size_t len, int max_depth)
{
    int depth = max_depth < JSON_TOKENER_DEFAULT_DEPTH
                ? JSON_TOKENER_DEFAULT_DEPTH : max_depth + 1;
    json_tokener *tok = json_tokener_new_ex(depth);
    json_object *o;

    if (!tok) {
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    o = json_tokener_parse_ex(tok, buf, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success
        || json_object_get_type(o) != json_type_object) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static apr_status_t json_put_cleanup(void *data)
{
    json_object_put(data);
    return APR_SUCCESS;
}

json_object *ssd_json_bind(apr_pool_t *p, json_object *o)
{
    if (o) {
        apr_pool_cleanup_register(p, o, json_put_cleanup,
                                  apr_pool_cleanup_null);
    }
    return o;
}

static json_object *parse_error(ssd_json_error_t *err, const char *msg)
{
    err->code = SSD_JSON_ERROR;
    err->message = msg;
    return NULL;
}

json_object *ssd_json_parse_strict(apr_pool_t *p, const char *buf,
                                   apr_size_t len, int max_depth,
                                   ssd_json_error_t *err)
{
    scanner_t s = { NULL, p, buf, len, 0, 0, max_depth, NULL };
    apr_size_t end = 0;
    const char *msg;
    json_object *o;

    if (!buf || len == 0) {
        return parse_error(err, "request body is empty");
    }
    if (len > INT_MAX) {
        return parse_error(err, "JSON text too large");
    }
    if (apr_pool_create(&s.scratch, p) != APR_SUCCESS) {
        return parse_error(err, "out of memory");
    }
    msg = validate(&s, &end);
    apr_pool_destroy(s.scratch);
    if (msg) {
        return parse_error(err, msg);
    }
    if (!(o = tokenise(buf, end, max_depth))) {
        return parse_error(err, "malformed JSON");
    }
    err->code = err->message = NULL;
    return ssd_json_bind(p, o);
}

/* ---- building and serialising ----------------------------------------- */

json_object *ssd_json_new_object(apr_pool_t *p)
{
    return ssd_json_bind(p, json_object_new_object());
}

const char *ssd_json_to_string(apr_pool_t *p, json_object *o)
{
    return apr_pstrdup(p, json_object_to_json_string_ext(
                              o, JSON_C_TO_STRING_PLAIN
                                 | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* v with every byte that is not part of valid UTF-8 replaced by U+FFFD,
 * so that an answer stays valid JSON whatever bytes it echoes; malloc'd. */
static char *valid_utf8(const char *v, apr_size_t len)
{
    char *out = malloc(len * 3 + 1), *o = out;
    apr_size_t ok;

    if (!out) {
        return NULL;
    }
    while (len > 0) {
        ok = ssd_utf8_valid_len(v, len);
        memcpy(o, v, ok);
        o += ok;
        v += ok;
        len -= ok;
        if (len > 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            v++;
            len--;
        }
    }
    *o = '\0';
    return out;
}

static json_object *new_string(const char *v)
{
    apr_size_t len = strlen(v);
    json_object *s;
    char *fixed;

    if (ssd_utf8_valid_len(v, len) == len) {
        return json_object_new_string(v);
    }
    fixed = valid_utf8(v, len);
    s = json_object_new_string(fixed ? fixed : "");
    free(fixed);
    return s;
}

void ssd_json_add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? new_string(v) : NULL);
}

void ssd_json_add_bool(json_object *o, const char *k, int v)
{
    json_object_object_add(o, k, json_object_new_boolean(v ? 1 : 0));
}

void ssd_json_add_int(json_object *o, const char *k, long long v)
{
    json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

const char *ssd_json_pair(apr_pool_t *p, const char *k, const char *v)
{
    json_object *o = ssd_json_new_object(p);

    ssd_json_add_str(o, k, v);
    return ssd_json_to_string(p, o);
}
