/* ssd_dmarc: the syntax of a DMARC Policy Record, RFC 9989 (DMARCbis)
 * sections 4.7 (tags) and 4.8 (formal definition). Section numbers here
 * and in ssd_check_dmarc*.c are those of draft-ietf-dmarc-dmarcbis-41,
 * the text the RFC Editor published as RFC 9989.
 *
 *   dmarc-record  = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep]
 *   dmarc-version = "v" equals %s"DMARC1"     ; "v" any case, DMARC1 exact
 *   equals        = *WSP "=" *WSP
 *   dmarc-sep     = *WSP ";" *WSP
 *   dmarc-tag     = 1*ALPHA equals 1*dmarc-value
 *   dmarc-value   = %x20-3A / %x3C-7E         ; printing characters but ";"
 *
 * Nothing may come before the "v": a record that starts with white space
 * does not start with the version tag and is no DMARC record (section
 * 4.10 step 2). Tag names and the keyword values are ABNF quoted strings,
 * so case-insensitive (RFC 5234 section 2.3). */
#ifndef SSD_DMARC_H
#define SSD_DMARC_H

#include <apr_pools.h>
#include <apr_tables.h>

/* True when data begins with dmarc-version followed by the end, a
 * dmarc-sep, or white space up to the end. */
int ssd_dmarc_is_record(const char *data, apr_size_t len);

typedef struct {
    const char *name;       /* lower case; NULL: not a tag=value */
    const char *value;      /* white space around it removed; for a part
                               that is no tag, the part itself (raw) */
    const char *problem;    /* NULL, or why this part breaks section 4.8 */
    int duplicate;          /* the tag appeared before (RFC 6376 sec 3.2:
                               the whole tag-list is then invalid) */
} ssd_dmarc_part_t;

/* The parts after the version tag, in order, in one pass (data must
 * satisfy ssd_dmarc_is_record). Every part is kept: valid tags, tags with
 * a broken syntax and bytes that are no tag at all (problem set). */
apr_array_header_t *ssd_dmarc_parse(apr_pool_t *p, const char *data,
                                    apr_size_t len);

/* The value of the first syntactically valid tag name (lower case), or
 * NULL. */
const char *ssd_dmarc_get(const apr_array_header_t *parts, const char *name);

/* Tags of section 4.7 (adkim aspf fo np p psd rua ruf sp t); the ones
 * removed by RFC 9989 Appendix C.5.2 (pct rf ri). */
int ssd_dmarc_is_known(const char *name);
int ssd_dmarc_is_removed(const char *name);

/* Table 2 of section 4.8: NULL when value is valid for the known tag
 * name, else an English phrase saying what is allowed. NULL for other
 * names (unknown tags are ignored). */
const char *ssd_dmarc_value_problem(apr_pool_t *p, const char *name,
                                    const char *value);

/* One URI of a dmarc-urilist (rua=, ruf=). */
typedef struct {
    const char *uri;        /* as written, without the size suffix */
    const char *host;       /* mailto: the destination host (lower case),
                               else NULL */
    const char *size;       /* obs-dmarc-report-size ("!10m") or NULL */
    const char *problem;    /* NULL, or why it is not a valid dmarc-uri */
} ssd_dmarc_uri_t;

/* The URIs of list, split at commas (white space around them allowed). */
apr_array_header_t *ssd_dmarc_uris(apr_pool_t *p, const char *list);

#endif
