/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * shmfill: the orphan of the archive-rss figure in docs/PERFORMANCE.md.
 *
 *   shmfill KEY MIB
 *
 * Makes a SysV segment of MIB MiB under KEY (mode 0600), writes a non-zero
 * byte to every byte of it (so every page exists and the archive has
 * something to read), detaches, prints "id ID bytes SIZE" and exits: the
 * segment is left with nattch 0 and a creator that is gone, an orphan.
 * Only ever run inside the benchmark's private IPC namespace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
        char *end;

        if (argc != 3) {
                fprintf(stderr, "usage: shmfill KEY MIB\n");
                return 2;
        }
        errno = 0;
        unsigned long key = strtoul(argv[1], &end, 0);
        if (errno || *end || !*argv[1] || key == 0 || key > 0xffffffffUL) {
                fprintf(stderr, "shmfill: bad key %s\n", argv[1]);
                return 2;
        }
        unsigned long mib = strtoul(argv[2], &end, 10);
        if (errno || *end || !*argv[2] || mib == 0 || mib > 65536) {
                fprintf(stderr, "shmfill: bad size %s (1 to 65536 MiB)\n", argv[2]);
                return 2;
        }
        size_t size = (size_t) mib << 20;

        int id = shmget((key_t) key, size, IPC_CREAT | IPC_EXCL | 0600);
        if (id < 0) {
                fprintf(stderr, "shmfill: shmget: %s\n", strerror(errno));
                return 1;
        }
        void *p = shmat(id, NULL, 0);
        if (p == (void *) -1) {
                fprintf(stderr, "shmfill: shmat: %s\n", strerror(errno));
                (void) shmctl(id, IPC_RMID, NULL);
                return 1;
        }
        memset(p, 0xa5, size);
        if (shmdt(p) < 0) {
                fprintf(stderr, "shmfill: shmdt: %s\n", strerror(errno));
                (void) shmctl(id, IPC_RMID, NULL);
                return 1;
        }
        printf("id %d bytes %zu\n", id, size);
        return 0;
}
