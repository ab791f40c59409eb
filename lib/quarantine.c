/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "quarantine.h"

#define ENTRY QUARANTINE_ENTRY

int quarantine_enter(struct quarantine *q, int dirfd, const char *base) {
        unsigned char rnd[8];
        struct stat st;
        int r;

        *q = (struct quarantine) { .dirfd = dirfd, .qfd = -1 };
        q->base = strdup(base);
        if (!q->base)
                return -ENOMEM;

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return -EIO;
        snprintf(q->qname, sizeof(q->qname), ".ipcgc-reap.%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
                 rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);

        if (mkdirat(dirfd, q->qname, 0700) < 0) {
                q->qname[0] = 0;
                return negative_errno();
        }
        q->qfd = openat(dirfd, q->qname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (q->qfd < 0)
                return negative_errno();
        /* Make sure it is the directory we made, not something put in its
         * place between mkdirat and openat. */
        if (fstat(q->qfd, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)
                return -EPERM;

        if (renameat2(dirfd, base, q->qfd, ENTRY, RENAME_NOREPLACE) < 0) {
                r = negative_errno();
                return r;
        }
        q->moved = 1;
        return 0;
}

int quarantine_stat(const struct quarantine *q, struct stat *ret) {
        if (!q->moved)
                return -ENOENT;
        return fstatat(q->qfd, ENTRY, ret, AT_SYMLINK_NOFOLLOW) < 0 ? negative_errno() : 0;
}

int quarantine_unlink(struct quarantine *q) {
        if (!q->moved)
                return -ENOENT;
        if (unlinkat(q->qfd, ENTRY, 0) < 0)
                return negative_errno();
        q->moved = 0;
        return 0;
}

int quarantine_restore(struct quarantine *q) {
        if (!q->moved)
                return 0;
        if (renameat2(q->qfd, ENTRY, q->dirfd, q->base, RENAME_NOREPLACE) == 0) {
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
                if (renameat2(q->qfd, ENTRY, q->dirfd, name, RENAME_NOREPLACE) == 0) {
                        q->moved = 0;
                        return -EEXIST; /* back, but not under its name */
                }
                if (errno != EEXIST)
                        return negative_errno();
        }
        return -EEXIST;
}

void quarantine_close(struct quarantine *q) {
        if (q->qfd >= 0)
                (void) close(q->qfd);
        /* Fails harmlessly (ENOTEMPTY) if an entry could not be put back. */
        if (q->qname[0] && !q->moved)
                (void) unlinkat(q->dirfd, q->qname, AT_REMOVEDIR);
        free(q->base);
        *q = (struct quarantine) { .dirfd = -1, .qfd = -1 };
}
