/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mqueue.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "sysv.h"

struct audit *audit_free(struct audit *a) {
        if (!a)
                return NULL;
        free(a->usage);
        free(a->mq_users);
        free(a);
        return NULL;
}

/*
 * The kernel's charge (ipc/mqueue.c, mqueue_get_inode): one struct msg_msg
 * per message it may hold, one struct posix_msg_tree_node per priority it
 * may hold (at most MQ_PRIO_MAX of them), and the messages' bytes.  Both
 * structures are six words: msg_msg a list head, m_type, m_ts, next and
 * security; the tree node an rb_node, a list head and an int, padded.
 * mq_overview(7) still gives the formula from before Linux 3.5 (a pointer
 * per message); this is what the kernel counts now, and the audit test
 * checks it against the kernel: a queue of exactly this charge fits an
 * RLIMIT_MSGQUEUE of it, and not one of a byte less.
 */
#define MQ_PRIO_MAX_KERNEL 32768u
#define KERNEL_WORDS6 (6u * sizeof(long))

uint64_t audit_mq_charge(uint64_t maxmsg, uint64_t msgsize) {
        uint64_t nodes = maxmsg < MQ_PRIO_MAX_KERNEL ? maxmsg : MQ_PRIO_MAX_KERNEL;
        return maxmsg * KERNEL_WORDS6 + nodes * KERNEL_WORDS6 + maxmsg * msgsize;
}

const char *audit_user_name(uid_t uid, char buf[static 16]) {
        const struct passwd *pw = getpwuid(uid);
        if (pw)
                return pw->pw_name;
        snprintf(buf, 16, "%u", (unsigned) uid);
        return buf;
}

static int cmp_usage(const void *a, const void *b) {
        const struct audit_usage *x = a, *y = b;
        if (x->uid != y->uid)
                return x->uid < y->uid ? -1 : 1;
        return (x->type > y->type) - (x->type < y->type);
}

static int cmp_mq_user(const void *a, const void *b) {
        const struct audit_mq_user *x = a, *y = b;
        return (x->uid > y->uid) - (x->uid < y->uid);
}

/* Reads the N-th whitespace-separated number of a /proc/sys file. */
static int read_sys_number(const char *proc_root, const char *rel, unsigned nth, uint64_t *ret) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        unsigned long long v = 0;

        if (asprintf(&path, "%s/%s", proc_root, rel) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        for (unsigned i = 0; i <= nth; i++)
                if (fscanf(f, "%llu", &v) != 1)
                        return -EBADMSG;
        *ret = v;
        return 0;
}

/* The constants are the kernel's (include/uapi/linux/shm.h, sem.h): lsipc
 * shows them too, and no sysctl changes them. */
#define KERNEL_SHMMIN 1u
#define KERNEL_SEMVMX 32767u

static const struct {
        const char *name, *rel;
        unsigned nth;
        enum limit_scope scope;
        bool has_used;
        uint64_t constant;
} limit_sources[_LIMIT_MAX] = {
        [LIMIT_MSGMNI] = { "msgmni", "sys/kernel/msgmni", 0, LIMIT_SCOPE_SYSTEM, true },
        [LIMIT_MSGMAX] = { "msgmax", "sys/kernel/msgmax", 0, LIMIT_SCOPE_OBJECT, false },
        [LIMIT_MSGMNB] = { "msgmnb", "sys/kernel/msgmnb", 0, LIMIT_SCOPE_OBJECT, true },
        [LIMIT_SHMMNI] = { "shmmni", "sys/kernel/shmmni", 0, LIMIT_SCOPE_SYSTEM, true },
        [LIMIT_SHMALL] = { "shmall", "sys/kernel/shmall", 0, LIMIT_SCOPE_SYSTEM, true },
        [LIMIT_SHMMAX] = { "shmmax", "sys/kernel/shmmax", 0, LIMIT_SCOPE_OBJECT, true },
        [LIMIT_SHMMIN] = { "shmmin", NULL, 0, LIMIT_SCOPE_OBJECT, false, KERNEL_SHMMIN },
        /* kernel.sem is "semmsl semmns semopm semmni" */
        [LIMIT_SEMMNI] = { "semmni", "sys/kernel/sem", 3, LIMIT_SCOPE_SYSTEM, true },
        [LIMIT_SEMMNS] = { "semmns", "sys/kernel/sem", 1, LIMIT_SCOPE_SYSTEM, true },
        [LIMIT_SEMMSL] = { "semmsl", "sys/kernel/sem", 0, LIMIT_SCOPE_OBJECT, true },
        [LIMIT_SEMOPM] = { "semopm", "sys/kernel/sem", 2, LIMIT_SCOPE_OBJECT, false },
        [LIMIT_SEMVMX] = { "semvmx", NULL, 0, LIMIT_SCOPE_OBJECT, false, KERNEL_SEMVMX },
        [LIMIT_MQ_QUEUES_MAX] = { "queues_max", "sys/fs/mqueue/queues_max", 0, LIMIT_SCOPE_SYSTEM, true },
        [LIMIT_MQ_MSG_MAX] = { "msg_max", "sys/fs/mqueue/msg_max", 0, LIMIT_SCOPE_OBJECT, true },
        [LIMIT_MQ_MSGSIZE_MAX] = { "msgsize_max", "sys/fs/mqueue/msgsize_max", 0, LIMIT_SCOPE_OBJECT, true },
};

static void use(struct audit *a, enum kernel_limit l, uint64_t v) {
        if (a->limits[l].scope == LIMIT_SCOPE_SYSTEM)
                a->limits[l].used += v;
        else if (v > a->limits[l].used)
                a->limits[l].used = v;
}

/* The SysV limits' use, from the kernel's tables: every object of the
 * namespace, whatever was scanned.  Parsed, not judged: no semctl. */
static int count_sysv(struct audit *a, const char *sysvipc) {
        static const enum ipc_type types[] = { IPC_TYPE_SHM, IPC_TYPE_MSG, IPC_TYPE_SEM };
        uint64_t page = (uint64_t) sysconf(_SC_PAGESIZE);

        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                _cleanup_(inventory_freep) struct inventory *inv = NULL;
                _cleanup_free_ char *path = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                int r;

                if (asprintf(&path, "%s/%s", sysvipc, ipc_type_to_string(types[t])) < 0)
                        return -ENOMEM;
                f = fopen(path, "re");
                if (!f) {
                        if (errno == ENOENT) /* a kernel without SysV IPC: nothing in use */
                                continue;
                        return negative_errno();
                }
                r = inventory_new(&inv);
                if (r < 0)
                        return r;
                r = sysv_parse(types[t], f, path, inv);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < inv->n_objects; i++) {
                        const struct ipc_object *o = &inv->objects[i];
                        switch (o->type) {
                        case IPC_TYPE_SHM:
                                use(a, LIMIT_SHMMNI, 1);
                                /* The kernel counts each segment's pages, rounded up. */
                                use(a, LIMIT_SHMALL, (o->size + page - 1) / page);
                                use(a, LIMIT_SHMMAX, o->size);
                                break;
                        case IPC_TYPE_MSG:
                                use(a, LIMIT_MSGMNI, 1);
                                use(a, LIMIT_MSGMNB, o->size);
                                break;
                        default:
                                use(a, LIMIT_SEMMNI, 1);
                                use(a, LIMIT_SEMMNS, o->nsems);
                                use(a, LIMIT_SEMMSL, o->nsems);
                                break;
                        }
                }
        }
        return 0;
}

static int charge_user(struct audit *a, size_t *n_alloc, uid_t uid, uint64_t bytes) {
        for (size_t i = 0; i < a->n_mq_users; i++)
                if (a->mq_users[i].uid == uid) {
                        a->mq_users[i].queues++;
                        a->mq_users[i].bytes += bytes;
                        return 0;
                }
        if (a->n_mq_users == *n_alloc) {
                size_t n = *n_alloc ? *n_alloc * 2 : 8;
                struct audit_mq_user *p = reallocarray(a->mq_users, n, sizeof(*p));
                if (!p)
                        return -ENOMEM;
                a->mq_users = p;
                *n_alloc = n;
        }
        a->mq_users[a->n_mq_users++] = (struct audit_mq_user){ .uid = uid, .queues = 1, .bytes = bytes };
        return 0;
}

/*
 * POSIX queues: how many, the largest maxmsg and msgsize, and each owner's
 * charge.  A queue file opened read-only is asked its attributes
 * (mq_getattr works on any fd of the mqueue file system), never read:
 * reading its status would move its atime.  The charge is the creator's
 * (its real uid at mq_open); the file's owner is that uid unless the queue
 * was chowned or made by a set-uid program, and is the one known.
 */
static int count_mqueue(struct audit *a, const char *dir) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t n_alloc = 0;
        DIR *d;
        int r = 0;

        if (dfd < 0)
                return errno == ENOENT ? 0 : negative_errno(); /* no mount: nothing counted */
        d = fdopendir(dfd);
        if (!d)
                return negative_errno();
        dfd = -EBADF; /* the DIR has it */
        for (struct dirent *de; r >= 0 && (errno = 0, de = readdir(d));) {
                struct mq_attr attr;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                _cleanup_close_ int fd =
                        openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || mq_getattr(fd, &attr) < 0 ||
                    attr.mq_maxmsg < 0 || attr.mq_msgsize < 0) {
                        /* Counted against queues_max all the same: it is there. */
                        use(a, LIMIT_MQ_QUEUES_MAX, 1);
                        a->mq_unread++;
                        continue;
                }
                use(a, LIMIT_MQ_QUEUES_MAX, 1);
                use(a, LIMIT_MQ_MSG_MAX, (uint64_t) attr.mq_maxmsg);
                use(a, LIMIT_MQ_MSGSIZE_MAX, (uint64_t) attr.mq_msgsize);
                r = charge_user(a, &n_alloc, st.st_uid,
                                audit_mq_charge((uint64_t) attr.mq_maxmsg, (uint64_t) attr.mq_msgsize));
        }
        if (r >= 0 && errno != 0)
                r = negative_errno();
        closedir(d);
        if (a->n_mq_users > 1)
                qsort(a->mq_users, a->n_mq_users, sizeof(*a->mq_users), cmp_mq_user);
        return r;
}

/* The soft limit in "Max msgqueue size  819200  819200  bytes". */
static int read_mq_rlimit(const char *proc_root, uint64_t *ret) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t cap = 0;

        if (asprintf(&path, "%s/1/limits", proc_root) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &cap, f) > 0) {
                const char *p = line;
                if (strncmp(p, "Max msgqueue size", 17) != 0)
                        continue;
                p += 17;
                while (*p == ' ')
                        p++;
                if (strncmp(p, "unlimited", 9) == 0) {
                        *ret = UINT64_MAX;
                        return 0;
                }
                char *end;
                errno = 0;
                unsigned long long v = strtoull(p, &end, 10);
                if (errno || end == p)
                        return -EBADMSG;
                *ret = v;
                return 0;
        }
        return -EBADMSG;
}

static int total_usage(struct audit *a, const struct inventory *inv, unsigned types) {
        size_t n_alloc = 0;

        for (size_t i = 0; inv && i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                struct audit_usage *u = NULL;

                if (types && !(types & IPC_TYPE_BIT(o->type)))
                        continue;
                /* Few users own IPC; a linear search per object is cheaper
                 * than a table until there are hundreds of them. */
                for (size_t j = 0; j < a->n_usage; j++)
                        if (a->usage[j].uid == o->uid && a->usage[j].type == o->type) {
                                u = &a->usage[j];
                                break;
                        }
                if (!u) {
                        if (a->n_usage == n_alloc) {
                                size_t n = n_alloc ? n_alloc * 2 : 16;
                                struct audit_usage *p = reallocarray(a->usage, n, sizeof(*p));
                                if (!p)
                                        return -ENOMEM;
                                a->usage = p;
                                n_alloc = n;
                        }
                        u = &a->usage[a->n_usage++];
                        *u = (struct audit_usage){ .uid = o->uid, .type = o->type };
                }
                u->count++;
                u->bytes += o->size;
                u->units += o->type == IPC_TYPE_SEM ? o->nsems : 1;
        }
        if (a->n_usage > 1)
                qsort(a->usage, a->n_usage, sizeof(*a->usage), cmp_usage);
        return 0;
}

int audit_build(const struct inventory *inv, unsigned types, const struct audit_sources *src, struct audit **ret) {
        _cleanup_(audit_freep) struct audit *a = calloc(1, sizeof(*a));
        const char *proc_root = src && src->proc_root ? src->proc_root : "/proc";
        int r;

        if (!a)
                return -ENOMEM;
        r = total_usage(a, inv, types);
        if (r < 0)
                return r;

        for (int l = 0; l < _LIMIT_MAX; l++) {
                struct audit_limit *lim = &a->limits[l];
                lim->name = limit_sources[l].name;
                lim->source = limit_sources[l].rel;
                lim->scope = limit_sources[l].scope;
                lim->has_used = limit_sources[l].has_used;
                if (lim->source)
                        lim->error = read_sys_number(proc_root, lim->source, limit_sources[l].nth, &lim->max);
                else
                        lim->max = limit_sources[l].constant;
        }
        r = count_sysv(a, src && src->sysvipc ? src->sysvipc : "/proc/sysvipc");
        if (r < 0)
                return r;
        r = count_mqueue(a, src && src->mqueue_dir ? src->mqueue_dir : "/dev/mqueue");
        if (r < 0)
                return r;
        a->mq_rlimit_error = read_mq_rlimit(proc_root, &a->mq_rlimit);
        /* The charges are rows per user, of mq: narrowed as the others. */
        if (types && !(types & IPC_TYPE_BIT(IPC_TYPE_MQ)))
                a->n_mq_users = 0;

        *ret = TAKE_PTR(a);
        return 0;
}
