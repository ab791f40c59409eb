/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "collect.h"
#include "config.h"
#include "judge.h"

enum reap_action {
        REAP_REMOVED,
        REAP_WOULD_REMOVE, /* dry run */
        REAP_SKIPPED,      /* re-verification found a change; nothing done */
        REAP_FAILED,       /* removal was attempted and failed; errno says why */
        REAP_STOPPED,      /* MaxRemovalsPerSweep reached: the rest were not tried */
        _REAP_ACTION_MAX,
};

const char *reap_action_to_string(enum reap_action a);

/* Every removal, skip and failure is one record. */
struct reap_record {
        char *id; /* NULL for REAP_STOPPED */
        size_t index; /* into the inventory reaped; SIZE_MAX for REAP_STOPPED */
        enum ipc_type type;
        enum verdict verdict; /* as re-judged just before the action */
        char *reason;
        char *rule; /* rule name, or NULL */
        enum reap_action action;
        int error; /* errno, 0 when none */
        /* What the object was, for the journal and history: its owner, key
         * (SysV) and size, and the archive entry it went to (REAP_REMOVED,
         * malloc'd; NULL when it was removed under Archive=no). */
        uid_t uid;
        int32_t key;
        uint64_t size;
        char *archive;
};

struct reap_result {
        struct reap_record *records;
        size_t n_records, n_allocated;
        unsigned removed, would_remove, skipped, failed;
        bool stopped;       /* the limit cut the sweep short */
        size_t judged[_VERDICT_MAX]; /* the verdicts the sweep started from, of the objects selected */
        size_t not_tried;   /* orphans left for a later sweep */
        const struct ipc_object *reaped; /* the inventory's objects, while reap() runs */
};

struct reap_options {
        bool dry_run;
        unsigned max_removals;
        const struct scan_config *scan; /* where files live: roots for FIFOs, ShmDir, MqueueDir */
        const struct collect_paths *paths;
        const struct rule *rules;
        size_t n_rules;
        bool force; /* see reap_removable() */
        /* Only the objects marked here (one per object of the inventory);
         * NULL: all. */
        const bool *select;
        /* The re-judgement weighs what the judgement did (judge.h). */
        const struct memory *memory;
        const struct sight *sight;
        time_t clock_step;
        /* Where each removal is archived first (lib/archive.h).  NULL:
         * nowhere, so only what a rule lets go without one (Archive=no) is
         * removed. */
        const struct reap_archive *archive;
        /* The namespace, for the rules' Namespace= and Container= (NULL:
         * ipcgc's own): re-judged under the rules it was judged under. */
        const struct rule_where *where;
};

struct reap_archive {
        const char *dir; /* ArchiveDir= */
        uint64_t max_bytes, keep_seconds;
        uid_t by_uid; /* who asked, for the manifest */
        uint64_t ipcns; /* the namespace removed from, when not ipcgc's own; 0: its own */
        const char *container; /* its name, NULL: none known */
};

/* May a removal act on a verdict?  ORPHAN; with FORCE (an admin's explicit
 * `ipcgc rm --force`) also PENDING, REPORTED and PROTECTED.  Never LIVE or
 * UNKNOWN.  The one rule, for the selection and the re-judgement alike. */
bool reap_removable(enum verdict v, bool force);

/*
 * Removes the objects selected and judged removable, at most MAX_REMOVALS of them.
 *
 * Nothing is removed on the strength of the judgement alone.  For each
 * batch: SysV objects are re-read by id (IPC_STAT) and compared; files are
 * re-opened from their root without following any symlink or crossing a
 * mount and, except mq, moved into a private 0700 directory beside them, so
 * that what is checked is exactly what is unlinked; then one fresh pass over
 * /proc and a fresh judgement with the same rules.  Anything changed, or not
 * ORPHAN any more, is skipped (and moved back).  A FIFO is never opened.
 * Then each is archived (unless its rule says Archive=no): an entry under
 * ArchiveDir= with its facts and contents, the batch's entries synced at
 * once, room made by evicting the oldest; an object that cannot be
 * archived is not removed ("could not archive (...)").  A segment read for
 * its archive records ipcgc as its last user, which is checked for and
 * allowed; a POSIX queue is read by receiving, and its messages are sent
 * back if it is not removed after all.  An entry whose object then was not
 * removed is dropped again.  A dry run only records what would be removed.
 */
int reap(const struct inventory *inv, const struct judgement *judgements, const struct reap_options *opt,
         struct reap_result **ret);
struct reap_result *reap_result_free(struct reap_result *r);
static inline void reap_result_freep(struct reap_result **p) {
        if (*p)
                reap_result_free(*p);
}
