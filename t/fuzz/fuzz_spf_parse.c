/* fuzz_spf_parse: the SPF record syntax. An input that is an SPF record
 * (v=spf1 ...) is parsed as the TXT string it is (ssd_spf_parse_txt: all
 * its bytes, NUL included), any other after "v=spf1 " (ssd_spf_parse).
 * Invariants: at most SSD_SPF_MAX_TERMS terms; every term of an accepted
 * record has a lower-case name and its text, and parses again alone to
 * the same term. */
#include "harness.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "ssd_spf.h"

static void check_terms(apr_pool_t *p, const apr_array_header_t *terms)
{
    const term_t *t = (const term_t *)terms->elts;
    const char *c;
    term_t again;
    int i;

    FUZZ_ASSERT(terms->nelts <= SSD_SPF_MAX_TERMS);
    for (i = 0; i < terms->nelts; i++) {
        FUZZ_ASSERT(t[i].name && *t[i].name && t[i].text && *t[i].text);
        for (c = t[i].name; *c; c++) {
            FUZZ_ASSERT(!apr_isupper(*c));
        }
        FUZZ_ASSERT(t[i].modifier ? t[i].qual == 0
                                  : strchr("+-~?", t[i].qual) != NULL);
        FUZZ_ASSERT(!ssd_spf_parse_term(p, t[i].text, &again));
        FUZZ_ASSERT(!strcmp(again.name, t[i].name)
                    && again.qual == t[i].qual
                    && again.modifier == t[i].modifier);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *rec = (const char *)data;
    apr_array_header_t *terms = NULL;
    const char *msg;

    FUZZ_ASSERT(ssd_spf_same_name(fuzz_cstr(p, data, size),
                                  fuzz_cstr(p, data, size)));
    if (ssd_spf_is_record(rec, size)) {
        msg = ssd_spf_parse_txt(p, rec, size, &terms);
        FUZZ_ASSERT(msg || size <= SSD_SPF_MAX_RECORD);
        FUZZ_ASSERT(msg || !memchr(rec, '\0', size));
    }
    else {
        rec = apr_pstrcat(p, "v=spf1 ", fuzz_cstr(p, data, size), NULL);
        msg = ssd_spf_parse(p, rec, &terms);
    }
    if (!msg) {
        check_terms(p, terms);
    }
    apr_pool_destroy(p);
    return 0;
}
