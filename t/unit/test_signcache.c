/* Unit tests of ssd_signcache: a decision comes back as it was put, in
 * the caller's own copy; not after the database changed, not after ttl,
 * not for another partner, tenant or domain; the table stays bounded. */
#include "unit.h"
#include "ssd_model.h"
#include "ssd_signcache.h"

#include <apr_general.h>
#include <apr_strings.h>

#define TTL apr_time_from_sec(1)

static ssd_signing_t decision(apr_pool_t *p, const char *id, int nkeys)
{
    ssd_signing_t d = {id, "mail.example.com", NULL};
    static const char *const algs[] = {"ed25519-sha256", "rsa-sha256"};
    int i;

    d.keys = apr_array_make(p, nkeys, sizeof(ssd_dkim_key_t *));
    for (i = 0; i < nkeys; i++) {
        ssd_dkim_key_t *k = apr_pcalloc(p, sizeof(*k));

        k->selector = i ? "scaisend" : "scaisend-ed25519";
        k->algorithm = algs[i % 2];
        k->wrapped_key = apr_psprintf(p, "sealed-%d", i);
        APR_ARRAY_PUSH(d.keys, ssd_dkim_key_t *) = k;
    }
    return d;
}

static const ssd_dkim_key_t *key_at(const ssd_signing_t *d, int i)
{
    return APR_ARRAY_IDX(d->keys, i, ssd_dkim_key_t *);
}

static void test_round_trip(apr_pool_t *p)
{
    ssd_signcache_t *c = ssd_signcache_create(p, 10, TTL);
    const char *name = ssd_signcache_name(p, "p1", "t1", "mail.example.com");
    apr_pool_t *sub;
    ssd_signing_t in, out = {0};
    apr_time_t t0 = apr_time_from_sec(1000);

    UNIT_CHECK(c != NULL, "made");
    UNIT_CHECK(!ssd_signcache_get(c, p, name, 7, t0, &out), "empty: no decision");
    apr_pool_create(&sub, p);
    in = decision(sub, "dom_1", 2);
    ssd_signcache_put(c, name, 7, t0, &in);
    apr_pool_destroy(sub);          /* the cache holds its own copy */
    UNIT_CHECK(ssd_signcache_get(c, p, name, 7, t0 + 1000, &out),
               "the decision comes back");
    UNIT_STR_EQ(out.domain_id, "dom_1", "... its domain id");
    UNIT_STR_EQ(out.domain, "mail.example.com", "... its domain");
    UNIT_CHECK(out.keys && out.keys->nelts == 2, "... both keys");
    UNIT_STR_EQ(key_at(&out, 0)->selector, "scaisend-ed25519", "... in order");
    UNIT_STR_EQ(key_at(&out, 1)->algorithm, "rsa-sha256", "... with algorithms");
    UNIT_STR_EQ(key_at(&out, 1)->wrapped_key, "sealed-1", "... and sealed keys");
    UNIT_STR_EQ(key_at(&out, 1)->domain_id, "dom_1", "... of their domain");
    UNIT_STR_EQ(key_at(&out, 1)->state, "active", "... active");
}

static void test_not_current(apr_pool_t *p)
{
    ssd_signcache_t *c = ssd_signcache_create(p, 10, TTL);
    const char *name = ssd_signcache_name(p, "p1", NULL, "mail.example.com");
    ssd_signing_t in = decision(p, "dom_2", 1), out;
    apr_time_t t0 = apr_time_from_sec(2000);

    ssd_signcache_put(c, name, 3, t0, &in);
    UNIT_CHECK(!ssd_signcache_get(c, p, name, 4, t0, &out),
               "a change committed since: not used");
    UNIT_CHECK(ssd_signcache_size(c) == 0, "... and dropped");
    ssd_signcache_put(c, name, 3, t0, &in);
    UNIT_CHECK(ssd_signcache_get(c, p, name, 3, t0 + TTL - 1, &out),
               "just under ttl: used");
    UNIT_CHECK(!ssd_signcache_get(c, p, name, 3, t0 + TTL, &out),
               "ttl after it was read: not used");
    ssd_signcache_put(c, name, 3, t0, &in);
    UNIT_CHECK(!ssd_signcache_get(c, p, name, 3, t0 - 1, &out),
               "a clock that went back: not used");
}

static void test_names(apr_pool_t *p)
{
    ssd_signcache_t *c = ssd_signcache_create(p, 10, TTL);
    ssd_signing_t in = decision(p, "dom_3", 1), out;
    apr_time_t t0 = apr_time_from_sec(3000);

    ssd_signcache_put(c, ssd_signcache_name(p, "p1", "t1", "a.example"), 1,
                      t0, &in);
    UNIT_CHECK(!ssd_signcache_get(c, p, ssd_signcache_name(p, "p1", "t2",
                                                           "a.example"),
                                  1, t0, &out), "another tenant: none");
    UNIT_CHECK(!ssd_signcache_get(c, p, ssd_signcache_name(p, "p1", NULL,
                                                           "a.example"),
                                  1, t0, &out), "the partner itself: none");
    UNIT_CHECK(!ssd_signcache_get(c, p, ssd_signcache_name(p, "p2", "t1",
                                                           "a.example"),
                                  1, t0, &out), "another partner: none");
    UNIT_CHECK(!ssd_signcache_get(c, p, ssd_signcache_name(p, "p1", "t1",
                                                           "b.example"),
                                  1, t0, &out), "another domain: none");
    UNIT_CHECK(strcmp(ssd_signcache_name(p, "p1", "t1x", "a"),
                      ssd_signcache_name(p, "p1t", "1x", "a")) != 0,
               "no partner and tenant pass for another pair");
}

static void test_bounds(apr_pool_t *p)
{
    ssd_signcache_t *c = ssd_signcache_create(p, 3, TTL);
    ssd_signing_t in = decision(p, "dom_4", 1), none = decision(p, "dom_5", 0),
                  many = decision(p, "dom_6", 5), out;
    apr_time_t t0 = apr_time_from_sec(4000);
    int i;

    for (i = 0; i < 50; i++) {
        ssd_signcache_put(c, apr_psprintf(p, "n%d", i), 1, t0, &in);
        if (ssd_signcache_size(c) > 3) break;
    }
    UNIT_CHECK(i == 50 && ssd_signcache_size(c) <= 3, "never above its bound");
    UNIT_CHECK(ssd_signcache_get(c, p, "n49", 1, t0, &out),
               "the newest is kept");
    ssd_signcache_put(c, "x", 1, t0, &in);
    UNIT_CHECK(ssd_signcache_size(c) == 3, "full");
    ssd_signcache_put(c, "n50", 2, t0, &in);
    UNIT_CHECK(ssd_signcache_size(c) == 1
               && ssd_signcache_get(c, p, "n50", 2, t0, &out),
               "when full, those read before a change go first");
    ssd_signcache_put(c, "none", 2, t0, &none);
    UNIT_CHECK(!ssd_signcache_get(c, p, "none", 2, t0, &out),
               "a decision without keys is not kept");
    ssd_signcache_put(c, "many", 2, t0, &many);
    UNIT_CHECK(!ssd_signcache_get(c, p, "many", 2, t0, &out),
               "nor one with more keys than algorithms");
    UNIT_CHECK(ssd_signcache_create(p, 0, TTL) == NULL, "size 0: no cache");
    UNIT_CHECK(!ssd_signcache_get(NULL, p, "n1", 1, t0, &out),
               "no cache: no decision");
}

int main(void)
{
    apr_pool_t *p;
    int rc;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_round_trip(p);
    test_not_current(p);
    test_names(p);
    test_bounds(p);
    rc = UNIT_DONE();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
