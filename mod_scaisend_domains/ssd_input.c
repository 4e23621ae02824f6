/* ssd_input: strict checking of domain create and patch bodies. */
#include "ssd_input.h"
#include "ssd_dkim.h"
#include "ssd_domain.h"

#include <string.h>
#include <apr_strings.h>

#define TENANT_ID_MAX 255

typedef enum { F_STRING, F_NULLABLE_STRING, F_BOOL, F_ARRAY } field_type_e;

typedef struct {
    const char *name;
    field_type_e type;
    int on_create;
    int on_patch;
} field_spec_t;

static const field_spec_t writable[] = {
    {"domain", F_STRING, 1, 0},
    {"dmarc_policy", F_STRING, 1, 1},
    {"dmarc_rua_email", F_NULLABLE_STRING, 1, 1},
    {"is_shared", F_BOOL, 1, 1},
    {"is_active", F_BOOL, 1, 1},
    {"tenant_id", F_STRING, 1, 0},
    {"dkim_algorithms", F_ARRAY, 1, 1},
    {NULL, F_STRING, 0, 0}
};

static const char *const read_only[] = {
    "id", "verified", "dkim_selector", "dns_records", "partner_id",
    "created_at", "updated_at", "verified_at", "last_verification",
    "domain_unicode", "verification_state", NULL
};

static int fail(ssd_input_error_t *err, const char *code,
                const char *message, const char *field)
{
    err->code = code;
    err->message = message;
    err->field = field;
    return -1;
}

static int in_list(const char *const *list, const char *name)
{
    for (; *list; list++) {
        if (strcmp(*list, name) == 0) {
            return 1;
        }
    }
    return 0;
}

static const field_spec_t *find_field(const char *name)
{
    const field_spec_t *f;

    for (f = writable; f->name; f++) {
        if (strcmp(f->name, name) == 0) {
            return f;
        }
    }
    return NULL;
}

static int type_ok(const field_spec_t *f, json_object *v)
{
    switch (f->type) {
    case F_BOOL:
        return json_object_is_type(v, json_type_boolean);
    case F_NULLABLE_STRING:
        return !v || json_object_is_type(v, json_type_string);
    case F_ARRAY:
        return json_object_is_type(v, json_type_array);
    default:
        return json_object_is_type(v, json_type_string);
    }
}

static const char *type_name(field_type_e t)
{
    return t == F_BOOL ? "a boolean" : t == F_ARRAY ? "an array"
           : t == F_STRING ? "a string" : "a string or null";
}

/* Known, writable in this mode, and of the right type. */
static int check_field(apr_pool_t *p, const char *key, json_object *v,
                       ssd_input_mode_e mode, ssd_input_error_t *err)
{
    const field_spec_t *f = find_field(key);

    if (in_list(read_only, key)
        || (f && !(mode == SSD_INPUT_CREATE ? f->on_create : f->on_patch))) {
        return fail(err, "read_only_field",
                    apr_psprintf(p, "'%s' cannot be set here", key), key);
    }
    if (!f) {
        return fail(err, "unknown_field",
                    apr_psprintf(p, "unknown field '%s'", key), key);
    }
    if (!type_ok(f, v)) {
        return fail(err, "invalid_type", apr_psprintf(p, "'%s' must be %s",
                    key, type_name(f->type)), key);
    }
    return 0;
}

int ssd_dmarc_policy_valid(const char *policy)
{
    return strcmp(policy, "none") == 0 || strcmp(policy, "quarantine") == 0
           || strcmp(policy, "reject") == 0;
}

static int take_domain(apr_pool_t *p, const char *v,
                       const ssd_name_rules_t *rules, ssd_domain_input_t *in,
                       ssd_input_error_t *err)
{
    ssd_domain_name_t name;
    const char *msg = ssd_domain_normalise(p, v, rules->selector_base,
                                           rules->reserved, &name);

    if (msg) {
        return fail(err, "invalid_domain", msg, "domain");
    }
    in->domain = name.domain;
    return 0;
}

static int take_tenant(const char *v, ssd_domain_input_t *in,
                       ssd_input_error_t *err)
{
    const char *s;

    for (s = v; *s; s++) {
        if (*s <= ' ' || *s > '~') {
            break;
        }
    }
    if (*s || !*v || strlen(v) > TENANT_ID_MAX) {
        return fail(err, "invalid_value", "tenant_id must be 1-255 printable "
                    "ASCII characters without spaces", "tenant_id");
    }
    in->tenant_id = v;
    return 0;
}

static int take_rua(const char *v, ssd_domain_input_t *in,
                    ssd_input_error_t *err)
{
    const char *msg = v ? ssd_rua_validate(v) : NULL;

    if (msg) {
        return fail(err, "invalid_email", msg, "dmarc_rua_email");
    }
    in->has_rua = 1;
    in->dmarc_rua_email = v;
    return 0;
}

/* ["rsa-sha256"] or ["rsa-sha256", "ed25519-sha256"] (any order): RSA
 * always, since most receivers do not verify Ed25519 yet (RFC 8463
 * section 6). */
static int take_algorithms(apr_pool_t *p, json_object *v,
                           ssd_domain_input_t *in, ssd_input_error_t *err)
{
    const char *field = "dkim_algorithms";
    unsigned algs = 0;
    size_t i, n = json_object_array_length(v);

    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        ssd_dkim_alg_t alg;

        if (!json_object_is_type(e, json_type_string)
            || ssd_dkim_alg_parse(json_object_get_string(e), &alg) != 0) {
            return fail(err, "invalid_value", "dkim_algorithms holds "
                        "\"rsa-sha256\" and optionally \"ed25519-sha256\"",
                        field);
        }
        if (algs & SSD_DKIM_ALG_BIT(alg)) {
            return fail(err, "invalid_value", apr_psprintf(p, "dkim_"
                        "algorithms names %s twice", ssd_dkim_alg_name(alg)),
                        field);
        }
        algs |= SSD_DKIM_ALG_BIT(alg);
    }
    if (!(algs & SSD_DKIM_ALG_BIT(SSD_DKIM_RSA))) {
        return fail(err, "invalid_value", "dkim_algorithms must include "
                    "\"rsa-sha256\": most receivers verify only RSA "
                    "signatures, Ed25519 goes beside it", field);
    }
    in->dkim_algorithms = ssd_dkim_algs_text(p, algs);
    return 0;
}

static int take_value(apr_pool_t *p, const char *key, json_object *v,
                      const ssd_name_rules_t *rules, ssd_domain_input_t *in,
                      ssd_input_error_t *err)
{
    const char *s = v && json_object_is_type(v, json_type_string)
                        ? json_object_get_string(v) : NULL;

    if (strcmp(key, "domain") == 0) {
        return take_domain(p, s, rules, in, err);
    }
    if (strcmp(key, "dmarc_policy") == 0) {
        in->dmarc_policy = s;
        return ssd_dmarc_policy_valid(s) ? 0
               : fail(err, "invalid_value", "dmarc_policy must be none, "
                      "quarantine or reject", key);
    }
    if (strcmp(key, "dmarc_rua_email") == 0) {
        return take_rua(s, in, err);
    }
    if (strcmp(key, "tenant_id") == 0) {
        return take_tenant(s, in, err);
    }
    if (strcmp(key, "dkim_algorithms") == 0) {
        return take_algorithms(p, v, in, err);
    }
    *(strcmp(key, "is_shared") == 0 ? &in->is_shared : &in->is_active) =
        json_object_get_boolean(v);
    return 0;
}

int ssd_input_domain(apr_pool_t *p, json_object *body, ssd_input_mode_e mode,
                     const ssd_name_rules_t *rules, ssd_domain_input_t *in,
                     ssd_input_error_t *err)
{
    memset(in, 0, sizeof(*in));
    in->is_shared = in->is_active = -1;
    json_object_object_foreach(body, key, v) {
        if (check_field(p, key, v, mode, err) != 0
            || take_value(p, key, v, rules, in, err) != 0) {
            return -1;
        }
    }
    if (mode == SSD_INPUT_CREATE && !in->domain) {
        return fail(err, "missing_field", "'domain' is required", "domain");
    }
    return 0;
}
