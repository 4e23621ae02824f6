/* ssd_log: how core units reach the error log without httpd -- a sink the
 * glue hands them (mod_md's md_log_set, per operation rather than global,
 * so that each line carries its request's id). Levels are syslog's, as
 * httpd's APLOG_* are. */
#ifndef SSD_LOG_H
#define SSD_LOG_H

#define SSD_LOG_ERR 3
#define SSD_LOG_WARNING 4
#define SSD_LOG_INFO 6
#define SSD_LOG_DEBUG 7

typedef struct {
    /* writes one line; msg is already formatted */
    void (*write)(void *baton, int level, int num, const char *msg);
    void *baton;
    int max_level;          /* lines above this level are not formatted */
} ssd_log_t;

/* One line through log (NULL: nowhere), with the module's message number
 * num; formatted into a bounded buffer, never from a pool. */
void ssd_logf(const ssd_log_t *log, int level, int num, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
