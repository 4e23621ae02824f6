/* mod_scaisend_domains_config: directives, defaults, merge, and the
 * start-up checks that "apachectl -t" shows too. */
#include "mod_scaisend_domains.h"
#include "ssd_dkim.h"
#include "ssd_domain.h"

#include <http_core.h>

#include <apr_lib.h>
#include <apr_strings.h>

#define UNSET_INT -1
#define DEFAULT_KEY_BITS 2048
#define DEFAULT_SELECTOR "scaisend"
#define DEFAULT_SPF_INCLUDE "scaisend.scailabs.ai"
#define DEFAULT_API_BASE "/api/admin"
#define DEFAULT_MAX_BODY (64 * 1024)
#define DEFAULT_ZONE_TTL 3600
#define DEFAULT_SIGN_MAX (10 * 1024 * 1024)
#define DEFAULT_KEY_OVERLAP (7 * 24 * 3600)
#define DEFAULT_MAX_DOMAINS 1000

void *ssd_conf_create(apr_pool_t *p, server_rec *s)
{
    ssd_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)s;
    c->key_bits = UNSET_INT;
    c->max_body = UNSET_INT;
    c->zone_ttl = UNSET_INT;
    c->sign_max = UNSET_INT;
    c->key_overlap_s = UNSET_INT;
    c->max_domains = UNSET_INT;
    ssd_conf_dns_defaults(c);
    ssd_conf_recheck_defaults(c);
    ssd_conf_sign_defaults(c);
    ssd_conf_webhook_defaults(c);
    return c;
}

#define PICK(field) (add->field ? add->field : base->field)
#define PICK_INT(field) (add->field != UNSET_INT ? add->field : base->field)

void *ssd_conf_merge(apr_pool_t *p, void *basev, void *addv)
{
    ssd_conf_t *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));

    c->kek_file = PICK(kek_file);
    c->kek = PICK(kek);
    c->key_bits = PICK_INT(key_bits);
    c->selector_base = PICK(selector_base);
    c->spf_include = PICK(spf_include);
    c->helo_name = PICK(helo_name);
    c->reserved = PICK(reserved);
    c->api_base = PICK(api_base);
    c->max_body = PICK_INT(max_body);
    c->zone_ttl = PICK_INT(zone_ttl);
    c->sign_max = PICK_INT(sign_max);
    c->key_overlap_s = PICK_INT(key_overlap_s);
    c->max_domains = PICK_INT(max_domains);
    c->claim_prefix = PICK(claim_prefix);
    c->claim_sub = PICK(claim_sub);
    c->claim_partner = PICK(claim_partner);
    c->claim_tenant = PICK(claim_tenant);
    c->claim_role = PICK(claim_role);
    c->claim_exp = PICK(claim_exp);
    ssd_conf_dns_merge(c, base, add);
    ssd_conf_recheck_merge(c, base, add);
    ssd_conf_sign_merge(c, base, add);
    ssd_conf_webhook_merge(c, base, add);
    return c;
}

ssd_conf_t *ssd_conf_get(server_rec *s)
{
    return ap_get_module_config(s->module_config, &scaisend_domains_module);
}

/* Fill every default in, once, at start-up (never at request time). */
static void ssd_conf_finish(server_rec *s)
{
    ssd_conf_t *c = ssd_conf_get(s);

    if (c->key_bits == UNSET_INT) c->key_bits = DEFAULT_KEY_BITS;
    if (c->max_body == UNSET_INT) c->max_body = DEFAULT_MAX_BODY;
    if (c->zone_ttl == UNSET_INT) c->zone_ttl = DEFAULT_ZONE_TTL;
    if (c->sign_max == UNSET_INT) c->sign_max = DEFAULT_SIGN_MAX;
    if (c->key_overlap_s == UNSET_INT) c->key_overlap_s = DEFAULT_KEY_OVERLAP;
    if (c->max_domains == UNSET_INT) c->max_domains = DEFAULT_MAX_DOMAINS;
    if (!c->selector_base) c->selector_base = DEFAULT_SELECTOR;
    if (!c->spf_include) c->spf_include = DEFAULT_SPF_INCLUDE;
    if (!c->helo_name) c->helo_name = c->spf_include;
    c->reserved_default = ssd_domain_registrable(s->process->pconf,
                                                 c->spf_include);
    if (!c->reserved_default) c->reserved_default = c->spf_include;
    if (!c->api_base) c->api_base = DEFAULT_API_BASE;
    if (!c->claim_prefix) c->claim_prefix = "OIDC_CLAIM_";
    if (!c->claim_sub) c->claim_sub = "sub";
    if (!c->claim_partner) c->claim_partner = "partner_id";
    if (!c->claim_tenant) c->claim_tenant = "tenant_id";
    if (!c->claim_role) c->claim_role = "role";
    if (!c->claim_exp) c->claim_exp = "exp";
    ssd_conf_dns_finish(c);
    ssd_conf_recheck_finish(c);
}

/* Refused names: those configured, else the registrable domain of the
 * SPF include (scailabs.ai for scaisend.scailabs.ai). */
const char *const *ssd_conf_reserved(apr_pool_t *p, const ssd_conf_t *c)
{
    const char **list;
    int i, n = c->reserved ? c->reserved->nelts : 0;

    list = apr_pcalloc(p, sizeof(*list) * (n + 2));
    for (i = 0; i < n; i++) {
        list[i] = APR_ARRAY_IDX(c->reserved, i, const char *);
    }
    if (n == 0) {
        list[0] = c->reserved_default;
    }
    return list;
}

static ssd_conf_t *cmd_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &scaisend_domains_module);
}

static const char *set_kek_file(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    const char *err;

    (void)dc;
    if (!path) {
        return apr_pstrcat(cmd->pool, SSD_DIR_KEK_FILE, ": invalid path ",
                           arg, NULL);
    }
    err = ssd_dkim_read_kek(cmd->pool, path, &c->kek);
    if (err) {
        return apr_pstrcat(cmd->pool, SSD_DIR_KEK_FILE, ": ", err, NULL);
    }
    c->kek_file = path;
    return NULL;
}

/* A decimal number, nothing else (no sign, no space, no suffix). */
static int strict_number(const char *arg, long max, long *out)
{
    const char *c;
    long v = 0;

    for (c = arg; *c; c++) {
        if (!apr_isdigit(*c) || v > (max - (*c - '0')) / 10) {
            return 0;
        }
        v = v * 10 + (*c - '0');
    }
    *out = v;
    return c > arg;
}

static const char *set_key_bits(cmd_parms *cmd, void *dc, const char *arg)
{
    long bits = 0;

    (void)dc;
    if (!strict_number(arg, 100000, &bits)
        || (bits != 2048 && bits != 3072 && bits != 4096)) {
        return apr_pstrcat(cmd->pool, SSD_DIR_KEY_BITS, " must be 2048, "
                           "3072 or 4096 (keys under 2048 bits are refused), "
                           "not ", arg, NULL);
    }
    cmd_conf(cmd)->key_bits = (int)bits;
    return NULL;
}

static const char *set_selector(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *s;

    (void)dc;
    for (s = arg; *s; s++) {
        if (!apr_isalnum(*s) && *s != '-') {
            break;
        }
    }
    if (*s || !*arg || strlen(arg) > 40 || !apr_isalpha(arg[0])
        || apr_isdigit(s[-1])) {
        return apr_pstrcat(cmd->pool, SSD_DIR_SELECTOR, ": a selector base "
                           "is 1-40 letters, digits or hyphens, starting "
                           "with a letter and not ending in a digit", NULL);
    }
    cmd_conf(cmd)->selector_base = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

/* The SPF include: a host name, underscores allowed (_spf.example.net). */
static const char *set_spf_include(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    const char *host, *err = ssd_host_normalise(cmd->pool, arg, &host);

    (void)dc;
    if (err) {
        return apr_pstrcat(cmd->pool, SSD_DIR_SPF_INCLUDE, ": ", arg, ": ",
                           err, NULL);
    }
    c->spf_include = host;
    return NULL;
}

/* The HELO name of ScaiSend's servers, for %{h} in SPF macros. */
static const char *set_helo_name(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *host, *err = ssd_host_normalise(cmd->pool, arg, &host);

    (void)dc;
    if (err) {
        return apr_pstrcat(cmd->pool, SSD_DIR_HELO_NAME, ": ", arg, ": ",
                           err, NULL);
    }
    cmd_conf(cmd)->helo_name = host;
    return NULL;
}

/* A reserved name, normalised as tenants' names are (lower case, no final
 * dot, A-labels), so that it is compared with them as they are stored. */
static const char *add_reserved(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    ssd_domain_name_t name;
    const char *err = ssd_domain_normalise(cmd->temp_pool, arg, "s", NULL,
                                           &name);

    (void)dc;
    if (err && !strstr(err, "public suffix")) {
        return apr_pstrcat(cmd->pool, SSD_DIR_RESERVED, ": ", arg, ": ", err,
                           NULL);
    }
    if (err) {
        return apr_pstrcat(cmd->pool, SSD_DIR_RESERVED, ": ", arg, " is a "
                           "public suffix, which no tenant can register "
                           "anyway", NULL);
    }
    if (!c->reserved) {
        c->reserved = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(c->reserved, const char *) = apr_pstrdup(cmd->pool,
                                                            name.domain);
    return NULL;
}

static const char *set_api_base(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_size_t n = strlen(arg);

    (void)dc;
    if (arg[0] != '/' || (n > 1 && arg[n - 1] == '/')) {
        return apr_pstrcat(cmd->pool, SSD_DIR_API_BASE, " must start with "
                           "'/' and not end with one", NULL);
    }
    cmd_conf(cmd)->api_base = n == 1 ? "" : apr_pstrdup(cmd->pool, arg);
    return NULL;
}

/* A decimal integer within [min, max] (min >= 0), nothing else. */
static const char *parse_int(cmd_parms *cmd, const char *arg, long min,
                             long max, long *out)
{
    long v = 0;

    if (!strict_number(arg, max, &v) || v < min) {
        return apr_psprintf(cmd->pool, "%s must be a number from %ld to %ld",
                            cmd->cmd->name, min, max);
    }
    *out = v;
    return NULL;
}

/* A whole-number setting: where it goes and its range (cmd->info). */
const char *ssd_set_number(cmd_parms *cmd, void *dc, const char *arg)
{
    const ssd_number_spec_t *spec = cmd->info;
    char *field = (char *)cmd_conf(cmd) + spec->offset;
    long v = 0;
    const char *err = parse_int(cmd, arg, spec->min, spec->max, &v);

    (void)dc;
    if (!err && spec->is_off_t) {
        *(apr_off_t *)field = v;
    }
    else if (!err) {
        *(int *)field = (int)v;
    }
    return err;
}

#define NUMBER(field, is_off_t, min, max) \
    {APR_OFFSETOF(ssd_conf_t, field), is_off_t, min, max}

static const ssd_number_spec_t max_body_spec =
    NUMBER(max_body, 1, 1024, 16L * 1024 * 1024);
static const ssd_number_spec_t zone_ttl_spec = NUMBER(zone_ttl, 0, 60, 604800);
static const ssd_number_spec_t sign_max_spec =
    NUMBER(sign_max, 1, 1024, 256L * 1024 * 1024);
static const ssd_number_spec_t key_overlap_spec =
    NUMBER(key_overlap_s, 0, 0, 366L * 24 * 3600);
static const ssd_number_spec_t max_domains_spec =
    NUMBER(max_domains, 0, 0, 10000000);
const ssd_number_spec_t ssd_dns_timeout_spec =
    NUMBER(dns_timeout_ms, 0, 50, 30000);
const ssd_number_spec_t ssd_verify_budget_spec =
    NUMBER(verify_budget_ms, 0, 100, 60000);
const ssd_number_spec_t ssd_verify_interval_spec =
    NUMBER(verify_interval_s, 0, 0, 86400);

/* Claim settings: a non-empty name of letters, digits and underscores. */
static const char *set_claim(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    const char *s;

    (void)dc;
    for (s = arg; *s && (apr_isalnum(*s) || *s == '_' || *s == '-'); s++)
        ;
    if (*s || !*arg) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": '", arg,
                           "' is not a claim name", NULL);
    }
    *(const char **)((char *)c + (apr_size_t)cmd->info) = arg;
    return NULL;
}

/* ScaiSendConfigWarning: a warning for a configuration that is incomplete
 * on purpose (the Debian package names a missing auth.conf with it); the
 * server starts. Printed on stderr by the first reading of the config
 * ("apachectl -t", the terminal of a start) and kept in pconf for the
 * error log (ssd_conf_log_warnings). */
#define WARNINGS_KEY "scaisend_domains:config_warnings"

static const char *config_warning(cmd_parms *cmd, void *dc, const char *arg)
{
    apr_array_header_t *list = NULL;
    const char *text = apr_psprintf(cmd->pool, "%s (%s:%d)", arg,
                                    cmd->directive->filename,
                                    cmd->directive->line_num);

    (void)dc;
    apr_pool_userdata_get((void **)&list, WARNINGS_KEY, cmd->pool);
    if (!list) {
        list = apr_array_make(cmd->pool, 1, sizeof(const char *));
        apr_pool_userdata_setn(list, WARNINGS_KEY, NULL, cmd->pool);
    }
    APR_ARRAY_PUSH(list, const char *) = text;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        server_rec *to_stderr = NULL;   /* no log is open yet */

        SSD_SLOG(APLOG_WARNING, 0, to_stderr, 9, "%s", text);
    }
    return NULL;
}

void ssd_conf_log_warnings(apr_pool_t *pconf, server_rec *s)
{
    apr_array_header_t *list = NULL;
    int i;

    apr_pool_userdata_get((void **)&list, WARNINGS_KEY, pconf);
    for (i = 0; list && i < list->nelts; i++) {
        SSD_SLOG(APLOG_WARNING, 0, s, 9, "%s",
                 APR_ARRAY_IDX(list, i, const char *));
    }
}

#define DURATION_DIRECTIVE(name, spec, help) \
    AP_INIT_TAKE1(name, ssd_set_duration, (void *)&spec, RSRC_CONF, help)

#define NUMBER_DIRECTIVE(name, spec, help) \
    AP_INIT_TAKE1(name, ssd_set_number, (void *)&spec, RSRC_CONF, help)

#define CLAIM_DIRECTIVE(name, field, help) \
    AP_INIT_TAKE1(name, set_claim, (void *)APR_OFFSETOF(ssd_conf_t, field), \
                  RSRC_CONF, help)

const command_rec ssd_directives[] = {
    AP_INIT_TAKE1(SSD_DIR_KEK_FILE, set_kek_file, NULL, RSRC_CONF,
                  "file holding the 32-byte key-encryption key"),
    AP_INIT_TAKE1(SSD_DIR_KEY_BITS, set_key_bits, NULL, RSRC_CONF,
                  "RSA size of new DKIM keys: 2048, 3072 or 4096"),
    AP_INIT_TAKE1(SSD_DIR_SELECTOR, set_selector, NULL, RSRC_CONF,
                  "DKIM selector base (default scaisend)"),
    AP_INIT_TAKE1(SSD_DIR_SPF_INCLUDE, set_spf_include, NULL, RSRC_CONF,
                  "host named by include: in the SPF record"),
    AP_INIT_TAKE1(SSD_DIR_HELO_NAME, set_helo_name, NULL, RSRC_CONF,
                  "HELO name of the sending servers, for %{h} in SPF "
                  "(default: the SPF include's host)"),
    AP_INIT_ITERATE(SSD_DIR_RESERVED, add_reserved, NULL, RSRC_CONF,
                    "provider domains that tenants may not register"),
    AP_INIT_TAKE1(SSD_DIR_API_BASE, set_api_base, NULL, RSRC_CONF,
                  "URL path the API lives under (default /api/admin)"),
    NUMBER_DIRECTIVE(SSD_DIR_MAX_BODY, max_body_spec,
                     "largest JSON request body in bytes (default 65536)"),
    NUMBER_DIRECTIVE(SSD_DIR_ZONE_TTL, zone_ttl_spec,
                     "TTL written in ?format=zone snippets (default 3600)"),
    NUMBER_DIRECTIVE(SSD_DIR_SIGN_MAX, sign_max_spec,
                     "largest message /dkim/sign accepts, in bytes "
                     "(default 10485760)"),
    NUMBER_DIRECTIVE(SSD_DIR_KEY_OVERLAP, key_overlap_spec,
                     "seconds a retired DKIM key stays before it is safe to "
                     "remove (default 604800)"),
    NUMBER_DIRECTIVE(SSD_DIR_MAX_DOMAINS, max_domains_spec,
                     "domains one owner (a tenant, or a partner's own) may "
                     "hold (default 1000; 0: no limit)"),
    AP_INIT_TAKE1(SSD_DIR_CLAIM_PREFIX, set_claim,
                  (void *)APR_OFFSETOF(ssd_conf_t, claim_prefix), RSRC_CONF,
                  "environment prefix of the claims (default OIDC_CLAIM_)"),
    CLAIM_DIRECTIVE(SSD_DIR_CLAIM_SUB, claim_sub, "claim naming the caller"),
    CLAIM_DIRECTIVE(SSD_DIR_CLAIM_PARTNER, claim_partner,
                    "claim holding the partner id"),
    CLAIM_DIRECTIVE(SSD_DIR_CLAIM_TENANT, claim_tenant,
                    "claim holding the tenant id"),
    CLAIM_DIRECTIVE(SSD_DIR_CLAIM_ROLE, claim_role, "claim holding the role"),
    CLAIM_DIRECTIVE(SSD_DIR_CLAIM_EXP, claim_exp,
                    "claim holding the expiry time"),
    DURATION_DIRECTIVE(SSD_DIR_VERIFY_GRACE, ssd_grace_spec,
                       "how long a verified domain whose checks fail stays "
                       "degraded (still sending) before it is unverified "
                       "(default 72h; 0: at once)"),
    DURATION_DIRECTIVE(SSD_DIR_RECHECK_INTERVAL, ssd_interval_spec,
                       "how often verified domains are checked again in the "
                       "background (default 6h; 0: never)"),
    DURATION_DIRECTIVE(SSD_DIR_PENDING_WINDOW, ssd_window_spec,
                       "how long pending and unverified domains are checked "
                       "again in the background (default 72h)"),
    NUMBER_DIRECTIVE(SSD_DIR_RECHECK_RATE, ssd_rate_spec,
                     "background verifications per second at most "
                     "(default 5)"),
    DURATION_DIRECTIVE(SSD_DIR_PENDING_EXPIRY, ssd_expiry_spec,
                       "delete domains never verified this long after their "
                       "creation (default 0: never)"),
    DURATION_DIRECTIVE(SSD_DIR_ROTATE_AFTER, ssd_rotate_spec,
                       "create the next DKIM key when the active one is this "
                       "old (default 0: never)"),
    AP_INIT_ITERATE(SSD_DIR_RESOLVER, ssd_set_resolver, NULL, RSRC_CONF,
                    "nameservers for verification: address[:port] ..."),
    NUMBER_DIRECTIVE(SSD_DIR_DNS_TIMEOUT, ssd_dns_timeout_spec,
                     "timeout of one DNS query in milliseconds "
                     "(default 2000)"),
    NUMBER_DIRECTIVE(SSD_DIR_VERIFY_BUDGET, ssd_verify_budget_spec,
                     "longest verification in milliseconds (default 5000)"),
    NUMBER_DIRECTIVE(SSD_DIR_VERIFY_INTERVAL, ssd_verify_interval_spec,
                     "seconds between verifications of one domain "
                     "(default 10; 0 allows back-to-back runs)"),
    AP_INIT_TAKE1(SSD_DIR_AUTH_PORT, ssd_set_auth_port, NULL, RSRC_CONF,
                  "port the zones' authoritative servers are asked on "
                  "(default 53)"),
    AP_INIT_TAKE1(SSD_DIR_CONFIG_WARNING, config_warning, NULL, RSRC_CONF,
                  "a warning to print at start-up (an incomplete setup)"),
    SSD_SIGN_DIRECTIVES,
    SSD_WEBHOOK_DIRECTIVES,
    {NULL}
};

const char *ssd_conf_check(server_rec *s)
{
    ssd_conf_t *c;
    const char *err;

    ssd_conf_finish(s);
    c = ssd_conf_get(s);

    if (!c->kek) {
        return SSD_DIR_KEK_FILE " is required: name a file holding a "
               "32-byte key-encryption key (for example made with "
               "'head -c 32 /dev/urandom > kek.bin')";
    }
    err = ssd_conf_sign_check(s->process->pconf, c);
    return err ? err : ssd_conf_webhook_check(c);
}
