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

/* The roles of a pid are kept in the low bits of its reference. */
#define MEMORY_ROLE_BITS 5u
#define MEMORY_MAX_PROCS (1u << (32 - MEMORY_ROLE_BITS))

/* A process seen as an object's evidence of life: what memory_add takes and
 * memory_entry_pid gives back. */
struct memory_pid {
        pid_t pid;
        uid_t uid;            /* its euid, or (uid_t) -1 when not read */
        uint64_t start_ticks; /* /proc/PID/stat starttime: exact, boot-relative */
        uint8_t role;         /* enum evidence_role it was seen in */
};

/* A process remembered, stored once however many entries name it: a few
 * hundred processes hold the evidence of tens of thousands of objects. */
struct memory_proc {
        pid_t pid;
        uid_t uid;
        uint64_t start_ticks;
};

/* Times are wall-clock seconds, unsigned 32 bits (until 2106; memory_time
 * saturates): one entry per object, 32 bytes. */
struct memory_entry {
        uint64_t key;        /* memory_key() */
        uint8_t type;        /* enum ipc_type, so a save can forget the gone objects of the types it saw */
        uint8_t last_role;   /* enum evidence_role of the last life seen */
        uint8_t n_pids, n_units;
        pid_t last_pid;      /* of the last life seen, 0 for a kernel count */
        uint32_t last_life;  /* wall clock (s) of the last evidence of life seen; 0: never */
        uint32_t first_dead; /* wall clock (s) it was first seen without life since; 0: not */
        uint32_t pids;       /* index of its first reference in memory.pid_refs */
        uint32_t units;      /* index of its first unit reference in memory.unit_refs */
};

/* The state file as a memory last read or wrote it (learn() carries it
 * over): a save that finds the file still so has nothing to merge. */
struct memory_file {
        bool known;
        uint64_t dev, ino, size;
        int64_t mtime_nsec, ctime_nsec;
        uint64_t checksum; /* of its end record */
};

struct memory {
        struct memory_entry *entries; /* sorted by key, unique */
        size_t n_entries;
        uint32_t *pid_refs; /* per pid of an entry: its index in procs << MEMORY_ROLE_BITS | its role */
        size_t n_pids;
        struct memory_proc *procs; /* unique (pid, uid, start_ticks) */
        size_t n_procs;
        uint32_t *unit_refs; /* indexes into units */
        size_t n_unit_refs;
        char **units; /* cgroup paths ("/system.slice/postgresql@15-main.service"), unique */
        size_t n_units;

        char boot_id[37];       /* the boot the pids' start times count from */
        int64_t clock_offset;   /* CLOCK_REALTIME - CLOCK_BOOTTIME (µs) when last saved */
        int64_t clock_step;     /* wall clock (s) after the last step seen; 0: none */
        struct memory_file file;
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

/* A time as an entry keeps it: before the epoch is 0, after 2106 the end. */
static inline uint32_t memory_time(int64_t t) {
        return t <= 0 ? 0 : t >= (int64_t) UINT32_MAX ? UINT32_MAX : (uint32_t) t;
}

/* The entry of KEY, or NULL.  Sealed, a memory is indexed by the top bits
 * of its keys (a byte or two an entry); unsealed, it is scanned. */
const struct memory_entry *memory_find(const struct memory *m, uint64_t key);
/* Pid I (< E->n_pids) of E, most recent first. */
static inline struct memory_pid memory_entry_pid(const struct memory *m, const struct memory_entry *e, unsigned i) {
        uint32_t ref = m->pid_refs[e->pids + i];
        const struct memory_proc *p = &m->procs[ref >> MEMORY_ROLE_BITS];
        return (struct memory_pid) {
                .pid = p->pid,
                .uid = p->uid,
                .start_ticks = p->start_ticks,
                .role = (uint8_t) (ref & ((1u << MEMORY_ROLE_BITS) - 1)),
        };
}
static inline const char *memory_entry_unit(const struct memory *m, const struct memory_entry *e, unsigned i) {
        return m->units[m->unit_refs[e->units + i]];
}

/*
 * Building a memory: entries are added with memory_add in any order, each
 * with its pids and units; memory_seal sorts them and makes the memory
 * ready for memory_find.  Added in ascending order of keys, they need no
 * sorting: sealing then only gives back what growing left unused.
 * Processes and units are interned.  -E2BIG past MEMORY_MAX_ENTRIES (or
 * MEMORY_MAX_PROCS).  Pids and units beyond the caps are dropped (the
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
 * error: a bad state file never stops a judgement.  A good file read is
 * noted in (*ret)->file.  Times past 2106 are read as the end of time
 * (memory_time): later than anything, they only keep objects longer.
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
 * --local runs) lose nothing of each other's.  When COVERED is every type
 * and the file is still the one M->file names (same device, inode, size,
 * times and checksum: nobody wrote it since M, or the memory M was learnt
 * from, read or wrote it), M already holds all of it that is to be kept
 * (what learn() dropped, the dead pids and the gone objects, it dropped on
 * purpose), and the file is not read again.  The merge only adds life:
 * per key the later last_life, the union of pids and units (most recent
 * first, capped), first_dead kept only when no life was seen after it.
 * Entries on disk whose type is in COVERED (the types M was judged from)
 * but which M lacks are objects gone: forgotten.  Creates DIR (0755) if
 * missing.  Returns 0 or a negative errno (-EROFS, -EACCES, -ENOSPC...),
 * which the caller reports once and goes on: an unwritable state file
 * costs the memory, never the sweep.  On success M->file names the file
 * written.
 */
int memory_save(struct memory *m, const char *dir, unsigned covered);
/* Forgets the memory kept in DIR: its files (the state file, its
 * temporary, lock and set-aside files; no other), then DIR if that leaves
 * it empty.  For the memory of an IPC namespace that is gone.  0, or a
 * negative errno (-ENOTEMPTY: something else is there, and stays). */
int memory_remove(const char *dir);

/* Another IPC namespace's memory is a state file of its own,
 * STATE_DIR/ipcns-INODE: one memory is replaced whole by each judgement,
 * and SysV ids mean something only in their namespace.  An inode used
 * again by a new namespace finds the old one's: it only adds life.
 * *RET is malloc'd. */
int memory_namespace_dir(const char *state_dir, uint64_t ino, char **ret);
/* Forgets the memories in STATE_DIR of namespaces not among the N sorted
 * inodes INOS (memory_remove() of each StateDir/ipcns-INODE).  Only for a
 * discovery that found every namespace: with some cut, or a process's
 * namespace unreadable, one not found may still be there.  0, or the
 * first failure (the others are still tried). */
int memory_forget_namespaces(const char *state_dir, const uint64_t *inos, size_t n);
