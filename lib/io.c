/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "io.h"
#include "macro.h"

int io_write_all(int fd, const void *buf, size_t n, off_t off) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = off >= 0 ? pwrite(fd, p, n, off) : write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
                if (off >= 0)
                        off += k;
        }
        return 0;
}

ssize_t io_read_full(int fd, void *buf, size_t n) {
        char *p = buf;
        size_t got = 0;

        while (got < n) {
                ssize_t k = read(fd, p + got, n - got);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                got += (size_t) k;
        }
        return (ssize_t) got;
}

int io_commit_at(int dirfd, const char *tmp, const char *name, int fd) {
        int r = fsync(fd) < 0 ? negative_errno() : 0;

        if (close(fd) < 0 && r >= 0)
                r = negative_errno();
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
        return fsync(dirfd) < 0 ? negative_errno() : 0;
}
