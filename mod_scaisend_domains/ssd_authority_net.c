/* ssd_authority_net: a batch of direct DNS queries (see the header).
 * POSIX sockets, non-blocking; every socket is closed before returning. */
#include "ssd_authority_net.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <apr_strings.h>

#define MAX_REPLY 65535
#define PENDING ((ssd_auth_net_rc)-1)

const char *ssd_auth_net_rc_text(ssd_auth_net_rc rc)
{
    switch (rc) {
    case SSD_AUTH_NET_OK: return "ok";
    case SSD_AUTH_NET_TIMEOUT: return "timeout";
    case SSD_AUTH_NET_UNREACHABLE: return "unreachable (connection refused)";
    case SSD_AUTH_NET_NO_ROUTE: return "no route";
    case SSD_AUTH_NET_TRUNCATED: return "truncated, and the TCP retry failed";
    default: return "error";
    }
}

static socklen_t sockaddr_of(const ssd_auth_xchg_t *x,
                             struct sockaddr_storage *ss)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (!x->address) {
        return 0;
    }
    if (inet_pton(AF_INET, x->address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(x->port ? x->port : 53);
        return sizeof(*v4);
    }
    if (inet_pton(AF_INET6, x->address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(x->port ? x->port : 53);
        return sizeof(*v6);
    }
    return 0;
}

static ssd_auth_net_rc errno_rc(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return SSD_AUTH_NET_UNREACHABLE;
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EADDRNOTAVAIL:
    case EAFNOSUPPORT:
        return SSD_AUTH_NET_NO_ROUTE;
    default:
        return SSD_AUTH_NET_ERROR;
    }
}

/* A connected non-blocking socket of type; -1 and *rc on failure. For
 * TCP the connection may still be in progress. */
static int open_socket(const ssd_auth_xchg_t *x, int type, ssd_auth_net_rc *rc)
{
    struct sockaddr_storage ss;
    socklen_t sl = sockaddr_of(x, &ss);
    int fd;

    if (!sl || !x->query || x->qlen < 12) {
        *rc = SSD_AUTH_NET_ERROR;
        return -1;
    }
    fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *rc = errno_rc(errno);
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
        *rc = errno_rc(errno);
        close(fd);
        return -1;
    }
    return fd;
}

/* poll timeout in ms until `until` (0 when it has passed). */
static int ms_left(apr_time_t until)
{
    apr_interval_time_t left = until - apr_time_now();

    return left <= 0 ? 0 : (int)((left + 999) / 1000);
}

static int is_reply(const ssd_auth_xchg_t *x, const unsigned char *b,
                    apr_size_t n)
{
    return n >= 12 && b[0] == x->query[0] && b[1] == x->query[1]
           && (b[2] & 0x80);
}

/* ---- UDP: all at once ---- */

static void udp_send(ssd_auth_xchg_t *x)
{
    x->fd = open_socket(x, SOCK_DGRAM, &x->rc);
    if (x->fd < 0) {
        return;
    }
    if (send(x->fd, x->query, x->qlen, 0) != (ssize_t)x->qlen) {
        x->rc = errno_rc(errno);
        return;
    }
    x->rc = PENDING;
}

static void udp_receive(apr_pool_t *p, ssd_auth_xchg_t *x, unsigned char *buf)
{
    ssize_t n;

    while ((n = recv(x->fd, buf, MAX_REPLY, 0)) >= 0 || errno == EINTR) {
        if (n >= 0 && is_reply(x, buf, (apr_size_t)n)) {
            x->reply = apr_pmemdup(p, buf, (apr_size_t)n);
            x->rlen = (apr_size_t)n;
            x->rc = SSD_AUTH_NET_OK;
            return;
        }
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
        x->rc = errno_rc(errno);
    }
}

/* Wait for the pending exchanges; one poll() round per wake-up. */
static void udp_wait(apr_pool_t *p, ssd_auth_xchg_t *x, int n,
                     apr_time_t until)
{
    struct pollfd *fds = apr_palloc(p, sizeof(*fds) * (apr_size_t)n);
    int *idx = apr_palloc(p, sizeof(*idx) * (apr_size_t)n);
    unsigned char *buf = apr_palloc(p, MAX_REPLY);
    int i, k, rv;

    for (;;) {
        for (i = 0, k = 0; i < n; i++) {
            if (x[i].rc == PENDING) {
                fds[k] = (struct pollfd){x[i].fd, POLLIN, 0};
                idx[k++] = i;
            }
        }
        if (k == 0 || (rv = poll(fds, (nfds_t)k, ms_left(until))) == 0) {
            break;
        }
        if (rv < 0 && errno != EINTR) {
            break;
        }
        for (i = 0; rv > 0 && i < k; i++) {
            if (fds[i].revents) {
                udp_receive(p, &x[idx[i]], buf);
            }
        }
    }
}

/* ---- TCP: one at a time, for truncated replies ---- */

static int wait_fd(int fd, short events, apr_time_t until)
{
    struct pollfd pfd = {fd, events, 0};
    int rv;

    do {
        rv = poll(&pfd, 1, ms_left(until));
    } while (rv < 0 && errno == EINTR);
    return rv > 0 && !(pfd.revents & POLLNVAL);
}

static int io_all(int fd, unsigned char *b, apr_size_t n, int out,
                  apr_time_t until)
{
    apr_size_t done = 0;
    ssize_t r;

    while (done < n) {
        if (!wait_fd(fd, out ? POLLOUT : POLLIN, until)) {
            return 0;
        }
        r = out ? send(fd, b + done, n - done, MSG_NOSIGNAL)
                : recv(fd, b + done, n - done, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            return 0;
        }
        done += r > 0 ? (apr_size_t)r : 0;
    }
    return 1;
}

static int tcp_talk(apr_pool_t *p, ssd_auth_xchg_t *x, int fd,
                    apr_time_t until)
{
    unsigned char *msg = apr_palloc(p, x->qlen + 2), len[2], *buf;
    apr_size_t n;

    msg[0] = (unsigned char)(x->qlen >> 8);
    msg[1] = (unsigned char)(x->qlen & 0xff);
    memcpy(msg + 2, x->query, x->qlen);
    if (!io_all(fd, msg, x->qlen + 2, 1, until)
        || !io_all(fd, len, 2, 0, until)) {
        return 0;
    }
    n = ((apr_size_t)len[0] << 8) | len[1];
    buf = apr_palloc(p, n ? n : 1);
    if (!io_all(fd, buf, n, 0, until) || !is_reply(x, buf, n)) {
        return 0;
    }
    x->reply = buf;
    x->rlen = n;
    return 1;
}

static void tcp_retry(apr_pool_t *p, ssd_auth_xchg_t *x, apr_time_t until)
{
    ssd_auth_net_rc rc;
    int fd = open_socket(x, SOCK_STREAM, &rc);

    x->rc = SSD_AUTH_NET_TRUNCATED;
    if (fd < 0) {
        return;
    }
    if (tcp_talk(p, x, fd, until) && !(x->reply[2] & 0x02)) {
        x->rc = SSD_AUTH_NET_OK;
    }
    close(fd);
}

void ssd_auth_exchange(apr_pool_t *p, ssd_auth_xchg_t *x, int n,
                       apr_time_t until)
{
    int i;

    for (i = 0; i < n; i++) {
        x[i].reply = NULL;
        x[i].rlen = 0;
        udp_send(&x[i]);
    }
    udp_wait(p, x, n, until);
    for (i = 0; i < n; i++) {
        if (x[i].fd >= 0) {
            close(x[i].fd);
            x[i].fd = -1;
        }
        if (x[i].rc == PENDING) {
            x[i].rc = SSD_AUTH_NET_TIMEOUT;
        }
        else if (x[i].rc == SSD_AUTH_NET_OK && (x[i].reply[2] & 0x02)) {
            tcp_retry(p, &x[i], until);
        }
    }
}
