/* ssd_id: prefixed ULIDs. */
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <apr_general.h>
#include <openssl/rand.h>
#include <pthread.h>

#include "ssd_id.h"

#define ULID_BYTES      16
#define ULID_TIME_BYTES 6
#define ULID_RAND_BYTES (ULID_BYTES - ULID_TIME_BYTES)

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int random_bytes(unsigned char *buf, apr_size_t len)
{
    if (RAND_bytes(buf, (int)len) == 1) {
        return 1;
    }
    return apr_generate_random_bytes(buf, len) == APR_SUCCESS;
}

static void put_time_ms(unsigned char *buf, apr_uint64_t ms)
{
    int i;

    for (i = ULID_TIME_BYTES - 1; i >= 0; i--, ms >>= 8) {
        buf[i] = (unsigned char)(ms & 0xff);
    }
}

/* Five bits of the 128-bit value starting at bit start (0 = most
 * significant); bits before 0 read as zero. */
static unsigned int bits_at(const unsigned char *buf, int start)
{
    unsigned int v = 0;
    int i;

    for (i = start; i < start + 5; i++) {
        v <<= 1;
        if (i >= 0) {
            v |= (buf[i / 8] >> (7 - i % 8)) & 1;
        }
    }
    return v;
}

static void encode_ulid(const unsigned char *buf, char *out)
{
    int i;

    /* 26 characters carry 130 bits: the first one has only 3 */
    for (i = 0; i < SSD_ULID_LEN; i++) {
        out[i] = crockford[bits_at(buf, i * 5 - 2)];
    }
    out[SSD_ULID_LEN] = '\0';
}

/* The last id made in this process: within one millisecond the next id
 * is the last one plus one, so ids made in order sort in order (the ULID
 * monotonic rule). */
static struct {
    pthread_mutex_t lock;
    apr_uint64_t ms;
    unsigned char bytes[ULID_BYTES];
} last = {PTHREAD_MUTEX_INITIALIZER, 0, {0}};

/* Add one to the random part; 0 when it overflows. */
static int increment_random(unsigned char *buf)
{
    int i;

    for (i = ULID_BYTES - 1; i >= ULID_TIME_BYTES; i--) {
        if (++buf[i] != 0) {
            return 1;
        }
    }
    return 0;
}

static int next_ulid_bytes(unsigned char *buf)
{
    apr_uint64_t ms = (apr_uint64_t)(apr_time_now() / 1000);
    int ok = 1;

    pthread_mutex_lock(&last.lock);
    if (ms <= last.ms && increment_random(last.bytes)) {
        memcpy(buf, last.bytes, ULID_BYTES);
    }
    else {
        put_time_ms(buf, ms);
        ok = random_bytes(buf + ULID_TIME_BYTES, ULID_RAND_BYTES);
        last.ms = ms;
        memcpy(last.bytes, buf, ULID_BYTES);
    }
    pthread_mutex_unlock(&last.lock);
    return ok;
}

const char *ssd_id_new(apr_pool_t *p, const char *prefix)
{
    unsigned char buf[ULID_BYTES];
    char ulid[SSD_ULID_LEN + 1];

    if (!next_ulid_bytes(buf)) {
        return NULL;
    }
    encode_ulid(buf, ulid);
    return apr_pstrcat(p, prefix ? prefix : "", ulid, NULL);
}

int ssd_id_is_valid(const char *id, const char *prefix)
{
    apr_size_t plen = prefix ? strlen(prefix) : 0;
    int i;

    if (!id || (plen && strncmp(id, prefix, plen))) {
        return 0;
    }
    id += plen;
    if (strlen(id) != SSD_ULID_LEN || id[0] < '0' || id[0] > '7') {
        return 0;
    }
    for (i = 0; i < SSD_ULID_LEN; i++) {
        if (!strchr(crockford, id[i])) {
            return 0;
        }
    }
    return 1;
}
