/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "interface.h"
#include "ipcns.h"
#include "report.h"
#include "log.h"
#include "manager.h"
#include "service.h"

/* A reply written piecewise (List), and the namespace it is from. */
struct api_stream {
        struct service_stream *st;
        struct nsengine *n;
};

static json_object *denied(const char *method) {
        return service_error("io.ipcgc.PermissionDenied", "method", method);
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
        struct engine_last last = engine_last(m->host.engine);
        struct engine_stats es = engine_stats(m->host.engine);
        for (size_t i = 0; last.inv && i < last.inv->n_objects; i++) {
                const struct ipc_object *o = &last.inv->objects[i];
                if (p->admin || ipc_object_belongs_to(o, p->uid)) {
                        counts[last.judgements[i].verdict]++;
                        n++;
                }
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
        json_object_object_add(s, "full_judgements", json_object_new_int64((int64_t) es.full_judgements));
        json_object_object_add(s, "quick_judgements", json_object_new_int64((int64_t) es.quick_judgements));
        json_object_object_add(s, "quick_without_life", json_object_new_int64((int64_t) es.quick_without_life));
        json_object_object_add(s, "last_sweep",
                               m->stats.last_sweep ? json_object_new_int64(m->stats.last_sweep) : NULL);
        json_object_object_add(s, "last_sweep_usec",
                               m->stats.sweeps ? json_object_new_int64((int64_t) m->stats.last_sweep_usec) : NULL);
        json_object_object_add(s, "objects", json_object_new_int64((int64_t) n));
        json_object_object_add(s, "verdicts", v);
        json_object_object_add(s, "removed_total", json_object_new_int64((int64_t) m->stats.removed_total));
        json_object_object_add(s, "skipped_total", json_object_new_int64((int64_t) m->stats.skipped_total));
        json_object_object_add(s, "failed_total", json_object_new_int64((int64_t) m->stats.failed_total));
        return service_ok(s);
}

static json_object *reload(struct manager *m, const struct peer *p, json_object *params) {
        _cleanup_free_ char *error = NULL;

        if (!p->admin)
                return denied("io.ipcgc.Reload");
        if (params && json_object_object_length(params) > 0)
                return service_invalid("parameters");
        if (manager_reload(m, &error) < 0)
                return service_error("io.ipcgc.ConfigError", "message", error ? error : "cannot load the configuration");
        return service_ok(json_object_new_object());
}

static json_object *get_history(struct manager *m, const struct peer *p, json_object *params) {
        static const char *const keys[] = { "limit", NULL };
        int64_t limit = HISTORY_MAX;
        const char *bad;

        if ((bad = service_unknown_key(params, keys)))
                return service_invalid(bad);
        if (service_param_int(params, "limit", &limit) < 0 || limit < 0)
                return service_invalid("limit");

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
                /* Others see what was done to objects that were theirs. */
                if (!p->admin && (!rec->id || rec->uid != p->uid))
                        continue;
                json_object *j = NULL;
                if (report_record(rec, &j) < 0)
                        break;
                json_object_array_add(arr, j);
                json_object_object_add(j, "time", json_object_new_int64(e->time));
        }
        return service_ok(out);
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
        return service_ok(out);
}

static json_object *get_interface_description(struct manager *m, const struct peer *p, json_object *params) {
        const char *name = NULL;

        if (service_param_string(params, "interface", &name) <= 0)
                return service_invalid("interface");
        const char *text = strcmp(name, "io.ipcgc") == 0             ? interface_io_ipcgc
                           : strcmp(name, "org.varlink.service") == 0 ? interface_org_varlink_service
                                                                      : NULL;
        if (!text)
                return service_error("org.varlink.service.InterfaceNotFound", "interface", name);
        return service_ok_with("description", json_object_new_string(text));
}

static json_object *list_namespaces(struct manager *m, const struct peer *p, json_object *params) {
        json_object *out = json_object_new_object(), *arr = json_object_new_array();

        if (!out || !arr) {
                json_object_put(out);
                json_object_put(arr);
                return NULL;
        }
        if (params && json_object_object_length(params) > 0) {
                json_object_put(out);
                json_object_put(arr);
                return service_invalid("parameters");
        }
        /* As found now: a container started since the last sweep is
         * listed (and judged when asked about). */
        manager_refresh_namespaces(m, p->admin);
        json_object_object_add(out, "namespaces", arr);
        json_object_object_add(out, "all", json_object_new_boolean(m->config->daemon.all_namespaces));
        for (size_t i = 0; i <= m->n_others; i++) {
                const struct ipcns *ns = i ? m->others[i - 1]->ns : NULL;
                json_object *j = json_object_new_object();
                if (!j) {
                        json_object_put(out);
                        return NULL;
                }
                json_object_array_add(arr, j);
                json_object_object_add(j, "ipcns", json_object_new_uint64(ns ? ns->ino : m->self_ino));
                json_object_object_add(j, "name", ns && ns->name ? json_object_new_string(ns->name) : NULL);
                json_object_object_add(j, "self", json_object_new_boolean(!ns));
                json_object_object_add(j, "partial", json_object_new_boolean(ns && ns->partial));
                json_object_object_add(j, "reason", ns && ns->partial ? json_object_new_string(ns->reason) : NULL);
                json_object_object_add(j, "members", json_object_new_int64(ns ? (int64_t) ns->n_members : 0));
        }
        return service_ok(out);
}

static const struct {
        const char *name;
        json_object *(*fn)(struct manager *m, const struct peer *p, json_object *params);
} methods[] = {
        { "io.ipcgc.GetStatus", get_status },
        { "io.ipcgc.Reload", reload },
        { "io.ipcgc.GetHistory", get_history },
        { "io.ipcgc.ListNamespaces", list_namespaces },
        { "org.varlink.service.GetInfo", get_info },
        { "org.varlink.service.GetInterfaceDescription", get_interface_description },
};

/* PARAMS without KEY (a new reference), or with "id" set to ID when ID is
 * not NULL. */
static json_object *params_without(json_object *params, const char *key, const char *id) {
        json_object *copy = json_object_new_object();
        if (!copy)
                return NULL;
        json_object_object_foreach(params, k, v) {
                if (strcmp(k, key) == 0)
                        continue;
                json_object_object_add(copy, k, id && strcmp(k, "id") == 0 ? json_object_new_string(id)
                                                                             : json_object_get(v));
        }
        return copy;
}

/*
 * Which namespace's engine answers: the one "ipcns" names, or the one an ID
 * "ipc:INODE/..." names, else the daemon's own.  *RET_PARAMS: what the
 * service is to be given (NULL: PARAMS as they are).  An error reply, or
 * NULL with *RET set.
 */
static json_object *route(struct manager *m, const char *method, json_object *params, bool admin,
                          struct nsengine **ret, json_object **ret_params, bool *ret_failed) {
        static const char *const routed[] = { "io.ipcgc.List",   "io.ipcgc.Explain", "io.ipcgc.Sweep",
                                              "io.ipcgc.Remove", "io.ipcgc.Audit",   NULL };
        json_object *v;
        bool known = false;

        *ret = &m->host;
        *ret_params = NULL;
        *ret_failed = false;
        for (size_t i = 0; routed[i] && !known; i++)
                known = strcmp(method, routed[i]) == 0;
        if (!known || !params || !json_object_is_type(params, json_type_object))
                return NULL;
        if (json_object_object_get_ex(params, "ipcns", &v) && v) {
                errno = 0;
                int64_t ino = json_object_get_int64(v);
                if (!json_object_is_type(v, json_type_int) || ino <= 0 || errno)
                        return service_invalid("ipcns");
                *ret = manager_find_ns_now(m, (uint64_t) ino, admin);
                if (!*ret)
                        return service_no_such_namespace((uint64_t) ino);
                *ret_params = params_without(params, "ipcns", NULL);
                *ret_failed = !*ret_params;
                return NULL;
        }
        const char *id, *rest;
        uint64_t ino;
        if (service_param_string(params, "id", &id) <= 0 || ipcns_parse_id(id, &ino, &rest) <= 0)
                return NULL; /* the service says what is wrong with it */
        *ret = manager_find_ns_now(m, ino, admin);
        if (!*ret)
                return service_no_such_namespace(ino);
        /* The daemon's own objects are known by their plain IDs. */
        if (*ret == &m->host) {
                *ret_params = params_without(params, "", rest);
                *ret_failed = !*ret_params;
        }
        return NULL;
}

static json_object *call(void *userdata, const struct peer *peer, const char *method, json_object *parameters,
                        struct reply_stream **ret_stream) {
        struct manager *m = userdata;
        struct service_caller caller = { .uid = peer->uid, .admin = peer->admin };
        _cleanup_(json_object_putp) json_object *params = NULL;
        struct nsengine *n;
        json_object *reply;
        bool failed;

        reply = route(m, method, parameters, peer->admin, &n, &params, &failed);
        if (reply || failed)
                return reply;
        /* What the engine answers, the service does, as for --local. */
        struct service_stream *st = NULL;
        int r = service_call(&n->service, &caller, method, params ? params : parameters, &reply, &st);
        if (st) {
                /* The namespace's engine stays while its reply is written,
                 * even if a sweep finds the namespace gone meanwhile. */
                struct api_stream *as = malloc(sizeof(*as));
                if (!as) {
                        service_stream_free(st);
                        return NULL;
                }
                *as = (struct api_stream) { .st = st, .n = n };
                nsengine_ref_stream(n);
                *ret_stream = (struct reply_stream *) as;
        }
        if (r != -EOPNOTSUPP)
                return reply;
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (strcmp(method, methods[i].name) == 0)
                        return methods[i].fn(m, peer, parameters);

        const char *dot = strrchr(method, '.');
        if (!dot || (strncmp(method, "io.ipcgc.", 9) != 0 && strncmp(method, "org.varlink.service.", 20) != 0)) {
                /* The interface is the method's name up to its last dot. */
                char iface[256];
                snprintf(iface, sizeof(iface), "%.*s", dot ? (int) (dot - method) : (int) strlen(method), method);
                return service_error("org.varlink.service.InterfaceNotFound", "interface", iface);
        }
        return service_error("org.varlink.service.MethodNotFound", "method", method);
}

/* The control socket's streams are the service's. */
static int stream_next(struct reply_stream *s, char **ret, size_t *ret_len, bool *ret_done) {
        return service_stream_next(((struct api_stream *) s)->st, ret, ret_len, ret_done);
}

static void stream_free(struct reply_stream *s) {
        struct api_stream *as = (struct api_stream *) s;
        service_stream_free(as->st);
        nsengine_unref_stream(as->n);
        free(as);
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
