/*
 * replay_main.c - a main() for the fuzz drivers without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on every file named on the command line (or
 * found in a directory named there). Built with the test suite's ASan/UBSan
 * flags, it replays the seed corpora and fuzz/regressions in `make check`.
 * A finding aborts under the sanitizers, so the exit code says it all.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX_INPUT ((size_t)1024 * 1024)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n;
    int rc = -1;

    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    buf = malloc(REPLAY_MAX_INPUT);
    if (buf == NULL)
        goto out;
    n = fread(buf, 1, REPLAY_MAX_INPUT, f);
    /* An exact-size copy, so ASan sees reads past the input's end. */
    {
        uint8_t *exact = malloc(n ? n : 1);
        if (exact == NULL)
            goto out;
        memcpy(exact, buf, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

/* A file, or every file directly inside a directory (not recursive: corpora
 * and regression folders are flat). */
static int replay_path(const char *path, long *count)
{
    struct stat st;
    struct dirent **names = NULL;
    char child[4096];
    int n, rc = 0;

    if (stat(path, &st) != 0)
        return 0; /* an absent directory holds no cases */
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        snprintf(child, sizeof(child), "%s/%s", path, names[i]->d_name);
        if (rc == 0 && names[i]->d_name[0] != '.' && stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
            (*count)++;
            rc = replay_file(child);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    long count = 0;

    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (replay_path(argv[i], &count) != 0)
            return 1;
    }
    printf("replay: %s: %ld inputs, no finding\n", argv[0], count);
    return 0;
}
