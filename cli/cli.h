/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include <json-c/json.h>

#include "collect.h"
#include "config.h"
#include "engine.h"
#include "judge.h"
#include "service.h"

/* Exit codes: a usage error is told apart from a failure at run time. */
enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
        EXIT_NO_DAEMON = 3, /* ipcgcd is not there to answer: try --local */
};

#define DEFAULT_CONFIG_PATH SYSCONFDIR "/ipcgc/ipcgc.conf"

/* Options every command takes, and what --local runs. */
/* An engine of --local, and what it judges with. */
struct cli_engine {
        struct collect_paths paths; /* its own: the engine keeps a pointer to them */
        /* Another namespace's configuration: the same (a shallow copy of
         * cli->config), but for a memory of life of its own, StateDir= as
         * memory_namespace_dir() names it.  NULL: cli->config. */
        struct config *ns_config;
        char *ns_state_dir;
        struct engine *engine;
        bool warned; /* the engine's warnings were said */
        bool judged; /* judged for its next call just now (struct service's judged) */
};

struct cli {
        const char *config_path; /* NULL: DEFAULT_CONFIG_PATH, and a missing one is fine */
        bool local;
        bool debug; /* --debug: error replies also by their Varlink name and parameters */
        bool json;  /* -J was given: an error reply is also printed as JSON on stdout */
        const char *socket; /* --socket: overrides [Daemon] Socket= */
        struct collect_paths paths;
        /* --local: the configuration and the engine, opened by the first
         * call (of PATHS, and PATHS.ns as it is then); CURRENT: the engine
         * of the call, when not that one (cli_each_namespace's). */
        struct config *config;
        struct cli_engine one;
        struct cli_engine *current;
        /* --all-namespaces / --namespace: the namespaces found. */
        bool all_namespaces;
        const char *namespace_sel;
        struct ipcns_list *namespaces;
        /* Not NULL: an error reply is kept here instead of said, for the
         * caller to say or not. */
        json_object **held_error;
        /* A sweep of several namespaces is one sweep: MaxRemovalsPerSweep=
         * is shared by them (BUDGET set), REMOVALS_LEFT of it left; the
         * namespaces not swept for want of it are counted. */
        bool budget;
        unsigned removals_left;
        size_t namespaces_not_swept;
};

enum {
        OPT_CONFIG = 0x100,
        OPT_LOCAL,
        OPT_SYSVIPC,
        OPT_PROC,
        OPT_SOCKET,
        OPT_ALL_NAMESPACES,
        OPT_NAMESPACE,
        OPT_DEBUG,
};

/* The options of the commands that look into other IPC namespaces. */
#define CLI_NAMESPACE_LONG_OPTIONS                                                                 \
        { "all-namespaces", no_argument, NULL, OPT_ALL_NAMESPACES },                               \
                { "namespace", required_argument, NULL, OPT_NAMESPACE }

/* The long options every command shares; commands append their own. */
#define CLI_COMMON_LONG_OPTIONS                                                                    \
        { "config", required_argument, NULL, OPT_CONFIG }, { "local", no_argument, NULL, OPT_LOCAL }, \
                { "sysvipc-dir", required_argument, NULL, OPT_SYSVIPC },                          \
                { "proc-dir", required_argument, NULL, OPT_PROC },                                 \
                { "socket", required_argument, NULL, OPT_SOCKET },                                \
                { "debug", no_argument, NULL, OPT_DEBUG }, { "help", no_argument, NULL, 'h' },           \
                { "version", no_argument, NULL, 'V' }

struct table_options;
/*
 * The next option of a command: the common ones, -r, -n and -J (into
 * TOPTS, when not NULL), -h (HELP is printed; without HELP, -h is the
 * command's), -V and mistakes (said as a sentence with the --help hint,
 * never as getopt's "list: unrecognized option") are dealt with here.
 * Returns
 * the option character for the command to handle, 0 when there are no
 * more, or -1 when the command is to exit with *RET_EXIT (after --help, or
 * after getopt said what was wrong).
 */
int cli_option(struct cli *cli, int argc, char **argv, const char *shortopts, const struct option *longopts,
               struct table_options *topts, void (*help)(void), int *ret_exit);
/* ["shm", "mq"] for a mask of IPC_TYPE_BIT()s, or with VERDICTS of 1 << verdict. */
json_object *cli_names_array(unsigned mask, bool verdicts);
/* " (3 LIVE, 1 ORPHAN)" or with FIRST ": ", the non-zero counts of an object of counts. */
void cli_print_counts(json_object *counts, const char *first, const char *last);
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The configuration with its rules, loaded once (check-config, and what
 * --local runs with); a bad file is said as FILE:LINE. */
int cli_load_config(struct cli *cli, const struct config **ret);

/*
 * Calls METHOD with PARAMS (taken; may be NULL): on ipcgcd at --socket or the configured Socket=
 * (which is all that is read of the configuration then), or, with --local,
 * on an engine in this process through the same service (lib/service.h),
 * so both give the same reply.  Returns EXIT_OK with the reply's parameters
 * in *RET, or prints why not and returns the exit code: EXIT_NO_DAEMON when
 * nothing answers, EXIT_FAIL for an error reply.
 */
int cli_call(struct cli *cli, const char *method, json_object *params, json_object **ret);
/* As cli_call, but with RET_ERROR an error reply is not printed: EXIT_FAIL
 * with the whole error message ({"error": NAME, "parameters": {...}}) in
 * *RET_ERROR, for the caller to report with cli_error_sentence() or in its
 * own JSON. */
int cli_call_or_error(struct cli *cli, const char *method, json_object *params, json_object **ret,
                      json_object **ret_error);
/* What an error reply means, as a sentence for a person ("shm:4 is not
 * removable: PENDING, ..."); malloc'd, NULL on ENOMEM. */
char *cli_error_sentence(json_object *error);
/* Says ERROR on stderr as a sentence; with --debug, also its name and
 * parameters; with -J, also as JSON on stdout. */
void cli_print_error(const struct cli *cli, json_object *error);
/* As cli_call, the parameters as the text they came as (*RET_LEN bytes,
 * NUL-terminated): a listing printed as it came, not parsed and printed
 * again. */
int cli_call_text(struct cli *cli, const char *method, json_object *params, char **ret, size_t *ret_len);
/* As cli_call, MEMBER of the reply's parameters in *RET; says so and
 * returns EXIT_FAIL when the reply has none. */
int cli_call_member(struct cli *cli, const char *method, json_object *params, const char *member, json_object **ret);
void cli_done(struct cli *cli);

/* Prints JSON the way every command's -J does. */
void cli_print_json(json_object *j);
/* Field readers for rendering replies: NULL / false when absent or null. */
const char *json_str(json_object *o, const char *key);
bool json_int(json_object *o, const char *key, int64_t *ret);
bool json_flag(json_object *o, const char *key);

/* After getopt: false (after saying so) when arguments are left over. */
bool cli_no_arguments(int argc, char **argv, const char *command);

/* After getopt: exactly one argument, an object ID ("shm:123", "fifo:/x").
 * Returns its type, or -EINVAL after saying what is wrong. */
int cli_object_id(int argc, char **argv, const char *command, const char **ret_id);

/* One object ID ARG, in the form sent on (a name's escapes made
 * canonical), malloc'd in *RET_ID.  Returns its type, or -EINVAL after
 * saying what is wrong. */
int cli_parse_object_id(const char *arg, char **ret_id);

/* -t TYPES: false (after saying why) when ARG names no valid types. */
bool cli_parse_types(const char *arg, unsigned *ret);

/* A user name or a numeric uid. */
int cli_parse_user(const char *s, uid_t *ret);
/* A user's name, or the uid as text when it has none; points into BUF or a cache. */
const char *cli_user_name(uid_t uid, char buf[static 16]);

/* Makes CE's engine, of the namespace NS (NULL: the own, as without
 * namespaces) with its configuration.  Says nothing of a failure. */
int cli_engine_make(struct cli *cli, const struct ipcns *ns, struct cli_engine *ce);
/* Frees CE's engine (which saves what its memory learnt) and the rest. */
void cli_engine_done(struct cli_engine *ce);

/*
 * --all-namespaces or --namespace: calls METHOD with PARAMS (not taken) on an
 * engine of each namespace selected in turn (--local only, for now), and
 * hands EACH its reply's parameters as text.  With --local the engines
 * are all made first and, for a List, Sweep, Audit or Explain, judged at
 * once, with one pass over /proc (engine_judge_many); each call answers
 * from that.  A namespace gone before it could be judged is said and
 * skipped.  Returns EXIT_OK, or the first
 * failure's exit code after the rest were tried.
 */
int cli_each_namespace(struct cli *cli, const char *method, json_object *params,
                       int (*each)(struct cli *cli, const struct ipcns *ns, const char *text, size_t len,
                                   void *userdata),
                       void *userdata);
/* Is a namespace selection asked for (and when so, is it one this
 * command can do: false after saying why)? */
bool cli_namespaces_wanted(struct cli *cli, bool *ret_ok);
/* "ipc:INO/TYPE:ID": selects namespace INO for the call (--local), and
 * returns 1, or (through the daemon, which finds it from the ID) 2; 0 for
 * a plain ID; <0 after saying why not. */
int cli_namespace_of_id(struct cli *cli, const char *id);
/* The namespace the archive entry ENTRY was removed from, selected for
 * the call (--local) when it is another than this one and still there:
 * the same inode and the same name, since a later namespace may have the
 * inode again.  EXIT_OK (nothing selected for an entry of this namespace,
 * or one that does not read: the call says why), or the exit code after
 * saying why not. */
int cli_namespace_of_entry(struct cli *cli, const char *entry);
/* cli_object_id(), also for "ipc:INO/TYPE:ID" (which selects namespace
 * INO, see cli_namespace_of_id): *RET_ID in the one form the engine takes.
 * Returns EXIT_OK, or the exit code after saying why not. */
int cli_object_id_any(struct cli *cli, int argc, char **argv, const char *command, const char **ret_id);
/* cli_parse_object_id(), also for "ipc:INO/TYPE:ID" (the part after the
 * prefix as an ID like any other); selects nothing. */
int cli_parse_object_id_any(const char *arg, char **ret_id);

int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_sweep(struct cli *cli, int argc, char **argv);
int cmd_explain(struct cli *cli, int argc, char **argv);
int cmd_check_config(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_reload(struct cli *cli, int argc, char **argv);
int cmd_metrics(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_archive(struct cli *cli, int argc, char **argv);
int cmd_restore(struct cli *cli, int argc, char **argv);
