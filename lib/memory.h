/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ipc_object.h"

/*
 * The memory of life: what ipcgc has seen of each object over time, kept in
 * a state file shared by the daemon, `ipcgcd --once` and root's `--local`
 * runs.  A judgement from one instant misses life that comes and goes (a
 * segment mapped only while in use, a semaphore touched only by children
 * that recycle); the memory keeps it.  It only ever adds life: a lost,
 * corrupt or foreign file makes ipcgc know less, never remove more.
 *
 * Objects are remembered by a 64-bit hash of their identity (memory_key);
 * two objects that collide share a memory, which can only keep one of them
 * alive longer.
 */

/* Bounds on what the file and the daemon's copy can grow to. */
#define MEMORY_MAX_ENTRIES (1u << 21)  /* as INVENTORY_MAX_OBJECTS */
#define MEMORY_MAX_PIDS 8u             /* per object: the most recent evidence pids */
#define MEMORY_MAX_UNITS 4u            /* per object: the most recent units */
#define MEMORY_MAX_UNIT_LEN 512u       /* a cgroup path longer than this is not remembered */
#define MEMORY_MAX_FILE_BYTES (256ull << 20)
#define MEMORY_FILE_NAME "memory"

/* A process seen as an object's evidence of life. */
struct memory_pid {
        pid_t pid;
        uid_t uid;            /* its euid, or (uid_t) -1 when not read */
        uint64_t start_ticks; /* /proc/PID/stat starttime: exact, boot-relative */
        uint8_t role;         /* enum evidence_role it was seen in */
};

struct memory_entry {
        uint64_t key;       /* memory_key() */
        uint8_t type;       /* enum ipc_type, so a save can forget the gone objects of the types it saw */
        uint8_t last_role;  /* enum evidence_role of the last life seen */
        uint8_t n_pids, n_units;
        pid_t last_pid;     /* of the last life seen, 0 for a kernel count */
        int64_t last_life;  /* wall clock (s) of the last evidence of life seen; 0: never */
        int64_t first_dead; /* wall clock (s) it was first seen without life since; 0: not */
        uint32_t pids;      /* index of its first memory_pid in memory.pids */
        uint32_t units;     /* index of its first unit reference in memory.unit_refs */
};

struct memory {
        struct memory_entry *entries; /* sorted by key, unique */
        size_t n_entries;
        struct memory_pid *pids;
        size_t n_pids;
        uint32_t *unit_refs; /* indexes into units */
        size_t n_unit_refs;
        char **units; /* cgroup paths ("/system.slice/postgresql@15-main.service"), unique */
        size_t n_units;

        char boot_id[37];       /* the boot the pids' start times count from */
        int64_t clock_offset;   /* CLOCK_REALTIME - CLOCK_BOOTTIME (µs) when last saved */
        int64_t clock_step;     /* wall clock (s) after the last step seen; 0: none */
};

int memory_new(struct memory **ret);
struct memory *memory_free(struct memory *m);
static inline void memory_freep(struct memory **p) {
        if (*p)
                memory_free(*p);
}

/* The identity of O: type and id, key and creator uid for SysV; type, dev,
 * ino and name for files.  Never 0. */
uint64_t memory_key(const struct ipc_object *o);

const struct memory_entry *memory_find(const struct memory *m, uint64_t key);
static inline const struct memory_pid *memory_entry_pids(const struct memory *m, const struct memory_entry *e) {
        return &m->pids[e->pids];
}
static inline const char *memory_entry_unit(const struct memory *m, const struct memory_entry *e, unsigned i) {
        return m->units[m->unit_refs[e->units + i]];
}

/*
 * Building a memory: entries are added with memory_add in any order, each
 * with its pids and units; memory_seal sorts them and makes the memory
 * ready for memory_find.  Units are interned.  -E2BIG past
 * MEMORY_MAX_ENTRIES.  Pids and units beyond the caps are dropped (the
 * caller gives the most recent first).
 */
int memory_add(struct memory *m, const struct memory_entry *e, const struct memory_pid *pids, size_t n_pids,
               const char *const *units, size_t n_units);
int memory_seal(struct memory *m);

/*
 * Reads DIR/memory.  A missing file gives an empty memory and no warning.
 * A truncated, corrupt, oversized or foreign-version file gives an empty
 * memory and one sentence in *ret_warning (malloc'd) naming the file and
 * what is wrong; with MEMORY_SET_ASIDE it is also renamed aside
 * (DIR/memory.bad) so the next save starts clean.  Only -ENOMEM is an
 * error: a bad state file never stops a judgement.
 */
enum {
        MEMORY_SET_ASIDE = 1u << 0,
};
int memory_load(const char *dir, unsigned flags, struct memory **ret, char **ret_warning);

/*
 * Writes M to DIR/memory atomically (a temporary file in DIR, fsync,
 * rename, fsync of DIR), mode 0644, under an exclusive flock on
 * DIR/memory.lock held across read-merge-write: what is on disk now is
 * merged in first, so concurrent savers (the daemon, a one-shot, root's
 * --local runs) lose nothing of each other's.  The merge only adds life:
 * per key the later last_life, the union of pids and units (most recent
 * first, capped), first_dead kept only when no life was seen after it.
 * Entries on disk whose type is in COVERED (the types M was judged from)
 * but which M lacks are objects gone: forgotten.  Creates DIR (0755) if
 * missing.  Returns 0 or a negative errno (-EROFS, -EACCES, -ENOSPC...),
 * which the caller reports once and goes on: an unwritable state file
 * costs the memory, never the sweep.
 */
int memory_save(const struct memory *m, const char *dir, unsigned covered);
