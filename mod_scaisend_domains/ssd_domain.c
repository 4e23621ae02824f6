/* ssd_domain: sender domain names and DMARC rua addresses. */
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <idn2.h>
#include <libpsl.h>

#include "ssd_domain.h"
#include "ssd_json.h"

#define SSD_DOMAIN_MAX      253
#define SSD_LABEL_MAX       63
#define SSD_SELECTOR_DIGITS 4           /* "scaisend" .. "scaisend9999" */
#define SSD_DKIM_INFIX      "._domainkey."
#define SSD_RUA_MAX         254
#define SSD_LOCAL_PART_MAX  64

#define MSG_IP_LITERAL "ip address literal is not a domain name"
#define MSG_RESERVED   "reserved name"
#define MSG_RUA_HOST   "domain part of the address is not a valid host name"

/* RFC 6761 / 6762 / 7686 / 3172 special-use names, refused with their
 * subdomains. */
static const char *const special_use_names[] = {
    "localhost", "local", "invalid", "onion", "arpa", NULL
};

typedef enum {
    HOST_OK,
    HOST_EMPTY_LABEL,
    HOST_LONG_LABEL,
    HOST_HYPHEN,
    HOST_BAD_CHAR,
    HOST_ONE_LABEL
} host_err_t;

static const char *const host_messages[] = {
    NULL,
    "empty label",
    "label longer than 63 characters",
    "label starts or ends with a hyphen",
    "invalid character",
    "domain needs at least two labels"
};

/* ---- Public Suffix List ---------------------------------------------- */

static psl_ctx_t *loaded_psl;   /* set by ssd_domain_init, read-only after */

static apr_status_t psl_cleanup(void *data)
{
    if (loaded_psl == data) {
        loaded_psl = NULL;
    }
    psl_free(data);
    return APR_SUCCESS;
}

apr_status_t ssd_domain_init(apr_pool_t *p)
{
    psl_ctx_t *psl = psl_latest(NULL);

    if (!psl) {
        return psl_builtin() ? APR_SUCCESS : APR_ENOENT;
    }
    apr_pool_cleanup_register(p, psl, psl_cleanup, apr_pool_cleanup_null);
    loaded_psl = psl;
    return APR_SUCCESS;
}

static const psl_ctx_t *psl_for(apr_pool_t *p)
{
    psl_ctx_t *psl;

    if (loaded_psl) {
        return loaded_psl;
    }
    if (psl_builtin()) {
        return psl_builtin();
    }
    psl = psl_latest(NULL);
    if (psl) {
        apr_pool_cleanup_register(p, psl, psl_cleanup, apr_pool_cleanup_null);
    }
    return psl;
}

/* ---- character and label rules ---------------------------------------- */

static int is_ascii_ldh(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-';
}

static int is_ascii_control(int c)
{
    return (c >= 0 && c < 0x20) || c == 0x7f;
}

static int is_all_digits(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return n > 0;
}

static const char *char_message(apr_pool_t *p, char c)
{
    if (c == '_') {
        return "underscore not allowed in a domain name";
    }
    if (c == ' ') {
        return "space not allowed in a domain name";
    }
    if (is_ascii_control((unsigned char)c)) {
        return "control character not allowed in a domain name";
    }
    return apr_psprintf(p, "invalid character '%c'", c);
}

static host_err_t scan_label(const char *label, apr_size_t n, char *bad)
{
    apr_size_t i;

    if (n == 0) {
        return HOST_EMPTY_LABEL;
    }
    for (i = 0; i < n; i++) {
        if (!is_ascii_ldh((unsigned char)label[i])) {
            *bad = label[i];
            return HOST_BAD_CHAR;
        }
    }
    if (n > SSD_LABEL_MAX) {
        return HOST_LONG_LABEL;
    }
    if (label[0] == '-' || label[n - 1] == '-') {
        return HOST_HYPHEN;
    }
    return HOST_OK;
}

/* LDH host name, labels 1-63, at least two labels. */
static host_err_t scan_host(const char *host, char *bad)
{
    int labels = 0;
    host_err_t e;

    for (;;) {
        apr_size_t n = strcspn(host, ".");

        if ((e = scan_label(host, n, bad)) != HOST_OK) {
            return e;
        }
        labels++;
        if (!host[n]) {
            break;
        }
        host += n + 1;
    }
    return labels < 2 ? HOST_ONE_LABEL : HOST_OK;
}

static const char *last_label(const char *host)
{
    const char *dot = strrchr(host, '.');

    return dot ? dot + 1 : host;
}

/* ---- normalisation steps --------------------------------------------- */

static const char *check_raw_input(const char *input)
{
    const unsigned char *s = (const unsigned char *)input;

    if (!input || !*input) {
        return "domain name is empty";
    }
    if (!strcmp(input, ".")) {
        return "domain name is only a dot";
    }
    if (ssd_utf8_valid_len(input, strlen(input)) != strlen(input)) {
        return "not valid UTF-8";
    }
    for (; *s; s++) {
        if (*s == ' ') {
            return "space not allowed in a domain name";
        }
        if (is_ascii_control(*s)) {
            return "control character not allowed in a domain name";
        }
    }
    return NULL;
}

/* Copy, drop one trailing dot, lower-case the ASCII letters. */
static char *fold_input(apr_pool_t *p, const char *input)
{
    char *name = apr_pstrdup(p, input);
    apr_size_t len = strlen(name);
    char *c;

    if (len > 0 && name[len - 1] == '.') {
        name[len - 1] = '\0';
    }
    for (c = name; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    return name;
}

static int parses_as_ip(const char *s)
{
    struct in6_addr a6;
    struct in_addr a4;

    return inet_pton(AF_INET6, s, &a6) == 1 || inet_aton(s, &a4) != 0;
}

static const char *check_ip_literal(apr_pool_t *p, const char *name)
{
    apr_size_t len = strlen(name);

    if (len > 2 && name[0] == '[' && name[len - 1] == ']'
        && parses_as_ip(apr_pstrmemdup(p, name + 1, len - 2))) {
        return MSG_IP_LITERAL;
    }
    return parses_as_ip(name) ? MSG_IP_LITERAL : NULL;
}

static const char *check_empty_labels(const char *name)
{
    if (name[0] == '.' || strstr(name, "..")) {
        return "empty label";
    }
    return NULL;
}

static int is_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s >= 0x80) {
            return 0;
        }
    }
    return 1;
}

static int has_a_label(const char *name)
{
    const char *s = name;

    for (;;) {
        if (!strncmp(s, "xn--", 4)) {
            return 1;
        }
        if (!(s = strchr(s, '.'))) {
            return 0;
        }
        s++;
    }
}

static const char *idn2_message(apr_pool_t *p, int rc)
{
    /* libidn2 encodes a label into 63 bytes: BIG_OUTPUT means longer */
    if (rc == IDN2_TOO_BIG_LABEL || rc == IDN2_PUNYCODE_BIG_OUTPUT) {
        return host_messages[HOST_LONG_LABEL];
    }
    if (rc == IDN2_TOO_BIG_DOMAIN) {
        return "domain longer than 253 characters";
    }
    return apr_pstrcat(p, "invalid internationalized domain name: ",
                       idn2_strerror(rc), NULL);
}

static const char *to_a_labels(apr_pool_t *p, const char *name,
                               const char **ascii)
{
    char *res = NULL;
    int rc;

    if (is_ascii(name) && !has_a_label(name)) {
        *ascii = name;
        return NULL;
    }
    /* IDNA 2008 with UTS #46 mapping (case folding, NFC, full-width
     * forms), non-transitional: no fallback to transitional processing,
     * which would let IDNA 2003-only names such as U+2603 through. */
    rc = idn2_to_ascii_8z(name, &res, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (rc != IDN2_OK) {
        return idn2_message(p, rc);
    }
    *ascii = fold_input(p, res);
    idn2_free(res);
    return NULL;
}

/* An A-label is valid only when its U-label encodes back to it under the
 * same IDNA 2008 rules (RFC 5891 section 5.4): the punycode of a
 * character IDNA forbids decodes, but does not encode again. */
static int round_trips(const char *unicode, const char *ascii)
{
    char *back = NULL;
    int same = idn2_to_ascii_8z(unicode, &back, IDN2_NONTRANSITIONAL
                                                | IDN2_NFC_INPUT) == IDN2_OK
               && strcasecmp(back, ascii) == 0;

    idn2_free(back);
    return same;
}

static const char *to_u_labels(apr_pool_t *p, const char *ascii,
                               const char **unicode)
{
    char *res = NULL;
    int rc;

    *unicode = NULL;
    if (!has_a_label(ascii)) {
        return NULL;
    }
    if ((rc = idn2_to_unicode_8z8z(ascii, &res, 0)) != IDN2_OK) {
        return idn2_message(p, rc);
    }
    if (!round_trips(res, ascii)) {
        idn2_free(res);
        return "invalid internationalized domain name: an xn-- label does "
               "not decode to characters IDNA 2008 allows (RFC 5891 5.4)";
    }
    if (strcmp(res, ascii)) {
        *unicode = apr_pstrdup(p, res);
    }
    idn2_free(res);
    return NULL;
}

static apr_size_t max_domain_len(const char *selector_base)
{
    apr_size_t overhead;

    if (!selector_base) {
        return SSD_DOMAIN_MAX;
    }
    overhead = strlen(selector_base) + SSD_SELECTOR_DIGITS
               + strlen(SSD_DKIM_INFIX);
    return overhead < SSD_DOMAIN_MAX ? SSD_DOMAIN_MAX - overhead : 0;
}

static const char *check_syntax(apr_pool_t *p, const char *ascii,
                                const char *selector_base)
{
    apr_size_t len = strlen(ascii), max = max_domain_len(selector_base);
    char bad = 0;
    host_err_t e;

    if (len > SSD_DOMAIN_MAX) {
        return "domain longer than 253 characters";
    }
    if (len > max) {
        return apr_psprintf(p, "domain longer than %" APR_SIZE_T_FMT
                            " characters, too long for its DKIM record name",
                            max);
    }
    if ((e = scan_host(ascii, &bad)) == HOST_BAD_CHAR) {
        return char_message(p, bad);
    }
    return host_messages[e];
}

static int is_within_any(const char *name, const char *const *list)
{
    for (; list && *list; list++) {
        if (ssd_domain_is_within(name, *list)) {
            return 1;
        }
    }
    return 0;
}

static const char *check_reserved(const char *ascii,
                                  const char *const *reserved)
{
    if (is_within_any(ascii, special_use_names)
        || is_within_any(ascii, reserved)) {
        return MSG_RESERVED;
    }
    return NULL;
}

static const char *check_public_suffix(apr_pool_t *p, const char *ascii)
{
    const psl_ctx_t *psl;
    const char *tld = last_label(ascii);

    if (is_all_digits(tld, strlen(tld))) {
        return "top-level label cannot be all digits";
    }
    if (!(psl = psl_for(p))) {
        return "public suffix list unavailable";
    }
    if (psl_is_public_suffix2(psl, ascii, PSL_TYPE_ANY)) {
        return apr_psprintf(p, "'%s' is a public suffix", ascii);
    }
    return NULL;
}

const char *ssd_domain_normalise(apr_pool_t *p, const char *input,
                                 const char *selector_base,
                                 const char *const *reserved,
                                 ssd_domain_name_t *out)
{
    const char *msg, *ascii = NULL, *unicode = NULL;
    char *name;

    if ((msg = check_raw_input(input))) {
        return msg;
    }
    name = fold_input(p, input);
    if ((msg = check_ip_literal(p, name)) || (msg = check_empty_labels(name))
        || (msg = to_a_labels(p, name, &ascii))
        || (msg = check_reserved(ascii, reserved))
        || (msg = check_syntax(p, ascii, selector_base))
        || (msg = to_u_labels(p, ascii, &unicode))
        || (msg = check_public_suffix(p, ascii))) {
        return msg;
    }
    out->domain = ascii;
    out->domain_unicode = unicode;
    return NULL;
}

int ssd_domain_is_within(const char *name, const char *domain)
{
    apr_size_t n, d;

    if (!name || !domain || !*domain) {
        return 0;
    }
    n = strlen(name);
    d = strlen(domain);
    if (n < d || strcasecmp(name + n - d, domain)) {
        return 0;
    }
    return n == d || name[n - d - 1] == '.';
}

/* ---- DMARC rua address ----------------------------------------------- */

static const struct {
    char c;
    const char *msg;
} rua_refused[] = {
    { ';', "invalid character ';' in address" },
    { ',', "invalid character ',' in address" },
    { '!', "invalid character '!' in address" },
    { '"', "invalid character '\"' in address" },
    { '<', "invalid character '<' in address" },
    { '>', "invalid character '>' in address" },
    { '(', "invalid character '(' in address" },
    { ')', "invalid character ')' in address" },
    { '[', "invalid character '[' in address" },
    { ']', "invalid character ']' in address" },
    { ':', "invalid character ':' in address" },
    { '\\', "invalid character '\\' in address" },
    { 0, NULL }
};

static const char *rua_char_message(unsigned char c)
{
    int i;

    if (c >= 0x80) {
        return "non-ASCII character in address";
    }
    if (is_ascii_control(c)) {
        return "control character in address";
    }
    if (c == ' ') {
        return "space in address";
    }
    for (i = 0; rua_refused[i].c; i++) {
        if (rua_refused[i].c == (char)c) {
            return rua_refused[i].msg;
        }
    }
    return NULL;
}

static const char *rua_check_chars(const char *addr)
{
    const char *msg;

    for (; *addr; addr++) {
        if ((msg = rua_char_message((unsigned char)*addr))) {
            return msg;
        }
    }
    return NULL;
}

static const char *rua_check_local(const char *local, apr_size_t n)
{
    apr_size_t i;

    if (n == 0) {
        return "empty local part";
    }
    if (n > SSD_LOCAL_PART_MAX) {
        return "local part longer than 64 characters";
    }
    if (local[0] == '.' || local[n - 1] == '.') {
        return "local part starts or ends with a dot";
    }
    for (i = 1; i < n; i++) {
        if (local[i] == '.' && local[i - 1] == '.') {
            return "two consecutive dots in local part";
        }
    }
    return NULL;
}

static const char *rua_check_host(const char *host)
{
    const char *tld = last_label(host);
    char bad;

    if (strlen(host) > SSD_DOMAIN_MAX || scan_host(host, &bad) != HOST_OK
        || is_all_digits(tld, strlen(tld))) {
        return MSG_RUA_HOST;
    }
    return NULL;
}

const char *ssd_rua_validate(const char *addr)
{
    const char *at, *msg;

    if (!addr || !*addr) {
        return "address is empty";
    }
    if (strlen(addr) > SSD_RUA_MAX) {
        return "address longer than 254 characters";
    }
    if ((msg = rua_check_chars(addr))) {
        return msg;
    }
    at = strchr(addr, '@');
    if (!at || strchr(at + 1, '@')) {
        return "address needs exactly one '@'";
    }
    if ((msg = rua_check_local(addr, (apr_size_t)(at - addr)))) {
        return msg;
    }
    return rua_check_host(at + 1);
}

const char *ssd_domain_registrable(apr_pool_t *p, const char *name)
{
    const psl_ctx_t *psl = psl_for(p);
    char *lower, *c;
    apr_size_t len;

    if (!psl || !name) {
        return NULL;
    }
    lower = apr_pstrdup(p, name);
    for (c = lower; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    len = strlen(lower);
    if (len > 1 && lower[len - 1] == '.') {
        lower[len - 1] = '\0';
    }
    return psl_registrable_domain(psl, lower);
}

/* One label of a host name: 1-63 of [A-Za-z0-9_-], no hyphen at an end. */
static int host_label_ok(const char *l, apr_size_t n)
{
    apr_size_t i;

    if (n == 0 || n > 63 || l[0] == '-' || l[n - 1] == '-') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isalnum(l[i]) && l[i] != '-' && l[i] != '_') {
            return 0;
        }
    }
    return 1;
}

const char *ssd_host_normalise(apr_pool_t *p, const char *input,
                               const char **out)
{
    char *h = apr_pstrdup(p, input), *dot, *label;
    apr_size_t len = strlen(h);
    int labels = 0;

    if (len > 1 && h[len - 1] == '.') {
        h[--len] = '\0';
    }
    if (len == 0 || len > 253) {
        return "a host name is 1 to 253 characters long";
    }
    for (label = h; *label; label++) {
        *label = (char)apr_tolower(*label);
    }
    for (label = h; label; label = dot ? dot + 1 : NULL, labels++) {
        dot = strchr(label, '.');
        if (!host_label_ok(label, dot ? (apr_size_t)(dot - label)
                                      : strlen(label))) {
            return "a host name has labels of 1-63 letters, digits, hyphens "
                   "or underscores (A-labels for international names), no "
                   "hyphen at either end";
        }
    }
    if (labels < 2) {
        return "a host name has at least two labels";
    }
    *out = h;
    return NULL;
}
