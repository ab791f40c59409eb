/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "ipc_object.h"

/*
 * Parse one /proc/sysvipc file (shm, msg or sem) and append its objects.
 *
 * Columns are split on whitespace, never at fixed offsets: widths differ
 * between 32- and 64-bit kernels and across versions.  Keys are signed
 * decimal.  shm is accepted with 16 columns (rss, swap) or the older 14.
 * A bad line (wrong field count, a field that is not a number, a last line
 * cut short without its newline) is reported as a warning "LABEL:LINE: ..."
 * in the inventory and skipped.  Returns 0, or a negative errno for an I/O
 * or allocation failure.
 */
int sysv_parse(enum ipc_type type, FILE *f, const char *label, struct inventory *inv);

/* Opens DIR/{shm,msg,sem} (DIR is normally /proc/sysvipc) and parses it.  A
 * missing file (a kernel without SysV IPC) is a warning and marks the type
 * unavailable.  For sem, also calls sysv_sem_read_members() on each set,
 * unless PREV (may be NULL) holds the same set unchanged since (key, ctime,
 * otime, size): then its members are copied.  Waiter counts can change
 * without otime, so a copy may be stale; removal always re-reads. */
int sysv_collect(enum ipc_type type, const char *dir, const struct inventory_index *prev, struct inventory *inv);

/* semctl GETPID, GETNCNT and GETZCNT for each semaphore of the set.  Returns
 * -EIDRM when the set is gone (or its id now names another set), -EACCES when
 * the caller may not read it. */
int sysv_sem_read_members(struct ipc_object *o);

/* One semaphore of a set as it is now, for a person to read (explain). */
struct sem_state {
        int value; /* GETVAL */
        pid_t pid; /* GETPID: the last semop, 0 for none */
        int ncnt, zcnt;
};

/* GETVAL, GETPID, GETNCNT and GETZCNT of the first N semaphores of O's set
 * (N at most o->nsems), now, into RET.  -EACCES when the caller may not
 * read the set (the kernel asks read permission for each of these, as for
 * GETALL; SEM_STAT_ANY tells only what the set is, not what it holds),
 * -EIDRM when it is gone. */
int sysv_sem_read_state(const struct ipc_object *o, unsigned n, struct sem_state *ret);

/* Re-reads one object by id with IPC_STAT (and, for sem, its members) into
 * a fresh object of TYPE.  -EIDRM when the id names nothing now. */
int sysv_stat(enum ipc_type type, int id, struct ipc_object *ret);

/* IPC_RMID. */
int sysv_remove(enum ipc_type type, int id);
