/* ssd_b64: base64 (RFC 4648, with padding, no line breaks). */
#ifndef SSD_B64_H
#define SSD_B64_H

#include <apr_pools.h>

const char *ssd_b64_encode(apr_pool_t *p, const unsigned char *data,
                           apr_size_t len);
/* Strict: the alphabet in whole groups of four, '=' only as the final
 * padding. Returns NULL on invalid input; *len receives the decoded
 * length. */
unsigned char *ssd_b64_decode(apr_pool_t *p, const char *text,
                              apr_size_t *len);

#endif
