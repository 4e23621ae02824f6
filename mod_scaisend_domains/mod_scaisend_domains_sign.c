/* mod_scaisend_domains_sign: POST /dkim/sign -- the send pipeline hands a
 * message over, the module signs it with the From: domain's active key.
 * The body is hashed as it streams in; keys never leave the module. */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_domain.h"
#include "ssd_json.h"
#include "ssd_metrics.h"
#include "ssd_sign.h"

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

static int sign_with_active_key(ssd_req_t *q, ssd_signer_t *s,
                                const ssd_domain_t *d)
{
    const char *selector = NULL, *wrapped = NULL, *header;
    EVP_PKEY *key = NULL;
    json_object *o;
    ssd_store_rc rc = ssd_store_signing_key(q->store, d->id, &selector,
                                            &wrapped);

    if (rc == SSD_STORE_NOT_FOUND) {
        /* deleted since the decision (another node, say): decide again,
         * for a domain that is no longer registered */
        ssd_send_verdict_t gone = {SSD_SEND_FAIL, "domain not verified", NULL};

        return refuse_send(q, d->domain, &gone);
    }
    if (rc != SSD_STORE_OK) {
        return ssd_send_store_error(q, rc);
    }
    if (ssd_dkim_unwrap(q->r->pool, q->conf->kek, wrapped, d->id, selector,
                        &key) != APR_SUCCESS
        || !(header = ssd_signer_sign(s, key, d->domain, selector,
                                      apr_time_now()))) {
        SSD_RLOG(APLOG_ERR, 0, q->r, 501, "the key of %s (selector %s) could "
                 "not be used", d->id, selector);
        return ssd_send_error(q->r, HTTP_INTERNAL_SERVER_ERROR,
                              "internal_error", "the message could not be "
                              "signed", NULL);
    }
    ssd_metric_count(SSD_METRIC_SIGNATURE, SSD_ALG_RSA_SHA256);
    o = ssd_json_new_object(q->r->pool);
    ssd_json_add_str(o, "dkim_signature", header);
    ssd_json_add_str(o, "d", d->domain);
    ssd_json_add_str(o, "selector", selector);
    return ssd_send_json(q->r, HTTP_OK, o);
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
    ssd_send_verdict_t v;

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
    if (ssd_sender_decide_for(q, domain, tenant, 1, &v) != 0) {
        return OK;
    }
    return v.decision == SSD_SEND_DELIVER
           ? sign_with_active_key(q, s, v.domain)
           : refuse_send(q, domain, &v);
}
