/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "audit.h"
#include "judge.h"
#include "reap.h"

/*
 * The JSON shapes of the engine's answers.  The daemon sends exactly these
 * as Varlink reply parameters, and the CLI prints them for -J and renders
 * its tables from them, whether the engine ran in the daemon or in-process:
 * one producer, one reader.
 */

struct list_filter {
        unsigned types;    /* IPC_TYPE_BIT()s; 0: all */
        unsigned verdicts; /* 1 << enum verdict; 0: all */
        bool by_user;
        uid_t uid;
};

bool list_filter_match(const struct list_filter *f, const struct ipc_object *o, const struct judgement *j);

/* {"objects": [object + verdict, reason, rule, idle]} */
int report_list(const struct inventory *inv, const struct judgement *js, const struct list_filter *f,
                json_object **ret);
/* The same as report_list, written as text one object at a time between
 * PREFIX and SUFFIX: a listing of a million objects costs its text, not a
 * tree of a million JSON objects besides.  *ret_len excludes the final NUL. */
int report_list_text(const struct inventory *inv, const struct judgement *js, const struct list_filter *f,
                     const char *prefix, const char *suffix, char **ret, size_t *ret_len);
/* object + verdict, reason, rule, idle, evidence, and "rule_info" {name, file, line, action, min_age} */
int report_explain(const struct ipc_object *o, const struct judgement *j, json_object **ret);
/* {"dry_run", "removed", "would_remove", "skipped", "failed", "stopped", "not_tried", "records": [...]} */
int report_sweep(const struct reap_result *res, bool dry_run, json_object **ret);
/* {"usage": [{user, uid, type, count, bytes[, semaphores]}], "limits": [{name, used, limit}]} */
int report_audit(const struct audit *a, json_object **ret);

/* "io.ipcgc" style object lookup by id ("shm:12"); -ENOENT when absent. */
int inventory_find(const struct inventory *inv, const char *id, size_t *ret_index);
