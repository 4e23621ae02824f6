/* ssd_text: the append buffer. */
#include "ssd_text.h"

#include <stdarg.h>
#include <string.h>
#include <apr_strings.h>

void ssd_buf_init(ssd_buf_t *b, apr_pool_t *p, apr_size_t hint,
                  apr_size_t max)
{
    b->pool = p;
    b->cap = hint > 16 ? hint : 16;
    b->data = apr_palloc(p, b->cap + 1);
    b->data[0] = '\0';
    b->len = 0;
    b->max = max;
    b->cut = 0;
}

/* Room for n more bytes; 0 when the cap forbids them. */
static int reserve(ssd_buf_t *b, apr_size_t n)
{
    char *bigger;

    if (b->max && b->len + n > b->max) {
        b->cut = 1;
        return 0;
    }
    if (b->len + n <= b->cap) {
        return 1;
    }
    while (b->cap < b->len + n) {
        b->cap *= 2;
    }
    bigger = apr_palloc(b->pool, b->cap + 1);
    memcpy(bigger, b->data, b->len + 1);
    b->data = bigger;
    return 1;
}

void ssd_buf_add(ssd_buf_t *b, const char *s, apr_size_t n)
{
    if (b->cut || !reserve(b, n)) {
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ssd_buf_adds(ssd_buf_t *b, const char *s)
{
    ssd_buf_add(b, s, strlen(s));
}

void ssd_buf_addc(ssd_buf_t *b, char c)
{
    ssd_buf_add(b, &c, 1);
}

void ssd_buf_addf(ssd_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = apr_pvsprintf(b->pool, fmt, ap);
    va_end(ap);
    ssd_buf_adds(b, s);
}

void ssd_buf_add_escaped(ssd_buf_t *b, const char *data, apr_size_t len)
{
    apr_size_t i;
    char num[8];

    for (i = 0; i < len && !b->cut; i++) {
        unsigned char c = (unsigned char)data[i];

        if (c == '\\') {
            ssd_buf_add(b, "\\\\", 2);
        }
        else if (c < 0x20 || c > 0x7e) {
            apr_snprintf(num, sizeof(num), "\\%03u", (unsigned)c);
            ssd_buf_add(b, num, 4);
        }
        else {
            ssd_buf_addc(b, (char)c);
        }
    }
}

void ssd_buf_add_sep(ssd_buf_t *b, const char *sep)
{
    if (b->len > 0) {
        ssd_buf_adds(b, sep);
    }
}

const char *ssd_buf_str(const ssd_buf_t *b)
{
    return b->data;
}
