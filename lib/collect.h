/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"
#include "ipcns.h"
#include "ipc_object.h"
#include "proctab.h"

/* Where the kernel's views live; tests point these at fixtures or at a
 * private /proc. */
struct collect_paths {
        const char *sysvipc; /* default /proc/sysvipc */
        const char *proc;    /* default /proc */
        /* Another IPC namespace (ipcns.h) to collect in and remove from,
         * through a helper that enters it (nshelper.h); NULL, or one that
         * is this process's own: here.  Its SysV objects are held only by
         * its members: a SysV id means nothing outside its namespace. */
        const struct ipcns *ns;
        bool inside; /* this process is the helper, in NS already */
};

/* Every object of the configured types.  Problems that do not stop the
 * collection (a bad line, no mqueue mount) are warnings in the inventory.
 * PREV (may be NULL): an earlier inventory whose unchanged objects lend
 * what is costly to read again (see sysv_collect, mqfs_read_one). */
int collect_inventory(const struct scan_config *scan, const struct collect_paths *paths,
                      const struct inventory_index *prev, struct inventory **ret);

/*
 * One pass over /proc: the process table, and each object's holders (open
 * fds, mappings, SysV attachments).  The holder index is seeded with exactly
 * the inventory's identities, so the cost follows the objects examined.
 * /proc/PID/fd is read only when some object can be held by an fd, maps
 * only when some object can be mapped.  EXTRA adds PROCTAB_UIDS and
 * PROCTAB_CGROUP when the judgement will need them (judge_proctab_needs).
 */
int collect_holders(struct inventory *inv, const struct collect_paths *paths, unsigned extra, struct proctab **ret);
/*
 * collect_holders for N inventories at once, in one pass over /proc (the
 * one of every PATHS[i], which must be the same): INVS[i], collected in the
 * IPC namespace of PATHS[i], gets the holders and RET[i] the process table
 * collect_holders(INVS[i], PATHS[i], EXTRA[i]) would give it.  The
 * namespaces must be distinct (-EINVAL).  RET[i] are all made, or none.
 */
int collect_holders_many(struct inventory *const *invs, const struct collect_paths *const *paths, const unsigned *extra,
                         size_t n, struct proctab **ret);

/* Where the file object O lives: its path, from the scan's directories, in
 * BUF (SIZE bytes), and in *RET_BASE the offset of its name in the
 * directory.  -EINVAL for a SysV object, -ENAMETOOLONG when BUF is short.
 * The one mapping of names to files: "/q" is MqueueDir/q, "/s" ShmDir/s,
 * a semaphore "/s" ShmDir/sem.s, a FIFO its own path. */
int collect_object_path(const struct ipc_object *o, const struct scan_config *scan, char *buf, size_t size,
                        size_t *ret_base);
/* Opens the directory the file object O's name lives in, as
 * collect_object_path() maps it: *RET_DIRFD, and *RET_BASE (malloc'd) its
 * name there.  A FIFO's through fifo_open_parent(): under FifoDirs=, no
 * symlink followed (-ENOENT when no FifoDirs= root holds it, -ELOOP,
 * -EXDEV); ShmDir= with O_NOFOLLOW; MqueueDir= may be a symlink to the
 * mount, whose type is checked instead (-EMEDIUMTYPE).  For whatever
 * reaches a file object by its name: reap(), restore. */
int collect_open_parent(const struct ipc_object *o, const struct scan_config *scan, int *ret_dirfd, char **ret_base);

/* The holder index key of O: (dev, ino) for files, (HOLDER_DEV_SYSV_*, id)
 * for SysV objects.  False for none. */
bool collect_holder_key(const struct ipc_object *o, dev_t *ret_dev, ino_t *ret_ino);
