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

/* True when every watched process is still alive and the set is complete. */
bool watch_all_alive(const struct watch *w);
size_t watch_size(const struct watch *w);
