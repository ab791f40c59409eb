/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "memory.h"
#include "service.h"
#include "table.h"

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
        { "rm", cmd_rm, "remove orphaned objects by ID or key (--force: also PENDING, REPORTED, PROTECTED)" },
        { "archive", cmd_archive, "list the archive of removed objects" },
        { "restore", cmd_restore, "make an archived object again" },
        { "history", cmd_history, "the daemon's recent removals and skips" },
        { "reload", cmd_reload, "make the daemon re-read its configuration" },
        { "metrics", cmd_metrics, "Prometheus metrics (the daemon's, or --local)" },
        { "check-config", cmd_check_config, "validate the configuration and show its rules" },
};

static void usage(FILE *out) {
        fprintf(out,
                "Usage: ipcgc [OPTIONS] COMMAND [COMMAND OPTIONS]\n"
                "\n"
                "Find leaked System V and POSIX IPC objects and FIFOs.\n"
                "\n"
                "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(out, "  %-13s %s\n", commands[i].name, commands[i].help);
        fprintf(out,
                "\n"
                "Options for every command, before or after it:\n"
                "  --config FILE    read FILE instead of %s\n"
                "  --local          run the engine in this process instead of asking ipcgcd\n"
                "  --socket PATH    ask ipcgcd at PATH instead of the configured Socket=\n"
                "  --debug          say errors also by their Varlink name and parameters\n"
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

static bool common_option(struct cli *cli, int c, const char *arg) {
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
        case OPT_ALL_NAMESPACES:
                cli->all_namespaces = true;
                return true;
        case OPT_NAMESPACE:
                cli->namespace_sel = arg;
                return true;
        case OPT_DEBUG:
                cli->debug = true;
                return true;
        }
        return false;
}

/* Says what is wrong with the option getopt_long stopped at, as it was
 * typed ("--bogus", "-x"), without an "=VALUE". */
static void bad_option(const char *command, int c, char **argv, const struct option *longopts) {
        const char *arg = optind > 0 ? argv[optind - 1] : "";
        const char *where = command ? " of " : "", *cmd = command ? command : "";

        if (optopt && optopt < 0x100 && !(arg[0] == '-' && arg[1] == '-')) {
                if (c == ':')
                        cli_usage_error("option '-%c'%s%s needs a value", optopt, where, cmd);
                else
                        cli_usage_error("unknown option '-%c'%s%s", optopt, where, cmd);
                return;
        }
        int n = (int) strcspn(arg, "=");
        /* getopt_long takes a prefix of a name ("--loc" for --local). */
        bool known = false;
        for (size_t i = 0; n > 2 && arg[1] == '-' && longopts[i].name && !known; i++)
                known = strncmp(longopts[i].name, arg + 2, (size_t) n - 2) == 0;
        if (c == ':')
                cli_usage_error("option '%.*s'%s%s needs a value", n, arg, where, cmd);
        else if (known && arg[n])
                cli_usage_error("option '%.*s'%s%s takes no value", n, arg, where, cmd);
        else
                cli_usage_error("unknown option '%.*s'%s%s", n, arg, where, cmd);
}

/* getopt_long, quiet: ":" first so that a missing value is told apart,
 * and "V" for --version, which every command takes. */
static int next_option(int argc, char **argv, const char *shortopts, const struct option *longopts) {
        char buf[128];
        const char *order = "";

        if (*shortopts == '+') {
                order = "+";
                shortopts++;
        }
        if (snprintf(buf, sizeof(buf), "%s:%sV", order, shortopts) >= (int) sizeof(buf))
                return '?';
        opterr = 0;
        optopt = 0;
        return getopt_long(argc, argv, buf, longopts, NULL);
}

int cli_option(struct cli *cli, int argc, char **argv, const char *shortopts, const struct option *longopts,
               struct table_options *topts, void (*help)(void), int *ret_exit) {
        int c;

        while ((c = next_option(argc, argv, shortopts, longopts)) >= 0) {
                if (common_option(cli, c, optarg))
                        continue;
                if (topts && table_option(c, topts)) {
                        cli->json = topts->json;
                        continue;
                }
                if (c == 'h' && help) {
                        help();
                        *ret_exit = EXIT_OK;
                        return -1;
                }
                if (c == 'V') {
                        printf("ipcgc %s\n", PACKAGE_VERSION);
                        *ret_exit = EXIT_OK;
                        return -1;
                }
                if (c == '?' || c == ':') {
                        bad_option(argv[0], c, argv, longopts);
                        *ret_exit = EXIT_USAGE;
                        return -1;
                }
                return c;
        }
        return 0;
}

json_object *cli_names_array(unsigned mask, bool verdicts) {
        json_object *a = json_object_new_array();
        for (int i = 0; a && i < (verdicts ? _VERDICT_MAX : _IPC_TYPE_MAX); i++)
                if (mask & (1u << i))
                        json_object_array_add(a, json_object_new_string(verdicts ? verdict_to_string(i)
                                                                                 : ipc_type_to_string(i)));
        return a;
}

void cli_print_counts(json_object *counts, const char *first, const char *last) {
        const char *sep = first;
        json_object_object_foreach(counts, name, n) {
                if (json_object_get_int64(n) == 0)
                        continue;
                printf("%s%" PRId64 " %s", sep, json_object_get_int64(n), name);
                sep = ", ";
        }
        if (sep != first)
                fputs(last, stdout);
}

/* A user other than root archives what a --local run removes in an archive
 * of their own (root's is closed to them): $XDG_STATE_HOME/ipcgc/archive,
 * or ~/.local/state/ipcgc/archive.  An
 * ArchiveDir= the configuration names stays as it is. */
static int user_archive_dir(struct config *c) {
        const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        char *dir = NULL;

        if (geteuid() == 0 || c->daemon.archive_dir_set)
                return 0;
        int n;
        if (state && state[0] == '/')
                n = asprintf(&dir, "%s/ipcgc/archive", state);
        else if (home && home[0] == '/')
                n = asprintf(&dir, "%s/.local/state/ipcgc/archive", home);
        else
                return 0; /* nowhere of theirs: root's is refused, and says why */
        if (n < 0)
                return -ENOMEM;
        /* Made (with its parents) only when something is archived. */
        free(c->daemon.archive_dir);
        c->daemon.archive_dir = dir;
        return 0;
}

int cli_load_config(struct cli *cli, const struct config **ret) {
        _cleanup_free_ char *error = NULL;
        int r;

        if (!cli->config) {
                /* The file, then the conf.d/ beside it; one named with
                 * --config must exist, the default may not. */
                r = config_load(cli->config_path ?: DEFAULT_CONFIG_PATH,
                                CONFIG_DROPINS | (cli->config_path ? CONFIG_MUST_EXIST : 0), &cli->config, &error);
                if (r < 0) {
                        if (error)
                                fprintf(stderr, "ipcgc: %s\n", error);
                        else
                                fprintf(stderr, "ipcgc: failed to load config: %s\n", strerror(-r));
                        return r;
                }
                r = user_archive_dir(cli->config);
                if (r < 0)
                        return r;
        }
        *ret = cli->config;
        return 0;
}

/* Where ipcgcd answers: --socket, or Socket= from the configuration, read
 * for that alone: a broken rule in some drop-in is the daemon's to refuse
 * (and reload says so), not a reason to refuse asking it. */
static int socket_path(const struct cli *cli, char **ret) {
        _cleanup_free_ char *warning = NULL;
        int r;

        if (cli->socket) {
                *ret = strdup(cli->socket);
                return *ret ? 0 : -ENOMEM;
        }
        r = config_load_socket(cli->config_path ?: DEFAULT_CONFIG_PATH,
                               CONFIG_DROPINS | (cli->config_path ? CONFIG_MUST_EXIST : 0), ret, &warning);
        if (r < 0)
                fprintf(stderr, "ipcgc: cannot read %s: %s\n", cli->config_path ?: DEFAULT_CONFIG_PATH, strerror(-r));
        else if (warning)
                fprintf(stderr, "ipcgc: warning: %s\n", warning);
        return r;
}

/* What a --local run could not see or keep, said once per engine. */
static void local_warnings(struct cli *cli, struct cli_engine *ce) {
        const struct inventory *inv = engine_last(ce->engine).inv;
        int save_error = engine_save_error(ce->engine);
        const struct ipcns *ns = ce->paths.ns;
        char where[IPCNS_NAME_MAX + 48] = "";

        if (ce->warned)
                return;
        ce->warned = true;
        /* Said of which namespace, when there are others. */
        if (ns)
                snprintf(where, sizeof(where), "IPC namespace %" PRIu64 "%s%s%s: ", ns->ino, ns->name ? " (" : "",
                         strempty(ns->name), ns->name ? ")" : "");
        for (size_t i = 0; inv && i < inv->n_warnings; i++)
                fprintf(stderr, "ipcgc: warning: %s%s\n", where, inv->warnings[i]);
        if (inv && inv->n_warnings_dropped)
                fprintf(stderr, "ipcgc: warning: %s%zu more warnings not shown\n", where, inv->n_warnings_dropped);
        if (engine_sight(ce->engine)->partial)
                fprintf(stderr, "ipcgc: warning: %sno object without visible life is judged dead: %s\n", where,
                        engine_sight(ce->engine)->reason);
        if (save_error)
                fprintf(stderr, "ipcgc: warning: could not save the memory of life in %s: %s\n",
                        (ce->ns_config ? ce->ns_config : cli->config)->daemon.state_dir, strerror(-save_error));
}

void cli_engine_done(struct cli_engine *ce) {
        /* The engine saves with its configuration: it goes first.  That
         * is a shallow copy: what it points to is cli->config's. */
        ce->engine = engine_free(ce->engine);
        free(ce->ns_config);
        ce->ns_config = NULL;
        free(ce->ns_state_dir);
        ce->ns_state_dir = NULL;
        ce->warned = ce->judged = false;
}

int cli_engine_make(struct cli *cli, const struct ipcns *ns, struct cli_engine *ce) {
        const struct config *config;
        int r;

        if (cli_load_config(cli, &config) < 0)
                return -EINVAL;
        cli_engine_done(ce);
        ce->paths = cli->paths;
        ce->paths.ns = ns;
        if (ns && !ns->self) {
                /* Another namespace's memory of life is its own
                 * (memory_namespace_dir()). */
                ce->ns_config = malloc(sizeof(*ce->ns_config));
                if (!ce->ns_config)
                        return -ENOMEM;
                *ce->ns_config = *cli->config;
                ce->ns_config->daemon.state_dir = NULL;
                if (config->daemon.state_dir) {
                        r = memory_namespace_dir(config->daemon.state_dir, ns->ino, &ce->ns_state_dir);
                        if (r < 0)
                                return r;
                        /* Saving makes the last directory only. */
                        if (geteuid() == 0)
                                (void) mkdir(config->daemon.state_dir, 0755);
                        ce->ns_config->daemon.state_dir = ce->ns_state_dir;
                }
                config = ce->ns_config;
        }
        /* Root's runs teach the memory; others only read it. */
        r = engine_new(config, &ce->paths, geteuid() == 0 ? ENGINE_SAVE : 0, &ce->engine);
        if (r < 0)
                return r;
        _cleanup_free_ char *warning = engine_take_warning(ce->engine);
        if (warning)
                fprintf(stderr, "ipcgc: warning: %s\n", warning);
        return 0;
}

/* The reply message to METHOD from an engine in this process. */
static int local_message(struct cli *cli, const char *method, json_object *params, char **ret, size_t *ret_len) {
        struct cli_engine *ce = cli->current ? cli->current : &cli->one;
        struct service_stream *st = NULL;
        json_object *reply = NULL;
        int r;

        if (!ce->engine) {
                r = cli_engine_make(cli, cli->paths.ns, ce);
                if (r == -EINVAL)
                        return r; /* the configuration, said */
                if (r < 0) {
                        fprintf(stderr, "ipcgc: failed to read the memory of life: %s\n", strerror(-r));
                        return r;
                }
        }
        const struct config *config = ce->ns_config ? ce->ns_config : cli->config;
        const struct service service = {
                .engine = ce->engine,
                .config = config,
                .proc_root = cli->paths.proc ? cli->paths.proc : "/proc",
                .sysvipc = cli->paths.sysvipc,
                .dry_run = config->daemon.dry_run,
                .judged = ce->judged,
        };
        ce->judged = false; /* for this call only */
        /* With this process's own rights: what it cannot do, the kernel
         * refuses it. */
        const struct service_caller caller = { .uid = geteuid(), .admin = true };
        r = service_call(&service, &caller, method, params, &reply, &st);
        if (r == -EOPNOTSUPP) {
                cli_usage_error("%s asks the daemon; there is nothing to ask with --local", method);
                return r;
        }
        if (r < 0)
                return r;
        if (engine_last(ce->engine).inv)
                local_warnings(cli, ce);
        if (reply) {
                const char *text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
                                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
                *ret = text ? strdup(text) : NULL;
                *ret_len = *ret ? strlen(*ret) : 0;
                json_object_put(reply);
                return *ret ? 0 : -ENOMEM;
        }
        /* A listing, drained the way the daemon writes it to its socket. */
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        for (bool done = false; !done;) {
                char *piece;
                size_t n;
                r = service_stream_next(st, &piece, &n, &done);
                if (r < 0)
                        break;
                char *b = realloc(buf, len + n + 1);
                if (!b) {
                        free(piece);
                        r = -ENOMEM;
                        break;
                }
                buf = b;
                memcpy(buf + len, piece, n);
                len += n;
                buf[len] = 0;
                free(piece);
        }
        service_stream_free(st);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static const char *param_str(json_object *error, const char *key) {
        json_object *params = NULL;
        if (!json_object_object_get_ex(error, "parameters", &params))
                return NULL;
        return json_str(params, key);
}

/* What a method does, for "permission denied: ... needs" sentences. */
static const char *method_act(const char *method) {
        static const struct {
                const char *method, *act;
        } acts[] = {
                { "io.ipcgc.Remove", "removing an object" },
                { "io.ipcgc.Sweep", "a sweep that removes (not --dry-run)" },
                { "io.ipcgc.Restore", "restoring an object" },
                { "io.ipcgc.Reload", "reloading the daemon" },
                { "io.ipcgc.List", "listing other users' objects" },
        };
        for (size_t i = 0; method && i < ELEMENTSOF(acts); i++)
                if (strcmp(method, acts[i].method) == 0)
                        return acts[i].act;
        return NULL;
}

char *cli_error_sentence(json_object *error) {
        const char *name = json_str(error, "error");
        char *s = NULL;
        int n = -1;

#define P(key) strna(param_str(error, key))
        if (!name)
                n = asprintf(&s, "malformed reply from ipcgcd");
        else if (strcmp(name, "io.ipcgc.ObjectInUse") == 0) {
                const char *verdict = P("verdict"), *reason = P("reason");
                bool forced = strcmp(verdict, "LIVE") != 0 && strcmp(verdict, "UNKNOWN") != 0;
                /* "PENDING, idle 3m of MinAge 15m": the verdict says orphan already. */
                if (strncmp(reason, "orphan, ", 8) == 0)
                        reason += 8;
                n = asprintf(&s, "%s is not removable: %s, %s%s", P("id"), verdict, reason,
                             forced ? " (--force removes it all the same)" : "");
        } else if (strcmp(name, "io.ipcgc.NoSuchNamespace") == 0) {
                json_object *params = NULL, *v = NULL;
                uint64_t ino = json_object_object_get_ex(error, "parameters", &params) &&
                                               json_object_object_get_ex(params, "ipcns", &v)
                                       ? json_object_get_uint64(v)
                                       : 0;
                n = asprintf(&s, "no IPC namespace %" PRIu64 " (gone, or never there)", ino);
        } else if (strcmp(name, "io.ipcgc.NoSuchObject") == 0)
                n = asprintf(&s, "there is no object %s (gone, or not yours to see); 'ipcgc list' shows what there is",
                             P("id"));
        else if (strcmp(name, "io.ipcgc.PermissionDenied") == 0) {
                const char *act = method_act(param_str(error, "method"));
                if (act)
                        n = asprintf(&s, "permission denied: %s needs root or the AdminGroup= group", act);
                else
                        n = asprintf(&s, "permission denied: %s needs root or the AdminGroup= group", P("method"));
        } else if (strcmp(name, "io.ipcgc.Failed") == 0)
                n = asprintf(&s, "ipcgcd failed: %s", P("message"));
        else if (strcmp(name, "io.ipcgc.ConfigError") == 0)
                n = asprintf(&s, "the daemon kept its configuration: %s", P("message"));
        else if (strcmp(name, "io.ipcgc.NoSuchEntry") == 0)
                n = asprintf(&s, "there is no archive entry %s; 'ipcgc archive' lists them", P("entry"));
        else if (strcmp(name, "io.ipcgc.BadEntry") == 0)
                n = asprintf(&s, "archive entry %s cannot be restored: %s", P("entry"), P("message"));
        else if (strcmp(name, "io.ipcgc.ObjectExists") == 0)
                n = asprintf(&s, "archive entry %s is not restored: %s", P("entry"), P("holder"));
        else if (strcmp(name, "io.ipcgc.TooManyConnections") == 0)
                n = asprintf(&s, "ipcgcd is busy (%s); try again", P("reason"));
        else if (strcmp(name, "org.varlink.service.InvalidParameter") == 0)
                n = asprintf(&s, "the %s given is not valid (ipcgcd refused it)", P("parameter"));
        else if (strcmp(name, "org.varlink.service.MethodNotFound") == 0)
                n = asprintf(&s, "ipcgcd does not know %s (is it of another version than this ipcgc?)", P("method"));
#undef P
        if (n >= 0)
                return s;
        /* One this version does not know: its name and what it carries. */
        json_object *params = NULL;
        const char *sep = ": ";
        size_t len;
        FILE *f = open_memstream(&s, &len);
        if (!f)
                return NULL;
        fprintf(f, "ipcgcd answered %s", name);
        if (json_object_object_get_ex(error, "parameters", &params) && json_object_is_type(params, json_type_object)) {
                json_object_object_foreach(params, key, val) {
                        fprintf(f, "%s%s=%s", sep, key, json_object_get_string(val));
                        sep = ", ";
                }
        }
        fclose(f);
        return s;
}

void cli_print_error(const struct cli *cli, json_object *error) {
        _cleanup_free_ char *sentence = cli_error_sentence(error);

        fprintf(stderr, "ipcgc: %s\n", strna(sentence));
        if (cli->debug)
                fprintf(stderr, "ipcgc: debug: %s\n",
                        json_object_to_json_string_ext(error, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (cli->json) {
                /* The reply as it came, and what it means. */
                json_object *copy = NULL;
                if (json_object_deep_copy(error, &copy, NULL) == 0 && json_object_is_type(copy, json_type_object)) {
                        json_object_object_add(copy, "message", sentence ? json_object_new_string(sentence) : NULL);
                        cli_print_json(copy);
                }
                json_object_put(copy);
        }
}

bool json_flag(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
               json_object_get_boolean(v);
}

static const char ok_prefix[] = "{\"parameters\":";

/* The reply message to METHOD as it came, or the exit code after saying
 * why there is none. */
static int call_message(struct cli *cli, const char *method, json_object *params, char **ret, size_t *ret_len) {
        _cleanup_(json_object_putp) json_object *taken = params;
        _cleanup_free_ char *path = NULL;
        int r;

        if (cli->local) {
                r = local_message(cli, method, params, ret, ret_len);
                if (r < 0) {
                        if (r != -EINVAL && r != -EOPNOTSUPP)
                                fprintf(stderr, "ipcgc: %s failed: %s\n", method, strerror(-r));
                        return r == -EOPNOTSUPP ? EXIT_USAGE : EXIT_FAIL;
                }
                return EXIT_OK;
        }
        if (socket_path(cli, &path) < 0)
                return EXIT_FAIL;
        r = client_call_text(path, method, params, ret, ret_len);
        /* A List is written from the judgement as it is read; a sweep
         * that replaces the judgement meanwhile cuts it off.  Asking
         * again gets the new one. */
        for (int again = 0; r == -ECONNRESET && strcmp(method, "io.ipcgc.List") == 0 && again < 3; again++)
                r = client_call_text(path, method, params, ret, ret_len);
        if (r == -ENOENT || r == -ECONNREFUSED || r == -ENOTSOCK || r == -ENOTDIR) {
                fprintf(stderr, "ipcgc: cannot reach ipcgcd at %s: %s\n"
                                "ipcgc: is it running?  --local runs the engine in this process instead.\n",
                        path, strerror(-r));
                return EXIT_NO_DAEMON;
        }
        if (r < 0) {
                fprintf(stderr, "ipcgc: talking to ipcgcd at %s failed: %s\n", path, strerror(-r));
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

/* Both write a reply that succeeded as {"parameters":...}: what follows
 * is handed on as it is. */
static bool is_success(const char *msg, size_t len) {
        return len >= sizeof(ok_prefix) && memcmp(msg, ok_prefix, sizeof(ok_prefix) - 1) == 0 && msg[len - 1] == '}';
}

/* An error message parsed, or one that says it was malformed. */
static json_object *parse_error(const char *msg) {
        json_object *e = json_tokener_parse(msg);
        if (e && json_object_is_type(e, json_type_object))
                return e;
        json_object_put(e);
        return json_object_new_object();
}

/* The reply to METHOD: EXIT_OK with the text of its parameters in *RET
 * (*RET_LEN bytes, NUL-terminated), EXIT_FAIL with an error reply in
 * *RET_ERROR, or the exit code after saying why there is none. */
static int call_reply(struct cli *cli, const char *method, json_object *params, char **ret, size_t *ret_len,
                      json_object **ret_error) {
        _cleanup_free_ char *msg = NULL;
        size_t len = 0;
        int r = call_message(cli, method, params, &msg, &len);
        if (r != EXIT_OK)
                return r;
        if (!is_success(msg, len)) {
                *ret_error = parse_error(msg);
                return EXIT_FAIL;
        }
        len -= sizeof(ok_prefix); /* the prefix and the closing brace */
        memmove(msg, msg + sizeof(ok_prefix) - 1, len);
        msg[len] = 0;
        *ret = TAKE_PTR(msg);
        *ret_len = len;
        return EXIT_OK;
}

int cli_call_text(struct cli *cli, const char *method, json_object *params, char **ret, size_t *ret_len) {
        _cleanup_(json_object_putp) json_object *error = NULL;
        int r = call_reply(cli, method, params, ret, ret_len, &error);
        if (error && cli->held_error) {
                /* Said, or not, by whoever held it (a namespace gone
                 * meanwhile is no error). */
                json_object_put(*cli->held_error);
                *cli->held_error = TAKE_PTR(error);
        } else if (error)
                cli_print_error(cli, error);
        return r;
}

static int parse_params(const char *method, const char *text, json_object **ret) {
        json_object *p = json_tokener_parse(text);
        if (!p || !json_object_is_type(p, json_type_object)) {
                json_object_put(p);
                fprintf(stderr, "ipcgc: malformed reply to %s\n", method);
                return EXIT_FAIL;
        }
        *ret = p;
        return EXIT_OK;
}

int cli_call(struct cli *cli, const char *method, json_object *params, json_object **ret) {
        return cli_call_or_error(cli, method, params, ret, NULL);
}

int cli_call_or_error(struct cli *cli, const char *method, json_object *params, json_object **ret,
                      json_object **ret_error) {
        _cleanup_(json_object_putp) json_object *error = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = call_reply(cli, method, params, &text, &len, &error);
        if (error && ret_error)
                *ret_error = TAKE_PTR(error);
        else if (error)
                cli_print_error(cli, error);
        if (r != EXIT_OK)
                return r;
        return parse_params(method, text, ret);
}

int cli_call_member(struct cli *cli, const char *method, json_object *params, const char *member, json_object **ret) {
        json_object *reply = NULL, *m;
        int r = cli_call(cli, method, params, &reply);
        if (r != EXIT_OK)
                return r;
        *ret = json_object_object_get_ex(reply, member, &m) && !json_object_is_type(m, json_type_null)
                       ? json_object_get(m)
                       : NULL;
        json_object_put(reply);
        if (!*ret) {
                fprintf(stderr, "ipcgc: malformed reply to %s: no %s\n", method, member);
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

void cli_done(struct cli *cli) {
        cli_engine_done(&cli->one);
        cli->paths.ns = NULL;
        cli->namespaces = ipcns_list_free(cli->namespaces);
        config_free(cli->config);
        cli->config = NULL;
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

bool cli_no_arguments(int argc, char **argv, const char *command) {
        if (optind >= argc)
                return true;
        cli_usage_error("%s takes no arguments, got '%s'", command, argv[optind]);
        return false;
}

int cli_parse_object_id(const char *id, char **ret_id) {
        const char *colon = strchr(id, ':');
        char tname[8];
        int t;

        if (!colon || (size_t) (colon - id) >= sizeof(tname) || !colon[1]) {
                _cleanup_free_ char *shown = ipc_escape_alloc(id, IPC_ESCAPE_TEXT);
                cli_usage_error("'%s' is not an object ID (TYPE:ID, like shm:123 or fifo:/tmp/x)", strna(shown));
                return -EINVAL;
        }
        memcpy(tname, id, (size_t) (colon - id));
        tname[colon - id] = 0;
        t = ipc_type_from_string(tname);
        if (t < 0) {
                _cleanup_free_ char *shown = ipc_escape_alloc(tname, IPC_ESCAPE_TEXT);
                cli_usage_error("unknown object type '%s' (shm msg sem mq pshm psem fifo)", strna(shown));
                return -EINVAL;
        }
        if (ipc_type_is_sysv(t)) {
                *ret_id = strdup(id);
                return *ret_id ? t : -ENOMEM;
        }
        /* A name as `ipcgc list` prints it, escaped, or typed raw: either
         * is sent on in the one escaped form (see ipc_escape()), which is
         * what the daemon's lookup and its UTF-8-only protocol take. */
        _cleanup_free_ char *name = NULL, *escaped = NULL;
        if (ipc_name_unescape(colon + 1, &name) < 0) {
                _cleanup_free_ char *shown = ipc_escape_alloc(id, IPC_ESCAPE_TEXT);
                cli_usage_error("'%s' is not an object ID: a backslash in a name is \\\\ or \\xHH (not \\x00)",
                                strna(shown));
                return -EINVAL;
        }
        escaped = ipc_escape_alloc(name, IPC_ESCAPE_NAME);
        if (!escaped || asprintf(ret_id, "%s:%s", tname, escaped) < 0) {
                cli_usage_error("out of memory");
                return -ENOMEM;
        }
        return t;
}

int cli_object_id(int argc, char **argv, const char *command, const char **ret_id) {
        /* Kept for the rest of the run: commands hold on to it. */
        static char *canonical;

        if (optind + 1 != argc) {
                cli_usage_error("%s takes one object ID, like shm:123 or mq:/name", command);
                return -EINVAL;
        }
        free(canonical);
        canonical = NULL;
        int t = cli_parse_object_id(argv[optind], &canonical);
        if (t >= 0)
                *ret_id = canonical;
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
        static const struct option options[] = {
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        struct cli cli = {};
        int c;

        /* The user's locale, so that a name in printable UTF-8 is printed as
         * it is (libsmartcols escapes what the locale cannot show) and
         * widths are counted in cells.  Numbers stay C: metrics and JSON
         * are read by programs, which want 0.5, not 0,5. */
        (void) setlocale(LC_ALL, "");
        (void) setlocale(LC_NUMERIC, "C");
        /* Options before the command apply to it, the common ones only: "+"
         * stops at the command, whose own options follow it. */
        while ((c = next_option(argc, argv, "+h", options)) >= 0) {
                if (common_option(&cli, c, optarg))
                        continue;
                if (c == 'h') {
                        usage(stdout);
                        return EXIT_OK;
                }
                if (c == 'V') {
                        printf("ipcgc %s\n", PACKAGE_VERSION);
                        return EXIT_OK;
                }
                bad_option(NULL, c, argv, options);
                return EXIT_USAGE;
        }
        if (optind >= argc) {
                cli_usage_error("no command given");
                return EXIT_USAGE;
        }
        int i = optind;
        /* The command's getopt starts afresh, at its own argv[1]. */
        optind = 0;

        for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                if (strcmp(argv[i], commands[k].name) == 0) {
                        int rc = commands[k].run(&cli, argc - i, argv + i);
                        cli_done(&cli);
                        return rc;
                }

        _cleanup_free_ char *shown = ipc_escape_alloc(argv[i], IPC_ESCAPE_TEXT);
        cli_usage_error("unknown command '%s'", strna(shown));
        return EXIT_USAGE;
}
