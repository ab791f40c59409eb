/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdline.h"
#include "ipc_object.h"
#include "macro.h"
#include "proctab.h"

int cmdline_read(const char *proc_root, pid_t pid, const char *comm, char **ret) {
        char path[PATH_MAX], buf[CMDLINE_SHOWN_MAX + 2];
        _cleanup_close_ int pfd = -EBADF;
        ssize_t n;

        if (pid <= 0)
                return -EINVAL;
        if (snprintf(path, sizeof(path), "%s/%d", proc_root, (int) pid) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        /* One directory for both reads: the stat and the cmdline are of
         * the same process, whatever happens to the pid between them. */
        pfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return errno == ENOENT ? -ESRCH : negative_errno();
        if (comm) {
                char stat[1024], now[17], state;
                unsigned flags;
                uint64_t start;
                n = proctab_read(pfd, "stat", stat, sizeof(stat));
                if (n < 0)
                        return n == -ENOENT ? -ESRCH : (int) n;
                if (proctab_parse_stat(stat, now, &state, &flags, &start) < 0 || strcmp(now, comm) != 0)
                        return -ESRCH;
        }
        /* One byte more than is shown tells a cut line from a whole one. */
        n = proctab_read(pfd, "cmdline", buf, CMDLINE_SHOWN_MAX + 2);
        if (n < 0)
                return n == -ENOENT ? -ESRCH : (int) n;
        bool cut = (size_t) n > CMDLINE_SHOWN_MAX;
        if (cut)
                n = CMDLINE_SHOWN_MAX;
        while (n > 0 && buf[n - 1] == 0)
                n--;
        if (n == 0)
                return -ENODATA;
        for (ssize_t i = 0; i < n; i++)
                if (buf[i] == 0)
                        buf[i] = ' ';
        buf[n] = 0;
        _cleanup_free_ char *e = ipc_escape_alloc(buf, IPC_ESCAPE_TEXT);
        if (!e)
                return -ENOMEM;
        if (cut) {
                /* The cut may fall inside a character: its bytes are escaped
                 * like any other that is not UTF-8. */
                char *s;
                if (asprintf(&s, "%s...", e) < 0)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }
        *ret = TAKE_PTR(e);
        return 0;
}
