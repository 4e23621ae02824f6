/* Unit tests of ssd_spf (SPF record syntax, RFC 7208): the cases the
 * OpenSPF RFC 7208 suite found (t/unit/rfc7208.py), one check each. */
#include "unit.h"
#include "ssd_spf.h"

#include <apr_general.h>

static apr_pool_t *pool;

/* ssd_spf_parse's message on rec, or NULL when it is valid. */
static const char *parse(const char *rec)
{
    apr_array_header_t *terms;

    return ssd_spf_parse(pool, rec, &terms);
}

/* The argument ssd_spf_parse kept for the first term of rec. */
static const char *first_arg(const char *rec)
{
    apr_array_header_t *terms;

    if (ssd_spf_parse(pool, rec, &terms) || terms->nelts < 1) {
        return "(parse failed)";
    }
    return APR_ARRAY_IDX(terms, 0, term_t).arg;
}

/* RFC 7208 7.3: c, r and t are for explanation text only (suite:
 * exp-only-macro-char). */
static void test_exp_only_macros(void)
{
    UNIT_STR_EQ(parse("v=spf1 -all exp=%{r}.example.com"),
                "'exp=%{r}.example.com': not a valid domain",
                "%{r} in exp= domain-spec is invalid");
    UNIT_STR_EQ(parse("v=spf1 a:%{c}.example.com -all"),
                "'a:%{c}.example.com' is not valid",
                "%{c} in a mechanism is invalid");
    UNIT_STR_EQ(parse("v=spf1 exists:%{T}.example.com"),
                "'exists:%{T}.example.com' is not valid",
                "%{T} (upper case) in a mechanism is invalid");
    UNIT_STR_EQ(parse("v=spf1 -all foo=%{t}"),
                "'foo=%{t}': invalid modifier value",
                "%{t} in an unknown modifier is invalid");
    UNIT_STR_EQ(parse("v=spf1 -all exp=%{ir}.%{v}.%{h}.%{p}.%{s}.%{l}.%{o}"
                      ".%{d}"), NULL, "the other macro letters stay valid");
}

/* A domain-spec may hold '/'; the dual-cidr-length is what ends the term
 * (suite: a-colon-domain, mx-colon-domain). */
static void test_slash_in_domain(void)
{
    UNIT_STR_EQ(parse("v=spf1 a:foo:bar/baz.example.com"), NULL,
                "a: domain-spec with ':' and '/' is valid");
    UNIT_STR_EQ(parse("v=spf1 mx:foo:bar/baz.example.com"), NULL,
                "mx: domain-spec with ':' and '/' is valid");
    UNIT_STR_EQ(first_arg("v=spf1 a:foo:bar/baz.example.com/24//64"),
                "foo:bar/baz.example.com", "a: lengths split off the end");
    UNIT_STR_EQ(first_arg("v=spf1 mx:foo/24.example.com//64"),
                "foo/24.example.com", "mx: ip6 length only");
    UNIT_STR_EQ(first_arg("v=spf1 a:%{d}/24"), "%{d}",
                "a: length after a macro");
    UNIT_STR_EQ(first_arg("v=spf1 a:%{d/}.example.com/28"),
                "%{d/}.example.com", "a: '/' delimiter inside a macro");
    UNIT_STR_EQ(parse("v=spf1 a:foo.example.com/24/64"),
                "'a:foo.example.com/24/64' is not valid",
                "a: /24/64 is not a dual-cidr-length");
    UNIT_STR_EQ(parse("v=spf1 a:foo.example.com/33"),
                "'a:foo.example.com/33' is not valid", "a: /33 is too long");
    UNIT_STR_EQ(parse("v=spf1 a:foo.example.com///64"),
                "'a:foo.example.com///64' is not valid",
                "a: domain-spec ending in '/' is invalid");
    UNIT_STR_EQ(parse("v=spf1 a:/24"), "'a:/24' is not valid",
                "a: empty domain-spec before a length");
    UNIT_STR_EQ(parse("v=spf1 mx://64"), "'mx://64' is not valid",
                "mx: empty domain-spec before an ip6 length");
    UNIT_STR_EQ(parse("v=spf1 a:foo.example.com/"),
                "'a:foo.example.com/' is not valid",
                "a: '/' without a length");
}

/* A TXT string is judged over all its bytes (suite: a-null, mx-null). */
static void test_nul_byte(void)
{
    static const char nul[] = "v=spf1 a:foo.example.com\0";
    static const char ok[] = "v=spf1 a:foo.example.com";
    apr_array_header_t *terms;

    UNIT_STR_EQ(ssd_spf_parse_txt(pool, nul, sizeof(nul) - 1, &terms),
                "the record holds a NUL byte", "a NUL byte is invalid");
    UNIT_CHECK(terms && terms->nelts == 0, "no terms for a NUL record");
    UNIT_STR_EQ(ssd_spf_parse_txt(pool, ok, sizeof(ok) - 1, &terms), NULL,
                "the same bytes without the NUL are valid");
    UNIT_STR_EQ(ssd_spf_parse_txt(pool, "v=spf1 -all moo", 11, &terms), NULL,
                "only len bytes are parsed");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_exp_only_macros();
    test_slash_in_domain();
    test_nul_byte();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
