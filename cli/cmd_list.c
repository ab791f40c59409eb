/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "format.h"
#include "report.h"
#include "table.h"

enum {
        COL_ID,
        COL_TYPE,
        COL_KEY,
        COL_NAME,
        COL_OWNER,
        COL_PERMS,
        COL_UID,
        COL_USER,
        COL_GID,
        COL_GROUP,
        COL_CUID,
        COL_CUSER,
        COL_CGID,
        COL_CGROUP,
        COL_SIZE,
        COL_NATTCH,
        COL_STATUS,
        COL_ATTACH,
        COL_DETACH,
        COL_CTIME,
        COL_CPID,
        COL_LPID,
        COL_USEDBYTES,
        COL_MSGS,
        COL_SEND,
        COL_RECV,
        COL_LSPID,
        COL_LRPID,
        COL_NSEMS,
        COL_OTIME,
        COL_HOLDERS,
        COL_AGE,
        COL_IDLE,
        COL_NAMESPACE,
        COL_VERDICT,
        COL_RULE,
        COL_REASON,
        _COL_MAX,
};

/* Named as lsipc names them where they mean the same. */
static const struct column columns[] = {
        [COL_ID] = { "ID", "object id, as explain and rm take it", 1, TABLE_FL_ID },
        [COL_TYPE] = { "TYPE", "object type: shm msg sem mq pshm psem fifo", 1, 0 },
        [COL_KEY] = { "KEY", "SysV key", 10, 0 },
        [COL_NAME] = { "NAME", "POSIX name or FIFO path", 1, 0 },
        [COL_OWNER] = { "OWNER", "owner's user name or uid", 1, 0 },
        [COL_PERMS] = { "PERMS", "permissions", 9, 0 },
        [COL_UID] = { "UID", "owner's uid", 1, SCOLS_FL_RIGHT },
        [COL_USER] = { "USER", "owner's user name", 1, 0 },
        [COL_GID] = { "GID", "group's gid", 1, SCOLS_FL_RIGHT },
        [COL_GROUP] = { "GROUP", "group's name", 1, 0 },
        [COL_CUID] = { "CUID", "creator's uid (SysV)", 1, SCOLS_FL_RIGHT },
        [COL_CUSER] = { "CUSER", "creator's user name (SysV)", 1, 0 },
        [COL_CGID] = { "CGID", "creator's gid (SysV)", 1, SCOLS_FL_RIGHT },
        [COL_CGROUP] = { "CGROUP", "creator's group name (SysV)", 1, 0 },
        [COL_SIZE] = { "SIZE", "bytes held (shm size, queued bytes, file size)", 1, SCOLS_FL_RIGHT },
        [COL_NATTCH] = { "NATTCH", "shm attachments, as the kernel counts them", 1, SCOLS_FL_RIGHT },
        [COL_STATUS] = { "STATUS", "shm: dest (removed once detached), locked (SHM_LOCK)", 1, 0 },
        [COL_ATTACH] = { "ATTACH", "shm: time of the last attach", 1, SCOLS_FL_RIGHT },
        [COL_DETACH] = { "DETACH", "shm: time of the last detach", 1, SCOLS_FL_RIGHT },
        [COL_CTIME] = { "CTIME", "time of the last change (mq: of the last send or receive)", 1, SCOLS_FL_RIGHT },
        [COL_CPID] = { "CPID", "shm: creator pid", 1, SCOLS_FL_RIGHT },
        [COL_LPID] = { "LPID", "shm: pid of the last attach or detach", 1, SCOLS_FL_RIGHT },
        [COL_USEDBYTES] = { "USEDBYTES", "msg, mq: bytes queued", 1, SCOLS_FL_RIGHT },
        [COL_MSGS] = { "MSGS", "msg: messages queued", 1, SCOLS_FL_RIGHT },
        [COL_SEND] = { "SEND", "msg: time of the last send", 1, SCOLS_FL_RIGHT },
        [COL_RECV] = { "RECV", "msg: time of the last receive", 1, SCOLS_FL_RIGHT },
        [COL_LSPID] = { "LSPID", "msg: pid of the last sender", 1, SCOLS_FL_RIGHT },
        [COL_LRPID] = { "LRPID", "msg: pid of the last receiver", 1, SCOLS_FL_RIGHT },
        [COL_NSEMS] = { "NSEMS", "sem: semaphores in the set", 1, SCOLS_FL_RIGHT },
        [COL_OTIME] = { "OTIME", "sem: time of the last semop", 1, SCOLS_FL_RIGHT },
        [COL_HOLDERS] = { "HOLDERS", "pids holding it open, mapped or attached", 1, TABLE_FL_FREE },
        [COL_AGE] = { "AGE", "time since the last change (CTIME)", 1, SCOLS_FL_RIGHT },
        [COL_IDLE] = { "IDLE", "time since the last recorded activity", 1, SCOLS_FL_RIGHT },
        [COL_VERDICT] = { "VERDICT", "LIVE ORPHAN PENDING PROTECTED REPORTED UNKNOWN", 1, 0 },
        [COL_RULE] = { "RULE", "the rule that matched", 1, 0 },
        [COL_REASON] = { "REASON", "why, in one line", 1, TABLE_FL_FREE },
        [COL_NAMESPACE] = { "NAMESPACE", "IPC namespace: its container's name, else its inode", 1, 0 },
};

/* What fits a terminal of 100 columns, the reason cut to fit. */
#define DEFAULT_COLUMNS "ID,KEY,OWNER,SIZE,STATUS,HOLDERS,AGE,VERDICT,REASON"
/* When more than one namespace is shown. */
#define DEFAULT_COLUMNS_NS "NAMESPACE," DEFAULT_COLUMNS

static void help(void) {
        printf("Usage: ipcgc list [OPTIONS]\n"
               "\n"
               "List IPC objects with their owners, holders and verdicts, sorted by type,\n"
               "then by id or name.\n"
               "\n"
               "Options:\n"
               "  -t, --types TYPES   only these types (shm,msg,sem,mq,pshm,psem,fifo)\n"
               "  -u, --user USER     only objects owned by USER (name or uid)\n"
               "  -v, --verdict V     only objects judged V (LIVE, ORPHAN, ...; comma list)\n"
               "  -o, --output COLS   columns to show; +COLS adds to the default\n"
               "  -b, --bytes         sizes in bytes\n"
               "      --time-format F short, full or iso (as lsipc; short by default)\n"
               "      --notruncate    never cut a reason to fit the terminal\n"
               "  -r, --raw           raw output: cells apart by a space (a space in one: \\x20)\n"
               "  -e, --export        NAME=\"value\" pairs, one object a line\n"
               "  -y, --shell         column names usable as shell variable names\n"
               "  -n, --noheadings    no header line\n"
               "  -J, --json          JSON: {\"judged_at\",\"age_usec\",\"confirmed\",\"objects\":[...]},\n"
               "                      every field of every object, one object a line\n"
               "      --fresh         judge now, in full, rather than list the judgement kept\n"
               "                      (which the daemon confirms unchanged, or is a second old)\n"
               "      --all-namespaces\n"
               "                      every IPC namespace on the host (containers, pods), each\n"
               "                      judged with its own processes; needs --local for now\n"
               "      --namespace NS  only the IPC namespace NS: its inode or its name\n"
               "      --config FILE   read FILE for [Scan]\n"
               "      --local         run the engine in this process\n"
               "\n"
               "Default columns: %s\n",
               DEFAULT_COLUMNS);
        table_help_columns(stdout, columns, ELEMENTSOF(columns));
}

static const char *int_cell(char *buf, size_t size, json_object *o, const char *key) {
        int64_t v;
        if (!json_int(o, key, &v))
                return NULL;
        snprintf(buf, size, "%" PRId64, v);
        return buf;
}

static const char *group_name(gid_t gid, char buf[static 16]) {
        /* As cli_user_name: a listing asks about the same few groups. */
        static struct {
                gid_t gid;
                char *name;
        } cache[32];
        static size_t n_cache;

        for (size_t i = 0; i < n_cache; i++)
                if (cache[i].gid == gid)
                        return cache[i].name;
        struct group *gr = getgrgid(gid);
        if (gr && n_cache < ELEMENTSOF(cache)) {
                char *name = strdup(gr->gr_name);
                if (name) {
                        cache[n_cache].gid = gid;
                        cache[n_cache++].name = name;
                        return name;
                }
        }
        snprintf(buf, 16, "%u", (unsigned) gid);
        return buf;
}

struct cells {
        char buf[TABLE_MAX_COLUMNS][256];
        const struct table_options *topts;
        bool bytes;
        time_t now;
};

static const char *bytes_cell(char *buf, size_t size, json_object *o, const char *key, bool bytes) {
        int64_t v;
        if (!json_int(o, key, &v))
                return NULL;
        if (bytes)
                snprintf(buf, size, "%" PRId64, v);
        else
                format_bytes(buf, (uint64_t) v);
        return buf;
}

static const char *time_cell(char *buf, size_t size, json_object *o, const char *key, const struct table_options *t) {
        int64_t v;
        return json_int(o, key, &v) ? table_time(buf, size, (time_t) v, t) : NULL;
}

/* Cell I of object O, in C->buf[I] or pointing into O. */
static const char *object_cell(struct cells *c, size_t i, int col, json_object *o) {
        const char *type = json_str(o, "type");
        bool shm = type && strcmp(type, "shm") == 0, msg = type && strcmp(type, "msg") == 0;
        bool sem = type && strcmp(type, "sem") == 0;
        char *buf = c->buf[i];
        size_t size = sizeof(c->buf[i]);
        int64_t v;

        switch (col) {
        case COL_ID:
                return json_str(o, "id");
        case COL_TYPE:
                return type;
        case COL_KEY:
                if (!json_int(o, "key", &v))
                        return NULL;
                snprintf(buf, size, "0x%08" PRIx32, (uint32_t) v);
                return buf;
        case COL_NAME:
                return json_str(o, "name");
        case COL_OWNER:
        case COL_USER:
        case COL_CUSER:
                return json_int(o, col == COL_CUSER ? "cuid" : "uid", &v) ? cli_user_name((uid_t) v, buf) : NULL;
        case COL_GROUP:
        case COL_CGROUP:
                return json_int(o, col == COL_CGROUP ? "cgid" : "gid", &v) ? group_name((gid_t) v, buf) : NULL;
        case COL_PERMS: {
                const char *p = json_str(o, "perms");
                return p ? format_perms(buf, (mode_t) strtoul(p, NULL, 8)) : NULL;
        }
        case COL_UID:
                return int_cell(buf, size, o, "uid");
        case COL_GID:
                return int_cell(buf, size, o, "gid");
        case COL_CUID:
        case COL_CGID:
                /* A file has no creator apart from its owner. */
                return type && ipc_type_from_string(type) >= 0 && ipc_type_is_sysv(ipc_type_from_string(type))
                               ? int_cell(buf, size, o, col == COL_CUID ? "cuid" : "cgid")
                               : NULL;
        case COL_SIZE:
                return sem ? NULL : bytes_cell(buf, size, o, "size", c->bytes);
        case COL_NATTCH:
                return int_cell(buf, size, o, "nattch");
        case COL_STATUS: {
                /* The mode bits above 0777 that shmctl(2) sets. */
                const char *p = json_str(o, "perms");
                unsigned long m = p && shm ? strtoul(p, NULL, 8) : 0;
                if (!(m & 03000))
                        return NULL;
                snprintf(buf, size, "%s%s%s", m & 01000 ? "dest" : "", (m & 03000) == 03000 ? "," : "",
                         m & 02000 ? "locked" : "");
                return buf;
        }
        case COL_ATTACH:
                return shm ? time_cell(buf, size, o, "atime", c->topts) : NULL;
        case COL_DETACH:
                return shm ? time_cell(buf, size, o, "dtime", c->topts) : NULL;
        case COL_CTIME:
                return time_cell(buf, size, o, "ctime", c->topts);
        case COL_CPID:
                return shm ? int_cell(buf, size, o, "cpid") : NULL;
        case COL_LPID:
                return shm ? int_cell(buf, size, o, "lpid") : NULL;
        case COL_USEDBYTES:
                return msg || (type && strcmp(type, "mq") == 0) ? bytes_cell(buf, size, o, "size", c->bytes) : NULL;
        case COL_MSGS:
                return int_cell(buf, size, o, "qnum");
        case COL_SEND:
                return msg ? time_cell(buf, size, o, "mtime", c->topts) : NULL;
        case COL_RECV:
                return msg ? time_cell(buf, size, o, "atime", c->topts) : NULL;
        case COL_LSPID:
                return msg ? int_cell(buf, size, o, "lpid") : NULL;
        case COL_LRPID:
                return msg ? int_cell(buf, size, o, "lrpid") : NULL;
        case COL_NSEMS:
                return int_cell(buf, size, o, "nsems");
        case COL_OTIME:
                return sem ? time_cell(buf, size, o, "mtime", c->topts) : NULL;
        case COL_HOLDERS: {
                json_object *h;
                size_t used = 0;
                if (!json_object_object_get_ex(o, "holders", &h) || !json_object_is_type(h, json_type_array))
                        return NULL;
                buf[0] = 0;
                for (size_t k = 0; k < json_object_array_length(h); k++) {
                        int w = snprintf(buf + used, size - used, "%s%d", k ? "," : "",
                                         json_object_get_int(json_object_array_get_idx(h, k)));
                        if (w < 0 || (size_t) w >= size - used) {
                                /* Say how many more rather than cut a pid in half. */
                                snprintf(buf + used, size - used, ",+%zu", json_object_array_length(h) - k);
                                break;
                        }
                        used += (size_t) w;
                }
                return buf[0] ? buf : NULL;
        }
        case COL_AGE:
                if (!json_int(o, "ctime", &v))
                        return NULL;
                return format_duration(buf, c->now > v ? (uint64_t) (c->now - v) : 0);
        case COL_IDLE:
                return json_int(o, "idle", &v) ? format_duration(buf, (uint64_t) v) : NULL;
        case COL_NAMESPACE:
                if (json_str(o, "container"))
                        return json_str(o, "container");
                if (!json_int(o, "ipcns", &v))
                        return NULL;
                snprintf(buf, size, "%" PRId64, v);
                return buf;
        case COL_VERDICT:
                return json_str(o, "verdict");
        case COL_RULE:
                return json_str(o, "rule");
        case COL_REASON:
                return json_str(o, "reason");
        }
        return NULL;
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

/* One object of the reply: its line of text, and what it is sorted by. */
struct line {
        const char *p;
        size_t len;
        struct table_id_key key; /* the ID as the reply writes it */
};

static int line_compare(const void *x, const void *y) {
        const struct line *a = x, *b = y;
        return table_id_key_compare(&a->key, &b->key);
}

/* The objects at P, one a line as report_list_chunk() writes them, each
 * beginning {"id":"TYPE:...", sorted: the engine keeps them in the order
 * it found them, readdir's for files. */
static int split_lines(const char *p, struct line **ret, size_t *ret_n) {
        static const char start[] = "{\"id\":\"";
        _cleanup_free_ struct line *lines = NULL;
        size_t n = 0, cap = 0;

        for (;;) {
                p += strspn(p, "\n");
                if (*p == ']')
                        break;
                if (strncmp(p, start, strlen(start)) != 0)
                        return -EBADMSG;
                const char *end = strchr(p, '\n');
                size_t len = end ? (size_t) (end - p) : strlen(p), k = len;
                if (k > 0 && p[k - 1] == ',')
                        k--;
                if (k > INT_MAX)
                        return -EBADMSG;
                if (n == cap) {
                        size_t c = cap ? cap * 2 : 256;
                        struct line *m = reallocarray(lines, c, sizeof(*m));
                        if (!m)
                                return -ENOMEM;
                        lines = m, cap = c;
                }
                struct line *l = &lines[n++];
                *l = (struct line) { .p = p, .len = k };
                /* The ID ends at the first quote no backslash escapes. */
                const char *id = p + strlen(start), *q = id;
                while (q < p + k && *q != '"')
                        q += *q == '\\' ? 2 : 1;
                if (q >= p + k || table_id_key(id, (size_t) (q - id), &l->key) < 0)
                        return -EBADMSG;
                p += len;
        }
        if (n > 0) /* qsort(NULL, 0) is undefined */
                qsort(lines, n, sizeof(*lines), line_compare);
        *ret = TAKE_PTR(lines);
        *ret_n = n;
        return 0;
}

struct list_rows {
        struct line *lines;
        size_t n, next;
        json_tokener *tok;
        json_object *cur;
        const int *ids;
        size_t n_ids;
        struct cells cells;
};

static int list_next(void *userdata, const char **cells) {
        struct list_rows *r = userdata;

        json_object_put(r->cur);
        r->cur = NULL;
        if (r->next >= r->n)
                return 0;
        const struct line *l = &r->lines[r->next++];
        json_tokener_reset(r->tok);
        r->cur = json_tokener_parse_ex(r->tok, l->p, (int) l->len);
        if (!r->cur || !json_object_is_type(r->cur, json_type_object))
                return -EBADMSG;
        for (size_t i = 0; i < r->n_ids; i++)
                cells[i] = object_cell(&r->cells, i, r->ids[i], r->cur);
        return 1;
}

static void list_rewind(void *userdata) {
        struct list_rows *r = userdata;
        r->next = 0;
}

/* Draws the objects at P. */
static int draw(const char *p, const int *ids, size_t n_ids, const struct table_options *topts, bool bytes) {
        struct list_rows rows = {
                .tok = json_tokener_new(),
                .ids = ids,
                .n_ids = n_ids,
                .cells = { .topts = topts, .bytes = bytes, .now = time(NULL) },
        };
        int r = rows.tok ? split_lines(p, &rows.lines, &rows.n) : -ENOMEM;

        if (r >= 0)
                r = table_draw(columns, ids, n_ids, topts,
                               &(const struct table_rows) { list_next, list_rewind, &rows });
        json_object_put(rows.cur);
        free(rows.lines);
        if (rows.tok)
                json_tokener_free(rows.tok);
        if (r < 0) {
                fprintf(stderr, "ipcgc: %s\n", r == -EBADMSG ? "malformed reply" : "out of memory");
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

/* Every namespace's listing, as one. */
struct merged {
        char *objects; /* the object lines, joined as report_list_chunk() writes them */
        size_t len;
        json_object *namespaces;
        int64_t judged_at;
        size_t n_shown;
};

static int merge_one(struct cli *cli, const struct ipcns *ns, const char *text, size_t len, void *userdata) {
        struct merged *m = userdata;
        const char *start = strstr(text, "\"objects\":[");
        const char *end = text + len;

        (void) cli;
        if (!start) {
                fprintf(stderr, "ipcgc: malformed reply: no objects\n");
                return EXIT_FAIL;
        }
        start += strlen("\"objects\":[");
        /* The objects end at the listing's last "]". */
        while (end > start && end[-1] != ']')
                end--;
        if (end == start) {
                fprintf(stderr, "ipcgc: malformed reply: objects not closed\n");
                return EXIT_FAIL;
        }
        end--;
        while (start < end && *start == '\n')
                start++;
        while (end > start && end[-1] == '\n')
                end--;
        size_t n = (size_t) (end - start), objects = 0;
        for (const char *p = start; p < end; p++)
                objects += *p == '{' && (p == start || p[-1] == '\n');
        if (n) {
                char *b = realloc(m->objects, m->len + n + 3);
                if (!b)
                        return EXIT_FAIL;
                m->objects = b;
                if (m->len)
                        m->objects[m->len++] = ',';
                m->objects[m->len++] = '\n';
                memcpy(m->objects + m->len, start, n);
                m->len += n;
                m->objects[m->len] = 0;
        }
        int64_t at;
        /* The earliest judgement of them all is what the listing is as of. */
        if (sscanf(text, "{\"judged_at\":%" SCNd64, &at) == 1 && (m->judged_at == 0 || at < m->judged_at))
                m->judged_at = at;
        json_object *o = json_object_new_object();
        if (!o)
                return EXIT_FAIL;
        json_object_object_add(o, "ipcns", json_object_new_int64((int64_t) ns->ino));
        json_object_object_add(o, "container", ns->name ? json_object_new_string(ns->name) : NULL);
        json_object_object_add(o, "own", json_object_new_boolean(ns->self));
        json_object_object_add(o, "members", json_object_new_int64((int64_t) ns->n_members));
        json_object_object_add(o, "partial", json_object_new_boolean(ns->partial));
        json_object_object_add(o, "objects", json_object_new_int64((int64_t) objects));
        json_object_array_add(m->namespaces, o);
        m->n_shown++;
        return EXIT_OK;
}

static int list_namespaces(struct cli *cli, json_object *params, const struct table_options *topts, bool bytes,
                           int *ids, size_t n_ids) {
        struct merged m = { .namespaces = json_object_new_array() };
        int r;

        if (!m.namespaces)
                return EXIT_FAIL;
        r = cli_each_namespace(cli, "io.ipcgc.List", params, merge_one, &m);
        cli_done(cli);
        if (topts->json) {
                printf("{\"judged_at\":%" PRId64 ",\"age_usec\":0,\"confirmed\":false,\"namespaces\":%s,"
                       "\"objects\":[%s\n]}\n",
                       m.judged_at, json_object_to_json_string_ext(m.namespaces, JSON_C_TO_STRING_PLAIN),
                       m.objects ? m.objects : "");
        } else {
                _cleanup_free_ char *text = NULL;
                /* A NAMESPACE column by default when more than one is shown. */
                if (m.n_shown > 1 && !topts->output &&
                    table_select(columns, ELEMENTSOF(columns), DEFAULT_COLUMNS_NS, NULL, ids, &n_ids) < 0)
                        r = EXIT_FAIL;
                else if (asprintf(&text, "%s\n]", m.objects ? m.objects : "") < 0)
                        r = EXIT_FAIL;
                else {
                        int k = draw(text, ids, n_ids, topts, bytes);
                        if (r == EXIT_OK)
                                r = k;
                }
        }
        free(m.objects);
        json_object_put(m.namespaces);
        return r;
}

int cmd_list(struct cli *cli, int argc, char **argv) {
        enum { OPT_FRESH = 0x200 };
        static const struct option options[] = {
                { "types", required_argument, NULL, 't' },   { "user", required_argument, NULL, 'u' },
                { "output", required_argument, NULL, 'o' },  { "bytes", no_argument, NULL, 'b' },
                { "raw", no_argument, NULL, 'r' },           { "noheadings", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'J' },          { "verdict", required_argument, NULL, 'v' },
                { "fresh", no_argument, NULL, OPT_FRESH },   TABLE_LONG_OPTIONS,
                CLI_COMMON_LONG_OPTIONS,
                CLI_NAMESPACE_LONG_OPTIONS,
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
        while ((c = cli_option(cli, argc, argv, "t:u:o:brnJeyhv:", options, &topts, help, &rc)) > 0) {
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
        if (!cli_no_arguments(argc, argv, "list") || !table_check(&topts))
                return EXIT_USAGE;
        if (table_select(columns, ELEMENTSOF(columns), DEFAULT_COLUMNS, topts.output, ids, &n_ids) < 0)
                return EXIT_USAGE;

        json_object *params = json_object_new_object();
        bool ns_ok;
        bool per_namespace = cli_namespaces_wanted(cli, &ns_ok);
        if (!ns_ok) {
                json_object_put(params);
                return EXIT_USAGE;
        }
        if (filter.types)
                json_object_object_add(params, "types", cli_names_array(filter.types, false));
        if (filter.verdicts)
                json_object_object_add(params, "verdicts", cli_names_array(filter.verdicts, true));
        if (user)
                json_object_object_add(params, "user", json_object_new_string(user));
        if (fresh)
                json_object_object_add(params, "fresh", json_object_new_boolean(true));
        if (per_namespace) {
                r = list_namespaces(cli, params, &topts, bytes, ids, n_ids);
                json_object_put(params);
                return r;
        }
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
