/* Unit tests of the algorithm names and sets (ssd_dkim_alg_*,
 * ssd_dkim_algs_*) and of ssd_keymaker: the RSA key made beforehand, the
 * Ed25519 key on demand, each wrapped for the selector it is made for. */
#include "unit.h"
#include "ssd_dkim.h"
#include "ssd_b64.h"
#include "ssd_keymaker.h"

#include <apr_general.h>
#include <apr_strings.h>

#define RSA_BIT SSD_DKIM_ALG_BIT(SSD_DKIM_RSA)
#define ED_BIT SSD_DKIM_ALG_BIT(SSD_DKIM_ED25519)

static void test_names(apr_pool_t *p)
{
    ssd_dkim_alg_t alg = SSD_DKIM_RSA;

    UNIT_STR_EQ(ssd_dkim_alg_name(SSD_DKIM_RSA), "rsa-sha256", "RSA's a=");
    UNIT_STR_EQ(ssd_dkim_alg_name(SSD_DKIM_ED25519), "ed25519-sha256",
                "Ed25519's a=");
    UNIT_STR_EQ(ssd_dkim_alg_k(SSD_DKIM_RSA), "rsa", "RSA's k=");
    UNIT_STR_EQ(ssd_dkim_alg_k(SSD_DKIM_ED25519), "ed25519", "Ed25519's k=");
    UNIT_CHECK(ssd_dkim_alg_parse("ed25519-sha256", &alg) == 0
               && alg == SSD_DKIM_ED25519, "parse ed25519-sha256");
    UNIT_CHECK(ssd_dkim_alg_parse("rsa-sha256", &alg) == 0
               && alg == SSD_DKIM_RSA, "parse rsa-sha256");
    UNIT_CHECK(ssd_dkim_alg_parse("rsa-sha1", &alg) == -1, "rsa-sha1 is not known");
    UNIT_CHECK(ssd_dkim_alg_parse("ED25519-SHA256", &alg) == -1,
               "names are case-sensitive");
    UNIT_CHECK(ssd_dkim_alg_parse(NULL, &alg) == -1, "NULL does not parse");
    UNIT_CHECK(ssd_dkim_alg_of(NULL) == SSD_DKIM_RSA,
               "a key stored before Ed25519 (no algorithm) is RSA");
    UNIT_CHECK(ssd_dkim_alg_of("ed25519-sha256") == SSD_DKIM_ED25519,
               "alg_of ed25519-sha256");
    UNIT_STR_EQ(ssd_dkim_twin_selector(p, "scaisend2"), "scaisend2-ed25519",
                "the twin selector");
}

static void test_sets(apr_pool_t *p)
{
    UNIT_CHECK(ssd_dkim_algs_parse("rsa-sha256") == RSA_BIT, "set: RSA");
    UNIT_CHECK(ssd_dkim_algs_parse("rsa-sha256,ed25519-sha256")
               == (RSA_BIT | ED_BIT), "set: both");
    UNIT_CHECK(ssd_dkim_algs_parse("ed25519-sha256,rsa-sha256")
               == (RSA_BIT | ED_BIT), "set: both, in any order");
    UNIT_CHECK(ssd_dkim_algs_parse("ed25519-sha256") == ED_BIT,
               "set: Ed25519 alone parses as such");
    UNIT_CHECK(ssd_dkim_algs_parse(NULL) == RSA_BIT, "set: NULL is RSA");
    UNIT_CHECK(ssd_dkim_algs_parse("") == RSA_BIT, "set: empty is RSA");
    UNIT_CHECK(ssd_dkim_algs_parse("rsa-sha1,dsa") == RSA_BIT,
               "set: nothing known is RSA");
    UNIT_CHECK(ssd_dkim_algs_parse("bogus,ed25519-sha256,,") == ED_BIT,
               "set: unknown and empty names are left out");
    UNIT_CHECK(ssd_dkim_algs_parse(apr_pstrcat(p, "ed25519-sha256,",
                                               "x0123456789012345678901234567"
                                               "8901234567890", NULL))
               == ED_BIT, "set: an over-long name is left out");
    UNIT_STR_EQ(ssd_dkim_algs_text(p, RSA_BIT), "rsa-sha256", "text: RSA");
    UNIT_STR_EQ(ssd_dkim_algs_text(p, RSA_BIT | ED_BIT),
                "rsa-sha256,ed25519-sha256", "text: both, RSA first");
    UNIT_STR_EQ(ssd_dkim_algs_text(p, ED_BIT), "ed25519-sha256",
                "text: Ed25519 alone");
    UNIT_STR_EQ(ssd_dkim_algs_text(p, 0), "rsa-sha256", "text: none is RSA");
    UNIT_CHECK(ssd_dkim_algs_parse(ssd_dkim_algs_text(p, RSA_BIT | ED_BIT))
               == (RSA_BIT | ED_BIT), "text and parse round trip");
}

static int unwraps(apr_pool_t *p, const unsigned char *kek,
                   const ssd_dkim_key_t *k, const char *domain_id,
                   const char *selector)
{
    EVP_PKEY *key = NULL;

    return ssd_dkim_unwrap(p, kek, k->wrapped_key, domain_id, selector, &key)
               == APR_SUCCESS
           && strcmp(ssd_dkim_public_b64(p, key), k->public_key) == 0;
}

static void test_keymaker(apr_pool_t *p)
{
    unsigned char kek[SSD_KEK_LEN];
    ssd_keymaker_t m;
    ssd_dkim_key_t rsa, ed, ed2;
    apr_size_t n = 0;

    memset(kek, 5, sizeof(kek));
    memset(&rsa, 0, sizeof(rsa));
    memset(&ed, 0, sizeof(ed));
    memset(&ed2, 0, sizeof(ed2));
    m = (ssd_keymaker_t){p, kek, "dom_K", 2048, NULL};
    UNIT_CHECK(ssd_keymaker_make(&m, SSD_DKIM_RSA, "scaisend", &rsa) == -1,
               "keymaker: no RSA key made beforehand: -1");
    UNIT_CHECK(ssd_keymaker_make(&m, SSD_DKIM_ED25519, "scaisend-ed25519",
                                 &ed) == 0, "keymaker: Ed25519 on demand");
    UNIT_STR_EQ(ed.algorithm, "ed25519-sha256", "keymaker: Ed25519 algorithm");
    UNIT_CHECK(ed.bits == 256, "keymaker: Ed25519 bits 256");
    UNIT_CHECK(ed.public_key && strlen(ed.public_key) == 44
               && ssd_b64_decode(p, ed.public_key, &n) && n == 32,
               "keymaker: Ed25519 public key, 32 raw bytes");
    UNIT_CHECK(unwraps(p, kek, &ed, "dom_K", "scaisend-ed25519"),
               "keymaker: Ed25519 wrapped for its selector");
    UNIT_CHECK(!unwraps(p, kek, &ed, "dom_K", "scaisend"),
               "keymaker: ... and for no other");
    UNIT_CHECK(ssd_keymaker_make(&m, SSD_DKIM_ED25519, "scaisend2-ed25519",
                                 &ed2) == 0
               && strcmp(ed.public_key, ed2.public_key) != 0,
               "keymaker: each Ed25519 key is new");
    UNIT_CHECK(ssd_keymaker_generate_rsa(&m) == APR_SUCCESS && m.rsa,
               "keymaker: RSA made beforehand");
    UNIT_CHECK(ssd_keymaker_make(&m, SSD_DKIM_RSA, "scaisend", &rsa) == 0,
               "keymaker: RSA key");
    UNIT_STR_EQ(rsa.algorithm, "rsa-sha256", "keymaker: RSA algorithm");
    UNIT_CHECK(rsa.bits == 2048, "keymaker: RSA bits as asked");
    UNIT_CHECK(rsa.public_key && strncmp(rsa.public_key, "MIIBIjANBgkqhkiG9w0B",
                                         20) == 0,
               "keymaker: RSA public key is the DER SPKI");
    UNIT_CHECK(unwraps(p, kek, &rsa, "dom_K", "scaisend"),
               "keymaker: RSA wrapped for its selector");
    UNIT_CHECK(!unwraps(p, kek, &rsa, "dom_other", "scaisend"),
               "keymaker: ... and for its domain only");
}

int main(void)
{
    apr_pool_t *p;
    int rc;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_names(p);
    test_sets(p);
    test_keymaker(p);
    rc = UNIT_DONE();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
