/* fuzz_domain: the sender domain normaliser (with the rules of a domain
 * create and of the From: check) and the DMARC rua address rules.
 * Invariants: an accepted name is lower-case ASCII without a trailing dot,
 * at most 253 characters, normalises to itself, and so does its U-label
 * form; a refusal leaves the output untouched. */
#include "harness.h"

#include <string.h>
#include <apr_lib.h>

#include "ssd_domain.h"

static const char *const reserved[] = { "scailabs.ai", "scaisend.net", NULL };

static void init_psl(void)
{
    static apr_pool_t *forever;

    if (!forever) {
        forever = fuzz_pool();      /* lives until apr_terminate */
        FUZZ_ASSERT(ssd_domain_init(forever) == APR_SUCCESS);
    }
}

static int plain_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s > 0x7e || apr_isupper(*s) || *s <= ' ') {
            return 0;
        }
    }
    return 1;
}

static void check_stable(apr_pool_t *p, const char *input,
                         const char *selector,
                         const char *const *reserved_list)
{
    ssd_domain_name_t d = { "untouched", "untouched" }, again;
    const char *msg = ssd_domain_normalise(p, input, selector, reserved_list,
                                           &d);
    size_t n;

    if (msg) {
        FUZZ_ASSERT(!strcmp(d.domain, "untouched")
                    && !strcmp(d.domain_unicode, "untouched"));
        return;
    }
    n = strlen(d.domain);
    FUZZ_ASSERT(n > 0 && n <= 253 && d.domain[n - 1] != '.');
    FUZZ_ASSERT(plain_ascii(d.domain));
    FUZZ_ASSERT(ssd_domain_is_within(d.domain, d.domain));
    FUZZ_ASSERT(!ssd_domain_normalise(p, d.domain, selector, reserved_list,
                                      &again)
                && !strcmp(again.domain, d.domain));
    if (d.domain_unicode) {
        FUZZ_ASSERT(!ssd_domain_normalise(p, d.domain_unicode, selector,
                                          reserved_list, &again)
                    && !strcmp(again.domain, d.domain));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_cstr(p, data, size);
    const char *rua_msg;

    init_psl();
    check_stable(p, s, FUZZ_SELECTOR, reserved);     /* POST /domains */
    check_stable(p, s, NULL, NULL);                  /* the From: domain */
    rua_msg = ssd_rua_validate(s);
    FUZZ_ASSERT(rua_msg || strchr(s, '@'));
    apr_pool_destroy(p);
    return 0;
}
