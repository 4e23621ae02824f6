/* ssd_metrics: counters the core units move (DNS queries, verifications,
 * signatures, webhook deliveries); the glue keeps them in shared memory
 * so that the status handler sums every child process. Until the glue
 * sets a sink, counting does nothing (unit tests). */
#ifndef SSD_METRICS_H
#define SSD_METRICS_H

typedef enum {
    SSD_METRIC_VERIFICATION,    /* index: ssd_metric_outcome_e */
    SSD_METRIC_DNS,             /* index: ssd_dns_rc */
    SSD_METRIC_SIGNATURE,       /* index: ssd_metric_alg_e */
    SSD_METRIC_WEBHOOK,         /* index: ssd_metric_delivery_e */
    SSD_METRIC_FAMILIES
} ssd_metric_family_e;

typedef enum {
    SSD_OUTCOME_NAME_VERIFIED, SSD_OUTCOME_NAME_FAILED,
    SSD_OUTCOME_NAME_TEMPERROR, SSD_OUTCOME_NAME_NOT_RUN,
    SSD_OUTCOME_NAME_RESOLVER_UNAVAILABLE, SSD_OUTCOMES
} ssd_metric_outcome_e;

typedef enum { SSD_ALG_RSA_SHA256, SSD_ALG_ED25519_SHA256, SSD_ALGS }
    ssd_metric_alg_e;

typedef enum { SSD_DELIVERY_OK, SSD_DELIVERY_FAILED, SSD_DELIVERY_GAVE_UP,
               SSD_DELIVERIES } ssd_metric_delivery_e;

/* The names of a family's counters, in index order, NULL-terminated. */
const char *const *ssd_metric_names(ssd_metric_family_e family);

typedef void (*ssd_metric_sink_fn)(ssd_metric_family_e family, int index);
void ssd_metric_set_sink(ssd_metric_sink_fn sink);
void ssd_metric_count(ssd_metric_family_e family, int index);

#endif
