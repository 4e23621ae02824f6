/* mod_scaisend_domains_config_sign: the directives of signing (api.md
 * sections 6 and 10) -- the algorithms of new domains, the header fields
 * signed, the signature's expiry, the per-process key cache. */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_sign.h"

#include <apr_lib.h>
#include <apr_strings.h>

#define UNSET -1
#define SEC ((apr_int64_t)1000)
#define DAY (24 * 3600 * SEC)

static ssd_conf_t *cmd_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &scaisend_domains_module);
}

/* ScaiSendDKIMAlgorithms rsa-sha256 [ed25519-sha256]: one word a call. */
const char *ssd_set_algorithms(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    ssd_dkim_alg_t alg;
    unsigned algs;

    (void)dc;
    if (ssd_dkim_alg_parse(arg, &alg) != 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not rsa-sha256 or "
                            "ed25519-sha256", cmd->cmd->name, arg);
    }
    algs = c->algs_seen | SSD_DKIM_ALG_BIT(alg);
    c->algs_seen = algs;
    c->dkim_algorithms = ssd_dkim_algs_text(cmd->pool, algs);
    return NULL;
}

/* A header field name (RFC 5322 section 3.6.8: printable, no colon). */
static int field_name_ok(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s <= ' ' || *s > '~' || *s == ':') {
            return 0;
        }
    }
    return 1;
}

/* ScaiSendSignHeaders from to subject ...: the list replaces the default
 * (ssd_sign.h); names in lower case, each once. */
const char *ssd_set_sign_headers(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    char *name = apr_pstrdup(cmd->pool, arg), *l;
    int i;

    (void)dc;
    if (!field_name_ok(name)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a header field name",
                            cmd->cmd->name, arg);
    }
    for (l = name; *l; l++) {
        *l = (char)apr_tolower(*l);
    }
    if (!c->sign_headers) {
        c->sign_headers = apr_array_make(cmd->pool, 12, sizeof(const char *));
    }
    for (i = 0; i < c->sign_headers->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(c->sign_headers, i, const char *), name) == 0) {
            return apr_psprintf(cmd->pool, "%s: %s is listed twice",
                                cmd->cmd->name, name);
        }
    }
    APR_ARRAY_PUSH(c->sign_headers, const char *) = name;
    return NULL;
}

const ssd_duration_spec_t ssd_signature_ttl_spec =
    {APR_OFFSETOF(ssd_conf_t, signature_ttl_ms), 60 * SEC, 366 * DAY};
const ssd_duration_spec_t ssd_key_cache_ttl_spec =
    {APR_OFFSETOF(ssd_conf_t, key_cache_ttl_ms), SEC, DAY};
const ssd_number_spec_t ssd_key_cache_spec =
    {APR_OFFSETOF(ssd_conf_t, key_cache), 0, 0, 100000};

void ssd_conf_sign_defaults(ssd_conf_t *c)
{
    c->key_cache = UNSET;
    c->key_cache_ttl_ms = UNSET;
    c->signature_ttl_ms = UNSET;
}

#define PICK(f) (add->f != UNSET ? add->f : base->f)
#define PICK_PTR(f) (add->f ? add->f : base->f)

void ssd_conf_sign_merge(ssd_conf_t *c, const ssd_conf_t *base,
                         const ssd_conf_t *add)
{
    c->key_cache = PICK(key_cache);
    c->key_cache_ttl_ms = PICK(key_cache_ttl_ms);
    c->signature_ttl_ms = PICK(signature_ttl_ms);
    c->dkim_algorithms = PICK_PTR(dkim_algorithms);
    c->sign_headers = PICK_PTR(sign_headers);
}

/* Once per server at start-up: NULL or why it cannot start. */
const char *ssd_conf_sign_check(apr_pool_t *p, ssd_conf_t *c)
{
    int i, from = 0;

    if (c->key_cache == UNSET) c->key_cache = 1000;
    if (c->key_cache_ttl_ms == UNSET) c->key_cache_ttl_ms = SEC;
    if (c->signature_ttl_ms == UNSET) c->signature_ttl_ms = 0;
    if (!c->dkim_algorithms) c->dkim_algorithms = SSD_DKIM_RSA_NAME;
    if (!(ssd_dkim_algs_parse(c->dkim_algorithms)
          & SSD_DKIM_ALG_BIT(SSD_DKIM_RSA))) {
        return SSD_DIR_DKIM_ALGORITHMS " must include rsa-sha256: most "
               "receivers verify only RSA signatures, Ed25519 goes beside it";
    }
    if (!c->sign_headers) {
        c->sign_headers = ssd_sign_default_headers(p);
    }
    for (i = 0; i < c->sign_headers->nelts; i++) {
        from |= strcmp(APR_ARRAY_IDX(c->sign_headers, i, const char *),
                       "from") == 0;
    }
    return from ? NULL : SSD_DIR_SIGN_HEADERS " must include from: RFC 6376 "
                         "section 5.4 requires the From field to be signed";
}
