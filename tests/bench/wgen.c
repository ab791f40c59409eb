/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wgen: make many SysV objects fast, for timing runs.
 *
 *   wgen SHM_COUNT SEM_SETS [SEMS_PER_SET]
 *
 * Keys start at 0x10000000.  Only ever run inside a private IPC namespace:
 * the timing scripts enter one before calling it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
        if (argc < 3) {
                fprintf(stderr, "usage: wgen SHM_COUNT SEM_SETS [SEMS_PER_SET]\n");
                return 2;
        }
        long n_shm = strtol(argv[1], NULL, 10), n_sem = strtol(argv[2], NULL, 10);
        int per_set = argc > 3 ? atoi(argv[3]) : 4;
        key_t key = 0x10000000;

        for (long i = 0; i < n_shm; i++)
                if (shmget(key++, 4096, IPC_CREAT | IPC_EXCL | 0600) < 0) {
                        fprintf(stderr, "wgen: shmget #%ld: %s\n", i, strerror(errno));
                        return 1;
                }
        for (long i = 0; i < n_sem; i++)
                if (semget(key++, per_set, IPC_CREAT | IPC_EXCL | 0600) < 0) {
                        fprintf(stderr, "wgen: semget #%ld: %s\n", i, strerror(errno));
                        return 1;
                }
        return 0;
}
