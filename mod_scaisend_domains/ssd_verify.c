/* ssd_verify: concurrent checks under one deadline. Each thread gets its
 * own pool with its own allocator (APR pools are not thread-safe) and its
 * own resolver (ldns resolvers are mutated by every query). */
#include "ssd_verify.h"
#include "ssd_model.h"

#include <string.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

/* JOB_KEY: a key of in->keys (another algorithm than RSA) */
typedef enum { JOB_DKIM, JOB_PENDING, JOB_SPF, JOB_DMARC, JOB_COUNT,
               JOB_KEY } job_e;
#define JOB_MAX (JOB_COUNT + SSD_VERIFY_MAX_KEYS)

typedef struct {
    job_e kind;
    const ssd_verify_input_t *in;
    const ssd_verify_key_t *key;    /* JOB_KEY */
    apr_pool_t *pool;               /* the thread's own */
    ssd_check_result_t *out;
    const char *dns_error;
} job_t;

static apr_status_t destroy_pool(void *data)
{
    apr_pool_destroy(data);
    return APR_SUCCESS;
}

static void run_check(job_t *job, ssd_dns_t *dns)
{
    const ssd_verify_input_t *in = job->in;
    ssd_spf_lookup_t spf = {ssd_dns_fetch, ssd_dns_fetch_a, ssd_dns_fetch_aaaa,
                            ssd_dns_fetch_mx, ssd_dns_fetch_ptr, dns};

    switch (job->kind) {
    case JOB_DKIM:
        ssd_check_dkim(job->pool, ssd_dns_fetch, dns, in->domain,
                       in->selector, in->public_b64, job->out);
        break;
    case JOB_PENDING:
        ssd_check_dkim(job->pool, ssd_dns_fetch, dns, in->domain,
                       in->pending_selector, in->pending_b64, job->out);
        break;
    case JOB_KEY:
        ssd_check_dkim_alg(job->pool, ssd_dns_fetch, dns, in->domain,
                           job->key->selector, job->key->alg,
                           job->key->public_b64, job->out);
        break;
    case JOB_SPF:
        ssd_check_spf(job->pool, &spf, in->domain, in->spf_include,
                      in->helo, job->out);
        break;
    default:
        ssd_check_dmarc(job->pool, ssd_dns_fetch, dns, in->domain,
                        in->dmarc_policy, in->dmarc_rua, job->out);
    }
}

static const char *check_name(job_e kind);

static void *APR_THREAD_FUNC job_main(apr_thread_t *t, void *data)
{
    job_t *job = data;
    ssd_dns_t *dns = ssd_dns_new(job->pool, &job->in->dns, &job->dns_error);

    if (dns) {
        run_check(job, dns);
        if (job->kind == JOB_KEY) {
            ssd_verify_authority_key(job->pool, dns, job->in, job->key,
                                     job->out);
        }
        else {
            ssd_verify_authority(job->pool, dns, job->in,
                                 check_name(job->kind),
                                 job->kind == JOB_PENDING, job->out);
        }
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static const char *check_name(job_e kind)
{
    return kind == JOB_SPF ? "spf" : kind == JOB_DMARC ? "dmarc" : "dkim";
}

static ssd_check_result_t *slot(ssd_verify_result_t *out, job_e kind)
{
    switch (kind) {
    case JOB_DKIM: return &out->dkim;
    case JOB_PENDING: return &out->pending;
    case JOB_SPF: return &out->spf;
    default: return &out->dmarc;
    }
}

static void init_result(apr_pool_t *p, ssd_check_result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->status = SSD_CHECK_TEMPERROR;
    r->errors = apr_array_make(p, 2, sizeof(ssd_finding_t));
    r->warnings = apr_array_make(p, 2, sizeof(ssd_finding_t));
}

/* The name a check looks up first. */
static const char *check_host(apr_pool_t *p, const ssd_verify_input_t *in,
                              job_e kind)
{
    switch (kind) {
    case JOB_DKIM:
        return apr_pstrcat(p, in->selector, "._domainkey.", in->domain, NULL);
    case JOB_PENDING:
        return in->pending_selector ? apr_pstrcat(p, in->pending_selector,
                                                  "._domainkey.", in->domain,
                                                  NULL) : NULL;
    case JOB_SPF:
        return in->domain;
    default:
        return apr_pstrcat(p, "_dmarc.", in->domain, NULL);
    }
}

/* Until its thread has run, a check is a temporary error: a check that
 * never ran can never read as passed. */
static void init_not_run(apr_pool_t *p, ssd_check_result_t *r,
                         const char *check, const char *host)
{
    ssd_finding_t *f;

    init_result(p, r);
    r->host = host;
    f = apr_array_push(r->errors);
    memset(f, 0, sizeof(*f));
    f->check = check;
    f->host = host;
    f->code = "check_not_run";
    f->message = "the check could not be run (the server is out of threads "
                 "or memory); nothing was changed: verify again later";
}

static apr_status_t start_job(apr_pool_t *p, job_t *job, apr_thread_t **t)
{
    apr_status_t rv = apr_pool_create_unmanaged_ex(&job->pool, NULL, NULL);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_pool_cleanup_register(p, job->pool, destroy_pool,
                              apr_pool_cleanup_null);
    return apr_thread_create(t, NULL, job_main, job, job->pool);
}

/* A resolver that could not be made is a temporary error of its check. */
static void note_dns_error(apr_pool_t *p, job_t *job, int *failed)
{
    if (job->dns_error) {
        apr_array_clear(job->out->errors);      /* not check_not_run: why */
        ssd_verify_add_error(p, job->out, check_name(job->kind),
                             "resolver_unavailable", job->out->host,
                             apr_pstrcat(p, "the DNS resolver could not be "
                                         "set up: ", job->dns_error, NULL));
        job->out->status = SSD_CHECK_TEMPERROR;
        *failed = 1;
    }
}

static int key_count(const ssd_verify_input_t *in)
{
    int n = in->keys ? in->keys->nelts : 0;

    return n < SSD_VERIFY_MAX_KEYS ? n : SSD_VERIFY_MAX_KEYS;
}

/* The checks of in->keys, each in its thread (when rv says the other
 * checks started); each slot reads check_not_run until its thread ran. */
static apr_status_t start_key_jobs(apr_pool_t *p,
                                   const ssd_verify_input_t *in,
                                   ssd_verify_result_t *out, job_t *jobs,
                                   apr_thread_t **threads, int *started,
                                   apr_status_t rv)
{
    int i;

    for (i = 0; i < key_count(in); i++) {
        const ssd_verify_key_t *k = &APR_ARRAY_IDX(in->keys, i,
                                                   ssd_verify_key_t);

        init_not_run(p, &out->more[i], "dkim",
                     apr_pstrcat(p, k->selector, "._domainkey.", in->domain,
                                 NULL));
    }
    for (i = 0; i < key_count(in) && rv == APR_SUCCESS; i++) {
        jobs[*started] = (job_t){JOB_KEY, in,
                                 &APR_ARRAY_IDX(in->keys, i, ssd_verify_key_t),
                                 NULL, &out->more[i], NULL};
        rv = start_job(p, &jobs[*started], &threads[*started]);
        *started += rv == APR_SUCCESS;
    }
    return rv;
}

apr_status_t ssd_verify_run(apr_pool_t *p, const ssd_verify_input_t *in,
                            ssd_verify_result_t *out)
{
    job_t jobs[JOB_MAX];
    apr_thread_t *threads[JOB_MAX];
    apr_status_t rv = APR_SUCCESS, trv;
    int i, started = 0;

    memset(out, 0, sizeof(*out));
    out->has_pending = in->pending_selector != NULL;
    for (i = 0; i < JOB_COUNT; i++) {
        init_not_run(p, slot(out, (job_e)i), check_name((job_e)i),
                     check_host(p, in, (job_e)i));
    }
    for (i = 0; i < JOB_COUNT && rv == APR_SUCCESS; i++) {
        if (i == JOB_PENDING && !out->has_pending) {
            continue;
        }
        jobs[started] = (job_t){(job_e)i, in, NULL, NULL, slot(out, (job_e)i),
                                NULL};
        rv = start_job(p, &jobs[started], &threads[started]);
        started += rv == APR_SUCCESS;
    }
    rv = start_key_jobs(p, in, out, jobs, threads, &started, rv);
    for (i = 0; i < started; i++) {
        apr_thread_join(&trv, threads[i]);
        note_dns_error(p, &jobs[i], &out->resolver_failed);
    }
    out->checked_at = ssd_now_rfc3339(p);
    ssd_verify_merge_keys(p, in, out);
    return rv;
}

ssd_outcome_e ssd_verify_outcome(const ssd_verify_result_t *res)
{
    const ssd_check_result_t *all[] = {&res->dkim, &res->spf, &res->dmarc};
    int i, temp = 0;

    for (i = 0; i < 3; i++) {
        if (all[i]->status == SSD_CHECK_FAIL) {
            return SSD_OUTCOME_FAILED;
        }
        temp |= all[i]->status == SSD_CHECK_TEMPERROR;
    }
    return temp ? SSD_OUTCOME_UNDECIDED : SSD_OUTCOME_VERIFIED;
}

const char *ssd_check_record_status(const ssd_check_result_t *r)
{
    return r->status == SSD_CHECK_PASS ? "verified"
           : r->status == SSD_CHECK_FAIL ? "failed" : NULL;
}

void ssd_verify_add_error(apr_pool_t *p, ssd_check_result_t *res,
                          const char *check, const char *code,
                          const char *host, const char *message)
{
    ssd_finding_t *f;

    if (!res->errors) {
        res->errors = apr_array_make(p, 1, sizeof(ssd_finding_t));
    }
    f = apr_array_push(res->errors);
    memset(f, 0, sizeof(*f));
    f->check = check;
    f->code = code;
    f->host = host;
    f->message = message;
    res->status = SSD_CHECK_FAIL;
}
