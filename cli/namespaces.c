/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
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
        } else if (!cli->local) {
                /* The daemon's [Daemon] Namespaces= is not there yet. */
                cli_usage_error("--all-namespaces and --namespace need --local: ipcgcd judges its own namespace only");
                *ret_ok = false;
        }
        return true;
}

static int discover(struct cli *cli) {
        if (cli->namespaces)
                return EXIT_OK;
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
 * found: with some cut, or some process's unreadable, one not found may
 * still be there. */
static void forget_gone(struct cli *cli) {
        const struct config *config;
        const struct ipcns_list *l = cli->namespaces;

        if (geteuid() != 0 || l->cut || l->n_unreadable || cli_load_config(cli, &config) < 0 ||
            !config->daemon.state_dir)
                return;
        _cleanup_closedir_ DIR *d = opendir(config->daemon.state_dir);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                char *end;
                if (strncmp(de->d_name, "ipcns-", 6) != 0 || !isdigit((unsigned char) de->d_name[6]))
                        continue;
                errno = 0;
                unsigned long long ino = strtoull(de->d_name + 6, &end, 10);
                if (*end || errno)
                        continue;
                bool found = false;
                for (size_t i = 0; i < l->n && !found; i++)
                        found = l->ns[i].ino == ino;
                if (found)
                        continue;
                _cleanup_free_ char *dir = NULL;
                if (asprintf(&dir, "%s/%s", config->daemon.state_dir, de->d_name) < 0)
                        return;
                int r = memory_remove(dir);
                if (r < 0 && r != -ENOENT)
                        fprintf(stderr, "ipcgc: warning: could not forget %s, ignoring: %s\n", dir, strerror(-r));
        }
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
        for (size_t i = 0; i < cli->namespaces->n; i++) {
                const struct ipcns *ns = &cli->namespaces->ns[i];
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
                        if (cli->ns_config)
                                cli->ns_config->daemon.max_removals = cli->removals_left;
                }
                /* One engine a namespace, made afresh: each judges its own
                 * objects with its own members. */
                cli->engine = engine_free(cli->engine);
                cli->paths.ns = ns;
                _cleanup_(json_object_putp) json_object *error = NULL;
                cli->held_error = &error;
                r = cli_call_text(cli, method, json_object_get(params), &text, &len);
                cli->held_error = NULL;
                if (r != EXIT_OK) {
                        /* Its last member exited since it was found: no
                         * error, it is simply not there any more. */
                        if (!ns->self && !still_there(cli, ns)) {
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
        cli->engine = engine_free(cli->engine);
        cli->paths.ns = NULL;
        if (!only)
                forget_gone(cli);
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
        if (!cli->local) {
                cli_usage_error("an ID in another IPC namespace (%s) needs --local: ipcgcd judges its own only", id);
                return -EINVAL;
        }
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
        int r;

        if (optind + 1 == argc) {
                r = cli_namespace_of_id(cli, argv[optind]);
                if (r == -EINVAL)
                        return EXIT_USAGE;
                if (r < 0)
                        return EXIT_FAIL;
        }
        if (!cli->paths.ns)
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
