/* Unit tests of ssd_owner_key: one owner, one key. Ids are printable
 * ASCII without spaces and may hold ':' (the principal accepts them), so
 * every (partner, tenant) pair over ids made of "a", "b" and ":" -- and
 * the partner-level owners -- must give distinct keys. */
#include <string.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "ssd_model.h"
#include "unit.h"

#define MAX_IDS 64

static apr_pool_t *pool;

/* Every string of 1 to 3 characters over "ab:" (3 + 9 + 27 = 39). */
static int make_ids(const char **ids)
{
    static const char alphabet[] = "ab:";
    int n = 0, len, i, k, count;

    for (len = 1; len <= 3; len++) {
        for (count = 1, k = 0; k < len; k++) {
            count *= 3;
        }
        for (i = 0; i < count; i++) {
            char *s = apr_pcalloc(pool, (apr_size_t)len + 1);
            int v = i;

            for (k = 0; k < len; k++, v /= 3) {
                s[k] = alphabet[v % 3];
            }
            ids[n++] = s;
        }
    }
    return n;
}

static void test_the_reported_pair(void)
{
    const char *a = ssd_owner_key(pool, "px", "a:b");
    const char *b = ssd_owner_key(pool, "px:a", "b");

    UNIT_CHECK(a && b && strcmp(a, b) != 0,
               "partner px + tenant a:b and partner px:a + tenant b differ");
    UNIT_CHECK(strcmp(ssd_owner_key(pool, "px", NULL),
                      ssd_owner_key(pool, "px", "")) != 0,
               "partner-level px and px with an empty tenant differ");
}

static void test_injective(void)
{
    const char *ids[MAX_IDS];
    int n = make_ids(ids), i, j, keys = 0, clashes = 0;
    apr_hash_t *seen = apr_hash_make(pool);
    const char *first = NULL;

    for (i = 0; i < n; i++) {
        for (j = -1; j < n; j++) {
            const char *tenant = j < 0 ? NULL : ids[j];
            const char *key = ssd_owner_key(pool, ids[i], tenant);
            const char *owner = apr_psprintf(pool, "(%s, %s)", ids[i],
                                             tenant ? tenant : "none");
            const char *before = apr_hash_get(seen, key, APR_HASH_KEY_STRING);

            keys++;
            if (before) {
                clashes++;
                first = first ? first : apr_psprintf(pool, "%s and %s -> "
                                                     "'%s'", before, owner,
                                                     key);
                continue;
            }
            apr_hash_set(seen, key, APR_HASH_KEY_STRING, owner);
        }
    }
    UNIT_CHECK(keys == 39 * 40, "1,560 owners over ids of 'a', 'b', ':'");
    if (!UNIT_CHECK(clashes == 0, "no two owners share a key")) {
        printf("#   %d clashes, the first: %s\n", clashes, first);
    }
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_the_reported_pair();
    test_injective();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
