/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "audit.h"
#include "judge.h"
#include "reap.h"

/*
 * The JSON shapes of the engine's answers.  The daemon sends exactly these
 * as Varlink reply parameters, and the CLI prints them for -J and renders
 * its tables from them, whether the engine ran in the daemon or in-process:
 * one producer, one reader.
 */

struct list_filter {
        unsigned types;    /* IPC_TYPE_BIT()s; 0: all */
        unsigned verdicts; /* 1 << enum verdict; 0: all */
        bool by_user;
        uid_t uid;
        bool or_creator; /* by_user: the objects UID made count too (what a caller who is not an admin may see) */
};

bool list_filter_match(const struct list_filter *f, const struct ipc_object *o, const struct judgement *j);

/*
 * A listing: PREFIX, then "objects": [one object + verdict, reason, rule and
 * idle a line], then SUFFIX (PREFIX opens the object the list is a member
 * of, SUFFIX closes it), written a piece at a time: each call writes from
 * object C->next on until the piece holds MAX_BYTES or more, or the text
 * ends (C->stage is then 2).  A listing of a million objects costs a piece
 * of its text at a time, not the whole of it, nor a tree of a million JSON
 * objects.  Start with a zeroed cursor; *ret_len excludes the NUL that ends
 * *ret.
 */
struct report_list_cursor {
        size_t next;
        int stage; /* 0: nothing written yet; 1: objects; 2: done */
        bool any;  /* an object was written: the next one needs a comma */
};
int report_list_chunk(const struct inventory *inv, const struct judgement *js, const struct list_filter *f,
                      const char *prefix, const char *suffix, size_t max_bytes, struct report_list_cursor *c,
                      char **ret, size_t *ret_len);
/* object + verdict, reason, rule, idle, evidence, and "rule_info" {name, file, line, action, min_age} */
int report_explain(const struct ipc_object *o, const struct judgement *j, json_object **ret);
/* {"dry_run", "removed", "would_remove", "skipped", "failed", "stopped", "not_tried", "records": [...]} */
int report_sweep(const struct reap_result *res, bool dry_run, json_object **ret);
/* One record as io.ipcgc's Record: what a sweep's reply and the history
 * carry. */
int report_record(const struct reap_record *rec, json_object **ret);
/* {"usage": [{user, uid, type, count, bytes[, semaphores]}],
 *  "limits": [{name, scope, used, limit, source}],
 *  "mqueue_rlimit": [{user, uid, queues, bytes, limit}][, "mqueue_unread": N]} */
int report_audit(const struct audit *a, json_object **ret);

struct archive_listing;
/* {"entries": [{entry, id, type, key, name, uid, gid, size, bytes,
 * disk_bytes, removed_at, verdict, reason, rule, by_uid}], "bad": n}, the
 * entries in the listing's order (newest first); with F (by_user), only
 * those of objects F's uid owned (or, with or_creator, made). */
int report_archive(const struct archive_listing *l, const struct list_filter *f, json_object **ret);

/* "io.ipcgc" style object lookup by id ("shm:12", or "fifo:/tmp/a\x0ab": a
 * name escaped as ipc_object_id() escapes it); -ENOENT when absent or not an
 * ID. */
int inventory_find(const struct inventory *inv, const char *id, size_t *ret_index);

/* INV's objects by id, sorted once, so that a lookup is a binary search
 * (a daemon answers many lookups per judgement).  It points into INV,
 * which must outlive it, unchanged. */
struct inventory_ids;
int inventory_ids_new(const struct inventory *inv, struct inventory_ids **ret);
struct inventory_ids *inventory_ids_free(struct inventory_ids *x);
/* As inventory_find() on the inventory X was made from. */
int inventory_ids_find(const struct inventory_ids *x, const char *id, size_t *ret_index);
