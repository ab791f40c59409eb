/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "table.h"

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
        json_object *record = NULL, *params;
        struct table_options topts = {};
        bool force = false;
        int c, r;

        int rc;
        while ((c = cli_option(cli, argc, argv, "fJh", options, &topts, help, &rc)) > 0) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                }
        }
        if (c < 0)
                return rc;
        const char *id;
        r = cli_object_id_any(cli, argc, argv, "rm", &id);
        if (r != EXIT_OK)
                return r;
        const struct ipcns *ns = cli->paths.ns;
        params = json_object_new_object();
        json_object_object_add(params, "id", json_object_new_string(id));
        json_object_object_add(params, "force", json_object_new_boolean(force));
        r = cli_call_member(cli, "io.ipcgc.Remove", params, "record", &record);
        if (r != EXIT_OK)
                return r;
        if (ns && !ns->self) {
                /* Named as the listing names it. */
                json_object_object_add(record, "id", json_object_new_string(id));
                json_object_object_add(record, "ipcns", json_object_new_int64((int64_t) ns->ino));
                json_object_object_add(record, "container", ns->name ? json_object_new_string(ns->name) : NULL);
        }
        if (topts.json)
                cli_print_json(record);
        else {
                const char *entry = json_str(record, "archive");
                printf("%s %s: %s\n", strna(json_str(record, "action")), id, strna(json_str(record, "reason")));
                if (entry)
                        printf("archived as %s: `ipcgc restore %s` puts it back\n", entry, entry);
        }
        const char *action = json_str(record, "action");
        int ret = action && (strcmp(action, "removed") == 0 || strcmp(action, "would-remove") == 0) ? EXIT_OK : EXIT_FAIL;
        json_object_put(record);
        return ret;
}
