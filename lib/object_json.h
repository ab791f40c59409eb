/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "ipc_object.h"

/*
 * The one JSON shape of an object, used by `ipcgc list -J` and by the
 * daemon's replies alike.  Fields a type does not have are present and null,
 * so a consumer can rely on the same keys for every object.
 */
int object_to_json(const struct ipc_object *o, json_object **ret);

/* S as a JSON string, escaped by ipc_escape() with FLAGS (IPC_ESCAPE_NAME
 * for a name, IPC_ESCAPE_TEXT for words that may quote a process's comm or
 * a path), so it is valid UTF-8 whatever bytes S holds.  NULL for a NULL S,
 * or on ENOMEM. */
json_object *object_json_escaped(const char *s, unsigned flags);

struct judgement;
/* Adds "verdict", "reason", "rule" (name or null) and "idle" to OBJ; with
 * EVIDENCE, also "evidence": [{role, state, pid, comm, start, note}]. */
int judgement_to_json(const struct judgement *j, bool evidence, json_object *obj);

struct sem_state;
/* One semaphore of a set for explain: {"num", "value", "ncnt", "zcnt",
 * "pid" (null for none), "pid_state" (what the judgement found of that pid:
 * "alive", "exited", ...; null when it weighed none), "command" (the live
 * process's command line, or null)}. */
json_object *sem_state_to_json(unsigned num, const struct sem_state *s, const char *pid_state, const char *command);
