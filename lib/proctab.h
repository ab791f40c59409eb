/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "holder_index.h"

enum {
        PROCESS_FD_UNREADABLE = 1u << 0,   /* /proc/PID/fd denied: its holdings are unknown */
        PROCESS_MAPS_UNREADABLE = 1u << 1, /* /proc/PID/maps denied: its mappings are unknown */
        PROCESS_ZOMBIE = 1u << 2,          /* exited, not yet reaped: holds nothing, owns nothing */
        PROCESS_KTHREAD = 1u << 3,
        /* blocked opening a FIFO whose path cannot be resolved now (it may be
         * one of ours, moved aside): which FIFO it waits on is unknown */
        PROCESS_FIFO_OPEN_UNKNOWN = 1u << 4,
        /* a thread blocked in semop/msgrcv/msgsnd whose call cannot be read:
         * which object it waits on is unknown */
        PROCESS_IPC_WAIT_UNKNOWN = 1u << 5,
        /* Refused, not gone (hidepid=1, an LSM): /proc/PID or its stat,
         * so comm, start time (0), uids (-1) and unit are unknown and the
         * process is kept with every UNREADABLE and UNKNOWN flag of what
         * was asked; or only its status, so its uids are unknown (-1) */
        PROCESS_UNREADABLE = 1u << 6,
};

struct process {
        pid_t pid;
        uid_t ruid, euid;
        uint64_t start_usec; /* wall clock, µs since the epoch */
        uint64_t start_ticks; /* as /proc/PID/stat says: exact, for telling two processes apart */
        char comm[17];
        char *unit; /* systemd unit from the cgroup path, or NULL */
        unsigned flags;
        /* What the walk saw, before the flags were settled for what one
         * build asked (proctab_view), and the slot of its IPC namespace in
         * the walk's list (PROCTAB_SLOT_*: not looked up, not listed, or
         * unknown).  See proctab.c. */
        unsigned facts;
        uint32_t ipc_slot;
};
#define PROCTAB_SLOT_UNSET UINT32_MAX
#define PROCTAB_SLOT_NONE (UINT32_MAX - 1)
#define PROCTAB_SLOT_ANY (UINT32_MAX - 2)
/* At most this many IPC namespaces in one walk. */
#define PROCTAB_SLOTS_MAX 65536u

struct proctab {
        struct process *procs; /* sorted by pid */
        size_t n_procs;
        unsigned flags; /* the PROCTAB_* it was built with: what it knows */
        size_t n_fd_unreadable, n_maps_unreadable, n_fifo_open_unknown, n_ipc_wait_unknown;
};

enum {
        PROCTAB_FDS = 1u << 0,    /* read /proc/PID/fd into the holder index */
        PROCTAB_MAPS = 1u << 1,   /* read /proc/PID/maps into the holder index */
        PROCTAB_CGROUP = 1u << 2, /* read /proc/PID/cgroup for the unit */
        /* a process blocked in open() of a FIFO, waiting for its peer, has no
         * fd yet: find which FIFO from its syscall arguments */
        PROCTAB_FIFO_OPENERS = 1u << 3,
        PROCTAB_UIDS = 1u << 4, /* read /proc/PID/status for the uids */
        /* threads blocked in semop(2), msgrcv(2), msgsnd(2): recorded in the
         * holder index as (HOLDER_DEV_SYSV_SEM/MSG, id) */
        PROCTAB_IPC_WAITERS = 1u << 5,
};

/*
 * One pass over PROC_ROOT (normally /proc).  Every process gets an entry;
 * with PROCTAB_FDS/PROCTAB_MAPS, the holders of the keys wanted in IDX are
 * recorded there too.  A process that exits during the pass is left out; one
 * whose fd or maps cannot be read is kept and flagged, so a verdict that
 * needs those facts can say it does not know.
 */
int proctab_build(const char *proc_root, struct holder_index *idx, unsigned flags, struct proctab **ret);
/* As proctab_build, with the SysV attachments (maps) of processes in the
 * IPC namespace of inode IPC_NS counted, not those in this process's own
 * (0: this process's own).  An attachment's shmid means something only in
 * its namespace. */
int proctab_build_in(const char *proc_root, struct holder_index *idx, unsigned flags, uint64_t ipc_ns,
                     struct proctab **ret);
/*
 * One pass over PROC_ROOT for N_NS IPC namespaces at once (inodes, distinct;
 * 0: this process's own): the SysV attachments and waits of a process in
 * IPC_NS[i] are recorded as (HOLDER_DEV_SYSV_*, holder_sysv_ino(i, id)), a
 * process in a namespace not listed records none, and one whose namespace
 * cannot be read records them for every slot (the safe side).  Files are
 * (dev, ino), whoever holds them.  FLAGS is what any of the builds asks.
 * The table made is only to be viewed: proctab_view() gives each
 * namespace's.  -EINVAL for a namespace listed twice, or too many.
 */
int proctab_build_many(const char *proc_root, struct holder_index *idx, unsigned flags, const uint64_t *ipc_ns,
                       size_t n_ns, struct proctab **ret);
/* The table a proctab_build_in() for the namespace of SLOT with FLAGS (a
 * part of what T was built with) would have made, from T's walk: its own
 * copy, with what FLAGS did not ask left out (uids, units, the unreadable
 * and unknown flags, counted again).  KEYS: the build had keys to look for
 * (an index that wants some), as a proctab_build_in with an index.  */
int proctab_view(const struct proctab *t, unsigned flags, size_t slot, bool keys, struct proctab **ret);
struct proctab *proctab_free(struct proctab *t);
static inline void proctab_freep(struct proctab **p) {
        if (*p)
                proctab_free(*p);
}
const struct process *proctab_find(const struct proctab *t, pid_t pid);

/* Reads a small file NAME (relative to DFD) of /proc, or of the cgroup file
 * system, whole into BUF, NUL-terminated.  Returns the bytes read or a
 * negative errno. */
ssize_t proctab_read(int dfd, const char *name, char *buf, size_t size);

/*
 * What a thread whose /proc/PID/task/TID/wchan reads WCHAN is blocked on, as
 * far as FLAGS (PROCTAB_FIFO_OPENERS, PROCTAB_IPC_WAITERS) ask: recorded in
 * IDX.  TFD is the thread's (or a single-threaded process's) /proc dir.
 * Returns 0, the PROCESS_*_UNKNOWN flags of what could not be told, or a
 * negative errno.
 */
int proctab_blocked_thread(int tfd, const char *proc_root, pid_t pid, const char *wchan, struct holder_index *idx,
                           unsigned flags);
/* Is a thread whose wchan reads WCHAN blocked in one of the calls FLAGS ask
 * about, or stopped where it may have been (so that proctab_blocked_thread
 * has something to read)? */
bool proctab_wchan_wanted(const char *wchan, unsigned flags);
/* Does WCHAN say the thread is stopped or frozen (SIGSTOP, a tracer, a
 * cgroup freezer), wherever it was when it stopped? */
bool proctab_wchan_stopped(const char *wchan);

/* Parsers, exposed for the unit tests. */
int proctab_parse_stat(const char *text, char ret_comm[17], char *ret_state, unsigned *ret_flags,
                       uint64_t *ret_starttime_ticks);
/* The systemd unit named by a /proc/PID/cgroup text: the deepest .service or
 * .scope component of the unified ("0::") line.  NULL in *ret when none. */
int proctab_parse_cgroup_unit(const char *text, char **ret);
/* One maps line: the device and inode it maps, and whether it is SysV shm. */
int proctab_parse_maps_line(const char *line, dev_t *ret_dev, ino_t *ret_ino, bool *ret_sysv);
/* A /proc/PID/syscall text: the call's number and its six arguments; -1 in
 * *ret_nr (arguments zero) when the thread is in no call.  -EAGAIN for
 * "running" (nothing to tell), -EBADMSG for anything else. */
int proctab_parse_syscall(const char *text, long *ret_nr, uint64_t ret_args[6]);
