/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "macro.h"

enum ipc_type {
        IPC_TYPE_SHM,
        IPC_TYPE_MSG,
        IPC_TYPE_SEM,
        IPC_TYPE_MQ,
        IPC_TYPE_PSHM,
        IPC_TYPE_PSEM,
        IPC_TYPE_FIFO,
        _IPC_TYPE_MAX,
};

#define IPC_TYPE_BIT(t) (1u << (t))
#define IPC_TYPE_MASK_ALL (IPC_TYPE_BIT(_IPC_TYPE_MAX) - 1)
#define IPC_TYPE_MASK_SYSV (IPC_TYPE_BIT(IPC_TYPE_SHM) | IPC_TYPE_BIT(IPC_TYPE_MSG) | IPC_TYPE_BIT(IPC_TYPE_SEM))

const char *ipc_type_to_string(enum ipc_type t);
/* Returns the type, or -EINVAL. */
int ipc_type_from_string(const char *s);
/* "shm msg" or "shm,msg"; "all" selects every type.  An empty list is -EINVAL:
 * a scan of nothing is always a mistake in the caller's config. */
int ipc_type_mask_parse(const char *list, unsigned *ret_mask);
static inline bool ipc_type_is_sysv(enum ipc_type t) {
        return IPC_TYPE_MASK_SYSV & IPC_TYPE_BIT(t);
}
static inline bool ipc_type_is_file(enum ipc_type t) {
        return !ipc_type_is_sysv(t);
}

/* One semaphore of a SysV set, as semctl reports it. */
struct sem_member {
        pid_t pid; /* GETPID: last semop */
        unsigned ncnt, zcnt;
};

/* A pid field the object's type does not have at all (sem has no cpid). */
#define PID_NONE ((pid_t) -1)

enum {
        /* semctl GETPID/GETNCNT/GETZCNT was refused: waiter and last-op evidence unknown */
        IPC_OBJECT_SEM_UNREADABLE = 1u << 0,
        /* mq QSIZE/NOTIFY_PID not read (no permission, or times could not be kept) */
        IPC_OBJECT_MQ_UNREADABLE = 1u << 1,
        /* sems belongs to the earlier inventory it was lent from (see
         * inventory_index_lend_sem_counts), which must outlive this one */
        IPC_OBJECT_SEMS_LENT = 1u << 2,
};

/*
 * One IPC object, whatever its type.  The time fields keep the kernel's
 * meaning, mapped onto four names:
 *   shm:   atime = last attach, dtime = last detach
 *   msg:   mtime = last send (stime), atime = last receive (rtime)
 *   sem:   mtime = last semop (otime)
 *   files: atime, mtime as stat(2) reports them (mq: last receive / last send)
 * ctime is always "last change", never creation: no IPC type records that.
 */
struct ipc_object {
        /* Four-byte fields first, then eight-byte ones: a daemon keeps one
         * of these per object, and padding would cost an eighth more. */
        enum ipc_type type;
        int id;      /* SysV id; -1 for named objects */
        int32_t key; /* SysV key, signed as /proc/sysvipc prints it */
        uid_t uid, cuid;
        gid_t gid, cgid;
        mode_t mode; /* permission bits; SysV may add SHM_DEST/SHM_LOCKED above 0777 */
        pid_t cpid, lpid, lrpid; /* PID_NONE where the type has no such field */
        pid_t notify_pid;        /* mq: 0 when nobody is registered */
        unsigned nsems;          /* sem */
        unsigned flags;

        char *name;    /* "/name" for mq, pshm, psem; absolute path for fifo; NULL for SysV */
        uint64_t size; /* bytes: shm size, msg cbytes, mq QSIZE, file size; sem 0 */
        uint64_t nattch; /* shm */
        uint64_t qnum;   /* msg: messages queued */

        time_t atime, mtime, ctime, dtime;

        struct sem_member *sems; /* sem: nsems of them */

        dev_t dev; /* files: identity for the holder index and re-verification */
        ino_t ino;

        pid_t *holders; /* sorted, unique */
        size_t n_holders;
};

/* Is O UID's: owned or made by it (what a caller who is not an admin may
 * see and dry-run)? */
static inline bool ipc_object_belongs_to(const struct ipc_object *o, uid_t uid) {
        return o->uid == uid || o->cuid == uid;
}

/*
 * Names are bytes, not text: a FIFO's path may hold a newline, a byte that
 * is no UTF-8, a terminal's escape sequence.  Wherever a name goes out, in
 * an ID, as JSON or as a line for people, it goes out escaped, one way:
 *   - a byte that is not part of a valid UTF-8 character, or is part of a
 *     control character (U+0000-U+001F, U+007F, U+0080-U+009F), becomes
 *     the four characters \xHH (lowercase hex), one escape per byte;
 *   - a backslash becomes \\;
 *   - everything else, printable UTF-8, is left as it is.
 * The result is valid UTF-8 with no control characters, and the escaping is
 * reversible: ipc_name_unescape() gives the bytes back.
 *
 * Free text that is not read back (a reason, a log line, a warning) gets
 * the first rule only, IPC_ESCAPE_TEXT: its backslashes stay single, so an
 * ID quoted in it reads the same as the ID.
 */
enum {
        IPC_ESCAPE_NAME = 0,    /* reversible: backslashes doubled */
        IPC_ESCAPE_TEXT = 1u << 0, /* backslashes left alone */
};
/* Escapes S into BUF of SIZE (NUL-terminated when SIZE > 0, cut only
 * between escapes), like snprintf: returns the length all of it takes. */
size_t ipc_escape(char *buf, size_t size, const char *s, unsigned flags);
/* The same, allocated; NULL on ENOMEM. */
char *ipc_escape_alloc(const char *s, unsigned flags);
/* Undoes IPC_ESCAPE_NAME: \\ and \xHH are decoded, every other byte is
 * taken as it is (so a name typed raw finds its object too).  -EINVAL for
 * any other backslash, or for \x00 (no name holds a NUL). */
int ipc_name_unescape(const char *s, char **ret);

/* "shm:123", "mq:/name", "fifo:/tmp/x", the name escaped as above.
 * Returns NULL on ENOMEM. */
char *ipc_object_id(const struct ipc_object *o);
void ipc_object_done(struct ipc_object *o);
/*
 * Do JUDGED and NOW, the same object read twice, carry different facts of
 * those a verdict is made of (holders aside)?  NULL if not, else what
 * changed, in words.  The one comparison for confirming a judgement and for
 * re-verifying before removal.  An mq's ctime is not compared: reading a
 * queue's status stamps it.
 */
const char *ipc_object_changed(const struct ipc_object *judged, const struct ipc_object *now);

struct stat;
/* Owner, mode, size, identity and times of a file-backed object. */
void ipc_object_set_stat(struct ipc_object *o, const struct stat *st);

/* Upper bound on objects per inventory.  The kernel's own limits are tunable
 * into the millions; past this we stop and say so rather than grow without
 * bound inside a daemon. */
#define INVENTORY_MAX_OBJECTS (1u << 21)
#define INVENTORY_MAX_WARNINGS 64u

struct inventory {
        struct ipc_object *objects;
        size_t n_objects, n_allocated;

        /* Problems found while collecting: bad lines, a missing mount.  Each
         * said once; the caller decides how to show them. */
        char **warnings;
        size_t n_warnings;
        size_t n_warnings_dropped;

        unsigned unavailable; /* IPC_TYPE_BIT()s that could not be collected at all */

        /* The caps of this collection (collect_inventory sets them from
         * [Scan]; 0: none but INVENTORY_MAX_OBJECTS).  What they left out
         * is neither judged nor removed; its type is in TRUNCATED, so that
         * nothing is concluded from its absence (its memory is kept). */
        size_t max_objects, max_per_dir, max_per_user;
        unsigned truncated;                /* IPC_TYPE_BIT()s of which some were left out */
        size_t n_left_out[_IPC_TYPE_MAX];  /* by type */
        size_t n_over_max;                 /* of those, past max_objects */
        struct inventory_uid_count *uid_counts; /* open addressing, n_uid_slots a power of 2 */
        size_t n_uid_slots, n_uids;

        /* The directories the file objects were found in (every one
         * walked), for whoever wants to watch them for change. */
        struct inventory_dir *dirs;
        size_t n_dirs;

        /* The IPC namespace collected (its inode; 0: not said, the plain
         * run's own), whether it is another than this process's (FOREIGN:
         * its ids are given as "ipc:INO/shm:5"), and its name for people
         * (malloc'd, NULL: none known). */
        uint64_t ipcns;
        bool foreign;
        char *container;
};

struct inventory_dir {
        char *path;
        dev_t dev;
        ino_t ino;
        /* MaxObjectsPerDir= cut it short: N_LEFT_OUT objects in it were
         * not collected, so what it holds is not known whole. */
        bool truncated;
        size_t n_left_out;
};

struct inventory_uid_count {
        uid_t uid;
        uint32_t n; /* 0: a free slot */
};

int inventory_new(struct inventory **ret);
struct inventory *inventory_free(struct inventory *inv);
static inline void inventory_freep(struct inventory **p) {
        if (*p)
                inventory_free(*p);
}

/* Returns a zeroed object with pid fields set to PID_NONE and id -1, or NULL
 * when out of memory or over the inventory's max_objects (errno E2BIG: the
 * object is counted as left out, and the collection may go on). */
struct ipc_object *inventory_append(struct inventory *inv, enum ipc_type type);
/* Counts the object just appended, its uid set, against max_per_user.
 * Returns 1 when it stays, 0 when it was dropped again (left out; the first
 * time for its uid a warning says so), -ENOMEM. */
int inventory_admit(struct inventory *inv);
/* A collector reading directory DIR_INDEX (into dirs) found one more object
 * of TYPE there.  True while under max_per_dir; then false, and it is
 * counted as left out (the first time, the directory is marked truncated
 * and a warning says so): the collector skips it, but reads on for the
 * directories below.  -ENOMEM only from the warning. */
int inventory_dir_count(struct inventory *inv, size_t dir_index, size_t *count, enum ipc_type type);
/* Counts one object of TYPE as left out by a cap, without appending it. */
void inventory_left_out(struct inventory *inv, enum ipc_type type);
/* Makes room for MORE objects at once, where the count is known: growing
 * by doubling would hold up to twice the room, and both copies meanwhile. */
int inventory_reserve(struct inventory *inv, size_t more);
/* Gives back what the doubling growth left unused: a daemon keeps the
 * inventory between sweeps. */
void inventory_trim(struct inventory *inv);
/* Drops the last object appended (used when a half-read object turns out gone). */
void inventory_drop_last(struct inventory *inv);
int inventory_warn(struct inventory *inv, const char *fmt, ...) _printf_(2, 3);
/* Records that the directory at PATH is read, and opens DFD (an fd of it,
 * consumed whatever happens) for reading in *RET. */
int inventory_open_dir(struct inventory *inv, const char *path, int dfd, DIR **ret);

/*
 * An earlier inventory's objects by identity: (type, id) for SysV, (type,
 * dev, ino) for files.  Lets a collection reuse what it read about an object
 * that has not changed since (a sem set's members, a queue's QSIZE), which a
 * daemon sweeping every minute would otherwise read again and again.
 */
struct inventory_index;
int inventory_index_new(const struct inventory *inv, struct inventory_index **ret);
struct inventory_index *inventory_index_free(struct inventory_index *x);
static inline void inventory_index_freep(struct inventory_index **p) {
        if (*p)
                inventory_index_free(*p);
}
/* The earlier object with the identity of LIKE, or NULL. */
const struct ipc_object *inventory_index_find(const struct inventory_index *x, const struct ipc_object *like);
/* Lend unchanged sem sets their waiter counts too, not only their last-op
 * pids.  For a caller that knows from elsewhere that no thread waits on any
 * set whose counts matter to it (see sleepers.h).  The members are then
 * lent as they are (IPC_OBJECT_SEMS_LENT), not copied: the inventory
 * collected must go before the one indexed. */
void inventory_index_lend_sem_counts(struct inventory_index *x, bool yes);
bool inventory_index_lends_sem_counts(const struct inventory_index *x);
