/* ssd_json: strict JSON input and pool-bound json-c objects.
 *
 * Ownership: a root object from ssd_json_parse_strict or
 * ssd_json_new_object is released (json_object_put) by a cleanup on the
 * pool it was made with. json_object_object_add / json_object_array_add
 * pass ownership of the child to the parent, so children are made with
 * plain json_object_new_*() and never with ssd_json_new_object. */
#ifndef SSD_JSON_H
#define SSD_JSON_H

#include <apr_pools.h>
#include <json-c/json.h>

typedef struct {
    const char *code;       /* "invalid_json" */
    const char *message;    /* specific English message */
} ssd_json_error_t;

/* Strictly parse a request body: valid UTF-8 only (no overlongs, no
 * surrogates), RFC 8259 grammar, no duplicate keys in any object (decoded
 * keys compared), no NUL in strings or keys, nesting depth <= max_depth,
 * only whitespace after the top-level value, which must be an object.
 * buf need not be NUL-terminated. On success returns the object bound to
 * p and sets err->code and err->message to NULL; on failure returns NULL
 * and sets err->code to "invalid_json" and err->message to one of:
 * "request body is empty", "invalid UTF-8", "malformed JSON at byte N"
 * (N counted from 0), "duplicate key 'k'", "NUL character in a string",
 * "unpaired surrogate in a \u escape at byte N",
 * "nesting deeper than N levels", "expected a JSON object",
 * "unexpected data after the JSON object". */
json_object *ssd_json_parse_strict(apr_pool_t *p, const char *buf,
                                   apr_size_t len, int max_depth,
                                   ssd_json_error_t *err);

/* Bind o (a root built with json_object_new_*, may be NULL) to p: its
 * reference is put when p is cleared. Returns o. */
json_object *ssd_json_bind(apr_pool_t *p, json_object *o);

/* A new empty object bound to p. */
json_object *ssd_json_new_object(apr_pool_t *p);

/* Plain serialisation ('/' not escaped), copied into p. */
const char *ssd_json_to_string(apr_pool_t *p, json_object *o);

/* Set o[k]; a NULL v gives JSON null. */
void ssd_json_add_str(json_object *o, const char *k, const char *v);
void ssd_json_add_bool(json_object *o, const char *k, int v);
void ssd_json_add_int(json_object *o, const char *k, long long v);

/* Length of the longest valid UTF-8 prefix of s (len when all of s is
 * valid): no overlong forms, no surrogates, nothing above U+10FFFF. */
apr_size_t ssd_utf8_valid_len(const char *s, apr_size_t len);

/* The text of {"k": v} (v NULL: null), e.g. for audit records. */
const char *ssd_json_pair(apr_pool_t *p, const char *k, const char *v);

#endif
