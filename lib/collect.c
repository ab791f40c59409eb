/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "collect.h"
#include "fifo.h"
#include "holder_index.h"
#include "macro.h"
#include "mqfs.h"
#include "nshelper.h"
#include "shmdir.h"
#include "sysv.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

static const char *sysvipc_path(const struct collect_paths *paths) {
        return paths && paths->sysvipc ? paths->sysvipc : "/proc/sysvipc";
}

static const char *proc_path(const struct collect_paths *paths) {
        return paths && paths->proc ? paths->proc : "/proc";
}

/* What the caps left out, said once for the whole collection. */
static int warn_left_out(struct inventory *inv) {
        char types[128] = "";
        size_t n = 0, used = 0;

        for (enum ipc_type t = 0; t < _IPC_TYPE_MAX; t++) {
                if (!inv->n_left_out[t])
                        continue;
                n += inv->n_left_out[t];
                int k = snprintf(types + used, sizeof(types) - used, "%s%s %zu", used ? ", " : "",
                                 ipc_type_to_string(t), inv->n_left_out[t]);
                if (k > 0 && (size_t) k < sizeof(types) - used)
                        used += (size_t) k;
        }
        if (n == 0)
                return 0;
        if (inv->n_over_max)
                return inventory_warn(inv,
                                      "%zu objects not collected (%s; %zu past MaxObjects=%zu): they are neither "
                                      "judged nor removed",
                                      n, types, inv->n_over_max, inv->max_objects);
        return inventory_warn(inv, "%zu objects not collected (%s): they are neither judged nor removed", n, types);
}

/* A SysV or mq collection stopped by MaxObjects= (-E2BIG) keeps what it
 * read: every object appended before is whole, but for sem sets, whose
 * members are read after the listing: those of this call go too. */
static int collected_or_cut(struct inventory *inv, enum ipc_type t, size_t first, int r) {
        if (r != -E2BIG)
                return r;
        if (t == IPC_TYPE_SEM)
                while (inv->n_objects > first) {
                        inventory_drop_last(inv);
                        inventory_left_out(inv, t);
                }
        return 0;
}

static bool foreign(const struct collect_paths *paths) {
        return paths && paths->ns && !paths->ns->self;
}

/* Says which namespace INV was collected in, when one was named. */
static int label(struct inventory *inv, const struct collect_paths *paths) {
        if (!paths || !paths->ns)
                return 0;
        inv->ipcns = paths->ns->ino;
        inv->foreign = !paths->ns->self;
        free(inv->container);
        inv->container = NULL;
        if (paths->ns->name && !(inv->container = strdup(paths->ns->name)))
                return -ENOMEM;
        return 0;
}

int collect_inventory(const struct scan_config *scan, const struct collect_paths *paths,
                      const struct inventory_index *prev, struct inventory **ret) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        int r;

        if (foreign(paths) && !paths->inside) {
                /* Collected by a child inside it; PREV lends nothing across
                 * the pipe. */
                r = nshelper_collect(paths->ns, scan, paths, &inv);
                if (r >= 0)
                        r = label(inv, paths);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(inv);
                return 0;
        }

        r = inventory_new(&inv);
        if (r < 0)
                return r;
        inv->max_objects = scan->max_objects;
        inv->max_per_dir = scan->max_objects_per_dir;
        inv->max_per_user = scan->max_objects_per_user;

        for (enum ipc_type t = IPC_TYPE_SHM; t <= IPC_TYPE_SEM; t++)
                if (scan->types & IPC_TYPE_BIT(t)) {
                        size_t first = inv->n_objects;
                        r = collected_or_cut(inv, t, first, sysv_collect(t, sysvipc_path(paths), prev, inv));
                        if (r < 0)
                                return r;
                }

        if (scan->types & IPC_TYPE_BIT(IPC_TYPE_MQ)) {
                size_t first = inv->n_objects;
                r = collected_or_cut(inv, IPC_TYPE_MQ, first, mqfs_collect(scan->mqueue_dir, prev, inv));
                if (r < 0)
                        return r;
        }

        r = shmdir_collect(scan->shm_dir, scan->types, inv);
        if (r < 0)
                return r;

        if (scan->types & IPC_TYPE_BIT(IPC_TYPE_FIFO)) {
                r = fifo_collect(scan->fifo_dirs, scan->n_fifo_dirs, scan->fifo_max_depth, inv);
                if (r < 0)
                        return r;
        }

        r = warn_left_out(inv);
        if (r < 0)
                return r;
        /* Counted per uid only while collecting. */
        free(inv->uid_counts);
        inv->uid_counts = NULL;
        inv->n_uid_slots = inv->n_uids = 0;
        inventory_trim(inv);
        r = label(inv, paths);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(inv);
        return 0;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

/* The key of O in a walk where its namespace has SLOT (collect_holder_key's
 * is slot 0). */
static void holder_key(const struct ipc_object *o, size_t slot, dev_t *ret_dev, ino_t *ret_ino) {
        switch (o->type) {
        case IPC_TYPE_SHM:
                *ret_dev = HOLDER_DEV_SYSV_SHM;
                *ret_ino = holder_sysv_ino(slot, (unsigned) o->id);
                return;
        case IPC_TYPE_MSG:
                /* held by nothing; waited on by threads in msgrcv/msgsnd */
                *ret_dev = HOLDER_DEV_SYSV_MSG;
                *ret_ino = holder_sysv_ino(slot, (unsigned) o->id);
                return;
        case IPC_TYPE_SEM:
                *ret_dev = HOLDER_DEV_SYSV_SEM;
                *ret_ino = holder_sysv_ino(slot, (unsigned) o->id);
                return;
        default:
                *ret_dev = o->dev;
                *ret_ino = o->ino;
                return;
        }
}

bool collect_holder_key(const struct ipc_object *o, dev_t *ret_dev, ino_t *ret_ino) {
        holder_key(o, 0, ret_dev, ret_ino);
        return true;
}

/* Wants INV's keys (of SLOT) in IDX; the PROCTAB_* its holders need. */
static int want_holders(const struct inventory *inv, size_t slot, unsigned extra, struct holder_index *idx,
                        unsigned *ret_flags) {
        unsigned flags = extra & (PROCTAB_UIDS | PROCTAB_CGROUP);

        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                dev_t dev;
                ino_t ino;

                holder_key(o, slot, &dev, &ino);
                int r = holder_index_want(idx, dev, ino);
                if (r < 0)
                        return r;
                /* shm is held by attachment (maps); a FIFO or mq by an fd;
                 * pshm and psem by either; msg and sem only waited on. */
                switch (o->type) {
                case IPC_TYPE_SHM:
                        flags |= PROCTAB_MAPS;
                        break;
                case IPC_TYPE_MSG:
                case IPC_TYPE_SEM:
                        flags |= PROCTAB_IPC_WAITERS;
                        break;
                case IPC_TYPE_FIFO:
                        flags |= PROCTAB_FDS | PROCTAB_FIFO_OPENERS;
                        break;
                case IPC_TYPE_MQ:
                        flags |= PROCTAB_FDS;
                        break;
                default:
                        flags |= PROCTAB_FDS | PROCTAB_MAPS;
                        break;
                }
        }
        *ret_flags = flags;
        return 0;
}

/* Each object of INV (of SLOT) gets its holders from IDX. */
static int give_holders(struct inventory *inv, size_t slot, const struct collect_paths *paths,
                        const struct holder_index *idx) {
        for (size_t i = 0; i < inv->n_objects; i++) {
                struct ipc_object *o = &inv->objects[i];
                const pid_t *pids;
                dev_t dev;
                ino_t ino;
                size_t n;

                free(o->holders);
                o->holders = NULL;
                o->n_holders = 0;
                holder_key(o, slot, &dev, &ino);
                pids = holder_index_get(idx, dev, ino, &n);
                if (n == 0)
                        continue;
                /* A SysV key is its namespace's slot's: the walk recorded
                 * under it the processes whose ns/ipc was that namespace
                 * when it read them (and those whose ns/ipc it could not
                 * read, which may be).  No list of members made before the
                 * walk filters them again: a process that joined the
                 * namespace since would be dropped, and a waiter on a
                 * queue, which no kernel count shows, with it.  A file's
                 * (dev, ino) names it wherever it is held. */
                o->holders = malloc(n * sizeof(pid_t));
                if (!o->holders)
                        return -ENOMEM;
                memcpy(o->holders, pids, n * sizeof(pid_t));
                qsort(o->holders, n, sizeof(pid_t), cmp_pid);
                o->n_holders = n;
        }
        return 0;
}

int collect_holders(struct inventory *inv, const struct collect_paths *paths, unsigned extra, struct proctab **ret) {
        return collect_holders_many(&inv, &paths, &extra, 1, ret);
}

int collect_holders_many(struct inventory *const *invs, const struct collect_paths *const *paths, const unsigned *extra,
                         size_t n, struct proctab **ret) {
        _cleanup_(holder_index_freep) struct holder_index *idx = NULL;
        _cleanup_(proctab_freep) struct proctab *walk = NULL;
        _cleanup_free_ unsigned *flags = NULL;
        _cleanup_free_ uint64_t *ns = NULL;
        _cleanup_free_ struct proctab **views = NULL;
        size_t expected = 0;
        unsigned all = 0;
        int r;

        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++) {
                /* one walk: of one /proc */
                if (strcmp(proc_path(paths[i]), proc_path(paths[0])) != 0)
                        return -EINVAL;
                expected += invs[i]->n_objects;
        }
        flags = calloc(n, sizeof(*flags));
        ns = calloc(n, sizeof(*ns));
        if (!flags || !ns)
                return -ENOMEM;
        r = holder_index_new(expected, &idx);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = want_holders(invs[i], i, extra[i], idx, &flags[i]);
                if (r < 0)
                        return r;
                all |= flags[i];
                /* SysV attachments and waits count in the namespace collected. */
                ns[i] = paths[i] && paths[i]->ns ? paths[i]->ns->ino : 0;
        }

        r = proctab_build_many(proc_path(paths[0]), holder_index_size(idx) > 0 ? idx : NULL, all, ns, n, &walk);
        if (r < 0)
                return r;
        views = calloc(n, sizeof(*views));
        if (!views)
                return -ENOMEM;
        for (size_t i = 0; i < n && r >= 0; i++) {
                /* Each inventory's table, as its walk alone would make it. */
                r = proctab_view(walk, flags[i], i, invs[i]->n_objects > 0, &views[i]);
                if (r >= 0)
                        r = give_holders(invs[i], i, paths[i], idx);
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        proctab_free(views[i]);
                return r;
        }
        memcpy(ret, views, n * sizeof(*views));
        return 0;
}

int collect_object_path(const struct ipc_object *o, const struct scan_config *scan, char *buf, size_t size,
                        size_t *ret_base) {
        const char *dir, *prefix = "";
        int k;

        switch (o->type) {
        case IPC_TYPE_MQ:
                dir = scan->mqueue_dir;
                break;
        case IPC_TYPE_PSEM:
                dir = scan->shm_dir;
                prefix = "sem.";
                break;
        case IPC_TYPE_PSHM:
                dir = scan->shm_dir;
                break;
        case IPC_TYPE_FIFO: {
                const char *slash = o->name ? strrchr(o->name, '/') : NULL;
                if (!slash)
                        return -EINVAL;
                k = snprintf(buf, size, "%s", o->name);
                if (k < 0 || (size_t) k >= size)
                        return -ENAMETOOLONG;
                *ret_base = (size_t) (slash - o->name) + 1;
                return 0;
        }
        default:
                return -EINVAL;
        }
        if (!o->name || o->name[0] != '/')
                return -EINVAL;
        k = snprintf(buf, size, "%s/%s%s", dir, prefix, o->name + 1);
        if (k < 0 || (size_t) k >= size)
                return -ENAMETOOLONG;
        *ret_base = strlen(dir) + 1;
        return 0;
}

int collect_open_parent(const struct ipc_object *o, const struct scan_config *scan, int *ret_dirfd, char **ret_base) {
        char path[PATH_MAX];
        const char *fifo_base;
        struct statfs sfs;
        size_t base;
        int fd, r;

        if (o->type == IPC_TYPE_FIFO) {
                r = fifo_open_parent(scan->fifo_dirs, scan->n_fifo_dirs, o->name, &fd, &fifo_base);
                if (r < 0)
                        return r;
                *ret_base = strdup(fifo_base);
                if (!*ret_base) {
                        (void) close(fd);
                        return -ENOMEM;
                }
                *ret_dirfd = fd;
                return 0;
        }
        r = collect_object_path(o, scan, path, sizeof(path), &base);
        if (r < 0)
                return r;
        _cleanup_free_ char *b = strdup(path + base);
        if (!b)
                return -ENOMEM;
        path[base - 1] = 0;
        /* /dev/mqueue may be a symlink's target; the mount is checked instead. */
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (o->type == IPC_TYPE_MQ ? 0 : O_NOFOLLOW));
        if (fd < 0)
                return negative_errno();
        if (o->type == IPC_TYPE_MQ && (fstatfs(fd, &sfs) < 0 || sfs.f_type != MQUEUE_MAGIC)) {
                (void) close(fd);
                return -EMEDIUMTYPE;
        }
        *ret_dirfd = fd;
        *ret_base = TAKE_PTR(b);
        return 0;
}
