/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

/*
 * Race-free removal of a directory entry that must be exactly the file that
 * was checked.  There is no "unlink if this inode" call, and a world-writable
 * directory lets anyone swap a name between a check and an unlinkat().  So
 * the entry is first renamed (atomically, whatever it is by then) into a
 * 0700 directory of ours beside it, where nobody else can touch it; what is
 * checked there is what gets unlinked, and anything else is renamed back.
 * rename(2) never opens the file: a FIFO's peer is not woken.
 *
 * One such directory serves every entry of a batch in the same directory
 * (a pool): one mkdir per directory per batch, not per entry.  Where even
 * that mkdir finds no room (ENOSPC, EDQUOT: an inode-full tmpfs), the
 * spare is used, a directory of ours kept there for that (see
 * quarantine_tend_spare()): a rename takes no inode.
 */
/* The spare's name; only a directory of that name that is ours (owner
 * euid, mode 0700, no symlink, on the same file system) is used. */
#define QUARANTINE_SPARE ".ipcgc-reap.spare"

struct quarantine_dir; /* private to quarantine.c */

struct quarantine_pool {
        struct quarantine_dir *dirs;
        size_t n_dirs;
};

struct quarantine {
        int dirfd;  /* the entry's directory (not owned) */
        char *base; /* the entry's name there */
        int qfd;    /* our private directory (the pool's), or -1 */
        char entry[32]; /* what it is called inside ours, where it can be opened relative to qfd */
        int moved;  /* the entry is inside ours */
};

/* The pool starts empty; quarantine_pool_done() removes the directories it
 * made (if empty; never the spare) and closes them.  Every quarantine
 * entered through it must be closed first. */
void quarantine_pool_init(struct quarantine_pool *p);
void quarantine_pool_done(struct quarantine_pool *p);

/* While DIRFD's file system is short of room (under an eighth of its inodes
 * or a sixteenth of its blocks free), makes sure it holds the spare (made
 * now, while a directory can still be made); with room, removes the spare
 * if it is ours and empty.  -EPERM when the name is taken by something not
 * ours; other errors as mkdirat. */
int quarantine_tend_spare(int dirfd);

/* Moves BASE in DIRFD into the pool's directory for DIRFD (made at the
 * first entry from that directory, or the spare). */
int quarantine_enter(struct quarantine *q, struct quarantine_pool *pool, int dirfd, const char *base);
/* lstat of what was moved. */
int quarantine_stat(const struct quarantine *q, struct stat *ret);
/* Unlinks what was moved. */
int quarantine_unlink(struct quarantine *q);
/* Puts it back under its name, never over something new there.  If the name
 * has been taken meanwhile, it goes beside as NAME.ipcgc-restored[.N] and
 * -EEXIST is returned; it stays in ours only if even that fails. */
int quarantine_restore(struct quarantine *q);
/* Frees (the pool's directory stays until quarantine_pool_done()). */
void quarantine_close(struct quarantine *q);
