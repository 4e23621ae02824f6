/* ssd_authority_wire: the DNS replies of the authoritative view, in wire
 * format as received (from the resolver or from a zone's server): what
 * zone a name is in, a zone's NS names, a name's addresses, whether a
 * direct reply is an authoritative answer, a zone's SOA serial. Every
 * function takes bytes a DNS server controls; none trusts them (a reply
 * that does not parse is "nothing found" or a "malformed reply"). Names
 * are returned lower case, without the final dot. */
#ifndef SSD_AUTHORITY_WIRE_H
#define SSD_AUTHORITY_WIRE_H

#include <apr_pools.h>
#include <apr_tables.h>

#define SSD_AUTH_TYPE_A 1
#define SSD_AUTH_TYPE_NS 2
#define SSD_AUTH_TYPE_SOA 6
#define SSD_AUTH_TYPE_TXT 16
#define SSD_AUTH_TYPE_AAAA 28

/* A query in wire format: RD clear, EDNS0 (1232 bytes), a random id;
 * NULL for a name that is not a domain name. */
const unsigned char *ssd_auth_query(apr_pool_t *p, const char *name,
                                    int qtype, apr_size_t *len);

/* The zone of name from a reply to "name SOA": name itself when the
 * answer holds its SOA, else the owner of an SOA in the authority section
 * that is name or one of its ancestors; NULL when neither is there. */
const char *ssd_auth_zone_from_reply(apr_pool_t *p, const unsigned char *w,
                                     apr_size_t len, const char *name);

/* The NS names of zone in the answer section (owner zone): unique,
 * sorted, the first max of them (const char *). */
apr_array_header_t *ssd_auth_ns_from_reply(apr_pool_t *p,
                                           const unsigned char *w,
                                           apr_size_t len, const char *zone,
                                           int max);

/* The addresses (rrtype A or AAAA, as text) of name in the answer section,
 * at the end of a CNAME chain from name when there is one: unique,
 * sorted, the first max (const char *). */
apr_array_header_t *ssd_auth_addrs_from_reply(apr_pool_t *p,
                                              const unsigned char *w,
                                              apr_size_t len,
                                              const char *name, int rrtype,
                                              int max);

/* NULL when a direct reply to "qname qtype" is an authoritative answer
 * (NOERROR or NXDOMAIN, AA set, the question echoed), else why not:
 * "malformed reply", "reply to another question", "refused",
 * "servfail", "rcode <NAME>", "referral to <zone>" (AA clear, no answer,
 * NS records in the authority section: a lame delegation), "not
 * authoritative (AA not set)". */
const char *ssd_auth_reply_problem(apr_pool_t *p, const unsigned char *w,
                                   apr_size_t len, const char *qname,
                                   int qtype);

/* 1 and *serial when the answer section holds zone's SOA, else 0. */
int ssd_auth_soa_serial(apr_pool_t *p, const unsigned char *w,
                        apr_size_t len, const char *zone,
                        apr_uint32_t *serial);

/* The parent of a name ("b.c" for "a.b.c"); NULL for a single label. */
const char *ssd_auth_parent(const char *name);

#endif
