/* mod_scaisend_domains_config_dns: the directives of verification --
 * nameservers, query timeout, budget and minimum interval. */
#include "mod_scaisend_domains.h"
#include "ssd_dns.h"

#include <arpa/inet.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#define UNSET -1
#define DEFAULT_DNS_TIMEOUT_MS 2000
#define DEFAULT_VERIFY_BUDGET_MS 5000
#define DEFAULT_VERIFY_INTERVAL_S 10

static ssd_conf_t *cmd_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &scaisend_domains_module);
}

/* An IPv4 or IPv6 literal (never a name: no lookup at start-up). */
static int is_ip_literal(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1
           || inet_pton(AF_INET6, host, buf) == 1;
}

/* "192.0.2.1", "192.0.2.1:5353", "::1", "[::1]:5353" */
const char *ssd_set_resolver(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    ssd_nameserver_t *ns;
    char *host = NULL, *scope = NULL;
    apr_port_t port = 0;

    (void)dc;
    if (apr_parse_addr_port(&host, &scope, &port, arg, cmd->pool)
            != APR_SUCCESS || !host || scope || !is_ip_literal(host)) {
        return apr_pstrcat(cmd->pool, SSD_DIR_RESOLVER, ": '", arg, "' is "
                           "not an IP address with an optional port", NULL);
    }
    if (!c->resolvers) {
        c->resolvers = apr_array_make(cmd->pool, 2, sizeof(ssd_nameserver_t));
    }
    ns = apr_array_push(c->resolvers);
    ns->host = host;
    ns->port = port ? port : 53;
    return NULL;
}

void ssd_conf_dns_defaults(ssd_conf_t *c)
{
    c->dns_timeout_ms = UNSET;
    c->verify_budget_ms = UNSET;
    c->verify_interval_s = UNSET;
}

static int pick(int add, int base, int dflt)
{
    return add != UNSET ? add : base != UNSET ? base : dflt;
}

void ssd_conf_dns_merge(ssd_conf_t *c, const ssd_conf_t *base,
                        const ssd_conf_t *add)
{
    c->resolvers = add->resolvers ? add->resolvers : base->resolvers;
    c->dns_timeout_ms = pick(add->dns_timeout_ms, base->dns_timeout_ms,
                             UNSET);
    c->verify_budget_ms = pick(add->verify_budget_ms, base->verify_budget_ms,
                               UNSET);
    c->verify_interval_s = pick(add->verify_interval_s,
                                base->verify_interval_s, UNSET);
}

/* Called once per server at start-up. */
void ssd_conf_dns_finish(ssd_conf_t *c)
{
    c->dns_timeout_ms = pick(c->dns_timeout_ms, UNSET, DEFAULT_DNS_TIMEOUT_MS);
    c->verify_budget_ms = pick(c->verify_budget_ms, UNSET,
                               DEFAULT_VERIFY_BUDGET_MS);
    c->verify_interval_s = pick(c->verify_interval_s, UNSET,
                                DEFAULT_VERIFY_INTERVAL_S);
}
