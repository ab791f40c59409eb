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
#include "interface.h"
#include "report.h"
#include "log.h"
#include "manager.h"
#include "service.h"

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
        struct engine_last last = engine_last(m->engine);
        struct engine_stats es = engine_stats(m->engine);
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

static const struct {
        const char *name;
        json_object *(*fn)(struct manager *m, const struct peer *p, json_object *params);
} methods[] = {
        { "io.ipcgc.GetStatus", get_status },
        { "io.ipcgc.Reload", reload },
        { "io.ipcgc.GetHistory", get_history },
        { "org.varlink.service.GetInfo", get_info },
        { "org.varlink.service.GetInterfaceDescription", get_interface_description },
};

static json_object *call(void *userdata, const struct peer *peer, const char *method, json_object *parameters,
                        struct reply_stream **ret_stream) {
        struct manager *m = userdata;
        struct service_caller caller = { .uid = peer->uid, .admin = peer->admin };
        json_object *reply;

        /* What the engine answers, the service does, as for --local. */
        int r = service_call(&m->service, &caller, method, parameters, &reply,
                             (struct service_stream **) ret_stream);
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
        return service_stream_next((struct service_stream *) s, ret, ret_len, ret_done);
}

static void stream_free(struct reply_stream *s) {
        service_stream_free((struct service_stream *) s);
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
