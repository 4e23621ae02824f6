/* ssd_dns: ldns lookups for one verification thread.
 *
 * One ssd_dns_t per verification and per thread: the ldns resolver objects
 * it holds are mutated by every query and must never be shared between
 * threads. Each configured nameserver gets its own ldns resolver (ldns has
 * one port per resolver, and this keeps a per-server port, timeout and
 * state). Nameservers are tried in the order given; one that has timed out
 * in this verification is tried after the others from then on. Only
 * absolute names are queried (no search list). */
#ifndef SSD_DNS_H
#define SSD_DNS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_network_io.h>
#include "ssd_log.h"

typedef struct {
    const char *host;       /* IPv4 or IPv6 literal ("[::1]" accepted) */
    apr_port_t port;        /* 0: 53 */
} ssd_nameserver_t;

typedef struct {
    const apr_array_header_t *nameservers;  /* ssd_nameserver_t; NULL or
                                               empty: resolv.conf */
    apr_interval_time_t query_timeout;      /* per attempt; <= 0: 2 s */
    apr_time_t deadline;                    /* absolute: no query may
                                               outlast it; 0: none */
    const char *resolv_conf;                /* NULL: /etc/resolv.conf
                                               (other paths for tests) */
    const ssd_log_t *log;                   /* NULL: no log lines; each
                                               query at SSD_LOG_DEBUG */
    apr_port_t authoritative_port;          /* where authoritative servers
                                               are asked directly
                                               (ssd_authority); 0: 53 */
} ssd_dns_config_t;

typedef enum {
    SSD_DNS_OK,
    SSD_DNS_NXDOMAIN,
    SSD_DNS_NODATA,
    SSD_DNS_TIMEOUT,        /* no answer in time (also: deadline passed) */
    SSD_DNS_SERVFAIL,
    SSD_DNS_REFUSED,
    SSD_DNS_TRUNCATED,      /* TC set and the TCP retry failed */
    SSD_DNS_CNAME_LOOP,     /* CNAME loop or more than 8 CNAMEs */
    SSD_DNS_ERROR           /* bad name, malformed or mismatched reply */
} ssd_dns_rc;

#define SSD_DNS_MAX_CNAMES 8

/* One TXT RR: its character-strings concatenated, raw bytes (may hold NUL
 * or non-UTF-8 bytes; data is also NUL-terminated for convenience). */
typedef struct {
    const char *data;
    apr_size_t len;
} ssd_txt_t;

typedef struct {
    ssd_dns_rc rc;
    apr_array_header_t *txts;   /* ssd_txt_t, one per TXT RR at final_name */
    const char *final_name;     /* where the TXT RRs were (after CNAMEs),
                                   no trailing dot */
    int cnames;                 /* CNAME hops followed */
} ssd_txt_answer_t;

typedef struct ssd_dns ssd_dns_t;

/* A resolver for ONE thread; its ldns objects are freed by a cleanup on p.
 * Returns NULL and sets *err (an English sentence) on failure: a
 * nameserver that is not an address literal, an unreadable resolv.conf or
 * one without nameservers. */
ssd_dns_t *ssd_dns_new(apr_pool_t *p, const ssd_dns_config_t *cfg,
                       const char **err);

/* TXT lookup of an absolute name (a trailing dot is added when missing),
 * chasing CNAMEs (also across zones, at most 8, loops ->
 * SSD_DNS_CNAME_LOOP). Each attempt waits min(query_timeout,
 * deadline - now); past the deadline -> SSD_DNS_TIMEOUT without sending.
 * A truncated UDP answer is retried over TCP; TC with no usable TCP ->
 * SSD_DNS_TRUNCATED. SERVFAIL/REFUSED/timeouts move on to the next
 * nameserver; the last such result is returned when none answers. out is
 * always filled (txts empty unless OK); memory from p. Returns out->rc. */
ssd_dns_rc ssd_dns_txt(ssd_dns_t *d, apr_pool_t *p, const char *name,
                       ssd_txt_answer_t *out);

/* Does name have an RR of rrtype (A 1, AAAA 28, MX 15 ...), CNAMEs
 * chased: OK, NXDOMAIN, NODATA, CNAME_LOOP or a temporary code. */
ssd_dns_rc ssd_dns_exists(ssd_dns_t *d, const char *name, int rrtype);

/* TIMEOUT SERVFAIL REFUSED TRUNCATED ERROR */
int ssd_dns_is_temporary(ssd_dns_rc rc);

/* "ok" "nxdomain" "nodata" "timeout" "servfail" "refused" "truncated"
 * "cname_loop" "error" */
const char *ssd_dns_rc_name(ssd_dns_rc rc);

/* Number of nameservers in use (from the config or resolv.conf). */
int ssd_dns_server_count(const ssd_dns_t *d);

/* The fetch interface the checks use, so unit tests can feed canned
 * answers. It must fill out completely (rc, txts, final_name, cnames). */
typedef ssd_dns_rc (*ssd_txt_fetch_fn)(void *baton, apr_pool_t *p,
                                       const char *name,
                                       ssd_txt_answer_t *out);

/* The TXT records at name in one reply (DNS wire format, as received),
 * without any lookup: a reply that does not parse or a bad name gives
 * SSD_DNS_ERROR; an rcode other than NOERROR/NXDOMAIN gives SERVFAIL,
 * REFUSED or ERROR; else the CNAME chain from name is followed inside the
 * answer section (a loop or more than 8 CNAMEs: SSD_DNS_CNAME_LOOP) and
 * the TXT RRs at its end are returned as ssd_dns_txt returns them. A
 * chain that leaves the answer with no data at its end gives NODATA with
 * cnames > 0 (ssd_dns_txt would query final_name next). The reply's id
 * and question are not checked. out is always filled; memory from p.
 * Returns out->rc. */
ssd_dns_rc ssd_dns_txt_from_wire(apr_pool_t *p, const unsigned char *wire,
                                 apr_size_t len, const char *name,
                                 ssd_txt_answer_t *out);

/* ssd_txt_fetch_fn over ssd_dns_txt; baton is the ssd_dns_t. */
ssd_dns_rc ssd_dns_fetch(void *baton, apr_pool_t *p, const char *name,
                         ssd_txt_answer_t *out);

/* ---- A, AAAA, MX and PTR (for SPF evaluation, ssd_spf_eval) ---- */

typedef struct {
    int family;                 /* 4 or 6 */
    unsigned char addr[16];     /* network order; IPv4 in the first 4 */
} ssd_ip_t;

/* The RRs of one type at a name, CNAMEs chased as for TXT. */
typedef struct {
    ssd_dns_rc rc;
    apr_array_header_t *ips;    /* ssd_ip_t: the A or AAAA RRs */
    apr_array_header_t *names;  /* const char *: MX exchanges (in answer
                                   order) or PTR names, no trailing dot
                                   (the root stays ".") */
    const char *final_name;
    int cnames;
} ssd_rr_answer_t;

/* A lookup of one type, so unit tests can feed canned answers: it must
 * fill out completely (rc, ips, names, final_name, cnames). */
typedef ssd_dns_rc (*ssd_rr_fetch_fn)(void *baton, apr_pool_t *p,
                                      const char *name,
                                      ssd_rr_answer_t *out);

/* rrtype 1 (A), 28 (AAAA), 15 (MX) or 12 (PTR) at an absolute name, with
 * the deadlines, CNAME chasing and TCP retry of ssd_dns_txt. out is
 * always filled (ips and names empty unless OK); memory from p. Other
 * types give SSD_DNS_ERROR. Returns out->rc. */
ssd_dns_rc ssd_dns_rr(ssd_dns_t *d, apr_pool_t *p, const char *name,
                      int rrtype, ssd_rr_answer_t *out);

/* ssd_rr_fetch_fn over ssd_dns_rr; baton is the ssd_dns_t. ptr takes the
 * reverse name (4.3.2.1.in-addr.arpa, nibbles under ip6.arpa). */
ssd_dns_rc ssd_dns_fetch_a(void *baton, apr_pool_t *p, const char *name,
                           ssd_rr_answer_t *out);
ssd_dns_rc ssd_dns_fetch_aaaa(void *baton, apr_pool_t *p, const char *name,
                              ssd_rr_answer_t *out);
ssd_dns_rc ssd_dns_fetch_mx(void *baton, apr_pool_t *p, const char *name,
                            ssd_rr_answer_t *out);
ssd_dns_rc ssd_dns_fetch_ptr(void *baton, apr_pool_t *p, const char *name,
                             ssd_rr_answer_t *out);

/* ---- for the authoritative view (ssd_authority) ---- */

/* One query of an absolute name through the configured nameservers (RD
 * set, the same order, timeouts and deadline as ssd_dns_txt, no CNAME
 * chasing): OK with the whole reply in wire format (in p) when a server
 * answered NOERROR or NXDOMAIN, else the temporary code. */
ssd_dns_rc ssd_dns_query_wire(ssd_dns_t *d, apr_pool_t *p, const char *name,
                              int rrtype, const unsigned char **wire,
                              apr_size_t *len);

/* Nameservers that have not timed out in this verification. */
int ssd_dns_answering(const ssd_dns_t *d);

/* Set the deadline of d's later queries (0: none); returns the old one. */
apr_time_t ssd_dns_set_deadline(ssd_dns_t *d, apr_time_t deadline);

#endif
