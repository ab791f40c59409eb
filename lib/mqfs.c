/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "mqfs.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

int mqfs_parse_status(const char *text, uint64_t *ret_qsize, pid_t *ret_notify_pid) {
        unsigned long long qsize;
        int notify, signo, pid;

        if (sscanf(text, "QSIZE:%llu NOTIFY:%d SIGNO:%d NOTIFY_PID:%d", &qsize, &notify, &signo, &pid) != 4)
                return -EBADMSG;
        if (pid < 0)
                return -EBADMSG;
        *ret_qsize = qsize;
        *ret_notify_pid = pid;
        return 0;
}

static bool may_restore_times(const struct stat *st) {
        /* Explicit timestamps need ownership or CAP_FOWNER; root is the case
         * that matters, and a failed restore is caught below anyway.  The
         * euid does not change under us: ask once, not once per queue. */
        static uid_t me = (uid_t) -1;
        static bool known;
        if (!known) {
                me = geteuid();
                known = true;
        }
        return me == 0 || me == st->st_uid;
}

static int read_status(int dfd, const char *name, const struct stat *st, struct ipc_object *o) {
        _cleanup_close_ int fd = -EBADF;
        char buf[128];
        ssize_t n;
        int r;

        if (!may_restore_times(st))
                return -EPERM;

        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();

        n = read(fd, buf, sizeof(buf) - 1);
        r = n < 0 ? negative_errno() : 0;

        /* Put back the atime the read just replaced, whether or not the read
         * worked; leave mtime alone. */
        const struct timespec ts[2] = { st->st_atim, { .tv_nsec = UTIME_OMIT } };
        if (futimens(fd, ts) < 0 && r == 0)
                r = negative_errno();
        if (r < 0)
                return r;

        buf[n] = 0;
        return mqfs_parse_status(buf, &o->size, &o->notify_pid);
}

int mqfs_read_one(int dfd, const char *name, const struct inventory_index *prev, struct ipc_object *o) {
        struct stat st;
        int r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EMEDIUMTYPE;

        free(o->name);
        if (asprintf(&o->name, "/%s", name) < 0) {
                o->name = NULL;
                return -ENOMEM;
        }
        ipc_object_set_stat(o, &st);
        o->size = 0; /* st_size of a queue file is not its contents; QSIZE is */
        /* A queue's ctime is stamped by every read of its status, ours (and
         * the futimens that puts its atime back), the last sweep's, anyone's
         * cat: it would always say "just now".  Its mtime is stamped by
         * what changes a queue, its creation, a send and a receive, and by
         * no read: that is its time of last change. */
        o->ctime = o->mtime;

        const struct ipc_object *p = inventory_index_find(prev, o);
        if (p && !(p->flags & IPC_OBJECT_MQ_UNREADABLE) && p->mtime == o->mtime && p->atime == o->atime) {
                o->size = p->size;
                o->notify_pid = p->notify_pid;
                o->flags &= ~IPC_OBJECT_MQ_UNREADABLE;
                return 0;
        }
        r = read_status(dfd, name, &st, o);
        if (r == -ENOENT || r == -ENOMEM)
                return r;
        if (r < 0)
                o->flags |= IPC_OBJECT_MQ_UNREADABLE;
        else
                o->flags &= ~IPC_OBJECT_MQ_UNREADABLE;
        return 0;
}

int mqfs_collect(const char *dir, const struct inventory_index *prev, struct inventory *inv) {
        _cleanup_closedir_ DIR *d = NULL;
        struct statfs sfs;
        int dfd, r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fstatfs(dfd, &sfs) < 0 || sfs.f_type != MQUEUE_MAGIC) {
                if (dfd >= 0)
                        (void) close(dfd);
                inv->unavailable |= IPC_TYPE_BIT(IPC_TYPE_MQ);
                return inventory_warn(inv, "POSIX message queues unavailable: no mqueue filesystem mounted at %s",
                                      dir);
        }

        r = inventory_open_dir(inv, dir, dfd, &d);
        if (r < 0)
                return r;

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;

                struct ipc_object *o = inventory_append(inv, IPC_TYPE_MQ);
                if (!o)
                        return negative_errno();
                r = mqfs_read_one(dfd, de->d_name, prev, o);
                if (r == -ENOENT || r == -EMEDIUMTYPE) {
                        inventory_drop_last(inv); /* gone since readdir, or not a queue */
                        continue;
                }
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return negative_errno();
        return 0;
}
