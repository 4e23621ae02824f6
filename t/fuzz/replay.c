/* replay: a main() for a fuzz target without libFuzzer. Every regular
 * file of the directories (or the files) named on the command line is
 * fed once to LLVMFuzzerTestOneInput, in name order. A crash or a
 * sanitizer report ends the process with a non-zero status; otherwise it
 * prints "replay: N inputs" and exits 0. Plain libc (no APR): the target
 * owns APR, and the driver must not hide its leaks. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0
        || (!(buf = malloc((size_t)len)) && len > 0)
        || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        if (f) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)len);  /* exactly len bytes: an
                                                over-read is caught */
    free(buf);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, long *count)
{
    struct dirent **list;
    struct stat st;
    char path[4096];
    int n, i, rc = 0;

    if ((n = scandir(dir, &list, NULL, by_name)) < 0) {
        fprintf(stderr, "replay: cannot list %s\n", dir);
        return -1;
    }
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
        if (list[i]->d_name[0] != '.' && stat(path, &st) == 0
            && S_ISREG(st.st_mode)) {
            rc |= run_file(path);
            (*count)++;
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

int main(int argc, char **argv)
{
    struct stat st;
    long count = 0;
    int i, rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            rc |= run_dir(argv[i], &count);
        }
        else {
            rc |= run_file(argv[i]);
            count++;
        }
    }
    printf("replay: %ld inputs\n", count);
    return rc ? 1 : 0;
}
