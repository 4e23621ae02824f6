/* ssd_records: the DNS records a tenant publishes -- DKIM, SPF, DMARC --
 * as JSON rows and as a zone-file snippet. */
#ifndef SSD_RECORDS_H
#define SSD_RECORDS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ssd_model.h"

typedef struct {
    const char *type;       /* always "TXT" */
    const char *host;
    const char *value;
    const char *purpose;    /* dkim | spf | dmarc */
    const char *selector;   /* DKIM rows only */
    const char *algorithm;  /* DKIM rows: rsa-sha256 | ed25519-sha256 */
    const char *key_state;  /* DKIM rows: active | pending | retired */
    const char *status;     /* pending | verified | failed (last check) */
} ssd_dns_record_t;

const char *ssd_record_dkim_host(apr_pool_t *p, const char *selector,
                                 const char *domain);
/* "v=DKIM1; k=rsa; p=..." or k=ed25519 (algorithm NULL: RSA). */
const char *ssd_record_dkim_value(apr_pool_t *p, const char *algorithm,
                                  const char *public_b64);
/* The record that revokes a key of that algorithm: an empty p=. */
const char *ssd_record_dkim_revocation(apr_pool_t *p, const char *algorithm);
const char *ssd_record_spf_value(apr_pool_t *p, const char *include);
const char *ssd_record_dmarc_host(apr_pool_t *p, const char *domain);
const char *ssd_record_dmarc_value(apr_pool_t *p, const char *policy,
                                  const char *rua);

/* One DKIM row per key (in the order given), then SPF, then DMARC. */
apr_array_header_t *ssd_records_for_domain(apr_pool_t *p,
                                           const ssd_domain_t *d,
                                           const apr_array_header_t *keys,
                                           const char *spf_include);

/* TXT rdata as quoted character-strings of at most 255 bytes each. */
const char *ssd_zone_txt_rdata(apr_pool_t *p, const char *value);

/* The rows as zone-file lines: "<host>. <ttl> IN TXT <rdata>". */
const char *ssd_zone_snippet(apr_pool_t *p, const apr_array_header_t *rows,
                             int ttl);

#endif
