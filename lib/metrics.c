/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "macro.h"
#include "metrics.h"

/* The families being built, and the samples of the last one begun. */
struct builder {
        json_object *families;
        json_object *samples;
        int error;
};

static void family(struct builder *b, const char *name, const char *type, const char *help) {
        json_object *f = json_object_new_object(), *samples = json_object_new_array();
        if (b->error || !f || !samples || json_object_array_add(b->families, f) < 0) {
                json_object_put(f);
                json_object_put(samples);
                b->error = -ENOMEM;
                return;
        }
        json_object_object_add(f, "name", json_object_new_string(name));
        json_object_object_add(f, "type", json_object_new_string(type));
        json_object_object_add(f, "help", json_object_new_string(help));
        json_object_object_add(f, "samples", samples);
        b->samples = samples;
}

/* A sample of VALUE (taken) with N label pairs, name then value. */
static void sample(struct builder *b, json_object *value, unsigned n, ...) {
        json_object *s = json_object_new_object(), *labels = json_object_new_object();
        va_list ap;

        if (b->error || !value || !s || !labels || json_object_array_add(b->samples, s) < 0) {
                json_object_put(value);
                json_object_put(s);
                json_object_put(labels);
                b->error = -ENOMEM;
                return;
        }
        va_start(ap, n);
        for (unsigned i = 0; i < n; i++) {
                const char *k = va_arg(ap, const char *), *v = va_arg(ap, const char *);
                json_object_object_add(labels, k, json_object_new_string(v));
        }
        va_end(ap);
        json_object_object_add(s, "labels", labels);
        json_object_object_add(s, "value", value);
}

#define U64(v) json_object_new_uint64(v)

static void per_type(struct builder *b, const uint64_t v[static _IPC_TYPE_MAX]) {
        for (int t = 0; t < _IPC_TYPE_MAX; t++)
                sample(b, U64(v[t]), 1, "type", ipc_type_to_string(t));
}

static void counters(struct builder *b, const struct metrics_counters *c, const struct engine_stats *es) {
        family(b, "ipcgc_removals_total", "counter", "Objects removed since start, by type.");
        per_type(b, c->removed);
        family(b, "ipcgc_skips_total", "counter", "Removals skipped after re-verification, by type.");
        per_type(b, c->skipped);
        family(b, "ipcgc_removal_failures_total", "counter", "Removals that failed, by type.");
        per_type(b, c->failed);
        family(b, "ipcgc_sweeps_total", "counter", "Sweeps since start.");
        sample(b, U64(c->sweeps), 0);
        if (c->last_sweep) {
                family(b, "ipcgc_last_sweep_timestamp_seconds", "gauge",
                       "When the last sweep ended, in seconds since the epoch.");
                sample(b, json_object_new_int64((int64_t) c->last_sweep), 0);
                family(b, "ipcgc_sweep_duration_seconds", "gauge", "How long the last sweep took.");
                sample(b, json_object_new_double((double) c->last_sweep_usec / 1e6), 0);
        }
        family(b, "ipcgc_judgements_total", "counter", "Judgements of every object, full or reusing the last one.");
        sample(b, U64(es->full_judgements), 1, "kind", "full");
        sample(b, U64(es->quick_judgements), 1, "kind", "quick");
        if (c->process_events) {
                family(b, "ipcgc_process_exit_events_total", "counter",
                       "Process exits seen through the process connector.");
                sample(b, U64(c->exit_events), 0);
        }
}

/* The limits on the namespace's total and those on each object apart:
 * "used / max > 0.8" is an alert for the first, and for the second only
 * says that the largest object is near what one may be. */
static void limits(struct builder *b, const struct audit *a, enum limit_scope scope) {
        bool sys = scope == LIMIT_SCOPE_SYSTEM;
        family(b, sys ? "ipcgc_limit_max" : "ipcgc_object_limit_max", "gauge",
               sys ? "A kernel IPC limit on the namespace's total." : "A kernel IPC limit on each object.");
        for (int l = 0; l < _LIMIT_MAX; l++)
                if (a->limits[l].scope == scope && a->limits[l].error == 0)
                        sample(b, U64(a->limits[l].max), 1, "limit", a->limits[l].name);
        family(b, sys ? "ipcgc_limit_used" : "ipcgc_object_limit_used", "gauge",
               sys ? "Use of a kernel IPC limit on the namespace's total."
                   : "Use of a kernel IPC limit on each object: the largest object's.");
        for (int l = 0; l < _LIMIT_MAX; l++)
                if (a->limits[l].scope == scope && a->limits[l].has_used)
                        sample(b, U64(a->limits[l].used), 1, "limit", a->limits[l].name);
}

static void users(struct builder *b, const struct audit *a) {
        size_t shown = 0, not_shown = 0;
        char buf[16];

        family(b, "ipcgc_user_objects", "gauge", "IPC objects by owner and type.");
        for (size_t i = 0; i < a->n_usage; i++) {
                /* Rows come sorted by uid: a new uid is a new user. */
                bool new_user = i == 0 || a->usage[i].uid != a->usage[i - 1].uid;
                if (new_user && ++shown > METRICS_MAX_USERS)
                        not_shown++;
                if (shown <= METRICS_MAX_USERS)
                        sample(b, U64(a->usage[i].count), 2, "user", audit_user_name(a->usage[i].uid, buf), "type",
                               ipc_type_to_string(a->usage[i].type));
        }
        family(b, "ipcgc_user_bytes", "gauge", "Bytes held by IPC objects, by owner and type.");
        for (size_t i = 0, n = 0; i < a->n_usage; i++) {
                n += i == 0 || a->usage[i].uid != a->usage[i - 1].uid;
                if (n <= METRICS_MAX_USERS)
                        sample(b, U64(a->usage[i].bytes), 2, "user", audit_user_name(a->usage[i].uid, buf), "type",
                               ipc_type_to_string(a->usage[i].type));
        }
        family(b, "ipcgc_user_mqueue_bytes", "gauge",
               "Bytes a user's POSIX message queues charge against RLIMIT_MSGQUEUE.");
        for (size_t i = 0; i < a->n_mq_users && i < METRICS_MAX_USERS; i++)
                sample(b, U64(a->mq_users[i].bytes), 1, "user", audit_user_name(a->mq_users[i].uid, buf));
        if (a->mq_rlimit_error == 0 && a->mq_rlimit != UINT64_MAX) {
                family(b, "ipcgc_user_mqueue_limit_bytes", "gauge",
                       "The RLIMIT_MSGQUEUE processes start with (that of pid 1), for each user with queues.");
                for (size_t i = 0; i < a->n_mq_users && i < METRICS_MAX_USERS; i++)
                        sample(b, U64(a->mq_rlimit), 1, "user", audit_user_name(a->mq_users[i].uid, buf));
        }
        if (a->n_mq_users > METRICS_MAX_USERS && a->n_mq_users - METRICS_MAX_USERS > not_shown)
                not_shown = a->n_mq_users - METRICS_MAX_USERS;
        family(b, "ipcgc_users_not_shown", "gauge", "Users left out of the per-user series, past the first 256.");
        sample(b, U64(not_shown), 0);
}

int metrics_build(const struct engine *e, const struct audit *a, const struct metrics_counters *c, json_object **ret) {
        uint64_t objects[_IPC_TYPE_MAX][_VERDICT_MAX] = {}, bytes[_IPC_TYPE_MAX] = {};
        struct builder b = { .families = json_object_new_array() };

        if (!b.families)
                return -ENOMEM;
        struct engine_last last = engine_last(e);
        struct engine_stats es = engine_stats(e);
        for (size_t i = 0; last.inv && i < last.inv->n_objects; i++) {
                const struct ipc_object *o = &last.inv->objects[i];
                objects[o->type][last.judgements[i].verdict]++;
                bytes[o->type] += o->size;
        }

        family(&b, "ipcgc_build_info", "gauge", "Always 1; the version of ipcgc that reports.");
        sample(&b, U64(1), 1, "version", PACKAGE_VERSION);
        family(&b, "ipcgc_objects", "gauge", "IPC objects by type and verdict, as last judged.");
        for (int t = 0; t < _IPC_TYPE_MAX; t++)
                for (int v = 0; v < _VERDICT_MAX; v++)
                        sample(&b, U64(objects[t][v]), 2, "type", ipc_type_to_string(t), "verdict",
                               verdict_to_string(v));
        family(&b, "ipcgc_bytes", "gauge", "Bytes held by IPC objects, by type.");
        per_type(&b, bytes);
        if (c)
                counters(&b, c, &es);
        limits(&b, a, LIMIT_SCOPE_SYSTEM);
        limits(&b, a, LIMIT_SCOPE_OBJECT);
        users(&b, a);
        if (b.error) {
                json_object_put(b.families);
                return b.error;
        }
        *ret = b.families;
        return 0;
}

/* The samples of FAMILIES' family NAME, or NULL. */
static json_object *samples_of(json_object *families, const char *name) {
        for (size_t i = 0; i < json_object_array_length(families); i++) {
                json_object *f = json_object_array_get_idx(families, i), *n, *samples;
                if (json_object_object_get_ex(f, "name", &n) && strcmp(json_object_get_string(n), name) == 0 &&
                    json_object_object_get_ex(f, "samples", &samples))
                        return samples;
        }
        return NULL;
}

int metrics_add_namespace(json_object *families, const struct engine *e, uint64_t ipcns, const char *container) {
        uint64_t objects[_IPC_TYPE_MAX][_VERDICT_MAX] = {}, bytes[_IPC_TYPE_MAX] = {};
        struct builder b = { .families = families };
        struct engine_last last = engine_last(e);
        char ino[24];

        for (size_t i = 0; last.inv && i < last.inv->n_objects; i++) {
                const struct ipc_object *o = &last.inv->objects[i];
                objects[o->type][last.judgements[i].verdict]++;
                bytes[o->type] += o->size;
        }
        snprintf(ino, sizeof(ino), "%" PRIu64, ipcns);
        container = container ? container : "";
        b.samples = samples_of(families, "ipcgc_objects");
        for (int t = 0; b.samples && t < _IPC_TYPE_MAX; t++)
                for (int v = 0; v < _VERDICT_MAX; v++)
                        if (objects[t][v])
                                sample(&b, U64(objects[t][v]), 4, "type", ipc_type_to_string(t), "verdict",
                                       verdict_to_string(v), "ipcns", ino, "container", container);
        b.samples = samples_of(families, "ipcgc_bytes");
        for (int t = 0; b.samples && t < _IPC_TYPE_MAX; t++)
                if (bytes[t])
                        sample(&b, U64(bytes[t]), 3, "type", ipc_type_to_string(t), "ipcns", ino, "container",
                               container);
        return b.error;
}

/* A label value as the text format quotes it: \, " and newline escaped. */
static void put_label_value(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fputc('\\', f), fputc(*s, f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

static void put_value(FILE *f, json_object *v) {
        if (json_object_is_type(v, json_type_double))
                fprintf(f, "%.6f", json_object_get_double(v));
        else if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) < 0)
                fprintf(f, "%" PRId64, json_object_get_int64(v));
        else
                fprintf(f, "%" PRIu64, json_object_get_uint64(v));
}

int metrics_text(json_object *families, char **ret) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < json_object_array_length(families); i++) {
                json_object *fam = json_object_array_get_idx(families, i), *v, *samples;
                const char *name = json_object_object_get_ex(fam, "name", &v) ? json_object_get_string(v) : "";
                fprintf(f, "# HELP %s %s\n", name,
                        json_object_object_get_ex(fam, "help", &v) ? json_object_get_string(v) : "");
                fprintf(f, "# TYPE %s %s\n", name,
                        json_object_object_get_ex(fam, "type", &v) ? json_object_get_string(v) : "untyped");
                if (!json_object_object_get_ex(fam, "samples", &samples))
                        continue;
                for (size_t k = 0; k < json_object_array_length(samples); k++) {
                        json_object *s = json_object_array_get_idx(samples, k), *labels, *value;
                        fputs(name, f);
                        if (json_object_object_get_ex(s, "labels", &labels) && json_object_object_length(labels)) {
                                bool first = true;
                                fputc('{', f);
                                json_object_object_foreach(labels, key, val) {
                                        fprintf(f, "%s%s=\"", first ? "" : ",", key);
                                        put_label_value(f, json_object_get_string(val));
                                        fputc('"', f);
                                        first = false;
                                }
                                fputc('}', f);
                        }
                        fputc(' ', f);
                        if (json_object_object_get_ex(s, "value", &value))
                                put_value(f, value);
                        fputc('\n', f);
                }
        }
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

/* Opens the directory DIR (absolute) one component at a time, none of
 * them followed if it is a symlink: -ELOOP then.  (openat2's
 * RESOLVE_NO_SYMLINKS would do it in one call, but the units'
 * SystemCallFilter= answers it ENOSYS.) */
static int open_dir_nofollow(const char *dir, int *ret) {
        _cleanup_free_ char *copy = strdup(dir);
        _cleanup_close_ int fd = -EBADF;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0) {
                        int r = negative_errno();
                        struct stat st;
                        /* O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR. */
                        if ((r == -ENOTDIR || r == -ELOOP) && fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISLNK(st.st_mode))
                                return -ELOOP;
                        return r;
                }
                close(fd);
                fd = next;
        }
        *ret = TAKE_FD(fd);
        return 0;
}

int metrics_write_file(const char *path, const char *text) {
        _cleanup_free_ char *dir = NULL, *tmp = NULL;
        const char *slash = strrchr(path, '/'), *base;
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        int r;

        if (path[0] != '/' || !slash[1])
                return -EINVAL; /* config_load() makes it absolute, and a file's */
        base = slash + 1;
        dir = strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        /* A symlink anywhere in the directory's path could point the
         * writes of a root daemon somewhere else: none is followed. */
        r = open_dir_nofollow(dir, &dfd);
        if (r < 0)
                return r;

        /* A name of its own per writer: two writers (the daemon and an
         * ipcgcd --once) never write into one temporary file. */
        uint32_t rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                rnd = (uint32_t) getpid();
        if (asprintf(&tmp, ".%s.%08" PRIx32, base, rnd) < 0)
                return -ENOMEM;
        /* O_EXCL: never through a symlink, never into someone's file. */
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        r = fchmod(fd, 0644) < 0 ? negative_errno() : 0;
        if (r >= 0)
                r = io_write_all(fd, text, strlen(text), -1);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = negative_errno();
        /* rename replaces the name PATH is: a symlink there goes, unfollowed. */
        if (r >= 0 && renameat(dfd, tmp, dfd, base) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        return fsync(dfd) < 0 ? negative_errno() : 0;
}
