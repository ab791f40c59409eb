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

/*
 * Opens the directory holding the FIFO at PATH, walking from the configured
 * root that contains it one component at a time with O_NOFOLLOW|O_DIRECTORY
 * and checking every step stays on the root's mount.  Returns the directory
 * fd in *ret_dirfd and the last component in *ret_base (pointing into PATH).
 * -ENOENT when no root contains PATH, -ELOOP when a symlink is on the way,
 * -EXDEV when the walk would leave the root's mount.
 */
int fifo_open_parent(char *const *roots, size_t n_roots, const char *path, int *ret_dirfd, const char **ret_base);
