/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "watch.h"

struct watched {
        pid_t pid;
        int fd;
};

struct watch {
        struct watched *w;
        size_t n;
        bool complete;
        int epfd;
};

int watch_new(struct watch **ret) {
        struct watch *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd < 0) {
                free(w);
                return -errno;
        }
        *ret = w;
        return 0;
}

int watch_fd(const struct watch *w) {
        return w->epfd;
}

size_t watch_exited(struct watch *w, pid_t *pids, size_t max) {
        struct epoll_event ev[64];
        size_t n = 0;
        int k;

        while (n < max && (k = epoll_wait(w->epfd, ev, (int) (max - n < 64 ? max - n : 64), 0)) > 0)
                for (int i = 0; i < k; i++)
                        pids[n++] = (pid_t) ev[i].data.u64;
        return n;
}

static void clear(struct watch *w) {
        for (size_t i = 0; i < w->n; i++)
                (void) close(w->w[i].fd);
        free(w->w);
        w->w = NULL;
        w->n = 0;
        w->complete = false;
}

struct watch *watch_free(struct watch *w) {
        if (w) {
                clear(w);
                if (w->epfd >= 0)
                        (void) close(w->epfd);
                free(w);
        }
        return NULL;
}

/* Is the process behind FD the one PT saw?  Its start time says. */
static bool same_process(pid_t pid, const struct proctab *pt, const char *proc_root) {
        const struct process *p = proctab_find(pt, pid);
        char path[64], buf[1024], comm[17], state;
        unsigned flags;
        uint64_t ticks;
        ssize_t n;
        int fd;

        if (!p)
                return false;
        snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        (void) close(fd);
        if (n <= 0)
                return false;
        buf[n] = 0;
        if (proctab_parse_stat(buf, comm, &state, &flags, &ticks) < 0 || state == 'Z' || state == 'X')
                return false;
        return ticks == p->start_ticks;
}

int watch_set(struct watch *w, const pid_t *pids, size_t n, const struct proctab *pt, const char *proc_root) {
        struct watched *nw;
        size_t k = 0, j = 0;

        if (n > WATCH_MAX) {
                clear(w);
                return -E2BIG;
        }
        nw = calloc(n ? n : 1, sizeof(*nw));
        if (!nw) {
                clear(w);
                return -ENOMEM;
        }

        /* Both lists are sorted by pid: keep the pidfds still wanted, open
         * the new ones, close the rest. */
        for (size_t i = 0; i < n; i++) {
                while (j < w->n && w->w[j].pid < pids[i])
                        (void) close(w->w[j++].fd);
                if (j < w->n && w->w[j].pid == pids[i]) {
                        nw[k++] = w->w[j++];
                        continue;
                }
                int fd = (int) syscall(SYS_pidfd_open, pids[i], 0);
                if (fd < 0 || !same_process(pids[i], pt, proc_root)) {
                        /* Gone already, or not the process judged: the
                         * watch cannot vouch for this evidence. */
                        if (fd >= 0)
                                (void) close(fd);
                        for (; j < w->n; j++)
                                (void) close(w->w[j].fd);
                        for (size_t q = 0; q < k; q++)
                                (void) close(nw[q].fd);
                        free(nw);
                        free(w->w);
                        w->w = NULL;
                        w->n = 0;
                        w->complete = false;
                        return fd < 0 ? -errno : -ESRCH;
                }
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
                /* Once: an exited process stays readable until its pidfd
                 * is closed at the next full judgement. */
                struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.u64 = (uint64_t) pids[i] };
                (void) epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev);
                nw[k++] = (struct watched) { .pid = pids[i], .fd = fd };
        }
        for (; j < w->n; j++)
                (void) close(w->w[j].fd);
        free(w->w);
        w->w = nw;
        w->n = k;
        w->complete = true;
        return 0;
}

bool watch_all_alive(const struct watch *w) {
        struct pollfd *p;
        bool alive;

        if (!w->complete)
                return false;
        if (w->n == 0)
                return true;
        p = calloc(w->n, sizeof(*p));
        if (!p)
                return false;
        for (size_t i = 0; i < w->n; i++)
                p[i] = (struct pollfd) { .fd = w->w[i].fd, .events = POLLIN };
        int r = poll(p, w->n, 0);
        alive = r == 0; /* none readable: none exited */
        free(p);
        return alive;
}

size_t watch_size(const struct watch *w) {
        return w->n;
}
