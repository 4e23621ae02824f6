/* mod_scaisend_domains_keys: DKIM rotation (POST .../rotate-dkim) and the
 * removal of a retired key (DELETE .../dkim-keys/{selector}). */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_json.h"
#include "ssd_records.h"

#include <apr_strings.h>

typedef struct {
    ssd_req_t *q;
    const ssd_domain_t *d;
    EVP_PKEY *pkey;
    ssd_event_t *ev;        /* its changes name the selector chosen */
} wrap_ctx_t;

static const char *wrap_for_selector(void *baton, const char *selector)
{
    wrap_ctx_t *w = baton;
    const char *wrapped = NULL;

    json_object *changes = ssd_json_new_object(w->q->r->pool);

    if (ssd_dkim_wrap(w->q->r->pool, w->q->conf->kek, w->pkey, w->d->id,
                      selector, &wrapped) != APR_SUCCESS) {
        return NULL;
    }
    ssd_json_add_str(changes, "old_selector", w->d->dkim_selector);
    ssd_json_add_str(changes, "new_selector", selector);
    w->ev->changes = ssd_json_to_string(w->q->r->pool, changes);
    return wrapped;
}

static json_object *rotation_json(ssd_req_t *q, const ssd_domain_t *d,
                                  const ssd_dkim_key_t *k)
{
    json_object *o = ssd_json_new_object(q->r->pool);
    json_object *rec = json_object_new_object();

    ssd_json_add_str(rec, "type", "TXT");
    ssd_json_add_str(rec, "host", ssd_record_dkim_host(q->r->pool,
                                                        k->selector,
                                                        d->domain));
    ssd_json_add_str(rec, "value", ssd_record_dkim_value(q->r->pool,
                                                          k->public_key));
    ssd_json_add_str(o, "id", d->id);
    ssd_json_add_str(o, "domain", d->domain);
    ssd_json_add_str(o, "old_selector", d->dkim_selector);
    ssd_json_add_str(o, "new_selector", k->selector);
    json_object_object_add(o, "dns_record", rec);
    ssd_json_add_str(o, "status", "pending");
    return o;
}

static int send_rotation_pending(ssd_req_t *q)
{
    return ssd_send_error(q->r, HTTP_CONFLICT, "rotation_pending", "a "
                          "rotation is already pending: publish its record "
                          "and verify, then rotate again", NULL);
}

static int store_rotation(ssd_req_t *q, const ssd_domain_t *d,
                          wrap_ctx_t *w, ssd_dkim_key_t *k)
{
    ssd_event_t ev = {q->who.sub, "dkim.rotated", NULL, NULL, NULL, NULL};
    ssd_rotation_t rot = {d, q->conf->selector_base, wrap_for_selector, w, k,
                          &ev, NULL};
    ssd_store_rc rc;

    w->ev = &ev;
    rc = ssd_store_rotate(q->store, &rot);
    if (rc == SSD_STORE_CONFLICT) {
        return send_rotation_pending(q);
    }
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    return ssd_send_json(q->r, HTTP_OK, rotation_json(q, d, k));
}

int ssd_domain_rotate(ssd_req_t *q, const char *id)
{
    ssd_domain_t *d = ssd_domain_load(q, id, SSD_ACCESS_WRITE);
    wrap_ctx_t w = {q, d, NULL, NULL};
    ssd_dkim_key_t k;
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
    /* the key generation holds no database connection */
    ssd_req_store_release(q);
    memset(&k, 0, sizeof(k));
    if (ssd_dkim_generate(q->r->pool, q->conf->key_bits, &w.pkey)
            != APR_SUCCESS
        || !(k.public_key = ssd_dkim_public_b64(q->r->pool, w.pkey))) {
        SSD_RLOG(APLOG_ERR, 0, q->r, 301, "DKIM key generation failed");
        return ssd_send_error(q->r, HTTP_INTERNAL_SERVER_ERROR,
                              "internal_error", "the DKIM key could not be "
                              "generated", NULL);
    }
    k.bits = q->conf->key_bits;
    return ssd_req_store(q) ? store_rotation(q, d, &w, &k) : OK;
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
