/* Unit tests of ssd_domain: normalisation, the domain rules, rua. */
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "ssd_domain.h"
#include "unit.h"

#define SELECTOR "scaisend"
#define UNTOUCHED "untouched"
#define MSG_RUA_HOST "domain part of the address is not a valid host name"

static apr_pool_t *pool;
static const char *const provider[] = { "scailabs.ai", "scaisend.net", NULL };

static const char *normalise(const char *input, const char *selector,
                             ssd_domain_name_t *out)
{
    return ssd_domain_normalise(pool, input, selector, provider, out);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static void accepts_with(const char *name, const char *input,
                         const char *selector, const char *domain,
                         const char *unicode)
{
    ssd_domain_name_t d = { UNTOUCHED, UNTOUCHED };
    const char *msg = normalise(input, selector, &d);

    if (!UNIT_CHECK(!msg && same(d.domain, domain)
                    && same(d.domain_unicode, unicode), name)) {
        printf("#   message: %s\n#   domain: %s\n#   unicode: %s\n",
               msg ? msg : "NULL", d.domain ? d.domain : "NULL",
               d.domain_unicode ? d.domain_unicode : "NULL");
    }
}

static void accepts(const char *input, const char *domain,
                    const char *unicode)
{
    accepts_with(apr_psprintf(pool, "accepts '%s'", input), input, SELECTOR,
                 domain, unicode);
}

static void refuses_with(const char *name, const char *input,
                         const char *selector, const char *want)
{
    ssd_domain_name_t d = { UNTOUCHED, UNTOUCHED };
    const char *msg = normalise(input, selector, &d);

    UNIT_STR_EQ(msg, want, name);
    UNIT_CHECK(!strcmp(d.domain, UNTOUCHED)
               && !strcmp(d.domain_unicode, UNTOUCHED),
               apr_pstrcat(pool, name, ": out untouched", NULL));
}

static void refuses(const char *name, const char *input, const char *want)
{
    refuses_with(name, input, SELECTOR, want);
}

static void refuses_prefix(const char *name, const char *input,
                           const char *prefix)
{
    ssd_domain_name_t d = { UNTOUCHED, UNTOUCHED };
    const char *msg = normalise(input, SELECTOR, &d);

    if (!UNIT_CHECK(msg && !strncmp(msg, prefix, strlen(prefix)), name)) {
        printf("#   message: %s\n", msg ? msg : "NULL");
    }
}

/* n characters: labels of 63 'a' separated by dots, ending "example". */
static const char *name_of_length(apr_size_t n)
{
    char *s = apr_palloc(pool, n + 1);
    apr_size_t tail = strlen(".example"), i;

    for (i = 0; i < n - tail; i++) {
        s[i] = (i % 64 == 63) ? '.' : 'a';
    }
    if (s[n - tail - 1] == '.') {   /* no empty last label */
        s[n - tail - 2] = '.';
        s[n - tail - 1] = 'b';
    }
    strcpy(s + n - tail, ".example");
    return s;
}

static const char *repeat(char c, apr_size_t n)
{
    char *s = apr_palloc(pool, n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void test_valid_names(void)
{
    accepts("mail.example.com", "mail.example.com", NULL);
    accepts("Mail.Example.COM.", "mail.example.com", NULL);
    accepts("MAIL.EXAMPLE.COM", "mail.example.com", NULL);
    accepts("noreply.platform.example", "noreply.platform.example", NULL);
    accepts("example.com", "example.com", NULL);
    accepts("news.example.test", "news.example.test", NULL);
    accepts("example.co.uk", "example.co.uk", NULL);
    accepts("acme.github.io", "acme.github.io", NULL);
    accepts("a-b.example.com", "a-b.example.com", NULL);
    accepts("123.example.com", "123.example.com", NULL);
    accepts("notscailabs.ai", "notscailabs.ai", NULL);
    accepts(apr_pstrcat(pool, repeat('a', 63), ".example", NULL),
            apr_pstrcat(pool, repeat('a', 63), ".example", NULL), NULL);
}

static void test_unicode(void)
{
    accepts("bücher.example", "xn--bcher-kva.example", "bücher.example");
    accepts("BÜCHER.Example.", "xn--bcher-kva.example", "bücher.example");
    accepts("xn--bcher-kva.example", "xn--bcher-kva.example",
            "bücher.example");
    accepts("faß.de", "xn--fa-hia.de", "faß.de");
    accepts_with("fullwidth letters map to ASCII",
                 "\xef\xbd\x81\xef\xbd\x82\xef\xbd\x83.example", SELECTOR,
                 "abc.example", NULL);
    refuses_prefix("disallowed code point (snowman)", "\xe2\x98\x83.example",
                   "invalid internationalized domain name: ");
    refuses_prefix("bad punycode in an A-label", "xn--zz.example",
                   "invalid internationalized domain name: ");
    refuses_prefix("an A-label of a disallowed code point (U+2A75)",
                   "xn--e-2sr.example",
                   "invalid internationalized domain name: ");
    refuses_prefix("an A-label holding a no-break space",
                   "xn--xamplec-localn--ampler-kva.example",
                   "invalid internationalized domain name: ");
    refuses("not UTF-8 (0xff)", "\xff.example", "not valid UTF-8");
    refuses("not UTF-8 (truncated sequence)", "\xc3.example",
            "not valid UTF-8");
    refuses("not UTF-8 (overlong '.')", "a\xc0\xae" "example",
            "not valid UTF-8");
    refuses("not UTF-8 (encoded surrogate)", "\xed\xa0\x80.example",
            "not valid UTF-8");
    refuses("unicode label over 63 octets as A-label",
            apr_pstrcat(pool, repeat('a', 60), "ü.example", NULL),
            "label longer than 63 characters");
}

static void test_lengths(void)
{
    refuses("label of 64 characters",
            apr_pstrcat(pool, repeat('a', 64), ".example", NULL),
            "label longer than 63 characters");
    accepts_with("253 characters without a selector", name_of_length(253),
                 NULL, name_of_length(253), NULL);
    refuses_with("254 characters", name_of_length(254), NULL,
                 "domain longer than 253 characters");
    refuses_with("254 characters and a trailing dot",
                 apr_pstrcat(pool, name_of_length(254), ".", NULL), NULL,
                 "domain longer than 253 characters");
    accepts_with("229 characters: scaisend9999._domainkey. fits",
                 name_of_length(229), SELECTOR, name_of_length(229), NULL);
    refuses("230 characters: the DKIM record name would not fit",
            name_of_length(230),
            "domain longer than 229 characters, too long for its DKIM "
            "record name");
}

static void test_ip_literals(void)
{
    const char *ip = "ip address literal is not a domain name";

    refuses("IPv4 dotted quad", "192.0.2.1", ip);
    refuses("IPv4 with a trailing dot", "192.0.2.1.", ip);
    refuses("IPv4 short form", "127.1", ip);
    refuses("IPv4 in brackets", "[192.0.2.1]", ip);
    refuses("IPv6", "2001:db8::1", ip);
    refuses("IPv6 in brackets", "[::1]", ip);
    refuses("numeric top-level label", "example.123",
            "top-level label cannot be all digits");
}

static void test_public_suffixes(void)
{
    refuses("single label 'com'", "com", "domain needs at least two labels");
    refuses("single label 'example'", "example",
            "domain needs at least two labels");
    refuses("co.uk", "co.uk", "'co.uk' is a public suffix");
    refuses("CO.UK.", "CO.UK.", "'co.uk' is a public suffix");
    refuses("github.io (private section)", "github.io",
            "'github.io' is a public suffix");
    refuses("wildcard rule *.ck", "anything.ck",
            "'anything.ck' is a public suffix");
    refuses("IDN public suffix", "公司.cn",
            "'xn--55qx5d.cn' is a public suffix");
}

static void test_syntax(void)
{
    refuses("empty string", "", "domain name is empty");
    refuses("only a dot", ".", "domain name is only a dot");
    refuses("leading dot", ".example.com", "empty label");
    refuses("two consecutive dots", "mail..example.com", "empty label");
    refuses("two trailing dots", "mail.example.com..", "empty label");
    refuses("underscore", "mail_out.example.com",
            "underscore not allowed in a domain name");
    refuses("underscore label", "_dmarc.example.com",
            "underscore not allowed in a domain name");
    refuses("leading hyphen", "-mail.example.com",
            "label starts or ends with a hyphen");
    refuses("trailing hyphen", "mail-.example.com",
            "label starts or ends with a hyphen");
}

static void test_characters(void)
{
    refuses("space", "mail example.com",
            "space not allowed in a domain name");
    refuses("leading space", " mail.example.com",
            "space not allowed in a domain name");
    refuses("tab", "mail\t.example.com",
            "control character not allowed in a domain name");
    refuses("control character 0x01", "mail\x01.example.com",
            "control character not allowed in a domain name");
    refuses("DEL", "mail\x7f.example.com",
            "control character not allowed in a domain name");
    refuses("exclamation mark", "mail!.example.com",
            "invalid character '!'");
    refuses("slash", "mail/x.example.com", "invalid character '/'");
    refuses("colon that is no IPv6", "mail:25.example.com",
            "invalid character ':'");
    refuses("at sign", "user@example.com", "invalid character '@'");
}

static void test_reserved(void)
{
    refuses("localhost", "localhost", "reserved name");
    refuses("LOCALHOST.", "LOCALHOST.", "reserved name");
    refuses("under .localhost", "app.localhost", "reserved name");
    refuses(".local", "printer.local", "reserved name");
    refuses(".invalid", "mail.invalid", "reserved name");
    refuses(".onion", "abcdef.onion", "reserved name");
    refuses(".arpa", "home.arpa", "reserved name");
    refuses("reverse zone", "1.0.0.127.in-addr.arpa", "reserved name");
    refuses("provider domain", "scailabs.ai", "reserved name");
    refuses("provider subdomain", "Mail.ScaiLabs.AI.", "reserved name");
    refuses("second provider domain", "x.scaisend.net", "reserved name");
}

static void test_is_within(void)
{
    UNIT_CHECK(ssd_domain_is_within("example.com", "example.com"),
               "is_within: same name");
    UNIT_CHECK(ssd_domain_is_within("a.b.example.com", "example.com"),
               "is_within: subdomain");
    UNIT_CHECK(!ssd_domain_is_within("badexample.com", "example.com"),
               "is_within: suffix without a dot boundary");
    UNIT_CHECK(!ssd_domain_is_within("com", "example.com"),
               "is_within: parent is not within");
    UNIT_CHECK(!ssd_domain_is_within("example.com", ""),
               "is_within: empty domain");
}

static void rua_ok(const char *addr)
{
    const char *msg = ssd_rua_validate(addr);

    if (!UNIT_CHECK(msg == NULL, apr_psprintf(pool, "rua accepts '%s'",
                                              addr))) {
        printf("#   message: %s\n", msg);
    }
}

static const struct {
    const char *name;
    const char *addr;
    const char *msg;
} rua_refusals[] = {
    { "semicolon", "a;b@example.com", "invalid character ';' in address" },
    { "comma", "a@example.com,b@example.com",
      "invalid character ',' in address" },
    { "exclamation mark", "a@example.com!10m",
      "invalid character '!' in address" },
    { "CR", "a@example.com\r", "control character in address" },
    { "LF", "a@example.com\nv=DMARC1", "control character in address" },
    { "space", "a b@example.com", "space in address" },
    { "non-ASCII", "j\xc3\xb6rg@example.com",
      "non-ASCII character in address" },
    { "two @", "a@b@example.com", "address needs exactly one '@'" },
    { "no @", "example.com", "address needs exactly one '@'" },
    { "empty", "", "address is empty" },
    { "empty local part", "@example.com", "empty local part" },
    { "double dot", "a..b@example.com",
      "two consecutive dots in local part" },
    { "leading dot", ".a@example.com",
      "local part starts or ends with a dot" },
    { "angle brackets", "<a@example.com>",
      "invalid character '<' in address" },
    { "mailto: prefix", "mailto:a@example.com",
      "invalid character ':' in address" },
    { "single-label domain", "a@localhost", MSG_RUA_HOST },
    { "IP address domain", "a@192.0.2.1", MSG_RUA_HOST },
    { "underscore in domain", "a@exa_mple.com", MSG_RUA_HOST },
    { "hyphen-led label", "a@-x.example.com", MSG_RUA_HOST },
    { "trailing dot", "a@example.com.", MSG_RUA_HOST },
    { NULL, NULL, NULL }
};

static void test_rua_refusals(void)
{
    int i;

    for (i = 0; rua_refusals[i].name; i++) {
        UNIT_STR_EQ(ssd_rua_validate(rua_refusals[i].addr),
                    rua_refusals[i].msg,
                    apr_pstrcat(pool, "rua: ", rua_refusals[i].name, NULL));
    }
    UNIT_STR_EQ(ssd_rua_validate(apr_pstrcat(pool, repeat('a', 64), "@",
                                             name_of_length(190), NULL)),
                "address longer than 254 characters", "rua: 255 characters");
    UNIT_STR_EQ(ssd_rua_validate(apr_pstrcat(pool, repeat('a', 65),
                                             "@example.com", NULL)),
                "local part longer than 64 characters",
                "rua: local part of 65");
}

static void test_rua_accepted(void)
{
    rua_ok("dmarc@example.com");
    rua_ok("dmarc-reports+acme@mail.Example.co.uk");
    rua_ok("o'brien@example.com");
    rua_ok(apr_pstrcat(pool, repeat('a', 64), "@", name_of_length(189),
                       NULL));
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    UNIT_CHECK(ssd_domain_init(pool) == APR_SUCCESS,
               "public suffix list loaded");
    test_valid_names();
    test_unicode();
    test_lengths();
    test_ip_literals();
    test_public_suffixes();
    test_syntax();
    test_characters();
    test_reserved();
    test_is_within();
    test_rua_accepted();
    test_rua_refusals();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
