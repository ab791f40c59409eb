/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "connector.h"
#include "guard.h"
#include "log.h"
#include "manager.h"
#include "parse.h"
#include "sleepers.h"
#include "sysv.h"
#include "watch.h"

/* Exits are gathered for this long before one look decides on a sweep, so
 * a burst of exits costs one sweep, not one each. */
#define PROMPT_DELAY_USEC (50 * 1000)
/* ...and at least this long after the last prompt sweep: a loop of short
 * processes that each touch a queue must not keep the daemon sweeping. */
#define PROMPT_MIN_GAP_USEC (250 * 1000)
#define MAX_PENDING_EXITS 4096u
/* A sweep may reuse the last full judgement this many times in a row, and
 * for this long: what a reuse cannot see (a new holder of an object judged
 * dead, a holder that closed its fd but lives on) is seen by then. */
#define QUICK_MAX_SWEEPS 9u
#define QUICK_MAX_AGE_USEC (10ull * 60 * 1000000)
/* A quick sweep writes the memory out at most this often: what it adds is
 * only "still alive", and a full judgement writes it anyway. */
#define QUICK_SAVE_GAP_USEC (60ull * 1000000)

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void drop_state(struct manager *m) {
        m->state_generation++;
        if (m->inv)
                judgements_free(m->judgements, m->inv->n_objects);
        m->judgements = NULL;
        m->inv_index = inventory_index_free(m->inv_index);
        m->dead_keys = m->dead_keys ? holder_index_free(m->dead_keys) : NULL;
        m->inv = inventory_free(m->inv);
        m->proctab = proctab_free(m->proctab);
        free(m->evidence_pids);
        m->evidence_pids = NULL;
        m->n_evidence_pids = 0;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        connector_free(m->connector);
        watch_free(m->watch);
        guard_free(m->guard);
        sleepers_free(m->sleepers);
        sd_event_source_disable_unref(m->timer);
        sd_event_source_disable_unref(m->prompt);
        sd_event_source_disable_unref(m->clock_source);
        sd_event_source_disable_unref(m->watch_source);
        drop_state(m);
        if (m->engine && m->engine->learnt)
                (void) engine_save(m->engine); /* what the quick sweeps saw since */
        engine_free(m->engine);
        history_clear(&m->history);
        free(m->exited);
        config_free(m->config);
        free(m->config_path);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_new(const char *config_path, bool explicit_path, struct manager **ret) {
        _cleanup_(manager_freep) struct manager *m = calloc(1, sizeof(*m));
        int r;

        if (!m)
                return -ENOMEM;
        m->config_path = strdup(config_path);
        if (!m->config_path)
                return -ENOMEM;
        m->config_explicit = explicit_path;
        m->start_usec = now_usec(CLOCK_MONOTONIC);
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int load(struct manager *m, struct config **ret, char **ret_error) {
        return config_load(m->config_path, CONFIG_DROPINS | (m->config_explicit ? CONFIG_MUST_EXIST : 0), ret,
                           ret_error);
}

/* The admin group is looked up once per configuration, not per client. */
static void resolve_admin_group(struct manager *m) {
        const char *group = m->config->daemon.admin_group;
        m->has_admin_gid = group && parse_gid(group, &m->admin_gid) == 0;
        if (group && !m->has_admin_gid)
                log_msg(LOG_WARNING, "AdminGroup=%s: no such group now; only root is an admin", group);
}

bool manager_admin_gid(const struct manager *m, gid_t *ret) {
        if (m->has_admin_gid)
                *ret = m->admin_gid;
        return m->has_admin_gid;
}

int manager_load_config(struct manager *m) {
        _cleanup_free_ char *error = NULL;
        int r = load(m, &m->config, &error);
        if (r < 0) {
                log_event(LOG_ERR, MESSAGE_ID_CONFIG_ERROR, "%s", error ? error : strerror(-r));
                return r;
        }
        resolve_admin_group(m);
        /* StateDir= is read here only: a reload keeps the memory it has. */
        r = engine_open(m->config, m->paths.proc, geteuid() == 0, &m->engine);
        if (r < 0) {
                log_msg(LOG_ERR, "cannot read the memory of life: %s", strerror(-r));
                return r;
        }
        if (m->engine->memory_warning)
                log_msg(LOG_WARNING, "%s", m->engine->memory_warning);
        return 0;
}

/* Says once what a judgement could not see, and when the state file could
 * not be written (once per kind of failure). */
static void log_engine(struct manager *m) {
        struct engine *e = m->engine;

        if (e->sight.partial && !m->sight_said)
                log_msg(LOG_WARNING, "no object without visible life is judged dead: %s", e->sight.reason);
        else if (!e->sight.partial && m->sight_said)
                log_msg(LOG_INFO, "every process that could hold the objects is in sight again");
        m->sight_said = e->sight.partial;
        if (e->save_error && e->save_error != m->save_error_said)
                log_msg(LOG_WARNING, "cannot save the memory of life in %s, judging without it after a restart: %s",
                        m->config->daemon.state_dir, strerror(-e->save_error));
        m->save_error_said = e->save_error;
}

bool manager_dry_run(const struct manager *m) {
        return m->force_dry_run || m->config->daemon.dry_run;
}

static int arm_timer(struct manager *m) {
        uint64_t usec = m->config->daemon.interval * 1000000u;
        if (!m->timer)
                return sd_event_add_time_relative(m->event, &m->timer, CLOCK_MONOTONIC, usec, 0, NULL, m);
        int r = sd_event_source_set_time_relative(m->timer, usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
        return r;
}

int manager_reload(struct manager *m, char **ret_error) {
        struct config *c = NULL;
        char *error = NULL;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long) now_usec(CLOCK_MONOTONIC));
        r = load(m, &c, &error);
        if (r < 0) {
                log_event(LOG_ERR, MESSAGE_ID_CONFIG_ERROR, "reload refused, keeping the running configuration: %s",
                          error ? error : strerror(-r));
                if (ret_error)
                        *ret_error = error;
                else
                        free(error);
                (void) sd_notify(false, "READY=1");
                manager_notify_status(m);
                return r;
        }
        /* Rules change verdicts: what was judged under the old ones is stale.
         * The judgements point into the old rules, so they go with them. */
        drop_state(m);
        engine_set_config(m->engine, c);
        config_free(m->config);
        m->config = c;
        resolve_admin_group(m);
        (void) arm_timer(m);
        log_event(LOG_INFO, MESSAGE_ID_RELOAD, "configuration reloaded from %s: %zu rules, interval %llus%s",
                  m->config_path, c->n_rules, (unsigned long long) c->daemon.interval,
                  manager_dry_run(m) ? ", dry run" : "");
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        return 0;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

/* The pids whose exit could change a verdict: every live process evidence. */
static int index_evidence(struct manager *m) {
        size_t n = 0, cap = 0;
        pid_t *pids = NULL;

        for (size_t i = 0; i < m->inv->n_objects; i++) {
                const struct judgement *j = &m->judgements[i];
                for (size_t k = 0; k < j->n_evidence; k++) {
                        const struct evidence *e = &j->evidence[k];
                        if (e->state != EVIDENCE_ALIVE || e->pid <= 0)
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
                        pids[n++] = e->pid;
                }
        }
        if (n)
                qsort(pids, n, sizeof(pid_t), cmp_pid);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
                if (u == 0 || pids[u - 1] != pids[i])
                        pids[u++] = pids[i];
        free(m->evidence_pids);
        m->evidence_pids = pids;
        m->n_evidence_pids = u;

        return 0;
}

/*
 * May the verdicts of no life of the last full judgement be kept while the
 * guard, the sleepers and the re-read facts show nothing new?  Not when one
 * rests on what those cannot see: a live process of some uid, an Owner=
 * source, a notification pid (no start time to check reuse against), or a
 * SysV pid recorded so recently that a process starting now could still
 * pass for the one recorded (JUDGE_PID_SLACK_USEC).
 */
static bool dead_reusable(const struct manager *m) {
        time_t now = time(NULL);

        for (size_t i = 0; i < m->inv->n_objects; i++) {
                const struct judgement *j = &m->judgements[i];
                const struct ipc_object *o = &m->inv->objects[i];
                if (j->verdict == VERDICT_LIVE)
                        continue;
                for (size_t k = 0; k < j->n_evidence; k++) {
                        enum evidence_role role = j->evidence[k].role;
                        /* and a unit or an owner can come back to life
                         * with no open or blocked thread to tell of it */
                        if (role == ROLE_UID_PROCESS || role == ROLE_OWNER || role == ROLE_NOTIFY ||
                            role == ROLE_UNIT || role == ROLE_NEVER_SEEN)
                                return false;
                }
                if (ipc_type_is_sysv(o->type)) {
                        /* every time a SysV pid is recorded at */
                        time_t last = ipc_object_last_activity(o);
                        if ((uint64_t) last * 1000000ull + 2 * JUDGE_PID_SLACK_USEC > (uint64_t) now * 1000000ull)
                                return false;
                }
        }
        return true;
}

/* Did the holder scan find, by wchan, a waiter on every semaphore set the
 * kernel says has waiters?  If not, this kernel names the wait in a way we
 * do not know, and wchan cannot vouch for waiter counts. */
static bool waiters_counted_named(const struct manager *m) {
        for (size_t i = 0; i < m->inv->n_objects; i++) {
                const struct ipc_object *o = &m->inv->objects[i];
                if (o->type != IPC_TYPE_SEM || !o->sems || o->n_holders > 0)
                        continue;
                for (unsigned k = 0; k < o->nsems; k++)
                        if (o->sems[k].ncnt || o->sems[k].zcnt)
                                return false;
        }
        return true;
}

/* What a quick sweep needs of a full judgement: its objects by identity,
 * and the keys of those judged without life. */
static int index_for_quick(struct manager *m) {
        int r = inventory_index_new(m->inv, &m->inv_index);
        if (r < 0)
                return r;
        size_t n_dead = 0;
        for (size_t i = 0; i < m->inv->n_objects; i++)
                n_dead += m->judgements[i].verdict != VERDICT_LIVE;
        r = holder_index_new(n_dead, &m->dead_keys);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->inv->n_objects; i++) {
                dev_t dev;
                ino_t ino;
                const struct ipc_object *o = &m->inv->objects[i];
                /* what a blocked thread can be recorded under */
                bool blockable = o->type == IPC_TYPE_FIFO || o->type == IPC_TYPE_SEM || o->type == IPC_TYPE_MSG;
                if (m->judgements[i].verdict != VERDICT_LIVE && blockable && collect_holder_key(o, &dev, &ino)) {
                        r = holder_index_want(m->dead_keys, dev, ino);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int judge_now(struct manager *m, unsigned types) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        struct judgement *js = NULL;
        struct scan_config scan = m->config->scan;
        int r;

        if (types)
                scan.types &= types;
        /* Nothing of the last judgement is used to make the next one: let
         * it go first, so a sweep never holds two inventories at once, and
         * give its heap back before the next one is built beside it. */
        drop_state(m);
        (void) malloc_trim(0);
        r = collect_inventory(&scan, &m->paths, NULL, &inv);
        if (r < 0)
                return r;
        /* Before the holder scan: an open after it must leave a trace. */
        if (m->guard)
                guard_arm(m->guard, inv, &scan);
        r = collect_holders(inv, &m->paths, judge_proctab_needs(inv, m->config->rules, m->config->n_rules), &pt);
        if (r < 0)
                return r;
        r = engine_see(m->engine, inv);
        if (r < 0)
                return r;
        time_t now = time(NULL);
        struct judge_context ctx = engine_context(m->engine, pt, now);
        r = judge_inventory(&ctx, inv, &js);
        if (r < 0)
                return r;
        r = engine_learn(m->engine, inv, js, pt, scan.types, now, 0);
        if (r == -ENOMEM) {
                judgements_free(js, inv->n_objects);
                return r;
        }
        log_engine(m);

        /* Each warning once per judgement is too chatty for a daemon that
         * judges every minute: only at debug level after the first time. */
        for (size_t i = 0; i < inv->n_warnings; i++)
                log_msg(m->stats.sweeps == 0 ? LOG_WARNING : LOG_DEBUG, "%s", inv->warnings[i]);

        drop_state(m);
        m->inv = TAKE_PTR(inv);
        m->proctab = TAKE_PTR(pt);
        m->judgements = js;
        m->judged_usec = m->full_usec = now_usec(CLOCK_MONOTONIC);
        m->partial = types != 0;
        m->quick_sweeps = 0;
        m->stats.full_judgements++;
        r = index_evidence(m);
        if (r < 0)
                return r;
        if (m->guard)
                guard_commit(m->guard, m->inv, m->judgements, &m->config->scan);
        r = index_for_quick(m);
        if (r < 0) {
                /* No quick sweep on half an index. */
                m->inv_index = inventory_index_free(m->inv_index);
                m->dead_keys = m->dead_keys ? holder_index_free(m->dead_keys) : NULL;
                return r;
        }
        m->dead_reusable = dead_reusable(m);
        if (!waiters_counted_named(m))
                m->waiters_by_wchan = false;
        /* Watch the live evidence, so the next sweep can tell cheaply
         * whether any of it is gone.  A failure only costs that. */
        if (m->watch)
                (void) watch_set(m->watch, m->evidence_pids, m->n_evidence_pids, m->proctab,
                                 m->paths.proc ? m->paths.proc : "/proc");
        return 0;
}

/* Do A and B carry the same facts a verdict is made of?  (Holders aside:
 * the quick path takes them over from the last full judgement.) */
static bool same_facts(const struct ipc_object *a, const struct ipc_object *b) {
        if (a->type != b->type || a->id != b->id || a->key != b->key || a->uid != b->uid || a->gid != b->gid ||
            a->cuid != b->cuid || a->cgid != b->cgid || a->mode != b->mode || a->size != b->size ||
            a->cpid != b->cpid || a->lpid != b->lpid || a->lrpid != b->lrpid || a->nattch != b->nattch ||
            a->qnum != b->qnum || a->notify_pid != b->notify_pid || a->atime != b->atime || a->mtime != b->mtime ||
            a->dtime != b->dtime || a->nsems != b->nsems || a->dev != b->dev || a->ino != b->ino ||
            ((a->flags ^ b->flags) & ~IPC_OBJECT_SEMS_LENT))
                return false;
        /* Our own reads of a queue's status stamp its ctime. */
        if (a->type != IPC_TYPE_MQ && a->ctime != b->ctime)
                return false;
        if ((a->name || b->name) && (!a->name || !b->name || strcmp(a->name, b->name) != 0))
                return false;
        if (a->nsems && (!a->sems || !b->sems || memcmp(a->sems, b->sems, a->nsems * sizeof(*a->sems)) != 0))
                return false;
        return true;
}

/* Is any thread blocked opening, or waiting on, an object the last
 * judgement found no life in?  (Or blocked where we cannot tell on what.)
 * Such a thread holds no fd and changes no fact the sweep re-reads.
 * Returns 1 if so, 0 if not, or a negative errno. */
static int blocked_on_dead(struct manager *m) {
        int r;

        if (!m->sleepers) {
                /* Not again soon after it failed: walking /proc for nothing
                 * would double every sweep. */
                if (now_usec(CLOCK_MONOTONIC) < m->sleepers_retry_usec)
                        return 1;
                m->sleepers_retry_usec = now_usec(CLOCK_MONOTONIC) + QUICK_MAX_AGE_USEC;
                /* An fd per thread: at most a quarter of what may be open,
                 * so clients and pidfds always find room. */
                struct rlimit rl;
                size_t max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur / 4
                                                                                              : SLEEPERS_MAX;
                r = sleepers_new(m->paths.proc ? m->paths.proc : "/proc", max, &m->sleepers);
                if (r < 0)
                        return r;
        }
        r = sleepers_scan(m->sleepers, m->dead_keys, PROCTAB_FIFO_OPENERS | PROCTAB_IPC_WAITERS);
        if (r < 0) {
                /* Too many threads, or fds: give them back, try again later. */
                m->sleepers = sleepers_free(m->sleepers);
                return r;
        }
        /* The index only records the keys judged dead: any record is news,
         * and the full judgement that follows starts a new index. */
        return r > 0 || holder_index_recorded(m->dead_keys) > 0;
}

/* Are the objects of TYPES collected now the ones judged last, with the
 * same facts?  Marks each one matched in TAKEN.  1: yes, 0: no. */
static int same_as_judged(struct manager *m, unsigned types, bool *taken) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        struct scan_config scan = m->config->scan;
        size_t expected = 0;
        int r;

        scan.types = types;
        r = collect_inventory(&scan, &m->paths, m->inv_index, &inv);
        if (r < 0)
                return r;
        for (size_t k = 0; k < m->inv->n_objects; k++)
                expected += (types & IPC_TYPE_BIT(m->inv->objects[k].type)) != 0;
        if (inv->n_objects != expected)
                return 0;
        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *p = inventory_index_find(m->inv_index, &inv->objects[i]);
                if (!p || !same_facts(p, &inv->objects[i]))
                        return 0;
                size_t k = (size_t) (p - m->inv->objects);
                if (taken[k])
                        return 0;
                taken[k] = true;
        }
        return 1;
}

/*
 * A sweep when nothing has changed, without reading all of /proc.
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
 * turns them ORPHAN.  Anything else, and it is a full
 * judgement.  Returns 1 when the quick path judged, 0 when a full judgement
 * is needed.
 *
 * Removal re-verifies every object against a fresh /proc pass whatever
 * judged it (reap.c).  What the reuse can miss is the other way: a holder
 * that closes its fd but lives on keeps the object LIVE until the next full
 * judgement, at least every QUICK_MAX_SWEEPS sweeps or ten minutes.
 */
static int judge_quick(struct manager *m) {
        _cleanup_free_ bool *taken = NULL;
        bool all_live = true, files_kept;
        int r;

        if (!m->inv || !m->inv_index || !m->dead_keys || m->partial || !m->watch ||
            m->quick_sweeps >= QUICK_MAX_SWEEPS || now_usec(CLOCK_MONOTONIC) - m->full_usec > QUICK_MAX_AGE_USEC ||
            !watch_all_alive(m->watch))
                return 0;
        for (size_t k = 0; k < m->inv->n_objects && all_live; k++)
                all_live = m->judgements[k].verdict == VERDICT_LIVE;
        if (!all_live) {
                if (!m->dead_reusable || !m->guard || !guard_intact(m->guard))
                        return 0;
                /* The sleepers before the guard's last word: an opener that
                 * was blocked and has since got through is either still seen
                 * blocked, or its open is an event by the time the guard is
                 * read again below. */
                r = blocked_on_dead(m);
                if (r != 0)
                        return r < 0 ? r : 0;
        }
        files_kept = m->guard && guard_intact(m->guard);
        if (!all_live && !files_kept)
                return 0;

        /* Waiter counts matter only for sets without life, and the
         * sleepers just found no thread waiting on any of those. */
        inventory_index_lend_sem_counts(m->inv_index, all_live || m->waiters_by_wchan);
        taken = calloc(m->inv->n_objects ? m->inv->n_objects : 1, sizeof(bool));
        if (!taken)
                return -ENOMEM;
        /* A type at a time: the collection compared is never more than one
         * type's worth beside the judgement kept. */
        unsigned types = m->config->scan.types;
        for (enum ipc_type t = IPC_TYPE_SHM; t <= IPC_TYPE_SEM; t++)
                if (types & IPC_TYPE_BIT(t)) {
                        r = same_as_judged(m, IPC_TYPE_BIT(t), taken);
                        if (r <= 0)
                                return r;
                }
        /* The file objects are listed again only without the guard. */
        if (!files_kept && (types & ~IPC_TYPE_MASK_SYSV)) {
                r = same_as_judged(m, types & ~IPC_TYPE_MASK_SYSV, taken);
                if (r <= 0)
                        return r;
        }

        /* And nothing opened meanwhile. */
        if (!all_live && !guard_intact(m->guard))
                return 0;

        /* The objects are the ones judged, with the same facts: the old
         * inventory stands, and so do its holders.  Judgements change. */
        m->state_generation++;
        struct judge_context ctx = engine_context(m->engine, m->proctab, time(NULL));
        for (size_t k = 0; k < m->inv->n_objects; k++) {
                struct judgement *j = &m->judgements[k];
                const struct ipc_object *o = &m->inv->objects[k];
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
                                return r;
                        judgement_done(j);
                        *j = fresh;
                } else
                        j->idle = idle;
        }

        /* The watch vouched for every LIVE verdict's processes: that is
         * life seen now.  Written out now and then, and at exit. */
        learn_still_live(m->engine->memory, m->inv, m->judgements, ctx.now);
        if (m->engine->saved_usec + (int64_t) QUICK_SAVE_GAP_USEC < (int64_t) now_usec(CLOCK_MONOTONIC)) {
                (void) engine_save(m->engine);
                log_engine(m);
        }

        m->judged_usec = now_usec(CLOCK_MONOTONIC);
        m->quick_sweeps++;
        m->stats.quick_judgements++;
        if (!all_live)
                m->stats.quick_with_dead++;
        return 1;
}

int manager_refresh(struct manager *m, uint64_t max_age_usec) {
        /* What a person asks about is judged in full: a reused judgement is
         * for sweeps, which re-verify before they act. */
        if (m->inv && m->quick_sweeps == 0 && now_usec(CLOCK_MONOTONIC) - m->judged_usec <= max_age_usec)
                return 0;
        return judge_now(m, 0);
}

static const char *trigger_name(enum sweep_trigger t) {
        switch (t) {
        case TRIGGER_START:
                return "start";
        case TRIGGER_TIMER:
                return "timer";
        case TRIGGER_EXIT:
                return "process exit";
        case TRIGGER_REQUEST:
                return "request";
        }
        return "?";
}

void manager_log_records(struct manager *m, const struct reap_result *res, bool quiet) {
        time_t now = time(NULL);

        for (size_t i = 0; i < res->n_records && !quiet; i++) {
                const struct reap_record *rec = &res->records[i];
                const char *id;
                int prio;

                switch (rec->action) {
                case REAP_REMOVED:
                        id = MESSAGE_ID_REMOVED;
                        prio = LOG_NOTICE;
                        m->stats.removed_total++;
                        m->stats.removed_by_type[rec->type]++;
                        break;
                case REAP_WOULD_REMOVE:
                        id = MESSAGE_ID_WOULD_REMOVE;
                        prio = LOG_INFO;
                        break;
                case REAP_SKIPPED:
                        id = MESSAGE_ID_SKIPPED;
                        prio = LOG_INFO;
                        m->stats.skipped_total++;
                        m->stats.skipped_by_type[rec->type]++;
                        break;
                case REAP_FAILED:
                        id = MESSAGE_ID_FAILED;
                        prio = LOG_ERR;
                        m->stats.failed_total++;
                        break;
                default:
                        id = MESSAGE_ID_STOPPED;
                        prio = LOG_WARNING;
                        break;
                }
                log_action(prio, id, rec->id, reap_action_to_string(rec->action), verdict_to_string(rec->verdict),
                           rec->rule, rec->reason, rec->error);
                if (rec->action != REAP_WOULD_REMOVE)
                        (void) history_add(&m->history, now, rec);
        }
}

int manager_sweep(struct manager *m, enum sweep_trigger trigger, bool dry_run, unsigned types,
                  struct reap_result **ret) {
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        uint64_t t0 = now_usec(CLOCK_MONOTONIC);
        int r;

        dry_run = dry_run || manager_dry_run(m);
        /* Always judge every type: the state kept serves List, Explain and
         * the exit index too.  TYPES narrows only what may be removed. */
        /* Whatever stops the quick path (news, or a failure of its own,
         * such as too few fds for the sleepers) leaves it to a full one. */
        r = judge_quick(m);
        if (r <= 0)
                r = judge_now(m, 0);
        if (r < 0) {
                log_msg(LOG_ERR, "sweep failed to judge objects: %s", strerror(-r));
                return r;
        }

        struct scan_config scan = m->config->scan;
        struct reap_options opt = {
                .dry_run = dry_run,
                .max_removals = m->config->daemon.max_removals,
                .scan = &scan,
                .paths = &m->paths,
                .rules = m->config->rules,
                .n_rules = m->config->n_rules,
                .types = types,
        };
        engine_reap_options(m->engine, &opt);
        r = reap(m->inv, m->judgements, &opt, &res);
        if (r < 0) {
                log_msg(LOG_ERR, "sweep failed: %s", strerror(-r));
                return r;
        }
        manager_log_records(m, res, dry_run && trigger == TRIGGER_REQUEST);

        m->stats.sweeps++;
        m->stats.last_sweep = time(NULL);
        m->stats.last_sweep_usec = now_usec(CLOCK_MONOTONIC) - t0;
        if (res->removed || res->failed || res->stopped)
                log_event(LOG_INFO, MESSAGE_ID_SWEEP, "sweep (%s): %zu objects, %u removed, %u skipped, %u failed%s",
                          trigger_name(trigger), m->inv->n_objects, res->removed, res->skipped, res->failed,
                          res->stopped ? ", stopped at MaxRemovalsPerSweep" : "");
        else
                log_msg(LOG_DEBUG, "sweep (%s): %zu objects, nothing to do", trigger_name(trigger),
                        m->inv->n_objects);

        /* What was removed is gone: judge again on the next request. */
        if (res->removed)
                m->judged_usec = 0;
        manager_notify_status(m);
        /* A sweep frees as much as it allocates; hand it back, so a daemon
         * that is mostly idle does not sit on its peak. */
        (void) malloc_trim(0);
        if (ret)
                *ret = TAKE_PTR(res);
        return 0;
}

void manager_notify_status(struct manager *m) {
        size_t counts[_VERDICT_MAX] = {};

        if (m->inv)
                for (size_t i = 0; i < m->inv->n_objects; i++)
                        counts[m->judgements[i].verdict]++;
        (void) sd_notifyf(false,
                          "STATUS=%zu objects: %zu live, %zu orphan, %zu pending, %zu unknown; %llu removed since "
                          "start%s",
                          m->inv ? m->inv->n_objects : 0, counts[VERDICT_LIVE], counts[VERDICT_ORPHAN],
                          counts[VERDICT_PENDING], counts[VERDICT_UNKNOWN],
                          (unsigned long long) m->stats.removed_total, manager_dry_run(m) ? " (dry run)" : "");
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        (void) manager_sweep(m, TRIGGER_TIMER, false, 0, NULL);
        (void) arm_timer(m);
        return 0;
}

/* Is any SysV object there that the last judgement did not see, or one whose
 * recorded pids include an exited one?  Reading /proc/sysvipc costs far less
 * than a sweep, which needs all of /proc. */
static bool sysv_news(struct manager *m) {
        _cleanup_(inventory_freep) struct inventory *now = NULL;
        const char *dir = m->paths.sysvipc ? m->paths.sysvipc : "/proc/sysvipc";

        if (inventory_new(&now) < 0)
                return true;
        /* shm and msg only: listing them is a read of two files, while sem
         * needs semctl per set; a sem's pids live in the evidence index. */
        for (enum ipc_type t = IPC_TYPE_SHM; t <= IPC_TYPE_MSG; t++)
                if ((m->config->scan.types & IPC_TYPE_BIT(t)) && sysv_collect(t, dir, NULL, now) < 0)
                        return true;
        for (size_t i = 0; i < now->n_objects; i++) {
                const struct ipc_object *o = &now->objects[i];
                const struct ipc_object *p = inventory_index_find(m->inv_index, o);
                if (!p || p->ctime != o->ctime)
                        return true; /* new since the last judgement */
                for (size_t k = 0; k < m->n_exited; k++)
                        if (m->exited[k] == o->cpid || m->exited[k] == o->lpid || m->exited[k] == o->lrpid)
                                return true;
        }
        return false;
}

static int on_prompt(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        bool sweep = false;

        for (size_t i = 0; i < m->n_exited && m->n_evidence_pids && !sweep; i++)
                sweep = bsearch(&m->exited[i], m->evidence_pids, m->n_evidence_pids, sizeof(pid_t), cmp_pid) != NULL;
        if (!sweep && m->exited_unknown)
                sweep = sysv_news(m);
        m->n_exited = 0;
        m->exited_unknown = false;
        if (sweep) {
                m->last_prompt_usec = now_usec(CLOCK_MONOTONIC);
                m->stats.prompt_sweeps++;
                (void) manager_sweep(m, TRIGGER_EXIT, false, 0, NULL);
        }
        return 0;
}

static void on_exit_event(pid_t pid, void *userdata) {
        struct manager *m = userdata;

        m->stats.exit_events++;
        if (pid == 0 || m->n_exited >= MAX_PENDING_EXITS)
                m->exited_unknown = true; /* lost events: look at everything */
        else {
                if (!m->exited) {
                        m->exited = calloc(MAX_PENDING_EXITS, sizeof(pid_t));
                        if (!m->exited) {
                                m->exited_unknown = true;
                                goto arm;
                        }
                }
                m->exited[m->n_exited++] = pid;
                /* A process born after the last judgement may have made
                 * objects that judgement never saw. */
                if (!proctab_find(m->proctab, pid))
                        m->exited_unknown = true;
        }
arm:
        if (sd_event_source_get_enabled(m->prompt, NULL) > 0)
                return; /* a look is already due */
        uint64_t now = now_usec(CLOCK_MONOTONIC), at = now + PROMPT_DELAY_USEC;
        if (m->last_prompt_usec && at < m->last_prompt_usec + PROMPT_MIN_GAP_USEC)
                at = m->last_prompt_usec + PROMPT_MIN_GAP_USEC;
        (void) sd_event_source_set_time(m->prompt, at);
        (void) sd_event_source_set_enabled(m->prompt, SD_EVENT_ONESHOT);
}

/* A watched evidence process exited: news, as from the connector. */
static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct manager *m = userdata;
        pid_t pids[256];
        size_t n = watch_exited(m->watch, pids, ELEMENTSOF(pids));

        for (size_t i = 0; i < n; i++)
                on_exit_event(pids[i], m);
        return 0;
}

static int arm_clock(int fd) {
        /* Never expires; only a change of the wall clock wakes it. */
        struct itimerspec its = { .it_value = { .tv_sec = (time_t) INT32_MAX } };
        return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0 ? -errno : 0;
}

/* The wall clock was set: times recorded before and start times computed
 * after are on two scales now.  What the last judgement concluded from
 * comparing them goes; the next one is full, and the engine, seeing the
 * clocks' offset moved, judges reuse and grace conservatively (learn.h). */
static int on_clock(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct manager *m = userdata;
        uint64_t n;

        if (read(fd, &n, sizeof(n)) < 0 && errno == ECANCELED) {
                log_msg(LOG_NOTICE, "the wall clock was set; the next sweep judges every object afresh");
                drop_state(m);
        }
        (void) arm_clock(fd);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload(userdata, NULL);
        return 0;
}

int manager_start(struct manager *m) {
        int r;

        r = sd_event_add_signal(m->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_sighup, m);
        if (r < 0)
                return r;
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        r = sd_event_add_time_relative(m->event, &m->timer, CLOCK_MONOTONIC, m->config->daemon.interval * 1000000u,
                                       0, on_timer, m);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->prompt, CLOCK_MONOTONIC, PROMPT_DELAY_USEC, 0, on_prompt, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->prompt, SD_EVENT_OFF);

        if (m->no_process_events || !m->config->daemon.process_events)
                log_msg(LOG_INFO, "process events disabled; sweeping every %llus",
                        (unsigned long long) m->config->daemon.interval);
        else {
                r = connector_new(m->event, on_exit_event, m, &m->connector);
                if (r < 0)
                        log_msg(LOG_WARNING, "process connector unavailable (%s); relying on the %llus timer",
                                r == -EOPNOTSUPP ? "not in the initial PID namespace" : strerror(-r),
                                (unsigned long long) m->config->daemon.interval);
        }

        /* One pidfd per live evidence process: make room for them. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (watch_new(&m->watch) < 0 || guard_new(&m->guard) < 0)
                return -ENOMEM;
        /* Without the connector (inside a PID namespace, or turned off), the
         * evidence's pidfds tell of its exits; with it, they would tell twice. */
        if (!m->connector) {
                r = sd_event_add_io(m->event, &m->watch_source, watch_fd(m->watch), EPOLLIN, on_watch, m);
                if (r < 0)
                        return r;
        }
        int cfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
        if (cfd >= 0 && arm_clock(cfd) == 0 &&
            sd_event_add_io(m->event, &m->clock_source, cfd, EPOLLIN, on_clock, m) >= 0)
                (void) sd_event_source_set_io_fd_own(m->clock_source, true);
        else if (cfd >= 0)
                (void) close(cfd);
        m->waiters_by_wchan = true; /* until a full judgement shows otherwise */

        (void) manager_sweep(m, TRIGGER_START, false, 0, NULL);
        (void) sd_notify(false, "READY=1");
        log_msg(LOG_INFO, "ready: %zu rules, interval %llus, socket %s%s", m->config->n_rules,
                (unsigned long long) m->config->daemon.interval, m->config->daemon.socket,
                manager_dry_run(m) ? ", dry run" : "");
        return 0;
}
