/* harness: APR set-up, the canned zone and the check-result invariants
 * shared by the fuzz targets (see harness.h). */
#include "harness.h"

#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "ssd_json.h"

typedef struct {
    const char *name;               /* NULL: the primary host */
    ssd_dns_rc rc;
    int cnames;
    apr_array_header_t *rrs;        /* ssd_txt_t */
} zone_entry_t;

struct fuzz_zone {
    const char *primary;
    apr_array_header_t *entries;    /* zone_entry_t */
    int calls;
};

void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line,
            what);
    abort();
}

static void terminate(void)
{
    apr_terminate();
}

apr_pool_t *fuzz_pool(void)
{
    static int ready;
    apr_pool_t *p = NULL;

    if (!ready) {
        FUZZ_ASSERT(apr_initialize() == APR_SUCCESS);
        atexit(terminate);
        ready = 1;
    }
    FUZZ_ASSERT(apr_pool_create(&p, NULL) == APR_SUCCESS);
    return p;
}

char *fuzz_cstr(apr_pool_t *p, const uint8_t *data, size_t size)
{
    return apr_pstrmemdup(p, (const char *)data, size);
}

/* ---- the canned zone ---- */

static const uint8_t *find_byte(const uint8_t *s, const uint8_t *end,
                                uint8_t c)
{
    const uint8_t *at = memchr(s, c, (size_t)(end - s));

    return at ? at : end;
}

/* One TXT RR: the bytes of [s, end) without the string separators. */
static void push_rr(apr_pool_t *p, apr_array_header_t *rrs,
                    const uint8_t *s, const uint8_t *end)
{
    ssd_txt_t *t = apr_array_push(rrs);
    char *o = apr_palloc(p, (apr_size_t)(end - s) + 1);

    t->data = o;
    for (; s < end; s++) {
        if (*s != FUZZ_STR_SEP) {
            *o++ = (char)*s;
        }
    }
    *o = '\0';
    t->len = (apr_size_t)(o - t->data);
}

static void parse_entry(apr_pool_t *p, zone_entry_t *e, const uint8_t *s,
                        const uint8_t *end)
{
    const uint8_t *sep = find_byte(s, end, FUZZ_NAME_SEP), *rr;

    e->name = NULL;
    if (sep < end) {
        e->name = apr_pstrmemdup(p, (const char *)s, (apr_size_t)(sep - s));
        s = sep + 1;
    }
    e->rc = SSD_DNS_OK;
    e->cnames = 0;
    if (end - s >= 2 && *s == FUZZ_CODE_MARK) {
        e->rc = (ssd_dns_rc)(s[1] % 9);
        e->cnames = s[1] / 9 % 10;
        s += 2;
    }
    e->rrs = apr_array_make(p, 2, sizeof(ssd_txt_t));
    if (s == end && e->rc == SSD_DNS_OK) {
        e->rc = SSD_DNS_NODATA;
    }
    for (; s < end; s = rr + 1) {
        rr = find_byte(s, end, FUZZ_RR_SEP);
        push_rr(p, e->rrs, s, rr);
        if (rr == end) {
            break;
        }
    }
}

fuzz_zone_t *fuzz_zone_parse(apr_pool_t *p, const uint8_t *data,
                             size_t size, const char *primary)
{
    fuzz_zone_t *z = apr_pcalloc(p, sizeof(*z));
    const uint8_t *s = data, *end = data + size, *e;

    z->primary = primary;
    z->entries = apr_array_make(p, 4, sizeof(zone_entry_t));
    for (; size > 0; s = e + 1) {
        e = find_byte(s, end, FUZZ_ENTRY_SEP);
        parse_entry(p, apr_array_push(z->entries), s, e);
        if (e == end) {
            break;
        }
    }
    return z;
}

static int same_name(const char *a, const char *b)
{
    apr_size_t la = strlen(a), lb = strlen(b);

    la -= la > 1 && a[la - 1] == '.';
    lb -= lb > 1 && b[lb - 1] == '.';
    return la == lb && strncasecmp(a, b, la) == 0;
}

static const zone_entry_t *lookup(const fuzz_zone_t *z, const char *name)
{
    const zone_entry_t *e = (const zone_entry_t *)z->entries->elts;
    int i;

    for (i = 0; i < z->entries->nelts; i++) {
        if (e[i].name ? same_name(e[i].name, name)
                      : same_name(z->primary, name)) {
            return &e[i];
        }
    }
    return NULL;
}

ssd_dns_rc fuzz_zone_fetch(void *baton, apr_pool_t *p, const char *name,
                           ssd_txt_answer_t *out)
{
    fuzz_zone_t *z = baton;
    const zone_entry_t *e;
    int i;

    FUZZ_ASSERT(name != NULL);
    z->calls++;
    e = lookup(z, name);
    out->txts = apr_array_make(p, 2, sizeof(ssd_txt_t));
    out->rc = e ? e->rc : SSD_DNS_NXDOMAIN;
    out->cnames = e ? e->cnames : 0;
    out->final_name = out->cnames ? FUZZ_ALIAS : apr_pstrdup(p, name);
    for (i = 0; out->rc == SSD_DNS_OK && i < e->rrs->nelts; i++) {
        const ssd_txt_t *t = &APR_ARRAY_IDX(e->rrs, i, ssd_txt_t);

        if (t->len == 0 || t->data[0] != FUZZ_TYPED) {
            *(ssd_txt_t *)apr_array_push(out->txts) = *t;
        }
    }
    return out->rc;
}

/* The records of type (a letter of FUZZ_TYPED rrs) at name. */
static ssd_dns_rc typed(fuzz_zone_t *z, apr_pool_t *p, const char *name,
                        char type, ssd_rr_answer_t *out)
{
    const zone_entry_t *e;
    ssd_ip_t ip;
    int i;

    FUZZ_ASSERT(name != NULL);
    z->calls++;
    e = lookup(z, name);
    out->ips = apr_array_make(p, 2, sizeof(ssd_ip_t));
    out->names = apr_array_make(p, 2, sizeof(const char *));
    out->rc = e ? e->rc : SSD_DNS_NXDOMAIN;
    out->cnames = e ? e->cnames : 0;
    out->final_name = out->cnames ? FUZZ_ALIAS : apr_pstrdup(p, name);
    for (i = 0; out->rc == SSD_DNS_OK && i < e->rrs->nelts; i++) {
        const ssd_txt_t *t = &APR_ARRAY_IDX(e->rrs, i, ssd_txt_t);

        if (t->len < 2 || t->data[0] != FUZZ_TYPED || t->data[1] != type) {
            continue;
        }
        if (type == 'M' || type == 'P') {
            APR_ARRAY_PUSH(out->names, const char *) = t->data + 2;
        }
        else if (ssd_ip_parse(t->data + 2, &ip)
                 && ip.family == (type == 'A' ? 4 : 6)) {
            *(ssd_ip_t *)apr_array_push(out->ips) = ip;
        }
    }
    if (out->rc == SSD_DNS_OK && !out->ips->nelts && !out->names->nelts) {
        out->rc = SSD_DNS_NODATA;
    }
    return out->rc;
}

static ssd_dns_rc typed_a(void *b, apr_pool_t *p, const char *name,
                          ssd_rr_answer_t *out)
{
    return typed(b, p, name, 'A', out);
}

static ssd_dns_rc typed_aaaa(void *b, apr_pool_t *p, const char *name,
                             ssd_rr_answer_t *out)
{
    return typed(b, p, name, '6', out);
}

static ssd_dns_rc typed_mx(void *b, apr_pool_t *p, const char *name,
                           ssd_rr_answer_t *out)
{
    return typed(b, p, name, 'M', out);
}

static ssd_dns_rc typed_ptr(void *b, apr_pool_t *p, const char *name,
                            ssd_rr_answer_t *out)
{
    return typed(b, p, name, 'P', out);
}

ssd_spf_lookup_t fuzz_zone_lookup(fuzz_zone_t *z)
{
    ssd_spf_lookup_t lk = {fuzz_zone_fetch, typed_a, typed_aaaa, typed_mx,
                           typed_ptr, z};

    return lk;
}

void fuzz_zone_default(fuzz_zone_t *z, const char *name, const char *txt)
{
    apr_pool_t *p = z->entries->pool;
    zone_entry_t *e;
    ssd_txt_t *t;

    if (lookup(z, name)) {
        return;
    }
    e = apr_array_push(z->entries);
    e->name = apr_pstrdup(p, name);
    e->rc = SSD_DNS_OK;
    e->cnames = 0;
    e->rrs = apr_array_make(p, 1, sizeof(ssd_txt_t));
    t = apr_array_push(e->rrs);
    t->data = apr_pstrdup(p, txt);
    t->len = strlen(txt);
}

int fuzz_zone_calls(const fuzz_zone_t *z)
{
    return z->calls;
}

/* ---- check results ---- */

static int printable(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static int utf8(const char *s)
{
    return !s || ssd_utf8_valid_len(s, strlen(s)) == strlen(s);
}

/* FUZZ_STRICT_TEXT=1: message, expected and host must also be UTF-8 (they
 * become JSON strings, and json-c passes bytes >= 0x80 through). */
static int strict_text(void)
{
    static int v = -1;

    if (v < 0) {
        const char *e = getenv("FUZZ_STRICT_TEXT");

        v = e && *e == '1';
    }
    return v;
}

static void check_finding(const ssd_finding_t *f)
{
    FUZZ_ASSERT(f->check && f->code && f->host && f->message);
    FUZZ_ASSERT(!f->found || printable(f->found));
    FUZZ_ASSERT(!f->found || strlen(f->found) <= SSD_CHECK_MAX_FOUND);
    FUZZ_ASSERT(!strict_text()
                || (utf8(f->message) && utf8(f->expected) && utf8(f->host)));
}

/* FUZZ_VERBOSE=1: one line per check on stderr (to see what a corpus
 * file reaches). */
static void show(const ssd_check_result_t *r)
{
    const ssd_finding_t *e = (const ssd_finding_t *)r->errors->elts;
    const ssd_finding_t *w = (const ssd_finding_t *)r->warnings->elts;
    int i;

    fprintf(stderr, "%s lookups=%d errors=", ssd_check_status_name(r->status),
            r->lookups);
    for (i = 0; i < r->errors->nelts; i++) {
        fprintf(stderr, "%s%s", i ? "," : "", e[i].code);
    }
    fprintf(stderr, " warnings=");
    for (i = 0; i < r->warnings->nelts; i++) {
        fprintf(stderr, "%s%s", i ? "," : "", w[i].code);
    }
    fprintf(stderr, "\n");
}

/* The findings as the answer's JSON strings (ssd_json_add_str) must
 * serialise to text the strict reader accepts, whatever bytes they hold. */
static void check_json(apr_pool_t *p, const apr_array_header_t *list)
{
    const ssd_finding_t *f = (const ssd_finding_t *)list->elts;
    json_object *o = ssd_json_new_object(p);
    ssd_json_error_t err;
    const char *text;
    int i;

    for (i = 0; i < list->nelts; i++) {
        json_object *one = json_object_new_object();

        ssd_json_add_str(one, "code", f[i].code);
        ssd_json_add_str(one, "host", f[i].host);
        ssd_json_add_str(one, "message", f[i].message);
        ssd_json_add_str(one, "expected", f[i].expected);
        ssd_json_add_str(one, "found", f[i].found);
        json_object_object_add(o, apr_psprintf(p, "f%d", i), one);
    }
    text = ssd_json_to_string(p, o);
    FUZZ_ASSERT(text && ssd_json_parse_strict(p, text, strlen(text), 8, &err));
}

void fuzz_check_result(apr_pool_t *p, const ssd_check_result_t *r,
                       const fuzz_zone_t *z)
{
    const ssd_finding_t *e = (const ssd_finding_t *)r->errors->elts;
    const char *verbose = getenv("FUZZ_VERBOSE");
    int i;

    if (verbose && *verbose == '1') {
        show(r);
    }

    FUZZ_ASSERT((r->status == SSD_CHECK_PASS) == (r->errors->nelts == 0));
    FUZZ_ASSERT(r->errors->nelts == 0
                || (r->status == SSD_CHECK_TEMPERROR)
                   == (strncmp(e[0].code, "dns_", 4) == 0
                       || strcmp(e[0].code, "include_unavailable") == 0));
    FUZZ_ASSERT(r->host != NULL);
    FUZZ_ASSERT(r->errors->nelts <= SSD_CHECK_MAX_FINDINGS
                && r->warnings->nelts <= SSD_CHECK_MAX_FINDINGS);
    FUZZ_ASSERT(r->dropped_errors >= 0 && r->dropped_warnings >= 0);
    FUZZ_ASSERT(r->lookups == fuzz_zone_calls(z));
    for (i = 0; i < r->errors->nelts; i++) {
        check_finding(&e[i]);
    }
    for (i = 0; i < r->warnings->nelts; i++) {
        check_finding(&APR_ARRAY_IDX(r->warnings, i, ssd_finding_t));
    }
    check_json(p, r->errors);
    check_json(p, r->warnings);
}
