/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "macro.h"
#include "unit.h"

/* How far below a unit its processes are looked for: a delegated subtree
 * (a container's own cgroups) is bounded like anything a user can make. */
#define UNIT_MAX_DEPTH 8
#define UNIT_MAX_CGROUPS 4096

static bool is_unit_component(const char *c, size_t n) {
        if (n == 10 && memcmp(c, "init.scope", 10) == 0)
                return false;
        return (n > 8 && memcmp(c + n - 8, ".service", 8) == 0) || (n > 6 && memcmp(c + n - 6, ".scope", 6) == 0);
}

/* The length of PATH up to the end of its deepest unit component, 0: none. */
static size_t unit_prefix(const char *path, size_t len) {
        size_t best = 0;

        for (size_t i = 0; i < len;) {
                i += path[i] == '/';
                size_t e = i;
                while (e < len && path[e] != '/')
                        e++;
                if (is_unit_component(path + i, e - i))
                        best = e;
                i = e;
        }
        return best;
}

int unit_from_cgroup_text(const char *text, char **ret) {
        const char *named = NULL;
        size_t named_len = 0;

        *ret = NULL;
        for (const char *line = text; line && *line;) {
                const char *end = strchrnul(line, '\n');
                if (strncmp(line, "0::", 3) == 0) {
                        size_t n = unit_prefix(line + 3, (size_t) (end - line - 3));
                        if (n > 0) {
                                *ret = strndup(line + 3, n);
                                return *ret ? 0 : -ENOMEM;
                        }
                } else {
                        const char *p = strstr(line, ":name=systemd:");
                        if (p && p < end) {
                                named = p + 14;
                                named_len = unit_prefix(named, (size_t) (end - named));
                        }
                }
                line = *end ? end + 1 : NULL;
        }
        /* systemd keeps units in the unified hierarchy; on legacy hosts, in
         * the named one. */
        if (named && named_len > 0)
                return asprintf(ret, "name=systemd:%.*s", (int) named_len, named) < 0 ? -ENOMEM : 0;
        return 0;
}

int unit_of_pid(const char *proc_root, pid_t pid, uint64_t start_ticks, char **ret) {
        char path[PATH_MAX], buf[4096];
        _cleanup_close_ int pfd = -EBADF;
        _cleanup_free_ char *unit = NULL;
        uint64_t ticks;
        ssize_t n;
        int r;

        snprintf(path, sizeof(path), "%s/%d", proc_root, (int) pid);
        pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        n = proctab_read(pfd, "cgroup", buf, sizeof(buf));
        if (n < 0)
                return n == -ENOENT ? -ESRCH : (int) n;
        r = unit_from_cgroup_text(buf, &unit);
        if (r < 0)
                return r;
        /* Read after the cgroup: the same start time means the cgroup read
         * was this process's, not a later one's with the same pid. */
        n = proctab_read(pfd, "stat", buf, sizeof(buf));
        if (n < 0)
                return n == -ENOENT ? -ESRCH : (int) n;
        char comm[17], state;
        unsigned kflags;
        if (proctab_parse_stat(buf, comm, &state, &kflags, &ticks) < 0 || ticks != start_ticks)
                return -ESRCH;
        *ret = TAKE_PTR(unit);
        return 0;
}

const char *unit_name(const char *unit) {
        const char *s = strrchr(unit, '/');
        return s ? s + 1 : unit;
}

/* Where a hierarchy is mounted, from /proc/self/mountinfo: the mount point
 * and the cgroup path it shows as its root.  NAMED: the name=systemd v1
 * hierarchy rather than the unified one. */
static int parse_mountinfo(bool named, char *ret_mnt, size_t mnt_size, char *ret_root, size_t root_size) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        if (!f)
                return negative_errno();
        while (getline(&line, &cap, f) > 0) {
                /* id parent maj:min root mountpoint opts... - fstype source superopts */
                char root[PATH_MAX], mnt[PATH_MAX], fstype[64], superopts[512] = "";
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
                    sscanf(dash + 3, "%63s %*s %511s", fstype, superopts) < 1)
                        continue;
                bool match = named ? strcmp(fstype, "cgroup") == 0 && strstr(superopts, "name=systemd")
                                   : strcmp(fstype, "cgroup2") == 0;
                /* mountinfo escapes spaces and the like as \ooo: such a mount
                 * point is not one we can name without unescaping. */
                if (!match || strchr(mnt, '\\') || strchr(root, '\\'))
                        continue;
                if (strlen(mnt) >= mnt_size || strlen(root) >= root_size)
                        continue;
                strcpy(ret_mnt, mnt);
                strcpy(ret_root, root);
                return 0;
        }
        return -ENOENT;
}

/* parse_mountinfo, remembered for the process: every object without other
 * life asks about its units, and mountinfo is long on a busy host.  What is
 * remembered is checked to be a cgroup file system still (one statfs), so
 * an unmounted or replaced hierarchy is looked up again, never taken for a
 * unit gone. */
static int find_mount(bool named, char *ret_mnt, size_t mnt_size, char *ret_root, size_t root_size) {
        static struct {
                bool found;
                char mnt[PATH_MAX], root[PATH_MAX];
        } cache[2];
        struct statfs sf;
        unsigned k = named;

        if (!cache[k].found || statfs(cache[k].mnt, &sf) < 0 ||
            (uint64_t) sf.f_type != (named ? CGROUP_SUPER_MAGIC : CGROUP2_SUPER_MAGIC)) {
                cache[k].found = false;
                int r = parse_mountinfo(named, cache[k].mnt, sizeof(cache[k].mnt), cache[k].root,
                                        sizeof(cache[k].root));
                if (r < 0)
                        return r;
                cache[k].found = true;
        }
        if (strlen(cache[k].mnt) >= mnt_size || strlen(cache[k].root) >= root_size)
                return -ENAMETOOLONG;
        strcpy(ret_mnt, cache[k].mnt);
        strcpy(ret_root, cache[k].root);
        return 0;
}

struct walk {
        const struct proctab *pt;
        pid_t self;
        pid_t found;
        unsigned cgroups;
        bool runs, unknown;
};

/* Reads DFD's cgroup.procs, then its child cgroups, depth first. */
static void walk_cgroup(struct walk *w, int dfd, unsigned depth) {
        char buf[16384];
        ssize_t n;

        if (w->runs || w->unknown)
                return;
        if (++w->cgroups > UNIT_MAX_CGROUPS || depth > UNIT_MAX_DEPTH) {
                w->unknown = true; /* too much to look at: cannot say it is empty */
                return;
        }
        n = proctab_read(dfd, "cgroup.procs", buf, sizeof(buf));
        if (n == -ENOENT || n == -ENODEV)
                return; /* removed meanwhile */
        if (n < 0) {
                w->unknown = true;
                return;
        }
        /* A full buffer lists at least one pid: that is all it takes. */
        for (char *p = buf; *p;) {
                char *end;
                long pid = strtol(p, &end, 10);
                if (end == p)
                        break;
                p = end + (*end == '\n');
                if (pid == 0) {
                        w->runs = true; /* a process this PID namespace cannot see */
                        return;
                }
                if (pid == w->self)
                        continue;
                const struct process *q = proctab_find(w->pt, (pid_t) pid);
                if (q && (q->flags & PROCESS_ZOMBIE))
                        continue;
                w->runs = true; /* alive, or born since the scan */
                w->found = q ? (pid_t) pid : 0;
                return;
        }

        _cleanup_closedir_ DIR *d = NULL;
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                if (fd >= 0)
                        (void) close(fd);
                w->unknown = true;
                return;
        }
        for (struct dirent *de; !w->runs && !w->unknown && (de = readdir(d));) {
                if (de->d_name[0] == '.' || de->d_type != DT_DIR)
                        continue;
                _cleanup_close_ int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (cfd < 0)
                        continue; /* removed meanwhile */
                walk_cgroup(w, cfd, depth + 1);
        }
}

enum unit_state unit_state(const char *unit, const struct proctab *pt, pid_t self, pid_t *ret_pid) {
        char mnt[PATH_MAX], root[PATH_MAX], path[2 * PATH_MAX];
        bool named = strncmp(unit, "name=systemd:", 13) == 0;
        const char *cg = named ? unit + 13 : unit;
        size_t rl;

        *ret_pid = 0;
        if (find_mount(named, mnt, sizeof(mnt), root, sizeof(root)) < 0)
                return UNIT_UNKNOWN;
        /* The mount shows the hierarchy from ROOT down: the unit must be
         * under it to be seen at all. */
        rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
        if (rl && (strncmp(cg, root, rl) != 0 || (cg[rl] != '/' && cg[rl] != 0)))
                return UNIT_UNKNOWN;
        if (strstr(cg, "/../") || (size_t) snprintf(path, sizeof(path), "%s%s", mnt, cg + rl) >= sizeof(path))
                return UNIT_UNKNOWN;

        _cleanup_close_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                /* systemd removes a unit's cgroup when it stops */
                return errno == ENOENT ? UNIT_GONE : UNIT_UNKNOWN;
        struct walk w = { .pt = pt, .self = self };
        walk_cgroup(&w, dfd, 0);
        if (w.runs) {
                *ret_pid = w.found;
                return UNIT_RUNS;
        }
        return w.unknown ? UNIT_UNKNOWN : UNIT_GONE;
}
