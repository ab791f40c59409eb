/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_DEFAULT_MQUEUE_DIR "/dev/mqueue"
#define CONFIG_DEFAULT_SHM_DIR "/dev/shm"
#define CONFIG_DEFAULT_FIFO_MAX_DEPTH 4u
/* Bounds on what a config file can make large. */
#define CONFIG_MAX_FIFO_DIRS 64u

/* [Scan]: where to look and for what. */
struct scan_config {
        unsigned types; /* IPC_TYPE_BIT()s */
        char *mqueue_dir;
        char *shm_dir;
        char **fifo_dirs;
        size_t n_fifo_dirs;
        unsigned fifo_max_depth;
};

struct config {
        struct scan_config scan;
};

/* The built-in defaults: every type, /dev/mqueue, /dev/shm, FIFOs in
 * /tmp /var/tmp /run to depth 4. */
int config_new_default(struct config **ret);

/*
 * Load PATH over the defaults.  When PATH does not exist and MUST_EXIST is
 * false, the defaults stand.  On a bad file returns -EINVAL and sets
 * *ret_error to "PATH:LINE: what is wrong" (malloc'd); *ret is untouched.
 */
int config_load(const char *path, bool must_exist, struct config **ret, char **ret_error);

struct config *config_free(struct config *c);
static inline void config_freep(struct config **p) {
        if (*p)
                config_free(*p);
}
