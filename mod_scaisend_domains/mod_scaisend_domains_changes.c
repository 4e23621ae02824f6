/* mod_scaisend_domains_changes: the changes committed to the SQLite
 * database, counted where every process of every server that uses the
 * file sees them -- a 64-bit counter in a small file beside it,
 * "<database>-changes", mapped shared by each child. ssd_store moves it
 * after every commit; a process that keeps what the database said
 * (ssd_signcache) reads it before its query and drops what was read
 * before a change. On PostgreSQL other nodes write too, and nothing is
 * counted: every signature reads its own decision. */
#include "mod_scaisend_domains.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_strings.h>

static apr_uint64_t *changes;   /* in the shared mapping, or NULL */

static void count_change(void)
{
    __atomic_fetch_add(changes, 1, __ATOMIC_SEQ_CST);
}

int ssd_changes_read(apr_uint64_t *out)
{
    if (!changes) {
        return -1;
    }
    *out = __atomic_load_n(changes, __ATOMIC_SEQ_CST);
    return 0;
}

static apr_status_t unmap(void *data)
{
    ssd_store_set_change_hook(NULL);
    changes = NULL;
    munmap(data, sizeof(apr_uint64_t));
    return APR_SUCCESS;
}

/* The file's counter mapped, or NULL (errno says why). */
static void *map_counter(const char *path)
{
    struct stat sb;
    void *m = MAP_FAILED;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &sb) == 0
        && (sb.st_size >= (off_t)sizeof(apr_uint64_t)
            || ftruncate(fd, sizeof(apr_uint64_t)) == 0)) {
        m = mmap(NULL, sizeof(apr_uint64_t), PROT_READ | PROT_WRITE,
                 MAP_SHARED, fd, 0);
    }
    close(fd);
    return m == MAP_FAILED ? NULL : m;
}

/* In each child, as the run-time user: db is DBDParams of sqlite3 (a file
 * name; a URI or ":memory:" counts nothing). */
void ssd_changes_child_init(apr_pool_t *pchild, server_rec *s, const char *db)
{
    const char *path;
    void *m;

    if (!db || !*db || *db == ':' || strncmp(db, "file:", 5) == 0) {
        return;
    }
    path = apr_pstrcat(pchild, db, "-changes", NULL);
    if (!(m = map_counter(path))) {
        SSD_SLOG(APLOG_WARNING, errno, s, 109, "%s could not be mapped: "
                 "every signature reads its decision from the database",
                 path);
        return;
    }
    changes = m;
    ssd_store_set_change_hook(count_change);
    apr_pool_cleanup_register(pchild, m, unmap, apr_pool_cleanup_null);
}
