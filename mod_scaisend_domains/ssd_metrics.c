/* ssd_metrics: the counters' names and the sink. */
#include "ssd_metrics.h"

#include <stddef.h>

static ssd_metric_sink_fn metric_sink;   /* set once, before children */

static const char *const outcomes[] = {
    "verified", "failed", "temperror", "not_run", "resolver_unavailable", NULL
};
/* in the order of ssd_dns_rc */
static const char *const dns_results[] = {
    "ok", "nxdomain", "nodata", "timeout", "servfail", "refused",
    "truncated", "cname_loop", "error", NULL
};
static const char *const algorithms[] = {
    "rsa-sha256", "ed25519-sha256", NULL
};
static const char *const deliveries[] = {
    "delivered", "failed", "gave_up", NULL
};

const char *const *ssd_metric_names(ssd_metric_family_e family)
{
    switch (family) {
    case SSD_METRIC_VERIFICATION: return outcomes;
    case SSD_METRIC_DNS: return dns_results;
    case SSD_METRIC_SIGNATURE: return algorithms;
    default: return deliveries;
    }
}

void ssd_metric_set_sink(ssd_metric_sink_fn sink)
{
    metric_sink = sink;
}

void ssd_metric_count(ssd_metric_family_e family, int index)
{
    if (metric_sink) {
        metric_sink(family, index);
    }
}
