/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive.h"
#include "audit.h"
#include "cmdline.h"
#include "macro.h"
#include "metrics.h"
#include "object_json.h"
#include "nshelper.h"
#include "report.h"
#include "restore.h"
#include "service.h"
#include "sysv.h"

json_object *service_error(const char *error, const char *key, const char *value) {
        json_object *reply = json_object_new_object(), *params = json_object_new_object();
        if (!reply || !params) {
                json_object_put(reply);
                json_object_put(params);
                return NULL;
        }
        json_object_object_add(reply, "error", json_object_new_string(error));
        if (key)
                json_object_object_add(params, key, json_object_new_string(value ? value : ""));
        json_object_object_add(reply, "parameters", params);
        return reply;
}

json_object *service_ok(json_object *params) {
        json_object *reply = json_object_new_object();
        if (!reply || !params) {
                json_object_put(reply);
                json_object_put(params);
                return NULL;
        }
        json_object_object_add(reply, "parameters", params);
        return reply;
}

json_object *service_ok_with(const char *key, json_object *value) {
        json_object *params = json_object_new_object();
        if (!params) {
                json_object_put(value);
                return NULL;
        }
        json_object_object_add(params, key, value);
        return service_ok(params);
}

json_object *service_invalid(const char *param) {
        return service_error("org.varlink.service.InvalidParameter", "parameter", param);
}

static json_object *denied(const char *method) {
        return service_error("io.ipcgc.PermissionDenied", "method", method);
}

json_object *service_failed(const char *what, int r) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s: %s", what, strerror(-r));
        return service_error("io.ipcgc.Failed", "message", buf);
}

json_object *service_no_such_namespace(uint64_t ino) {
        json_object *reply = json_object_new_object(), *params = json_object_new_object();
        if (!reply || !params) {
                json_object_put(reply);
                json_object_put(params);
                return NULL;
        }
        json_object_object_add(reply, "error", json_object_new_string("io.ipcgc.NoSuchNamespace"));
        json_object_object_add(params, "ipcns", json_object_new_uint64(ino));
        json_object_object_add(reply, "parameters", params);
        return reply;
}

/* A failure to judge or act in S's namespace: when it is another one and
 * its last member has left (-ESRCH from the helper that enters it), it is
 * gone, which is io.ipcgc.NoSuchNamespace, not a failure. */
static json_object *failed_in(const struct service *s, const char *what, int r) {
        const struct ipcns *ns = engine_paths(s->engine)->ns;
        if (r != -ESRCH || !ns || ns->self)
                return service_failed(what, r);
        return service_no_such_namespace(ns->ino);
}

static int param(json_object *params, const char *key, json_type type, json_object **ret) {
        json_object *v;
        if (!params || !json_object_object_get_ex(params, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, type))
                return -EINVAL;
        *ret = v;
        return 1;
}

int service_param_bool(json_object *params, const char *key, bool *ret) {
        json_object *v;
        int r = param(params, key, json_type_boolean, &v);
        if (r > 0)
                *ret = json_object_get_boolean(v);
        return r;
}

int service_param_string(json_object *params, const char *key, const char **ret) {
        json_object *v;
        int r = param(params, key, json_type_string, &v);
        if (r <= 0)
                return r;
        /* Every string parameter names something: a NUL would end it early
         * as a C string, so "shm:1\u0000junk" is refused, not read as shm:1. */
        if (strlen(json_object_get_string(v)) != (size_t) json_object_get_string_len(v))
                return -EINVAL;
        *ret = json_object_get_string(v);
        return r;
}

int service_param_int(json_object *params, const char *key, int64_t *ret) {
        json_object *v;
        int r = param(params, key, json_type_int, &v);
        if (r > 0)
                *ret = json_object_get_int64(v);
        return r;
}

/* ["shm", "mq"] -> mask, or with VERDICTS ["LIVE", ...]. */
static int param_names(json_object *params, const char *key, bool verdicts, unsigned *ret) {
        json_object *v;
        unsigned mask = 0;
        int r = param(params, key, json_type_array, &v);

        if (r <= 0)
                return r;
        if (json_object_array_length(v) > 32)
                return -EINVAL;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string) ||
                    strlen(json_object_get_string(e)) != (size_t) json_object_get_string_len(e))
                        return -EINVAL;
                int t = verdicts ? verdict_from_string(json_object_get_string(e))
                                 : ipc_type_from_string(json_object_get_string(e));
                if (t < 0)
                        return -EINVAL;
                mask |= 1u << t;
        }
        *ret = mask;
        return 1;
}

const char *service_unknown_key(json_object *params, const char *const *allowed) {
        if (!params)
                return NULL;
        json_object_object_foreach(params, key, val) {
                (void) val;
                bool known = false;
                for (size_t i = 0; allowed[i] && !known; i++)
                        known = strcmp(key, allowed[i]) == 0;
                if (!known)
                        return key;
        }
        return NULL;
}

static bool may_see(const struct service_caller *c, const struct ipc_object *o) {
        return c->admin || ipc_object_belongs_to(o, c->uid);
}

static uint64_t freshness(const struct service_caller *c) {
        return c->admin ? SERVICE_FRESH_USEC : SERVICE_FRESH_USEC_OTHERS;
}

static enum engine_mode mode(const struct service *s) {
        return s->quick ? ENGINE_QUICK : ENGINE_FULL;
}

/* engine_judge and engine_refresh for List, Explain, Sweep and Audit: not
 * again when the caller has just judged the engine for this call. */
static int judge(const struct service *s, enum engine_mode m) {
        return s->judged ? 0 : engine_judge(s->engine, m);
}

static int refresh(const struct service *s, uint64_t max_age_usec, enum engine_mode m) {
        return s->judged ? 0 : engine_refresh(s->engine, max_age_usec, m);
}

struct service_stream {
        struct engine *engine;
        uint64_t generation;
        struct list_filter filter;
        struct report_list_cursor cursor;
        char *prefix;
};

/* About this much text per piece: what a socket buffer takes at a time. */
#define STREAM_PIECE (64u * 1024u)

int service_stream_next(struct service_stream *st, char **ret, size_t *ret_len, bool *ret_done) {
        struct engine_last last = engine_last(st->engine);
        if (last.generation != st->generation || !last.inv)
                return -ESTALE;
        int r = report_list_chunk(last.inv, last.judgements, &st->filter, st->prefix, "}}", STREAM_PIECE,
                                  &st->cursor, ret, ret_len);
        if (r < 0)
                return r;
        *ret_done = st->cursor.stage == 2;
        return 0;
}

void service_stream_free(struct service_stream *st) {
        if (!st)
                return;
        free(st->prefix);
        free(st);
}

static json_object *list(const struct service *s, const struct service_caller *c, json_object *params,
                         struct service_stream **ret) {
        static const char *const keys[] = { "types", "verdicts", "user", "fresh", NULL };
        struct list_filter f = {};
        const char *user = NULL, *bad;
        bool fresh = false;
        int r;

        if ((bad = service_unknown_key(params, keys)))
                return service_invalid(bad);
        if (param_names(params, "types", false, &f.types) < 0)
                return service_invalid("types");
        if (param_names(params, "verdicts", true, &f.verdicts) < 0)
                return service_invalid("verdicts");
        if (service_param_string(params, "user", &user) < 0)
                return service_invalid("user");
        if (service_param_bool(params, "fresh", &fresh) < 0)
                return service_invalid("fresh");
        if (user) {
                struct passwd *pw = getpwnam(user);
                char *end;
                unsigned long v = strtoul(user, &end, 10);
                if (pw)
                        f.uid = pw->pw_uid;
                else if (*user && !*end)
                        f.uid = (uid_t) v;
                else
                        return service_invalid("user");
                f.by_user = true;
        }
        /* Others see their own objects only: those they own or made, as
         * in Explain, GetStatus and their dry runs. */
        if (!c->admin) {
                if (f.by_user && f.uid != c->uid)
                        return denied("io.ipcgc.List");
                f.by_user = f.or_creator = true;
                f.uid = c->uid;
        }

        /* A listing is served from the judgement kept, confirmed where it
         * can be, or else as it is while the objects are the ones it judged
         * and it is at most a minute old (ENGINE_KEEP): it never misses an
         * object made since or lists one gone, for a fraction of a
         * judgement's cost; the reply says how old it is.  "fresh" asks for
         * one judged now, in full.  Others than admins get what is at most
         * SERVICE_FRESH_USEC_OTHERS old. */
        if (fresh && c->admin)
                r = judge(s, ENGINE_FULL);
        else if (!c->admin)
                r = refresh(s, SERVICE_FRESH_USEC_OTHERS, mode(s));
        else
                r = refresh(s, 0, s->quick ? ENGINE_KEEP : ENGINE_FULL);
        if (r < 0)
                return failed_in(s, "cannot judge objects", r);

        struct engine_last last = engine_last(s->engine);
        _cleanup_free_ struct service_stream *st = calloc(1, sizeof(*st));
        if (!st)
                return NULL;
        *st = (struct service_stream) { .engine = s->engine, .generation = last.generation, .filter = f };
        /* Said before the objects: when and how the listing was judged. */
        if (asprintf(&st->prefix, "{\"parameters\":{\"judged_at\":%" PRId64 ",\"age_usec\":%" PRIu64 ",\"confirmed\":%s,",
                     (int64_t) last.at, last.age_usec, last.confirmed ? "true" : "false") < 0)
                return NULL;
        *ret = TAKE_PTR(st);
        return NULL;
}

/* The "id" of a call taking KEYS: NULL with *RET set, or the error reply. */
static json_object *param_id(json_object *params, const char *const *keys, const char **ret) {
        const char *bad = service_unknown_key(params, keys);
        if (bad)
                return service_invalid(bad);
        if (service_param_string(params, "id", ret) <= 0)
                return service_invalid("id");
        return NULL;
}

/* The live process of pid PID among J's evidence (its comm tells it from a
 * process that took the pid since), or NULL; with the state the judgement
 * found that pid in, in *RET_STATE (NULL when it weighed none). */
static const struct evidence *evidence_of(const struct judgement *j, pid_t pid, const char **ret_state) {
        *ret_state = NULL;
        for (size_t i = 0; pid > 0 && i < j->n_evidence; i++) {
                const struct evidence *e = &j->evidence[i];
                if (e->pid != pid)
                        continue;
                *ret_state = evidence_state_to_string(e->state);
                if (e->state == EVIDENCE_ALIVE && e->comm[0])
                        return e;
        }
        return NULL;
}

/* The command line of a live process of the evidence, or NULL. */
static char *command_of(const struct service *s, const struct evidence *e) {
        char *cmd = NULL;
        if (!e || cmdline_read(s->proc_root, e->pid, e->comm, &cmd) < 0)
                return NULL;
        return cmd;
}

/* What explain adds to the judgement's JSON: each evidence pid's command
 * line, and of a sem set each semaphore as it is now.  Read here, for the
 * one object a person asks about, not kept for every object judged. */
static int explain_details(const struct service *s, const struct ipc_object *o, const struct judgement *j,
                           json_object *obj) {
        json_object *ev = NULL;

        if (json_object_object_get_ex(obj, "evidence", &ev))
                for (size_t i = 0; i < json_object_array_length(ev) && i < j->n_evidence; i++) {
                        const struct evidence *e = &j->evidence[i];
                        _cleanup_free_ char *cmd =
                                e->state == EVIDENCE_ALIVE && e->comm[0] ? command_of(s, e) : NULL;
                        if (json_object_object_add(json_object_array_get_idx(ev, i), "command",
                                                   cmd ? json_object_new_string(cmd) : NULL) < 0)
                                return -ENOMEM;
                }
        if (o->type != IPC_TYPE_SEM)
                return 0;

        unsigned n = o->nsems < SERVICE_EXPLAIN_SEMS_MAX ? o->nsems : SERVICE_EXPLAIN_SEMS_MAX;
        _cleanup_free_ struct sem_state *st = calloc(n ? n : 1, sizeof(*st));
        const char *unreadable = NULL;
        if (!st)
                return -ENOMEM;
        int r = sysv_sem_read_state(o, n, st);
        if (r == -EACCES || r == -EPERM)
                unreadable = "permission denied: the set is not readable by this user (root, or ipcgcd, can read it)";
        else if (r == -EIDRM)
                unreadable = "the set is gone since it was judged";
        else if (r < 0)
                unreadable = strerror(-r);
        json_object *a = unreadable ? NULL : json_object_new_array_ext((int) n);
        if (!unreadable && !a)
                return -ENOMEM;
        if (json_object_object_add(obj, "semaphores", a) < 0 ||
            json_object_object_add(obj, "semaphores_unreadable",
                                   unreadable ? json_object_new_string(unreadable) : NULL) < 0 ||
            json_object_object_add(obj, "semaphores_shown", json_object_new_int64(unreadable ? 0 : n)) < 0)
                return -ENOMEM;
        for (unsigned i = 0; a && i < n; i++) {
                const char *state;
                const struct evidence *e = evidence_of(j, st[i].pid, &state);
                /* Sets are mostly touched by a few processes: each of them
                 * read once. */
                _cleanup_free_ char *cmd = NULL;
                for (unsigned k = 0; e && k < i && !cmd; k++)
                        if (st[k].pid == st[i].pid) {
                                json_object *prev = json_object_array_get_idx(a, k), *pc;
                                if (json_object_object_get_ex(prev, "command", &pc) && pc)
                                        cmd = strdup(json_object_get_string(pc));
                                break;
                        }
                if (!cmd)
                        cmd = command_of(s, e);
                json_object *sj = sem_state_to_json(i, &st[i], state, cmd);
                if (!sj || json_object_array_add(a, sj) < 0) {
                        json_object_put(sj);
                        return -ENOMEM;
                }
        }
        return 0;
}

/* An object or record O of another IPC namespace is named as a listing of
 * every namespace names it: "ipc:INODE/shm:5", with "ipcns" and
 * "container". */
static int name_in_namespace(const struct service *s, json_object *o) {
        const struct ipcns *ns = engine_paths(s->engine)->ns;
        json_object *id;

        if (!o || !ns || ns->self)
                return 0;
        if (json_object_object_get_ex(o, "id", &id) && json_object_is_type(id, json_type_string)) {
                _cleanup_free_ char *full = NULL;
                if (asprintf(&full, "ipc:%" PRIu64 "/%s", ns->ino, json_object_get_string(id)) < 0)
                        return -ENOMEM;
                json_object_object_add(o, "id", json_object_new_string(full));
        }
        json_object_object_add(o, "ipcns", json_object_new_uint64(ns->ino));
        json_object_object_add(o, "container", ns->name ? json_object_new_string(ns->name) : NULL);
        return 0;
}

static json_object *explain(const struct service *s, const struct service_caller *c, json_object *params) {
        static const char *const keys[] = { "id", NULL };
        const char *id = NULL;
        json_object *obj = NULL;
        size_t i;
        int r;

        if ((obj = param_id(params, keys, &id)))
                return obj;
        /* Explained from a judgement made in full: evidence is what a
         * person reads here. */
        r = refresh(s, freshness(c), ENGINE_FULL);
        if (r < 0)
                return failed_in(s, "cannot judge objects", r);
        struct engine_last last = engine_last(s->engine);
        r = engine_find(s->engine, id, &i);
        if (r == -ENOENT || (r == 0 && !may_see(c, &last.inv->objects[i])))
                return service_error("io.ipcgc.NoSuchObject", "id", id);
        if (r < 0)
                return service_failed("lookup", r);
        r = report_explain(&last.inv->objects[i], &last.judgements[i], &obj);
        if (r >= 0) {
                r = explain_details(s, &last.inv->objects[i], &last.judgements[i], obj);
                if (r >= 0)
                        r = name_in_namespace(s, obj);
                if (r < 0)
                        json_object_put(obj);
        }
        if (r < 0)
                return service_failed("cannot format", r);
        return service_ok_with("object", obj);
}

static json_object *sweep(const struct service *s, const struct service_caller *c, json_object *params) {
        static const char *const keys[] = { "dry_run", "types", "max_removals", NULL };
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        struct engine_request req = { .caller = c->uid };
        const char *bad;
        json_object *out;
        int r;

        if ((bad = service_unknown_key(params, keys)))
                return service_invalid(bad);
        if (service_param_bool(params, "dry_run", &req.dry_run) < 0)
                return service_invalid("dry_run");
        if (param_names(params, "types", false, &req.types) < 0)
                return service_invalid("types");
        /* What is left of MaxRemovalsPerSweep= for a sweep of several
         * namespaces, one call each: never more than it. */
        int64_t max_removals = 0;
        if (service_param_int(params, "max_removals", &max_removals) < 0 || max_removals < 0)
                return service_invalid("max_removals");
        if (max_removals > 0 && (uint64_t) max_removals < s->config->daemon.max_removals)
                req.max_removals = (unsigned) max_removals;
        if (!req.dry_run && !c->admin)
                return denied("io.ipcgc.Sweep");
        req.dry_run = req.dry_run || s->dry_run;
        uint64_t t0 = monotonic_usec();
        if (c->admin)
                r = judge(s, mode(s));
        else {
                /* A dry run for anyone, about their own objects, from a
                 * judgement at most SERVICE_FRESH_USEC_OTHERS old: asking
                 * again and again must not make the engine judge again. */
                req.by_uid = true;
                req.uid = c->uid;
                r = refresh(s, SERVICE_FRESH_USEC_OTHERS, mode(s));
        }
        if (r >= 0)
                r = engine_reap(s->engine, &req, &res);
        if (r < 0)
                return failed_in(s, "sweep failed", r);
        if (c->admin && s->acted)
                s->acted(s->userdata, req.dry_run ? SERVICE_DRY_RUN : SERVICE_SWEEP, res, monotonic_usec() - t0);
        r = report_sweep(res, req.dry_run, &out);
        if (r < 0)
                return service_failed("cannot format", r);
        return service_ok(out);
}

static json_object *in_use(const struct engine *e, const char *id, size_t i) {
        struct engine_last last = engine_last(e);
        const struct judgement *j = &last.judgements[i];
        char why[JUDGEMENT_REASON_MAX];
        json_object *err = service_error("io.ipcgc.ObjectInUse", "id", id), *params;

        if (err && json_object_object_get_ex(err, "parameters", &params)) {
                json_object_object_add(params, "verdict", json_object_new_string(verdict_to_string(j->verdict)));
                _cleanup_free_ char *reason = ipc_escape_alloc(judgement_reason(j, why), IPC_ESCAPE_TEXT);
                json_object_object_add(params, "reason", reason ? json_object_new_string(reason) : NULL);
        }
        return err;
}

static json_object *remove_one(const struct service *s, const struct service_caller *c, json_object *params) {
        static const char *const keys[] = { "id", "force", NULL };
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        /* A dry-run engine removes nothing, asked or not. */
        struct engine_request req = { .dry_run = s->dry_run, .caller = c->uid };
        const char *id = NULL;
        json_object *out, *records, *rec = NULL;
        size_t i;
        int r;

        if ((rec = param_id(params, keys, &id)))
                return rec;
        if (service_param_bool(params, "force", &req.force) < 0)
                return service_invalid("force");
        if (!c->admin)
                return denied("io.ipcgc.Remove");

        uint64_t t0 = monotonic_usec();
        r = engine_remove_one(s->engine, id, &req, &i, &res);
        if (r == -ENOENT)
                return service_error("io.ipcgc.NoSuchObject", "id", id);
        if (r == -EBUSY)
                return in_use(s->engine, id, i);
        if (r < 0)
                return failed_in(s, "remove failed", r);
        if (s->acted)
                s->acted(s->userdata, SERVICE_REMOVE, res, monotonic_usec() - t0);
        r = report_sweep(res, req.dry_run, &out);
        if (r < 0)
                return service_failed("cannot format", r);
        if (json_object_object_get_ex(out, "records", &records) && json_object_array_length(records) > 0)
                rec = json_object_get(json_object_array_get_idx(records, 0));
        json_object_put(out);
        if (name_in_namespace(s, rec) < 0) {
                json_object_put(rec);
                return NULL;
        }
        return service_ok_with("record", rec);
}

static int build_audit(const struct service *s, unsigned types, struct audit **ret) {
        const struct audit_sources src = {
                .proc_root = s->proc_root,
                .sysvipc = s->sysvipc,
                .mqueue_dir = s->config->scan.mqueue_dir,
        };
        return audit_build(engine_last(s->engine).inv, types, &src, ret);
}

static json_object *audit(const struct service *s, const struct service_caller *c, json_object *params) {
        static const char *const keys[] = { "types", NULL };
        _cleanup_(audit_freep) struct audit *a = NULL;
        unsigned types = 0;
        const char *bad;
        json_object *out;
        int r;

        if ((bad = service_unknown_key(params, keys)))
                return service_invalid(bad);
        /* types narrows the rows per user, never the limits' use: that is
         * the kernel's, of every object in the namespace. */
        if (param_names(params, "types", false, &types) < 0)
                return service_invalid("types");
        /* Counts only: a confirmed judgement counts the same objects. */
        r = refresh(s, freshness(c), mode(s));
        /* Another namespace's tables, sysctls and mqueue are read from
         * inside it. */
        const struct collect_paths *paths = engine_paths(s->engine);
        if (r >= 0 && paths->ns && !paths->ns->self) {
                r = nshelper_audit(paths->ns, engine_last(s->engine).inv, types, &s->config->scan, paths, &out);
                if (r < 0)
                        return failed_in(s, "audit failed", r);
                return service_ok(out);
        }
        if (r >= 0)
                r = build_audit(s, types, &a);
        if (r >= 0)
                r = report_audit(a, &out);
        if (r < 0)
                return failed_in(s, "audit failed", r);
        return service_ok(out);
}

/* The metrics of the judgement kept: the text, and with RET_FAMILIES
 * (may be NULL) the families it was rendered from. */
static int metrics_now(const struct service *s, json_object **ret_families, char **ret_text) {
        _cleanup_(audit_freep) struct audit *a = NULL;
        struct metrics_counters counted = {};
        json_object *families = NULL;
        int r;

        if (s->counters)
                s->counters(s->userdata, &counted);
        r = build_audit(s, 0, &a);
        if (r >= 0)
                r = metrics_build(s->engine, a, s->counters ? &counted : NULL, &families);
        if (r >= 0 && s->more_metrics)
                r = s->more_metrics(s->userdata, families);
        if (r >= 0)
                r = metrics_text(families, ret_text);
        if (r >= 0 && ret_families)
                *ret_families = TAKE_PTR(families);
        json_object_put(families);
        return r;
}

int service_metrics_text(const struct service *s, char **ret) {
        return metrics_now(s, NULL, ret);
}

static json_object *get_metrics(const struct service *s, const struct service_caller *c, json_object *params) {
        static const char *const keys[] = { "families", NULL };
        _cleanup_free_ char *text = NULL;
        json_object *families = NULL, *out;
        bool want_families = false;
        const char *bad;
        int r;

        if ((bad = service_unknown_key(params, keys)))
                return service_invalid(bad);
        if (service_param_bool(params, "families", &want_families) < 0)
                return service_invalid("families");
        r = engine_refresh(s->engine, freshness(c), mode(s));
        if (r >= 0)
                r = metrics_now(s, want_families ? &families : NULL, &text);
        if (r < 0)
                return service_failed("metrics failed", r);
        out = json_object_new_object();
        if (!out) {
                json_object_put(families);
                return NULL;
        }
        json_object_object_add(out, "text", json_object_new_string(text));
        if (families)
                json_object_object_add(out, "families", families);
        return service_ok(out);
}

/* The archive's entries, newest first: an admin's every one, anyone
 * else's those of objects they owned or made.  No archive yet is an empty
 * one. */
static json_object *list_archive(const struct service *s, const struct service_caller *c, json_object *params) {
        struct list_filter f = { .by_user = !c->admin, .uid = c->uid, .or_creator = true };
        struct archive_listing *l = NULL, none = {};
        _cleanup_close_ int afd = -EBADF;
        json_object *out;
        int r;

        if (params && json_object_object_length(params) > 0)
                return service_invalid("parameters");
        r = archive_open_dir(s->config->daemon.archive_dir, 0, &afd);
        if (r < 0 && r != -ENOENT)
                return service_failed(s->config->daemon.archive_dir, r);
        /* archive_list() stops at ARCHIVE_MAX_ENTRIES (-E2BIG): the reply
         * is bounded by it. */
        if (r >= 0 && (r = archive_list(afd, &l)) < 0)
                return service_failed("cannot list the archive", r);
        r = report_archive(l ? l : &none, &f, &out);
        archive_listing_free(l);
        if (r < 0)
                return service_failed("cannot format", r);
        return service_ok(out);
}

/* ERROR about ENTRY, with KEY: VALUE. */
static json_object *entry_error(const char *error, const char *entry, const char *key, const char *value) {
        json_object *err = service_error(error, "entry", entry), *params;
        /* VALUE may quote a path (the holder of a FIFO's name): as text. */
        _cleanup_free_ char *text = ipc_escape_alloc(value, IPC_ESCAPE_TEXT);
        if (err && json_object_object_get_ex(err, "parameters", &params))
                json_object_object_add(params, key, text ? json_object_new_string(text) : NULL);
        return err;
}

static json_object *restore_error(const char *entry, const struct restore_result *res, int r) {
        char buf[192]; /* what service_failed() adds the errno's words to */

        if (r == -EINVAL && res->step == RESTORE_STEP_ENTRY)
                return service_invalid("entry");
        /* No pack lists it (a symlink or anything but a regular file is no
         * pack, never followed: archive_entry_find says -ENOENT). */
        if (r == -ENOENT && res->step <= RESTORE_STEP_ENTRY)
                return service_error("io.ipcgc.NoSuchEntry", "entry", entry);
        if (r == -EBADMSG) {
                return entry_error("io.ipcgc.BadEntry", entry, "message",
                                   res->step == RESTORE_STEP_ENTRY ? "its manifest is not one this version wrote"
                                                                   : "its contents do not agree with its manifest");
        }
        if (r == -EXDEV && res->step == RESTORE_STEP_ENTRY)
                return entry_error("io.ipcgc.Failed", entry, "message", res->note);
        if (r == -EEXIST && res->step == RESTORE_STEP_CREATE) {
                return entry_error("io.ipcgc.ObjectExists", entry, "holder", res->holder);
        }
        switch (res->step) {
        case RESTORE_STEP_ARCHIVE:
                return service_failed("cannot open the archive", r);
        case RESTORE_STEP_ENTRY:
                snprintf(buf, sizeof(buf), "cannot read the entry %.*s", 160, entry);
                break;
        case RESTORE_STEP_PLACE:
                snprintf(buf, sizeof(buf), "cannot open where %.*s goes (%.*s)", 80, strna(res->old_id), 80, res->note);
                break;
        default:
                snprintf(buf, sizeof(buf), "cannot restore %.*s", 160, strna(res->old_id));
        }
        return service_failed(buf, r);
}

/* Puts an archived object back.  The entry is kept: a second restore of it
 * finds the object there (ObjectExists), and the archive keeps what was
 * removed until it is evicted, restored or not. */
static json_object *restore(const struct service *s, const struct service_caller *c, json_object *params) {
        static const char *const keys[] = { "entry", NULL };
        struct restore_result res = {};
        const char *entry = NULL, *bad;
        json_object *out, *err;
        int r;

        if ((bad = service_unknown_key(params, keys)))
                return service_invalid(bad);
        if (service_param_string(params, "entry", &entry) <= 0)
                return service_invalid("entry");
        if (!c->admin)
                return denied("io.ipcgc.Restore");
        /* An engine of another namespace puts back what came from there,
         * from inside it. */
        const struct collect_paths *paths = engine_paths(s->engine);
        if (paths->ns && !paths->ns->self)
                r = nshelper_restore(paths->ns, &s->config->scan, paths, s->config->daemon.archive_dir, entry, &res);
        else
                r = restore_entry(&s->config->scan, s->config->daemon.archive_dir, entry, &res);
        if (r < 0) {
                err = restore_error(entry, &res, r);
                restore_result_done(&res);
                return err;
        }
        /* A new object is there: the next judgement sees it in full.  (Here
         * the engine would be told that RES.id was just restored, so the
         * judgement does not take it for an orphan to remove at once.) */
        engine_invalidate(s->engine);
        out = json_object_new_object();
        if (out) {
                json_object_object_add(out, "id", json_object_new_string(res.id));
                json_object_object_add(out, "entry", json_object_new_string(entry));
                json_object_object_add(out, "type", json_object_new_string(ipc_type_to_string(res.type)));
                json_object_object_add(out, "key", ipc_type_is_sysv(res.type) ? json_object_new_int(res.key) : NULL);
                json_object_object_add(out, "same_id", json_object_new_boolean(res.same_id));
                json_object_object_add(out, "old_id", json_object_new_string(res.old_id));
                json_object_object_add(out, "note", res.note[0] ? json_object_new_string(res.note) : NULL);
        }
        restore_result_done(&res);
        return service_ok(out);
}

int service_call(const struct service *s, const struct service_caller *c, const char *method, json_object *params,
                 json_object **ret_reply, struct service_stream **ret_stream) {
        static const struct {
                const char *name;
                json_object *(*fn)(const struct service *s, const struct service_caller *c, json_object *params);
        } methods[] = {
                { "io.ipcgc.Explain", explain },
                { "io.ipcgc.Sweep", sweep },
                { "io.ipcgc.Remove", remove_one },
                { "io.ipcgc.Audit", audit },
                { "io.ipcgc.ListArchive", list_archive },
                { "io.ipcgc.Restore", restore },
                { "io.ipcgc.GetMetrics", get_metrics },
        };
        json_object *reply = NULL;

        *ret_reply = NULL;
        *ret_stream = NULL;
        if (strcmp(method, "io.ipcgc.List") == 0)
                reply = list(s, c, params, ret_stream);
        else {
                size_t i;
                for (i = 0; i < ELEMENTSOF(methods) && strcmp(method, methods[i].name) != 0; i++)
                        ;
                if (i == ELEMENTSOF(methods))
                        return -EOPNOTSUPP;
                reply = methods[i].fn(s, c, params);
        }
        if (!reply && !*ret_stream)
                return -ENOMEM;
        *ret_reply = reply;
        return 0;
}
