/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * floor: the kernel reads a sweep cannot do without, and nothing else; the
 * denominator of the floor ratio in docs/PERFORMANCE.md.
 *
 *   floor --mqueue DIR --shm DIR --fifo DIR [--depth N] [--proc DIR] [--sysvipc DIR]
 *
 *   - read /proc/sysvipc/{shm,msg,sem} whole (sem: id and nsems of each set
 *     are picked out, nothing else is parsed);
 *   - semctl GETPID, GETNCNT and GETZCNT on every semaphore;
 *   - list the mqueue directory and /dev/shm, fstatat on each entry;
 *   - walk the FIFO tree (readdir, fstatat on each entry, openat of each
 *     directory, at most --depth levels below the root, default 4);
 *   - for every process: read stat, list fd/ with fstatat on each entry, read
 *     maps.
 *
 * It prints what it saw on one line, so a run can be checked for sense.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[1 << 16];

struct tally {
        unsigned long sysv_bytes, sets, sems, semctl_fail, mq, shm, fifos, dirs, procs, fds, maps_bytes;
};

/* Reads DFD/NAME whole: into a scratch buffer, or into *RET when given. */
static long read_all(int dfd, const char *name, char **ret, size_t *ret_cap) {
        int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
        size_t n = 0;
        ssize_t k;

        if (fd < 0)
                return -1;
        for (;;) {
                if (ret && n == *ret_cap) {
                        size_t nc = *ret_cap ? *ret_cap * 2 : sizeof(buf);
                        char *p = realloc(*ret, nc);
                        if (!p) {
                                close(fd);
                                return -1;
                        }
                        *ret = p;
                        *ret_cap = nc;
                }
                k = ret ? read(fd, *ret + n, *ret_cap - n) : read(fd, buf, sizeof(buf));
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        return k < 0 ? -1 : (long) n;
}

static void sysv(const char *dir, struct tally *t) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *text = NULL;
        size_t cap = 0;
        long n;

        if (dfd < 0)
                return;
        n = read_all(dfd, "shm", NULL, NULL);
        t->sysv_bytes += n > 0 ? (unsigned long) n : 0;
        n = read_all(dfd, "msg", NULL, NULL);
        t->sysv_bytes += n > 0 ? (unsigned long) n : 0;
        n = read_all(dfd, "sem", &text, &cap);
        close(dfd);
        if (n <= 0) {
                free(text);
                return;
        }
        t->sysv_bytes += (unsigned long) n;

        /* "key semid perms nsems ...": fields 2 and 4; the first line is the header. */
        char *p = memchr(text, '\n', (size_t) n), *end = text + n;
        while (p && ++p < end) {
                char *e;
                (void) strtol(p, &e, 10); /* key */
                int id = (int) strtol(e, &e, 10);
                (void) strtol(e, &e, 10); /* perms */
                long nsems = strtol(e, &e, 10);
                t->sets++;
                for (long i = 0; i < nsems; i++) {
                        t->sems++;
                        if (semctl(id, (int) i, GETPID) < 0 || semctl(id, (int) i, GETNCNT) < 0 ||
                            semctl(id, (int) i, GETZCNT) < 0)
                                t->semctl_fail++;
                }
                p = memchr(e, '\n', (size_t) (end - e));
        }
        free(text);
}

static unsigned long list_stat(const char *dir) {
        DIR *d = opendir(dir);
        unsigned long n = 0;
        struct stat st;

        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        n++;
        }
        closedir(d);
        return n;
}

static void walk(int dfd, unsigned depth, unsigned max_depth, struct tally *t) {
        DIR *d = fdopendir(dfd);
        struct stat st;

        if (!d) {
                close(dfd);
                return;
        }
        t->dirs++;
        for (struct dirent *de; (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISFIFO(st.st_mode))
                        t->fifos++;
                else if (S_ISDIR(st.st_mode) && depth < max_depth) {
                        int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (cfd >= 0)
                                walk(cfd, depth + 1, max_depth, t);
                }
        }
        closedir(d);
}

static void processes(const char *proc, struct tally *t) {
        DIR *d = opendir(proc);
        struct stat st;

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                if (!isdigit((unsigned char) de->d_name[0]))
                        continue;
                int pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0)
                        continue;
                if (read_all(pfd, "stat", NULL, NULL) > 0)
                        t->procs++;
                int fdfd = openat(pfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *fds = fdfd >= 0 ? fdopendir(fdfd) : NULL;
                if (fds) {
                        for (struct dirent *fe; (fe = readdir(fds));)
                                if (fe->d_name[0] != '.' && fstatat(fdfd, fe->d_name, &st, 0) == 0)
                                        t->fds++;
                        closedir(fds);
                } else if (fdfd >= 0)
                        close(fdfd);
                long n = read_all(pfd, "maps", NULL, NULL);
                t->maps_bytes += n > 0 ? (unsigned long) n : 0;
                close(pfd);
        }
        closedir(d);
}

int main(int argc, char **argv) {
        const char *mq = NULL, *shm = NULL, *fifo = NULL, *proc = "/proc", *sysvipc = "/proc/sysvipc";
        unsigned depth = 4;
        struct tally t = { 0 };

        for (int i = 1; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--mqueue") == 0)
                        mq = argv[i + 1];
                else if (strcmp(argv[i], "--shm") == 0)
                        shm = argv[i + 1];
                else if (strcmp(argv[i], "--fifo") == 0)
                        fifo = argv[i + 1];
                else if (strcmp(argv[i], "--depth") == 0)
                        depth = (unsigned) strtoul(argv[i + 1], NULL, 10);
                else if (strcmp(argv[i], "--proc") == 0)
                        proc = argv[i + 1];
                else if (strcmp(argv[i], "--sysvipc") == 0)
                        sysvipc = argv[i + 1];
                else
                        break;
        }
        if (!mq || !shm || !fifo || argc % 2 == 0) {
                fprintf(stderr, "usage: floor --mqueue DIR --shm DIR --fifo DIR [--depth N] [--proc DIR] "
                                "[--sysvipc DIR]\n");
                return 2;
        }

        sysv(sysvipc, &t);
        t.mq = list_stat(mq);
        t.shm = list_stat(shm);
        int fd = open(fifo, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                walk(fd, 0, depth, &t);
        processes(proc, &t);

        printf("sysv_bytes %lu sem_sets %lu sems %lu semctl_fail %lu mq %lu shmdir %lu fifos %lu dirs %lu procs %lu "
               "fds %lu maps_bytes %lu\n",
               t.sysv_bytes, t.sets, t.sems, t.semctl_fail, t.mq, t.shm, t.fifos, t.dirs, t.procs, t.fds,
               t.maps_bytes);
        return 0;
}
