/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "ipc_object.h"
#include "judge.h"

/*
 * An inotify watch on every file-backed object (mq, pshm, psem, FIFO),
 * set before the holder scan of a full judgement.  Nothing can come to
 * hold such a file without opening it (an fd, a mapping, sem_open), and an
 * open is an IN_OPEN event: so while no event has touched an object judged
 * dead since the scan, nothing has come to hold it.  That is what lets a
 * later sweep keep a verdict of no life without reading all of /proc.
 *
 * The directories they were found in are watched too, for names that come
 * and go: while the guard is intact, the file objects are the ones
 * collected, and need not be listed again.  (Their contents are not
 * watched: a LIVE queue's size may move meanwhile.)
 *
 * What the guard cannot see is left to others: a FIFO opener still blocked
 * in open(2) (no event until it returns) to the sleepers, and a new waiter on
 * a SysV object to the sleepers and to the facts the sweep re-reads.
 */
struct guard;

/* Past this many files the guard is not set (it is then never intact). */
#define GUARD_MAX 65536u

int guard_new(struct guard **ret);
struct guard *guard_free(struct guard *g);

/*
 * Watches every file object of INV (paths from SCAN), each checked to be
 * the inode collected; forgets the watches of any earlier arming.  Call it
 * before the holder scan.  A failure leaves the guard not intact; it is
 * not an error for the judgement.
 */
void guard_arm(struct guard *g, const struct inventory *inv, const struct scan_config *scan);

/* After judging INV: events matter from now on only for objects not
 * judged LIVE (the watches of LIVE ones are narrowed to what changes what
 * they are: owner, mode, name). */
void guard_commit(struct guard *g, const struct inventory *inv, const struct judgement *js,
                  const struct scan_config *scan);

/* True while the arming was complete and, since then, no event has touched
 * an object judged other than LIVE, changed the owner, mode, name or life
 * of any object, or come or gone in a directory (or overflowed the queue).
 * Reads what events are queued.  A queue judged other than LIVE also needs
 * the kernel to report mq_open(3) as IN_OPEN, which not every kernel does:
 * the guard learns it by opening one queue itself while arming. */
bool guard_intact(struct guard *g);
