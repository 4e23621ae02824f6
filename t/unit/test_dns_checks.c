/* Unit tests of ssd_check (DKIM, SPF, DMARC) over a canned, in-memory
 * fetch function: no network. A TXT RR is written with '\x1f' between its
 * character-strings; the fake fetch concatenates them, as ssd_dns does. */
#include "unit.h"
#include "ssd_check.h"
#include "ssd_dkim.h"

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
} zone_t;

static apr_pool_t *pool;
static const char *key_a, *key_b;   /* base64 SPKI of two RSA keys */

static zone_t *zone(void)
{
    zone_t *z = apr_pcalloc(pool, sizeof(*z));

    z->p = pool;
    z->entries = apr_array_make(pool, 8, sizeof(entry_t));
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
    int i;

    for (i = 0; i < z->entries->nelts; i++) {
        if (!strcasecmp(e[i].name, name)) {
            return &e[i];
        }
    }
    return NULL;
}

static ssd_dns_rc fake_fetch(void *baton, apr_pool_t *p, const char *name,
                             ssd_txt_answer_t *out)
{
    zone_t *z = baton;
    const entry_t *e = find(z, name);

    z->calls++;
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
    expect(&r, SSD_CHECK_PASS, "", "DKIM: an unrelated TXT is ignored");
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

/* ---- DMARC ---- */

static ssd_check_result_t dmarc_with(zone_t *z, const char *rua)
{
    ssd_check_result_t r;

    ssd_check_dmarc(pool, fake_fetch, z, DOM, "quarantine", rua, &r);
    return r;
}

static ssd_check_result_t dmarc_one(const char *value, ssd_check_status_e st,
                                    const char *code, const char *name)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    txt(z, DMARC_HOST, value, NULL);
    r = dmarc_with(z, NULL);
    expect(&r, st, code, name);
    return r;
}

static void test_dmarc_basic(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    const ssd_finding_t *f;

    r = dmarc_one("v=DMARC1; p=quarantine", SSD_CHECK_PASS, "",
                  "DMARC: valid record");
    UNIT_CHECK(r.warnings->nelts == 0, "DMARC: no warning when p= matches");
    UNIT_STR_EQ(r.host, DMARC_HOST, "DMARC: host is _dmarc.<domain>");
    dmarc_one("v = DMARC1 ; P=Quarantine; sp=reject; pct=50; adkim=s; "
              "aspf=r; fo=1; np=none; psd=n;", SSD_CHECK_PASS, "",
              "DMARC: optional tags, spacing and case");
    r = dmarc_with(z, "dmarc@" DOM);
    expect(&r, SSD_CHECK_FAIL, "missing", "DMARC: no record");
    f = finding(r.errors, "missing");
    UNIT_CHECK(f && contains(f->message, "publish a TXT record at "
                             DMARC_HOST),
               "DMARC: missing says where to publish");
    UNIT_STR_EQ(f ? f->expected : NULL,
                "v=DMARC1; p=quarantine; rua=mailto:dmarc@" DOM,
                "DMARC: expected value with rua");
    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=none", "v=DMARC1; p=reject", NULL);
    r = dmarc_with(z, NULL);
    expect(&r, SSD_CHECK_FAIL, "multiple_records", "DMARC: two records");
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

static void test_dmarc_invalid(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;

    dmarc_one("v=DMARC1; p=block", SSD_CHECK_FAIL, "malformed",
              "DMARC: bad p=");
    dmarc_one("v=DMARC1; p=reject; sp=maybe", SSD_CHECK_FAIL, "malformed",
              "DMARC: bad sp=");
    dmarc_one("v=DMARC1; p=reject; pct=150", SSD_CHECK_FAIL, "malformed",
              "DMARC: pct over 100");
    dmarc_one("v=DMARC1; rua=mailto:a@" DOM, SSD_CHECK_FAIL,
              "policy_missing", "DMARC: no p=");
    dmarc_one("p=reject; v=DMARC1", SSD_CHECK_FAIL, "malformed",
              "DMARC: v=DMARC1 not first");
    dmarc_one("v=dmarc1; p=reject", SSD_CHECK_FAIL, "missing",
              "DMARC: version value is case-sensitive");
    dmarc_one("v=DMARC1; p=reject; p=none", SSD_CHECK_FAIL, "malformed",
              "DMARC: duplicate tag");
    dmarc_one("\"v=DMARC1; p=reject\"", SSD_CHECK_FAIL, "quoted_value",
              "DMARC: value pasted with quotes");
    rcode(z, DMARC_HOST, SSD_DNS_REFUSED);
    r = dmarc_with(z, NULL);
    expect(&r, SSD_CHECK_TEMPERROR, "dns_refused", "DMARC: REFUSED");
}

static void test_dmarc_rua(void)
{
    zone_t *z = zone();
    ssd_check_result_t r;
    const ssd_finding_t *w;

    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:r@reports.example"
        "!10m", NULL);
    r = dmarc_with(z, NULL);
    w = finding(r.warnings, "rua_not_authorised");
    expect(&r, SSD_CHECK_PASS, "", "DMARC: unauthorised rua still passes");
    UNIT_CHECK(w && contains(w->message, DOM "._report._dmarc.reports."
                             "example"),
               "DMARC: warning names the authorisation record");
    txt(z, DOM "._report._dmarc.reports.example", "v=DMARC1", NULL);
    r = dmarc_with(z, NULL);
    UNIT_CHECK(r.warnings->nelts == 0 && r.lookups == 2,
               "DMARC: authorised external rua, no warning");
    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:d@example.com,"
        "mailto:x@" DOM, NULL);
    r = dmarc_with(z, NULL);
    UNIT_CHECK(r.warnings->nelts == 0 && r.lookups == 1,
               "DMARC: rua in the same organisational domain needs nothing");
    z = zone();
    txt(z, DMARC_HOST, "v=DMARC1; p=quarantine; rua=mailto:r@reports.example",
        NULL);
    rcode(z, DOM "._report._dmarc.reports.example", SSD_DNS_TIMEOUT);
    r = dmarc_with(z, NULL);
    UNIT_CHECK(r.status == SSD_CHECK_PASS
               && finding(r.warnings, "dns_timeout"),
               "DMARC: rua authorisation timeout is only a warning");
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
    if (ssd_dkim_generate(pool, 2048, &a) != APR_SUCCESS
        || ssd_dkim_generate(pool, 2048, &b) != APR_SUCCESS) {
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
    test_dmarc_invalid();
    test_dmarc_rua();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
