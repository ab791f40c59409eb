/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "macro.h"
#include "quarantine.h"

struct quarantine_dir {
        dev_t dev; /* of the directory it is in */
        ino_t ino;
        int pfd; /* that directory, ours to close */
        int qfd;
        char qname[40];
        bool spare; /* kept: never removed */
};

void quarantine_pool_init(struct quarantine_pool *p) {
        *p = (struct quarantine_pool) {};
}

void quarantine_pool_done(struct quarantine_pool *p) {
        for (size_t i = 0; i < p->n_dirs; i++) {
                struct quarantine_dir *d = &p->dirs[i];
                (void) close(d->qfd);
                /* Fails harmlessly (ENOTEMPTY) if an entry could not be put back. */
                if (!d->spare)
                        (void) unlinkat(d->pfd, d->qname, AT_REMOVEDIR);
                (void) close(d->pfd);
        }
        free(p->dirs);
        *p = (struct quarantine_pool) {};
}

static int random_hex(char *buf, size_t size, const char *prefix) {
        unsigned char rnd[8];

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return -EIO;
        snprintf(buf, size, "%s%02x%02x%02x%02x%02x%02x%02x%02x", prefix, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
                 rnd[5], rnd[6], rnd[7]);
        return 0;
}

/* Opens NAME in DIRFD, a directory on the file system of PARENT that must be
 * ours alone: made by us (owner euid), 0700, not a symlink. */
static int open_ours(int dirfd, const char *name, const struct stat *parent) {
        struct stat st;
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0) {
                int r = negative_errno();
                (void) close(fd);
                return r;
        }
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700 ||
            st.st_dev != parent->st_dev) {
                (void) close(fd);
                return -EPERM;
        }
        return fd;
}

int quarantine_tend_spare(int dirfd) {
        struct statvfs sv;
        struct stat parent;

        if (fstat(dirfd, &parent) < 0 || fstatvfs(dirfd, &sv) < 0)
                return negative_errno();
        /* Kept only while room is short (an eighth of the inodes or a
         * sixteenth of the blocks left), so that a file system with room
         * holds no directory of ours between sweeps. */
        bool short_of_room = (sv.f_files > 0 && sv.f_favail < sv.f_files / 8) ||
                             (sv.f_blocks > 0 && sv.f_bavail < sv.f_blocks / 16);
        if (!short_of_room) {
                /* Fails harmlessly if it is not there, not empty, or not a directory. */
                int fd = open_ours(dirfd, QUARANTINE_SPARE, &parent);
                if (fd >= 0) {
                        (void) close(fd);
                        (void) unlinkat(dirfd, QUARANTINE_SPARE, AT_REMOVEDIR);
                }
                return 0;
        }
        if (mkdirat(dirfd, QUARANTINE_SPARE, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        int fd = open_ours(dirfd, QUARANTINE_SPARE, &parent);
        if (fd < 0)
                return fd == -ENOTDIR || fd == -ELOOP ? -EPERM : fd;
        (void) close(fd);
        return 0;
}

/* The pool's directory in DIRFD: found, made, or the spare. */
static int pool_dir(struct quarantine_pool *p, int dirfd, struct quarantine_dir **ret) {
        struct quarantine_dir d = { .pfd = -1, .qfd = -1 };
        struct stat parent;
        int r;

        if (fstat(dirfd, &parent) < 0)
                return negative_errno();
        for (size_t i = 0; i < p->n_dirs; i++)
                if (p->dirs[i].dev == parent.st_dev && p->dirs[i].ino == parent.st_ino) {
                        *ret = &p->dirs[i];
                        return 0;
                }

        struct quarantine_dir *a = reallocarray(p->dirs, p->n_dirs + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        p->dirs = a;

        r = random_hex(d.qname, sizeof(d.qname), ".ipcgc-reap.");
        if (r < 0)
                return r;
        if (mkdirat(dirfd, d.qname, 0700) < 0) {
                r = negative_errno();
                if (r != -ENOSPC && r != -EDQUOT)
                        return r;
                /* No room for a directory: the one kept for this. */
                snprintf(d.qname, sizeof(d.qname), "%s", QUARANTINE_SPARE);
                d.spare = true;
        }
        /* Make sure it is the directory we made, not something put in its
         * place between mkdirat and openat. */
        d.qfd = open_ours(dirfd, d.qname, &parent);
        if (d.qfd < 0) {
                r = d.qfd;
                if (!d.spare)
                        (void) unlinkat(dirfd, d.qname, AT_REMOVEDIR);
                /* No spare to be had: say why there was no directory. */
                return d.spare && (r == -ENOENT || r == -EPERM) ? -ENOSPC : r;
        }
        d.pfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (d.pfd < 0) {
                r = negative_errno();
                (void) close(d.qfd);
                if (!d.spare)
                        (void) unlinkat(dirfd, d.qname, AT_REMOVEDIR);
                return r;
        }
        d.dev = parent.st_dev;
        d.ino = parent.st_ino;
        p->dirs[p->n_dirs] = d;
        *ret = &p->dirs[p->n_dirs++];
        return 0;
}

int quarantine_enter(struct quarantine *q, struct quarantine_pool *pool, int dirfd, const char *base) {
        struct quarantine_dir *d;
        int r;

        *q = (struct quarantine) { .dirfd = dirfd, .qfd = -1 };
        q->base = strdup(base);
        if (!q->base)
                return -ENOMEM;

        r = pool_dir(pool, dirfd, &d);
        if (r < 0)
                return r;
        q->qfd = d->qfd;
        /* A name of its own in the shared directory; a name taken (in the
         * spare, by an entry a crash left) is never replaced. */
        for (unsigned tries = 0;; tries++) {
                r = random_hex(q->entry, sizeof(q->entry), "entry.");
                if (r < 0)
                        return r;
                if (renameat2(dirfd, base, q->qfd, q->entry, RENAME_NOREPLACE) == 0)
                        break;
                if (errno != EEXIST || tries >= 8)
                        return negative_errno();
        }
        q->moved = 1;
        return 0;
}

int quarantine_stat(const struct quarantine *q, struct stat *ret) {
        if (!q->moved)
                return -ENOENT;
        return fstatat(q->qfd, q->entry, ret, AT_SYMLINK_NOFOLLOW) < 0 ? negative_errno() : 0;
}

int quarantine_unlink(struct quarantine *q) {
        if (!q->moved)
                return -ENOENT;
        if (unlinkat(q->qfd, q->entry, 0) < 0)
                return negative_errno();
        q->moved = 0;
        return 0;
}

int quarantine_restore(struct quarantine *q) {
        if (!q->moved)
                return 0;
        if (renameat2(q->qfd, q->entry, q->dirfd, q->base, RENAME_NOREPLACE) == 0) {
                q->moved = 0;
                return 0;
        }
        if (errno != EEXIST)
                return negative_errno();
        /* Someone took the name meanwhile.  Never over them: put it back
         * beside, under a name that says what happened, rather than leave it
         * in our hidden directory. */
        for (unsigned i = 0; i < 100; i++) {
                char name[NAME_MAX + 1];
                int n = i ? snprintf(name, sizeof(name), "%s.ipcgc-restored.%u", q->base, i)
                          : snprintf(name, sizeof(name), "%s.ipcgc-restored", q->base);
                if (n < 0 || (size_t) n >= sizeof(name))
                        return -ENAMETOOLONG;
                if (renameat2(q->qfd, q->entry, q->dirfd, name, RENAME_NOREPLACE) == 0) {
                        q->moved = 0;
                        return -EEXIST; /* back, but not under its name */
                }
                if (errno != EEXIST)
                        return negative_errno();
        }
        return -EEXIST;
}

void quarantine_close(struct quarantine *q) {
        free(q->base);
        *q = (struct quarantine) { .dirfd = -1, .qfd = -1 };
}
