/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The IPC namespaces of the host, as /proc shows them: each distinct inode
 * of /proc/PID/ns/ipc, with its members (every process whose ns/ipc is that
 * inode), one of them whose root shows the namespace's /dev/shm and mqueue
 * mount, and a name for people taken from the members' cgroups.  Seen from
 * this process's PID namespace: member pids are pids here.
 *
 * What cannot be read is not concluded from: a process whose ns/ipc is
 * denied (a sandbox's init, a process of another user namespace) could
 * belong to any namespace, so it is a possible member of each (MAYBE): what
 * it holds counts for any of them, as a member's would, and what of it
 * cannot be read (its fds, maps, waits) makes the judgement of each see in
 * part, as in ipcgc's own namespace (sight.h).  Past IPCNS_MAX_MAYBE such
 * processes, or with members cut at the limit, a namespace is seen
 * partially (PARTIAL, with REASON): no object there is judged dead.
 */

#define IPCNS_MAX_DEFAULT 1024u         /* namespaces at most */
#define IPCNS_MAX_MEMBERS_DEFAULT 4096u /* members kept per namespace at most */
#define IPCNS_MAX_MAYBE 256u /* processes of an unreadable namespace kept as possible members */
#define IPCNS_NAME_MAX 128u
#define IPCNS_REASON_MAX 160u

struct ipcns {
        uint64_t ino;   /* of ns/ipc: the namespace's one name that always exists */
        pid_t *members; /* sorted */
        size_t n_members;
        pid_t *maybe; /* sorted: processes whose namespace could not be read */
        size_t n_maybe;
        uint64_t mnt_ino; /* ns/mnt of members[0], 0: unreadable */
        char *name;       /* "docker:0123456789ab", "machine:web", "foo.service"; NULL: none known */
        bool self;        /* the namespace this process is in */
        bool partial;     /* some process that may be a member is not seen as one */
        char reason[IPCNS_REASON_MAX];
};

struct ipcns_list {
        struct ipcns *ns;
        size_t n;
        size_t n_unreadable; /* processes whose ns/ipc could not be read */
        bool cut;            /* more namespaces than the limit: some are not listed */
};

/* Walks PROC_ROOT (NULL: /proc) once.  MAX_NS, MAX_MEMBERS: 0 for the
 * defaults.  The namespaces come sorted by inode, this process's own among
 * them. */
int ipcns_discover(const char *proc_root, size_t max_ns, size_t max_members, struct ipcns_list **ret);
struct ipcns_list *ipcns_list_free(struct ipcns_list *l);
static inline void ipcns_list_freep(struct ipcns_list **p) {
        if (*p)
                ipcns_list_free(*p);
}

/* The namespace SEL names: its inode in decimal, or its name.  NULL: none,
 * or (*RET_N > 1) a name several have, which picks none.  RET_N may be
 * NULL. */
const struct ipcns *ipcns_find(const struct ipcns_list *l, const char *sel, size_t *ret_n);

/* Is PID (sorted members) one of NS's members? */
bool ipcns_is_member(const struct ipcns *ns, pid_t pid);
/* ...or a process whose namespace could not be read, which may be one:
 * the safe side for counting what it holds. */
bool ipcns_may_be_member(const struct ipcns *ns, pid_t pid);

/* The name for people of the cgroup path PATH ("/system.slice/docker-<id>.scope"):
 * a container's ("docker:<12 hex>", "cri-containerd:<12>", "podman:<12>"),
 * a machine's ("machine:NAME"), else the innermost unit (*.service,
 * *.scope), else NULL.  *RET is malloc'd; 0 with NULL when none. */
int ipcns_name_from_cgroup(const char *path, char **ret);

/* An ID as it names an object of another namespace: "ipc:INO/shm:5".  With
 * that prefix, *RET_INO and *RET_REST (pointing into ID) are set and 1 is
 * returned; without, 0; a malformed prefix is -EINVAL. */
int ipcns_parse_id(const char *id, uint64_t *ret_ino, const char **ret_rest);
