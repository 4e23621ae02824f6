/* Unit tests of ssd_mailbox: exactly one RFC 5322 mailbox. */
#include "unit.h"
#include "ssd_mailbox.h"

#include <apr_general.h>

static apr_pool_t *pool;

/* The domain found, or "invalid". */
static const char *domain_of(const char *v)
{
    const char *addr = NULL, *domain = NULL;

    return ssd_mailbox_parse(pool, v, &addr, &domain) ? "invalid" : domain;
}

static void test_valid(void)
{
    UNIT_STR_EQ(domain_of("a@example.com"), "example.com", "addr-spec");
    UNIT_STR_EQ(domain_of("  a.b+c@Example.COM  "), "Example.COM",
                "white space around, dots and plus in the local part");
    UNIT_STR_EQ(domain_of("Alice <alice@mail.example.com>"),
                "mail.example.com", "display name and angle address");
    UNIT_STR_EQ(domain_of("\"Sales: EU\" <s@b.example>"), "b.example",
                "a quoted display name with a colon");
    UNIT_STR_EQ(domain_of("\"Bank <a@bank.example>\" <x@t.example>"),
                "t.example", "angle brackets inside the quoted name");
    UNIT_STR_EQ(domain_of("alice@example.org (Alice (A.) Example)"),
                "example.org", "a nested comment after the address");
    UNIT_STR_EQ(domain_of("(c) Alice <a@x.example> (d)"), "x.example",
                "comments around");
    UNIT_STR_EQ(domain_of("\"a b\"@q.example"), "q.example",
                "a quoted local part");
    UNIT_STR_EQ(domain_of("<a@x.example>"), "x.example", "angle address only");
    UNIT_STR_EQ(domain_of("J. Doe <j@x.example>"), "x.example",
                "an obsolete phrase with a dot");
    UNIT_STR_EQ(domain_of("a@example.com."), "example.com.",
                "one final dot");
}

static void test_invalid(void)
{
    UNIT_STR_EQ(domain_of("<a@bank.example> <x@tenant.example>"), "invalid",
                "two angle addresses");
    UNIT_STR_EQ(domain_of("a@bank.example <x@tenant.example>"), "invalid",
                "an address as the display name");
    UNIT_STR_EQ(domain_of("a@example.com, b@example.com"), "invalid",
                "two addresses");
    UNIT_STR_EQ(domain_of("Group: a@x.example;"), "invalid", "a group");
    UNIT_STR_EQ(domain_of("a@b@example.com"), "invalid", "two @");
    UNIT_STR_EQ(domain_of("not an address"), "invalid", "no @");
    UNIT_STR_EQ(domain_of("@example.com"), "invalid", "empty local part");
    UNIT_STR_EQ(domain_of("a@"), "invalid", "empty domain");
    UNIT_STR_EQ(domain_of("a@[192.0.2.1]"), "invalid", "a domain literal");
    UNIT_STR_EQ(domain_of("a..b@example.com"), "invalid", "two dots");
    UNIT_STR_EQ(domain_of("a@example..com"), "invalid", "empty label");
    UNIT_STR_EQ(domain_of("Alice <a@x.example"), "invalid", "no closing >");
    UNIT_STR_EQ(domain_of("Alice <a@x.example> trailing"), "invalid",
                "text after the address");
    UNIT_STR_EQ(domain_of("\"open <a@x.example>"), "invalid",
                "an unclosed quote");
    UNIT_STR_EQ(domain_of("(open a@x.example"), "invalid",
                "an unclosed comment");
    UNIT_STR_EQ(domain_of(""), "invalid", "empty");
    UNIT_STR_EQ(domain_of("a@example.com.."), "invalid", "two final dots");
}

int main(void)
{
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_valid();
    test_invalid();
    rc = UNIT_DONE();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
