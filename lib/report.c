/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        return (!f->types || (f->types & IPC_TYPE_BIT(o->type))) && (!f->by_user || o->uid == f->uid) &&
               (!f->verdicts || (f->verdicts & (1u << j->verdict)));
}

/* One object of a list: the object, its verdict, reason, rule and idle time. */
static int list_entry(const struct ipc_object *o, const struct judgement *j, json_object **ret) {
        json_object *obj;
        int r = object_to_json(o, &obj);
        if (r < 0)
                return r;
        r = judgement_to_json(j, false, obj);
        if (r < 0) {
                json_object_put(obj);
                return r;
        }
        *ret = obj;
        return 0;
}


struct text {
        char *buf;
        size_t len, cap;
};

static int text_add(struct text *t, const char *s, size_t n) {
        if (t->len + n + 1 > t->cap) {
                size_t cap = t->cap ? t->cap : 65536;
                while (cap < t->len + n + 1)
                        cap *= 2;
                char *b = realloc(t->buf, cap);
                if (!b)
                        return -ENOMEM;
                t->buf = b;
                t->cap = cap;
        }
        memcpy(t->buf + t->len, s, n);
        t->len += n;
        t->buf[t->len] = 0;
        return 0;
}

int report_list_chunk(const struct inventory *inv, const struct judgement *js, const struct list_filter *f,
                      const char *prefix, const char *suffix, size_t max_bytes, struct report_list_cursor *c,
                      char **ret, size_t *ret_len) {
        struct text t = {};
        int r = 0;

        if (c->stage == 0) {
                r = text_add(&t, prefix, strlen(prefix));
                if (r == 0)
                        r = text_add(&t, "\"objects\":[", 11);
                c->stage = 1;
        }
        for (; r == 0 && c->stage == 1 && c->next < inv->n_objects && t.len < max_bytes; c->next++) {
                json_object *j;
                size_t i = c->next;
                if (!list_filter_match(f, &inv->objects[i], &js[i]))
                        continue;
                r = list_entry(&inv->objects[i], &js[i], &j);
                if (r < 0)
                        break;
                const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
                /* One object a line: what grep and a person can read too. */
                r = text_add(&t, c->any ? ",\n" : "\n", c->any ? 2 : 1);
                if (r == 0)
                        r = s ? text_add(&t, s, strlen(s)) : -ENOMEM;
                c->any = true;
                json_object_put(j);
        }
        if (r == 0 && c->stage == 1 && c->next >= inv->n_objects) {
                r = text_add(&t, c->any ? "\n]" : "]", c->any ? 2 : 1);
                if (r == 0)
                        r = text_add(&t, suffix, strlen(suffix));
                c->stage = 2;
        }
        if (r < 0) {
                free(t.buf);
                return r;
        }
        if (!t.buf) {
                t.buf = strdup("");
                if (!t.buf)
                        return -ENOMEM;
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
                const struct reap_record *rec = &res->records[i];
                json_object *j = json_object_new_object();
                r = append(arr, j);
                if (r < 0)
                        break;
                r |= put(j, "action", json_object_new_string(reap_action_to_string(rec->action)));
                r |= put(j, "id", rec->id ? json_object_new_string(rec->id) : NULL);
                r |= put(j, "type", rec->id ? json_object_new_string(ipc_type_to_string(rec->type)) : NULL);
                r |= put(j, "verdict", json_object_new_string(verdict_to_string(rec->verdict)));
                r |= put(j, "rule", rec->rule ? json_object_new_string(rec->rule) : NULL);
                r |= put(j, "reason", json_object_new_string(rec->reason));
                r |= put(j, "errno", rec->error ? json_object_new_int(rec->error) : NULL);
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
                    *limits = json_object_new_array();
        int r = 0;

        if (!root || !usage || !limits) {
                json_object_put(root);
                json_object_put(usage);
                json_object_put(limits);
                return -ENOMEM;
        }
        r |= put(root, "usage", usage);
        r |= put(root, "limits", limits);
        for (size_t i = 0; i < a->n_usage && r == 0; i++) {
                const struct audit_usage *u = &a->usage[i];
                const struct passwd *pw = getpwuid(u->uid);
                char ubuf[16];
                json_object *j = json_object_new_object();
                r = append(usage, j);
                if (r < 0)
                        break;
                snprintf(ubuf, sizeof(ubuf), "%u", (unsigned) u->uid);
                r |= put(j, "user", json_object_new_string(pw ? pw->pw_name : ubuf));
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
                r |= put(j, "used", json_object_new_uint64(lim->used));
                r |= put(j, "limit", lim->error < 0 ? NULL : json_object_new_uint64(lim->max));
        }
        if (r < 0) {
                json_object_put(root);
                return -ENOMEM;
        }
        *ret = root;
        return 0;
}

int inventory_find(const struct inventory *inv, const char *id, size_t *ret_index) {
        const char *colon = strchr(id, ':');
        char tname[8], canon[16];
        int t, n = -1;

        /* Parsed once, not printed for every object: a lookup is a scan of
         * integers or names. */
        if (!colon || (size_t) (colon - id) >= sizeof(tname))
                return -ENOENT;
        memcpy(tname, id, (size_t) (colon - id));
        tname[colon - id] = 0;
        t = ipc_type_from_string(tname);
        if (t < 0)
                return -ENOENT;
        const char *rest = colon + 1;
        if (ipc_type_is_sysv(t)) {
                char *end;
                errno = 0;
                long v = strtol(rest, &end, 10);
                /* only the form ipc_object_id() prints */
                if (errno || *end || v < 0 || v > INT32_MAX)
                        return -ENOENT;
                n = (int) v;
                snprintf(canon, sizeof(canon), "%d", n);
                if (strcmp(canon, rest) != 0)
                        return -ENOENT;
        }
        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                if ((int) o->type != t)
                        continue;
                if (n >= 0 ? o->id == n : o->name && strcmp(o->name, rest) == 0) {
                        *ret_index = i;
                        return 0;
                }
        }
        return -ENOENT;
}
