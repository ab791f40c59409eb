/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "macro.h"
#include "nshelper.h"
#include "report.h"
#include "restore.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#define WIRE_MAGIC 0x69706367u /* "ipcg" */
/* What the pipe may claim, at most: a semaphore set's members (SEMMSL is
 * at most 32000), a string (a path, a reason), the warnings. */
#define WIRE_MAX_SEMS 65536u
#define WIRE_MAX_STRING 8192u
/* Members tried, in turn, to enter a namespace by. */
#define ENTER_TRIES 16u

/* What the parent opens before the fork: the child only uses them. */
struct entry {
        int ipc_fd;  /* the namespace's ns/ipc */
        int root_fd; /* a member's root (O_PATH), -1: none could be opened */
};

static void entry_done(struct entry *e) {
        if (e->ipc_fd >= 0)
                (void) close(e->ipc_fd);
        if (e->root_fd >= 0)
                (void) close(e->root_fd);
}

static bool still_member(const char *proc, pid_t pid, uint64_t ino) {
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%d/ns/ipc", proc, (int) pid);
        return stat(path, &st) == 0 && (uint64_t) st.st_ino == ino;
}

/* A member's ns/ipc, and its root, each checked to be the namespace's
 * after it was opened: a pid reused meanwhile opens someone else's. */
static int entry_open(const struct ipcns *ns, const struct collect_paths *paths, struct entry *ret) {
        const char *proc = paths->proc ? paths->proc : "/proc";
        char path[PATH_MAX];
        struct stat st;

        for (size_t i = 0; i < ns->n_members && i < ENTER_TRIES; i++) {
                pid_t pid = ns->members[i];
                snprintf(path, sizeof(path), "%s/%d/ns/ipc", proc, (int) pid);
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (fstat(fd, &st) < 0 || (uint64_t) st.st_ino != ns->ino) {
                        (void) close(fd);
                        continue;
                }
                snprintf(path, sizeof(path), "%s/%d/root", proc, (int) pid);
                int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root >= 0 && !still_member(proc, pid, ns->ino)) {
                        (void) close(root);
                        root = -1;
                }
                *ret = (struct entry) { .ipc_fd = fd, .root_fd = root };
                return 0;
        }
        return -ESRCH;
}

/* DIR (absolute, as configured) below the namespace's root ROOT_FD, each
 * component opened without following a symlink.  A symlink of a
 * container's, absolute, would be resolved against ipcgc's root, not the
 * container's: followed, it would lead ipcgc to list and remove files of
 * its own choosing.  An O_PATH fd of the directory, or a negative errno. */
static int open_beneath(int root_fd, const char *dir) {
        _cleanup_close_ int cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
        char comp[NAME_MAX + 1];

        if (cur < 0)
                return negative_errno();
        for (const char *p = dir;;) {
                p += strspn(p, "/");
                size_t n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, p, n);
                comp[n] = 0;
                p += n;
                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0)
                        return -EINVAL;
                int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                struct stat st;
                if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        (void) close(fd);
                        return -ELOOP; /* O_PATH opened the link itself */
                }
                (void) close(cur);
                cur = fd;
        }
        return TAKE_FD(cur);
}

/* FD, or -EMEDIUMTYPE (closing it) when it is no file system of MAGIC: a
 * container's FUSE mount there could stall the child at every lookup. */
static int of_type(int fd, unsigned long magic) {
        struct statfs sfs;
        if (fd < 0)
                return fd;
        if (fstatfs(fd, &sfs) == 0 && (unsigned long) sfs.f_type == magic)
                return fd;
        (void) close(fd);
        return -EMEDIUMTYPE;
}

/* Why open_beneath() or of_type() failed, in words. */
static const char *unreachable(int r) {
        return r == -ENOENT        ? "is not there"
               : r == -EMEDIUMTYPE ? "is not the file system it should be (tmpfs, mqueue)"
                                   : "cannot be reached without following a symlink";
}

/* Appends "; " and what FMT says to WARN (512 bytes). */
static void warn_add(char warn[512], const char *fmt, ...) _printf_(2, 3);
static void warn_add(char warn[512], const char *fmt, ...) {
        size_t n = strlen(warn);
        va_list ap;
        if (n && n + 2 < 512) {
                memcpy(warn + n, "; ", 3);
                n += 2;
        }
        va_start(ap, fmt);
        (void) vsnprintf(warn + n, 512 - n, fmt, ap);
        va_end(ap);
}

static bool same_fs(const char *a, const char *b) {
        struct stat sa, sb;
        return b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev;
}

/* SCAN as the namespace shows it, reached through ROOT_FD (the child's
 * fd), in the buffers given; what cannot be collected there is said in
 * WARN (one line, or empty).  The same for the collection and the reap, so
 * that the reap reaches the objects where the collection found them. */
static void scan_inside(const struct scan_config *scan, int root_fd, struct scan_config *ret, char shm[PATH_MAX],
                        char mq[PATH_MAX], char warn[512], unsigned *ret_unavailable) {
        const unsigned posix = IPC_TYPE_BIT(IPC_TYPE_PSHM) | IPC_TYPE_BIT(IPC_TYPE_PSEM);

        *ret = *scan;
        warn[0] = 0;
        *ret_unavailable = 0;
        /* FIFOs live in filesystems, not in an IPC namespace. */
        ret->types &= ~IPC_TYPE_BIT(IPC_TYPE_FIFO);
        ret->n_fifo_dirs = 0;
        if (root_fd < 0) {
                /* Not seen, so nothing is concluded from their absence. */
                *ret_unavailable = ret->types & ~IPC_TYPE_MASK_SYSV;
                ret->types &= IPC_TYPE_MASK_SYSV;
                warn_add(warn, "no member's root could be opened: its POSIX objects are not collected");
                return;
        }
        const char *shm_dir = scan->shm_dir ? scan->shm_dir : "/dev/shm";
        const char *mq_dir = scan->mqueue_dir ? scan->mqueue_dir : "/dev/mqueue";
        /* Reached as the directory itself, opened below the root: the
         * collectors and reap() open "/proc/self/fd/FD/." and names in it.
         * The fds live as long as this child. */
        int sfd = (ret->types & posix) ? of_type(open_beneath(root_fd, shm_dir), TMPFS_MAGIC) : -EBADF;
        int qfd = (ret->types & IPC_TYPE_BIT(IPC_TYPE_MQ)) ? of_type(open_beneath(root_fd, mq_dir), MQUEUE_MAGIC)
                                                           : -EBADF;
        snprintf(shm, PATH_MAX, "/proc/self/fd/%d/.", sfd);
        snprintf(mq, PATH_MAX, "/proc/self/fd/%d/.", qfd);
        ret->shm_dir = shm;
        ret->mqueue_dir = mq;
        if ((ret->types & posix) && sfd < 0) {
                *ret_unavailable |= ret->types & posix;
                ret->types &= ~posix;
                warn_add(warn, "its %s %s (%s): those objects are not collected", shm_dir, unreachable(sfd),
                         strerror(-sfd));
        } else if ((ret->types & posix) && same_fs(shm, scan->shm_dir)) {
                ret->types &= ~posix;
                warn_add(warn, "its %s is ipcgc's own: its files are judged there", shm_dir);
        }
        if ((ret->types & IPC_TYPE_BIT(IPC_TYPE_MQ)) && qfd < 0) {
                *ret_unavailable |= IPC_TYPE_BIT(IPC_TYPE_MQ);
                ret->types &= ~IPC_TYPE_BIT(IPC_TYPE_MQ);
                warn_add(warn, "its %s %s (%s): those objects are not collected", mq_dir, unreachable(qfd),
                         strerror(-qfd));
        } else if ((ret->types & IPC_TYPE_BIT(IPC_TYPE_MQ)) && same_fs(mq, scan->mqueue_dir)) {
                ret->types &= ~IPC_TYPE_BIT(IPC_TYPE_MQ);
                warn_add(warn, "its %s is ipcgc's own: its queues are judged there", mq_dir);
        }
}

/* The writer's side: a FILE over the pipe; errors are seen at the end. */
static void put(FILE *f, const void *p, size_t n) {
        if (n)
                (void) fwrite(p, 1, n, f);
}

static void put_u32(FILE *f, uint32_t v) {
        put(f, &v, sizeof(v));
}

static void put_str(FILE *f, const char *s) {
        size_t n = s ? strlen(s) : 0;
        if (n > WIRE_MAX_STRING)
                n = WIRE_MAX_STRING; /* a reason cut short, never a refused frame */
        put_u32(f, s ? (uint32_t) n : UINT32_MAX);
        put(f, s, n);
}

static int get(FILE *f, void *p, size_t n) {
        return n == 0 || fread(p, 1, n, f) == n ? 0 : -EBADMSG;
}

static int get_u32(FILE *f, uint32_t *v) {
        return get(f, v, sizeof(*v));
}

static int get_str(FILE *f, char **ret) {
        uint32_t n;
        int r = get_u32(f, &n);
        if (r < 0)
                return r;
        *ret = NULL;
        if (n == UINT32_MAX)
                return 0;
        if (n > WIRE_MAX_STRING)
                return -EBADMSG;
        char *s = malloc((size_t) n + 1);
        if (!s)
                return -ENOMEM;
        r = get(f, s, n);
        if (r < 0 || memchr(s, 0, n)) {
                free(s);
                return -EBADMSG;
        }
        s[n] = 0;
        *ret = s;
        return 0;
}

static void put_inventory(FILE *f, const struct inventory *inv) {
        put_u32(f, WIRE_MAGIC);
        put(f, &inv->n_objects, sizeof(inv->n_objects));
        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                put(f, o, sizeof(*o)); /* its pointers are dropped at the other end */
                put_str(f, o->name);
                uint32_t n = o->type == IPC_TYPE_SEM && o->sems ? o->nsems : 0;
                put_u32(f, n);
                put(f, o->sems, n * sizeof(*o->sems));
        }
        put(f, &inv->n_warnings, sizeof(inv->n_warnings));
        for (size_t i = 0; i < inv->n_warnings; i++)
                put_str(f, inv->warnings[i]);
        put(f, &inv->unavailable, sizeof(inv->unavailable));
        put(f, &inv->truncated, sizeof(inv->truncated));
        put(f, inv->n_left_out, sizeof(inv->n_left_out));
        put(f, &inv->n_over_max, sizeof(inv->n_over_max));
        put(f, &inv->max_objects, sizeof(inv->max_objects));
        put_u32(f, WIRE_MAGIC);
}

static int get_inventory(FILE *f, size_t max_objects, struct inventory **ret) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        uint32_t magic, n_sems;
        size_t n, n_warn;
        int r;

        r = inventory_new(&inv);
        if (r < 0)
                return r;
        if (get_u32(f, &magic) < 0 || magic != WIRE_MAGIC || get(f, &n, sizeof(n)) < 0 || n > max_objects)
                return -EBADMSG;
        /* Room for what is claimed, up to a first share: a count is
         * believed only as far as objects follow it. */
        r = inventory_reserve(inv, n < 65536 ? n : 65536);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct ipc_object o;
                if (get(f, &o, sizeof(o)) < 0 || (unsigned) o.type >= _IPC_TYPE_MAX)
                        return -EBADMSG;
                o.name = NULL;
                o.sems = NULL;
                o.holders = NULL;
                o.n_holders = 0;
                o.flags &= ~IPC_OBJECT_SEMS_LENT; /* the child's copy: its own now */
                struct ipc_object *slot = inventory_append(inv, o.type);
                if (!slot)
                        return errno == E2BIG ? -EBADMSG : -ENOMEM;
                *slot = o;
                r = get_str(f, &slot->name);
                if (r < 0)
                        return r;
                if ((slot->name == NULL) != ipc_type_is_sysv(slot->type) || get_u32(f, &n_sems) < 0 ||
                    n_sems > WIRE_MAX_SEMS || (n_sems && (slot->type != IPC_TYPE_SEM || n_sems != slot->nsems)))
                        return -EBADMSG;
                if (n_sems) {
                        slot->sems = calloc(n_sems, sizeof(*slot->sems));
                        if (!slot->sems)
                                return -ENOMEM;
                        if (get(f, slot->sems, n_sems * sizeof(*slot->sems)) < 0)
                                return -EBADMSG;
                }
        }
        if (get(f, &n_warn, sizeof(n_warn)) < 0 || n_warn > INVENTORY_MAX_WARNINGS)
                return -EBADMSG;
        for (size_t i = 0; i < n_warn; i++) {
                _cleanup_free_ char *w = NULL;
                r = get_str(f, &w);
                if (r < 0)
                        return r;
                if (w && (r = inventory_warn(inv, "%s", w)) < 0)
                        return r;
        }
        if (get(f, &inv->unavailable, sizeof(inv->unavailable)) < 0 ||
            get(f, &inv->truncated, sizeof(inv->truncated)) < 0 ||
            get(f, inv->n_left_out, sizeof(inv->n_left_out)) < 0 ||
            get(f, &inv->n_over_max, sizeof(inv->n_over_max)) < 0 ||
            get(f, &inv->max_objects, sizeof(inv->max_objects)) < 0 || get_u32(f, &magic) < 0 || magic != WIRE_MAGIC)
                return -EBADMSG;
        inv->unavailable &= IPC_TYPE_MASK_ALL;
        inv->truncated &= IPC_TYPE_MASK_ALL;
        *ret = TAKE_PTR(inv);
        return 0;
}

static void put_result(FILE *f, const struct reap_result *res) {
        put_u32(f, WIRE_MAGIC);
        put(f, &res->n_records, sizeof(res->n_records));
        for (size_t i = 0; i < res->n_records; i++) {
                const struct reap_record *rec = &res->records[i];
                put(f, rec, sizeof(*rec));
                put_str(f, rec->id);
                put_str(f, rec->reason);
                put_str(f, rec->rule);
                put_str(f, rec->archive);
        }
        put(f, &res->removed, sizeof(res->removed));
        put(f, &res->would_remove, sizeof(res->would_remove));
        put(f, &res->skipped, sizeof(res->skipped));
        put(f, &res->failed, sizeof(res->failed));
        uint8_t stopped = res->stopped;
        put(f, &stopped, sizeof(stopped));
        put(f, res->judged, sizeof(res->judged));
        put(f, &res->not_tried, sizeof(res->not_tried));
        put_u32(f, WIRE_MAGIC);
}

static int get_result(FILE *f, size_t n_objects, struct reap_result **ret) {
        _cleanup_(reap_result_freep) struct reap_result *res = calloc(1, sizeof(*res));
        uint32_t magic;
        uint8_t stopped;
        size_t n;
        int r;

        if (!res)
                return -ENOMEM;
        /* A record per object at most, and the one that says it stopped. */
        if (get_u32(f, &magic) < 0 || magic != WIRE_MAGIC || get(f, &n, sizeof(n)) < 0 || n > n_objects + 1)
                return -EBADMSG;
        res->records = calloc(n ? n : 1, sizeof(*res->records));
        if (!res->records)
                return -ENOMEM;
        res->n_allocated = n ? n : 1;
        for (size_t i = 0; i < n; i++) {
                struct reap_record *rec = &res->records[i];
                if (get(f, rec, sizeof(*rec)) < 0)
                        return -EBADMSG;
                rec->id = rec->reason = rec->rule = rec->archive = NULL;
                res->n_records++; /* freed from here on */
                if ((r = get_str(f, &rec->id)) < 0 || (r = get_str(f, &rec->reason)) < 0 ||
                    (r = get_str(f, &rec->rule)) < 0 || (r = get_str(f, &rec->archive)) < 0)
                        return r;
                if ((unsigned) rec->action >= _REAP_ACTION_MAX || (unsigned) rec->verdict >= _VERDICT_MAX ||
                    (unsigned) rec->type >= _IPC_TYPE_MAX || (rec->index >= n_objects && rec->index != SIZE_MAX))
                        return -EBADMSG;
        }
        if (get(f, &res->removed, sizeof(res->removed)) < 0 ||
            get(f, &res->would_remove, sizeof(res->would_remove)) < 0 ||
            get(f, &res->skipped, sizeof(res->skipped)) < 0 || get(f, &res->failed, sizeof(res->failed)) < 0 ||
            get(f, &stopped, sizeof(stopped)) < 0 || get(f, res->judged, sizeof(res->judged)) < 0 ||
            get(f, &res->not_tried, sizeof(res->not_tried)) < 0 || get_u32(f, &magic) < 0 || magic != WIRE_MAGIC)
                return -EBADMSG;
        res->stopped = stopped != 0;
        *ret = TAKE_PTR(res);
        return 0;
}

/* What a child is asked to do, in the namespace it entered. */
struct job {
        const struct scan_config *scan; /* as the caller has it; scan_inside() maps it */
        const struct collect_paths *paths;
        /* a reap: */
        const struct inventory *inv;
        const struct judgement *js;
        const struct reap_options *opt;
        /* a restore: */
        const char *archive_dir, *entry;
        uint64_t ipcns;
        /* an audit (of inv): */
        bool audit;
        unsigned audit_types;
};

/* An audit's JSON, at most this long: its rows are per user and type. */
#define WIRE_MAX_AUDIT (4u << 20)

static void put_text(FILE *f, const char *s) {
        uint64_t n = strlen(s);
        put(f, &n, sizeof(n));
        put(f, s, n);
}

static int get_audit(FILE *f, size_t bound, void **ret) {
        uint64_t n;
        (void) bound;
        if (get(f, &n, sizeof(n)) < 0 || n > WIRE_MAX_AUDIT)
                return -EBADMSG;
        _cleanup_free_ char *s = malloc(n + 1);
        if (!s)
                return -ENOMEM;
        if (get(f, s, n) < 0 || memchr(s, 0, n))
                return -EBADMSG;
        s[n] = 0;
        json_object *j = json_tokener_parse(s);
        if (!j || !json_object_is_type(j, json_type_object)) {
                json_object_put(j);
                return -EBADMSG;
        }
        *ret = j;
        return 0;
}

static void drop_audit(void *p) {
        json_object_put(p);
}

/* What a restore sends back: its return and its result. */
static void put_restore(FILE *f, int32_t r, const struct restore_result *res) {
        put_u32(f, WIRE_MAGIC);
        put(f, &r, sizeof(r));
        put(f, res, sizeof(*res)); /* its two pointers dropped at the other end */
        put_str(f, res->id);
        put_str(f, res->old_id);
        put_u32(f, WIRE_MAGIC);
}

struct restore_back {
        int32_t r;
        struct restore_result res;
};

static int get_restore(FILE *f, size_t bound, void **ret) {
        _cleanup_free_ struct restore_back *b = calloc(1, sizeof(*b));
        uint32_t magic;
        int r;

        (void) bound;
        if (!b)
                return -ENOMEM;
        if (get_u32(f, &magic) < 0 || magic != WIRE_MAGIC || get(f, &b->r, sizeof(b->r)) < 0 ||
            get(f, &b->res, sizeof(b->res)) < 0)
                return -EBADMSG;
        b->res.id = b->res.old_id = NULL;
        if ((r = get_str(f, &b->res.id)) < 0 || (r = get_str(f, &b->res.old_id)) < 0 || get_u32(f, &magic) < 0 ||
            magic != WIRE_MAGIC || b->r > 0 || (unsigned) b->res.type >= _IPC_TYPE_MAX ||
            (unsigned) b->res.step > RESTORE_STEP_CREATE || !memchr(b->res.note, 0, sizeof(b->res.note)) ||
            !memchr(b->res.holder, 0, sizeof(b->res.holder))) {
                restore_result_done(&b->res);
                return r < 0 ? r : -EBADMSG;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

static void drop_restore(void *p) {
        struct restore_back *b = p;
        if (b)
                restore_result_done(&b->res);
        free(b);
}

static int child_work(const struct job *job, const struct entry *en, FILE *out) {
        char shm[PATH_MAX], mq[PATH_MAX], warn[512];
        struct scan_config scan;
        struct collect_paths paths = *job->paths;
        unsigned unavailable;
        int32_t status = 0;
        int r;

        if (setns(en->ipc_fd, CLONE_NEWIPC) < 0)
                return negative_errno();
        paths.inside = true;
        scan_inside(job->scan, en->root_fd, &scan, shm, mq, warn, &unavailable);

        if (job->audit) {
                _cleanup_(audit_freep) struct audit *a = NULL;
                json_object *j = NULL;
                /* The kernel's tables and sysctls show the reader's
                 * namespace: this one's.  Its mqueue as collected. */
                const struct audit_sources src = {
                        .proc_root = "/proc",
                        .sysvipc = "/proc/sysvipc",
                        /* Without an mqueue of its own reached (NULL would
                         * be ipcgc's /dev/mqueue): a path to no directory,
                         * which counts nothing. */
                        .mqueue_dir = (scan.types & IPC_TYPE_BIT(IPC_TYPE_MQ)) ? scan.mqueue_dir : "/proc/self/fd/-1",
                };
                r = audit_build(job->inv, job->audit_types, &src, &a);
                if (r >= 0)
                        r = report_audit(a, &j);
                if (r < 0)
                        return r;
                const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
                if (text) {
                        put(out, &status, sizeof(status));
                        put_text(out, text);
                }
                json_object_put(j);
                if (!text)
                        return -ENOMEM;
        } else if (job->entry) {
                struct restore_result res = {};
                r = restore_entry_in(&scan, job->archive_dir, job->entry, job->ipcns, &res);
                put(out, &status, sizeof(status));
                put_restore(out, r, &res);
                restore_result_done(&res);
        } else if (!job->opt) {
                _cleanup_(inventory_freep) struct inventory *inv = NULL;
                r = collect_inventory(&scan, &paths, NULL, &inv);
                if (r < 0)
                        return r;
                if (warn[0] && (r = inventory_warn(inv, "%s", warn)) < 0)
                        return r;
                inv->unavailable |= unavailable;
                put(out, &status, sizeof(status));
                put_inventory(out, inv);
        } else {
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct reap_options opt = *job->opt;
                opt.scan = &scan;
                opt.paths = &paths;
                r = reap(job->inv, job->js, &opt, &res);
                if (r < 0)
                        return r;
                put(out, &status, sizeof(status));
                put_result(out, res);
        }
        return 0;
}

/* How long a child may take before what it sends has all come: one
 * stalled (a lookup in a container's FUSE mount, a kernel wait) is killed
 * rather than waited for forever.  A reap killed midway leaves what a
 * crash of reap() leaves; its archive archives first and a file in
 * quarantine is said to be there. */
#define COLLECT_TIMEOUT_USEC (120ull * 1000000)
#define REAP_TIMEOUT_USEC (600ull * 1000000)

/* The pipe as a FILE whose reads give up at a deadline. */
struct reader {
        int fd;
        uint64_t deadline_usec;
        bool timed_out;
};

static ssize_t reader_read(void *cookie, char *buf, size_t size) {
        struct reader *rd = cookie;
        for (;;) {
                uint64_t now = monotonic_usec();
                if (now >= rd->deadline_usec) {
                        rd->timed_out = true;
                        errno = ETIMEDOUT;
                        return -1;
                }
                struct pollfd p = { .fd = rd->fd, .events = POLLIN };
                int k = poll(&p, 1, (int) ((rd->deadline_usec - now + 999) / 1000));
                if (k < 0 && errno != EINTR)
                        return -1;
                if (k <= 0)
                        continue; /* the deadline is looked at again */
                ssize_t n = read(rd->fd, buf, size);
                if (n < 0 && errno == EINTR)
                        continue;
                return n;
        }
}

static int reader_close(void *cookie) {
        struct reader *rd = cookie;
        return close(rd->fd);
}

/* Forks a child that enters NS and does JOB; reads what it sends with
 * READ_BACK (BOUND bounds it), which DROP frees if the child fails after
 * all.  The child is always waited for. */
static int run(const struct ipcns *ns, const struct job *job, size_t bound,
               int (*read_back)(FILE *f, size_t bound, void **ret), void (*drop)(void *p), void **ret) {
        struct reader rd = { .fd = -1 };
        struct entry en;
        int pfd[2], r;

        r = entry_open(ns, job->paths, &en);
        if (r < 0)
                return r;
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                r = negative_errno();
                entry_done(&en);
                return r;
        }
        /* Nothing buffered is written twice, by the child as well. */
        (void) fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                r = negative_errno();
                (void) close(pfd[0]);
                (void) close(pfd[1]);
                entry_done(&en);
                return r;
        }
        if (pid == 0) {
                (void) close(pfd[0]);
                FILE *out = fdopen(pfd[1], "w");
                if (!out)
                        _exit(2);
                int k = child_work(job, &en, out);
                if (k < 0) {
                        int32_t status = k;
                        put(out, &status, sizeof(status));
                }
                _exit(fclose(out) == 0 && k >= 0 ? 0 : 1);
        }
        (void) close(pfd[1]);
        entry_done(&en);

        rd = (struct reader) { .fd = pfd[0],
                              .deadline_usec =
                                      monotonic_usec() + (job->opt || job->entry ? REAP_TIMEOUT_USEC : COLLECT_TIMEOUT_USEC) };
        FILE *in = fopencookie(&rd, "r", (cookie_io_functions_t) { .read = reader_read, .close = reader_close });
        int32_t status = -EBADMSG;
        if (!in) {
                r = negative_errno();
                (void) close(pfd[0]);
        } else {
                r = get(in, &status, sizeof(status));
                if (r >= 0 && status < 0)
                        r = status;
                else if (r >= 0)
                        r = read_back(in, bound, ret);
                (void) fclose(in);
                if (r < 0 && rd.timed_out)
                        r = -ETIMEDOUT;
        }
        int ws;
        if (r < 0)
                (void) kill(pid, SIGKILL); /* ours, by its pid: a child stuck writing a frame we refused */
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
                ;
        if (r >= 0 && (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)) {
                r = -EPROTO; /* it sent all, then failed: trust none of it */
                drop(*ret);
                *ret = NULL;
        }
        return r;
}

static int read_inventory(FILE *f, size_t bound, void **ret) {
        struct inventory *inv = NULL;
        int r = get_inventory(f, bound, &inv);
        if (r >= 0)
                *ret = inv;
        return r;
}

static void drop_inventory(void *p) {
        inventory_free(p);
}

static void drop_result(void *p) {
        reap_result_free(p);
}

static int read_result(FILE *f, size_t bound, void **ret) {
        struct reap_result *res = NULL;
        int r = get_result(f, bound, &res);
        if (r >= 0)
                *ret = res;
        return r;
}

int nshelper_collect(const struct ipcns *ns, const struct scan_config *scan, const struct collect_paths *paths,
                     struct inventory **ret) {
        const struct job job = { .scan = scan, .paths = paths };
        size_t bound = scan->max_objects && scan->max_objects < INVENTORY_MAX_OBJECTS ? scan->max_objects
                                                                                      : INVENTORY_MAX_OBJECTS;
        void *inv = NULL;
        int r = run(ns, &job, bound, read_inventory, drop_inventory, &inv);
        if (r < 0)
                return r;
        *ret = inv;
        return 0;
}

int nshelper_audit(const struct ipcns *ns, const struct inventory *inv, unsigned types, const struct scan_config *scan,
                   const struct collect_paths *paths, json_object **ret) {
        const struct job job = { .scan = scan, .paths = paths, .inv = inv, .audit = true, .audit_types = types };
        void *j = NULL;
        int r = run(ns, &job, 0, get_audit, drop_audit, &j);
        if (r < 0)
                return r;
        *ret = j;
        return 0;
}

int nshelper_restore(const struct ipcns *ns, const struct scan_config *scan, const struct collect_paths *paths,
                     const char *archive_dir, const char *entry, struct restore_result *ret) {
        const struct job job = { .scan = scan, .paths = paths, .archive_dir = archive_dir, .entry = entry, .ipcns = ns->ino };
        void *back = NULL;
        int r = run(ns, &job, 0, get_restore, drop_restore, &back);
        if (r < 0)
                return r;
        struct restore_back *b = back;
        *ret = b->res;
        r = b->r;
        free(b);
        return r;
}

int nshelper_reap(const struct inventory *inv, const struct judgement *js, const struct reap_options *opt,
                  struct reap_result **ret) {
        const struct job job = { .scan = opt->scan, .paths = opt->paths, .inv = inv, .js = js, .opt = opt };
        void *res = NULL;
        int r = run(opt->paths->ns, &job, inv->n_objects, read_result, drop_result, &res);
        if (r < 0)
                return r;
        *ret = res;
        return 0;
}
