/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "cli.h"
#include "format.h"
#include "report.h"
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
               "  -v, --verdict V     only objects judged V (LIVE, ORPHAN, ...; comma list)\n"
               "  -o, --output COLS   columns to show; +COLS adds to the default\n"
               "  -b, --bytes         sizes in bytes\n"
               "  -r, --raw           raw output\n"
               "  -n, --noheadings    no header line\n"
               "  -J, --json          JSON: {\"judged_at\",\"age_usec\",\"confirmed\",\"objects\":[...]},\n"
               "                      every field of every object, one object a line\n"
               "      --fresh         judge now, in full, rather than list the judgement kept\n"
               "                      (which the daemon confirms unchanged, or is a second old)\n"
               "      --config FILE   read FILE for [Scan]\n"
               "      --local         run the engine in this process\n");
        table_help_columns(stdout, columns, ELEMENTSOF(columns));
}

static void int_cell(char *buf, size_t size, json_object *o, const char *key) {
        int64_t v;
        if (json_int(o, key, &v))
                snprintf(buf, size, "%" PRId64, v);
        else
                snprintf(buf, size, "-");
}

static int add_line(struct libscols_table *t, json_object *o, const int *ids, size_t n, bool bytes, time_t now) {
        struct libscols_line *ln = scols_table_new_line(t, NULL);
        const char *type = json_str(o, "type");
        int64_t v;

        if (!ln)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char buf[256] = "-";
                const char *cell = buf;

                switch (ids[i]) {
                case COL_TYPE:
                        cell = type;
                        break;
                case COL_ID:
                        cell = json_str(o, "id");
                        break;
                case COL_KEYNAME:
                        if (json_int(o, "key", &v))
                                snprintf(buf, sizeof(buf), "0x%08" PRIx32, (uint32_t) v);
                        else
                                cell = json_str(o, "name");
                        break;
                case COL_OWNER: {
                        char ubuf[16];
                        if (json_int(o, "uid", &v))
                                snprintf(buf, sizeof(buf), "%s", cli_user_name((uid_t) v, ubuf));
                        break;
                }
                case COL_PERMS: {
                        const char *p = json_str(o, "perms");
                        if (p)
                                format_perms(buf, (mode_t) strtoul(p, NULL, 8));
                        break;
                }
                case COL_SIZE:
                        if (type && strcmp(type, "sem") != 0 && json_int(o, "size", &v)) {
                                if (bytes)
                                        snprintf(buf, sizeof(buf), "%" PRId64, v);
                                else
                                        format_bytes(buf, (uint64_t) v);
                        }
                        break;
                case COL_CPID:
                        int_cell(buf, sizeof(buf), o, "cpid");
                        break;
                case COL_LPID:
                        int_cell(buf, sizeof(buf), o, "lpid");
                        break;
                case COL_HOLDERS: {
                        json_object *h;
                        size_t used = 0;
                        buf[0] = 0;
                        if (json_object_object_get_ex(o, "holders", &h) && json_object_is_type(h, json_type_array))
                                for (size_t k = 0; k < json_object_array_length(h); k++) {
                                        int w = snprintf(buf + used, sizeof(buf) - used, "%s%d", k ? "," : "",
                                                         json_object_get_int(json_object_array_get_idx(h, k)));
                                        if (w < 0 || (size_t) w >= sizeof(buf) - used) {
                                                /* Say how many more rather than cut a pid in half. */
                                                snprintf(buf + used, sizeof(buf) - used, ",+%zu",
                                                         json_object_array_length(h) - k);
                                                break;
                                        }
                                        used += (size_t) w;
                                }
                        break;
                }
                case COL_AGE:
                        if (json_int(o, "ctime", &v))
                                format_duration(buf, now > v ? (uint64_t) (now - v) : 0);
                        break;
                case COL_UID:
                        int_cell(buf, sizeof(buf), o, "uid");
                        break;
                case COL_GID:
                        int_cell(buf, sizeof(buf), o, "gid");
                        break;
                case COL_NATTCH:
                        int_cell(buf, sizeof(buf), o, "nattch");
                        break;
                case COL_VERDICT:
                        cell = json_str(o, "verdict");
                        break;
                case COL_REASON:
                        cell = json_str(o, "reason");
                        break;
                case COL_RULE:
                        cell = json_str(o, "rule");
                        break;
                case COL_IDLE:
                        if (json_int(o, "idle", &v))
                                format_duration(buf, (uint64_t) v);
                        break;
                case COL_CTIME: {
                        struct tm tm;
                        time_t ct;
                        if (json_int(o, "ctime", &v) && (ct = (time_t) v, localtime_r(&ct, &tm)))
                                strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
                        break;
                }
                }
                if (scols_line_set_data(ln, i, cell ? cell : "-") < 0)
                        return -ENOMEM;
        }
        return 0;
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

/* Lines a table holds at once.  A longer listing is drawn a piece at a time
 * (the columns as wide as the widest cell of all of it, measured first), so
 * that what a table costs an object (some 1 KiB) is held for a piece only. */
#define DRAW_PIECE 4096u

/* Adds the objects at *P, one a line as report_list_chunk() writes them
 * ("{...},\n"), up to MAX of them, to T; *P moves past them.  Returns how
 * many, 0 at the "]" that ends them, -EBADMSG, -ENOMEM. */
static int add_lines(struct libscols_table *t, json_tokener *tok, const char **p, size_t max, const int *ids,
                     size_t n_ids, bool bytes, time_t now) {
        size_t added = 0;

        while (added < max) {
                *p += strspn(*p, "\n");
                if (**p != '{')
                        return added > 0 ? (int) added : **p == ']' ? 0 : -EBADMSG;
                const char *end = strchr(*p, '\n');
                size_t n = end ? (size_t) (end - *p) : strlen(*p), k = n;
                if (k > 0 && (*p)[k - 1] == ',')
                        k--;
                if (k > INT_MAX)
                        return -EBADMSG;
                json_tokener_reset(tok);
                json_object *o = json_tokener_parse_ex(tok, *p, (int) k);
                if (!o || !json_object_is_type(o, json_type_object)) {
                        json_object_put(o);
                        return -EBADMSG;
                }
                int r = add_line(t, o, ids, n_ids, bytes, now);
                json_object_put(o);
                if (r < 0)
                        return r;
                *p += n;
                added++;
        }
        return (int) added;
}

/* How many terminal cells S takes (a byte a cell where it is no text). */
static size_t cell_width(const char *s) {
        size_t w = 0;
        mbstate_t st = {};

        for (size_t n = strlen(s); n > 0;) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, s, n, &st);
                if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
                        st = (mbstate_t) {};
                        w++, s++, n--;
                        continue;
                }
                int cw = wcwidth(wc);
                w += cw > 0 ? (size_t) cw : 0;
                s += k, n -= k;
        }
        return w;
}

/* Draws the objects at P. */
static int draw(const char *p, const int *ids, size_t n_ids, const struct table_options *topts, bool bytes) {
        size_t widths[TABLE_MAX_COLUMNS] = {};
        struct libscols_table *t = NULL;
        json_tokener *tok = json_tokener_new();
        time_t now = time(NULL);
        const char *q = p;
        bool pieces = false;
        int r = 0;

        if (!tok)
                goto oom;
        /* Measured first, when it takes more than one piece. */
        for (size_t piece = 0;; piece++) {
                t = table_new(columns, ids, n_ids, topts);
                if (!t)
                        goto oom;
                r = add_lines(t, tok, &q, DRAW_PIECE, ids, n_ids, bytes, now);
                if (r < 0)
                        goto out;
                if (piece == 0 && (size_t) r < DRAW_PIECE) {
                        /* All of it in one table, drawn as ever. */
                        scols_print_table(t);
                        r = 0;
                        goto out;
                }
                if (r == 0)
                        break;
                pieces = true;
                struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
                struct libscols_line *ln;
                if (!it)
                        goto oom;
                while (scols_table_next_line(t, it, &ln) == 0) {
                        for (size_t c = 0; c < n_ids; c++) {
                                const char *d = scols_cell_get_data(scols_line_get_cell(ln, c));
                                size_t w = d ? cell_width(d) : 0;
                                if (w > widths[c])
                                        widths[c] = w;
                        }
                }
                scols_free_iter(it);
                scols_unref_table(t);
                t = NULL;
        }
        scols_unref_table(t);
        t = NULL;

        for (size_t piece = 0; pieces; piece++) {
                struct table_options o = *topts;
                o.noheadings = topts->noheadings || piece > 0;
                t = table_new(columns, ids, n_ids, &o);
                if (!t)
                        goto oom;
                for (size_t c = 0; c < n_ids; c++) {
                        struct libscols_column *cl = scols_table_get_column(t, c);
                        if (cl && widths[c] > 0)
                                (void) scols_column_set_whint(cl, (double) widths[c]);
                }
                r = add_lines(t, tok, &p, DRAW_PIECE, ids, n_ids, bytes, now);
                if (r < 0)
                        goto out;
                if (r == 0)
                        break;
                scols_print_table(t);
                scols_unref_table(t);
                t = NULL;
        }
        r = 0;
        goto out;
oom:
        r = -ENOMEM;
out:
        if (t)
                scols_unref_table(t);
        if (tok)
                json_tokener_free(tok);
        if (r < 0)
                fprintf(stderr, "ipcgc: %s\n", r == -EBADMSG ? "malformed reply" : "out of memory");
        return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int cmd_list(struct cli *cli, int argc, char **argv) {
        enum { OPT_FRESH = 0x200 };
        static const struct option options[] = {
                { "types", required_argument, NULL, 't' },   { "user", required_argument, NULL, 'u' },
                { "output", required_argument, NULL, 'o' },  { "bytes", no_argument, NULL, 'b' },
                { "raw", no_argument, NULL, 'r' },           { "noheadings", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'J' },          { "verdict", required_argument, NULL, 'v' },
                { "fresh", no_argument, NULL, OPT_FRESH },   CLI_COMMON_LONG_OPTIONS,
                {},
        };
        struct table_options topts = {};
        struct list_filter filter = {};
        const char *user = NULL;
        json_object *reply = NULL;
        bool bytes = false, fresh = false;
        int ids[TABLE_MAX_COLUMNS];
        size_t n_ids;
        int c, r;

        int rc;
        while ((c = cli_option(cli, argc, argv, "t:u:o:brnJhv:", options, &topts, help, &rc)) > 0) {
                switch (c) {
                case 't':
                        if (!cli_parse_types(optarg, &filter.types))
                                return EXIT_USAGE;
                        break;
                case 'u':
                        if (cli_parse_user(optarg, &filter.uid) < 0) {
                                cli_usage_error("unknown user '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        filter.by_user = true;
                        user = optarg;
                        break;
                case 'v':
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
                case OPT_FRESH:
                        fresh = true;
                        break;
                }
        }
        if (c < 0)
                return rc;
        if (!cli_no_arguments(argc, argv, "list"))
                return EXIT_USAGE;
        if (table_select(columns, ELEMENTSOF(columns), DEFAULT_COLUMNS, topts.output, ids, &n_ids) < 0)
                return EXIT_USAGE;

        json_object *params = json_object_new_object();
        if (filter.types)
                json_object_object_add(params, "types", cli_names_array(filter.types, false));
        if (filter.verdicts)
                json_object_object_add(params, "verdicts", cli_names_array(filter.verdicts, true));
        if (user)
                json_object_object_add(params, "user", json_object_new_string(user));
        if (fresh)
                json_object_object_add(params, "fresh", json_object_new_boolean(true));
        if (topts.json) {
                /* As it came: parsing and printing it again would cost more
                 * than the judgement. */
                _cleanup_free_ char *text = NULL;
                size_t len;
                r = cli_call_text(cli, "io.ipcgc.List", params, &text, &len);
                if (r != EXIT_OK)
                        return r;
                fwrite(text, 1, len, stdout);
                putchar('\n');
                return EXIT_OK;
        }
        /* The reply as text, drawn one object at a time: a json-c tree of
         * the whole listing took some 5 KiB an object, ten times the text. */
        _cleanup_free_ char *text = NULL;
        size_t len;
        r = cli_call_text(cli, "io.ipcgc.List", params, &text, &len);
        if (r != EXIT_OK)
                return r;
        /* Nothing of the judgement is needed to draw it (--local): it goes
         * before the table grows. */
        cli_done(cli);

        char *objects = strstr(text, "\"objects\":[");
        if (!objects) {
                fprintf(stderr, "ipcgc: malformed reply: no objects\n");
                return EXIT_FAIL;
        }
        /* What comes before the objects: when and how it was judged. */
        _cleanup_free_ char *head = NULL;
        if (asprintf(&head, "%.*s\"objects\":[]}", (int) (objects - text), text) < 0) {
                fprintf(stderr, "ipcgc: out of memory\n");
                return EXIT_FAIL;
        }
        reply = json_tokener_parse(head);
        int64_t age;
        bool confirmed = json_flag(reply, "confirmed");
        if (json_int(reply, "age_usec", &age) && age >= 1000000) {
                char buf[FORMAT_DURATION_MAX];
                fprintf(stderr, "ipcgc: as judged %s ago%s; --fresh judges now\n",
                        format_duration(buf, (uint64_t) age / 1000000u), confirmed ? " (confirmed unchanged since)" : "");
        }
        json_object_put(reply);

        r = draw(objects + strlen("\"objects\":["), ids, n_ids, &topts, bytes);
        return r;
}
