/* mod_scaisend_domains_sign: POST /dkim/sign -- the send pipeline hands a
 * message over, the module signs it with the From: domain's active keys
 * (Ed25519 and RSA: api.md section 10).
 * The body is hashed as it streams in; keys never leave the module. */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_domain.h"
#include "ssd_json.h"
#include "ssd_keycache.h"
#include "ssd_metrics.h"
#include "ssd_sign.h"
#include "ssd_signcache.h"

#include <http_protocol.h>
#include <apr_strings.h>

#define READ_CHUNK 65536
#define MAX_HEADER_BYTES (256 * 1024)

static int take_param(ssd_req_t *q, const char *name, char *v, void *baton)
{
    if (strcmp(name, "tenant_id") != 0) {
        return ssd_bad_param(q, name, "the only parameter is tenant_id");
    }
    *(const char **)baton = v;
    return 0;
}

static int is_rfc822(request_rec *r)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    char *type = ct ? ap_getword(r->pool, &ct, ';') : NULL;

    return type && strcasecmp(apr_pstrdup(r->pool, type),
                              "message/rfc822") == 0;
}

static int too_large(ssd_req_t *q)
{
    q->r->connection->keepalive = AP_CONN_CLOSE;
    ssd_send_error(q->r, HTTP_REQUEST_ENTITY_TOO_LARGE, "payload_too_large",
                   apr_psprintf(q->r->pool, "the message is over the limit "
                                "of %" APR_OFF_T_FMT " bytes",
                                q->conf->sign_max), NULL);
    return -1;
}

static int malformed(ssd_req_t *q, const ssd_sign_error_t *e)
{
    ssd_send_error(q->r, HTTP_BAD_REQUEST, e->code, e->message, NULL);
    return -1;
}

/* Stream the body into the signer; 0, or -1 once a response is sent. */
static int stream_message(ssd_req_t *q, ssd_signer_t *s)
{
    char *buf = apr_palloc(q->r->pool, READ_CHUNK);
    apr_off_t total = 0;
    ssd_sign_error_t err;
    ssd_body_t body;
    apr_ssize_t n;

    ssd_body_open(&body, q->r);
    while ((n = ssd_body_read(&body, buf, READ_CHUNK)) > 0) {
        if ((total += n) > q->conf->sign_max) {
            return too_large(q);
        }
        if (ssd_signer_feed(s, buf, (apr_size_t)n, &err) != 0) {
            return malformed(q, &err);
        }
    }
    if (n < 0) {
        ssd_send_body_error(q, (int)-n, 0);
        return -1;
    }
    return ssd_signer_finish(s, &err) != 0 ? malformed(q, &err) : 0;
}

/* Only "deliver" is signed; anything else is 409 with the decision. */
static int refuse_send(ssd_req_t *q, const char *domain,
                       const ssd_send_verdict_t *v)
{
    json_object *o = ssd_sender_json(q->r->pool, domain, v);
    json_object *e = json_object_new_object();

    ssd_json_add_str(e, "code", "send_not_allowed");
    ssd_json_add_str(e, "message", v->reason ? v->reason
                                             : "the domain may not send");
    json_object_object_add(o, "error", e);
    return ssd_send_json(q->r, HTTP_CONFLICT, o);
}

/* The process's unwrapped keys and its signing decisions (made in
 * child_init; decisions are kept only while the database's changes are
 * counted, ssd_changes_read, only with the key cache on, and for at most
 * a second: a change the module commits drops them at once, the second
 * bounds one made behind its back). */
#define DECISION_TTL apr_time_from_sec(1)

static ssd_keycache_t *keycache;
static ssd_signcache_t *signcache;

void ssd_sign_child_init(apr_pool_t *child, server_rec *s)
{
    ssd_conf_t *c = ssd_conf_get(s);

    ssd_signer_init();
    keycache = ssd_keycache_create(child, c->key_cache,
                                   apr_time_from_msec(c->key_cache_ttl_ms));
    signcache = ssd_signcache_create(child, c->key_cache, DECISION_TTL);
}

static int cannot_sign(ssd_req_t *q, const char *domain_id,
                       const char *selector)
{
    SSD_RLOG(APLOG_ERR, 0, q->r, 501, "the key of %s (selector %s) could "
             "not be used", domain_id, selector);
    return ssd_send_error(q->r, HTTP_INTERNAL_SERVER_ERROR, "internal_error",
                          "the message could not be signed", NULL);
}

/* The keys that sign: the domain's active keys of its algorithms,
 * Ed25519 first (api.md section 10), then RSA. */
static apr_array_header_t *signing_keys(apr_pool_t *p, const ssd_domain_t *d,
                                        const apr_array_header_t *keys)
{
    apr_array_header_t *out = apr_array_make(p, 2, sizeof(ssd_dkim_key_t *));
    unsigned algs = ssd_dkim_algs_parse(d->dkim_algorithms);
    int order[] = {SSD_DKIM_ED25519, SSD_DKIM_RSA}, i, j;

    for (j = 0; j < 2; j++) {
        for (i = 0; i < keys->nelts; i++) {
            ssd_dkim_key_t *k = &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t);

            if ((int)ssd_dkim_alg_of(k->algorithm) == order[j]
                && (algs & SSD_DKIM_ALG_BIT(order[j]))) {
                APR_ARRAY_PUSH(out, ssd_dkim_key_t *) = k;
                break;
            }
        }
    }
    return out;
}

/* A key of the domain, unwrapped (from the process's cache); a new one
 * drops the domain's older keys from the cache (current: the selectors
 * that sign now, NULL-terminated). */
static EVP_PKEY *active_key(ssd_req_t *q, const char *domain_id,
                            const ssd_dkim_key_t *k,
                            const char *const *current,
                            EVP_PKEY_CTX **prepared)
{
    ssd_keyref_t ref = {domain_id, k->selector, k->wrapped_key, q->conf->kek};
    int hit = 0;
    EVP_PKEY *key = ssd_keycache_get(keycache, q->r->pool, &ref, &hit,
                                     prepared);

    if (!hit) {
        /* a new key of the domain: the older ones are not its keys now */
        ssd_keycache_keep_only(keycache, domain_id, current);
    }
    return key;
}

static const char **selectors_of(apr_pool_t *p,
                                 const apr_array_header_t *keys)
{
    const char **out = apr_pcalloc(p, (keys->nelts + 1) * sizeof(*out));
    int i;

    for (i = 0; i < keys->nelts; i++) {
        out[i] = APR_ARRAY_IDX(keys, i, ssd_dkim_key_t *)->selector;
    }
    return out;
}

static json_object *signed_json(ssd_req_t *q, const char *domain,
                                const char *rsa_header,
                                const char *rsa_selector,
                                json_object *headers)
{
    json_object *o = ssd_json_new_object(q->r->pool);

    ssd_json_add_str(o, "dkim_signature", rsa_header);
    json_object_object_add(o, "dkim_signatures", headers);
    ssd_json_add_str(o, "d", domain);
    ssd_json_add_str(o, "selector", rsa_selector);
    return o;
}

/* One DKIM-Signature per signing key, all with one t= (and x=). */
static int sign_with(ssd_req_t *q, ssd_signer_t *s, const ssd_signing_t *sg)
{
    const apr_array_header_t *keys = sg->keys;
    const char **current = selectors_of(q->r->pool, keys);
    ssd_sign_params_t sp = {sg->domain, NULL, apr_time_now(),
                            q->conf->signature_ttl_ms / 1000,
                            q->conf->sign_headers, NULL};
    const char *rsa_header = NULL, *rsa_selector = NULL;
    json_object *headers = json_object_new_array();
    int i;

    for (i = 0; i < keys->nelts; i++) {
        const ssd_dkim_key_t *k = APR_ARRAY_IDX(keys, i, ssd_dkim_key_t *);
        EVP_PKEY *key = active_key(q, sg->domain_id, k, current,
                                   &sp.prepared);
        ssd_dkim_alg_t alg = ssd_dkim_alg_of(k->algorithm);
        const char *header;

        sp.selector = k->selector;
        if (!key || ssd_dkim_key_alg(key) != alg
            || !(header = ssd_signer_sign(s, key, &sp))) {
            json_object_put(headers);
            return cannot_sign(q, sg->domain_id, k->selector);
        }
        ssd_metric_count(SSD_METRIC_SIGNATURE, alg == SSD_DKIM_ED25519
                         ? SSD_ALG_ED25519_SHA256 : SSD_ALG_RSA_SHA256);
        json_object_array_add(headers, json_object_new_string(header));
        if (alg == SSD_DKIM_RSA) {
            rsa_header = header;
            rsa_selector = k->selector;
        }
    }
    return ssd_send_json(q->r, HTTP_OK, signed_json(q, sg->domain, rsa_header,
                                                    rsa_selector, headers));
}

/* Where a decision read from the database is kept: its name, the count
 * of changes before the query, and when it was asked. */
typedef struct {
    const char *name;
    apr_uint64_t changes;
    apr_time_t asked;
} ssd_decision_ref_t;

/* The send decision and the keys of the domain decided on, from one
 * query; the connection goes back before any crypto is done. A decision
 * to sign is kept (see ssd_signcache) when changes are counted. */
static int decide_and_sign(ssd_req_t *q, ssd_signer_t *s, const char *domain,
                           const char *tenant, const ssd_decision_ref_t *ref)
{
    apr_array_header_t *cands, *domains;
    const ssd_sign_candidate_t *c, *chosen = NULL;
    ssd_signing_t sg = {NULL, NULL, NULL};
    ssd_send_verdict_t v;
    ssd_store_rc rc;
    int i;

    if (!ssd_req_store(q)) {
        return OK;
    }
    rc = ssd_store_sign_candidates(q->store, q->who.partner_id, tenant,
                                   domain, &cands);
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    ssd_req_store_release(q);
    domains = apr_array_make(q->r->pool, cands->nelts, sizeof(ssd_domain_t *));
    for (i = 0; i < cands->nelts; i++) {
        c = &APR_ARRAY_IDX(cands, i, ssd_sign_candidate_t);
        APR_ARRAY_PUSH(domains, const ssd_domain_t *) = c->domain;
    }
    ssd_sender_decide(domains, tenant, 1, &v);
    for (i = 0; v.domain && i < cands->nelts; i++) {
        c = &APR_ARRAY_IDX(cands, i, ssd_sign_candidate_t);
        chosen = c->domain == v.domain ? c : chosen;
    }
    if (v.decision != SSD_SEND_DELIVER) {
        return refuse_send(q, domain, &v);
    }
    sg.keys = chosen ? signing_keys(q->r->pool, v.domain, chosen->keys) : NULL;
    if (!sg.keys || sg.keys->nelts == 0) {
        return cannot_sign(q, v.domain->id, "(none active)");
    }
    sg.domain_id = v.domain->id;
    sg.domain = v.domain->domain;
    if (ref) {
        ssd_signcache_put(signcache, ref->name, ref->changes, ref->asked, &sg);
    }
    return sign_with(q, s, &sg);
}

/* A decision this process keeps for the caller and the From: domain,
 * signed with at once; else the database decides. */
static int sign_message(ssd_req_t *q, ssd_signer_t *s, const char *domain,
                        const char *tenant)
{
    ssd_decision_ref_t ref;
    ssd_signing_t sg;

    if (!signcache || ssd_changes_read(&ref.changes) != 0) {
        return decide_and_sign(q, s, domain, tenant, NULL);
    }
    ref.name = ssd_signcache_name(q->r->pool, q->who.partner_id, tenant,
                                  domain);
    ref.asked = apr_time_now();
    if (ssd_signcache_get(signcache, q->r->pool, ref.name, ref.changes,
                          ref.asked, &sg)) {
        return sign_with(q, s, &sg);
    }
    return decide_and_sign(q, s, domain, tenant, &ref);
}

static int check_request(ssd_req_t *q)
{
    const char *cl = apr_table_get(q->r->headers_in, "Content-Length");

    if (q->who.role != SSD_ROLE_SENDER) {
        ssd_send_error(q->r, HTTP_FORBIDDEN, "forbidden", "signing is for "
                       "the send pipeline (role sender)", NULL);
        return -1;
    }
    if (cl && apr_atoi64(cl) > q->conf->sign_max) {
        return too_large(q);
    }
    if (!is_rfc822(q->r)) {
        ssd_send_error(q->r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                       "unsupported_media_type", "send the raw message as "
                       "Content-Type: message/rfc822", NULL);
        return -1;
    }
    return 0;
}

int ssd_dkim_sign(ssd_req_t *q)
{
    const char *tenant = NULL, *domain;
    ssd_signer_t *s;
    ssd_domain_name_t name;

    if (ssd_parse_query(q, take_param, &tenant) != 0 || check_request(q)) {
        return OK;
    }
    s = ssd_signer_new(q->r->pool, MAX_HEADER_BYTES);
    if (!s || stream_message(q, s) != 0) {
        return s ? OK : ssd_send_store_error(q, SSD_STORE_FAILED);
    }
    if (ssd_domain_normalise(q->r->pool, ssd_signer_from_domain(s), NULL,
                             NULL, &name)) {
        ssd_sign_error_t e = {"invalid_from", "the domain of the From: "
                              "address is not a valid domain name"};
        malformed(q, &e);
        return OK;
    }
    domain = name.domain;
    return sign_message(q, s, domain, tenant);
}
