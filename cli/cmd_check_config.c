/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "table.h"

static void help(void) {
        printf("Usage: ipcgc check-config [OPTIONS] [FILE]\n"
               "\n"
               "Validate FILE (default: the configuration ipcgc would read, with its\n"
               "conf.d drop-ins) and show its rules in match order. A bad file is\n"
               "reported as FILE:LINE: message, with exit status 1.\n"
               "\n"
               "Options:\n"
               "  -r, --raw           raw output\n"
               "  -n, --noheadings    no header line\n");
}

static const struct column columns[] = {
        { "RULE", "rule name", 8, 0 },
        { "WHERE", "file:line", 12, 0 },
        { "MATCH", "what it selects", 0.4, SCOLS_FL_WRAP },
        { "OWNER", "Owner= sources", 0.2, SCOLS_FL_WRAP },
        { "MINAGE", "MinAge", 6, SCOLS_FL_RIGHT },
        { "ACTION", "collect, report or keep", 7, 0 },
};

static void describe_match(FILE *f, const struct rule *r) {
        const char *sep = "";

        if (r->types) {
                fputs("types=", f);
                for (int t = 0, first = 1; t < _IPC_TYPE_MAX; t++)
                        if (r->types & IPC_TYPE_BIT(t)) {
                                fprintf(f, "%s%s", first ? "" : ",", ipc_type_to_string(t));
                                first = 0;
                        }
                sep = " ";
        }
        for (size_t i = 0; i < r->n_users; i++, sep = " ")
                fprintf(f, r->users[i].lo == r->users[i].hi ? "%suid=%u" : "%suid=%u-%u", sep,
                        (unsigned) r->users[i].lo, (unsigned) r->users[i].hi);
        for (size_t i = 0; i < r->n_groups; i++, sep = " ")
                fprintf(f, "%sgid=%u", sep, (unsigned) r->groups[i]);
        for (size_t i = 0; i < r->n_keys; i++, sep = " ")
                fprintf(f, r->keys[i].lo == r->keys[i].hi ? "%skey=0x%08" PRIx32 : "%skey=0x%08" PRIx32 "-0x%08" PRIx32,
                        sep, r->keys[i].lo, r->keys[i].hi);
        for (size_t i = 0; i < r->n_names; i++, sep = " ")
                fprintf(f, "%sname=%s", sep, r->names[i]);
        for (size_t i = 0; i < r->n_paths; i++, sep = " ")
                fprintf(f, "%spath=%s", sep, r->paths[i]);
        if (r->has_min_size)
                fprintf(f, "%ssize>=%" PRIu64, sep, r->min_size), sep = " ";
        if (r->ns != RULE_NS_ALL)
                fprintf(f, "%snamespace=%s", sep, r->ns == RULE_NS_HOST ? "host" : "container"), sep = " ";
        for (size_t i = 0; i < r->n_containers; i++, sep = " ")
                fprintf(f, "%scontainer=%s", sep, r->containers[i]);
        if (!*sep)
                fputs("everything", f);
}

int cmd_check_config(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "raw", no_argument, NULL, 'r' },
                { "noheadings", no_argument, NULL, 'n' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        const struct config *config;
        struct table_options topts = {};
        int c;

        int rc;
        while ((c = cli_option(cli, argc, argv, "rnh", options, &topts, help, &rc)) > 0) {
                switch (c) {
                }
        }
        if (c < 0)
                return rc;
        if (optind + 1 < argc) {
                cli_usage_error("check-config takes at most one FILE");
                return EXIT_USAGE;
        }
        if (optind < argc)
                cli->config_path = argv[optind];

        if (cli_load_config(cli, &config) < 0)
                return EXIT_FAIL;

        static const int ids[] = { 0, 1, 2, 3, 4, 5 };
        struct libscols_table *t = table_new(columns, ids, ELEMENTSOF(columns), &topts);
        if (!t)
                return EXIT_FAIL;
        for (size_t i = 0; i < config->n_rules; i++) {
                const struct rule *r = &config->rules[i];
                _cleanup_free_ char *match = NULL, *owners = NULL, *where = NULL;
                size_t n;
                char age[FORMAT_DURATION_MAX];
                FILE *f = open_memstream(&match, &n);
                if (f) {
                        describe_match(f, r);
                        fclose(f);
                }
                f = open_memstream(&owners, &n);
                if (f) {
                        for (size_t k = 0; k < r->n_owners; k++)
                                fprintf(f, "%s%s%s%s", k ? " " : "", owner_kind_to_string(r->owners[k].kind),
                                        r->owners[k].arg ? ":" : "", strempty(r->owners[k].arg));
                        if (r->n_owners == 0)
                                fputs("-", f);
                        fclose(f);
                }
                if (asprintf(&where, "%s:%u", r->file, r->line) < 0)
                        where = NULL;
                struct libscols_line *ln = scols_table_new_line(t, NULL);
                if (!ln || !match || !owners || !where || scols_line_set_data(ln, 0, r->name) < 0 ||
                    scols_line_set_data(ln, 1, where) < 0 || scols_line_set_data(ln, 2, match) < 0 ||
                    scols_line_set_data(ln, 3, owners) < 0 ||
                    scols_line_set_data(ln, 4, format_duration(age, r->min_age)) < 0 ||
                    scols_line_set_data(ln, 5, rule_action_to_string(r->action)) < 0) {
                        scols_unref_table(t);
                        fprintf(stderr, "ipcgc: out of memory\n");
                        return EXIT_FAIL;
                }
        }
        if (config->n_rules)
                scols_print_table(t);
        else
                printf("no rules: every orphan is only reported\n");
        scols_unref_table(t);
        return EXIT_OK;
}
