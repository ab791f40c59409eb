/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ipc_object.h"

/* How deep below each configured directory the walk may go; bounds both the
 * work and the directory fds held open at once. */
#define FIFO_MAX_DEPTH_LIMIT 32u

/*
 * Find FIFOs below each of DIRS, descending at most MAX_DEPTH directory levels
 * (0: the directory itself only).  The walk goes from directory fd to
 * directory fd with openat(O_NOFOLLOW|O_DIRECTORY) and fstatat
 * (AT_SYMLINK_NOFOLLOW): no symlink is ever followed, no mount point is
 * crossed (compared by mount id), and a FIFO is never opened, since opening
 * one wakes its peer.  A configured directory that is itself a symlink is
 * refused with a warning.  Directories that cannot be read are warnings.
 */
int fifo_collect(char *const *dirs, size_t n_dirs, unsigned max_depth, struct inventory *inv);
