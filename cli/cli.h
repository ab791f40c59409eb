/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>

#include "collect.h"
#include "config.h"
#include "judge.h"

/* Exit codes: a usage error is told apart from a failure at run time. */
enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
};

#define DEFAULT_CONFIG_PATH SYSCONFDIR "/ipcgc/ipcgc.conf"

/* Options every command takes. */
struct cli {
        const char *config_path; /* NULL: DEFAULT_CONFIG_PATH, and a missing one is fine */
        bool local;
        struct collect_paths paths;
};

enum {
        OPT_CONFIG = 0x100,
        OPT_LOCAL,
        OPT_SYSVIPC,
        OPT_PROC,
};

/* The long options every command shares; commands append their own. */
#define CLI_COMMON_LONG_OPTIONS                                                                    \
        { "config", required_argument, NULL, OPT_CONFIG }, { "local", no_argument, NULL, OPT_LOCAL }, \
                { "sysvipc-dir", required_argument, NULL, OPT_SYSVIPC },                          \
                { "proc-dir", required_argument, NULL, OPT_PROC }, { "help", no_argument, NULL, 'h' }

/* Returns true when C was one of the common options. */
bool cli_common_option(struct cli *cli, int c, const char *arg);
void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_load_config(const struct cli *cli, struct config **ret);
/* Collects the configured types (narrowed by TYPES when non-zero) and their
 * holders, printing each collection warning once on stderr. */
int cli_collect(const struct cli *cli, const struct config *config, unsigned types, struct inventory **ret_inv,
                struct proctab **ret_proctab);
/* cli_collect, then one judgement per object with the config's rules. */
int cli_judge(const struct cli *cli, const struct config *config, unsigned types, struct inventory **ret_inv,
              struct proctab **ret_proctab, struct judgement **ret_judgements);

/* A user name or a numeric uid. */
int cli_parse_user(const char *s, uid_t *ret);
/* A user's name, or the uid as text when it has none; points into BUF or a cache. */
const char *cli_user_name(uid_t uid, char buf[static 16]);

int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_sweep(struct cli *cli, int argc, char **argv);
int cmd_explain(struct cli *cli, int argc, char **argv);
int cmd_check_config(struct cli *cli, int argc, char **argv);
