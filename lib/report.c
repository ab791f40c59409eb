/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "object_json.h"
#include "report.h"

/* json-c's adders fail only on allocation; collect that into one result. */
static int put(json_object *obj, const char *key, json_object *val) {
        return json_object_object_add(obj, key, val) < 0 ? -ENOMEM : 0;
}

static int append(json_object *arr, json_object *val) {
        if (!val || json_object_array_add(arr, val) < 0) {
                json_object_put(val);
                return -ENOMEM;
        }
        return 0;
}

bool list_filter_match(const struct list_filter *f, const struct ipc_object *o, const struct judgement *j) {
        if (!f)
                return true;
        return (!f->types || (f->types & IPC_TYPE_BIT(o->type))) &&
               (!f->by_user || (f->or_creator ? ipc_object_belongs_to(o, f->uid) : o->uid == f->uid)) &&
               (!f->verdicts || (f->verdicts & (1u << j->verdict)));
}

struct text {
        char *buf;
        size_t len, cap;
        int error; /* the first failure: the text is then incomplete */
};

static void text_add(struct text *t, const char *s, size_t n) {
        if (t->error)
                return;
        if (t->len + n + 1 > t->cap) {
                size_t cap = t->cap ? t->cap : 4096;
                while (cap < t->len + n + 1)
                        cap *= 2;
                char *b = realloc(t->buf, cap);
                if (!b) {
                        t->error = -ENOMEM;
                        return;
                }
                t->buf = b;
                t->cap = cap;
        }
        memcpy(t->buf + t->len, s, n);
        t->len += n;
        t->buf[t->len] = 0;
}

static void text_cstr(struct text *t, const char *s) {
        text_add(t, s, strlen(s));
}

static void text_int(struct text *t, int64_t v) {
        char buf[24], *p = buf + sizeof(buf);
        uint64_t u = v < 0 ? (uint64_t) -(v + 1) + 1 : (uint64_t) v;
        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10));
        if (v < 0)
                *--p = '-';
        text_add(t, p, (size_t) (buf + sizeof(buf) - p));
}

static void text_uint(struct text *t, uint64_t u) {
        char buf[24], *p = buf + sizeof(buf);
        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10));
        text_add(t, p, (size_t) (buf + sizeof(buf) - p));
}

/* S escaped for a JSON string as json-c escapes it (bar '/'). */
static void text_escaped(struct text *t, const char *s) {
        const char *run = s;
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\t' ? "\\t"
                                : c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
                char u[8];
                if (!esc && c >= 0x20)
                        continue;
                text_add(t, run, (size_t) (s - run));
                if (!esc) {
                        snprintf(u, sizeof(u), "\\u%04x", c);
                        esc = u;
                }
                text_cstr(t, esc);
                run = s + 1;
        }
        text_add(t, run, (size_t) (s - run));
}

/* S escaped by ipc_escape() with FLAGS, then for a JSON string: valid
 * UTF-8 whatever bytes a name holds. */
static void text_escaped_as(struct text *t, const char *s, unsigned flags) {
        char small[512];

        if (ipc_escape(small, sizeof(small), s, flags) < sizeof(small)) {
                text_escaped(t, small);
                return;
        }
        _cleanup_free_ char *big = ipc_escape_alloc(s, flags);
        if (!big) {
                t->error = -ENOMEM;
                return;
        }
        text_escaped(t, big);
}

/* A JSON string, or null. */
static void text_str(struct text *t, const char *s, unsigned flags) {
        if (!s) {
                text_add(t, "null", 4);
                return;
        }
        text_add(t, "\"", 1);
        text_escaped_as(t, s, flags);
        text_add(t, "\"", 1);
}

static void text_key(struct text *t, const char *key) {
        text_add(t, ",\"", 2);
        text_cstr(t, key);
        text_add(t, "\":", 2);
}

/* ,"KEY":V, or null when not PRESENT. */
static void put_int(struct text *t, const char *key, bool present, int64_t v) {
        text_key(t, key);
        if (present)
                text_int(t, v);
        else
                text_add(t, "null", 4);
}

static void put_uint(struct text *t, const char *key, bool present, uint64_t v) {
        text_key(t, key);
        if (present)
                text_uint(t, v);
        else
                text_add(t, "null", 4);
}

/* ,"KEY":S, S escaped as text (IPC_ESCAPE_TEXT) or as a name. */
static void put_str(struct text *t, const char *key, const char *s) {
        text_key(t, key);
        text_str(t, s, IPC_ESCAPE_TEXT);
}

static void put_name(struct text *t, const char *key, const char *s) {
        text_key(t, key);
        text_str(t, s, IPC_ESCAPE_NAME);
}

/* ,"KEY":[N pids, STRIDE bytes apart from FIRST], or null without FIRST. */
static void put_pids(struct text *t, const char *key, const void *first, size_t n, size_t stride) {
        text_key(t, key);
        if (!first) {
                text_add(t, "null", 4);
                return;
        }
        text_add(t, "[", 1);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        text_add(t, ",", 1);
                text_int(t, *(const pid_t *) (const void *) ((const char *) first + i * stride));
        }
        text_add(t, "]", 1);
}

/*
 * One object of a list: the object, its verdict, reason, rule and idle
 * time, with the keys and values of object_to_json() and
 * judgement_to_json() but written straight as text: a list of a hundred
 * thousand objects costs that many lines, not that many trees of JSON
 * objects built, printed and freed.
 */
static void list_entry(struct text *t, const struct inventory *inv, const struct ipc_object *o,
                       const struct judgement *j) {
        bool sysv = ipc_type_is_sysv(o->type), mq_known = !(o->flags & IPC_OBJECT_MQ_UNREADABLE);
        bool sem = o->type == IPC_TYPE_SEM;
        char perms[8], why[JUDGEMENT_REASON_MAX];
        static const pid_t none[1];

        text_add(t, "{\"id\":\"", 7);
        if (inv->foreign) {
                /* Unique beside the same id in another namespace. */
                text_cstr(t, "ipc:");
                text_int(t, (int64_t) inv->ipcns);
                text_add(t, "/", 1);
        }
        text_cstr(t, ipc_type_to_string(o->type));
        text_add(t, ":", 1);
        if (sysv)
                text_int(t, o->id);
        else
                text_escaped_as(t, strempty(o->name), IPC_ESCAPE_NAME);
        text_add(t, "\"", 1);
        put_str(t, "type", ipc_type_to_string(o->type));
        put_int(t, "key", sysv, o->key);
        put_name(t, "name", o->name);
        put_uint(t, "uid", true, o->uid);
        put_uint(t, "gid", true, o->gid);
        put_uint(t, "cuid", true, o->cuid);
        put_uint(t, "cgid", true, o->cgid);
        snprintf(perms, sizeof(perms), "%04o", (unsigned) (o->mode & 07777));
        put_str(t, "perms", perms);
        put_uint(t, "size", mq_known, o->size);
        put_int(t, "cpid", o->cpid != PID_NONE, o->cpid);
        put_int(t, "lpid", o->lpid != PID_NONE, o->lpid);
        put_int(t, "lrpid", o->lrpid != PID_NONE, o->lrpid);
        put_pids(t, "sempids", sem && o->sems ? &o->sems[0].pid : NULL, o->nsems, sizeof(*o->sems));
        put_uint(t, "nsems", sem, o->nsems);
        put_uint(t, "nattch", o->type == IPC_TYPE_SHM, o->nattch);
        put_uint(t, "qnum", o->type == IPC_TYPE_MSG, o->qnum);
        put_int(t, "notify_pid", o->type == IPC_TYPE_MQ && mq_known, o->notify_pid);
        put_pids(t, "holders", o->holders ? o->holders : none, o->n_holders, sizeof(pid_t));
        put_int(t, "ctime", true, o->ctime);
        put_int(t, "atime", true, o->atime);
        put_int(t, "mtime", true, o->mtime);
        put_int(t, "dtime", o->type == IPC_TYPE_SHM, o->dtime);
        if (inv->ipcns) {
                put_int(t, "ipcns", true, (int64_t) inv->ipcns);
                put_name(t, "container", inv->container);
        }
        put_str(t, "verdict", verdict_to_string(j->verdict));
        put_str(t, "reason", judgement_reason(j, why));
        put_str(t, "rule", j->rule ? j->rule->name : NULL);
        put_uint(t, "idle", true, j->idle);
        text_add(t, "}", 1);
}

int report_list_chunk(const struct inventory *inv, const struct judgement *js, const struct list_filter *f,
                      const char *prefix, const char *suffix, size_t max_bytes, struct report_list_cursor *c,
                      char **ret, size_t *ret_len) {
        struct text t = {};

        /* A piece ends at the first object past MAX_BYTES: room for that
         * from the start, rather than twice as much by doubling. */
        t.buf = malloc(max_bytes + 8192);
        if (!t.buf)
                return -ENOMEM;
        t.cap = max_bytes + 8192;
        t.buf[0] = 0;
        if (c->stage == 0) {
                text_cstr(&t, prefix);
                text_cstr(&t, "\"objects\":[");
                c->stage = 1;
        }
        for (; !t.error && c->stage == 1 && c->next < inv->n_objects && t.len < max_bytes; c->next++) {
                size_t i = c->next;
                if (!list_filter_match(f, &inv->objects[i], &js[i]))
                        continue;
                /* One object a line: what grep and a person can read too. */
                text_add(&t, c->any ? ",\n" : "\n", c->any ? 2 : 1);
                list_entry(&t, inv, &inv->objects[i], &js[i]);
                c->any = true;
        }
        if (c->stage == 1 && c->next >= inv->n_objects) {
                text_add(&t, c->any ? "\n]" : "]", c->any ? 2 : 1);
                text_cstr(&t, suffix);
                c->stage = 2;
        }
        if (t.error) {
                free(t.buf);
                return t.error;
        }
        *ret = t.buf;
        *ret_len = t.len;
        return 0;
}

int report_explain(const struct ipc_object *o, const struct judgement *j, json_object **ret) {
        json_object *obj;
        int r;

        r = object_to_json(o, &obj);
        if (r < 0)
                return r;
        r = judgement_to_json(j, true, obj);
        if (r == 0 && j->rule) {
                json_object *ri = json_object_new_object();
                r = ri ? put(obj, "rule_info", ri) : -ENOMEM;
                if (r == 0)
                        r = put(ri, "name", json_object_new_string(j->rule->name)) |
                            put(ri, "file", json_object_new_string(j->rule->file)) |
                            put(ri, "line", json_object_new_int64(j->rule->line)) |
                            put(ri, "action", json_object_new_string(rule_action_to_string(j->rule->action))) |
                            put(ri, "min_age", json_object_new_uint64(j->rule->min_age));
        } else if (r == 0)
                r = put(obj, "rule_info", NULL);
        if (r < 0) {
                json_object_put(obj);
                return -ENOMEM;
        }
        *ret = obj;
        return 0;
}

int report_record(const struct reap_record *rec, json_object **ret) {
        json_object *j = json_object_new_object();
        int r = 0;

        if (!j)
                return -ENOMEM;
        r |= put(j, "action", json_object_new_string(reap_action_to_string(rec->action)));
        r |= put(j, "id", rec->id ? json_object_new_string(rec->id) : NULL);
        r |= put(j, "type", rec->id ? json_object_new_string(ipc_type_to_string(rec->type)) : NULL);
        r |= put(j, "verdict", json_object_new_string(verdict_to_string(rec->verdict)));
        r |= put(j, "rule", object_json_escaped(rec->rule, IPC_ESCAPE_TEXT));
        r |= put(j, "reason", object_json_escaped(rec->reason, IPC_ESCAPE_TEXT));
        r |= put(j, "errno", rec->error ? json_object_new_int(rec->error) : NULL);
        if (rec->id) {
                r |= put(j, "uid", json_object_new_int64(rec->uid));
                if (ipc_type_is_sysv(rec->type))
                        r |= put(j, "key", json_object_new_int(rec->key));
                r |= put(j, "size", json_object_new_int64((int64_t) rec->size));
                r |= put(j, "archive", rec->archive ? json_object_new_string(rec->archive) : NULL);
        }
        if (r < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

int report_sweep(const struct reap_result *res, bool dry_run, json_object **ret) {
        json_object *root = json_object_new_object(), *arr = json_object_new_array();
        int r = 0;

        if (!root || !arr) {
                json_object_put(root);
                json_object_put(arr);
                return -ENOMEM;
        }
        r |= put(root, "records", arr);
        r |= put(root, "dry_run", json_object_new_boolean(dry_run));
        r |= put(root, "removed", json_object_new_int64(res->removed));
        r |= put(root, "would_remove", json_object_new_int64(res->would_remove));
        r |= put(root, "skipped", json_object_new_int64(res->skipped));
        r |= put(root, "failed", json_object_new_int64(res->failed));
        r |= put(root, "stopped", json_object_new_boolean(res->stopped));
        r |= put(root, "not_tried", json_object_new_int64((int64_t) res->not_tried));
        json_object *judged = json_object_new_object();
        r |= judged ? put(root, "judged", judged) : -ENOMEM;
        for (int v = 0; judged && v < _VERDICT_MAX; v++)
                r |= put(judged, verdict_to_string(v), json_object_new_int64((int64_t) res->judged[v]));
        for (size_t i = 0; i < res->n_records && r == 0; i++) {
                json_object *j = NULL;
                r = report_record(&res->records[i], &j);
                if (r >= 0)
                        r = append(arr, j);
        }
        if (r < 0) {
                json_object_put(root);
                return -ENOMEM;
        }
        *ret = root;
        return 0;
}

int report_audit(const struct audit *a, json_object **ret) {
        json_object *root = json_object_new_object(), *usage = json_object_new_array(),
                    *limits = json_object_new_array(), *mq = json_object_new_array();
        int r = 0;

        if (!root || !usage || !limits || !mq) {
                json_object_put(root);
                json_object_put(usage);
                json_object_put(limits);
                json_object_put(mq);
                return -ENOMEM;
        }
        r |= put(root, "usage", usage);
        r |= put(root, "limits", limits);
        r |= put(root, "mqueue_rlimit", mq);
        for (size_t i = 0; i < a->n_usage && r == 0; i++) {
                const struct audit_usage *u = &a->usage[i];
                char ubuf[16];
                json_object *j = json_object_new_object();
                r = append(usage, j);
                if (r < 0)
                        break;
                r |= put(j, "user", json_object_new_string(audit_user_name(u->uid, ubuf)));
                r |= put(j, "uid", json_object_new_int64(u->uid));
                r |= put(j, "type", json_object_new_string(ipc_type_to_string(u->type)));
                r |= put(j, "count", json_object_new_uint64(u->count));
                r |= put(j, "bytes", json_object_new_uint64(u->bytes));
                if (u->type == IPC_TYPE_SEM)
                        r |= put(j, "semaphores", json_object_new_uint64(u->units));
        }
        for (int l = 0; l < _LIMIT_MAX && r == 0; l++) {
                const struct audit_limit *lim = &a->limits[l];
                json_object *j = json_object_new_object();
                r = append(limits, j);
                if (r < 0)
                        break;
                r |= put(j, "name", json_object_new_string(lim->name));
                r |= put(j, "used", lim->has_used ? json_object_new_uint64(lim->used) : NULL);
                r |= put(j, "limit", lim->error < 0 ? NULL : json_object_new_uint64(lim->max));
                r |= put(j, "scope", json_object_new_string(lim->scope == LIMIT_SCOPE_SYSTEM ? "system" : "object"));
                r |= put(j, "source", lim->source ? json_object_new_string(lim->source) : NULL);
        }
        /* Each user with queues, against the limit processes start with. */
        for (size_t i = 0; i < a->n_mq_users && r == 0; i++) {
                const struct audit_mq_user *u = &a->mq_users[i];
                char ubuf[16];
                json_object *j = json_object_new_object();
                r = append(mq, j);
                if (r < 0)
                        break;
                r |= put(j, "user", json_object_new_string(audit_user_name(u->uid, ubuf)));
                r |= put(j, "uid", json_object_new_int64(u->uid));
                r |= put(j, "queues", json_object_new_uint64(u->queues));
                r |= put(j, "bytes", json_object_new_uint64(u->bytes));
                r |= put(j, "limit", a->mq_rlimit_error < 0 ? NULL : json_object_new_uint64(a->mq_rlimit));
        }
        if (r == 0 && a->mq_unread)
                r = put(root, "mqueue_unread", json_object_new_uint64(a->mq_unread));
        if (r < 0) {
                json_object_put(root);
                return -ENOMEM;
        }
        *ret = root;
        return 0;
}

static int archive_item_json(const struct archive_item *it, json_object **ret) {
        const struct ipc_object *o = &it->object;
        _cleanup_free_ char *id = ipc_object_id(o);
        json_object *j = json_object_new_object();
        int r = 0;

        if (!j || !id) {
                json_object_put(j);
                return -ENOMEM;
        }
        r |= put(j, "entry", json_object_new_string(it->name));
        if (it->why.ipcns) {
                /* Named as it was listed: another namespace's. */
                char *full = NULL;
                if (asprintf(&full, "ipc:%" PRIu64 "/%s", it->why.ipcns, id) < 0) {
                        json_object_put(j);
                        return -ENOMEM;
                }
                free(id);
                id = full;
        }
        r |= put(j, "id", json_object_new_string(id));
        r |= put(j, "ipcns", it->why.ipcns ? json_object_new_uint64(it->why.ipcns) : NULL);
        r |= put(j, "container", object_json_escaped(it->why.container, IPC_ESCAPE_TEXT));
        r |= put(j, "type", json_object_new_string(ipc_type_to_string(o->type)));
        r |= put(j, "key", ipc_type_is_sysv(o->type) ? json_object_new_int(o->key) : NULL);
        r |= put(j, "name", object_json_escaped(o->name, IPC_ESCAPE_NAME));
        r |= put(j, "uid", json_object_new_int64(o->uid));
        r |= put(j, "gid", json_object_new_int64(o->gid));
        r |= put(j, "size", json_object_new_uint64(o->size));
        r |= put(j, "bytes", json_object_new_uint64(it->contents.bytes));
        r |= put(j, "disk_bytes", json_object_new_uint64(it->disk_bytes));
        r |= put(j, "pack", json_object_new_string(it->pack));
        r |= put(j, "removed_at", json_object_new_int64(it->why.time));
        r |= put(j, "verdict", object_json_escaped(it->why.verdict, IPC_ESCAPE_TEXT));
        r |= put(j, "reason", object_json_escaped(strempty(it->why.reason), IPC_ESCAPE_TEXT));
        r |= put(j, "rule", object_json_escaped(it->why.rule, IPC_ESCAPE_TEXT));
        r |= put(j, "by_uid", json_object_new_int64(it->why.by_uid));
        if (r < 0) {
                json_object_put(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

int report_archive(const struct archive_listing *l, const struct list_filter *f, json_object **ret) {
        json_object *root = json_object_new_object(), *entries = json_object_new_array();
        int r = 0;

        if (!root || !entries) {
                json_object_put(root);
                json_object_put(entries);
                return -ENOMEM;
        }
        r |= put(root, "entries", entries);
        r |= put(root, "bad", json_object_new_uint64(l->n_bad));
        for (size_t i = 0; i < l->n_items && r == 0; i++) {
                const struct ipc_object *o = &l->items[i].object;
                json_object *j = NULL;
                if (f && f->by_user && !(f->or_creator ? ipc_object_belongs_to(o, f->uid) : o->uid == f->uid))
                        continue;
                r = archive_item_json(&l->items[i], &j);
                if (r == 0)
                        r = append(entries, j);
        }
        if (r < 0) {
                json_object_put(root);
                return -ENOMEM;
        }
        *ret = root;
        return 0;
}

/* An ID as ipc_object_id() prints it: its type, and its SysV id in *RET_ID
 * or its name (unescaped, malloc'd) in *RET_NAME.  -ENOENT for what is not
 * such an ID. */
static int parse_id(const char *id, int *ret_type, int *ret_id, char **ret_name) {
        const char *colon = strchr(id, ':');
        char tname[8], canon[16];
        int t;

        if (!colon || (size_t) (colon - id) >= sizeof(tname))
                return -ENOENT;
        memcpy(tname, id, (size_t) (colon - id));
        tname[colon - id] = 0;
        t = ipc_type_from_string(tname);
        if (t < 0)
                return -ENOENT;
        const char *rest = colon + 1;
        if (!ipc_type_is_sysv(t)) {
                /* A name goes out escaped (ipc_object_id()): taken back so. */
                char *name;
                int r = ipc_name_unescape(rest, &name);
                if (r < 0)
                        return r == -EINVAL ? -ENOENT : r;
                *ret_type = t;
                *ret_id = -1;
                *ret_name = name;
                return 0;
        }
        char *end;
        errno = 0;
        long v = strtol(rest, &end, 10);
        /* only the form ipc_object_id() prints */
        if (errno || *end || v < 0 || v > INT32_MAX)
                return -ENOENT;
        snprintf(canon, sizeof(canon), "%d", (int) v);
        if (strcmp(canon, rest) != 0)
                return -ENOENT;
        *ret_type = t;
        *ret_id = (int) v;
        *ret_name = NULL;
        return 0;
}

int inventory_find(const struct inventory *inv, const char *id, size_t *ret_index) {
        _cleanup_free_ char *name = NULL;
        int t, n;

        /* Parsed once, not printed for every object: a lookup is a scan of
         * integers or names. */
        int r = parse_id(id, &t, &n, &name);
        if (r < 0)
                return r;
        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                if ((int) o->type != t)
                        continue;
                if (n >= 0 ? o->id == n : o->name && strcmp(o->name, name) == 0) {
                        *ret_index = i;
                        return 0;
                }
        }
        return -ENOENT;
}

struct inventory_ids {
        const struct inventory *inv;
        size_t *order; /* indexes into inv->objects, by (type, id or name, index) */
        size_t n;
};

/* Orders by type, then SysV id or name (a file object without one first),
 * then index: of two objects with one ID the first in the inventory comes
 * first, the one inventory_find() would have found. */
static int cmp_key(const struct ipc_object *o, size_t i, int t, int id, const char *name, size_t j) {
        if ((int) o->type != t)
                return (int) o->type < t ? -1 : 1;
        if (ipc_type_is_sysv(t)) {
                if (o->id != id)
                        return o->id < id ? -1 : 1;
        } else {
                int c = !o->name ? (name ? -1 : 0) : !name ? 1 : strcmp(o->name, name);
                if (c != 0)
                        return c;
        }
        return (i > j) - (i < j);
}

static const struct inventory *sorting; /* qsort has no userdata */

static int cmp_order(const void *x, const void *y) {
        size_t i = *(const size_t *) x, j = *(const size_t *) y;
        const struct ipc_object *q = &sorting->objects[j];
        return cmp_key(&sorting->objects[i], i, (int) q->type, q->id, q->name, j);
}

int inventory_ids_new(const struct inventory *inv, struct inventory_ids **ret) {
        struct inventory_ids *x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->order = calloc(inv->n_objects ? inv->n_objects : 1, sizeof(*x->order));
        if (!x->order) {
                free(x);
                return -ENOMEM;
        }
        for (size_t i = 0; i < inv->n_objects; i++)
                x->order[i] = i;
        x->inv = inv;
        x->n = inv->n_objects;
        sorting = inv;
        qsort(x->order, x->n, sizeof(*x->order), cmp_order);
        sorting = NULL;
        *ret = x;
        return 0;
}

struct inventory_ids *inventory_ids_free(struct inventory_ids *x) {
        if (x) {
                free(x->order);
                free(x);
        }
        return NULL;
}

int inventory_ids_find(const struct inventory_ids *x, const char *id, size_t *ret_index) {
        _cleanup_free_ char *name = NULL;
        int t, n;

        int r = parse_id(id, &t, &n, &name);
        if (r < 0)
                return r;
        /* The first entry not before (t, n or name, index 0). */
        size_t lo = 0, hi = x->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2, i = x->order[mid];
                if (cmp_key(&x->inv->objects[i], i, t, n, name, 0) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == x->n)
                return -ENOENT;
        size_t i = x->order[lo];
        const struct ipc_object *o = &x->inv->objects[i];
        if ((int) o->type != t || (n >= 0 ? o->id != n : !o->name || strcmp(o->name, name) != 0))
                return -ENOENT;
        *ret_index = i;
        return 0;
}
