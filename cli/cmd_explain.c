/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stdlib.h>

#include "cli.h"
#include "format.h"
#include "table.h"

static void help(void) {
        printf("Usage: ipcgc explain [OPTIONS] ID\n"
               "\n"
               "The verdict on one object (shm:123, mq:/name, fifo:/path, ...): its reason,\n"
               "the rule that matched, and every piece of evidence weighed, each live\n"
               "process with its command line; of a sem set, each semaphore's value,\n"
               "waiters and last pid (as lsipc -s -i shows them).  ipc:INODE/TYPE:ID, an\n"
               "object of another IPC namespace as list names it, is judged there (--local).\n"
               "\n"
               "Options:\n"
               "  -J, --json          JSON: the object as list -J shows it, plus verdict,\n"
               "                      reason, rule and evidence\n"
               "      --config FILE   read FILE instead of the default configuration\n"
               "      --local         run the engine in this process\n");
}

/* Each semaphore of a set, as lsipc -s -i lists them, and whose its last
 * pid is. */
static void print_semaphores(json_object *o) {
        json_object *sems = NULL;
        int64_t nsems = 0, shown = 0;

        if (strcmp(strempty(json_str(o, "type")), "sem") != 0)
                return;
        (void) json_int(o, "nsems", &nsems);
        (void) json_int(o, "semaphores_shown", &shown);
        const char *unreadable = json_str(o, "semaphores_unreadable");
        if (unreadable) {
                printf("  semaphores: %" PRId64 ", unreadable: %s\n", nsems, unreadable);
                return;
        }
        if (!json_object_object_get_ex(o, "semaphores", &sems) || !json_object_is_type(sems, json_type_array))
                return;
        printf("  semaphores: %" PRId64 "\n", nsems);
        printf("    %5s %6s %5s %5s %8s  %-9s %s\n", "NUM", "VALUE", "NCNT", "ZCNT", "PID", "PID IS", "COMMAND");
        for (size_t i = 0; i < json_object_array_length(sems); i++) {
                json_object *m = json_object_array_get_idx(sems, i);
                int64_t num = 0, value = 0, ncnt = 0, zcnt = 0, pid = 0;
                char pbuf[24];
                (void) json_int(m, "num", &num);
                (void) json_int(m, "value", &value);
                (void) json_int(m, "ncnt", &ncnt);
                (void) json_int(m, "zcnt", &zcnt);
                if (json_int(m, "pid", &pid))
                        snprintf(pbuf, sizeof(pbuf), "%" PRId64, pid);
                else
                        snprintf(pbuf, sizeof(pbuf), "-");
                printf("    %5" PRId64 " %6" PRId64 " %5" PRId64 " %5" PRId64 " %8s  %-9s %s\n", num, value, ncnt,
                       zcnt, pbuf, json_str(m, "pid_state") ?: "-", json_str(m, "command") ?: "-");
        }
        if (shown < nsems)
                printf("    ... and %" PRId64 " more, not shown\n", nsems - shown);
}

static void print_text(json_object *o) {
        char buf[64], ubuf[16];
        json_object *ri = NULL, *ev = NULL;
        int64_t v, uid = 0, gid = 0;

        printf("%s: %s\n", strna(json_str(o, "id")), strna(json_str(o, "verdict")));
        printf("  reason:   %s\n", strna(json_str(o, "reason")));
        if (json_object_object_get_ex(o, "rule_info", &ri) && json_object_is_type(ri, json_type_object)) {
                int64_t line = 0, min_age = 0;
                (void) json_int(ri, "line", &line);
                (void) json_int(ri, "min_age", &min_age);
                printf("  rule:     %s (%s:%" PRId64 "), Action=%s, MinAge=%s\n", strna(json_str(ri, "name")),
                       strna(json_str(ri, "file")), line, strna(json_str(ri, "action")),
                       format_duration(buf, (uint64_t) min_age));
        } else
                printf("  rule:     none matches (reported only)\n");
        if (json_int(o, "key", &v))
                printf("  key:      0x%08" PRIx32 "\n", (uint32_t) v);
        (void) json_int(o, "uid", &uid);
        (void) json_int(o, "gid", &gid);
        const char *perms = json_str(o, "perms");
        printf("  owner:    %s (uid %" PRId64 ", gid %" PRId64 "), %s\n", cli_user_name((uid_t) uid, ubuf), uid, gid,
               perms ? format_perms(buf, (mode_t) strtoul(perms, NULL, 8)) : "-");
        if (json_int(o, "size", &v))
                printf("  size:     %s\n", format_bytes(buf, (uint64_t) v));
        if (json_int(o, "idle", &v))
                printf("  idle:     %s\n", format_duration(buf, (uint64_t) v));

        printf("  evidence:\n");
        if (!json_object_object_get_ex(o, "evidence", &ev) || json_object_array_length(ev) == 0)
                printf("    none\n");
        for (size_t i = 0; ev && i < json_object_array_length(ev); i++) {
                json_object *e = json_object_array_get_idx(ev, i);
                printf("    %-13s %-10s", strna(json_str(e, "role")), strna(json_str(e, "state")));
                if (json_int(e, "pid", &v))
                        printf(" pid %" PRId64, v);
                const char *comm = json_str(e, "comm");
                if (comm && json_int(e, "start_usec", &v)) {
                        time_t t = (time_t) (v / 1000000);
                        struct tm tm;
                        if (!localtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                                snprintf(buf, sizeof(buf), "-");
                        printf(" (%s, started %s)", comm, buf);
                }
                const char *note = json_str(e, "note");
                if (note)
                        printf(" %s", note);
                putchar('\n');
                const char *command = json_str(e, "command");
                if (command)
                        printf("    %-13s %s\n", "", command);
        }
        print_semaphores(o);
}

int cmd_explain(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'J' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        struct table_options topts = {}; /* -J */
        int rc, r;

        /* Every option is a common one: nothing comes back but the end. */
        if (cli_option(cli, argc, argv, "Jh", options, &topts, help, &rc) < 0)
                return rc;
        const char *want;
        r = cli_object_id_any(cli, argc, argv, "explain", &want);
        if (r != EXIT_OK)
                return r;

        json_object *obj = NULL, *params = json_object_new_object();
        json_object_object_add(params, "id", json_object_new_string(want));
        r = cli_call_member(cli, "io.ipcgc.Explain", params, "object", &obj);
        if (r != EXIT_OK)
                return r;

        if (topts.json)
                cli_print_json(obj);
        else
                print_text(obj);
        json_object_put(obj);
        return EXIT_OK;
}
