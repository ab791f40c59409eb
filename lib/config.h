/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rule.h"

#define CONFIG_DEFAULT_MQUEUE_DIR "/dev/mqueue"
#define CONFIG_DEFAULT_SHM_DIR "/dev/shm"
#define CONFIG_DEFAULT_FIFO_MAX_DEPTH 4u
/* Bounds on what a config file can make large. */
#define CONFIG_MAX_FIFO_DIRS 64u
/* The longest line read, in bytes: FifoDirs= with its CONFIG_MAX_FIFO_DIRS
 * directories of PATH_MAX (4096) each, blanks between and room to spare.
 * Held on the heap while a file is read, never on the stack. */
#define CONFIG_MAX_LINE (CONFIG_MAX_FIFO_DIRS * 4097u + 1024u)

/* [Scan]: where to look and for what. */
struct scan_config {
        unsigned types; /* IPC_TYPE_BIT()s */
        char *mqueue_dir;
        char *shm_dir;
        char **fifo_dirs;
        size_t n_fifo_dirs;
        unsigned fifo_max_depth;
        /* TrustPIDNamespace=yes: this PID namespace sees every process that
         * shares the IPC namespace and mounts judged.  Only the initial one
         * is known to; elsewhere, no verdict of death without it. */
        bool trust_pid_ns;
        /* Bounds on one collection (MaxObjects=, MaxObjectsPerDir=,
         * MaxObjectsPerUser=): past them objects are left out, said once,
         * neither judged nor removed, and the rest collected as usual. */
        unsigned max_objects;
        unsigned max_objects_per_dir;  /* FIFOs in one directory; pshm and psem in ShmDir= */
        unsigned max_objects_per_user; /* file objects (FIFOs, pshm, psem) owned by one uid */
};

/* Defaults that keep a daemon's inventory and judgement under some 100 MiB
 * (about 420 bytes an object): one flooded directory or one user's flood
 * leaves room for everything else. */
#define CONFIG_DEFAULT_MAX_OBJECTS (1u << 18)
#define CONFIG_DEFAULT_MAX_OBJECTS_PER_DIR (1u << 16)
#define CONFIG_DEFAULT_MAX_OBJECTS_PER_USER (1u << 16)

/* [Daemon]: how sweeps run. */
struct daemon_config {
        uint64_t interval; /* seconds */
        bool dry_run;
        bool process_events; /* listen to the process connector for exits */
        char *socket;
        char *admin_group;
        unsigned max_removals; /* per sweep */
        /* Where removed objects are archived first (lib/archive.h): by
         * default StateDir/archive, or CONFIG_DEFAULT_ARCHIVE_DIR without a
         * StateDir; config_load() settles it. */
        char *archive_dir;
        bool archive_dir_set; /* by a file, not by default */
        uint64_t archive_max_bytes; /* what the entries may take on disk; also the largest entry */
        uint64_t archive_keep;      /* seconds: an entry younger than this is never evicted */
        char *state_dir; /* the memory of life; NULL: none */
        /* Written after every sweep, for node_exporter's textfile
         * collector (lib/metrics.h); NULL: none. */
        char *metrics_file;
        /* Namespaces=all: every IPC namespace of the host is judged and
         * swept, each by an engine of its own (ipcns.h); host: ipcgcd's own. */
        bool all_namespaces;
};

#define CONFIG_DEFAULT_INTERVAL 60u
#define CONFIG_DEFAULT_MAX_REMOVALS 64u
#define CONFIG_MAX_REMOVALS_LIMIT 100000u
#define CONFIG_DEFAULT_SOCKET "/run/ipcgc/io.ipcgc"
#define CONFIG_DEFAULT_ARCHIVE_DIR "/var/lib/ipcgc/archive"
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/ipcgc"
#define CONFIG_DEFAULT_ARCHIVE_MAX_BYTES (256ull << 20)
#define CONFIG_DEFAULT_ARCHIVE_KEEP 3600u
#define CONFIG_MAX_DROPINS 256u
#define CONFIG_MAX_FILE_SIZE (1u << 20) /* bytes per file: 1 MiB */

struct config {
        struct scan_config scan;
        struct daemon_config daemon;
        struct rule *rules; /* in file order; first match wins */
        size_t n_rules;
};

/* The built-in defaults: every type, /dev/mqueue, /dev/shm, FIFOs in
 * /tmp /var/tmp /run to depth 4. */
int config_new_default(struct config **ret);

enum {
        CONFIG_MUST_EXIST = 1u << 0, /* a missing PATH is an error, not "defaults" */
        CONFIG_DROPINS = 1u << 1,    /* then read DIR(PATH)/conf.d/\*.conf in name order */
};

/*
 * Load PATH over the defaults (and its drop-ins, with CONFIG_DROPINS).  On a
 * bad file returns -EINVAL and sets *ret_error to "FILE:LINE: what is wrong"
 * (malloc'd); *ret is untouched, so a caller reloading keeps what it had.
 *
 * Every file, conf.d/ and each directory up to them must be trusted
 * (lib/trust.h: owned by root or the euid, not writable by group or others,
 * symlinks checked on the way): else -EINVAL with "FILE: what is wrong; the
 * fix".  Only regular files are opened (never a FIFO or a device), at most
 * CONFIG_MAX_FILE_SIZE bytes each ("FILE: larger than ..."); a read error is
 * "FILE: read error: ...", never the end of the file.
 */
int config_load(const char *path, unsigned flags, struct config **ret, char **ret_error);

/*
 * The daemon's socket as the files of config_load(PATH, FLAGS) set it, for a
 * client that only talks to the daemon: the same files in the same order,
 * the last valid [Daemon] Socket= winning over CONFIG_DEFAULT_SOCKET.
 *
 * Nothing else in them is read, so nothing else that is wrong there stops
 * it, nor is it mentioned: the daemon refuses such a file on reload and says
 * where, and --local and check-config, which read the rules, say it too.
 * What could make the socket wrong is a warning instead, and reading goes on:
 * a Socket= that config_load() refuses ("FILE:LINE: ..."; the value before
 * it stays), a Socket= line too long to read, a file that cannot be opened
 * or read ("FILE: ..."), a file config_load() would not trust (not read at
 * all then, so an attacker's drop-in cannot point a client at the attacker's
 * socket: "FILE: ... (file ignored)"), more than CONFIG_MAX_DROPINS drop-ins
 * (none of which is read then).  *ret_warning is the first of them,
 * malloc'd, or NULL.
 *
 * Returns 0 with *ret_socket malloc'd; -ENOENT when CONFIG_MUST_EXIST and
 * PATH is missing, -ENOMEM.  On failure *ret_socket and *ret_warning are
 * untouched.
 */
int config_load_socket(const char *path, unsigned flags, char **ret_socket, char **ret_warning);

struct config *config_free(struct config *c);
static inline void config_freep(struct config **p) {
        if (*p)
                config_free(*p);
}
