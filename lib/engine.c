/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "engine.h"
#include "guard.h"
#include "holder_index.h"
#include "learn.h"
#include "macro.h"
#include "memory.h"
#include "nshelper.h"
#include "report.h"
#include "sleepers.h"
#include "sysv.h"
#include "watch.h"

/* A judgement may be confirmed instead of made again this many times in a
 * row, and for this long: what a confirmation cannot see (a new holder of an
 * object judged dead, a holder that closed its fd but lives on) is seen by
 * then. */
#define QUICK_MAX_RUNS 9u
#define QUICK_MAX_AGE_USEC (10ull * 60 * 1000000)
/* A confirmation writes the memory out at most this often: what it adds is
 * only "still alive", and a full judgement writes it anyway. */
#define QUICK_SAVE_GAP_USEC (60ull * 1000000)

struct engine {
        const struct config *config;
        const struct collect_paths *paths;
        const char *proc_root;
        unsigned flags;

        /* The memory of life (memory.h), and what reads it. */
        struct memory *memory;
        /* The memory says what was seen before: it was read from a state
         * file, or this engine has judged before.  Until then an object
         * missing from it is not seen for the first time, only not known. */
        bool remembers, learnt;
        bool unsaved; /* learnt since the last save */
        char *memory_warning;
        int save_error;
        uint64_t saved_usec; /* CLOCK_MONOTONIC of the last save */
        struct sight sight;
        struct clock_view clock;
        /* The namespace judged, for the rules' Namespace= and Container=. */
        struct rule_where where;

        /* The judgement kept. */
        struct inventory *inv;
        struct proctab *proctab;
        struct judgement *judgements;
        uint64_t generation;
        uint64_t judged_usec; /* CLOCK_MONOTONIC: made or confirmed */
        time_t judged_at;
        uint64_t full_usec;   /* CLOCK_MONOTONIC of the last full judgement */
        bool stale;           /* objects were removed since: refresh judges again */
        unsigned quick_runs;  /* confirmations since it */

        /* What confirming it takes (see judge_quick).  inv_index and
         * dead_keys are NULL when the next judgement must be full. */
        struct inventory_index *inv_index;
        /* The objects by id for engine_find, made at the first lookup of a
         * judgement (ids_generation): many lookups, one sort. */
        struct inventory_ids *ids;
        uint64_t ids_generation;
        /* The FIFOs, sem sets and msg queues judged without life: a thread
         * blocked opening or waiting on one of them is news. */
        struct holder_index *dead_keys;
        /* Pids that were evidence of life, sorted: their exit is news. */
        pid_t *evidence_pids;
        size_t n_evidence_pids;
        struct watch *watch;       /* pidfds of the live evidence */
        struct guard *guard;       /* inotify on the files, for verdicts of no life */
        struct sleepers *sleepers; /* every thread's wchan */
        uint64_t sleepers_retry_usec;
        /* The verdicts of no life rest only on what the guard, the sleepers
         * and the facts re-read can vouch for: they may be kept too. */
        bool dead_reusable;
        /* Every semaphore waiter the kernel counted was found by its wchan:
         * until one such check fails, the sleepers vouch for waiter counts. */
        bool waiters_by_wchan;

        struct engine_stats stats;
};

/* The incremental state of the judgement kept: the next one is full. */
static void drop_index(struct engine *e) {
        e->inv_index = inventory_index_free(e->inv_index);
        e->dead_keys = e->dead_keys ? holder_index_free(e->dead_keys) : NULL;
}

static void drop_state(struct engine *e) {
        e->generation++;
        drop_index(e);
        e->ids = inventory_ids_free(e->ids);
        if (e->inv)
                judgements_free(e->judgements, e->inv->n_objects);
        e->judgements = NULL;
        e->inv = inventory_free(e->inv);
        e->proctab = proctab_free(e->proctab);
        free(e->evidence_pids);
        e->evidence_pids = NULL;
        e->n_evidence_pids = 0;
}

int engine_new(const struct config *config, const struct collect_paths *paths, unsigned flags, struct engine **ret) {
        _cleanup_(engine_freep) struct engine *e = calloc(1, sizeof(*e));
        const char *dir = config->daemon.state_dir;
        int r;

        if (!e)
                return -ENOMEM;
        e->config = config;
        e->paths = paths;
        e->proc_root = paths->proc ? paths->proc : "/proc";
        e->flags = flags;
        if (paths->ns && !paths->ns->self)
                e->where = (struct rule_where) { .foreign = true, .container = paths->ns->name };
        if (!dir)
                e->flags &= ~ENGINE_SAVE;
        r = dir ? memory_load(dir, flags & ENGINE_SAVE ? MEMORY_SET_ASIDE : 0, &e->memory, &e->memory_warning)
                : memory_new(&e->memory);
        if (r < 0)
                return r;
        if (flags & ENGINE_INCREMENTAL) {
                /* Without them a judgement is only ever made in full. */
                if (watch_new(&e->watch) < 0 || guard_new(&e->guard) < 0)
                        return -ENOMEM;
                e->waiters_by_wchan = true; /* until a full judgement shows otherwise */
        } else if ((flags & ENGINE_WATCH) && watch_new(&e->watch) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(e);
        return 0;
}

static int save(struct engine *e) {
        if (!(e->flags & ENGINE_SAVE))
                return 0;
        /* Every type: what the memory holds is what was judged last. */
        e->save_error = memory_save(e->memory, e->config->daemon.state_dir, IPC_TYPE_MASK_ALL);
        e->saved_usec = monotonic_usec();
        e->unsaved = e->save_error < 0;
        return e->save_error;
}

struct engine *engine_free(struct engine *e) {
        if (!e)
                return NULL;
        if (e->unsaved)
                (void) save(e); /* what the confirmations saw since */
        drop_state(e);
        watch_free(e->watch);
        guard_free(e->guard);
        sleepers_free(e->sleepers);
        memory_free(e->memory);
        free(e->memory_warning);
        free(e);
        return NULL;
}

void engine_set_config(struct engine *e, const struct config *config) {
        drop_state(e);
        e->config = config;
}

void engine_invalidate(struct engine *e) {
        drop_state(e);
}

static struct judge_context context(const struct engine *e, time_t now) {
        return (struct judge_context) {
                .proctab = e->proctab,
                .rules = e->config->rules,
                .n_rules = e->config->n_rules,
                .now = now,
                .memory = e->remembers ? e->memory : NULL,
                .sight = &e->sight,
                .clock_step = e->clock.step,
                .self = getpid(),
                .where = &e->where,
        };
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

/* The pids whose exit could change a verdict: every live process evidence. */
static int index_evidence(struct engine *e) {
        size_t n = 0, cap = 0;
        pid_t *pids = NULL;

        for (size_t i = 0; i < e->inv->n_objects; i++) {
                const struct judgement *j = &e->judgements[i];
                for (size_t k = 0; k < j->n_evidence; k++) {
                        const struct evidence *ev = &j->evidence[k];
                        if (ev->state != EVIDENCE_ALIVE || ev->pid <= 0)
                                continue;
                        if (n == cap) {
                                size_t nc = cap ? cap * 2 : 64;
                                pid_t *a = reallocarray(pids, nc, sizeof(pid_t));
                                if (!a) {
                                        free(pids);
                                        return -ENOMEM;
                                }
                                pids = a;
                                cap = nc;
                        }
                        pids[n++] = ev->pid;
                }
        }
        if (n)
                qsort(pids, n, sizeof(pid_t), cmp_pid);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
                if (u == 0 || pids[u - 1] != pids[i])
                        pids[u++] = pids[i];
        free(e->evidence_pids);
        e->evidence_pids = pids;
        e->n_evidence_pids = u;
        return 0;
}

/*
 * May the verdicts of no life be kept while the guard, the sleepers and the
 * re-read facts show nothing new?  Not when one rests on what those cannot
 * see: a live process of some uid, an Owner= source, a notification pid (no
 * start time to check reuse against), a unit or an owner that can come back
 * to life with no open or blocked thread to tell of it, or a SysV pid
 * recorded so recently that a process starting now could still pass for
 * the one recorded (JUDGE_PID_SLACK_USEC).
 */
static bool dead_reusable(const struct engine *e) {
        struct timespec ts;
        /* To the microsecond: whole seconds would make now look up to one
         * second earlier, and the wait longer than it needs to be. */
        uint64_t now_usec = clock_gettime(CLOCK_REALTIME, &ts) == 0
                                    ? (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u
                                    : 0; /* unread: no SysV verdict is reusable */

        for (size_t i = 0; i < e->inv->n_objects; i++) {
                const struct judgement *j = &e->judgements[i];
                const struct ipc_object *o = &e->inv->objects[i];
                if (j->verdict == VERDICT_LIVE)
                        continue;
                for (size_t k = 0; k < j->n_evidence; k++) {
                        enum evidence_role role = j->evidence[k].role;
                        if (role == ROLE_UID_PROCESS || role == ROLE_OWNER || role == ROLE_NOTIFY ||
                            role == ROLE_UNIT || role == ROLE_NEVER_SEEN)
                                return false;
                }
                if (ipc_type_is_sysv(o->type)) {
                        time_t last = ipc_object_last_activity(o);
                        /* a second more than the slack, for safety's sake */
                        if ((uint64_t) last * 1000000ull + JUDGE_PID_SLACK_USEC + 1000000ull > now_usec)
                                return false;
                }
        }
        return true;
}

/* Did the holder scan find, by wchan, a waiter on every semaphore set the
 * kernel says has waiters?  If not, this kernel names the wait in a way we
 * do not know, and wchan cannot vouch for waiter counts. */
static bool waiters_counted_named(const struct engine *e) {
        for (size_t i = 0; i < e->inv->n_objects; i++) {
                const struct ipc_object *o = &e->inv->objects[i];
                if (o->type != IPC_TYPE_SEM || !o->sems || o->n_holders > 0)
                        continue;
                for (unsigned k = 0; k < o->nsems; k++)
                        if (o->sems[k].ncnt || o->sems[k].zcnt)
                                return false;
        }
        return true;
}

/* What confirming a judgement needs of it: its objects by identity, and the
 * keys of those judged without life. */
static int index_for_quick(struct engine *e) {
        int r = inventory_index_new(e->inv, &e->inv_index);
        if (r < 0)
                return r;
        size_t n_dead = 0;
        for (size_t i = 0; i < e->inv->n_objects; i++)
                n_dead += e->judgements[i].verdict != VERDICT_LIVE;
        r = holder_index_new(n_dead, &e->dead_keys);
        if (r < 0)
                return r;
        for (size_t i = 0; i < e->inv->n_objects; i++) {
                dev_t dev;
                ino_t ino;
                const struct ipc_object *o = &e->inv->objects[i];
                /* what a blocked thread can be recorded under */
                bool blockable = o->type == IPC_TYPE_FIFO || o->type == IPC_TYPE_SEM || o->type == IPC_TYPE_MSG;
                if (e->judgements[i].verdict != VERDICT_LIVE && blockable && collect_holder_key(o, &dev, &ino)) {
                        r = holder_index_want(e->dead_keys, dev, ino);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* A full judgement, up to the holder scan: the objects collected. */
static int judge_full_begin(struct engine *e, struct inventory **ret) {
        const struct scan_config *scan = &e->config->scan;
        struct inventory *inv;
        int r;

        /* Nothing of the last judgement is used to make the next one: let
         * it go first, so a sweep never holds two inventories at once, and
         * give its heap back before the next one is built beside it. */
        drop_state(e);
        (void) malloc_trim(0);
        /* The namespace's name may have changed since (its first members
         * joined their container's cgroup later): the rules' Container=
         * match the name of now. */
        if (e->paths->ns && !e->paths->ns->self)
                e->where = (struct rule_where) { .foreign = true, .container = e->paths->ns->name };
        r = collect_inventory(scan, e->paths, NULL, &inv);
        if (r < 0)
                return r;
        /* Before the holder scan: an open after it must leave a trace. */
        if (e->guard)
                guard_arm(e->guard, inv, scan);
        *ret = inv;
        return 0;
}

/* The rest of it, once the holder scan gave INV its holders and PT: takes
 * both. */
static int judge_full_end(struct engine *e, struct inventory *inv_taken, struct proctab *pt_taken) {
        _cleanup_(inventory_freep) struct inventory *inv = inv_taken;
        _cleanup_(proctab_freep) struct proctab *pt = pt_taken;
        struct judgement *js = NULL;
        const struct scan_config *scan = &e->config->scan;
        int r;

        e->remembers = e->config->daemon.state_dir || e->learnt;
        time_t now = time(NULL);
        r = learn_clock(e->memory, now, &e->clock);
        if (r >= 0)
                r = sight_check(e->proc_root, scan, inv, &e->sight);
        if (r < 0)
                return r;
        /* Another namespace whose members are not all seen is seen in part. */
        if (!e->sight.partial && e->paths->ns && !e->paths->ns->self && e->paths->ns->partial) {
                e->sight.partial = true;
                snprintf(e->sight.reason, sizeof(e->sight.reason), "IPC namespace %" PRIu64 ": %.100s",
                         e->paths->ns->ino, e->paths->ns->reason);
        }
        e->proctab = pt;
        struct judge_context ctx = context(e, now);
        e->proctab = NULL;
        r = judge_inventory(&ctx, inv, &js);
        if (r < 0)
                return r;
        /* The old memory is given back as soon as the new one is whole.  A
         * type not collected whole (a cap left some out, or it could not be
         * read) forgets nothing: absence is no news there. */
        r = learn_replace(&e->memory, inv, js, pt, e->proc_root, &e->clock,
                          scan->types & ~(inv->truncated | inv->unavailable), now);
        if (r < 0) {
                judgements_free(js, inv->n_objects);
                return r;
        }
        e->learnt = e->unsaved = true;
        (void) save(e); /* its failure is e->save_error, for the caller to say */

        e->inv = TAKE_PTR(inv);
        e->proctab = TAKE_PTR(pt);
        e->judgements = js;
        e->judged_usec = e->full_usec = monotonic_usec();
        e->judged_at = now;
        e->stale = false;
        e->quick_runs = 0;
        e->stats.full_judgements++;
        r = index_evidence(e);
        if (r < 0)
                return r;
        /* Watch the live evidence, so the next judgement can tell cheaply
         * whether any of it is gone (and the daemon hear of its exits).  A
         * failure only costs that. */
        if (e->watch)
                (void) watch_set(e->watch, e->evidence_pids, e->n_evidence_pids, e->proctab, e->proc_root);
        if (!(e->flags & ENGINE_INCREMENTAL))
                return 0;
        guard_commit(e->guard, e->inv, e->judgements, scan);
        r = index_for_quick(e);
        if (r < 0) {
                drop_index(e); /* no confirmation on half an index */
                return r;
        }
        e->dead_reusable = dead_reusable(e);
        if (!waiters_counted_named(e))
                e->waiters_by_wchan = false;
        return 0;
}

/* Is any thread blocked opening, or waiting on, an object judged without
 * life?  (Or blocked where we cannot tell on what.)  Such a thread holds no
 * fd and changes no fact a confirmation re-reads.  1 if so, 0 if not, or a
 * negative errno. */
static int blocked_on_dead(struct engine *e) {
        int r;

        if (!e->sleepers) {
                /* Not again soon after it failed: walking /proc for nothing
                 * would double every sweep. */
                if (monotonic_usec() < e->sleepers_retry_usec)
                        return 1;
                e->sleepers_retry_usec = monotonic_usec() + QUICK_MAX_AGE_USEC;
                /* An fd per thread: at most a quarter of what may be open,
                 * so clients and pidfds always find room. */
                struct rlimit rl;
                size_t max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur / 4
                                                                                              : SLEEPERS_MAX;
                r = sleepers_new(e->proc_root, max, &e->sleepers);
                if (r < 0)
                        return r;
        }
        r = sleepers_scan(e->sleepers, e->dead_keys, PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS);
        if (r < 0) {
                /* Too many threads, or fds: give them back, try again later. */
                e->sleepers = sleepers_free(e->sleepers);
                return r;
        }
        /* The index only records the keys judged dead: any record is news,
         * and the full judgement that follows starts a new index. */
        return r > 0 || holder_index_recorded(e->dead_keys) > 0;
}

/* Are the objects of TYPES collected now the ones judged, with the same
 * facts?  Marks each one matched in TAKEN.  1: yes, 0: no. */
static int same_as_judged(struct engine *e, unsigned types, bool *taken) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        struct scan_config scan = e->config->scan;
        size_t expected = 0;
        int r;

        scan.types = types;
        r = collect_inventory(&scan, e->paths, e->inv_index, &inv);
        if (r < 0)
                return r;
        for (size_t k = 0; k < e->inv->n_objects; k++)
                expected += (types & IPC_TYPE_BIT(e->inv->objects[k].type)) != 0;
        if (inv->n_objects != expected)
                return 0;
        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *p = inventory_index_find(e->inv_index, &inv->objects[i]);
                if (!p || ipc_object_changed(p, &inv->objects[i]))
                        return 0;
                size_t k = (size_t) (p - e->inv->objects);
                if (taken[k])
                        return 0;
                taken[k] = true;
        }
        return 1;
}

/* same_as_judged() for each of TYPES, a type at a time: the collection
 * compared is never more than one type's worth beside the judgement kept. */
static int same_types(struct engine *e, unsigned types, bool *taken) {
        for (enum ipc_type t = 0; t < _IPC_TYPE_MAX; t++)
                if (types & IPC_TYPE_BIT(t)) {
                        int r = same_as_judged(e, IPC_TYPE_BIT(t), taken);
                        if (r <= 0)
                                return r;
                }
        return 1;
}

/* The judgement kept, brought to NOW on its own facts and processes: idle
 * times counted to now, and PENDING verdicts whose MinAge has passed judged
 * again (time alone turns them ORPHAN).  The generation moves only when a
 * judgement was made again: its evidence is freed, and a listing being
 * written from it must stop; idle times alone may change under one. */
static int retime(struct engine *e, time_t now) {
        struct judge_context ctx = context(e, now);
        bool replaced = false;
        int r = 0;

        for (size_t k = 0; k < e->inv->n_objects && r >= 0; k++) {
                struct judgement *j = &e->judgements[k];
                const struct ipc_object *o = &e->inv->objects[k];
                const struct memory_entry *me = j->verdict != VERDICT_LIVE && ctx.memory
                                                        ? memory_find(ctx.memory, memory_key(o))
                                                        : NULL;
                /* idle as judge_object counts it: the grace, for what has no life */
                time_t last = j->verdict == VERDICT_LIVE ? ipc_object_last_activity(o) : judge_grace_start(&ctx, o, me);
                uint64_t idle = ctx.now > last ? (uint64_t) (ctx.now - last) : 0;

                if (j->verdict == VERDICT_PENDING && j->rule && idle >= j->rule->min_age) {
                        struct judgement fresh;
                        r = judge_object_remembered(&ctx, o, me, &fresh);
                        if (r < 0)
                                break;
                        judgement_done(j);
                        *j = fresh;
                        replaced = true;
                } else
                        j->idle = idle;
        }
        if (replaced)
                e->generation++;
        return r;
}

/*
 * A judgement confirmed, without reading all of /proc.
 *
 * The last full judgement stands when the SysV objects collected again
 * (lending unchanged sem sets their members) are the ones judged, with the
 * same facts, and:
 *  - every process whose life was evidence still lives (one poll of their
 *    pidfds): a LIVE verdict stays LIVE;
 *  - the guard (guard.h) is intact: no name came or went among the file
 *    objects, which are then not listed again, and none judged without
 *    life was opened;
 *  - no thread is blocked opening or waiting on an object judged without
 *    life (sleepers.h), and none of those verdicts rested on anything else
 *    a new process could change (dead_reusable).
 * Without the guard, a judgement of all LIVE can still stand on the file
 * objects listed again.  PENDING verdicts whose MinAge has passed are
 * judged again on the facts and processes of the last scan: time alone
 * turns them ORPHAN.  Anything else, and it is a full judgement.  Returns 1
 * when confirmed, 0 when a full judgement is needed.
 *
 * Removal re-verifies every object against a fresh /proc pass whatever
 * judged it (reap.c).  What a confirmation can miss is the other way: a
 * holder that closes its fd but lives on keeps the object LIVE until the
 * next full judgement, at least every QUICK_MAX_RUNS runs or ten minutes.
 */
static int judge_quick(struct engine *e) {
        _cleanup_free_ bool *taken = NULL;
        bool all_live = true, files_kept;
        int r;

        if (!e->inv || !e->inv_index || !e->dead_keys || !e->watch || e->quick_runs >= QUICK_MAX_RUNS ||
            monotonic_usec() - e->full_usec > QUICK_MAX_AGE_USEC || !watch_all_alive(e->watch))
                return 0;
        for (size_t k = 0; k < e->inv->n_objects && all_live; k++)
                all_live = e->judgements[k].verdict == VERDICT_LIVE;
        if (!all_live) {
                if (!e->dead_reusable || !guard_intact(e->guard))
                        return 0;
                /* The sleepers before the guard's last word: an opener that
                 * was blocked and has since got through is either still seen
                 * blocked, or its open is an event by the time the guard is
                 * read again below. */
                r = blocked_on_dead(e);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        files_kept = guard_intact(e->guard);
        if (!all_live && !files_kept)
                return 0;

        /* Waiter counts matter only for sets without life, and the
         * sleepers just found no thread waiting on any of those. */
        inventory_index_lend_sem_counts(e->inv_index, all_live || e->waiters_by_wchan);
        taken = calloc(e->inv->n_objects ? e->inv->n_objects : 1, sizeof(bool));
        if (!taken)
                return -ENOMEM;
        /* The file objects are listed again only without the guard. */
        r = same_types(e, e->config->scan.types & (files_kept ? IPC_TYPE_MASK_SYSV : IPC_TYPE_MASK_ALL), taken);
        if (r <= 0)
                return r;
        /* And nothing opened meanwhile. */
        if (!all_live && !guard_intact(e->guard))
                return 0;

        /* The objects are the ones judged, with the same facts: the old
         * inventory stands, and so do its holders.  Judgements change. */
        time_t now = time(NULL);
        r = retime(e, now);
        if (r < 0)
                return r;

        /* The watch vouched for every LIVE verdict's processes: that is
         * life seen now.  Written out now and then, and at exit. */
        learn_still_live(e->memory, e->inv, e->judgements, now);
        e->unsaved = true;
        if (e->saved_usec + QUICK_SAVE_GAP_USEC < monotonic_usec())
                (void) save(e);

        e->judged_usec = monotonic_usec();
        e->judged_at = now;
        /* The objects collected again are the ones kept, removals or not. */
        e->stale = false;
        e->quick_runs++;
        e->stats.quick_judgements++;
        if (!all_live)
                e->stats.quick_without_life++;
        return 1;
}

/* Are the objects there now the ones judged, with the same facts (holders
 * aside)?  1: yes, 0: no.  A collection only: no /proc walk. */
static int same_objects(struct engine *e) {
        _cleanup_free_ bool *taken = NULL;
        unsigned types = e->config->scan.types;

        if (!e->inv || !e->inv_index || e->stale || monotonic_usec() - e->judged_usec > ENGINE_KEEP_MAX_USEC)
                return 0;
        taken = calloc(e->inv->n_objects ? e->inv->n_objects : 1, sizeof(bool));
        if (!taken)
                return -ENOMEM;
        /* Waiter counts are lent with the members of a set whose times did
         * not move, as holders are taken over: who waits may be behind as
         * much as who holds (and reading them again would hold a second
         * copy of every set's members beside the first). */
        inventory_index_lend_sem_counts(e->inv_index, true);
        return same_types(e, types, taken);
}

int engine_judge(struct engine *e, enum engine_mode mode) {
        return engine_judge_many(&e, 1, mode, NULL);
}

/* Each engine judged as engine_judge() judges it; those whose judgement is
 * made in full share one holder scan, and each gets its own copy of its
 * process table (proctab_view), not one table shared: a namespace's table
 * says only what its own scan would have (uids, units and unreadable flags
 * as its objects ask), and each engine frees and makes its own again
 * whenever it judges, alone or with others. */
int engine_judge_many(struct engine *const *es, size_t n, enum engine_mode mode, int *ret_errors) {
        _cleanup_free_ struct inventory **invs = calloc(n ? n : 1, sizeof(*invs));
        _cleanup_free_ const struct collect_paths **paths = calloc(n ? n : 1, sizeof(*paths));
        _cleanup_free_ unsigned *needs = calloc(n ? n : 1, sizeof(*needs));
        _cleanup_free_ struct proctab **pts = calloc(n ? n : 1, sizeof(*pts));
        _cleanup_free_ size_t *full = calloc(n ? n : 1, sizeof(*full));
        _cleanup_free_ int *errs = calloc(n ? n : 1, sizeof(*errs));
        size_t m = 0;
        int r;

        if (!invs || !paths || !needs || !pts || !full || !errs) {
                for (size_t i = 0; ret_errors && i < n; i++)
                        ret_errors[i] = -ENOMEM;
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                struct engine *e = es[i];
                if (mode != ENGINE_FULL) {
                        /* Whatever stops a confirmation (news, or a failure
                         * of its own, such as too few fds for the sleepers)
                         * leaves it to a full judgement. */
                        if (judge_quick(e) > 0)
                                continue;
                        if (mode == ENGINE_KEEP && same_objects(e) > 0) {
                                errs[i] = retime(e, time(NULL));
                                continue;
                        }
                }
                /* One that cannot collect (a namespace whose last member
                 * left: -ESRCH) fails alone. */
                errs[i] = judge_full_begin(e, &invs[m]);
                if (errs[i] < 0)
                        continue;
                needs[m] = judge_proctab_needs(invs[m], e->config->rules, e->config->n_rules);
                paths[m] = e->paths;
                full[m++] = i;
        }
        r = m > 0 ? collect_holders_many(invs, paths, needs, m, pts) : 0;
        for (size_t k = 0; k < m; k++) {
                if (r < 0) {
                        errs[full[k]] = r;
                        inventory_free(invs[k]);
                } else
                        errs[full[k]] = judge_full_end(es[full[k]], invs[k], pts[k]);
        }
        r = 0;
        for (size_t i = 0; i < n; i++) {
                if (r == 0)
                        r = errs[i];
                if (ret_errors)
                        ret_errors[i] = errs[i];
        }
        return r;
}

int engine_refresh(struct engine *e, uint64_t max_age_usec, enum engine_mode mode) {
        if (e->inv && !e->stale && (mode != ENGINE_FULL || e->quick_runs == 0) &&
            monotonic_usec() - e->judged_usec <= max_age_usec)
                return 0;
        return engine_judge(e, mode);
}

struct engine_last engine_last(const struct engine *e) {
        return (struct engine_last) {
                .inv = e->inv,
                .judgements = e->judgements,
                .generation = e->generation,
                .age_usec = e->inv ? monotonic_usec() - e->judged_usec : 0,
                .at = e->judged_at,
                .confirmed = e->quick_runs > 0,
        };
}

uint64_t engine_generation(const struct engine *e) {
        return e->generation;
}

int engine_find(struct engine *e, const char *id, size_t *ret_index) {
        uint64_t ino;
        const char *rest;

        if (!e->inv)
                return -ENOENT;
        /* "ipc:INO/shm:5" names an object of namespace INO: this engine's
         * only when it judges that one (and says so). */
        int k = ipcns_parse_id(id, &ino, &rest);
        if (k < 0 || (k > 0 && (!e->inv->ipcns || ino != e->inv->ipcns)))
                return -ENOENT;
        if (k > 0)
                id = rest;
        /* Removals and judgements move the generation on, and every
         * change of e->inv's objects goes with one. */
        if (e->ids && e->ids_generation != e->generation)
                e->ids = inventory_ids_free(e->ids);
        if (!e->ids) {
                if (inventory_ids_new(e->inv, &e->ids) < 0)
                        return inventory_find(e->inv, id, ret_index); /* slower, as well */
                e->ids_generation = e->generation;
        }
        return inventory_ids_find(e->ids, id, ret_index);
}

static bool selected(const struct engine_request *req, const struct ipc_object *o) {
        return (!req->types || (req->types & IPC_TYPE_BIT(o->type))) &&
               (!req->by_uid || ipc_object_belongs_to(o, req->uid));
}

/* The objects removed leave the judgement kept, so what is counted from it
 * is what is there, and its indexes are made again without them: the rest
 * of the judgement stands, as removing an orphan changes no other verdict
 * (what a removal does to the files the guard watches, it tells). */
static void forget_removed(struct engine *e, const struct reap_result *res) {
        size_t w = 0;
        bool any = false;

        for (size_t i = 0; i < res->n_records; i++)
                if (res->records[i].action == REAP_REMOVED && res->records[i].index < e->inv->n_objects) {
                        e->judgements[res->records[i].index].verdict = _VERDICT_MAX; /* marked */
                        any = true;
                }
        if (!any)
                return;
        drop_index(e);
        e->generation++;
        e->stale = true;
        for (size_t i = 0; i < e->inv->n_objects; i++) {
                if (e->judgements[i].verdict == _VERDICT_MAX) {
                        ipc_object_done(&e->inv->objects[i]);
                        judgement_done(&e->judgements[i]);
                        continue;
                }
                e->inv->objects[w] = e->inv->objects[i];
                e->judgements[w++] = e->judgements[i];
        }
        e->inv->n_objects = w;
        /* A failure here costs only a sweep on an exit that did not matter,
         * or a full judgement where a confirmation would do. */
        (void) index_evidence(e);
        if ((e->flags & ENGINE_INCREMENTAL) && index_for_quick(e) < 0)
                drop_index(e);
}

static int reap_selected(struct engine *e, const struct engine_request *req, const bool *select,
                         struct reap_result **ret) {
        const struct daemon_config *d = &e->config->daemon;
        struct reap_archive archive = {
                .dir = d->archive_dir, .max_bytes = d->archive_max_bytes, .keep_seconds = d->archive_keep,
                .by_uid = req->caller,
                .ipcns = e->paths->ns && !e->paths->ns->self ? e->paths->ns->ino : 0,
                .container = e->paths->ns && !e->paths->ns->self ? e->paths->ns->name : NULL,
        };
        struct reap_options opt = {
                .dry_run = req->dry_run,
                .max_removals = req->max_removals ? req->max_removals : e->config->daemon.max_removals,
                .scan = &e->config->scan,
                .paths = e->paths,
                .rules = e->config->rules,
                .n_rules = e->config->n_rules,
                .force = req->force,
                .select = select,
                .memory = e->remembers ? e->memory : NULL,
                .sight = &e->sight,
                .clock_step = e->clock.step,
                .archive = &archive,
                .where = &e->where,
        };
        /* In another namespace, a child there re-verifies, archives and
         * removes: IPC_STAT and IPC_RMID act on the caller's namespace. */
        int r = e->paths->ns && !e->paths->ns->self ? nshelper_reap(e->inv, e->judgements, &opt, ret)
                                                    : reap(e->inv, e->judgements, &opt, ret);
        if (r >= 0 && !req->dry_run)
                forget_removed(e, *ret);
        return r;
}

int engine_reap(struct engine *e, const struct engine_request *req, struct reap_result **ret) {
        _cleanup_free_ bool *select = NULL;

        if (!e->inv)
                return -ESTALE;
        select = calloc(e->inv->n_objects ? e->inv->n_objects : 1, sizeof(bool));
        if (!select)
                return -ENOMEM;
        for (size_t i = 0; i < e->inv->n_objects; i++)
                select[i] = selected(req, &e->inv->objects[i]);
        return reap_selected(e, req, select, ret);
}

int engine_remove_one(struct engine *e, const char *id, const struct engine_request *req, size_t *ret_index,
                      struct reap_result **ret) {
        _cleanup_free_ bool *select = NULL;
        size_t i;
        int r;

        r = engine_judge(e, ENGINE_FULL); /* judged now, not a second ago */
        if (r < 0)
                return r;
        r = engine_find(e, id, &i);
        if (r < 0)
                return r;
        if (!selected(req, &e->inv->objects[i]))
                return -ENOENT;
        *ret_index = i;
        if (!reap_removable(e->judgements[i].verdict, req->force))
                return -EBUSY;
        select = calloc(e->inv->n_objects, sizeof(bool));
        if (!select)
                return -ENOMEM;
        select[i] = true;
        struct engine_request one = *req;
        one.max_removals = 1;
        return reap_selected(e, &one, select, ret);
}

/* Is any SysV object there that the judgement kept did not see, or one
 * whose recorded pids include an exited one?  Reading /proc/sysvipc costs
 * far less than a judgement, which needs all of /proc. */
static bool sysv_news(struct engine *e, const pid_t *pids, size_t n) {
        _cleanup_(inventory_freep) struct inventory *now = NULL;
        const char *dir = e->paths->sysvipc ? e->paths->sysvipc : "/proc/sysvipc";
        /* Another namespace's objects are listed by a helper in it, and
         * are found by id in the judgement (no confirmation index is kept
         * for them: see engine_new's callers). */
        bool foreign = e->paths->ns && !e->paths->ns->self;
        const unsigned types = e->config->scan.types & (IPC_TYPE_BIT(IPC_TYPE_SHM) | IPC_TYPE_BIT(IPC_TYPE_MSG));

        if (!e->inv || (!foreign && !e->inv_index))
                return true;
        /* shm and msg only: listing them is a read of two files, while sem
         * needs semctl per set; a sem's pids live in the evidence index. */
        if (foreign) {
                struct scan_config scan = e->config->scan;
                scan.types = types;
                if (collect_inventory(&scan, e->paths, NULL, &now) < 0)
                        return true;
        } else {
                if (inventory_new(&now) < 0)
                        return true;
                for (enum ipc_type t = IPC_TYPE_SHM; t <= IPC_TYPE_MSG; t++)
                        if ((types & IPC_TYPE_BIT(t)) && sysv_collect(t, dir, NULL, now) < 0)
                                return true;
        }
        for (size_t i = 0; i < now->n_objects; i++) {
                const struct ipc_object *o = &now->objects[i];
                const struct ipc_object *p = NULL;
                if (e->inv_index)
                        p = inventory_index_find(e->inv_index, o);
                else {
                        _cleanup_free_ char *id = ipc_object_id(o);
                        size_t k;
                        if (!id)
                                return true;
                        if (engine_find(e, id, &k) == 0)
                                p = &e->inv->objects[k];
                }
                if (!p || p->type != o->type || p->ctime != o->ctime)
                        return true; /* new since the last judgement */
                for (size_t k = 0; k < n; k++)
                        if (pids[k] == o->cpid || pids[k] == o->lpid || pids[k] == o->lrpid)
                                return true;
        }
        return false;
}

bool engine_exits_matter(struct engine *e, const pid_t *pids, size_t n, bool lost) {
        const struct ipcns *ns = e->paths->ns && !e->paths->ns->self ? e->paths->ns : NULL;
        bool unknown = lost;

        for (size_t i = 0; i < n; i++) {
                if (e->n_evidence_pids &&
                    bsearch(&pids[i], e->evidence_pids, e->n_evidence_pids, sizeof(pid_t), cmp_pid))
                        return true;
                /* A process born after the judgement may have made objects
                 * it never saw.  In another namespace, only if it was one
                 * of its (possible) members when they were last found: an
                 * exit anywhere on the host must not make every namespace's
                 * helper look.  One born and gone between two discoveries is
                 * seen at the next sweep. */
                if ((!e->proctab || !proctab_find(e->proctab, pids[i])) &&
                    (!ns || ipcns_may_be_member(ns, pids[i])))
                        unknown = true;
        }
        return unknown && sysv_news(e, pids, n);
}

int engine_watch_fd(const struct engine *e) {
        return e->watch ? watch_fd(e->watch) : -1;
}

size_t engine_watch_exited(struct engine *e, pid_t *pids, size_t max) {
        return e->watch ? watch_exited(e->watch, pids, max) : 0;
}

struct engine_stats engine_stats(const struct engine *e) {
        return e->stats;
}

const struct collect_paths *engine_paths(const struct engine *e) {
        return e->paths;
}

const struct sight *engine_sight(const struct engine *e) {
        return &e->sight;
}

int engine_save_error(const struct engine *e) {
        return e->save_error;
}

char *engine_take_warning(struct engine *e) {
        return TAKE_PTR(e->memory_warning);
}
