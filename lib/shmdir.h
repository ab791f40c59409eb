/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ipc_object.h"

/*
 * Collect POSIX shared memory (pshm) and named semaphores (psem) from the
 * shm directory, normally /dev/shm.  glibc names a semaphore "sem.NAME";
 * every other regular file is a shm_open() object.  Only the top level is
 * read: POSIX names cannot hold a slash.  Nothing is opened, so nothing's
 * times change.  TYPES selects pshm, psem or both.
 */
int shmdir_collect(const char *dir, unsigned types, struct inventory *inv);
