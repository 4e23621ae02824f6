/* ssd_dmarc: DMARC Policy Record syntax (RFC 9989 sections 4.7, 4.8). */
#include "ssd_dmarc.h"
#include "ssd_domain.h"
#include "ssd_text.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#define SHOWN_MAX 200   /* bytes of a part quoted in a problem */

static int is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

static apr_size_t skip_wsp(const char *s, apr_size_t len, apr_size_t i)
{
    while (i < len && is_wsp(s[i])) {
        i++;
    }
    return i;
}

/* Where dmarc-version ends (after its trailing white space), or 0 when
 * data does not begin with it. */
static apr_size_t version_end(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len < 1 || (s[0] != 'v' && s[0] != 'V')) {
        return 0;
    }
    i = skip_wsp(s, len, 1);
    if (i >= len || s[i] != '=') {
        return 0;
    }
    i = skip_wsp(s, len, i + 1);
    if (len - i < 6 || memcmp(s + i, "DMARC1", 6) != 0) {
        return 0;
    }
    i = skip_wsp(s, len, i + 6);
    return i == len || s[i] == ';' ? i : 0;
}

int ssd_dmarc_is_record(const char *data, apr_size_t len)
{
    return version_end(data, len) > 0;
}

/* Bytes as printable text for a message, cut at SHOWN_MAX. */
static const char *shown(apr_pool_t *p, const char *s, apr_size_t n)
{
    ssd_buf_t b;

    ssd_buf_init(&b, p, n < SHOWN_MAX ? n + 8 : SHOWN_MAX + 8, SHOWN_MAX);
    ssd_buf_add_escaped(&b, s, n);
    if (b.cut) {
        b.max = 0;
        ssd_buf_adds(&b, "...");
    }
    return ssd_buf_str(&b);
}

static const char *bad_value_byte(apr_pool_t *p, const char *name,
                                  const char *v)
{
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;

        if (c < 0x20 || c > 0x7e) {
            return apr_psprintf(p, "the value of %s= holds a byte that is "
                                "not allowed (\\%03u): only printing ASCII "
                                "and spaces", name, (unsigned)c);
        }
    }
    return NULL;
}

static int all_alpha(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (!apr_isalpha(s[i])) {
            return 0;
        }
    }
    return n > 0;
}

/* One part between semicolons, white space already trimmed (n > 0). */
static void tag_part(apr_pool_t *p, const char *t, apr_size_t n,
                     ssd_dmarc_part_t *out, apr_hash_t *seen)
{
    const char *eq = memchr(t, '=', n);
    apr_size_t nl, i;
    char *name;

    if (!eq) {
        out->value = apr_pstrmemdup(p, t, n);
        out->problem = apr_psprintf(p, "'%s' is not a tag=value pair",
                                    shown(p, t, n));
        return;
    }
    for (nl = (apr_size_t)(eq - t); nl > 0 && is_wsp(t[nl - 1]); nl--) {
    }
    i = skip_wsp(t, n, (apr_size_t)(eq - t) + 1);
    out->value = apr_pstrmemdup(p, t + i, n - i);
    if (!all_alpha(t, nl)) {
        out->problem = apr_psprintf(p, "'%s' is not a tag name (a tag name "
                                    "is letters only)", shown(p, t, nl));
        return;
    }
    name = apr_pstrmemdup(p, t, nl);
    for (i = 0; i < nl; i++) {
        name[i] = (char)apr_tolower(name[i]);
    }
    out->name = name;
    if (apr_hash_get(seen, name, APR_HASH_KEY_STRING)) {
        out->duplicate = 1;
        out->problem = apr_psprintf(p, "tag %s= appears more than once",
                                    name);
        return;
    }
    apr_hash_set(seen, name, APR_HASH_KEY_STRING, name);
    out->problem = !*out->value
                   ? apr_psprintf(p, "tag %s= has no value", name)
                   : bad_value_byte(p, name, out->value);
}

static void add_part(apr_pool_t *p, const char *s, apr_size_t n, int last,
                     apr_array_header_t *parts, apr_hash_t *seen)
{
    ssd_dmarc_part_t *part;

    while (n > 0 && is_wsp(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_wsp(s[n - 1])) {
        n--;
    }
    if (n == 0 && last) {
        return;                     /* the optional final dmarc-sep */
    }
    part = apr_array_push(parts);
    memset(part, 0, sizeof(*part));
    if (n == 0) {
        part->value = "";
        part->problem = "two semicolons with no tag between them";
        return;
    }
    tag_part(p, s, n, part, seen);
}

apr_array_header_t *ssd_dmarc_parse(apr_pool_t *p, const char *data,
                                    apr_size_t len)
{
    apr_array_header_t *parts = apr_array_make(p, 8, sizeof(ssd_dmarc_part_t));
    apr_hash_t *seen = apr_hash_make(p);
    apr_size_t i = version_end(data, len);

    if (i == 0) {
        return parts;
    }
    if (i < len) {
        i++;                        /* the ';' after the version */
    }
    while (i <= len) {
        const char *semi = memchr(data + i, ';', len - i);
        apr_size_t j = semi ? (apr_size_t)(semi - data) : len;

        add_part(p, data + i, j - i, !semi, parts, seen);
        if (!semi) {
            break;
        }
        i = j + 1;
    }
    return parts;
}

const char *ssd_dmarc_get(const apr_array_header_t *parts, const char *name)
{
    const ssd_dmarc_part_t *t = (const ssd_dmarc_part_t *)parts->elts;
    int i;

    for (i = 0; i < parts->nelts; i++) {
        if (t[i].name && !t[i].duplicate && !strcmp(t[i].name, name)) {
            return t[i].problem ? NULL : t[i].value;
        }
    }
    return NULL;
}

static int in_list(const char *name, const char *const *list)
{
    for (; *list; list++) {
        if (!strcmp(name, *list)) {
            return 1;
        }
    }
    return 0;
}

int ssd_dmarc_is_known(const char *name)
{
    static const char *const known[] = { "adkim", "aspf", "fo", "np", "p",
                                         "psd", "rua", "ruf", "sp", "t",
                                         NULL };

    return in_list(name, known);
}

int ssd_dmarc_is_removed(const char *name)
{
    static const char *const removed[] = { "pct", "rf", "ri", NULL };

    return in_list(name, removed);
}

static int one_of(const char *v, const char *const *words)
{
    for (; *words; words++) {
        if (!strcasecmp(v, *words)) {
            return 1;
        }
    }
    return 0;
}

/* dmarc-fo: 0, 1, d and s joined by colons, each at most once, 0 and 1
 * not together (the three alternatives of the ABNF allow any order). */
static int fo_valid(const char *v)
{
    static const char set[] = "01ds";
    int seen[4] = { 0, 0, 0, 0 };
    const char *c = v;

    for (;;) {
        const char *at = *c ? strchr(set, apr_tolower(*c)) : NULL;

        if (!at || (c[1] && c[1] != ':') || seen[at - set]++) {
            return 0;
        }
        if (!c[1]) {
            return !(seen[0] && seen[1]);
        }
        c += 2;
    }
}

static const char *uri_list_problem(apr_pool_t *p, const char *name,
                                    const char *value)
{
    apr_array_header_t *uris = ssd_dmarc_uris(p, value);
    const ssd_dmarc_uri_t *u = (const ssd_dmarc_uri_t *)uris->elts;
    int i;

    for (i = 0; i < uris->nelts; i++) {
        if (u[i].problem) {
            return apr_psprintf(p, "%s= lists '%s', which is not a valid "
                                "report URI: %s", name,
                                shown(p, u[i].uri, strlen(u[i].uri)),
                                u[i].problem);
        }
    }
    return NULL;
}

const char *ssd_dmarc_value_problem(apr_pool_t *p, const char *name,
                                    const char *value)
{
    static const char *const request[] = { "none", "quarantine", "reject",
                                           NULL };
    static const char *const yorn[] = { "y", "n", NULL };
    static const char *const psd[] = { "y", "n", "u", NULL };
    static const char *const rors[] = { "r", "s", NULL };
    const char *v = shown(p, value, strlen(value));

    if (!strcmp(name, "p") || !strcmp(name, "sp") || !strcmp(name, "np")) {
        return one_of(value, request) ? NULL : apr_psprintf(p,
            "%s=%s is not none, quarantine or reject", name, v);
    }
    if (!strcmp(name, "t") || !strcmp(name, "psd")) {
        return one_of(value, *name == 't' ? yorn : psd) ? NULL
               : apr_psprintf(p, "%s=%s is not %s", name, v,
                              *name == 't' ? "y or n" : "y, n or u");
    }
    if (!strcmp(name, "adkim") || !strcmp(name, "aspf")) {
        return one_of(value, rors) ? NULL : apr_psprintf(p,
            "%s=%s is not r (relaxed) or s (strict)", name, v);
    }
    if (!strcmp(name, "fo")) {
        return fo_valid(value) ? NULL : apr_psprintf(p, "fo=%s is not 0, "
            "1, d and s joined by colons (each at most once, not both 0 and "
            "1)", v);
    }
    if (!strcmp(name, "rua") || !strcmp(name, "ruf")) {
        return uri_list_problem(p, name, value);
    }
    return NULL;
}

/* ---- report URIs ---- */

/* RFC 3986 characters a URI may hold after its scheme (',' and '!' are
 * taken out: section 4.8 requires them percent-encoded in a dmarc-uri). */
static int uri_char(char c)
{
    return apr_isalnum(c) || (c && strchr("-._~:/?#[]@$&'()*+;=", c));
}

static const char *uri_chars_problem(apr_pool_t *p, const char *s)
{
    for (; *s; s++) {
        if (*s == '%') {
            if (!apr_isxdigit(s[1]) || !apr_isxdigit(s[2])) {
                return "a % must start a percent-encoded byte (%HH)";
            }
            s += 2;
        }
        else if (!uri_char(*s)) {
            return apr_psprintf(p, "it holds the character '%s', which a "
                                "URI may not contain unencoded",
                                shown(p, s, 1));
        }
    }
    return NULL;
}

/* mailto: local "@" domain ["?" headers]; the host in lower case. */
static const char *mailto_problem(apr_pool_t *p, const char *rest,
                                  const char **host)
{
    const char *q = strchr(rest, '?');
    char *addr = q ? apr_pstrmemdup(p, rest, (apr_size_t)(q - rest))
                   : apr_pstrdup(p, rest);
    char *at = strrchr(addr, '@');

    if (!at || at == addr || !at[1]) {
        return "a mailto: URI needs an address local@domain";
    }
    if (ssd_host_normalise(p, at + 1, host)) {
        *host = NULL;
        return "the domain of the mailto: address is not a valid host name";
    }
    return NULL;
}

/* "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] at the end: obs-dmarc-report-size */
static int size_suffix(const char *bang)
{
    const char *c = bang + 1;

    while (apr_isdigit(*c)) {
        c++;
    }
    if (c == bang + 1) {
        return 0;
    }
    return !*c || (strchr("kmgtKMGT", *c) && !c[1]);
}

static void one_uri(apr_pool_t *p, const char *s, apr_size_t n,
                    ssd_dmarc_uri_t *u)
{
    char *uri = apr_pstrmemdup(p, s, n), *bang = strrchr(uri, '!');
    const char *c = uri;

    memset(u, 0, sizeof(*u));
    if (bang && size_suffix(bang)) {
        u->size = apr_pstrdup(p, bang);
        *bang = '\0';
    }
    u->uri = uri;
    if (!*uri) {
        u->problem = "it is empty";
        return;
    }
    while (apr_isalnum(*c) || *c == '+' || *c == '-' || *c == '.') {
        c++;
    }
    if (!apr_isalpha(*uri) || *c != ':') {
        u->problem = "it does not start with a scheme such as mailto:";
        return;
    }
    u->problem = uri_chars_problem(p, c + 1);
    if (!u->problem && c - uri == 6 && !strncasecmp(uri, "mailto", 6)) {
        u->problem = mailto_problem(p, c + 1, &u->host);
    }
}

apr_array_header_t *ssd_dmarc_uris(apr_pool_t *p, const char *list)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(ssd_dmarc_uri_t));
    const char *s = list;

    for (;;) {
        const char *comma = strchr(s, ',');
        apr_size_t n = comma ? (apr_size_t)(comma - s) : strlen(s);

        while (n > 0 && is_wsp(*s)) {
            s++;
            n--;
        }
        while (n > 0 && is_wsp(s[n - 1])) {
            n--;
        }
        one_uri(p, s, n, apr_array_push(out));
        if (!comma) {
            return out;
        }
        s = comma + 1;
    }
}
