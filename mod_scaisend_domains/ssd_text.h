/* ssd_text: strings of unknown length built once -- an append buffer
 * that grows by doubling (linear in the bytes appended), with an optional
 * cap past which appends are dropped and the buffer says it was cut. */
#ifndef SSD_TEXT_H
#define SSD_TEXT_H

#include <apr_pools.h>

typedef struct {
    apr_pool_t *pool;
    char *data;             /* NUL-terminated */
    apr_size_t len, cap;
    apr_size_t max;         /* 0: no cap */
    int cut;                /* an append did not fit under max */
} ssd_buf_t;

/* An empty buffer in p with room for hint bytes; max 0 for no cap. */
void ssd_buf_init(ssd_buf_t *b, apr_pool_t *p, apr_size_t hint,
                  apr_size_t max);
void ssd_buf_add(ssd_buf_t *b, const char *s, apr_size_t n);
void ssd_buf_adds(ssd_buf_t *b, const char *s);
void ssd_buf_addc(ssd_buf_t *b, char c);
void ssd_buf_addf(ssd_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Raw bytes as printable ASCII: bytes outside 0x20-0x7E become \ddd
 * (decimal, as in zone files) and a backslash becomes \\. */
void ssd_buf_add_escaped(ssd_buf_t *b, const char *data, apr_size_t len);
/* Join: sep before every item but the first appended through it. */
void ssd_buf_add_sep(ssd_buf_t *b, const char *sep);
/* The text so far (stays valid; later appends may move it). */
const char *ssd_buf_str(const ssd_buf_t *b);

#endif
