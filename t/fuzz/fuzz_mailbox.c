/* fuzz_mailbox: one RFC 5322 mailbox (the From: of a message to sign, the
 * from= of GET .../sender-status). Invariants: an accepted value gives an
 * address holding one '@' outside its quoted local part, whose text
 * after the last '@' is the domain; the address alone parses again to the
 * same domain. */
#include "harness.h"

#include <string.h>

#include "ssd_mailbox.h"

static void check_accepted(apr_pool_t *p, const char *addr,
                           const char *domain)
{
    const char *at = strrchr(addr, '@'), *addr2 = NULL, *domain2 = NULL;

    FUZZ_ASSERT(at && *domain && !strcmp(at + 1, domain));
    FUZZ_ASSERT(!strchr(domain, '@') && !strchr(domain, ' '));
    FUZZ_ASSERT(!ssd_mailbox_parse(p, addr, &addr2, &domain2));
    FUZZ_ASSERT(!strcmp(addr2, addr) && !strcmp(domain2, domain));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *addr = NULL, *domain = NULL;

    if (!ssd_mailbox_parse(p, fuzz_cstr(p, data, size), &addr, &domain)) {
        check_accepted(p, addr, domain);
    }
    apr_pool_destroy(p);
    return 0;
}
