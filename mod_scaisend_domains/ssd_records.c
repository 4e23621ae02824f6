/* ssd_records: DKIM, SPF and DMARC record values and their zone form. */
#include "ssd_records.h"
#include "ssd_dkim.h"

#include <string.h>
#include <apr_strings.h>

#define TXT_STRING_MAX 255

const char *ssd_record_dkim_host(apr_pool_t *p, const char *selector,
                                 const char *domain)
{
    return apr_pstrcat(p, selector, "._domainkey.", domain, NULL);
}

const char *ssd_record_dkim_value(apr_pool_t *p, const char *algorithm,
                                  const char *public_b64)
{
    return apr_pstrcat(p, "v=DKIM1; k=",
                       ssd_dkim_alg_k(ssd_dkim_alg_of(algorithm)), "; p=",
                       public_b64, NULL);
}

const char *ssd_record_dkim_revocation(apr_pool_t *p, const char *algorithm)
{
    return ssd_record_dkim_value(p, algorithm, "");
}

const char *ssd_record_spf_value(apr_pool_t *p, const char *include)
{
    return apr_pstrcat(p, "v=spf1 include:", include, " ~all", NULL);
}

const char *ssd_record_dmarc_host(apr_pool_t *p, const char *domain)
{
    return apr_pstrcat(p, "_dmarc.", domain, NULL);
}

const char *ssd_record_dmarc_value(apr_pool_t *p, const char *policy,
                                  const char *rua)
{
    if (!rua) {
        return apr_pstrcat(p, "v=DMARC1; p=", policy, NULL);
    }
    return apr_pstrcat(p, "v=DMARC1; p=", policy, "; rua=mailto:", rua, NULL);
}

static ssd_dns_record_t *push_row(apr_array_header_t *rows, const char *host,
                                  const char *value, const char *purpose)
{
    ssd_dns_record_t *row = apr_array_push(rows);

    memset(row, 0, sizeof(*row));
    row->type = "TXT";
    row->host = host;
    row->value = value;
    row->purpose = purpose;
    return row;
}

apr_array_header_t *ssd_records_for_domain(apr_pool_t *p,
                                           const ssd_domain_t *d,
                                           const apr_array_header_t *keys,
                                           const char *spf_include)
{
    apr_array_header_t *rows = apr_array_make(p, keys->nelts + 2,
                                              sizeof(ssd_dns_record_t));
    int i;

    for (i = 0; i < keys->nelts; i++) {
        const ssd_dkim_key_t *k = &APR_ARRAY_IDX(keys, i, ssd_dkim_key_t);
        ssd_dns_record_t *row = push_row(
            rows, ssd_record_dkim_host(p, k->selector, d->domain),
            ssd_record_dkim_value(p, k->algorithm, k->public_key), "dkim");

        row->selector = k->selector;
        row->algorithm = ssd_dkim_alg_name(ssd_dkim_alg_of(k->algorithm));
        row->key_state = k->state;
        row->status = k->dns_status ? k->dns_status : "pending";
    }
    push_row(rows, d->domain, ssd_record_spf_value(p, spf_include), "spf")
        ->status = d->spf_status ? d->spf_status : "pending";
    push_row(rows, ssd_record_dmarc_host(p, d->domain),
             ssd_record_dmarc_value(p, d->dmarc_policy, d->dmarc_rua_email),
             "dmarc")->status = d->dmarc_status ? d->dmarc_status
                                                 : "pending";
    return rows;
}

/* Quote one character-string; record values never hold '"' or '\', but
 * escape them anyway so the snippet stays valid zone syntax. */
static const char *quote_chunk(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *out = apr_palloc(p, 2 * n + 3), *o = out;
    apr_size_t i;

    *o++ = '"';
    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            *o++ = '\\';
        }
        *o++ = s[i];
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

const char *ssd_zone_txt_rdata(apr_pool_t *p, const char *value)
{
    apr_size_t len = strlen(value), off = 0;
    const char *out = NULL;

    do {
        apr_size_t n = len - off > TXT_STRING_MAX ? TXT_STRING_MAX
                                                  : len - off;
        const char *chunk = quote_chunk(p, value + off, n);

        out = out ? apr_pstrcat(p, out, " ", chunk, NULL) : chunk;
        off += n;
    } while (off < len);
    return out;
}

const char *ssd_zone_snippet(apr_pool_t *p, const apr_array_header_t *rows,
                             int ttl)
{
    const char *out = "";
    int i;

    for (i = 0; i < rows->nelts; i++) {
        const ssd_dns_record_t *r = &APR_ARRAY_IDX(rows, i, ssd_dns_record_t);

        out = apr_psprintf(p, "%s%s. %d IN %s %s\n", out, r->host, ttl,
                           r->type, ssd_zone_txt_rdata(p, r->value));
    }
    return out;
}
