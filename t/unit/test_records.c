/* Unit tests of ssd_records: record values, row order, zone snippets. */
#include "unit.h"
#include "ssd_records.h"

#include <apr_general.h>
#include <apr_strings.h>

static void test_values(apr_pool_t *p)
{
    UNIT_STR_EQ(ssd_record_dkim_host(p, "scaisend", "mail.example.com"),
                "scaisend._domainkey.mail.example.com", "DKIM host");
    UNIT_STR_EQ(ssd_record_dkim_value(p, NULL, "MIIB"), "v=DKIM1; k=rsa; p=MIIB",
                "DKIM value");
    UNIT_STR_EQ(ssd_record_spf_value(p, "scaisend.scailabs.ai"),
                "v=spf1 include:scaisend.scailabs.ai ~all", "SPF value");
    UNIT_STR_EQ(ssd_record_dmarc_host(p, "mail.example.com"),
                "_dmarc.mail.example.com", "DMARC host");
    UNIT_STR_EQ(ssd_record_dmarc_value(p, "quarantine",
                                       "dmarc-reports@example.com"),
                "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com",
                "DMARC value with rua");
    UNIT_STR_EQ(ssd_record_dmarc_value(p, "none", NULL), "v=DMARC1; p=none",
                "DMARC value without rua");
}

static apr_array_header_t *two_keys(apr_pool_t *p)
{
    apr_array_header_t *keys = apr_array_make(p, 2, sizeof(ssd_dkim_key_t));
    ssd_dkim_key_t *k = apr_array_push(keys);

    memset(k, 0, sizeof(*k));
    k->selector = "scaisend2";
    k->state = "active";
    k->public_key = "NEW";
    k = apr_array_push(keys);
    memset(k, 0, sizeof(*k));
    k->selector = "scaisend";
    k->state = "retired";
    k->public_key = "OLD";
    return keys;
}

static void test_rows(apr_pool_t *p)
{
    ssd_domain_t d;
    apr_array_header_t *rows;
    ssd_dns_record_t *r;

    memset(&d, 0, sizeof(d));
    d.domain = "mail.example.com";
    d.dmarc_policy = "reject";
    rows = ssd_records_for_domain(p, &d, two_keys(p), "spf.example.net");
    UNIT_CHECK(rows->nelts == 4, "one row per key, then SPF and DMARC");
    r = (ssd_dns_record_t *)rows->elts;
    UNIT_STR_EQ(r[0].host, "scaisend2._domainkey.mail.example.com",
                "first DKIM row is the first key");
    UNIT_STR_EQ(r[0].key_state, "active", "DKIM row carries the key state");
    UNIT_STR_EQ(r[0].status, "pending", "an unchecked record is pending");
    UNIT_STR_EQ(r[2].status, "pending", "an unchecked SPF record is pending");
    UNIT_STR_EQ(r[1].value, "v=DKIM1; k=rsa; p=OLD", "retired key kept");
    UNIT_STR_EQ(r[2].purpose, "spf", "SPF row third");
    UNIT_STR_EQ(r[2].host, "mail.example.com", "SPF at the domain");
    UNIT_STR_EQ(r[3].value, "v=DMARC1; p=reject", "DMARC row last");
    UNIT_CHECK(r[3].selector == NULL, "DMARC row has no selector");
}

static void test_zone(apr_pool_t *p)
{
    char *long_value = apr_palloc(p, 601);
    const char *rdata;

    memset(long_value, 'a', 600);
    long_value[600] = '\0';
    rdata = ssd_zone_txt_rdata(p, long_value);
    UNIT_CHECK(strlen(rdata) == 600 + 3 * 2 + 2,
               "600 bytes become three quoted strings");
    UNIT_CHECK(rdata[256] == '"' && rdata[257] == ' ' && rdata[258] == '"',
               "the first string holds exactly 255 bytes");
    UNIT_STR_EQ(ssd_zone_txt_rdata(p, "v=spf1 ~all"), "\"v=spf1 ~all\"",
                "a short value is one string");
    UNIT_STR_EQ(ssd_zone_txt_rdata(p, ""), "\"\"", "an empty value");
    memset(long_value, 'b', 255);
    long_value[255] = '\0';
    UNIT_CHECK(strchr(ssd_zone_txt_rdata(p, long_value), ' ') == NULL,
               "exactly 255 bytes stay one string");
}

static void test_snippet(apr_pool_t *p)
{
    ssd_domain_t d;
    apr_array_header_t *keys = apr_array_make(p, 0, sizeof(ssd_dkim_key_t));
    const char *zone;

    memset(&d, 0, sizeof(d));
    d.domain = "mail.example.com";
    d.dmarc_policy = "none";
    zone = ssd_zone_snippet(p, ssd_records_for_domain(p, &d, keys, "i.test"),
                            300);
    UNIT_STR_EQ(zone, "mail.example.com. 300 IN TXT \"v=spf1 include:i.test "
                "~all\"\n_dmarc.mail.example.com. 300 IN TXT "
                "\"v=DMARC1; p=none\"\n", "zone snippet lines");
}

int main(void)
{
    apr_pool_t *p;
    int rc;

    apr_initialize();
    apr_pool_create(&p, NULL);
    test_values(p);
    test_rows(p);
    test_zone(p);
    test_snippet(p);
    rc = UNIT_DONE();
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
