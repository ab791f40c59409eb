/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fifo.h"

struct walk {
        struct inventory *inv;
        unsigned max_depth;
        uint64_t mnt_id;
        /* Every configured root, so a root nested in another is walked once. */
        const struct stat *roots;
        size_t n_roots;
};

static int fd_mount_id(int fd, uint64_t *ret) {
        struct statx stx;

        if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0)
                return negative_errno();
        if (!(stx.stx_mask & STATX_MNT_ID))
                return -EOPNOTSUPP;
        *ret = stx.stx_mnt_id;
        return 0;
}

static bool is_other_root(const struct walk *w, const struct stat *st) {
        for (size_t i = 0; i < w->n_roots; i++)
                if (w->roots[i].st_dev == st->st_dev && w->roots[i].st_ino == st->st_ino)
                        return true;
        return false;
}

static int walk_dir(struct walk *w, int dfd, const char *path, unsigned depth) {
        _cleanup_closedir_ DIR *d = NULL;
        size_t n_here = 0, self;
        int r;

        r = inventory_open_dir(w->inv, path, dfd, &d);
        if (r < 0)
                return r;
        self = w->inv->n_dirs - 1;

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                const char *name = de->d_name;
                char sub[PATH_MAX];
                struct stat st;

                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                        continue;
                if (de->d_type != DT_FIFO && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
                        continue;
                /* Past the cap, a FIFO costs neither a stat nor memory; the
                 * directories below are still walked. */
                if (de->d_type == DT_FIFO && w->inv->dirs[self].truncated) {
                        r = inventory_dir_count(w->inv, self, &n_here, IPC_TYPE_FIFO);
                        if (r < 0)
                                return r;
                        continue;
                }

                if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") == 0 ? "" : path, name) >=
                    sizeof(sub)) {
                        r = inventory_warn(w->inv, "%s/%s: path too long, skipped", path, name);
                        if (r < 0)
                                return r;
                        continue;
                }

                if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = inventory_warn(w->inv, "%s: cannot stat: %s", sub, strerror(errno));
                        if (r < 0)
                                return r;
                        continue;
                }

                if (S_ISFIFO(st.st_mode)) {
                        r = inventory_dir_count(w->inv, self, &n_here, IPC_TYPE_FIFO);
                        if (r <= 0) {
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        struct ipc_object *o = inventory_append(w->inv, IPC_TYPE_FIFO);
                        if (!o) {
                                if (errno == E2BIG) /* counted: the walk goes on for the rest */
                                        continue;
                                return negative_errno();
                        }
                        ipc_object_set_stat(o, &st);
                        o->size = 0;
                        r = inventory_admit(w->inv);
                        if (r <= 0) {
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        o->name = strdup(sub);
                        if (!o->name)
                                return -ENOMEM;
                        continue;
                }

                if (!S_ISDIR(st.st_mode) || depth >= w->max_depth || is_other_root(w, &st))
                        continue;

                /* O_DIRECTORY fails before anything is opened if the entry was
                 * swapped for a FIFO since the fstatat; O_NOFOLLOW refuses a
                 * swapped-in symlink. */
                int cfd = openat(dirfd(d), name,
                                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (cfd < 0) {
                        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                                continue;
                        r = inventory_warn(w->inv, "%s: cannot open directory: %s", sub, strerror(errno));
                        if (r < 0)
                                return r;
                        continue;
                }

                struct stat cst;
                uint64_t mnt_id;
                if (fstat(cfd, &cst) < 0 || cst.st_dev != st.st_dev || cst.st_ino != st.st_ino ||
                    fd_mount_id(cfd, &mnt_id) < 0 || mnt_id != w->mnt_id) {
                        /* Replaced since the fstatat, or another mount: not ours to walk. */
                        (void) close(cfd);
                        continue;
                }

                r = walk_dir(w, cfd, sub, depth + 1);
                if (r < 0)
                        return r;
        }
        return errno != 0 ? negative_errno() : 0;
}

int fifo_collect(char *const *dirs, size_t n_dirs, unsigned max_depth, struct inventory *inv) {
        _cleanup_free_ struct stat *roots = NULL;
        int r;

        if (max_depth > FIFO_MAX_DEPTH_LIMIT)
                return -EINVAL;

        roots = calloc(n_dirs ? n_dirs : 1, sizeof(*roots));
        if (!roots)
                return -ENOMEM;
        for (size_t i = 0; i < n_dirs; i++)
                if (stat(dirs[i], &roots[i]) < 0)
                        roots[i] = (struct stat) { .st_dev = (dev_t) -1, .st_ino = 0 };

        for (size_t i = 0; i < n_dirs; i++) {
                struct walk w = { .inv = inv, .max_depth = max_depth, .roots = roots, .n_roots = n_dirs };

                int dfd = open(dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (dfd < 0) {
                        r = inventory_warn(inv, "FIFO directory %s not walked: %s", dirs[i],
                                           errno == ELOOP ? "it is a symlink" : strerror(errno));
                        if (r < 0)
                                return r;
                        continue;
                }
                r = fd_mount_id(dfd, &w.mnt_id);
                if (r < 0) {
                        (void) close(dfd);
                        return r;
                }
                r = walk_dir(&w, dfd, dirs[i], 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char *root_of(char *const *roots, size_t n_roots, const char *path, size_t *ret_len) {
        const char *best = NULL;
        size_t best_len = 0;

        for (size_t i = 0; i < n_roots; i++) {
                size_t n = strlen(roots[i]);
                while (n > 1 && roots[i][n - 1] == '/')
                        n--;
                bool under = n == 1 && roots[i][0] == '/' ? path[0] == '/'
                                                            : strncmp(path, roots[i], n) == 0 && path[n] == '/';
                if (under && n >= best_len) {
                        best = roots[i];
                        best_len = n;
                }
        }
        *ret_len = best_len;
        return best;
}

int fifo_open_parent(char *const *roots, size_t n_roots, const char *path, int *ret_dirfd, const char **ret_base) {
        _cleanup_close_ int fd = -EBADF;
        const char *root, *p;
        uint64_t mnt_id, id;
        size_t len;
        int r;

        root = root_of(roots, n_roots, path, &len);
        if (!root)
                return -ENOENT;

        fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        r = fd_mount_id(fd, &mnt_id);
        if (r < 0)
                return r;

        p = path + (len == 1 ? 1 : len + 1);
        for (;;) {
                const char *slash = strchr(p, '/');
                size_t n = slash ? (size_t) (slash - p) : strlen(p);
                char comp[NAME_MAX + 1];

                if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return -EINVAL;
                if (!slash) {
                        *ret_dirfd = TAKE_FD(fd);
                        *ret_base = p;
                        return 0;
                }
                memcpy(comp, p, n);
                comp[n] = 0;
                int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (nfd < 0)
                        return errno == ENOTDIR ? -ELOOP : negative_errno();
                (void) close(fd);
                fd = nfd;
                r = fd_mount_id(fd, &id);
                if (r < 0)
                        return r;
                if (id != mnt_id)
                        return -EXDEV;
                p = slash + 1;
        }
}
