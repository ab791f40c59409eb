/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "collect.h"
#include "config.h"
#include "engine.h"
#include "history.h"
#include "judge.h"
#include "reap.h"

struct connector;
struct guard;
struct sleepers;
struct watch;

/* What started a sweep, for the log. */
enum sweep_trigger {
        TRIGGER_START,
        TRIGGER_TIMER,
        TRIGGER_EXIT,
        TRIGGER_REQUEST,
};

struct manager_stats {
        uint64_t sweeps;
        uint64_t removed_total, skipped_total, failed_total;
        uint64_t removed_by_type[_IPC_TYPE_MAX], skipped_by_type[_IPC_TYPE_MAX];
        time_t last_sweep;          /* wall clock of the last sweep, 0: none yet */
        uint64_t last_sweep_usec;   /* how long it took */
        uint64_t exit_events, prompt_sweeps;
        uint64_t quick_judgements, full_judgements;
        uint64_t quick_with_dead; /* quick judgements that kept verdicts other than LIVE */
};


struct manager {
        sd_event *event;

        char *config_path; /* as given, or the default */
        bool config_explicit;
        bool force_dry_run; /* --dry-run */
        bool no_process_events;
        bool once;
        struct config *config;
        struct collect_paths paths;
        /* The memory of life, the sight and the clocks every judgement
         * weighs (lib/engine.h). */
        struct engine *engine;
        bool sight_said;       /* the partial view was logged */
        int save_error_said;   /* the last state file error logged */
        sd_event_source *clock_source; /* TFD_TIMER_CANCEL_ON_SET: the wall clock stepped */
        sd_event_source *watch_source; /* the pidfds of the evidence: one exited */

        /* The last judgement, kept for List, Explain, GetStatus and metrics. */
        struct inventory *inv;
        struct proctab *proctab;
        struct judgement *judgements;
        struct inventory_index *inv_index; /* of inv: what a quick sweep compares with */
        /* The FIFOs, sem sets and msg queues judged without life: a thread
         * blocked opening or waiting on one of them is news. */
        struct holder_index *dead_keys;
        uint64_t judged_usec; /* CLOCK_MONOTONIC */
        /* Moves whenever inv, judgements or proctab change or go: a reply
         * still being written from them must stop (api.h). */
        uint64_t state_generation;
        /* Pids that were evidence of life, sorted: their exit prompts a sweep. */
        pid_t *evidence_pids;
        size_t n_evidence_pids;

        /* Exits seen since the last prompt check. */
        pid_t *exited;
        size_t n_exited;
        bool exited_unknown; /* a pid we did not know, or lost events */
        uint64_t last_prompt_usec; /* CLOCK_MONOTONIC of the last prompt sweep */

        /* Reuse of the last full judgement (see judge_quick in manager.c). */
        struct watch *watch;   /* pidfds of the live evidence processes */
        struct guard *guard;   /* inotify on the files, for verdicts of no life */
        struct sleepers *sleepers; /* every thread's wchan, for blocked openers and waiters */
        uint64_t sleepers_retry_usec; /* CLOCK_MONOTONIC: no new sleepers before */
        /* The verdicts of no life in the last full judgement rest only on
         * what the guard, the sleepers and the facts re-read can vouch for
         * (no uid, Owner= or notification evidence, nothing touched within
         * a pid's start-time slack): they may be kept too. */
        bool dead_reusable;
        /* Every semaphore waiter the kernel counted was found by its wchan:
         * the names this kernel uses are the ones we know.  Until one such
         * check fails, the sleepers vouch for the waiter counts. */
        bool waiters_by_wchan;
        bool partial;          /* the last judgement covered some types only */
        unsigned quick_sweeps; /* sweeps since the last full judgement */
        uint64_t full_usec;    /* CLOCK_MONOTONIC of the last full judgement */

        struct history history;
        struct manager_stats stats;
        uint64_t start_usec; /* CLOCK_MONOTONIC */

        sd_event_source *timer;
        sd_event_source *prompt;
        struct connector *connector;
        gid_t admin_gid; /* AdminGroup=, resolved at load */
        bool has_admin_gid;
};

int manager_new(const char *config_path, bool explicit_path, struct manager **ret);
struct manager *manager_free(struct manager *m);
static inline void manager_freep(struct manager **p) {
        if (*p)
                manager_free(*p);
}

/* Loads the configuration at start.  On a bad file, logs FILE:LINE and
 * returns -EINVAL. */
int manager_load_config(struct manager *m);
/* SIGHUP/Reload: a bad file is logged and the running configuration stays.
 * *ret_error gets the message when non-NULL. */
int manager_reload(struct manager *m, char **ret_error);

bool manager_dry_run(const struct manager *m);
/* AdminGroup='s gid, as resolved when the configuration was loaded. */
bool manager_admin_gid(const struct manager *m, gid_t *ret);

/* Collects and judges if the last judgement is older than MAX_AGE_USEC. */
int manager_refresh(struct manager *m, uint64_t max_age_usec);
/* A full sweep: collect, judge, reap (or only record, when DRY_RUN), log
 * every record, keep the state.  TYPES 0: the configured ones. */
int manager_sweep(struct manager *m, enum sweep_trigger trigger, bool dry_run, unsigned types,
                  struct reap_result **ret);

/* Logs each record, counts it and keeps it in the history.  A dry run asked
 * for over the socket (QUIET) logs nothing and keeps nothing: anyone may ask
 * for one, and it must not flood the journal or push real actions out of
 * the history. */
void manager_log_records(struct manager *m, const struct reap_result *res, bool quiet);

/* Sets up the timer, signals, watchdog and process events, sweeps once,
 * then tells systemd it is ready (the control socket is open by then). */
int manager_start(struct manager *m);
void manager_notify_status(struct manager *m);
