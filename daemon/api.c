/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "audit.h"
#include "interface.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "report.h"

/* List and Explain answer from a judgement at most this old: fresh enough
 * for a person, and a client that loops on List costs one sweep a second at
 * most. */
#define FRESH_USEC (1000u * 1000u)
/* For callers who are not admins, whose requests nobody vouches for: a
 * judgement this old will do, so no one can keep the daemon judging. */
#define FRESH_USEC_OTHERS (10u * 1000u * 1000u)

static uint64_t freshness(const struct peer *p) {
        return p->admin ? FRESH_USEC : FRESH_USEC_OTHERS;
}

static json_object *api_error(const char *error, const char *key, const char *value) {
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

static json_object *ok(json_object *params) {
        json_object *reply = json_object_new_object();
        if (!reply || !params) {
                json_object_put(reply);
                json_object_put(params);
                return NULL;
        }
        json_object_object_add(reply, "parameters", params);
        return reply;
}

/* {"parameters": {KEY: VALUE}}; takes VALUE. */
static json_object *ok_with(const char *key, json_object *value) {
        json_object *params = json_object_new_object();
        if (!params) {
                json_object_put(value);
                return NULL;
        }
        json_object_object_add(params, key, value);
        return ok(params);
}

static json_object *invalid(const char *param) {
        return api_error("org.varlink.service.InvalidParameter", "parameter", param);
}

static json_object *denied(const char *method) {
        return api_error("io.ipcgc.PermissionDenied", "method", method);
}

static json_object *failed(const char *what, int r) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s: %s", what, strerror(-r));
        log_msg(LOG_ERR, "%s", buf);
        return api_error("io.ipcgc.Failed", "message", buf);
}

/* Parameter readers: absent (or null) is 0, the wrong type -EINVAL (which
 * callers answer with InvalidParameter), present 1 with *RET set. */
static int param(json_object *params, const char *key, json_type type, json_object **ret) {
        json_object *v;
        if (!params || !json_object_object_get_ex(params, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, type))
                return -EINVAL;
        *ret = v;
        return 1;
}

static int get_bool(json_object *params, const char *key, bool *ret) {
        json_object *v;
        int r = param(params, key, json_type_boolean, &v);
        if (r > 0)
                *ret = json_object_get_boolean(v);
        return r;
}

static int get_string(json_object *params, const char *key, const char **ret) {
        json_object *v;
        int r = param(params, key, json_type_string, &v);
        if (r > 0)
                *ret = json_object_get_string(v);
        return r;
}

static int get_int(json_object *params, const char *key, int64_t *ret) {
        json_object *v;
        int r = param(params, key, json_type_int, &v);
        if (r > 0)
                *ret = json_object_get_int64(v);
        return r;
}

/* ["shm", "mq"] -> mask, or with VERDICTS ["LIVE", ...]. */
static int get_names(json_object *params, const char *key, bool verdicts, unsigned *ret) {
        json_object *v;
        unsigned mask = 0;
        int r = param(params, key, json_type_array, &v);

        if (r <= 0)
                return r;
        if (json_object_array_length(v) > 32)
                return -EINVAL;
        for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string))
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

/* Only these keys: an unknown one is a caller's mistake worth naming. */
static const char *unknown_key(json_object *params, const char *const *allowed) {
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

static bool may_see(const struct peer *p, const struct ipc_object *o) {
        return p->admin || o->uid == p->uid || o->cuid == p->uid;
}

static json_object *get_status(struct manager *m, const struct peer *p, json_object *params) {
        json_object *s = json_object_new_object(), *v = json_object_new_object();
        size_t counts[_VERDICT_MAX] = {}, n = 0;
        struct timespec ts;

        if (!s || !v) {
                json_object_put(s);
                json_object_put(v);
                return NULL;
        }
        for (size_t i = 0; m->inv && i < m->inv->n_objects; i++)
                if (may_see(p, &m->inv->objects[i])) {
                        counts[m->judgements[i].verdict]++;
                        n++;
                }
        for (int i = 0; i < _VERDICT_MAX; i++)
                json_object_object_add(v, verdict_to_string(i), json_object_new_int64((int64_t) counts[i]));
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;

        json_object_object_add(s, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(s, "pid", json_object_new_int(getpid()));
        json_object_object_add(s, "uptime_usec", json_object_new_int64((int64_t) (now - m->start_usec)));
        json_object_object_add(s, "dry_run", json_object_new_boolean(manager_dry_run(m)));
        json_object_object_add(s, "config", json_object_new_string(m->config_path));
        json_object_object_add(s, "interval_usec", json_object_new_int64((int64_t) m->config->daemon.interval * 1000000));
        json_object_object_add(s, "rules", json_object_new_int64((int64_t) m->config->n_rules));
        json_object_object_add(s, "max_removals", json_object_new_int64(m->config->daemon.max_removals));
        json_object_object_add(s, "process_events", json_object_new_boolean(m->connector != NULL));
        json_object_object_add(s, "sweeps", json_object_new_int64((int64_t) m->stats.sweeps));
        json_object_object_add(s, "full_judgements", json_object_new_int64((int64_t) m->stats.full_judgements));
        json_object_object_add(s, "quick_judgements", json_object_new_int64((int64_t) m->stats.quick_judgements));
        json_object_object_add(s, "quick_without_life", json_object_new_int64((int64_t) m->stats.quick_with_dead));
        json_object_object_add(s, "last_sweep",
                               m->stats.last_sweep ? json_object_new_int64(m->stats.last_sweep) : NULL);
        json_object_object_add(s, "last_sweep_usec",
                               m->stats.sweeps ? json_object_new_int64((int64_t) m->stats.last_sweep_usec) : NULL);
        json_object_object_add(s, "objects", json_object_new_int64((int64_t) n));
        json_object_object_add(s, "verdicts", v);
        json_object_object_add(s, "removed_total", json_object_new_int64((int64_t) m->stats.removed_total));
        json_object_object_add(s, "skipped_total", json_object_new_int64((int64_t) m->stats.skipped_total));
        json_object_object_add(s, "failed_total", json_object_new_int64((int64_t) m->stats.failed_total));
        return ok(s);
}

struct reply_stream {
        struct manager *m;
        uint64_t generation;
        struct list_filter filter;
        struct report_list_cursor cursor;
};

/* About this much text per piece: what a socket buffer takes at a time. */
#define STREAM_PIECE (64u * 1024u)

static int stream_next(struct reply_stream *s, char **ret, size_t *ret_len, bool *ret_done) {
        if (s->m->state_generation != s->generation || !s->m->inv)
                return -ESTALE;
        int r = report_list_chunk(s->m->inv, s->m->judgements, &s->filter, "{\"parameters\":", "}", STREAM_PIECE,
                                  &s->cursor, ret, ret_len);
        if (r < 0)
                return r;
        *ret_done = s->cursor.stage == 2;
        return 0;
}

static void stream_free(struct reply_stream *s) {
        free(s);
}

static json_object *list(struct manager *m, const struct peer *p, json_object *params, struct reply_stream **ret) {
        static const char *const keys[] = { "types", "verdicts", "user", NULL };
        struct list_filter f = {};
        const char *user = NULL, *bad;
        int r;

        if ((bad = unknown_key(params, keys)))
                return invalid(bad);
        if (get_names(params, "types", false, &f.types) < 0)
                return invalid("types");
        if (get_names(params, "verdicts", true, &f.verdicts) < 0)
                return invalid("verdicts");
        if (get_string(params, "user", &user) < 0)
                return invalid("user");
        if (user) {
                struct passwd *pw = getpwnam(user);
                char *end;
                unsigned long v = strtoul(user, &end, 10);
                if (pw)
                        f.uid = pw->pw_uid;
                else if (*user && !*end)
                        f.uid = (uid_t) v;
                else
                        return invalid("user");
                f.by_user = true;
        }
        /* Others see their own objects only. */
        if (!p->admin) {
                if (f.by_user && f.uid != p->uid)
                        return denied("io.ipcgc.List");
                f.by_user = true;
                f.uid = p->uid;
        }

        r = manager_refresh(m, freshness(p));
        if (r < 0)
                return failed("cannot judge objects", r);
        struct reply_stream *st = calloc(1, sizeof(*st));
        if (!st)
                return failed("cannot format the list", -ENOMEM);
        *st = (struct reply_stream) { .m = m, .generation = m->state_generation, .filter = f };
        *ret = st;
        return NULL;
}

static json_object *explain(struct manager *m, const struct peer *p, json_object *params) {
        static const char *const keys[] = { "id", NULL };
        const char *id = NULL, *bad;
        json_object *obj;
        size_t i;
        int r;

        if ((bad = unknown_key(params, keys)))
                return invalid(bad);
        if (get_string(params, "id", &id) <= 0)
                return invalid("id");
        r = manager_refresh(m, freshness(p));
        if (r < 0)
                return failed("cannot judge objects", r);
        r = inventory_find(m->inv, id, &i);
        if (r == -ENOENT || (r == 0 && !may_see(p, &m->inv->objects[i])))
                return api_error("io.ipcgc.NoSuchObject", "id", id);
        if (r < 0)
                return failed("lookup", r);
        r = report_explain(&m->inv->objects[i], &m->judgements[i], &obj);
        if (r < 0)
                return failed("cannot format", r);
        return ok_with("object", obj);
}

static json_object *sweep(struct manager *m, const struct peer *p, json_object *params) {
        static const char *const keys[] = { "dry_run", "types", NULL };
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        bool dry_run = false;
        unsigned types = 0;
        const char *bad;
        json_object *out;
        int r;

        if ((bad = unknown_key(params, keys)))
                return invalid(bad);
        if (get_bool(params, "dry_run", &dry_run) < 0)
                return invalid("dry_run");
        if (get_names(params, "types", false, &types) < 0)
                return invalid("types");
        if (!dry_run && !p->admin)
                return denied("io.ipcgc.Sweep");
        if (p->admin)
                r = manager_sweep(m, TRIGGER_REQUEST, dry_run, types, &res);
        else {
                /* A dry run for anyone, from the kept judgement (at most
                 * FRESH_USEC_OTHERS old): asking again and again must not
                 * make the daemon judge again and again. */
                r = manager_refresh(m, freshness(p));
                if (r >= 0) {
                        struct scan_config scan = m->config->scan;
                        struct reap_options opt = {
                                .dry_run = true, .max_removals = m->config->daemon.max_removals, .scan = &scan,
                                .paths = &m->paths, .rules = m->config->rules, .n_rules = m->config->n_rules,
                                .types = types,
                        };
                        engine_reap_options(m->engine, &opt);
                        r = reap(m->inv, m->judgements, &opt, &res);
                }
        }
        if (r < 0)
                return failed("sweep failed", r);
        if (!p->admin) {
                /* Drop records about objects the caller does not own. */
                size_t w = 0;
                for (size_t i = 0; i < res->n_records; i++) {
                        size_t idx;
                        struct reap_record *rec = &res->records[i];
                        if (!rec->id || (inventory_find(m->inv, rec->id, &idx) == 0 &&
                                         may_see(p, &m->inv->objects[idx]))) {
                                res->records[w++] = *rec;
                                continue;
                        }
                        free(rec->id);
                        free(rec->reason);
                        free(rec->rule);
                        res->would_remove--;
                }
                res->n_records = w;
        }
        r = report_sweep(res, dry_run || manager_dry_run(m), &out);
        if (r < 0)
                return failed("cannot format", r);
        return ok(out);
}

static json_object *remove_one(struct manager *m, const struct peer *p, json_object *params) {
        static const char *const keys[] = { "id", "force", NULL };
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        const char *id = NULL, *bad;
        bool force = false;
        size_t i;
        int r;

        if ((bad = unknown_key(params, keys)))
                return invalid(bad);
        if (get_string(params, "id", &id) <= 0)
                return invalid("id");
        if (get_bool(params, "force", &force) < 0)
                return invalid("force");
        if (!p->admin)
                return denied("io.ipcgc.Remove");

        r = manager_refresh(m, 0); /* judge now, not a second ago */
        if (r < 0)
                return failed("cannot judge objects", r);
        r = inventory_find(m->inv, id, &i);
        if (r == -ENOENT)
                return api_error("io.ipcgc.NoSuchObject", "id", id);
        if (r < 0)
                return failed("lookup", r);

        const struct judgement *j = &m->judgements[i];
        bool allowed = j->verdict == VERDICT_ORPHAN ||
                       (force && (j->verdict == VERDICT_PENDING || j->verdict == VERDICT_REPORTED ||
                                  j->verdict == VERDICT_PROTECTED));
        if (!allowed) {
                json_object *e = api_error("io.ipcgc.ObjectInUse", "id", id), *params_out;
                char why[JUDGEMENT_REASON_MAX];
                if (e && json_object_object_get_ex(e, "parameters", &params_out)) {
                        json_object_object_add(params_out, "verdict", json_object_new_string(verdict_to_string(j->verdict)));
                        json_object_object_add(params_out, "reason", json_object_new_string(judgement_reason(j, why)));
                }
                return e;
        }

        /* Reap only this one, through the same re-verification as a sweep. */
        _cleanup_(inventory_freep) struct inventory *one = NULL;
        r = inventory_new(&one);
        if (r < 0)
                return NULL;
        one->objects = &m->inv->objects[i];
        one->n_objects = one->n_allocated = 1;
        struct judgement jj = *j;
        jj.verdict = VERDICT_ORPHAN;
        struct scan_config scan = m->config->scan;
        struct reap_options opt = {
                .max_removals = 1, .scan = &scan, .paths = &m->paths, .rules = m->config->rules,
                .n_rules = m->config->n_rules, .force = force,
                .dry_run = manager_dry_run(m), /* a dry-run daemon removes nothing, asked or not */
        };
        engine_reap_options(m->engine, &opt);
        r = reap(one, &jj, &opt, &res);
        one->objects = NULL; /* borrowed */
        one->n_objects = one->n_allocated = 0;
        if (r < 0)
                return failed("remove failed", r);
        manager_log_records(m, res, false);
        m->judged_usec = 0;

        json_object *out;
        r = report_sweep(res, opt.dry_run, &out);
        if (r < 0)
                return failed("cannot format", r);
        json_object *records, *rec = NULL;
        if (json_object_object_get_ex(out, "records", &records) && json_object_array_length(records) > 0)
                rec = json_object_get(json_object_array_get_idx(records, 0));
        json_object_put(out);
        return ok_with("record", rec);
}

static json_object *reload(struct manager *m, const struct peer *p, json_object *params) {
        _cleanup_free_ char *error = NULL;

        if (!p->admin)
                return denied("io.ipcgc.Reload");
        if (params && json_object_object_length(params) > 0)
                return invalid("parameters");
        if (manager_reload(m, &error) < 0)
                return api_error("io.ipcgc.ConfigError", "message", error ? error : "cannot load the configuration");
        return ok(json_object_new_object());
}

static json_object *get_history(struct manager *m, const struct peer *p, json_object *params) {
        static const char *const keys[] = { "limit", NULL };
        int64_t limit = HISTORY_MAX;
        const char *bad;

        if ((bad = unknown_key(params, keys)))
                return invalid(bad);
        if (get_int(params, "limit", &limit) < 0 || limit < 0)
                return invalid("limit");

        json_object *out = json_object_new_object(), *arr = json_object_new_array();
        if (!out || !arr) {
                json_object_put(out);
                json_object_put(arr);
                return NULL;
        }
        json_object_object_add(out, "entries", arr);
        for (size_t i = 0; (int64_t) json_object_array_length(arr) < limit; i++) {
                const struct history_entry *e = history_get(&m->history, i);
                if (!e)
                        break;
                const struct reap_record *rec = &e->record;
                /* Non-admins see actions on objects that were theirs only;
                 * the record keeps no owner, so they see none. */
                if (!p->admin)
                        break;
                json_object *j = json_object_new_object();
                if (!j)
                        break;
                json_object_array_add(arr, j);
                json_object_object_add(j, "time", json_object_new_int64(e->time));
                json_object_object_add(j, "action", json_object_new_string(reap_action_to_string(rec->action)));
                json_object_object_add(j, "id", rec->id ? json_object_new_string(rec->id) : NULL);
                json_object_object_add(j, "type", rec->id ? json_object_new_string(ipc_type_to_string(rec->type)) : NULL);
                json_object_object_add(j, "verdict", json_object_new_string(verdict_to_string(rec->verdict)));
                json_object_object_add(j, "rule", rec->rule ? json_object_new_string(rec->rule) : NULL);
                json_object_object_add(j, "reason", json_object_new_string(rec->reason));
                json_object_object_add(j, "errno", rec->error ? json_object_new_int(rec->error) : NULL);
        }
        return ok(out);
}

static json_object *audit(struct manager *m, const struct peer *p, json_object *params) {
        _cleanup_(audit_freep) struct audit *a = NULL;
        json_object *out;
        int r;

        if (params && json_object_object_length(params) > 0)
                return invalid("parameters");
        r = manager_refresh(m, freshness(p));
        if (r >= 0)
                r = audit_build(m->inv, m->paths.proc ? m->paths.proc : "/proc", &a);
        if (r >= 0)
                r = report_audit(a, &out);
        if (r < 0)
                return failed("audit failed", r);
        return ok(out);
}

static json_object *get_metrics(struct manager *m, const struct peer *p, json_object *params) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = manager_refresh(m, freshness(p));
        if (r >= 0)
                r = metrics_format(m, &text);
        if (r < 0)
                return failed("metrics failed", r);
        return ok_with("text", json_object_new_string(text));
}

static json_object *get_info(struct manager *m, const struct peer *p, json_object *params) {
        json_object *out = json_object_new_object(), *ifaces = json_object_new_array();
        if (!out || !ifaces) {
                json_object_put(out);
                json_object_put(ifaces);
                return NULL;
        }
        json_object_object_add(out, "vendor", json_object_new_string("ipcgc"));
        json_object_object_add(out, "product", json_object_new_string("ipcgcd"));
        json_object_object_add(out, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(out, "url", json_object_new_string("https://ipcgc.invalid/"));
        json_object_array_add(ifaces, json_object_new_string("org.varlink.service"));
        json_object_array_add(ifaces, json_object_new_string("io.ipcgc"));
        json_object_object_add(out, "interfaces", ifaces);
        return ok(out);
}

static json_object *get_interface_description(struct manager *m, const struct peer *p, json_object *params) {
        const char *name = NULL;

        if (get_string(params, "interface", &name) <= 0)
                return invalid("interface");
        const char *text = strcmp(name, "io.ipcgc") == 0             ? interface_io_ipcgc
                           : strcmp(name, "org.varlink.service") == 0 ? interface_org_varlink_service
                                                                      : NULL;
        if (!text)
                return api_error("org.varlink.service.InterfaceNotFound", "interface", name);
        return ok_with("description", json_object_new_string(text));
}

static const struct {
        const char *name;
        json_object *(*fn)(struct manager *m, const struct peer *p, json_object *params);
} methods[] = {
        { "io.ipcgc.GetStatus", get_status },
        { "io.ipcgc.Explain", explain },
        { "io.ipcgc.Sweep", sweep },
        { "io.ipcgc.Remove", remove_one },
        { "io.ipcgc.Reload", reload },
        { "io.ipcgc.GetHistory", get_history },
        { "io.ipcgc.Audit", audit },
        { "io.ipcgc.GetMetrics", get_metrics },
        { "org.varlink.service.GetInfo", get_info },
        { "org.varlink.service.GetInterfaceDescription", get_interface_description },
};

static json_object *call(void *userdata, const struct peer *peer, const char *method, json_object *parameters,
                        struct reply_stream **ret_stream) {
        struct manager *m = userdata;
        *ret_stream = NULL;
        if (strcmp(method, "io.ipcgc.List") == 0)
                return list(m, peer, parameters, ret_stream);
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (strcmp(method, methods[i].name) == 0)
                        return methods[i].fn(m, peer, parameters);

        const char *dot = strrchr(method, '.');
        if (!dot || (strncmp(method, "io.ipcgc.", 9) != 0 && strncmp(method, "org.varlink.service.", 20) != 0)) {
                /* The interface is the method's name up to its last dot. */
                char iface[256];
                snprintf(iface, sizeof(iface), "%.*s", dot ? (int) (dot - method) : (int) strlen(method), method);
                return api_error("org.varlink.service.InterfaceNotFound", "interface", iface);
        }
        return api_error("org.varlink.service.MethodNotFound", "method", method);
}

static bool admin_gid(void *userdata, gid_t *ret) {
        return manager_admin_gid(userdata, ret);
}

const struct control_ops api_ops = {
        .call = call,
        .stream_next = stream_next,
        .stream_free = stream_free,
        .admin_gid = admin_gid,
};
