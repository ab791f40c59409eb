/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * (dev, ino) -> pids that hold that file open or mapped.  Only keys asked
 * for with holder_index_want() are ever recorded: a scan of /proc sees
 * every fd on the machine, and the index must cost in proportion to the
 * objects under examination, not to the machine.
 *
 * SysV shm attachments are keyed (HOLDER_DEV_SYSV_SHM, shmid): in
 * /proc/PID/maps such a mapping shows the shmid as its inode.  Waiters on
 * SysV queues and sets are keyed the same way, by their own devices.
 */
#define HOLDER_DEV_SYSV_SHM ((dev_t) -1)
/* Threads blocked in msgrcv/msgsnd on a queue, semop on a set: (DEV, id). */
#define HOLDER_DEV_SYSV_MSG ((dev_t) -2)
#define HOLDER_DEV_SYSV_SEM ((dev_t) -3)
/* The inode of a SysV key in a walk over several IPC namespaces
 * (proctab_build_many): an id means something only in its namespace, so
 * the namespace's slot in the walk's list is above the id.  Slot 0 is the
 * id itself, as a walk over one namespace keys it. */
_Static_assert(sizeof(ino_t) >= 8, "SysV keys need a 64-bit ino_t");
static inline ino_t holder_sysv_ino(size_t slot, unsigned id) {
        return (ino_t) ((uint64_t) slot << 32 | id);
}

struct holder_index;

int holder_index_new(size_t expected, struct holder_index **ret);
struct holder_index *holder_index_free(struct holder_index *idx);
static inline void holder_index_freep(struct holder_index **p) {
        if (*p)
                holder_index_free(*p);
}

int holder_index_want(struct holder_index *idx, dev_t dev, ino_t ino);
bool holder_index_wants(const struct holder_index *idx, dev_t dev, ino_t ino);
size_t holder_index_size(const struct holder_index *idx);
/* Is any wanted key's inode INO, whatever its device?  (For an fd whose
 * device cannot be read: see proctab.c.)  Linear: for rare paths only. */
bool holder_index_wants_ino(const struct holder_index *idx, ino_t ino);
/* Records that PID holds (DEV, INO); unwanted keys are ignored.  Repeats are
 * collapsed when they come back to back, which is how a /proc scan (one
 * process at a time) produces them. */
int holder_index_add(struct holder_index *idx, dev_t dev, ino_t ino, pid_t pid);
/* How many (key, pid) records were made, over all keys. */
size_t holder_index_recorded(const struct holder_index *idx);
/* The pids for a key, in the order they were seen, or NULL with *ret_n = 0. */
const pid_t *holder_index_get(const struct holder_index *idx, dev_t dev, ino_t ino, size_t *ret_n);
