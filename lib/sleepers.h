/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "holder_index.h"

/*
 * Every thread on the machine, each with its /proc/PID/task/TID/wchan kept
 * open, so that "is any thread blocked on one of these objects now?" costs
 * one pread(2) per thread instead of a walk of /proc.
 *
 * Whether the set is still every thread is told by the kernel's count of
 * tasks created since boot (the "processes" line of /proc/stat, which
 * counts threads too and is not per namespace): while it stands still, no
 * thread has been created, and the set (less the ones that exited) is
 * every thread there is.  When it has moved, the set is taken again.
 */
struct sleepers;

/* Past this many threads (or MAX, if lower) the set is not taken: -E2BIG. */
#define SLEEPERS_MAX 65536u

/* -EPERM without CAP_SYS_PTRACE, -EOPNOTSUPP when wchan does not name
 * where threads sleep (a kernel without kallsyms): then they cannot vouch. */
int sleepers_new(const char *proc_root, size_t max, struct sleepers **ret);
struct sleepers *sleepers_free(struct sleepers *s);
static inline void sleepers_freep(struct sleepers **p) {
        if (*p)
                sleepers_free(*p);
}

/*
 * Records in IDX what every thread is blocked on now, as far as FLAGS
 * (PROCTAB_FIFO_OPENERS, PROCTAB_IPC_WAITERS) ask: see
 * proctab_blocked_thread().  Takes the set again first when threads were
 * created since it was taken.  Returns 0, the PROCESS_*_UNKNOWN flags of
 * what could not be told, or a negative errno.
 */
int sleepers_scan(struct sleepers *s, struct holder_index *idx, unsigned flags);
size_t sleepers_size(const struct sleepers *s);
/* How many times sleepers_scan found new threads and took the set again. */
uint64_t sleepers_retaken(const struct sleepers *s);
