/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager.h"
#include "memory.h"
#include "namespaces.h"

static void set_service(struct nsengine *n, const struct config *config);

int nsengine_init_host(struct nsengine *n, struct manager *m, const struct config *config) {
        int r;

        *n = (struct nsengine) { .manager = m };
        r = engine_new(config, &m->paths, (geteuid() == 0 ? ENGINE_SAVE : 0) | ENGINE_INCREMENTAL, &n->engine);
        if (r < 0)
                return r;
        set_service(n, config);
        return 0;
}

static int copy_pids(pid_t **ret, const pid_t *pids, size_t n) {
        *ret = NULL;
        if (n && !(*ret = malloc(n * sizeof(pid_t))))
                return -ENOMEM;
        if (n)
                memcpy(*ret, pids, n * sizeof(pid_t));
        return 0;
}

static int copy_ns(struct ipcns *to, const struct ipcns *from) {
        pid_t *members, *maybe;

        if (copy_pids(&members, from->members, from->n_members) < 0)
                return -ENOMEM;
        if (copy_pids(&maybe, from->maybe, from->n_maybe) < 0) {
                free(members);
                return -ENOMEM;
        }
        free(to->members);
        free(to->maybe);
        char *name = to->name; /* kept: the engine's rules point at it */
        *to = *from;
        to->members = members;
        to->maybe = maybe;
        to->name = name;
        return 0;
}

/* Another namespace's configuration: the daemon's, with its own memory. */
static int derive_config(struct nsengine *n, const struct config *config) {
        char *dir = NULL;

        if (config->daemon.state_dir) {
                int r = memory_namespace_dir(config->daemon.state_dir, n->ns->ino, &dir);
                if (r < 0)
                        return r;
        }
        free(n->state_dir);
        n->state_dir = dir;
        n->ns_config = *config;
        n->ns_config.daemon.state_dir = dir;
        return 0;
}

int nsengine_new(struct manager *m, const struct ipcns *ns, const struct config *config, struct nsengine **ret) {
        struct nsengine *n = calloc(1, sizeof(*n));
        int r = -ENOMEM;

        if (!n)
                return -ENOMEM;
        n->manager = m;
        n->ns = calloc(1, sizeof(*n->ns));
        if (!n->ns || (ns->name && !(n->ns->name = strdup(ns->name))))
                goto fail;
        r = copy_ns(n->ns, ns);
        if (r < 0)
                goto fail;
        n->paths = m->paths;
        n->paths.ns = n->ns;
        r = derive_config(n, config);
        if (r < 0)
                goto fail;
        if (geteuid() == 0 && config->daemon.state_dir)
                (void) mkdir(config->daemon.state_dir, 0755); /* saving makes the last directory only */
        /* Not ENGINE_INCREMENTAL: a confirmation re-reads the objects in this
         * process's namespace and watches its directories; another's are
         * judged in full every time, through the helper (nshelper.h). */
        r = engine_new(&n->ns_config, &n->paths,
                       (geteuid() == 0 ? ENGINE_SAVE : 0) | (m->watch_others ? ENGINE_WATCH : 0), &n->engine);
        if (r < 0)
                goto fail;
        if (m->watch_others) {
                r = nsengine_watch(n);
                if (r < 0)
                        goto fail;
        }
        set_service(n, &n->ns_config);
        n->found = true;
        n->prompted = true; /* never judged: at the first chance */
        *ret = n;
        return 0;
fail:
        nsengine_free(n);
        return r;
}

int nsengine_watch(struct nsengine *n) {
        int fd = engine_watch_fd(n->engine);
        if (fd < 0)
                return 0;
        return sd_event_add_io(n->manager->event, &n->watch_source, fd, EPOLLIN, manager_on_watch, n);
}

void nsengine_free(struct nsengine *n) {
        if (!n)
                return;
        sd_event_source_disable_unref(n->watch_source);
        engine_free(n->engine); /* saves what it learnt */
        said_clear(&n->said);
        if (!n->ns)
                return; /* the daemon's own: part of the manager */
        free(n->ns->members);
        free(n->ns->maybe);
        free(n->ns->name);
        free(n->ns);
        free(n->state_dir);
        free(n);
}

void nsengine_retire(struct nsengine *n) {
        if (n->streams)
                n->retired = true;
        else
                nsengine_free(n);
}

void nsengine_ref_stream(struct nsengine *n) {
        n->streams++;
}

void nsengine_unref_stream(struct nsengine *n) {
        if (--n->streams == 0 && n->retired)
                nsengine_free(n);
}

int nsengine_set_config(struct nsengine *n, const struct config *config) {
        if (n->ns) {
                /* The memory stays where it was loaded from: StateDir= is
                 * read at start only, as the daemon's own. */
                n->ns_config = *config;
                n->ns_config.daemon.state_dir = n->state_dir;
                config = &n->ns_config;
        }
        engine_set_config(n->engine, config);
        set_service(n, config);
        return 0;
}

static bool same_name(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

int nsengine_update(struct nsengine *n, const struct ipcns *ns) {
        n->found = true;
        if (!same_name(n->ns->name, ns->name)) {
                /* Named otherwise now (its first members joined their
                 * container's cgroup after it was found): what was judged
                 * under the old name goes with it (the rules' Container=). */
                char *name = NULL;
                if (ns->name && !(name = strdup(ns->name)))
                        return -ENOMEM;
                engine_invalidate(n->engine);
                free(n->ns->name);
                n->ns->name = name;
        }
        return copy_ns(n->ns, ns);
}

uint64_t nsengine_ino(const struct nsengine *n) {
        return n->ns ? n->ns->ino : 0;
}

const char *nsengine_container(const struct nsengine *n) {
        return n->ns ? n->ns->name : NULL;
}

static void set_service(struct nsengine *n, const struct config *config) {
        struct manager *m = n->manager;

        n->service = (struct service) {
                .engine = n->engine,
                .config = config,
                .proc_root = m->paths.proc ? m->paths.proc : "/proc",
                .sysvipc = m->paths.sysvipc,
                .quick = true,
                .dry_run = manager_dry_run(m),
                .acted = manager_acted,
                .counters = manager_counters,
                /* The daemon's own metrics carry every namespace's. */
                .more_metrics = n->ns ? NULL : manager_more_metrics,
                .userdata = n,
        };
}
