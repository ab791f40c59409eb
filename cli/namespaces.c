/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ipcns.h"
#include "memory.h"
#include "restore.h"

bool cli_namespaces_wanted(struct cli *cli, bool *ret_ok) {
        *ret_ok = true;
        if (!cli->all_namespaces && !cli->namespace_sel)
                return false;
        if (cli->all_namespaces && cli->namespace_sel) {
                cli_usage_error("--all-namespaces and --namespace exclude each other");
                *ret_ok = false;
        }
        return true;
}

/* The namespaces the daemon judges, as ListNamespaces gives them: with
 * Namespaces=host, none but its own, which is said. */
static int ask_daemon(struct cli *cli) {
        _cleanup_(json_object_putp) json_object *reply = NULL;
        _cleanup_(ipcns_list_freep) struct ipcns_list *l = calloc(1, sizeof(*l));
        json_object *arr;

        if (!l)
                return EXIT_FAIL;
        int r = cli_call(cli, "io.ipcgc.ListNamespaces", NULL, &reply);
        if (r != EXIT_OK)
                return r;
        if (!json_flag(reply, "all")) {
                fprintf(stderr, "ipcgc: ipcgcd judges its own IPC namespace only ([Daemon] Namespaces=host)\n"
                                "ipcgc: set Namespaces=all in its configuration, or run with --local.\n");
                return EXIT_FAIL;
        }
        if (!json_object_object_get_ex(reply, "namespaces", &arr) || !json_object_is_type(arr, json_type_array)) {
                fprintf(stderr, "ipcgc: malformed reply to io.ipcgc.ListNamespaces\n");
                return EXIT_FAIL;
        }
        size_t n = json_object_array_length(arr);
        if (n > IPCNS_MAX_DEFAULT + 1) {
                fprintf(stderr, "ipcgc: malformed reply to io.ipcgc.ListNamespaces: %zu namespaces\n", n);
                return EXIT_FAIL;
        }
        l->ns = calloc(n ? n : 1, sizeof(*l->ns));
        if (!l->ns)
                return EXIT_FAIL;
        for (size_t i = 0; i < n; i++) {
                json_object *j = json_object_array_get_idx(arr, i), *v;
                struct ipcns *ns = &l->ns[l->n];
                if (!json_object_object_get_ex(j, "ipcns", &v) || !json_object_is_type(v, json_type_int)) {
                        fprintf(stderr, "ipcgc: malformed reply to io.ipcgc.ListNamespaces: no ipcns\n");
                        return EXIT_FAIL;
                }
                ns->ino = json_object_get_uint64(v);
                ns->self = json_flag(j, "self");
                ns->partial = json_flag(j, "partial");
                const char *name = json_str(j, "name"), *reason = json_str(j, "reason");
                if (name && !(ns->name = strdup(name)))
                        return EXIT_FAIL;
                if (reason)
                        snprintf(ns->reason, sizeof(ns->reason), "%s", reason);
                if (json_object_object_get_ex(j, "members", &v))
                        ns->n_members = (size_t) json_object_get_int64(v); /* a count only: no pids */
                l->n++;
        }
        cli->namespaces = TAKE_PTR(l);
        return EXIT_OK;
}

static int discover(struct cli *cli) {
        if (cli->namespaces)
                return EXIT_OK;
        if (!cli->local)
                return ask_daemon(cli);
        int r = ipcns_discover(cli->paths.proc, 0, 0, &cli->namespaces);
        if (r < 0) {
                fprintf(stderr, "ipcgc: cannot list the IPC namespaces in %s: %s\n", cli->paths.proc ?: "/proc",
                        strerror(-r));
                return EXIT_FAIL;
        }
        if (cli->namespaces->cut)
                fprintf(stderr, "ipcgc: warning: more than %u IPC namespaces: the rest are not judged\n",
                        IPCNS_MAX_DEFAULT);
        return EXIT_OK;
}

/* Does NS still have a member in it?  A namespace whose last member went
 * meanwhile is gone, not a failure. */
static bool still_there(const struct cli *cli, const struct ipcns *ns) {
        char path[4096];
        struct stat st;

        for (size_t i = 0; i < ns->n_members; i++) {
                snprintf(path, sizeof(path), "%s/%d/ns/ipc", cli->paths.proc ?: "/proc", (int) ns->members[i]);
                if (stat(path, &st) == 0 && (uint64_t) st.st_ino == ns->ino)
                        return true;
        }
        return false;
}

/* The memories of namespaces that are gone (StateDir/ipcns-INODE of an
 * inode not among those found) are forgotten, once every namespace was
 * found. */
static void forget_gone(struct cli *cli) {
        const struct config *config;
        const struct ipcns_list *l = cli->namespaces;

        if (geteuid() != 0 || l->cut || l->n_unreadable || cli_load_config(cli, &config) < 0 ||
            !config->daemon.state_dir)
                return;
        _cleanup_free_ uint64_t *inos = calloc(l->n ? l->n : 1, sizeof(*inos));
        if (!inos)
                return;
        for (size_t i = 0; i < l->n; i++)
                inos[i] = l->ns[i].ino; /* sorted, as found */
        int r = memory_forget_namespaces(config->daemon.state_dir, inos, l->n);
        if (r < 0)
                fprintf(stderr, "ipcgc: warning: could not forget the memory of an IPC namespace gone, ignoring: %s\n",
                        strerror(-r));
}

/* The methods answered from a judgement (struct service's judged). */
static bool judges(const char *method) {
        static const char *const methods[] = { "io.ipcgc.List", "io.ipcgc.Sweep", "io.ipcgc.Audit",
                                               "io.ipcgc.Explain" };
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (strcmp(method, methods[i]) == 0)
                        return true;
        return false;
}

/*
 * One engine a namespace selected (ONLY, or every one), CES[i] that of
 * namespace i, each judging its own objects with its own members; for a
 * METHOD answered from a judgement, all judged at once, with one pass over
 * /proc (engine_judge_many).  An engine not made or not judged here is
 * left to the call, which makes it or judges it as a single one would, and
 * fails or says the namespace is gone as it would.
 */
static int judge_all(struct cli *cli, const char *method, const struct ipcns *only, struct cli_engine *ces) {
        const size_t n = cli->namespaces->n;
        _cleanup_free_ struct engine **es = calloc(n ? n : 1, sizeof(*es));
        _cleanup_free_ size_t *which = calloc(n ? n : 1, sizeof(*which));
        _cleanup_free_ int *errs = calloc(n ? n : 1, sizeof(*errs));
        size_t m = 0;

        if (!es || !which || !errs)
                return EXIT_FAIL;
        /* Not the plain engine any more: the next plain call makes it again. */
        cli_engine_done(&cli->one);
        for (size_t i = 0; i < n; i++) {
                const struct ipcns *ns = &cli->namespaces->ns[i];
                if (only && ns != only)
                        continue;
                if (cli_engine_make(cli, ns, &ces[i]) == 0) {
                        es[m] = ces[i].engine;
                        which[m++] = i;
                }
        }
        if (!judges(method) || m == 0)
                return EXIT_OK;
        /* --local judges in full (struct service's quick is false). */
        (void) engine_judge_many(es, m, ENGINE_FULL, errs);
        for (size_t k = 0; k < m; k++)
                ces[which[k]].judged = errs[k] == 0;
        return EXIT_OK;
}

int cli_each_namespace(struct cli *cli, const char *method, json_object *params,
                       int (*each)(struct cli *cli, const struct ipcns *ns, const char *text, size_t len,
                                   void *userdata),
                       void *userdata) {
        const struct ipcns *only = NULL;
        int rc = EXIT_OK, r;

        r = discover(cli);
        if (r != EXIT_OK)
                return r;
        if (cli->namespace_sel) {
                size_t n;
                only = ipcns_find(cli->namespaces, cli->namespace_sel, &n);
                if (!only) {
                        if (n > 1)
                                fprintf(stderr, "ipcgc: %zu IPC namespaces are named '%s': name one by its inode\n", n,
                                        cli->namespace_sel);
                        else
                                fprintf(stderr, "ipcgc: no IPC namespace '%s' (an inode, or a name that list shows)\n",
                                        cli->namespace_sel);
                        return EXIT_FAIL;
                }
        }
        if (cli->budget) {
                const struct config *config;
                if (cli_load_config(cli, &config) < 0)
                        return EXIT_FAIL;
                cli->removals_left = config->daemon.max_removals;
        }
        _cleanup_free_ struct cli_engine *ces = calloc(cli->namespaces->n ? cli->namespaces->n : 1, sizeof(*ces));
        if (!ces)
                return EXIT_FAIL;
        /* Through the daemon, its engines judge. */
        r = cli->local ? judge_all(cli, method, only, ces) : EXIT_OK;
        if (r != EXIT_OK)
                return r;
        for (size_t i = 0; i < cli->namespaces->n; i++) {
                const struct ipcns *ns = &cli->namespaces->ns[i];
                struct cli_engine *ce = &ces[i];
                _cleanup_free_ char *text = NULL;
                size_t len;

                if (only && ns != only)
                        continue;
                if (cli->budget) {
                        /* What the namespaces before used is gone for this one. */
                        if (cli->removals_left == 0) {
                                cli->namespaces_not_swept++;
                                continue;
                        }
                        cli->config->daemon.max_removals = cli->removals_left;
                        if (ce->ns_config)
                                ce->ns_config->daemon.max_removals = cli->removals_left;
                }
                /* Answered by the namespace's own engine, from the
                 * judgement made with the others. */
                cli->current = ce;
                cli->paths.ns = ns;
                _cleanup_(json_object_putp) json_object *error = NULL;
                /* Through the daemon: its engine of that namespace answers,
                 * and caps the budget at its own MaxRemovalsPerSweep=. */
                json_object *p = json_object_new_object();
                if (!p) {
                        rc = EXIT_FAIL;
                        cli->current = NULL;
                        break; /* the engines are freed below, saving what they learnt */
                }
                if (params) {
                        json_object_object_foreach(params, k, v) json_object_object_add(p, k, json_object_get(v));
                }
                if (!cli->local && !ns->self)
                        json_object_object_add(p, "ipcns", json_object_new_uint64(ns->ino));
                if (!cli->local && cli->budget)
                        json_object_object_add(p, "max_removals", json_object_new_int64(cli->removals_left));
                cli->held_error = &error;
                r = cli_call_text(cli, method, p, &text, &len);
                cli->held_error = NULL;
                cli->current = NULL;
                if (r != EXIT_OK) {
                        /* Its last member exited since it was found: no
                         * error, it is simply not there any more. */
                        const char *name = json_str(error, "error");
                        if (!ns->self && (cli->local ? !still_there(cli, ns)
                                                     : name && strcmp(name, "io.ipcgc.NoSuchNamespace") == 0)) {
                                fprintf(stderr, "ipcgc: IPC namespace %" PRIu64 " is gone: skipped\n", ns->ino);
                                continue;
                        }
                        if (error)
                                cli_print_error(cli, error);
                        if (rc == EXIT_OK)
                                rc = r;
                        continue;
                }
                r = each(cli, ns, text, len, userdata);
                if (r != EXIT_OK && rc == EXIT_OK)
                        rc = r;
        }
        for (size_t i = 0; i < cli->namespaces->n; i++)
                cli_engine_done(&ces[i]);
        cli->paths.ns = NULL;
        if (!only && cli->local)
                forget_gone(cli); /* the daemon forgets its own */
        return rc;
}

int cli_namespace_of_id(struct cli *cli, const char *id) {
        const char *rest;
        uint64_t ino;
        int r = ipcns_parse_id(id, &ino, &rest);

        if (r < 0) {
                cli_usage_error("'%s' is not an object ID (ipc:INODE/TYPE:ID, like ipc:4026532201/shm:5)", id);
                return -EINVAL;
        }
        if (r == 0)
                return 0;
        if (!cli->local)
                return 2; /* the daemon finds its namespace from the ID */
        if (discover(cli) != EXIT_OK)
                return -EIO;
        for (size_t i = 0; i < cli->namespaces->n; i++)
                if (cli->namespaces->ns[i].ino == ino) {
                        cli->paths.ns = &cli->namespaces->ns[i];
                        return 1;
                }
        fprintf(stderr, "ipcgc: no IPC namespace %" PRIu64 " (gone, or never there)\n", ino);
        return -ENOENT;
}

int cli_object_id_any(struct cli *cli, int argc, char **argv, const char *command, const char **ret_id) {
        static char *full;
        const char *rest = NULL, *id;
        uint64_t ino;
        int r = 0;

        if (optind + 1 == argc) {
                r = cli_namespace_of_id(cli, argv[optind]);
                if (r == -EINVAL)
                        return EXIT_USAGE;
                if (r < 0)
                        return EXIT_FAIL;
        }
        if (r == 0)
                return cli_object_id(argc, argv, command, ret_id) < 0 ? EXIT_USAGE : EXIT_OK;
        /* The part after the prefix is an ID like any other. */
        (void) ipcns_parse_id(argv[optind], &ino, &rest);
        char *saved = argv[optind];
        argv[optind] = (char *) rest;
        r = cli_object_id(argc, argv, command, &id);
        argv[optind] = saved;
        if (r < 0)
                return EXIT_USAGE;
        free(full);
        if (asprintf(&full, "ipc:%" PRIu64 "/%s", ino, id) < 0) {
                full = NULL;
                return EXIT_FAIL;
        }
        *ret_id = full;
        return EXIT_OK;
}

int cli_namespace_of_entry(struct cli *cli, const char *entry) {
        _cleanup_free_ char *container = NULL;
        const struct config *config;
        uint64_t ino = 0;

        if (cli_load_config(cli, &config) < 0)
                return EXIT_FAIL;
        if (restore_entry_origin(config->daemon.archive_dir, entry, &ino, &container) < 0 || ino == 0)
                return EXIT_OK;
        if (discover(cli) != EXIT_OK)
                return EXIT_FAIL;
        for (size_t i = 0; i < cli->namespaces->n; i++) {
                const struct ipcns *ns = &cli->namespaces->ns[i];
                if (ns->ino != ino)
                        continue;
                /* The inode alone could be a later namespace's: without a
                 * name to tell, nothing goes back. */
                if (!container || !ns->name || strcmp(container, ns->name) != 0) {
                        fprintf(stderr,
                                "ipcgc: %s was removed from IPC namespace %" PRIu64 " (%s); namespace %" PRIu64
                                " now is %s: not put back\n",
                                entry, ino, container ? container : "no name", ino, ns->name ? ns->name : "nameless");
                        return EXIT_FAIL;
                }
                cli->paths.ns = ns;
                return EXIT_OK;
        }
        fprintf(stderr, "ipcgc: %s was removed from IPC namespace %" PRIu64 " (%s), which is gone: not put back\n",
                entry, ino, container ? container : "no name");
        return EXIT_FAIL;
}

int cli_parse_object_id_any(const char *arg, char **ret_id) {
        const char *rest;
        uint64_t ino;
        int r = ipcns_parse_id(arg, &ino, &rest);

        if (r < 0) {
                cli_usage_error("'%s' is not an object ID (ipc:INODE/TYPE:ID, like ipc:4026532201/shm:5)", arg);
                return -EINVAL;
        }
        if (r == 0)
                return cli_parse_object_id(arg, ret_id);
        _cleanup_free_ char *id = NULL;
        int t = cli_parse_object_id(rest, &id);
        if (t < 0)
                return t;
        if (asprintf(ret_id, "ipc:%" PRIu64 "/%s", ino, id) < 0) {
                cli_usage_error("out of memory");
                return -ENOMEM;
        }
        return t;
}
