/* ssd_webhook: events for the provider's systems, signed per the Standard
 * Webhooks scheme (standardwebhooks.com, specification 1.0.0, symmetric):
 *
 *   webhook-id:        the event's id (the same on every retry)
 *   webhook-timestamp: the attempt's time, Unix seconds
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
 *
 * keyed with the bytes of the secret "whsec_<base64>". The body is the
 * event as api.md section 9 describes it. No HTTP here: the glue posts. */
#ifndef SSD_WEBHOOK_H
#define SSD_WEBHOOK_H

#include <apr_pools.h>
#include <apr_time.h>

#define SSD_WEBHOOK_SECRET_PREFIX "whsec_"
/* The scheme's bounds of a symmetric secret: 24 to 64 bytes. */
#define SSD_WEBHOOK_KEY_MIN 24
#define SSD_WEBHOOK_KEY_MAX 64
/* The longest webhook-id accepted. */
#define SSD_WEBHOOK_ID_MAX 128

typedef struct {
    unsigned char *bytes;       /* wiped when the pool it came from goes */
    apr_size_t len;
} ssd_webhook_key_t;

/* The secret from text "whsec_<base64>" (standard alphabet, padding
 * optional, one final newline allowed). Returns NULL and *key (its bytes
 * in p, wiped by a cleanup of p), or the reason it is refused; the reason
 * never quotes the secret. */
const char *ssd_webhook_parse_secret(apr_pool_t *p, const char *text,
                                     apr_size_t len, ssd_webhook_key_t **key);

/* The same from a file, refused when it is missing, unreadable, larger
 * than a secret can be, or readable by others than its owner and group.
 * Every buffer that held the text is wiped. */
const char *ssd_webhook_read_secret(apr_pool_t *p, const char *path,
                                    ssd_webhook_key_t **key);

/* 1-SSD_WEBHOOK_ID_MAX of [A-Za-z0-9_-]: no '.' (the scheme's delimiter)
 * and nothing a header line could break on. */
int ssd_webhook_id_is_valid(const char *id);

/* "v1,<base64>" over "<id>.<timestamp>.<body>"; NULL when id is not valid
 * or timestamp is negative. */
const char *ssd_webhook_signature(apr_pool_t *p, const ssd_webhook_key_t *key,
                                  const char *id, apr_int64_t timestamp,
                                  const char *body, apr_size_t len);

/* The three header values of one attempt made at time at. */
typedef struct {
    const char *id;
    const char *timestamp;      /* decimal Unix seconds */
    const char *signature;
} ssd_webhook_headers_t;

/* 0 and h filled, or -1 (id not valid). */
int ssd_webhook_headers(apr_pool_t *p, const ssd_webhook_key_t *key,
                        const char *id, apr_time_t at, const char *body,
                        apr_size_t len, ssd_webhook_headers_t *h);

/* An event as the body tells it. */
typedef struct {
    const char *id;             /* evt_...: the webhook-id too */
    const char *type;           /* domain.verified, dkim.activated, ... */
    apr_time_t created;         /* when it happened (created_at) */
    const char *domain_id;
    const char *domain;
    const char *partner_id;
    const char *tenant_id;      /* NULL: JSON null (a partner's own) */
    const char *previous;       /* NULL: JSON null */
    const char *current;        /* NULL: JSON null */
    const char *extra;          /* NULL, or the JSON text of an object whose
                                 * members follow the others in data */
} ssd_webhook_event_t;

/* {"id", "type", "created_at", "data": {"domain_id", "domain",
 *  "partner_id", "tenant_id", "previous", "current", <extra>...}}, compact,
 * members in that order, created_at RFC 3339 UTC in seconds. NULL and
 * *err when a field is missing or not valid (id, a type that is not
 * dotted lower-case words, text that is not UTF-8, extra that is not an
 * object or repeats a member). */
const char *ssd_webhook_body(apr_pool_t *p, const ssd_webhook_event_t *ev,
                             const char **err);

#endif
