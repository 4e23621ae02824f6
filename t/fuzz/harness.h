/* harness: what the fuzz targets of t/fuzz/ share.
 *
 * Every target defines LLVMFuzzerTestOneInput. It is linked either with
 * libFuzzer (clang -fsanitize=fuzzer, `make -f apxs.mk fuzz`) or with
 * replay.c, a main() that feeds it every file of a corpus directory
 * (`make -f apxs.mk fuzz-replay`, part of `test`). A target initialises
 * APR on its first call, makes a pool per input and destroys it before
 * returning; a broken invariant aborts (a crash for both drivers).
 *
 * Canned DNS (fuzz_zone_*): the input is the zone the checks look up.
 *
 *   input  = entry *( 0x1d entry )
 *   entry  = [ name 0x1c ] [ 0x1b code ] rr *( 0x1e rr )
 *   rr     = string *( 0x1f string )     0x1f is dropped: the strings of
 *                                        one TXT RR are concatenated
 *
 * An entry without a name holds the records of the check's own host
 * (primary). Names compare ignoring case and one trailing dot; a name
 * with no entry is NXDOMAIN, an entry with no bytes after its name is
 * NODATA. code (one byte) sets the answer's rc to code % 9 (ssd_dns_rc;
 * TXT RRs are only returned for SSD_DNS_OK) and its CNAME hops to
 * code / 9 % 10, with final_name "alias.cname.example".
 *
 * An rr that begins with 0x1a is a record of another type: the next byte
 * says which ('A' A, '6' AAAA, 'M' MX, 'P' PTR), the rest is its value as
 * text (an address; for MX and PTR a name). TXT lookups skip them; A,
 * AAAA, MX and PTR lookups (fuzz_zone_lookup) return those of their type,
 * NODATA when an entry has none, with the entry's rc otherwise. */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <apr_pools.h>

#include "ssd_check.h"
#include "ssd_dns.h"

#define FUZZ_ENTRY_SEP 0x1d
#define FUZZ_NAME_SEP 0x1c
#define FUZZ_RR_SEP 0x1e
#define FUZZ_STR_SEP 0x1f
#define FUZZ_CODE_MARK 0x1b
#define FUZZ_ALIAS "alias.cname.example"
#define FUZZ_TYPED 0x1a

/* The domain, selector and include the check targets use. */
#define FUZZ_DOMAIN "mail.example.com"
#define FUZZ_SELECTOR "scaisend"
#define FUZZ_INCLUDE "spf.scaisend.example"
#define FUZZ_DKIM_HOST FUZZ_SELECTOR "._domainkey." FUZZ_DOMAIN
#define FUZZ_DMARC_HOST "_dmarc." FUZZ_DOMAIN
/* The include's own record when the input gives none (fuzz_spf). */
#define FUZZ_INCLUDE_RECORD \
    "v=spf1 ip4:203.0.113.10 ip6:2001:db8:5ca1::10 ~all"
#define FUZZ_RUA "dmarc-reports@" FUZZ_DOMAIN
/* The public key the DKIM check expects (base64 of a 2048-bit RSA
 * SubjectPublicKeyInfo; its private half was thrown away). make-corpus
 * reads it from here. */
#define FUZZ_DKIM_KEY \
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmAyzo/495YKzhlYzSsXRdAZgg+" \
    "zlCdk7MFaoZ95FFrxK5p1rnDmGDmTwocFAPGbeK+/NzLYMoP8N04I6ELdGQN+58HN7aNi" \
    "okeoiMqqA8UUY2TMy8rIMiyJiYftAo8kX8B8rSbQSkkD0ys7F57r6KFFAV0TXxA4sIs3C" \
    "u1kXUw8mnFvblBh29mmu1AOxB9Bhd4kd7RXJ5gmlLNAgNWSaIL29o61mT6WvrKJWEtRVH" \
    "Nc1+qdf/kKuf3c77acqQ7TN56e4Oog7uncw+5CoZy/+zj4saNt1IIOYesA9Xy+bL+zdqN" \
    "wLWTGt5exIYpLNT24YRD7y2OgWRUmkVeedrTQD4wIDAQAB"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: says which and aborts. */
#define FUZZ_ASSERT(cond) \
    ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))
void fuzz_fail(const char *what, const char *file, int line);

/* APR initialised (once per process, terminated at exit), then a new
 * top-level pool for one input; the caller destroys it. */
apr_pool_t *fuzz_pool(void);

/* The bytes as a NUL-terminated string in p (it ends at the first NUL). */
char *fuzz_cstr(apr_pool_t *p, const uint8_t *data, size_t size);

typedef struct fuzz_zone fuzz_zone_t;

/* The zone of the input; primary is the name unnamed entries answer. */
fuzz_zone_t *fuzz_zone_parse(apr_pool_t *p, const uint8_t *data,
                             size_t size, const char *primary);
/* ssd_txt_fetch_fn over a fuzz_zone_t (the baton). */
ssd_dns_rc fuzz_zone_fetch(void *baton, apr_pool_t *p, const char *name,
                           ssd_txt_answer_t *out);
/* fetch calls so far (TXT and the other types) */
int fuzz_zone_calls(const fuzz_zone_t *z);
/* The SPF evaluator's lookups (TXT, A, AAAA, MX, PTR) over z. */
ssd_spf_lookup_t fuzz_zone_lookup(fuzz_zone_t *z);
/* Add one TXT RR at name when the input has no entry for name. */
void fuzz_zone_default(fuzz_zone_t *z, const char *name, const char *txt);

/* The invariants of a check result (ssd_check.h): status PASS exactly
 * when there is no error, TEMPERROR exactly when the first error is a
 * dns_* code (or SPF's include_unavailable); at most
 * SSD_CHECK_MAX_FINDINGS of each; every finding complete; found
 * printable ASCII of at most SSD_CHECK_MAX_FOUND bytes; lookups == the
 * fetch calls made; the findings as JSON strings
 * (ssd_json_add_str) serialise to valid JSON. */
void fuzz_check_result(apr_pool_t *p, const ssd_check_result_t *r,
                       const fuzz_zone_t *z);

#endif
