/* mod_scaisend_domains_schedule: scheduled DKIM rotation (api.md section
 * 10). The background job asks which domains have an active key older
 * than ScaiSendDKIMRotateAfter and nothing pending; for each it generates
 * the next key (holding no connection), then in one transaction adds it as
 * pending with the events dkim.rotation_due and dkim.pending_created (the
 * record to publish). The normal verify activates it. */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_json.h"
#include "ssd_keymaker.h"
#include "ssd_records.h"

#include <apr_strings.h>

#define ROTATIONS_PER_ROUND 5

typedef struct {
    ssd_work_t *w;
    const ssd_domain_t *d;
    ssd_keymaker_t m;
    const char *rsa_selector;
    apr_array_header_t *made;       /* ssd_dkim_key_t: the keys made */
    ssd_event_t due, created;
} scheduled_t;

static json_object *record_json(apr_pool_t *p, const ssd_domain_t *d,
                                const ssd_dkim_key_t *k, int with_alg)
{
    json_object *rec = json_object_new_object();

    ssd_json_add_str(rec, "type", "TXT");
    ssd_json_add_str(rec, "host", ssd_record_dkim_host(p, k->selector,
                                                        d->domain));
    ssd_json_add_str(rec, "value", ssd_record_dkim_value(p, k->algorithm,
                                                          k->public_key));
    if (with_alg) {
        ssd_json_add_str(rec, "selector", k->selector);
        ssd_json_add_str(rec, "algorithm", k->algorithm);
    }
    return rec;
}

/* The events' data, once the transaction has chosen the selector and
 * made the key k: dns_record is the RSA key's, dns_records every pending
 * key's made so far (RSA first). */
static void describe(scheduled_t *sc, const ssd_dkim_key_t *k)
{
    apr_pool_t *p = sc->w->pool;
    json_object *due = ssd_json_new_object(p);
    json_object *created = ssd_json_new_object(p);
    json_object *all = json_object_new_array();
    const char *after = apr_psprintf(p, "%" APR_INT64_T_FMT "s",
                                     sc->w->conf->rotate_after_ms / 1000);
    int i;

    if (ssd_dkim_alg_of(k->algorithm) == SSD_DKIM_RSA) {
        sc->rsa_selector = k->selector;
        apr_array_clear(sc->made);
    }
    APR_ARRAY_PUSH(sc->made, ssd_dkim_key_t) = *k;
    for (i = 0; i < sc->made->nelts; i++) {
        json_object_array_add(all, record_json(
            p, sc->d, &APR_ARRAY_IDX(sc->made, i, ssd_dkim_key_t), 1));
    }
    ssd_json_add_str(due, "active_selector", sc->d->dkim_selector);
    ssd_json_add_str(due, "rotate_after", after);
    ssd_json_add_str(created, "old_selector", sc->d->dkim_selector);
    ssd_json_add_str(created, "new_selector", sc->rsa_selector);
    json_object_object_add(created, "dns_record", record_json(
        p, sc->d, &APR_ARRAY_IDX(sc->made, 0, ssd_dkim_key_t), 0));
    json_object_object_add(created, "dns_records", all);
    sc->due.extra = sc->due.changes = ssd_json_to_string(p, due);
    sc->created.extra = sc->created.changes = ssd_json_to_string(p, created);
}

static int make_scheduled(void *baton, ssd_dkim_alg_t alg,
                          const char *selector, ssd_dkim_key_t *k)
{
    scheduled_t *sc = baton;

    if (ssd_keymaker_make(&sc->m, alg, selector, k) != 0) {
        return -1;
    }
    k->selector = selector;
    describe(sc, k);
    return 0;
}

static void store_scheduled(scheduled_t *sc)
{
    ssd_rotation_t rot = {sc->d, sc->w->conf->selector_base, make_scheduled,
                          sc, NULL, &sc->created, &sc->due};
    ssd_store_rc rc;

    if (!ssd_work_store(sc->w)) {
        return;
    }
    rc = ssd_store_rotate(sc->w->store, &rot);
    if (rc == SSD_STORE_OK) {
        SSD_SLOG(APLOG_NOTICE, 0, sc->w->server, 607, "%s (%s): scheduled "
                 "rotation, pending key %s", sc->d->id, sc->d->domain,
                 sc->rsa_selector);
    }
    else if (rc != SSD_STORE_CONFLICT && rc != SSD_STORE_NOT_FOUND) {
        SSD_SLOG(APLOG_ERR, 0, sc->w->server, 607, "%s (%s): the scheduled "
                 "rotation could not be stored", sc->d->id, sc->d->domain);
    }
}

static void rotate_one(ssd_work_t *w, const ssd_domain_t *d)
{
    scheduled_t sc = {w, d, {w->pool, w->conf->kek, d->id, w->conf->key_bits,
                             NULL}, NULL,
                      apr_array_make(w->pool, 2, sizeof(ssd_dkim_key_t)),
                      {"scaisend-schedule", "dkim.rotation_due", NULL, NULL,
                       NULL, NULL},
                      {"scaisend-schedule", "dkim.pending_created", NULL,
                       NULL, NULL, NULL}};

    /* the RSA key generation holds no database connection */
    ssd_work_release(w);
    if (ssd_keymaker_generate_rsa(&sc.m) != APR_SUCCESS) {
        SSD_SLOG(APLOG_ERR, 0, w->server, 301, "DKIM key generation failed "
                 "(scheduled rotation of %s)", d->id);
        return;
    }
    store_scheduled(&sc);
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
