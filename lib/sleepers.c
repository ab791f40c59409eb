/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "proctab.h"
#include "sleepers.h"

/* Pids looked for again after a walk of /proc (see take). */
#define TAKE_MARGIN 256
/* Past this many new pids since the last scan, walk /proc again instead. */
#define PROBE_MAX 2048
/* How long a pid allocated but not seen is looked for again. */
#define UNSEEN_USEC (5 * 1000000ull)

struct sleeper {
        pid_t pid, tid;
        int fd; /* its wchan */
};

/* A pid seen allocated (ns_last_pid passed it) but not found: exited
 * already, or not yet visible (a task is counted and shows in /proc only at
 * the end of fork).  Looked for again while young. */
struct unseen {
        pid_t pid;
        uint64_t since_usec;
};

struct sleepers {
        char *proc_root;
        struct sleeper *all; /* sorted by tid up to n_sorted, then as found */
        size_t n, n_sorted, n_allocated, max;
        uint64_t forks; /* /proc/stat "processes" when last brought up to date */
        pid_t last_pid; /* every tid up to this one was looked for */
        struct unseen *unseen;
        size_t n_unseen;
        uint64_t retaken;
};

/* The "processes" line of /proc/stat: tasks created since boot. */
static int read_forks(const char *proc_root, uint64_t *ret) {
        char path[4096], buf[8192];
        int k = snprintf(path, sizeof(path), "%s/stat", proc_root);
        if (k < 0 || (size_t) k >= sizeof(path))
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        /* The line comes after one per CPU: read it all, a piece at a time. */
        size_t have = 0;
        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
                if (n < 0)
                        return negative_errno();
                buf[have + (size_t) n] = 0;
                const char *p = strstr(buf, "\nprocesses ");
                unsigned long long v;
                if (p && strchr(p + 1, '\n') && sscanf(p + 11, "%llu", &v) == 1) {
                        *ret = v;
                        return 0;
                }
                if (n == 0)
                        return -EBADMSG;
                have += (size_t) n;
                if (have >= sizeof(buf) - 1) {
                        /* keep the tail, where a split line starts */
                        memmove(buf, buf + have - 64, 64);
                        have = 64;
                }
        }
}

static int read_long(const char *proc_root, const char *name, long *ret) {
        char path[4096], buf[64];
        int k = snprintf(path, sizeof(path), "%s/%s", proc_root, name);
        if (k < 0 || (size_t) k >= sizeof(path))
                return -ENAMETOOLONG;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return n < 0 ? negative_errno() : -EBADMSG;
        buf[n] = 0;
        char *end;
        errno = 0;
        long v = strtol(buf, &end, 10);
        if (errno || end == buf || v < 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static void drop_all(struct sleepers *s) {
        for (size_t i = 0; i < s->n; i++)
                (void) close(s->all[i].fd);
        s->n = 0;
        s->n_sorted = 0;
        s->n_unseen = 0;
}

static int add(struct sleepers *s, pid_t pid, pid_t tid, int fd) {
        if (s->n >= s->max)
                return -E2BIG;
        if (s->n == s->n_allocated) {
                size_t na = s->n_allocated ? s->n_allocated * 2 : 256;
                struct sleeper *a = reallocarray(s->all, na, sizeof(*a));
                if (!a)
                        return -ENOMEM;
                s->all = a;
                s->n_allocated = na;
        }
        s->all[s->n++] = (struct sleeper) { .pid = pid, .tid = tid, .fd = fd };
        return 0;
}

static int take(struct sleepers *s);

/* The set taken again, as if new: counted. */
static int retake(struct sleepers *s) {
        int r = take(s);
        if (r >= 0)
                s->retaken++;
        return r;
}

static int cmp_tid(const void *a, const void *b) {
        pid_t x = ((const struct sleeper *) a)->tid, y = ((const struct sleeper *) b)->tid;
        return (x > y) - (x < y);
}

static bool known(const struct sleepers *s, pid_t tid) {
        struct sleeper key = { .tid = tid };
        if (s->n_sorted && bsearch(&key, s->all, s->n_sorted, sizeof(key), cmp_tid))
                return true;
        for (size_t i = s->n_sorted; i < s->n; i++)
                if (s->all[i].tid == tid)
                        return true;
        return false;
}

static pid_t parse_pid(const char *name) {
        char *end;
        if (!isdigit((unsigned char) name[0]))
                return 0;
        unsigned long v = strtoul(name, &end, 10);
        return *end || v == 0 || v > INT32_MAX ? 0 : (pid_t) v;
}

/* Every thread of PID (its dir is PFD). */
static int take_process(struct sleepers *s, int pfd, pid_t pid) {
        _cleanup_closedir_ DIR *d = NULL;
        int tfd = openat(pfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tfd < 0)
                return errno == ENOENT || errno == ESRCH ? 0 : negative_errno();
        d = fdopendir(tfd);
        if (!d) {
                (void) close(tfd);
                return -ENOMEM;
        }
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                char path[64];
                pid_t tid = parse_pid(de->d_name);
                if (tid == 0)
                        continue;
                snprintf(path, sizeof(path), "%d/wchan", (int) tid);
                int fd = openat(dirfd(d), path, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT || errno == ESRCH)
                                continue; /* exited meanwhile */
                        return negative_errno();
                }
                int r = add(s, pid, tid, fd);
                if (r < 0) {
                        (void) close(fd);
                        return r;
                }
        }
        return errno == 0 || errno == ENOENT || errno == ESRCH ? 0 : negative_errno();
}

static int take(struct sleepers *s) {
        _cleanup_closedir_ DIR *d = NULL;
        int r;

        drop_all(s);
        /* Before the walk: a thread made during it moves the count, and the
         * next scan takes the set again. */
        long last;
        r = read_forks(s->proc_root, &s->forks);
        if (r >= 0)
                r = read_long(s->proc_root, "sys/kernel/ns_last_pid", &last);
        if (r < 0)
                return r;
        /* A fork under way has its pid but shows only at its end: look
         * again at the last few pids before this walk, next time. */
        s->last_pid = last > TAKE_MARGIN ? (pid_t) (last - TAKE_MARGIN) : 0;
        d = opendir(s->proc_root);
        if (!d)
                return negative_errno();
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                pid_t pid = parse_pid(de->d_name);
                if (pid == 0)
                        continue;
                int pfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (pfd < 0)
                        continue; /* exited meanwhile */
                r = take_process(s, pfd, pid);
                (void) close(pfd);
                if (r < 0) {
                        drop_all(s);
                        return r;
                }
        }
        if (errno != 0) {
                r = negative_errno();
                drop_all(s);
                return r;
        }
        qsort(s->all, s->n, sizeof(*s->all), cmp_tid);
        s->n_sorted = s->n;
        return 0;
}

/* Bit 19 of CapEff: without CAP_SYS_PTRACE, another user's wchan reads
 * "0", as if the thread were running. */
static bool can_read_every_wchan(void) {
        char buf[4096];
        _cleanup_close_ int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = 0;
        const char *p = strstr(buf, "\nCapEff:");
        unsigned long long caps;
        return p && sscanf(p + 8, "%llx", &caps) == 1 && (caps & (1ull << 19));
}

struct blocked_probe {
        int rfd;
        _Atomic pid_t tid;
};

static void *block_reading(void *userdata) {
        struct blocked_probe *b = userdata;
        char c;
        b->tid = gettid();
        (void) !read(b->rfd, &c, 1);
        return NULL;
}

/* Does wchan name where a thread sleeps (it reads "0" without kallsyms)?
 * A thread of ours, blocked reading a pipe, must show something else. */
static bool wchan_tells(void) {
        int p[2];
        pthread_t t;
        bool tells = false;

        if (pipe2(p, O_CLOEXEC) < 0)
                return false;
        struct blocked_probe b = { .rfd = p[0] };
        if (pthread_create(&t, NULL, block_reading, &b) != 0) {
                (void) close(p[0]);
                (void) close(p[1]);
                return false;
        }
        for (int i = 0; i < 200 && !tells; i++) {
                char path[64], w[128];
                pid_t tid = b.tid;
                if (tid > 0) {
                        snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int) tid);
                        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                        ssize_t n = fd >= 0 ? read(fd, w, sizeof(w) - 1) : -1;
                        if (n > 0) {
                                w[n] = 0;
                                tells = strcmp(w, "0") != 0;
                        }
                }
                if (!tells) {
                        struct timespec ts = { .tv_nsec = 1000000 };
                        (void) nanosleep(&ts, NULL);
                }
        }
        (void) !write(p[1], "x", 1);
        (void) pthread_join(t, NULL);
        (void) close(p[0]);
        (void) close(p[1]);
        return tells;
}

int sleepers_new(const char *proc_root, size_t max, struct sleepers **ret) {
        if (!can_read_every_wchan())
                return -EPERM;
        if (!wchan_tells())
                return -EOPNOTSUPP;
        struct sleepers *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->max = max < SLEEPERS_MAX ? max : SLEEPERS_MAX;
        s->proc_root = strdup(proc_root);
        if (!s->proc_root) {
                free(s);
                return -ENOMEM;
        }
        int r = take(s);
        if (r < 0) {
                sleepers_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

struct sleepers *sleepers_free(struct sleepers *s) {
        if (!s)
                return NULL;
        drop_all(s);
        free(s->all);
        free(s->unseen);
        free(s->proc_root);
        free(s);
        return NULL;
}

size_t sleepers_size(const struct sleepers *s) {
        return s ? s->n : 0;
}

uint64_t sleepers_retaken(const struct sleepers *s) {
        return s ? s->retaken : 0;
}

/* Looks for TID (a thread or a process: /proc/TID is either); records it
 * unseen when it is not there. */
static int probe(struct sleepers *s, int procfd, pid_t tid, uint64_t since_usec) {
        char path[64];

        if (known(s, tid))
                return 0;
        snprintf(path, sizeof(path), "%d/wchan", (int) tid);
        int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                /* Its process is not known here: the thread stands for it
                 * (its root, cwd and memory are the process's). */
                int r = add(s, tid, tid, fd);
                if (r < 0)
                        (void) close(fd);
                return r;
        }
        if (errno != ENOENT && errno != ESRCH)
                return negative_errno();
        if (s->n_unseen >= PROBE_MAX)
                return -E2BIG;
        struct unseen *a = reallocarray(s->unseen, s->n_unseen + 1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        s->unseen = a;
        s->unseen[s->n_unseen++] = (struct unseen) { .pid = tid, .since_usec = since_usec };
        return 0;
}

/*
 * Threads were created since the set was brought up to date (the count of
 * forks moved): new pids are handed out upwards from ns_last_pid, so look
 * for each pid between the last one seen and the last one handed out, and
 * for the ones allocated earlier but not seen then.  When pids wrapped
 * around, or too many were handed out, walk /proc again.
 */
static int catch_up(struct sleepers *s, uint64_t forks) {
        _cleanup_free_ struct unseen *again = NULL;
        long last, pid_max;
        size_t n_again;
        int r;

        r = read_long(s->proc_root, "sys/kernel/ns_last_pid", &last);
        if (r >= 0)
                r = read_long(s->proc_root, "sys/kernel/pid_max", &pid_max);
        if (r < 0)
                return r;
        if (last < s->last_pid || last - s->last_pid > PROBE_MAX || forks - s->forks >= (uint64_t) pid_max / 2)
                return retake(s);

        _cleanup_close_ int procfd = open(s->proc_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (procfd < 0)
                return negative_errno();
        uint64_t now = monotonic_usec();
        again = TAKE_PTR(s->unseen);
        n_again = s->n_unseen;
        s->n_unseen = 0;
        for (size_t i = 0; i < n_again; i++)
                if (now - again[i].since_usec < UNSEEN_USEC) {
                        r = probe(s, procfd, again[i].pid, again[i].since_usec);
                        if (r < 0)
                                goto fail;
                }
        for (pid_t tid = s->last_pid + 1; tid <= (pid_t) last; tid++) {
                r = probe(s, procfd, tid, now);
                if (r < 0)
                        goto fail;
        }
        s->last_pid = (pid_t) last;
        s->forks = forks;
        qsort(s->all, s->n, sizeof(*s->all), cmp_tid);
        s->n_sorted = s->n;
        return 0;
fail:
        return r == -E2BIG ? retake(s) : r;
}

int sleepers_scan(struct sleepers *s, struct holder_index *idx, unsigned flags) {
        uint64_t forks;
        int r, unknown = 0;

        r = read_forks(s->proc_root, &forks);
        if (r < 0)
                return r;
        if (forks != s->forks) {
                r = catch_up(s, forks);
                if (r < 0)
                        return r;
        }

        size_t kept = 0, sorted = s->n_sorted, dropped_sorted = 0;
        for (size_t i = 0; i < s->n; i++) {
                char wchan[128];
                /* A seq_file read from offset 0 is made afresh. */
                ssize_t n = pread(s->all[i].fd, wchan, sizeof(wchan) - 1, 0);
                if (n == 0 || (n < 0 && errno == ESRCH)) {
                        (void) close(s->all[i].fd); /* exited: blocks nothing, ever */
                        dropped_sorted += i < sorted;
                        continue;
                }
                s->all[kept++] = s->all[i];
                if (n < 0) {
                        unknown |= (int) (flags & PROCTAB_FIFO_OPENERS ? PROCESS_FIFO_OPEN_UNKNOWN : 0) |
                                   (int) (flags & PROCTAB_IPC_WAITERS ? PROCESS_IPC_WAIT_UNKNOWN : 0);
                        continue;
                }
                wchan[n] = 0;
                /* Blocked in a call on an object, or stopped (SIGSTOP, a
                 * tracer, a freezer) where it may have been: those few pay
                 * the read of their syscall. */
                if (!proctab_wchan_wanted(wchan, flags))
                        continue; /* running, or asleep elsewhere */

                char path[64];
                snprintf(path, sizeof(path), "%d/task/%d", (int) s->all[i].pid, (int) s->all[i].tid);
                _cleanup_close_ int procfd = open(s->proc_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (procfd < 0)
                        return negative_errno();
                _cleanup_close_ int tfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (tfd < 0)
                        continue; /* exited since */
                r = proctab_blocked_thread(tfd, s->proc_root, s->all[i].pid, wchan, idx, flags);
                if (r < 0) {
                        /* keep what was not looked at */
                        memmove(s->all + kept, s->all + i + 1, (s->n - i - 1) * sizeof(*s->all));
                        s->n = kept + (s->n - i - 1);
                        s->n_sorted = sorted - dropped_sorted;
                        return r;
                }
                unknown |= r;
        }
        s->n = kept;
        s->n_sorted = sorted - dropped_sorted;
        return unknown;
}
