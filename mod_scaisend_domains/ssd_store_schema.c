/* ssd_store_schema: schema versions and migrations, on both engines. */
#include "ssd_store.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

/* pg_advisory_lock key: "scaisend" folded into 63 bits */
#define MIGRATION_LOCK "7236829615093421"

typedef struct {
    int version;
    const char *const *steps;
} migration_t;

static const migration_t migrations[] = {
    {1, ssd_store_schema_v1},
    {2, ssd_store_schema_v2},
    {3, ssd_store_schema_v3},
    {4, ssd_store_schema_v4},
    {0, NULL}
};

static int is_pgsql(const apr_dbd_driver_t *driver)
{
    return strcmp(apr_dbd_name(driver), "pgsql") == 0;
}

static apr_status_t exec(apr_pool_t *p, const apr_dbd_driver_t *driver,
                         apr_dbd_t *h, const char *sql, const char **err)
{
    int nrows, rc = apr_dbd_query(driver, h, &nrows, sql);

    if (rc != 0) {
        *err = apr_pstrcat(p, apr_dbd_error(driver, h, rc), " (in: ", sql,
                           ")", NULL);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* Run a query that answers one row; its first column, or NULL. */
static const char *select_one(apr_pool_t *p, const apr_dbd_driver_t *driver,
                              apr_dbd_t *h, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *value = NULL;
    char *v = NULL;

    if (apr_dbd_select(driver, p, h, &res, sql, 1) != 0) {
        return NULL;
    }
    while (apr_dbd_get_row(driver, p, res, &row, -1) == 0) {
        if (!value && apr_dbd_datum_get(driver, row, 0, APR_DBD_TYPE_STRING,
                                        &v) == APR_SUCCESS) {
            value = apr_pstrdup(p, v);
        }
        value = value ? value : "";
    }
    return value;
}

/* One migration in a transaction of its own (BEGIN and COMMIT as
 * statements: see ssd_txn_begin in ssd_store.c). */
static apr_status_t apply(apr_pool_t *p, const apr_dbd_driver_t *driver,
                          apr_dbd_t *h, const migration_t *m,
                          const char **err)
{
    const char *begin = strcmp(apr_dbd_name(driver), "sqlite3") == 0
                        ? "BEGIN IMMEDIATE" : "BEGIN";
    apr_status_t rv = exec(p, driver, h, begin, err);
    int i;

    for (i = 0; rv == APR_SUCCESS && m->steps[i]; i++) {
        rv = exec(p, driver, h, ssd_store_sql_for(p, apr_dbd_name(driver),
                                                  m->steps[i]), err);
    }
    if (rv == APR_SUCCESS) {
        rv = exec(p, driver, h, apr_psprintf(p, "INSERT INTO ssd_schema_version"
                  " (version) VALUES (%d)", m->version), err);
    }
    if (rv == APR_SUCCESS) {
        rv = exec(p, driver, h, "COMMIT", err);
    }
    if (rv != APR_SUCCESS) {
        const char *ignored;

        exec(p, driver, h, "ROLLBACK", &ignored);
    }
    return rv;
}

static apr_status_t migrate_locked(apr_pool_t *p,
                                   const apr_dbd_driver_t *driver,
                                   apr_dbd_t *h, int *version,
                                   const char **err)
{
    const char *found;
    const migration_t *m;
    apr_status_t rv = exec(p, driver, h, "CREATE TABLE IF NOT EXISTS "
                           "ssd_schema_version (version INTEGER NOT NULL)",
                           err);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    found = select_one(p, driver, h, "SELECT MAX(version) FROM "
                       "ssd_schema_version");
    *version = found ? atoi(found) : 0;
    if (*version > SSD_SCHEMA_VERSION) {
        *err = apr_psprintf(p, "the database schema is version %d, newer "
                            "than this module knows (%d): upgrade the "
                            "module before serving from this database",
                            *version, SSD_SCHEMA_VERSION);
        return APR_EGENERAL;
    }
    for (m = migrations; m->steps && rv == APR_SUCCESS; m++) {
        if (m->version > *version) {
            rv = apply(p, driver, h, m, err);
        }
    }
    return rv;
}

apr_status_t ssd_store_migrate(apr_pool_t *p, const apr_dbd_driver_t *driver,
                               apr_dbd_t *handle, int *version,
                               const char **err)
{
    apr_status_t rv;

    if (is_pgsql(driver) && !select_one(p, driver, handle, "SELECT "
                                        "pg_advisory_lock(" MIGRATION_LOCK
                                        ")")) {
        *err = "cannot take the migration lock";
        return APR_EGENERAL;
    }
    rv = migrate_locked(p, driver, handle, version, err);
    if (is_pgsql(driver)) {
        select_one(p, driver, handle, "SELECT pg_advisory_unlock("
                   MIGRATION_LOCK ")");
    }
    return rv;
}
