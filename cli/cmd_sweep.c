/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "object_json.h"
#include "reap.h"
#include "table.h"

static void help(void) {
        printf("Usage: ipcgc sweep [OPTIONS]\n"
               "\n"
               "Judge every object and remove those judged ORPHAN, at most\n"
               "MaxRemovalsPerSweep of them. Each is re-read and re-judged right\n"
               "before removal; anything that changed is skipped.\n"
               "\n"
               "Options:\n"
               "      --dry-run       remove nothing; say what would be removed\n"
               "  -t, --types TYPES   only these types\n"
               "  -r, --raw           raw output\n"
               "  -n, --noheadings    no header line\n"
               "  -J, --json          JSON: {\"records\":[...], \"removed\":N, ...}\n"
               "      --config FILE   read FILE instead of the default configuration\n"
               "      --local         run the engine in this process\n"
               "\n"
               "Exit status: 0 when nothing failed, 1 when a removal failed.\n");
}

static const struct column columns[] = {
        { "ACTION", "removed, would-remove, skipped, failed, stopped", 10, 0 },
        { "ID", "object", 12, 0 },
        { "VERDICT", "verdict when acted on", 7, 0 },
        { "RULE", "matching rule", 8, 0 },
        { "REASON", "why", 0.5, SCOLS_FL_WRAP },
};

static int print_json(const struct reap_result *res, bool dry_run) {
        json_object *root = json_object_new_object(), *arr = json_object_new_array();
        if (!root || !arr) {
                json_object_put(root);
                json_object_put(arr);
                return -ENOMEM;
        }
        json_object_object_add(root, "dry_run", json_object_new_boolean(dry_run));
        json_object_object_add(root, "removed", json_object_new_int64(res->removed));
        json_object_object_add(root, "would_remove", json_object_new_int64(res->would_remove));
        json_object_object_add(root, "skipped", json_object_new_int64(res->skipped));
        json_object_object_add(root, "failed", json_object_new_int64(res->failed));
        json_object_object_add(root, "stopped", json_object_new_boolean(res->stopped));
        json_object_object_add(root, "not_tried", json_object_new_int64((int64_t) res->not_tried));
        json_object_object_add(root, "records", arr);
        for (size_t i = 0; i < res->n_records; i++) {
                const struct reap_record *rec = &res->records[i];
                json_object *j = json_object_new_object();
                if (!j || json_object_array_add(arr, j) < 0) {
                        json_object_put(j);
                        json_object_put(root);
                        return -ENOMEM;
                }
                json_object_object_add(j, "action", json_object_new_string(reap_action_to_string(rec->action)));
                json_object_object_add(j, "id", rec->id ? json_object_new_string(rec->id) : NULL);
                json_object_object_add(j, "type", rec->id ? json_object_new_string(ipc_type_to_string(rec->type)) : NULL);
                json_object_object_add(j, "verdict", json_object_new_string(verdict_to_string(rec->verdict)));
                json_object_object_add(j, "rule", rec->rule ? json_object_new_string(rec->rule) : NULL);
                json_object_object_add(j, "reason", json_object_new_string(rec->reason));
                json_object_object_add(j, "errno", rec->error ? json_object_new_int(rec->error) : NULL);
        }
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return 0;
}

static int print_table(const struct reap_result *res, const struct table_options *o, bool dry_run) {
        static const int ids[] = { 0, 1, 2, 3, 4 };
        struct libscols_table *t = table_new(columns, ids, ELEMENTSOF(columns), o);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < res->n_records; i++) {
                const struct reap_record *rec = &res->records[i];
                struct libscols_line *ln = scols_table_new_line(t, NULL);
                if (!ln || scols_line_set_data(ln, 0, reap_action_to_string(rec->action)) < 0 ||
                    scols_line_set_data(ln, 1, rec->id ? rec->id : "-") < 0 ||
                    scols_line_set_data(ln, 2, rec->action == REAP_STOPPED ? "-" : verdict_to_string(rec->verdict)) < 0 ||
                    scols_line_set_data(ln, 3, rec->rule ? rec->rule : "-") < 0 ||
                    scols_line_set_data(ln, 4, rec->reason) < 0) {
                        scols_unref_table(t);
                        return -ENOMEM;
                }
        }
        if (res->n_records)
                scols_print_table(t);
        scols_unref_table(t);
        if (!o->raw && !o->noheadings)
                printf("%s%u %s, %u skipped, %u failed%s\n", res->n_records ? "\n" : "",
                       dry_run ? res->would_remove : res->removed, dry_run ? "would be removed (dry run)" : "removed",
                       res->skipped, res->failed, res->stopped ? "; stopped at MaxRemovalsPerSweep" : "");
        return 0;
}

int cmd_sweep(struct cli *cli, int argc, char **argv) {
        enum { OPT_DRY_RUN = 0x200 };
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, OPT_DRY_RUN }, { "types", required_argument, NULL, 't' },
                { "raw", no_argument, NULL, 'r' },             { "noheadings", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'J' },            CLI_COMMON_LONG_OPTIONS,
                {},
        };
        _cleanup_(config_freep) struct config *config = NULL;
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        _cleanup_(reap_result_freep) struct reap_result *res = NULL;
        struct judgement *js = NULL;
        struct table_options topts = {};
        unsigned types = 0;
        bool dry_run = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "t:rnJh", options, NULL)) >= 0) {
                if (cli_common_option(cli, c, optarg))
                        continue;
                switch (c) {
                case OPT_DRY_RUN:
                        dry_run = true;
                        break;
                case 't':
                        if (ipc_type_mask_parse(optarg, &types) < 0) {
                                cli_usage_error("invalid --types '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'r':
                        topts.raw = true;
                        break;
                case 'n':
                        topts.noheadings = true;
                        break;
                case 'J':
                        topts.json = true;
                        break;
                case 'h':
                        help();
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        }
        if (optind < argc) {
                cli_usage_error("sweep takes no arguments, got '%s'", argv[optind]);
                return EXIT_USAGE;
        }

        if (cli_load_config(cli, &config) < 0)
                return EXIT_FAIL;
        if (config->daemon.dry_run && !dry_run) {
                fprintf(stderr, "ipcgc: DryRun=yes in the configuration: nothing will be removed\n");
                dry_run = true;
        }
        if (cli_judge(cli, config, types, &inv, &pt, &js) < 0)
                return EXIT_FAIL;

        struct scan_config scan = config->scan;
        if (types)
                scan.types = types;
        struct reap_options opt = {
                .dry_run = dry_run,
                .max_removals = config->daemon.max_removals,
                .scan = &scan,
                .paths = &cli->paths,
                .rules = config->rules,
                .n_rules = config->n_rules,
        };
        r = reap(inv, js, &opt, &res);
        judgements_free(js, inv->n_objects);
        if (r < 0) {
                fprintf(stderr, "ipcgc: sweep failed: %s\n", strerror(-r));
                return EXIT_FAIL;
        }

        r = topts.json ? print_json(res, dry_run) : print_table(res, &topts, dry_run);
        if (r < 0) {
                fprintf(stderr, "ipcgc: out of memory\n");
                return EXIT_FAIL;
        }
        return res->failed ? EXIT_FAIL : EXIT_OK;
}
