/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "collect.h"
#include "config.h"
#include "engine.h"
#include "ipcns.h"
#include "said.h"
#include "service.h"

struct manager;

/*
 * One IPC namespace the daemon judges: its engine, how the socket's methods
 * reach it, and what the daemon said of its judgements.  The daemon's own
 * namespace is one (ns NULL); with [Daemon] Namespaces=all, every other
 * namespace of the host found at a sweep is one more, made when it is first
 * found and freed when it is found gone.
 */
struct nsengine {
        struct manager *manager;
        /* Another namespace: a copy of what discovery found, owned here
         * (the engine keeps pointers into it), its members brought up to
         * date at each discovery.  NULL for the daemon's own. */
        struct ipcns *ns;
        struct collect_paths paths; /* .ns = ns */
        /* Another namespace's configuration is the daemon's with StateDir=
         * StateDir/ipcns-INODE (config_in_namespace()): a shallow copy, made
         * again at every reload. */
        struct config ns_config;
        char *state_dir;
        struct engine *engine;
        struct service service;
        /* A dry run's would-removes said, so each is said once (said.h). */
        struct said said;
        bool said_full_said;
        bool dry_stop_said; /* a dry run's stop at MaxRemovalsPerSweep= was said */
        bool sight_said;     /* the partial view was logged */
        int save_error_said; /* the last state file error logged */
        bool found;          /* in the last discovery */
        bool prompted;       /* an exit may change its verdicts: swept at the prompt */
        /* Replies being written piecewise from its judgement (List): while
         * there are any, a namespace found gone is only retired, and freed
         * with the last of them (nsengine_unref_stream()). */
        unsigned streams;
        bool retired;
        /* Without the process connector: its evidence's pidfds, polled by
         * the event loop (ENGINE_WATCH). */
        sd_event_source *watch_source;
};

/* The daemon's own, on CONFIG (which must outlive it, or the next
 * nsengine_set_config()). */
int nsengine_init_host(struct nsengine *n, struct manager *m, const struct config *config);
/* Another namespace's, a copy of NS taken. */
int nsengine_new(struct manager *m, const struct ipcns *ns, const struct config *config, struct nsengine **ret);
/* Its evidence's pidfds polled by the event loop (without the process
 * connector): an exit among them is news (manager_on_watch). */
int nsengine_watch(struct nsengine *n);
/* Frees what N holds (and N, unless it is the daemon's own). */
void nsengine_free(struct nsengine *n);
/* A namespace found gone: freed now, or, while a reply is being written
 * from its judgement, when the last one is done. */
void nsengine_retire(struct nsengine *n);
void nsengine_ref_stream(struct nsengine *n);
void nsengine_unref_stream(struct nsengine *n);
/* A reload: the rules change, the memory stays. */
int nsengine_set_config(struct nsengine *n, const struct config *config);
/* What a new discovery found of N's namespace: its members now. */
int nsengine_update(struct nsengine *n, const struct ipcns *ns);

/* Which namespace an answer is about, for the log: "ipc:INODE/" before an
 * ID of another namespace, nothing for the daemon's own. */
uint64_t nsengine_ino(const struct nsengine *n);
const char *nsengine_container(const struct nsengine *n);
