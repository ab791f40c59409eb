/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "sysv.h"

#define MAX_FIELDS 20
/* Real lines are under 200 bytes; anything longer is not kernel output. */
#define MAX_LINE 1024

/* Digits only, in BASE (8 or 10), no sign, no overflow.  By hand: with
 * twenty thousand lines of fifteen fields, strtoull was a fifth of a sweep's
 * own work. */
static int parse_u64(const char *s, unsigned base, uint64_t *ret) {
        uint64_t v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                unsigned d = (unsigned) (*s - '0');
                if (d >= base || v > (UINT64_MAX - d) / base)
                        return -EINVAL;
                v = v * base + d;
        }
        *ret = v;
        return 0;
}

static int parse_key(const char *s, int32_t *ret) {
        bool neg = *s == '-';
        uint64_t v;

        if (parse_u64(s + neg, 10, &v) < 0)
                return -EINVAL;
        /* Signed is what the kernel prints; an unsigned rendering of the same
         * 32 bits is accepted too. */
        if (neg ? v > (uint64_t) INT32_MAX + 1 : v > UINT32_MAX)
                return -EINVAL;
        *ret = neg ? (int32_t) (-(int64_t) v) : (int32_t) (uint32_t) v;
        return 0;
}

static int parse_id(const char *s, int *ret) {
        uint64_t v;
        if (parse_u64(s, 10, &v) < 0 || v > INT_MAX)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

static int parse_pid(const char *s, pid_t *ret) {
        uint64_t v;
        if (parse_u64(s, 10, &v) < 0 || v > INT_MAX)
                return -EINVAL;
        *ret = (pid_t) v;
        return 0;
}

static int parse_uid(const char *s, uint32_t *ret) {
        uint64_t v;
        if (parse_u64(s, 10, &v) < 0 || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static int parse_time(const char *s, time_t *ret) {
        uint64_t v;
        if (parse_u64(s, 10, &v) < 0 || v > INT64_MAX)
                return -EINVAL;
        *ret = (time_t) v;
        return 0;
}

static int parse_mode(const char *s, mode_t *ret) {
        uint64_t v;
        if (parse_u64(s, 8, &v) < 0 || v > 07777)
                return -EINVAL;
        *ret = (mode_t) v;
        return 0;
}

/* Columns, as named in the header line of each file. */
enum { F_KEY, F_ID, F_PERMS };

static int fill_shm(struct ipc_object *o, char **f, size_t n) {
        /* key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime [rss swap] */
        if (n != 14 && n != 16)
                return -EBADMSG;
        if (parse_key(f[F_KEY], &o->key) < 0 || parse_id(f[F_ID], &o->id) < 0 ||
            parse_mode(f[F_PERMS], &o->mode) < 0 || parse_u64(f[3], 10, &o->size) < 0 ||
            parse_pid(f[4], &o->cpid) < 0 || parse_pid(f[5], &o->lpid) < 0 ||
            parse_u64(f[6], 10, &o->nattch) < 0 || parse_uid(f[7], &o->uid) < 0 ||
            parse_uid(f[8], &o->gid) < 0 || parse_uid(f[9], &o->cuid) < 0 || parse_uid(f[10], &o->cgid) < 0 ||
            parse_time(f[11], &o->atime) < 0 || parse_time(f[12], &o->dtime) < 0 ||
            parse_time(f[13], &o->ctime) < 0)
                return -EINVAL;
        if (n == 16) {
                uint64_t dummy;
                if (parse_u64(f[14], 10, &dummy) < 0 || parse_u64(f[15], 10, &dummy) < 0)
                        return -EINVAL;
        }
        return 0;
}

static int fill_msg(struct ipc_object *o, char **f, size_t n) {
        /* key msqid perms cbytes qnum lspid lrpid uid gid cuid cgid stime rtime ctime */
        if (n != 14)
                return -EBADMSG;
        if (parse_key(f[F_KEY], &o->key) < 0 || parse_id(f[F_ID], &o->id) < 0 ||
            parse_mode(f[F_PERMS], &o->mode) < 0 || parse_u64(f[3], 10, &o->size) < 0 ||
            parse_u64(f[4], 10, &o->qnum) < 0 || parse_pid(f[5], &o->lpid) < 0 ||
            parse_pid(f[6], &o->lrpid) < 0 || parse_uid(f[7], &o->uid) < 0 || parse_uid(f[8], &o->gid) < 0 ||
            parse_uid(f[9], &o->cuid) < 0 || parse_uid(f[10], &o->cgid) < 0 ||
            parse_time(f[11], &o->mtime) < 0 || parse_time(f[12], &o->atime) < 0 ||
            parse_time(f[13], &o->ctime) < 0)
                return -EINVAL;
        return 0;
}

static int fill_sem(struct ipc_object *o, char **f, size_t n) {
        /* key semid perms nsems uid gid cuid cgid otime ctime */
        uint64_t nsems;

        if (n != 10)
                return -EBADMSG;
        if (parse_key(f[F_KEY], &o->key) < 0 || parse_id(f[F_ID], &o->id) < 0 ||
            parse_mode(f[F_PERMS], &o->mode) < 0 || parse_u64(f[3], 10, &nsems) < 0 || nsems > 65535 ||
            parse_uid(f[4], &o->uid) < 0 || parse_uid(f[5], &o->gid) < 0 || parse_uid(f[6], &o->cuid) < 0 ||
            parse_uid(f[7], &o->cgid) < 0 || parse_time(f[8], &o->mtime) < 0 ||
            parse_time(f[9], &o->ctime) < 0)
                return -EINVAL;
        o->nsems = (unsigned) nsems;
        return 0;
}

static const char *expected_fields(enum ipc_type type) {
        return type == IPC_TYPE_SHM ? "16 or 14" : type == IPC_TYPE_MSG ? "14" : "10";
}

int sysv_parse(enum ipc_type type, FILE *f, const char *label, struct inventory *inv) {
        unsigned lineno = 0;
        int r;

        if (!ipc_type_is_sysv(type))
                return -EINVAL;

        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t len;

        while ((len = getline(&line, &cap, f)) >= 0) {
                char *fields[MAX_FIELDS];
                size_t n = 0;
                char *save = NULL;

                lineno++;

                const char *problem = NULL;
                if (len == 0 || line[len - 1] != '\n')
                        problem = "truncated line (no newline)";
                else if ((size_t) len > MAX_LINE)
                        problem = "line too long";
                else if (memchr(line, 0, (size_t) len))
                        problem = "NUL byte in line";
                if (problem) {
                        r = inventory_warn(inv, "%s:%u: %s, skipped", label, lineno, problem);
                        if (r < 0)
                                return r;
                        continue;
                }
                line[len - 1] = 0;

                for (char *tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                        if (n == MAX_FIELDS) {
                                n++; /* mark "too many" */
                                break;
                        }
                        fields[n++] = tok;
                }

                if (n == 0)
                        continue; /* blank line */
                if (lineno == 1 && strcmp(fields[0], "key") == 0)
                        continue; /* header */

                struct ipc_object *o = inventory_append(inv, type);
                if (!o)
                        return negative_errno();

                r = type == IPC_TYPE_SHM   ? fill_shm(o, fields, n)
                    : type == IPC_TYPE_MSG ? fill_msg(o, fields, n)
                                           : fill_sem(o, fields, n);
                if (r < 0) {
                        inventory_drop_last(inv);
                        if (r == -EBADMSG)
                                r = inventory_warn(inv, "%s:%u: expected %s fields, got %zu, skipped", label,
                                                   lineno, expected_fields(type), n);
                        else
                                r = inventory_warn(inv, "%s:%u: malformed field, skipped", label, lineno);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (type == IPC_TYPE_SEM)
                        o->cpid = o->lpid = PID_NONE; /* sem keeps no pids in the set */
        }

        if (ferror(f))
                return -EIO;
        return 0;
}

int sysv_sem_read_members(struct ipc_object *o) {
        struct sem_member *m;

        if (o->type != IPC_TYPE_SEM)
                return -EINVAL;
        if (o->nsems == 0)
                return 0;

        /* No IPC_STAT here: an id names the same set until it has been freed
         * and its slot reused some 65536 times over, and a set gone since the
         * listing answers EINVAL below.  Removal re-reads the set with
         * IPC_STAT (sysv_stat) and compares key and ctime before acting. */
        m = calloc(o->nsems, sizeof(*m));
        if (!m)
                return -ENOMEM;

        for (unsigned i = 0; i < o->nsems; i++) {
                int pid, ncnt, zcnt;

                pid = semctl(o->id, (int) i, GETPID);
                if (pid >= 0)
                        ncnt = semctl(o->id, (int) i, GETNCNT);
                if (pid >= 0 && ncnt >= 0)
                        zcnt = semctl(o->id, (int) i, GETZCNT);
                if (pid < 0 || ncnt < 0 || zcnt < 0) {
                        int r = negative_errno();
                        free(m);
                        /* EINVAL: the id is gone or the set shrank under us. */
                        return r == -EINVAL ? -EIDRM : r;
                }
                m[i] = (struct sem_member) { .pid = pid, .ncnt = (unsigned) ncnt, .zcnt = (unsigned) zcnt };
        }

        free(o->sems);
        o->sems = m;
        return 0;
}

int sysv_sem_read_state(const struct ipc_object *o, unsigned n, struct sem_state *ret) {
        if (o->type != IPC_TYPE_SEM || n > o->nsems)
                return -EINVAL;
        for (unsigned i = 0; i < n; i++) {
                int v = semctl(o->id, (int) i, GETVAL), pid = -1, ncnt = -1, zcnt = -1;
                if (v >= 0)
                        pid = semctl(o->id, (int) i, GETPID);
                if (pid >= 0)
                        ncnt = semctl(o->id, (int) i, GETNCNT);
                if (ncnt >= 0)
                        zcnt = semctl(o->id, (int) i, GETZCNT);
                if (zcnt < 0) {
                        int r = negative_errno();
                        return r == -EINVAL ? -EIDRM : r;
                }
                ret[i] = (struct sem_state) { .value = v, .pid = pid, .ncnt = ncnt, .zcnt = zcnt };
        }
        return 0;
}

static const char *sysv_file(enum ipc_type type) {
        return type == IPC_TYPE_SHM ? "shm" : type == IPC_TYPE_MSG ? "msg" : "sem";
}

static const char *stat_any_name(enum ipc_type type) {
        return type == IPC_TYPE_SHM ? "SHM_STAT_ANY" : type == IPC_TYPE_MSG ? "MSG_STAT_ANY" : "SEM_STAT_ANY";
}

/* An unchanged set (key, ctime, otime, size) has the same last-op pids:
 * only semop(2) and SETVAL/SETALL record one, and they move otime or ctime.
 * Its waiter counts can change without either, so those are read again,
 * unless the caller vouches for them (inventory_index_lend_sem_counts). */
static bool sem_reuse(const struct inventory_index *prev, struct ipc_object *o) {
        const struct ipc_object *p = inventory_index_find(prev, o);

        if (!p || !p->sems || (p->flags & IPC_OBJECT_SEM_UNREADABLE) || p->key != o->key || p->ctime != o->ctime ||
            p->mtime != o->mtime || p->nsems != o->nsems)
                return false;
        if (inventory_index_lends_sem_counts(prev)) {
                /* The caller compares and lets go before the earlier
                 * inventory goes: no copy of every set's members. */
                o->sems = p->sems;
                o->flags |= IPC_OBJECT_SEMS_LENT;
                return true;
        }
        struct sem_member *m = malloc(o->nsems * sizeof(*m));
        if (!m)
                return false;
        for (unsigned i = 0; i < o->nsems; i++) {
                int ncnt = semctl(o->id, (int) i, GETNCNT), zcnt = ncnt < 0 ? -1 : semctl(o->id, (int) i, GETZCNT);
                if (ncnt < 0 || zcnt < 0) {
                        free(m);
                        return false; /* let the full read say why */
                }
                m[i] = (struct sem_member) { .pid = p->sems[i].pid, .ncnt = (unsigned) ncnt, .zcnt = (unsigned) zcnt };
        }
        o->sems = m;
        return true;
}

static int collect_stat_any(enum ipc_type type, struct inventory *inv);

int sysv_collect(enum ipc_type type, const char *dir, const struct inventory_index *prev, struct inventory *inv) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t first = inv->n_objects;
        int r;

        /* The kernel's own view, without text, when it is this namespace's
         * /proc/sysvipc being asked for; tests point DIR at fixtures. */
        if (strcmp(dir, "/proc/sysvipc") == 0) {
                r = collect_stat_any(type, inv);
                if (r == 0)
                        goto members;
                if (r != -EOPNOTSUPP && r != -EINVAL && r != -ENOSYS)
                        return r;
                while (inv->n_objects > first)
                        inventory_drop_last(inv);
                if (r == -EOPNOTSUPP) {
                        r = inventory_warn(inv, "this kernel has no %s (before Linux 4.17): %s/%s read instead",
                                           stat_any_name(type), dir, sysv_file(type));
                        if (r < 0)
                                return r;
                }
        }

        if (asprintf(&path, "%s/%s", dir, sysv_file(type)) < 0)
                return -ENOMEM;

        f = fopen(path, "re");
        if (!f) {
                inv->unavailable |= IPC_TYPE_BIT(type);
                return inventory_warn(inv, "%s: cannot read (%s); SysV %s not collected", path, strerror(errno),
                                      sysv_file(type));
        }

        r = sysv_parse(type, f, path, inv);
        if (r < 0)
                return r;

members:
        if (type != IPC_TYPE_SEM)
                return 0;

        for (size_t i = first; i < inv->n_objects;) {
                struct ipc_object *o = &inv->objects[i];

                if (sem_reuse(prev, o)) {
                        i++;
                        continue;
                }
                r = sysv_sem_read_members(o);
                if (r == -EIDRM) {
                        /* Removed between the listing and semctl: it is not
                         * there any more, so it is not in the inventory. */
                        ipc_object_done(o);
                        memmove(o, o + 1, (inv->n_objects - i - 1) * sizeof(*o));
                        inv->n_objects--;
                        continue;
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        o->flags |= IPC_OBJECT_SEM_UNREADABLE;
                i++;
        }
        return 0;
}

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif

static void set_perm(struct ipc_object *o, const struct ipc_perm *p) {
        o->key = p->__key;
        o->uid = p->uid;
        o->gid = p->gid;
        o->cuid = p->cuid;
        o->cgid = p->cgid;
        o->mode = p->mode & 07777;
}

/* IPC_STAT of id ARG, or with ANY the *_STAT_ANY of index ARG (which, like
 * /proc/sysvipc, needs no read permission and returns the id).  Fills O but
 * for a set's members.  Returns the id, or -EIDRM when there is nothing. */
static int stat_into(enum ipc_type type, int arg, bool any, struct ipc_object *o) {
        int r;

        *o = (struct ipc_object) { .type = type, .cpid = PID_NONE, .lpid = PID_NONE, .lrpid = PID_NONE };
        switch (type) {
        case IPC_TYPE_SHM: {
                struct shmid_ds ds;
                r = shmctl(arg, any ? SHM_STAT_ANY : IPC_STAT, &ds);
                if (r < 0)
                        break;
                set_perm(o, &ds.shm_perm);
                o->size = ds.shm_segsz;
                o->cpid = ds.shm_cpid;
                o->lpid = ds.shm_lpid;
                o->nattch = ds.shm_nattch;
                o->atime = ds.shm_atime;
                o->dtime = ds.shm_dtime;
                o->ctime = ds.shm_ctime;
                break;
        }
        case IPC_TYPE_MSG: {
                struct msqid_ds ds;
                r = msgctl(arg, any ? MSG_STAT_ANY : IPC_STAT, &ds);
                if (r < 0)
                        break;
                set_perm(o, &ds.msg_perm);
                o->size = ds.__msg_cbytes;
                o->qnum = ds.msg_qnum;
                o->lpid = ds.msg_lspid;
                o->lrpid = ds.msg_lrpid;
                o->mtime = ds.msg_stime;
                o->atime = ds.msg_rtime;
                o->ctime = ds.msg_ctime;
                break;
        }
        case IPC_TYPE_SEM: {
                struct semid_ds ds;
                union {
                        int val;
                        struct semid_ds *buf;
                } u = { .buf = &ds };
                r = semctl(arg, 0, any ? SEM_STAT_ANY : IPC_STAT, u);
                if (r < 0)
                        break;
                set_perm(o, &ds.sem_perm);
                o->nsems = (unsigned) ds.sem_nsems;
                o->mtime = ds.sem_otime;
                o->ctime = ds.sem_ctime;
                break;
        }
        default:
                return -EINVAL;
        }
        if (r < 0)
                return errno == EINVAL || errno == EIDRM ? -EIDRM : negative_errno();
        o->id = any ? r : arg;
        return o->id;
}

int sysv_stat(enum ipc_type type, int id, struct ipc_object *ret) {
        struct ipc_object o;
        int r;

        r = stat_into(type, id, false, &o);
        if (r < 0)
                return r;
        if (type == IPC_TYPE_SEM) {
                r = sysv_sem_read_members(&o);
                if (r == -EACCES || r == -EPERM)
                        o.flags |= IPC_OBJECT_SEM_UNREADABLE;
                else if (r < 0)
                        return r;
        }
        *ret = o;
        return 0;
}

/* The plain *_STAT (read permission checked) or *_STAT_ANY of index I: the
 * id, or the kernel's own -errno, EINVAL (nothing there, or a command it does
 * not know) apart from EIDRM (going). */
static int stat_index(enum ipc_type type, bool any, int i) {
        union {
                struct shmid_ds shm;
                struct msqid_ds msg;
                struct semid_ds sem;
        } ds;
        int r;

        switch (type) {
        case IPC_TYPE_SHM:
                r = shmctl(i, any ? SHM_STAT_ANY : SHM_STAT, &ds.shm);
                break;
        case IPC_TYPE_MSG:
                r = msgctl(i, any ? MSG_STAT_ANY : MSG_STAT, &ds.msg);
                break;
        default: {
                union {
                        int val;
                        struct semid_ds *buf;
                } u = { .buf = &ds.sem };
                r = semctl(i, 0, any ? SEM_STAT_ANY : SEM_STAT, u);
                break;
        }
        }
        return r < 0 ? negative_errno() : r;
}

/* Asked when *_INFO counted objects but *_STAT_ANY found none at any index up
 * to MAX: a kernel before 4.17 answers EINVAL to a command it does not know,
 * as to a free index.  It lacks the command if the plain *_STAT sees an object
 * at an index where *_STAT_ANY says EINVAL, and sees it again afterwards: the
 * same id, or the same refusal, so the object was there all along.  Objects
 * removed since the count are seen by neither, and do not count. */
static bool stat_any_unknown(enum ipc_type type, int max) {
        for (int i = 0; i <= max; i++) {
                int seen = stat_index(type, false, i);
                if (seen < 0 && seen != -EACCES && seen != -EPERM)
                        continue;
                int any = stat_index(type, true, i);
                if (any >= 0)
                        return false; /* made since the pass: the command works */
                if (any == -EINVAL && stat_index(type, false, i) == seen)
                        return true;
        }
        return false;
}

/* Every object of TYPE through *_INFO and *_STAT_ANY, index by index: the
 * same facts as /proc/sysvipc without the kernel printing them and us
 * parsing them back (twice as fast).  -EOPNOTSUPP on kernels before 4.17. */
static int collect_stat_any(enum ipc_type type, struct inventory *inv) {
        /* Once missing, missing for every type and every later collection,
         * which go straight to the text: a running kernel learns no new
         * command, all three arrived in 4.17 together, and a new kernel means
         * a new process, which asks again. */
        static bool missing;
        size_t used = 0, found = 0;
        int max;

        if (missing)
                return -EOPNOTSUPP;

        /* The highest index in use, and how many are. */
        switch (type) {
        case IPC_TYPE_SHM: {
                struct shm_info si;
                max = shmctl(0, SHM_INFO, (struct shmid_ds *) (void *) &si);
                used = (size_t) si.used_ids;
                break;
        }
        case IPC_TYPE_MSG: {
                struct msginfo mi;
                max = msgctl(0, MSG_INFO, (struct msqid_ds *) (void *) &mi);
                used = (size_t) mi.msgpool;
                break;
        }
        default: {
                struct seminfo si;
                union {
                        int val;
                        struct seminfo *info;
                } u = { .info = &si };
                max = semctl(0, 0, SEM_INFO, u);
                used = (size_t) si.semusz;
                break;
        }
        }
        if (max < 0)
                return negative_errno();
        /* A few more for what is made while we read. */
        int r = inventory_reserve(inv, used + 16);
        if (r < 0)
                return r;

        for (int i = 0; i <= max; i++) {
                struct ipc_object o;
                r = stat_into(type, i, true, &o);
                if (r == -EIDRM)
                        continue; /* a free slot, or (see below) an unknown command */
                if (r < 0)
                        return r;
                struct ipc_object *dst = inventory_append(inv, type);
                if (!dst) {
                        r = negative_errno();
                        ipc_object_done(&o);
                        return r;
                }
                *dst = o;
                found++;
        }
        if (found == 0 && used > 0 && stat_any_unknown(type, max)) {
                missing = true;
                return -EOPNOTSUPP;
        }
        return 0;
}

int sysv_remove(enum ipc_type type, int id) {
        int r;

        switch (type) {
        case IPC_TYPE_SHM:
                r = shmctl(id, IPC_RMID, NULL);
                break;
        case IPC_TYPE_MSG:
                r = msgctl(id, IPC_RMID, NULL);
                break;
        case IPC_TYPE_SEM:
                r = semctl(id, 0, IPC_RMID);
                break;
        default:
                return -EINVAL;
        }
        return r < 0 ? negative_errno() : 0;
}
