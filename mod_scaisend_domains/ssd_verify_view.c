/* ssd_verify_view: the answer of a verification (api.md section 4): the
 * product page's keys first, then checks, errors, warnings, checked_at. */
#include "ssd_verify.h"
#include "ssd_authority.h"
#include "ssd_json.h"

#include <string.h>
#include <apr_strings.h>

static json_object *finding_json(const ssd_finding_t *f, const char *check)
{
    json_object *o = json_object_new_object();

    ssd_json_add_str(o, "check", check ? check : f->check);
    ssd_json_add_str(o, "code", f->code);
    if (f->host) {
        ssd_json_add_str(o, "host", f->host);
    }
    ssd_json_add_str(o, "message", f->message);
    if (f->expected) {
        ssd_json_add_str(o, "expected", f->expected);
    }
    if (f->found) {
        ssd_json_add_str(o, "found", f->found);
    }
    return o;
}

/* Append the findings of list to the JSON array a; check renames them. */
static void add_findings(json_object *a, const apr_array_header_t *list,
                         const char *check)
{
    int i;

    for (i = 0; list && i < list->nelts; i++) {
        json_object_array_add(
            a, finding_json(&APR_ARRAY_IDX(list, i, ssd_finding_t), check));
    }
}

static json_object *nameserver_json(const ssd_auth_server_t *s)
{
    json_object *o = json_object_new_object();

    ssd_json_add_str(o, "name", s->name);
    json_object_object_add(o, "address", s->address
                           ? json_object_new_string(s->address) : NULL);
    ssd_json_add_str(o, "result", ssd_auth_result_name(s->result));
    json_object_object_add(o, "serial", s->has_serial
                           ? json_object_new_int64(s->serial) : NULL);
    if (s->reason) {
        ssd_json_add_str(o, "reason", s->reason);
    }
    return o;
}

/* The authoritative view (api.md section 9): zone, nameservers,
 * propagation and its sentence; a check without one asked nobody. */
static void add_authority(json_object *o, const ssd_authority_view_t *v)
{
    json_object *a = json_object_new_array();
    int i;

    if (v && v->zone) {
        ssd_json_add_str(o, "zone", v->zone);
    }
    for (i = 0; v && i < v->servers->nelts; i++) {
        json_object_array_add(a, nameserver_json(
            &APR_ARRAY_IDX(v->servers, i, ssd_auth_server_t)));
    }
    json_object_object_add(o, "nameservers", a);
    ssd_json_add_str(o, "propagation", ssd_propagation_name(
        v ? v->propagation : SSD_PROPAGATION_NONE));
    ssd_json_add_str(o, "propagation_note", v ? v->note
                     : "the authoritative nameservers were not asked: the "
                       "check did not run");
}

static json_object *check_json(const ssd_check_result_t *r)
{
    json_object *o = json_object_new_object();
    int dropped = r->dropped_errors + r->dropped_warnings;

    ssd_json_add_str(o, "status", ssd_check_status_name(r->status));
    ssd_json_add_str(o, "host", r->host);
    if (dropped) {
        json_object_object_add(o, "findings_not_shown",
                               json_object_new_int(dropped));
    }
    add_authority(o, r->authority);
    return o;
}

/* A DKIM check of several keys lists each key's own status. */
static json_object *dkim_json(const ssd_check_result_t *r,
                              const ssd_verify_result_t *res, int pending)
{
    json_object *o = check_json(r), *keys = ssd_verify_keys_json(res,
                                                                 pending);

    if (keys) {
        json_object_object_add(o, "keys", keys);
    }
    return o;
}

static json_object *checks_json(const ssd_verify_result_t *res)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "dkim", dkim_json(&res->dkim, res, 0));
    json_object_object_add(o, "spf", check_json(&res->spf));
    json_object_object_add(o, "dmarc", check_json(&res->dmarc));
    if (res->has_pending) {
        json_object_object_add(o, "dkim_pending",
                               dkim_json(&res->pending, res, 1));
    }
    return o;
}

static json_object *errors_json(const ssd_verify_result_t *res)
{
    json_object *a = json_object_new_array();

    add_findings(a, res->dkim.errors, NULL);
    add_findings(a, res->spf.errors, NULL);
    add_findings(a, res->dmarc.errors, NULL);
    return a;
}

/* A pending key not yet published does not fail the verification: its
 * findings are warnings. */
static json_object *warnings_json(const ssd_verify_result_t *res)
{
    json_object *a = json_object_new_array();

    add_findings(a, res->dkim.warnings, NULL);
    add_findings(a, res->spf.warnings, NULL);
    add_findings(a, res->dmarc.warnings, NULL);
    if (res->has_pending) {
        add_findings(a, res->pending.errors, "dkim_pending");
        add_findings(a, res->pending.warnings, "dkim_pending");
    }
    return a;
}

json_object *ssd_verify_json(apr_pool_t *p, const char *domain, int verified,
                             const ssd_verify_result_t *res)
{
    json_object *o = ssd_json_new_object(p);
    int dmarc = res->dmarc.status == SSD_CHECK_PASS;

    ssd_json_add_str(o, "domain", domain);
    ssd_json_add_bool(o, "verified", verified);
    ssd_json_add_bool(o, "dkim_verified", res->dkim.status == SSD_CHECK_PASS);
    ssd_json_add_bool(o, "spf_verified", res->spf.status == SSD_CHECK_PASS);
    ssd_json_add_bool(o, "txt_verified", dmarc);
    ssd_json_add_bool(o, "dmarc_verified", dmarc);
    json_object_object_add(o, "checks", checks_json(res));
    json_object_object_add(o, "errors", errors_json(res));
    json_object_object_add(o, "warnings", warnings_json(res));
    ssd_json_add_str(o, "checked_at", res->checked_at);
    return o;
}

/* Drop the key of every finding in the array. */
static void drop_key(json_object *findings, const char *key)
{
    size_t i;

    for (i = 0; i < json_object_array_length(findings); i++) {
        json_object_object_del(json_object_array_get_idx(findings, i), key);
    }
}

/* Keep the first n findings of the array. */
static void keep_first(json_object *findings, size_t n)
{
    size_t len = json_object_array_length(findings);

    if (len > n) {
        json_object_array_del_idx(findings, n, len - n);
    }
}

/* Cut every text of the findings to at most n bytes (on a UTF-8
 * boundary: the texts are ASCII or escaped). */
static void cut_texts(apr_pool_t *p, json_object *findings, apr_size_t n)
{
    static const char *const keys[] = {"message", "expected", "found"};
    json_object *f, *v;
    size_t i, k;

    for (i = 0; i < json_object_array_length(findings); i++) {
        f = json_object_array_get_idx(findings, i);
        for (k = 0; k < 3; k++) {
            if (json_object_object_get_ex(f, keys[k], &v)
                && json_object_get_string_len(v) > (int)n) {
                json_object_object_add(f, keys[k], json_object_new_string(
                    apr_pstrcat(p, apr_pstrmemdup(p, json_object_get_string(v),
                                                  n), "...", NULL)));
            }
        }
    }
}

const char *ssd_verify_answer_text(apr_pool_t *p, json_object *answer,
                                   apr_size_t max)
{
    const char *lists[] = {"errors", "warnings"};
    const char *text = ssd_json_to_string(p, answer);
    json_object *a;
    size_t n = SSD_CHECK_MAX_FINDINGS;
    int i;

    while (strlen(text) > max && n > 0) {
        for (i = 0; i < 2; i++) {
            if (json_object_object_get_ex(answer, lists[i], &a)) {
                drop_key(a, "found");
                keep_first(a, n);
            }
        }
        json_object_object_add(answer, "truncated", json_object_new_boolean(1));
        text = ssd_json_to_string(p, answer);
        n /= 2;
    }
    for (i = 0; i < 2 && strlen(text) > max; i++) {
        if (json_object_object_get_ex(answer, lists[i], &a)) {
            cut_texts(p, a, 1024);
        }
        text = ssd_json_to_string(p, answer);
    }
    return text;
}
