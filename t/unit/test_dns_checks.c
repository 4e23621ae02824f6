/* Unit tests of ssd_check (DKIM, SPF, DMARC) over a canned, in-memory
 * fetch function: no network. A TXT RR is written with '\x1f' between its
 * character-strings; the fake fetch concatenates them, as ssd_dns does. */
#include "unit.h"
#include "ssd_check.h"
#include "ssd_dkim.h"
#include "ssd_dmarc_walk.h"

#include <stdarg.h>
#include <apr_general.h>
#include <apr_strings.h>

#define DOM "mail.example.com"
#define SEL "scaisend"
#define HOST SEL "._domainkey." DOM
#define INC "spf.scaisend.example"
/* The include's own record: the addresses the SPF check evaluates. */
#define INC_RECORD "v=spf1 ip4:203.0.113.10 ip6:2001:db8:5ca1::10 ~all"
#define DMARC_HOST "_dmarc." DOM

typedef struct {
    const char *name;
    ssd_dns_rc rc;
    apr_array_header_t *rrs;        /* const char * */
    const char *alias_of;           /* a CNAME chain to this entry */
    int hops;
    apr_array_header_t *typed;      /* "A 192.0.2.1", "MX mx.example" */
} entry_t;

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *entries;    /* entry_t */
    int calls;
    apr_array_header_t *asked;      /* const char *: the names fetched */
} zone_t;

static apr_pool_t *pool;
static const char *key_a, *key_b;   /* base64 SPKI of two RSA keys */

static zone_t *zone(void)
{
    zone_t *z = apr_pcalloc(pool, sizeof(*z));

    z->p = pool;
    z->entries = apr_array_make(pool, 8, sizeof(entry_t));
    z->asked = apr_array_make(pool, 8, sizeof(const char *));
    return z;
}

static entry_t *entry(zone_t *z, const char *name)
{
    entry_t *e = (entry_t *)z->entries->elts;
    int i;

    for (i = 0; i < z->entries->nelts; i++) {
        if (!strcasecmp(e[i].name, name)) {
            return &e[i];
        }
    }
    e = apr_array_push(z->entries);
    memset(e, 0, sizeof(*e));
    e->name = name;
    e->rc = SSD_DNS_NODATA;
    e->rrs = apr_array_make(z->p, 2, sizeof(const char *));
    return e;
}

/* TXT RRs at name (NULL-terminated list). */
static void txt(zone_t *z, const char *name, ...)
{
    entry_t *e = entry(z, name);
    const char *s;
    va_list ap;

    va_start(ap, name);
    while ((s = va_arg(ap, const char *))) {
        APR_ARRAY_PUSH(e->rrs, const char *) = s;
        e->rc = SSD_DNS_OK;
    }
    va_end(ap);
}

/* A record of another type at name: rr(z, name, "A 192.0.2.1"). */
static void rr(zone_t *z, const char *name, const char *type_value)
{
    entry_t *e = entry(z, name);

    if (!e->typed) {
        e->typed = apr_array_make(z->p, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(e->typed, const char *) = type_value;
}

static void rcode(zone_t *z, const char *name, ssd_dns_rc rc)
{
    entry(z, name)->rc = rc;
}

static void alias(zone_t *z, const char *name, const char *target, int hops)
{
    entry_t *e = entry(z, name);

    e->alias_of = target;
    e->hops = hops;
}

static void fill(apr_pool_t *p, const entry_t *e, ssd_txt_answer_t *out)
{
    int i;

    out->rc = e->rc;
    for (i = 0; e->rc == SSD_DNS_OK && i < e->rrs->nelts; i++) {
        const char *rr = APR_ARRAY_IDX(e->rrs, i, const char *);
        char *data = apr_palloc(p, strlen(rr) + 1), *o = data;
        ssd_txt_t *t = apr_array_push(out->txts);

        for (; *rr; rr++) {
            if (*rr != '\x1f') {
                *o++ = *rr;
            }
        }
        *o = '\0';
        t->data = data;
        t->len = (apr_size_t)(o - data);
    }
}

static const entry_t *find(const zone_t *z, const char *name)
{
    const entry_t *e = (const entry_t *)z->entries->elts;
    const char *dot;
    int i;

    for (i = 0; i < z->entries->nelts; i++) {
        if (!strcasecmp(e[i].name, name)) {
            return &e[i];
        }
    }
    /* a wildcard "*.<suffix>" answers the names below <suffix> that have
     * no entry (a simplified RFC 4592 synthesis) */
    for (dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
        for (i = 0; i < z->entries->nelts; i++) {
            if (e[i].name[0] == '*' && e[i].name[1] == '.'
                && !strcasecmp(e[i].name + 2, dot + 1)) {
                return &e[i];
            }
        }
    }
    return NULL;
}

/* The names fetched, joined with spaces. */
static const char *asked(const zone_t *z)
{
    const char *s = "";
    int i;

    for (i = 0; i < z->asked->nelts; i++) {
        s = apr_pstrcat(pool, s, i ? " " : "",
                        APR_ARRAY_IDX(z->asked, i, const char *), NULL);
    }
    return s;
}

static ssd_dns_rc fake_fetch(void *baton, apr_pool_t *p, const char *name,
                             ssd_txt_answer_t *out)
{
    zone_t *z = baton;
    const entry_t *e = find(z, name);

    z->calls++;
    APR_ARRAY_PUSH(z->asked, const char *) = apr_pstrdup(z->p, name);
    out->txts = apr_array_make(p, 2, sizeof(ssd_txt_t));
    out->final_name = name;
    out->cnames = 0;
    out->rc = SSD_DNS_NXDOMAIN;
    if (e && e->alias_of) {
        out->final_name = e->alias_of;
        out->cnames = e->hops;
        e = find(z, e->alias_of);
    }
    if (e) {
        fill(p, e, out);
    }
    return out->rc;
}

/* A, AAAA, MX or PTR over the entries: NXDOMAIN without an entry, the
 * entry's temporary rc, else its typed records of that type or NODATA. */
static ssd_dns_rc fake_typed(zone_t *z, apr_pool_t *p, const char *name,
                             const char *type, ssd_rr_answer_t *out)
{
    const entry_t *e = find(z, name);
    apr_size_t tl = strlen(type);
    const char *v;
    ssd_ip_t ip;
    int i;

    z->calls++;
    out->ips = apr_array_make(p, 2, sizeof(ssd_ip_t));
    out->names = apr_array_make(p, 2, sizeof(const char *));
    out->final_name = name;
    out->cnames = 0;
    if (!e || ssd_dns_is_temporary(e->rc)) {
        return out->rc = e ? e->rc : SSD_DNS_NXDOMAIN;
    }
    for (i = 0; e->typed && i < e->typed->nelts; i++) {
        v = APR_ARRAY_IDX(e->typed, i, const char *);
        if (strncmp(v, type, tl) || v[tl] != ' ') {
            continue;
        }
        if (type[0] == 'M' || type[0] == 'P') {
            APR_ARRAY_PUSH(out->names, const char *) = v + tl + 1;
        }
        else if (ssd_ip_parse(v + tl + 1, &ip)) {
            *(ssd_ip_t *)apr_array_push(out->ips) = ip;
        }
    }
    return out->rc = out->ips->nelts || out->names->nelts ? SSD_DNS_OK
                                                           : SSD_DNS_NODATA;
}

static ssd_dns_rc fake_a(void *b, apr_pool_t *p, const char *n,
                         ssd_rr_answer_t *o)
{
    return fake_typed(b, p, n, "A", o);
}

static ssd_dns_rc fake_aaaa(void *b, apr_pool_t *p, const char *n,
                            ssd_rr_answer_t *o)
{
    return fake_typed(b, p, n, "AAAA", o);
}

static ssd_dns_rc fake_mx(void *b, apr_pool_t *p, const char *n,
                          ssd_rr_answer_t *o)
{
    return fake_typed(b, p, n, "MX", o);
}

static ssd_dns_rc fake_ptr(void *b, apr_pool_t *p, const char *n,
                           ssd_rr_answer_t *o)
{
    return fake_typed(b, p, n, "PTR", o);
}

/* ---- assertions ---- */

static const ssd_finding_t *finding(const apr_array_header_t *list,
                                    const char *code)
{
    const ssd_finding_t *f = (const ssd_finding_t *)list->elts;
    int i;

    for (i = 0; i < list->nelts; i++) {
        if (!strcmp(f[i].code, code)) {
            return &f[i];
        }
    }
    return NULL;
}

static const char *codes(const ssd_check_result_t *r)
{
    const ssd_finding_t *f = (const ssd_finding_t *)r->errors->elts;
    const char *s = "";
    int i;

    for (i = 0; i < r->errors->nelts; i++) {
        s = apr_pstrcat(pool, s, i ? "," : "", f[i].code, NULL);
    }
    return s;
}

static void expect(const ssd_check_result_t *r, ssd_check_status_e st,
                   const char *error_codes, const char *name)
{
    int ok = r->status == st && !strcmp(codes(r), error_codes);

    UNIT_CHECK(ok, name);
    if (!ok) {
        const ssd_finding_t *f = (const ssd_finding_t *)r->errors->elts;
        int i;

        printf("#   status %s, errors [%s], expected %s [%s]\n",
               ssd_check_status_name(r->status), codes(r),
               ssd_check_status_name(st), error_codes);
        for (i = 0; i < r->errors->nelts; i++) {
            printf("#   %s: %s\n", f[i].code, f[i].message);
        }
    }
}

static int contains(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

/* ---- DKIM ---- */

static ssd_check_result_t dkim(zone_t *z)
{
    ssd_check_result_t r;

    ssd_check_dkim(pool, fake_fetch, z, DOM, SEL, key_a, &r);
    return r;
}

static const char *rec(const char *key)
{
    return apr_pstrcat(pool, "v=DKIM1; k=rsa; p=", key, NULL);
}

/* value split into strings of at most 255 bytes */
static const char *split(const char *v, apr_size_t at)
{
    const char *out = "";

    while (strlen(v) > at) {
        out = apr_pstrcat(pool, out, apr_pstrmemdup(pool, v, at), "\x1f",
                          NULL);
        v += at;
    }
    return apr_pstrcat(pool, out, v, NULL);
}

/* key with a space every 64 characters */
static const char *spaced(const char *key)
{
    const char *out = "";

    while (strlen(key) > 64) {
        out = apr_pstrcat(pool, out, apr_pstrmemdup(pool, key, 64), " ",
                          NULL);
        key += 64;
    }
    return apr_pstrcat(pool, out, key, NULL);
}

static void dkim_one(const char *value, ssd_check_status_e st,
                     const char *code, const char *name)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    txt(z, HOST, value, NULL);
    r = dkim(z);
    expect(&r, st, code, name);
}

static void test_dkim_valid(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    txt(z, HOST, rec(key_a), NULL);
    r = dkim(z);
    expect(&r, SSD_CHECK_PASS, "", "DKIM: valid record passes");
    UNIT_STR_EQ(r.host, HOST, "DKIM: host is <selector>._domainkey.<domain>");
    UNIT_CHECK(r.lookups == 1 && z->calls == 1, "DKIM: one lookup");
    dkim_one(split(rec(key_a), 255), SSD_CHECK_PASS, "",
             "DKIM: strings of one RR are joined with no separator");
    dkim_one(apr_pstrcat(pool, "v=DKIM1; k=rsa; p=", spaced(key_a), NULL),
             SSD_CHECK_PASS, "", "DKIM: whitespace inside p= is ignored");
    dkim_one(apr_pstrcat(pool, "k=rsa; p=", key_a, ";", NULL),
             SSD_CHECK_PASS, "", "DKIM: v= is optional, final ; allowed");
    dkim_one(apr_pstrcat(pool, "v=DKIM1; h=sha1:sha256; s=*; t=y; n=a note;"
                         " x_new=1; p=", key_a, NULL), SSD_CHECK_PASS, "",
             "DKIM: h= with sha256, s=*, t=, n= and unknown tags pass");
    dkim_one(apr_pstrcat(pool, "v=DKIM1 ;\tk = rsa ;s=email:tlsrpt; p= ",
                         key_a, " ", NULL), SSD_CHECK_PASS, "",
             "DKIM: whitespace around tags and s=email:... pass");
}

static void test_dkim_cname(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    alias(z, HOST, "scaisend.keys.provider.example", 1);
    txt(z, "scaisend.keys.provider.example", rec(key_a), NULL);
    r = dkim(z);
    expect(&r, SSD_CHECK_PASS, "", "DKIM: record behind a CNAME passes");
    z = zone();
    alias(z, HOST, "scaisend.keys.provider.example", 2);
    txt(z, "scaisend.keys.provider.example", rec(key_b), NULL);
    r = dkim(z);
    expect(&r, SSD_CHECK_FAIL, "key_mismatch", "DKIM: wrong key via CNAME");
    UNIT_CHECK(contains(APR_ARRAY_IDX(r.errors, 0, ssd_finding_t).message,
                        "CNAME to scaisend.keys.provider.example"),
               "DKIM: message names the CNAME target");
    z = zone();
    rcode(z, HOST, SSD_DNS_CNAME_LOOP);
    r = dkim(z);
    expect(&r, SSD_CHECK_FAIL, "cname_loop", "DKIM: CNAME loop");
}

static void test_dkim_key(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    const ssd_finding_t *f;

    txt(z, HOST, rec(key_b), NULL);
    r = dkim(z);
    expect(&r, SSD_CHECK_FAIL, "key_mismatch", "DKIM: another key");
    f = finding(r.errors, "key_mismatch");
    UNIT_STR_EQ(f ? f->expected : NULL, rec(key_a),
                "DKIM: expected is v=DKIM1; k=rsa; p=<key>");
    UNIT_STR_EQ(f ? f->found : NULL, rec(key_b), "DKIM: found is the record");
    UNIT_CHECK(f && contains(f->message, "not the key ScaiSend holds"),
               "DKIM: mismatch message");
    dkim_one("v=DKIM1; k=rsa; p=", SSD_CHECK_FAIL, "revoked_key",
             "DKIM: empty p= is a revoked key");
    dkim_one("v=DKIM1; k=rsa; p=  ", SSD_CHECK_FAIL, "revoked_key",
             "DKIM: blank p= is a revoked key");
    dkim_one("v=DKIM1; k=rsa; p=MIIB*not!base64", SSD_CHECK_FAIL, "malformed",
             "DKIM: p= that is not base64");
    dkim_one(apr_pstrcat(pool, "v=DKIM1; k=ed25519; p=", key_a, NULL),
             SSD_CHECK_FAIL, "wrong_key_type", "DKIM: k=ed25519 for an RSA key");
}

static void test_dkim_truncated(void)
{
    const char *v = rec(key_a);
    ssd_check_result_t r;
    zone_t *z = zone();

    dkim_one(apr_pstrmemdup(pool, v, 255), SSD_CHECK_FAIL, "truncated_key",
             "DKIM: value cut at 255 characters");
    dkim_one(apr_pstrmemdup(pool, v, 254), SSD_CHECK_FAIL, "truncated_key",
             "DKIM: value cut at 254 characters");
    dkim_one(apr_pstrmemdup(pool, v, 18 + 200), SSD_CHECK_FAIL,
             "truncated_key", "DKIM: p= a strict prefix of the key");
    txt(z, HOST, apr_pstrmemdup(pool, v, 255), NULL);
    r = dkim(z);
    UNIT_CHECK(r.errors->nelts == 1
               && contains(APR_ARRAY_IDX(r.errors, 0, ssd_finding_t).message,
                           "255 characters"),
               "DKIM: truncation message explains the 255 limit");
}

static void test_dkim_missing(void)
{
    zone_t *z = zone();
    ssd_check_result_t r = dkim(z);
    const ssd_finding_t *f = finding(r.errors, "missing");

    expect(&r, SSD_CHECK_FAIL, "missing", "DKIM: NXDOMAIN is missing");
    UNIT_CHECK(f && contains(f->message, "publish a TXT record at " HOST
                             " with the value v=DKIM1; k=rsa; p=MIIB"),
               "DKIM: missing says what to publish where");
    UNIT_STR_EQ(f ? f->expected : NULL, rec(key_a), "DKIM: missing expected");
    UNIT_CHECK(r.lookups == 2, "DKIM: missing also tries the doubled name");
    z = zone();
    rcode(z, HOST, SSD_DNS_NODATA);
    r = dkim(z);
    expect(&r, SSD_CHECK_FAIL, "missing", "DKIM: NODATA is missing");
    z = zone();
    txt(z, HOST "." DOM, rec(key_a), NULL);
    r = dkim(z);
    expect(&r, SSD_CHECK_FAIL, "doubled_name",
           "DKIM: record under the doubled name");
    f = finding(r.errors, "doubled_name");
    UNIT_CHECK(f && contains(f->message, HOST "." DOM)
               && contains(f->message, "appends the domain"),
               "DKIM: doubled name message");
}

static void test_dkim_syntax(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    txt(z, HOST, rec(key_a), rec(key_b), NULL);
    r = dkim(z);
    expect(&r, SSD_CHECK_FAIL, "multiple_records", "DKIM: two DKIM records");
    z = zone();
    txt(z, HOST, "some-verification=abc", rec(key_a), NULL);
    r = dkim(z);
    expect(&r, SSD_CHECK_FAIL, "multiple_records",
           "DKIM: an unrelated TXT beside the key fails (one TXT record a "
           "selector)");
    dkim_one(apr_pstrcat(pool, "v=DKIM1; k=rsa; k=rsa; p=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: duplicate tag");
    dkim_one(apr_pstrcat(pool, "k=rsa; v=DKIM1; p=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: v= not first");
    dkim_one(apr_pstrcat(pool, "v=DKIM2; k=rsa; p=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: v=DKIM2");
    dkim_one(apr_pstrcat(pool, "V=DKIM1; K=rsa; P=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: upper-case tag names");
    dkim_one(apr_pstrcat(pool, "v=DKIM1; h=sha1; p=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: h=sha1 only");
    dkim_one(apr_pstrcat(pool, "v=DKIM1; s=tlsrpt; p=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: s= without email or *");
    dkim_one(apr_pstrcat(pool, "v=DKIM1;; p=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: empty tag-spec");
    dkim_one(apr_pstrcat(pool, "v=DKIM1; k rsa; p=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: tag without '='");
    dkim_one(apr_pstrcat(pool, "v=DKIM1; 1k=rsa; p=", key_a, NULL),
             SSD_CHECK_FAIL, "malformed", "DKIM: tag name not starting ALPHA");
    dkim_one(apr_pstrcat(pool, "\"", rec(key_a), "\"", NULL),
             SSD_CHECK_FAIL, "quoted_value", "DKIM: value pasted with quotes");
}

static void test_dkim_found_escaped(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    const ssd_finding_t *f;

    txt(z, HOST, "v=DKIM1; n=\x01\xff\\; p=", NULL);
    r = dkim(z);
    f = (const ssd_finding_t *)r.errors->elts;
    UNIT_CHECK(r.errors->nelts == 1 && !strcmp(f->code, "malformed"),
               "DKIM: control byte in a value is malformed");
    UNIT_STR_EQ(r.errors->nelts ? f->found : NULL,
                "v=DKIM1; n=\\001\\255\\\\; p=",
                "DKIM: found escapes bytes as \\ddd");
}

static void test_dkim_temp(void)
{
    static const struct { ssd_dns_rc rc; const char *code; } t[] = {
        { SSD_DNS_TIMEOUT, "dns_timeout" },
        { SSD_DNS_SERVFAIL, "dns_servfail" },
        { SSD_DNS_REFUSED, "dns_refused" },
        { SSD_DNS_TRUNCATED, "dns_truncated" },
    };
    unsigned i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        zone_t *z = zone();
        ssd_check_result_t r;

        rcode(z, HOST, t[i].rc);
        r = dkim(z);
        expect(&r, SSD_CHECK_TEMPERROR, t[i].code,
               apr_psprintf(pool, "DKIM: %s is a temporary error",
                            t[i].code));
    }
}

/* ---- SPF ---- */

/* The check over z; the include's own record is added when z has none. */
static ssd_check_result_t spf(zone_t *z)
{
    ssd_spf_lookup_t lk = {fake_fetch, fake_a, fake_aaaa, fake_mx, fake_ptr,
                           z};
    ssd_check_result_t r;

    if (!find(z, INC)) {
        txt(z, INC, INC_RECORD, NULL);
    }
    ssd_check_spf(pool, &lk, DOM, INC, NULL, &r);
    return r;
}

static ssd_check_result_t spf_one(const char *value, ssd_check_status_e st,
                                  const char *code, const char *name)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    txt(z, DOM, value, NULL);
    r = spf(z);
    expect(&r, st, code, name);
    return r;
}

static const char *expected_of(const ssd_check_result_t *r, const char *code)
{
    const ssd_finding_t *f = finding(r->errors, code);

    return f ? f->expected : NULL;
}

static void test_spf_pass(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    spf_one("v=spf1 include:" INC " ~all", SSD_CHECK_PASS, "",
            "SPF: direct include passes");
    spf_one("V=SPF1 mx INCLUDE:" INC ". -ALL", SSD_CHECK_PASS, "",
            "SPF: version, mechanism and name are case-insensitive");
    spf_one("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a/24 mx:" DOM
            "/24//64 +include:" INC " exists:%{i}._spf.%{d} -all",
            SSD_CHECK_PASS, "", "SPF: ip4/ip6/cidr/macro terms parse");
    spf_one("v=spf1  include:" INC "  ~all  ", SSD_CHECK_PASS, "",
            "SPF: several spaces between terms");
    txt(z, DOM, "v=spf1 include:_spf.corp.example -all", NULL);
    txt(z, "_spf.corp.example", "v=spf1 ip4:198.51.100.1 include:"
        "_inner.corp.example ~all", NULL);
    txt(z, "_inner.corp.example", "v=spf1 include:" INC " -all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_PASS, "", "SPF: nested includes pass");
    UNIT_CHECK(r.lookups == 4, "SPF: nested includes cost four fetches "
               "(the include's own record too)");
    z = zone();
    txt(z, DOM, "v=spf1 mx redirect=_spf.corp.example", NULL);
    txt(z, "_spf.corp.example", "v=spf1 include:" INC " -all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_PASS, "", "SPF: redirect= passes");
    z = zone();
    txt(z, DOM, "v=spf1 include:" INC " include:broken.example ~all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_PASS, "", "SPF: terms after the include are not "
           "evaluated");
}

static void test_spf_order(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    r = spf_one("v=spf1 -all include:" INC, SSD_CHECK_FAIL,
                "include_after_all", "SPF: -all before the include");
    UNIT_STR_EQ(expected_of(&r, "include_after_all"),
                "v=spf1 include:" INC " -all", "SPF: include moved first");
    r = spf_one("v=spf1 mx ~all", SSD_CHECK_FAIL, "include_missing",
                "SPF: record without the include");
    UNIT_STR_EQ(expected_of(&r, "include_missing"),
                "v=spf1 include:" INC " mx ~all",
                "SPF: merged record inserts the include after v=spf1");
    r = spf_one("v=spf1 ?include:" INC " -all", SSD_CHECK_FAIL,
                "include_missing", "SPF: ?include is not pass");
    UNIT_STR_EQ(expected_of(&r, "include_missing"),
                "v=spf1 include:" INC " -all",
                "SPF: non-pass include replaced");
    UNIT_CHECK(contains(APR_ARRAY_IDX(r.errors, 0, ssd_finding_t).message,
                        "qualifier '?'"), "SPF: message names the qualifier");
    spf_one("v=spf1 -include:" INC " -all", SSD_CHECK_FAIL,
            "include_missing", "SPF: -include is not pass");
    spf_one("v=spf1 ~include:" INC, SSD_CHECK_FAIL, "include_missing",
            "SPF: ~include is not pass");
    txt(z, DOM, "v=spf1 ?include:_spf.corp.example -all", NULL);
    txt(z, "_spf.corp.example", "v=spf1 include:" INC " -all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "include_missing",
           "SPF: reached only through ?include is not pass");
    z = zone();
    txt(z, DOM, "v=spf1 redirect=_spf.corp.example ~all", NULL);
    txt(z, "_spf.corp.example", "v=spf1 include:" INC " -all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "include_missing",
           "SPF: redirect= ignored when the record has an all");
    UNIT_CHECK(r.lookups == 2, "SPF: ignored redirect is not fetched (the "
               "record and the include's)");
    z = zone();
    txt(z, DOM, "v=spf1 include:_spf.corp.example include:" INC " -all",
        NULL);
    txt(z, "_spf.corp.example", "v=spf1 -all include:" INC, NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_PASS, "", "SPF: nested all ends only that record");
}

static void test_spf_records(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    const ssd_finding_t *f;

    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "missing", "SPF: no record");
    UNIT_STR_EQ(expected_of(&r, "missing"), "v=spf1 include:" INC " ~all",
                "SPF: missing expected");
    f = finding(r.errors, "missing");
    UNIT_CHECK(f && contains(f->message, "publish a TXT record at " DOM),
               "SPF: missing message");
    spf_one("v=spf10 include:" INC " ~all", SSD_CHECK_FAIL, "missing",
            "SPF: v=spf10 is not SPF");
    z = zone();
    txt(z, DOM, "v=spf1 mx -all", "v=spf1 ip4:192.0.2.1 ~all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "multiple_records", "SPF: two records");
    UNIT_STR_EQ(expected_of(&r, "multiple_records"),
                "v=spf1 include:" INC " mx ip4:192.0.2.1 -all",
                "SPF: the merged record");
    f = finding(r.errors, "multiple_records");
    UNIT_CHECK(f && contains(f->message, "merge"), "SPF: says to merge");
    spf_one("\"v=spf1 include:" INC " ~all\"", SSD_CHECK_FAIL,
            "quoted_value", "SPF: value pasted with quotes");
    z = zone();
    txt(z, DOM, "google-site-verification=x", "v=spf1 include:" INC " ~all",
        NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_PASS, "", "SPF: other TXT records ignored");
}

static void test_spf_syntax(void)
{
    spf_one("v=spf1 include:" INC " foo:bar ~all", SSD_CHECK_FAIL,
            "malformed", "SPF: unknown mechanism anywhere fails");
    spf_one("v=spf1 include:" INC " ip4:300.1.1.1 ~all", SSD_CHECK_FAIL,
            "malformed", "SPF: bad ip4");
    spf_one("v=spf1 include:" INC " ip4:192.0.2.0/33", SSD_CHECK_FAIL,
            "malformed", "SPF: ip4 prefix over 32");
    spf_one("v=spf1 include:" INC "\t~all", SSD_CHECK_FAIL, "malformed",
            "SPF: a tab is not a term separator");
    spf_one("v=spf1 include:" INC " redirect=a.example redirect=b.example",
            SSD_CHECK_FAIL, "malformed", "SPF: redirect= twice");
    spf_one("v=spf1 include: ~all", SSD_CHECK_FAIL, "malformed",
            "SPF: include without a domain");
    spf_one("v=spf1 include:localhost include:" INC, SSD_CHECK_FAIL,
            "malformed", "SPF: domain-spec needs a top label");
    spf_one("v=spf1 exists:%{z}.example include:" INC, SSD_CHECK_FAIL,
            "malformed", "SPF: unknown macro letter");
    spf_one("v=spf1 include:" INC " custom-mod=%{d} ~all", SSD_CHECK_PASS,
            "", "SPF: unknown modifier is allowed");
}

static void test_spf_nested_errors(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    txt(z, DOM, "v=spf1 include:_spf.corp.example include:" INC " -all",
        NULL);
    txt(z, "_spf.corp.example", "v=spf1 ip4:1.2.3 -all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "malformed", "SPF: syntax error in an "
           "included record fails");
    z = zone();
    txt(z, DOM, "v=spf1 include:_spf.corp.example include:" INC " -all",
        NULL);
    rcode(z, "_spf.corp.example", SSD_DNS_TIMEOUT);
    r = spf(z);
    expect(&r, SSD_CHECK_TEMPERROR, "dns_timeout",
           "SPF: timeout in an include before ours is a temperror");
    z = zone();
    rcode(z, DOM, SSD_DNS_SERVFAIL);
    r = spf(z);
    expect(&r, SSD_CHECK_TEMPERROR, "dns_servfail", "SPF: SERVFAIL");
}

static const char *chain_of(int n, const char *last)
{
    const char *rec = "v=spf1";
    int i;

    for (i = 0; i < n; i++) {
        rec = apr_psprintf(pool, "%s include:s%d.corp.example", rec, i);
    }
    return apr_pstrcat(pool, rec, last, NULL);
}

static void test_spf_limits(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    int i;

    for (i = 0; i < 10; i++) {
        txt(z, apr_psprintf(pool, "s%d.corp.example", i), "v=spf1 -all",
            NULL);
    }
    txt(z, DOM, chain_of(10, " include:" INC " -all"), NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "too_many_lookups",
           "SPF: include as the 11th lookup fails");
    entry(z, DOM)->rrs->nelts = 0;
    txt(z, DOM, chain_of(9, " include:" INC " -all"), NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_PASS, "", "SPF: include as the 10th lookup passes");
    z = zone();             /* every name has data: no void lookup */
    txt(z, DOM, "v=spf1 a mx ptr exists:x.example a:b.example mx:c.example "
        "a a a a include:" INC, NULL);
    rr(z, DOM, "A 192.0.2.99");
    rr(z, DOM, "AAAA 2001:db8::99");
    rr(z, DOM, "MX mx.corp.example");
    rr(z, "mx.corp.example", "A 192.0.2.98");
    rr(z, "10.113.0.203.in-addr.arpa", "PTR host.corp.example");
    rr(z, "a.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.a.c.5.8.b.d.0.1.0.0.2"
       ".ip6.arpa", "PTR host.corp.example");
    txt(z, "x.example", "not an address", NULL);    /* exists: 1 void */
    rr(z, "b.example", "A 192.0.2.97");
    rr(z, "b.example", "AAAA 2001:db8::97");
    rr(z, "c.example", "MX mx.corp.example");
    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "too_many_lookups",
           "SPF: a/mx/ptr/exists count against the limit");
    z = zone();
    txt(z, DOM, "v=spf1 a:v1.example a:v2.example a:v3.example include:"
        INC " -all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "too_many_void_lookups",
           "SPF: three void lookups fail");
    z = zone();
    txt(z, DOM, "v=spf1 include:a.corp.example include:" INC " -all", NULL);
    txt(z, "a.corp.example", "v=spf1 include:b.corp.example -all", NULL);
    txt(z, "b.corp.example", "v=spf1 include:a.corp.example -all", NULL);
    r = spf(z);
    expect(&r, SSD_CHECK_FAIL, "too_many_lookups", "SPF: include loop");
    UNIT_CHECK(contains(APR_ARRAY_IDX(r.errors, 0, ssd_finding_t).message,
                        "loop"), "SPF: loop message");
}

/* ---- DMARC (RFC 9989; report destinations RFC 9990) ---- */

#define PSD_NAME "psd.example"

static const char *wcodes(const ssd_check_result_t *r)
{
    const ssd_finding_t *f = (const ssd_finding_t *)r->warnings->elts;
    const char *s = "";
    int i;

    for (i = 0; i < r->warnings->nelts; i++) {
        s = apr_pstrcat(pool, s, i ? "," : "", f[i].code, NULL);
    }
    return s;
}

/* status, error codes and warning codes in one assertion */
static void expect_all(const ssd_check_result_t *r, ssd_check_status_e st,
                       const char *errs, const char *warns, const char *name)
{
    int ok = r->status == st && !strcmp(codes(r), errs)
             && !strcmp(wcodes(r), warns);

    UNIT_CHECK(ok, name);
    if (!ok) {
        const ssd_finding_t *w = (const ssd_finding_t *)r->warnings->elts;
        int i;

        printf("#   got %s [%s] [%s], expected %s [%s] [%s]\n",
               ssd_check_status_name(r->status), codes(r), wcodes(r),
               ssd_check_status_name(st), errs, warns);
        for (i = 0; i < r->errors->nelts; i++) {
            printf("#   error %s: %s\n",
                   APR_ARRAY_IDX(r->errors, i, ssd_finding_t).code,
                   APR_ARRAY_IDX(r->errors, i, ssd_finding_t).message);
        }
        for (i = 0; i < r->warnings->nelts; i++) {
            printf("#   warning %s: %s\n", w[i].code, w[i].message);
        }
    }
}

static ssd_check_result_t dmarc_at(zone_t *z, const char *domain,
                                   const char *rua)
{
    ssd_check_result_t r;

    ssd_check_dmarc(pool, fake_fetch, z, domain, "quarantine", rua, &r);
    return r;
}

static ssd_check_result_t dmarc_with(zone_t *z, const char *rua)
{
    return dmarc_at(z, DOM, rua);
}

/* One record at _dmarc.mail.example.com, nothing else in the zone. */
static ssd_check_result_t dmarc_rec(const char *value, zone_t **zp)
{
    zone_t *z = zone();

    txt(z, DMARC_HOST, value, NULL);
    if (zp) {
        *zp = z;
    }
    return dmarc_with(z, NULL);
}

static ssd_check_result_t dmarc_one(const char *value, ssd_check_status_e st,
                                    const char *code, const char *name)
{
    ssd_check_result_t r = dmarc_rec(value, NULL);

    expect(&r, st, code, name);
    return r;
}

static const char *message(const apr_array_header_t *list, const char *code)
{
    const ssd_finding_t *f = finding(list, code);

    return f ? f->message : NULL;
}

static void test_dmarc_basic(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    const ssd_finding_t *f;

    r = dmarc_one("v=DMARC1; p=quarantine", SSD_CHECK_PASS, "",
                  "DMARC: valid record");
    UNIT_CHECK(r.warnings->nelts == 0 && r.lookups == 1,
               "DMARC: no warning when p= matches, one lookup");
    UNIT_STR_EQ(r.host, DMARC_HOST, "DMARC: host is _dmarc.<domain>");
    r = dmarc_rec("V = DMARC1 ;P=Quarantine; sp=reject; adkim=s;\taspf=r; "
                  "fo=1; np=none; psd=n; t=n;", NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "", "DMARC: every RFC 9989 tag, "
               "\"V\" and tag names in any case, white space around = and ;");
    r = dmarc_rec("v=DMARC1; p=quarantine; foo=bar; Xyz=1", NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "", "DMARC: unknown tags ignored "
               "(section 4.7)");
    r = dmarc_with(z, "dmarc@" DOM);
    expect(&r, SSD_CHECK_FAIL, "missing", "DMARC: no record");
    f = finding(r.errors, "missing");
    UNIT_CHECK(f && contains(f->message, "publish a TXT record at "
                             DMARC_HOST),
               "DMARC: missing says where to publish");
    UNIT_STR_EQ(f ? f->expected : NULL,
                "v=DMARC1; p=quarantine; rua=mailto:dmarc@" DOM,
                "DMARC: expected value with rua");
    UNIT_STR_EQ(asked(z), DMARC_HOST " _dmarc.example.com _dmarc.com",
                "DMARC: no record: the tree walk asks the parents");
    z = zone();
    txt(z, DMARC_HOST, "unrelated text", "v=DMARC1; p=quarantine", NULL);
    r = dmarc_with(z, NULL);
    expect(&r, SSD_CHECK_PASS, "", "DMARC: non-DMARC TXT discarded");
    r = dmarc_one("v=DMARC1; p=none", SSD_CHECK_PASS, "",
                  "DMARC: other policy still passes");
    f = finding(r.warnings, "policy_mismatch");
    UNIT_CHECK(f && contains(f->message, "p=none")
               && contains(f->message, "p=quarantine"),
               "DMARC: policy mismatch is a warning");
}

/* Section 4.8: what begins a DMARC record. */
static void test_dmarc_version(void)
{
    ssd_check_result_t r;
    const ssd_finding_t *f;

    r = dmarc_rec(" v=DMARC1; p=quarantine", NULL);
    expect(&r, SSD_CHECK_FAIL, "malformed",
           "DMARC: white space before v= is no DMARC record");
    f = finding(r.errors, "malformed");
    UNIT_CHECK(f && contains(f->message, "white space before v=DMARC1")
               && contains(f->message, "section 4.8"),
               "DMARC: the message says why");
    UNIT_STR_EQ(f ? f->expected : NULL, "v=DMARC1; p=quarantine",
                "DMARC: expected: the record without the white space");
    r = dmarc_rec("\tv=DMARC1; p=quarantine", NULL);
    expect(&r, SSD_CHECK_FAIL, "malformed", "DMARC: a tab before v= too");
    r = dmarc_one("v=dmarc1; p=reject", SSD_CHECK_FAIL, "missing",
                  "DMARC: version value is case-sensitive");
    UNIT_CHECK(contains(message(r.errors, "missing"), "case-sensitive"),
               "DMARC: the message says DMARC1 is case-sensitive");
    r = dmarc_one("v=DMARC1 p=reject", SSD_CHECK_FAIL, "malformed",
                  "DMARC: no ';' after v=DMARC1");
    UNIT_CHECK(contains(message(r.errors, "malformed"), "a ';' does not "
                        "follow it"), "DMARC: the message says ';' is needed");
    dmarc_one("v=DMARC1x; p=reject", SSD_CHECK_FAIL, "malformed",
              "DMARC: v=DMARC1x is no DMARC record");
    r = dmarc_one("p=reject; v=DMARC1", SSD_CHECK_FAIL, "malformed",
                  "DMARC: v=DMARC1 not first");
    UNIT_CHECK(contains(message(r.errors, "malformed"), "MUST come first"),
               "DMARC: the message says v= must be first");
    dmarc_one("\"v=DMARC1; p=reject\"", SSD_CHECK_FAIL, "quoted_value",
              "DMARC: value pasted with quotes");
    dmarc_one("v\t=\tDMARC1\t;p=quarantine", SSD_CHECK_PASS, "",
              "DMARC: tabs around = and ; (equals, dmarc-sep)");
    dmarc_one("v=DMARC1", SSD_CHECK_FAIL, "policy_missing",
              "DMARC: v=DMARC1 alone has no policy");
}

static void bad_tag(const char *value, const char *says, const char *name)
{
    ssd_check_result_t r = dmarc_one(value, SSD_CHECK_FAIL, "malformed",
                                     name);
    const char *m = message(r.errors, "malformed");

    UNIT_CHECK(contains(m, says), apr_pstrcat(pool, name, ": the message "
                                              "says ", says, NULL));
    if (!contains(m, says)) {
        printf("#   %s\n", m ? m : "(none)");
    }
}

/* Table 2 of section 4.8, and the tag-list rules. */
static void test_dmarc_tags(void)
{
    ssd_check_result_t r;
    const ssd_finding_t *f;

    bad_tag("v=DMARC1; p=block; rua=mailto:a@" DOM,
            "act as if the record said only p=none",
            "DMARC: bad p= with a valid rua= (receivers: p=none)");
    bad_tag("v=DMARC1; p=block", "apply no DMARC policy",
            "DMARC: bad p= without rua= (receivers: no DMARC)");
    bad_tag("v=DMARC1; p=reject; sp=maybe", "sp=maybe is not none, "
            "quarantine or reject", "DMARC: bad sp=");
    bad_tag("v=DMARC1; p=reject; np=maybe", "np=maybe", "DMARC: bad np=");
    bad_tag("v=DMARC1; p=reject; adkim=x", "default, adkim=r",
            "DMARC: bad adkim=");
    bad_tag("v=DMARC1; p=reject; aspf=q", "aspf=q is not r (relaxed) or s",
            "DMARC: bad aspf=");
    bad_tag("v=DMARC1; p=reject; t=maybe", "t=maybe is not y or n",
            "DMARC: bad t=");
    bad_tag("v=DMARC1; p=reject; psd=yes", "psd=yes is not y, n or u",
            "DMARC: bad psd=");
    bad_tag("v=DMARC1; p=reject; fo=0:1", "not both 0 and 1",
            "DMARC: fo=0:1");
    bad_tag("v=DMARC1; p=reject; fo=2", "fo=2", "DMARC: fo=2");
    bad_tag("v=DMARC1; p=reject; fo=d:", "fo=d:", "DMARC: fo= ending in :");
    dmarc_one("v=DMARC1; p=reject; fo=s:d:1", SSD_CHECK_PASS, "",
              "DMARC: fo= in any order");
    bad_tag("v=DMARC1; p=reject; rua=reports@" DOM, "does not start with a "
            "scheme", "DMARC: rua= without mailto:");
    bad_tag("v=DMARC1; p=reject; ruf=mailto:nobody", "needs an address",
            "DMARC: ruf= without an address");
    bad_tag("v=DMARC1; p=reject; rua=mailto:a b@" DOM, "character ' '",
            "DMARC: rua= with a space inside a URI");
    bad_tag("v=DMARC1; p=reject; rua=", "has no value", "DMARC: empty rua=");
    bad_tag("v=DMARC1; p=reject; p=none", "repeated tag",
            "DMARC: duplicate tag");
    bad_tag("v=DMARC1; p=reject; P=none", "appears more than once",
            "DMARC: duplicate tag in another case");
    bad_tag("v=DMARC1; p=reject;; adkim=r", "two semicolons",
            "DMARC: empty part");
    bad_tag("v=DMARC1; p=reject; hello", "'hello' is not a tag=value pair",
            "DMARC: a part without =");
    bad_tag("v=DMARC1; p=reject; x_y=1", "letters only",
            "DMARC: tag names are letters only");
    bad_tag("v=DMARC1; p=reject; rua=mailto:a@" DOM "\t,mailto:b\tc@" DOM,
            "byte that is not allowed (\\009)", "DMARC: a tab inside a value");
    r = dmarc_rec("v=DMARC1; adkim=x; p=reject; foo=bar; aspf=s", NULL);
    f = finding(r.errors, "malformed");
    UNIT_STR_EQ(f ? f->expected : NULL,
                "v=DMARC1; p=reject; foo=bar; aspf=s",
                "DMARC: expected: the record corrected (bad tag dropped, "
                "p= first, the rest kept)");
    r = dmarc_rec("v=DMARC1; p=rejct; rua=mailto:a@" DOM ",bad", NULL);
    f = finding(r.errors, "malformed");
    UNIT_STR_EQ(f ? f->expected : NULL,
                "v=DMARC1; p=quarantine; rua=mailto:a@" DOM,
                "DMARC: corrected: p= the configured policy, bad URI "
                "dropped");
    UNIT_CHECK(r.errors->nelts == 2, "DMARC: each broken tag is an error");
    dmarc_one("v=DMARC1; p=reject; rua=mailto:a@" DOM ", mailto:b@"
              DOM "?subject=x", SSD_CHECK_PASS, "",
              "DMARC: a URI list with spaces and a mailto header");
}

/* Appendix C.5.2 and C.4: removed tags and size limits are warnings. */
static void test_dmarc_removed(void)
{
    ssd_check_result_t r;
    const ssd_finding_t *w;

    r = dmarc_rec("v=DMARC1; p=quarantine; pct=0", NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "removed_tag", "DMARC: pct=0 is a "
               "warning");
    w = finding(r.warnings, "removed_tag");
    UNIT_CHECK(w && contains(w->message, "removed by RFC 9989")
               && contains(w->message, "replace pct=0 with t=y"),
               "DMARC: pct=0: use t=y instead");
    UNIT_STR_EQ(w ? w->expected : NULL, "v=DMARC1; p=quarantine; t=y",
                "DMARC: pct=0: expected has t=y");
    r = dmarc_rec("v=DMARC1; p=quarantine; pct=150", NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "removed_tag", "DMARC: pct=150 is "
               "only a removed tag now (no range check)");
    r = dmarc_rec("v=DMARC1; p=quarantine; pct=100; rf=afrf; ri=3600", NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "removed_tag,removed_tag,removed_tag",
               "DMARC: pct, rf and ri: a warning each");
    UNIT_CHECK(contains(message(r.warnings, "removed_tag"), "pct=100 was "
                        "the default: remove it"), "DMARC: pct=100 advice");
    w = &APR_ARRAY_IDX(r.warnings, 2, ssd_finding_t);
    UNIT_CHECK(contains(w->message, "ri=3600") && contains(w->message,
               "daily"), "DMARC: ri advice");
    UNIT_STR_EQ(w->expected, "v=DMARC1; p=quarantine",
                "DMARC: removed tags: expected without them");
    r = dmarc_rec("v=DMARC1; p=quarantine; rua=mailto:a@" DOM "!10m", NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "removed_size_limit",
               "DMARC: a report size limit is a warning");
    UNIT_STR_EQ(finding(r.warnings, "removed_size_limit")
                ? finding(r.warnings, "removed_size_limit")->expected : NULL,
                "v=DMARC1; p=quarantine; rua=mailto:a@" DOM,
                "DMARC: size limit: expected without it");
}

static void test_dmarc_policy(void)
{
    ssd_check_result_t r;
    const ssd_finding_t *w;

    r = dmarc_rec("v=DMARC1; rua=mailto:a@" DOM, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "policy_missing", "DMARC: no p= "
               "with a valid rua=: p=none applies, a warning (4.7, 4.10.1)");
    w = finding(r.warnings, "policy_missing");
    UNIT_STR_EQ(w ? w->expected : NULL,
                "v=DMARC1; p=quarantine; rua=mailto:a@" DOM,
                "DMARC: policy_missing: expected adds the configured p=");
    r = dmarc_rec("v=DMARC1; rua=reports", NULL);
    expect_all(&r, SSD_CHECK_FAIL, "malformed,policy_missing", "", "DMARC: "
               "no p= and no valid rua=: no policy applies, a failure");
    UNIT_CHECK(contains(message(r.errors, "policy_missing"), "apply no DMARC"),
               "DMARC: policy_missing says receivers apply none");
    r = dmarc_rec("v=DMARC1; p=reject; t=y", NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "policy_mismatch,policy_testing",
               "DMARC: t=y with p=reject: testing warning");
    UNIT_CHECK(contains(message(r.warnings, "policy_testing"), "i.e. "
                        "quarantine"), "DMARC: t=y: one level less");
    r = dmarc_rec("v=DMARC1; p=none; t=y", NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "policy_mismatch",
               "DMARC: t=y has no effect on p=none");
}

static void test_dmarc_inherited(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    const ssd_finding_t *w;

    txt(z, "_dmarc.example.com", "v=DMARC1; p=reject; sp=none", NULL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_FAIL, "missing", "inherited_policy",
               "DMARC: organisational record: still missing, a hint");
    w = finding(r.warnings, "inherited_policy");
    UNIT_CHECK(w && contains(w->message, "organisational domain example.com")
               && contains(w->message, "its sp=none"),
               "DMARC: the hint names the record and the policy applied");
    UNIT_STR_EQ(w ? w->found : NULL, "v=DMARC1; p=reject; sp=none",
                "DMARC: found is the inherited record");
    UNIT_STR_EQ(asked(z), DMARC_HOST " _dmarc.example.com _dmarc.com",
                "DMARC: the walk goes up to the top-level domain");

    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=none", "v=DMARC1; p=reject", NULL);
    txt(z, "_dmarc.example.com", "v=DMARC1; p=reject", NULL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_FAIL, "multiple_records", "inherited_policy",
               "DMARC: two records are discarded: the parent's applies");

    z = zone();
    txt(z, "_dmarc.a.b.example.com", "not dmarc", NULL);
    txt(z, "_dmarc.b.example.com", "v=DMARC1; p=none", NULL);
    txt(z, "_dmarc.example.com", "v=DMARC1; p=quarantine", NULL);
    r = dmarc_at(z, "a.b.example.com", NULL);
    UNIT_CHECK(contains(message(r.warnings, "inherited_policy"),
                        "organisational domain example.com"),
               "DMARC: the record with the fewest labels is the "
               "organisational domain's (4.10.2 rule 3)");

    z = zone();
    txt(z, "_dmarc.y.corp.example", "v=DMARC1; p=none; psd=n", NULL);
    txt(z, "_dmarc.corp.example", "v=DMARC1; p=reject", NULL);
    r = dmarc_at(z, "x.y.corp.example", NULL);
    UNIT_CHECK(contains(message(r.warnings, "inherited_policy"),
                        "organisational domain y.corp.example"),
               "DMARC: psd=n ends the walk and names the organisational "
               "domain (4.10.2 rule 1)");
    UNIT_STR_EQ(asked(z), "_dmarc.x.y.corp.example _dmarc.y.corp.example",
                "DMARC: psd=n: nothing asked above it");

    z = zone();
    txt(z, "_dmarc." PSD_NAME, "v=DMARC1; p=reject; sp=quarantine; psd=y",
        NULL);
    r = dmarc_at(z, "a.b." PSD_NAME, NULL);
    w = finding(r.warnings, "inherited_policy");
    UNIT_CHECK(w && contains(w->message, "public suffix domain " PSD_NAME
                             " (psd=y; the organisational domain b."
                             PSD_NAME " publishes none)")
               && contains(w->message, "its sp=quarantine"),
               "DMARC: psd=y at a parent: the PSD's policy, organisational "
               "domain one label below it");
    UNIT_STR_EQ(asked(z), "_dmarc.a.b." PSD_NAME " _dmarc.b." PSD_NAME
                " _dmarc." PSD_NAME, "DMARC: psd=y ends the walk");
    txt(z, "_dmarc.b." PSD_NAME, "v=DMARC1; p=quarantine", NULL);
    r = dmarc_at(z, "a.b." PSD_NAME, NULL);
    UNIT_CHECK(contains(message(r.warnings, "inherited_policy"),
                        "organisational domain b." PSD_NAME),
               "DMARC: the organisational domain's record before the PSD's");

    z = zone();
    rcode(z, "_dmarc.example.com", SSD_DNS_SERVFAIL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_FAIL, "missing", "dns_servfail",
               "DMARC: a walk lookup failing is a warning, the check fails "
               "as missing");
}

static void test_dmarc_walk(void)
{
    const char *names[SSD_DMARC_WALK_MAX], *s = "";
    zone_t *z = zone();
    ssd_check_result_t r;
    int i, n;

    n = ssd_dmarc_walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com", names);
    for (i = 0; i < n; i++) {
        s = apr_pstrcat(pool, s, i ? " " : "", names[i], NULL);
    }
    UNIT_STR_EQ(s, "a.b.c.d.e.f.g.h.i.j.mail.example.com "
                "g.h.i.j.mail.example.com h.i.j.mail.example.com "
                "i.j.mail.example.com j.mail.example.com mail.example.com "
                "example.com com", "DMARC walk: section 4.10's example, "
                "8 names");
    n = ssd_dmarc_walk_names("a.b.c.d.e.f.g.example", names);
    UNIT_CHECK(n == 8 && !strcmp(names[1], "b.c.d.e.f.g.example"),
               "DMARC walk: 8 labels: the parent next");
    n = ssd_dmarc_walk_names("com", names);
    UNIT_CHECK(n == 1, "DMARC walk: a top-level domain alone");

    txt(z, "_dmarc.l2.l3.l4.l5.l6.l7.l8.l9.example", "v=DMARC1; p=none",
        NULL);
    txt(z, "_dmarc.l9.example", "v=DMARC1; p=reject", NULL);
    r = dmarc_at(z, "l1.l2.l3.l4.l5.l6.l7.l8.l9.example", NULL);
    expect_all(&r, SSD_CHECK_FAIL, "missing", "inherited_policy",
               "DMARC walk: deep name: missing, inherited");
    UNIT_CHECK(contains(message(r.warnings, "inherited_policy"),
                        "organisational domain l9.example"),
               "DMARC walk: deep name: the record 8 labels up is skipped");
    UNIT_STR_EQ(asked(z), "_dmarc.l1.l2.l3.l4.l5.l6.l7.l8.l9.example "
                "_dmarc.l4.l5.l6.l7.l8.l9.example _dmarc.l5.l6.l7.l8.l9.example "
                "_dmarc.l6.l7.l8.l9.example _dmarc.l7.l8.l9.example "
                "_dmarc.l8.l9.example _dmarc.l9.example _dmarc.example",
                "DMARC walk: deep name: exactly the 8 names of section 4.10");
    UNIT_CHECK(r.lookups == 8, "DMARC walk: 8 lookups counted");
}

static void test_dmarc_rua(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    const ssd_finding_t *w;

    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:r@reports.example",
        NULL);
    r = dmarc_with(z, NULL);
    w = finding(r.warnings, "rua_not_authorised");
    expect_all(&r, SSD_CHECK_PASS, "", "rua_not_authorised",
               "DMARC: unauthorised rua still passes");
    UNIT_CHECK(w && contains(w->message, "publish a TXT record at "
                             DOM "._report._dmarc.reports.example with the "
                             "value v=DMARC1")
               && contains(w->message, "*._report._dmarc.reports.example"),
               "DMARC: warning names the authorisation record (and the "
               "wildcard)");
    UNIT_STR_EQ(w ? w->expected : NULL, "v=DMARC1", "DMARC: expected v=DMARC1");
    txt(z, DOM "._report._dmarc.reports.example", "v=DMARC1", NULL);
    z->asked = apr_array_make(pool, 8, sizeof(const char *));
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "", "DMARC: authorised external rua");
    UNIT_STR_EQ(asked(z), DMARC_HOST " _dmarc.example.com _dmarc.com "
                "_dmarc.reports.example _dmarc.example "
                DOM "._report._dmarc.reports.example",
                "DMARC: both walks, then the authorisation name");
    UNIT_CHECK(r.lookups == 6, "DMARC: 6 lookups counted");

    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:x@" DOM, NULL);
    r = dmarc_with(z, NULL);
    UNIT_CHECK(r.warnings->nelts == 0 && r.lookups == 1,
               "DMARC: rua on the domain itself: no lookup");

    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:d@example.com",
        NULL);
    txt(z, "_dmarc.example.com", "v=DMARC1; p=reject", NULL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "",
               "DMARC: rua in the same organisational domain needs nothing");
    UNIT_STR_EQ(asked(z), DMARC_HOST " _dmarc.example.com _dmarc.com",
                "DMARC: same organisational domain: walks only, each name "
                "once");

    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:d@example.com",
        NULL);
    r = dmarc_with(z, NULL);
    w = finding(r.warnings, "rua_not_authorised");
    UNIT_CHECK(w && contains(w->message, "publish a DMARC record at "
                             "_dmarc.example.com")
               && contains(w->message, DOM "._report._dmarc.example.com"),
               "DMARC: parent without a record is another organisational "
               "domain (4.10.2): authorise it or publish at the parent");

    z = zone();
    txt(z, "_dmarc.a." PSD_NAME, "v=DMARC1; p=quarantine; "
        "rua=mailto:r@b." PSD_NAME, NULL);
    txt(z, "_dmarc." PSD_NAME, "v=DMARC1; p=reject; psd=y", NULL);
    r = dmarc_at(z, "a." PSD_NAME, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "rua_not_authorised",
               "DMARC: psd=y parent: siblings are separate organisations "
               "(the Public Suffix List would say one)");

    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:r@reports.example",
        NULL);
    txt(z, "*._report._dmarc.reports.example", "v=DMARC1", NULL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "", "DMARC: wildcard authorisation");
    UNIT_CHECK(!contains(asked(z), "*") && contains(asked(z), DOM
               "._report._dmarc.reports.example"),
               "DMARC: wildcard: the one name a receiver asks, no '*' name");

    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:r@reports.example",
        NULL);
    txt(z, DOM "._report._dmarc.reports.example", " v=DMARC1",
        "hello", NULL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "rua_not_authorised",
               "DMARC: authorisation records not starting v=DMARC1");

    txt(z, DOM "._report._dmarc.reports.example",
        "v=DMARC1; rua=mailto:x@elsewhere.example", NULL);
    r = dmarc_with(z, NULL);
    UNIT_CHECK(contains(message(r.warnings, "rua_not_authorised"),
                        "to neither"),
               "DMARC: an override on another host: no reports at all");
    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:r@reports.example",
        NULL);
    txt(z, DOM "._report._dmarc.reports.example",
        "v=DMARC1; rua=mailto:other@reports.example", NULL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "", "DMARC: an override on the same "
               "host is fine");

    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; ruf=mailto:f@reports.example",
        NULL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "ruf_not_authorised",
               "DMARC: external ruf= without authorisation");
    UNIT_CHECK(contains(message(r.warnings, "ruf_not_authorised"),
                        "failure reports"), "DMARC: ruf: failure reports");

    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:r@reports.example",
        NULL);
    rcode(z, DOM "._report._dmarc.reports.example", SSD_DNS_TIMEOUT);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "dns_timeout",
               "DMARC: rua authorisation timeout is only a warning");
    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:r@reports.example",
        NULL);
    rcode(z, "_dmarc.reports.example", SSD_DNS_REFUSED);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "dns_refused",
               "DMARC: destination walk refused: a warning, no "
               "authorisation lookup");
    UNIT_CHECK(!contains(asked(z), "_report"), "DMARC: ... none asked");
}

static void test_dmarc_rua_bounds(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    char *big, *o;
    int i, reports = 0;

    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:a@one.example,"
        "mailto:b@two.example,mailto:c@three.example", NULL);
    r = dmarc_with(z, NULL);
    expect_all(&r, SSD_CHECK_PASS, "", "rua_not_authorised,"
               "rua_not_authorised,rua_not_checked",
               "DMARC: three destinations: two checked");
    UNIT_CHECK(contains(message(r.warnings, "rua_not_checked"), "rua= lists 3 "
                        "report addresses; the first 2 were checked and the "
                        "other 1 were not"), "DMARC: rua_not_checked counts");
    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:a@" DOM
        "; ruf=mailto:b@" DOM ",mailto:c@" DOM, NULL);
    r = dmarc_with(z, NULL);
    UNIT_CHECK(contains(message(r.warnings, "rua_not_checked"), "rua= and "
                        "ruf= list 3"), "DMARC: rua and ruf counted together");

    big = o = apr_palloc(pool, 2000 * 40 + 64);
    o += sprintf(o, "v=DMARC1; p=none; rua=");
    for (i = 1; i <= 2000; i++) {
        o += sprintf(o, "%smailto:r@a%d.zone-b.test", i > 1 ? "," : "", i);
    }
    z = zone();
    txt(z, DMARC_HOST, big, NULL);
    r = dmarc_with(z, NULL);
    for (i = 0; i < z->asked->nelts; i++) {
        reports += contains(APR_ARRAY_IDX(z->asked, i, const char *),
                            "._report._dmarc.");
    }
    UNIT_CHECK(reports == 2 && r.lookups <= 1 + 2 + 2 * 8 + 2,
               "DMARC: 2,000 destinations: two authorisation lookups");

    big = o = apr_palloc(pool, 100 * 8 + 64);
    o += sprintf(o, "v=DMARC1; p=none");
    for (i = 0; i < 100; i++) {
        o += sprintf(o, "; junk%d", i % 10);
    }
    r = dmarc_rec(big, NULL);
    UNIT_CHECK(r.errors->nelts == SSD_CHECK_MAX_FINDINGS
               && r.dropped_errors == 100 - SSD_CHECK_MAX_FINDINGS,
               "DMARC: 100 broken parts: 20 errors kept, the rest counted");

    z = zone();
    big = apr_pstrcat(pool, "v=DMARC1; p=none; rua=mailto:r@",
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
                      "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
                      "dddddddddddddddddddddddddddddddddddddddd.example", NULL);
    txt(z, DMARC_HOST, big, NULL);
    r = dmarc_with(z, NULL);
    UNIT_CHECK(contains(message(r.warnings, "rua_not_authorised"),
                        "over DNS's 253"),
               "DMARC: an authorisation name over 253 cannot be confirmed");
    UNIT_CHECK(!contains(asked(z), "_report"), "DMARC: ... and is not asked");
}

static void test_dmarc_other(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    rcode(z, DMARC_HOST, SSD_DNS_REFUSED);
    r = dmarc_with(z, NULL);
    expect(&r, SSD_CHECK_TEMPERROR, "dns_refused",
           "DMARC: main lookup REFUSED: temperror");
    UNIT_CHECK(r.lookups == 1, "DMARC: temperror: no walk");
}

/* ---- tag-list parser ---- */

static void test_tag_list(void)
{
    apr_array_header_t *tags;

    UNIT_CHECK(!ssd_tag_list_parse(pool, "a=1; b = two words ;", 20, 0,
                                   &tags) && tags->nelts == 2
               && !strcmp(ssd_tag_get(tags, "b", 0), "two words"),
               "tag-list: values trimmed, inner spaces kept");
    UNIT_CHECK(ssd_tag_list_parse(pool, "a=1;b=2;a=3", 11, 0, &tags) != NULL,
               "tag-list: duplicate refused");
    UNIT_CHECK(!ssd_tag_list_parse(pool, "a=1;A=3", 7, 0, &tags),
               "tag-list: names case-sensitive by default");
    UNIT_CHECK(ssd_tag_list_parse(pool, "a=1;A=3", 7, 1, &tags) != NULL,
               "tag-list: nocase makes A a duplicate of a");
    UNIT_CHECK(ssd_tag_list_parse(pool, "a=1\0b", 5, 0, &tags) != NULL,
               "tag-list: NUL refused");
    UNIT_CHECK(ssd_tag_list_parse(pool, "", 0, 0, &tags) != NULL,
               "tag-list: empty refused");
}

int main(void)
{
    EVP_PKEY *a, *b;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (ssd_dkim_generate(pool, SSD_DKIM_RSA, 2048, &a) != APR_SUCCESS
        || ssd_dkim_generate(pool, SSD_DKIM_RSA, 2048, &b) != APR_SUCCESS) {
        printf("not ok 1 - key generation\n");
        return 1;
    }
    key_a = ssd_dkim_public_b64(pool, a);
    key_b = ssd_dkim_public_b64(pool, b);
    test_tag_list();
    test_dkim_valid();
    test_dkim_cname();
    test_dkim_key();
    test_dkim_truncated();
    test_dkim_missing();
    test_dkim_syntax();
    test_dkim_found_escaped();
    test_dkim_temp();
    test_spf_pass();
    test_spf_order();
    test_spf_records();
    test_spf_syntax();
    test_spf_nested_errors();
    test_spf_limits();
    test_dmarc_basic();
    test_dmarc_version();
    test_dmarc_tags();
    test_dmarc_removed();
    test_dmarc_policy();
    test_dmarc_inherited();
    test_dmarc_walk();
    test_dmarc_rua();
    test_dmarc_rua_bounds();
    test_dmarc_other();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
