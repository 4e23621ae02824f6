/* ssd_webhook_body: the JSON body of an event (api.md section 9):
 * {"id", "type", "created_at", "data": {"domain_id", "domain",
 *  "partner_id", "tenant_id", "previous", "current", ...}}. */
#include "ssd_webhook.h"

#include <string.h>

#include <apr_strings.h>

#include "ssd_json.h"

#define TYPE_MAX 64
#define EXTRA_DEPTH 8

static const char *const fixed_members[] = {
    "domain_id", "domain", "partner_id", "tenant_id", "previous", "current",
    NULL
};

static int is_utf8(const char *s)
{
    apr_size_t n = strlen(s);

    return ssd_utf8_valid_len(s, n) == n;
}

/* Dotted words of [a-z0-9_]: "domain.verified", "dkim.rotation_due". */
static int type_is_valid(const char *t)
{
    apr_size_t i, word = 0, dots = 0;

    for (i = 0; t[i]; i++) {
        if (t[i] == '.' && word) {
            dots++, word = 0;
        }
        else if ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9')
                 || t[i] == '_') {
            word++;
        }
        else {
            return 0;
        }
    }
    return i <= TYPE_MAX && dots > 0 && word > 0;
}

/* NULL when every text field is present where required and UTF-8. */
static const char *fields_error(const ssd_webhook_event_t *ev)
{
    const char *need[] = {ev->domain_id, ev->domain, ev->partner_id};
    const char *maybe[] = {ev->tenant_id, ev->previous, ev->current};
    int i;

    if (!ssd_webhook_id_is_valid(ev->id)) {
        return "the event id is not a valid webhook-id";
    }
    if (!ev->type || !type_is_valid(ev->type)) {
        return "the event type is not dotted lower-case words";
    }
    if (ev->created <= 0) {
        return "the event has no time";
    }
    for (i = 0; i < 3; i++) {
        if (!need[i] || !*need[i] || !is_utf8(need[i])) {
            return "domain_id, domain and partner_id are required UTF-8 text";
        }
        if (maybe[i] && !is_utf8(maybe[i])) {
            return "tenant_id, previous and current must be UTF-8 text";
        }
    }
    return NULL;
}

static const char *rfc3339(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t x;
    char buf[32];
    apr_size_t len = 0;

    apr_time_exp_gmt(&x, t);
    apr_strftime(buf, &len, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &x);
    return apr_pstrmemdup(p, buf, len);
}

static int is_fixed(const char *k)
{
    int i;

    for (i = 0; fixed_members[i]; i++) {
        if (strcmp(k, fixed_members[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The members of extra (an object's JSON text) after those of data. */
static const char *add_extra(apr_pool_t *p, json_object *data,
                             const char *extra)
{
    ssd_json_error_t jerr;
    json_object *o = ssd_json_parse_strict(p, extra, strlen(extra),
                                           EXTRA_DEPTH, &jerr);

    if (!o) {
        return apr_pstrcat(p, "the extra data is not a JSON object: ",
                           jerr.message, NULL);
    }
    json_object_object_foreach(o, k, v) {
        if (is_fixed(k)) {
            return apr_pstrcat(p, "the extra data repeats '", k, "'", NULL);
        }
        json_object_object_add(data, k, json_object_get(v));
    }
    return NULL;
}

static json_object *data_object(const ssd_webhook_event_t *ev)
{
    json_object *d = json_object_new_object();

    ssd_json_add_str(d, "domain_id", ev->domain_id);
    ssd_json_add_str(d, "domain", ev->domain);
    ssd_json_add_str(d, "partner_id", ev->partner_id);
    ssd_json_add_str(d, "tenant_id", ev->tenant_id);
    ssd_json_add_str(d, "previous", ev->previous);
    ssd_json_add_str(d, "current", ev->current);
    return d;
}

const char *ssd_webhook_body(apr_pool_t *p, const ssd_webhook_event_t *ev,
                             const char **err)
{
    json_object *o, *data;

    if ((*err = fields_error(ev))) {
        return NULL;
    }
    o = ssd_json_new_object(p);
    ssd_json_add_str(o, "id", ev->id);
    ssd_json_add_str(o, "type", ev->type);
    ssd_json_add_str(o, "created_at", rfc3339(p, ev->created));
    data = data_object(ev);
    json_object_object_add(o, "data", data);
    if (ev->extra && (*err = add_extra(p, data, ev->extra))) {
        return NULL;
    }
    return ssd_json_to_string(p, o);
}
