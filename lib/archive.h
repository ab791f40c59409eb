/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "ipc_object.h"

/*
 * The archive of removed objects (issue 11): before an object is removed,
 * its facts and contents are written to an entry, from which `ipcgc
 * restore` puts it back (reap() archives first; lib/restore.c restores).
 *
 * The entries of one batch of removals are kept together in a pack, one
 * regular file ARCHIVEDIR/PACKNAME, mode 0600, owned by root: what
 * archiving thousands of orphans costs is mostly the file system's, per
 * inode, per name and per block, and most entries are far smaller than a
 * block (a file an entry wrote ten times the bytes the objects held, and
 * took twice as long as the sweep itself).  A pack holds, in the order
 * written:
 *   for each entry, its contents (at an offset a multiple of 8, or of the
 *   block size for pshm and psem, so that their holes stay holes), then
 *   its manifest, JSON (archive_manifest_write): "format": "ipcgc-archive
 *   3", the object's facts as object_to_json() gives them plus "mode"
 *   (octal string of every bit, SHM_DEST and SHM_LOCKED included),
 *   "dtime", "dev"/"ino" for files, and "removed": {time, verdict,
 *   reason, rule, by_uid, by_pid}, and "contents": what the type module
 *   wrote (below);
 *   the index, JSON: {"format": "ipcgc-pack 1", "entries": [{"entry":
 *   NAME, "manifest": [OFFSET, LENGTH], "contents": [OFFSET, LENGTH]}...]};
 *   a trailer (struct archive_pack_trailer): a magic, where the index is,
 *   how many entries it lists.  Dropping an entry appends a new index and
 *   trailer; the last trailer is the pack's.
 * The contents, by type:
 *   shm: the segment's bytes; pshm, psem: the file's bytes, sparse where
 *   the file is;
 *   msg: each message in queue order as int64 mtype (host order), uint64
 *   length, the bytes;
 *   mq: each message in the order received (priority, then age) as
 *   uint32 priority, uint64 length, the bytes;
 *   sem: one line per semaphore, its value in decimal;
 *   fifo: nothing.
 * A pack is made with O_TMPFILE and linked at its name when committed, so
 * its entries have names only once they are whole on disk (where the file
 * system has no O_TMPFILE: made as .new-PACKNAME, O_CREAT|O_EXCL|
 * O_NOFOLLOW, and renamed).  Packs are opened with O_NOFOLLOW relative to
 * the archive's directory fd and read only when they are regular files;
 * every offset and length read from one is checked against the file.
 */

#define ARCHIVE_FORMAT "ipcgc-archive 3"
#define ARCHIVE_PACK_FORMAT "ipcgc-pack 1"
/* A manifest, and a pack's index, are read back only up to these sizes. */
#define ARCHIVE_MANIFEST_MAX (64u * 1024u)
#define ARCHIVE_INDEX_MAX (16u * 1024u * 1024u)

/* Where an entry's contents are: in the file FD from OFFSET on, LENGTH
 * bytes (ARCHIVE_TO_END: all that follows OFFSET, while it is written). */
struct archive_at {
        int fd;
        off_t offset;
        uint64_t length;
};
#define ARCHIVE_TO_END UINT64_MAX
/* A new fd (a dup of AT->fd, sharing its file position) at AT's offset, to
 * read or write the contents in order; *RET_SIZE (may be NULL): their
 * length (for ARCHIVE_TO_END, up to the end of the file now). */
int archive_contents_open(const struct archive_at *at, uint64_t *ret_size);

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
 * as re-read just before, into the contents AT (the end of its pack): -EFBIG when they
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
int archive_sysv_save(const struct ipc_object *o, const struct archive_at *at, uint64_t max_bytes, struct archive_contents *ret);
/*
 * Creates the SysV object described by O (type, id, key, uid, gid, mode,
 * size, nsems) again from the contents AT: with the same id where
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
int archive_sysv_restore(const struct ipc_object *o, const struct archive_at *at, const struct archive_contents *c, int *ret_id,
                         bool *ret_same_id);

/*
 * POSIX and FIFOs (lib/archive_posix.c).  Saves the contents of O (mq,
 * pshm, psem or fifo) into the contents AT (the end of its pack).  The object is reached as reap() reaches
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
int archive_posix_save(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at, uint64_t max_bytes,
                       struct archive_contents *ret, bool *ret_taken);
/* Sends the messages archive_posix_save() received from the mq O back into
 * it (the same queue, at PARENT_FD/BASE, still the same inode), in order,
 * each with its priority. */
int archive_posix_putback(const struct ipc_object *o, int parent_fd, const char *base,
                          const struct archive_at *at);
/*
 * Creates the object described by O again at PARENT_FD/BASE from the contents AT:
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
int archive_posix_restore(const struct ipc_object *o, int parent_fd, const char *base, const struct archive_at *at,
                          const struct archive_contents *c);

/*
 * The entries themselves (lib/archive.c, lib/archive_pack.c): the archive
 * directory, a batch's entries written into a pack made without a name and
 * committed by a link, their manifests, the listing and the eviction.
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
 * [A-Za-z0-9._-] as '_', cut at 64), six random hex digits.  A pack's: the
 * time, "pack", six random hex digits. */
#define ARCHIVE_NAME_MAX 128

struct archive_entry;
/* The entries of one batch, being written. */
struct archive_pack {
        int fd;                         /* -1: none begun yet */
        char name[ARCHIVE_NAME_MAX];
        char tmp[ARCHIVE_NAME_MAX + 8]; /* "": made by O_TMPFILE; else ".new-" NAME until committed */
        off_t end;                      /* where the next entry goes */
        struct archive_entry **entries; /* in the order begun; NULL: aborted */
        size_t n_entries, n_allocated;
        bool sealed;                    /* a commit was tried: nothing more goes in */
        bool committed;
};
#define ARCHIVE_PACK_INIT { .fd = -1 }

struct archive_entry {
        char name[ARCHIVE_NAME_MAX];
        struct archive_pack *pack;   /* NULL: not begun */
        off_t start;                 /* the pack's end when it was begun */
        struct archive_at contents;  /* ARCHIVE_TO_END until the manifest is written */
        off_t manifest_offset;
        size_t manifest_length;      /* 0: not written */
        uint64_t disk_bytes;         /* what it takes: the caller's to set */
        bool committed;
        bool dropped;                /* committed, then not the object's after all: out at archive_pack_done */
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
/* Could NAME be an entry's (or a pack's) name: not empty, no '/', not
 * hidden (".new-" ones are not committed), shorter than ARCHIVE_NAME_MAX? */
bool archive_name_ok(const char *name);
/* Starts an entry for O in the pack P of the archive ARCHIVE_FD (its file
 * made, nameless, at the first entry): E->contents says where the type
 * module writes (the pack's end).  E must stay where it is until the pack
 * is done. */
int archive_entry_begin(int archive_fd, struct archive_pack *p, const struct ipc_object *o, time_t now,
                        struct archive_entry *e);
/* Writes E's manifest after its contents: O's facts, WHY, and C (what the
 * type module wrote).  -E2BIG for one longer than ARCHIVE_MANIFEST_MAX. */
int archive_manifest_write(struct archive_entry *e, const struct ipc_object *o, const struct archive_removal *why,
                           const struct archive_contents *c);
/* Drops an entry that was begun and not committed, with what it holds
 * (the pack's file shrinks back when it was the last one). */
void archive_entry_abort(struct archive_entry *e);
/*
 * Makes the entries of P (those begun, not aborted, whose manifests were
 * written) entries at once: its index and trailer written, one syncfs(2)
 * of the archive's file system, the pack linked at its name, one more
 * syncfs for the name and the link count (which a file system without a
 * journal writes apart from the directory).  All or none: on failure none
 * is committed.  A sync per entry would cost a disk flush per removal.
 * 0 when P holds nothing to commit.
 */
int archive_pack_commit(int archive_fd, struct archive_pack *p);
/* Keeps what the uncommitted entry E holds (an mq's messages that could
 * not go back) as an entry of its own, in a pack of its own committed now,
 * with a manifest of O, WHY and C (what E holds); E is dropped from its
 * pack and named as the kept one.  Never the batch's pack: that one may
 * still be written, or may have failed to sync. */
int archive_entry_keep(int archive_fd, struct archive_entry *e, const struct ipc_object *o,
                       const struct archive_removal *why, const struct archive_contents *c);
/* Closes P, dropping its entries marked ->dropped from its index (one
 * rewrite for all of them); one not committed goes, with its entries. */
void archive_pack_done(int archive_fd, struct archive_pack *p);

/* A committed entry found for reading. */
struct archive_found {
        int fd; /* its pack, read only: the caller's to close */
        char name[ARCHIVE_NAME_MAX];
        char pack[ARCHIVE_NAME_MAX];
        off_t manifest_offset;
        size_t manifest_length;
        struct archive_at contents; /* contents.fd is FD */
};
/* Finds the entry NAME in the archive ARCHIVE_FD: -ENOENT when no pack has
 * it (a symlink or anything but a regular file is no pack: never
 * followed); -EBADMSG when the pack that lists it is not one this version
 * wrote. */
int archive_entry_find(int archive_fd, const char *name, struct archive_found *ret);
/* Removes the committed entries NAMES from the pack PACK (the pack too when
 * none is left): a new index appended and synced, the file cut back to
 * what it was on failure. */
int archive_pack_drop(int archive_fd, const char *pack, const char *const *names, size_t n_names);
int archive_entry_remove(int archive_fd, const char *pack, const char *name);

/* Between lib/archive.c and lib/archive_pack.c. */
/* The names in the archive ARCHIVE_FD, from the first, on a fd of their own. */
int archive_names_open(int archive_fd, DIR **ret);
/* Writes TEXT (LEN bytes) as E's manifest, after its contents. */
int archive_entry_write_manifest_text(struct archive_entry *e, const char *text, size_t len);
/* The pack NAME's stat and how many entries its trailer says it holds. */
int archive_pack_count(int archive_fd, const char *name, struct stat *ret_st, size_t *ret_entries);
/* Every entry of the pack NAME: *RET (malloc'd) of *RET_N, all sharing one
 * fd (the caller closes (*RET)[0].fd when *RET_N > 0). */
int archive_pack_entries(int archive_fd, const char *name, struct archive_found **ret, size_t *ret_n);

/* Reads the manifest of the entry F: the object's facts into *RET_O (its
 * name malloc'd), WHY and C.  -EBADMSG for anything that is not a manifest
 * this version wrote, with every field in range. */
int archive_manifest_read(const struct archive_found *f, struct ipc_object *ret_o, struct archive_removal *ret_why,
                          struct archive_contents *ret_c);
void archive_removal_done(struct archive_removal *why);

/* One entry, as listed. */
struct archive_item {
        char name[ARCHIVE_NAME_MAX];
        char pack[ARCHIVE_NAME_MAX];
        struct ipc_object object;  /* from its manifest */
        struct archive_removal why;
        struct archive_contents contents;
        uint64_t disk_bytes; /* its contents' and manifest's bytes */
};
struct archive_listing {
        struct archive_item *items; /* newest first */
        size_t n_items;
        size_t n_bad; /* packs that could not be read, and entries whose manifest could not: left alone, counted */
};
/* Every committed entry of the archive; at most ARCHIVE_MAX_ENTRIES. */
#define ARCHIVE_MAX_ENTRIES 65536u
int archive_list(int archive_fd, struct archive_listing **ret);
struct archive_listing *archive_listing_free(struct archive_listing *l);

/* Removes the oldest packs until what the archive's packs take on disk is
 * at most MAX_BYTES, never one made less than KEEP_SECONDS before NOW.
 * *RET_EVICTED: how many entries went.  -EDQUOT when the young ones alone
 * pass MAX_BYTES (then the caller must not archive more). */
int archive_evict(int archive_fd, uint64_t max_bytes, time_t now, uint64_t keep_seconds, size_t *ret_evicted);

/*
 * The room the archive has, kept over a sweep: the packs found once (their
 * names, what they take and how many entries they hold: a stat and the
 * trailer's read each, no manifest read, so a sweep's cost does not grow
 * with what the archive holds beyond that), then evicted oldest first as
 * new entries need room, the new ones counted as they are committed.  The
 * entries of a pack go together: they were removed in one batch, at one
 * time.  A pack's age is its file's mtime (when it was written, just
 * before the removals).  Packs made during the sweep are not evicted by it.
 */
struct archive_space_item {
        char name[ARCHIVE_NAME_MAX];
        time_t time; /* its mtime */
        uint64_t disk_bytes;
        size_t entries;
};
struct archive_space {
        struct archive_space_item *items; /* newest first */
        size_t n_items;
        size_t next_oldest; /* items[0 .. next_oldest) are still there */
        uint64_t total;     /* on disk now */
        size_t count;       /* entries now, those reserved for included */
        uint64_t max_bytes, keep_seconds;
        size_t evicted;     /* entries */
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
