/* ssd_check: findings, escaping and the tag-list parser shared by the
 * DKIM, SPF and DMARC checks. */
#include "ssd_check.h"
#include "ssd_text.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_hash.h>

const char *ssd_check_status_name(ssd_check_status_e s)
{
    return s == SSD_CHECK_PASS ? "pass"
           : s == SSD_CHECK_FAIL ? "fail" : "temperror";
}

void ssd_check_init(apr_pool_t *p, ssd_check_result_t *out, const char *host)
{
    memset(out, 0, sizeof(*out));
    out->status = SSD_CHECK_PASS;
    out->host = host;
    out->errors = apr_array_make(p, 2, sizeof(ssd_finding_t));
    out->warnings = apr_array_make(p, 2, sizeof(ssd_finding_t));
}

/* A finding past the cap is counted, not kept: the caller still gets a
 * finding to fill in, which goes nowhere. */
static ssd_finding_t *push(apr_array_header_t *list, int *dropped,
                           const char *check, const char *code,
                           const char *host, const char *message)
{
    ssd_finding_t *f;

    if (list->nelts >= SSD_CHECK_MAX_FINDINGS) {
        (*dropped)++;
        f = apr_palloc(list->pool, sizeof(*f));
    }
    else {
        f = apr_array_push(list);
    }

    memset(f, 0, sizeof(*f));
    f->check = check;
    f->code = code;
    f->host = host;
    f->message = message;
    return f;
}

ssd_finding_t *ssd_check_error(apr_pool_t *p, ssd_check_result_t *out,
                               const char *check, const char *code,
                               const char *host, const char *message)
{
    (void)p;
    if (out->status == SSD_CHECK_PASS) {
        out->status = SSD_CHECK_FAIL;
    }
    return push(out->errors, &out->dropped_errors, check, code, host,
                message);
}

ssd_finding_t *ssd_check_warning(apr_pool_t *p, ssd_check_result_t *out,
                                 const char *check, const char *code,
                                 const char *host, const char *message)
{
    (void)p;
    return push(out->warnings, &out->dropped_warnings, check, code, host,
                message);
}

const char *ssd_check_temp_code(ssd_dns_rc rc)
{
    switch (rc) {
    case SSD_DNS_SERVFAIL:
        return "dns_servfail";
    case SSD_DNS_REFUSED:
        return "dns_refused";
    case SSD_DNS_TRUNCATED:
        return "dns_truncated";
    case SSD_DNS_ERROR:
        return "dns_servfail";      /* unusable answer: same advice */
    default:
        return "dns_timeout";
    }
}

static const char *temp_message(apr_pool_t *p, const char *name,
                                ssd_dns_rc rc)
{
    const char *what;

    switch (rc) {
    case SSD_DNS_SERVFAIL:
        what = "failed with SERVFAIL: the domain's nameservers could not "
               "answer (zone not loaded, broken delegation or DNSSEC)";
        break;
    case SSD_DNS_REFUSED:
        what = "was refused: the nameserver asked does not serve this "
               "zone; check the domain's NS delegation";
        break;
    case SSD_DNS_TRUNCATED:
        what = "was truncated and the retry over TCP failed: the "
               "nameservers must answer DNS over TCP (port 53)";
        break;
    case SSD_DNS_ERROR:
        what = "gave an unusable answer";
        break;
    default:
        what = "timed out: no nameserver answered within the time allowed";
    }
    return apr_psprintf(p, "the DNS lookup of TXT %s %s. Nothing was "
                        "changed; verify again later.", name, what);
}

void ssd_check_temp(apr_pool_t *p, ssd_check_result_t *out,
                    const char *check, const char *host, const char *name,
                    ssd_dns_rc rc)
{
    if (out->status == SSD_CHECK_PASS) {
        out->status = SSD_CHECK_TEMPERROR;
    }
    push(out->errors, &out->dropped_errors, check, ssd_check_temp_code(rc),
         host, temp_message(p, name, rc));
}

void ssd_check_temp_warning(apr_pool_t *p, ssd_check_result_t *out,
                            const char *check, const char *name,
                            ssd_dns_rc rc)
{
    push(out->warnings, &out->dropped_warnings, check,
         ssd_check_temp_code(rc), name, temp_message(p, name, rc));
}

static void add_escaped(ssd_buf_t *b, const char *data, apr_size_t len)
{
    ssd_buf_add_escaped(b, data, len);
    if (b->cut) {
        b->max = 0;
        ssd_buf_adds(b, "...");
    }
}

const char *ssd_check_escape(apr_pool_t *p, const char *data, apr_size_t len)
{
    ssd_buf_t b;

    ssd_buf_init(&b, p, len < SSD_CHECK_MAX_FOUND ? len + 1 : 256,
                 SSD_CHECK_MAX_FOUND);
    add_escaped(&b, data, len);
    return ssd_buf_str(&b);
}

const char *ssd_check_found_list(apr_pool_t *p, const apr_array_header_t *txts,
                                 int (*keep)(const char *, apr_size_t))
{
    const ssd_txt_t *t = (const ssd_txt_t *)txts->elts;
    ssd_buf_t b;
    int i;

    ssd_buf_init(&b, p, 256, SSD_CHECK_MAX_FOUND);
    for (i = 0; i < txts->nelts && !b.cut; i++) {
        if (!keep || keep(t[i].data, t[i].len)) {
            ssd_buf_add_sep(&b, " | ");
            add_escaped(&b, t[i].data, t[i].len);
        }
    }
    return b.len ? ssd_buf_str(&b) : NULL;
}

int ssd_check_is_quoted(const char *data, apr_size_t len)
{
    return len >= 2 && data[0] == '"' && data[len - 1] == '"';
}

/* ---- tag-list (RFC 6376 §3.2) ---- */

static int is_fws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *trim(apr_pool_t *p, const char *s, apr_size_t len)
{
    while (len > 0 && is_fws(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_fws(s[len - 1])) {
        len--;
    }
    return apr_pstrmemdup(p, s, len);
}

static int valid_tag_name(const char *n)
{
    if (!apr_isalpha(*n)) {
        return 0;
    }
    for (n++; *n; n++) {
        if (!apr_isalnum(*n) && *n != '_') {
            return 0;
        }
    }
    return 1;
}

/* VALCHAR = %x21-3A / %x3C-7E, plus whitespace between tvals. */
static const char *check_value(apr_pool_t *p, const char *name,
                               const char *v)
{
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;

        if (!is_fws(*v) && (c < 0x21 || c > 0x7e)) {
            return apr_psprintf(p, "the value of tag %s= holds a character "
                                "that is not allowed (byte \\%03u)", name,
                                (unsigned)c);
        }
    }
    return NULL;
}

const char *ssd_tag_get(const apr_array_header_t *tags, const char *name,
                        int nocase)
{
    const ssd_tag_t *t = (const ssd_tag_t *)tags->elts;
    int i;

    for (i = 0; i < tags->nelts; i++) {
        if (nocase ? !strcasecmp(t[i].name, name) : !strcmp(t[i].name, name)) {
            return t[i].value;
        }
    }
    return NULL;
}

/* Names seen so far, for the duplicate rule (a hash: linear in the
 * number of tags, whatever a zone publishes). */
static int seen_before(apr_pool_t *p, apr_hash_t *seen, const char *name,
                       int nocase)
{
    char *key = apr_pstrdup(p, name), *c;

    for (c = key; nocase && *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    if (apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
        return 1;
    }
    apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
    return 0;
}

static const char *parse_spec(apr_pool_t *p, const char *spec,
                              apr_size_t len, int nocase,
                              apr_array_header_t *tags, apr_hash_t *seen)
{
    const char *eq = memchr(spec, '=', len);
    ssd_tag_t *t;

    if (!eq) {
        const char *seg = trim(p, spec, len);

        return apr_psprintf(p, "'%s' is not a tag=value pair",
                            ssd_check_escape(p, seg, strlen(seg)));
    }
    t = apr_array_push(tags);
    t->name = trim(p, spec, (apr_size_t)(eq - spec));
    t->value = trim(p, eq + 1, len - (apr_size_t)(eq - spec) - 1);
    if (!valid_tag_name(t->name)) {
        return apr_psprintf(p, "'%s' is not a valid tag name",
                            ssd_check_escape(p, t->name, strlen(t->name)));
    }
    if (seen_before(p, seen, t->name, nocase)) {
        return apr_psprintf(p, "tag %s= appears more than once", t->name);
    }
    return check_value(p, t->name, t->value);
}

const char *ssd_tag_list_parse(apr_pool_t *p, const char *data,
                               apr_size_t len, int nocase,
                               apr_array_header_t **tags)
{
    const char *end = data + len, *s = data, *semi, *msg;
    apr_hash_t *seen = apr_hash_make(p);

    *tags = apr_array_make(p, 8, sizeof(ssd_tag_t));
    if (memchr(data, '\0', len)) {
        return "the record contains a NUL byte";
    }
    for (;;) {
        semi = memchr(s, ';', (apr_size_t)(end - s));
        if (!semi && *trim(p, s, (apr_size_t)(end - s)) == '\0'
            && (*tags)->nelts > 0) {
            return NULL;            /* after a final ";" */
        }
        if (*trim(p, s, (apr_size_t)((semi ? semi : end) - s)) == '\0') {
            return (*tags)->nelts == 0 && !semi ? "the record is empty"
                   : "empty tag (two ';' in a row or a leading ';')";
        }
        msg = parse_spec(p, s, (apr_size_t)((semi ? semi : end) - s),
                         nocase, *tags, seen);
        if (msg || !semi) {
            return msg;
        }
        s = semi + 1;
    }
}

int ssd_check_fetch(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                    const char *check, const char *host,
                    ssd_check_result_t *out, ssd_txt_answer_t *ans)
{
    memset(ans, 0, sizeof(*ans));
    out->lookups++;
    fetch(baton, p, host, ans);
    if (ssd_dns_is_temporary(ans->rc)) {
        ssd_check_temp(p, out, check, host, host, ans->rc);
        return -1;
    }
    return 0;
}
