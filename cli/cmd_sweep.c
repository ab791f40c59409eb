/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include <inttypes.h>

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
               "      --all-namespaces\n"
               "                      in every IPC namespace on the host, each judged with its\n"
               "                      own processes and swept from inside it; needs --local\n"
               "      --namespace NS  only in the IPC namespace NS: its inode or its name\n"
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
        { "ARCHIVE", "the archive entry a removed object went to", 10, 0 },
};

static int print_table(json_object *reply, const struct table_options *o) {
        static const int ids[] = { 0, 1, 2, 3, 4, 5 };
        struct libscols_table *t = table_new(columns, ids, ELEMENTSOF(columns), o);
        json_object *records = NULL, *b;
        int64_t removed = 0, would = 0, skipped = 0, failed = 0;

        if (!t)
                return -ENOMEM;
        (void) json_object_object_get_ex(reply, "records", &records);
        for (size_t i = 0; records && i < json_object_array_length(records); i++) {
                json_object *rec = json_object_array_get_idx(records, i);
                const char *action = json_str(rec, "action");
                bool stopped = action && strcmp(action, "stopped") == 0;
                const char *cells[] = { action, json_str(rec, "id"), stopped ? NULL : json_str(rec, "verdict"),
                                        json_str(rec, "rule"), json_str(rec, "reason"), json_str(rec, "archive") };
                struct libscols_line *ln = scols_table_new_line(t, NULL);
                for (size_t k = 0; ln && k < ELEMENTSOF(cells); k++)
                        if (scols_line_set_data(ln, k, cells[k] ? cells[k] : "-") < 0)
                                ln = NULL;
                if (!ln) {
                        scols_unref_table(t);
                        return -ENOMEM;
                }
        }
        if (records && json_object_array_length(records))
                scols_print_table(t);
        scols_unref_table(t);

        bool dry_run = json_object_object_get_ex(reply, "dry_run", &b) && json_object_get_boolean(b);
        bool stopped = json_object_object_get_ex(reply, "stopped", &b) && json_object_get_boolean(b);
        (void) json_int(reply, "removed", &removed);
        (void) json_int(reply, "would_remove", &would);
        (void) json_int(reply, "skipped", &skipped);
        (void) json_int(reply, "failed", &failed);
        json_object *judged;
        if (!o->raw && !o->noheadings && json_object_object_get_ex(reply, "judged", &judged)) {
                int64_t total = 0;
                json_object_object_foreach(judged, v, count) {
                        (void) v;
                        total += json_object_get_int64(count);
                }
                printf("%sjudged %" PRId64 " object%s", records && json_object_array_length(records) ? "\n" : "",
                       total, total == 1 ? "" : "s");
                cli_print_counts(judged, ": ", "");
                putchar('\n');
        }
        if (!o->raw && !o->noheadings)
                printf("%s%" PRId64 " %s, %" PRId64 " skipped, %" PRId64 " failed%s\n", "", dry_run ? would : removed,
                       dry_run ? "would be removed (dry run)" : "removed", skipped, failed,
                       stopped ? "; stopped at MaxRemovalsPerSweep" : "");
        return 0;
}

static void add_int(json_object *into, json_object *from, const char *key) {
        int64_t a = 0, b = 0;
        (void) json_int(into, key, &a);
        (void) json_int(from, key, &b);
        json_object_object_add(into, key, json_object_new_int64(a + b));
}

static void or_flag(json_object *into, json_object *from, const char *key) {
        bool v = json_flag(into, key) || json_flag(from, key);
        json_object_object_add(into, key, json_object_new_boolean(v));
}

/* Each namespace's sweep, added to one reply: its records named as list
 * names its objects, its counts summed. */
static int merge_one(struct cli *cli, const struct ipcns *ns, const char *text, size_t len, void *userdata) {
        json_object *all = userdata, *one = json_tokener_parse(text), *records, *judged, *into;

        (void) len;
        if (!one || !json_object_is_type(one, json_type_object)) {
                json_object_put(one);
                fprintf(stderr, "ipcgc: malformed reply to io.ipcgc.Sweep\n");
                return EXIT_FAIL;
        }
        if (json_object_object_get_ex(one, "records", &records) && json_object_is_type(records, json_type_array)) {
                json_object_object_get_ex(all, "records", &into);
                for (size_t i = 0; i < json_object_array_length(records); i++) {
                        json_object *rec = json_object_array_get_idx(records, i);
                        const char *id = json_str(rec, "id");
                        char *full = NULL;
                        if (id && !ns->self && asprintf(&full, "ipc:%" PRIu64 "/%s", ns->ino, id) >= 0) {
                                json_object_object_add(rec, "id", json_object_new_string(full));
                                free(full);
                        }
                        json_object_object_add(rec, "ipcns", json_object_new_int64((int64_t) ns->ino));
                        json_object_object_add(rec, "container",
                                               ns->name ? json_object_new_string(ns->name) : NULL);
                        json_object_array_add(into, json_object_get(rec));
                }
        }
        if (json_object_object_get_ex(one, "judged", &judged) && json_object_is_type(judged, json_type_object)) {
                json_object_object_get_ex(all, "judged", &into);
                json_object_object_foreach(judged, v, count) {
                        (void) count;
                        add_int(into, judged, v);
                }
        }
        static const char *const counts[] = { "removed", "would_remove", "skipped", "failed", "not_tried" };
        for (size_t i = 0; i < ELEMENTSOF(counts); i++)
                add_int(all, one, counts[i]);
        int64_t removed = 0, would = 0;
        (void) json_int(one, "removed", &removed);
        (void) json_int(one, "would_remove", &would);
        uint64_t used = (uint64_t) (removed > 0 ? removed : 0) + (uint64_t) (would > 0 ? would : 0);
        cli->removals_left = used >= cli->removals_left ? 0 : cli->removals_left - (unsigned) used;
        or_flag(all, one, "dry_run");
        or_flag(all, one, "stopped");
        json_object_put(one);
        return EXIT_OK;
}

int cmd_sweep(struct cli *cli, int argc, char **argv) {
        enum { OPT_DRY_RUN = 0x200 };
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, OPT_DRY_RUN }, { "types", required_argument, NULL, 't' },
                { "raw", no_argument, NULL, 'r' },             { "noheadings", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'J' },            CLI_COMMON_LONG_OPTIONS,
                CLI_NAMESPACE_LONG_OPTIONS,
                {},
        };
        json_object *reply = NULL, *params;
        struct table_options topts = {};
        unsigned types = 0;
        bool dry_run = false;
        int c, r;

        int rc;
        while ((c = cli_option(cli, argc, argv, "t:rnJh", options, &topts, help, &rc)) > 0) {
                switch (c) {
                case OPT_DRY_RUN:
                        dry_run = true;
                        break;
                case 't':
                        if (!cli_parse_types(optarg, &types))
                                return EXIT_USAGE;
                        break;
                }
        }
        if (c < 0)
                return rc;
        if (!cli_no_arguments(argc, argv, "sweep"))
                return EXIT_USAGE;

        params = json_object_new_object();
        json_object_object_add(params, "dry_run", json_object_new_boolean(dry_run));
        if (types)
                json_object_object_add(params, "types", cli_names_array(types, false));
        bool ns_ok;
        int ns_rc = EXIT_OK; /* a namespace that could not be swept at all */
        if (cli_namespaces_wanted(cli, &ns_ok)) {
                if (!ns_ok) {
                        json_object_put(params);
                        return EXIT_USAGE;
                }
                reply = json_object_new_object();
                if (!reply) {
                        json_object_put(params);
                        return EXIT_FAIL;
                }
                json_object_object_add(reply, "records", json_object_new_array());
                json_object_object_add(reply, "judged", json_object_new_object());
                cli->budget = true;
                r = ns_rc = cli_each_namespace(cli, "io.ipcgc.Sweep", params, merge_one, reply);
                json_object_put(params);
                if (cli->namespaces_not_swept) {
                        /* Said as a namespace's own stop is said. */
                        json_object *rec = json_object_new_object(), *records;
                        char why[160];
                        snprintf(why, sizeof(why),
                                 "MaxRemovalsPerSweep= reached; %zu IPC namespace%s left for the next sweep",
                                 cli->namespaces_not_swept, cli->namespaces_not_swept == 1 ? "" : "s");
                        json_object_object_add(rec, "action", json_object_new_string("stopped"));
                        json_object_object_add(rec, "id", NULL);
                        json_object_object_add(rec, "reason", json_object_new_string(why));
                        if (json_object_object_get_ex(reply, "records", &records))
                                json_object_array_add(records, rec);
                        else
                                json_object_put(rec);
                        json_object_object_add(reply, "stopped", json_object_new_boolean(true));
                }
                if (r != EXIT_OK && json_object_array_length(json_object_object_get(reply, "records")) == 0) {
                        json_object_put(reply);
                        return r;
                }
        } else {
                r = cli_call(cli, "io.ipcgc.Sweep", params, &reply);
                if (r != EXIT_OK)
                        return r;
        }
        if (!dry_run && json_flag(reply, "dry_run"))
                fprintf(stderr, "ipcgc: DryRun=yes (or ipcgcd --dry-run): nothing will be removed\n");

        if (topts.json)
                cli_print_json(reply);
        else if (print_table(reply, &topts) < 0) {
                json_object_put(reply);
                fprintf(stderr, "ipcgc: out of memory\n");
                return EXIT_FAIL;
        }
        int64_t failed = 0;
        (void) json_int(reply, "failed", &failed);
        json_object_put(reply);
        return failed || ns_rc != EXIT_OK ? EXIT_FAIL : EXIT_OK;
}
