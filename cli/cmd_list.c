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

enum {
        COL_TYPE,
        COL_ID,
        COL_KEYNAME,
        COL_OWNER,
        COL_PERMS,
        COL_SIZE,
        COL_CPID,
        COL_LPID,
        COL_HOLDERS,
        COL_AGE,
        COL_UID,
        COL_GID,
        COL_NATTCH,
        COL_CTIME,
        COL_VERDICT,
        COL_REASON,
        COL_RULE,
        COL_IDLE,
};

static const struct column columns[] = {
        [COL_TYPE] = { "TYPE", "object type: shm msg sem mq pshm psem fifo", 4, 0 },
        [COL_ID] = { "ID", "object id, as explain and rm take it", 10, 0 },
        [COL_KEYNAME] = { "KEY/NAME", "SysV key, POSIX name or FIFO path", 0.3, SCOLS_FL_TRUNC },
        [COL_OWNER] = { "OWNER", "owner's user name", 8, 0 },
        [COL_PERMS] = { "PERMS", "permissions", 9, 0 },
        [COL_SIZE] = { "SIZE", "bytes held (shm size, queued bytes, file size)", 5, SCOLS_FL_RIGHT },
        [COL_CPID] = { "CPID", "creator pid (shm)", 5, SCOLS_FL_RIGHT },
        [COL_LPID] = { "LPID", "last operation pid (shm: attach/detach, msg: send)", 5, SCOLS_FL_RIGHT },
        [COL_HOLDERS] = { "HOLDERS", "pids holding it open, mapped or attached", 0.1, SCOLS_FL_TRUNC },
        [COL_AGE] = { "AGE", "time since the last change (ctime)", 4, SCOLS_FL_RIGHT },
        [COL_UID] = { "UID", "owner's uid", 5, SCOLS_FL_RIGHT },
        [COL_GID] = { "GID", "owner's gid", 5, SCOLS_FL_RIGHT },
        [COL_NATTCH] = { "NATTCH", "shm attachments, as the kernel counts them", 3, SCOLS_FL_RIGHT },
        [COL_CTIME] = { "CTIME", "last change, ISO 8601", 20, 0 },
        [COL_VERDICT] = { "VERDICT", "LIVE ORPHAN PENDING PROTECTED REPORTED UNKNOWN", 7, 0 },
        [COL_REASON] = { "REASON", "why, in one line", 0.4, SCOLS_FL_TRUNC },
        [COL_RULE] = { "RULE", "the rule that matched", 8, 0 },
        [COL_IDLE] = { "IDLE", "time since the last recorded activity", 4, SCOLS_FL_RIGHT },
};

#define DEFAULT_COLUMNS "TYPE,ID,KEY/NAME,OWNER,PERMS,SIZE,CPID,LPID,HOLDERS,AGE,VERDICT,REASON"

static void help(void) {
        printf("Usage: ipcgc list [OPTIONS]\n"
               "\n"
               "List IPC objects with their owners and holders.\n"
               "\n"
               "Options:\n"
               "  -t, --types TYPES   only these types (shm,msg,sem,mq,pshm,psem,fifo)\n"
               "  -u, --user USER     only objects owned by USER (name or uid)\n"
               "      --verdict V     only objects judged V (LIVE, ORPHAN, ...; comma list)\n"
               "  -o, --output COLS   columns to show; +COLS adds to the default\n"
               "  -b, --bytes         sizes in bytes\n"
               "  -r, --raw           raw output\n"
               "  -n, --noheadings    no header line\n"
               "  -J, --json          JSON: {\"objects\":[...]}, every field of every object\n"
               "      --config FILE   read FILE for [Scan]\n"
               "      --local         run the engine in this process\n");
        table_help_columns(stdout, columns, ELEMENTSOF(columns));
}

static int pids_to_string(const pid_t *pids, size_t n, char *buf, size_t size) {
        size_t used = 0;
        buf[0] = 0;
        for (size_t i = 0; i < n; i++) {
                int k = snprintf(buf + used, size - used, "%s%d", i ? "," : "", (int) pids[i]);
                if (k < 0 || (size_t) k >= size - used) {
                        /* Say how many more rather than cut a pid in half. */
                        snprintf(buf + used, size - used, ",+%zu", n - i);
                        break;
                }
                used += (size_t) k;
        }
        return 0;
}

static void pid_cell(char *buf, size_t size, pid_t pid) {
        if (pid == PID_NONE)
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, "%d", (int) pid);
}

static int add_line(struct libscols_table *t, const struct ipc_object *o, const struct judgement *j, const int *ids,
                    size_t n, bool bytes, time_t now) {
        struct libscols_line *ln = scols_table_new_line(t, NULL);
        if (!ln)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                char buf[256];
                const char *v = buf;
                _cleanup_free_ char *id = NULL;

                switch (ids[i]) {
                case COL_TYPE:
                        v = ipc_type_to_string(o->type);
                        break;
                case COL_ID:
                        v = id = ipc_object_id(o);
                        if (!id)
                                return -ENOMEM;
                        break;
                case COL_KEYNAME:
                        if (ipc_type_is_sysv(o->type))
                                snprintf(buf, sizeof(buf), "0x%08" PRIx32, (uint32_t) o->key);
                        else
                                v = o->name;
                        break;
                case COL_OWNER: {
                        char ubuf[16];
                        v = cli_user_name(o->uid, ubuf);
                        snprintf(buf, sizeof(buf), "%s", v);
                        v = buf;
                        break;
                }
                case COL_PERMS:
                        format_perms(buf, o->mode);
                        break;
                case COL_SIZE:
                        if (o->type == IPC_TYPE_SEM || (o->flags & IPC_OBJECT_MQ_UNREADABLE))
                                v = "-";
                        else if (bytes)
                                snprintf(buf, sizeof(buf), "%" PRIu64, o->size);
                        else
                                format_bytes(buf, o->size);
                        break;
                case COL_CPID:
                        pid_cell(buf, sizeof(buf), o->cpid);
                        break;
                case COL_LPID:
                        pid_cell(buf, sizeof(buf), o->lpid);
                        break;
                case COL_HOLDERS:
                        pids_to_string(o->holders, o->n_holders, buf, sizeof(buf));
                        break;
                case COL_AGE:
                        format_duration(buf, now > o->ctime ? (uint64_t) (now - o->ctime) : 0);
                        break;
                case COL_UID:
                        snprintf(buf, sizeof(buf), "%u", (unsigned) o->uid);
                        break;
                case COL_GID:
                        snprintf(buf, sizeof(buf), "%u", (unsigned) o->gid);
                        break;
                case COL_NATTCH:
                        if (o->type == IPC_TYPE_SHM)
                                snprintf(buf, sizeof(buf), "%" PRIu64, o->nattch);
                        else
                                v = "-";
                        break;
                case COL_VERDICT:
                        v = verdict_to_string(j->verdict);
                        break;
                case COL_REASON:
                        v = j->reason;
                        break;
                case COL_RULE:
                        v = j->rule ? j->rule->name : "-";
                        break;
                case COL_IDLE:
                        format_duration(buf, j->idle);
                        break;
                case COL_CTIME: {
                        struct tm tm;
                        if (!localtime_r(&o->ctime, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm) == 0)
                                v = "-";
                        break;
                }
                }
                if (scols_line_set_data(ln, i, v) < 0)
                        return -ENOMEM;
        }
        return 0;
}

struct filter {
        bool by_user;
        uid_t uid;
        unsigned verdicts; /* bits of enum verdict; 0: all */
};

static bool selected(const struct filter *f, const struct ipc_object *o, const struct judgement *j) {
        return (!f->by_user || o->uid == f->uid) && (!f->verdicts || (f->verdicts & (1u << j->verdict)));
}

static int parse_verdicts(const char *s, unsigned *ret) {
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;
        unsigned mask = 0;

        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ", ", &save); w; w = strtok_r(NULL, ", ", &save)) {
                int v = verdict_from_string(w);
                if (v < 0)
                        return v;
                mask |= 1u << v;
        }
        if (!mask)
                return -EINVAL;
        *ret = mask;
        return 0;
}

static int print_json(const struct inventory *inv, const struct judgement *js, const struct filter *f) {
        json_object *root = json_object_new_object(), *arr = json_object_new_array();
        int r = 0;

        if (!root || !arr || json_object_object_add(root, "objects", arr) < 0) {
                json_object_put(root);
                json_object_put(arr);
                return -ENOMEM;
        }
        for (size_t i = 0; i < inv->n_objects; i++) {
                json_object *j;
                if (!selected(f, &inv->objects[i], &js[i]))
                        continue;
                r = object_to_json(&inv->objects[i], &j);
                if (r < 0)
                        break;
                r = judgement_to_json(&js[i], false, j);
                if (r < 0) {
                        json_object_put(j);
                        break;
                }
                if (json_object_array_add(arr, j) < 0) {
                        json_object_put(j);
                        r = -ENOMEM;
                        break;
                }
        }
        if (r == 0)
                puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return r;
}

int cmd_list(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "types", required_argument, NULL, 't' },   { "user", required_argument, NULL, 'u' },
                { "output", required_argument, NULL, 'o' },  { "bytes", no_argument, NULL, 'b' },
                { "raw", no_argument, NULL, 'r' },           { "noheadings", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'J' },          { "verdict", required_argument, NULL, 'V' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        _cleanup_(config_freep) struct config *config = NULL;
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_(proctab_freep) struct proctab *pt = NULL;
        struct judgement *js = NULL;
        struct table_options topts = {};
        struct filter filter = {};
        unsigned types = 0;
        bool bytes = false;
        int ids[TABLE_MAX_COLUMNS];
        size_t n_ids;
        int c, r;

        while ((c = getopt_long(argc, argv, "t:u:o:brnJhV:", options, NULL)) >= 0) {
                if (cli_common_option(cli, c, optarg))
                        continue;
                switch (c) {
                case 't':
                        if (ipc_type_mask_parse(optarg, &types) < 0) {
                                cli_usage_error("invalid --types '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'u':
                        if (cli_parse_user(optarg, &filter.uid) < 0) {
                                cli_usage_error("unknown user '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        filter.by_user = true;
                        break;
                case 'V':
                        if (parse_verdicts(optarg, &filter.verdicts) < 0) {
                                cli_usage_error("invalid --verdict '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'o':
                        topts.output = optarg;
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
                        return EXIT_USAGE; /* getopt said why */
                }
        }
        if (optind < argc) {
                cli_usage_error("list takes no arguments, got '%s'", argv[optind]);
                return EXIT_USAGE;
        }
        if (table_select(columns, ELEMENTSOF(columns), DEFAULT_COLUMNS, topts.output, ids, &n_ids) < 0)
                return EXIT_USAGE;

        if (cli_load_config(cli, &config) < 0)
                return EXIT_FAIL;
        if (cli_judge(cli, config, types, &inv, &pt, &js) < 0)
                return EXIT_FAIL;

        if (topts.json) {
                r = print_json(inv, js, &filter);
                judgements_free(js, inv->n_objects);
                if (r < 0) {
                        fprintf(stderr, "ipcgc: failed to format JSON: %s\n", strerror(-r));
                        return EXIT_FAIL;
                }
                return EXIT_OK;
        }

        struct libscols_table *t = table_new(columns, ids, n_ids, &topts);
        if (!t) {
                judgements_free(js, inv->n_objects);
                fprintf(stderr, "ipcgc: out of memory\n");
                return EXIT_FAIL;
        }
        time_t now = time(NULL);
        for (size_t i = 0; i < inv->n_objects; i++) {
                if (!selected(&filter, &inv->objects[i], &js[i]))
                        continue;
                r = add_line(t, &inv->objects[i], &js[i], ids, n_ids, bytes, now);
                if (r < 0) {
                        judgements_free(js, inv->n_objects);
                        scols_unref_table(t);
                        fprintf(stderr, "ipcgc: out of memory\n");
                        return EXIT_FAIL;
                }
        }
        scols_print_table(t);
        scols_unref_table(t);
        judgements_free(js, inv->n_objects);
        return EXIT_OK;
}
