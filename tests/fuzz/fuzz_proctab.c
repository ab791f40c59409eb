/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * proctab_build() over a fake /proc made from the input, as
 * tests/unit/test_proctab.c makes one: the files of one process, in this
 * order, each after a line "%%" but the first: stat, status, cgroup, maps,
 * wchan, syscall, fdinfo/3.  The thread's own directory (task/PID) gets the
 * same stat, wchan and syscall.  fd/3 links to a file the holder index
 * wants, fd/4 to /dev/null.
 *
 * The pid is above any pid_max, so a syscall text naming a FIFO opener
 * makes proctab read the memory of no real process.
 */
#include <sys/sysmacros.h>

#include "fuzz.h"
#include "holder_index.h"
#include "macro.h"
#include "proctab.h"

#define PID "999999999"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const files[] = { "stat", "status", "cgroup", "maps", "wchan", "syscall", "fdinfo/3" };
        const uint8_t *p = data, *end = data + size, *piece;
        const char *dir = fuzz_dir();
        char rel[128], path[PATH_MAX], target[PATH_MAX];
        struct holder_index *idx = NULL;
        struct proctab *t = NULL;
        struct stat st;

        if (size > 64 * 1024)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(files) && p < end; i++) {
                size_t n = fuzz_piece(&p, end, "%%", &piece);
                snprintf(rel, sizeof(rel), PID "/%s", files[i]);
                fuzz_write(dir, rel, piece, n);
                if (i == 0 || i == 4 || i == 5) {
                        snprintf(rel, sizeof(rel), PID "/task/" PID "/%s", files[i]);
                        fuzz_write(dir, rel, piece, n);
                }
        }
        /* The process's directory is always there, even with no files: a
         * fake /proc without any process dir trips a known bug of
         * proctab_build (qsort of NULL at lib/proctab.c:924, input
         * tests/fuzz/crashes-found/proctab-empty-proc), which would stop
         * every run at its first, empty input until it is fixed.
         * IPCGC_FUZZ_EMPTY_PROC=1 leaves it out, to reproduce that bug. */
        static int empty_proc = -1;
        if (empty_proc < 0)
                empty_proc = getenv("IPCGC_FUZZ_EMPTY_PROC") != NULL;
        snprintf(path, sizeof(path), "%s/" PID, dir);
        if (!empty_proc)
                (void) mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/" PID "/fd", dir);
        (void) mkdir(path, 0755);
        fuzz_write(dir, "target", "", 0);
        snprintf(target, sizeof(target), "%s/target", dir);
        snprintf(path, sizeof(path), "%s/" PID "/fd/3", dir);
        (void) symlink(target, path);
        snprintf(path, sizeof(path), "%s/" PID "/fd/4", dir);
        (void) symlink("/dev/null", path);
        if (stat(target, &st) < 0)
                abort();

        if (holder_index_new(16, &idx) < 0)
                abort();
        (void) holder_index_want(idx, st.st_dev, st.st_ino);
        for (ino_t i = 0; i < 4; i++) {
                (void) holder_index_want(idx, HOLDER_DEV_SYSV_SHM, i);
                (void) holder_index_want(idx, HOLDER_DEV_SYSV_MSG, i);
                (void) holder_index_want(idx, HOLDER_DEV_SYSV_SEM, i);
                (void) holder_index_want(idx, makedev(0, 1), 32768 + i);
        }

        unsigned flags = PROCTAB_FDS | PROCTAB_MAPS | PROCTAB_CGROUP | PROCTAB_FIFO_OPENERS | PROCTAB_UIDS |
                         PROCTAB_IPC_WAITERS;
        if (proctab_build(dir, idx, flags, &t) == 0) {
                if (t->n_procs > 1)
                        abort();
                const struct process *proc = proctab_find(t, 999999999);
                if (t->n_procs == 1 && (!proc || strnlen(proc->comm, sizeof(proc->comm)) == sizeof(proc->comm)))
                        abort();
                /* Whatever was recorded is there to read back. */
                size_t n;
                (void) holder_index_get(idx, st.st_dev, st.st_ino, &n);
                (void) holder_index_recorded(idx);
                proctab_free(t);
        }
        holder_index_free(idx);
        return 0;
}
