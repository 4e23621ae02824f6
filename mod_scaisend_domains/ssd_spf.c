/* ssd_spf: strict SPF record syntax (RFC 7208): terms, domain-specs with
 * macros, CIDR lengths, modifiers. */
#include "ssd_spf.h"

#include <string.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>

/* ---- syntax ---- */

int ssd_spf_is_record(const char *s, apr_size_t len)
{
    return len >= 6 && strncasecmp(s, "v=spf1", 6) == 0
           && (len == 6 || s[6] == ' ');
}

int ssd_spf_same_name(const char *a, const char *b)
{
    apr_size_t la = strlen(a), lb = strlen(b);

    la -= (la > 1 && a[la - 1] == '.');
    lb -= (lb > 1 && b[lb - 1] == '.');
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* macro-expand after a '%': "{" letter *DIGIT ["r"] *delimiter "}",
 * "%", "_" or "-". The letters c, r and t belong to explanation text only
 * (RFC 7208 7.3), never to a record. Returns the length consumed after
 * '%', 0 if bad. */
static apr_size_t macro_expand(const char *s)
{
    const char *q = s + 1;

    if (*s == '%' || *s == '_' || *s == '-') {
        return 1;
    }
    if (*s != '{' || !*q || !strchr("slodiphv", apr_tolower(*q))) {
        return 0;
    }
    for (q++; apr_isdigit(*q); q++) {
    }
    q += (apr_tolower(*q) == 'r');
    while (*q && strchr(".-+,/_=", *q)) {
        q++;
    }
    return *q == '}' ? (apr_size_t)(q - s) + 1 : 0;
}

/* macro-string: visible characters, '%' only as a macro-expand. Sets
 * *ends_macro when the string ends with a macro-expand. */
static int macro_string(const char *s, int *ends_macro)
{
    apr_size_t n;

    *ends_macro = 0;
    while (*s) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
            return 0;
        }
        if (*s != '%') {
            *ends_macro = 0;
            s++;
            continue;
        }
        if (!(n = macro_expand(s + 1))) {
            return 0;
        }
        s += n + 1;
        *ends_macro = 1;
    }
    return 1;
}

/* toplabel: alphanumerics and inner hyphens, not all digits. */
static int toplabel(const char *l, apr_size_t len)
{
    apr_size_t i;
    int alpha = 0;

    if (len == 0 || l[0] == '-' || l[len - 1] == '-') {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (!apr_isalnum(l[i]) && l[i] != '-') {
            return 0;
        }
        alpha |= !apr_isdigit(l[i]);
    }
    return alpha;
}

/* domain-spec = macro-string domain-end; domain-end = "." toplabel ["."]
 * or a macro-expand. */
static int domain_spec(const char *s)
{
    apr_size_t len = strlen(s);
    const char *dot;
    int macro;

    if (len == 0 || !macro_string(s, &macro)) {
        return 0;
    }
    if (macro) {
        return 1;
    }
    len -= (s[len - 1] == '.');
    dot = len ? memchr(s, '.', len) : NULL;
    if (!dot) {
        return 0;
    }
    for (dot = s + len - 1; *dot != '.'; dot--) {
    }
    return toplabel(dot + 1, (apr_size_t)(s + len - dot - 1));
}

static char *lower(char *s)
{
    char *c;

    for (c = s; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return s;
}

/* "/" 0-max without leading zeros */
static int cidr(const char *s, int max)
{
    int v = 0;

    if (*s++ != '/' || !apr_isdigit(*s) || (s[0] == '0' && s[1])) {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isdigit(*s) || (v = v * 10 + (*s - '0')) > max) {
            return 0;
        }
    }
    return 1;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ] */
static int dual_cidr(apr_pool_t *p, const char *s)
{
    const char *six = strstr(s, "//");

    if (*s == '\0') {
        return 1;
    }
    if (six) {
        return (six == s || cidr(apr_pstrmemdup(p, s, (apr_size_t)(six - s)),
                                 32)) && cidr(six + 1, 128);
    }
    return cidr(s, 32);
}

/* The '/' of a "/" 1*DIGIT ending at end (after s), or NULL. */
static const char *slash_digits(const char *s, const char *end)
{
    const char *d = end;

    while (d > s && apr_isdigit(d[-1])) {
        d--;
    }
    return d < end && d > s && d[-1] == '/' ? d - 1 : NULL;
}

/* Where the dual-cidr-length ending s begins ("/24", "//64", "/24//64"),
 * or NULL. A domain-spec may hold '/' ("foo:bar/baz.example.com") but
 * never ends in "/" DIGIT (its domain-end is a toplabel or a
 * macro-expand), so the split at the trailing lengths is the only one. */
static const char *cidr_suffix(const char *s)
{
    const char *c = slash_digits(s, s + strlen(s)), *c4;

    if (!c || c == s || c[-1] != '/') {
        return c;
    }
    c4 = slash_digits(s, c - 1);
    return c4 ? c4 : c - 1;
}

static int network(apr_pool_t *p, const char *arg, int six)
{
    const char *slash = arg ? strchr(arg, '/') : NULL;
    const char *addr = arg;
    unsigned char buf[16];

    if (!arg) {
        return 0;
    }
    if (slash) {
        addr = apr_pstrmemdup(p, arg, (apr_size_t)(slash - arg));
        if (!cidr(slash, six ? 128 : 32)) {
            return 0;
        }
    }
    return inet_pton(six ? AF_INET6 : AF_INET, addr, buf) == 1;
}

/* a / mx: [":" domain-spec] [dual-cidr-length] */
static int a_or_mx(apr_pool_t *p, term_t *t, const char *rest)
{
    const char *slash;

    if (*rest == '\0' || *rest == '/') {
        return dual_cidr(p, rest);
    }
    if (*rest != ':') {
        return 0;
    }
    rest++;
    slash = cidr_suffix(rest);
    t->arg = slash ? apr_pstrmemdup(p, rest, (apr_size_t)(slash - rest))
                   : rest;
    return domain_spec(t->arg) && dual_cidr(p, slash ? slash : "");
}

static int mechanism_args(apr_pool_t *p, term_t *t, const char *rest)
{
    const char *n = t->name;
    int colon = (*rest == ':');

    t->arg = colon ? rest + 1 : NULL;
    if (!strcmp(n, "all")) {
        return *rest == '\0';
    }
    if (!strcmp(n, "include") || !strcmp(n, "exists")) {
        return colon && domain_spec(t->arg);
    }
    if (!strcmp(n, "a") || !strcmp(n, "mx")) {
        return a_or_mx(p, t, rest);
    }
    if (!strcmp(n, "ptr")) {
        return *rest == '\0' || (colon && domain_spec(t->arg));
    }
    if (!strcmp(n, "ip4") || !strcmp(n, "ip6")) {
        return colon && network(p, t->arg, n[2] == '6');
    }
    return -1;                                  /* unknown mechanism */
}

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
static int modifier_name(const char *s, apr_size_t len)
{
    apr_size_t i;

    if (len == 0 || !apr_isalpha(s[0])) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if (!apr_isalnum(s[i]) && !strchr("-_.", s[i])) {
            return 0;
        }
    }
    return 1;
}

static const char *parse_modifier(apr_pool_t *p, term_t *t, const char *eq)
{
    int macro;

    t->modifier = 1;
    t->name = lower(apr_pstrmemdup(p, t->text, (apr_size_t)(eq - t->text)));
    t->arg = eq + 1;
    if (!strcmp(t->name, "redirect") || !strcmp(t->name, "exp")) {
        return domain_spec(t->arg) ? NULL
               : apr_psprintf(p, "'%s': not a valid domain", t->text);
    }
    return macro_string(t->arg, &macro) ? NULL
           : apr_psprintf(p, "'%s': invalid modifier value", t->text);
}

const char *ssd_spf_parse_term(apr_pool_t *p, const char *text, term_t *t)
{
    const char *eq = strchr(text, '='), *s = text, *end;
    int ok;

    memset(t, 0, sizeof(*t));
    t->text = text;
    if (eq && modifier_name(text, (apr_size_t)(eq - text))) {
        return parse_modifier(p, t, eq);
    }
    t->qual = strchr("+-~?", *s) ? *s++ : '+';
    for (end = s; apr_isalnum(*end); end++) {
    }
    t->name = lower(apr_pstrmemdup(p, s, (apr_size_t)(end - s)));
    ok = mechanism_args(p, t, end);
    if (ok < 0) {
        return apr_psprintf(p, "'%s' is not an SPF mechanism", text);
    }
    return ok ? NULL : apr_psprintf(p, "'%s' is not valid", text);
}

/* Terms after the version, separated by spaces only; redirect= and exp=
 * at most once each (§6). Returns NULL or the syntax error. */
const char *ssd_spf_parse(apr_pool_t *p, const char *rec,
                                apr_array_header_t **terms)
{
    char *copy = apr_pstrdup(p, rec + 6), *last, *w;
    const char *msg;
    term_t *t;
    int redirects = 0, exps = 0;

    *terms = apr_array_make(p, 8, sizeof(term_t));
    if (strlen(rec) > SSD_SPF_MAX_RECORD) {
        return apr_psprintf(p, "the record is %lu bytes long; at most %d "
                            "are accepted", (unsigned long)strlen(rec),
                            SSD_SPF_MAX_RECORD);
    }
    for (w = apr_strtok(copy, " ", &last); w; w = apr_strtok(NULL, " ", &last)) {
        if ((*terms)->nelts == SSD_SPF_MAX_TERMS) {
            return apr_psprintf(p, "the record has more than %d terms",
                                SSD_SPF_MAX_TERMS);
        }
        t = apr_array_push(*terms);
        if ((msg = ssd_spf_parse_term(p, w, t))) {
            return msg;
        }
        redirects += t->modifier && !strcmp(t->name, "redirect");
        exps += t->modifier && !strcmp(t->name, "exp");
    }
    if (redirects > 1 || exps > 1) {
        return redirects > 1 ? "redirect= appears more than once"
                             : "exp= appears more than once";
    }
    return NULL;
}


const char *ssd_spf_parse_txt(apr_pool_t *p, const char *data, apr_size_t len,
                              apr_array_header_t **terms)
{
    if (memchr(data, '\0', len)) {
        *terms = apr_array_make(p, 1, sizeof(term_t));
        return "the record holds a NUL byte";
    }
    return ssd_spf_parse(p, apr_pstrmemdup(p, data, len), terms);
}
