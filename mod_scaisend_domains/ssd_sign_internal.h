/* ssd_sign_internal: the signer's state, shared by its files. */
#ifndef SSD_SIGN_INTERNAL_H
#define SSD_SIGN_INTERNAL_H

#include "ssd_sign.h"
#include "ssd_text.h"
#include <apr_hash.h>
#include <apr_tables.h>

typedef struct {
    const char *raw;        /* "Name: value" with folding, no final CRLF */
    apr_size_t len;
} ssd_field_t;

/* The fields of one name (lower case), in message order; h= takes them
 * from the bottom up (RFC 6376 section 5.4.2). */
typedef struct {
    apr_array_header_t *at;         /* int: indexes into fields */
    int taken;                      /* instances given to h= entries */
} ssd_field_set_t;

struct ssd_signer {
    apr_pool_t *pool;
    char *header;
    apr_size_t header_len, max_header;
    int in_headers;
    /* body canonicaliser */
    EVP_MD_CTX *body_md;
    char *out;
    apr_size_t out_len;
    int cr, pending_wsp, line_has_content;
    apr_size_t empty_lines;
    unsigned char body_hash[EVP_MAX_MD_SIZE];
    /* parsed header section */
    apr_array_header_t *fields;     /* ssd_field_t */
    apr_hash_t *by_name;            /* lower-case name -> ssd_field_set_t */
    const char *from_domain;
};

/* SHA-256, fetched once by ssd_signer_init. */
const EVP_MD *ssd_sign_sha256(void);
int ssd_sign_parse_headers(ssd_signer_t *s, ssd_sign_error_t *err);
int ssd_sign_find_from(ssd_signer_t *s, ssd_sign_error_t *err);
/* "name:value" relaxed (section 3.4.2) appended to b, and a CRLF when
 * crlf is set. */
void ssd_sign_relaxed_append(ssd_buf_t *b, const char *raw, apr_size_t len,
                             int crlf);
/* The same as a new string (for tests). */
const char *ssd_sign_relaxed_header(apr_pool_t *p, const char *raw,
                                    int crlf);

#endif
