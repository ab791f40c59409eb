/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ipcns.h"
#include "macro.h"

struct ipcns_list *ipcns_list_free(struct ipcns_list *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n; i++) {
                free(l->ns[i].members);
                free(l->ns[i].maybe);
                free(l->ns[i].name);
        }
        free(l->ns);
        free(l);
        return NULL;
}

static int ns_ino(const char *proc_root, const char *pid, const char *kind, uint64_t *ret) {
        char path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s/ns/%s", proc_root, pid, kind);
        if (stat(path, &st) < 0)
                return negative_errno();
        *ret = (uint64_t) st.st_ino;
        return 0;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return (x > y) - (x < y);
}

static int cmp_ns(const void *a, const void *b) {
        uint64_t x = ((const struct ipcns *) a)->ino, y = ((const struct ipcns *) b)->ino;
        return (x > y) - (x < y);
}

bool ipcns_is_member(const struct ipcns *ns, pid_t pid) {
        return ns->n_members && ns->members && bsearch(&pid, ns->members, ns->n_members, sizeof(pid_t), cmp_pid);
}

bool ipcns_may_be_member(const struct ipcns *ns, pid_t pid) {
        return ipcns_is_member(ns, pid) ||
               (ns->n_maybe && ns->maybe && bsearch(&pid, ns->maybe, ns->n_maybe, sizeof(pid_t), cmp_pid));
}

/* Twelve hex digits of a container id, as docker ps shows it. */
static int short_id(const char *kind, const char *id, size_t len, char **ret) {
        size_t n = 0;
        while (n < len && n < 12 && isxdigit((unsigned char) id[n]))
                n++;
        if (n == 0)
                return 0;
        return asprintf(ret, "%s:%.*s", kind, (int) n, id) < 0 ? -ENOMEM : 0;
}

/* "machine-web\x2d1.scope" -> "web-1": systemd escapes '-' in the name. */
static int machine_name(const char *s, size_t len, char **ret) {
        _cleanup_free_ char *out = malloc(len + 1);
        size_t w = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                unsigned v;
                if (s[i] == '\\' && i + 3 < len && s[i + 1] == 'x' && sscanf(s + i + 2, "%2x", &v) == 1 && v) {
                        out[w++] = (char) v;
                        i += 3;
                } else
                        out[w++] = s[i];
        }
        out[w] = 0;
        if (w == 0 || w > IPCNS_NAME_MAX)
                return 0;
        return asprintf(ret, "machine:%s", out) < 0 ? -ENOMEM : 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix) {
        size_t k = strlen(suffix);
        return len >= k && memcmp(s + len - k, suffix, k) == 0;
}

int ipcns_name_from_cgroup(const char *path, char **ret) {
        static const struct {
                const char *prefix, *kind;
        } scopes[] = {
                { "docker-", "docker" },
                { "cri-containerd-", "cri-containerd" },
                { "crio-", "cri-o" },
                { "libpod-", "podman" },
        };
        const char *unit = NULL;
        size_t unit_len = 0;

        *ret = NULL;
        /* Innermost first: a container's scope sits below its slice. */
        for (const char *end = path + strlen(path); end > path;) {
                const char *start = end;
                while (start > path && start[-1] != '/')
                        start--;
                size_t len = (size_t) (end - start);
                for (size_t i = 0; len && i < ELEMENTSOF(scopes); i++) {
                        size_t k = strlen(scopes[i].prefix);
                        if (len > k && strncmp(start, scopes[i].prefix, k) == 0 && ends_with(start, len, ".scope"))
                                return short_id(scopes[i].kind, start + k, len - k - strlen(".scope"), ret);
                }
                if (len > 8 && strncmp(start, "machine-", 8) == 0 && ends_with(start, len, ".scope"))
                        return machine_name(start + 8, len - 8 - strlen(".scope"), ret);
                /* cgroupfs drivers: /docker/<id> */
                if (start - path >= 8 && memcmp(start - 8, "/docker/", 8) == 0 && len >= 12)
                        return short_id("docker", start, len, ret);
                if (!unit && len && len <= IPCNS_NAME_MAX &&
                    (ends_with(start, len, ".service") || ends_with(start, len, ".scope")) &&
                    !(len == strlen("init.scope") && strncmp(start, "init.scope", len) == 0)) {
                        unit = start;
                        unit_len = len;
                }
                end = start > path ? start - 1 : path;
        }
        if (!unit)
                return 0;
        *ret = strndup(unit, unit_len);
        return *ret ? 0 : -ENOMEM;
}

/* The name of PID's cgroup (v2, or else the first hierarchy listed). */
static int name_of(const char *proc_root, pid_t pid, char **ret) {
        char path[4096];
        _cleanup_free_ char *line = NULL, *first = NULL;
        size_t cap = 0;

        *ret = NULL;
        snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, (int) pid);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f)
                return 0; /* gone, or hidden: no name, the inode stays */
        while (getline(&line, &cap, f) > 0) {
                line[strcspn(line, "\n")] = 0;
                const char *p = strchr(line, ':');
                p = p ? strchr(p + 1, ':') : NULL;
                if (!p)
                        continue;
                if (strncmp(line, "0::", 3) == 0)
                        return ipcns_name_from_cgroup(p + 1, ret);
                if (!first && !(first = strdup(p + 1)))
                        return -ENOMEM;
        }
        return first ? ipcns_name_from_cgroup(first, ret) : 0;
}

static int add_member(struct ipcns *ns, size_t *cap, pid_t pid, size_t max) {
        if (ns->n_members >= max) {
                if (!ns->partial) {
                        ns->partial = true;
                        snprintf(ns->reason, sizeof(ns->reason), "more than %zu processes: not all of them are seen",
                                 max);
                }
                return 0;
        }
        if (ns->n_members == *cap) {
                size_t nc = *cap ? *cap * 2 : 8;
                pid_t *a = reallocarray(ns->members, nc, sizeof(pid_t));
                if (!a)
                        return -ENOMEM;
                ns->members = a;
                *cap = nc;
        }
        ns->members[ns->n_members++] = pid;
        return 0;
}

int ipcns_discover(const char *proc_root, size_t max_ns, size_t max_members, struct ipcns_list **ret) {
        _cleanup_(ipcns_list_freep) struct ipcns_list *l = calloc(1, sizeof(*l));
        _cleanup_free_ size_t *caps = NULL;
        _cleanup_free_ pid_t *maybe = NULL;
        size_t n_maybe = 0;
        _cleanup_closedir_ DIR *d = NULL;
        size_t n_cap = 0;
        uint64_t self = 0;
        int r;

        if (!l)
                return -ENOMEM;
        proc_root = proc_root ? proc_root : "/proc";
        max_ns = max_ns ? max_ns : IPCNS_MAX_DEFAULT;
        max_members = max_members ? max_members : IPCNS_MAX_MEMBERS_DEFAULT;
        r = ns_ino(proc_root, "self", "ipc", &self);
        if (r < 0)
                return r;
        d = opendir(proc_root);
        if (!d)
                return negative_errno();

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                char *end;
                long pid = strtol(de->d_name, &end, 10);
                uint64_t ino;
                size_t k;

                if (*end || pid <= 0 || end == de->d_name)
                        continue;
                r = ns_ino(proc_root, de->d_name, "ipc", &ino);
                if (r == -ENOENT || r == -ESRCH)
                        continue; /* exited meanwhile: a member of nothing */
                if (r < 0) {
                        /* Kept, to be counted with every namespace. */
                        if (l->n_unreadable++ < IPCNS_MAX_MAYBE) {
                                if (!maybe && !(maybe = calloc(IPCNS_MAX_MAYBE, sizeof(pid_t))))
                                        return -ENOMEM;
                                maybe[n_maybe++] = (pid_t) pid;
                        }
                        continue;
                }
                /* Few namespaces, many processes: a linear look is cheap
                 * beside the stat that found the inode. */
                for (k = 0; k < l->n && l->ns[k].ino != ino; k++)
                        ;
                if (k == l->n) {
                        if (l->n >= max_ns) {
                                l->cut = true;
                                continue;
                        }
                        if (l->n == n_cap) {
                                size_t nc = n_cap ? n_cap * 2 : 16;
                                struct ipcns *a = reallocarray(l->ns, nc, sizeof(*a));
                                size_t *c = reallocarray(caps, nc, sizeof(*c));
                                if (c)
                                        caps = c;
                                if (a)
                                        l->ns = a;
                                if (!a || !c)
                                        return -ENOMEM;
                                n_cap = nc;
                        }
                        l->ns[l->n] = (struct ipcns) { .ino = ino, .self = ino == self };
                        caps[l->n++] = 0;
                }
                r = add_member(&l->ns[k], &caps[k], (pid_t) pid, max_members);
                if (r < 0)
                        return r;
        }
        if (errno)
                return negative_errno();

        for (size_t i = 0; i < l->n; i++) {
                struct ipcns *ns = &l->ns[i];
                char pid[16];
                qsort(ns->members, ns->n_members, sizeof(pid_t), cmp_pid);
                if (l->n_unreadable > IPCNS_MAX_MAYBE && !ns->partial) {
                        ns->partial = true;
                        snprintf(ns->reason, sizeof(ns->reason),
                                 "the IPC namespace of %zu processes could not be read: they may be members",
                                 l->n_unreadable);
                }
                if (n_maybe) {
                        /* readdir's order is no order: sorted for lookups */
                        if (!(ns->maybe = malloc(n_maybe * sizeof(pid_t))))
                                return -ENOMEM;
                        memcpy(ns->maybe, maybe, n_maybe * sizeof(pid_t));
                        qsort(ns->maybe, n_maybe, sizeof(pid_t), cmp_pid);
                        ns->n_maybe = n_maybe;
                }
                snprintf(pid, sizeof(pid), "%d", (int) ns->members[0]);
                (void) ns_ino(proc_root, pid, "mnt", &ns->mnt_ino);
                /* The first member with a name names the namespace: in a
                 * container, its init comes first. */
                for (size_t m = 0; m < ns->n_members && !ns->name; m++) {
                        r = name_of(proc_root, ns->members[m], &ns->name);
                        if (r < 0)
                                return r;
                        if (ns->name && !strchr(ns->name, ':') && m + 1 < ns->n_members) {
                                /* a unit: a container's name may follow */
                                _cleanup_free_ char *unit = TAKE_PTR(ns->name);
                                for (size_t q = m + 1; q < ns->n_members && q < m + 16 && !ns->name; q++) {
                                        r = name_of(proc_root, ns->members[q], &ns->name);
                                        if (r < 0)
                                                return r;
                                        if (ns->name && !strchr(ns->name, ':')) {
                                                free(ns->name);
                                                ns->name = NULL;
                                        }
                                }
                                if (!ns->name)
                                        ns->name = TAKE_PTR(unit);
                        }
                }
        }
        if (l->n)
                qsort(l->ns, l->n, sizeof(*l->ns), cmp_ns);
        *ret = TAKE_PTR(l);
        return 0;
}

const struct ipcns *ipcns_find(const struct ipcns_list *l, const char *sel, size_t *ret_n) {
        const struct ipcns *found = NULL;
        size_t n = 0;
        char *end;
        errno = 0;
        unsigned long long ino = strtoull(sel, &end, 10);
        bool numeric = *sel && !*end && errno == 0;

        for (size_t i = 0; i < l->n; i++)
                if ((numeric && l->ns[i].ino == ino) || (l->ns[i].name && strcmp(l->ns[i].name, sel) == 0)) {
                        found = &l->ns[i];
                        n++;
                }
        if (ret_n)
                *ret_n = n;
        /* Two units may each have a namespace of their own: a name they
         * share names neither. */
        return n == 1 ? found : NULL;
}

int ipcns_parse_id(const char *id, uint64_t *ret_ino, const char **ret_rest) {
        if (strncmp(id, "ipc:", 4) != 0)
                return 0;
        char *end;
        errno = 0;
        unsigned long long ino = strtoull(id + 4, &end, 10);
        if (end == id + 4 || *end != '/' || errno || !isdigit((unsigned char) id[4]) || !end[1])
                return -EINVAL;
        *ret_ino = ino;
        *ret_rest = end + 1;
        return 1;
}
