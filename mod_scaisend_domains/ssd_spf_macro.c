/* ssd_spf_macro: addresses and macro expansion for check_host()
 * (RFC 7208 sections 5.6 and 7). */
#include "ssd_spf_eval.h"
#include "ssd_text.h"

#include <string.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>

#define MAX_NAME 253
#define MAX_LABEL 63
#define MAX_PARTS 1000000L      /* a DIGIT transformer is capped here */

/* ---- addresses ---- */

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                            0xff, 0xff};

int ssd_ip_parse(const char *text, ssd_ip_t *ip)
{
    memset(ip, 0, sizeof(*ip));
    if (!text) {
        return 0;
    }
    if (inet_pton(AF_INET, text, ip->addr) == 1) {
        ip->family = 4;
        return 1;
    }
    if (inet_pton(AF_INET6, text, ip->addr) != 1) {
        return 0;
    }
    ip->family = 6;
    if (memcmp(ip->addr, v4_mapped, sizeof(v4_mapped)) == 0) {
        memmove(ip->addr, ip->addr + 12, 4);
        memset(ip->addr + 4, 0, 12);
        ip->family = 4;
    }
    return 1;
}

int ssd_ip_in(const ssd_ip_t *ip, const ssd_ip_t *net, int bits)
{
    int max = ip->family == 4 ? 32 : 128, whole;
    unsigned char mask;

    if (ip->family != net->family) {
        return 0;
    }
    bits = bits < 0 ? 0 : bits > max ? max : bits;
    whole = bits / 8;
    if (memcmp(ip->addr, net->addr, (size_t)whole) != 0) {
        return 0;
    }
    if (bits % 8 == 0) {
        return 1;
    }
    mask = (unsigned char)(0xff << (8 - bits % 8));
    return (ip->addr[whole] & mask) == (net->addr[whole] & mask);
}

const char *ssd_ip_text(apr_pool_t *p, const ssd_ip_t *ip)
{
    char buf[INET6_ADDRSTRLEN];

    if (!inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->addr, buf,
                   sizeof(buf))) {
        return "?";
    }
    return apr_pstrdup(p, buf);
}

/* %{i} of an IPv6 address: its 32 nibbles, dot-separated (7.3). */
static const char *nibbles(apr_pool_t *p, const ssd_ip_t *ip, int reverse)
{
    static const char hex[] = "0123456789abcdef";
    char *out = apr_palloc(p, 64), *o = out;
    int i, n;

    for (i = 0; i < 32; i++) {
        n = reverse ? 31 - i : i;
        *o++ = hex[(ip->addr[n / 2] >> (n % 2 ? 0 : 4)) & 0xf];
        *o++ = '.';
    }
    o[-1] = '\0';
    return out;
}

const char *ssd_ip_reverse(apr_pool_t *p, const ssd_ip_t *ip)
{
    const unsigned char *a = ip->addr;

    if (ip->family == 4) {
        return apr_psprintf(p, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1],
                            a[0]);
    }
    return apr_pstrcat(p, nibbles(p, ip, 1), ".ip6.arpa", NULL);
}

const char *ssd_spf_macro_i(apr_pool_t *p, const ssd_ip_t *ip)
{
    return ip->family == 4 ? ssd_ip_text(p, ip) : nibbles(p, ip, 0);
}

/* ---- names ---- */

int ssd_spf_dns_name_ok(const char *name, int multi)
{
    apr_size_t len = name ? strlen(name) : 0, label = 0, i;
    int dots = 0;

    len -= len > 1 && name[len - 1] == '.';
    if (len == 0 || len > MAX_NAME) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (name[i] != '.') {
            if (++label > MAX_LABEL) {
                return 0;
            }
            continue;
        }
        if (label == 0) {
            return 0;
        }
        label = 0;
        dots++;
    }
    return label > 0 && (!multi || dots > 0);
}

/* ---- macros ---- */

typedef struct {
    char letter;            /* lower case */
    int upper;
    long parts;             /* 0: all */
    int reverse;
    const char *delims;     /* NULL: no transformer at all */
} macro_t;

/* Parse "{" letter *DIGIT ["r"] *delimiter "}" at s (after '%'); the
 * length consumed, 0 if bad. */
static apr_size_t parse_macro(apr_pool_t *p, const char *s, macro_t *m)
{
    const char *q = s + 1, *d;

    memset(m, 0, sizeof(*m));
    if (*s != '{' || !apr_isalpha(*q)) {
        return 0;
    }
    m->letter = (char)apr_tolower(*q);
    m->upper = apr_isupper(*q);
    for (q++; apr_isdigit(*q); q++) {
        m->parts = m->parts < MAX_PARTS ? m->parts * 10 + (*q - '0') : m->parts;
    }
    if (apr_tolower(*q) == 'r') {
        m->reverse = 1;
        q++;
    }
    for (d = q; *q && strchr(".-+,/_=", *q); q++) {
    }
    if (*q != '}') {
        return 0;
    }
    if (m->parts || m->reverse || q > d) {
        m->delims = q > d ? apr_pstrmemdup(p, d, (apr_size_t)(q - d)) : ".";
    }
    return (apr_size_t)(q - s) + 1;
}

static const char *letter_value(const ssd_spf_macros_t *v, char letter,
                                int exp)
{
    switch (letter) {
    case 's': return v->s;
    case 'l': return v->l;
    case 'o': return v->o;
    case 'd': return v->d;
    case 'i': return v->i;
    case 'p': return v->p;
    case 'v': return v->v;
    case 'h': return v->h;
    case 'c': return exp ? v->c : NULL;
    case 'r': return exp ? v->r : NULL;
    case 't': return exp ? v->t : NULL;
    default: return NULL;
    }
}

/* Split on delims, reverse, keep the rightmost parts, join with "." */
static void transform(apr_pool_t *p, ssd_buf_t *b, const char *value,
                      const macro_t *m)
{
    apr_array_header_t *parts = apr_array_make(p, 8, sizeof(const char *));
    const char *s = value, *e;
    int i, n, first;

    for (;;) {
        for (e = s; *e && !strchr(m->delims, *e); e++) {
        }
        APR_ARRAY_PUSH(parts, const char *) =
            apr_pstrmemdup(p, s, (apr_size_t)(e - s));
        if (!*e) {
            break;
        }
        s = e + 1;
    }
    n = parts->nelts;
    first = m->parts && m->parts < n ? n - (int)m->parts : 0;
    for (i = first; i < n; i++) {
        if (i > first) {
            ssd_buf_addc(b, '.');
        }
        ssd_buf_adds(b, APR_ARRAY_IDX(parts, m->reverse ? n - 1 - i : i,
                                      const char *));
    }
}

/* Uppercase macros are URL-escaped (7.3): all but the unreserved. */
static void url_escape(ssd_buf_t *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (apr_isalnum(c) || strchr("-._~", c)) {
            ssd_buf_addc(b, (char)c);
        }
        else {
            ssd_buf_addf(b, "%%%02X", c);
        }
    }
}

static int expand_macro(apr_pool_t *p, ssd_buf_t *b, const macro_t *m,
                        const ssd_spf_macros_t *v, int exp)
{
    const char *value;
    ssd_buf_t t;

    if (!strchr(exp ? "slodiphvcrt" : "slodiphv", m->letter)) {
        return 0;
    }
    value = letter_value(v, m->letter, exp);
    if (!value) {
        return 1;
    }
    if (m->delims) {
        ssd_buf_init(&t, p, strlen(value) + 8, 0);
        transform(p, &t, value, m);
        value = ssd_buf_str(&t);
    }
    if (m->upper) {
        url_escape(b, value);
    }
    else {
        ssd_buf_adds(b, value);
    }
    return 1;
}

/* 7.3: past 253 bytes, labels go from the left. */
static const char *fit_name(const char *s)
{
    apr_size_t len = strlen(s);
    const char *dot;

    if (len > 1 && s[len - 1] == '.') {
        len--;
    }
    while (len > MAX_NAME && (dot = memchr(s, '.', len)) != NULL) {
        len -= (apr_size_t)(dot + 1 - s);
        s = dot + 1;
    }
    return s;
}

const char *ssd_spf_expand(apr_pool_t *p, const ssd_spf_macros_t *m,
                           const char *spec, int exp)
{
    ssd_buf_t b;
    macro_t mac;
    apr_size_t n;
    const char *s;
    apr_size_t len;

    ssd_buf_init(&b, p, strlen(spec) + 32, 0);
    for (s = spec; *s; s++) {
        if (exp && ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)) {
            return NULL;
        }
        if (*s != '%') {
            ssd_buf_addc(&b, *s);
        }
        else if (s[1] == '%' || s[1] == '_' || s[1] == '-') {
            ssd_buf_adds(&b, s[1] == '%' ? "%" : s[1] == '_' ? " " : "%20");
            s++;
        }
        else if ((n = parse_macro(p, s + 1, &mac)) == 0
                 || !expand_macro(p, &b, &mac, m, exp)) {
            return NULL;
        }
        else {
            s += n;
        }
    }
    if (exp) {
        return ssd_buf_str(&b);
    }
    s = fit_name(ssd_buf_str(&b));
    len = strlen(s);
    return apr_pstrmemdup(p, s, len - (len > 0 && s[len - 1] == '.'));
}

int ssd_spf_macro_uses(const char *spec, const char *letters)
{
    const char *s;

    for (s = spec ? strchr(spec, '%') : NULL; s; s = strchr(s + 1, '%')) {
        if (s[1] == '%') {
            s++;
            continue;
        }
        if (s[1] == '{' && s[2] && strchr(letters, apr_tolower(s[2]))) {
            return 1;
        }
    }
    return 0;
}

const char *ssd_spf_macro_letters(apr_pool_t *p, const char *spec,
                                  const char *letters)
{
    char *out = apr_pcalloc(p, strlen(letters) + 1), *o = out;
    char one[2] = {0, 0};

    for (; *letters; letters++) {
        one[0] = *letters;
        if (ssd_spf_macro_uses(spec, one)) {
            *o++ = *letters;
        }
    }
    return out;
}
