/* ssd_id: record ids -- a prefix and a ULID (48-bit millisecond time,
 * 80 random bits from the OpenSSL CSPRNG, 26 Crockford base32 characters),
 * so ids sort by creation time; ids one process makes within the same
 * millisecond follow each other (the random part grows by one). */
#ifndef SSD_ID_H
#define SSD_ID_H

#include <apr_pools.h>

#define SSD_ULID_LEN 26

/* prefix (e.g. "dom_", may be NULL) + a new ULID, allocated from p; NULL
 * only when no random bytes could be had. */
const char *ssd_id_new(apr_pool_t *p, const char *prefix);

/* True if id is prefix followed by exactly 26 upper-case Crockford base32
 * characters, the first one 0-7. */
int ssd_id_is_valid(const char *id, const char *prefix);

#endif
