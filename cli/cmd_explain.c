/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "format.h"
#include "object_json.h"
#include "table.h"

static void help(void) {
        printf("Usage: ipcgc explain [OPTIONS] ID\n"
               "\n"
               "The verdict on one object (shm:123, mq:/name, fifo:/path, ...): its reason,\n"
               "the rule that matched, and every piece of evidence weighed.\n"
               "\n"
               "Options:\n"
               "  -J, --json          JSON: the object as list -J shows it, plus verdict,\n"
               "                      reason, rule and evidence\n"
               "      --config FILE   read FILE instead of the default configuration\n"
               "      --local         run the engine in this process\n");
}

static void format_time(char *buf, size_t size, uint64_t usec) {
        time_t t = (time_t) (usec / 1000000u);
        struct tm tm;
        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "-");
}

static int print_text(const struct ipc_object *o, const struct judgement *j) {
        _cleanup_free_ char *id = ipc_object_id(o);
        char perms[FORMAT_PERMS_MAX], size[FORMAT_BYTES_MAX], idle[FORMAT_DURATION_MAX], ubuf[16];

        if (!id)
                return -ENOMEM;
        printf("%s: %s\n", id, verdict_to_string(j->verdict));
        printf("  reason:   %s\n", j->reason);
        if (j->rule)
                printf("  rule:     %s (%s:%u), Action=%s, MinAge=%" PRIu64 "s\n", j->rule->name, j->rule->file,
                       j->rule->line, rule_action_to_string(j->rule->action), j->rule->min_age);
        else
                printf("  rule:     none matches (reported only)\n");
        if (ipc_type_is_sysv(o->type))
                printf("  key:      0x%08" PRIx32 "\n", (uint32_t) o->key);
        printf("  owner:    %s (uid %u, gid %u), %s\n", cli_user_name(o->uid, ubuf), (unsigned) o->uid,
               (unsigned) o->gid, format_perms(perms, o->mode));
        printf("  size:     %s\n", format_bytes(size, o->size));
        printf("  idle:     %s\n", format_duration(idle, j->idle));

        printf("  evidence:\n");
        if (j->n_evidence == 0)
                printf("    none\n");
        for (size_t i = 0; i < j->n_evidence; i++) {
                const struct evidence *e = &j->evidence[i];
                char started[64] = "";

                printf("    %-13s %-10s", evidence_role_to_string(e->role), evidence_state_to_string(e->state));
                if (e->pid > 0)
                        printf(" pid %d", (int) e->pid);
                if (e->comm[0]) {
                        format_time(started, sizeof(started), e->start_usec);
                        printf(" (%s, started %s)", e->comm, started);
                }
                if (e->note)
                        printf(" %s", e->note);
                putchar('\n');
        }
        return 0;
}

int cmd_explain(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'J' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        _cleanup_(config_freep) struct config *config = NULL;
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        struct judgement *js = NULL;
        bool json = false;
        unsigned types;
        int c, r;

        while ((c = getopt_long(argc, argv, "Jh", options, NULL)) >= 0) {
                if (cli_common_option(cli, c, optarg))
                        continue;
                switch (c) {
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
        if (optind + 1 != argc) {
                cli_usage_error("explain takes one object ID, like shm:123 or mq:/name");
                return EXIT_USAGE;
        }
        const char *want = argv[optind];
        const char *colon = strchr(want, ':');
        char tname[8];
        int t;
        if (!colon || (size_t) (colon - want) >= sizeof(tname) || !colon[1]) {
                cli_usage_error("'%s' is not an object ID (TYPE:ID, like shm:123 or fifo:/tmp/x)", want);
                return EXIT_USAGE;
        }
        memcpy(tname, want, (size_t) (colon - want));
        tname[colon - want] = 0;
        t = ipc_type_from_string(tname);
        if (t < 0) {
                cli_usage_error("unknown object type '%s'", tname);
                return EXIT_USAGE;
        }
        types = IPC_TYPE_BIT(t);

        if (cli_load_config(cli, &config) < 0)
                return EXIT_FAIL;
        if (cli_judge(cli, config, types, &inv, &pt, &js) < 0)
                return EXIT_FAIL;

        r = -ENOENT;
        for (size_t i = 0; i < inv->n_objects; i++) {
                _cleanup_free_ char *id = ipc_object_id(&inv->objects[i]);
                if (!id || strcmp(id, want) != 0)
                        continue;
                if (json) {
                        json_object *j;
                        r = object_to_json(&inv->objects[i], &j);
                        if (r == 0) {
                                r = judgement_to_json(&js[i], true, j);
                                if (r == 0)
                                        puts(json_object_to_json_string_ext(
                                                j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                                json_object_put(j);
                        }
                } else
                        r = print_text(&inv->objects[i], &js[i]);
                break;
        }
        judgements_free(js, inv->n_objects);
        if (r == -ENOENT) {
                fprintf(stderr, "ipcgc: no such object: %s\n", want);
                return EXIT_FAIL;
        }
        if (r < 0) {
                fprintf(stderr, "ipcgc: out of memory\n");
                return EXIT_FAIL;
        }
        return EXIT_OK;
}
