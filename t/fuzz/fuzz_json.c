/* fuzz_json: the strict JSON body reader, at the depth the HTTP glue uses.
 * Invariants: an error is invalid_json with a message; an accepted body
 * is an object whose serialisation the reader accepts again. */
#include "harness.h"

#include <string.h>

#include "ssd_json.h"

#define MAX_DEPTH 8     /* JSON_MAX_DEPTH of mod_scaisend_domains_http.c */

static void reparse(apr_pool_t *p, json_object *o)
{
    const char *text = ssd_json_to_string(p, o);
    ssd_json_error_t err;

    FUZZ_ASSERT(text != NULL);
    if (!ssd_json_parse_strict(p, text, strlen(text), MAX_DEPTH, &err)) {
        fprintf(stderr, "fuzz_json: serialisation refused (%s): %s\n",
                err.message, text);
        FUZZ_ASSERT(!"the serialisation of an accepted body parses");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    ssd_json_error_t err;
    json_object *o;

    o = ssd_json_parse_strict(p, (const char *)data, size, MAX_DEPTH, &err);
    if (o) {
        FUZZ_ASSERT(!err.code && !err.message);
        FUZZ_ASSERT(json_object_is_type(o, json_type_object));
        reparse(p, o);
    }
    else {
        FUZZ_ASSERT(err.code && !strcmp(err.code, "invalid_json"));
        FUZZ_ASSERT(err.message && *err.message);
    }
    apr_pool_destroy(p);
    return 0;
}
