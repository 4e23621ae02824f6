/* ssd_authority_wire: reading the replies of the authoritative view (see
 * ssd_authority_wire.h). Every function parses its bytes with ldns and
 * frees the packet before returning; nothing read is trusted beyond the
 * checks made here (owner names compared, rdata sizes checked). */
#include "ssd_authority_wire.h"

#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <ldns/ldns.h>

#define EDNS_UDP_SIZE 1232
#define MAX_CNAMES 8
#define MAX_NAME_TEXT 255

/* ldns name of a text name (a final dot added); NULL when invalid. */
static ldns_rdf *dname_of(apr_pool_t *p, const char *name)
{
    apr_size_t len = name ? strlen(name) : 0;

    if (len == 0 || strchr(name, ' ') || strchr(name, '\t')) {
        return NULL;
    }
    if (name[len - 1] != '.') {
        name = apr_pstrcat(p, name, ".", NULL);
    }
    return ldns_dname_new_frm_str(name);
}

/* An ldns name as text: lower case, no final dot (the root is "."). */
static const char *name_text(apr_pool_t *p, const ldns_rdf *name)
{
    char *s = ldns_rdf2str(name), *out, *c;
    apr_size_t len;

    if (!s) {
        return "";
    }
    len = strlen(s);
    if (len > 1 && s[len - 1] == '.') {
        len--;
    }
    if (len > MAX_NAME_TEXT) {          /* escaped bytes of a hostile name */
        len = MAX_NAME_TEXT;
    }
    out = apr_pstrmemdup(p, s, len);
    free(s);
    for (c = out; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return out;
}

static ldns_pkt *parse(const unsigned char *w, apr_size_t len)
{
    ldns_pkt *pkt = NULL;

    if (!w || len < 12 || ldns_wire2pkt(&pkt, w, len) != LDNS_STATUS_OK) {
        return NULL;
    }
    return pkt;
}

static int is_rr(const ldns_rr *rr, ldns_rr_type type, const ldns_rdf *owner)
{
    return ldns_rr_get_type(rr) == type
           && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN
           && ldns_dname_compare(ldns_rr_owner(rr), owner) == 0;
}

const unsigned char *ssd_auth_query(apr_pool_t *p, const char *name,
                                    int qtype, apr_size_t *len)
{
    ldns_rdf *qname = dname_of(p, name);
    ldns_pkt *q;
    uint8_t *buf = NULL;
    size_t n = 0;
    const unsigned char *out = NULL;

    *len = 0;
    if (!qname) {
        return NULL;
    }
    q = ldns_pkt_query_new(qname, (ldns_rr_type)qtype, LDNS_RR_CLASS_IN, 0);
    if (!q) {
        ldns_rdf_deep_free(qname);
        return NULL;
    }
    ldns_pkt_set_edns_udp_size(q, EDNS_UDP_SIZE);
    ldns_pkt_set_random_id(q);
    if (ldns_pkt2wire(&buf, q, &n) == LDNS_STATUS_OK && buf) {
        out = apr_pmemdup(p, buf, n);
        *len = n;
    }
    free(buf);
    ldns_pkt_free(q);
    return out;
}

/* ---- the zone, its NS names, their addresses ---- */

static const char *soa_owner(apr_pool_t *p, const ldns_rr_list *l,
                             const ldns_rdf *name, int ancestors)
{
    size_t i;

    for (i = 0; i < ldns_rr_list_rr_count(l); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(l, i);
        const ldns_rdf *o = ldns_rr_owner(rr);

        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA
            || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
            continue;
        }
        if (ldns_dname_compare(o, name) == 0
            || (ancestors && ldns_dname_is_subdomain(name, o))) {
            return name_text(p, o);
        }
    }
    return NULL;
}

const char *ssd_auth_zone_from_reply(apr_pool_t *p, const unsigned char *w,
                                     apr_size_t len, const char *name)
{
    ldns_rdf *qname = dname_of(p, name);
    ldns_pkt *pkt = qname ? parse(w, len) : NULL;
    const char *zone = NULL;

    if (pkt) {
        zone = soa_owner(p, ldns_pkt_answer(pkt), qname, 0);
        if (!zone) {
            zone = soa_owner(p, ldns_pkt_authority(pkt), qname, 1);
        }
        ldns_pkt_free(pkt);
    }
    if (qname) {
        ldns_rdf_deep_free(qname);
    }
    return zone;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, duplicates dropped, at most max. */
static apr_array_header_t *sorted_unique(apr_array_header_t *a, int max)
{
    const char **s = (const char **)a->elts;
    int i, n = 0;

    qsort(s, (size_t)a->nelts, sizeof(*s), cmp_str);
    for (i = 0; i < a->nelts; i++) {
        if (n == 0 || strcmp(s[n - 1], s[i]) != 0) {
            s[n++] = s[i];
        }
    }
    a->nelts = n < max ? n : (max > 0 ? max : 0);
    return a;
}

apr_array_header_t *ssd_auth_ns_from_reply(apr_pool_t *p,
                                           const unsigned char *w,
                                           apr_size_t len, const char *zone,
                                           int max)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    ldns_rdf *owner = dname_of(p, zone);
    ldns_pkt *pkt = owner ? parse(w, len) : NULL;
    const ldns_rr_list *an;
    size_t i;

    if (pkt) {
        an = ldns_pkt_answer(pkt);
        for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
            const ldns_rr *rr = ldns_rr_list_rr(an, i);

            if (is_rr(rr, LDNS_RR_TYPE_NS, owner) && ldns_rr_rd_count(rr) == 1
                && ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME) {
                APR_ARRAY_PUSH(out, const char *) =
                    name_text(p, ldns_rr_rdf(rr, 0));
            }
        }
        ldns_pkt_free(pkt);
    }
    if (owner) {
        ldns_rdf_deep_free(owner);
    }
    return sorted_unique(out, max);
}

/* The end of the CNAME chain from name inside the answer (name itself
 * when there is none; the last name reached after MAX_CNAMES hops). */
static const ldns_rdf *chain_end(const ldns_rr_list *an, const ldns_rdf *name)
{
    const ldns_rdf *cur = name;
    size_t i;
    int hops, moved;

    for (hops = 0; hops < MAX_CNAMES; hops++) {
        moved = 0;
        for (i = 0; i < ldns_rr_list_rr_count(an) && !moved; i++) {
            const ldns_rr *rr = ldns_rr_list_rr(an, i);

            if (is_rr(rr, LDNS_RR_TYPE_CNAME, cur) && ldns_rr_rd_count(rr) == 1
                && ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME) {
                cur = ldns_rr_rdf(rr, 0);
                moved = 1;
            }
        }
        if (!moved) {
            break;
        }
    }
    return cur;
}

static void push_addr(apr_pool_t *p, apr_array_header_t *out,
                      const ldns_rr *rr, ldns_rdf_type want)
{
    const ldns_rdf *a = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : NULL;
    char *s;

    if (!a || ldns_rdf_get_type(a) != want
        || ldns_rdf_size(a) != (want == LDNS_RDF_TYPE_A ? 4u : 16u)
        || !(s = ldns_rdf2str(a))) {
        return;
    }
    APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(p, s);
    free(s);
}

apr_array_header_t *ssd_auth_addrs_from_reply(apr_pool_t *p,
                                              const unsigned char *w,
                                              apr_size_t len,
                                              const char *name, int rrtype,
                                              int max)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(const char *));
    ldns_rdf *qname = dname_of(p, name);
    ldns_pkt *pkt = qname && (rrtype == SSD_AUTH_TYPE_A
                              || rrtype == SSD_AUTH_TYPE_AAAA)
                    ? parse(w, len) : NULL;
    const ldns_rr_list *an;
    const ldns_rdf *at;
    size_t i;

    if (pkt) {
        an = ldns_pkt_answer(pkt);
        at = chain_end(an, qname);
        for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
            if (is_rr(ldns_rr_list_rr(an, i), (ldns_rr_type)rrtype, at)) {
                push_addr(p, out, ldns_rr_list_rr(an, i),
                          rrtype == SSD_AUTH_TYPE_A ? LDNS_RDF_TYPE_A
                                                    : LDNS_RDF_TYPE_AAAA);
            }
        }
        ldns_pkt_free(pkt);
    }
    if (qname) {
        ldns_rdf_deep_free(qname);
    }
    return sorted_unique(out, max);
}

/* ---- direct replies ---- */

static int asked(const ldns_pkt *pkt, const ldns_rdf *qname, int qtype)
{
    const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);

    return q && ldns_pkt_qdcount(pkt) == 1
           && ldns_rr_get_type(q) == (ldns_rr_type)qtype
           && ldns_dname_compare(ldns_rr_owner(q), qname) == 0;
}

static const char *rcode_problem(apr_pool_t *p, const ldns_pkt *pkt)
{
    ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt);
    char *s;
    const char *out;

    switch (rc) {
    case LDNS_RCODE_NOERROR:
    case LDNS_RCODE_NXDOMAIN:
        return NULL;
    case LDNS_RCODE_REFUSED:
        return "refused";
    case LDNS_RCODE_SERVFAIL:
        return "servfail";
    default:
        s = ldns_pkt_rcode2str(rc);
        out = apr_psprintf(p, "rcode %s", s ? s : "?");
        free(s);
        return out;
    }
}

/* The owner of the first NS RR of the authority section, or NULL. */
static const ldns_rdf *referral(const ldns_pkt *pkt)
{
    const ldns_rr_list *au = ldns_pkt_authority(pkt);
    size_t i;

    if (ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) > 0) {
        return NULL;
    }
    for (i = 0; i < ldns_rr_list_rr_count(au); i++) {
        if (ldns_rr_get_type(ldns_rr_list_rr(au, i)) == LDNS_RR_TYPE_NS) {
            return ldns_rr_owner(ldns_rr_list_rr(au, i));
        }
    }
    return NULL;
}

static const char *pkt_problem(apr_pool_t *p, const ldns_pkt *pkt,
                               const ldns_rdf *qname, int qtype)
{
    const char *why;
    const ldns_rdf *to;

    if (!ldns_pkt_qr(pkt) || !asked(pkt, qname, qtype)) {
        return "reply to another question";
    }
    if ((why = rcode_problem(p, pkt)) != NULL) {
        return why;
    }
    if (ldns_pkt_aa(pkt)) {
        return NULL;
    }
    to = referral(pkt);
    return to ? apr_pstrcat(p, "referral to ", name_text(p, to), NULL)
              : "not authoritative (AA not set)";
}

const char *ssd_auth_reply_problem(apr_pool_t *p, const unsigned char *w,
                                   apr_size_t len, const char *qname,
                                   int qtype)
{
    ldns_rdf *q = dname_of(p, qname);
    ldns_pkt *pkt = parse(w, len);
    const char *why = "malformed reply";

    if (pkt && q) {
        why = pkt_problem(p, pkt, q, qtype);
    }
    if (pkt) {
        ldns_pkt_free(pkt);
    }
    if (q) {
        ldns_rdf_deep_free(q);
    }
    return why;
}

static int serial_of(const ldns_rr_list *an, const ldns_rdf *zone,
                     apr_uint32_t *serial)
{
    size_t i;

    for (i = 0; i < ldns_rr_list_rr_count(an); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);

        if (is_rr(rr, LDNS_RR_TYPE_SOA, zone) && ldns_rr_rd_count(rr) >= 3
            && ldns_rdf_size(ldns_rr_rdf(rr, 2)) == 4) {
            *serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
            return 1;
        }
    }
    return 0;
}

int ssd_auth_soa_serial(apr_pool_t *p, const unsigned char *w,
                        apr_size_t len, const char *zone,
                        apr_uint32_t *serial)
{
    ldns_rdf *z = dname_of(p, zone);
    ldns_pkt *pkt = z ? parse(w, len) : NULL;
    int found = 0;

    if (pkt) {
        found = serial_of(ldns_pkt_answer(pkt), z, serial);
        ldns_pkt_free(pkt);
    }
    if (z) {
        ldns_rdf_deep_free(z);
    }
    return found;
}

const char *ssd_auth_parent(const char *name)
{
    const char *dot = name ? strchr(name, '.') : NULL;

    return dot && dot[1] && dot[1] != '.' ? dot + 1 : NULL;
}
