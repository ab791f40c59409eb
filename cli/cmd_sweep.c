/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <inttypes.h>
#include <stdlib.h>

#include "cli.h"
#include "format.h"
#include "table.h"

static const struct column columns[] = {
        { "ACTION", "removed, would-remove, skipped, failed, stopped; wait, report, keep, not-tried", 1, 0 },
        { "ID", "object id, as explain and rm take it", 1, TABLE_FL_ID },
        { "TYPE", "object type", 1, 0 },
        { "OWNER", "owner's user name or uid", 1, 0 },
        { "SIZE", "bytes held", 1, SCOLS_FL_RIGHT },
        { "VERDICT", "verdict when acted on", 1, 0 },
        { "RULE", "matching rule", 1, 0 },
        { "IDLE", "time since the last recorded activity", 1, SCOLS_FL_RIGHT },
        { "REASON", "why", 1, TABLE_FL_FREE },
        { "ARCHIVE", "the archive entry a removed object went to", 1, 0 },
};
enum { COL_ACTION, COL_ID, COL_TYPE, COL_OWNER, COL_SIZE, COL_VERDICT, COL_RULE, COL_IDLE, COL_REASON, COL_ARCHIVE };

#define DEFAULT_COLUMNS "ACTION,ID,OWNER,SIZE,VERDICT,REASON"

static void help(void) {
        printf("Usage: ipcgc sweep [OPTIONS]\n"
               "\n"
               "Judge every object and remove those judged ORPHAN, at most\n"
               "MaxRemovalsPerSweep of them. Each is re-read and re-judged right\n"
               "before removal; anything that changed is skipped.\n"
               "\n"
               "Shows what it judged: every object not LIVE (with --all, every one),\n"
               "what was done with it or, in a dry run, would be done, and why; then\n"
               "the counts.  An object the sweep did not act on is one a sweep leaves\n"
               "to wait (PENDING, until its MinAge), to report (REPORTED), to keep\n"
               "(PROTECTED, UNKNOWN, LIVE), or not-tried (past MaxRemovalsPerSweep).\n"
               "\n"
               "Options:\n"
               "      --dry-run       remove nothing; say what would be removed\n"
               "  -t, --types TYPES   only these types\n"
               "  -a, --all           show the LIVE objects too\n"
               "  -o, --output COLS   columns to show; +COLS adds to the default\n"
               "  -b, --bytes         sizes in bytes\n"
               "      --notruncate    never cut a reason to fit the terminal\n"
               "  -r, --raw           raw output\n"
               "  -e, --export        NAME=\"value\" pairs, one object a line\n"
               "  -y, --shell         column names usable as shell variable names\n"
               "  -n, --noheadings    no header line\n"
               "  -J, --json          JSON: {\"records\":[...], \"removed\":N, ...}\n"
               "      --all-namespaces\n"
               "                      in every IPC namespace on the host, each judged with its\n"
               "                      own processes and swept from inside it; needs --local\n"
               "      --namespace NS  only in the IPC namespace NS: its inode or its name\n"
               "      --config FILE   read FILE instead of the default configuration\n"
               "      --local         run the engine in this process\n"
               "\n"
               "Default columns: %s (and ARCHIVE but for --dry-run)\n"
               "\n"
               "Exit status: 0 when nothing failed, 1 when a removal failed.\n",
               DEFAULT_COLUMNS);
        table_help_columns(stdout, columns, ELEMENTSOF(columns));
}

/* What a sweep does with an object it has no record of, by its verdict. */
static const char *action_of(const char *verdict) {
        static const struct {
                const char *verdict, *action;
        } map[] = {
                { "ORPHAN", "not-tried" }, { "PENDING", "wait" },  { "REPORTED", "report" },
                { "PROTECTED", "keep" },   { "UNKNOWN", "keep" }, { "LIVE", "keep" },
        };
        for (size_t i = 0; verdict && i < ELEMENTSOF(map); i++)
                if (strcmp(verdict, map[i].verdict) == 0)
                        return map[i].action;
        return NULL;
}

struct row {
        json_object *o; /* a record of the sweep, or an object of the listing */
        bool record;
        struct table_id_key key;
};

struct sweep_rows {
        struct row *rows;
        size_t n, next;
        const int *ids;
        size_t n_ids;
        bool bytes;
        char buf[TABLE_MAX_COLUMNS][FORMAT_BYTES_MAX + 16];
};

static int sweep_next(void *userdata, const char **cells) {
        struct sweep_rows *s = userdata;
        int64_t v;

        if (s->next >= s->n)
                return 0;
        const struct row *row = &s->rows[s->next++];
        json_object *o = row->o;
        for (size_t i = 0; i < s->n_ids; i++) {
                char *buf = s->buf[i];
                const char *c = NULL;
                switch (s->ids[i]) {
                case COL_ACTION:
                        c = row->record ? json_str(o, "action") : action_of(json_str(o, "verdict"));
                        break;
                case COL_ID:
                        c = json_str(o, "id");
                        break;
                case COL_TYPE:
                        c = json_str(o, "type");
                        break;
                case COL_OWNER:
                        c = json_int(o, "uid", &v) ? cli_user_name((uid_t) v, buf) : NULL;
                        break;
                case COL_SIZE:
                        if (json_int(o, "size", &v) && !(json_str(o, "type") && strcmp(json_str(o, "type"), "sem") == 0)) {
                                if (s->bytes)
                                        snprintf(buf, sizeof(s->buf[i]), "%" PRId64, v);
                                else
                                        format_bytes(buf, (uint64_t) v);
                                c = buf;
                        }
                        break;
                case COL_VERDICT:
                        /* A stopped record is of no object. */
                        c = json_str(o, "id") ? json_str(o, "verdict") : NULL;
                        break;
                case COL_RULE:
                        c = json_str(o, "rule");
                        break;
                case COL_IDLE:
                        c = json_int(o, "idle", &v) ? format_duration(buf, (uint64_t) v) : NULL;
                        break;
                case COL_REASON:
                        c = json_str(o, "reason");
                        break;
                case COL_ARCHIVE:
                        c = json_str(o, "archive");
                        break;
                }
                cells[i] = c;
        }
        return 1;
}

static void sweep_rewind(void *userdata) {
        struct sweep_rows *s = userdata;
        s->next = 0;
}

static int row_compare(const void *x, const void *y) {
        const struct row *a = x, *b = y;
        if (a->record != b->record)
                return a->record ? -1 : 1; /* what was done first, in the order it was done */
        if (a->record)
                return 0;
        return table_id_key_compare(&a->key, &b->key);
}

/* The rows: every record of the sweep, then every object of LISTED that has
 * none, sorted. */
static int collect_rows(json_object *records, json_object *listed, struct row **ret, size_t *ret_n) {
        size_t n_rec = records ? json_object_array_length(records) : 0;
        size_t n_obj = listed ? json_object_array_length(listed) : 0, n = 0;
        _cleanup_free_ struct row *rows = calloc(n_rec + n_obj + 1, sizeof(*rows));

        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < n_rec; i++)
                rows[n++] = (struct row) { .o = json_object_array_get_idx(records, i), .record = true };
        for (size_t i = 0; i < n_obj; i++) {
                json_object *o = json_object_array_get_idx(listed, i);
                const char *id = json_str(o, "id");
                bool seen = false;
                for (size_t k = 0; id && !seen && k < n_rec; k++) {
                        const char *rid = json_str(rows[k].o, "id");
                        seen = rid && strcmp(rid, id) == 0;
                }
                if (!id || seen)
                        continue;
                rows[n] = (struct row) { .o = o };
                if (table_id_key(id, strlen(id), &rows[n].key) < 0)
                        return -EBADMSG;
                n++;
        }
        if (n > 0) /* qsort(NULL, 0) is undefined */
                qsort(rows, n, sizeof(*rows), row_compare);
        *ret = TAKE_PTR(rows);
        *ret_n = n;
        return 0;
}

static int print_table(json_object *reply, json_object *listed, const int *ids, size_t n_ids,
                       const struct table_options *o, bool bytes, bool all) {
        json_object *records = NULL, *b;
        int64_t removed = 0, would = 0, skipped = 0, failed = 0;
        struct sweep_rows rows = { .ids = ids, .n_ids = n_ids, .bytes = bytes };
        int r;

        (void) json_object_object_get_ex(reply, "records", &records);
        r = collect_rows(records, listed, &rows.rows, &rows.n);
        if (r < 0)
                return r;
        if (rows.n > 0 || o->raw || o->export || o->noheadings)
                r = table_draw(columns, ids, n_ids, o, &(const struct table_rows) { sweep_next, sweep_rewind, &rows });
        free(rows.rows);
        if (r < 0)
                return r;
        if (o->raw || o->export || o->noheadings)
                return 0;

        bool dry_run = json_object_object_get_ex(reply, "dry_run", &b) && json_object_get_boolean(b);
        bool stopped = json_object_object_get_ex(reply, "stopped", &b) && json_object_get_boolean(b);
        (void) json_int(reply, "removed", &removed);
        (void) json_int(reply, "would_remove", &would);
        (void) json_int(reply, "skipped", &skipped);
        (void) json_int(reply, "failed", &failed);
        json_object *judged;
        if (json_object_object_get_ex(reply, "judged", &judged)) {
                int64_t total = 0;
                const char *sep = ": ";
                json_object_object_foreach(judged, v, count) {
                        (void) v;
                        total += json_object_get_int64(count);
                }
                printf("%sjudged %" PRId64 " object%s", rows.n ? "\n" : "", total, total == 1 ? "" : "s");
                json_object_object_foreach(judged, verdict, cnt) {
                        int64_t k = json_object_get_int64(cnt);
                        if (k == 0)
                                continue;
                        printf("%s%" PRId64 " %s%s", sep, k, verdict,
                               !all && strcmp(verdict, "LIVE") == 0 ? " (not shown: --all shows them)" : "");
                        sep = ", ";
                }
                putchar('\n');
        }
        printf("%" PRId64 " %s, %" PRId64 " skipped, %" PRId64 " failed%s\n", dry_run ? would : removed,
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
struct merged {
        json_object *reply;
        /* For the table: each namespace's judgement, listed right after
         * its sweep (NULL for -J); and what to list. */
        json_object *listed;
        json_object *list_params;
};

static int merge_one(struct cli *cli, const struct ipcns *ns, const char *text, size_t len, void *userdata) {
        struct merged *m = userdata;
        json_object *all = m->reply, *one = json_tokener_parse(text), *records, *judged, *into;

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
        if (m->listed) {
                /* This namespace's engine, still: its objects named as its
                 * records are. */
                json_object *list = NULL, *objects;
                int r = cli_call(cli, "io.ipcgc.List", json_object_get(m->list_params), &list);
                if (r != EXIT_OK)
                        return r;
                if (json_object_object_get_ex(list, "objects", &objects) && json_object_is_type(objects, json_type_array))
                        for (size_t i = 0; i < json_object_array_length(objects); i++)
                                json_object_array_add(m->listed, json_object_get(json_object_array_get_idx(objects, i)));
                json_object_put(list);
        }
        return EXIT_OK;
}

int cmd_sweep(struct cli *cli, int argc, char **argv) {
        enum { OPT_DRY_RUN = 0x200 };
        static const struct option options[] = {
                { "dry-run", no_argument, NULL, OPT_DRY_RUN }, { "types", required_argument, NULL, 't' },
                { "all", no_argument, NULL, 'a' },             { "output", required_argument, NULL, 'o' },
                { "bytes", no_argument, NULL, 'b' },           { "raw", no_argument, NULL, 'r' },
                { "noheadings", no_argument, NULL, 'n' },      { "json", no_argument, NULL, 'J' },
                TABLE_LONG_OPTIONS,                            CLI_COMMON_LONG_OPTIONS,
                CLI_NAMESPACE_LONG_OPTIONS,
                {},
        };
        json_object *reply = NULL, *params, *list = NULL, *listed = NULL;
        struct table_options topts = {};
        unsigned types = 0;
        bool dry_run = false, all = false, bytes = false;
        int ids[TABLE_MAX_COLUMNS];
        size_t n_ids;
        int c, r;

        int rc;
        while ((c = cli_option(cli, argc, argv, "t:ao:brnJeyh", options, &topts, help, &rc)) > 0) {
                switch (c) {
                case OPT_DRY_RUN:
                        dry_run = true;
                        break;
                case 't':
                        if (!cli_parse_types(optarg, &types))
                                return EXIT_USAGE;
                        break;
                case 'a':
                        all = true;
                        break;
                case 'b':
                        bytes = true;
                        break;
                }
        }
        if (c < 0)
                return rc;
        if (!cli_no_arguments(argc, argv, "sweep") || !table_check(&topts))
                return EXIT_USAGE;
        /* A real sweep says where each removal was archived. */
        if (table_select(columns, ELEMENTSOF(columns), dry_run ? DEFAULT_COLUMNS : DEFAULT_COLUMNS ",ARCHIVE",
                         topts.output, ids, &n_ids) < 0)
                return EXIT_USAGE;

        params = json_object_new_object();
        json_object_object_add(params, "dry_run", json_object_new_boolean(dry_run));
        if (types)
                json_object_object_add(params, "types", cli_names_array(types, false));
        bool ns_ok;
        int ns_rc = EXIT_OK; /* a namespace that could not be swept at all */
        /* What the table lists besides the records, as below. */
        unsigned verdicts = all ? 0 : ((1u << _VERDICT_MAX) - 1) & ~(1u << VERDICT_LIVE);
        _cleanup_(json_object_putp) json_object *list_params = json_object_new_object();
        if (types)
                json_object_object_add(list_params, "types", cli_names_array(types, false));
        if (verdicts)
                json_object_object_add(list_params, "verdicts", cli_names_array(verdicts, true));
        _cleanup_(json_object_putp) json_object *ns_listed = NULL;
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
                ns_listed = topts.json ? NULL : json_object_new_array();
                struct merged m = { .reply = reply, .listed = ns_listed, .list_params = list_params };
                r = ns_rc = cli_each_namespace(cli, "io.ipcgc.Sweep", params, merge_one, &m);
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
        else {
                /* What the sweep judged, of which it kept no record: the
                 * judgement it was made from, as the engine keeps it (each
                 * namespace's, listed after its sweep). */
                if (ns_listed)
                        listed = ns_listed;
                else {
                        r = cli_call(cli, "io.ipcgc.List", json_object_get(list_params), &list);
                        if (r != EXIT_OK) {
                                json_object_put(reply);
                                return r;
                        }
                        (void) json_object_object_get_ex(list, "objects", &listed);
                }
                r = print_table(reply, listed, ids, n_ids, &topts, bytes, all);
                json_object_put(list);
                if (r < 0) {
                        json_object_put(reply);
                        fprintf(stderr, "ipcgc: %s\n", r == -EBADMSG ? "malformed reply" : "out of memory");
                        return EXIT_FAIL;
                }
        }
        int64_t failed = 0;
        (void) json_int(reply, "failed", &failed);
        json_object_put(reply);
        return failed || ns_rc != EXIT_OK ? EXIT_FAIL : EXIT_OK;
}
