/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SysV half of the archive (archive.h): capture a segment's bytes, a
 * queue's messages and a set's values into an entry's contents, and make
 * the object again from them.  What the kernel lets us do is CRIU's
 * (criu/ipc_ns.c): shmat(SHM_RDONLY), msgrcv(MSG_COPY), semctl(GETALL);
 * kernel.*_next_id to ask for an id.  What it does not let us restore, and
 * so a restored object lacks: the creator (cuid, cgid, cpid: the creator is
 * now whoever restores), every time, nattch, last pids, and semaphore undo
 * state (the processes that held it are gone anyway).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "io.h"
#include "macro.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef SHM_LOCKED
#define SHM_LOCKED 02000
#endif
#ifndef SHM_HUGETLB
#define SHM_HUGETLB 04000
#endif

/* A segment is copied this much at a time, and each piece of the mapping
 * dropped once copied: the caller's memory never holds more of it. */
#define CHUNK ((size_t) 1 << 20)
/* The largest single message we keep.  The kernel allows msgmax up to
 * INT_MAX, and a message can only be copied whole, into our memory. */
#define MSG_MAX_BYTES ((size_t) 64 << 20)
/* The largest set we keep: the kernel's own default SEMMSL is 32000. */
#define SEMS_MAX 65536u
/* What one semaphore's line costs at most: "32767\n". */
#define SEM_LINE_MAX 6u
#define SEMVMX_VALUE 32767 /* SEMVMX */

/* One "messages" record's header, as archive.h describes it. */
struct msg_record {
        int64_t mtype;
        uint64_t length;
};

/* Finishes the contents a save wrote (not synced here: the entry is, when
 * committed, a batch's entries at once; on failure the caller aborts it). */
static int finish_contents(int *fd, int r) {
        if (close(TAKE_FD(*fd)) < 0 && r >= 0)
                r = negative_errno();
        return r;
}

/* Does the mapping at ADDR use pages larger than the base page, i.e. is
 * the segment SHM_HUGETLB?  Neither shm_perm.mode nor /proc/sysvipc says,
 * the mapping's KernelPageSize does.  False when it cannot be told. */
static bool mapping_is_huge(const void *addr) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[256], head[32];
        bool at_start = true, inside = false;

        f = fopen("/proc/self/smaps", "re");
        if (!f)
                return false;
        (void) snprintf(head, sizeof(head), "%lx-", (unsigned long) addr);
        while (fgets(line, sizeof(line), f)) {
                /* A path longer than the buffer comes in pieces: only the
                 * start of a line can name a mapping or a field. */
                bool start = at_start;
                at_start = strchr(line, '\n') != NULL;
                if (!start)
                        continue;
                if (!inside) {
                        inside = strncmp(line, head, strlen(head)) == 0;
                        continue;
                }
                unsigned long kb;
                if (sscanf(line, "KernelPageSize: %lu kB", &kb) == 1)
                        return kb * 1024 > (unsigned long) sysconf(_SC_PAGESIZE);
        }
        return false;
}

static int shm_save(const struct ipc_object *o, const struct archive_at *at, uint64_t max_bytes, struct archive_contents *ret) {
        _cleanup_close_ int fd = -EBADF;
        struct shmid_ds ds;
        struct archive_contents c = {};
        void *addr;
        int r = 0;

        if (o->size > max_bytes)
                return -EFBIG;
        if (o->size > SIZE_MAX)
                return -EFBIG;

        addr = shmat(o->id, NULL, SHM_RDONLY);
        if (addr == (void *) -1)
                return errno == EINVAL || errno == EIDRM ? -EIDRM : negative_errno();
        /* Attached by id: still the segment O describes, not one made since
         * under a reused id? */
        if (shmctl(o->id, IPC_STAT, &ds) < 0 || ds.shm_perm.__key != o->key || ds.shm_segsz != o->size) {
                (void) shmdt(addr);
                return -EIDRM;
        }
        /* A hugetlb segment is a whole number of huge pages (2 MiB at the
         * least) mapped at an address aligned to one: only such a mapping
         * is worth reading smaps for, which costs the more the larger this
         * process is (a sweep archives thousands of small segments). */
        c.hugetlb = o->size % (2u << 20) == 0 && (uintptr_t) addr % (2u << 20) == 0 && mapping_is_huge(addr);
        c.locked = ds.shm_perm.mode & SHM_LOCKED;

        fd = archive_contents_open(at, NULL);
        if (fd < 0) {
                (void) shmdt(addr);
                return fd;
        }
        for (size_t off = 0; off < o->size && r >= 0; off += CHUNK) {
                size_t n = o->size - off < CHUNK ? o->size - off : CHUNK;
                r = io_write_all(fd, (const char *) addr + off, n, -1);
                /* Drops only our page table entries: the segment keeps its
                 * pages.  Hugetlb ranges must be huge-page aligned, and
                 * hugetlb pages are not this process's RSS anyway. */
                (void) madvise((char *) addr + off, n, MADV_DONTNEED);
        }
        /* Still attached: did anyone else attach meanwhile?  Then nattch
         * is up by more than ours, or, had they detached already, lpid is
         * theirs.  After our shmdt both would look as before (lpid ours
         * again), so this is the look that can tell. */
        if (r >= 0 && (shmctl(o->id, IPC_STAT, &ds) < 0 || ds.shm_lpid != getpid() ||
                       ds.shm_nattch != o->nattch + 1))
                r = -ESTALE;
        (void) shmdt(addr);
        r = finish_contents(&fd, r);
        if (r < 0)
                return r;

        c.bytes = o->size;
        *ret = c;
        return 0;
}

union semun {
        int val;
        struct semid_ds *buf;
        unsigned short *array;
};

static int sem_save(const struct ipc_object *o, const struct archive_at *at, uint64_t max_bytes, struct archive_contents *ret) {
        _cleanup_free_ unsigned short *values = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct semid_ds ds;
        size_t len = 0;
        int r;

        if (o->nsems == 0 || o->nsems > SEMS_MAX)
                return -EFBIG;
        /* GETALL writes as many values as the set has now: the set must be
         * the one O describes, of the size the array is made for.  (Only a
         * set removed and made again under this very id in between could
         * differ, which takes a wrap of the id's sequence or root asking
         * for the id through sem_next_id.) */
        if (semctl(o->id, 0, IPC_STAT, (union semun) { .buf = &ds }) < 0)
                return errno == EINVAL || errno == EIDRM ? -EIDRM : negative_errno();
        if (ds.sem_perm.__key != o->key || ds.sem_nsems != o->nsems)
                return -EIDRM;

        values = calloc(o->nsems, sizeof(*values));
        text = malloc((size_t) o->nsems * SEM_LINE_MAX + 1);
        if (!values || !text)
                return -ENOMEM;
        if (semctl(o->id, 0, GETALL, (union semun) { .array = values }) < 0)
                return errno == EINVAL || errno == EIDRM ? -EIDRM : negative_errno();
        for (unsigned i = 0; i < o->nsems; i++)
                len += (size_t) snprintf(text + len, SEM_LINE_MAX + 1, "%u\n", (unsigned) values[i]);
        if (len > max_bytes)
                return -EFBIG;

        fd = archive_contents_open(at, NULL);
        if (fd < 0)
                return fd;
        r = finish_contents(&fd, io_write_all(fd, text, len, -1));
        if (r < 0)
                return r;
        *ret = (struct archive_contents) { .bytes = len, .values = o->nsems };
        return 0;
}

/* The kernel's msgmax now, or -errno. */
static int msg_max(void) {
        struct msginfo info;

        if (msgctl(0, IPC_INFO, (struct msqid_ds *) &info) < 0)
                return negative_errno();
        return info.msgmax > 0 ? info.msgmax : -EIO;
}

struct msg_buffer {
        long mtype;
        char mtext[];
};

static int msg_save(const struct ipc_object *o, const struct archive_at *at, uint64_t max_bytes, struct archive_contents *ret) {
        _cleanup_free_ struct msg_buffer *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct msqid_ds ds;
        uint64_t total = 0, count = 0, size_max;
        size_t buflen;
        bool capped;
        int r = 0, max;

        /* What O holds already passes: nothing written. */
        if (o->size > max_bytes || o->qnum > (max_bytes - o->size) / sizeof(struct msg_record))
                return -EFBIG;
        if (msgctl(o->id, IPC_STAT, &ds) < 0)
                return errno == EINVAL || errno == EIDRM ? -EIDRM : negative_errno();
        if (ds.msg_perm.__key != o->key)
                return -EIDRM;
        max = msg_max();
        if (max < 0)
                return max;

        /* A message is at most msgmax as it was sent, and at most what the
         * queue held when O was read: msgmax may have been lowered since. */
        size_max = (uint64_t) max > o->size ? (uint64_t) max : o->size;
        capped = size_max > MSG_MAX_BYTES || size_max > max_bytes;
        if (size_max > MSG_MAX_BYTES)
                size_max = MSG_MAX_BYTES;
        if (size_max > max_bytes)
                size_max = max_bytes;
        buflen = (size_t) size_max;
        buf = malloc(sizeof(*buf) + buflen);
        if (!buf)
                return -ENOMEM;

        fd = archive_contents_open(at, NULL);
        if (fd < 0)
                return fd;
        /* By index, each copied and left where it is.  Messages sent since
         * O was read are taken too; the kernel's own limit on a queue
         * (qnum <= qbytes) and max_bytes end the loop. */
        for (long index = 0; r >= 0 && index < LONG_MAX; index++) {
                ssize_t n = msgrcv(o->id, buf, buflen, index, IPC_NOWAIT | MSG_COPY);
                if (n < 0) {
                        if (errno == ENOMSG)
                                break; /* past the last one */
                        if (errno == ENOSYS) {
                                /* No CONFIG_CHECKPOINT_RESTORE: an empty
                                 * queue has nothing to lose, one with
                                 * messages cannot be read without taking
                                 * them (archive.h). */
                                if (msgctl(o->id, IPC_STAT, &ds) < 0)
                                        r = errno == EINVAL || errno == EIDRM ? -EIDRM : negative_errno();
                                else if (ds.msg_qnum > 0)
                                        r = -ENOTSUP;
                                break;
                        }
                        if (errno == E2BIG)
                                /* Larger than we keep, or than msgmax and
                                 * the queue both allowed when O was read. */
                                r = capped ? -EFBIG : -ESTALE;
                        else if (errno == EINVAL || errno == EIDRM)
                                r = -EIDRM;
                        else
                                r = negative_errno();
                        break;
                }
                struct msg_record h = { .mtype = buf->mtype, .length = (uint64_t) n };
                if ((uint64_t) n + sizeof(h) > max_bytes - total) {
                        r = -EFBIG;
                        break;
                }
                r = io_write_all(fd, &h, sizeof(h), -1);
                if (r >= 0)
                        r = io_write_all(fd, buf->mtext, (size_t) n, -1);
                total += sizeof(h) + (uint64_t) n;
                count++;
        }
        r = finish_contents(&fd, r);
        if (r < 0)
                return r;
        *ret = (struct archive_contents) { .bytes = total, .messages = count };
        return 0;
}

int archive_sysv_save(const struct ipc_object *o, const struct archive_at *at, uint64_t max_bytes, struct archive_contents *ret) {
        if (!o || !at || !ret)
                return -EINVAL;
        switch (o->type) {
        case IPC_TYPE_SHM:
                return shm_save(o, at, max_bytes, ret);
        case IPC_TYPE_MSG:
                return msg_save(o, at, max_bytes, ret);
        case IPC_TYPE_SEM:
                return sem_save(o, at, max_bytes, ret);
        default:
                return -EINVAL;
        }
}

static const char *next_id_path(enum ipc_type type) {
        return type == IPC_TYPE_SHM ? "/proc/sys/kernel/shm_next_id"
               : type == IPC_TYPE_MSG ? "/proc/sys/kernel/msg_next_id"
                                      : "/proc/sys/kernel/sem_next_id";
}

/* Asks that the next object of TYPE made in this IPC namespace get ID.
 * Needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE and a kernel with
 * CONFIG_CHECKPOINT_RESTORE; without them the object gets a new id, which
 * is not a failure. */
static bool set_next_id(enum ipc_type type, int id) {
        _cleanup_close_ int fd = -EBADF;
        char buf[16];
        int n;

        fd = open(next_id_path(type), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        n = snprintf(buf, sizeof(buf), "%d\n", id);
        return io_write_all(fd, buf, (size_t) n, -1) >= 0;
}

/* Takes back a request set_next_id() made when the object was not made
 * after all: left standing, it would give the id to whatever is made next
 * in this namespace.  Recent kernels refuse -1 in *_next_id, and only
 * making an object consumes a request, so a private one is made and
 * removed at once.  Should even that fail (the namespace is at shmmni, or
 * out of memory), the request stays: the next object made gets that id,
 * harmlessly, if it is free. */
static void drop_next_id(enum ipc_type type) {
        int id;

        switch (type) {
        case IPC_TYPE_SHM:
                id = shmget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
                if (id >= 0)
                        (void) shmctl(id, IPC_RMID, NULL);
                break;
        case IPC_TYPE_MSG:
                id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
                if (id >= 0)
                        (void) msgctl(id, IPC_RMID, NULL);
                break;
        default:
                id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
                if (id >= 0)
                        (void) semctl(id, 0, IPC_RMID);
        }
}

/* Owner and mode as O says, last: until then the object is root's and 0600
 * (see create_object), so nobody uses it half restored.  cuid and cgid
 * cannot be set: they stay whoever restored it. */
static int set_owner(const struct ipc_object *o, int id) {
        switch (o->type) {
        case IPC_TYPE_SHM: {
                struct shmid_ds ds;
                if (shmctl(id, IPC_STAT, &ds) < 0)
                        return negative_errno();
                ds.shm_perm.uid = o->uid;
                ds.shm_perm.gid = o->gid;
                ds.shm_perm.mode = o->mode & 0777;
                return shmctl(id, IPC_SET, &ds) < 0 ? negative_errno() : 0;
        }
        case IPC_TYPE_MSG: {
                struct msqid_ds ds;
                if (msgctl(id, IPC_STAT, &ds) < 0)
                        return negative_errno();
                ds.msg_perm.uid = o->uid;
                ds.msg_perm.gid = o->gid;
                ds.msg_perm.mode = o->mode & 0777;
                return msgctl(id, IPC_SET, &ds) < 0 ? negative_errno() : 0;
        }
        case IPC_TYPE_SEM: {
                struct semid_ds ds;
                if (semctl(id, 0, IPC_STAT, (union semun) { .buf = &ds }) < 0)
                        return negative_errno();
                ds.sem_perm.uid = o->uid;
                ds.sem_perm.gid = o->gid;
                ds.sem_perm.mode = o->mode & 0777;
                return semctl(id, 0, IPC_SET, (union semun) { .buf = &ds }) < 0 ? negative_errno() : 0;
        }
        default:
                return -EINVAL;
        }
}

/* Makes the object, with the id asked for where the kernel allows it.
 * Returns the id got, -EEXIST when the key is taken. */
static int create_object(const struct ipc_object *o, const struct archive_contents *c) {
        bool asked = set_next_id(o->type, o->id);
        int flags = IPC_CREAT | IPC_EXCL | 0600, id;

        switch (o->type) {
        case IPC_TYPE_SHM:
                id = shmget(o->key, (size_t) o->size, flags | (c->hugetlb ? SHM_HUGETLB : 0));
                break;
        case IPC_TYPE_MSG:
                id = msgget(o->key, flags);
                break;
        case IPC_TYPE_SEM:
                id = semget(o->key, (int) o->nsems, flags);
                break;
        default:
                id = -1;
                errno = EINVAL;
        }
        if (id < 0) {
                int r = negative_errno();
                if (asked)
                        drop_next_id(o->type);
                return r;
        }
        return id;
}

static int shm_fill(const struct ipc_object *o, const struct archive_at *at, const struct archive_contents *c, int id) {
        _cleanup_close_ int fd = -EBADF;
        uint64_t size;
        void *addr;
        int r = 0;

        fd = archive_contents_open(at, &size);
        if (fd < 0)
                return fd;
        if (size != o->size || c->bytes != o->size)
                return -EBADMSG;

        addr = shmat(id, NULL, 0);
        if (addr == (void *) -1)
                return negative_errno();
        for (size_t off = 0; off < o->size && r >= 0; off += CHUNK) {
                size_t n = o->size - off < CHUNK ? o->size - off : CHUNK;
                ssize_t k = io_read_full(fd, (char *) addr + off, n);
                if (k < 0)
                        r = (int) k;
                else if ((size_t) k < n)
                        r = -EBADMSG; /* shrank since the fstat */
                (void) madvise((char *) addr + off, n, MADV_DONTNEED);
        }
        (void) shmdt(addr);
        if (r < 0)
                return r;

        /* SHM_LOCKED comes back; SHM_DEST does not: a segment marked for
         * removal when archived is made whole again. */
        if ((c->locked || (o->mode & SHM_LOCKED)) && shmctl(id, SHM_LOCK, NULL) < 0)
                return negative_errno();
        return 0;
}

static int sem_fill(const struct ipc_object *o, const struct archive_at *at, const struct archive_contents *c, int id) {
        _cleanup_free_ unsigned short *values = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t size;
        ssize_t k;
        char *p;

        fd = archive_contents_open(at, &size);
        if (fd < 0)
                return fd;
        /* The file can be no longer than the set's lines: read whole. */
        if (c->values != o->nsems || size != c->bytes || size > (uint64_t) o->nsems * SEM_LINE_MAX)
                return -EBADMSG;
        values = calloc(o->nsems, sizeof(*values));
        text = malloc((size_t) size + 1);
        if (!values || !text)
                return -ENOMEM;
        k = io_read_full(fd, text, (size_t) size);
        if (k < 0)
                return (int) k;
        if ((uint64_t) k != size)
                return -EBADMSG;
        text[size] = 0;

        /* Exactly nsems lines, each a value the kernel allows. */
        p = text;
        for (unsigned i = 0; i < o->nsems; i++) {
                unsigned v = 0;
                char *q = p;
                while (*q >= '0' && *q <= '9' && q - p < 5)
                        v = v * 10 + (unsigned) (*q++ - '0');
                if (q == p || *q != '\n' || v > SEMVMX_VALUE)
                        return -EBADMSG;
                values[i] = (unsigned short) v;
                p = q + 1;
        }
        if (*p)
                return -EBADMSG;
        if (semctl(id, 0, SETALL, (union semun) { .array = values }) < 0)
                return negative_errno();
        /* A set that had been operated on is made to have been again (one
         * semaphore taken and given back in one atomic call: no value
         * changes, sem_otime is set): one never operated on is judged
         * alive while its owner runs (judge.c), which the original set was
         * not.  Where no semaphore can be moved either way it stays as is. */
        if (o->mtime != 0) /* sem_otime */
                for (unsigned i = 0; i < o->nsems; i++) {
                        short dir = values[i] > 0 ? -1 : 1;
                        struct sembuf ops[2] = { { .sem_num = (unsigned short) i, .sem_op = dir, .sem_flg = IPC_NOWAIT },
                                                 { .sem_num = (unsigned short) i, .sem_op = (short) -dir,
                                                   .sem_flg = IPC_NOWAIT } };
                        if (semop(id, ops, 2) == 0)
                                break;
                }
        return 0;
}

static int msg_fill(const struct ipc_object *o, const struct archive_at *at, const struct archive_contents *c, int id) {
        _cleanup_free_ struct msg_buffer *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct msqid_ds ds;
        uint64_t size, left, count = 0;
        size_t allocated = 0;
        int max;

        fd = archive_contents_open(at, &size);
        if (fd < 0)
                return fd;
        if (size != c->bytes || c->messages > size / sizeof(struct msg_record))
                return -EBADMSG;
        max = msg_max();
        if (max < 0)
                return max;

        /* Room for all of them at once, as the queue had: its msg_qbytes
         * is not among the facts kept, and the default may be smaller.
         * (Past msgmnb needs CAP_SYS_RESOURCE, which the restorer has.) */
        if (msgctl(id, IPC_STAT, &ds) < 0)
                return negative_errno();
        if (ds.msg_qbytes < size) {
                ds.msg_qbytes = size < INT_MAX ? (msglen_t) size : INT_MAX;
                if (msgctl(id, IPC_SET, &ds) < 0)
                        return negative_errno();
        }

        for (left = size; left > 0; count++) {
                struct msg_record h;
                ssize_t k = io_read_full(fd, &h, sizeof(h));
                if (k < 0)
                        return (int) k;
                left -= (uint64_t) k;
                /* Every length checked before anything is allocated: a
                 * corrupt or hostile entry must not pick our allocation. */
                if ((size_t) k != sizeof(h) || h.mtype < 1 || h.mtype > LONG_MAX || h.length > left ||
                    count >= c->messages)
                        return -EBADMSG;
                if (h.length > (uint64_t) max || h.length > MSG_MAX_BYTES)
                        return -EMSGSIZE; /* msgmax was lowered since */
                if (h.length > allocated || !buf) {
                        struct msg_buffer *n = realloc(buf, sizeof(*buf) + (size_t) h.length);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                        allocated = (size_t) h.length;
                }
                k = io_read_full(fd, buf->mtext, (size_t) h.length);
                if (k < 0)
                        return (int) k;
                if ((uint64_t) k != h.length)
                        return -EBADMSG;
                left -= h.length;
                buf->mtype = (long) h.mtype;
                if (msgsnd(id, buf, (size_t) h.length, IPC_NOWAIT) < 0)
                        return negative_errno();
        }
        return count == c->messages ? 0 : -EBADMSG;
}

static int sysv_remove_id(enum ipc_type type, int id) {
        switch (type) {
        case IPC_TYPE_SHM:
                return shmctl(id, IPC_RMID, NULL);
        case IPC_TYPE_MSG:
                return msgctl(id, IPC_RMID, NULL);
        default:
                return semctl(id, 0, IPC_RMID);
        }
}

int archive_sysv_restore(const struct ipc_object *o, const struct archive_at *at, const struct archive_contents *c, int *ret_id,
                         bool *ret_same_id) {
        int id, r;

        if (!o || !at || !c || !ipc_type_is_sysv(o->type))
                return -EINVAL;
        if (o->type == IPC_TYPE_SHM && o->size > SIZE_MAX)
                return -EBADMSG;
        if (o->type == IPC_TYPE_SEM && (o->nsems == 0 || o->nsems > SEMS_MAX))
                return -EBADMSG;

        id = create_object(o, c);
        if (id < 0)
                return id;

        switch (o->type) {
        case IPC_TYPE_SHM:
                r = shm_fill(o, at, c, id);
                break;
        case IPC_TYPE_MSG:
                r = msg_fill(o, at, c, id);
                break;
        case IPC_TYPE_SEM:
                r = sem_fill(o, at, c, id);
                break;
        default:
                r = -EINVAL;
        }
        if (r >= 0)
                r = set_owner(o, id);
        if (r < 0) {
                (void) sysv_remove_id(o->type, id);
                return r;
        }

        if (ret_id)
                *ret_id = id;
        if (ret_same_id)
                *ret_same_id = id == o->id;
        return 0;
}
