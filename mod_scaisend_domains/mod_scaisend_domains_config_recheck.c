/* mod_scaisend_domains_config_recheck: the directives of verification
 * over time (api.md section 9) -- grace, re-check interval, window, rate,
 * expiry of never-verified domains -- and the durations they take: a
 * number with an s, m, h or d suffix (no suffix: seconds), "90s", "72h". */
#include "mod_scaisend_domains.h"

#include <apr_lib.h>
#include <apr_strings.h>

#define UNSET -1
#define SEC ((apr_int64_t)1000)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)
#define YEARS_5 (5 * 366 * DAY)

static ssd_conf_t *cmd_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &scaisend_domains_module);
}

/* "<digits>[smhd]" in milliseconds; -1 when it is not that. */
static apr_int64_t parse_duration(const char *arg)
{
    apr_int64_t v = 0, unit = SEC;
    const char *c;

    for (c = arg; apr_isdigit(*c); c++) {
        if (v > YEARS_5 / SEC) {
            return -1;
        }
        v = v * 10 + (*c - '0');
    }
    if (c == arg) {
        return -1;
    }
    switch (*c) {
    case 's': unit = SEC; c++; break;
    case 'm': unit = 60 * SEC; c++; break;
    case 'h': unit = HOUR; c++; break;
    case 'd': unit = DAY; c++; break;
    case '\0': break;
    default: return -1;
    }
    return *c ? -1 : v * unit;
}

const char *ssd_set_duration(cmd_parms *cmd, void *dc, const char *arg)
{
    const ssd_duration_spec_t *spec = cmd->info;
    apr_int64_t ms = parse_duration(arg);

    (void)dc;
    if (ms < 0 || (ms != 0 && ms < spec->min_ms) || ms > spec->max_ms) {
        return apr_psprintf(cmd->pool, "%s takes a duration such as 90s, 15m, "
                            "72h or 365d (0 turns it off), from %" APR_INT64_T_FMT
                            " s to %" APR_INT64_T_FMT " days, not '%s'",
                            cmd->cmd->name, (apr_int64_t)(spec->min_ms / SEC),
                            (apr_int64_t)(spec->max_ms / DAY), arg);
    }
    *(apr_int64_t *)((char *)cmd_conf(cmd) + spec->offset) = ms;
    return NULL;
}

#define DURATION(field, min, max) {APR_OFFSETOF(ssd_conf_t, field), min, max}

const ssd_duration_spec_t ssd_grace_spec = DURATION(grace_ms, SEC, 366 * DAY);
const ssd_duration_spec_t ssd_interval_spec =
    DURATION(recheck_interval_ms, SEC, 366 * DAY);
const ssd_duration_spec_t ssd_window_spec =
    DURATION(pending_window_ms, SEC, 366 * DAY);
const ssd_duration_spec_t ssd_expiry_spec =
    DURATION(pending_expiry_ms, HOUR, YEARS_5);
const ssd_duration_spec_t ssd_rotate_spec =
    DURATION(rotate_after_ms, SEC, YEARS_5);
const ssd_number_spec_t ssd_rate_spec =
    {APR_OFFSETOF(ssd_conf_t, recheck_rate), 0, 1, 1000};
const ssd_duration_spec_t ssd_key_cache_ttl_spec =
    DURATION(key_cache_ttl_ms, SEC, DAY);
const ssd_number_spec_t ssd_key_cache_spec =
    {APR_OFFSETOF(ssd_conf_t, key_cache), 0, 0, 100000};

void ssd_conf_recheck_defaults(ssd_conf_t *c)
{
    c->grace_ms = c->recheck_interval_ms = c->pending_window_ms = UNSET;
    c->pending_expiry_ms = c->rotate_after_ms = UNSET;
    c->recheck_rate = UNSET;
    c->key_cache = UNSET;
    c->key_cache_ttl_ms = UNSET;
}

#define PICK(f) (add->f != UNSET ? add->f : base->f)

void ssd_conf_recheck_merge(ssd_conf_t *c, const ssd_conf_t *base,
                            const ssd_conf_t *add)
{
    c->grace_ms = PICK(grace_ms);
    c->recheck_interval_ms = PICK(recheck_interval_ms);
    c->pending_window_ms = PICK(pending_window_ms);
    c->pending_expiry_ms = PICK(pending_expiry_ms);
    c->rotate_after_ms = PICK(rotate_after_ms);
    c->recheck_rate = PICK(recheck_rate);
    c->key_cache = PICK(key_cache);
    c->key_cache_ttl_ms = PICK(key_cache_ttl_ms);
}

#define DEFAULT(f, v) if (c->f == UNSET) c->f = (v)

void ssd_conf_recheck_finish(ssd_conf_t *c)
{
    DEFAULT(grace_ms, 72 * HOUR);
    DEFAULT(recheck_interval_ms, 6 * HOUR);
    DEFAULT(pending_window_ms, 72 * HOUR);
    DEFAULT(pending_expiry_ms, 0);
    DEFAULT(rotate_after_ms, 0);
    DEFAULT(recheck_rate, 5);
    DEFAULT(key_cache, 1000);
    DEFAULT(key_cache_ttl_ms, SEC);
}

ssd_schedule_t ssd_conf_schedule(const ssd_conf_t *c)
{
    ssd_schedule_t sc;

    sc.grace_ms = c->grace_ms;
    sc.interval_ms = c->recheck_interval_ms;
    sc.window_ms = c->pending_window_ms;
    return sc;
}
