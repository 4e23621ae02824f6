/* Unit tests of ssd_webhook: the Standard Webhooks secret, signature,
 * headers and the event body.
 *
 * Every expected signature here was computed outside this code, with
 *   printf '%s' '<id>.<timestamp>.<body>' \
 *     | openssl dgst -sha256 -mac HMAC -macopt hexkey:<key in hex> -binary \
 *     | base64
 * and again with Python's hmac.new(key, msg, hashlib.sha256). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "ssd_webhook.h"
#include "unit.h"

static apr_pool_t *pool;

/* The reference library's own vector (standard-webhooks, libraries/python,
 * tests/test_webhooks.py, test_sign_function); the specification's example
 * headers give no secret to check against. */
#define REF_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define REF_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define REF_TS 1614265330
#define REF_BODY "{\"test\": 2432232314}"
#define REF_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

/* Our own: the key is the bytes 0x00..0x1f. */
#define OWN_SECRET "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define OWN_ID "evt_01JGZ5K8Q2M3N4P5R6S7T8V9W0"
#define OWN_CREATED 1795773600          /* 2026-11-27T10:00:00Z */
#define OWN_TS 1795773605
#define OWN_BODY "{\"id\":\"" OWN_ID "\",\"type\":\"domain.verified\"," \
    "\"created_at\":\"2026-11-27T10:00:00Z\",\"data\":{\"domain_id\":" \
    "\"dom_01JGZ5H0AAAAAAAAAAAAAAAAAA\",\"domain\":\"mail.example.com\"," \
    "\"partner_id\":\"p_acme\",\"tenant_id\":\"t_shop\",\"previous\":" \
    "\"pending\",\"current\":\"verified\"}}"
#define OWN_SIG "v1,tL17ZWNdAOjxMLnJuDOFdpiw5Mr7Zq1Fsw5wy5nYv9Y="

/* A 64-byte key (0x00..0x3f), the largest, over an empty body. */
#define B64_64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss" \
    "LS4vMDEyMzQ1Njc4OTo7PD0+Pw"
#define BIG_SIG "v1,HZL6IFGXxAA5+E6GULAHVKyxB+KD+eUDyD0G8JJ0huU="

static ssd_webhook_key_t *parse(const char *text, const char **err)
{
    ssd_webhook_key_t *k = NULL;

    *err = ssd_webhook_parse_secret(pool, text, strlen(text), &k);
    return *err ? NULL : k;
}

static const char *sign(const ssd_webhook_key_t *k, const char *id,
                        apr_int64_t ts, const char *body)
{
    return ssd_webhook_signature(pool, k, id, ts, body, strlen(body));
}

static void test_vectors(void)
{
    const char *err;
    ssd_webhook_key_t *k = parse(REF_SECRET, &err);

    UNIT_CHECK(k && k->len == 24, "reference secret: 24 bytes");
    UNIT_STR_EQ(k ? sign(k, REF_ID, REF_TS, REF_BODY) : NULL, REF_SIG,
                "reference library's vector");
    UNIT_CHECK(k && strcmp(sign(k, REF_ID, REF_TS + 1, REF_BODY), REF_SIG),
               "another timestamp, another signature");
    k = parse(OWN_SECRET, &err);
    UNIT_CHECK(k && k->len == 32 && k->bytes[0] == 0 && k->bytes[31] == 31,
               "own secret: the bytes 0..31");
    UNIT_STR_EQ(k ? sign(k, OWN_ID, OWN_TS, OWN_BODY) : NULL, OWN_SIG,
                "own vector (openssl dgst, Python hmac)");
    k = parse("whsec_" B64_64 "==", &err);
    UNIT_CHECK(k && k->len == 64 && k->bytes[63] == 63, "64-byte secret");
    UNIT_STR_EQ(k ? sign(k, "msg_1", 0, "") : NULL, BIG_SIG,
                "64-byte key, timestamp 0, empty body");
    k = parse("whsec_" B64_64, &err);
    UNIT_STR_EQ(k ? sign(k, "msg_1", 0, "") : NULL, BIG_SIG,
                "the same secret without its padding");
}

static void test_headers(void)
{
    const char *err;
    ssd_webhook_key_t *k = parse(OWN_SECRET, &err);
    ssd_webhook_headers_t h;
    apr_time_t at = apr_time_from_sec(OWN_TS) + 999999;

    UNIT_CHECK(k && ssd_webhook_headers(pool, k, OWN_ID, at, OWN_BODY,
                                        strlen(OWN_BODY), &h) == 0,
               "headers made");
    UNIT_STR_EQ(h.id, OWN_ID, "webhook-id");
    UNIT_STR_EQ(h.timestamp, "1795773605", "webhook-timestamp: whole seconds");
    UNIT_STR_EQ(h.signature, OWN_SIG, "webhook-signature");
    UNIT_CHECK(ssd_webhook_headers(pool, k, "evt.1", at, "", 0, &h) == -1,
               "an id with a '.' has no headers");
}

/* s with CR and LF shown as \r and \n, for a test's name. */
static const char *visible(const char *s)
{
    char *out = apr_palloc(pool, 2 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        if (*s == '\n' || *s == '\r') {
            *o++ = '\\';
            *o++ = *s == '\n' ? 'n' : 'r';
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static void test_secret_refused(void)
{
    static const struct { const char *text, *why; } bad[] = {
        {"", "does not start with whsec_"},
        {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with whsec_"},
        {"WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start"},
        {"whsec_", "is not whsec_ followed by base64"},
        {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "holds a key of 23 bytes"},
        {"whsec_MfKQ9r8GKYqrTwjUPD8I LPZIo2LaLaSw", "is not whsec_"},
        {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w", "is not whsec_"},
        {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw=", "is not whsec_"},
        {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA", "is not whsec_"},
        {"whsec_MfKQ9r8GKYqr=wjUPD8ILPZIo2LaLaSw", "is not whsec_"},
        {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\n", "is not whsec_"},
        {" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start"},
        {"whsec_" B64_64 "QQ==", "is not whsec_"},
        {"whsec_" B64_64 "QUFB", "is not whsec_"},
        {"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
         "LS4vMDEyMzQ1Njc4OTo7PD0+P0A=", "holds a key of 65 bytes"},
    };
    const char *err;
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *name = apr_psprintf(pool, "refused: '%s'",
                                        visible(bad[i].text));

        UNIT_CHECK(!parse(bad[i].text, &err) && err
                       && strstr(err, bad[i].why), name);
        UNIT_CHECK(!err || !strstr(err, "MfKQ"), "... without quoting it");
    }
    UNIT_CHECK(parse(REF_SECRET "\n", &err) != NULL, "one final LF allowed");
    UNIT_CHECK(parse(REF_SECRET "\r\n", &err) != NULL, "one final CRLF allowed");
}

static const char *write_secret(const char *dir, const char *name,
                                const char *text, mode_t mode)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    apr_file_t *f;

    apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                  | APR_FOPEN_TRUNCATE, APR_FPROT_UREAD | APR_FPROT_UWRITE,
                  pool);
    apr_file_puts(text, f);
    apr_file_close(f);
    chmod(path, mode);
    return path;
}

static void remove_all(const char *dir)
{
    static const char *const names[] = {"ok", "ok6", "world", "wx", "big",
                                        "raw", "empty", "noread", NULL};
    int i;

    for (i = 0; names[i]; i++) {
        apr_file_remove(apr_pstrcat(pool, dir, "/", names[i], NULL), pool);
    }
    apr_dir_remove(dir, pool);
}

static const char *read_err(const char *path)
{
    ssd_webhook_key_t *k = NULL;
    const char *err = ssd_webhook_read_secret(pool, path, &k);

    return err ? err : (k ? "OK" : "no key");
}

static void test_secret_file(void)
{
    char tmpl[] = "/tmp/ssd-webhook-XXXXXX";
    const char *dir = mkdtemp(tmpl), *big = apr_psprintf(pool, "%0300d", 0);

    if (!UNIT_CHECK(dir != NULL, "temporary folder")) {
        return;
    }
    UNIT_STR_EQ(read_err(write_secret(dir, "ok", REF_SECRET "\n", 0640)), "OK",
                "file 0640: read");
    UNIT_STR_EQ(read_err(write_secret(dir, "ok6", REF_SECRET, 0600)), "OK",
                "file 0600: read");
    UNIT_CHECK(strstr(read_err(write_secret(dir, "world", REF_SECRET, 0644)),
                      "is open to others (mode 0644)") != NULL,
               "file 0644: refused, naming the mode");
    UNIT_CHECK(strstr(read_err(write_secret(dir, "wx", REF_SECRET, 0641)),
                      "open to others") != NULL, "file 0641: refused");
    UNIT_CHECK(strstr(read_err(apr_pstrcat(pool, dir, "/none", NULL)),
                      "cannot open webhook secret file") != NULL,
               "missing file: refused");
    UNIT_CHECK(strstr(read_err(dir), "not a regular file") != NULL,
               "a folder: refused");
    UNIT_CHECK(strstr(read_err(write_secret(dir, "big", big, 0600)),
                      "is larger than a secret") != NULL, "large file");
    UNIT_CHECK(strstr(read_err(write_secret(dir, "raw", "MfKQ9r8GKYqrTwjUPD8I"
                      "LPZIo2LaLaSw", 0600)), "does not start with whsec_")
               != NULL, "bare base64: refused");
    UNIT_CHECK(strstr(read_err(write_secret(dir, "empty", "", 0600)),
                      "does not start with whsec_") != NULL, "empty file");
    if (geteuid() != 0) {
        UNIT_CHECK(strstr(read_err(write_secret(dir, "noread", REF_SECRET,
                                                0200)),
                          "cannot open webhook secret file") != NULL,
                   "unreadable file: refused");
    }
    remove_all(dir);
}

/* The key's bytes are zero once its pool is cleared (the pool keeps its
 * first block, so the bytes can still be looked at). */
static void test_wiped(void)
{
    apr_pool_t *sub;
    ssd_webhook_key_t *k = NULL;
    unsigned char *bytes;
    int i, zero = 1;

    apr_pool_create(&sub, pool);
    ssd_webhook_parse_secret(sub, REF_SECRET, strlen(REF_SECRET), &k);
    if (!UNIT_CHECK(k != NULL, "key in a sub-pool")) {
        return;
    }
    bytes = k->bytes;
    apr_pool_clear(sub);
    for (i = 0; i < SSD_WEBHOOK_KEY_MIN; i++) {
        zero = zero && bytes[i] == 0;
    }
    UNIT_CHECK(zero, "key bytes wiped when the pool is cleared");
    apr_pool_destroy(sub);
}

static void test_ids(void)
{
    char longest[SSD_WEBHOOK_ID_MAX + 2];

    memset(longest, 'a', sizeof(longest));
    longest[SSD_WEBHOOK_ID_MAX] = '\0';
    UNIT_CHECK(ssd_webhook_id_is_valid(OWN_ID), "evt_ ULID is an id");
    UNIT_CHECK(ssd_webhook_id_is_valid("msg-a_B9"), "letters, digits, _ -");
    UNIT_CHECK(ssd_webhook_id_is_valid(longest), "128 characters");
    longest[SSD_WEBHOOK_ID_MAX] = 'a';
    longest[SSD_WEBHOOK_ID_MAX + 1] = '\0';
    UNIT_CHECK(!ssd_webhook_id_is_valid(longest), "129 characters: refused");
    UNIT_CHECK(!ssd_webhook_id_is_valid(""), "empty: refused");
    UNIT_CHECK(!ssd_webhook_id_is_valid(NULL), "NULL: refused");
    UNIT_CHECK(!ssd_webhook_id_is_valid("evt.1"), "'.': refused");
    UNIT_CHECK(!ssd_webhook_id_is_valid("evt_1\r\nx: y"), "CRLF: refused");
    UNIT_CHECK(!ssd_webhook_id_is_valid("evt 1"), "space: refused");
}

static ssd_webhook_event_t own_event(void)
{
    ssd_webhook_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.id = OWN_ID;
    ev.type = "domain.verified";
    ev.created = apr_time_from_sec(OWN_CREATED) + 123456;
    ev.domain_id = "dom_01JGZ5H0AAAAAAAAAAAAAAAAAA";
    ev.domain = "mail.example.com";
    ev.partner_id = "p_acme";
    ev.tenant_id = "t_shop";
    ev.previous = "pending";
    ev.current = "verified";
    return ev;
}

static void test_body(void)
{
    ssd_webhook_event_t ev = own_event();
    const char *err = NULL;

    UNIT_STR_EQ(ssd_webhook_body(pool, &ev, &err), OWN_BODY,
                "body: members in order, compact, created_at in seconds");
    ev.tenant_id = NULL;
    ev.previous = NULL;
    ev.type = "dkim.rotation_due";
    ev.extra = "{\"selector\": \"scaisend2\", \"due_at\": "
               "\"2027-02-25T10:00:00Z\", \"n\": [1, {\"a/b\": true}]}";
    UNIT_STR_EQ(ssd_webhook_body(pool, &ev, &err),
                "{\"id\":\"" OWN_ID "\",\"type\":\"dkim.rotation_due\","
                "\"created_at\":\"2026-11-27T10:00:00Z\",\"data\":{"
                "\"domain_id\":\"dom_01JGZ5H0AAAAAAAAAAAAAAAAAA\",\"domain\":"
                "\"mail.example.com\",\"partner_id\":\"p_acme\",\"tenant_id\":"
                "null,\"previous\":null,\"current\":\"verified\",\"selector\":"
                "\"scaisend2\",\"due_at\":\"2027-02-25T10:00:00Z\",\"n\":[1,"
                "{\"a/b\":true}]}}",
                "body: nulls, extra members after the others");
    ev = own_event();
    ev.domain = "b\xc3\xbc" "cher.example";
    UNIT_CHECK(strstr(ssd_webhook_body(pool, &ev, &err),
                      "\"domain\":\"b\xc3\xbc" "cher.example\"") != NULL,
               "UTF-8 kept as it is");
    ev.current = "quote\" and \\";
    UNIT_CHECK(strstr(ssd_webhook_body(pool, &ev, &err),
                      "\"current\":\"quote\\\" and \\\\\"") != NULL,
               "quote and backslash escaped");
}

static void body_refused(ssd_webhook_event_t ev, const char *why,
                         const char *name)
{
    const char *err = NULL, *body = ssd_webhook_body(pool, &ev, &err);

    UNIT_CHECK(!body && err && strstr(err, why), name);
    if (err && !strstr(err, why)) {
        printf("#   error: %s\n", err);
    }
}

static void test_body_refused(void)
{
    ssd_webhook_event_t ev = own_event();

    ev.id = "evt.1";
    body_refused(ev, "not a valid webhook-id", "id with '.'");
    ev = own_event(), ev.type = "Domain.Verified";
    body_refused(ev, "dotted lower-case", "type in capitals");
    ev = own_event(), ev.type = "verified";
    body_refused(ev, "dotted lower-case", "type without a dot");
    ev = own_event(), ev.type = "domain.";
    body_refused(ev, "dotted lower-case", "type ending in a dot");
    ev = own_event(), ev.type = NULL;
    body_refused(ev, "dotted lower-case", "no type");
    ev = own_event(), ev.created = 0;
    body_refused(ev, "no time", "no time");
    ev = own_event(), ev.partner_id = NULL;
    body_refused(ev, "are required", "no partner");
    ev = own_event(), ev.domain = "";
    body_refused(ev, "are required", "empty domain");
    ev = own_event(), ev.domain = "bad\xff.example";
    body_refused(ev, "are required UTF-8", "domain not UTF-8");
    ev = own_event(), ev.previous = "\xc0\xaf";
    body_refused(ev, "must be UTF-8", "previous not UTF-8 (overlong)");
    ev = own_event(), ev.extra = "[1]";
    body_refused(ev, "not a JSON object", "extra an array");
    ev = own_event(), ev.extra = "{\"a\": 1,}";
    body_refused(ev, "not a JSON object", "extra malformed");
    ev = own_event(), ev.extra = "{\"current\": \"x\"}";
    body_refused(ev, "repeats 'current'", "extra repeating a member");
    ev = own_event(), ev.extra = "{\"a\": 1, \"a\": 2}";
    body_refused(ev, "not a JSON object", "extra with a duplicate key");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_vectors();
    test_headers();
    test_secret_refused();
    test_secret_file();
    test_wiped();
    test_ids();
    test_body();
    test_body_refused();
    apr_pool_destroy(pool);
    apr_terminate();
    return UNIT_DONE();
}
