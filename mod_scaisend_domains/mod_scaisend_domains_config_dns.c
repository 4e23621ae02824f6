/* mod_scaisend_domains_config_dns: the directives of verification --
 * nameservers, query timeout, budget, minimum interval and the port the
 * authoritative view asks zones' servers on. */
#include "mod_scaisend_domains.h"
#include "ssd_dns.h"

#include <arpa/inet.h>
#include <apr_lib.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#define UNSET -1
#define DEFAULT_DNS_TIMEOUT_MS 2000
#define DEFAULT_VERIFY_BUDGET_MS 5000
#define DEFAULT_VERIFY_INTERVAL_S 10
#define DEFAULT_AUTH_PORT 53

static ssd_conf_t *cmd_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &scaisend_domains_module);
}

static int is_ipv4(const char *host)
{
    struct in_addr a;

    return inet_pton(AF_INET, host, &a) == 1;
}

static int is_ipv6(const char *host)
{
    struct in6_addr a;

    return inet_pton(AF_INET6, host, &a) == 1;
}

/* ":<port>" with a port of 1-65535 and nothing else; 0 when not. */
static apr_port_t port_after(const char *s)
{
    long v = 0;

    if (*s++ != ':' || !*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isdigit(*s) || (v = v * 10 + (*s - '0')) > 65535) {
            return 0;
        }
    }
    return (apr_port_t)v;
}

/* "192.0.2.1", "192.0.2.1:5353", "::1", "2001:db8::53", "[::1]",
 * "[2001:db8::53]:5353": an address literal (never a name: no lookup at
 * start-up), a bare IPv6 literal never read as host and port. */
static int parse_nameserver(apr_pool_t *p, const char *arg, const char **host,
                            apr_port_t *port)
{
    const char *close, *colon;

    *port = 53;
    if (arg[0] == '[') {
        if (!(close = strchr(arg, ']'))) {
            return 0;
        }
        *host = apr_pstrmemdup(p, arg + 1, (apr_size_t)(close - arg - 1));
        return is_ipv6(*host) && (!close[1] || (*port = port_after(close + 1)));
    }
    if (is_ipv6(arg)) {
        *host = arg;
        return 1;
    }
    colon = strchr(arg, ':');
    *host = colon ? apr_pstrmemdup(p, arg, (apr_size_t)(colon - arg)) : arg;
    return is_ipv4(*host) && (!colon || (*port = port_after(colon)));
}

const char *ssd_set_resolver(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    ssd_nameserver_t *ns;
    const char *host = NULL;
    apr_port_t port = 0;

    (void)dc;
    if (!parse_nameserver(cmd->pool, arg, &host, &port)) {
        return apr_pstrcat(cmd->pool, SSD_DIR_RESOLVER, ": '", arg, "' is "
                           "not an IP address with an optional port "
                           "(192.0.2.53, 192.0.2.53:5353, 2001:db8::53, "
                           "[2001:db8::53]:5353)", NULL);
    }
    if (!c->resolvers) {
        c->resolvers = apr_array_make(cmd->pool, 2, sizeof(ssd_nameserver_t));
    }
    ns = apr_array_push(c->resolvers);
    ns->host = host;
    ns->port = port;
    return NULL;
}

/* ScaiSendAuthoritativePort 1-65535: where the authoritative view asks
 * each zone's servers directly (53; another port for test rigs). */
const char *ssd_set_auth_port(cmd_parms *cmd, void *dc, const char *arg)
{
    ssd_conf_t *c = cmd_conf(cmd);
    apr_port_t port = port_after(apr_pstrcat(cmd->temp_pool, ":", arg, NULL));

    (void)dc;
    if (!port) {
        return apr_pstrcat(cmd->pool, SSD_DIR_AUTH_PORT, ": '", arg, "' is "
                           "not a port number from 1 to 65535", NULL);
    }
    c->auth_port = port;
    return NULL;
}

void ssd_conf_dns_defaults(ssd_conf_t *c)
{
    c->dns_timeout_ms = UNSET;
    c->verify_budget_ms = UNSET;
    c->verify_interval_s = UNSET;
    c->auth_port = UNSET;
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
    c->auth_port = pick(add->auth_port, base->auth_port, UNSET);
}

/* Called once per server at start-up. */
void ssd_conf_dns_finish(ssd_conf_t *c)
{
    c->dns_timeout_ms = pick(c->dns_timeout_ms, UNSET, DEFAULT_DNS_TIMEOUT_MS);
    c->verify_budget_ms = pick(c->verify_budget_ms, UNSET,
                               DEFAULT_VERIFY_BUDGET_MS);
    c->verify_interval_s = pick(c->verify_interval_s, UNSET,
                                DEFAULT_VERIFY_INTERVAL_S);
    c->auth_port = pick(c->auth_port, UNSET, DEFAULT_AUTH_PORT);
}

const char *ssd_conf_dns_describe(apr_pool_t *p, const ssd_conf_t *c)
{
    const char *out = NULL;
    int i;

    for (i = 0; c->resolvers && i < c->resolvers->nelts; i++) {
        const ssd_nameserver_t *ns = &APR_ARRAY_IDX(c->resolvers, i,
                                                    ssd_nameserver_t);

        out = apr_psprintf(p, "%s%s%s port %u", out ? out : "",
                           out ? ", " : "", ns->host, (unsigned)ns->port);
    }
    return out ? out : "those of /etc/resolv.conf";
}
