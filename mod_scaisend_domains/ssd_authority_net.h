/* ssd_authority_net: many direct DNS queries at once. Every query of a
 * batch goes out on its own connected UDP socket at the start; the
 * replies are awaited together with poll() until each has one or the
 * time is up, so a batch takes one round trip, or `until` when a server
 * stays silent. A truncated reply is asked again over TCP (one at a time,
 * under the same `until`). A connected socket also hears ICMP "port
 * unreachable": nothing listening is known at once, without a wait. */
#ifndef SSD_AUTHORITY_NET_H
#define SSD_AUTHORITY_NET_H

#include <apr_pools.h>
#include <apr_time.h>
#include <apr_network_io.h>

typedef enum {
    SSD_AUTH_NET_OK,            /* a reply with the query's id */
    SSD_AUTH_NET_TIMEOUT,       /* nothing in time */
    SSD_AUTH_NET_UNREACHABLE,   /* connection refused (nothing listens) */
    SSD_AUTH_NET_NO_ROUTE,      /* no route to that address family/net */
    SSD_AUTH_NET_TRUNCATED,     /* TC set and the TCP retry failed */
    SSD_AUTH_NET_ERROR          /* not an address, no socket */
} ssd_auth_net_rc;

typedef struct {
    const char *address;        /* IPv4 or IPv6 literal (NULL: error) */
    apr_port_t port;
    const unsigned char *query; /* wire format, id in its first 2 bytes */
    apr_size_t qlen;
    /* results */
    ssd_auth_net_rc rc;
    const unsigned char *reply; /* when OK; in the pool given */
    apr_size_t rlen;
    int fd;                     /* internal */
} ssd_auth_xchg_t;

/* Run the n exchanges of x; each ends with its rc (and reply). */
void ssd_auth_exchange(apr_pool_t *p, ssd_auth_xchg_t *x, int n,
                       apr_time_t until);

/* "timeout" "unreachable (connection refused)" "no route" "truncated, and
 * the TCP retry failed" "error" ("ok" for OK). */
const char *ssd_auth_net_rc_text(ssd_auth_net_rc rc);

#endif
