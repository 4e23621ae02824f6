/* mod_scaisend_domains_status: counters in shared memory, summed over
 * every child process (one anonymous segment made by the parent at
 * start-up, inherited by the children, kept across graceful restarts;
 * atomic additions), and the status handler (SetHandler
 * scaisend-domains-status): JSON, or ?format=prometheus. */
#include "mod_scaisend_domains.h"
#include "ssd_json.h"
#include "ssd_metrics.h"

#include <http_protocol.h>
#include <apr_shm.h>
#include <apr_strings.h>

#define MAX_ROUTES 32       /* route table entries, plus "no route" */
static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405, 409,
                               413, 415, 429, 500, 503, 0};
#define STATUS_SLOTS (sizeof(statuses) / sizeof(statuses[0]))  /* + other */
#define FAMILY_SLOTS 16

typedef struct {
    apr_time_t started;
    apr_uint64_t requests[MAX_ROUTES + 1][STATUS_SLOTS];
    apr_uint64_t families[SSD_METRIC_FAMILIES][FAMILY_SLOTS];
} counters_t;

static counters_t *counters;    /* in the shared segment */

static void add(apr_uint64_t *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static apr_uint64_t read_counter(const apr_uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void count_metric(ssd_metric_family_e family, int index)
{
    if (counters && index >= 0 && index < FAMILY_SLOTS) {
        add(&counters->families[family][index]);
    }
}

/* Once per server lifetime: the segment lives in the process pool, so a
 * graceful restart keeps it (and the counts). */
int ssd_status_post_config(apr_pool_t *pconf, server_rec *s)
{
    apr_pool_t *proc = s->process->pool;
    apr_shm_t *shm = NULL;
    void *kept = NULL;
    apr_status_t rv;

    (void)pconf;
    apr_pool_userdata_get(&kept, "ssd_status_shm", proc);
    if (!kept) {
        rv = apr_shm_create(&shm, sizeof(counters_t), NULL, proc);
        if (rv != APR_SUCCESS) {
            SSD_SLOG(APLOG_CRIT, rv, s, 801, "cannot create the shared "
                     "memory of the status counters");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        kept = apr_shm_baseaddr_get(shm);
        memset(kept, 0, sizeof(counters_t));
        ((counters_t *)kept)->started = apr_time_now();
        apr_pool_userdata_set(kept, "ssd_status_shm", apr_pool_cleanup_null,
                              proc);
    }
    counters = kept;
    ssd_metric_set_sink(count_metric);
    return OK;
}

static int status_slot(int status)
{
    int i;

    for (i = 0; statuses[i]; i++) {
        if (statuses[i] == status) {
            return i;
        }
    }
    return i;                   /* other */
}

void ssd_status_count_request(int route, int status)
{
    int r = route >= 0 && route < MAX_ROUTES ? route : MAX_ROUTES;

    if (counters) {
        add(&counters->requests[r][status_slot(status)]);
    }
}

/* ---- the handler ----------------------------------------------------------- */

typedef struct {
    const char *database;       /* ok | unavailable */
    int schema_version;         /* 0 when unknown */
    apr_int64_t uptime;
} health_t;

static void probe_database(request_rec *r, health_t *h)
{
    ssd_req_t q;

    memset(&q, 0, sizeof(q));
    q.r = r;
    q.conf = ssd_conf_get(r->server);
    h->database = "unavailable";
    h->schema_version = 0;
    if (ssd_req_store_try(&q)
        && ssd_store_schema_version(q.store, &h->schema_version)
           == SSD_STORE_OK) {
        h->database = "ok";
    }
    ssd_req_store_release(&q);
}

static const char *const family_keys[] = {
    "verifications", "dns_queries", "signatures", "webhook_deliveries"
};
static const char *const family_labels[] = {
    "outcome", "result", "algorithm", "result"
};

static json_object *requests_json(apr_pool_t *p)
{
    json_object *o = json_object_new_object(), *by;
    int route, st;

    for (route = 0; route <= MAX_ROUTES; route++) {
        by = NULL;
        for (st = 0; st < (int)STATUS_SLOTS; st++) {
            apr_uint64_t n = read_counter(&counters->requests[route][st]);

            if (!n) continue;
            by = by ? by : json_object_new_object();
            json_object_object_add(by, statuses[st] ? apr_itoa(p, statuses[st])
                                                    : "other",
                                   json_object_new_int64((int64_t)n));
        }
        if (by) {
            json_object_object_add(o, route < ssd_route_count()
                                      ? ssd_route_name(p, route) : "-", by);
        }
    }
    return o;
}

static json_object *family_json(ssd_metric_family_e f)
{
    const char *const *names = ssd_metric_names(f);
    json_object *o = json_object_new_object();
    int i;

    for (i = 0; names[i] && i < FAMILY_SLOTS; i++) {
        json_object_object_add(o, names[i], json_object_new_int64(
            (int64_t)read_counter(&counters->families[f][i])));
    }
    return o;
}

static int send_json_status(request_rec *r, const health_t *h)
{
    json_object *o = ssd_json_new_object(r->pool);
    int f;

    ssd_json_add_str(o, "version", SSD_VERSION);
    ssd_json_add_str(o, "database", h->database);
    json_object_object_add(o, "schema_version", h->schema_version
                           ? json_object_new_int(h->schema_version) : NULL);
    ssd_json_add_int(o, "uptime_seconds", h->uptime);
    json_object_object_add(o, "requests", requests_json(r->pool));
    for (f = 0; f < SSD_METRIC_FAMILIES; f++) {
        json_object_object_add(o, family_keys[f], family_json(f));
    }
    return ssd_send_json(r, HTTP_OK, o);
}

/* Prometheus text exposition (version 0.0.4). */
static void prom_family(ssd_buf_t *b, const char *name, const char *help)
{
    ssd_buf_addf(b, "# HELP scaisend_%s %s\n# TYPE scaisend_%s counter\n",
                 name, help, name);
}

static void prom_requests(apr_pool_t *p, ssd_buf_t *b)
{
    int route, st;

    prom_family(b, "requests_total", "API requests by route and status.");
    for (route = 0; route <= MAX_ROUTES; route++) {
        for (st = 0; st < (int)STATUS_SLOTS; st++) {
            apr_uint64_t n = read_counter(&counters->requests[route][st]);

            if (n) {
                ssd_buf_addf(b, "scaisend_requests_total{route=\"%s\","
                             "status=\"%s\"} %" APR_UINT64_T_FMT "\n",
                             route < ssd_route_count()
                             ? ssd_route_name(p, route) : "-",
                             statuses[st] ? apr_itoa(p, statuses[st])
                                          : "other", n);
            }
        }
    }
}

static int send_prometheus(request_rec *r, const health_t *h)
{
    static const char *const metric[] = {
        "verifications_total", "dns_queries_total", "signatures_total",
        "webhook_deliveries_total"
    };
    ssd_buf_t b;
    int f, i;

    ssd_buf_init(&b, r->pool, 4096, 0);
    ssd_buf_addf(&b, "# HELP scaisend_info The module's version.\n"
                 "# TYPE scaisend_info gauge\nscaisend_info{version=\"%s\"} 1\n"
                 "# HELP scaisend_database_up 1 when the database answers.\n"
                 "# TYPE scaisend_database_up gauge\nscaisend_database_up %d\n"
                 "# HELP scaisend_schema_version The database schema version.\n"
                 "# TYPE scaisend_schema_version gauge\n"
                 "scaisend_schema_version %d\n"
                 "# HELP scaisend_uptime_seconds Since the server started.\n"
                 "# TYPE scaisend_uptime_seconds gauge\n"
                 "scaisend_uptime_seconds %" APR_INT64_T_FMT "\n",
                 SSD_VERSION, strcmp(h->database, "ok") == 0,
                 h->schema_version, h->uptime);
    prom_requests(r->pool, &b);
    for (f = 0; f < SSD_METRIC_FAMILIES; f++) {
        const char *const *names = ssd_metric_names(f);

        prom_family(&b, metric[f], family_keys[f]);
        for (i = 0; names[i] && i < FAMILY_SLOTS; i++) {
            ssd_buf_addf(&b, "scaisend_%s{%s=\"%s\"} %" APR_UINT64_T_FMT "\n",
                         metric[f], family_labels[f], names[i],
                         read_counter(&counters->families[f][i]));
        }
    }
    return ssd_send_text(r, HTTP_OK, "text/plain; version=0.0.4; "
                         "charset=utf-8", ssd_buf_str(&b));
}

int ssd_status_handler(request_rec *r)
{
    const char *args = r->args ? r->args : "";
    health_t h;

    if (!r->handler || strcmp(r->handler, SSD_STATUS_HANDLER) != 0) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET");
        return ssd_send_error(r, HTTP_METHOD_NOT_ALLOWED,
                              "method_not_allowed", "the status is read with "
                              "GET", NULL);
    }
    if (*args && strcmp(args, "format=prometheus") != 0
        && strcmp(args, "format=json") != 0) {
        return ssd_send_error(r, HTTP_BAD_REQUEST, "invalid_parameter",
                              "the only parameter is format=json or "
                              "format=prometheus", "format");
    }
    if (!counters) {
        return ssd_send_error(r, HTTP_SERVICE_UNAVAILABLE, "unavailable",
                              "the status counters are not set up", NULL);
    }
    probe_database(r, &h);
    h.uptime = apr_time_sec(apr_time_now() - counters->started);
    return strcmp(args, "format=prometheus") == 0 ? send_prometheus(r, &h)
                                                  : send_json_status(r, &h);
}
