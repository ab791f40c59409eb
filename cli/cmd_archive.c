/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ipcgc archive, ipcgc restore: the archive of removed objects. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "format.h"
#include "table.h"

static const struct column columns[] = {
        { "WHEN", "when it was removed, local time", 19, 0 },
        { "ENTRY", "the entry, as restore takes it", 0.25, 0 },
        { "ID", "the object's id when it was removed", 10, 0 },
        { "KEY/NAME", "SysV key, POSIX name or FIFO path", 0.2, SCOLS_FL_TRUNC },
        { "OWNER", "owner's user name", 8, 0 },
        { "SIZE", "what its contents are (bytes, messages, values)", 5, SCOLS_FL_RIGHT },
        { "RULE", "the rule that let it go", 8, 0 },
        { "REASON", "why it was removed", 0.3, SCOLS_FL_TRUNC },
};

static void archive_help(void) {
        printf("Usage: ipcgc archive [OPTIONS]\n"
               "\n"
               "List the archive of removed objects, newest first: what `ipcgc restore`\n"
               "can put back. Callers who are not admins see the entries of objects they\n"
               "owned or made.\n"
               "\n"
               "Options:\n"
               "  -b, --bytes         sizes in bytes\n"
               "  -r, --raw           raw output\n"
               "  -n, --noheadings    no header line\n"
               "  -J, --json          JSON: {\"entries\":[...],\"bad\":N}\n"
               "      --local         read the archive in this process\n");
        table_help_columns(stdout, columns, ELEMENTSOF(columns));
}

static int add_entry(struct libscols_table *t, json_object *e, bool bytes) {
        char when[32] = "-", keyname[32], owner[16], size[FORMAT_BYTES_MAX] = "-";
        const char *kn = json_str(e, "name");
        int64_t v;
        struct tm tm;

        if (json_int(e, "removed_at", &v) && localtime_r(&(time_t) { (time_t) v }, &tm))
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        if (json_int(e, "key", &v)) {
                snprintf(keyname, sizeof(keyname), "0x%08" PRIx32, (uint32_t) v);
                kn = keyname;
        }
        const char *user = json_int(e, "uid", &v) ? cli_user_name((uid_t) v, owner) : NULL;
        if (json_int(e, "bytes", &v)) {
                if (bytes)
                        snprintf(size, sizeof(size), "%" PRId64, v);
                else
                        format_bytes(size, (uint64_t) v);
        }
        const char *cells[] = { when, json_str(e, "entry"), json_str(e, "id"),    kn, user,
                                size, json_str(e, "rule"),  json_str(e, "reason") };
        return table_add_line(t, cells, ELEMENTSOF(cells));
}

int cmd_archive(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "bytes", no_argument, NULL, 'b' },
                { "raw", no_argument, NULL, 'r' },
                { "noheadings", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'J' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        static const int all[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
        _cleanup_(json_object_putp) json_object *reply = NULL;
        struct table_options topts = {};
        json_object *entries;
        int64_t bad = 0;
        bool bytes = false;
        int c, r, rc;

        while ((c = cli_option(cli, argc, argv, "brnJh", options, &topts, archive_help, &rc)) > 0)
                if (c == 'b')
                        bytes = true;
        if (c < 0)
                return rc;
        if (!cli_no_arguments(argc, argv, "archive"))
                return EXIT_USAGE;
        r = cli_call(cli, "io.ipcgc.ListArchive", NULL, &reply);
        if (r != EXIT_OK)
                return r;
        if (topts.json) {
                cli_print_json(reply);
                return EXIT_OK;
        }
        if (!json_object_object_get_ex(reply, "entries", &entries) || !json_object_is_type(entries, json_type_array)) {
                fprintf(stderr, "ipcgc: malformed reply: no entries\n");
                return EXIT_FAIL;
        }
        struct libscols_table *t = table_new(columns, all, ELEMENTSOF(columns), &topts);
        r = t ? 0 : -ENOMEM;
        for (size_t i = 0; r == 0 && i < json_object_array_length(entries); i++)
                r = add_entry(t, json_object_array_get_idx(entries, i), bytes);
        if (r == 0)
                scols_print_table(t);
        if (t)
                scols_unref_table(t);
        if (r < 0) {
                fprintf(stderr, "ipcgc: out of memory\n");
                return EXIT_FAIL;
        }
        if (json_int(reply, "bad", &bad) && bad > 0)
                fprintf(stderr, "ipcgc: %" PRId64 " entries could not be read and are not listed\n", bad);
        return EXIT_OK;
}

static void restore_help(void) {
        printf("Usage: ipcgc restore [OPTIONS] ENTRY\n"
               "\n"
               "Make the archived object ENTRY (as `ipcgc archive` lists it) again: its key\n"
               "or name, owner, mode and contents; a SysV object with its old id where the\n"
               "kernel allows it. Refused when the key or name is taken now. The entry stays\n"
               "in the archive. Admins only. An entry removed from another IPC namespace\n"
               "goes back into it, with --local, while it is still there.\n"
               "\n"
               "Options:\n"
               "  -J, --json          print the reply as JSON\n"
               "      --local         restore in this process, not through ipcgcd\n");
}

int cmd_restore(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'J' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        _cleanup_(json_object_putp) json_object *reply = NULL;
        struct table_options topts = {};
        char key[32] = "";
        int64_t v;
        int c, r, rc;

        while ((c = cli_option(cli, argc, argv, "Jh", options, &topts, restore_help, &rc)) > 0)
                ;
        if (c < 0)
                return rc;
        if (optind + 1 != argc) {
                cli_usage_error("restore takes one archive entry, as 'ipcgc archive' lists it");
                return EXIT_USAGE;
        }
        /* With --local, an entry removed from another namespace goes back
         * into it, if it is still there. */
        if (cli->local) {
                r = cli_namespace_of_entry(cli, argv[optind]);
                if (r != EXIT_OK)
                        return r;
        }
        json_object *params = json_object_new_object();
        json_object_object_add(params, "entry", json_object_new_string(argv[optind]));
        r = cli_call(cli, "io.ipcgc.Restore", params, &reply);
        if (r != EXIT_OK)
                return r;
        if (topts.json) {
                cli_print_json(reply);
                return EXIT_OK;
        }
        if (json_int(reply, "key", &v))
                snprintf(key, sizeof(key), " (key 0x%08" PRIx32 ")", (uint32_t) v);
        printf("restored %s as %s%s from %s", strna(json_str(reply, "old_id")), strna(json_str(reply, "id")), key,
               argv[optind]);
        if (!json_flag(reply, "same_id")) {
                const char *old = strna(json_str(reply, "old_id")), *colon = strchr(old, ':');
                printf(": id %s could not be had again (%s)", colon ? colon + 1 : old, strna(json_str(reply, "note")));
        }
        putchar('\n');
        return EXIT_OK;
}
