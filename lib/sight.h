/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "ipc_object.h"

/*
 * Can this run see every process that could hold the objects it judges?
 * A verdict of death needs a complete view.  It is not complete:
 *  - in a PID namespace other than the initial one, unless the config
 *    declares it is (TrustPIDNamespace=yes): processes outside it may
 *    share the IPC namespace and the mounts, and the kernel shows their
 *    pids as 0 and their holdings not at all;
 *  - when a SysV object records a pid of 0 for something that happened
 *    (a creator, a last attach, send, receive or semop): whoever did it is
 *    outside this PID namespace, whatever was declared;
 *  - when /proc hides other users' processes (hidepid=2 or 4) from a run
 *    without CAP_SYS_PTRACE: they are not unreadable, they are missing.
 * Where the view is partial, an object without visible life is UNKNOWN.
 */
#define SIGHT_REASON_MAX 160

struct sight {
        bool partial;
        char reason[SIGHT_REASON_MAX];
};

/* PROC_ROOT: where /proc is (its mount options and our namespaces). */
int sight_check(const char *proc_root, const struct scan_config *scan, const struct inventory *inv,
                struct sight *ret);

/* Is this process in the initial PID namespace? */
bool sight_initial_pid_ns(const char *proc_root);
