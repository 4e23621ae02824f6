/* Unit tests of ssd_policy: the authorisation table of api.md section 1. */
#include "unit.h"
#include "ssd_policy.h"

static ssd_principal_t who(const char *partner, const char *tenant,
                           ssd_role_e role)
{
    ssd_principal_t w = {"sub-1", partner, tenant, role};

    return w;
}

static ssd_domain_t domain(const char *partner, const char *tenant,
                           int shared)
{
    ssd_domain_t d;

    memset(&d, 0, sizeof(d));
    d.partner_id = partner;
    d.tenant_id = tenant;
    d.is_shared = shared;
    return d;
}

static void test_roles(void)
{
    UNIT_CHECK(ssd_role_parse("tenant_admin") == SSD_ROLE_TENANT_ADMIN,
               "tenant_admin role");
    UNIT_CHECK(ssd_role_parse("partner_operator")
               == SSD_ROLE_PARTNER_OPERATOR, "partner_operator role");
    UNIT_CHECK(ssd_role_parse("sender") == SSD_ROLE_SENDER, "sender role");
    UNIT_CHECK(ssd_role_parse("admin") == -1, "unknown role");
    UNIT_CHECK(ssd_role_parse("Tenant_admin") == -1, "roles are exact");
    UNIT_CHECK(ssd_role_parse(NULL) == -1, "missing role");
}

static void test_tenant(void)
{
    ssd_principal_t t1 = who("p1", "t1", SSD_ROLE_TENANT_ADMIN);
    ssd_domain_t own = domain("p1", "t1", 0), other = domain("p1", "t2", 0);
    ssd_domain_t shared = domain("p1", NULL, 1), unshared = domain("p1", NULL, 0);
    ssd_domain_t foreign = domain("p2", "t1", 0);

    UNIT_CHECK(ssd_policy_domain(&t1, &own, SSD_ACCESS_WRITE) == SSD_ALLOW,
               "tenant changes its own domain");
    UNIT_CHECK(ssd_policy_domain(&t1, &other, SSD_ACCESS_READ)
               == SSD_DENY_HIDDEN, "another tenant's domain is hidden");
    UNIT_CHECK(ssd_policy_domain(&t1, &shared, SSD_ACCESS_READ) == SSD_ALLOW,
               "tenant reads the partner's shared domain");
    UNIT_CHECK(ssd_policy_domain(&t1, &shared, SSD_ACCESS_WRITE)
               == SSD_DENY_READ_ONLY, "shared domain is read-only for it");
    UNIT_CHECK(ssd_policy_domain(&t1, &unshared, SSD_ACCESS_READ)
               == SSD_DENY_HIDDEN, "an unshared partner domain is hidden");
    UNIT_CHECK(ssd_policy_domain(&t1, &foreign, SSD_ACCESS_READ)
               == SSD_DENY_HIDDEN, "same tenant id under another partner");
    UNIT_CHECK(ssd_policy_create(&t1, "t1", 0) == SSD_ALLOW,
               "tenant creates for itself");
    UNIT_CHECK(ssd_policy_create(&t1, "t2", 0) == SSD_DENY_ROLE,
               "tenant cannot create for another tenant");
    UNIT_CHECK(ssd_policy_create(&t1, "t1", 1) == SSD_DENY_ROLE,
               "tenant cannot share");
    UNIT_CHECK(ssd_policy_create(&t1, NULL, 0) == SSD_DENY_ROLE,
               "tenant cannot create a partner domain");
}

static void test_partner_and_sender(void)
{
    ssd_principal_t op = who("p1", NULL, SSD_ROLE_PARTNER_OPERATOR);
    ssd_principal_t snd = who("p1", NULL, SSD_ROLE_SENDER);
    ssd_domain_t d = domain("p1", "t9", 0), foreign = domain("p2", NULL, 1);

    UNIT_CHECK(ssd_policy_domain(&op, &d, SSD_ACCESS_WRITE) == SSD_ALLOW,
               "operator changes any domain of its partner");
    UNIT_CHECK(ssd_policy_domain(&op, &foreign, SSD_ACCESS_READ)
               == SSD_DENY_HIDDEN, "another partner's domain is hidden");
    UNIT_CHECK(ssd_policy_create(&op, NULL, 1) == SSD_ALLOW,
               "operator creates a shared partner domain");
    UNIT_CHECK(ssd_policy_create(&op, "t3", 0) == SSD_ALLOW,
               "operator creates for a tenant");
    UNIT_CHECK(ssd_policy_admin(&snd) == SSD_DENY_ROLE,
               "sender may not use admin routes");
    UNIT_CHECK(ssd_policy_domain(&snd, &d, SSD_ACCESS_READ) == SSD_DENY_ROLE,
               "sender may not read domains");
    UNIT_CHECK(ssd_policy_create(&snd, "t9", 0) == SSD_DENY_ROLE,
               "sender may not create");
}

int main(void)
{
    test_roles();
    test_tenant();
    test_partner_and_sender();
    return UNIT_DONE();
}
