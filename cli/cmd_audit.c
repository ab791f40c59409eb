/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "format.h"
#include "table.h"

static void help(void) {
        printf("Usage: ipcgc audit [OPTIONS]\n"
               "\n"
               "IPC use per user and type, and against the kernel's limits\n"
               "(kernel.shmmni, shmall, msgmni, sem, fs.mqueue.queues_max).\n"
               "\n"
               "Options:\n"
               "  -t, --types TYPES   only these types\n"
               "  -b, --bytes         sizes in bytes\n"
               "  -r, --raw           raw output\n"
               "  -n, --noheadings    no header line\n"
               "  -J, --json          JSON: {\"usage\":[...],\"limits\":[...]}\n"
               "      --config FILE   read FILE for [Scan]\n"
               "      --local         run the engine in this process\n");
}

static int print_json(const struct audit *a) {
        json_object *root = json_object_new_object(), *usage = json_object_new_array(),
                    *limits = json_object_new_array();
        int r = -ENOMEM;

        if (!root || !usage || !limits)
                goto out;
        for (size_t i = 0; i < a->n_usage; i++) {
                const struct audit_usage *u = &a->usage[i];
                char ubuf[16];
                json_object *j = json_object_new_object();
                if (!j || json_object_array_add(usage, j) < 0)
                        goto out;
                json_object_object_add(j, "user", json_object_new_string(cli_user_name(u->uid, ubuf)));
                json_object_object_add(j, "uid", json_object_new_int64(u->uid));
                json_object_object_add(j, "type", json_object_new_string(ipc_type_to_string(u->type)));
                json_object_object_add(j, "count", json_object_new_uint64(u->count));
                json_object_object_add(j, "bytes", json_object_new_uint64(u->bytes));
                if (u->type == IPC_TYPE_SEM)
                        json_object_object_add(j, "semaphores", json_object_new_uint64(u->units));
        }
        for (int l = 0; l < _LIMIT_MAX; l++) {
                const struct audit_limit *lim = &a->limits[l];
                json_object *j = json_object_new_object();
                if (!j || json_object_array_add(limits, j) < 0)
                        goto out;
                json_object_object_add(j, "name", json_object_new_string(lim->name));
                json_object_object_add(j, "used", json_object_new_uint64(lim->used));
                json_object_object_add(j, "limit", lim->error < 0 ? NULL : json_object_new_uint64(lim->max));
        }
        json_object_object_add(root, "usage", TAKE_PTR(usage));
        json_object_object_add(root, "limits", TAKE_PTR(limits));
        puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        r = 0;
out:
        json_object_put(usage);
        json_object_put(limits);
        json_object_put(root);
        return r;
}

static const struct column usage_columns[] = {
        { "USER", "owner", 8, 0 },
        { "TYPE", "object type", 4, 0 },
        { "COUNT", "objects", 5, SCOLS_FL_RIGHT },
        { "BYTES", "bytes held", 6, SCOLS_FL_RIGHT },
};
static const struct column limit_columns[] = {
        { "LIMIT", "kernel limit", 10, 0 },
        { "USED", "in use", 6, SCOLS_FL_RIGHT },
        { "MAX", "limit", 6, SCOLS_FL_RIGHT },
        { "USE%", "share of the limit", 5, SCOLS_FL_RIGHT },
};

static int set_cells(struct libscols_table *t, const char *const *cells, size_t n) {
        struct libscols_line *ln = scols_table_new_line(t, NULL);
        if (!ln)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (scols_line_set_data(ln, i, cells[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static int print_tables(const struct audit *a, const struct table_options *o, bool bytes) {
        static const int all[] = { 0, 1, 2, 3 };
        struct libscols_table *t;
        int r = 0;

        t = table_new(usage_columns, all, ELEMENTSOF(usage_columns), o);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; r == 0 && i < a->n_usage; i++) {
                const struct audit_usage *u = &a->usage[i];
                char ubuf[16], count[24], size[24];
                snprintf(count, sizeof(count), "%" PRIu64, u->count);
                if (bytes)
                        snprintf(size, sizeof(size), "%" PRIu64, u->bytes);
                else
                        format_bytes(size, u->bytes);
                const char *cells[] = { cli_user_name(u->uid, ubuf), ipc_type_to_string(u->type), count, size };
                r = set_cells(t, cells, ELEMENTSOF(cells));
        }
        if (r == 0)
                scols_print_table(t);
        scols_unref_table(t);
        if (r < 0)
                return r;

        fputc('\n', stdout);
        t = table_new(limit_columns, all, ELEMENTSOF(limit_columns), o);
        if (!t)
                return -ENOMEM;
        for (int l = 0; r == 0 && l < _LIMIT_MAX; l++) {
                const struct audit_limit *lim = &a->limits[l];
                char used[24], max[24] = "?", pct[16] = "?";
                snprintf(used, sizeof(used), "%" PRIu64, lim->used);
                if (lim->error == 0) {
                        snprintf(max, sizeof(max), "%" PRIu64, lim->max);
                        if (lim->max > 0)
                                snprintf(pct, sizeof(pct), "%.1f%%", 100.0 * (double) lim->used / (double) lim->max);
                }
                const char *cells[] = { lim->name, used, max, pct };
                r = set_cells(t, cells, ELEMENTSOF(cells));
        }
        if (r == 0)
                scols_print_table(t);
        scols_unref_table(t);
        return r;
}

int cmd_audit(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "types", required_argument, NULL, 't' }, { "bytes", no_argument, NULL, 'b' },
                { "raw", no_argument, NULL, 'r' },         { "noheadings", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'J' },        CLI_COMMON_LONG_OPTIONS,
                {},
        };
        _cleanup_(config_freep) struct config *config = NULL;
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        _cleanup_(audit_freep) struct audit *a = NULL;
        struct table_options topts = {};
        unsigned types = 0;
        bool bytes = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "t:brnJh", options, NULL)) >= 0) {
                if (cli_common_option(cli, c, optarg))
                        continue;
                switch (c) {
                case 't':
                        if (ipc_type_mask_parse(optarg, &types) < 0) {
                                cli_usage_error("invalid --types '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'b':
                        bytes = true;
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
                cli_usage_error("audit takes no arguments, got '%s'", argv[optind]);
                return EXIT_USAGE;
        }

        if (cli_load_config(cli, &config) < 0)
                return EXIT_FAIL;
        if (cli_collect(cli, config, types, &inv, &pt) < 0)
                return EXIT_FAIL;

        r = audit_build(inv, cli->paths.proc ? cli->paths.proc : "/proc", &a);
        if (r >= 0)
                r = topts.json ? print_json(a) : print_tables(a, &topts, bytes);
        if (r < 0) {
                fprintf(stderr, "ipcgc: audit failed: %s\n", strerror(-r));
                return EXIT_FAIL;
        }
        return EXIT_OK;
}
