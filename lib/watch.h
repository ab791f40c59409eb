/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proctab.h"

/*
 * The processes whose life is evidence, each held by a pidfd.  A pidfd
 * names one process, never a later one with the same number, and becomes
 * readable when it exits: asking "is every one of them still there?" costs
 * one poll(2), where reading /proc for them costs thousands of calls.
 */
struct watch;

/* At most this many pidfds; past it the watch is incomplete and says so. */
#define WATCH_MAX 16384u

int watch_new(struct watch **ret);
struct watch *watch_free(struct watch *w);

/* Watches exactly PIDS (sorted, unique), each checked against its start time
 * in PT so that a pid reused since the scan is not mistaken for the process
 * seen.  Returns 0 when every pid is watched, -E2BIG past WATCH_MAX, or
 * another negative errno; on any failure the watch is left incomplete. */
int watch_set(struct watch *w, const pid_t *pids, size_t n, const struct proctab *pt, const char *proc_root);

/* An fd that becomes readable when a watched process exits (an epoll set of
 * the pidfds, each armed once): for an event loop, so that an exit is news
 * at once even where the process connector is not served (inside a PID
 * namespace). */
int watch_fd(const struct watch *w);
/* The pids whose exit made watch_fd readable since the last call, at most
 * MAX of them into PIDS.  Returns how many. */
size_t watch_exited(struct watch *w, pid_t *pids, size_t max);

/* True when every watched process is still alive and the set is complete. */
bool watch_all_alive(const struct watch *w);
size_t watch_size(const struct watch *w);
