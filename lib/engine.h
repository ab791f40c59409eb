/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "collect.h"
#include "config.h"
#include "judge.h"
#include "reap.h"
#include "sight.h"

/*
 * The one owner of the judgement.  An engine holds the current judgement
 * (inventory, process table, verdicts, a generation that moves whenever
 * any of them is made again or freed: idle times brought to now do not move
 * it), what lets a later judgement reuse it cheaply (the
 * inventory's index, the keys judged without life, the guard, the pidfds
 * of the evidence, the sleepers), the memory of life, and every removal.
 * The daemon and the CLI's --local each hold one and call the same
 * functions, so -t, rm, --force and dry runs cannot mean two things.
 */
struct engine;

enum {
        /* May update the state file (root's runs); others only read it. */
        ENGINE_SAVE = 1u << 0,
        /* Keeps what lets a judgement be confirmed instead of made again
         * (the daemon): pidfds, inotify, the sleepers' fds. */
        ENGINE_INCREMENTAL = 1u << 1,
        /* Only the pidfds of the live evidence (engine_watch_fd), to hear of
         * their exits without the process connector; every judgement full
         * (another IPC namespace's engine in the daemon). */
        ENGINE_WATCH = 1u << 2,
};

/* Loads the memory from CONFIG's StateDir= (none: an empty one).  CONFIG
 * and PATHS must outlive the engine (or the next engine_set_config). */
int engine_new(const struct config *config, const struct collect_paths *paths, unsigned flags, struct engine **ret);
/* Saves what the memory learnt since the last save, then frees. */
struct engine *engine_free(struct engine *e);
static inline void engine_freep(struct engine **p) {
        if (*p)
                engine_free(*p);
}
/* A reload: the rules change, the memory stays; the judgement made under
 * the old rules goes (it points into them). */
void engine_set_config(struct engine *e, const struct config *config);
/* What was judged is stale (the wall clock was set): the next judgement is
 * made in full. */
void engine_invalidate(struct engine *e);

enum engine_mode {
        ENGINE_FULL,  /* collect, walk /proc, judge every object */
        ENGINE_QUICK, /* confirm the last full judgement if nothing changed (ENGINE_INCREMENTAL), else FULL */
        /* QUICK, or else keep the judgement as it is if it is at most
         * ENGINE_KEEP_MAX_USEC old and the objects collected again are the
         * ones judged, with the same facts (what a listing needs: which
         * objects there are is never behind; who holds or waits on them
         * may be, by as much), else FULL. */
        ENGINE_KEEP,
};
#define ENGINE_KEEP_MAX_USEC (60ull * 1000000)
/* Judges every configured type. */
int engine_judge(struct engine *e, enum engine_mode mode);
/* Judges each of the N engines ES as engine_judge(MODE) would, with one
 * pass over /proc for all those judged in full (engines of one /proc, each
 * of another IPC namespace).  RET_ERRORS[i] (RET_ERRORS may be NULL): each
 * one's own result; one that fails (its namespace gone: -ESRCH) fails
 * alone.  Returns 0, or the first of the errors. */
int engine_judge_many(struct engine *const *es, size_t n, enum engine_mode mode, int *ret_errors);
/* Judges (as MODE) only when the judgement kept is older than MAX_AGE_USEC,
 * or, for ENGINE_FULL, was a confirmation rather than a judgement. */
int engine_refresh(struct engine *e, uint64_t max_age_usec, enum engine_mode mode);

/* The judgement kept.  inv is NULL when there is none. */
struct engine_last {
        const struct inventory *inv;
        const struct judgement *judgements;
        uint64_t generation;
        uint64_t age_usec; /* since it was made or last confirmed */
        time_t at;         /* wall clock of the same */
        bool confirmed;    /* a quick judgement confirmed it rather than made it */
};
struct engine_last engine_last(const struct engine *e);
uint64_t engine_generation(const struct engine *e);
/* The object judged with ID ("shm:12"): -ENOENT when there is none. */
int engine_find(struct engine *e, const char *id, size_t *ret_index);

/* Which objects a removal or a dry run is about. */
struct engine_request {
        bool dry_run;
        bool force;          /* see reap_removable() */
        unsigned types;      /* IPC_TYPE_BIT()s; 0: every type */
        bool by_uid;         /* only objects UID owns or made (a caller who is not an admin) */
        uid_t uid;
        unsigned max_removals; /* 0: MaxRemovalsPerSweep= */
        uid_t caller;          /* who asks, for the archive's entries */
};
/* Removes (or, dry, lists) the removable objects of the judgement kept that
 * REQ selects, each re-verified first (reap.h).  The result's verdict counts
 * are those of the objects REQ selects.  What was removed leaves the
 * judgement kept, and the next judgement is made in full. */
int engine_reap(struct engine *e, const struct engine_request *req, struct reap_result **ret);
/* Judges now, in full, and removes the one object ID through the same
 * re-verification: -ENOENT when there is no such object (or none REQ's uid
 * may see), -EBUSY when its verdict is not removable (*RET_INDEX says which
 * object, for the caller to say why). */
int engine_remove_one(struct engine *e, const char *id, const struct engine_request *req, size_t *ret_index,
                      struct reap_result **ret);

/* Process exits seen since the last look: could one of them change a
 * verdict?  PIDS are exited pids; LOST: some exits were not seen.  For
 * another IPC namespace, an exit of a process the judgement did not see
 * counts only if it was one of the namespace's members (PATHS->ns as the
 * caller last found them). */
bool engine_exits_matter(struct engine *e, const pid_t *pids, size_t n, bool lost);
/* The pidfds of the live evidence, as one fd that polls readable when one
 * exits (ENGINE_INCREMENTAL; -1 otherwise), and the exits it saw. */
int engine_watch_fd(const struct engine *e);
size_t engine_watch_exited(struct engine *e, pid_t *pids, size_t max);

struct engine_stats {
        uint64_t full_judgements, quick_judgements;
        uint64_t quick_without_life; /* quick judgements that kept verdicts other than LIVE */
};
struct engine_stats engine_stats(const struct engine *e);
/* Where it looks: the paths (and namespace) it was made with. */
const struct collect_paths *engine_paths(const struct engine *e);
/* What the last judgement could not see (sight.h). */
const struct sight *engine_sight(const struct engine *e);
/* The last save's error, 0: none. */
int engine_save_error(const struct engine *e);
/* The memory's one load warning, once (the caller frees it), or NULL. */
char *engine_take_warning(struct engine *e);
