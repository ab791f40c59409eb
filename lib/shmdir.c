/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmdir.h"

#define PSEM_PREFIX "sem."

int shmdir_collect(const char *dir, unsigned types, struct inventory *inv) {
        _cleanup_closedir_ DIR *d = NULL;
        int dfd;

        types &= IPC_TYPE_BIT(IPC_TYPE_PSHM) | IPC_TYPE_BIT(IPC_TYPE_PSEM);
        if (!types)
                return 0;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                inv->unavailable |= types;
                return inventory_warn(inv, "POSIX shared memory and semaphores unavailable: cannot open %s: %s", dir,
                                      strerror(errno));
        }
        int r = inventory_open_dir(inv, dir, dfd, &d);
        if (r < 0)
                return r;
        size_t self = inv->n_dirs - 1, n_here = 0;

        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                struct stat st;
                bool is_sem;
                const char *name = de->d_name;

                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                        continue;
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;

                is_sem = strncmp(name, PSEM_PREFIX, strlen(PSEM_PREFIX)) == 0 && name[strlen(PSEM_PREFIX)];
                if (!(types & IPC_TYPE_BIT(is_sem ? IPC_TYPE_PSEM : IPC_TYPE_PSHM)))
                        continue;
                /* Past the cap, what is left out costs no stat. */
                if (inv->dirs[self].truncated) {
                        r = inventory_dir_count(inv, self, &n_here, is_sem ? IPC_TYPE_PSEM : IPC_TYPE_PSHM);
                        if (r < 0)
                                return r;
                        continue;
                }

                if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        return negative_errno();
                }
                if (!S_ISREG(st.st_mode))
                        continue;

                enum ipc_type type = is_sem ? IPC_TYPE_PSEM : IPC_TYPE_PSHM;
                r = inventory_dir_count(inv, self, &n_here, type);
                if (r <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                struct ipc_object *o = inventory_append(inv, type);
                if (!o) {
                        if (errno == E2BIG) /* counted as left out */
                                continue;
                        return negative_errno();
                }
                ipc_object_set_stat(o, &st);
                r = inventory_admit(inv);
                if (r <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                if (asprintf(&o->name, "/%s", is_sem ? name + strlen(PSEM_PREFIX) : name) < 0) {
                        o->name = NULL;
                        return -ENOMEM;
                }
        }
        return errno != 0 ? negative_errno() : 0;
}
