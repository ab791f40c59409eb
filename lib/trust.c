/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "trust.h"

struct walk {
        const char *path; /* as the caller named it, for every message */
        uid_t uid;
        char where[PATH_MAX]; /* the canonical path of cur */
        int cur;              /* O_PATH of the directory reached */
        struct stat cur_st;
        bool cur_lax;      /* cur passed only as a sticky directory of root's */
        bool through_link; /* the components now are a symlink's, not PATH's own */
        unsigned links;
        char *msg;
};

static int refuse(struct walk *w, int r, const char *fmt, ...) _printf_(3, 4);
static int refuse(struct walk *w, int r, const char *fmt, ...) {
        va_list ap;
        char *text;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        free(w->msg);
        if (!text || asprintf(&w->msg, "%s: %s", w->path, text) < 0)
                w->msg = NULL;
        free(text);
        return r;
}

static int refuse_errno(struct walk *w, int r, const char *child, bool last) {
        if (last && !w->through_link)
                return refuse(w, r, "%s", strerror(-r));
        return refuse(w, r, "%s: %s", child, strerror(-r));
}

/* WHERE/NAME into BUF. */
static int join(char buf[static PATH_MAX], const char *where, const char *name) {
        int n = snprintf(buf, PATH_MAX, "%s%s%s", where, strcmp(where, "/") == 0 ? "" : "/", name);
        return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static const char *owners(const struct walk *w, char buf[static 32]) {
        if (w->uid == 0)
                return "root";
        (void) snprintf(buf, 32, "root or uid %u", (unsigned) w->uid);
        return buf;
}

/* The owner and mode of an object found at OBJ.  LABEL says what it is in
 * the message ("" for PATH itself, else "directory /x is ", ...).  A
 * directory may be writable by others when LAX allows it and it is root's
 * and sticky: *ret_lax says so. */
static int check_owner_mode(struct walk *w, const struct stat *st, const char *label, const char *obj, bool lax,
                            bool *ret_lax) {
        char buf[32];
        mode_t wr = st->st_mode & (S_IWGRP | S_IWOTH);

        if (!trust_owner_ok(st->st_uid, w->uid))
                return refuse(w, -EPERM, "%sowned by uid %u, not %s; chown root %s", label, (unsigned) st->st_uid,
                              owners(w, buf), obj);
        if (ret_lax)
                *ret_lax = false;
        if (!wr)
                return 0;
        if (lax && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) && st->st_uid == 0 && ret_lax) {
                *ret_lax = true;
                return 0;
        }
        return refuse(w, -EPERM, "%swritable by %s (mode %04o); chmod %s %s", label, wr & S_IWOTH ? "others" : "group",
                      (unsigned) (st->st_mode & 07777),
                      wr == (S_IWGRP | S_IWOTH) ? "go-w"
                      : wr & S_IWOTH            ? "o-w"
                                                : "g-w",
                      obj);
}

/* Starts (again) at "/". */
static int walk_root(struct walk *w) {
        bool lax;
        int r;

        if (w->cur >= 0)
                (void) close(w->cur);
        w->cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (w->cur < 0)
                return refuse_errno(w, negative_errno(), "/", false);
        if (fstat(w->cur, &w->cur_st) < 0)
                return refuse_errno(w, negative_errno(), "/", false);
        strcpy(w->where, "/");
        r = check_owner_mode(w, &w->cur_st, "directory / is ", "/", true, &lax);
        if (r < 0)
                return r;
        w->cur_lax = lax;
        return 0;
}

static const char *kind(mode_t m) {
        switch (m & S_IFMT) {
        case S_IFIFO:
                return "a FIFO";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        case S_IFSOCK:
                return "a socket";
        case S_IFDIR:
                return "a directory";
        case S_IFREG:
                return "a regular file";
        default:
                return "not a regular file";
        }
}

/* The symlink FD (named CHILD) replaces itself in what is left to walk,
 * *TODO from REST on. */
static int follow(struct walk *w, int fd, const struct stat *st, const char *child, char **todo, const char *rest) {
        char target[PATH_MAX], buf[32];
        char *next;
        ssize_t n;

        if (++w->links > TRUST_MAX_LINKS)
                return refuse(w, -ELOOP, "more than %u symlinks", TRUST_MAX_LINKS);
        /* Its own mode is always 0777 and means nothing; its owner could
         * point it elsewhere. */
        if (!trust_owner_ok(st->st_uid, w->uid))
                return refuse(w, -EPERM, "symlink %s is owned by uid %u, not %s; chown -h root %s", child,
                              (unsigned) st->st_uid, owners(w, buf), child);
        n = readlinkat(fd, "", target, sizeof(target));
        if (n < 0)
                return refuse_errno(w, negative_errno(), child, false);
        if ((size_t) n >= sizeof(target))
                return refuse_errno(w, -ENAMETOOLONG, child, false);
        target[n] = 0;
        if (asprintf(&next, "%s/%s", target, rest) < 0)
                return refuse(w, -ENOMEM, "out of memory");
        free(*todo);
        *todo = next;
        w->through_link = true;
        if (target[0] == '/')
                return walk_root(w);
        return 0;
}

static int walk_path(struct walk *w, const char *path, unsigned flags, int *ret_fd) {
        _cleanup_free_ char *todo = NULL;
        _cleanup_close_ int fd = -EBADF;
        char name[NAME_MAX + 1], child[PATH_MAX], label[PATH_MAX + 32];
        struct stat st = {};
        bool last_is_dir = true;
        int r;

        if (path[0] == '/')
                todo = strdup(path);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return refuse(w, negative_errno(), "cannot find the working directory: %m");
                if (asprintf(&todo, "%s/%s", cwd, path) < 0)
                        todo = NULL;
        }
        if (!todo)
                return refuse(w, -ENOMEM, "out of memory");
        r = walk_root(w);
        if (r < 0)
                return r;

        for (const char *p = todo;;) {
                p += strspn(p, "/");
                if (!*p)
                        break;
                size_t len = strcspn(p, "/");
                if (len > NAME_MAX)
                        return refuse(w, -ENAMETOOLONG, "a component is too long");
                memcpy(name, p, len);
                name[len] = 0;
                p += len;
                bool last = p[strspn(p, "/")] == 0;
                if (strcmp(name, ".") == 0)
                        continue;
                if (strcmp(name, "..") == 0) {
                        char *s = strrchr(w->where, '/');
                        (void) snprintf(child, sizeof(child), "%.*s", s == w->where ? 1 : (int) (s - w->where),
                                        w->where);
                } else if (join(child, w->where, name) < 0)
                        return refuse(w, -ENAMETOOLONG, "path too long");

                fd = openat(w->cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return refuse_errno(w, negative_errno(), child, last);
                if (fstat(fd, &st) < 0)
                        return refuse_errno(w, negative_errno(), child, last);

                if (S_ISLNK(st.st_mode)) {
                        const char *rest = p;
                        r = follow(w, fd, &st, child, &todo, rest);
                        if (r < 0)
                                return r;
                        p = todo;
                        (void) close(TAKE_FD(fd));
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        bool lax;
                        if (last && !w->through_link)
                                label[0] = 0; /* PATH itself */
                        else
                                (void) snprintf(label, sizeof(label), "directory %s is ", child);
                        r = check_owner_mode(w, &st, label, child, true, &lax);
                        if (r < 0)
                                return r;
                        (void) close(w->cur);
                        w->cur = TAKE_FD(fd);
                        w->cur_st = st;
                        w->cur_lax = lax;
                        strcpy(w->where, child);
                        last_is_dir = true;
                        continue;
                }
                if (!last)
                        return refuse_errno(w, -ENOTDIR, child, false);
                last_is_dir = false;
                break;
        }

        /* What PATH names, in its own words when no symlink led there. */
        const char *self = w->through_link ? "its target " : "";
        if (last_is_dir) {
                if (!(flags & TRUST_DIRECTORY))
                        return refuse(w, -EISDIR, "not a regular file (a directory); only regular files are read");
                if (w->cur_lax)
                        return refuse(w, -EPERM, "%s%s%swritable by others (mode %04o); chmod o-w %s", self,
                                      w->through_link ? w->where : "", w->through_link ? " is " : "",
                                      (unsigned) (w->cur_st.st_mode & 07777), w->where);
                int dfd = openat(w->cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return refuse(w, negative_errno(), "%m");
                *ret_fd = dfd;
                return 0;
        }

        /* Not what was asked for is said first: no chmod makes a device a
         * configuration file. */
        if (!(flags & TRUST_REGULAR))
                return refuse(w, -ENOTDIR, "%s%s%s%s, not a directory", self, w->through_link ? child : "",
                              w->through_link ? " is " : "", kind(st.st_mode));
        if (!S_ISREG(st.st_mode))
                return refuse(w, -EBADFD, "%s%s%snot a regular file (%s); only regular files are read", self,
                              w->through_link ? child : "", w->through_link ? " is " : "", kind(st.st_mode));
        if (w->through_link)
                (void) snprintf(label, sizeof(label), "its target %s is ", child);
        else
                label[0] = 0;
        r = check_owner_mode(w, &st, label, w->through_link ? child : w->path, false, NULL);
        if (r < 0)
                return r;
        if (w->cur_lax)
                return refuse(w, -EPERM,
                              "its directory %s is writable by others (mode %04o); move it into a directory only "
                              "root can write",
                              w->where, (unsigned) (w->cur_st.st_mode & 07777));

        /* Only now opened, and known to be a regular file: no FIFO, no
         * device.  Its directory is safe, so the name still means it;
         * checked all the same. */
        struct stat st2;
        _cleanup_close_ int rfd = openat(w->cur, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (rfd < 0)
                return refuse(w, negative_errno(), "%m");
        if (fstat(rfd, &st2) < 0)
                return refuse(w, negative_errno(), "%m");
        if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino || !S_ISREG(st2.st_mode))
                return refuse(w, -ESTALE, "replaced while it was checked");
        *ret_fd = TAKE_FD(rfd);
        return 0;
}

int trust_open(const char *path, uid_t uid, unsigned flags, int *ret_fd, char **ret_msg) {
        struct walk w = { .path = path, .uid = uid, .cur = -1 };
        int fd = -1, r;

        r = walk_path(&w, path, flags, &fd);
        if (w.cur >= 0)
                (void) close(w.cur);
        if (r < 0) {
                *ret_msg = w.msg;
                return r;
        }
        free(w.msg);
        *ret_fd = fd;
        return 0;
}
