/* mod_scaisend_domains_schedule: scheduled DKIM rotation (api.md section
 * 10). The background job asks which domains have an active key older
 * than ScaiSendDKIMRotateAfter and nothing pending; for each it generates
 * the next key (holding no connection), then in one transaction adds it as
 * pending with the events dkim.rotation_due and dkim.pending_created (the
 * record to publish). The normal verify activates it. */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_json.h"
#include "ssd_records.h"

#include <apr_strings.h>

#define ROTATIONS_PER_ROUND 5

typedef struct {
    ssd_work_t *w;
    const ssd_domain_t *d;
    EVP_PKEY *pkey;
    const char *public_key;
    ssd_event_t due, created;
} scheduled_t;

/* The events' data, once the transaction has chosen the selector. */
static void describe(scheduled_t *sc, const char *selector)
{
    apr_pool_t *p = sc->w->pool;
    json_object *due = ssd_json_new_object(p);
    json_object *created = ssd_json_new_object(p);
    json_object *rec = json_object_new_object();
    const char *after = apr_psprintf(p, "%" APR_INT64_T_FMT "s",
                                     sc->w->conf->rotate_after_ms / 1000);

    ssd_json_add_str(due, "active_selector", sc->d->dkim_selector);
    ssd_json_add_str(due, "rotate_after", after);
    ssd_json_add_str(rec, "type", "TXT");
    ssd_json_add_str(rec, "host", ssd_record_dkim_host(p, selector,
                                                        sc->d->domain));
    ssd_json_add_str(rec, "value", ssd_record_dkim_value(p, sc->public_key));
    ssd_json_add_str(created, "old_selector", sc->d->dkim_selector);
    ssd_json_add_str(created, "new_selector", selector);
    json_object_object_add(created, "dns_record", rec);
    sc->due.extra = sc->due.changes = ssd_json_to_string(p, due);
    sc->created.extra = sc->created.changes = ssd_json_to_string(p, created);
}

static const char *wrap_scheduled(void *baton, const char *selector)
{
    scheduled_t *sc = baton;
    const char *wrapped = NULL;

    if (ssd_dkim_wrap(sc->w->pool, sc->w->conf->kek, sc->pkey, sc->d->id,
                      selector, &wrapped) != APR_SUCCESS) {
        return NULL;
    }
    describe(sc, selector);
    return wrapped;
}

static void store_scheduled(scheduled_t *sc, ssd_dkim_key_t *k)
{
    ssd_rotation_t rot = {sc->d, sc->w->conf->selector_base, wrap_scheduled,
                          sc, k, &sc->created, &sc->due};
    ssd_store_rc rc;

    if (!ssd_work_store(sc->w)) {
        return;
    }
    rc = ssd_store_rotate(sc->w->store, &rot);
    if (rc == SSD_STORE_OK) {
        SSD_SLOG(APLOG_NOTICE, 0, sc->w->server, 607, "%s (%s): scheduled "
                 "rotation, pending key %s", sc->d->id, sc->d->domain,
                 k->selector);
    }
    else if (rc != SSD_STORE_CONFLICT && rc != SSD_STORE_NOT_FOUND) {
        SSD_SLOG(APLOG_ERR, 0, sc->w->server, 607, "%s (%s): the scheduled "
                 "rotation could not be stored", sc->d->id, sc->d->domain);
    }
}

static void rotate_one(ssd_work_t *w, const ssd_domain_t *d)
{
    scheduled_t sc = {w, d, NULL, NULL,
                      {"scaisend-schedule", "dkim.rotation_due", NULL, NULL,
                       NULL, NULL},
                      {"scaisend-schedule", "dkim.pending_created", NULL,
                       NULL, NULL, NULL}};
    ssd_dkim_key_t k;

    memset(&k, 0, sizeof(k));
    /* the key generation holds no database connection */
    ssd_work_release(w);
    if (ssd_dkim_generate(w->pool, w->conf->key_bits, &sc.pkey) != APR_SUCCESS
        || !(sc.public_key = ssd_dkim_public_b64(w->pool, sc.pkey))) {
        SSD_SLOG(APLOG_ERR, 0, w->server, 301, "DKIM key generation failed "
                 "(scheduled rotation of %s)", d->id);
        return;
    }
    k.public_key = sc.public_key;
    k.bits = w->conf->key_bits;
    store_scheduled(&sc, &k);
}

/* Domains due, oldest key first, a few per round; go_on says whether the
 * job may start the next one. */
void ssd_schedule_rotations(ssd_work_t *w, int (*go_on)(void *), void *baton)
{
    apr_array_header_t *ids;
    const char *before;
    int i;

    if (w->conf->rotate_after_ms <= 0 || !ssd_work_store(w)) {
        return;
    }
    before = ssd_ago_rfc3339(w->pool, w->conf->rotate_after_ms);
    if (ssd_store_rotations_due(w->store, before, ROTATIONS_PER_ROUND, &ids)
        != SSD_STORE_OK) {
        return;
    }
    for (i = 0; i < ids->nelts && go_on(baton); i++) {
        ssd_domain_t *d = NULL;

        if (ssd_work_store(w)
            && ssd_store_domain_get(w->store,
                                    APR_ARRAY_IDX(ids, i, const char *), &d)
                   == SSD_STORE_OK) {
            rotate_one(w, d);
        }
    }
}
