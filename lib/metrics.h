/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "audit.h"
#include "engine.h"

/* What a daemon (or one ipcgcd --once) counted since it started; a
 * --local run has none of it, and its metrics leave the counters out. */
struct metrics_counters {
        uint64_t sweeps;
        uint64_t removed[_IPC_TYPE_MAX], skipped[_IPC_TYPE_MAX], failed[_IPC_TYPE_MAX];
        time_t last_sweep; /* wall clock; 0: none yet */
        uint64_t last_sweep_usec;
        uint64_t exit_events;
        bool process_events; /* the process connector is on: exit_events means something */
};

/* At most this many users get series of their own: a label per user is a
 * time series per user in Prometheus, and the objects' owners are not
 * ipcgc's to bound.  The rest are counted in ipcgc_users_not_shown. */
#define METRICS_MAX_USERS 256u /* said in ipcgc_users_not_shown's help */

/*
 * The metrics of E's last judgement, A (audit_build of it) and C (NULL:
 * none), as families: [{"name", "type", "help", "samples": [{"labels":
 * {...}, "value": N}]}], the JSON of `ipcgc metrics -J` and what
 * metrics_text() renders.
 */
int metrics_build(const struct engine *e, const struct audit *a, const struct metrics_counters *c, json_object **ret);
/* Adds to FAMILIES (metrics_build()'s) the objects and bytes of E's last
 * judgement, the engine of another IPC namespace, labelled ipcns= and
 * container= (empty: no name known).  Only counts that are not zero: a
 * host may have a thousand namespaces. */
int metrics_add_namespace(json_object *families, const struct engine *e, uint64_t ipcns, const char *container);
/* The Prometheus text exposition (format 0.0.4) of FAMILIES. */
int metrics_text(json_object *families, char **ret);

/*
 * Replaces PATH with TEXT so that a reader sees the old file or the new
 * one, never a part: a temporary file in the same directory (named
 * ".NAME.XXXXXX", which node_exporter's *.prom glob skips), written,
 * fsynced, mode 0644 whatever the umask, renamed over PATH, and the
 * directory fsynced.  No symlink is followed, in the directory's path
 * (-ELOOP) or at PATH (a symlink there is replaced, not written through).
 */
int metrics_write_file(const char *path, const char *text);
