/* ssd_check_dmarc_internal: what the two files of the DMARC check share
 * (ssd_check_dmarc.c: the record; ssd_check_dmarc_report.c: the report
 * destinations). */
#ifndef SSD_CHECK_DMARC_INTERNAL_H
#define SSD_CHECK_DMARC_INTERNAL_H

#include "ssd_check.h"
#include "ssd_dmarc_walk.h"

#define SSD_DMARC_CHECK "dmarc"
#define SSD_DMARC_MAX_RUA 2     /* report destinations checked (api.md
                                   section 11) */

typedef struct {
    apr_pool_t *p;
    ssd_check_result_t *out;
    ssd_dmarc_dns_t *dns;       /* every lookup after the first */
    const char *domain;         /* lower case */
    const char *host;           /* _dmarc.<domain> */
    const char *policy;         /* the configured p=, or NULL */
    const char *expected;       /* the record ScaiSend hands out */
    const ssd_txt_t *txt;       /* the record judged, or NULL */
} ssd_dmarc_ctx_t;

/* A temporary failure of a lookup that only gives a hint: one warning a
 * name. */
void ssd_dmarc_temp_warning(ssd_dmarc_ctx_t *d, const char *name,
                            ssd_dns_rc rc);

/* RFC 9990 external destinations of the rua= and ruf= values (either may
 * be NULL): at most SSD_DMARC_MAX_RUA checked, warnings only. */
void ssd_dmarc_check_reports(ssd_dmarc_ctx_t *d, const char *rua,
                             const char *ruf);

#endif
