/* mod_scaisend_domains_db: the module's use of mod_dbd -- statements
 * prepared at start-up, the schema created before mod_dbd opens its first
 * connection, and a connection per request. */
#include "mod_scaisend_domains.h"

#include <http_main.h>
#include <unixd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <mod_dbd.h>

static APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *dbd_prepare;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) *dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) *dbd_close;

/* On the main server only: virtual hosts with the same database join its
 * connection group (mod_dbd's post_config) and so share its statements. */
static void prepare_statements(apr_pool_t *pconf, server_rec *s,
                               const char *driver)
{
    const ssd_statement_t *st;

    for (st = ssd_store_statements; st->label; st++) {
        dbd_prepare(s, ssd_store_sql_for(pconf, driver, st->sql), st->label);
    }
}

/* The main server's value of a mod_dbd directive, as configured. */
static const char *dbd_setting(apr_pool_t *p, const char *name)
{
    const ap_directive_t *d;
    const char *value = NULL;

    for (d = ap_conftree; d; d = d->next) {
        if (strcasecmp(d->directive, name) == 0) {
            const char *args = d->args;

            value = ap_getword_conf(p, &args);
        }
    }
    return value;
}

/* Switch SQLite to WAL (readers run beside the writer); the pragma answers
 * with the journal mode now in force. */
static int switch_to_wal(apr_pool_t *p, const apr_dbd_driver_t *drv,
                         apr_dbd_t *h)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *mode = NULL;

    if (apr_dbd_select(drv, p, h, &res, "PRAGMA journal_mode=WAL", 1) != 0) {
        return 0;
    }
    while (apr_dbd_get_row(drv, p, res, &row, -1) == 0) {
        mode = mode ? mode : apr_pstrdup(p, apr_dbd_get_entry(drv, row, 0));
    }
    return mode && strcasecmp(mode, "wal") == 0;
}

/* The SQLite file and its journals belong to the run-time user. */
static void prepare_sqlite_file(apr_pool_t *p, const apr_dbd_driver_t *drv,
                                apr_dbd_t *h, const char *path,
                                server_rec *s)
{
    const char *suffixes[] = {"", "-wal", "-shm", NULL};
    int i;

    if (!switch_to_wal(p, drv, h)) {
        SSD_SLOG(APLOG_WARNING, 0, s, 101, "could not switch %s to WAL mode",
                 path);
    }
    if (geteuid() != 0) {
        return;
    }
    for (i = 0; suffixes[i]; i++) {
        const char *f = apr_pstrcat(p, path, suffixes[i], NULL);

        if (chown(f, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0
            && i == 0) {
            SSD_SLOG(APLOG_ERR, errno, s, 102, "cannot hand %s to the "
                     "run-time user", f);
        }
    }
}

static apr_status_t migrate(apr_pool_t *ptemp, const apr_dbd_driver_t *drv,
                            apr_dbd_t *h, server_rec *s, const char **err)
{
    int found = 0;
    apr_status_t rv = ssd_store_migrate(ptemp, drv, h, &found, err);

    if (rv == APR_SUCCESS && found != SSD_SCHEMA_VERSION) {
        SSD_SLOG(APLOG_NOTICE, 0, s, 103, "database schema migrated from "
                 "version %d to %d", found, SSD_SCHEMA_VERSION);
    }
    return rv;
}

/* A new SQLite file is made 0640 (its journals follow its mode), an
 * existing one loses what others could read: it holds wrapped keys. */
static apr_status_t open_database(apr_pool_t *p, const apr_dbd_driver_t *drv,
                                  const char *name, const char *params,
                                  apr_dbd_t **h, const char **err)
{
    int sqlite = strcmp(name, "sqlite3") == 0;
    mode_t old = sqlite ? umask(027) : 0;
    apr_status_t rv = apr_dbd_open_ex(drv, p, params, h, err);
    struct stat st;

    if (sqlite) {
        umask(old);
        if (stat(params, &st) == 0 && (st.st_mode & 0027)) {
            chmod(params, st.st_mode & 0750);
        }
    }
    return rv;
}

static int create_schema(apr_pool_t *ptemp, server_rec *s)
{
    const char *name = dbd_setting(ptemp, "DBDriver");
    const char *params = dbd_setting(ptemp, "DBDParams");
    const apr_dbd_driver_t *drv;
    apr_dbd_t *h;
    const char *err = NULL;
    apr_status_t rv;

    if (!name || !params) {
        SSD_SLOG(APLOG_CRIT, 0, s, 104, "DBDriver and DBDParams must be set "
                 "in the main server");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = apr_dbd_get_driver(ptemp, name, &drv);
    if (rv == APR_SUCCESS) {
        rv = open_database(ptemp, drv, name, params, &h, &err);
    }
    if (rv == APR_SUCCESS) {
        rv = migrate(ptemp, drv, h, s, &err);
        if (rv == APR_SUCCESS && strcmp(name, "sqlite3") == 0) {
            prepare_sqlite_file(ptemp, drv, h, params, s);
        }
        apr_dbd_close(drv, h);
    }
    if (rv != APR_SUCCESS) {
        SSD_SLOG(APLOG_CRIT, rv, s, 105, "cannot prepare the schema on the %s "
                 "database: %s", name, err ? err : "open failed");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

const char *ssd_db_check(void)
{
    dbd_prepare = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
    if (!dbd_prepare || !dbd_open || !dbd_close) {
        return "mod_dbd is not loaded: add LoadModule dbd_module and "
               "DBDriver/DBDParams";
    }
    return NULL;
}

int ssd_db_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    const char *driver = dbd_setting(ptemp, "DBDriver");

    if (ssd_db_check()) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    prepare_statements(pconf, s, driver ? driver : "");
    return create_schema(ptemp, s);
}

/* SQLite in WAL mode: the first connection to open the file builds its
 * shared-memory index, and another preparing statements meanwhile is told
 * "database is locked" -- children starting together then fail mod_dbd's
 * child init (AH00632). Before mod_dbd's child init, wait (at most 2 s)
 * until the file can be read, and keep that connection for the child's
 * life: while children run, the index is never rebuilt. */
#define SQLITE_READY_TRIES 40
#define SQLITE_READY_PAUSE apr_time_from_msec(50)

typedef struct {
    const apr_dbd_driver_t *drv;
    apr_dbd_t *h;
} kept_t;

static apr_status_t close_kept(void *data)
{
    kept_t *k = data;

    apr_dbd_close(k->drv, k->h);
    return APR_SUCCESS;
}

static int sqlite_readable(apr_pool_t *p, const apr_dbd_driver_t *drv,
                           apr_dbd_t *h)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;

    if (apr_dbd_select(drv, p, h, &res, "SELECT count(*) FROM sqlite_master",
                       1) != 0) {
        return 0;
    }
    while (apr_dbd_get_row(drv, p, res, &row, -1) == 0) {
    }
    return 1;
}

void ssd_db_child_init(apr_pool_t *pchild, server_rec *s)
{
    const char *name = dbd_setting(pchild, "DBDriver");
    const char *params = dbd_setting(pchild, "DBDParams");
    kept_t *k = apr_pcalloc(pchild, sizeof(*k));
    const char *err = NULL;
    int i;

    if (!name || !params || strcmp(name, "sqlite3") != 0
        || apr_dbd_get_driver(pchild, name, &k->drv) != APR_SUCCESS
        || apr_dbd_open_ex(k->drv, pchild, params, &k->h, &err)
           != APR_SUCCESS) {
        return;
    }
    apr_pool_cleanup_register(pchild, k, close_kept, apr_pool_cleanup_null);
    for (i = 0; i < SQLITE_READY_TRIES
                && !sqlite_readable(pchild, k->drv, k->h); i++) {
        apr_sleep(SQLITE_READY_PAUSE);
    }
    if (i == SQLITE_READY_TRIES) {
        SSD_SLOG(APLOG_WARNING, 0, s, 108, "%s could not be read for 2 s "
                 "after the child started", params);
    }
    ssd_changes_child_init(pchild, s, params);
}

/* A connection held by a request goes back to mod_dbd's pool when the
 * request ends, or earlier with ssd_req_store_release. */
typedef struct {
    server_rec *server;
    ap_dbd_t *dbd;
} held_t;

static apr_status_t give_back(void *data)
{
    held_t *h = data;

    if (h->dbd) {
        dbd_close(h->server, h->dbd);
        h->dbd = NULL;
    }
    return APR_SUCCESS;
}

static int send_unavailable(ssd_req_t *q)
{
    SSD_RLOG(APLOG_ERR, 0, q->r, 106, "no database connection");
    apr_table_setn(q->r->err_headers_out, "Retry-After", "5");
    return ssd_send_error(q->r, HTTP_SERVICE_UNAVAILABLE,
                          "storage_unavailable",
                          "the database is unavailable; retry shortly", NULL);
}

/* apr_dbd_query's answer when a statement returned a row (SQLITE_ROW):
 * the driver counts only SQLITE_OK and SQLITE_DONE as success. */
#define SQLITE_ROW_RC 100

/* SQLite keeps deleted rows in free pages; with secure_delete it zeroes
 * them, so a removed key's ciphertext does not linger in the file. The
 * pragma holds per connection: once on each, marked in its pool. It
 * answers with a row (the new setting), which is its success. */
static void sqlite_secure_delete(ap_dbd_t *dbd)
{
    void *done = NULL;
    int nrows, rc;

    if (strcmp(apr_dbd_name(dbd->driver), "sqlite3") != 0) {
        return;
    }
    apr_pool_userdata_get(&done, "ssd_secure_delete", dbd->pool);
    if (done) {
        return;
    }
    rc = apr_dbd_query(dbd->driver, dbd->handle, &nrows,
                       "PRAGMA secure_delete = ON");
    if (rc == 0 || rc == SQLITE_ROW_RC) {
        apr_pool_userdata_setn("on", "ssd_secure_delete", NULL, dbd->pool);
    }
}

ssd_store_t *ssd_req_store(ssd_req_t *q)
{
    if (!ssd_req_store_try(q)) {
        send_unavailable(q);
        return NULL;
    }
    return q->store;
}

/* A connection from mod_dbd's pool for work in pool p: given back by
 * give() or when p goes. */
static ssd_store_t *take(apr_pool_t *p, server_rec *s, const ssd_log_t *log)
{
    ssd_store_t *st;
    held_t *h;
    ap_dbd_t *dbd;

    if (!dbd_open || !(dbd = dbd_open(p, s))) {
        return NULL;
    }
    sqlite_secure_delete(dbd);
    h = apr_palloc(p, sizeof(*h));
    h->server = s;
    h->dbd = dbd;
    apr_pool_cleanup_register(p, h, give_back, apr_pool_cleanup_null);
    st = apr_pcalloc(p, sizeof(*st));
    st->driver = dbd->driver;
    st->handle = dbd->handle;
    st->prepared = dbd->prepared;
    st->pool = p;
    st->conn_pool = dbd->pool;
    st->held = h;
    st->log = log;
    st->outbox = ssd_conf_get(s)->webhook_url != NULL;
    return st;
}

static void give(apr_pool_t *p, ssd_store_t *st)
{
    apr_pool_cleanup_run(p, st->held, give_back);
}

ssd_store_t *ssd_req_store_try(ssd_req_t *q)
{
    if (!q->store) {
        q->store = take(q->r->pool, q->r->server,
                        q->log ? q->log : (q->log = ssd_request_log(q->r)));
    }
    return q->store;
}

void ssd_req_store_release(ssd_req_t *q)
{
    if (q->store) {
        give(q->r->pool, q->store);
        q->store = NULL;
    }
}

ssd_store_t *ssd_work_store(ssd_work_t *w)
{
    if (!w->store) {
        w->store = take(w->pool, w->server, w->log);
    }
    return w->store;
}

void ssd_work_release(ssd_work_t *w)
{
    if (w->store) {
        give(w->pool, w->store);
        w->store = NULL;
    }
}
