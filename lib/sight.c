/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "sight.h"

/* The inode the kernel gives the initial PID namespace (PROC_PID_INIT_INO). */
#define PID_NS_INIT_INO 0xEFFFFFFCu
#define CAP_SYS_PTRACE_BIT 19

bool sight_initial_pid_ns(const char *proc_root) {
        char path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/self/ns/pid", proc_root);
        return stat(path, &st) == 0 && st.st_ino == PID_NS_INIT_INO;
}

/* hidepid=2 ("invisible") or 4 ("ptraceable") on the proc mount at PROC_ROOT. */
static bool proc_hides(const char *proc_root) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        bool hides = false;

        if (!f)
                return false;
        while (getline(&line, &cap, f) > 0) {
                char mnt[4096], fstype[64], opts[1024] = "";
                const char *dash = strstr(line, " - ");
                if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
                    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) < 2)
                        continue;
                if (strcmp(fstype, "proc") != 0 || strcmp(mnt, proc_root) != 0)
                        continue;
                /* the last mount at that point is the one in use */
                hides = strstr(opts, "hidepid=2") || strstr(opts, "hidepid=invisible") ||
                        strstr(opts, "hidepid=4") || strstr(opts, "hidepid=ptraceable");
        }
        return hides;
}

static bool have_cap_sys_ptrace(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;

        if (!f)
                return false;
        while (getline(&line, &cap, f) > 0) {
                unsigned long long eff;
                if (sscanf(line, "CapEff: %llx", &eff) == 1)
                        return (eff >> CAP_SYS_PTRACE_BIT) & 1;
        }
        return false;
}

/* A pid of 0 recorded for an event that happened: done from outside. */
static bool pid_from_outside(const struct ipc_object *o) {
        switch (o->type) {
        case IPC_TYPE_SHM:
                return o->cpid == 0 || (o->lpid == 0 && (o->atime > 0 || o->dtime > 0));
        case IPC_TYPE_MSG:
                return (o->lpid == 0 && o->mtime > 0) || (o->lrpid == 0 && o->atime > 0);
        case IPC_TYPE_SEM:
                if (o->mtime == 0 || !o->sems)
                        return false;
                for (unsigned i = 0; i < o->nsems; i++)
                        if (o->sems[i].pid != 0)
                                return false;
                return true; /* operated on, and every last-op pid is 0 */
        default:
                return false;
        }
}

int sight_check(const char *proc_root, const struct scan_config *scan, const struct inventory *inv,
                struct sight *ret) {
        struct sight s = {};

        for (size_t i = 0; inv && i < inv->n_objects && !s.partial; i++)
                if (pid_from_outside(&inv->objects[i])) {
                        _cleanup_free_ char *id = ipc_object_id(&inv->objects[i]);
                        s.partial = true;
                        snprintf(s.reason, sizeof(s.reason),
                                 "%s records pid 0: processes outside this PID namespace use this IPC namespace",
                                 id ? id : "a SysV object");
                }
        if (!s.partial && !scan->trust_pid_ns && !sight_initial_pid_ns(proc_root)) {
                s.partial = true;
                snprintf(s.reason, sizeof(s.reason),
                         "processes outside this PID namespace may share this IPC namespace and its mounts "
                         "(TrustPIDNamespace=no)");
        }
        if (!s.partial && proc_hides(proc_root) && !have_cap_sys_ptrace()) {
                s.partial = true;
                snprintf(s.reason, sizeof(s.reason), "%s hides other users' processes (hidepid) from this run",
                         proc_root);
        }
        *ret = s;
        return 0;
}
