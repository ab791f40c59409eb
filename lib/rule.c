/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "rule.h"

static const char *const action_names[_ACTION_MAX] = {
        [ACTION_COLLECT] = "collect",
        [ACTION_REPORT] = "report",
        [ACTION_KEEP] = "keep",
};

const char *rule_action_to_string(enum rule_action a) {
        return (unsigned) a < _ACTION_MAX ? action_names[a] : NULL;
}

int rule_action_from_string(const char *s) {
        for (int a = 0; a < _ACTION_MAX; a++)
                if (strcmp(s, action_names[a]) == 0)
                        return a;
        return -EINVAL;
}

const char *owner_kind_to_string(enum owner_kind k) {
        switch (k) {
        case OWNER_UID:
                return "uid";
        case OWNER_PIDFILE:
                return "pidfile";
        case OWNER_PROCESS:
                return "process";
        case OWNER_UNIT:
                return "unit";
        }
        return NULL;
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void rule_done(struct rule *r) {
        free(r->name);
        free(r->file);
        free(r->users);
        free(r->groups);
        free(r->keys);
        strv_free(r->names, r->n_names);
        strv_free(r->paths, r->n_paths);
        strv_free(r->containers, r->n_containers);
        for (size_t i = 0; i < r->n_owners; i++)
                free(r->owners[i].arg);
        free(r->owners);
}

static bool any_glob(char *const *globs, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (fnmatch(globs[i], s, 0) == 0)
                        return true;
        return false;
}

bool rule_matches(const struct rule *r, const struct ipc_object *o, const struct rule_where *where) {
        bool foreign = where && where->foreign;

        if (r->types && !(r->types & IPC_TYPE_BIT(o->type)))
                return false;
        if ((r->ns == RULE_NS_HOST && foreign) || (r->ns == RULE_NS_CONTAINER && !foreign))
                return false;
        /* A namespace without a name matches no Container=. */
        if (r->n_containers &&
            (!foreign || !where->container || !any_glob(r->containers, r->n_containers, where->container)))
                return false;

        if (r->n_users) {
                bool hit = false;
                for (size_t i = 0; i < r->n_users && !hit; i++)
                        hit = o->uid >= r->users[i].lo && o->uid <= r->users[i].hi;
                if (!hit)
                        return false;
        }
        if (r->n_groups) {
                bool hit = false;
                for (size_t i = 0; i < r->n_groups && !hit; i++)
                        hit = o->gid == r->groups[i];
                if (!hit)
                        return false;
        }
        if (r->n_keys) {
                /* Key= selects SysV objects by key; named objects have none. */
                if (!ipc_type_is_sysv(o->type))
                        return false;
                bool hit = false;
                for (size_t i = 0; i < r->n_keys && !hit; i++)
                        hit = (uint32_t) o->key >= r->keys[i].lo && (uint32_t) o->key <= r->keys[i].hi;
                if (!hit)
                        return false;
        }
        if (r->n_names) {
                if (o->type == IPC_TYPE_FIFO || ipc_type_is_sysv(o->type) || !o->name ||
                    !any_glob(r->names, r->n_names, o->name))
                        return false;
        }
        if (r->n_paths) {
                if (o->type != IPC_TYPE_FIFO || !o->name || !any_glob(r->paths, r->n_paths, o->name))
                        return false;
        }
        if (r->has_min_size && o->size < r->min_size)
                return false;
        return true;
}

const struct rule *rules_find(const struct rule *rules, size_t n, const struct ipc_object *o,
                              const struct rule_where *where) {
        for (size_t i = 0; i < n; i++)
                if (rule_matches(&rules[i], o, where))
                        return &rules[i];
        return NULL;
}

static int error(char **ret_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int error(char **ret_error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

/* Calls ONE for each space-separated word of VALUE; stops at the first error. */
static int for_each_word(const char *key, const char *value, size_t *n, char **ret_error,
                         int (*one)(void *userdata, const char *word, char **ret_error), void *userdata) {
        const char *p = value;
        size_t count = 0;

        for (;;) {
                char word[512];
                size_t len;
                int r;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                len = strcspn(p, " \t");
                if (len >= sizeof(word))
                        return error(ret_error, "%s= value too long", key);
                if (*n + 1 > RULE_MAX_VALUES)
                        return error(ret_error, "%s= has more than %u values", key, RULE_MAX_VALUES);
                memcpy(word, p, len);
                word[len] = 0;
                r = one(userdata, word, ret_error);
                if (r < 0)
                        return r;
                (*n)++;
                count++;
                p += len;
        }
        if (count == 0)
                return error(ret_error, "%s= is empty", key);
        return 0;
}

static void *grow(void *array, size_t n, size_t size) {
        return reallocarray(array, n + 1, size);
}

static int add_user(void *userdata, const char *w, char **ret_error) {
        struct rule *r = userdata;
        struct uid_range u;
        int k = parse_uid_range(w, &u.lo, &u.hi);
        if (k == -ESRCH)
                return error(ret_error, "User=: unknown user \"%s\"", w);
        if (k < 0)
                return error(ret_error, "User=: bad user or uid range \"%s\"", w);
        struct uid_range *a = grow(r->users, r->n_users, sizeof(*a));
        if (!a)
                return -ENOMEM;
        r->users = a;
        a[r->n_users] = u;
        return 0;
}

static int add_group(void *userdata, const char *w, char **ret_error) {
        struct rule *r = userdata;
        gid_t g;
        int k = parse_gid(w, &g);
        if (k == -ESRCH)
                return error(ret_error, "Group=: unknown group \"%s\"", w);
        if (k < 0)
                return error(ret_error, "Group=: bad group \"%s\"", w);
        gid_t *a = grow(r->groups, r->n_groups, sizeof(*a));
        if (!a)
                return -ENOMEM;
        r->groups = a;
        a[r->n_groups] = g;
        return 0;
}

static int add_key(void *userdata, const char *w, char **ret_error) {
        struct rule *r = userdata;
        struct key_range k;
        if (parse_key_range(w, &k.lo, &k.hi) < 0)
                return error(ret_error, "Key=: bad key or key range \"%s\" (e.g. 0x1234, 4660, 0x1000-0x1fff)", w);
        struct key_range *a = grow(r->keys, r->n_keys, sizeof(*a));
        if (!a)
                return -ENOMEM;
        r->keys = a;
        a[r->n_keys] = k;
        return 0;
}

static int add_glob(char ***globs, size_t n, const char *key, const char *w, char **ret_error) {
        if (glob_validate(w) < 0)
                return error(ret_error, "%s=: bad glob \"%s\" (unclosed '[' or trailing '\\')", key, w);
        char **a = grow(*globs, n, sizeof(char *));
        if (!a)
                return -ENOMEM;
        *globs = a;
        a[n] = strdup(w);
        return a[n] ? 0 : -ENOMEM;
}

static int add_name(void *userdata, const char *w, char **ret_error) {
        struct rule *r = userdata;
        if (w[0] != '/' && w[0] != '*')
                return error(ret_error, "Name=: POSIX names start with '/', got \"%s\"", w);
        return add_glob(&r->names, r->n_names, "Name", w, ret_error);
}

static int add_path(void *userdata, const char *w, char **ret_error) {
        struct rule *r = userdata;
        if (w[0] != '/')
                return error(ret_error, "Path=: want an absolute path glob, got \"%s\"", w);
        return add_glob(&r->paths, r->n_paths, "Path", w, ret_error);
}

static int add_container(void *userdata, const char *w, char **ret_error) {
        struct rule *r = userdata;
        return add_glob(&r->containers, r->n_containers, "Container", w, ret_error);
}

static int add_owner(void *userdata, const char *w, char **ret_error) {
        struct rule *r = userdata;
        struct owner_source s = {};
        const char *colon = strchr(w, ':');

        if (strcmp(w, "uid") == 0)
                s.kind = OWNER_UID;
        else if (colon && colon[1]) {
                size_t n = (size_t) (colon - w);
                if (n == 7 && strncmp(w, "pidfile", 7) == 0) {
                        s.kind = OWNER_PIDFILE;
                        if (colon[1] != '/' || glob_validate(colon + 1) < 0)
                                return error(ret_error, "Owner=pidfile: wants an absolute path glob, got \"%s\"",
                                             colon + 1);
                } else if (n == 7 && strncmp(w, "process", 7) == 0) {
                        s.kind = OWNER_PROCESS;
                        if (strlen(colon + 1) > 15)
                                return error(ret_error, "Owner=process: names are at most 15 characters (comm)");
                } else if (n == 4 && strncmp(w, "unit", 4) == 0) {
                        s.kind = OWNER_UNIT;
                        if (glob_validate(colon + 1) < 0)
                                return error(ret_error, "Owner=unit: bad glob \"%s\"", colon + 1);
                } else
                        return error(ret_error, "Owner=: unknown source \"%s\" (uid, pidfile:, process:, unit:)", w);
                s.arg = strdup(colon + 1);
                if (!s.arg)
                        return -ENOMEM;
        } else
                return error(ret_error, "Owner=: unknown source \"%s\" (uid, pidfile:GLOB, process:NAME, unit:GLOB)",
                             w);

        struct owner_source *a = grow(r->owners, r->n_owners, sizeof(*a));
        if (!a) {
                free(s.arg);
                return -ENOMEM;
        }
        r->owners = a;
        a[r->n_owners] = s;
        return 0;
}

int rule_set(struct rule *r, const char *key, const char *value, char **ret_error) {
        if (strcmp(key, "Types") == 0) {
                if (ipc_type_mask_parse(value, &r->types) < 0)
                        return error(ret_error, "Types= wants one or more of shm msg sem mq pshm psem fifo, got \"%s\"",
                                     value);
                return 0;
        }
        if (strcmp(key, "User") == 0)
                return for_each_word(key, value, &r->n_users, ret_error, add_user, r);
        if (strcmp(key, "Group") == 0)
                return for_each_word(key, value, &r->n_groups, ret_error, add_group, r);
        if (strcmp(key, "Key") == 0)
                return for_each_word(key, value, &r->n_keys, ret_error, add_key, r);
        if (strcmp(key, "Name") == 0)
                return for_each_word(key, value, &r->n_names, ret_error, add_name, r);
        if (strcmp(key, "Path") == 0)
                return for_each_word(key, value, &r->n_paths, ret_error, add_path, r);
        if (strcmp(key, "Owner") == 0)
                return for_each_word(key, value, &r->n_owners, ret_error, add_owner, r);
        if (strcmp(key, "Container") == 0)
                return for_each_word(key, value, &r->n_containers, ret_error, add_container, r);
        if (strcmp(key, "Namespace") == 0) {
                if (strcmp(value, "all") == 0)
                        r->ns = RULE_NS_ALL;
                else if (strcmp(value, "host") == 0)
                        r->ns = RULE_NS_HOST;
                else if (strcmp(value, "container") == 0)
                        r->ns = RULE_NS_CONTAINER;
                else
                        return error(ret_error, "Namespace= wants host, container or all, got \"%s\"", value);
                return 0;
        }
        if (strcmp(key, "MinSize") == 0) {
                if (parse_size(value, &r->min_size) < 0)
                        return error(ret_error, "MinSize= wants a size like 4096, 64K or 1M, got \"%s\"", value);
                r->has_min_size = true;
                return 0;
        }
        if (strcmp(key, "MinAge") == 0) {
                if (parse_duration(value, &r->min_age) < 0)
                        return error(ret_error, "MinAge= wants a duration like 90s, 15m, 1h30m or 2d, got \"%s\"",
                                     value);
                return 0;
        }
        if (strcmp(key, "NeverSeen") == 0) {
                if (strcmp(value, "owner") == 0)
                        r->never_seen_owner = true;
                else if (strcmp(value, "evidence") == 0)
                        r->never_seen_owner = false;
                else
                        return error(ret_error, "NeverSeen= wants owner or evidence, got \"%s\"", value);
                return 0;
        }
        if (strcmp(key, "Archive") == 0) {
                bool yes;
                if (parse_bool(value, &yes) < 0)
                        return error(ret_error, "Archive= wants yes or no, got \"%s\"", value);
                r->no_archive = !yes;
                return 0;
        }
        if (strcmp(key, "Action") == 0) {
                int a = rule_action_from_string(value);
                if (a < 0)
                        return error(ret_error, "Action= wants collect, report or keep, got \"%s\"", value);
                r->action = (enum rule_action) a;
                r->has_action = true;
                return 0;
        }
        return -ENOENT;
}
