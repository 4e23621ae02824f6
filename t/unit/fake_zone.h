/* fake_zone.h: a canned DNS zone behind ssd_spf_lookup_t, for the SPF
 * evaluator's tests (t/unit/test_spf_eval.c, the RFC 7208 suite driver
 * t/unit/spf_eval.c). Header-only: each test program includes it once.
 *
 *   fz_t *z = fz_new(pool);
 *   fz_add(z, "example.com", "TXT", "v=spf1 a -all");
 *   fz_add(z, "example.com", "A", "192.0.2.1");
 *   fz_add(z, "example.com", "MX", "mx.example.com");   (exchange only)
 *   fz_add(z, "alias.example.com", "CNAME", "example.com");
 *   fz_add(z, "slow.example.com", "TIMEOUT", NULL);
 *   fz_add(z, "broken.example.com", "SERVFAIL", NULL);
 *   ssd_spf_lookup_t lk = fz_lookup(z);
 *
 * Answers, as the OpenSPF suite's own driver (testspf.py) serves its
 * zones: names compare ignoring case and one trailing dot; a name
 * without records is NXDOMAIN (a name starting with "error." times
 * out), one with records but none of the type asked is NODATA. The
 * records of a name are read in order: a TIMEOUT entry met before any
 * record of the type asked times the query out, met after one ends the
 * answer. A name with a CNAME and no record of the type asked continues
 * at the CNAME's target (at most 8 hops; a loop or more:
 * SSD_DNS_CNAME_LOOP). SERVFAIL answers SERVFAIL to every type. TXT data
 * may hold any byte (fz_add_txt with a length). */
#ifndef FAKE_ZONE_H
#define FAKE_ZONE_H

#include <string.h>
#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "ssd_spf_eval.h"

typedef struct {
    const char *name;
    const char *type;
    const char *data;
    apr_size_t len;
} fz_rr_t;

typedef struct {
    apr_pool_t *p;
    apr_array_header_t *rrs;    /* fz_rr_t, in the order added */
    int calls;
    apr_array_header_t *asked;  /* "TYPE name" of every lookup */
} fz_t;

static inline fz_t *fz_new(apr_pool_t *p)
{
    fz_t *z = apr_pcalloc(p, sizeof(*z));

    z->p = p;
    z->rrs = apr_array_make(p, 16, sizeof(fz_rr_t));
    z->asked = apr_array_make(p, 16, sizeof(const char *));
    return z;
}

static inline const char *fz_norm(apr_pool_t *p, const char *name)
{
    apr_size_t len = strlen(name);
    char *n, *c;

    len -= len > 1 && name[len - 1] == '.';
    n = apr_pstrmemdup(p, name, len);
    for (c = n; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    return n;
}

static inline void fz_add_txt(fz_t *z, const char *name,
                              const char *type, const char *data,
                              apr_size_t len)
{
    fz_rr_t *r = apr_array_push(z->rrs);

    r->name = fz_norm(z->p, name);
    r->type = type;
    r->data = data ? apr_pstrmemdup(z->p, data, len) : "";
    r->len = data ? len : 0;
}

static inline void fz_add(fz_t *z, const char *name, const char *type,
                          const char *data)
{
    fz_add_txt(z, name, type, data, data ? strlen(data) : 0);
}

/* The records of type at name (CNAMEs chased) into hits; the rc. */
static inline ssd_dns_rc fz_find(const fz_t *z, const char *name,
                                 const char *type, int hops,
                                 apr_array_header_t *hits)
{
    const fz_rr_t *r = (const fz_rr_t *)z->rrs->elts;
    const char *cname = NULL;
    int i, any = 0;

    for (i = 0; i < z->rrs->nelts; i++) {
        if (strcmp(r[i].name, name) != 0) {
            continue;
        }
        any = 1;
        if (!strcmp(r[i].type, "SERVFAIL")) {
            return SSD_DNS_SERVFAIL;
        }
        if (!strcmp(r[i].type, "TIMEOUT")) {
            if (hits->nelts == 0) {
                return SSD_DNS_TIMEOUT;
            }
            break;
        }
        if (!strcmp(r[i].type, type)) {
            APR_ARRAY_PUSH(hits, const fz_rr_t *) = &r[i];
        }
        else if (!strcmp(r[i].type, "CNAME") && !cname) {
            cname = r[i].data;
        }
    }
    if (hits->nelts > 0) {
        return SSD_DNS_OK;
    }
    if (cname) {
        if (hops >= SSD_DNS_MAX_CNAMES) {
            return SSD_DNS_CNAME_LOOP;
        }
        return fz_find(z, fz_norm(z->p, cname), type, hops + 1, hits);
    }
    if (!any) {
        return strncmp(name, "error.", 6) ? SSD_DNS_NXDOMAIN : SSD_DNS_TIMEOUT;
    }
    return SSD_DNS_NODATA;
}

static inline apr_array_header_t *fz_query(fz_t *z, const char *name,
                                           const char *type, ssd_dns_rc *rc)
{
    apr_array_header_t *hits = apr_array_make(z->p, 4, sizeof(fz_rr_t *));

    z->calls++;
    APR_ARRAY_PUSH(z->asked, const char *) =
        apr_pstrcat(z->p, type, " ", fz_norm(z->p, name), NULL);
    *rc = fz_find(z, fz_norm(z->p, name), type, 0, hits);
    if (*rc != SSD_DNS_OK) {
        apr_array_clear(hits);
    }
    return hits;
}

static inline ssd_dns_rc fz_txt(void *baton, apr_pool_t *p,
                                const char *name, ssd_txt_answer_t *out)
{
    apr_array_header_t *hits = fz_query(baton, name, "TXT", &out->rc);
    int i;

    out->txts = apr_array_make(p, 2, sizeof(ssd_txt_t));
    out->final_name = apr_pstrdup(p, name);
    out->cnames = 0;
    for (i = 0; i < hits->nelts; i++) {
        const fz_rr_t *r = APR_ARRAY_IDX(hits, i, const fz_rr_t *);
        ssd_txt_t *t = apr_array_push(out->txts);

        t->data = r->data;
        t->len = r->len;
    }
    return out->rc;
}

static inline ssd_dns_rc fz_rrs(fz_t *z, apr_pool_t *p, const char *name,
                                const char *type, ssd_rr_answer_t *out)
{
    apr_array_header_t *hits = fz_query(z, name, type, &out->rc);
    int i;

    out->ips = apr_array_make(p, 2, sizeof(ssd_ip_t));
    out->names = apr_array_make(p, 2, sizeof(const char *));
    out->final_name = apr_pstrdup(p, name);
    out->cnames = 0;
    for (i = 0; i < hits->nelts; i++) {
        const fz_rr_t *r = APR_ARRAY_IDX(hits, i, const fz_rr_t *);
        ssd_ip_t ip;

        memset(&ip, 0, sizeof(ip));
        if (!strcmp(type, "MX") || !strcmp(type, "PTR")) {
            APR_ARRAY_PUSH(out->names, const char *) = fz_norm(p, r->data);
        }
        else if (inet_pton(type[1] == 'A' ? AF_INET6 : AF_INET, r->data,
                           ip.addr) == 1) {
            ip.family = type[1] == 'A' ? 6 : 4;
            *(ssd_ip_t *)apr_array_push(out->ips) = ip;
        }
    }
    return out->rc;
}

static inline ssd_dns_rc fz_a(void *baton, apr_pool_t *p,
                              const char *name, ssd_rr_answer_t *out)
{
    return fz_rrs(baton, p, name, "A", out);
}

static inline ssd_dns_rc fz_aaaa(void *baton, apr_pool_t *p,
                                 const char *name, ssd_rr_answer_t *out)
{
    return fz_rrs(baton, p, name, "AAAA", out);
}

static inline ssd_dns_rc fz_mx(void *baton, apr_pool_t *p,
                               const char *name, ssd_rr_answer_t *out)
{
    return fz_rrs(baton, p, name, "MX", out);
}

static inline ssd_dns_rc fz_ptr(void *baton, apr_pool_t *p,
                                const char *name, ssd_rr_answer_t *out)
{
    return fz_rrs(baton, p, name, "PTR", out);
}

static inline ssd_spf_lookup_t fz_lookup(fz_t *z)
{
    ssd_spf_lookup_t lk = {fz_txt, fz_a, fz_aaaa, fz_mx, fz_ptr, z};

    return lk;
}

#endif
