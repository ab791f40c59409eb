/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the libFuzzer harnesses share: a scratch directory made once per
 * process (and removed at exit), files written into it from the input, and
 * the input cut into pieces at a marker line. */

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_root[64];

static inline int fuzz_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* Everything under DIR, DIR itself too when SELF. */
static inline void fuzz_rm_tree(const char *dir, int self) {
        char path[PATH_MAX];
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                (void) nftw(path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        }
        closedir(d);
        if (self)
                (void) rmdir(dir);
}

static inline void fuzz_cleanup(void) {
        if (fuzz_root[0])
                fuzz_rm_tree(fuzz_root, 1);
}

/* The scratch directory, empty on each call. */
static inline const char *fuzz_dir(void) {
        if (!fuzz_root[0]) {
                const char *base = getenv("TMPDIR");
                snprintf(fuzz_root, sizeof(fuzz_root), "%s/ipcgc-fuzz.XXXXXX",
                         base && *base && strlen(base) < 32 ? base : "/tmp");
                if (!mkdtemp(fuzz_root))
                        abort();
                atexit(fuzz_cleanup);
        } else
                fuzz_rm_tree(fuzz_root, 0);
        return fuzz_root;
}

/* Writes LEN bytes to DIR/REL, making REL's directories. */
static inline void fuzz_write(const char *dir, const char *rel, const void *data, size_t len) {
        char path[PATH_MAX];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, rel);
        for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
                *s = 0;
                (void) mkdir(path, 0755);
                *s = '/';
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                abort();
        if (len > 0 && write(fd, data, len) != (ssize_t) len)
                abort();
        (void) close(fd);
}

/* The next piece of [*P, END) up to the line MARKER ("\n" MARKER "\n"
 * cuts, the newline before it belongs to the piece); *P moves past it.
 * The last piece runs to END. */
static inline size_t fuzz_piece(const uint8_t **p, const uint8_t *end, const char *marker, const uint8_t **ret) {
        size_t m = strlen(marker);
        const uint8_t *s = *p;

        *ret = s;
        for (const uint8_t *q = s; q + m <= end; q++)
                if ((q == s || q[-1] == '\n') && memcmp(q, marker, m) == 0 && (q + m == end || q[m] == '\n')) {
                        *p = q + m < end ? q + m + 1 : end;
                        return (size_t) (q - s);
                }
        *p = end;
        return (size_t) (end - s);
}

/* DATA as a NUL-terminated string (malloc'd), cut at its first NUL. */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}
