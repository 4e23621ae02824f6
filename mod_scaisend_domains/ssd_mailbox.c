/* ssd_mailbox: a strict reading of RFC 5322 section 3.4 for one mailbox.
 * Comments ("(...)", nested, with quoted-pairs) are removed first, outside
 * quoted strings; then the value is either an addr-spec or a phrase
 * followed by an angle-addr. Obsolete forms (routes, a domain literal) are
 * refused: the domain must be a name to look up (one final dot allowed). */
#include "ssd_mailbox.h"

#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>

static int is_wsp(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* atext (RFC 5322 3.2.3) */
static int is_atext(char c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* The value without comments; NULL when a comment or a quoted string is
 * not closed. Quoted strings are kept as written. */
static char *strip_comments(apr_pool_t *p, const char *v)
{
    char *out = apr_palloc(p, strlen(v) + 1), *o = out;
    int depth = 0, quoted = 0;

    for (; *v; v++) {
        if (*v == '\\' && (quoted || depth)) {
            if (!v[1]) return NULL;
            if (!depth) { *o++ = v[0]; *o++ = v[1]; }
            v++;
        }
        else if (!quoted && *v == '(') depth++;
        else if (!quoted && depth && *v == ')') depth--;
        else if (depth) continue;
        else if (!quoted && *v == ')') return NULL;
        else {
            quoted ^= *v == '"';
            *o++ = is_wsp(*v) ? ' ' : *v;
        }
    }
    *o = '\0';
    return depth || quoted ? NULL : out;
}

/* A quoted string at s: its end (after the closing quote), or NULL. */
static const char *quoted_end(const char *s)
{
    for (s++; *s && *s != '"'; s++) {
        if (*s == '\\' && s[1]) s++;
    }
    return *s == '"' ? s + 1 : NULL;
}

/* dot-atom over [s, e): atext runs separated by single dots */
static int dot_atom(const char *s, const char *e)
{
    int need = 1;

    if (s == e) return 0;
    for (; s < e; s++) {
        if (*s == '.') {
            if (need) return 0;
            need = 1;
        }
        else if (is_atext(*s)) need = 0;
        else return 0;
    }
    return !need;
}

/* addr-spec over [s, e), no surrounding white space. */
static const char *addr_spec(apr_pool_t *p, const char *s, const char *e,
                             const char **addr, const char **domain)
{
    const char *at, *lp_end;

    if (s < e && *s == '"') {
        lp_end = quoted_end(s);
        if (!lp_end || lp_end > e) return "the local part's quotes do not close";
    }
    else {
        for (lp_end = s; lp_end < e && *lp_end != '@'; lp_end++) {
        }
        if (!dot_atom(s, lp_end)) return "the local part is not valid";
    }
    at = lp_end;
    if (at >= e || *at != '@') return "the address has no @";
    /* one final dot is a fully qualified name, as in DNS */
    if (!dot_atom(at + 1, e - (e > at + 2 && e[-1] == '.'))
        || memchr(at + 1, '@', (apr_size_t)(e - at - 1)))
        return "the domain of the address is not a name";
    *addr = apr_pstrmemdup(p, s, (apr_size_t)(e - s));
    *domain = apr_pstrmemdup(p, at + 1, (apr_size_t)(e - at - 1));
    return NULL;
}

/* phrase over [s, e): words (atoms, with obsolete dots, or quoted
 * strings) separated by white space; may be empty. */
static int phrase(const char *s, const char *e)
{
    while (s < e) {
        if (*s == ' ') s++;
        else if (*s == '"') {
            if (!(s = quoted_end(s)) || s > e) return 0;
        }
        else if (is_atext(*s) || *s == '.') s++;
        else return 0;
    }
    return 1;
}

static const char *trim_end(const char *s, const char *e)
{
    while (e > s && e[-1] == ' ') e--;
    return e;
}

/* The first unquoted c in s, or NULL. */
static const char *unquoted(const char *s, char c)
{
    while (*s && *s != c) {
        if (*s == '"') {
            if (!(s = quoted_end(s))) return NULL;
        }
        else s++;
    }
    return *s ? s : NULL;
}

const char *ssd_mailbox_parse(apr_pool_t *p, const char *value,
                              const char **addr, const char **domain)
{
    char *v = strip_comments(p, value);
    const char *s, *e, *lt, *gt;

    if (!v) return "a comment or quoted string is not closed";
    s = v + strspn(v, " ");
    e = trim_end(s, s + strlen(s));
    if (s == e) return "no address";
    lt = unquoted(s, '<');
    if (!lt) return addr_spec(p, s, e, addr, domain);
    gt = unquoted(lt, '>');
    if (!gt || gt != e - 1) return "text after the address, or no closing '>'";
    if (!phrase(s, lt)) return "more than one mailbox, or a display name "
                               "that is not a phrase";
    for (s = lt + 1; *s == ' '; s++) {
    }
    return addr_spec(p, s, trim_end(s, gt), addr, domain);
}
