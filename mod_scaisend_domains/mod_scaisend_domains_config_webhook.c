/* mod_scaisend_domains_config_webhook: the webhook directives -- where
 * events are posted, the signing secret, the time an attempt may take. */
#include "mod_scaisend_domains.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <httpd.h>

#define UNSET -1
#define DEFAULT_WEBHOOK_TIMEOUT_S 15

static ssd_conf_t *cmd_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &scaisend_domains_module);
}

static int printable_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* Why u (parsed from arg) cannot be the target, or NULL. */
static const char *url_problem(const apr_uri_t *u)
{
    if (!u->scheme || (strcasecmp(u->scheme, "http") != 0
                       && strcasecmp(u->scheme, "https") != 0)) {
        return "is not an http:// or https:// URL";
    }
    if (!u->hostname || !*u->hostname) {
        return "names no host";
    }
    if (u->user || u->password) {
        return "carries credentials: the signature authenticates the "
               "sender, put no user or password in the URL";
    }
    if (u->fragment) {
        return "has a fragment (#...), which is never sent";
    }
    if (u->port_str && (!*u->port_str || u->port == 0)) {
        return "has an invalid port";
    }
    return NULL;
}

/* What log lines name: scheme, host and port; never the path or the
 * query, which may carry something private. */
static const char *log_target(apr_pool_t *p, const apr_uri_t *u)
{
    int v6 = strchr(u->hostname, ':') != NULL;
    apr_port_t port = u->port ? u->port : apr_uri_port_of_scheme(u->scheme);

    char *scheme = apr_pstrdup(p, u->scheme);

    ap_str_tolower(scheme);
    return apr_psprintf(p, "%s://%s%s%s:%u", scheme, v6 ? "[" : "",
                        u->hostname, v6 ? "]" : "", (unsigned)port);
}

const char *ssd_set_webhook_url(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    apr_uri_t u;
    const char *why = "is not a URL";

    (void)dc;
    if (printable_ascii(arg)
        && apr_uri_parse(cmd->pool, arg, &u) == APR_SUCCESS) {
        why = url_problem(&u);
    }
    if (why) {
        return apr_pstrcat(cmd->pool, SSD_DIR_WEBHOOK_URL, ": '", arg, "' ",
                           why, " (example: https://hooks.example.net/"
                           "scaisend)", NULL);
    }
    c->webhook_url = apr_pstrdup(cmd->pool, arg);
    c->webhook_target = log_target(cmd->pool, &u);
    return NULL;
}

/* Read at start-up (as root), like the key-encryption key. */
const char *ssd_set_webhook_secret(cmd_parms *cmd, void *dc,
                                   const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    const char *err;

    (void)dc;
    if (!path) {
        return apr_pstrcat(cmd->pool, SSD_DIR_WEBHOOK_SECRET,
                           ": invalid path ", arg, NULL);
    }
    err = ssd_webhook_read_secret(cmd->pool, path, &c->webhook_key);
    if (err) {
        return apr_pstrcat(cmd->pool, SSD_DIR_WEBHOOK_SECRET, ": ", err,
                           NULL);
    }
    c->webhook_secret_file = path;
    return NULL;
}

const ssd_number_spec_t ssd_webhook_timeout_spec =
    {APR_OFFSETOF(ssd_conf_t, webhook_timeout_s), 0, 1, 120};

void ssd_conf_webhook_defaults(ssd_conf_t *c)
{
    c->webhook_timeout_s = UNSET;
}

void ssd_conf_webhook_merge(ssd_conf_t *c, const ssd_conf_t *base,
                            const ssd_conf_t *add)
{
    int url = add->webhook_url != NULL, key = add->webhook_key != NULL;

    c->webhook_url = url ? add->webhook_url : base->webhook_url;
    c->webhook_target = url ? add->webhook_target : base->webhook_target;
    c->webhook_key = key ? add->webhook_key : base->webhook_key;
    c->webhook_secret_file = key ? add->webhook_secret_file
                                 : base->webhook_secret_file;
    c->webhook_timeout_s = add->webhook_timeout_s != UNSET
                               ? add->webhook_timeout_s
                               : base->webhook_timeout_s;
}

/* Once per server at start-up: NULL or why it cannot start. */
const char *ssd_conf_webhook_check(ssd_conf_t *c)
{
    if (c->webhook_timeout_s == UNSET) {
        c->webhook_timeout_s = DEFAULT_WEBHOOK_TIMEOUT_S;
    }
    if (c->webhook_url && !c->webhook_key) {
        return SSD_DIR_WEBHOOK_SECRET " is required when "
               SSD_DIR_WEBHOOK_URL " is set: name a file holding whsec_ "
               "followed by the base64 of 24 to 64 random bytes";
    }
    return NULL;
}
