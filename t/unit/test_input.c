/* Unit tests of ssd_input: fields of create and patch bodies. */
#include "unit.h"
#include "ssd_input.h"
#include "ssd_json.h"

#include <apr_general.h>

static apr_pool_t *pool;
static const char *const reserved[] = {"scailabs.ai", NULL};
static const ssd_name_rules_t rules = {"scaisend", reserved};

/* Run one body; returns the error code or "ok". */
static const char *run(const char *body, ssd_input_mode_e mode,
                       ssd_domain_input_t *in, ssd_input_error_t *err)
{
    ssd_json_error_t jerr;
    json_object *o = ssd_json_parse_strict(pool, body, strlen(body), 8, &jerr);

    if (!o) {
        return "bad json";
    }
    return ssd_input_domain(pool, o, mode, &rules, in, err) == 0 ? "ok"
                                                                 : err->code;
}

static void test_create(void)
{
    ssd_domain_input_t in;
    ssd_input_error_t err;

    UNIT_STR_EQ(run("{\"domain\":\"Mail.Example.COM.\",\"dmarc_policy\":"
                    "\"quarantine\",\"dmarc_rua_email\":\"r@example.com\"}",
                    SSD_INPUT_CREATE, &in, &err), "ok", "product page body");
    UNIT_STR_EQ(in.domain, "mail.example.com", "domain normalised");
    UNIT_STR_EQ(in.dmarc_policy, "quarantine", "policy taken");
    UNIT_CHECK(in.has_rua && in.is_shared == -1 && in.is_active == -1,
               "rua sent, flags not sent");
    UNIT_STR_EQ(run("{}", SSD_INPUT_CREATE, &in, &err), "missing_field",
                "domain is required");
    UNIT_STR_EQ(run("{\"domain\":\"a.example\",\"id\":\"x\"}",
                    SSD_INPUT_CREATE, &in, &err), "read_only_field",
                "id is read-only");
    UNIT_STR_EQ(err.field, "id", "the error names the field");
    UNIT_STR_EQ(run("{\"domain\":\"a.example\",\"colour\":1}",
                    SSD_INPUT_CREATE, &in, &err), "unknown_field",
                "unknown field refused");
    UNIT_STR_EQ(run("{\"domain\":5}", SSD_INPUT_CREATE, &in, &err),
                "invalid_type", "domain must be a string");
    UNIT_STR_EQ(run("{\"domain\":\"a.example\",\"is_shared\":\"yes\"}",
                    SSD_INPUT_CREATE, &in, &err), "invalid_type",
                "is_shared must be a boolean");
    UNIT_STR_EQ(run("{\"domain\":\"a.example\",\"dmarc_policy\":\"block\"}",
                    SSD_INPUT_CREATE, &in, &err), "invalid_value",
                "unknown policy");
    UNIT_STR_EQ(run("{\"domain\":\"a.example\",\"dmarc_rua_email\":"
                    "\"a@b.example; p=none\"}", SSD_INPUT_CREATE, &in, &err),
                "invalid_email", "rua injection refused");
    UNIT_STR_EQ(run("{\"domain\":\"com\"}", SSD_INPUT_CREATE, &in, &err),
                "invalid_domain", "public suffix refused");
    UNIT_STR_EQ(run("{\"domain\":\"mail.scailabs.ai\"}", SSD_INPUT_CREATE,
                    &in, &err), "invalid_domain", "provider domain refused");
    UNIT_STR_EQ(run("{\"domain\":\"a.example\",\"tenant_id\":\"\"}",
                    SSD_INPUT_CREATE, &in, &err), "invalid_value",
                "empty tenant_id refused");
}

static void test_patch(void)
{
    ssd_domain_input_t in;
    ssd_input_error_t err;

    UNIT_STR_EQ(run("{\"is_active\":false}", SSD_INPUT_PATCH, &in, &err), "ok",
                "deactivate");
    UNIT_CHECK(in.is_active == 0, "is_active false taken");
    UNIT_STR_EQ(run("{\"dmarc_rua_email\":null}", SSD_INPUT_PATCH, &in, &err),
                "ok", "rua cleared with null");
    UNIT_CHECK(in.has_rua && in.dmarc_rua_email == NULL, "rua null taken");
    UNIT_STR_EQ(run("{\"domain\":\"b.example\"}", SSD_INPUT_PATCH, &in, &err),
                "read_only_field", "domain is read-only on patch");
    UNIT_STR_EQ(run("{\"tenant_id\":\"t2\"}", SSD_INPUT_PATCH, &in, &err),
                "read_only_field", "tenant_id is read-only on patch");
    UNIT_STR_EQ(run("{\"verified\":true}", SSD_INPUT_PATCH, &in, &err),
                "read_only_field", "verified is read-only");
    UNIT_STR_EQ(run("{\"dkim_selector\":\"x\"}", SSD_INPUT_PATCH, &in, &err),
                "read_only_field", "dkim_selector is read-only");
    UNIT_STR_EQ(run("{\"is_active\":null}", SSD_INPUT_PATCH, &in, &err),
                "invalid_type", "is_active may not be null");
    UNIT_STR_EQ(run("{}", SSD_INPUT_PATCH, &in, &err), "ok",
                "an empty patch changes nothing");
}

int main(void)
{
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_create();
    test_patch();
    rc = UNIT_DONE();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
