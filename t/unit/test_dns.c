/* Unit tests of ssd_dns that need no DNS server: configuration errors,
 * resolv.conf handling, the deadline, and a nameserver that never answers
 * (a UDP socket of this process that reads nothing). */
#include "unit.h"
#include "ssd_dns.h"

#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_strings.h>

static apr_pool_t *pool;

static ssd_dns_t *with_servers(const char *const *hosts, apr_port_t port,
                               apr_interval_time_t timeout,
                               apr_interval_time_t budget, const char **err)
{
    apr_array_header_t *ns = apr_array_make(pool, 2, sizeof(ssd_nameserver_t));
    ssd_dns_config_t cfg;

    for (; *hosts; hosts++) {
        ssd_nameserver_t *n = apr_array_push(ns);

        n->host = *hosts;
        n->port = port;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.nameservers = ns;
    cfg.query_timeout = timeout;
    cfg.deadline = apr_time_now() + budget;
    *err = NULL;
    return ssd_dns_new(pool, &cfg, err);
}

static const char *resolv_file(const char *content)
{
    const char *dir;
    apr_file_t *f;
    char *tmpl;

    apr_temp_dir_get(&dir, pool);
    tmpl = apr_pstrcat(pool, dir, "/ssd-resolv-XXXXXX", NULL);
    apr_file_mktemp(&f, tmpl, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                    | APR_FOPEN_EXCL, pool);
    apr_file_puts(content, f);
    apr_file_close(f);
    return tmpl;
}

static void test_config(void)
{
    static const char *const bad[] = { "ns.example.com", NULL };
    static const char *const good[] = { "127.0.0.1", "::1", "[::1]", NULL };
    ssd_dns_config_t cfg;
    const char *err, *path;
    ssd_dns_t *d;

    d = with_servers(bad, 53, apr_time_from_sec(1), apr_time_from_sec(1),
                     &err);
    UNIT_CHECK(!d && err && strstr(err, "not an IPv4 or IPv6 address"),
               "a host name is refused as a nameserver");
    d = with_servers(good, 5353, apr_time_from_sec(1), apr_time_from_sec(1),
                     &err);
    UNIT_CHECK(d && ssd_dns_server_count(d) == 3,
               "IPv4 and IPv6 nameservers (brackets allowed)");
    memset(&cfg, 0, sizeof(cfg));
    cfg.resolv_conf = "/nonexistent/resolv.conf";
    err = NULL;
    UNIT_CHECK(!ssd_dns_new(pool, &cfg, &err) && err
               && strstr(err, "/nonexistent/resolv.conf"),
               "an unreadable resolv.conf is an error naming the file");
    path = resolv_file("# no nameserver here\nsearch example.com\n");
    cfg.resolv_conf = path;
    err = NULL;
    UNIT_CHECK(!ssd_dns_new(pool, &cfg, &err) && err
               && strstr(err, "no usable nameserver"),
               "a resolv.conf without nameservers is an error");
    apr_file_remove(path, pool);
    path = resolv_file("nameserver 192.0.2.53\nnameserver 2001:db8::53\n"
                       "options timeout:30\n");
    cfg.resolv_conf = path;
    d = ssd_dns_new(pool, &cfg, &err);
    UNIT_CHECK(d && ssd_dns_server_count(d) == 2,
               "nameservers read from a resolv.conf");
    apr_file_remove(path, pool);
}

/* ssd_dns_rr under the same rules as TXT (the answers: t/verify/spf_eval.t
 * against Knot). */
static void test_rr_deadline(ssd_dns_t *d)
{
    ssd_rr_answer_t rr;

    UNIT_CHECK(d && ssd_dns_rr(d, pool, "example.com", 15, &rr)
               == SSD_DNS_TIMEOUT && rr.rc == SSD_DNS_TIMEOUT
               && rr.ips && rr.ips->nelts == 0 && rr.names
               && rr.names->nelts == 0, "MX past the deadline: TIMEOUT, "
               "empty answer");
    UNIT_CHECK(d && ssd_dns_fetch_a(d, pool, "example.com", &rr)
               == SSD_DNS_TIMEOUT && ssd_dns_fetch_ptr(d, pool,
               "1.2.0.192.in-addr.arpa", &rr) == SSD_DNS_TIMEOUT,
               "A and PTR past the deadline: TIMEOUT");
    UNIT_CHECK(d && ssd_dns_rr(d, pool, "example.com", 16, &rr)
               == SSD_DNS_ERROR && rr.ips && rr.names,
               "ssd_dns_rr refuses other types (TXT: ssd_dns_txt)");
}

static void test_deadline_past(void)
{
    static const char *const ns[] = { "127.0.0.1", NULL };
    const char *err;
    ssd_dns_t *d = with_servers(ns, 9, apr_time_from_sec(1), -1000, &err);
    ssd_txt_answer_t out;
    apr_time_t t0 = apr_time_now();

    UNIT_CHECK(d != NULL, "resolver created");
    UNIT_CHECK(d && ssd_dns_txt(d, pool, "example.com", &out)
               == SSD_DNS_TIMEOUT && out.txts && out.txts->nelts == 0,
               "deadline already past: TIMEOUT");
    UNIT_CHECK(apr_time_now() - t0 < apr_time_from_msec(200),
               "... without waiting");
    UNIT_CHECK(d && ssd_dns_exists(d, "example.com", 1) == SSD_DNS_TIMEOUT,
               "exists: TIMEOUT past the deadline");
    UNIT_CHECK(d && ssd_dns_txt(d, pool, "", &out) == SSD_DNS_ERROR,
               "an empty name is an error");
    test_rr_deadline(d);
}

/* A UDP socket that receives queries and never answers. */
static apr_port_t silent_port(apr_socket_t **s)
{
    apr_sockaddr_t *sa;

    apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, pool);
    apr_socket_create(s, APR_INET, SOCK_DGRAM, APR_PROTO_UDP, pool);
    apr_socket_bind(*s, sa);
    apr_socket_addr_get(&sa, APR_LOCAL, *s);
    return sa->port;
}

static void test_silent_server(void)
{
    static const char *const ns[] = { "127.0.0.1", NULL };
    apr_socket_t *s;
    apr_port_t port = silent_port(&s);
    const char *err;
    ssd_dns_t *d = with_servers(ns, port, apr_time_from_sec(1),
                                apr_time_from_msec(300), &err);
    ssd_txt_answer_t out;
    apr_time_t t0 = apr_time_now(), took;

    UNIT_CHECK(d && ssd_dns_txt(d, pool, "example.com.", &out)
               == SSD_DNS_TIMEOUT, "silent server: TIMEOUT");
    took = apr_time_now() - t0;
    printf("# query_timeout 1 s, deadline 300 ms: returned after %d ms\n",
           (int)apr_time_as_msec(took));
    UNIT_CHECK(took >= apr_time_from_msec(250)
               && took < apr_time_from_msec(600),
               "the deadline, not the query timeout, bounds the wait");
    UNIT_CHECK(ssd_dns_txt(d, pool, "example.com", &out) == SSD_DNS_TIMEOUT
               && apr_time_now() - t0 < apr_time_from_msec(700),
               "later queries stop at the deadline too");
    apr_socket_close(s);
}

static void test_names(void)
{
    UNIT_STR_EQ(ssd_dns_rc_name(SSD_DNS_SERVFAIL), "servfail", "rc names");
    UNIT_CHECK(ssd_dns_is_temporary(SSD_DNS_TRUNCATED)
               && ssd_dns_is_temporary(SSD_DNS_REFUSED)
               && !ssd_dns_is_temporary(SSD_DNS_NXDOMAIN)
               && !ssd_dns_is_temporary(SSD_DNS_CNAME_LOOP),
               "temporary codes");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_config();
    test_deadline_past();
    test_silent_server();
    test_names();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
