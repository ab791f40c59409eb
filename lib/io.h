/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Writes all N bytes of BUF to FD (at OFF when OFF >= 0, else at the file
 * position), through EINTR and short writes: 0, or a negative errno (-EIO
 * for a write that wrote nothing). */
int io_write_all(int fd, const void *buf, size_t n, off_t off);
/* Reads up to N bytes into BUF, through EINTR and short reads, stopping at
 * end of file: how many there were, or a negative errno. */
ssize_t io_read_full(int fd, void *buf, size_t n);
/* Makes the file written through FD at DIRFD/TMP the file DIRFD/NAME, so a
 * reader sees the old one or the new one whole, even after a crash: fsync,
 * close, rename over NAME, fsync of the directory.  FD is closed whatever
 * happens; on failure before the rename TMP is removed.  0 or a negative
 * errno. */
int io_commit_at(int dirfd, const char *tmp, const char *name, int fd);
