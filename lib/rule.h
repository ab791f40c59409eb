/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipc_object.h"

enum rule_action {
        ACTION_COLLECT,
        ACTION_REPORT,
        ACTION_KEEP,
        _ACTION_MAX,
};

enum owner_kind {
        OWNER_UID,     /* a live process of the object's owner uid */
        OWNER_PIDFILE, /* a live pid named in a file matching the glob */
        OWNER_PROCESS, /* a live process with this comm */
        OWNER_UNIT,    /* a live process in a systemd unit matching the glob */
};

struct owner_source {
        enum owner_kind kind;
        char *arg; /* glob or name; NULL for OWNER_UID */
};

struct key_range {
        uint32_t lo, hi;
};

struct uid_range {
        uid_t lo, hi;
};

/* Namespace=: which IPC namespaces a rule is for. */
enum rule_namespace {
        RULE_NS_ALL,       /* every one (absent) */
        RULE_NS_HOST,      /* ipcgc's own */
        RULE_NS_CONTAINER, /* any other (a container's, a pod's, a unit's) */
};

/* Where an object lives, for Namespace= and Container=. */
struct rule_where {
        bool foreign;          /* an IPC namespace other than ipcgc's own */
        const char *container; /* its name ("docker:0123456789ab"), NULL: none known */
};

#define RULE_MAX_VALUES 32u /* per list-valued key */
#define RULES_MAX 256u

/* One [Rule NAME] section.  Absent keys match anything. */
struct rule {
        char *name;
        char *file; /* where it was defined, for check-config and explain */
        unsigned line;

        unsigned types; /* 0: any */
        struct uid_range *users;
        size_t n_users;
        gid_t *groups;
        size_t n_groups;
        struct key_range *keys;
        size_t n_keys;
        char **names; /* globs against "/name" of mq, pshm, psem */
        size_t n_names;
        char **paths; /* globs against a FIFO's path */
        size_t n_paths;
        uint64_t min_size;
        bool has_min_size;
        enum rule_namespace ns;
        char **containers; /* globs against the namespace's name; any match implies another namespace */
        size_t n_containers;

        struct owner_source *owners;
        size_t n_owners;
        uint64_t min_age; /* seconds */
        /* NeverSeen=owner: an object ipcgc has no memory of life for, and no
         * evidence of life now, lives while its owner has a live process.
         * What a rule can say when nothing was ever seen: without it,
         * evidence alone decides. */
        bool never_seen_owner;
        enum rule_action action;
        bool has_action;
        /* Archive=no: what this rule collects is removed without an entry
         * in the archive first, so it cannot be restored.  For objects
         * whose contents are worthless or too big to keep. */
        bool no_archive;
};

const char *rule_action_to_string(enum rule_action a);
int rule_action_from_string(const char *s);
const char *owner_kind_to_string(enum owner_kind k);

void rule_done(struct rule *r);
/* Does this rule select the object?  Owner= is not a match key: it is
 * evidence, weighed by the judge. */
bool rule_matches(const struct rule *r, const struct ipc_object *o, const struct rule_where *where);
/* First match wins; NULL when no rule matches.  WHERE: NULL for ipcgc's
 * own namespace. */
const struct rule *rules_find(const struct rule *rules, size_t n, const struct ipc_object *o,
                              const struct rule_where *where);

/* Sets one key of a rule from its config text.  Returns 0, or -EINVAL with a
 * message in *ret_error (malloc'd), -ENOENT for a key rules do not have. */
int rule_set(struct rule *r, const char *key, const char *value, char **ret_error);
