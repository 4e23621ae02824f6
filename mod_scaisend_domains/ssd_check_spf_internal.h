/* ssd_check_spf_internal: what the SPF check's two files share --
 * ssd_check_spf.c (the domain's record: found, several, malformed, the
 * records to publish) and ssd_check_spf_judge.c (ScaiSend's addresses
 * evaluated with check_host(), and what each outcome tells the user). */
#ifndef SSD_CHECK_SPF_INTERNAL_H
#define SSD_CHECK_SPF_INTERNAL_H

#include "ssd_check.h"
#include "ssd_spf_eval.h"

#define SSD_CHECK_SPF "spf"
/* ScaiSend's addresses evaluated: one per network of the include. */
#define SSD_CHECK_SPF_MAX_SOURCES 16

typedef struct {
    apr_pool_t *p;
    ssd_spf_lookup_t lk;            /* through the cache */
    ssd_spf_cache_t *cache;
    ssd_check_result_t *out;
    const char *domain;
    const char *include;
    const char *helo;
    const char *sender;             /* postmaster@<domain> */
    const char *record;             /* the domain's record (text) */
} spf_t;

int ssd_check_spf_is_ours(const spf_t *s, const term_t *t);
/* rec with include:<ours> right after v=spf1 (the record to publish). */
const char *ssd_check_spf_with_include(const spf_t *s, const char *rec);
ssd_finding_t *ssd_check_spf_fail(spf_t *s, const char *code,
                                  const char *host, const char *msg);
/* A finding about the domain's record: found, and the record to publish
 * as expected. */
ssd_finding_t *ssd_check_spf_fail_top(spf_t *s, const char *code,
                                      const char *msg);

/* The domain's record (parsed) evaluated for ScaiSend's addresses. */
void ssd_check_spf_judge(spf_t *s);

#endif
