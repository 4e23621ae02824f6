/* ssd_log: one formatted line to the sink. */
#include "ssd_log.h"

#include <stdarg.h>
#include <apr_strings.h>

void ssd_logf(const ssd_log_t *log, int level, int num, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!log || !log->write || level > log->max_level) {
        return;
    }
    va_start(ap, fmt);
    apr_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log->write(log->baton, level, num, msg);
}
