/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_object.h"
#include "judge.h"

/*
 * What a dry-run daemon has said it would remove: each object once, and
 * again only when its verdict changed in between (or it was gone from a
 * judgement and came back).  An object is known by memory_key(): type, id,
 * key and creator for SysV, type, device, inode and name for the others.
 * Not by its ctime: IPC_SET moves it, and so does ipcgc's own reading of an
 * mq's status, so it would make every sweep a new object.  A SysV id that
 * is recycled carries a new sequence number, a file made again a new inode,
 * and either way the old object was gone from the judgement in between
 * unless both happened within one interval: a new object counts as new.
 *
 * Bounded: past SAID_MAX objects, the others are not remembered, and said at
 * every sweep as before (more lines, never fewer).
 */
#define SAID_MAX (1u << 16)

struct said_entry {
        uint64_t key;
        uint8_t verdict;
};

struct said {
        struct said_entry *entries; /* [0, n_sorted) sorted by key; then this sweep's new ones */
        size_t n, n_sorted, n_allocated;
        bool full; /* SAID_MAX was reached (and is to be said once) */
};

/* Forgets the objects that are gone from INV or judged otherwise now than
 * when said; JUDGEMENTS has one per object of INV. */
void said_forget_changed(struct said *s, const struct inventory *inv, const struct judgement *judgements);
/* Whether (KEY, VERDICT) is to be said now: not said before as this.
 * Remembers it when there is room. */
bool said_first(struct said *s, uint64_t key, enum verdict verdict);
/* After a sweep's said_first()s: ready for the next lookups. */
void said_seal(struct said *s);
void said_clear(struct said *s);
