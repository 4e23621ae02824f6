/* mod_scaisend_domains_keys: DKIM rotation (POST .../rotate-dkim) and the
 * removal of a retired key (DELETE .../dkim-keys/{selector}). */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_json.h"
#include "ssd_keymaker.h"
#include "ssd_records.h"

#include <apr_strings.h>

/* The keymaker of a rotation; the event's changes name the RSA selector
 * chosen in the transaction. */
typedef struct {
    ssd_keymaker_t m;
    ssd_req_t *q;
    const ssd_domain_t *d;
    ssd_event_t *ev;
} rotation_maker_t;

static int make_rotation_key(void *baton, ssd_dkim_alg_t alg,
                             const char *selector, ssd_dkim_key_t *k)
{
    rotation_maker_t *w = baton;

    if (alg == SSD_DKIM_RSA) {
        json_object *changes = ssd_json_new_object(w->q->r->pool);

        ssd_json_add_str(changes, "old_selector", w->d->dkim_selector);
        ssd_json_add_str(changes, "new_selector", selector);
        w->ev->changes = ssd_json_to_string(w->q->r->pool, changes);
    }
    return ssd_keymaker_make(&w->m, alg, selector, k);
}

static json_object *record_json(ssd_req_t *q, const ssd_domain_t *d,
                                const ssd_dkim_key_t *k, int with_alg)
{
    json_object *rec = json_object_new_object();

    ssd_json_add_str(rec, "type", "TXT");
    ssd_json_add_str(rec, "host", ssd_record_dkim_host(q->r->pool,
                                                        k->selector,
                                                        d->domain));
    ssd_json_add_str(rec, "value", ssd_record_dkim_value(q->r->pool,
                                                          k->algorithm,
                                                          k->public_key));
    if (with_alg) {
        ssd_json_add_str(rec, "selector", k->selector);
        ssd_json_add_str(rec, "algorithm", k->algorithm);
    }
    return rec;
}

/* dns_record: the RSA key's (as before Ed25519); dns_records: every new
 * pending key's, RSA first. */
static json_object *rotation_json(ssd_req_t *q, const ssd_domain_t *d,
                                  const apr_array_header_t *keys)
{
    json_object *o = ssd_json_new_object(q->r->pool);
    json_object *all = json_object_new_array();
    const ssd_dkim_key_t *rsa = NULL;
    int i;

    for (i = 0; i < keys->nelts; i++) {
        const ssd_dkim_key_t *k = &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t);

        if (ssd_dkim_alg_of(k->algorithm) == SSD_DKIM_RSA) {
            rsa = k;
        }
        json_object_array_add(all, record_json(q, d, k, 1));
    }
    ssd_json_add_str(o, "id", d->id);
    ssd_json_add_str(o, "domain", d->domain);
    ssd_json_add_str(o, "old_selector", d->dkim_selector);
    ssd_json_add_str(o, "new_selector", rsa ? rsa->selector : NULL);
    if (rsa) {
        json_object_object_add(o, "dns_record", record_json(q, d, rsa, 0));
    }
    json_object_object_add(o, "dns_records", all);
    ssd_json_add_str(o, "status", "pending");
    return o;
}

static int send_rotation_pending(ssd_req_t *q)
{
    return ssd_send_error(q->r, HTTP_CONFLICT, "rotation_pending", "a "
                          "rotation (or a new Ed25519 key) is already "
                          "pending: publish its record and verify, then "
                          "rotate again", NULL);
}

static int store_rotation(ssd_req_t *q, const ssd_domain_t *d,
                          rotation_maker_t *w)
{
    ssd_event_t ev = {q->who.sub, "dkim.rotated", NULL, NULL, NULL, NULL};
    ssd_rotation_t rot = {d, q->conf->selector_base, make_rotation_key, w,
                          NULL, &ev, NULL};
    ssd_store_rc rc;

    w->ev = &ev;
    rc = ssd_store_rotate(q->store, &rot);
    if (rc == SSD_STORE_CONFLICT) {
        return send_rotation_pending(q);
    }
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    return ssd_send_json(q->r, HTTP_OK, rotation_json(q, d, rot.keys));
}

int ssd_domain_rotate(ssd_req_t *q, const char *id)
{
    ssd_domain_t *d = ssd_domain_load(q, id, SSD_ACCESS_WRITE);
    rotation_maker_t w;
    ssd_store_rc rc;

    if (!d) {
        return OK;
    }
    /* a plain second rotation is refused before generating a key */
    rc = ssd_store_key_pending(q->store, d->id);
    if (rc == SSD_STORE_OK) {
        return send_rotation_pending(q);
    }
    if (rc != SSD_STORE_NOT_FOUND) {
        return ssd_send_store_error(q, rc);
    }
    /* the RSA key generation holds no database connection */
    ssd_req_store_release(q);
    w.m = (ssd_keymaker_t){q->r->pool, q->conf->kek, d->id,
                           q->conf->key_bits, NULL};
    w.q = q;
    w.d = d;
    w.ev = NULL;
    if (ssd_keymaker_generate_rsa(&w.m) != APR_SUCCESS) {
        SSD_RLOG(APLOG_ERR, 0, q->r, 301, "DKIM key generation failed");
        return ssd_send_error(q->r, HTTP_INTERNAL_SERVER_ERROR,
                              "internal_error", "the DKIM key could not be "
                              "generated", NULL);
    }
    return ssd_req_store(q) ? store_rotation(q, d, &w) : OK;
}

static int key_not_removable(ssd_req_t *q, const char *state)
{
    return ssd_send_error(q->r, HTTP_CONFLICT, "key_in_use",
                          apr_psprintf(q->r->pool, "the key is %s: only a "
                                       "retired key can be removed", state),
                          "selector");
}

int ssd_domain_key_delete(ssd_req_t *q, const char *id, const char *selector)
{
    ssd_domain_t *d = ssd_domain_load(q, id, SSD_ACCESS_WRITE);
    ssd_event_t ev = {q->who.sub, "dkim.removed", NULL, NULL, NULL, NULL};
    const char *state = NULL;
    ssd_store_rc rc;

    if (!d) {
        return OK;
    }
    rc = ssd_store_key_state(q->store, d->id, selector, &state);
    if (rc == SSD_STORE_NOT_FOUND) {
        return ssd_send_error(q->r, HTTP_NOT_FOUND, "not_found",
                              "no such DKIM key", "selector");
    }
    if (rc == SSD_STORE_OK && strcmp(state, "retired") != 0) {
        return key_not_removable(q, state);
    }
    ev.changes = ssd_json_pair(q->r->pool, "selector", selector);
    rc = rc == SSD_STORE_OK ? ssd_store_key_delete(q->store, d, selector, &ev)
                            : rc;
    if (rc == SSD_STORE_CONFLICT) {
        return key_not_removable(q, "no longer retired");
    }
    return rc == SSD_STORE_OK ? ssd_send_no_content(q->r)
                              : ssd_send_store_error(q, rc);
}
