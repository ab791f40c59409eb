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
#include "namespaces.h"
#include "reap.h"
#include "said.h"
#include "service.h"

struct connector;

/* What started a sweep, for the log. */
enum sweep_trigger {
        TRIGGER_START,
        TRIGGER_TIMER,
        TRIGGER_EXIT,
        TRIGGER_REQUEST, /* over the socket */
        TRIGGER_ONCE,    /* ipcgcd --once */
};

struct manager_stats {
        uint64_t sweeps;
        uint64_t removed_total, skipped_total, failed_total;
        uint64_t removed_by_type[_IPC_TYPE_MAX], skipped_by_type[_IPC_TYPE_MAX], failed_by_type[_IPC_TYPE_MAX];
        time_t last_sweep;          /* wall clock of the last sweep, 0: none yet */
        uint64_t last_sweep_usec;   /* how long it took */
        uint64_t exit_events, prompt_sweeps;
};

/*
 * The daemon: the event loop and what comes through it (the timer, process
 * exits, the wall clock being set, signals), the configuration, the log,
 * the history and sd_notify.  The judgement and every removal are the
 * engine's (lib/engine.h); the socket's methods are api.c's.
 */
struct manager {
        sd_event *event;

        char *config_path; /* as given, or the default */
        bool config_explicit;
        bool force_dry_run; /* --dry-run */
        bool no_process_events;
        struct config *config;
        struct collect_paths paths;
        /* The daemon's own IPC namespace's engine, and with Namespaces=all
         * one for every other namespace found at the last sweep, sorted by
         * inode. */
        struct nsengine host;
        struct nsengine **others;
        size_t n_others;
        uint64_t self_ino; /* the daemon's own IPC namespace's inode, once found */
        bool ns_cut_said;  /* more namespaces than the limit: said once */
        uint64_t ns_found_usec; /* CLOCK_MONOTONIC of the last discovery */
        /* Where the next sweep of the other namespaces starts: after the
         * last one swept when MaxRemovalsPerSweep= stopped a sweep, so that
         * none waits sweep after sweep behind the same others. */
        uint64_t ns_next_ino;
        bool ns_stop_said; /* that stop was logged, until a sweep does not stop */
        /* The daemon's own namespace, named when Namespaces=all (so its
         * objects carry its inode too, as the others'); paths.ns then. */
        struct ipcns self_ns;
        /* No process connector: every engine's evidence is watched. */
        bool watch_others;
        gid_t admin_gid; /* AdminGroup=, resolved at load */
        bool has_admin_gid;

        int metrics_error_said; /* the last MetricsFile= error logged */

        /* Exits seen since the last look. */
        pid_t *exited;
        size_t n_exited;
        bool exits_lost; /* lost events, or too many to keep */
        uint64_t last_prompt_usec; /* CLOCK_MONOTONIC of the last prompt sweep */

        struct history history;
        char *history_dir; /* StateDir= at start, where the history is kept; NULL: not kept */
        int history_error_said; /* the last error saving it, logged */
        struct manager_stats stats;
        uint64_t start_usec; /* CLOCK_MONOTONIC */

        sd_event_source *timer;
        sd_event_source *prompt;
        sd_event_source *clock_source; /* TFD_TIMER_CANCEL_ON_SET: the wall clock stepped */
        struct connector *connector;
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

/* A sweep: judged (a confirmation when nothing changed), reaped (or only
 * recorded, on a dry-run daemon), every record logged, counted and kept;
 * with Namespaces=all, of every IPC namespace found now. */
int manager_sweep(struct manager *m, enum sweep_trigger trigger);

/* The engine of the IPC namespace INO (the daemon's own, or another one
 * found at the last sweep), or NULL. */
struct nsengine *manager_find_ns(struct manager *m, uint64_t ino);
/* For a request: the namespaces found again (Namespaces=all); for callers
 * who are not admins (ADMIN false) not if that was done less than a second
 * ago, so that asking cannot keep the daemon walking /proc.  Then the one
 * of INO, or NULL. */
void manager_refresh_namespaces(struct manager *m, bool admin);
struct nsengine *manager_find_ns_now(struct manager *m, uint64_t ino, bool admin);

/* The service's hooks (lib/service.h), USERDATA an nsengine: what an admin
 * asked for over the socket, said; what the daemon counted. */
void manager_acted(void *userdata, enum service_act act, const struct reap_result *res, uint64_t usec);
void manager_counters(void *userdata, struct metrics_counters *ret);
int manager_more_metrics(void *userdata, json_object *families);
/* An nsengine's (USERDATA) watched evidence exited: news, as from the
 * connector. */
int manager_on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* Sets up the timer, signals, watchdog and process events, sweeps once,
 * then tells systemd it is ready (the control socket is open by then). */
int manager_start(struct manager *m);
void manager_notify_status(struct manager *m);
