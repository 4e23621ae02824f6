/* ssd_authority: the authoritative view of one check (api.md section 9).
 *
 * For the host a check looked up: the closest enclosing zone (the SOA in
 * the answer or authority section of "host SOA" through the configured
 * resolver, walking up a label at a time when there is none), its NS set,
 * each NS name's addresses (A and AAAA through the resolver), then each
 * address asked directly, RD clear, on ssd_dns_config_t.authoritative_port
 * (53 by default): the host's TXT RRset and the zone's SOA serial. All
 * direct queries of a view are sent at once and waited for together, so
 * the view adds one round trip (at most one query timeout) after its
 * resolver lookups; everything stops at the verification's deadline.
 *
 * A server's result: match (what it serves passes the check the
 * resolver's answer was judged by), mismatch (another record of that
 * kind), missing (NXDOMAIN, NODATA or no record of the kind), error (no
 * usable answer: timeout, REFUSED, SERVFAIL, not authoritative, a
 * referral, unreachable) -- each but match with a reason.
 *
 * Bounds: at most SSD_AUTH_MAX_NS names (sorted), SSD_AUTH_MAX_ADDRS
 * addresses each, SSD_AUTH_MAX_WALK SOA lookups to find the zone.
 *
 * The view is information: it never changes a check's result. */
#ifndef SSD_AUTHORITY_H
#define SSD_AUTHORITY_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ssd_dns.h"

#define SSD_AUTH_MAX_NS 8
#define SSD_AUTH_MAX_ADDRS 2
#define SSD_AUTH_MAX_WALK 8
#define SSD_AUTH_MAX_NOTE 1024      /* bytes of the sentence */

typedef enum {
    SSD_AUTH_MATCH,
    SSD_AUTH_MISMATCH,
    SSD_AUTH_MISSING,
    SSD_AUTH_ERROR
} ssd_auth_result_e;

typedef enum {
    SSD_PROPAGATION_COMPLETE,   /* every server matches */
    SSD_PROPAGATION_PARTIAL,
    SSD_PROPAGATION_NONE        /* none matches (or none was asked) */
} ssd_propagation_e;

typedef struct {
    const char *name;           /* the NS name, lower case, no final dot */
    const char *address;        /* IPv4 or IPv6 literal */
    ssd_auth_result_e result;
    int has_serial;
    apr_uint32_t serial;        /* of the zone's SOA on that server */
    const char *reason;         /* NULL for match */
} ssd_auth_server_t;

typedef struct ssd_authority_view {
    const char *zone;               /* NULL when it was not found */
    apr_array_header_t *servers;    /* ssd_auth_server_t, by name */
    ssd_propagation_e propagation;
    const char *note;               /* one sentence: "published on 1 of
                                       2 nameservers; serial ..." */
} ssd_authority_view_t;

typedef enum { SSD_AUTH_DKIM, SSD_AUTH_SPF, SSD_AUTH_DMARC } ssd_auth_kind_e;

typedef struct {
    ssd_auth_kind_e kind;
    const char *host;           /* the name the check looked up */
    const char *domain;
    const char *selector;       /* DKIM */
    const char *public_b64;     /* DKIM: the key that must be published */
    int alg;                    /* DKIM: its ssd_dkim_alg_t (0: RSA) */
    const char *include;        /* SPF */
    const char *policy;         /* DMARC (as the check takes them) */
    const char *rua;
    int resolver_passed;        /* the check's verdict was pass */
    const ssd_dns_config_t *dns;    /* timeouts, deadline, port */
} ssd_authority_input_t;

/* The view of in->host, asking through resolver (the check's own, in the
 * check's thread) and then the zone's servers directly. Never NULL;
 * memory from p. When the resolver has stopped answering in this
 * verification the view is not taken (no server; the note says why). */
ssd_authority_view_t *ssd_authority_view(apr_pool_t *p, ssd_dns_t *resolver,
                                         const ssd_authority_input_t *in);

/* "match" "mismatch" "missing" "error" */
const char *ssd_auth_result_name(ssd_auth_result_e r);
/* "complete" "partial" "none" */
const char *ssd_propagation_name(ssd_propagation_e p);

/* ---- the parts, exposed for the unit tests ---- */

/* propagation and note of servers (ssd_authority_note.c). */
void ssd_authority_summarise(apr_pool_t *p, ssd_authority_view_t *v);

/* The SPF record the resolver serves at the host, for a record that
 * reaches the include only through other names (NULL: none or unknown). */
typedef const char *(*ssd_auth_spf_fn)(void *baton);

/* Judge the TXT RRset one server gave for in->host (ans: OK, NXDOMAIN or
 * NODATA, as ssd_dns_txt_from_wire returns it, CNAMEs already followed).
 * Sets s->result and s->reason (ssd_authority_judge.c). */
void ssd_authority_judge(apr_pool_t *p, const ssd_authority_input_t *in,
                         const ssd_txt_answer_t *ans, ssd_auth_spf_fn spf,
                         void *baton, ssd_auth_server_t *s);

#endif
