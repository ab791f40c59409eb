/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "archive.h"
#include "io.h"
#include "mqfs.h"

/* Bytes copied per read: enough to stream at disk speed, small enough that
 * a daemon archiving a big segment never holds much of it. */
#define COPY_CHUNK (128u * 1024u)

/* The kernel's own hard ceilings (HARD_MSGMAX, HARD_MSGSIZEMAX, MQ_PRIO_MAX
 * in ipc/mqueue.c): no queue can have more, so an entry that says more is
 * corrupt, and nothing read from it is ever sized past these. */
#define MQ_HARD_MAXMSG 65536L
#define MQ_HARD_MSGSIZE (16L * 1024 * 1024)
#define MQ_PRIO_LIMIT 32768u

/* One record of an mq entry's contents: uint32 priority, uint64 length, then the bytes. */
#define MQ_RECORD_HEADER (sizeof(uint32_t) + sizeof(uint64_t))

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

/* Reads exactly N bytes: 1, or 0 at a clean end of file before any byte,
 * or -EBADMSG when the file ends inside them (a truncated entry). */
static int read_exact(int fd, void *buf, size_t n) {
        ssize_t got = io_read_full(fd, buf, n);
        if (got < 0)
                return (int) got;
        return (size_t) got == n ? 1 : got == 0 ? 0 : -EBADMSG;
}

/*
 * Copies the SIZE bytes of IN from IN_BASE on to OUT from OUT_BASE on, at
 * the same offsets from there, only the data regions (SEEK_DATA/SEEK_HOLE),
 * having sized OUT to OUT_BASE + SIZE: a 1 GiB pshm with a page written
 * costs a page.  (The bases are whole blocks: a hole copied stays one.)  -EFBIG once more than MAX_BYTES would
 * be copied.  A file system without SEEK_DATA (EINVAL) is copied whole.
 */
static int copy_sparse(int in, off_t in_base, int out, off_t out_base, uint64_t size, uint64_t max_bytes,
                       uint64_t *ret_bytes, bool *ret_sparse) {
        _cleanup_free_ char *buf = NULL;
        uint64_t copied = 0;
        off_t off = in_base, end;
        bool seekable = true;
        int r;

        if (size > (uint64_t) (INT64_MAX - (in_base > out_base ? in_base : out_base)))
                return -EFBIG;
        end = in_base + (off_t) size;
        buf = malloc(COPY_CHUNK);
        if (!buf)
                return -ENOMEM;

        /* Size first: the regions are then written into holes, never past
         * the end, and the tail hole needs nothing more. */
        if (ftruncate(out, out_base + (off_t) size) < 0)
                return negative_errno();

        while (off < end) {
                off_t data = off, hole = end;
                if (seekable) {
                        data = lseek(in, off, SEEK_DATA);
                        if (data < 0 && errno == ENXIO)
                                break; /* nothing but a hole up to the end */
                        if (data < 0 && errno == EINVAL) {
                                seekable = false;
                                data = off;
                        } else if (data < 0)
                                return negative_errno();
                }
                if (seekable) {
                        hole = lseek(in, data, SEEK_HOLE);
                        if (hole < 0)
                                return negative_errno();
                }
                if (hole > end)
                        hole = end;
                while (data < hole) {
                        size_t want = (uint64_t) (hole - data) < COPY_CHUNK ? (size_t) (hole - data) : COPY_CHUNK;
                        if (copied + want > max_bytes)
                                return -EFBIG;
                        ssize_t k = pread(in, buf, want, data);
                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                return negative_errno();
                        }
                        if (k == 0) /* shrunk under us: the rest reads as a hole */
                                break;
                        r = io_write_all(out, buf, (size_t) k, data - in_base + out_base);
                        if (r < 0)
                                return r;
                        copied += (uint64_t) k;
                        data += k;
                }
                off = hole;
        }
        *ret_bytes = copied;
        *ret_sparse = copied < size;
        return 0;
}

/* Opens BASE in PARENT_FD without following a symlink and checks it is the
 * regular file O names; -ESTALE when it is anything else. */
static int open_checked(const struct ipc_object *o, int parent_fd, const char *base, int flags, int *ret_fd,
                        struct stat *ret_st) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = openat(parent_fd, base, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                /* ELOOP: a symlink sits at the name, which is not the object */
                return errno == ELOOP ? -ESTALE : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_dev != o->dev || st.st_ino != o->ino)
                return -ESTALE;
        *ret_fd = TAKE_FD(fd);
        if (ret_st)
                *ret_st = st;
        return 0;
}

/* pshm, psem: the file's bytes, holes kept.  A semaphore's value is in its
 * bytes (the sem_t glibc maps), so nothing more is needed for psem. */
static int save_file(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at, uint64_t max_bytes,
                     struct archive_contents *ret) {
        _cleanup_close_ int fd = -EBADF, out = -EBADF;
        struct stat st;
        uint64_t bytes;
        bool sparse;
        int r;

        r = open_checked(o, parent_fd, base, O_RDONLY, &fd, &st);
        if (r < 0)
                return r;
        /* Its size is a fact the verdict was made of: a file that grew or
         * shrank since is not the one judged. */
        if ((uint64_t) st.st_size != o->size)
                return -ESTALE;
        /* What the file holds, not what it claims: a sparse 1 TiB file with
         * a page written fits in a small archive. */
        if ((uint64_t) st.st_blocks * 512 > max_bytes && (uint64_t) st.st_size > max_bytes)
                return -EFBIG;

        /* Written at offsets of their own (pwrite): the entry's fd will do. */
        r = copy_sparse(fd, 0, at->fd, at->offset, (uint64_t) st.st_size, max_bytes, &bytes, &sparse);
        /* The reads may have stamped atime, a fact the next judgement's
         * idle time is made of if the removal does not happen: put it back,
         * as mqfs.c does for a queue's status (owner or CAP_FOWNER only). */
        const struct timespec ts[2] = { st.st_atim, { .tv_nsec = UTIME_OMIT } };
        (void) futimens(fd, ts);
        if (r < 0)
                return r;
        /* Synced when the entry is committed (archive.h). */
        *ret = (struct archive_contents) { .bytes = bytes, .sparse = sparse };
        return 0;
}

/*
 * Walks the message records of the entry contents FD, each checked against the
 * queue's attributes before anything is read into BUF (MSGSIZE bytes):
 * priority below MQ_PRIO_MAX, length at most MSGSIZE, at most MAXMSG of
 * them, no partial record.  SEND (may be -1 for a dry walk) gets each with
 * mq_send.  -EBADMSG for a corrupt or hostile file.
 */
static int walk_messages(int fd, off_t start, uint64_t size, int send_fd, long maxmsg, long msgsize, char *buf,
                         uint64_t *ret_count, uint64_t *ret_bytes) {
        uint64_t count = 0, bytes = 0;
        int r;

        if (lseek(fd, start, SEEK_SET) < 0)
                return negative_errno();
        while (bytes < size) {
                uint32_t prio;
                uint64_t len;

                if (size - bytes < MQ_RECORD_HEADER)
                        return -EBADMSG; /* a partial record */
                r = read_exact(fd, &prio, sizeof(prio));
                if (r <= 0)
                        return r < 0 ? r : -EBADMSG;
                r = read_exact(fd, &len, sizeof(len));
                if (r <= 0)
                        return r < 0 ? r : -EBADMSG;
                if (prio >= MQ_PRIO_LIMIT || len > (uint64_t) msgsize || count >= (uint64_t) maxmsg ||
                    len > size - bytes - MQ_RECORD_HEADER)
                        return -EBADMSG;
                if (len > 0) {
                        r = read_exact(fd, buf, (size_t) len);
                        if (r <= 0)
                                return r < 0 ? r : -EBADMSG;
                }
                if (send_fd >= 0)
                        while (mq_send(send_fd, buf, (size_t) len, prio) < 0)
                                if (errno != EINTR)
                                        return negative_errno();
                count++;
                bytes += MQ_RECORD_HEADER + len;
        }
        if (ret_count)
                *ret_count = count;
        if (ret_bytes)
                *ret_bytes = bytes;
        return 0;
}

static bool mq_attr_valid(long maxmsg, long msgsize) {
        return maxmsg > 0 && maxmsg <= MQ_HARD_MAXMSG && msgsize > 0 && msgsize <= MQ_HARD_MSGSIZE;
}

/* Sends every message record of the entry back into the queue open for
 * writing at QFD, whose attributes bound what is read. */
static int putback_fd(int qfd, const struct archive_at *at) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct mq_attr attr;

        if (mq_getattr(qfd, &attr) < 0)
                return negative_errno();
        if (!mq_attr_valid(attr.mq_maxmsg, attr.mq_msgsize))
                return -EBADMSG;
        uint64_t size;
        fd = archive_contents_open(at, &size);
        if (fd < 0)
                return fd;
        buf = malloc((size_t) attr.mq_msgsize);
        if (!buf)
                return -ENOMEM;
        /* Checked whole before the first send: a corrupt file must not leave
         * half of itself in the queue. */
        int r = walk_messages(fd, at->offset, size, -1, attr.mq_maxmsg, attr.mq_msgsize, buf, NULL, NULL);
        if (r < 0)
                return r;
        return walk_messages(fd, at->offset, size, qfd, attr.mq_maxmsg, attr.mq_msgsize, buf, NULL, NULL);
}

/* Messages received from a queue after a save failed, held until they can
 * go back behind the ones taken before them. */
struct mq_held {
        unsigned prio;
        size_t len;
        char data[];
};
/* What a failed save holds in memory at most to put a queue back in its
 * order; past it the rest stays queued, ahead of those put back (nothing
 * is lost, but their order within a priority is). */
#define MQ_DRAIN_MAX (64u << 20)

/*
 * Puts back what a failed save took: the contents of the entry EFD, then HELD (LEN
 * bytes, PRIO; NULL for none), then what is still queued in Q.  A message
 * sent to a queue goes behind those of its priority queued already, so the
 * ones still queued are received first (into memory, up to MQ_DRAIN_MAX)
 * and sent again last: the queue ends as it was.  Sent through a new fd
 * for writing: Q may only read (the caller may read a queue it may not
 * write).
 */
static int put_back(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at, int q, const char *held,
                    size_t len, unsigned prio) {
        _cleanup_close_ int w = -EBADF;
        struct mq_held **rest = NULL;
        size_t n_rest = 0, total = 0;
        struct mq_attr attr;
        int r;

        r = open_checked(o, parent_fd, base, O_WRONLY, &w, NULL);
        if (r < 0)
                return r;
        if (q >= 0 && mq_getattr(q, &attr) == 0 && mq_attr_valid(attr.mq_maxmsg, attr.mq_msgsize) &&
            (rest = calloc((size_t) attr.mq_maxmsg, sizeof(*rest))))
                while (n_rest < (size_t) attr.mq_maxmsg && total + (size_t) attr.mq_msgsize <= MQ_DRAIN_MAX) {
                        struct mq_held *m = malloc(sizeof(*m) + (size_t) attr.mq_msgsize);
                        ssize_t got = m ? mq_receive(q, m->data, (size_t) attr.mq_msgsize, &m->prio) : -1;
                        if (got < 0) {
                                free(m);
                                break; /* EAGAIN: all of them */
                        }
                        m->len = (size_t) got;
                        rest[n_rest++] = m;
                        total += (size_t) got;
                }
        r = putback_fd(w, at);
        while (r >= 0 && held && mq_send(w, held, len, prio) < 0)
                if (errno != EINTR)
                        r = negative_errno();
        /* Those still to go back go back whatever failed before them; one
         * that cannot (a sender filled the queue meanwhile) makes it a
         * failure, so the caller keeps the entry.  (What was sent of the
         * entry's own is not recorded: a later putback from it sends those
         * again.) */
        for (size_t i = 0; i < n_rest; i++) {
                int k;
                while ((k = mq_send(w, rest[i]->data, rest[i]->len, rest[i]->prio)) < 0 && errno == EINTR)
                        ;
                if (k < 0 && r >= 0)
                        r = negative_errno();
                free(rest[i]);
        }
        free(rest);
        return r;
}

/*
 * mq.  The queue is reached through PARENT_FD like every other file: on the
 * mqueue file system the fd openat() returns is itself a queue descriptor
 * (mq_receive and mq_getattr take it; an mqd_t is an fd on Linux), so the
 * inode checked is the one read, with no name looked up again in whatever
 * IPC namespace this process is in.
 */
static int save_mq(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at, uint64_t max_bytes,
                   struct archive_contents *ret, bool *ret_taken) {
        _cleanup_close_ int q = -EBADF, out = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct mq_attr attr;
        struct statfs sfs;
        struct stat st;
        uint64_t count = 0, bytes = 0, qsize;
        pid_t notify_pid;
        char status[128];
        ssize_t n;
        int r;

        if (fstatfs(parent_fd, &sfs) < 0)
                return negative_errno();
        if (sfs.f_type != MQUEUE_MAGIC)
                return -EMEDIUMTYPE;
        r = open_checked(o, parent_fd, base, O_RDONLY, &q, &st);
        if (r < 0)
                return r;
        if (mq_getattr(q, &attr) < 0)
                return negative_errno();
        if (!mq_attr_valid(attr.mq_maxmsg, attr.mq_msgsize))
                return -EBADMSG;

        /* Whether it fits is decided before anything is received, from the
         * queue's QSIZE (the sum of the messages' lengths): once taken,
         * messages of the last priority could only be put back behind the
         * newer ones of that priority still queued. */
        n = read(q, status, sizeof(status) - 1);
        if (n < 0)
                return negative_errno();
        status[n] = 0;
        r = mqfs_parse_status(status, &qsize, &notify_pid);
        if (r < 0)
                return r;
        /* The read stamped atime; nothing has happened to the queue yet. */
        const struct timespec ts[2] = { st.st_atim, { .tv_nsec = UTIME_OMIT } };
        (void) futimens(q, ts);
        if (qsize + (uint64_t) attr.mq_curmsgs * MQ_RECORD_HEADER > max_bytes)
                return -EFBIG;

        out = archive_contents_open(at, NULL);
        if (out < 0)
                return out;
        buf = malloc((size_t) attr.mq_msgsize);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                unsigned prio;
                ssize_t len = mq_receive(q, buf, (size_t) attr.mq_msgsize, &prio);
                if (len < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        r = negative_errno();
                        goto put_back;
                }
                *ret_taken = true;
                count++;
                bytes += MQ_RECORD_HEADER + (uint64_t) len;

                /* Only a sender racing the receive gets here (the size was
                 * checked above): more than the queue can hold, or more
                 * than allowed. */
                r = count > (uint64_t) attr.mq_maxmsg ? -EBUSY : bytes > max_bytes ? -EFBIG : 0;
                uint32_t p32 = prio;
                uint64_t l64 = (uint64_t) len;
                if (r == 0)
                        r = io_write_all(out, &p32, sizeof(p32), -1);
                if (r == 0)
                        r = io_write_all(out, &l64, sizeof(l64), -1);
                if (r == 0)
                        r = io_write_all(out, buf, (size_t) len, -1);
                if (r < 0) {
                        /* The one in hand is not in the file (or only part
                         * of it): it goes back from memory, after those
                         * written, as it was received after them. */
                        count--;
                        bytes -= MQ_RECORD_HEADER + (uint64_t) len;
                        if (ftruncate(out, at->offset + (off_t) bytes) == 0 &&
                            put_back(o, parent_fd, base, at, q, buf, (size_t) len, prio) == 0)
                                *ret_taken = false;
                        goto held;
                }
        }
        /* Synced when the entry is committed (archive.h): if that fails,
         * the messages go back (archive_posix_putback). */
        r = 0;
        goto held;

put_back:
        if (*ret_taken && put_back(o, parent_fd, base, at, q, NULL, 0, 0) == 0)
                *ret_taken = false;
held:
        /* What the entry holds, whatever happened: messages that could not
         * go back are only there, and the caller keeps them. */
        *ret = (struct archive_contents) {
                .bytes = bytes,
                .messages = count,
                .mq_maxmsg = attr.mq_maxmsg,
                .mq_msgsize = attr.mq_msgsize,
        };
        return r;
}

int archive_posix_save(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at, uint64_t max_bytes,
                       struct archive_contents *ret, bool *ret_taken) {
        struct archive_contents c = {};
        struct stat st;
        bool taken = false;
        int r;

        if (!o || parent_fd < 0 || !base || !*base || strchr(base, '/') || !at || !ret || !ret_taken)
                return -EINVAL;

        switch (o->type) {
        case IPC_TYPE_PSHM:
        case IPC_TYPE_PSEM:
                r = save_file(o, parent_fd, base, at, max_bytes, &c);
                break;
        case IPC_TYPE_MQ:
                r = save_mq(o, parent_fd, base, at, max_bytes, &c, &taken);
                /* Taken and not put back: the messages are only in the
                 * entry now, which the caller must know whatever the error,
                 * and what it holds (to keep it as an entry). */
                *ret_taken = taken;
                if (taken)
                        *ret = c;
                break;
        case IPC_TYPE_FIFO:
                /* Never opened: an open of a FIFO is an event its peers see
                 * (a blocked writer would wake). */
                if (fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return negative_errno();
                if (!S_ISFIFO(st.st_mode) || st.st_dev != o->dev || st.st_ino != o->ino)
                        return -ESTALE;
                r = 0;
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        *ret = c;
        *ret_taken = taken;
        return 0;
}

int archive_posix_putback(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at) {
        if (!o || o->type != IPC_TYPE_MQ || parent_fd < 0 || !base || !*base || strchr(base, '/') || !at)
                return -EINVAL;
        return put_back(o, parent_fd, base, at, -1, NULL, 0, 0);
}

/* Removes what restore created at PARENT_FD/BASE, if the name still is the
 * inode created (ST): never someone else's file that took the name since. */
static void remove_created(int parent_fd, const char *base, const struct stat *st) {
        struct stat now;
        if (fstatat(parent_fd, base, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st->st_dev &&
            now.st_ino == st->st_ino)
                (void) unlinkat(parent_fd, base, 0);
}

static int restore_file(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at) {
        _cleanup_close_ int in = -EBADF, fd = -EBADF;
        struct stat st;
        uint64_t bytes, size;
        bool sparse;
        int r;

        in = archive_contents_open(at, &size);
        if (in < 0)
                return in;
        /* save_file wrote exactly o->size bytes of file: anything else is
         * not the entry it wrote. */
        if (size != o->size)
                return -EBADMSG;

        fd = openat(parent_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0) {
                r = negative_errno();
                (void) unlinkat(parent_fd, base, 0); /* O_EXCL made it ours a moment ago */
                return r;
        }
        r = copy_sparse(in, at->offset, fd, 0, o->size, UINT64_MAX, &bytes, &sparse);
        /* Owner before mode: fchown clears set-id bits. */
        if (r == 0 && fchown(fd, o->uid, o->gid) < 0)
                r = negative_errno();
        if (r == 0 && fchmod(fd, o->mode & 07777) < 0)
                r = negative_errno();
        if (r == 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r < 0)
                remove_created(parent_fd, base, &st);
        return r;
}

static int restore_fifo(const struct ipc_object *o, int parent_fd, const char *base) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        char path[64];
        int r;

        /* mknod does not follow a symlink at the name: one planted there
         * makes this EEXIST like any other taker. */
        if (mkfifoat(parent_fd, base, 0600) < 0)
                return negative_errno();

        /*
         * Owner and mode on an fd, never by name: fchmodat() cannot refuse a
         * symlink on Linux, and between mkfifoat and a by-name call whoever
         * may write the directory could put one there.  A FIFO must not be
         * opened for I/O (a waiting peer would see it), so an O_PATH fd is
         * taken: fchownat(AT_EMPTY_PATH) takes it, and chmod reaches its
         * inode through /proc/self/fd, a link to the open file itself, not
         * to a name.
         */
        fd = openat(parent_fd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno(); /* not removed: what is there now may not be ours */
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid())
                return -ESTALE; /* replaced since mkfifoat: not ours to change or remove */

        r = 0;
        if (fchownat(fd, "", o->uid, o->gid, AT_EMPTY_PATH) < 0)
                r = negative_errno();
        if (r == 0) {
                (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                if (chmod(path, o->mode & 07777) < 0)
                        r = negative_errno();
        }
        if (r < 0)
                remove_created(parent_fd, base, &st);
        return r;
}

/*
 * mq: created by mq_open, the one call that takes the queue's attributes,
 * and it names the queue in this process's IPC namespace; the queue is
 * then checked to have appeared at PARENT_FD/BASE, so a PARENT_FD on some
 * other namespace's mount is refused (-EXDEV) and what was made removed.
 */
static int restore_mq(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at,
                      const struct archive_contents *c) {
        _cleanup_close_ int in = -EBADF, q = -EBADF;
        _cleanup_free_ char *buf = NULL;
        char name[NAME_MAX + 2];
        struct statfs sfs;
        struct stat st, named;
        uint64_t count, bytes, size;
        int r;

        if (!mq_attr_valid(c->mq_maxmsg, c->mq_msgsize) || c->messages > (uint64_t) c->mq_maxmsg)
                return -EBADMSG;
        if (strlen(base) > NAME_MAX || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return -EINVAL;
        if (fstatfs(parent_fd, &sfs) < 0)
                return negative_errno();
        if (sfs.f_type != MQUEUE_MAGIC)
                return -EMEDIUMTYPE;

        /* The whole file checked before the queue is made: a corrupt entry
         * leaves nothing behind. */
        in = archive_contents_open(at, &size);
        if (in < 0)
                return in;
        buf = malloc((size_t) c->mq_msgsize);
        if (!buf)
                return -ENOMEM;
        r = walk_messages(in, at->offset, size, -1, c->mq_maxmsg, c->mq_msgsize, buf, &count, &bytes);
        if (r < 0)
                return r;
        if (count != c->messages || bytes != c->bytes)
                return -EBADMSG;

        (void) snprintf(name, sizeof(name), "/%s", base);
        struct mq_attr attr = { .mq_maxmsg = c->mq_maxmsg, .mq_msgsize = c->mq_msgsize };
        q = mq_open(name, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &attr);
        if (q < 0)
                return negative_errno();
        if (fstat(q, &st) < 0) {
                r = negative_errno();
                (void) mq_unlink(name); /* O_EXCL made it ours a moment ago */
                return r;
        }
        if (fstatat(parent_fd, base, &named, AT_SYMLINK_NOFOLLOW) < 0 || named.st_dev != st.st_dev ||
            named.st_ino != st.st_ino) {
                (void) mq_unlink(name);
                return -EXDEV;
        }

        r = 0;
        if (fchown(q, o->uid, o->gid) < 0)
                r = negative_errno();
        if (r == 0 && fchmod(q, o->mode & 0777) < 0)
                r = negative_errno();
        if (r == 0)
                r = walk_messages(in, at->offset, size, q, c->mq_maxmsg, c->mq_msgsize, buf, NULL, NULL);
        if (r < 0)
                remove_created(parent_fd, base, &st);
        return r;
}

int archive_posix_restore(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at,
                          const struct archive_contents *c) {
        if (!o || parent_fd < 0 || !base || !*base || strchr(base, '/') || !at || !c)
                return -EINVAL;

        switch (o->type) {
        case IPC_TYPE_PSHM:
        case IPC_TYPE_PSEM:
                return restore_file(o, parent_fd, base, at);
        case IPC_TYPE_MQ:
                return restore_mq(o, parent_fd, base, at, c);
        case IPC_TYPE_FIFO:
                return restore_fifo(o, parent_fd, base);
        default:
                return -EINVAL;
        }
}
