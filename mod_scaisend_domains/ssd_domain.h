/* ssd_domain: sender domain names -- normalisation and the validation
 * rules of the API (lower case A-labels, public suffixes, special-use
 * names) -- and the DMARC rua address check. */
#ifndef SSD_DOMAIN_H
#define SSD_DOMAIN_H

#include <apr_pools.h>
#include <apr_errno.h>

typedef struct {
    const char *domain;          /* A-labels, lower case, no trailing dot */
    const char *domain_unicode;  /* U-label form, NULL when same as domain */
} ssd_domain_name_t;

/* Load the newest Public Suffix List available (psl_latest: the built-in
 * list or the distribution's file, whichever is newer) for the lifetime of
 * p (a pool cleanup frees it). Optional: without it, ssd_domain_normalise
 * uses libpsl's built-in list. Call once at start-up (post_config, pconf),
 * before threads are started. */
apr_status_t ssd_domain_init(apr_pool_t *p);

/* Normalise and validate a sender domain. selector_base (e.g. "scaisend",
 * may be NULL) sizes the "<selector>._domainkey.<domain> fits in 253"
 * rule, allowing a 4-digit selector suffix. reserved: NULL-terminated list
 * of provider domains refused with their subdomains (may be NULL).
 * Returns NULL and fills *out on success; else an English message and
 * *out is untouched. */
const char *ssd_domain_normalise(apr_pool_t *p, const char *input,
                                 const char *selector_base,
                                 const char *const *reserved,
                                 ssd_domain_name_t *out);

/* Validate a DMARC rua address: one plain local@domain. Returns NULL when
 * fine, else a static message. */
const char *ssd_rua_validate(const char *addr);

/* The registrable (organisational) domain of name by the Public Suffix
 * List -- the same list the validation uses: "scailabs.ai" for
 * "scaisend.scailabs.ai". NULL when name is a public suffix or invalid. */
const char *ssd_domain_registrable(apr_pool_t *p, const char *name);

/* A host name as DNS and SPF use it (labels of letters, digits, hyphens
 * and underscores, so "_spf.example.net" is one): NULL and *out in lower
 * case without a trailing dot, or an English message. */
const char *ssd_host_normalise(apr_pool_t *p, const char *input,
                               const char **out);

/* True if name is domain or a subdomain of it (both normalised). */
int ssd_domain_is_within(const char *name, const char *domain);

#endif
