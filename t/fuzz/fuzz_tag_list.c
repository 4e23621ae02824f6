/* fuzz_tag_list: the RFC 6376 tag-list parser (DKIM key records, and
 * DMARC records with nocase). The first byte's low bit picks nocase.
 * Invariants: an accepted list has valid, distinct names (ignoring case
 * with nocase), and a name reads back its own value. */
#include "harness.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

/* Linear: names distinct (a hash), and the first and last few read back
 * their own value through ssd_tag_get (itself linear). */
static void check_tags(apr_pool_t *p, const apr_array_header_t *tags,
                       int nocase)
{
    const ssd_tag_t *t = (const ssd_tag_t *)tags->elts;
    apr_hash_t *seen = apr_hash_make(p);
    char *key, *c;
    int i;

    FUZZ_ASSERT(tags->nelts > 0);
    for (i = 0; i < tags->nelts; i++) {
        FUZZ_ASSERT(t[i].name && apr_isalpha(t[i].name[0]) && t[i].value);
        key = apr_pstrdup(p, t[i].name);
        for (c = key; nocase && *c; c++) {
            *c = (char)apr_tolower(*c);
        }
        FUZZ_ASSERT(!apr_hash_get(seen, key, APR_HASH_KEY_STRING));
        apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
        if (i < 8 || i >= tags->nelts - 8) {
            FUZZ_ASSERT(ssd_tag_get(tags, t[i].name, nocase) == t[i].value);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *tags = NULL;
    int nocase;

    if (size < 1) {
        return 0;
    }
    p = fuzz_pool();
    nocase = data[0] & 1;
    if (!ssd_tag_list_parse(p, (const char *)data + 1, size - 1, nocase,
                            &tags)) {
        check_tags(p, tags, nocase);
    }
    apr_pool_destroy(p);
    return 0;
}
