/* ssd_check_dkim: the DKIM record of one selector (RFC 6376 §3.6.1,
 * RFC 8301). The character-strings of one TXT RR are already concatenated
 * (raw bytes) by the fetch function; records are never joined across RRs.
 * Tag names are case-sensitive; a duplicate tag, a v= that is not first or
 * not DKIM1, an h= without sha256, an s= without email or * invalidate
 * the record; k= must be rsa for an RSA key (absent reads as rsa) and
 * ed25519 for an Ed25519 one (RFC 8463); an empty p= is a revoked key.
 * The key is compared as decoded bytes (DER for RSA, the raw 32 bytes for
 * Ed25519). */
#include "ssd_check.h"
#include "ssd_b64.h"
#include "ssd_dkim.h"
#include "ssd_text.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

#define CHECK "dkim"

typedef struct {
    apr_pool_t *p;
    ssd_check_result_t *out;
    const char *host;           /* <selector>._domainkey.<domain> */
    const char *where;          /* host, with its CNAME target if any */
    const char *domain;
    const char *public_b64;
    ssd_dkim_alg_t alg;
    const char *expected;       /* v=DKIM1; k=rsa|ed25519; p=<public_b64> */
    const ssd_txt_t *txt;       /* the record judged */
} dkim_t;

/* "v=DKIM1; k=rsa; p=MIIBIjANBgkq... (the full value is in expected)" */
static const char *shown(const dkim_t *k)
{
    if (strlen(k->expected) <= 60) {
        return k->expected;
    }
    return apr_psprintf(k->p, "%.48s... (the full value is in 'expected')",
                        k->expected);
}

static void fail(dkim_t *k, const char *code, const char *msg)
{
    ssd_finding_t *f = ssd_check_error(k->p, k->out, CHECK, code, k->host,
                                       msg);

    f->expected = k->expected;
    if (k->txt) {
        f->found = ssd_check_escape(k->p, k->txt->data, k->txt->len);
    }
}

/* Something that is meant to be a DKIM key record (quotes aside). */
static int looks_like_dkim(const ssd_txt_t *t)
{
    const char *s = t->data;

    if (ssd_check_is_quoted(t->data, t->len)) {
        s++;
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return strncasecmp(s, "v=DKIM", 6) == 0 || strstr(t->data, "p=")
           || strstr(t->data, "P=");
}

static char *strip_ws(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) + 1), *o = out;

    for (; *s; s++) {
        if (!apr_isspace(*s)) {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

/* Does the colon-separated list hold one of the two words? */
static int list_has(apr_pool_t *p, const char *list, const char *a,
                    const char *b)
{
    char *copy = apr_pstrdup(p, list), *last, *w;

    for (w = apr_strtok(copy, ":", &last); w; w = apr_strtok(NULL, ":", &last)) {
        w = strip_ws(p, w);
        if (!strcmp(w, a) || (b && !strcmp(w, b))) {
            return 1;
        }
    }
    return 0;
}

static const char *upper_hint(const apr_array_header_t *tags)
{
    static const char *const names[] = { "V", "K", "P", "H", "S", "T" };
    unsigned i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ssd_tag_get(tags, names[i], 0)) {
            return " (tag names are case-sensitive: write them in lower "
                   "case)";
        }
    }
    return "";
}

/* k= absent reads as rsa (RFC 6376 section 3.6.1). */
static int wrong_key_type(const dkim_t *k, const char *kt)
{
    return strcmp(kt ? kt : "rsa", ssd_dkim_alg_k(k->alg)) != 0;
}

static const char *key_type_message(const dkim_t *k, const char *kt)
{
    if (k->alg == SSD_DKIM_ED25519) {
        return apr_psprintf(k->p, "%s says the key is not Ed25519, but "
                            "ScaiSend signs with an Ed25519 key "
                            "(ed25519-sha256, RFC 8463) at this selector: "
                            "set k=ed25519",
                            kt ? apr_pstrcat(k->p, "k=", kt, NULL)
                               : "a record without k= (which means k=rsa)");
    }
    return apr_psprintf(k->p, "k=%s says the key is not RSA, but "
                        "ScaiSend signs with an RSA key: set k=rsa", kt);
}

/* v=, h=, k=, s= and the presence of p=; 1 when fine, else 0 and the
 * finding is added. */
static int check_tags(dkim_t *k, const apr_array_header_t *tags)
{
    const ssd_tag_t *t = (const ssd_tag_t *)tags->elts;
    const char *v = ssd_tag_get(tags, "v", 0), *h = ssd_tag_get(tags, "h", 0);
    const char *kt = ssd_tag_get(tags, "k", 0), *s = ssd_tag_get(tags, "s", 0);
    const char *msg = NULL, *code = "malformed";

    if (v && strcmp(t[0].name, "v") != 0) {
        msg = "v=DKIM1 must be the first tag of the record";
    }
    else if (v && strcmp(v, "DKIM1") != 0) {
        msg = apr_psprintf(k->p, "v=%s is not a DKIM key record (the only "
                           "version is v=DKIM1)", v);
    }
    else if (h && !list_has(k->p, h, "sha256", NULL)) {
        msg = apr_psprintf(k->p, "h=%s does not allow sha256, and verifiers "
                           "refuse SHA-1 signatures (RFC 8301): remove h= or "
                           "set h=sha256", h);
    }
    else if (wrong_key_type(k, kt)) {
        code = "wrong_key_type";
        msg = key_type_message(k, kt);
    }
    else if (s && !list_has(k->p, s, "email", "*")) {
        msg = apr_psprintf(k->p, "s=%s excludes e-mail: remove s= or set "
                           "s=email", s);
    }
    else if (!ssd_tag_get(tags, "p", 0)) {
        msg = apr_pstrcat(k->p, "the record has no p= tag",
                          upper_hint(tags), NULL);
    }
    if (!msg) {
        return 1;
    }
    fail(k, code, apr_psprintf(k->p, "the DKIM record at %s is invalid: "
                               "%s. Publish exactly: %s", k->where, msg,
                               shown(k)));
    return 0;
}

/* A provider's 255-character limit cut the value: the published key is a
 * strict prefix of ours (as text or as DER), or the whole value is 254 or
 * 255 characters long. */
static int truncated(const dkim_t *k, const char *p64,
                     const unsigned char *der, apr_size_t der_len,
                     const unsigned char *want, apr_size_t want_len)
{
    apr_size_t n = strlen(p64);

    if (n < strlen(k->public_b64) && !strncmp(p64, k->public_b64, n)) {
        return 1;
    }
    if (der && want && der_len < want_len && !memcmp(der, want, der_len)) {
        return 1;
    }
    return k->txt->len == 255 || k->txt->len == 254;
}

static void key_problem(dkim_t *k, const char *p64, const unsigned char *der,
                        apr_size_t der_len, const unsigned char *want,
                        apr_size_t want_len)
{
    if (truncated(k, p64, der, der_len, want, want_len)) {
        fail(k, "truncated_key", apr_psprintf(k->p,
             "the key at %s is cut short (%lu characters published, the "
             "record is %lu): a TXT string holds at most 255 characters and "
             "the DNS provider truncated the value. Publish it as several "
             "quoted strings of at most 255 characters in ONE TXT record "
             "(the zone form of GET .../dns-records?format=zone is split "
             "that way), or use the provider's long-TXT field: %s",
             k->where, (unsigned long)k->txt->len,
             (unsigned long)strlen(k->expected), shown(k)));
    }
    else if (!der) {
        fail(k, "malformed", apr_psprintf(k->p, "the p= value at %s is not "
             "valid base64: publish exactly: %s", k->where, shown(k)));
    }
    else {
        fail(k, "key_mismatch", apr_psprintf(k->p, "the p= key published at "
             "%s is not the %skey ScaiSend holds for this selector: replace "
             "the record's value with: %s", k->where,
             k->alg == SSD_DKIM_ED25519 ? "Ed25519 " : "", shown(k)));
    }
}

/* Where an '=' stands inside p= (not the final padding of base64), or
 * NULL. */
static const char *inner_equals(const char *p64)
{
    const char *eq = strchr(p64, '='), *s;

    for (s = eq; s && *s; s++) {
        if (*s != '=') {
            return eq;
        }
    }
    return NULL;
}

static void check_key(dkim_t *k, const char *p_value)
{
    const char *p64 = strip_ws(k->p, p_value), *eq;
    apr_size_t der_len = 0, want_len = 0;
    unsigned char *der, *want;

    if (*p64 == '\0') {
        fail(k, "revoked_key", apr_psprintf(k->p, "the record at %s has an "
             "empty p=, which revokes the key: publish %s", k->where,
             shown(k)));
        return;
    }
    if ((eq = inner_equals(p64))) {
        fail(k, "malformed", apr_psprintf(k->p, "the p= value at %s has an "
             "'=' inside it (after %lu characters): in base64 '=' is only "
             "the padding at the very end, so the value was pasted "
             "together from pieces or another value ran into it. Publish "
             "exactly: %s", k->where, (unsigned long)(eq - p64),
             shown(k)));
        return;
    }
    der = ssd_b64_decode(k->p, p64, &der_len);
    want = ssd_b64_decode(k->p, strip_ws(k->p, k->public_b64), &want_len);
    if (der && want && der_len == want_len && !memcmp(der, want, der_len)) {
        return;                                 /* pass */
    }
    key_problem(k, p64, der, der_len, want, want_len);
}

static void judge(dkim_t *k, const ssd_txt_t *t)
{
    apr_array_header_t *tags;
    const char *msg;

    k->txt = t;
    if (ssd_check_is_quoted(t->data, t->len)) {
        fail(k, "quoted_value", apr_psprintf(k->p, "the record at %s was "
             "entered with its double quotes, which became part of the "
             "value: remove the surrounding quotes and publish exactly: %s",
             k->where, shown(k)));
        return;
    }
    msg = ssd_tag_list_parse(k->p, t->data, t->len, 0, &tags);
    if (msg) {
        fail(k, "malformed", apr_psprintf(k->p, "the DKIM record at %s is "
             "not a valid tag list: %s. Publish exactly: %s", k->where, msg,
             shown(k)));
        return;
    }
    if (check_tags(k, tags)) {
        check_key(k, ssd_tag_get(tags, "p", 0));
    }
}

static const ssd_txt_t *first_dkim(const apr_array_header_t *txts, int *n)
{
    const ssd_txt_t *t = (const ssd_txt_t *)txts->elts, *first = NULL;
    int i;

    *n = 0;
    for (i = 0; i < txts->nelts; i++) {
        if (looks_like_dkim(&t[i])) {
            first = first ? first : &t[i];
            (*n)++;
        }
    }
    return first;
}

/* Hint: the record published under <host>.<domain>, because the DNS
 * provider appends the zone name to the host entered. A failed lookup here
 * changes nothing: the finding stays "missing". */
static int doubled(dkim_t *k, ssd_txt_fetch_fn fetch, void *baton)
{
    const char *name = apr_pstrcat(k->p, k->host, ".", k->domain, NULL);
    ssd_txt_answer_t ans;
    int n = 0;

    memset(&ans, 0, sizeof(ans));
    k->out->lookups++;
    if (fetch(baton, k->p, name, &ans) != SSD_DNS_OK || !ans.txts
        || !(k->txt = first_dkim(ans.txts, &n))) {
        k->txt = NULL;
        return 0;
    }
    fail(k, "doubled_name", apr_psprintf(k->p, "no DKIM record at %s, but "
         "one was found at %s: the DNS provider appends the domain to the "
         "host name entered. Enter the host without the domain part (or as a "
         "full name ending with a dot) so that the record is at %s, and "
         "delete the one at %s", k->host, name, k->host, name));
    return 1;
}

static void missing(dkim_t *k, ssd_txt_fetch_fn fetch, void *baton)
{
    if (doubled(k, fetch, baton)) {
        return;
    }
    fail(k, "missing", apr_psprintf(k->p, "no DKIM record at %s: publish a "
         "TXT record at %s with the value %s", k->host, k->host, shown(k)));
}

static void multiple(dkim_t *k, const apr_array_header_t *txts, int n)
{
    ssd_finding_t *f;

    f = ssd_check_error(k->p, k->out, CHECK, "multiple_records", k->host,
        apr_psprintf(k->p, "%d DKIM records are published at %s and "
                     "verifiers fail when there is more than one: delete all "
                     "but one, so that the only record there is: %s", n,
                     k->where, shown(k)));
    f->expected = k->expected;
    f->found = ssd_check_found_list(k->p, txts, NULL);
}

#define OTHERS_SHOWN 3

/* The records of txts other than ours, quoted: the first OTHERS_SHOWN,
 * then how many more. */
static const char *others_list(apr_pool_t *p, const apr_array_header_t *txts,
                               const ssd_txt_t *ours)
{
    ssd_buf_t b;
    int i, shown_n = 0;

    ssd_buf_init(&b, p, 256, 0);
    for (i = 0; i < txts->nelts; i++) {
        const ssd_txt_t *t = &APR_ARRAY_IDX(txts, i, ssd_txt_t);

        if (t == ours || shown_n == OTHERS_SHOWN) {
            continue;
        }
        ssd_buf_add_sep(&b, ", ");
        ssd_buf_addc(&b, '"');
        ssd_buf_adds(&b, ssd_check_escape(p, t->data, t->len));
        ssd_buf_addc(&b, '"');
        shown_n++;
    }
    if (txts->nelts - 1 > shown_n) {
        ssd_buf_adds(&b, apr_psprintf(p, " and %d more",
                                      txts->nelts - 1 - shown_n));
    }
    return ssd_buf_str(&b);
}

/* Our record shares the selector with other TXT records: a verifier takes
 * one TXT record of the name (RFC 6376 section 3.6.2.2), which may be the
 * other one. */
static void others_beside(dkim_t *k, const apr_array_header_t *txts,
                          const ssd_txt_t *ours)
{
    int n = txts->nelts - 1;
    ssd_finding_t *f;

    f = ssd_check_error(k->p, k->out, CHECK, "multiple_records", k->host,
        apr_psprintf(k->p, "besides the DKIM record, %s holds %s: %s. "
                     "The selector must hold exactly one TXT record, or "
                     "verifiers may read the other one instead of the key: "
                     "delete %s, so that the only record there is: %s",
                     k->where, n == 1 ? "another TXT record"
                     : apr_psprintf(k->p, "%d other TXT records", n),
                     others_list(k->p, txts, ours), n == 1 ? "it" : "them",
                     shown(k)));
    f->expected = k->expected;
    f->found = ssd_check_found_list(k->p, txts, NULL);
}

/* The key cut short in our record, its rest in another TXT record: a
 * provider split the value over several records, which truncated_key
 * explains better than multiple_records. Judged on a copy of the state. */
static int split_key(const dkim_t *k, const ssd_txt_t *ours)
{
    ssd_check_result_t scratch;
    dkim_t copy = *k;

    ssd_check_init(k->p, &scratch, k->host);
    copy.out = &scratch;
    judge(&copy, ours);
    return scratch.errors->nelts > 0
           && strcmp(APR_ARRAY_IDX(scratch.errors, 0, ssd_finding_t).code,
                     "truncated_key") == 0;
}

void ssd_check_dkim(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                    const char *domain, const char *selector,
                    const char *public_b64, ssd_check_result_t *out)
{
    ssd_check_dkim_alg(p, fetch, baton, domain, selector, SSD_DKIM_RSA,
                       public_b64, out);
}

void ssd_check_dkim_alg(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                        const char *domain, const char *selector, int alg,
                        const char *public_b64, ssd_check_result_t *out)
{
    dkim_t k;
    ssd_txt_answer_t ans;
    const ssd_txt_t *t;
    int n;

    memset(&k, 0, sizeof(k));
    k.p = p;
    k.out = out;
    k.domain = domain;
    k.public_b64 = public_b64 ? public_b64 : "";
    k.alg = alg == SSD_DKIM_ED25519 ? SSD_DKIM_ED25519 : SSD_DKIM_RSA;
    k.host = apr_pstrcat(p, selector, "._domainkey.", domain, NULL);
    k.where = k.host;
    k.expected = apr_pstrcat(p, "v=DKIM1; k=", ssd_dkim_alg_k(k.alg),
                             "; p=", k.public_b64, NULL);
    ssd_check_init(p, out, k.host);
    if (ssd_check_fetch(p, fetch, baton, CHECK, k.host, out, &ans) != 0) {
        return;
    }
    if (ans.rc == SSD_DNS_CNAME_LOOP) {
        fail(&k, "cname_loop", apr_psprintf(p, "%s is a CNAME chain that "
             "loops or is longer than %d: publish the TXT record at %s "
             "(value %s) or point the CNAME at a name that holds it",
             k.host, SSD_DNS_MAX_CNAMES, k.host, shown(&k)));
        return;
    }
    if (ans.rc != SSD_DNS_OK || !ans.txts || ans.txts->nelts == 0) {
        missing(&k, fetch, baton);
        return;
    }
    if (ans.cnames > 0 && ans.final_name) {
        k.where = apr_psprintf(p, "%s (a CNAME to %s)", k.host,
                               ans.final_name);
    }
    t = first_dkim(ans.txts, &n);
    if (n > 1) {
        multiple(&k, ans.txts, n);
        return;
    }
    if (t && ans.txts->nelts > 1 && !split_key(&k, t)) {
        others_beside(&k, ans.txts, t);
        return;
    }
    judge(&k, t ? t : (const ssd_txt_t *)ans.txts->elts);
}
