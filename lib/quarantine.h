/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/stat.h>

/*
 * Race-free removal of a directory entry that must be exactly the file that
 * was checked.  There is no "unlink if this inode" call, and a world-writable
 * directory lets anyone swap a name between a check and an unlinkat().  So
 * the entry is first renamed (atomically, whatever it is by then) into a
 * fresh 0700 directory of ours beside it, where nobody else can touch it;
 * what is checked there is what gets unlinked, and anything else is renamed
 * back.  rename(2) never opens the file: a FIFO's peer is not woken.
 */
/* What it is called inside ours, where it can be opened relative to qfd. */
#define QUARANTINE_ENTRY "entry"

struct quarantine {
        int dirfd;  /* the entry's directory (not owned) */
        char *base; /* the entry's name there */
        int qfd;    /* our private directory, or -1 */
        char qname[40];
        int moved; /* the entry is inside ours */
};

/* Creates the private directory in DIRFD and moves BASE into it. */
int quarantine_enter(struct quarantine *q, int dirfd, const char *base);
/* lstat of what was moved. */
int quarantine_stat(const struct quarantine *q, struct stat *ret);
/* Unlinks what was moved. */
int quarantine_unlink(struct quarantine *q);
/* Puts it back under its name, never over something new there.  If the name
 * has been taken meanwhile, it goes beside as NAME.ipcgc-restored[.N] and
 * -EEXIST is returned; it stays in ours only if even that fails. */
int quarantine_restore(struct quarantine *q);
/* Removes our directory if empty, and frees. */
void quarantine_close(struct quarantine *q);
