/* Unit tests of ssd_spf_eval (check_host(), macros, addresses) and of the
 * SPF check's judgement for ScaiSend's addresses (ssd_check_spf), over
 * canned zones (fake_zone.h). The whole OpenSPF suite runs through the
 * evaluator in t/unit/rfc7208_eval.py; these tests pin the outcome's
 * details and the check's findings. */
#include "unit.h"
#include "fake_zone.h"
#include "ssd_check.h"

#include <stdlib.h>
#include <apr_general.h>

#define DOM "mail.example.com"
#define INC "spf.scaisend.example"
#define INC_RECORD "v=spf1 ip4:203.0.113.10 ip6:2001:db8:5ca1::10 ~all"
#define V4 "203.0.113.10"
#define V6 "2001:db8:5ca1::10"
#define REV4 "10.113.0.203.in-addr.arpa"

static apr_pool_t *pool;

/* ---- macros (RFC 7208 section 7.4's examples) ---- */

static const char *expand(const char *spec, const char *ip, int exp)
{
    ssd_spf_macros_t m;
    ssd_ip_t a;

    memset(&m, 0, sizeof(m));
    ssd_ip_parse(ip, &a);
    m.s = "strong-bad@email.example.com";
    m.l = "strong-bad";
    m.o = "email.example.com";
    m.d = "email.example.com";
    m.i = ssd_spf_macro_i(pool, &a);
    m.v = a.family == 4 ? "in-addr" : "ip6";
    m.h = "mx.example.org";
    m.c = ssd_ip_text(pool, &a);
    m.r = "receiver.example";
    m.t = "1000";
    return ssd_spf_expand(pool, &m, spec, exp);
}

static void test_macros(void)
{
    static const char *const cases[][2] = {
        {"%{s}", "strong-bad@email.example.com"},
        {"%{o}", "email.example.com"},
        {"%{d}", "email.example.com"}, {"%{d4}", "email.example.com"},
        {"%{d3}", "email.example.com"}, {"%{d2}", "example.com"},
        {"%{d1}", "com"}, {"%{dr}", "com.example.email"},
        {"%{d2r}", "example.email"}, {"%{l}", "strong-bad"},
        {"%{l-}", "strong.bad"}, {"%{lr}", "strong-bad"},
        {"%{lr-}", "bad.strong"}, {"%{l1r-}", "strong"},
        {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
        {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
        {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
         "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
        {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
         "3.2.0.192.in-addr.strong.lp._spf.example.com"},
        {"%{d2}.trusted-domains.example.net",
         "example.com.trusted-domains.example.net"},
        {"%{S}", "strong-bad%40email.example.com"},
        {"%{h}.", "mx.example.org"},
        {"a%%b%_c%-d.example", "a%b c%20d.example"},
        {"%{o.}", "email.example.com"}, {"%{d0}", "email.example.com"},
        {"%{l=}", "strong-bad"},
    };
    unsigned i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        UNIT_STR_EQ(expand(cases[i][0], "192.0.2.3", 0), cases[i][1],
                    apr_psprintf(pool, "macro %s", cases[i][0]));
    }
    UNIT_STR_EQ(expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01", 0),
                "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0."
                "0.2.ip6._spf.example.com", "macro %{ir} of an IPv6 address");
    UNIT_STR_EQ(expand("%{c} %{r} %{t}", "2001:db8::cb01", 1),
                "2001:db8::cb01 receiver.example 1000",
                "c r t in an explanation");
    UNIT_CHECK(expand("%{c}.example", "192.0.2.3", 0) == NULL,
               "c is refused in a domain-spec");
    UNIT_CHECK(expand("%{z}", "192.0.2.3", 0) == NULL, "unknown letter");
    UNIT_CHECK(ssd_spf_macro_uses("x.%{L1r}.example", "l")
               && !ssd_spf_macro_uses("%%{l}.example", "l"),
               "macro_uses: either case, not after %%");
}

static void test_truncation(void)
{
    const char *label = "abcdefghijklmnopqrstuvwxyz"
                        "abcdefghijklmnopqrstuvwxyz0123456789";
    const char *long_d = apr_pstrcat(pool, label, ".", label, ".", label, ".",
                                     label, ".", label, ".example.com", NULL);
    ssd_spf_macros_t m;
    const char *x;

    memset(&m, 0, sizeof(m));
    m.d = long_d;
    x = ssd_spf_expand(pool, &m, "%{d}", 0);
    UNIT_CHECK(strlen(long_d) == 326 && strlen(x) == 200
               && !strcmp(x, long_d + 2 * (strlen(label) + 1)),
               "over 253 bytes: labels dropped from the left (7.3)");
    UNIT_CHECK(ssd_spf_dns_name_ok("a.b", 1) && !ssd_spf_dns_name_ok("a", 1)
               && !ssd_spf_dns_name_ok("a..b", 0)
               && ssd_spf_dns_name_ok("a.b.", 1)
               && !ssd_spf_dns_name_ok(apr_pstrcat(pool, label, "xx.com",
                                                   NULL), 0),
               "DNS names: multi-label, empty labels, 63 bytes");
}

/* ---- addresses ---- */

static void test_addresses(void)
{
    ssd_ip_t a, n;

    UNIT_CHECK(ssd_ip_parse("::ffff:192.0.2.1", &a) && a.family == 4
               && !strcmp(ssd_ip_text(pool, &a), "192.0.2.1"),
               "IPv4-mapped IPv6 is IPv4");
    ssd_ip_parse("192.0.2.0", &n);
    UNIT_CHECK(ssd_ip_in(&a, &n, 24) && !ssd_ip_in(&a, &n, 32)
               && ssd_ip_in(&a, &n, 0), "IPv4 CIDR");
    ssd_ip_parse("192.0.2.129", &a);
    UNIT_CHECK(ssd_ip_in(&a, &n, 24) && !ssd_ip_in(&a, &n, 25),
               "a prefix that is not a byte boundary");
    ssd_ip_parse("2001:db8::1", &n);
    UNIT_CHECK(!ssd_ip_in(&a, &n, 0), "families never match each other");
    UNIT_STR_EQ(ssd_ip_reverse(pool, &a), "129.2.0.192.in-addr.arpa",
                "reverse name, IPv4");
    UNIT_STR_EQ(ssd_ip_reverse(pool, &n), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
                "reverse name, IPv6");
}

/* ---- check_host() outcomes ---- */

static ssd_spf_result_e host(fz_t *z, const char *ip, const char *domain,
                             int flags, ssd_spf_outcome_t *o)
{
    ssd_spf_lookup_t lk = fz_lookup(z);
    ssd_spf_query_t q;

    memset(&q, 0, sizeof(q));
    q.ip = ip;
    q.domain = domain;
    q.sender = apr_pstrcat(pool, "bounce@", domain, NULL);
    q.helo = "mta.scaisend.example";
    q.flags = flags;
    return ssd_spf_check_host(pool, &lk, &q, o);
}

static void test_outcome(void)
{
    fz_t *z = fz_new(pool);
    ssd_spf_outcome_t o;
    int i;

    fz_add(z, DOM, "TXT", "v=spf1 ip4:192.0.2.1 redirect=r1.example.net");
    fz_add(z, "r1.example.net", "TXT", "v=spf1 redirect=r2.example.net");
    fz_add(z, "r2.example.net", "TXT", "v=spf1 include:i.example.net ~all");
    fz_add(z, "i.example.net", "TXT", "v=spf1 -ip4:" V4 " ?all");
    UNIT_CHECK(host(z, V4, DOM, 0, &o) == SSD_SPF_SOFTFAIL
               && !strcmp(o.decided_in, "r2.example.net")
               && !strcmp(o.decided_by, "~all") && o.dns_terms == 3
               && o.redirects->nelts == 2 && o.visited->nelts == 4,
               "redirect chain: the last target's ~all decides; 3 terms");
    UNIT_CHECK(host(z, "192.0.2.1", DOM, 0, &o) == SSD_SPF_PASS
               && !strcmp(o.decided_by, "ip4:192.0.2.1")
               && o.redirects->nelts == 0, "first match ends it");
    z = fz_new(pool);
    fz_add(z, DOM, "TXT", "v=spf1 include:a.example.net -all");
    fz_add(z, "a.example.net", "TXT", "v=spf1 include:b.example.net");
    fz_add(z, "b.example.net", "TXT", "v=spf1 include:a.example.net");
    UNIT_CHECK(host(z, V4, DOM, 0, &o) == SSD_SPF_PERMERROR
               && !strcmp(o.error, "too_many_lookups") && o.loop
               && !strcmp(o.loop, DOM " -> a.example.net -> b.example.net "
                          "-> a.example.net"), "an include loop is noted");
    z = fz_new(pool);
    fz_add(z, DOM, "TXT", "v=spf1 exists:%{l}.x.example exists:%{i}.y.example"
           " include:%{s} -all");
    fz_add(z, V4 ".y.example", "A", "127.0.0.2");
    UNIT_CHECK(host(z, V4, DOM, SSD_SPF_OPAQUE_SENDER, &o) == SSD_SPF_PASS
               && !strcmp(o.decided_by, "exists:%{i}.y.example")
               && !strcmp(o.decided_target, V4 ".y.example")
               && o.undecidable->nelts == 1 && o.dns_terms == 2,
               "opaque sender: %{l} undecidable, %{i} expanded");
    UNIT_CHECK(host(z, "192.0.2.1", DOM, SSD_SPF_OPAQUE_SENDER, &o)
               == SSD_SPF_FAIL && o.undecidable->nelts == 2
               && !strcmp(APR_ARRAY_IDX(o.undecidable, 1, ssd_spf_term_ref_t)
                          .letters, "s"), "include:%{s} undecidable too");
    z = fz_new(pool);
    fz_add(z, DOM, "TXT", "v=spf1 ptr:ptr.example -all");
    for (i = 0; i < 11; i++) {
        fz_add(z, REV4, "PTR", apr_psprintf(pool, "h%d.ptr.example", i));
        fz_add(z, apr_psprintf(pool, "h%d.ptr.example", i), "A",
               i == 10 ? V4 : "192.0.2.1");
    }
    UNIT_CHECK(host(z, V4, DOM, 0, &o) == SSD_SPF_FAIL
               && o.ptr_cut->nelts == 1,
               "ptr: the 11th name is ignored (4.6.4), and noted");
    fz_add(z, "h0.ptr.example", "A", V4);
    UNIT_CHECK(host(z, V4, DOM, 0, &o) == SSD_SPF_PASS,
               "ptr: a validated name under the target matches");
}

static void test_errors(void)
{
    fz_t *z = fz_new(pool);
    ssd_spf_outcome_t o;

    fz_add(z, DOM, "TXT", "v=spf1 a:slow.example ip4:" V4 " -all");
    fz_add(z, "slow.example", "TIMEOUT", NULL);
    UNIT_CHECK(host(z, V4, DOM, 0, &o) == SSD_SPF_TEMPERROR
               && !strcmp(o.error, "dns") && o.rc == SSD_DNS_TIMEOUT
               && !strcmp(o.error_name, "slow.example")
               && !strcmp(o.error_term, "a:slow.example"),
               "a DNS timeout in a: temperror, where and what");
    z = fz_new(pool);
    fz_add(z, DOM, "TXT", "v=spf1 include:none.example ip4:" V4);
    UNIT_CHECK(host(z, V4, DOM, 0, &o) == SSD_SPF_PERMERROR
               && !strcmp(o.error, "no_record")
               && !strcmp(o.error_in, DOM) && o.voids == 1,
               "include of a name without a record: permerror");
    z = fz_new(pool);
    fz_add(z, DOM, "TXT", "v=spf1 ptr ip4:" V4);
    fz_add(z, REV4, "SERVFAIL", NULL);
    UNIT_CHECK(host(z, V4, DOM, 0, &o) == SSD_SPF_PASS,
               "ptr: a DNS error on the PTR lookup only fails to match");
    z = fz_new(pool);
    fz_add(z, DOM, "TXT", "v=spf1 mx:m.example ip4:" V4);
    fz_add(z, "m.example", "MX", "a.m.example");
    fz_add(z, "a.m.example", "SERVFAIL", NULL);
    UNIT_CHECK(host(z, V4, DOM, 0, &o) == SSD_SPF_TEMPERROR
               && o.rc == SSD_DNS_SERVFAIL, "mx: an address lookup "
               "failing is a temperror");
}

/* ---- the check ---- */

static fz_t *zone_with(const char *record)
{
    fz_t *z = fz_new(pool);

    fz_add(z, INC, "TXT", INC_RECORD);
    if (record) {
        fz_add(z, DOM, "TXT", record);
    }
    return z;
}

static ssd_check_result_t check(fz_t *z)
{
    ssd_spf_lookup_t lk = fz_lookup(z);
    ssd_check_result_t r;

    ssd_check_spf(pool, &lk, DOM, INC, "mta.scaisend.example", &r);
    return r;
}

static const char *codes(const apr_array_header_t *list)
{
    const ssd_finding_t *f = (const ssd_finding_t *)list->elts;
    const char *s = "";
    int i;

    for (i = 0; i < list->nelts; i++) {
        s = apr_pstrcat(pool, s, i ? "," : "", f[i].code, NULL);
    }
    return s;
}

static const char *message(const apr_array_header_t *list, int i)
{
    return i < list->nelts ? APR_ARRAY_IDX(list, i, ssd_finding_t).message
                           : "";
}

static int has(const char *s, const char *part)
{
    return s && strstr(s, part);
}

/* status, error codes and warning codes in one test */
static ssd_check_result_t judge(fz_t *z, ssd_check_status_e st,
                                const char *errors, const char *warnings,
                                const char *name)
{
    ssd_check_result_t r = check(z);
    int ok = r.status == st && !strcmp(codes(r.errors), errors)
             && !strcmp(codes(r.warnings), warnings);

    if (getenv("SPF_SHOW")) {               /* SPF_SHOW=1: every message */
        int i;

        for (i = 0; i < r.errors->nelts + r.warnings->nelts; i++) {
            printf("# %s\n", i < r.errors->nelts ? message(r.errors, i)
                   : message(r.warnings, i - r.errors->nelts));
        }
    }
    if (!UNIT_CHECK(ok, name)) {
        printf("#   %s [%s] [%s]\n", ssd_check_status_name(r.status),
               codes(r.errors), codes(r.warnings));
        printf("#   %s\n#   %s\n", message(r.errors, 0),
               message(r.warnings, 0));
    }
    return r;
}

static void test_check_terms(void)
{
    fz_t *z;
    ssd_check_result_t r;
    const ssd_finding_t *f;

    r = judge(zone_with("v=spf1 -ip4:" V4 " include:" INC " ~all"),
              SSD_CHECK_FAIL, "term_before_include", "",
              "-ip4:<our address> before the include fails");
    f = &APR_ARRAY_IDX(r.errors, 0, ssd_finding_t);
    UNIT_CHECK(has(f->message, "'-ip4:" V4 "' comes before include:" INC)
               && has(f->message, "ScaiSend's address " V4 " (")
               && !has(f->message, V6) && has(f->message, "answer fail"),
               "... the message names the term, the address, the result");
    UNIT_STR_EQ(f->expected, "v=spf1 include:" INC " -ip4:" V4 " ~all",
                "... and expects the include first");
    r = judge(zone_with("v=spf1 ?all include:" INC), SSD_CHECK_FAIL,
              "include_after_all", "", "?all before the include");
    UNIT_CHECK(has(message(r.errors, 0), "(neutral for ScaiSend's addresses "
                   V4 " and " V6 ")"), "... neutral, both addresses named");
    z = zone_with("v=spf1 -a include:" INC " ~all");
    fz_add(z, DOM, "AAAA", V6);
    r = judge(z, SSD_CHECK_FAIL, "term_before_include", "",
              "-a matching our IPv6 address");
    UNIT_CHECK(has(message(r.errors, 0), "it is an address of " DOM)
               && has(message(r.errors, 0), "address " V6 " ("),
               "... says the A/AAAA records of the domain hold it");
    z = zone_with("v=spf1 ~exists:%{ir}.%{v}._spf.%{d2} include:" INC " -all");
    fz_add(z, "10.113.0.203.in-addr._spf.example.com", "A", "127.0.0.2");
    r = judge(z, SSD_CHECK_FAIL, "term_before_include", "",
              "exists with domain-only macros expanded");
    UNIT_CHECK(has(message(r.errors, 0), "10.113.0.203.in-addr._spf."
                   "example.com exists") && has(message(r.errors, 0),
                                                "answer softfail"),
               "... the expanded name in the message");
    z = zone_with("v=spf1 -exists:%{h}.block.example include:" INC " ~all");
    fz_add(z, "mta.scaisend.example.block.example", "A", "127.0.0.2");
    judge(z, SSD_CHECK_FAIL, "term_before_include", "",
          "%{h} is the HELO name");
    z = zone_with("v=spf1 -exists:%{l}.%{d}.block.example include:" INC
                  " ~all");
    r = judge(z, SSD_CHECK_PASS, "", "message_macro",
              "%{l}: a warning, taken as not matching");
    UNIT_CHECK(has(message(r.warnings, 0), "uses %{l} (the sender's "
                   "local-part), which depends on each message"),
               "... the warning says why");
    z = zone_with("v=spf1 -ptr:scaisend.example include:" INC " ~all");
    fz_add(z, REV4, "PTR", "mta.scaisend.example");
    fz_add(z, "mta.scaisend.example", "A", V4);
    r = judge(z, SSD_CHECK_FAIL, "term_before_include", "",
              "-ptr matching our address (forward-confirmed)");
    UNIT_CHECK(has(message(r.errors, 0), "address " V4 " (its reverse DNS "
                   "name is under scaisend.example)"), "... ptr message");
}

static void test_check_reach(void)
{
    fz_t *z;
    ssd_check_result_t r;
    int i;

    z = zone_with("v=spf1 redirect=_spf.example.net");
    fz_add(z, "_spf.example.net", "TXT", "v=spf1 ip4:192.0.2.0/24 ~all");
    r = judge(z, SSD_CHECK_FAIL, "include_missing", "",
              "a redirect= that loses the include");
    UNIT_CHECK(has(message(r.errors, 0), "reach '~all' in the SPF record of "
                   "_spf.example.net (reached by redirect=: " DOM " -> "
                   "_spf.example.net)"), "... names the redirect chain");
    z = zone_with("v=spf1 mx:many.example include:" INC " ~all");
    for (i = 0; i < 11; i++) {
        fz_add(z, "many.example", "MX", apr_psprintf(pool, "m%d.example", i));
    }
    r = judge(z, SSD_CHECK_FAIL, "too_many_mx_names", "",
              "an mx with 11 names before the include");
    UNIT_CHECK(has(message(r.errors, 0), "many.example has 11 MX records"),
               "... the message counts them");
    z = zone_with("v=spf1 a:a1.example a:a2.example a:a3.example a:a4.example"
                  " a:a5.example a:a6.example a:a7.example a:a8.example"
                  " a:a9.example include:" INC " ~all");
    for (i = 1; i <= 9; i++) {
        fz_add(z, apr_psprintf(pool, "a%d.example", i), "A", "192.0.2.1");
        fz_add(z, apr_psprintf(pool, "a%d.example", i), "AAAA", "2001:db8::1");
    }
    judge(z, SSD_CHECK_PASS, "", "", "the include as the 10th lookup");
    APR_ARRAY_IDX(z->rrs, 0, fz_rr_t).data = "v=spf1 a:out.scaisend.example "
                                             "ip4:" V4 " ip6:" V6 " ~all";
    APR_ARRAY_IDX(z->rrs, 0, fz_rr_t).len =
        strlen(APR_ARRAY_IDX(z->rrs, 0, fz_rr_t).data);
    fz_add(z, "out.scaisend.example", "A", "198.51.100.7");
    fz_add(z, "out.scaisend.example", "AAAA", "2001:db8:5ca1::77");
    r = judge(z, SSD_CHECK_FAIL, "too_many_lookups", "",
              "the include's own a: is the 11th lookup");
    UNIT_CHECK(has(message(r.errors, 0), "ScaiSend's addresses 198.51.100.7,"
                   " 2001:db8:5ca1::77, " V4 " and " V6 " needs")
               && has(message(r.errors, 0), "the limit was passed at "
                      "'a:out.scaisend.example' in the SPF record of " INC),
               "... for all four addresses (the include's a: is its first "
               "term), at that a:");
}

static void test_check_include(void)
{
    fz_t *z = fz_new(pool);
    ssd_check_result_t r;

    fz_add(z, DOM, "TXT", "v=spf1 include:" INC " ~all");
    r = judge(z, SSD_CHECK_TEMPERROR, "include_unavailable", "",
              "no record at the include: temperror, not the domain's fault");
    UNIT_CHECK(has(message(r.errors, 0), "not a problem of the record at "
                   DOM), "... says so");
    fz_add(z, INC, "TXT", "v=spf1 exists:%{i}.x.example ~all");
    judge(z, SSD_CHECK_TEMPERROR, "include_unavailable", "",
          "an include naming no address");
    z = fz_new(pool);
    fz_add(z, INC, "TXT", "v=spf1 mx:scaisend.example a:out.scaisend.example "
           "-all");
    fz_add(z, "scaisend.example", "MX", "mx1.scaisend.example");
    fz_add(z, "mx1.scaisend.example", "A", "198.51.100.1");
    fz_add(z, "out.scaisend.example", "AAAA", "2001:db8:5ca1::20");
    fz_add(z, DOM, "TXT", "v=spf1 -ip4:198.51.100.0/24 include:" INC);
    r = judge(z, SSD_CHECK_FAIL, "term_before_include", "",
              "addresses learnt from the include's mx and a:");
    UNIT_CHECK(has(message(r.errors, 0), "address 198.51.100.1 (")
               && !has(message(r.errors, 0), "2001:db8:5ca1::20")
               && r.lookups == 7, "... the IPv6 one passes; 7 lookups "
               "(2 TXT, MX, A and AAAA of 2 hosts), each once");
    z = zone_with("v=spf1 include:flaky.example include:" INC " ~all");
    fz_add(z, "flaky.example", "TIMEOUT", NULL);
    r = judge(z, SSD_CHECK_TEMPERROR, "dns_timeout", "",
              "a timeout before the include: temperror");
    UNIT_CHECK(has(message(r.errors, 0), "needs the DNS lookup of "
                   "flaky.example ('include:flaky.example' in the SPF record "
                   "of " DOM "), which timed out")
               && r.lookups == 3, "... once for both addresses (cached)");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_macros();
    test_truncation();
    test_addresses();
    test_outcome();
    test_errors();
    test_check_terms();
    test_check_reach();
    test_check_include();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
