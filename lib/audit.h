/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
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

/* The limits lsipc -g shows, and POSIX mqueue's three. */
enum kernel_limit {
        LIMIT_MSGMNI,         /* message queues */
        LIMIT_MSGMAX,         /* bytes of one message */
        LIMIT_MSGMNB,         /* bytes of one queue, as made */
        LIMIT_SHMMNI,         /* segments */
        LIMIT_SHMALL,         /* pages in total */
        LIMIT_SHMMAX,         /* bytes of one segment */
        LIMIT_SHMMIN,         /* bytes of one segment, at least: a constant */
        LIMIT_SEMMNI,         /* semaphore sets */
        LIMIT_SEMMNS,         /* semaphores in total */
        LIMIT_SEMMSL,         /* semaphores of one set */
        LIMIT_SEMOPM,         /* operations of one semop */
        LIMIT_SEMVMX,         /* a semaphore's value: a constant */
        LIMIT_MQ_QUEUES_MAX,  /* POSIX message queues */
        LIMIT_MQ_MSG_MAX,     /* messages of one queue */
        LIMIT_MQ_MSGSIZE_MAX, /* bytes of one message */
        _LIMIT_MAX,
};

enum limit_scope {
        LIMIT_SCOPE_SYSTEM, /* the namespace's total against it: used is a sum */
        LIMIT_SCOPE_OBJECT, /* each object against it: used is the largest one's */
};

struct audit_limit {
        const char *name;   /* "shmmni", lower case as its sysctl */
        const char *source; /* "sys/kernel/shmmni" (relative to the proc root), or NULL: a constant */
        enum limit_scope scope;
        bool has_used; /* false where nothing of it can be counted (msgmax, semopm, shmmin, semvmx) */
        uint64_t used;
        uint64_t max;
        int error; /* negative errno when the limit could not be read */
};

/* What one user's POSIX queues charge against RLIMIT_MSGQUEUE. */
struct audit_mq_user {
        uid_t uid;
        uint64_t queues;
        uint64_t bytes;
};

struct audit {
        struct audit_usage *usage; /* sorted by uid, then type */
        size_t n_usage;
        struct audit_limit limits[_LIMIT_MAX];
        struct audit_mq_user *mq_users; /* sorted by uid */
        size_t n_mq_users;
        /* The soft RLIMIT_MSGQUEUE processes start with (that of pid 1
         * under the proc root); -errno in mq_rlimit_error when unread. */
        uint64_t mq_rlimit;
        int mq_rlimit_error;
        /* Queues that could not be read (gone, or denied): their charge is missing. */
        uint64_t mq_unread;
};

/* Where the kernel's tables are.  NULL fields are the defaults. */
struct audit_sources {
        const char *proc_root;  /* /proc */
        const char *sysvipc;    /* /proc/sysvipc */
        const char *mqueue_dir; /* /dev/mqueue: the namespace's mqueue mount */
};

/*
 * The per-user rows total INV's objects of TYPES (a mask of IPC_TYPE_BIT;
 * 0 is all); the limits' use is read from the kernel's own tables
 * (/proc/sysvipc, the mqueue mount), whatever INV holds or TYPES says:
 * objects of one type count against the limits even when only another is
 * listed or scanned.  The limits are read below the proc root (they are
 * per IPC namespace).  The kernel bounds what is read: every table is at
 * most its limit long.
 */
int audit_build(const struct inventory *inv, unsigned types, const struct audit_sources *src, struct audit **ret);
struct audit *audit_free(struct audit *a);
static inline void audit_freep(struct audit **p) {
        if (*p)
                audit_free(*p);
}

/* What a queue of MAXMSG messages of MSGSIZE bytes charges its creator's
 * RLIMIT_MSGQUEUE, by the kernel's formula (ipc/mqueue.c, since Linux 3.5). */
uint64_t audit_mq_charge(uint64_t maxmsg, uint64_t msgsize);

/* A user's name, or the uid as text when it has none (in BUF): how the
 * rows per user name them, in audit -J and in the metrics' labels. */
const char *audit_user_name(uid_t uid, char buf[static 16]);
