/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ipc_object.h"

/*
 * Collect POSIX message queues from an mqueue mount (normally /dev/mqueue).
 *
 * Each queue is stat'ed first, then its QSIZE and NOTIFY_PID are read.  The
 * kernel stamps atime (and ctime) on every read of that file, so the atime
 * taken by the stat is put back at once: listing must change nothing a later
 * judgement relies on.  When the caller could not put it back (neither owner
 * nor CAP_FOWNER), the file is not read and the object is flagged
 * IPC_OBJECT_MQ_UNREADABLE.
 *
 * When DIR holds no mqueue filesystem, one warning is added, mq is marked
 * unavailable and 0 is returned.
 */
int mqfs_collect(const char *dir, const struct inventory_index *prev, struct inventory *inv);

/* Stats and reads one queue file NAME of the mount open at DFD into O (type
 * and name already set), as mqfs_collect does.  When PREV (may be NULL) has
 * the same queue with the same send and receive times, QSIZE and NOTIFY_PID
 * are copied from it instead of read (a notification registered since is
 * then missed until the next full read; removal always reads).  -ENOENT when it is gone,
 * -EBADF-like errors for a non-queue entry (-EMEDIUMTYPE). */
int mqfs_read_one(int dfd, const char *name, const struct inventory_index *prev, struct ipc_object *o);

/* Parse the text of a queue file: "QSIZE:N NOTIFY:N SIGNO:N NOTIFY_PID:N". */
int mqfs_parse_status(const char *text, uint64_t *ret_qsize, pid_t *ret_notify_pid);
