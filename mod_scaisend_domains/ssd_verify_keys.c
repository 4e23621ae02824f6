/* ssd_verify_keys: the DKIM checks of a domain's keys of several
 * algorithms (RSA, Ed25519: api.md section 10) -- each key checked on its
 * own, the checks merged into the answer's dkim and dkim_pending, and the
 * promotion of the pending keys once all are published. */
#include "ssd_verify.h"
#include "ssd_dkim.h"
#include "ssd_json.h"

#include <string.h>

#define KEY_AT(a, i) (&APR_ARRAY_IDX(a, i, ssd_verify_key_result_t))

static int severity(ssd_check_status_e s)
{
    return s == SSD_CHECK_FAIL ? 2 : s == SSD_CHECK_TEMPERROR ? 1 : 0;
}

static apr_array_header_t *joined(apr_pool_t *p, const apr_array_header_t *a,
                                  const apr_array_header_t *b)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(ssd_finding_t));

    if (a) apr_array_cat(out, a);
    if (b) apr_array_cat(out, b);
    return out;
}

/* into gets r's findings and the worse of the two statuses; its host and
 * authoritative view stay the first key's. */
static void merge(apr_pool_t *p, ssd_check_result_t *into,
                  const ssd_check_result_t *r)
{
    if (severity(r->status) > severity(into->status)) {
        into->status = r->status;
    }
    into->errors = joined(p, into->errors, r->errors);
    into->warnings = joined(p, into->warnings, r->warnings);
    into->lookups += r->lookups;
    into->dropped_errors += r->dropped_errors;
    into->dropped_warnings += r->dropped_warnings;
}

static void add_key(ssd_verify_result_t *res, int alg, const char *selector,
                    int pending, const ssd_check_result_t *r)
{
    ssd_verify_key_result_t *k = apr_array_push(res->keys);

    memset(k, 0, sizeof(*k));
    k->key.alg = alg;
    k->key.selector = selector;
    k->key.pending = pending;
    k->result = *r;
    k->in_dkim = !pending;
}

void ssd_verify_merge_keys(apr_pool_t *p, const ssd_verify_input_t *in,
                           ssd_verify_result_t *res)
{
    int i, n = in->keys ? in->keys->nelts : 0;

    res->keys = apr_array_make(p, 4, sizeof(ssd_verify_key_result_t));
    add_key(res, SSD_DKIM_RSA, in->selector, 0, &res->dkim);
    if (res->has_pending) {
        add_key(res, SSD_DKIM_RSA, in->pending_selector, 1, &res->pending);
    }
    for (i = 0; i < n && i < SSD_VERIFY_MAX_KEYS; i++) {
        const ssd_verify_key_t *k = &APR_ARRAY_IDX(in->keys, i,
                                                   ssd_verify_key_t);

        add_key(res, k->alg, k->selector, k->pending, &res->more[i]);
        KEY_AT(res->keys, res->keys->nelts - 1)->key.public_b64 =
            k->public_b64;
        if (!k->pending) {
            merge(p, &res->dkim, &res->more[i]);
        }
        else if (res->has_pending) {
            merge(p, &res->pending, &res->more[i]);
        }
        else {
            res->pending = res->more[i];
            res->has_pending = 1;
        }
    }
}

static const ssd_verify_key_result_t *pending_of(const ssd_verify_result_t *r,
                                                 int alg)
{
    int i;

    for (i = 0; i < r->keys->nelts; i++) {
        if (KEY_AT(r->keys, i)->key.pending
            && KEY_AT(r->keys, i)->key.alg == alg) {
            return KEY_AT(r->keys, i);
        }
    }
    return NULL;
}

static void retiring(apr_pool_t *p, ssd_check_result_t *into,
                     const ssd_check_result_t *old)
{
    int i;

    into->warnings = joined(p, into->warnings, NULL);
    for (i = 0; old->errors && i < old->errors->nelts; i++) {
        ssd_finding_t *f = apr_array_push(into->warnings);

        *f = APR_ARRAY_IDX(old->errors, i, ssd_finding_t);
        f->check = "dkim_retiring";
    }
}

/* The key that stands for k's algorithm after the promotion. */
static int stands(const ssd_verify_result_t *res,
                  const ssd_verify_key_result_t *k)
{
    return k->key.pending || !pending_of(res, k->key.alg);
}

int ssd_verify_promote(apr_pool_t *p, ssd_verify_result_t *res)
{
    const ssd_verify_key_result_t *rsa = KEY_AT(res->keys, 0);
    ssd_check_result_t now;
    int i;

    if (!res->has_pending || res->pending.status != SSD_CHECK_PASS) {
        return 0;
    }
    /* the RSA key first when it stays: its host names the check */
    now = stands(res, rsa) ? rsa->result : res->pending;
    if (stands(res, rsa)) {
        merge(p, &now, &res->pending);
    }
    for (i = 0; i < res->keys->nelts; i++) {
        ssd_verify_key_result_t *k = KEY_AT(res->keys, i);

        k->in_dkim = stands(res, k);
        if (k->in_dkim && !k->key.pending && i > 0) {
            merge(p, &now, &k->result);
        }
    }
    for (i = 0; i < res->keys->nelts; i++) {
        if (!KEY_AT(res->keys, i)->in_dkim) {
            retiring(p, &now, &KEY_AT(res->keys, i)->result);
        }
    }
    res->dkim = now;
    res->has_pending = 0;
    return 1;
}

json_object *ssd_verify_keys_json(const ssd_verify_result_t *res,
                                  int pending)
{
    json_object *a;
    int i, n = 0;

    for (i = 0; res->keys && i < res->keys->nelts; i++) {
        const ssd_verify_key_result_t *k = KEY_AT(res->keys, i);

        n += pending ? k->key.pending && !k->in_dkim : k->in_dkim;
    }
    if (n < 2) {
        return NULL;
    }
    a = json_object_new_array();
    for (i = 0; i < res->keys->nelts; i++) {
        const ssd_verify_key_result_t *k = KEY_AT(res->keys, i);
        json_object *o;

        if (pending ? !(k->key.pending && !k->in_dkim) : !k->in_dkim) {
            continue;
        }
        o = json_object_new_object();
        ssd_json_add_str(o, "selector", k->key.selector);
        ssd_json_add_str(o, "algorithm", ssd_dkim_alg_name(k->key.alg));
        ssd_json_add_str(o, "status", ssd_check_status_name(k->result.status));
        ssd_json_add_str(o, "host", k->result.host);
        json_object_array_add(a, o);
    }
    return a;
}
