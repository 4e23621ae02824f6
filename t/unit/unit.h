/* unit.h: a tiny test framework for the core units.
 *
 *   UNIT_CHECK(cond, name)    "ok N - name" or "not ok N - name (file:line)"
 *   UNIT_STR_EQ(a, b, name)   NULL-safe string equality; shows both if not
 *   return UNIT_DONE();       last line "P passed, F failed"; 1 on failure
 *
 * One test program per translation unit: the counters are static. */
#ifndef SSD_UNIT_H
#define SSD_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_count;
static int unit_failed;

static inline int unit_check(int ok, const char *name, const char *file,
                             int line)
{
    unit_count++;
    if (ok) {
        printf("ok %d - %s\n", unit_count, name);
        return 1;
    }
    unit_failed++;
    printf("not ok %d - %s (%s:%d)\n", unit_count, name, file, line);
    return 0;
}

static inline int unit_str_eq(const char *a, const char *b,
                              const char *name, const char *file, int line)
{
    int ok = (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);

    if (!unit_check(ok, name, file, line)) {
        printf("#   got:      %s%s%s\n", a ? "'" : "", a ? a : "NULL",
               a ? "'" : "");
        printf("#   expected: %s%s%s\n", b ? "'" : "", b ? b : "NULL",
               b ? "'" : "");
    }
    return ok;
}

static inline int unit_done(void)
{
    printf("%d passed, %d failed\n", unit_count - unit_failed, unit_failed);
    fflush(stdout);
    return unit_failed ? 1 : 0;
}

#define UNIT_CHECK(cond, name) \
    unit_check((cond) ? 1 : 0, (name), __FILE__, __LINE__)
#define UNIT_STR_EQ(a, b, name) \
    unit_str_eq((a), (b), (name), __FILE__, __LINE__)
#define UNIT_DONE() unit_done()

#endif
