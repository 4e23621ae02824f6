/* resolv-shim: an LD_PRELOAD object that points the libc stub resolver at
 * one nameserver and port, for programs that read no resolver config of
 * their own (opendkim-testmsg: libopendkim calls res_ninit/res_nquery).
 *
 *   SCAISEND_RESOLV_PORT=8553 [SCAISEND_RESOLV_ADDR=127.0.0.1] \
 *   LD_PRELOAD=/path/resolv-shim.so opendkim-testmsg < message
 *
 * Every res_state the program initialises (res_ninit, res_init) gets that
 * one IPv4 nameserver instead of those of /etc/resolv.conf.  Loopback
 * addresses only: the test suite never asks anything else.  Without
 * SCAISEND_RESOLV_PORT the shim changes nothing.  Timeouts and attempts
 * come from the usual RES_OPTIONS environment variable.
 *
 * Built by t/lib/ScaiSend/DKIM.pm at test time (cc -shared -fPIC ... -ldl).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

typedef int (*ninit_fn)(res_state);
typedef int (*init_fn)(void);

/* 0 and the address to use, or -1 when the environment asks for nothing
 * (or for something other than a loopback address). */
static int target(struct sockaddr_in *sin)
{
    const char *port = getenv("SCAISEND_RESOLV_PORT");
    const char *addr = getenv("SCAISEND_RESOLV_ADDR");
    long n = port ? strtol(port, NULL, 10) : 0;

    if (n <= 0 || n > 65535) {
        return -1;
    }
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)n);
    if (inet_pton(AF_INET, addr && *addr ? addr : "127.0.0.1",
                  &sin->sin_addr) != 1
        || (ntohl(sin->sin_addr.s_addr) >> 24) != 127) {
        return -1;
    }
    return 0;
}

static void point(res_state statp)
{
    struct sockaddr_in sin;

    if (target(&sin) != 0) {
        return;
    }
    statp->nsaddr_list[0] = sin;
    statp->nscount = 1;
    /* No search list: the names asked are absolute. */
    statp->dnsrch[0] = NULL;
    statp->options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
}

int __res_ninit(res_state statp)
{
    ninit_fn real = (ninit_fn)dlsym(RTLD_NEXT, "__res_ninit");
    int rc = real ? real(statp) : -1;

    if (rc == 0) {
        point(statp);
    }
    return rc;
}

int __res_init(void)
{
    init_fn real = (init_fn)dlsym(RTLD_NEXT, "__res_init");
    int rc = real ? real() : -1;

    if (rc == 0) {
        point(&_res);
    }
    return rc;
}
