/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "ipc_object.h"

/* Use by one user of one type. */
struct audit_usage {
        uid_t uid;
        enum ipc_type type;
        uint64_t count;
        uint64_t bytes;
        uint64_t units; /* sem: semaphores (counted against semmns); otherwise = count */
};

enum kernel_limit {
        LIMIT_SHMMNI,  /* shm segments */
        LIMIT_SHMALL,  /* shm pages in total */
        LIMIT_MSGMNI,  /* message queues */
        LIMIT_SEMMNI,  /* semaphore sets */
        LIMIT_SEMMNS,  /* semaphores in total */
        LIMIT_MQ_QUEUES_MAX, /* POSIX message queues */
        _LIMIT_MAX,
};

struct audit_limit {
        const char *name;   /* "shmmni" */
        const char *source; /* "/proc/sys/kernel/shmmni" (relative to the proc root) */
        uint64_t used;
        uint64_t max;
        int error; /* negative errno when the limit could not be read */
};

struct audit {
        struct audit_usage *usage; /* sorted by uid, then type */
        size_t n_usage;
        struct audit_limit limits[_LIMIT_MAX];
};

_Static_assert(_LIMIT_MAX <= INVENTORY_MAX_LIMITS, "struct inventory keeps the limits");

/* The kernel's limits below PROC_ROOT, as the reader's IPC namespace has
 * them: MAX[l], or ERR[l] a negative errno. */
void audit_read_limits(const char *proc_root, uint64_t max[static _LIMIT_MAX], int err[static _LIMIT_MAX]);

/* Totals the inventory by user and type and reads the kernel's limits below
 * PROC_ROOT (normally /proc; they are per IPC namespace), unless the
 * inventory carries its namespace's (limits_read). */
int audit_build(const struct inventory *inv, const char *proc_root, struct audit **ret);
struct audit *audit_free(struct audit *a);
static inline void audit_freep(struct audit **p) {
        if (*p)
                audit_free(*p);
}
