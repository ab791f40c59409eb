/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

#include "collect.h"
#include "ipcns.h"
#include "reap.h"
#include "restore.h"

/*
 * The short-lived helper that works inside another IPC namespace: a child
 * forked for one collection or one reap, so that the caller (the CLI, or a
 * daemon with threads) never changes namespace itself.
 *
 * The child setns(2)s into the namespace's IPC namespace only.  SysV ids,
 * /proc/sysvipc (which shows the reader's IPC namespace), IPC_STAT and
 * IPC_RMID are then the namespace's.  Its /dev/shm and mqueue mount are
 * reached through a member's root (/proc/PID/root, opened by the parent and
 * checked to still be a member's), not by entering its mount namespace:
 * the engine's /proc walks, its re-verification and the archive must stay
 * in ipcgc's own mounts, where /proc shows pids of ipcgc's PID namespace
 * (a container's /proc shows its own) and ArchiveDir= is ipcgc's.  A
 * directory that is ipcgc's own (the same filesystem as ShmDir= or
 * MqueueDir= here) is left to the judgement of ipcgc's own namespace, and
 * FIFOs are never collected there: they belong to no IPC namespace.
 *
 * What the child found or did comes back over a pipe, in a framing of the
 * same build's structures, every count and length bounded before it is
 * believed.  The child never logs and always _exit()s.
 */

/* As collect_inventory() with SCAN, in NS (not this process's own).
 * -ESRCH: no member of NS is left to enter it by (it is gone). */
int nshelper_collect(const struct ipcns *ns, const struct scan_config *scan, const struct collect_paths *paths,
                     struct inventory **ret);

/* As reap() (OPT->paths->ns names the namespace), every step done by a
 * child in that namespace under the judgement JS made here. */
int nshelper_reap(const struct inventory *inv, const struct judgement *js, const struct reap_options *opt,
                  struct reap_result **ret);

/* As restore_entry() of ENTRY in ARCHIVE_DIR (ipcgc's own), by a child in
 * NS: an entry removed from NS goes back into it, any other is -EXDEV.
 * The caller makes sure NS is the namespace the entry names (its inode
 * and its name: a later namespace may have the inode again). */
/* The audit of INV (judged here; audit_build() with TYPES) made by a child
 * in NS, where the kernel's tables, sysctls and mqueue are that
 * namespace's: *RET is report_audit()'s JSON of it. */
int nshelper_audit(const struct ipcns *ns, const struct inventory *inv, unsigned types, const struct scan_config *scan,
                   const struct collect_paths *paths, json_object **ret);

int nshelper_restore(const struct ipcns *ns, const struct scan_config *scan, const struct collect_paths *paths,
                     const char *archive_dir, const char *entry, struct restore_result *ret);
