/* ssd_spf_eval: check_host() of RFC 7208 -- what a receiving MTA
 * concludes for a client address, a domain and a sender.
 *
 * Every mechanism (all include a mx ptr ip4 ip6 exists) and the redirect=
 * modifier (exp= and unknown modifiers are ignored: they never change the
 * result); the results none neutral pass fail softfail temperror
 * permerror; the limits of section 4.6.4 over the whole evaluation,
 * nested includes and redirects included (10 DNS-querying terms, 2 void
 * lookups, more than 10 MX names is a permerror, PTR names past the 10th
 * are ignored); the macros of section 7; CIDR lengths; ptr and %{p} with
 * forward confirmation. Records are parsed with ssd_spf's strict syntax
 * (a syntax error anywhere in a record evaluated is a permerror).
 *
 * Lookups go through ssd_spf_lookup_t (ssd_dns in production, canned
 * zones in tests). A name that cannot be a DNS name after expansion
 * (an empty label, a label over 63 bytes) is treated as existing nowhere:
 * a/mx/ptr/exists do not match, include and redirect are permerror, the
 * initial domain gives none (4.3). A CNAME loop at an include or redirect
 * target is a permerror (code cname_loop); for address lookups it is an
 * empty answer.
 *
 * The outcome says which term decided (the top-level record or the end
 * of its redirect chain), or which error ended the evaluation, where and
 * why, so a caller can explain the result. */
#ifndef SSD_SPF_EVAL_H
#define SSD_SPF_EVAL_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ssd_dns.h"
#include "ssd_spf.h"

typedef struct {
    ssd_txt_fetch_fn txt;
    ssd_rr_fetch_fn a;
    ssd_rr_fetch_fn aaaa;
    ssd_rr_fetch_fn mx;
    ssd_rr_fetch_fn ptr;        /* takes the reverse name */
    void *baton;
} ssd_spf_lookup_t;

typedef enum {
    SSD_SPF_NONE,
    SSD_SPF_NEUTRAL,
    SSD_SPF_PASS,
    SSD_SPF_FAIL,
    SSD_SPF_SOFTFAIL,
    SSD_SPF_TEMPERROR,
    SSD_SPF_PERMERROR
} ssd_spf_result_e;

#define SSD_SPF_MAX_DNS_TERMS 10    /* include a mx ptr exists redirect */
#define SSD_SPF_MAX_VOIDS 2         /* NXDOMAIN or no answer */
#define SSD_SPF_MAX_NAMES 10        /* per mx and per ptr lookup */

/* Query flags. OPAQUE_SENDER: the sender is not known (a check made for
 * any message): a term whose domain-spec uses %{s}, %{l} or %{p} is
 * "undecidable" -- counted as a DNS-querying term, not looked up, taken
 * as not matching and listed in the outcome's undecidable (a redirect=
 * so written is not followed). */
#define SSD_SPF_OPAQUE_SENDER 1
/* EXPLAIN: on fail, the explanation of the exp= modifier of the record
 * that decided (6.2) is looked up and expanded into the outcome. */
#define SSD_SPF_EXPLAIN 2

typedef struct {
    const char *ip;         /* the client: IPv4 or IPv6 text (an
                               IPv4-mapped IPv6 address is IPv4) */
    const char *domain;     /* <domain> */
    const char *sender;     /* <sender>, local-part@domain */
    const char *helo;       /* %{h}; NULL: "unknown" */
    const char *receiver;   /* %{r} (explanations); NULL: "unknown" */
    int flags;
} ssd_spf_query_t;

/* A term of a record (for undecidable terms and cut PTR answers). */
typedef struct {
    const char *domain;     /* whose record */
    const char *term;       /* as written */
    const char *letters;    /* undecidable: the macro letters used */
} ssd_spf_term_ref_t;

typedef struct {
    ssd_spf_result_e result;
    /* The record whose term decided: the query's domain or the last
     * redirect= target followed from it; the mechanism that matched there
     * as written (NULL: none matched -- neutral by default, or an error). */
    const char *decided_in;
    const char *decided_by;
    const char *decided_target;     /* the name that mechanism looked up
                                       (macros expanded), or NULL */
    const char *explanation;        /* SSD_SPF_EXPLAIN and fail: the exp=
                                       text, or NULL (none, or unusable:
                                       the receiver's default applies) */
    /* temperror / permerror (and none): what ended the evaluation.
     * code: dns (temperror: rc says which), no_record (an include or
     * redirect target without exactly one SPF record: detail says
     * which), multiple_records, malformed (a syntax error; detail is
     * ssd_spf's message), invalid_name, cname_loop, too_many_lookups,
     * too_many_void_lookups, too_many_mx_names; NULL for none at the top
     * (no record) and for the other results. */
    const char *error;
    const char *error_in;   /* the record being evaluated */
    const char *error_term; /* the term being evaluated, or NULL */
    const char *error_name; /* the name looked up, or NULL */
    const char *detail;     /* English, or NULL */
    ssd_dns_rc rc;          /* the lookup's answer (temperror, voids) */
    int dns_terms;          /* DNS-querying terms evaluated */
    int voids;
    int queries;            /* lookup calls */
    const char *loop;       /* "a -> b -> a" when an include or redirect
                               met a record being evaluated, or NULL */
    apr_array_header_t *redirects;   /* const char *: the redirect= targets
                                        followed from the top, in order */
    apr_array_header_t *visited;     /* const char *: every domain whose
                                        record was evaluated (lower case) */
    apr_array_header_t *undecidable; /* ssd_spf_term_ref_t */
    apr_array_header_t *ptr_cut;     /* ssd_spf_term_ref_t: PTR answers
                                        with more than 10 names */
} ssd_spf_outcome_t;

/* check_host(<ip>, <domain>, <sender>); out is always filled, memory from
 * p. An ip that does not parse gives permerror (code malformed). */
ssd_spf_result_e ssd_spf_check_host(apr_pool_t *p, const ssd_spf_lookup_t *lk,
                                    const ssd_spf_query_t *q,
                                    ssd_spf_outcome_t *out);

/* "none" "neutral" "pass" "fail" "softfail" "temperror" "permerror" */
const char *ssd_spf_result_name(ssd_spf_result_e r);

/* The identity of an SMTP transaction (4.3, 2.4): <sender> is MAIL FROM,
 * or postmaster@<helo> when MAIL FROM is empty; a sender without a
 * local-part gets "postmaster"; <domain> is the sender's domain. */
void ssd_spf_query_smtp(apr_pool_t *p, const char *ip, const char *mailfrom,
                        const char *helo, ssd_spf_query_t *q);

/* ---- addresses (ssd_spf_macro.c) ---- */

/* IPv4 or IPv6 text; an IPv4-mapped IPv6 address becomes IPv4. */
int ssd_ip_parse(const char *text, ssd_ip_t *ip);
/* Whether ip is in net/bits (families must agree; bits clamped). */
int ssd_ip_in(const ssd_ip_t *ip, const ssd_ip_t *net, int bits);
const char *ssd_ip_text(apr_pool_t *p, const ssd_ip_t *ip);
/* 4.3.2.1.in-addr.arpa or the 32 nibbles under ip6.arpa */
const char *ssd_ip_reverse(apr_pool_t *p, const ssd_ip_t *ip);
/* The value of %{i}: the dotted quad, or the 32 nibbles of an IPv6
 * address dot-separated (7.3). */
const char *ssd_spf_macro_i(apr_pool_t *p, const ssd_ip_t *ip);

/* ---- macros (section 7; ssd_spf_macro.c) ---- */

typedef struct {
    const char *s, *l, *o, *d, *i, *p, *v, *h;  /* domain-spec letters */
    const char *c, *r, *t;                      /* explanation only */
} ssd_spf_macros_t;

/* Whether the macro-string uses any of letters (lower case, either case
 * in the string). */
int ssd_spf_macro_uses(const char *spec, const char *letters);
/* The letters of letters that spec uses, in that order ("" if none). */
const char *ssd_spf_macro_letters(apr_pool_t *p, const char *spec,
                                  const char *letters);
/* Expand a macro-string (syntax already checked by ssd_spf). exp: the
 * text of an explanation (c, r and t allowed, no trailing-dot or length
 * rules; only visible ASCII and spaces, 6.2). Otherwise a domain-spec:
 * one trailing dot removed and, past 253 bytes, labels dropped from the
 * left (7.3). A letter whose value is NULL expands to nothing. NULL when
 * spec is not a valid macro-string. */
const char *ssd_spf_expand(apr_pool_t *p, const ssd_spf_macros_t *m,
                           const char *spec, int exp);
/* A name usable in a DNS query: labels of 1-63 bytes (a trailing dot
 * allowed), at most 253 bytes; multi: at least two labels. */
int ssd_spf_dns_name_ok(const char *name, int multi);

/* ---- a lookup cache (ssd_spf_cache.c) ---- */

typedef struct ssd_spf_cache ssd_spf_cache_t;

/* outer: lookups through inner that ask each (type, name) once; answers
 * live in p. */
ssd_spf_cache_t *ssd_spf_cache_new(apr_pool_t *p,
                                   const ssd_spf_lookup_t *inner,
                                   ssd_spf_lookup_t *outer);
/* The lookups made through inner so far. */
int ssd_spf_cache_calls(const ssd_spf_cache_t *c);

/* ---- the addresses a record authorises (ssd_spf_sources.c) ---- */

typedef struct {
    ssd_ip_t ip;
    const char *text;       /* the address */
    const char *term;       /* the term it comes from, as written */
    const char *domain;     /* whose record */
} ssd_spf_source_t;

typedef struct {
    apr_array_header_t *sources;    /* ssd_spf_source_t, in record order */
    int more;               /* past max: addresses left out */
    ssd_dns_rc rc;          /* a temporary DNS error ended the walk, or OK */
    const char *error;      /* NULL, or why the record gives no addresses
                               (English) */
    const char *error_name; /* the name looked up when it failed */
} ssd_spf_sources_t;

/* The addresses that the SPF record of domain authorises with pass, one
 * per network: the address written in each +ip4/+ip6 term, the addresses
 * of +a and +mx (A and AAAA; at most 10 MX names), and those of +include
 * and redirect= targets, in evaluation order up to the first all; ptr and
 * exists give none, nor do terms with %{s}, %{l}, %{p}, %{i} or %{v}. At most
 * SSD_SPF_MAX_DNS_TERMS lookups-causing terms and max addresses
 * (duplicates dropped). helo and sender fill %{h} and %{o}. */
void ssd_spf_sources(apr_pool_t *p, const ssd_spf_lookup_t *lk,
                     const char *domain, const char *sender,
                     const char *helo, int max, ssd_spf_sources_t *out);

#endif
