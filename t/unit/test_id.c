/* Unit tests of ssd_id: prefixed ULIDs. */
#include <string.h>

#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "ssd_id.h"
#include "unit.h"

#define PREFIX "dom_"
#define MANY 1000

static apr_pool_t *pool;
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int all_crockford(const char *s)
{
    for (; *s; s++) {
        if (!strchr(alphabet, *s)) {
            return 0;
        }
    }
    return 1;
}

static void test_format(void)
{
    const char *id = ssd_id_new(pool, PREFIX);

    UNIT_CHECK(id != NULL, "id made");
    if (!id) {
        return;
    }
    UNIT_CHECK(strlen(id) == strlen(PREFIX) + SSD_ULID_LEN, "id length");
    UNIT_CHECK(!strncmp(id, PREFIX, strlen(PREFIX)), "id prefix");
    UNIT_CHECK(all_crockford(id + strlen(PREFIX)),
               "ULID in upper-case Crockford base32");
    UNIT_CHECK(id[strlen(PREFIX)] >= '0' && id[strlen(PREFIX)] <= '7',
               "ULID starts with 0-7");
    UNIT_CHECK(ssd_id_is_valid(id, PREFIX), "new id is valid");
    UNIT_CHECK(ssd_id_is_valid(ssd_id_new(pool, NULL), NULL),
               "id without prefix is valid");
}

/* The first 10 characters encode the millisecond time. */
static apr_uint64_t time_of(const char *ulid)
{
    apr_uint64_t ms = 0;
    int i;

    for (i = 0; i < 10; i++) {
        ms = ms * 32 + (apr_uint64_t)(strchr(alphabet, ulid[i]) - alphabet);
    }
    return ms;
}

static void test_time_part(void)
{
    apr_uint64_t before = (apr_uint64_t)(apr_time_now() / 1000), after, ms;

    ms = time_of(ssd_id_new(pool, ""));
    after = (apr_uint64_t)(apr_time_now() / 1000);
    UNIT_CHECK(ms >= before && ms <= after,
               "time part is the current millisecond");
}

static void test_validity(void)
{
    const char *ok = "dom_01JD3Z8Q5K6M7N8P9R0S1T2V3W";

    UNIT_CHECK(ssd_id_is_valid(ok, PREFIX), "example id from the spec");
    UNIT_CHECK(!ssd_id_is_valid(ok, "key_"), "wrong prefix");
    UNIT_CHECK(!ssd_id_is_valid("dom_01JD3Z8Q5K6M7N8P9R0S1T2V3", PREFIX),
               "25 characters");
    UNIT_CHECK(!ssd_id_is_valid("dom_01JD3Z8Q5K6M7N8P9R0S1T2V3WX", PREFIX),
               "27 characters");
    UNIT_CHECK(!ssd_id_is_valid("dom_01jd3z8q5k6m7n8p9r0s1t2v3w", PREFIX),
               "lower case");
    UNIT_CHECK(!ssd_id_is_valid("dom_01JD3Z8Q5K6M7N8P9R0S1T2V3I", PREFIX),
               "letter I");
    UNIT_CHECK(!ssd_id_is_valid("dom_01JD3Z8Q5K6M7N8P9R0S1T2V3U", PREFIX),
               "letter U");
    UNIT_CHECK(!ssd_id_is_valid("dom_81JD3Z8Q5K6M7N8P9R0S1T2V3W", PREFIX),
               "first character above 7");
    UNIT_CHECK(!ssd_id_is_valid("dom_01JD3Z8Q5K6M7N8P9R0S1T2V3/", PREFIX),
               "slash");
    UNIT_CHECK(!ssd_id_is_valid("", PREFIX), "empty");
    UNIT_CHECK(!ssd_id_is_valid(NULL, PREFIX), "NULL");
    UNIT_CHECK(!ssd_id_is_valid("dom_", PREFIX), "prefix only");
}

static void test_uniqueness(void)
{
    apr_hash_t *seen = apr_hash_make(pool);
    int i, unique = 1;

    for (i = 0; i < MANY; i++) {
        const char *id = ssd_id_new(pool, PREFIX);

        if (!id || apr_hash_get(seen, id, APR_HASH_KEY_STRING)) {
            unique = 0;
            break;
        }
        apr_hash_set(seen, id, APR_HASH_KEY_STRING, id);
    }
    UNIT_CHECK(unique && apr_hash_count(seen) == MANY, "1000 ids unique");
}

static void test_ordering(void)
{
    const char *first = ssd_id_new(pool, PREFIX), *second;

    apr_sleep(apr_time_from_msec(2));
    second = ssd_id_new(pool, PREFIX);
    UNIT_CHECK(first && second && strcmp(first, second) < 0,
               "an id made 2 ms later sorts after");
}

/* Ids made one after another sort in that order, also within one ms. */
static void test_monotonic(void)
{
    const char *prev = ssd_id_new(pool, "evt_"), *id;
    int i, ordered = 1;

    for (i = 0; i < 5000; i++) {
        id = ssd_id_new(pool, "evt_");
        ordered &= strcmp(prev, id) < 0;
        prev = id;
    }
    UNIT_CHECK(ordered, "5000 ids made in a row sort in the order made");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_format();
    test_time_part();
    test_validity();
    test_uniqueness();
    test_ordering();
    test_monotonic();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
