/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"

static const struct {
        const char *name;
        int (*run)(struct cli *cli, int argc, char **argv);
        const char *help;
} commands[] = {
        { "status", cmd_status, "the daemon's state and counts" },
        { "list", cmd_list, "list IPC objects, their holders and verdicts" },
        { "explain", cmd_explain, "the verdict on one object, its reason and evidence" },
        { "sweep", cmd_sweep, "remove orphaned objects (--dry-run: only say which)" },
        { "audit", cmd_audit, "IPC use per user and type against the kernel limits" },
        { "rm", cmd_rm, "remove one orphaned object (--force: also PENDING, REPORTED, PROTECTED)" },
        { "history", cmd_history, "the daemon's recent removals and skips" },
        { "reload", cmd_reload, "make the daemon re-read its configuration" },
        { "metrics", cmd_metrics, "Prometheus metrics from the daemon" },
        { "check-config", cmd_check_config, "validate the configuration and show its rules" },
};

static void usage(FILE *out) {
        fprintf(out,
                "Usage: ipcgc [--config FILE] [--local] COMMAND [OPTIONS]\n"
                "\n"
                "Find leaked System V and POSIX IPC objects and FIFOs.\n"
                "\n"
                "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
        fprintf(out,
                "\n"
                "Options for every command:\n"
                "  --config FILE    read FILE instead of %s\n"
                "  --local          run the engine in this process instead of asking ipcgcd\n"
                "  --socket PATH    ask ipcgcd at PATH instead of the configured Socket=\n"
                "  -h, --help       show help (ipcgc COMMAND --help for a command's)\n"
                "  -V, --version    show the version\n",
                DEFAULT_CONFIG_PATH);
}

void cli_usage_error(const char *fmt, ...) {
        va_list ap;

        fputs("ipcgc: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nTry 'ipcgc --help' for more information.\n", stderr);
}

bool cli_common_option(struct cli *cli, int c, const char *arg) {
        switch (c) {
        case OPT_CONFIG:
                cli->config_path = arg;
                return true;
        case OPT_LOCAL:
                cli->local = true;
                return true;
        case OPT_SYSVIPC:
                cli->paths.sysvipc = arg;
                return true;
        case OPT_PROC:
                cli->paths.proc = arg;
                return true;
        case OPT_SOCKET:
                cli->socket = arg;
                return true;
        }
        return false;
}

int cli_load_config(const struct cli *cli, struct config **ret) {
        _cleanup_free_ char *error = NULL;
        int r;

        /* The file, then the conf.d/ beside it; one named with --config
         * must exist, the default may not. */
        r = config_load(cli->config_path ?: DEFAULT_CONFIG_PATH,
                        CONFIG_DROPINS | (cli->config_path ? CONFIG_MUST_EXIST : 0), ret, &error);
        if (r < 0) {
                if (error)
                        fprintf(stderr, "ipcgc: %s\n", error);
                else
                        fprintf(stderr, "ipcgc: failed to load config: %s\n", strerror(-r));
        }
        return r;
}

int cli_collect(const struct cli *cli, const struct config *config, unsigned types, struct inventory **ret_inv,
                struct proctab **ret_proctab) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        struct scan_config scan = config->scan;
        int r;

        if (types)
                scan.types = types;

        r = collect_inventory(&scan, &cli->paths, NULL, &inv);
        if (r < 0) {
                fprintf(stderr, "ipcgc: failed to collect IPC objects: %s\n", strerror(-r));
                return r;
        }
        r = collect_holders(inv, &cli->paths, judge_proctab_needs(inv, config->rules, config->n_rules), ret_proctab);
        if (r < 0) {
                fprintf(stderr, "ipcgc: failed to read the process table: %s\n", strerror(-r));
                return r;
        }
        for (size_t i = 0; i < inv->n_warnings; i++)
                fprintf(stderr, "ipcgc: warning: %s\n", inv->warnings[i]);
        if (inv->n_warnings_dropped)
                fprintf(stderr, "ipcgc: warning: %zu more warnings not shown\n", inv->n_warnings_dropped);

        *ret_inv = TAKE_PTR(inv);
        return 0;
}

int cli_remote(const struct cli *cli, const struct config *config, const char *method, json_object *params,
               json_object **ret) {
        _cleanup_free_ char *error = NULL;
        const char *path = cli->socket ?: config->daemon.socket;
        json_object *reply = NULL;
        int r;

        r = client_call(path, method, params, &reply, &error);
        /* A List is written from the judgement as it is read; a sweep that
         * replaces the judgement meanwhile cuts it off.  Asking again gets
         * the new one. */
        for (int again = 0; r == -ECONNRESET && strcmp(method, "io.ipcgc.List") == 0 && again < 3; again++) {
                json_object_put(reply);
                reply = NULL;
                free(error);
                error = NULL;
                r = client_call(path, method, params, &reply, &error);
        }
        if (r == 0) {
                *ret = reply;
                return EXIT_OK;
        }
        if (r == -EREMOTEIO) {
                /* The error's name, then every parameter it carries: an
                 * ObjectInUse says which verdict and why. */
                fprintf(stderr, "ipcgc: %s", error);
                const char *sep = ": ";
                json_object_object_foreach(reply, key, val) {
                        fprintf(stderr, "%s%s=%s", sep, key, json_object_get_string(val));
                        sep = ", ";
                }
                fputc('\n', stderr);
                json_object_put(reply);
                return EXIT_FAIL;
        }
        json_object_put(reply);
        if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTSOCK || r == -ENOTDIR) {
                fprintf(stderr, "ipcgc: cannot reach ipcgcd at %s: %s\n"
                                "ipcgc: is it running?  --local runs the engine in this process instead.\n",
                        path, strerror(-r));
                return EXIT_NO_DAEMON;
        }
        fprintf(stderr, "ipcgc: talking to ipcgcd at %s failed: %s\n", path, strerror(-r));
        return EXIT_FAIL;
}

void cli_print_json(json_object *j) {
        puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

const char *json_str(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        return json_object_get_string(v);
}

bool json_int(json_object *o, const char *key, int64_t *ret) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

int cli_judge(struct cli *cli, const struct config *config, unsigned types, struct inventory **ret_inv,
              struct proctab **ret_proctab, struct judgement **ret_judgements) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        struct judgement *js = NULL;
        int r;

        if (!cli->engine) {
                /* Root's runs teach the memory; others only read it. */
                r = engine_open(config, cli->paths.proc, geteuid() == 0, &cli->engine);
                if (r < 0) {
                        fprintf(stderr, "ipcgc: failed to read the memory of life: %s\n", strerror(-r));
                        return r;
                }
                if (cli->engine->memory_warning)
                        fprintf(stderr, "ipcgc: warning: %s\n", cli->engine->memory_warning);
        }
        r = cli_collect(cli, config, types, &inv, &pt);
        if (r < 0)
                return r;
        bool was_partial = cli->engine->sight.partial;
        r = engine_see(cli->engine, inv);
        if (r >= 0 && cli->engine->sight.partial && !was_partial)
                fprintf(stderr, "ipcgc: warning: no object without visible life is judged dead: %s\n",
                        cli->engine->sight.reason);
        time_t now = time(NULL);
        struct judge_context ctx = engine_context(cli->engine, pt, now);
        if (r >= 0)
                r = judge_inventory(&ctx, inv, &js);
        if (r < 0) {
                fprintf(stderr, "ipcgc: failed to judge objects: %s\n", strerror(-r));
                return r;
        }
        /* the types collected, as cli_collect chose them */
        r = engine_learn(cli->engine, inv, js, pt, types ? types : config->scan.types, now, 0);
        if (r == -ENOMEM) {
                judgements_free(js, inv->n_objects);
                return r;
        }
        if (r < 0)
                fprintf(stderr, "ipcgc: warning: could not save the memory of life in %s: %s\n",
                        config->daemon.state_dir, strerror(-r));
        *ret_judgements = js;
        *ret_inv = TAKE_PTR(inv);
        *ret_proctab = TAKE_PTR(pt);
        return 0;
}

void cli_reap_options(const struct cli *cli, struct reap_options *opt) {
        if (cli->engine)
                engine_reap_options(cli->engine, opt);
}

bool cli_no_arguments(int argc, char **argv, const char *command) {
        if (optind >= argc)
                return true;
        cli_usage_error("%s takes no arguments, got '%s'", command, argv[optind]);
        return false;
}

int cli_object_id(int argc, char **argv, const char *command, const char **ret_id) {
        char tname[8];
        int t;

        if (optind + 1 != argc) {
                cli_usage_error("%s takes one object ID, like shm:123 or mq:/name", command);
                return -EINVAL;
        }
        const char *id = argv[optind], *colon = strchr(id, ':');
        if (!colon || (size_t) (colon - id) >= sizeof(tname) || !colon[1]) {
                cli_usage_error("'%s' is not an object ID (TYPE:ID, like shm:123 or fifo:/tmp/x)", id);
                return -EINVAL;
        }
        memcpy(tname, id, (size_t) (colon - id));
        tname[colon - id] = 0;
        t = ipc_type_from_string(tname);
        if (t < 0) {
                cli_usage_error("unknown object type '%s'", tname);
                return -EINVAL;
        }
        *ret_id = id;
        return t;
}

bool cli_parse_types(const char *arg, unsigned *ret) {
        if (ipc_type_mask_parse(arg, ret) == 0)
                return true;
        cli_usage_error("invalid --types '%s' (shm msg sem mq pshm psem fifo, or all)", arg);
        return false;
}

int cli_parse_user(const char *s, uid_t *ret) {
        struct passwd *pw;
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (*s && !*end && errno == 0 && v < (uid_t) -1) {
                *ret = (uid_t) v;
                return 0;
        }
        pw = getpwnam(s);
        if (!pw)
                return -ESRCH;
        *ret = pw->pw_uid;
        return 0;
}

const char *cli_user_name(uid_t uid, char buf[static 16]) {
        /* A listing asks about the same few owners thousands of times. */
        static struct {
                uid_t uid;
                char *name;
        } cache[32];
        static size_t n_cache;

        for (size_t i = 0; i < n_cache; i++)
                if (cache[i].uid == uid)
                        return cache[i].name;

        struct passwd *pw = getpwuid(uid);
        if (pw && n_cache < sizeof(cache) / sizeof(cache[0])) {
                char *name = strdup(pw->pw_name);
                if (name) {
                        cache[n_cache].uid = uid;
                        cache[n_cache++].name = name;
                        return name;
                }
        }
        snprintf(buf, 16, "%u", (unsigned) uid);
        return buf;
}

int main(int argc, char **argv) {
        struct cli cli = {};
        int i;

        /* Options before the command apply to it. */
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        usage(stdout);
                        return EXIT_OK;
                }
                if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
                        printf("ipcgc %s\n", PACKAGE_VERSION);
                        return EXIT_OK;
                }
                if (strcmp(a, "--local") == 0)
                        cli.local = true;
                else if (strcmp(a, "--config") == 0 && i + 1 < argc)
                        cli.config_path = argv[++i];
                else if (strncmp(a, "--config=", 9) == 0)
                        cli.config_path = a + 9;
                else if (strcmp(a, "--socket") == 0 && i + 1 < argc)
                        cli.socket = argv[++i];
                else {
                        cli_usage_error("unknown option '%s'", a);
                        return EXIT_USAGE;
                }
        }
        if (i >= argc) {
                cli_usage_error("no command given");
                return EXIT_USAGE;
        }

        for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
                if (strcmp(argv[i], commands[c].name) == 0) {
                        int rc = commands[c].run(&cli, argc - i, argv + i);
                        engine_free(cli.engine);
                        return rc;
                }

        cli_usage_error("unknown command '%s'", argv[i]);
        return EXIT_USAGE;
}
