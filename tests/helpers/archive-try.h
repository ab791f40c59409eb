/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the archive-*-try helpers share: their ENTRYDIR/entry. */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"

/* Where these tests keep an entry's contents in ENTRYDIR/entry: from 64
 * KiB on, as in a file whose start another part holds. */
#define TRY_OFFSET 65536
/* Opens ENTRYDIR/entry (of the directory EDFD) for reading as the library
 * opens a pack (a symlink is ENOENT, anything but a regular file EBADMSG):
 * *AT its contents. */
static inline int open_entry_at(int edfd, struct archive_at *at) {
        struct stat st;
        int fd = openat(edfd, "entry", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -ENOENT : -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -EBADMSG;
        }
        *at = (struct archive_at) { .fd = fd, .offset = TRY_OFFSET,
                                    .length = st.st_size > TRY_OFFSET ? (uint64_t) st.st_size - TRY_OFFSET : 0 };
        return 0;
}

