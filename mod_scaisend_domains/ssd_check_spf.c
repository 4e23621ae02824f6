/* ssd_check_spf: does the domain's SPF record authorise ScaiSend
 * (RFC 7208)?
 *
 * Exactly one record whose version token is "v=spf1" (case-insensitive,
 * followed by a space or the end: v=spf10 is not SPF) may be at the domain.
 * Its terms are parsed strictly (§4.6.1, §5, §6; a syntax error anywhere in
 * a record that is evaluated fails) and walked in order, as a receiver
 * evaluating mail from ScaiSend's servers would: include:<configured>
 * with the pass qualifier, met before any all, passes; so does an include
 * of another domain (pass qualifier) whose record reaches it, and a
 * redirect= (ignored when the record has an all) whose target reaches it.
 *
 * Limits (§4.6.4): include, a, mx, ptr, exists and redirect count against
 * 10 DNS-querying terms. The checks do not resolve a, mx, ptr or exists
 * (they cannot lead to the include): they are counted, never looked up,
 * so a void lookup is counted only for include/redirect targets that give
 * NXDOMAIN or no TXT at all (limit 2). A receiver already fails such an
 * include (§5.2: "none" -> permerror); we report each one and go on, so
 * the user sees them all, and stop at the third. The configured include
 * itself is counted but its own record is not walked. A loop of includes
 * is reported as soon as it is seen (a receiver would hit the limit). */
#include "ssd_check.h"

#include <string.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>

#define CHECK "spf"
#define MAX_TERMS 10
#define MAX_VOIDS 2

typedef enum { R_NO, R_FOUND, R_STOP } reach_e;

typedef struct {
    char qual;              /* + - ~ ? (modifiers: 0) */
    const char *name;       /* lower case: all include a mx ptr ip4 ip6
                               exists, or a modifier name */
    const char *arg;        /* domain-spec / network / modifier value */
    const char *text;       /* the term as written */
    int modifier;
} term_t;

typedef struct {
    apr_pool_t *p;
    ssd_txt_fetch_fn fetch;
    void *baton;
    ssd_check_result_t *out;
    const char *domain;
    const char *include;
    const char *record;             /* the top-level record (text) */
    int terms;                      /* DNS-querying terms so far */
    int voids;
    apr_array_header_t *stack;      /* domains being evaluated */
    const char *note;               /* include met without pass, why */
} spf_t;

/* ---- syntax ---- */

static int is_spf(const char *s, apr_size_t len)
{
    return len >= 6 && strncasecmp(s, "v=spf1", 6) == 0
           && (len == 6 || s[6] == ' ');
}

static int same_name(const char *a, const char *b)
{
    apr_size_t la = strlen(a), lb = strlen(b);

    la -= (la > 1 && a[la - 1] == '.');
    lb -= (lb > 1 && b[lb - 1] == '.');
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* macro-expand after a '%': "{" letter *DIGIT ["r"] *delimiter "}",
 * "%", "_" or "-". Returns the length consumed after '%', 0 if bad. */
static apr_size_t macro_expand(const char *s)
{
    const char *q = s + 1;

    if (*s == '%' || *s == '_' || *s == '-') {
        return 1;
    }
    if (*s != '{' || !*q || !strchr("slodiphcrtv", apr_tolower(*q))) {
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

/* The first '/' outside a %{...} macro, or NULL. */
static const char *cidr_start(const char *s)
{
    int in_macro = 0;

    for (; *s; s++) {
        if (*s == '{' && s[-1] == '%') {
            in_macro = 1;
        }
        else if (*s == '}') {
            in_macro = 0;
        }
        else if (*s == '/' && !in_macro) {
            return s;
        }
    }
    return NULL;
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
    slash = cidr_start(rest);
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

static const char *parse_term(apr_pool_t *p, const char *text, term_t *t)
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
static const char *parse_record(apr_pool_t *p, const char *rec,
                                apr_array_header_t **terms)
{
    char *copy = apr_pstrdup(p, rec + 6), *last, *w;
    const char *msg;
    term_t *t;
    int redirects = 0, exps = 0;

    *terms = apr_array_make(p, 8, sizeof(term_t));
    for (w = apr_strtok(copy, " ", &last); w; w = apr_strtok(NULL, " ", &last)) {
        t = apr_array_push(*terms);
        if ((msg = parse_term(p, w, t))) {
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

/* ---- expected records ---- */

static int is_our_include(const spf_t *s, const term_t *t)
{
    return !t->modifier && !strcmp(t->name, "include") && t->arg
           && same_name(t->arg, s->include);
}

/* rec with include:<ours> right after v=spf1 (any other include:<ours>
 * term, whatever its qualifier or place, removed). */
static const char *with_include(const spf_t *s, const char *rec)
{
    apr_array_header_t *terms;
    const char *out = apr_pstrcat(s->p, "v=spf1 include:", s->include, NULL);
    const term_t *t;
    int i;

    if (parse_record(s->p, rec, &terms)) {
        return apr_pstrcat(s->p, out, rec + 6, NULL);
    }
    t = (const term_t *)terms->elts;
    for (i = 0; i < terms->nelts; i++) {
        if (!is_our_include(s, &t[i])) {
            out = apr_pstrcat(s->p, out, " ", t[i].text, NULL);
        }
    }
    return out;
}

static const char *default_record(const spf_t *s)
{
    return apr_pstrcat(s->p, "v=spf1 include:", s->include, " ~all", NULL);
}

/* ---- findings ---- */

static ssd_finding_t *fail(spf_t *s, const char *code, const char *host,
                           const char *msg)
{
    return ssd_check_error(s->p, s->out, CHECK, code, host, msg);
}

/* A finding about the top-level record: found, and the record to publish. */
static ssd_finding_t *fail_top(spf_t *s, const char *code, const char *msg)
{
    ssd_finding_t *f = fail(s, code, s->domain, msg);

    if (s->record) {
        f->expected = with_include(s, s->record);
        f->found = ssd_check_escape(s->p, s->record, strlen(s->record));
    }
    return f;
}

/* One more DNS-querying term; 0 (and the error) past the limit. */
static int count_term(spf_t *s, const char *host)
{
    if (++s->terms <= MAX_TERMS) {
        return 1;
    }
    fail_top(s, "too_many_lookups", apr_psprintf(s->p,
         "evaluating the SPF record of %s needs more than %d DNS lookups "
         "(include, a, mx, ptr, exists, redirect; the limit was passed in "
         "the record of %s) before include:%s is reached, so receivers fail "
         "SPF with a permanent error: put include:%s first, or remove or "
         "flatten other includes, e.g. publish: %s", s->domain, MAX_TERMS,
         host, s->include, s->include, with_include(s, s->record)));
    return 0;
}

static int on_stack(const spf_t *s, const char *name)
{
    int i;

    for (i = 0; i < s->stack->nelts; i++) {
        if (same_name(APR_ARRAY_IDX(s->stack, i, const char *), name)) {
            return 1;
        }
    }
    return 0;
}

static const char *chain(const spf_t *s, const char *last)
{
    const char *c = "";
    int i;

    for (i = 0; i < s->stack->nelts; i++) {
        c = apr_pstrcat(s->p, c, APR_ARRAY_IDX(s->stack, i, const char *),
                        " -> ", NULL);
    }
    return apr_pstrcat(s->p, c, last, NULL);
}

/* The SPF records among the TXT records; *first set to the first one. */
static int spf_records(const ssd_txt_answer_t *a, const ssd_txt_t **first)
{
    const ssd_txt_t *t;
    int i, n = 0;

    *first = NULL;
    if (a->rc != SSD_DNS_OK || !a->txts) {
        return 0;
    }
    t = (const ssd_txt_t *)a->txts->elts;
    for (i = 0; i < a->txts->nelts; i++) {
        if (is_spf(t[i].data, t[i].len) && !memchr(t[i].data, 0, t[i].len)) {
            *first = *first ? *first : &t[i];
            n++;
        }
    }
    return n;
}

/* A name without an SPF record as an include/redirect target. */
static reach_e no_spf_at(spf_t *s, const char *from, const char *kind,
                         const char *target, ssd_dns_rc rc)
{
    int is_void = (rc == SSD_DNS_NXDOMAIN || rc == SSD_DNS_NODATA
                   || rc == SSD_DNS_OK);

    if (rc != SSD_DNS_OK && is_void && ++s->voids > MAX_VOIDS) {
        fail(s, "too_many_void_lookups", target, apr_psprintf(s->p,
             "more than %d include/redirect targets in the SPF record of %s "
             "do not exist or have no TXT record (the last: %s), and "
             "receivers fail SPF with a permanent error: remove those terms",
             MAX_VOIDS, s->domain, target));
        return R_STOP;
    }
    fail(s, "malformed", target, apr_psprintf(s->p, "%s%s in the SPF record "
         "of %s points at a name with no SPF record (%s), which receivers "
         "treat as a permanent error: remove that term, or publish an SPF "
         "record at %s", kind, target, from,
         rc == SSD_DNS_OK ? "no v=spf1 TXT" : ssd_dns_rc_name(rc), target));
    return R_NO;
}

static reach_e walk(spf_t *s, const char *host,
                    const apr_array_header_t *terms, int top);

/* Evaluate the record at target (an include or redirect target). */
static reach_e follow(spf_t *s, const char *from, const char *kind,
                      const char *target)
{
    ssd_txt_answer_t ans;
    const ssd_txt_t *rec;
    apr_array_header_t *terms;
    const char *msg;
    int n;
    reach_e r;

    if (on_stack(s, target)) {
        fail(s, "too_many_lookups", target, apr_psprintf(s->p, "the SPF "
             "records loop (%s), so receivers exceed the %d-lookup limit and "
             "fail SPF: remove %s%s from the record of %s", chain(s, target),
             MAX_TERMS, kind, target, from));
        return R_STOP;
    }
    memset(&ans, 0, sizeof(ans));
    s->out->lookups++;
    s->fetch(s->baton, s->p, target, &ans);
    if (ssd_dns_is_temporary(ans.rc)) {
        ssd_check_temp(s->p, s->out, CHECK, s->domain, target, ans.rc);
        return R_STOP;
    }
    if (ans.rc == SSD_DNS_CNAME_LOOP) {
        fail(s, "cname_loop", target, apr_psprintf(s->p, "%s (%s%s in the "
             "record of %s) is a CNAME loop: fix the CNAME or remove the "
             "term", target, kind, target, from));
        return R_STOP;
    }
    if ((n = spf_records(&ans, &rec)) == 0) {
        return no_spf_at(s, from, kind, target, ans.rc);
    }
    msg = n > 1 ? apr_psprintf(s->p, "%d SPF records are published", n)
                : parse_record(s->p, apr_pstrmemdup(s->p, rec->data,
                                                    rec->len), &terms);
    if (msg) {
        fail(s, "malformed", target, apr_psprintf(s->p, "the SPF record at "
             "%s (%s%s in the record of %s) is invalid: %s; receivers fail "
             "SPF with a permanent error", target, kind, target, from, msg))
            ->found = ssd_check_escape(s->p, rec->data, rec->len);
        return R_STOP;
    }
    APR_ARRAY_PUSH(s->stack, const char *) = target;
    r = walk(s, target, terms, 0);
    s->stack->nelts--;
    return r;
}

static reach_e include_term(spf_t *s, const char *host, const term_t *t)
{
    reach_e r;

    if (!count_term(s, host)) {
        return R_STOP;
    }
    if (is_our_include(s, t)) {
        if (t->qual == '+') {
            return R_FOUND;
        }
        s->note = apr_psprintf(s->p, " ('%s' has the qualifier '%c', which "
                               "never gives pass: write it as include:%s)",
                               t->text, t->qual, s->include);
        return R_NO;
    }
    if (strchr(t->arg, '%')) {
        return R_NO;        /* a macro: depends on the message, not followed */
    }
    r = follow(s, host, "include:", t->arg);
    if (r == R_FOUND && t->qual != '+') {
        s->note = apr_psprintf(s->p, " (include:%s is reached through '%s' "
                               "in the record of %s, whose qualifier '%c' "
                               "never gives pass)", s->include, t->text,
                               host, t->qual);
        return R_NO;
    }
    return r;
}

/* An all ends the record; at the top, say so if our include comes later. */
static reach_e all_met(spf_t *s, const apr_array_header_t *terms, int at,
                       int top, const term_t *all)
{
    const term_t *t = (const term_t *)terms->elts;
    int i;

    for (i = at + 1; top && i < terms->nelts; i++) {
        if (is_our_include(s, &t[i])) {
            fail_top(s, "include_after_all", apr_psprintf(s->p, "in the SPF "
                     "record of %s, include:%s comes after '%s', and "
                     "receivers stop at the all term: move include:%s before "
                     "it and publish: %s", s->domain, s->include, all->text,
                     s->include, with_include(s, s->record)));
            return R_STOP;
        }
    }
    return R_NO;
}

static int has_all(const apr_array_header_t *terms)
{
    const term_t *t = (const term_t *)terms->elts;
    int i;

    for (i = 0; i < terms->nelts; i++) {
        if (!t[i].modifier && !strcmp(t[i].name, "all")) {
            return 1;
        }
    }
    return 0;
}

static reach_e walk(spf_t *s, const char *host,
                    const apr_array_header_t *terms, int top)
{
    const term_t *t = (const term_t *)terms->elts;
    const char *redirect = NULL;
    reach_e r = R_NO;
    int i;

    for (i = 0; i < terms->nelts && r == R_NO; i++) {
        const char *n = t[i].name;

        if (t[i].modifier) {
            redirect = strcmp(n, "redirect") ? redirect : t[i].arg;
        }
        else if (!strcmp(n, "all")) {
            return all_met(s, terms, i, top, &t[i]);
        }
        else if (!strcmp(n, "include")) {
            r = include_term(s, host, &t[i]);
        }
        else if (strcmp(n, "ip4") && strcmp(n, "ip6")) {
            r = count_term(s, host) ? R_NO : R_STOP;    /* a mx ptr exists */
        }
    }
    if (r != R_NO || !redirect || has_all(terms) || strchr(redirect, '%')) {
        return r;
    }
    return count_term(s, host) ? follow(s, host, "redirect=", redirect)
                               : R_STOP;
}

/* ---- the top-level record ---- */

static void no_record(spf_t *s, const ssd_txt_answer_t *a)
{
    const ssd_txt_t *t = a->txts ? (const ssd_txt_t *)a->txts->elts : NULL;
    const char *hint = "";
    ssd_finding_t *f;
    int i;

    for (i = 0; a->rc == SSD_DNS_OK && t && i < a->txts->nelts; i++) {
        if (ssd_check_is_quoted(t[i].data, t[i].len)
            && is_spf(t[i].data + 1, t[i].len - 2)) {
            f = fail(s, "quoted_value", s->domain, apr_psprintf(s->p, "the "
                     "SPF record at %s was entered with its double quotes, "
                     "which became part of the value: remove the surrounding "
                     "quotes and publish: %s", s->domain, with_include(s,
                     apr_pstrmemdup(s->p, t[i].data + 1, t[i].len - 2))));
            f->found = ssd_check_escape(s->p, t[i].data, t[i].len);
            f->expected = with_include(s, apr_pstrmemdup(s->p, t[i].data + 1,
                                                         t[i].len - 2));
            return;
        }
        if (t[i].len >= 5 && !strncasecmp(t[i].data, "v=spf", 5)) {
            hint = apr_psprintf(s->p, " (the TXT record '%s' is not SPF: "
                                "the version must be exactly v=spf1)",
                                ssd_check_escape(s->p, t[i].data, t[i].len));
        }
    }
    f = fail(s, "missing", s->domain, apr_psprintf(s->p, "no SPF record at "
             "%s%s: publish a TXT record at %s with the value %s", s->domain,
             hint, s->domain, default_record(s)));
    f->expected = default_record(s);
}

/* All records' terms in one: our include first, the others once each
 * (redirect= dropped), then the first record's all (or ~all). */
static const char *merged(spf_t *s, const ssd_txt_answer_t *a)
{
    const ssd_txt_t *t = (const ssd_txt_t *)a->txts->elts;
    const char *out = apr_pstrcat(s->p, "v=spf1 include:", s->include, NULL);
    const char *all = NULL;
    char *copy, *last, *w;
    int i;

    for (i = 0; i < a->txts->nelts; i++) {
        if (!is_spf(t[i].data, t[i].len)) {
            continue;
        }
        copy = apr_pstrmemdup(s->p, t[i].data + 6, t[i].len - 6);
        for (w = apr_strtok(copy, " ", &last); w;
             w = apr_strtok(NULL, " ", &last)) {
            term_t term;

            if (parse_term(s->p, w, &term) == NULL
                && (is_our_include(s, &term) || (term.modifier
                    && !strcmp(term.name, "redirect")))) {
                continue;
            }
            if (!strcasecmp(lower(apr_pstrdup(s->p, w)) + strspn(w, "+-~?"),
                            "all")) {
                all = all ? all : w;
            }
            else if (!strstr(apr_pstrcat(s->p, out, " ", NULL),
                             apr_pstrcat(s->p, " ", w, " ", NULL))) {
                out = apr_pstrcat(s->p, out, " ", w, NULL);
            }
        }
    }
    return apr_pstrcat(s->p, out, " ", all ? all : "~all", NULL);
}

static void multiple(spf_t *s, const ssd_txt_answer_t *a, int n)
{
    const ssd_txt_t *t = (const ssd_txt_t *)a->txts->elts;
    const char *found = NULL, *m = merged(s, a);
    ssd_finding_t *f;
    int i;

    for (i = 0; i < a->txts->nelts; i++) {
        if (is_spf(t[i].data, t[i].len)) {
            const char *e = ssd_check_escape(s->p, t[i].data, t[i].len);

            found = found ? apr_pstrcat(s->p, found, " | ", e, NULL) : e;
        }
    }
    f = fail(s, "multiple_records", s->domain, apr_psprintf(s->p, "%d SPF "
             "records are published at %s, and receivers then fail SPF with "
             "a permanent error: merge them into one TXT record and delete "
             "the others, e.g. publish: %s", n, s->domain, m));
    f->expected = m;
    f->found = found;
}

static void judge(spf_t *s)
{
    apr_array_header_t *terms;
    const char *msg = parse_record(s->p, s->record, &terms);
    reach_e r;

    if (msg) {
        fail_top(s, "malformed", apr_psprintf(s->p, "the SPF record at %s is "
                 "invalid: %s; receivers fail SPF with a permanent error. "
                 "Correct it, e.g. publish: %s", s->domain, msg,
                 with_include(s, s->record)));
        return;
    }
    APR_ARRAY_PUSH(s->stack, const char *) = s->domain;
    r = walk(s, s->domain, terms, 1);
    if (r == R_NO) {
        fail_top(s, "include_missing", apr_psprintf(s->p, "the SPF record at "
                 "%s does not reach include:%s before its all term, so it "
                 "does not authorise ScaiSend%s: publish: %s", s->domain,
                 s->include, s->note ? s->note : "",
                 with_include(s, s->record)));
    }
}

void ssd_check_spf(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                   const char *domain, const char *include,
                   ssd_check_result_t *out)
{
    spf_t s;
    ssd_txt_answer_t ans;
    const ssd_txt_t *rec;
    int n;

    memset(&s, 0, sizeof(s));
    memset(&ans, 0, sizeof(ans));
    s.p = p;
    s.fetch = fetch;
    s.baton = baton;
    s.out = out;
    s.domain = domain;
    s.include = include;
    s.stack = apr_array_make(p, 4, sizeof(const char *));
    ssd_check_init(p, out, domain);
    out->lookups++;
    fetch(baton, p, domain, &ans);
    if (ssd_dns_is_temporary(ans.rc)) {
        ssd_check_temp(p, out, CHECK, domain, domain, ans.rc);
        return;
    }
    if (ans.rc == SSD_DNS_CNAME_LOOP) {
        fail(&s, "cname_loop", domain, apr_psprintf(p, "%s is a CNAME loop: "
             "remove the CNAME and publish a TXT record at %s with the value "
             "%s", domain, domain, default_record(&s)))->expected =
            default_record(&s);
        return;
    }
    if ((n = spf_records(&ans, &rec)) != 1) {
        n ? multiple(&s, &ans, n) : no_record(&s, &ans);
        return;
    }
    s.record = apr_pstrmemdup(p, rec->data, rec->len);
    judge(&s);
}
