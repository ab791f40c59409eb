/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "reap.h"
#include "report.h"

static void help(void) {
        printf("Usage: ipcgc rm [--force] ID\n"
               "\n"
               "Remove one object, judged ORPHAN now, through the same re-verification as\n"
               "a sweep. With --force, also one judged PENDING, REPORTED or PROTECTED.\n"
               "LIVE and UNKNOWN objects are never removed.\n"
               "\n"
               "Options:\n"
               "  -f, --force         see above\n"
               "  -J, --json          print the record as JSON\n"
               "      --local         run the engine in this process\n");
}

int cmd_rm(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "force", no_argument, NULL, 'f' },
                { "json", no_argument, NULL, 'J' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        _cleanup_(config_freep) struct config *config = NULL;
        json_object *record = NULL;
        bool force = false, json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "fJh", options, NULL)) >= 0) {
                if (cli_common_option(cli, c, optarg))
                        continue;
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'J':
                        json = true;
                        break;
                case 'h':
                        help();
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        }
        const char *id;
        if (cli_object_id(argc, argv, "rm", &id) < 0)
                return EXIT_USAGE;
        if (cli_load_config(cli, &config) < 0)
                return EXIT_FAIL;

        if (cli->local) {
                _cleanup_(inventory_freep) struct inventory *inv = NULL;
                _cleanup_(proctab_freep) struct proctab *pt = NULL;
                _cleanup_(reap_result_freep) struct reap_result *res = NULL;
                struct judgement *js = NULL;
                size_t i;

                if (cli_judge(cli, config, 0, &inv, &pt, &js) < 0)
                        return EXIT_FAIL;
                r = inventory_find(inv, id, &i);
                if (r < 0) {
                        judgements_free(js, inv->n_objects);
                        fprintf(stderr, "ipcgc: no such object: %s\n", id);
                        return EXIT_FAIL;
                }
                enum verdict v = js[i].verdict;
                char why[JUDGEMENT_REASON_MAX];
                if (!(v == VERDICT_ORPHAN || (force && (v == VERDICT_PENDING || v == VERDICT_REPORTED ||
                                                        v == VERDICT_PROTECTED)))) {
                        fprintf(stderr, "ipcgc: %s is %s, not removed: %s\n", id, verdict_to_string(v),
                                judgement_reason(&js[i], why));
                        judgements_free(js, inv->n_objects);
                        return EXIT_FAIL;
                }
                /* Only this one goes to reap, as if it were the only orphan. */
                for (size_t k = 0; k < inv->n_objects; k++)
                        if (k != i && js[k].verdict == VERDICT_ORPHAN)
                                js[k].verdict = VERDICT_REPORTED;
                js[i].verdict = VERDICT_ORPHAN;
                if (config->daemon.dry_run)
                        fprintf(stderr, "ipcgc: DryRun=yes in the configuration: nothing will be removed\n");
                struct reap_options opt = { .max_removals = 1, .scan = &config->scan, .paths = &cli->paths,
                                            .rules = config->rules, .n_rules = config->n_rules, .force = force,
                                            .dry_run = config->daemon.dry_run };
                cli_reap_options(cli, &opt);
                r = reap(inv, js, &opt, &res);
                judgements_free(js, inv->n_objects);
                json_object *out = NULL, *recs;
                if (r >= 0)
                        r = report_sweep(res, opt.dry_run, &out);
                if (r < 0) {
                        fprintf(stderr, "ipcgc: rm failed: %s\n", strerror(-r));
                        return EXIT_FAIL;
                }
                if (json_object_object_get_ex(out, "records", &recs) && json_object_array_length(recs) > 0)
                        record = json_object_get(json_object_array_get_idx(recs, 0));
                json_object_put(out);
        } else {
                json_object *params = json_object_new_object(), *reply = NULL, *rec;
                json_object_object_add(params, "id", json_object_new_string(id));
                json_object_object_add(params, "force", json_object_new_boolean(force));
                r = cli_remote(cli, config, "io.ipcgc.Remove", params, &reply);
                json_object_put(params);
                if (r != EXIT_OK)
                        return r;
                if (json_object_object_get_ex(reply, "record", &rec))
                        record = json_object_get(rec);
                json_object_put(reply);
        }
        if (!record) {
                fprintf(stderr, "ipcgc: %s: nothing was done\n", id);
                return EXIT_FAIL;
        }
        if (json)
                cli_print_json(record);
        else
                printf("%s %s: %s\n", strna(json_str(record, "action")), id, strna(json_str(record, "reason")));
        const char *action = json_str(record, "action");
        int ret = action && (strcmp(action, "removed") == 0 || strcmp(action, "would-remove") == 0) ? EXIT_OK : EXIT_FAIL;
        json_object_put(record);
        return ret;
}
