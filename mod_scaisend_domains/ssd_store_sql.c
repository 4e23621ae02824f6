/* ssd_store_sql: schema and statements, written for SQLite and PostgreSQL.
 * Portable choices: flags are INTEGER 0/1 (not BOOLEAN), times are RFC 3339
 * text (sortable), placeholders %s/%d are rewritten by apr_dbd, and
 * "INSERT ... ON CONFLICT DO NOTHING" works on both engines. A unique key
 * cannot use a nullable tenant_id (NULLs never collide), hence owner_key. */
#include "ssd_store.h"

#include <string.h>
#include <apr_strings.h>

/* The database's clock, in milliseconds since the epoch: every node reads
 * the same one (a node's own clock may be off). */
#define NOW_MS_SQLITE "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
#define NOW_MS_PGSQL "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"

/* Serialise the creates of one owner for the rest of the transaction (the
 * quota count must see the others' rows): an advisory lock on PostgreSQL;
 * SQLite's BEGIN IMMEDIATE has serialised every writer already. */
#define OWNER_LOCK_SQLITE "SELECT %s"
#define OWNER_LOCK_PGSQL "SELECT pg_advisory_xact_lock(72368296, hashtext(%s))"

static char *replace_all(apr_pool_t *p, char *sql, const char *token,
                         const char *with)
{
    const char *at;

    while ((at = strstr(sql, token))) {
        sql = apr_pstrcat(p, apr_pstrmemdup(p, sql, (apr_size_t)(at - sql)),
                          with, at + strlen(token), NULL);
    }
    return sql;
}

const char *ssd_store_sql_for(apr_pool_t *p, const char *driver,
                              const char *sql)
{
    int pg = strcmp(driver, "pgsql") == 0;
    char *out = apr_pstrdup(p, sql);

    out = replace_all(p, out, "@NOW_MS@", pg ? NOW_MS_PGSQL : NOW_MS_SQLITE);
    return replace_all(p, out, "@OWNER_LOCK@",
                       pg ? OWNER_LOCK_PGSQL : OWNER_LOCK_SQLITE);
}

#define DOMAIN_COLUMNS \
    "id, partner_id, tenant_id, domain, dkim_selector, dmarc_policy, " \
    "dmarc_rua_email, is_shared, is_active, verified, created_at, " \
    "updated_at, verified_at, last_verification, spf_status, dmarc_status, " \
    "verification_state, failing_since_ms, next_check_ms, check_step, " \
    "window_from_ms, dkim_algorithms"

/* Version 1 of the schema. A later version appends a new array and a row
 * in ssd_store_migrations (ssd_store_schema.c); published steps never
 * change. */
const char *const ssd_store_schema_v1[] = {
    "CREATE TABLE IF NOT EXISTS ssd_domains ("
    " id VARCHAR(40) PRIMARY KEY,"
    " owner_key VARCHAR(600) NOT NULL,"
    " partner_id VARCHAR(255) NOT NULL,"
    " tenant_id VARCHAR(255),"
    " domain VARCHAR(253) NOT NULL,"
    " dkim_selector VARCHAR(63) NOT NULL,"
    " dmarc_policy VARCHAR(16) NOT NULL,"
    " dmarc_rua_email VARCHAR(254),"
    " is_shared INTEGER NOT NULL,"
    " is_active INTEGER NOT NULL,"
    " verified INTEGER NOT NULL,"
    " created_at VARCHAR(32) NOT NULL,"
    " updated_at VARCHAR(32) NOT NULL,"
    " verified_at VARCHAR(32),"
    " last_verification TEXT,"
    " last_answer TEXT,"
    " spf_status VARCHAR(16) NOT NULL DEFAULT 'pending',"
    " dmarc_status VARCHAR(16) NOT NULL DEFAULT 'pending',"
    " verify_claimed_ms BIGINT,"
    " verify_done_ms BIGINT,"
    " selector_seq INTEGER NOT NULL DEFAULT 1,"
    " CONSTRAINT ssd_domains_owner_domain UNIQUE (owner_key, domain))",
    "CREATE INDEX IF NOT EXISTS ssd_domains_partner"
    " ON ssd_domains (partner_id, id)",
    /* at most one verified record of a name (partial index: both engines) */
    "CREATE UNIQUE INDEX IF NOT EXISTS ssd_domains_verified_name"
    " ON ssd_domains (domain) WHERE verified = 1",
    "CREATE TABLE IF NOT EXISTS ssd_dkim_keys ("
    " domain_id VARCHAR(40) NOT NULL,"
    " selector VARCHAR(63) NOT NULL,"
    " state VARCHAR(16) NOT NULL,"
    " bits INTEGER NOT NULL,"
    " public_key TEXT NOT NULL,"
    " wrapped_key TEXT,"
    " dns_status VARCHAR(16) NOT NULL DEFAULT 'pending',"
    " created_at VARCHAR(32) NOT NULL,"
    " activated_at VARCHAR(32),"
    " retired_at VARCHAR(32),"
    " PRIMARY KEY (domain_id, selector))",
    /* at most one pending and one active key per domain */
    "CREATE UNIQUE INDEX IF NOT EXISTS ssd_dkim_keys_one_pending"
    " ON ssd_dkim_keys (domain_id) WHERE state = 'pending'",
    "CREATE UNIQUE INDEX IF NOT EXISTS ssd_dkim_keys_one_active"
    " ON ssd_dkim_keys (domain_id) WHERE state = 'active'",
    "CREATE TABLE IF NOT EXISTS ssd_events ("
    " id VARCHAR(40) PRIMARY KEY,"
    " domain_id VARCHAR(40) NOT NULL,"
    " partner_id VARCHAR(255) NOT NULL,"
    " tenant_id VARCHAR(255),"
    " at VARCHAR(32) NOT NULL,"
    " sub VARCHAR(255) NOT NULL,"
    " action VARCHAR(40) NOT NULL,"
    " changes TEXT)",
    "CREATE INDEX IF NOT EXISTS ssd_events_domain"
    " ON ssd_events (domain_id, id)",
    NULL
};

/* Version 2: the answer of a verification names the claim it belongs to
 * (a request that waited on a run gets that run's answer); owner keys
 * separate partner and tenant with a space, which ids cannot hold; the
 * verification state with its grace and re-check schedule; the webhook
 * outbox, ordered per domain; the lease of the background job. */
const char *const ssd_store_schema_v2[] = {
    "ALTER TABLE ssd_domains ADD COLUMN last_answer_ms BIGINT",
    "UPDATE ssd_domains SET owner_key = 't:' || partner_id || ' ' || tenant_id"
    " WHERE tenant_id IS NOT NULL",
    "ALTER TABLE ssd_domains ADD COLUMN verification_state VARCHAR(16)"
    " NOT NULL DEFAULT 'pending'",
    "UPDATE ssd_domains SET verification_state = 'verified' WHERE verified = 1",
    "ALTER TABLE ssd_domains ADD COLUMN failing_since_ms BIGINT",
    /* due for a re-check from then (NULL: not scheduled) */
    "ALTER TABLE ssd_domains ADD COLUMN next_check_ms BIGINT",
    "UPDATE ssd_domains SET next_check_ms = @NOW_MS@",
    "ALTER TABLE ssd_domains ADD COLUMN check_step INTEGER NOT NULL DEFAULT 0",
    /* where the re-check window of a pending/unverified domain starts */
    "ALTER TABLE ssd_domains ADD COLUMN window_from_ms BIGINT",
    "ALTER TABLE ssd_domains ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS ssd_domains_due ON ssd_domains (next_check_ms)",
    "CREATE TABLE IF NOT EXISTS ssd_outbox ("
    " id VARCHAR(40) PRIMARY KEY,"
    " domain_id VARCHAR(40) NOT NULL,"
    " seq BIGINT NOT NULL,"
    " type VARCHAR(40) NOT NULL,"
    " body TEXT NOT NULL,"
    " created_ms BIGINT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms BIGINT NOT NULL,"
    " delivered_ms BIGINT,"
    " gave_up INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT)",
    "CREATE INDEX IF NOT EXISTS ssd_outbox_pending"
    " ON ssd_outbox (domain_id, seq) WHERE delivered_ms IS NULL AND gave_up = 0",
    "CREATE TABLE IF NOT EXISTS ssd_lease ("
    " name VARCHAR(40) PRIMARY KEY,"
    " holder VARCHAR(255) NOT NULL,"
    " expires_ms BIGINT NOT NULL)",
    NULL
};

/* Version 3: Ed25519 beside RSA -- a key's algorithm, one pending and one
 * active key per domain and algorithm, the domain's set of algorithms. */
const char *const ssd_store_schema_v3[] = {
    "ALTER TABLE ssd_dkim_keys ADD COLUMN algorithm VARCHAR(16)"
    " NOT NULL DEFAULT 'rsa-sha256'",
    "DROP INDEX IF EXISTS ssd_dkim_keys_one_pending",
    "DROP INDEX IF EXISTS ssd_dkim_keys_one_active",
    "CREATE UNIQUE INDEX IF NOT EXISTS ssd_dkim_keys_one_pending_per_alg"
    " ON ssd_dkim_keys (domain_id, algorithm) WHERE state = 'pending'",
    "CREATE UNIQUE INDEX IF NOT EXISTS ssd_dkim_keys_one_active_per_alg"
    " ON ssd_dkim_keys (domain_id, algorithm) WHERE state = 'active'",
    "ALTER TABLE ssd_domains ADD COLUMN dkim_algorithms VARCHAR(64)"
    " NOT NULL DEFAULT 'rsa-sha256'",
    NULL
};

/* Version 4: the signing and sending decision finds a domain by partner
 * and name, in id order, with an index on the three, not by walking all
 * the partner's domains. */
const char *const ssd_store_schema_v4[] = {
    "CREATE INDEX IF NOT EXISTS ssd_domains_partner_domain"
    " ON ssd_domains (partner_id, domain, id)",
    NULL
};

const ssd_statement_t ssd_store_statements[] = {
    {"ssd_domain_insert",
     "INSERT INTO ssd_domains (id, owner_key, partner_id, tenant_id, domain,"
     " dkim_selector, dmarc_policy, dmarc_rua_email, is_shared, is_active,"
     " verified, created_at, updated_at, verification_state,"
     " window_from_ms, next_check_ms, dkim_algorithms)"
     " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %d, %d, %d, %s, %s, 'pending',"
     " @NOW_MS@, CASE WHEN %s = '' THEN NULL"
     " ELSE @NOW_MS@ + CAST(%s AS BIGINT) END, %s)"
     " ON CONFLICT (owner_key, domain) DO NOTHING"},
    {"ssd_domain_by_id",
     "SELECT " DOMAIN_COLUMNS " FROM ssd_domains WHERE id = %s"},
    {"ssd_domain_by_owner",
     "SELECT id FROM ssd_domains WHERE owner_key = %s AND domain = %s"},
    /* Each optional filter is "(%s = '' OR column = ...)": the first
     * argument says whether the filter applies. */
    {"ssd_domain_list",
     "SELECT " DOMAIN_COLUMNS " FROM ssd_domains WHERE partner_id = %s"
     " AND (%s = '' OR tenant_id = %s OR (tenant_id IS NULL"
     " AND is_shared = 1))"
     " AND (%s = '' OR verified = %d)"
     " AND (%s = '' OR is_active = %d)"
     " AND (%s = '' OR is_shared = %d)"
     " AND (%s = '' OR domain LIKE %s ESCAPE '!')"
     " AND (%s = '' OR id < %s)"
     " ORDER BY id DESC LIMIT %d"},
    {"ssd_domain_update",
     "UPDATE ssd_domains SET dmarc_policy = %s, dmarc_rua_email = %s,"
     " is_shared = %d, is_active = %d, dkim_algorithms = %s,"
     " updated_at = %s WHERE id = %s"},
    /* the row locked for the rest of the transaction (no row: deleted) */
    {"ssd_domain_lock",
     "UPDATE ssd_domains SET selector_seq = selector_seq WHERE id = %s"},
    {"ssd_owner_lock", "@OWNER_LOCK@"},
    {"ssd_schema_version", "SELECT MAX(version) FROM ssd_schema_version"},
    {"ssd_owner_count",
     "SELECT COUNT(*) FROM ssd_domains WHERE owner_key = %s"},
    {"ssd_domain_delete", "DELETE FROM ssd_domains WHERE id = %s"},
    {"ssd_key_insert",
     "INSERT INTO ssd_dkim_keys (domain_id, selector, state, bits,"
     " public_key, wrapped_key, created_at, activated_at, algorithm)"
     " VALUES (%s, %s, %s, %d, %s, %s, %s, %s, %s)"},
    {"ssd_keys_by_domain",
     "SELECT domain_id, selector, state, bits, public_key, created_at,"
     " activated_at, retired_at, dns_status, algorithm FROM ssd_dkim_keys"
     " WHERE domain_id = %s"
     " ORDER BY CASE state WHEN 'active' THEN 0 WHEN 'pending' THEN 1"
     " ELSE 2 END, created_at DESC, selector"},
    /* the keys of a list page in one query: the page's id range */
    {"ssd_keys_by_range",
     "SELECT k.domain_id, k.selector, k.state, k.bits, k.public_key,"
     " k.created_at, k.activated_at, k.retired_at, k.dns_status, k.algorithm"
     " FROM ssd_dkim_keys k JOIN ssd_domains d ON d.id = k.domain_id"
     " WHERE d.partner_id = %s AND d.id >= %s AND d.id <= %s"
     " AND (%s = '' OR d.tenant_id = %s OR (d.tenant_id IS NULL"
     " AND d.is_shared = 1))"
     " ORDER BY k.domain_id, CASE k.state WHEN 'active' THEN 0"
     " WHEN 'pending' THEN 1 ELSE 2 END, k.created_at DESC, k.selector"},
    {"ssd_keys_delete", "DELETE FROM ssd_dkim_keys WHERE domain_id = %s"},
    {"ssd_event_insert",
     "INSERT INTO ssd_events (id, domain_id, partner_id, tenant_id, at, sub,"
     " action, changes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"},
    /* Verification: claim the right to run one (single flight across
     * processes and nodes), read the claim, store the outcome. */
    {"ssd_verify_claim",
     "UPDATE ssd_domains SET verify_claimed_ms = @NOW_MS@"
     " WHERE id = %s AND (verify_claimed_ms IS NULL"
     " OR (verify_claimed_ms <= verify_done_ms"
     " AND verify_claimed_ms < @NOW_MS@ - CAST(%s AS BIGINT))"
     " OR verify_claimed_ms < @NOW_MS@ - CAST(%s AS BIGINT))"
     " RETURNING verify_claimed_ms"},
    {"ssd_verify_state",
     "SELECT verify_claimed_ms, verify_done_ms, @NOW_MS@, last_answer_ms"
     " FROM ssd_domains WHERE id = %s"},
    {"ssd_verify_store",
     "UPDATE ssd_domains SET verified = %d, verified_at = %s,"
     " last_verification = COALESCE(%s, last_verification),"
     " last_answer = %s, last_answer_ms = CAST(%s AS BIGINT),"
     " spf_status = %s, dmarc_status = %s, verification_state = %s,"
     " failing_since_ms = CAST(%s AS BIGINT),"
     " next_check_ms = CAST(%s AS BIGINT), check_step = %d,"
     " window_from_ms = CAST(%s AS BIGINT),"
     " verify_done_ms = @NOW_MS@ WHERE id = %s"},
    {"ssd_verify_answer",
     "SELECT last_answer, last_answer_ms FROM ssd_domains WHERE id = %s"},
    {"ssd_verify_release",
     "UPDATE ssd_domains SET verify_done_ms = @NOW_MS@,"
     " last_answer = COALESCE(%s, last_answer),"
     " last_answer_ms = COALESCE(CAST(%s AS BIGINT), last_answer_ms)"
     " WHERE id = %s"},
    {"ssd_key_status",
     "UPDATE ssd_dkim_keys SET dns_status = %s"
     " WHERE domain_id = %s AND selector = %s"},
    {"ssd_verified_elsewhere",
     "SELECT id FROM ssd_domains WHERE domain = %s AND verified = 1"
     " AND id <> %s"},
    /* DKIM key lifecycle: rotate, activate, remove, sign */
    {"ssd_selector_next",
     "UPDATE ssd_domains SET selector_seq = selector_seq + 1 WHERE id = %s"},
    {"ssd_selector_seq",
     "SELECT selector_seq FROM ssd_domains WHERE id = %s"},
    {"ssd_key_pending",
     "SELECT selector FROM ssd_dkim_keys WHERE domain_id = %s"
     " AND state = 'pending' ORDER BY algorithm DESC"},
    {"ssd_key_retire_active",
     "UPDATE ssd_dkim_keys SET state = 'retired', retired_at = %s"
     " WHERE domain_id = %s AND algorithm = %s AND state = 'active'"},
    /* an algorithm turned off: its active and pending keys retire */
    {"ssd_key_retire_algorithm",
     "UPDATE ssd_dkim_keys SET state = 'retired', retired_at = %s"
     " WHERE domain_id = %s AND algorithm = %s"
     " AND state IN ('active', 'pending')"},
    /* turned on again: the retired twin of the signing key is pending */
    {"ssd_key_repend",
     "UPDATE ssd_dkim_keys SET state = 'pending', activated_at = NULL,"
     " retired_at = NULL, dns_status = 'pending'"
     " WHERE domain_id = %s AND selector = %s AND state = 'retired'"},
    {"ssd_key_activate",
     "UPDATE ssd_dkim_keys SET state = 'active', activated_at = %s"
     " WHERE domain_id = %s AND selector = %s AND state = 'pending'"},
    {"ssd_domain_selector",
     "UPDATE ssd_domains SET dkim_selector = %s, updated_at = %s"
     " WHERE id = %s"},
    {"ssd_key_state",
     "SELECT state FROM ssd_dkim_keys WHERE domain_id = %s"
     " AND selector = %s"},
    {"ssd_key_delete_retired",
     "DELETE FROM ssd_dkim_keys WHERE domain_id = %s AND selector = %s"
     " AND state = 'retired'"},
    {"ssd_events_by_domain",
     "SELECT id, at, sub, action, changes FROM ssd_events"
     " WHERE domain_id = %s AND (%s = '' OR id < %s)"
     " ORDER BY id DESC LIMIT %d"},
    /* a From: domain for a tenant: its own record, or its partner's shared
     * one; for a partner-level caller (tenant ''), the partner's own */
    {"ssd_sender_domains",
     "SELECT " DOMAIN_COLUMNS " FROM ssd_domains WHERE partner_id = %s"
     " AND domain = %s AND ((%s = '' AND tenant_id IS NULL)"
     " OR tenant_id = %s OR (tenant_id IS NULL AND is_shared = 1))"},
    /* signing: the same candidates with their active keys, one round trip
     * for the decision and the key */
    {"ssd_sign_candidates",
     "SELECT d.id, d.partner_id, d.tenant_id, d.domain, d.dkim_selector,"
     " d.dmarc_policy, d.dmarc_rua_email, d.is_shared, d.is_active,"
     " d.verified, d.created_at, d.updated_at, d.verified_at, NULL,"
     " d.spf_status, d.dmarc_status, d.verification_state,"
     " d.failing_since_ms, d.next_check_ms, d.check_step, d.window_from_ms,"
     " d.dkim_algorithms, k.selector, k.wrapped_key, k.algorithm"
     " FROM ssd_domains d LEFT JOIN ssd_dkim_keys k ON k.domain_id = d.id"
     " AND k.state = 'active'"
     " WHERE d.partner_id = %s AND d.domain = %s"
     " AND ((%s = '' AND d.tenant_id IS NULL) OR d.tenant_id = %s"
     " OR (d.tenant_id IS NULL AND d.is_shared = 1)) ORDER BY d.id"},
    /* the background job: its lease, what is due, the outbox */
    {"ssd_lease_renew",
     "UPDATE ssd_lease SET holder = %s,"
     " expires_ms = @NOW_MS@ + CAST(%s AS BIGINT)"
     " WHERE name = %s AND (holder = %s OR expires_ms < @NOW_MS@)"},
    {"ssd_lease_insert",
     "INSERT INTO ssd_lease (name, holder, expires_ms)"
     " VALUES (%s, %s, @NOW_MS@ + CAST(%s AS BIGINT))"
     " ON CONFLICT (name) DO NOTHING"},
    {"ssd_lease_release",
     "UPDATE ssd_lease SET expires_ms = 0 WHERE name = %s AND holder = %s"},
    {"ssd_domains_due",
     "SELECT id FROM ssd_domains WHERE next_check_ms IS NOT NULL"
     " AND next_check_ms <= @NOW_MS@ ORDER BY next_check_ms LIMIT %d"},
    {"ssd_domain_unschedule",
     "UPDATE ssd_domains SET next_check_ms = NULL WHERE id = %s"},
    /* active keys at least that old on verified (or degraded) domains with
     * nothing pending */
    {"ssd_rotations_due",
     "SELECT k.domain_id FROM ssd_dkim_keys k JOIN ssd_domains d"
     " ON d.id = k.domain_id WHERE k.state = 'active'"
     " AND d.verification_state IN ('verified', 'degraded')"
     " AND k.activated_at < %s AND NOT EXISTS (SELECT 1 FROM ssd_dkim_keys p"
     " WHERE p.domain_id = k.domain_id AND p.state = 'pending')"
     " GROUP BY k.domain_id ORDER BY MIN(k.activated_at) LIMIT %d"},
    {"ssd_domains_expired",
     "SELECT id FROM ssd_domains WHERE verification_state = 'pending'"
     " AND verified_at IS NULL AND created_at < %s ORDER BY created_at"
     " LIMIT %d"},
    {"ssd_outbox_insert",
     "INSERT INTO ssd_outbox (id, domain_id, seq, type, body, created_ms,"
     " next_attempt_ms) VALUES (%s, %s, @NOW_MS@, %s, %s, @NOW_MS@, @NOW_MS@)"},
    /* per domain, its oldest undelivered event only: order per domain */
    {"ssd_outbox_due",
     "SELECT o.id, o.domain_id, o.body, o.attempts, o.created_ms, @NOW_MS@"
     " FROM ssd_outbox o WHERE o.delivered_ms IS NULL AND o.gave_up = 0"
     " AND o.next_attempt_ms <= @NOW_MS@ AND NOT EXISTS (SELECT 1"
     " FROM ssd_outbox e WHERE e.domain_id = o.domain_id"
     " AND e.delivered_ms IS NULL AND e.gave_up = 0"
     " AND (e.seq < o.seq OR (e.seq = o.seq AND e.id < o.id)))"
     " ORDER BY o.seq, o.id LIMIT %d"},
    {"ssd_outbox_delivered",
     "UPDATE ssd_outbox SET delivered_ms = @NOW_MS@,"
     " attempts = attempts + 1, last_error = NULL WHERE id = %s"},
    {"ssd_outbox_failed",
     "UPDATE ssd_outbox SET attempts = attempts + 1,"
     " next_attempt_ms = @NOW_MS@ + CAST(%s AS BIGINT), gave_up = %d,"
     " last_error = %s WHERE id = %s"},
    {"ssd_outbox_forget",
     "DELETE FROM ssd_outbox WHERE (delivered_ms IS NOT NULL OR gave_up = 1)"
     " AND created_ms < @NOW_MS@ - CAST(%s AS BIGINT)"},
    {NULL, NULL}
};
