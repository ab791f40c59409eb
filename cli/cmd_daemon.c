/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The commands about the daemon: its state, its history, reloading it
 * (only the daemon can answer those), and its metrics (--local too). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "format.h"
#include "table.h"

struct daemon_opts {
        bool local_ok; /* the command has an answer with --local */
        bool json, raw, noheadings;
        int64_t limit;
};

/* Parses the few options these commands share; returns -1 to go on, else
 * an exit code. */
static int parse(struct cli *cli, int argc, char **argv, const char *usage, bool with_limit, struct daemon_opts *o) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'J' },          { "raw", no_argument, NULL, 'r' },
                { "noheadings", no_argument, NULL, 'n' },    { "limit", required_argument, NULL, 'l' },
                CLI_COMMON_LONG_OPTIONS,
                {},
        };
        struct table_options topts = {};
        int c, rc;

        while ((c = cli_option(cli, argc, argv, "Jrnl:h", options, &topts, NULL, &rc)) > 0) {
                switch (c) {
                case 'l': {
                        char *end;
                        o->limit = strtoll(optarg, &end, 10);
                        if (!with_limit || *end || o->limit < 0) {
                                cli_usage_error("invalid --limit '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                }
                case 'h':
                        fputs(usage, stdout);
                        return EXIT_OK;
                }
        }
        if (c < 0)
                return rc;
        o->json = topts.json;
        o->raw = topts.raw;
        o->noheadings = topts.noheadings;
        if (!cli_no_arguments(argc, argv, argv[0]))
                return EXIT_USAGE;
        if (cli->local && !o->local_ok) {
                cli_usage_error("%s asks the daemon; there is nothing to ask with --local", argv[0]);
                return EXIT_USAGE;
        }
        return -1;
}

int cmd_status(struct cli *cli, int argc, char **argv) {
        struct daemon_opts o = {};
        json_object *s = NULL, *v;
        char buf[FORMAT_DURATION_MAX];
        int64_t n;
        int r;

        r = parse(cli, argc, argv,
                  "Usage: ipcgc status [-J]\n\nThe daemon's state: its configuration, sweeps, verdict counts.\n", false,
                  &o);
        if (r >= 0)
                return r;
        r = cli_call(cli, "io.ipcgc.GetStatus", NULL, &s);
        if (r != EXIT_OK)
                return r;
        if (o.json) {
                cli_print_json(s);
                json_object_put(s);
                return EXIT_OK;
        }
        printf("ipcgcd %s, pid %s, up %s\n", strna(json_str(s, "version")), strna(json_str(s, "pid")),
               json_int(s, "uptime_usec", &n) ? format_duration(buf, (uint64_t) n / 1000000u) : "?");
        printf("  config:   %s (%s rules)%s\n", strna(json_str(s, "config")), strna(json_str(s, "rules")),
               json_object_object_get_ex(s, "dry_run", &v) && json_object_get_boolean(v) ? ", dry run" : "");
        printf("  sweeps:   %s, every %s", strna(json_str(s, "sweeps")),
               json_int(s, "interval_usec", &n) ? format_duration(buf, (uint64_t) n / 1000000u) : "?");
        printf("%s\n", json_object_object_get_ex(s, "process_events", &v) && json_object_get_boolean(v)
                               ? " and on process exits"
                               : " (process events off)");
        if (json_int(s, "last_sweep", &n)) {
                int64_t took = 0;
                (void) json_int(s, "last_sweep_usec", &took);
                time_t now = time(NULL);
                printf("  last:     %s ago, took %.1f ms\n", format_duration(buf, now > n ? (uint64_t) (now - n) : 0),
                       (double) took / 1000.0);
        }
        printf("  objects:  %s", strna(json_str(s, "objects")));
        if (json_object_object_get_ex(s, "verdicts", &v))
                cli_print_counts(v, " (", ")");
        printf("\n  removed:  %s, skipped %s, failed %s since start\n", strna(json_str(s, "removed_total")),
               strna(json_str(s, "skipped_total")), strna(json_str(s, "failed_total")));
        json_object_put(s);
        return EXIT_OK;
}

static const struct column history_columns[] = {
        { "TIME", "when", 19, 0 },       { "ACTION", "removed, skipped, failed, stopped", 8, 0 },
        { "ID", "object", 12, 0 },       { "KEY", "System V key", 10, 0 },
        { "OWNER", "owner", 8, 0 },      { "SIZE", "size", 6, SCOLS_FL_RIGHT },
        { "VERDICT", "verdict then", 7, 0 },
        { "RULE", "rule", 8, 0 },        { "REASON", "why", 0.5, SCOLS_FL_WRAP },
        { "ARCHIVE", "the archive entry a removed object went to", 10, 0 },
};

int cmd_history(struct cli *cli, int argc, char **argv) {
        static const int ids[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
        struct daemon_opts o = { .limit = 50 };
        json_object *reply = NULL, *params, *entries;
        int r;

        r = parse(cli, argc, argv,
                  "Usage: ipcgc history [-l N] [-J] [-r] [-n]\n\nThe daemon's most recent actions, newest first "
                  "(default 50).\n",
                  true, &o);
        if (r >= 0)
                return r;
        params = json_object_new_object();
        json_object_object_add(params, "limit", json_object_new_int64(o.limit));
        r = cli_call(cli, "io.ipcgc.GetHistory", params, &reply);
        if (r != EXIT_OK)
                return r;
        if (o.json) {
                cli_print_json(reply);
                json_object_put(reply);
                return EXIT_OK;
        }
        struct table_options topts = { .raw = o.raw, .noheadings = o.noheadings };
        struct libscols_table *t = table_new(history_columns, ids, ELEMENTSOF(history_columns), &topts);
        if (!t || !json_object_object_get_ex(reply, "entries", &entries)) {
                if (t)
                        scols_unref_table(t);
                json_object_put(reply);
                return EXIT_FAIL;
        }
        for (size_t i = 0; i < json_object_array_length(entries); i++) {
                json_object *e = json_object_array_get_idx(entries, i);
                char when[32] = "-";
                int64_t v;
                if (json_int(e, "time", &v)) {
                        time_t tt = (time_t) v;
                        struct tm tm;
                        if (localtime_r(&tt, &tm))
                                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
                }
                /* What the object was, as `ipcgc archive` shows it. */
                char key[16] = "-", owner[16], size[FORMAT_BYTES_MAX] = "-";
                const char *user = json_int(e, "uid", &v) ? cli_user_name((uid_t) v, owner) : NULL;
                if (json_int(e, "key", &v))
                        snprintf(key, sizeof(key), "0x%08" PRIx32, (uint32_t) v);
                if (json_int(e, "size", &v))
                        format_bytes(size, (uint64_t) v);
                const char *cells[] = { when,
                                        json_str(e, "action"),
                                        json_str(e, "id"),
                                        key,
                                        user,
                                        size,
                                        json_str(e, "verdict"),
                                        json_str(e, "rule"),
                                        json_str(e, "reason"),
                                        json_str(e, "archive") };
                struct libscols_line *ln = scols_table_new_line(t, NULL);
                for (size_t k = 0; ln && k < ELEMENTSOF(cells); k++)
                        (void) scols_line_set_data(ln, k, cells[k] ? cells[k] : "-");
        }
        if (json_object_array_length(entries))
                scols_print_table(t);
        else if (!o.raw && !o.noheadings)
                printf("no actions yet\n");
        scols_unref_table(t);
        json_object_put(reply);
        return EXIT_OK;
}

int cmd_reload(struct cli *cli, int argc, char **argv) {
        struct daemon_opts o = {};
        json_object *reply = NULL;
        int r;

        r = parse(cli, argc, argv,
                  "Usage: ipcgc reload\n\nMake ipcgcd re-read its configuration. A bad file is refused\n"
                  "with FILE:LINE and the running configuration stays.\n",
                  false, &o);
        if (r >= 0)
                return r;
        r = cli_call(cli, "io.ipcgc.Reload", NULL, &reply);
        json_object_put(reply);
        return r;
}

int cmd_metrics(struct cli *cli, int argc, char **argv) {
        struct daemon_opts o = { .local_ok = true };
        json_object *reply = NULL, *params = NULL, *families;
        int r;

        r = parse(cli, argc, argv,
                  "Usage: ipcgc metrics [-J] [--local]\n\nMetrics in the Prometheus text format: the daemon's, "
                  "or with --local\nof a judgement made now (without the daemon's counters).\n"
                  "-J prints the families they are made of as JSON.\n",
                  false, &o);
        if (r >= 0)
                return r;
        if (o.json) {
                params = json_object_new_object();
                if (params)
                        json_object_object_add(params, "families", json_object_new_boolean(true));
        }
        r = cli_call(cli, "io.ipcgc.GetMetrics", params, &reply);
        if (r != EXIT_OK)
                return r;
        if (o.json) {
                /* What the text is made of, as every -J: an object. */
                json_object *out = json_object_new_object();
                if (out && json_object_object_get_ex(reply, "families", &families))
                        json_object_object_add(out, "families", json_object_get(families));
                cli_print_json(out);
                json_object_put(out);
        } else
                fputs(strempty(json_str(reply, "text")), stdout);
        json_object_put(reply);
        return EXIT_OK;
}
