/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "ipc_object.h"

/*
 * The archive of removed objects (issue 11): before an object is removed,
 * its facts and contents are written to an entry, from which `ipcgc
 * restore` puts it back.  Not yet wired into reap(): this is the format and
 * the per-type capture and restore.
 *
 * An entry is one regular file ARCHIVEDIR/NAME, mode 0600, owned by root
 * (one inode an entry: what archiving thousands of orphans costs is mostly
 * the file system's per inode):
 *   from 0     the manifest, JSON (archive_manifest_write), ending at the
 *              first NUL byte before ARCHIVE_DATA_OFFSET: "format":
 *              "ipcgc-archive 2", the object's facts as object_to_json()
 *              gives them plus "mode" (octal string of every bit, SHM_DEST
 *              and SHM_LOCKED included), "dtime", "dev"/"ino" for files,
 *              and "removed": {time, verdict, reason, rule, by_uid,
 *              by_pid}, and "contents": what the type module wrote (below);
 *   from ARCHIVE_DATA_OFFSET to the end, the contents (the gap before is
 *              a hole, which takes no room):
 *              shm: the segment's bytes; pshm, psem: the file's bytes,
 *              sparse where the file is (the offset is a whole number of
 *              blocks, so a hole stays a hole);
 *              msg: each message in queue order as
 *                  int64 mtype (host order), uint64 length, the bytes;
 *              mq: each message in the order received (priority, then
 *                  age) as uint32 priority, uint64 length, the bytes;
 *              sem: one line per semaphore, its value in decimal;
 *              fifo: nothing (the file ends with the manifest).
 * The file is made with O_TMPFILE and linked at NAME when committed, so an
 * entry has its name only once it is whole on disk (where the file system
 * has no O_TMPFILE: made as .new-NAME, O_CREAT|O_EXCL|O_NOFOLLOW, and
 * renamed).  Entries are reached by *at() calls relative to the archive's
 * directory fd with O_NOFOLLOW, and read only when they are regular files.
 */

#define ARCHIVE_FORMAT "ipcgc-archive 2"
/* Where an entry's contents begin; the manifest is shorter. */
#define ARCHIVE_DATA_OFFSET 65536

/* What a type module says it wrote, for the manifest's "contents". */
struct archive_contents {
        uint64_t bytes;    /* of data or messages: what the entry costs */
        uint64_t messages; /* msg, mq: how many */
        unsigned values;   /* sem: how many */
        /* mq: the queue's attributes, to create it again with */
        long mq_maxmsg, mq_msgsize;
        bool hugetlb, locked; /* shm: SHM_HUGETLB (bytes kept; made again with it), SHM_LOCKED (made again locked) */
        /* msg: MSG_COPY is missing (ENOSYS): see archive_sysv_save */
        bool sparse; /* pshm, psem: holes were kept as holes */
};

/*
 * SysV (lib/archive_sysv.c).  Saves the contents of O (shm, msg or sem),
 * as re-read just before, into the contents of the entry EFD: -EFBIG when they
 * would pass MAX_BYTES (nothing is left behind then by the caller's
 * abort), -ENOSPC/-EIO as the writes fail, -EIDRM when the object is gone,
 * -EACCES when it cannot be read.  shm is read through shmat(SHM_RDONLY)
 * a chunk at a time, each chunk's pages dropped from this process once
 * written (madvise), so a 256 MiB segment never counts against the
 * caller's memory; msg through msgrcv(IPC_NOWAIT | MSG_COPY) by index,
 * nothing received; without MSG_COPY (-ENOSYS) a queue with messages is
 * not archived (-ENOTSUP: receiving them would lose them if the removal
 * then did not happen and they could not all be put back), an empty one
 * is; sem through semctl(GETALL).  -ESTALE when the object changed under
 * the save; on failure the caller aborts the entry.  Note: shmat and shmdt move
 * a segment's atime, dtime and lpid (to this process): the caller compares
 * the object's facts before saving, and a removal that then does not
 * happen leaves this process as the segment's last user (MSG_COPY and
 * GETALL change nothing).
 */
int archive_sysv_save(const struct ipc_object *o, int efd, uint64_t max_bytes, struct archive_contents *ret);
/*
 * Creates the SysV object described by O (type, id, key, uid, gid, mode,
 * size, nsems) again from the entry EFD: with the same id where
 * kernel.{shm,msg,sem}_next_id lets it be asked for (then the id got is
 * checked; *RET_SAME_ID says whether it came out as asked), else a new
 * one; IPC_CREAT | IPC_EXCL on the key (-EEXIST when the key is taken now,
 * nothing created); IPC_SET for owner and mode; the contents copied back
 * (shm: written through shmat; msg: msgsnd in order, IPC_NOWAIT; sem:
 * SETALL).  On any failure after creation the new object is removed
 * again.  *RET_ID: the id it has now.  It is created root's and 0600, filled,
 * then given its owner and mode, so nobody uses it half restored.  -EEXIST,
 * -EMSGSIZE (a message longer than msgmax allows), -EBADMSG (an entry whose
 * contents do not agree with its facts).  A queue's msg_qbytes is not kept: it
 * is raised to fit the messages if need be.
 */
int archive_sysv_restore(const struct ipc_object *o, int efd, const struct archive_contents *c, int *ret_id,
                         bool *ret_same_id);

/*
 * POSIX and FIFOs (lib/archive_posix.c).  Saves the contents of O (mq,
 * pshm, psem or fifo) into the contents of the entry EFD.  The object is reached as reap() reaches
 * it: PARENT_FD is the directory its name lives in (MqueueDir, ShmDir, the
 * FIFO's directory) and BASE its name there, opened with O_NOFOLLOW and
 * checked to be the inode O names (dev, ino): -ESTALE when it is not.
 * pshm, psem: the file's bytes, holes kept (SEEK_DATA/SEEK_HOLE).  mq: a
 * queue can only be read by receiving: every message is received
 * (O_NONBLOCK) and written in order, and *RET_TAKEN set; if the removal
 * then does not happen, archive_posix_putback() sends them back, each with
 * its priority.  The fd the mqueue mount gives for BASE is itself a queue
 * descriptor: the inode checked is the one read, no name is looked up in
 * some IPC namespace again.  The size is checked against MAX_BYTES before
 * anything is received (-EFBIG): messages taken could only go back behind
 * newer ones of their priority.  *RET_TAKEN is set whatever the return:
 * true means some messages are only in the entry (a putback failed), and
 * the caller must keep it.  contents.bytes of an mq is the length of its
 * contents, the records' headers included, as restore checks it.  -ESTALE: a
 * symlink at the name, another inode, or a size other than O's.  fifo:
 * nothing (its path, owner and mode are in the manifest).
 */
int archive_posix_save(const struct ipc_object *o, int parent_fd, const char *base, int efd, uint64_t max_bytes,
                       struct archive_contents *ret, bool *ret_taken);
/* Sends the messages archive_posix_save() received from the mq O back into
 * it (the same queue, at PARENT_FD/BASE, still the same inode), in order,
 * each with its priority. */
int archive_posix_putback(const struct ipc_object *o, int parent_fd, const char *base, int efd);
/*
 * Creates the object described by O again at PARENT_FD/BASE from the entry EFD:
 * O_CREAT | O_EXCL | O_NOFOLLOW (mkfifoat for a FIFO; mq_open with the
 * queue's attributes, for which BASE is the queue's name without '/'):
 * -EEXIST when the name is taken now; then owner and mode as O says
 * (fchown, fchmod on the fd, never by path); the contents copied back
 * (pshm, psem: the bytes, holes kept; mq: each message with its priority).
 * On any failure after creation the new object is removed again (only if
 * the name still is the inode created).  -EXDEV: PARENT_FD is another IPC
 * namespace's mqueue mount; -EMEDIUMTYPE: not an mqueue mount; -EBADMSG:
 * an entry whose contents do not agree with its facts.  A FIFO's mode is set
 * through /proc/self/fd (an O_PATH fd of the FIFO just made): /proc must be
 * mounted.  A psem's value is in its bytes.
 */
int archive_posix_restore(const struct ipc_object *o, int parent_fd, const char *base, int efd,
                          const struct archive_contents *c);

/*
 * The entries themselves (lib/archive.c): the archive directory, an entry
 * made without a name and committed by a link, its manifest,
 * the listing and the eviction.
 */

/* Why and by whom an object was removed, for the manifest. */
struct archive_removal {
        time_t time;
        char verdict[16];
        char *reason; /* malloc'd when read back */
        char *rule;   /* NULL: none */
        uid_t by_uid;
        pid_t by_pid;
};

/* An entry's name: UTC time, type, id or name (bytes other than
 * [A-Za-z0-9._-] as '_', cut at 64), six random hex digits. */
#define ARCHIVE_NAME_MAX 128

struct archive_entry {
        char name[ARCHIVE_NAME_MAX]; /* once committed */
        char tmp[ARCHIVE_NAME_MAX + 8]; /* "": made by O_TMPFILE; else ".new-" NAME until committed */
        int fd;                      /* the entry's file, until committed */
        uint64_t disk_bytes;         /* what it takes: the caller's to set (archive_commit_batch does not
                                      * measure it, which would cost a stat an entry) */
        bool committed;
};

/*
 * Opens the archive directory PATH (O_DIRECTORY | O_NOFOLLOW); with
 * ARCHIVE_CREATE it is made 0700 (its parents 0755) when missing, without
 * it a missing one is -ENOENT (listing and restoring change nothing).
 * Refuses (-EPERM) one that is not owned by this process's euid or that
 * others may enter (mode & 077), and a symlink (-ELOOP): an archive holds
 * other users' data.  *RET_FD: its fd.
 */
enum {
        ARCHIVE_CREATE = 1u << 0,
};
int archive_open_dir(const char *path, unsigned flags, int *ret_fd);
/* Could NAME be an entry's name: not empty, no '/', not hidden (".new-"
 * ones are not committed), shorter than ARCHIVE_NAME_MAX? */
bool archive_name_ok(const char *name);
/* Starts an entry for O in the archive ARCHIVE_FD: a file, mode 0600, with
 * no name yet (O_TMPFILE; else .new-NAME); E->fd its fd, for reading and
 * writing. */
int archive_entry_begin(int archive_fd, const struct ipc_object *o, time_t now, struct archive_entry *e);
/* Writes E's manifest: O's facts, WHY, and C (what the type module wrote). */
int archive_manifest_write(const struct archive_entry *e, const struct ipc_object *o,
                           const struct archive_removal *why, const struct archive_contents *c);
/* Makes E an entry: archive_commit_batch() of E alone. */
int archive_entry_commit(int archive_fd, struct archive_entry *e);
/*
 * Makes the N entries ES (begun, written, not committed) entries at once,
 * for a batch of removals: one syncfs(2) of the archive's file system for
 * all their files, then each linked at its NAME (or renamed from
 * .new-NAME), then one more syncfs for the names.  A committed entry's fd
 * is closed; one whose link failed is left uncommitted (->committed false,
 * its fd open) for the caller to abort; a failed sync commits none.
 * Returns 0 or the first error.  A sync per entry would cost a disk flush
 * per removal: thousands of orphans would take minutes.
 */
int archive_commit_batch(int archive_fd, struct archive_entry *const *es, size_t n);
/* Drops an entry that was begun and not committed, with what it holds. */
void archive_entry_abort(int archive_fd, struct archive_entry *e);
/* Opens the committed entry NAME of ARCHIVE_FD for reading: -ENOENT for a
 * symlink (never followed), -EBADMSG for anything but a regular file.
 * *RET_DISK_BYTES (may be NULL): what it takes on disk. */
int archive_entry_open(int archive_fd, const char *name, int *ret_fd, uint64_t *ret_disk_bytes);
/* The contents of the entry open at EFD: a new fd (a dup, sharing EFD's
 * file position) at ARCHIVE_DATA_OFFSET, to read or write them in order;
 * *RET_SIZE (may be NULL): their length now. */
int archive_contents_open(int efd, uint64_t *ret_size);
/* Removes the entry NAME (a committed one) with what it holds. */
int archive_entry_remove(int archive_fd, const char *name);

/* Reads the manifest of the entry open at EFD: the object's facts into
 * *RET_O (its name malloc'd), WHY and C.  -EBADMSG for anything that is not
 * a manifest this version wrote, with every field in range. */
int archive_manifest_read(int efd, struct ipc_object *ret_o, struct archive_removal *ret_why,
                          struct archive_contents *ret_c);
void archive_removal_done(struct archive_removal *why);

/* One entry, as listed. */
struct archive_item {
        char name[ARCHIVE_NAME_MAX];
        struct ipc_object object;  /* from its manifest */
        struct archive_removal why;
        struct archive_contents contents;
        uint64_t disk_bytes; /* what its files take on disk */
};
struct archive_listing {
        struct archive_item *items; /* newest first */
        size_t n_items;
        size_t n_bad; /* entries whose manifest could not be read: left alone, counted */
};
/* Every committed entry of the archive; at most ARCHIVE_MAX_ENTRIES. */
#define ARCHIVE_MAX_ENTRIES 65536u
int archive_list(int archive_fd, struct archive_listing **ret);
struct archive_listing *archive_listing_free(struct archive_listing *l);

/* Removes the oldest entries until what the archive's entries take on disk
 * is at most MAX_BYTES, never one removed less than KEEP_SECONDS before
 * NOW.  *RET_EVICTED: how many went.  -EDQUOT when the young ones alone
 * pass MAX_BYTES (then the caller must not archive more). */
int archive_evict(int archive_fd, uint64_t max_bytes, time_t now, uint64_t keep_seconds, size_t *ret_evicted);

/*
 * The room the archive has, kept over a sweep: the entries listed once,
 * then evicted oldest first as new ones need room, the new ones counted as
 * they are committed.  Entries made during the sweep are not evicted by it.
 */
struct archive_space {
        struct archive_listing *listing;
        size_t next_oldest; /* listing->items[0 .. next_oldest) are still there */
        uint64_t total;     /* on disk now */
        size_t count;       /* entries now, those reserved for included */
        uint64_t max_bytes, keep_seconds;
        size_t evicted;
};
int archive_space_open(int archive_fd, uint64_t max_bytes, uint64_t keep_seconds, struct archive_space *ret);
/* Evicts until NEED more bytes fit under max_bytes, and one more entry
 * under ARCHIVE_MAX_ENTRIES (past which the archive could not be listed,
 * nor so evicted), and counts them as
 * taken (a reservation, for an entry about to be written: the entries of
 * one batch are committed together, and each must see the others'):
 * -EFBIG when NEED alone passes max_bytes, -EDQUOT when the entries younger
 * than keep_seconds (or made in this sweep) leave no room: nothing of
 * theirs is evicted. */
int archive_space_reserve(int archive_fd, struct archive_space *s, uint64_t need, time_t now);
/* A reservation of RESERVED bytes became an entry of ACTUAL bytes (0: none
 * was made, or it was removed again). */
static inline void archive_space_settle(struct archive_space *s, uint64_t reserved, uint64_t actual) {
        s->total = s->total >= reserved ? s->total - reserved : 0;
        s->total += actual;
        if (actual == 0 && s->count > 0)
                s->count--;
}
void archive_space_done(struct archive_space *s);
