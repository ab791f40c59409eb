/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "metrics.h"
#include "reap.h"

/*
 * The io.ipcgc methods an engine answers: List, Explain, Sweep, Remove,
 * Audit, ListArchive, Restore and GetMetrics, with their parameters and replies as io.ipcgc.varlink describes
 * them.  The daemon serves them on its socket and the CLI's --local calls
 * them in-process: the same parameters give the same reply, whoever runs
 * the engine.  What differs is said in struct service.
 */

static inline void json_object_putp(json_object **p) {
        json_object_put(*p);
}

/* Who is asking. */
struct service_caller {
        uid_t uid;
        bool admin; /* root, a member of AdminGroup=, or a --local run (its own rights) */
};

enum service_act {
        SERVICE_SWEEP,
        SERVICE_DRY_RUN, /* a sweep that removes nothing */
        SERVICE_REMOVE,
};

struct service {
        struct engine *engine;
        const struct config *config;
        const char *proc_root;
        const char *sysvipc; /* NULL: /proc/sysvipc */
        /* Sweeps and listings may confirm the judgement kept instead of
         * making it again (an ENGINE_INCREMENTAL engine: the daemon). */
        bool quick;
        /* DryRun=, or ipcgcd --dry-run: nothing is removed, asked or not. */
        bool dry_run;
        /* The engine was judged for this call just now, in full (a caller
         * judging many engines at once, engine_judge_many): List, Explain,
         * Sweep and Audit answer from that judgement and judge nothing
         * again.  A sweep's removals re-verify on their own fresh /proc
         * pass all the same (reap.h). */
        bool judged;
        /* Told of an admin's sweep, dry run or removal, and how long it
         * took (judgement and all, in µs), before it is answered (the
         * daemon logs and counts them).  May be NULL. */
        void (*acted)(void *userdata, enum service_act act, const struct reap_result *res, uint64_t usec);
        /* Fills in what the daemon counted, for GetMetrics.  NULL: nothing
         * counted (--local), and the metrics have no counters. */
        void (*counters)(void *userdata, struct metrics_counters *ret);
        /* Adds to the metrics' families what else the daemon judges (its
         * other IPC namespaces: metrics_add_namespace()).  May be NULL. */
        int (*more_metrics)(void *userdata, json_object *families);
        void *userdata;
};

/* List and Explain answer from a judgement at most this old: fresh enough
 * for a person, and a client that loops on them costs one judgement a
 * second at most. */
#define SERVICE_FRESH_USEC (1000u * 1000u)
/* For callers who are not admins, whose requests nobody vouches for: a
 * judgement this old will do, so no one can keep the engine judging. */
#define SERVICE_FRESH_USEC_OTHERS (10u * 1000u * 1000u)

/* Explain lists at most this many semaphores of a set (SEMMSL may allow
 * 32000): a reply a person reads, of bounded size. */
#define SERVICE_EXPLAIN_SEMS_MAX 1024u

/* A reply produced a piece at a time (List), from the engine's judgement,
 * which must not change under it: when it does, the next piece is -ESTALE. */
struct service_stream;
/* The next piece (malloc'd, *ret_len bytes, room for a NUL after them);
 * *ret_done once the reply is complete. */
int service_stream_next(struct service_stream *st, char **ret, size_t *ret_len, bool *ret_done);
void service_stream_free(struct service_stream *st);

/*
 * Answers METHOD: *ret_reply is the whole reply message ({"parameters":
 * {...}} or {"error": NAME, "parameters": {...}}), or, for a List, NULL with
 * *ret_stream set.  Returns 0, -EOPNOTSUPP when METHOD is not one of these
 * (the caller answers it), or -ENOMEM.
 */
int service_call(const struct service *s, const struct service_caller *c, const char *method, json_object *params,
                 json_object **ret_reply, struct service_stream **ret_stream);

/* {"error": ERROR, "parameters": {KEY: VALUE}} (no parameter when KEY is NULL). */
json_object *service_error(const char *error, const char *key, const char *value);
/* io.ipcgc.NoSuchNamespace: no IPC namespace of inode INO is judged (or
 * it is gone). */
json_object *service_no_such_namespace(uint64_t ino);
/* {"parameters": PARAMS}; takes PARAMS. */
json_object *service_ok(json_object *params);
/* {"parameters": {KEY: VALUE}}; takes VALUE. */
json_object *service_ok_with(const char *key, json_object *value);
/* A failure of the engine, as io.ipcgc.Failed with WHAT and the errno's words. */
json_object *service_failed(const char *what, int r);

/* Parameter readers: absent (or null) is 0, the wrong type -EINVAL (answer
 * it with InvalidParameter), present 1 with *RET set. */
int service_param_bool(json_object *params, const char *key, bool *ret);
int service_param_string(json_object *params, const char *key, const char **ret);
int service_param_int(json_object *params, const char *key, int64_t *ret);
/* The first key of PARAMS not in ALLOWED (NULL-terminated), or NULL. */
const char *service_unknown_key(json_object *params, const char *const *allowed);
json_object *service_invalid(const char *param);

/* The metrics text of the judgement the engine has now (judging nothing):
 * what the daemon writes to MetricsFile= after a sweep. */
int service_metrics_text(const struct service *s, char **ret);
