/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/*
 * Whether a file may be trusted as configuration, the way sudo and sshd's
 * StrictModes decide it: no one but root or the user running us (UID) could
 * have written it, nor swapped it, nor anything on the way to it.
 *
 * PATH is resolved by hand, one component at a time from "/" (a relative
 * PATH from the working directory), each opened O_PATH|O_NOFOLLOW and
 * fstat'ed, so that no FIFO or device is ever opened and no symlink is
 * followed unchecked.  Every directory on the way, every symlink (its own
 * owner) and whatever it leads to, and the object PATH names, must be owned
 * by root or by UID and not writable by group or others.  One exception, for
 * /tmp: a directory owned by root with the sticky bit may be writable by
 * others when it is not the object's own directory (nobody else can rename
 * or remove what root or UID made in it).  The object's own directory, and
 * the object itself when it is a directory, get no exception.  At most
 * TRUST_MAX_LINKS symlinks.
 */
#define TRUST_MAX_LINKS 40u

enum {
        TRUST_REGULAR = 1u << 0,   /* PATH must be a regular file: *ret_fd is O_RDONLY|O_NONBLOCK */
        TRUST_DIRECTORY = 1u << 1, /* PATH must be a directory: *ret_fd is O_RDONLY|O_DIRECTORY */
};

/*
 * Checks PATH as above and opens what it names (exactly one of the flags).
 * Returns 0 with *ret_fd (O_CLOEXEC).  On failure a negative errno and
 * *ret_msg, "PATH: what is wrong[; the fix]" (malloc'd; NULL when out of
 * memory), *ret_fd untouched:
 *   -EPERM   an owner or a mode not trusted (the message names which and
 *            how to fix it);
 *   -EISDIR, -ENOTDIR, -EBADFD  not what was asked for: a directory, or
 *            not one, or a FIFO, a device, a socket where a regular file was
 *            asked for; never opened;
 *   -ENOENT  a component is missing;
 *   others   from the system calls (-EACCES, -ELOOP, -ENOTDIR, -ENOMEM...).
 */
int trust_open(const char *path, uid_t uid, unsigned flags, int *ret_fd, char **ret_msg);

/* Whether UID may own what trust_open() accepts: root, or UID itself. */
static inline int trust_owner_ok(uid_t owner, uid_t uid) {
        return owner == 0 || owner == uid;
}
