/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proctab.h"

/*
 * Units: the cgroups that stand for a program as a whole.  A cgroup whose
 * last path component ends in .service or .scope is one (systemd services,
 * session scopes, container scopes such as docker-<id>.scope, and the
 * NAME.scope a test makes without systemd); slices, the root and
 * init.scope never are.  A unit outlives the processes in it one by one:
 * Apache's children recycle, PostgreSQL's backends come and go, and the
 * unit runs on while any of them does.
 *
 * A unit is named by its cgroup path, from the root of the hierarchy it was
 * read in: "/system.slice/postgresql@15-main.service" for the unified one,
 * "name=systemd:/..." for the named v1 hierarchy of legacy hosts.
 */

/* The unit PID is in, as its cgroup path up to the deepest unit component
 * (NULL in *ret when it is in none).  START_TICKS must be the process's
 * start time as the process table read it: a pid reused meanwhile gives
 * -ESRCH, as does a process gone. */
int unit_of_pid(const char *proc_root, pid_t pid, uint64_t start_ticks, char **ret);

/* The unit part of a /proc/PID/cgroup text, as unit_of_pid gives it. */
int unit_from_cgroup_text(const char *text, char **ret);

enum unit_state {
        UNIT_GONE,    /* no such cgroup, or no process in it */
        UNIT_RUNS,    /* a live process is in it, or in a cgroup below it */
        UNIT_UNKNOWN, /* it cannot be read */
};

/*
 * Does UNIT still have a live process?  Read from the cgroup file system
 * (every cgroup.procs at and below it, within bounds); a pid listed there
 * that PT holds as a zombie does not count, nor does SELF (ipcgc's own
 * process), and a pid the process table has not seen (born since) does.
 * A listed 0 is a process this PID namespace cannot see: it runs.  In
 * *ret_pid a live pid found, 0 if none or unseen.
 */
enum unit_state unit_state(const char *unit, const struct proctab *pt, pid_t self, pid_t *ret_pid);

/* The last path component of UNIT, for people: "postgresql@15-main.service". */
const char *unit_name(const char *unit);
