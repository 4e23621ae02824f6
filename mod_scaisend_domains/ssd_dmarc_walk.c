/* ssd_dmarc_walk: the RFC 9989 DNS Tree Walk over a lookup cache.
 *
 * Section 4.10 steps 2 and 6: at each name, TXT records that do not start
 * with the version tag are discarded, several DMARC records count as none,
 * and a single one with psd=y or psd=n ends the walk. Section 4.10.2 then
 * picks the Organizational Domain among the names with a record, longest
 * first: psd=n names itself; psd=y (not at the starting name) names the
 * domain one label below it; otherwise the record with the fewest labels;
 * with no record at all, the name itself. Section 4.10.1: receivers apply
 * the name's own record, else the Organizational Domain's, else the
 * Public Suffix Domain's. */
#include "ssd_dmarc_walk.h"
#include "ssd_dmarc.h"

#include <string.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

typedef struct {
    const char *name;
    ssd_txt_answer_t ans;
    int judged;             /* the fields below are set */
    int dmarc;              /* DMARC records at the name */
    const ssd_txt_t *record;   /* the one, when dmarc == 1 */
    char psd;               /* 'y', 'n' or 0, of that record */
} entry_t;

struct ssd_dmarc_dns {
    apr_pool_t *p;
    ssd_txt_fetch_fn fetch;
    void *baton;
    int *lookups;
    apr_array_header_t *entries;    /* entry_t; a few dozen at most */
    apr_hash_t *warned;             /* names a warning was given for */
};

ssd_dmarc_dns_t *ssd_dmarc_dns_new(apr_pool_t *p, ssd_txt_fetch_fn fetch,
                                   void *baton, int *lookups)
{
    ssd_dmarc_dns_t *c = apr_pcalloc(p, sizeof(*c));

    c->p = p;
    c->fetch = fetch;
    c->baton = baton;
    c->lookups = lookups;
    c->entries = apr_array_make(p, 8, sizeof(entry_t));
    c->warned = apr_hash_make(p);
    return c;
}

static entry_t *find(ssd_dmarc_dns_t *c, const char *name)
{
    entry_t *e = (entry_t *)c->entries->elts;
    int i;

    for (i = 0; i < c->entries->nelts; i++) {
        if (!strcasecmp(e[i].name, name)) {
            return &e[i];
        }
    }
    return NULL;
}

static entry_t *add(ssd_dmarc_dns_t *c, const char *name)
{
    entry_t *e = apr_array_push(c->entries);

    memset(e, 0, sizeof(*e));
    e->name = apr_pstrdup(c->p, name);
    return e;
}

void ssd_dmarc_dns_seed(ssd_dmarc_dns_t *c, const char *name,
                        const ssd_txt_answer_t *ans)
{
    entry_t *e = find(c, name);

    (e ? e : add(c, name))->ans = *ans;
}

static entry_t *lookup(ssd_dmarc_dns_t *c, const char *name)
{
    entry_t *e = find(c, name);

    if (!e) {
        e = add(c, name);
        (*c->lookups)++;
        c->fetch(c->baton, c->p, e->name, &e->ans);
    }
    return e;
}

const ssd_txt_answer_t *ssd_dmarc_dns_txt(ssd_dmarc_dns_t *c,
                                          const char *name)
{
    return &lookup(c, name)->ans;
}

int ssd_dmarc_dns_first_warning(ssd_dmarc_dns_t *c, const char *name)
{
    if (apr_hash_get(c->warned, name, APR_HASH_KEY_STRING)) {
        return 0;
    }
    apr_hash_set(c->warned, apr_pstrdup(c->p, name), APR_HASH_KEY_STRING,
                 c);
    return 1;
}

/* Steps 2 and 6: the DMARC records at the name, and the psd= of one. */
static void judge(apr_pool_t *p, entry_t *e)
{
    const ssd_txt_t *t;
    const char *psd;
    int i;

    e->judged = 1;
    if (e->ans.rc != SSD_DNS_OK || !e->ans.txts) {
        return;
    }
    t = (const ssd_txt_t *)e->ans.txts->elts;
    for (i = 0; i < e->ans.txts->nelts; i++) {
        if (ssd_dmarc_is_record(t[i].data, t[i].len)) {
            e->record = e->dmarc++ ? NULL : &t[i];
        }
    }
    if (e->dmarc != 1) {
        return;
    }
    psd = ssd_dmarc_get(ssd_dmarc_parse(p, e->record->data, e->record->len),
                        "psd");
    if (psd && (!strcasecmp(psd, "y") || !strcasecmp(psd, "n"))) {
        e->psd = (char)apr_tolower(*psd);
    }
}

static int label_count(const char *name)
{
    int n = 1;

    for (; *name; name++) {
        n += *name == '.';
    }
    return n;
}

/* The last n labels of name. */
static const char *last_labels(const char *name, int n)
{
    int skip = label_count(name) - n;

    while (skip-- > 0) {
        name = strchr(name, '.') + 1;
    }
    return name;
}

int ssd_dmarc_walk_names(const char *name,
                         const char *names[SSD_DMARC_WALK_MAX])
{
    int x = label_count(name), k = 0;
    const char *next;

    names[k++] = name;
    next = x < 8 ? strchr(name, '.') : NULL;
    next = x < 8 ? (next ? next + 1 : NULL) : last_labels(name, 7);
    while (next && k < SSD_DMARC_WALK_MAX) {
        names[k++] = next;
        next = strchr(next, '.');
        next = next ? next + 1 : NULL;
    }
    return k;
}

typedef struct {
    const char *names[SSD_DMARC_WALK_MAX];
    entry_t *at[SSD_DMARC_WALK_MAX];    /* the name's entry, or NULL when
                                           it has no single record */
    int n;
    int last;                   /* the shortest name with a record, or -1 */
} path_t;

/* Query upwards until a psd=y/n record or the top; -1 on a temporary
 * failure. */
static int climb(ssd_dmarc_dns_t *c, const char *name, path_t *w,
                 ssd_dmarc_walk_t *out)
{
    int i;

    w->n = ssd_dmarc_walk_names(name, w->names);
    w->last = -1;
    for (i = 0; i < w->n; i++) {
        entry_t *e = lookup(c, apr_pstrcat(c->p, "_dmarc.", w->names[i],
                                           NULL));

        w->at[i] = NULL;
        if (ssd_dns_is_temporary(e->ans.rc)) {
            out->temp_rc = e->ans.rc;
            out->temp_name = e->name;
            return -1;
        }
        if (!e->judged) {
            judge(c->p, e);
        }
        if (e->dmarc == 1) {
            w->at[i] = e;
            w->last = i;
            if (e->psd) {
                w->n = i + 1;
                break;
            }
        }
    }
    return 0;
}

/* Section 4.10.2 over the records found. */
static const char *select_org(const char *name, const path_t *w)
{
    const entry_t *e = w->last >= 0 ? w->at[w->last] : NULL;

    if (!e) {
        return name;
    }
    if (e->psd == 'y' && w->last > 0) {
        return last_labels(name, label_count(w->names[w->last]) + 1);
    }
    return w->names[w->last];
}

static void applies(const path_t *w, int i, int from_psd,
                    ssd_dmarc_walk_t *out)
{
    out->found_at = w->names[i];
    out->record = w->at[i]->record->data;
    out->record_len = w->at[i]->record->len;
    out->from_psd = from_psd;
}

int ssd_dmarc_walk(ssd_dmarc_dns_t *c, const char *name,
                   ssd_dmarc_walk_t *out)
{
    path_t w;
    int i;

    memset(out, 0, sizeof(*out));
    out->temp_rc = SSD_DNS_OK;
    if (climb(c, name, &w, out) != 0) {
        return -1;
    }
    out->org = select_org(name, &w);
    for (i = 0; i < w.n && !out->found_at; i++) {
        if (w.at[i] && (i == 0 || !strcasecmp(w.names[i], out->org))) {
            applies(&w, i, 0, out);
        }
    }
    if (!out->found_at && w.last > 0 && w.at[w.last]->psd == 'y') {
        applies(&w, w.last, 1, out);
    }
    return 0;
}
