/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include "judge.h"
#include "object_json.h"
#include "sysv.h"

static json_object *pid_or_null(pid_t pid) {
        return pid == PID_NONE ? NULL : json_object_new_int(pid);
}

static json_object *pid_array(const pid_t *pids, size_t n) {
        json_object *a = json_object_new_array_ext((int) n);
        if (!a)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (json_object_array_add(a, json_object_new_int(pids[i])) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

static int add(json_object *obj, const char *key, json_object *val) {
        /* A NULL value is JSON null; json-c only fails on allocation. */
        return json_object_object_add(obj, key, val) < 0 ? -ENOMEM : 0;
}

json_object *object_json_escaped(const char *s, unsigned flags) {
        if (!s)
                return NULL;
        _cleanup_free_ char *e = ipc_escape_alloc(s, flags);
        return e ? json_object_new_string(e) : NULL;
}

int object_to_json(const struct ipc_object *o, json_object **ret) {
        _cleanup_free_ char *id = ipc_object_id(o);
        json_object *j = json_object_new_object();
        char perms[8];
        int r = 0;

        if (!id || !j) {
                json_object_put(j);
                return -ENOMEM;
        }

        snprintf(perms, sizeof(perms), "%04o", (unsigned) (o->mode & 07777));

        bool sysv = ipc_type_is_sysv(o->type);
        r |= add(j, "id", json_object_new_string(id));
        r |= add(j, "type", json_object_new_string(ipc_type_to_string(o->type)));
        r |= add(j, "key", sysv ? json_object_new_int(o->key) : NULL);
        r |= add(j, "name", object_json_escaped(o->name, IPC_ESCAPE_NAME));
        r |= add(j, "uid", json_object_new_int64(o->uid));
        r |= add(j, "gid", json_object_new_int64(o->gid));
        r |= add(j, "cuid", json_object_new_int64(o->cuid));
        r |= add(j, "cgid", json_object_new_int64(o->cgid));
        r |= add(j, "perms", json_object_new_string(perms));
        /* A queue whose QSIZE could not be read has an unknown size, not 0. */
        r |= add(j, "size", o->flags & IPC_OBJECT_MQ_UNREADABLE ? NULL : json_object_new_uint64(o->size));
        r |= add(j, "cpid", pid_or_null(o->cpid));
        r |= add(j, "lpid", pid_or_null(o->lpid));
        r |= add(j, "lrpid", pid_or_null(o->lrpid));

        if (o->type == IPC_TYPE_SEM && o->sems) {
                json_object *a = json_object_new_array_ext((int) o->nsems);
                if (!a)
                        r = -ENOMEM;
                for (unsigned i = 0; a && i < o->nsems; i++)
                        r |= json_object_array_add(a, json_object_new_int(o->sems[i].pid)) < 0 ? -ENOMEM : 0;
                r |= add(j, "sempids", a);
        } else
                r |= add(j, "sempids", NULL);

        r |= add(j, "nsems", o->type == IPC_TYPE_SEM ? json_object_new_int64(o->nsems) : NULL);
        r |= add(j, "nattch", o->type == IPC_TYPE_SHM ? json_object_new_uint64(o->nattch) : NULL);
        r |= add(j, "qnum", o->type == IPC_TYPE_MSG ? json_object_new_uint64(o->qnum) : NULL);
        r |= add(j, "notify_pid",
                 o->type == IPC_TYPE_MQ && !(o->flags & IPC_OBJECT_MQ_UNREADABLE) ? json_object_new_int(o->notify_pid)
                                                                                    : NULL);
        r |= add(j, "holders", pid_array(o->holders, o->n_holders));
        r |= add(j, "ctime", json_object_new_int64(o->ctime));
        r |= add(j, "atime", json_object_new_int64(o->atime));
        r |= add(j, "mtime", json_object_new_int64(o->mtime));
        r |= add(j, "dtime", o->type == IPC_TYPE_SHM ? json_object_new_int64(o->dtime) : NULL);

        if (r < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

int judgement_to_json(const struct judgement *j, bool evidence, json_object *obj) {
        int r = 0;

        r |= add(obj, "verdict", json_object_new_string(verdict_to_string(j->verdict)));
        char why[JUDGEMENT_REASON_MAX];
        r |= add(obj, "reason", object_json_escaped(judgement_reason(j, why), IPC_ESCAPE_TEXT));
        r |= add(obj, "rule", j->rule ? json_object_new_string(j->rule->name) : NULL);
        r |= add(obj, "idle", json_object_new_uint64(j->idle));
        if (!evidence)
                return r < 0 ? -ENOMEM : 0;

        json_object *a = json_object_new_array_ext((int) j->n_evidence);
        if (!a)
                return -ENOMEM;
        r |= add(obj, "evidence", a);
        for (size_t i = 0; i < j->n_evidence; i++) {
                const struct evidence *e = &j->evidence[i];
                json_object *ej = json_object_new_object();
                if (!ej || json_object_array_add(a, ej) < 0) {
                        json_object_put(ej);
                        return -ENOMEM;
                }
                bool has_process = e->comm[0] != 0;
                r |= add(ej, "role", json_object_new_string(evidence_role_to_string(e->role)));
                r |= add(ej, "state", json_object_new_string(evidence_state_to_string(e->state)));
                r |= add(ej, "counts", json_object_new_boolean(evidence_counts(e)));
                r |= add(ej, "pid", e->pid > 0 ? json_object_new_int(e->pid) : NULL);
                r |= add(ej, "comm", has_process ? object_json_escaped(e->comm, IPC_ESCAPE_TEXT) : NULL);
                r |= add(ej, "start_usec", has_process ? json_object_new_uint64(e->start_usec) : NULL);
                r |= add(ej, "note", object_json_escaped(e->note, IPC_ESCAPE_TEXT));
        }
        return r < 0 ? -ENOMEM : 0;
}

json_object *sem_state_to_json(unsigned num, const struct sem_state *s, const char *pid_state, const char *command) {
        json_object *j = json_object_new_object();
        int r = 0;

        if (!j)
                return NULL;
        r |= add(j, "num", json_object_new_int64(num));
        r |= add(j, "value", json_object_new_int(s->value));
        r |= add(j, "ncnt", json_object_new_int(s->ncnt));
        r |= add(j, "zcnt", json_object_new_int(s->zcnt));
        r |= add(j, "pid", s->pid > 0 ? json_object_new_int(s->pid) : NULL);
        r |= add(j, "pid_state", pid_state ? json_object_new_string(pid_state) : NULL);
        r |= add(j, "command", command ? json_object_new_string(command) : NULL);
        if (r < 0) {
                json_object_put(j);
                return NULL;
        }
        return j;
}
