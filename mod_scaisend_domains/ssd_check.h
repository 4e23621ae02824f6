/* ssd_check: the three verification checks (DKIM, SPF, DMARC), pure over
 * a TXT fetch function (ssd_dns_fetch in production, canned answers in the
 * unit tests). No check writes anything; the caller stores the result.
 *
 * Status: PASS, FAIL (a conclusive finding) or TEMPERROR (a lookup the
 * result depends on failed temporarily: codes dns_timeout, dns_servfail,
 * dns_refused, dns_truncated; for SPF also include_unavailable). The first
 * problem met decides between FAIL and TEMPERROR. Warnings never change
 * the status. */
#ifndef SSD_CHECK_H
#define SSD_CHECK_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ssd_dns.h"
#include "ssd_spf_eval.h"

typedef struct {
    const char *check;     /* dkim | spf | dmarc */
    const char *code;      /* missing key_mismatch multiple_records malformed
                              revoked_key wrong_key_type include_missing
                              include_after_all term_before_include
                              too_many_lookups too_many_void_lookups
                              too_many_mx_names include_unavailable
                              (temperror) message_macro (warning)
                              too_many_ptr_names (warning) policy_missing
                              policy_mismatch (warning) rua_not_authorised
                              ruf_not_authorised rua_not_checked
                              inherited_policy removed_tag
                              removed_size_limit policy_testing (warnings)
                              quoted_value doubled_name
                              truncated_key cname_loop dns_timeout
                              dns_servfail dns_refused dns_truncated */
    const char *host;
    const char *message;   /* says what to publish or change */
    const char *expected;  /* NULL or the record value to publish */
    const char *found;     /* NULL or what was found, printable-escaped */
} ssd_finding_t;

typedef enum {
    SSD_CHECK_PASS,
    SSD_CHECK_FAIL,
    SSD_CHECK_TEMPERROR
} ssd_check_status_e;

/* Bounds on what a zone owner controls (api.md section 11). */
#define SSD_CHECK_MAX_FINDINGS 20   /* errors, and warnings, per check */
#define SSD_CHECK_MAX_FOUND 2048    /* bytes of a finding's found text */

typedef struct {
    ssd_check_status_e status;
    const char *host;
    apr_array_header_t *errors;     /* ssd_finding_t */
    apr_array_header_t *warnings;   /* ssd_finding_t */
    int lookups;                    /* fetch calls made */
    int dropped_errors;             /* past SSD_CHECK_MAX_FINDINGS */
    int dropped_warnings;
    const struct ssd_authority_view *authority;  /* what each authoritative
                                       server serves (ssd_authority.h);
                                       NULL: not taken */
} ssd_check_result_t;

/* DKIM (RFC 6376 §3.6.1, RFC 8301): TXT at <selector>._domainkey.<domain>
 * must hold exactly one DKIM record whose p= is public_b64 (base64 of the
 * DER SubjectPublicKeyInfo), compared as DER bytes. */
void ssd_check_dkim(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                    const char *domain, const char *selector,
                    const char *public_b64, ssd_check_result_t *out);
/* The same for a key of an algorithm (ssd_dkim_alg_t): the record must
 * say its k= (ed25519 for an Ed25519 key, RFC 8463) and p= must hold its
 * key (the raw 32 bytes for Ed25519). ssd_check_dkim is this for RSA. */
void ssd_check_dkim_alg(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                        const char *domain, const char *selector, int alg,
                        const char *public_b64, ssd_check_result_t *out);

/* SPF (RFC 7208): the one v=spf1 record at domain, evaluated with
 * check_host() as receivers evaluate mail from ScaiSend -- for each of
 * the addresses that include's own record authorises (one per network),
 * sender postmaster@<domain>, %{h} helo (NULL: the include) -- gives pass
 * for every one. Terms using %{s}, %{l} or %{p} are warnings
 * (message_macro) and taken as not matching. An include whose own record
 * gives no usable address is TEMPERROR (include_unavailable): not the
 * domain's fault. lookup: ssd_dns's lookups, or canned ones. */
void ssd_check_spf(apr_pool_t *p, const ssd_spf_lookup_t *lookup,
                   const char *domain, const char *include, const char *helo,
                   ssd_check_result_t *out);

/* DMARC (RFC 9989, ssd_check_dmarc.c): exactly one record beginning
 * v=DMARC1 at _dmarc.<domain>, valid by section 4.8. policy (the
 * configured p=, may be NULL) and rua (the configured report address, may
 * be NULL) make the expected value; a different p= is a warning, and so
 * is a report address on another organisational domain (RFC 9989 DNS tree
 * walk) that has not authorised it (RFC 9990). */
void ssd_check_dmarc(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                     const char *domain, const char *policy, const char *rua,
                     ssd_check_result_t *out);

const char *ssd_check_status_name(ssd_check_status_e s); /* pass fail
                                                             temperror */

/* ---- shared by the three checks (ssd_check.c) ---- */

/* A check's first lookup: the TXT at host into ans. 0 when the answer can
 * be judged; -1 when a temporary DNS error has ended the check (recorded
 * in out as TEMPERROR). */
int ssd_check_fetch(apr_pool_t *p, ssd_txt_fetch_fn fetch, void *baton,
                    const char *check, const char *host,
                    ssd_check_result_t *out, ssd_txt_answer_t *ans);

void ssd_check_init(apr_pool_t *p, ssd_check_result_t *out,
                    const char *host);
/* Add an error (status FAIL unless already decided) or a warning. */
ssd_finding_t *ssd_check_error(apr_pool_t *p, ssd_check_result_t *out,
                               const char *check, const char *code,
                               const char *host, const char *message);
ssd_finding_t *ssd_check_warning(apr_pool_t *p, ssd_check_result_t *out,
                                 const char *check, const char *code,
                                 const char *host, const char *message);
/* A temporary DNS failure of a lookup of name: an error with the dns_*
 * code, status TEMPERROR unless already decided. */
void ssd_check_temp(apr_pool_t *p, ssd_check_result_t *out,
                    const char *check, const char *host, const char *name,
                    ssd_dns_rc rc);
/* A temporary failure as a warning (for lookups that only give hints). */
void ssd_check_temp_warning(apr_pool_t *p, ssd_check_result_t *out,
                            const char *check, const char *name,
                            ssd_dns_rc rc);
const char *ssd_check_temp_code(ssd_dns_rc rc);

/* Raw bytes as printable ASCII: bytes outside 0x20-0x7E become \ddd
 * (decimal, as in zone files) and a backslash becomes \\; at most
 * SSD_CHECK_MAX_FOUND bytes, cut with "..." past that. */
const char *ssd_check_escape(apr_pool_t *p, const char *data,
                             apr_size_t len);
/* The records of txts that keep() selects, escaped and joined with
 * " | ", within SSD_CHECK_MAX_FOUND bytes; NULL when none. */
const char *ssd_check_found_list(apr_pool_t *p, const apr_array_header_t *txts,
                                 int (*keep)(const char *, apr_size_t));
/* Whether a value was pasted with its quotes: "..." (length >= 2). */
int ssd_check_is_quoted(const char *data, apr_size_t len);

typedef struct {
    const char *name;
    const char *value;      /* surrounding whitespace removed */
} ssd_tag_t;

/* Strict RFC 6376 §3.2 tag-list: tag-spec *(";" tag-spec) [";"], names
 * ALPHA *(ALPHA / DIGIT / "_"), values of VALCHAR and inner whitespace, no
 * empty tag-spec except after a final ";", no duplicate name (compared
 * case-sensitively, or ignoring case when nocase). Returns NULL with
 * *tags (ssd_tag_t, in order) or an English message. */
const char *ssd_tag_list_parse(apr_pool_t *p, const char *data,
                               apr_size_t len, int nocase,
                               apr_array_header_t **tags);
/* The value of tag name (case-sensitive or not), or NULL. */
const char *ssd_tag_get(const apr_array_header_t *tags, const char *name,
                        int nocase);

#endif
