/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "report.h"
#include "format.h"
#include "table.h"

static void help(void) {
        printf("Usage: ipcgc audit [OPTIONS]\n"
               "\n"
               "IPC use per user and type; every kernel limit lsipc -g shows and\n"
               "fs.mqueue's, with its use; what each user's POSIX queues charge\n"
               "against RLIMIT_MSGQUEUE.  -t narrows the rows per user, never the\n"
               "limits' use (that is of every object in the namespace).\n"
               "\n"
               "Options:\n"
               "  -t, --types TYPES   only these types\n"
               "  -b, --bytes         sizes in bytes\n"
               "  -r, --raw           raw output\n"
               "  -n, --noheadings    no header line\n"
               "  -J, --json          JSON: {\"usage\":[...],\"limits\":[...],\"mqueue_rlimit\":[...]}\n"
               "      --config FILE   read FILE for [Scan]\n"
               "      --all-namespaces\n"
               "                      each IPC namespace's use against its own limits, as\n"
               "                      {\"namespaces\":[{ipcns,container,own,usage,limits}]}\n"
               "      --namespace NS  only the IPC namespace NS: its inode or its name\n"
               "      --local         run the engine in this process\n");
}

static const struct column usage_columns[] = {
        { "USER", "owner", 8, 0 },
        { "TYPE", "object type", 4, 0 },
        { "COUNT", "objects", 5, SCOLS_FL_RIGHT },
        { "BYTES", "bytes held", 6, SCOLS_FL_RIGHT },
};
static const struct column limit_columns[] = {
        { "LIMIT", "kernel limit", 10, 0 },
        { "SCOPE", "system: the namespace's total; object: each object's, the largest shown", 6, 0 },
        { "USED", "in use", 6, SCOLS_FL_RIGHT },
        { "MAX", "limit", 6, SCOLS_FL_RIGHT },
        { "USE%", "share of the limit", 5, SCOLS_FL_RIGHT },
};
static const struct column mq_columns[] = {
        { "USER", "owner of the queues", 8, 0 },
        { "QUEUES", "POSIX message queues", 6, SCOLS_FL_RIGHT },
        { "CHARGED", "bytes charged against RLIMIT_MSGQUEUE", 7, SCOLS_FL_RIGHT },
        { "RLIMIT", "RLIMIT_MSGQUEUE processes start with", 6, SCOLS_FL_RIGHT },
        { "USE%", "share of the limit", 5, SCOLS_FL_RIGHT },
};

/* 100 * USED / the limit sent as LIMIT_TEXT (shmall can exceed what int64
 * holds: then it is read as text). */
static void percent(char *buf, size_t size, int64_t used, json_object *l, const char *limit_text) {
        int64_t mx;
        double max = json_int(l, "limit", &mx) ? (double) mx : strtod(limit_text, NULL);
        if (max > 0)
                snprintf(buf, size, "%.1f%%", 100.0 * (double) used / max);
}

static int print_tables(json_object *reply, const struct table_options *o, bool bytes) {
        static const int all[] = { 0, 1, 2, 3, 4 };
        json_object *usage = NULL, *limits = NULL, *mq = NULL;
        struct libscols_table *t;
        int r = 0;

        (void) json_object_object_get_ex(reply, "usage", &usage);
        (void) json_object_object_get_ex(reply, "limits", &limits);
        (void) json_object_object_get_ex(reply, "mqueue_rlimit", &mq);

        t = table_new(usage_columns, all, ELEMENTSOF(usage_columns), o);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; r == 0 && usage && i < json_object_array_length(usage); i++) {
                json_object *u = json_object_array_get_idx(usage, i);
                char count[24] = "-", size[FORMAT_BYTES_MAX] = "-";
                int64_t v;
                if (json_int(u, "count", &v))
                        snprintf(count, sizeof(count), "%" PRId64, v);
                if (json_int(u, "bytes", &v)) {
                        if (bytes)
                                snprintf(size, sizeof(size), "%" PRId64, v);
                        else
                                format_bytes(size, (uint64_t) v);
                }
                const char *cells[] = { json_str(u, "user"), json_str(u, "type"), count, size };
                r = table_add_line(t, cells, ELEMENTSOF(cells));
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
        for (size_t i = 0; r == 0 && limits && i < json_object_array_length(limits); i++) {
                json_object *l = json_object_array_get_idx(limits, i);
                char used[24] = "-", max[24] = "?", pct[16] = "-";
                int64_t u = 0;
                bool has_used = json_int(l, "used", &u);
                if (has_used)
                        snprintf(used, sizeof(used), "%" PRId64, u);
                const char *limit_text = json_str(l, "limit");
                if (limit_text) {
                        snprintf(max, sizeof(max), "%s", limit_text);
                        if (has_used)
                                percent(pct, sizeof(pct), u, l, limit_text);
                }
                const char *cells[] = { json_str(l, "name"), json_str(l, "scope"), used, max, pct };
                r = table_add_line(t, cells, ELEMENTSOF(cells));
        }
        if (r == 0)
                scols_print_table(t);
        scols_unref_table(t);
        if (r < 0 || !mq || json_object_array_length(mq) == 0)
                return r;

        fputc('\n', stdout);
        t = table_new(mq_columns, all, ELEMENTSOF(mq_columns), o);
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; r == 0 && i < json_object_array_length(mq); i++) {
                json_object *m = json_object_array_get_idx(mq, i);
                char queues[24] = "-", charged[FORMAT_BYTES_MAX] = "-", limit[FORMAT_BYTES_MAX] = "?", pct[16] = "?";
                int64_t v = 0, b = 0;
                if (json_int(m, "queues", &v))
                        snprintf(queues, sizeof(queues), "%" PRId64, v);
                if (json_int(m, "bytes", &b))
                        bytes ? (void) snprintf(charged, sizeof(charged), "%" PRId64, b)
                              : (void) format_bytes(charged, (uint64_t) b);
                const char *limit_text = json_str(m, "limit");
                if (limit_text) {
                        if (bytes || !json_int(m, "limit", &v))
                                snprintf(limit, sizeof(limit), "%s", limit_text);
                        else
                                format_bytes(limit, (uint64_t) v);
                        percent(pct, sizeof(pct), b, m, limit_text);
                }
                const char *cells[] = { json_str(m, "user"), queues, charged, limit, pct };
                r = table_add_line(t, cells, ELEMENTSOF(cells));
        }
        if (r == 0)
                scols_print_table(t);
        scols_unref_table(t);
        return r;
}

struct per_namespace {
        json_object *namespaces;
        unsigned types;
};

/* Each namespace's audit, against its own limits, as one entry. */
static int add_namespace(struct cli *cli, const struct ipcns *ns, const char *text, size_t len, void *userdata) {
        struct per_namespace *p = userdata;
        json_object *one = json_tokener_parse(text);

        (void) cli;
        (void) len;
        if (!one || !json_object_is_type(one, json_type_object)) {
                json_object_put(one);
                fprintf(stderr, "ipcgc: malformed reply to io.ipcgc.Audit\n");
                return EXIT_FAIL;
        }
        json_object_object_add(one, "ipcns", json_object_new_int64((int64_t) ns->ino));
        json_object_object_add(one, "container", ns->name ? json_object_new_string(ns->name) : NULL);
        json_object_object_add(one, "own", json_object_new_boolean(ns->self));
        json_object_array_add(p->namespaces, one);
        return EXIT_OK;
}

static int audit_namespaces(struct cli *cli, unsigned types, const struct table_options *topts, bool bytes) {
        struct per_namespace p = { .namespaces = json_object_new_array(), .types = types };
        int r;

        if (!p.namespaces)
                return EXIT_FAIL;
        /* -t narrows the rows per user, as without namespaces. */
        _cleanup_(json_object_putp) json_object *params = types ? json_object_new_object() : NULL;
        if (params)
                json_object_object_add(params, "types", cli_names_array(types, false));
        r = cli_each_namespace(cli, "io.ipcgc.Audit", params, add_namespace, &p);
        if (topts->json) {
                json_object *out = json_object_new_object();
                json_object_object_add(out, "namespaces", json_object_get(p.namespaces));
                cli_print_json(out);
                json_object_put(out);
        } else
                for (size_t i = 0; i < json_object_array_length(p.namespaces); i++) {
                        json_object *one = json_object_array_get_idx(p.namespaces, i);
                        int64_t ino = 0;
                        (void) json_int(one, "ipcns", &ino);
                        const char *name = json_str(one, "container");
                        if (!topts->raw && !topts->noheadings)
                                printf("%sIPC namespace %" PRId64 "%s%s%s%s\n", i ? "\n" : "", ino, name ? " (" : "",
                                       strempty(name), name ? ")" : "", json_flag(one, "own") ? ", ipcgc's own" : "");
                        if (print_tables(one, topts, bytes) < 0) {
                                r = EXIT_FAIL;
                                break;
                        }
                }
        json_object_put(p.namespaces);
        return r;
}

int cmd_audit(struct cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "types", required_argument, NULL, 't' }, { "bytes", no_argument, NULL, 'b' },
                { "raw", no_argument, NULL, 'r' },         { "noheadings", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'J' },        CLI_COMMON_LONG_OPTIONS,
                CLI_NAMESPACE_LONG_OPTIONS,
                {},
        };
        struct table_options topts = {};
        unsigned types = 0;
        bool bytes = false;
        int c, r;

        int rc;
        while ((c = cli_option(cli, argc, argv, "t:brnJh", options, &topts, help, &rc)) > 0) {
                switch (c) {
                case 't':
                        if (!cli_parse_types(optarg, &types))
                                return EXIT_USAGE;
                        break;
                case 'b':
                        bytes = true;
                        break;
                }
        }
        if (c < 0)
                return rc;
        if (!cli_no_arguments(argc, argv, "audit"))
                return EXIT_USAGE;

        bool ns_ok;
        if (cli_namespaces_wanted(cli, &ns_ok))
                return ns_ok ? audit_namespaces(cli, types, &topts, bytes) : EXIT_USAGE;

        json_object *reply = NULL, *params = NULL;
        /* -t narrows the rows per user; the service counts the limits' use
         * from the kernel, of every object of the namespace. */
        if (types) {
                params = json_object_new_object();
                if (params)
                        json_object_object_add(params, "types", cli_names_array(types, false));
        }
        r = cli_call(cli, "io.ipcgc.Audit", params, &reply);
        if (r != EXIT_OK)
                return r;

        if (topts.json)
                cli_print_json(reply);
        else if (print_tables(reply, &topts, bytes) < 0) {
                json_object_put(reply);
                fprintf(stderr, "ipcgc: out of memory\n");
                return EXIT_FAIL;
        } else {
                int64_t unread;
                /* Said, not hidden: a caller who is not root cannot open
                 * others' queues, and their charge is missing above. */
                if (json_int(reply, "mqueue_unread", &unread))
                        fprintf(stderr, "ipcgc: %" PRId64 " POSIX queue%s could not be opened: %s charge is not counted\n",
                                unread, unread == 1 ? "" : "s", unread == 1 ? "its" : "their");
        }
        json_object_put(reply);
        return EXIT_OK;
}
