/* fail-threads: an LD_PRELOAD shim for fault-injection tests. While the
 * file named by SCAISEND_FAULT_THREADS exists, pthread_create() fails with
 * EAGAIN (as when a thread limit is reached); otherwise it is the real
 * one. Built at test time by t/verify/threads.t:
 *   cc -shared -fPIC -o fail-threads.so t/fault/fail-threads.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *,
                         void *(*)(void *), void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
                   void *(*start)(void *), void *arg)
{
    static create_fn real;
    const char *flag = getenv("SCAISEND_FAULT_THREADS");

    if (!real) {
        real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    }
    if (flag && access(flag, F_OK) == 0) {
        return EAGAIN;
    }
    return real ? real(t, attr, start, arg) : EAGAIN;
}
