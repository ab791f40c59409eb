/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect.h"
#include "guard.h"
#include "macro.h"

/* Anything that could mean a new holder, or a different object.  (Not
 * IN_MODIFY: writing takes an open first, and a busy FIFO would flood the
 * queue with them.) */
#define GUARD_MASK (IN_OPEN | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_DONT_FOLLOW)
/* Of a LIVE object, only what changes what it is: who holds it does not
 * matter while a holder lives.  Its watch is narrowed to this at the commit,
 * so that its holders' opens do not fill the queue. */
#define GUARD_LIVE_MASK (IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_DONT_FOLLOW)
#define GUARD_LIVE_MATTERS (IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF | IN_IGNORED)
/* A name that comes or goes in a directory the objects were found in. */
#define GUARD_DIR_MASK                                                                                        \
        (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | \
         IN_DONT_FOLLOW)

struct guarded {
        int wd;
        bool dir;
        bool sensitive; /* its object was judged other than LIVE */
        bool mq;
};

struct guard {
        int fd; /* inotify; a new one per arming drops every old watch at once */
        struct guarded *w; /* sorted by wd */
        size_t n;
        int *wd_of; /* per object of the inventory armed for, until the commit; -1: none */
        size_t n_wd_of;
        bool complete; /* every file object watched, each the inode collected */
        bool tripped;  /* an event on a sensitive watch, or lost events */
        bool mq_needed; /* a queue judged other than LIVE */
        int mq_open_seen; /* -1: not learned yet; 0: mq_open is not reported; 1: it is */
};

int guard_new(struct guard **ret) {
        struct guard *g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->fd = -EBADF;
        g->mq_open_seen = -1;
        *ret = g;
        return 0;
}

static void disarm(struct guard *g) {
        if (g->fd >= 0)
                (void) close(g->fd);
        g->fd = -EBADF;
        free(g->w);
        g->w = NULL;
        g->n = 0;
        free(g->wd_of);
        g->wd_of = NULL;
        g->n_wd_of = 0;
        g->complete = false;
        g->tripped = false;
        g->mq_needed = false;
}

struct guard *guard_free(struct guard *g) {
        if (g) {
                disarm(g);
                free(g);
        }
        return NULL;
}

static int cmp_wd(const void *a, const void *b) {
        int x = ((const struct guarded *) a)->wd, y = ((const struct guarded *) b)->wd;
        return (x > y) - (x < y);
}

static struct guarded *find(struct guard *g, int wd) {
        struct guarded key = { .wd = wd };
        return g->n ? bsearch(&key, g->w, g->n, sizeof(key), cmp_wd) : NULL;
}

/* Reads every queued event; returns true if one of them was IN_OPEN on
 * PROBE_WD (when >= 0).  Events on sensitive watches, and lost ones, trip
 * the guard. */
static bool drain(struct guard *g, int probe_wd) {
        _Alignas(struct inotify_event) char buf[16384];
        bool probe_seen = false;

        for (;;) {
                ssize_t n = read(g->fd, buf, sizeof(buf));
                if (n <= 0) {
                        if (n < 0 && errno != EAGAIN && errno != EINTR)
                                g->tripped = true; /* cannot tell what happened */
                        break;
                }
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        p += sizeof(*e) + e->len;
                        if (e->mask & IN_Q_OVERFLOW) {
                                g->tripped = true;
                                continue;
                        }
                        if (probe_wd >= 0 && e->wd == probe_wd && (e->mask & IN_OPEN))
                                probe_seen = true;
                        const struct guarded *w = find(g, e->wd);
                        if (w && (w->dir || w->sensitive || (e->mask & GUARD_LIVE_MATTERS)))
                                g->tripped = true;
                }
        }
        return probe_seen;
}

/* Does this kernel report mq_open(3) to inotify?  Opens the queue O (its
 * watch is WD) and closes it again: no message is read or sent, no
 * notification registered, and its times stay as they were. */
static void learn_mq_open(struct guard *g, const struct ipc_object *o, int wd) {
        /* Twice, each time from an empty queue: someone else's open(2) of
         * the same queue at the same moment is not to pass for an answer. */
        for (int i = 0; i < 2; i++) {
                (void) drain(g, -1); /* what came before is not the answer */
                mqd_t q = mq_open(o->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (q == (mqd_t) -1)
                        return; /* another IPC namespace's mount, or gone: learn it later */
                (void) mq_close(q);
                if (!drain(g, wd)) {
                        g->mq_open_seen = 0;
                        return;
                }
        }
        g->mq_open_seen = 1;
}

void guard_arm(struct guard *g, const struct inventory *inv, const struct scan_config *scan) {
        size_t n_files = 0;
        int probe_wd = -1;
        const struct ipc_object *probe = NULL;

        disarm(g);
        for (size_t i = 0; i < inv->n_objects; i++)
                n_files += ipc_type_is_file(inv->objects[i].type);
        if (n_files + inv->n_dirs > GUARD_MAX)
                return;
        g->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (g->fd < 0)
                return;
        g->w = calloc(n_files + inv->n_dirs + 1, sizeof(*g->w));
        g->wd_of = malloc((inv->n_objects ? inv->n_objects : 1) * sizeof(int));
        if (!g->w || !g->wd_of)
                goto fail;
        g->n_wd_of = inv->n_objects;

        /* The directories first: a name moved while its object's watch is
         * being added is then an event, not a watch on something else. */
        for (size_t i = 0; i < inv->n_dirs; i++) {
                const struct inventory_dir *d = &inv->dirs[i];
                struct stat st;
                int wd = inotify_add_watch(g->fd, d->path, GUARD_DIR_MASK);
                if (wd < 0 || lstat(d->path, &st) < 0 || st.st_dev != d->dev || st.st_ino != d->ino)
                        goto fail;
                g->w[g->n++] = (struct guarded) { .wd = wd, .dir = true };
        }
        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *o = &inv->objects[i];
                char path[PATH_MAX];
                size_t base;
                struct stat st;

                g->wd_of[i] = -1;
                if (!ipc_type_is_file(o->type))
                        continue;
                if (collect_object_path(o, scan, path, sizeof(path), &base) < 0)
                        goto fail;
                int wd = inotify_add_watch(g->fd, path, GUARD_MASK);
                /* Watched by name: make sure the name is still the inode
                 * collected, or the watch guards something else. */
                if (wd < 0 || lstat(path, &st) < 0 || st.st_dev != o->dev || st.st_ino != o->ino)
                        goto fail;
                g->wd_of[i] = wd;
                g->w[g->n++] = (struct guarded) { .wd = wd, .mq = o->type == IPC_TYPE_MQ };
                if (o->type == IPC_TYPE_MQ && !probe) {
                        probe = o;
                        probe_wd = wd;
                }
        }
        /* Two names of one inode (hard links) share one watch. */
        qsort(g->w, g->n, sizeof(*g->w), cmp_wd);
        size_t u = 0;
        for (size_t i = 0; i < g->n; i++)
                if (u == 0 || g->w[u - 1].wd != g->w[i].wd)
                        g->w[u++] = g->w[i];
        g->n = u;

        if (probe && g->mq_open_seen < 0)
                learn_mq_open(g, probe, probe_wd);
        /* Everything so far happened before the holder scan, which sees
         * its outcome. */
        (void) drain(g, -1);
        g->complete = true;
        return;
fail:
        /* Watches are a shared, limited resource (max_user_watches): an
         * incomplete guard keeps none. */
        disarm(g);
}

void guard_commit(struct guard *g, const struct inventory *inv, const struct judgement *js,
                  const struct scan_config *scan) {
        if (!g->complete || !g->wd_of || g->n_wd_of != inv->n_objects) {
                g->complete = false;
                return;
        }
        for (size_t i = 0; i < inv->n_objects; i++) {
                if (g->wd_of[i] < 0 || js[i].verdict == VERDICT_LIVE)
                        continue;
                struct guarded *w = find(g, g->wd_of[i]);
                if (!w) {
                        g->complete = false;
                        return;
                }
                w->sensitive = true;
                g->mq_needed = g->mq_needed || w->mq;
        }
        /* Narrow the watches of LIVE objects, unless another name of the
         * same inode was judged without life.  By name again: if the name
         * is another inode by now, that one gets a watch of its own, which
         * no event of matters, and the right one keeps its wide mask. */
        for (size_t i = 0; i < inv->n_objects; i++) {
                char path[PATH_MAX];
                size_t base;
                const struct guarded *w = g->wd_of[i] >= 0 ? find(g, g->wd_of[i]) : NULL;
                if (!w || w->sensitive || collect_object_path(&inv->objects[i], scan, path, sizeof(path), &base) < 0)
                        continue;
                (void) inotify_add_watch(g->fd, path, GUARD_LIVE_MASK);
        }
        free(g->wd_of);
        g->wd_of = NULL;
        g->n_wd_of = 0;
}

bool guard_intact(struct guard *g) {
        if (!g->complete || g->wd_of || g->fd < 0)
                return false;
        if (g->mq_needed && g->mq_open_seen != 1)
                return false;
        (void) drain(g, -1);
        return !g->tripped;
}
