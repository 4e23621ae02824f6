/* ssd_view: the JSON the API answers with, built from the model. */
#ifndef SSD_VIEW_H
#define SSD_VIEW_H

#include <json-c/json.h>
#include "ssd_model.h"
#include "ssd_records.h"

/* The DNS rows as a JSON array (type, host, value first). */
json_object *ssd_view_records(const apr_array_header_t *rows);

/* A domain resource of api.md section 2; rows as ssd_records_for_domain. */
json_object *ssd_view_domain(apr_pool_t *p, const ssd_domain_t *d,
                             const apr_array_header_t *rows);

/* The stored set of algorithms as the JSON array of their names. */
json_object *ssd_view_algorithms(const char *stored);

/* The keys of a domain, never their private parts; a retired key is
 * safe_to_remove once overlap_s seconds have passed since it retired. */
json_object *ssd_view_keys(apr_pool_t *p, const ssd_domain_t *d,
                           const apr_array_header_t *keys, int overlap_s);

/* {"error": {"code", "message", "field"?}} */
json_object *ssd_view_error(apr_pool_t *p, const char *code,
                            const char *message, const char *field);

#endif
